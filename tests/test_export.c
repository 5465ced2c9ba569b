/* strand export: each format checked against its format's documentation
 * by a parser of the format (tests/export/check_*.py): perfetto against
 * the Trace Event Format (phases, fields, B/E nesting, flows inside
 * slices), tenet against Tenet's line grammar and register set, jsonl
 * against the fields docs/analyses.md gives each event type.  On the
 * synthetic Linux trace (x86-64) and on a Windows fixture (x86-32). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test_analysis_app.h"

static char *run(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s", cmd);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	int st = pclose(p);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return buf;
}

struct tmp {
	char dir[64];
	char *trace, *out;
};

static void app_trace(struct tmp *t)
{
	strcpy(t->dir, "/tmp/strand-export-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	cr_assert(asprintf(&t->trace, "%s/app-enoent.strand", t->dir) > 0);
	cr_assert(asprintf(&t->out, "%s/out", t->dir) > 0);
	write_app_trace(t->trace, false);
}

static void fixture(struct tmp *t, const char *name)
{
	strcpy(t->dir, "/tmp/strand-export-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	cr_assert(asprintf(&t->trace, "%s/tests/traces/%s.strand", STRAND_SOURCE_DIR, name) > 0);
	cr_assert(asprintf(&t->out, "%s/out", t->dir) > 0);
	struct stat sb;
	if (stat(t->trace, &sb) != 0)
		cr_skip_test("fixture %s not recorded", name);
}

static void tmp_drop(struct tmp *t, bool own_trace)
{
	unlink(t->out);
	if (own_trace)
		unlink(t->trace);
	rmdir(t->dir);
	free(t->trace);
	free(t->out);
}

/* strand export ARGS -o OUT TRACE; returns the exit status, output in *log. */
static int export(struct tmp *t, const char *args, char **log)
{
	char *cmd = NULL;
	cr_assert(asprintf(&cmd, "%s export -q %s -o %s %s 2>&1", STRAND_CLI, args, t->out, t->trace) > 0);
	int st;
	*log = run(cmd, &st);
	free(cmd);
	return st;
}

/* python3 tests/export/CHECKER OUT ARGS must pass. */
static void check(struct tmp *t, const char *checker, const char *args)
{
	char *cmd = NULL;
	cr_assert(asprintf(&cmd, "python3 %s/tests/export/%s %s %s 2>&1", STRAND_SOURCE_DIR, checker,
			   t->out, args ? args : "") > 0);
	int st;
	char *out = run(cmd, &st);
	cr_assert_eq(st, 0, "%s rejects the export:\n%s", checker, out);
	free(out);
	free(cmd);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	fclose(f);
	return buf;
}

Test(export, perfetto_is_a_valid_trace_event_file_with_the_chain)
{
	struct tmp t;
	app_trace(&t);
	char *log;
	cr_assert_eq(export(&t, "--format perfetto", &log), 0, "%s", log);
	check(&t, "check_trace_events.py", "--expect-flow");
	char *s = slurp(t.out);
	cr_assert(strstr(s, "\"name\":\"openat\""), "syscalls as instant events: %s", s);
	cr_assert(strstr(s, "\"cat\":\"failure\""), "the failed openat is a failure event");
	cr_assert(strstr(s, "\"object\":\"/etc/app.conf\""), "syscall arguments");
	cr_assert(strstr(s, "\"name\":\"app!to_exit_code\""), "calls as slices");
	cr_assert(strstr(s, "\"name\":\"thread_name\""), "threads as named tracks");
	free(s);
	free(log);
	tmp_drop(&t, true);
}

Test(export, perfetto_is_bounded_by_range_and_max_events)
{
	struct tmp t;
	fixture(&t, "httpssl-nodevice");
	char *log;
	cr_assert_eq(export(&t, "--format perfetto --from 30000 --to 34000 --max-events 50", &log), 0,
		     "%s", log);
	check(&t, "check_trace_events.py", "--max-events 50");
	char *s = slurp(t.out);
	cr_assert(strstr(s, "\"truncated\":true"), "the bound is said");
	free(s);
	free(log);
	/* the whole fixture, with the chain from NtCreateFile */
	cr_assert_eq(export(&t, "--format perfetto", &log), 0, "%s", log);
	check(&t, "check_trace_events.py", "--expect-flow");
	s = slurp(t.out);
	cr_assert(strstr(s, "\"where\":\"kernel: NtCreateFile\""), "chain origin");
	free(s);
	free(log);
	tmp_drop(&t, false);
}

Test(export, tenet_lines_follow_tenets_grammar)
{
	struct tmp t;
	app_trace(&t);
	char *log;
	cr_assert_eq(export(&t, "--format tenet", &log), 0, "%s", log);
	check(&t, "check_tenet.py", "amd64");
	char *s = slurp(t.out);
	cr_assert(strstr(s, ",mr=0x"), "memory reads (the exit-code table lookup): %s", s);
	cr_assert(strstr(s, "rip=0x401"), "%s", s);
	free(s);
	free(log);
	tmp_drop(&t, true);

	fixture(&t, "httpssl-nodevice");
	cr_assert_eq(export(&t, "--format tenet --from 32100 --to 32300", &log), 0, "%s", log);
	check(&t, "check_tenet.py", "x86");
	s = slurp(t.out);
	size_t lines = 0;
	for (const char *p = s; *p; p++)
		lines += *p == '\n';
	cr_assert(lines > 100 && lines <= 200, "one line per instruction of the range: %zu", lines);
	cr_assert(strstr(s, ",mw=0x"), "memory writes");
	free(s);
	free(log);
	/* a thread that does not run there */
	cr_assert_eq(export(&t, "--format tenet --from 32100 --to 32300 --tid 1", &log), 1, "%s", log);
	cr_assert(strstr(log, "tid=1"), "%s", log);
	free(log);
	tmp_drop(&t, false);
}

Test(export, jsonl_events_have_the_documented_fields)
{
	struct tmp t;
	app_trace(&t);
	char *log;
	cr_assert_eq(export(&t, "--format jsonl", &log), 0, "%s", log);
	check(&t, "check_jsonl.py", NULL);
	char *s = slurp(t.out);
	cr_assert(strstr(s, "\"type\":\"syscall\""), "%s", s);
	cr_assert(strstr(s, "\"object\":\"/etc/app.conf\""), "%s", s);
	cr_assert(strstr(s, "\"failed\":true"), "%s", s);
	cr_assert(strstr(s, "\"type\":\"module\""), "%s", s);
	cr_assert(strstr(s, "\"type\":\"thread\""), "%s", s);
	free(s);
	free(log);
	tmp_drop(&t, true);

	fixture(&t, "httpssl-nodevice");
	cr_assert_eq(export(&t, "--format jsonl --from 30000 --to 40000", &log), 0, "%s", log);
	check(&t, "check_jsonl.py", "--from 30000 --to 40000");
	s = slurp(t.out);
	cr_assert(strstr(s, "\"name\":\"NtCreateFile\""), "%s", s);
	free(s);
	free(log);
	cr_assert_eq(export(&t, "--format jsonl --max-events 5", &log), 0, "%s", log);
	check(&t, "check_jsonl.py", "--max-events 5");
	free(log);
	tmp_drop(&t, false);
}

Test(export, usage_errors)
{
	struct tmp t;
	app_trace(&t);
	char *log;
	cr_assert_eq(export(&t, "--format svg", &log), 2, "%s", log);
	cr_assert(strstr(log, "unknown format 'svg'"), "%s", log);
	free(log);
	cr_assert_eq(export(&t, "--format tenet --from 30 --to 10", &log), 2, "%s", log);
	free(log);
	cr_assert_eq(export(&t, "--format jsonl --from 12x", &log), 2, "%s", log);
	free(log);
	cr_assert_eq(export(&t, "--format jsonl --from 100000", &log), 1, "%s", log);
	cr_assert(strstr(log, "past the end"), "%s", log);
	free(log);
	tmp_drop(&t, true);
}
