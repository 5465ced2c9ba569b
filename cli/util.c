/* Shared CLI helpers: error reporting and progress display. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "strand/json.h"

static void json_error(const char *cmd, const char *status, const char *msg,
		       const strand_error *err)
{
	struct strand_json *j = strand_json_new(stdout, false);
	if (!j)
		return;
	strand_json_start_object(j);
	strand_json_name(j, "error");
	strand_json_start_object(j);
	strand_json_string_field(j, "command", cmd);
	strand_json_string_field(j, "status", status);
	strand_json_string_field(j, "message", msg);
	if (err && err->ncauses) {
		/* the chain, outermost first: each layer's own words and where */
		strand_json_name(j, "causes");
		strand_json_start_array(j);
		for (uint32_t i = 0; i < err->ncauses && i < STRAND_ERROR_CAUSES; i++) {
			const struct strand_error_cause *c = &err->cause[i];
			char text[STRAND_ERROR_MAX];
			snprintf(text, sizeof text, "%.*s", (int)c->len, err->msg + c->off);
			strand_json_start_object(j);
			strand_json_string_field(j, "message", text);
			if (c->file) {
				strand_json_string_field(j, "file", c->file);
				strand_json_uint_field(j, "line", (uint64_t)c->line);
			}
			strand_json_end_object(j);
		}
		strand_json_end_array(j);
	}
	strand_json_end_object(j);
	strand_json_end_object(j);
	strand_json_free(j);
	fflush(stdout);
}

int cli_fail(const char *cmd, bool json, const strand_error *err)
{
	const char *msg = err && err->msg[0] ? err->msg : "failed";
	const char *st = strand_status_str(err ? err->status : STRAND_ERR_INVALID);
	if (json)
		json_error(cmd, st, msg, err);
	else
		fprintf(stderr, "strand %s: %s\n", cmd, msg);
	return 1;
}

int cli_failf(const char *cmd, bool json, bool usage, const char *fmt, ...)
{
	char msg[STRAND_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (json)
		json_error(cmd, usage ? "usage" : "error", msg, NULL);
	else
		fprintf(stderr, "strand %s: %s%s\n", cmd, msg,
			usage ? " (see 'strand help')" : "");
	return usage ? 2 : 1;
}

int cli_args_json_trace(const char *cmd, int argc, char **argv, bool *json,
			const char **path)
{
	*json = false;
	*path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			*json = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_failf(cmd, *json, true, "unknown option '%s'", argv[i]);
		else if (*path)
			return cli_failf(cmd, *json, true, "more than one trace given");
		else
			*path = argv[i];
	}
	if (!*path)
		return cli_failf(cmd, *json, true, "missing TRACE");
	return 0;
}

bool cli_progress_enabled(bool quiet)
{
	return !quiet && isatty(STDERR_FILENO);
}

void cli_progress(void *ud, uint64_t pos, uint64_t end)
{
	const char *label = ud ? (const char *)ud : "replay";
	double pct = end ? 100.0 * (double)pos / (double)end : 0.0;
	fprintf(stderr, "\r%s: %" PRIu64 " / %" PRIu64 " instructions (%5.1f%%)", label, pos,
		end, pct);
	fflush(stderr);
}

void cli_progress_done(void)
{
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
}
