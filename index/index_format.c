/*
 * The index sidecar file: writing its sections and reading them back,
 * checked.  The format is specified in docs/trace-format.md, "The index
 * sidecar"; the tables there are the reference for the offsets below.
 *
 * Header (96 bytes):
 *   OFFSET SIZE DESCRIPTION
 *   0      8    magic 89 53 54 52 49 44 58 0A ("\x89STRIDX\n")
 *   8      2    major version (3); a reader refuses another major
 *   10     2    minor version (0)
 *   12     4    flags, zero
 *   16     8    trace file size
 *   24     8    XXH3-64 of the trace's first min(size, 4096) bytes
 *   32     8    XXH3-64 of the trace's last min(size, 4096) bytes
 *   40     8    instruction count of the trace
 *   48     8    segment length (instructions)
 *   56     4    number of segments
 *   60     4    number of sections (6 in 2.0)
 *   64     8    table of contents offset
 *   72     8    reserved, zero
 *   80     8    reserved, zero
 *   88     8    XXH3-64 of bytes 0..87
 *
 * Table of contents entry (32 bytes): u32 section type, u32 zero,
 * u64 offset, u64 size, u64 XXH3-64 of the section's bytes.  The table
 * ends the file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "index/index_int.h"

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

strand_status ix_fingerprint(const char *trace, struct ix_fingerprint *fp, strand_error *err)
{
	int fd = open(trace, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strand_error_set(err, STRAND_ERR_IO, "cannot open %s: %s", trace, strerror(errno));
	struct stat sb;
	uint8_t buf[IX_FINGERPRINT];
	strand_status st = STRAND_OK;
	if (fstat(fd, &sb) != 0) {
		st = strand_error_set(err, STRAND_ERR_IO, "cannot stat %s: %s", trace, strerror(errno));
		goto out;
	}
	fp->size = (uint64_t)sb.st_size;
	size_t n = fp->size < IX_FINGERPRINT ? (size_t)fp->size : IX_FINGERPRINT;
	if (pread(fd, buf, n, 0) != (ssize_t)n) {
		st = strand_error_set(err, STRAND_ERR_IO, "cannot read %s", trace);
		goto out;
	}
	fp->head_hash = XXH3_64bits(buf, n);
	if (pread(fd, buf, n, (off_t)(fp->size - n)) != (ssize_t)n) {
		st = strand_error_set(err, STRAND_ERR_IO, "cannot read %s", trace);
		goto out;
	}
	fp->tail_hash = XXH3_64bits(buf, n);
out:
	close(fd);
	return st;
}

static strand_status write_all(int fd, const char *path, const void *p, size_t n,
			       uint64_t off, strand_error *err)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = pwrite(fd, b, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return strand_error_set(err, STRAND_ERR_IO, "cannot write %s: %s", path,
						strerror(errno));
		b += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return STRAND_OK;
}

/* Encode section `type` of ix into a malloc'd buffer. */
static uint8_t *encode(const struct strand_index *ix, int type, uint64_t *size)
{
	uint64_t n = 0, esz = 0;
	switch (type) {
	case IX_SEC_SEGMENTS: n = ix->nsegs; esz = IX_SEG_SIZE; break;
	case IX_SEC_EVENTS: n = ix->nevents; esz = IX_EVENT_SIZE; break;
	case IX_SEC_CALLS: n = ix->ncalls; esz = IX_CALL_SIZE; break;
	case IX_SEC_PAGES: n = ix->npages; esz = IX_PAGE_SIZE; break;
	case IX_SEC_CHECKPOINTS: n = ix->nsegs; esz = IX_CKPT_SIZE; break;
	case IX_SEC_ACCESS: n = ix->naccess; esz = IX_ACCESS_SIZE; break;
	}
	*size = n * esz;
	uint8_t *b = calloc(1, *size ? *size : 1);
	if (!b)
		return NULL;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t *p = b + i * esz;
		if (type == IX_SEC_SEGMENTS) {
			const struct strand_index_segment *s = &ix->segs[i];
			put64(p, s->start);
			put64(p + 8, s->end);
			put32(p + 16, s->npages);
			put32(p + 20, s->ncall_targets);
			put64(p + 24, s->ncalls);
			put64(p + 32, s->nrets);
			put32(p + 40, s->nsyscalls);
			put32(p + 44, s->nswitches);
		} else if (type == IX_SEC_EVENTS) {
			const struct strand_index_event *e = &ix->events[i];
			put64(p, e->position);
			put32(p + 8, e->type);
			put32(p + 12, e->tid);
			put64(p + 16, e->pc);
			put64(p + 24, e->number);
			put64(p + 32, e->result);
			for (int k = 0; k < 4; k++)
				put64(p + 40 + 8 * k, e->args[k]);
			put32(p + 72, e->failed ? 1 : 0);
		} else if (type == IX_SEC_CALLS) {
			const struct strand_index_calls *c = &ix->calls[i];
			put32(p, c->segment);
			put64(p + 8, c->target);
			put64(p + 16, c->count);
			put64(p + 24, c->first);
		} else if (type == IX_SEC_PAGES) {
			put32(p, ix->pages[i].segment);
			put64(p + 8, ix->pages[i].addr);
		} else if (type == IX_SEC_ACCESS) {
			put32(p, ix->access[i].segment);
			put32(p + 4, ix->access[i].flags);
			put64(p + 8, ix->access[i].addr);
		} else {
			const struct ix_ckpt *c = &ix->ckpts[i];
			put64(p, c->position);
			put64(p + 8, c->offset);
			put64(p + 16, c->size);
			put64(p + 24, c->meta_hash);
		}
	}
	return b;
}

strand_status ix_write_tail(int fd, const char *path, uint64_t blobs_end,
			    const struct strand_index *ix, const struct ix_fingerprint *fp,
			    strand_error *err)
{
	uint8_t toc[IX_NSECTIONS * IX_TOC_ENTRY];
	uint64_t off = blobs_end;
	strand_status st = STRAND_OK;
	for (int t = 1; t <= IX_NSECTIONS && st == STRAND_OK; t++) {
		uint64_t size;
		uint8_t *b = encode(ix, t, &size);
		if (!b)
			return strand_error_set(err, STRAND_ERR_NOMEM, "cannot encode index section %d", t);
		uint8_t *e = toc + (t - 1) * IX_TOC_ENTRY;
		put32(e, (uint32_t)t);
		put32(e + 4, 0);
		put64(e + 8, off);
		put64(e + 16, size);
		put64(e + 24, XXH3_64bits(b, size));
		st = write_all(fd, path, b, size, off, err);
		free(b);
		off += size;
	}
	if (st != STRAND_OK)
		return st;
	if ((st = write_all(fd, path, toc, sizeof toc, off, err)) != STRAND_OK)
		return st;
	uint8_t h[IX_HEADER];
	memset(h, 0, sizeof h);
	memcpy(h, IX_MAGIC, 8);
	uint16_t maj = STRAND_INDEX_VERSION_MAJOR, min = STRAND_INDEX_VERSION_MINOR;
	memcpy(h + 8, &maj, 2);
	memcpy(h + 10, &min, 2);
	put64(h + 16, fp->size);
	put64(h + 24, fp->head_hash);
	put64(h + 32, fp->tail_hash);
	put64(h + 40, ix->end);
	put64(h + 48, ix->seglen);
	put32(h + 56, ix->nsegs);
	put32(h + 60, IX_NSECTIONS);
	put64(h + 64, off);
	put64(h + 88, XXH3_64bits(h, 88));
	return write_all(fd, path, h, sizeof h, 0, err);
}

void ix_free(struct strand_index *ix)
{
	if (!ix)
		return;
	free(ix->path);
	free(ix->trace);
	free(ix->segs);
	free(ix->events);
	free(ix->calls);
	free(ix->pages);
	free(ix->ckpts);
	free(ix->access);
	free(ix);
}

#define CORRUPT(...) do { st = strand_error_set(err, STRAND_ERR_CORRUPT, __VA_ARGS__); goto out; } while (0)

strand_status ix_read(const char *trace, const char *path, struct strand_index **out,
		      strand_error *err)
{
	*out = NULL;
	struct strand_index *ix = NULL;
	uint8_t *sec[IX_NSECTIONS + 1] = { 0 };
	uint64_t secsize[IX_NSECTIONS + 1] = { 0 };
	strand_status st = STRAND_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return STRAND_NOT_FOUND;
		return strand_error_set(err, STRAND_ERR_IO, "cannot open index %s: %s", path,
					strerror(errno));
	}
	struct stat sb;
	uint8_t h[IX_HEADER];
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		CORRUPT("index %s is not a regular file", path);
	uint64_t fsize = (uint64_t)sb.st_size;
	if (fsize < IX_HEADER || pread(fd, h, IX_HEADER, 0) != IX_HEADER)
		CORRUPT("index %s at offset=0: shorter than its %u-byte header", path, IX_HEADER);
	if (memcmp(h, IX_MAGIC, 8) != 0)
		CORRUPT("index %s at offset=0: not a strand index (bad magic)", path);
	if (get64(h + 88) != XXH3_64bits(h, 88))
		CORRUPT("index %s at offset=88: header checksum mismatch", path);
	uint16_t maj, min;
	memcpy(&maj, h + 8, 2);
	memcpy(&min, h + 10, 2);
	if (maj != STRAND_INDEX_VERSION_MAJOR) {
		st = strand_error_set(err, STRAND_ERR_VERSION,
				      "stale index %s: format version %u.%u (this reader reads %u.x)",
				      path, maj, min, STRAND_INDEX_VERSION_MAJOR);
		goto out;
	}
	struct ix_fingerprint fp;
	if ((st = ix_fingerprint(trace, &fp, err)) != STRAND_OK)
		goto out;
	if (get64(h + 16) != fp.size || get64(h + 24) != fp.head_hash || get64(h + 32) != fp.tail_hash) {
		st = strand_error_set(err, STRAND_ERR_VERSION,
				      "stale index %s: built from another trace than %s (size %" PRIu64
				      " vs %" PRIu64 ", or its header/trailer changed)",
				      path, trace, get64(h + 16), fp.size);
		goto out;
	}
	ix = calloc(1, sizeof *ix);
	if (!ix) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate index");
		goto out;
	}
	ix->end = get64(h + 40);
	ix->seglen = get64(h + 48);
	ix->nsegs = get32(h + 56);
	uint32_t nsecs = get32(h + 60);
	uint64_t toc_off = get64(h + 64);
	if (nsecs < IX_NSECTIONS || nsecs > 1024 || toc_off < IX_HEADER || toc_off > fsize ||
	    (uint64_t)nsecs * IX_TOC_ENTRY != fsize - toc_off)
		CORRUPT("index %s at offset=60: table of contents (%u sections at offset=%" PRIu64
			") does not end the %" PRIu64 "-byte file", path, nsecs, toc_off, fsize);
	if (ix->seglen == 0 || ix->nsegs == 0 || ix->nsegs > (1u << 24))
		CORRUPT("index %s at offset=48: segment length %" PRIu64 " / count %u out of range",
			path, ix->seglen, ix->nsegs);
	uint8_t *toc = malloc((size_t)nsecs * IX_TOC_ENTRY);
	if (!toc) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate index");
		goto out;
	}
	if (pread(fd, toc, (size_t)nsecs * IX_TOC_ENTRY, (off_t)toc_off) != (ssize_t)(nsecs * IX_TOC_ENTRY)) {
		free(toc);
		CORRUPT("index %s at offset=%" PRIu64 ": cannot read the table of contents", path, toc_off);
	}
	for (uint32_t i = 0; i < nsecs; i++) {
		const uint8_t *e = toc + i * IX_TOC_ENTRY;
		uint32_t t = get32(e);
		uint64_t off = get64(e + 8), size = get64(e + 16), sum = get64(e + 24);
		if (t < 1 || t > IX_NSECTIONS)
			continue; /* a later minor's section */
		if (sec[t] || off < IX_HEADER || off > toc_off || size > toc_off - off) {
			free(toc);
			CORRUPT("index %s at offset=%" PRIu64 ": section %u at offset=%" PRIu64
				" size=%" PRIu64 " is outside the file or repeated", path,
				toc_off + i * IX_TOC_ENTRY, t, off, size);
		}
		sec[t] = malloc(size ? size : 1);
		secsize[t] = size;
		if (!sec[t]) {
			free(toc);
			st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate index section");
			goto out;
		}
		if (pread(fd, sec[t], size, (off_t)off) != (ssize_t)size ||
		    XXH3_64bits(sec[t], size) != sum) {
			free(toc);
			CORRUPT("index %s at offset=%" PRIu64 ": section %u checksum mismatch", path,
				off, t);
		}
	}
	free(toc);
	for (int t = 1; t <= IX_NSECTIONS; t++)
		if (!sec[t])
			CORRUPT("index %s: section %d missing", path, t);
	if (secsize[IX_SEC_SEGMENTS] != (uint64_t)ix->nsegs * IX_SEG_SIZE ||
	    secsize[IX_SEC_CHECKPOINTS] != (uint64_t)ix->nsegs * IX_CKPT_SIZE ||
	    secsize[IX_SEC_EVENTS] % IX_EVENT_SIZE || secsize[IX_SEC_CALLS] % IX_CALL_SIZE ||
	    secsize[IX_SEC_PAGES] % IX_PAGE_SIZE || secsize[IX_SEC_ACCESS] % IX_ACCESS_SIZE ||
	    secsize[IX_SEC_CALLS] / IX_CALL_SIZE > UINT32_MAX)
		CORRUPT("index %s: section sizes do not match their entry counts", path);
	ix->nevents = secsize[IX_SEC_EVENTS] / IX_EVENT_SIZE;
	ix->ncalls = (uint32_t)(secsize[IX_SEC_CALLS] / IX_CALL_SIZE);
	ix->npages = secsize[IX_SEC_PAGES] / IX_PAGE_SIZE;
	ix->naccess = secsize[IX_SEC_ACCESS] / IX_ACCESS_SIZE;
	ix->segs = calloc(ix->nsegs, sizeof *ix->segs);
	ix->ckpts = calloc(ix->nsegs, sizeof *ix->ckpts);
	ix->events = calloc(ix->nevents ? ix->nevents : 1, sizeof *ix->events);
	ix->calls = calloc(ix->ncalls ? ix->ncalls : 1, sizeof *ix->calls);
	ix->pages = calloc(ix->npages ? ix->npages : 1, sizeof *ix->pages);
	ix->access = calloc(ix->naccess ? ix->naccess : 1, sizeof *ix->access);
	ix->path = strdup(path);
	ix->trace = strdup(trace);
	if (!ix->segs || !ix->ckpts || !ix->events || !ix->calls || !ix->pages || !ix->access ||
	    !ix->path ||
	    !ix->trace) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate index");
		goto out;
	}
	for (uint32_t i = 0; i < ix->nsegs; i++) {
		const uint8_t *p = sec[IX_SEC_SEGMENTS] + (uint64_t)i * IX_SEG_SIZE;
		struct strand_index_segment *s = &ix->segs[i];
		s->start = get64(p);
		s->end = get64(p + 8);
		s->npages = get32(p + 16);
		s->ncall_targets = get32(p + 20);
		s->ncalls = get64(p + 24);
		s->nrets = get64(p + 32);
		s->nsyscalls = get32(p + 40);
		s->nswitches = get32(p + 44);
		if (s->start > s->end || s->end > ix->end || (i && s->start != ix->segs[i - 1].end) ||
		    (!i && s->start != 0))
			CORRUPT("index %s: segment %u [%" PRIu64 ", %" PRIu64 ") out of order", path, i,
				s->start, s->end);
		const uint8_t *c = sec[IX_SEC_CHECKPOINTS] + (uint64_t)i * IX_CKPT_SIZE;
		struct ix_ckpt *k = &ix->ckpts[i];
		k->position = get64(c);
		k->offset = get64(c + 8);
		k->size = get64(c + 16);
		k->meta_hash = get64(c + 24);
		if (k->position != s->start || (k->size && (k->offset < IX_HEADER ||
							    k->offset > toc_off ||
							    k->size > toc_off - k->offset)))
			CORRUPT("index %s: checkpoint of segment %u at offset=%" PRIu64
				" size=%" PRIu64 " is outside the file", path, i, k->offset, k->size);
	}
	if (ix->segs[ix->nsegs - 1].end != ix->end)
		CORRUPT("index %s: segments end at %" PRIu64 ", the trace at %" PRIu64, path,
			ix->segs[ix->nsegs - 1].end, ix->end);
	for (uint64_t i = 0; i < ix->nevents; i++) {
		const uint8_t *p = sec[IX_SEC_EVENTS] + i * IX_EVENT_SIZE;
		struct strand_index_event *e = &ix->events[i];
		e->position = get64(p);
		e->type = get32(p + 8);
		e->tid = get32(p + 12);
		e->pc = get64(p + 16);
		e->number = get64(p + 24);
		e->result = get64(p + 32);
		for (int k = 0; k < 4; k++)
			e->args[k] = get64(p + 40 + 8 * k);
		e->failed = get32(p + 72) != 0;
		if (e->position > ix->end || (i && e->position < ix->events[i - 1].position))
			CORRUPT("index %s: event %" PRIu64 " at position %" PRIu64 " out of order",
				path, i, e->position);
	}
	for (uint32_t i = 0; i < ix->ncalls; i++) {
		const uint8_t *p = sec[IX_SEC_CALLS] + (uint64_t)i * IX_CALL_SIZE;
		struct strand_index_calls *c = &ix->calls[i];
		c->segment = get32(p);
		c->target = get64(p + 8);
		c->count = get64(p + 16);
		c->first = get64(p + 24);
		if (c->segment >= ix->nsegs ||
		    (i && (c->target < ix->calls[i - 1].target ||
			   (c->target == ix->calls[i - 1].target && c->segment <= ix->calls[i - 1].segment))))
			CORRUPT("index %s: call row %u out of order", path, i);
	}
	for (uint64_t i = 0; i < ix->npages; i++) {
		const uint8_t *p = sec[IX_SEC_PAGES] + i * IX_PAGE_SIZE;
		ix->pages[i].segment = get32(p);
		ix->pages[i].addr = get64(p + 8);
		if (ix->pages[i].segment >= ix->nsegs ||
		    (i && (ix->pages[i].addr < ix->pages[i - 1].addr ||
			   (ix->pages[i].addr == ix->pages[i - 1].addr &&
			    ix->pages[i].segment <= ix->pages[i - 1].segment))))
			CORRUPT("index %s: page row %" PRIu64 " out of order", path, i);
	}
	for (uint64_t i = 0; i < ix->naccess; i++) {
		const uint8_t *p = sec[IX_SEC_ACCESS] + i * IX_ACCESS_SIZE;
		struct ix_access *a = &ix->access[i];
		a->segment = get32(p);
		a->flags = get32(p + 4);
		a->addr = get64(p + 8);
		if (a->segment >= ix->nsegs || !a->flags ||
		    (a->flags & ~(IX_ACCESS_READ | IX_ACCESS_WRITE | IX_ACCESS_KERNEL)) || (a->addr & 4095) ||
		    (i && (a->addr < ix->access[i - 1].addr ||
			   (a->addr == ix->access[i - 1].addr &&
			    a->segment <= ix->access[i - 1].segment))))
			CORRUPT("index %s: access row %" PRIu64 " out of order or bad", path, i);
	}
	*out = ix;
	ix = NULL;
out:
	for (int t = 0; t <= IX_NSECTIONS; t++)
		free(sec[t]);
	ix_free(ix);
	close(fd);
	return st;
}
