/* strand info / strand verify, through the strand binary (STRAND_CLI), on
 * traces the tests write: golden fields of the JSON and text output, exit
 * codes, located errors on corrupted copies. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strand/trace.h"
#include "test_trace_sample.h"

struct run {
	int rc;          /* exit status */
	char out[16384]; /* stdout */
	char err[4096];  /* stderr */
};

static void slurp_into(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	unlink(path);
}

/* Run "strand ARGS" with stdout/stderr captured. */
static void run_cli(struct run *r, const char *args)
{
	char o[512], e[512], cmd[2048];
	snprintf(o, sizeof o, "%s/cli_info_%d.out", STRAND_BINARY_DIR, (int)getpid());
	snprintf(e, sizeof e, "%s/cli_info_%d.err", STRAND_BINARY_DIR, (int)getpid());
	snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s", STRAND_CLI, args, o, e);
	int st = system(cmd);
	cr_assert(WIFEXITED(st), "strand %s did not exit normally", args);
	r->rc = WEXITSTATUS(st);
	slurp_into(o, r->out, sizeof r->out);
	slurp_into(e, r->err, sizeof r->err);
}

static const char *trace_path(const char *name)
{
	static char buf[512];
	snprintf(buf, sizeof buf, "%s/cli_info_%d_%s.strand", STRAND_BINARY_DIR, (int)getpid(),
		 name);
	return buf;
}

static void write_sample(const char *path, strand_arch arch)
{
	struct sample s;
	sample_build(&s, arch);
	strand_error err;
	cr_assert_eq(sample_write(&s, path, 0, &err), STRAND_OK, "%s", err.msg);
}

#define HAS(buf, s) cr_assert(strstr((buf), (s)), "output lacks '%s':\n%s", (s), (buf))

Test(cli_info, json_has_the_golden_fields_when_x86_64)
{
	const char *p = trace_path("info64");
	write_sample(p, STRAND_ARCH_X86_64);
	struct run r;
	char args[600];
	snprintf(args, sizeof args, "info --json %s", p);
	run_cli(&r, args);
	cr_assert_eq(r.rc, 0, "rc=%d stderr=%s", r.rc, r.err);
	HAS(r.out, "\"format\": \"1.0\"");
	HAS(r.out, "\"arch\": \"x86-64\"");
	HAS(r.out, "\"abi\": \"linux\"");
	HAS(r.out, "\"recorder\": \"strand-test\"");
	HAS(r.out, "\"recorder_version\": \"0.1.0\"");
	HAS(r.out, "\"created\": \"2025-11-24T16:00:00Z\"");
	HAS(r.out, "\"instructions\": 100");
	HAS(r.out, "\"records\": 19");
	HAS(r.out, "\"chunks\": 3");
	HAS(r.out, "\"complete\": true");
	HAS(r.out, "\"truncated\": false");
	HAS(r.out, "\"name\": \"app\"");
	HAS(r.out, "\"base\": \"0x555555554000\"");
	HAS(r.out, "\"symbols\": 3");
	HAS(r.out, "\"main\": true");
	HAS(r.out, "\"name\": \"libssl.so.3\"");
	HAS(r.out, "\"position\": 50");
	HAS(r.out, "\"tid\": 2");
	HAS(r.out, "\"syscall\": 1");
	HAS(r.out, "\"keyframe\": 1");
	HAS(r.out, "\"module\": 3");
	HAS(r.out, "\"compression_ratio\": ");
	cr_assert_str_empty(r.err);
	unlink(p);
}

Test(cli_info, text_names_arch_modules_threads_and_events_when_x86_32)
{
	const char *p = trace_path("info32");
	write_sample(p, STRAND_ARCH_X86_32);
	struct run r;
	char args[600];
	snprintf(args, sizeof args, "info %s", p);
	run_cli(&r, args);
	cr_assert_eq(r.rc, 0, "rc=%d stderr=%s", r.rc, r.err);
	HAS(r.out, "arch:         x86-32");
	HAS(r.out, "abi:          windows-nt");
	HAS(r.out, "recorder:     strand-test 0.1.0");
	HAS(r.out, "instructions: 100");
	HAS(r.out, "modules (3):");
	HAS(r.out, "app.exe");
	HAS(r.out, "ntdll.dll");
	HAS(r.out, "threads (2):");
	HAS(r.out, "created at 21");
	HAS(r.out, "  syscall        1\n");
	HAS(r.out, "ratio ");
	unlink(p);
}

Test(cli_info, truncated_trace_prints_a_warning_and_succeeds)
{
	const char *p = trace_path("trunc");
	write_sample(p, STRAND_ARCH_X86_64);
	cr_assert_eq(truncate(p, 2000), 0);
	struct run r;
	char args[600];
	snprintf(args, sizeof args, "info --json %s", p);
	run_cli(&r, args);
	cr_assert_eq(r.rc, 0, "rc=%d stderr=%s", r.rc, r.err);
	HAS(r.err, "warning");
	HAS(r.err, "truncated");
	HAS(r.out, "\"truncated\": true");
	HAS(r.out, "\"complete\": false");
	HAS(r.out, "\"warning\": \"trace is truncated");
	snprintf(args, sizeof args, "verify %s", p);
	run_cli(&r, args);
	cr_assert_eq(r.rc, 1);
	HAS(r.err, "strand verify: ");
	HAS(r.err, "trace is truncated: no footer");
	HAS(r.err, "complete chunks readable, ending at offset=");
	unlink(p);
}

Test(cli_verify, intact_trace_is_ok)
{
	const char *p = trace_path("ok");
	write_sample(p, STRAND_ARCH_X86_64);
	struct run r;
	char args[600];
	snprintf(args, sizeof args, "verify %s", p);
	run_cli(&r, args);
	cr_assert_eq(r.rc, 0, "rc=%d stderr=%s", r.rc, r.err);
	HAS(r.out, "ok: ");
	HAS(r.out, "19 records in 3 chunks, 100 instructions");
	snprintf(args, sizeof args, "verify --json %s", p);
	run_cli(&r, args);
	cr_assert_eq(r.rc, 0);
	HAS(r.out, "{\"ok\":true,");
	HAS(r.out, "\"records\":19");
	unlink(p);
}

Test(cli_verify, corrupted_copy_fails_with_a_located_error)
{
	const char *p = trace_path("flip");
	write_sample(p, STRAND_ARCH_X86_64);
	FILE *f = fopen(p, "r+b");
	cr_assert_not_null(f);
	fseek(f, 128 + 56 + 100, SEEK_SET); /* inside chunk 0's payload */
	int c = fgetc(f);
	fseek(f, 128 + 56 + 100, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
	struct run r;
	char args[600];
	snprintf(args, sizeof args, "verify %s", p);
	run_cli(&r, args);
	cr_assert_eq(r.rc, 1);
	HAS(r.err, "chunk 0 at offset=128: payload checksum mismatch (expected 0x");
	cr_assert_str_empty(r.out);
	snprintf(args, sizeof args, "verify --json %s", p);
	run_cli(&r, args);
	cr_assert_eq(r.rc, 1);
	HAS(r.out, "{\"error\":{\"command\":\"verify\",\"status\":\"corrupt trace\"");
	HAS(r.out, "payload checksum mismatch");
	unlink(p);
}

Test(cli_verify, usage_errors_exit_2)
{
	struct run r;
	run_cli(&r, "verify");
	cr_assert_eq(r.rc, 2);
	HAS(r.err, "missing TRACE");
	run_cli(&r, "info --bogus x");
	cr_assert_eq(r.rc, 2);
	HAS(r.err, "unknown option '--bogus'");
	run_cli(&r, "info /nonexistent/trace.strand");
	cr_assert_eq(r.rc, 1);
	HAS(r.err, "cannot open /nonexistent/trace.strand");
}

Test(cli_info, ordinal_trace_reports_no_instruction_count)
{
	struct sample s;
	sample_build(&s, STRAND_ARCH_X86_64);
	s.info.flags = STRAND_TRACE_F_ORDINAL_POSITIONS;
	uint64_t nc = 0;
	for (size_t i = 7; i < s.n; i++) {
		s.recs[i].position = nc;
		nc += strand_rec_is_consuming(s.recs[i].type);
	}
	const char *p = trace_path("ordinal");
	strand_error err;
	cr_assert_eq(sample_write(&s, p, 0, &err), STRAND_OK, "%s", err.msg);
	struct run r;
	char args[600];
	snprintf(args, sizeof args, "info --json %s", p);
	run_cli(&r, args);
	cr_assert_eq(r.rc, 0, "rc=%d stderr=%s", r.rc, r.err);
	HAS(r.out, "\"flags\": [\n    \"ordinal-positions\"\n  ]");
	HAS(r.out, "\"instructions\": null");
	HAS(r.out, "\"last_position\": 2");
	snprintf(args, sizeof args, "info %s", p);
	run_cli(&r, args);
	HAS(r.out, "instructions: not counted (ordinal positions");
	unlink(p);
}

Test(cli_info, damaged_chunk_still_describes_the_trace_with_a_warning)
{
	const char *p = trace_path("damaged");
	write_sample(p, STRAND_ARCH_X86_64);
	FILE *f = fopen(p, "r+b");
	cr_assert_not_null(f);
	fseek(f, 128 + 56 + 100, SEEK_SET); /* chunk 0 (the snapshot) */
	int c = fgetc(f);
	fseek(f, 128 + 56 + 100, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
	struct run r;
	char args[600];
	snprintf(args, sizeof args, "info --json %s", p);
	run_cli(&r, args);
	cr_assert_eq(r.rc, 0, "rc=%d stderr=%s", r.rc, r.err);
	HAS(r.err, "warning");
	HAS(r.err, "chunk 0 at offset=128: payload checksum mismatch");
	HAS(r.out, "\"read_error\": \"chunk 0 at offset=128: payload checksum mismatch");
	HAS(r.out, "\"instructions\": 100");
	HAS(r.out, "\"modules\": []");
	unlink(p);
}
