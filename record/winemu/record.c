/*
 * strand_winemu_record: set up the machine from a scenario, run it under
 * the deterministic scheduler, and write the trace (snapshot, then events
 * at exact instruction positions, keyframes, PROCESS_EXIT).
 *
 * Positions.  A UC_HOOK_CODE callback counts every instruction Unicorn
 * starts (m->icount).  To stop before instruction N the hook calls
 * uc_emu_stop() without counting it (Unicorn then does not execute it; it
 * fires the hook again when emulation resumes).  A sysenter is counted by
 * the code hook before the UC_HOOK_INSN callback runs, so inside the
 * system call handler the sysenter's position is icount - 1; a call that
 * blocks un-counts it and leaves the thread on it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/winemu/winemu_int.h"

/* 1601-01-01 to 1970-01-01 in 100 ns units */
#define EPOCH_DIFF_100NS 116444736000000000ull

void wemu_warn(struct wemu *m, const char *fmt, ...)
{
	if (m->opt && m->opt->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "strand record-win: warning: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

uint64_t wemu_now(const struct wemu *m)
{
	const struct wscn_process *pr = &m->scn->proc;
	return pr->system_time + (uint64_t)((unsigned __int128)m->icount * 10000000u / pr->ips) + m->idle;
}

strand_status wemu_put(struct wemu *m, const struct strand_record *r)
{
	strand_status st = strand_writer_put(m->w, r, m->err);
	if (st != STRAND_OK)
		return strand_error_wrap(m->err, st, "cannot write %s record at position %" PRIu64,
					 strand_rec_type_str(r->type), r->position);
	if (m->res)
		m->res->records++;
	return STRAND_OK;
}

struct wthread *wemu_current(struct wemu *m)
{
	return m->threads[m->cur];
}

/* ===================================================================== */
/* CPU state <-> strand_cpu                                               */
/* ===================================================================== */

static const int gpr_regs[8] = { UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
				 UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI };
static const int seg_regs[STRAND_SEG_COUNT] = { UC_X86_REG_ES, UC_X86_REG_CS, UC_X86_REG_SS,
						UC_X86_REG_DS, UC_X86_REG_FS, UC_X86_REG_GS };

static void le_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void wemu_cpu_store(struct wemu *m, struct strand_cpu *cpu)
{
	uc_engine *uc = m->uc;
	struct wthread *t = wemu_current(m);
	memset(cpu, 0, sizeof *cpu);
	for (int i = 0; i < 8; i++) {
		uint32_t v = 0;
		uc_reg_read(uc, gpr_regs[i], &v);
		cpu->gpr[i] = v;
	}
	uint32_t v = 0;
	uc_reg_read(uc, UC_X86_REG_EIP, &v);
	cpu->rip = v;
	uc_reg_read(uc, UC_X86_REG_EFLAGS, &v);
	cpu->rflags = v;
	for (int i = 0; i < STRAND_SEG_COUNT; i++) {
		v = 0;
		uc_reg_read(uc, seg_regs[i], &v);
		cpu->sel[i] = (uint16_t)v;
	}
	cpu->fs_base = t->teb;
	cpu->gdt_base = WEMU_GDT;
	cpu->gdt_limit = WEMU_GDT_LIMIT;
	/* FXSAVE image: FCW, FSW, abridged FTW, MXCSR, ST0-7 (as Unicorn's
	 * FP0-7), XMM0-7 */
	uint8_t *fx = cpu->fxsave;
	uc_reg_read(uc, UC_X86_REG_FPCW, &v);
	le_put(fx + 0, v, 2);
	uc_reg_read(uc, UC_X86_REG_FPSW, &v);
	le_put(fx + 2, v, 2);
	uc_reg_read(uc, UC_X86_REG_FPTAG, &v);
	uint8_t ftw = 0;
	for (int i = 0; i < 8; i++)
		if (((v >> (2 * i)) & 3) != 3)
			ftw |= (uint8_t)(1u << i);
	fx[4] = ftw;
	uc_reg_read(uc, UC_X86_REG_MXCSR, &v);
	le_put(fx + 24, v, 4);
	for (int i = 0; i < 8; i++) {
		uint8_t f[16] = { 0 }; /* Unicorn: 8-byte mantissa, 2-byte sign+exponent */
		uc_reg_read(uc, UC_X86_REG_FP0 + i, f);
		memcpy(fx + 32 + 16 * i, f, 10);
		uint8_t x[16] = { 0 };
		uc_reg_read(uc, UC_X86_REG_XMM0 + i, x);
		memcpy(fx + 160 + 16 * i, x, 16);
	}
}

void wemu_cpu_load(struct wemu *m, const struct strand_cpu *cpu)
{
	uc_engine *uc = m->uc;
	for (int i = 0; i < 8; i++) {
		uint32_t v = (uint32_t)cpu->gpr[i];
		uc_reg_write(uc, gpr_regs[i], &v);
	}
	uint32_t v = (uint32_t)cpu->rip;
	uc_reg_write(uc, UC_X86_REG_EIP, &v);
	v = (uint32_t)cpu->rflags;
	uc_reg_write(uc, UC_X86_REG_EFLAGS, &v);
	uc_x86_mmr gdtr = { 0, cpu->gdt_base, cpu->gdt_limit, 0 };
	uc_reg_write(uc, UC_X86_REG_GDTR, &gdtr);
	for (int i = 0; i < STRAND_SEG_COUNT; i++) {
		v = cpu->sel[i];
		uc_reg_write(uc, seg_regs[i], &v);
	}
	const uint8_t *fx = cpu->fxsave;
	v = (uint32_t)le_get(fx + 0, 2);
	uc_reg_write(uc, UC_X86_REG_FPCW, &v);
	v = (uint32_t)le_get(fx + 2, 2);
	uc_reg_write(uc, UC_X86_REG_FPSW, &v);
	v = 0;
	for (int i = 0; i < 8; i++)
		if (!(fx[4] & (1u << i)))
			v |= 3u << (2 * i);
	uc_reg_write(uc, UC_X86_REG_FPTAG, &v);
	v = (uint32_t)le_get(fx + 24, 4);
	uc_reg_write(uc, UC_X86_REG_MXCSR, &v);
	for (int i = 0; i < 8; i++) {
		uint8_t f[16] = { 0 };
		memcpy(f, fx + 32 + 16 * i, 10);
		uc_reg_write(uc, UC_X86_REG_FP0 + i, f);
		uc_reg_write(uc, UC_X86_REG_XMM0 + i, fx + 160 + 16 * i);
	}
}

/* ===================================================================== */
/* Hooks                                                                  */
/* ===================================================================== */

struct hookstate {
	uint64_t last_pc;     /* address of the last counted instruction */
	bool stopped;         /* the code hook stopped emulation */
	bool have_intr;
	uint32_t intno;
	bool have_mem_fault;
	uint64_t mem_addr;
	int mem_access;       /* EXCEPTION_RECORD access: 0 read, 1 write, 8 execute */
	bool cpuid_pending;   /* a cpuid ran: its NONDET record is written at the next instruction */
	uint64_t cpuid_pos;   /* its position */
	uint64_t cpuid_pc;
};

struct wemu_run {
	struct wemu *m;
	struct hookstate h;
};

/* The cpuid that just ran: a NONDET record with the registers it produced
 * (Unicorn's CPU model; replay takes them from the trace instead of
 * executing the instruction, so another Unicorn build replays the same). */
static void flush_cpuid(struct wemu_run *run, uint64_t next_pc)
{
	struct wemu *m = run->m;
	run->h.cpuid_pending = false;
	if (m->hook_status != STRAND_OK)
		return;
	static const int regs[4] = { UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX };
	static const uint32_t ids[4] = { STRAND_REG_RAX, STRAND_REG_RBX, STRAND_REG_RCX, STRAND_REG_RDX };
	struct strand_regval rv[5];
	for (int i = 0; i < 4; i++) {
		uint32_t v = 0;
		uc_reg_read(m->uc, regs[i], &v);
		rv[i] = (struct strand_regval){ ids[i], v };
	}
	rv[4] = (struct strand_regval){ STRAND_REG_RIP, next_pc };
	struct strand_record r = { .type = STRAND_REC_NONDET, .tid = wemu_current(m)->tid,
				   .position = run->h.cpuid_pos };
	r.u.nondet = (struct strand_nondet){ run->h.cpuid_pc, STRAND_NONDET_CPUID,
					     { NULL, 5, rv, 0, NULL, 0, NULL } };
	strand_status st = wemu_put(m, &r);
	if (st != STRAND_OK) {
		m->hook_status = st;
		m->stop_pending = true;
	}
}

static void hook_code(uc_engine *uc, uint64_t addr, uint32_t size, void *ud)
{
	struct wemu_run *run = ud;
	struct wemu *m = run->m;
	if (run->h.cpuid_pending)
		flush_cpuid(run, addr);
	if (m->stop_pending || m->icount >= m->stop_at) {
		run->h.stopped = true;
		uc_emu_stop(uc);
		return;
	}
	m->icount++;
	run->h.last_pc = addr;
}

static void hook_sysenter(uc_engine *uc, void *ud)
{
	struct wemu_run *run = ud;
	struct wemu *m = run->m;
	if (m->hook_status != STRAND_OK)
		return;
	/* the sysenter's address is the last instruction the code hook
	 * counted; eip itself is not reliable here (Unicorn 2.0.1 does not
	 * always sync it before the sysenter helper) */
	uint32_t pc = (uint32_t)run->h.last_pc;
	bool blocked;
	strand_status st = wemu_syscall(m, pc, &blocked);
	if (st != STRAND_OK) {
		m->hook_status = st;
		m->stop_pending = true;
	}
}

static int hook_cpuid(uc_engine *uc, void *ud)
{
	struct wemu_run *run = ud;
	run->h.cpuid_pending = true;
	run->h.cpuid_pos = run->m->icount - 1; /* the code hook counted it */
	run->h.cpuid_pc = run->h.last_pc;
	return 0; /* Unicorn executes it; flush_cpuid records what it produced */
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *ud)
{
	struct wemu_run *run = ud;
	run->h.have_intr = true;
	run->h.intno = intno;
	uc_emu_stop(uc);
}

static bool hook_mem_invalid(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
			     void *ud)
{
	struct wemu_run *run = ud;
	run->h.have_mem_fault = true;
	run->h.mem_addr = addr;
	run->h.mem_access = type == UC_MEM_WRITE_UNMAPPED || type == UC_MEM_WRITE_PROT   ? 1
			    : type == UC_MEM_FETCH_UNMAPPED || type == UC_MEM_FETCH_PROT ? 8
											 : 0;
	return false;
}

/* ===================================================================== */
/* Keyframes, scheduling                                                  */
/* ===================================================================== */

static strand_status write_keyframe(struct wemu *m)
{
	struct wthread *cur = wemu_current(m);
	if (cur->state != WT_EXITED)
		wemu_cpu_store(m, &cur->cpu);
	struct strand_keyframe_thread *kt = calloc(m->nthreads ? m->nthreads : 1, sizeof *kt);
	struct strand_digest *dg = calloc(m->nregions ? m->nregions : 1, sizeof *dg);
	uint8_t *buf = NULL;
	size_t cap = 0;
	strand_status st = STRAND_OK;
	if (!kt || !dg) {
		st = strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
		goto out;
	}
	uint32_t nt = 0, nd = 0;
	for (size_t i = 0; i < m->nthreads; i++)
		if (m->threads[i]->state != WT_EXITED) {
			kt[nt].tid = m->threads[i]->tid;
			kt[nt].cpu = m->threads[i]->cpu;
			nt++;
		}
	for (size_t i = 0; i < m->nregions; i++) {
		const struct wregion *g = &m->regions[i];
		if (!(g->prot & STRAND_PROT_WRITE) && g->kind != STRAND_REGION_GDT)
			continue;
		if (g->size > cap) {
			uint8_t *q = realloc(buf, g->size);
			if (!q) {
				st = strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
				goto out;
			}
			buf = q;
			cap = g->size;
		}
		if (uc_mem_read(m->uc, g->addr, buf, g->size) != UC_ERR_OK) {
			st = strand_error_set(m->err, STRAND_ERR_EMULATOR, "winemu: cannot read 0x%08x", g->addr);
			goto out;
		}
		dg[nd++] = (struct strand_digest){ g->addr, g->size, strand_digest(buf, g->size) };
	}
	struct strand_record r = { .type = STRAND_REC_KEYFRAME, .tid = cur->tid, .position = m->icount };
	r.u.keyframe = (struct strand_keyframe){ nt, kt, nd, dg };
	st = wemu_put(m, &r);
out:
	free(kt);
	free(dg);
	free(buf);
	return st;
}

static bool runnable(struct wemu *m, struct wthread *t)
{
	return t->state != WT_EXITED && t->suspend_count == 0 && wemu_wait_ready(m, t);
}

/* Pick the next thread round-robin (the current one last); advance the
 * idle clock over sleeps; THREAD_SWITCH if it changes.  Sets m->ended on
 * deadlock. */
static strand_status schedule(struct wemu *m)
{
	struct wthread *cur = wemu_current(m);
	if (cur->state != WT_EXITED)
		wemu_cpu_store(m, &cur->cpu);
	size_t n = m->nthreads, pick = n;
	for (;;) {
		for (size_t k = 1; k <= n && pick == n; k++) {
			size_t i = (m->cur + k) % n;
			if (runnable(m, m->threads[i]))
				pick = i;
		}
		if (pick != n)
			break;
		bool any = false;
		uint64_t earliest = UINT64_MAX;
		for (size_t i = 0; i < n; i++) {
			struct wthread *t = m->threads[i];
			if (t->state == WT_WAITING && t->suspend_count == 0 && t->has_deadline) {
				any = true;
				if (t->deadline < earliest)
					earliest = t->deadline;
			}
		}
		if (!any) {
			wemu_warn(m, "every thread waits forever at position %" PRIu64
				  ": ending the process with STATUS_POSSIBLE_DEADLOCK", m->icount);
			m->ended = true;
			m->exit_status = ST_POSSIBLE_DEADLOCK;
			if (m->res)
				snprintf(m->res->end_reason, sizeof m->res->end_reason, "deadlock");
			return STRAND_OK;
		}
		uint64_t now = wemu_now(m);
		if (earliest > now)
			m->idle += earliest - now;
	}
	struct wthread *t = m->threads[pick];
	if (pick != m->cur) {
		struct strand_record r = { .type = STRAND_REC_THREAD_SWITCH, .tid = t->tid,
					   .position = m->icount };
		strand_status st = wemu_put(m, &r);
		if (st != STRAND_OK)
			return st;
		m->cur = pick;
		/* the thread switch rule of docs/winemu.md: FS descriptor base,
		 * FS reload, then the context */
		wemu_gdt_set_fs_base(m, t->teb);
		wemu_cpu_load(m, &t->cpu);
	}
	t->quantum_start = m->icount;
	m->switch_pending = false;
	return STRAND_OK;
}

static uint32_t intr_status(uint32_t intno)
{
	switch (intno) {
	case 0: return ST_INTEGER_DIVIDE_BY_ZERO;
	case 1: return 0x80000004u; /* STATUS_SINGLE_STEP */
	case 3: return ST_BREAKPOINT;
	case 6: return ST_ILLEGAL_INSTRUCTION;
	case 0x2d: return ST_BREAKPOINT;
	default: return ST_ACCESS_VIOLATION;
	}
}

/* The guest faulted at position icount (the faulting instruction not
 * counted): EXCEPTION record, the process dies of it. */
static strand_status guest_fault(struct wemu *m, struct wemu_run *run, uc_err e)
{
	uint32_t eip = 0;
	uc_reg_read(m->uc, UC_X86_REG_EIP, &eip);
	uint32_t code;
	uint64_t addr = 0;
	if (run->h.have_intr) {
		code = intr_status(run->h.intno);
	} else if (e == UC_ERR_INSN_INVALID) {
		code = ST_ILLEGAL_INSTRUCTION;
	} else if (e == UC_ERR_OK) {
		code = ST_PRIVILEGED_INSTRUCTION; /* e.g. hlt stopped the CPU */
	} else {
		code = ST_ACCESS_VIOLATION;
		addr = run->h.have_mem_fault ? run->h.mem_addr : eip;
	}
	/* the faulting instruction did not retire: if the code hook counted
	 * it, take it back and put eip on it */
	uint32_t pc = eip;
	if (m->icount > 0 && (run->h.have_intr || run->h.last_pc == eip || e == UC_ERR_OK)) {
		m->icount--;
		pc = (uint32_t)run->h.last_pc;
		uc_reg_write(m->uc, UC_X86_REG_EIP, &pc);
	}
	if (m->personality != WP_STANDIN && m->nested_faults < 8) {
		/* real system DLLs handle exceptions themselves: deliver it to
		 * ntdll!KiUserExceptionDispatcher (an EXCEPTION record, not fatal,
		 * whose effects are the frame written and the context entered) */
		uint8_t rec[0x50] = { 0 };
		uint32_t nparams = code == ST_ACCESS_VIOLATION ? 2 : 0;
		le_put(rec + 0x00, code, 4);
		le_put(rec + 0x0C, pc, 4);
		le_put(rec + 0x10, nparams, 4);
		if (nparams) {
			le_put(rec + 0x14, (uint64_t)run->h.mem_access, 4);
			le_put(rec + 0x18, addr, 4);
		}
		struct strand_cpu cpu;
		wemu_cpu_store(m, &cpu);
		cpu.rip = pc;
		wemu_fx_reset(&m->fx);
		m->fx.active = true;
		strand_status dst = wemu_deliver_exception(m, &cpu, rec, sizeof rec, NULL);
		m->fx.active = false;
		if (dst == STRAND_OK) {
			m->nested_faults++;
			struct strand_record r = { .type = STRAND_REC_EXCEPTION, .tid = wemu_current(m)->tid,
						   .position = m->icount };
			r.u.exception = (struct strand_exception){
				STRAND_EXC_EXCEPTION, 0, code, pc, addr,
				{ &cpu, 0, NULL, m->fx.nmaps, m->fx.maps, m->fx.nwrites, m->fx.writes } };
			strand_status st = wemu_put(m, &r);
			wemu_fx_reset(&m->fx);
			wemu_cpu_load(m, &cpu);
			return st;
		}
		wemu_fx_reset(&m->fx);
	}
	if (!m->opt || !m->opt->quiet)
		fprintf(stderr, "strand record-win: guest fault: thread %u pc=0x%08x status=0x%08x%s%s at "
			"position %" PRIu64 "\n", wemu_current(m)->tid, pc, code,
			addr ? " address=" : "", addr ? "(see trace)" : "", m->icount);
	struct strand_record r = { .type = STRAND_REC_EXCEPTION, .tid = wemu_current(m)->tid,
				   .position = m->icount };
	r.u.exception = (struct strand_exception){ STRAND_EXC_EXCEPTION, STRAND_EXC_F_FATAL, code, pc, addr,
						   { 0 } };
	m->ended = true;
	m->exit_status = code;
	if (m->res)
		snprintf(m->res->end_reason, sizeof m->res->end_reason, "fault");
	return wemu_put(m, &r);
}

static strand_status run(struct wemu *m)
{
	struct wemu_run rs = { .m = m };
	uc_hook h1, h2, h3, h4, h5;
	if (uc_hook_add(m->uc, &h1, UC_HOOK_CODE, (void *)hook_code, &rs, 1, 0) != UC_ERR_OK ||
	    uc_hook_add(m->uc, &h2, UC_HOOK_INSN, (void *)hook_sysenter, &rs, 1, 0, UC_X86_INS_SYSENTER) != UC_ERR_OK ||
	    uc_hook_add(m->uc, &h3, UC_HOOK_INTR, (void *)hook_intr, &rs, 1, 0) != UC_ERR_OK ||
	    uc_hook_add(m->uc, &h4, UC_HOOK_MEM_INVALID, (void *)hook_mem_invalid, &rs, 1, 0) != UC_ERR_OK ||
	    uc_hook_add(m->uc, &h5, UC_HOOK_INSN, (void *)hook_cpuid, &rs, 1, 0, UC_X86_INS_CPUID) != UC_ERR_OK)
		return strand_error_set(m->err, STRAND_ERR_EMULATOR, "winemu: cannot install hooks");
	const struct wscn_process *pr = &m->scn->proc;
	struct wthread *t0 = wemu_current(m);
	wemu_gdt_set_fs_base(m, t0->teb);
	wemu_cpu_load(m, &t0->cpu);
	t0->quantum_start = 0;
	m->next_keyframe = 0;
	strand_status st = STRAND_OK;
	while (!m->ended) {
		if (m->icount >= m->next_keyframe) {
			if ((st = write_keyframe(m)) != STRAND_OK)
				return st;
			m->next_keyframe = m->icount + pr->keyframe_interval;
		}
		if (m->icount >= pr->max_instructions) {
			wemu_warn(m, "instruction limit %" PRIu64 " reached: ending the process with STATUS_TIMEOUT",
				  pr->max_instructions);
			m->ended = true;
			m->exit_status = ST_TIMEOUT;
			if (m->res)
				snprintf(m->res->end_reason, sizeof m->res->end_reason, "instruction limit");
			break;
		}
		struct wthread *t = wemu_current(m);
		if (m->switch_pending || !runnable(m, t) || m->icount - t->quantum_start >= pr->quantum) {
			if ((st = schedule(m)) != STRAND_OK)
				return st;
			continue;
		}
		uint64_t target = t->quantum_start + pr->quantum;
		if (m->next_keyframe < target)
			target = m->next_keyframe;
		if (pr->max_instructions < target)
			target = pr->max_instructions;
		m->stop_at = target;
		m->stop_pending = false;
		rs.h = (struct hookstate){ 0 };
		uint32_t eip = 0;
		uc_reg_read(m->uc, UC_X86_REG_EIP, &eip);
		uc_err e = uc_emu_start(m->uc, eip, 0, 0, 0);
		if (m->hook_status != STRAND_OK)
			return m->hook_status;
		if (m->ended)
			break;
		if (e != UC_ERR_OK || rs.h.have_intr || !rs.h.stopped) {
			if ((st = guest_fault(m, &rs, e)) != STRAND_OK)
				return st;
			if (m->ended)
				break;
			continue; /* delivered to the thread's exception dispatcher */
		}
	}
	if (m->res && !m->res->end_reason[0])
		snprintf(m->res->end_reason, sizeof m->res->end_reason, "exit");
	if ((st = write_keyframe(m)) != STRAND_OK)
		return st;
	struct strand_record r = { .type = STRAND_REC_PROCESS_EXIT, .tid = wemu_current(m)->tid,
				   .position = m->icount };
	r.u.exit_code = m->exit_status;
	return wemu_put(m, &r);
}

/* ===================================================================== */
/* Entry point                                                            */
/* ===================================================================== */

static void wemu_free(struct wemu *m)
{
	for (size_t i = 0; i < m->nmods; i++) {
		pe_file_free(&m->mods[i].pe);
		free(m->mods[i].img);
		pe_exports_free(m->mods[i].exports, m->mods[i].nexports);
		free(m->mods[i].win32_path);
	}
	free(m->mods);
	free(m->init_order);
	for (size_t i = 0; i < m->nthreads; i++)
		free(m->threads[i]);
	free(m->threads);
	wemu_kernel_free(m);
	wemu_systable_free(m);
	wemu_fx_free(&m->fx);
	free(m->regions);
	if (m->uc)
		uc_close(m->uc);
}

/* One recording.  `note` (may be NULL) is the unmodelled-services log of
 * an earlier identical pass; *log receives this pass's (owned, free()). */
static strand_status record_pass(const char *scenario_path, const char *out_path,
				 const struct strand_winemu_options *opt, struct strand_winemu_result *res,
				 strand_error *err, const char *note, size_t note_len, char **log,
				 size_t *log_len)
{
	memset(res, 0, sizeof *res);
	*log = NULL;
	*log_len = 0;
	struct wemu m = { .opt = opt, .res = res, .err = err, .unmodelled_note = note,
			  .unmodelled_note_len = note_len };
	bool opened = false;
	struct wscn_parse_options so = { .allow_host_files = opt && opt->allow_host_files };
	strand_status st = wscn_load_opts(scenario_path, &so, &m.scn, err);
	if (st != STRAND_OK)
		return st;
	uc_err e = uc_open(UC_ARCH_X86, UC_MODE_32, &m.uc);
	if (e != UC_ERR_OK) {
		st = strand_error_set(err, STRAND_ERR_EMULATOR, "winemu: uc_open: %s", uc_strerror(e));
		goto out;
	}
	if ((st = wemu_kernel_init(&m)) != STRAND_OK || (st = wemu_load_process(&m)) != STRAND_OK)
		goto out;
	res->modules = (uint32_t)m.nmods;
	res->threads = 1;
	struct strand_trace_info info = { 0 };
	info.format_major = STRAND_FORMAT_MAJOR;
	info.format_minor = STRAND_FORMAT_MINOR;
	info.arch = STRAND_ARCH_X86_32;
	info.abi = STRAND_ABI_WINDOWS_NT;
	/* reproducible: the scenario's clock, not the host's */
	uint64_t t = m.scn->proc.system_time;
	info.created_unix_ns = t > EPOCH_DIFF_100NS ? (t - EPOCH_DIFF_100NS) * 100 : 0;
	snprintf(info.recorder, sizeof info.recorder, "strand-winemu");
	snprintf(info.recorder_version, sizeof info.recorder_version, "%s", STRAND_VERSION_STRING);
	if ((st = strand_writer_open(out_path, &info, NULL, &m.w, err)) != STRAND_OK)
		goto out;
	opened = true;
	if ((st = wemu_write_snapshot(&m)) != STRAND_OK || (st = run(&m)) != STRAND_OK)
		goto out;
	res->instructions = m.icount;
	res->exit_status = m.exit_status;
	st = strand_writer_close(m.w, err);
	m.w = NULL;
out:
	if (m.w) {
		strand_writer_abort(m.w);
		remove(out_path);
	} else if (st != STRAND_OK && opened) {
		remove(out_path);
	}
	*log = m.unmodelled;
	*log_len = m.unmodelled_len;
	m.unmodelled = NULL;
	wemu_free(&m);
	wscn_free(m.scn);
	return st;
}

/* Services the kernel model does not serve are only known once the run
 * reaches them, but NOTE records belong to the snapshot: when a run met
 * some, it is repeated (recording is deterministic and fast) with their
 * list as NOTE "unmodelled-syscalls". */
strand_status strand_winemu_record(const char *scenario_path, const char *out_path,
				   const struct strand_winemu_options *opt,
				   struct strand_winemu_result *res, strand_error *err)
{
	struct strand_winemu_result dummy;
	if (!res)
		res = &dummy;
	char *log = NULL, *log2 = NULL;
	size_t len = 0, len2 = 0;
	strand_status st = record_pass(scenario_path, out_path, opt, res, err, NULL, 0, &log, &len);
	if (st == STRAND_OK && len) {
		struct strand_winemu_options quiet = opt ? *opt : (struct strand_winemu_options){ 0 };
		quiet.quiet = true; /* the first pass warned already */
		st = record_pass(scenario_path, out_path, &quiet, res, err, log, len, &log2, &len2);
		if (st == STRAND_OK && (len2 != len || memcmp(log, log2, len) != 0)) {
			remove(out_path);
			st = strand_error_set(err, STRAND_ERR_RECORD,
					      "winemu: the second pass differs from the first (nondeterminism)");
		}
	}
	free(log);
	free(log2);
	if (st != STRAND_OK)
		strand_error_wrap(err, st, "record-win %s", scenario_path);
	return st;
}
