/*
 * strand_finalize_positions(): turn a trace whose event positions are
 * ordinals (STRAND_TRACE_F_ORDINAL_POSITIONS: the number of consuming
 * events before each event) into one with exact instruction positions.
 *
 * The trace is replayed: before each consuming event (SYSCALL, NONDET)
 * execution runs until it reaches the event's pc (a Unicorn exit there;
 * any syscall/cpuid/rdtsc... met on the way is a divergence), and the
 * number of instructions retired is the event's exact position.  A
 * non-consuming event is placed at the position where replay stands
 * when it comes, i.e. right after the previous consuming event, except
 * a KEYFRAME: it says where the running thread stands, so execution runs
 * on to the first position where the thread's state equals the key
 * frame's (see run_to_state): a recorder can therefore stop a thread
 * anywhere in user code (a fault, an asynchronous signal, a preemption),
 * write a KEYFRAME of that state and then the event that happens there.
 * Key frames are checked on the way, so the output is a verified trace.
 *
 * A thread that waits in the kernel while another runs (a multi-threaded
 * Linux recording) is left standing at its syscall instruction: the
 * recorder writes a NOTE "at-syscall" and a KEYFRAME of that thread.  At
 * a syscall entry the kernel has already overwritten rcx and r11 (the
 * instruction's own outputs), so the search compares every register but
 * those two and rflags (flags the CPU leaves undefined, such as AF after
 * a logical instruction, differ between the CPU and the emulator and no
 * program reads them), and the output key frame gets the replay's values
 * of the three;
 * the position is the first arrival at that instruction (the search ends
 * at the first kernel transition anyway).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "replay/replay_int.h"

/* ===================================================================== */
/* Finding the position of a recorded state                               */
/* ===================================================================== */

/* A search for the first position where the running thread's state is
 * `want` and memory matches the key frame's digests. */
struct fz_search {
	struct strand_replay *r;
	const struct strand_cpu *want;
	const struct strand_keyframe *kf;
	unsigned skip;           /* bit i: general register i not compared; FZ_SKIP_FLAGS */
	uint64_t arrivals;       /* times execution reached want->rip */
	uint64_t reg_matches;    /* of those, with every register equal */
	bool found;
};

static const int fz_gpr_ids[16] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

#define FZ_SKIP_FLAGS (1u << 16) /* in a skip mask: rflags not compared */
/* The flags compared: TF and DF only.  The arithmetic status flags (CF
 * PF AF ZF SF OF) are left undefined by many instructions (AF after
 * logical ones; SF ZF AF PF after imul; all but ZF after bsf; OF after a
 * shift by more than one), and the CPU sets them there otherwise than
 * the emulator does: found preempting xz's compression loop (AF) and a
 * thread looping over imul/bsf/shl (the others), whose recorded state
 * then never recurred.  The general and SSE registers and the memory
 * digests identify the position; the finalized key frame carries the
 * replay's status flags, so a later check compares like with like and a
 * position chosen wrongly shows as a divergence at the next checked fact. */
#define FZ_FLAGS 0x500u
#define FZ_STATUS 0x8d5ull /* CF PF AF ZF SF OF */

/* The running thread's general registers, flags and SSE registers equal
 * w's, but those in `skip` (bit i: general register i) (the same comparison a key frame check makes; x86-64 only). */
static bool fz_regs_match(struct strand_replay *r, const struct strand_cpu *w, unsigned skip)
{
	uint64_t v[16];
	void *ptrs[16];
	for (int i = 0; i < 16; i++)
		ptrs[i] = &v[i];
	if (uc_reg_read_batch(r->uc, (int *)fz_gpr_ids, ptrs, 16) != UC_ERR_OK)
		return false;
	for (int i = 0; i < 16; i++)
		if (v[i] != w->gpr[i] && !(skip & (1u << i)))
			return false;
	uint64_t fl = 0;
	uc_reg_read(r->uc, UC_X86_REG_RFLAGS, &fl);
	if ((fl & FZ_FLAGS) != (w->rflags & FZ_FLAGS) && !(skip & FZ_SKIP_FLAGS))
		return false;
	static const uint8_t zero[512];
	if (memcmp(w->fxsave, zero, sizeof zero) != 0) {
		for (int x = 0; x < 16; x++) {
			uint8_t xmm[16];
			uc_reg_read(r->uc, UC_X86_REG_XMM0 + x, xmm);
			if (memcmp(xmm, w->fxsave + 160 + 16 * x, 16))
				return false;
		}
	}
	return true;
}

/* Every digest of the key frame matches replay memory. */
static bool fz_memory_matches(struct strand_replay *r, const struct strand_keyframe *k)
{
	XXH3_state_t *xs = XXH3_createState();
	if (!xs)
		return false;
	bool ok = true;
	for (uint32_t i = 0; i < k->ndigests && ok; i++) {
		const struct strand_digest *d = &k->digests[i];
		XXH3_64bits_reset(xs);
		uint64_t done = 0;
		while (done < d->size) {
			struct rp_region *g = rp_region_find(r, d->addr + done);
			if (!g) {
				ok = false;
				break;
			}
			uint64_t off = d->addr + done - g->addr, n = g->size - off;
			if (n > d->size - done)
				n = d->size - done;
			XXH3_64bits_update(xs, g->host + off, n);
			done += n;
		}
		ok = ok && XXH3_64bits_digest(xs) == d->hash;
	}
	XXH3_freeState(xs);
	return ok;
}

/* Position of the instruction at pc inside the block being executed. */
static uint64_t fz_pos_in_block(struct strand_replay *r, uint64_t pc)
{
	uint64_t a = r->blk_addr, p = r->blk_pos;
	ZydisDecodedInstruction ins;
	for (int guard = 0; a < pc && guard < 4096; guard++) {
		if (!rp_decode(r, a, &ins, NULL))
			break;
		a += ins.length;
		p++;
	}
	return p;
}

/* Code hook on want->rip only: stop before the instruction when the
 * whole state matches.  A state equal in registers and in all writable
 * memory at two positions has the same future, so the first one is the
 * recorded one as far as anything the trace can show. */
static void fz_hook_arrival(uc_engine *uc, uint64_t addr, uint32_t size, void *ud)
{
	(void)size;
	struct fz_search *s = ud;
	struct strand_replay *r = s->r;
	if (r->finishing || s->found)
		return;
	s->arrivals++;
	if (!fz_regs_match(r, s->want, s->skip))
		return;
	s->reg_matches++;
	if (!fz_memory_matches(r, s->kf))
		return;
	s->found = true;
	r->pos = fz_pos_in_block(r, addr);
	r->run_target = r->pos;
	r->hook_stopped = true;
	uc_emu_stop(uc);
}

/* Run from the current position to the first one where the running
 * thread's state is kt->cpu and memory matches the key frame k.  The
 * search ends, as a located error, at the first kernel transition or
 * nondeterministic instruction (the recorder writes the key frame
 * before the next such event), at an emulator fault, or at the end of
 * a run that never arrives. */
static strand_status run_to_state(struct strand_replay *r, const struct strand_keyframe *k,
				  const struct strand_keyframe_thread *kt, unsigned skip,
				  strand_error *err)
{
	uint64_t pc = kt->cpu.rip;
	if (r->mode != UC_MODE_64)
		return rp_emu_run_to_pc(r, pc, err); /* first arrival */
	if (rp_pc(r) == pc && fz_regs_match(r, &kt->cpu, skip))
		return STRAND_OK; /* here (memory is checked with the key frame) */
	struct fz_search s = { .r = r, .want = &kt->cpu, .kf = k, .skip = skip };
	uc_hook h;
	if (uc_hook_add(r->uc, &h, UC_HOOK_CODE, (void *)fz_hook_arrival, &s, pc, pc) != UC_ERR_OK)
		return strand_error_set(err, STRAND_ERR_EMULATOR, "cannot add a code hook at 0x%" PRIx64,
					pc);
	uc_ctl_remove_cache(r->uc, pc, pc + 1);
	r->bp_hit_pos = UINT64_MAX;
	r->watch_hit_pos = UINT64_MAX;
	r->run_target = UINT64_MAX;
	r->hook_stopped = false;
	r->fault = 0;
	r->fault_pending = false;
	r->code_stop = UINT64_MAX;
	uint64_t start_pos = r->pos, cur = rp_pc(r);
	r->blk_pos = r->pos;
	r->blk_addr = cur;
	r->blk_idx = 0;
	uc_err e = uc_emu_start(r->uc, cur, 0, 0, 0);
	uc_hook_del(r->uc, h);
	uc_ctl_remove_cache(r->uc, pc, pc + 1);
	r->stats.instructions += r->pos - start_pos;
	char where[256];
	if (s.found && rp_pc(r) == pc)
		return STRAND_OK;
	if (!s.found && r->fault == RP_FAULT_SYSCALL && r->fault_pc == pc) {
		/* pc holds the sensitive instruction that ends the search (a
		 * thread stopped at a system call, e.g. an exit that left no
		 * event): the block stopped before it ran, so this is the
		 * first and only arrival; go there and compare */
		strand_status st = rp_emu_run_to_pc(r, pc, err);
		if (st != STRAND_OK)
			return st;
		s.arrivals++;
		if (fz_regs_match(r, s.want, s.skip)) {
			s.reg_matches++;
			if (fz_memory_matches(r, k))
				return STRAND_OK;
		}
		r->fault = RP_FAULT_SYSCALL;
		r->fault_pc = pc;
		r->fault_addr = r->pos;
		r->hook_stopped = true;
	}
	uint64_t at = r->fault == RP_FAULT_SYSCALL && r->hook_stopped ? r->fault_addr : r->pos;
	rp_describe_pc(r, r->fault ? r->fault_pc : rp_pc(r), where, sizeof where);
	return strand_error_set(err, STRAND_ERR_DIVERGENCE,
				"divergence: the recorded state of tid=%u at pc=0x%" PRIx64
				" never recurs: execution reached pc %" PRIu64 " times, %" PRIu64
				" with the recorded registers but other memory, then stopped at "
				"position %" PRIu64 " (%s%s%s)",
				kt->tid, pc, s.arrivals, s.reg_matches, at,
				r->fault == RP_FAULT_SYSCALL ? "kernel transition or nondeterministic "
							      "instruction at " :
				r->fault ? "emulator fault at " : "",
				where, e != UC_ERR_OK && !r->fault ? ", emulator error" : "");
}


strand_status strand_finalize_positions(const char *in, const char *out, strand_error *err)
{
	return strand_finalize_positions_progress(in, out, NULL, NULL, err);
}

strand_status strand_finalize_positions_progress(const char *in, const char *out,
						 void (*progress)(void *ud, uint64_t done,
								  uint64_t total),
						 void *ud, strand_error *err)
{
	return rp_finalize_embedding(in, out, progress, ud, NULL, NULL, 0, err);
}

static bool is_tree_note(const struct strand_record *rec)
{
	return rec->type == STRAND_REC_NOTE && rec->u.note.key &&
	       (!strcmp(rec->u.note.key, "process") || !strcmp(rec->u.note.key, "process-data"));
}

/* The n finalized child traces, at `position` as records of tid. */
static strand_status embed_kids(struct strand_writer *w, uint64_t position, uint32_t tid,
				const struct strand_process *kids, char *const *paths, uint32_t n,
				strand_error *err)
{
	strand_status st = STRAND_OK;
	for (uint32_t i = 0; i < n && st == STRAND_OK; i++)
		st = strand_writer_put_process(w, position, tid, &kids[i], paths[i], err);
	return st;
}

strand_status rp_finalize_embedding(const char *in, const char *out,
				    void (*progress)(void *ud, uint64_t done, uint64_t total),
				    void *ud, const struct strand_process *kids,
				    char *const *paths, uint32_t n, strand_error *err)
{
	double last_progress = 0;
	bool embedding = kids != NULL, embedded = false;
	uint64_t last_pos = 0;
	uint32_t last_tid = 0;
	if (!in || !out)
		return strand_error_set(err, STRAND_ERR_INVALID, "finalize: NULL path");
	struct strand_replay *r = NULL;
	struct strand_writer *w = NULL;
	struct strand_reader *snap = NULL;
	struct strand_keyframe_thread *kts = NULL; /* a key frame with the replay's rcx/r11 */
	uint32_t at_syscall_tid = 0;               /* NOTE "at-syscall" seen for this tid */
	bool at_syscall = false;
	strand_status st = rp_open(in, NULL, true, &r, err);
	if (st != STRAND_OK)
		return st;
	struct strand_trace_info info = r->info;
	info.flags &= ~(uint32_t)STRAND_TRACE_F_ORDINAL_POSITIONS;
	st = strand_writer_open(out, &info, NULL, &w, err);
	if (st != STRAND_OK)
		goto out;
	/* the snapshot, copied as it is (through a second reader: the
	 * replay's reader has moved past it) */
	st = strand_reader_open(in, &snap, err);
	if (st != STRAND_OK)
		goto out;
	for (;;) {
		const struct strand_record *rec;
		st = strand_reader_next(snap, &rec, err);
		if (st != STRAND_OK) {
			if (st == STRAND_END)
				st = strand_error_set(err, STRAND_ERR_CORRUPT, "no snapshot end");
			goto out;
		}
		if (!(embedding && is_tree_note(rec)))
			st = strand_writer_put(w, rec, err);
		if (st != STRAND_OK || rec->type == STRAND_REC_SNAPSHOT_END)
			break;
	}
	if (st != STRAND_OK)
		goto out;
	while (r->next) {
		struct strand_record copy = *r->next;
		if (progress && strand_rec_is_consuming(copy.type)) {
			double t = rp_now();
			if (t - last_progress >= 0.1) {
				last_progress = t;
				progress(ud, copy.position, r->end);
			}
		}
		if (strand_rec_is_consuming(copy.type)) {
			uint64_t pc = copy.type == STRAND_REC_SYSCALL ? copy.u.syscall.pc
								       : copy.u.nondet.pc;
			st = rp_emu_run_to_pc(r, pc, err);
			if (st != STRAND_OK) {
				strand_error_wrap(err, st, "finalize: event %s #%" PRIu64 " (pc=0x%" PRIx64 ")",
						  strand_rec_type_str(copy.type), copy.position, pc);
				goto out;
			}
		}
		if (copy.type == STRAND_REC_NOTE && copy.u.note.key &&
		    !strcmp(copy.u.note.key, "at-syscall")) {
			at_syscall = true;
			at_syscall_tid = copy.tid;
		}
		bool patched = false;
		if (copy.type == STRAND_REC_KEYFRAME) {
			/* a key frame says where the running thread is: run
			 * to where its state recurs (e.g. a fault or a signal
			 * in user code, a preemption, a thread left at its
			 * syscall instruction) */
			bool entry = at_syscall && at_syscall_tid == copy.tid;
			at_syscall = false;
			for (uint32_t i = 0; i < copy.u.keyframe.nthreads; i++) {
				const struct strand_keyframe_thread *kt = &copy.u.keyframe.threads[i];
				if (kt->tid != copy.tid || kt->tid != r->threads[r->cur].tid)
					continue;
				unsigned skip = entry ? (1u << STRAND_REG_RCX) | (1u << (STRAND_REG_R8 + 3)) |
							FZ_SKIP_FLAGS : 0;
				st = run_to_state(r, &copy.u.keyframe, kt, skip, err);
				if (st != STRAND_OK) {
					strand_error_wrap(err, st, "finalize: key frame #%" PRIu64,
							  copy.position);
					goto out;
				}
				uint64_t fl = 0;
				uc_reg_read(r->uc, UC_X86_REG_RFLAGS, &fl);
				if (!entry && (fl & FZ_STATUS) == (kt->cpu.rflags & FZ_STATUS))
					continue;
				free(kts);
				kts = malloc(copy.u.keyframe.nthreads * sizeof *kts);
				if (!kts) {
					st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
					goto out;
				}
				memcpy(kts, copy.u.keyframe.threads, copy.u.keyframe.nthreads * sizeof *kts);
				if (entry) {
					uc_reg_read(r->uc, UC_X86_REG_RCX, &kts[i].cpu.gpr[STRAND_REG_RCX]);
					uc_reg_read(r->uc, UC_X86_REG_R11, &kts[i].cpu.gpr[STRAND_REG_R8 + 3]);
					kts[i].cpu.rflags = fl;
				} else {
					kts[i].cpu.rflags = (kts[i].cpu.rflags & ~FZ_STATUS) | (fl & FZ_STATUS);
				}
				copy.u.keyframe.threads = kts;
				patched = true;
			}
		}
		copy.position = r->pos;
		last_pos = copy.position;
		last_tid = copy.tid;
		if (embedding && copy.type == STRAND_REC_PROCESS_EXIT && !embedded) {
			/* the children's traces come last, before the end */
			if ((st = embed_kids(w, copy.position, copy.tid, kids, paths, n, err)) != STRAND_OK)
				goto out;
			embedded = true;
		}
		if (!(embedding && is_tree_note(&copy)))
			st = strand_writer_put(w, &copy, err);
		if (st != STRAND_OK)
			goto out;
		if (patched)
			r->next = &copy; /* the check compares the values written */
		st = rp_apply_event(r, err);
		if (st == STRAND_OK)
			st = rp_read_next(r, err);
		if (st != STRAND_OK) {
			strand_error_wrap(err, st, "finalize: at position %" PRIu64, r->pos);
			goto out;
		}
	}
	if (embedding && !embedded &&
	    (st = embed_kids(w, last_pos, last_tid, kids, paths, n, err)) != STRAND_OK)
		goto out;
	st = strand_writer_close(w, err);
	w = NULL;
out:
	if (w)
		strand_writer_abort(w);
	strand_reader_close(snap);
	strand_replay_close(r);
	free(kts);
	return st;
}
