/* The causal chain of a report folded to a few links, for people: the
 * kernel call and its status, each function that turned the value into
 * another one (with the instruction that did), and the symptom.  Steps
 * that only carried the value are counted, not shown (they stay in the
 * full propagation: JSON, `--details`, the page's folded section). */
#include "report/render_int.h"

#include <string.h>

/* The function part of "module!symbol+0x1f" into buf. */
static void function_of(const char *where, char *buf, size_t len)
{
	snprintf(buf, len, "%s", where ? where : "?");
	char *plus = strstr(buf, "+0x");
	if (plus)
		*plus = 0;
}

const struct strand_rnode *strand_render_chain_source(const struct strand_rnode *report)
{
	const struct strand_rnode *prop = strand_rnode_get(report, "propagation");
	const char *kind = strand_rnode_str(report, "symptom.kind", NULL);
	const struct strand_rnode *best = NULL;
	for (const struct strand_rnode *p = prop ? prop->first : NULL; p; p = p->next) {
		if (!strand_rnode_get(p, "steps"))
			continue;
		if (!best)
			best = p;
		if (kind && !strcmp(strand_rnode_str(p, "to_symptom", ""), kind))
			return p;
	}
	return best;
}

static const struct strand_rnode *value_node(const struct strand_rnode *step)
{
	const struct strand_rnode *v = strand_rnode_get(step, "value");
	return v && (v->kind == STRAND_R_HEX || v->kind == STRAND_R_UINT) ? v : NULL;
}

/* A crash's chain: where the bad value came from (crash.origin), the
 * functions it went through (crash.path), and the faulting instruction. */
static uint32_t crash_chain(const struct strand_rnode *crash, struct strand_link *links,
			    uint32_t max, uint32_t *elided)
{
	const struct strand_rnode *o = strand_rnode_get(crash, "origin");
	const struct strand_rnode *path = strand_rnode_get(crash, "path");
	uint32_t n = 0;
	if (o && max >= 2) {
		struct strand_link *l = &links[n++];
		memset(l, 0, sizeof *l);
		l->kind = STRAND_LINK_ORIGIN;
		l->step = UINT32_MAX;
		l->position = strand_rnode_u64(o, "position", 0);
		l->tid = strand_rnode_u64(o, "tid", 0);
		const char *k = strand_rnode_str(o, "kind", "origin");
		snprintf(l->where_buf, sizeof l->where_buf, "%s", strand_rnode_str(o, "where", k));
		l->title = l->where_buf;
		l->instruction = strand_rnode_str(o, "instruction", NULL);
		l->object = strand_rnode_str(o, "syscall", NULL);
		const struct strand_rnode *v = value_node(o);
		l->has_value = v != NULL;
		l->value = v ? v->v.u : 0;
		l->meaning = strand_rnode_str(o, "status_name", NULL);
	}
	uint64_t cur = n ? links[0].value : 0;
	bool have = n && links[0].has_value;
	for (const struct strand_rnode *s = path ? path->first : NULL; s; s = s->next) {
		const struct strand_rnode *v = value_node(s);
		if (!v || (have && v->v.u == cur) || strand_rnode_u64(s, "position", 0) ==
		    (n ? links[0].position : ~0ull))
			continue;
		if (n + 1 >= max) {
			(*elided)++;
			continue;
		}
		struct strand_link *l = &links[n++];
		memset(l, 0, sizeof *l);
		l->kind = STRAND_LINK_TRANSLATION;
		l->step = UINT32_MAX;
		snprintf(l->where_buf, sizeof l->where_buf, "%s", strand_rnode_str(s, "function", "?"));
		l->title = l->where_buf;
		l->instruction = strand_rnode_str(s, "instruction", NULL);
		l->position = strand_rnode_u64(s, "position", 0);
		l->has_from = have;
		l->from = cur;
		l->has_value = true;
		l->value = cur = v->v.u;
		have = true;
	}
	struct strand_link *e = &links[n++];
	memset(e, 0, sizeof *e);
	e->kind = STRAND_LINK_SYMPTOM;
	e->step = UINT32_MAX;
	e->title = strand_rnode_str(crash, "kind", "crash");
	e->instruction = strand_rnode_str(crash, "instruction", NULL);
	e->detail = strand_rnode_str(crash, "explanation", NULL);
	e->position = strand_rnode_u64(crash, "position", 0);
	e->tid = strand_rnode_u64(crash, "tid", 0);
	e->meaning = strand_rnode_str(crash, "signal", NULL);
	const struct strand_rnode *fa = strand_rnode_get(crash, "fault_address");
	e->has_value = fa != NULL;
	e->value = fa ? fa->v.u : 0;
	return n;
}

uint32_t strand_render_chain(const struct strand_rnode *report, struct strand_link *links,
			     uint32_t max, uint32_t *elided)
{
	*elided = 0;
	const struct strand_rnode *src = strand_render_chain_source(report);
	const struct strand_rnode *steps = strand_rnode_get(src, "steps");
	const struct strand_rnode *crash = strand_rnode_get(report, "root_cause.crash");
	if ((!steps || !steps->first) && crash && max >= 2)
		return crash_chain(crash, links, max, elided);
	if (!steps || !steps->first || max < 2)
		return 0;
	const struct strand_rnode *rc = strand_rnode_get(report, "root_cause");
	const struct strand_rnode *s0 = steps->first;
	uint32_t n = 0;

	struct strand_link *o = &links[n++];
	memset(o, 0, sizeof *o);
	o->kind = STRAND_LINK_ORIGIN;
	o->step = 0;
	o->position = strand_rnode_u64(s0, "position", 0);
	o->tid = strand_rnode_u64(s0, "tid", 0);
	const struct strand_rnode *v0 = value_node(s0);
	o->has_value = v0 != NULL;
	o->value = v0 ? v0->v.u : 0;
	o->meaning = strand_rnode_str(s0, "meaning", NULL);
	o->kernel = !strncmp(strand_rnode_str(s0, "where", ""), "kernel: ", 8);
	if (rc && strand_rnode_u64(rc, "position", ~0ull) == o->position && strand_rnode_get(rc, "syscall")) {
		o->kernel = true;
		o->title = strand_rnode_str(rc, "syscall", NULL);
		o->object = strand_rnode_str(rc, "object", NULL);
		o->meaning = strand_rnode_str(rc, "status_name", o->meaning);
	}
	if (!o->title) {
		const char *w = strand_rnode_str(s0, "where", "origin");
		o->title = strncmp(w, "kernel: ", 8) ? w : w + 8;
	}

	uint64_t cur = o->value;
	bool have_cur = o->has_value;
	uint32_t through = 0, idx = 1;
	const struct strand_rnode *s = s0->next;
	while (s) {
		char fn[160], fn2[160];
		function_of(strand_rnode_str(s, "where", NULL), fn, sizeof fn);
		uint64_t val = cur;
		bool have = have_cur;
		const struct strand_rnode *changed = NULL;
		uint32_t changed_idx = 0;
		/* one group: consecutive steps in the same function */
		for (; s; s = s->next, idx++) {
			function_of(strand_rnode_str(s, "where", NULL), fn2, sizeof fn2);
			if (strcmp(fn, fn2))
				break;
			const struct strand_rnode *v = value_node(s);
			if (v && (!have || v->v.u != val)) {
				changed = s;
				changed_idx = idx;
			}
			if (v) {
				val = v->v.u;
				have = true;
			}
		}
		if (!changed || (have_cur && val == cur)) {
			through++;
			continue;
		}
		if (n + 1 >= max) { /* keep the last slot for the symptom */
			(*elided)++;
			cur = val;
			have_cur = have;
			continue;
		}
		struct strand_link *t = &links[n++];
		memset(t, 0, sizeof *t);
		t->kind = STRAND_LINK_TRANSLATION;
		snprintf(t->where_buf, sizeof t->where_buf, "%s", fn);
		t->title = t->where_buf;
		t->instruction = strand_rnode_str(changed, "instruction", NULL);
		t->what = strand_rnode_str(changed, "what", NULL);
		t->meaning = strand_rnode_str(changed, "meaning", NULL);
		t->position = strand_rnode_u64(changed, "position", 0);
		t->tid = strand_rnode_u64(changed, "tid", 0);
		t->has_from = have_cur;
		t->from = cur;
		t->has_value = true;
		t->value = val;
		t->step = changed_idx;
		t->through = through;
		through = 0;
		cur = val;
		have_cur = true;
	}

	const struct strand_rnode *sy = strand_rnode_get(report, "symptom");
	struct strand_link *e = &links[n++];
	memset(e, 0, sizeof *e);
	e->kind = STRAND_LINK_SYMPTOM;
	e->step = UINT32_MAX;
	e->through = through;
	if (sy) {
		e->title = strand_rnode_str(sy, "kind", "symptom");
		e->detail = strand_rnode_str(sy, "description", NULL);
		e->meaning = strand_rnode_str(sy, "meaning", NULL);
		e->position = strand_rnode_u64(sy, "position", 0);
		e->tid = strand_rnode_u64(sy, "tid", 0);
		const struct strand_rnode *v = value_node(sy);
		e->has_value = v != NULL;
		e->value = v ? v->v.u : 0;
	} else {
		e->title = strand_rnode_str(src, "to_symptom", "symptom");
		e->has_value = strand_rnode_get(src, "symptom_value") != NULL;
		e->value = strand_rnode_u64(src, "symptom_value", 0);
		e->position = strand_rnode_u64(steps->last, "position", 0);
		e->tid = strand_rnode_u64(steps->last, "tid", 0);
	}
	return n;
}
