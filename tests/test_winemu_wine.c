/*
 * winemu on real Windows user-mode code: programs from tests/traces/src/win
 * (built here with mingw-w64 against the real CRT) run on Wine 8.0's PE
 * system DLLs from Debian's libwine:i386, unpacked by
 * scripts/setup.d/wine.sh.  The process starts in Wine's
 * ntdll!LdrInitializeThunk, and every DLL is loaded by Wine's own loader
 * through image sections.  What a user observes: the program's output and
 * exit status, the modules ntdll mapped, the syscall table the trace
 * declares, byte-identical re-recording and exact replay.
 *
 * The package is found at $STRAND_WINE_DIR, else
 * ${STRAND_CACHE:-$HOME/.cache/strand}/wine-8.0~repack-4 (the setup
 * script's default).  Without it these tests fail: CI runs the setup first.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "record/winemu/winemu.h"
#include "strand/trace.h"

#define WINE_VERSION "8.0~repack-4"

static char dir[256];
static char wine[1024], sysdlls[1200], nls[1200], guests[512];

static void find_wine(void)
{
	const char *d = getenv("STRAND_WINE_DIR");
	if (d && *d) {
		snprintf(wine, sizeof wine, "%s", d);
	} else {
		const char *cache = getenv("STRAND_CACHE");
		const char *home = getenv("HOME");
		if (cache && *cache)
			snprintf(wine, sizeof wine, "%s/wine-%s", cache, WINE_VERSION);
		else
			snprintf(wine, sizeof wine, "%s/.cache/strand/wine-%s", home ? home : "", WINE_VERSION);
	}
	snprintf(sysdlls, sizeof sysdlls, "%s/usr/lib/i386-linux-gnu/wine/i386-windows", wine);
	snprintf(nls, sizeof nls, "%s/usr/share/wine/nls", wine);
	char probe[1300];
	snprintf(probe, sizeof probe, "%s/ntdll.dll", sysdlls);
	struct stat sb;
	cr_assert_eq(stat(probe, &sb), 0,
		     "Wine's DLLs are not unpacked at %s: run scripts/setup.d/wine.sh (or set STRAND_WINE_DIR)",
		     wine);
}

static void setup(void)
{
	find_wine();
	snprintf(dir, sizeof dir, "/tmp/strand-wine-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(guests, sizeof guests, "%s/guests", dir);
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "sh %s/tests/traces/src/win/build.sh %s > %s/build.txt 2>&1", STRAND_SOURCE_DIR,
		 guests, dir);
	cr_assert_eq(system(cmd), 0, "cannot build the guest programs (%s/build.txt)", dir);
	/* the HTTP SSL stand-ins that run on Wine's system DLLs, next to the host */
	snprintf(cmd, sizeof cmd,
		 "sh %s/tests/traces/build-guests.sh %s/standins > %s/standins.txt 2>&1 && "
		 "cp %s/standins/strmfilt.dll %s/standins/httpapi.dll %s/standins/w3ssl.dll "
		 "%s/standins/lsass.exe %s/",
		 STRAND_SOURCE_DIR, dir, dir, dir, dir, dir, dir, guests);
	cr_assert_eq(system(cmd), 0, "cannot build the stand-in DLLs (%s/standins.txt)", dir);
}

/* The text of dir/NAME-report.json after `strand report --format json`. */
static char *report_json(const char *trace, const char *name)
{
	char cmd[1400], out[600];
	snprintf(out, sizeof out, "%s/%s-report.json", dir, name);
	snprintf(cmd, sizeof cmd, "%s report --format json -o %s %s 2>%s/%s-report-err.txt", STRAND_CLI, out, trace,
		 dir, name);
	cr_assert_eq(system(cmd), 0, "strand report failed");
	FILE *f = fopen(out, "r");
	cr_assert_not_null(f);
	static char text[4 << 20];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = 0;
	fclose(f);
	return text;
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	(void)system(cmd);
}

TestSuite(winemu_wine, .init = setup, .fini = teardown, .timeout = 600);

/* Record tests/traces/src/win/NAME.scenario into dir/OUT.strand. */
static void record(const char *name, const char *out, struct strand_winemu_result *res, char *trace, size_t n)
{
	char scn[512];
	snprintf(scn, sizeof scn, "%s/tests/traces/src/win/%s.scenario", STRAND_SOURCE_DIR, name);
	snprintf(trace, n, "%s/%s.strand", dir, out);
	struct strand_winemu_options opt = { .modules_dir = guests, .system_dlls_dir = sysdlls, .nls_dir = nls,
					     .quiet = true };
	strand_error err = { 0 };
	struct strand_winemu_result dummy;
	cr_assert_eq(strand_winemu_record(scn, trace, &opt, res ? res : &dummy, &err), STRAND_OK, "%s", err.msg);
}

/* What the tests look at in a trace. */
struct seen {
	char out[8192], err[4096], debug[16384];
	size_t outlen, errlen, debuglen;
	uint64_t exit_code;
	char table[64 * 1024];
	size_t tablelen;
	char unmodelled[8192];
	char loaded[2048];        /* names of modules loaded after the snapshot, blank separated */
	uint32_t snapshot_modules, unloads;
	uint64_t start_pc, ldr_init;
	uint64_t syscalls;
};

static void append(char *buf, size_t cap, size_t *len, const void *data, size_t n)
{
	if (*len + n >= cap)
		n = cap - 1 - *len;
	memcpy(buf + *len, data, n);
	*len += n;
	buf[*len] = 0;
}

static void scan(const char *trace, struct seen *s)
{
	memset(s, 0, sizeof *s);
	struct strand_reader *r;
	strand_error err = { 0 };
	cr_assert_eq(strand_reader_open(trace, &r, &err), STRAND_OK, "%s", err.msg);
	const struct strand_record *rec;
	strand_status st;
	bool in_snapshot = true;
	while ((st = strand_reader_next(r, &rec, &err)) == STRAND_OK) {
		switch (rec->type) {
		case STRAND_REC_SNAPSHOT_END:
			in_snapshot = false;
			break;
		case STRAND_REC_MODULE: {
			const struct strand_module *m = &rec->u.module;
			if (in_snapshot) {
				s->snapshot_modules++;
			} else {
				size_t l = strlen(s->loaded);
				snprintf(s->loaded + l, sizeof s->loaded - l, "%s ", m->name);
			}
			for (uint32_t i = 0; i < m->nsyms; i++)
				if (strcmp(m->syms[i].name, "LdrInitializeThunk") == 0 &&
				    m->syms[i].kind == STRAND_SYM_EXPORT)
					s->ldr_init = m->syms[i].addr;
			break;
		}
		case STRAND_REC_MODULE_UNLOAD:
			s->unloads++;
			break;
		case STRAND_REC_THREAD:
			if (in_snapshot)
				s->start_pc = rec->u.thread.cpu.rip;
			break;
		case STRAND_REC_OUTPUT: {
			const struct strand_output *o = &rec->u.output;
			if (o->stream == 1)
				append(s->out, sizeof s->out, &s->outlen, o->data, o->len);
			else if (o->stream == 2)
				append(s->err, sizeof s->err, &s->errlen, o->data, o->len);
			else
				append(s->debug, sizeof s->debug, &s->debuglen, o->data, o->len);
			break;
		}
		case STRAND_REC_NOTE:
			if (strcmp(rec->u.note.key, "syscall-table") == 0)
				append(s->table, sizeof s->table, &s->tablelen, rec->u.note.data, rec->u.note.len);
			else if (strcmp(rec->u.note.key, "unmodelled-syscalls") == 0)
				snprintf(s->unmodelled, sizeof s->unmodelled, "%.*s", (int)rec->u.note.len,
					 (const char *)rec->u.note.data);
			break;
		case STRAND_REC_SYSCALL:
			s->syscalls++;
			break;
		case STRAND_REC_PROCESS_EXIT:
			s->exit_code = rec->u.exit_code;
			break;
		}
	}
	cr_assert_eq(st, STRAND_END, "%s", err.msg);
	cr_assert_eq(strand_reader_verify(r, &err), STRAND_OK, "verify: %s", err.msg);
	strand_reader_close(r);
}

/* Replay exactly; every output is compared with the buffer the program
 * wrote except `derived` ones (the service control manager's account of
 * what it was told, which is no buffer of the program's). */
static void replay_exact_derived(const char *trace, const char *name, unsigned long derived)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "%s replay %s > %s/%s-replay.txt 2>&1", STRAND_CLI, trace, dir, name);
	int rc = system(cmd);
	char log[1200];
	snprintf(log, sizeof log, "%s/%s-replay.txt", dir, name);
	FILE *f = fopen(log, "r");
	char text[4096] = "";
	if (f) {
		size_t n = fread(text, 1, sizeof text - 1, f);
		text[n] = 0;
		fclose(f);
	}
	cr_assert_eq(rc, 0, "strand replay failed: %s", text);
	cr_assert_not_null(strstr(text, "exact"), "replay verdict: %s", text);
	/* every output the program wrote is compared with its NtWriteFile
	 * buffer, found by the trace's own service numbers */
	const char *oc = strstr(text, "outputs compared:");
	cr_assert_not_null(oc, "replay summary: %s", text);
	unsigned long done = 0, all = 0;
	cr_assert_eq(sscanf(oc, "outputs compared: %lu of %lu", &done, &all), 2, "%s", oc);
	cr_assert_eq(done + derived, all, "outputs compared: %s", text);
}

static void replay_exact(const char *trace, const char *name) { replay_exact_derived(trace, name, 0); }

/* Lines of `text` starting with `prefix`. */
static unsigned long count_lines(const char *text, const char *prefix)
{
	unsigned long n = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	return n;
}

Test(winemu_wine, crt_hello_runs_on_wine_ntdll_from_ldrinitializethunk)
{
	char trace[512];
	struct strand_winemu_result res;
	record("hello", "hello", &res, trace, sizeof trace);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.exit_code, 0, "exit status 0x%" PRIx64 "; stdout: %s; debug: %s", s.exit_code, s.out, s.debug);
	/* printf, qsort, fopen/fgets and the atexit handler, in order; the
	 * CRT's text mode writes CR LF */
	cr_assert_str_eq(s.out, "hello from the real CRT\r\n"
				"sorted: 0 1 6 12 17 18 23 28 29 34 39 40 45 50 51 56\r\n"
				"read back 2 lines\r\n"
				"atexit handler ran\r\n");
	/* the kernel mapped the exe and ntdll; Wine's loader mapped the rest */
	cr_assert_eq(s.snapshot_modules, 2);
	cr_assert_neq(s.ldr_init, 0);
	cr_assert_eq(s.start_pc, s.ldr_init, "the main thread starts at ntdll!LdrInitializeThunk");
	cr_assert_not_null(strstr(s.loaded, "kernel32.dll "), "loaded: %s", s.loaded);
	cr_assert_not_null(strstr(s.loaded, "kernelbase.dll "), "loaded: %s", s.loaded);
	cr_assert_not_null(strstr(s.loaded, "msvcrt.dll "), "loaded: %s", s.loaded);
	/* the trace declares Wine's numbering, read from this ntdll */
	cr_assert_not_null(strstr(s.table, "# personality=wine\n"), "%s", s.table);
	cr_assert_not_null(strstr(s.table, "0x015 NtClose 1\n"));
	cr_assert_not_null(strstr(s.table, "0x0e4 NtWriteFile 9\n"));
	cr_assert_eq(res.exit_status, 0);
}

Test(winemu_wine, recording_twice_gives_identical_traces)
{
	char t1[512], t2[512];
	record("hello", "one", NULL, t1, sizeof t1);
	record("hello", "two", NULL, t2, sizeof t2);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "cmp -s %s %s", t1, t2);
	cr_assert_eq(system(cmd), 0, "recordings differ");
}

Test(winemu_wine, crt_hello_replays_exactly)
{
	char trace[512];
	record("hello", "hello", NULL, trace, sizeof trace);
	replay_exact(trace, "hello");
}

Test(winemu_wine, missing_file_fails_with_the_crt_message)
{
	char trace[512];
	record("missing", "missing", NULL, trace, sizeof trace);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.exit_code, 1, "exit status 0x%" PRIx64 "; stderr: %s", s.exit_code, s.err);
	cr_assert_str_eq(s.err, "missing: cannot open C:\\ProgramData\\strand\\settings.ini: No such file or directory\r\n");
	replay_exact(trace, "missing");
}

/* The report follows Wine's code: the failing open is named with the
 * trace's own numbering (not the built-in Server 2003 table), with its
 * path, status and a stack from the CRT's fopen into main. */
Test(winemu_wine, missing_file_report_names_the_failed_open_and_its_stack)
{
	char trace[512];
	record("missing", "missing", NULL, trace, sizeof trace);
	char cmd[1400], out[600];
	snprintf(out, sizeof out, "%s/missing-report.json", dir);
	snprintf(cmd, sizeof cmd, "%s report --format json -o %s %s 2>%s/report-err.txt", STRAND_CLI, out, trace, dir);
	cr_assert_eq(system(cmd), 0, "strand report failed");
	FILE *f = fopen(out, "r");
	cr_assert_not_null(f);
	static char text[1 << 20];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = 0;
	fclose(f);
	/* the root cause object: everything between "root_cause" and the next top-level key */
	const char *rc = strstr(text, "\"root_cause\"");
	cr_assert_not_null(rc, "no root cause in the report");
	cr_assert_not_null(strstr(rc, "\"NtCreateFile\""), "root cause: %.600s", rc);
	cr_assert_not_null(strstr(rc, "C:\\\\ProgramData\\\\strand\\\\settings.ini"), "root cause: %.600s", rc);
	cr_assert_not_null(strstr(rc, "STATUS_OBJECT_NAME_NOT_FOUND"), "root cause: %.600s", rc);
	const char *fo = strstr(rc, "msvcrt.dll!fopen");
	cr_assert_not_null(fo, "stack: %.1500s", rc);
	cr_assert_not_null(strstr(fo, "missing.exe!main"), "stack from fopen into main: %.1500s", fo);
}

Test(winemu_wine, cxx_map_iostream_and_exceptions_run_on_libstdcxx)
{
	char trace[512];
	record("cxx", "cxx", NULL, trace, sizeof trace);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.exit_code, 0, "exit status 0x%" PRIx64 "; stdout: %s", s.exit_code, s.out);
	/* C++17 evaluates `cout << "five is " << lookup(...)` left to right:
	 * the text is out before the throw */
	cr_assert_str_eq(s.out, "four=4\r\none=1\r\nthree=3\r\ntwo=2\r\ntwo is 2\r\nfive is caught: no key five\r\n");
	cr_assert_not_null(strstr(s.loaded, "libstdc++-6.dll "), "loaded: %s", s.loaded);
	cr_assert_not_null(strstr(s.loaded, "libgcc_s_dw2-1.dll "), "loaded: %s", s.loaded);
	replay_exact(trace, "cxx");
}

/* CreateThread -> NtCreateThreadEx (threads start in LdrInitializeThunk),
 * winpthreads' mutex and condition variable over Wine's critical sections
 * and NtWaitForAlertByThreadId / NtAlertThreadByThreadId, pthread_join-free
 * WaitForMultipleObjects on the thread handles; the last thread's exit
 * ends the process (ThreadAmILastThread). */
Test(winemu_wine, threads_with_pthread_mutex_and_condvar_run_and_replay)
{
	char trace[512];
	struct strand_winemu_result res;
	record("threads", "threads", &res, trace, sizeof trace);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.exit_code, 0, "exit status 0x%" PRIx64 "; stdout: %s", s.exit_code, s.out);
	cr_assert_str_eq(s.out, "threads done, total 3003000\r\n");
	cr_assert_eq(res.threads, 4);
	cr_assert_not_null(strstr(s.loaded, "libwinpthread-1.dll "), "loaded: %s", s.loaded);
	replay_exact(trace, "threads");
	/* the report page's timeline and `strand export` name Wine's service
	 * numbers through the trace's table: the workers end in
	 * NtTerminateThread, the output is NtWriteFile */
	char cmd[1600], html[600], jsonl[600];
	snprintf(html, sizeof html, "%s/threads.html", dir);
	snprintf(jsonl, sizeof jsonl, "%s/threads.jsonl", dir);
	snprintf(cmd, sizeof cmd, "%s report --format html -o %s %s && %s export --format jsonl -o %s %s", STRAND_CLI,
		 html, trace, STRAND_CLI, jsonl, trace);
	cr_assert_eq(system(cmd), 0, "strand report / export failed");
	static char text[8 << 20];
	FILE *f = fopen(html, "r");
	cr_assert_not_null(f);
	text[fread(text, 1, sizeof text - 1, f)] = 0;
	fclose(f);
	cr_assert_not_null(strstr(text, "waits in NtTerminateThread"), "no wait named by Wine's table");
	f = fopen(jsonl, "r");
	cr_assert_not_null(f);
	text[fread(text, 1, sizeof text - 1, f)] = 0;
	fclose(f);
	cr_assert_not_null(strstr(text, "\"name\":\"NtWriteFile\""), "no NtWriteFile in the export");
}

/* Wine's reg.exe querying a key that does not exist: it prints its
 * message (user32!LoadStringW, user32 entering the kernel through
 * win32u.dll's own stubs) and exits 1; the report finds the failed
 * NtOpenKeyEx on the key by data flow. */
Test(winemu_wine, wine_reg_exe_reports_a_missing_key)
{
	char scn[512], trace[512];
	snprintf(scn, sizeof scn, "%s/tests/traces/src/win/reg-missing.scenario", STRAND_SOURCE_DIR);
	snprintf(trace, sizeof trace, "%s/reg-missing.strand", dir);
	struct strand_winemu_options opt = { .modules_dir = sysdlls, .system_dlls_dir = sysdlls, .nls_dir = nls,
					     .quiet = true };
	strand_error err = { 0 };
	struct strand_winemu_result res;
	cr_assert_eq(strand_winemu_record(scn, trace, &opt, &res, &err), STRAND_OK, "%s", err.msg);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.exit_code, 1, "exit status 0x%" PRIx64 "; stdout: %s; stderr: %s", s.exit_code, s.out, s.err);
	cr_assert_str_eq(s.out, "reg: Unable to find the specified registry key\r\n");
	cr_assert_not_null(strstr(s.loaded, "user32.dll "), "loaded: %s", s.loaded);
	cr_assert_not_null(strstr(s.loaded, "win32u.dll "), "loaded: %s", s.loaded);
	/* win32u's services (table 1, 0x1000 and up) are in the trace's table,
	 * read from win32u.dll's stubs: user32's calls are named, not numbers */
	cr_assert_not_null(strstr(s.table, "; win32k: "), "%.300s", s.table);
	const char *w = strstr(s.unmodelled, "number=0x10");
	cr_assert_not_null(w, "unmodelled: %s", s.unmodelled);
	cr_assert_eq(strncmp(strchr(w, ' ') + 1, "service=NtUser", 14), 0, "unmodelled: %s", s.unmodelled);
	char cmd[1400], qout[600];
	snprintf(qout, sizeof qout, "%s/reg-missing-syscalls.txt", dir);
	snprintf(cmd, sizeof cmd, "%s query -q -c 'syscalls --failed --name NtUser' %s > %s 2>&1", STRAND_CLI, trace,
		 qout);
	cr_assert_eq(system(cmd), 0, "strand query failed (%s)", qout);
	FILE *qf = fopen(qout, "r");
	cr_assert_not_null(qf);
	char qtext[8192];
	size_t qn = fread(qtext, 1, sizeof qtext - 1, qf);
	qtext[qn] = 0;
	fclose(qf);
	cr_assert_not_null(strstr(qtext, "STATUS_NOT_IMPLEMENTED"), "%s", qtext);
	cr_assert_null(strstr(qtext, "0 failed syscalls"), "%s", qtext);
	const char *text = report_json(trace, "reg-missing");
	const char *rc = strstr(text, "\"root_cause\"");
	cr_assert_not_null(rc, "no root cause");
	cr_assert_not_null(strstr(rc, "\"syscall\": \"NtOpenKeyEx\""), "root cause: %.500s", rc);
	cr_assert_not_null(strstr(rc, "Strand\\\\Missing"), "root cause: %.500s", rc);
	cr_assert_not_null(strstr(rc, "0xc0000034"), "root cause: %.500s", rc);
	replay_exact(trace, "reg-missing");
}

/* Wine's own reg.exe (advapi32, sechost, ucrtbase, kernelbase's registry
 * over NtOpenKeyEx / NtQueryValueKey) querying a key the scenario defines. */
Test(winemu_wine, wine_reg_exe_queries_the_scenario_registry)
{
	char scn[512], trace[512];
	snprintf(scn, sizeof scn, "%s/tests/traces/src/win/reg.scenario", STRAND_SOURCE_DIR);
	snprintf(trace, sizeof trace, "%s/reg.strand", dir);
	/* reg.exe lives with the system DLLs: that is its module directory */
	struct strand_winemu_options opt = { .modules_dir = sysdlls, .system_dlls_dir = sysdlls, .nls_dir = nls,
					     .quiet = true };
	strand_error err = { 0 };
	struct strand_winemu_result res;
	cr_assert_eq(strand_winemu_record(scn, trace, &opt, &res, &err), STRAND_OK, "%s", err.msg);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.exit_code, 0, "exit status 0x%" PRIx64 "; stdout: %s; stderr: %s", s.exit_code, s.out, s.err);
	cr_assert_not_null(strstr(s.out, "HKEY_LOCAL_MACHINE\\Software\\Strand\\Demo"), "stdout: %s", s.out);
	cr_assert_not_null(strstr(s.out, "Answer"), "stdout: %s", s.out);
	cr_assert_not_null(strstr(s.out, "REG_DWORD"), "stdout: %s", s.out);
	cr_assert_not_null(strstr(s.out, "0x2a"), "stdout: %s", s.out);
	cr_assert_not_null(strstr(s.loaded, "advapi32.dll "), "loaded: %s", s.loaded);
	/* the console probes reg.exe makes on a pipe are logged, not hidden */
	cr_assert_not_null(strstr(s.unmodelled, "stdio-ioctl=0x00508078"), "%s", s.unmodelled);
	replay_exact(trace, "reg");
}

/* A hardware fault (read of address 0) is an EXCEPTION record delivered to
 * ntdll!KiUserExceptionDispatcher, not the end of the process; a software
 * exception goes through NtRaiseException; a vectored handler resumes
 * both with NtContinue. */
Test(winemu_wine, exceptions_are_dispatched_to_the_process_handlers)
{
	char trace[512];
	record("fault", "fault", NULL, trace, sizeof trace);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.exit_code, 0, "exit status 0x%" PRIx64 "; stdout: %s; debug: %s", s.exit_code, s.out, s.debug);
	cr_assert_str_eq(s.out, "access violations 1, software exceptions 1\r\n");
	struct strand_reader *r;
	strand_error err = { 0 };
	cr_assert_eq(strand_reader_open(trace, &r, &err), STRAND_OK, "%s", err.msg);
	const struct strand_record *rec;
	unsigned delivered = 0;
	while (strand_reader_next(r, &rec, &err) == STRAND_OK)
		if (rec->type == STRAND_REC_EXCEPTION) {
			cr_assert_eq(rec->u.exception.code, 0xC0000005u);
			cr_assert_eq(rec->u.exception.flags & STRAND_EXC_F_FATAL, 0);
			cr_assert(rec->u.exception.fx.cpu != NULL);
			delivered++;
		}
	strand_reader_close(r);
	cr_assert_eq(delivered, 1);
	replay_exact(trace, "fault");
}

/* The re-hosted HTTP SSL case as the trace has it: HttpInitialize's
 * NtCreateFile on \Device\Http\Control fails with STATUS_NO_SUCH_DEVICE and
 * Wine's real RtlNtStatusToDosError, called by the stand-in httpapi, turns
 * it into 433 (the stand-in ntdll says 2): `query calls` shows the call. */
Test(winemu_wine, httpssl_rehosted_on_wine_runs_wines_status_translation)
{
	char trace[512];
	record("httpssl-wine", "httpssl-tr", NULL, trace, sizeof trace);
	char cmd[1400], out[600];
	snprintf(out, sizeof out, "%s/calls.txt", dir);
	snprintf(cmd, sizeof cmd,
		 "%s query -c 'syscalls --failed; calls ntdll!RtlNtStatusToDosError' %s > %s 2>&1", STRAND_CLI,
		 trace, out);
	cr_assert_eq(system(cmd), 0, "strand query failed (%s)", out);
	FILE *f = fopen(out, "r");
	cr_assert_not_null(f);
	static char text[1 << 20];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = 0;
	fclose(f);
	const char *open = strstr(text, "NtCreateFile                 0xc000000e \\Device\\Http\\Control");
	cr_assert_not_null(open, "%.3000s", text);
	/* the call that translates it: argument 0xc000000e, result 433, from httpapi */
	const char *call = strstr(text, "0xc000000e");
	bool found = false;
	for (; call; call = strstr(call + 1, "0xc000000e")) {
		const char *eol = strchr(call, '\n');
		if (!eol)
			break;
		char line[512];
		snprintf(line, sizeof line, "%.*s", (int)(eol - call), call);
		if (strstr(line, "0x000001b1") && strstr(line, "httpapi.dll!HttpApiNtStatusToWin32Status"))
			found = true;
	}
	cr_assert(found, "no RtlNtStatusToDosError(0xc000000e) = 433 from httpapi: %.6000s", text);
}

/* The seed's failure re-hosted on Wine's ntdll, kernel32 and advapi32 with
 * the project's strmfilt and httpapi: the report still finds NtCreateFile
 * on \Device\Http\Control -> 0xC000000E by data flow, and follows Wine's
 * own status translation (433 = ERROR_NO_SUCH_DEVICE, where the stand-in
 * ntdll says 2) to the symptom hr = 800701b1. */
Test(winemu_wine, httpssl_rehosted_on_wine_finds_the_device_open_and_wines_translation)
{
	char trace[512];
	record("httpssl-wine", "httpssl-wine", NULL, trace, sizeof trace);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.exit_code, 1, "exit status 0x%" PRIx64 "; stderr: %s", s.exit_code, s.err);
	cr_assert_str_eq(s.err, "httpsslhost: Error initializing SSL_STREAM_CONTEXT globals. hr = 800701b1\r\n");
	cr_assert_not_null(strstr(s.loaded, "httpapi.dll "), "loaded: %s", s.loaded);
	cr_assert_not_null(strstr(s.loaded, "advapi32.dll "), "loaded: %s", s.loaded);
	const char *text = report_json(trace, "httpssl-wine");
	const char *rc = strstr(text, "\"root_cause\"");
	cr_assert_not_null(rc, "no root cause");
	cr_assert_not_null(strstr(rc, "\"syscall\": \"NtCreateFile\""), "root cause: %.500s", rc);
	cr_assert_not_null(strstr(rc, "\\\\Device\\\\Http\\\\Control"), "root cause: %.500s", rc);
	cr_assert_not_null(strstr(rc, "0xc000000e"), "root cause: %.500s", rc);
	cr_assert_not_null(strstr(rc, "data flow"), "root cause: %.500s", rc);
	cr_assert_not_null(strstr(rc, "httpapi.dll!HttpInitialize"), "root cause stack: %.1500s", rc);
	const char *pr = strstr(text, "\"propagation\"");
	cr_assert_not_null(pr);
	cr_assert_not_null(strstr(pr, "ntdll.dll!RtlNtStatusToDosError"), "the translation is Wine's ntdll");
	cr_assert_not_null(strstr(text, "0x800701b1"), "the symptom's value");
	/* the API call around it, reached through a GetProcAddress'd pointer
	 * and the IAT of a DLL loaded at run time, is named */
	const char *fa = strstr(text, "\"failed_api_calls\"");
	cr_assert_not_null(fa);
	cr_assert_not_null(strstr(fa, "\"function\": \"HttpInitialize\""), "failed api calls: %.800s", fa);
	cr_assert_not_null(strstr(fa, "\"role\": \"root cause\""), "failed api calls: %.800s", fa);
	replay_exact(trace, "httpssl-wine");
}

/* The seed's failure with the project's lsass.exe and w3ssl.dll too: lsass
 * becomes a service process on Wine's sechost and rpcrt4, which talk
 * DCE/RPC to the recorder's service control manager (svcctl.c) over
 * \pipe\svcctl and take the start order from Wine's control pipe.  The
 * service reports START_PENDING then STOPPED with the HRESULT; the report
 * finds NtCreateFile on \Device\Http\Control -> 0xC000000E by data flow,
 * follows Wine's RtlNtStatusToDosError (433) and strmfilt's
 * HRESULT_FROM_WIN32 to SetServiceStatus's service-specific exit code, with
 * the stack from sechost's service thread through w3ssl into httpapi. */
Test(winemu_wine, httpssl_service_on_wine_runs_through_the_service_control_manager)
{
	char trace[512], again[512];
	struct strand_winemu_result res;
	record("httpssl-lsass", "httpssl-lsass", &res, trace, sizeof trace);
	record("httpssl-lsass", "httpssl-lsass-2", NULL, again, sizeof again);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "cmp -s %s %s", trace, again);
	cr_assert_eq(system(cmd), 0, "two recordings differ");
	struct seen s;
	scan(trace, &s);
	/* the dispatcher returned (the only service stopped): lsass exits 0 */
	cr_assert_eq(s.exit_code, 0, "exit status 0x%" PRIx64 "; debug: %.2000s", s.exit_code, s.debug);
	cr_assert_not_null(strstr(s.loaded, "rpcrt4.dll "), "loaded: %s", s.loaded);
	cr_assert_not_null(strstr(s.loaded, "sechost.dll "), "loaded: %s", s.loaded);
	cr_assert_not_null(strstr(s.loaded, "w3ssl.dll "), "loaded: %s", s.loaded);
	/* what the service control manager saw, in order */
	const char *pending = strstr(s.debug, "service-status name=HTTPFilter state=START_PENDING(2) type=0x20");
	cr_assert_not_null(pending, "debug: %.4000s", s.debug);
	const char *stopped = strstr(pending, "service-status name=HTTPFilter state=STOPPED(1) type=0x20 controls=0x0 "
					      "win32_exit=0x42a service_exit=0x800701b1");
	cr_assert_not_null(stopped, "debug: %.4000s", s.debug);
	cr_assert_not_null(strstr(s.debug, "service-control name=HTTPFilter result=0"), "debug: %.4000s", s.debug);
	/* every request on the service manager's pipes was served */
	cr_assert_null(strstr(s.unmodelled, "pipe="), "unmodelled: %s", s.unmodelled);
	const char *text = report_json(trace, "httpssl-lsass");
	const char *rc = strstr(text, "\"root_cause\"");
	cr_assert_not_null(rc, "no root cause");
	cr_assert_not_null(strstr(rc, "\"syscall\": \"NtCreateFile\""), "root cause: %.500s", rc);
	cr_assert_not_null(strstr(rc, "\\\\Device\\\\Http\\\\Control"), "root cause: %.500s", rc);
	cr_assert_not_null(strstr(rc, "0xc000000e"), "root cause: %.500s", rc);
	cr_assert_not_null(strstr(rc, "data flow"), "root cause: %.500s", rc);
	cr_assert_not_null(strstr(rc, "httpapi.dll!HttpInitialize"), "root cause stack: %.2500s", rc);
	cr_assert_not_null(strstr(rc, "w3ssl.dll!ServiceMain"), "root cause stack: %.2500s", rc);
	cr_assert_not_null(strstr(rc, "sechost.dll!service_thread"), "root cause stack: %.2500s", rc);
	const char *pr = strstr(text, "\"propagation\"");
	cr_assert_not_null(pr);
	cr_assert_not_null(strstr(pr, "ntdll.dll!RtlNtStatusToDosError"), "the translation is Wine's ntdll: %.2000s", pr);
	cr_assert_not_null(strstr(pr, "strmfilt.dll!HRESULT_FROM_WIN32"), "%.2000s", pr);
	const char *sy = strstr(text, "\"symptom\"");
	cr_assert_not_null(sy);
	cr_assert_not_null(strstr(sy, "\"kind\": \"service_stop\""), "symptom: %.800s", sy);
	cr_assert_not_null(strstr(sy, "0x800701b1"), "symptom: %.800s", sy);
	replay_exact_derived(trace, "httpssl-lsass",
			     count_lines(s.debug, "service-status ") + count_lines(s.debug, "service-control "));
}

/* What a user sees of the personality: `strand info` names it and where
 * the service numbers came from; `query syscalls` names Wine's numbers. */
Test(winemu_wine, info_and_query_show_the_personality_and_wine_service_names)
{
	char trace[512];
	record("missing", "missing", NULL, trace, sizeof trace);
	char cmd[1400], out[600];
	snprintf(out, sizeof out, "%s/info.txt", dir);
	snprintf(cmd, sizeof cmd, "%s info %s > %s 2>&1 && %s query -c 'syscalls --failed' %s >> %s 2>&1", STRAND_CLI,
		 trace, out, STRAND_CLI, trace, out);
	cr_assert_eq(system(cmd), 0, "strand info / query failed (%s)", out);
	FILE *f = fopen(out, "r");
	cr_assert_not_null(f);
	static char text[1 << 20];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = 0;
	fclose(f);
	cr_assert_not_null(strstr(text, "personality:  wine\n"), "%.2000s", text);
	cr_assert_not_null(strstr(text, "syscalls:     derived from ntdll.dll's system call stubs (239 services"),
			   "%.2000s", text);
	/* the failed open, by its Wine number (0x1d), named as Wine names it */
	const char *open = strstr(text, "NtCreateFile");
	cr_assert_not_null(open, "%.4000s", text);
	cr_assert_not_null(strstr(open, "settings.ini"), "%.400s", open);
}
