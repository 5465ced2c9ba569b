/*
 * libFuzzer harness for the trace -> replay -> report pipeline on a small
 * budget: what a customer's trace reaches after the reader accepted it.
 *
 * Checksums and the writer's structural checks would stop most raw
 * mutations long before the replay core, so the input is a small program
 * that builds a trace with the public writer (strand_writer_put refuses
 * what the format forbids; everything else is written): the trace is
 * well-formed but its facts are whatever the fuzzer chose, as a forged
 * trace's would be.  Input layout:
 *   byte 0   bit 0: x86-64 (else x86-32); bits 1-2: ABI (0 none, 1 Windows
 *            NT, 2 Linux); bit 3: also build the report
 *   then ops, each one byte (op % 14) followed by its operands, read with
 *   take_*() (missing bytes read as zero):
 *     0 REGION   page u16 (x 4096, 0xffff = top of the address space),
 *                pages u8 (+1), prot u8, kind u8, n u8, n data bytes
 *     1 THREAD   tid u8, rip page u16 + off u16, rsp u32, gdt base u32,
 *                gdt limit u16, 6 selectors u16
 *     2 SNAPSHOT_END (later ops are events)
 *     3 SYSCALL  dpos u16, pc u32, number u16, nargs u8, 6 x arg u32,
 *                result u32, rax set u8, write addr u32 + n u8 + bytes
 *     4 NONDET   dpos u16, pc u32, kind u8
 *     5 KEYFRAME dpos u16, rip u32, digest addr u32, size u16, hash u64
 *     6 OUTPUT   dpos u16, stream u8, n u8, bytes
 *     7 THREAD_SWITCH dpos u16, tid u8
 *     8 THREAD_EXIT   dpos u16, tid u8
 *     9 MEMORY   dpos u16, op u8, page u16, pages u8, prot u8
 *    10 EXCEPTION dpos u16, pc u32, handler u32
 *    11 MODULE   base page u16, size pages u8, name n u8 + bytes, symbol
 *                offset u16 + name n u8 + bytes
 *    12 PROCESS_EXIT dpos u16
 *    13 position jump: dpos u32 << (u8 % 40)
 * The harness then replays to the end (budget: 2^18 instructions, 64 MiB),
 * moves backward and forward, reads memory near the top of the address
 * space, symbolizes and disassembles; with bit 3, builds the root-cause
 * report and renders it in every format (output discarded).
 * Seeds: fuzz/corpus-replay/ (fuzz/make_seeds.sh).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "strand/analysis.h"
#include "strand/replay.h"
#include "strand/trace.h"

struct in {
	const uint8_t *p;
	size_t n, off;
};

static uint64_t take(struct in *in, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++) {
		uint64_t b = in->off < in->n ? in->p[in->off] : 0;
		in->off++;
		v |= b << (8 * i);
	}
	return v;
}

/* n bytes of input (fewer at the end), copied into buf. */
static size_t take_bytes(struct in *in, uint8_t *buf, size_t n)
{
	size_t k = 0;
	while (k < n && in->off < in->n)
		buf[k++] = in->p[in->off++];
	return k;
}

static char path[64];
static int fd = -1;

static size_t discard(void *c, const char *b, size_t n)
{
	(void)c;
	(void)b;
	return n;
}

static FILE *sink_file(void)
{
	cookie_io_functions_t io = { .write = (cookie_write_function_t *)discard };
	return fopencookie(NULL, "w", io);
}

static void build(struct in *in, bool *want_report)
{
	uint8_t hdr = (uint8_t)take(in, 1);
	bool is64 = hdr & 1;
	struct strand_trace_info info = { STRAND_FORMAT_MAJOR, STRAND_FORMAT_MINOR,
		is64 ? STRAND_ARCH_X86_64 : STRAND_ARCH_X86_32, (strand_abi)((hdr >> 1) & 3) % 3, 0, 0,
		"fuzz", "0" };
	*want_report = hdr & 8;
	struct strand_writer *w = NULL;
	if (ftruncate(fd, 0) != 0 || strand_writer_open(path, &info, NULL, &w, NULL) != STRAND_OK)
		return;
	uint64_t pos = 0;
	bool events = false;
	static uint8_t data[256 << 12]; /* the largest REGION an op makes */
	for (int nops = 0; in->off < in->n && nops < 64; nops++) {
		struct strand_record rec;
		memset(&rec, 0, sizeof rec);
		rec.tid = 1;
		unsigned op = (unsigned)take(in, 1) % 14;
		struct strand_regval rv[2];
		struct strand_memwrite mw;
		struct strand_mapchange mc;
		struct strand_keyframe_thread kt;
		struct strand_digest dg;
		struct strand_symbol sym;
		char name[64], sname[64];
		uint8_t wbuf[256];
		if (events && op != 2 && op != 0 && op != 1 && op != 11 && op != 13)
			pos += take(in, 2);
		switch (op) {
		case 0: {
			uint64_t page = take(in, 2);
			uint64_t addr = page == 0xffff ? (is64 ? UINT64_MAX : 0xffffffffull) & ~4095ull
						     : page << 12;
			rec.type = STRAND_REC_REGION;
			rec.u.region.op = STRAND_MAP_MAP;
			rec.u.region.addr = addr;
			rec.u.region.size = (take(in, 1) + 1) << 12;
			rec.u.region.prot = (uint32_t)take(in, 1) & 7;
			rec.u.region.kind = (uint32_t)take(in, 1) % 10;
			rec.u.region.name = "";
			size_t n = take(in, 1);
			memset(data, 0, (size_t)rec.u.region.size);
			take_bytes(in, data, n);
			rec.u.region.data = n ? data : NULL; /* none: zero-filled */
			break;
		}
		case 1:
			rec.type = STRAND_REC_THREAD;
			rec.tid = (uint32_t)take(in, 1);
			rec.u.thread.cpu.rip = (take(in, 2) << 12) + take(in, 2);
			rec.u.thread.cpu.gpr[STRAND_REG_RSP] = take(in, 4);
			rec.u.thread.cpu.gdt_base = take(in, 4);
			rec.u.thread.cpu.gdt_limit = (uint32_t)take(in, 2);
			for (int s = 0; s < STRAND_SEG_COUNT; s++)
				rec.u.thread.cpu.sel[s] = (uint16_t)take(in, 2);
			rec.u.thread.name = "";
			break;
		case 2:
			rec.type = STRAND_REC_SNAPSHOT_END;
			events = true;
			break;
		case 3: {
			rec.type = STRAND_REC_SYSCALL;
			rec.u.syscall.pc = take(in, 4);
			rec.u.syscall.number = (uint32_t)take(in, 2);
			rec.u.syscall.nargs = (uint32_t)take(in, 1) % 7;
			for (int i = 0; i < 6; i++)
				rec.u.syscall.args[i] = take(in, 4);
			rec.u.syscall.result = take(in, 4);
			uint32_t nr = 0;
			if (take(in, 1) & 1) {
				rv[nr].reg = STRAND_REG_RAX;
				rv[nr++].value = rec.u.syscall.result;
			}
			rec.u.syscall.fx.nregs = nr;
			rec.u.syscall.fx.regs = rv;
			mw.addr = take(in, 4);
			mw.len = (uint32_t)take_bytes(in, wbuf, take(in, 1));
			mw.data = wbuf;
			if (mw.len) {
				rec.u.syscall.fx.nwrites = 1;
				rec.u.syscall.fx.writes = &mw;
			}
			break;
		}
		case 4:
			rec.type = STRAND_REC_NONDET;
			rec.u.nondet.pc = take(in, 4);
			rec.u.nondet.kind = 1 + (uint32_t)take(in, 1) % 6;
			break;
		case 5:
			rec.type = STRAND_REC_KEYFRAME;
			kt.tid = 1;
			memset(&kt.cpu, 0, sizeof kt.cpu);
			kt.cpu.rip = take(in, 4);
			dg.addr = take(in, 4);
			dg.size = take(in, 2) + 1;
			dg.hash = take(in, 8);
			rec.u.keyframe.nthreads = 1;
			rec.u.keyframe.threads = &kt;
			rec.u.keyframe.ndigests = 1;
			rec.u.keyframe.digests = &dg;
			break;
		case 6:
			rec.type = STRAND_REC_OUTPUT;
			rec.u.output.stream = 1 + (uint32_t)take(in, 1) % 3;
			rec.u.output.len = (uint32_t)take_bytes(in, wbuf, take(in, 1));
			rec.u.output.data = wbuf;
			break;
		case 7:
			rec.type = STRAND_REC_THREAD_SWITCH;
			rec.tid = (uint32_t)take(in, 1);
			break;
		case 8:
			rec.type = STRAND_REC_THREAD_EXIT;
			rec.tid = (uint32_t)take(in, 1);
			break;
		case 9:
			rec.type = STRAND_REC_MEMORY;
			mc.op = 1 + (uint32_t)take(in, 1) % 3;
			mc.addr = take(in, 2) << 12;
			mc.size = (take(in, 1) + 1) << 12;
			mc.prot = (uint32_t)take(in, 1) & 7;
			mc.kind = 0;
			mc.name = "";
			mc.data = NULL;
			rec.u.memory.nmaps = 1;
			rec.u.memory.maps = &mc;
			break;
		case 10:
			rec.type = STRAND_REC_EXCEPTION;
			rec.u.exception.kind = STRAND_EXC_EXCEPTION;
			rec.u.exception.code = 0xc0000005;
			rec.u.exception.pc = take(in, 4);
			rv[0].reg = STRAND_REG_RIP;
			rv[0].value = take(in, 4);
			rec.u.exception.fx.nregs = 1;
			rec.u.exception.fx.regs = rv;
			break;
		case 11: {
			rec.type = STRAND_REC_MODULE;
			rec.u.module.id = (uint32_t)nops;
			rec.u.module.base = take(in, 2) << 12;
			rec.u.module.size = (take(in, 1) + 1) << 12;
			size_t n = take_bytes(in, (uint8_t *)name, take(in, 1) % 63);
			name[n] = 0;
			sym.addr = rec.u.module.base + take(in, 2);
			sym.size = 16;
			sym.kind = STRAND_SYM_FUNC;
			n = take_bytes(in, (uint8_t *)sname, take(in, 1) % 63);
			sname[n] = 0;
			sym.name = sname;
			sym.demangled = "";
			rec.u.module.name = name;
			rec.u.module.path = name;
			rec.u.module.nsyms = 1;
			rec.u.module.syms = &sym;
			break;
		}
		case 12:
			rec.type = STRAND_REC_PROCESS_EXIT;
			break;
		case 13:
			pos += take(in, 4) << (take(in, 1) % 40);
			continue;
		}
		rec.position = events ? pos : 0;
		strand_writer_put(w, &rec, NULL); /* refused records are skipped */
	}
	strand_writer_close(w, NULL);
}

static volatile uint64_t sink;

static void replay(bool report)
{
	struct strand_replay_options o = { .max_instructions = 1u << 18,
					   .max_memory = 64u << 20,
					   .checkpoint_interval = 4096 };
	struct strand_replay *r = NULL;
	if (strand_replay_open(path, &o, &r, NULL) != STRAND_OK)
		return;
	uint64_t end = strand_replay_end(r);
	strand_replay_seek(r, end, NULL);
	strand_replay_seek(r, end / 2, NULL);
	strand_replay_step(r, -3, NULL);
	strand_replay_step_over(r, STRAND_FORWARD, NULL);
	uint8_t buf[64], valid[64];
	static const uint64_t addrs[] = { 0, 0xfffffffffffffff0ull, UINT64_MAX, 0xfffffff0ull,
					  0x400000 };
	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		sink += strand_replay_read(r, addrs[i], buf, sizeof buf, valid);
		char s[128];
		strand_replay_symbolize(r, addrs[i], s, sizeof s);
		strand_replay_disas(r, addrs[i], s, sizeof s, NULL);
	}
	char why[512];
	strand_replay_exactness(r, why, sizeof why);
	strand_replay_close(r);
	if (!report)
		return;
	struct strand_result *res = strand_result_new();
	struct strand_report_options ro = { .max_instructions = 1u << 18,
					    .max_memory = 64u << 20 };
	if (res && strand_report_build(path, &ro, res, NULL) >= 0) {
		static const strand_render_format f[] = { STRAND_RENDER_TEXT,
			STRAND_RENDER_MARKDOWN, STRAND_RENDER_JSON, STRAND_RENDER_HTML };
		for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
			FILE *out = sink_file();
			if (out) {
				strand_render(strand_result_root(res), f[i], "fuzz", out, NULL);
				fclose(out);
			}
		}
	}
	strand_result_free(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fd < 0) {
		fd = memfd_create("fuzz-replay", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	struct in in = { data, size, 0 };
	bool report;
	build(&in, &report);
	replay(report);
	return 0;
}
