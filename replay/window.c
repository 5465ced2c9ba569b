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
