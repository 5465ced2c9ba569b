/* strand report: the root-cause report of a trace (report/report.c),
 * rendered answer first as text or Markdown (the step-by-step propagation
 * with --details), as JSON, or as a self-contained HTML page
 * (report/render_html.c) whose timeline also shows the threads' runs and
 * waits (report/activity.c). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "report/views.h"
#include "strand/analysis.h"

#define MAX_PLUGINS 16

struct report_progress {
	bool on;
};

static void report_progress(void *ud, const char *label, uint64_t pos, uint64_t end)
{
	struct report_progress *p = ud;
	if (p->on)
		cli_progress((void *)label, pos, end);
}

/* --analysis: run the named analyses (and plugins) only and show their
 * results as they are, instead of the report. */
static strand_status run_analyses(const char *trace, const char *const *specs, int nspecs,
				  const char *const *plugins, const char *const *plugin_opts,
				  const struct strand_report_options *ro,
				  struct strand_result *res, strand_error *err)
{
	struct strand_analysis *a = NULL;
	struct strand_analysis_options ao = { .progress = ro->progress,
					      .progress_ud = ro->progress_ud,
					      .max_instructions = ro->max_instructions,
					      .max_memory = ro->max_memory };
	strand_status st = strand_analysis_new(trace, &ao, &a, err);
	for (int i = 0; st >= 0 && i < nspecs; i++)
		st = strand_analysis_add_spec(a, specs[i], err);
	for (int i = 0; st >= 0 && plugins[i]; i++)
		st = strand_analysis_load(a, plugins[i], plugin_opts[i], err);
	if (st >= 0)
		st = strand_analysis_run(a, res, err);
	strand_analysis_free(a);
	return st;
}

static void usage_hint(void)
{
	fprintf(stderr,
		"usage: strand report [--format text|markdown|json|html] [-o FILE] [--details]\n"
		"                     [--kb FILE]... [--plugin SO[:k=v,...]]... [--analysis NAME[:k=v,...]]...\n"
		"                     [--list] [-q] TRACE\n");
}

int cmd_report(int argc, char **argv)
{
	const char *trace = NULL, *outpath = NULL;
	strand_render_format fmt = STRAND_RENDER_TEXT;
	bool quiet = false, json_errors = false, details = false;
	char *plugin_buf[MAX_PLUGINS] = { 0 };
	const char *plugins[MAX_PLUGINS + 1] = { 0 }, *plugin_opts[MAX_PLUGINS + 1] = { 0 };
	const char *specs[MAX_PLUGINS];
	const char *kb_files[MAX_PLUGINS + 1] = { 0 };
	int nkb = 0;
	int np = 0, nspecs = 0, rc = 1, brc;
	uint64_t max_insns = 0, max_mem = 0;
	struct strand_result *res = NULL, *act = NULL;
	FILE *out = stdout;
	struct cli_out outf = { .fd = -1 };

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((!strcmp(a, "--format") || !strcmp(a, "-f")) && i + 1 < argc) {
			if (!strand_render_format_parse(argv[++i], &fmt)) {
				rc = cli_failf("report", false, true, "unknown format '%s' "
					       "(text, markdown, json, html)", argv[i]);
				goto out;
			}
			json_errors = fmt == STRAND_RENDER_JSON;
		} else if (!strcmp(a, "--json")) {
			fmt = STRAND_RENDER_JSON;
			json_errors = true;
		} else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
			outpath = argv[++i];
		} else if (!strcmp(a, "--kb") && i + 1 < argc) {
			if (nkb == MAX_PLUGINS) {
				rc = cli_failf("report", false, true, "too many --kb files (max %d)",
					       MAX_PLUGINS);
				goto out;
			}
			kb_files[nkb++] = argv[++i];
		} else if (!strcmp(a, "--plugin") && i + 1 < argc) {
			if (np == MAX_PLUGINS) {
				rc = cli_failf("report", false, true, "too many plugins (max %d)",
					       MAX_PLUGINS);
				goto out;
			}
			/* "path.so" or "path.so:k=v,k=v" */
			plugin_buf[np] = strdup(argv[++i]);
			if (!plugin_buf[np]) {
				rc = cli_failf("report", json_errors, false, "out of memory");
				goto out;
			}
			char *colon = strrchr(plugin_buf[np], ':');
			if (colon && strchr(colon, '=')) {
				*colon = 0;
				plugin_opts[np] = colon + 1;
			}
			plugins[np] = plugin_buf[np];
			np++;
		} else if ((!strcmp(a, "--analysis") || !strcmp(a, "-a")) && i + 1 < argc) {
			if (nspecs == MAX_PLUGINS) {
				rc = cli_failf("report", false, true, "too many analyses (max %d)",
					       MAX_PLUGINS);
				goto out;
			}
			specs[nspecs++] = argv[++i];
		} else if (!strcmp(a, "--list")) {
			for (size_t k = 0; strand_analysis_builtins[k]; k++) {
				const struct strand_plugin *p = strand_analysis_builtins[k];
				printf("%-10s %s\n", p->name, p->description);
				for (const struct strand_plugin_option *o = p->options; o && o->name; o++)
					printf("  %s=%-8s %s%s%s\n", o->name, "", o->help,
					       o->defval ? " (default " : "", o->defval ? o->defval : "");
			}
			rc = 0;
			goto out;
		} else if ((brc = cli_budget_option("report", json_errors, argc, argv, &i,
						     &max_insns, &max_mem)) != 0) {
			if (brc < 0) {
				rc = -brc;
				goto out;
			}
		} else if (!strcmp(a, "--details")) {
			details = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = true;
		} else if (a[0] == '-' && a[1]) {
			usage_hint();
			rc = cli_failf("report", false, true, "unknown option '%s'", a);
			goto out;
		} else if (!trace) {
			trace = a;
		} else {
			rc = cli_failf("report", false, true, "more than one trace given");
			goto out;
		}
	}
	if (!trace) {
		usage_hint();
		rc = cli_failf("report", false, true, "no trace given");
		goto out;
	}
	struct report_progress prog = { cli_progress_enabled(quiet) };
	struct strand_report_options opt = {
		.plugins = plugins, .plugin_opts = plugin_opts,
		.progress = report_progress, .progress_ud = &prog,
		.max_instructions = max_insns, .max_memory = max_mem,
		.kb_files = kb_files,
	};
	strand_error err;
	strand_error_clear(&err);
	res = strand_result_new();
	if (!res) {
		rc = cli_failf("report", json_errors, false, "out of memory");
		goto out;
	}
	strand_status st = nspecs ? run_analyses(trace, specs, nspecs, plugins, plugin_opts, &opt,
						   res, &err)
				  : strand_report_build(trace, &opt, res, &err);
	if (prog.on)
		cli_progress_done();
	if (st < 0) {
		rc = cli_fail("report", json_errors, &err);
		goto out;
	}
	if (outpath) {
		/* never through a symlink, never replacing a device (cli.h) */
		if ((st = cli_out_begin(&outf, outpath, "report", &err)) < 0) {
			rc = cli_fail("report", json_errors, &err);
			goto out;
		}
		if (!(out = cli_out_file(&outf))) {
			out = stdout;
			rc = cli_failf("report", json_errors, false, "cannot write %s", outpath);
			goto out;
		}
	}
	char title[512];
	const char *base = strrchr(trace, '/');
	snprintf(title, sizeof title, "strand report: %s", base ? base + 1 : trace);
	if (nspecs) {
		st = strand_render(strand_result_root(res), fmt, title, out, &err);
	} else {
		/* the page's timeline also draws runs and waits; without them
		 * (a trace the reader cannot scan again) it still renders */
		const struct strand_rnode *activity = NULL;
		if (fmt == STRAND_RENDER_HTML && (act = strand_result_new())) {
			strand_error aerr;
			strand_error_clear(&aerr);
			if (strand_activity_scan(trace, strand_result_root(act), &aerr) >= 0)
				activity = strand_result_root(act);
		}
		st = strand_report_render(strand_result_root(res), activity, fmt, title,
					  details ? STRAND_VIEW_DETAILS : 0, out, &err);
	}
	if (st < 0) {
		rc = cli_fail("report", json_errors, &err);
		goto out;
	}
	if (outpath && (st = cli_out_commit(&outf, &err)) < 0) {
		rc = cli_fail("report", json_errors, &err);
		goto out;
	}
	rc = 0;
out:
	cli_out_abort(&outf); /* after commit: nothing left to do */
	strand_result_free(res);
	strand_result_free(act);
	for (int i = 0; i < np; i++)
		free(plugin_buf[i]);
	return rc;
}
