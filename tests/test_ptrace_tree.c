/*
 * Process trees: `strand record` records every child process of the
 * program (docs/linux-recorder.md, "Process trees").  What a user sees:
 * `strand query` lists the tree and moves into a child, `strand report`
 * on a failing shell script names the call that failed inside the child,
 * and --no-follow records the program alone, its output unchanged.
 * (tests/test_ptrace_corpus.c replays every process of shell pipelines,
 * make, gcc, git and python subprocess.)
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strand/query.h"
#include "strand/trace.h"

extern char **environ;

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/strand-tree-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

/* Run argv with stdout into `out` (a file in tmpdir); the wait status. */
static int run(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char errf[512];
	snprintf(errf, sizeof errf, "%s/stderr", tmpdir);
	posix_spawn_file_actions_addopen(&fa, 2, errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(rc, 0, "cannot run %s", argv[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	return st;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	cr_assert_not_null(b);
	b[fread(b, 1, (size_t)n, f)] = 0;
	fclose(f);
	return b;
}

/* Record `sh -c script` (extra: a recorder option or NULL) into trace;
 * returns the shell's exit status and its stdout in *out (owned). */
static int record_sh(const char *script, const char *extra, const char *trace, char **out)
{
	char o[512];
	snprintf(o, sizeof o, "%s/rec.out", tmpdir);
	char *argv[12];
	int n = 0;
	argv[n++] = STRAND_CLI;
	argv[n++] = "record";
	argv[n++] = "-q";
	if (extra)
		argv[n++] = (char *)extra;
	argv[n++] = "-o";
	argv[n++] = (char *)trace;
	argv[n++] = "--";
	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = (char *)script;
	argv[n] = NULL;
	int st = run(argv, o);
	cr_assert(WIFEXITED(st), "strand record did not exit");
	*out = slurp(o);
	return WEXITSTATUS(st);
}

static uint32_t nchildren(const char *trace)
{
	struct strand_reader *r;
	strand_error err;
	cr_assert_eq(strand_reader_open(trace, &r, &err), STRAND_OK, "%s", err.msg);
	struct strand_process *k = NULL;
	uint32_t n = 0;
	cr_assert_eq(strand_trace_children(r, &k, &n, &err), STRAND_OK, "%s", err.msg);
	free(k);
	strand_reader_close(r);
	return n;
}

/* The format minor version the trace's header says. */
static unsigned minor_of(const char *trace)
{
	struct strand_reader *r;
	strand_error err;
	cr_assert_eq(strand_reader_open(trace, &r, &err), STRAND_OK, "%s", err.msg);
	unsigned m = strand_reader_info(r)->format_minor;
	strand_reader_close(r);
	return m;
}

/* The pid of the row of `processes` JSON whose argv is `argv`, 0 if none. */
static unsigned pid_of(const char *json, const char *argv)
{
	char want[256];
	snprintf(want, sizeof want, "\"argv\":\"%s\"", argv);
	for (const char *p = strstr(json, "\"pid\":"); p; p = strstr(p + 1, "\"pid\":")) {
		const char *end = strchr(p, '}');
		const char *a = strstr(p, want);
		if (a && end && a < end)
			return (unsigned)strtoul(p + 6, NULL, 10);
	}
	return 0;
}

static void exec_ok(struct strand_query *q, const char *line, struct strand_query_result *res)
{
	strand_error err;
	cr_assert_eq(strand_query_exec(q, line, res, &err), STRAND_OK, "%s: %s", line, err.msg);
}

Test(ptrace_tree, query_lists_processes_and_moves_into_a_child, .init = setup, .fini = teardown)
{
	char trace[512], *out;
	snprintf(trace, sizeof trace, "%s/pipe.strand", tmpdir);
	cr_assert_eq(record_sh("echo tree | /bin/cat", NULL, trace, &out), 0);
	cr_assert_str_eq(out, "tree\n");
	free(out);
	cr_assert_geq(nchildren(trace), 1);
	cr_assert_eq(minor_of(trace), 1, "a trace holding children says format 1.1");

	struct strand_query *q;
	strand_error err;
	cr_assert_eq(strand_query_open(trace, NULL, &q, &err), STRAND_OK, "%s", err.msg);
	struct strand_query_result res = { 0 };
	exec_ok(q, "processes", &res);
	unsigned cat = pid_of(res.json, "/bin/cat");
	cr_assert_neq(cat, 0, "processes lists /bin/cat: %s", res.json);
	cr_assert_not_null(strstr(res.json, "\"current\":true"));
	char line[64];
	snprintf(line, sizeof line, "process %u", cat);
	exec_ok(q, line, &res);
	cr_assert_not_null(strstr(res.text, "/bin/cat"), "%s", res.text);
	cr_assert_not_null(strstr(res.json, "\"exit_code\":0"), "%s", res.json);
	/* the other commands act on the child: its write of "tree\n" to stdout */
	exec_ok(q, "syscalls --name write", &res);
	cr_assert_not_null(strstr(res.text, "write"), "%s", res.text);
	exec_ok(q, "pos", &res);
	char tid[32];
	snprintf(tid, sizeof tid, "tid %u", cat);
	cr_assert_not_null(strstr(res.text, tid), "%s", res.text);
	exec_ok(q, "process root", &res);
	cr_assert_not_null(strstr(res.json, "\"root\":true"), "%s", res.json);
	cr_assert_neq(strand_query_exec(q, "process 1", &res, &err), STRAND_OK);
	cr_assert_not_null(strstr(err.msg, "no process 1"), "%s", err.msg);
	strand_query_result_fini(&res);
	strand_query_free(q);
}

Test(ptrace_tree, report_names_the_failing_call_inside_the_child, .init = setup, .fini = teardown)
{
	char trace[512], *out, rep[512];
	snprintf(trace, sizeof trace, "%s/fail.strand", tmpdir);
	snprintf(rep, sizeof rep, "%s/report.json", tmpdir);
	cr_assert_eq(record_sh("cat /nonexistent/strand-tree-x | wc -l; exit 1", NULL, trace, &out), 1);
	cr_assert_str_eq(out, "0\n");
	free(out);
	char *argv[] = { STRAND_CLI, "report", "-q", "--format", "json", trace, NULL };
	int st = run(argv, rep);
	cr_assert(WIFEXITED(st));
	char *j = slurp(rep);
	const char *ic = strstr(j, "\"inside_child\"");
	cr_assert_not_null(ic, "the report goes into the child: %s", j);
	cr_assert_not_null(strstr(ic, "\"program\": \"cat /nonexistent/strand-tree-x\""), "%s", ic);
	cr_assert_not_null(strstr(ic, "\"exit_status\": 1"), "%s", ic);
	cr_assert_not_null(strstr(ic, "\"syscall\": \"openat\""), "%s", ic);
	cr_assert_not_null(strstr(ic, "\"object\": \"/nonexistent/strand-tree-x\""), "%s", ic);
	cr_assert_not_null(strstr(ic, "\"status_name\": \"ENOENT\""), "%s", ic);
	cr_assert_not_null(strstr(ic, "\"stack\""), "a stack frame in the child: %s", ic);
	/* the stack ends in cat's own start-up: no frame of the shell that
	 * forked it survives the exec, and none falls outside every module */
	const char *stk = strstr(ic, "\"stack\"");
	const char *stk_end = strchr(stk, ']');
	cr_assert_not_null(stk_end);
	const char *start = strstr(stk, "__libc_start_main");
	cr_assert(start && start < stk_end, "%.*s", (int)(stk_end - stk), stk);
	const char *bare = strstr(stk, "\"symbol\": \"0x");
	cr_assert(!bare || bare > stk_end, "a frame outside every module: %.*s", (int)(stk_end - stk), stk);
	unsigned below = 0;
	for (const char *q = strstr(start, "\"symbol\""); q && q < stk_end; q = strstr(q + 1, "\"symbol\""))
		below++;
	cr_assert_eq(below, 1, "only cat's _start below __libc_start_main: %.*s", (int)(stk_end - stk), stk);
	cr_assert_not_null(strstr(j, "Inside child process"), "the summary says it");
	free(j);
}

Test(ptrace_tree, no_follow_records_the_program_alone, .init = setup, .fini = teardown)
{
	char trace[512], *out;
	snprintf(trace, sizeof trace, "%s/nofollow.strand", tmpdir);
	cr_assert_eq(record_sh("echo one | /bin/cat; exit 3", "--no-follow", trace, &out), 3);
	cr_assert_str_eq(out, "one\n");
	free(out);
	cr_assert_eq(nchildren(trace), 0);
	cr_assert_eq(minor_of(trace), 0, "a trace without children says format 1.0");
}
