#!/bin/sh
# Every seed of every fuzz corpus through its harness (plain drivers built
# by CMake as seeds_fuzz_*), each input within 60 s: the inputs of fixed
# findings are regression tests in every build, plain and sanitized.
#   fuzz/run_seeds.sh BUILD_DIR SOURCE_DIR
set -eu
BUILD=$1
SRC=$2
status=0
for h in fuzz_reader fuzz_replay fuzz_scenario fuzz_query; do
	case $h in
	fuzz_reader) seeds=$SRC/fuzz/corpus ;;
	*) seeds=$SRC/fuzz/corpus-${h#fuzz_} ;;
	esac
	n=0
	for f in "$seeds"/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		if ! timeout 60 "$BUILD/seeds_$h" "$f"; then
			echo "fuzz seeds: $h failed on $f" >&2
			status=1
		fi
	done
	echo "fuzz seeds: $h: $n inputs"
done
exit $status
