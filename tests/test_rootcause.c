/* The root-cause corpus: real Debian programs failing for known reasons,
 * recorded here with `strand record`, and the report's answer checked
 * against what is known about each failure: the verdict, the cause
 * (kernel call, object, status, or the kind of crash / user-code decision
 * / wait) and a frame of its stack.
 *
 * Each case runs `setup` (sh, in a fresh directory, with $SRC = the corpus
 * sources tests/corpus/rootcause), then records `command` (split by sh) as
 * root, as nobody (permission cases) or interrupted after a second (hang
 * cases).  Cases that need the recorder's process-tree support are
 * expected to fail until it lands (`xfail` says why); a passing xfail case
 * says so.
 *
 * Each case logs one line "rootcause: NAME right|partly|wrong ..." on
 * stderr: `partly` when the verdict is right and some of the cause is not.
 * The accuracy of the corpus is the count of those lines. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strand/analysis.h"

#define SRC STRAND_SOURCE_DIR "/tests/corpus/rootcause"

enum mode { AS_ROOT = 0, AS_NOBODY = 1, INTERRUPT = 2 };

struct rc_case {
	const char *name;
	enum mode mode;
	const char *setup;    /* sh script run in the case directory, or NULL */
	const char *command;  /* recorded; split by sh */
	const char *verdict;  /* failure crash hang interrupted no_failure_found */
	const char *syscall;  /* kernel call(s) accepted, comma-separated; "-" none expected; NULL: not checked */
	const char *object;   /* substring of root_cause.object; NULL: not checked */
	const char *status;   /* status name, or crash kind, or "user_code" / "wait"; NULL: not checked */
	const char *frame;    /* substring of a frame of the cause's stack; NULL: not checked */
	const char *xfail;    /* why it is expected to fail today, or NULL */
};

#define F "failure"
#define CR "crash"
#define NF "no_failure_found"

static const struct rc_case cases[] = {
	/* missing files */
	{ "cat_missing", AS_ROOT, NULL, "cat nofile", F, "openat", "nofile", "ENOENT", "libc", NULL },
	{ "ls_missing", AS_ROOT, NULL, "ls nofile", F, "statx,lstat,newfstatat", "nofile", "ENOENT", "libc", NULL },
	{ "cp_missing_source", AS_ROOT, NULL, "cp nofile dst", F, "openat,newfstatat,statx", "nofile", "ENOENT", "libc", NULL },
	{ "mv_missing_source", AS_ROOT, NULL, "mv nofile dst", F, "renameat2,renameat,rename,newfstatat,statx", "nofile", "ENOENT", "libc", NULL },
	{ "rm_missing", AS_ROOT, NULL, "rm nofile", F, "unlinkat,newfstatat,statx", "nofile", "ENOENT", "libc", NULL },
	{ "head_missing", AS_ROOT, NULL, "head nofile", F, "openat", "nofile", "ENOENT", "libc", NULL },
	{ "wc_missing", AS_ROOT, NULL, "wc nofile", F, "openat", "nofile", "ENOENT", "libc", NULL },
	{ "sort_missing", AS_ROOT, NULL, "sort nofile", F, "openat,newfstatat", "nofile", "ENOENT", "libc", NULL },
	{ "grep_missing", AS_ROOT, NULL, "grep foo nofile", F, "openat", "nofile", "ENOENT", "libc", NULL },
	{ "stat_missing", AS_ROOT, NULL, "stat nofile", F, "statx,newfstatat", "nofile", "ENOENT", "libc", NULL },
	{ "touch_missing_dir", AS_ROOT, NULL, "touch nodir/f", F, "openat,utimensat", "nodir/f", "ENOENT", "libc", NULL },
	{ "mkdir_missing_parent", AS_ROOT, NULL, "mkdir nodir/sub", F, "mkdir,mkdirat", "nodir/sub", "ENOENT", "libc", NULL },
	{ "rmdir_missing", AS_ROOT, NULL, "rmdir nodir", F, "rmdir,unlinkat", "nodir", "ENOENT", "libc", NULL },
	{ "chmod_missing", AS_ROOT, NULL, "chmod 644 nofile", F, "fchmodat,newfstatat,statx", "nofile", "ENOENT", "libc", NULL },
	{ "tail_missing", AS_ROOT, NULL, "tail nofile", F, "openat", "nofile", "ENOENT", "libc", NULL },
	{ "tar_missing_archive", AS_ROOT, NULL, "tar -xf noarchive.tar", F, "openat", "noarchive.tar", "ENOENT", "libc", NULL },
	{ "sha256sum_missing", AS_ROOT, NULL, "sha256sum nofile", F, "openat", "nofile", "ENOENT", "libc", NULL },
	{ "jq_missing", AS_ROOT, NULL, "jq . nofile", F, "openat", "nofile", "ENOENT", "libc", NULL },
	{ "ln_missing_dir", AS_ROOT, NULL, "ln -s target nodir/link", F, "symlinkat,symlink", "nodir/link", "ENOENT", "libc", NULL },
	{ "python_open_missing", AS_ROOT, NULL, "/usr/bin/python3 -S -c \"open('nofile')\"", F, "openat", "nofile", "ENOENT", "libc", NULL },
	/* a component that is not a directory */
	{ "cat_notdir", AS_ROOT, "echo x > f", "cat f/x", F, "openat", "f/x", "ENOTDIR", "libc", NULL },
	{ "mkdir_notdir", AS_ROOT, "echo x > f", "mkdir f/d", F, "mkdir,mkdirat", "f/d", "ENOTDIR", "libc", NULL },
	{ "ls_notdir", AS_ROOT, "echo x > f", "ls f/", F, "statx,lstat,newfstatat", "f/", "ENOTDIR", "libc", NULL },
	/* names that exist */
	{ "mkdir_exists", AS_ROOT, "mkdir d", "mkdir d", F, "mkdir,mkdirat", "d", "EEXIST", "libc", NULL },
	{ "ln_exists", AS_ROOT, "touch a b", "ln a b", F, "linkat,link", "b", "EEXIST", "libc", NULL },
	{ "ln_s_exists", AS_ROOT, "touch a b", "ln -s a b", F, "symlinkat,symlink", "b", "EEXIST", "libc", NULL },
	{ "rmdir_not_empty", AS_ROOT, "mkdir -p d/e", "rmdir d", F, "rmdir,unlinkat", "d", "ENOTEMPTY", "libc", NULL },
	{ "cat_directory", AS_ROOT, "mkdir d", "cat d", F, "read", "d", "EISDIR", "libc", NULL },
	/* permissions (recorded as nobody) */
	{ "cat_shadow_denied", AS_NOBODY, NULL, "cat /etc/shadow", F, "openat", "/etc/shadow", "EACCES", "libc", NULL },
	{ "ls_root_denied", AS_NOBODY, NULL, "ls /root", F, "openat", "/root", "EACCES", "libc", NULL },
	{ "touch_etc_denied", AS_NOBODY, NULL, "touch /etc/strand-denied", F, "openat", "/etc/strand-denied", "EACCES", "libc", NULL },
	{ "mkdir_root_denied", AS_NOBODY, NULL, "mkdir /strand-denied", F, "mkdir,mkdirat", "/strand-denied", "EACCES", "libc", NULL },
	/* refused connections */
	{ "python_connect_refused", AS_ROOT, NULL, "/usr/bin/python3 -S -c \"import socket; socket.create_connection(('127.0.0.1', 1))\"", F, "connect", "127.0.0.1:1", "ECONNREFUSED", "libc", NULL },
	{ "curl_connect_refused", AS_ROOT, NULL, "curl -sS http://127.0.0.1:1/", F, "connect,getsockopt", "127.0.0.1:1", "ECONNREFUSED", NULL, NULL },
	/* the refusal only in an out-parameter: non-blocking connect, poll,
	 * getsockopt(SO_ERROR) = ECONNREFUSED; message and exit status made
	 * from that value */
	{ "sockerr_connect_refused", AS_ROOT, "gcc -O1 -g -o sockerr $SRC/sockerr.c", "./sockerr 127.0.0.1 1", F, "getsockopt,connect", "127.0.0.1:1", "ECONNREFUSED", "sockerr!connect_to", NULL },
	/* a full disk (a node of /dev/full's device: every write fails with ENOSPC) */
	{ "dd_disk_full", AS_ROOT, "mknod full c 1 7", "dd if=/etc/hostname of=full", F, "write", "full", "ENOSPC", "libc", NULL },
	{ "cp_disk_full", AS_ROOT, "mknod full c 1 7", "cp /etc/hostname full", F, "write", "full", "ENOSPC", "libc", NULL },
	/* crashes (small programs of the corpus) */
	{ "null_dereference", AS_ROOT, "gcc -O1 -g -o nullderef $SRC/nullderef.c", "./nullderef", CR, "-", NULL, "null_dereference", "nullderef!main", NULL },
	{ "divide_by_zero", AS_ROOT, "gcc -O1 -g -o divzero $SRC/divzero.c && : > empty.txt", "./divzero empty.txt", CR, "-", NULL, "division_by_zero", "divzero!average", NULL },
	{ "stack_overflow", AS_ROOT, "gcc -O1 -g -o overflow $SRC/overflow.c", "./overflow", CR, "-", NULL, "stack_overflow", "overflow!depth", NULL },
	{ "failed_assertion", AS_ROOT, "gcc -O1 -g -o checkcount $SRC/checkcount.c", "./checkcount", CR, "-", NULL, "abort", "libc.so.6!abort", NULL },
	/* no kernel failure: bad input, logic errors */
	{ "jq_parse_error", AS_ROOT, "printf '{' > bad.json", "jq . bad.json", F, "-", NULL, "user_code", NULL, NULL },
	{ "expr_division_by_zero", AS_ROOT, NULL, "expr 1 / 0", F, "-", NULL, "user_code", NULL, NULL },
	{ "date_invalid", AS_ROOT, NULL, "date -d garbage-date", F, "-", NULL, "user_code", NULL, NULL },
	{ "grep_bad_regex", AS_ROOT, "echo a > f", "grep -E '(' f", F, "-", NULL, "user_code", NULL, NULL },
	{ "sed_bad_script", AS_ROOT, "echo a > f", "sed s/a/ f", F, "-", NULL, "user_code", NULL, NULL },
	{ "ls_bad_option", AS_ROOT, NULL, "ls --bogus-option", F, "-", NULL, "user_code", NULL, NULL },
	{ "base64_bad_input", AS_ROOT, "printf '@@@@' > b", "base64 -d b", F, "-", NULL, "user_code", NULL, NULL },
	{ "python_key_error", AS_ROOT, NULL, "/usr/bin/python3 -S -c \"d = {}; d['missing']\"", F, "-", NULL, "user_code", NULL, NULL },
	/* not a failure: documented normal exit statuses */
	{ "grep_no_match", AS_ROOT, "echo a > f", "grep zzz f", NF, "-", NULL, NULL, NULL, NULL },
	{ "diff_files_differ", AS_ROOT, "echo a > a; echo b > b", "diff a b", NF, "-", NULL, NULL, NULL, NULL },
	{ "cmp_files_differ", AS_ROOT, "echo a > a; echo b > b", "cmp a b", NF, "-", NULL, NULL, NULL, NULL },
	{ "test_false", AS_ROOT, NULL, "test -e nofile", NF, "-", NULL, NULL, NULL, NULL },
	/* a call of two names: the message names the one that is not the
	 * call's object (ln names the directory, linkat's object is the new
	 * name) */
	{ "ln_directory_hard_link", AS_ROOT, "mkdir d", "ln d e", F, "linkat,link", "e", "EPERM", "libc", NULL },
	/* documented for an option only: sort's 1 answers -c (here in a
	 * cluster, -nc), and comes with a "disorder" line */
	{ "sort_check_unsorted", AS_ROOT, "printf '2\\n1\\n' > f", "sort -nc f", NF, "-", NULL, NULL, NULL, NULL },
	/* hangs: the recording is interrupted */
	{ "pause_forever", INTERRUPT, "gcc -O1 -g -o waiter $SRC/waiter.c", "./waiter", "interrupted", "-", NULL, "wait", NULL, NULL },
	{ "cat_blocked_on_fifo", INTERRUPT, "mkfifo p", "cat p", "interrupted", "-", NULL, "wait", NULL, NULL },
	/* more classes: permissions on a user's file, through Python; EPERM,
	 * EINVAL, ESRCH, ELOOP, ENAMETOOLONG; a missing archive member (no
	 * kernel failure); a wait on a pipe nobody writes */
	{ "grep_unreadable", AS_NOBODY, "echo y > unread; chmod 000 unread", "grep foo unread", F, "openat", "unread", "EACCES", "libc", NULL },
	{ "python_open_denied", AS_NOBODY, NULL, "/usr/bin/python3 -S -c \"open('/etc/shadow')\"", F, "openat", "/etc/shadow", "EACCES", "libc", NULL },
	{ "mkdir_p_through_file", AS_ROOT, "echo x > f", "mkdir -p f/d/e", F, "mkdir,mkdirat,chdir,openat", "f", "ENOTDIR", "libc", NULL },
	{ "chown_denied", AS_NOBODY, "echo x > f", "chown root f", F, "fchownat,chown,lchown", "f", "EPERM", "libc", NULL },
	{ "rmdir_dot", AS_ROOT, NULL, "rmdir .", F, "rmdir,unlinkat", ".", "EINVAL", "libc", NULL },
	{ "kill_no_such_process", AS_ROOT, NULL, "/usr/bin/kill -0 999999", F, "kill", "pid 999999", "ESRCH", "libc", NULL },
	{ "cat_symlink_loop", AS_ROOT, "ln -s la lb; ln -s lb la", "cat la", F, "openat", "la", "ELOOP", "libc", NULL },
	{ "touch_name_too_long", AS_ROOT, NULL, "touch $(printf '%0300d' 0)", F, "openat,utimensat", "00000000", "ENAMETOOLONG", "libc", NULL },
	{ "tar_missing_member", AS_ROOT, "echo x > f; tar -cf a.tar f", "tar -xf a.tar missing", F, "-", NULL, "user_code", NULL, NULL },
	{ "python_read_empty_pipe", INTERRUPT, NULL, "/usr/bin/python3 -S -c \"import os; r, w = os.pipe(); os.read(r, 1)\"", "interrupted", "-", NULL, "wait", NULL, NULL },
	/* git's "fatal:" after repository discovery: every probe of .git up to
	 * / fails ENOENT; the line names the object (heuristic, labelled) */
	{ "git_not_a_repository", AS_ROOT, "mkdir notrepo", "git -C notrepo log", F, "newfstatat,stat,lstat,statx,access", ".git", "ENOENT", "libc", NULL },
	/* a deadlock of two pthreads: each holds one mutex and waits (futex)
	 * for the other; the recording is interrupted */
	{ "pthread_deadlock", INTERRUPT, "gcc -O1 -g -pthread -o deadlock $SRC/deadlock.c", "./deadlock", "hang", "-", NULL, "wait", NULL, NULL },
	/* failures inside child processes */
	{ "sh_child_missing_file", AS_ROOT, NULL, "sh -c 'cat nofile'", F, "openat", "nofile", "ENOENT", "libc", NULL },
	{ "make_recipe_fails", AS_ROOT, "printf 'all:\\n\\tcat nofile\\n' > Makefile", "make", F, "openat", "nofile", "ENOENT", "libc", NULL },
	/* the error line names no status: its bytes (built after a failed
	 * message-catalog lookup) are not followed to a kernel call; the
	 * object it names is (stat missing.o ENOENT) */
	{ "make_no_rule", AS_ROOT, "printf 'all: missing.o\\n' > Makefile", "make", F, "stat,newfstatat,statx", "missing.o", "ENOENT", "make", NULL },
	/* cc1 fails in its own code; readlink of the source (EINVAL: not a
	 * symlink) is followed by a successful open of it: handled */
	{ "gcc_syntax_error", AS_ROOT, "printf 'int main( { return 0; }\\n' > bad.c", "gcc -c bad.c", F, "-", NULL, "user_code", NULL, NULL },
};

#define NCASES (sizeof cases / sizeof cases[0])

static int case_index[NCASES];

static char *run(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s", cmd);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	if (!buf)
		buf = calloc(1, 1);
	buf[len] = 0;
	int st = pclose(p);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return buf;
}

static bool one_of(const char *list, const char *name)
{
	if (!name)
		return false;
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && !strncmp(p, name, n))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

static bool stack_has(const struct strand_rnode *stack, const char *needle)
{
	for (const struct strand_rnode *f = stack ? stack->first : NULL; f; f = f->next)
		if (strstr(strand_rnode_str(f, "symbol", ""), needle))
			return true;
	return false;
}

/* Record the case into dir/t.strand; false (with a message) if the
 * recorder could not. */
static bool record_case(const struct rc_case *c, const char *dir, char *msg, size_t mlen)
{
	char *cmd = NULL;
	int st;
	if (c->setup) {
		cr_assert(asprintf(&cmd, "cd %s && SRC=%s; export SRC; { %s; } 2>&1", dir, SRC, c->setup) > 0);
		char *out = run(cmd, &st);
		free(cmd);
		if (st != 0) {
			snprintf(msg, mlen, "setup failed: %s", out);
			free(out);
			return false;
		}
		free(out);
	}
	const char *as = c->mode == AS_NOBODY ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
	if (c->mode == INTERRUPT)
		cr_assert(asprintf(&cmd, "cd %s && { %s record -q -o t.strand -- %s > out.txt 2> err.txt & "
				   "pid=$!; sleep 1.5; kill -INT $pid; wait $pid; } 2>&1",
				   dir, STRAND_CLI, c->command) > 0);
	else
		cr_assert(asprintf(&cmd, "cd %s && %s%s record -q -o t.strand -- %s > out.txt 2> err.txt",
				   dir, as, STRAND_CLI, c->command) > 0);
	char *out = run(cmd, &st);
	free(cmd);
	free(out);
	char path[600];
	snprintf(path, sizeof path, "%s/t.strand", dir);
	struct stat sb;
	if (stat(path, &sb) != 0) {
		snprintf(msg, mlen, "no trace written (recorder exit %d)", st);
		return false;
	}
	return true;
}

ParameterizedTestParameters(rootcause, report_names_the_known_cause)
{
	for (size_t i = 0; i < NCASES; i++)
		case_index[i] = (int)i;
	return cr_make_param_array(int, case_index, NCASES);
}

ParameterizedTest(int *idx, rootcause, report_names_the_known_cause, .timeout = 900)
{
	const struct rc_case *c = &cases[*idx];
	char dir[] = "/tmp/strand-rootcause-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0777); /* the nobody cases write their trace there */
	char msg[1024] = "";
	if (!record_case(c, dir, msg, sizeof msg)) {
		fprintf(stderr, "rootcause: %s wrong: %s\n", c->name, msg);
		if (c->xfail)
			cr_skip_test("expected to fail (%s): %s", c->xfail, msg);
		cr_assert_fail("%s: %s", c->name, msg);
	}
	char trace[600];
	snprintf(trace, sizeof trace, "%s/t.strand", dir);
	struct strand_result *res = strand_result_new();
	strand_error err;
	strand_error_clear(&err);
	strand_status st = strand_report_build(trace, NULL, res, &err);
	cr_assert_eq(st, STRAND_OK, "%s: report failed: %s", c->name, err.msg);
	const struct strand_rnode *r = strand_result_root(res);
	const struct strand_rnode *rc = strand_rnode_get(r, "root_cause");
	const char *verdict = strand_rnode_str(r, "verdict", "?");
	/* a failure the report followed into a child process: the answer is
	 * the innermost child's root cause (make -> sh -> cat) */
	int depth = 0;
	for (const struct strand_rnode *in;
	     rc && (in = strand_rnode_get(rc, "inside_child.root_cause")) && depth < 16; depth++)
		rc = in;
	const char *sys = strand_rnode_str(rc, "syscall", NULL);
	const char *obj = strand_rnode_str(rc, "object", NULL);
	const char *kind = strand_rnode_str(rc, "kind", "");
	const char *status = !strcmp(kind, "crash") ? strand_rnode_str(rc, "crash.kind", NULL)
			     : !strcmp(kind, "user_code") || !strcmp(kind, "wait") ? kind
			     : strand_rnode_str(rc, "status_name", NULL);
	const struct strand_rnode *stack = strand_rnode_get(rc, "stack");
	if (!stack)
		stack = strand_rnode_get(rc, "crash.stack");

	bool v_ok = !strcmp(verdict, c->verdict);
	bool s_ok = !c->syscall || (!strcmp(c->syscall, "-") ? sys == NULL : one_of(c->syscall, sys));
	bool o_ok = !c->object || (obj && strstr(obj, c->object));
	bool st_ok = !c->status || (status && !strcmp(status, c->status));
	bool f_ok = !c->frame || stack_has(stack, c->frame);
	bool right = v_ok && s_ok && o_ok && st_ok && f_ok;
	snprintf(msg, sizeof msg, "verdict=%s%s syscall=%s%s object=%s%s status=%s%s frame%s found_by=%s",
		 verdict, v_ok ? "" : "(!)", sys ? sys : "-", s_ok ? "" : "(!)", obj ? obj : "-",
		 o_ok ? "" : "(!)", status ? status : "-", st_ok ? "" : "(!)", f_ok ? "" : "(!)",
		 strand_rnode_str(rc, "found_by", "-"));
	if (depth)
		snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " inside_child=%d", depth);
	fprintf(stderr, "rootcause: %s %s: %s%s%s\n", c->name, right ? "right" : v_ok ? "partly" : "wrong",
		msg, c->xfail ? " [xfail: " : "", c->xfail ? c->xfail : "");
	if (c->xfail && c->xfail[0] && !right) {
		strand_result_free(res);
		cr_skip_test("expected to fail (%s): %s", c->xfail, msg);
	}
	cr_expect(right, "%s: %s", c->name, msg);
	strand_result_free(res);
	char *cmd = NULL;
	cr_assert(asprintf(&cmd, "rm -rf %s", dir) > 0);
	int rs;
	free(run(cmd, &rs));
	free(cmd);
}

/* ------------------------------------------------------------ Windows */

/* Scenarios of tests/corpus/rootcause/win, each running rcwin.exe (built
 * here with mingw-w64 against the real CRT) on Wine's system DLLs, as
 * test_winemu_wine does: $STRAND_WINE_DIR, else the setup script's cache. */
struct win_case {
	const char *scenario;
	const char *verdict;
	const char *syscall, *object, *status, *frame; /* as in struct rc_case */
};

static const struct win_case win_cases[] = {
	{ "config-missing", F, "NtCreateFile,NtOpenFile", "C:\\app\\settings.ini", "STATUS_OBJECT_NAME_NOT_FOUND", "rcwin.exe!open_config" },
	{ "decoy-optional-then-config", F, "NtCreateFile,NtOpenFile", "C:\\app\\settings.ini", "STATUS_OBJECT_NAME_NOT_FOUND", "rcwin.exe!open_config" },
	{ "optional-missing-is-fine", NF, "-", NULL, NULL, NULL },
	{ "data-dir-missing", F, "NtCreateFile,NtOpenFile", "C:\\app\\data\\input.bin", "STATUS_OBJECT_PATH_NOT_FOUND", "rcwin.exe!open_data" },
	{ "file-access-denied", F, "NtCreateFile,NtOpenFile", "C:\\app\\secret.bin", "STATUS_ACCESS_DENIED", "rcwin.exe!open_data" },
	{ "device-absent", F, "NtCreateFile,NtOpenFile", "RcDevice", "STATUS_NO_SUCH_DEVICE", "rcwin.exe!open_data" },
	{ "device-access-denied", F, "NtCreateFile,NtOpenFile", "RcDevice", "STATUS_ACCESS_DENIED", "rcwin.exe!open_data" },
	{ "device-ioctl-no-resources", F, "NtDeviceIoControlFile", "RcDevice", "STATUS_INSUFFICIENT_RESOURCES", "rcwin.exe!main" },
	{ "registry-key-missing", F, "NtOpenKeyEx,NtOpenKey", "rcwin", "STATUS_OBJECT_NAME_NOT_FOUND", "rcwin.exe!main" },
	{ "registry-value-missing", F, "NtQueryValueKey", "rcwin : Threshold", "STATUS_OBJECT_NAME_NOT_FOUND", "rcwin.exe!main" },
	{ "wait-timeout", F, "NtWaitForSingleObject,NtWaitForMultipleObjects", NULL, "STATUS_TIMEOUT", "rcwin.exe!main" },
	{ "null-lookup", CR, "-", NULL, "null_dereference", "rcwin.exe!main" },
	{ "divide-by-zero", CR, "-", NULL, "division_by_zero", "rcwin.exe!main" },
	{ "deadlock-two-events", "hang", "-", NULL, "wait", NULL },
	{ "bad-number", F, "-", NULL, "user_code", NULL },
};

#define NWIN (sizeof win_cases / sizeof win_cases[0])

static int win_index[NWIN];

static void wine_dirs(char *sys, char *nls, size_t len)
{
	char wine[900];
	const char *d = getenv("STRAND_WINE_DIR"), *cache = getenv("STRAND_CACHE"), *home = getenv("HOME");
	if (d && *d)
		snprintf(wine, sizeof wine, "%s", d);
	else if (cache && *cache)
		snprintf(wine, sizeof wine, "%s/wine-8.0~repack-4", cache);
	else
		snprintf(wine, sizeof wine, "%s/.cache/strand/wine-8.0~repack-4", home ? home : "");
	snprintf(sys, len, "%s/usr/lib/i386-linux-gnu/wine/i386-windows", wine);
	snprintf(nls, len, "%s/usr/share/wine/nls", wine);
}

ParameterizedTestParameters(rootcause, windows_scenario_gets_its_known_cause)
{
	for (size_t i = 0; i < NWIN; i++)
		win_index[i] = (int)i;
	return cr_make_param_array(int, win_index, NWIN);
}

ParameterizedTest(int *idx, rootcause, windows_scenario_gets_its_known_cause, .timeout = 900)
{
	const struct win_case *c = &win_cases[*idx];
	char sys[1000], nls[1000], probe[1100];
	wine_dirs(sys, nls, sizeof sys);
	snprintf(probe, sizeof probe, "%s/ntdll.dll", sys);
	struct stat sb;
	cr_assert_eq(stat(probe, &sb), 0, "Wine's DLLs are not unpacked at %s: run scripts/setup.d/wine.sh "
		     "(or set STRAND_WINE_DIR)", sys);
	char dir[] = "/tmp/strand-rootcause-win-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *cmd = NULL;
	int st;
	/* rcwin.exe is built once per run of this test binary (every
	 * scenario runs the same program), under a lock, in a directory named
	 * by the runner's pid; directories of runs that are gone are removed */
	char shared[64];
	snprintf(shared, sizeof shared, "/tmp/strand-rootcause-build-%ld", (long)getppid());
	cr_assert(asprintf(&cmd, "for d in /tmp/strand-rootcause-build-*; do [ -d \"$d\" ] && "
			   "! kill -0 \"${d##*-}\" 2>/dev/null && rm -rf \"$d\"; done; mkdir -p %s && "
			   "flock %s/lock sh -c '[ -f %s/rcwin.exe ] || { i686-w64-mingw32-gcc-win32 -std=gnu11 "
			   "-O1 -fno-omit-frame-pointer -o %s/rcwin.tmp %s/win/rcwin.c -Wl,--no-insert-timestamp "
			   "-Wl,--image-base,0x00400000 -Wl,--strip-debug && mv %s/rcwin.tmp %s/rcwin.exe; }' 2>&1 && "
			   "cp %s/rcwin.exe %s/ && cd %s && %s record-win -q -o t.strand --modules %s --system-dlls %s "
			   "--nls %s %s/win/%s.scenario 2>&1", shared, shared, shared, shared, SRC, shared, shared,
			   shared, dir, dir, STRAND_CLI, dir, sys, nls, SRC, c->scenario) > 0);
	char *out = run(cmd, &st);
	free(cmd);
	char trace[600];
	snprintf(trace, sizeof trace, "%s/t.strand", dir);
	if (stat(trace, &sb) != 0) {
		fprintf(stderr, "rootcause: win/%s wrong: not recorded: %s\n", c->scenario, out);
		cr_assert_fail("%s: not recorded: %s", c->scenario, out);
	}
	free(out);
	struct strand_result *res = strand_result_new();
	strand_error err;
	strand_error_clear(&err);
	cr_assert_eq(strand_report_build(trace, NULL, res, &err), STRAND_OK, "%s: %s", c->scenario, err.msg);
	const struct strand_rnode *r = strand_result_root(res);
	const struct strand_rnode *rc = strand_rnode_get(r, "root_cause");
	const char *verdict = strand_rnode_str(r, "verdict", "?");
	const char *sys_ = strand_rnode_str(rc, "syscall", NULL);
	const char *obj = strand_rnode_str(rc, "object", NULL);
	const char *kind = strand_rnode_str(rc, "kind", "");
	const char *status = !strcmp(kind, "crash") ? strand_rnode_str(rc, "crash.kind", NULL)
			     : !strcmp(kind, "user_code") || !strcmp(kind, "wait") ? kind
			     : strand_rnode_str(rc, "status_name", NULL);
	const struct strand_rnode *stack = strand_rnode_get(rc, "stack");
	if (!stack)
		stack = strand_rnode_get(rc, "crash.stack");
	bool v_ok = !strcmp(verdict, c->verdict);
	bool s_ok = !c->syscall || (!strcmp(c->syscall, "-") ? sys_ == NULL : one_of(c->syscall, sys_));
	bool o_ok = !c->object || (obj && strstr(obj, c->object));
	bool st_ok = !c->status || (status && !strcmp(status, c->status));
	bool f_ok = !c->frame || stack_has(stack, c->frame);
	bool right = v_ok && s_ok && o_ok && st_ok && f_ok;
	char msg[1024];
	snprintf(msg, sizeof msg, "verdict=%s%s syscall=%s%s object=%s%s status=%s%s frame%s found_by=%s",
		 verdict, v_ok ? "" : "(!)", sys_ ? sys_ : "-", s_ok ? "" : "(!)", obj ? obj : "-",
		 o_ok ? "" : "(!)", status ? status : "-", st_ok ? "" : "(!)", f_ok ? "" : "(!)",
		 strand_rnode_str(rc, "found_by", "-"));
	fprintf(stderr, "rootcause: win/%s %s: %s\n", c->scenario, right ? "right" : v_ok ? "partly" : "wrong", msg);
	cr_expect(right, "%s: %s", c->scenario, msg);
	strand_result_free(res);
	cr_assert(asprintf(&cmd, "rm -rf %s", dir) > 0);
	free(run(cmd, &st));
	free(cmd);
}

/* ------------------------------------------- knowledge base and symptoms */

#include "analyses/symptom.h"

/* The code a line reports: decimal as decimal, hex as hex, positions
 * never. */
Test(rootcause, symptom_code_is_parsed_by_its_form)
{
	struct sym_code c;
	const char *l1 = "rcwin: device query failed, error 1450";
	cr_assert(sym_parse_code(l1, (uint32_t)strlen(l1), &c));
	cr_assert_eq(c.value, 1450);
	cr_assert_eq(c.base, 10);
	const char *l2 = "strmfilt!X [\\streamfilter.cxx @ 459]:Error initializing. hr = 80070002";
	cr_assert(sym_parse_code(l2, (uint32_t)strlen(l2), &c));
	cr_assert_eq(c.value, 0x80070002u);
	cr_assert_eq(c.base, 16);
	const char *l3 = "x.c:12:5: error: expected ';' after 3 attempts";
	cr_assert(sym_parse_code(l3, (uint32_t)strlen(l3), &c));
	cr_assert_eq(c.value, 3, "took a position as the code: %lu", (unsigned long)c.value);
	/* "(7)" is the code; the "1" of "after 1 ms" and of "port 1" counts
	 * something else; the exit status picks among equals */
	const char *l5 = "curl: (7) Failed to connect to 127.0.0.1 port 1 after 10 ms: Couldn't connect to server";
	cr_assert(sym_parse_code(l5, (uint32_t)strlen(l5), &c));
	cr_assert_eq(c.value, 7, "took %lu", (unsigned long)c.value);
	const char *l6 = "app: failed after 3 attempts, last error 5";
	cr_assert(sym_find_code_value(l6, (uint32_t)strlen(l6), 3, &c));
	cr_assert_eq(c.value, 3);
	cr_assert(!sym_find_code_value(l6, (uint32_t)strlen(l6), 7, &c));
	const char *l4 = "FileNotFoundError: [Errno 2] No such file or directory: 'nofile'";
	cr_assert(sym_parse_code(l4, (uint32_t)strlen(l4), &c));
	cr_assert_eq(c.value, 2);
	struct sym_message m;
	cr_assert(sym_find_message(STRAND_ABI_LINUX, l4, (uint32_t)strlen(l4), &m));
	cr_assert_str_eq(m.name, "ENOENT");
}

/* The out-parameter rule: a call that succeeded but wrote an errno value
 * the flow reached is the cause, and the report says where the status came
 * from (root_cause.status_from), in text and JSON. */
Test(rootcause, out_parameter_status_is_named_with_where_it_came_from, .timeout = 300)
{
	char dir[] = "/tmp/strand-rootcause-op-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *cmd = NULL;
	int st;
	cr_assert(asprintf(&cmd, "cd %s && gcc -O1 -g -o sockerr %s/sockerr.c && "
			   "%s record -q -o t.strand -- ./sockerr 127.0.0.1 1 > out.txt 2>&1; "
			   "%s report -q t.strand", dir, SRC, STRAND_CLI, STRAND_CLI) > 0);
	char *out = run(cmd, &st);
	free(cmd);
	cr_assert(strstr(out, "status from:") && strstr(out, "out-parameter") &&
		  strstr(out, "the call itself succeeded"), "%s", out);
	free(out);
	char trace[600];
	snprintf(trace, sizeof trace, "%s/t.strand", dir);
	struct strand_result *res = strand_result_new();
	strand_error err;
	strand_error_clear(&err);
	cr_assert_eq(strand_report_build(trace, NULL, res, &err), STRAND_OK, "%s", err.msg);
	const struct strand_rnode *rc = strand_rnode_get(strand_result_root(res), "root_cause");
	cr_assert_str_eq(strand_rnode_str(rc, "syscall", "?"), "getsockopt");
	cr_assert_str_eq(strand_rnode_str(rc, "status_name", "?"), "ECONNREFUSED");
	cr_assert_str_eq(strand_rnode_str(rc, "status_from.where", "?"), "out-parameter");
	cr_assert_eq(strand_rnode_u64(rc, "status_from.value", 0), 111);
	cr_assert_eq(strand_rnode_u64(rc, "status_from.call_result", 1), 0);
	strand_result_free(res);
	cr_assert(asprintf(&cmd, "rm -rf %s", dir) > 0);
	free(run(cmd, &st));
	free(cmd);
}

/* An interrupted recording of two threads that each hold one mutex and
 * wait for the other's: the wait graph shows each futex word last written
 * by the other thread (its lock), the cycle, and the verdict hang. */
Test(rootcause, deadlock_cycle_is_found_from_the_lock_words, .timeout = 300)
{
	char dir[] = "/tmp/strand-rootcause-dl-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *cmd = NULL;
	int st;
	cr_assert(asprintf(&cmd, "cd %s && gcc -O1 -g -pthread -o deadlock %s/deadlock.c && "
			   "{ %s record -q -o t.strand -- ./deadlock > out.txt 2> err.txt & "
			   "pid=$!; sleep 1.5; kill -INT $pid; wait $pid; } 2>&1",
			   dir, SRC, STRAND_CLI) > 0);
	free(run(cmd, &st));
	free(cmd);
	char trace[600];
	snprintf(trace, sizeof trace, "%s/t.strand", dir);
	struct strand_result *res = strand_result_new();
	strand_error err;
	strand_error_clear(&err);
	cr_assert_eq(strand_report_build(trace, NULL, res, &err), STRAND_OK, "%s", err.msg);
	const struct strand_rnode *root = strand_result_root(res);
	cr_assert_str_eq(strand_rnode_str(root, "verdict", "?"), "hang");
	const struct strand_rnode *rc = strand_rnode_get(root, "root_cause");
	cr_assert(strstr(strand_rnode_str(rc, "reason", ""), "deadlock: thread "), "%s",
		  strand_rnode_str(rc, "reason", ""));
	const struct strand_rnode *th = strand_rnode_get(rc, "threads");
	cr_assert_not_null(th);
	uint64_t tids[2] = { 0, 0 }, writers[2] = { 0, 0 };
	unsigned n = 0;
	for (const struct strand_rnode *t = th->first; t && n < 2; t = t->next) {
		if (!strand_rnode_get(t, "lock_word"))
			continue;
		tids[n] = strand_rnode_u64(t, "tid", 0);
		writers[n] = strand_rnode_u64(t, "lock_word.last_written_by", 0);
		cr_assert(strstr(strand_rnode_str(t, "lock_word.where", ""), "pthread_mutex_lock") ||
			  strstr(strand_rnode_str(t, "lock_word.where", ""), "libc"),
			  "%s", strand_rnode_str(t, "lock_word.where", ""));
		n++;
	}
	cr_assert_eq(n, 2, "both threads wait on a lock word");
	cr_assert_eq(writers[0], tids[1]);
	cr_assert_eq(writers[1], tids[0]);
	strand_result_free(res);
	cr_assert(asprintf(&cmd, "rm -rf %s", dir) > 0);
	free(run(cmd, &st));
	free(cmd);
}

/* A line written in several writes is one line; the diagnostic is chosen
 * over the usage hint after it. */
Test(rootcause, symptom_line_is_assembled_across_writes)
{
	struct sym_piece p[] = {
		{ .stream = 2, .tid = 1, .data = "ls: ", .len = 4, .usable = true },
		{ .stream = 2, .tid = 1, .data = "cannot access 'x'", .len = 17, .usable = true },
		{ .stream = 2, .tid = 1, .data = ": No such file or directory\n", .len = 28, .usable = true },
		{ .stream = 2, .tid = 1, .data = "Try 'ls --help' for more information.\n", .len = 38, .usable = true },
	};
	struct sym_choice ch;
	cr_assert(sym_choose(STRAND_ABI_LINUX, "ls", p, 4, &ch));
	cr_assert_str_eq(ch.text, "ls: cannot access 'x': No such file or directory");
	cr_assert_eq(ch.npieces, 3);
	cr_assert_eq(ch.flow_piece, 2, "the status message's write is followed");
	cr_assert(ch.msg.found);
}

/* --kb adds entries (with their source) to the report; a malformed file
 * is a one-line error naming FILE:LINE. */
Test(rootcause, kb_file_adds_hints_and_a_bad_one_fails, .timeout = 300)
{
	char dir[] = "/tmp/strand-rootcause-kb-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *cmd = NULL;
	int st;
	cr_assert(asprintf(&cmd, "cd %s && printf '[hint]\\nstatus = ENOENT\\nobject = kb-nofile\\ntitle = Site hint\\n"
			   "text = The file is made by the nightly job.\\nsource = local runbook\\n' > my.kb && "
			   "printf '[hint]\\ntitle = no source\\ntext = x\\n' > bad.kb && "
			   "%s record -q -o t.strand -- cat kb-nofile 2>/dev/null; "
			   "%s report -q --kb my.kb t.strand", dir, STRAND_CLI, STRAND_CLI) > 0);
	char *out = run(cmd, &st);
	free(cmd);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "Site hint") && strstr(out, "local runbook"), "%s", out);
	free(out);
	cr_assert(asprintf(&cmd, "cd %s && %s report -q --kb bad.kb t.strand 2>&1", dir, STRAND_CLI) > 0);
	out = run(cmd, &st);
	free(cmd);
	cr_assert_eq(st, 1, "%s", out);
	cr_assert(strstr(out, "bad.kb:1: entry without source"), "%s", out);
	free(out);
	cr_assert(asprintf(&cmd, "rm -rf %s", dir) > 0);
	free(run(cmd, &st));
	free(cmd);
}

/* ------------------------------------------------- incomplete traces */

/* The report of a trace file, or a failed test. */
static struct strand_result *report_of(const char *trace)
{
	struct strand_result *res = strand_result_new();
	strand_error err;
	strand_error_clear(&err);
	cr_assert_eq(strand_report_build(trace, NULL, res, &err), STRAND_OK, "%s: %s", trace, err.msg);
	return res;
}

static void rm_rf(const char *dir)
{
	char *cmd = NULL;
	int st;
	cr_assert(asprintf(&cmd, "rm -rf %s", dir) > 0);
	free(run(cmd, &st));
	free(cmd);
}

/* An incomplete trace gets the verdict "incomplete" and no root cause
 * presented as final. */
static void assert_incomplete(const struct strand_rnode *r)
{
	const struct strand_rnode *rc = strand_rnode_get(r, "root_cause");
	cr_assert_str_eq(strand_rnode_str(r, "verdict", "?"), "incomplete");
	cr_assert(strstr(strand_rnode_str(r, "verdict_reason", ""), "the trace ends before the process did"),
		  "%s", strand_rnode_str(r, "verdict_reason", ""));
	cr_assert(strstr(strand_rnode_str(r, "summary", ""), "instructions recorded"));
	cr_assert_str_eq(strand_rnode_str(rc, "kind", "?"), "incomplete");
	cr_assert_null(strand_rnode_str(rc, "syscall", NULL), "a cause presented as final");
	cr_assert_gt(strand_rnode_u64(rc, "instructions_recorded", 0), 0);
}

/* A recorded trace cut to 60% of its size (a copy that stopped, a disk
 * that filled): the verdict says what the trace holds. */
Test(rootcause, truncated_copy_of_a_trace_is_incomplete, .timeout = 300)
{
	char dir[] = "/tmp/strand-rootcause-cut-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *cmd = NULL;
	int st;
	cr_assert(asprintf(&cmd, "cd %s && %s record -q -o t.strand -- cat nofile 2>/dev/null; "
			   "head -c $(( $(stat -c %%s t.strand) * 6 / 10 )) t.strand > cut.strand",
			   dir, STRAND_CLI) > 0);
	free(run(cmd, &st));
	free(cmd);
	char trace[600];
	snprintf(trace, sizeof trace, "%s/cut.strand", dir);
	struct strand_result *res = report_of(trace);
	assert_incomplete(strand_result_root(res));
	cr_assert(strstr(strand_rnode_str(strand_result_root(res), "verdict_reason", ""), "cut"));
	strand_result_free(res);
	/* the text report says it in its headline */
	cr_assert(asprintf(&cmd, "%s report -q %s", STRAND_CLI, trace) > 0);
	char *out = run(cmd, &st);
	free(cmd);
	cr_assert(strstr(out, "verdict: incomplete") && strstr(out, "root cause: none final"), "%s", out);
	free(out);
	rm_rf(dir);
}

/* The recorder killed (SIGKILL) while the program waits after reporting
 * a missing file: finalize keeps what was written; the report is
 * "incomplete" and shows the failure as what the recorded part shows,
 * tentative. */
Test(rootcause, killed_recording_is_incomplete_with_what_it_shows, .timeout = 300)
{
	char dir[] = "/tmp/strand-rootcause-kill-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *cmd = NULL;
	int st;
	/* key frames every few calls: the chunks before the wait are written */
	cr_assert(asprintf(&cmd, "cd %s && gcc -O1 -g -o failwait %s/failwait.c && "
			   "{ %s record -q --keyframe-every 4 -o k.strand -- ./failwait app.conf "
			   "> out.txt 2> err.txt & pid=$!; sleep 2; kill -KILL $pid; wait $pid; "
			   "%s finalize k.strand.raw; } 2>&1", dir, SRC, STRAND_CLI, STRAND_CLI) > 0);
	char *out = run(cmd, &st);
	free(cmd);
	char trace[600];
	snprintf(trace, sizeof trace, "%s/k.strand", dir);
	struct stat sb;
	cr_assert_eq(stat(trace, &sb), 0, "not finalized: %s", out);
	free(out);
	struct strand_result *res = report_of(trace);
	const struct strand_rnode *r = strand_result_root(res);
	assert_incomplete(r);
	const struct strand_rnode *t = strand_rnode_get(strand_rnode_get(r, "root_cause"), "so_far");
	cr_assert_not_null(t, "the failure before the wait is not shown");
	cr_assert_str_eq(strand_rnode_str(t, "syscall", "?"), "openat");
	cr_assert(strstr(strand_rnode_str(t, "object", ""), "app.conf"));
	cr_assert_str_eq(strand_rnode_str(t, "status_name", "?"), "ENOENT");
	strand_result_free(res);
	rm_rf(dir);
}

/* Recording onto a full filesystem (a 700 KiB tmpfs the test mounts):
 * a one-line error naming ENOSPC, the partial trace kept, and once
 * finalized elsewhere its report is "incomplete". */
Test(rootcause, recording_onto_a_full_filesystem_keeps_a_partial_trace, .timeout = 300)
{
	char dir[] = "/tmp/strand-rootcause-full-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *cmd = NULL;
	int st;
	cr_assert(asprintf(&cmd, "cd %s && mkdir small && mount -t tmpfs -o size=700k tmpfs small 2>&1",
			   dir) > 0);
	char *out = run(cmd, &st);
	free(cmd);
	if (st != 0) {
		rm_rf(dir);
		cr_skip_test("cannot mount a small tmpfs here (needs CAP_SYS_ADMIN): %s", out);
	}
	free(out);
	cr_assert(asprintf(&cmd, "cd %s && %s record -q -o small/t.strand -- cat nofile 2>&1 > out.txt; "
			   "echo rc=$?; cp small/t.strand.raw t.strand.raw; umount small; "
			   "%s finalize -o t.strand t.strand.raw 2>&1", dir, STRAND_CLI, STRAND_CLI) > 0);
	out = run(cmd, &st);
	free(cmd);
	cr_assert(strstr(out, "No space left on device") && strstr(out, "partial trace kept"), "%s", out);
	cr_assert(strstr(out, "rc=125"), "%s", out);
	char trace[600];
	snprintf(trace, sizeof trace, "%s/t.strand", dir);
	struct stat sb;
	cr_assert_eq(stat(trace, &sb), 0, "the partial trace is not usable: %s", out);
	free(out);
	struct strand_result *res = report_of(trace);
	assert_incomplete(strand_result_root(res));
	strand_result_free(res);
	rm_rf(dir);
}

/* ------------------------------------------------------------ renderers */

/* The failing calls the decision weighed are shown in every format, each
 * ruled in or out with why; the HTML verdict has a style of its own. */
Test(rootcause, candidates_are_shown_in_text_markdown_and_html, .timeout = 300)
{
	char dir[] = "/tmp/strand-rootcause-cand-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *cmd = NULL;
	int st;
	cr_assert(asprintf(&cmd, "cd %s && %s record -q -o t.strand -- ls --bogus-option > out.txt 2>&1; "
			   "%s report -q t.strand > r.txt && %s report -q --format md t.strand > r.md && "
			   "%s report -q --format html -o r.html t.strand && echo ok", dir, STRAND_CLI,
			   STRAND_CLI, STRAND_CLI, STRAND_CLI) > 0);
	char *out = run(cmd, &st);
	free(cmd);
	cr_assert(strstr(out, "ok"), "%s", out);
	free(out);
	static const char *const want[][2] = {
		{ "r.txt", "candidates considered (" }, { "r.txt", "[ruled out]" },
		{ "r.md", "## Candidates" }, { "r.md", "ruled out" },
		{ "r.html", "id=\"candidates\"" }, { "r.html", "ruled out" },
		{ "r.html", ".verdict.no_failure_found{" }, { "r.html", "class=\"verdict failure\"" },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		cr_assert(asprintf(&cmd, "cat %s/%s", dir, want[i][0]) > 0);
		out = run(cmd, &st);
		free(cmd);
		cr_expect(strstr(out, want[i][1]), "%s lacks '%s'", want[i][0], want[i][1]);
		free(out);
	}
	rm_rf(dir);
}
