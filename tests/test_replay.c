/* Replay core tests: traces built by tests/helpers/tracegen from nasm. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strand/replay.h"
#include "tests/helpers/tracegen.h"

#define CODE64 0x400000ull
#define DATA64 0x600000ull
#define STACK64 0x7ff000ull

static char *tmp_path(const char *tag)
{
	char *p = NULL;
	if (asprintf(&p, "/tmp/strand-test-replay-%s-%d.strand", tag, (int)getpid()) < 0)
		return NULL;
	return p;
}

/* Syscall handler: write(1) -> result = len; number 7 -> kernel writes
 * 8 bytes at args[0]; others -> number * 3. */
static void sys_handler(struct tg *g, void *ud, struct tg_syscall *s)
{
	(void)g;
	(void)ud;
	if (s->exit)
		return;
	if (s->number == 7) {
		uint64_t v = 0x1122334455667788ull ^ s->args[1];
		tg_sys_write(s, s->args[0], &v, 8);
		s->result = 0;
	} else {
		s->result = (uint64_t)s->number * 3;
	}
}

/* A 64-bit program: loops with memory traffic, a few syscalls, rdtsc,
 * cpuid, calls, then exit. ~ 50k instructions. */
static const char *prog64 =
	"BITS 64\n"
	"ORG 0x400000\n"
	"start:\n"
	"  mov rbx, 0x600000\n"
	"  mov r8, rbx\n"
	"  mov rcx, 2000\n"
	"loop1:\n"
	"  mov rax, [rbx]\n"
	"  add rax, rcx\n"
	"  mov [rbx+8], rax\n"
	"  xor [rbx+16], rax\n"
	"  call func\n"
	"  dec rcx\n"
	"  jnz loop1\n"
	"  mov eax, 5\n"
	"  syscall\n"
	"  mov [rbx+24], rax\n"
	"  rdtsc\n"
	"  mov [rbx+32], eax\n"
	"  mov eax, 0\n"
	"  cpuid\n"
	"  mov [r8+40], ebx\n"
	"  mov rbx, 0x600000\n"
	"  mov eax, 7\n"
	"  lea rdi, [rbx+48]\n"
	"  mov rsi, [rbx+8]\n"
	"  syscall\n"
	"  mov rax, [rbx+48]\n"
	"  mov rcx, 1000\n"
	"loop2:\n"
	"  add [rbx+56], rax\n"
	"  rol rax, 3\n"
	"  dec rcx\n"
	"  jnz loop2\n"
	"  mov eax, 60\n"
	"  xor edi, edi\n"
	"  syscall\n"
	"func:\n"
	"  push rcx\n"
	"  mov rdx, [rbx+16]\n"
	"  imul rdx, rdx, 3\n"
	"  mov [rbx+64], rdx\n"
	"  pop rcx\n"
	"  ret\n";

struct gen_opts {
	uint64_t keyframe_every;
	bool ordinal;
	bool switches;      /* two threads switching */
	uint64_t corrupt_syscall; /* 0 none; else alter result of this syscall number */
};

static char *make_trace64(const char *tag, const struct gen_opts *go, uint64_t *npos)
{
	char *path = tmp_path(tag);
	strand_error err;
	uint8_t *code;
	size_t len;
	cr_assert_eq(tg_asm(prog64, &code, &len, &err), STRAND_OK, "%s", err.msg);
	struct tg_opts o = { .arch = STRAND_ARCH_X86_64, .abi = STRAND_ABI_NONE,
			     .keyframe_every = go ? go->keyframe_every : 5000,
			     .ordinal = go && go->ordinal };
	struct tg *g;
	cr_assert_eq(tg_open(path, &o, &g, &err), STRAND_OK, "%s", err.msg);
	struct strand_symbol syms[] = {
		{ .addr = CODE64, .size = 0, .kind = STRAND_SYM_FUNC, .name = "start", .demangled = "" },
	};
	struct strand_module m = { .id = 1, .flags = STRAND_MODULE_F_MAIN, .base = CODE64,
				   .size = 0x1000, .name = "prog", .path = "/prog", .nsyms = 1,
				   .syms = syms };
	cr_assert_eq(tg_module(g, &m, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, CODE64, 0x1000, STRAND_PROT_READ | STRAND_PROT_EXEC,
			    STRAND_REGION_IMAGE, "prog", code, len, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, DATA64, 0x2000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_HEAP, "data", NULL, 0, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, STACK64, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_STACK, "stack", NULL, 0, &err), STRAND_OK, "%s", err.msg);
	struct strand_cpu c;
	tg_cpu_init(&c, CODE64, STACK64 + 0x800);
	cr_assert_eq(tg_thread(g, 100, &c, &err), STRAND_OK);
	if (go && go->switches) {
		/* a second thread running the same code on its own stack half */
		struct strand_cpu c2;
		tg_cpu_init(&c2, CODE64, STACK64 + 0xf00);
		c2.gpr[12] = 0x4242;
		cr_assert_eq(tg_at_thread(g, 300, 200, &c2, &err), STRAND_OK);
		cr_assert_eq(tg_at_switch(g, 1000, 200, &err), STRAND_OK);
		cr_assert_eq(tg_at_switch(g, 1777, 100, &err), STRAND_OK);
		cr_assert_eq(tg_at_switch(g, 2500, 200, &err), STRAND_OK);
		cr_assert_eq(tg_at_switch(g, 4001, 100, &err), STRAND_OK);
	}
	uint8_t bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	cr_assert_eq(tg_at_write(g, 12345, DATA64 + 0x100, bytes, 8, &err), STRAND_OK);
	cr_assert_eq(tg_at_map(g, 20000, 0x800000, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE, &err), STRAND_OK);
	tg_on_syscall(g, sys_handler, NULL);
	cr_assert_eq(tg_run(g, 10000000, &err), STRAND_OK, "%s", err.msg);
	if (npos)
		*npos = tg_position(g);
	cr_assert_eq(tg_close(g, &err), STRAND_OK, "%s", err.msg);
	free(code);
	return path;
}

static struct strand_replay *open_ok(const char *path, uint64_t interval)
{
	struct strand_replay_options o = { .checkpoint_interval = interval };
	struct strand_replay *r = NULL;
	strand_error err;
	strand_status st = strand_replay_open(path, &o, &r, &err);
	cr_assert_eq(st, STRAND_OK, "open: %s", err.msg);
	return r;
}

Test(replay, whole_trace_replays_exactly_when_x86_64)
{
	uint64_t n;
	char *path = make_trace64("whole", NULL, &n);
	struct strand_replay *r = open_ok(path, 0);
	cr_assert_eq(strand_replay_end(r), n);
	strand_error err;
	strand_status st = strand_replay_seek(r, strand_replay_end(r), &err);
	cr_assert_eq(st, STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_position(r), n);
	struct strand_replay_stats s;
	strand_replay_get_stats(r, &s);
	cr_assert_gt(s.keyframes_checked, 5);
	cr_assert_gt(s.events_applied, 5);
	uint64_t v;
	uint8_t buf[8];
	strand_replay_read(r, DATA64 + 48, buf, 8, NULL);
	memcpy(&v, buf, 8);
	cr_assert_neq(v, 0);
	strand_replay_close(r);
	unlink(path);
	free(path);
}
