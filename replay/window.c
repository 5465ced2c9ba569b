/*
 * Windows of re-observation and region queries for analyses that follow
 * data backward (analyses/dataflow.c): after a backward seek, observers
 * can be made to see a stretch of execution again, so that one bounded
 * window is logged in detail instead of the whole trace from the start.
 *
 * How observation is limited (replay.c, emu.c): observers fire only at
 * positions at or past `frontier` and for records at or past
 * `ev_frontier`, so that motion over a stretch already executed (a
 * backward seek re-executing from a checkpoint) is not reported twice.
 * strand_replay_observe_from_here() lowers both to the current position;
 * the state, the checkpoints and the stops are untouched.
 */
#include <stdlib.h>
#include <string.h>

#include "replay/replay_int.h"

static int cursor_cmp(const struct strand_cursor *a, const struct strand_cursor *b)
{
	if (a->chunk != b->chunk)
		return a->chunk < b->chunk ? -1 : 1;
	if (a->record != b->record)
		return a->record < b->record ? -1 : 1;
	return 0;
}

void strand_replay_observe_from_here(struct strand_replay *r, struct strand_replay_frontier *saved)
{
	if (!r)
		return;
	if (saved) {
		saved->position = r->frontier;
		saved->events = r->ev_frontier;
	}
	r->frontier = r->pos;
	r->ev_frontier = r->next_cursor;
	/* the previous block's call/ret belongs to motion before here */
	r->last_blk_kind = 0;
	r->last_blk_pc = 0;
}

void strand_replay_observe_restore(struct strand_replay *r, const struct strand_replay_frontier *saved)
{
	if (!r || !saved)
		return;
	if (saved->position > r->frontier)
		r->frontier = saved->position;
	if (cursor_cmp(&saved->events, &r->ev_frontier) > 0)
		r->ev_frontier = saved->events;
}

strand_status strand_replay_region_at(const struct strand_replay *r, uint64_t addr,
				      struct strand_region_info *out)
{
	for (uint32_t i = 0; i < r->nregions; i++) {
		const struct rp_region *g = &r->regions[i];
		if (addr >= g->addr && addr - g->addr < g->size) {
			out->addr = g->addr;
			out->size = g->size;
			out->prot = g->prot;
			out->kind = g->kind;
			out->name = g->name;
			return STRAND_OK;
		}
	}
	return STRAND_NOT_FOUND;
}

/* Observers registered now are set aside (they see nothing) until
 * strand_replay_observers_unmute; observers added meanwhile work as usual
 * and must be deleted before unmuting. */
void strand_replay_observers_mute(struct strand_replay *r, struct strand_replay_muted *m)
{
	memset(m, 0, sizeof *m);
	m->obs = r->obs;
	m->n = r->nobs;
	m->cap = r->cap_obs;
	m->counts[0] = r->n_insn_obs;
	m->counts[1] = r->n_block_obs;
	m->counts[2] = r->n_call_obs;
	m->counts[3] = r->n_mem_obs;
	m->counts[4] = r->n_event_obs;
	r->obs = NULL;
	r->nobs = r->cap_obs = 0;
	r->n_insn_obs = r->n_block_obs = r->n_call_obs = r->n_mem_obs = r->n_event_obs = 0;
	rp_emu_update_hooks(r, NULL);
}

void strand_replay_observers_unmute(struct strand_replay *r, struct strand_replay_muted *m)
{
	free(r->obs);
	r->obs = m->obs;
	r->nobs = m->n;
	r->cap_obs = m->cap;
	r->n_insn_obs = m->counts[0];
	r->n_block_obs = m->counts[1];
	r->n_call_obs = m->counts[2];
	r->n_mem_obs = m->counts[3];
	r->n_event_obs = m->counts[4];
	memset(m, 0, sizeof *m);
	rp_emu_update_hooks(r, NULL);
}

uint64_t strand_replay_gpr(struct strand_replay *r, unsigned i)
{
	return i < 16 ? rp_gpr(r, i) : 0;
}
