/*
 * Trace writer/reader throughput on a large synthetic trace.
 *
 *   bench_trace [PATH] [NRECORDS] [ZSTD_LEVEL]
 *   (defaults: /tmp/bench_trace.strand, 2000000, the writer's default)
 *
 * The events mimic a recorded process: syscalls with register deltas and a
 * kernel write (32..2048 bytes: text-like, zeros, or random), rdtsc results,
 * thread switches, output, and a key frame (4 threads, 64 digests) every
 * 50000 records.  Prints write, read and verify throughput (MB/s of
 * uncompressed record bytes and records/s) and the compression ratio.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strand/trace.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int die(const char *what, const strand_error *e)
{
	fprintf(stderr, "bench_trace: %s: %s\n", what, e->msg);
	return 1;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/tmp/bench_trace.strand";
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 0) : 2000000;
	struct strand_writer_options opt = { 0, argc > 3 ? atoi(argv[3]) : 0 };
	static uint8_t buf[2048], image[1 << 16];
	static const char words[] = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n"
				    "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n<html>";
	for (size_t i = 0; i < sizeof image; i++)
		image[i] = (uint8_t)(i % 251 < 100 ? 0 : next_rand());

	struct strand_trace_info info = { .arch = STRAND_ARCH_X86_64, .abi = STRAND_ABI_LINUX };
	strcpy(info.recorder, "bench_trace");
	strcpy(info.recorder_version, STRAND_VERSION_STRING);
	strand_error err;
	struct strand_writer *w;
	if (strand_writer_open(path, &info, &opt, &w, &err) != STRAND_OK)
		return die("open", &err);

	double t0 = now(), c0 = cpu_now();
	struct strand_record r = { .type = STRAND_REC_REGION, .tid = 1 };
	r.u.region = (struct strand_mapchange){ STRAND_MAP_MAP, 5, 0x400000, sizeof image,
						STRAND_REGION_IMAGE, "bench", image };
	if (strand_writer_put(w, &r, &err))
		return die("put", &err);
	struct strand_cpu cpu = { 0 };
	r = (struct strand_record){ .type = STRAND_REC_THREAD, .tid = 1 };
	r.u.thread.cpu = cpu;
	r.u.thread.name = "main";
	strand_writer_put(w, &r, &err);
	r = (struct strand_record){ .type = STRAND_REC_SNAPSHOT_END, .tid = 1 };
	strand_writer_put(w, &r, &err);

	struct strand_regval regs[3];
	struct strand_memwrite wr;
	struct strand_keyframe_thread kt[4];
	struct strand_digest dg[64];
	memset(kt, 0, sizeof kt);
	uint64_t pos = 0, tsc = 1000000;
	for (uint64_t i = 0; i < n; i++) {
		pos += 1 + next_rand() % 5000;
		uint64_t k = next_rand() % 100;
		memset(&r, 0, sizeof r);
		r.tid = 1 + (uint32_t)(i / 1000 % 4);
		r.position = pos;
		if (i % 50000 == 0) {
			for (int t = 0; t < 4; t++) {
				kt[t].tid = (uint32_t)t + 1;
				kt[t].cpu.rip = 0x401000 + next_rand() % 0x10000;
				kt[t].cpu.gpr[4] = 0x7ffe0000 - (next_rand() % 4096);
			}
			for (int d = 0; d < 64; d++)
				dg[d] = (struct strand_digest){ 0x10000000ull + (uint64_t)d * 0x10000,
								0x8000, next_rand() };
			r.type = STRAND_REC_KEYFRAME;
			r.u.keyframe = (struct strand_keyframe){ 4, kt, 64, dg };
		} else if (k < 60) {
			uint32_t len = 32 + (uint32_t)(next_rand() % 2017);
			uint64_t mode = next_rand() % 3;
			for (uint32_t b = 0; b < len; b++)
				buf[b] = mode == 0 ? (uint8_t)words[b % (sizeof words - 1)]
					 : mode == 1 ? 0 : (uint8_t)next_rand();
			wr = (struct strand_memwrite){ 0x7ffe0000 + (next_rand() % 256) * 16, len, buf };
			regs[0] = (struct strand_regval){ STRAND_REG_RAX, len };
			regs[1] = (struct strand_regval){ STRAND_REG_RCX, 0x401234 };
			regs[2] = (struct strand_regval){ STRAND_REG_RFLAGS, 0x246 };
			r.type = STRAND_REC_SYSCALL;
			r.u.syscall.pc = 0x401230;
			r.u.syscall.number = (uint32_t)(next_rand() % 300);
			r.u.syscall.nargs = 6;
			for (int a = 0; a < 6; a++)
				r.u.syscall.args[a] = a == 1 ? wr.addr : next_rand() % 4096;
			r.u.syscall.result = len;
			r.u.syscall.fx = (struct strand_effects){ NULL, 3, regs, 0, NULL, 1, &wr };
		} else if (k < 90) {
			tsc += 1000 + next_rand() % 100;
			regs[0] = (struct strand_regval){ STRAND_REG_RAX, tsc & 0xffffffff };
			regs[1] = (struct strand_regval){ STRAND_REG_RDX, tsc >> 32 };
			r.type = STRAND_REC_NONDET;
			r.u.nondet.pc = 0x402000 + next_rand() % 64;
			r.u.nondet.kind = STRAND_NONDET_RDTSC;
			r.u.nondet.fx = (struct strand_effects){ NULL, 2, regs, 0, NULL, 0, NULL };
		} else if (k < 97) {
			r.type = STRAND_REC_THREAD_SWITCH;
		} else {
			r.type = STRAND_REC_OUTPUT;
			r.u.output = (struct strand_output){ 1, 40, (const uint8_t *)words };
		}
		if (strand_writer_put(w, &r, &err) != STRAND_OK)
			return die("put", &err);
	}
	r = (struct strand_record){ .type = STRAND_REC_PROCESS_EXIT, .tid = 1, .position = pos };
	strand_writer_put(w, &r, &err);
	if (strand_writer_close(w, &err) != STRAND_OK)
		return die("close", &err);
	double tw = now() - t0, cw = cpu_now() - c0;

	struct strand_reader *rd;
	if (strand_reader_open(path, &rd, &err) != STRAND_OK)
		return die("reopen", &err);
	const struct strand_trace_summary *s = strand_reader_summary(rd);
	double mb = (double)s->uncompressed_size / 1e6;
	t0 = now();
	c0 = cpu_now();
	const struct strand_record *rec;
	uint64_t cnt = 0, sum = 0;
	strand_status st;
	while ((st = strand_reader_next(rd, &rec, &err)) == STRAND_OK) {
		cnt++;
		sum += rec->position;
	}
	if (st != STRAND_END)
		return die("read", &err);
	double tr = now() - t0, cr = cpu_now() - c0;
	t0 = now();
	c0 = cpu_now();
	if (strand_reader_verify(rd, &err) != STRAND_OK)
		return die("verify", &err);
	double tv = now() - t0, cv = cpu_now() - c0;

	printf("records:      %" PRIu64 " (%" PRIu32 " chunks, checksum %" PRIu64 ")\n", cnt,
	       s->nchunks, sum % 1000);
	printf("uncompressed: %.1f MB, file %.1f MB, compression ratio %.2f\n", mb,
	       (double)s->file_size / 1e6, (double)s->uncompressed_size / (double)s->file_size);
	/* rates per CPU second: steadier than wall time on a shared machine */
	printf("write:        %.2f s wall, %.2f s cpu  %.0f MB/s  %.2f M records/s\n", tw, cw,
	       mb / cw, (double)cnt / cw / 1e6);
	printf("read:         %.2f s wall, %.2f s cpu  %.0f MB/s  %.2f M records/s\n", tr, cr,
	       mb / cr, (double)cnt / cr / 1e6);
	printf("verify:       %.2f s wall, %.2f s cpu  %.0f MB/s  %.2f M records/s\n", tv, cv,
	       mb / cv, (double)cnt / cv / 1e6);
	strand_reader_close(rd);
	return 0;
}
