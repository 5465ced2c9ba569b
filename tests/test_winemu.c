/*
 * winemu recorder (strand record-win): recordings of the recorder's test
 * guest (tests/traces/src/mini, built here with i686-w64-mingw32-gcc) and
 * of the HTTP SSL fixtures.  What a user would observe: the trace's
 * header, snapshot and events, the guest's debug output, the process's
 * end, byte-identical re-recording and exact replay.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "record/winemu/winemu.h"
#include "strand/trace.h"

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/strand-winemu-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "sh %s/tests/traces/src/mini/build.sh %s/guest", STRAND_SOURCE_DIR, dir);
	cr_assert_eq(system(cmd), 0, "cannot build the test guest (%s)", cmd);
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	(void)system(cmd);
}

TestSuite(winemu, .init = setup, .fini = teardown, .timeout = 300);

/* The world of the test guest; %s = mode, then extra [process] lines. */
static const char scenario_fmt[] =
	"[process]\n"
	"image = mini.exe\n"
	"modules = guest\n"
	"command_line = C:\\mini.exe %s\n"
	"tids = 100 200\n"
	"quantum = 5000\n"
	"keyframe_interval = 10000\n"
	"%s"
	"\n"
	"[device \\Device\\DebugLog]\n"
	"sink = debug\n"
	"[device \\Device\\Gone]\n"
	"state = unload-pending\n"
	"[device \\Device\\Locked]\n"
	"state = access-denied\n"
	"[device \\Device\\Mini\\Control]\n"
	"ioctl = 0x00220004 0 hex:78563412 aa\n"
	"ioctl = 0x00220008 0xC0000010\n"
	"[link \\??\\mini]\n"
	"target = \\Device\\Mini\n"
	"[key \\Registry\\Machine\\SOFTWARE\\Mini]\n"
	"Answer = dword:42\n"
	"[key \\Registry\\Machine\\SOFTWARE\\Locked]\n"
	".access = denied\n"
	"[file \\??\\C:\\in.txt]\n"
	"data = text:from scenario\n";

/* Record mode into dir/NAME.strand; returns the status. */
static strand_status record(const char *mode, const char *extra, const char *name,
			    struct strand_winemu_result *res, strand_error *err, char *trace, size_t n)
{
	char scn[512];
	snprintf(scn, sizeof scn, "%s/%s.scenario", dir, name);
	FILE *f = fopen(scn, "w");
	cr_assert_not_null(f);
	fprintf(f, scenario_fmt, mode, extra);
	fclose(f);
	snprintf(trace, n, "%s/%s.strand", dir, name);
	struct strand_winemu_options opt = { .quiet = true };
	strand_error_clear(err);
	return strand_winemu_record(scn, trace, &opt, res, err);
}

/* What the tests look at in a trace. */
struct seen {
	struct strand_trace_info info;
	char output[8192];
	size_t outlen;
	uint64_t count[STRAND_REC_TYPE_MAX];
	uint64_t exit_code;
	uint64_t last_position;
	uint32_t exc_code, exc_flags;
	uint32_t nmods, relocated, threads_with_teb_fs;
	bool sym_entry_func, sym_ntcreatefile_export;
	bool region_gdt, region_peb, region_shared, region_thunk, region_teb100;
	uint32_t syscalls_at_gate, syscalls_elsewhere;
	uint64_t gate;
	uint64_t keyframe_positions[64];
	uint32_t nkeyframes;
	char unmodelled[512];
};

static void scan(const char *trace, struct seen *s)
{
	memset(s, 0, sizeof *s);
	struct strand_reader *r;
	strand_error err;
	cr_assert_eq(strand_reader_open(trace, &r, &err), STRAND_OK, "%s", err.msg);
	s->info = *strand_reader_info(r);
	const struct strand_record *rec;
	strand_status st;
	while ((st = strand_reader_next(r, &rec, &err)) == STRAND_OK) {
		cr_assert_lt(rec->type, STRAND_REC_TYPE_MAX);
		s->count[rec->type]++;
		s->last_position = rec->position;
		switch (rec->type) {
		case STRAND_REC_MODULE: {
			const struct strand_module *m = &rec->u.module;
			s->nmods++;
			if (strcmp(m->name, "minidll.dll") == 0 || strcmp(m->name, "minireloc.dll") == 0)
				s->relocated += m->base != 0x10000000;
			for (uint32_t i = 0; i < m->nsyms; i++) {
				if (strcmp(m->syms[i].name, "MiniEntry") == 0 && m->syms[i].kind == STRAND_SYM_FUNC)
					s->sym_entry_func = true;
				if (strcmp(m->syms[i].name, "NtCreateFile") == 0 &&
				    m->syms[i].kind == STRAND_SYM_EXPORT)
					s->sym_ntcreatefile_export = true;
				if (strcmp(m->syms[i].name, "KiFastSystemCall") == 0)
					s->gate = m->syms[i].addr;
			}
			break;
		}
		case STRAND_REC_REGION: {
			const char *n = rec->u.region.name;
			s->region_gdt |= strcmp(n, "gdt") == 0 && rec->u.region.kind == STRAND_REGION_GDT &&
					 rec->u.region.addr == 0x80000000;
			s->region_peb |= strcmp(n, "peb") == 0 && rec->u.region.addr == 0x7ffdf000;
			s->region_shared |= strcmp(n, "shared-user-data") == 0 && rec->u.region.addr == 0x7ffe0000;
			s->region_thunk |= strcmp(n, "ldr-thunk") == 0;
			s->region_teb100 |= strcmp(n, "teb:100") == 0 && rec->u.region.kind == STRAND_REGION_TEB;
			break;
		}
		case STRAND_REC_THREAD:
			s->threads_with_teb_fs += rec->u.thread.teb != 0 &&
						  rec->u.thread.cpu.fs_base == rec->u.thread.teb &&
						  rec->u.thread.cpu.gdt_base == 0x80000000 &&
						  rec->u.thread.cpu.sel[STRAND_SEG_FS] == 0x3b;
			break;
		case STRAND_REC_OUTPUT:
			cr_assert_eq(rec->u.output.stream, 3);
			cr_assert_lt(s->outlen + rec->u.output.len, sizeof s->output);
			memcpy(s->output + s->outlen, rec->u.output.data, rec->u.output.len);
			s->outlen += rec->u.output.len;
			break;
		case STRAND_REC_SYSCALL:
			if (s->gate && rec->u.syscall.pc == s->gate + 2)
				s->syscalls_at_gate++;
			else
				s->syscalls_elsewhere++;
			break;
		case STRAND_REC_NOTE:
			if (strcmp(rec->u.note.key, "unmodelled-syscalls") == 0)
				snprintf(s->unmodelled, sizeof s->unmodelled, "%.*s", (int)rec->u.note.len,
					 (const char *)rec->u.note.data);
			break;
		case STRAND_REC_EXCEPTION:
			s->exc_code = (uint32_t)rec->u.exception.code;
			s->exc_flags = rec->u.exception.flags;
			break;
		case STRAND_REC_KEYFRAME:
			if (s->nkeyframes < 64)
				s->keyframe_positions[s->nkeyframes++] = rec->position;
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

static const char basic_output[] =
	"mini=start\n"
	"load=mini.exe\n"        /* PEB.Ldr as the guest walks it */
	"load=ntdll.dll\n"
	"load=minidll.dll\n"
	"load=minireloc.dll\n"
	"load=minifwd.dll\n"
	"init=ntdll.dll\n"
	"init=minidll.dll\n"
	"init=minireloc.dll\n"
	"init=minifwd.dll\n"
	"openkey=00000000\n"
	"answer.status=00000000\n"
	"answer.type=00000004\n"
	"answer=0000002a\n"
	"missing=c0000034\n"
	"short.status=80000005\n"
	"short.needed=00000010\n"
	"tiny.status=c0000023\n"
	"subkey0=00000000\n"
	"subkey0.namelen=0000000c\n"
	"subkey0.char0=0000004c\n"
	"subkey2=8000001a\n"
	"lockedkey=c0000022\n"
	"gone=c000000e\n"
	"locked=c0000022\n"
	"nosuch=c0000034\n"
	"ctl=00000000\n"
	"ioctl=80000005\n"
	"ioctl.info=00000004\n"
	"ioctl.out=12345678\n"
	"ioctl2=c0000010\n"
	"in.open=00000000\n"
	"in=from scenario\n"
	"in.eof=c0000011\n"
	"missing.file=c0000034\n"
	"out=hello\n"
	"alloc=00000000\n"
	"thread=00000000\n"
	"thread.tid=000000c8\n"
	"worker=running\n"
	"wait.event=00000000\n"
	"wait.thread=00000000\n"
	"thread.exit=00000007\n"
	"attaches=00000065\n"
	"timeout=00000102\n"
	"delay=00000000\n"
	"slept.ms=00000005\n"
	"protect=00000000\n"
	"protect.old=00000004\n"
	"free=00000000\n"
	"freed.state=00010000\n"
	"mutant.release=00000000\n"
	"mutant.prev=00000000\n"
	"mutant.again=c0000046\n"
	"ordinal=0000000f\n"
	"reloc=00000001\n"
	"forwarded=000003e9\n"
	"unknown=c0000002\n"
	"mini=end\n";

Test(winemu, guest_sees_the_scenario_world_through_the_kernel_model)
{
	char trace[512];
	struct strand_winemu_result res;
	strand_error err;
	cr_assert_eq(record("basic", "", "basic", &res, &err, trace, sizeof trace), STRAND_OK, "%s", err.msg);
	struct seen s;
	scan(trace, &s);
	s.output[s.outlen] = 0;
	cr_assert_str_eq(s.output, basic_output);
	cr_assert_eq(s.exit_code, 42, "the entry's return value is the exit status");
	cr_assert_eq(res.exit_status, 42);
	cr_assert_str_eq(res.end_reason, "exit");
	cr_assert_eq(res.threads, 2);
	cr_assert_eq(res.unknown_syscalls, 1);
	/* the snapshot lists it (a second, identical pass writes the NOTE) */
	cr_assert(strstr(s.unmodelled, "tid=100 pc=0x") && strstr(s.unmodelled, " number=0xff service=?\n"),
		  "note: %s", s.unmodelled);
	cr_assert_eq(res.instructions, s.last_position);
}

Test(winemu, trace_describes_the_process_as_loaded)
{
	char trace[512];
	struct strand_winemu_result res;
	strand_error err;
	cr_assert_eq(record("basic", "", "basic", &res, &err, trace, sizeof trace), STRAND_OK, "%s", err.msg);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.info.arch, STRAND_ARCH_X86_32);
	cr_assert_eq(s.info.abi, STRAND_ABI_WINDOWS_NT);
	cr_assert_str_eq(s.info.recorder, "strand-winemu");
	cr_assert_eq(s.info.created_unix_ns, 1235984400ull * 1000000000ull, "the scenario's clock");
	cr_assert_eq(s.nmods, 5, "minifwd.dll loaded through a forwarder");
	cr_assert_eq(s.relocated, 1, "one of two DLLs sharing a preferred base is relocated");
	cr_assert(s.sym_entry_func, "COFF function symbols");
	cr_assert(s.sym_ntcreatefile_export, "export symbols");
	cr_assert(s.region_gdt && s.region_peb && s.region_shared && s.region_thunk && s.region_teb100);
	cr_assert_eq(s.count[STRAND_REC_THREAD], 2);
	cr_assert_eq(s.threads_with_teb_fs, 2, "FS selects the thread's TEB through the GDT");
	cr_assert_eq(s.count[STRAND_REC_THREAD_EXIT], 1);
	cr_assert_geq(s.count[STRAND_REC_THREAD_SWITCH], 2, "a blocking wait and a thread exit switch");
	cr_assert_eq(s.count[STRAND_REC_PROCESS_EXIT], 1);
	/* every system call but the start-up code's exit goes through the gate */
	cr_assert_eq(s.syscalls_elsewhere, 1);
	cr_assert_eq(s.syscalls_at_gate + 1, res.syscalls);
	/* key frames at 0, every interval, and at the end */
	cr_assert_eq(s.keyframe_positions[0], 0);
	for (uint32_t i = 1; i + 1 < s.nkeyframes; i++)
		cr_assert_eq(s.keyframe_positions[i], 10000ull * i);
	cr_assert_eq(s.keyframe_positions[s.nkeyframes - 1], s.last_position);
}

Test(winemu, same_scenario_twice_gives_identical_bytes)
{
	char t1[512], t2[512];
	strand_error err;
	cr_assert_eq(record("basic", "", "one", NULL, &err, t1, sizeof t1), STRAND_OK, "%s", err.msg);
	cr_assert_eq(record("basic", "", "two", NULL, &err, t2, sizeof t2), STRAND_OK, "%s", err.msg);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "cmp -s %s %s", t1, t2);
	cr_assert_eq(system(cmd), 0, "recordings differ");
}

Test(winemu, replay_of_a_recording_is_exact)
{
	char trace[512];
	strand_error err;
	cr_assert_eq(record("basic", "", "basic", NULL, &err, trace, sizeof trace), STRAND_OK, "%s", err.msg);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "%s replay %s > %s/replay.txt 2>&1", STRAND_CLI, trace, dir);
	cr_assert_eq(system(cmd), 0, "strand replay failed (see %s/replay.txt)", dir);
}

Test(winemu, guest_fault_ends_the_process_with_the_exception)
{
	char trace[512];
	struct strand_winemu_result res;
	strand_error err;
	cr_assert_eq(record("fault", "", "fault", &res, &err, trace, sizeof trace), STRAND_OK, "%s", err.msg);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.count[STRAND_REC_EXCEPTION], 1);
	cr_assert_eq(s.exc_code, 0xC0000005);
	cr_assert_eq(s.exc_flags, STRAND_EXC_F_FATAL);
	cr_assert_eq(s.exit_code, 0xC0000005);
	cr_assert_str_eq(res.end_reason, "fault");
	s.output[s.outlen] = 0;
	cr_assert_str_eq(s.output, "mini=fault\n");
}

Test(winemu, threads_waiting_forever_end_in_possible_deadlock)
{
	char trace[512];
	struct strand_winemu_result res;
	strand_error err;
	cr_assert_eq(record("deadlock", "", "deadlock", &res, &err, trace, sizeof trace), STRAND_OK, "%s",
		     err.msg);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.exit_code, 0xC0000194);
	cr_assert_str_eq(res.end_reason, "deadlock");
}

Test(winemu, instruction_limit_ends_the_process_exactly_there)
{
	char trace[512];
	struct strand_winemu_result res;
	strand_error err;
	cr_assert_eq(record("spin", "max_instructions = 54321\n", "spin", &res, &err, trace, sizeof trace),
		     STRAND_OK, "%s", err.msg);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.exit_code, 0x102);
	cr_assert_eq(s.last_position, 54321);
	cr_assert_eq(res.instructions, 54321);
}

Test(winemu, missing_module_is_an_error_and_leaves_no_file)
{
	char trace[512];
	strand_error err;
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm %s/guest/minireloc.dll", dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(record("basic", "", "broken", NULL, &err, trace, sizeof trace), STRAND_ERR_INVALID);
	cr_assert(strstr(err.msg, "module 'minireloc.dll' not found"), "%s", err.msg);
	cr_assert(strstr(err.msg, "imported by mini.exe"), "%s", err.msg);
	struct stat sb;
	cr_assert_neq(stat(trace, &sb), 0, "no partial trace left behind");
}

/* The committed HTTP SSL fixtures regenerate byte for byte from their
 * scenarios and the guest sources (tests/traces/regen.sh, build-guests.sh). */
Test(winemu, committed_fixtures_regenerate_identically)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "sh %s/tests/traces/build-guests.sh %s/guests > %s/build.txt 2>&1",
		 STRAND_SOURCE_DIR, dir, dir);
	cr_assert_eq(system(cmd), 0, "build-guests.sh failed (%s/build.txt)", dir);
	char tdir[512];
	snprintf(tdir, sizeof tdir, "%s/tests/traces", STRAND_SOURCE_DIR);
	DIR *d = opendir(tdir);
	cr_assert_not_null(d);
	char names[32][128];
	size_t nnames = 0;
	for (struct dirent *e; (e = readdir(d)) && nnames < 32;) {
		size_t n = strlen(e->d_name);
		if (n > 9 && strcmp(e->d_name + n - 9, ".scenario") == 0)
			snprintf(names[nnames++], sizeof names[0], "%.*s", (int)(n - 9), e->d_name);
	}
	closedir(d);
	cr_assert_geq(nnames, 3, "the fixtures' scenarios");
	for (size_t i = 0; i < nnames; i++) {
		char scn[512], fixture[512], out[512], modules[512];
		snprintf(scn, sizeof scn, "%s/tests/traces/%s.scenario", STRAND_SOURCE_DIR, names[i]);
		snprintf(fixture, sizeof fixture, "%s/tests/traces/%s.strand", STRAND_SOURCE_DIR, names[i]);
		snprintf(out, sizeof out, "%s/%s.strand", dir, names[i]);
		snprintf(modules, sizeof modules, "%s/guests", dir);
		struct stat sb;
		if (stat(fixture, &sb) != 0)
			continue; /* not committed (yet) */
		cr_assert_lt(sb.st_size, 1 << 20, "%s is under 1 MiB", names[i]);
		struct strand_winemu_options opt = { .modules_dir = modules, .quiet = true };
		strand_error err;
		cr_assert_eq(strand_winemu_record(scn, out, &opt, NULL, &err), STRAND_OK, "%s", err.msg);
		snprintf(cmd, sizeof cmd, "cmp -s %s %s", fixture, out);
		cr_assert_eq(system(cmd), 0, "%s.strand does not regenerate identically", names[i]);
	}
}

/* strand record-win: JSON summary, usage errors (exit 2), failures (exit 1). */
Test(winemu, record_win_command_reports_and_fails_cleanly)
{
	char scn[512], cmd[2048], out[512];
	snprintf(scn, sizeof scn, "%s/cli.scenario", dir);
	FILE *f = fopen(scn, "w");
	cr_assert_not_null(f);
	fprintf(f, scenario_fmt, "basic", "");
	fclose(f);
	snprintf(out, sizeof out, "%s/cli.json", dir);
	snprintf(cmd, sizeof cmd, "%s record-win -q --json -o %s/cli.strand %s > %s", STRAND_CLI, dir, scn, out);
	cr_assert_eq(system(cmd), 0);
	f = fopen(out, "r");
	cr_assert_not_null(f);
	char buf[4096] = { 0 };
	cr_assert_gt(fread(buf, 1, sizeof buf - 1, f), 0);
	fclose(f);
	cr_assert(strstr(buf, "\"exit_status\": \"0x2a\""), "%s", buf);
	cr_assert(strstr(buf, "\"threads\": 2"), "%s", buf);
	cr_assert(strstr(buf, "\"end\": \"exit\""), "%s", buf);
	snprintf(cmd, sizeof cmd, "%s record-win > /dev/null 2>&1", STRAND_CLI);
	int rc = system(cmd);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "no scenario is a usage error");
	snprintf(cmd, sizeof cmd, "%s record-win -o %s/x.strand %s/nonexistent.scenario 2> %s/err.txt",
		 STRAND_CLI, dir, dir, dir);
	rc = system(cmd);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
	snprintf(out, sizeof out, "%s/err.txt", dir);
	f = fopen(out, "r");
	cr_assert_not_null(f);
	memset(buf, 0, sizeof buf);
	cr_assert_gt(fread(buf, 1, sizeof buf - 1, f), 0);
	fclose(f);
	cr_assert(strstr(buf, "cannot open scenario"), "%s", buf);
	cr_assert_eq(strchr(buf, '\n'), buf + strlen(buf) - 1, "one line: %s", buf);
}

Test(winemu, dll_refusing_process_attach_ends_the_process_before_the_exe_runs)
{
	char trace[512];
	struct strand_winemu_result res;
	strand_error err;
	cr_assert_eq(record("dllfail", "", "dllfail", &res, &err, trace, sizeof trace), STRAND_OK, "%s",
		     err.msg);
	struct seen s;
	scan(trace, &s);
	cr_assert_eq(s.exit_code, 0xC0000142, "STATUS_DLL_INIT_FAILED");
	cr_assert_eq(s.outlen, 0, "mini.exe's entry never ran");
	cr_assert_eq(res.syscalls, 1, "only the start-up code's NtTerminateProcess");
}

Test(winemu, runnable_threads_share_the_cpu_by_quantum_and_replay_exactly)
{
	char trace[512];
	struct strand_winemu_result res;
	strand_error err;
	cr_assert_eq(record("race", "", "race", &res, &err, trace, sizeof trace), STRAND_OK, "%s", err.msg);
	struct seen s;
	scan(trace, &s);
	s.output[s.outlen] = 0;
	cr_assert_str_eq(s.output, "race=00000001\n");
	/* two threads of ~200k instructions each, quantum 5000 */
	cr_assert_gt(s.count[STRAND_REC_THREAD_SWITCH], 40, "switches=%" PRIu64,
		     s.count[STRAND_REC_THREAD_SWITCH]);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "%s replay %s > %s/replay-race.txt 2>&1", STRAND_CLI, trace, dir);
	cr_assert_eq(system(cmd), 0, "strand replay failed (see %s/replay-race.txt)", dir);
}
