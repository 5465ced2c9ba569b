#define _GNU_SOURCE /* asprintf */
/*
 * Finalizing a process tree: the root trace and every embedded child
 * trace (docs/trace-format.md, section 15) get exact positions.  Each
 * child is extracted to a temporary file and finalized (with its own
 * children, recursively); then the root's finalizing pass writes them
 * in place of the raw ones (rp_finalize_embedding).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/replay_int.h"
#include "strand/replay.h"
#include "strand/trace.h"

#define MAX_DEPTH 64 /* nesting of embedded traces */

/* A new temporary file name (owned) in $TMPDIR. */
static strand_status temp_path(const char *tag, char **out, strand_error *err)
{
	const char *dir = getenv("TMPDIR");
	if (asprintf(out, "%s/strand-%s-XXXXXX", dir && *dir ? dir : "/tmp", tag) < 0) {
		*out = NULL;
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	}
	int fd = mkstemp(*out);
	if (fd < 0) {
		free(*out);
		*out = NULL;
		return strand_error_set(err, STRAND_ERR_IO, "cannot create a temporary file");
	}
	close(fd);
	return STRAND_OK;
}

static strand_status finalize_tree(const char *in, const char *out, int depth,
				   void (*progress)(void *, uint64_t, uint64_t), void *ud,
				   strand_error *err)
{
	struct strand_reader *r = NULL;
	struct strand_process *kids = NULL;
	uint32_t n = 0;
	char **paths = NULL;
	strand_status st = strand_reader_open(in, &r, err);
	if (st != STRAND_OK)
		return st;
	if ((st = strand_trace_children(r, &kids, &n, err)) != STRAND_OK)
		goto out;
	if (n == 0) {
		strand_reader_close(r);
		r = NULL;
		st = strand_finalize_positions_progress(in, out, progress, ud, err);
		goto out;
	}
	if (depth >= MAX_DEPTH) {
		st = strand_error_set(err, STRAND_ERR_CORRUPT,
				      "process traces nested more than %d deep", MAX_DEPTH);
		goto out;
	}
	if (!(paths = calloc(n, sizeof *paths))) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* the children first, so that the root's finalizing pass embeds
	 * them as it writes (each byte of the root is written once) */
	for (uint32_t i = 0; i < n; i++) {
		char *raw = NULL;
		if ((st = strand_trace_child_temp(r, kids[i].pid, &raw, err)) != STRAND_OK)
			goto out;
		if ((st = temp_path("child", &paths[i], err)) == STRAND_OK)
			st = finalize_tree(raw, paths[i], depth + 1, NULL, NULL, err);
		unlink(raw);
		free(raw);
		if (st != STRAND_OK) {
			strand_error_wrap(err, st, "child process pid=%u", kids[i].pid);
			goto out;
		}
	}
	strand_reader_close(r);
	r = NULL;
	st = rp_finalize_embedding(in, out, progress, ud, kids, paths, n, err);
out:
	for (uint32_t i = 0; paths && i < n; i++) {
		if (paths[i])
			unlink(paths[i]);
		free(paths[i]);
	}
	free(paths);
	free(kids);
	strand_reader_close(r);
	return st;
}

strand_status strand_finalize_tree_progress(const char *in, const char *out,
					    void (*progress)(void *ud, uint64_t done,
							     uint64_t total),
					    void *ud, strand_error *err)
{
	if (!in || !out)
		return strand_error_set(err, STRAND_ERR_INVALID, "finalize: NULL path");
	return finalize_tree(in, out, 0, progress, ud, err);
}
