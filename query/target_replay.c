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
 *   origin   a chain of passes, each finding the last change of a
 *            register or memory range before a position and reading the
 *            instruction that made it (copies are followed, computations
 *            and kernel writes end the chain)
 *   report   strand_report_build (analysis.h), rendered as text and
 *            embedded as JSON
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "query/query_int.h"
#include "strand/analysis.h"

/* The session's target state (q->ext_ud). */
struct rtarget {
	struct strand_replay *r;
	bool owned;         /* close r with the session */
	char *path;         /* trace file for passes and the index; may be NULL */
	char **objects;     /* per event index: decoded syscall object or NULL;
			       NULL until the first syscall_object() */
	uint64_t nobjects;
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

static strand_status build_index(const char *path, strand_abi abi,
				 struct strand_query_event **out, uint64_t *nout,
				 strand_error *err)
{
	struct strand_reader *rd = NULL;
	struct strand_query_event *ev = NULL;
	uint64_t n = 0, cap = 0;
	bool in_snapshot = true;
	strand_status st = strand_reader_open(path, &rd, err);
	if (st < 0)
		goto out;
	for (;;) {
		const struct strand_record *rec;
		st = strand_reader_next(rd, &rec, err);
		if (st == STRAND_END) {
			st = STRAND_OK;
			break;
		}
		if (st < 0)
			goto out;
		if (in_snapshot) {
			if (rec->type == STRAND_REC_SNAPSHOT_END)
				in_snapshot = false;
			continue;
		}
		if (rec->type == STRAND_REC_KEYFRAME) /* verification data, not news */
			continue;
		if (n == cap) {
			uint64_t ncap = cap ? cap * 2 : 1024;
			void *p = realloc(ev, ncap * sizeof *ev);
			if (!p) {
				st = strand_error_set(err, STRAND_ERR_NOMEM,
						      "cannot index %" PRIu64 " events", ncap);
				goto out;
			}
			ev = p;
			cap = ncap;
		}
		struct strand_query_event *e = &ev[n];
		memset(e, 0, sizeof *e);
		e->index = n;
		e->position = rec->position;
		e->type = rec->type;
		e->tid = rec->tid;
		switch (rec->type) {
		case STRAND_REC_SYSCALL:
			e->pc = rec->u.syscall.pc;
			e->number = rec->u.syscall.number;
			e->result = rec->u.syscall.result;
			for (uint32_t k = 0; k < 4 && k < rec->u.syscall.nargs; k++)
				e->args[k] = rec->u.syscall.args[k];
			e->failed = strand_query_syscall_failed(abi, e->result);
			break;
		case STRAND_REC_NONDET:
			e->pc = rec->u.nondet.pc;
			e->number = rec->u.nondet.kind;
			break;
		case STRAND_REC_EXCEPTION:
			e->pc = rec->u.exception.pc;
			e->number = rec->u.exception.code;
			e->failed = true;
			break;
		case STRAND_REC_THREAD_EXIT:
		case STRAND_REC_PROCESS_EXIT:
			e->number = rec->u.exit_code;
			break;
		case STRAND_REC_MODULE_UNLOAD:
			e->number = rec->u.module_id;
			break;
		default:
			break;
		}
		n++;
	}
	*out = ev;
	*nout = n;
	ev = NULL;
out:
	free(ev);
	strand_reader_close(rd);
	if (st < 0)
		strand_error_wrap(err, st, "cannot index events of %s", path);
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
	strand_status st = strand_replay_open(RT(q)->path, &o, out, err);
	if (st < 0)
		strand_error_wrap(err, st, "cannot open a pass on %s", RT(q)->path);
	return st;
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
	uint64_t n, cap;
	uint64_t more;           /* calls after those, counted only */
	bool nomem;
};

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
	uint64_t sp = 0;
	strand_replay_reg(r, cs->q->ptr_size == 4 ? "esp" : "rsp", &sp);
	uint32_t tid = strand_replay_thread(r);
	for (uint64_t i = cs->n; i-- > 0;) {
		struct call_row *c = &cs->rows[i];
		if (c->ret_pos || c->tid != tid || c->ret_addr != pc || sp <= c->sp)
			continue;
		c->ret_pos = position;
		strand_replay_reg(r, cs->q->ptr_size == 4 ? "eax" : "rax", &c->retval);
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
	if (cs->n == cs->cap) {
		uint64_t ncap = cs->cap ? cs->cap * 2 : 64;
		void *p = realloc(cs->rows, ncap * sizeof *cs->rows);
		if (!p) {
			cs->nomem = true;
			return;
		}
		cs->rows = p;
		cs->cap = ncap;
	}
	struct call_row *c = &cs->rows[cs->n++];
	memset(c, 0, sizeof *c);
	unsigned ps = cs->q->ptr_size;
	uint64_t sp = 0;
	strand_replay_reg(r, ps == 4 ? "esp" : "rsp", &sp);
	c->tid = strand_replay_thread(r);
	c->call_pos = position;
	c->sp = sp;
	c->ret_addr = read_ptr(r, sp, ps);
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
	strand_replay_on_block(p, calls_block, &cs);
	st = strand_replay_seek(p, strand_replay_end(p), err);
	if (st < 0)
		goto out;
	if (cs.nomem) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "too many calls");
		goto out;
	}
	qtext(o, "calls of %s (0x%" PRIx64 "): %" PRIu64 "%s\n", fsym, cs.func,
	      cs.n + cs.more, cs.more ? " (first rows shown)" : "");
	qtext(o, "%-4s %-6s %-10s %-10s %-10s %-10s %-10s %-10s %-10s  %s\n", "#",
	      "tid", "call", "return", "arg0", "arg1", "arg2", "arg3", "result", "returns to");
	strand_json_hex_field(o->j, "function", cs.func);
	strand_json_string_field(o->j, "symbol", fsym);
	strand_json_uint_field(o->j, "count", cs.n + cs.more);
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
	strand_json_bool_field(o->j, "truncated", cs.more > 0);
out:
	strand_replay_close(p);
	free(cs.rows);
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
	strand_replay_on_mem(p, mem_row, access, &ms);
	st = strand_replay_seek(p, strand_replay_end(p), err);
	strand_json_end_array(o->j);
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
	uint32_t tid = strand_replay_thread(r);
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

static void find_regs(struct find_state *fs, struct find_thread *t,
		      struct strand_replay *r)
{
	const char *const *names = fs->q->ptr_size == 4 ? gpr32 : gpr64;
	for (int i = 0; names[i]; i++) {
		uint64_t v = 0;
		strand_replay_reg(r, names[i], &v);
		bool has = (v & fs->mask) == fs->value;
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
	strand_replay_on_insn(p, find_insn, &fs);
	strand_replay_on_event(p, find_event, &fs);
	strand_replay_on_mem(p, find_mem, STRAND_WATCH_WRITE, &fs);
	st = strand_replay_seek(p, strand_replay_end(p), err);
	strand_json_end_array(o->j);
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

/* What an origin pass looks for: the last change of a register, or the
 * last write to a memory range, before position `until`. */
struct origin_pass {
	struct strand_query *q;
	uint64_t until;
	const char *reg;            /* register name, or NULL for memory */
	uint32_t tid;               /* thread whose register `reg` is */
	uint64_t addr, len;         /* memory range */
	/* running state */
	uint64_t prev;              /* register value at the last check */
	bool prev_valid;            /* prev was read in thread `tid` */
	uint64_t exec_pos, exec_pc; /* the last instruction (or event) run */
	bool exec_is_syscall;
	uint64_t exec_sysno;
	struct { uint64_t addr; uint32_t size; uint64_t value; } reads[4], wreads[4];
	uint32_t nreads, nwreads;
	/* the answer */
	bool found;
	uint64_t w_pos, w_pc, w_value;
	uint32_t w_tid;             /* thread of the writer */
	bool w_kernel;              /* a syscall or memory event did it */
	uint64_t w_sysno;
};


static void origin_change(struct origin_pass *op, uint64_t value)
{
	op->found = true;
	op->w_pos = op->exec_pos;
	op->w_pc = op->exec_pc;
	op->w_value = value;
	op->w_kernel = op->exec_is_syscall;
	op->w_tid = op->tid;
	op->w_sysno = op->exec_sysno;
	memcpy(op->wreads, op->reads, sizeof op->reads);
	op->nwreads = op->nreads;
}

/* Compare the tracked register with its last value, in its own thread
 * only (another thread's registers are not a change). */
static void origin_check_reg(struct origin_pass *op, struct strand_replay *r)
{
	uint64_t v = 0;
	strand_replay_reg(r, op->reg, &v);
	if (!op->prev_valid) { /* the thread's first instruction: its start value */
		op->prev = v;
		op->prev_valid = true;
		return;
	}
	if (v != op->prev) {
		origin_change(op, v);
		op->prev = v;
	}
}

static void origin_insn(struct strand_replay *r, void *ud, uint64_t position,
			uint64_t pc, uint32_t size)
{
	struct origin_pass *op = ud;
	if (position > op->until)
		return;
	if (op->reg) {
		if (strand_replay_thread(r) != op->tid)
			return; /* the other threads' instructions are not ours */
		origin_check_reg(op, r);
	}
	op->exec_pos = position;
	op->exec_pc = pc;
	op->exec_is_syscall = false;
	op->nreads = 0;
}

static void origin_event(struct strand_replay *r, void *ud,
			 const struct strand_record *rec, bool after)
{
	struct origin_pass *op = ud;
	if (rec->position >= op->until)
		return;
	const struct strand_effects *fx = NULL;
	if (rec->type == STRAND_REC_SYSCALL)
		fx = &rec->u.syscall.fx;
	else if (rec->type == STRAND_REC_MEMORY)
		fx = &rec->u.memory;
	if (!after) {
		/* kernel writes into the range */
		for (uint32_t i = 0; fx && !op->reg && i < fx->nwrites; i++) {
			const struct strand_memwrite *w = &fx->writes[i];
			if (w->addr < op->addr + op->len && w->addr + w->len > op->addr) {
				op->found = true;
				op->w_pos = rec->position;
				op->w_pc = rec->type == STRAND_REC_SYSCALL ? rec->u.syscall.pc : 0;
				op->w_kernel = true;
				op->w_tid = rec->tid;
				op->w_sysno = rec->type == STRAND_REC_SYSCALL
						      ? rec->u.syscall.number : UINT64_MAX;
				op->w_value = 0;
				op->nwreads = 0;
			}
		}
		return;
	}
	if (!strand_rec_is_consuming(rec->type))
		return;
	if (op->reg && rec->tid != op->tid)
		return;
	op->exec_pos = rec->position;
	op->exec_pc = rec->type == STRAND_REC_SYSCALL ? rec->u.syscall.pc : rec->u.nondet.pc;
	op->exec_is_syscall = rec->type == STRAND_REC_SYSCALL;
	op->exec_sysno = rec->type == STRAND_REC_SYSCALL ? rec->u.syscall.number : UINT64_MAX;
	op->nreads = 0;
	if (op->reg && strand_replay_thread(r) == op->tid)
		origin_check_reg(op, r);
}

static void origin_mem(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		       uint64_t addr, uint32_t size, bool is_write, uint64_t value)
{
	struct origin_pass *op = ud;
	if (position >= op->until)
		return;
	if (op->reg && strand_replay_thread(r) != op->tid)
		return;
	if (!is_write) {
		if (op->nreads < 4) {
			op->reads[op->nreads].addr = addr;
			op->reads[op->nreads].size = size;
			op->reads[op->nreads].value = value;
			op->nreads++;
		}
		return;
	}
	if (op->reg || addr >= op->addr + op->len || addr + size <= op->addr)
		return;
	op->found = true;
	op->w_pos = position;
	op->w_pc = pc;
	op->w_value = value;
	op->w_tid = strand_replay_thread(r);
	op->w_kernel = false;
	/* reads of this instruction so far (a read-modify-write or movs) */
	memcpy(op->wreads, op->reads, sizeof op->reads);
	op->nwreads = op->nreads;
}

/* Run one origin pass on a fresh handle; the handle is left at `until`
 * so the caller can disassemble the writer (code does not change). */
static strand_status origin_run(struct strand_query *q, struct origin_pass *op,
				struct strand_replay **pass, strand_error *err)
{
	strand_status st = open_pass(q, pass, err);
	if (st < 0)
		return st;
	uint64_t v;
	if (op->reg && strand_replay_reg(*pass, op->reg, &v) != STRAND_OK)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"unknown register '%s'", op->reg);
	op->prev_valid = false;
	strand_replay_on_insn(*pass, origin_insn, op);
	strand_replay_on_event(*pass, origin_event, op);
	strand_replay_on_mem(*pass, origin_mem, STRAND_WATCH_READ | STRAND_WATCH_WRITE, op);
	if ((st = strand_replay_seek(*pass, op->until, err)) < 0)
		return st;
	if (op->reg && strand_replay_thread(*pass) == op->tid) {
		/* a change by the instruction just before `until` */
		strand_replay_reg(*pass, op->reg, &v);
		if (op->prev_valid && v != op->prev)
			origin_change(op, v);
	}
	return STRAND_OK;
}

/* --- origin over a history log: one pass for the whole chain ---------- */

/* A pass to the session's position records, per instruction executed,
 * which general registers of its thread it changed (and their values),
 * what memory it read and wrote; and every range the kernel wrote.  Each
 * step of the chain is then a backward scan of the log instead of a
 * replay pass.  Used when the position is at most ORIGIN_LOG_MAX (the log
 * costs up to about 270 bytes per instruction); beyond, one pass per step. */
#define ORIGIN_LOG_MAX 1000000u

struct omem {
	uint64_t addr;
	uint32_t size;
	uint64_t value;
};

struct olog_ent {
	uint64_t pos, pc;
	uint64_t sysno;        /* syscall entries: the number */
	uint32_t tid;
	uint32_t vals;         /* index of 16 register values after, if changed */
	uint16_t changed;      /* GPRs of thread tid this entry changed */
	uint8_t syscall;       /* a kernel call (consuming event) */
	uint8_t nreads, nwrites;
	struct omem rd[2], wr[2];
};

struct okwrite {           /* memory written by the kernel */
	uint64_t pos, pc, sysno;
	uint32_t tid;
	uint64_t addr, len;
};

struct olog_thread {
	uint32_t tid;
	bool valid;            /* regs[] read in this thread */
	uint64_t regs[16];
	uint64_t first[16];    /* the registers when the thread was first seen */
	uint64_t last;         /* its last entry + 1; 0 = none */
};

struct olog {
	struct strand_query *q;
	struct olog_ent *e;
	uint64_t n, cap;
	uint64_t *vals;        /* 16 per used slot */
	uint64_t nvals, capvals;
	struct okwrite *kw;
	uint64_t nkw, capkw;
	struct olog_thread th[FIND_MAX_THREADS];
	uint32_t nth;
	bool nomem;
};

static bool grow(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	uint64_t ncap = *cap ? *cap * 2 : 4096;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, ncap * elem);
	if (!np)
		return false;
	*p = np;
	*cap = ncap;
	return true;
}

static struct olog_thread *olog_thread(struct olog *lg, uint32_t tid)
{
	for (uint32_t i = 0; i < lg->nth; i++)
		if (lg->th[i].tid == tid)
			return &lg->th[i];
	if (lg->nth == FIND_MAX_THREADS)
		return NULL;
	struct olog_thread *t = &lg->th[lg->nth++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

/* Compare thread t's registers now with the last read; charge changes to
 * its last entry. */
static void olog_diff(struct olog *lg, struct olog_thread *t, struct strand_replay *r)
{
	struct strand_cpu cpu;
	if (strand_replay_cpu(r, &cpu, NULL) < 0)
		return;
	unsigned n = lg->q->ptr_size == 4 ? 8 : 16;
	uint64_t mask = n == 8 ? 0xffffffffu : UINT64_MAX;
	uint16_t changed = 0;
	for (unsigned i = 0; i < n; i++)
		if (t->valid && (cpu.gpr[i] & mask) != t->regs[i])
			changed |= (uint16_t)(1u << i);
	if (changed && t->last) {
		struct olog_ent *e = &lg->e[t->last - 1];
		if (!e->changed) {
			if (!grow((void **)&lg->vals, &lg->capvals, (lg->nvals + 1) * 16,
				  sizeof *lg->vals)) {
				lg->nomem = true;
				return;
			}
			e->vals = (uint32_t)(lg->nvals / 16);
			lg->nvals += 16;
		}
		e->changed |= changed;
		for (unsigned i = 0; i < n; i++)
			lg->vals[(uint64_t)e->vals * 16 + i] = cpu.gpr[i] & mask;
	}
	for (unsigned i = 0; i < n; i++)
		t->regs[i] = cpu.gpr[i] & mask;
	if (!t->valid)
		memcpy(t->first, t->regs, sizeof t->first);
	t->valid = true;
}

static struct olog_ent *olog_add(struct olog *lg, struct olog_thread *t, uint64_t pos,
				 uint64_t pc)
{
	if (!grow((void **)&lg->e, &lg->cap, lg->n + 1, sizeof *lg->e)) {
		lg->nomem = true;
		return NULL;
	}
	struct olog_ent *e = &lg->e[lg->n++];
	memset(e, 0, sizeof *e);
	e->pos = pos;
	e->pc = pc;
	e->tid = t->tid;
	t->last = lg->n;
	return e;
}

static void olog_insn(struct strand_replay *r, void *ud, uint64_t position,
		      uint64_t pc, uint32_t size)
{
	struct olog *lg = ud;
	struct olog_thread *t = olog_thread(lg, strand_replay_thread(r));
	if (!t || lg->nomem)
		return;
	olog_diff(lg, t, r);
	olog_add(lg, t, position, pc);
}

static void olog_mem(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		     uint64_t addr, uint32_t size, bool is_write, uint64_t value)
{
	struct olog *lg = ud;
	if (!lg->n || lg->nomem)
		return;
	struct olog_ent *e = &lg->e[lg->n - 1]; /* the instruction running */
	if (e->pos != position)
		return;
	struct omem m = { addr, size, value };
	if (is_write && e->nwrites < 2)
		e->wr[e->nwrites++] = m;
	else if (!is_write && e->nreads < 2)
		e->rd[e->nreads++] = m;
}

static void olog_event(struct strand_replay *r, void *ud,
		       const struct strand_record *rec, bool after)
{
	struct olog *lg = ud;
	if (lg->nomem)
		return;
	const struct strand_effects *fx = rec->type == STRAND_REC_SYSCALL ? &rec->u.syscall.fx
					  : rec->type == STRAND_REC_MEMORY ? &rec->u.memory
									   : NULL;
	uint64_t pc = rec->type == STRAND_REC_SYSCALL ? rec->u.syscall.pc : 0;
	uint64_t sysno = rec->type == STRAND_REC_SYSCALL ? rec->u.syscall.number : UINT64_MAX;
	if (!after) {
		for (uint32_t i = 0; fx && i < fx->nwrites; i++) {
			if (!grow((void **)&lg->kw, &lg->capkw, lg->nkw + 1, sizeof *lg->kw)) {
				lg->nomem = true;
				return;
			}
			lg->kw[lg->nkw++] = (struct okwrite){ rec->position, pc, sysno, rec->tid,
							      fx->writes[i].addr, fx->writes[i].len };
		}
		if (strand_rec_is_consuming(rec->type)) {
			/* the previous instruction's changes are its own */
			struct olog_thread *t = olog_thread(lg, rec->tid);
			if (t)
				olog_diff(lg, t, r);
		}
		return;
	}
	if (!strand_rec_is_consuming(rec->type))
		return;
	struct olog_thread *t = olog_thread(lg, rec->tid);
	if (!t)
		return;
	struct olog_ent *e = olog_add(lg, t, rec->position,
				      rec->type == STRAND_REC_SYSCALL ? pc : rec->u.nondet.pc);
	if (!e)
		return;
	e->syscall = rec->type == STRAND_REC_SYSCALL;
	e->sysno = sysno;
	olog_diff(lg, t, r);
}

static void olog_free(struct olog *lg)
{
	free(lg->e);
	free(lg->vals);
	free(lg->kw);
}

/* GPR index of a register name of any width ("al", "ax", "eax", "r8d"),
 * or -1. */
static int gpr_index(const char *name)
{
	static const char *const n32[8][4] = {
		{ "eax", "ax", "al", "ah" }, { "ecx", "cx", "cl", "ch" },
		{ "edx", "dx", "dl", "dh" }, { "ebx", "bx", "bl", "bh" },
		{ "esp", "sp", "spl", NULL }, { "ebp", "bp", "bpl", NULL },
		{ "esi", "si", "sil", NULL }, { "edi", "di", "dil", NULL },
	};
	static const char *const n64[8] = { "rax", "rcx", "rdx", "rbx",
					    "rsp", "rbp", "rsi", "rdi" };
	for (int i = 0; i < 8; i++) {
		if (!strcmp(name, n64[i]))
			return i;
		for (int k = 0; k < 4; k++)
			if (n32[i][k] && !strcmp(name, n32[i][k]))
				return i;
	}
	if (name[0] == 'r' && name[1] >= '0' && name[1] <= '9') {
		int v = atoi(name + 1);
		if (v >= 8 && v <= 15)
			return v;
	}
	return -1;
}

/* One step over the log: the same answer origin_run gives with a pass. */
static int split_insn(char *text, char **mn, char **ops, int max);

/* Does the instruction at pc write general register gi as its first
 * operand (so that writing the value it already had counts too)? */
static bool insn_writes_gpr(struct strand_replay *r, uint64_t pc, int gi)
{
	static const char *const reads_only[] = { "cmp", "test", "push", "bt", "call",
						  "ret", "nop", "out", "bound",
						  "prefetch", NULL };
	char text[96], *mn, *ops[3] = { NULL, NULL, NULL };
	if (strand_replay_disas(r, pc, text, sizeof text, NULL) < 0)
		return false;
	int n = split_insn(strncmp(text, "rep ", 4) ? text : text + 4, &mn, ops, 3);
	if (n < 1 || mn[0] == 'j' || !strncmp(mn, "loop", 4))
		return false;
	for (const char *const *m = reads_only; *m; m++)
		if (!strcmp(mn, *m))
			return false;
	if (gpr_index(ops[0]) == gi)
		return true;
	return !strcmp(mn, "xchg") && n == 2 && gpr_index(ops[1]) == gi;
}

/* Value of register gi of thread tid just after log entry `at`: from the
 * last change at or before it, else the thread's first value. */
static uint64_t olog_value_after(const struct olog *lg, uint64_t at, uint32_t tid, int gi)
{
	for (uint64_t i = at + 1; i-- > 0;) {
		const struct olog_ent *e = &lg->e[i];
		if (e->tid == tid && (e->changed & (1u << gi)))
			return lg->vals[(uint64_t)e->vals * 16 + (unsigned)gi];
	}
	for (uint32_t k = 0; k < lg->nth; k++)
		if (lg->th[k].tid == tid)
			return lg->th[k].first[gi];
	return 0;
}

static bool olog_lookup(const struct olog *lg, struct strand_replay *r,
			struct origin_pass *op)
{
	op->found = false;
	int gi = op->reg ? gpr_index(op->reg) : -1;
	if (op->reg && gi < 0)
		return false; /* not a GPR: the caller falls back to passes */
	for (uint64_t i = lg->n; i-- > 0;) {
		const struct olog_ent *e = &lg->e[i];
		if (e->pos >= op->until)
			continue;
		if (op->reg) {
			if (e->tid != op->tid)
				continue;
			if (e->changed & (1u << gi))
				op->w_value = lg->vals[(uint64_t)e->vals * 16 + (unsigned)gi];
			else if (!e->syscall && insn_writes_gpr(r, e->pc, gi))
				op->w_value = olog_value_after(lg, i, e->tid, gi);
			else
				continue;
		} else {
			int hit = -1;
			for (int k = 0; k < e->nwrites; k++)
				if (e->wr[k].addr < op->addr + op->len &&
				    e->wr[k].addr + e->wr[k].size > op->addr)
					hit = k;
			if (hit < 0)
				continue;
			op->w_value = e->wr[hit].value;
		}
		op->found = true;
		op->w_pos = e->pos;
		op->w_pc = e->pc;
		op->w_tid = e->tid;
		op->w_kernel = e->syscall;
		op->w_sysno = e->sysno;
		op->nwreads = e->nreads;
		memset(op->wreads, 0, sizeof op->wreads);
		for (int k = 0; k < e->nreads; k++) {
			op->wreads[k].addr = e->rd[k].addr;
			op->wreads[k].size = e->rd[k].size;
			op->wreads[k].value = e->rd[k].value;
		}
		break;
	}
	if (!op->reg) { /* a later kernel write wins */
		for (uint64_t i = lg->nkw; i-- > 0;) {
			const struct okwrite *k = &lg->kw[i];
			if (k->pos >= op->until || k->addr >= op->addr + op->len ||
			    k->addr + k->len <= op->addr)
				continue;
			if (!op->found || k->pos >= op->w_pos) {
				op->found = true;
				op->w_pos = k->pos;
				op->w_pc = k->pc;
				op->w_tid = k->tid;
				op->w_kernel = true;
				op->w_sysno = k->sysno;
				op->w_value = 0;
				op->nwreads = 0;
			}
			break;
		}
	}
	return true;
}

/* Record the log on a fresh pass driven to `until`; the pass stays open
 * (for disassembly) in *pass. */
static strand_status olog_record(struct strand_query *q, struct olog *lg, uint64_t until,
				 struct strand_replay **pass, strand_error *err)
{
	memset(lg, 0, sizeof *lg);
	lg->q = q;
	strand_status st = open_pass(q, pass, err);
	if (st < 0)
		return st;
	strand_replay_on_insn(*pass, olog_insn, lg);
	strand_replay_on_event(*pass, olog_event, lg);
	strand_replay_on_mem(*pass, olog_mem, STRAND_WATCH_READ | STRAND_WATCH_WRITE, lg);
	if ((st = strand_replay_seek(*pass, until, err)) < 0)
		return st;
	struct olog_thread *t = olog_thread(lg, strand_replay_thread(*pass));
	if (t) /* the last instruction's changes */
		olog_diff(lg, t, *pass);
	if (lg->nomem)
		return strand_error_set(err, STRAND_ERR_NOMEM,
					"cannot hold the history of %" PRIu64 " instructions", lg->n);
	return STRAND_OK;
}

/* Split "mov eax, dword ptr [ebp - 8]" into mnemonic and operands. */
static int split_insn(char *text, char **mn, char **ops, int max)
{
	char *s = text;
	while (*s == ' ')
		s++;
	*mn = s;
	while (*s && *s != ' ')
		s++;
	int n = 0;
	if (*s)
		*s++ = '\0';
	while (*s && n < max) {
		while (*s == ' ')
			s++;
		ops[n++] = s;
		char *c = strchr(s, ',');
		if (!c)
			break;
		*c = '\0';
		s = c + 1;
	}
	return n;
}

static bool is_reg(struct strand_replay *r, const char *s)
{
	uint64_t v;
	return s && !strchr(s, '[') && strand_replay_reg(r, s, &v) == STRAND_OK;
}

/* The register an address like "[eax + eax + 0x7c803100]" is indexed by:
 * the first register in the brackets that is not the stack or frame
 * pointer (those address locals, not tables), into buf; false if none. */
static bool index_reg(struct strand_replay *r, const char *operand, char *buf,
		      size_t len)
{
	const char *lb = operand ? strchr(operand, '[') : NULL;
	if (!lb)
		return false;
	char tmp[96];
	snprintf(tmp, sizeof tmp, "%s", lb + 1);
	for (char *save = NULL, *t = strtok_r(tmp, " +-*]", &save); t;
	     t = strtok_r(NULL, " +-*]", &save)) {
		if (!strcmp(t, "esp") || !strcmp(t, "ebp") || !strcmp(t, "rsp") ||
		    !strcmp(t, "rbp"))
			continue;
		if (is_reg(r, t)) {
			snprintf(buf, len, "%s", t);
			return true;
		}
	}
	return false;
}

static bool is_mnemonic(const char *mn, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(mn, *list))
			return true;
	return false;
}

static strand_status ext_origin(struct strand_query *q, struct qargs *a, struct qout *o,
				strand_error *err)
{
	static const char *const copies[] = { "mov", "movabs", "movzx", "movsx", "movsxd", "movd",
					      "movq", "pop", "push", "xchg", "cmove",
					      "cmovne", "movsb", "movsw", "movsd",
					      "movsq", "lodsb", "lodsw", "lodsd", "stosb",
					      "stosw", "stosd", "stosq", NULL };
	/* ALU with an immediate: the value came from the destination itself */
	static const char *const self_imm[] = { "or", "and", "add", "sub", "xor",
						"shl", "shr", "sar", "rol", "ror", "inc",
						"dec", "neg", "not", "imul", NULL };
	struct strand_replay *cur = RT(q)->r;
	struct origin_pass op;
	char regname[32] = "";
	uint64_t len = q->ptr_size;
	strand_status st = STRAND_OK;
	memset(&op, 0, sizeof op);
	op.q = q;
	op.until = strand_replay_position(cur);
	op.tid = strand_replay_thread(cur);
	bool passes = false; /* --passes: one replay pass per step, no log */
	if (a->argc > 1 && !strcmp(a->argv[a->argc - 1], "--passes")) {
		passes = true;
		a->argc--;
	}
	if (a->argc < 2)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"usage: origin REG|ADDR [LEN] [--passes]");
	const char *what = a->argv[1];
	if (is_reg(cur, what[0] == '@' ? what + 1 : what)) {
		snprintf(regname, sizeof regname, "%s", what[0] == '@' ? what + 1 : what);
		op.reg = regname;
	} else {
		if ((st = qeval(q, what, &op.addr, err)) < 0)
			return st;
		if (a->argc > 2 && (st = qeval(q, a->argv[2], &len, err)) < 0)
			return st;
		if (len == 0 || len > 8)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"length must be 1..8, not %" PRIu64, len);
		op.len = len;
	}
	char prev_src[96] = ""; /* memory operand of the previous step's load */
	/* one pass and a log when the history fits, else a pass per step */
	struct olog lg;
	struct strand_replay *lp = NULL;
	bool use_log = op.until <= ORIGIN_LOG_MAX && !passes;
	memset(&lg, 0, sizeof lg);
	if (use_log && (st = olog_record(q, &lg, op.until, &lp, err)) < 0) {
		strand_replay_close(lp);
		olog_free(&lg);
		return st;
	}
	strand_json_name(o->j, "chain");
	strand_json_start_array(o->j);
	for (int step = 0; step < 32; step++) {
		struct strand_replay *p = NULL;
		char where[64];
		if (op.reg)
			snprintf(where, sizeof where, "%s", op.reg);
		else
			snprintf(where, sizeof where, "[0x%" PRIx64 "]", op.addr);
		op.found = false;
		if (use_log && olog_lookup(&lg, lp, &op)) {
			p = lp; /* borrowed: closed after the loop */
		} else {
			st = origin_run(q, &op, &p, err);
			if (st < 0) {
				if (p != lp)
				strand_replay_close(p);
				break;
			}
		}
		char sym[160] = "", insn[96] = "", desc[256] = "";
		const char *kind;
		if (!op.found) {
			kind = "initial";
			qtext(o, "#%-2d %-14s holds its value since the initial snapshot\n",
			      step, where);
			/* a load from a table nobody wrote: the index is the news */
			char idx[32];
			if (!op.reg && index_reg(p, prev_src, idx, sizeof idx)) {
				strand_json_start_object(o->j);
				strand_json_string_field(o->j, "location", where);
				strand_json_string_field(o->j, "kind", kind);
				strand_json_string_field(o->j, "next", "index");
				strand_json_string_field(o->j, "index", idx);
				strand_json_end_object(o->j);
				qtext(o, "    (a table lookup: following its index %s)\n", idx);
				snprintf(regname, sizeof regname, "%s", idx);
				op.reg = regname;
				prev_src[0] = '\0';
				if (p != lp)
				strand_replay_close(p);
				continue; /* same position: the index before the load */
			}
		} else {
			strand_replay_symbolize(p, op.w_pc, sym, sizeof sym);
			if (op.w_kernel)
				snprintf(insn, sizeof insn, "(kernel)");
			else
				strand_replay_disas(p, op.w_pc, insn, sizeof insn, NULL);
			if (op.reg)
				describe(q, op.w_value, false, desc, sizeof desc);
			kind = op.w_kernel ? "kernel" : "instruction";
		}
		strand_json_start_object(o->j);
		strand_json_string_field(o->j, "location", where);
		strand_json_string_field(o->j, "kind", kind);
		if (op.found) {
			strand_json_uint_field(o->j, "position", op.w_pos);
			strand_json_uint_field(o->j, "tid", op.w_tid);
			strand_json_hex_field(o->j, "pc", op.w_pc);
			strand_json_string_field(o->j, "symbol", sym);
			strand_json_string_field(o->j, "instruction", insn);
			strand_json_hex_field(o->j, "value", op.w_value);
			if (desc[0])
				strand_json_string_field(o->j, "value_text", desc);
			if (op.w_kernel && op.w_sysno != UINT64_MAX) {
				const char *nm = strand_syscall_name(q->abi, q->arch,
								     (uint32_t)op.w_sysno);
				strand_json_hex_field(o->j, "syscall", op.w_sysno);
				strand_json_string_field(o->j, "syscall_name", nm);
			}
		}
		if (!op.found || op.w_kernel) {
			if (op.found)
				qtext(o, "#%-2d %-14s position %-8" PRIu64 " %s: %s by the kernel (syscall %s)\n",
				      step, where, op.w_pos, sym, op.reg ? "returned" : "written",
				      op.w_sysno != UINT64_MAX && strand_syscall_name(q->abi, q->arch, (uint32_t)op.w_sysno)
					      ? strand_syscall_name(q->abi, q->arch, (uint32_t)op.w_sysno)
					      : "event");
			strand_json_string_field(o->j, "next", "end");
			strand_json_end_object(o->j);
			if (p != lp)
				strand_replay_close(p);
			break;
		}
		bool named = strncmp(sym, "0x", 2) != 0; /* else the address is all */
		qtext(o, "#%-2d %-14s position %-8" PRIu64 " 0x%08" PRIx64 "%s%s: %s   -> 0x%" PRIx64 "%s%s\n",
		      step, where, op.w_pos, op.w_pc, named ? " " : "", named ? sym : "", insn,
		      op.w_value, desc[0] ? "  " : "", desc);
		/* decide where the value came from */
		char text[96], *mn, *ops[3] = { NULL, NULL, NULL };
		snprintf(text, sizeof text, "%s", insn);
		char *rep = strncmp(text, "rep ", 4) == 0 ? text + 4 : text;
		int nops = split_insn(rep, &mn, ops, 3);
		const char *next = "end";
		uint64_t next_until = op.w_pos; /* state before the writer ran */
		op.tid = op.w_tid;              /* its inputs are its thread's */
		const char *other = NULL;       /* a second input we do not follow */
		prev_src[0] = '\0';
		if (is_mnemonic(mn, copies) || !strncmp(mn, "cmov", 4)) {
			/* memory source: the instruction's read, if it made one */
			const char *src = nops >= 2 ? ops[1] : NULL;
			if (!strcmp(mn, "push") && nops >= 1)
				src = ops[0];
			if (op.nwreads > 0 && (!src || strchr(src, '[') || !strcmp(mn, "pop") ||
					       !strncmp(mn, "movs", 4) || !strncmp(mn, "lods", 4))) {
				op.reg = NULL;
				op.addr = op.wreads[0].addr;
				op.len = op.wreads[0].size;
				next = "memory";
				snprintf(prev_src, sizeof prev_src, "%s", src ? src : "");
			} else if (src && is_reg(p, src)) {
				snprintf(regname, sizeof regname, "%s", src);
				op.reg = regname;
				next = "register";
			} else {
				next = "constant";
			}
		} else if (!strcmp(mn, "xor") && nops == 2 && !strcmp(ops[0], ops[1])) {
			next = "constant";
		} else if (op.reg && is_mnemonic(mn, self_imm) && nops >= 1 &&
			   !strcmp(ops[0], op.reg)) {
			/* follow the destination, the value being transformed;
			 * a register second operand is named, not followed */
			next = "computed-from-itself";
			if (nops >= 2 && is_reg(p, ops[1]))
				other = ops[1];
		} else if (op.reg && !strcmp(mn, "lea") && nops == 2 &&
			   index_reg(p, ops[1], regname, sizeof regname)) {
			op.reg = regname;
			next = "computed-from-address";
		} else {
			next = "computed";
		}
		strand_json_string_field(o->j, "next", next);
		if (other) {
			strand_json_string_field(o->j, "other_input", other);
			qtext(o, "    (also uses %s: 'seek %" PRIu64 "; origin %s' follows it)\n",
			      other, op.w_pos, other);
		}
		strand_json_end_object(o->j);
		if (p != lp)
				strand_replay_close(p);
		if (!strcmp(next, "constant") || !strcmp(next, "computed") || !strcmp(next, "end")) {
			qtext(o, "    (%s here)\n", next);
			break;
		}
		op.until = next_until;
	}
	strand_json_end_array(o->j);
	strand_replay_close(lp);
	olog_free(&lg);
	return st;
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
				   : strand_syscall_name(q->abi, q->arch, (uint32_t)number);
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
	if (strand_syscall_decode_object(r, q->abi, q->arch, &rec->u.syscall, buf,
					 sizeof buf) && buf[0]) {
		os->rt->objects[os->cursor] = strdup(buf);
		if (!os->rt->objects[os->cursor])
			os->nomem = true;
	}
	os->cursor++;
}

static const char *ext_syscall_object(struct strand_query *q, uint64_t idx,
				      strand_error *err)
{
	struct rtarget *rt = RT(q);
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
		strand_status st = strand_replay_seek(p, strand_replay_end(p), err);
		strand_replay_close(p);
		if (st < 0) {
			strand_error_wrap(err, st, "cannot decode syscall arguments");
			return NULL;
		}
	}
	return idx < rt->nobjects && rt->objects[idx] ? rt->objects[idx] : "";
}

static const struct qext replay_ext = {
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
	if (rt->owned)
		strand_replay_close(rt->r);
	for (uint64_t i = 0; rt->objects && i < rt->nobjects; i++)
		free(rt->objects[i]);
	free(rt->objects);
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
		if (!rt->path) {
			free(rt);
			return strand_error_set(err, STRAND_ERR_NOMEM,
						"cannot allocate query session");
		}
		if ((st = build_index(rt->path, info->abi, &ev, &nev, err)) < 0) {
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

strand_status strand_query_open(const char *path,
				const struct strand_replay_options *ropt,
				struct strand_query **out, strand_error *err)
{
	struct strand_replay *r = NULL;
	strand_status st = strand_replay_open(path, ropt, &r, err);
	if (st < 0)
		return st;
	struct strand_query_options qo = { .trace_path = path };
	if ((st = strand_query_new(r, &qo, out, err)) < 0) {
		strand_replay_close(r);
		return st;
	}
	((struct rtarget *)(*out)->ext_ud)->owned = true;
	return STRAND_OK;
}

struct strand_replay *strand_query_replay(struct strand_query *q)
{
	return q->ops == &replay_ops ? R(q->t) : NULL;
}
