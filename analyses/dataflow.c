/* dataflow: the backward data-flow engine (include/strand/dataflow.h).
 *
 * Layout of this file: instruction summaries (Zydis operand information,
 * cached per pc); the window log (observers on the engine's handle while
 * one window is replayed); the walk (taint of registers per thread and of
 * memory bytes, replaced by the sources of whatever defined them); the
 * window loop that widens backward; the public functions.
 *
 * A window [lo, hi) is logged by seeking the handle to lo (a checkpoint
 * restore and a short re-execution, no observers), lowering the
 * observation frontier there (strand_replay_observe_from_here), and
 * seeking to hi with the observers installed.  Each logged instruction
 * keeps its position, thread, summary index, the memory it accessed and
 * the value of the first register it wrote.  The walk then visits the
 * window newest first.  Steps are self-contained (no pointer into a
 * window's log), so the log is dropped when the walk moves to the
 * previous window. */
#include "strand/dataflow.h"
#include "strand/knowledge.h"
#include "strand/plugin.h"

#include <Zydis/Zydis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIT(i) STRAND_DF_REG_BIT(i)
#define SP_BIT BIT(STRAND_REG_RSP)
#define FP_BIT BIT(STRAND_REG_RBP)
#define FLAGS_BIT BIT(STRAND_DF_FLAGS)
#define NREGS 49
#define ALL_REGS ((BIT(NREGS)) - 1)

#define DEF_WINDOW (1ull << 18)
#define DEF_MAX_WINDOW (1ull << 21)
#define DEF_MAX_DISTANCE (1ull << 28)
#define DEF_MAX_STEPS 200000u
#define MAX_MEM_TAINTS 4096u
#define MIN_WINDOW 4096u
/* same-thread instructions searched before a table load for its compare,
 * and before a constant for the branch that chose it */
#define NEAR_INSNS 64u
/* control dependences followed one behind the other: a constant chosen by
 * a branch on a value that is itself a constant chosen by a branch (libc's
 * `return -1` on a failed syscall, then the caller's `return 1`) */
#define MAX_CONTROL_DEPTH 2

/* ===================================================================== */
/* Instruction summaries                                                  */
/* ===================================================================== */

enum { SUM_ZEROING = 1, SUM_CMP = 2, SUM_JCC = 4, SUM_PARTIAL = 8, SUM_BAD = 16,
       SUM_PUSHPOP = 32 };

struct summary {
	uint64_t pc;        /* key */
	uint64_t rd;        /* registers read as values (FLAGS_BIT: tests flags) */
	uint64_t wr;        /* registers written (FLAGS_BIT: modifies flags) */
	uint64_t addr;      /* registers forming memory addresses */
	uint64_t index;     /* of those, index registers (array subscripts) */
	uint8_t first_wr;   /* lowest written register (not rsp, not flags), 0xff if none */
	uint8_t flags;      /* SUM_* */
};

/* ===================================================================== */
/* The window log                                                         */
/* ===================================================================== */

enum { ENT_INSN = 0, ENT_EVENT = 1 };

struct entry {
	uint64_t pos;
	uint64_t sp;        /* INSN: stack pointer before it (same value: same frame) */
	uint64_t wval;      /* INSN: first_wr's value after it (if have_wval) */
	uint32_t sum;       /* INSN: summary index; EVENT: index into evs[] */
	uint32_t tid;
	uint32_t mem_first; /* into mem[] */
	uint16_t mem_n;
	uint8_t kind;       /* ENT_* */
	uint8_t have_wval;
};

struct memacc {
	uint64_t addr;
	uint64_t value;     /* first 8 bytes */
	uint32_t size;
	uint8_t is_write;
};

struct evinfo {
	uint64_t wr;        /* registers the event set */
	uint64_t pc;
	uint64_t result;
	uint32_t number;
	bool syscall;
};

struct page_first {
	uint64_t page;      /* page number + 1; 0 = empty */
	uint64_t first_pos; /* first write in the window */
};

/* ===================================================================== */
/* The walk                                                               */
/* ===================================================================== */

struct rtaint {
	uint32_t tid;
	uint64_t mask;
	int32_t step[NREGS];
};

struct mtaint {
	uint64_t addr;
	uint32_t size;
	int32_t step;
};

struct deferred {
	uint64_t entry;     /* apply when the walk reaches this entry */
	uint32_t tid;
	uint64_t regs;
	int32_t step;
};

struct strand_dataflow {
	struct strand_replay *r;      /* borrowed */
	struct strand_replay *snap;   /* owned: at position 0, NULL if unavailable */
	char *trace;                  /* owned, may be NULL */
	bool snap_tried;
	strand_arch arch;
	strand_abi abi;
	ZydisDecoder dec;
	ZydisMachineMode mode;
	struct strand_df_options opt;

	/* summaries: survive windows */
	struct summary *sums; uint32_t nsums, capsums;
	uint32_t *hash; uint32_t hcap;      /* pc -> sums index + 1 */

	/* the window being logged */
	uint64_t win_lo, win_hi;
	struct entry *ent; uint64_t nent, capent, maxent;
	struct memacc *mem; uint64_t nmem, capmem, maxmem;
	struct evinfo *evs; uint32_t nevs, capevs;
	struct page_first *pages; uint64_t npages, cappages;
	int64_t pending_wval;               /* entry waiting for its value, -1 */
	bool overflow;                      /* the window did not fit */
	bool nomem;

	/* the walk of one follow */
	struct rtaint *rt; uint32_t nrt, caprt;
	struct mtaint *mt; uint32_t nmt, capmt;
	struct deferred *df; uint32_t ndf, capdf;
	struct strand_df_result *res;
	uint32_t capsteps;
	bool walk_full;                     /* a step or taint limit was reached */
	int32_t best[5];                    /* see pick_origin */
};

enum { BEST_FAILED_DATA, BEST_FAILED_CTL, BEST_ANY_DATA, BEST_ANY_CTL, BEST_CONST };

/* ------------------------------------------------------------- decoding */

static int reg_index(const struct strand_dataflow *d, ZydisRegister reg)
{
	switch (ZydisRegisterGetClass(reg)) {
	case ZYDIS_REGCLASS_GPR8:
	case ZYDIS_REGCLASS_GPR16:
	case ZYDIS_REGCLASS_GPR32:
	case ZYDIS_REGCLASS_GPR64: {
		ZydisRegister big = ZydisRegisterGetLargestEnclosing(d->mode, reg);
		int id = ZydisRegisterGetId(big);
		return id >= 0 && id < 16 ? id : -1;
	}
	case ZYDIS_REGCLASS_XMM:
	case ZYDIS_REGCLASS_YMM:
	case ZYDIS_REGCLASS_ZMM: {
		int id = ZydisRegisterGetId(reg);
		return id >= 0 && id < 32 ? STRAND_DF_VEC_BASE + id : -1;
	}
	case ZYDIS_REGCLASS_FLAGS:
		return STRAND_DF_FLAGS;
	default:
		return -1;
	}
}

/* Summary of the instruction at pc from the handle's current memory. */
static void decode(struct strand_dataflow *d, struct strand_replay *r, uint64_t pc,
		   struct summary *out)
{
	uint8_t buf[16];
	memset(out, 0, sizeof *out);
	out->pc = pc;
	out->first_wr = 0xff;
	size_t got = strand_replay_read(r, pc, buf, sizeof buf, NULL);
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d->dec, buf, got, &in, ops))) {
		out->flags = SUM_BAD;
		return;
	}
	if (in.mnemonic == ZYDIS_MNEMONIC_CMP || in.mnemonic == ZYDIS_MNEMONIC_TEST)
		out->flags |= SUM_CMP;
	if (in.meta.category == ZYDIS_CATEGORY_COND_BR)
		out->flags |= SUM_JCC;
	if (in.mnemonic == ZYDIS_MNEMONIC_PUSH || in.mnemonic == ZYDIS_MNEMONIC_POP)
		out->flags |= SUM_PUSHPOP;
	/* xor r,r / sub r,r / pxor x,x: a constant, not a use */
	if ((in.mnemonic == ZYDIS_MNEMONIC_XOR || in.mnemonic == ZYDIS_MNEMONIC_SUB ||
	     in.mnemonic == ZYDIS_MNEMONIC_PXOR || in.mnemonic == ZYDIS_MNEMONIC_XORPS) &&
	    in.operand_count_visible >= 2 && ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[0].reg.value == ops[1].reg.value)
		out->flags |= SUM_ZEROING;
	for (unsigned i = 0; i < in.operand_count; i++) {
		const ZydisDecodedOperand *op = &ops[i];
		if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			int idx = reg_index(d, op->reg.value);
			if (idx < 0)
				continue;
			if (idx == STRAND_DF_FLAGS)
				continue; /* from cpu_flags below: exact per flag */
			if (op->actions & ZYDIS_OPERAND_ACTION_MASK_READ)
				out->rd |= BIT(idx);
			if (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) {
				out->wr |= BIT(idx);
				/* cmovcc: when the condition fails the old value stays */
				if (op->actions & ZYDIS_OPERAND_ACTION_CONDWRITE)
					out->rd |= BIT(idx);
				if (out->first_wr == 0xff || (idx != STRAND_REG_RSP &&
							      out->first_wr == STRAND_REG_RSP))
					out->first_wr = (uint8_t)idx;
				/* a write of 8 or 16 bits keeps the rest of the register */
				if (idx < 16 && ZydisRegisterGetWidth(d->mode, op->reg.value) < 32) {
					out->rd |= BIT(idx);
					out->flags |= SUM_PARTIAL;
				}
			}
		} else if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
			uint64_t m = 0;
			int b = op->mem.base != ZYDIS_REGISTER_NONE ? reg_index(d, op->mem.base) : -1;
			int x = op->mem.index != ZYDIS_REGISTER_NONE ? reg_index(d, op->mem.index) : -1;
			if (b >= 0 && b < 48)
				m |= BIT(b);
			if (x >= 0 && x < 48)
				m |= BIT(x);
			if (op->mem.type == ZYDIS_MEMOP_TYPE_AGEN) {
				out->rd |= m; /* lea computes a value from them */
			} else {
				out->addr |= m;
				if (x >= 0 && x < 48)
					out->index |= BIT(x);
			}
		}
	}
	if (in.cpu_flags) {
		/* a conditional move keeps its old value as the source instead:
		 * the flags' compare is a choice, not the value */
		if (in.cpu_flags->tested && in.meta.category != ZYDIS_CATEGORY_CMOV)
			out->rd |= FLAGS_BIT;
		if (in.cpu_flags->modified | in.cpu_flags->set_0 | in.cpu_flags->set_1)
			out->wr |= FLAGS_BIT;
	}
	if (out->flags & SUM_ZEROING)
		out->rd = 0;
	if (out->flags & SUM_CMP)
		out->wr &= FLAGS_BIT;
	if (out->first_wr == STRAND_REG_RSP && (out->wr & ~SP_BIT & ~FLAGS_BIT))
		out->first_wr = (uint8_t)__builtin_ctzll(out->wr & ~SP_BIT & ~FLAGS_BIT);
}

static uint32_t pc_hash(uint64_t pc, uint32_t cap)
{
	return (uint32_t)(pc * 0x9E3779B97F4A7C15ull >> 40) & (cap - 1);
}

/* Index of pc's summary (decoded on first sight); UINT32_MAX on OOM. */
static uint32_t summary_of(struct strand_dataflow *d, struct strand_replay *r, uint64_t pc)
{
	if ((d->nsums + 1) * 2 >= d->hcap) {
		uint32_t ncap = d->hcap ? d->hcap * 2 : 4096;
		uint32_t *nh = calloc(ncap, sizeof *nh);
		if (!nh)
			return UINT32_MAX;
		for (uint32_t i = 0; i < d->nsums; i++) {
			uint32_t h = pc_hash(d->sums[i].pc, ncap);
			while (nh[h])
				h = (h + 1) & (ncap - 1);
			nh[h] = i + 1;
		}
		free(d->hash);
		d->hash = nh;
		d->hcap = ncap;
	}
	uint32_t h = pc_hash(pc, d->hcap);
	while (d->hash[h]) {
		if (d->sums[d->hash[h] - 1].pc == pc)
			return d->hash[h] - 1;
		h = (h + 1) & (d->hcap - 1);
	}
	if (d->nsums == d->capsums) {
		uint32_t cap = d->capsums ? d->capsums * 2 : 4096;
		struct summary *n = realloc(d->sums, cap * sizeof *n);
		if (!n)
			return UINT32_MAX;
		d->sums = n;
		d->capsums = cap;
	}
	decode(d, r, pc, &d->sums[d->nsums]);
	d->hash[h] = d->nsums + 1;
	return d->nsums++;
}

/* ------------------------------------------------------------ names */

static const char *const regs32[] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

const char *strand_df_reg_name(strand_arch arch, unsigned i, char *buf, size_t len)
{
	if (i == STRAND_DF_FLAGS)
		snprintf(buf, len, "flags");
	else if (i >= STRAND_DF_VEC_BASE)
		snprintf(buf, len, "xmm%u", i - STRAND_DF_VEC_BASE);
	else if (arch == STRAND_ARCH_X86_32 && i < 8)
		snprintf(buf, len, "%s", regs32[i]);
	else
		snprintf(buf, len, "%s", strand_reg_name(i) ? strand_reg_name(i) : "?");
	return buf;
}

int strand_df_reg_from_name(const char *name)
{
	static const char *const n[8][5] = {
		{ "rax", "eax", "ax", "al", "ah" }, { "rcx", "ecx", "cx", "cl", "ch" },
		{ "rdx", "edx", "dx", "dl", "dh" }, { "rbx", "ebx", "bx", "bl", "bh" },
		{ "rsp", "esp", "sp", "spl", NULL }, { "rbp", "ebp", "bp", "bpl", NULL },
		{ "rsi", "esi", "si", "sil", NULL }, { "rdi", "edi", "di", "dil", NULL },
	};
	if (!name)
		return -1;
	if (name[0] == '@')
		name++;
	for (int i = 0; i < 8; i++)
		for (int k = 0; k < 5; k++)
			if (n[i][k] && !strcmp(name, n[i][k]))
				return i;
	if (name[0] == 'r' && name[1] >= '0' && name[1] <= '9') {
		char *end;
		long v = strtol(name + 1, &end, 10);
		if (v >= 8 && v <= 15 && (!*end || !strcmp(end, "d") || !strcmp(end, "w") ||
					  !strcmp(end, "b")))
			return (int)v;
	}
	if ((!strncmp(name, "xmm", 3) || !strncmp(name, "ymm", 3) || !strncmp(name, "zmm", 3)) &&
	    name[3] >= '0' && name[3] <= '9') {
		char *end;
		long v = strtol(name + 3, &end, 10);
		if (!*end && v >= 0 && v < 32)
			return STRAND_DF_VEC_BASE + (int)v;
	}
	if (!strcmp(name, "flags") || !strcmp(name, "eflags") || !strcmp(name, "rflags"))
		return STRAND_DF_FLAGS;
	return -1;
}

const char *strand_df_kind_str(strand_df_kind k)
{
	switch (k) {
	case STRAND_DF_QUERY: return "query";
	case STRAND_DF_REGISTER: return "register";
	case STRAND_DF_LOAD: return "load";
	case STRAND_DF_STORE: return "store";
	case STRAND_DF_SYSCALL: return "syscall";
	case STRAND_DF_EVENT: return "event";
	case STRAND_DF_TABLE: return "table";
	case STRAND_DF_COMPARE: return "compare";
	case STRAND_DF_CONTROL: return "control";
	case STRAND_DF_CONSTANT: return "constant";
	}
	return "?";
}

/* ------------------------------------------------------------ logging */

/* The registers the previous instruction wrote are readable now (the
 * handle stands after it, before anything else). */
static void flush_wval(struct strand_dataflow *d, struct strand_replay *r)
{
	if (d->pending_wval < 0)
		return;
	struct entry *e = &d->ent[d->pending_wval];
	d->pending_wval = -1;
	const struct summary *sum = &d->sums[e->sum];
	if (sum->first_wr >= STRAND_DF_VEC_BASE || strand_replay_thread(r) != e->tid)
		return;
	uint64_t v = strand_replay_gpr(r, sum->first_wr);
	e->wval = d->arch == STRAND_ARCH_X86_32 ? v & 0xffffffffu : v;
	e->have_wval = 1;
}

static struct entry *new_entry(struct strand_dataflow *d)
{
	if (d->nent >= d->maxent) {
		d->overflow = true;
		return NULL;
	}
	if (d->nent == d->capent) {
		uint64_t cap = d->capent ? d->capent * 2 : 65536;
		struct entry *n = realloc(d->ent, cap * sizeof *n);
		if (!n) {
			d->nomem = d->overflow = true;
			return NULL;
		}
		d->ent = n;
		d->capent = cap;
	}
	struct entry *e = &d->ent[d->nent++];
	memset(e, 0, sizeof *e);
	e->mem_first = (uint32_t)d->nmem;
	return e;
}

static void add_mem(struct strand_dataflow *d, uint64_t addr, uint32_t size, bool w,
		    uint64_t value)
{
	if (d->nmem >= d->maxmem) {
		d->overflow = true;
		return;
	}
	if (d->nmem == d->capmem) {
		uint64_t cap = d->capmem ? d->capmem * 2 : 65536;
		struct memacc *n = realloc(d->mem, cap * sizeof *n);
		if (!n) {
			d->nomem = d->overflow = true;
			return;
		}
		d->mem = n;
		d->capmem = cap;
	}
	d->mem[d->nmem++] = (struct memacc){ addr, value, size, w };
	d->ent[d->nent - 1].mem_n++;
}

static uint64_t page_hash(uint64_t page, uint64_t cap)
{
	return (page * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
}

static void page_written(struct strand_dataflow *d, uint64_t addr, uint64_t len, uint64_t pos)
{
	uint64_t last = (addr + (len ? len - 1 : 0)) >> 12;
	for (uint64_t p = addr >> 12; p <= last && p - (addr >> 12) < 4096; p++) {
		if ((d->npages + 1) * 2 >= d->cappages) {
			uint64_t ncap = d->cappages ? d->cappages * 2 : 1024;
			struct page_first *n = calloc(ncap, sizeof *n);
			if (!n) {
				d->nomem = d->overflow = true;
				return;
			}
			for (uint64_t i = 0; i < d->cappages; i++) {
				if (!d->pages[i].page)
					continue;
				uint64_t h = page_hash(d->pages[i].page, ncap);
				while (n[h].page)
					h = (h + 1) & (ncap - 1);
				n[h] = d->pages[i];
			}
			free(d->pages);
			d->pages = n;
			d->cappages = ncap;
		}
		uint64_t h = page_hash(p + 1, d->cappages);
		while (d->pages[h].page && d->pages[h].page != p + 1)
			h = (h + 1) & (d->cappages - 1);
		if (!d->pages[h].page) {
			d->pages[h].page = p + 1;
			d->pages[h].first_pos = pos;
			d->npages++;
		}
	}
}

/* Was the page of addr written in the window before pos? */
static bool written_in_window(const struct strand_dataflow *d, uint64_t addr, uint64_t pos)
{
	if (!d->cappages)
		return false;
	uint64_t p = (addr >> 12) + 1;
	uint64_t h = page_hash(p, d->cappages);
	while (d->pages[h].page) {
		if (d->pages[h].page == p)
			return d->pages[h].first_pos < pos;
		h = (h + 1) & (d->cappages - 1);
	}
	return false;
}

static void on_insn(struct strand_replay *r, void *ud, uint64_t pos, uint64_t pc, uint32_t size)
{
	struct strand_dataflow *d = ud;
	(void)size;
	flush_wval(d, r);
	if (pos < d->win_lo || pos >= d->win_hi || d->overflow)
		return;
	uint32_t si = summary_of(d, r, pc);
	if (si == UINT32_MAX) {
		d->nomem = d->overflow = true;
		return;
	}
	struct entry *e = new_entry(d);
	if (!e)
		return;
	e->kind = ENT_INSN;
	e->pos = pos;
	e->tid = strand_replay_thread(r);
	e->sum = si;
	e->sp = strand_replay_gpr(r, STRAND_REG_RSP);
	if (d->sums[si].first_wr != 0xff)
		d->pending_wval = (int64_t)(d->nent - 1);
}

static void on_mem(struct strand_replay *r, void *ud, uint64_t pos, uint64_t pc, uint64_t addr,
		   uint32_t size, bool is_write, uint64_t value)
{
	struct strand_dataflow *d = ud;
	(void)r;
	(void)pc;
	if (pos < d->win_lo || pos >= d->win_hi)
		return;
	if (is_write)
		page_written(d, addr, size, pos);
	if (!d->nent || d->ent[d->nent - 1].pos != pos || d->ent[d->nent - 1].kind != ENT_INSN)
		return;
	if (d->ent[d->nent - 1].mem_n < UINT16_MAX)
		add_mem(d, addr, size, is_write, value);
}

static void log_effects(struct strand_dataflow *d, const struct strand_record *rec,
			const struct strand_effects *fx, bool syscall)
{
	if (d->nevs == d->capevs) {
		uint32_t cap = d->capevs ? d->capevs * 2 : 256;
		struct evinfo *n = realloc(d->evs, cap * sizeof *n);
		if (!n) {
			d->nomem = d->overflow = true;
			return;
		}
		d->evs = n;
		d->capevs = cap;
	}
	struct entry *e = new_entry(d);
	if (!e)
		return;
	struct evinfo *ev = &d->evs[d->nevs];
	memset(ev, 0, sizeof *ev);
	e->kind = ENT_EVENT;
	e->pos = rec->position;
	e->tid = rec->tid;
	e->sum = d->nevs++;
	if (fx->cpu)
		ev->wr = 0xffff;
	for (uint32_t i = 0; i < fx->nregs; i++)
		if (fx->regs[i].reg < 16)
			ev->wr |= BIT(fx->regs[i].reg);
	ev->wr &= ~SP_BIT;
	if (fx->cpu)
		ev->wr |= FLAGS_BIT;
	if (syscall) {
		ev->syscall = true;
		ev->number = rec->u.syscall.number;
		ev->result = rec->u.syscall.result;
		ev->pc = rec->u.syscall.pc;
		ev->wr |= BIT(STRAND_REG_RAX);
	} else if (rec->type == STRAND_REC_NONDET) {
		ev->pc = rec->u.nondet.pc;
	}
	for (uint32_t i = 0; i < fx->nwrites; i++) {
		const struct strand_memwrite *w = &fx->writes[i];
		uint64_t v = 0;
		for (uint32_t k = 0; k < w->len && k < 8; k++)
			v |= (uint64_t)w->data[k] << (8 * k);
		add_mem(d, w->addr, w->len, true, v);
		page_written(d, w->addr, w->len, rec->position);
	}
}

static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	struct strand_dataflow *d = ud;
	if (!after) {
		flush_wval(d, r);
		return;
	}
	if (rec->position < d->win_lo || rec->position >= d->win_hi || d->overflow)
		return;
	switch (rec->type) {
	case STRAND_REC_SYSCALL:
		log_effects(d, rec, &rec->u.syscall.fx, true);
		break;
	case STRAND_REC_NONDET:
		log_effects(d, rec, &rec->u.nondet.fx, false);
		break;
	case STRAND_REC_MEMORY:
		log_effects(d, rec, &rec->u.memory, false);
		break;
	case STRAND_REC_EXCEPTION:
		log_effects(d, rec, &rec->u.exception.fx, false);
		break;
	default:
		break;
	}
}

/* Log [lo, hi) into the window arrays.  The handle ends at hi. */
static strand_status log_window(struct strand_dataflow *d, uint64_t lo, uint64_t hi,
				strand_error *err)
{
	struct strand_replay *r = d->r;
	d->nent = d->nmem = 0;
	d->nevs = 0;
	d->npages = 0;
	if (d->pages)
		memset(d->pages, 0, d->cappages * sizeof *d->pages);
	d->pending_wval = -1;
	d->overflow = false;
	d->win_lo = lo;
	d->win_hi = hi;
	d->maxent = (hi - lo) + (hi - lo) / 4 + 1024; /* instructions plus events */
	d->maxmem = 4 * (hi - lo) + 65536;
	strand_status st = strand_replay_seek(r, lo, err);
	if (st < 0)
		return strand_error_wrap(err, st, "dataflow: cannot reach window start=%" PRIu64, lo);
	struct strand_replay_frontier fr;
	strand_replay_observe_from_here(r, &fr);
	strand_obs_id a = strand_replay_on_insn(r, on_insn, d);
	strand_obs_id b = strand_replay_on_mem(r, on_mem, STRAND_WATCH_READ | STRAND_WATCH_WRITE, d);
	strand_obs_id c = strand_replay_on_event(r, on_event, d);
	if (!a || !b || !c)
		st = strand_error_set(err, STRAND_ERR_NOMEM, "dataflow: cannot observe the window");
	else
		st = strand_replay_seek(r, hi, err);
	if (st >= 0)
		flush_wval(d, r);
	strand_replay_observer_del(r, a);
	strand_replay_observer_del(r, b);
	strand_replay_observer_del(r, c);
	strand_replay_observe_restore(r, &fr);
	if (st < 0)
		return strand_error_wrap(err, st, "dataflow: cannot log window [%" PRIu64 ", %" PRIu64 ")",
					 lo, hi);
	if (d->nomem)
		return strand_error_set(err, STRAND_ERR_NOMEM,
					"dataflow: out of memory logging %" PRIu64 " instructions", hi - lo);
	return STRAND_OK;
}

/* ------------------------------------------------------- constant data */

static struct strand_replay *snapshot_handle(struct strand_dataflow *d)
{
	if (!d->snap_tried && d->trace) {
		d->snap_tried = true;
		struct strand_replay_options o = { .no_verify = true };
		if (strand_replay_open(d->trace, &o, &d->snap, NULL) < 0)
			d->snap = NULL;
	}
	return d->snap;
}

bool strand_dataflow_constant(struct strand_dataflow *d, struct strand_replay *at, uint64_t addr,
			      uint32_t len)
{
	struct strand_region_info ri;
	if (strand_replay_region_at(at, addr, &ri) == STRAND_OK && !(ri.prot & STRAND_PROT_WRITE) &&
	    addr + len <= ri.addr + ri.size)
		return true;
	struct strand_replay *s = snapshot_handle(d);
	if (!s || !len || len > 4096)
		return false;
	uint8_t a[4096], b[4096], va[4096], vb[4096];
	if (strand_replay_read(at, addr, a, len, va) != len ||
	    strand_replay_read(s, addr, b, len, vb) != len)
		return false;
	return !memcmp(a, b, len);
}

/* The load at entry `e` read constant data: a mapping without write
 * permission, or the initial snapshot's bytes, not written in the window
 * before it. */
static bool load_is_constant(struct strand_dataflow *d, const struct entry *e,
			     const struct memacc *m)
{
	if (written_in_window(d, m->addr, e->pos) ||
	    written_in_window(d, m->addr + (m->size ? m->size - 1 : 0), e->pos))
		return false;
	struct strand_region_info ri;
	if (strand_replay_region_at(d->r, m->addr, &ri) == STRAND_OK && !(ri.prot & STRAND_PROT_WRITE))
		return true;
	struct strand_replay *s = snapshot_handle(d);
	if (!s || m->size > 8 || !m->size)
		return false;
	uint8_t b[8], vb[8];
	if (strand_replay_read(s, m->addr, b, m->size, vb) != m->size)
		return false;
	uint64_t v = 0;
	for (uint32_t k = 0; k < m->size; k++)
		v |= (uint64_t)b[k] << (8 * k);
	uint64_t mask = m->size >= 8 ? ~0ull : ((1ull << (8 * m->size)) - 1);
	return (m->value & mask) == v;
}

/* ------------------------------------------------------------- the walk */

static int32_t new_step(struct strand_dataflow *d, const struct strand_df_step *x)
{
	struct strand_df_result *res = d->res;
	if (res->nsteps >= d->opt.max_steps) {
		d->walk_full = true;
		return -1;
	}
	if (res->nsteps == d->capsteps) {
		uint32_t cap = d->capsteps ? d->capsteps * 2 : 256;
		struct strand_df_step *n = realloc(res->steps, cap * sizeof *n);
		if (!n) {
			d->walk_full = d->nomem = true;
			return -1;
		}
		res->steps = n;
		d->capsteps = cap;
	}
	res->steps[res->nsteps] = *x;
	if (x->parent >= 0) {
		const struct strand_df_step *p = &res->steps[x->parent];
		if (p->via_control)
			res->steps[res->nsteps].via_control = true;
		if (p->control_depth > res->steps[res->nsteps].control_depth)
			res->steps[res->nsteps].control_depth = p->control_depth;
	}
	return (int32_t)res->nsteps++;
}

static struct rtaint *rt_get(struct strand_dataflow *d, uint32_t tid)
{
	for (uint32_t i = 0; i < d->nrt; i++)
		if (d->rt[i].tid == tid)
			return &d->rt[i];
	if (d->nrt == d->caprt) {
		uint32_t cap = d->caprt ? d->caprt * 2 : 8;
		struct rtaint *n = realloc(d->rt, cap * sizeof *n);
		if (!n) {
			d->walk_full = d->nomem = true;
			return NULL;
		}
		d->rt = n;
		d->caprt = cap;
	}
	struct rtaint *t = &d->rt[d->nrt++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

static void taint_regs(struct strand_dataflow *d, uint32_t tid, uint64_t regs, int32_t step)
{
	regs &= ~SP_BIT & ALL_REGS;
	if (!regs || step < 0)
		return;
	struct rtaint *t = rt_get(d, tid);
	if (!t)
		return;
	bool ctl = d->res->steps[step].via_control;
	for (unsigned i = 0; i < NREGS; i++) {
		if (!(regs & BIT(i)))
			continue;
		/* a use by data keeps its claim over one through control */
		if (ctl && (t->mask & BIT(i)) && !d->res->steps[t->step[i]].via_control)
			continue;
		t->step[i] = step;
	}
	t->mask |= regs;
}

static void taint_mem(struct strand_dataflow *d, uint64_t addr, uint32_t size, int32_t step)
{
	if (!size || step < 0)
		return;
	if (d->nmt >= MAX_MEM_TAINTS) {
		d->walk_full = true;
		return;
	}
	if (d->nmt == d->capmt) {
		uint32_t cap = d->capmt ? d->capmt * 2 : 64;
		struct mtaint *n = realloc(d->mt, cap * sizeof *n);
		if (!n) {
			d->walk_full = d->nomem = true;
			return;
		}
		d->mt = n;
		d->capmt = cap;
	}
	d->mt[d->nmt++] = (struct mtaint){ addr, size, step };
}

/* Remove [addr, addr+size) from the tainted memory; the step of the first
 * overlapping range, or -1. */
static int32_t untaint_mem(struct strand_dataflow *d, uint64_t addr, uint32_t size)
{
	int32_t hit = -1;
	uint64_t end = addr + size;
	for (uint32_t i = 0; i < d->nmt;) {
		struct mtaint m = d->mt[i];
		uint64_t mend = m.addr + m.size;
		if (m.addr >= end || addr >= mend) {
			i++;
			continue;
		}
		if (hit < 0 || (d->res->steps[hit].via_control && !d->res->steps[m.step].via_control))
			hit = m.step;
		d->mt[i] = d->mt[--d->nmt];
		if (m.addr < addr)
			taint_mem(d, m.addr, (uint32_t)(addr - m.addr), m.step);
		if (mend > end)
			taint_mem(d, end, (uint32_t)(mend - end), m.step);
	}
	return hit;
}

/* Can the window [lo, hi) be skipped: only memory open, and the index
 * says nothing in it writes any of it? */
static bool window_skippable(const struct strand_dataflow *d, uint64_t lo, uint64_t hi)
{
	if (!d->opt.may_write || d->ndf || !d->nmt)
		return false;
	for (uint32_t i = 0; i < d->nrt; i++)
		if (d->rt[i].mask)
			return false;
	for (uint32_t i = 0; i < d->nmt; i++)
		if (d->opt.may_write(d->opt.may_write_ud, d->mt[i].addr, d->mt[i].size, lo, hi))
			return false;
	return true;
}

static bool taint_empty(const struct strand_dataflow *d)
{
	if (d->nmt || d->ndf)
		return false;
	for (uint32_t i = 0; i < d->nrt; i++)
		if (d->rt[i].mask)
			return false;
	return true;
}

static void defer(struct strand_dataflow *d, uint64_t entry, uint32_t tid, uint64_t regs,
		  int32_t step)
{
	if (d->ndf == d->capdf) {
		uint32_t cap = d->capdf ? d->capdf * 2 : 16;
		struct deferred *n = realloc(d->df, cap * sizeof *n);
		if (!n) {
			d->walk_full = d->nomem = true;
			return;
		}
		d->df = n;
		d->capdf = cap;
	}
	d->df[d->ndf++] = (struct deferred){ entry, tid, regs, step };
}

/* Fill a step's instruction fields from window entry i. */
static void step_from_entry(struct strand_dataflow *d, uint64_t i, struct strand_df_step *x)
{
	const struct entry *e = &d->ent[i];
	x->position = e->pos;
	x->tid = e->tid;
	if (e->kind == ENT_EVENT) {
		const struct evinfo *ev = &d->evs[e->sum];
		x->pc = ev->pc;
		x->syscall = ev->number;
		x->result = ev->result;
		x->insn[0] = '\0';
		return;
	}
	x->pc = d->sums[e->sum].pc;
	if (strand_replay_disas(d->r, x->pc, x->insn, sizeof x->insn, NULL) != STRAND_OK)
		x->insn[0] = '\0';
}

/* Search loop (see the header): a compare shortly before the constant
 * load at entry i that touches the same table, directly or through a
 * register loaded from it; its other register operands are the key. */
static void find_lookup_key(struct strand_dataflow *d, uint64_t i, uint64_t table_addr,
			    int32_t step)
{
	const struct entry *e = &d->ent[i];
	uint64_t table_regs = 0; /* registers holding table entries in the window */
	unsigned seen = 0;
	for (uint64_t j = i; j-- > 0 && seen < NEAR_INSNS;) {
		const struct entry *c = &d->ent[j];
		if (c->tid != e->tid || c->kind != ENT_INSN)
			continue;
		seen++;
		const struct summary *sum = &d->sums[c->sum];
		bool near = false;
		for (uint32_t k = 0; k < c->mem_n; k++) {
			const struct memacc *m = &d->mem[c->mem_first + k];
			if (!m->is_write && m->addr + 256 >= table_addr && m->addr <= table_addr + 256)
				near = true;
		}
		if (!(sum->flags & SUM_CMP)) {
			if (near)
				table_regs |= sum->wr & ~FLAGS_BIT;
			continue;
		}
		if (!near && !(sum->rd & table_regs))
			continue;
		uint64_t key = sum->rd & ~table_regs & ~SP_BIT & ~FP_BIT & ~FLAGS_BIT;
		if (!key)
			continue;
		struct strand_df_step x = { .kind = STRAND_DF_COMPARE, .parent = step,
					    .loc_is_reg = true,
					    .reg = (uint8_t)__builtin_ctzll(key) };
		step_from_entry(d, j, &x);
		int32_t cs = new_step(d, &x);
		if (cs >= 0)
			defer(d, j, c->tid, key, cs);
		return;
	}
}

/* Control dependence of the constant defined at entry i (step `step`):
 * the nearest conditional branch before it in its thread and in its frame
 * (same stack pointer: calls made in between, such as printing a message
 * before `return 1`, are skipped), whose flags are then followed from
 * that branch backward. */
static void find_control(struct strand_dataflow *d, uint64_t i, int32_t step)
{
	const struct entry *e = &d->ent[i];
	unsigned seen = 0;
	uint64_t scanned = 0;
	for (uint64_t j = i; j-- > 0 && seen < NEAR_INSNS && scanned < (1u << 20);) {
		const struct entry *c = &d->ent[j];
		scanned++;
		if (c->tid != e->tid || c->kind != ENT_INSN || c->sp != e->sp)
			continue;
		seen++;
		const struct summary *sum = &d->sums[c->sum];
		if (!(sum->flags & SUM_JCC))
			continue;
		struct strand_df_step x = { .kind = STRAND_DF_CONTROL, .parent = step,
					    .loc_is_reg = true, .reg = STRAND_DF_FLAGS };
		step_from_entry(d, j, &x);
		int32_t cs = new_step(d, &x);
		if (cs >= 0) {
			d->res->steps[cs].via_control = true;
			d->res->steps[cs].control_depth++;
			defer(d, j, c->tid, FLAGS_BIT, cs);
		}
		return;
	}
}

static void note_origin(struct strand_dataflow *d, int32_t s, bool failed, bool is_const)
{
	bool ctl = d->res->steps[s].via_control;
	int k = is_const ? BEST_CONST
		: failed ? (ctl ? BEST_FAILED_CTL : BEST_FAILED_DATA)
			 : (ctl ? BEST_ANY_CTL : BEST_ANY_DATA);
	if (is_const && ctl)
		return; /* a constant behind a control dependence explains nothing */
	if (d->best[k] < 0)
		d->best[k] = s;
}

/* Walk the logged window newest first. */
static void walk_window(struct strand_dataflow *d)
{
	for (uint64_t i = d->nent; i-- > 0;) {
		if (taint_empty(d) || d->walk_full || d->best[BEST_FAILED_DATA] >= 0)
			break;
		const struct entry *e = &d->ent[i];
		/* deferred keys and flags become live at their instruction */
		for (uint32_t k = 0; k < d->ndf;) {
			if (d->df[k].entry == i) {
				taint_regs(d, d->df[k].tid, d->df[k].regs, d->df[k].step);
				d->df[k] = d->df[--d->ndf];
			} else {
				k++;
			}
		}
		struct rtaint *rt = NULL;
		for (uint32_t t = 0; t < d->nrt; t++)
			if (d->rt[t].tid == e->tid)
				rt = &d->rt[t];
		const struct evinfo *ev = e->kind == ENT_EVENT ? &d->evs[e->sum] : NULL;
		const struct summary *sum = ev ? NULL : &d->sums[e->sum];
		uint64_t wr = ev ? ev->wr : sum->wr;
		uint64_t hitreg = rt ? rt->mask & wr & ~SP_BIT : 0;
		int32_t parent = -1;
		struct strand_df_step x = { .kind = ev ? (ev->syscall ? STRAND_DF_SYSCALL : STRAND_DF_EVENT)
						       : STRAND_DF_REGISTER };
		if (hitreg) {
			/* the value register first, the flags last */
			uint64_t pick = hitreg & ~FLAGS_BIT ? hitreg & ~FLAGS_BIT : hitreg;
			unsigned r0 = (unsigned)__builtin_ctzll(pick);
			parent = rt->step[r0];
			x.loc_is_reg = true;
			x.reg = (uint8_t)r0;
			if (!ev && e->have_wval && r0 == sum->first_wr) {
				x.value = e->wval;
				x.have_value = true;
			} else if (ev && ev->syscall && r0 == STRAND_REG_RAX) {
				x.value = ev->result;
				if (d->arch == STRAND_ARCH_X86_32)
					x.value &= 0xffffffffu;
				x.have_value = true;
			}
			rt->mask &= ~hitreg;
		}
		for (uint32_t m = 0; m < e->mem_n; m++) {
			const struct memacc *a = &d->mem[e->mem_first + m];
			if (!a->is_write)
				continue;
			int32_t h = untaint_mem(d, a->addr, a->size);
			if (h < 0)
				continue;
			if (parent < 0 || !x.have_value) {
				if (parent < 0)
					parent = h;
				x.loc_is_reg = false;
				x.addr = a->addr;
				x.size = a->size;
				x.value = a->value & (a->size >= 8 ? ~0ull : ((1ull << (8 * a->size)) - 1));
				x.have_value = true;
				if (!ev)
					x.kind = STRAND_DF_STORE;
			}
		}
		if (parent < 0)
			continue;
		x.parent = parent;
		step_from_entry(d, i, &x);
		if (ev) {
			int32_t o = new_step(d, &x);
			if (o >= 0 && ev->syscall)
				note_origin(d, o, strand_syscall_failed(d->abi, d->arch, ev->result), false);
			continue;
		}
		int32_t me = new_step(d, &x);
		if (me < 0)
			break;
		uint64_t srcs = sum->rd;
		bool any_src = false;
		for (uint32_t m = 0; m < e->mem_n; m++) {
			const struct memacc *a = &d->mem[e->mem_first + m];
			if (a->is_write)
				continue;
			any_src = true;
			if (d->res->steps[me].kind == STRAND_DF_REGISTER)
				d->res->steps[me].kind = STRAND_DF_LOAD;
			if (load_is_constant(d, e, a)) {
				/* which entry was read: the subscript if there is
				 * one, else the register that points into the table */
				d->res->steps[me].kind = STRAND_DF_TABLE;
				srcs |= (sum->index ? sum->index : sum->addr) & ~SP_BIT & ~FP_BIT;
				find_lookup_key(d, i, a->addr, me);
			} else {
				taint_mem(d, a->addr, a->size, me);
				/* an array element: which one was read depends on
				 * the subscript too */
				srcs |= sum->index & ~SP_BIT & ~FP_BIT;
			}
		}
		srcs &= ~SP_BIT;
		if (srcs)
			any_src = true;
		taint_regs(d, e->tid, srcs, me);
		if (!any_src) {
			d->res->steps[me].kind = STRAND_DF_CONSTANT;
			note_origin(d, me, false, true);
			if (!d->opt.no_control && d->res->steps[me].control_depth < MAX_CONTROL_DEPTH)
				find_control(d, i, me);
		}
	}
}

static int32_t pick_origin(const struct strand_dataflow *d)
{
	for (int k = 0; k < 5; k++)
		if (d->best[k] >= 0)
			return d->best[k];
	return -1;
}

/* ===================================================================== */
/* Public functions                                                       */
/* ===================================================================== */

strand_status strand_dataflow_new(struct strand_replay *r, const char *trace,
				  const struct strand_df_options *opt,
				  struct strand_dataflow **out, strand_error *err)
{
	*out = NULL;
	const struct strand_trace_info *info = strand_replay_info(r);
	struct strand_dataflow *d = calloc(1, sizeof *d);
	if (!d)
		return strand_error_set(err, STRAND_ERR_NOMEM, "dataflow: out of memory");
	d->r = r;
	d->arch = info->arch;
	d->abi = info->abi;
	if (opt)
		d->opt = *opt;
	if (!d->opt.window)
		d->opt.window = DEF_WINDOW;
	if (!d->opt.max_window)
		d->opt.max_window = DEF_MAX_WINDOW;
	if (d->opt.window > d->opt.max_window)
		d->opt.window = d->opt.max_window;
	if (!d->opt.max_distance)
		d->opt.max_distance = DEF_MAX_DISTANCE;
	if (!d->opt.max_steps)
		d->opt.max_steps = DEF_MAX_STEPS;
	if (d->arch == STRAND_ARCH_X86_64) {
		d->mode = ZYDIS_MACHINE_MODE_LONG_64;
		ZydisDecoderInit(&d->dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	} else if (d->arch == STRAND_ARCH_X86_32) {
		d->mode = ZYDIS_MACHINE_MODE_LONG_COMPAT_32;
		ZydisDecoderInit(&d->dec, ZYDIS_MACHINE_MODE_LONG_COMPAT_32, ZYDIS_STACK_WIDTH_32);
	} else {
		free(d);
		return strand_error_set(err, STRAND_ERR_UNSUPPORTED, "dataflow: architecture %s",
					strand_arch_str(info->arch));
	}
	if (trace && !(d->trace = strdup(trace))) {
		free(d);
		return strand_error_set(err, STRAND_ERR_NOMEM, "dataflow: out of memory");
	}
	*out = d;
	return STRAND_OK;
}

void strand_dataflow_free(struct strand_dataflow *d)
{
	if (!d)
		return;
	strand_replay_close(d->snap);
	free(d->trace);
	free(d->sums);
	free(d->hash);
	free(d->ent);
	free(d->mem);
	free(d->evs);
	free(d->pages);
	free(d->rt);
	free(d->mt);
	free(d->df);
	free(d);
}

void strand_df_result_free(struct strand_df_result *res)
{
	if (!res)
		return;
	free(res->steps);
	free(res);
}

strand_status strand_dataflow_follow(struct strand_dataflow *d, const struct strand_df_query *q,
				     struct strand_df_result **out, strand_error *err)
{
	struct strand_replay *r = d->r;
	*out = NULL;
	uint64_t end = strand_replay_end(r);
	if (q->position > end)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"dataflow: position=%" PRIu64 " beyond the end=%" PRIu64,
					q->position, end);
	if (!(q->regs & ~SP_BIT) && !q->len)
		return strand_error_set(err, STRAND_ERR_INVALID, "dataflow: nothing to follow");
	struct strand_df_result *res = calloc(1, sizeof *res);
	if (!res)
		return strand_error_set(err, STRAND_ERR_NOMEM, "dataflow: out of memory");
	uint64_t home = strand_replay_position(r);
	strand_status st = STRAND_OK;
	d->res = res;
	d->capsteps = 0;
	d->nrt = d->nmt = d->ndf = 0;
	d->walk_full = false;
	d->nomem = false;
	for (int k = 0; k < 5; k++)
		d->best[k] = -1;
	res->origin = -1;
	res->lowest = q->position;
	struct strand_df_step s0 = { .kind = STRAND_DF_QUERY, .parent = -1, .position = q->position,
				     .tid = q->tid };
	if (q->len) {
		s0.addr = q->addr;
		s0.size = q->len;
	} else {
		s0.loc_is_reg = true;
		s0.reg = (uint8_t)__builtin_ctzll(q->regs & ~SP_BIT);
	}
	int32_t root = new_step(d, &s0);
	taint_regs(d, q->tid, q->regs, root);
	taint_mem(d, q->addr, q->len, root);

	uint64_t hi = q->position, size = d->opt.window;
	/* Once an origin is known, locations still open (registers saved long
	 * ago, subscripts of loads) are followed for one more window only (four
	 * when the origin is a constant): a better origin is looked for nearby,
	 * not in the whole trace.  When data reaches a failed kernel call the
	 * walk stops at once: nothing further back could be preferred. */
	int extra = 1, extra_const = 4;
	while (!taint_empty(d) && !d->walk_full && d->best[BEST_FAILED_DATA] < 0) {
		bool kernel = pick_origin(d) >= 0 && d->best[BEST_CONST] != pick_origin(d);
		if ((kernel && extra-- <= 0) || (!kernel && pick_origin(d) >= 0 && extra_const-- <= 0)) {
			res->cut = true;
			snprintf(res->note, sizeof res->note,
				 "origin found; locations still open before position %" PRIu64
				 " were not followed further", hi);
			break;
		}
		if (hi == 0) {
			res->reached_start = true;
			break;
		}
		if (q->position - hi >= d->opt.max_distance) {
			res->cut = true;
			snprintf(res->note, sizeof res->note,
				 "stopped %" PRIu64 " instructions before the position (max_distance)",
				 q->position - hi);
			break;
		}
		uint64_t lo = hi > size ? hi - size : 0;
		if (q->position - lo > d->opt.max_distance)
			lo = q->position - d->opt.max_distance;
		if (window_skippable(d, lo, hi)) {
			res->skipped += hi - lo;
			res->lowest = lo;
			if (d->opt.progress)
				d->opt.progress(d->opt.progress_ud, lo, q->position);
			hi = lo;
			if (size < d->opt.max_window)
				size = size * 2 > d->opt.max_window ? d->opt.max_window : size * 2;
			continue;
		}
		st = log_window(d, lo, hi, err);
		if (st < 0)
			goto out;
		if (d->overflow) {
			/* too many events or accesses for this size: halve it */
			if (size <= MIN_WINDOW) {
				res->cut = true;
				snprintf(res->note, sizeof res->note,
					 "window at position %" PRIu64 " too dense to log", lo);
				break;
			}
			size /= 2;
			continue;
		}
		res->windows++;
		res->logged += hi - lo;
		res->accesses += d->nmem;
		res->lowest = lo;
		/* deferred entries are window indexes: none survive a window */
		walk_window(d);
		d->ndf = 0;
		if (d->nomem) {
			st = strand_error_set(err, STRAND_ERR_NOMEM, "dataflow: out of memory in the walk");
			goto out;
		}
		if (d->opt.progress)
			d->opt.progress(d->opt.progress_ud, lo, q->position);
		hi = lo;
		if (size < d->opt.max_window)
			size = size * 2 > d->opt.max_window ? d->opt.max_window : size * 2;
	}
	if (d->walk_full && !res->cut) {
		res->cut = true;
		snprintf(res->note, sizeof res->note, "data flow too wide: the walk was cut short "
			 "(max_steps=%" PRIu32 " or %u memory ranges)", d->opt.max_steps, MAX_MEM_TAINTS);
	}
	res->origin = pick_origin(d);
	/* the handle goes back where the caller had it */
	if (!d->opt.stay) {
		st = strand_replay_seek(r, home, err);
		if (st < 0)
			strand_error_wrap(err, st, "dataflow: cannot return to position=%" PRIu64, home);
	}
out:
	d->res = NULL;
	/* the window log is not kept between follows */
	d->nent = d->nmem = 0;
	if (st < 0) {
		strand_df_result_free(res);
		return st;
	}
	*out = res;
	return STRAND_OK;
}

/* ===================================================================== */
/* Stacks at positions                                                    */
/* ===================================================================== */

struct stack_pass {
	struct strand_df_stack_req *req;
	uint32_t *order;        /* requests of this replay, by position */
	uint32_t n, next;
	struct strand_callstack *cs;
	strand_status st;
	strand_error *err;
};

static void sp_capture(struct stack_pass *p, struct strand_replay *r, uint64_t pos)
{
	while (p->next < p->n && p->req[p->order[p->next]].position <= pos) {
		struct strand_df_stack_req *q = &p->req[p->order[p->next++]];
		if (q->position != pos || q->stack || p->st < 0)
			continue;
		(void)r;
		p->st = strand_callstack_capture(p->cs, q->tid, &q->stack, p->err);
	}
}

static void sp_insn(struct strand_replay *r, void *ud, uint64_t pos, uint64_t pc, uint32_t size)
{
	(void)pc;
	(void)size;
	sp_capture(ud, r, pos);
}

static void sp_event(struct strand_replay *r, void *ud, const struct strand_record *rec, bool after)
{
	if (!after && strand_rec_is_consuming(rec->type))
		sp_capture(ud, r, rec->position);
}

/* Request indexes by position (insertion sort: a chain has few steps). */
static void sort_requests(const struct strand_df_stack_req *req, uint32_t *order, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint32_t v = order[i], k = i;
		while (k && req[order[k - 1]].position > req[v].position) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = v;
	}
}

strand_status strand_dataflow_stacks(struct strand_replay *r, const struct strand_callstack *src,
				     struct strand_df_stack_req *req, uint32_t n, strand_error *err)
{
	if (!n)
		return STRAND_OK;
	uint32_t *order = malloc(n * sizeof *order);
	if (!order)
		return strand_error_set(err, STRAND_ERR_NOMEM, "dataflow: out of memory");
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	sort_requests(req, order, n);
	uint64_t home = strand_replay_position(r);
	strand_status st = STRAND_OK;
	for (uint32_t i = 0; i < n && st >= 0;) {
		uint64_t at = src ? strand_callstack_snapshot_before(src, req[order[i]].position) : 0;
		uint32_t j = i;
		while (j < n && (src ? strand_callstack_snapshot_before(src, req[order[j]].position) : 0) == at)
			j++;
		uint64_t last = req[order[j - 1]].position;
		struct stack_pass p = { .req = req, .order = order + i, .n = j - i, .err = err };
		st = strand_replay_seek(r, at, err);
		if (st >= 0)
			st = strand_callstack_new_from(r, src, at, &p.cs, err);
		if (st >= 0) {
			struct strand_replay_frontier fr;
			strand_replay_observe_from_here(r, &fr);
			strand_obs_id a = strand_replay_on_insn(r, sp_insn, &p);
			strand_obs_id b = strand_replay_on_event(r, sp_event, &p);
			st = strand_replay_seek(r, last + 1 <= strand_replay_end(r) ? last + 1 : last, err);
			if (st >= 0)
				sp_capture(&p, r, strand_replay_position(r));
			strand_replay_observer_del(r, a);
			strand_replay_observer_del(r, b);
			strand_replay_observe_restore(r, &fr);
			if (st >= 0 && p.st < 0)
				st = p.st;
		}
		strand_callstack_free(p.cs);
		i = j;
	}
	free(order);
	(void)home;
	return st;
}
