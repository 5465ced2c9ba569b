/*
 * Registers and cpuid answers of the ptrace recorder.
 *
 * cpuid: the tracee runs with cpuid faulting, so every cpuid traps and the
 * recorder answers.  The answer is the host's, with the features the replay
 * emulator (Unicorn 2.0.1, a QEMU 5 TCG) does not execute masked out, so
 * that glibc's ifunc resolvers choose their baseline SSE2 code: the leaf 1
 * features are QEMU's "qemu64" model (SSE, SSE2, SSE3, CX16; no SSSE3,
 * SSE4, POPCNT, XSAVE, AVX...), leaf 7 (AVX2, BMI, ERMS, AVX-512, AMX...)
 * and leaf 0xd (XSAVE) are zero.  Cache and topology leaves are the host's.
 */
#include <cpuid.h>
#include <string.h>

#include "record/ptrace/ptrace_rec.h"

void strand_ptrace_cpu_from(const struct user_regs_struct *r,
			    const struct user_fpregs_struct *fp,
			    struct strand_cpu *cpu)
{
	memset(cpu, 0, sizeof *cpu);
	cpu->gpr[STRAND_REG_RAX] = r->rax;
	cpu->gpr[STRAND_REG_RCX] = r->rcx;
	cpu->gpr[STRAND_REG_RDX] = r->rdx;
	cpu->gpr[STRAND_REG_RBX] = r->rbx;
	cpu->gpr[STRAND_REG_RSP] = r->rsp;
	cpu->gpr[STRAND_REG_RBP] = r->rbp;
	cpu->gpr[STRAND_REG_RSI] = r->rsi;
	cpu->gpr[STRAND_REG_RDI] = r->rdi;
	cpu->gpr[8] = r->r8;
	cpu->gpr[9] = r->r9;
	cpu->gpr[10] = r->r10;
	cpu->gpr[11] = r->r11;
	cpu->gpr[12] = r->r12;
	cpu->gpr[13] = r->r13;
	cpu->gpr[14] = r->r14;
	cpu->gpr[15] = r->r15;
	cpu->rip = r->rip;
	cpu->rflags = r->eflags;
	cpu->sel[STRAND_SEG_ES] = (uint16_t)r->es;
	cpu->sel[STRAND_SEG_CS] = (uint16_t)r->cs;
	cpu->sel[STRAND_SEG_SS] = (uint16_t)r->ss;
	cpu->sel[STRAND_SEG_DS] = (uint16_t)r->ds;
	cpu->sel[STRAND_SEG_FS] = (uint16_t)r->fs;
	cpu->sel[STRAND_SEG_GS] = (uint16_t)r->gs;
	cpu->fs_base = r->fs_base;
	cpu->gs_base = r->gs_base;
	if (fp)
		memcpy(cpu->fxsave, fp, sizeof cpu->fxsave < sizeof *fp ? sizeof cpu->fxsave
									 : sizeof *fp);
}

enum {
	L1_EDX_QEMU64 = 0x078bfbffu, /* fpu..sse2 without HTT, as QEMU's qemu64 */
	L1_ECX_QEMU64 = (1u << 0) | (1u << 13), /* SSE3, CX16 */
	E1_EDX_KEEP = (1u << 11) | (1u << 20) | (1u << 29), /* SYSCALL, NX, LM */
	E1_ECX_KEEP = 1u << 0, /* LAHF/SAHF in long mode */
	MAX_BASIC = 0xd,
	MAX_EXT = 0x80000008u,
};

void strand_ptrace_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	unsigned a = 0, b = 0, c = 0, d = 0;
	memset(out, 0, 4 * sizeof out[0]);
	if (leaf < 0x80000000u) {
		__cpuid_count(0, 0, a, b, c, d);
		unsigned max = a < MAX_BASIC ? a : MAX_BASIC;
		if (leaf > max)
			return;
		__cpuid_count(leaf, subleaf, a, b, c, d);
		switch (leaf) {
		case 0:
			a = max;
			break;
		case 1:
			c &= L1_ECX_QEMU64;
			d &= L1_EDX_QEMU64;
			b &= 0xff00ffffu; /* no logical processor count (HTT off) */
			break;
		case 2: case 4: case 0xb:
			break; /* caches and topology: the host's */
		default:
			a = b = c = d = 0; /* 3, 5-0xa, 0xc, 0xd (XSAVE): none */
			break;
		}
	} else if (leaf >= 0x80000000u && leaf <= MAX_EXT) {
		__cpuid_count(0x80000000u, 0, a, b, c, d);
		unsigned max = a < MAX_EXT ? a : MAX_EXT;
		if (leaf > max)
			return;
		__cpuid_count(leaf, subleaf, a, b, c, d);
		switch (leaf) {
		case 0x80000000u:
			a = max;
			break;
		case 0x80000001u:
			c &= E1_ECX_KEEP;
			d &= E1_EDX_KEEP;
			break;
		case 0x80000002u: case 0x80000003u: case 0x80000004u:
		case 0x80000005u: case 0x80000006u:
			break; /* brand string, caches */
		case 0x80000008u:
			b = c = d = 0; /* address sizes only */
			break;
		default:
			a = b = c = d = 0;
			break;
		}
	} else {
		return; /* hypervisor and other ranges: none */
	}
	out[0] = a;
	out[1] = b;
	out[2] = c;
	out[3] = d;
}
