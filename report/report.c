/* strand report: the root-cause report, composed from the results of the
 * built-in plugins (syscalls, httpapi, errorflow, callstack timeline) of
 * one run, read through the same result trees any consumer sees.  The
 * layout of the report is documented in docs/analyses.md and
 * docs/report-schema.json. */
#include "knowledge/kb.h"
#include "report/children.h"
#include "report/verdict.h"
#include "report/calltab.h"
#include "strand/analysis.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Basename of the main executable, borrowed from the replay's module list. */
static const char *program_name(struct strand_replay *r)
{
	uint32_t n = 0;
	const struct strand_module *const *m = strand_replay_modules(r, &n);
	for (uint32_t i = 0; m && i < n; i++)
		if (m[i]->flags & STRAND_MODULE_F_MAIN)
			return m[i]->name;
	return NULL;
}

/* The syscalls-plugin entry at a position (and thread), or NULL. */
static const struct strand_rnode *syscall_at(const struct strand_rnode *sc, uint64_t pos,
					     uint64_t tid)
{
	const struct strand_rnode *calls = strand_rnode_get(sc, "calls");
	for (const struct strand_rnode *c = calls ? calls->first : NULL; c; c = c->next)
		if (strand_rnode_u64(c, "position", ~0ull) == pos &&
		    strand_rnode_u64(c, "tid", ~0ull) == tid)
			return c;
	return NULL;
}

/* The failed HTTP API call that contains the kernel call at pos. */
static const struct strand_rnode *api_call_containing(const struct strand_rnode *ha,
						      uint64_t pos, uint64_t tid)
{
	const struct strand_rnode *calls = strand_rnode_get(ha, "calls");
	for (const struct strand_rnode *c = calls ? calls->first : NULL; c; c = c->next) {
		if (strand_rnode_u64(c, "tid", ~0ull) != tid)
			continue;
		uint64_t a = strand_rnode_u64(c, "call_position", ~0ull);
		uint64_t b = strand_rnode_u64(c, "return_position", ~0ull);
		if (a <= pos && pos <= b)
			return c;
	}
	return NULL;
}

static const char *status_name(const struct strand_trace_info *info, uint64_t v)
{
	if (info->abi == STRAND_ABI_WINDOWS_NT) {
		const struct strand_code *c = strand_ntstatus_lookup((uint32_t)v);
		return c ? c->name : NULL;
	}
	if (info->abi == STRAND_ABI_LINUX) {
		int64_t e = (int64_t)v;
		const struct strand_code *c = e < 0 ? strand_errno_lookup((uint32_t)-e) : NULL;
		return c ? c->name : NULL;
	}
	return NULL;
}

static const char *status_message(const struct strand_trace_info *info, uint64_t v)
{
	if (info->abi == STRAND_ABI_WINDOWS_NT) {
		const struct strand_code *c = strand_ntstatus_lookup((uint32_t)v);
		return c ? c->message : NULL;
	}
	int64_t e = (int64_t)v;
	const struct strand_code *c = e < 0 ? strand_errno_lookup((uint32_t)-e) : NULL;
	return c ? c->message : NULL;
}

/* "caller <- caller's caller" from a stack: frames 2 and 3 (frame 0 is
 * the kernel transition, frame 1 the syscall stub's caller side). */
static void via_of(const struct strand_rnode *stack, char *buf, size_t len)
{
	buf[0] = 0;
	uint32_t i = 0;
	size_t o = 0;
	for (const struct strand_rnode *f = stack ? stack->first : NULL; f; f = f->next, i++) {
		if (i < 1 || i > 3)
			continue;
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? " <- " : "",
				      strand_rnode_str(f, "symbol", "?"));
		if (o >= len)
			break;
	}
}

static void emit_step_list(struct strand_rnode *dst, const struct strand_rnode *steps)
{
	for (const struct strand_rnode *s = steps ? steps->first : NULL; s; s = s->next) {
		struct strand_rnode *o = strand_r_object(dst, NULL);
		for (const struct strand_rnode *f = s->first; f; f = f->next) {
			if (f->kind == STRAND_R_STACK) {
				/* the caller in text; the whole stack for machines */
				const struct strand_rnode *f1 = f->first ? f->first->next : NULL;
				if (f1)
					strand_r_string(o, "called_from", strand_rnode_str(f1, "symbol", "?"));
				struct strand_rnode *c = strand_r_copy(o, "stack", f);
				if (c)
					c->flags |= STRAND_RF_NOTEXT;
			} else {
				strand_r_copy(o, NULL, f);
			}
		}
	}
}

static void emit_hints(struct strand_rnode *root, const struct rc *rc,
		       const struct strand_trace_info *info, const struct kb *kb)
{
	struct strand_rnode *h = strand_r_list(root, "hints");
	const char *sname = rc->found ? status_name(info, rc->status) : NULL;
	uint64_t sval = rc->symptom ? strand_rnode_u64(rc->symptom, "value", 0) : 0;
	/* of the entries keyed on the status, the most specific one (most
	 * keys; the first among equals); every matching entry not keyed on the
	 * status as well, in file order */
	const struct kb_entry *best = NULL;
	int best_keys = -1;
	for (uint32_t i = 0; kb && rc->found && i < kb->n; i++) {
		const struct kb_entry *e = &kb->e[i];
		if (e->kind != KB_HINT || !e->status || !kb_match(e, sname, rc->object, rc->syscall, sval))
			continue;
		int keys = 1 + (e->object_prefix ? 2 : 0) + (e->syscall ? 1 : 0) + (e->have_symptom ? 1 : 0);
		if (keys > best_keys) {
			best = e;
			best_keys = keys;
		}
	}
	for (uint32_t i = 0; kb && rc->found && i < kb->n; i++) {
		const struct kb_entry *e = &kb->e[i];
		if (e->kind != KB_HINT || (e->status ? e != best
				: !kb_match(e, sname, rc->object, rc->syscall, sval)))
			continue;
		struct strand_rnode *o = strand_r_object(h, NULL);
		strand_r_string(o, "title", e->title);
		strand_r_string(o, "text", e->text);
		strand_r_string(o, "source", e->source);
	}
}

static void emit_other_failures(struct strand_rnode *root, const struct strand_rnode *sc,
				const struct rc *rc, const struct strand_trace_info *info)
{
	struct strand_rnode *list = strand_r_list(root, "other_failures");
	if (list)
		list->flags |= STRAND_RF_TABLE;
	const struct strand_rnode *calls = strand_rnode_get(sc, "calls");
	/* threads the failure travelled through */
	uint64_t chain_tids[16];
	uint32_t nct = 0;
	const struct strand_rnode *steps = rc->chain ? strand_rnode_get(rc->chain, "steps") : NULL;
	for (const struct strand_rnode *s = steps ? steps->first : NULL; s && nct < 16; s = s->next) {
		uint64_t t = strand_rnode_u64(s, "tid", 0);
		bool have = false;
		for (uint32_t i = 0; i < nct; i++)
			have = have || chain_tids[i] == t;
		if (!have)
			chain_tids[nct++] = t;
	}
	if (rc->found && nct == 0)
		chain_tids[nct++] = rc->tid;
	struct rc_calltab tab;
	strand_error terr;
	if (rc_calltab_build(calls, &tab, &terr) != STRAND_OK)
		return; /* no memory: the list stays empty */
	for (uint32_t ci = 0; ci < tab.n; ci++) {
		const struct rc_call *row = &tab.rows[ci];
		const struct strand_rnode *c = row->node;
		if (!row->failed)
			continue;
		uint64_t pos = row->pos, tid = row->tid;
		if ((rc->found && pos == rc->pos && tid == rc->tid) ||
		    (rc->so_far && pos == rc->tentative.pos && tid == rc->tentative.tid))
			continue;
		const char *name = strand_rnode_str(c, "name", "?");
		const char *obj = strand_rnode_str(c, "object", "");
		uint64_t res = rc_call_status(c);
		/* retried: the same call on the same object succeeded later in
		 * the thread.  The object's identity is its name, or for a call
		 * that names none, its first argument (the handle / descriptor). */
		const struct rc_call *rrow = rc_calltab_retry(&tab, row);
		const struct strand_rnode *retry = rrow ? rrow->node : NULL;
		bool in_chain_thread = false;
		for (uint32_t i = 0; i < nct; i++)
			in_chain_thread = in_chain_thread || chain_tids[i] == tid;
		struct strand_rnode *o = strand_r_object(list, NULL);
		strand_r_position(o, "position", pos);
		strand_r_uint(o, "tid", tid);
		strand_r_string(o, "syscall", name);
		if (obj[0])
			strand_r_string(o, "object", obj);
		const char *sn = status_name(info, res);
		strand_r_hex(o, "status", res);
		strand_r_string(o, "status_name", sn ? sn : "?");
		char via[480];
		via_of(strand_rnode_get(c, "stack"), via, sizeof via);
		if (via[0])
			strand_r_string(o, "via", via);
		if (retry) {
			strand_r_string(o, "reason", "retried");
			strand_r_stringf(o, "why", "the same call on the same object succeeded later "
					 "in this thread (position @%" PRIu64 ")",
					 strand_rnode_u64(retry, "position", 0));
		} else if (rc->found && !in_chain_thread) {
			strand_r_string(o, "reason", "unrelated");
			strand_r_string(o, "why", "in a thread the failure never went through; its "
					"status reached no symptom");
		} else {
			strand_r_string(o, "reason", "handled");
			strand_r_string(o, "why", rc->found && rc->chain
				? "its status did not flow into the symptom: the caller handled it "
				  "(a default was kept or another path was taken)"
				: rc->found ? "not connected to the symptom by any evidence"
				: !strcmp(rc->verdict, "failure") || !strcmp(rc->verdict, "crash")
				? "its status did not flow into the symptom"
				: rc->kind == RC_INCOMPLETE
				? "nothing recorded connects it to a symptom (the trace ends before the "
				  "process did)"
				: "the process did not fail because of it");
		}
	}
	rc_calltab_free(&tab);
}

static void emit_timeline(struct strand_rnode *root, const struct strand_rnode *cs,
			  const struct rc *rc, const struct strand_trace_info *info)
{
	const struct strand_rnode *tl = strand_rnode_get(cs, "timeline");
	if (!tl)
		return;
	struct strand_rnode *t = strand_r_object(root, "timeline");
	if (!t)
		return;
	t->flags = tl->flags;
	for (const struct strand_rnode *f = tl->first; f; f = f->next)
		if (strcmp(f->name, "marks"))
			strand_r_copy(t, NULL, f);
	struct strand_rnode *marks = strand_r_list(t, "marks");
	if (rc->found) {
		struct strand_rnode *m = strand_r_object(marks, NULL);
		strand_r_position(m, "position", rc->pos);
		strand_r_uint(m, "tid", rc->tid);
		const char *sn = status_name(info, rc->status);
		strand_r_stringf(m, "label", "%s %s", rc->syscall, sn ? sn : "failed");
	}
	if (rc->symptom) {
		struct strand_rnode *m = strand_r_object(marks, NULL);
		strand_r_position(m, "position", strand_rnode_u64(rc->symptom, "position", 0));
		strand_r_uint(m, "tid", strand_rnode_u64(rc->symptom, "tid", 0));
		strand_r_stringf(m, "label", "symptom: %s", strand_rnode_str(rc->symptom, "kind", "?"));
	}
}

strand_status strand_report_build(const char *trace, const struct strand_report_options *opt,
				  struct strand_result *res, strand_error *err)
{
	struct strand_analysis *a = NULL;
	struct strand_result *pr = NULL;
	struct strand_analysis_options ao = { 0 };
	struct kb kb = { 0 };
	if (opt) {
		ao.progress = opt->progress;
		ao.progress_ud = opt->progress_ud;
		ao.max_instructions = opt->max_instructions;
		ao.max_memory = opt->max_memory;
	}
	strand_status st = strand_analysis_new(trace, &ao, &a, err);
	if (st < 0)
		goto out;
	static const char *const specs[] = { "syscalls", "httpapi", "errorflow",
					     "callstack:timeline=1", "crash", "hang" };
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
		if ((st = strand_analysis_add_spec(a, specs[i], err)) < 0)
			goto out;
	for (size_t i = 0; opt && opt->plugins && opt->plugins[i]; i++) {
		st = strand_analysis_load(a, opt->plugins[i],
					  opt->plugin_opts ? opt->plugin_opts[i] : NULL, err);
		if (st < 0)
			goto out;
	}
	pr = strand_result_new();
	if (!pr) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "report: out of memory");
		goto out;
	}
	st = strand_analysis_run(a, pr, err);
	if (st < 0)
		goto out;
	const struct strand_trace_info *info = strand_analysis_info(a);
	const struct strand_rnode *sc = strand_analysis_result_of(a, "syscalls");
	const struct strand_rnode *ha = strand_analysis_result_of(a, "httpapi");
	const struct strand_rnode *ef = strand_analysis_result_of(a, "errorflow");
	const struct strand_rnode *cs = strand_analysis_result_of(a, "callstack");
	struct strand_rnode *root = strand_result_root(res);

	struct strand_rnode *tr = strand_r_object(root, "trace");
	strand_r_string(tr, "file", basename_of(trace));
	strand_r_string(tr, "arch", strand_arch_str(info->arch));
	strand_r_string(tr, "abi", strand_abi_str(info->abi));
	strand_r_string(tr, "recorder", info->recorder);
	strand_r_uint(tr, "instructions", strand_replay_end(strand_analysis_replay(a)));
	strand_r_uint(tr, "syscalls", strand_rnode_u64(sc, "total", 0));
	strand_r_uint(tr, "failed_syscalls", strand_rnode_u64(sc, "failed", 0));
	/* a trace without PROCESS_EXIT (truncated, or the recording stopped)
	 * holds only part of the run: say so, so the verdict claims no more */
	const struct strand_trace_summary *sum =
		strand_reader_summary(strand_replay_reader(strand_analysis_replay(a)));
	if (!sum->complete || sum->truncated) {
		strand_r_bool(tr, "complete", false);
		strand_r_string(tr, "warning", sum->truncated
			? "incomplete trace: truncated (no footer); the verdict covers only what was recorded"
			: "incomplete trace: no process exit recorded; the verdict covers only what was recorded");
	}

	/* the knowledge base: the file shipped with the program, then --kb files */
	char kbpath[4096];
	if (kb_default_path(kbpath, sizeof kbpath) && (st = kb_load(&kb, kbpath, err)) < 0)
		goto out;
	for (size_t i = 0; opt && opt->kb_files && opt->kb_files[i]; i++)
		if ((st = kb_load(&kb, opt->kb_files[i], err)) < 0)
			goto out;
	/* the program's arguments, read only when an exit entry of the
	 * knowledge base depends on its options */
	const char *prog = program_name(strand_analysis_replay(a));
	struct strand_process_facts facts = { .argv = "" };
	const char *args = NULL;
	if (kb_exit_wants_args(&kb, prog)) {
		strand_error fe;
		if (strand_trace_process_facts(trace, &facts, &fe) == STRAND_OK) {
			const char *sp = strchr(facts.argv, ' ');
			args = sp ? sp + 1 : "";
		}
	}
	struct rc_inputs in = { .info = info, .ef = ef, .sc = sc, .kb = &kb, .args = args,
				.crash = strand_analysis_result_of(a, "crash"),
				.hang = strand_analysis_result_of(a, "hang"),
				.program = prog,
				.incomplete = !sum->complete, .truncated = sum->truncated,
				.instructions = strand_replay_end(strand_analysis_replay(a)) };
	struct rc rc;
	rc_decide(&in, &rc);
	/* the syscalls plugin's object names more (the file behind a
	 * descriptor, the key of a value, the name a handle was opened with) */
	if (rc.found) {
		const char *o = strand_rnode_str(syscall_at(sc, rc.pos, rc.tid), "object", NULL);
		if (o && (!rc.object || strstr(o, rc.object)))
			rc.object = o;
	}
	bool healthy = !strcmp(rc.verdict, "no_failure_found");

	/* summary */
	char summary[2048];
	if (healthy) {
		snprintf(summary, sizeof summary,
			 "No failure found: %s. %" PRIu64 " kernel calls failed and were handled (listed "
			 "below as not the cause).", rc.reason, strand_rnode_u64(sc, "failed", 0));
	} else if (rc.kind == RC_CRASH && !rc.found) {
		snprintf(summary, sizeof summary, "The process crashed: %s.", rc.reason);
	} else if (rc.kind == RC_INCOMPLETE) {
		const char *sn = rc.so_far ? status_name(info, rc.tentative.status) : NULL;
		int o = snprintf(summary, sizeof summary, "Incomplete trace: %s.", rc.reason);
		if (rc.so_far && o > 0 && (size_t)o < sizeof summary)
			snprintf(summary + o, sizeof summary - (size_t)o, " So far (tentative): a "
				 "diagnostic written before the end leads to %s%s%s returned %s at "
				 "position %" PRIu64 "; whether the process failed because of it is "
				 "not recorded.", rc.tentative.syscall, rc.tentative.object ? " on " : "",
				 rc.tentative.object ? rc.tentative.object : "", sn ? sn : "a failure",
				 rc.tentative.pos);
	} else if (rc.kind == RC_CHILD) {
		snprintf(summary, sizeof summary, "%s.", rc.reason);
	} else if (rc.kind == RC_WAIT) {
		snprintf(summary, sizeof summary, "The process did not end by itself: %s.", rc.reason);
	} else if (rc.found) {
		const char *sn = status_name(info, rc.status), *msg = status_message(info, rc.status);
		int mlen = msg ? (int)strlen(msg) : 0;
		if (mlen && msg[mlen - 1] == '.')
			mlen--; /* the sentence goes on */
		if (rc.out_param)
			snprintf(summary, sizeof summary,
				 "%s. Root cause: %s%s%s reported %s (%" PRIu64 ")%s%.*s in the memory it "
				 "wrote for the caller (the call itself succeeded), at position %" PRIu64
				 " in thread %" PRIu64 ".",
				 strand_rnode_str(rc.symptom, "description", "failure"), rc.syscall,
				 rc.object ? " on " : "", rc.object ? rc.object : "",
				 sn ? sn : "an error", rc.status_raw, msg ? ": " : "", mlen, msg ? msg : "",
				 rc.pos, rc.tid);
		else
			snprintf(summary, sizeof summary,
				 "%s. Root cause: %s%s%s returned %s (0x%08" PRIX64 ")%s%.*s, at position %"
				 PRIu64 " in thread %" PRIu64 ".",
				 strand_rnode_str(rc.symptom, "description", "failure"), rc.syscall,
				 rc.object ? " on " : "", rc.object ? rc.object : "",
				 sn ? sn : "a failure", rc.status, msg ? ": " : "", mlen, msg ? msg : "",
				 rc.pos, rc.tid);
	} else {
		snprintf(summary, sizeof summary, "%s. No failing kernel call lies on the data or "
			 "control path to it: the program's own code produced the error%s%s.",
			 strand_rnode_str(rc.symptom, "description", "failure"),
			 rc.user ? " at " : "", rc.user ? rc_user_where(rc.user) : "");
	}
	rc_emit_verdict(root, &rc);
	strand_r_string(root, "summary", summary);

	/* symptom(s) */
	const struct strand_rnode *sy[16];
	uint32_t nsy = rc_ordered_symptoms(ef, sy, 16);
	if (nsy) {
		struct strand_rnode *s = strand_r_object(root, "symptom");
		for (const struct strand_rnode *f = sy[0]->first; f; f = f->next)
			if (strcmp(f->name, "chain"))
				strand_r_copy(s, NULL, f);
		struct strand_rnode *others = strand_r_list(root, "other_symptoms");
		for (uint32_t i = 1; i < nsy; i++) {
			struct strand_rnode *o = strand_r_object(others, NULL);
			for (const struct strand_rnode *f = sy[i]->first; f; f = f->next)
				if (strcmp(f->name, "chain") && f->kind != STRAND_R_STACK)
					strand_r_copy(o, NULL, f);
		}
	}

	/* root cause */
	if (rc.found) {
		struct strand_rnode *r = strand_r_object(root, "root_cause");
		strand_r_string(r, "syscall", rc.syscall);
		if (rc.object)
			strand_r_string(r, "object", rc.object);
		struct strand_rnode *sv = strand_r_hex(r, "status", rc.status);
		if (sv)
			sv->flags |= STRAND_RF_ALERT;
		const char *sn = status_name(info, rc.status), *msg = status_message(info, rc.status);
		strand_r_string(r, "status_name", sn ? sn : "?");
		strand_r_string(r, "status_message", msg ? msg : "");
		strand_r_position(r, "position", rc.pos);
		strand_r_uint(r, "tid", rc.tid);
		strand_r_string(r, "kind", rc.kind == RC_CRASH ? "crash" : "kernel_call");
		strand_r_string(r, "found_by", rc.found_by);
		strand_r_string(r, "found_by_detail", rc.confidence);
		if (rc.out_param) {
			/* the call returned success; the status is the value it wrote */
			struct strand_rnode *op = strand_r_object(r, "status_from");
			strand_r_string(op, "where", "out-parameter");
			strand_r_hex(op, "address", rc.status_addr);
			strand_r_uint(op, "value", rc.status_raw);
			const struct strand_rnode *call = syscall_at(sc, rc.pos, rc.tid);
			strand_r_hex(op, "call_result", strand_rnode_u64(call, "result", 0));
		}
		const struct strand_rnode *api = api_call_containing(ha, rc.pos, rc.tid);
		if (api) {
			struct strand_rnode *ao2 = strand_r_object(r, "api_call");
			strand_r_string(ao2, "function", strand_rnode_str(api, "function", "?"));
			strand_r_position(ao2, "call_position", strand_rnode_u64(api, "call_position", 0));
			strand_r_string(ao2, "caller", strand_rnode_str(api, "caller", "?"));
			strand_r_hex(ao2, "return_value", strand_rnode_u64(api, "return_value", 0));
			strand_r_string(ao2, "result", strand_rnode_str(api, "result", ""));
		}
		const struct strand_rnode *call = syscall_at(sc, rc.pos, rc.tid);
		const struct strand_rnode *stack = strand_rnode_get(call, "stack");
		if (!stack && rc.chain) /* a call that did not fail: the stack the chain took there */
			stack = strand_rnode_get(strand_rnode_get(rc.chain, "steps")
						 ? strand_rnode_get(rc.chain, "steps")->first : NULL, "stack");
		if (stack)
			strand_r_copy(r, "stack", stack);
	}

	rc_emit(root, &in, &rc);

	/* propagation: one chain per symptom that reached the root cause */
	struct strand_rnode *prop = strand_r_list(root, "propagation");
	for (uint32_t i = 0; rc.found && i < nsy; i++) {
		const struct strand_rnode *ch = strand_rnode_get(sy[i], "chain");
		const struct strand_rnode *o = strand_rnode_get(ch, "origin");
		if (!o || strand_rnode_u64(o, "position", ~0ull) != rc.pos)
			continue;
		struct strand_rnode *p = strand_r_object(prop, NULL);
		strand_r_string(p, "to_symptom", strand_rnode_str(sy[i], "kind", "?"));
		strand_r_hex(p, "symptom_value", strand_rnode_u64(sy[i], "value", 0));
		strand_r_uint(p, "steps_followed", strand_rnode_u64(ch, "steps_total", 0));
		emit_step_list(strand_r_list(p, "steps"), strand_rnode_get(ch, "steps"));
	}

	/* failed HTTP API calls */
	struct strand_rnode *fa = strand_r_list(root, "failed_api_calls");
	const struct strand_rnode *hcalls = strand_rnode_get(ha, "calls");
	for (const struct strand_rnode *c = hcalls ? hcalls->first : NULL; c; c = c->next) {
		if (!strand_rnode_u64(c, "failed", 0))
			continue;
		struct strand_rnode *o = strand_r_object(fa, NULL);
		static const char *const keys[] = { "function", "tid", "call_position",
						    "return_position", "caller", "return_value",
						    "result" };
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			strand_r_copy(o, NULL, strand_rnode_get(c, keys[k]));
		uint64_t a = strand_rnode_u64(c, "call_position", 0);
		uint64_t b = strand_rnode_u64(c, "return_position", ~0ull);
		uint64_t rv = strand_rnode_u64(c, "return_value", 0);
		if (rc.found && strand_rnode_u64(c, "tid", 0) == rc.tid && a <= rc.pos && rc.pos <= b) {
			strand_r_string(o, "role", "root cause");
			strand_r_string(o, "why", "the failing kernel call of the root cause is inside it");
		} else {
			strand_r_string(o, "role", "not the cause");
			/* say "the caller asks again" only when the trace shows it:
			 * the same function called again later in the thread and
			 * succeeding */
			const struct strand_rnode *again = NULL;
			for (const struct strand_rnode *d = c->next; d && !again; d = d->next)
				if (strand_rnode_u64(d, "tid", 0) == strand_rnode_u64(c, "tid", 1) &&
				    !strand_rnode_u64(d, "failed", 1) &&
				    !strcmp(strand_rnode_str(d, "function", ""), strand_rnode_str(c, "function", "?")))
					again = d;
			const struct strand_code *w = strand_win32_lookup((uint32_t)rv);
			if (again)
				strand_r_stringf(o, "why", "%s; the same function was called again and "
						 "succeeded (position @%" PRIu64 ")", w ? w->name : "its error",
						 strand_rnode_u64(again, "call_position", 0));
			else
				strand_r_string(o, "why",
					rv == 259 ? "ERROR_NO_MORE_ITEMS: the normal end of an enumeration"
					: rv == 997 ? "ERROR_IO_PENDING: the operation completes later"
					: !rc.symptom ? "the process did not fail: the caller went on"
					: rc.chain ? "its error did not flow into the symptom"
					: "nothing connects its error to the symptom");
		}
		struct strand_rnode *kl = strand_r_list(o, "failed_kernel_calls");
		const struct strand_rnode *ks = strand_rnode_get(c, "failed_kernel_calls");
		for (const struct strand_rnode *k = ks ? ks->first : NULL; k; k = k->next) {
			struct strand_rnode *ko = strand_r_object(kl, NULL);
			for (const struct strand_rnode *f = k->first; f; f = f->next) {
				struct strand_rnode *cpy = strand_r_copy(ko, NULL, f);
				if (cpy && f->kind == STRAND_R_STACK)
					cpy->flags |= STRAND_RF_NOTEXT; /* shown under root cause */
			}
		}
	}

	emit_other_failures(root, sc, &rc, info);
	emit_hints(root, &rc, info, &kb);
	emit_timeline(root, cs, &rc, info);

	/* results of external plugins, as they gave them */
	struct strand_rnode *ext = strand_r_object(root, "plugins");
	for (const struct strand_rnode *c = strand_result_root(pr)->first; c; c = c->next) {
		static const char *const builtin[] = { "syscalls", "httpapi", "errorflow", "callstack",
						       "crash", "hang" };
		bool b = false;
		for (size_t k = 0; k < sizeof builtin / sizeof builtin[0]; k++)
			b = b || !strcmp(c->name, builtin[k]);
		if (!b)
			strand_r_copy(ext, NULL, c);
	}
	if (strand_result_status(res) < 0)
		st = strand_error_set(err, STRAND_ERR_NOMEM, "report: out of memory");
	if (st >= 0) /* a process tree: the failure may be inside a child */
		st = rp_follow_child(trace, opt, res, err);
out:
	kb_free(&kb);
	strand_result_free(pr);
	strand_analysis_free(a);
	return st;
}
