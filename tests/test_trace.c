/* Trace format: writer -> reader round trips, seeking, truncation,
 * corruption (bit flips, wrong version, absurd counts), rule violations. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "formats/trace_format.h"
#include "strand/trace.h"
#include "test_trace_sample.h"

/* ---- helpers ------------------------------------------------------- */

static char *tmp_path(const char *name)
{
	static char buf[512];
	snprintf(buf, sizeof buf, "%s/test_trace_%d_%s.strand", STRAND_BINARY_DIR,
		 (int)getpid(), name);
	return buf;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void spit(const char *path, const void *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(b, 1, len, f), len);
	fclose(f);
}

static void eq_str(const char *a, const char *b, const char *what)
{
	cr_assert_not_null(b, "%s is NULL", what);
	cr_assert_str_eq(a ? a : "", b, "%s", what);
}

static void eq_bytes(const uint8_t *a, const uint8_t *b, size_t n, const char *what)
{
	if (n == 0)
		return;
	cr_assert_not_null(b, "%s data is NULL", what);
	cr_assert(memcmp(a, b, n) == 0, "%s bytes differ", what);
}

static void eq_cpu(const struct strand_cpu *a, const struct strand_cpu *b)
{
	cr_assert(memcmp(a, b, sizeof *a) == 0, "cpu contexts differ");
}

static void eq_map(const struct strand_mapchange *a, const struct strand_mapchange *b)
{
	cr_assert_eq(a->op, b->op);
	cr_assert_eq(a->prot, b->prot);
	cr_assert_eq(a->addr, b->addr);
	cr_assert_eq(a->size, b->size);
	cr_assert_eq(a->kind, b->kind);
	eq_str(a->name, b->name, "map name");
	cr_assert_eq(a->data == NULL, b->data == NULL, "map data presence");
	if (a->data)
		eq_bytes(a->data, b->data, (size_t)a->size, "map");
}

static void eq_fx(const struct strand_effects *a, const struct strand_effects *b)
{
	cr_assert_eq(a->cpu == NULL, b->cpu == NULL, "effects cpu presence");
	if (a->cpu)
		eq_cpu(a->cpu, b->cpu);
	cr_assert_eq(a->nregs, b->nregs);
	for (uint32_t i = 0; i < a->nregs; i++) {
		cr_assert_eq(a->regs[i].reg, b->regs[i].reg);
		cr_assert_eq(a->regs[i].value, b->regs[i].value);
	}
	cr_assert_eq(a->nmaps, b->nmaps);
	for (uint32_t i = 0; i < a->nmaps; i++)
		eq_map(&a->maps[i], &b->maps[i]);
	cr_assert_eq(a->nwrites, b->nwrites);
	for (uint32_t i = 0; i < a->nwrites; i++) {
		cr_assert_eq(a->writes[i].addr, b->writes[i].addr);
		cr_assert_eq(a->writes[i].len, b->writes[i].len);
		eq_bytes(a->writes[i].data, b->writes[i].data, a->writes[i].len, "write");
	}
}

/* Field-by-field equality of two records (a = written, b = read). */
static void eq_record(const struct strand_record *a, const struct strand_record *b)
{
	cr_assert_eq(a->type, b->type, "type %u vs %u", a->type, b->type);
	cr_assert_eq(a->tid, b->tid);
	cr_assert_eq(a->position, b->position);
	switch (a->type) {
	case STRAND_REC_MODULE: {
		const struct strand_module *x = &a->u.module, *y = &b->u.module;
		cr_assert_eq(x->id, y->id);
		cr_assert_eq(x->flags, y->flags);
		cr_assert_eq(x->base, y->base);
		cr_assert_eq(x->size, y->size);
		cr_assert_eq(x->timestamp, y->timestamp);
		cr_assert_eq(x->checksum, y->checksum);
		eq_str(x->name, y->name, "module name");
		eq_str(x->path, y->path, "module path");
		cr_assert_eq(x->nsyms, y->nsyms);
		for (uint32_t i = 0; i < x->nsyms; i++) {
			cr_assert_eq(x->syms[i].addr, y->syms[i].addr);
			cr_assert_eq(x->syms[i].size, y->syms[i].size);
			cr_assert_eq(x->syms[i].kind, y->syms[i].kind);
			eq_str(x->syms[i].name, y->syms[i].name, "symbol name");
			eq_str(x->syms[i].demangled, y->syms[i].demangled, "demangled");
		}
		break;
	}
	case STRAND_REC_REGION:
		eq_map(&a->u.region, &b->u.region);
		break;
	case STRAND_REC_THREAD:
		eq_cpu(&a->u.thread.cpu, &b->u.thread.cpu);
		cr_assert_eq(a->u.thread.stack_base, b->u.thread.stack_base);
		cr_assert_eq(a->u.thread.stack_limit, b->u.thread.stack_limit);
		cr_assert_eq(a->u.thread.teb, b->u.thread.teb);
		eq_str(a->u.thread.name, b->u.thread.name, "thread name");
		break;
	case STRAND_REC_NOTE:
		eq_str(a->u.note.key, b->u.note.key, "note key");
		cr_assert_eq(a->u.note.len, b->u.note.len);
		eq_bytes(a->u.note.data, b->u.note.data, a->u.note.len, "note");
		break;
	case STRAND_REC_SYSCALL:
		cr_assert_eq(a->u.syscall.pc, b->u.syscall.pc);
		cr_assert_eq(a->u.syscall.number, b->u.syscall.number);
		cr_assert_eq(a->u.syscall.nargs, b->u.syscall.nargs);
		for (uint32_t i = 0; i < a->u.syscall.nargs; i++)
			cr_assert_eq(a->u.syscall.args[i], b->u.syscall.args[i]);
		cr_assert_eq(a->u.syscall.result, b->u.syscall.result);
		eq_fx(&a->u.syscall.fx, &b->u.syscall.fx);
		break;
	case STRAND_REC_NONDET:
		cr_assert_eq(a->u.nondet.pc, b->u.nondet.pc);
		cr_assert_eq(a->u.nondet.kind, b->u.nondet.kind);
		eq_fx(&a->u.nondet.fx, &b->u.nondet.fx);
		break;
	case STRAND_REC_THREAD_EXIT:
	case STRAND_REC_PROCESS_EXIT:
		cr_assert_eq(a->u.exit_code, b->u.exit_code);
		break;
	case STRAND_REC_MEMORY:
		eq_fx(&a->u.memory, &b->u.memory);
		break;
	case STRAND_REC_EXCEPTION:
		cr_assert_eq(a->u.exception.kind, b->u.exception.kind);
		cr_assert_eq(a->u.exception.flags, b->u.exception.flags);
		cr_assert_eq(a->u.exception.code, b->u.exception.code);
		cr_assert_eq(a->u.exception.pc, b->u.exception.pc);
		cr_assert_eq(a->u.exception.addr, b->u.exception.addr);
		eq_fx(&a->u.exception.fx, &b->u.exception.fx);
		break;
	case STRAND_REC_MODULE_UNLOAD:
		cr_assert_eq(a->u.module_id, b->u.module_id);
		break;
	case STRAND_REC_OUTPUT:
		cr_assert_eq(a->u.output.stream, b->u.output.stream);
		cr_assert_eq(a->u.output.len, b->u.output.len);
		eq_bytes(a->u.output.data, b->u.output.data, a->u.output.len, "output");
		break;
	case STRAND_REC_KEYFRAME:
		cr_assert_eq(a->u.keyframe.nthreads, b->u.keyframe.nthreads);
		for (uint32_t i = 0; i < a->u.keyframe.nthreads; i++) {
			cr_assert_eq(a->u.keyframe.threads[i].tid, b->u.keyframe.threads[i].tid);
			eq_cpu(&a->u.keyframe.threads[i].cpu, &b->u.keyframe.threads[i].cpu);
		}
		cr_assert_eq(a->u.keyframe.ndigests, b->u.keyframe.ndigests);
		for (uint32_t i = 0; i < a->u.keyframe.ndigests; i++) {
			cr_assert_eq(a->u.keyframe.digests[i].addr, b->u.keyframe.digests[i].addr);
			cr_assert_eq(a->u.keyframe.digests[i].size, b->u.keyframe.digests[i].size);
			cr_assert_eq(a->u.keyframe.digests[i].hash, b->u.keyframe.digests[i].hash);
		}
		break;
	default:
		break;
	}
}

/* Read every record of `r` and compare with s. */
static void expect_sample(struct strand_reader *r, const struct sample *s, size_t n)
{
	strand_error err;
	const struct strand_record *rec;
	for (size_t i = 0; i < n; i++) {
		strand_status st = strand_reader_next(r, &rec, &err);
		cr_assert_eq(st, STRAND_OK, "record %zu: %s", i, err.msg);
		eq_record(&s->recs[i], rec);
	}
}

static void roundtrip(strand_arch arch, uint32_t chunk_size)
{
	struct sample s;
	sample_build(&s, arch);
	strand_error err;
	const char *path = tmp_path(arch == STRAND_ARCH_X86_32 ? "rt32" : "rt64");
	cr_assert_eq(sample_write(&s, path, chunk_size, &err), STRAND_OK, "%s", err.msg);

	struct strand_reader *r;
	cr_assert_eq(strand_reader_open(path, &r, &err), STRAND_OK, "%s", err.msg);
	const struct strand_trace_info *in = strand_reader_info(r);
	cr_assert_eq(in->format_major, STRAND_FORMAT_MAJOR);
	cr_assert_eq(in->format_minor, 0, "a file using no 1.1 feature says 1.0");
	cr_assert_eq(in->arch, arch);
	cr_assert_eq(in->abi, s.info.abi);
	cr_assert_eq(in->created_unix_ns, s.info.created_unix_ns);
	cr_assert_str_eq(in->recorder, "strand-test");
	cr_assert_str_eq(in->recorder_version, "0.1.0");
	expect_sample(r, &s, s.n);
	const struct strand_record *rec;
	cr_assert_eq(strand_reader_next(r, &rec, &err), STRAND_END);
	cr_assert_eq(strand_reader_next(r, &rec, &err), STRAND_END, "END is sticky");

	const struct strand_trace_summary *sum = strand_reader_summary(r);
	cr_assert_not(sum->truncated);
	cr_assert(sum->complete);
	cr_assert_eq(sum->nrecords, s.n);
	cr_assert_eq(sum->last_position, 100);
	cr_assert_eq(sum->count_by_type[STRAND_REC_MODULE], 3);
	cr_assert_eq(sum->count_by_type[STRAND_REC_SYSCALL], 1);
	for (unsigned t = 0; t < STRAND_REC_TYPE_MAX; t++) {
		uint64_t want = 0;
		for (size_t i = 0; i < s.n; i++)
			want += s.recs[i].type == t;
		cr_assert_eq(sum->count_by_type[t], want, "count of %s", strand_rec_type_str(t));
	}
	uint32_t nch;
	const struct strand_chunk_info *ch = strand_reader_chunks(r, &nch);
	cr_assert_eq(nch, sum->nchunks);
	cr_assert_geq(nch, 3, "snapshot, events, keyframe chunks");
	cr_assert(ch[0].flags & STRAND_CHUNK_F_SNAPSHOT);
	cr_assert_eq(ch[0].file_offset, 128);
	cr_assert_eq(strand_reader_verify(r, &err), STRAND_OK, "%s", err.msg);
	/* verify rewinds */
	cr_assert_eq(strand_reader_next(r, &rec, &err), STRAND_OK);
	cr_assert_eq(rec->type, STRAND_REC_MODULE);
	strand_reader_close(r);
	unlink(path);
}

/* ---- round trips --------------------------------------------------- */

Test(trace, every_record_type_round_trips_when_x86_64)
{
	roundtrip(STRAND_ARCH_X86_64, 0);
}

Test(trace, every_record_type_round_trips_when_x86_32)
{
	roundtrip(STRAND_ARCH_X86_32, 0);
}

Test(trace, every_record_type_round_trips_when_chunks_are_tiny)
{
	roundtrip(STRAND_ARCH_X86_64, 64);
	roundtrip(STRAND_ARCH_X86_32, 1);
}

Test(trace, keyframe_starts_its_chunk_and_snapshot_has_own_chunks)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_64);
	strand_error err;
	const char *path = tmp_path("kf");
	cr_assert_eq(sample_write(&s, path, 0, &err), STRAND_OK, "%s", err.msg);
	struct strand_reader *r;
	cr_assert_eq(strand_reader_open(path, &r, &err), STRAND_OK, "%s", err.msg);
	uint32_t n;
	const struct strand_chunk_info *c = strand_reader_chunks(r, &n);
	cr_assert_eq(n, 3);
	cr_assert_eq(c[0].flags, STRAND_CHUNK_F_SNAPSHOT);
	cr_assert_eq(c[0].nrecords, 7);
	cr_assert_eq(c[1].flags, 0);
	cr_assert_eq(c[1].first_position, 10);
	cr_assert_eq(c[2].flags, STRAND_CHUNK_F_KEYFRAME);
	cr_assert_eq(c[2].first_position, 80);
	cr_assert_eq(c[2].last_position, 100);
	strand_reader_close(r);
	unlink(path);
}

Test(trace, empty_trace_round_trips)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_64);
	s.n = 0;
	strand_error err;
	const char *path = tmp_path("empty");
	cr_assert_eq(sample_write(&s, path, 0, &err), STRAND_OK, "%s", err.msg);
	struct strand_reader *r;
	cr_assert_eq(strand_reader_open(path, &r, &err), STRAND_OK, "%s", err.msg);
	const struct strand_record *rec;
	cr_assert_eq(strand_reader_next(r, &rec, &err), STRAND_END);
	cr_assert_eq(strand_reader_summary(r)->nrecords, 0);
	cr_assert_not(strand_reader_summary(r)->truncated);
	cr_assert_eq(strand_reader_verify(r, &err), STRAND_OK, "%s", err.msg);
	strand_reader_close(r);
	unlink(path);
}

Test(trace, large_record_makes_a_larger_chunk)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_64);
	size_t big = 3u << 20;
	uint8_t *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)(i ^ (i >> 12));
	s.recs[2].u.region.data = data;
	s.recs[2].u.region.size = big;
	strand_error err;
	const char *path = tmp_path("big");
	cr_assert_eq(sample_write(&s, path, 4096, &err), STRAND_OK, "%s", err.msg);
	struct strand_reader *r;
	cr_assert_eq(strand_reader_open(path, &r, &err), STRAND_OK, "%s", err.msg);
	expect_sample(r, &s, s.n);
	uint32_t n;
	const struct strand_chunk_info *c = strand_reader_chunks(r, &n);
	uint32_t maxu = 0;
	for (uint32_t i = 0; i < n; i++)
		maxu = c[i].uncompressed > maxu ? c[i].uncompressed : maxu;
	cr_assert_gt(maxu, big);
	strand_reader_close(r);
	free(data);
	unlink(path);
}

Test(trace, open_mem_reads_the_same_records)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_32);
	strand_error err;
	const char *path = tmp_path("mem");
	cr_assert_eq(sample_write(&s, path, 0, &err), STRAND_OK, "%s", err.msg);
	size_t len;
	uint8_t *b = slurp(path, &len);
	struct strand_reader *r;
	cr_assert_eq(strand_reader_open_mem(b, len, &r, &err), STRAND_OK, "%s", err.msg);
	expect_sample(r, &s, s.n);
	cr_assert_eq(strand_reader_summary(r)->file_size, len);
	strand_reader_close(r);
	free(b);
	unlink(path);
}

/* ---- seeking ------------------------------------------------------- */

Test(trace, seek_returns_to_a_told_cursor)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_64);
	strand_error err;
	const char *path = tmp_path("seek");
	cr_assert_eq(sample_write(&s, path, 200, &err), STRAND_OK, "%s", err.msg);
	struct strand_reader *r;
	cr_assert_eq(strand_reader_open(path, &r, &err), STRAND_OK, "%s", err.msg);
	struct strand_cursor cur[SAMPLE_MAX];
	const struct strand_record *rec;
	for (size_t i = 0; i < s.n; i++) {
		strand_reader_tell(r, &cur[i]);
		cr_assert_eq(strand_reader_next(r, &rec, &err), STRAND_OK);
	}
	for (size_t k = s.n; k-- > 0;) {
		cr_assert_eq(strand_reader_seek(r, &cur[k], &err), STRAND_OK, "%s", err.msg);
		cr_assert_eq(strand_reader_next(r, &rec, &err), STRAND_OK);
		eq_record(&s.recs[k], rec);
	}
	struct strand_cursor bad = { 999, 0 };
	cr_assert_eq(strand_reader_seek(r, &bad, &err), STRAND_ERR_INVALID);
	strand_reader_close(r);
	unlink(path);
}

Test(trace, seek_position_finds_first_record_at_or_after)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_64);
	strand_error err;
	const char *path = tmp_path("seekpos");
	cr_assert_eq(sample_write(&s, path, 200, &err), STRAND_OK, "%s", err.msg);
	struct strand_reader *r;
	cr_assert_eq(strand_reader_open(path, &r, &err), STRAND_OK, "%s", err.msg);
	const struct strand_record *rec;
	uint64_t probes[] = { 0, 1, 10, 11, 21, 55, 80, 100 };
	for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) {
		size_t want = 0;
		while (s.recs[want].position < probes[p])
			want++;
		cr_assert_eq(strand_reader_seek_position(r, probes[p], &err), STRAND_OK,
			     "%s", err.msg);
		cr_assert_eq(strand_reader_next(r, &rec, &err), STRAND_OK);
		eq_record(&s.recs[want], rec);
	}
	cr_assert_eq(strand_reader_seek_position(r, 101, &err), STRAND_END);
	cr_assert_eq(strand_reader_next(r, &rec, &err), STRAND_END);
	strand_reader_close(r);
	unlink(path);
}

/* ---- names ---------------------------------------------------------- */

Test(trace, names_and_consuming_kinds)
{
	cr_assert_str_eq(strand_rec_type_str(STRAND_REC_SYSCALL), "syscall");
	cr_assert_str_eq(strand_rec_type_str(STRAND_REC_KEYFRAME), "keyframe");
	cr_assert_str_eq(strand_rec_type_str(999), "unknown");
	cr_assert_str_eq(strand_region_kind_str(STRAND_REGION_TEB), "teb");
	cr_assert_str_eq(strand_region_kind_str(99), "unknown");
	cr_assert(strand_rec_is_consuming(STRAND_REC_SYSCALL));
	cr_assert(strand_rec_is_consuming(STRAND_REC_NONDET));
	cr_assert_not(strand_rec_is_consuming(STRAND_REC_EXCEPTION));
	cr_assert_eq(strand_digest("abc", 3), XXH3_64bits("abc", 3));
}

/* ===================================================================== */
/* Hand-made files: a record stream wrapped in a valid container         */
/* ===================================================================== */

/* Append a record header + payload to b. */
static void raw_rec(struct tf_buf *b, uint16_t type, uint64_t pos, const void *payload,
		    uint32_t plen)
{
	cr_assert(tf_buf_reserve(b, TF_RECORD_HEADER_SIZE + plen));
	uint8_t *h = b->p + b->len;
	memset(h, 0, TF_RECORD_HEADER_SIZE);
	tf_put16(h, type);
	tf_put32(h + 4, 1);
	tf_put64(h + 8, pos);
	tf_put32(h + 16, plen);
	if (plen)
		memcpy(h + TF_RECORD_HEADER_SIZE, payload, plen);
	b->len += TF_RECORD_HEADER_SIZE + plen;
}

/* A complete file (header, one chunk holding `payload` with `nrec`
 * records at positions first..last, index, trailer) in malloc'd memory. */
static uint8_t *raw_file(const struct tf_buf *payload, uint32_t nrec, uint64_t first,
			 uint64_t last, uint32_t chunk_flags, size_t *outlen)
{
	size_t n = payload->len, bound = ZSTD_compressBound(n);
	size_t isz = TF_INDEX_HEADER_SIZE + TF_INDEX_ENTRY_SIZE + 8 * STRAND_REC_TYPE_MAX;
	uint8_t *b = calloc(1, TF_HEADER_SIZE + TF_CHUNK_HEADER_SIZE + bound + isz + TF_TRAILER_SIZE);
	memcpy(b, TF_MAGIC, 8);
	tf_put16(b + 8, STRAND_FORMAT_MAJOR);
	tf_put16(b + 10, STRAND_FORMAT_MINOR);
	tf_put16(b + 12, STRAND_ARCH_X86_64);
	tf_put16(b + 14, STRAND_ABI_LINUX);
	tf_put32(b + 20, TF_HEADER_SIZE);
	tf_put64(b + TF_HEADER_SIZE - 8, XXH3_64bits(b, TF_HEADER_SIZE - 8));
	uint8_t *ch = b + TF_HEADER_SIZE;
	size_t comp = ZSTD_compress(ch + TF_CHUNK_HEADER_SIZE, bound, payload->p, n, 1);
	cr_assert_not(ZSTD_isError(comp));
	struct tf_chunk_header h = { chunk_flags, (uint32_t)comp, (uint32_t)n, nrec,
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
	tf_put32(e + 20, chunk_flags);
	tf_put64(e + 24, first);
	tf_put64(e + 32, last);
	uint8_t *tr = ix + isz;
	tf_put64(tr, ioff);
	tf_put64(tr + 8, isz);
	tf_put64(tr + 16, XXH3_64bits(ix, isz));
	memcpy(tr + 24, TF_TRAILER_MAGIC, 8);
	*outlen = ioff + isz + TF_TRAILER_SIZE;
	return b;
}

/* Open the one-chunk file made of `payload` and read its first record. */
static strand_status read_first_raw(const struct tf_buf *payload, uint32_t nrec,
				    uint64_t pos, strand_error *err, uint32_t *type)
{
	size_t len;
	uint8_t *f = raw_file(payload, nrec, pos, pos, STRAND_CHUNK_F_SNAPSHOT, &len);
	struct strand_reader *r;
	strand_status st = strand_reader_open_mem(f, len, &r, err);
	cr_assert_eq(st, STRAND_OK, "%s", err->msg);
	const struct strand_record *rec;
	st = strand_reader_next(r, &rec, err);
	if (st == STRAND_OK && type)
		*type = rec->type;
	strand_reader_close(r);
	free(f);
	return st;
}

/* Criterion runs each parameter in a new process: parameters hold their
 * strings inline, never pointers into the parent. */
struct absurd_case {
	char name[32];
	uint16_t type;
	uint8_t payload[64];
	uint32_t plen;
	char expect[80]; /* substring of the error */
};

ParameterizedTestParameters(trace, absurd_counts_are_located_errors)
{
	/* LE byte strings: each case is a record payload with one absurd field */
	static struct absurd_case cases[] = {
		{ "module nsyms", STRAND_REC_MODULE,
		  { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 0, 0, 0, 0, 0, /* name */ 0, 0, 0, 0, /* path */ 0, 0, 0, 0,
		    /* nsyms */ 0xff, 0xff, 0xff, 0xff }, 44, "nsyms=4294967295" },
		{ "string length", STRAND_REC_NOTE, { 0xf0, 0xff, 0xff, 0xff, 'a' }, 5,
		  "key needs 4294967280 bytes" },
		{ "region data size", STRAND_REC_REGION,
		  { 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* size 2^60 */ 0, 0, 0, 0,
		    0, 0, 0, 0x10, 0, 0, 0, 0, /* name */ 0, 0, 0, 0, /* has_data */ 1, 0, 0, 0 },
		  36, "region data of size=1152921504606846976" },
		{ "syscall nargs", STRAND_REC_SYSCALL,
		  { 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0 }, 16, "nargs=9 exceeds 8" },
		{ "keyframe nthreads", STRAND_REC_KEYFRAME, { 0, 0, 0, 0x40 }, 4,
		  "nthreads=1073741824" },
		{ "effects nregs", STRAND_REC_MEMORY, { 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f }, 8,
		  "nregs=2147483647" },
		{ "has_cpu", STRAND_REC_MEMORY, { 7, 0, 0, 0 }, 4, "has_cpu=7" },
		{ "trailing bytes", STRAND_REC_MODULE_UNLOAD, { 1, 0, 0, 0, 9 }, 5,
		  "1 unexpected bytes" },
		{ "short payload", STRAND_REC_PROCESS_EXIT, { 1, 0, 0 }, 3,
		  "exit code needs 8 bytes but only 3 remain" },
		{ "nul in string", STRAND_REC_NOTE, { 3, 0, 0, 0, 'a', 0, 'b', 0, 0, 0, 0 }, 11,
		  "contains a NUL byte" },
		{ "unknown mandatory type", 0x0042, { 0 }, 0, "unknown record type 0x0042" },
	};
	return cr_make_param_array(struct absurd_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct absurd_case *c, trace, absurd_counts_are_located_errors)
{
	struct tf_buf b = { 0 };
	raw_rec(&b, c->type, 0, c->payload, c->plen);
	strand_error err;
	strand_status st = read_first_raw(&b, 1, 0, &err, NULL);
	cr_assert_eq(st, STRAND_ERR_CORRUPT, "%s: status %d", c->name, st);
	cr_assert(strstr(err.msg, c->expect), "%s: message '%s' lacks '%s'", c->name, err.msg,
		  c->expect);
	cr_assert(strstr(err.msg, "chunk 0 at offset=128"), "%s: not located: %s", c->name,
		  err.msg);
	tf_buf_free(&b);
}

Test(trace, unknown_optional_record_is_skipped)
{
	struct tf_buf b = { 0 };
	uint8_t junk[5] = { 1, 2, 3, 4, 5 };
	raw_rec(&b, 0x8001, 0, junk, sizeof junk);
	raw_rec(&b, STRAND_REC_SNAPSHOT_END, 0, NULL, 0);
	strand_error err;
	uint32_t type = 0;
	cr_assert_eq(read_first_raw(&b, 2, 0, &err, &type), STRAND_OK, "%s", err.msg);
	cr_assert_eq(type, STRAND_REC_SNAPSHOT_END);
	tf_buf_free(&b);
}

Test(trace, record_length_beyond_chunk_is_located)
{
	struct tf_buf b = { 0 };
	raw_rec(&b, STRAND_REC_SNAPSHOT_END, 0, NULL, 0);
	tf_put32(b.p + 16, 1000); /* payload length past the end */
	strand_error err;
	cr_assert_eq(read_first_raw(&b, 1, 0, &err, NULL), STRAND_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "payload length=1000 exceeds"), "%s", err.msg);
	tf_buf_free(&b);
}

/* ===================================================================== */
/* Whole-file corruption                                                 */
/* ===================================================================== */

/* Sample trace bytes in memory (malloc'd). */
static uint8_t *sample_bytes(strand_arch arch, uint32_t chunk_size, size_t *len)
{
	struct sample s;
	sample_build(&s, arch);
	strand_error err;
	char path[600];
	snprintf(path, sizeof path, "%s", tmp_path("bytes"));
	cr_assert_eq(sample_write(&s, path, chunk_size, &err), STRAND_OK, "%s", err.msg);
	uint8_t *b = slurp(path, len);
	unlink(path);
	return b;
}

/* Open + read all + verify; returns the first failure (or OK). */
static strand_status read_all(const uint8_t *b, size_t len, strand_error *err,
			      uint64_t *nread, bool *truncated)
{
	struct strand_reader *r;
	*nread = 0;
	strand_status st = strand_reader_open_mem(b, len, &r, err);
	if (st != STRAND_OK)
		return st;
	if (truncated)
		*truncated = strand_reader_summary(r)->truncated;
	const struct strand_record *rec;
	while ((st = strand_reader_next(r, &rec, err)) == STRAND_OK)
		(*nread)++;
	if (st == STRAND_END)
		st = strand_reader_verify(r, err);
	strand_reader_close(r);
	return st;
}

static void fix_header_checksum(uint8_t *b)
{
	tf_put64(b + TF_HEADER_SIZE - 8, XXH3_64bits(b, TF_HEADER_SIZE - 8));
}

struct corrupt_case {
	char name[32];
	size_t offset;     /* byte to change (from the start; SIZE_MAX-k = from the end) */
	uint8_t xor_mask;
	bool fix_header;   /* recompute the header checksum afterwards */
	strand_status open_status; /* expected from open */
	strand_status read_status; /* expected from read + verify when open works */
	char expect[80];
};

#define FROM_END(k) (SIZE_MAX - (k))

ParameterizedTestParameters(trace, corrupt_files_fail_with_located_errors)
{
	static struct corrupt_case cases[] = {
		{ "magic", 0, 0x01, false, STRAND_ERR_CORRUPT, 0, "bad magic at offset=0" },
		{ "major version", 8, 0x03, true, STRAND_ERR_VERSION, 0,
		  "offset=8: trace format version 2.0" },
		{ "header checksum", 40, 0x10, false, STRAND_ERR_CORRUPT, 0,
		  "file header at offset=120: checksum mismatch" },
		{ "header size", 23, 0x80, true, STRAND_ERR_CORRUPT, 0, "header_size=" },
		{ "required flag", 17, 0x01, true, STRAND_ERR_VERSION, 0, "flags=0x00000100" },
		{ "arch", 12, 0x40, true, STRAND_ERR_UNSUPPORTED, 0, "arch=66" },
		{ "chunk magic", 128, 0x20, false, STRAND_OK, STRAND_ERR_CORRUPT,
		  "chunk 0 at offset=128: bad chunk magic" },
		{ "chunk header", 128 + 20, 0x01, false, STRAND_OK, STRAND_ERR_CORRUPT,
		  "chunk 0 at offset=128: chunk header checksum mismatch" },
		{ "chunk payload", 128 + 56 + 30, 0x04, false, STRAND_OK, STRAND_ERR_CORRUPT,
		  "chunk 0 at offset=128: payload checksum mismatch (expected 0x" },
		{ "trailer magic", FROM_END(1), 0x01, false, STRAND_OK, STRAND_ERR_TRUNCATED,
		  "trace is truncated: no footer: trailer magic missing at offset=" },
		{ "index checksum", FROM_END(10), 0x01, false, STRAND_OK, STRAND_ERR_TRUNCATED,
		  "index at offset=" },
		{ "index offset", FROM_END(31), 0x08, false, STRAND_OK, STRAND_ERR_TRUNCATED,
		  "does not end at the trailer" },
	};
	return cr_make_param_array(struct corrupt_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct corrupt_case *c, trace, corrupt_files_fail_with_located_errors)
{
	size_t len;
	uint8_t *b = sample_bytes(STRAND_ARCH_X86_64, 0, &len);
	size_t off = c->offset >= FROM_END(64) ? len - 1 - (SIZE_MAX - c->offset) : c->offset;
	b[off] ^= c->xor_mask;
	if (c->fix_header)
		fix_header_checksum(b);
	strand_error err;
	struct strand_reader *r;
	strand_status st = strand_reader_open_mem(b, len, &r, &err);
	cr_assert_eq(st, c->open_status, "%s: open status %d (%s)", c->name, st,
		     st ? err.msg : "");
	if (st == STRAND_OK) {
		strand_reader_close(r);
		uint64_t n;
		st = read_all(b, len, &err, &n, NULL);
		cr_assert_eq(st, c->read_status, "%s: status %d (%s)", c->name, st, err.msg);
	}
	cr_assert(strstr(err.msg, c->expect), "%s: message '%s' lacks '%s'", c->name, err.msg,
		  c->expect);
	free(b);
}

Test(trace, every_byte_flip_is_detected_and_never_crashes)
{
	size_t len;
	uint8_t *b = sample_bytes(STRAND_ARCH_X86_32, 512, &len);
	for (size_t i = 0; i < len; i++) {
		b[i] ^= (uint8_t)(1u << (i % 8));
		strand_error err;
		uint64_t n;
		strand_status st = read_all(b, len, &err, &n, NULL);
		cr_assert_lt(st, 0, "flip at offset %zu went unnoticed", i);
		cr_assert(strstr(err.msg, "offset="), "flip at %zu: unlocated error '%s'", i,
			  err.msg);
		b[i] ^= (uint8_t)(1u << (i % 8));
	}
	free(b);
}

Test(trace, truncated_file_reads_up_to_last_complete_chunk)
{
	size_t len;
	uint8_t *b = sample_bytes(STRAND_ARCH_X86_64, 300, &len);
	struct strand_reader *r;
	strand_error err;
	cr_assert_eq(strand_reader_open_mem(b, len, &r, &err), STRAND_OK);
	uint32_t nch;
	const struct strand_chunk_info *c0 = strand_reader_chunks(r, &nch);
	struct strand_chunk_info ch[64];
	cr_assert_lt(nch, 64);
	memcpy(ch, c0, nch * sizeof *ch);
	strand_reader_close(r);
	for (size_t cut = 0; cut < len; cut++) {
		uint64_t n = 0, want = 0;
		bool trunc = false;
		for (uint32_t i = 0; i < nch; i++)
			if (ch[i].file_offset + TF_CHUNK_HEADER_SIZE + ch[i].compressed <= cut)
				want += ch[i].nrecords;
		uint8_t *p = malloc(cut ? cut : 1);
		memcpy(p, b, cut);
		strand_status st = read_all(p, cut, &err, &n, &trunc);
		free(p);
		if (cut < TF_HEADER_SIZE) {
			cr_assert_lt(st, 0);
			continue;
		}
		cr_assert(trunc, "cut=%zu not marked truncated", cut);
		cr_assert_eq(st, STRAND_ERR_TRUNCATED, "cut=%zu: %d %s", cut, st, err.msg);
		cr_assert_eq(n, want, "cut=%zu: read %" PRIu64 " records, expected %" PRIu64,
			     cut, n, want);
	}
	free(b);
}

Test(trace, aborted_writer_leaves_a_readable_truncated_trace)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_64);
	strand_error err;
	const char *path = tmp_path("abort");
	struct strand_writer *w;
	cr_assert_eq(strand_writer_open(path, &s.info, NULL, &w, &err), STRAND_OK);
	for (size_t i = 0; i < 10; i++)
		cr_assert_eq(strand_writer_put(w, &s.recs[i], &err), STRAND_OK, "%s", err.msg);
	strand_writer_abort(w);
	struct strand_reader *r;
	cr_assert_eq(strand_reader_open(path, &r, &err), STRAND_OK, "%s", err.msg);
	const struct strand_trace_summary *sum = strand_reader_summary(r);
	cr_assert(sum->truncated);
	cr_assert_not(sum->complete);
	cr_assert_eq(sum->nrecords, 10);
	cr_assert_eq(sum->count_by_type[STRAND_REC_MODULE], 2);
	expect_sample(r, &s, 10);
	const struct strand_record *rec;
	cr_assert_eq(strand_reader_next(r, &rec, &err), STRAND_END);
	cr_assert_eq(strand_reader_verify(r, &err), STRAND_ERR_TRUNCATED);
	cr_assert(strstr(err.msg, "2 complete chunks readable, ending at offset="), "%s", err.msg);
	strand_reader_close(r);
	unlink(path);
}

Test(trace, huge_chunk_size_claim_is_refused_without_allocating)
{
	size_t len;
	uint8_t *b = sample_bytes(STRAND_ARCH_X86_64, 0, &len);
	/* chunk 0 claims 4 GiB - 1 uncompressed; fix its header checksum */
	tf_put32(b + 128 + 12, 0xffffffffu);
	tf_put64(b + 128 + 48, XXH3_64bits(b + 128, 48));
	strand_error err;
	uint64_t n;
	strand_status st = read_all(b, len, &err, &n, NULL);
	cr_assert_eq(st, STRAND_ERR_CORRUPT, "%s", err.msg);
	cr_assert(strstr(err.msg, "chunk 0 at offset=128"), "%s", err.msg);
	free(b);
}

Test(trace, chunk_claiming_more_than_zstd_can_expand_is_refused)
{
	size_t len;
	uint8_t *b = sample_bytes(STRAND_ARCH_X86_64, 0, &len);
	/* 200 MiB from a payload of a few hundred bytes: a zstd bomb claim
	 * (fuzzer finding: the reader used to allocate before decompressing) */
	tf_put32(b + 128 + 12, 200u << 20);
	tf_put64(b + 128 + 48, XXH3_64bits(b + 128, 48));
	strand_error err;
	uint64_t n;
	strand_status st = read_all(b, len, &err, &n, NULL);
	cr_assert_eq(st, STRAND_ERR_CORRUPT, "%s", err.msg);
	cr_assert(strstr(err.msg, "compressed bytes can hold"), "%s", err.msg);
	free(b);
}

Test(trace, newer_minor_version_is_readable)
{
	size_t len;
	uint8_t *b = sample_bytes(STRAND_ARCH_X86_64, 0, &len);
	tf_put16(b + 10, STRAND_FORMAT_MINOR + 1);
	fix_header_checksum(b);
	strand_error err;
	uint64_t n;
	cr_assert_eq(read_all(b, len, &err, &n, NULL), STRAND_OK, "%s", err.msg);
	free(b);
}

/* ===================================================================== */
/* Rules: the writer refuses, verify finds                               */
/* ===================================================================== */

struct bad_record_case {
	char name[32];
	size_t index;       /* sample record to alter */
	int what;           /* alteration, see apply_bad() */
	char expect[80];
};

static void apply_bad(struct sample *s, const struct bad_record_case *c)
{
	struct strand_record *r = &s->recs[c->index];
	switch (c->what) {
	case 0: r->u.region.addr += 1; break;
	case 1: r->u.region.size = 0x1800; break;
	case 2: r->u.syscall.nargs = 9; break;
	case 3: r->position = 5; break;                 /* snapshot record off 0 */
	case 4: r->position = 5; break;                 /* decreasing position */
	case 5: r->type = STRAND_REC_SYSCALL; break;    /* event inside snapshot */
	case 6: r->u.region.op = STRAND_MAP_UNMAP; break;
	case 7: r->u.nondet.kind = 99; break;
	case 8: r->u.note.key = ""; break;
	case 9: r->u.region.addr = s->recs[2].u.region.addr + 0x1000; break; /* overlap */
	case 10: r->type = STRAND_REC_REGION; break;    /* region after snapshot */
	case 11: r->u.output.stream = 0; break;
	case 12: r->u.module.syms = s->syms + 1; r->u.module.nsyms = 2;
		 s->syms[2].addr = 0; break;            /* unsorted symbols */
	case 13: r->type = 77; break;
	}
}

ParameterizedTestParameters(trace, writer_refuses_invalid_records)
{
	/* indices in the sample: 2,3 regions; 5 note; 6 snapshot_end;
	 * 7 syscall at 10; 8 nondet at 20; 12 exception at 40; 15 output */
	static struct bad_record_case cases[] = {
		{ "unaligned region", 2, 0, "not a non-empty range of 4096-byte pages" },
		{ "region size", 3, 1, "not a non-empty range of 4096-byte pages" },
		{ "nargs", 7, 2, "nargs=9 exceeds 8" },
		{ "snapshot position", 4, 3, "snapshot thread record at position=5" },
		{ "decreasing", 8, 4, "position=5 decreases" },
		{ "event in snapshot", 5, 5, "syscall event before snapshot_end" },
		{ "region op", 3, 6, "region op=2" },
		{ "nondet kind", 8, 7, "nondet kind=99" },
		{ "note key", 5, 8, "note has an empty key" },
		{ "overlap", 3, 9, "snapshot regions overlap" },
		{ "region late", 12, 10, "region record after snapshot_end" },
		{ "output stream", 15, 11, "output stream=0" },
		{ "symbols", 0, 12, "not sorted by address" },
		{ "unknown type", 9, 13, "unknown record type 77" },
	};
	return cr_make_param_array(struct bad_record_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_record_case *c, trace, writer_refuses_invalid_records)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_64);
	apply_bad(&s, c);
	strand_error err;
	const char *path = tmp_path("bad");
	strand_status st = sample_write(&s, path, 0, &err);
	cr_assert_eq(st, STRAND_ERR_INVALID, "%s: status %d", c->name, st);
	cr_assert(strstr(err.msg, c->expect), "%s: '%s' lacks '%s'", c->name, err.msg, c->expect);
	cr_assert(strstr(err.msg, "cannot write record"), "%s", err.msg);
	unlink(path);
}

/* The same files written with the checks off: verify must find each. */
ParameterizedTestParameters(trace, verify_finds_rule_violations)
{
	static struct bad_record_case cases[] = {
		{ "unaligned region", 2, 0, "chunk 0 at offset=128: record 2 (type=region" },
		{ "nargs", 7, 2, "nargs=9 exceeds 8" },
		{ "snapshot position", 4, 3, "record 4 (type=thread): position=5 out of order" },
		{ "decreasing", 8, 4, "position=5" },
		{ "event in snapshot", 5, 5, "before snapshot_end" },
		{ "overlap", 3, 9, "snapshot regions overlap: record 2" },
		{ "region late", 12, 10, "region record after snapshot_end" },
		{ "symbols", 0, 12, "not sorted by address" },
	};
	return cr_make_param_array(struct bad_record_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_record_case *c, trace, verify_finds_rule_violations)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_64);
	apply_bad(&s, c);
	strand_error err;
	const char *path = tmp_path("unchecked");
	struct strand_writer *w;
	cr_assert_eq(strand_writer_open(path, &s.info, NULL, &w, &err), STRAND_OK);
	tf_writer_set_unchecked(w, true);
	for (size_t i = 0; i < s.n; i++)
		cr_assert_eq(strand_writer_put(w, &s.recs[i], &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_writer_close(w, &err), STRAND_OK, "%s", err.msg);
	size_t len;
	uint8_t *b = slurp(path, &len);
	uint64_t n;
	strand_status st = read_all(b, len, &err, &n, NULL);
	cr_assert_eq(st, STRAND_ERR_CORRUPT, "%s: status %d (%s)", c->name, st, err.msg);
	cr_assert(strstr(err.msg, c->expect), "%s: '%s' lacks '%s'", c->name, err.msg, c->expect);
	cr_assert(strstr(err.msg, "offset="), "%s: unlocated '%s'", c->name, err.msg);
	free(b);
	unlink(path);
}

Test(trace, ordinal_positions_count_consuming_events)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_64);
	s.info.flags = STRAND_TRACE_F_ORDINAL_POSITIONS;
	/* ordinal: an event's position = syscall/nondet events before it */
	uint64_t nc = 0;
	for (size_t i = 7; i < s.n; i++) {
		s.recs[i].position = nc;
		nc += strand_rec_is_consuming(s.recs[i].type);
	}
	strand_error err;
	const char *path = tmp_path("ordinal");
	cr_assert_eq(sample_write(&s, path, 0, &err), STRAND_OK, "%s", err.msg);
	struct strand_reader *r;
	cr_assert_eq(strand_reader_open(path, &r, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_reader_info(r)->flags, STRAND_TRACE_F_ORDINAL_POSITIONS);
	cr_assert_eq(strand_reader_verify(r, &err), STRAND_OK, "%s", err.msg);
	strand_reader_close(r);
	s.recs[9].position = 7; /* not an ordinal */
	cr_assert_eq(sample_write(&s, path, 0, &err), STRAND_ERR_INVALID);
	cr_assert(strstr(err.msg, "ordinal position=7 (expected 2"), "%s", err.msg);
	unlink(path);
}

/* ===================================================================== */
/* Fuzz seed corpus                                                      */
/* ===================================================================== */

static void corpus_put(const char *dir, const char *name, uint8_t mode, uint8_t sel,
		       const uint8_t *b, size_t len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	size_t hl = mode >= 2 ? 2 : 1;
	uint8_t *o = malloc(len + hl);
	o[0] = mode;
	o[1] = sel;
	memcpy(o + hl, b, len);
	spit(path, o, len + hl);
	free(o);
}

/* STRAND_WRITE_CORPUS=DIR makes this test (re)write the fuzz seeds:
 * whole sample files for harness modes 0 and 1, chunk payloads for 2. */
Test(trace, fuzz_seed_corpus_is_written_on_request)
{
	const char *dir = getenv("STRAND_WRITE_CORPUS");
	if (!dir)
		dir = STRAND_BINARY_DIR;
	for (int a = 0; a < 2; a++) {
		size_t len;
		strand_arch arch = a ? STRAND_ARCH_X86_32 : STRAND_ARCH_X86_64;
		uint8_t *b = sample_bytes(arch, a ? 700 : 0, &len);
		char name[64];
		snprintf(name, sizeof name, "file-%s", a ? "x86" : "x64");
		corpus_put(dir, name, 0, 0, b, len);
		snprintf(name, sizeof name, "fixup-%s", a ? "x86" : "x64");
		corpus_put(dir, name, 1, 0, b, len);
		snprintf(name, sizeof name, "cut-%s", a ? "x86" : "x64");
		corpus_put(dir, name, 1, 0, b, len * 2 / 3);
		struct strand_reader *r;
		strand_error err;
		cr_assert_eq(strand_reader_open_mem(b, len, &r, &err), STRAND_OK);
		uint32_t n;
		const struct strand_chunk_info *c = strand_reader_chunks(r, &n);
		struct tf_buf all = { 0 };
		for (uint32_t i = 0; i < n; i++) {
			uint8_t *u = malloc(c[i].uncompressed);
			size_t got = ZSTD_decompress(u, c[i].uncompressed,
						     b + c[i].file_offset + TF_CHUNK_HEADER_SIZE,
						     c[i].compressed);
			cr_assert_eq(got, c[i].uncompressed);
			snprintf(name, sizeof name, "records-%s-%u", a ? "x86" : "x64", i);
			corpus_put(dir, name, 2, 0, u, got);
			cr_assert(tf_buf_reserve(&all, got));
			memcpy(all.p + all.len, u, got);
			all.len += got;
			free(u);
		}
		/* the whole record stream: harness modes 2 and 3 rebuild a valid file */
		snprintf(name, sizeof name, "stream-%s", a ? "x86" : "x64");
		corpus_put(dir, name, 2, 0, all.p, all.len);
		snprintf(name, sizeof name, "multi-%s", a ? "x86" : "x64");
		corpus_put(dir, name, 3, 2 << 3, all.p, all.len);
		tf_buf_free(&all);
		strand_reader_close(r);
		free(b);
	}
}

/* ===================================================================== */
/* The worked example of docs/trace-format.md, section 12                */
/* ===================================================================== */

static void write_tiny(const char *path)
{
	struct strand_trace_info info = { .arch = STRAND_ARCH_X86_64, .abi = STRAND_ABI_NONE };
	strcpy(info.recorder, "doc");
	strcpy(info.recorder_version, "1");
	struct strand_writer *w;
	strand_error err;
	cr_assert_eq(strand_writer_open(path, &info, NULL, &w, &err), STRAND_OK);
	struct strand_record r = { .type = STRAND_REC_NOTE, .tid = 1 };
	r.u.note = (struct strand_note){ "argv", 2, (const uint8_t *)"a" };
	cr_assert_eq(strand_writer_put(w, &r, &err), STRAND_OK);
	r = (struct strand_record){ .type = STRAND_REC_SNAPSHOT_END, .tid = 1 };
	cr_assert_eq(strand_writer_put(w, &r, &err), STRAND_OK);
	r = (struct strand_record){ .type = STRAND_REC_OUTPUT, .tid = 1, .position = 5 };
	r.u.output = (struct strand_output){ 1, 3, (const uint8_t *)"hi\n" };
	cr_assert_eq(strand_writer_put(w, &r, &err), STRAND_OK);
	r = (struct strand_record){ .type = STRAND_REC_PROCESS_EXIT, .tid = 1, .position = 7 };
	cr_assert_eq(strand_writer_put(w, &r, &err), STRAND_OK);
	cr_assert_eq(strand_writer_close(w, &err), STRAND_OK, "%s", err.msg);
}

Test(trace, tiny_trace_matches_the_documented_bytes)
{
	static const uint8_t header[128] = {
		0x89, 0x53, 0x54, 0x52, 0x41, 0x4e, 0x44, 0x0a, 0x01, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
		[32] = 'd', 'o', 'c', [64] = '1',
		[120] = 0xa8, 0xe7, 0xca, 0x1a, 0xb1, 0x15, 0x6b, 0x65,
	};
	static const uint8_t chunk0[54] = {
		0x04, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0e, 0, 0, 0,
		0x04, 0, 0, 0, 'a', 'r', 'g', 'v', 0x02, 0, 0, 0, 'a', 0,
		0x05, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	static const uint8_t chunk1[59] = {
		0x17, 0, 0, 0, 0x01, 0, 0, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 0x0b, 0, 0, 0,
		0x01, 0, 0, 0, 0x03, 0, 0, 0, 'h', 'i', '\n',
		0x19, 0, 0, 0, 0x01, 0, 0, 0, 0x07, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
	};
	const char *path = tmp_path("tiny");
	write_tiny(path);
	size_t len;
	uint8_t *b = slurp(path, &len);
	cr_assert(memcmp(b, header, sizeof header) == 0, "file header differs from the doc");
	const uint8_t *want[2] = { chunk0, chunk1 };
	size_t wlen[2] = { sizeof chunk0, sizeof chunk1 };
	size_t off = TF_HEADER_SIZE;
	for (int i = 0; i < 2; i++) {
		cr_assert(memcmp(b + off, "CHNK", 4) == 0);
		uint32_t comp = tf_get32(b + off + 8);
		cr_assert_eq(tf_get32(b + off + 12), wlen[i]);
		uint8_t u[64];
		size_t n = ZSTD_decompress(u, sizeof u, b + off + TF_CHUNK_HEADER_SIZE, comp);
		cr_assert_eq(n, wlen[i]);
		cr_assert(memcmp(u, want[i], n) == 0, "chunk %d payload differs from the doc", i);
		off += TF_CHUNK_HEADER_SIZE + comp;
	}
	cr_assert(memcmp(b + off, "INDX\x02\0\0\0\x1a\0\0\0\x01\0\0\0\x04", 17) == 0);
	cr_assert_eq(len - off, 336 + 32, "index 336 bytes + trailer 32");
	cr_assert(memcmp(b + len - 8, "STRNDEND", 8) == 0);
	free(b);
	unlink(path);
}

Test(trace, writer_splits_regions_larger_than_64_mib)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_64);
	size_t big = (64u << 20) + 8192;
	uint8_t *data = malloc(big);
	for (size_t i = 0; i < big; i += 4096)
		memset(data + i, (int)(i >> 12), 4096);
	s.recs[2].u.region.data = data;
	s.recs[2].u.region.size = big;
	s.recs[3].u.region.size = 150u << 20; /* zero-filled: 3 pieces */
	s.recs[3].u.region.addr = 0x7f0000000000ull;
	strand_error err;
	const char *path = tmp_path("split");
	cr_assert_eq(sample_write(&s, path, 0, &err), STRAND_OK, "%s", err.msg);
	struct strand_reader *r;
	cr_assert_eq(strand_reader_open(path, &r, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_reader_summary(r)->count_by_type[STRAND_REC_REGION], 5);
	const struct strand_record *rec;
	uint64_t want_addr[5] = { s.recs[2].u.region.addr,
				  s.recs[2].u.region.addr + (64u << 20), 0x7f0000000000ull,
				  0x7f0000000000ull + (64u << 20), 0x7f0000000000ull + (128u << 20) };
	uint64_t want_size[5] = { 64u << 20, 8192, 64u << 20, 64u << 20, 22u << 20 };
	int k = 0;
	while (strand_reader_next(r, &rec, &err) == STRAND_OK) {
		if (rec->type != STRAND_REC_REGION)
			continue;
		cr_assert_lt(k, 5);
		cr_assert_eq(rec->u.region.addr, want_addr[k], "piece %d", k);
		cr_assert_eq(rec->u.region.size, want_size[k], "piece %d", k);
		cr_assert_str_eq(rec->u.region.name, k < 2 ? "app" : "stack");
		if (k < 2)
			cr_assert(memcmp(rec->u.region.data, data + (k ? 64u << 20 : 0),
					 (size_t)want_size[k]) == 0, "piece %d bytes", k);
		else
			cr_assert_null(rec->u.region.data);
		k++;
	}
	cr_assert_eq(k, 5);
	cr_assert_eq(strand_reader_verify(r, &err), STRAND_OK, "%s", err.msg);
	strand_reader_close(r);
	free(data);
	unlink(path);
}

/* Patch a u32 of the index and re-seal it (index checksum in the trailer),
 * so only the reader's structural checks stand between it and the value. */
static void patch_index_u32(uint8_t *b, size_t len, size_t at, uint32_t v)
{
	uint64_t ioff = tf_get64(b + len - TF_TRAILER_SIZE);
	uint64_t isz = tf_get64(b + len - TF_TRAILER_SIZE + 8);
	tf_put32(b + ioff + at, v);
	tf_put64(b + len - TF_TRAILER_SIZE + 16, XXH3_64bits(b + ioff, (size_t)isz));
}

Test(trace, absurd_index_counts_fall_back_to_scanning)
{
	size_t at[] = { 4 /* nchunks */, 8 /* ntypes */, TF_INDEX_HEADER_SIZE + 12 /* entry 0
		uncompressed */, TF_INDEX_HEADER_SIZE + 16 /* entry 0 nrecords */ };
	for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
		size_t len;
		uint8_t *b = sample_bytes(STRAND_ARCH_X86_64, 0, &len);
		patch_index_u32(b, len, at[k], 0xffffffffu);
		struct strand_reader *r;
		strand_error err;
		cr_assert_eq(strand_reader_open_mem(b, len, &r, &err), STRAND_OK, "%s", err.msg);
		const struct strand_trace_summary *s = strand_reader_summary(r);
		cr_assert(s->truncated, "field at index+%zu: footer not rejected", at[k]);
		cr_assert_eq(s->nrecords, 19, "the scan finds every record");
		cr_assert_eq(strand_reader_verify(r, &err), STRAND_ERR_TRUNCATED);
		cr_assert(strstr(err.msg, "index"), "%s", err.msg);
		strand_reader_close(r);
		free(b);
	}
}

/* A writer says the lowest minor version the file needs: a trace holding
 * a child process's trace says 1.1 (docs/trace-format.md section 11), the
 * child's own trace says 1.0, and both read back. */
Test(trace, process_tree_notes_make_the_file_say_1_1)
{
	char kid[512], path[512];
	snprintf(kid, sizeof kid, "%s", tmp_path("tree-kid"));
	snprintf(path, sizeof path, "%s", tmp_path("tree-parent"));
	write_tiny(kid);
	struct strand_trace_info info = { .arch = STRAND_ARCH_X86_64, .abi = STRAND_ABI_NONE };
	strcpy(info.recorder, "doc");
	strcpy(info.recorder_version, "1");
	struct strand_writer *w;
	strand_error err;
	cr_assert_eq(strand_writer_open(path, &info, NULL, &w, &err), STRAND_OK);
	struct strand_record r = { .type = STRAND_REC_SNAPSHOT_END, .tid = 1 };
	cr_assert_eq(strand_writer_put(w, &r, &err), STRAND_OK);
	struct strand_process p = { .pid = 2, .ppid = 1 };
	cr_assert_eq(strand_writer_put_process(w, 9, 1, &p, kid, &err), STRAND_OK, "%s", err.msg);
	r = (struct strand_record){ .type = STRAND_REC_PROCESS_EXIT, .tid = 1, .position = 9 };
	cr_assert_eq(strand_writer_put(w, &r, &err), STRAND_OK);
	cr_assert_eq(strand_writer_close(w, &err), STRAND_OK, "%s", err.msg);

	struct strand_reader *rd;
	cr_assert_eq(strand_reader_open(kid, &rd, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_reader_info(rd)->format_minor, 0);
	strand_reader_close(rd);
	cr_assert_eq(strand_reader_open(path, &rd, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_reader_info(rd)->format_major, 1);
	cr_assert_eq(strand_reader_info(rd)->format_minor, 1);
	cr_assert_eq(strand_reader_verify(rd, &err), STRAND_OK, "%s", err.msg);
	struct strand_process *kids;
	uint32_t n;
	cr_assert_eq(strand_trace_children(rd, &kids, &n, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(n, 1);
	cr_assert_eq(kids[0].pid, 2);
	free(kids);
	strand_reader_close(rd);
	unlink(kid);
	unlink(path);
}
