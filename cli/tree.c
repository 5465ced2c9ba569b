/*
 * The process tree of a trace for the subcommands (info, verify,
 * replay): every child process trace embedded in it (trace.h, "Process
 * trees"), depth first, each extracted to a temporary file for the time
 * of the callback.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "strand/trace.h"

#define MAX_DEPTH 64

static strand_status walk(const char *path, int depth, cli_tree_fn fn, void *ud,
			  strand_error *err)
{
	struct strand_reader *r = NULL;
	struct strand_process *kids = NULL;
	uint32_t n = 0;
	strand_status st = strand_reader_open(path, &r, err);
	if (st != STRAND_OK)
		return st;
	if ((st = strand_trace_children(r, &kids, &n, err)) != STRAND_OK)
		goto out;
	if (n && depth >= MAX_DEPTH) {
		st = strand_error_set(err, STRAND_ERR_CORRUPT,
				      "process traces nested more than %d deep", MAX_DEPTH);
		goto out;
	}
	for (uint32_t i = 0; i < n && st == STRAND_OK; i++) {
		char *kp = NULL;
		if ((st = strand_trace_child_temp(r, kids[i].pid, &kp, err)) != STRAND_OK)
			break;
		st = fn(kp, &kids[i], depth + 1, ud, err);
		if (st == STRAND_OK)
			st = walk(kp, depth + 1, fn, ud, err);
		unlink(kp);
		free(kp);
	}
out:
	free(kids);
	strand_reader_close(r);
	return st;
}

strand_status cli_tree_walk(const char *path, cli_tree_fn fn, void *ud, strand_error *err)
{
	return walk(path, 0, fn, ud, err);
}

/* NUL-separated arguments as one line. */
static void argv_text(const struct strand_note *n, char *out, size_t len)
{
	size_t o = 0;
	for (uint32_t i = 0; i < n->len && o + 1 < len; i++) {
		uint8_t c = n->data[i];
		if (c == 0 && i + 1 == n->len)
			break;
		out[o++] = c == 0 ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[o] = 0;
}

void cli_tree_argv(struct strand_reader *r, char *out, size_t len)
{
	snprintf(out, len, "?");
	const struct strand_record *rec;
	strand_error err;
	while (strand_reader_next(r, &rec, &err) == STRAND_OK &&
	       rec->type != STRAND_REC_SNAPSHOT_END) {
		if (rec->type != STRAND_REC_NOTE || strcmp(rec->u.note.key, "argv"))
			continue;
		argv_text(&rec->u.note, out, len);
		break;
	}
}

strand_status cli_tree_facts(const char *path, struct cli_proc_facts *f, strand_error *err)
{
	memset(f, 0, sizeof *f);
	f->exit_code = -1;
	struct strand_reader *r = NULL;
	strand_status st = strand_reader_open(path, &r, err);
	if (st != STRAND_OK)
		return st;
	const struct strand_trace_summary *s = strand_reader_summary(r);
	f->last_position = s->last_position;
	f->ordinal = strand_reader_info(r)->flags & STRAND_TRACE_F_ORDINAL_POSITIONS;
	cli_tree_argv(r, f->argv, sizeof f->argv);
	if (strand_reader_seek_position(r, s->last_position, err) == STRAND_OK) {
		const struct strand_record *rec;
		while (strand_reader_next(r, &rec, err) == STRAND_OK) {
			if (rec->type == STRAND_REC_PROCESS_EXIT)
				f->exit_code = (int64_t)rec->u.exit_code;
			else if (rec->type == STRAND_REC_NOTE && !strcmp(rec->u.note.key, "process-argv"))
				argv_text(&rec->u.note, f->argv, sizeof f->argv);
		}
	}
	strand_reader_close(r);
	return STRAND_OK;
}
