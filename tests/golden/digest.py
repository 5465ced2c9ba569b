#!/usr/bin/env python3
"""digest.py < REPORT.json: the reviewable digest of a JSON report.

The verdict and its reason, the cause (kind, how it was found, the kernel
call, object and status, or the crash / user-code / wait facts), the first
chain as one line per step (where, instruction, value) and the cause's
stack as symbols.  Positions are kept (they are deterministic); addresses
of steps are not (the symbols say where)."""
import json
import sys

d = json.load(sys.stdin)
out = {"verdict": d.get("verdict"), "verdict_reason": d.get("verdict_reason")}
sym = d.get("symptom")
if sym:
    out["symptom"] = {k: sym[k] for k in ("kind", "description", "value", "meaning") if k in sym}
rc = d.get("root_cause")
if rc:
    keep = ("kind", "found_by", "syscall", "object", "status", "status_name", "position", "tid",
            "where", "value", "child_pid", "reason")
    c = {k: rc[k] for k in keep if k in rc}
    if "api_call" in rc:
        c["api_call"] = rc["api_call"].get("function")
    if "crash" in rc:
        cr = rc["crash"]
        c["crash"] = {k: cr[k] for k in ("kind", "signal", "where", "instruction", "operand",
                                         "explanation", "decided_in") if k in cr}
        if "origin" in cr:
            c["crash"]["origin"] = {k: cr["origin"][k] for k in ("kind", "where", "syscall", "value")
                                    if k in cr["origin"]}
    if "threads" in rc:
        c["threads"] = ["%s %s %s" % (t["tid"], t["state"], t.get("waits_in", t.get("last_call", "")))
                        for t in rc["threads"]]
    stack = rc.get("stack") or rc.get("crash", {}).get("stack") or []
    c["stack"] = [f["symbol"] for f in stack]
    out["root_cause"] = c
prop = d.get("propagation") or []
if prop:
    steps = []
    for s in prop[0].get("steps", []):
        line = "@%s %s" % (s.get("position"), s.get("where", "?"))
        if "instruction" in s:
            line += " | " + s["instruction"]
        if "value" in s:
            line += " = " + s["value"]
        steps.append(line)
    out["chain"] = {"to_symptom": prop[0].get("to_symptom"), "steps": steps}
if d.get("candidates"):
    out["candidates"] = ["%s %s %s (%s)" % (c["syscall"], c.get("object", ""), c["status_name"], c["why"])
                         for c in d["candidates"]]
out["other_failures"] = ["%s %s %s: %s" % (o["syscall"], o.get("object", ""), o["status_name"], o["reason"])
                         for o in d.get("other_failures", [])]
json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
sys.stdout.write("\n")
