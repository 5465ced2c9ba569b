/*
 * The emulator side of the replay core: one Unicorn instance, the guest
 * memory it runs on, thread contexts, and exact instruction counting.
 *
 * Counting (measured on Unicorn 2.0.1, see bench/README.md):
 *  - uc_emu_start(count = n) installs a per-instruction code hook and, when
 *    a later call passes count = 0, flushes every translated block; so it
 *    is never used here.
 *  - A UC_HOOK_BLOCK hook is emitted before the TB prologue, whose exit
 *    check runs after the hook: uc_emu_stop() from the block hook stops
 *    before any instruction of the block runs (tests/test_replay.c checks
 *    this through exact positions).
 *  - Removing a code hook with uc_hook_del() did not stop it from firing in
 *    blocks translated later in our experiments, so hooks are never
 *    removed: once installed they stay and return early when unneeded.
 *  - The last k instructions inside a block run with a temporary exit at
 *    the k-th instruction's address (UC_CTL_UC_USE_EXITS).  Exits are
 *    checked when code is translated, so the TBs overlapping that address
 *    are invalidated before and after.  The next consuming event's pc is
 *    kept as an exit, so execution stops right on its instruction.
 *  - With a code hook installed (instruction/memory observers,
 *    watchpoints) stops were seen to land up to a block late, so in that
 *    mode the code hook itself stops before the target instruction.
 *  - Plain kernel transitions are applied from the syscall, sysenter and
 *    interrupt hooks while the emulator runs (rp_apply_inline): a stop and
 *    restart costs tens of microseconds in Unicorn 2.0.1.
 *  - Unicorn 2.0.1 calls the sysenter hook with a stale eip (the block's
 *    start) and then adds the instruction length to it: the hook puts eip
 *    on the sysenter first.
 *  - tb_flush (uc_ctl_flush_tlb) memsets the whole ~1 GB TCG code buffer
 *    in Unicorn 2.0.1, making it resident (tens of ms each, more the first
 *    time): translated code is dropped per region (rp_emu_drop_code).
 * tests/test_replay_unicorn.c pins these behaviours down.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "replay/replay_int.h"

/* ===================================================================== */
/* Decoding and the block cache                                           */
/* ===================================================================== */

/* Copy up to len bytes of guest memory at addr into buf; returns bytes
 * copied (stops at the first unmapped byte). */
static size_t guest_peek(struct strand_replay *r, uint64_t addr, uint8_t *buf,
			 size_t len)
{
	size_t done = 0;
	while (done < len) {
		struct rp_region *g = rp_region_find(r, addr + done);
		if (!g)
			break;
		uint64_t off = addr + done - g->addr;
		size_t n = (size_t)(g->size - off);
		if (n > len - done)
			n = len - done;
		memcpy(buf + done, g->host + off, n);
		done += n;
	}
	return done;
}

bool rp_decode(struct strand_replay *r, uint64_t addr,
	       ZydisDecodedInstruction *ins, ZydisDecodedOperand *ops)
{
	uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
	size_t n = guest_peek(r, addr, buf, sizeof buf);
	if (n == 0)
		return false;
	if (ops)
		return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&r->zdec, buf, n, ins, ops));
	return ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&r->zdec, NULL, buf, n, ins));
}

/* Instructions whose execution between events means divergence: they are
 * recorded as consuming events. */
static bool insn_is_sensitive(const ZydisDecodedInstruction *ins)
{
	switch (ins->mnemonic) {
	case ZYDIS_MNEMONIC_SYSCALL:
	case ZYDIS_MNEMONIC_SYSENTER:
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_RDTSC:
	case ZYDIS_MNEMONIC_RDTSCP:
	case ZYDIS_MNEMONIC_CPUID:
	case ZYDIS_MNEMONIC_RDRAND:
	case ZYDIS_MNEMONIC_RDSEED:
	case ZYDIS_MNEMONIC_XGETBV:
		return true;
	default:
		return false;
	}
}

/* Cache entry extra data is packed in ninsn's high bits to keep entries at
 * 16 bytes: low 16 bits count; bits 16..23 index of the first sensitive
 * instruction + 1 (0 = none, 255 = at or beyond 254); bits 24..25 kind of
 * the last instruction (1 call, 2 ret); bit 26 indirect call. */
#define BC_COUNT(v) ((v) & 0xffffu)
#define BC_SENS(v) (((v) >> 16) & 0xffu)
#define BC_LAST(v) (((v) >> 24) & 3u)
#define BC_INDIRECT(v) (((v) >> 26) & 1u)

/* The block cache: the entry of the block at addr (size bytes), decoded
 * now if it is not cached (block_info).  Entry pointers are borrowed:
 * valid until the next lookup (another block may take the slot). */
static inline struct rp_blockcache_ent *block_slot(struct strand_replay *r, uint64_t addr)
{
	return &r->bcache[(addr * 0x9e3779b97f4a7c15ull) >> (64 - RP_BLOCKCACHE_BITS)];
}

static inline bool block_cached(const struct strand_replay *r,
				const struct rp_blockcache_ent *e, uint64_t addr, uint32_t size)
{
	return e->addr == addr && e->size == size && e->gen == r->bcache_gen && size;
}

/* Decode the block at addr into its cache slot e (kept out of line: the
 * 4 KiB buffer would otherwise weigh on every block hook call). */
static __attribute__((noinline)) const struct rp_blockcache_ent *
block_decode(struct strand_replay *r, struct rp_blockcache_ent *e, uint64_t addr, uint32_t size)
{
	uint8_t buf[4096 + 16];
	uint32_t want = size > 4096 ? 4096 : size;
	size_t have = guest_peek(r, addr, buf, want);
	uint32_t n = 0, off = 0, sens = 0, last = 0, indirect = 0;
	uint32_t last_off = 0, sens_off = 0, last_len = 0;
	ZydisDecodedInstruction ins;
	while (off < have) {
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&r->zdec, NULL, buf + off,
								have - off, &ins)))
			break;
		if (!sens && insn_is_sensitive(&ins)) {
			sens = n + 1 > 254 ? 255 : n + 1;
			sens_off = off;
		}
		last_off = off;
		last_len = ins.length;
		off += ins.length;
		n++;
		if (off >= have) {
			if (ins.mnemonic == ZYDIS_MNEMONIC_CALL) {
				last = 1;
				indirect = ins.raw.imm[0].size == 0;
			} else if (ins.mnemonic == ZYDIS_MNEMONIC_RET) {
				last = 2;
			}
		}
	}
	if (n == 0 && size)
		n = 1; /* undecodable: Unicorn will fault on it */
	/* offsets are kept only when they describe the whole block exactly:
	 * every byte decoded, the counts not saturated */
	if (off != size || have != size || n > 0xffffu || sens == 255 || last_off > 0xffffu)
		last_len = 0;
	e->addr = addr;
	e->size = size;
	e->ninsn = (n & 0xffffu) | (sens << 16) | (last << 24) | (indirect << 26);
	e->gen = r->bcache_gen;
	e->last_off = (uint16_t)last_off;
	e->sens_off = (uint16_t)sens_off;
	e->last_len = (uint8_t)last_len;
	return e;
}

static inline const struct rp_blockcache_ent *block_info(struct strand_replay *r,
							 uint64_t addr, uint32_t size)
{
	struct rp_blockcache_ent *e = block_slot(r, addr);
	if (block_cached(r, e, addr, size))
		return e;
	return block_decode(r, e, addr, size);
}

uint32_t rp_block_count(struct strand_replay *r, uint64_t addr, uint32_t size)
{
	return BC_COUNT(block_info(r, addr, size)->ninsn);
}

void rp_blockcache_clear(struct strand_replay *r)
{
	if (++r->bcache_gen == 0) { /* wrapped: really clear */
		memset(r->bcache, 0, sizeof *r->bcache * RP_BLOCKCACHE);
		r->bcache_gen = 1;
	}
}

/* Address of the instruction k instructions after pc (straight line). */
static uint64_t advance_insns(struct strand_replay *r, uint64_t pc, uint64_t k)
{
	ZydisDecodedInstruction ins;
	for (uint64_t i = 0; i < k; i++) {
		if (!rp_decode(r, pc, &ins, NULL))
			return pc;
		pc += ins.length;
	}
	return pc;
}

/* Index of `target` among the instructions starting at `start`, or -1. */
static int64_t insn_index(struct strand_replay *r, uint64_t start, uint32_t size,
			  uint64_t target)
{
	ZydisDecodedInstruction ins;
	uint64_t pc = start;
	for (int64_t i = 0; pc < start + size || i == 0; i++) {
		if (pc == target)
			return i;
		if (pc > target || !rp_decode(r, pc, &ins, NULL))
			return -1;
		pc += ins.length;
	}
	return -1;
}

/* Address of the block's first sensitive instruction (BC_SENS != 0). */
static uint64_t sens_pc(struct strand_replay *r, const struct rp_blockcache_ent *be,
			uint64_t addr)
{
	if (be->last_len)
		return addr + be->sens_off;
	return advance_insns(r, addr, BC_SENS(be->ninsn) - 1);
}

/* ===================================================================== */
/* Hooks                                                                  */
/* ===================================================================== */

static void set_fault(struct strand_replay *r, int kind, uint64_t addr)
{
	if (r->fault)
		return;
	r->fault = kind;
	r->fault_addr = addr;
	r->fault_pc = rp_pc(r);
}

static void fire_callret(struct strand_replay *r, uint64_t block_addr)
{
	if (!r->last_blk_kind || r->pos != r->last_blk_pos + 1)
		return;
	struct strand_call_info ci = {
		.position = r->last_blk_pos,
		.tid = r->threads[r->cur].tid,
		.from = r->last_blk_pc,
		.to = block_addr,
		.indirect = r->last_blk_indirect,
	};
	uint64_t sp = 0;
	uc_reg_read(r->uc, r->mode == UC_MODE_64 ? UC_X86_REG_RSP : UC_X86_REG_ESP, &sp);
	if (r->mode != UC_MODE_64)
		sp &= 0xffffffffu;
	ci.sp_after = sp;
	uint32_t kind = r->last_blk_kind;
	r->last_blk_kind = 0;
	if (kind == 1) {
		ci.ret_addr = r->last_blk_next;
		for (uint32_t i = 0; i < r->nobs; i++)
			if (r->obs[i].kind == RP_OBS_CALL)
				((strand_call_cb)r->obs[i].cb)(r, r->obs[i].ud, &ci);
	} else {
		for (uint32_t i = 0; i < r->nobs; i++)
			if (r->obs[i].kind == RP_OBS_RET)
				((strand_ret_cb)r->obs[i].cb)(r, r->obs[i].ud, &ci);
	}
}

/* The block hook's common case, taken for most blocks: nothing to check
 * or observe, the block is cached, holds no sensitive instruction and ends
 * before both the run's target and the next inline event.  Returns false
 * when the full hook must decide (hook_block_slow). */
static inline bool hook_block_fast(struct strand_replay *r, uint64_t addr, uint32_t size)
{
	if (r->finishing | r->bp_check | r->ret_check | r->call_check | r->code_hook_on)
		return false;
	if (r->observing && r->n_block_obs)
		return false;
	const struct rp_blockcache_ent *e = block_slot(r, addr);
	if (!block_cached(r, e, addr, size) || BC_SENS(e->ninsn))
		return false;
	uint64_t end = r->pos + BC_COUNT(e->ninsn);
	uint64_t limit = r->run_target;
	if (r->next_inline && r->next && r->next->position < limit)
		limit = r->next->position;
	if (end > limit)
		return false;
	uint32_t last = BC_LAST(e->ninsn);
	bool calls = r->observing && r->n_call_obs;
	if (calls && last && !e->last_len)
		return false; /* offsets unknown: the full hook decodes */
	if (calls) {
		uint64_t eaddr = e->addr;
		uint32_t last_off = e->last_off, last_len = e->last_len;
		uint32_t indirect = BC_INDIRECT(e->ninsn);
		/* the call/ret that ended the previous block has completed
		 * (fire_callret may reuse the cache: e is not used after it) */
		if (r->last_blk_kind)
			fire_callret(r, addr);
		if (last && end > r->frontier) {
			r->last_blk_kind = last;
			r->last_blk_pos = end - 1;
			r->last_blk_indirect = indirect;
			r->last_blk_pc = eaddr + last_off;
			r->last_blk_next = r->last_blk_pc + last_len;
		}
	}
	r->blk_pos = r->pos;
	r->blk_idx = 0;
	r->blk_addr = addr;
	r->pos = end;
	return true;
}

static void hook_block_slow(uc_engine *uc, uint64_t addr, uint32_t size,
			    struct strand_replay *r);

static void hook_block(uc_engine *uc, uint64_t addr, uint32_t size, void *ud)
{
	struct strand_replay *r = ud;
	if (!hook_block_fast(r, addr, size))
		hook_block_slow(uc, addr, size, r);
}

static __attribute__((noinline)) void hook_block_slow(uc_engine *uc, uint64_t addr,
						      uint32_t size, struct strand_replay *r)
{
	if (r->finishing) {
		if (r->observing && r->n_block_obs && r->pos >= r->frontier)
			for (uint32_t i = 0; i < r->nobs; i++)
				if (r->obs[i].kind == RP_OBS_BLOCK)
					((strand_block_cb)r->obs[i].cb)(r, r->obs[i].ud,
									 r->pos, addr, size);
		return;
	}
	const struct rp_blockcache_ent *be = block_info(r, addr, size);
	uint32_t v = be->ninsn;
	uint32_t n = BC_COUNT(v);
	uint64_t target = r->run_target;
	/* breakpoints inside this block become the stop target */
	if (r->bp_check) {
		for (uint32_t i = 0; i < r->nstops; i++) {
			const struct strand_stop *s = &r->stops[i];
			if (s->kind != STRAND_STOP_BREAK || !s->enabled ||
			    s->addr < addr || s->addr >= addr + size)
				continue;
			int64_t j = insn_index(r, addr, size, s->addr);
			if (j < 0)
				continue;
			uint64_t hp = r->pos + (uint64_t)j;
			if (hp < r->hit_min || hp > target)
				continue;
			if (hp < r->bp_hit_pos || r->bp_hit_pos == UINT64_MAX) {
				r->bp_hit_pos = hp;
				r->bp_hit_addr = s->addr;
				r->bp_hit_id = s->id;
			}
			target = hp;
			r->run_target = hp;
		}
	}
	/* step out: a block ending in ret (call) stops before the ret (call) */
	if ((r->ret_check && BC_LAST(v) == 2) || (r->call_check && BC_LAST(v) == 1)) {
		uint64_t hp = r->pos + n - 1;
		if (hp >= r->hit_min && hp <= target) {
			if (r->bp_hit_pos == UINT64_MAX || hp < r->bp_hit_pos) {
				r->bp_hit_pos = hp;
				r->bp_hit_addr = 0;
				r->bp_hit_id = 0;
			}
			target = hp;
			r->run_target = hp;
		}
	}
	uint32_t sens = BC_SENS(v);
	/* an event that may be applied inline only is, when its syscall is
	 * the last instruction of this block; anywhere else in the block
	 * it is a stop like any event (and checked there) */
	if (r->next_inline && r->next) {
		uint64_t ep = r->next->position;
		if (ep < r->pos + n && ep < target && !(sens == n && ep == r->pos + n - 1)) {
			target = ep < r->pos ? r->pos : ep;
			r->run_target = target;
		}
	}
	bool crosses = r->pos + n > target || r->pos >= target;
	/* a call/ret that ended the previous block has completed, whether or
	 * not this block runs now */
	if (r->observing && r->n_call_obs && r->last_blk_kind)
		fire_callret(r, addr);
	if (crosses && !r->code_hook_on) {
		/* the block would cross the stop: stop before it runs; an
		 * unexpected sensitive instruction before the stop is caught
		 * here, before it executes */
		if (sens && r->pos + (sens - 1) < target) {
			r->fault = RP_FAULT_SYSCALL;
			r->fault_pc = sens_pc(r, be, addr);
			r->fault_addr = r->pos + (sens - 1);
		}
		r->hook_stopped = true;
		uc_emu_stop(uc);
		return;
	}
	if (r->code_hook_on) {
		/* with a code hook, a stop requested here does not keep the
		 * block from running (measured): the code hook stops exactly
		 * at the target instead */
		if (crosses && target < r->code_stop)
			r->code_stop = target;
		if (sens && r->pos + (sens - 1) < target &&
		    r->pos + (sens - 1) <= r->code_stop) {
			r->fault_pending = true;
			r->code_stop = r->pos + (sens - 1);
		}
	} else if (sens) {
		uint64_t sp = r->pos + (sens - 1);
		if (sens == n && r->next_inline && r->next && r->next->position == sp) {
			/* the next event's syscall ends this block: applied
			 * from the syscall hook, without stopping */
			r->inline_armed = true;
			r->inline_pos = sp;
			r->inline_pc = sens_pc(r, be, addr);
		} else {
			r->fault = RP_FAULT_SYSCALL;
			r->fault_pc = sens_pc(r, be, addr);
			r->fault_addr = sp;
			r->hook_stopped = true;
			uc_emu_stop(uc);
			return;
		}
	}
	if (r->observing) {
		if (r->n_block_obs && r->pos >= r->frontier)
			for (uint32_t i = 0; i < r->nobs; i++)
				if (r->obs[i].kind == RP_OBS_BLOCK)
					((strand_block_cb)r->obs[i].cb)(r, r->obs[i].ud,
									 r->pos, addr, size);
		if (r->n_call_obs && BC_LAST(v) && !crosses && r->pos + n > r->frontier) {
			/* remember the call/ret ending this block; it is
			 * reported when the next block starts */
			r->last_blk_kind = BC_LAST(v);
			r->last_blk_pos = r->pos + n - 1;
			r->last_blk_indirect = BC_INDIRECT(v);
			if (be->last_len) {
				r->last_blk_pc = addr + be->last_off;
				r->last_blk_next = r->last_blk_pc + be->last_len;
			} else {
				uint64_t lastpc = advance_insns(r, addr, n - 1);
				ZydisDecodedInstruction ins;
				r->last_blk_pc = lastpc;
				r->last_blk_next = rp_decode(r, lastpc, &ins, NULL) ?
							   lastpc + ins.length : 0;
			}
		}
	}
	r->blk_pos = r->pos;
	r->blk_idx = 0;
	r->blk_addr = addr;
	r->pos += n;
}

static void hook_code(uc_engine *uc, uint64_t addr, uint32_t size, void *ud)
{
	struct strand_replay *r = ud;
	uint64_t p;
	if (r->finishing)
		p = r->fin_pos + r->blk_idx;
	else
		p = r->blk_pos + r->blk_idx;
	if (!r->finishing && p == r->code_stop) {
		/* exact stop before the instruction at the target */
		r->pos = p;
		r->hook_stopped = true;
		if (r->fault_pending) {
			r->fault = RP_FAULT_SYSCALL;
			r->fault_pc = addr;
			r->fault_addr = p;
		}
		uc_emu_stop(uc);
		return;
	}
	r->blk_idx++;
	r->insn_pos = p;
	if (!r->observing || !r->n_insn_obs || p < r->frontier)
		return;
	for (uint32_t i = 0; i < r->nobs; i++)
		if (r->obs[i].kind == RP_OBS_INSN)
			((strand_insn_cb)r->obs[i].cb)(r, r->obs[i].ud, p, addr, size);
}

static void hook_mem(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
		     int64_t value, void *ud)
{
	struct strand_replay *r = ud;
	bool is_write = type == UC_MEM_WRITE;
	uint64_t p = r->insn_pos;
	if (r->watch_check) {
		for (uint32_t i = 0; i < r->nstops; i++) {
			const struct strand_stop *s = &r->stops[i];
			if (s->kind != STRAND_STOP_WATCH || !s->enabled)
				continue;
			if (!(s->access & (is_write ? STRAND_WATCH_WRITE : STRAND_WATCH_READ)))
				continue;
			if (addr + (uint64_t)size <= s->addr || addr >= s->addr + s->len)
				continue;
			if (p + 1 < r->hit_min)
				continue;
			if (r->watch_hit_pos == UINT64_MAX || p + 1 < r->watch_hit_pos) {
				r->watch_hit_pos = p + 1;
				r->watch_hit.stop_id = s->id;
				r->watch_hit.kind = STRAND_STOP_WATCH;
				r->watch_hit.position = p + 1;
				r->watch_hit.addr = addr;
				r->watch_hit.access = is_write ? STRAND_WATCH_WRITE : STRAND_WATCH_READ;
				r->watch_hit.size = (uint32_t)size;
				/* a stop from a memory hook aborts the access
				 * (the instruction does not retire): stop before
				 * the next instruction instead */
				if (p + 1 < r->code_stop)
					r->code_stop = p + 1;
			}
		}
	}
	if (!r->observing || !r->n_mem_obs || p < r->frontier)
		return;
	uint64_t v = 0;
	if (is_write) {
		v = (uint64_t)value;
	} else if (size > 0 && size <= 8) {
		uint8_t b[8] = { 0 };
		guest_peek(r, addr, b, (size_t)size);
		memcpy(&v, b, 8);
	}
	uint64_t pc = 0;
	uc_reg_read(uc, r->mode == UC_MODE_64 ? UC_X86_REG_RIP : UC_X86_REG_EIP, &pc);
	for (uint32_t i = 0; i < r->nobs; i++) {
		const struct rp_observer *o = &r->obs[i];
		if (o->kind != RP_OBS_MEM)
			continue;
		if (!(o->access & (is_write ? STRAND_WATCH_WRITE : STRAND_WATCH_READ)))
			continue;
		((strand_mem_cb)o->cb)(r, o->ud, p, pc, addr, (uint32_t)size, is_write, v);
	}
}

static bool hook_mem_invalid(uc_engine *uc, uc_mem_type type, uint64_t addr,
			     int size, int64_t value, void *ud)
{
	struct strand_replay *r = ud;
	bool prot = type == UC_MEM_WRITE_PROT || type == UC_MEM_READ_PROT ||
		    type == UC_MEM_FETCH_PROT;
	set_fault(r, prot ? RP_FAULT_PROT : RP_FAULT_UNMAPPED, addr);
	r->fault_kind = type;
	return false;
}

static void apply_inline(struct strand_replay *r)
{
	r->inline_armed = false;
	if (!rp_apply_inline(r)) {
		r->fault = RP_FAULT_EVENT;
		r->fault_pc = r->inline_pc;
		r->fault_addr = r->inline_pos;
		uc_emu_stop(r->uc);
	}
}

static void hook_insn_syscall(uc_engine *uc, void *ud)
{
	struct strand_replay *r = ud;
	if (r->inline_armed) {
		apply_inline(r);
		return;
	}
	set_fault(r, RP_FAULT_SYSCALL, 0);
	uc_emu_stop(uc);
}

/* Unicorn 2.0.1 does not sync eip before calling the sysenter helper,
 * which then adds the instruction length to a stale eip (measured: the
 * block's start); put eip on the sysenter first. */
static void hook_insn_sysenter(uc_engine *uc, void *ud)
{
	struct strand_replay *r = ud;
	if (r->inline_armed) {
		rp_set_pc(r, r->inline_pc);
		apply_inline(r);
		return;
	}
	set_fault(r, RP_FAULT_SYSCALL, 0);
	uc_emu_stop(uc);
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *ud)
{
	struct strand_replay *r = ud;
	if (r->inline_armed && (intno == 0x80 || intno == 0x2e)) {
		apply_inline(r);
		return;
	}
	set_fault(r, RP_FAULT_INTR, intno);
	uc_emu_stop(uc);
}

static bool hook_insn_invalid(uc_engine *uc, void *ud)
{
	struct strand_replay *r = ud;
	set_fault(r, RP_FAULT_INVALID, 0);
	return false;
}

/* ===================================================================== */
/* Setup                                                                  */
/* ===================================================================== */

static strand_status uc_fail(strand_error *err, uc_err e, const char *what)
{
	return strand_error_set(err, STRAND_ERR_EMULATOR, "%s: %s", what, uc_strerror(e));
}

strand_status rp_emu_init(struct strand_replay *r, strand_error *err)
{
	bool is64 = r->info.arch == STRAND_ARCH_X86_64;
	r->mode = is64 ? UC_MODE_64 : UC_MODE_32;
	uc_err e = uc_open(UC_ARCH_X86, r->mode, &r->uc);
	if (e != UC_ERR_OK)
		return uc_fail(err, e, "cannot create emulator");
	ZydisDecoderInit(&r->zdec, is64 ? ZYDIS_MACHINE_MODE_LONG_64 : ZYDIS_MACHINE_MODE_LEGACY_32,
			 is64 ? ZYDIS_STACK_WIDTH_64 : ZYDIS_STACK_WIDTH_32);
	r->cs_ok = cs_open(CS_ARCH_X86, is64 ? CS_MODE_64 : CS_MODE_32, &r->cs) == CS_ERR_OK;
	r->bcache = calloc(RP_BLOCKCACHE, sizeof *r->bcache);
	r->bcache_gen = 1;
	if (!r->bcache)
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate block cache");
	e = uc_ctl_exits_enable(r->uc);
	if (e == UC_ERR_OK)
		e = uc_ctl_set_exits(r->uc, NULL, 0);
	if (e == UC_ERR_OK)
		e = uc_hook_add(r->uc, &r->h_block, UC_HOOK_BLOCK, (void *)hook_block, r, 1, 0);
	if (e == UC_ERR_OK)
		e = uc_hook_add(r->uc, &r->h_unmapped, UC_HOOK_MEM_INVALID,
				(void *)hook_mem_invalid, r, 1, 0);
	if (e == UC_ERR_OK)
		e = uc_hook_add(r->uc, &r->h_syscall, UC_HOOK_INSN, (void *)hook_insn_syscall,
				r, 1, 0, UC_X86_INS_SYSCALL);
	if (e == UC_ERR_OK)
		e = uc_hook_add(r->uc, &r->h_sysenter, UC_HOOK_INSN, (void *)hook_insn_sysenter,
				r, 1, 0, UC_X86_INS_SYSENTER);
	if (e == UC_ERR_OK)
		e = uc_hook_add(r->uc, &r->h_intr, UC_HOOK_INTR, (void *)hook_intr, r, 1, 0);
	if (e == UC_ERR_OK)
		e = uc_hook_add(r->uc, &r->h_invalid, UC_HOOK_INSN_INVALID,
				(void *)hook_insn_invalid, r, 1, 0);
	if (e != UC_ERR_OK)
		return uc_fail(err, e, "cannot install emulator hooks");
	return STRAND_OK;
}

/* Drop every translated block, so that code runs with the current hooks
 * or code bytes.  Not uc_ctl_flush_tlb() (tb_flush): in Unicorn 2.0.1 its
 * tcg_region_reset_all() memsets the whole ~1 GB TCG code buffer, which
 * then stays resident (measured: 24 MB -> 1.06 GB RSS per handle on
 * tests/traces/httpssl-nodevice.strand).  Invalidating per region covers
 * every block, since blocks are only translated from mapped regions; it is
 * per region because uc_ctl_remove_cache() translates only the start
 * address (to an offset in that region's RAM block). */
void rp_emu_drop_code(struct strand_replay *r)
{
	for (uint32_t i = 0; i < r->nregions; i++) {
		const struct rp_region *g = &r->regions[i];
		uc_ctl_remove_cache(r->uc, g->addr, g->addr + g->size);
	}
	rp_blockcache_clear(r);
}

strand_status rp_emu_update_hooks(struct strand_replay *r, strand_error *err)
{
	r->bp_check = false;
	r->watch_check = false;
	for (uint32_t i = 0; i < r->nstops; i++) {
		if (!r->stops[i].enabled)
			continue;
		if (r->stops[i].kind == STRAND_STOP_BREAK)
			r->bp_check = true;
		if (r->stops[i].kind == STRAND_STOP_WATCH)
			r->watch_check = true;
	}
	uc_err e = UC_ERR_OK;
	bool need_code = r->n_insn_obs || r->n_mem_obs || r->watch_check;
	if (need_code && !r->code_hook_on) {
		e = uc_hook_add(r->uc, &r->h_code, UC_HOOK_CODE, (void *)hook_code, r, 1, 0);
		if (e != UC_ERR_OK)
			return uc_fail(err, e, "cannot install code hook");
		r->code_hook_on = true;
		rp_emu_drop_code(r); /* retranslate with the hook */
	}
	bool need_mem = r->n_mem_obs || r->watch_check;
	if (need_mem && !r->mem_hook_on) {
		e = uc_hook_add(r->uc, &r->h_mem, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE,
				(void *)hook_mem, r, 1, 0);
		if (e != UC_ERR_OK)
			return uc_fail(err, e, "cannot install memory hook");
		r->mem_hook_on = true;
		rp_emu_drop_code(r);
	}
	return STRAND_OK;
}

void rp_emu_fini(struct strand_replay *r)
{
	if (r->uc)
		uc_close(r->uc);
	r->uc = NULL;
	if (r->cs_ok)
		cs_close(&r->cs);
	r->cs_ok = false;
	free(r->bcache);
	r->bcache = NULL;
}

/* ===================================================================== */
/* Memory                                                                 */
/* ===================================================================== */

struct rp_region *rp_region_find(struct strand_replay *r, uint64_t addr)
{
	uint32_t lo = 0, hi = r->nregions;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct rp_region *g = &r->regions[mid];
		if (addr < g->addr)
			hi = mid;
		else if (addr >= g->addr + g->size)
			lo = mid + 1;
		else
			return g;
	}
	return NULL;
}

static uint32_t prot_to_uc(uint32_t p)
{
	uint32_t u = 0;
	if (p & STRAND_PROT_READ)
		u |= UC_PROT_READ;
	if (p & STRAND_PROT_WRITE)
		u |= UC_PROT_WRITE;
	if (p & STRAND_PROT_EXEC)
		u |= UC_PROT_EXEC;
	return u;
}

static void region_free(struct rp_region *g)
{
	if (g->host)
		munmap(g->host, g->size);
	free(g->name);
	g->host = NULL;
	g->name = NULL;
}

/* Insert a region (host already filled) into Unicorn and the table. */
static strand_status region_insert(struct strand_replay *r, struct rp_region *ng,
				   strand_error *err)
{
	uc_err e = uc_mem_map_ptr(r->uc, ng->addr, ng->size, prot_to_uc(ng->prot), ng->host);
	if (e != UC_ERR_OK)
		return strand_error_set(err, STRAND_ERR_EMULATOR,
					"cannot map region: addr=0x%" PRIx64 " size=0x%" PRIx64 ": %s",
					ng->addr, ng->size, uc_strerror(e));
	if (r->nregions == r->cap_regions) {
		uint32_t cap = r->cap_regions ? r->cap_regions * 2 : 32;
		struct rp_region *p = realloc(r->regions, cap * sizeof *p);
		if (!p) {
			uc_mem_unmap(r->uc, ng->addr, ng->size);
			return strand_error_set(err, STRAND_ERR_NOMEM, "cannot grow region table");
		}
		r->regions = p;
		r->cap_regions = cap;
	}
	uint32_t i = 0;
	while (i < r->nregions && r->regions[i].addr < ng->addr)
		i++;
	memmove(&r->regions[i + 1], &r->regions[i], (r->nregions - i) * sizeof *r->regions);
	r->regions[i] = *ng;
	r->nregions++;
	return STRAND_OK;
}

static void region_remove_at(struct strand_replay *r, uint32_t i, bool free_it)
{
	struct rp_region *g = &r->regions[i];
	/* before the unmap: uc_ctl_remove_cache() finds the blocks through
	 * the address's RAM, and does nothing for an unmapped address (the
	 * stale blocks, translated without the hooks installed since, then
	 * ran again when the same range was mapped later) */
	if (g->prot & STRAND_PROT_EXEC) {
		uc_ctl_remove_cache(r->uc, g->addr, g->addr + g->size);
		rp_blockcache_clear(r);
	}
	uc_mem_unmap(r->uc, g->addr, g->size);
	if (free_it)
		region_free(g);
	memmove(&r->regions[i], &r->regions[i + 1], (r->nregions - i - 1) * sizeof *r->regions);
	r->nregions--;
}

/* Split regions so that addr and addr+size are region boundaries. */
static strand_status split_at(struct strand_replay *r, uint64_t at, strand_error *err)
{
	struct rp_region *g = rp_region_find(r, at);
	if (!g || g->addr == at)
		return STRAND_OK;
	struct rp_region old = *g;
	uint64_t lsize = at - old.addr, rsize = old.size - lsize;
	struct rp_region a = old, b = old;
	a.size = lsize;
	b.addr = at;
	b.size = rsize;
	/* the pages move, they are not copied (mremap moves page tables):
	 * splitting a region of gigabytes costs what it holds, and pages
	 * never touched stay unmaterialised; a is the old mapping's head */
	a.name = strdup(old.name);
	b.name = strdup(old.name);
	if (!a.name || !b.name) {
		free(a.name);
		free(b.name);
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot split region at 0x%" PRIx64, at);
	}
	bool code = (old.prot & STRAND_PROT_EXEC) != 0;
	uint32_t gi = (uint32_t)(g - r->regions);
	/* translated code of the old mapping must not be reused (removed
	 * while still mapped, see region_remove_at; a full TB flush here
	 * cost ~20 ms per mprotect on real traces: it memsets the whole
	 * code buffer) */
	if (code)
		uc_ctl_remove_cache(r->uc, old.addr, old.addr + old.size);
	uc_mem_unmap(r->uc, old.addr, old.size);
	b.host = mremap(old.host + lsize, rsize, rsize, MREMAP_MAYMOVE);
	if (b.host == MAP_FAILED) {
		free(a.name);
		free(b.name);
		uc_mem_map_ptr(r->uc, old.addr, old.size, prot_to_uc(old.prot), old.host);
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot split region at 0x%" PRIx64, at);
	}
	a.host = old.host;
	a.gen = ++r->map_gen;
	b.gen = ++r->map_gen;
	if (code)
		rp_blockcache_clear(r);
	free(old.name);
	memmove(&r->regions[gi], &r->regions[gi + 1], (r->nregions - gi - 1) * sizeof *r->regions);
	r->nregions--;
	strand_status st = region_insert(r, &a, err);
	if (st == STRAND_OK)
		st = region_insert(r, &b, err);
	return st;
}

strand_status rp_map(struct strand_replay *r, uint64_t addr, uint64_t size,
		     uint32_t prot, uint32_t kind, const char *name,
		     const uint8_t *data, strand_error *err)
{
	if ((addr & ~RP_PAGE_MASK) || (size & ~RP_PAGE_MASK) || size == 0 ||
	    addr + size < addr)
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"mapping not page aligned: addr=0x%" PRIx64 " size=0x%" PRIx64,
					addr, size);
	if (r->info.arch == STRAND_ARCH_X86_32 && addr + size > 0x100000000ull)
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"mapping beyond 4 GiB on x86-32: addr=0x%" PRIx64, addr);
	/* a new mapping replaces what was there (mmap MAP_FIXED semantics) */
	strand_status st = rp_unmap(r, addr, size, err);
	if (st != STRAND_OK)
		return st;
	struct rp_region g = { .addr = addr, .size = size, .prot = prot, .kind = kind };
	g.name = strdup(name ? name : "");
	g.host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!g.name || g.host == MAP_FAILED) {
		free(g.name);
		if (g.host != MAP_FAILED)
			munmap(g.host, size);
		return strand_error_set(err, STRAND_ERR_NOMEM,
					"cannot allocate region: size=0x%" PRIx64, size);
	}
	if (data) {
		/* zero pages stay unmaterialised (host memory is zero-filled on
		 * first touch): a recorded region of zeros costs no memory */
		static const uint8_t zero[RP_PAGE];
		for (uint64_t off = 0; off < size; off += RP_PAGE)
			if (memcmp(data + off, zero, RP_PAGE) != 0)
				memcpy(g.host + off, data + off, RP_PAGE);
	}
	g.tracked = (prot & STRAND_PROT_WRITE) != 0;
	g.gen = ++r->map_gen;
	st = region_insert(r, &g, err);
	if (st != STRAND_OK) {
		region_free(&g);
		return st;
	}
	if (prot & STRAND_PROT_EXEC)
		rp_blockcache_clear(r);
	return STRAND_OK;
}

strand_status rp_unmap(struct strand_replay *r, uint64_t addr, uint64_t size,
		       strand_error *err)
{
	strand_status st = split_at(r, addr, err);
	if (st == STRAND_OK)
		st = split_at(r, addr + size, err);
	if (st != STRAND_OK)
		return st;
	for (uint32_t i = 0; i < r->nregions;) {
		struct rp_region *g = &r->regions[i];
		if (g->addr >= addr && g->addr + g->size <= addr + size)
			region_remove_at(r, i, true);
		else
			i++;
	}
	return STRAND_OK;
}

strand_status rp_protect(struct strand_replay *r, uint64_t addr, uint64_t size,
			 uint32_t prot, strand_error *err)
{
	/* nothing to do if every mapped page in the range has `prot` */
	bool same = true;
	for (uint32_t i = 0; i < r->nregions && same; i++) {
		const struct rp_region *g = &r->regions[i];
		if (g->addr < addr + size && g->addr + g->size > addr && g->prot != prot)
			same = false;
	}
	if (same)
		return STRAND_OK;
	strand_status st = split_at(r, addr, err);
	if (st == STRAND_OK)
		st = split_at(r, addr + size, err);
	if (st != STRAND_OK)
		return st;
	for (uint32_t i = 0; i < r->nregions; i++) {
		struct rp_region *g = &r->regions[i];
		if (g->addr >= addr && g->addr + g->size <= addr + size) {
			uc_err e = uc_mem_protect(r->uc, g->addr, g->size, prot_to_uc(prot));
			if (e != UC_ERR_OK)
				return strand_error_set(err, STRAND_ERR_EMULATOR,
							"cannot protect 0x%" PRIx64 ": %s", g->addr,
							uc_strerror(e));
			g->prot = prot;
			if (prot & STRAND_PROT_WRITE)
				g->tracked = true;
		}
	}
	rp_blockcache_clear(r);
	return STRAND_OK;
}

strand_status rp_write(struct strand_replay *r, uint64_t addr, const uint8_t *data,
		       uint64_t len, strand_error *err)
{
	uint64_t done = 0;
	bool code = false;
	while (done < len) {
		struct rp_region *g = rp_region_find(r, addr + done);
		if (!g)
			return strand_error_set(err, STRAND_ERR_DIVERGENCE,
						"event writes unmapped memory: addr=0x%" PRIx64,
						addr + done);
		uint64_t off = addr + done - g->addr;
		uint64_t n = g->size - off;
		if (n > len - done)
			n = len - done;
		memcpy(g->host + off, data + done, n);
		g->tracked = true;
		if (g->prot & STRAND_PROT_EXEC)
			code = true;
		done += n;
	}
	if (code && len) {
		uc_ctl_remove_cache(r->uc, addr, addr + len);
		rp_blockcache_clear(r);
	}
	return STRAND_OK;
}

/* ===================================================================== */
/* Registers                                                              */
/* ===================================================================== */

static const int gpr64[16] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};
static const int gpr32[8] = {
	UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
	UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI,
};
static const int segregs[STRAND_SEG_COUNT] = {
	UC_X86_REG_ES, UC_X86_REG_CS, UC_X86_REG_SS,
	UC_X86_REG_DS, UC_X86_REG_FS, UC_X86_REG_GS,
};

uint64_t rp_pc(struct strand_replay *r)
{
	uint64_t pc = 0;
	if (r->mode == UC_MODE_64) {
		uc_reg_read(r->uc, UC_X86_REG_RIP, &pc);
	} else {
		uint32_t e = 0;
		uc_reg_read(r->uc, UC_X86_REG_EIP, &e);
		pc = e;
	}
	return pc;
}

uint64_t rp_gpr(struct strand_replay *r, unsigned i)
{
	uint64_t v = 0;
	if (r->mode == UC_MODE_64) {
		if (i < 16)
			uc_reg_read(r->uc, gpr64[i], &v);
	} else if (i < 8) {
		uint32_t w = 0;
		uc_reg_read(r->uc, gpr32[i], &w);
		v = w;
	}
	return v;
}

unsigned rp_gprs(struct strand_replay *r, uint64_t out[16])
{
	void *ptrs[16];
	if (r->mode == UC_MODE_64) {
		for (int i = 0; i < 16; i++)
			out[i] = 0, ptrs[i] = &out[i];
		uc_reg_read_batch(r->uc, (int *)gpr64, ptrs, 16);
		return 16;
	}
	uint32_t w[8] = { 0 };
	for (int i = 0; i < 8; i++)
		ptrs[i] = &w[i];
	uc_reg_read_batch(r->uc, (int *)gpr32, ptrs, 8);
	for (int i = 0; i < 8; i++)
		out[i] = w[i];
	return 8;
}

void rp_set_pc(struct strand_replay *r, uint64_t pc)
{
	if (r->mode == UC_MODE_64) {
		uc_reg_write(r->uc, UC_X86_REG_RIP, &pc);
	} else {
		uint32_t e = (uint32_t)pc;
		uc_reg_write(r->uc, UC_X86_REG_EIP, &e);
	}
}

/* Read/write a register from Unicorn or from a saved context. */
static void reg_rd(struct strand_replay *r, uc_context *ctx, int reg, void *v)
{
	if (ctx)
		uc_context_reg_read(ctx, reg, v);
	else
		uc_reg_read(r->uc, reg, v);
}

static void cpu_read_from(struct strand_replay *r, uc_context *ctx, uint32_t ti,
			  struct strand_cpu *out)
{
	memset(out, 0, sizeof *out);
	const struct rp_thread *t = &r->threads[ti];
	if (r->mode == UC_MODE_64) {
		for (int i = 0; i < 16; i++)
			reg_rd(r, ctx, gpr64[i], &out->gpr[i]);
		reg_rd(r, ctx, UC_X86_REG_RIP, &out->rip);
		reg_rd(r, ctx, UC_X86_REG_RFLAGS, &out->rflags);
		reg_rd(r, ctx, UC_X86_REG_FS_BASE, &out->fs_base);
		reg_rd(r, ctx, UC_X86_REG_GS_BASE, &out->gs_base);
	} else {
		uint32_t v;
		for (int i = 0; i < 8; i++) {
			v = 0;
			reg_rd(r, ctx, gpr32[i], &v);
			out->gpr[i] = v;
		}
		v = 0;
		reg_rd(r, ctx, UC_X86_REG_EIP, &v);
		out->rip = v;
		v = 0;
		reg_rd(r, ctx, UC_X86_REG_EFLAGS, &v);
		out->rflags = v;
		out->fs_base = t->fs_base;
		out->gs_base = t->gs_base;
	}
	out->gdt_base = t->init.gdt_base;
	out->gdt_limit = t->init.gdt_limit;
	bool have_gdt = r->mode == UC_MODE_32 && t->init.gdt_base;
	for (int s = 0; s < STRAND_SEG_COUNT; s++) {
		if (have_gdt) {
			uint32_t v = 0;
			reg_rd(r, ctx, segregs[s], &v);
			out->sel[s] = (uint16_t)v;
		} else {
			out->sel[s] = t->sel[s];
		}
	}
	/* x87/SSE in FXSAVE layout */
	uint16_t fcw = 0, fsw = 0, ftw = 0;
	uint32_t mxcsr = 0;
	reg_rd(r, ctx, UC_X86_REG_FPCW, &fcw);
	reg_rd(r, ctx, UC_X86_REG_FPSW, &fsw);
	reg_rd(r, ctx, UC_X86_REG_FPTAG, &ftw);
	reg_rd(r, ctx, UC_X86_REG_MXCSR, &mxcsr);
	uint8_t aftw = 0;
	for (int i = 0; i < 8; i++)
		if (((ftw >> (2 * i)) & 3) != 3)
			aftw |= (uint8_t)(1u << i);
	memcpy(out->fxsave + 0, &fcw, 2);
	memcpy(out->fxsave + 2, &fsw, 2);
	out->fxsave[4] = aftw;
	memcpy(out->fxsave + 24, &mxcsr, 4);
	uint32_t mxmask = 0xffff;
	memcpy(out->fxsave + 28, &mxmask, 4);
	for (int i = 0; i < 8; i++) {
		uint8_t st[16] = { 0 };
		reg_rd(r, ctx, UC_X86_REG_ST0 + i, st);
		memcpy(out->fxsave + 32 + 16 * i, st, 10);
	}
	int nx = r->mode == UC_MODE_64 ? 16 : 8;
	for (int i = 0; i < nx; i++)
		reg_rd(r, ctx, UC_X86_REG_XMM0 + i, out->fxsave + 160 + 16 * i);
}

void rp_cpu_read(struct strand_replay *r, struct strand_cpu *out)
{
	cpu_read_from(r, NULL, r->cur, out);
}

void rp_thread_cpu(struct strand_replay *r, uint32_t ti, struct strand_cpu *out)
{
	const struct rp_thread *t = &r->threads[ti];
	if (ti == r->cur)
		cpu_read_from(r, NULL, ti, out);
	else if (t->has_ctx)
		cpu_read_from(r, t->ctx, ti, out);
	else
		*out = t->init;
}

/* Can Unicorn load selector `sel` outside emulation without faulting?
 * Outside uc_emu_start a fault while reading (or setting the accessed bit
 * of) a descriptor longjmps to nowhere and kills the process, so every
 * descriptor is checked here first, from the GDTR Unicorn will use: within
 * the limit, its 8 bytes in mapped readable guest memory, present, and
 * either writable memory or the accessed bit already set.  Null selectors
 * read no descriptor; LDT selectors are refused (the emulator has no LDT).
 * On false, *why says what is wrong (static string). */
static bool seg_loadable(struct strand_replay *r, uint16_t sel, const char **why)
{
	if ((sel & ~3u) == 0)
		return true;
	if (sel & 4) {
		*why = "LDT selector (no LDT in replay)";
		return false;
	}
	uc_x86_mmr gdtr = { 0 };
	if (uc_reg_read(r->uc, UC_X86_REG_GDTR, &gdtr) != UC_ERR_OK) {
		*why = "cannot read GDTR";
		return false;
	}
	uint64_t off = (uint64_t)(sel >> 3) * 8;
	if (off + 7 > gdtr.limit) {
		*why = "beyond the GDT limit";
		return false;
	}
	uint64_t da = (gdtr.base + off) & (r->mode == UC_MODE_64 ? UINT64_MAX : 0xffffffffu);
	uint8_t d[8];
	bool writable = true;
	for (uint64_t i = 0; i < 8; i++) {
		struct rp_region *g = rp_region_find(r, da + i);
		if (!g || da + i < da || !(g->prot & STRAND_PROT_READ)) {
			*why = "descriptor not in readable guest memory";
			return false;
		}
		if (!(g->prot & STRAND_PROT_WRITE))
			writable = false;
		d[i] = g->host[da + i - g->addr];
	}
	if (!(d[5] & 0x80)) {
		*why = "descriptor not present";
		return false;
	}
	if (!writable && !(d[5] & 0x01)) {
		*why = "descriptor in read-only memory without the accessed bit";
		return false;
	}
	return true;
}

/* Load selector `sel` into segment register index `seg` of the running
 * thread, after seg_loadable().  Returns STRAND_ERR_CORRUPT naming the
 * thread and selector when the descriptor cannot be loaded safely. */
static strand_status seg_load(struct strand_replay *r, uint32_t ti, int seg, uint16_t sel,
			      strand_error *err)
{
	const char *why = "";
	if (!seg_loadable(r, sel, &why))
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"thread tid=%u: cannot load %s=0x%x: %s", r->threads[ti].tid,
					strand_reg_name(STRAND_REG_ES + (unsigned)seg), sel, why);
	uint32_t v = sel;
	uc_err e = uc_reg_write(r->uc, segregs[seg], &v);
	if (e != UC_ERR_OK)
		return strand_error_set(err, STRAND_ERR_EMULATOR,
					"thread tid=%u: cannot load %s=0x%x: %s", r->threads[ti].tid,
					strand_reg_name(STRAND_REG_ES + (unsigned)seg), sel,
					uc_strerror(e));
	return STRAND_OK;
}

strand_status rp_apply_seg_bases(struct strand_replay *r, uint32_t ti,
				 strand_error *err)
{
	struct rp_thread *t = &r->threads[ti];
	if (r->mode != UC_MODE_32 || !t->init.gdt_base)
		return STRAND_OK;
	const int which[2] = { STRAND_SEG_FS, STRAND_SEG_GS };
	const uint64_t base[2] = { t->fs_base, t->gs_base };
	for (int k = 0; k < 2; k++) {
		uint16_t sel = t->sel[which[k]];
		if ((sel & ~3u) == 0 || (sel & 4)) {
			if (ti == r->cur && (sel & ~3u) == 0) {
				uint32_t v = sel;
				uc_reg_write(r->uc, segregs[which[k]], &v);
			}
			continue; /* null selector, or LDT: kept as recorded */
		}
		uint64_t da = t->init.gdt_base + (uint64_t)(sel >> 3) * 8;
		if ((uint64_t)(sel >> 3) * 8 + 7 > t->init.gdt_limit)
			return strand_error_set(err, STRAND_ERR_CORRUPT,
						"thread tid=%u: selector 0x%x beyond GDT limit 0x%x",
						t->tid, sel, t->init.gdt_limit);
		uint8_t d[8];
		if (guest_peek(r, da, d, 8) != 8)
			return strand_error_set(err, STRAND_ERR_CORRUPT,
						"thread tid=%u: GDT entry at 0x%" PRIx64 " unmapped",
						t->tid, da);
		uint32_t b = (uint32_t)base[k];
		d[2] = (uint8_t)b;
		d[3] = (uint8_t)(b >> 8);
		d[4] = (uint8_t)(b >> 16);
		d[7] = (uint8_t)(b >> 24);
		strand_status st = rp_write(r, da, d, 8, err);
		if (st != STRAND_OK)
			return st;
		if (ti == r->cur && (st = seg_load(r, ti, which[k], sel, err)) != STRAND_OK)
			return st;
	}
	return STRAND_OK;
}

strand_status rp_cpu_write(struct strand_replay *r, uint32_t ti,
			   const struct strand_cpu *c, strand_error *err)
{
	struct rp_thread *t = &r->threads[ti];
	memcpy(t->sel, c->sel, sizeof t->sel);
	t->fs_base = c->fs_base;
	t->gs_base = c->gs_base;
	if (c->gdt_base) {
		t->init.gdt_base = c->gdt_base;
		t->init.gdt_limit = c->gdt_limit;
	}
	if (ti != r->cur) {
		/* not running: becomes its pending context */
		t->init = *c;
		t->has_ctx = false;
		return STRAND_OK;
	}
	uc_err e = UC_ERR_OK;
	if (r->mode == UC_MODE_64) {
		for (int i = 0; i < 16 && !e; i++)
			e = uc_reg_write(r->uc, gpr64[i], &c->gpr[i]);
		if (!e)
			e = uc_reg_write(r->uc, UC_X86_REG_RIP, &c->rip);
		if (!e)
			e = uc_reg_write(r->uc, UC_X86_REG_RFLAGS, &c->rflags);
		if (!e)
			e = uc_reg_write(r->uc, UC_X86_REG_FS_BASE, &c->fs_base);
		if (!e)
			e = uc_reg_write(r->uc, UC_X86_REG_GS_BASE, &c->gs_base);
	} else {
		for (int i = 0; i < 8 && !e; i++) {
			uint32_t v = (uint32_t)c->gpr[i];
			e = uc_reg_write(r->uc, gpr32[i], &v);
		}
		uint32_t v = (uint32_t)c->rip;
		if (!e)
			e = uc_reg_write(r->uc, UC_X86_REG_EIP, &v);
		v = (uint32_t)c->rflags;
		if (!e)
			e = uc_reg_write(r->uc, UC_X86_REG_EFLAGS, &v);
		if (!e && c->gdt_base) {
			uc_x86_mmr gdtr = { .base = c->gdt_base, .limit = c->gdt_limit };
			e = uc_reg_write(r->uc, UC_X86_REG_GDTR, &gdtr);
			/* the order and the tolerance of the Windows recorder
			 * (record/winemu): ES CS SS DS, a selector Unicorn refuses
			 * is left as it was; FS and GS follow in
			 * rp_apply_seg_bases().  Key frames compare selectors. */
			for (int i = 0; i < 4 && !e; i++) {
				uint32_t s = c->sel[i];
				const char *why;
				if (seg_loadable(r, c->sel[i], &why))
					uc_reg_write(r->uc, segregs[i], &s);
			}
		}
	}
	if (e != UC_ERR_OK)
		return strand_error_set(err, STRAND_ERR_EMULATOR,
					"cannot load thread context tid=%u: %s", t->tid,
					uc_strerror(e));
	/* x87/SSE */
	uint16_t fcw, fsw;
	uint32_t mxcsr;
	memcpy(&fcw, c->fxsave + 0, 2);
	memcpy(&fsw, c->fxsave + 2, 2);
	memcpy(&mxcsr, c->fxsave + 24, 4);
	if (fcw == 0 && mxcsr == 0) {
		fcw = 0x37f; /* an all-zero area means "not recorded": defaults */
		mxcsr = 0x1f80;
	}
	uint16_t ftw = 0;
	for (int i = 0; i < 8; i++)
		if (!(c->fxsave[4] & (1u << i)))
			ftw |= (uint16_t)(3u << (2 * i));
	uc_reg_write(r->uc, UC_X86_REG_FPCW, &fcw);
	uc_reg_write(r->uc, UC_X86_REG_FPSW, &fsw);
	uc_reg_write(r->uc, UC_X86_REG_FPTAG, &ftw);
	uc_reg_write(r->uc, UC_X86_REG_MXCSR, &mxcsr);
	for (int i = 0; i < 8; i++) {
		uint8_t st[16] = { 0 };
		memcpy(st, c->fxsave + 32 + 16 * i, 10);
		uc_reg_write(r->uc, UC_X86_REG_ST0 + i, st);
	}
	int nx = r->mode == UC_MODE_64 ? 16 : 8;
	for (int i = 0; i < nx; i++)
		uc_reg_write(r->uc, UC_X86_REG_XMM0 + i, c->fxsave + 160 + 16 * i);
	return rp_apply_seg_bases(r, ti, err);
}

strand_status rp_reg_set(struct strand_replay *r, uint32_t reg, uint64_t v,
			 strand_error *err)
{
	struct rp_thread *t = &r->threads[r->cur];
	if (reg >= STRAND_REG_COUNT || (r->mode == UC_MODE_32 && reg >= 8 && reg < 16))
		return strand_error_set(err, STRAND_ERR_CORRUPT, "bad register %u in delta", reg);
	if (reg >= STRAND_REG_ES && reg <= STRAND_REG_GS) {
		t->sel[reg - STRAND_REG_ES] = (uint16_t)v;
		if (r->mode == UC_MODE_32 && t->init.gdt_base) {
			const char *why;
			if (!seg_loadable(r, (uint16_t)v, &why))
				return strand_error_set(err, STRAND_ERR_CORRUPT,
							"thread tid=%u: cannot load %s=0x%x: %s",
							t->tid, strand_reg_name(reg), (unsigned)(uint16_t)v, why);
			uint32_t s = (uint32_t)v;
			uc_reg_write(r->uc, segregs[reg - STRAND_REG_ES], &s);
		}
		return STRAND_OK;
	}
	if (reg == STRAND_REG_FS_BASE || reg == STRAND_REG_GS_BASE) {
		if (reg == STRAND_REG_FS_BASE)
			t->fs_base = v;
		else
			t->gs_base = v;
		if (r->mode == UC_MODE_64) {
			uc_reg_write(r->uc, reg == STRAND_REG_FS_BASE ? UC_X86_REG_FS_BASE
								      : UC_X86_REG_GS_BASE, &v);
			return STRAND_OK;
		}
		return rp_apply_seg_bases(r, r->cur, err);
	}
	int ureg;
	if (reg < 16)
		ureg = r->mode == UC_MODE_64 ? gpr64[reg] : gpr32[reg];
	else if (reg == STRAND_REG_RIP)
		ureg = r->mode == UC_MODE_64 ? UC_X86_REG_RIP : UC_X86_REG_EIP;
	else
		ureg = r->mode == UC_MODE_64 ? UC_X86_REG_RFLAGS : UC_X86_REG_EFLAGS;
	uc_err e;
	if (r->mode == UC_MODE_64) {
		e = uc_reg_write(r->uc, ureg, &v);
	} else {
		uint32_t w = (uint32_t)v;
		e = uc_reg_write(r->uc, ureg, &w);
	}
	if (e != UC_ERR_OK)
		return strand_error_set(err, STRAND_ERR_EMULATOR, "cannot set %s: %s",
					strand_reg_name(reg), uc_strerror(e));
	return STRAND_OK;
}

/* ===================================================================== */
/* Running                                                                */
/* ===================================================================== */

static const char *fault_str(int f)
{
	switch (f) {
	case RP_FAULT_UNMAPPED: return "access to unmapped memory";
	case RP_FAULT_PROT: return "memory protection fault";
	case RP_FAULT_INVALID: return "invalid instruction";
	case RP_FAULT_SYSCALL: return "unrecorded kernel transition or nondeterministic instruction";
	case RP_FAULT_INTR: return "unrecorded interrupt";
	default: return "emulator stopped unexpectedly";
	}
}

static strand_status fault_error(struct strand_replay *r, uint64_t pos, strand_error *err)
{
	char where[256];
	rp_describe_pc(r, r->fault_pc, where, sizeof where);
	if (r->fault == RP_FAULT_UNMAPPED || r->fault == RP_FAULT_PROT)
		return strand_error_set(err, STRAND_ERR_DIVERGENCE,
					"divergence at position %" PRIu64 ": %s at 0x%" PRIx64
					" by %s",
					pos, fault_str(r->fault), r->fault_addr, where);
	if (r->fault == RP_FAULT_INTR)
		return strand_error_set(err, STRAND_ERR_DIVERGENCE,
					"divergence at position %" PRIu64 ": %s (vector %" PRIu64
					") at %s",
					pos, fault_str(r->fault), r->fault_addr, where);
	return strand_error_set(err, STRAND_ERR_DIVERGENCE,
				"divergence at position %" PRIu64 ": %s at %s", pos,
				fault_str(r->fault), where);
}

/* Position of the instruction at pc when a run stopped inside a block. */
static uint64_t pos_in_block(struct strand_replay *r, uint64_t pc)
{
	int64_t j = insn_index(r, r->blk_addr, 4096, pc);
	return j < 0 ? r->blk_pos : r->blk_pos + (uint64_t)j;
}

/* Exits: the event exit (pc of the next consuming event, so execution
 * stops right there without a last stretch) plus an optional extra one. */
static void set_exits(struct strand_replay *r, uint64_t extra)
{
	uint64_t ex[2];
	size_t n = 0;
	if (r->ev_exit)
		ex[n++] = r->ev_exit;
	if (extra && extra != r->ev_exit)
		ex[n++] = extra;
	uc_ctl_set_exits(r->uc, n ? ex : NULL, n);
}

void rp_set_event_exit(struct strand_replay *r, uint64_t pc)
{
	if (pc == r->ev_exit)
		return;
	uint64_t old = r->ev_exit;
	r->ev_exit = pc;
	set_exits(r, 0);
	if (old)
		uc_ctl_remove_cache(r->uc, old, old + 1);
	if (pc)
		uc_ctl_remove_cache(r->uc, pc, pc + 1);
}

/* Run the first k instructions of the straight-line code at pc. */
static uc_err run_stretch(struct strand_replay *r, uint64_t pc, uint64_t k)
{
	uint64_t tgt = advance_insns(r, pc, k);
	set_exits(r, tgt);
	uc_ctl_remove_cache(r->uc, tgt, tgt + 1);
	r->finishing = true;
	r->fin_pos = r->pos;
	r->blk_idx = 0;
	r->blk_pos = r->pos;
	r->blk_addr = pc;
	uc_err e = uc_emu_start(r->uc, pc, 0, 0, 0);
	r->finishing = false;
	set_exits(r, 0);
	uc_ctl_remove_cache(r->uc, tgt, tgt + 1);
	if (e == UC_ERR_OK && !r->fault && r->watch_hit_pos == UINT64_MAX) {
		uint64_t now = rp_pc(r);
		if (now != tgt)
			r->fault = RP_FAULT_EMU, r->fault_pc = now;
	}
	return e;
}

strand_status rp_emu_run_to(struct strand_replay *r, uint64_t target, strand_error *err)
{
	r->bp_hit_pos = UINT64_MAX;
	r->watch_hit_pos = UINT64_MAX;
	r->run_goal = target;
	r->run_target = target; /* only lowered from here: breakpoints, inline
				   events that reveal the next stop */
	r->inline_armed = false;
	while (r->pos < r->run_target) {
		r->hook_stopped = false;
		r->fault = 0;
		r->fault_pending = false;
		r->code_stop = UINT64_MAX;
		uint64_t start_pos = r->pos;
		uint64_t pc = rp_pc(r);
		r->blk_pos = r->pos;
		r->blk_addr = pc;
		r->blk_idx = 0;
		uc_err e = uc_emu_start(r->uc, pc, 0, 0, 0);
		if (r->watch_hit_pos != UINT64_MAX && !r->fault) {
			/* stopped right after the accessing instruction */
			r->pos = r->watch_hit_pos;
			r->stats.instructions += r->pos - start_pos;
			return STRAND_STOPPED;
		}
		r->stats.instructions += r->pos - start_pos;
		if (r->fault == RP_FAULT_EVENT) {
			if (err)
				*err = r->inline_err;
			return r->inline_err.status;
		}
		if (r->fault) {
			uint64_t fp = r->fault == RP_FAULT_SYSCALL && r->hook_stopped
				? r->fault_addr : pos_in_block(r, r->fault_pc);
			r->pos = r->hook_stopped ? r->pos : fp;
			return fault_error(r, fp, err);
		}
		if (e != UC_ERR_OK) {
			r->fault = RP_FAULT_EMU;
			r->fault_pc = rp_pc(r);
			uint64_t fp = pos_in_block(r, r->fault_pc);
			return strand_error_set(err, STRAND_ERR_DIVERGENCE,
						"divergence at position %" PRIu64 ": emulator error: %s at pc=0x%" PRIx64,
						fp, uc_strerror(e), r->fault_pc);
		}
		if (!r->hook_stopped && r->ev_exit && rp_pc(r) == r->ev_exit) {
			if (r->pos == r->run_target)
				break; /* at the consuming event's instruction */
			r->fault = RP_FAULT_SYSCALL;
			r->fault_pc = r->ev_exit;
			return fault_error(r, r->pos, err);
		}
		if (!r->hook_stopped) {
			r->fault = RP_FAULT_EMU;
			r->fault_pc = rp_pc(r);
			return fault_error(r, pos_in_block(r, r->fault_pc), err);
		}
		uint64_t stop = r->run_target;
		if (r->pos < stop) {
			uint64_t k = stop - r->pos;
			pc = rp_pc(r);
			e = run_stretch(r, pc, k);
			if (r->fault == RP_FAULT_EVENT) {
				if (err)
					*err = r->inline_err;
				return r->inline_err.status;
			}
			if (r->fault) {
				uint64_t fp = r->fin_pos + (r->blk_idx ? r->blk_idx - 1 : 0);
				return fault_error(r, fp, err);
			}
			if (r->watch_hit_pos != UINT64_MAX) {
				r->stats.instructions += r->watch_hit_pos - r->pos;
				r->pos = r->watch_hit_pos;
				return STRAND_STOPPED;
			}
			if (e != UC_ERR_OK)
				return strand_error_set(err, STRAND_ERR_EMULATOR,
							"emulator error at position %" PRIu64 ": %s",
							r->pos, uc_strerror(e));
			r->stats.instructions += k;
			r->pos = stop;
		}
		if (r->bp_hit_pos != UINT64_MAX && r->pos == r->bp_hit_pos)
			return STRAND_STOPPED;
	}
	if (r->bp_hit_pos != UINT64_MAX && r->pos == r->bp_hit_pos)
		return STRAND_STOPPED;
	return STRAND_OK;
}

strand_status rp_emu_run_to_pc(struct strand_replay *r, uint64_t pc, strand_error *err)
{
	if (rp_pc(r) == pc)
		return STRAND_OK;
	r->bp_hit_pos = UINT64_MAX;
	r->watch_hit_pos = UINT64_MAX;
	/* the instruction budget bounds a search whose end the trace does not
	 * say (finalize of an ordinal trace: a `jmp $` never reaches pc) */
	r->run_target = r->max_insns ? r->max_insns : UINT64_MAX;
	r->hook_stopped = false;
	r->fault = 0;
	r->fault_pending = false;
	r->code_stop = UINT64_MAX;
	uint64_t start_pos = r->pos;
	uint64_t cur = rp_pc(r);
	r->blk_pos = r->pos;
	r->blk_addr = cur;
	r->blk_idx = 0;
	set_exits(r, pc);
	uc_ctl_remove_cache(r->uc, pc, pc + 1);
	uc_err e = uc_emu_start(r->uc, cur, 0, 0, 0);
	set_exits(r, 0);
	uc_ctl_remove_cache(r->uc, pc, pc + 1);
	r->stats.instructions += r->pos - start_pos;
	if (r->fault) {
		uint64_t fp = r->fault == RP_FAULT_SYSCALL && r->hook_stopped
			? r->fault_addr : pos_in_block(r, r->fault_pc);
		return fault_error(r, fp, err);
	}
	if (r->hook_stopped && rp_pc(r) != pc && r->run_target != UINT64_MAX)
		return strand_error_set(err, STRAND_ERR_LIMIT,
					"execution did not reach pc=0x%" PRIx64 " within the budget of %"
					PRIu64 " instructions (--max-instructions)", pc, r->run_target);
	if (e != UC_ERR_OK)
		return strand_error_set(err, STRAND_ERR_DIVERGENCE,
					"divergence at position %" PRIu64 ": emulator error: %s at pc=0x%" PRIx64,
					pos_in_block(r, rp_pc(r)), uc_strerror(e), rp_pc(r));
	if (rp_pc(r) != pc) {
		r->fault = RP_FAULT_EMU;
		r->fault_pc = rp_pc(r);
		return fault_error(r, pos_in_block(r, r->fault_pc), err);
	}
	return STRAND_OK;
}
