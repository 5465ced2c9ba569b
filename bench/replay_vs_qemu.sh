#!/bin/sh
# Replay of recorded real programs against the same programs under
# qemu-x86_64 (qemu-user) and natively, and `strand report` against
# `strand replay` of the same traces.
#
#   bench/replay_vs_qemu.sh STRAND [DIR]
#
# Records, into DIR (default a new temporary directory):
#   gzip -c -6 of 3 MB of base64 text    (compute, ~6x10^8 instructions)
#   sort -n of 200,000 numbers           (compute, ~10^9 instructions)
#   python3 -c 'sum(i*i ...)'            (interpreter, ~1.5x10^8)
#   ls -lR /usr/share/doc                (system calls, ~6x10^7)
# then prints, per program, user+system CPU seconds of one run each of
# native, qemu-x86_64, `strand replay -q` and `strand report` (GNU time).
# Run it on a quiet machine, or several times, and quote the load (uptime,
# printed first and last): the machine's other work moves every figure.
set -eu
S=${1:?usage: replay_vs_qemu.sh STRAND [DIR]}
D=${2:-$(mktemp -d)}
Q=$(command -v qemu-x86_64 || true)
mkdir -p "$D"
cd "$D"
uptime
[ -f in3.txt ] || head -c 2250000 /dev/urandom | base64 | head -c 3000000 > in3.txt
[ -f nums.txt ] || awk 'BEGIN { srand(1); for (i = 0; i < 200000; i++) print int(rand() * 1e9) }' > nums.txt

cpu() { # label command...: user+system seconds of one run, output discarded
	label=$1; shift
	/usr/bin/time -f "%U %S" -o t.txt "$@" > out.txt 2> err.txt || true
	awk -v l="$label" '{ printf "  %-8s %7.2f s\n", l, $1 + $2 }' t.txt
}

run() { # name command...
	name=$1; shift
	[ -f "$name.strand" ] || "$S" record -q -o "$name.strand" -- "$@" > /dev/null 2> rec.txt
	echo "$name: $("$S" replay -q "$name.strand" | awk '/^instructions:/ { print $2 " instructions" }')"
	cpu native "$@"
	[ -n "$Q" ] && cpu qemu "$Q" "$@"
	cpu replay "$S" replay -q "$name.strand"
	cpu report "$S" report "$name.strand"
}

run gzip /usr/bin/gzip -c -6 in3.txt
run sort /usr/bin/sort -n nums.txt
run python /usr/bin/python3 -c 'print(sum(i*i for i in range(200000)))'
run ls /usr/bin/ls -lR /usr/share/doc
uptime
