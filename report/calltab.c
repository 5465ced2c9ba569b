/* calltab: rows of the call list and their hashed lookups (calltab.h). */
#include "report/calltab.h"

#include <stdlib.h>
#include <string.h>

struct rc_calltab_key {
	uint64_t key, pos;
	uint32_t row;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s, strlen(s) + 1);
}

static const char *last_component(const char *obj)
{
	const char *b = strrchr(obj, '/');
	return b ? b + 1 : obj;
}

static uint64_t retry_key(const struct rc_call *c)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, &c->tid, sizeof c->tid);
	h = fnv_str(fnv_str(h, c->name), c->obj);
	return c->obj[0] ? h : fnv(h, &c->arg0, sizeof c->arg0);
}

static uint64_t last_key(const struct rc_call *c)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, &c->tid, sizeof c->tid);
	return fnv_str(h, last_component(c->obj));
}

static int by_key_pos(const void *a, const void *b)
{
	const struct rc_calltab_key *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

strand_status rc_calltab_build(const struct strand_rnode *calls, struct rc_calltab *t,
			       strand_error *err)
{
	memset(t, 0, sizeof *t);
	uint32_t n = calls ? calls->nchildren : 0;
	if (!n)
		return STRAND_OK;
	t->rows = calloc(n, sizeof *t->rows);
	t->same = calloc(n, sizeof *t->same);
	t->base = calloc(n, sizeof *t->base);
	if (!t->rows || !t->same || !t->base) {
		rc_calltab_free(t);
		return strand_error_set(err, STRAND_ERR_NOMEM, "report: cannot index %u calls", n);
	}
	for (const struct strand_rnode *c = calls->first; c && t->n < n; c = c->next) {
		struct rc_call *r = &t->rows[t->n];
		r->node = c;
		r->pos = strand_rnode_u64(c, "position", 0);
		r->tid = strand_rnode_u64(c, "tid", 0);
		r->name = strand_rnode_str(c, "name", "?");
		r->obj = strand_rnode_str(c, "object", "");
		r->failed = strand_rnode_u64(c, "failed", 1) != 0;
		const struct strand_rnode *a = strand_rnode_get(c, "args");
		r->arg0 = a && a->first ? a->first->v.u : ~0ull;
		if (!r->failed) {
			t->same[t->nsucc] = (struct rc_calltab_key){ retry_key(r), r->pos, t->n };
			t->base[t->nsucc] = (struct rc_calltab_key){ last_key(r), r->pos, t->n };
			t->nsucc++;
		}
		t->n++;
	}
	qsort(t->same, t->nsucc, sizeof *t->same, by_key_pos);
	qsort(t->base, t->nsucc, sizeof *t->base, by_key_pos);
	return STRAND_OK;
}

void rc_calltab_free(struct rc_calltab *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->same);
	free(t->base);
	memset(t, 0, sizeof *t);
}

/* First index of v[0..n) at or after (key, pos + 1). */
static uint32_t lower(const struct rc_calltab_key *v, uint32_t n, uint64_t key, uint64_t pos)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v[mid].key < key || (v[mid].key == key && v[mid].pos <= pos))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct rc_call *rc_calltab_retry(const struct rc_calltab *t, const struct rc_call *c)
{
	uint64_t k = retry_key(c);
	for (uint32_t i = lower(t->same, t->nsucc, k, c->pos); i < t->nsucc && t->same[i].key == k; i++) {
		const struct rc_call *d = &t->rows[t->same[i].row];
		if (d->tid == c->tid && !strcmp(d->name, c->name) && !strcmp(d->obj, c->obj) &&
		    (c->obj[0] || d->arg0 == c->arg0))
			return d;
	}
	return NULL;
}

const struct rc_call *rc_calltab_same_last(const struct rc_calltab *t, const struct rc_call *c,
					   uint64_t limit, rc_call_pred pred, void *ud)
{
	uint64_t k = last_key(c);
	const char *lc = last_component(c->obj);
	for (uint32_t i = lower(t->base, t->nsucc, k, c->pos); i < t->nsucc && t->base[i].key == k; i++) {
		const struct rc_call *d = &t->rows[t->base[i].row];
		if (d->pos > limit)
			break;
		if (d->tid == c->tid && !strcmp(last_component(d->obj), lc) && pred(c, d, ud))
			return d;
	}
	return NULL;
}
