#!/bin/sh
# Layering check: every part includes only the public headers of the parts
# below it (private headers are already confined by the per-part include
# roots in CMakeLists.txt), and a forbidden private include fails to
# compile.  Usage: check.sh SOURCE_DIR BINARY_DIR C_COMPILER
set -eu
src=$1 bin=$2 cc=$3
status=0

# Public header -> the part that owns it.
owner() {
	case $1 in
	strand/strand.h|strand/json.h|strand/escape.h) echo base ;;
	strand/trace.h) echo formats ;;
	strand/knowledge.h) echo knowledge ;;
	strand/replay.h) echo replay ;;
	strand/index.h) echo index ;;
	strand/result.h|strand/plugin.h|strand/analysis.h|strand/dataflow.h) echo analyses ;;
	strand/report.h) echo report ;;
	strand/query.h) echo query ;;
	strand/record.h) echo record ;;
	*) echo "" ;;
	esac
}

# part folder -> include root (from the build) listing what it may use.
for root in "$bin"/inc/*; do
	part=$(basename "$root")
	allowed=$(cd "$root" && find . -type l | sed 's#^\./##; s#/#_#' | sort -u)
	dir=$(cd "$root" && find . -type l | sed 's#^\./##' | while read -r d; do
		[ "$(readlink -f "$root/$d")" = "$(readlink -f "$src/$d")" ] || continue
		want=$part
		case $part in record_*) want="record/${part#record_}" ;; esac
		if [ "$d" = "$want" ]; then echo "$d"; fi
	done || true)
	[ -n "$dir" ] || { echo "layering: no folder for part $part" >&2; status=1; continue; }
	for f in "$src/$dir"/*.c "$src/$dir"/*.h; do
		[ -e "$f" ] || continue
		grep -ho '#include "strand/[a-z_]*\.h"' "$f" | sed 's/#include "//; s/"//' | while read -r h; do
			o=$(owner "$h")
			[ -n "$o" ] || { echo "layering: $f includes unknown public header $h" >&2; exit 1; }
			if [ "$o" = record ]; then case $part in record_*|cli) continue ;; esac; fi
			echo "$allowed" | grep -qx "$o" || [ "$o" = "$part" ] || {
				echo "layering: $f (part $part) includes $h of part $o, which it may not use" >&2
				exit 1
			}
		done || status=1
	done
done

# A forbidden private include must not compile: analyses may not see a recorder.
probe="$bin/layering-probe.c"
printf '#include "record/winemu/winemu_int.h"\nint probe;\n' >"$probe"
if "$cc" -fsyntax-only -I"$src/include" -I"$bin/include" -I"$bin/inc/analyses" "$probe" 2>/dev/null; then
	echo "layering: analyses/ could include record/winemu/winemu_int.h" >&2
	status=1
fi
# ... while an allowed one does.
printf '#include "replay/replay_int.h"\nint probe;\n' >"$probe"
if ! "$cc" -fsyntax-only -I"$src/include" -I"$bin/include" -I"$bin/inc/analyses" $(pkg-config --cflags unicorn capstone 2>/dev/null) "$probe"; then
	echo "layering: analyses/ cannot include replay/replay_int.h (include roots broken)" >&2
	status=1
fi
rm -f "$probe"
[ $status -eq 0 ] && echo "layering: ok ($(ls "$bin/inc" | wc -l) parts)"
exit $status
