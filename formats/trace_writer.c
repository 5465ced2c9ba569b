/*
 * Streaming trace writer (trace.h).  Layout: docs/trace-format.md.
 *
 * Memory is bounded by the chunk size (plus the largest single record):
 * records are encoded into one pending chunk buffer, compressed and
 * written when it reaches chunk_size.  The footer index is not kept in
 * memory either: strand_writer_close() reads the chunk headers back from
 * the file to build it, so a trace of any length costs the same memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "formats/trace_format.h"

struct strand_writer {
	int fd;                          /* -1 once closed */
	char *path;                      /* owned, for messages */
	struct strand_trace_info info;
	uint32_t chunk_size;             /* flush threshold, uncompressed bytes */
	int zstd_level;
	ZSTD_CCtx *cctx;
	struct tf_buf chunk;             /* pending records, uncompressed */
	struct tf_buf rec;               /* one encoded record */
	struct tf_buf out;               /* compressed chunk */
	struct tf_chunk_header pend;     /* header fields of the pending chunk */
	struct tf_checker check;
	uint64_t offset;                 /* file offset where the next chunk goes */
	uint64_t nrecords;               /* records accepted */
	uint64_t counts[STRAND_REC_TYPE_MAX];
	uint64_t last_position;
	uint64_t uncompressed_total;     /* sum of written chunk payloads */
	uint32_t nchunks;                /* chunks written */
	bool complete;                   /* PROCESS_EXIT accepted */
	bool unchecked;                  /* tests only: skip tf_check_record() */
	strand_error failure;            /* first I/O failure; status OK if none */
};


static strand_status write_all(struct strand_writer *w, const void *p, size_t n,
			       uint64_t off, strand_error *err)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = pwrite(w->fd, b, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			strand_error_set(&w->failure, STRAND_ERR_IO,
					 "cannot write %s at offset=%" PRIu64 ": %s", w->path,
					 off, k < 0 ? strerror(errno) : "short write");
			*err = w->failure;
			return STRAND_ERR_IO;
		}
		b += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return STRAND_OK;
}

static void encode_header(uint8_t h[TF_HEADER_SIZE], const struct strand_trace_info *info)
{
	memset(h, 0, TF_HEADER_SIZE);
	memcpy(h, TF_MAGIC, 8);
	tf_put16(h + 8, STRAND_FORMAT_MAJOR);
	tf_put16(h + 10, info->format_minor);
	tf_put16(h + 12, (uint16_t)info->arch);
	tf_put16(h + 14, (uint16_t)info->abi);
	tf_put32(h + 16, info->flags);
	tf_put32(h + 20, TF_HEADER_SIZE);
	tf_put64(h + 24, info->created_unix_ns);
	memcpy(h + 32, info->recorder, strnlen(info->recorder, TF_HDR_RECORDER_LEN - 1));
	memcpy(h + 64, info->recorder_version,
	       strnlen(info->recorder_version, TF_HDR_RECVER_LEN - 1));
	tf_put64(h + TF_HEADER_SIZE - 8, XXH3_64bits(h, TF_HEADER_SIZE - 8));
}

strand_status strand_writer_open(const char *path, const struct strand_trace_info *info,
				 const struct strand_writer_options *opt,
				 struct strand_writer **out, strand_error *err)
{
	strand_error scratch;
	if (!err)
		err = &scratch;
	*out = NULL;
	if (!path || !info)
		return strand_error_set(err, STRAND_ERR_INVALID, "writer: NULL path or info");
	if (info->arch != STRAND_ARCH_X86_32 && info->arch != STRAND_ARCH_X86_64)
		return strand_error_set(err, STRAND_ERR_INVALID, "writer: arch=%d (expected x86-32 or x86-64)",
					(int)info->arch);
	if ((unsigned)info->abi > STRAND_ABI_LINUX)
		return strand_error_set(err, STRAND_ERR_INVALID, "writer: abi=%d unknown", (int)info->abi);
	if (info->flags & TF_FLAGS_REQUIRED_MASK & ~TF_FLAGS_KNOWN_REQUIRED)
		return strand_error_set(err, STRAND_ERR_INVALID, "writer: flags=0x%" PRIx32
					" has unknown bits", info->flags);
	if (opt && opt->chunk_size > TF_CHUNK_MAX_UNCOMPRESSED / 2)
		return strand_error_set(err, STRAND_ERR_INVALID, "writer: chunk_size=%" PRIu32
					" exceeds %u", opt->chunk_size, TF_CHUNK_MAX_UNCOMPRESSED / 2);

	strand_status st = STRAND_ERR_NOMEM;
	struct strand_writer *w = calloc(1, sizeof *w);
	if (!w)
		return strand_error_set(err, STRAND_ERR_NOMEM, "writer: out of memory");
	w->fd = -1;
	w->info = *info;
	w->info.format_major = STRAND_FORMAT_MAJOR;
	w->info.format_minor = 0; /* raised by needs_minor() as features are written */
	w->chunk_size = opt && opt->chunk_size ? opt->chunk_size : TF_CHUNK_DEFAULT;
	w->zstd_level = opt && opt->zstd_level ? opt->zstd_level : 3;
	w->path = strdup(path);
	w->cctx = ZSTD_createCCtx();
	tf_checker_init(&w->check, info->flags);
	if (!w->path || !w->cctx) {
		strand_error_set(err, st, "writer: out of memory");
		goto fail;
	}
	w->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		st = strand_error_set(err, STRAND_ERR_IO, "cannot create %s: %s", path,
				      strerror(errno));
		goto fail;
	}
	uint8_t h[TF_HEADER_SIZE];
	encode_header(h, &w->info);
	st = write_all(w, h, sizeof h, 0, err);
	if (st != STRAND_OK)
		goto fail;
	w->offset = TF_HEADER_SIZE;
	*out = w;
	return STRAND_OK;
fail:
	if (w->fd >= 0)
		close(w->fd);
	tf_checker_free(&w->check);
	ZSTD_freeCCtx(w->cctx);
	free(w->path);
	free(w);
	return st;
}

/* Compress and write the pending chunk, if any. */
static strand_status flush_chunk(struct strand_writer *w, strand_error *err)
{
	if (w->pend.nrecords == 0)
		return STRAND_OK;
	size_t bound = ZSTD_compressBound(w->chunk.len);
	w->out.len = 0;
	if (!tf_buf_reserve(&w->out, bound))
		return strand_error_set(err, STRAND_ERR_NOMEM, "writer: cannot allocate %zu bytes",
					bound);
	size_t n = ZSTD_compressCCtx(w->cctx, w->out.p, bound, w->chunk.p, w->chunk.len,
				     w->zstd_level);
	if (ZSTD_isError(n))
		return strand_error_set(err, STRAND_ERR_IO, "writer: zstd: %s",
					ZSTD_getErrorName(n));
	w->pend.compressed = (uint32_t)n;
	w->pend.uncompressed = (uint32_t)w->chunk.len;
	w->pend.codec = TF_CODEC_ZSTD;
	w->pend.payload_hash = XXH3_64bits(w->out.p, n);
	uint8_t h[TF_CHUNK_HEADER_SIZE];
	tf_chunk_header_encode(h, &w->pend);
	strand_status st = write_all(w, h, sizeof h, w->offset, err);
	if (st == STRAND_OK)
		st = write_all(w, w->out.p, n, w->offset + sizeof h, err);
	if (st != STRAND_OK)
		return st;
	w->offset += sizeof h + n;
	w->uncompressed_total += w->chunk.len;
	w->nchunks++;
	w->chunk.len = 0;
	memset(&w->pend, 0, sizeof w->pend);
	/* Keep memory bounded after one huge record. */
	if (w->chunk.cap > 4 * (size_t)w->chunk_size) {
		tf_buf_free(&w->chunk);
		tf_buf_free(&w->out);
	}
	return STRAND_OK;
}

static strand_status put_one(struct strand_writer *w, const struct strand_record *rec,
			     strand_error *err);

/* A REGION larger than TF_REGION_SPLIT is written as consecutive REGION
 * records of at most that size (docs/trace-format.md section 9), so a
 * recorder may hand over a mapping of any size. */
static strand_status put_split_region(struct strand_writer *w, const struct strand_record *rec,
				      strand_error *err)
{
	const struct strand_mapchange *m = &rec->u.region;
	struct strand_record part = *rec;
	for (uint64_t off = 0; off < m->size; off += TF_REGION_SPLIT) {
		part.u.region.addr = m->addr + off;
		part.u.region.size = m->size - off < TF_REGION_SPLIT ? m->size - off : TF_REGION_SPLIT;
		part.u.region.data = m->data ? m->data + off : NULL;
		strand_status st = put_one(w, &part, err);
		if (st != STRAND_OK)
			return st;
	}
	return STRAND_OK;
}

strand_status strand_writer_put(struct strand_writer *w, const struct strand_record *rec,
				strand_error *err)
{
	strand_error scratch;
	if (!err)
		err = &scratch;
	if (!w || !rec)
		return strand_error_set(err, STRAND_ERR_INVALID, "writer: NULL argument");
	if (rec->type == STRAND_REC_REGION && rec->u.region.size > TF_REGION_SPLIT &&
	    rec->u.region.addr % 4096 == 0 && rec->u.region.size % 4096 == 0 &&
	    rec->u.region.addr + rec->u.region.size > rec->u.region.addr)
		return put_split_region(w, rec, err);
	return put_one(w, rec, err);
}

/* The lowest minor version a file holding rec must say. */
static uint16_t needs_minor(const struct strand_record *rec)
{
	if (rec->type == STRAND_REC_NOTE && rec->u.note.key &&
	    (!strcmp(rec->u.note.key, "process") || !strcmp(rec->u.note.key, "process-data")))
		return TF_MINOR_PROCESS_TREE;
	return 0;
}

static strand_status put_one(struct strand_writer *w, const struct strand_record *rec,
			     strand_error *err)
{
	if (w->failure.status != STRAND_OK) {
		*err = w->failure;
		return w->failure.status;
	}
	w->rec.len = 0;
	strand_status st = tf_record_encode(&w->rec, rec, err);
	bool was_snapshot = w->check.in_snapshot;
	if (st == STRAND_OK && !w->unchecked)
		st = tf_check_record(&w->check, rec, err);
	if (st != STRAND_OK)
		return strand_error_wrap(err, st, "cannot write record %" PRIu64 " (type=%s, position=%"
					 PRIu64 ")", w->nrecords, strand_rec_type_str(rec->type),
					 rec->position);

	/* A key frame starts its chunk, so that seeking finds it first. */
	if (w->pend.nrecords &&
	    (rec->type == STRAND_REC_KEYFRAME || w->chunk.len + w->rec.len > w->chunk_size ||
	     was_snapshot != ((w->pend.flags & STRAND_CHUNK_F_SNAPSHOT) != 0))) {
		st = flush_chunk(w, err);
		if (st != STRAND_OK)
			return st;
	}
	if (!tf_buf_reserve(&w->chunk, w->rec.len))
		return strand_error_set(err, STRAND_ERR_NOMEM, "writer: cannot allocate %zu bytes",
					w->rec.len);
	memcpy(w->chunk.p + w->chunk.len, w->rec.p, w->rec.len);
	w->chunk.len += w->rec.len;
	if (w->pend.nrecords == 0) {
		w->pend.first_position = rec->position;
		w->pend.flags = (was_snapshot ? STRAND_CHUNK_F_SNAPSHOT : 0) |
				(rec->type == STRAND_REC_KEYFRAME ? STRAND_CHUNK_F_KEYFRAME : 0);
	}
	w->pend.last_position = rec->position;
	w->pend.nrecords++;
	w->nrecords++;
	uint16_t minor = needs_minor(rec);
	if (minor > w->info.format_minor)
		w->info.format_minor = minor;
	if (rec->type < STRAND_REC_TYPE_MAX)
		w->counts[rec->type]++;
	if (rec->position > w->last_position)
		w->last_position = rec->position;
	if (rec->type == STRAND_REC_PROCESS_EXIT)
		w->complete = true;
	if (w->unchecked && rec->type == STRAND_REC_SNAPSHOT_END)
		w->check.in_snapshot = false; /* keep chunk flags right */
	/* The snapshot gets chunks of its own: replay loads them together. */
	if (w->chunk.len >= w->chunk_size || rec->type == STRAND_REC_SNAPSHOT_END)
		return flush_chunk(w, err);
	return STRAND_OK;
}

strand_status strand_writer_flush(struct strand_writer *w, strand_error *err)
{
	strand_error scratch;
	if (!err)
		err = &scratch;
	if (w->failure.status != STRAND_OK) {
		*err = w->failure;
		return w->failure.status;
	}
	return flush_chunk(w, err);
}

/* Index + trailer after the last chunk.  The chunk entries are rebuilt
 * from the chunk headers already in the file (constant memory). */
static strand_status write_index(struct strand_writer *w, strand_error *err)
{
	strand_status st = STRAND_OK;
	XXH3_state_t *hs = XXH3_createState();
	if (!hs)
		return strand_error_set(err, STRAND_ERR_NOMEM, "writer: out of memory");
	XXH3_64bits_reset(hs);

	uint64_t index_off = w->offset, pos = w->offset;
	uint8_t ih[TF_INDEX_HEADER_SIZE] = { 0 };
	memcpy(ih, TF_INDEX_MAGIC, 4);
	tf_put32(ih + 4, w->nchunks);
	tf_put32(ih + 8, STRAND_REC_TYPE_MAX);
	tf_put32(ih + 12, w->complete ? TF_INDEX_F_COMPLETE : 0);
	tf_put64(ih + 16, w->nrecords);
	tf_put64(ih + 24, w->last_position);
	tf_put64(ih + 32, w->uncompressed_total);
	XXH3_64bits_update(hs, ih, sizeof ih);
	st = write_all(w, ih, sizeof ih, pos, err);
	pos += sizeof ih;

	uint8_t batch[TF_INDEX_ENTRY_SIZE * 100];
	size_t nb = 0;
	uint64_t coff = TF_HEADER_SIZE;
	for (uint32_t i = 0; st == STRAND_OK && i < w->nchunks; i++) {
		uint8_t h[TF_CHUNK_HEADER_SIZE];
		struct tf_chunk_header ch;
		char why[256];
		if (pread(w->fd, h, sizeof h, (off_t)coff) != (ssize_t)sizeof h ||
		    !tf_chunk_header_decode(h, &ch, why, sizeof why)) {
			st = strand_error_set(err, STRAND_ERR_IO, "cannot read back chunk %" PRIu32
					      " of %s at offset=%" PRIu64, i, w->path, coff);
			break;
		}
		uint8_t *e = batch + nb;
		tf_put64(e, coff);
		tf_put32(e + 8, ch.compressed);
		tf_put32(e + 12, ch.uncompressed);
		tf_put32(e + 16, ch.nrecords);
		tf_put32(e + 20, ch.flags);
		tf_put64(e + 24, ch.first_position);
		tf_put64(e + 32, ch.last_position);
		nb += TF_INDEX_ENTRY_SIZE;
		coff += TF_CHUNK_HEADER_SIZE + ch.compressed;
		if (nb == sizeof batch || i + 1 == w->nchunks) {
			XXH3_64bits_update(hs, batch, nb);
			st = write_all(w, batch, nb, pos, err);
			pos += nb;
			nb = 0;
		}
	}
	uint8_t counts[8 * STRAND_REC_TYPE_MAX];
	for (int t = 0; t < STRAND_REC_TYPE_MAX; t++)
		tf_put64(counts + 8 * t, w->counts[t]);
	if (st == STRAND_OK) {
		XXH3_64bits_update(hs, counts, sizeof counts);
		st = write_all(w, counts, sizeof counts, pos, err);
		pos += sizeof counts;
	}
	if (st == STRAND_OK) {
		uint8_t tr[TF_TRAILER_SIZE];
		tf_put64(tr, index_off);
		tf_put64(tr + 8, pos - index_off);
		tf_put64(tr + 16, XXH3_64bits_digest(hs));
		memcpy(tr + 24, TF_TRAILER_MAGIC, 8);
		st = write_all(w, tr, sizeof tr, pos, err);
	}
	XXH3_freeState(hs);
	return st;
}

static void writer_free(struct strand_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	tf_checker_free(&w->check);
	ZSTD_freeCCtx(w->cctx);
	tf_buf_free(&w->chunk);
	tf_buf_free(&w->rec);
	tf_buf_free(&w->out);
	free(w->path);
	free(w);
}

strand_status strand_writer_close(struct strand_writer *w, strand_error *err)
{
	strand_error scratch;
	if (!err)
		err = &scratch;
	if (!w)
		return STRAND_OK;
	strand_status st = w->failure.status;
	if (st != STRAND_OK)
		*err = w->failure;
	if (st == STRAND_OK)
		st = flush_chunk(w, err);
	if (st == STRAND_OK && !w->unchecked) {
		st = tf_check_finish(&w->check, err);
		if (st != STRAND_OK)
			strand_error_wrap(err, st, "cannot close trace %s", w->path);
	}
	if (st == STRAND_OK)
		st = write_index(w, err);
	if (st == STRAND_OK && w->info.format_minor > 0) {
		/* the file uses a newer feature than the header said at open */
		uint8_t h[TF_HEADER_SIZE];
		encode_header(h, &w->info);
		st = write_all(w, h, sizeof h, 0, err);
	}
	if (st == STRAND_OK && close(w->fd) != 0)
		st = strand_error_set(err, STRAND_ERR_IO, "cannot close %s: %s", w->path,
				      strerror(errno));
	else if (st != STRAND_OK)
		close(w->fd);
	w->fd = -1;
	writer_free(w);
	return st;
}

void strand_writer_abort(struct strand_writer *w)
{
	if (!w)
		return;
	strand_error e;
	if (w->failure.status == STRAND_OK)
		flush_chunk(w, &e);
	writer_free(w);
}

/* ---- test hook (trace_format.h) ----------------------------------- */

void tf_writer_set_unchecked(struct strand_writer *w, bool unchecked)
{
	w->unchecked = unchecked;
}
