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

/* Full observable state at the current position, for comparisons. */
struct snap {
	uint64_t pos;
	uint32_t tid;
	struct strand_cpu cpu;
	uint8_t data[0x2000];
};

static void take(struct strand_replay *r, struct snap *s)
{
	strand_error err;
	memset(s, 0, sizeof *s);
	s->pos = strand_replay_position(r);
	s->tid = strand_replay_thread(r);
	cr_assert_eq(strand_replay_cpu(r, &s->cpu, &err), STRAND_OK);
	strand_replay_read(r, DATA64, s->data, sizeof s->data, NULL);
}

static void same(const struct snap *a, const struct snap *b, const char *how)
{
	cr_assert_eq(a->pos, b->pos, "%s: position", how);
	cr_assert_eq(a->tid, b->tid, "%s: tid at %" PRIu64, how, a->pos);
	for (int i = 0; i < 16; i++)
		cr_assert_eq(a->cpu.gpr[i], b->cpu.gpr[i], "%s: gpr %d at %" PRIu64, how, i, a->pos);
	cr_assert_eq(a->cpu.rip, b->cpu.rip, "%s: rip at %" PRIu64, how, a->pos);
	cr_assert_eq(a->cpu.rflags & 0xcd5, b->cpu.rflags & 0xcd5, "%s: flags", how);
	cr_assert_eq(memcmp(a->data, b->data, sizeof a->data), 0, "%s: memory at %" PRIu64, how, a->pos);
}

static void check_consistency(uint64_t interval, uint64_t limit, const char *tag);

Test(replay, state_is_identical_when_reached_by_forward_seek_and_reverse)
{
	check_consistency(2048, 0, "consist");
}

Test(replay, state_is_identical_when_fine_checkpoints_are_used)
{
	/* interval 64k: backward motion creates fine checkpoints every 4k */
	check_consistency(65536, 0, "consist-fine");
}

Test(replay, state_is_identical_when_checkpoints_are_thinned)
{
	/* a memory limit far below what 1k-instruction checkpoints need:
	 * checkpoints are merged repeatedly */
	check_consistency(1024, 256 * 1024, "consist-thin");
}

static void check_consistency(uint64_t interval, uint64_t limit, const char *tag)
{
	struct gen_opts go = { .keyframe_every = 3000, .switches = true };
	uint64_t n;
	char *path = make_trace64(tag, &go, &n);
	/* reference: single steps forward over a prefix, snapshots at probes */
	static const uint64_t probes[] = { 0, 1, 2, 299, 300, 301, 999, 1000, 1001, 1776, 1777,
					   4000, 4001, 5000, 12344, 12345, 12346, 19999, 20000 };
	enum { NP = sizeof probes / sizeof *probes };
	static struct snap ref[NP], got;
	struct strand_replay_options ro = { .checkpoint_interval = interval,
					    .checkpoint_memory_limit = limit };
	struct strand_replay *r = NULL;
	strand_error err;
	cr_assert_eq(strand_replay_open(path, &ro, &r, &err), STRAND_OK, "%s", err.msg);
	size_t k = 0;
	while (k < NP) {
		if (strand_replay_position(r) == probes[k]) {
			take(r, &ref[k]);
			k++;
			continue;
		}
		cr_assert_eq(strand_replay_step(r, 1, &err), STRAND_OK, "%s", err.msg);
	}
	/* seek forward and backward in a scrambled order */
	static const int order[] = { 18, 3, 0, 17, 9, 10, 8, 1, 14, 16, 15, 2, 12, 11, 5, 4, 7, 6, 13 };
	for (size_t i = 0; i < NP; i++) {
		int j = order[i];
		cr_assert_eq(strand_replay_seek(r, probes[j], &err), STRAND_OK, "%s", err.msg);
		take(r, &got);
		same(&ref[j], &got, "seek");
	}
	/* reverse single steps from the end of the prefix */
	cr_assert_eq(strand_replay_seek(r, 20000, &err), STRAND_OK);
	for (int j = NP - 1; j >= 0; j--) {
		while (strand_replay_position(r) > probes[j])
			cr_assert_eq(strand_replay_step(r, -1, &err), STRAND_OK, "%s", err.msg);
		take(r, &got);
		same(&ref[j], &got, "reverse step");
	}
	/* reverse continue to a position stop */
	struct strand_stop s = { .kind = STRAND_STOP_POSITION, .position = 4001, .enabled = true };
	uint32_t id;
	cr_assert_eq(strand_replay_stop_add(r, &s, &id, &err), STRAND_OK);
	cr_assert_eq(strand_replay_seek(r, 30000, &err), STRAND_OK);
	struct strand_stop_hit hit;
	cr_assert_eq(strand_replay_run(r, STRAND_BACKWARD, &hit, &err), STRAND_STOPPED, "%s", err.msg);
	cr_assert_eq(hit.position, 4001);
	take(r, &got);
	same(&ref[12], &got, "reverse continue");
	/* and to the end */
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	if (limit) {
		struct strand_replay_stats st;
		strand_replay_get_stats(r, &st);
		cr_assert_lt(st.checkpoints, n / interval, "thinned: %" PRIu64, st.checkpoints);
		/* and still consistent after thinning */
		for (int j = NP - 1; j >= 0; j--) {
			cr_assert_eq(strand_replay_seek(r, probes[j], &err), STRAND_OK, "%s", err.msg);
			take(r, &got);
			same(&ref[j], &got, "seek after thinning");
		}
	}
	strand_replay_close(r);
	unlink(path);
	free(path);
}

Test(replay, threads_switch_at_recorded_positions)
{
	struct gen_opts go = { .keyframe_every = 1000, .switches = true };
	char *path = make_trace64("threads", &go, NULL);
	struct strand_replay *r = open_ok(path, 0);
	strand_error err;
	cr_assert_eq(strand_replay_seek(r, 999, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_thread(r), 100);
	cr_assert_eq(strand_replay_seek(r, 1000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_thread(r), 200);
	uint64_t v;
	cr_assert_eq(strand_replay_reg(r, "r12", &v), STRAND_OK);
	cr_assert_eq(v, 0x4242);
	uint32_t tids[4], nt;
	strand_replay_threads(r, tids, 4, &nt);
	cr_assert_eq(nt, 2);
	cr_assert_eq(strand_replay_seek(r, 1777, &err), STRAND_OK);
	cr_assert_eq(strand_replay_thread(r), 100);
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	strand_replay_close(r);
	unlink(path);
	free(path);
}

/* Corrupt one event: rewrite the trace with the result of syscall 5
 * changed; replay must fail at the next key frame naming rax... and at
 * the right position. */
Test(replay, divergence_is_reported_at_position_when_event_corrupted)
{
	uint64_t n;
	char *path = make_trace64("div-src", NULL, &n);
	char *bad = tmp_path("div-bad");
	strand_error err;
	struct strand_reader *rd;
	cr_assert_eq(strand_reader_open(path, &rd, &err), STRAND_OK);
	struct strand_writer *w;
	cr_assert_eq(strand_writer_open(bad, strand_reader_info(rd), NULL, &w, &err), STRAND_OK);
	const struct strand_record *rec;
	uint64_t syspos = 0, kfpos = UINT64_MAX;
	while (strand_reader_next(rd, &rec, &err) == STRAND_OK) {
		struct strand_record c = *rec;
		struct strand_regval rv[8];
		if (c.type == STRAND_REC_SYSCALL && c.u.syscall.number == 5) {
			syspos = c.position;
			cr_assert_leq(c.u.syscall.fx.nregs, 8);
			memcpy(rv, c.u.syscall.fx.regs, c.u.syscall.fx.nregs * sizeof *rv);
			rv[0].value ^= 0x100;
			c.u.syscall.fx.regs = rv;
			c.u.syscall.result ^= 0x100;
		}
		if (c.type == STRAND_REC_KEYFRAME && syspos && kfpos == UINT64_MAX)
			kfpos = c.position;
		cr_assert_eq(strand_writer_put(w, &c, &err), STRAND_OK, "%s", err.msg);
	}
	cr_assert_eq(strand_writer_close(w, &err), STRAND_OK);
	strand_reader_close(rd);
	struct strand_replay *r = open_ok(bad, 0);
	strand_status st = strand_replay_seek(r, strand_replay_end(r), &err);
	cr_assert_eq(st, STRAND_ERR_DIVERGENCE);
	char want[64];
	snprintf(want, sizeof want, "position %" PRIu64 ":", kfpos);
	cr_assert(strstr(err.msg, want), "message: %s (want %s)", err.msg, want);
	cr_assert(strstr(err.msg, "registers differ") || strstr(err.msg, "differs"), "%s", err.msg);
	/* no motion past the divergence; backward still works */
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_ERR_DIVERGENCE);
	cr_assert_eq(strand_replay_seek(r, 10, &err), STRAND_OK, "%s", err.msg);
	strand_replay_close(r);
	unlink(path);
	unlink(bad);
	free(path);
	free(bad);
}

Test(replay, divergence_names_instruction_when_syscall_pc_wrong)
{
	uint64_t n;
	char *path = make_trace64("div2-src", NULL, &n);
	char *bad = tmp_path("div2-bad");
	strand_error err;
	struct strand_reader *rd;
	cr_assert_eq(strand_reader_open(path, &rd, &err), STRAND_OK);
	struct strand_writer *w;
	cr_assert_eq(strand_writer_open(bad, strand_reader_info(rd), NULL, &w, &err), STRAND_OK);
	const struct strand_record *rec;
	uint64_t syspos = 0;
	while (strand_reader_next(rd, &rec, &err) == STRAND_OK) {
		struct strand_record c = *rec;
		if (c.type == STRAND_REC_SYSCALL && c.u.syscall.number == 7) {
			c.position -= 1; /* one instruction early */
			syspos = c.position;
		}
		cr_assert_eq(strand_writer_put(w, &c, &err), STRAND_OK, "%s", err.msg);
	}
	cr_assert_eq(strand_writer_close(w, &err), STRAND_OK);
	strand_reader_close(rd);
	struct strand_replay *r = open_ok(bad, 0);
	strand_status st = strand_replay_seek(r, strand_replay_end(r), &err);
	cr_assert_eq(st, STRAND_ERR_DIVERGENCE);
	char want[64];
	snprintf(want, sizeof want, "position %" PRIu64 ":", syspos);
	cr_assert(strstr(err.msg, want), "message: %s", err.msg);
	cr_assert(strstr(err.msg, "mov"), "names the instruction: %s", err.msg);
	strand_replay_close(r);
	unlink(path);
	unlink(bad);
	free(path);
	free(bad);
}

Test(replay, breakpoints_stop_forward_and_backward)
{
	char *path = make_trace64("bp", NULL, NULL);
	struct strand_replay *r = open_ok(path, 4096);
	strand_error err;
	uint64_t func;
	/* func: the address of "push rcx" = look it up by decoding: it is the
	 * call target; step until the first call and take its target */
	struct strand_stop_hit hit;
	cr_assert_eq(strand_replay_lookup(r, "prog!start", &func), STRAND_OK);
	cr_assert_eq(func, CODE64);
	/* find func via disassembly of the call */
	uint64_t pc = CODE64;
	char dis[128];
	uint32_t il;
	for (int i = 0; i < 20; i++) {
		strand_replay_disas(r, pc, dis, sizeof dis, &il);
		if (strncmp(dis, "call", 4) == 0)
			break;
		pc += il;
	}
	cr_assert_eq(strncmp(dis, "call", 4), 0, "%s", dis);
	func = strtoull(dis + 5, NULL, 16);
	struct strand_stop s = { .kind = STRAND_STOP_BREAK, .addr = func, .enabled = true };
	uint32_t id;
	cr_assert_eq(strand_replay_stop_add(r, &s, &id, &err), STRAND_OK);
	uint64_t hits[5];
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(strand_replay_run(r, STRAND_FORWARD, &hit, &err), STRAND_STOPPED, "%s", err.msg);
		cr_assert_eq(hit.stop_id, id);
		cr_assert_eq(hit.addr, func);
		uint64_t rip;
		strand_replay_reg(r, "rip", &rip);
		cr_assert_eq(rip, func);
		hits[i] = strand_replay_position(r);
		if (i)
			cr_assert_gt(hits[i], hits[i - 1]);
	}
	/* loop1 body: 5 + call + 6 in func = 13 instructions per iteration */
	cr_assert_eq(hits[1] - hits[0], 13);
	for (int i = 3; i >= 0; i--) {
		cr_assert_eq(strand_replay_run(r, STRAND_BACKWARD, &hit, &err), STRAND_STOPPED, "%s", err.msg);
		cr_assert_eq(strand_replay_position(r), hits[i]);
	}
	cr_assert_eq(strand_replay_run(r, STRAND_BACKWARD, &hit, &err), STRAND_END);
	cr_assert_eq(strand_replay_position(r), 0);
	/* far backward: across checkpoints */
	cr_assert_eq(strand_replay_seek(r, 20000, &err), STRAND_OK);
	cr_assert_eq(strand_replay_run(r, STRAND_BACKWARD, &hit, &err), STRAND_STOPPED, "%s", err.msg);
	uint64_t last = strand_replay_position(r);
	cr_assert_lt(last, 20000);
	cr_assert_eq((last - hits[0]) % 13, 0);
	strand_replay_close(r);
	unlink(path);
	free(path);
}

Test(replay, watchpoints_stop_after_access_forward_and_backward)
{
	char *path = make_trace64("watch", NULL, NULL);
	struct strand_replay *r = open_ok(path, 4096);
	strand_error err;
	struct strand_stop s = { .kind = STRAND_STOP_WATCH, .addr = DATA64 + 64, .len = 8,
				 .access = STRAND_WATCH_WRITE, .enabled = true };
	uint32_t id;
	cr_assert_eq(strand_replay_stop_add(r, &s, &id, &err), STRAND_OK);
	struct strand_stop_hit hit;
	uint64_t hits[3];
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(strand_replay_run(r, STRAND_FORWARD, &hit, &err), STRAND_STOPPED, "%s", err.msg);
		cr_assert_eq(hit.kind, STRAND_STOP_WATCH);
		cr_assert_eq(hit.addr, DATA64 + 64);
		cr_assert_eq(hit.access, STRAND_WATCH_WRITE);
		hits[i] = strand_replay_position(r);
		cr_assert_eq(hit.position, hits[i]);
		/* stopped after the write: the previous instruction is the store */
		char dis[64];
		uint64_t rip;
		strand_replay_reg(r, "rip", &rip);
		strand_replay_disas(r, rip, dis, sizeof dis, NULL);
		cr_assert_eq(strncmp(dis, "pop", 3), 0, "at %s", dis);
	}
	cr_assert_eq(hits[1] - hits[0], 13);
	cr_assert_eq(strand_replay_run(r, STRAND_BACKWARD, &hit, &err), STRAND_STOPPED, "%s", err.msg);
	cr_assert_eq(strand_replay_position(r), hits[1]);
	cr_assert_eq(hit.kind, STRAND_STOP_WATCH);
	/* read watch on [rbx+16] (xor reads it, func reads it) */
	strand_replay_stop_del(r, id);
	struct strand_stop s2 = { .kind = STRAND_STOP_WATCH, .addr = DATA64 + 16, .len = 1,
				  .access = STRAND_WATCH_READ, .enabled = true };
	cr_assert_eq(strand_replay_stop_add(r, &s2, &id, &err), STRAND_OK);
	cr_assert_eq(strand_replay_run(r, STRAND_FORWARD, &hit, &err), STRAND_STOPPED, "%s", err.msg);
	cr_assert_eq(hit.access, STRAND_WATCH_READ);
	strand_replay_close(r);
	unlink(path);
	free(path);
}

Test(replay, event_stops_find_syscalls_both_ways)
{
	char *path = make_trace64("evstop", NULL, NULL);
	struct strand_replay *r = open_ok(path, 4096);
	strand_error err;
	struct strand_stop s = { .kind = STRAND_STOP_EVENT, .rec_type = STRAND_REC_SYSCALL, .enabled = true };
	uint32_t id;
	cr_assert_eq(strand_replay_stop_add(r, &s, &id, &err), STRAND_OK);
	struct strand_stop_hit hit;
	cr_assert_eq(strand_replay_run(r, STRAND_FORWARD, &hit, &err), STRAND_STOPPED, "%s", err.msg);
	const struct strand_record *ev = strand_replay_last_event(r);
	cr_assert_not_null(ev);
	cr_assert_eq(ev->type, STRAND_REC_SYSCALL);
	cr_assert_eq(ev->u.syscall.number, 5);
	uint64_t first = strand_replay_position(r);
	uint64_t rax;
	strand_replay_reg(r, "rax", &rax);
	cr_assert_eq(rax, 15);
	cr_assert_eq(strand_replay_run(r, STRAND_FORWARD, &hit, &err), STRAND_STOPPED, "%s", err.msg);
	ev = strand_replay_last_event(r);
	cr_assert_eq(ev->u.syscall.number, 7);
	cr_assert_eq(strand_replay_run(r, STRAND_BACKWARD, &hit, &err), STRAND_STOPPED, "%s", err.msg);
	cr_assert_eq(strand_replay_position(r), first);
	strand_replay_close(r);
	unlink(path);
	free(path);
}

static uint64_t n_insn, n_calls, n_rets, n_events, n_mem, last_insn_pos;
static bool insn_order_ok = true;
static void on_insn(struct strand_replay *r, void *ud, uint64_t p, uint64_t pc, uint32_t size)
{
	if (n_insn && p != last_insn_pos + 1 && p != last_insn_pos + 2)
		insn_order_ok = false; /* +2: a consumed syscall in between */
	last_insn_pos = p;
	n_insn++;
}
static void on_call(struct strand_replay *r, void *ud, const struct strand_call_info *c) { n_calls++; }
static void on_ret(struct strand_replay *r, void *ud, const struct strand_call_info *c) { n_rets++; }
static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec, bool after)
{
	if (after)
		n_events++;
}
static void on_mem(struct strand_replay *r, void *ud, uint64_t p, uint64_t pc, uint64_t a,
		   uint32_t size, bool w, uint64_t v)
{
	n_mem++;
}

Test(replay, observers_see_each_instruction_once_even_after_backward_motion)
{
	uint64_t n;
	char *path = make_trace64("obs", NULL, &n);
	struct strand_replay *r = open_ok(path, 4096);
	strand_error err;
	strand_replay_on_insn(r, on_insn, NULL);
	strand_replay_on_call(r, on_call, NULL);
	strand_replay_on_ret(r, on_ret, NULL);
	strand_replay_on_event(r, on_event, NULL);
	strand_replay_on_mem(r, on_mem, STRAND_WATCH_READ | STRAND_WATCH_WRITE, NULL);
	cr_assert_eq(strand_replay_seek(r, 10000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_seek(r, 3000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	struct strand_replay_stats st;
	strand_replay_get_stats(r, &st);
	/* every instruction executed once, except consumed ones (4 syscalls
	 * minus exit + rdtsc + cpuid are not executed) */
	cr_assert_eq(n_insn, n - 4, "insns %" PRIu64 " of %" PRIu64, n_insn, n);
	cr_assert(insn_order_ok);
	cr_assert_eq(n_calls, 2000);
	cr_assert_eq(n_rets, 2000);
	cr_assert_eq(n_events, st.events_applied - (st.events_applied - n_events));
	cr_assert_gt(n_mem, 2000 * 5);
	strand_replay_close(r);
	unlink(path);
	free(path);
}

Test(replay, finalize_turns_ordinal_positions_into_exact_ones)
{
	struct gen_opts go = { .keyframe_every = 0, .ordinal = true };
	uint64_t n;
	char *path = make_trace64("ord", &go, &n);
	char *out = tmp_path("ord-final");
	strand_error err;
	/* replay refuses ordinal traces */
	struct strand_replay *r = NULL;
	cr_assert_eq(strand_replay_open(path, NULL, &r, &err), STRAND_ERR_UNSUPPORTED);
	cr_assert_eq(strand_finalize_positions(path, out, &err), STRAND_OK, "%s", err.msg);
	r = open_ok(out, 0);
	cr_assert_eq(strand_replay_end(r), n);
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	struct strand_replay_stats st;
	strand_replay_get_stats(r, &st);
	cr_assert_geq(st.keyframes_checked, 1);
	strand_replay_close(r);
	/* the exact trace from tracegen has the same positions */
	char *exact = make_trace64("ord-exact", &(struct gen_opts){ .keyframe_every = 0 }, NULL);
	struct strand_reader *a, *b;
	cr_assert_eq(strand_reader_open(out, &a, &err), STRAND_OK);
	cr_assert_eq(strand_reader_open(exact, &b, &err), STRAND_OK);
	const struct strand_record *ra, *rb;
	for (;;) {
		strand_status sa = strand_reader_next(a, &ra, &err);
		strand_status sb = strand_reader_next(b, &rb, &err);
		cr_assert_eq(sa, sb);
		if (sa != STRAND_OK)
			break;
		cr_assert_eq(ra->type, rb->type);
		if (ra->type == STRAND_REC_SYSCALL || ra->type == STRAND_REC_NONDET ||
		    ra->type == STRAND_REC_PROCESS_EXIT)
			cr_assert_eq(ra->position, rb->position, "%s", strand_rec_type_str(ra->type));
	}
	strand_reader_close(a);
	strand_reader_close(b);
	unlink(path);
	unlink(out);
	unlink(exact);
	free(path);
	free(out);
	free(exact);
}

Test(replay, step_over_skips_calls_and_step_out_returns_to_caller)
{
	char *path = make_trace64("stepover", NULL, NULL);
	struct strand_replay *r = open_ok(path, 4096);
	strand_error err;
	char dis[64];
	uint64_t rip;
	/* walk to the first call */
	for (;;) {
		strand_replay_reg(r, "rip", &rip);
		strand_replay_disas(r, rip, dis, sizeof dis, NULL);
		if (!strncmp(dis, "call", 4))
			break;
		cr_assert_eq(strand_replay_step(r, 1, &err), STRAND_OK);
	}
	uint64_t at_call = strand_replay_position(r);
	uint64_t call_pc = rip;
	cr_assert_eq(strand_replay_step_over(r, STRAND_FORWARD, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_position(r), at_call + 7); /* call + 6 in func */
	strand_replay_reg(r, "rip", &rip);
	cr_assert_eq(rip, call_pc + 5);
	/* backward step over lands on the call again */
	cr_assert_eq(strand_replay_step_over(r, STRAND_BACKWARD, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_position(r), at_call);
	/* step into, two steps, step out -> after the call */
	cr_assert_eq(strand_replay_step(r, 3, &err), STRAND_OK);
	cr_assert_eq(strand_replay_step_out(r, STRAND_FORWARD, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_position(r), at_call + 7);
	/* back into func and step out backward -> the call */
	cr_assert_eq(strand_replay_step(r, -3, &err), STRAND_OK);
	cr_assert_eq(strand_replay_step_out(r, STRAND_BACKWARD, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_position(r), at_call);
	strand_replay_close(r);
	unlink(path);
	free(path);
}

Test(replay, state_queries_report_names_symbols_and_unmapped_bytes)
{
	char *path = make_trace64("state", NULL, NULL);
	struct strand_replay *r = open_ok(path, 0);
	strand_error err;
	cr_assert_eq(strand_replay_step(r, 3, &err), STRAND_OK);
	uint64_t v;
	cr_assert_eq(strand_replay_reg(r, "rbx", &v), STRAND_OK);
	cr_assert_eq(v, DATA64);
	cr_assert_eq(strand_replay_reg(r, "ebx", &v), STRAND_OK);
	cr_assert_eq(v, DATA64);
	cr_assert_eq(strand_replay_reg(r, "cx", &v), STRAND_OK);
	cr_assert_eq(v, 2000);
	cr_assert_eq(strand_replay_reg(r, "ch", &v), STRAND_OK);
	cr_assert_eq(v, 2000 >> 8);
	cr_assert_eq(strand_replay_reg(r, "nosuch", &v), STRAND_NOT_FOUND);
	char buf[128];
	cr_assert_eq(strand_replay_symbolize(r, CODE64 + 0x10, buf, sizeof buf), STRAND_OK);
	cr_assert_str_eq(buf, "prog!start+0x10");
	uint8_t b[16], valid[16];
	size_t m = strand_replay_read(r, DATA64 + 0x2000 - 8, b, 16, valid);
	cr_assert_eq(m, 8);
	cr_assert_eq(valid[7], 1);
	cr_assert_eq(valid[8], 0);
	cr_assert_eq(strand_replay_read(r, 0x10, b, 16, NULL), 0);
	uint32_t il;
	cr_assert_eq(strand_replay_disas(r, CODE64, buf, sizeof buf, &il), STRAND_OK);
	cr_assert_str_eq(buf, "mov ebx, 0x600000");
	uint32_t nm;
	const struct strand_module *const *mods = strand_replay_modules(r, &nm);
	cr_assert_eq(nm, 1);
	cr_assert_str_eq(mods[0]->name, "prog");
	strand_replay_close(r);
	unlink(path);
	free(path);
}

/* ---- x86-32: int 0x80, sysenter, rdtsc, a GDT and two threads whose FS
 * selects their own TEB ---- */

#define GDT32 0x80000000u
#define TEB1 0x7ffde000u
#define TEB2 0x7ffdd000u

static const char *prog32 =
	"BITS 32\n"
	"ORG 0x400000\n"
	"  mov ebx, 0x600000\n"
	"  mov ecx, 3000\n"
	"l1:\n"
	"  mov eax, [ebx]\n"
	"  add eax, ecx\n"
	"  mov [ebx+4], eax\n"
	"  dec ecx\n"
	"  jnz l1\n"
	"  mov eax, 20\n"
	"  int 0x80\n"
	"  mov [ebx+8], eax\n"
	"  mov eax, 5\n"
	"  mov edx, esp\n"
	"  sysenter\n"
	"  mov [ebx+12], eax\n"
	"  mov eax, [fs:0x18]\n"
	"  add [ebx+16], eax\n"
	"  rdtsc\n"
	"  mov [ebx+20], eax\n"
	"  mov ecx, 2000\n"
	"l2:\n"
	"  add [ebx+24], ecx\n"
	"  mov eax, [fs:0x18]\n"
	"  dec ecx\n"
	"  jnz l2\n"
	"  mov eax, 1\n"
	"  xor ebx, ebx\n"
	"  int 0x80\n";

static void gdt_put(uint8_t *d, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	d[0] = limit & 0xff;
	d[1] = (limit >> 8) & 0xff;
	d[2] = base & 0xff;
	d[3] = (base >> 8) & 0xff;
	d[4] = (base >> 16) & 0xff;
	d[5] = access;
	d[6] = (uint8_t)(((limit >> 16) & 0x0f) | (flags << 4));
	d[7] = base >> 24;
}

static void cpu32(struct strand_cpu *c, uint32_t esp, uint32_t teb)
{
	tg_cpu_init(c, 0x400000, esp);
	c->sel[STRAND_SEG_CS] = 0x1b;
	c->sel[STRAND_SEG_SS] = 0x23;
	c->sel[STRAND_SEG_DS] = 0x23;
	c->sel[STRAND_SEG_ES] = 0x23;
	c->sel[STRAND_SEG_FS] = 0x3b;
	c->fs_base = teb;
	c->gdt_base = GDT32;
	c->gdt_limit = 0x7f;
}

static char *make_trace32(const char *tag, uint64_t *npos)
{
	char *path = tmp_path(tag);
	strand_error err;
	uint8_t *code;
	size_t len;
	cr_assert_eq(tg_asm(prog32, &code, &len, &err), STRAND_OK, "%s", err.msg);
	struct tg_opts o = { .arch = STRAND_ARCH_X86_32, .abi = STRAND_ABI_WINDOWS_NT,
			     .keyframe_every = 2500 };
	struct tg *g;
	cr_assert_eq(tg_open(path, &o, &g, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, 0x400000, 0x1000, STRAND_PROT_READ | STRAND_PROT_EXEC,
			    STRAND_REGION_IMAGE, "prog32", code, len, &err), STRAND_OK);
	cr_assert_eq(tg_map(g, 0x600000, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_HEAP, "data", NULL, 0, &err), STRAND_OK);
	cr_assert_eq(tg_map(g, 0x700000, 0x2000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_STACK, "stack", NULL, 0, &err), STRAND_OK);
	uint8_t teb[0x1000] = { 0 };
	uint32_t self = TEB2;
	memcpy(teb + 0x18, &self, 4);
	cr_assert_eq(tg_map(g, TEB2, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_TEB, "teb2", teb, sizeof teb, &err), STRAND_OK);
	self = TEB1;
	memcpy(teb + 0x18, &self, 4);
	cr_assert_eq(tg_map(g, TEB1, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_TEB, "teb1", teb, sizeof teb, &err), STRAND_OK);
	uint8_t gdt[0x1000] = { 0 };
	gdt_put(gdt + 0x08, 0, 0xfffff, 0x9b, 0xc);
	gdt_put(gdt + 0x10, 0, 0xfffff, 0x93, 0xc);
	gdt_put(gdt + 0x18, 0, 0xfffff, 0xfb, 0xc);
	gdt_put(gdt + 0x20, 0, 0xfffff, 0xf3, 0xc);
	gdt_put(gdt + 0x38, TEB1, 0xfff, 0xf3, 0x4);
	cr_assert_eq(tg_map(g, GDT32, 0x1000, STRAND_PROT_READ, STRAND_REGION_GDT, "gdt", gdt,
			    sizeof gdt, &err), STRAND_OK);
	struct strand_cpu c1, c2;
	cpu32(&c1, 0x700800, TEB1);
	cpu32(&c2, 0x701800, TEB2);
	cr_assert_eq(tg_thread(g, 1, &c1, &err), STRAND_OK);
	cr_assert_eq(tg_at_thread(g, 100, 2, &c2, &err), STRAND_OK);
	cr_assert_eq(tg_at_switch(g, 700, 2, &err), STRAND_OK);
	cr_assert_eq(tg_at_switch(g, 16000, 1, &err), STRAND_OK);
	tg_on_syscall(g, sys_handler, NULL);
	cr_assert_eq(tg_run(g, 10000000, &err), STRAND_OK, "%s", err.msg);
	if (npos)
		*npos = tg_position(g);
	cr_assert_eq(tg_close(g, &err), STRAND_OK, "%s", err.msg);
	free(code);
	return path;
}

Test(replay, x86_32_trace_with_gdt_threads_replays_exactly)
{
	uint64_t n;
	char *path = make_trace32("x32", &n);
	struct strand_replay *r = open_ok(path, 4096);
	strand_error err;
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_position(r), n);
	struct strand_replay_stats s;
	strand_replay_get_stats(r, &s);
	cr_assert_geq(s.keyframes_checked, 5);
	/* each thread read its own TEB through FS */
	uint32_t v;
	strand_replay_read(r, 0x600000 + 16, &v, 4, NULL);
	cr_assert_eq(v, TEB1 + TEB2, "fs:[0x18] sum 0x%x", v);
	/* back into thread 2's stretch: FS base and eax from fs:[0x18] */
	cr_assert_eq(strand_replay_seek(r, 15900, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_thread(r), 2);
	uint64_t fsb, fs;
	cr_assert_eq(strand_replay_reg(r, "fs_base", &fsb), STRAND_OK);
	cr_assert_eq(fsb, TEB2);
	cr_assert_eq(strand_replay_reg(r, "fs", &fs), STRAND_OK);
	cr_assert_eq(fs, 0x3b);
	cr_assert_eq(strand_replay_step(r, -15300, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_thread(r), 1);
	cr_assert_eq(strand_replay_reg(r, "fs_base", &fsb), STRAND_OK);
	cr_assert_eq(fsb, TEB1);
	strand_replay_close(r);
	unlink(path);
	free(path);
}

/* ---- every other event kind: exception, output, module load/unload,
 * thread create/exit ---- */

static const char *prog_ev =
	"BITS 64\n"
	"ORG 0x400000\n"
	"  mov rbx, 0x600000\n"
	"  mov rcx, 100\n"
	"a:\n"
	"  inc qword [rbx]\n"
	"  dec rcx\n"
	"  jnz a\n"
	"  ud2\n"                /* position 302: an exception moves to handler */
	"handler:\n"
	"  mov rcx, 100\n"
	"b:\n"
	"  inc qword [rbx+8]\n"
	"  dec rcx\n"
	"  jnz b\n"
	"  mov eax, 60\n"
	"  syscall\n";

static uint64_t out_bytes;
static int n_exc, n_mod;
static void ev_cb(struct strand_replay *r, void *ud, const struct strand_record *rec, bool after)
{
	if (!after)
		return;
	if (rec->type == STRAND_REC_OUTPUT)
		out_bytes += rec->u.output.len;
	if (rec->type == STRAND_REC_EXCEPTION)
		n_exc++;
	if (rec->type == STRAND_REC_MODULE)
		n_mod++;
}

Test(replay, exception_output_module_and_thread_events_apply_at_positions)
{
	char *path = tmp_path("events");
	strand_error err;
	uint8_t *code;
	size_t len;
	cr_assert_eq(tg_asm(prog_ev, &code, &len, &err), STRAND_OK, "%s", err.msg);
	struct tg_opts o = { .arch = STRAND_ARCH_X86_64, .keyframe_every = 100 };
	struct tg *g;
	cr_assert_eq(tg_open(path, &o, &g, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, CODE64, 0x1000, STRAND_PROT_READ | STRAND_PROT_EXEC,
			    STRAND_REGION_IMAGE, "prog", code, len, &err), STRAND_OK);
	cr_assert_eq(tg_map(g, DATA64, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_HEAP, "data", NULL, 0, &err), STRAND_OK);
	cr_assert_eq(tg_map(g, 0x900000, 0x1000, STRAND_PROT_READ, STRAND_REGION_IMAGE, "lib",
			    NULL, 0, &err), STRAND_OK);
	struct strand_cpu c;
	tg_cpu_init(&c, CODE64, 0);
	cr_assert_eq(tg_thread(g, 7, &c, &err), STRAND_OK);
	uint64_t handler = CODE64 + len - 25;
	/* find handler: the instruction after ud2 (0f 0b) */
	for (size_t i = 0; i + 1 < len; i++)
		if (code[i] == 0x0f && code[i + 1] == 0x0b)
			handler = CODE64 + i + 2;
	cr_assert_eq(tg_at_exception(g, 302, 0xC000001D, handler, &err), STRAND_OK);
	static struct strand_symbol lsyms[] = {
		{ .addr = 0x900100, .size = 0x20, .kind = STRAND_SYM_FUNC, .name = "lib_func", .demangled = "" },
	};
	static struct strand_record mod = { .type = STRAND_REC_MODULE,
		.u.module = { .id = 9, .base = 0x900000, .size = 0x1000, .name = "lib.so",
			      .path = "/lib.so", .nsyms = 1, .syms = lsyms } };
	static struct strand_record unload = { .type = STRAND_REC_MODULE_UNLOAD, .u.module_id = 9 };
	static struct strand_record out = { .type = STRAND_REC_OUTPUT,
		.u.output = { .stream = 1, .len = 6, .data = (const uint8_t *)"hello\n" } };
	static struct strand_record texit = { .type = STRAND_REC_THREAD_EXIT, .tid = 8 };
	struct strand_cpu c8;
	tg_cpu_init(&c8, CODE64, 0);
	cr_assert_eq(tg_at_record(g, 50, &mod, &err), STRAND_OK);
	cr_assert_eq(tg_at_record(g, 60, &out, &err), STRAND_OK);
	cr_assert_eq(tg_at_thread(g, 70, 8, &c8, &err), STRAND_OK);
	cr_assert_eq(tg_at_record(g, 80, &texit, &err), STRAND_OK);
	cr_assert_eq(tg_at_record(g, 400, &unload, &err), STRAND_OK);
	cr_assert_eq(tg_run(g, 100000, &err), STRAND_OK, "%s", err.msg);
	uint64_t n = tg_position(g);
	cr_assert_eq(tg_close(g, &err), STRAND_OK);
	free(code);

	struct strand_replay *r = open_ok(path, 128);
	strand_replay_on_event(r, ev_cb, NULL);
	char buf[128];
	cr_assert_eq(strand_replay_symbolize(r, 0x900104, buf, sizeof buf), STRAND_NOT_FOUND);
	cr_assert_eq(strand_replay_seek(r, 50, &err), STRAND_OK);
	cr_assert_eq(strand_replay_symbolize(r, 0x900104, buf, sizeof buf), STRAND_OK);
	cr_assert_str_eq(buf, "lib.so!lib_func+0x4");
	cr_assert_eq(strand_replay_seek(r, 75, &err), STRAND_OK);
	uint32_t tids[4], nt;
	strand_replay_threads(r, tids, 4, &nt);
	cr_assert_eq(nt, 2);
	cr_assert_eq(strand_replay_seek(r, 80, &err), STRAND_OK);
	strand_replay_threads(r, tids, 4, &nt);
	cr_assert_eq(nt, 1);
	cr_assert_eq(strand_replay_seek(r, 302, &err), STRAND_OK, "%s", err.msg);
	const struct strand_record *ev = strand_replay_last_event(r);
	cr_assert_not_null(ev);
	cr_assert_eq(ev->type, STRAND_REC_EXCEPTION);
	uint64_t rip;
	strand_replay_reg(r, "rip", &rip);
	cr_assert_eq(rip, handler);
	cr_assert_eq(strand_replay_seek(r, n, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_symbolize(r, 0x900104, buf, sizeof buf), STRAND_NOT_FOUND);
	cr_assert_eq(out_bytes, 6);
	cr_assert_eq(n_exc, 1);
	cr_assert_eq(n_mod, 1);
	/* back before the unload: the module is there again */
	cr_assert_eq(strand_replay_seek(r, 350, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_symbolize(r, 0x900104, buf, sizeof buf), STRAND_OK);
	cr_assert_eq(out_bytes, 6, "observers do not see re-execution");
	uint64_t v;
	strand_replay_read(r, DATA64, &v, 8, NULL);
	cr_assert_eq(v, 100);
	strand_replay_close(r);
	unlink(path);
	free(path);
}

Test(replay, divergence_names_address_when_access_is_unmapped)
{
	static const char *p =
		"BITS 64\n"
		"ORG 0x400000\n"
		"  mov rcx, 50\n"
		"a:\n"
		"  dec rcx\n"
		"  jnz a\n"
		"  mov rax, [0x800010]\n"
		"  mov eax, 60\n"
		"  syscall\n";
	char *path = tmp_path("unmapped"), *bad = tmp_path("unmapped-bad");
	strand_error err;
	uint8_t *code;
	size_t len;
	cr_assert_eq(tg_asm(p, &code, &len, &err), STRAND_OK, "%s", err.msg);
	struct tg_opts o = { .arch = STRAND_ARCH_X86_64 };
	struct tg *g;
	cr_assert_eq(tg_open(path, &o, &g, &err), STRAND_OK);
	cr_assert_eq(tg_map(g, CODE64, 0x1000, STRAND_PROT_READ | STRAND_PROT_EXEC,
			    STRAND_REGION_IMAGE, "prog", code, len, &err), STRAND_OK);
	struct strand_cpu c;
	tg_cpu_init(&c, CODE64, 0);
	cr_assert_eq(tg_thread(g, 1, &c, &err), STRAND_OK);
	cr_assert_eq(tg_at_map(g, 20, 0x800000, 0x1000, STRAND_PROT_READ, &err), STRAND_OK);
	cr_assert_eq(tg_run(g, 100000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_close(g, &err), STRAND_OK);
	free(code);
	/* drop the mapping */
	struct strand_reader *rd;
	struct strand_writer *w;
	cr_assert_eq(strand_reader_open(path, &rd, &err), STRAND_OK);
	cr_assert_eq(strand_writer_open(bad, strand_reader_info(rd), NULL, &w, &err), STRAND_OK);
	const struct strand_record *rec;
	while (strand_reader_next(rd, &rec, &err) == STRAND_OK)
		if (rec->type != STRAND_REC_MEMORY)
			cr_assert_eq(strand_writer_put(w, rec, &err), STRAND_OK);
	cr_assert_eq(strand_writer_close(w, &err), STRAND_OK);
	strand_reader_close(rd);
	struct strand_replay *r = open_ok(bad, 0);
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_ERR_DIVERGENCE);
	/* mov rcx (1) + 50 * (dec, jnz) = 101: the load is instruction 101 */
	cr_assert(strstr(err.msg, "divergence at position 101:"), "%s", err.msg);
	cr_assert(strstr(err.msg, "unmapped memory at 0x800010"), "%s", err.msg);
	cr_assert(strstr(err.msg, "mov rax, qword ptr [0x800010]"), "%s", err.msg);
	cr_assert_eq(strand_replay_position(r), 101);
	strand_replay_close(r);
	unlink(path);
	unlink(bad);
	free(path);
	free(bad);
}

Test(replay, breakpoint_on_the_first_instruction_is_found_backward)
{
	char *path = make_trace64("bp0", NULL, NULL);
	struct strand_replay *r = open_ok(path, 4096);
	strand_error err;
	struct strand_stop s = { .kind = STRAND_STOP_BREAK, .addr = CODE64, .enabled = true };
	uint32_t id;
	cr_assert_eq(strand_replay_stop_add(r, &s, &id, &err), STRAND_OK);
	cr_assert_eq(strand_replay_seek(r, 9000, &err), STRAND_OK);
	struct strand_stop_hit hit;
	cr_assert_eq(strand_replay_run(r, STRAND_BACKWARD, &hit, &err), STRAND_STOPPED, "%s", err.msg);
	cr_assert_eq(strand_replay_position(r), 0);
	cr_assert_eq(hit.stop_id, id);
	/* and forward from there it is not hit again */
	cr_assert_eq(strand_replay_run(r, STRAND_FORWARD, &hit, &err), STRAND_END);
	strand_replay_close(r);
	unlink(path);
	free(path);
}

/* Peak resident set of this process, KiB (0 if unreadable). */
static uint64_t peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t kib = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %" SCNu64, &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* Installing the code and memory hooks must not make Unicorn's ~1 GB TCG
 * code buffer resident (tb_flush memsets all of it in Unicorn 2.0.1). */
Test(replay, observers_keep_memory_small_when_installed_after_motion)
{
	uint64_t n;
	char *path = make_trace64("obsrss", NULL, &n);
	struct strand_replay *r = open_ok(path, 4096);
	strand_error err;
	cr_assert_eq(strand_replay_seek(r, 3000, &err), STRAND_OK, "%s", err.msg);
	strand_replay_on_insn(r, on_insn, NULL);
	strand_replay_on_mem(r, on_mem, STRAND_WATCH_READ | STRAND_WATCH_WRITE, NULL);
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	cr_assert_gt(n_insn, 0);
	uint64_t kib = peak_rss_kib();
	cr_assert_gt(kib, 0);
	cr_assert_lt(kib, 512 * 1024, "peak RSS %" PRIu64 " KiB", kib);
	strand_replay_close(r);
	unlink(path);
	free(path);
}
