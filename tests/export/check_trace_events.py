#!/usr/bin/env python3
"""Check a file against the Trace Event Format (the JSON object form that
chrome://tracing and ui.perfetto.dev load): traceEvents is a list of
events; each has ph and the fields its phase needs; B/E nest per thread;
flow events (s/t/f) share an id and bind inside a slice of their thread.
Usage: check_trace_events.py FILE [--expect-flow] [--max-events N]
Exit 0 when valid, 1 with one line per problem otherwise."""
import json
import sys

PHASES = set("BEXiIsftMCbnePOND")


def main():
    args = sys.argv[1:]
    path = args[0]
    expect_flow = "--expect-flow" in args
    max_events = int(args[args.index("--max-events") + 1]) if "--max-events" in args else None
    problems = []
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        print("not a trace: no traceEvents list")
        return 1
    if "displayTimeUnit" in doc and doc["displayTimeUnit"] not in ("ms", "ns"):
        problems.append("displayTimeUnit must be ms or ns")
    stacks = {}   # (pid, tid) -> [ts of open B]
    slices = {}   # (pid, tid) -> [(begin, end)]
    flows = {}
    counted = 0
    for n, e in enumerate(doc["traceEvents"]):
        where = f"event {n}"
        if not isinstance(e, dict):
            problems.append(f"{where}: not an object")
            continue
        ph = e.get("ph")
        if ph not in PHASES:
            problems.append(f"{where}: unknown ph {ph!r}")
            continue
        if not isinstance(e.get("name", ""), str):
            problems.append(f"{where}: name is not a string")
        for k in ("pid", "tid"):
            if not isinstance(e.get(k), int):
                problems.append(f"{where}: {k} missing or not an integer")
        if ph != "M" and not isinstance(e.get("ts"), (int, float)):
            problems.append(f"{where}: ts missing or not a number")
        if "args" in e and not isinstance(e["args"], dict):
            problems.append(f"{where}: args is not an object")
        key = (e.get("pid"), e.get("tid"))
        if ph == "M":
            if e.get("name") in ("process_name", "thread_name") and not isinstance(
                    e.get("args", {}).get("name"), str):
                problems.append(f"{where}: {e.get('name')} without args.name")
        elif ph == "B":
            counted += 1
            if not e.get("name"):
                problems.append(f"{where}: B without a name")
            stacks.setdefault(key, []).append(e["ts"])
        elif ph == "E":
            st = stacks.get(key)
            if not st:
                problems.append(f"{where}: E without an open B on thread {key}")
            else:
                b = st.pop()
                if e["ts"] < b:
                    problems.append(f"{where}: E at {e['ts']} before its B at {b}")
                slices.setdefault(key, []).append((b, e["ts"]))
        elif ph == "X":
            if not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0:
                problems.append(f"{where}: X without a duration")
        elif ph in "iI":
            counted += 1
            if e.get("s", "t") not in ("g", "p", "t"):
                problems.append(f"{where}: instant scope {e.get('s')!r} is not g, p or t")
        elif ph in "stf":
            if "id" not in e or not e.get("cat"):
                problems.append(f"{where}: flow event without id or cat")
            flows.setdefault((e.get("cat"), e.get("id")), []).append((ph, e["ts"], key))
    for key, st in stacks.items():
        if st:
            problems.append(f"thread {key}: {len(st)} B event(s) never ended")
    for fid, evs in flows.items():
        phs = [p for p, _, _ in evs]
        if phs[0] != "s" or phs[-1] != "f" or any(p != "t" for p in phs[1:-1]):
            problems.append(f"flow {fid}: phases {''.join(phs)} are not s t* f")
        if [t for _, t, _ in evs] != sorted(t for _, t, _ in evs):
            problems.append(f"flow {fid}: steps go back in time")
        for ph, ts, key in evs:
            if not any(b <= ts <= end for b, end in slices.get(key, [])):
                problems.append(f"flow {fid}: step at {ts} on thread {key} is inside no slice")
    if expect_flow and not flows:
        problems.append("no flow events (the causal chain)")
    if max_events is not None and counted > max_events:
        problems.append(f"{counted} B/i events, more than --max-events {max_events}")
    for p in problems[:50]:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
