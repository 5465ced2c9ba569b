/* An outside analysis plugin built against an installed strand only:
 * counts kernel transitions. */
#include <stdlib.h>

#include <strand/plugin.h>

struct count {
	uint64_t events;
};

static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	(void)r;
	(void)rec;
	if (!after)
		((struct count *)ud)->events++;
}

static strand_status init(struct strand_analysis *a, const struct strand_plugin_args *args,
			  void **state, strand_error *err)
{
	(void)args;
	static struct count zero;
	struct count *c = malloc(sizeof *c);
	if (!c)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	*c = zero;
	*state = c;
	if (!strand_replay_on_event(strand_analysis_replay(a), on_event, c))
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot observe events");
	return STRAND_OK;
}

static strand_status finish(struct strand_analysis *a, void *state, struct strand_rnode *out,
			    strand_error *err)
{
	(void)a;
	(void)err;
	strand_r_uint(out, "events", ((struct count *)state)->events);
	return STRAND_OK;
}

static const struct strand_plugin desc = {
	STRAND_PLUGIN_ABI_VERSION, "eventcount", "counts events", NULL, init, finish, free,
};
STRAND_PLUGIN_EXPORT(desc)
