/*
 * `strand query` end to end: scripts against traces with golden JSON
 * output (tests/query/), script failure and --keep-going, -c / -f / stdin,
 * and the interactive session through a pseudo-terminal.
 *
 * The demo trace (tracegen, x86-32, Windows ABI) is a small story shaped
 * like the seed's: main calls Open twice; Open does a kernel call (0x25)
 * that fails the first time with 0xC000000E; Open turns the failure into
 * the HRESULT 0x80070002 (mov eax, 2; or eax, 0x80070000); main stores it
 * at 0x402000 and loads it into ebx.  Golden files are regenerated with
 * STRAND_UPDATE_GOLDEN=1 (then read the diff).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strand/query.h"
#include "tests/helpers/tracegen.h"

#define CODE 0x401000u
#define OPEN (CODE + 0x40)

static const char demo_src[] =
	"BITS 32\n"
	"ORG 0x401000\n"
	"main:\n"
	"  push ebp\n"
	"  mov ebp, esp\n"
	"  push 0x1234\n"
	"  call Open\n"
	"  mov [0x402000], eax\n"
	"  mov ebx, [0x402000]\n"
	"  push 0x5678\n"
	"  call Open\n"
	"  mov [0x402004], eax\n"
	"  mov eax, 0x29\n"
	"  mov edx, esp\n"
	"  sysenter\n"
	"  hlt\n"
	"  times 0x40-($-$$) db 0x90\n"
	"Open:\n"
	"  push ebp\n"
	"  mov ebp, esp\n"
	"  mov eax, 0x25\n"
	"  mov edx, esp\n"
	"  sysenter\n"
	"  test eax, eax\n"
	"  jns .ok\n"
	"  mov eax, 2\n"
	"  or eax, 0x80070000\n"
	".ok:\n"
	"  pop ebp\n"
	"  ret 4\n";

static char trace[512];
static char tmpdir[512];

struct kernel {
	int opens;
};

static void demo_kernel(struct tg *g, void *ud, struct tg_syscall *s)
{
	struct kernel *k = ud;
	if (s->number == 0x29) {
		s->exit = true;
		return;
	}
	if (s->number == 0x25) {
		uint32_t st = k->opens++ == 0 ? 0xC000000Eu : 0;
		s->result = st;
		tg_sys_write(s, 0x402008, &st, 4); /* an I/O status block */
	}
}

static void make_demo(const char *path)
{
	strand_error err;
	struct tg *g = NULL;
	struct tg_opts o = { .arch = STRAND_ARCH_X86_32, .abi = STRAND_ABI_WINDOWS_NT,
			     .keyframe_every = 8 };
	uint8_t *code = NULL;
	size_t len = 0;
	cr_assert_eq(tg_asm(demo_src, &code, &len, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_open(path, &o, &g, &err), STRAND_OK, "%s", err.msg);
	static const struct strand_symbol syms[] = {
		{ CODE, 0x40, STRAND_SYM_FUNC, "main", "" },
		{ OPEN, 0x20, STRAND_SYM_FUNC, "Open", "" },
	};
	struct strand_module m = { .id = 1, .flags = STRAND_MODULE_F_MAIN,
				   .base = 0x400000, .size = 0x3000,
				   .name = "demo.exe", .path = "C:\\demo\\demo.exe",
				   .nsyms = 2, .syms = syms };
	cr_assert_eq(tg_module(g, &m, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, CODE, 0x1000, STRAND_PROT_READ | STRAND_PROT_EXEC,
			    STRAND_REGION_IMAGE, "demo.exe", code, len, &err),
		     STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, 0x402000, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_IMAGE, "demo.exe", NULL, 0, &err),
		     STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, 0x10000, 0x10000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_STACK, "stack", NULL, 0, &err),
		     STRAND_OK, "%s", err.msg);
	struct strand_cpu cpu;
	tg_cpu_init(&cpu, CODE, 0x1f000);
	cr_assert_eq(tg_thread(g, 1, &cpu, &err), STRAND_OK, "%s", err.msg);
	struct kernel k = { 0 };
	tg_on_syscall(g, demo_kernel, &k);
	cr_assert_eq(tg_run(g, 1000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_close(g, &err), STRAND_OK, "%s", err.msg);
	free(code);
}

static void setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/query-test-%d", STRAND_BINARY_DIR, (int)getpid());
	mkdir(tmpdir, 0700);
	snprintf(trace, sizeof trace, "%s/demo.strand", tmpdir);
	make_demo(trace);
}

static void teardown(void)
{
	char cmd[1100];
	if (getenv("STRAND_QUERY_KEEP")) /* keep the demo trace to play with */
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", tmpdir);
}

TestSuite(query_cli, .init = setup, .fini = teardown, .timeout = 300);

/* ---- running the CLI ---- */

struct out {
	char *out, *err;
	size_t nout, nerr;
	int status; /* exit code, or 128 + signal */
};

static char *slurp_fd(int fd, size_t *n)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			cr_assert(buf);
		}
		ssize_t k = read(fd, buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	buf[len] = '\0';
	*n = len;
	return buf;
}

/* Run `strand query ARGS...` with `input` on stdin (NULL: /dev/null). */
static struct out run(const char *input, const char *const *args)
{
	char inpath[600], outpath[600], errpath[600];
	snprintf(inpath, sizeof inpath, "%s/stdin", tmpdir);
	snprintf(outpath, sizeof outpath, "%s/stdout", tmpdir);
	snprintf(errpath, sizeof errpath, "%s/stderr", tmpdir);
	FILE *f = fopen(inpath, "w");
	cr_assert(f);
	if (input)
		fputs(input, f);
	fclose(f);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		const char *argv[32] = { STRAND_CLI, "query" };
		int n = 2;
		for (; args[n - 2] && n < 31; n++)
			argv[n] = args[n - 2];
		argv[n] = NULL;
		int in = open(inpath, O_RDONLY), out = creat(outpath, 0600),
		    er = creat(errpath, 0600);
		dup2(in, 0);
		dup2(out, 1);
		dup2(er, 2);
		execv(STRAND_CLI, (char *const *)argv);
		_exit(127);
	}
	int ws;
	waitpid(pid, &ws, 0);
	struct out o;
	int fd = open(outpath, O_RDONLY);
	o.out = slurp_fd(fd, &o.nout);
	close(fd);
	fd = open(errpath, O_RDONLY);
	o.err = slurp_fd(fd, &o.nerr);
	close(fd);
	o.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return o;
}

static void out_free(struct out *o)
{
	free(o->out);
	free(o->err);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	int fd = fileno(f);
	size_t n;
	char *s = slurp_fd(fd, &n);
	fclose(f);
	return s;
}

/* Run script tests/query/NAME.txt with --json --keep-going and compare
 * stdout with tests/query/NAME.jsonl. */
static void golden_on(const char *name, const char *tracefile);

static void golden(const char *name)
{
	golden_on(name, trace);
}

static void golden_on(const char *name, const char *tracefile)
{
	char script[600], expect[600];
	snprintf(script, sizeof script, "%s/tests/query/%s.txt", STRAND_SOURCE_DIR, name);
	snprintf(expect, sizeof expect, "%s/tests/query/%s.jsonl", STRAND_SOURCE_DIR, name);
	const char *args[] = { "--json", "--keep-going", "-f", script, tracefile, NULL };
	struct out o = run(NULL, args);
	if (getenv("STRAND_UPDATE_GOLDEN")) {
		FILE *f = fopen(expect, "w");
		cr_assert(f);
		fwrite(o.out, 1, o.nout, f);
		fclose(f);
	}
	char *want = read_file(expect);
	cr_assert(want, "missing golden file %s (run with STRAND_UPDATE_GOLDEN=1)", expect);
	/* line by line, to point at the first difference */
	char *a = o.out, *b = want;
	for (int line = 1; *a || *b; line++) {
		char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
		size_t la = ea ? (size_t)(ea - a) : strlen(a);
		size_t lb = eb ? (size_t)(eb - b) : strlen(b);
		cr_assert(la == lb && !memcmp(a, b, la),
			  "%s line %d differs:\n got: %.*s\nwant: %.*s\n(stderr: %s)",
			  name, line, (int)la, a, (int)lb, b, o.err);
		a += la + (ea ? 1 : 0);
		b += lb + (eb ? 1 : 0);
	}
	free(want);
	out_free(&o);
}

/* ---- scripts ---- */

Test(query_cli, every_command_script_matches_golden_json)
{
	golden("demo_all");
}

Test(query_cli, investigation_script_matches_golden_json)
{
	golden("demo_story");
}

/* The walk-through of docs/query.md on the recorded fixture. */
Test(query_cli, httpssl_walkthrough_matches_golden_json)
{
	const char *fixture = STRAND_SOURCE_DIR "/tests/traces/httpssl-nodevice.strand";
	if (access(fixture, R_OK) != 0)
		cr_skip_test("fixture %s not recorded", fixture);
	golden_on("httpssl_nodevice", fixture);
}

Test(query_cli, watchpoint_stops_after_the_writing_instruction)
{
	const char *args[] = { "--json", "-c", "watch w 0x402000 4; continue; reg eip ebx",
			       trace, NULL };
	struct out o = run(NULL, args);
	cr_assert_eq(o.status, 0, "%s", o.out);
	/* the write is instruction 15 (mov [0x402000], eax): stop at 16 */
	cr_assert(strstr(o.out, "\"hit\":{\"id\":1,\"kind\":\"watch\",\"access\":\"write\","
				"\"size\":4,\"address\":\"0x402000\",\"position\":16}"), "%s", o.out);
	cr_assert(strstr(o.out, "\"registers\":{\"eip\":\"0x401012\",\"ebx\":\"0x0\"}"), "%s", o.out);
	out_free(&o);
}

Test(query_cli, origin_follows_the_branch_that_chose_a_constant)
{
	const char *a1[] = { "--json", "-c", "seek 17; origin ebx; origin 0x402000", trace, NULL };
	const char *a2[] = { "--json", "-c", "seek 17; origin ebx --passes; origin 0x402000 4 --passes",
			     trace, NULL };
	struct out o1 = run(NULL, a1), o2 = run(NULL, a2);
	cr_assert_eq(o1.status, 0, "%s", o1.out);
	cr_assert_eq(o2.status, 0, "%s", o2.out);
	/* ebx <- [0x402000] <- or eax <- mov eax, 2, chosen by the jns on the
	 * kernel call's result: the chain ends at the kernel call */
	cr_assert(strstr(o1.out, "\"kind\":\"constant\",\"position\":11"), "%s", o1.out);
	cr_assert(strstr(o1.out, "\"kind\":\"control\",\"position\":10"), "%s", o1.out);
	cr_assert(strstr(o1.out, "\"kind\":\"syscall\",\"position\":8"), "%s", o1.out);
	cr_assert(strstr(o1.out, "\"found_by\":\"control flow\""), "%s", o1.out);
	/* --passes is accepted by old scripts and changes nothing */
	cr_assert_str_eq(o1.out, o2.out);
	out_free(&o1);
	out_free(&o2);
}

/* Memory that is not mapped has no value to follow: an error, not "holds
 * its value since the initial snapshot". */
Test(query_cli, origin_of_unmapped_memory_is_an_error)
{
	const char *a[] = { "-c", "origin [0xffffffffffffffff] 8", trace, NULL };
	struct out o = run(NULL, a);
	cr_assert_neq(o.status, 0, "%s", o.out);
	cr_assert(strstr(o.err, "is not mapped at position"), "%s", o.err);
	cr_assert_null(strstr(o.out, "initial snapshot"), "%s", o.out);
	out_free(&o);
}

Test(query_cli, report_runs_the_analyses)
{
	const char *args[] = { "--json", "-c", "report", trace, NULL };
	struct out o = run(NULL, args);
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert(strstr(o.out, "{\"command\":\"report\",\"line\":1,\"ok\":true,\"result\":{\"report\":{"), "%s", o.out);
	out_free(&o);
}

Test(query_cli, failing_command_stops_script_with_its_line)
{
	const char *args[] = { trace, NULL };
	struct out o = run("pos\n# comment\n\nmem nosuch\nstep\n", args);
	cr_assert_eq(o.status, 1);
	cr_assert(strstr(o.err, "strand query: <stdin>:4: mem: cannot evaluate 'nosuch'"),
		  "%s", o.err);
	cr_assert(strstr(o.out, "position 0"));
	cr_assert(!strstr(o.out, "position 1 "), "step must not run: %s", o.out);
	out_free(&o);
}

Test(query_cli, keep_going_runs_past_failures_and_still_fails)
{
	const char *args[] = { "--keep-going", "--json", trace, NULL };
	struct out o = run("frob\nstep\n", args);
	cr_assert_eq(o.status, 1);
	cr_assert(strstr(o.out, "{\"command\":\"frob\",\"line\":1,\"ok\":false,\"error\":"
				"{\"status\":\"invalid argument\",\"message\":\"unknown command "
				"'frob' (try 'help')\"}}\n"), "%s", o.out);
	cr_assert(strstr(o.out, "{\"command\":\"step\",\"line\":2,\"ok\":true"), "%s", o.out);
	cr_assert_eq(o.nerr, 0, "JSON mode keeps stderr quiet: %s", o.err);
	out_free(&o);
}

Test(query_cli, dash_c_numbers_commands_and_splits_at_semicolons)
{
	const char *args[] = { "-c", "step 2; reg eip; mem u32 [esp+4", trace, NULL };
	struct out o = run(NULL, args);
	cr_assert_eq(o.status, 1);
	cr_assert(strstr(o.out, "eip = 0x401003"), "%s", o.out);
	cr_assert(strstr(o.err, "strand query: -c:3: mem: unclosed bracket"), "%s", o.err);
	out_free(&o);
}

Test(query_cli, script_file_has_comments_and_continuations)
{
	char path[700];
	snprintf(path, sizeof path, "%s/s.txt", tmpdir);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs("# a script\nseek \\\n  7   # to 7\nprint eax + \\\n 1\nbogus\n", f);
	fclose(f);
	const char *args[] = { "-f", path, trace, NULL };
	struct out o = run(NULL, args);
	cr_assert_eq(o.status, 1);
	cr_assert(strstr(o.out, "position 7 "), "%s", o.out);
	cr_assert(strstr(o.out, "0x26 = 38"), "%s", o.out);
	char want[800];
	snprintf(want, sizeof want, "strand query: %s:6: unknown command 'bogus'", path);
	cr_assert(strstr(o.err, want), "%s", o.err);
	out_free(&o);
}

Test(query_cli, bad_usage_and_missing_trace_fail_clearly)
{
	const char *a1[] = { NULL };
	struct out o = run(NULL, a1);
	cr_assert_eq(o.status, 2);
	cr_assert(strstr(o.err, "expected one TRACE argument"), "%s", o.err);
	out_free(&o);
	const char *a2[] = { "--json", "/nonexistent.strand", NULL };
	o = run(NULL, a2);
	cr_assert_eq(o.status, 1);
	cr_assert(strstr(o.out, "{\"error\":{\"command\":\"query\""), "%s", o.out);
	cr_assert(strstr(o.out, "cannot open trace /nonexistent.strand"), "%s", o.out);
	out_free(&o);
	const char *a3[] = { "-c", "pos", "-f", "x", trace, NULL };
	o = run(NULL, a3);
	cr_assert_eq(o.status, 2);
	cr_assert(strstr(o.err, "-c and -f exclude each other"), "%s", o.err);
	out_free(&o);
}

/* ---- x86-64 and the C API ---- */

static const char demo64_src[] =
	"BITS 64\n"
	"ORG 0x401000\n"
	"main:\n"
	"  push rbp\n"
	"  mov rbp, rsp\n"
	"  mov rax, 0x1122334455667788\n"
	"  mov [rsp-16], rax\n"
	"  mov rbx, [rsp-16]\n"
	"  call f\n"
	"  mov rdi, rax\n"
	"  mov eax, 60\n"
	"  syscall\n"
	"f:\n"
	"  mov rax, rbx\n"
	"  ret\n";

static void make_demo64(const char *path)
{
	strand_error err;
	struct tg *g = NULL;
	struct tg_opts o = { .arch = STRAND_ARCH_X86_64, .abi = STRAND_ABI_LINUX };
	uint8_t *code = NULL;
	size_t len = 0;
	cr_assert_eq(tg_asm(demo64_src, &code, &len, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_open(path, &o, &g, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, CODE, 0x1000, STRAND_PROT_READ | STRAND_PROT_EXEC,
			    STRAND_REGION_IMAGE, "demo64", code, len, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, 0x10000, 0x10000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_STACK, "stack", NULL, 0, &err), STRAND_OK, "%s", err.msg);
	struct strand_cpu cpu;
	tg_cpu_init(&cpu, CODE, 0x1f000);
	cr_assert_eq(tg_thread(g, 7, &cpu, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_run(g, 1000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_close(g, &err), STRAND_OK, "%s", err.msg);
	free(code);
}

Test(query_cli, x86_64_registers_memory_and_origin)
{
	char path[700];
	snprintf(path, sizeof path, "%s/demo64.strand", tmpdir);
	make_demo64(path);
	const char *args[] = { "--json", "-c",
			       "seek end; reg rdi rax r8; mem u64 rsp-16; origin rdi; "
			       "regs; events",
			       path, NULL };
	struct out o = run(NULL, args);
	cr_assert_eq(o.status, 0, "%s%s", o.out, o.err);
	cr_assert(strstr(o.out, "\"registers\":{\"rdi\":\"0x1122334455667788\",\"rax\":\"0x3c\",\"r8\":\"0x0\"}"),
		  "%s", o.out);
	cr_assert(strstr(o.out, "\"type\":\"u64\",\"values\":[\"0x1122334455667788\"]"), "%s", o.out);
	/* rdi <- rax <- rbx (in f) <- [rsp-16] <- rax <- the constant */
	cr_assert(strstr(o.out, "{\"location\":\"rdi\",\"kind\":\"register\""), "%s", o.out);
	cr_assert(strstr(o.out, "\"kind\":\"load\",\"position\":4,\"tid\":7,\"pc\":\"0x401013\",\"symbol\":\"0x401013\",\"instruction\":\"mov rbx, qword ptr [rsp - 0x10]\",\"value\":\"0x1122334455667788\""),
		  "%s", o.out);
	cr_assert(strstr(o.out, "{\"location\":\"[0x1efe8]\",\"kind\":\"store\""), "%s", o.out);
	cr_assert(strstr(o.out, "\"kind\":\"constant\",\"position\":2,\"tid\":7,\"pc\":\"0x401004\",\"symbol\":\"0x401004\",\"instruction\":\"movabs rax, 0x1122334455667788\",\"value\":\"0x1122334455667788\""),
		  "%s", o.out);
	cr_assert(strstr(o.out, "\"r15\":\"0x0\",\"rip\":"), "%s", o.out);
	cr_assert(strstr(o.out, "\"type\":\"process-exit\",\"tid\":7"), "%s", o.out);
	out_free(&o);
}

Test(query_cli, c_api_session_over_a_borrowed_replay)
{
	strand_error err;
	struct strand_replay *r = NULL;
	cr_assert_eq(strand_replay_open(trace, NULL, &r, &err), STRAND_OK, "%s", err.msg);
	struct strand_query *q = NULL;
	cr_assert_eq(strand_query_new(r, NULL, &q, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_query_replay(q), r);
	struct strand_query_result res = { 0 };
	cr_assert_eq(strand_query_exec(q, "seek 12", &res, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_position(r), 12);
	uint64_t v = 0;
	cr_assert_eq(strand_query_eval(q, "eax | 0x80070000", &v, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(v, 0x80070002);
	/* no trace path: no event index, no passes */
	uint64_t n = 99;
	cr_assert_null(strand_query_events(q, &n));
	cr_assert_eq(n, 0);
	cr_assert_eq(strand_query_exec(q, "syscalls", &res, &err), STRAND_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "syscalls: the session has no event index"), "%s", err.msg);
	cr_assert(strstr(res.json, "\"ok\":false"), "%s", res.json);
	/* origin works on the borrowed handle and puts it back */
	cr_assert_eq(strand_query_exec(q, "origin eax", &res, &err), STRAND_OK, "%s", err.msg);
	cr_assert(strstr(res.json, "\"kind\":\"constant\",\"position\":11"), "%s", res.json);
	cr_assert_eq(strand_replay_position(r), 12);
	char prompt[128];
	strand_query_prompt(q, prompt, sizeof prompt);
	cr_assert_str_eq(prompt, "[12 t1] demo.exe!Open+0x15> ");
	strand_query_result_fini(&res);
	strand_query_free(q);
	/* the replay is the caller's and still works */
	cr_assert_eq(strand_replay_seek(r, 0, &err), STRAND_OK, "%s", err.msg);
	strand_replay_close(r);
}

/* ---- interactive, through a pseudo-terminal ---- */

struct pty {
	int fd;
	pid_t pid;
	char buf[65536];
	size_t len;
};

static void pty_start_on(struct pty *p, const char *home, const char *trace_path);

static void pty_start(struct pty *p, const char *home)
{
	pty_start_on(p, home, trace);
}

static void pty_start_on(struct pty *p, const char *home, const char *trace_path)
{
	p->fd = posix_openpt(O_RDWR | O_NOCTTY);
	cr_assert_geq(p->fd, 0);
	cr_assert_eq(grantpt(p->fd), 0);
	cr_assert_eq(unlockpt(p->fd), 0);
	char *slave = ptsname(p->fd);
	cr_assert(slave);
	p->len = 0;
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0) {
		setsid();
		int s = open(slave, O_RDWR);
		if (s < 0)
			_exit(126);
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		setenv("HOME", home, 1);
		setenv("TERM", "dumb", 1);
		setenv("INPUTRC", "/dev/null", 1);
		execl(STRAND_CLI, STRAND_CLI, "query", "-q", trace_path, (char *)NULL);
		_exit(127);
	}
}

/* Read until `want` appears in the output after offset `from`. */
static bool pty_expect(struct pty *p, size_t from, const char *want)
{
	for (int waited = 0; waited < 60000;) {
		p->buf[p->len] = '\0';
		if (p->len > from && strstr(p->buf + from, want))
			return true;
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		int r = poll(&pfd, 1, 100);
		if (r == 0) {
			waited += 100;
			continue;
		}
		ssize_t k = read(p->fd, p->buf + p->len, sizeof p->buf - p->len - 1);
		if (k <= 0)
			return false;
		p->len += (size_t)k;
	}
	return false;
}

static void pty_send(struct pty *p, const char *s)
{
	cr_assert_eq(write(p->fd, s, strlen(s)), (ssize_t)strlen(s));
}

Test(query_cli, interactive_session_shows_prompt_answers_and_completes)
{
	struct pty p;
	pty_start(&p, tmpdir);
	cr_assert(pty_expect(&p, 0, "'help' lists commands"), "banner: %s", p.buf);
	cr_assert(pty_expect(&p, 0, "[0 t1] demo.exe!main> "), "prompt: %s", p.buf);
	size_t mark = p.len;
	pty_send(&p, "step 3\r");
	cr_assert(pty_expect(&p, mark, "position 3  tid 1"), "answer: %s", p.buf + mark);
	cr_assert(pty_expect(&p, mark, "[3 t1] demo.exe!main+0x8> "), "prompt: %s", p.buf + mark);
	/* tab completion of a command and of a module!symbol */
	mark = p.len;
	/* "disa" is ambiguous (disable, disas): Tab adds nothing, "s" decides */
	pty_send(&p, "disa\ts demo!Op\t 1\r");
	cr_assert(pty_expect(&p, mark, "demo!Open"), "completion: %s", p.buf + mark);
	cr_assert(pty_expect(&p, mark, "push ebp"), "disas answer: %s", p.buf + mark);
	mark = p.len;
	pty_send(&p, "modu\t\r"); /* a unique prefix completes */
	cr_assert(pty_expect(&p, mark, "symbols  path"), "modules answer: %s", p.buf + mark);
	/* errors do not end the session */
	mark = p.len;
	pty_send(&p, "frob\r");
	cr_assert(pty_expect(&p, mark, "error: unknown command 'frob'"), "%s", p.buf + mark);
	cr_assert(pty_expect(&p, mark, "[3 t1]"), "%s", p.buf + mark);
	pty_send(&p, "quit\r");
	int ws = 0;
	for (int i = 0; i < 100 && waitpid(p.pid, &ws, WNOHANG) == 0; i++)
		usleep(50000);
	cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "exit status %d", ws);
	close(p.fd);
	/* history was saved */
	char hist[700];
	snprintf(hist, sizeof hist, "%s/.strand_query_history", tmpdir);
	char *h = read_file(hist);
	cr_assert(h && strstr(h, "step 3"), "history: %s", h ? h : "(none)");
	free(h);
}

Test(query_cli, interactive_enter_repeats_motion_and_ctrl_c_keeps_the_session)
{
	struct pty p;
	pty_start(&p, tmpdir);
	cr_assert(pty_expect(&p, 0, "[0 t1] demo.exe!main> "), "prompt: %s", p.buf);
	size_t mark = p.len;
	pty_send(&p, "si 2\r");
	cr_assert(pty_expect(&p, mark, "[2 t1] "), "si 2: %s", p.buf + mark);
	mark = p.len;
	pty_send(&p, "\r"); /* the last motion again */
	cr_assert(pty_expect(&p, mark, "[4 t1] "), "repeat: %s", p.buf + mark);
	mark = p.len;
	pty_send(&p, "regs\r\r"); /* not a motion: Enter still repeats si 2 */
	cr_assert(pty_expect(&p, mark, "[6 t1] "), "repeat after regs: %s", p.buf + mark);
	mark = p.len;
	pty_send(&p, "frob\x03"); /* Ctrl-C drops the line, the session goes on */
	pty_send(&p, "when\r");
	cr_assert(pty_expect(&p, mark, "position 6  tid 1"), "after Ctrl-C: %s", p.buf + mark);
	cr_assert_null(strstr(p.buf + mark, "unknown command 'frob"), "%s", p.buf + mark);
	pty_send(&p, "quit\r");
	int st;
	waitpid(p.pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(p.fd);
	char path[512];
	snprintf(path, sizeof path, "%s/.strand_query_history", tmpdir);
	FILE *h = fopen(path, "r");
	cr_assert_not_null(h, "history kept");
	char buf[4096] = "";
	size_t n = fread(buf, 1, sizeof buf - 1, h);
	buf[n] = '\0';
	fclose(h);
	cr_assert(strstr(buf, "si 2") && strstr(buf, "when"), "history: %s", buf);
}

/* A long computation recorded here: Ctrl-C stops a continue and the
 * prompt comes back at the position reached; Ctrl-C stops a whole-trace
 * query (find: a pass over the trace) and the prompt comes back where it
 * was. */
Test(query_cli, ctrl_c_interrupts_a_long_continue_and_a_whole_trace_query)
{
	char exe[512], rec[512], src[512];
	snprintf(src, sizeof src, "%s/tests/gdb/spin.c", STRAND_SOURCE_DIR);
	snprintf(exe, sizeof exe, "%s/spin", tmpdir);
	snprintf(rec, sizeof rec, "%s/spin.strand", tmpdir);
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "cc -O0 -o '%s' '%s' && '%s' record -q -o '%s' -- '%s' >/dev/null 2>&1",
		 exe, src, STRAND_CLI, rec, exe);
	if (system(cmd) != 0)
		cr_skip_test("cannot record a Linux program here");
	struct pty p;
	pty_start_on(&p, tmpdir, rec);
	/* opening replays the trace once: slow under sanitizers, wait longer */
	bool prompt = false;
	for (int k = 0; k < 5 && !prompt; k++)
		prompt = pty_expect(&p, 0, "> ");
	cr_assert(prompt, "prompt: %s", p.buf);
	size_t mark = p.len;
	pty_send(&p, "continue\r");
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	pty_send(&p, "\x03");
	cr_assert(pty_expect(&p, mark, "interrupted at position"), "interrupt: %s", p.buf + mark);
	cr_assert_null(strstr(p.buf + mark, "reached the end"), "%s", p.buf + mark);
	mark = p.len;
	pty_send(&p, "pos\r");
	cr_assert(pty_expect(&p, mark, "trace: positions 0 .. "), "session goes on: %s", p.buf + mark);
	const char *at = strstr(p.buf + mark, "position ");
	cr_assert_not_null(at);
	unsigned long here = strtoul(at + strlen("position "), NULL, 10);
	/* a value nothing holds: the pass would run to the end */
	mark = p.len;
	pty_send(&p, "find 0x5eedf00d\r");
	nanosleep(&ts, NULL);
	pty_send(&p, "\x03");
	cr_assert(pty_expect(&p, mark, "interrupted at position "), "find: %s", p.buf + mark);
	cr_assert(pty_expect(&p, mark, "places took the value 0x5eedf00d"), "%s", p.buf + mark);
	mark = p.len;
	pty_send(&p, "pos\r");
	char want[64];
	snprintf(want, sizeof want, "position %lu  tid", here);
	cr_assert(pty_expect(&p, mark, want), "where it was: %s", p.buf + mark);
	pty_send(&p, "quit\r");
	int st;
	waitpid(p.pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(p.fd);
}
