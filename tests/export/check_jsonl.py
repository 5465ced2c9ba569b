#!/usr/bin/env python3
"""Check `strand export --format jsonl` output against the fields
docs/analyses.md gives each event type.  Every line is one JSON object
with type, position (integer) and tid (integer); positions never
decrease.  Usage: check_jsonl.py FILE [--from A --to B] [--max-events N]."""
import json
import re
import sys

HEX = re.compile(r"^0x[0-9a-f]+$")
FIELDS = {
    "thread": {"name": str},
    "module": {"name": str, "path": str, "base": "hex", "size": "hex", "symbols": int},
    "module_unload": {"module_id": int},
    "syscall": {"number": int, "name": str, "args": list, "result": "hex", "status": str,
                "failed": bool, "pc": str},
    "output": {"stream": int, "text": str},
    "exception": {"kind": str, "code": "hex", "pc": "hex", "address": "hex", "fatal": bool},
    "switch": {},
    "thread_exit": {"code": "hex"},
    "process_exit": {"code": "hex"},
}
OPTIONAL = {"syscall": {"object": str}}


def ok(v, t):
    if t == "hex":
        return isinstance(v, str) and HEX.match(v)
    if t is int:
        return isinstance(v, int) and not isinstance(v, bool)
    return isinstance(v, t)


def main():
    a = sys.argv[1:]
    lo = int(a[a.index("--from") + 1]) if "--from" in a else None
    hi = int(a[a.index("--to") + 1]) if "--to" in a else None
    mx = int(a[a.index("--max-events") + 1]) if "--max-events" in a else None
    problems, last, n = [], -1, 0
    with open(a[0], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                e = json.loads(line)
            except ValueError as x:
                problems.append(f"line {n}: not JSON: {x}")
                continue
            t = e.get("type")
            if t not in FIELDS:
                problems.append(f"line {n}: unknown type {t!r}")
                continue
            for k in ("position", "tid"):
                if not ok(e.get(k), int):
                    problems.append(f"line {n}: {k} missing or not an integer")
            want = dict(FIELDS[t], type=str, position=int, tid=int)
            for k, ty in want.items():
                if k not in e or not ok(e[k], ty):
                    problems.append(f"line {n}: {t}.{k} missing or not {ty}")
            extra = set(e) - set(want) - set(OPTIONAL.get(t, {}))
            if extra:
                problems.append(f"line {n}: {t} has unknown fields {sorted(extra)}")
            if t == "syscall" and not all(ok(x, "hex") for x in e.get("args", [])):
                problems.append(f"line {n}: syscall args are not hex strings")
            p = e.get("position", 0)
            if isinstance(p, int):
                if p < last:
                    problems.append(f"line {n}: position {p} before {last}")
                last = p
                if t not in ("thread", "module") or p:
                    if lo is not None and p < lo or hi is not None and p >= hi:
                        problems.append(f"line {n}: position {p} outside [{lo}, {hi})")
    if mx is not None and n > mx:
        problems.append(f"{n} events, more than {mx}")
    for p in problems[:50]:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
