/*
 * Private to formats/trace_*.c: the on-disk constants of the strand trace
 * format, little-endian helpers, the record codec and the record checker
 * shared by the writer and strand_reader_verify().
 *
 * The layout is specified in docs/trace-format.md; every constant here is
 * named after a line of a table there.
 */
#ifndef STRAND_FORMATS_TRACE_FORMAT_H
#define STRAND_FORMATS_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "strand/trace.h"

/* ---- file header (docs/trace-format.md "File header") ---------------- */
#define TF_MAGIC "\x89STRAND\n"          /* 8 bytes */
/* The minor version that introduced a feature (trace.h STRAND_FORMAT_MINOR). */
#define TF_MINOR_PROCESS_TREE 1u /* NOTE "process" / "process-data" */
#define TF_HEADER_SIZE 128u               /* v1 header; minor versions may grow it */
#define TF_HEADER_MAX 4096u               /* largest header_size a reader accepts */
#define TF_HDR_RECORDER_LEN 32u
#define TF_HDR_RECVER_LEN 16u
/* Header flags a reader must understand; bits 16..31 are advisory. */
#define TF_FLAGS_KNOWN_REQUIRED ((uint32_t)STRAND_TRACE_F_ORDINAL_POSITIONS)
#define TF_FLAGS_REQUIRED_MASK 0x0000ffffu

/* ---- chunk ------------------------------------------------------------ */
#define TF_CHUNK_MAGIC "CHNK"
#define TF_CHUNK_HEADER_SIZE 56u
#define TF_CODEC_ZSTD 1u
#define TF_CHUNK_MAX_UNCOMPRESSED (256u << 20) /* reader limit, 256 MiB */
#define TF_CHUNK_DEFAULT (1u << 20)
/* A zstd block holds at most 128 KiB and takes at least 4 bytes, so no
 * valid frame expands more than this: a larger claim is corrupt, and the
 * reader never allocates for it. */
#define TF_ZSTD_MAX_RATIO 32768u

/* ---- record ----------------------------------------------------------- */
#define TF_RECORD_HEADER_SIZE 20u
#define TF_REC_OPTIONAL 0x8000u  /* type bit 15: skippable when unknown */
/* Largest encoded record the writer accepts (header + payload). */
#define TF_RECORD_MAX (TF_CHUNK_MAX_UNCOMPRESSED - 4096u)
#define TF_CPU_SIZE 704u         /* encoded struct strand_cpu */
#define TF_REGION_SPLIT (64ull << 20) /* writer splits larger REGIONs */

/* ---- index + trailer -------------------------------------------------- */
#define TF_INDEX_MAGIC "INDX"
#define TF_INDEX_HEADER_SIZE 48u
#define TF_INDEX_ENTRY_SIZE 40u
#define TF_INDEX_MAX_TYPES 1024u
#define TF_INDEX_MAX_BYTES (1u << 30) /* reader limit: 26 M chunks */
#define TF_INDEX_F_COMPLETE 1u
#define TF_TRAILER_SIZE 32u
#define TF_TRAILER_MAGIC "STRNDEND"

/* ---- little-endian access -------------------------------------------- */
static inline void tf_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void tf_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void tf_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t tf_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t tf_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline uint64_t tf_get64(const uint8_t *p)
{
	return (uint64_t)tf_get32(p) | ((uint64_t)tf_get32(p + 4) << 32);
}

/* ---- growable byte buffer -------------------------------------------- */
struct tf_buf {
	uint8_t *p;
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated, >= len */
};

/* Make room for `n` more bytes; false on allocation failure. */
bool tf_buf_reserve(struct tf_buf *b, size_t n);
void tf_buf_free(struct tf_buf *b);

/* ---- chunk header ----------------------------------------------------- */
struct tf_chunk_header {
	uint32_t flags, compressed, uncompressed, nrecords, codec;
	uint64_t first_position, last_position;
	uint64_t payload_hash; /* XXH3-64 of the compressed payload */
};

void tf_chunk_header_encode(uint8_t out[TF_CHUNK_HEADER_SIZE],
			    const struct tf_chunk_header *h);
/* Decode and check magic + header checksum + sizes; on failure writes the
 * reason (no location) into `why` and returns false. */
bool tf_chunk_header_decode(const uint8_t in[TF_CHUNK_HEADER_SIZE],
			    struct tf_chunk_header *h, char *why, size_t whylen);

/* ---- record codec (trace_codec.c) ------------------------------------ */

/* Append the encoding of `rec` (record header + payload) to `b`.  Safe on
 * any record (NULL arrays encode as zeros), but only a record that passes
 * tf_check_record() encodes to something readable.  On failure `b` is left
 * as it was. */
strand_status tf_record_encode(struct tf_buf *b, const struct strand_record *rec,
			       strand_error *err);

/* Bump allocator for decoded records: blocks are kept until reset. */
struct tf_arena {
	uint8_t *blk;      /* current block */
	size_t used, cap;  /* bytes of blk used / allocated */
	void **old;        /* retired blocks, freed at reset */
	size_t nold, capold;
};
void tf_arena_reset(struct tf_arena *a);
void tf_arena_free(struct tf_arena *a);

/* Decode the payload of a record whose header fields are already in
 * `rec` (type, tid, position) from p[0..len).  Pointers in `rec` borrow
 * from `p` (blobs) and `a` (everything else).  `tolerate_trailing`: bytes
 * after the known fields are allowed (file written by a newer minor).
 * On failure returns STRAND_ERR_CORRUPT (or NOMEM) with an unlocated
 * message ("syscall: nargs=9 exceeds 8"). */
strand_status tf_record_decode(struct strand_record *rec, const uint8_t *p,
			       size_t len, struct tf_arena *a,
			       bool tolerate_trailing, strand_error *err);

/* ---- record checker (trace_check.c) --------------------------------- */

struct tf_region_span {
	uint64_t addr, end; /* [addr, end) */
	uint64_t ordinal;   /* record number in the trace */
};

/* State of the order/shape rules a trace must follow (docs "Record order
 * rules"); used by the writer on every put and by verify. */
struct tf_checker {
	bool ordinal_positions;  /* STRAND_TRACE_F_ORDINAL_POSITIONS */
	bool in_snapshot;        /* before SNAPSHOT_END */
	bool ended;              /* PROCESS_EXIT seen */
	uint64_t nrecords;       /* records checked so far */
	uint64_t last_position;
	uint64_t nconsuming;     /* SYSCALL + NONDET so far */
	struct tf_region_span *regions; /* snapshot regions, checked at
					    SNAPSHOT_END */
	size_t nregions, capregions;
};

void tf_checker_init(struct tf_checker *c, uint32_t trace_flags);
void tf_checker_free(struct tf_checker *c);
/* Check `rec` against the rules and the state, then advance the state.
 * Returns STRAND_ERR_INVALID with an unlocated message on a violation
 * (callers add the location and may change the status). */
strand_status tf_check_record(struct tf_checker *c, const struct strand_record *rec,
			      strand_error *err);
/* Rules that hold only at the end of the trace (snapshot closed). */
strand_status tf_check_finish(struct tf_checker *c, strand_error *err);

/* Tests only (tests/test_trace.c): let the writer accept records that
 * break the order/shape rules, to make files that verify must reject. */
void tf_writer_set_unchecked(struct strand_writer *w, bool unchecked);

#endif
