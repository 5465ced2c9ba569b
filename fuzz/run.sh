#!/bin/sh
# Build the trace reader's libFuzzer harness with clang + ASan/UBSan and
# run it for SECONDS (default 60) over the seed corpus fuzz/corpus/.
#   fuzz/run.sh [SECONDS] [extra libFuzzer options...]
# New inputs go to fuzz/corpus-run/ (ignored by git); a crash leaves
# crash-* in the current directory and makes the script fail.
set -eu
SECS=${1:-60}
[ $# -gt 0 ] && shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${STRAND_FUZZ_BUILD:-$SRC/build-fuzz}
JOBS=${JOBS:-2}
CC=clang cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DSTRAND_FUZZ=ON -DSTRAND_SANITIZE=ON >/dev/null
make -C "$BUILD" fuzz_reader -j"$JOBS" >/dev/null
mkdir -p "$SRC/fuzz/corpus-run"
exec "$BUILD/fuzz_reader" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 "$@" "$SRC/fuzz/corpus-run" "$SRC/fuzz/corpus"
