/*
 * The rules a trace's records follow (docs/trace-format.md "Record order
 * and shape rules"), checked in one place: by strand_writer_put() before a
 * record is written and by strand_reader_verify() on every record read.
 * Also the small name tables of trace.h and strand_digest().
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "formats/trace_format.h"

#define PAGE 4096u

uint64_t strand_digest(const void *data, size_t len)
{
	return XXH3_64bits(data, len);
}

const char *strand_rec_type_str(unsigned type)
{
	switch (type) {
	case STRAND_REC_MODULE: return "module";
	case STRAND_REC_REGION: return "region";
	case STRAND_REC_THREAD: return "thread";
	case STRAND_REC_NOTE: return "note";
	case STRAND_REC_SNAPSHOT_END: return "snapshot_end";
	case STRAND_REC_SYSCALL: return "syscall";
	case STRAND_REC_NONDET: return "nondet";
	case STRAND_REC_THREAD_SWITCH: return "thread_switch";
	case STRAND_REC_THREAD_EXIT: return "thread_exit";
	case STRAND_REC_MEMORY: return "memory";
	case STRAND_REC_EXCEPTION: return "exception";
	case STRAND_REC_MODULE_UNLOAD: return "module_unload";
	case STRAND_REC_OUTPUT: return "output";
	case STRAND_REC_KEYFRAME: return "keyframe";
	case STRAND_REC_PROCESS_EXIT: return "process_exit";
	}
	return "unknown";
}

const char *strand_region_kind_str(unsigned kind)
{
	static const char *const names[] = {
		"other", "image", "stack", "heap", "teb", "peb",
		"shared", "gdt", "anon", "file",
	};
	return kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

bool strand_rec_is_consuming(unsigned type)
{
	return type == STRAND_REC_SYSCALL || type == STRAND_REC_NONDET;
}

/* ===================================================================== */
/* Checker                                                                */
/* ===================================================================== */

void tf_checker_init(struct tf_checker *c, uint32_t trace_flags)
{
	memset(c, 0, sizeof *c);
	c->ordinal_positions = (trace_flags & STRAND_TRACE_F_ORDINAL_POSITIONS) != 0;
	c->in_snapshot = true;
}

void tf_checker_free(struct tf_checker *c)
{
	free(c->regions);
	c->regions = NULL;
	c->nregions = c->capregions = 0;
}

static bool is_snapshot_type(unsigned t)
{
	return t == STRAND_REC_MODULE || t == STRAND_REC_REGION ||
	       t == STRAND_REC_THREAD || t == STRAND_REC_NOTE ||
	       t == STRAND_REC_SNAPSHOT_END;
}

static bool is_known_type(unsigned t)
{
	return (t >= STRAND_REC_MODULE && t <= STRAND_REC_SNAPSHOT_END) ||
	       (t >= STRAND_REC_SYSCALL && t < STRAND_REC_TYPE_MAX);
}

static strand_status bad(strand_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static strand_status bad(strand_error *err, const char *fmt, ...)
{
	char msg[STRAND_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return strand_error_set(err, STRAND_ERR_INVALID, "%s", msg);
}

/* Page-aligned, non-empty, non-wrapping range. */
static strand_status check_range(const char *what, uint64_t addr, uint64_t size,
				 strand_error *err)
{
	if (addr % PAGE || size % PAGE || size == 0)
		return bad(err, "%s addr=0x%" PRIx64 " size=0x%" PRIx64
			   " is not a non-empty range of 4096-byte pages", what, addr, size);
	if (addr + size < addr)
		return bad(err, "%s addr=0x%" PRIx64 " size=0x%" PRIx64
			   " wraps around the address space", what, addr, size);
	return STRAND_OK;
}

static strand_status check_map(const struct strand_mapchange *m, bool region,
			       strand_error *err)
{
	const char *what = region ? "region" : "map change";
	if (region && m->op != STRAND_MAP_MAP)
		return bad(err, "region op=%" PRIu32 " (expected 1 = map)", m->op);
	if (m->op < STRAND_MAP_MAP || m->op > STRAND_MAP_PROTECT)
		return bad(err, "%s op=%" PRIu32 " (expected 1..3)", what, m->op);
	if (m->prot & ~7u)
		return bad(err, "%s prot=0x%" PRIx32 " has unknown bits", what, m->prot);
	if (m->kind > STRAND_REGION_FILE)
		return bad(err, "%s kind=%" PRIu32 " (expected 0..9)", what, m->kind);
	if (m->data && m->op != STRAND_MAP_MAP)
		return bad(err, "%s op=%" PRIu32 " carries data (only map may)", what, m->op);
	return check_range(what, m->addr, m->size, err);
}

static strand_status check_fx(const struct strand_effects *fx, strand_error *err)
{
	if ((fx->nregs && !fx->regs) || (fx->nmaps && !fx->maps) ||
	    (fx->nwrites && !fx->writes))
		return bad(err, "effects: a non-zero count with a NULL array");
	for (uint32_t i = 0; i < fx->nregs; i++)
		if (fx->regs[i].reg >= STRAND_REG_COUNT)
			return bad(err, "effects: register %" PRIu32 " out of range (< %d)",
				   fx->regs[i].reg, STRAND_REG_COUNT);
	for (uint32_t i = 0; i < fx->nmaps; i++) {
		strand_status st = check_map(&fx->maps[i], false, err);
		if (st != STRAND_OK)
			return strand_error_wrap(err, st, "effects: map %" PRIu32, i);
	}
	for (uint32_t i = 0; i < fx->nwrites; i++) {
		const struct strand_memwrite *w = &fx->writes[i];
		if (w->len && !w->data)
			return bad(err, "effects: write %" PRIu32 " has len=%" PRIu32
				   " and no data", i, w->len);
		if (w->addr + w->len < w->addr)
			return bad(err, "effects: write %" PRIu32 " addr=0x%" PRIx64
				   " len=%" PRIu32 " wraps around", i, w->addr, w->len);
	}
	return STRAND_OK;
}

static strand_status check_shape(const struct strand_record *r, strand_error *err)
{
	switch (r->type) {
	case STRAND_REC_MODULE: {
		const struct strand_module *m = &r->u.module;
		if (m->base + m->size < m->base)
			return bad(err, "module base=0x%" PRIx64 " size=0x%" PRIx64 " wraps around",
				   m->base, m->size);
		if (m->nsyms && !m->syms)
			return bad(err, "module nsyms=%" PRIu32 " with a NULL array", m->nsyms);
		for (uint32_t i = 0; i < m->nsyms; i++) {
			if (m->syms[i].kind < STRAND_SYM_FUNC || m->syms[i].kind > STRAND_SYM_EXPORT)
				return bad(err, "module symbol %" PRIu32 " kind=%" PRIu32
					   " (expected 1..3)", i, m->syms[i].kind);
			if (i && m->syms[i].addr < m->syms[i - 1].addr)
				return bad(err, "module symbols not sorted by address at symbol %"
					   PRIu32 " (0x%" PRIx64 " after 0x%" PRIx64 ")", i,
					   m->syms[i].addr, m->syms[i - 1].addr);
		}
		return STRAND_OK;
	}
	case STRAND_REC_REGION:
		return check_map(&r->u.region, true, err);
	case STRAND_REC_NOTE:
		if (!r->u.note.key || !r->u.note.key[0])
			return bad(err, "note has an empty key");
		if (r->u.note.len && !r->u.note.data)
			return bad(err, "note len=%" PRIu32 " with no data", r->u.note.len);
		return STRAND_OK;
	case STRAND_REC_SYSCALL:
		if (r->u.syscall.nargs > 8)
			return bad(err, "syscall nargs=%" PRIu32 " exceeds 8", r->u.syscall.nargs);
		return check_fx(&r->u.syscall.fx, err);
	case STRAND_REC_NONDET:
		if (r->u.nondet.kind < STRAND_NONDET_RDTSC || r->u.nondet.kind > STRAND_NONDET_XGETBV)
			return bad(err, "nondet kind=%" PRIu32 " (expected 1..6)", r->u.nondet.kind);
		return check_fx(&r->u.nondet.fx, err);
	case STRAND_REC_MEMORY:
		if (r->u.memory.cpu || r->u.memory.nregs)
			return bad(err, "memory record carries registers (only maps and writes)");
		return check_fx(&r->u.memory, err);
	case STRAND_REC_EXCEPTION:
		if (r->u.exception.kind < STRAND_EXC_EXCEPTION ||
		    r->u.exception.kind > STRAND_EXC_SIGNAL)
			return bad(err, "exception kind=%" PRIu32 " (expected 1..2)",
				   r->u.exception.kind);
		if (r->u.exception.flags & ~(uint32_t)STRAND_EXC_F_FATAL)
			return bad(err, "exception flags=0x%" PRIx32 " has unknown bits",
				   r->u.exception.flags);
		return check_fx(&r->u.exception.fx, err);
	case STRAND_REC_OUTPUT:
		if (r->u.output.stream < 1 || r->u.output.stream > 3)
			return bad(err, "output stream=%" PRIu32 " (expected 1..3)",
				   r->u.output.stream);
		if (r->u.output.len && !r->u.output.data)
			return bad(err, "output len=%" PRIu32 " with no data", r->u.output.len);
		return STRAND_OK;
	case STRAND_REC_KEYFRAME: {
		const struct strand_keyframe *k = &r->u.keyframe;
		if ((k->nthreads && !k->threads) || (k->ndigests && !k->digests))
			return bad(err, "keyframe: a non-zero count with a NULL array");
		for (uint32_t i = 0; i < k->ndigests; i++) {
			const struct strand_digest *g = &k->digests[i];
			if (g->size == 0 || g->addr + g->size < g->addr)
				return bad(err, "keyframe digest %" PRIu32 " addr=0x%" PRIx64
					   " size=0x%" PRIx64 " is empty or wraps", i, g->addr,
					   g->size);
			if (i && g->addr < k->digests[i - 1].addr + k->digests[i - 1].size)
				return bad(err, "keyframe digest %" PRIu32 " addr=0x%" PRIx64
					   " overlaps or precedes the previous one", i, g->addr);
		}
		return STRAND_OK;
	}
	default:
		return STRAND_OK;
	}
}

static int span_cmp(const void *a, const void *b)
{
	const struct tf_region_span *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Snapshot regions must not overlap: sort and compare neighbours. */
static strand_status check_regions(struct tf_checker *c, strand_error *err)
{
	if (c->nregions < 2)
		return STRAND_OK;
	qsort(c->regions, c->nregions, sizeof *c->regions, span_cmp);
	for (size_t i = 1; i < c->nregions; i++) {
		const struct tf_region_span *a = &c->regions[i - 1], *b = &c->regions[i];
		if (b->addr < a->end)
			return bad(err, "snapshot regions overlap: record %" PRIu64
				   " [0x%" PRIx64 ", 0x%" PRIx64 ") and record %" PRIu64
				   " [0x%" PRIx64 ", 0x%" PRIx64 ")",
				   a->ordinal, a->addr, a->end, b->ordinal, b->addr, b->end);
	}
	return STRAND_OK;
}

strand_status tf_check_record(struct tf_checker *c, const struct strand_record *r,
			      strand_error *err)
{
	unsigned t = r->type;
	if (!is_known_type(t))
		return bad(err, "unknown record type %u", t);
	if (c->ended)
		return bad(err, "%s record after process_exit", strand_rec_type_str(t));
	if (c->in_snapshot) {
		if (!is_snapshot_type(t))
			return bad(err, "%s event before snapshot_end", strand_rec_type_str(t));
		if (r->position != 0)
			return bad(err, "snapshot %s record at position=%" PRIu64
				   " (expected 0)", strand_rec_type_str(t), r->position);
	} else {
		if (t == STRAND_REC_REGION || t == STRAND_REC_SNAPSHOT_END)
			return bad(err, "%s record after snapshot_end", strand_rec_type_str(t));
		if (r->position < c->last_position)
			return bad(err, "position=%" PRIu64 " decreases (previous record at %"
				   PRIu64 ")", r->position, c->last_position);
		if (c->ordinal_positions && r->position != c->nconsuming)
			return bad(err, "ordinal position=%" PRIu64 " (expected %" PRIu64
				   ", the number of syscall/nondet events before it)",
				   r->position, c->nconsuming);
	}
	strand_status st = check_shape(r, err);
	if (st != STRAND_OK)
		return st;

	if (t == STRAND_REC_REGION) {
		if (c->nregions == c->capregions) {
			size_t n = c->capregions ? c->capregions * 2 : 64;
			struct tf_region_span *p = realloc(c->regions, n * sizeof *p);
			if (!p)
				return strand_error_set(err, STRAND_ERR_NOMEM,
							"cannot track snapshot regions");
			c->regions = p;
			c->capregions = n;
		}
		c->regions[c->nregions++] = (struct tf_region_span){
			r->u.region.addr, r->u.region.addr + r->u.region.size, c->nrecords };
	}
	if (t == STRAND_REC_SNAPSHOT_END) {
		st = check_regions(c, err);
		if (st != STRAND_OK)
			return st;
		c->in_snapshot = false;
		tf_checker_free(c);
	}
	if (t == STRAND_REC_PROCESS_EXIT)
		c->ended = true;
	if (strand_rec_is_consuming(t))
		c->nconsuming++;
	c->last_position = r->position;
	c->nrecords++;
	return STRAND_OK;
}

strand_status tf_check_finish(struct tf_checker *c, strand_error *err)
{
	return c->in_snapshot ? check_regions(c, err) : STRAND_OK;
}
