#define _GNU_SOURCE /* asprintf */
/*
 * The query engine over a real strand_replay: the target operations, the
 * event index, and the whole-trace queries.
 *
 * Whole-trace queries never move the session's handle: each opens its own
 * pass on the trace file (strand_replay_open), subscribes observers,
 * drives that handle forward and closes it.  So a user who runs `memory`
 * or `origin` stays where they were.
 *
 *   bt       strand_callstack_at (analysis.h): the shadow stack at the
 *            session's position, built by a pass from the start
 *   calls    a pass with a block observer at the function's entry and a
 *            return observer for the matching ret
 *   memory   a pass with a memory observer on the range
 *   find     a pass comparing registers before each instruction and
 *            memory writes against the value
 *   origin   the data-flow engine (strand/dataflow.h) on the session's
 *            own handle: bounded windows replayed before the position,
 *            the handle put back where it was
 *   report   strand_report_build (analysis.h), rendered as text and
 *            embedded as JSON
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/grow.h"
#include "query/query_int.h"
#include "strand/analysis.h"
#include "strand/dataflow.h"
#include "strand/index.h"

/* The session's target state (q->ext_ud). */
struct rtarget {
	struct strand_replay *r;
	bool owned;         /* close r with the session */
	char *path;         /* trace file for passes and the index; may be NULL */
	char **objects;     /* per event index: decoded syscall object or NULL;
			       NULL until the first syscall_object() */
	uint64_t nobjects;
	bool *objdone;      /* with the index: per event index, decoded already
			       (objects are then decoded one by one on objpass) */
	struct strand_replay *objpass; /* owned: that pass, with the index's
					  checkpoints; NULL without an index */
	struct strand_dataflow *df; /* owned: origin's engine over r, or NULL */
	struct strand_index *ix;    /* owned: the sidecar origin skips history with,
				       NULL if none (opened with df) */
	uint64_t max_instructions;  /* budgets of extra passes (0 = defaults) */
	uint64_t max_memory;
	struct strand_systable *systable; /* owned: the trace's NOTE syscall-table, NULL if none */
	char *root;         /* the trace the session opened: root of its process
			       tree (owned); NULL without a path */
	char *tmp;          /* `path` is this temporary extracted child trace,
			       removed with the session; NULL for the root */
	uint32_t pid;       /* the process shown; 0 = the root */
};

#define R(t) ((struct strand_replay *)(t))

/* ===================================================================== */
/* Target operations: replay.h, one to one                                */
/* ===================================================================== */

static uint64_t t_position(void *t) { return strand_replay_position(R(t)); }
static uint64_t t_end(void *t) { return strand_replay_end(R(t)); }
static strand_status t_seek(void *t, uint64_t pos, strand_error *err)
{
	return strand_replay_seek(R(t), pos, err);
}
static strand_status t_step(void *t, int64_t n, strand_error *err)
{
	return strand_replay_step(R(t), n, err);
}
static strand_status t_over(void *t, strand_dir d, strand_error *err)
{
	return strand_replay_step_over(R(t), d, err);
}
static strand_status t_out(void *t, strand_dir d, strand_error *err)
{
	return strand_replay_step_out(R(t), d, err);
}
static strand_status t_run(void *t, strand_dir d, struct strand_stop_hit *hit,
			   strand_error *err)
{
	return strand_replay_run(R(t), d, hit, err);
}
static strand_status t_stop_add(void *t, const struct strand_stop *s, uint32_t *id,
				strand_error *err)
{
	return strand_replay_stop_add(R(t), s, id, err);
}
static strand_status t_stop_del(void *t, uint32_t id)
{
	return strand_replay_stop_del(R(t), id);
}
static const struct strand_stop *t_stops(void *t, uint32_t *n)
{
	return strand_replay_stops(R(t), n);
}
static uint32_t t_thread(void *t) { return strand_replay_thread(R(t)); }
static strand_status t_threads(void *t, uint32_t *tids, uint32_t max, uint32_t *n)
{
	return strand_replay_threads(R(t), tids, max, n);
}
static strand_status t_cpu(void *t, struct strand_cpu *out, strand_error *err)
{
	return strand_replay_cpu(R(t), out, err);
}
static strand_status t_reg(void *t, const char *name, uint64_t *v)
{
	return strand_replay_reg(R(t), name, v);
}
static const char *const *t_reg_names(void *t) { return strand_replay_reg_names(R(t)); }
static size_t t_read(void *t, uint64_t addr, void *buf, size_t len, uint8_t *valid)
{
	return strand_replay_read(R(t), addr, buf, len, valid);
}
static const struct strand_module *const *t_modules(void *t, uint32_t *n)
{
	return strand_replay_modules(R(t), n);
}
static strand_status t_symbolize(void *t, uint64_t addr, char *buf, size_t len)
{
	return strand_replay_symbolize(R(t), addr, buf, len);
}
static strand_status t_lookup(void *t, const char *name, uint64_t *addr)
{
	return strand_replay_lookup(R(t), name, addr);
}
static strand_status t_disas(void *t, uint64_t addr, char *buf, size_t len,
			     uint32_t *ilen)
{
	return strand_replay_disas(R(t), addr, buf, len, ilen);
}

static const struct qtarget_ops replay_ops = {
	t_position, t_end, t_seek, t_step, t_over, t_out, t_run, t_stop_add,
	t_stop_del, t_stops, t_thread, t_threads, t_cpu, t_reg, t_reg_names, t_read,
	t_modules, t_symbolize, t_lookup, t_disas,
};

/* ===================================================================== */
/* The event index                                                        */
/* ===================================================================== */

/* The query engine's events from the index's (same fields; the query's
 * carry their own number).  *out malloc'd, NULL when n is 0; false when
 * out of memory. */
static bool events_from_index(const struct strand_index_event *ie, uint64_t n,
			      struct strand_query_event **out)
{
	*out = NULL;
	if (!n)
		return true;
	struct strand_query_event *ev = calloc(n, sizeof *ev);
	if (!ev)
		return false;
	for (uint64_t i = 0; i < n; i++) {
		ev[i].index = i;
		ev[i].position = ie[i].position;
		ev[i].type = ie[i].type;
		ev[i].tid = ie[i].tid;
		ev[i].pc = ie[i].pc;
		ev[i].number = ie[i].number;
		ev[i].result = ie[i].result;
		memcpy(ev[i].args, ie[i].args, sizeof ev[i].args);
		ev[i].failed = ie[i].failed;
	}
	*out = ev;
	return true;
}

/* The event list: from the trace's sidecar index (strand/index.h) when it
 * is there and up to date, else read from the trace (no replay either
 * way). */
static strand_status build_index(const char *path, struct strand_query_event **out,
				 uint64_t *nout, strand_error *err)
{
	struct strand_index *ix = NULL;
	struct strand_index_event *read = NULL;
	const struct strand_index_event *ie;
	uint64_t n = 0;
	strand_status st = STRAND_OK;
	if (strand_index_open(path, NULL, &ix, NULL) == STRAND_OK) {
		ie = strand_index_events(ix, &n);
	} else {
		if ((st = strand_index_read_events(path, &read, &n, err)) < 0)
			goto out;
		ie = read;
	}
	if (!events_from_index(ie, n, out))
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot list events: events=%" PRIu64, n);
	else
		*nout = n;
out:
	strand_index_close(ix);
	free(read);
	return st;
}

/* ===================================================================== */
/* Passes                                                                 */
/* ===================================================================== */

static struct rtarget *RT(struct strand_query *q) { return q->ext_ud; }

static strand_status open_pass(struct strand_query *q, struct strand_replay **out,
			       strand_error *err)
{
	if (!RT(q)->path)
		return strand_error_set(err, STRAND_ERR_UNSUPPORTED,
					"needs the trace file (session opened without a path)");
	struct strand_replay_options o = { 0 };
	o.max_instructions = RT(q)->max_instructions;
	o.max_memory = RT(q)->max_memory;
	strand_status st = strand_replay_open(RT(q)->path, &o, out, err);
	if (st < 0)
		strand_error_wrap(err, st, "cannot open a pass on %s", RT(q)->path);
	return st;
}

/* Drive pass `p` forward to `to` (its observers see every instruction on
 * the way), in slices of QSLICE instructions when the session is
 * interruptible.  *intr is set when it stopped for an interrupt, where p
 * stands. */
static strand_status drive(struct strand_query *q, struct strand_replay *p, uint64_t to,
			   bool *intr, strand_error *err)
{
	if (!qinterruptible(q))
		return strand_replay_seek(p, to, err);
	for (;;) {
		uint64_t pos = strand_replay_position(p);
		uint64_t next = to > pos && to - pos > QSLICE ? pos + QSLICE : to;
		strand_status st = strand_replay_seek(p, next, err);
		if (st < 0 || next == to)
			return st;
		if (qinterrupted(q)) {
			*intr = true;
			return STRAND_OK;
		}
	}
}

/* The note of a pass stopped by an interrupt: text and JSON. */
static void say_pass_interrupted(struct qout *o, struct strand_replay *p)
{
	uint64_t pos = strand_replay_position(p);
	qtext(o, "interrupted at position %" PRIu64 " of %" PRIu64
	      ": what is shown comes from before it\n", pos, strand_replay_end(p));
	strand_json_bool_field(o->j, "interrupted", true);
	strand_json_uint_field(o->j, "interrupted_at", pos);
}

/* ===================================================================== */
/* bt                                                                     */
/* ===================================================================== */

static strand_status ext_bt(struct strand_query *q, struct qargs *a, struct qout *o,
			    strand_error *err)
{
	if (!RT(q)->path)
		return strand_error_set(err, STRAND_ERR_UNSUPPORTED,
					"needs the trace file (session opened without a path)");
	struct strand_stack *s = NULL;
	uint64_t pos = strand_replay_position(RT(q)->r);
	uint32_t tid = strand_replay_thread(RT(q)->r);
	strand_status st = strand_callstack_at(RT(q)->path, pos, tid, &s, err);
	if (st < 0)
		return st;
	strand_json_string_field(o->j, "method", "shadow-stack");
	strand_json_uint_field(o->j, "tid", s->tid);
	strand_json_name(o->j, "frames");
	strand_json_start_array(o->j);
	for (uint32_t i = 0; i < s->nframes; i++) {
		const struct strand_frame *f = &s->frames[i];
		char fn[256] = "";
		if (f->func)
			qsym(q, f->func, fn, sizeof fn);
		if (i == 0 || !f->call_pos)
			qtext(o, "#%-2" PRIu32 " 0x%08" PRIx64 " %s\n", i, f->pc, f->symbol);
		else
			qtext(o, "#%-2" PRIu32 " 0x%08" PRIx64 " %-40s (call at position %" PRIu64 ")\n",
			      i, f->pc, f->symbol, f->call_pos);
		strand_json_start_object(o->j);
		strand_json_uint_field(o->j, "frame", i);
		strand_json_hex_field(o->j, "pc", f->pc);
		strand_json_string_field(o->j, "symbol", f->symbol);
		if (f->func)
			strand_json_string_field(o->j, "function", fn);
		strand_json_uint_field(o->j, "call_position", f->call_pos);
		strand_json_end_object(o->j);
	}
	strand_json_end_array(o->j);
	if (s->fp_disagree_at >= 0) {
		qtext(o, "note: the frame-pointer chain disagrees from frame %" PRId32 ": %s\n",
		      s->fp_disagree_at, s->fp_note);
		strand_json_int_field(o->j, "fp_disagree_at", s->fp_disagree_at);
		strand_json_string_field(o->j, "fp_note", s->fp_note);
	}
	strand_stack_free(s);
	return STRAND_OK;
}

/* ===================================================================== */
/* calls                                                                  */
/* ===================================================================== */

struct call_row {
	uint32_t tid;
	uint64_t call_pos;   /* position of the function's first instruction */
	uint64_t ret_pos;    /* position after its ret; 0 while open */
	uint64_t ret_addr;
	uint64_t sp;         /* stack pointer at entry */
	uint64_t args[4];
	uint64_t retval;
	char caller[160];
};

struct calls_state {
	struct strand_query *q;
	uint64_t func;
	struct call_row *rows;   /* the first max_rows calls */
	size_t n, cap;
	uint64_t more;           /* calls after those, counted only */
	bool nomem;
	/* rows not yet returned, oldest first, and a 4096-bit filter of
	 * their return addresses: most blocks are rejected by one bit test */
	uint64_t *open;
	size_t nopen, capopen;
	uint64_t open_bits[64];
};

static unsigned ret_bit(uint64_t addr)
{
	return (unsigned)((addr * 0x9E3779B97F4A7C15ull) >> 52);
}

static uint64_t read_ptr(struct strand_replay *r, uint64_t addr, unsigned ps)
{
	uint8_t b[8] = { 0 };
	strand_replay_read(r, addr, b, ps, NULL);
	uint64_t v = 0;
	for (unsigned i = 0; i < ps; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/* A block at an open call's return address, in its thread, with the stack
 * above the entry's: that call returned (found without call/ret
 * observers, so jumps into the function and tail calls count too). */
static void calls_returned(struct calls_state *cs, struct strand_replay *r,
			   uint64_t position, uint64_t pc)
{
	unsigned b = ret_bit(pc);
	if (!cs->nopen || !(cs->open_bits[b / 64] & (1ull << (b % 64))))
		return;
	uint64_t sp = 0;
	strand_replay_reg(r, cs->q->ptr_size == 4 ? "esp" : "rsp", &sp);
	uint32_t tid = strand_replay_thread(r);
	for (uint64_t k = cs->nopen; k-- > 0;) {
		struct call_row *c = &cs->rows[cs->open[k]];
		if (c->tid != tid || c->ret_addr != pc || sp <= c->sp)
			continue;
		c->ret_pos = position;
		strand_replay_reg(r, cs->q->ptr_size == 4 ? "eax" : "rax", &c->retval);
		memmove(cs->open + k, cs->open + k + 1, (cs->nopen - k - 1) * sizeof *cs->open);
		if (!--cs->nopen)
			memset(cs->open_bits, 0, sizeof cs->open_bits);
		break;
	}
}

static void calls_block(struct strand_replay *r, void *ud, uint64_t position,
			uint64_t pc, uint32_t size)
{
	struct calls_state *cs = ud;
	if (cs->n && pc != cs->func)
		calls_returned(cs, r, position, pc);
	if (pc != cs->func)
		return;
	if (cs->n >= cs->q->max_rows) {
		cs->more++;
		return;
	}
	if (!STRAND_GROW(cs->rows, cs->cap, cs->n, 1) ||
	    !STRAND_GROW(cs->open, cs->capopen, cs->nopen, 1)) {
		cs->nomem = true;
		return;
	}
	cs->open[cs->nopen++] = cs->n;
	struct call_row *c = &cs->rows[cs->n++];
	memset(c, 0, sizeof *c);
	unsigned ps = cs->q->ptr_size;
	uint64_t sp = 0;
	strand_replay_reg(r, ps == 4 ? "esp" : "rsp", &sp);
	c->tid = strand_replay_thread(r);
	c->call_pos = position;
	c->sp = sp;
	c->ret_addr = read_ptr(r, sp, ps);
	unsigned b = ret_bit(c->ret_addr);
	cs->open_bits[b / 64] |= 1ull << (b % 64);
	if (ps == 4) {
		for (int k = 0; k < 4; k++)
			c->args[k] = read_ptr(r, sp + 4 + 4 * (uint64_t)k, 4);
	} else {
		static const char *const win[] = { "rcx", "rdx", "r8", "r9" };
		static const char *const sysv[] = { "rdi", "rsi", "rdx", "rcx" };
		for (int k = 0; k < 4; k++)
			strand_replay_reg(r, cs->q->abi == STRAND_ABI_WINDOWS_NT ? win[k]
										  : sysv[k],
					  &c->args[k]);
	}
	/* the call site: the instruction before the return address */
	strand_replay_symbolize(r, c->ret_addr, c->caller, sizeof c->caller);
}

/* See qext.describe. */
static void describe(struct strand_query *q, uint64_t v, bool syscall, char *buf,
		     size_t len)
{
	buf[0] = '\0';
	if (syscall) {
		if (strand_syscall_failed(q->abi, q->arch, v))
			strand_syscall_result_str(q->abi, q->arch, v, buf, len);
		return;
	}
	if (v < 0x80000000u || v > 0xffffffffu)
		return;
	unsigned kind = strand_code_guess(v);
	if (kind)
		strand_code_describe(kind, v, buf, len);
}

/* Segments a call still open at its segment's end is followed into. */
#define CALLS_MAX_FOLLOW 16u

/* calls with the trace's sidecar index: only the segments holding calls
 * to the function are replayed, each from its checkpoint, until max_rows
 * rows are listed (a call still open at its segment's end is followed
 * into the next segments); the count comes from the index when segments
 * are left unreplayed.  *used false: no index, nothing done. */
static strand_status calls_by_index(struct strand_query *q, struct calls_state *cs,
				    struct strand_replay *p, bool *used, uint64_t *count,
				    bool *intr, strand_error *err)
{
	struct strand_index *ix = NULL;
	*used = false;
	if (strand_index_open(RT(q)->path, NULL, &ix, NULL) != STRAND_OK)
		return STRAND_OK;
	strand_status st = strand_index_attach(ix, p, NULL);
	uint32_t nrows = 0, nseg = 0;
	uint64_t total = 0, upto = 0;
	const struct strand_index_calls *rows = strand_index_calls_to(ix, cs->func, &nrows, &total);
	const struct strand_index_segment *segs = strand_index_segments(ix, &nseg);
	if (st < 0 || !segs) {
		strand_index_close(ix);
		return STRAND_OK; /* replay the whole trace instead */
	}
	*used = true;
	bool all = true;
	for (uint32_t i = 0; i < nrows && st >= 0; i++) {
		if (cs->n >= q->max_rows || *intr) {
			all = false;
			break;
		}
		uint32_t si = rows[i].segment;
		if (si >= nseg || segs[si].end <= upto)
			continue;
		uint64_t start = segs[si].start > upto ? segs[si].start : upto;
		if ((st = strand_replay_seek(p, start, err)) < 0)
			break;
		struct strand_replay_frontier fr;
		strand_replay_observe_from_here(p, &fr);
		strand_obs_id id = strand_replay_on_block(p, calls_block, cs);
		uint64_t end = segs[si].end;
		st = drive(q, p, end, intr, err);
		for (uint32_t k = si + 1; st >= 0 && !*intr && cs->nopen && k < nseg &&
					  k <= si + CALLS_MAX_FOLLOW; k++)
			st = drive(q, p, end = segs[k].end, intr, err);
		strand_replay_observer_del(p, id);
		strand_replay_observe_restore(p, &fr);
		upto = end;
	}
	*count = all ? cs->n + cs->more : (total > cs->n ? total : cs->n);
	strand_index_close(ix);
	return st;
}

static strand_status ext_calls(struct strand_query *q, struct qargs *a, struct qout *o,
			       strand_error *err)
{
	struct calls_state cs = { .q = q };
	struct strand_replay *p = NULL;
	strand_status st = qeval(q, a->argv[1], &cs.func, err);
	if (st < 0)
		return st;
	char fsym[256];
	qsym(q, cs.func, fsym, sizeof fsym);
	if ((st = open_pass(q, &p, err)) < 0)
		return st;
	bool indexed = false, intr = false;
	uint64_t count = 0;
	if ((st = calls_by_index(q, &cs, p, &indexed, &count, &intr, err)) < 0)
		goto out;
	if (!indexed) {
		strand_replay_on_block(p, calls_block, &cs);
		st = drive(q, p, strand_replay_end(p), &intr, err);
		if (st < 0)
			goto out;
		count = cs.n + cs.more;
	}
	if (intr)
		say_pass_interrupted(o, p);
	if (cs.nomem) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "too many calls");
		goto out;
	}
	qtext(o, "calls of %s (0x%" PRIx64 "): %" PRIu64 "%s\n", fsym, cs.func,
	      count, count > cs.n ? " (first rows shown)" : "");
	qtext(o, "%-4s %-6s %-10s %-10s %-10s %-10s %-10s %-10s %-10s  %s\n", "#",
	      "tid", "call", "return", "arg0", "arg1", "arg2", "arg3", "result", "returns to");
	strand_json_hex_field(o->j, "function", cs.func);
	strand_json_string_field(o->j, "symbol", fsym);
	strand_json_uint_field(o->j, "count", count);
	strand_json_bool_field(o->j, "indexed", indexed);
	strand_json_name(o->j, "calls");
	strand_json_start_array(o->j);
	for (uint64_t i = 0; i < cs.n && i < q->max_rows; i++) {
		struct call_row *c = &cs.rows[i];
		char ret[24] = "-", res[24] = "-", desc[256] = "";
		if (c->ret_pos) {
			snprintf(ret, sizeof ret, "%" PRIu64, c->ret_pos);
			snprintf(res, sizeof res, "0x%08" PRIx64, c->retval);
			describe(q, c->retval, false, desc, sizeof desc);
		}
		qtext(o, "%-4" PRIu64 " %-6" PRIu32 " %-10" PRIu64 " %-10s 0x%08" PRIx64
		      " 0x%08" PRIx64 " 0x%08" PRIx64 " 0x%08" PRIx64 " %-10s  %s\n",
		      i, c->tid, c->call_pos, ret, c->args[0], c->args[1], c->args[2],
		      c->args[3], res, c->caller);
		if (desc[0])
			qtext(o, "     result: %s\n", desc);
		strand_json_start_object(o->j);
		strand_json_uint_field(o->j, "tid", c->tid);
		strand_json_uint_field(o->j, "call_position", c->call_pos);
		if (c->ret_pos)
			strand_json_uint_field(o->j, "return_position", c->ret_pos);
		else
			strand_json_name(o->j, "return_position"), strand_json_null(o->j);
		strand_json_name(o->j, "args");
		strand_json_start_array(o->j);
		for (int k = 0; k < 4; k++)
			strand_json_hex(o->j, c->args[k]);
		strand_json_end_array(o->j);
		if (c->ret_pos)
			strand_json_hex_field(o->j, "result", c->retval);
		else
			strand_json_name(o->j, "result"), strand_json_null(o->j);
		strand_json_string_field(o->j, "result_text", desc[0] ? desc : NULL);
		strand_json_hex_field(o->j, "return_address", c->ret_addr);
		strand_json_string_field(o->j, "return_symbol", c->caller);
		strand_json_end_object(o->j);
	}
	strand_json_end_array(o->j);
	strand_json_bool_field(o->j, "truncated", count > cs.n);
out:
	strand_replay_close(p);
	free(cs.rows);
	free(cs.open);
	return st;
}

/* ===================================================================== */
/* memory                                                                 */
/* ===================================================================== */

struct mem_state {
	struct strand_query *q;
	struct qout *o;
	uint64_t addr, len;
	uint64_t count, rows;
};

static void mem_row(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		    uint64_t addr, uint32_t size, bool is_write, uint64_t value)
{
	struct mem_state *ms = ud;
	if (addr >= ms->addr + ms->len || addr + size <= ms->addr)
		return;
	ms->count++;
	if (ms->rows >= ms->q->max_rows)
		return;
	ms->rows++;
	char sym[160], insn[96] = "";
	strand_replay_symbolize(r, pc, sym, sizeof sym);
	strand_replay_disas(r, pc, insn, sizeof insn, NULL);
	uint32_t tid = strand_replay_thread(r);
	qtext(ms->o, "%-10" PRIu64 " %-6" PRIu32 " %-5s 0x%08" PRIx64 " %-4" PRIu32
	      " 0x%-16" PRIx64 " %s: %s\n", position, tid, is_write ? "write" : "read",
	      addr, size, value, sym, insn);
	struct strand_json *j = ms->o->j;
	strand_json_start_object(j);
	strand_json_uint_field(j, "position", position);
	strand_json_uint_field(j, "tid", tid);
	strand_json_string_field(j, "access", is_write ? "write" : "read");
	strand_json_hex_field(j, "address", addr);
	strand_json_uint_field(j, "size", size);
	strand_json_hex_field(j, "value", value);
	strand_json_hex_field(j, "pc", pc);
	strand_json_string_field(j, "symbol", sym);
	strand_json_string_field(j, "instruction", insn);
	strand_json_end_object(j);
}

/* memory with the trace's sidecar index: only the segments where guest
 * instructions touched a page of the range (with the asked access) are
 * replayed, each from its checkpoint, in trace order, so rows and count
 * are those of a whole pass.  *used false: no usable index, nothing
 * done (the caller replays the whole trace). */
static strand_status memory_by_index(struct strand_query *q, struct strand_replay *p,
				     struct mem_state *ms, uint32_t access, bool *used,
				     bool *intr, strand_error *err)
{
	struct strand_index *ix = NULL;
	uint32_t *segs = NULL, nseg = 0;
	*used = false;
	if (strand_index_open(RT(q)->path, NULL, &ix, NULL) != STRAND_OK)
		return STRAND_OK;
	strand_status st = STRAND_OK;
	const struct strand_index_segment *sg = strand_index_segments(ix, &nseg);
	uint32_t n = strand_index_pages_accessed(ix, ms->addr, ms->len, access, NULL, 0);
	if (n == UINT32_MAX || !sg || strand_replay_position(p) != 0 ||
	    strand_index_attach(ix, p, NULL) != STRAND_OK)
		goto out;
	if (n && !(segs = malloc((size_t)n * sizeof *segs)))
		goto out;
	if (strand_index_pages_accessed(ix, ms->addr, ms->len, access, segs, n) != n)
		goto out;
	*used = true;
	for (uint32_t i = 0; i < n && !*intr; i++) {
		const struct strand_index_segment *g = &sg[segs[i]];
		if (g->end <= g->start)
			continue;
		if ((st = strand_replay_seek(p, g->start, err)) < 0)
			break;
		struct strand_replay_frontier fr;
		strand_replay_observe_from_here(p, &fr);
		strand_obs_id id = strand_replay_on_mem(p, mem_row, access, ms);
		if (!id) {
			strand_replay_observe_restore(p, &fr);
			st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot observe memory");
			break;
		}
		st = drive(q, p, g->end, intr, err);
		strand_replay_observer_del(p, id);
		strand_replay_observe_restore(p, &fr);
		if (st < 0)
			break;
	}
out:
	free(segs);
	strand_index_close(ix);
	return st;
}

static strand_status ext_memory(struct strand_query *q, struct qargs *a, struct qout *o,
				strand_error *err)
{
	struct mem_state ms = { .q = q, .o = o };
	uint32_t access = STRAND_WATCH_READ | STRAND_WATCH_WRITE;
	strand_status st;
	if ((st = qeval(q, a->argv[1], &ms.addr, err)) < 0 ||
	    (st = qeval(q, a->argv[2], &ms.len, err)) < 0)
		return st;
	if (ms.len == 0 || ms.len > (1u << 24))
		return strand_error_set(err, STRAND_ERR_INVALID,
					"length %" PRIu64 " out of range (1..16777216)", ms.len);
	if (a->argc > 3) {
		const char *m = a->argv[3];
		if (!strcmp(m, "r"))
			access = STRAND_WATCH_READ;
		else if (!strcmp(m, "w"))
			access = STRAND_WATCH_WRITE;
		else if (strcmp(m, "rw"))
			return strand_error_set(err, STRAND_ERR_INVALID,
						"access must be r, w or rw, not '%s'", m);
	}
	struct strand_replay *p = NULL;
	if ((st = open_pass(q, &p, err)) < 0)
		return st;
	qtext(o, "%-10s %-6s %-5s %-10s %-4s %-18s %s\n", "position", "tid", "op",
	      "address", "size", "value", "instruction");
	strand_json_hex_field(o->j, "address", ms.addr);
	strand_json_uint_field(o->j, "length", ms.len);
	strand_json_name(o->j, "accesses");
	strand_json_start_array(o->j);
	bool intr = false, indexed = false;
	if ((st = memory_by_index(q, p, &ms, access, &indexed, &intr, err)) >= 0 && !indexed) {
		strand_replay_on_mem(p, mem_row, access, &ms);
		st = drive(q, p, strand_replay_end(p), &intr, err);
	}
	strand_json_end_array(o->j);
	strand_json_bool_field(o->j, "indexed", indexed);
	if (intr)
		say_pass_interrupted(o, p);
	strand_json_uint_field(o->j, "count", ms.count);
	strand_json_bool_field(o->j, "truncated", ms.count > ms.rows);
	qtext(o, "%" PRIu64 " accesses%s\n", ms.count,
	      ms.count > ms.rows ? " (first rows shown)" : "");
	strand_replay_close(p);
	return st;
}

/* ===================================================================== */
/* find                                                                   */
/* ===================================================================== */

static const char *const gpr32[] = { "eax", "ecx", "edx", "ebx", "esp", "ebp",
				     "esi", "edi", NULL };
static const char *const gpr64[] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp",
				     "rsi", "rdi", "r8", "r9", "r10", "r11",
				     "r12", "r13", "r14", "r15", NULL };

/* The general registers find looks at, in gpr32/gpr64 order: the 32-bit
 * views when the session's pointers are 4 bytes.  Returns how many. */
static unsigned qgprs(const struct strand_query *q, struct strand_replay *r,
		      uint64_t regs[16])
{
	unsigned n = strand_replay_gprs(r, regs);
	if (q->ptr_size == 4) {
		n = n < 8 ? n : 8;
		for (unsigned i = 0; i < n; i++)
			regs[i] &= 0xffffffffu;
	}
	return n;
}

/* Per thread: which registers held the value at the last check, and the
 * thread's last instruction (registers are per thread: another thread's
 * eax holding the value is not a change of this one's). */
struct find_thread {
	uint32_t tid;
	bool seen;                   /* had[] is valid */
	bool had[16];
	uint64_t last_pos, last_pc;
};

#define FIND_MAX_THREADS 256

struct find_state {
	struct strand_query *q;
	struct qout *o;
	uint64_t value, mask;
	struct find_thread th[FIND_MAX_THREADS];
	uint32_t nth;
	uint64_t count, rows;
	uint64_t max;            /* rows to show */
};

static struct find_thread *find_thread(struct find_state *fs, uint32_t tid)
{
	for (uint32_t i = 0; i < fs->nth; i++)
		if (fs->th[i].tid == tid)
			return &fs->th[i];
	if (fs->nth == FIND_MAX_THREADS)
		return NULL;
	struct find_thread *t = &fs->th[fs->nth++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

/* One row of find's output: text and JSON. */
static void pf_emit(struct find_state *fs, uint64_t pos, uint32_t tid, const char *where,
		    uint64_t addr, uint64_t pc, const char *sym, const char *insn)
{
	if (where)
		qtext(fs->o, "%-10" PRIu64 " %-6" PRIu32 " %-18s %s: %s\n", pos, tid,
		      where, sym, insn);
	else
		qtext(fs->o, "%-10" PRIu64 " %-6" PRIu32 " [0x%08" PRIx64 "]       %s: %s\n",
		      pos, tid, addr, sym, insn);
	struct strand_json *j = fs->o->j;
	strand_json_start_object(j);
	strand_json_uint_field(j, "position", pos);
	strand_json_uint_field(j, "tid", tid);
	if (where)
		strand_json_string_field(j, "register", where);
	else
		strand_json_hex_field(j, "address", addr);
	strand_json_hex_field(j, "pc", pc);
	strand_json_string_field(j, "symbol", sym);
	strand_json_string_field(j, "instruction", insn);
	strand_json_end_object(j);
}

static void find_emit(struct find_state *fs, struct strand_replay *r, uint64_t pos,
		      uint64_t pc, const char *where, uint64_t addr)
{
	fs->count++;
	if (fs->rows >= fs->max)
		return;
	fs->rows++;
	char sym[160], insn[96] = "";
	strand_replay_symbolize(r, pc, sym, sizeof sym);
	strand_replay_disas(r, pc, insn, sizeof insn, NULL);
	pf_emit(fs, pos, strand_replay_thread(r), where, addr, pc, sym, insn);
}

static void find_regs(struct find_state *fs, struct find_thread *t,
		      struct strand_replay *r)
{
	const char *const *names = fs->q->ptr_size == 4 ? gpr32 : gpr64;
	uint64_t regs[16];
	unsigned n = qgprs(fs->q, r, regs);
	for (unsigned i = 0; i < n && names[i]; i++) {
		bool has = (regs[i] & fs->mask) == fs->value;
		/* a thread's start values are not news either */
		if (has && !t->had[i] && t->seen)
			find_emit(fs, r, t->last_pos, t->last_pc, names[i], 0);
		t->had[i] = has;
	}
	t->seen = true;
}

static void find_insn(struct strand_replay *r, void *ud, uint64_t position,
		      uint64_t pc, uint32_t size)
{
	struct find_state *fs = ud;
	struct find_thread *t = find_thread(fs, strand_replay_thread(r));
	if (!t)
		return;
	find_regs(fs, t, r);
	t->last_pos = position;
	t->last_pc = pc;
}

static void find_event(struct strand_replay *r, void *ud,
		       const struct strand_record *rec, bool after)
{
	struct find_state *fs = ud;
	if (!after || !strand_rec_is_consuming(rec->type))
		return;
	struct find_thread *t = find_thread(fs, strand_replay_thread(r));
	if (!t)
		return;
	t->last_pos = rec->position;
	t->last_pc = rec->type == STRAND_REC_SYSCALL ? rec->u.syscall.pc
						     : rec->u.nondet.pc;
	find_regs(fs, t, r);
}

static void find_mem(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		     uint64_t addr, uint32_t size, bool is_write, uint64_t value)
{
	struct find_state *fs = ud;
	if (is_write && size * 8 >= 64 - (uint32_t)__builtin_clzll(fs->mask) &&
	    (value & fs->mask) == fs->value)
		find_emit(fs, r, position, pc, NULL, addr);
}

/* ------------------------------------------------- find on all cores */

/* With the trace's index, find runs segment by segment on all cores, each
 * segment on its own handle from its checkpoint, and merges the segments'
 * rows in trace order into exactly the rows of one pass.  What a segment
 * cannot know alone is, per thread, the registers that held the value at
 * the thread's last check before the segment (and that check's
 * instruction): so a segment does not decide its first check of each
 * thread, it records which registers held the value there (a "first"
 * row); the merge, walking the segments in order with every thread's
 * state as the previous segments left it, emits what one pass would have
 * emitted at that check.  Later checks in the segment compare with the
 * first, as one pass does.  (Symbols and disassembly of a carried
 * instruction are taken at the end of its segment, not at the next
 * check: the same unless the code changed in between.) */

enum { PF_HIT = 0, PF_FIRST = 1 };

struct pf_row {
	uint64_t pos, pc, addr;  /* HIT: as find_emit; FIRST: the check's (event) position */
	uint32_t tid;
	int8_t reg;              /* HIT: register index, -1 = memory */
	uint8_t kind;            /* PF_* */
	bool event;              /* FIRST: an after-event check (pos/pc/text are its own) */
	uint16_t has;            /* FIRST: registers holding the value at the check */
	bool text;               /* sym/insn filled (only for rows that may be shown) */
	char sym[160], insn[96];
};

struct pf_thread {
	uint32_t tid;
	bool checked;            /* checked in this segment (the state below is its own) */
	uint16_t had;            /* registers holding the value at the last check */
	uint64_t last_pos, last_pc;
	char sym[160], insn[96]; /* of last_pc, at the segment's end */
};

struct pf_seg {
	struct pf_row *rows;
	size_t nrows, cap;
	uint64_t hits;           /* definite hits (rows kept or not) */
	struct pf_thread th[FIND_MAX_THREADS];
	uint32_t nth;
	bool done, nomem;
	strand_status st;
	strand_error err;
};

struct pf_job {
	struct strand_query *q;
	struct strand_index *ix;
	const struct strand_index_segment *sg;
	uint32_t nseg;
	uint64_t value, mask, max;
	struct pf_seg *segs;
	pthread_mutex_t lock;
	uint32_t next;
	bool stop;               /* interrupted or failed: hand out no more */
	bool interrupted;        /* the user interrupted: segments stop mid-way */
};

/* Instructions a segment runs between looks at an interrupt: Ctrl-C is
 * answered within one slice, not one segment (a segment of find can take
 * seconds, more under sanitizers). */
#define PF_SLICE 65536u

struct pf_worker {           /* observer state of one worker, one segment at a time */
	struct pf_job *job;
	struct pf_seg *seg;
};

static struct pf_thread *pf_thread(struct pf_seg *s, uint32_t tid)
{
	for (uint32_t i = 0; i < s->nth; i++)
		if (s->th[i].tid == tid)
			return &s->th[i];
	if (s->nth == FIND_MAX_THREADS)
		return NULL;
	struct pf_thread *t = &s->th[s->nth++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

static struct pf_row *pf_row(struct pf_seg *s)
{
	if (!STRAND_GROW(s->rows, s->cap, s->nrows, 1)) {
		s->nomem = true;
		return NULL;
	}
	struct pf_row *w = &s->rows[s->nrows++];
	memset(w, 0, sizeof *w);
	return w;
}

static void pf_text(struct strand_replay *r, uint64_t pc, char *sym, size_t ls, char *insn,
		    size_t li)
{
	insn[0] = 0;
	strand_replay_symbolize(r, pc, sym, ls);
	strand_replay_disas(r, pc, insn, li, NULL);
}

static void pf_hit(struct pf_worker *w, struct strand_replay *r, uint64_t pos, uint64_t pc,
		   int reg, uint64_t addr)
{
	struct pf_seg *s = w->seg;
	s->hits++;
	if (s->hits > w->job->max) /* never shown: rows of earlier segments come first */
		return;
	struct pf_row *x = pf_row(s);
	if (!x)
		return;
	x->kind = PF_HIT;
	x->pos = pos;
	x->pc = pc;
	x->addr = addr;
	x->reg = (int8_t)reg;
	x->tid = strand_replay_thread(r);
	x->text = true;
	pf_text(r, pc, x->sym, sizeof x->sym, x->insn, sizeof x->insn);
}

/* find_regs for a worker: the first check of a thread becomes a FIRST row. */
static void pf_regs(struct pf_worker *w, struct pf_thread *t, struct strand_replay *r,
		    bool event, uint64_t pos, uint64_t pc)
{
	const char *const *names = w->job->q->ptr_size == 4 ? gpr32 : gpr64;
	uint64_t regs[16];
	unsigned n = qgprs(w->job->q, r, regs);
	uint16_t has = 0;
	for (unsigned i = 0; i < n && names[i]; i++)
		if ((regs[i] & w->job->mask) == w->job->value)
			has |= (uint16_t)(1u << i);
	if (!t->checked) {
		struct pf_row *x = pf_row(w->seg);
		if (x) {
			x->kind = PF_FIRST;
			x->tid = t->tid;
			x->has = has;
			x->event = event;
			x->pos = pos;
			x->pc = pc;
			if (event && has) {
				x->text = true;
				pf_text(r, pc, x->sym, sizeof x->sym, x->insn, sizeof x->insn);
			}
		}
		t->checked = true;
	} else {
		uint16_t newly = has & (uint16_t)~t->had;
		for (int i = 0; names[i]; i++)
			if (newly & (1u << i))
				pf_hit(w, r, t->last_pos, t->last_pc, i, 0);
	}
	t->had = has;
}

static void pf_insn(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		    uint32_t size)
{
	struct pf_worker *w = ud;
	struct pf_thread *t = pf_thread(w->seg, strand_replay_thread(r));
	if (!t)
		return;
	pf_regs(w, t, r, false, 0, 0);
	t->last_pos = position;
	t->last_pc = pc;
}

static void pf_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	struct pf_worker *w = ud;
	if (!after || !strand_rec_is_consuming(rec->type))
		return;
	struct pf_thread *t = pf_thread(w->seg, strand_replay_thread(r));
	if (!t)
		return;
	t->last_pos = rec->position;
	t->last_pc = rec->type == STRAND_REC_SYSCALL ? rec->u.syscall.pc : rec->u.nondet.pc;
	pf_regs(w, t, r, true, t->last_pos, t->last_pc);
}

static void pf_mem(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		   uint64_t addr, uint32_t size, bool is_write, uint64_t value)
{
	struct pf_worker *w = ud;
	uint64_t mask = w->job->mask;
	if (is_write && size * 8 >= 64 - (uint32_t)__builtin_clzll(mask) &&
	    (value & mask) == w->job->value)
		pf_hit(w, r, position, pc, -1, addr);
}

/* Replay segment `k` on handle p with the find observers into job->segs[k]. */
/* Has the user interrupted the search?  The main thread polls. */
static bool pf_interrupted(struct pf_job *job, bool main)
{
	pthread_mutex_lock(&job->lock);
	if (main && !job->interrupted && qinterruptible(job->q) && qinterrupted(job->q))
		job->interrupted = job->stop = true;
	bool i = job->interrupted;
	pthread_mutex_unlock(&job->lock);
	return i;
}

/* Search segment k; false if an interrupt stopped it half-way (its rows
 * are then not used: the merge ends before it). */
static bool pf_segment(struct pf_job *job, struct strand_replay *p, uint32_t k, bool main)
{
	bool whole = true;
	struct pf_seg *s = &job->segs[k];
	const struct strand_index_segment *g = &job->sg[k];
	struct pf_worker w = { .job = job, .seg = s };
	s->st = strand_replay_seek(p, g->start, &s->err);
	if (s->st >= 0 && g->end > g->start) {
		struct strand_replay_frontier fr;
		strand_replay_observe_from_here(p, &fr);
		strand_obs_id a = strand_replay_on_insn(p, pf_insn, &w);
		strand_obs_id b = strand_replay_on_event(p, pf_event, &w);
		strand_obs_id c = strand_replay_on_mem(p, pf_mem, STRAND_WATCH_WRITE, &w);
		if (!a || !b || !c)
			s->st = strand_error_set(&s->err, STRAND_ERR_NOMEM, "find: cannot observe");
		for (uint64_t at = g->start; s->st >= 0 && at < g->end && whole;) {
			uint64_t to = g->end - at > PF_SLICE ? at + PF_SLICE : g->end;
			s->st = strand_replay_seek(p, to, &s->err);
			at = to;
			if (at < g->end && pf_interrupted(job, main))
				whole = false;
		}
		strand_replay_observer_del(p, a);
		strand_replay_observer_del(p, b);
		strand_replay_observer_del(p, c);
		strand_replay_observe_restore(p, &fr);
	}
	for (uint32_t i = 0; i < s->nth; i++)
		if (s->th[i].checked)
			pf_text(p, s->th[i].last_pc, s->th[i].sym, sizeof s->th[i].sym,
				s->th[i].insn, sizeof s->th[i].insn);
	if (s->st >= 0 && s->nomem)
		s->st = strand_error_set(&s->err, STRAND_ERR_NOMEM, "find: out of memory");
	return whole;
}

/* A worker: its own pass handle with the index's checkpoints; segments
 * handed out in order.  The calling thread (main) also watches for an
 * interrupt, every PF_SLICE instructions of its segments. */
static void pf_work(struct pf_job *job, bool main)
{
	struct strand_replay *p = NULL;
	strand_error err;
	bool ok = open_pass(job->q, &p, &err) >= 0 && strand_index_attach(job->ix, p, &err) >= 0;
	for (;;) {
		pf_interrupted(job, main);
		pthread_mutex_lock(&job->lock);
		uint32_t k = job->stop || job->next >= job->nseg ? UINT32_MAX : job->next++;
		pthread_mutex_unlock(&job->lock);
		if (k == UINT32_MAX)
			break;
		if (!ok) {
			job->segs[k].st = err.status < 0 ? err.status : STRAND_ERR_IO;
			job->segs[k].err = err;
		} else if (!pf_segment(job, p, k, main)) {
			continue; /* interrupted: not done, and no more handed out */
		}
		pthread_mutex_lock(&job->lock);
		job->segs[k].done = true;
		if (job->segs[k].st < 0)
			job->stop = true;
		pthread_mutex_unlock(&job->lock);
	}
	strand_replay_close(p);
}

static void *pf_thread_main(void *ud)
{
	pf_work(ud, false);
	return NULL;
}

struct pf_gthread {          /* the merge's view of a thread */
	uint32_t tid;
	bool seen;
	uint16_t had;
	uint64_t last_pos, last_pc;
	const char *sym, *insn;
};

/* find with the index: *used false if there is none (nothing done). */
static strand_status find_by_index(struct find_state *fs, bool *used, bool *intr,
				   uint32_t *jobs_out, strand_error *err)
{
	struct strand_query *q = fs->q;
	struct strand_index *ix = NULL;
	*used = false;
	if (!RT(q)->path || strand_index_open(RT(q)->path, NULL, &ix, NULL) != STRAND_OK)
		return STRAND_OK;
	struct pf_job job = { .q = q, .ix = ix, .value = fs->value, .mask = fs->mask,
			      .max = fs->max };
	job.sg = strand_index_segments(ix, &job.nseg);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t jobs = ncpu > 1 ? (uint32_t)ncpu : 1;
	if (jobs > job.nseg)
		jobs = job.nseg;
	if (jobs > 64)
		jobs = 64;
	strand_status st = STRAND_OK;
	struct pf_gthread *gt = NULL;
	uint32_t ngt = 0;
	pthread_t th[64];
	uint32_t started = 0;
	if (!job.nseg || !(job.segs = calloc(job.nseg, sizeof *job.segs))) {
		strand_index_close(ix);
		return STRAND_OK; /* one pass instead */
	}
	*used = true;
	*jobs_out = jobs;
	pthread_mutex_init(&job.lock, NULL);
	for (uint32_t i = 1; i < jobs; i++)
		if (pthread_create(&th[i], NULL, pf_thread_main, &job) == 0)
			started = i;
		else
			break;
	pf_work(&job, true);
	for (uint32_t i = 1; i <= started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&job.lock);
	/* the merge, in trace order, up to the first segment not done */
	gt = calloc(FIND_MAX_THREADS, sizeof *gt);
	if (!gt) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "find: out of memory");
		goto out;
	}
	const char *const *names = q->ptr_size == 4 ? gpr32 : gpr64;
	for (uint32_t k = 0; k < job.nseg; k++) {
		struct pf_seg *s = &job.segs[k];
		if (!s->done) {
			*intr = true;
			break;
		}
		if (s->st < 0) {
			st = s->st;
			if (err)
				*err = s->err;
			goto out;
		}
		uint64_t kept = 0;
		for (size_t i = 0; i < s->nrows; i++) {
			const struct pf_row *x = &s->rows[i];
			if (x->kind == PF_HIT) {
				kept++;
				fs->count++;
				if (fs->rows < fs->max) {
					fs->rows++;
					pf_emit(fs, x->pos, x->tid, x->reg >= 0 ? names[x->reg] : NULL,
						x->addr, x->pc, x->sym, x->insn);
				}
				continue;
			}
			struct pf_gthread *g = NULL;
			for (uint32_t t = 0; t < ngt; t++)
				if (gt[t].tid == x->tid)
					g = &gt[t];
			if (!g) {
				if (ngt == FIND_MAX_THREADS)
					continue;
				g = &gt[ngt++];
				g->tid = x->tid;
			}
			if (g->seen) {
				uint16_t newly = x->has & (uint16_t)~g->had;
				for (int r = 0; names[r]; r++) {
					if (!(newly & (1u << r)))
						continue;
					fs->count++;
					if (fs->rows >= fs->max)
						continue;
					fs->rows++;
					if (x->event)
						pf_emit(fs, x->pos, x->tid, names[r], 0, x->pc, x->sym, x->insn);
					else
						pf_emit(fs, g->last_pos, x->tid, names[r], 0, g->last_pc,
							g->sym, g->insn);
				}
			}
		}
		/* hits past the rows kept: counted, never shown (the kept ones
		 * already filled the rows) */
		fs->count += s->hits - kept;
		/* every thread the segment checked: its state at the segment's end */
		for (uint32_t i = 0; i < s->nth; i++) {
			const struct pf_thread *t = &s->th[i];
			if (!t->checked)
				continue;
			struct pf_gthread *g = NULL;
			for (uint32_t u = 0; u < ngt; u++)
				if (gt[u].tid == t->tid)
					g = &gt[u];
			if (!g) {
				if (ngt == FIND_MAX_THREADS)
					continue;
				g = &gt[ngt++];
				g->tid = t->tid;
			}
			g->seen = true;
			g->had = t->had;
			g->last_pos = t->last_pos;
			g->last_pc = t->last_pc;
			g->sym = t->sym;
			g->insn = t->insn;
		}
	}
out:
	free(gt);
	for (uint32_t k = 0; k < job.nseg; k++)
		free(job.segs[k].rows);
	free(job.segs);
	strand_index_close(ix);
	return st;
}

static strand_status ext_find(struct strand_query *q, struct qargs *a, struct qout *o,
			      strand_error *err)
{
	struct find_state fs = { .q = q, .o = o };
	uint64_t size = q->ptr_size;
	strand_status st = qeval(q, a->argv[1], &fs.value, err);
	if (st < 0)
		return st;
	if (a->argc > 2 && (st = qeval(q, a->argv[2], &size, err)) < 0)
		return st;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"size must be 1, 2, 4 or 8, not %" PRIu64, size);
	uint64_t max = q->max_rows;
	if (a->argc > 3 && (st = qeval(q, a->argv[3], &max, err)) < 0)
		return st;
	if (max == 0 || max > q->max_rows)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"row limit %" PRIu64 " out of range (1..%" PRIu32 ")",
					max, q->max_rows);
	fs.max = max;
	fs.mask = size == 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
	fs.value &= fs.mask;
	struct strand_replay *p = NULL;
	if ((st = open_pass(q, &p, err)) < 0)
		return st;
	qtext(o, "%-10s %-6s %-18s %s\n", "position", "tid", "where", "written by");
	strand_json_hex_field(o->j, "value", fs.value);
	strand_json_uint_field(o->j, "size", size);
	strand_json_name(o->j, "hits");
	strand_json_start_array(o->j);
	bool intr = false, indexed = false;
	uint32_t jobs = 1;
	if ((st = find_by_index(&fs, &indexed, &intr, &jobs, err)) >= 0 && !indexed) {
		strand_replay_on_insn(p, find_insn, &fs);
		strand_replay_on_event(p, find_event, &fs);
		strand_replay_on_mem(p, find_mem, STRAND_WATCH_WRITE, &fs);
		st = drive(q, p, strand_replay_end(p), &intr, err);
	}
	strand_json_end_array(o->j);
	strand_json_bool_field(o->j, "indexed", indexed);
	strand_json_uint_field(o->j, "jobs", jobs);
	if (intr && !indexed)
		say_pass_interrupted(o, p);
	else if (intr) {
		qtext(o, "interrupted: what is shown comes from the segments before it\n");
		strand_json_bool_field(o->j, "interrupted", true);
	}
	strand_json_uint_field(o->j, "count", fs.count);
	strand_json_bool_field(o->j, "truncated", fs.count > fs.rows);
	qtext(o, "%" PRIu64 " places took the value 0x%" PRIx64 "%s\n", fs.count, fs.value,
	      fs.count > fs.rows ? " (first rows shown)" : "");
	strand_replay_close(p);
	return st;
}

/* ===================================================================== */
/* origin                                                                 */
/* ===================================================================== */

/* The engine of strand/dataflow.h over the session's handle (created on
 * first use, kept: its instruction summaries serve the next origin). */
static strand_status origin_engine(struct strand_query *q, struct strand_dataflow **out,
				   strand_error *err)
{
	struct rtarget *rt = RT(q);
	if (!rt->df) {
		/* with the trace's index, windows that write none of the memory
		 * followed are skipped (same answers; see strand_df_options) */
		struct strand_df_options o = { 0 };
		if (rt->path && strand_index_open(rt->path, NULL, &rt->ix, NULL) == STRAND_OK &&
		    strand_index_end(rt->ix) == strand_replay_end(rt->r)) {
			o.may_write = strand_index_may_write_cb;
			o.may_write_ud = rt->ix;
		} else {
			strand_index_close(rt->ix);
			rt->ix = NULL;
		}
		strand_status st = strand_dataflow_new(rt->r, rt->path, &o, &rt->df, err);
		if (st < 0)
			return st;
	}
	*out = rt->df;
	return STRAND_OK;
}

/* One row of the chain: text and JSON. */
static void origin_row(struct strand_query *q, struct qout *o, int n,
		       const struct strand_df_step *x)
{
	char where[64], sym[160] = "", desc[256] = "";
	if (x->loc_is_reg)
		strand_df_reg_name(q->arch, x->reg, where, sizeof where);
	else
		snprintf(where, sizeof where, "[0x%" PRIx64 "]", x->addr);
	if (x->pc)
		qsym(q, x->pc, sym, sizeof sym);
	bool kernel = x->kind == STRAND_DF_SYSCALL || x->kind == STRAND_DF_EVENT;
	const char *sysname = x->kind == STRAND_DF_SYSCALL
				      ? strand_syscall_name_in(RT(q) ? RT(q)->systable : NULL, q->abi, q->arch,
							       x->syscall) : NULL;
	if (x->have_value && x->loc_is_reg && x->reg < 16 && x->kind != STRAND_DF_CONTROL)
		describe(q, x->value, false, desc, sizeof desc);
	strand_json_start_object(o->j);
	strand_json_string_field(o->j, "location", where);
	strand_json_string_field(o->j, "kind", strand_df_kind_str(x->kind));
	strand_json_uint_field(o->j, "position", x->position);
	strand_json_uint_field(o->j, "tid", x->tid);
	strand_json_hex_field(o->j, "pc", x->pc);
	strand_json_string_field(o->j, "symbol", sym);
	strand_json_string_field(o->j, "instruction", kernel ? "(kernel)" : x->insn);
	if (x->have_value)
		strand_json_hex_field(o->j, "value", x->value);
	if (desc[0])
		strand_json_string_field(o->j, "value_text", desc);
	if (x->kind == STRAND_DF_SYSCALL) {
		strand_json_hex_field(o->j, "syscall", x->syscall);
		strand_json_string_field(o->j, "syscall_name", sysname);
		strand_json_hex_field(o->j, "result", x->result);
	}
	strand_json_bool_field(o->j, "via_control", x->via_control);
	strand_json_end_object(o->j);
	if (kernel) {
		qtext(o, "#%-2d %-14s position %-8" PRIu64 " %s: %s by the kernel (syscall %s)\n", n, where,
		      x->position, sym, x->loc_is_reg ? "returned" : "written",
		      sysname ? sysname : "event");
		return;
	}
	bool named = sym[0] && strncmp(sym, "0x", 2) != 0;
	qtext(o, "#%-2d %-14s position %-8" PRIu64 " 0x%08" PRIx64 "%s%s: %s", n, where, x->position,
	      x->pc, named ? " " : "", named ? sym : "", x->insn);
	if (x->have_value && x->kind != STRAND_DF_CONTROL && x->kind != STRAND_DF_COMPARE)
		qtext(o, "   -> 0x%" PRIx64 "%s%s", x->value, desc[0] ? "  " : "", desc);
	qtext(o, "\n");
	switch (x->kind) {
	case STRAND_DF_TABLE:
		qtext(o, "    (a table lookup: constant data, following its index)\n");
		break;
	case STRAND_DF_COMPARE:
		qtext(o, "    (the key this search loop compared against the table)\n");
		break;
	case STRAND_DF_CONTROL:
		qtext(o, "    (the branch that chose the constant: following its condition)\n");
		break;
	case STRAND_DF_CONSTANT:
		qtext(o, "    (constant here)\n");
		break;
	default:
		break;
	}
}

/* origin REG|ADDR [LEN]: the data-flow engine from the session's position;
 * the chain shown runs from the value asked about back to its origin. */
static strand_status ext_origin(struct strand_query *q, struct qargs *a, struct qout *o,
				strand_error *err)
{
	struct strand_replay *cur = RT(q)->r;
	struct strand_df_query dq = { .position = strand_replay_position(cur),
				      .tid = strand_replay_thread(cur) };
	strand_status st;
	if (a->argc > 1 && !strcmp(a->argv[a->argc - 1], "--passes"))
		a->argc--; /* accepted for old scripts: there is one method now */
	if (a->argc < 2)
		return strand_error_set(err, STRAND_ERR_INVALID, "usage: origin REG|ADDR [LEN]");
	const char *what = a->argv[1];
	int reg = strand_df_reg_from_name(what);
	uint64_t v;
	if (reg >= 0 && strand_replay_reg(cur, what[0] == '@' ? what + 1 : what, &v) == STRAND_OK) {
		if (reg == STRAND_REG_RSP)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"origin: the stack pointer is not followed");
		dq.regs = STRAND_DF_REG_BIT(reg);
	} else {
		uint64_t len = q->ptr_size;
		if ((st = qeval(q, what, &dq.addr, err)) < 0)
			return st;
		if (a->argc > 2 && (st = qeval(q, a->argv[2], &len, err)) < 0)
			return st;
		if (len == 0 || len > 8)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"length must be 1..8, not %" PRIu64, len);
		dq.len = (uint32_t)len;
		uint8_t probe[8];
		if (strand_replay_read(cur, dq.addr, probe, dq.len, NULL) != dq.len)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"origin: memory at 0x%" PRIx64 " (%" PRIu32
						" bytes) is not mapped at position %" PRIu64,
						dq.addr, dq.len, dq.position);
	}
	struct strand_dataflow *df;
	struct strand_df_result *res = NULL;
	if ((st = origin_engine(q, &df, err)) < 0 ||
	    (st = strand_dataflow_follow(df, &dq, &res, err)) < 0)
		return strand_error_wrap(err, st, "origin: cannot follow %s", what);
	/* the path shown: to the origin, or to the earliest step found */
	int32_t end = res->origin;
	if (end < 0 && res->nsteps > 1)
		end = (int32_t)res->nsteps - 1;
	uint32_t n = 0;
	for (int32_t i = end; i > 0; i = res->steps[i].parent)
		n++;
	int32_t *path = calloc(n ? n : 1, sizeof *path);
	if (!path) {
		strand_df_result_free(res);
		return strand_error_set(err, STRAND_ERR_NOMEM, "origin: out of memory");
	}
	uint32_t k = n;
	for (int32_t i = end; i > 0 && k; i = res->steps[i].parent)
		path[--k] = i;
	strand_json_name(o->j, "chain");
	strand_json_start_array(o->j);
	for (uint32_t i = 0; i < n && i < 64; i++)
		origin_row(q, o, (int)i, &res->steps[path[i]]);
	strand_json_end_array(o->j);
	if (n > 64)
		qtext(o, "    (%" PRIu32 " more steps; the JSON has the first 64)\n", n - 64);
	const char *found = res->origin < 0 ? "none"
			    : res->steps[res->origin].via_control ? "control flow" : "data flow";
	strand_json_string_field(o->j, "found_by", found);
	strand_json_uint_field(o->j, "windows", res->windows);
	strand_json_uint_field(o->j, "instructions_logged", res->logged);
	strand_json_bool_field(o->j, "indexed", RT(q)->ix != NULL);
	strand_json_uint_field(o->j, "instructions_skipped", res->skipped);
	strand_json_bool_field(o->j, "reached_start", res->reached_start);
	if (res->cut)
		strand_json_string_field(o->j, "note", res->note);
	if (!n)
		qtext(o, "#0  %s holds its value since the initial snapshot\n", what);
	else if (res->reached_start && res->origin < 0)
		qtext(o, "    (held since the initial snapshot before that)\n");
	if (res->cut)
		qtext(o, "    (%s)\n", res->note);
	if (res->origin >= 0 && res->steps[res->origin].via_control)
		qtext(o, "    (found through control flow: a branch chose the constant)\n");
	free(path);
	strand_df_result_free(res);
	return STRAND_OK;
}

/* ===================================================================== */
/* report                                                                 */
/* ===================================================================== */

/* The result tree as JSON values, into our writer. */
static void rnode_json(struct strand_json *j, const struct strand_rnode *n)
{
	switch (n->kind) {
	case STRAND_R_OBJECT:
		strand_json_start_object(j);
		for (const struct strand_rnode *c = n->first; c; c = c->next) {
			strand_json_name(j, c->name ? c->name : "");
			rnode_json(j, c);
		}
		strand_json_end_object(j);
		break;
	case STRAND_R_LIST:
	case STRAND_R_STACK:
		strand_json_start_array(j);
		for (const struct strand_rnode *c = n->first; c; c = c->next)
			rnode_json(j, c);
		strand_json_end_array(j);
		break;
	case STRAND_R_STRING: strand_json_string(j, n->v.s); break;
	case STRAND_R_INT: strand_json_int(j, n->v.i); break;
	case STRAND_R_UINT:
	case STRAND_R_POSITION: strand_json_uint(j, n->v.u); break;
	case STRAND_R_HEX: strand_json_hex(j, n->v.u); break;
	case STRAND_R_BOOL: strand_json_bool(j, n->v.b); break;
	default: strand_json_null(j); break;
	}
}

static strand_status ext_report(struct strand_query *q, struct qargs *a, struct qout *o,
				strand_error *err)
{
	if (!RT(q)->path)
		return strand_error_set(err, STRAND_ERR_UNSUPPORTED,
					"needs the trace file (session opened without a path)");
	struct strand_result *res = strand_result_new();
	if (!res)
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate the report");
	strand_status st = strand_report_build(RT(q)->path, NULL, res, err);
	if (st >= 0)
		st = strand_render(strand_result_root(res), STRAND_RENDER_TEXT,
				   "strand report", o->txt, err);
	if (st >= 0) {
		strand_json_name(o->j, "report");
		rnode_json(o->j, strand_result_root(res));
	}
	strand_result_free(res);
	return st;
}

/* ===================================================================== */
/* Knowledge: syscall names, statuses, syscall objects                    */
/* ===================================================================== */

static const char *ext_syscall_name(struct strand_query *q, uint64_t number)
{
	return number > UINT32_MAX ? NULL
				   : strand_syscall_name_in(RT(q) ? RT(q)->systable : NULL, q->abi, q->arch,
							    (uint32_t)number);
}

static void ext_describe(struct strand_query *q, uint64_t v, bool syscall, char *buf,
			 size_t len)
{
	describe(q, v, syscall, buf, len);
}

struct objects_state {
	struct strand_query *q;
	struct rtarget *rt;
	uint64_t cursor;   /* index entry to match next */
	bool nomem;
};

static void objects_event(struct strand_replay *r, void *ud,
			  const struct strand_record *rec, bool after)
{
	struct objects_state *os = ud;
	struct strand_query *q = os->q;
	if (after || rec->type != STRAND_REC_SYSCALL)
		return;
	while (os->cursor < q->nevents &&
	       (q->events[os->cursor].position < rec->position ||
		(q->events[os->cursor].position == rec->position &&
		 (q->events[os->cursor].type != STRAND_REC_SYSCALL ||
		  q->events[os->cursor].tid != rec->tid))))
		os->cursor++;
	if (os->cursor >= q->nevents || q->events[os->cursor].position != rec->position)
		return;
	char buf[512];
	if (os->rt->objdone) {
		if (os->rt->objdone[os->cursor]) {
			os->cursor++;
			return;
		}
		os->rt->objdone[os->cursor] = true;
	}
	if (strand_syscall_decode_object_in(r, os->rt->systable, q->abi, q->arch, &rec->u.syscall, buf,
					    sizeof buf) && buf[0]) {
		os->rt->objects[os->cursor] = strdup(buf);
		if (!os->rt->objects[os->cursor])
			os->nomem = true;
	}
	os->cursor++;
}

/* Forget the decoded syscall objects (a later use decodes them again). */
static void objects_free(struct rtarget *rt)
{
	for (uint64_t i = 0; rt->objects && i < rt->nobjects; i++)
		free(rt->objects[i]);
	free(rt->objects);
	rt->objects = NULL;
	rt->nobjects = 0;
	free(rt->objdone);
	rt->objdone = NULL;
	strand_replay_close(rt->objpass);
	rt->objpass = NULL;
}

/* With the trace's index: decode the object of event idx alone, on a pass
 * that restores the closest checkpoint before it (and goes on forward for
 * the next one asked, so objects asked in trace order cost at most one
 * pass).  false: no index, or it cannot be used (decode by a whole pass). */
static bool object_by_index(struct strand_query *q, uint64_t idx, strand_error *err)
{
	struct rtarget *rt = RT(q);
	if (!rt->objects) {
		struct strand_index *ix = NULL;
		if (!rt->path || strand_index_open(rt->path, NULL, &ix, NULL) != STRAND_OK)
			return false;
		struct strand_replay *p = NULL;
		bool ok = open_pass(q, &p, err) >= 0 && strand_index_end(ix) == strand_replay_end(p) &&
			  strand_index_attach(ix, p, NULL) == STRAND_OK;
		strand_index_close(ix);
		rt->objects = ok ? calloc(q->nevents, sizeof *rt->objects) : NULL;
		rt->objdone = ok ? calloc(q->nevents, sizeof *rt->objdone) : NULL;
		if (!rt->objects || !rt->objdone) {
			strand_replay_close(p);
			free(rt->objects);
			free(rt->objdone);
			rt->objects = NULL;
			rt->objdone = NULL;
			return false;
		}
		rt->nobjects = q->nevents;
		rt->objpass = p;
	}
	if (!rt->objpass)
		return false;
	if (idx >= rt->nobjects || rt->objdone[idx] || q->events[idx].type != STRAND_REC_SYSCALL)
		return true;
	struct strand_replay *p = rt->objpass;
	uint64_t pos = q->events[idx].position;
	struct objects_state os = { .q = q, .rt = rt, .cursor = idx };
	strand_status st = strand_replay_seek(p, pos, err);
	if (st >= 0 && pos < strand_replay_end(p)) {
		struct strand_replay_frontier fr;
		strand_replay_observe_from_here(p, &fr);
		strand_obs_id id = strand_replay_on_event(p, objects_event, &os);
		st = id ? strand_replay_seek(p, pos + 1, err)
			: strand_error_set(err, STRAND_ERR_NOMEM, "cannot observe events");
		strand_replay_observer_del(p, id);
		strand_replay_observe_restore(p, &fr);
	}
	rt->objdone[idx] = true; /* decoded, or not decodable: not tried again */
	if (st < 0 || os.nomem) {
		objects_free(rt); /* a failed pass: a whole pass next time */
		return false;
	}
	return true;
}

static const char *ext_syscall_object(struct strand_query *q, uint64_t idx,
				      strand_error *err)
{
	struct rtarget *rt = RT(q);
	if (q->nevents && (rt->objpass || !rt->objects) && object_by_index(q, idx, err))
		return idx < rt->nobjects && rt->objects[idx] ? rt->objects[idx] : "";
	if (!rt->objects) {
		struct strand_replay *p = NULL;
		if (!q->nevents || open_pass(q, &p, err) < 0)
			return NULL;
		rt->objects = calloc(q->nevents, sizeof *rt->objects);
		if (!rt->objects) {
			strand_replay_close(p);
			strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate");
			return NULL;
		}
		rt->nobjects = q->nevents;
		struct objects_state os = { .q = q, .rt = rt };
		strand_replay_on_event(p, objects_event, &os);
		bool intr = false;
		strand_status st = drive(q, p, strand_replay_end(p), &intr, err);
		uint64_t at = strand_replay_position(p);
		strand_replay_close(p);
		if (st >= 0 && intr) /* half a table is no table: decoded again next time */
			st = strand_error_set(err, STRAND_ERR_INVALID, "interrupted at position %"
					      PRIu64, at);
		if (st < 0) {
			objects_free(rt);
			strand_error_wrap(err, st, "cannot decode syscall arguments");
			return NULL;
		}
	}
	return idx < rt->nobjects && rt->objects[idx] ? rt->objects[idx] : "";
}

/* ---- process trees -------------------------------------------------- */

static void rtarget_free(void *ud);

struct prow {
	struct strand_process p;
	int depth;
	struct strand_process_facts f;
};

struct prows {
	struct prow *v;
	size_t n;
};

static strand_status prow_add(const char *kid, const struct strand_process *p, int depth,
			      void *ud, strand_error *err)
{
	struct prows *t = ud;
	struct prow *v = realloc(t->v, (t->n + 1) * sizeof *v);
	if (!v)
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate");
	t->v = v;
	v[t->n].p = *p;
	v[t->n].depth = depth;
	strand_status st = strand_trace_process_facts(kid, &v[t->n].f, err);
	t->n++;
	return st;
}

static strand_status ext_processes(struct strand_query *q, struct qargs *a, struct qout *o,
				   strand_error *err)
{
	(void)a;
	struct rtarget *rt = RT(q);
	if (!rt->root)
		return strand_error_set(err, STRAND_ERR_UNSUPPORTED, "the session has no trace file");
	struct strand_process_facts root;
	strand_status st = strand_trace_process_facts(rt->root, &root, err);
	if (st < 0)
		return st;
	struct prows t = { 0 };
	if ((st = strand_trace_walk(rt->root, prow_add, &t, err)) < 0) {
		free(t.v);
		return st;
	}
	strand_json_name(o->j, "processes");
	strand_json_start_array(o->j);
	qtext(o, "  %-12s %-8s %-6s %-14s %s\n", "pid", "parent", "exit",
	      root.ordinal ? "events" : "instructions", "argv");
	for (size_t i = 0; i <= t.n; i++) {
		const struct strand_process_facts *f = i ? &t.v[i - 1].f : &root;
		uint32_t pid = i ? t.v[i - 1].p.pid : root.pid;
		uint32_t ppid = i ? t.v[i - 1].p.ppid : 0;
		int depth = i ? t.v[i - 1].depth : 0;
		bool cur = i ? rt->pid == pid : rt->pid == 0;
		char ps[40], pp[16];
		snprintf(ps, sizeof ps, "%*s%u", 2 * depth, "", pid);
		snprintf(pp, sizeof pp, "%u", ppid);
		qtext(o, "%c %-12s %-8s %-6" PRId64 " %-14" PRIu64 " %s\n", cur ? '*' : ' ', ps,
		      i ? pp : "-", f->exit_code, f->last_position, f->argv);
		strand_json_start_object(o->j);
		strand_json_uint_field(o->j, "pid", pid);
		strand_json_uint_field(o->j, "ppid", ppid);
		strand_json_uint_field(o->j, "depth", (uint64_t)depth);
		strand_json_int_field(o->j, "exit_code", f->exit_code);
		strand_json_uint_field(o->j, "instructions", f->last_position);
		strand_json_string_field(o->j, "argv", f->argv);
		strand_json_bool_field(o->j, "current", cur);
		strand_json_end_object(o->j);
	}
	strand_json_end_array(o->j);
	free(t.v);
	return STRAND_OK;
}

/* strand_trace_walk callback: keep the trace of process want->pid. */
struct pfind {
	uint32_t pid;
	char *kept;        /* owned temporary path, once found */
	struct strand_process p;
};

static strand_status pfind_cb(const char *kid, const struct strand_process *p, int depth,
			      void *ud, strand_error *err)
{
	(void)depth;
	struct pfind *f = ud;
	if (p->pid != f->pid)
		return STRAND_OK;
	if (asprintf(&f->kept, "%s.q", kid) < 0) {
		f->kept = NULL;
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate");
	}
	if (rename(kid, f->kept) < 0) {
		free(f->kept);
		f->kept = NULL;
		return strand_error_set(err, STRAND_ERR_IO, "cannot keep the trace of process %u",
					p->pid);
	}
	f->p = *p;
	return STRAND_END;
}

/* Make the session show the trace at `path` (process pid; tmp: path is a
 * temporary owned from now on, or NULL). */
static strand_status switch_trace(struct strand_query *q, const char *path, char *tmp,
				  uint32_t pid, strand_error *err)
{
	struct rtarget *old = RT(q);
	struct strand_replay_options ro = { .max_instructions = old->max_instructions,
					    .max_memory = old->max_memory };
	struct strand_replay *r = NULL;
	struct strand_query_event *ev = NULL;
	uint64_t nev = 0;
	struct rtarget *rt = calloc(1, sizeof *rt);
	strand_status st;
	if (!rt || !(rt->path = strdup(path)) || !(rt->root = strdup(old->root))) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate");
		goto fail;
	}
	rt->tmp = tmp;
	tmp = NULL;
	rt->pid = pid;
	rt->owned = true;
	rt->max_instructions = old->max_instructions;
	rt->max_memory = old->max_memory;
	if ((st = strand_replay_open(path, &ro, &r, err)) < 0 ||
	    (st = build_index(path, &ev, &nev, err)) < 0 ||
	    (st = strand_systable_load(path, &rt->systable, err)) < 0)
		goto fail;
	rt->r = r;
	const struct strand_trace_info *info = strand_replay_info(r);
	q->ext_free(old);
	q->ext_ud = rt;
	q->t = r;
	q->arch = info->arch;
	q->abi = info->abi;
	q->ptr_size = info->arch == STRAND_ARCH_X86_64 ? 8 : 4;
	free(q->events);
	q->events = ev ? ev : calloc(1, sizeof *ev);
	q->nevents = nev;
	q->nstops = 0; /* the stops were the other replay's */
	return STRAND_OK;
fail:
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(ev);
	if (r)
		strand_replay_close(r);
	if (rt)
		rt->r = NULL, rt->owned = false;
	rtarget_free(rt);
	return st;
}

static strand_status ext_process(struct strand_query *q, struct qargs *a, struct qout *o,
				 strand_error *err)
{
	struct rtarget *rt = RT(q);
	if (!rt->root || !rt->owned)
		return strand_error_set(err, STRAND_ERR_UNSUPPORTED,
					"the session has no trace file of its own");
	strand_status st;
	if (a->argc > 1) {
		struct strand_process_facts root;
		if ((st = strand_trace_process_facts(rt->root, &root, err)) < 0)
			return st;
		char *end = NULL;
		unsigned long want = strtoul(a->argv[1], &end, 10);
		bool to_root = !strcmp(a->argv[1], "root") || (end && !*end && root.pid &&
							       want == root.pid);
		if (!to_root && (!end || *end || end == a->argv[1] || want == 0 || want > UINT32_MAX))
			return strand_error_set(err, STRAND_ERR_INVALID,
						"'%s' is not a process id (see 'processes')", a->argv[1]);
		if (to_root) {
			if (rt->pid && (st = switch_trace(q, rt->root, NULL, 0, err)) < 0)
				return st;
		} else if (want != rt->pid) {
			struct pfind f = { .pid = (uint32_t)want };
			st = strand_trace_walk(rt->root, pfind_cb, &f, err);
			if (st < 0) {
				if (f.kept)
					unlink(f.kept);
				free(f.kept);
				return st;
			}
			if (!f.kept)
				return strand_error_set(err, STRAND_ERR_INVALID,
							"no process %lu in this trace (see 'processes')",
							want);
			if ((st = switch_trace(q, f.kept, f.kept, (uint32_t)want, err)) < 0)
				return st;
		}
		rt = RT(q);
	}
	struct strand_process_facts f;
	if ((st = strand_trace_process_facts(rt->path, &f, err)) < 0)
		return st;
	qtext(o, "process %u (parent %u): %s, exit status %" PRId64 "\n", f.pid, f.ppid, f.argv,
	      f.exit_code);
	strand_json_uint_field(o->j, "pid", f.pid);
	strand_json_uint_field(o->j, "ppid", f.ppid);
	strand_json_string_field(o->j, "argv", f.argv);
	strand_json_int_field(o->j, "exit_code", f.exit_code);
	strand_json_bool_field(o->j, "root", rt->pid == 0);
	qwhere(q, o);
	return STRAND_OK;
}

static const struct qext replay_ext = {
	.processes = ext_processes, .process = ext_process,
	.bt = ext_bt, .calls = ext_calls, .memory = ext_memory, .origin = ext_origin,
	.find = ext_find, .report = ext_report, .syscall_name = ext_syscall_name,
	.describe = ext_describe, .syscall_object = ext_syscall_object,
};

/* ===================================================================== */
/* Sessions                                                               */
/* ===================================================================== */

static void rtarget_free(void *ud)
{
	struct rtarget *rt = ud;
	if (!rt)
		return;
	strand_dataflow_free(rt->df);
	strand_index_close(rt->ix);
	strand_systable_free(rt->systable);
	if (rt->owned)
		strand_replay_close(rt->r);
	objects_free(rt);
	if (rt->tmp)
		unlink(rt->tmp);
	free(rt->tmp);
	free(rt->root);
	free(rt->path);
	free(rt);
}

strand_status strand_query_new(struct strand_replay *r,
			       const struct strand_query_options *opt,
			       struct strand_query **out, strand_error *err)
{
	const struct strand_trace_info *info = strand_replay_info(r);
	struct strand_query_event *ev = NULL;
	uint64_t nev = 0;
	strand_status st;
	struct rtarget *rt = calloc(1, sizeof *rt);
	if (!rt)
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate query session");
	rt->r = r;
	if (opt && opt->trace_path) {
		rt->path = strdup(opt->trace_path);
		rt->root = strdup(opt->trace_path);
		if (!rt->path || !rt->root) {
			free(rt->path);
			free(rt->root);
			free(rt);
			return strand_error_set(err, STRAND_ERR_NOMEM,
						"cannot allocate query session");
		}
		if ((st = build_index(rt->path, &ev, &nev, err)) < 0 ||
		    (st = strand_systable_load(rt->path, &rt->systable, err)) < 0) {
			rtarget_free(rt);
			return st;
		}
	}
	if ((st = qsession_new(&replay_ops, r, info->arch, info->abi, opt, ev, nev,
			       out, err)) < 0) {
		rtarget_free(rt);
		return st;
	}
	(*out)->ext = &replay_ext;
	(*out)->ext_ud = rt;
	(*out)->ext_free = rtarget_free;
	if (opt && opt->trace_path && !ev) /* an empty trace still has an index */
		(*out)->events = calloc(1, sizeof *ev);
	return STRAND_OK;
}

/* Give the session's replay the checkpoints of the trace's sidecar index
 * (seeks from a cold start restore the closest segment), building the
 * index first when the trace is long enough to be worth it.  An index
 * that is missing, stale or damaged only costs speed: replay then starts
 * from the snapshot as without one. */
static void attach_sidecar(const char *path, const struct strand_replay_options *ropt,
			   struct strand_replay *r)
{
	struct strand_index *ix = NULL;
	strand_status st = strand_index_open(path, NULL, &ix, NULL);
	if (st != STRAND_OK && strand_replay_end(r) >= STRAND_INDEX_AUTO_BUILD) {
		struct strand_index_options io = { 0 };
		if (ropt) {
			io.progress = ropt->progress;
			io.progress_ud = ropt->progress_ud;
		}
		st = strand_index_ensure(path, &io, &ix, NULL, NULL);
	}
	if (st == STRAND_OK)
		strand_index_attach(ix, r, NULL);
	strand_index_close(ix);
}

strand_status strand_query_open(const char *path,
				const struct strand_replay_options *ropt,
				struct strand_query **out, strand_error *err)
{
	struct strand_replay *r = NULL;
	strand_status st = strand_replay_open(path, ropt, &r, err);
	if (st < 0)
		return st;
	attach_sidecar(path, ropt, r);
	struct strand_query_options qo = { .trace_path = path };
	if ((st = strand_query_new(r, &qo, out, err)) < 0) {
		strand_replay_close(r);
		return st;
	}
	struct rtarget *rt = (*out)->ext_ud;
	rt->owned = true;
	if (ropt) {
		rt->max_instructions = ropt->max_instructions;
		rt->max_memory = ropt->max_memory;
	}
	return STRAND_OK;
}

struct strand_replay *strand_query_replay(struct strand_query *q)
{
	return q->ops == &replay_ops ? R(q->t) : NULL;
}
