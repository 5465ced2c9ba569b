/* hang: how the process ended, and for a process that did not end by
 * itself (a deadlock the recorder detected, an instruction limit, an
 * interrupted recording), what each thread was blocked on.
 *
 * For every thread: its last kernel call (name, decoded object, position:
 * "since when"), or the kernel call it was inside when it was switched out
 * or the recording ended (a thread stopped at a system-call instruction,
 * its call number and arguments in its registers), and the last call of
 * another thread on the same object (who last signalled, released or
 * owned it).  The end is "process" when the ending thread's last kernel
 * call was an exit call, "recorder" otherwise. */
#include "analyses/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HANG_MAX_THREADS 64

struct tstate {
	uint32_t tid;
	bool exited;
	bool pending;          /* stopped inside a kernel call (no record of it yet) */
	uint64_t since;        /* position of the last call or of the pending one */
	uint32_t number;       /* its call number */
	uint64_t args[6];
	uint32_t nargs;
	uint64_t key;          /* object_key of the call */
	uint64_t result;
	char obj[200];         /* decoded object, "" if none */
	bool have;
	struct strand_stack *stack; /* owned: at the end of the recording, NULL if none */
};

struct lastcall {          /* the last call on an object by any thread */
	uint64_t key;          /* first argument (handle, fd, futex address) */
	uint32_t tid;
	uint64_t pos;
	uint32_t number;
};

/* The word a thread waits on in futex, and the last write to it by
 * another thread before the wait (an extra pass, only for a recording the
 * process did not end itself): for a lock, who took it last. */
struct lockword {
	uint64_t addr, before;  /* the futex word; the wait's position */
	uint32_t waiter;
	bool have;              /* another thread wrote it before the wait */
	uint32_t tid;
	uint64_t pos, pc, value;
};

struct hang {
	struct strand_analysis *a;
	struct strand_replay *r;
	struct strand_callstack *cs;   /* borrowed, the run's */
	strand_arch arch;
	strand_abi abi;
	const struct strand_systable *systable; /* the trace's service table, NULL = built in */
	struct tstate t[HANG_MAX_THREADS];
	uint32_t nt;
	struct lastcall *lc; uint32_t nlc, caplc;
	bool have_exit;
	uint64_t exit_code, exit_pos;
	uint32_t exit_tid;
	bool exit_by_call;      /* the ending thread's last call was an exit call */
	bool crashed;
};

static struct tstate *thread_of(struct hang *s, uint32_t tid)
{
	for (uint32_t i = 0; i < s->nt; i++)
		if (s->t[i].tid == tid)
			return &s->t[i];
	if (s->nt == HANG_MAX_THREADS)
		return NULL;
	struct tstate *t = &s->t[s->nt++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

static bool is_exit_call(const struct hang *s, uint32_t number)
{
	const char *n = strand_syscall_name_in(s->systable, s->abi, s->arch, number);
	return n && (!strcmp(n, "exit_group") || !strcmp(n, "exit") || !strcmp(n, "NtTerminateProcess") ||
		     !strcmp(n, "NtTerminateThread"));
}

static uint64_t object_key(struct hang *s, struct strand_replay *r, uint32_t number,
			   const uint64_t *args, uint32_t nargs);

/* Is the current thread stopped at (or just after) a kernel-call
 * instruction?  Then its registers hold the call it is inside. */
static void capture_pending(struct hang *s, struct strand_replay *r, struct tstate *t)
{
	uint64_t pc = 0, ax = 0;
	bool x86 = s->arch == STRAND_ARCH_X86_32;
	strand_replay_reg(r, x86 ? "eip" : "rip", &pc);
	strand_replay_reg(r, x86 ? "eax" : "rax", &ax);
	uint8_t b[4] = { 0 };
	if (strand_replay_read(r, pc - 2, b, 4, NULL) != 4)
		return;
	bool at = (b[2] == 0x0f && (b[3] == 0x34 || b[3] == 0x05)) || (b[2] == 0xcd && b[3] == 0x2e);
	if (!at)
		return;
	t->pending = true;
	t->number = (uint32_t)ax;
	t->since = strand_replay_position(r);
	t->have = true;
	if (x86) {
		uint64_t edx = 0;
		strand_replay_reg(r, "edx", &edx);
		t->nargs = 6;
		for (unsigned i = 0; i < 6; i++)
			t->args[i] = mem_read_uint(r, edx + 8 + 4 * i, 4, NULL);
	} else {
		static const char *const regs[6] = { "rdi", "rsi", "rdx", "r10", "r8", "r9" };
		t->nargs = 6;
		for (unsigned i = 0; i < 6; i++)
			strand_replay_reg(r, regs[i], &t->args[i]);
	}
	struct strand_syscall sc = { .number = t->number, .nargs = t->nargs };
	memcpy(sc.args, t->args, sizeof t->args);
	strand_syscall_decode_object_in(r, s->systable, s->abi, s->arch, &sc, t->obj, sizeof t->obj);
	t->key = object_key(s, r, t->number, t->args, t->nargs);
}

/* The object a call is about, for matching calls of other threads: its
 * first argument (handle, descriptor, futex address), or for a wait on a
 * handle array the first handle of the array. */
static uint64_t object_key(struct hang *s, struct strand_replay *r, uint32_t number,
			   const uint64_t *args, uint32_t nargs)
{
	const char *n = strand_syscall_name_in(s->systable, s->abi, s->arch, number);
	if (n && !strcmp(n, "NtWaitForMultipleObjects") && nargs > 1)
		return mem_read_uint(r, args[1], s->arch == STRAND_ARCH_X86_32 ? 4 : 8, NULL);
	return nargs ? args[0] : 0;
}

static void note_call(struct hang *s, uint32_t tid, uint64_t pos, uint32_t number, uint64_t key)
{
	for (uint32_t i = 0; i < s->nlc; i++)
		if (s->lc[i].key == key && s->lc[i].tid == tid) {
			s->lc[i].pos = pos;
			s->lc[i].number = number;
			return;
		}
	if (s->nlc == s->caplc) {
		uint32_t cap = s->caplc ? s->caplc * 2 : 64;
		struct lastcall *n = realloc(s->lc, cap * sizeof *n);
		if (!n)
			return;
		s->lc = n;
		s->caplc = cap;
	}
	s->lc[s->nlc++] = (struct lastcall){ key, tid, pos, number };
}

static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec, bool after)
{
	struct hang *s = ud;
	if (after)
		return;
	switch (rec->type) {
	case STRAND_REC_SYSCALL: {
		const struct strand_syscall *sc = &rec->u.syscall;
		struct tstate *t = thread_of(s, rec->tid);
		if (!t)
			return;
		t->have = true;
		t->pending = false;
		t->since = rec->position;
		t->number = sc->number;
		t->nargs = sc->nargs > 6 ? 6 : sc->nargs;
		memcpy(t->args, sc->args, sizeof t->args);
		t->result = sc->result;
		strand_syscall_decode_object_in(r, s->systable, s->abi, s->arch, sc, t->obj, sizeof t->obj);
		t->key = object_key(s, r, sc->number, t->args, t->nargs);
		if (sc->nargs)
			note_call(s, rec->tid, rec->position, sc->number, t->key);
		break;
	}
	case STRAND_REC_THREAD_SWITCH: {
		/* the thread leaving: is it parked inside a kernel call? */
		struct tstate *t = thread_of(s, strand_replay_thread(r));
		if (t && !t->exited)
			capture_pending(s, r, t);
		break;
	}
	case STRAND_REC_THREAD_EXIT: {
		struct tstate *t = thread_of(s, rec->tid);
		if (t)
			t->exited = true;
		break;
	}
	case STRAND_REC_EXCEPTION:
		if (rec->u.exception.flags & STRAND_EXC_F_FATAL)
			s->crashed = true;
		break;
	case STRAND_REC_PROCESS_EXIT: {
		s->have_exit = true;
		s->exit_code = rec->u.exit_code;
		s->exit_pos = rec->position;
		s->exit_tid = rec->tid;
		struct tstate *t = thread_of(s, rec->tid);
		s->exit_by_call = t && t->have && !t->pending && is_exit_call(s, t->number);
		if (t && !s->exit_by_call) {
			/* a recorder may end the trace at the exit call's
			 * instruction, without its record */
			capture_pending(s, r, t);
			s->exit_by_call = t->pending && is_exit_call(s, t->number);
		}
		/* where every live thread stands when the recording ends */
		for (uint32_t i = 0; !s->exit_by_call && s->cs && i < s->nt; i++)
			if (!s->t[i].exited && !s->t[i].stack)
				strand_callstack_capture(s->cs, s->t[i].tid, &s->t[i].stack, NULL);
		break;
	}
	default:
		break;
	}
}

static strand_status hang_init(struct strand_analysis *a, const struct strand_plugin_args *args,
			       void **state, strand_error *err)
{
	(void)args;
	struct hang *s = calloc(1, sizeof *s);
	if (!s)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	*state = s;
	s->a = a;
	s->r = strand_analysis_replay(a);
	s->arch = strand_analysis_info(a)->arch;
	s->abi = strand_analysis_info(a)->abi;
	s->systable = strand_analysis_systable(a);
	if (!(s->cs = strand_analysis_callstack(a, err)))
		return STRAND_ERR_NOMEM;
	strand_replay_on_event(s->r, on_event, s);
	return STRAND_OK;
}

struct lw_pass {
	struct lockword *w;
	uint32_t n;
};

static void lw_on_mem(struct strand_replay *r, void *ud, uint64_t pos, uint64_t pc, uint64_t addr,
		      uint32_t size, bool is_write, uint64_t value)
{
	struct lw_pass *p = ud;
	if (!is_write)
		return;
	uint32_t tid = strand_replay_thread(r);
	for (uint32_t i = 0; i < p->n; i++) {
		struct lockword *w = &p->w[i];
		if (addr < w->addr + 4 && w->addr < addr + size && pos < w->before && tid != w->waiter) {
			w->have = true;
			w->tid = tid;
			w->pos = pos;
			w->pc = pc;
			w->value = value;
		}
	}
}

/* Threads blocked in futex: the word and its last writer among the other
 * threads, by one extra pass with a write observer up to the last wait. */
static strand_status find_lock_writers(struct hang *s, struct lockword *w, uint32_t *nw,
				       struct strand_replay **pass, strand_error *err)
{
	*nw = 0;
	*pass = NULL;
	uint64_t end = 0;
	for (uint32_t i = 0; i < s->nt && s->abi == STRAND_ABI_LINUX; i++) {
		const struct tstate *t = &s->t[i];
		const char *nm = strand_syscall_name_in(s->systable, s->abi, s->arch, t->number);
		if (t->exited || !t->pending || !nm || strcmp(nm, "futex") || !t->nargs)
			continue;
		w[*nw] = (struct lockword){ .addr = t->key, .before = t->since, .waiter = t->tid };
		if (t->since > end)
			end = t->since;
		(*nw)++;
	}
	if (!*nw)
		return STRAND_OK;
	strand_status st = strand_analysis_open_pass(s->a, "lock words", pass, err);
	if (st < 0)
		return st;
	struct lw_pass p = { w, *nw };
	if (!strand_replay_on_mem(*pass, lw_on_mem, STRAND_WATCH_WRITE, &p))
		return strand_error_set(err, STRAND_ERR_NOMEM, "hang: cannot observe memory");
	return strand_analysis_drive(s->a, *pass, "lock words", end, err);
}

static const struct lockword *lock_of(const struct lockword *w, uint32_t nw, uint32_t tid)
{
	for (uint32_t i = 0; i < nw; i++)
		if (w[i].waiter == tid)
			return &w[i];
	return NULL;
}

/* A cycle of threads each waiting on a word another of them wrote last:
 * its tids in order into cyc (at most HANG_MAX_THREADS); 0 if none. */
static uint32_t wait_cycle(const struct lockword *w, uint32_t nw, uint32_t *cyc)
{
	for (uint32_t i = 0; i < nw; i++) {
		uint32_t n = 0, tid = w[i].waiter;
		for (;;) {
			const struct lockword *l = lock_of(w, nw, tid);
			if (!l || !l->have || n == HANG_MAX_THREADS)
				break;
			for (uint32_t k = 0; k < n; k++)
				if (cyc[k] == tid) {
					memmove(cyc, cyc + k, (n - k) * sizeof *cyc);
					return n - k;
				}
			cyc[n++] = tid;
			tid = l->tid;
		}
	}
	return 0;
}

static strand_status hang_finish(struct strand_analysis *a, void *state, struct strand_rnode *out,
				 strand_error *err)
{
	(void)a;
	(void)err;
	struct hang *s = state;
	char buf[512];
	bool by_process = !s->have_exit || s->exit_by_call || s->crashed;
	strand_r_string(out, "ended_by", by_process ? "process" : "recorder");
	if (s->have_exit) {
		strand_r_uint(out, "exit_code", s->exit_code);
		strand_r_position(out, "end_position", s->exit_pos);
	}
	/* what ended it, from the status the recorder gave the process */
	const char *verdict = "interrupted", *why = "the recording was stopped before the process "
						    "ended (interrupted or killed)";
	if (s->abi == STRAND_ABI_WINDOWS_NT) {
		const struct strand_code *c = strand_ntstatus_lookup((uint32_t)s->exit_code);
		if (c && !strcmp(c->name, "STATUS_POSSIBLE_DEADLOCK")) {
			verdict = "hang";
			why = "deadlock: every thread waited forever and the recorder ended the process";
		} else if (c && !strcmp(c->name, "STATUS_TIMEOUT")) {
			verdict = "hang";
			why = "the process ran until the recording's instruction limit without ending";
		}
	} else if (s->exit_code == 128 + 9) {
		why = "the recording was interrupted: the process was killed (SIGKILL) before it ended";
	}
	uint32_t blocked = 0, alive = 0;
	for (uint32_t i = 0; i < s->nt; i++)
		if (!s->t[i].exited) {
			alive++;
			blocked += s->t[i].pending;
		}
	struct lockword w[HANG_MAX_THREADS];
	uint32_t nw = 0, cyc[HANG_MAX_THREADS], ncyc = 0;
	struct strand_replay *pass = NULL;
	if (!by_process) {
		strand_status st = find_lock_writers(s, w, &nw, &pass, err);
		if (st < 0) {
			strand_replay_close(pass);
			return st;
		}
		ncyc = wait_cycle(w, nw, cyc);
	}
	if (!by_process) {
		if (ncyc) {
			/* the process could never have ended: each thread waits
			 * for a word the next one took */
			char c[300] = "";
			size_t l = 0;
			for (uint32_t i = 0; i < ncyc && l < sizeof c; i++)
				l += (size_t)snprintf(c + l, sizeof c - l, "%sthread %u waits on 0x%" PRIx64
						      " last written by thread %u", i ? "; " : "", cyc[i],
						      lock_of(w, nw, cyc[i])->addr, lock_of(w, nw, cyc[i])->tid);
			snprintf(buf, sizeof buf, "deadlock: %s (a cycle of %u threads); %s; %u of %u threads "
				 "were blocked in a kernel call", c, ncyc, why, blocked, alive);
			strand_r_string(out, "verdict", "hang");
			struct strand_rnode *cl = strand_r_list(out, "wait_cycle");
			for (uint32_t i = 0; i < ncyc; i++)
				strand_r_uint(cl, NULL, cyc[i]);
		} else {
			strand_r_string(out, "verdict", verdict);
			snprintf(buf, sizeof buf, "%s; %u of %u threads were blocked in a kernel call", why,
				 blocked, alive);
		}
		strand_r_string(out, "reason", buf);
	}
	struct strand_rnode *list = strand_r_list(out, "threads");
	for (uint32_t i = 0; i < s->nt; i++) {
		const struct tstate *t = &s->t[i];
		struct strand_rnode *o = strand_r_object(list, NULL);
		strand_r_uint(o, "tid", t->tid);
		strand_r_string(o, "state", t->exited ? "exited" : t->pending ? "blocked" : "running");
		if (!t->have)
			continue;
		const char *nm = strand_syscall_name_in(s->systable, s->abi, s->arch, t->number);
		strand_r_string(o, t->pending ? "waits_in" : "last_call", nm ? nm : "?");
		if (t->obj[0])
			strand_r_string(o, "object", t->obj);
		if (t->nargs)
			strand_r_hex(o, "waits_on", t->key);
		strand_r_position(o, "since", t->since);
		if (!t->pending)
			strand_r_string(o, "result", strand_syscall_result_str(s->abi, s->arch, t->result,
									       buf, sizeof buf));
		/* who last touched the same object from another thread */
		const struct lastcall *best = NULL;
		for (uint32_t k = 0; t->nargs && k < s->nlc; k++)
			if (s->lc[k].key == t->key && s->lc[k].tid != t->tid &&
			    (!best || s->lc[k].pos > best->pos))
				best = &s->lc[k];
		if (best) {
			struct strand_rnode *b = strand_r_object(o, "last_other_thread_call");
			const char *bn = strand_syscall_name_in(s->systable, s->abi, s->arch, best->number);
			strand_r_uint(b, "tid", best->tid);
			strand_r_string(b, "call", bn ? bn : "?");
			strand_r_position(b, "position", best->pos);
		}
		const struct lockword *lw = lock_of(w, nw, t->tid);
		if (lw) {
			struct strand_rnode *b = strand_r_object(o, "lock_word");
			strand_r_hex(b, "address", lw->addr);
			if (pass && strand_replay_symbolize(pass, lw->addr, buf, sizeof buf) == STRAND_OK &&
			    strchr(buf, '!'))
				strand_r_string(b, "symbol", buf); /* a named lock: deadlock!lock_a */
			if (lw->have) {
				strand_r_uint(b, "last_written_by", lw->tid);
				strand_r_position(b, "position", lw->pos);
				strand_replay_symbolize(pass, lw->pc, buf, sizeof buf);
				strand_r_string(b, "where", buf);
				strand_r_hex(b, "value", lw->value);
			} else {
				strand_r_string(b, "last_written_by", "no other thread before the wait");
			}
		}
		if (t->stack && t->stack->nframes)
			strand_r_stack(o, "stack", t->stack);
	}
	strand_replay_close(pass);
	return STRAND_OK;
}

static void hang_destroy(void *state)
{
	struct hang *s = state;
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nt; i++)
		strand_stack_free(s->t[i].stack);
	free(s->lc);
	free(s);
}

const struct strand_plugin strand_plugin_hang = {
	.abi_version = STRAND_PLUGIN_ABI_VERSION,
	.name = "hang",
	.description = "how the process ended; for one that did not end by itself, what each "
		       "thread was blocked on, since when, and who last used the same object",
	.init = hang_init,
	.finish = hang_finish,
	.destroy = hang_destroy,
};
