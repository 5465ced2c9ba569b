/* The root-cause report as one self-contained HTML page: inline CSS and
 * SVG, no scripts, no external resources; every string from the trace
 * escaped.  The first screen answers: verdict, summary and the causal
 * chain as a picture (each box links to its detail).  Then a table of
 * contents, the timeline, the root cause with its stack, the symptom, and
 * the long parts folded in <details>: the full propagation, other
 * failures, handled failures, modules.  Tables wrap instead of
 * overflowing (fixed layout, long values break anywhere); print CSS opens
 * the folded parts. */
#include "report/render_int.h"

#include <inttypes.h>
#include <string.h>

#define MAX_LINKS 10

static const char css[] =
	":root{--fg:#1d1d1f;--mut:#6b6b70;--line:#d8d8dc;--bad:#c0262d;--warn:#c46a00;--ok:#1f7a3a;--acc:#2a6fb0}\n"
	"*{box-sizing:border-box}\n"
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);margin:0;background:#fff}\n"
	"main{max-width:1220px;margin:0 auto;padding:14px 20px 40px}\n"
	"h1{font-size:1.25em;margin:.2em 0 .3em;overflow-wrap:anywhere}\n"
	"h2{font-size:1.08em;margin:1.3em 0 .4em;border-bottom:1px solid var(--line);padding-bottom:.15em}\n"
	"h3{font-size:1em;margin:.9em 0 .3em}\n"
	".verdict{display:inline-block;font-weight:700;text-transform:uppercase;letter-spacing:.04em;"
	"padding:.1em .6em;border-radius:4px;color:#fff;background:var(--mut)}\n"
	".verdict.failure,.verdict.crash{background:var(--bad)}.verdict.healthy,.verdict.no_failure_found{background:var(--ok)}"
	".verdict.hang,.verdict.interrupted,.verdict.incomplete{background:var(--warn)}\n"
	".summary{margin:.4em 0 .6em;max-width:95ch;overflow-wrap:anywhere}\n"
	"svg{display:block;width:100%;height:auto;max-width:100%}\n"
	"svg text{font:12px system-ui,sans-serif;fill:var(--fg)}\n"
	"svg.chain .box rect{fill:#f4f8fc;stroke:var(--acc);stroke-width:1.5}\n"
	"svg.chain .box.origin rect{fill:#fdf1f1;stroke:var(--bad);stroke-width:2}\n"
	"svg.chain .box.symptom rect{fill:#fff6ea;stroke:var(--warn);stroke-width:2}\n"
	"svg.chain .box:hover rect{stroke-width:3}\n"
	"svg.chain .k{font-size:11px;fill:var(--mut);text-transform:uppercase}\n"
	"svg.chain .t{font-weight:650;font-size:13px}\n"
	"svg.chain .c,svg.chain .v{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:11.5px}\n"
	"svg.chain .v{fill:var(--bad)}svg.chain .m{font-size:11.5px;fill:#8a1f24}\n"
	"svg .arrow{stroke:#555;stroke-width:1.6}svg .thru{font-size:11px;fill:var(--mut)}\n"
	"svg.timeline .bg0{fill:#fbfbfc}svg.timeline .bg1{fill:#f3f4f6}\n"
	"svg.timeline .lab{font-weight:650}svg.timeline .sub{fill:var(--mut);font-size:11px}\n"
	"svg.timeline .depth{fill:none;stroke:var(--acc);stroke-width:1.3}\n"
	"svg.timeline .run{fill:#8fc79f}svg.timeline .switch{stroke:#3d8b55;stroke-width:1}\n"
	"svg.timeline .wait{fill:url(#hatch);stroke:#9a8fb8;stroke-width:.6}\n"
	"svg.timeline .fail{fill:var(--warn);stroke:#fff;stroke-width:1}svg.timeline .fail.benign{fill:#b9b9c0}\n"
	"svg.timeline .mark line{stroke-width:2}svg.timeline .mark text{font-weight:650}\n"
	"svg.timeline .cause line,svg.timeline .cause path{stroke:var(--bad);fill:var(--bad)}svg.timeline .cause text{fill:var(--bad)}\n"
	"svg.timeline .symptom line,svg.timeline .symptom path{stroke:var(--warn);fill:var(--warn)}svg.timeline .symptom text{fill:var(--warn)}\n"
	"svg.timeline .other line,svg.timeline .other path{stroke:#7a4bb0;fill:#7a4bb0}\n"
	"svg.timeline .axis{stroke:#888}svg.timeline .grid{stroke:#e4e4e8}svg.timeline .tick{fill:var(--mut);font-size:11px;text-anchor:middle}\n"
	"svg.timeline .axl{fill:var(--mut);font-size:11px;text-anchor:end}\n"
	"svg.timeline .mark text{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}\n"
	".legend{font-size:.85em;color:var(--mut);margin:.3em 0}.legend span{margin-right:1.2em;white-space:nowrap}\n"
	".sw{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;margin-right:.3em;border-radius:2px}\n"
	"nav.toc{font-size:.9em;margin:.6em 0;padding:.4em .8em;background:#f6f6f8;border-radius:6px}\n"
	"nav.toc ul{margin:0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:.2em 1.4em}\n"
	"a{color:var(--acc)}\n"
	"dl{display:grid;grid-template-columns:minmax(8em,max-content) minmax(0,1fr);gap:.15em 1em;margin:.3em 0}\n"
	"dt{font-weight:600;color:#444}dd{margin:0;min-width:0;overflow-wrap:anywhere}\n"
	"code,pre{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:.88em}\n"
	"pre{background:#f5f5f7;padding:.5em .7em;margin:.3em 0;white-space:pre-wrap;overflow-wrap:anywhere;border-radius:4px}\n"
	"table{border-collapse:collapse;margin:.3em 0;width:100%;table-layout:fixed}\n"
	"td,th{border:1px solid var(--line);padding:.2em .45em;text-align:left;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}\n"
	"th{background:#f3f4f6;font-weight:600}\n"
	"tr:target{background:#fff3c4}\n"
	".alert{color:var(--bad);font-weight:600}.muted{color:var(--mut)}\n"
	"details{margin:.4em 0;border:1px solid var(--line);border-radius:6px;padding:.2em .7em}\n"
	"details>summary{cursor:pointer;font-weight:600;padding:.2em 0}\n"
	"section{scroll-margin-top:8px}\n"
	"ol,ul{padding-left:1.4em}li{margin:.2em 0;overflow-wrap:anywhere}\n"
	"@media print{body{font-size:11pt}main{max-width:none;padding:0}nav.toc{display:none}"
	"details{border:none;padding:0}details::details-content{content-visibility:visible;display:block}"
	"details>summary{list-style:none}a{color:inherit;text-decoration:none}"
	"section,svg,tr{break-inside:avoid}}\n";

/* ------------------------------------------------------------- helpers */

static void esc(const char *s, FILE *out)
{
	strand_render_html_esc(s, out);
}

static void h_scalar(const struct strand_rnode *n, FILE *out)
{
	char val[4096];
	strand_render_scalar_str(n, val, sizeof val);
	bool code = n->kind != STRAND_R_STRING;
	if (n->flags & STRAND_RF_ALERT)
		fputs("<span class=\"alert\">", out);
	if (code)
		fputs("<code>", out);
	esc(val, out);
	if (code)
		fputs("</code>", out);
	if (n->flags & STRAND_RF_ALERT)
		fputs("</span>", out);
}

static void h_stack(const struct strand_rnode *stack, FILE *out)
{
	char val[512];
	fputs("<pre class=\"stack\">", out);
	for (const struct strand_rnode *f = stack ? stack->first : NULL; f; f = f->next) {
		strand_render_frame_str(f, val, sizeof val);
		esc(val, out);
		fputc('\n', out);
	}
	if (!stack || !stack->first)
		fputs("(empty)", out);
	fputs("</pre>\n", out);
}

/* Scalars of an object as a <dl>; non-scalars (other than stacks and
 * names in `skip`) drawn generically after it. */
static void h_fields(const struct strand_rnode *o, const char *const *skip, FILE *out)
{
	char lab[128];
	fputs("<dl>\n", out);
	for (const struct strand_rnode *c = o->first; c; c = c->next) {
		bool sk = false;
		for (size_t i = 0; skip && skip[i]; i++)
			sk = sk || !strcmp(skip[i], c->name);
		if (sk || c->kind == STRAND_R_STACK || (c->flags & STRAND_RF_TIMELINE))
			continue;
		strand_render_label(c->name, lab, sizeof lab);
		fputs("<dt>", out);
		esc(lab, out);
		fputs("</dt><dd>", out);
		strand_render_html_node(c, 2, out);
		fputs("</dd>\n", out);
	}
	fputs("</dl>\n", out);
}

static void h_stack_details(const struct strand_rnode *stack, const char *what, bool open,
			    FILE *out)
{
	if (!stack)
		return;
	fprintf(out, "<details%s><summary>Stack %s (%" PRIu32 " frames)</summary>\n",
		open ? " open" : "", what, stack->nchildren);
	h_stack(stack, out);
	fputs("</details>\n", out);
}

/* A table of a list of objects: columns = the scalar keys of `cols`
 * (NULL: of the first row); `id_prefix` gives each row an id. */
static void h_table(const struct strand_rnode *list, const char *const *cols, FILE *out)
{
	char lab[128];
	const struct strand_rnode *r0 = list->first;
	if (!r0)
		return;
	fputs("<table><thead><tr>", out);
	if (cols) {
		for (size_t i = 0; cols[i]; i++) {
			strand_render_label(cols[i], lab, sizeof lab);
			fputs("<th>", out);
			esc(lab, out);
			fputs("</th>", out);
		}
	} else {
		for (const struct strand_rnode *c = r0->first; c; c = c->next) {
			if (!strand_render_is_scalar(c))
				continue;
			strand_render_label(c->name, lab, sizeof lab);
			fputs("<th>", out);
			esc(lab, out);
			fputs("</th>", out);
		}
	}
	fputs("</tr></thead>\n<tbody>\n", out);
	for (const struct strand_rnode *r = list->first; r; r = r->next) {
		fputs("<tr>", out);
		if (cols) {
			for (size_t i = 0; cols[i]; i++) {
				const struct strand_rnode *c = strand_rnode_get(r, cols[i]);
				fputs("<td>", out);
				if (c && strand_render_is_scalar(c))
					h_scalar(c, out);
				fputs("</td>", out);
			}
		} else {
			for (const struct strand_rnode *h = r0->first; h; h = h->next) {
				if (!strand_render_is_scalar(h))
					continue;
				const struct strand_rnode *c = strand_rnode_get(r, h->name);
				fputs("<td>", out);
				if (c)
					h_scalar(c, out);
				fputs("</td>", out);
			}
		}
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table>\n", out);
}

/* ------------------------------------------------------------ sections */

static void s_root_cause(const struct strand_rnode *rc, FILE *out)
{
	fputs("<section id=\"root-cause\">\n<h2>Root cause</h2>\n", out);
	/* headline by kind (docs/report-schema.json) */
	const char *kind = strand_rnode_str(rc, "kind", "kernel_call");
	const struct strand_rnode *crash = strand_rnode_get(rc, "crash");
	fputs("<p class=\"headline\"><strong>", out);
	if (!strcmp(kind, "crash")) {
		fputs("Crash: ", out);
		esc(strand_rnode_str(crash, "kind", "crash"), out);
		fputs("</strong> at <code>", out);
		esc(strand_rnode_str(crash, "where", "?"), out);
		fputs("</code> <code>", out);
		esc(strand_rnode_str(crash, "instruction", ""), out);
		fputs("</code>", out);
	} else if (!strcmp(kind, "user_code")) {
		fputs("The program&#39;s own code</strong> at <code>", out);
		esc(strand_rnode_str(rc, "where", "?"), out);
		fputs("</code>", out);
	} else if (!strcmp(kind, "wait")) {
		fputs("The process did not end by itself</strong> ", out);
		esc(strand_rnode_str(rc, "reason", ""), out);
	} else {
		esc(strand_rnode_str(rc, "syscall", "?"), out);
		fputs("</strong> on <code>", out);
		esc(strand_rnode_str(rc, "object", "?"), out);
		fputs("</code> returned <span class=\"alert\">", out);
		esc(strand_rnode_str(rc, "status_name", ""), out);
		fputs("</span>", out);
	}
	fputs("</p>\n", out);
	static const char *const skip[] = { "api_call", NULL };
	h_fields(rc, skip, out);
	const struct strand_rnode *api = strand_rnode_get(rc, "api_call");
	if (api) {
		fputs("<h3>Inside the API call</h3>\n", out);
		h_fields(api, NULL, out);
	}
	char what[128];
	snprintf(what, sizeof what, "at the kernel call (thread %" PRIu64 ", @%" PRIu64 ")",
		 strand_rnode_u64(rc, "tid", 0), strand_rnode_u64(rc, "position", 0));
	const struct strand_rnode *stack = strand_rnode_get(rc, "stack");
	if (!stack && crash) {
		stack = strand_rnode_get(crash, "stack");
		snprintf(what, sizeof what, "at the crash (thread %" PRIu64 ", @%" PRIu64 ")",
			 strand_rnode_u64(crash, "tid", 0), strand_rnode_u64(crash, "position", 0));
	}
	h_stack_details(stack, what, true, out);
	fputs("</section>\n", out);
}

static void s_symptom(const struct strand_rnode *r, FILE *out)
{
	const struct strand_rnode *sy = strand_rnode_get(r, "symptom");
	const struct strand_rnode *os = strand_rnode_get(r, "other_symptoms");
	if (!sy && !(os && os->nchildren))
		return;
	fputs("<section id=\"symptom\">\n<h2>Symptom</h2>\n", out);
	if (sy) {
		h_fields(sy, NULL, out);
		h_stack_details(strand_rnode_get(sy, "stack"), "at the symptom", false, out);
	}
	if (os && os->nchildren) {
		fprintf(out, "<h3>Other symptoms (%" PRIu32 ")</h3>\n", os->nchildren);
		for (const struct strand_rnode *o = os->first; o; o = o->next)
			h_fields(o, NULL, out);
	}
	fputs("</section>\n", out);
}

static void s_hints(const struct strand_rnode *h, FILE *out)
{
	if (!h || !h->nchildren)
		return;
	fputs("<section id=\"hints\">\n<h2>Hints</h2>\n<ul>\n", out);
	for (const struct strand_rnode *o = h->first; o; o = o->next) {
		fputs("<li><strong>", out);
		esc(strand_rnode_str(o, "title", ""), out);
		fputs("</strong> ", out);
		esc(strand_rnode_str(o, "text", ""), out);
		fputs("</li>\n", out);
	}
	fputs("</ul>\n</section>\n", out);
}

static void s_propagation(const struct strand_rnode *r, FILE *out)
{
	const struct strand_rnode *prop = strand_rnode_get(r, "propagation");
	if (!prop || !prop->nchildren)
		return;
	const struct strand_rnode *main_chain = strand_render_chain_source(r);
	fputs("<section id=\"propagation\">\n<h2>Propagation, step by step</h2>\n", out);
	static const char *const cols[] = { "position", "where", "instruction", "what", "location",
					    "value", "meaning", "called_from", NULL };
	for (const struct strand_rnode *p = prop->first; p; p = p->next) {
		const struct strand_rnode *steps = strand_rnode_get(p, "steps");
		fprintf(out, "<details%s><summary>To the ", p == main_chain ? " id=\"main-chain\"" : "");
		esc(strand_rnode_str(p, "to_symptom", "symptom"), out);
		fprintf(out, " (value <code>0x%" PRIx64 "</code>): %" PRIu32 " steps shown of %" PRIu64
			" followed</summary>\n", strand_rnode_u64(p, "symptom_value", 0),
			steps ? steps->nchildren : 0, strand_rnode_u64(p, "steps_followed", 0));
		if (steps && steps->first) {
			char lab[128];
			fputs("<table class=\"steps\"><colgroup><col style=\"width:6em\"><col style=\"width:18%\">"
			      "<col style=\"width:19%\"><col><col style=\"width:6em\"><col style=\"width:7em\">"
			      "<col style=\"width:17%\"><col style=\"width:14%\"></colgroup><thead><tr>", out);
			for (size_t i = 0; cols[i]; i++) {
				strand_render_label(cols[i], lab, sizeof lab);
				fputs("<th>", out);
				esc(lab, out);
				fputs("</th>", out);
			}
			fputs("</tr></thead>\n<tbody>\n", out);
			uint32_t idx = 0;
			for (const struct strand_rnode *s = steps->first; s; s = s->next, idx++) {
				if (p == main_chain)
					fprintf(out, "<tr id=\"step-%" PRIu32 "\">", idx);
				else
					fputs("<tr>", out);
				for (size_t i = 0; cols[i]; i++) {
					const struct strand_rnode *c = strand_rnode_get(s, cols[i]);
					fputs("<td>", out);
					if (c && strand_render_is_scalar(c))
						h_scalar(c, out);
					fputs("</td>", out);
				}
				fputs("</tr>\n", out);
			}
			fputs("</tbody></table>\n", out);
		}
		fputs("</details>\n", out);
	}
	fputs("</section>\n", out);
}

static bool benign(const struct strand_rnode *o)
{
	const char *r = strand_rnode_str(o, "reason", "");
	return !strcmp(r, "handled") || !strcmp(r, "retried");
}

/* Other failures: failed API calls that were not the cause and failed
 * kernel calls in other threads; handled failures: those the caller
 * handled or retried. */
static void s_failures(const struct strand_rnode *r, FILE *out)
{
	const struct strand_rnode *of = strand_rnode_get(r, "other_failures");
	const struct strand_rnode *fa = strand_rnode_get(r, "failed_api_calls");
	static const char *const cols[] = { "position", "tid", "syscall", "object", "status_name",
					    "reason", "why", "via", NULL };
	uint32_t nother = 0, nhandled = 0;
	for (const struct strand_rnode *o = of ? of->first : NULL; o; o = o->next)
		benign(o) ? nhandled++ : nother++;
	uint32_t napi = fa ? fa->nchildren : 0;
	for (int pass = 0; pass < 2; pass++) {
		uint32_t count = pass ? nhandled : nother + napi;
		if (!count)
			continue;
		fprintf(out, "<section id=\"%s\">\n<details><summary>%s (%" PRIu32 ")</summary>\n",
			pass ? "handled-failures" : "other-failures",
			pass ? "Handled failures: the caller handled or retried them"
			     : "Other failures: not on the path to the symptom", count);
		if (!pass && napi) {
			fputs("<h3>Failed API calls</h3>\n", out);
			static const char *const acols[] = { "function", "tid", "call_position", "caller",
							     "return_value", "result", "role", "why", NULL };
			h_table(fa, acols, out);
		}
		struct strand_result *tmp = strand_result_new();
		struct strand_rnode *sub = strand_r_list(strand_result_root(tmp), "x");
		for (const struct strand_rnode *o = of ? of->first : NULL; o; o = o->next)
			if (benign(o) == (pass == 1))
				strand_r_copy(sub, NULL, o);
		if (sub && sub->nchildren) {
			if (!pass)
				fputs("<h3>Failed kernel calls</h3>\n", out);
			h_table(sub, cols, out);
		}
		strand_result_free(tmp);
		fputs("</details>\n</section>\n", out);
	}
}

static void s_modules(const struct strand_rnode *activity, FILE *out)
{
	const struct strand_rnode *mods = strand_rnode_get(activity, "modules");
	if (!mods || !mods->nchildren)
		return;
	fprintf(out, "<section id=\"modules\">\n<details><summary>Modules (%" PRIu32
		")</summary>\n", mods->nchildren);
	h_table(mods, NULL, out);
	fputs("</details>\n</section>\n", out);
}

static const char *const placed[] = { "verdict", "verdict_reason", "summary", "root_cause", "symptom",
				      "other_symptoms", "hints", "failed_api_calls", "candidates",
				      "other_failures", "trace", "propagation", "timeline",
				      "plugins", NULL };

void strand_render_report_html(const struct strand_rnode *r, const struct strand_rnode *activity,
			       const char *title, FILE *out)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", out);
	esc(title ? title : "strand report", out);
	fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", css);

	/* the answer: verdict, summary, chain */
	const char *verdict = strand_rnode_str(r, "verdict", "unknown");
	fputs("<header id=\"answer\">\n<h1>", out);
	esc(title ? title : "strand report", out);
	fputs("</h1>\n<p><span class=\"verdict ", out);
	for (const char *p = verdict; *p; p++) /* a class name: [a-z_] only */
		if ((*p >= 'a' && *p <= 'z') || *p == '_')
			fputc(*p, out);
	fputs("\">", out);
	esc(verdict, out);
	fputs("</span>", out);
	const char *why = strand_rnode_str(r, "verdict_reason", NULL);
	if (why) {
		fputs(" <span class=\"muted\">", out);
		esc(why, out);
		fputs("</span>", out);
	}
	fputs("</p>\n<p class=\"summary\">", out);
	esc(strand_rnode_str(r, "summary", ""), out);
	fputs("</p>\n</header>\n", out);

	struct strand_link links[MAX_LINKS];
	uint32_t elided, n = strand_render_chain(r, links, MAX_LINKS, &elided);
	if (n) {
		fputs("<section id=\"chain\">\n<h2>Causal chain</h2>\n", out);
		strand_svg_chain(links, n, elided, out);
		fputs("</section>\n", out);
	}

	/* table of contents */
	const struct strand_rnode *tl = strand_rnode_get(r, "timeline");
	const struct strand_rnode *rc = strand_rnode_get(r, "root_cause");
	const struct strand_rnode *sy = strand_rnode_get(r, "symptom");
	const struct strand_rnode *hints = strand_rnode_get(r, "hints");
	const struct strand_rnode *prop = strand_rnode_get(r, "propagation");
	const struct strand_rnode *of = strand_rnode_get(r, "other_failures");
	const struct strand_rnode *fa = strand_rnode_get(r, "failed_api_calls");
	const struct strand_rnode *mods = strand_rnode_get(activity, "modules");
	uint32_t nother = fa ? fa->nchildren : 0, nhandled = 0;
	for (const struct strand_rnode *o = of ? of->first : NULL; o; o = o->next)
		benign(o) ? nhandled++ : nother++;
	fputs("<nav class=\"toc\" aria-label=\"contents\"><ul>\n", out);
	if (n)
		fputs("<li><a href=\"#chain\">Causal chain</a></li>\n", out);
	if (tl)
		fputs("<li><a href=\"#timeline\">Timeline</a></li>\n", out);
	if (rc)
		fputs("<li><a href=\"#root-cause\">Root cause &amp; stack</a></li>\n", out);
	const struct strand_rnode *cl = strand_rnode_get(r, "candidates");
	if (cl && cl->nchildren)
		fputs("<li><a href=\"#candidates\">Candidates considered</a></li>\n", out);
	if (sy)
		fputs("<li><a href=\"#symptom\">Symptom</a></li>\n", out);
	if (hints && hints->nchildren)
		fputs("<li><a href=\"#hints\">Hints</a></li>\n", out);
	if (prop && prop->nchildren)
		fputs("<li><a href=\"#propagation\">Propagation</a></li>\n", out);
	if (nother)
		fprintf(out, "<li><a href=\"#other-failures\">Other failures (%" PRIu32 ")</a></li>\n",
			nother);
	if (nhandled)
		fprintf(out, "<li><a href=\"#handled-failures\">Handled failures (%" PRIu32
			")</a></li>\n", nhandled);
	if (mods && mods->nchildren)
		fputs("<li><a href=\"#modules\">Modules</a></li>\n", out);
	fputs("<li><a href=\"#trace\">Trace</a></li>\n</ul></nav>\n", out);

	if (tl) {
		fputs("<section id=\"timeline\">\n<h2>Timeline</h2>\n", out);
		strand_svg_timeline(tl, r, activity, out);
		fputs("<p class=\"legend\"><span><i class=\"sw\" style=\"background:#c0262d\"></i>root cause"
		      "</span><span><i class=\"sw\" style=\"background:#c46a00\"></i>symptom</span>"
		      "<span><i class=\"sw\" style=\"background:#b9b9c0;border-radius:50%\"></i>failed call,"
		      " not the cause</span><span><i class=\"sw\" style=\"background:#8fc79f\"></i>thread "
		      "runs (switch in: tick)</span><span><i class=\"sw\" style=\"background:#d9d3ea\"></i>"
		      "waits in the kernel</span><span><i class=\"sw\" style=\"background:#2a6fb0;height:2px;"
		      "vertical-align:.2em\"></i>call depth</span>  Hover a mark for its details.</p>\n",
		      out);
		fputs("</section>\n", out);
	}
	if (rc)
		s_root_cause(rc, out);
	const struct strand_rnode *cand = strand_rnode_get(r, "candidates");
	if (cand && cand->nchildren) {
		fprintf(out, "<section id=\"candidates\">\n<h2>Candidates considered (%" PRIu32
			")</h2>\n", cand->nchildren);
		h_table(cand, NULL, out);
		fputs("</section>\n", out);
	}
	s_symptom(r, out);
	s_hints(hints, out);
	s_propagation(r, out);
	s_failures(r, out);
	s_modules(activity, out);

	/* fields this layout does not know, then plugins, then the trace */
	for (const struct strand_rnode *c = r->first; c; c = c->next) {
		bool p = false;
		for (size_t i = 0; placed[i]; i++)
			p = p || !strcmp(placed[i], c->name);
		if (p)
			continue;
		char lab[128];
		strand_render_label(c->name, lab, sizeof lab);
		fputs("<section>\n<h2>", out);
		esc(lab, out);
		fputs("</h2>\n", out);
		strand_render_html_node(c, 1, out);
		fputs("</section>\n", out);
	}
	const struct strand_rnode *pl = strand_rnode_get(r, "plugins");
	if (pl && pl->nchildren) {
		fputs("<section id=\"plugins\">\n<h2>Plugins</h2>\n", out);
		strand_render_html_node(pl, 1, out);
		fputs("</section>\n", out);
	}
	const struct strand_rnode *tr = strand_rnode_get(r, "trace");
	fputs("<section id=\"trace\">\n<h2>Trace</h2>\n", out);
	if (tr)
		h_fields(tr, NULL, out);
	fputs("</section>\n</main>\n</body>\n</html>\n", out);
}
