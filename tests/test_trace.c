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
	cr_assert_eq(in->format_minor, STRAND_FORMAT_MINOR);
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
