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
 * Method.  During the main pass every instruction is logged compactly:
 * position, thread, a decoded summary of its pc (Zydis: registers it reads
 * as values, registers it writes, registers it uses to form addresses)
 * and the memory it actually accessed (mem observer), plus the value of
 * the register it wrote.  Events that change registers or memory (kernel
 * results) are logged as definitions.  finish() then walks the log
 * backward from the symptom's locations (registers and memory bytes),
 * replacing each tainted location by the sources of the instruction that
 * defined it:
 *   - register and memory operands read as values;
 *   - a load from memory never written before (a constant table: the
 *     digit table of a hex formatter, a status -> error mapping table)
 *     follows the registers that formed the address (the index);
 *   - for such a table found by a search loop, the compare that stopped
 *     the search (within a short window before the load, touching the
 *     same table) adds its other operand: the key that was looked up.
 * The walk ends at events (a kernel call that produced the value), at
 * constants, or at the snapshot.  The chain shown is the path from the
 * origin to the symptom, one step per function and value, with a stack at
 * each step (taken by an extra replay pass).
 *
 * Nothing here knows module names, symbols or addresses of a scenario:
 * the only Windows knowledge is the SetServiceStatus contract. */
#include "analyses/internal.h"

#include <Zydis/Zydis.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Register bit numbers in masks: 0-15 GPRs (strand_reg order), 16-47
 * vector registers (xmm/ymm/zmm 0-31). */
#define REG_BIT(i) ((uint64_t)1 << (i))
#define SP_BITS (REG_BIT(STRAND_REG_RSP))
#define FP_BITS (REG_BIT(STRAND_REG_RBP))
#define VEC_BASE 16

enum { SUM_ZEROING = 1, SUM_CMP = 2, SUM_LEA = 4, SUM_PARTIAL = 8, SUM_BAD = 16 };

/* Decoded summary of the instruction at a pc (cached). */
struct summary {
	uint64_t pc;        /* key; 0 = empty slot */
	uint64_t rd;        /* registers read as values */
	uint64_t wr;        /* registers written */
	uint64_t addr;      /* registers forming memory addresses */
	uint64_t index;     /* of those, index registers (array subscripts) */
	uint8_t first_wr;   /* lowest written register, 0xff if none */
	uint8_t flags;      /* SUM_* */
	uint8_t len;
};

enum { ENT_INSN = 0, ENT_EVENT = 1 };

struct entry {
	uint64_t pos;
	uint64_t wval;      /* value of the first written register after it */
	uint32_t sum;       /* INSN: index into sums[]; EVENT: index into sys[] or UINT32_MAX */
	uint32_t tid;
	uint32_t mem_first; /* into mem[] */
	uint16_t mem_n;
	uint8_t kind;       /* ENT_* */
	uint8_t have_wval;
	uint64_t ev_wr;     /* EVENT: registers it set */
};

struct memacc {
	uint64_t addr;
	uint64_t value;     /* first 8 bytes */
	uint32_t size;
	uint8_t is_write;
};

struct sysinfo {
	uint32_t entry;     /* its EVENT entry (set after the effects) */
	uint64_t pos;
	uint32_t tid;
	uint32_t number;
	uint64_t result;
	uint64_t args[8];
	uint32_t nargs;
	uint64_t args_base; /* Windows x86-32: address of argument 0 on the stack */
	uint64_t log_before;/* log entries before it */
	char obj[200];
};

enum sink_kind { SINK_CRASH = 1, SINK_SERVICE = 2, SINK_LOG = 3, SINK_EXIT = 4 };

struct sink {
	enum sink_kind kind;
	uint64_t pos;
	uint32_t tid;
	uint32_t start;      /* walk entries below this index */
	uint64_t value;
	uint64_t reg_mask;   /* tainted registers of tid at the start */
	uint64_t mem_addr;   /* tainted bytes at the start, mem_len 0 if none */
	uint32_t mem_len;
	bool specific;       /* service: the value is dwServiceSpecificExitCode */
	char text[512];      /* log line, description */
	char detail[256];
	bool have_flow;      /* locations known */
};

struct outrec {
	uint64_t pos;
	uint32_t tid;
	uint32_t stream;
	uint32_t len;
	char data[512];
	bool located;
	uint64_t buf;        /* guest address of the bytes */
	uint32_t argi;       /* which syscall argument pointed at them */
	uint32_t sys_entry;  /* EVENT entry of the writing syscall */
};

struct page_first {
	uint64_t page;       /* key + 1 (0 = empty) */
	uint64_t first_pos;  /* first write */
};

struct errorflow {
	struct strand_analysis *a;
	struct strand_replay *r;
	struct strand_callstack *cs;
	strand_arch arch;
	strand_abi abi;
	ZydisDecoder dec;
	ZydisMachineMode mode;
	uint64_t max_entries;

	struct summary *sums; uint32_t nsums, capsums;
	uint32_t *hash; uint32_t hcap;          /* open addressing: pc -> sums index + 1 */
	struct entry *ent; uint64_t nent, capent;
	struct memacc *mem; uint64_t nmem, capmem;
	struct sysinfo *sys; uint32_t nsys, capsys;
	struct outrec *out; uint32_t nout, capout;
	struct page_first *pages; uint64_t npages, cappages;
	struct sink sinks[8]; uint32_t nsinks;
	struct sink crash, service, exit;
	bool have_crash, have_service, have_exit;
	int64_t pending_wval;                    /* entry waiting for its wval, -1 */
	bool truncated;                          /* log limit reached */
	uint64_t service_reports;
	char crash_stack_note[64];
	struct strand_stack *crash_stack;
};

/* ------------------------------------------------------------- decoding */

static int reg_index(struct errorflow *s, ZydisRegister reg)
{
	ZydisRegisterClass cls = ZydisRegisterGetClass(reg);
	switch (cls) {
	case ZYDIS_REGCLASS_GPR8:
	case ZYDIS_REGCLASS_GPR16:
	case ZYDIS_REGCLASS_GPR32:
	case ZYDIS_REGCLASS_GPR64: {
		ZydisRegister big = ZydisRegisterGetLargestEnclosing(s->mode, reg);
		int id = ZydisRegisterGetId(big);
		return id >= 0 && id < 16 ? id : -1;
	}
	case ZYDIS_REGCLASS_XMM:
	case ZYDIS_REGCLASS_YMM:
	case ZYDIS_REGCLASS_ZMM: {
		int id = ZydisRegisterGetId(reg);
		return id >= 0 && id < 32 ? VEC_BASE + id : -1;
	}
	default:
		return -1;
	}
}

static void decode(struct errorflow *s, uint64_t pc, struct summary *out)
{
	uint8_t buf[16];
	memset(out, 0, sizeof *out);
	out->pc = pc;
	out->first_wr = 0xff;
	size_t got = strand_replay_read(s->r, pc, buf, sizeof buf, NULL);
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&s->dec, buf, got, &in, ops))) {
		out->flags = SUM_BAD;
		return;
	}
	out->len = in.length;
	if (in.mnemonic == ZYDIS_MNEMONIC_CMP || in.mnemonic == ZYDIS_MNEMONIC_TEST)
		out->flags |= SUM_CMP;
	if (in.mnemonic == ZYDIS_MNEMONIC_LEA)
		out->flags |= SUM_LEA;
	/* xor r,r / sub r,r / pxor x,x: a constant, not a use */
	if ((in.mnemonic == ZYDIS_MNEMONIC_XOR || in.mnemonic == ZYDIS_MNEMONIC_SUB ||
	     in.mnemonic == ZYDIS_MNEMONIC_PXOR || in.mnemonic == ZYDIS_MNEMONIC_XORPS) &&
	    in.operand_count_visible >= 2 && ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[0].reg.value == ops[1].reg.value)
		out->flags |= SUM_ZEROING;
	for (unsigned i = 0; i < in.operand_count; i++) {
		const ZydisDecodedOperand *op = &ops[i];
		if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			int idx = reg_index(s, op->reg.value);
			if (idx < 0)
				continue;
			if (op->actions & ZYDIS_OPERAND_ACTION_MASK_READ)
				out->rd |= REG_BIT(idx);
			if (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) {
				out->wr |= REG_BIT(idx);
				/* cmovcc: when the condition fails the old value stays */
				if (op->actions & ZYDIS_OPERAND_ACTION_CONDWRITE)
					out->rd |= REG_BIT(idx);
				if (out->first_wr == 0xff || (idx != STRAND_REG_RSP &&
							      out->first_wr == STRAND_REG_RSP))
					out->first_wr = (uint8_t)idx;
				/* a write of 8 or 16 bits keeps the rest of the register */
				if (idx < 16 && ZydisRegisterGetWidth(s->mode, op->reg.value) < 32) {
					out->rd |= REG_BIT(idx);
					out->flags |= SUM_PARTIAL;
				}
			}
		} else if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
			uint64_t m = 0;
			int b = op->mem.base != ZYDIS_REGISTER_NONE ? reg_index(s, op->mem.base) : -1;
			int x = op->mem.index != ZYDIS_REGISTER_NONE ? reg_index(s, op->mem.index) : -1;
			if (b >= 0)
				m |= REG_BIT(b);
			if (x >= 0)
				m |= REG_BIT(x);
			if (op->mem.type == ZYDIS_MEMOP_TYPE_AGEN) {
				out->rd |= m; /* lea computes a value from them */
			} else {
				out->addr |= m;
				if (x >= 0)
					out->index |= REG_BIT(x);
			}
		}
	}
	if (out->flags & SUM_ZEROING)
		out->rd = 0;
	if (out->flags & SUM_CMP)
		out->wr = 0;
}

static uint32_t summary_of(struct errorflow *s, uint64_t pc)
{
	if (s->nsums * 2 >= s->hcap) {
		uint32_t ncap = s->hcap ? s->hcap * 2 : 4096;
		uint32_t *nh = calloc(ncap, sizeof *nh);
		if (!nh)
			return UINT32_MAX;
		for (uint32_t i = 0; i < s->nsums; i++) {
			uint32_t h = (uint32_t)(s->sums[i].pc * 0x9E3779B97F4A7C15ull >> 40) & (ncap - 1);
			while (nh[h])
				h = (h + 1) & (ncap - 1);
			nh[h] = i + 1;
		}
		free(s->hash);
		s->hash = nh;
		s->hcap = ncap;
	}
	uint32_t h = (uint32_t)(pc * 0x9E3779B97F4A7C15ull >> 40) & (s->hcap - 1);
	while (s->hash[h]) {
		if (s->sums[s->hash[h] - 1].pc == pc)
			return s->hash[h] - 1;
		h = (h + 1) & (s->hcap - 1);
	}
	if (s->nsums == s->capsums) {
		uint32_t cap = s->capsums ? s->capsums * 2 : 4096;
		struct summary *n = realloc(s->sums, cap * sizeof *n);
		if (!n)
			return UINT32_MAX;
		s->sums = n;
		s->capsums = cap;
	}
	decode(s, pc, &s->sums[s->nsums]);
	s->hash[h] = s->nsums + 1;
	return s->nsums++;
}

/* ------------------------------------------------------------ the log */

static const char *const regs32[] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

static const char *reg_name(const struct errorflow *s, unsigned idx, char *buf, size_t len)
{
	if (idx >= VEC_BASE)
		snprintf(buf, len, "xmm%u", idx - VEC_BASE);
	else if (s->arch == STRAND_ARCH_X86_32 && idx < 8)
		snprintf(buf, len, "%s", regs32[idx]);
	else
		snprintf(buf, len, "%s", strand_reg_name(idx) ? strand_reg_name(idx) : "?");
	return buf;
}

/* The registers the previous instruction wrote are readable now (the
 * handle stands after it, before anything else). */
static void flush_wval(struct errorflow *s)
{
	if (s->pending_wval < 0)
		return;
	struct entry *e = &s->ent[s->pending_wval];
	s->pending_wval = -1;
	const struct summary *sum = &s->sums[e->sum];
	if (sum->first_wr >= VEC_BASE)
		return;
	char name[16];
	uint64_t v;
	if (strand_replay_reg(s->r, reg_name(s, sum->first_wr, name, sizeof name), &v) == STRAND_OK) {
		e->wval = v;
		e->have_wval = 1;
	}
}

static struct entry *new_entry(struct errorflow *s)
{
	if (s->nent >= s->max_entries) {
		s->truncated = true;
		return NULL;
	}
	if (s->nent == s->capent) {
		uint64_t cap = s->capent ? s->capent * 2 : 65536;
		struct entry *n = realloc(s->ent, cap * sizeof *n);
		if (!n) {
			s->truncated = true;
			return NULL;
		}
		s->ent = n;
		s->capent = cap;
	}
	struct entry *e = &s->ent[s->nent++];
	memset(e, 0, sizeof *e);
	e->mem_first = (uint32_t)s->nmem;
	return e;
}

static void add_mem(struct errorflow *s, uint64_t addr, uint32_t size, bool w, uint64_t value)
{
	if (s->nmem == s->capmem) {
		uint64_t cap = s->capmem ? s->capmem * 2 : 65536;
		struct memacc *n = realloc(s->mem, cap * sizeof *n);
		if (!n)
			return;
		s->mem = n;
		s->capmem = cap;
	}
	s->mem[s->nmem++] = (struct memacc){ addr, value, size, w };
	s->ent[s->nent - 1].mem_n++;
}

static uint64_t page_hash(uint64_t page, uint64_t cap)
{
	return (page * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
}

static void page_written(struct errorflow *s, uint64_t addr, uint64_t len, uint64_t pos)
{
	for (uint64_t p = addr >> 12; p <= (addr + (len ? len - 1 : 0)) >> 12; p++) {
		if (s->npages * 2 >= s->cappages) {
			uint64_t ncap = s->cappages ? s->cappages * 2 : 1024;
			struct page_first *n = calloc(ncap, sizeof *n);
			if (!n)
				return;
			for (uint64_t i = 0; i < s->cappages; i++) {
				if (!s->pages[i].page)
					continue;
				uint64_t h = page_hash(s->pages[i].page, ncap);
				while (n[h].page)
					h = (h + 1) & (ncap - 1);
				n[h] = s->pages[i];
			}
			free(s->pages);
			s->pages = n;
			s->cappages = ncap;
		}
		uint64_t h = page_hash(p + 1, s->cappages);
		while (s->pages[h].page && s->pages[h].page != p + 1)
			h = (h + 1) & (s->cappages - 1);
		if (!s->pages[h].page) {
			s->pages[h].page = p + 1;
			s->pages[h].first_pos = pos;
			s->npages++;
		}
	}
}

/* True if no byte of the page of addr was written before pos: the value
 * read there is constant data from the snapshot. */
static bool constant_at(const struct errorflow *s, uint64_t addr, uint64_t pos)
{
	if (!s->cappages)
		return true;
	uint64_t p = (addr >> 12) + 1;
	uint64_t h = page_hash(p, s->cappages);
	while (s->pages[h].page) {
		if (s->pages[h].page == p)
			return s->pages[h].first_pos >= pos;
		h = (h + 1) & (s->cappages - 1);
	}
	return true;
}

static void on_insn(struct strand_replay *r, void *ud, uint64_t pos, uint64_t pc, uint32_t size)
{
	struct errorflow *s = ud;
	flush_wval(s);
	uint32_t si = summary_of(s, pc);
	if (si == UINT32_MAX)
		return;
	struct entry *e = new_entry(s);
	if (!e)
		return;
	e->kind = ENT_INSN;
	e->pos = pos;
	e->tid = strand_replay_thread(r);
	e->sum = si;
	if (s->sums[si].wr & ~SP_BITS)
		s->pending_wval = (int64_t)(s->nent - 1);
}

static void on_mem(struct strand_replay *r, void *ud, uint64_t pos, uint64_t pc, uint64_t addr,
		   uint32_t size, bool is_write, uint64_t value)
{
	struct errorflow *s = ud;
	if (is_write)
		page_written(s, addr, size, pos);
	if (!s->nent || s->ent[s->nent - 1].pos != pos || s->ent[s->nent - 1].kind != ENT_INSN)
		return;
	if (s->ent[s->nent - 1].mem_n < UINT16_MAX)
		add_mem(s, addr, size, is_write, value);
}

static struct sysinfo *last_sys_of(struct errorflow *s, uint32_t tid)
{
	for (uint32_t i = s->nsys; i-- > 0;)
		if (s->sys[i].tid == tid)
			return &s->sys[i];
	return NULL;
}

/* Is the output's text at one of the syscall's pointer arguments? */
static bool locate_output(struct errorflow *s, struct outrec *o, struct sysinfo *sc)
{
	char buf[512];
	for (uint32_t i = 0; i < sc->nargs; i++) {
		uint64_t p = sc->args[i];
		if (p < 0x10000)
			continue;
		if (strand_replay_read(s->r, p, buf, o->len, NULL) == o->len &&
		    !memcmp(buf, o->data, o->len)) {
			o->located = true;
			o->buf = p;
			o->argi = i;
			o->sys_entry = sc->entry;
			return true;
		}
	}
	return false;
}

static void log_event_effects(struct errorflow *s, const struct strand_record *rec,
			      const struct strand_effects *fx, uint32_t sysidx)
{
	struct entry *e = new_entry(s);
	if (!e)
		return;
	e->kind = ENT_EVENT;
	e->pos = rec->position;
	e->tid = rec->tid;
	e->sum = sysidx;
	if (fx->cpu)
		e->ev_wr = 0xffff & ~SP_BITS;
	for (uint32_t i = 0; i < fx->nregs; i++)
		if (fx->regs[i].reg < 16)
			e->ev_wr |= REG_BIT(fx->regs[i].reg);
	e->ev_wr &= ~SP_BITS;
	for (uint32_t i = 0; i < fx->nwrites; i++) {
		const struct strand_memwrite *w = &fx->writes[i];
		uint64_t v = 0;
		for (uint32_t k = 0; k < w->len && k < 8; k++)
			v |= (uint64_t)w->data[k] << (8 * k);
		add_mem(s, w->addr, w->len, true, v);
		page_written(s, w->addr, w->len, rec->position);
	}
	/* a new mapping's contents (a file mapped by the loader, zero pages)
	 * count as constant data, like the snapshot's: not as writes */
}

static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	struct errorflow *s = ud;
	if (!after)
		flush_wval(s);
	switch (rec->type) {
	case STRAND_REC_SYSCALL: {
		const struct strand_syscall *sc = &rec->u.syscall;
		if (!after) {
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
			si->entry = UINT32_MAX;
			si->log_before = s->nent;
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
			strand_syscall_decode_object(r, s->abi, s->arch, sc, si->obj, sizeof si->obj);
			/* an output announced before its syscall */
			for (uint32_t i = s->nout; i-- > 0 && s->nout - i <= 4;)
				if (!s->out[i].located && s->out[i].tid == rec->tid)
					locate_output(s, &s->out[i], si);
		} else if (s->nsys && s->sys[s->nsys - 1].pos == rec->position) {
			s->sys[s->nsys - 1].entry = (uint32_t)s->nent;
			log_event_effects(s, rec, &sc->fx, s->nsys - 1);
			for (uint32_t i = s->nout; i-- > 0 && s->nout - i <= 4;)
				if (s->out[i].located && s->out[i].sys_entry == UINT32_MAX &&
				    s->out[i].tid == rec->tid)
					s->out[i].sys_entry = s->sys[s->nsys - 1].entry;
		}
		break;
	}
	case STRAND_REC_NONDET:
		if (after)
			log_event_effects(s, rec, &rec->u.nondet.fx, UINT32_MAX);
		break;
	case STRAND_REC_MEMORY:
		if (after)
			log_event_effects(s, rec, &rec->u.memory, UINT32_MAX);
		break;
	case STRAND_REC_EXCEPTION:
		if (after) {
			log_event_effects(s, rec, &rec->u.exception.fx, UINT32_MAX);
		} else if (rec->u.exception.flags & STRAND_EXC_F_FATAL && !s->have_crash) {
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
		memcpy(o->data, rec->u.output.data, o->len);
		o->sys_entry = UINT32_MAX;
		struct sysinfo *sc = last_sys_of(s, rec->tid);
		if (sc && locate_output(s, o, sc))
			o->sys_entry = sc->entry;
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
			const char *nm = sc ? strand_syscall_name(s->abi, s->arch, sc->number) : NULL;
			bool is_exit = nm && (!strcmp(nm, "NtTerminateProcess") || !strcmp(nm, "exit_group") ||
					      !strcmp(nm, "exit"));
			if (s->abi == STRAND_ABI_WINDOWS_NT && is_exit && sc->args_base) {
				k->start = (uint32_t)sc->log_before;
				k->mem_addr = sc->args_base + 4; /* NtTerminateProcess(h, status) */
				k->mem_len = 4;
				k->have_flow = true;
			} else if (s->abi == STRAND_ABI_LINUX) {
				k->start = (uint32_t)(is_exit ? sc->log_before : s->nent);
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
	unsigned psz = s->arch == STRAND_ARCH_X86_64 ? 8 : 4;
	(void)psz;
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
	k->start = (uint32_t)s->nent;
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

/* ---------------------------------------------------------------- walk */

struct mtaint {
	uint64_t addr;
	uint32_t size;
	int32_t step;
};

struct rtaint {
	uint32_t tid;
	uint64_t mask;
	int32_t step[48];
};

enum { STEP_SINK = 0, STEP_INSN = 1, STEP_EVENT = 2, STEP_CONST = 3, STEP_SNAPSHOT = 4 };
enum { SF_TABLE = 1, SF_COMPARE = 2 };

struct step {
	uint32_t kind;       /* STEP_* */
	uint64_t entry;      /* into ent[] (not for SINK/SNAPSHOT) */
	int32_t parent;      /* step that used this value, -1 for the sink */
	uint32_t flags;      /* SF_* */
	bool loc_is_reg;
	uint8_t reg;
	uint64_t addr;       /* memory location defined */
	uint32_t size;
	uint64_t value;
	bool have_value;
};

struct deferred {
	uint64_t entry;      /* apply when the walk reaches it */
	uint32_t tid;
	uint64_t regs;
	int32_t step;
};

struct walk {
	struct errorflow *s;
	struct rtaint *rt; uint32_t nrt, caprt;
	struct mtaint *mt; uint32_t nmt, capmt;
	struct step *st; uint32_t nst, capst;
	struct deferred *df; uint32_t ndf, capdf;
	bool overflow;
};

#define WALK_MAX_STEPS 200000
#define WALK_MAX_MEM 4096

static int32_t new_step(struct walk *w, const struct step *x)
{
	if (w->nst >= WALK_MAX_STEPS) {
		w->overflow = true;
		return -1;
	}
	if (w->nst == w->capst) {
		uint32_t cap = w->capst ? w->capst * 2 : 1024;
		struct step *n = realloc(w->st, cap * sizeof *n);
		if (!n) {
			w->overflow = true;
			return -1;
		}
		w->st = n;
		w->capst = cap;
	}
	w->st[w->nst] = *x;
	return (int32_t)w->nst++;
}

static struct rtaint *rt_get(struct walk *w, uint32_t tid)
{
	for (uint32_t i = 0; i < w->nrt; i++)
		if (w->rt[i].tid == tid)
			return &w->rt[i];
	if (w->nrt == w->caprt) {
		uint32_t cap = w->caprt ? w->caprt * 2 : 8;
		struct rtaint *n = realloc(w->rt, cap * sizeof *n);
		if (!n)
			return NULL;
		w->rt = n;
		w->caprt = cap;
	}
	struct rtaint *t = &w->rt[w->nrt++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

static void taint_regs(struct walk *w, uint32_t tid, uint64_t regs, int32_t step)
{
	regs &= ~SP_BITS & ((REG_BIT(48)) - 1);
	if (!regs || step < 0)
		return;
	struct rtaint *t = rt_get(w, tid);
	if (!t)
		return;
	for (unsigned i = 0; i < 48; i++)
		if (regs & REG_BIT(i))
			t->step[i] = step;
	t->mask |= regs;
}

static void taint_mem(struct walk *w, uint64_t addr, uint32_t size, int32_t step)
{
	if (!size || step < 0)
		return;
	if (w->nmt >= WALK_MAX_MEM) {
		w->overflow = true;
		return;
	}
	if (w->nmt == w->capmt) {
		uint32_t cap = w->capmt ? w->capmt * 2 : 64;
		struct mtaint *n = realloc(w->mt, cap * sizeof *n);
		if (!n)
			return;
		w->mt = n;
		w->capmt = cap;
	}
	w->mt[w->nmt++] = (struct mtaint){ addr, size, step };
}

/* Remove [addr, addr+size) from the tainted memory; returns the step of
 * the first overlapping range, or -1 if none overlapped. */
static int32_t untaint_mem(struct walk *w, uint64_t addr, uint32_t size)
{
	int32_t hit = -1;
	uint64_t end = addr + size;
	for (uint32_t i = 0; i < w->nmt;) {
		struct mtaint m = w->mt[i];
		uint64_t mend = m.addr + m.size;
		if (m.addr >= end || addr >= mend) {
			i++;
			continue;
		}
		if (hit < 0)
			hit = m.step;
		w->mt[i] = w->mt[--w->nmt];
		if (m.addr < addr)
			taint_mem(w, m.addr, (uint32_t)(addr - m.addr), m.step);
		if (mend > end)
			taint_mem(w, end, (uint32_t)(mend - end), m.step);
	}
	return hit;
}

static bool taint_empty(const struct walk *w)
{
	if (w->nmt || w->ndf)
		return false;
	for (uint32_t i = 0; i < w->nrt; i++)
		if (w->rt[i].mask)
			return false;
	return true;
}

/* Search-loop heuristic (see top): a compare shortly before the constant
 * load at entry i that touches the same table, directly or through a
 * register loaded from it; its other register operands are the key. */
static void find_lookup_key(struct walk *w, uint64_t i, uint64_t table_addr, int32_t step)
{
	struct errorflow *s = w->s;
	const struct entry *e = &s->ent[i];
	uint64_t table_regs = 0; /* registers holding table entries in the window */
	unsigned seen = 0;
	for (uint64_t j = i; j-- > 0 && seen < 64;) {
		const struct entry *c = &s->ent[j];
		if (c->tid != e->tid || c->kind != ENT_INSN)
			continue;
		seen++;
		const struct summary *sum = &s->sums[c->sum];
		bool near = false;
		for (uint32_t k = 0; k < c->mem_n; k++) {
			const struct memacc *m = &s->mem[c->mem_first + k];
			if (!m->is_write && m->addr + 256 >= table_addr && m->addr <= table_addr + 256)
				near = true;
		}
		if (!(sum->flags & SUM_CMP)) {
			if (near)
				table_regs |= sum->wr;
			continue;
		}
		if (!near && !(sum->rd & table_regs))
			continue;
		uint64_t key = sum->rd & ~table_regs & ~SP_BITS & ~FP_BITS;
		if (!key)
			continue;
		struct step x = { .kind = STEP_INSN, .entry = j, .parent = step, .flags = SF_COMPARE };
		int32_t cs = new_step(w, &x);
		if (cs < 0)
			return;
		if (w->ndf == w->capdf) {
			uint32_t cap = w->capdf ? w->capdf * 2 : 16;
			struct deferred *n = realloc(w->df, cap * sizeof *n);
			if (!n)
				return;
			w->df = n;
			w->capdf = cap;
		}
		w->df[w->ndf++] = (struct deferred){ j, c->tid, key, cs };
		return;
	}
}

/* Walk back from `k`; fills w->st.  Returns the index of the best origin
 * step, or -1. */
static int32_t walk_back(struct walk *w, const struct sink *k)
{
	struct errorflow *s = w->s;
	struct step sink = { .kind = STEP_SINK, .parent = -1, .value = k->value, .have_value = true };
	int32_t s0 = new_step(w, &sink);
	taint_regs(w, k->tid, k->reg_mask, s0);
	taint_mem(w, k->mem_addr, k->mem_len, s0);
	int32_t best = -1, best_any = -1, best_const = -1;
	for (uint64_t i = k->start > s->nent ? s->nent : k->start; i-- > 0;) {
		if (taint_empty(w) || w->overflow)
			break;
		const struct entry *e = &s->ent[i];
		/* deferred compare keys become live at their instruction */
		for (uint32_t d = 0; d < w->ndf;) {
			if (w->df[d].entry == i) {
				taint_regs(w, w->df[d].tid, w->df[d].regs, w->df[d].step);
				w->df[d] = w->df[--w->ndf];
			} else {
				d++;
			}
		}
		struct rtaint *rt = NULL;
		for (uint32_t t = 0; t < w->nrt; t++)
			if (w->rt[t].tid == e->tid)
				rt = &w->rt[t];
		uint64_t wr = e->kind == ENT_EVENT ? e->ev_wr : s->sums[e->sum].wr;
		uint64_t hitreg = rt ? rt->mask & wr & ~SP_BITS : 0;
		int32_t parent = -1;
		struct step x = { .kind = e->kind == ENT_EVENT ? STEP_EVENT : STEP_INSN, .entry = i };
		if (hitreg) {
			unsigned r0 = (unsigned)__builtin_ctzll(hitreg);
			parent = rt->step[r0];
			x.loc_is_reg = true;
			x.reg = (uint8_t)r0;
			if (e->kind == ENT_INSN && e->have_wval && r0 == s->sums[e->sum].first_wr) {
				x.value = e->wval;
				x.have_value = true;
			} else if (e->kind == ENT_EVENT && e->sum != UINT32_MAX && r0 == STRAND_REG_RAX) {
				x.value = s->sys[e->sum].result; /* the kernel's result register */
				if (s->arch == STRAND_ARCH_X86_32)
					x.value &= 0xffffffffu;
				x.have_value = true;
			}
			rt->mask &= ~hitreg;
		}
		for (uint32_t m = 0; m < e->mem_n; m++) {
			const struct memacc *a = &s->mem[e->mem_first + m];
			if (!a->is_write)
				continue;
			int32_t h = untaint_mem(w, a->addr, a->size);
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
			}
		}
		if (parent < 0)
			continue;
		x.parent = parent;
		if (e->kind == ENT_EVENT) {
			int32_t o = new_step(w, &x);
			if (o >= 0 && e->sum != UINT32_MAX) {
				const struct sysinfo *si = &s->sys[e->sum];
				if (best < 0 && strand_syscall_failed(s->abi, s->arch, si->result))
					best = o;
				if (best_any < 0)
					best_any = o;
			}
			continue;
		}
		const struct summary *sum = &s->sums[e->sum];
		int32_t me = new_step(w, &x);
		if (me < 0)
			break;
		uint64_t srcs = sum->rd;
		bool any_src = false;
		for (uint32_t m = 0; m < e->mem_n; m++) {
			const struct memacc *a = &s->mem[e->mem_first + m];
			if (a->is_write)
				continue;
			any_src = true;
			if (constant_at(s, a->addr, e->pos)) {
				w->st[me].flags |= SF_TABLE;
				srcs |= sum->addr & ~SP_BITS & ~FP_BITS;
				find_lookup_key(w, i, a->addr, me);
			} else {
				taint_mem(w, a->addr, a->size, me);
				/* an array element: which one was read depends on
				 * the subscript too */
				srcs |= sum->index & ~SP_BITS & ~FP_BITS;
			}
		}
		srcs &= ~SP_BITS;
		if (srcs)
			any_src = true;
		taint_regs(w, e->tid, srcs, me);
		if (!any_src && best_const < 0) {
			w->st[me].kind = STEP_CONST;
			best_const = me;
		}
	}
	if (best >= 0)
		return best;
	if (best_any >= 0)
		return best_any;
	return best_const;
}

/* ------------------------------------------------------------- output */

static void describe_value(struct errorflow *s, struct strand_rnode *o, uint64_t v, uint32_t size)
{
	char buf[512];
	if (size == 1 && v >= 0x20 && v < 0x7f) {
		strand_r_stringf(o, "meaning", "character '%c'", (int)v);
		return;
	}
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

struct chain_pos {
	uint64_t pos;
	uint32_t tid;
	bool is_event;
	struct strand_stack *stack; /* owned, filled by the extra pass */
};

struct stack_pass {
	struct chain_pos *cp;
	uint32_t n;
	struct strand_callstack *cs;
};

static void sp_insn(struct strand_replay *r, void *ud, uint64_t pos, uint64_t pc, uint32_t size)
{
	struct stack_pass *p = ud;
	uint32_t tid = strand_replay_thread(r);
	for (uint32_t i = 0; i < p->n; i++)
		if (!p->cp[i].is_event && !p->cp[i].stack && p->cp[i].pos == pos && p->cp[i].tid == tid)
			strand_callstack_capture(p->cs, tid, &p->cp[i].stack, NULL);
}

static void sp_event(struct strand_replay *r, void *ud, const struct strand_record *rec, bool after)
{
	struct stack_pass *p = ud;
	if (after || rec->type != STRAND_REC_SYSCALL)
		return;
	for (uint32_t i = 0; i < p->n; i++)
		if (p->cp[i].is_event && !p->cp[i].stack && p->cp[i].pos == rec->position &&
		    p->cp[i].tid == rec->tid)
			strand_callstack_capture(p->cs, rec->tid, &p->cp[i].stack, NULL);
}

/* Stacks at the chain's positions, by one extra pass. */
static strand_status take_stacks(struct errorflow *s, struct chain_pos *cp, uint32_t n,
				 strand_error *err)
{
	if (!n)
		return STRAND_OK;
	struct strand_replay *r = NULL;
	struct stack_pass p = { cp, n, NULL };
	uint64_t last = 0;
	for (uint32_t i = 0; i < n; i++)
		if (cp[i].pos + 1 > last)
			last = cp[i].pos + 1;
	strand_status st = strand_analysis_open_pass(s->a, "errorflow stacks", &r, err);
	if (st < 0)
		return st;
	st = strand_callstack_new(r, &p.cs, err);
	if (st >= 0) {
		strand_obs_id a = strand_replay_on_insn(r, sp_insn, &p);
		strand_obs_id b = strand_replay_on_event(r, sp_event, &p);
		st = strand_analysis_drive(s->a, r, "errorflow stacks", last, err);
		strand_replay_observer_del(r, a);
		strand_replay_observer_del(r, b);
	}
	strand_callstack_free(p.cs);
	strand_replay_close(r);
	return st;
}

static bool is_push_pop(struct errorflow *s, uint64_t pc)
{
	char buf[64];
	if (strand_replay_disas(s->r, pc, buf, sizeof buf, NULL) != STRAND_OK)
		return false;
	return !strncmp(buf, "push ", 5) || !strncmp(buf, "pop ", 4);
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

static void emit_origin(struct errorflow *s, struct strand_rnode *o, const struct walk *w,
			int32_t oi)
{
	const struct step *x = &w->st[oi];
	char buf[512];
	if (x->kind == STEP_EVENT && s->ent[x->entry].sum != UINT32_MAX) {
		const struct sysinfo *si = &s->sys[s->ent[x->entry].sum];
		const char *name = strand_syscall_name(s->abi, s->arch, si->number);
		strand_r_string(o, "kind", "syscall");
		strand_r_position(o, "position", si->pos);
		strand_r_uint(o, "tid", si->tid);
		strand_r_string(o, "syscall", name ? name : "?");
		if (si->obj[0])
			strand_r_string(o, "object", si->obj);
		struct strand_rnode *rv = strand_r_hex(o, "status", si->result);
		bool failed = strand_syscall_failed(s->abi, s->arch, si->result);
		if (rv && failed)
			rv->flags |= STRAND_RF_ALERT;
		strand_r_string(o, "status_text",
				strand_syscall_result_str(s->abi, s->arch, si->result, buf, sizeof buf));
		strand_r_bool(o, "failed", failed);
	} else if (x->kind == STEP_EVENT) {
		strand_r_string(o, "kind", "event");
		strand_r_position(o, "position", s->ent[x->entry].pos);
	} else {
		const struct entry *e = &s->ent[x->entry];
		strand_r_string(o, "kind", "constant");
		strand_r_position(o, "position", e->pos);
		strand_r_uint(o, "tid", e->tid);
		char sym[160];
		strand_replay_symbolize(s->r, s->sums[e->sum].pc, sym, sizeof sym);
		strand_r_string(o, "where", sym);
		if (x->have_value)
			strand_r_hex(o, "value", x->value);
	}
}

/* The chain of sink k into `o`. */
static strand_status emit_chain(struct errorflow *s, const struct sink *k, struct strand_rnode *o,
				strand_error *err)
{
	struct walk w = { .s = s };
	strand_status st = STRAND_OK;
	struct chain_pos *cp = NULL;
	int32_t *path = NULL, *keep = NULL;
	uint32_t n = 0, np = 0, nkeep = 0;
	int32_t origin = walk_back(&w, k);
	if (w.overflow)
		strand_r_string(o, "note", "data flow too wide: the walk was cut short");
	if (origin < 0) {
		strand_r_string(strand_r_object(o, "no_origin"), "explanation",
				"no instruction or kernel call in the trace produced this value "
				"(it comes from the initial snapshot, or through control flow only)");
		goto out;
	}
	emit_origin(s, strand_r_object(o, "origin"), &w, origin);
	for (int32_t i = origin; i >= 0; i = w.st[i].parent)
		n++;
	path = calloc(n, sizeof *path);
	keep = calloc(n, sizeof *keep);
	cp = calloc(n, sizeof *cp);
	if (!path || !cp || !keep) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "errorflow: out of memory");
		goto out;
	}
	for (int32_t i = origin; i >= 0 && np < n; i = w.st[i].parent)
		path[np++] = i;
	/* keep one step per run of (function, value): the first of each run,
	 * plus table lookups and compares, which explain a change of value */
	char prev_fn[160] = "";
	uint64_t prev_val = ~0ull;
	for (uint32_t i = 0; i < np; i++) {
		const struct step *x = &w.st[path[i]];
		if (x->kind == STEP_SINK)
			continue;
		const struct entry *e = &s->ent[x->entry];
		char fn[160];
		if (e->kind == ENT_EVENT)
			snprintf(fn, sizeof fn, "kernel");
		else
			func_of(s, s->sums[e->sum].pc, fn, sizeof fn);
		uint64_t v = x->have_value ? x->value : prev_val;
		bool interesting = x->flags || strcmp(fn, prev_fn) || v != prev_val || i == 0;
		/* a value only saved and restored (push/pop of a callee-saved
		 * register, a spill) is not a step worth showing */
		if (interesting && !x->flags && v == prev_val && e->kind == ENT_INSN &&
		    is_push_pop(s, s->sums[e->sum].pc))
			interesting = false;
		snprintf(prev_fn, sizeof prev_fn, "%s", fn);
		prev_val = v;
		/* the step that wrote the symptom's location is always shown */
		bool last = i + 1 < np && w.st[path[i + 1]].kind == STEP_SINK;
		if ((!interesting && !last) || nkeep >= 60)
			continue;
		keep[nkeep] = path[i];
		cp[nkeep].pos = e->pos;
		cp[nkeep].tid = e->tid;
		cp[nkeep].is_event = e->kind == ENT_EVENT;
		nkeep++;
	}
	strand_r_uint(o, "steps_total", np);
	st = take_stacks(s, cp, nkeep, err);
	if (st < 0)
		goto out;
	struct strand_rnode *steps = strand_r_list(o, "steps");
	for (uint32_t i = 0; i < nkeep; i++) {
		const struct step *x = &w.st[keep[i]];
		const struct entry *e = &s->ent[x->entry];
		struct strand_rnode *so = strand_r_object(steps, NULL);
		strand_r_position(so, "position", e->pos);
		strand_r_uint(so, "tid", e->tid);
		char buf[256];
		if (e->kind == ENT_EVENT) {
			const struct sysinfo *si = e->sum != UINT32_MAX ? &s->sys[e->sum] : NULL;
			const char *name = si ? strand_syscall_name(s->abi, s->arch, si->number) : NULL;
			strand_r_stringf(so, "where", "kernel: %s", name ? name : "event");
			strand_r_string(so, "what", "result written by the kernel");
		} else {
			uint64_t pc = s->sums[e->sum].pc;
			strand_r_hex(so, "pc", pc);
			strand_replay_symbolize(s->r, pc, buf, sizeof buf);
			strand_r_string(so, "where", buf);
			if (strand_replay_disas(s->r, pc, buf, sizeof buf, NULL) == STRAND_OK)
				strand_r_string(so, "instruction", buf);
			if (x->flags & SF_TABLE)
				strand_r_string(so, "what", "value loaded from a constant table (index followed)");
			else if (x->flags & SF_COMPARE)
				strand_r_string(so, "what", "key compared against the table (search loop)");
		}
		if (x->flags & SF_COMPARE) {
			/* the compare defines nothing: no location, no value */
		} else if (x->loc_is_reg) {
			strand_r_string(so, "location", reg_name(s, x->reg, buf, sizeof buf));
		} else {
			strand_r_stringf(so, "location", "[0x%" PRIx64 "] (%u bytes)", x->addr, x->size);
		}
		if (x->have_value && !(x->flags & SF_COMPARE)) {
			strand_r_hex(so, "value", x->value);
			describe_value(s, so, x->value, x->loc_is_reg ? 4 : x->size);
		}
		if (cp[i].stack)
			strand_r_stack(so, "stack", cp[i].stack);
	}
out:
	for (uint32_t i = 0; cp && i < nkeep; i++)
		strand_stack_free(cp[i].stack);
	free(cp);
	free(keep);
	free(path);
	free(w.rt);
	free(w.mt);
	free(w.st);
	free(w.df);
	return st;
}

/* ------------------------------------------------------------ symptoms */

static bool looks_like_error(const char *t, uint32_t len)
{
	static const char *const words[] = { "error", "fail", "cannot", "can't", "denied",
					     "not found", "no such", "hr =", "hr=",
					     "fatal", "abort", "unable" };
	char low[512];
	uint32_t n = len < sizeof low - 1 ? len : (uint32_t)sizeof low - 1;
	for (uint32_t i = 0; i < n; i++)
		low[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] - 'A' + 'a' : t[i]);
	low[n] = 0;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strstr(low, words[i]))
			return true;
	return false;
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The last number in the line (hex or decimal, "0x" allowed): the code
 * the line reports.  Returns false if none. */
static bool last_number(const char *t, uint32_t len, uint32_t *off, uint32_t *n)
{
	bool found = false;
	for (uint32_t i = 0; i < len;) {
		if (!is_alnum(t[i])) {
			i++;
			continue;
		}
		uint32_t j = i;
		while (j < len && is_alnum(t[j]))
			j++;
		uint32_t a = i;
		if (j - i > 2 && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'X'))
			a = i + 2;
		bool hex = true;
		for (uint32_t k = a; k < j; k++)
			hex = hex && is_hex(t[k]);
		bool digit = false;
		for (uint32_t k = a; k < j; k++)
			digit = digit || (t[k] >= '0' && t[k] <= '9');
		if (hex && digit && j - a >= 1) {
			*off = a;
			*n = j - a;
			found = true;
		}
		i = j;
	}
	return found;
}

static void build_log_sink(struct errorflow *s)
{
	for (uint32_t i = s->nout; i-- > 0;) {
		struct outrec *o = &s->out[i];
		if (!(o->stream == 3 || o->stream == 2 || looks_like_error(o->data, o->len)))
			continue;
		/* only text the process wrote (found in its memory): lines a
		 * recorder adds about the environment are not the program's */
		if (!looks_like_error(o->data, o->len) || !o->located || o->sys_entry == UINT32_MAX)
			continue;
		struct sink *k = &s->sinks[s->nsinks++];
		memset(k, 0, sizeof *k);
		k->kind = SINK_LOG;
		k->pos = o->pos;
		k->tid = o->tid;
		uint32_t len = o->len;
		while (len && (o->data[len - 1] == '\n' || o->data[len - 1] == '\r'))
			len--;
		snprintf(k->text, sizeof k->text, "%.*s", (int)len, o->data);
		uint32_t off = 0, n = len;
		bool num = last_number(o->data, len, &off, &n);
		if (num) {
			char tok[64];
			snprintf(tok, sizeof tok, "%.*s", (int)(n < 63 ? n : 63), o->data + off);
			k->value = strtoull(tok, NULL, 16);
			snprintf(k->detail, sizeof k->detail, "reported code %s", tok);
		}
		if (o->located && o->sys_entry != UINT32_MAX) {
			k->start = o->sys_entry;
			k->mem_addr = o->buf + off;
			k->mem_len = n;
			k->have_flow = true;
			/* text written straight from constant data (a message
			 * table): what varies is which string was chosen, so
			 * follow the pointer argument instead of the bytes */
			const struct entry *se = &s->ent[o->sys_entry];
			const struct sysinfo *si = se->sum != UINT32_MAX ? &s->sys[se->sum] : NULL;
			if (si && constant_at(s, o->buf, si->pos)) {
				static const uint8_t linux_args[6] = { STRAND_REG_RDI, STRAND_REG_RSI,
					STRAND_REG_RDX, 10 /* r10 */, STRAND_REG_R8, 9 /* r9 */ };
				if (s->abi == STRAND_ABI_LINUX && s->arch == STRAND_ARCH_X86_64 && o->argi < 6) {
					k->mem_len = 0;
					k->reg_mask = REG_BIT(linux_args[o->argi]);
					k->start = (uint32_t)si->log_before;
				} else if (s->abi == STRAND_ABI_WINDOWS_NT && si->args_base) {
					k->mem_addr = si->args_base + 4 * o->argi;
					k->mem_len = 4;
					k->start = (uint32_t)si->log_before;
				}
				snprintf(k->detail + strlen(k->detail), sizeof k->detail - strlen(k->detail),
					 "%sconstant text: following the pointer to it", k->detail[0] ? "; " : "");
			}
		}
		return;
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
		       : strand_code_guess(k->value);
	if (kind && k->value)
		strand_r_string(o, "meaning", strand_code_describe(kind, k->value, buf, sizeof buf));
	if (k->kind == SINK_CRASH && s->crash_stack)
		strand_r_stack(o, "stack", s->crash_stack);
	if (k->have_flow && k->mem_len)
		strand_r_stringf(o, "followed_from", "[0x%" PRIx64 "] (%u bytes) before position %" PRIu64,
				 k->mem_addr, k->mem_len, k->start < s->nent ? s->ent[k->start].pos : k->pos);
	else if (k->have_flow && k->reg_mask) {
		char rn[16];
		strand_r_stringf(o, "followed_from", "%s of thread %u before position %" PRIu64,
				 reg_name(s, (unsigned)__builtin_ctzll(k->reg_mask), rn, sizeof rn), k->tid,
				 k->start < s->nent ? s->ent[k->start].pos : k->pos);
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

static const struct strand_plugin_option errorflow_options[] = {
	{ "max_log", "instructions logged at most (memory bound, about 40 bytes each)", "20000000" },
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
	s->pending_wval = -1;
	strand_status st = strand_plugin_opt_u64(args, "max_log", 20000000, &s->max_entries, err);
	if (st < 0)
		return st;
	if (s->arch == STRAND_ARCH_X86_64) {
		s->mode = ZYDIS_MACHINE_MODE_LONG_64;
		ZydisDecoderInit(&s->dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	} else if (s->arch == STRAND_ARCH_X86_32) {
		s->mode = ZYDIS_MACHINE_MODE_LONG_COMPAT_32;
		ZydisDecoderInit(&s->dec, ZYDIS_MACHINE_MODE_LONG_COMPAT_32, ZYDIS_STACK_WIDTH_32);
	} else {
		return strand_error_set(err, STRAND_ERR_UNSUPPORTED, "errorflow: architecture %s",
					strand_arch_str(s->arch));
	}
	if (!(s->cs = strand_analysis_callstack(a, err)))
		return STRAND_ERR_NOMEM;
	strand_replay_on_insn(s->r, on_insn, s);
	strand_replay_on_mem(s->r, on_mem, STRAND_WATCH_READ | STRAND_WATCH_WRITE, s);
	strand_replay_on_event(s->r, on_event, s);
	strand_replay_on_call(s->r, on_call, s);
	return STRAND_OK;
}

static strand_status errorflow_finish(struct strand_analysis *a, void *state,
				      struct strand_rnode *out, strand_error *err)
{
	struct errorflow *s = state;
	flush_wval(s);
	strand_r_uint(out, "instructions_logged", s->nent);
	strand_r_uint(out, "memory_accesses_logged", s->nmem);
	if (s->truncated)
		strand_r_string(out, "note", "the log reached max_log: flows before its end are cut");
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
	for (uint32_t i = 0; i < s->nsinks; i++) {
		strand_status st = emit_symptom(s, &s->sinks[i], list, err);
		if (st < 0)
			return st;
	}
	return STRAND_OK;
}

static void errorflow_destroy(void *state)
{
	struct errorflow *s = state;
	if (!s)
		return;
	free(s->sums);
	free(s->hash);
	free(s->ent);
	free(s->mem);
	free(s->sys);
	free(s->out);
	free(s->pages);
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
