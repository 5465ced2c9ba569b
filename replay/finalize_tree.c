#define _GNU_SOURCE /* asprintf */
/*
 * Finalizing a process tree: the root trace and every embedded child
 * trace (docs/trace-format.md, section 15) get exact positions.  Each
 * child is extracted to a temporary file, finalized (with its own
 * children, recursively) and embedded again in the finalized root.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strand/replay.h"
#include "strand/trace.h"

#define MAX_DEPTH 64 /* nesting of embedded traces */

static bool is_tree_note(const struct strand_record *rec)
{
	return rec->type == STRAND_REC_NOTE && rec->u.note.key &&
	       (!strcmp(rec->u.note.key, "process") || !strcmp(rec->u.note.key, "process-data"));
}

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

/* Copy `from` to `out`, its tree notes replaced by the n traces at paths[]. */
static strand_status rebuild(const char *from, const char *out, const struct strand_process *kids,
			     char *const *paths, uint32_t n, strand_error *err)
{
	struct strand_reader *r = NULL;
	struct strand_writer *w = NULL;
	strand_status st = strand_reader_open(from, &r, err);
	if (st != STRAND_OK)
		return st;
	if ((st = strand_writer_open(out, strand_reader_info(r), NULL, &w, err)) != STRAND_OK)
		goto out;
	bool embedded = false;
	uint64_t last_pos = 0;
	uint32_t last_tid = 0;
	for (;;) {
		const struct strand_record *rec;
		st = strand_reader_next(r, &rec, err);
		if (st == STRAND_END)
			break;
		if (st != STRAND_OK)
			goto out;
		last_pos = rec->position;
		last_tid = rec->tid;
		if (is_tree_note(rec))
			continue;
		if (rec->type == STRAND_REC_PROCESS_EXIT && !embedded) {
			for (uint32_t i = 0; i < n && st == STRAND_OK; i++)
				st = strand_writer_put_process(w, rec->position, rec->tid, &kids[i],
							       paths[i], err);
			embedded = true;
			if (st != STRAND_OK)
				goto out;
		}
		if ((st = strand_writer_put(w, rec, err)) != STRAND_OK)
			goto out;
	}
	st = STRAND_OK;
	for (uint32_t i = 0; i < n && !embedded && st == STRAND_OK; i++)
		st = strand_writer_put_process(w, last_pos, last_tid, &kids[i], paths[i], err);
out:
	if (st == STRAND_OK)
		st = strand_writer_close(w, err);
	else
		strand_writer_abort(w);
	strand_reader_close(r);
	return st;
}

static strand_status finalize_tree(const char *in, const char *out, int depth,
				   void (*progress)(void *, uint64_t, uint64_t), void *ud,
				   strand_error *err)
{
	struct strand_reader *r = NULL;
	struct strand_process *kids = NULL;
	uint32_t n = 0;
	char **paths = NULL, *root = NULL;
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
	if ((st = temp_path("root", &root, err)) != STRAND_OK ||
	    (st = strand_finalize_positions_progress(in, root, progress, ud, err)) != STRAND_OK)
		goto out;
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
	st = rebuild(root, out, kids, paths, n, err);
out:
	for (uint32_t i = 0; paths && i < n; i++) {
		if (paths[i])
			unlink(paths[i]);
		free(paths[i]);
	}
	free(paths);
	if (root)
		unlink(root);
	free(root);
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
