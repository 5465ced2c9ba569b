/*
 * The Linux recorder on real programs: each case runs a program natively
 * and under `strand record`, and asserts what a user would check first:
 * the same stdout, the same exit status (a death by signal N is 128 + N,
 * as a shell shows it), and a trace that replays exactly to its end.
 *
 * Cases the recorder cannot record yet stay in the table with `xfail`
 * set to the reason; for them the test asserts that `strand record`
 * refuses with a non-zero status and names the reason (the keyword in
 * `xfail_says`), never that it records something wrong.  When one starts
 * to work, its test fails and the case moves out of xfail.
 *
 * Scripts run with /bin/sh -c in a fresh temporary directory, where
 * "@C" is replaced by tests/corpus and "@T" by that directory.  A case
 * whose program is not installed is skipped.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strand/replay.h"
#include "strand/trace.h"

extern char **environ;

#define CORPUS STRAND_SOURCE_DIR "/tests/corpus"
#if defined(__SANITIZE_ADDRESS__)
#define CASE_TIMEOUT_S 900 /* the finalizing replay of a threaded sort or xz
			      (3-7e8 instructions) runs ~20x slower */
#else
#define CASE_TIMEOUT_S 240
#endif

struct corpus_case {
	const char *name;
	const char *need;       /* program that must be installed, or NULL */
	const char *build;      /* tests/corpus/BUILD.c compiled natively into @T/BUILD, or NULL */
	const char *prep;       /* shell command run natively before both runs (input files), or NULL */
	const char *script;     /* shell command, or with `direct` an argv split on spaces */
	bool direct;            /* record the program itself, not sh (faults, signals) */
	const char *xfail;      /* why it cannot be recorded yet, or NULL */
	const char *xfail_says; /* keyword of the recorder's refusal */
};

static const struct corpus_case cases[] = {
	{ "pipeline", NULL, NULL, NULL,
	  "printf 'pear\\napple\\nfig\\n' | sort | tr a-z A-Z | cat -n", false, NULL, NULL },
	{ "command-substitution", NULL, NULL, NULL,
	  "n=$(printf 'a\\nb\\nc\\n' | wc -l); d=$(basename \"$(dirname /x/y/z)\"); echo \"lines=$n dir=$d\"; "
	  "for f in $(echo one two); do echo \"item $f\"; done", false, NULL, NULL },
	{ "failing-child", NULL, NULL, NULL,
	  "echo start; ls /nonexistent-dir-for-strand 2>/dev/null; echo \"ls said $?\"; exit 4", false,
	  NULL, NULL },
	{ "make", "/usr/bin/make", NULL, NULL,
	  "rm -f prog *.o; cp @C/tinyproj/* . && make -s && ./prog && make -s clean", false, NULL, NULL },
	{ "gcc-hello", "/usr/bin/gcc", NULL, NULL,
	  "gcc -o hello @C/hello.c && ./hello", false, NULL, NULL },
	{ "git", "/usr/bin/git", NULL, NULL,
	  "rm -rf repo; export HOME=@T GIT_CONFIG_NOSYSTEM=1; git init -q repo && cd repo && echo data > f && git add f && "
	  "git -c user.name=strand -c user.email=s@example.org commit -q -m first && "
	  "git log --format=%s && git ls-files", false, NULL, NULL },
	{ "python-subprocess", "/usr/bin/python3", NULL, NULL, "/usr/bin/python3 @C/py_subprocess.py", false,
	  NULL, NULL },
	{ "setpriv-dump", "/usr/bin/setpriv", NULL, NULL, "/usr/bin/setpriv --dump", true, NULL, NULL },
	{ "setpriv-nnp", "/usr/bin/setpriv", NULL, NULL, "/usr/bin/setpriv --no-new-privs /bin/echo nnp", true,
	  NULL, NULL },
	{ "fork-rdtsc-cpuid", NULL, "fork_nondet", NULL, "@T/fork_nondet", true, NULL, NULL },
	{ "alarm-spin", NULL, "alarm_spin", NULL, "@T/alarm_spin short", true, NULL, NULL },
	{ "null-deref-in-loop", NULL, "list_walk_null", NULL, "@T/list_walk_null", true, NULL, NULL },
	{ "stack-overflow", NULL, "stack_overflow", NULL, "@T/stack_overflow", true, NULL, NULL },
	{ "signal-interrupts-blocking-calls", NULL, "signal_restart", NULL, "@T/signal_restart", true, NULL,
	  NULL },
	{ "python-threading", "/usr/bin/python3", NULL, NULL, "/usr/bin/python3 @C/py_threading.py", true,
	  NULL, NULL },
	{ "sort-parallel", "/usr/bin/sort", NULL, "seq 1 140000 | sort -r > big.txt",
	  "/usr/bin/sort --parallel=2 @T/big.txt", true, NULL, NULL },
	{ "xz-threads", "/usr/bin/xz", NULL, "seq 1 60000 > in.txt",
	  "/usr/bin/xz -T2 --block-size=65536 -c @T/in.txt", true, NULL, NULL },
	{ "pthread-prodcons", NULL, "prodcons", NULL, "@T/prodcons", true, NULL, NULL },
	{ "pthread-spin", NULL, "thread_spin", NULL, "@T/thread_spin", true, NULL, NULL },
	{ "pthread-pipe", NULL, "thread_pipe", NULL, "@T/thread_pipe", true, NULL, NULL },
	{ "pthread-undefined-flags", NULL, "thread_flags", NULL, "@T/thread_flags", true, NULL, NULL },
	{ "exec-from-leader-with-threads", NULL, "thread_exec", NULL, "@T/thread_exec leader", true,
	  NULL, NULL },
	{ "exec-from-second-thread", NULL, "thread_exec", NULL, "@T/thread_exec thread", true, NULL,
	  NULL },
	{ "go", "/usr/bin/go", NULL, NULL, "@GO", true, NULL, NULL },
};

#define NCASES (sizeof cases / sizeof cases[0])

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/strand-corpus-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

/* Replace @C and @T in s into out. */
static void expand(const char *s, char *out, size_t len)
{
	size_t o = 0;
	for (; *s && o + 1 < len; s++) {
		const char *rep = NULL;
		if (s[0] == '@' && s[1] == 'C')
			rep = CORPUS;
		else if (s[0] == '@' && s[1] == 'T')
			rep = tmpdir;
		if (rep) {
			o += (size_t)snprintf(out + o, len - o, "%s", rep);
			if (o >= len)
				o = len - 1;
			s++;
		} else {
			out[o++] = *s;
		}
	}
	out[o] = 0;
}

/* Run argv in tmpdir with stdin /dev/null, stdout into `out`, stderr into
 * `errf`; kill it after CASE_TIMEOUT_S.  Returns the wait status. */
static int run_in_tmp(char *const argv[], const char *out, const char *errf)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addchdir_np(&fa, tmpdir);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(rc, 0, "cannot run %s: %s", argv[0], strerror(rc));
	int status = 0;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t p = waitpid(pid, &status, WNOHANG);
		if (p == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > CASE_TIMEOUT_S) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			char what[512] = "";
			for (size_t i = 0, o = 0; argv[i] && o + 2 < sizeof what; i++)
				o += (size_t)snprintf(what + o, sizeof what - o, "%s%s", i ? " " : "", argv[i]);
			cr_assert_fail("%s did not finish in %d s", what, CASE_TIMEOUT_S);
		}
		usleep(2000);
	}
	return status;
}

/* Exit status as a shell shows it. */
static int shell_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
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

/* The case's program argv (owned by bufs). */
static void case_argv(const struct corpus_case *c, char **argv, size_t max, char *buf, size_t len)
{
	size_t n = 0;
	if (!strcmp(c->script, "@GO")) {
		snprintf(buf, len, "%s/hello", tmpdir);
		argv[n++] = buf;
	} else if (!c->direct) {
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
		expand(c->script, buf, len);
		argv[n++] = buf;
	} else {
		expand(c->script, buf, len);
		for (char *tok = strtok(buf, " "); tok && n + 1 < max; tok = strtok(NULL, " "))
			argv[n++] = tok;
	}
	argv[n] = NULL;
}

static void build_case(const struct corpus_case *c)
{
	char out[512], errf[512], src[512], exe[512];
	snprintf(out, sizeof out, "%s/build.out", tmpdir);
	snprintf(errf, sizeof errf, "%s/build.err", tmpdir);
	if (c->build) {
		snprintf(src, sizeof src, "%s/%s.c", CORPUS, c->build);
		snprintf(exe, sizeof exe, "%s/%s", tmpdir, c->build);
		char *argv[] = { "/usr/bin/cc", "-O1", "-o", exe, src, "-lpthread", NULL };
		int st = run_in_tmp(argv, out, errf);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cannot build %s", src);
	}
	if (!strcmp(c->script, "@GO")) {
		char cache[600];
		snprintf(cache, sizeof cache, "GOCACHE=%s/gocache", tmpdir);
		snprintf(src, sizeof src, "%s/hello.go", CORPUS);
		snprintf(exe, sizeof exe, "%s/hello", tmpdir);
		char script[2048];
		snprintf(script, sizeof script, "%s HOME=%s /usr/bin/go build -o %s %s", cache, tmpdir, exe,
			 src);
		char *argv[] = { "/bin/sh", "-c", script, NULL };
		int st = run_in_tmp(argv, out, errf);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cannot build %s", src);
	}
}

/* The whole trace replays to its end with every key frame matching, and
 * so does every child process trace embedded in it (recursively).
 * Returns the number of processes replayed. */
static unsigned replay_exactly(const char *path)
{
	unsigned procs = 1;
	struct strand_reader *rd;
	strand_error rerr;
	cr_assert_eq(strand_reader_open(path, &rd, &rerr), STRAND_OK, "open %s: %s", path, rerr.msg);
	struct strand_process *kids = NULL;
	uint32_t nkids = 0;
	cr_assert_eq(strand_trace_children(rd, &kids, &nkids, &rerr), STRAND_OK, "%s: %s", path,
		     rerr.msg);
	for (uint32_t i = 0; i < nkids; i++) {
		char *kp = NULL;
		cr_assert_eq(strand_trace_child_temp(rd, kids[i].pid, &kp, &rerr), STRAND_OK, "%s: %s",
			     path, rerr.msg);
		procs += replay_exactly(kp);
		unlink(kp);
		free(kp);
	}
	free(kids);
	strand_reader_close(rd);

	struct strand_replay *rp;
	strand_error err;
	cr_assert_eq(strand_replay_open(path, NULL, &rp, &err), STRAND_OK, "open %s: %s", path,
		     err.msg);
	strand_status st = strand_replay_seek(rp, strand_replay_end(rp), &err);
	cr_assert_eq(st, STRAND_OK, "replay %s: %s", path, err.msg);
	cr_assert_eq(strand_replay_position(rp), strand_replay_end(rp));
	strand_replay_close(rp);
	return procs;
}

static int case_index[NCASES];

ParameterizedTestParameters(ptrace_corpus, program_behaves_as_natively_and_replays)
{
	for (size_t i = 0; i < NCASES; i++)
		case_index[i] = (int)i;
	return cr_make_param_array(int, case_index, NCASES);
}

ParameterizedTest(int *idx, ptrace_corpus, program_behaves_as_natively_and_replays,
		  .init = setup, .fini = teardown)
{
	const struct corpus_case *c = &cases[*idx];
	if (c->need && access(c->need, X_OK) != 0)
		cr_skip_test("%s: %s is not installed", c->name, c->need);
	build_case(c);
	if (c->prep) {
		char prep[1024], po[512], pe[512];
		expand(c->prep, prep, sizeof prep);
		snprintf(po, sizeof po, "%s/prep.out", tmpdir);
		snprintf(pe, sizeof pe, "%s/prep.err", tmpdir);
		char *pargv[] = { "/bin/sh", "-c", prep, NULL };
		int st = run_in_tmp(pargv, po, pe);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: preparation failed", c->name);
	}

	char *argv[32], buf[2048];
	char nat_out[512], nat_err[512], rec_out[512], rec_err[512], trace[512];
	snprintf(nat_out, sizeof nat_out, "%s/native.out", tmpdir);
	snprintf(nat_err, sizeof nat_err, "%s/native.err", tmpdir);
	snprintf(rec_out, sizeof rec_out, "%s/record.out", tmpdir);
	snprintf(rec_err, sizeof rec_err, "%s/record.err", tmpdir);
	snprintf(trace, sizeof trace, "%s/%s.strand", tmpdir, c->name);

	case_argv(c, argv, 24, buf, sizeof buf);
	int native = shell_status(run_in_tmp(argv, nat_out, nat_err));

	/* the same program under the recorder; every script starts by
	 * removing what a previous run left, so the second run behaves as
	 * the first */
	char *rargv[40];
	size_t n = 0;
	rargv[n++] = STRAND_CLI;
	rargv[n++] = "record";
	rargv[n++] = "-q";
	rargv[n++] = "-o";
	rargv[n++] = trace;
	rargv[n++] = "--";
	for (size_t i = 0; argv[i] && n + 1 < 40; i++)
		rargv[n++] = argv[i];
	rargv[n] = NULL;
	int recorded = shell_status(run_in_tmp(rargv, rec_out, rec_err));

	char *err_text = slurp(rec_err);
	if (c->xfail) {
		cr_assert_neq(recorded, 0, "%s (expected to fail: %s) was recorded", c->name, c->xfail);
		cr_assert_not_null(strstr(err_text, c->xfail_says),
				   "%s: expected a refusal naming '%s', got: %s", c->name, c->xfail_says,
				   err_text);
		free(err_text);
		return;
	}
	char *a = slurp(nat_out), *b = slurp(rec_out);
	cr_assert_str_eq(b, a, "%s: stdout differs under strand record (recorder said: %s)", c->name,
			 err_text);
	cr_assert_eq(recorded, native, "%s: exit status %d under strand record, %d natively (%s)",
		     c->name, recorded, native, err_text);
	free(a);
	free(b);
	free(err_text);
	unsigned procs = replay_exactly(trace);
	/* every script runs other programs: each is a process of the tree */
	if (!c->direct)
		cr_assert_geq(procs, 2, "%s: %u process traces, expected the children too", c->name,
			      procs);
}
