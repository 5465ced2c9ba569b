/* Renderers of result trees: text, Markdown, JSON, self-contained HTML.
 * All four walk the same tree (include/strand/analysis.h); none of them
 * knows what a report is, except that HTML draws an object flagged
 * STRAND_RF_TIMELINE as an SVG picture (layout below, draw_timeline). */
#include "strand/analysis.h"
#include "strand/json.h"

#include <inttypes.h>
#include <string.h>

bool strand_render_format_parse(const char *s, strand_render_format *out)
{
	static const struct { const char *name; strand_render_format f; } t[] = {
		{ "text", STRAND_RENDER_TEXT }, { "markdown", STRAND_RENDER_MARKDOWN },
		{ "md", STRAND_RENDER_MARKDOWN }, { "json", STRAND_RENDER_JSON },
		{ "html", STRAND_RENDER_HTML },
	};
	for (size_t i = 0; s && i < sizeof t / sizeof t[0]; i++)
		if (!strcmp(s, t[i].name)) {
			*out = t[i].f;
			return true;
		}
	return false;
}

/* "root_cause" -> "root cause" */
static void label(const char *name, char *buf, size_t len)
{
	size_t i = 0;
	for (; name && name[i] && i + 1 < len; i++)
		buf[i] = name[i] == '_' ? ' ' : name[i];
	buf[i] = 0;
}

static bool is_scalar(const struct strand_rnode *n)
{
	return n->kind != STRAND_R_OBJECT && n->kind != STRAND_R_LIST &&
	       n->kind != STRAND_R_STACK;
}

static bool scalar_list(const struct strand_rnode *n)
{
	for (const struct strand_rnode *c = n->first; c; c = c->next)
		if (!is_scalar(c))
			return false;
	return true;
}

/* Scalar value as text. */
static void scalar_str(const struct strand_rnode *n, char *buf, size_t len)
{
	switch (n->kind) {
	case STRAND_R_STRING: snprintf(buf, len, "%s", n->v.s); break;
	case STRAND_R_INT: snprintf(buf, len, "%" PRId64, n->v.i); break;
	case STRAND_R_UINT: snprintf(buf, len, "%" PRIu64, n->v.u); break;
	case STRAND_R_HEX: snprintf(buf, len, "0x%" PRIx64, n->v.u); break;
	case STRAND_R_POSITION: snprintf(buf, len, "@%" PRIu64, n->v.u); break;
	case STRAND_R_BOOL: snprintf(buf, len, "%s", n->v.b ? "yes" : "no"); break;
	default: snprintf(buf, len, "?"); break;
	}
}

/* One frame object of a STACK as "#i  0xpc  symbol  (note)". */
static void frame_str(const struct strand_rnode *f, char *buf, size_t len)
{
	const char *note = strand_rnode_str(f, "frame_chain", NULL);
	snprintf(buf, len, "#%-2" PRIu64 " 0x%08" PRIx64 "  %s%s%s%s",
		 strand_rnode_u64(f, "index", 0), strand_rnode_u64(f, "pc", 0),
		 strand_rnode_str(f, "symbol", "?"), note ? "  [frame chain: " : "",
		 note ? note : "", note ? "]" : "");
}

/* ----------------------------------------------------------------- text */

static void text_node(const struct strand_rnode *n, int depth, bool in_list, FILE *out);

static void text_indent(int depth, FILE *out)
{
	for (int i = 0; i < depth; i++)
		fputs("  ", out);
}

static void text_children(const struct strand_rnode *n, int depth, FILE *out)
{
	bool list = n->kind != STRAND_R_OBJECT;
	for (const struct strand_rnode *c = n->first; c; c = c->next)
		if (!(c->flags & STRAND_RF_NOTEXT))
			text_node(c, depth, list, out);
}

static void text_node(const struct strand_rnode *n, int depth, bool in_list, FILE *out)
{
	char lab[128], val[4096];
	label(n->name, lab, sizeof lab);
	text_indent(depth, out);
	if (in_list)
		fputs("- ", out);
	if (is_scalar(n)) {
		scalar_str(n, val, sizeof val);
		if (in_list)
			fprintf(out, "%s%s\n", val, n->flags & STRAND_RF_ALERT ? "  <-- FAILED" : "");
		else
			fprintf(out, "%s: %s%s\n", lab, val,
				n->flags & STRAND_RF_ALERT ? "  <-- FAILED" : "");
		return;
	}
	if (n->kind == STRAND_R_STACK) {
		if (!in_list)
			fprintf(out, "%s:\n", lab);
		else
			fputs("stack:\n", out);
		for (const struct strand_rnode *f = n->first; f; f = f->next) {
			frame_str(f, val, sizeof val);
			text_indent(depth + 1, out);
			fprintf(out, "%s\n", val);
		}
		if (!n->first) {
			text_indent(depth + 1, out);
			fputs("(empty)\n", out);
		}
		return;
	}
	if (in_list && n->kind == STRAND_R_OBJECT) {
		/* "- first: v" then the other fields aligned under it */
		bool first = true;
		for (const struct strand_rnode *c = n->first; c; c = c->next) {
			if (c->flags & STRAND_RF_NOTEXT)
				continue;
			if (first && is_scalar(c)) {
				label(c->name, lab, sizeof lab);
				scalar_str(c, val, sizeof val);
				fprintf(out, "%s: %s%s\n", lab, val,
					c->flags & STRAND_RF_ALERT ? "  <-- FAILED" : "");
			} else {
				if (first)
					fputc('\n', out);
				text_node(c, depth + 1, false, out);
			}
			first = false;
		}
		if (first)
			fputs("{}\n", out);
		return;
	}
	if (!in_list && n->kind == STRAND_R_LIST && n->nchildren && scalar_list(n)) {
		fprintf(out, "%s: ", lab);
		for (const struct strand_rnode *c = n->first; c; c = c->next) {
			scalar_str(c, val, sizeof val);
			fprintf(out, "%s%s", val, c->next ? ", " : "\n");
		}
		return;
	}
	if (in_list)
		fputs("\n", out);
	else if (n->nchildren == 0)
		fprintf(out, "%s: %s\n", lab, n->kind == STRAND_R_LIST ? "(none)" : "-");
	else
		fprintf(out, "%s:\n", lab);
	text_children(n, depth + 1, out);
}

static void render_text(const struct strand_rnode *root, const char *title, FILE *out)
{
	if (title) {
		fprintf(out, "%s\n", title);
		for (size_t i = 0; i < strlen(title); i++)
			fputc('=', out);
		fputs("\n\n", out);
	}
	for (const struct strand_rnode *c = root->first; c; c = c->next) {
		if (c->flags & STRAND_RF_NOTEXT)
			continue;
		text_node(c, 0, false, out);
		if (!is_scalar(c))
			fputc('\n', out);
	}
}

/* ------------------------------------------------------------- markdown */

static void md_escape(const char *s, FILE *out)
{
	for (; *s; s++) {
		if (strchr("\\`*_[]<>|", *s))
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void md_scalar(const struct strand_rnode *n, FILE *out)
{
	char val[4096];
	scalar_str(n, val, sizeof val);
	if (n->kind == STRAND_R_STRING) {
		md_escape(val, out);
	} else {
		fprintf(out, "`%s`", val);
	}
	if (n->flags & STRAND_RF_ALERT)
		fputs(" **(failed)**", out);
}

static void md_stack(const struct strand_rnode *n, int depth, FILE *out)
{
	char val[512];
	text_indent(depth, out);
	fputs("```\n", out);
	for (const struct strand_rnode *f = n->first; f; f = f->next) {
		frame_str(f, val, sizeof val);
		text_indent(depth, out);
		fprintf(out, "%s\n", val);
	}
	text_indent(depth, out);
	fputs("```\n", out);
}

static bool flat_object(const struct strand_rnode *o)
{
	if (o->kind != STRAND_R_OBJECT)
		return false;
	for (const struct strand_rnode *c = o->first; c; c = c->next)
		if (!is_scalar(c))
			return false;
	return true;
}

/* Table of a list of flat objects; columns from the first row. */
static void md_table(const struct strand_rnode *list, FILE *out)
{
	char lab[128];
	const struct strand_rnode *r0 = list->first;
	fputc('|', out);
	for (const struct strand_rnode *c = r0->first; c; c = c->next) {
		label(c->name, lab, sizeof lab);
		fprintf(out, " %s |", lab);
	}
	fputs("\n|", out);
	for (const struct strand_rnode *c = r0->first; c; c = c->next)
		fputs("---|", out);
	fputc('\n', out);
	for (const struct strand_rnode *r = list->first; r; r = r->next) {
		fputc('|', out);
		for (const struct strand_rnode *h = r0->first; h; h = h->next) {
			const struct strand_rnode *c = strand_rnode_get(r, h->name);
			fputc(' ', out);
			if (c)
				md_scalar(c, out);
			fputs(" |", out);
		}
		fputc('\n', out);
	}
	fputc('\n', out);
}

static void md_bullets(const struct strand_rnode *n, int depth, FILE *out);

static void md_item(const struct strand_rnode *c, int depth, bool in_list, FILE *out)
{
	char lab[128];
	if (c->flags & STRAND_RF_NOTEXT)
		return;
	label(c->name, lab, sizeof lab);
	text_indent(depth, out);
	if (in_list)
		fputs("- ", out);
	else
		fprintf(out, "- **%s:** ", lab);
	if (is_scalar(c)) {
		md_scalar(c, out);
		fputc('\n', out);
	} else if (c->kind == STRAND_R_STACK) {
		fputs(in_list ? "stack\n\n" : "\n\n", out);
		md_stack(c, depth + 1, out);
	} else if (c->nchildren == 0) {
		fputs(c->kind == STRAND_R_LIST ? "(none)\n" : "-\n", out);
	} else if (in_list && c->kind == STRAND_R_OBJECT && c->first && is_scalar(c->first)) {
		/* "- **first:** value" then the other fields under it */
		label(c->first->name, lab, sizeof lab);
		fprintf(out, "**%s:** ", lab);
		md_scalar(c->first, out);
		fputc('\n', out);
		for (const struct strand_rnode *x = c->first->next; x; x = x->next)
			md_item(x, depth + 1, false, out);
	} else if (c->kind == STRAND_R_LIST && scalar_list(c)) {
		for (const struct strand_rnode *x = c->first; x; x = x->next) {
			md_scalar(x, out);
			fputs(x->next ? ", " : "\n", out);
		}
	} else {
		fputc('\n', out);
		md_bullets(c, depth + 1, out);
	}
}

static void md_bullets(const struct strand_rnode *n, int depth, FILE *out)
{
	bool list = n->kind != STRAND_R_OBJECT;
	for (const struct strand_rnode *c = n->first; c; c = c->next)
		md_item(c, depth, list, out);
}

static void md_section(const struct strand_rnode *n, int level, FILE *out)
{
	char lab[128];
	label(n->name, lab, sizeof lab);
	if (lab[0] >= 'a' && lab[0] <= 'z')
		lab[0] = (char)(lab[0] - 'a' + 'A');
	fprintf(out, "%.*s %s\n\n", level, "######", lab);
	if (n->kind == STRAND_R_STACK) {
		md_stack(n, 0, out);
		fputc('\n', out);
		return;
	}
	if (n->nchildren == 0) {
		fputs(n->kind == STRAND_R_LIST ? "(none)\n\n" : "-\n\n", out);
		return;
	}
	if (n->kind == STRAND_R_LIST && (n->flags & STRAND_RF_TABLE) && flat_object(n->first)) {
		md_table(n, out);
		return;
	}
	/* scalars first as bullets, then sub-sections */
	bool any = false;
	for (const struct strand_rnode *c = n->first; c; c = c->next) {
		if (c->flags & STRAND_RF_NOTEXT)
			continue;
		if (n->kind != STRAND_R_OBJECT || is_scalar(c) || level >= 4) {
			md_item(c, 0, n->kind != STRAND_R_OBJECT, out);
			any = true;
		}
	}
	if (any)
		fputc('\n', out);
	if (n->kind == STRAND_R_OBJECT && level < 4)
		for (const struct strand_rnode *c = n->first; c; c = c->next)
			if (!is_scalar(c) && !(c->flags & STRAND_RF_NOTEXT))
				md_section(c, level + 1, out);
}

static void render_markdown(const struct strand_rnode *root, const char *title, FILE *out)
{
	if (title)
		fprintf(out, "# %s\n\n", title);
	bool any = false;
	for (const struct strand_rnode *c = root->first; c; c = c->next)
		if (is_scalar(c) && !(c->flags & STRAND_RF_NOTEXT)) {
			md_item(c, 0, false, out);
			any = true;
		}
	if (any)
		fputc('\n', out);
	for (const struct strand_rnode *c = root->first; c; c = c->next)
		if (!is_scalar(c) && !(c->flags & STRAND_RF_NOTEXT))
			md_section(c, 2, out);
}

/* ----------------------------------------------------------------- JSON */

static void json_node(struct strand_json *j, const struct strand_rnode *n)
{
	switch (n->kind) {
	case STRAND_R_OBJECT:
		strand_json_start_object(j);
		for (const struct strand_rnode *c = n->first; c; c = c->next) {
			strand_json_name(j, c->name);
			json_node(j, c);
		}
		strand_json_end_object(j);
		break;
	case STRAND_R_LIST:
	case STRAND_R_STACK:
		strand_json_start_array(j);
		for (const struct strand_rnode *c = n->first; c; c = c->next)
			json_node(j, c);
		strand_json_end_array(j);
		break;
	case STRAND_R_STRING: strand_json_string(j, n->v.s); break;
	case STRAND_R_INT: strand_json_int(j, n->v.i); break;
	case STRAND_R_UINT:
	case STRAND_R_POSITION: strand_json_uint(j, n->v.u); break;
	case STRAND_R_HEX: strand_json_hex(j, n->v.u); break;
	case STRAND_R_BOOL: strand_json_bool(j, n->v.b); break;
	default: strand_json_null(j); break;
	}
}

/* ----------------------------------------------------------------- HTML */

static void html_escape(const char *s, FILE *out)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*s, out);
		}
	}
}

/* Timeline object layout (callstack plugin, "timeline" option):
 *   { start: position, end: position, max_depth: uint,
 *     threads: [ { tid, samples: [ { position, depth } ... ] } ... ],
 *     marks:   [ { position, tid, label } ... ] }
 * Drawn as one lane per thread: a step line of call depth over time, with
 * each mark as a red vertical line and its label. */
static void draw_timeline(const struct strand_rnode *t, FILE *out)
{
	const double W = 900, LANE = 70, LEFT = 70, TOP = 20;
	uint64_t start = strand_rnode_u64(t, "start", 0);
	uint64_t end = strand_rnode_u64(t, "end", 1);
	uint64_t maxd = strand_rnode_u64(t, "max_depth", 1);
	if (end <= start)
		end = start + 1;
	if (!maxd)
		maxd = 1;
	const struct strand_rnode *threads = strand_rnode_get(t, "threads");
	const struct strand_rnode *marks = strand_rnode_get(t, "marks");
	uint32_t nth = threads ? threads->nchildren : 0;
	uint32_t nmarks = marks ? marks->nchildren : 0;
	double lanes_end = TOP + LANE * (nth ? nth : 1);
	double H = lanes_end + 10 + 14 * (nmarks ? nmarks : 1);
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"call depth per thread over time\">\n",
		LEFT + W + 20, H, LEFT + W + 20, H);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fcfcfc\"/>\n",
		LEFT + W + 20, H);
	uint32_t lane = 0;
	for (const struct strand_rnode *th = threads ? threads->first : NULL; th;
	     th = th->next, lane++) {
		double y0 = TOP + LANE * lane, yb = y0 + LANE - 8;
		fprintf(out, "<text x=\"4\" y=\"%.1f\" font-size=\"11\">tid %" PRIu64 "</text>\n",
			y0 + LANE / 2, strand_rnode_u64(th, "tid", 0));
		fprintf(out, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n",
			LEFT, yb, LEFT + W, yb);
		fputs("<polyline fill=\"none\" stroke=\"#2a6fb0\" stroke-width=\"1.2\" points=\"", out);
		const struct strand_rnode *samples = strand_rnode_get(th, "samples");
		double prev_y = yb;
		bool first = true;
		for (const struct strand_rnode *s = samples ? samples->first : NULL; s; s = s->next) {
			uint64_t p = strand_rnode_u64(s, "position", 0);
			uint64_t d = strand_rnode_u64(s, "depth", 0);
			double x = LEFT + W * (double)(p - (p < start ? p : start)) / (double)(end - start);
			double y = yb - (LANE - 14) * (double)(d > maxd ? maxd : d) / (double)maxd;
			if (!first)
				fprintf(out, "%.1f,%.1f ", x, prev_y);
			fprintf(out, "%.1f,%.1f ", x, y);
			prev_y = y;
			first = false;
		}
		fputs("\"/>\n", out);
	}
	uint32_t mi = 0;
	for (const struct strand_rnode *m = marks ? marks->first : NULL; m; m = m->next, mi++) {
		uint64_t p = strand_rnode_u64(m, "position", 0);
		double x = LEFT + W * (double)(p > start ? p - start : 0) / (double)(end - start);
		double ly = lanes_end + 14 + 14 * mi;
		fprintf(out, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#d62728\" "
			"stroke-width=\"2\"/>\n", x, TOP - 6, x, ly - 10);
		/* a dot on the lane of the mark's thread */
		uint32_t lane_of = 0, k = 0;
		for (const struct strand_rnode *th = threads ? threads->first : NULL; th; th = th->next, k++)
			if (strand_rnode_u64(th, "tid", 0) == strand_rnode_u64(m, "tid", ~0ull))
				lane_of = k + 1;
		if (lane_of)
			fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#d62728\"/>\n", x,
				TOP + LANE * (lane_of - 1) + LANE / 2);
		fprintf(out, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" fill=\"#d62728\" "
			"text-anchor=\"%s\">", x, ly, x > LEFT + W / 2 ? "end" : "start");
		html_escape(strand_rnode_str(m, "label", "failure"), out);
		fprintf(out, " @%" PRIu64 "</text>\n", p);
	}
	fprintf(out, "<text x=\"%.0f\" y=\"12\" font-size=\"11\">position %" PRIu64 " .. %" PRIu64
		" (instructions); line height = call depth (max %" PRIu64 ")</text>\n",
		LEFT, start, end, maxd);
	fputs("</svg>\n", out);
}

static void html_scalar(const struct strand_rnode *n, FILE *out)
{
	char val[4096];
	scalar_str(n, val, sizeof val);
	bool code = n->kind != STRAND_R_STRING;
	if (n->flags & STRAND_RF_ALERT)
		fputs("<span class=\"alert\">", out);
	if (code)
		fputs("<code>", out);
	html_escape(val, out);
	if (code)
		fputs("</code>", out);
	if (n->flags & STRAND_RF_ALERT)
		fputs("</span>", out);
}

static void html_node(const struct strand_rnode *n, int level, FILE *out);

static void html_stack(const struct strand_rnode *n, FILE *out)
{
	char val[512];
	fputs("<pre class=\"stack\">", out);
	for (const struct strand_rnode *f = n->first; f; f = f->next) {
		frame_str(f, val, sizeof val);
		html_escape(val, out);
		fputc('\n', out);
	}
	fputs("</pre>\n", out);
}

static void html_table(const struct strand_rnode *list, FILE *out)
{
	char lab[128];
	const struct strand_rnode *r0 = list->first;
	fputs("<table><tr>", out);
	for (const struct strand_rnode *c = r0->first; c; c = c->next) {
		label(c->name, lab, sizeof lab);
		fputs("<th>", out);
		html_escape(lab, out);
		fputs("</th>", out);
	}
	fputs("</tr>\n", out);
	for (const struct strand_rnode *r = list->first; r; r = r->next) {
		fputs("<tr>", out);
		for (const struct strand_rnode *h = r0->first; h; h = h->next) {
			const struct strand_rnode *c = strand_rnode_get(r, h->name);
			fputs("<td>", out);
			if (c)
				html_scalar(c, out);
			fputs("</td>", out);
		}
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

static void html_children(const struct strand_rnode *n, int level, FILE *out)
{
	if (n->kind == STRAND_R_LIST && (n->flags & STRAND_RF_TABLE) && n->first &&
	    flat_object(n->first)) {
		html_table(n, out);
		return;
	}
	bool list = n->kind != STRAND_R_OBJECT;
	fputs(list ? "<ol>\n" : "<dl>\n", out);
	for (const struct strand_rnode *c = n->first; c; c = c->next) {
		char lab[128];
		label(c->name, lab, sizeof lab);
		if (list) {
			fputs("<li>", out);
		} else {
			fputs("<dt>", out);
			html_escape(lab, out);
			fputs("</dt><dd>", out);
		}
		html_node(c, level + 1, out);
		fputs(list ? "</li>\n" : "</dd>\n", out);
	}
	fputs(list ? "</ol>\n" : "</dl>\n", out);
}

static void html_node(const struct strand_rnode *n, int level, FILE *out)
{
	if (n->flags & STRAND_RF_TIMELINE) {
		draw_timeline(n, out);
		return;
	}
	if (is_scalar(n))
		html_scalar(n, out);
	else if (n->kind == STRAND_R_STACK)
		html_stack(n, out);
	else if (n->nchildren == 0)
		fputs(n->kind == STRAND_R_LIST ? "<em>none</em>" : "-", out);
	else
		html_children(n, level, out);
}

static void render_html(const struct strand_rnode *root, const char *title, FILE *out)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", out);
	html_escape(title ? title : "strand", out);
	fputs("</title>\n<style>\n"
	      "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}\n"
	      "h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}\n"
	      "dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;margin:.3em 0}\n"
	      "dt{font-weight:600}dd{margin:0}\n"
	      "pre.stack{background:#f4f4f4;padding:.5em;overflow-x:auto;margin:.2em 0}\n"
	      "table{border-collapse:collapse;margin:.3em 0}td,th{border:1px solid #ccc;padding:.15em .5em;text-align:left}\n"
	      ".alert{color:#b00;font-weight:600}code{font-size:.95em}\n"
	      "ol{padding-left:1.5em}li{margin:.3em 0}\n"
	      "</style>\n</head>\n<body>\n<h1>", out);
	html_escape(title ? title : "strand", out);
	fputs("</h1>\n<dl>\n", out);
	for (const struct strand_rnode *c = root->first; c; c = c->next) {
		if (!is_scalar(c))
			continue;
		char lab[128];
		label(c->name, lab, sizeof lab);
		fputs("<dt>", out);
		html_escape(lab, out);
		fputs("</dt><dd>", out);
		html_scalar(c, out);
		fputs("</dd>\n", out);
	}
	fputs("</dl>\n", out);
	for (const struct strand_rnode *c = root->first; c; c = c->next) {
		if (is_scalar(c))
			continue;
		char lab[128];
		label(c->name, lab, sizeof lab);
		fputs("<section>\n<h2>", out);
		html_escape(lab, out);
		fputs("</h2>\n", out);
		html_node(c, 1, out);
		fputs("</section>\n", out);
	}
	fputs("</body>\n</html>\n", out);
}

strand_status strand_render(const struct strand_rnode *root, strand_render_format fmt,
			    const char *title, FILE *out, strand_error *err)
{
	if (!root || !out)
		return strand_error_set(err, STRAND_ERR_INVALID, "render: no tree or no output");
	switch (fmt) {
	case STRAND_RENDER_TEXT: render_text(root, title, out); break;
	case STRAND_RENDER_MARKDOWN: render_markdown(root, title, out); break;
	case STRAND_RENDER_HTML: render_html(root, title, out); break;
	case STRAND_RENDER_JSON: {
		struct strand_json *j = strand_json_new(out, true);
		if (!j)
			return strand_error_set(err, STRAND_ERR_NOMEM, "render: out of memory");
		json_node(j, root);
		strand_json_free(j);
		break;
	}
	default:
		return strand_error_set(err, STRAND_ERR_INVALID, "render: unknown format=%d", (int)fmt);
	}
	if (ferror(out))
		return strand_error_set(err, STRAND_ERR_IO, "render: write failed");
	return STRAND_OK;
}
