/* memhist: every read and write of an address range over the whole trace
 * (instructions through the mem observer, and kernel/asynchronous writes
 * from events), and the last write before a given position. */
#include "analyses/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct memhist {
	uint64_t addr, len;     /* the range, len > 0 */
	uint64_t before;        /* position for "last write before"; UINT64_MAX = end */
	uint64_t max;           /* accesses listed at most */
	uint32_t access;        /* STRAND_WATCH_* */
	struct strand_result *tmp;
	struct strand_rnode *list;
	uint64_t nreads, nwrites, listed;
	bool have_last;
	uint64_t last_pos, last_pc, last_value, last_addr;
	uint32_t last_tid, last_size;
	bool last_by_kernel;
};

static bool overlaps(const struct memhist *s, uint64_t addr, uint64_t size)
{
	return addr < s->addr + s->len && s->addr < addr + size;
}

static void note(struct memhist *s, struct strand_replay *r, uint64_t pos, uint64_t pc,
		 uint64_t addr, uint32_t size, bool is_write, uint64_t value, const char *by)
{
	if (is_write)
		s->nwrites++;
	else
		s->nreads++;
	if (is_write && pos < s->before) {
		s->have_last = true;
		s->last_pos = pos;
		s->last_pc = pc;
		s->last_value = value;
		s->last_addr = addr;
		s->last_size = size;
		s->last_tid = strand_replay_thread(r);
		s->last_by_kernel = by != NULL;
	}
	if (s->listed >= s->max)
		return;
	s->listed++;
	struct strand_rnode *e = strand_r_object(s->list, NULL);
	strand_r_position(e, "position", pos);
	strand_r_uint(e, "tid", strand_replay_thread(r));
	strand_r_string(e, "access", is_write ? "write" : "read");
	strand_r_hex(e, "address", addr);
	strand_r_uint(e, "size", size);
	strand_r_hex(e, "value", value);
	if (by) {
		strand_r_string(e, "by", by);
	} else {
		char sym[160];
		strand_replay_symbolize(r, pc, sym, sizeof sym);
		strand_r_hex(e, "pc", pc);
		strand_r_string(e, "symbol", sym);
	}
}

static void on_mem(struct strand_replay *r, void *ud, uint64_t pos, uint64_t pc, uint64_t addr,
		   uint32_t size, bool is_write, uint64_t value)
{
	struct memhist *s = ud;
	if (overlaps(s, addr, size))
		note(s, r, pos, pc, addr, size, is_write, value, NULL);
}

/* Writes that events make (kernel results, asynchronous changes). */
static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	struct memhist *s = ud;
	const struct strand_effects *fx = NULL;
	if (!after || !(s->access & STRAND_WATCH_WRITE))
		return;
	switch (rec->type) {
	case STRAND_REC_SYSCALL: fx = &rec->u.syscall.fx; break;
	case STRAND_REC_MEMORY: fx = &rec->u.memory; break;
	case STRAND_REC_EXCEPTION: fx = &rec->u.exception.fx; break;
	default: return;
	}
	for (uint32_t i = 0; i < fx->nwrites; i++) {
		const struct strand_memwrite *w = &fx->writes[i];
		if (!overlaps(s, w->addr, w->len))
			continue;
		uint64_t v = 0;
		for (uint32_t k = 0; k < w->len && k < 8; k++)
			v |= (uint64_t)w->data[k] << (8 * k);
		note(s, r, rec->position, 0, w->addr, w->len, true, v,
		     rec->type == STRAND_REC_SYSCALL ? "kernel (syscall result)" : "event");
	}
}

static const struct strand_plugin_option memhist_options[] = {
	{ "addr", "start of the range (required)", NULL },
	{ "len", "bytes in the range", "4" },
	{ "access", "r, w or rw", "rw" },
	{ "before", "position for the last write before it (default: end)", NULL },
	{ "max", "accesses listed at most", "10000" },
	{ NULL, NULL, NULL },
};

static strand_status memhist_init(struct strand_analysis *a, const struct strand_plugin_args *args,
				  void **state, strand_error *err)
{
	struct memhist *s = calloc(1, sizeof *s);
	if (!s)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	*state = s;
	if (!strand_plugin_opt(args, "addr"))
		return strand_error_set(err, STRAND_ERR_INVALID, "memhist: option addr is required");
	strand_status st;
	if ((st = strand_plugin_opt_u64(args, "addr", 0, &s->addr, err)) < 0 ||
	    (st = strand_plugin_opt_u64(args, "len", 4, &s->len, err)) < 0 ||
	    (st = strand_plugin_opt_u64(args, "before", UINT64_MAX, &s->before, err)) < 0 ||
	    (st = strand_plugin_opt_u64(args, "max", 10000, &s->max, err)) < 0)
		return st;
	if (s->len == 0 || s->addr + s->len < s->addr)
		return strand_error_set(err, STRAND_ERR_INVALID, "memhist: option len: empty or "
					"wrapping range addr=0x%" PRIx64 " len=%" PRIu64, s->addr, s->len);
	const char *acc = strand_plugin_opt(args, "access");
	if (!strcmp(acc, "r"))
		s->access = STRAND_WATCH_READ;
	else if (!strcmp(acc, "w"))
		s->access = STRAND_WATCH_WRITE;
	else if (!strcmp(acc, "rw") || !strcmp(acc, "wr"))
		s->access = STRAND_WATCH_READ | STRAND_WATCH_WRITE;
	else
		return strand_error_set(err, STRAND_ERR_INVALID, "memhist: option access: '%s' is "
					"not r, w or rw", acc);
	s->tmp = strand_result_new();
	if (!s->tmp)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	s->list = strand_r_list(strand_result_root(s->tmp), "accesses");
	struct strand_replay *r = strand_analysis_replay(a);
	/* the last write needs writes even if only reads are listed */
	strand_replay_on_mem(r, on_mem, s->access | STRAND_WATCH_WRITE, s);
	strand_replay_on_event(r, on_event, s);
	return STRAND_OK;
}

static strand_status memhist_finish(struct strand_analysis *a, void *state,
				    struct strand_rnode *out, strand_error *err)
{
	struct memhist *s = state;
	strand_r_hex(out, "address", s->addr);
	strand_r_uint(out, "length", s->len);
	strand_r_uint(out, "reads", s->nreads);
	strand_r_uint(out, "writes", s->nwrites);
	if (s->listed < s->nreads + s->nwrites)
		strand_r_stringf(out, "note", "listing only the first %" PRIu64 " accesses", s->max);
	struct strand_rnode *lw = strand_r_object(out, "last_write");
	if (s->before != UINT64_MAX)
		strand_r_position(lw, "before", s->before);
	if (s->have_last) {
		strand_r_position(lw, "position", s->last_pos);
		strand_r_uint(lw, "tid", s->last_tid);
		strand_r_hex(lw, "address", s->last_addr);
		strand_r_hex(lw, "value", s->last_value);
		if (!s->last_by_kernel)
			strand_r_hex(lw, "pc", s->last_pc);
		else
			strand_r_string(lw, "by", "kernel or event");
	} else {
		strand_r_string(lw, "note", "never written in the trace (value from the snapshot)");
	}
	/* drop writes from the listing if only reads were asked */
	struct strand_rnode *l = strand_r_list(out, "accesses");
	for (const struct strand_rnode *e = s->list->first; e; e = e->next) {
		bool w = !strcmp(strand_rnode_str(e, "access", ""), "write");
		if ((w && (s->access & STRAND_WATCH_WRITE)) || (!w && (s->access & STRAND_WATCH_READ)))
			strand_r_copy(l, NULL, e);
	}
	return strand_result_status(s->tmp) < 0
		       ? strand_error_set(err, STRAND_ERR_NOMEM, "memhist: out of memory") : STRAND_OK;
}

static void memhist_destroy(void *state)
{
	struct memhist *s = state;
	if (!s)
		return;
	strand_result_free(s->tmp);
	free(s);
}

const struct strand_plugin strand_plugin_memhist = {
	.abi_version = STRAND_PLUGIN_ABI_VERSION,
	.name = "memhist",
	.description = "every read and write of an address range; the last write before a position",
	.options = memhist_options,
	.init = memhist_init,
	.finish = memhist_finish,
	.destroy = memhist_destroy,
};
