/* crash: a crash diagnosed as a crash.  For the first fatal exception or
 * signal of the trace: the faulting pc and instruction, the bad address
 * or operand, what kind of fault it is, and where the bad value came from
 * (the registers forming the address, or the divisor, followed backward
 * by the data-flow engine).  A kernel call is named only when the data
 * flow reaches one.
 *
 * Kinds: null_dereference (an address in the first 64 KiB), stack_overflow
 * (the address is within reach below the stack pointer; the recursion is
 * read from the stack), bad_address, division_by_zero, abort (the program
 * raised the signal itself: its caller is the decision), other. */
#define _GNU_SOURCE
#include "analyses/internal.h"
#include "strand/dataflow.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct crash {
	struct strand_analysis *a;
	struct strand_replay *r;
	struct strand_callstack *cs;
	strand_arch arch;
	strand_abi abi;
	const struct strand_systable *systable; /* the trace's service table, NULL = built in */
	bool have;
	bool fatal;            /* the record said so; else: the process exited with its code */
	bool have_exit;
	uint64_t exit_code;
	uint64_t pos;          /* position of the exception record */
	uint32_t tid;
	uint64_t pc, addr, code;
	uint32_t exc_kind;     /* STRAND_EXC_* */
	uint64_t sp;           /* stack pointer at the fault */
	char insn[128];        /* disassembly of pc */
	struct strand_stack *stack; /* owned */
	uint64_t regs_mask;    /* registers of the bad value (STRAND_DF_REG_BIT) */
	char operand[128];     /* "rax = 0x0" ... */
	char fault_kind[32];
	char explanation[512];
};

static const char *const gpr64[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
				       "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };
static const char *const gpr32[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

/* Registers named in text[a..b) (capstone syntax), as a mask. */
static uint64_t regs_in(const char *t, size_t a, size_t b)
{
	uint64_t m = 0;
	char word[16];
	for (size_t i = a; i < b;) {
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9'))) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < b && ((t[j] >= 'a' && t[j] <= 'z') || (t[j] >= '0' && t[j] <= '9')))
			j++;
		if (j - i < sizeof word) {
			memcpy(word, t + i, j - i);
			word[j - i] = 0;
			int r = strand_df_reg_from_name(word);
			if (r >= 0 && r < 16 && r != STRAND_REG_RSP && strcmp(word, "ptr"))
				m |= STRAND_DF_REG_BIT(r);
		}
		i = j;
	}
	return m;
}

static void describe_regs(struct crash *s, uint64_t mask, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < 16 && o < len; i++) {
		if (!(mask & STRAND_DF_REG_BIT(i)))
			continue;
		const char *n = s->arch == STRAND_ARCH_X86_32 && i < 8 ? gpr32[i] : gpr64[i];
		uint64_t v = 0;
		strand_replay_reg(s->r, n, &v);
		o += (size_t)snprintf(buf + o, len - o, "%s%s = 0x%" PRIx64, o ? ", " : "", n, v);
	}
}

static bool is_signal(const struct crash *s, unsigned sig)
{
	return s->exc_kind == STRAND_EXC_SIGNAL && s->code == sig;
}

static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec, bool after)
{
	struct crash *s = ud;
	if (!after && rec->type == STRAND_REC_PROCESS_EXIT) {
		s->have_exit = true;
		s->exit_code = rec->u.exit_code;
	}
	/* the first fatal exception; or, while none was fatal, the latest
	 * exception (dispatched to the program's handlers: it is the crash if
	 * the process then ends with its code, see finish) */
	if (after || rec->type != STRAND_REC_EXCEPTION || s->fatal)
		return;
	bool fatal = rec->u.exception.flags & STRAND_EXC_F_FATAL;
	if (s->have && !fatal && s->code == rec->u.exception.code)
		return; /* the same exception dispatched again (second chance) */
	s->have = true;
	s->fatal = fatal;
	s->operand[0] = 0;
	s->regs_mask = 0;
	strand_stack_free(s->stack);
	s->stack = NULL;
	s->pos = rec->position;
	s->tid = rec->tid;
	s->pc = rec->u.exception.pc;
	s->addr = rec->u.exception.addr;
	s->code = rec->u.exception.code;
	s->exc_kind = rec->u.exception.kind;
	strand_replay_reg(r, s->arch == STRAND_ARCH_X86_32 ? "esp" : "rsp", &s->sp);
	if (strand_replay_disas(r, s->pc, s->insn, sizeof s->insn, NULL) != STRAND_OK)
		s->insn[0] = 0;
	if (s->cs)
		strand_callstack_capture(s->cs, rec->tid, &s->stack, NULL);

	/* what kind of fault, and which registers hold the bad value */
	const char *t = s->insn;
	const char *lb = strchr(t, '['), *rb = lb ? strchr(lb, ']') : NULL;
	bool div = !strncmp(t, "div ", 4) || !strncmp(t, "idiv ", 5);
	bool segv = s->abi == STRAND_ABI_LINUX ? is_signal(s, 11) || is_signal(s, 7)
					       : s->code == 0xC0000005u;
	bool fpe = s->abi == STRAND_ABI_LINUX ? is_signal(s, 8) : s->code == 0xC0000094u;
	bool abrt = s->abi == STRAND_ABI_LINUX && is_signal(s, 6);
	bool stack_fault = segv && s->addr <= s->sp + 4096 && s->sp - s->addr <= 1u << 20;
	if (fpe && div) {
		snprintf(s->fault_kind, sizeof s->fault_kind, "division_by_zero");
		const char *op = strchr(t, ' ');
		s->regs_mask = op ? regs_in(t, (size_t)(op - t), strlen(t)) : 0;
		describe_regs(s, s->regs_mask, s->operand, sizeof s->operand);
		snprintf(s->explanation, sizeof s->explanation,
			 "integer division by zero: the divisor of `%s` is 0", t);
	} else if (stack_fault) {
		snprintf(s->fault_kind, sizeof s->fault_kind, "stack_overflow");
		snprintf(s->explanation, sizeof s->explanation,
			 "stack overflow: the access at 0x%" PRIx64 " is at or just below the stack pointer "
			 "0x%" PRIx64 " (the stack ran out)", s->addr, s->sp);
	} else if (segv && lb && rb) {
		s->regs_mask = regs_in(t, (size_t)(lb - t), (size_t)(rb - t));
		describe_regs(s, s->regs_mask, s->operand, sizeof s->operand);
		bool null = s->addr < 0x10000;
		snprintf(s->fault_kind, sizeof s->fault_kind, null ? "null_dereference" : "bad_address");
		snprintf(s->explanation, sizeof s->explanation,
			 null ? "NULL pointer dereference: `%s` accessed 0x%" PRIx64 " (%s)"
			      : "invalid memory access: `%s` accessed 0x%" PRIx64 " (%s)",
			 t, s->addr, s->operand[0] ? s->operand : "address registers unknown");
	} else if (abrt) {
		snprintf(s->fault_kind, sizeof s->fault_kind, "abort");
		snprintf(s->explanation, sizeof s->explanation,
			 "the program raised SIGABRT itself (abort(), a failed assertion or a "
			 "detected corruption)");
	} else {
		snprintf(s->fault_kind, sizeof s->fault_kind, "other");
		snprintf(s->explanation, sizeof s->explanation, "fatal %s 0x%" PRIx64 " at `%s`",
			 s->exc_kind == STRAND_EXC_SIGNAL ? "signal" : "exception", s->code, t);
	}
}

static strand_status crash_init(struct strand_analysis *a, const struct strand_plugin_args *args,
				void **state, strand_error *err)
{
	(void)args;
	struct crash *s = calloc(1, sizeof *s);
	if (!s)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	*state = s;
	s->a = a;
	s->r = strand_analysis_replay(a);
	s->arch = strand_analysis_info(a)->arch;
	s->abi = strand_analysis_info(a)->abi;
	s->systable = strand_analysis_systable(a);
	if (!(s->cs = strand_analysis_callstack(a, err)))
		return err ? err->status : STRAND_ERR_NOMEM; /* the shadow stack's own failure */
	strand_replay_on_event(s->r, on_event, s);
	return STRAND_OK;
}

static const char *code_name(const struct crash *s, char *buf, size_t len)
{
	if (s->exc_kind == STRAND_EXC_SIGNAL && s->abi == STRAND_ABI_LINUX) {
		const char *n = sigabbrev_np((int)s->code);
		snprintf(buf, len, "SIG%s", n ? n : "?");
		return buf;
	}
	const struct strand_code *c = strand_ntstatus_lookup((uint32_t)s->code);
	snprintf(buf, len, "%s", c ? c->name : "?");
	return buf;
}

/* The frame that decided to crash: for abort, the first frame outside the
 * module of frame 0 (libc's abort/raise); for a recursion, the function
 * repeated most. */
static void emit_stack_facts(struct crash *s, struct strand_rnode *out)
{
	if (!s->stack)
		return;
	uint32_t n = s->stack->nframes;
	if (!strcmp(s->fault_kind, "stack_overflow")) {
		/* most repeated frame symbol */
		const char *best = NULL;
		uint32_t bestc = 0;
		for (uint32_t i = 0; i < n && i < 64; i++) {
			const char *a = s->stack->frames[i].symbol;
			uint32_t c = 0;
			for (uint32_t j = 0; j < n; j++)
				c += !strcmp(a, s->stack->frames[j].symbol) ? 1 : 0;
			if (c > bestc) {
				bestc = c;
				best = a;
			}
		}
		struct strand_rnode *rc = strand_r_object(out, "recursion");
		strand_r_uint(rc, "depth", n);
		if (best) {
			char fn[160];
			snprintf(fn, sizeof fn, "%s", best);
			char *plus = strrchr(fn, '+');
			if (plus)
				*plus = 0;
			strand_r_string(rc, "function", fn);
			strand_r_uint(rc, "frames_of_function", bestc);
		}
	} else if (!strcmp(s->fault_kind, "abort") && n > 1) {
		char m0[160];
		snprintf(m0, sizeof m0, "%s", s->stack->frames[0].symbol);
		char *bang = strchr(m0, '!');
		size_t ml = bang ? (size_t)(bang - m0) : strcspn(m0, "+");
		for (uint32_t i = 1; i < n; i++) {
			const char *f = s->stack->frames[i].symbol;
			if (strncmp(f, m0, ml) || (f[ml] != '!' && f[ml] != '+')) {
				strand_r_string(out, "decided_in", f);
				break;
			}
		}
	}
}

static strand_status follow(struct crash *s, struct strand_rnode *out, strand_error *err)
{
	struct strand_replay *r = NULL;
	struct strand_dataflow *df = NULL;
	struct strand_df_result *res = NULL;
	strand_status st = strand_analysis_open_pass(s->a, "crash origin", &r, err);
	if (st < 0)
		return st;
	/* data only: a kernel call is named when the bad value's data comes
	 * from it, not when a branch on the way depended on one */
	struct strand_df_options dopt = { .no_control = true };
	if ((st = strand_dataflow_new(r, strand_analysis_trace(s->a), &dopt, &df, err)) < 0)
		goto out;
	struct strand_df_query q = { .position = s->pos, .tid = s->tid, .regs = s->regs_mask };
	if ((st = strand_dataflow_follow(df, &q, &res, err)) < 0)
		goto out;
	struct strand_rnode *o = strand_r_object(out, "origin");
	if (res->origin < 0) {
		strand_r_string(o, "kind", res->reached_start ? "initial_state" : "unknown");
		goto out;
	}
	const struct strand_df_step *x = &res->steps[res->origin];
	strand_r_string(o, "found_by", x->via_control ? "control flow" : "data flow");
	strand_r_string(o, "kind", strand_df_kind_str(x->kind));
	strand_r_position(o, "position", x->position);
	strand_r_uint(o, "tid", x->tid);
	char buf[512];
	if (x->kind == STRAND_DF_SYSCALL) {
		const char *nm = strand_syscall_name_in(s->systable, s->abi, s->arch, x->syscall);
		strand_r_string(o, "syscall", nm ? nm : "?");
		strand_r_hex(o, "status", x->result);
		strand_r_bool(o, "failed", strand_syscall_failed(s->abi, s->arch, x->result));
		strand_r_string(o, "status_text", strand_syscall_result_str(s->abi, s->arch, x->result,
									  buf, sizeof buf));
	} else {
		strand_replay_symbolize(r, x->pc, buf, sizeof buf);
		strand_r_string(o, "where", buf);
		if (x->insn[0])
			strand_r_string(o, "instruction", x->insn);
	}
	if (x->have_value)
		strand_r_hex(o, "value", x->value);
	/* the functions the bad value went through, origin first */
	struct strand_rnode *path = strand_r_list(out, "path");
	char prev[160] = "";
	uint32_t shown = 0;
	for (int32_t i = res->origin; i > 0 && shown < 8; i = res->steps[i].parent) {
		const struct strand_df_step *y = &res->steps[i];
		if (y->kind == STRAND_DF_SYSCALL || y->kind == STRAND_DF_EVENT || !y->pc)
			continue;
		char fn[160];
		strand_replay_symbolize(r, y->pc, fn, sizeof fn);
		char *plus = strrchr(fn, '+');
		if (plus && strchr(fn, '!'))
			*plus = 0;
		if (!strcmp(fn, prev))
			continue;
		snprintf(prev, sizeof prev, "%s", fn);
		struct strand_rnode *p = strand_r_object(path, NULL);
		strand_r_string(p, "function", fn);
		strand_r_position(p, "position", y->position);
		if (y->insn[0])
			strand_r_string(p, "instruction", y->insn);
		if (y->have_value)
			strand_r_hex(p, "value", y->value);
		shown++;
	}
out:
	strand_df_result_free(res);
	strand_dataflow_free(df);
	strand_replay_close(r);
	return st;
}

static strand_status crash_finish(struct strand_analysis *a, void *state, struct strand_rnode *out,
				  strand_error *err)
{
	(void)a;
	struct crash *s = state;
	/* a dispatched exception is the crash when the process ended with its
	 * code (no handler took it: the unhandled-exception path terminated
	 * the process with the exception's status) */
	bool crashed = s->have && (s->fatal || (s->have_exit && s->exit_code == s->code));
	strand_r_bool(out, "crashed", crashed);
	if (!crashed)
		return STRAND_OK;
	if (!s->fatal)
		strand_r_string(out, "unhandled", "the exception was dispatched to the program's "
				"handlers, none took it, and the process ended with its code");
	char buf[160];
	strand_r_string(out, "kind", s->fault_kind);
	strand_r_string(out, "signal", code_name(s, buf, sizeof buf));
	strand_r_hex(out, "code", s->code);
	strand_r_position(out, "position", s->pos);
	strand_r_uint(out, "tid", s->tid);
	strand_r_hex(out, "pc", s->pc);
	strand_replay_symbolize(s->r, s->pc, buf, sizeof buf);
	strand_r_string(out, "where", buf);
	if (s->insn[0])
		strand_r_string(out, "instruction", s->insn);
	strand_r_hex(out, "fault_address", s->addr);
	if (s->operand[0])
		strand_r_string(out, "operand", s->operand);
	strand_r_string(out, "explanation", s->explanation);
	emit_stack_facts(s, out);
	if (s->stack)
		strand_r_stack(out, "stack", s->stack);
	if (s->regs_mask) {
		strand_error e2;
		strand_error_clear(&e2);
		if (follow(s, out, &e2) < 0)
			strand_r_stringf(out, "origin_note", "the bad value could not be followed: %s",
					 e2.msg);
	}
	(void)err;
	return STRAND_OK;
}

static void crash_destroy(void *state)
{
	struct crash *s = state;
	if (!s)
		return;
	strand_stack_free(s->stack);
	free(s);
}

const struct strand_plugin strand_plugin_crash = {
	.abi_version = STRAND_PLUGIN_ABI_VERSION,
	.name = "crash",
	.description = "a fatal exception or signal: faulting instruction, bad address or operand, "
		       "kind of fault, and the origin of the bad value by data flow",
	.init = crash_init,
	.finish = crash_finish,
	.destroy = crash_destroy,
};
