/*
 * Internals of the index part (index/): the sidecar file format and the
 * in-memory index.  Not a public API; include/strand/index.h is.
 *
 * Sidecar layout (docs/trace-format.md, "The index sidecar", is the
 * specification; all integers little-endian):
 *
 *   +---------------------+ 0
 *   | header (96 bytes)   |
 *   +---------------------+ 96
 *   | checkpoint blobs    | one per segment after the first (replay/ckpt_io.c)
 *   | sections            | segments, events, calls, pages, checkpoints, accesses
 *   | table of contents   | nsections x 32 bytes
 *   +---------------------+ file size
 */
#ifndef STRAND_INDEX_INT_H
#define STRAND_INDEX_INT_H

#include <stdint.h>

#include "strand/index.h"

#define IX_MAGIC "\x89STRIDX\n"
#define IX_HEADER 96u
#define IX_TOC_ENTRY 32u
#define IX_FINGERPRINT 4096u /* bytes hashed at each end of the trace */

enum ix_section {
	IX_SEC_SEGMENTS = 1,    /* nsegments x 48 */
	IX_SEC_EVENTS = 2,      /* nevents x 88 */
	IX_SEC_CALLS = 3,       /* ncalls x 32, sorted by (target, segment) */
	IX_SEC_PAGES = 4,       /* npages x 16, sorted by (page, segment) */
	IX_SEC_CHECKPOINTS = 5, /* nsegments x 32 */
	IX_SEC_ACCESS = 6,      /* naccess x 16, sorted by (page, segment) */
	IX_NSECTIONS = 6,
};

#define IX_SEG_SIZE 48u
#define IX_EVENT_SIZE 88u
#define IX_CALL_SIZE 32u
#define IX_PAGE_SIZE 16u
#define IX_CKPT_SIZE 32u
#define IX_ACCESS_SIZE 16u

#define IX_ACCESS_READ 1u  /* ix_access.flags: an instruction read the page */
#define IX_ACCESS_WRITE 2u /* ... wrote it (whatever the value) */
#define IX_ACCESS_KERNEL 4u /* a recorded event (kernel call, asynchronous memory
			       change, nondeterministic instruction, exception
			       context) wrote bytes of it: what the data-flow
			       engine follows besides guest stores (index 3.0) */

/* A page changed in a segment. */
struct ix_page {
	uint64_t addr;     /* page address */
	uint32_t segment;
};

/* A page that guest instructions read or wrote in a segment (exact: from
 * a memory observer while building, not from page hashes, so a write
 * that leaves the page as it was counts too). */
struct ix_access {
	uint64_t addr;     /* page address (4 KiB aligned) */
	uint32_t segment;
	uint32_t flags;    /* IX_ACCESS_READ | _WRITE | _KERNEL, never 0 */
};

/* Where a segment's starting checkpoint is in the file. */
struct ix_ckpt {
	uint64_t position; /* == the segment's start */
	uint64_t offset;   /* of the blob; 0 for segment 0 (the trace's snapshot) */
	uint64_t size;     /* bytes of the blob */
	uint64_t meta_hash;/* XXH3-64 of the blob's fields (before its page data) */
};

/* Identity of the trace an index belongs to. */
struct ix_fingerprint {
	uint64_t size;      /* trace file bytes */
	uint64_t head_hash; /* XXH3-64 of its first min(size, 4096) bytes */
	uint64_t tail_hash; /* ... of its last min(size, 4096) bytes */
};

struct strand_index {
	char *path;                /* owned: the sidecar file */
	char *trace;               /* owned: the trace */
	uint64_t end;              /* instructions of the trace */
	uint64_t seglen;           /* instructions per segment */
	uint32_t nsegs;
	struct strand_index_segment *segs; /* owned */
	uint64_t nevents;
	struct strand_index_event *events; /* owned */
	uint32_t ncalls;
	struct strand_index_calls *calls;  /* owned, by (target, segment) */
	uint64_t npages;
	struct ix_page *pages;     /* owned, by (addr, segment) */
	struct ix_ckpt *ckpts;     /* owned, nsegs entries */
	uint64_t naccess;
	struct ix_access *access;  /* owned, by (addr, segment) */
	bool unlink_on_close;      /* a temporary index (read-only trace dir) */
};

/* index_format.c */
strand_status ix_fingerprint(const char *trace, struct ix_fingerprint *fp, strand_error *err);
/* Write the sections, the table of contents and the header of `ix` to
 * fd, whose checkpoint blobs end at blobs_end (they start at IX_HEADER). */
strand_status ix_write_tail(int fd, const char *path, uint64_t blobs_end,
			    const struct strand_index *ix, const struct ix_fingerprint *fp,
			    strand_error *err);
strand_status ix_read(const char *trace, const char *path, struct strand_index **out,
		      strand_error *err);
void ix_free(struct strand_index *ix);

#endif
