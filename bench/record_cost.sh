#!/bin/sh
# bench/record_cost.sh: what recording costs on real programs.
#
#   sh bench/record_cost.sh [STRAND] [RUNS] [ONLY]   (defaults: build/strand, 3, all)
#
# ONLY: run only the programs whose name contains it ("xz", "find").
#
# For each program (syscall-heavy: find, tar, git status; compute: a
# python3 loop, xz -9) four ways, interleaved run by run (native, strace,
# record --raw, record; then again), RUNS times, medians:
#   native   the program alone
#   strace   strace -f -o FILE (both stop the program twice per syscall)
#   raw      strand record --raw: the recording alone (ordinal trace)
#   record   strand record: recording + the finalizing replay (what a user runs)
# then, on the trace of the last `raw` run, `strand finalize` against
# `strand replay -q` of the finalized trace, interleaved the same way.
# Times are of the whole process tree (wait4's rusage: the command and
# every descendant it reaped): wall, and CPU = user + system.  The load
# average (uptime) is printed before and after: on a shared machine wall
# time measures the other work too, so compare CPU.  Results and their
# reading: bench/README.md, "Recording cost on real programs".
set -eu
STRAND=$(readlink -f "${1:-build/strand}")
RUNS=${2:-3}
ONLY=${3:-}
[ -x "$STRAND" ] || { echo "record_cost.sh: no strand binary at $STRAND" >&2; exit 2; }
command -v strace >/dev/null || { echo "record_cost.sh: strace is not installed" >&2; exit 2; }
command -v python3 >/dev/null || { echo "record_cost.sh: python3 is not installed" >&2; exit 2; }
W=$(mktemp -d /tmp/strand-record-cost-XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM

# inputs: a small git repository, 1 MiB of xz input (text and binary)
mkdir -p "$W/repo"
(cd "$W/repo" && git init -q . && for i in $(seq 1 200); do echo "file $i" > "f$i.txt"; done &&
 git add . && git -c user.name=b -c user.email=b@example.org commit -qm init && echo change >> f7.txt)
{ seq 1 150000; head -c 1048576 /usr/bin/python3; } | head -c 1048576 > "$W/xz.in"

echo "load before: $(uptime)"
echo "kernel: $(uname -r); cpus: $(nproc); strand: $STRAND"
STRAND="$STRAND" RUNS="$RUNS" W="$W" ONLY="$ONLY" python3 - <<'EOF'
import os, statistics, subprocess, sys, time

strand, runs, w = os.environ["STRAND"], int(os.environ["RUNS"]), os.environ["W"]
only = os.environ["ONLY"]
py_loop = "s=0\nfor i in range(10**6):\n    s+=i*i\nprint(s)"
programs = [
    ("find /usr/share/doc", ["find", "/usr/share/doc"], None),
    ("tar c /usr/include/linux", ["tar", "cf", f"{w}/out.tar", "-C", "/usr/include", "linux"], None),
    ("git status (200 files)", ["git", "status", "--porcelain"], f"{w}/repo"),
    ("python3 loop 1e6", ["python3", "-c", py_loop], None),
    ("xz -9 of 1 MiB", ["xz", "-9", "-c", f"{w}/xz.in"], None),
]

def run(argv, cwd=None):
    """Wall and CPU seconds of argv and its reaped descendants."""
    t0 = time.monotonic()
    with open(os.devnull, "rb") as i, open(os.devnull, "wb") as o:
        p = subprocess.Popen(argv, stdin=i, stdout=o, stderr=o, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime + ru.ru_stime, p.returncode

def ways(name, argv):
    tag = "".join(c if c.isalnum() else "_" for c in name)[:24]
    raw, fin = f"{w}/{tag}.raw.strand", f"{w}/{tag}.strand"
    return [
        ("native", argv),
        ("strace", ["strace", "-f", "-o", f"{w}/{tag}.strace"] + argv),
        ("raw", [strand, "record", "-q", "--raw", "-o", raw, "--"] + argv),
        ("record", [strand, "record", "-q", "-o", fin, "--"] + argv),
    ], raw, f"{w}/{tag}.fin.strand"

med = statistics.median
print(f"{'program':26} {'way':7} {'wall s':>8} {'cpu s':>8}   (median of {runs}; status)")
summary = []
for name, argv, cwd in programs:
    if only not in name:
        continue
    wl, raw, fin = ways(name, argv)
    res = {k: [] for k, _ in wl}
    for r in range(runs):
        for k, a in wl:
            wall, cpu, rc = run(a, cwd)
            res[k].append((wall, cpu, rc))
    for k, _ in wl:
        v = res[k]
        print(f"{name:26} {k:7} {med(x[0] for x in v):8.3f} {med(x[1] for x in v):8.3f}"
              f"   status {sorted(set(x[2] for x in v))}")
    # finalize vs replay of the same trace (the last raw run's)
    fr = {"finalize": [], "replay": []}
    for r in range(runs):
        fr["finalize"].append(run([strand, "finalize", "-o", fin, raw])[:2])
        fr["replay"].append(run([strand, "replay", "-q", fin])[:2])
    info = subprocess.run([strand, "info", "--json", fin], capture_output=True, text=True).stdout
    insns = ""
    for tok in info.replace(",", "\n").splitlines():
        if '"instructions"' in tok:
            insns = tok.split(":")[1].strip()
            break
    for k in ("finalize", "replay"):
        v = fr[k]
        print(f"{name:26} {k:8}{med(x[0] for x in v):8.3f} {med(x[1] for x in v):8.3f}"
              f"   ({insns} instructions)")
    summary.append((name, res, fr))

def ratio(a, b, i):
    return med(x[i] for x in a) / max(med(x[i] for x in b), 1e-9)

print()
print(f"{'program':26} {'record/native':>14} {'record/strace':>14} {'raw/strace':>11}"
      f" {'finalize/replay':>16}   (CPU; wall in parentheses)")
for name, res, fr in summary:
    def both(a, b):
        return f"{ratio(a, b, 1):.1f}x ({ratio(a, b, 0):.1f}x)"
    print(f"{name:26} {both(res['record'], res['native']):>14} {both(res['record'], res['strace']):>14}"
          f" {both(res['raw'], res['strace']):>11} {both(fr['finalize'], fr['replay']):>16}")
EOF
echo "load after: $(uptime)"
