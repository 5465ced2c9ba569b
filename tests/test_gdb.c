/*
 * strand gdbserver end to end with Debian's gdb in batch mode
 * (`gdb -batch -x script`): on the Windows x86 HTTP SSL fixture and on a
 * small Linux x86-64 program recorded here with `strand record`:
 * breakpoints forward and backward, reverse-stepi, a watchpoint hit
 * backward, bt, info threads, x/4x $sp, monitor commands, refused
 * writes; and, at the packet level, an interrupt byte stopping a long
 * continue.  Skipped (with a message) when gdb is not installed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define GDB "/usr/bin/gdb"
#define HTTPSSL STRAND_SOURCE_DIR "/tests/traces/httpssl-nodevice.strand"

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/strand-gdbtest-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (!getenv("STRAND_GDB_KEEP")) (void)!system(cmd);
}

static bool have_gdb(void)
{
	if (access(GDB, X_OK) == 0)
		return true;
	cr_log_warn("gdb not installed (scripts/setup.d/gdb.sh): skipped");
	return false;
}

/* Run argv, stdout+stderr into `out`; returns the wait status. */
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
	cr_assert_eq(rc, 0, "cannot run %s: %s", argv[0], strerror(rc));
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot read %s", path);
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	cr_assert_geq(n, 0);
	return buf;
}

/* Run gdb on `commands` against `strand gdbserver --stdio TRACE`; the
 * transcript (malloc'd).  `last_fails`: the script's last command is
 * meant to fail (gdb then exits with 1). */
static char *gdb_session(const char *trace, const char *commands, bool last_fails)
{
	char script[512], out[512];
	snprintf(script, sizeof script, "%s/script.gdb", tmpdir);
	snprintf(out, sizeof out, "%s/gdb.out", tmpdir);
	FILE *f = fopen(script, "w");
	cr_assert_not_null(f);
	fprintf(f, "set pagination off\nset confirm off\nset width 0\n"
		   "target remote | %s gdbserver --stdio -q %s\n%s\n",
		STRAND_CLI, trace, commands);
	fclose(f);
	char *argv[] = { GDB, "-nx", "-batch", "-x", script, NULL };
	int st = run(argv, out);
	char *text = slurp(out);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == (last_fails ? 1 : 0), "gdb failed:\n%s",
		  text);
	return text;
}

/* The text after the line "== NAME" up to the next "== " line. */
static char *section(const char *text, const char *name)
{
	char mark[64];
	snprintf(mark, sizeof mark, "== %s\n", name);
	const char *p = strstr(text, mark);
	cr_assert_not_null(p, "no section %s in:\n%s", name, text);
	p += strlen(mark);
	const char *e = strstr(p, "\n== ");
	return strndup(p, e ? (size_t)(e - p + 1) : strlen(p));
}

static void expect(const char *text, const char *name, const char *what)
{
	char *s = section(text, name);
	cr_expect_not_null(strstr(s, what), "section %s lacks \"%s\":\n%s", name, what, s);
	free(s);
}

Test(gdb, windows_trace_breaks_steps_and_watches_in_both_directions, .init = setup,
     .fini = teardown)
{
	if (!have_gdb())
		return;
	char *t = gdb_session(HTTPSSL,
		"echo == break\\n\nbreak NtCreateFile\ncontinue\n"
		"echo == bt\\n\nbt\n"
		"echo == threads\\n\ninfo threads\n"
		"echo == x\\n\nx/4x $sp\np/x *(int*)$sp\n"
		"echo == rsi\\n\nreverse-stepi\nx/i $pc\n"
		"echo == watch\\n\nstepi\nset $slot = $esp\nwatch *(int*)$slot\n"
		"reverse-continue\nx/i $pc\ndelete\n"
		"echo == rc\\n\nbreak CreateFileW\nreverse-continue\n"
		"echo == monitor\\n\nmonitor calls ntdll!NtCreateFile\nmonitor pos\n"
		/* last: the refused write ends the script (an error) */
		"echo == write\\n\nset $eax = $eax + 1\n", true);
	expect(t, "break", "Breakpoint 1, 0x7c801cff in NtCreateFile ()");
	expect(t, "bt", "#0  0x7c801cff in NtCreateFile ()");
	expect(t, "bt", "#1  0x77e4139a in CreateFileW ()");
	expect(t, "threads", "Thread 492");
	expect(t, "threads", "* 2    Thread 9392");
	expect(t, "threads", "in KiFastSystemCall ()");
	/* the stack slot holds the return address into CreateFileW */
	expect(t, "x", "0x77e4139a");
	expect(t, "rsi", "<CreateFileW+134>:\tcall");
	/* backward, the watchpoint on the return address slot stops before the
	 * call that wrote it, showing the value it had before */
	expect(t, "watch", "Hardware watchpoint 2: *(int*)$slot");
	expect(t, "watch", "New value = ");
	expect(t, "watch", "<CreateFileW+134>:\tcall");
	expect(t, "rc", "Breakpoint 3, 0x77e41314 in CreateFileW ()");
	/* (gdb's error goes to stderr, unbuffered: anywhere in the file) */
	cr_expect_not_null(strstr(t, "read-only"), "the write is refused with a reason:\n%s", t);
	expect(t, "monitor", "calls of ntdll.dll!NtCreateFile (0x7c801cff): 5");
	expect(t, "monitor", "0xc000000e");
	expect(t, "monitor", "tid 9392  0x77e41314 kernel32.dll!CreateFileW");
	free(t);
}

/* strand.gdb's strand-seek: gdb's registers follow the replay to the
 * position (the server reports the move as a stop), and a later stepi
 * goes on from there. */
Test(gdb, strand_seek_refreshes_registers_at_the_new_position, .init = setup,
     .fini = teardown)
{
	if (!have_gdb())
		return;
	char *t = gdb_session(HTTPSSL,
		"source " STRAND_SOURCE_DIR "/gdb/strand.gdb\n"
		"echo == seek\\n\nstrand-seek 31000\nmonitor pos\np/x $pc\n"
		"echo == same\\n\nstrand-seek 31000\nmonitor pos\n"
		"echo == step\\n\nstepi\nmonitor pos\n"
		"echo == plain\\n\nmonitor seek 32160\ncontinue\nmonitor pos\np/x $pc\n", false);
	char *seek = section(t, "seek");
	cr_expect_not_null(strstr(seek, " stopped.\n"), "the seek is reported as a stop:\n%s", seek);
	const char *pos = strstr(seek, "position 31000  tid ");
	cr_assert_not_null(pos, "monitor pos after strand-seek:\n%s", seek);
	unsigned long pc = 0, gdb_pc = 0;
	const char *hex = strstr(pos, " 0x"), *val = strstr(seek, "$1 = 0x");
	cr_assert(hex && val, "no pc in:\n%s", seek);
	pc = strtoul(hex + 1, NULL, 16);
	gdb_pc = strtoul(val + 5, NULL, 16);
	cr_expect_eq(gdb_pc, pc, "gdb's $pc 0x%lx is the replay's 0x%lx", gdb_pc, pc);
	free(seek);
	/* seeking where it already is does not step */
	expect(t, "same", "position 31000  tid ");
	expect(t, "step", "position 31001  tid ");
	/* monitor seek alone: the next resume reports the new place, unmoved */
	char *plain = section(t, "plain");
	cr_expect_not_null(strstr(plain, " stopped.\n"), "%s", plain);
	cr_expect_eq(strstr(plain, "position 32160  tid ") != NULL, true, "%s", plain);
	pos = strstr(plain, "position 32160  tid ");
	hex = pos ? strstr(pos, " 0x") : NULL;
	val = strstr(plain, "$2 = 0x");
	cr_assert(hex && val, "no pc in:\n%s", plain);
	cr_expect_eq(strtoul(val + 5, NULL, 16), strtoul(hex + 1, NULL, 16));
	free(plain);
	free(t);
}

/* The pcs of the frames of a backtrace ("#N  0xPC ..." lines, gdb's or
 * monitor bt's) into pcs; returns how many. */
static size_t frame_pcs(const char *text, unsigned long *pcs, size_t max)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, "#")) && n < max; p++) {
		if (p != text && p[-1] != '\n')
			continue;
		char *end;
		unsigned long k = strtoul(p + 1, &end, 10);
		if (end == p + 1 || k != n)
			continue;
		const char *x = strstr(end, "0x");
		if (!x || strchr(end, '\n') < x)
			continue;
		pcs[n++] = strtoul(x, NULL, 16);
	}
	return n;
}

/* gdb's own bt at the kernel call that fails, in a thread whose callers
 * keep no frame pointer in places: every frame the recording shows
 * (monitor bt, from every call and return replayed), in order, and the
 * backtrace ends at the thread's start without complaint. */
Test(gdb, windows_bt_unwinds_every_frame_the_recording_shows, .init = setup,
     .fini = teardown)
{
	if (!have_gdb())
		return;
	char *t = gdb_session(HTTPSSL,
		"break NtCreateFile if *(unsigned *)($esp + 8) == 0xc0100000\ncontinue\n"
		"echo == bt\\n\nbt\necho == mbt\\n\nmonitor bt\n"
		"echo == fp\\n\nframe 1\np/x *(int*)$ebp\nframe 2\np/x $ebp\np/x *(int*)$ebp\n"
		"frame 3\np/x $ebp\nframe 0\n"
		"echo == finish\\n\nfinish\nbt\necho == mbt2\\n\nmonitor bt\necho == end\\n\n",
		false);
	/* HttpApiOpenDriverHelper and HttpApiInitializeConfiguration keep ebp
	 * frames: each caller's ebp, as gdb unwinds it, is the one its callee
	 * saved at [ebp] */
	char *fp = section(t, "fp");
	unsigned long v[4];
	const char *p = fp;
	for (int i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof name, "$%d = ", i + 1);
		p = strstr(p, name);
		cr_assert_not_null(p, "no %s in:\n%s", name, fp);
		p += strlen(name);
		v[i] = strtoul(p, NULL, 16);
	}
	cr_expect_eq(v[0], v[1], "frame 2's ebp:\n%s", fp);
	cr_expect_eq(v[2], v[3], "frame 3's ebp:\n%s", fp);
	free(fp);
	char *names[] = { "bt", "mbt", "finish", "mbt2" };
	unsigned long pcs[4][64];
	size_t n[4];
	for (int i = 0; i < 4; i++) {
		char *s = section(t, names[i]);
		n[i] = frame_pcs(s, pcs[i], 64);
		cr_expect_null(strstr(s, "Backtrace stopped"), "%s", s);
		free(s);
	}
	cr_assert_geq(n[1], 5, "monitor bt: %s", t);
	for (int k = 0; k < 4; k += 2) {
		cr_expect_eq(n[k], n[k + 1], "gdb's %zu frames, the recording's %zu:\n%s", n[k],
			     n[k + 1], t);
		for (size_t i = 0; i < n[k] && i < n[k + 1]; i++)
			cr_expect_eq(pcs[k][i], pcs[k + 1][i], "frame %zu: 0x%lx, 0x%lx", i,
				     pcs[k][i], pcs[k + 1][i]);
	}
	free(t);
}

/* Build tests/gdb/NAME.c and record it; the trace path into `trace`. */
static void record_program(const char *name, const char *cflags, char *trace, size_t len)
{
	char src[512], exe[512], log[512];
	snprintf(src, sizeof src, "%s/tests/gdb/%s.c", STRAND_SOURCE_DIR, name);
	snprintf(exe, sizeof exe, "%s/%s", tmpdir, name);
	snprintf(log, sizeof log, "%s/%s.log", tmpdir, name);
	/* "-O2": no frame pointers either */
	bool fp = strcmp(cflags, "-O2") != 0;
	char *cc[] = { "/usr/bin/cc", (char *)cflags,
		       fp ? "-fno-omit-frame-pointer" : "-fomit-frame-pointer", "-o", exe, src, NULL };
	int st = run(cc, log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cannot build %s", src);
	snprintf(trace, len, "%s/%s.strand", tmpdir, name);
	char *rec[] = { STRAND_CLI, "record", "-q", "-o", trace, "--", exe, NULL };
	st = run(rec, log);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "strand record %s failed", exe);
}

Test(gdb, linux_trace_breaks_steps_and_watches_in_both_directions, .init = setup,
     .fini = teardown)
{
	if (!have_gdb())
		return;
	char trace[512];
	record_program("chain", "-O0", trace, sizeof trace);
	char *t = gdb_session(trace,
		"echo == break\\n\nbreak inner\ncontinue\n"
		"echo == bt\\n\nbt\n"
		"echo == threads\\n\ninfo threads\n"
		"echo == x\\n\nx/4x $sp\n"
		"echo == watch\\n\nwatch *(int*)&counter\ncontinue\ncontinue\n"
		"echo == rwatch\\n\nreverse-continue\n"
		"echo == rc\\n\nreverse-continue\n"
		"echo == rsi\\n\nset $before = $pc\nstepi\nreverse-stepi\np $pc == $before\n"
		"echo == end\\n\ndelete\ncontinue\n"
		"echo == done\\n\n", false);
	expect(t, "break", "Breakpoint 1, ");
	expect(t, "break", " in inner ()");
	expect(t, "bt", "#0  ");
	expect(t, "bt", " in inner ()\n#1  ");
	expect(t, "bt", " in outer ()\n#2  ");
	expect(t, "bt", " in main ()");
	expect(t, "threads", "* 1    Thread ");
	expect(t, "x", "0x7ff");
	/* forward: the first write (0 -> 6), then the breakpoint of the
	 * second call, before its write */
	expect(t, "watch", "Old value = 0\nNew value = 6");
	expect(t, "watch", "Breakpoint 1, ");
	/* backward from there: the first write undone; gdb stands before the
	 * writing instruction (old value 6, new value 0) */
	expect(t, "rwatch", "Old value = 6\nNew value = 0");
	expect(t, "rc", "Breakpoint 1, ");
	expect(t, "rsi", "$1 = 1");
	expect(t, "end", "No more reverse-execution history.");
	free(t);
}

/* Optimised code without frame pointers: gdb's bt goes through every
 * frame all the same (frames learnt from the recording). */
Test(gdb, linux_bt_without_frame_pointers_reaches_main, .init = setup, .fini = teardown)
{
	if (!have_gdb())
		return;
	char trace[512];
	record_program("chain", "-O2", trace, sizeof trace);
	char *t = gdb_session(trace, "break inner\ncontinue\necho == bt\\n\nbt\n"
				     "echo == finish\\n\nfinish\nbt\necho == end\\n\n", false);
	expect(t, "bt", " in inner ()\n#1  ");
	expect(t, "bt", " in outer");
	expect(t, "bt", " in main ()");
	expect(t, "finish", " in main ()");
	free(t);
}

/* Packets by hand: read one reply "$...#cc" from fd (no-ack mode). */
static char *read_reply(int fd, int timeout_ms)
{
	static char buf[65536];
	size_t n = 0;
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		cr_assert_gt(poll(&pf, 1, timeout_ms), 0, "no reply within %d ms", timeout_ms);
		ssize_t k = read(fd, buf + n, 1);
		cr_assert_eq(k, 1);
		if (n == 0 && (buf[0] == '+' || buf[0] == '-'))
			continue;
		n++;
		if (n >= 3 && buf[n - 3] == '#') {
			buf[n] = '\0';
			return buf;
		}
		cr_assert_lt(n, sizeof buf - 1);
	}
}

static void send_packet(int fd, const char *p)
{
	unsigned sum = 0;
	for (const char *c = p; *c; c++)
		sum = (sum + (unsigned char)*c) & 0xff;
	char buf[512];
	int n = snprintf(buf, sizeof buf, "$%s#%02x", p, sum);
	cr_assert_eq(write(fd, buf, (size_t)n), n);
}

Test(gdb, interrupt_byte_stops_a_long_continue, .init = setup, .fini = teardown)
{
	char trace[512];
	record_program("spin", "-O0", trace, sizeof trace);
	int to[2], from[2];
	cr_assert_eq(pipe(to), 0);
	cr_assert_eq(pipe(from), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	posix_spawn_file_actions_addclose(&fa, to[1]);
	posix_spawn_file_actions_addclose(&fa, from[0]);
	char *argv[] = { STRAND_CLI, "gdbserver", "--stdio", "-q", trace, NULL };
	pid_t pid;
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(to[0]);
	close(from[1]);
	send_packet(to[1], "QStartNoAckMode");
	/* the first reply comes after the frame-learning pass over the
	 * whole trace: seconds, minutes under ASan on a loaded machine */
	cr_assert_str_eq(read_reply(from[0], 600000), "$OK#9a");
	/* past the loader's module loads ("library" stops gdb resumes from) */
	send_packet(to[1], "vCont;c");
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	cr_assert_eq(write(to[1], "\x03", 1), 1);
	const char *r = read_reply(from[0], 60000);
	if (strstr(r, "library:")) { /* as gdb does: re-read libraries, resume */
		send_packet(to[1], "vCont;c");
		r = read_reply(from[0], 60000);
	}
	cr_assert(strncmp(r, "$T02thread:", 11) == 0, "interrupted stop is SIGINT: %s", r);
	cr_assert_null(strstr(r, "replaylog"), "stopped before the end: %s", r);
	/* the session goes on: where are we? */
	send_packet(to[1], "qRcmd,706f73"); /* "pos" */
	char *out = NULL;
	for (;;) {
		r = read_reply(from[0], 60000);
		if (r[1] != 'O' || r[2] == 'K')
			break;
		free(out);
		out = strdup(r);
	}
	cr_assert_str_eq(r, "$OK#9a");
	cr_assert_not_null(out);
	/* a whole-trace monitor command (find: a pass over the trace, for a
	 * value nothing holds) stops at the interrupt byte too, and the rest
	 * of the line is not run */
	char hex[64] = "qRcmd,";
	for (const char *c = "find 0x5eedf00d; pos"; *c; c++)
		snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%02x", (unsigned char)*c);
	send_packet(to[1], hex);
	nanosleep(&ts, NULL);
	cr_assert_eq(write(to[1], "\x03", 1), 1);
	char text[4096] = "";
	for (;;) {
		r = read_reply(from[0], 60000);
		if (r[1] != 'O' || r[2] == 'K')
			break;
		for (const char *h = r + 2; h[0] && h[1] && h[0] != '#'; h += 2) {
			char b[3] = { h[0], h[1], 0 };
			size_t l = strlen(text);
			if (l + 1 < sizeof text)
				text[l] = (char)strtoul(b, NULL, 16), text[l + 1] = '\0';
		}
	}
	cr_assert_str_eq(r, "$OK#9a");
	cr_expect_not_null(strstr(text, "interrupted at position "), "monitor find: %s", text);
	cr_expect_not_null(strstr(text, "places took the value 0x5eedf00d"), "%s", text);
	cr_expect_null(strstr(text, "trace: positions"), "%s", text);
	send_packet(to[1], "D");
	cr_assert_str_eq(read_reply(from[0], 60000), "$OK#9a");
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(out);
	close(to[1]);
	close(from[0]);
}

/* Bad command lines: one line on stderr, exit status 2 or 1, no server. */
Test(gdb, bad_options_are_one_line_errors, .init = setup, .fini = teardown)
{
	static const char *const bad[][3] = {
		{ "--frames", "ten", NULL }, { "--frames", "-1", NULL }, { "--port", "70000", NULL },
	};
	char out[512];
	snprintf(out, sizeof out, "%s/err.txt", tmpdir);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *argv[] = { STRAND_CLI, "gdbserver", (char *)bad[i][0], (char *)bad[i][1],
				 HTTPSSL, NULL };
		int st = run(argv, out);
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) != 0, "%s %s", bad[i][0], bad[i][1]);
		char *text = slurp(out);
		cr_expect(strstr(text, "gdbserver") && strchr(text, '\n') == text + strlen(text) - 1,
			  "%s %s: %s", bad[i][0], bad[i][1], text);
		free(text);
	}
}

/* Hostile packets: every malformed request gets an error or an empty
 * reply, and the server goes on answering. */
Test(gdb, malformed_packets_get_errors_and_the_server_goes_on, .init = setup,
     .fini = teardown)
{
	int to[2], from[2];
	cr_assert_eq(pipe(to), 0);
	cr_assert_eq(pipe(from), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	posix_spawn_file_actions_addclose(&fa, to[1]);
	posix_spawn_file_actions_addclose(&fa, from[0]);
	char *argv[] = { STRAND_CLI, "gdbserver", "--stdio", "-q", HTTPSSL, NULL };
	pid_t pid;
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(to[0]);
	close(from[1]);
	send_packet(to[1], "QStartNoAckMode");
	cr_assert_str_eq(read_reply(from[0], 60000), "$OK#9a");
	static const struct { const char *pkt, *reply_start; } cases[] = {
		{ "m", "$E" }, { "mzz,4", "$E" }, { "m0,4", "$E" },        /* unmapped */
		{ "mffffffffffffffff,10", "$E" }, { "m7c801cff,99999999", "$" },
		{ "p", "$E" }, { "p9999", "$E" }, { "P0=00", "$E." }, { "G00", "$E." },
		{ "M0,1:00", "$E." }, { "Z9,0,1", "$E" }, { "Z2,1000,0", "$E" },
		{ "Z0,7c801cff", "$E" }, { "z0,1,1", "$OK" }, { "Hgzz", "$OK" },
		{ "T0", "$E" }, { "qXfer:features:read:target.xml:zz", "$E" },
		{ "qXfer:features:read:target.xml:ffffffff,10", "$l" },
		{ "qXfer:libraries:read::0,fffffff", "$" }, { "qRcmd,zz", "$E" },
		{ "qRcmd,", "$OK" }, { "vNope", "$#00" }, { "", "$#00" }, { "bz", "$#00" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		send_packet(to[1], cases[i].pkt);
		const char *r = read_reply(from[0], 60000);
		cr_expect(strncmp(r, cases[i].reply_start, strlen(cases[i].reply_start)) == 0,
			  "'%s' answered %s", cases[i].pkt, r);
	}
	/* a corrupt checksum is dropped (no ack mode: no reply), the next works */
	cr_assert_eq(write(to[1], "$g#00", 5), 5);
	send_packet(to[1], "qC");
	cr_assert(strncmp(read_reply(from[0], 60000), "$QC1ec#", 7) == 0);
	send_packet(to[1], "D");
	cr_assert_str_eq(read_reply(from[0], 60000), "$OK#9a");
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(to[1]);
	close(from[0]);
}
