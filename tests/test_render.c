/* The report's reading layout (report/render_report.c, render_html.c,
 * svg.c, chain.c): the answer first in text, Markdown and HTML, the chain
 * folded, every trace-derived string escaped for its sink, and the page
 * checked in a real browser (headless Chromium through the DevTools
 * protocol: tests/browser/page_check.mjs) for every bundled trace, with a
 * screenshot of the first screen kept under the build directory
 * (browser/NAME.png). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report/views.h"
#include "strand/analysis.h"
#include "tests/test_analysis_app.h"

/* Render `root` into a string (owned). */
static char *render(const struct strand_rnode *root, strand_render_format fmt, unsigned flags)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	strand_error err;
	strand_error_clear(&err);
	cr_assert_eq(strand_report_render(root, NULL, fmt, "strand report: <t>", flags, f, &err),
		     STRAND_OK, "%s", err.msg);
	fclose(f);
	return buf;
}

#define HOSTILE "<script>alert(1)</script>\x1b[31m\"'&`*_|#[x](y)\xc2\x9b\xff"

/* A report tree shaped like strand_report_build's, with hostile strings
 * wherever a trace can put text. */
static struct strand_result *hostile_report(void)
{
	struct strand_result *res = strand_result_new();
	struct strand_rnode *r = strand_result_root(res);
	struct strand_rnode *tr = strand_r_object(r, "trace");
	strand_r_string(tr, "file", HOSTILE ".strand");
	strand_r_string(r, "verdict", "failure");
	strand_r_string(r, "summary", "summary " HOSTILE);
	struct strand_rnode *sy = strand_r_object(r, "symptom");
	strand_r_string(sy, "kind", "error_log");
	strand_r_position(sy, "position", 90);
	strand_r_uint(sy, "tid", 7);
	strand_r_string(sy, "description", "line " HOSTILE);
	strand_r_hex(sy, "value", 0x42);
	struct strand_rnode *rc = strand_r_object(r, "root_cause");
	strand_r_string(rc, "syscall", "open" HOSTILE);
	strand_r_string(rc, "object", "/tmp/" HOSTILE);
	strand_r_hex(rc, "status", 0xfffffffffffffffeull);
	strand_r_string(rc, "status_name", "ENOENT");
	strand_r_position(rc, "position", 10);
	strand_r_uint(rc, "tid", 7);
	strand_r_string(rc, "found_by", "data flow");
	struct strand_frame fr = { .pc = 0x401000 };
	snprintf(fr.symbol, sizeof fr.symbol, "app!%s", HOSTILE);
	struct strand_stack stack = { .tid = 7, .position = 10, .nframes = 1, .frames = &fr,
				      .fp_disagree_at = -1 };
	strand_r_stack(rc, "stack", &stack);
	struct strand_rnode *prop = strand_r_list(r, "propagation");
	struct strand_rnode *p = strand_r_object(prop, NULL);
	strand_r_string(p, "to_symptom", "error_log");
	strand_r_hex(p, "symptom_value", 0x42);
	strand_r_uint(p, "steps_followed", 9);
	struct strand_rnode *steps = strand_r_list(p, "steps");
	static const struct { const char *where, *insn; uint64_t v; } s[] = {
		{ "kernel: open", NULL, 0xfffffffffffffffeull },
		{ "app!f+0x1", "mov eax, ebx", 0xfffffffffffffffeull }, /* carries */
		{ "app!g" HOSTILE "+0x4", "neg eax " HOSTILE, 2 },     /* translates */
		{ "app!h+0x2", "mov ecx, eax", 2 },                     /* carries */
		{ "app!k+0x9", "movzx eax, byte [rcx+rax]", 0x42 },     /* translates */
	};
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
		struct strand_rnode *o = strand_r_object(steps, NULL);
		strand_r_position(o, "position", 10 + i * 10);
		strand_r_uint(o, "tid", 7);
		strand_r_string(o, "where", s[i].where);
		if (s[i].insn)
			strand_r_string(o, "instruction", s[i].insn);
		strand_r_hex(o, "value", s[i].v);
	}
	struct strand_rnode *of = strand_r_list(r, "other_failures");
	of->flags |= STRAND_RF_TABLE;
	struct strand_rnode *o = strand_r_object(of, NULL);
	strand_r_position(o, "position", 5);
	strand_r_uint(o, "tid", 7);
	strand_r_string(o, "syscall", "stat");
	strand_r_string(o, "object", HOSTILE);
	strand_r_hex(o, "status", 0xfffffffffffffffeull);
	strand_r_string(o, "status_name", "ENOENT");
	strand_r_string(o, "reason", "handled");
	strand_r_string(o, "why", "because " HOSTILE);
	strand_r_list(r, "hints");
	struct strand_rnode *tl = strand_r_object(r, "timeline");
	tl->flags |= STRAND_RF_TIMELINE | STRAND_RF_NOTEXT;
	strand_r_position(tl, "start", 0);
	strand_r_position(tl, "end", 100);
	strand_r_uint(tl, "max_depth", 3);
	struct strand_rnode *th = strand_r_object(strand_r_list(tl, "threads"), NULL);
	strand_r_uint(th, "tid", 7);
	struct strand_rnode *smp = strand_r_object(strand_r_list(th, "samples"), NULL);
	strand_r_position(smp, "position", 3);
	strand_r_uint(smp, "depth", 2);
	struct strand_rnode *m = strand_r_object(strand_r_list(tl, "marks"), NULL);
	strand_r_position(m, "position", 10);
	strand_r_uint(m, "tid", 7);
	strand_r_string(m, "label", "mark " HOSTILE);
	strand_r_object(r, "plugins");
	cr_assert_eq(strand_result_status(res), STRAND_OK);
	return res;
}

static void assert_no_controls(const char *out)
{
	for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
		cr_assert(*p >= 0x20 || *p == '\n' || *p == '\t', "raw control byte 0x%02x", *p);
		cr_assert(!(p[0] == 0xc2 && p[1] == 0x9b), "raw C1 control U+009B");
		cr_assert(*p != 0xff, "invalid UTF-8 byte passed through");
	}
}

Test(render, html_escapes_every_trace_string)
{
	struct strand_result *res = hostile_report();
	char *out = render(strand_result_root(res), STRAND_RENDER_HTML, 0);
	cr_assert_null(strstr(out, "<script"), "unescaped markup");
	cr_assert_null(strstr(out, "onload"), "");
	cr_assert(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	cr_assert(strstr(out, "\\x1b[31m"), "ESC not shown as \\x1b");
	assert_no_controls(out);
	cr_assert_null(strstr(out, "\"'"), "quote inside an attribute not escaped");
	free(out);
	strand_result_free(res);
}

Test(render, text_and_markdown_escape_for_their_sinks)
{
	struct strand_result *res = hostile_report();
	char *txt = render(strand_result_root(res), STRAND_RENDER_TEXT, STRAND_VIEW_DETAILS);
	assert_no_controls(txt);
	cr_assert(strstr(txt, "\\x1b[31m"), "%s", txt);
	char *md = render(strand_result_root(res), STRAND_RENDER_MARKDOWN, STRAND_VIEW_DETAILS);
	assert_no_controls(md);
	cr_assert_null(strstr(md, "<script"), "%s", md);
	cr_assert(strstr(md, "&lt;script&gt;"), "%s", md);
	cr_assert(strstr(md, "\\[x\\]"), "link syntax not escaped: %s", md);
	free(txt);
	free(md);
	strand_result_free(res);
}

Test(render, text_answers_first_with_the_folded_chain)
{
	struct strand_result *res = hostile_report();
	char *txt = render(strand_result_root(res), STRAND_RENDER_TEXT, 0);
	/* order: verdict, summary, chain, root cause, its stack, then the rest */
	const char *v = strstr(txt, "verdict: failure"), *c = strstr(txt, "causal chain:"),
		   *rc = strstr(txt, "root cause: "), *stk = strstr(txt, "stack:"),
		   *sy = strstr(txt, "symptom:\n");
	cr_assert(v && c && rc && stk && sy, "%s", txt);
	cr_assert(v < c && c < rc && rc < stk && stk < sy, "%s", txt);
	/* origin, two translations (the carries folded), symptom */
	cr_assert(strstr(txt, "  1. open"), "%s", txt);
	cr_assert(strstr(txt, "  2. app!g"), "%s", txt);
	cr_assert(strstr(txt, "0xfffffffffffffffe -> 0x2"), "%s", txt);
	cr_assert(strstr(txt, "  3. app!k: 0x2 -> 0x42"), "%s", txt);
	cr_assert(strstr(txt, "  4. symptom: error_log 0x42"), "%s", txt);
	cr_assert_null(strstr(txt, "  5. "), "%s", txt);
	cr_assert_null(strstr(txt, "\npropagation:\n"), "step list without --details: %s", txt);
	free(txt);
	txt = render(strand_result_root(res), STRAND_RENDER_TEXT, STRAND_VIEW_DETAILS);
	cr_assert(strstr(txt, "\npropagation:\n"), "%s", txt);
	cr_assert(strstr(txt, "app!h+0x2"), "%s", txt);
	free(txt);
	strand_result_free(res);
}

Test(render, page_links_chain_boxes_to_their_details)
{
	struct strand_result *res = hostile_report();
	char *out = render(strand_result_root(res), STRAND_RENDER_HTML, 0);
	cr_assert(strstr(out, "<svg class=\"chain\""));
	cr_assert(strstr(out, "href=\"#root-cause\""));
	cr_assert(strstr(out, "href=\"#step-2\""));
	cr_assert(strstr(out, "<tr id=\"step-2\">"), "the box's target is missing");
	cr_assert(strstr(out, "href=\"#symptom\""));
	cr_assert(strstr(out, "<section id=\"symptom\">"));
	cr_assert(strstr(out, "<svg class=\"timeline\""));
	cr_assert(strstr(out, "<nav class=\"toc\""));
	cr_assert(strstr(out, "<details"));
	cr_assert(strstr(out, "@media print"));
	static const char *const outside[] = { "src=", "href=\"http", "url(http", "@import", "<link" };
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
		cr_assert_null(strstr(out, outside[i]), "a resource from outside: %s", outside[i]);
	free(out);
	strand_result_free(res);
}

/* ---------------------------------------------------------- the browser */

static int sh(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(render, page_in_chromium_fits_1280_px_with_chain_and_timeline, .timeout = 900)
{
	if (access("/usr/bin/chromium", X_OK) != 0 || sh("node --version >/dev/null 2>&1") != 0)
		cr_skip_test("no chromium or node (scripts/setup.d/browser.sh installs them)");
	char *dir = NULL, *cmd = NULL, *pages = NULL;
	cr_assert(asprintf(&dir, "%s/browser", STRAND_BINARY_DIR) > 0);
	mkdir(dir, 0755);
	size_t plen = 0;
	FILE *pl = open_memstream(&pages, &plen);
	/* the synthetic Linux trace and every bundled fixture */
	char *app = NULL;
	cr_assert(asprintf(&app, "%s/app-enoent.strand", dir) > 0);
	write_app_trace(app, false);
	glob_t g = { 0 };
	char *pat = NULL;
	cr_assert(asprintf(&pat, "%s/tests/traces/*.strand", STRAND_SOURCE_DIR) > 0);
	glob(pat, 0, NULL, &g);
	uint32_t n = 0;
	for (size_t i = 0; i <= g.gl_pathc; i++) {
		const char *t = i < g.gl_pathc ? g.gl_pathv[i] : app;
		const char *base = strrchr(t, '/') + 1;
		char *html = NULL;
		cr_assert(asprintf(&html, "%s/%.*s.html", dir, (int)(strlen(base) - 7), base) > 0);
		cr_assert(asprintf(&cmd, "%s report -q --format html -o '%s' '%s' 2>/dev/null", STRAND_CLI,
				   html, t) > 0);
		if (sh(cmd) == 0) { /* a fixture this build cannot replay is another test's failure */
			fprintf(pl, " '%s'", html);
			n++;
		}
		free(cmd);
		free(html);
	}
	fclose(pl);
	cr_assert_geq(n, 1, "no page rendered");
	cr_assert(asprintf(&cmd, "node %s/tests/browser/page_check.mjs --shots '%s'%s", STRAND_SOURCE_DIR,
			   dir, pages) > 0);
	int st = sh(cmd);
	if (st == 77)
		cr_skip_test("chromium could not be started here");
	cr_assert_eq(st, 0, "page check failed (see the lines above; screenshots in %s)", dir);
	globfree(&g);
	unlink(app);
	free(app);
	free(pat);
	free(cmd);
	free(pages);
	free(dir);
}
