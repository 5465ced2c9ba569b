/*
 * Trace reader and verifier (trace.h).  Layout: docs/trace-format.md.
 *
 * The file is read with pread, one chunk at a time (or borrowed whole, for
 * strand_reader_open_mem), so memory stays bounded by the largest chunk
 * whatever the trace's length; one chunk at a time is decompressed into a
 * buffer owned by the reader.  The
 * file is hostile: every offset, length and count is checked against the
 * bytes that hold it before it is used, allocations are bounded by
 * TF_CHUNK_MAX_UNCOMPRESSED (and decoded records by a small multiple of
 * their payload), and every loop is bounded by the file's size.
 *
 * Error messages say where: "chunk 3 at offset=4096: ...", "chunk 3 at
 * offset=4096: record 17 (type=syscall, position=1234): ...".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "formats/trace_format.h"

#define NO_CHUNK UINT32_MAX

struct strand_reader {
	const uint8_t *buf;               /* whole file (open_mem), or NULL */
	int fd;                           /* file (strand_reader_open), or -1 */
	size_t len;                       /* file size in bytes */
	struct tf_buf hbuf;               /* file: header, trailer, index bytes */
	struct tf_buf cbuf;               /* file: chunk header + compressed payload */
	uint32_t hdr_size;                /* bytes of the file header */
	bool newer_minor;                 /* written by a newer minor version */
	struct strand_trace_info info;
	struct strand_trace_summary sum;
	struct strand_chunk_info *chunks; /* nchunks entries */
	uint32_t nchunks;
	uint64_t index_offset;            /* of the index, or end of chunks if none */
	char footer_problem[512];         /* why the footer was not used ("" if used) */
	ZSTD_DCtx *dctx;
	struct tf_buf dbuf;               /* payload of chunk `loaded` */
	uint32_t loaded;                  /* NO_CHUNK if none */
	/* cursor: the next record is record `ri` of chunk `ci`, at `off` in dbuf
	 * (valid when loaded == ci); ci == nchunks at the end */
	uint32_t ci, ri;
	size_t off;
	uint64_t prev_pos;                /* position of the record before the cursor */
	struct strand_record rec;         /* last record returned */
	struct tf_arena arena;            /* storage of rec */
};

/* ===================================================================== */
/* Header, footer, scan                                                   */
/* ===================================================================== */

/* Bytes [off, off + n) of the file, n <= len - off (callers check): a
 * pointer into the caller's buffer (open_mem) or into `scratch`, valid
 * until `scratch` is used again. */
static strand_status fetch(struct strand_reader *r, uint64_t off, size_t n,
			   struct tf_buf *scratch, const uint8_t **out, strand_error *err)
{
	if (r->buf) {
		*out = r->buf + off;
		return STRAND_OK;
	}
	scratch->len = 0;
	if (!tf_buf_reserve(scratch, n ? n : 1))
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate %zu bytes to read "
					"offset=%" PRIu64, n, off);
	size_t done = 0;
	while (done < n) {
		ssize_t k = pread(r->fd, scratch->p + done, n - done, (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return strand_error_set(err, STRAND_ERR_IO, "cannot read %zu bytes at offset=%"
						PRIu64 ": %s", n, off + done,
						k < 0 ? strerror(errno) : "file shrank");
		done += (size_t)k;
	}
	*out = scratch->p;
	return STRAND_OK;
}

static strand_status parse_header(struct strand_reader *r, strand_error *err)
{
	const uint8_t *h;
	size_t n = r->len < TF_HEADER_MAX ? r->len : TF_HEADER_MAX;
	strand_status st = fetch(r, 0, n, &r->hbuf, &h, err);
	if (st != STRAND_OK)
		return st;
	if (r->len < 12 || memcmp(h, TF_MAGIC, 8) != 0)
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"not a strand trace: bad magic at offset=0 (file size=%zu)",
					r->len);
	struct strand_trace_info *in = &r->info;
	in->format_major = tf_get16(h + 8);
	in->format_minor = tf_get16(h + 10);
	if (in->format_major != STRAND_FORMAT_MAJOR)
		return strand_error_set(err, STRAND_ERR_VERSION,
					"file header at offset=8: trace format version %u.%u "
					"is not supported (this reader reads %u.x)", in->format_major,
					in->format_minor, STRAND_FORMAT_MAJOR);
	if (r->len < TF_HEADER_SIZE)
		return strand_error_set(err, STRAND_ERR_TRUNCATED,
					"file header: file size=%zu is less than the "
					"header size=%u", r->len, TF_HEADER_SIZE);
	uint32_t hs = tf_get32(h + 20);
	if (hs < TF_HEADER_SIZE || hs > TF_HEADER_MAX || hs % 8 || hs > r->len)
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"file header at offset=20: header_size=%" PRIu32
					" (expected a multiple of 8 in %u..%u, within file size=%zu)",
					hs, TF_HEADER_SIZE, TF_HEADER_MAX, r->len);
	uint64_t want = tf_get64(h + hs - 8), got = XXH3_64bits(h, hs - 8);
	if (want != got)
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"file header at offset=%" PRIu32 ": checksum mismatch "
					"(expected 0x%016" PRIx64 ", got 0x%016" PRIx64 ")",
					hs - 8, want, got);
	r->hdr_size = hs;
	r->newer_minor = in->format_minor > STRAND_FORMAT_MINOR;
	in->arch = (strand_arch)tf_get16(h + 12);
	in->abi = (strand_abi)tf_get16(h + 14);
	in->flags = tf_get32(h + 16);
	in->created_unix_ns = tf_get64(h + 24);
	memcpy(in->recorder, h + 32, TF_HDR_RECORDER_LEN);
	in->recorder[TF_HDR_RECORDER_LEN - 1] = '\0';
	memcpy(in->recorder_version, h + 64, TF_HDR_RECVER_LEN);
	in->recorder_version[TF_HDR_RECVER_LEN - 1] = '\0';
	if (in->arch != STRAND_ARCH_X86_32 && in->arch != STRAND_ARCH_X86_64)
		return strand_error_set(err, STRAND_ERR_UNSUPPORTED,
					"file header at offset=12: arch=%u is not supported",
					(unsigned)in->arch);
	if ((unsigned)in->abi > STRAND_ABI_LINUX)
		return strand_error_set(err, STRAND_ERR_UNSUPPORTED,
					"file header at offset=14: abi=%u is not supported",
					(unsigned)in->abi);
	if (in->flags & TF_FLAGS_REQUIRED_MASK & ~TF_FLAGS_KNOWN_REQUIRED)
		return strand_error_set(err, STRAND_ERR_VERSION,
					"file header at offset=16: flags=0x%08" PRIx32
					" require features this reader does not know", in->flags);
	return STRAND_OK;
}

/* Try the trailer and index.  Returns false with r->footer_problem set if
 * they are missing or damaged (the caller then scans), or with `fatal`
 * set if memory or I/O failed. */
static bool parse_footer(struct strand_reader *r, strand_error *fatal)
{
	char *why = r->footer_problem;
	size_t wl = sizeof r->footer_problem;
	size_t len = r->len;
	const uint8_t *tr, *ix;
	if (len < (size_t)r->hdr_size + TF_TRAILER_SIZE + TF_INDEX_HEADER_SIZE) {
		snprintf(why, wl, "no footer: file size=%zu is too small for one", len);
		return false;
	}
	uint64_t toff = len - TF_TRAILER_SIZE;
	if (fetch(r, toff, TF_TRAILER_SIZE, &r->hbuf, &tr, fatal) != STRAND_OK)
		return false;
	if (memcmp(tr + 24, TF_TRAILER_MAGIC, 8) != 0) {
		snprintf(why, wl, "no footer: trailer magic missing at offset=%" PRIu64, toff + 24);
		return false;
	}
	uint64_t ioff = tf_get64(tr), isize = tf_get64(tr + 8), ihash = tf_get64(tr + 16);
	if (ioff < r->hdr_size || ioff > toff || isize != toff - ioff ||
	    isize < TF_INDEX_HEADER_SIZE) {
		snprintf(why, wl, "trailer at offset=%" PRIu64 ": index offset=%" PRIu64
			 " size=%" PRIu64 " does not end at the trailer", toff, ioff, isize);
		return false;
	}
	if (isize > TF_INDEX_MAX_BYTES) {
		snprintf(why, wl, "index at offset=%" PRIu64 ": size=%" PRIu64 " exceeds the limit %u",
			 ioff, isize, TF_INDEX_MAX_BYTES);
		return false;
	}
	if (fetch(r, ioff, (size_t)isize, &r->hbuf, &ix, fatal) != STRAND_OK)
		return false;
	uint64_t got = XXH3_64bits(ix, (size_t)isize);
	if (got != ihash) {
		snprintf(why, wl, "index at offset=%" PRIu64 ": checksum mismatch (expected 0x%016"
			 PRIx64 ", got 0x%016" PRIx64 ")", ioff, ihash, got);
		return false;
	}
	if (memcmp(ix, TF_INDEX_MAGIC, 4) != 0) {
		snprintf(why, wl, "index at offset=%" PRIu64 ": bad magic", ioff);
		return false;
	}
	uint32_t nchunks = tf_get32(ix + 4), ntypes = tf_get32(ix + 8);
	uint32_t iflags = tf_get32(ix + 12);
	uint64_t nrecords = tf_get64(ix + 16), last = tf_get64(ix + 24);
	uint64_t total = tf_get64(ix + 32);
	if (ntypes > TF_INDEX_MAX_TYPES ||
	    isize != TF_INDEX_HEADER_SIZE + (uint64_t)nchunks * TF_INDEX_ENTRY_SIZE +
			     (uint64_t)ntypes * 8) {
		snprintf(why, wl, "index at offset=%" PRIu64 ": nchunks=%" PRIu32 " ntypes=%" PRIu32
			 " do not match its size=%" PRIu64, ioff, nchunks, ntypes, isize);
		return false;
	}
	struct strand_chunk_info *c = calloc(nchunks ? nchunks : 1, sizeof *c);
	if (!c) {
		strand_error_set(fatal, STRAND_ERR_NOMEM, "cannot allocate the chunk index");
		return false;
	}
	uint64_t expect = r->hdr_size, sumrec = 0, sumunc = 0, prevlast = 0;
	for (uint32_t i = 0; i < nchunks; i++) {
		const uint8_t *e = ix + TF_INDEX_HEADER_SIZE + (size_t)i * TF_INDEX_ENTRY_SIZE;
		uint64_t eoff = ioff + TF_INDEX_HEADER_SIZE + (uint64_t)i * TF_INDEX_ENTRY_SIZE;
		c[i].file_offset = tf_get64(e);
		c[i].compressed = tf_get32(e + 8);
		c[i].uncompressed = tf_get32(e + 12);
		c[i].nrecords = tf_get32(e + 16);
		c[i].flags = tf_get32(e + 20);
		c[i].first_position = tf_get64(e + 24);
		c[i].last_position = tf_get64(e + 32);
		const char *bad = NULL;
		if (c[i].file_offset != expect)
			bad = "file offset does not follow the previous chunk";
		else if (c[i].uncompressed > TF_CHUNK_MAX_UNCOMPRESSED ||
			 c[i].uncompressed > (uint64_t)c[i].compressed * TF_ZSTD_MAX_RATIO)
			bad = "uncompressed size exceeds the limit";
		else if (c[i].nrecords == 0 ||
			 (uint64_t)c[i].nrecords * TF_RECORD_HEADER_SIZE > c[i].uncompressed)
			bad = "nrecords does not fit the uncompressed size";
		else if (c[i].first_position > c[i].last_position || c[i].first_position < prevlast)
			bad = "positions out of order";
		if (bad) {
			snprintf(why, wl, "index entry %" PRIu32 " at offset=%" PRIu64
				 " (chunk offset=%" PRIu64 "): %s", i, eoff, c[i].file_offset, bad);
			free(c);
			return false;
		}
		expect = c[i].file_offset + TF_CHUNK_HEADER_SIZE + c[i].compressed;
		sumrec += c[i].nrecords;
		sumunc += c[i].uncompressed;
		prevlast = c[i].last_position;
	}
	if (expect != ioff || sumrec != nrecords || sumunc != total ||
	    (nchunks && prevlast != last)) {
		snprintf(why, wl, "index at offset=%" PRIu64 ": totals disagree with its chunk "
			 "entries (chunks end at %" PRIu64 ", nrecords=%" PRIu64 " vs %" PRIu64
			 ", uncompressed=%" PRIu64 " vs %" PRIu64 ")", ioff, expect, nrecords,
			 sumrec, total, sumunc);
		free(c);
		return false;
	}
	const uint8_t *counts = ix + TF_INDEX_HEADER_SIZE + (size_t)nchunks * TF_INDEX_ENTRY_SIZE;
	for (uint32_t t = 0; t < ntypes && t < STRAND_REC_TYPE_MAX; t++)
		r->sum.count_by_type[t] = tf_get64(counts + 8 * t);
	r->chunks = c;
	r->nchunks = nchunks;
	r->index_offset = ioff;
	r->sum.nrecords = nrecords;
	r->sum.last_position = last;
	r->sum.uncompressed_size = total;
	r->sum.complete = (iflags & TF_INDEX_F_COMPLETE) != 0;
	return true;
}

/* Check chunk i's header against its index entry and its payload checksum,
 * and decompress the payload into r->dbuf. */
static strand_status load_chunk(struct strand_reader *r, uint32_t i, strand_error *err)
{
	const struct strand_chunk_info *c = &r->chunks[i];
	if (r->loaded == i)
		return STRAND_OK;
	r->loaded = NO_CHUNK;
	uint64_t off = c->file_offset;
	/* The index (or the scan) guarantees these bytes exist. */
	const uint8_t *h;
	strand_status st = fetch(r, off, TF_CHUNK_HEADER_SIZE + (size_t)c->compressed, &r->cbuf,
				 &h, err);
	if (st != STRAND_OK)
		return strand_error_wrap(err, st, "chunk %" PRIu32, i);
	struct tf_chunk_header ch;
	char why[256];
	if (!tf_chunk_header_decode(h, &ch, why, sizeof why))
		return strand_error_set(err, STRAND_ERR_CORRUPT, "chunk %" PRIu32
					" at offset=%" PRIu64 ": %s", i, off, why);
	if (ch.compressed != c->compressed || ch.uncompressed != c->uncompressed ||
	    ch.nrecords != c->nrecords || ch.flags != c->flags ||
	    ch.first_position != c->first_position || ch.last_position != c->last_position)
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"chunk %" PRIu32 " at offset=%" PRIu64 ": header disagrees "
					"with the index (header: compressed=%" PRIu32 " nrecords=%"
					PRIu32 " positions %" PRIu64 "..%" PRIu64 "; index: compressed=%"
					PRIu32 " nrecords=%" PRIu32 " positions %" PRIu64 "..%" PRIu64 ")",
					i, off, ch.compressed, ch.nrecords, ch.first_position,
					ch.last_position, c->compressed, c->nrecords,
					c->first_position, c->last_position);
	const uint8_t *payload = h + TF_CHUNK_HEADER_SIZE;
	uint64_t got = XXH3_64bits(payload, c->compressed);
	if (got != ch.payload_hash)
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"chunk %" PRIu32 " at offset=%" PRIu64 ": payload checksum "
					"mismatch (expected 0x%016" PRIx64 ", got 0x%016" PRIx64 ")",
					i, off, ch.payload_hash, got);
	/* created on first use: opening a trace costs no zstd context */
	if (!r->dctx && !(r->dctx = ZSTD_createDCtx()))
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot create a zstd context");
	r->dbuf.len = 0;
	if (r->dbuf.cap < c->uncompressed)
		tf_buf_free(&r->dbuf); /* grow without copying the old payload */
	if (!tf_buf_reserve(&r->dbuf, c->uncompressed ? c->uncompressed : 1))
		return strand_error_set(err, STRAND_ERR_NOMEM, "chunk %" PRIu32 " at offset=%"
					PRIu64 ": cannot allocate %" PRIu32 " bytes", i, off,
					c->uncompressed);
	size_t n = ZSTD_decompressDCtx(r->dctx, r->dbuf.p, c->uncompressed, payload,
				       c->compressed);
	if (ZSTD_isError(n))
		return strand_error_set(err, STRAND_ERR_CORRUPT, "chunk %" PRIu32 " at offset=%"
					PRIu64 ": cannot decompress payload: %s", i, off,
					ZSTD_getErrorName(n));
	if (n != c->uncompressed)
		return strand_error_set(err, STRAND_ERR_CORRUPT, "chunk %" PRIu32 " at offset=%"
					PRIu64 ": payload decompresses to %zu bytes (expected %"
					PRIu32 ")", i, off, n, c->uncompressed);
	r->dbuf.len = n;
	r->loaded = i;
	return STRAND_OK;
}

/* Record header at r->off of the loaded chunk; checks its bounds and its
 * position against the chunk's range and the record before.  On success
 * fills type/tid/position, *payload, *plen and advances the cursor. */
static strand_status take_record(struct strand_reader *r, const uint8_t **payload,
				 uint32_t *plen, strand_error *err)
{
	const struct strand_chunk_info *c = &r->chunks[r->ci];
	size_t left = r->dbuf.len - r->off;
	if (left < TF_RECORD_HEADER_SIZE)
		return strand_error_set(err, STRAND_ERR_CORRUPT, "chunk %" PRIu32 " at offset=%"
					PRIu64 ": record %" PRIu32 " header at payload offset=%zu "
					"needs %u bytes, %zu remain", r->ci, c->file_offset, r->ri,
					r->off, TF_RECORD_HEADER_SIZE, left);
	const uint8_t *h = r->dbuf.p + r->off;
	uint32_t type = tf_get16(h), tid = tf_get32(h + 4), len = tf_get32(h + 16);
	uint64_t pos = tf_get64(h + 8);
	if (len > left - TF_RECORD_HEADER_SIZE)
		return strand_error_set(err, STRAND_ERR_CORRUPT, "chunk %" PRIu32 " at offset=%"
					PRIu64 ": record %" PRIu32 " at payload offset=%zu: payload "
					"length=%" PRIu32 " exceeds the %zu bytes left", r->ci,
					c->file_offset, r->ri, r->off, len,
					left - TF_RECORD_HEADER_SIZE);
	uint64_t lo = r->ri == 0 ? c->first_position : r->prev_pos;
	if (pos < lo || pos > c->last_position || (r->ri == 0 && pos != c->first_position))
		return strand_error_set(err, STRAND_ERR_CORRUPT, "chunk %" PRIu32 " at offset=%"
					PRIu64 ": record %" PRIu32 " (type=%s): position=%" PRIu64
					" out of order (expected %" PRIu64 "..%" PRIu64 ")", r->ci,
					c->file_offset, r->ri, strand_rec_type_str(type), pos, lo,
					c->last_position);
	if (r->ri + 1 == c->nrecords && pos != c->last_position)
		return strand_error_set(err, STRAND_ERR_CORRUPT, "chunk %" PRIu32 " at offset=%"
					PRIu64 ": last record %" PRIu32 " at position=%" PRIu64
					" (chunk header says %" PRIu64 ")", r->ci, c->file_offset,
					r->ri, pos, c->last_position);
	r->rec.type = type;
	r->rec.tid = tid;
	r->rec.position = pos;
	*payload = h + TF_RECORD_HEADER_SIZE;
	*plen = len;
	r->off += TF_RECORD_HEADER_SIZE + (size_t)len;
	r->ri++;
	r->prev_pos = pos;
	return STRAND_OK;
}

static bool type_known(uint32_t t)
{
	return (t >= STRAND_REC_MODULE && t <= STRAND_REC_SNAPSHOT_END) ||
	       (t >= STRAND_REC_SYSCALL && t < STRAND_REC_TYPE_MAX);
}

/* Move the cursor to the start of chunk ci (loading it), or stay at the end. */
static strand_status enter_chunk(struct strand_reader *r, uint32_t ci, strand_error *err)
{
	r->ci = ci;
	r->ri = 0;
	r->off = 0;
	if (ci >= r->nchunks)
		return STRAND_OK;
	r->prev_pos = r->chunks[ci].first_position;
	return load_chunk(r, ci, err);
}

/* Cursor to the first record without loading anything (open stays cheap
 * and a damaged first chunk is reported by the first read). */
static void rewind_lazy(struct strand_reader *r)
{
	r->ci = r->ri = 0;
	r->off = 0;
	r->prev_pos = r->nchunks ? r->chunks[0].first_position : 0;
}

/* After the last record of the current chunk: no bytes may be left. */
static strand_status leave_chunk(struct strand_reader *r, strand_error *err)
{
	const struct strand_chunk_info *c = &r->chunks[r->ci];
	if (r->off != r->dbuf.len)
		return strand_error_set(err, STRAND_ERR_CORRUPT, "chunk %" PRIu32 " at offset=%"
					PRIu64 ": %zu bytes after the last of its %" PRIu32 " records",
					r->ci, c->file_offset, r->dbuf.len - r->off, c->nrecords);
	return enter_chunk(r, r->ci + 1, err);
}

/* Read the record at the cursor of the loaded chunk (ri < nrecords):
 * decoded = false for an unknown optional record (skipped). */
static strand_status read_one(struct strand_reader *r, bool *decoded, strand_error *err)
{
	uint32_t ri = r->ri;
	const uint8_t *p;
	uint32_t len;
	strand_status st = take_record(r, &p, &len, err);
	if (st != STRAND_OK)
		return st;
	if (!type_known(r->rec.type)) {
		if (!(r->rec.type & TF_REC_OPTIONAL))
			return strand_error_set(err, STRAND_ERR_CORRUPT, "chunk %" PRIu32
						" at offset=%" PRIu64 ": record %" PRIu32
						": unknown record type 0x%04" PRIx32
						" (not optional)", r->ci,
						r->chunks[r->ci].file_offset, ri, r->rec.type);
		*decoded = false;
		return STRAND_OK;
	}
	tf_arena_reset(&r->arena);
	st = tf_record_decode(&r->rec, p, len, &r->arena, r->newer_minor, err);
	if (st != STRAND_OK)
		return strand_error_wrap(err, st, "chunk %" PRIu32 " at offset=%" PRIu64
					 ": record %" PRIu32 " (position=%" PRIu64 ")",
					 r->ci, r->chunks[r->ci].file_offset, ri,
					 r->rec.position);
	*decoded = true;
	return STRAND_OK;
}

/* Next record, including unknown optional ones (decoded = false). */
static strand_status next_any(struct strand_reader *r, bool *decoded, strand_error *err)
{
	strand_status st;
	while (r->ci < r->nchunks) {
		if (r->loaded != r->ci) {
			uint32_t ri = r->ri;
			size_t off = r->off;
			st = load_chunk(r, r->ci, err);
			if (st != STRAND_OK)
				return st;
			r->ri = ri;
			r->off = off;
		}
		if (r->ri == r->chunks[r->ci].nrecords) {
			st = leave_chunk(r, err);
			if (st != STRAND_OK)
				return st;
			continue;
		}
		return read_one(r, decoded, err);
	}
	return STRAND_END;
}

strand_status strand_reader_next(struct strand_reader *r, const struct strand_record **rec,
				 strand_error *err)
{
	for (;;) {
		bool decoded;
		strand_status st = next_any(r, &decoded, err);
		if (st != STRAND_OK)
			return st;
		if (decoded) {
			*rec = &r->rec;
			return STRAND_OK;
		}
	}
}

/* Skip the header walk of records [ri, target) in the loaded chunk. */
static strand_status skip_to(struct strand_reader *r, uint32_t target, strand_error *err)
{
	while (r->ri < target) {
		const uint8_t *p;
		uint32_t len;
		strand_status st = take_record(r, &p, &len, err);
		if (st != STRAND_OK)
			return st;
	}
	return STRAND_OK;
}

/* Scan the chunks from the header on (no usable footer): keep every chunk
 * whose header, payload checksum and records are intact, stop at the
 * first that is not. */
static strand_status scan_chunks(struct strand_reader *r, strand_error *err)
{
	uint64_t off = r->hdr_size, prevlast = 0;
	uint32_t cap = 0;
	char why[300] = "end of file";
	memset(&r->sum, 0, sizeof r->sum);
	while (off < r->len) {
		if (r->len - off < TF_CHUNK_HEADER_SIZE) {
			snprintf(why, sizeof why, "incomplete chunk header (%" PRIu64 " bytes)",
				 r->len - off);
			break;
		}
		const uint8_t *h;
		strand_status st = fetch(r, off, TF_CHUNK_HEADER_SIZE, &r->cbuf, &h, err);
		if (st != STRAND_OK)
			return st;
		if (memcmp(h, TF_INDEX_MAGIC, 4) == 0) {
			snprintf(why, sizeof why, "index reached");
			break;
		}
		struct tf_chunk_header ch;
		if (!tf_chunk_header_decode(h, &ch, why, sizeof why))
			break;
		if (ch.compressed > r->len - off - TF_CHUNK_HEADER_SIZE) {
			snprintf(why, sizeof why, "incomplete chunk: payload of %" PRIu32
				 " bytes, %" PRIu64 " left in the file", ch.compressed,
				 r->len - off - TF_CHUNK_HEADER_SIZE);
			break;
		}
		if (ch.first_position < prevlast) {
			snprintf(why, sizeof why, "chunk positions go back");
			break;
		}
		if (r->nchunks == cap) {
			uint32_t nc = cap ? cap * 2 : 16;
			struct strand_chunk_info *c = realloc(r->chunks, nc * sizeof *c);
			if (!c)
				return strand_error_set(err, STRAND_ERR_NOMEM,
							"cannot allocate the chunk list");
			r->chunks = c;
			cap = nc;
		}
		struct strand_chunk_info *c = &r->chunks[r->nchunks];
		*c = (struct strand_chunk_info){ off, ch.compressed, ch.uncompressed,
						 ch.nrecords, ch.flags, ch.first_position,
						 ch.last_position };
		/* Walk its records to count them by type. */
		strand_error e;
		uint64_t counts[STRAND_REC_TYPE_MAX] = { 0 };
		uint32_t i = r->nchunks;
		r->nchunks++;
		st = enter_chunk(r, i, &e);
		while (st == STRAND_OK && r->ri < c->nrecords) {
			const uint8_t *p;
			uint32_t len;
			st = take_record(r, &p, &len, &e);
			if (st == STRAND_OK && r->rec.type < STRAND_REC_TYPE_MAX)
				counts[r->rec.type]++;
		}
		if (st == STRAND_OK && r->off != r->dbuf.len)
			st = strand_error_set(&e, STRAND_ERR_CORRUPT, "bytes after the last record");
		if (st == STRAND_ERR_NOMEM || st == STRAND_ERR_IO) {
			*err = e;
			return st;
		}
		if (st != STRAND_OK) {
			r->nchunks--;
			snprintf(why, sizeof why, "%.250s", e.msg);
			break;
		}
		for (int t = 0; t < STRAND_REC_TYPE_MAX; t++)
			r->sum.count_by_type[t] += counts[t];
		r->sum.nrecords += c->nrecords;
		r->sum.uncompressed_size += c->uncompressed;
		r->sum.last_position = c->last_position;
		prevlast = c->last_position;
		off += TF_CHUNK_HEADER_SIZE + c->compressed;
	}
	r->index_offset = off;
	r->sum.complete = r->sum.count_by_type[STRAND_REC_PROCESS_EXIT] > 0;
	size_t n = strlen(r->footer_problem);
	snprintf(r->footer_problem + n, sizeof r->footer_problem - n,
		 "; %" PRIu32 " complete chunks readable, ending at offset=%" PRIu64
		 " (scan stopped: %s)", r->nchunks, off, why);
	return STRAND_OK;
}

/* ===================================================================== */
/* Open / close                                                           */
/* ===================================================================== */

static strand_status open_common(struct strand_reader *r, strand_error *err)
{
	strand_status st = parse_header(r, err);
	if (st != STRAND_OK)
		return st;
	r->loaded = NO_CHUNK;
	strand_error fatal = { .status = STRAND_OK }; /* NOMEM or IO: no scan helps */
	if (!parse_footer(r, &fatal)) {
		if (fatal.status != STRAND_OK) {
			*err = fatal;
			return fatal.status;
		}
		st = scan_chunks(r, err);
		if (st != STRAND_OK)
			return st;
		r->sum.truncated = true;
	}
	r->sum.file_size = r->len;
	r->sum.nchunks = r->nchunks;
	rewind_lazy(r);
	return STRAND_OK;
}

strand_status strand_reader_open_mem(const void *buf, size_t len, struct strand_reader **out,
				     strand_error *err)
{
	strand_error scratch;
	if (!err)
		err = &scratch;
	*out = NULL;
	struct strand_reader *r = calloc(1, sizeof *r);
	if (!r)
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate a reader");
	r->buf = buf ? buf : (const uint8_t *)"";
	r->fd = -1;
	r->len = len;
	strand_status st = open_common(r, err);
	if (st != STRAND_OK) {
		strand_reader_close(r);
		return st;
	}
	*out = r;
	return STRAND_OK;
}

strand_status strand_reader_open(const char *path, struct strand_reader **out,
				 strand_error *err)
{
	strand_error scratch;
	if (!err)
		err = &scratch;
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strand_error_set(err, STRAND_ERR_IO, "cannot open %s: %s", path,
					strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return strand_error_set(err, STRAND_ERR_IO, "cannot open %s: not a regular file",
					path);
	}
	if (sb.st_size == 0) {
		close(fd);
		return strand_error_set(err, STRAND_ERR_CORRUPT, "%s: empty file", path);
	}
	struct strand_reader *r = calloc(1, sizeof *r);
	if (!r) {
		close(fd);
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate a reader");
	}
	r->fd = fd;
	r->len = (size_t)sb.st_size;
	strand_status st = open_common(r, err);
	if (st != STRAND_OK) {
		strand_reader_close(r);
		return st;
	}
	*out = r;
	return STRAND_OK;
}

void strand_reader_close(struct strand_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	ZSTD_freeDCtx(r->dctx);
	tf_buf_free(&r->hbuf);
	tf_buf_free(&r->cbuf);
	tf_buf_free(&r->dbuf);
	tf_arena_free(&r->arena);
	free(r->chunks);
	free(r);
}

const struct strand_trace_info *strand_reader_info(const struct strand_reader *r)
{
	return &r->info;
}

const struct strand_trace_summary *strand_reader_summary(const struct strand_reader *r)
{
	return &r->sum;
}

const struct strand_chunk_info *strand_reader_chunks(const struct strand_reader *r,
						     uint32_t *n)
{
	*n = r->nchunks;
	return r->chunks;
}

/* ===================================================================== */
/* Cursor                                                                 */
/* ===================================================================== */

void strand_reader_tell(const struct strand_reader *r, struct strand_cursor *c)
{
	if (r->ci < r->nchunks && r->ri == r->chunks[r->ci].nrecords) {
		c->chunk = r->ci + 1;
		c->record = 0;
	} else {
		c->chunk = r->ci;
		c->record = r->ri;
	}
}

strand_status strand_reader_seek(struct strand_reader *r, const struct strand_cursor *c,
				 strand_error *err)
{
	if (c->chunk > r->nchunks || (c->chunk == r->nchunks && c->record != 0) ||
	    (c->chunk < r->nchunks && c->record >= r->chunks[c->chunk].nrecords))
		return strand_error_set(err, STRAND_ERR_INVALID,
					"seek: cursor chunk=%" PRIu32 " record=%" PRIu32
					" is outside the trace (%" PRIu32 " chunks)", c->chunk,
					c->record, r->nchunks);
	strand_status st = enter_chunk(r, c->chunk, err);
	if (st == STRAND_OK && c->chunk < r->nchunks)
		st = skip_to(r, c->record, err);
	return st;
}

strand_status strand_reader_seek_position(struct strand_reader *r, uint64_t pos,
					  strand_error *err)
{
	/* first chunk whose last position is >= pos */
	uint32_t lo = 0, hi = r->nchunks;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (r->chunks[mid].last_position < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	strand_status st = enter_chunk(r, lo, err);
	if (st != STRAND_OK)
		return st;
	if (lo == r->nchunks)
		return STRAND_END;
	/* walk record headers until one at >= pos; then step back onto it */
	for (;;) {
		uint32_t ri = r->ri;
		size_t off = r->off;
		uint64_t prev = r->prev_pos;
		const uint8_t *p;
		uint32_t len;
		st = take_record(r, &p, &len, err);
		if (st != STRAND_OK)
			return st;
		if (r->rec.position >= pos) {
			r->ri = ri;
			r->off = off;
			r->prev_pos = prev;
			return STRAND_OK;
		}
	}
}

/* ===================================================================== */
/* Verify                                                                 */
/* ===================================================================== */

static strand_status verify_chunk_flags(struct strand_reader *r, uint32_t ri, bool snap,
					strand_error *err)
{
	const struct strand_chunk_info *c = &r->chunks[r->ci];
	bool kf = r->rec.type == STRAND_REC_KEYFRAME;
	const char *bad = NULL;
	if (kf && ri != 0)
		bad = "a keyframe record must be the first record of its chunk";
	else if (ri == 0 && kf != ((c->flags & STRAND_CHUNK_F_KEYFRAME) != 0))
		bad = kf ? "chunk starts with a keyframe but lacks the keyframe flag"
			 : "chunk has the keyframe flag but does not start with a keyframe";
	else if (snap != ((c->flags & STRAND_CHUNK_F_SNAPSHOT) != 0))
		bad = snap ? "snapshot record in a chunk without the snapshot flag"
			   : "event record in a chunk with the snapshot flag";
	else if (c->flags & ~(uint32_t)(STRAND_CHUNK_F_KEYFRAME | STRAND_CHUNK_F_SNAPSHOT))
		bad = "chunk flags have unknown bits";
	if (!bad)
		return STRAND_OK;
	return strand_error_set(err, STRAND_ERR_CORRUPT, "chunk %" PRIu32 " at offset=%" PRIu64
				": record %" PRIu32 " (type=%s, position=%" PRIu64 "): %s",
				r->ci, c->file_offset, ri, strand_rec_type_str(r->rec.type),
				r->rec.position, bad);
}

strand_status strand_reader_verify(struct strand_reader *r, strand_error *err)
{
	strand_error scratch;
	if (!err)
		err = &scratch;
	struct tf_checker chk;
	tf_checker_init(&chk, r->info.flags);
	uint64_t counts[STRAND_REC_TYPE_MAX] = { 0 }, nrec = 0, unc = 0, last = 0;
	bool complete = false;
	strand_status st = STRAND_OK;
	for (uint32_t ci = 0; st == STRAND_OK && ci < r->nchunks; ci++) {
		st = enter_chunk(r, ci, err);
		unc += r->chunks[ci].uncompressed;
		for (uint32_t ri = 0; st == STRAND_OK && ri < r->chunks[ci].nrecords; ri++) {
			bool decoded = false, snap = chk.in_snapshot;
			st = read_one(r, &decoded, err);
			if (st != STRAND_OK)
				break;
			nrec++;
			last = r->rec.position;
			if (!decoded)
				continue;
			counts[r->rec.type]++;
			complete = r->rec.type == STRAND_REC_PROCESS_EXIT;
			st = verify_chunk_flags(r, ri, snap, err);
			if (st != STRAND_OK)
				break;
			st = tf_check_record(&chk, &r->rec, err);
			if (st == STRAND_ERR_INVALID) {
				st = err->status = STRAND_ERR_CORRUPT;
				strand_error_wrap(err, st, "chunk %" PRIu32 " at offset=%" PRIu64
						  ": record %" PRIu32 " (type=%s, position=%" PRIu64
						  ")", ci, r->chunks[ci].file_offset, ri,
						  strand_rec_type_str(r->rec.type), r->rec.position);
			}
		}
		if (st == STRAND_OK && r->off != r->dbuf.len)
			st = strand_error_set(err, STRAND_ERR_CORRUPT, "chunk %" PRIu32
					      " at offset=%" PRIu64 ": %zu bytes after the last of "
					      "its %" PRIu32 " records", ci, r->chunks[ci].file_offset,
					      r->dbuf.len - r->off, r->chunks[ci].nrecords);
	}
	if (st == STRAND_END)
		st = STRAND_OK;
	if (st == STRAND_OK) {
		st = tf_check_finish(&chk, err);
		if (st == STRAND_ERR_INVALID) {
			st = err->status = STRAND_ERR_CORRUPT;
			strand_error_wrap(err, st, "end of trace");
		}
	}
	tf_checker_free(&chk);
	if (st == STRAND_OK && !r->sum.truncated) {
		const char *what = NULL;
		uint64_t a = 0, b = 0;
		if (nrec != r->sum.nrecords)
			what = "nrecords", a = r->sum.nrecords, b = nrec;
		else if (last != r->sum.last_position)
			what = "last position", a = r->sum.last_position, b = last;
		else if (unc != r->sum.uncompressed_size)
			what = "uncompressed size", a = r->sum.uncompressed_size, b = unc;
		else if (complete != r->sum.complete)
			what = "complete flag", a = r->sum.complete, b = complete;
		for (int t = 0; !what && t < STRAND_REC_TYPE_MAX; t++)
			if (counts[t] != r->sum.count_by_type[t])
				what = strand_rec_type_str((unsigned)t), a = r->sum.count_by_type[t],
				b = counts[t];
		if (what)
			st = strand_error_set(err, STRAND_ERR_CORRUPT, "index at offset=%" PRIu64
					      ": %s=%" PRIu64 " but the chunks hold %" PRIu64,
					      r->index_offset, what, a, b);
	}
	if (st == STRAND_OK && r->sum.truncated)
		st = strand_error_set(err, STRAND_ERR_TRUNCATED, "trace is truncated: %s",
				      r->footer_problem);
	rewind_lazy(r);
	return st;
}
