/* The report page's pictures, as inline SVG (no scripts, no fonts or
 * images from outside).  Both scale to the page width through their
 * viewBox, so nothing overflows at any window width; every mark carries
 * a <title> (the browser's hover text) with its full, escaped text.
 *
 * Chain layout: boxes of BOX_W x BOX_H in rows of PER_ROW, left to right,
 * an arrow between consecutive boxes (labelled with the number of
 * functions that passed the value on unchanged).
 *
 * Timeline layout: a gutter of LEFT px with the lane labels, then one
 * lane of LANE px per thread over [start, end) positions: the thread's
 * runs (from thread switches) as a band at the lane's foot, waits (a
 * kernel call after which the thread was switched out) as hatched boxes,
 * the call depth as a step line, failed calls as dots (muted when the
 * report found them not to be the cause), and the root cause and symptom
 * as marks across the lane; an axis of positions below. */
#include "report/render_int.h"

#include <inttypes.h>
#include <string.h>

/* Escaped text of s cut to at most max characters (code points), with an
 * ellipsis when cut. */
static void svg_text_cut(const char *s, size_t max, FILE *out)
{
	char buf[512];
	size_t o = 0, chars = 0, total = 0;
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	for (const unsigned char *q = p; *q; q++)
		total += (*q & 0xc0) != 0x80;
	size_t keep = total <= max ? total : (max ? max - 1 : 0);
	while (*p && chars < keep && o + 8 < sizeof buf) {
		do
			buf[o++] = (char)*p++;
		while (*p && (*p & 0xc0) == 0x80 && o + 4 < sizeof buf);
		chars++;
	}
	if (total > keep)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "\xe2\x80\xa6");
	buf[o < sizeof buf ? o : sizeof buf - 1] = 0;
	strand_render_html_esc(buf, out);
}

static void fmt_pos(uint64_t p, char *buf, size_t len)
{
	if (p >= 10000000)
		snprintf(buf, len, "%.1fM", (double)p / 1e6);
	else if (p >= 10000)
		snprintf(buf, len, "%" PRIu64 "k", p / 1000);
	else
		snprintf(buf, len, "%" PRIu64, p);
}

/* ----------------------------------------------------------------- chain */

enum { PER_ROW = 4 };
static const double BOX_W = 262, BOX_H = 104, GAP = 34, PAD = 6;

static const char *link_kind_label(const struct strand_link *l)
{
	unsigned k = l->kind;
	return k == STRAND_LINK_ORIGIN ? (l->kernel ? "kernel call" : "origin")
	     : k == STRAND_LINK_SYMPTOM ? "symptom" : "translation";
}

static void link_href(const struct strand_link *l, FILE *out)
{
	if (l->kind == STRAND_LINK_ORIGIN)
		fputs("#root-cause", out);
	else if (l->kind == STRAND_LINK_SYMPTOM)
		fputs("#symptom", out);
	else
		fprintf(out, "#step-%" PRIu32, l->step);
}

/* The full text of a link for its <title>. */
static void link_title(const struct strand_link *l, FILE *out)
{
	fprintf(out, "%s at position %" PRIu64 ", thread %" PRIu64 ": ", link_kind_label(l),
		l->position, l->tid);
	strand_render_html_esc(l->title, out);
	if (l->object) {
		fputs(" on ", out);
		strand_render_html_esc(l->object, out);
	}
	if (l->instruction) {
		fputs("; ", out);
		strand_render_html_esc(l->instruction, out);
	}
	if (l->what) {
		fputs(" (", out);
		strand_render_html_esc(l->what, out);
		fputs(")", out);
	}
	if (l->has_from)
		fprintf(out, "; 0x%" PRIx64 " becomes", l->from);
	if (l->has_value)
		fprintf(out, " 0x%" PRIx64, l->value);
	if (l->meaning) {
		fputs(" = ", out);
		strand_render_html_esc(l->meaning, out);
	}
	if (l->detail) {
		fputs("; ", out);
		strand_render_html_esc(l->detail, out);
	}
}

void strand_svg_chain(const struct strand_link *links, uint32_t n, uint32_t elided, FILE *out)
{
	if (!n)
		return;
	uint32_t rows = (n + PER_ROW - 1) / PER_ROW;
	double W = PER_ROW * BOX_W + (PER_ROW - 1) * GAP + 2 * PAD;
	double H = rows * BOX_H + (rows - 1) * GAP + 2 * PAD + (elided ? 18 : 0);
	fprintf(out, "<svg class=\"chain\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
		"role=\"img\" aria-label=\"causal chain from the kernel call to the symptom\">\n", W, H);
	fputs("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
	      "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
	      "fill=\"#555\"/></marker></defs>\n", out);
	size_t chars = (size_t)((BOX_W - 16) / 7.3);
	char m[256];
	for (uint32_t i = 0; i < n; i++) {
		const struct strand_link *l = &links[i];
		uint32_t row = i / PER_ROW, col = i % PER_ROW;
		double x = PAD + col * (BOX_W + GAP), y = PAD + row * (BOX_H + GAP);
		const char *cls = l->kind == STRAND_LINK_ORIGIN ? "origin"
				: l->kind == STRAND_LINK_SYMPTOM ? "symptom" : "step";
		fputs("<a href=\"", out);
		link_href(l, out);
		fprintf(out, "\" class=\"box %s\"><title>", cls);
		link_title(l, out);
		fprintf(out, "</title>\n<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" rx=\"6\"/>\n",
			x, y, BOX_W, BOX_H);
		fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" class=\"k\">%" PRIu32 ". %s  @%" PRIu64 "</text>\n",
			x + 8, y + 17, i + 1, link_kind_label(l), l->position);
		fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" class=\"t\">", x + 8, y + 37);
		svg_text_cut(l->title, (size_t)((BOX_W - 16) / 8.6), out); /* bold 13px */
		fputs("</text>\n", out);
		const char *third = l->kind == STRAND_LINK_ORIGIN ? (l->object ? l->object : l->instruction)
				  : l->kind == STRAND_LINK_SYMPTOM ? l->detail : l->instruction;
		if (third) {
			fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" class=\"c\">", x + 8, y + 56);
			svg_text_cut(third, chars, out);
			fputs("</text>\n", out);
		}
		char v[300];
		size_t o = 0;
		v[0] = 0;
		if (l->has_from)
			o += (size_t)snprintf(v + o, sizeof v - o, "0x%" PRIx64 " \xe2\x86\x92 ", l->from);
		if (l->has_value)
			snprintf(v + o, sizeof v - o, "0x%" PRIx64, l->value);
		fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" class=\"v\">", x + 8, y + 75);
		svg_text_cut(v, chars, out);
		fputs("</text>\n", out);
		if (l->meaning) {
			snprintf(m, sizeof m, "%s", l->meaning);
			char *colon = strstr(m, ": ");
			if (colon)
				*colon = 0;
			/* "HRESULT 0x80070002 = HRESULT_FROM_WIN32(...)": the value is shown */
			char *eq = strncmp(m, "HRESULT 0x", 10) ? NULL : strstr(m, " = ");
			fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" class=\"m\">", x + 8, y + 93);
			svg_text_cut(eq ? eq + 3 : m, chars, out);
			fputs("</text>\n", out);
		}
		fputs("</a>\n", out);
		/* arrow to the next box */
		if (i + 1 < n) {
			double x1, y1, x2, y2;
			if (col + 1 < PER_ROW) {
				x1 = x + BOX_W;
				y1 = y2 = y + BOX_H / 2;
				x2 = x1 + GAP - 2;
			} else { /* down to the next row's first box */
				x1 = x + BOX_W / 2;
				y1 = y + BOX_H;
				x2 = PAD + BOX_W / 2;
				y2 = y + BOX_H + GAP - 2;
			}
			const struct strand_link *nx = &links[i + 1];
			if (col + 1 < PER_ROW)
				fprintf(out, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" class=\"arrow\" "
					"marker-end=\"url(#arrow)\"/>\n", x1, y1, x2, y2);
			else
				fprintf(out, "<polyline points=\"%.0f,%.0f %.0f,%.0f %.0f,%.0f %.0f,%.0f\" "
					"class=\"arrow\" fill=\"none\" marker-end=\"url(#arrow)\"/>\n",
					x1, y1, x1, y1 + GAP / 2, x2, y1 + GAP / 2, x2, y2);
			if (nx->through) {
				fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" class=\"thru\"><title>%" PRIu32
					" function%s passed the value on unchanged (full propagation "
					"below)</title>+%" PRIu32 "</text>\n",
					col + 1 < PER_ROW ? x1 + GAP / 2 : x1 + 6,
					col + 1 < PER_ROW ? y1 - 6 : y1 + GAP / 2 - 3, nx->through,
					nx->through == 1 ? "" : "s", nx->through);
			}
		}
	}
	if (elided)
		fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" class=\"thru\">%" PRIu32
			" more translations in the full propagation</text>\n", PAD, H - 4, elided);
	fputs("</svg>\n", out);
}

/* -------------------------------------------------------------- timeline */

static const double TW = 1180, LEFT = 150, RIGHT = 16, LANE = 50, TOP = 22, AXIS = 30;

struct tl {
	uint64_t start, end;
	double plot_w;
	uint32_t nlanes;
	uint64_t tids[256];
};

static double tl_x(const struct tl *t, uint64_t p)
{
	if (p < t->start)
		p = t->start;
	if (p > t->end)
		p = t->end;
	return LEFT + t->plot_w * (double)(p - t->start) / (double)(t->end - t->start);
}

/* Lane index of tid, or -1. */
static int tl_lane(const struct tl *t, uint64_t tid)
{
	for (uint32_t i = 0; i < t->nlanes; i++)
		if (t->tids[i] == tid)
			return (int)i;
	return -1;
}

static void tl_add_lane(struct tl *t, uint64_t tid)
{
	if (tl_lane(t, tid) < 0 && t->nlanes < 256)
		t->tids[t->nlanes++] = tid;
}

static const struct strand_rnode *activity_thread(const struct strand_rnode *activity,
						  uint64_t tid)
{
	const struct strand_rnode *th = strand_rnode_get(activity, "threads");
	for (const struct strand_rnode *c = th ? th->first : NULL; c; c = c->next)
		if (strand_rnode_u64(c, "tid", ~0ull) == tid)
			return c;
	return NULL;
}

static bool benign_reason(const char *r)
{
	return r && (!strcmp(r, "handled") || !strcmp(r, "retried") || !strcmp(r, "unrelated") ||
		     !strcmp(r, "benign"));
}

static void tl_axis(const struct tl *t, double y, FILE *out)
{
	uint64_t span = t->end - t->start, step = 1;
	while (span / step > 10) {
		if (span / (step * 2) <= 10) {
			step *= 2;
			break;
		}
		if (span / (step * 5) <= 10) {
			step *= 5;
			break;
		}
		step *= 10;
	}
	fprintf(out, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" class=\"axis\"/>\n", LEFT,
		y, LEFT + t->plot_w, y);
	char b[32];
	for (uint64_t p = (t->start + step - 1) / step * step; p <= t->end; p += step) {
		double x = tl_x(t, p);
		fmt_pos(p, b, sizeof b);
		fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%s</text>\n", x, y, x, y + 5, x,
			y + 17, b);
		fprintf(out, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", x,
			TOP, x, y);
		if (p > UINT64_MAX - step)
			break;
	}
	fprintf(out, "<text x=\"%.0f\" y=\"%.1f\" class=\"axl\">position "
		"(instructions)</text>\n", LEFT - 14, y + 17);
}

/* A mark across the lane (root cause, symptom, other marks). */
static void tl_mark(const struct tl *t, uint64_t pos, uint64_t tid, const char *cls,
		    const char *label, const char *tip, uint32_t row, FILE *out)
{
	int lane = tl_lane(t, tid);
	double x = tl_x(t, pos);
	double y0 = lane >= 0 ? TOP + LANE * lane : TOP, y1 = lane >= 0 ? y0 + LANE : TOP + LANE * t->nlanes;
	fprintf(out, "<g class=\"mark %s\"><title>", cls);
	strand_render_html_esc(tip, out);
	fprintf(out, "</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
		"<path d=\"M%.1f,%.1f l-6,-9 h12 z\"/>", x, y0 + 2, x, y1 - 2, x, y0 + 11);
	bool right = x > LEFT + t->plot_w * 0.72;
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", right ? x - 8 : x + 8,
		y0 + 12 + 14 * (row % 3), right ? "end" : "start");
	svg_text_cut(label, 40, out);
	fputs("</text></g>\n", out);
}

void strand_svg_timeline(const struct strand_rnode *timeline, const struct strand_rnode *report,
			 const struct strand_rnode *activity, FILE *out)
{
	struct tl t = { 0 };
	t.start = strand_rnode_u64(timeline, "start", 0);
	t.end = strand_rnode_u64(timeline, "end", 1);
	if (t.end <= t.start)
		t.end = t.start + 1;
	t.plot_w = TW - LEFT - RIGHT;
	uint64_t maxd = strand_rnode_u64(timeline, "max_depth", 1);
	if (!maxd)
		maxd = 1;
	const struct strand_rnode *threads = strand_rnode_get(timeline, "threads");
	for (const struct strand_rnode *th = threads ? threads->first : NULL; th; th = th->next)
		tl_add_lane(&t, strand_rnode_u64(th, "tid", 0));
	const struct strand_rnode *ath = strand_rnode_get(activity, "threads");
	for (const struct strand_rnode *th = ath ? ath->first : NULL; th; th = th->next)
		tl_add_lane(&t, strand_rnode_u64(th, "tid", 0));
	if (!t.nlanes)
		t.tids[t.nlanes++] = 0;
	double axis_y = TOP + LANE * t.nlanes + 4;
	double H = axis_y + AXIS;
	fprintf(out, "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
		"role=\"img\" aria-label=\"threads over time: call depth, runs, waits, failures\">\n",
		TW, H);
	fputs("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
	      "patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" "
	      "stroke=\"#9a8fb8\" stroke-width=\"2\"/></pattern></defs>\n", out);
	fprintf(out, "<text x=\"%.0f\" y=\"14\" class=\"tick\">call depth per thread (max %" PRIu64
		"); positions %" PRIu64 " .. %" PRIu64 "</text>\n", LEFT, maxd, t.start, t.end);

	/* lanes: background, label, runs, waits, depth */
	for (uint32_t i = 0; i < t.nlanes; i++) {
		uint64_t tid = t.tids[i];
		double y0 = TOP + LANE * i, yb = y0 + LANE - 10;
		const struct strand_rnode *at = activity_thread(activity, tid);
		const char *name = strand_rnode_str(at, "name", "");
		fprintf(out, "<g class=\"lane\"><title>thread %" PRIu64 "%s", tid, name[0] ? ": " : "");
		strand_render_html_esc(name, out);
		fputs("</title>", out);
		fprintf(out, "<rect x=\"0\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" class=\"%s\"/>", y0,
			TW, LANE, i % 2 ? "bg1" : "bg0");
		fprintf(out, "<text x=\"6\" y=\"%.0f\" class=\"lab\">tid %" PRIu64 "</text>", y0 + 22, tid);
		if (name[0]) {
			fprintf(out, "<text x=\"6\" y=\"%.0f\" class=\"sub\">", y0 + 38);
			svg_text_cut(name, 20, out);
			fputs("</text>", out);
		}
		fputs("</g>\n", out);
		/* runs: when the thread held the CPU (from thread switches) */
		const struct strand_rnode *runs = strand_rnode_get(at, "runs");
		for (const struct strand_rnode *r = runs ? runs->first : NULL; r; r = r->next) {
			uint64_t a = strand_rnode_u64(r, "from", 0), b = strand_rnode_u64(r, "to", 0);
			double xa = tl_x(&t, a), xb = tl_x(&t, b);
			fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"5\" class=\"run\">"
				"<title>thread %" PRIu64 " runs @%" PRIu64 "..@%" PRIu64 "</title></rect>"
				"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"switch\">"
				"<title>switch to thread %" PRIu64 " @%" PRIu64 "</title></line>\n",
				xa, yb + 3, xb - xa < 0.6 ? 0.6 : xb - xa, tid, a, b, xa, yb - 4, xa,
				yb + 8, tid, a);
		}
		/* depth: a step line */
		fputs("<polyline class=\"depth\" points=\"", out);
		const struct strand_rnode *th = NULL;
		for (const struct strand_rnode *c = threads ? threads->first : NULL; c; c = c->next)
			if (strand_rnode_u64(c, "tid", ~0ull) == tid)
				th = c;
		const struct strand_rnode *samples = strand_rnode_get(th, "samples");
		double prev_y = yb;
		bool first = true;
		for (const struct strand_rnode *s = samples ? samples->first : NULL; s; s = s->next) {
			uint64_t d = strand_rnode_u64(s, "depth", 0);
			double x = tl_x(&t, strand_rnode_u64(s, "position", 0));
			double y = yb - (LANE - 24) * (double)(d > maxd ? maxd : d) / (double)maxd;
			if (!first)
				fprintf(out, "%.1f,%.1f ", x, prev_y);
			fprintf(out, "%.1f,%.1f ", x, y);
			prev_y = y;
			first = false;
		}
		fputs("\"/>\n", out);
	}
	/* waits: a kernel call after which the thread was switched out */
	const struct strand_rnode *waits = strand_rnode_get(activity, "waits");
	for (const struct strand_rnode *w = waits ? waits->first : NULL; w; w = w->next) {
		int lane = tl_lane(&t, strand_rnode_u64(w, "tid", 0));
		if (lane < 0)
			continue;
		uint64_t a = strand_rnode_u64(w, "position", 0);
		uint64_t b = strand_rnode_u64(w, "until", a);
		double xa = tl_x(&t, a), xb = tl_x(&t, b), y0 = TOP + LANE * lane;
		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"10\" class=\"wait\"><title>"
			"thread %" PRIu64 " waits in ", xa, y0 + LANE - 24, xb - xa < 2 ? 2 : xb - xa,
			strand_rnode_u64(w, "tid", 0));
		strand_render_html_esc(strand_rnode_str(w, "syscall", "a kernel call"), out);
		fprintf(out, " from @%" PRIu64 " until @%" PRIu64 "</title></rect>\n", a, b);
	}
	/* failed calls that are not the cause: muted dots */
	const struct strand_rnode *of = strand_rnode_get(report, "other_failures");
	for (const struct strand_rnode *o = of ? of->first : NULL; o; o = o->next) {
		int lane = tl_lane(&t, strand_rnode_u64(o, "tid", 0));
		if (lane < 0)
			continue;
		uint64_t p = strand_rnode_u64(o, "position", 0);
		const char *reason = strand_rnode_str(o, "reason", NULL);
		fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" class=\"fail%s\"><title>failed call "
			"@%" PRIu64 ": ", tl_x(&t, p), TOP + LANE * lane + 16,
			benign_reason(reason) ? " benign" : "", p);
		strand_render_html_esc(strand_rnode_str(o, "syscall", "?"), out);
		const char *obj = strand_rnode_str(o, "object", NULL);
		if (obj) {
			fputs(" ", out);
			strand_render_html_esc(obj, out);
		}
		fputs(" = ", out);
		strand_render_html_esc(strand_rnode_str(o, "status_name", "?"), out);
		if (reason) {
			fputs(" (", out);
			strand_render_html_esc(reason, out);
			fputs(": ", out);
			strand_render_html_esc(strand_rnode_str(o, "why", ""), out);
			fputs(")", out);
		}
		fputs("</title></circle>\n", out);
	}
	/* marks: root cause, symptom, and any other mark the report gives */
	const struct strand_rnode *rc = strand_rnode_get(report, "root_cause");
	const struct strand_rnode *sy = strand_rnode_get(report, "symptom");
	const struct strand_rnode *marks = strand_rnode_get(timeline, "marks");
	uint32_t mrow = 0;
	for (const struct strand_rnode *m = marks ? marks->first : NULL; m; m = m->next, mrow++) {
		uint64_t p = strand_rnode_u64(m, "position", 0), tid = strand_rnode_u64(m, "tid", 0);
		const char *cls = "other";
		if (rc && p == strand_rnode_u64(rc, "position", ~0ull))
			cls = "cause";
		else if (sy && p == strand_rnode_u64(sy, "position", ~0ull))
			cls = "symptom";
		char tip[1024];
		snprintf(tip, sizeof tip, "%s at position %" PRIu64 " in thread %" PRIu64 "%s%s",
			 strand_rnode_str(m, "label", "mark"), p, tid,
			 !strcmp(cls, "symptom") ? ": " : "",
			 !strcmp(cls, "symptom") ? strand_rnode_str(sy, "description", "") : "");
		tl_mark(&t, p, tid, cls, strand_rnode_str(m, "label", "mark"), tip, mrow, out);
	}
	tl_axis(&t, axis_y, out);
	fputs("</svg>\n", out);
}
