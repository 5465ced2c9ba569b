/* Renderers of result trees: text, Markdown, JSON, self-contained HTML.
 * All four walk the same tree (include/strand/result.h); none of them
 * knows what a report is, except that HTML draws an object flagged
 * STRAND_RF_TIMELINE as an SVG picture (svg.c).  The root-cause report has
 * its own reading layout (render_report.c, render_html.c), chosen by
 * strand_render when the tree is a report. */
#include "report/render_int.h"
#include "report/views.h"
#include "strand/escape.h"
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

/* ------------------------------------------------------------ escaping */

/* The sinks' escapers are base's (strand/escape.h); these names keep the
 * renderers short. */
void strand_render_text_esc(const char *s, FILE *out)
{
	strand_fputs_term(out, s, 0);
}

void strand_render_md_esc(const char *s, FILE *out)
{
	strand_fputs_md(out, s, 0);
}

void strand_render_html_esc(const char *s, FILE *out)
{
	strand_fputs_html(out, s, 0);
}

/* "root_cause" -> "root cause" */
void strand_render_label(const char *name, char *buf, size_t len)
{
	size_t i = 0;
	for (; name && name[i] && i + 1 < len; i++)
		buf[i] = name[i] == '_' ? ' ' : name[i];
	buf[i] = 0;
}

bool strand_render_is_scalar(const struct strand_rnode *n)
{
	return n->kind != STRAND_R_OBJECT && n->kind != STRAND_R_LIST &&
	       n->kind != STRAND_R_STACK;
}

static bool scalar_list(const struct strand_rnode *n)
{
	for (const struct strand_rnode *c = n->first; c; c = c->next)
		if (!strand_render_is_scalar(c))
			return false;
	return true;
}

/* Scalar value as text. */
void strand_render_scalar_str(const struct strand_rnode *n, char *buf, size_t len)
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
void strand_render_frame_str(const struct strand_rnode *f, char *buf, size_t len)
{
	const char *note = strand_rnode_str(f, "frame_chain", NULL);
	snprintf(buf, len, "#%-2" PRIu64 " 0x%08" PRIx64 "  %s%s%s%s",
		 strand_rnode_u64(f, "index", 0), strand_rnode_u64(f, "pc", 0),
		 strand_rnode_str(f, "symbol", "?"), note ? "  [frame chain: " : "",
		 note ? note : "", note ? "]" : "");
}

/* ----------------------------------------------------------------- text */

#define text_node strand_render_text_node

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

void strand_render_text_node(const struct strand_rnode *n, int depth, bool in_list, FILE *out)
{
	char lab[128], val[4096];
	strand_render_label(n->name, lab, sizeof lab);
	text_indent(depth, out);
	if (in_list)
		fputs("- ", out);
	if (strand_render_is_scalar(n)) {
		strand_render_scalar_str(n, val, sizeof val);
		if (!in_list)
			fprintf(out, "%s: ", lab);
		strand_render_text_esc(val, out);
		fprintf(out, "%s\n", n->flags & STRAND_RF_ALERT ? "  <-- FAILED" : "");
		return;
	}
	if (n->kind == STRAND_R_STACK) {
		if (!in_list)
			fprintf(out, "%s:\n", lab);
		else
			fputs("stack:\n", out);
		for (const struct strand_rnode *f = n->first; f; f = f->next) {
			strand_render_frame_str(f, val, sizeof val);
			text_indent(depth + 1, out);
			strand_render_text_esc(val, out);
			fputc('\n', out);
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
			if (first && strand_render_is_scalar(c)) {
				strand_render_label(c->name, lab, sizeof lab);
				strand_render_scalar_str(c, val, sizeof val);
				fprintf(out, "%s: ", lab);
				strand_render_text_esc(val, out);
				fprintf(out, "%s\n", c->flags & STRAND_RF_ALERT ? "  <-- FAILED" : "");
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
			strand_render_scalar_str(c, val, sizeof val);
			strand_render_text_esc(val, out);
			fputs(c->next ? ", " : "\n", out);
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
		strand_render_text_esc(title, out);
		fputc('\n', out);
		for (size_t i = 0; i < strlen(title); i++)
			fputc('=', out);
		fputs("\n\n", out);
	}
	for (const struct strand_rnode *c = root->first; c; c = c->next) {
		if (c->flags & STRAND_RF_NOTEXT)
			continue;
		text_node(c, 0, false, out);
		if (!strand_render_is_scalar(c))
			fputc('\n', out);
	}
}

/* ------------------------------------------------------------- markdown */

#define md_escape strand_render_md_esc
#define md_section strand_render_md_section

static void md_scalar(const struct strand_rnode *n, FILE *out)
{
	char val[4096];
	strand_render_scalar_str(n, val, sizeof val);
	if (n->kind == STRAND_R_STRING) {
		md_escape(val, out);
	} else {
		fprintf(out, "`%s`", val);
	}
	if (n->flags & STRAND_RF_ALERT)
		fputs(" **(failed)**", out);
}

/* A stack as a list of frames, escaped (not a code block: a symbol could
 * close the fence). */
static void md_stack(const struct strand_rnode *n, int depth, FILE *out)
{
	char val[512];
	for (const struct strand_rnode *f = n->first; f; f = f->next) {
		strand_render_frame_str(f, val, sizeof val);
		text_indent(depth, out);
		fputs("- ", out);
		md_escape(val, out);
		fputc('\n', out);
	}
	if (!n->first) {
		text_indent(depth, out);
		fputs("- (empty)\n", out);
	}
}

static bool flat_object(const struct strand_rnode *o)
{
	if (o->kind != STRAND_R_OBJECT)
		return false;
	for (const struct strand_rnode *c = o->first; c; c = c->next)
		if (!strand_render_is_scalar(c))
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
		strand_render_label(c->name, lab, sizeof lab);
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
	strand_render_label(c->name, lab, sizeof lab);
	text_indent(depth, out);
	if (in_list)
		fputs("- ", out);
	else
		fprintf(out, "- **%s:** ", lab);
	if (strand_render_is_scalar(c)) {
		md_scalar(c, out);
		fputc('\n', out);
	} else if (c->kind == STRAND_R_STACK) {
		fputs(in_list ? "stack\n\n" : "\n\n", out);
		md_stack(c, depth + 1, out);
	} else if (c->nchildren == 0) {
		fputs(c->kind == STRAND_R_LIST ? "(none)\n" : "-\n", out);
	} else if (in_list && c->kind == STRAND_R_OBJECT && c->first && strand_render_is_scalar(c->first)) {
		/* "- **first:** value" then the other fields under it */
		strand_render_label(c->first->name, lab, sizeof lab);
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

void strand_render_md_section(const struct strand_rnode *n, int level, FILE *out)
{
	char lab[128];
	strand_render_label(n->name, lab, sizeof lab);
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
		if (n->kind != STRAND_R_OBJECT || strand_render_is_scalar(c) || level >= 4) {
			md_item(c, 0, n->kind != STRAND_R_OBJECT, out);
			any = true;
		}
	}
	if (any)
		fputc('\n', out);
	if (n->kind == STRAND_R_OBJECT && level < 4)
		for (const struct strand_rnode *c = n->first; c; c = c->next)
			if (!strand_render_is_scalar(c) && !(c->flags & STRAND_RF_NOTEXT))
				md_section(c, level + 1, out);
}

static void render_markdown(const struct strand_rnode *root, const char *title, FILE *out)
{
	if (title) {
		fputs("# ", out);
		md_escape(title, out);
		fputs("\n\n", out);
	}
	bool any = false;
	for (const struct strand_rnode *c = root->first; c; c = c->next)
		if (strand_render_is_scalar(c) && !(c->flags & STRAND_RF_NOTEXT)) {
			md_item(c, 0, false, out);
			any = true;
		}
	if (any)
		fputc('\n', out);
	for (const struct strand_rnode *c = root->first; c; c = c->next)
		if (!strand_render_is_scalar(c) && !(c->flags & STRAND_RF_NOTEXT))
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

#define html_escape strand_render_html_esc
#define html_node strand_render_html_node

static void html_scalar(const struct strand_rnode *n, FILE *out)
{
	char val[4096];
	strand_render_scalar_str(n, val, sizeof val);
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


static void html_stack(const struct strand_rnode *n, FILE *out)
{
	char val[512];
	fputs("<pre class=\"stack\">", out);
	for (const struct strand_rnode *f = n->first; f; f = f->next) {
		strand_render_frame_str(f, val, sizeof val);
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
		strand_render_label(c->name, lab, sizeof lab);
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
		strand_render_label(c->name, lab, sizeof lab);
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

void strand_render_html_node(const struct strand_rnode *n, int level, FILE *out)
{
	if (n->flags & STRAND_RF_TIMELINE) {
		strand_svg_timeline(n, NULL, NULL, out);
		return;
	}
	if (strand_render_is_scalar(n))
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
		if (!strand_render_is_scalar(c))
			continue;
		char lab[128];
		strand_render_label(c->name, lab, sizeof lab);
		fputs("<dt>", out);
		html_escape(lab, out);
		fputs("</dt><dd>", out);
		html_scalar(c, out);
		fputs("</dd>\n", out);
	}
	fputs("</dl>\n", out);
	for (const struct strand_rnode *c = root->first; c; c = c->next) {
		if (strand_render_is_scalar(c))
			continue;
		char lab[128];
		strand_render_label(c->name, lab, sizeof lab);
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

strand_status strand_report_render(const struct strand_rnode *report,
				   const struct strand_rnode *activity, strand_render_format fmt,
				   const char *title, unsigned flags, FILE *out, strand_error *err)
{
	if (!report || !out)
		return strand_error_set(err, STRAND_ERR_INVALID, "render: no report or no output");
	bool details = flags & STRAND_VIEW_DETAILS;
	switch (fmt) {
	case STRAND_RENDER_TEXT: strand_render_report_text(report, title, details, out); break;
	case STRAND_RENDER_MARKDOWN: strand_render_report_md(report, title, details, out); break;
	case STRAND_RENDER_HTML: strand_render_report_html(report, activity, title, out); break;
	default: return strand_render(report, fmt, title, out, err);
	}
	if (ferror(out))
		return strand_error_set(err, STRAND_ERR_IO, "render: write failed");
	return STRAND_OK;
}
