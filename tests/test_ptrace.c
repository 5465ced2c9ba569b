/*
 * The Linux ptrace recorder (record/ptrace/, `strand record`): real
 * programs from Debian packages are recorded, finalized and replayed to
 * their recorded end exactly; failing runs, signals, a fatal fault, the
 * threads, the snapshot-diff fallback and Ctrl-C are checked on
 * small programs from tests/corpus/ built at test time.
 *
 * No per-test .timeout: with --jobs 2 Criterion 2.4.1 leaks its timeout
 * bookkeeping (LeakSanitizer fails the run); ctest's TIMEOUT bounds it.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strand/replay.h"
#include "strand/trace.h"

extern char **environ;

#define CORPUS STRAND_SOURCE_DIR "/tests/corpus"

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/strand-ptrace-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

/* Run argv with stdin from /dev/null and stdout/stderr into `out` (or
 * /dev/null); returns the wait status. */
static int run(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(rc, 0, "cannot run %s: %s", argv[0], strerror(rc));
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* Build tests/corpus/NAME.c into the temporary directory. */
static void build(const char *name, char *exe, size_t len)
{
	char src[512];
	snprintf(src, sizeof src, "%s/%s.c", CORPUS, name);
	snprintf(exe, len, "%s/%s", tmpdir, name);
	char *argv[] = { "/usr/bin/cc", "-O1", "-o", exe, src, "-lpthread", NULL };
	int st = run(argv, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cannot build %s", src);
}

/* strand record [extra] -o trace -- prog...; returns the wait status. */
static int record(const char *trace, bool raw, char *const prog[], const char *log)
{
	char *argv[64];
	int n = 0;
	argv[n++] = STRAND_CLI;
	argv[n++] = "record";
	if (raw)
		argv[n++] = "--raw";
	argv[n++] = "--keyframe-every";
	argv[n++] = "100";
	argv[n++] = "-o";
	argv[n++] = (char *)trace;
	argv[n++] = "--";
	for (int i = 0; prog[i] && n < 63; i++)
		argv[n++] = prog[i];
	argv[n] = NULL;
	return run(argv, log);
}

struct summary {
	uint32_t flags;
	uint64_t count[STRAND_REC_TYPE_MAX];
	uint64_t exit_code;
	bool complete;
	char output[4096];   /* stdout + stderr OUTPUT records, truncated */
	bool libc_symbols;   /* a MODULE libc.so.6 with symbols */
	bool saw_enoent;     /* a SYSCALL that failed with ENOENT */
	uint32_t last_exception_code;
	uint32_t last_exception_flags;
};

/* Read a whole trace (after a structural check). */
static void summarize(const char *path, struct summary *s)
{
	struct strand_reader *r;
	strand_error err;
	memset(s, 0, sizeof *s);
	cr_assert_eq(strand_reader_open(path, &r, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_reader_verify(r, &err), STRAND_OK, "verify %s: %s", path, err.msg);
	s->flags = strand_reader_info(r)->flags;
	s->complete = strand_reader_summary(r)->complete;
	strand_reader_close(r);
	cr_assert_eq(strand_reader_open(path, &r, &err), STRAND_OK, "%s", err.msg);
	const struct strand_record *rec;
	size_t ol = 0;
	while (strand_reader_next(r, &rec, &err) == STRAND_OK) {
		s->count[rec->type]++;
		switch (rec->type) {
		case STRAND_REC_MODULE:
			if (!strcmp(rec->u.module.name, "libc.so.6") && rec->u.module.nsyms > 1000)
				s->libc_symbols = true;
			break;
		case STRAND_REC_SYSCALL:
			if ((int64_t)rec->u.syscall.result == -ENOENT)
				s->saw_enoent = true;
			break;
		case STRAND_REC_OUTPUT: {
			size_t n = rec->u.output.len;
			if (n > sizeof s->output - 1 - ol)
				n = sizeof s->output - 1 - ol;
			memcpy(s->output + ol, rec->u.output.data, n);
			ol += n;
			break;
		}
		case STRAND_REC_EXCEPTION:
			s->last_exception_code = (uint32_t)rec->u.exception.code;
			s->last_exception_flags = rec->u.exception.flags;
			break;
		case STRAND_REC_PROCESS_EXIT:
			s->exit_code = rec->u.exit_code;
			break;
		}
	}
	strand_reader_close(r);
}

/* Replay the whole trace; it must reach its end with every key frame
 * matching. */
static void replay_exactly(const char *path)
{
	struct strand_replay *rp;
	strand_error err;
	cr_assert_eq(strand_replay_open(path, NULL, &rp, &err), STRAND_OK, "open %s: %s", path,
		     err.msg);
	strand_status st = strand_replay_seek(rp, strand_replay_end(rp), &err);
	cr_assert_eq(st, STRAND_OK, "replay %s: %s", path, err.msg);
	cr_assert_eq(strand_replay_position(rp), strand_replay_end(rp));
	struct strand_replay_stats stats;
	strand_replay_get_stats(rp, &stats);
	cr_assert_gt(stats.keyframes_checked, 0);
	strand_replay_close(rp);
}

/* ---- the corpus: Debian programs ----------------------------------- */

struct corpus_case {
	const char *name;
	int exit_status;
	const char *argv[8];  /* "@IN" = tests/corpus/input.txt, "@TMP" = temp dir */
};

static struct corpus_case corpus[] = {
	{ "echo", 0, { "/bin/echo", "hello", "strand" } },
	{ "sh-exec", 0, { "/bin/sh", "-c", "/bin/true; exec /bin/echo via exec" } },
	{ "ls", 0, { "/bin/ls", "-la", "/usr" } },
	{ "ls-nonexistent", 2, { "/bin/ls", "/nonexistent" } },
	{ "cat", 0, { "/bin/cat", "@IN" } },
	{ "cat-missing", 1, { "/bin/cat", "/nonexistent/file" } },
	{ "cat-directory", 1, { "/bin/cat", "/" } },
	{ "wc", 0, { "/usr/bin/wc", "@IN" } },
	{ "sort", 0, { "/usr/bin/sort", "@IN" } },
	{ "grep", 0, { "/bin/grep", "-n", "apple", "@IN" } },
	{ "grep-nomatch", 1, { "/bin/grep", "cherry", "@IN" } },
	{ "sed", 0, { "/bin/sed", "s/apple/APPLE/", "@IN" } },
	{ "gzip", 0, { "/bin/gzip", "-c", "@IN" } },
	{ "tar", 0, { "/bin/tar", "-cf", "@TMP/x.tar", "-C", STRAND_SOURCE_DIR "/tests", "corpus" } },
	{ "find", 0, { "/usr/bin/find", CORPUS, "-name", "*.c" } },
	{ "python3", 0, { "/usr/bin/python3", "-c", "print(sum(range(100)))" } },
	{ "sqlite3", 0, { "/usr/bin/sqlite3", ":memory:", "create table t(x); insert into t values (1),(2); select sum(x) from t;" } },
};

#define NCORPUS (sizeof corpus / sizeof corpus[0])

/* Parameters are indexes: the test runs in another process, where the
 * table's string pointers of this one would not be valid. */
static int corpus_index[NCORPUS];

ParameterizedTestParameters(ptrace, corpus_program_replays_exactly)
{
	for (size_t i = 0; i < NCORPUS; i++)
		corpus_index[i] = (int)i;
	return cr_make_param_array(int, corpus_index, NCORPUS);
}

ParameterizedTest(int *idx, ptrace, corpus_program_replays_exactly,
		  .init = setup, .fini = teardown)
{
	const struct corpus_case *c = &corpus[*idx];
	char *prog[8] = { 0 }, buf[8][512];
	for (int i = 0; i < 7 && c->argv[i]; i++) {
		if (!strcmp(c->argv[i], "@IN"))
			snprintf(buf[i], sizeof buf[i], "%s/input.txt", CORPUS);
		else if (!strncmp(c->argv[i], "@TMP", 4))
			snprintf(buf[i], sizeof buf[i], "%s%s", tmpdir, c->argv[i] + 4);
		else
			snprintf(buf[i], sizeof buf[i], "%s", c->argv[i]);
		prog[i] = buf[i];
	}
	if (access(prog[0], X_OK) != 0)
		cr_skip_test("%s is not installed", prog[0]);
	char trace[512], log[512];
	snprintf(trace, sizeof trace, "%s/%s.strand", tmpdir, c->name);
	snprintf(log, sizeof log, "%s/record.log", tmpdir);
	int st = record(trace, false, prog, log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == c->exit_status,
		  "strand record %s exits with the program's status %d (see %s)", c->name,
		  c->exit_status, log);
	struct summary s;
	summarize(trace, &s);
	cr_assert(s.complete);
	cr_assert_eq(s.flags & STRAND_TRACE_F_ORDINAL_POSITIONS, 0, "finalized trace");
	cr_assert_eq(s.exit_code, (uint64_t)c->exit_status, "%s: exit %" PRIu64, c->name, s.exit_code);
	cr_assert(s.libc_symbols, "libc.so.6 module with its symbols");
	cr_assert_gt(s.count[STRAND_REC_SYSCALL], 10);
	cr_assert_gt(s.count[STRAND_REC_KEYFRAME], 0);
	if (c->exit_status != 0 && strcmp(c->name, "grep-nomatch") && strcmp(c->name, "cat-directory"))
		cr_assert(s.saw_enoent, "the failing syscall (ENOENT) is in the trace");
	replay_exactly(trace);
}

/* ---- recorder behaviours --------------------------------------------- */

Test(ptrace, raw_trace_has_ordinal_positions_and_output, .init = setup, .fini = teardown)
{
	char trace[512];
	snprintf(trace, sizeof trace, "%s/echo.strand", tmpdir);
	char *prog[] = { "/bin/echo", "hello", "raw", NULL };
	int st = record(trace, true, prog, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct summary s;
	summarize(trace, &s);
	cr_assert(s.complete);
	cr_assert_neq(s.flags & STRAND_TRACE_F_ORDINAL_POSITIONS, 0);
	cr_assert_str_eq(s.output, "hello raw\n");
	cr_assert_eq(s.count[STRAND_REC_THREAD], 1);
	cr_assert_eq(s.count[STRAND_REC_SNAPSHOT_END], 1);
	cr_assert_gt(s.count[STRAND_REC_NONDET], 0, "cpuid/rdtsc of ld.so are recorded");
	cr_assert_eq(s.count[STRAND_REC_NOTE], 5, "auxv, argv, exe, process-id, process-argv");
	cr_assert_eq(s.exit_code, 0);
}

/* Text written to a descriptor that names the null device reaches nobody:
 * it is not program output (a shell's `2>/dev/null`). */
Test(ptrace, writes_to_the_null_device_are_not_output, .init = setup, .fini = teardown)
{
	char trace[512], log[512];
	snprintf(trace, sizeof trace, "%s/null.strand", tmpdir);
	snprintf(log, sizeof log, "%s/null.log", tmpdir);
	char *prog[] = { "/bin/sh", "-c", "echo hidden >/dev/null; echo hidden2 2>/dev/null >&2; echo shown",
			 NULL };
	int st = record(trace, false, prog, log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct summary s;
	summarize(trace, &s);
	cr_assert_str_eq(s.output, "shown\n");
	replay_exactly(trace);
}

/* When strand record itself writes to a null device, the program's
 * inherited streams are still its output; what it sends to a null device
 * it opened itself (`2>/dev/null` in the script) is not.  The recording's
 * streams are a null-device node of the test's own. */
Test(ptrace, own_null_redirects_are_dropped_when_the_recording_writes_to_null_too, .init = setup,
     .fini = teardown)
{
	char trace[512], node[512], cmd[2048];
	snprintf(trace, sizeof trace, "%s/null2.strand", tmpdir);
	snprintf(node, sizeof node, "%s/nulldev", tmpdir);
	cr_assert_eq(mknod(node, S_IFCHR | 0666, makedev(1, 3)), 0, "mknod: %s", strerror(errno));
	snprintf(cmd, sizeof cmd,
		 "%s record -q -o %s -- /bin/sh -c 'echo hidden 2>/dev/null >&2; echo said >&2; echo shown' "
		 ">%s 2>%s",
		 STRAND_CLI, trace, node, node);
	cr_assert_eq(system(cmd), 0);
	struct summary s;
	summarize(trace, &s);
	cr_assert_str_eq(s.output, "said\nshown\n");
	replay_exactly(trace);
}

Test(ptrace, caught_signals_are_delivered_and_replay, .init = setup, .fini = teardown)
{
	char exe[512], trace[512];
	build("signals", exe, sizeof exe);
	snprintf(trace, sizeof trace, "%s/signals.strand", tmpdir);
	char *prog[] = { exe, NULL };
	int st = record(trace, false, prog, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3, "the program's own status");
	struct summary s;
	summarize(trace, &s);
	cr_assert_eq(s.exit_code, 3);
	cr_assert_geq(s.count[STRAND_REC_EXCEPTION], 1, "SIGUSR1 at least");
	cr_assert(strstr(s.output, "hits>0=1") != NULL, "output: %s", s.output);
	replay_exactly(trace);
}

Test(ptrace, fatal_fault_ends_trace_with_process_exit, .init = setup, .fini = teardown)
{
	char exe[512], trace[512];
	build("segv", exe, sizeof exe);
	snprintf(trace, sizeof trace, "%s/segv.strand", tmpdir);
	char *prog[] = { exe, NULL };
	int st = record(trace, false, prog, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGSEGV,
		  "strand record exits as a shell shows the program's death");
	struct summary s;
	summarize(trace, &s);
	cr_assert(s.complete);
	cr_assert_eq(s.exit_code, 128 + SIGSEGV);
	cr_assert_eq(s.last_exception_code, SIGSEGV);
	cr_assert_neq(s.last_exception_flags & STRAND_EXC_F_FATAL, 0);
	cr_assert_str_eq(s.output, "before\n");
	replay_exactly(trace);
}

/* A thread is created, joined and ends: THREAD, THREAD_SWITCH and
 * THREAD_EXIT records, and the trace replays exactly. */
Test(ptrace, thread_creation_and_join_are_recorded, .init = setup, .fini = teardown)
{
	char exe[512], trace[512], log[512];
	build("thread", exe, sizeof exe);
	snprintf(trace, sizeof trace, "%s/thread.strand", tmpdir);
	snprintf(log, sizeof log, "%s/record.log", tmpdir);
	char *prog[] = { exe, NULL };
	int st = record(trace, false, prog, log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	struct summary s;
	summarize(trace, &s);
	cr_assert(s.complete);
	cr_assert_eq(s.count[STRAND_REC_THREAD], 2, "the main thread and the new one");
	cr_assert_geq(s.count[STRAND_REC_THREAD_SWITCH], 2);
	cr_assert_eq(s.count[STRAND_REC_THREAD_EXIT], 1);
	cr_assert_str_eq(s.output, "joined\n");
	replay_exactly(trace);
}

/* Two threads that wait for each other in spin loops, without a system
 * call: only preemption in user code lets the other one run. */
Test(ptrace, spinning_threads_are_preempted_and_replay, .init = setup, .fini = teardown)
{
	char exe[512], trace[512], log[512];
	build("thread_spin", exe, sizeof exe);
	snprintf(trace, sizeof trace, "%s/spin.strand", tmpdir);
	snprintf(log, sizeof log, "%s/record.log", tmpdir);
	char *prog[] = { exe, NULL };
	int st = record(trace, false, prog, log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	struct summary s;
	summarize(trace, &s);
	cr_assert_geq(s.count[STRAND_REC_THREAD_SWITCH], 6, "every round hands the turn over twice");
	cr_assert_gt(s.count[STRAND_REC_KEYFRAME], s.count[STRAND_REC_THREAD_SWITCH] / 2,
		     "a preemption writes a key frame");
	cr_assert(strstr(s.output, "rounds done"));
	replay_exactly(trace);
}

/* Ctrl-C while two threads spin: the recorder kills every thread and
 * the trace is complete. */
Test(ptrace, interrupt_of_spinning_threads_leaves_a_complete_trace, .init = setup, .fini = teardown)
{
	char exe[512], trace[512];
	build("thread_spin", exe, sizeof exe);
	snprintf(trace, sizeof trace, "%s/tspin.strand", tmpdir);
	char *argv[] = { STRAND_CLI, "record", "--raw", "-q", "-o", trace, "--", exe, "forever", NULL };
	pid_t pid;
	cr_assert_eq(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ), 0);
	/* long enough for several turns on a loaded machine (1.5 s gave two
	 * at load 8 on 2 CPUs) */
	struct timespec ts = { 3, 0 };
	nanosleep(&ts, NULL);
	kill(pid, SIGINT);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "interrupted: 128 + SIGINT");
	struct summary s;
	summarize(trace, &s);
	cr_assert(s.complete);
	cr_assert_eq(s.count[STRAND_REC_THREAD], 2);
	cr_assert_gt(s.count[STRAND_REC_THREAD_SWITCH], 2, "the spinning threads took turns");
	cr_assert_eq(s.exit_code, 128 + SIGKILL);
}

/* Ctrl-C of a deadlocked program: the thread with the turn waits in the
 * kernel too, and the trace says so (NOTE at-syscall), so the report sees
 * every thread blocked in its futex wait. */
Test(ptrace, interrupt_of_a_deadlock_shows_every_thread_blocked, .init = setup, .fini = teardown)
{
	char exe[512], trace[512], cmd[1200];
	build("deadlock_mutex", exe, sizeof exe);
	snprintf(trace, sizeof trace, "%s/deadlock.strand", tmpdir);
	char *argv[] = { STRAND_CLI, "record", "-q", "-o", trace, "--", exe, NULL };
	pid_t pid;
	cr_assert_eq(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ), 0);
	struct timespec ts = { 1, 500 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	kill(pid, SIGINT);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "interrupted: 128 + SIGINT");
	replay_exactly(trace);
	snprintf(cmd, sizeof cmd, "%s report --json %s", STRAND_CLI, trace);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	static char out[1 << 20];
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = 0;
	pclose(p);
	/* two threads wait on each other's mutex: a deadlock, though the
	 * recording was interrupted */
	cr_assert(strstr(out, "\"verdict\": \"hang\""), "%.2000s", out);
	cr_assert(strstr(out, "(a cycle of 2 threads)"), "%.2000s", out);
	cr_assert(strstr(out, "3 of 3 threads were blocked"), "%.2000s", out);
	unsigned futex = 0;
	for (const char *q = out; (q = strstr(q, "\"waits_in\": \"futex\"")); q++)
		futex++;
	cr_assert_eq(futex, 3, "every thread waits in futex: %.3000s", out);
}

/* An exec while another thread lives is refused: one line, status 125,
 * no trace. */
/* A thread that is not the leader execs while the main thread waits in
 * pthread_join: the kernel ends the main thread and gives the exec'ing
 * one the leader's tid.  The trace ends the old threads, goes on in the
 * new image under the leader's tid, and replays exactly. */
Test(ptrace, exec_from_a_thread_goes_on_as_the_leader_in_the_new_image, .init = setup,
     .fini = teardown)
{
	char exe[512], trace[512], log[512];
	build("thread_exec", exe, sizeof exe);
	snprintf(trace, sizeof trace, "%s/texec.strand", tmpdir);
	snprintf(log, sizeof log, "%s/record.log", tmpdir);
	char *prog[] = { exe, "thread", NULL };
	int st = record(trace, false, prog, log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x (see %s)", st, log);
	struct summary s;
	summarize(trace, &s);
	cr_assert(s.complete);
	cr_assert_str_eq(s.output, "main: start\nthread: work=4999950000\n"
				   "after exec from the second thread\n");
	cr_assert_eq(s.count[STRAND_REC_THREAD_EXIT], 2, "the main thread and the exec'ing one");

	/* the records after the exec name the leader's tid */
	struct strand_reader *r;
	strand_error err;
	cr_assert_eq(strand_reader_open(trace, &r, &err), STRAND_OK, "%s", err.msg);
	const struct strand_record *rec;
	uint32_t leader = 0, exec_tid = 0, last_tid = 0;
	bool exec_seen = false;
	while (strand_reader_next(r, &rec, &err) == STRAND_OK) {
		if (rec->type == STRAND_REC_THREAD && !leader)
			leader = rec->tid;
		if (rec->type == STRAND_REC_SYSCALL && rec->u.syscall.number == 59 &&
		    (int64_t)rec->u.syscall.result == 0) {
			exec_seen = true;
			exec_tid = rec->tid;
		}
		if (rec->type == STRAND_REC_SYSCALL)
			last_tid = rec->tid;
	}
	strand_reader_close(r);
	cr_assert(exec_seen, "the successful execve is recorded");
	cr_assert_neq(exec_tid, leader, "the second thread called execve");
	cr_assert_eq(last_tid, leader, "the new image runs as tid=%u (the leader), not %u", leader,
		     last_tid);
	replay_exactly(trace);
}

/* A child process that shares the memory while both run
 * (clone(CLONE_VM) without CLONE_VFORK) is refused before it exists, with
 * one line naming the call and where it was made, status 125 and no
 * trace; the same when a child of the recorded program does it. */
Test(ptrace, shared_memory_child_is_refused_with_a_located_error, .init = setup, .fini = teardown)
{
	char exe[512], trace[512], log[512], script[700];
	build("clone_vm", exe, sizeof exe);
	snprintf(trace, sizeof trace, "%s/cvm.strand", tmpdir);
	snprintf(log, sizeof log, "%s/record.log", tmpdir);
	snprintf(script, sizeof script, "'%s'; echo after $?", exe);
	char *direct[] = { exe, NULL }, *in_child[] = { "/bin/sh", "-c", script, NULL };
	char *const *progs[] = { direct, in_child };
	for (int i = 0; i < 2; i++) {
		int st = record(trace, false, (char **)progs[i], log);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 125, "case %d: status 0x%x", i, st);
		FILE *f = fopen(log, "r");
		char text[8192] = "";
		cr_assert_not_null(f);
		text[fread(text, 1, sizeof text - 1, f)] = 0;
		fclose(f);
		const char *line = strstr(text, "the program calls clone with CLONE_VM but neither "
						"CLONE_VFORK nor CLONE_THREAD");
		cr_assert_not_null(line, "case %d: message: %s", i, text);
		cr_assert(strstr(line, "pc=0x") && strstr(line, "libc.so.6+0x"),
			  "case %d: the message names where: %s", i, text);
		cr_assert_neq(access(trace, F_OK), 0, "case %d: no trace is left behind", i);
	}
}

/* A trace write past the file-size limit (RLIMIT_FSIZE) is the
 * recorder's own error (status 125, one line naming the write, the
 * partial .raw kept), not a death by SIGXFSZ.  (The recorded program
 * keeps its own disposition: the recorder's handler is reset by exec.) */
Test(ptrace, file_size_limit_is_a_clear_recorder_error, .init = setup, .fini = teardown)
{
	char trace[512], log[512], cmd[1400];
	snprintf(trace, sizeof trace, "%s/fsize.strand", tmpdir);
	snprintf(log, sizeof log, "%s/record.log", tmpdir);
	snprintf(cmd, sizeof cmd, "ulimit -f 64 && exec '%s' record -q -o '%s' -- /bin/true", STRAND_CLI,
		 trace);
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	int st = run(argv, log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 125, "status %d (signaled %d, sig %d)", st,
		  WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	FILE *f = fopen(log, "r");
	char text[4096] = "";
	cr_assert_not_null(f);
	text[fread(text, 1, sizeof text - 1, f)] = 0;
	fclose(f);
	cr_assert(strstr(text, "File too large"), "message: %s", text);
	char raw[600];
	snprintf(raw, sizeof raw, "%s.raw", trace);
	cr_assert_eq(access(raw, F_OK), 0, "the partial trace is kept");
}

Test(ptrace, missing_program_exits_127_and_leaves_no_trace, .init = setup, .fini = teardown)
{
	char trace[512], log[512];
	snprintf(trace, sizeof trace, "%s/missing.strand", tmpdir);
	snprintf(log, sizeof log, "%s/record.log", tmpdir);
	char *prog[] = { "/nonexistent/program", NULL };
	int st = record(trace, false, prog, log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 127, "as a shell: not found is 127");
	cr_assert_neq(access(trace, F_OK), 0, "no trace is left behind");
}

Test(ptrace, unknown_syscall_is_captured_by_snapshot_diff, .init = setup, .fini = teardown)
{
	char exe[512], trace[512], log[512];
	build("unknown_syscall", exe, sizeof exe);
	snprintf(trace, sizeof trace, "%s/unknown.strand", tmpdir);
	snprintf(log, sizeof log, "%s/record.log", tmpdir);
	char *prog[] = { exe, NULL };
	int st = record(trace, false, prog, log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	FILE *f = fopen(log, "r");
	char text[4096] = "";
	cr_assert_not_null(f);
	text[fread(text, 1, sizeof text - 1, f)] = 0;
	fclose(f);
	cr_assert(strstr(text, "get_mempolicy") || strstr(text, "(239)"), "log names it: %s", text);
	replay_exactly(trace);
}

Test(ptrace, interrupt_leaves_a_complete_trace, .init = setup, .fini = teardown)
{
	char exe[512], trace[512];
	build("spin", exe, sizeof exe);
	snprintf(trace, sizeof trace, "%s/spin.strand", tmpdir);
	char *argv[] = { STRAND_CLI, "record", "--raw", "-q", "-o", trace, "--", exe, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	struct timespec ts = { 1, 500 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	kill(pid, SIGINT);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "interrupted: 128 + SIGINT");
	struct summary s;
	summarize(trace, &s);
	cr_assert(s.complete);
	cr_assert_eq(s.exit_code, 128 + SIGKILL);
	cr_assert(strstr(s.output, "tick 0") != NULL);
}

Test(ptrace, sigpipe_at_a_write_ends_the_trace_and_replays, .init = setup, .fini = teardown)
{
	if (access("/usr/bin/yes", X_OK) != 0)
		cr_skip_test("yes is not installed");
	char trace[512];
	snprintf(trace, sizeof trace, "%s/yes.strand", tmpdir);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	close(p[0]); /* every write of the program gets EPIPE + SIGPIPE */
	char *argv[] = { STRAND_CLI, "record", "-q", "-o", trace, "--", "/usr/bin/yes", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	pid_t pid;
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGPIPE);
	struct summary s;
	summarize(trace, &s);
	cr_assert(s.complete);
	cr_assert_eq(s.exit_code, 128 + SIGPIPE);
	cr_assert_eq(s.last_exception_code, SIGPIPE);
	cr_assert_neq(s.last_exception_flags & STRAND_EXC_F_FATAL, 0);
	replay_exactly(trace);
}

Test(ptrace, report_names_failing_syscall_errno_and_symbolized_stack, .init = setup,
     .fini = teardown)
{
	char trace[512], out[512];
	snprintf(trace, sizeof trace, "%s/cat.strand", tmpdir);
	snprintf(out, sizeof out, "%s/report.json", tmpdir);
	char *prog[] = { "/bin/cat", "/nonexistent/file", NULL };
	int st = record(trace, false, prog, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "cat's own status");
	char *argv[] = { STRAND_CLI, "report", "--format", "json", trace, NULL };
	st = run(argv, out);
	cr_assert(WIFEXITED(st), "strand report ran");
	FILE *f = fopen(out, "r");
	cr_assert_not_null(f);
	static char text[1 << 20];
	text[fread(text, 1, sizeof text - 1, f)] = 0;
	fclose(f);
	const char *rc = strstr(text, "\"root_cause\"");
	cr_assert_not_null(rc, "report has a root cause: %.300s", text);
	cr_assert(strstr(rc, "\"openat\"") && strstr(rc, "ENOENT") && strstr(rc, "/nonexistent/file"),
		  "root cause: %.400s", rc);
	cr_assert(strstr(rc, "libc.so.6!open64") != NULL, "stack with ELF symbols: %.600s", rc);
}
