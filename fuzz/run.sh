#!/bin/sh
# Build the libFuzzer harnesses with clang + ASan/UBSan and run each for
# SECONDS (default 60) over its seed corpus:
#   fuzz_reader    trace file reader          fuzz/corpus/
#   fuzz_replay    trace -> replay -> report  fuzz/corpus-replay/
#   fuzz_scenario  Windows scenario files     fuzz/corpus-scenario/
#   fuzz_query     query commands             fuzz/corpus-query/
#   fuzz/run.sh [SECONDS] [extra libFuzzer options...]
# FUZZERS="fuzz_replay" runs only the named harnesses (space-separated).
# New inputs go to fuzz/corpus-run/<harness>/ (ignored by git); a crash
# leaves crash-* in the current directory and makes the script fail.
set -eu
SECS=${1:-60}
[ $# -gt 0 ] && shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${STRAND_FUZZ_BUILD:-$SRC/build-fuzz}
JOBS=${JOBS:-2}
# a leak inside a third-party library is not a finding (see the file)
export LSAN_OPTIONS="suppressions=$SRC/tests/lsan.supp:${LSAN_OPTIONS:-}"
FUZZERS=${FUZZERS:-"fuzz_reader fuzz_replay fuzz_scenario fuzz_query"}
CC=clang cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DSTRAND_FUZZ=ON -DSTRAND_SANITIZE=ON >/dev/null
# shellcheck disable=SC2086
make -C "$BUILD" $FUZZERS -j"$JOBS" >/dev/null
for f in $FUZZERS; do
	case $f in
	fuzz_reader) seeds=$SRC/fuzz/corpus ;;
	*) seeds=$SRC/fuzz/corpus-${f#fuzz_} ;;
	esac
	mkdir -p "$SRC/fuzz/corpus-run/$f"
	echo "fuzz: $f for $SECS s"
	"$BUILD/$f" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 "$@" "$SRC/fuzz/corpus-run/$f" "$seeds"
done
