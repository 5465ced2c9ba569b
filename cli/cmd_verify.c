/*
 * strand verify [--json] TRACE: full structural check of a trace (header,
 * every chunk and checksum, every record, order and positions, snapshot
 * regions, index agreement).  Exit 0 and "ok", or exit 1 with the first
 * problem, located ("chunk 3 at offset=4096: ...").
 */
#include <inttypes.h>
#include <string.h>

#include "cli/cli.h"
#include "strand/json.h"
#include "strand/trace.h"

/* cli_tree_fn: the structural check of a child process's trace. */
static strand_status verify_kid(const char *kid, const struct strand_process *p, int depth,
				void *ud, strand_error *err)
{
	(void)depth;
	struct strand_reader *r = NULL;
	strand_status st = strand_reader_open(kid, &r, err);
	if (st == STRAND_OK)
		st = strand_reader_verify(r, err);
	strand_reader_close(r);
	if (st != STRAND_OK)
		return strand_error_wrap(err, st, "child process pid=%u", p->pid);
	(*(uint64_t *)ud)++;
	return STRAND_OK;
}

int cmd_verify(int argc, char **argv)
{
	bool json;
	const char *path;
	int urc = cli_args_json_trace("verify", argc, argv, &json, &path);
	if (urc)
		return urc;

	strand_error err;
	struct strand_reader *r = NULL;
	strand_status st = strand_reader_open(path, &r, &err);
	if (st == STRAND_OK)
		st = strand_reader_verify(r, &err);
	if (st != STRAND_OK) {
		strand_error_wrap(&err, st, "%s", path);
		strand_reader_close(r);
		return cli_fail("verify", json, &err);
	}
	uint64_t kids = 0;
	if ((st = strand_trace_walk(path, verify_kid, &kids, &err)) != STRAND_OK) {
		strand_error_wrap(&err, st, "%s", path);
		strand_reader_close(r);
		return cli_fail("verify", json, &err);
	}
	const struct strand_trace_summary *s = strand_reader_summary(r);
	if (json) {
		struct strand_json *j = strand_json_new(stdout, false);
		if (j) {
			strand_json_start_object(j);
			strand_json_bool_field(j, "ok", true);
			strand_json_string_field(j, "trace", path);
			strand_json_uint_field(j, "records", s->nrecords);
			strand_json_uint_field(j, "chunks", s->nchunks);
			strand_json_uint_field(j, "instructions", s->last_position);
			strand_json_bool_field(j, "complete", s->complete);
			if (kids)
				strand_json_uint_field(j, "child_processes", kids);
			strand_json_end_object(j);
			strand_json_free(j);
		}
	} else {
		printf("ok: %s: %" PRIu64 " records in %" PRIu32 " chunks, %" PRIu64
		       " instructions%s\n", path, s->nrecords, s->nchunks, s->last_position,
		       s->complete ? "" : " (no process exit)");
		if (kids)
			printf("ok: %" PRIu64 " child process trace%s embedded, each verified\n", kids,
			       kids == 1 ? "" : "s");
	}
	strand_reader_close(r);
	return 0;
}
