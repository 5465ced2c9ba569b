/* errorflow: how a failure propagated from a kernel status to the symptom
 * the user saw, found by following data flow BACKWARD from the symptom.
 *
 * Symptoms (found generically, by what the process did):
 *   - a fatal exception (crash);
 *   - a Windows service reporting SERVICE_STOPPED with an exit code
 *     (a call to the SetServiceStatus export);
 *   - an error line written to the debug log or stderr (an OUTPUT event;
 *     the bytes are located in the buffer the writing syscall was given);
 *   - a non-zero process exit status (the exit syscall's argument).
 *
 * Method.  The main pass only notes the symptoms (events, the service
 * call, where an output's bytes are) and kernel calls; nothing is logged
 * per instruction.  finish() then asks the data-flow engine
 * (strand/dataflow.h) where each symptom's bytes or register came from,
 * as they were at the symptom's position: the engine replays bounded
 * windows before that position on its own handle, widening backward, so
 * the answer does not depend on how far the symptom is from the start.
 * The chain shown is the path from the origin to the symptom, one step
 * per function and value, with a stack at each step (from copies of the
 * shared shadow stack taken every 2^20 instructions in the main pass, so
 * a stack costs at most one such stretch of replay).
 *
 * Nothing here knows module names, symbols or addresses of a scenario:
 * the only Windows knowledge is the SetServiceStatus contract. */
#include "analyses/internal.h"
#include "analyses/symptom.h"
#include "strand/dataflow.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REG_BIT(i) STRAND_DF_REG_BIT(i)

/* Instructions between copies of the shadow stack (stacks of the chain). */
#define STACK_SNAPSHOT_EVERY (1ull << 20)
/* Outputs remembered (the error line is among the last ones). */
#define MAX_OUTPUTS 256u

struct sysinfo {
	uint64_t pos;
	uint32_t tid;
	uint32_t number;
	uint64_t result;
	uint64_t args[8];
	uint32_t nargs;
	uint64_t args_base; /* Windows x86-32: address of argument 0 on the stack */
	char obj[200];
};

enum sink_kind { SINK_CRASH = 1, SINK_SERVICE = 2, SINK_LOG = 3, SINK_EXIT = 4 };

struct sink {
	enum sink_kind kind;
	uint64_t pos;
	uint32_t tid;
	uint64_t start;      /* the flow is followed as it was at this position */
	uint64_t value;
	uint64_t reg_mask;   /* tainted registers of tid at the start */
	uint64_t mem_addr;   /* tainted bytes at the start, mem_len 0 if none */
	uint32_t mem_len;
	bool specific;       /* service: the value is dwServiceSpecificExitCode */
	char text[512];      /* log line, description */
	char detail[256];
	bool have_flow;      /* locations known */
	struct sym_choice line; /* SINK_LOG: the line as chosen */
};

struct outrec {
	uint64_t pos;
	uint32_t tid;
	uint32_t stream;
	uint32_t len;
	char data[512];
	bool located;
	bool constant;       /* the bytes are constant data (a message table) */
	uint64_t buf;        /* guest address of the bytes */
	uint32_t argi;       /* which syscall argument pointed at them */
	int64_t sys;         /* index in sys[] of the writing syscall, -1 */
};

struct errorflow {
	struct strand_analysis *a;
	struct strand_replay *r;
	struct strand_callstack *cs;
	strand_arch arch;
	strand_abi abi;
	const struct strand_systable *systable; /* the trace's service table, NULL = built in */

	struct strand_dataflow *df;     /* owned: over the main pass's handle */
	struct sysinfo *sys; uint32_t nsys, capsys;
	struct outrec *out; uint32_t nout, capout;
	uint64_t outputs_dropped;
	struct sink sinks[8]; uint32_t nsinks;
	struct sink crash, service, exit;
	bool have_crash, have_service, have_exit;
	uint64_t service_reports;
	uint64_t logged, accesses, windows; /* engine totals */
	struct strand_stack *crash_stack;
};

static const char *reg_name(const struct errorflow *s, unsigned idx, char *buf, size_t len)
{
	return strand_df_reg_name(s->arch, idx, buf, len);
}

/* ------------------------------------------------------ the main pass */

static struct sysinfo *last_sys_of(struct errorflow *s, uint32_t tid)
{
	for (uint32_t i = s->nsys; i-- > 0;)
		if (s->sys[i].tid == tid)
			return &s->sys[i];
	return NULL;
}

static const struct sysinfo *sys_at(const struct errorflow *s, uint64_t pos, uint32_t tid)
{
	uint32_t lo = 0, hi = s->nsys; /* sys[] is in position order */
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (s->sys[mid].pos < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t i = lo; i < s->nsys && s->sys[i].pos == pos; i++)
		if (s->sys[i].tid == tid)
			return &s->sys[i];
	return NULL;
}

/* Is the output's text at one of the syscall's pointer arguments? */
static bool locate_output(struct errorflow *s, struct strand_replay *r, struct outrec *o,
			  struct sysinfo *sc)
{
	char buf[512];
	for (uint32_t i = 0; i < sc->nargs; i++) {
		uint64_t p = sc->args[i];
		if (p < 0x10000)
			continue;
		if (strand_replay_read(r, p, buf, o->len, NULL) == o->len &&
		    !memcmp(buf, o->data, o->len)) {
			o->located = true;
			o->buf = p;
			o->argi = i;
			o->sys = sc - s->sys;
			o->constant = s->df && strand_dataflow_constant(s->df, r, p, o->len);
			return true;
		}
	}
	return false;
}

static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	struct errorflow *s = ud;
	switch (rec->type) {
	case STRAND_REC_SYSCALL: {
		const struct strand_syscall *sc = &rec->u.syscall;
		if (after)
			break;
		if (s->nsys == s->capsys) {
			uint32_t cap = s->capsys ? s->capsys * 2 : 256;
			struct sysinfo *n = realloc(s->sys, cap * sizeof *n);
			if (!n)
				return;
			s->sys = n;
			s->capsys = cap;
		}
		struct sysinfo *si = &s->sys[s->nsys++];
		memset(si, 0, sizeof *si);
		si->pos = rec->position;
		si->tid = rec->tid;
		si->number = sc->number;
		si->result = sc->result;
		si->nargs = sc->nargs > 8 ? 8 : sc->nargs;
		memcpy(si->args, sc->args, sizeof si->args);
		if (s->abi == STRAND_ABI_WINDOWS_NT && s->arch == STRAND_ARCH_X86_32) {
			uint64_t edx = 0;
			strand_replay_reg(r, "edx", &edx);
			si->args_base = edx + 8;
		}
		strand_syscall_decode_object_in(r, s->systable, s->abi, s->arch, sc, si->obj, sizeof si->obj);
		/* an output announced before its syscall */
		for (uint32_t i = s->nout; i-- > 0 && s->nout - i <= 4;)
			if (!s->out[i].located && s->out[i].tid == rec->tid)
				locate_output(s, r, &s->out[i], si);
		break;
	}
	case STRAND_REC_EXCEPTION:
		if (!after && rec->u.exception.flags & STRAND_EXC_F_FATAL && !s->have_crash) {
			struct sink *k = &s->crash;
			s->have_crash = true;
			k->kind = SINK_CRASH;
			k->pos = rec->position;
			k->tid = rec->tid;
			k->value = rec->u.exception.code;
			char sym[160];
			strand_replay_symbolize(r, rec->u.exception.pc, sym, sizeof sym);
			snprintf(k->text, sizeof k->text, "%s 0x%" PRIx64 " at %s (pc=0x%" PRIx64
				 ", address=0x%" PRIx64 ")",
				 rec->u.exception.kind == STRAND_EXC_SIGNAL ? "signal" : "exception",
				 rec->u.exception.code, sym, rec->u.exception.pc, rec->u.exception.addr);
			if (s->cs)
				strand_callstack_capture(s->cs, rec->tid, &s->crash_stack, NULL);
		}
		break;
	case STRAND_REC_OUTPUT: {
		if (after)
			break;
		if (s->nout == MAX_OUTPUTS) {
			/* the oldest go: the error line is one of the last */
			memmove(s->out, s->out + 1, (s->nout - 1) * sizeof *s->out);
			s->nout--;
			s->outputs_dropped++;
		}
		if (s->nout == s->capout) {
			uint32_t cap = s->capout ? s->capout * 2 : 64;
			struct outrec *n = realloc(s->out, cap * sizeof *n);
			if (!n)
				return;
			s->out = n;
			s->capout = cap;
		}
		struct outrec *o = &s->out[s->nout++];
		memset(o, 0, sizeof *o);
		o->pos = rec->position;
		o->tid = rec->tid;
		o->stream = rec->u.output.stream;
		o->len = rec->u.output.len < sizeof o->data - 1 ? rec->u.output.len
								: (uint32_t)sizeof o->data - 1;
		if (o->len) /* an empty OUTPUT may have no data pointer */
			memcpy(o->data, rec->u.output.data, o->len);
		o->sys = -1;
		struct sysinfo *sc = last_sys_of(s, rec->tid);
		if (sc)
			locate_output(s, r, o, sc);
		break;
	}
	case STRAND_REC_PROCESS_EXIT:
		if (!after && !s->have_exit) {
			struct sink *k = &s->exit;
			s->have_exit = true;
			k->kind = SINK_EXIT;
			k->pos = rec->position;
			k->tid = rec->tid;
			k->value = rec->u.exit_code;
			snprintf(k->text, sizeof k->text, "process exited with status %" PRId64
				 " (0x%" PRIx64 ")", (int64_t)rec->u.exit_code, rec->u.exit_code);
			/* the exit syscall's status argument; a recorder may end the
			 * trace at the exit instruction without a SYSCALL record, then
			 * the registers at the end hold the arguments */
			struct sysinfo *sc = last_sys_of(s, rec->tid);
			const char *nm = sc ? strand_syscall_name_in(s->systable, s->abi, s->arch, sc->number) : NULL;
			bool is_exit = nm && (!strcmp(nm, "NtTerminateProcess") || !strcmp(nm, "exit_group") ||
					      !strcmp(nm, "exit"));
			if (s->abi == STRAND_ABI_WINDOWS_NT && is_exit && sc->args_base) {
				k->start = sc->pos;
				k->mem_addr = sc->args_base + 4; /* NtTerminateProcess(h, status) */
				k->mem_len = 4;
				k->have_flow = true;
			} else if (s->abi == STRAND_ABI_LINUX) {
				k->start = is_exit ? sc->pos : rec->position;
				k->reg_mask = REG_BIT(s->arch == STRAND_ARCH_X86_64 ? STRAND_REG_RDI
										    : STRAND_REG_RBX);
				k->have_flow = true;
			}
		}
		break;
	default:
		break;
	}
}

/* A service reporting its status: SetServiceStatus(handle, &status). */
static void on_call(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	struct errorflow *s = ud;
	if (s->abi != STRAND_ABI_WINDOWS_NT)
		return;
	const struct strand_module *m;
	const struct strand_symbol *sym;
	if (strand_replay_find_symbol(r, c->to, &m, &sym) != STRAND_OK || sym->addr != c->to ||
	    strcmp(sym->name, "SetServiceStatus"))
		return;
	s->service_reports++;
	uint64_t args[2];
	conv_read_args(r, s->arch, CONV_AUTO, c->sp_after, 2, args);
	bool ok;
	/* SERVICE_STATUS: dwServiceType, dwCurrentState, dwControlsAccepted,
	 * dwWin32ExitCode, dwServiceSpecificExitCode, dwCheckPoint, dwWaitHint */
	uint64_t state = mem_read_uint(r, args[1] + 4, 4, &ok);
	uint64_t w32 = mem_read_uint(r, args[1] + 12, 4, NULL);
	uint64_t spec = mem_read_uint(r, args[1] + 16, 4, NULL);
	if (!ok || state != 1 /* SERVICE_STOPPED */ || w32 == 0)
		return;
	struct sink *k = &s->service;
	s->have_service = true;
	memset(k, 0, sizeof *k);
	k->kind = SINK_SERVICE;
	k->pos = c->position;
	k->tid = c->tid;
	k->start = c->position + 1; /* after the call instruction */
	bool specific = w32 == 1066; /* ERROR_SERVICE_SPECIFIC_ERROR */
	k->value = specific ? spec : w32;
	k->specific = specific;
	k->mem_addr = args[1] + (specific ? 16 : 12);
	k->mem_len = 4;
	k->have_flow = true;
	char caller[160];
	strand_replay_symbolize(r, c->from, caller, sizeof caller);
	snprintf(k->text, sizeof k->text,
		 "service reported SERVICE_STOPPED with %s 0x%08" PRIX64 " (%" PRIu64 ") from %s",
		 specific ? "dwServiceSpecificExitCode" : "dwWin32ExitCode", k->value, k->value, caller);
}

/* ------------------------------------------------------------- output */

/* A status meaning for a value of the chain, only where it is used as a
 * status: at the kernel call, where it crosses into another function (a
 * return value, an argument) or is the symptom (`status_point`), or
 * anywhere when it has a status's own shape (an -errno, an NTSTATUS or
 * HRESULT with its severity bits); never for characters, indices or
 * counters. */
static void describe_value(struct errorflow *s, struct strand_rnode *o, uint64_t v, uint32_t size,
			   bool status_point)
{
	char buf[512];
	if (size == 1)
		return;
	if (!status_point && s->abi == STRAND_ABI_WINDOWS_NT && !((uint32_t)v & 0x80000000u))
		return;
	if (s->abi == STRAND_ABI_LINUX) {
		int64_t sv = (int64_t)v;
		if (sv < 0 && sv >= -4095 && strand_errno_lookup((uint32_t)-sv))
			strand_r_string(o, "meaning",
					strand_code_describe(STRAND_CODE_ERRNO, v, buf, sizeof buf));
		return;
	}
	unsigned k = strand_code_guess(v);
	if (k)
		strand_r_string(o, "meaning", strand_code_describe(k, v, buf, sizeof buf));
}

static void func_of(struct errorflow *s, uint64_t pc, char *buf, size_t len);

/* Do two instruction addresses lie in the same function (symbol)? */
static bool same_function(struct errorflow *s, uint64_t a, uint64_t b)
{
	char fa[160], fb[160];
	func_of(s, a, fa, sizeof fa);
	func_of(s, b, fb, sizeof fb);
	return !strcmp(fa, fb);
}

static void func_of(struct errorflow *s, uint64_t pc, char *buf, size_t len)
{
	const struct strand_module *m;
	const struct strand_symbol *sym;
	if (strand_replay_find_symbol(s->r, pc, &m, &sym) == STRAND_OK)
		snprintf(buf, len, "%s!%s", m->name, sym->name);
	else
		strand_replay_symbolize(s->r, pc, buf, len);
}



static const char *sink_kind_str(enum sink_kind k)
{
	switch (k) {
	case SINK_CRASH: return "crash";
	case SINK_SERVICE: return "service_stop";
	case SINK_LOG: return "error_log";
	case SINK_EXIT: return "exit_status";
	}
	return "?";
}

static void emit_origin(struct errorflow *s, struct strand_rnode *o, const struct strand_df_step *x)
{
	char buf[512];
	const struct sysinfo *si = x->kind == STRAND_DF_SYSCALL ? sys_at(s, x->position, x->tid) : NULL;
	if (x->kind == STRAND_DF_SYSCALL) {
		uint32_t number = si ? si->number : x->syscall;
		uint64_t result = si ? si->result : x->result;
		const char *name = strand_syscall_name_in(s->systable, s->abi, s->arch, number);
		strand_r_string(o, "kind", "syscall");
		strand_r_position(o, "position", x->position);
		strand_r_uint(o, "tid", x->tid);
		strand_r_string(o, "syscall", name ? name : "?");
		if (si && si->obj[0])
			strand_r_string(o, "object", si->obj);
		struct strand_rnode *rv = strand_r_hex(o, "status", result);
		bool failed = strand_syscall_failed(s->abi, s->arch, result);
		if (rv && failed)
			rv->flags |= STRAND_RF_ALERT;
		strand_r_string(o, "status_text",
				strand_syscall_result_str(s->abi, s->arch, result, buf, sizeof buf));
		strand_r_bool(o, "failed", failed);
		/* the flow entered the call through bytes it wrote, not its
		 * result: an out-parameter (the value may be a status of its own) */
		if (!x->loc_is_reg && x->size && x->have_value) {
			struct strand_rnode *w = strand_r_object(o, "out_parameter");
			strand_r_hex(w, "address", x->addr);
			strand_r_uint(w, "size", x->size);
			strand_r_hex(w, "value", x->value);
		}
	} else if (x->kind == STRAND_DF_EVENT) {
		strand_r_string(o, "kind", "event");
		strand_r_position(o, "position", x->position);
	} else {
		strand_r_string(o, "kind", "constant");
		strand_r_position(o, "position", x->position);
		strand_r_uint(o, "tid", x->tid);
		char sym[160];
		strand_replay_symbolize(s->r, x->pc, sym, sizeof sym);
		strand_r_string(o, "where", sym);
		if (x->have_value)
			strand_r_hex(o, "value", x->value);
	}
}

static const char *step_what(const struct strand_df_step *x)
{
	switch (x->kind) {
	case STRAND_DF_TABLE: return "value loaded from a constant table (index followed)";
	case STRAND_DF_COMPARE: return "key compared against the table (search loop)";
	case STRAND_DF_CONTROL: return "branch that chose the constant (its condition followed)";
	default: return NULL;
	}
}

/* The innermost frame of `st` in the main executable, as "program_frame"
 * of the origin `o`, when the origin itself lies outside it and the frame
 * is not the thread's entry. */
static void program_frame(struct errorflow *s, struct strand_rnode *o, const struct strand_stack *st)
{
	uint32_t nm = 0;
	const struct strand_module *const *mods = strand_replay_modules(s->r, &nm);
	const struct strand_module *main_mod = NULL;
	for (uint32_t i = 0; i < nm && !main_mod; i++)
		if (mods[i]->flags & STRAND_MODULE_F_MAIN)
			main_mod = mods[i];
	if (!main_mod || !st->nframes)
		return;
	for (uint32_t i = 0; i < st->nframes; i++) {
		uint64_t pc = st->frames[i].pc;
		if (pc < main_mod->base || pc - main_mod->base >= main_mod->size)
			continue;
		/* the outermost frame (the entry, _start) decided nothing */
		if (i > 0 && i + 1 < st->nframes)
			strand_r_string(o, "program_frame", st->frames[i].symbol);
		return;
	}
}

/* The chain of sink k into `o`, by the engine. */
static strand_status emit_chain(struct errorflow *s, const struct sink *k, struct strand_rnode *o,
				strand_error *err)
{
	strand_status st = STRAND_OK;
	struct strand_df_stack_req *req = NULL;
	int32_t *path = NULL, *keep = NULL;
	uint32_t n = 0, np = 0, nkeep = 0;
	struct strand_df_result *res = NULL;
	struct strand_df_query q = { .position = k->start, .tid = k->tid, .regs = k->reg_mask,
				     .addr = k->mem_addr, .len = k->mem_len };
	if (!s->df)
		return strand_error_set(err, STRAND_ERR_INVALID, "errorflow: no data-flow engine");
	st = strand_dataflow_follow(s->df, &q, &res, err);
	if (st < 0)
		return strand_error_wrap(err, st, "errorflow: following the %s symptom at position=%" PRIu64,
					 sink_kind_str(k->kind), k->pos);
	s->logged += res->logged;
	s->accesses += res->accesses;
	s->windows += res->windows;
	if (res->cut)
		strand_r_string(o, "note", res->note);
	int32_t origin = res->origin;
	if (origin < 0) {
		strand_r_string(strand_r_object(o, "no_origin"), "explanation",
				"no instruction or kernel call in the trace produced this value "
				"(it comes from the initial snapshot, or through control flow only)");
		goto out;
	}
	const struct strand_df_step *steps = res->steps;
	strand_r_string(o, "found_by", steps[origin].via_control ? "control flow" : "data flow");
	struct strand_rnode *orn = strand_r_object(o, "origin");
	emit_origin(s, orn, &steps[origin]);
	for (int32_t i = origin; i >= 0; i = steps[i].parent)
		n++;
	path = calloc(n, sizeof *path);
	keep = calloc(n, sizeof *keep);
	req = calloc(n, sizeof *req);
	if (!path || !keep || !req) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "errorflow: out of memory");
		goto out;
	}
	for (int32_t i = origin; i >= 0 && np < n; i = steps[i].parent)
		path[np++] = i;
	/* keep one step per run of (function, value): the first of each run,
	 * plus table lookups, compares and branches, which explain a change */
	char prev_fn[160] = "";
	uint64_t prev_val = ~0ull;
	for (uint32_t i = 0; i < np; i++) {
		const struct strand_df_step *x = &steps[path[i]];
		if (x->kind == STRAND_DF_QUERY)
			continue;
		bool is_event = x->kind == STRAND_DF_SYSCALL || x->kind == STRAND_DF_EVENT;
		bool special = x->kind == STRAND_DF_TABLE || x->kind == STRAND_DF_COMPARE ||
			       x->kind == STRAND_DF_CONTROL;
		char fn[160];
		if (is_event)
			snprintf(fn, sizeof fn, "kernel");
		else
			func_of(s, x->pc, fn, sizeof fn);
		uint64_t v = x->have_value ? x->value : prev_val;
		bool interesting = special || strcmp(fn, prev_fn) || v != prev_val || i == 0;
		/* a value only saved and restored (push/pop of a callee-saved
		 * register, a spill) is not a step worth showing */
		if (interesting && !special && v == prev_val && !is_event &&
		    (!strncmp(x->insn, "push ", 5) || !strncmp(x->insn, "pop ", 4)))
			interesting = false;
		snprintf(prev_fn, sizeof prev_fn, "%s", fn);
		prev_val = v;
		/* the step that wrote the symptom's location is always shown */
		bool last = i + 1 < np && steps[path[i + 1]].kind == STRAND_DF_QUERY;
		if ((!interesting && !last) || nkeep >= 60)
			continue;
		keep[nkeep] = path[i];
		req[nkeep].position = x->position;
		req[nkeep].tid = x->tid;
		nkeep++;
	}
	strand_r_uint(o, "steps_total", np);
	/* stacks are an aid to reading the chain: if the replay to one of
	 * its positions fails, the chain is shown without them */
	strand_error se;
	strand_error_clear(&se);
	if (strand_dataflow_stacks(s->r, s->cs, req, nkeep, &se) < 0)
		strand_r_stringf(o, "stacks_note", "stacks of the steps not available: %s", se.msg);
	/* a value the program's code produced: the innermost frame of the
	 * main executable at the origin says where the program decided (the
	 * origin itself is often inside the C library's formatting) */
	if (nkeep && keep[0] == origin && req[0].stack && steps[origin].kind != STRAND_DF_SYSCALL &&
	    steps[origin].kind != STRAND_DF_EVENT)
		program_frame(s, orn, req[0].stack);
	struct strand_rnode *list = strand_r_list(o, "steps");
	for (uint32_t i = 0; i < nkeep; i++) {
		const struct strand_df_step *x = &steps[keep[i]];
		struct strand_rnode *so = strand_r_object(list, NULL);
		strand_r_position(so, "position", x->position);
		strand_r_uint(so, "tid", x->tid);
		char buf[256];
		if (x->kind == STRAND_DF_SYSCALL || x->kind == STRAND_DF_EVENT) {
			const char *name = x->kind == STRAND_DF_SYSCALL
						   ? strand_syscall_name_in(s->systable, s->abi, s->arch, x->syscall) : NULL;
			strand_r_stringf(so, "where", "kernel: %s", name ? name : "event");
			strand_r_string(so, "what", "result written by the kernel");
		} else {
			strand_r_hex(so, "pc", x->pc);
			strand_replay_symbolize(s->r, x->pc, buf, sizeof buf);
			strand_r_string(so, "where", buf);
			if (x->insn[0])
				strand_r_string(so, "instruction", x->insn);
			if (step_what(x))
				strand_r_string(so, "what", step_what(x));
		}
		bool no_loc = x->kind == STRAND_DF_COMPARE;
		if (no_loc) {
			/* the compare defines nothing: no location, no value */
		} else if (x->loc_is_reg) {
			strand_r_string(so, "location", reg_name(s, x->reg, buf, sizeof buf));
		} else {
			strand_r_stringf(so, "location", "[0x%" PRIx64 "] (%u bytes)", x->addr, x->size);
		}
		if (x->have_value && !no_loc) {
			strand_r_hex(so, "value", x->value);
			const struct strand_module *fm;
			const struct strand_symbol *fs;
			bool crosses = i + 1 < nkeep && x->pc && steps[keep[i + 1]].pc &&
				       strand_replay_find_symbol(s->r, x->pc, &fm, &fs) == STRAND_OK &&
				       !same_function(s, x->pc, steps[keep[i + 1]].pc);
			describe_value(s, so, x->value, x->loc_is_reg ? 4 : x->size,
				       x->kind == STRAND_DF_SYSCALL || i + 1 == nkeep || crosses);
		}
		if (req[i].stack)
			strand_r_stack(so, "stack", req[i].stack);
	}
out:
	for (uint32_t i = 0; req && i < nkeep; i++)
		strand_stack_free(req[i].stack);
	free(req);
	free(keep);
	free(path);
	strand_df_result_free(res);
	return st;
}

/* ------------------------------------------------------------ symptoms */

/* The program's basename (the main module), for diagnostic prefixes. */
static const char *program_name(struct errorflow *s)
{
	uint32_t n = 0;
	const struct strand_module *const *m = strand_replay_modules(s->r, &n);
	for (uint32_t i = 0; m && i < n; i++)
		if (m[i]->flags & STRAND_MODULE_F_MAIN)
			return m[i]->name;
	return NULL;
}

/* The error line: chosen by analyses/symptom.c among the lines the
 * process wrote (assembled across writes); the bytes followed are the
 * reported code, else the status message, else the line's last write. */
static void build_log_sink(struct errorflow *s)
{
	struct sym_piece *pc = calloc(s->nout ? s->nout : 1, sizeof *pc);
	struct sym_choice ch;
	if (!pc)
		return;
	for (uint32_t i = 0; i < s->nout; i++)
		pc[i] = (struct sym_piece){ s->out[i].stream, s->out[i].tid, s->out[i].data,
					    s->out[i].len,
					    s->out[i].located && s->out[i].sys >= 0 };
	uint64_t exit_status = s->exit.value;
	bool found = sym_choose_tied(s->abi, program_name(s), pc, s->nout,
				     s->have_exit && s->abi == STRAND_ABI_LINUX ? &exit_status : NULL, &ch);
	free(pc);
	if (!found)
		return;
	struct outrec *o = &s->out[ch.flow_piece];
	struct sink *k = &s->sinks[s->nsinks++];
	memset(k, 0, sizeof *k);
	k->kind = SINK_LOG;
	k->pos = s->out[ch.last_piece].pos;
	k->tid = o->tid;
	snprintf(k->text, sizeof k->text, "%s", ch.text);
	k->line = ch;
	if (ch.code.found && (ch.score == SYM_CODE || !ch.msg.found)) {
		k->value = ch.code.value;
		snprintf(k->detail, sizeof k->detail, "reported code %.*s (%s%s)", (int)ch.code.len,
			 ch.text + ch.code.off, ch.code.base == 16 ? "hexadecimal" : "decimal",
			 ch.code.tied ? "; the exit status has the same value" : "");
	} else if (ch.msg.found) {
		k->value = ch.msg.value;
		snprintf(k->detail, sizeof k->detail, "status message of %s", ch.msg.name);
	}
	if (ch.npieces > 1)
		snprintf(k->detail + strlen(k->detail), sizeof k->detail - strlen(k->detail),
			 "%sline written in %u writes", k->detail[0] ? "; " : "", ch.npieces);
	const struct sysinfo *si = &s->sys[o->sys];
	k->start = si->pos;
	k->mem_addr = o->buf + ch.flow_off;
	k->mem_len = ch.flow_len;
	k->have_flow = true;
	/* text written straight from constant data (a message table): what
	 * varies is which string was chosen, so follow the pointer argument
	 * instead of the bytes */
	if (o->constant) {
		static const uint8_t linux_args[6] = { STRAND_REG_RDI, STRAND_REG_RSI,
			STRAND_REG_RDX, 10 /* r10 */, STRAND_REG_R8, 9 /* r9 */ };
		if (s->abi == STRAND_ABI_LINUX && s->arch == STRAND_ARCH_X86_64 && o->argi < 6) {
			k->mem_len = 0;
			k->reg_mask = REG_BIT(linux_args[o->argi]);
		} else if (s->abi == STRAND_ABI_WINDOWS_NT && si->args_base) {
			k->mem_addr = si->args_base + 4 * o->argi;
			k->mem_len = 4;
		}
		snprintf(k->detail + strlen(k->detail), sizeof k->detail - strlen(k->detail),
			 "%sconstant text: following the pointer to it", k->detail[0] ? "; " : "");
	}
}

static strand_status emit_symptom(struct errorflow *s, const struct sink *k,
				  struct strand_rnode *list, strand_error *err)
{
	struct strand_rnode *o = strand_r_object(list, NULL);
	strand_r_string(o, "kind", sink_kind_str(k->kind));
	strand_r_position(o, "position", k->pos);
	strand_r_uint(o, "tid", k->tid);
	strand_r_string(o, "description", k->text);
	if (k->detail[0])
		strand_r_string(o, "detail", k->detail);
	struct strand_rnode *v = strand_r_hex(o, "value", k->value);
	if (v)
		v->flags |= STRAND_RF_ALERT;
	char buf[512];
	unsigned kind = 0;
	if (s->abi == STRAND_ABI_WINDOWS_NT)
		kind = k->kind == SINK_CRASH ? STRAND_CODE_NTSTATUS
		       : k->kind == SINK_SERVICE && !k->specific ? STRAND_CODE_WIN32
		       : k->kind == SINK_LOG && k->line.code.found && k->line.code.base == 10 &&
				 strand_win32_lookup((uint32_t)k->value) ? STRAND_CODE_WIN32
		       : strand_code_guess(k->value);
	if (k->kind == SINK_LOG && k->line.msg.found && !(k->line.code.found && k->line.score == SYM_CODE))
		kind = k->line.msg.kind;
	if (k->kind == SINK_LOG) {
		if (k->line.code.found) {
			strand_r_stringf(o, "code_text", "%.*s", (int)k->line.code.len,
					 k->line.text + k->line.code.off);
			strand_r_uint(o, "code_base", k->line.code.base);
		}
		if (k->line.msg.found)
			strand_r_string(o, "status_in_text", k->line.msg.name);
		strand_r_uint(o, "writes", k->line.npieces);
	}
	if (kind && k->value)
		strand_r_string(o, "meaning", strand_code_describe(kind, k->value, buf, sizeof buf));
	if (k->kind == SINK_CRASH && s->crash_stack)
		strand_r_stack(o, "stack", s->crash_stack);
	if (k->have_flow && k->mem_len)
		strand_r_stringf(o, "followed_from", "[0x%" PRIx64 "] (%u bytes) before position %" PRIu64,
				 k->mem_addr, k->mem_len, k->start);
	else if (k->have_flow && k->reg_mask) {
		char rn[16];
		strand_r_stringf(o, "followed_from", "%s of thread %u before position %" PRIu64,
				 reg_name(s, (unsigned)__builtin_ctzll(k->reg_mask), rn, sizeof rn), k->tid,
				 k->start);
	}
	if (!k->have_flow) {
		strand_r_string(o, "chain_note", "the symptom's bytes could not be located in guest "
				"memory; no data flow to follow");
		return STRAND_OK;
	}
	if (k->kind == SINK_CRASH)
		return STRAND_OK;
	return emit_chain(s, k, strand_r_object(o, "chain"), err);
}

/* -------------------------------------------------------------- plugin */


/* -------------------------------------------------------------- plugin */

static const struct strand_plugin_option errorflow_options[] = {
	{ "window", "instructions of the first data-flow window (memory: about 70 bytes each)",
	  "262144" },
	{ "max_window", "largest data-flow window", "2097152" },
	{ "max_distance", "how far before a symptom data flow is followed", "268435456" },
	{ NULL, NULL, NULL },
};

static strand_status errorflow_init(struct strand_analysis *a, const struct strand_plugin_args *args,
				    void **state, strand_error *err)
{
	struct errorflow *s = calloc(1, sizeof *s);
	if (!s)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	*state = s;
	s->a = a;
	s->r = strand_analysis_replay(a);
	s->arch = strand_analysis_info(a)->arch;
	s->abi = strand_analysis_info(a)->abi;
	s->systable = strand_analysis_systable(a);
	struct strand_df_options o = { .stay = true };
	strand_status st;
	if ((st = strand_plugin_opt_u64(args, "window", 1u << 18, &o.window, err)) < 0 ||
	    (st = strand_plugin_opt_u64(args, "max_window", 1u << 21, &o.max_window, err)) < 0 ||
	    (st = strand_plugin_opt_u64(args, "max_distance", 1u << 28, &o.max_distance, err)) < 0)
		return st;
	if (s->arch != STRAND_ARCH_X86_64 && s->arch != STRAND_ARCH_X86_32)
		return strand_error_set(err, STRAND_ERR_UNSUPPORTED, "errorflow: architecture %s",
					strand_arch_str(s->arch));
	/* the engine replays windows of the main pass's handle in finish(),
	 * through the checkpoints the main pass left (no second pass) */
	if ((st = strand_dataflow_new(s->r, strand_analysis_trace(a), &o, &s->df, err)) < 0)
		return st;
	if (!(s->cs = strand_analysis_callstack(a, err)))
		return STRAND_ERR_NOMEM;
	strand_callstack_keep_snapshots(s->cs, STACK_SNAPSHOT_EVERY);
	strand_replay_on_event(s->r, on_event, s);
	if (s->abi == STRAND_ABI_WINDOWS_NT) /* SetServiceStatus: Windows only */
		strand_replay_on_call(s->r, on_call, s);
	return STRAND_OK;
}

static strand_status errorflow_finish(struct strand_analysis *a, void *state,
				      struct strand_rnode *out, strand_error *err)
{
	struct errorflow *s = state;
	(void)a;
	s->nsinks = 0;
	if (s->have_crash)
		s->sinks[s->nsinks++] = s->crash;
	if (s->have_service)
		s->sinks[s->nsinks++] = s->service;
	build_log_sink(s);
	if (s->have_exit && s->exit.value != 0)
		s->sinks[s->nsinks++] = s->exit;
	strand_r_bool(out, "healthy", s->nsinks == 0);
	struct strand_rnode *list = strand_r_list(out, "symptoms");
	/* the windows are replayed on the main pass's handle: the other
	 * plugins' observers must not see them again, and the handle goes
	 * back to the end for those that finish after this one */
	struct strand_replay_muted muted;
	uint64_t end = strand_replay_position(s->r);
	strand_replay_observers_mute(s->r, &muted);
	strand_status st = STRAND_OK;
	/* an incomplete trace may hold events past the last position replay
	 * reaches (a kernel call whose record was lost with the rest): its
	 * symptoms are followed from where the replay ended, and a flow that
	 * still cannot be followed is a note, not a failed report */
	const struct strand_trace_summary *sum = strand_reader_summary(strand_replay_reader(s->r));
	bool incomplete = !sum->complete;
	for (uint32_t i = 0; i < s->nsinks && st >= 0; i++) {
		strand_error e2;
		strand_error_clear(&e2);
		if (incomplete && s->sinks[i].start > end)
			s->sinks[i].start = end;
		st = emit_symptom(s, &s->sinks[i], list, incomplete ? &e2 : err);
		if (st < 0 && incomplete) {
			if (list->last)
				strand_r_stringf(list->last, "chain_note", "not followed (incomplete "
						 "trace): %s", e2.msg);
			st = STRAND_OK;
		}
	}
	strand_status s2 = strand_replay_seek(s->r, end, st < 0 || incomplete ? NULL : err);
	/* an incomplete trace may end on a kernel call whose record was lost:
	 * the main pass stopped past it, a seek stops before it */
	for (uint64_t back = 1; s2 < 0 && incomplete && back <= 64 && back < end; back *= 2)
		s2 = strand_replay_seek(s->r, end - back, NULL);
	if (s2 < 0 && incomplete)
		s2 = strand_error_set(err, s2, "errorflow: position=%" PRIu64 " and the 64 before it "
				      "cannot be reached again", end);
	strand_replay_observers_unmute(s->r, &muted);
	if (st < 0)
		return st;
	if (s2 < 0)
		return strand_error_wrap(err, s2, "errorflow: cannot return to position=%" PRIu64, end);
	/* how much history the flows needed (windows before each symptom) */
	strand_r_uint(out, "instructions_logged", s->logged);
	strand_r_uint(out, "memory_accesses_logged", s->accesses);
	strand_r_uint(out, "windows", s->windows);
	return STRAND_OK;
}

static void errorflow_destroy(void *state)
{
	struct errorflow *s = state;
	if (!s)
		return;
	strand_dataflow_free(s->df);
	free(s->sys);
	free(s->out);
	strand_stack_free(s->crash_stack);
	free(s);
}

const struct strand_plugin strand_plugin_errorflow = {
	.abi_version = STRAND_PLUGIN_ABI_VERSION,
	.name = "errorflow",
	.description = "the symptom and the data-flow chain back to the kernel status that caused it",
	.options = errorflow_options,
	.init = errorflow_init,
	.finish = errorflow_finish,
	.destroy = errorflow_destroy,
};
