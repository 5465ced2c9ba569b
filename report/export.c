/* strand export: a trace (or a position range of it) in other tools'
 * formats, from one forward replay.
 *
 * perfetto  Chrome Trace Event Format, JSON object form ("traceEvents"),
 *           as read by ui.perfetto.dev and chrome://tracing:
 *             M  process_name / thread_name metadata (names from the trace)
 *             B/E  one slice per call, on its thread's track, name = the
 *                  callee's symbol; slices still open at the range's end
 *                  are closed there
 *             i  (scope "t") kernel calls (cat "syscall", or "failure" when
 *                they failed), outputs (cat "output"), exceptions (cat
 *                "failure"); args: number, result, status, object, text
 *             s/t/f  the causal chain (cat "causal_chain", id 1): the
 *                errorflow chain of the first symptom that reaches a
 *                failed kernel call, origin first, bound to the enclosing
 *                slices ("bp": "e" on the last)
 *           ts is the trace position: 1 "microsecond" = 1 instruction
 *           (otherData.time_unit says so).  --max-events bounds B and i
 *           events (E closing them are always written).
 * tenet     Tenet's text trace (its tracers/README.md): one line per
 *           executed instruction of one thread, "reg=0xVALUE" for each
 *           general-purpose register that changed (all of them on the
 *           first line) and the pc of the instruction about to run, then
 *           the memory the previous instruction read and wrote as
 *           "mr=0xADDR:HEXBYTES" /
 *           "mw=0xADDR:HEXBYTES", comma-separated.  x86-32 traces use
 *           eax..edi/eip, x86-64 rax..r15/rip.
 * jsonl     one JSON object per line, in trace order: {"type": "thread" |
 *           "module" | "syscall" | "output" | "exception" | "switch" |
 *           "thread_exit" | "process_exit", "position", "tid", ...}
 *           (docs/analyses.md lists the fields of each type).
 *
 * Ranges: the replay first seeks to --from with no observer (fast), then
 * observes up to --to. */
#include "report/views.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "strand/json.h"
#include "strand/knowledge.h"

bool strand_export_format_parse(const char *s, strand_export_format *out)
{
	static const struct { const char *name; strand_export_format f; } t[] = {
		{ "perfetto", STRAND_EXPORT_PERFETTO }, { "chrome", STRAND_EXPORT_PERFETTO },
		{ "tenet", STRAND_EXPORT_TENET }, { "jsonl", STRAND_EXPORT_JSONL },
	};
	for (size_t i = 0; s && i < sizeof t / sizeof t[0]; i++)
		if (!strcmp(s, t[i].name)) {
			*out = t[i].f;
			return true;
		}
	return false;
}

/* ------------------------------------------------------------- common */

struct xctx {
	struct strand_replay *r;
	const struct strand_trace_info *info;
	struct strand_systable *systable; /* owned: the trace's service table, NULL = built in */
	const struct strand_export_options *opt;
	uint64_t from, to, max;
	uint64_t events;        /* events written (bounded by max) */
	bool truncated;         /* max was reached */
	FILE *out;
	struct strand_json *j;  /* perfetto: the traceEvents array writer */
	/* perfetto: per-thread open slices */
	struct xthread {
		uint32_t tid;
		uint32_t n, cap;
		struct xframe { uint64_t ret_addr, begin; bool emitted; } *f; /* owned */
		struct xslice { uint64_t begin, end; } *sl; /* owned: slices written */
		uint32_t nsl, capsl;
	} *th;                  /* owned */
	uint32_t nth, capth;
	/* syscall object decoded before the effects, used after */
	char object[512];
	/* tenet */
	uint32_t tenet_tid;
	bool tenet_started;
	uint64_t tenet_regs[17];
	char *line;             /* owned: the memory part of the pending line */
	size_t line_len, line_cap;
	uint64_t insns;
};

static bool in_range(const struct xctx *x, uint64_t pos)
{
	return pos >= x->from && pos < x->to;
}

static bool take_event(struct xctx *x)
{
	if (x->events >= x->max) {
		x->truncated = true;
		return false;
	}
	x->events++;
	return true;
}

static strand_status open_range(const char *trace, const struct strand_export_options *opt,
				struct xctx *x, strand_error *err)
{
	struct strand_replay_options ro = { .progress = NULL };
	strand_status st = strand_replay_open(trace, &ro, &x->r, err);
	if (st < 0)
		return st;
	x->info = strand_replay_info(x->r);
	/* a trace on real system DLLs numbers services as its ntdll does; a
	 * damaged note leaves the built-in numbering, as for the analyses */
	strand_error e = { 0 };
	if (strand_systable_load(trace, &x->systable, &e) < 0)
		x->systable = NULL;
	x->opt = opt;
	x->from = opt->from;
	x->to = opt->to ? opt->to : UINT64_MAX;
	uint64_t end = strand_replay_end(x->r);
	if (x->to > end)
		x->to = end;
	if (x->from > end)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"export: from=%" PRIu64 " is past the end of the trace (%" PRIu64 ")",
					x->from, end);
	if (x->from >= x->to && !(x->from == 0 && end == 0))
		return strand_error_set(err, STRAND_ERR_INVALID,
					"export: empty range from=%" PRIu64 " to=%" PRIu64, x->from, x->to);
	x->max = opt->max_events ? opt->max_events : 1000000;
	if (x->from)
		st = strand_replay_seek(x->r, x->from, err);
	return st;
}

static strand_status drive(struct xctx *x, strand_error *err)
{
	strand_status st = strand_replay_seek(x->r, x->to, err);
	return st == STRAND_END ? STRAND_OK : st;
}

static void syscall_object(struct xctx *x, const struct strand_record *rec)
{
	x->object[0] = 0;
	strand_syscall_decode_object_in(x->r, x->systable, x->info->abi, x->info->arch, &rec->u.syscall,
					x->object, sizeof x->object);
}

static const char *syscall_name(const struct xctx *x, uint32_t nr, char *buf, size_t len)
{
	const char *n = strand_syscall_name_in(x->systable, x->info->abi, x->info->arch, nr);
	if (n)
		return n;
	snprintf(buf, len, "syscall_%" PRIu32, nr);
	return buf;
}

/* ----------------------------------------------------------- perfetto */

static struct xthread *xth(struct xctx *x, uint32_t tid)
{
	for (uint32_t i = 0; i < x->nth; i++)
		if (x->th[i].tid == tid)
			return &x->th[i];
	if (x->nth == x->capth) {
		uint32_t cap = x->capth ? x->capth * 2 : 8;
		struct xthread *n = realloc(x->th, cap * sizeof *n);
		if (!n)
			return NULL;
		x->th = n;
		x->capth = cap;
	}
	struct xthread *t = &x->th[x->nth++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

static void pf_event_head(struct xctx *x, const char *ph, const char *name, const char *cat,
			  uint64_t ts, uint32_t tid)
{
	struct strand_json *j = x->j;
	strand_json_start_object(j);
	strand_json_string_field(j, "ph", ph);
	strand_json_string_field(j, "name", name);
	if (cat)
		strand_json_string_field(j, "cat", cat);
	strand_json_uint_field(j, "ts", ts);
	strand_json_uint_field(j, "pid", 1);
	strand_json_uint_field(j, "tid", tid);
}

/* Write the E of an emitted frame and remember the slice (flow events
 * must bind inside one). */
static void pf_end(struct xctx *x, struct xthread *t, const struct xframe *f, uint64_t ts)
{
	pf_event_head(x, "E", "", NULL, ts, t->tid);
	strand_json_end_object(x->j);
	if (t->nsl == t->capsl) {
		uint32_t cap = t->capsl ? t->capsl * 2 : 64;
		struct xslice *n = realloc(t->sl, cap * sizeof *n);
		if (!n)
			return;
		t->sl = n;
		t->capsl = cap;
	}
	t->sl[t->nsl++] = (struct xslice){ f->begin, ts };
}

static bool pf_in_slice(struct xctx *x, uint32_t tid, uint64_t ts)
{
	for (uint32_t i = 0; i < x->nth; i++)
		for (uint32_t k = 0; x->th[i].tid == tid && k < x->th[i].nsl; k++)
			if (x->th[i].sl[k].begin <= ts && ts <= x->th[i].sl[k].end)
				return true;
	return false;
}

static void pf_call(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	struct xctx *x = ud;
	struct xthread *t = xth(x, c->tid);
	if (!t)
		return;
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 64;
		struct xframe *n = realloc(t->f, cap * sizeof *n);
		if (!n)
			return;
		t->f = n;
		t->cap = cap;
	}
	bool emit = in_range(x, c->position) && take_event(x);
	t->f[t->n++] = (struct xframe){ c->ret_addr, c->position, emit };
	if (!emit)
		return;
	char name[256];
	strand_replay_symbolize(r, c->to, name, sizeof name);
	pf_event_head(x, "B", name, "call", c->position, c->tid);
	strand_json_name(x->j, "args");
	strand_json_start_object(x->j);
	strand_json_hex_field(x->j, "target", c->to);
	strand_json_hex_field(x->j, "call_site", c->from);
	strand_json_end_object(x->j);
	strand_json_end_object(x->j);
}

static void pf_ret(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	(void)r;
	struct xctx *x = ud;
	struct xthread *t = xth(x, c->tid);
	if (!t)
		return;
	/* pop to the frame whose return address this ret jumps to */
	uint32_t k = t->n;
	while (k > 0 && t->f[k - 1].ret_addr != c->to)
		k--;
	if (k == 0)
		return; /* matches no frame: a return from before the range */
	while (t->n >= k) {
		struct xframe f = t->f[--t->n];
		if (f.emitted)
			pf_end(x, t, &f, c->position + 1);
		if (t->n == 0)
			break;
	}
}

static void pf_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	(void)r;
	struct xctx *x = ud;
	if (!in_range(x, rec->position))
		return;
	char nb[48], buf[600];
	switch (rec->type) {
	case STRAND_REC_SYSCALL: {
		if (!after) {
			syscall_object(x, rec);
			return;
		}
		if (!take_event(x))
			return;
		const struct strand_syscall *sc = &rec->u.syscall;
		bool failed = strand_syscall_failed(x->info->abi, x->info->arch, sc->result);
		const char *name = syscall_name(x, sc->number, nb, sizeof nb);
		pf_event_head(x, "i", name, failed ? "failure" : "syscall", rec->position, rec->tid);
		strand_json_string_field(x->j, "s", "t");
		strand_json_name(x->j, "args");
		strand_json_start_object(x->j);
		strand_json_uint_field(x->j, "number", sc->number);
		strand_json_hex_field(x->j, "result", sc->result);
		strand_json_string_field(x->j, "status",
					 strand_syscall_result_str(x->info->abi, x->info->arch,
								   sc->result, buf, sizeof buf));
		strand_json_bool_field(x->j, "failed", failed);
		if (x->object[0])
			strand_json_string_field(x->j, "object", x->object);
		strand_json_name(x->j, "arguments");
		strand_json_start_array(x->j);
		for (uint32_t i = 0; i < sc->nargs && i < 8; i++)
			strand_json_hex(x->j, sc->args[i]);
		strand_json_end_array(x->j);
		strand_json_end_object(x->j);
		strand_json_end_object(x->j);
		break;
	}
	case STRAND_REC_OUTPUT:
		if (after || !take_event(x))
			return;
		pf_event_head(x, "i", rec->u.output.stream == 3 ? "debug output"
				      : rec->u.output.stream == 2 ? "stderr" : "stdout",
			      "output", rec->position, rec->tid);
		strand_json_string_field(x->j, "s", "t");
		strand_json_name(x->j, "args");
		strand_json_start_object(x->j);
		strand_json_name(x->j, "text");
		strand_json_string_len(x->j, (const char *)rec->u.output.data,
				       rec->u.output.len > 4096 ? 4096 : rec->u.output.len);
		strand_json_end_object(x->j);
		strand_json_end_object(x->j);
		break;
	case STRAND_REC_EXCEPTION:
		if (after || !take_event(x))
			return;
		pf_event_head(x, "i", rec->u.exception.kind == STRAND_EXC_SIGNAL ? "signal" : "exception",
			      "failure", rec->position, rec->tid);
		strand_json_string_field(x->j, "s", "t");
		strand_json_name(x->j, "args");
		strand_json_start_object(x->j);
		strand_json_hex_field(x->j, "code", rec->u.exception.code);
		strand_json_hex_field(x->j, "pc", rec->u.exception.pc);
		strand_json_hex_field(x->j, "address", rec->u.exception.addr);
		strand_json_bool_field(x->j, "fatal", rec->u.exception.flags & STRAND_EXC_F_FATAL);
		strand_json_end_object(x->j);
		strand_json_end_object(x->j);
		break;
	case STRAND_REC_PROCESS_EXIT:
		if (after || !take_event(x))
			return;
		pf_event_head(x, "i", "process exit", "exit", rec->position, rec->tid);
		strand_json_string_field(x->j, "s", "p");
		strand_json_name(x->j, "args");
		strand_json_start_object(x->j);
		strand_json_hex_field(x->j, "code", rec->u.exit_code);
		strand_json_end_object(x->j);
		strand_json_end_object(x->j);
		break;
	default:
		break;
	}
}

/* The errorflow chain of the first symptom that reaches a failed kernel
 * call (else of the first symptom) as flow events. */
static strand_status pf_chain(const char *trace, struct xctx *x, strand_error *err)
{
	struct strand_analysis *a = NULL;
	struct strand_result *res = strand_result_new();
	struct strand_analysis_options ao = { .progress = x->opt->progress,
					      .progress_ud = x->opt->progress_ud };
	strand_status st = res ? strand_analysis_new(trace, &ao, &a, err)
			       : strand_error_set(err, STRAND_ERR_NOMEM, "export: out of memory");
	if (st >= 0)
		st = strand_analysis_add_spec(a, "errorflow", err);
	if (st >= 0)
		st = strand_analysis_run(a, res, err);
	if (st < 0)
		goto out;
	const struct strand_rnode *sy = strand_rnode_get(strand_result_root(res), "errorflow.symptoms");
	const struct strand_rnode *best = NULL;
	for (const struct strand_rnode *s = sy ? sy->first : NULL; s; s = s->next) {
		const struct strand_rnode *o = strand_rnode_get(s, "chain.origin");
		if (!best && strand_rnode_get(s, "chain.steps"))
			best = s;
		if (o && strand_rnode_u64(o, "failed", 0)) {
			best = s;
			break;
		}
	}
	const struct strand_rnode *steps = strand_rnode_get(best, "chain.steps");
	uint32_t i = 0, n = 0;
	/* the steps a viewer can draw: inside a slice of their thread */
#define DRAWN(s) (in_range(x, strand_rnode_u64(s, "position", 0)) &&                     \
		  pf_in_slice(x, (uint32_t)strand_rnode_u64(s, "tid", 0), strand_rnode_u64(s, "position", 0)))
	for (const struct strand_rnode *s = steps ? steps->first : NULL; s; s = s->next)
		n += DRAWN(s);
	for (const struct strand_rnode *s = steps ? steps->first : NULL; s && n >= 2; s = s->next) {
		uint64_t pos = strand_rnode_u64(s, "position", 0);
		if (!DRAWN(s))
			continue;
		const char *ph = i == 0 ? "s" : i + 1 == n ? "f" : "t";
		pf_event_head(x, ph, "causal chain", "causal_chain", pos,
			      (uint32_t)strand_rnode_u64(s, "tid", 0));
		strand_json_uint_field(x->j, "id", 1);
		if (i + 1 == n)
			strand_json_string_field(x->j, "bp", "e");
		strand_json_name(x->j, "args");
		strand_json_start_object(x->j);
		strand_json_string_field(x->j, "where", strand_rnode_str(s, "where", "?"));
		const struct strand_rnode *v = strand_rnode_get(s, "value");
		if (v && v->kind == STRAND_R_HEX)
			strand_json_hex_field(x->j, "value", v->v.u);
		strand_json_end_object(x->j);
		strand_json_end_object(x->j);
		i++;
	}
#undef DRAWN
out:
	strand_analysis_free(a);
	strand_result_free(res);
	return st;
}

static strand_status export_perfetto(const char *trace, const struct strand_export_options *opt,
				     FILE *out, strand_error *err)
{
	struct xctx x = { .out = out };
	struct strand_result *act = strand_result_new();
	strand_status st = act ? strand_activity_scan(trace, strand_result_root(act), err)
			       : strand_error_set(err, STRAND_ERR_NOMEM, "export: out of memory");
	if (st < 0)
		goto out;
	if ((st = open_range(trace, opt, &x, err)) < 0)
		goto out;
	x.j = strand_json_new(out, false);
	if (!x.j) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "export: out of memory");
		goto out;
	}
	strand_json_start_object(x.j);
	strand_json_string_field(x.j, "displayTimeUnit", "ns");
	strand_json_name(x.j, "otherData");
	strand_json_start_object(x.j);
	const char *base = strrchr(trace, '/');
	strand_json_string_field(x.j, "trace", base ? base + 1 : trace);
	strand_json_string_field(x.j, "time_unit", "1 us of ts = 1 instruction (trace position)");
	strand_json_uint_field(x.j, "from", x.from);
	strand_json_uint_field(x.j, "to", x.to);
	strand_json_end_object(x.j);
	strand_json_name(x.j, "traceEvents");
	strand_json_start_array(x.j);
	/* metadata: process and thread names */
	strand_json_start_object(x.j);
	strand_json_string_field(x.j, "ph", "M");
	strand_json_string_field(x.j, "name", "process_name");
	strand_json_uint_field(x.j, "pid", 1);
	strand_json_uint_field(x.j, "tid", 0);
	strand_json_name(x.j, "args");
	strand_json_start_object(x.j);
	strand_json_string_field(x.j, "name", base ? base + 1 : trace);
	strand_json_end_object(x.j);
	strand_json_end_object(x.j);
	const struct strand_rnode *ths = strand_rnode_get(strand_result_root(act), "threads");
	for (const struct strand_rnode *t = ths ? ths->first : NULL; t; t = t->next) {
		char nm[96];
		const char *tn = strand_rnode_str(t, "name", "");
		snprintf(nm, sizeof nm, "%s%stid %" PRIu64, tn, tn[0] ? " " : "",
			 strand_rnode_u64(t, "tid", 0));
		strand_json_start_object(x.j);
		strand_json_string_field(x.j, "ph", "M");
		strand_json_string_field(x.j, "name", "thread_name");
		strand_json_uint_field(x.j, "pid", 1);
		strand_json_uint_field(x.j, "tid", strand_rnode_u64(t, "tid", 0));
		strand_json_name(x.j, "args");
		strand_json_start_object(x.j);
		strand_json_string_field(x.j, "name", nm);
		strand_json_end_object(x.j);
		strand_json_end_object(x.j);
	}
	strand_replay_on_call(x.r, pf_call, &x);
	strand_replay_on_ret(x.r, pf_ret, &x);
	strand_replay_on_event(x.r, pf_event, &x);
	if ((st = drive(&x, err)) < 0)
		goto out;
	/* close what is still open at the range's end, innermost first */
	for (uint32_t i = 0; i < x.nth; i++)
		while (x.th[i].n) {
			struct xframe f = x.th[i].f[--x.th[i].n];
			if (f.emitted)
				pf_end(&x, &x.th[i], &f, x.to);
		}
	if (!opt->no_chain && (st = pf_chain(trace, &x, err)) < 0)
		goto out;
	strand_json_end_array(x.j);
	strand_json_bool_field(x.j, "truncated", x.truncated);
	strand_json_end_object(x.j);
out:
	strand_json_free(x.j);
	for (uint32_t i = 0; i < x.nth; i++) {
		free(x.th[i].f);
		free(x.th[i].sl);
	}
	free(x.th);
	strand_replay_close(x.r);
	strand_systable_free(x.systable);
	strand_result_free(act);
	return st;
}

/* -------------------------------------------------------------- tenet */

static const char *const regs32[] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
static const char *const regs64[] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
				      "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

static void tn_append(struct xctx *x, const char *s, size_t n)
{
	if (x->line_len + n + 1 > x->line_cap) {
		size_t cap = (x->line_len + n + 1) * 2;
		char *b = realloc(x->line, cap);
		if (!b)
			return;
		x->line = b;
		x->line_cap = cap;
	}
	memcpy(x->line + x->line_len, s, n);
	x->line_len += n;
	x->line[x->line_len] = 0;
}

static void tn_mem(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		   uint64_t addr, uint32_t size, bool is_write, uint64_t value)
{
	(void)pc;
	struct xctx *x = ud;
	if (!x->tenet_started || !in_range(x, position) || strand_replay_thread(r) != x->tenet_tid)
		return;
	uint8_t bytes[64];
	uint32_t n = size > sizeof bytes ? (uint32_t)sizeof bytes : size;
	if (n <= 8)
		for (uint32_t i = 0; i < n; i++)
			bytes[i] = (uint8_t)(value >> (8 * i));
	else
		strand_replay_read(r, addr, bytes, n, NULL);
	char buf[200];
	int o = snprintf(buf, sizeof buf, ",%s=0x%" PRIx64 ":", is_write ? "mw" : "mr", addr);
	for (uint32_t i = 0; i < n && o + 3 < (int)sizeof buf; i++)
		o += snprintf(buf + o, sizeof buf - (size_t)o, "%02x", bytes[i]);
	tn_append(x, buf, (size_t)o);
}

static void tn_insn(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		    uint32_t size)
{
	(void)size;
	struct xctx *x = ud;
	if (!in_range(x, position))
		return;
	uint32_t tid = strand_replay_thread(r);
	if (!x->tenet_started) {
		if (x->opt->tid && tid != x->opt->tid)
			return;
		x->tenet_tid = tid;
	} else if (tid != x->tenet_tid) {
		return;
	}
	if (x->insns >= x->max) {
		x->truncated = true;
		return;
	}
	struct strand_cpu cpu;
	strand_error err;
	if (strand_replay_cpu(r, &cpu, &err) < 0)
		return;
	bool is64 = x->info->arch == STRAND_ARCH_X86_64;
	const char *const *names = is64 ? regs64 : regs32;
	uint32_t nregs = is64 ? 16 : 8;
	uint64_t mask = is64 ? ~0ull : 0xffffffffull;
	/* one line: what the previous instruction changed (registers, then
	 * this pc), then the memory it read and wrote */
	bool first = true;
	for (uint32_t i = 0; i < nregs; i++) {
		uint64_t v = cpu.gpr[i] & mask;
		if (x->tenet_started && v == x->tenet_regs[i])
			continue;
		fprintf(x->out, "%s%s=0x%" PRIx64, first ? "" : ",", names[i], v);
		x->tenet_regs[i] = v;
		first = false;
	}
	fprintf(x->out, "%s%s=0x%" PRIx64, first ? "" : ",", is64 ? "rip" : "eip", pc & mask);
	if (x->tenet_started && x->line_len)
		fputs(x->line, x->out);
	fputc('\n', x->out);
	x->line_len = 0;
	x->tenet_started = true;
	x->insns++;
}

static strand_status export_tenet(const char *trace, const struct strand_export_options *opt,
				  FILE *out, strand_error *err)
{
	struct xctx x = { .out = out };
	strand_status st = open_range(trace, opt, &x, err);
	if (st < 0)
		goto out;
	if (x.info->arch != STRAND_ARCH_X86_32 && x.info->arch != STRAND_ARCH_X86_64) {
		st = strand_error_set(err, STRAND_ERR_UNSUPPORTED, "export tenet: arch=%s",
				      strand_arch_str(x.info->arch));
		goto out;
	}
	strand_replay_on_insn(x.r, tn_insn, &x);
	strand_replay_on_mem(x.r, tn_mem, STRAND_WATCH_READ | STRAND_WATCH_WRITE, &x);
	if ((st = drive(&x, err)) < 0)
		goto out;
	if (!x.tenet_started && opt->tid) {
		st = strand_error_set(err, STRAND_ERR_INVALID,
				      "export tenet: thread tid=%" PRIu32 " runs no instruction in "
				      "%" PRIu64 "..%" PRIu64, opt->tid, x.from, x.to);
	}
out:
	free(x.line);
	strand_replay_close(x.r);
	strand_systable_free(x.systable);
	return st;
}

/* -------------------------------------------------------------- jsonl */

static void jl_begin(struct xctx *x, const char *type, uint64_t pos, uint32_t tid)
{
	x->j = strand_json_new(x->out, false);
	if (!x->j)
		return;
	strand_json_start_object(x->j);
	strand_json_string_field(x->j, "type", type);
	strand_json_uint_field(x->j, "position", pos);
	strand_json_uint_field(x->j, "tid", tid);
}

static void jl_end(struct xctx *x)
{
	if (!x->j)
		return;
	strand_json_end_object(x->j);
	strand_json_free(x->j); /* ends the line */
	x->j = NULL;
}

static void jl_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	struct xctx *x = ud;
	if (!in_range(x, rec->position))
		return;
	char nb[48], buf[600];
	if (rec->type == STRAND_REC_SYSCALL && !after) {
		syscall_object(x, rec);
		return;
	}
	if (!after && rec->type != STRAND_REC_MODULE && rec->type != STRAND_REC_THREAD)
		return;
	if (after && (rec->type == STRAND_REC_MODULE || rec->type == STRAND_REC_THREAD))
		return;
	switch (rec->type) {
	case STRAND_REC_SYSCALL: {
		if (!take_event(x))
			return;
		const struct strand_syscall *sc = &rec->u.syscall;
		jl_begin(x, "syscall", rec->position, rec->tid);
		if (!x->j)
			return;
		strand_json_uint_field(x->j, "number", sc->number);
		strand_json_string_field(x->j, "name", syscall_name(x, sc->number, nb, sizeof nb));
		strand_json_name(x->j, "args");
		strand_json_start_array(x->j);
		for (uint32_t i = 0; i < sc->nargs && i < 8; i++)
			strand_json_hex(x->j, sc->args[i]);
		strand_json_end_array(x->j);
		strand_json_hex_field(x->j, "result", sc->result);
		strand_json_string_field(x->j, "status",
					 strand_syscall_result_str(x->info->abi, x->info->arch,
								   sc->result, buf, sizeof buf));
		strand_json_bool_field(x->j, "failed",
				       strand_syscall_failed(x->info->abi, x->info->arch, sc->result));
		if (x->object[0])
			strand_json_string_field(x->j, "object", x->object);
		char sym[256];
		strand_replay_symbolize(r, sc->pc, sym, sizeof sym);
		strand_json_string_field(x->j, "pc", sym);
		jl_end(x);
		break;
	}
	case STRAND_REC_OUTPUT:
		if (!take_event(x))
			return;
		jl_begin(x, "output", rec->position, rec->tid);
		if (!x->j)
			return;
		strand_json_uint_field(x->j, "stream", rec->u.output.stream);
		strand_json_name(x->j, "text");
		strand_json_string_len(x->j, (const char *)rec->u.output.data, rec->u.output.len);
		jl_end(x);
		break;
	case STRAND_REC_MODULE:
		if (!take_event(x))
			return;
		jl_begin(x, "module", rec->position, rec->tid);
		if (!x->j)
			return;
		strand_json_string_field(x->j, "name", rec->u.module.name);
		strand_json_string_field(x->j, "path", rec->u.module.path);
		strand_json_hex_field(x->j, "base", rec->u.module.base);
		strand_json_hex_field(x->j, "size", rec->u.module.size);
		strand_json_uint_field(x->j, "symbols", rec->u.module.nsyms);
		jl_end(x);
		break;
	case STRAND_REC_MODULE_UNLOAD:
		if (!take_event(x))
			return;
		jl_begin(x, "module_unload", rec->position, rec->tid);
		if (x->j)
			strand_json_uint_field(x->j, "module_id", rec->u.module_id);
		jl_end(x);
		break;
	case STRAND_REC_THREAD:
		if (!take_event(x))
			return;
		jl_begin(x, "thread", rec->position, rec->tid);
		if (x->j)
			strand_json_string_field(x->j, "name", rec->u.thread.name ? rec->u.thread.name : "");
		jl_end(x);
		break;
	case STRAND_REC_THREAD_SWITCH:
		if (!take_event(x))
			return;
		jl_begin(x, "switch", rec->position, rec->tid);
		jl_end(x);
		break;
	case STRAND_REC_THREAD_EXIT:
	case STRAND_REC_PROCESS_EXIT:
		if (!take_event(x))
			return;
		jl_begin(x, rec->type == STRAND_REC_THREAD_EXIT ? "thread_exit" : "process_exit",
			 rec->position, rec->tid);
		if (x->j)
			strand_json_hex_field(x->j, "code", rec->u.exit_code);
		jl_end(x);
		break;
	case STRAND_REC_EXCEPTION:
		if (!take_event(x))
			return;
		jl_begin(x, "exception", rec->position, rec->tid);
		if (!x->j)
			return;
		strand_json_string_field(x->j, "kind",
					 rec->u.exception.kind == STRAND_EXC_SIGNAL ? "signal" : "exception");
		strand_json_hex_field(x->j, "code", rec->u.exception.code);
		strand_json_hex_field(x->j, "pc", rec->u.exception.pc);
		strand_json_hex_field(x->j, "address", rec->u.exception.addr);
		strand_json_bool_field(x->j, "fatal", rec->u.exception.flags & STRAND_EXC_F_FATAL);
		jl_end(x);
		break;
	default:
		break;
	}
}

/* The threads and modules of the initial snapshot (the replay applies
 * them at open, before any observer), from the records. */
static strand_status jl_snapshot(const char *trace, struct xctx *x, strand_error *err)
{
	struct strand_reader *rd = NULL;
	strand_status st = strand_reader_open(trace, &rd, err);
	const struct strand_record *rec;
	while (st >= 0 && (st = strand_reader_next(rd, &rec, err)) == STRAND_OK) {
		if (rec->type == STRAND_REC_SNAPSHOT_END)
			break;
		if (rec->type != STRAND_REC_THREAD && rec->type != STRAND_REC_MODULE)
			continue;
		if (!take_event(x))
			break;
		jl_begin(x, rec->type == STRAND_REC_THREAD ? "thread" : "module", 0, rec->tid);
		if (!x->j)
			break;
		if (rec->type == STRAND_REC_THREAD) {
			strand_json_string_field(x->j, "name", rec->u.thread.name ? rec->u.thread.name : "");
		} else {
			strand_json_string_field(x->j, "name", rec->u.module.name);
			strand_json_string_field(x->j, "path", rec->u.module.path);
			strand_json_hex_field(x->j, "base", rec->u.module.base);
			strand_json_hex_field(x->j, "size", rec->u.module.size);
			strand_json_uint_field(x->j, "symbols", rec->u.module.nsyms);
		}
		jl_end(x);
	}
	strand_reader_close(rd);
	return st == STRAND_END ? STRAND_OK : st;
}

static strand_status export_jsonl(const char *trace, const struct strand_export_options *opt,
				  FILE *out, strand_error *err)
{
	struct xctx x = { .out = out };
	strand_status st = open_range(trace, opt, &x, err);
	if (st >= 0 && x.from == 0)
		st = jl_snapshot(trace, &x, err);
	if (st >= 0) {
		strand_replay_on_event(x.r, jl_event, &x);
		st = drive(&x, err);
	}
	strand_json_free(x.j);
	strand_replay_close(x.r);
	strand_systable_free(x.systable);
	return st;
}

strand_status strand_export(const char *trace, strand_export_format fmt,
			    const struct strand_export_options *opt, FILE *out, strand_error *err)
{
	struct strand_export_options def = { .to = UINT64_MAX };
	if (!opt)
		opt = &def;
	strand_status st;
	switch (fmt) {
	case STRAND_EXPORT_PERFETTO: st = export_perfetto(trace, opt, out, err); break;
	case STRAND_EXPORT_TENET: st = export_tenet(trace, opt, out, err); break;
	case STRAND_EXPORT_JSONL: st = export_jsonl(trace, opt, out, err); break;
	default:
		return strand_error_set(err, STRAND_ERR_INVALID, "export: unknown format=%d", (int)fmt);
	}
	if (st >= 0 && ferror(out))
		st = strand_error_set(err, STRAND_ERR_IO, "export: write failed");
	return st;
}
