/*
 * Replay core: open a trace, apply its events at their positions, check
 * key frames, keep checkpoints and move forward and backward.
 *
 * State at position P (see replay.h): P instructions retired, and every
 * non-consuming event at P applied, up to the first consuming event at P
 * (which stands for the instruction at P and is applied by stepping).
 * Every motion goes through advance(), so the state at P is the same
 * however P was reached.
 *
 * Checkpoints (memory bound): checkpoint 0 holds every page of the
 * snapshot; each later one, taken every `checkpoint_interval`
 * instructions at the forward frontier, holds the pages whose XXH3 hash
 * changed since the previous one (pages of writable or event-written
 * regions are hashed; others only when their mapping is new), plus all
 * thread contexts, the mapping layout and the reader cursor.  When the
 * checkpoint bytes exceed `checkpoint_memory_limit` every other
 * checkpoint is merged into its successor, so memory stays under the
 * limit plus one snapshot while seek cost grows by one interval.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include "replay/replay_int.h"
#include "strand/knowledge.h"

#define DEFAULT_INTERVAL 1000000ull
#define DEFAULT_LIMIT (512ull << 20)

double rp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cursor_cmp(const struct strand_cursor *a, const struct strand_cursor *b)
{
	if (a->chunk != b->chunk)
		return a->chunk < b->chunk ? -1 : 1;
	if (a->record != b->record)
		return a->record < b->record ? -1 : 1;
	return 0;
}

/* ===================================================================== */
/* Threads and modules                                                    */
/* ===================================================================== */

static int thread_index(const struct strand_replay *r, uint32_t tid)
{
	for (uint32_t i = 0; i < r->nthreads; i++)
		if (r->threads[i].tid == tid)
			return (int)i;
	return -1;
}

static strand_status thread_add(struct strand_replay *r, uint32_t tid,
				const struct strand_thread *th, strand_error *err)
{
	int idx = thread_index(r, tid);
	if (idx < 0) {
		if (r->nthreads == r->cap_threads) {
			uint32_t cap = r->cap_threads ? r->cap_threads * 2 : 8;
			struct rp_thread *p = realloc(r->threads, cap * sizeof *p);
			if (!p)
				return strand_error_set(err, STRAND_ERR_NOMEM, "cannot grow thread table");
			r->threads = p;
			r->cap_threads = cap;
		}
		idx = (int)r->nthreads++;
		memset(&r->threads[idx], 0, sizeof r->threads[idx]);
	} else if ((uint32_t)idx == r->cur && r->threads[idx].alive) {
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"thread tid=%u created while running", tid);
	}
	struct rp_thread *t = &r->threads[idx];
	t->tid = tid;
	t->alive = true;
	t->has_ctx = false;
	t->init = th->cpu;
	memcpy(t->sel, th->cpu.sel, sizeof t->sel);
	t->fs_base = th->cpu.fs_base;
	t->gs_base = th->cpu.gs_base;
	t->teb = th->teb;
	t->stack_base = th->stack_base;
	t->stack_limit = th->stack_limit;
	return STRAND_OK;
}

/* Make thread index ti the running one. */
static strand_status thread_switch(struct strand_replay *r, uint32_t ti, strand_error *err)
{
	if (ti == r->cur && r->threads[ti].has_ctx)
		return STRAND_OK;
	struct rp_thread *old = &r->threads[r->cur];
	if (ti != r->cur && old->has_ctx) {
		/* has_ctx on the running thread means "Unicorn holds it" */
		if (!old->ctx && uc_context_alloc(r->uc, &old->ctx) != UC_ERR_OK)
			return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate context");
		uc_context_save(r->uc, old->ctx);
	}
	r->cur = ti;
	struct rp_thread *t = &r->threads[ti];
	if (t->has_ctx && t->ctx) {
		uc_context_restore(r->uc, t->ctx);
		return rp_apply_seg_bases(r, ti, err);
	}
	strand_status st = rp_cpu_write(r, ti, &t->init, err);
	t->has_ctx = true;
	return st;
}

static strand_status module_add(struct strand_replay *r, const struct strand_module *m,
				strand_error *err)
{
	for (uint32_t i = 0; i < r->nmods; i++) {
		if (r->mods[i].m.id == m->id) {
			r->mods[i].loaded = true;
			r->modview_dirty = true;
			return STRAND_OK;
		}
	}
	if (r->nmods == r->cap_mods) {
		uint32_t cap = r->cap_mods ? r->cap_mods * 2 : 16;
		struct rp_module *p = realloc(r->mods, cap * sizeof *p);
		if (!p)
			return strand_error_set(err, STRAND_ERR_NOMEM, "cannot grow module table");
		r->mods = p;
		r->cap_mods = cap;
	}
	size_t slen = strlen(m->name) + 1 + strlen(m->path) + 1;
	for (uint32_t i = 0; i < m->nsyms; i++)
		slen += strlen(m->syms[i].name) + 1 + strlen(m->syms[i].demangled) + 1;
	struct rp_module *rm = &r->mods[r->nmods];
	memset(rm, 0, sizeof *rm);
	rm->strings = malloc(slen);
	rm->syms = m->nsyms ? calloc(m->nsyms, sizeof *rm->syms) : NULL;
	if (!rm->strings || (m->nsyms && !rm->syms)) {
		free(rm->strings);
		free(rm->syms);
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot copy module %s", m->name);
	}
	char *s = rm->strings;
#define COPYSTR(dst, src) do { size_t l_ = strlen(src) + 1; memcpy(s, src, l_); dst = s; s += l_; } while (0)
	rm->m = *m;
	COPYSTR(rm->m.name, m->name);
	COPYSTR(rm->m.path, m->path);
	for (uint32_t i = 0; i < m->nsyms; i++) {
		rm->syms[i] = m->syms[i];
		COPYSTR(rm->syms[i].name, m->syms[i].name);
		COPYSTR(rm->syms[i].demangled, m->syms[i].demangled);
	}
#undef COPYSTR
	rm->m.syms = rm->syms;
	rm->loaded = true;
	rm->cursor = r->next_cursor; /* the record being applied */
	r->nmods++;
	r->modview_dirty = true;
	return STRAND_OK;
}

/* ===================================================================== */
/* Observers                                                              */
/* ===================================================================== */

static bool event_first_time(struct strand_replay *r)
{
	return cursor_cmp(&r->next_cursor, &r->ev_frontier) >= 0;
}

static void fire_event(struct strand_replay *r, const struct strand_record *rec, bool after)
{
	for (uint32_t i = 0; i < r->nobs; i++)
		if (r->obs[i].kind == RP_OBS_EVENT)
			((strand_event_cb)r->obs[i].cb)(r, r->obs[i].ud, rec, after);
}

static strand_obs_id obs_add(struct strand_replay *r, uint32_t kind, void *cb, void *ud,
			     uint32_t access)
{
	if (!r)
		return 0;
	if (!cb) {
		r->obs_failed = true;
		return 0;
	}
	if (r->nobs == r->cap_obs) {
		uint32_t cap = r->cap_obs ? r->cap_obs * 2 : 8;
		struct rp_observer *p = cap > r->cap_obs ? realloc(r->obs, cap * sizeof *p) : NULL;
		if (!p) {
			r->obs_failed = true;
			return 0;
		}
		r->obs = p;
		r->cap_obs = cap;
	}
	struct rp_observer *o = &r->obs[r->nobs++];
	o->id = ++r->next_obs_id;
	o->group = r->obs_group;
	o->kind = kind;
	o->cb = cb;
	o->ud = ud;
	o->access = access;
	switch (kind) {
	case RP_OBS_INSN: r->n_insn_obs++; break;
	case RP_OBS_BLOCK: r->n_block_obs++; break;
	case RP_OBS_CALL: case RP_OBS_RET: r->n_call_obs++; break;
	case RP_OBS_MEM: r->n_mem_obs++; break;
	case RP_OBS_EVENT: r->n_event_obs++; break;
	}
	if (rp_emu_update_hooks(r, NULL) != STRAND_OK) {
		r->nobs--;
		r->obs_failed = true;
		return 0;
	}
	return o->id;
}

uint32_t strand_replay_observer_group(struct strand_replay *r, uint32_t group)
{
	if (!r)
		return 0;
	uint32_t prev = r->obs_group;
	r->obs_group = group;
	return prev;
}

void strand_replay_observer_del_group(struct strand_replay *r, uint32_t group)
{
	if (!r || !group)
		return;
	for (uint32_t i = r->nobs; i-- > 0;)
		if (r->obs[i].group == group)
			strand_replay_observer_del(r, r->obs[i].id);
}

bool strand_replay_observer_failed(struct strand_replay *r)
{
	if (!r)
		return false;
	bool f = r->obs_failed;
	r->obs_failed = false;
	return f;
}

strand_obs_id strand_replay_on_insn(struct strand_replay *r, strand_insn_cb cb, void *ud)
{
	return obs_add(r, RP_OBS_INSN, (void *)cb, ud, 0);
}
strand_obs_id strand_replay_on_block(struct strand_replay *r, strand_block_cb cb, void *ud)
{
	return obs_add(r, RP_OBS_BLOCK, (void *)cb, ud, 0);
}
strand_obs_id strand_replay_on_call(struct strand_replay *r, strand_call_cb cb, void *ud)
{
	return obs_add(r, RP_OBS_CALL, (void *)cb, ud, 0);
}
strand_obs_id strand_replay_on_ret(struct strand_replay *r, strand_ret_cb cb, void *ud)
{
	return obs_add(r, RP_OBS_RET, (void *)cb, ud, 0);
}
strand_obs_id strand_replay_on_mem(struct strand_replay *r, strand_mem_cb cb, uint32_t access,
				   void *ud)
{
	return obs_add(r, RP_OBS_MEM, (void *)cb, ud, access ? access : 3);
}
strand_obs_id strand_replay_on_event(struct strand_replay *r, strand_event_cb cb, void *ud)
{
	return obs_add(r, RP_OBS_EVENT, (void *)cb, ud, 0);
}

void strand_replay_observer_del(struct strand_replay *r, strand_obs_id id)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < r->nobs; i++) {
		struct rp_observer *o = &r->obs[i];
		if (o->id != id)
			continue;
		switch (o->kind) {
		case RP_OBS_INSN: r->n_insn_obs--; break;
		case RP_OBS_BLOCK: r->n_block_obs--; break;
		case RP_OBS_CALL: case RP_OBS_RET: r->n_call_obs--; break;
		case RP_OBS_MEM: r->n_mem_obs--; break;
		case RP_OBS_EVENT: r->n_event_obs--; break;
		}
		memmove(o, o + 1, (r->nobs - i - 1) * sizeof *o);
		r->nobs--;
		return;
	}
}

/* ===================================================================== */
/* Budgets                                                                */
/* ===================================================================== */

void strand_replay_default_budget(uint64_t file_size, uint64_t *max_instructions,
				  uint64_t *max_memory)
{
	uint64_t fs = file_size > (1ull << 40) ? (1ull << 40) : file_size;
	if (max_instructions)
		*max_instructions = (1ull << 26) + (fs << 16);
	if (max_memory) {
		uint64_t m = (256ull << 20) + (fs << 12);
		*max_memory = m > (64ull << 30) ? (64ull << 30) : m;
	}
}

/* Would mapping `size` more bytes pass the memory budget?  Counts every
 * mapped region at its full size (a zero-filled region claims its memory
 * as much as one with bytes) and the checkpoints. */
static strand_status budget_map(struct strand_replay *r, uint64_t addr, uint64_t size,
				strand_error *err)
{
	uint64_t used = r->ckpt_bytes + r->fine_bytes;
	for (uint32_t i = 0; i < r->nregions; i++)
		used += r->regions[i].size;
	if (size > r->max_mem || used > r->max_mem - size)
		return strand_error_set(err, STRAND_ERR_LIMIT,
					"mapping 0x%" PRIx64 "+0x%" PRIx64 " would take guest memory to %"
					PRIu64 " MiB, over the memory budget of %" PRIu64
					" MiB (--max-memory)",
					addr, size, (used + (size > UINT64_MAX - used ? 0 : size)) >> 20,
					r->max_mem >> 20);
	return STRAND_OK;
}

/* ===================================================================== */
/* Events                                                                 */
/* ===================================================================== */

static strand_status divergence(struct strand_replay *r, strand_error *err,
				const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static strand_status divergence(struct strand_replay *r, strand_error *err,
				const char *fmt, ...)
{
	char msg[STRAND_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return strand_error_set(err, STRAND_ERR_DIVERGENCE, "%s", msg);
}

static strand_status apply_effects(struct strand_replay *r, const struct strand_effects *fx,
				   strand_error *err)
{
	strand_status st = STRAND_OK;
	for (uint32_t i = 0; i < fx->nmaps && st == STRAND_OK; i++) {
		const struct strand_mapchange *m = &fx->maps[i];
		switch (m->op) {
		case STRAND_MAP_MAP:
			st = budget_map(r, m->addr, m->size, err);
			if (st == STRAND_OK)
				st = rp_map(r, m->addr, m->size, m->prot, m->kind, m->name, m->data, err);
			break;
		case STRAND_MAP_UNMAP:
			st = rp_unmap(r, m->addr, m->size, err);
			break;
		case STRAND_MAP_PROTECT:
			st = rp_protect(r, m->addr, m->size, m->prot, err);
			break;
		default:
			st = strand_error_set(err, STRAND_ERR_CORRUPT, "unknown map op %u", m->op);
		}
	}
	for (uint32_t i = 0; i < fx->nwrites && st == STRAND_OK; i++)
		st = rp_write(r, fx->writes[i].addr, fx->writes[i].data, fx->writes[i].len, err);
	if (st == STRAND_OK && fx->cpu)
		st = rp_cpu_write(r, r->cur, fx->cpu, err);
	for (uint32_t i = 0; i < fx->nregs && st == STRAND_OK; i++)
		st = rp_reg_set(r, fx->regs[i].reg, fx->regs[i].value, err);
	return st;
}

/* Check that the instruction at the current pc is what a consuming event
 * says, then skip it. */
static strand_status consume_insn(struct strand_replay *r, const struct strand_record *rec,
				  uint64_t pc, strand_error *err)
{
	/* inline (from the emulator's syscall hook): the instruction is
	 * executing; its address was decoded by the block hook */
	uint64_t cur = r->inline_applying ? r->inline_pc : rp_pc(r);
	char where[256];
	if (cur != pc) {
		rp_describe_pc(r, cur, where, sizeof where);
		return divergence(r, err,
				  "divergence at position %" PRIu64 ": %s event expects pc=0x%" PRIx64
				  " but execution is at %s",
				  rec->position, strand_rec_type_str(rec->type), pc, where);
	}
	if (r->threads[r->cur].tid != rec->tid)
		return divergence(r, err,
				  "divergence at position %" PRIu64 ": %s event of tid=%u while tid=%u runs",
				  rec->position, strand_rec_type_str(rec->type), rec->tid,
				  r->threads[r->cur].tid);
	ZydisDecodedInstruction ins;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	bool ok = rp_decode(r, pc, &ins, ops);
	bool match = false;
	if (ok && rec->type == STRAND_REC_SYSCALL) {
		match = ins.mnemonic == ZYDIS_MNEMONIC_SYSCALL ||
			ins.mnemonic == ZYDIS_MNEMONIC_SYSENTER ||
			(ins.mnemonic == ZYDIS_MNEMONIC_INT &&
			 (ops[0].imm.value.u == 0x80 || ops[0].imm.value.u == 0x2e));
	} else if (ok) {
		switch (rec->u.nondet.kind) {
		case STRAND_NONDET_RDTSC: match = ins.mnemonic == ZYDIS_MNEMONIC_RDTSC; break;
		case STRAND_NONDET_RDTSCP: match = ins.mnemonic == ZYDIS_MNEMONIC_RDTSCP; break;
		case STRAND_NONDET_CPUID: match = ins.mnemonic == ZYDIS_MNEMONIC_CPUID; break;
		case STRAND_NONDET_RDRAND: match = ins.mnemonic == ZYDIS_MNEMONIC_RDRAND; break;
		case STRAND_NONDET_RDSEED: match = ins.mnemonic == ZYDIS_MNEMONIC_RDSEED; break;
		case STRAND_NONDET_XGETBV: match = ins.mnemonic == ZYDIS_MNEMONIC_XGETBV; break;
		}
	}
	if (!match) {
		rp_describe_pc(r, pc, where, sizeof where);
		return divergence(r, err,
				  "divergence at position %" PRIu64 ": %s event but the instruction is %s",
				  rec->position, strand_rec_type_str(rec->type), where);
	}
	if (!r->inline_applying)
		rp_set_pc(r, pc + ins.length);
	return STRAND_OK;
}

static bool mem_hash(struct strand_replay *r, uint64_t addr, uint64_t size, uint64_t *out)
{
	XXH3_state_t *s = XXH3_createState();
	if (!s)
		return false;
	XXH3_64bits_reset(s);
	uint64_t done = 0;
	bool ok = true;
	while (done < size) {
		struct rp_region *g = rp_region_find(r, addr + done);
		if (!g) {
			ok = false;
			break;
		}
		uint64_t off = addr + done - g->addr;
		uint64_t n = g->size - off;
		if (n > size - done)
			n = size - done;
		XXH3_64bits_update(s, g->host + off, n);
		done += n;
	}
	*out = XXH3_64bits_digest(s);
	XXH3_freeState(s);
	return ok;
}

static strand_status check_keyframe(struct strand_replay *r, const struct strand_record *rec,
				    strand_error *err)
{
	const struct strand_keyframe *k = &rec->u.keyframe;
	char where[256];
	rp_describe_pc(r, rp_pc(r), where, sizeof where);
	if (r->threads[r->cur].tid != rec->tid)
		return divergence(r, err,
				  "divergence at position %" PRIu64 ": key frame says tid=%u runs, replay runs tid=%u (at %s)",
				  rec->position, rec->tid, r->threads[r->cur].tid, where);
	bool is64 = r->mode == UC_MODE_64;
	uint64_t wmask = is64 ? UINT64_MAX : 0xffffffffu;
	for (uint32_t i = 0; i < k->nthreads; i++) {
		const struct strand_keyframe_thread *kt = &k->threads[i];
		int ti = thread_index(r, kt->tid);
		if (ti < 0)
			return divergence(r, err,
					  "divergence at position %" PRIu64 ": key frame names tid=%u, unknown to replay",
					  rec->position, kt->tid);
		struct strand_cpu c;
		rp_thread_cpu(r, (uint32_t)ti, &c);
		const struct strand_cpu *w = &kt->cpu;
		char diff[512] = "";
		size_t dl = 0;
#define DIFF(name, got, want) do { if (dl < sizeof diff - 80) \
	dl += (size_t)snprintf(diff + dl, sizeof diff - dl, "%s%s=0x%" PRIx64 " (recorded 0x%" PRIx64 ")", \
			       dl ? ", " : "", name, (uint64_t)(got), (uint64_t)(want)); } while (0)
		int ngpr = is64 ? 16 : 8;
		for (int g = 0; g < ngpr; g++)
			if ((c.gpr[g] & wmask) != (w->gpr[g] & wmask))
				DIFF(strand_reg_name((unsigned)g), c.gpr[g] & wmask, w->gpr[g] & wmask);
		if ((c.rip & wmask) != (w->rip & wmask))
			DIFF("rip", c.rip, w->rip);
		if ((c.rflags & 0xcd5) != (w->rflags & 0xcd5))
			DIFF("rflags", c.rflags & 0xcd5, w->rflags & 0xcd5);
		if (is64 || w->gdt_base) {
			if (c.fs_base != w->fs_base)
				DIFF("fs_base", c.fs_base, w->fs_base);
			if (c.gs_base != w->gs_base)
				DIFF("gs_base", c.gs_base, w->gs_base);
		}
		if (!is64 && w->gdt_base) {
			for (int s = 0; s < STRAND_SEG_COUNT; s++)
				if (c.sel[s] != w->sel[s])
					DIFF(strand_reg_name(STRAND_REG_ES + (unsigned)s), c.sel[s], w->sel[s]);
		}
		/* SSE registers when the recorder captured x87/SSE state */
		static const uint8_t zero[512];
		if (memcmp(w->fxsave, zero, sizeof zero) != 0) {
			int nx = is64 ? 16 : 8;
			for (int x = 0; x < nx; x++) {
				if (memcmp(c.fxsave + 160 + 16 * x, w->fxsave + 160 + 16 * x, 16)) {
					uint64_t a, b;
					memcpy(&a, c.fxsave + 160 + 16 * x, 8);
					memcpy(&b, w->fxsave + 160 + 16 * x, 8);
					char nm[16];
					snprintf(nm, sizeof nm, "xmm%d", x);
					DIFF(nm, a, b);
				}
			}
		}
#undef DIFF
		if (dl)
			return divergence(r, err,
					  "divergence at position %" PRIu64 ": tid=%u at %s: registers differ: %s",
					  rec->position, kt->tid, where, diff);
	}
	for (uint32_t i = 0; i < k->ndigests; i++) {
		const struct strand_digest *d = &k->digests[i];
		uint64_t h = 0;
		struct rp_region *g = rp_region_find(r, d->addr);
		const char *rname = g ? (g->name[0] ? g->name : strand_region_kind_str(g->kind)) : "unmapped";
		if (!mem_hash(r, d->addr, d->size, &h))
			return divergence(r, err,
					  "divergence at position %" PRIu64 ": memory 0x%" PRIx64 "+0x%" PRIx64
					  " (%s) is not fully mapped in replay (at %s)",
					  rec->position, d->addr, d->size, rname, where);
		if (h != d->hash)
			return divergence(r, err,
					  "divergence at position %" PRIu64 ": memory 0x%" PRIx64 "+0x%" PRIx64
					  " (region %s) differs: digest 0x%016" PRIx64 ", recorded 0x%016" PRIx64 " (at %s)",
					  rec->position, d->addr, d->size, rname, h, d->hash, where);
	}
	if (event_first_time(r)) {
		r->stats.keyframes_checked++;
		r->stats.digests_checked += k->ndigests;
	}
	return STRAND_OK;
}

/* ===================================================================== */
/* Fact checks: what a SYSCALL or OUTPUT record says against the replay  */
/* ===================================================================== */

/* Argument `i` of a kernel transition as the kernel reads it at this
 * point (the transition at `pc`, checked by consume_insn, has not taken
 * effect: only rip may have moved past it), per the trace's ABI.  False
 * when the ABI has no convention strand knows, or the argument lives in
 * unmapped memory. */
static bool sys_arg(struct strand_replay *r, uint64_t pc, unsigned i, uint64_t *out)
{
	bool is64 = r->mode == UC_MODE_64;
	if (r->info.abi == STRAND_ABI_LINUX) {
		static const unsigned a64[6] = { STRAND_REG_RDI, STRAND_REG_RSI, STRAND_REG_RDX,
						 STRAND_REG_R8 + 2, STRAND_REG_R8, STRAND_REG_R8 + 1 };
		static const unsigned a32[6] = { STRAND_REG_RBX, STRAND_REG_RCX, STRAND_REG_RDX,
						 STRAND_REG_RSI, STRAND_REG_RDI, STRAND_REG_RBP };
		if (i >= 6)
			return false;
		*out = rp_gpr(r, is64 ? a64[i] : a32[i]) & (is64 ? UINT64_MAX : 0xffffffffu);
		return true;
	}
	if (r->info.abi == STRAND_ABI_WINDOWS_NT && !is64) {
		/* KiFastSystemCall: edx = esp at the sysenter, the arguments
		 * start after two return addresses; int 0x2e: edx points at
		 * them */
		ZydisDecodedInstruction ins;
		if (!rp_decode(r, pc, &ins, NULL))
			return false;
		uint64_t base = (rp_gpr(r, STRAND_REG_RDX) & 0xffffffffu) +
				(ins.mnemonic == ZYDIS_MNEMONIC_SYSENTER ? 8 : 0);
		uint32_t v = 0;
		uint8_t valid[4];
		if (strand_replay_read(r, base + 4 * (uint64_t)i, &v, 4, valid) != 4)
			return false;
		*out = v;
		return true;
	}
	return false;
}

/* The value the record's effects give rax, if they set it. */
static bool fx_rax(const struct strand_effects *fx, uint64_t *out)
{
	bool set = false;
	if (fx->cpu) {
		*out = fx->cpu->gpr[STRAND_REG_RAX];
		set = true;
	}
	for (uint32_t i = 0; i < fx->nregs; i++)
		if (fx->regs[i].reg == STRAND_REG_RAX) {
			*out = fx->regs[i].value;
			set = true;
		}
	return set;
}

/* A Linux syscall a signal interrupted: the kernel's result is one of
 * its internal restart codes (ERESTARTSYS -512, ERESTARTNOINTR -513,
 * ERESTARTNOHAND -514: the number again; ERESTART_RESTARTBLOCK -516:
 * restart_syscall, 219) and the thread goes back onto the syscall
 * instruction; the signal's delivery that follows says what the program
 * sees (a handler's frame holds EINTR or the restart). */
static bool restarted(const struct strand_replay *r, const struct strand_syscall *s, uint64_t rax)
{
	if (r->info.abi != STRAND_ABI_LINUX || r->mode != UC_MODE_64)
		return false;
	int64_t v = (int64_t)s->result;
	if (v == -512 || v == -513 || v == -514)
		return rax == s->number;
	return v == -516 && rax == 219;
}

/* Compare a SYSCALL record with the machine about to execute it (after
 * consume_insn checked pc, thread and instruction).  Returns
 * STRAND_ERR_DIVERGENCE naming the position and what differs. */
static strand_status check_syscall(struct strand_replay *r, const struct strand_record *rec,
				   bool first, strand_error *err)
{
	const struct strand_syscall *s = &rec->u.syscall;
	bool is64 = r->mode == UC_MODE_64;
	uint64_t wmask = is64 ? UINT64_MAX : 0xffffffffu;
	char where[256];
	uint64_t rax = rp_gpr(r, STRAND_REG_RAX) & wmask;
	if (r->info.abi != STRAND_ABI_NONE && (uint32_t)rax != s->number) {
		rp_describe_pc(r, s->pc, where, sizeof where);
		return divergence(r, err,
				  "divergence at position %" PRIu64 ": syscall record says number=%" PRIu32
				  " but replay has eax=0x%" PRIx64 " at %s",
				  rec->position, s->number, rax, where);
	}
	if (s->result > wmask) {
		return divergence(r, err,
				  "divergence at position %" PRIu64 ": syscall result=0x%" PRIx64
				  " does not fit a %d-bit register",
				  rec->position, s->result, is64 ? 64 : 32);
	}
	if (r->info.abi == STRAND_ABI_LINUX && is64 && (int64_t)s->result < -4095) {
		return divergence(r, err,
				  "divergence at position %" PRIu64 ": syscall number=%" PRIu32
				  " result=0x%" PRIx64 " is neither a value nor -errno",
				  rec->position, s->number, s->result);
	}
	uint64_t fr;
	if (fx_rax(&s->fx, &fr) && (fr & wmask) != s->result && !restarted(r, s, fr & wmask)) {
		return divergence(r, err,
				  "divergence at position %" PRIu64 ": syscall number=%" PRIu32
				  " says result=0x%" PRIx64 " but its effects set rax=0x%" PRIx64,
				  rec->position, s->number, s->result, fr & wmask);
	}
	bool compared = r->info.abi != STRAND_ABI_NONE;
	for (uint32_t i = 0; i < s->nargs && i < 8; i++) {
		uint64_t v;
		if (!sys_arg(r, s->pc, i, &v)) {
			compared = false;
			break;
		}
		if ((s->args[i] & wmask) != v) {
			rp_describe_pc(r, s->pc, where, sizeof where);
			return divergence(r, err,
					  "divergence at position %" PRIu64 ": syscall number=%" PRIu32
					  " argument %" PRIu32 " recorded 0x%" PRIx64 " but replay has 0x%" PRIx64
					  " at %s",
					  rec->position, s->number, i, s->args[i], v, where);
		}
	}
	if (first) {
		r->stats.syscalls_applied++;
		if (compared)
			r->stats.syscalls_checked++;
	}
	r->last_sys = *s;
	memset(&r->last_sys.fx, 0, sizeof r->last_sys.fx);
	r->last_sys_tid = rec->tid;
	r->last_sys_after = rec->position + 1;
	r->last_sys_valid = true;
	return STRAND_OK;
}

/* Compare `len` recorded bytes with guest memory at addr; on a mismatch
 * *at gets the offset of the first differing or unmapped byte. */
static bool bytes_match(struct strand_replay *r, uint64_t addr, const uint8_t *data,
			uint64_t len, uint64_t *at)
{
	uint8_t buf[4096], valid[4096];
	for (uint64_t off = 0; off < len;) {
		size_t n = len - off < sizeof buf ? (size_t)(len - off) : sizeof buf;
		strand_replay_read(r, addr + off, buf, n, valid);
		for (size_t k = 0; k < n; k++)
			if (!valid[k] || buf[k] != data[off + k]) {
				*at = off + k;
				return false;
			}
		off += n;
	}
	return true;
}

/* NtWriteFile's number in the built-in (Server 2003) numbering. */
static uint32_t nt_write_file_builtin(void)
{
#define NT_SYSCALL(name, num, argc) enum { SYS_##name = num };
#include "knowledge/nt_syscalls.h"
#undef NT_SYSCALL
	return SYS_NtWriteFile;
}

/* NtWriteFile's number in a trace's NOTE syscall-table (a trace recorded
 * on real system DLLs numbers services as its ntdll does); UINT32_MAX
 * when the note is damaged or has no NtWriteFile: its outputs are then
 * not compared, and strand_replay_exactness says so. */
static uint32_t nt_write_file_in(const struct strand_record *note)
{
	struct strand_systable *t = NULL;
	strand_error e = { 0 };
	uint32_t n = UINT32_MAX;
	if (strand_systable_parse(note->u.note.data, note->u.note.len, &t, &e) == STRAND_OK &&
	    !strand_systable_number(t, "NtWriteFile", &n))
		n = UINT32_MAX;
	strand_systable_free(t);
	return n;
}

/* Is the OUTPUT record `rec` what the program wrote with the kernel
 * transition just before it?  Linux: that transition must be a write,
 * pwrite64 or writev to fd == stream returning len, and the bytes those
 * buffers hold now; Windows: after NtWriteFile of exactly len bytes, the
 * buffer it passed (other outputs, such as service status lines the
 * kernel model formats, cannot be compared). */
static strand_status check_output(struct strand_replay *r, const struct strand_record *rec,
				  bool first, strand_error *err)
{
	const struct strand_output *o = &rec->u.output;
	const struct strand_syscall *s = &r->last_sys;
	bool is64 = r->mode == UC_MODE_64;
	bool have = r->last_sys_valid && r->last_sys_after == rec->position;
	bool checked = false;
	uint64_t at = 0;
	if (first)
		r->stats.outputs_applied++;
	if (r->info.abi == STRAND_ABI_LINUX && first) {
		uint32_t nr = s->number;
		bool wr = is64 ? nr == 1 || nr == 18 : nr == 4 || nr == 181;
		bool wv = is64 ? nr == 20 : nr == 146;
		if (!have || !(wr || wv) || s->args[0] != o->stream || s->result != o->len)
			return divergence(r, err,
					  "divergence at position %" PRIu64 ": output of %" PRIu32
					  " bytes to stream %" PRIu32 " was not written by the program "
					  "(the kernel transition before it: number=%" PRIu32 " fd=%" PRIu64
					  " result=%" PRId64 "%s)",
					  rec->position, o->len, o->stream, nr, s->args[0],
					  (int64_t)s->result, have ? "" : ", at another position");
		if (wr) {
			if (s->args[2] < o->len || !bytes_match(r, s->args[1], o->data, o->len, &at))
				return divergence(r, err,
						  "divergence at position %" PRIu64 ": recorded output differs from "
						  "the %" PRIu64 "-byte buffer at 0x%" PRIx64 " the program wrote "
						  "(first difference at byte %" PRIu64 ")",
						  rec->position, s->args[2], s->args[1], at);
		} else {
			/* gather the iovecs, as the kernel did */
			uint64_t off = 0, esz = is64 ? 16 : 8;
			for (uint64_t i = 0; i < s->args[2] && i < 1024 && off < o->len; i++) {
				uint8_t iov[16] = { 0 }, valid[16];
				strand_replay_read(r, s->args[1] + i * esz, iov, esz, valid);
				uint64_t base = 0, ln = 0;
				if (is64) {
					memcpy(&base, iov, 8);
					memcpy(&ln, iov + 8, 8);
				} else {
					uint32_t b32, l32;
					memcpy(&b32, iov, 4);
					memcpy(&l32, iov + 4, 4);
					base = b32;
					ln = l32;
				}
				uint64_t take = ln < o->len - off ? ln : o->len - off;
				if (!bytes_match(r, base, o->data + off, take, &at))
					return divergence(r, err,
							  "divergence at position %" PRIu64 ": recorded output "
							  "differs from writev buffer %" PRIu64 " at 0x%" PRIx64
							  " (first difference at output byte %" PRIu64 ")",
							  rec->position, i, base, off + at);
				off += take;
			}
			if (off != o->len)
				return divergence(r, err,
						  "divergence at position %" PRIu64 ": recorded output of %" PRIu32
						  " bytes is longer than the writev buffers (%" PRIu64 " bytes)",
						  rec->position, o->len, off);
		}
		checked = true;
	} else if (r->info.abi == STRAND_ABI_WINDOWS_NT && have && first) {
		if (s->number == r->nt_write_file && s->nargs >= 7 && s->args[6] == o->len) {
			if (!bytes_match(r, s->args[5], o->data, o->len, &at))
				return divergence(r, err,
						  "divergence at position %" PRIu64 ": recorded output differs from "
						  "the NtWriteFile buffer at 0x%" PRIx64
						  " (first difference at byte %" PRIu64 ")",
						  rec->position, s->args[5], at);
			checked = true;
		}
	}
	if (first && checked) {
		r->stats.outputs_checked++;
		r->stats.output_bytes_checked += o->len;
	}
	return STRAND_OK;
}

bool strand_replay_exactness(const struct strand_replay *r, char *buf, size_t len)
{
	const struct strand_replay_stats *s = &r->stats;
	uint64_t need = 1 + s->syscalls_applied / 4096;
	char what[320];
	snprintf(what, sizeof what,
		 "%" PRIu64 " key frames, %" PRIu64 " digests, %" PRIu64 "/%" PRIu64
		 " syscalls, %" PRIu64 "/%" PRIu64 " outputs (%" PRIu64 " bytes) compared",
		 s->keyframes_checked, s->digests_checked, s->syscalls_checked,
		 s->syscalls_applied, s->outputs_checked, s->outputs_applied,
		 s->output_bytes_checked);
	if (r->opt.no_verify) {
		snprintf(buf, len, "not verified (key frames not compared): %s", what);
		return false;
	}
	if (s->keyframes_checked < need) {
		snprintf(buf, len,
			 "not verified: %" PRIu64 " key frames for %" PRIu64 " kernel transitions "
			 "(at least %" PRIu64 " needed); %s",
			 s->keyframes_checked, s->syscalls_applied, need, what);
		return false;
	}
	snprintf(buf, len, "%s", what);
	return true;
}

/* Apply r->next (at r->pos).  Consuming events advance the position. */
strand_status rp_apply_event(struct strand_replay *r, strand_error *err)
{
	const struct strand_record *rec = r->next;
	bool first = event_first_time(r);
	if (first && r->n_event_obs)
		fire_event(r, rec, false);
	strand_status st = STRAND_OK;
	int ti;
	switch (rec->type) {
	case STRAND_REC_MODULE:
		st = module_add(r, &rec->u.module, err);
		break;
	case STRAND_REC_MODULE_UNLOAD:
		for (uint32_t i = 0; i < r->nmods; i++)
			if (r->mods[i].m.id == rec->u.module_id)
				r->mods[i].loaded = false;
		r->modview_dirty = true;
		break;
	case STRAND_REC_REGION:
		st = budget_map(r, rec->u.region.addr, rec->u.region.size, err);
		if (st == STRAND_OK)
			st = rp_map(r, rec->u.region.addr, rec->u.region.size, rec->u.region.prot,
			    rec->u.region.kind, rec->u.region.name, rec->u.region.data, err);
		break;
	case STRAND_REC_THREAD:
		st = thread_add(r, rec->tid, &rec->u.thread, err);
		break;
	case STRAND_REC_THREAD_SWITCH:
		ti = thread_index(r, rec->tid);
		if (ti < 0 || !r->threads[ti].alive)
			st = strand_error_set(err, STRAND_ERR_CORRUPT,
					      "switch to unknown thread tid=%u at position %" PRIu64,
					      rec->tid, rec->position);
		else
			st = thread_switch(r, (uint32_t)ti, err);
		break;
	case STRAND_REC_THREAD_EXIT:
		ti = thread_index(r, rec->tid);
		if (ti >= 0)
			r->threads[ti].alive = false;
		break;
	case STRAND_REC_SYSCALL:
		st = consume_insn(r, rec, rec->u.syscall.pc, err);
		if (st == STRAND_OK)
			st = check_syscall(r, rec, first, err);
		if (st == STRAND_OK)
			st = apply_effects(r, &rec->u.syscall.fx, err);
		if (st == STRAND_OK && !r->inline_applying)
			r->pos++; /* inline: the block hook counted it */
		break;
	case STRAND_REC_OUTPUT:
		st = check_output(r, rec, first, err);
		break;
	case STRAND_REC_NONDET:
		r->last_sys_valid = false;
		st = consume_insn(r, rec, rec->u.nondet.pc, err);
		if (st == STRAND_OK)
			st = apply_effects(r, &rec->u.nondet.fx, err);
		if (st == STRAND_OK)
			r->pos++;
		break;
	case STRAND_REC_MEMORY:
		st = apply_effects(r, &rec->u.memory, err);
		break;
	case STRAND_REC_EXCEPTION:
		if (rp_pc(r) != rec->u.exception.pc) {
			char where[256];
			rp_describe_pc(r, rp_pc(r), where, sizeof where);
			st = divergence(r, err,
					"divergence at position %" PRIu64 ": exception expected at pc=0x%" PRIx64
					" but execution is at %s",
					rec->position, rec->u.exception.pc, where);
		} else {
			st = apply_effects(r, &rec->u.exception.fx, err);
		}
		break;
	case STRAND_REC_KEYFRAME:
		if (!r->opt.no_verify)
			st = check_keyframe(r, rec, err);
		break;
	case STRAND_REC_PROCESS_EXIT:
		r->exited = true;
		break;
	default:
		break; /* NOTE, SNAPSHOT_END, unknown optional types */
	}
	if (st != STRAND_OK)
		return st;
	r->stats.events_applied++;
	r->have_last_event = true;
	r->last_event = r->next_cursor;
	if (first) {
		r->ev_frontier = r->next_cursor;
		r->ev_frontier.record++;
		if (r->n_event_obs)
			fire_event(r, rec, true);
	}
	return STRAND_OK;
}

/* Can the next event be applied from inside the emulator's syscall hook,
 * without stopping emulation (Unicorn 2.0.1 costs tens of microseconds
 * per stop and restart)?  Only plain kernel transitions: no mapping
 * change, no full context, no rip change, no write to code, no event
 * stop or instruction observer that would need to see it otherwise. */
bool rp_next_inlinable(struct strand_replay *r)
{
	const struct strand_record *rec = r->next;
	if (!rec || rec->type != STRAND_REC_SYSCALL || r->ordinal || r->code_hook_on ||
	    r->no_inline)
		return false;
	const struct strand_effects *fx = &rec->u.syscall.fx;
	if (fx->nmaps || fx->cpu)
		return false;
	for (uint32_t i = 0; i < fx->nregs; i++)
		if (fx->regs[i].reg == STRAND_REG_RIP || fx->regs[i].reg >= STRAND_REG_ES)
			return false;
	for (uint32_t i = 0; i < fx->nwrites; i++) {
		const struct rp_region *g = rp_region_find(r, fx->writes[i].addr);
		if (!g || (g->prot & STRAND_PROT_EXEC) ||
		    fx->writes[i].addr + fx->writes[i].len > g->addr + g->size)
			return false;
	}
	for (uint32_t i = 0; i < r->nstops; i++)
		if (r->stops[i].enabled && r->stops[i].kind == STRAND_STOP_EVENT)
			return false;
	return true;
}

/* Called from the syscall/interrupt hook for an armed inline event.
 * Returns false (with r->inline_err set) on failure. */
bool rp_apply_inline(struct strand_replay *r)
{
	r->inline_applying = true;
	strand_status st = rp_apply_event(r, &r->inline_err);
	r->inline_applying = false;
	if (st == STRAND_OK)
		st = rp_read_next(r, &r->inline_err);
	if (st != STRAND_OK)
		return false;
	/* the next stop: the goal, or the next event if it must stop */
	r->next_inline = rp_next_inlinable(r);
	uint64_t t = r->run_goal;
	if (r->next && !r->next_inline && r->next->position < t)
		t = r->next->position;
	if (!r->next)
		t = r->pos;
	r->run_target = t;
	return true;
}

/* Read the next record into r->next. */
strand_status rp_read_next(struct strand_replay *r, strand_error *err)
{
	strand_reader_tell(r->rd, &r->next_cursor);
	strand_status st = strand_reader_next(r->rd, &r->next, err);
	if (st == STRAND_END) {
		r->next = NULL;
		r->at_eof = true;
		return STRAND_OK;
	}
	if (st != STRAND_OK) {
		r->next = NULL;
		return st;
	}
	r->at_eof = false;
	if (r->next->position < r->pos && !r->ordinal)
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"record %s at position %" PRIu64 " is behind replay position %" PRIu64,
					strand_rec_type_str(r->next->type), r->next->position, r->pos);
	return STRAND_OK;
}

/* ===================================================================== */
/* Checkpoints                                                            */
/* ===================================================================== */

static uint64_t page_hash(const uint8_t *p)
{
	return XXH3_64bits(p, RP_PAGE);
}

static struct rp_hashent *ph_slot(struct strand_replay *r, uint64_t addr)
{
	uint64_t key = addr + 1;
	uint64_t i = (key / RP_PAGE * 0x9E3779B97F4A7C15ull) & (r->ph_cap - 1);
	while (r->ph[i].addr && r->ph[i].addr != key)
		i = (i + 1) & (r->ph_cap - 1);
	return &r->ph[i];
}

static bool ph_grow(struct strand_replay *r)
{
	if (r->ph_cap && (r->ph_n + 1) * 2 < r->ph_cap)
		return true;
	uint64_t ncap = r->ph_cap ? r->ph_cap * 2 : 4096;
	struct rp_hashent *old = r->ph;
	uint64_t ocap = r->ph_cap;
	r->ph = calloc(ncap, sizeof *r->ph);
	if (!r->ph) {
		r->ph = old;
		return false;
	}
	r->ph_cap = ncap;
	for (uint64_t i = 0; i < ocap; i++)
		if (old[i].addr)
			*ph_slot(r, old[i].addr - 1) = old[i];
	free(old);
	return true;
}

static void ckpt_free(struct rp_ckpt *c)
{
	for (uint32_t i = 0; i < c->nthreads; i++)
		if (c->threads[i].ctx)
			uc_context_free(c->threads[i].ctx);
	free(c->threads);
	free(c->cpus);
	for (uint32_t i = 0; i < c->nlayout; i++)
		free(c->layout[i].name);
	free(c->layout);
	for (uint32_t i = 0; i < c->npages; i++)
		free(c->pages[i].data);
	free(c->pages);
	free(c->mod_loaded);
	memset(c, 0, sizeof *c);
}

/* Copy the context of thread i (running or saved) into a fresh uc_context. */
static uc_context *ctx_copy(struct strand_replay *r, uint32_t i, uc_context *cur_saved)
{
	uc_context *c = NULL;
	if (uc_context_alloc(r->uc, &c) != UC_ERR_OK)
		return NULL;
	struct rp_thread *t = &r->threads[i];
	if (i == r->cur) {
		uc_context_save(r->uc, c);
	} else {
		uc_context_restore(r->uc, t->ctx);
		uc_context_save(r->uc, c);
		uc_context_restore(r->uc, cur_saved);
	}
	return c;
}

/* Append a page entry to checkpoint `c`, growing its page array
 * (capacity *cap): a copy of `src` (guest address `addr`), or a zero
 * marker when src is NULL.  False when out of memory; `c` stays valid for
 * ckpt_free either way. */
static bool ckpt_add_page(struct rp_ckpt *c, uint32_t *cap, uint64_t addr,
			  const uint8_t *src)
{
	if (c->npages == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 64;
		struct rp_page *p = realloc(c->pages, ncap * sizeof *p);
		if (!p)
			return false;
		c->pages = p;
		*cap = ncap;
	}
	uint8_t *d = NULL;
	if (src) {
		d = malloc(RP_PAGE);
		if (!d)
			return false;
		memcpy(d, src, RP_PAGE);
	}
	struct rp_page *pg = &c->pages[c->npages++];
	memset(pg, 0, sizeof *pg);
	pg->addr = addr;
	pg->data = d;
	pg->kind = src ? RP_PG_DATA : RP_PG_ZERO;
	return true;
}

/* Bytes a checkpoint holds: page copies (zero markers and pages still in
 * an index file cost their entry only), contexts, layout. */
static uint64_t ckpt_bytes_of(struct strand_replay *r, const struct rp_ckpt *c)
{
	uint64_t b = (uint64_t)c->npages * sizeof(struct rp_page);
	for (uint32_t i = 0; i < c->npages; i++)
		if (c->pages[i].kind == RP_PG_DATA)
			b += RP_PAGE;
	return b + (uint64_t)c->nthreads * (sizeof(struct rp_thread) + uc_context_size(r->uc)) +
	       c->nlayout * sizeof(struct rp_layout_ent);
}

static int page_cmp(const void *a, const void *b)
{
	const struct rp_page *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static const uint8_t *page_at(struct strand_replay *r, uint32_t k, uint64_t addr);

static bool layout_has(const struct rp_ckpt *c, uint64_t addr, uint64_t size, uint64_t gen)
{
	for (uint32_t j = 0; j < c->nlayout; j++)
		if (c->layout[j].addr == addr && c->layout[j].size == size && c->layout[j].gen == gen)
			return true;
	return false;
}

static void fine_clear(struct strand_replay *r)
{
	for (uint32_t i = 0; i < r->nfine; i++)
		ckpt_free(&r->fine[i]);
	r->nfine = 0;
	r->fine_bytes = 0;
}

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[RP_PAGE];
	return memcmp(p, zero, RP_PAGE) == 0;
}

/* Residency.  Guest memory is anonymous host memory mapped on first
 * touch, so a page the host never materialised is zero and costs
 * nothing: checkpoints hash and copy only materialised pages, and a
 * region of gigabytes of zeros stays free.  mincore() says which pages
 * are in memory; with swap enabled a swapped-out page is not "in
 * memory", so /proc/self/pagemap (present or swapped) decides for the
 * pages mincore calls absent; when neither can answer, every page counts
 * as materialised (correct, only slower). */
void rp_resident(struct strand_replay *r, const uint8_t *host, uint64_t npages,
		 uint8_t *vec)
{
	if (mincore((void *)host, npages * RP_PAGE, vec) != 0) {
		memset(vec, 1, npages);
		return;
	}
	for (uint64_t i = 0; i < npages; i++)
		vec[i] &= 1;
	if (!r->swap_on)
		return;
	if (r->pagemap_fd < 0) {
		memset(vec, 1, npages);
		return;
	}
	uint64_t vpn0 = (uint64_t)(uintptr_t)host / RP_PAGE;
	for (uint64_t i = 0; i < npages;) {
		if (vec[i]) {
			i++;
			continue;
		}
		uint64_t ent[512];
		uint64_t n = npages - i < 512 ? npages - i : 512;
		ssize_t got = pread(r->pagemap_fd, ent, n * 8, (off_t)((vpn0 + i) * 8));
		if (got != (ssize_t)(n * 8)) {
			memset(vec + i, 1, npages - i);
			return;
		}
		for (uint64_t j = 0; j < n; j++)
			if (ent[j] & (3ull << 62)) /* present or swapped */
				vec[i + j] = 1;
		i += n;
	}
}

/* Is swap enabled on the host?  Unknown counts as yes. */
static bool host_swap_on(void)
{
	FILE *f = fopen("/proc/swaps", "r");
	if (!f)
		return true;
	char line[256];
	int lines = 0;
	while (fgets(line, sizeof line, f))
		lines++;
	fclose(f);
	return lines > 1;
}

#define RP_SCAN 1024u /* pages per residency query */

/* Take a checkpoint at the current position.  fine < 0: a chain
 * checkpoint at the frontier (pages changed since the previous one, by
 * hash).  fine = k >= 0: a temporary "fine" checkpoint between chain
 * checkpoint k and the next one, taken while re-executing for backward
 * motion; it holds every page that differs from the state at k, so it
 * does not disturb the chain. */
static strand_status ckpt_take_any(struct strand_replay *r, int fine, strand_error *err);

static strand_status ckpt_take(struct strand_replay *r, strand_error *err)
{
	return ckpt_take_any(r, -1, err);
}

/* The pages of region g that changed since the newest chain checkpoint
 * (by hash; ph holds the hashes at that checkpoint, "zero" for pages it
 * does not hold), appended to c; ph updated.  Only materialised pages are
 * hashed: in a region that existed at that checkpoint a page the host
 * never materialised was zero then and is zero now (restores zero pages
 * by dropping them, and a page that became non-zero since is
 * materialised), so only new mappings look up their absent pages. */
static bool ckpt_chain_pages(struct strand_replay *r, struct rp_ckpt *c, uint32_t *cap,
			     const struct rp_region *g, uint8_t *vec)
{
	bool fresh = !r->nckpts || g->gen > r->ckpt_gen;
	uint64_t np = g->size / RP_PAGE;
	for (uint64_t base = 0; base < np; base += RP_SCAN) {
		uint64_t n = np - base < RP_SCAN ? np - base : RP_SCAN;
		rp_resident(r, g->host + base * RP_PAGE, n, vec);
		for (uint64_t j = 0; j < n; j++) {
			if (!vec[j] && !fresh)
				continue;
			uint64_t a = g->addr + (base + j) * RP_PAGE;
			const uint8_t *p = g->host + (base + j) * RP_PAGE;
			if (!ph_grow(r))
				return false;
			uint64_t h = vec[j] ? page_hash(p) : r->zero_hash;
			bool zero = h == r->zero_hash && (!vec[j] || page_is_zero(p));
			struct rp_hashent *e = ph_slot(r, a);
			uint64_t was = e->addr ? e->hash : r->zero_hash;
			if (was == h && (zero || h != r->zero_hash))
				continue;
			if (!e->addr && zero)
				continue; /* zero, and no version saved: zero implied */
			if (!e->addr)
				r->ph_n++;
			e->addr = a + 1;
			e->hash = zero ? r->zero_hash : h;
			if (!ckpt_add_page(c, cap, a, zero ? NULL : p))
				return false;
		}
	}
	return true;
}

/* The pages of region g that differ from chain checkpoint k's state (a
 * fine checkpoint), appended to c. */
static bool ckpt_fine_pages(struct strand_replay *r, struct rp_ckpt *c, uint32_t *cap,
			    const struct rp_region *g, uint32_t k, uint8_t *vec)
{
	const struct rp_ckpt *b = &r->ckpts[k];
	bool same_region = layout_has(b, g->addr, g->size, g->gen);
	if (!g->tracked && same_region)
		return true;
	uint64_t np = g->size / RP_PAGE;
	for (uint64_t base = 0; base < np; base += RP_SCAN) {
		uint64_t n = np - base < RP_SCAN ? np - base : RP_SCAN;
		rp_resident(r, g->host + base * RP_PAGE, n, vec);
		for (uint64_t j = 0; j < n; j++) {
			uint64_t a = g->addr + (base + j) * RP_PAGE;
			const uint8_t *p = g->host + (base + j) * RP_PAGE;
			bool zero = !vec[j] || page_is_zero(p);
			const uint8_t *want = same_region ? page_at(r, k, a) : NULL;
			if (r->imp_failed)
				return false;
			if (!want && zero)
				continue;
			if (want && !zero && memcmp(want, p, RP_PAGE) == 0)
				continue;
			if (!ckpt_add_page(c, cap, a, zero ? NULL : p))
				return false;
		}
	}
	return true;
}

static strand_status ckpt_take_any(struct strand_replay *r, int fine, strand_error *err)
{
	if (fine < 0 && r->nckpts == r->cap_ckpts) {
		uint32_t cap = r->cap_ckpts ? r->cap_ckpts * 2 : 64;
		struct rp_ckpt *p = realloc(r->ckpts, cap * sizeof *p);
		if (!p)
			return strand_error_set(err, STRAND_ERR_NOMEM, "cannot grow checkpoints");
		r->ckpts = p;
		r->cap_ckpts = cap;
	}
	struct rp_ckpt c;
	memset(&c, 0, sizeof c);
	uint8_t vec[RP_SCAN];
	c.pos = r->pos;
	c.cursor = r->next_cursor;
	c.have_last_event = r->have_last_event;
	c.last_event = r->last_event;
	c.exited = r->exited;
	c.cur = r->cur;
	c.nthreads = r->nthreads;
	c.threads = calloc(r->nthreads ? r->nthreads : 1, sizeof *c.threads);
	c.nlayout = r->nregions;
	c.layout = calloc(r->nregions ? r->nregions : 1, sizeof *c.layout);
	c.nmods = r->nmods;
	c.mod_loaded = calloc(r->nmods ? r->nmods : 1, sizeof *c.mod_loaded);
	uc_context *cur_saved = NULL;
	if (!c.threads || !c.layout || !c.mod_loaded ||
	    uc_context_alloc(r->uc, &cur_saved) != UC_ERR_OK)
		goto nomem;
	uc_context_save(r->uc, cur_saved);
	for (uint32_t i = 0; i < r->nthreads; i++) {
		c.threads[i] = r->threads[i];
		c.threads[i].ctx = NULL;
		if (r->threads[i].has_ctx && (i == r->cur || r->threads[i].ctx)) {
			c.threads[i].ctx = ctx_copy(r, i, cur_saved);
			if (!c.threads[i].ctx)
				goto nomem;
		}
	}
	for (uint32_t i = 0; i < r->nmods; i++)
		c.mod_loaded[i] = r->mods[i].loaded;
	uint32_t cap_pages = 0;
	for (uint32_t i = 0; i < r->nregions; i++) {
		struct rp_region *g = &r->regions[i];
		c.layout[i].addr = g->addr;
		c.layout[i].size = g->size;
		c.layout[i].prot = g->prot;
		c.layout[i].kind = g->kind;
		c.layout[i].gen = g->gen;
		c.layout[i].tracked = g->tracked;
		c.layout[i].name = strdup(g->name);
		if (!c.layout[i].name)
			goto nomem;
		if (fine >= 0) {
			if (!ckpt_fine_pages(r, &c, &cap_pages, g, (uint32_t)fine, vec))
				goto nomem;
			continue;
		}
		if (!g->tracked && g->gen <= r->ckpt_gen && r->nckpts)
			continue; /* unchanged read-only mapping */
		if (!ckpt_chain_pages(r, &c, &cap_pages, g, vec))
			goto nomem;
	}
	if (c.npages) /* qsort(NULL, 0) is undefined */
		if (c.npages)
		qsort(c.pages, c.npages, sizeof *c.pages, page_cmp);
	c.bytes = ckpt_bytes_of(r, &c);
	uc_context_free(cur_saved);
	if (fine >= 0) {
		c.base = fine;
		if (r->nfine == RP_FINE_MAX || r->fine_bytes + c.bytes > r->ckpt_limit / 8) {
			/* drop the oldest */
			if (r->nfine) {
				r->fine_bytes -= r->fine[0].bytes;
				ckpt_free(&r->fine[0]);
				memmove(&r->fine[0], &r->fine[1], (r->nfine - 1) * sizeof *r->fine);
				r->nfine--;
			}
		}
		r->fine[r->nfine++] = c;
		r->fine_bytes += c.bytes;
		return STRAND_OK;
	}
	c.base = -1;
	r->ckpt_gen = r->map_gen;
	r->ckpts[r->nckpts++] = c;
	r->ckpt_bytes += c.bytes;
	r->stats.checkpoints = r->nckpts;
	r->stats.checkpoint_bytes = r->ckpt_bytes;
	return STRAND_OK;
nomem:
	if (cur_saved)
		uc_context_free(cur_saved);
	ckpt_free(&c);
	if (r->imp_failed) {
		if (err)
			*err = r->imp_err;
		return r->imp_err.status;
	}
	return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate checkpoint at position %" PRIu64,
				r->pos);
}

/* Merge checkpoint k into k+1 (k+1 then also holds k's pages that it
 * lacked) and drop k. */
static void ckpt_merge_into_next(struct strand_replay *r, uint32_t k)
{
	struct rp_ckpt *a = &r->ckpts[k], *b = &r->ckpts[k + 1];
	uint32_t n = a->npages + b->npages, o = 0, i = 0, j = 0;
	struct rp_page *m = malloc((n ? n : 1) * sizeof *m);
	if (!m)
		return;
	while (i < a->npages || j < b->npages) {
		if (j >= b->npages || (i < a->npages && a->pages[i].addr < b->pages[j].addr)) {
			m[o++] = a->pages[i++];
		} else if (i >= a->npages || b->pages[j].addr < a->pages[i].addr) {
			m[o++] = b->pages[j++];
		} else {
			free(a->pages[i++].data);
			m[o++] = b->pages[j++];
		}
	}
	free(b->pages);
	b->pages = m;
	b->npages = o;
	free(a->pages);
	a->pages = NULL;
	a->npages = 0;
	r->ckpt_bytes -= a->bytes + b->bytes;
	b->bytes = ckpt_bytes_of(r, b);
	r->ckpt_bytes += b->bytes;
	ckpt_free(a);
	memmove(&r->ckpts[k], &r->ckpts[k + 1], (r->nckpts - k - 1) * sizeof *r->ckpts);
	r->nckpts--;
}

static void ckpt_thin(struct strand_replay *r)
{
	fine_clear(r);
	/* keep checkpoint 0 (full snapshot) and the newest */
	for (uint32_t k = 1; k + 1 < r->nckpts; k++)
		ckpt_merge_into_next(r, k);
	r->stats.checkpoints = r->nckpts;
	r->stats.checkpoint_bytes = r->ckpt_bytes;
}

/* Bytes of a page entry: its copy, or NULL for a zero page.  A page kept
 * in an index file is read (and checked) now; on failure r->imp_failed
 * is set and NULL returned. */
static const uint8_t *page_data(struct strand_replay *r, struct rp_page *pg)
{
	if (pg->kind == RP_PG_DATA)
		return pg->data;
	if (pg->kind == RP_PG_ZERO || r->imp_failed)
		return NULL;
	uint8_t *d = malloc(RP_PAGE);
	if (!d) {
		r->imp_failed = true;
		strand_error_set(&r->imp_err, STRAND_ERR_NOMEM, "cannot load a checkpoint page");
		return NULL;
	}
	ssize_t got = r->imp_fd >= 0 ? pread(r->imp_fd, d, RP_PAGE, (off_t)pg->src) : -1;
	if (got != (ssize_t)RP_PAGE || XXH3_64bits(d, RP_PAGE) != pg->hash) {
		free(d);
		r->imp_failed = true;
		strand_error_set(&r->imp_err, STRAND_ERR_CORRUPT,
				 "index %s at offset=%" PRIu64 ": page 0x%" PRIx64 " %s",
				 r->imp_path ? r->imp_path : "?", pg->src, pg->addr,
				 got == (ssize_t)RP_PAGE ? "checksum mismatch" : "cannot be read");
		return NULL;
	}
	pg->data = d;
	pg->kind = RP_PG_DATA;
	r->ckpt_bytes += RP_PAGE;
	return d;
}

static struct rp_page *page_find(struct rp_ckpt *c, uint64_t addr)
{
	uint32_t lo = 0, hi = c->npages;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (c->pages[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->npages && c->pages[lo].addr == addr ? &c->pages[lo] : NULL;
}

/* Version of page `addr` at checkpoint k: the newest entry at or before
 * k; NULL when that is a zero page or there is none (zero). */
static const uint8_t *page_at(struct strand_replay *r, uint32_t k, uint64_t addr)
{
	for (int64_t i = k; i >= 0; i--) {
		struct rp_page *pg = page_find(&r->ckpts[i], addr);
		if (pg)
			return page_data(r, pg);
	}
	return NULL;
}

/* Restore chain checkpoint k, or fine checkpoint `fine` if not NULL. */
static strand_status ckpt_restore_c(struct strand_replay *r, uint32_t k,
				    const struct rp_ckpt *fine, strand_error *err);

static strand_status ckpt_restore(struct strand_replay *r, uint32_t k, strand_error *err)
{
	return ckpt_restore_c(r, k, NULL, err);
}

/* Set the threads from an imported checkpoint (contexts as strand_cpu):
 * the running one is loaded into the emulator, the others become
 * pending contexts loaded at their next switch. */
static strand_status restore_imported_threads(struct strand_replay *r, const struct rp_ckpt *c,
					      strand_error *err)
{
	for (uint32_t i = 0; i < c->nthreads; i++) {
		r->threads[i] = c->threads[i];
		r->threads[i].ctx = NULL;
		if (c->threads[i].has_ctx && i != c->cur) {
			r->threads[i].init = c->cpus[i];
			r->threads[i].has_ctx = false;
		}
	}
	r->cur = c->cur;
	strand_status st = rp_cpu_write(r, r->cur, &c->cpus[r->cur], err);
	r->threads[r->cur].has_ctx = true;
	return st;
}

/* The newest page entry of every address at a checkpoint (fine
 * checkpoint c's own, then chain checkpoints k, k-1, ... 0): one pass
 * over the entries instead of a search through every checkpoint per
 * page.  Open addressing on the page address; NULL slots are empty. */
struct page_map {
	struct rp_page **slot;
	uint64_t cap;
};

static uint64_t pm_hash(uint64_t addr, uint64_t cap)
{
	return ((addr / RP_PAGE) * 0x9E3779B97F4A7C15ull >> 17) & (cap - 1);
}

static bool pm_build(struct strand_replay *r, const struct rp_ckpt *fine, uint32_t k,
		     struct page_map *m)
{
	uint64_t n = fine ? fine->npages : 0;
	for (uint32_t i = 0; i <= k; i++)
		n += r->ckpts[i].npages;
	m->cap = 64;
	while (m->cap < n * 2)
		m->cap *= 2;
	m->slot = calloc(m->cap, sizeof *m->slot);
	if (!m->slot)
		return false;
	for (int64_t i = fine ? -1 : (int64_t)k; i >= 0 || i == -1; i = i == -1 ? (int64_t)k : i - 1) {
		struct rp_ckpt *c = i < 0 ? (struct rp_ckpt *)fine : &r->ckpts[i];
		for (uint32_t j = 0; j < c->npages; j++) {
			uint64_t h = pm_hash(c->pages[j].addr, m->cap);
			while (m->slot[h] && m->slot[h]->addr != c->pages[j].addr)
				h = (h + 1) & (m->cap - 1);
			if (!m->slot[h])
				m->slot[h] = &c->pages[j];
		}
		if (i == 0)
			break;
	}
	return true;
}

static struct rp_page *pm_get(const struct page_map *m, uint64_t addr)
{
	uint64_t h = pm_hash(addr, m->cap);
	while (m->slot[h] && m->slot[h]->addr != addr)
		h = (h + 1) & (m->cap - 1);
	return m->slot[h];
}

static strand_status ckpt_restore_c(struct strand_replay *r, uint32_t k,
				    const struct rp_ckpt *fine, strand_error *err)
{
	const struct rp_ckpt *c = fine ? fine : &r->ckpts[k];
	strand_status st = STRAND_OK;
	uint8_t vec[RP_SCAN];
	struct page_map pm = { 0 };
	if (!pm_build(r, fine, fine ? (uint32_t)fine->base : k, &pm))
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot restore checkpoint");
	/* 1. layout: drop regions that are not in the checkpoint as they are */
	for (uint32_t i = 0; i < r->nregions;) {
		struct rp_region *g = &r->regions[i];
		bool keep = false;
		for (uint32_t j = 0; j < c->nlayout; j++)
			if (c->layout[j].addr == g->addr && c->layout[j].size == g->size &&
			    c->layout[j].gen == g->gen) {
				keep = true;
				break;
			}
		if (keep) {
			i++;
			continue;
		}
		st = rp_unmap(r, g->addr, g->size, err);
		if (st != STRAND_OK) {
			free(pm.slot);
			return st;
		}
	}
	bool code_changed = false;
	for (uint32_t j = 0; j < c->nlayout; j++) {
		const struct rp_layout_ent *l = &c->layout[j];
		struct rp_region *g = rp_region_find(r, l->addr);
		bool fresh = false;
		if (!g || g->addr != l->addr || g->size != l->size) {
			st = rp_map(r, l->addr, l->size, l->prot, l->kind, l->name, NULL, err);
			if (st != STRAND_OK) {
				free(pm.slot);
				return st;
			}
			g = rp_region_find(r, l->addr);
			g->gen = l->gen;
			fresh = true;
		} else if (g->prot != l->prot) {
			st = rp_protect(r, l->addr, l->size, l->prot, err);
			if (st != STRAND_OK) {
				free(pm.slot);
				return st;
			}
			g = rp_region_find(r, l->addr);
		}
		g->tracked = l->tracked || g->tracked;
		if (!fresh && !g->tracked)
			continue;
		uint64_t np = g->size / RP_PAGE;
		for (uint64_t base = 0; base < np; base += RP_SCAN) {
			uint64_t n = np - base < RP_SCAN ? np - base : RP_SCAN;
			if (fresh)
				memset(vec, 0, n);
			else
				rp_resident(r, g->host + base * RP_PAGE, n, vec);
			for (uint64_t q = 0; q < n; q++) {
				uint64_t off = (base + q) * RP_PAGE;
				struct rp_page *pg = pm_get(&pm, g->addr + off);
				const uint8_t *want = pg ? page_data(r, pg) : NULL;
				if (r->imp_failed) {
					free(pm.slot);
					if (err)
						*err = r->imp_err;
					return r->imp_err.status;
				}
				if (!want) {
					/* zero at the checkpoint: drop the page */
					if (!vec[q] || page_is_zero(g->host + off))
						continue;
					if (madvise(g->host + off, RP_PAGE, MADV_DONTNEED) != 0)
						memset(g->host + off, 0, RP_PAGE);
				} else {
					if (vec[q] && memcmp(g->host + off, want, RP_PAGE) == 0)
						continue;
					memcpy(g->host + off, want, RP_PAGE);
				}
				if (g->prot & STRAND_PROT_EXEC)
					code_changed = true;
			}
		}
	}
	free(pm.slot);
	if (code_changed) {
		rp_emu_drop_code(r);
	}
	/* 2. threads */
	for (uint32_t i = 0; i < r->nthreads; i++)
		if (r->threads[i].ctx)
			uc_context_free(r->threads[i].ctx);
	if (r->cap_threads < c->nthreads) {
		struct rp_thread *p = realloc(r->threads, c->nthreads * sizeof *p);
		if (!p)
			return strand_error_set(err, STRAND_ERR_NOMEM, "cannot restore threads");
		r->threads = p;
		r->cap_threads = c->nthreads;
	}
	r->nthreads = c->nthreads;
	r->cur = c->cur;
	if (c->cpus) {
		st = restore_imported_threads(r, c, err);
		if (st != STRAND_OK)
			return st;
	} else {
		for (uint32_t i = 0; i < c->nthreads; i++) {
			r->threads[i] = c->threads[i];
			r->threads[i].ctx = NULL;
			if (c->threads[i].ctx) {
				if (uc_context_alloc(r->uc, &r->threads[i].ctx) != UC_ERR_OK)
					return strand_error_set(err, STRAND_ERR_NOMEM,
								"cannot restore context");
				uc_context_restore(r->uc, c->threads[i].ctx);
				uc_context_save(r->uc, r->threads[i].ctx);
			}
		}
		if (r->threads[r->cur].ctx)
			uc_context_restore(r->uc, r->threads[r->cur].ctx);
	}
	/* 3. modules, events */
	for (uint32_t i = 0; i < r->nmods; i++)
		r->mods[i].loaded = i < c->nmods ? c->mod_loaded[i] : false;
	r->modview_dirty = true;
	r->pos = c->pos;
	r->exited = c->exited;
	r->have_last_event = c->have_last_event;
	r->last_event = c->last_event;
	r->last_blk_kind = 0;
	st = strand_reader_seek(r->rd, &c->cursor, err);
	if (st == STRAND_OK)
		st = rp_read_next(r, err);
	r->stats.restores++;
	return st;
}

/* For imported checkpoints (ckpt_io.c): free one; record the hash of a
 * page at the newest checkpoint; append a chain checkpoint (owned from
 * then on; its position after the newest's). */
void rp_ckpt_free(struct rp_ckpt *c)
{
	ckpt_free(c);
}

strand_status rp_module_add(struct strand_replay *r, const struct strand_module *m,
			    const struct strand_cursor *cursor, strand_error *err)
{
	strand_status st = module_add(r, m, err);
	if (st == STRAND_OK)
		for (uint32_t i = 0; i < r->nmods; i++)
			if (r->mods[i].m.id == m->id)
				r->mods[i].cursor = *cursor;
	return st;
}

bool rp_ph_set(struct strand_replay *r, uint64_t addr, uint64_t hash)
{
	if (!ph_grow(r))
		return false;
	struct rp_hashent *e = ph_slot(r, addr);
	if (!e->addr)
		r->ph_n++;
	e->addr = addr + 1;
	e->hash = hash;
	return true;
}

strand_status rp_ckpt_push(struct strand_replay *r, struct rp_ckpt *c, strand_error *err)
{
	if (r->nckpts == r->cap_ckpts) {
		uint32_t cap = r->cap_ckpts ? r->cap_ckpts * 2 : 64;
		struct rp_ckpt *p = realloc(r->ckpts, cap * sizeof *p);
		if (!p)
			return strand_error_set(err, STRAND_ERR_NOMEM, "cannot grow checkpoints");
		r->ckpts = p;
		r->cap_ckpts = cap;
	}
	c->base = -1;
	c->bytes = ckpt_bytes_of(r, c);
	r->ckpts[r->nckpts++] = *c;
	r->ckpt_bytes += c->bytes;
	r->stats.checkpoints = r->nckpts;
	r->stats.checkpoint_bytes = r->ckpt_bytes;
	memset(c, 0, sizeof *c);
	if (r->ckpt_bytes > r->ckpt_limit)
		ckpt_thin(r);
	return STRAND_OK;
}

/* Index of the newest checkpoint at or before pos. */
static uint32_t ckpt_find(const struct strand_replay *r, uint64_t pos)
{
	uint32_t lo = 0, hi = r->nckpts;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (r->ckpts[mid].pos <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

/* ===================================================================== */
/* Forward motion                                                         */
/* ===================================================================== */

static void progress(struct strand_replay *r, uint64_t target)
{
	if (!r->opt.progress)
		return;
	double t = rp_now();
	if (t - r->last_progress < 0.1)
		return;
	r->last_progress = t;
	r->opt.progress(r->opt.progress_ud, r->pos, target);
}

static bool event_stop_matches(const struct strand_replay *r, const struct strand_record *rec,
			       uint32_t *id)
{
	for (uint32_t i = 0; i < r->nstops; i++) {
		const struct strand_stop *s = &r->stops[i];
		if (s->kind == STRAND_STOP_EVENT && s->enabled &&
		    (s->rec_type == 0 || s->rec_type == rec->type)) {
			*id = s->id;
			return true;
		}
	}
	return false;
}

static bool fine_exists(const struct strand_replay *r, uint64_t pos)
{
	for (uint32_t i = 0; i < r->nfine; i++)
		if (r->fine[i].pos == pos)
			return true;
	return false;
}

/* Move forward to `target` (> or == r->pos), applying events.  With
 * `stops`, returns STRAND_STOPPED at the first stop hit whose position is
 * >= hit_min (hit filled).  STRAND_END if the trace ends before target. */
static strand_status advance(struct strand_replay *r, uint64_t target, bool stops,
			     uint64_t hit_min, struct strand_stop_hit *hit, strand_error *err)
{
	if (r->diverged) {
		if (err)
			*err = r->div_err;
		return r->div_err.status;
	}
	strand_status st = STRAND_OK;
	bool any_pos_stop = false, any_event_stop = false;
	if (stops)
		for (uint32_t i = 0; i < r->nstops; i++) {
			if (!r->stops[i].enabled)
				continue;
			if (r->stops[i].kind == STRAND_STOP_POSITION)
				any_pos_stop = true;
			if (r->stops[i].kind == STRAND_STOP_EVENT)
				any_event_stop = true;
		}
	bool saved_bp = r->bp_check, saved_watch = r->watch_check;
	if (!stops)
		r->bp_check = r->watch_check = false;
	r->observing = true;
	for (;;) {
		/* events at the current position */
		while (r->next && r->next->position == r->pos) {
			bool consuming = strand_rec_is_consuming(r->next->type);
			if (consuming && r->pos >= target)
				break;
			const struct strand_record *rec = r->next;
			uint32_t evid = 0;
			bool ev_hit = any_event_stop && event_stop_matches(r, rec, &evid);
			uint32_t rtype = rec->type;
			st = rp_apply_event(r, err);
			if (st == STRAND_OK)
				st = rp_read_next(r, err);
			if (st != STRAND_OK)
				goto out;
			if (ev_hit && r->pos >= hit_min) {
				if (hit) {
					memset(hit, 0, sizeof *hit);
					hit->stop_id = evid;
					hit->kind = STRAND_STOP_EVENT;
					hit->position = r->pos;
					hit->access = rtype;
				}
				st = STRAND_STOPPED;
				/* the rest of the events at this position are
				 * applied too, so the state is canonical */
				while (r->next && r->next->position == r->pos &&
				       !strand_rec_is_consuming(r->next->type)) {
					st = rp_apply_event(r, err);
					if (st == STRAND_OK)
						st = rp_read_next(r, err);
					if (st != STRAND_OK)
						goto out;
				}
				st = STRAND_STOPPED;
				goto out;
			}
		}
		if (r->pos > r->frontier)
			r->frontier = r->pos;
		/* checkpoint at the frontier */
		if (r->nckpts && r->pos >= r->ckpts[r->nckpts - 1].pos + r->ckpt_interval) {
			st = ckpt_take(r, err);
			if (st != STRAND_OK)
				goto out;
			if (r->ckpt_bytes > r->ckpt_limit)
				ckpt_thin(r);
		}
		if (r->fine_mode_base >= 0 && r->pos >= r->fine_next) {
			if (r->pos < target && !fine_exists(r, r->pos)) {
				st = ckpt_take_any(r, (int)r->fine_mode_base, err);
				if (st != STRAND_OK)
					goto out;
			}
			r->fine_next += r->fine_step * ((r->pos - r->fine_next) / r->fine_step + 1);
		}
		if (any_pos_stop && r->pos >= hit_min) {
			for (uint32_t i = 0; i < r->nstops; i++) {
				const struct strand_stop *s = &r->stops[i];
				if (s->enabled && s->kind == STRAND_STOP_POSITION && s->position == r->pos) {
					if (hit) {
						memset(hit, 0, sizeof *hit);
						hit->stop_id = s->id;
						hit->kind = STRAND_STOP_POSITION;
						hit->position = r->pos;
					}
					st = STRAND_STOPPED;
					goto out;
				}
			}
		}
		if (r->pos >= target)
			break;
		if (!r->next || r->exited) {
			st = STRAND_END;
			goto out;
		}
		if (r->next->position < r->pos) {
			/* events apply only at their own position: one the run
			 * went past can never be applied (a trace whose events
			 * lie about where they happen); without this the loop
			 * would make no progress forever */
			st = strand_error_set(err, STRAND_ERR_DIVERGENCE,
					      "divergence at position %" PRIu64 ": the next %s event "
					      "is recorded at position %" PRIu64 ", which execution "
					      "already passed", r->pos,
					      strand_rec_type_str(r->next->type), r->next->position);
			goto out;
		}
		uint64_t t = target;
		r->next_inline = rp_next_inlinable(r);
		if (r->next->position < t && !r->next_inline)
			t = r->next->position;
		uint64_t ck = r->ckpts[r->nckpts - 1].pos + r->ckpt_interval;
		if (ck > r->pos && ck < t)
			t = ck;
		if (r->fine_mode_base >= 0 && r->fine_next > r->pos && r->fine_next < t)
			t = r->fine_next;
		if (any_pos_stop)
			for (uint32_t i = 0; i < r->nstops; i++) {
				const struct strand_stop *s = &r->stops[i];
				if (s->enabled && s->kind == STRAND_STOP_POSITION &&
				    s->position > r->pos && s->position < t)
					t = s->position;
			}
		if (strand_rec_is_consuming(r->next->type) && r->next->position == t && !r->next_inline)
			rp_set_event_exit(r, r->next->type == STRAND_REC_SYSCALL ? r->next->u.syscall.pc
										: r->next->u.nondet.pc);
		/* breakpoint/watchpoint hits count from position hit_min on */
		r->hit_min = hit_min;
		st = rp_emu_run_to(r, t, err);
		if (st == STRAND_STOPPED) {
			if (r->watch_hit_pos != UINT64_MAX && r->pos == r->watch_hit_pos) {
				if (hit)
					*hit = r->watch_hit;
			} else if (hit) {
				memset(hit, 0, sizeof *hit);
				hit->stop_id = r->bp_hit_id;
				hit->kind = STRAND_STOP_BREAK;
				hit->position = r->pos;
				hit->addr = r->bp_hit_addr;
			}
			if (r->pos > r->frontier)
				r->frontier = r->pos;
			/* canonical state: non-consuming events here */
			while (r->next && r->next->position == r->pos &&
			       !strand_rec_is_consuming(r->next->type)) {
				strand_status s2 = rp_apply_event(r, err);
				if (s2 == STRAND_OK)
					s2 = rp_read_next(r, err);
				if (s2 != STRAND_OK) {
					st = s2;
					goto out;
				}
			}
			goto out;
		}
		if (st != STRAND_OK)
			goto out;
		progress(r, target);
	}
	st = STRAND_OK;
out:
	r->observing = false;
	r->bp_check = saved_bp;
	r->watch_check = saved_watch;
	if (r->pos > r->frontier)
		r->frontier = r->pos;
	if (st == STRAND_ERR_DIVERGENCE) {
		r->diverged = true;
		if (err)
			r->div_err = *err;
		else
			strand_error_set(&r->div_err, st, "divergence at position %" PRIu64, r->pos);
	}
	return st;
}

/* ===================================================================== */
/* Open, close                                                            */
/* ===================================================================== */

strand_status rp_open(const char *path, const struct strand_replay_options *opt,
		      bool allow_ordinal, struct strand_replay **out, strand_error *err)
{
	*out = NULL;
	struct strand_replay *r = calloc(1, sizeof *r);
	if (!r)
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate replay");
	r->imp_fd = -1;
	r->pagemap_fd = -1;
	strand_status st = strand_reader_open(path, &r->rd, err);
	if (st != STRAND_OK) {
		strand_error_wrap(err, st, "cannot open trace %s", path);
		goto fail;
	}
	r->info = *strand_reader_info(r->rd);
	r->ordinal = allow_ordinal && (r->info.flags & STRAND_TRACE_F_ORDINAL_POSITIONS);
	r->rd_path = strdup(path);
	if (!r->rd_path) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate replay");
		goto fail;
	}
	if (opt)
		r->opt = *opt;
	r->ckpt_interval = r->opt.checkpoint_interval ? r->opt.checkpoint_interval : DEFAULT_INTERVAL;
	r->ckpt_limit = r->opt.checkpoint_memory_limit ? r->opt.checkpoint_memory_limit : DEFAULT_LIMIT;
	r->fine_step = r->ckpt_interval / 16 > 4096 ? r->ckpt_interval / 16 : 4096;
	r->fine_mode_base = -1;
	{
		static const uint8_t zero_page[RP_PAGE];
		r->zero_hash = XXH3_64bits(zero_page, RP_PAGE);
	}
	r->swap_on = host_swap_on();
	r->pagemap_fd = r->swap_on ? open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC) : -1;
	if (r->info.arch != STRAND_ARCH_X86_32 && r->info.arch != STRAND_ARCH_X86_64) {
		st = strand_error_set(err, STRAND_ERR_UNSUPPORTED, "cannot replay %s: architecture %s",
				      path, strand_arch_str(r->info.arch));
		goto fail;
	}
	if ((r->info.flags & STRAND_TRACE_F_ORDINAL_POSITIONS) && !allow_ordinal) {
		st = strand_error_set(err, STRAND_ERR_UNSUPPORTED,
				      "cannot replay %s: event positions are ordinals; run 'strand finalize %s' first",
				      path, path);
		goto fail;
	}
	const struct strand_trace_summary *sum = strand_reader_summary(r->rd);
	r->end = sum->last_position;
	strand_replay_default_budget(sum->file_size, &r->max_insns, &r->max_mem);
	if (r->opt.max_instructions)
		r->max_insns = r->opt.max_instructions;
	if (r->opt.max_memory)
		r->max_mem = r->opt.max_memory;
	if (!r->opt.checkpoint_memory_limit && r->ckpt_limit > r->max_mem / 2)
		r->ckpt_limit = r->max_mem / 2;
	if (r->end > r->max_insns && !r->ordinal) {
		st = strand_error_set(err, STRAND_ERR_LIMIT,
				      "trace %s claims %" PRIu64 " instructions in %" PRIu64
				      " bytes, over the budget of %" PRIu64
				      " instructions (--max-instructions)",
				      path, r->end, sum->file_size, r->max_insns);
		goto fail;
	}
	st = rp_emu_init(r, err);
	if (st != STRAND_OK)
		goto fail;
	r->bp_hit_pos = UINT64_MAX;
	r->watch_hit_pos = UINT64_MAX;
	r->nt_write_file = nt_write_file_builtin();
	/* the snapshot */
	uint32_t run_tid = 0;
	bool have_run_tid = false;
	for (;;) {
		st = rp_read_next(r, err);
		if (st != STRAND_OK)
			goto fail;
		if (!r->next) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT, "trace %s has no snapshot end", path);
			goto fail;
		}
		const struct strand_record *rec = r->next;
		if (rec->type == STRAND_REC_SNAPSHOT_END) {
			run_tid = rec->tid;
			have_run_tid = true;
			break;
		}
		if (rec->position != 0) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT,
					      "snapshot record %s at position %" PRIu64,
					      strand_rec_type_str(rec->type), rec->position);
			goto fail;
		}
		if (rec->type == STRAND_REC_MODULE)
			st = module_add(r, &rec->u.module, err);
		else if (rec->type == STRAND_REC_REGION &&
			 (st = budget_map(r, rec->u.region.addr, rec->u.region.size, err)) == STRAND_OK)
			st = rp_map(r, rec->u.region.addr, rec->u.region.size, rec->u.region.prot,
				    rec->u.region.kind, rec->u.region.name, rec->u.region.data, err);
		else if (rec->type == STRAND_REC_THREAD)
			st = thread_add(r, rec->tid, &rec->u.thread, err);
		else if (rec->type == STRAND_REC_NOTE && rec->u.note.key &&
			 !strcmp(rec->u.note.key, "syscall-table"))
			r->nt_write_file = nt_write_file_in(rec);
		if (st != STRAND_OK) {
			strand_error_wrap(err, st, "cannot load snapshot of %s", path);
			goto fail;
		}
	}
	if (r->nthreads == 0) {
		st = strand_error_set(err, STRAND_ERR_CORRUPT, "trace %s has no thread", path);
		goto fail;
	}
	int ti = have_run_tid ? thread_index(r, run_tid) : -1;
	r->cur = ti >= 0 ? (uint32_t)ti : 0;
	st = rp_cpu_write(r, r->cur, &r->threads[r->cur].init, err);
	if (st != STRAND_OK)
		goto fail;
	r->threads[r->cur].has_ctx = true;
	/* SNAPSHOT_END itself */
	st = rp_read_next(r, err);
	if (st != STRAND_OK)
		goto fail;
	r->ev_frontier = r->next_cursor;
	st = ckpt_take(r, err);
	if (st != STRAND_OK)
		goto fail;
	/* non-consuming events at position 0 belong to the state at 0 */
	if (!r->ordinal)
		st = advance(r, 0, false, 0, NULL, err);
	if (st != STRAND_OK && st != STRAND_END)
		goto fail;
	*out = r;
	return STRAND_OK;
fail:
	strand_replay_close(r);
	return st;
}

strand_status strand_replay_open(const char *path, const struct strand_replay_options *opt,
				 struct strand_replay **out, strand_error *err)
{
	if (!path || !out)
		return strand_error_set(err, STRAND_ERR_INVALID, "strand_replay_open: NULL argument");
	return rp_open(path, opt, false, out, err);
}

void strand_replay_close(struct strand_replay *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < r->nckpts; i++)
		ckpt_free(&r->ckpts[i]);
	free(r->ckpts);
	fine_clear(r);
	free(r->ph);
	if (r->imp_fd >= 0)
		close(r->imp_fd);
	strand_reader_close(r->imp_rd);
	if (r->pagemap_fd >= 0)
		close(r->pagemap_fd);
	free(r->imp_path);
	for (uint32_t i = 0; i < r->nthreads; i++)
		if (r->threads[i].ctx)
			uc_context_free(r->threads[i].ctx);
	free(r->threads);
	for (uint32_t i = 0; i < r->nregions; i++) {
		struct rp_region *g = &r->regions[i];
		if (r->uc)
			uc_mem_unmap(r->uc, g->addr, g->size);
	}
	rp_emu_fini(r);
	for (uint32_t i = 0; i < r->nregions; i++) {
		free(r->regions[i].name);
		if (r->regions[i].host)
			munmap(r->regions[i].host, r->regions[i].size);
	}
	free(r->regions);
	for (uint32_t i = 0; i < r->nmods; i++) {
		free(r->mods[i].strings);
		free(r->mods[i].syms);
	}
	free(r->mods);
	free(r->modview);
	free(r->stops);
	free(r->obs);
	strand_reader_close(r->rd);
	strand_reader_close(r->rd2);
	free(r->rd_path);
	free(r);
}

const struct strand_trace_info *strand_replay_info(const struct strand_replay *r)
{
	return &r->info;
}

struct strand_reader *strand_replay_reader(struct strand_replay *r)
{
	return r->rd;
}

void strand_replay_get_stats(const struct strand_replay *r, struct strand_replay_stats *out)
{
	*out = r->stats;
	out->checkpoints = r->nckpts;
	out->checkpoint_bytes = r->ckpt_bytes;
}

uint64_t strand_replay_position(const struct strand_replay *r)
{
	return r->pos;
}

uint64_t strand_replay_end(const struct strand_replay *r)
{
	return r->end;
}

/* ===================================================================== */
/* Motion                                                                 */
/* ===================================================================== */

/* Go to pos; backward (or far forward) through a checkpoint. */
/* Restore the closest checkpoint at or before pos (chain or fine) and
 * arrange fine checkpoints on the way to pos, so that further backward
 * steps near pos re-execute little. */
static strand_status restore_before(struct strand_replay *r, uint64_t pos, strand_error *err)
{
	uint32_t k = ckpt_find(r, pos);
	const struct rp_ckpt *best = NULL;
	for (uint32_t i = 0; i < r->nfine; i++) {
		const struct rp_ckpt *f = &r->fine[i];
		if (f->base == (int32_t)k && f->pos <= pos && (!best || f->pos > best->pos))
			best = f;
	}
	strand_status st = ckpt_restore_c(r, k, best, err);
	if (st != STRAND_OK)
		return st;
	uint64_t from = best ? best->pos : r->ckpts[k].pos;
	if (pos - from > r->fine_step) {
		/* only within the last two fine steps before pos: each fine
		 * checkpoint hashes every materialised page (~12 ms on a
		 * python heap), and a random seek made up to 16 of them (p90
		 * 200 ms); motion further back takes its own when it needs
		 * them */
		uint64_t base = r->ckpts[k].pos;
		uint64_t start = pos - from > 2 * r->fine_step ? pos - 2 * r->fine_step : from;
		r->fine_mode_base = k;
		r->fine_next = base + ((start - base) / r->fine_step + 1) * r->fine_step;
	}
	return STRAND_OK;
}

/* Go to pos; backward (or far forward) through a checkpoint. */
static strand_status goto_pos(struct strand_replay *r, uint64_t pos, strand_error *err)
{
	if (pos < r->pos || r->diverged) {
		if (r->diverged && pos >= r->pos) {
			if (err)
				*err = r->div_err;
			return r->div_err.status;
		}
		bool was_div = r->diverged;
		r->diverged = false;
		strand_status st = restore_before(r, pos, err);
		if (st == STRAND_OK)
			st = advance(r, pos, false, 0, NULL, err);
		r->fine_mode_base = -1;
		if (st != STRAND_OK && was_div)
			r->diverged = true;
		return st;
	}
	uint32_t k = ckpt_find(r, pos);
	if (r->ckpts[k].pos > r->pos + r->ckpt_interval / 4 && r->ckpts[k].pos <= pos &&
	    (r->ckpts[k].pos <= r->frontier || r->ckpts[k].cpus /* imported */)) {
		/* a checkpoint ahead is cheaper than executing up to it,
		 * unless observers still need that stretch */
		if (!(r->nobs && r->ckpts[k].pos > r->frontier)) {
			strand_status st = ckpt_restore(r, k, err);
			if (st != STRAND_OK)
				return st;
		}
	}
	return advance(r, pos, false, 0, NULL, err);
}

strand_status strand_replay_seek(struct strand_replay *r, uint64_t pos, strand_error *err)
{
	if (pos > r->end)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"position %" PRIu64 " beyond the end %" PRIu64, pos, r->end);
	strand_status st = goto_pos(r, pos, err);
	return st == STRAND_END ? STRAND_OK : st;
}

strand_status strand_replay_step(struct strand_replay *r, int64_t n, strand_error *err)
{
	if (n >= 0) {
		uint64_t t = r->pos + (uint64_t)n;
		bool clip = t > r->end || t < r->pos;
		strand_status st = goto_pos(r, clip ? r->end : t, err);
		if (st == STRAND_OK && clip)
			return STRAND_END;
		return st;
	}
	uint64_t back = (uint64_t)(-(n + 1)) + 1;
	if (back > r->pos) {
		strand_status st = goto_pos(r, 0, err);
		return st == STRAND_OK ? STRAND_END : st;
	}
	return goto_pos(r, r->pos - back, err);
}

/* Forward run with stops from the current position. */
static strand_status run_forward(struct strand_replay *r, struct strand_stop_hit *hit,
				 strand_error *err)
{
	struct strand_stop_hit h;
	memset(&h, 0, sizeof h);
	strand_status st = advance(r, r->end, true, r->pos + 1, &h, err);
	if (st == STRAND_OK || st == STRAND_END) {
		if (hit) {
			memset(hit, 0, sizeof *hit);
			hit->position = r->pos;
		}
		return STRAND_END;
	}
	if (st == STRAND_STOPPED && hit)
		*hit = h;
	return st;
}

/* Backward: the last stop hit strictly before the current position, by
 * re-running each checkpoint interval forward, newest first. */
static strand_status run_backward(struct strand_replay *r, struct strand_stop_hit *hit,
				  strand_error *err)
{
	uint64_t limit = r->pos;
	if (limit == 0)
		return STRAND_END;
	uint32_t k = ckpt_find(r, limit - 1);
	for (;;) {
		strand_status st = ckpt_restore(r, k, err);
		if (st != STRAND_OK)
			return st;
		struct strand_stop_hit last, h;
		bool found = false;
		uint64_t min = r->pos;
		for (;;) {
			memset(&h, 0, sizeof h);
			st = advance(r, limit - 1, true, min, &h, err);
			if (st == STRAND_STOPPED) {
				if (h.position >= limit)
					break;
				last = h;
				found = true;
				min = r->pos + 1;
				if (r->pos >= limit - 1)
					break;
				continue;
			}
			if (st != STRAND_OK && st != STRAND_END)
				return st;
			break;
		}
		if (found) {
			st = goto_pos(r, last.position, err);
			if (st != STRAND_OK)
				return st;
			last.position = r->pos;
			if (hit)
				*hit = last;
			return STRAND_STOPPED;
		}
		if (k == 0) {
			st = goto_pos(r, 0, err);
			if (hit) {
				memset(hit, 0, sizeof *hit);
			}
			return st == STRAND_OK ? STRAND_END : st;
		}
		limit = r->ckpts[k].pos + 1;
		if (r->ckpts[k].pos == 0) {
			st = goto_pos(r, 0, err);
			return st == STRAND_OK ? STRAND_END : st;
		}
		k--;
	}
}

strand_status strand_replay_run(struct strand_replay *r, strand_dir dir,
				struct strand_stop_hit *hit, strand_error *err)
{
	if (dir == STRAND_FORWARD)
		return run_forward(r, hit, err);
	return run_backward(r, hit, err);
}

/* ===================================================================== */
/* Stops                                                                  */
/* ===================================================================== */

strand_status strand_replay_stop_add(struct strand_replay *r, const struct strand_stop *s,
				     uint32_t *id, strand_error *err)
{
	if (!s || s->kind < STRAND_STOP_BREAK || s->kind > STRAND_STOP_POSITION)
		return strand_error_set(err, STRAND_ERR_INVALID, "bad stop kind");
	if (s->kind == STRAND_STOP_WATCH && (s->len == 0 || !(s->access & 3)))
		return strand_error_set(err, STRAND_ERR_INVALID,
					"watchpoint needs a length and an access mask");
	if (r->nstops == r->cap_stops) {
		uint32_t cap = r->cap_stops ? r->cap_stops * 2 : 8;
		struct strand_stop *p = realloc(r->stops, cap * sizeof *p);
		if (!p)
			return strand_error_set(err, STRAND_ERR_NOMEM, "cannot add stop");
		r->stops = p;
		r->cap_stops = cap;
	}
	struct strand_stop *n = &r->stops[r->nstops++];
	*n = *s;
	n->id = ++r->next_stop_id;
	if (id)
		*id = n->id;
	return rp_emu_update_hooks(r, err);
}

strand_status strand_replay_stop_del(struct strand_replay *r, uint32_t id)
{
	for (uint32_t i = 0; i < r->nstops; i++) {
		if (r->stops[i].id == id) {
			memmove(&r->stops[i], &r->stops[i + 1], (r->nstops - i - 1) * sizeof *r->stops);
			r->nstops--;
			rp_emu_update_hooks(r, NULL);
			return STRAND_OK;
		}
	}
	return STRAND_NOT_FOUND;
}

const struct strand_stop *strand_replay_stops(const struct strand_replay *r, uint32_t *n)
{
	*n = r->nstops;
	return r->stops;
}

/* ===================================================================== */
/* Threads, last event                                                    */
/* ===================================================================== */

uint32_t strand_replay_thread(const struct strand_replay *r)
{
	return r->threads[r->cur].tid;
}

strand_status strand_replay_threads(const struct strand_replay *r, uint32_t *tids, uint32_t max,
				    uint32_t *n)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < r->nthreads; i++) {
		if (!r->threads[i].alive)
			continue;
		if (k < max && tids)
			tids[k] = r->threads[i].tid;
		k++;
	}
	*n = k;
	return STRAND_OK;
}

strand_status strand_replay_cpu(struct strand_replay *r, struct strand_cpu *out, strand_error *err)
{
	if (!out)
		return strand_error_set(err, STRAND_ERR_INVALID, "NULL output");
	rp_cpu_read(r, out);
	return STRAND_OK;
}

const struct strand_record *strand_replay_last_event(const struct strand_replay *r_)
{
	struct strand_replay *r = (struct strand_replay *)r_;
	if (!r->have_last_event)
		return NULL;
	if (!r->rd2) {
		strand_error e;
		if (strand_reader_open(r->rd_path, &r->rd2, &e) != STRAND_OK)
			return NULL;
	}
	if (strand_reader_seek(r->rd2, &r->last_event, NULL) != STRAND_OK)
		return NULL;
	const struct strand_record *rec = NULL;
	if (strand_reader_next(r->rd2, &rec, NULL) != STRAND_OK)
		return NULL;
	return rec;
}

/* ===================================================================== */
/* Step over / step out                                                   */
/* ===================================================================== */

static uint64_t cur_sp(struct strand_replay *r)
{
	return rp_gpr(r, STRAND_REG_RSP);
}

/* Run forward to the first position where pc == addr and sp >= sp_min,
 * with a temporary breakpoint; STRAND_END if the trace ends first. */
static strand_status run_to_pc_sp(struct strand_replay *r, uint64_t addr, uint64_t sp_min,
				  strand_error *err)
{
	struct strand_stop s = { .kind = STRAND_STOP_BREAK, .addr = addr, .enabled = true };
	uint32_t id;
	/* only this breakpoint: park the user's stops */
	struct strand_stop *saved = r->stops;
	uint32_t nsaved = r->nstops, capsaved = r->cap_stops;
	r->stops = NULL;
	r->nstops = r->cap_stops = 0;
	strand_status st = strand_replay_stop_add(r, &s, &id, err);
	while (st == STRAND_OK) {
		struct strand_stop_hit h;
		st = advance(r, r->end, true, r->pos + 1, &h, err);
		if (st == STRAND_STOPPED) {
			if (h.kind == STRAND_STOP_BREAK && cur_sp(r) >= sp_min) {
				st = STRAND_OK;
				break;
			}
			st = STRAND_OK;
			continue;
		}
		if (st == STRAND_OK)
			st = STRAND_END;
	}
	free(r->stops);
	r->stops = saved;
	r->nstops = nsaved;
	r->cap_stops = capsaved;
	rp_emu_update_hooks(r, NULL);
	return st;
}

strand_status strand_replay_step_over(struct strand_replay *r, strand_dir dir, strand_error *err)
{
	if (dir == STRAND_FORWARD) {
		ZydisDecodedInstruction ins;
		uint64_t pc = rp_pc(r);
		bool is_call = rp_decode(r, pc, &ins, NULL) && ins.mnemonic == ZYDIS_MNEMONIC_CALL;
		if (!is_call || (r->next && r->next->position == r->pos &&
				 strand_rec_is_consuming(r->next->type)))
			return strand_replay_step(r, 1, err);
		return run_to_pc_sp(r, pc + ins.length, cur_sp(r), err);
	}
	if (r->pos == 0)
		return STRAND_END;
	/* backward: the previous instruction of this frame; if it was a ret
	 * of a callee, the call that made it */
	uint64_t here = r->pos, pc = rp_pc(r), sp = cur_sp(r);
	strand_status st = goto_pos(r, here - 1, err);
	if (st != STRAND_OK)
		return st;
	ZydisDecodedInstruction ins;
	if (!rp_decode(r, rp_pc(r), &ins, NULL) || ins.mnemonic != ZYDIS_MNEMONIC_RET ||
	    cur_sp(r) >= sp)
		return STRAND_OK;
	/* find the last call before here whose fall-through is pc with the
	 * same stack pointer */
	for (int len = 2; len <= 7; len++) {
		uint64_t ca = pc - (uint64_t)len;
		if (!rp_decode(r, ca, &ins, NULL) || ins.mnemonic != ZYDIS_MNEMONIC_CALL ||
		    ins.length != len)
			continue;
		struct strand_stop s = { .kind = STRAND_STOP_BREAK, .addr = ca, .enabled = true };
		struct strand_stop *saved = r->stops;
		uint32_t nsaved = r->nstops, capsaved = r->cap_stops;
		r->stops = NULL;
		r->nstops = r->cap_stops = 0;
		uint32_t id;
		st = strand_replay_stop_add(r, &s, &id, err);
		uint64_t best = UINT64_MAX;
		/* collect hits in [0, here) from the newest checkpoint down */
		uint64_t limit = here;
		while (st == STRAND_OK && best == UINT64_MAX) {
			struct strand_stop_hit h;
			st = run_backward(r, &h, err);
			if (st == STRAND_STOPPED) {
				st = STRAND_OK;
				if (cur_sp(r) == sp) {
					best = r->pos;
					break;
				}
				continue;
			}
			break;
		}
		(void)limit;
		free(r->stops);
		r->stops = saved;
		r->nstops = nsaved;
		r->cap_stops = capsaved;
		rp_emu_update_hooks(r, NULL);
		if (best != UINT64_MAX)
			return goto_pos(r, best, err);
		if (st != STRAND_OK && st != STRAND_END)
			return st;
		return goto_pos(r, here - 1, err);
	}
	return STRAND_OK;
}

/* The call that entered the current function of the running thread, from
 * the calls and returns of that thread replayed up to here: *pos its
 * position, *slot where it pushed the return address, *ret that address.
 * A return pops the frames whose slot it pops (or that lie below it); a
 * call abandons frames at or below its slot; frames below the current
 * stack pointer are gone.  The innermost frame left is the current one.
 * Windows of checkpoints are replayed, newest first and doubling, until
 * one holds the entry.  STRAND_NOT_FOUND if the trace starts inside this
 * function (a thread's first function).  The handle is left anywhere:
 * callers go back where they want. */
struct frame_call {
	uint64_t pos, slot, ret;
};

static strand_status find_frame_entry(struct strand_replay *r, uint64_t *pos, uint64_t *slot,
				      uint64_t *ret, strand_error *err)
{
	uint64_t ps = r->mode == UC_MODE_64 ? 8 : 4;
	uint64_t here = r->pos, sp = cur_sp(r);
	uint32_t tid = strand_replay_thread(r);
	if (here == 0)
		return STRAND_NOT_FOUND;
	struct frame_call *stk = NULL;
	size_t n = 0, cap = 0;
	strand_status st = STRAND_OK;
	struct strand_stop *saved = r->stops;
	uint32_t nsaved = r->nstops, capsaved = r->cap_stops;
	r->stops = NULL;
	r->nstops = r->cap_stops = 0;
	rp_emu_update_hooks(r, NULL);
	uint32_t k = ckpt_find(r, here - 1), span = 1;
	bool found = false;
	for (;;) {
		n = 0;
		if ((st = ckpt_restore(r, k, err)) != STRAND_OK)
			break;
		uint64_t min = r->pos;
		while (r->pos < here) {
			struct strand_stop_hit h;
			r->call_check = r->ret_check = true;
			st = advance(r, here - 1, true, min, &h, err);
			r->call_check = r->ret_check = false;
			if (st != STRAND_STOPPED) {
				if (st == STRAND_END || st == STRAND_OK)
					st = STRAND_OK;
				break;
			}
			st = STRAND_OK;
			min = r->pos + 1;
			if (r->pos >= here)
				break;
			if (strand_replay_thread(r) != tid)
				continue;
			ZydisDecodedInstruction ins;
			uint64_t pc = rp_pc(r), s = cur_sp(r);
			if (!rp_decode(r, pc, &ins, NULL))
				continue;
			if (ins.mnemonic == ZYDIS_MNEMONIC_CALL) {
				while (n && stk[n - 1].slot <= s - ps)
					n--;
				if (n == cap) {
					size_t nc = cap ? cap * 2 : 64;
					struct frame_call *p = realloc(stk, nc * sizeof *p);
					if (!p) {
						st = strand_error_set(err, STRAND_ERR_NOMEM,
								      "step out: no memory");
						break;
					}
					stk = p;
					cap = nc;
				}
				stk[n++] = (struct frame_call){ r->pos, s - ps, pc + ins.length };
			} else if (ins.mnemonic == ZYDIS_MNEMONIC_RET) {
				while (n && stk[n - 1].slot <= s)
					n--;
			}
		}
		if (st != STRAND_OK)
			break;
		while (n && stk[n - 1].slot < sp)
			n--;
		if (n) {
			found = true;
			break;
		}
		if (k == 0)
			break;
		k = k > span ? k - span : 0;
		span *= 2;
	}
	r->stops = saved;
	r->nstops = nsaved;
	r->cap_stops = capsaved;
	rp_emu_update_hooks(r, NULL);
	if (found) {
		*pos = stk[n - 1].pos;
		*slot = stk[n - 1].slot;
		*ret = stk[n - 1].ret;
	}
	free(stk);
	if (st != STRAND_OK)
		return st;
	return found ? STRAND_OK : STRAND_NOT_FOUND;
}

/* Forward: to the return of the current function, found as the frame's
 * return address reached with the frame's stack depth (sp above the
 * slot of the call that entered it), so an `add esp` or a callee's `ret
 * N` inside the function cannot pass for its return.  Backward: to that
 * call.  A thread's first function (no call in the trace) falls back to
 * the first ret at or above the current stack pointer, forward. */
strand_status strand_replay_step_out(struct strand_replay *r, strand_dir dir, strand_error *err)
{
	uint64_t ps = r->mode == UC_MODE_64 ? 8 : 4;
	uint64_t here = r->pos, sp0 = cur_sp(r);
	uint64_t cpos = 0, slot = 0, ret = 0;
	if (dir == STRAND_BACKWARD && here == 0)
		return STRAND_END;
	strand_status st = find_frame_entry(r, &cpos, &slot, &ret, err);
	if (st < 0)
		return st;
	if (st == STRAND_OK) {
		if (dir == STRAND_BACKWARD)
			return goto_pos(r, cpos, err);
		if ((st = goto_pos(r, here, err)) != STRAND_OK)
			return st;
		return run_to_pc_sp(r, ret, slot + ps, err);
	}
	/* no entering call in the trace */
	strand_status back = goto_pos(r, here, err);
	if (back != STRAND_OK)
		return back;
	if (dir == STRAND_BACKWARD)
		return STRAND_NOT_FOUND;
	struct strand_stop *saved = r->stops;
	uint32_t nsaved = r->nstops, capsaved = r->cap_stops;
	r->stops = NULL;
	r->nstops = r->cap_stops = 0;
	rp_emu_update_hooks(r, NULL);
	for (;;) {
		ZydisDecodedInstruction ins;
		if (rp_decode(r, rp_pc(r), &ins, NULL) && ins.mnemonic == ZYDIS_MNEMONIC_RET &&
		    cur_sp(r) >= sp0) {
			st = strand_replay_step(r, 1, err);
			break;
		}
		struct strand_stop_hit h;
		r->ret_check = true;
		st = advance(r, r->end, true, r->pos + 1, &h, err);
		r->ret_check = false;
		if (st == STRAND_STOPPED)
			continue;
		if (st == STRAND_OK)
			st = STRAND_END;
		break;
	}
	r->stops = saved;
	r->nstops = nsaved;
	r->cap_stops = capsaved;
	rp_emu_update_hooks(r, NULL);
	return st;
}
