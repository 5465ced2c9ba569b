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
 * a KEYFRAME, which runs first to the running thread's recorded rip (so
 * recorders should emit thread switches, key frames and memory events
 * at kernel-transition boundaries, and record the exiting syscall as a
 * SYSCALL record before KEYFRAME + PROCESS_EXIT).  Key frames are
 * checked on the way, so the output is a verified trace.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay_int.h"

strand_status strand_finalize_positions(const char *in, const char *out, strand_error *err)
{
	if (!in || !out)
		return strand_error_set(err, STRAND_ERR_INVALID, "finalize: NULL path");
	struct strand_replay *r = NULL;
	struct strand_writer *w = NULL;
	struct strand_reader *snap = NULL;
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
		st = strand_writer_put(w, rec, err);
		if (st != STRAND_OK || rec->type == STRAND_REC_SNAPSHOT_END)
			break;
	}
	if (st != STRAND_OK)
		goto out;
	while (r->next) {
		struct strand_record copy = *r->next;
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
		if (copy.type == STRAND_REC_KEYFRAME) {
			/* a key frame says where the running thread is: run
			 * there (first arrival), e.g. up to the exiting
			 * syscall that has no record */
			for (uint32_t i = 0; i < copy.u.keyframe.nthreads; i++) {
				const struct strand_keyframe_thread *kt = &copy.u.keyframe.threads[i];
				if (kt->tid != copy.tid || kt->tid != r->threads[r->cur].tid)
					continue;
				st = rp_emu_run_to_pc(r, kt->cpu.rip, err);
				if (st != STRAND_OK) {
					strand_error_wrap(err, st, "finalize: key frame #%" PRIu64,
							  copy.position);
					goto out;
				}
			}
		}
		copy.position = r->pos;
		st = strand_writer_put(w, &copy, err);
		if (st != STRAND_OK)
			goto out;
		st = rp_apply_event(r, err);
		if (st == STRAND_OK)
			st = rp_read_next(r, err);
		if (st != STRAND_OK) {
			strand_error_wrap(err, st, "finalize: at position %" PRIu64, r->pos);
			goto out;
		}
	}
	st = strand_writer_close(w, err);
	w = NULL;
out:
	if (w)
		strand_writer_abort(w);
	strand_reader_close(snap);
	strand_replay_close(r);
	return st;
}
