#!/bin/sh
# regen.sh STRAND: rebuild the guest modules and re-record every fixture.
#
#   tests/traces/regen.sh build-me/strand
#
# Builds the guests (build-guests.sh) into <repo>/build-guests, the module
# directory the scenarios name (`modules = ../../build-guests`), then runs
# `STRAND record-win -o NAME.strand NAME.scenario` for every
# tests/traces/NAME.scenario.  Both steps are deterministic: running this
# twice gives byte-identical images and traces.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 STRAND" >&2
	exit 2
fi
strand=$1
case $strand in
/*) ;;
*) strand=$(pwd)/$strand ;;
esac
[ -x "$strand" ] || { echo "regen: $strand is not an executable" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
"$here/build-guests.sh" "$here/../../build-guests"

cd "$here"
status=0
for scenario in *.scenario; do
	name=${scenario%.scenario}
	if "$strand" record-win -o "$name.strand" "$scenario"; then
		printf 'regen: %s.strand %s bytes\n' "$name" "$(wc -c <"$name.strand")"
	else
		echo "regen: recording $scenario failed" >&2
		status=1
	fi
done
exit $status
