/*
 * libFuzzer harness for the trace reader: strand_reader_open_mem, then
 * strand_reader_next until END or an error (touching every byte a record
 * points to, so ASan checks the pointers), seeks, then strand_reader_verify.
 *
 * Checksums would reject almost every mutation before it reaches the
 * parsers, so the first input byte selects how the rest is used:
 *   0  the bytes are a trace file, used as they are;
 *   1  the bytes are a trace file whose checksums the harness recomputes
 *      first (header, each chunk header and payload, index), so mutations
 *      of sizes, counts and offsets reach the container parsers;
 *   2  the bytes are a record stream (uncompressed chunk payloads): the
 *      harness wraps it in a valid file (header, zstd chunks cut where the
 *      writer would cut them, index with the right counts, trailer), so
 *      mutations reach the record decoder and the checker.  The byte after
 *      the selector gives header flags (bit 0), bits to flip in the first
 *      chunk's flags (bits 1-2) and, in mode 3, records per chunk (bits
 *      3-5, plus 1);
 *   3  as 2, with at most 1..8 records per chunk (cross-chunk order, seeks).
 * Seeds: fuzz/corpus/ (written by tests/test_trace.c, see fuzz/run.sh).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "formats/trace_format.h"
#include "strand/trace.h"

static volatile uint64_t sink;

/* One compression context for the whole run: creating one per input would
 * dominate the time of modes 2 and 3. */
static ZSTD_CCtx *cctx;

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += b[i];
	sink += s;
}

static void touch_str(const char *s)
{
	touch(s, strlen(s) + 1);
}

static void touch_fx(const struct strand_effects *fx)
{
	if (fx->cpu)
		touch(fx->cpu, sizeof *fx->cpu);
	touch(fx->regs, fx->nregs * sizeof *fx->regs);
	for (uint32_t i = 0; i < fx->nmaps; i++) {
		touch_str(fx->maps[i].name);
		if (fx->maps[i].data)
			touch(fx->maps[i].data, (size_t)fx->maps[i].size);
	}
	for (uint32_t i = 0; i < fx->nwrites; i++)
		touch(fx->writes[i].data, fx->writes[i].len);
}

static void touch_record(const struct strand_record *r)
{
	switch (r->type) {
	case STRAND_REC_MODULE:
		touch_str(r->u.module.name);
		touch_str(r->u.module.path);
		for (uint32_t i = 0; i < r->u.module.nsyms; i++) {
			touch_str(r->u.module.syms[i].name);
			touch_str(r->u.module.syms[i].demangled);
		}
		break;
	case STRAND_REC_REGION:
		touch_str(r->u.region.name);
		if (r->u.region.data)
			touch(r->u.region.data, (size_t)r->u.region.size);
		break;
	case STRAND_REC_THREAD:
		touch_str(r->u.thread.name);
		break;
	case STRAND_REC_NOTE:
		touch_str(r->u.note.key);
		touch(r->u.note.data, r->u.note.len);
		break;
	case STRAND_REC_SYSCALL:
		touch_fx(&r->u.syscall.fx);
		break;
	case STRAND_REC_NONDET:
		touch_fx(&r->u.nondet.fx);
		break;
	case STRAND_REC_MEMORY:
		touch_fx(&r->u.memory);
		break;
	case STRAND_REC_EXCEPTION:
		touch_fx(&r->u.exception.fx);
		break;
	case STRAND_REC_OUTPUT:
		touch(r->u.output.data, r->u.output.len);
		break;
	case STRAND_REC_KEYFRAME:
		touch(r->u.keyframe.threads, r->u.keyframe.nthreads * sizeof *r->u.keyframe.threads);
		touch(r->u.keyframe.digests, r->u.keyframe.ndigests * sizeof *r->u.keyframe.digests);
		break;
	default:
		break;
	}
}

/* Mode 1: recompute every checksum the structure lets us find. */
static void fix_checksums(uint8_t *b, size_t len)
{
	if (len < TF_HEADER_SIZE)
		return;
	uint32_t hs = tf_get32(b + 20);
	if (hs < TF_HEADER_SIZE || hs > len || hs % 8)
		return;
	tf_put64(b + hs - 8, XXH3_64bits(b, hs - 8));
	size_t off = hs;
	while (len - off >= TF_CHUNK_HEADER_SIZE && memcmp(b + off, TF_CHUNK_MAGIC, 4) == 0) {
		uint32_t comp = tf_get32(b + off + 8);
		if (comp > len - off - TF_CHUNK_HEADER_SIZE)
			break;
		tf_put64(b + off + 40, XXH3_64bits(b + off + TF_CHUNK_HEADER_SIZE, comp));
		tf_put64(b + off + 48, XXH3_64bits(b + off, 48));
		off += TF_CHUNK_HEADER_SIZE + comp;
	}
	if (len - off >= TF_TRAILER_SIZE) {
		uint8_t *tr = b + len - TF_TRAILER_SIZE;
		uint64_t ioff = tf_get64(tr), isz = tf_get64(tr + 8);
		if (ioff <= len - TF_TRAILER_SIZE && isz <= len - TF_TRAILER_SIZE - ioff)
			tf_put64(tr + 16, XXH3_64bits(b + ioff, (size_t)isz));
	}
}

/* Modes 2 and 3: wrap a record stream into a file, cutting chunks where
 * the writer would (after SNAPSHOT_END, before a KEYFRAME) and, in mode 3,
 * every `per_chunk` records; chunk flags, index counts and totals are
 * computed from the records so that a valid stream makes a valid file.
 * Returns malloc'd bytes. */
static uint8_t *wrap_records(const uint8_t *p, size_t n, uint32_t per_chunk, size_t *outlen)
{
	if (n < 1)
		return NULL;
	uint8_t sel = p[0];
	p++, n--;
	size_t maxchunks = n / TF_RECORD_HEADER_SIZE + 1;
	size_t tail = TF_INDEX_HEADER_SIZE + maxchunks * TF_INDEX_ENTRY_SIZE +
		      8 * STRAND_REC_TYPE_MAX + TF_TRAILER_SIZE;
	size_t cap = TF_HEADER_SIZE + maxchunks * TF_CHUNK_HEADER_SIZE +
		     ZSTD_compressBound(n) + maxchunks * 64 + tail;
	uint8_t *b = calloc(1, cap);
	uint8_t *entries = calloc(maxchunks, TF_INDEX_ENTRY_SIZE);
	if (!b || !entries) {
		free(b);
		free(entries);
		return NULL;
	}
	memcpy(b, TF_MAGIC, 8);
	tf_put16(b + 8, STRAND_FORMAT_MAJOR);
	tf_put16(b + 10, STRAND_FORMAT_MINOR);
	tf_put16(b + 12, STRAND_ARCH_X86_64);
	tf_put16(b + 14, STRAND_ABI_LINUX);
	tf_put32(b + 16, sel & 1);
	tf_put32(b + 20, TF_HEADER_SIZE);
	tf_put64(b + TF_HEADER_SIZE - 8, XXH3_64bits(b, TF_HEADER_SIZE - 8));
	uint64_t counts[STRAND_REC_TYPE_MAX] = { 0 };
	size_t off = TF_HEADER_SIZE, in = 0;
	uint32_t nchunks = 0;
	uint64_t nrec_total = 0, last = 0;
	bool snapshot = true;
	uint32_t lasttype = 0;
	while (in < n || nchunks == 0) {
		size_t start = in;
		uint32_t nrec = 0, flags = 0;
		uint64_t first = 0;
		while (nrec < per_chunk && n - in >= TF_RECORD_HEADER_SIZE) {
			uint32_t type = tf_get16(p + in), pl = tf_get32(p + in + 16);
			uint64_t pos = tf_get64(p + in + 8);
			if (type == STRAND_REC_KEYFRAME && nrec)
				break; /* a key frame starts its chunk */
			if (nrec == 0) {
				first = pos;
				flags = (snapshot ? STRAND_CHUNK_F_SNAPSHOT : 0) |
					(type == STRAND_REC_KEYFRAME ? STRAND_CHUNK_F_KEYFRAME : 0);
			}
			last = pos;
			lasttype = type;
			nrec++;
			if (type < STRAND_REC_TYPE_MAX)
				counts[type]++;
			if (pl > n - in - TF_RECORD_HEADER_SIZE) {
				in = n;
				break;
			}
			in += TF_RECORD_HEADER_SIZE + pl;
			if (type == STRAND_REC_SNAPSHOT_END) {
				snapshot = false;
				break; /* the snapshot has chunks of its own */
			}
		}
		if (nrec == 0 || n - in < TF_RECORD_HEADER_SIZE)
			in = n; /* trailing bytes go with this chunk */
		if (nchunks == 0)
			flags ^= (uint32_t)(sel >> 1) & 3; /* explore lying flags too */
		uint8_t *ch = b + off;
		size_t comp = ZSTD_compressCCtx(cctx, ch + TF_CHUNK_HEADER_SIZE,
						cap - off - TF_CHUNK_HEADER_SIZE - tail,
						p + start, in - start, 1);
		if (ZSTD_isError(comp)) {
			free(b);
			free(entries);
			return NULL;
		}
		struct tf_chunk_header h = { flags, (uint32_t)comp, (uint32_t)(in - start), nrec,
					     TF_CODEC_ZSTD, first, last,
					     XXH3_64bits(ch + TF_CHUNK_HEADER_SIZE, comp) };
		tf_chunk_header_encode(ch, &h);
		uint8_t *e = entries + (size_t)nchunks * TF_INDEX_ENTRY_SIZE;
		tf_put64(e, off);
		tf_put32(e + 8, (uint32_t)comp);
		tf_put32(e + 12, (uint32_t)(in - start));
		tf_put32(e + 16, nrec);
		tf_put32(e + 20, flags);
		tf_put64(e + 24, first);
		tf_put64(e + 32, last);
		nchunks++;
		nrec_total += nrec;
		off += TF_CHUNK_HEADER_SIZE + comp;
		if (in >= n)
			break;
	}
	uint8_t *ix = b + off;
	memcpy(ix, TF_INDEX_MAGIC, 4);
	tf_put32(ix + 4, nchunks);
	tf_put32(ix + 8, STRAND_REC_TYPE_MAX);
	tf_put32(ix + 12, lasttype == STRAND_REC_PROCESS_EXIT ? TF_INDEX_F_COMPLETE : 0);
	tf_put64(ix + 16, nrec_total);
	tf_put64(ix + 24, last);
	tf_put64(ix + 32, n);
	memcpy(ix + TF_INDEX_HEADER_SIZE, entries, (size_t)nchunks * TF_INDEX_ENTRY_SIZE);
	free(entries);
	size_t isz = TF_INDEX_HEADER_SIZE + (size_t)nchunks * TF_INDEX_ENTRY_SIZE;
	for (int t = 0; t < STRAND_REC_TYPE_MAX; t++, isz += 8)
		tf_put64(ix + isz, counts[t]);
	uint8_t *tr = ix + isz;
	tf_put64(tr, off);
	tf_put64(tr + 8, isz);
	tf_put64(tr + 16, XXH3_64bits(ix, isz));
	memcpy(tr + 24, TF_TRAILER_MAGIC, 8);
	*outlen = off + isz + TF_TRAILER_SIZE;
	return b;
}

static void exercise(const uint8_t *data, size_t size)
{
	struct strand_reader *r;
	strand_error err;
	if (strand_reader_open_mem(data, size, &r, &err) != STRAND_OK)
		return;
	const struct strand_trace_summary *sum = strand_reader_summary(r);
	touch(sum, sizeof *sum);
	const struct strand_record *rec;
	struct strand_cursor mid = { 0, 0 };
	for (uint64_t i = 0; strand_reader_next(r, &rec, &err) == STRAND_OK; i++) {
		touch_record(rec);
		if (i == 3)
			strand_reader_tell(r, &mid);
	}
	if (strand_reader_seek(r, &mid, &err) == STRAND_OK &&
	    strand_reader_next(r, &rec, &err) == STRAND_OK)
		touch_record(rec);
	if (strand_reader_seek_position(r, sum->last_position / 2, &err) == STRAND_OK &&
	    strand_reader_next(r, &rec, &err) == STRAND_OK)
		touch_record(rec);
	strand_reader_verify(r, &err);
	strand_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!cctx && !(cctx = ZSTD_createCCtx()))
		return 0;
	uint8_t mode = data[0] % 4;
	data++, size--;
	if (mode == 0) {
		exercise(data, size);
	} else if (mode == 1) {
		uint8_t *copy = malloc(size ? size : 1);
		if (!copy)
			return 0;
		memcpy(copy, data, size);
		fix_checksums(copy, size);
		exercise(copy, size);
		free(copy);
	} else {
		/* mode 2: writer-like chunks; mode 3: also a chunk every 1..8 records */
		uint32_t per = mode == 2 ? UINT32_MAX : 1u + (size ? (data[0] >> 3) % 8 : 0);
		size_t len;
		uint8_t *b = wrap_records(data, size, per, &len);
		if (b)
			exercise(b, len);
		free(b);
	}
	return 0;
}
