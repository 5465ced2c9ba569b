/* The root-cause report as text and Markdown, in reading order: the answer
 * first (verdict, summary, the causal chain in a few lines, the root cause
 * and its stack), then the symptom, hints, the other failures, the trace,
 * any field this layout does not know (drawn generically, so new content
 * stays visible), and the full step-by-step propagation only when asked
 * (`strand report --details`; it is always in JSON). */
#include "report/render_int.h"

#include <inttypes.h>
#include <string.h>

#define MAX_LINKS 10

/* Fields placed by the layout; anything else is drawn after them. */
static const char *const placed[] = { "verdict", "verdict_reason", "summary", "root_cause", "symptom",
				      "other_symptoms", "hints", "failed_api_calls", "candidates",
				      "other_failures", "trace", "propagation", "timeline",
				      "plugins", NULL };

static bool is_placed(const char *name)
{
	for (size_t i = 0; placed[i]; i++)
		if (name && !strcmp(placed[i], name))
			return true;
	return false;
}

/* The status name part of a meaning ("ERROR_FILE_NOT_FOUND (2): The
 * system ..." -> "ERROR_FILE_NOT_FOUND (2)"), into buf. */
static const char *short_meaning(const char *m, char *buf, size_t len)
{
	if (!m)
		return NULL;
	snprintf(buf, len, "%s", m);
	char *colon = strstr(buf, ": ");
	if (colon)
		*colon = 0;
	/* "HRESULT 0x80070002 = HRESULT_FROM_WIN32(...)": the value is shown already */
	char *eq = strncmp(buf, "HRESULT 0x", 10) ? NULL : strstr(buf, " = ");
	return eq ? eq + 3 : buf;
}

/* ------------------------------------------------------------------ text */

static void t_kv(const char *indent, const char *k, const char *v, FILE *out)
{
	if (!v || !v[0])
		return;
	fprintf(out, "%s%s: ", indent, k);
	strand_render_text_esc(v, out);
	fputc('\n', out);
}

static void t_link(const struct strand_link *l, uint32_t i, FILE *out)
{
	char m[256];
	fprintf(out, "  %" PRIu32 ". ", i + 1);
	switch (l->kind) {
	case STRAND_LINK_ORIGIN:
		strand_render_text_esc(l->title, out);
		if (l->object) {
			fputs(" on ", out);
			strand_render_text_esc(l->object, out);
		}
		if (l->has_value)
			fprintf(out, " %s 0x%" PRIx64, l->kernel ? "returned" : "=", l->value);
		break;
	case STRAND_LINK_TRANSLATION:
		strand_render_text_esc(l->title, out);
		if (l->has_from)
			fprintf(out, ": 0x%" PRIx64 " -> 0x%" PRIx64, l->from, l->value);
		else
			fprintf(out, ": -> 0x%" PRIx64, l->value);
		break;
	default:
		fputs("symptom: ", out);
		strand_render_text_esc(l->title, out);
		if (l->has_value)
			fprintf(out, " 0x%" PRIx64, l->value);
		break;
	}
	const char *sm = short_meaning(l->meaning, m, sizeof m);
	if (sm) {
		fputs(" ", out);
		strand_render_text_esc(sm, out);
	}
	fprintf(out, "  @%" PRIu64, l->position);
	if (l->instruction) {
		fputs("  (", out);
		strand_render_text_esc(l->instruction, out);
		fputs(")", out);
	}
	if (l->through)
		fprintf(out, "  [after %" PRIu32 " function%s passing it on]", l->through,
			l->through == 1 ? "" : "s");
	fputc('\n', out);
}

static void t_stack(const struct strand_rnode *stack, const char *indent, FILE *out)
{
	char val[512];
	for (const struct strand_rnode *f = stack ? stack->first : NULL; f; f = f->next) {
		strand_render_frame_str(f, val, sizeof val);
		fputs(indent, out);
		strand_render_text_esc(val, out);
		fputc('\n', out);
	}
}


/* "SYSCALL[<sep>OBJECT] = STATUS" of a call node (a failure, a
 * candidate, a tentative cause), escaped for the terminal. */
static void t_call(const struct strand_rnode *o, const char *sep, FILE *out)
{
	strand_render_text_esc(strand_rnode_str(o, "syscall", "?"), out);
	const char *obj = strand_rnode_str(o, "object", NULL);
	if (obj) {
		fputs(sep, out);
		strand_render_text_esc(obj, out);
	}
	fputs(" = ", out);
	strand_render_text_esc(strand_rnode_str(o, "status_name", "?"), out);
}
/* The root cause's headline, by its kind (docs/report-schema.json):
 * kernel_call, crash, user_code, wait. */
static void t_headline(const struct strand_rnode *rc, FILE *out)
{
	const char *kind = strand_rnode_str(rc, "kind", "kernel_call");
	fputs("root cause: ", out);
	if (!strcmp(kind, "crash")) {
		const struct strand_rnode *c = strand_rnode_get(rc, "crash");
		fputs("crash, ", out);
		strand_render_text_esc(strand_rnode_str(c, "kind", "crash"), out);
		const char *w = strand_rnode_str(c, "where", NULL), *i = strand_rnode_str(c, "instruction", NULL);
		if (w) {
			fputs(" at ", out);
			strand_render_text_esc(w, out);
		}
		if (i) {
			fputs(": ", out);
			strand_render_text_esc(i, out);
		}
	} else if (!strcmp(kind, "user_code")) {
		fputs("the program's own code", out);
		const char *w = strand_rnode_str(rc, "where", NULL);
		if (w) {
			fputs(" at ", out);
			strand_render_text_esc(w, out);
		}
		if (strand_rnode_get(rc, "value"))
			fprintf(out, " produced 0x%" PRIx64, strand_rnode_u64(rc, "value", 0));
	} else if (!strcmp(kind, "incomplete")) {
		fputs("none final: the trace ends before the process did", out);
		const struct strand_rnode *t = strand_rnode_get(rc, "so_far");
		if (t) {
			fputs("; so far (tentative): ", out);
			t_call(t, " on ", out);
		}
	} else if (!strcmp(kind, "wait")) {
		fputs("the process did not end by itself", out);
		const char *r = strand_rnode_str(rc, "reason", NULL);
		if (r) {
			fputs(": ", out);
			strand_render_text_esc(r, out);
		}
	} else {
		strand_render_text_esc(strand_rnode_str(rc, "syscall", "?"), out);
		const char *obj = strand_rnode_str(rc, "object", NULL);
		if (obj) {
			fputs(" on ", out);
			strand_render_text_esc(obj, out);
		}
		fprintf(out, " = 0x%" PRIx64 " ", strand_rnode_u64(rc, "status", 0));
		strand_render_text_esc(strand_rnode_str(rc, "status_name", ""), out);
	}
	fputc('\n', out);
}

static void t_root_cause(const struct strand_rnode *rc, bool details, FILE *out)
{
	(void)details;
	t_headline(rc, out);
	bool kcall = !strcmp(strand_rnode_str(rc, "kind", "kernel_call"), "kernel_call");
	if (kcall) {
		t_kv("  ", "message", strand_rnode_str(rc, "status_message", NULL), out);
		fprintf(out, "  at: @%" PRIu64 " in thread %" PRIu64 "\n",
			strand_rnode_u64(rc, "position", 0), strand_rnode_u64(rc, "tid", 0));
	}
	t_kv("  ", "found by", strand_rnode_str(rc, "found_by", NULL), out);
	const struct strand_rnode *api = strand_rnode_get(rc, "api_call");
	if (api) {
		fputs("  inside: ", out);
		strand_render_text_esc(strand_rnode_str(api, "function", "?"), out);
		fputs(" called from ", out);
		strand_render_text_esc(strand_rnode_str(api, "caller", "?"), out);
		fputs(", returned ", out);
		strand_render_text_esc(strand_rnode_str(api, "result", ""), out);
		fputc('\n', out);
	}
	/* everything else the root cause says, as it is */
	const struct strand_rnode *stack = strand_rnode_get(rc, "stack");
	for (const struct strand_rnode *c = rc->first; c; c = c->next) {
		static const char *const shown[] = { "syscall", "object", "status", "status_name",
						     "status_message", "found_by", "api_call",
						     "stack", "kind", NULL };
		bool k = false;
		for (size_t i = 0; shown[i]; i++)
			k = k || !strcmp(shown[i], c->name);
		k = k || (kcall && (!strcmp(c->name, "position") || !strcmp(c->name, "tid")));
		if (k || (c->flags & STRAND_RF_NOTEXT))
			continue;
		if (!stack && !strcmp(c->name, "crash") && strand_rnode_get(c, "stack")) {
			/* the crash's stack is the root cause's: drawn below */
			stack = strand_rnode_get(c, "stack");
			fputs("  crash:\n", out);
			for (const struct strand_rnode *x = c->first; x; x = x->next)
				if (strcmp(x->name, "stack") && !(x->flags & STRAND_RF_NOTEXT))
					strand_render_text_node(x, 2, false, out);
			continue;
		}
		strand_render_text_node(c, 1, false, out);
	}
	if (stack) {
		fputs("stack:\n", out);
		t_stack(stack, "  ", out);
	}
}

/* The failing calls the decision weighed: one line each, ruled in or
 * out, and why. */
static void t_candidates(const struct strand_rnode *list, FILE *out)
{
	fprintf(out, "candidates considered (%" PRIu32 "):\n", list->nchildren);
	for (const struct strand_rnode *o = list->first; o; o = o->next) {
		fprintf(out, "  %" PRIu64 ". [", strand_rnode_u64(o, "rank", 0));
		strand_render_text_esc(strand_rnode_str(o, "ruling", "?"), out);
		fprintf(out, "] @%" PRIu64 " ", strand_rnode_u64(o, "position", 0));
		t_call(o, " ", out);
		fputs(" (", out);
		strand_render_text_esc(strand_rnode_str(o, "found_by", "?"), out);
		fputs(")\n", out);
		t_kv("      ", "why", strand_rnode_str(o, "why", NULL), out);
	}
}

/* One line per other failure, then what each reason means (once). */
static void t_other_failures(const struct strand_rnode *list, bool details, FILE *out)
{
	fprintf(out, "other failures (%" PRIu32 ", not the cause):\n", list->nchildren);
	for (const struct strand_rnode *o = list->first; o; o = o->next) {
		fprintf(out, "  @%-8" PRIu64 " tid %-6" PRIu64 " ", strand_rnode_u64(o, "position", 0),
			strand_rnode_u64(o, "tid", 0));
		t_call(o, " ", out);
		fputs("  [", out);
		strand_render_text_esc(strand_rnode_str(o, "reason", "?"), out);
		fputs("]\n", out);
		if (details) {
			t_kv("      ", "why", strand_rnode_str(o, "why", NULL), out);
			t_kv("      ", "via", strand_rnode_str(o, "via", NULL), out);
		}
	}
	if (details)
		return;
	const char *seen[8];
	uint32_t nseen = 0;
	for (const struct strand_rnode *o = list->first; o; o = o->next) {
		const char *r = strand_rnode_str(o, "reason", NULL);
		bool dup = !r;
		for (uint32_t i = 0; r && i < nseen; i++)
			dup = dup || !strcmp(seen[i], r);
		if (dup || nseen == 8)
			continue;
		seen[nseen++] = r;
		fputs("  ", out);
		strand_render_text_esc(r, out);
		fputs(": ", out);
		strand_render_text_esc(strand_rnode_str(o, "why", ""), out);
		fputc('\n', out);
	}
}

static void t_section(const struct strand_rnode *n, FILE *out)
{
	if (!n || (n->flags & STRAND_RF_NOTEXT))
		return;
	strand_render_text_node(n, 0, false, out);
	if (!strand_render_is_scalar(n))
		fputc('\n', out);
}

void strand_render_report_text(const struct strand_rnode *r, const char *title, bool details,
			       FILE *out)
{
	if (title) {
		strand_render_text_esc(title, out);
		fputc('\n', out);
		for (size_t i = 0; i < strlen(title); i++)
			fputc('=', out);
		fputs("\n\n", out);
	}
	t_kv("", "verdict", strand_rnode_str(r, "verdict", "?"), out);
	t_kv("", "why", strand_rnode_str(r, "verdict_reason", NULL), out);
	t_kv("", "summary", strand_rnode_str(r, "summary", NULL), out);
	fputc('\n', out);

	struct strand_link links[MAX_LINKS];
	uint32_t elided, n = strand_render_chain(r, links, MAX_LINKS, &elided);
	if (n) {
		fputs("causal chain:\n", out);
		for (uint32_t i = 0; i < n; i++)
			t_link(&links[i], i, out);
		if (elided)
			fprintf(out, "  (%" PRIu32 " more translations: strand report --details)\n",
				elided);
		fputc('\n', out);
	}
	const struct strand_rnode *rc = strand_rnode_get(r, "root_cause");
	if (rc) {
		t_root_cause(rc, details, out);
		fputc('\n', out);
	}
	const struct strand_rnode *cand = strand_rnode_get(r, "candidates");
	if (cand && cand->nchildren) {
		t_candidates(cand, out);
		fputc('\n', out);
	}
	t_section(strand_rnode_get(r, "symptom"), out);
	const struct strand_rnode *os = strand_rnode_get(r, "other_symptoms");
	if (os && os->nchildren)
		t_section(os, out);
	const struct strand_rnode *h = strand_rnode_get(r, "hints");
	if (h && h->nchildren)
		t_section(h, out);
	const struct strand_rnode *fa = strand_rnode_get(r, "failed_api_calls");
	if (fa && fa->nchildren)
		t_section(fa, out);
	const struct strand_rnode *of = strand_rnode_get(r, "other_failures");
	if (of && of->nchildren) {
		t_other_failures(of, details, out);
		fputc('\n', out);
	}
	t_section(strand_rnode_get(r, "trace"), out);
	for (const struct strand_rnode *c = r->first; c; c = c->next)
		if (!is_placed(c->name))
			t_section(c, out);
	const struct strand_rnode *pl = strand_rnode_get(r, "plugins");
	if (pl && pl->nchildren)
		t_section(pl, out);
	if (details)
		t_section(strand_rnode_get(r, "propagation"), out);
	else if (strand_render_chain_source(r))
		fputs("(the step-by-step propagation: strand report --details, or --format json)\n",
		      out);
}

/* -------------------------------------------------------------- Markdown */

/* Trace text in Markdown: escaped, never in a code span (a span would
 * pass markup through to renderers that do not follow CommonMark). */
static void m_code(const char *s, FILE *out)
{
	strand_render_md_esc(s, out);
}

static void m_link(const struct strand_link *l, uint32_t i, FILE *out)
{
	char m[256];
	fprintf(out, "%" PRIu32 ". ", i + 1);
	switch (l->kind) {
	case STRAND_LINK_ORIGIN:
		fputs("**", out);
		strand_render_md_esc(l->title, out);
		fputs("**", out);
		if (l->object) {
			fputs(" on ", out);
			m_code(l->object, out);
		}
		if (l->has_value)
			fprintf(out, " %s `0x%" PRIx64 "`", l->kernel ? "returned" : "=", l->value);
		break;
	case STRAND_LINK_TRANSLATION:
		strand_render_md_esc(l->title, out);
		if (l->has_from)
			fprintf(out, ": `0x%" PRIx64 "` → `0x%" PRIx64 "`", l->from, l->value);
		else
			fprintf(out, ": → `0x%" PRIx64 "`", l->value);
		break;
	default:
		fputs("symptom **", out);
		strand_render_md_esc(l->title, out);
		fputs("**", out);
		if (l->has_value)
			fprintf(out, " `0x%" PRIx64 "`", l->value);
		break;
	}
	const char *sm = short_meaning(l->meaning, m, sizeof m);
	if (sm) {
		fputs(" ", out);
		strand_render_md_esc(sm, out);
	}
	fprintf(out, " @%" PRIu64, l->position);
	if (l->instruction) {
		fputs(" ", out);
		m_code(l->instruction, out);
	}
	if (l->through)
		fprintf(out, " (after %" PRIu32 " function%s passing it on)", l->through,
			l->through == 1 ? "" : "s");
	fputc('\n', out);
}

static void m_section(const struct strand_rnode *n, FILE *out)
{
	if (n && !(n->flags & STRAND_RF_NOTEXT))
		strand_render_md_section(n, 2, out);
}

void strand_render_report_md(const struct strand_rnode *r, const char *title, bool details,
			     FILE *out)
{
	if (title) {
		fputs("# ", out);
		strand_render_md_esc(title, out);
		fputs("\n\n", out);
	}
	fputs("**Verdict:** ", out);
	strand_render_md_esc(strand_rnode_str(r, "verdict", "?"), out);
	const char *why = strand_rnode_str(r, "verdict_reason", NULL);
	if (why) {
		fputs(" (", out);
		strand_render_md_esc(why, out);
		fputs(")", out);
	}
	fputs("\n\n", out);
	const char *summary = strand_rnode_str(r, "summary", NULL);
	if (summary) {
		strand_render_md_esc(summary, out);
		fputs("\n\n", out);
	}
	struct strand_link links[MAX_LINKS];
	uint32_t elided, n = strand_render_chain(r, links, MAX_LINKS, &elided);
	if (n) {
		fputs("## Causal chain\n\n", out);
		for (uint32_t i = 0; i < n; i++)
			m_link(&links[i], i, out);
		if (elided)
			fprintf(out, "\n(%" PRIu32 " more translations: `strand report --details`)\n",
				elided);
		fputc('\n', out);
	}
	const struct strand_rnode *rc = strand_rnode_get(r, "root_cause");
	m_section(rc, out);
	const struct strand_rnode *cand = strand_rnode_get(r, "candidates");
	if (cand && cand->nchildren)
		m_section(cand, out);
	m_section(strand_rnode_get(r, "symptom"), out);
	static const char *const rest[] = { "other_symptoms", "hints", "failed_api_calls",
					    "other_failures", NULL };
	for (size_t i = 0; rest[i]; i++) {
		const struct strand_rnode *x = strand_rnode_get(r, rest[i]);
		if (x && x->nchildren)
			m_section(x, out);
	}
	m_section(strand_rnode_get(r, "trace"), out);
	for (const struct strand_rnode *c = r->first; c; c = c->next)
		if (!is_placed(c->name))
			m_section(c, out);
	const struct strand_rnode *pl = strand_rnode_get(r, "plugins");
	if (pl && pl->nchildren)
		m_section(pl, out);
	if (details)
		m_section(strand_rnode_get(r, "propagation"), out);
	else if (strand_render_chain_source(r))
		fputs("The step-by-step propagation: `strand report --details`, or `--format json`.\n",
		      out);
}
