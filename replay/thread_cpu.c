/* Another thread's registers at the current position (replay.h). */
#include "replay/replay_int.h"

strand_status strand_replay_thread_cpu(struct strand_replay *r, uint32_t tid,
				       struct strand_cpu *out, strand_error *err)
{
	if (!out)
		return strand_error_set(err, STRAND_ERR_INVALID, "NULL output");
	for (uint32_t i = 0; i < r->nthreads; i++) {
		if (r->threads[i].tid != tid || !r->threads[i].alive)
			continue;
		rp_thread_cpu(r, i, out);
		return STRAND_OK;
	}
	return strand_error_set(err, STRAND_NOT_FOUND,
				"no thread %u alive at position %llu", tid,
				(unsigned long long)r->pos);
}
