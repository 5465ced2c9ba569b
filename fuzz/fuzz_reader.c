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
 *   2  the bytes are a record stream (uncompressed chunk payload): the
 *      harness wraps it in a valid file (header, one zstd chunk, index,
 *      trailer), so mutations reach the record decoder and the checker.
 *      The byte after the selector gives header flags (bit 0) and chunk
 *      flags (bits 1-2).
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

/* Mode 2: wrap a record stream into a file; returns malloc'd bytes. */
static uint8_t *wrap_records(const uint8_t *p, size_t n, size_t *outlen)
{
	if (n < 1)
		return NULL;
	uint8_t sel = p[0];
	p++, n--;
	uint32_t nrec = 0;
	uint64_t first = 0, last = 0;
	for (size_t off = 0; n - off >= TF_RECORD_HEADER_SIZE;) {
		uint32_t pl = tf_get32(p + off + 16);
		uint64_t pos = tf_get64(p + off + 8);
		if (nrec == 0)
			first = pos;
		last = pos;
		nrec++;
		if (pl > n - off - TF_RECORD_HEADER_SIZE)
			break;
		off += TF_RECORD_HEADER_SIZE + pl;
	}
	size_t bound = ZSTD_compressBound(n);
	size_t total = TF_HEADER_SIZE + TF_CHUNK_HEADER_SIZE + bound + TF_INDEX_HEADER_SIZE +
		       TF_INDEX_ENTRY_SIZE + 8 * STRAND_REC_TYPE_MAX + TF_TRAILER_SIZE;
	uint8_t *b = calloc(1, total);
	if (!b)
		return NULL;
	memcpy(b, TF_MAGIC, 8);
	tf_put16(b + 8, STRAND_FORMAT_MAJOR);
	tf_put16(b + 10, STRAND_FORMAT_MINOR);
	tf_put16(b + 12, STRAND_ARCH_X86_64);
	tf_put16(b + 14, STRAND_ABI_LINUX);
	tf_put32(b + 16, sel & 1);
	tf_put32(b + 20, TF_HEADER_SIZE);
	tf_put64(b + TF_HEADER_SIZE - 8, XXH3_64bits(b, TF_HEADER_SIZE - 8));
	uint8_t *ch = b + TF_HEADER_SIZE;
	size_t comp = ZSTD_compress(ch + TF_CHUNK_HEADER_SIZE, bound, p, n, 1);
	if (ZSTD_isError(comp)) {
		free(b);
		return NULL;
	}
	struct tf_chunk_header h = { (uint32_t)(sel >> 1) & 3, (uint32_t)comp, (uint32_t)n, nrec,
				     TF_CODEC_ZSTD, first, last,
				     XXH3_64bits(ch + TF_CHUNK_HEADER_SIZE, comp) };
	tf_chunk_header_encode(ch, &h);
	size_t ioff = TF_HEADER_SIZE + TF_CHUNK_HEADER_SIZE + comp;
	uint8_t *ix = b + ioff;
	memcpy(ix, TF_INDEX_MAGIC, 4);
	tf_put32(ix + 4, 1);
	tf_put32(ix + 8, STRAND_REC_TYPE_MAX);
	tf_put64(ix + 16, nrec);
	tf_put64(ix + 24, last);
	tf_put64(ix + 32, n);
	uint8_t *e = ix + TF_INDEX_HEADER_SIZE;
	tf_put64(e, TF_HEADER_SIZE);
	tf_put32(e + 8, (uint32_t)comp);
	tf_put32(e + 12, (uint32_t)n);
	tf_put32(e + 16, nrec);
	tf_put32(e + 20, h.flags);
	tf_put64(e + 24, first);
	tf_put64(e + 32, last);
	size_t isz = TF_INDEX_HEADER_SIZE + TF_INDEX_ENTRY_SIZE + 8 * STRAND_REC_TYPE_MAX;
	uint8_t *tr = ix + isz;
	tf_put64(tr, ioff);
	tf_put64(tr + 8, isz);
	tf_put64(tr + 16, XXH3_64bits(ix, isz));
	memcpy(tr + 24, TF_TRAILER_MAGIC, 8);
	*outlen = ioff + isz + TF_TRAILER_SIZE;
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
	uint8_t mode = data[0] % 3;
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
		size_t len;
		uint8_t *b = wrap_records(data, size, &len);
		if (b)
			exercise(b, len);
		free(b);
	}
	return 0;
}
