/*
 * Call frame information for gdb, learnt from the recording.
 *
 * The modules of a Windows trace come without unwind tables (and the
 * symbol files gdb loads are written here from symbol tables only), so
 * gdb unwinds by analysing prologues and gets lost in frames that keep no
 * frame pointer.  But the replay knows, at every instruction it runs,
 * where the current function's frame begins: a pass with a shadow stack
 * per thread (pushed at each call, popped when the stack pointer rises
 * above the return address slot) gives, for each executed pc, the
 * distance from the stack pointer to the canonical frame address
 * (CFA = the stack pointer before the call = return address slot + the
 * pointer size).  In compiled code that distance is a property of the pc,
 * so it becomes one row of DWARF call frame information; gdb then unwinds
 * every frame that ran in the recording exactly, frame pointer or not.
 *
 * The caller's frame pointer (ebp/rbp) is learnt likewise: at each pc,
 * whether it still holds the value it had at the call, or that value sits
 * in the slot below the return address (where `push ebp` puts it); where
 * neither always held, gdb is told it is not known rather than shown the
 * callee's.
 *
 * A pc that only ever ran with no call of the recording above it is its
 * thread's outermost frame (a thread's start routine: the recorders start
 * with the process), so its return address is "undefined" and gdb's
 * backtrace ends there.  What is not learnt is left out, so that gdb falls
 * back to its own analysis there: a pc seen at two distances (alloca,
 * hand-written code) or both with and without a frame, code under a
 * kernel-made frame (an exception or signal dispatcher starts where the
 * kernel put the stack, until that stack is given back).
 *
 * The rows go out as a .debug_frame section (DWARF 2 call frame
 * information, version 1 CIE) per module: gdb/symfile.c embeds it.
 *   CIE: code alignment 1, data alignment -4 (-8), return address column
 *        eip (8) / rip (16); initially CFA = esp+4 (rsp+8), return
 *        address at CFA-4 (CFA-8).
 *   FDE: one per run of consecutive learnt pcs (a pc that ran but was not
 *        learnt ends a run); a DW_CFA_advance_loc + DW_CFA_def_cfa_offset
 *        wherever the distance changes, DW_CFA_same_value / DW_CFA_offset
 *        (CFA-8, CFA-16) / DW_CFA_undefined on ebp (rbp) wherever its
 *        rule changes; for a run of outermost pcs,
 *        DW_CFA_undefined on the return address.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "gdb/server_int.h"

/* KNOWN: one distance; OUTER: only ran with no frame above it; UNKNOWN:
 * ran, nothing single to say */
enum { PC_KNOWN = 1, PC_OUTER = 2, PC_UNKNOWN = 3 };

struct pc_ent {
	uint64_t pc;        /* 0 = empty slot */
	uint32_t cfa_off;   /* CFA - sp before the instruction, bytes (PC_KNOWN) */
	uint8_t size;       /* instruction length, bytes */
	uint8_t state;      /* PC_* */
	uint8_t fp;         /* FP_* facts that held at every run checked (PC_KNOWN) */
	uint8_t fp_checks;  /* runs checked: 0 = fp not set; FP_CHECKS = no more */
};

/* Runs of a pc at which the frame pointer facts are checked (each check
 * reads memory: a loop's pcs would pay it at every turn) */
#define FP_CHECKS 8

/* Facts about the caller's frame pointer at a pc */
enum { FP_SAME = 1, FP_SAVED = 2 }; /* still in the register; in the slot at CFA-2*ptr */

/* A frame of a thread's shadow stack. */
struct sframe {
	uint64_t slot;      /* address of the return address (sp after the call);
			       for a kernel-made frame, the sp it interrupted */
	uint64_t fp;        /* the caller's frame pointer at the call */
	bool kernel;        /* a barrier: nothing below it is learnt */
};

struct sthread {
	uint32_t tid;
	struct sframe *f;   /* owned, outermost first */
	size_t n, cap;
	uint64_t sp_before_event; /* sp at the last event's "before" call */
	bool in_event;
	bool lost;          /* went deeper than CFI_MAX_DEPTH: nothing learnt
			       until its stack is back under the frames kept */
};

#define CFI_MAX_DEPTH 65536u /* frames kept per thread */
/* Distinct pcs learnt at most (the table then holds 4M slots of 16 bytes, 64 MiB):
 * code that runs at more places than that (generated, hostile) is left
 * to gdb's analysis past them */
#define CFI_MAX_PCS ((1u << 21) - 1) /* below the load that doubles 4M slots */

struct gdb_cfi {
	bool x86_64;
	struct pc_ent *tab; /* open addressing, cap a power of two */
	size_t cap, n;
	struct sthread *th; /* owned */
	size_t nth, capth;
	size_t last;        /* index in th of the thread seen last */
	bool nomem;
	uint64_t insns;     /* instructions observed */
};

static size_t slot_of(const struct gdb_cfi *c, uint64_t pc)
{
	return (size_t)((pc * 0x9E3779B97F4A7C15ull) >> 17) & (c->cap - 1);
}

static bool tab_grow(struct gdb_cfi *c)
{
	if (c->cap && (c->n + 1) * 2 < c->cap)
		return true;
	size_t ncap = c->cap ? c->cap * 2 : 4096;
	if (ncap < c->cap || ncap > SIZE_MAX / sizeof(struct pc_ent))
		return false;
	struct pc_ent *t = calloc(ncap, sizeof *t);
	if (!t)
		return false;
	struct pc_ent *old = c->tab;
	size_t ocap = c->cap;
	c->tab = t;
	c->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].pc)
			continue;
		size_t j = slot_of(c, old[i].pc);
		while (t[j].pc)
			j = (j + 1) & (ncap - 1);
		t[j] = old[i];
	}
	free(old);
	return true;
}

/* The entry of pc, added (state 0) if new; NULL when out of memory. */
static struct pc_ent *tab_get(struct gdb_cfi *c, uint64_t pc)
{
	if (c->n >= CFI_MAX_PCS && c->cap) { /* full: only pcs already there */
		size_t j = slot_of(c, pc);
		while (c->tab[j].pc && c->tab[j].pc != pc)
			j = (j + 1) & (c->cap - 1);
		return c->tab[j].pc ? &c->tab[j] : NULL;
	}
	if (!tab_grow(c)) {
		c->nomem = true;
		return NULL;
	}
	size_t j = slot_of(c, pc);
	while (c->tab[j].pc && c->tab[j].pc != pc)
		j = (j + 1) & (c->cap - 1);
	if (!c->tab[j].pc) {
		c->tab[j].pc = pc;
		c->n++;
	}
	return &c->tab[j];
}

static struct sthread *thread_of(struct gdb_cfi *c, uint32_t tid)
{
	if (c->last < c->nth && c->th[c->last].tid == tid)
		return &c->th[c->last];
	for (size_t i = 0; i < c->nth; i++)
		if (c->th[i].tid == tid)
			return &c->th[c->last = i];
	if (!STRAND_GROW(c->th, c->capth, c->nth, 1)) {
		c->nomem = true;
		return NULL;
	}
	c->last = c->nth;
	struct sthread *t = &c->th[c->nth++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

static bool push(struct gdb_cfi *c, struct sthread *t, uint64_t slot, uint64_t fp,
		 bool kernel)
{
	if (t->lost)
		return true;
	if (t->n >= CFI_MAX_DEPTH) { /* the frames kept still pop in order */
		t->lost = true;
		return true;
	}
	if (!STRAND_GROW(t->f, t->cap, t->n, 1)) {
		c->nomem = true;
		return false;
	}
	t->f[t->n++] = (struct sframe){ .slot = slot, .fp = fp, .kernel = kernel };
	return true;
}

static uint64_t sp_now(struct strand_replay *r, const struct gdb_cfi *c)
{
	(void)c;
	return strand_replay_gpr(r, STRAND_REG_RSP);
}

static uint64_t fp_now(struct strand_replay *r, const struct gdb_cfi *c)
{
	(void)c;
	return strand_replay_gpr(r, STRAND_REG_RBP);
}

/* What holds of the caller's frame pointer here, in frame f (FP_*). */
static uint8_t fp_facts(struct strand_replay *r, const struct gdb_cfi *c,
			const struct sframe *f)
{
	unsigned ps = c->x86_64 ? 8 : 4;
	uint8_t facts = fp_now(r, c) == f->fp ? FP_SAME : 0;
	uint8_t b[8], valid[8];
	if (f->slot >= ps && strand_replay_read(r, f->slot - ps, b, ps, valid) == ps) {
		uint64_t v = 0;
		for (unsigned i = 0; i < ps; i++)
			v |= (uint64_t)b[i] << (8 * i);
		if (v == f->fp)
			facts |= FP_SAVED;
	}
	return facts;
}

static void on_insn(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		    uint32_t size)
{
	(void)position;
	struct gdb_cfi *c = ud;
	c->insns++;
	struct sthread *t = thread_of(c, strand_replay_thread(r));
	if (!t || !pc)
		return;
	uint64_t sp = sp_now(r, c);
	/* frames whose return address slot the stack has left are gone
	 * (returned, unwound by longjmp or an exception handler) */
	while (t->n && sp > t->f[t->n - 1].slot)
		t->n--;
	if (t->lost && t->n < CFI_MAX_DEPTH)
		t->lost = false; /* the deepest frame kept has returned */
	if (t->lost)
		return;
	struct pc_ent *e = tab_get(c, pc);
	if (!e || e->state == PC_UNKNOWN)
		return;
	e->size = size < 256 ? (uint8_t)size : 255;
	if (!t->n) {
		e->state = e->state == 0 || e->state == PC_OUTER ? PC_OUTER : PC_UNKNOWN;
		return;
	}
	if (t->f[t->n - 1].kernel) {
		e->state = PC_UNKNOWN;
		return;
	}
	uint64_t off = t->f[t->n - 1].slot + (c->x86_64 ? 8 : 4) - sp;
	if (off > UINT32_MAX || e->state == PC_OUTER ||
	    (e->state == PC_KNOWN && e->cfa_off != off)) {
		e->state = PC_UNKNOWN;
		return;
	}
	e->state = PC_KNOWN;
	e->cfa_off = (uint32_t)off;
	if (e->fp_checks < FP_CHECKS && (!e->fp_checks || e->fp)) {
		uint8_t facts = fp_facts(r, c, &t->f[t->n - 1]);
		e->fp = e->fp_checks ? e->fp & facts : facts;
		e->fp_checks++;
	}
}

static void on_call(struct strand_replay *r, void *ud, const struct strand_call_info *ci)
{
	struct gdb_cfi *c = ud;
	struct sthread *t = thread_of(c, ci->tid);
	if (t)
		push(c, t, ci->sp_after, fp_now(r, c), false);
}

/* An event that moves a thread's stack down (an exception or signal
 * delivered, a callback from the kernel) starts a kernel-made frame; one
 * that gives the stack back (NtContinue, sigreturn) ends it. */
static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	(void)rec;
	struct gdb_cfi *c = ud;
	struct sthread *t = thread_of(c, strand_replay_thread(r));
	if (!t)
		return;
	uint64_t sp = sp_now(r, c);
	if (!after) {
		t->sp_before_event = sp;
		t->in_event = true;
		return;
	}
	if (!t->in_event) /* a thread switch: "before" was another thread's */
		return;
	t->in_event = false;
	if (sp < t->sp_before_event) {
		push(c, t, t->sp_before_event, 0, true);
		return;
	}
	while (t->n && t->f[t->n - 1].kernel && sp >= t->f[t->n - 1].slot)
		t->n--;
}

void gdb_cfi_free(struct gdb_cfi *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nth; i++)
		free(c->th[i].f);
	free(c->th);
	free(c->tab);
	free(c);
}

strand_status gdb_cfi_build(const char *trace, bool x86_64, uint64_t max_insns,
			    struct gdb_cfi **out, strand_error *err)
{
	struct strand_replay *p = NULL;
	struct gdb_cfi *c = calloc(1, sizeof *c);
	*out = NULL;
	if (!c)
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot learn frames");
	c->x86_64 = x86_64;
	strand_status st = strand_replay_open(trace, NULL, &p, err);
	if (st < 0)
		goto out;
	if (!strand_replay_on_insn(p, on_insn, c) || !strand_replay_on_call(p, on_call, c) ||
	    !strand_replay_on_event(p, on_event, c)) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot observe the pass");
		goto out;
	}
	uint64_t end = strand_replay_end(p);
	st = strand_replay_seek(p, max_insns && max_insns < end ? max_insns : end, err);
	if (st >= 0 && c->nomem)
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot learn frames: pcs=%zu", c->n);
out:
	strand_replay_close(p);
	if (st < 0) {
		gdb_cfi_free(c);
		return strand_error_wrap(err, st, "cannot learn call frames of %s", trace);
	}
	for (size_t i = 0; i < c->nth; i++) { /* the stacks are not needed now */
		free(c->th[i].f);
		c->th[i].f = NULL;
	}
	*out = c;
	return STRAND_OK;
}

uint64_t gdb_cfi_learnt(const struct gdb_cfi *c, uint64_t *ran)
{
	uint64_t known = 0;
	for (size_t i = 0; i < c->cap; i++)
		known += c->tab[i].pc && c->tab[i].state == PC_KNOWN;
	if (ran)
		*ran = c->n;
	return known;
}

/* ---------------------------------------------------------------- DWARF */

struct out {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

static void put(struct out *o, const void *d, size_t n)
{
	if (o->failed || !STRAND_GROW(o->p, o->cap, o->len, n)) {
		o->failed = true;
		return;
	}
	memcpy(o->p + o->len, d, n);
	o->len += n;
}

static void u8(struct out *o, uint8_t v) { put(o, &v, 1); }

static void uleb(struct out *o, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		u8(o, (uint8_t)(b | (v ? 0x80 : 0)));
	} while (v);
}

static void le(struct out *o, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		u8(o, (uint8_t)(v >> (8 * i)));
}

/* Patch the 32-bit length at `at` and pad the entry with DW_CFA_nop to
 * the address size. */
static void close_entry(struct out *o, size_t at, unsigned align)
{
	while ((o->len - at) % align)
		u8(o, 0);
	if (o->failed)
		return;
	uint32_t n = (uint32_t)(o->len - at - 4);
	memcpy(o->p + at, &n, 4);
}

static int ent_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct pc_ent *)a)->pc, y = ((const struct pc_ent *)b)->pc;
	return x < y ? -1 : x > y;
}

enum {
	DW_CFA_advance_loc1 = 0x02, DW_CFA_advance_loc2 = 0x03, DW_CFA_advance_loc4 = 0x04,
	DW_CFA_undefined = 0x07, DW_CFA_same_value = 0x08,
	DW_CFA_def_cfa = 0x0c, DW_CFA_def_cfa_offset = 0x0e, DW_CFA_offset = 0x80,
	DW_CFA_advance_loc = 0x40,
};

static void advance(struct out *o, uint64_t delta)
{
	if (delta < 0x40)
		u8(o, (uint8_t)(DW_CFA_advance_loc | delta));
	else if (delta <= 0xff)
		u8(o, DW_CFA_advance_loc1), le(o, delta, 1);
	else if (delta <= 0xffff)
		u8(o, DW_CFA_advance_loc2), le(o, delta, 2);
	else
		u8(o, DW_CFA_advance_loc4), le(o, delta, 4);
}

bool gdb_cfi_debug_frame(const struct gdb_cfi *c, uint64_t lo, uint64_t hi,
			 uint8_t **outp, size_t *outlen)
{
	*outp = NULL;
	*outlen = 0;
	if (!c)
		return true;
	size_t n = 0;
	for (size_t i = 0; i < c->cap; i++)
		n += c->tab[i].pc >= lo && c->tab[i].pc < hi;
	if (!n)
		return true;
	struct pc_ent *v = malloc(n * sizeof *v);
	if (!v)
		return false;
	n = 0;
	for (size_t i = 0; i < c->cap; i++)
		if (c->tab[i].pc >= lo && c->tab[i].pc < hi)
			v[n++] = c->tab[i];
	qsort(v, n, sizeof *v, ent_cmp);
	unsigned as = c->x86_64 ? 8 : 4;
	uint8_t sp_reg = c->x86_64 ? 7 : 4, ra_reg = c->x86_64 ? 16 : 8, fp_reg = c->x86_64 ? 6 : 5;
	struct out o = { 0 };
	/* CIE */
	le(&o, 0, 4);
	le(&o, 0xffffffffu, 4);         /* CIE id */
	u8(&o, 1);                      /* version */
	u8(&o, 0);                      /* augmentation "" */
	uleb(&o, 1);                    /* code alignment */
	u8(&o, c->x86_64 ? 0x78 : 0x7c); /* data alignment -8 / -4 (sleb) */
	u8(&o, ra_reg);
	u8(&o, DW_CFA_def_cfa), uleb(&o, sp_reg), uleb(&o, as);
	u8(&o, (uint8_t)(DW_CFA_offset | ra_reg)), uleb(&o, 1);
	close_entry(&o, 0, as);
	/* FDEs over runs of learnt pcs */
	for (size_t i = 0; i < n;) {
		uint8_t kind = v[i].state;
		if (kind != PC_KNOWN && kind != PC_OUTER) {
			i++;
			continue;
		}
		size_t j = i;
		while (j + 1 < n && v[j + 1].state == kind &&
		       v[j + 1].pc >= v[j].pc + v[j].size && v[j + 1].pc - v[j].pc < 4096)
			j++;
		uint64_t start = v[i].pc, stop = v[j].pc + (v[j].size ? v[j].size : 1);
		size_t at = o.len;
		le(&o, 0, 4);
		le(&o, 0, 4);                   /* CIE offset */
		le(&o, start, as);
		le(&o, stop - start, as);
		uint64_t here = start, cur = as;
		uint8_t cur_fp = FP_SAME; /* the CIE leaves it unspecified: same value */
		if (kind == PC_OUTER)
			u8(&o, DW_CFA_undefined), uleb(&o, ra_reg);
		for (size_t k = i; k <= j && kind == PC_KNOWN; k++) {
			uint8_t fp = v[k].fp & FP_SAME ? FP_SAME : v[k].fp & FP_SAVED ? FP_SAVED : 0;
			if (v[k].cfa_off == cur && fp == cur_fp)
				continue;
			advance(&o, v[k].pc - here);
			here = v[k].pc;
			if (v[k].cfa_off != cur)
				u8(&o, DW_CFA_def_cfa_offset), uleb(&o, v[k].cfa_off);
			if (fp != cur_fp) {
				if (fp == FP_SAVED)
					u8(&o, (uint8_t)(DW_CFA_offset | fp_reg)), uleb(&o, 2);
				else
					u8(&o, fp == FP_SAME ? DW_CFA_same_value : DW_CFA_undefined),
						uleb(&o, fp_reg);
			}
			cur = v[k].cfa_off;
			cur_fp = fp;
		}
		close_entry(&o, at, as);
		i = j + 1;
	}
	free(v);
	if (o.failed) {
		free(o.p);
		return false;
	}
	*outp = o.p;
	*outlen = o.len;
	return true;
}
