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
			strand_json_end_object(j);
			strand_json_free(j);
		}
	} else {
		printf("ok: %s: %" PRIu64 " records in %" PRIu32 " chunks, %" PRIu64
		       " instructions%s\n", path, s->nrecords, s->nchunks, s->last_position,
		       s->complete ? "" : " (no process exit)");
	}
	strand_reader_close(r);
	return 0;
}
