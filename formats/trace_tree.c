#define _GNU_SOURCE /* asprintf */
/*
 * Process trees: the traces of child processes embedded in their parent's
 * trace as NOTE records "process" and "process-data"
 * (docs/trace-format.md, section 15 "Process trees").  Untrusted input:
 * every size and offset of those notes is checked against the others and
 * against what was announced; a malformed tree is one located error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strand/trace.h"

#define SLICE (16u << 20)             /* bytes of trace per process-data note */
#define MAX_CHILDREN (1u << 20)       /* processes listed by one trace */

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool is_note(const struct strand_record *rec, const char *key)
{
	return rec->type == STRAND_REC_NOTE && rec->u.note.key && !strcmp(rec->u.note.key, key);
}

/* Move r to the first record at the trace's last position, where the
 * process notes are. */
static strand_status seek_tail(struct strand_reader *r, strand_error *err)
{
	const struct strand_trace_summary *s = strand_reader_summary(r);
	strand_status st = strand_reader_seek_position(r, s->last_position, err);
	return st == STRAND_END ? STRAND_OK : st;
}

/* Decode a "process" note; false if malformed. */
static bool decode_meta(const struct strand_record *rec, struct strand_process *p)
{
	if (rec->u.note.len != 16)
		return false;
	p->pid = get_u32(rec->u.note.data);
	p->ppid = get_u32(rec->u.note.data + 4);
	p->size = get_u64(rec->u.note.data + 8);
	return p->size >= 64;
}

strand_status strand_trace_children(struct strand_reader *r, struct strand_process **out,
				    uint32_t *n, strand_error *err)
{
	*out = NULL;
	*n = 0;
	struct strand_process *v = NULL;
	uint32_t cnt = 0;
	strand_status st = seek_tail(r, err);
	while (st == STRAND_OK) {
		const struct strand_record *rec;
		st = strand_reader_next(r, &rec, err);
		if (st != STRAND_OK)
			break;
		if (!is_note(rec, "process"))
			continue;
		struct strand_process p;
		if (!decode_meta(rec, &p)) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT,
					      "process note #%u at position %" PRIu64
					      ": malformed (length=%u, expected 16 and a size >= 64)",
					      cnt, rec->position, rec->u.note.len);
			break;
		}
		if (cnt >= MAX_CHILDREN) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT,
					      "more than %u process notes", MAX_CHILDREN);
			break;
		}
		struct strand_process *t = realloc(v, (cnt + 1) * sizeof *t);
		if (!t) {
			st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
			break;
		}
		v = t;
		v[cnt++] = p;
	}
	if (st != STRAND_END) {
		free(v);
		return st;
	}
	*out = v;
	*n = cnt;
	return STRAND_OK;
}

strand_status strand_trace_child_extract(struct strand_reader *r, uint32_t pid, const char *path,
					 strand_error *err)
{
	strand_status st = seek_tail(r, err);
	if (st != STRAND_OK)
		return st;
	int fd = -1;
	struct strand_process p = { 0 };
	bool found = false;
	uint64_t done = 0;
	for (;;) {
		const struct strand_record *rec;
		st = strand_reader_next(r, &rec, err);
		if (st == STRAND_END) {
			st = !found ? strand_error_set(err, STRAND_ERR_INVALID,
						       "no process pid=%u in this trace", pid)
				    : strand_error_set(err, STRAND_ERR_CORRUPT,
						       "process pid=%u: trace ends after %" PRIu64
						       " of its %" PRIu64 " bytes", pid, done, p.size);
			break;
		}
		if (st != STRAND_OK)
			break;
		if (!found) {
			struct strand_process q;
			if (is_note(rec, "process") && decode_meta(rec, &q) && q.pid == pid) {
				p = q;
				found = true;
				fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
				if (fd < 0) {
					st = strand_error_set(err, STRAND_ERR_IO, "cannot create %s: %s",
							      path, strerror(errno));
					break;
				}
			}
			continue;
		}
		if (!is_note(rec, "process-data"))
			continue;
		if (rec->u.note.len < 16 || get_u32(rec->u.note.data) != pid)
			continue;
		uint64_t off = get_u64(rec->u.note.data + 8);
		uint64_t len = rec->u.note.len - 16u;
		if (off != done || len > p.size - done || len == 0) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT,
					      "process pid=%u: data at position %" PRIu64
					      ": offset=%" PRIu64 " length=%" PRIu64
					      " (expected offset=%" PRIu64 ", at most %" PRIu64 " bytes)",
					      pid, rec->position, off, len, done, p.size - done);
			break;
		}
		if (write(fd, rec->u.note.data + 16, (size_t)len) != (ssize_t)len) {
			st = strand_error_set(err, STRAND_ERR_IO, "cannot write %s: %s", path,
					      strerror(errno));
			break;
		}
		done += len;
		if (done == p.size) {
			st = STRAND_OK;
			break;
		}
	}
	if (fd >= 0 && close(fd) < 0 && st == STRAND_OK)
		st = strand_error_set(err, STRAND_ERR_IO, "cannot write %s: %s", path,
				      strerror(errno));
	if (st != STRAND_OK && fd >= 0)
		unlink(path);
	return st;
}

strand_status strand_trace_child_temp(struct strand_reader *r, uint32_t pid, char **path,
				      strand_error *err)
{
	*path = NULL;
	const char *dir = getenv("TMPDIR");
	char *p = NULL;
	if (asprintf(&p, "%s/strand-p%u-XXXXXX", dir && *dir ? dir : "/tmp", pid) < 0)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	int fd = mkstemp(p);
	if (fd < 0) {
		strand_status st = strand_error_set(err, STRAND_ERR_IO, "cannot create %s: %s", p,
						    strerror(errno));
		free(p);
		return st;
	}
	close(fd);
	strand_status st = strand_trace_child_extract(r, pid, p, err);
	if (st != STRAND_OK) {
		unlink(p);
		free(p);
		return strand_error_wrap(err, st, "cannot extract the trace of process pid=%u", pid);
	}
	*path = p;
	return STRAND_OK;
}

strand_status strand_writer_put_process(struct strand_writer *w, uint64_t position, uint32_t tid,
					const struct strand_process *p, const char *path,
					strand_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strand_error_set(err, STRAND_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	off_t size = lseek(fd, 0, SEEK_END);
	strand_status st = STRAND_OK;
	uint8_t *buf = NULL;
	if (size < 64) {
		st = strand_error_set(err, STRAND_ERR_CORRUPT, "%s: not a trace (size=%lld)", path,
				      (long long)size);
		goto out;
	}
	uint8_t meta[16];
	put_u32(meta, p->pid);
	put_u32(meta + 4, p->ppid);
	put_u64(meta + 8, (uint64_t)size);
	struct strand_record rec = { .type = STRAND_REC_NOTE, .tid = tid, .position = position };
	rec.u.note.key = "process";
	rec.u.note.len = sizeof meta;
	rec.u.note.data = meta;
	if ((st = strand_writer_put(w, &rec, err)) != STRAND_OK)
		goto out;
	if (!(buf = malloc(16 + SLICE))) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (uint64_t off = 0; off < (uint64_t)size && st == STRAND_OK; off += SLICE) {
		size_t len = (uint64_t)size - off < SLICE ? (size_t)((uint64_t)size - off) : SLICE;
		put_u32(buf, p->pid);
		put_u32(buf + 4, 0);
		put_u64(buf + 8, off);
		if (pread(fd, buf + 16, len, (off_t)off) != (ssize_t)len) {
			st = strand_error_set(err, STRAND_ERR_IO, "cannot read %s: %s", path,
					      strerror(errno));
			break;
		}
		rec.u.note.key = "process-data";
		rec.u.note.len = (uint32_t)(16 + len);
		rec.u.note.data = buf;
		st = strand_writer_put(w, &rec, err);
	}
out:
	free(buf);
	close(fd);
	return st;
}

/* ---- walking a tree ---- */

#define MAX_DEPTH 64 /* nesting of embedded traces */

static strand_status walk(const char *path, int depth, strand_trace_walk_fn fn, void *ud,
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

strand_status strand_trace_walk(const char *path, strand_trace_walk_fn fn, void *ud, strand_error *err)
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

void strand_trace_argv(struct strand_reader *r, char *out, size_t len, uint32_t *pid,
		       uint32_t *ppid)
{
	bool have_argv = false;
	snprintf(out, len, "?");
	const struct strand_record *rec;
	strand_error err;
	while (strand_reader_next(r, &rec, &err) == STRAND_OK &&
	       rec->type != STRAND_REC_SNAPSHOT_END) {
		if (rec->type != STRAND_REC_NOTE)
			continue;
		if (!strcmp(rec->u.note.key, "argv") && !have_argv) {
			argv_text(&rec->u.note, out, len);
			have_argv = true;
		} else if (!strcmp(rec->u.note.key, "process-id") && pid && ppid) {
			char ids[64];
			unsigned a = 0, b = 0;
			snprintf(ids, sizeof ids, "%.*s", (int)(rec->u.note.len < 63 ? rec->u.note.len : 63),
				 (const char *)rec->u.note.data);
			if (sscanf(ids, "pid=%u ppid=%u", &a, &b) == 2) {
				*pid = a;
				*ppid = b;
			}
		}
	}
}

strand_status strand_trace_process_facts(const char *path, struct strand_process_facts *f, strand_error *err)
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
	strand_trace_argv(r, f->argv, sizeof f->argv, &f->pid, &f->ppid);
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
