/*
 * A small trace with one record of every type (several of some), used by
 * tests/test_trace.c and tests/test_cli_info.c.  Header-only (static) so
 * each test executable gets its own copy.
 *
 *   struct sample s;
 *   sample_build(&s, STRAND_ARCH_X86_64);     // records in s.recs[0..s.n)
 *   sample_write(&s, path, chunk_size);       // writes and closes the trace
 */
#ifndef STRAND_TESTS_TRACE_SAMPLE_H
#define STRAND_TESTS_TRACE_SAMPLE_H

#include <stdio.h>
#include <string.h>

#include "strand/trace.h"

#define SAMPLE_MAX 32

struct sample {
	strand_arch arch;
	struct strand_trace_info info;
	struct strand_record recs[SAMPLE_MAX];
	size_t n;
	/* storage the records point into */
	struct strand_symbol syms[3];
	uint8_t image[8192];
	struct strand_cpu cpu0, cpu1, fxcpu;
	uint8_t argv[16];
	struct strand_regval regs[3];
	struct strand_memwrite writes[2];
	uint8_t wdata[2][24];
	struct strand_mapchange maps[3];
	uint8_t mapdata[4096];
	struct strand_keyframe_thread kthreads[2];
	struct strand_digest digests[3];
	uint8_t out[12];
};

static void sample_cpu(struct strand_cpu *c, uint64_t seed, strand_arch arch)
{
	memset(c, 0, sizeof *c);
	uint64_t mask = arch == STRAND_ARCH_X86_32 ? 0xffffffffu : ~0ull;
	int ngpr = arch == STRAND_ARCH_X86_32 ? 8 : 16;
	for (int i = 0; i < ngpr; i++)
		c->gpr[i] = (seed * 0x9e3779b97f4a7c15ull + (uint64_t)i * 0x1111) & mask;
	c->rip = (0x401000 + seed) & mask;
	c->rflags = 0x246;
	for (int i = 0; i < STRAND_SEG_COUNT; i++)
		c->sel[i] = (uint16_t)(0x23 + 8 * i);
	c->fs_base = arch == STRAND_ARCH_X86_32 ? 0x7ffdf000 : 0x7f0000001000ull + seed;
	c->gs_base = arch == STRAND_ARCH_X86_32 ? 0 : 0x7f0000002000ull;
	c->gdt_base = arch == STRAND_ARCH_X86_32 ? 0x80000000u : 0;
	c->gdt_limit = arch == STRAND_ARCH_X86_32 ? 0x3ff : 0;
	for (int i = 0; i < 512; i++)
		c->fxsave[i] = (uint8_t)(i * 7 + seed);
}

static struct strand_record *sample_add(struct sample *s, uint32_t type, uint32_t tid,
					uint64_t pos)
{
	struct strand_record *r = &s->recs[s->n++];
	memset(r, 0, sizeof *r);
	r->type = type;
	r->tid = tid;
	r->position = pos;
	return r;
}

static void sample_build(struct sample *s, strand_arch arch)
{
	memset(s, 0, sizeof *s);
	s->arch = arch;
	s->info.arch = arch;
	s->info.abi = arch == STRAND_ARCH_X86_32 ? STRAND_ABI_WINDOWS_NT : STRAND_ABI_LINUX;
	s->info.created_unix_ns = 1764000000000000000ull;
	snprintf(s->info.recorder, sizeof s->info.recorder, "strand-test");
	snprintf(s->info.recorder_version, sizeof s->info.recorder_version, "0.1.0");
	bool w32 = arch == STRAND_ARCH_X86_32;
	uint64_t base = w32 ? 0x400000 : 0x555555554000ull;
	uint64_t stack = w32 ? 0x120000 : 0x7ffffffde000ull;

	s->syms[0] = (struct strand_symbol){ base + 0x1000, 0x40, STRAND_SYM_FUNC, "main", "" };
	s->syms[1] = (struct strand_symbol){ base + 0x1040, 0x20, STRAND_SYM_FUNC,
					     "_ZN3foo3barEv", "foo::bar()" };
	s->syms[2] = (struct strand_symbol){ base + 0x1800, 8, STRAND_SYM_OBJECT, "g_count", "" };
	for (size_t i = 0; i < sizeof s->image; i++)
		s->image[i] = (uint8_t)(i * 31 + (i >> 8));
	sample_cpu(&s->cpu0, 1, arch);
	sample_cpu(&s->cpu1, 2, arch);
	sample_cpu(&s->fxcpu, 3, arch);
	memcpy(s->argv, "app\0--flag\0", 11);

	struct strand_record *r;
	r = sample_add(s, STRAND_REC_MODULE, 1, 0);
	r->u.module = (struct strand_module){ 1, STRAND_MODULE_F_MAIN, base, 0x2000, 0x5f000000,
					      0x1234, w32 ? "app.exe" : "app",
					      w32 ? "C:\\app\\app.exe" : "/usr/bin/app", 3, s->syms };
	r = sample_add(s, STRAND_REC_MODULE, 1, 0);
	r->u.module = (struct strand_module){ 2, 0, base + 0x100000, 0x1000, 0, 0,
					      w32 ? "ntdll.dll" : "libc.so.6", "", 0, NULL };
	r = sample_add(s, STRAND_REC_REGION, 1, 0);
	r->u.region = (struct strand_mapchange){ STRAND_MAP_MAP, STRAND_PROT_READ | STRAND_PROT_EXEC,
						 base, sizeof s->image, STRAND_REGION_IMAGE,
						 w32 ? "app.exe" : "app", s->image };
	r = sample_add(s, STRAND_REC_REGION, 1, 0);
	r->u.region = (struct strand_mapchange){ STRAND_MAP_MAP, STRAND_PROT_READ | STRAND_PROT_WRITE,
						 stack, 0x22000, STRAND_REGION_STACK, "stack", NULL };
	r = sample_add(s, STRAND_REC_THREAD, 1, 0);
	r->u.thread = (struct strand_thread){ s->cpu0, stack + 0x22000, stack,
					      w32 ? 0x7ffdf000 : 0, "main" };
	r = sample_add(s, STRAND_REC_NOTE, 1, 0);
	r->u.note = (struct strand_note){ "argv", 11, s->argv };
	sample_add(s, STRAND_REC_SNAPSHOT_END, 1, 0);

	s->regs[0] = (struct strand_regval){ STRAND_REG_RAX, 0 };
	s->regs[1] = (struct strand_regval){ STRAND_REG_RCX, base + 0x1010 };
	s->regs[2] = (struct strand_regval){ STRAND_REG_RFLAGS, 0x202 };
	memset(s->wdata[0], 0xab, sizeof s->wdata[0]);
	memcpy(s->wdata[1], "hello from the kernel\n", 22);
	s->writes[0] = (struct strand_memwrite){ stack + 0x100, 24, s->wdata[0] };
	s->writes[1] = (struct strand_memwrite){ stack + 0x200, 22, s->wdata[1] };
	memset(s->mapdata, 0x5a, sizeof s->mapdata);
	s->maps[0] = (struct strand_mapchange){ STRAND_MAP_MAP, STRAND_PROT_READ | STRAND_PROT_WRITE,
						0x10000000, 4096, STRAND_REGION_FILE, "/etc/hosts",
						s->mapdata };
	s->maps[1] = (struct strand_mapchange){ STRAND_MAP_PROTECT, STRAND_PROT_READ, 0x10000000,
						4096, STRAND_REGION_OTHER, "", NULL };
	s->maps[2] = (struct strand_mapchange){ STRAND_MAP_UNMAP, 0, 0x20000000, 0x3000,
						STRAND_REGION_ANON, "", NULL };

	r = sample_add(s, STRAND_REC_SYSCALL, 1, 10);
	r->u.syscall.pc = base + 0x1008;
	r->u.syscall.number = w32 ? 0x25 : 0;
	r->u.syscall.nargs = 4;
	for (int i = 0; i < 4; i++)
		r->u.syscall.args[i] = 0x1000u * (unsigned)(i + 1);
	r->u.syscall.result = 22;
	r->u.syscall.fx = (struct strand_effects){ NULL, 3, s->regs, 1, s->maps, 2, s->writes };
	r = sample_add(s, STRAND_REC_NONDET, 1, 20);
	r->u.nondet.pc = base + 0x1020;
	r->u.nondet.kind = STRAND_NONDET_RDTSC;
	r->u.nondet.fx = (struct strand_effects){ NULL, 2, s->regs, 0, NULL, 0, NULL };
	r = sample_add(s, STRAND_REC_THREAD, 2, 21);
	r->u.thread = (struct strand_thread){ s->cpu1, 0, 0, 0, "" };
	sample_add(s, STRAND_REC_THREAD_SWITCH, 2, 21);
	r = sample_add(s, STRAND_REC_MEMORY, 2, 30);
	r->u.memory = (struct strand_effects){ NULL, 0, NULL, 2, s->maps + 1, 1, s->writes + 1 };
	r = sample_add(s, STRAND_REC_EXCEPTION, 2, 40);
	r->u.exception = (struct strand_exception){ w32 ? STRAND_EXC_EXCEPTION : STRAND_EXC_SIGNAL,
						    0, w32 ? 0xC0000005u : 11, base + 0x1030, 0x10,
						    { &s->fxcpu, 0, NULL, 0, NULL, 1, s->writes } };
	r = sample_add(s, STRAND_REC_MODULE, 2, 50);
	r->u.module = (struct strand_module){ 3, 0, 0x30000000, 0x4000, 0, 0,
					      w32 ? "ws2_32.dll" : "libssl.so.3", "", 1, s->syms };
	r = sample_add(s, STRAND_REC_MODULE_UNLOAD, 2, 60);
	r->u.module_id = 3;
	r = sample_add(s, STRAND_REC_OUTPUT, 2, 70);
	memcpy(s->out, "fatal error\n", 12);
	r->u.output = (struct strand_output){ 2, 12, s->out };
	s->kthreads[0].tid = 1;
	s->kthreads[0].cpu = s->cpu0;
	s->kthreads[1].tid = 2;
	s->kthreads[1].cpu = s->cpu1;
	s->digests[0] = (struct strand_digest){ base, 0x2000, strand_digest(s->image, 8192) };
	s->digests[1] = (struct strand_digest){ stack, 0x22000, 0x1234 };
	s->digests[2] = (struct strand_digest){ 0x10000000, 0x1000, 0x5678 };
	for (int i = 1; i < 3; i++) /* keyframe digests are sorted by addr */
		for (int j = i; j > 0 && s->digests[j].addr < s->digests[j - 1].addr; j--) {
			struct strand_digest t = s->digests[j];
			s->digests[j] = s->digests[j - 1];
			s->digests[j - 1] = t;
		}
	r = sample_add(s, STRAND_REC_KEYFRAME, 2, 80);
	r->u.keyframe = (struct strand_keyframe){ 2, s->kthreads, 3, s->digests };
	r = sample_add(s, STRAND_REC_THREAD_EXIT, 2, 90);
	r->u.exit_code = 0;
	r = sample_add(s, STRAND_REC_PROCESS_EXIT, 1, 100);
	r->u.exit_code = 3;
}

/* Write s's records to path; returns the first failure status. */
static strand_status sample_write(const struct sample *s, const char *path,
				  uint32_t chunk_size, strand_error *err)
{
	struct strand_writer_options opt = { chunk_size, 0 };
	struct strand_writer *w;
	strand_status st = strand_writer_open(path, &s->info, &opt, &w, err);
	if (st != STRAND_OK)
		return st;
	for (size_t i = 0; i < s->n; i++) {
		st = strand_writer_put(w, &s->recs[i], err);
		if (st != STRAND_OK) {
			strand_writer_abort(w);
			return st;
		}
	}
	return strand_writer_close(w, err);
}

#endif
