/* strand export: a trace in another tool's format (report/export.c):
 * perfetto (Chrome Trace Event JSON), tenet (Tenet's text trace), jsonl
 * (events, one JSON object per line). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "report/views.h"

static void usage_hint(void)
{
	fprintf(stderr, "usage: strand export --format perfetto|tenet|jsonl [-o FILE] [--from POS] "
		"[--to POS]\n                     [--max-events N] [--tid TID] [--no-chain] [-q] TRACE\n");
}

/* A decimal or 0x number option; false (after a message) if bad. */
static bool parse_u64(const char *opt, const char *s, uint64_t *out)
{
	char *end = NULL;
	if (!s || !*s || *s == '-')
		return false;
	unsigned long long v = strtoull(s, &end, 0);
	if (*end) {
		cli_failf("export", false, true, "%s: not a number: '%s'", opt, s);
		return false;
	}
	*out = v;
	return true;
}

struct export_progress {
	bool on;
};

static void export_progress(void *ud, const char *label, uint64_t pos, uint64_t end)
{
	struct export_progress *p = ud;
	if (p->on)
		cli_progress((void *)label, pos, end);
}

int cmd_export(int argc, char **argv)
{
	const char *trace = NULL, *outpath = NULL;
	bool have_fmt = false, quiet = false;
	strand_export_format fmt = STRAND_EXPORT_PERFETTO;
	struct strand_export_options opt = { .to = UINT64_MAX };
	FILE *out = stdout;
	int rc = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		uint64_t v;
		if ((!strcmp(a, "--format") || !strcmp(a, "-f")) && i + 1 < argc) {
			if (!strand_export_format_parse(argv[++i], &fmt)) {
				usage_hint();
				return cli_failf("export", false, true, "unknown format '%s' (perfetto, "
						 "tenet, jsonl)", argv[i]);
			}
			have_fmt = true;
		} else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
			outpath = argv[++i];
		} else if (!strcmp(a, "--from") && i + 1 < argc) {
			if (!parse_u64(a, argv[++i], &opt.from))
				return 2;
		} else if (!strcmp(a, "--to") && i + 1 < argc) {
			if (!parse_u64(a, argv[++i], &opt.to))
				return 2;
		} else if (!strcmp(a, "--max-events") && i + 1 < argc) {
			if (!parse_u64(a, argv[++i], &opt.max_events))
				return 2;
		} else if (!strcmp(a, "--tid") && i + 1 < argc) {
			if (!parse_u64(a, argv[++i], &v) || v > UINT32_MAX)
				return cli_failf("export", false, true, "--tid: bad thread id '%s'", argv[i]);
			opt.tid = (uint32_t)v;
		} else if (!strcmp(a, "--no-chain")) {
			opt.no_chain = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = true;
		} else if (a[0] == '-' && a[1]) {
			usage_hint();
			return cli_failf("export", false, true, "unknown option '%s'", a);
		} else if (!trace) {
			trace = a;
		} else {
			return cli_failf("export", false, true, "more than one trace given");
		}
	}
	if (!trace || !have_fmt) {
		usage_hint();
		return cli_failf("export", false, true, trace ? "no --format given" : "no trace given");
	}
	if (opt.to <= opt.from)
		return cli_failf("export", false, true, "--to %" PRIu64 " is not after --from %" PRIu64,
				 opt.to, opt.from);
	struct export_progress prog = { cli_progress_enabled(quiet) };
	opt.progress = export_progress;
	opt.progress_ud = &prog;
	strand_error err;
	strand_error_clear(&err);
	/* never through a symlink, never replacing a device; no partial file
	 * on failure (cli.h) */
	struct cli_out outf = { .fd = -1 };
	strand_status st = STRAND_OK;
	if (outpath) {
		if ((st = cli_out_begin(&outf, outpath, "export", &err)) < 0)
			goto out;
		if (!(out = cli_out_file(&outf))) {
			st = strand_error_set(&err, STRAND_ERR_IO, "cannot write %s", outpath);
			goto out;
		}
	}
	st = strand_export(trace, fmt, &opt, out, &err);
	if (prog.on)
		cli_progress_done();
	if (st >= 0 && outpath)
		st = cli_out_commit(&outf, &err);
out:
	cli_out_abort(&outf);
	if (st < 0)
		return cli_fail("export", false, &err);
	rc = 0;
	return rc;
}
