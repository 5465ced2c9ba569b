#!/usr/bin/env python3
"""Check a Tenet text trace (Tenet's tracers/README.md): every line is a
comma-separated list of REG=0xHEX register deltas and ACCESS=0xADDR:HEXBYTES
memory entries (ACCESS one of mr, mw, mrw; an even number of hex digits),
with register names of the architecture (Tenet's trace/arch: x86 or
amd64), the pc on every line, every register on the first line.
Usage: check_tenet.py FILE x86|amd64 [--lines N]
Exit 0 when valid, 1 with one line per problem otherwise."""
import re
import sys

ARCH = {
    "x86": (["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp"], "eip", 32),
    "amd64": (["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
               "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"], "rip", 64),
}
REG = re.compile(r"^([A-Za-z0-9]+)=0x([0-9a-fA-F]+)$")
MEM = re.compile(r"^(mr|mw|mrw)=0x([0-9a-fA-F]+):([0-9a-fA-F]*)$")


def main():
    path, arch = sys.argv[1], sys.argv[2]
    want_lines = int(sys.argv[sys.argv.index("--lines") + 1]) if "--lines" in sys.argv else None
    regs, pc, bits = ARCH[arch]
    names = set(regs) | {pc}
    problems = []
    n = 0
    with open(path, encoding="ascii") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            seen = set()
            for item in line.split(","):
                m = REG.match(item)
                if m:
                    name = m.group(1).lower()
                    if name not in names:
                        problems.append(f"line {n}: {name} is not a register of {arch}")
                    if int(m.group(2), 16) >> bits:
                        problems.append(f"line {n}: {name} wider than {bits} bits")
                    if name in seen:
                        problems.append(f"line {n}: {name} twice")
                    seen.add(name)
                    continue
                m = MEM.match(item)
                if m:
                    if len(m.group(3)) % 2 or not m.group(3):
                        problems.append(f"line {n}: memory bytes {m.group(3)!r} not whole bytes")
                    continue
                problems.append(f"line {n}: {item!r} is neither REG=0xHEX nor mr/mw/mrw=0xADDR:HEX")
            if pc not in seen:
                problems.append(f"line {n}: no {pc}")
            if n == 1 and not set(regs) <= seen:
                problems.append(f"line 1: not every register: missing {sorted(set(regs) - seen)}")
            if len(problems) > 50:
                break
    if n == 0:
        problems.append("empty trace")
    if want_lines is not None and n != want_lines:
        problems.append(f"{n} lines, expected {want_lines}")
    for p in problems[:50]:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
