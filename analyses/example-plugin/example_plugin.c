/* hotblocks: an example external strand analysis plugin (the shape of
 * QEMU's contrib/plugins/hotblocks.c).  It counts how often each basic
 * block runs and reports the `top` hottest, symbolized.
 *
 * Build: CMake builds it as a MODULE (strand-example-plugin.so) when this
 * file exists; by hand:
 *     cc -shared -fPIC -I include -o hotblocks.so example_plugin.c
 * Use:
 *     strand report --plugin ./strand-example-plugin.so:top=5 TRACE
 *     strand report --analysis syscalls --plugin ./strand-example-plugin.so TRACE
 * It uses only include/strand/analysis.h and replay.h; the strand
 * executable provides those symbols. */
#include <stdlib.h>
#include <string.h>

#include "strand/analysis.h"

/* state: an open-addressing table of block start -> count */
struct block {
	uint64_t pc;     /* 0 = empty */
	uint64_t count;
	uint32_t size;
};

struct hot {
	uint64_t top;        /* blocks to report */
	struct block *t;     /* owned */
	size_t cap, used;    /* cap is a power of two */
	uint64_t executed;   /* block executions */
	bool oom;
};

static const struct strand_plugin_option hot_options[] = {
	{ "top", "how many blocks to report", "10" },
	{ NULL, NULL, NULL },
};

static size_t slot(const struct hot *h, uint64_t pc)
{
	size_t i = (size_t)(pc * 0x9E3779B97F4A7C15ull >> 17) & (h->cap - 1);
	while (h->t[i].pc && h->t[i].pc != pc)
		i = (i + 1) & (h->cap - 1);
	return i;
}

static bool grow(struct hot *h)
{
	struct hot n = *h;
	n.cap = h->cap ? h->cap * 2 : 1024;
	n.t = calloc(n.cap, sizeof *n.t);
	if (!n.t)
		return false;
	for (size_t i = 0; i < h->cap; i++)
		if (h->t[i].pc)
			n.t[slot(&n, h->t[i].pc)] = h->t[i];
	free(h->t);
	h->t = n.t;
	h->cap = n.cap;
	return true;
}

/* callback: every basic block of forward execution */
static void on_block(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		     uint32_t size)
{
	struct hot *h = ud;
	h->executed++;
	if ((h->used + 1) * 2 > h->cap && !grow(h)) {
		h->oom = true;
		return;
	}
	size_t i = slot(h, pc);
	if (!h->t[i].pc) {
		h->t[i].pc = pc;
		h->t[i].size = size;
		h->used++;
	}
	h->t[i].count++;
}

static strand_status hot_init(struct strand_analysis *a, const struct strand_plugin_args *args,
			      void **state, strand_error *err)
{
	struct hot *h = calloc(1, sizeof *h);
	if (!h)
		return strand_error_set(err, STRAND_ERR_NOMEM, "hotblocks: out of memory");
	*state = h;
	strand_status st = strand_plugin_opt_u64(args, "top", 10, &h->top, err);
	if (st < 0)
		return st;
	if (h->top == 0 || h->top > 1000)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"hotblocks: option top: must be 1..1000");
	strand_replay_on_block(strand_analysis_replay(a), on_block, h);
	return STRAND_OK;
}

static int by_count(const void *x, const void *y)
{
	const struct block *a = x, *b = y;
	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	return a->pc < b->pc ? -1 : a->pc > b->pc;
}

static strand_status hot_finish(struct strand_analysis *a, void *state, struct strand_rnode *out,
				strand_error *err)
{
	struct hot *h = state;
	if (h->oom)
		return strand_error_set(err, STRAND_ERR_NOMEM, "hotblocks: out of memory");
	struct block *v = malloc((h->used ? h->used : 1) * sizeof *v);
	if (!v)
		return strand_error_set(err, STRAND_ERR_NOMEM, "hotblocks: out of memory");
	size_t n = 0;
	for (size_t i = 0; i < h->cap; i++)
		if (h->t[i].pc)
			v[n++] = h->t[i];
	qsort(v, n, sizeof *v, by_count);
	strand_r_uint(out, "blocks_executed", h->executed);
	strand_r_uint(out, "distinct_blocks", n);
	struct strand_rnode *list = strand_r_list(out, "hottest");
	if (list)
		list->flags |= STRAND_RF_TABLE;
	for (size_t i = 0; i < n && i < h->top; i++) {
		char sym[160];
		strand_replay_symbolize(strand_analysis_replay(a), v[i].pc, sym, sizeof sym);
		struct strand_rnode *o = strand_r_object(list, NULL);
		strand_r_hex(o, "pc", v[i].pc);
		strand_r_string(o, "symbol", sym);
		strand_r_uint(o, "count", v[i].count);
		strand_r_uint(o, "bytes", v[i].size);
	}
	free(v);
	return STRAND_OK;
}

static void hot_destroy(void *state)
{
	struct hot *h = state;
	if (!h)
		return;
	free(h->t);
	free(h);
}

static const struct strand_plugin hotblocks = {
	.abi_version = STRAND_PLUGIN_ABI_VERSION,
	.name = "hotblocks",
	.description = "the most executed basic blocks (example external plugin)",
	.options = hot_options,
	.init = hot_init,
	.finish = hot_finish,
	.destroy = hot_destroy,
};

STRAND_PLUGIN_EXPORT(hotblocks)
