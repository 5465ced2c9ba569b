#!/bin/sh
# Install dependencies, build strand and print the root-cause report of the
# bundled HTTP SSL trace (the case in docs/case.md).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)" --target strand-cli >/dev/null
exec build/strand report "${1:-tests/traces/httpssl-nodevice.strand}"
