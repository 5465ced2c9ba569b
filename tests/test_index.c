/* Index tests: the sidecar answers what a replay pass answers, restores
 * any segment, and is rebuilt when stale or damaged; sparse memory and
 * checkpoints of written pages only. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strand/index.h"
#include "strand/query.h"
#include "strand/replay.h"
#include "tests/helpers/tracegen.h"

#define CODE64 0x400000ull
#define DATA64 0x600000ull
#define STACK64 0x7ff000ull
#define BIG64 0x100000000ull

static char *tmp_path(const char *tag, const char *ext)
{
	char *p = NULL;
	if (asprintf(&p, "/tmp/strand-test-index-%s-%d%s", tag, (int)getpid(), ext) < 0)
		return NULL;
	return p;
}

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
		s->result = s->number == 9 ? (uint64_t)-2 : (uint64_t)s->number * 3;
	}
}

/* Loops over memory with calls to two functions and a few syscalls (one
 * failing), ~60k instructions. */
static const char *prog =
	"BITS 64\n"
	"ORG 0x400000\n"
	"start:\n"
	"  mov rbx, 0x600000\n"
	"  mov rcx, 3000\n"
	"loop1:\n"
	"  mov rax, [rbx]\n"
	"  add rax, rcx\n"
	"  mov rdx, rcx\n"
	"  and rdx, 0x3ff\n"
	"  mov [rbx+rdx*8], rax\n"
	"  call f1\n"
	"  test rcx, 7\n"
	"  jnz skip\n"
	"  call f2\n"
	"skip:\n"
	"  dec rcx\n"
	"  jnz loop1\n"
	"  mov eax, 9\n"
	"  syscall\n"
	"  mov eax, 7\n"
	"  lea rdi, [rbx+48]\n"
	"  mov rsi, [rbx+8]\n"
	"  syscall\n"
	"  mov rcx, 2000\n"
	"loop2:\n"
	"  add [rbx+0x1008], rcx\n"
	"  call f1\n"
	"  dec rcx\n"
	"  jnz loop2\n"
	"  mov eax, 60\n"
	"  xor edi, edi\n"
	"  syscall\n"
	"f1:\n"
	"  push rcx\n"
	"  mov rdx, [rbx+16]\n"
	"  imul rdx, rdx, 3\n"
	"  mov [rbx+64], rdx\n"
	"  pop rcx\n"
	"  ret\n"
	"f2:\n"
	"  mov rdx, [rbx+24]\n"
	"  inc rdx\n"
	"  mov [rbx+24], rdx\n"
	"  ret\n";

/* big: also map `big` bytes of zeros at BIG64 early on (0 = none). */
static char *make_trace(const char *tag, uint64_t big)
{
	char *path = tmp_path(tag, ".strand");
	strand_error err;
	uint8_t *code;
	size_t len;
	cr_assert_eq(tg_asm(prog, &code, &len, &err), STRAND_OK, "%s", err.msg);
	struct tg_opts o = { .arch = STRAND_ARCH_X86_64, .abi = STRAND_ABI_LINUX,
			     .keyframe_every = 5000 };
	struct tg *g;
	cr_assert_eq(tg_open(path, &o, &g, &err), STRAND_OK, "%s", err.msg);
	struct strand_symbol syms[] = {
		{ .addr = CODE64, .kind = STRAND_SYM_FUNC, .name = "start", .demangled = "" },
	};
	struct strand_module m = { .id = 1, .flags = STRAND_MODULE_F_MAIN, .base = CODE64,
				   .size = 0x1000, .name = "prog", .path = "/prog", .nsyms = 1,
				   .syms = syms };
	cr_assert_eq(tg_module(g, &m, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, CODE64, 0x1000, STRAND_PROT_READ | STRAND_PROT_EXEC,
			    STRAND_REGION_IMAGE, "prog", code, len, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, DATA64, 0x4000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_HEAP, "data", NULL, 0, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, STACK64, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_STACK, "stack", NULL, 0, &err), STRAND_OK, "%s", err.msg);
	struct strand_cpu c;
	tg_cpu_init(&c, CODE64, STACK64 + 0x800);
	cr_assert_eq(tg_thread(g, 100, &c, &err), STRAND_OK);
	struct strand_cpu c2;
	tg_cpu_init(&c2, CODE64, STACK64 + 0xf00);
	cr_assert_eq(tg_at_thread(g, 300, 200, &c2, &err), STRAND_OK);
	cr_assert_eq(tg_at_switch(g, 9000, 200, &err), STRAND_OK);
	cr_assert_eq(tg_at_switch(g, 21000, 100, &err), STRAND_OK);
	uint8_t bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	cr_assert_eq(tg_at_write(g, 12345, DATA64 + 0x2100, bytes, 8, &err), STRAND_OK);
	if (big)
		cr_assert_eq(tg_at_map(g, 10, BIG64, big, STRAND_PROT_READ | STRAND_PROT_WRITE,
				       &err), STRAND_OK);
	tg_on_syscall(g, sys_handler, NULL);
	cr_assert_eq(tg_run(g, 10000000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_close(g, &err), STRAND_OK, "%s", err.msg);
	free(code);
	return path;
}

static const char *const bundled[] = {
	"httpssl-nodevice", "httpssl-ok", "httpssl-accessdenied", NULL,
};

static char *bundled_path(const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/tests/traces/%s.strand", STRAND_SOURCE_DIR, name) < 0)
		return NULL;
	return p;
}

static struct strand_index *build_at(const char *trace, const char *ixpath, uint64_t seglen)
{
	strand_error err;
	struct strand_index_options o = { .segment_length = seglen };
	cr_assert_eq(strand_index_build(trace, ixpath, &o, &err), STRAND_OK, "%s", err.msg);
	struct strand_index *ix = NULL;
	cr_assert_eq(strand_index_open(trace, ixpath, &ix, &err), STRAND_OK, "%s", err.msg);
	return ix;
}

/* ---- indexed answers equal unindexed answers ---- */

struct callcount {
	uint64_t target[4096], count[4096];
	uint32_t n;
};

static void count_call(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	struct callcount *cc = ud;
	for (uint32_t i = 0; i < cc->n; i++)
		if (cc->target[i] == c->to) {
			cc->count[i]++;
			return;
		}
	if (cc->n < 4096) {
		cc->target[cc->n] = c->to;
		cc->count[cc->n++] = 1;
	}
}

static void check_answers(const char *trace, uint64_t seglen)
{
	char *ixp = tmp_path("answers", ".sidx");
	struct strand_index *ix = build_at(trace, ixp, seglen);
	strand_error err;
	/* events: as the query engine lists them */
	struct strand_query *q = NULL;
	cr_assert_eq(strand_query_open(trace, NULL, &q, &err), STRAND_OK, "%s", err.msg);
	uint64_t nq, ni;
	const struct strand_query_event *qe = strand_query_events(q, &nq);
	const struct strand_index_event *ie = strand_index_events(ix, &ni);
	cr_assert_eq(ni, nq, "%s: %" PRIu64 " events indexed, query lists %" PRIu64, trace, ni, nq);
	uint64_t failed = 0;
	for (uint64_t i = 0; i < ni; i++) {
		cr_assert_eq(ie[i].position, qe[i].position);
		cr_assert_eq(ie[i].type, qe[i].type);
		cr_assert_eq(ie[i].tid, qe[i].tid);
		cr_assert_eq(ie[i].number, qe[i].number);
		cr_assert_eq(ie[i].result, qe[i].result);
		cr_assert_eq(ie[i].failed, qe[i].failed, "event %" PRIu64, i);
		failed += ie[i].failed;
	}
	strand_query_free(q);
	/* calls: an independent replay pass counting calls by target */
	static struct callcount cc;
	memset(&cc, 0, sizeof cc);
	struct strand_replay *r = NULL;
	cr_assert_eq(strand_replay_open(trace, NULL, &r, &err), STRAND_OK, "%s", err.msg);
	strand_replay_on_call(r, count_call, &cc);
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	strand_replay_close(r);
	cr_assert_gt(cc.n, 0);
	for (uint32_t i = 0; i < cc.n; i++) {
		uint32_t nrows;
		uint64_t total = 0;
		strand_index_calls_to(ix, cc.target[i], &nrows, &total);
		cr_assert_eq(total, cc.count[i], "%s: calls to 0x%" PRIx64 ": index %" PRIu64
			     ", replay %" PRIu64, trace, cc.target[i], total, cc.count[i]);
	}
	strand_index_close(ix);
	unlink(ixp);
	free(ixp);
}

Test(index, answers_equal_a_replay_pass_on_bundled_traces)
{
	for (int i = 0; bundled[i]; i++) {
		char *p = bundled_path(bundled[i]);
		check_answers(p, 4096);
		free(p);
	}
}

Test(index, answers_equal_a_replay_pass_on_a_generated_program)
{
	char *p = make_trace("gen", 0);
	check_answers(p, 4096);
	unlink(p);
	free(p);
}

/* ---- restoring segments ---- */

static void state_of(struct strand_replay *r, struct strand_cpu *c, uint8_t *mem, size_t len,
		     uint64_t addr)
{
	strand_error err;
	cr_assert_eq(strand_replay_cpu(r, c, &err), STRAND_OK, "%s", err.msg);
	strand_replay_read(r, addr, mem, len, NULL);
}

static void check_seeks(const char *trace, uint64_t data, size_t dlen)
{
	char *ixp = tmp_path("seek", ".sidx");
	struct strand_index *ix = build_at(trace, ixp, 2048);
	strand_error err;
	struct strand_replay *a = NULL, *b = NULL;
	cr_assert_eq(strand_replay_open(trace, NULL, &a, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_open(trace, NULL, &b, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_index_attach(ix, b, &err), STRAND_OK, "%s", err.msg);
	strand_index_close(ix); /* the handle keeps its own descriptor */
	uint64_t end = strand_replay_end(a);
	uint8_t *ma = malloc(dlen ? dlen : 1), *mb = malloc(dlen ? dlen : 1);
	srand(7);
	for (int i = 0; i < 40; i++) {
		uint64_t p = i == 0 ? end : (uint64_t)rand() % (end + 1);
		cr_assert_eq(strand_replay_seek(a, p, &err), STRAND_OK, "%s", err.msg);
		cr_assert_eq(strand_replay_seek(b, p, &err), STRAND_OK, "%s", err.msg);
		struct strand_cpu ca, cb;
		state_of(a, &ca, ma, dlen, data);
		state_of(b, &cb, mb, dlen, data);
		cr_assert_eq(strand_replay_thread(a), strand_replay_thread(b), "thread at %" PRIu64, p);
		cr_assert_eq(memcmp(ca.gpr, cb.gpr, sizeof ca.gpr), 0, "registers at %" PRIu64, p);
		cr_assert_eq(ca.rip, cb.rip, "rip at %" PRIu64, p);
		cr_assert_eq(memcmp(ma, mb, dlen), 0, "memory at %" PRIu64, p);
	}
	struct strand_replay_stats sb;
	strand_replay_get_stats(b, &sb);
	cr_assert_gt(sb.restores, 0, "the attached handle restored index checkpoints");
	free(ma);
	free(mb);
	strand_replay_close(a);
	strand_replay_close(b);
	unlink(ixp);
	free(ixp);
}

Test(index, seeks_from_index_checkpoints_reach_the_same_state)
{
	char *p = make_trace("seek", 0);
	check_seeks(p, DATA64, 0x4000);
	unlink(p);
	free(p);
	char *h = bundled_path("httpssl-nodevice");
	check_seeks(h, 0x10000, 0x1000);
	free(h);
}

Test(index, parallel_verification_is_exact)
{
	char *p = make_trace("verify", 0);
	char *ixp = tmp_path("verify", ".sidx");
	struct strand_index *ix = build_at(p, ixp, 4096);
	strand_error err;
	struct strand_replay_stats vs;
	cr_assert_eq(strand_index_verify(ix, 2, &vs, &err), STRAND_OK, "%s", err.msg);
	uint64_t n = vs.instructions + vs.syscalls_applied;
	cr_assert_geq(n + 1, strand_index_end(ix), "every segment executed (%" PRIu64 ")", n);
	cr_assert_gt(vs.keyframes_checked, 0);
	cr_assert_gt(vs.syscalls_applied, 0);
	strand_index_close(ix);
	unlink(ixp);
	unlink(p);
	free(ixp);
	free(p);
}

/* ---- stale and damaged ---- */

static void copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	cr_assert(a && b);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, a)) > 0)
		cr_assert_eq(fwrite(buf, 1, n, b), n);
	fclose(a);
	fclose(b);
}

static void flip_byte(const char *path, long off_from_end)
{
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	struct stat sb;
	fstat(fd, &sb);
	off_t at = off_from_end >= 0 ? sb.st_size - off_from_end : -off_from_end;
	uint8_t c;
	cr_assert_eq(pread(fd, &c, 1, at), 1);
	c ^= 0x5a;
	cr_assert_eq(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

/* ---- memory from the index's accessed pages ---- */

struct memprobe {
	uint64_t n;
	uint64_t addr[3]; /* the first, a middle and the last access */
};

static void probe_mem(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		      uint64_t addr, uint32_t size, bool is_write, uint64_t value)
{
	struct memprobe *m = ud;
	if (m->n == 0)
		m->addr[0] = addr;
	if (m->n == 20011)
		m->addr[1] = addr;
	m->addr[2] = addr;
	m->n++;
}

/* The JSON of `memory` commands on `trace`: one string per command,
 * "indexed" field cut out; *indexed counts the answers that used the
 * index. */
static void memory_answers(const char *trace, char **cmds, int n, char **out, int *indexed)
{
	strand_error err;
	struct strand_query *q = NULL;
	cr_assert_eq(strand_query_open(trace, NULL, &q, &err), STRAND_OK, "%s", err.msg);
	*indexed = 0;
	for (int i = 0; i < n; i++) {
		struct strand_query_result res = { 0 };
		cr_assert_eq(strand_query_exec(q, cmds[i], &res, &err), STRAND_OK, "%s: %s",
			     cmds[i], err.msg);
		char *j = strdup(res.json), *f;
		if ((f = strstr(j, ",\"indexed\":true"))) {
			memmove(f, f + 15, strlen(f + 15) + 1);
			++*indexed;
		} else if ((f = strstr(j, ",\"indexed\":false"))) {
			memmove(f, f + 16, strlen(f + 16) + 1);
		}
		out[i] = j;
		strand_query_result_fini(&res);
	}
	strand_query_free(q);
}

static void check_memory(const char *src, uint64_t seglen)
{
	char *trace = tmp_path("memory", ".strand"), side[4200];
	copy_file(src, trace);
	strand_index_path(trace, side, sizeof side, NULL);
	unlink(side);
	strand_error err;
	struct memprobe m = { 0 };
	struct strand_replay *r = NULL;
	cr_assert_eq(strand_replay_open(trace, NULL, &r, &err), STRAND_OK, "%s", err.msg);
	strand_replay_on_mem(r, probe_mem, STRAND_WATCH_READ | STRAND_WATCH_WRITE, &m);
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	strand_replay_close(r);
	cr_assert_gt(m.n, 0);
	if (m.n <= 20011)
		m.addr[1] = m.addr[2];
	char *cmds[16], *plain[16], *fast[16];
	int n = 0;
	static const char *const modes[] = { "", " r", " w" };
	for (int k = 0; k < 3; k++)
		for (int a = 0; a < 3; a++)
			if (asprintf(&cmds[n++], "memory 0x%" PRIx64 " %d%s", m.addr[a],
				     a == 1 ? 8 : 4, modes[k]) < 0)
				cr_assert_fail();
	/* across a page boundary, and a range nothing touches */
	if (asprintf(&cmds[n++], "memory 0x%" PRIx64 " 4200", (m.addr[1] & ~(uint64_t)4095) - 40) < 0 ||
	    asprintf(&cmds[n++], "memory 0x10 16") < 0)
		cr_assert_fail();
	int used;
	memory_answers(trace, cmds, n, plain, &used);
	cr_assert_eq(used, 0, "no index yet");
	struct strand_index_options o = { .segment_length = seglen };
	cr_assert_eq(strand_index_build(trace, NULL, &o, &err), STRAND_OK, "%s", err.msg);
	memory_answers(trace, cmds, n, fast, &used);
	cr_assert_eq(used, n, "every answer from the index");
	for (int i = 0; i < n; i++) {
		cr_assert_str_eq(fast[i], plain[i], "%s: %s", trace, cmds[i]);
		if (i < 3)
			cr_assert(!strstr(plain[i], "\"count\":0,"), "%s: %s", cmds[i], plain[i]);
		free(cmds[i]);
		free(plain[i]);
		free(fast[i]);
	}
	unlink(side);
	unlink(trace);
	free(trace);
}

Test(index, memory_answers_equal_a_replay_pass_on_bundled_traces)
{
	for (int i = 0; bundled[i]; i++) {
		char *p = bundled_path(bundled[i]);
		check_memory(p, 4096);
		free(p);
	}
}

Test(index, memory_answers_equal_a_replay_pass_on_a_generated_program)
{
	char *p = make_trace("memgen", 0);
	check_memory(p, 4096);
	unlink(p);
	free(p);
}

Test(index, stale_index_is_detected_and_rebuilt)
{
	char *gen = make_trace("stale", 0);
	char *trace = tmp_path("stale-copy", ".strand");
	char side[4200];
	copy_file(gen, trace);
	strand_error err;
	cr_assert_eq(strand_index_path(trace, side, sizeof side, &err), STRAND_OK);
	struct strand_index *ix = NULL;
	bool built = false;
	cr_assert_eq(strand_index_ensure(trace, NULL, &ix, &built, &err), STRAND_OK, "%s", err.msg);
	cr_assert(built);
	strand_index_close(ix);
	cr_assert_eq(strand_index_ensure(trace, NULL, &ix, &built, &err), STRAND_OK, "%s", err.msg);
	cr_assert(!built, "an up-to-date index is reused");
	strand_index_close(ix);
	/* another trace under the same name: the index is stale */
	char *other = bundled_path("httpssl-ok");
	copy_file(other, trace);
	cr_assert_eq(strand_index_open(trace, NULL, &ix, &err), STRAND_ERR_VERSION);
	cr_assert(strstr(err.msg, "stale"), "%s", err.msg);
	cr_assert_eq(strand_index_ensure(trace, NULL, &ix, &built, &err), STRAND_OK, "%s", err.msg);
	cr_assert(built, "a stale index is rebuilt");
	struct strand_reader *rd = NULL;
	cr_assert_eq(strand_reader_open(trace, &rd, &err), STRAND_OK);
	cr_assert_eq(strand_index_end(ix), strand_reader_summary(rd)->last_position);
	strand_reader_close(rd);
	strand_index_close(ix);
	unlink(side);
	unlink(trace);
	unlink(gen);
	free(other);
	free(trace);
	free(gen);
}

Test(index, damaged_index_is_detected_and_rebuilt)
{
	char *trace = make_trace("damaged", 0);
	char side[4200];
	strand_error err;
	cr_assert_eq(strand_index_path(trace, side, sizeof side, &err), STRAND_OK);
	cr_assert_eq(strand_index_build(trace, NULL, NULL, &err), STRAND_OK, "%s", err.msg);
	/* a byte of a section (just before the table of contents) */
	flip_byte(side, 5 * 32 + 3);
	struct strand_index *ix = NULL;
	cr_assert_eq(strand_index_open(trace, NULL, &ix, &err), STRAND_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "offset="), "located: %s", err.msg);
	bool built = false;
	cr_assert_eq(strand_index_ensure(trace, NULL, &ix, &built, &err), STRAND_OK, "%s", err.msg);
	cr_assert(built, "a damaged index is rebuilt");
	strand_index_close(ix);
	/* the header */
	flip_byte(side, -20);
	cr_assert_eq(strand_index_open(trace, NULL, &ix, &err), STRAND_ERR_CORRUPT);
	unlink(side);
	unlink(trace);
	free(trace);
}

Test(index, damaged_checkpoint_page_fails_the_seek_that_reads_it)
{
	char *trace = make_trace("page", 0);
	char *ixp = tmp_path("page", ".sidx");
	struct strand_index *ix = build_at(trace, ixp, 2048);
	strand_error err;
	/* the first checkpoint blob starts at 96; its last page's data ends
	 * where the second blob starts: damage the last byte of blob 1 */
	uint32_t nseg;
	strand_index_segments(ix, &nseg);
	cr_assert_gt(nseg, 3);
	strand_index_close(ix);
	/* find blob 1's end: blob 2 starts at ckpt table's offset; simpler:
	 * scan for the second "CKPT" magic */
	FILE *f = fopen(ixp, "rb");
	cr_assert(f);
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	size_t second = 0;
	for (size_t i = 100; i + 4 <= n; i++)
		if (!memcmp(buf + i, "CKPT", 4)) {
			second = i;
			break;
		}
	cr_assert_gt(second, 96u + 72u);
	flip_byte(ixp, -(long)(second - 1));
	cr_assert_eq(strand_index_open(trace, ixp, &ix, &err), STRAND_OK, "%s", err.msg);
	struct strand_replay *r = NULL;
	cr_assert_eq(strand_replay_open(trace, NULL, &r, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_index_attach(ix, r, &err), STRAND_OK, "%s", err.msg);
	strand_status st = STRAND_OK;
	/* seeks to every segment start: one of them needs the damaged page */
	const struct strand_index_segment *segs = strand_index_segments(ix, &nseg);
	for (uint32_t s = nseg - 1; s > 0 && st == STRAND_OK; s--)
		st = strand_replay_seek(r, segs[s].start + 1, &err);
	cr_assert_eq(st, STRAND_ERR_CORRUPT, "damage detected (%d: %s)", st, err.msg);
	strand_replay_close(r);
	strand_index_close(ix);
	unlink(ixp);
	unlink(trace);
	free(ixp);
	free(trace);
}

/* ---- memory ---- */

static uint64_t rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t v = 0;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			v = strtoull(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

Test(index, zero_region_of_gigabytes_costs_no_memory_in_replay_and_checkpoints)
{
	char *trace = make_trace("sparse", 2ull << 30);
	strand_error err;
	uint64_t before = rss_kib();
	struct strand_replay_options o = { .checkpoint_interval = 2000,
					   .max_memory = 16ull << 30 };
	struct strand_replay *r = NULL;
	cr_assert_eq(strand_replay_open(trace, &o, &r, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_seek(r, 5000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	struct strand_replay_stats s;
	strand_replay_get_stats(r, &s);
	uint64_t after = rss_kib();
	cr_assert_lt(s.checkpoint_bytes, 16u << 20, "checkpoints hold %" PRIu64 " bytes",
		     s.checkpoint_bytes);
	cr_assert_lt(after - before, 200u * 1024, "RSS grew by %" PRIu64 " KiB", after - before);
	strand_replay_close(r);
	unlink(trace);
	free(trace);
}

/* ---- the commands ---- */

static int run_cli(const char *args, char *out, size_t outlen)
{
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "%s %s 2>&1", STRAND_CLI, args);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(index, index_command_builds_once_then_reuses_and_verifies)
{
	char *gen = make_trace("cli", 0);
	char args[4600], out[8192], side[4200];
	strand_index_path(gen, side, sizeof side, NULL);
	snprintf(args, sizeof args, "index -q %s", gen);
	cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
	cr_assert(strstr(out, "built"), "%s", out);
	cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
	cr_assert(strstr(out, "up to date"), "%s", out);
	snprintf(args, sizeof args, "index -q --json --verify -j 2 %s", gen);
	cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
	cr_assert(strstr(out, "\"verdict\":\"exact\""), "%s", out);
	unlink(side);
	unlink(gen);
	free(gen);
}

Test(index, batch_gives_one_line_per_trace_in_name_order)
{
	char dir[] = "/tmp/strand-test-index-batch-XXXXXX";
	cr_assert(mkdtemp(dir));
	char *src = bundled_path("httpssl-nodevice");
	char a[4200], b[4200], args[4400], out[16384];
	snprintf(a, sizeof a, "%s/b-nodevice.strand", dir);
	snprintf(b, sizeof b, "%s/a-junk.strand", dir);
	copy_file(src, a);
	FILE *f = fopen(b, "w");
	cr_assert(f);
	fputs("not a trace\n", f);
	fclose(f);
	snprintf(args, sizeof args, "batch -j 2 %s", dir);
	cr_assert_eq(run_cli(args, out, sizeof out), 0, "%s", out);
	char *l1 = out, *l2 = strchr(out, '\n');
	cr_assert(l2, "%s", out);
	*l2++ = 0;
	cr_assert(strstr(l1, "\"trace\":\"a-junk.strand\"") && strstr(l1, "\"verdict\":\"error\""),
		  "%s", l1);
	cr_assert(strstr(l2, "\"trace\":\"b-nodevice.strand\"") && strstr(l2, "\"verdict\":\"failure\"") &&
		  strstr(l2, "STATUS_NO_SUCH_DEVICE"), "%s", l2);
	unlink(a);
	unlink(b);
	rmdir(dir);
	free(src);
}

Test(index, answers_equal_a_replay_pass_on_a_recorded_program)
{
	char *trace = tmp_path("recorded", ".strand");
	char args[4600], out[8192];
	snprintf(args, sizeof args, "record -q -o %s -- /bin/ls /", trace);
	int rc = run_cli(args, out, sizeof out);
	if (rc != 0 && strstr(out, "ptrace"))
		cr_skip_test("ptrace not permitted here: %s", out);
	cr_assert_eq(rc, 0, "%s", out);
	check_answers(trace, 65536);
	check_seeks(trace, 0, 0);
	check_memory(trace, 65536);
	unlink(trace);
	free(trace);
}

static void die_now(void *ud, uint64_t pos, uint64_t end)
{
	(void)ud;
	(void)pos;
	(void)end;
	raise(SIGKILL);
}

/* The index is built in an unnamed file: a build killed half-way leaves
 * no sidecar and no temporary file beside the trace. */
Test(index, killed_build_leaves_nothing_beside_the_trace)
{
	char dir[] = "/tmp/strand-test-index-kill-XXXXXX";
	cr_assert(mkdtemp(dir));
	char *gen = make_trace("killed", 0);
	char trace[4200];
	snprintf(trace, sizeof trace, "%s/t.strand", dir);
	copy_file(gen, trace);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct strand_index_options o = { .segment_length = 1000, .progress = die_now };
		strand_error err;
		strand_index_build(trace, NULL, &o, &err);
		_exit(3);
	}
	int ws = 0;
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	cr_assert(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "killed during the build (%#x)", ws);
	DIR *d = opendir(dir);
	cr_assert(d);
	int others = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "t.strand")) {
			cr_log_error("left behind: %s", e->d_name);
			others++;
		}
	closedir(d);
	cr_assert_eq(others, 0);
	unlink(trace);
	rmdir(dir);
	unlink(gen);
	free(gen);
}

static void check_find(const char *src, uint64_t seglen, int nvals);

/* ---- origin: the index skips history, the answers stay the same ---- */

#include "strand/dataflow.h"

/* Guest writes picked at spread positions: the memory origin follows. */
struct wpick {
	uint64_t end;
	uint64_t addr[8], value[8];
	uint32_t size[8];
	int n;
};

static void pick_write(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		       uint64_t addr, uint32_t size, bool is_write, uint64_t value)
{
	struct wpick *w = ud;
	(void)r;
	(void)pc;
	if (!is_write || w->n >= 8 || position < w->end / 8 * (uint64_t)w->n || !size)
		return;
	w->addr[w->n] = addr;
	w->value[w->n] = value;
	w->size[w->n] = size > 8 ? 8 : size;
	w->n++;
}

static void same_result(const struct strand_df_result *a, const struct strand_df_result *b,
			const char *what)
{
	cr_assert_eq(a->nsteps, b->nsteps, "%s: %u steps indexed, %u not", what, a->nsteps,
		     b->nsteps);
	cr_assert_eq(a->origin, b->origin, "%s", what);
	cr_assert_eq(a->reached_start, b->reached_start, "%s", what);
	cr_assert_eq(a->cut, b->cut, "%s", what);
	cr_assert_str_eq(a->note, b->note, "%s", what);
	for (uint32_t i = 0; i < a->nsteps; i++) {
		const struct strand_df_step *x = &a->steps[i], *y = &b->steps[i];
		cr_assert(x->kind == y->kind && x->parent == y->parent &&
			  x->via_control == y->via_control && x->position == y->position &&
			  x->tid == y->tid && x->pc == y->pc && x->loc_is_reg == y->loc_is_reg &&
			  x->reg == y->reg && x->addr == y->addr && x->size == y->size &&
			  x->have_value == y->have_value && x->value == y->value &&
			  x->syscall == y->syscall && x->result == y->result &&
			  !strcmp(x->insn, y->insn),
			  "%s: step %u differs (position %" PRIu64 " vs %" PRIu64 ")", what, i,
			  x->position, y->position);
	}
}

/* The data-flow engine with small windows, with and without the index's
 * may_write, from the end and the middle of `trace`: memory written at
 * spread positions (plus `extra`, written by an event) and rax (npos 1:
 * from the end only).  Returns
 * the instructions the indexed walks skipped. */
static uint64_t check_origin_engine(const char *trace, uint64_t seglen, uint64_t extra,
				    int npos)
{
	char *ixp = tmp_path("origin", ".sidx");
	struct strand_index *ix = build_at(trace, ixp, seglen);
	strand_error err;
	struct strand_replay *r1 = NULL, *r2 = NULL;
	cr_assert_eq(strand_replay_open(trace, NULL, &r1, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_open(trace, NULL, &r2, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_index_attach(ix, r2, &err), STRAND_OK, "%s", err.msg);
	struct wpick w = { .end = strand_replay_end(r1) };
	strand_obs_id ob = strand_replay_on_mem(r1, pick_write, STRAND_WATCH_WRITE, &w);
	cr_assert_eq(strand_replay_seek(r1, w.end, &err), STRAND_OK, "%s", err.msg);
	strand_replay_observer_del(r1, ob);
	cr_assert_gt(w.n, 2, "%s: writes found", trace);
	if (extra && w.n < 8) {
		w.addr[w.n] = extra;
		w.size[w.n++] = 8;
	}
	struct strand_df_options o = { .window = 2048, .max_window = 8192 };
	struct strand_dataflow *plain = NULL, *fast = NULL;
	cr_assert_eq(strand_dataflow_new(r1, trace, &o, &plain, &err), STRAND_OK, "%s", err.msg);
	o.may_write = strand_index_may_write_cb;
	o.may_write_ud = ix;
	cr_assert_eq(strand_dataflow_new(r2, trace, &o, &fast, &err), STRAND_OK, "%s", err.msg);
	uint64_t skipped = 0;
	uint64_t at[2] = { w.end, w.end / 2 };
	for (int p = 0; p < npos && p < 2; p++) {
		cr_assert_eq(strand_replay_seek(r1, at[p], &err), STRAND_OK, "%s", err.msg);
		cr_assert_eq(strand_replay_seek(r2, at[p], &err), STRAND_OK, "%s", err.msg);
		uint32_t tid = strand_replay_thread(r1);
		for (int i = 0; i <= w.n; i++) {
			struct strand_df_query dq = { .position = at[p], .tid = tid };
			if (i < w.n) {
				dq.addr = w.addr[i];
				dq.len = w.size[i];
			} else {
				dq.regs = STRAND_DF_REG_BIT(STRAND_REG_RAX);
			}
			struct strand_df_result *a = NULL, *b = NULL;
			cr_assert_eq(strand_dataflow_follow(plain, &dq, &a, &err), STRAND_OK, "%s",
				     err.msg);
			cr_assert_eq(strand_dataflow_follow(fast, &dq, &b, &err), STRAND_OK, "%s",
				     err.msg);
			char what[160];
			snprintf(what, sizeof what, "%s: origin of %s%" PRIx64 " at %" PRIu64, trace,
				 i < w.n ? "0x" : "rax ", i < w.n ? w.addr[i] : 0, at[p]);
			same_result(b, a, what);
			cr_assert_eq(a->skipped, 0, "%s: %" PRIu64 " skipped without the index, logged %" PRIu64 " vs %" PRIu64, what, a->skipped, a->logged, b->logged);
			cr_assert_leq(b->logged, a->logged, "%s", what);
			cr_assert_eq(b->logged + b->skipped, a->logged, "%s", what);
			skipped += b->skipped;
			strand_df_result_free(a);
			strand_df_result_free(b);
		}
	}
	strand_dataflow_free(plain);
	strand_dataflow_free(fast);
	strand_replay_close(r1);
	strand_replay_close(r2);
	strand_index_close(ix);
	unlink(ixp);
	free(ixp);
	return skipped;
}

Test(index, origin_with_the_index_equals_origin_without_on_bundled_traces)
{
	for (int i = 0; bundled[i]; i++) {
		char *p = bundled_path(bundled[i]);
		uint64_t skipped = check_origin_engine(p, 1024, 0, 2);
		cr_assert_gt(skipped, 0, "%s: the index skipped nothing", p);
		free(p);
	}
}

/* DATA64 + 0x2100 is written by a recorded event (tg_at_write), the
 * syscalls' buffers by the kernel: the index must know those writes. */
Test(index, origin_with_the_index_equals_origin_without_on_a_generated_program)
{
	char *p = make_trace("origen", 0);
	uint64_t skipped = check_origin_engine(p, 1024, DATA64 + 0x2100, 2);
	cr_assert_gt(skipped, 0, "the index skipped nothing");
	unlink(p);
	free(p);
}

/* Cut ,"NAME":VALUE (a number or a boolean) out of a JSON text. */
static void cut_field(char *j, const char *name)
{
	char key[64];
	snprintf(key, sizeof key, ",\"%s\":", name);
	char *f = strstr(j, key);
	if (!f)
		return;
	char *e = f + strlen(key);
	while (*e && *e != ',' && *e != '}')
		e++;
	memmove(f, e, strlen(e) + 1);
}

/* Addresses first written early in a trace, with the last guest write
 * to their page. */
struct early {
	uint64_t end;
	uint64_t addr[64], last[64];
	uint32_t size[64];
	int n;
};

static void early_write(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
			uint64_t addr, uint32_t size, bool is_write, uint64_t value)
{
	struct early *e = ud;
	(void)r;
	(void)pc;
	(void)value;
	if (!is_write || !size)
		return;
	for (int i = 0; i < e->n; i++) /* pages: what the index knows */
		if (addr >> 12 <= e->addr[i] >> 12 && e->addr[i] >> 12 <= (addr + size - 1) >> 12)
			e->last[i] = position;
	if (position < e->end / 10 && e->n < 64 && size <= 8) {
		e->addr[e->n] = addr;
		e->size[e->n] = size;
		e->last[e->n++] = position;
	}
}

/* `origin` through the query engine on a recorded program, from its last
 * position, without and with the sidecar: the same JSON but for what was
 * logged and skipped. */
Test(index, origin_answers_equal_with_and_without_the_index_on_a_recorded_program)
{
	char *trace = tmp_path("origin-rec", ".strand"), side[4200];
	char args[4600], out[8192];
	snprintf(args, sizeof args, "record -q -o %s -- /bin/ls /", trace);
	int rc = run_cli(args, out, sizeof out);
	if (rc != 0 && strstr(out, "ptrace"))
		cr_skip_test("ptrace not permitted here: %s", out);
	cr_assert_eq(rc, 0, "%s", out);
	strand_index_path(trace, side, sizeof side, NULL);
	unlink(side);
	strand_error err;
	struct strand_replay *r = NULL;
	cr_assert_eq(strand_replay_open(trace, NULL, &r, &err), STRAND_OK, "%s", err.msg);
	struct wpick w = { .end = strand_replay_end(r) };
	static struct early e;
	memset(&e, 0, sizeof e);
	e.end = w.end;
	strand_replay_on_mem(r, pick_write, STRAND_WATCH_WRITE, &w);
	strand_replay_on_mem(r, early_write, STRAND_WATCH_WRITE, &e);
	cr_assert_eq(strand_replay_seek(r, w.end, &err), STRAND_OK, "%s", err.msg);
	strand_replay_close(r);
	cr_assert_gt(w.n, 2);
	if (w.n > 6)
		w.n = 6;
	/* two locations whose page nothing wrote in the second half: the walk
	 * from the end follows only them there (what the index skips) */
	int quiet = 0;
	for (int i = 0; i < e.n && quiet < 2 && w.n < 8; i++)
		if (e.last[i] < w.end / 2) {
			w.addr[w.n] = e.addr[i];
			w.size[w.n++] = e.size[i];
			quiet++;
		}
	char *cmds[10], *ans[2][10];
	int n = 0;
	if (asprintf(&cmds[n++], "origin rax") < 0)
		cr_assert_fail();
	for (int i = 0; i < w.n; i++)
		if (asprintf(&cmds[n++], "origin 0x%" PRIx64 " %u", w.addr[i], w.size[i]) < 0)
			cr_assert_fail();
	char seek[64];
	snprintf(seek, sizeof seek, "seek %" PRIu64, w.end - 1);
	uint64_t skipped = 0;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			struct strand_index_options o = { .segment_length = 16384 };
			cr_assert_eq(strand_index_build(trace, NULL, &o, &err), STRAND_OK, "%s",
				     err.msg);
		}
		struct strand_query *q = NULL;
		cr_assert_eq(strand_query_open(trace, NULL, &q, &err), STRAND_OK, "%s", err.msg);
		struct strand_query_result sres = { 0 };
		cr_assert_eq(strand_query_exec(q, seek, &sres, &err), STRAND_OK, "%s", err.msg);
		strand_query_result_fini(&sres);
		for (int i = 0; i < n; i++) {
			struct strand_query_result res = { 0 };
			strand_status st = strand_query_exec(q, cmds[i], &res, &err);
			/* memory unmapped at the end is a one-line error either way */
			char *j = strdup(st == STRAND_OK ? res.json : err.msg);
			cr_assert(j);
			const char *s = strstr(j, "\"instructions_skipped\":");
			if (s)
				skipped += strtoull(s + 23, NULL, 10);
			cr_assert(pass == 0 || st != STRAND_OK || strstr(j, "\"indexed\":true"), "%s", j);
			cut_field(j, "windows");
			cut_field(j, "instructions_logged");
			cut_field(j, "indexed");
			cut_field(j, "instructions_skipped");
			ans[pass][i] = j;
			strand_query_result_fini(&res);
		}
		strand_query_free(q);
	}
	int answered = 0;
	for (int i = 0; i < n; i++) {
		cr_assert_str_eq(ans[1][i], ans[0][i], "%s", cmds[i]);
		answered += strstr(ans[0][i], "\"chain\"") != NULL;
		free(ans[0][i]);
		free(ans[1][i]);
		free(cmds[i]);
	}
	cr_assert_gt(answered, 1, "origins answered");
	cr_log_info("%d quiet pages, %" PRIu64 " instructions skipped", quiet, skipped);
	if (quiet)
		cr_assert_gt(skipped, 0, "the index skipped nothing");
	unlink(side);
	/* and the engine with small windows on the same recording */
	cr_assert_gt(check_origin_engine(trace, 16384, 0, 1), 0, "the index skipped nothing");
	check_find(trace, 65536, 2);
	unlink(trace);
	free(trace);
}

/* ---- find: segment-parallel with the index, the same rows ---- */

/* `find` on a copy of `src` without and with its index (segments of
 * seglen): values written at spread positions, small ones (many hits,
 * row limits), all sizes; the JSON is the same but for "indexed"/"jobs". */
static void check_find(const char *src, uint64_t seglen, int nvals)
{
	char *trace = tmp_path("find", ".strand"), side[4200];
	copy_file(src, trace);
	strand_index_path(trace, side, sizeof side, NULL);
	unlink(side);
	strand_error err;
	struct strand_replay *r = NULL;
	cr_assert_eq(strand_replay_open(trace, NULL, &r, &err), STRAND_OK, "%s", err.msg);
	struct wpick w = { .end = strand_replay_end(r) };
	strand_replay_on_mem(r, pick_write, STRAND_WATCH_WRITE, &w);
	cr_assert_eq(strand_replay_seek(r, w.end, &err), STRAND_OK, "%s", err.msg);
	strand_replay_close(r);
	cr_assert_gt(w.n, 2);
	char *cmds[16];
	int n = 0;
	for (int i = 0; i < w.n && i < nvals; i++)
		if (asprintf(&cmds[n++], "find 0x%" PRIx64 " %u", w.value[i] &
			     (w.size[i] >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * w.size[i])) - 1),
			     w.size[i] >= 8 ? 8 : w.size[i] >= 4 ? 4 : w.size[i] >= 2 ? 2 : 1) < 0)
			cr_assert_fail();
	if (asprintf(&cmds[n++], "find 0 1 7") < 0 ||
	    (nvals > 2 && (asprintf(&cmds[n++], "find 1 4") < 0 ||
			   asprintf(&cmds[n++], "find 3 8") < 0)))
		cr_assert_fail();
	char *ans[2][16];
	int used = 0;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			struct strand_index_options o = { .segment_length = seglen };
			cr_assert_eq(strand_index_build(trace, NULL, &o, &err), STRAND_OK, "%s", err.msg);
		}
		struct strand_query *q = NULL;
		cr_assert_eq(strand_query_open(trace, NULL, &q, &err), STRAND_OK, "%s", err.msg);
		for (int i = 0; i < n; i++) {
			struct strand_query_result res = { 0 };
			cr_assert_eq(strand_query_exec(q, cmds[i], &res, &err), STRAND_OK, "%s: %s",
				     cmds[i], err.msg);
			char *j = strdup(res.json);
			used += strstr(j, "\"indexed\":true") != NULL;
			cut_field(j, "indexed");
			cut_field(j, "jobs");
			ans[pass][i] = j;
			strand_query_result_fini(&res);
		}
		strand_query_free(q);
	}
	cr_assert_eq(used, n, "every indexed answer from the index");
	int hits = 0;
	for (int i = 0; i < n; i++) {
		cr_assert_str_eq(ans[1][i], ans[0][i], "%s: %s\n%s\n%s", trace, cmds[i], ans[1][i], ans[0][i]);
		hits += !strstr(ans[0][i], "\"count\":0,");
		free(ans[0][i]);
		free(ans[1][i]);
		free(cmds[i]);
	}
	cr_assert_gt(hits, 1, "values found");
	unlink(side);
	unlink(trace);
	free(trace);
}

Test(index, find_answers_equal_a_whole_pass_on_bundled_traces)
{
	for (int i = 0; bundled[i]; i++) {
		char *p = bundled_path(bundled[i]);
		check_find(p, 2048, 5);
		free(p);
	}
}

/* two threads switching inside segments and at their boundaries */
Test(index, find_answers_equal_a_whole_pass_on_a_generated_program)
{
	char *p = make_trace("findgen", 0);
	check_find(p, 1000, 5);
	check_find(p, 9000, 5);
	unlink(p);
	free(p);
}

/* ---- syscall objects: decoded one by one from checkpoints ---- */

static void check_syscalls(const char *src, uint64_t seglen, const char *expect)
{
	char *trace = tmp_path("syscalls", ".strand"), side[4200];
	copy_file(src, trace);
	strand_index_path(trace, side, sizeof side, NULL);
	unlink(side);
	char *cmds[3] = { "syscalls --failed", "syscalls", "syscalls --failed" };
	char *plain[3], *fast[3];
	int used;
	memory_answers(trace, cmds, 3, plain, &used);
	struct strand_index_options o = { .segment_length = seglen };
	strand_error err;
	cr_assert_eq(strand_index_build(trace, NULL, &o, &err), STRAND_OK, "%s", err.msg);
	memory_answers(trace, cmds, 3, fast, &used);
	for (int i = 0; i < 3; i++) {
		cr_assert_str_eq(fast[i], plain[i], "%s: %s", src, cmds[i]);
		cr_assert(!expect || strstr(fast[i], expect), "%s: %s: no %s in %s", src, cmds[i],
			  expect, fast[i]);
		free(plain[i]);
		free(fast[i]);
	}
	unlink(side);
	unlink(trace);
	free(trace);
}

Test(index, syscall_objects_equal_with_and_without_the_index)
{
	for (int i = 0; bundled[i]; i++) {
		char *p = bundled_path(bundled[i]);
		check_syscalls(p, 2048, NULL);
		free(p);
	}
	char *gen = make_trace("sysgen", 0);
	check_syscalls(gen, 1000, NULL);
	unlink(gen);
	free(gen);
	char *trace = tmp_path("sysrec", ".strand");
	char args[4600], out[8192];
	snprintf(args, sizeof args, "record -q -o %s -- /bin/ls / /nonexistent", trace);
	int rc = run_cli(args, out, sizeof out);
	if (rc != 0 && strstr(out, "ptrace"))
		cr_skip_test("ptrace not permitted here: %s", out);
	check_syscalls(trace, 65536, "/nonexistent");
	unlink(trace);
	free(trace);
}
