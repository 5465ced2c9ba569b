/*
 * The backward data-flow engine (strand/dataflow.h): register and memory
 * flow, kernel-written buffers, table lookups, control dependence, flow
 * across many windows with the same answer as across one, the distance
 * limit; and the root-cause report on a real program recorded with
 * `strand record` whose failure lies 10^8 instructions from its start.
 *
 * Synthetic traces are made with tests/helpers/tracegen from the x86-64
 * sources below; the real program is tests/corpus/longfail.c.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strand/dataflow.h"
#include "strand/knowledge.h"
#include "strand/replay.h"
#include "tests/helpers/tracegen.h"

extern char **environ;

/* ------------------------------------------------------------ programs */

/* openat fails; its result is kept in r12 across a loop of LOOP
 * iterations (3 instructions each), then mapped through a table of
 * constant data to the exit status: rdi <- table[-result] <- r12 <- rax. */
static const char *far_src =
	"BITS 64\n"
	"ORG 0x401000\n"
	"  mov eax, 257\n"
	"  mov edi, -100\n"
	"  lea rsi, [rel path]\n"
	"  xor edx, edx\n"
	"  syscall\n"
	"  mov r12, rax\n"
	"  mov rcx, LOOP\n"
	"spin:\n"
	"  add rbx, rcx\n"
	"  dec rcx\n"
	"  jnz spin\n"
	"  neg r12\n"
	"  lea rdx, [rel codes]\n"
	"  movzx edi, byte [rdx + r12]\n"
	"  mov eax, 231\n"
	"  syscall\n"
	"  hlt\n"
	"codes: db 1, 65, 66, 67, 68\n"
	"path: db '/etc/far.conf', 0\n";

/* openat fails; a branch on its result picks the constant 3 as the exit
 * status (no data path from the result to the status). */
static const char *branch_src =
	"BITS 64\n"
	"ORG 0x401000\n"
	"  mov eax, 257\n"
	"  mov edi, -100\n"
	"  lea rsi, [rel path]\n"
	"  xor edx, edx\n"
	"  syscall\n"
	"  test eax, eax\n"
	"  js fail\n"
	"  xor edi, edi\n"
	"  jmp out\n"
	"fail:\n"
	"  mov edi, 3\n"
	"out:\n"
	"  mov eax, 231\n"
	"  syscall\n"
	"  hlt\n"
	"path: db '/etc/branch.conf', 0\n";

/* read() fills a buffer; a byte of it, copied twice through memory, is
 * the exit status: the origin is the kernel's write into the buffer. */
static const char *buffer_src =
	"BITS 64\n"
	"ORG 0x401000\n"
	"  xor eax, eax\n"
	"  xor edi, edi\n"
	"  mov rsi, 0x600000\n"
	"  mov edx, 16\n"
	"  syscall\n"
	"  mov al, [0x600005]\n"
	"  mov [0x600100], al\n"
	"  movzx edi, byte [0x600100]\n"
	"  mov eax, 231\n"
	"  syscall\n"
	"  hlt\n";

static void kernel(struct tg *g, void *ud, struct tg_syscall *s)
{
	(void)g;
	(void)ud;
	if (s->exit)
		return;
	if (s->number == 257) /* openat: ENOENT */
		s->result = (uint64_t)-2;
	if (s->number == 0) { /* read: 16 bytes */
		static const char data[16] = "0123456789abcdef";
		tg_sys_write(s, s->args[1], data, 16);
		s->result = 16;
	}
}

/* Assemble `src` (LOOP replaced by `loop`) and record it into `path`. */
static void make_trace(const char *path, const char *src, uint64_t loop)
{
	char *text = NULL;
	const char *at = strstr(src, "LOOP");
	if (at)
		cr_assert(asprintf(&text, "%.*s%" PRIu64 "%s", (int)(at - src), src, loop, at + 4) > 0);
	else
		text = strdup(src);
	strand_error err;
	uint8_t *code;
	size_t len;
	cr_assert_eq(tg_asm(text, &code, &len, &err), STRAND_OK, "%s", err.msg);
	struct tg_opts o = { .arch = STRAND_ARCH_X86_64, .abi = STRAND_ABI_LINUX };
	struct tg *g;
	cr_assert_eq(tg_open(path, &o, &g, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, 0x401000, 0x1000, STRAND_PROT_READ | STRAND_PROT_EXEC,
			    STRAND_REGION_IMAGE, "prog", code, len, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, 0x600000, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_ANON, "data", NULL, 0, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, 0x7ff000, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_STACK, "stack", NULL, 0, &err), STRAND_OK, "%s", err.msg);
	struct strand_cpu c;
	tg_cpu_init(&c, 0x401000, 0x7ff800);
	cr_assert_eq(tg_thread(g, 7, &c, &err), STRAND_OK, "%s", err.msg);
	tg_on_syscall(g, kernel, NULL);
	cr_assert_eq(tg_run(g, 100000000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_close(g, &err), STRAND_OK, "%s", err.msg);
	free(code);
	free(text);
}

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/strand-dataflow-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

/* Follow rdi at the last position (the exit syscall's status). */
static struct strand_df_result *follow_exit_status(const char *trace,
						   const struct strand_df_options *opt,
						   uint64_t *end)
{
	strand_error err;
	struct strand_replay *r;
	cr_assert_eq(strand_replay_open(trace, NULL, &r, &err), STRAND_OK, "%s", err.msg);
	*end = strand_replay_end(r);
	cr_assert_eq(strand_replay_seek(r, *end, &err), STRAND_OK, "%s", err.msg);
	struct strand_dataflow *df;
	cr_assert_eq(strand_dataflow_new(r, trace, opt, &df, &err), STRAND_OK, "%s", err.msg);
	/* the exit syscall is the last instruction: follow rdi before it */
	struct strand_df_query q = { .position = *end - 1, .tid = strand_replay_thread(r),
				     .regs = STRAND_DF_REG_BIT(STRAND_REG_RDI) };
	struct strand_df_result *res;
	cr_assert_eq(strand_dataflow_follow(df, &q, &res, &err), STRAND_OK, "%s", err.msg);
	/* the handle is back where it was */
	cr_assert_eq(strand_replay_position(r), *end);
	strand_dataflow_free(df);
	strand_replay_close(r);
	return res;
}

/* The kinds on the path from the origin to the query, oldest first. */
static void path_kinds(const struct strand_df_result *res, char *buf, size_t len)
{
	int32_t idx[256];
	int n = 0;
	for (int32_t i = res->origin; i > 0 && n < 256; i = res->steps[i].parent)
		idx[n++] = i;
	buf[0] = '\0';
	for (int k = 0; k < n; k++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", k ? " " : "",
			 strand_df_kind_str(res->steps[idx[k]].kind));
}

/* ------------------------------------------------------------- tests */

Test(dataflow, table_index_leads_to_the_failed_syscall, .init = setup, .fini = teardown)
{
	char trace[512];
	snprintf(trace, sizeof trace, "%s/near.strand", tmpdir);
	make_trace(trace, far_src, 10);
	uint64_t end;
	struct strand_df_result *res = follow_exit_status(trace, NULL, &end);
	cr_assert_geq(res->origin, 0);
	const struct strand_df_step *o = &res->steps[res->origin];
	cr_assert_eq(o->kind, STRAND_DF_SYSCALL);
	cr_assert_eq(o->syscall, 257);
	cr_assert_eq(o->result, (uint64_t)-2);
	cr_assert(!o->via_control);
	char kinds[512];
	path_kinds(res, kinds, sizeof kinds);
	/* rax -> r12 (mov) -> r12 (neg) -> edi (a constant table's entry) */
	cr_assert_str_eq(kinds, "syscall register register table", "%s", kinds);
	cr_assert_eq(res->windows, 1);
	strand_df_result_free(res);
}

Test(dataflow, same_answer_across_many_windows, .init = setup, .fini = teardown)
{
	char near[512], far[512];
	snprintf(near, sizeof near, "%s/near.strand", tmpdir);
	snprintf(far, sizeof far, "%s/far.strand", tmpdir);
	make_trace(near, far_src, 10);
	make_trace(far, far_src, 1000000); /* 3M instructions between cause and use */
	uint64_t e1, e2;
	struct strand_df_options small = { .window = 8192, .max_window = 65536 };
	struct strand_df_result *a = follow_exit_status(near, &small, &e1);
	struct strand_df_result *b = follow_exit_status(far, &small, &e2);
	cr_assert_gt(e2, 3000000);
	char ka[512], kb[512];
	path_kinds(a, ka, sizeof ka);
	path_kinds(b, kb, sizeof kb);
	cr_assert_str_eq(ka, kb);
	cr_assert_eq(b->steps[b->origin].kind, STRAND_DF_SYSCALL);
	cr_assert_eq(b->steps[b->origin].position, a->steps[a->origin].position);
	/* many bounded windows, never more than the widest one at once */
	cr_assert_gt(b->windows, 40, "windows=%u", b->windows);
	cr_assert_leq(b->lowest, b->steps[b->origin].position);
	strand_df_result_free(a);
	strand_df_result_free(b);
}

Test(dataflow, distance_limit_is_stated, .init = setup, .fini = teardown)
{
	char far[512];
	snprintf(far, sizeof far, "%s/far.strand", tmpdir);
	make_trace(far, far_src, 1000000);
	uint64_t end;
	struct strand_df_options o = { .window = 8192, .max_window = 65536, .max_distance = 100000 };
	struct strand_df_result *res = follow_exit_status(far, &o, &end);
	cr_assert(res->cut);
	cr_assert(strstr(res->note, "max_distance"), "%s", res->note);
	cr_assert(res->origin < 0 || res->steps[res->origin].kind != STRAND_DF_SYSCALL);
	cr_assert_geq(res->lowest, end - 1 - 100000);
	strand_df_result_free(res);
}

Test(dataflow, constant_chosen_by_a_branch_leads_to_the_compared_result, .init = setup,
     .fini = teardown)
{
	char trace[512];
	snprintf(trace, sizeof trace, "%s/branch.strand", tmpdir);
	make_trace(trace, branch_src, 0);
	uint64_t end;
	struct strand_df_result *res = follow_exit_status(trace, NULL, &end);
	cr_assert_geq(res->origin, 0);
	const struct strand_df_step *o = &res->steps[res->origin];
	cr_assert_eq(o->kind, STRAND_DF_SYSCALL);
	cr_assert(o->via_control);
	char kinds[512];
	path_kinds(res, kinds, sizeof kinds);
	/* rax -> flags (test) -> the js that chose -> mov edi, 3 */
	cr_assert_str_eq(kinds, "syscall register control constant", "%s", kinds);
	strand_df_result_free(res);

	struct strand_df_options data_only = { .no_control = true };
	res = follow_exit_status(trace, &data_only, &end);
	cr_assert_geq(res->origin, 0);
	cr_assert_eq(res->steps[res->origin].kind, STRAND_DF_CONSTANT);
	cr_assert_str_eq(res->steps[res->origin].insn, "mov edi, 3");
	strand_df_result_free(res);
}

Test(dataflow, bytes_written_by_the_kernel_end_at_that_syscall, .init = setup, .fini = teardown)
{
	char trace[512];
	snprintf(trace, sizeof trace, "%s/buffer.strand", tmpdir);
	make_trace(trace, buffer_src, 0);
	uint64_t end;
	struct strand_df_result *res = follow_exit_status(trace, NULL, &end);
	cr_assert_geq(res->origin, 0);
	const struct strand_df_step *o = &res->steps[res->origin];
	cr_assert_eq(o->kind, STRAND_DF_SYSCALL);
	cr_assert_eq(o->syscall, 0);
	char kinds[512];
	path_kinds(res, kinds, sizeof kinds);
	cr_assert_str_eq(kinds, "syscall load store load", "%s", kinds);
	strand_df_result_free(res);
}

Test(dataflow, bad_queries_are_refused, .init = setup, .fini = teardown)
{
	char trace[512];
	snprintf(trace, sizeof trace, "%s/branch.strand", tmpdir);
	make_trace(trace, branch_src, 0);
	strand_error err;
	struct strand_replay *r;
	cr_assert_eq(strand_replay_open(trace, NULL, &r, &err), STRAND_OK, "%s", err.msg);
	struct strand_dataflow *df;
	cr_assert_eq(strand_dataflow_new(r, NULL, NULL, &df, &err), STRAND_OK, "%s", err.msg);
	struct strand_df_result *res = NULL;
	struct strand_df_query q = { .position = strand_replay_end(r) + 1, .tid = 7,
				     .regs = STRAND_DF_REG_BIT(STRAND_REG_RAX) };
	cr_assert_eq(strand_dataflow_follow(df, &q, &res, &err), STRAND_ERR_INVALID);
	cr_assert(strstr(err.msg, "beyond the end"), "%s", err.msg);
	q.position = 3;
	q.regs = STRAND_DF_REG_BIT(STRAND_REG_RSP); /* the stack pointer alone: nothing */
	cr_assert_eq(strand_dataflow_follow(df, &q, &res, &err), STRAND_ERR_INVALID);
	cr_assert_null(res);
	cr_assert_eq(strand_df_reg_from_name("r9d"), 9);
	cr_assert_eq(strand_df_reg_from_name("al"), 0);
	cr_assert_eq(strand_df_reg_from_name("xmm3"), STRAND_DF_VEC_BASE + 3);
	cr_assert_eq(strand_df_reg_from_name("nosuch"), -1);
	strand_dataflow_free(df);
	strand_replay_close(r);
}

/* ------------------------------------------------ a real, long program */

static int run(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -1;
	int st;
	waitpid(pid, &st, 0);
	return st;
}

/* tests/corpus/longfail.c, recorded at about 5.1e8 instructions: the
 * failing open() is 5*10^8 instructions from the start, near the end.
 * (The bench runs the same program at 5e8 and 1e9 instructions and
 * compares the report's time with the replay's.)  Under AddressSanitizer the recorder and
 * replay are several times slower: the test then uses 3e6 instructions,
 * which still spans several data-flow windows and stack copies.) */
#if defined(__SANITIZE_ADDRESS__)
#define LONG_ITERATIONS "300000"
#define LONG_MIN_POSITION 2000000ull
#else
#define LONG_ITERATIONS "51000000"
#define LONG_MIN_POSITION 500000000ull
#endif
Test(dataflow, report_on_a_long_recorded_program_finds_the_cause_by_data_flow, .init = setup,
     .fini = teardown)
{
	char prog[512], trace[512], out[512], cmd[1200];
	snprintf(prog, sizeof prog, "%s/longfail", tmpdir);
	snprintf(trace, sizeof trace, "%s/longfail.strand", tmpdir);
	snprintf(out, sizeof out, "%s/out.txt", tmpdir);
	snprintf(cmd, sizeof cmd, "cc -O1 -o '%s' '%s/tests/corpus/longfail.c'", prog,
		 STRAND_SOURCE_DIR);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	char *rec[] = { STRAND_CLI, "record", "-o", trace, "--", prog, LONG_ITERATIONS, NULL };
	int st = run(rec, out);
	if (access(trace, R_OK) != 0)
		cr_skip_test("strand record cannot trace here (status %d)", st);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "record status %d", st);
	char report[512];
	snprintf(report, sizeof report, "%s/report.json", tmpdir);
	char *rep[] = { STRAND_CLI, "report", "-q", "--format", "json", trace, NULL };
	st = run(rep, report);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "report status %d", st);
	FILE *f = fopen(report, "r");
	cr_assert_not_null(f);
	static char text[1 << 22];
	text[fread(text, 1, sizeof text - 1, f)] = 0;
	fclose(f);
	const char *rc = strstr(text, "\"root_cause\"");
	cr_assert_not_null(rc, "%.400s", text);
	char *pos = strstr(rc, "\"position\"");
	cr_assert_not_null(pos);
	unsigned long long p = strtoull(pos + strlen("\"position\": "), NULL, 10);
	cr_assert_gt(p, LONG_MIN_POSITION, "the cause lies far in: %llu", p);
	cr_assert(strstr(rc, "\"openat\""), "%.400s", rc);
	cr_assert(strstr(rc, "ENOENT"), "%.400s", rc);
	cr_assert(strstr(rc, "/nonexistent/longfail.conf"), "%.400s", rc);
	cr_assert(strstr(rc, "\"found_by\": \"data flow\""), "%.600s", rc);
	cr_assert(strstr(rc, "longfail!main"), "a stack frame in main: %.900s", rc);
#if !defined(__SANITIZE_ADDRESS__)
	/* bounded memory: neither the recorder nor the report (the children
	 * waited for) grew past 1 GiB on a 5e8-instruction trace */
	struct rusage ru;
	cr_assert_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
	cr_assert_lt(ru.ru_maxrss, 1024L * 1024, "peak RSS %ld KiB", ru.ru_maxrss);
#endif
}

/* calls: the same rows and count through the sidecar index (only the
 * segments holding calls replayed, each from its checkpoint) as by a pass
 * over the whole trace.  3e6 instructions: short enough that a query does
 * not build the index by itself. */
Test(dataflow, calls_through_the_index_equal_calls_by_a_whole_pass, .init = setup,
     .fini = teardown)
{
	char prog[512], trace[512], out[512], cmd[1200], plain[512], indexed[512];
	snprintf(prog, sizeof prog, "%s/longfail", tmpdir);
	snprintf(trace, sizeof trace, "%s/short.strand", tmpdir);
	snprintf(out, sizeof out, "%s/out.txt", tmpdir);
	snprintf(plain, sizeof plain, "%s/calls-plain.txt", tmpdir);
	snprintf(indexed, sizeof indexed, "%s/calls-indexed.txt", tmpdir);
	snprintf(cmd, sizeof cmd, "cc -O1 -o '%s' '%s/tests/corpus/longfail.c'", prog,
		 STRAND_SOURCE_DIR);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	char *rec[] = { STRAND_CLI, "record", "-o", trace, "--", prog, "300000", NULL };
	int st = run(rec, out);
	if (access(trace, R_OK) != 0)
		cr_skip_test("strand record cannot trace here (status %d)", st);
	char *calls[] = { STRAND_CLI, "query", "-q", "-c", "calls longfail!mix", trace, NULL };
	char *index[] = { STRAND_CLI, "index", "-q", "--segment", "65536", trace, NULL };
	st = run(calls, plain);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "calls status %d", st);
	st = run(index, out);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "index status %d", st);
	st = run(calls, indexed);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "calls status %d", st);
	static char a1[1 << 18], a2[1 << 18];
	FILE *f1 = fopen(plain, "r"), *f2 = fopen(indexed, "r");
	cr_assert(f1 && f2);
	a1[fread(a1, 1, sizeof a1 - 1, f1)] = 0;
	a2[fread(a2, 1, sizeof a2 - 1, f2)] = 0;
	fclose(f1);
	fclose(f2);
	cr_assert(strstr(a1, "calls of longfail!mix"), "%.300s", a1);
	cr_assert(strstr(a1, "(first rows shown)"), "%.300s", a1);
	cr_assert_str_eq(a1, a2);
}
