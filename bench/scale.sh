#!/bin/sh
# Scale figures of issue 16 on traces recorded from real programs, each
# side by side with its baseline in the same run:
#
#   bench/scale.sh BUILD_DIR [DIR]        (BUILD_DIR holds strand and bench_query)
#
# 1. a >= 10^9-instruction trace: `strand record` of
#    python3 -c 'sum(range(8000000))' (1.06x10^9 instructions), kept in DIR
#    (default: a new temporary directory), never in git; its index built
#    and timed;
# 2. on it, with and without the index (bench_query: a fresh session each,
#    answers compared): `calls FUNC`, `memory ADDR LEN`, `origin` at the
#    end (a register, and memory last written at start-up), `syscalls
#    --failed`; seeks in a session, cold seeks, one unindexed seek;
# 3. peak RSS of `report` and `query` at 10^7, 10^8 and 10^9 instructions
#    (gzip -c -6 of base64 text sized to each), with `replay` beside them;
#    `find` on the 10^8 one: one pass vs segments on all cores (index);
# 4. `replay` (sequential) against `index --verify -j1` and `-j2` (the
#    segment-parallel replay) on the 10^9 trace;
# 5. replay vs qemu-user (and native) on recorded real programs, and
#    `report` vs `replay`: bench/replay_vs_qemu.sh.
# `uptime` is printed before each part: quote it with the figures.
set -u
B=$(realpath "${1:?usage: scale.sh BUILD_DIR [DIR]}")
S=$B/strand
D=${2:-$(mktemp -d)}
HERE=$(dirname "$(realpath "$0")")
mkdir -p "$D"
cd "$D"
T=/usr/bin/time
echo "== scale.sh in $D, $(date -u +%Y-%m-%dT%H:%MZ)"

echo "== 1. the 10^9 trace"; uptime
[ -f py1e9.strand ] || "$S" record -q -o py1e9.strand -- /usr/bin/python3 -c 'sum(range(8000000))' > /dev/null
"$S" info py1e9.strand | grep -E '^(instructions|size):'
if [ ! -f py1e9.strand.sidx ]; then
	$T -f "index build: %e s wall, %U s user + %S s sys, peak %M KB" "$S" index -q py1e9.strand
fi
ls -l py1e9.strand.sidx | awk '{ print "sidecar: " $5 " bytes" }'

echo "== 2. queries with and without the index"; uptime
"$B/bench_query" -s 200 -c 20 py1e9.strand \
	'calls libc.so.6!exit' \
	'seek end; memory libc.so.6!environ 8' \
	'seek end; origin rdi' \
	'seek end; origin libc.so.6!environ 8' \
	'syscalls --failed' || echo "bench_query FAILED"
uptime

echo "== 3. peak RSS of report and query by trace length"; uptime
for n in 1e7 1e8 1e9; do
	case $n in 1e7) k=40000 ;; 1e8) k=470000 ;; 1e9) k=4700000 ;; esac
	[ -f "gz$n.in" ] || head -c $((k * 3 / 4)) /dev/urandom | base64 -w 76 | head -c "$k" > "gz$n.in"
	[ -f "gz$n.strand" ] || "$S" record -q -o "gz$n.strand" -- /usr/bin/gzip -c -6 "gz$n.in" > /dev/null
	[ -f "gz$n.strand.sidx" ] || "$S" index -q "gz$n.strand" > /dev/null
	i=$("$S" info "gz$n.strand" | awk '/^instructions:/ { print $2 }')
	$T -f "gz$n ($i instructions): replay %e s wall, %U s user, peak %M KB" "$S" replay -q "gz$n.strand" > /dev/null
	$T -f "gz$n ($i instructions): report %e s wall, %U s user, peak %M KB" "$S" report "gz$n.strand" > /dev/null
	$T -f "gz$n ($i instructions): query %e s wall, %U s user, peak %M KB" \
		"$S" query -q -c 'seek end; syscalls --failed; calls libc.so.6!write; origin rdi; seek 0' "gz$n.strand" > /dev/null
done

echo "== 3b. find on all cores with the index vs one pass (10^8 trace)"; uptime
"$B/bench_query" -s 1 -c 1 gz1e8.strand 'find 0x1f8b 2' 'find 0x12345678 4' || echo "bench_query FAILED"

echo "== 4. sequential replay vs segment-parallel replay (index --verify -j N)"; uptime
$T -f "replay:             %e s wall, %U s user + %S s sys, peak %M KB" "$S" replay -q py1e9.strand > /dev/null
$T -f "index --verify -j1: %e s wall, %U s user + %S s sys, peak %M KB" "$S" index -q --verify -j 1 py1e9.strand > /dev/null
$T -f "index --verify -j2: %e s wall, %U s user + %S s sys, peak %M KB" "$S" index -q --verify -j 2 py1e9.strand > /dev/null
uptime

echo "== 5. replay vs qemu-user vs native; report vs replay"
sh "$HERE/replay_vs_qemu.sh" "$S" "$D/qemu"
echo "== done $(date -u +%Y-%m-%dT%H:%MZ)"; uptime
