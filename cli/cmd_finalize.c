/*
 * strand finalize [-o FILE] [--json] RAW: give the events of an ordinal
 * trace (what `strand record` writes first, FILE.raw) their exact
 * instruction positions (strand_finalize_positions), so it can be
 * replayed.  A recording that stopped early (the recorder killed, a full
 * disk) leaves RAW readable up to its last complete chunk; the finalized
 * trace then holds what was recorded and says it is incomplete (no
 * process exit).  The output is written through cli_out_* (cli.h): never
 * through a symlink, never replacing a device.  Exit status: 0 written, 1
 * error, 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "strand/json.h"
#include "strand/replay.h"
#include "strand/trace.h"

/* FILE for RAW: RAW without ".raw", else RAW + ".strand".  Owned. */
static char *default_out(const char *raw)
{
	size_t n = strlen(raw);
	char *s = malloc(n + 8);
	if (!s)
		return NULL;
	if (n > 4 && !strcmp(raw + n - 4, ".raw"))
		snprintf(s, n + 8, "%.*s", (int)(n - 4), raw);
	else
		snprintf(s, n + 8, "%s.strand", raw);
	return s;
}

int cmd_finalize(int argc, char **argv)
{
	const char *raw = NULL, *out = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(a, "--json"))
			json = true;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cli_usage(cli_find("finalize"), stdout);
			return 0;
		} else if (a[0] == '-' && a[1])
			return cli_failf("finalize", json, true, "unknown option '%s'", a);
		else if (raw)
			return cli_failf("finalize", json, true, "more than one trace given");
		else
			raw = a;
	}
	if (!raw)
		return cli_failf("finalize", json, true, "no trace given");
	char *def = NULL;
	if (!out && !(out = def = default_out(raw)))
		return cli_failf("finalize", json, false, "out of memory");
	int rc = 1;
	strand_error err;
	strand_error_clear(&err);
	struct strand_reader *rd = NULL;
	struct cli_out o = { .fd = -1 };
	strand_status st = strand_reader_open(raw, &rd, &err);
	if (st != STRAND_OK) {
		strand_error_wrap(&err, st, "cannot open %s", raw);
		cli_fail("finalize", json, &err);
		goto out;
	}
	const struct strand_trace_summary sum = *strand_reader_summary(rd);
	bool ordinal = strand_reader_info(rd)->flags & STRAND_TRACE_F_ORDINAL_POSITIONS;
	strand_reader_close(rd);
	if (!ordinal) {
		cli_failf("finalize", json, false,
			  "%s already has exact positions (nothing to finalize)", raw);
		goto out;
	}
	if ((st = cli_out_begin(&o, out, "finalize", &err)) != STRAND_OK) {
		cli_fail("finalize", json, &err);
		goto out;
	}
	st = strand_finalize_tree_progress(raw, cli_out_path(&o), NULL, NULL, &err);
	if (st != STRAND_OK) {
		strand_error_wrap(&err, st, "cannot finalize %s", raw);
		cli_fail("finalize", json, &err);
		goto out;
	}
	if ((st = cli_out_commit(&o, &err)) != STRAND_OK) {
		cli_fail("finalize", json, &err);
		goto out;
	}
	bool complete = sum.complete && !sum.truncated;
	if (json) {
		struct strand_json *j = strand_json_new(stdout, false);
		if (j) {
			strand_json_start_object(j);
			strand_json_string_field(j, "trace", out);
			strand_json_string_field(j, "raw", raw);
			strand_json_uint_field(j, "records", sum.nrecords);
			strand_json_bool_field(j, "truncated", sum.truncated);
			strand_json_bool_field(j, "complete", complete);
			strand_json_end_object(j);
			strand_json_free(j);
			fputc('\n', stdout);
		}
	} else {
		fprintf(stderr, "strand finalize: %s: %llu records%s\n", out,
			(unsigned long long)sum.nrecords,
			complete ? "" : sum.truncated ? " (the raw trace was truncated: incomplete trace)"
						      : " (no process exit: incomplete trace)");
	}
	rc = 0;
out:
	cli_out_abort(&o);
	free(def);
	return rc;
}
