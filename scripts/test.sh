#!/bin/sh
# Install dependencies, build strand and run the whole test suite.
#   scripts/test.sh              plain build in build/
#   scripts/test.sh --sanitize   AddressSanitizer + UBSan build in build-asan/
# Extra CMake flags can be passed in STRAND_CMAKE_FLAGS (CI adds -DSTRAND_WERROR=ON).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
dir=build
flags=""
if [ "${1:-}" = "--sanitize" ]; then
	dir=build-asan
	flags="-DSTRAND_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
fi
cmake -S . -B "$dir" $flags ${STRAND_CMAKE_FLAGS:-} >/dev/null
cmake --build "$dir" -j "$(nproc)"
cd "$dir"
ctest --output-on-failure -j 2
