/* strand report: golden outputs in every format (synthetic Linux trace and
 * the HTTP SSL fixtures), JSON validated against docs/report-schema.json,
 * the case's findings on each fixture, the genericity test, the example
 * external plugin, and usage errors.
 *
 * Goldens live in tests/golden/NAME.{txt,md,digest.json,html}.  After an
 * intended change of the report, regenerate them with
 *     STRAND_UPDATE_GOLDEN=1 ./test_report
 * and review the diff. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strand/analysis.h"
#include "tests/test_analysis_app.h"

static const char *const fmts[] = { "text", "markdown", "json", "html" };
static const char *const exts[] = { "txt", "md", "json", "html" };

/* Run a shell command; returns its stdout (owned) and exit status. */
static char *run(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s", cmd);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	char chunk[65536];
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

static char *report(const char *trace, const char *fmt, const char *extra, int *status)
{
	char *cmd = NULL;
	cr_assert(asprintf(&cmd, "%s report -q --format %s %s %s", STRAND_CLI, fmt,
			   extra ? extra : "", trace) > 0);
	char *out = run(cmd, status);
	free(cmd);
	return out;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	cr_assert_not_null(b);
	cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = 0;
	fclose(f);
	return b;
}

/* Compare `got` with tests/golden/NAME.EXT (or write it). */
static void golden(const char *name, const char *ext, const char *got)
{
	char *path = NULL;
	cr_assert(asprintf(&path, "%s/tests/golden/%s.%s", STRAND_SOURCE_DIR, name, ext) > 0);
	if (getenv("STRAND_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "wb");
		cr_assert_not_null(f, "cannot write %s", path);
		fputs(got, f);
		fclose(f);
	} else {
		char *want = slurp(path);
		cr_assert_not_null(want, "golden %s is missing (STRAND_UPDATE_GOLDEN=1 writes it)", path);
		if (strcmp(want, got)) {
			char *tmp = NULL;
			cr_assert(asprintf(&tmp, "/tmp/strand-golden-%s.%s", name, ext) > 0);
			FILE *f = fopen(tmp, "wb");
			if (f) {
				fputs(got, f);
				fclose(f);
			}
			cr_assert_fail("report differs from %s (got: %s; diff them)", path, tmp);
		}
		free(want);
	}
	free(path);
}

/* Validate a JSON report with tests/golden/check_schema.py. */
static void check_schema(const char *json)
{
	char tmp[] = "/tmp/strand-report-json-XXXXXX";
	int fd = mkstemp(tmp);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	char *cmd = NULL;
	cr_assert(asprintf(&cmd, "python3 %s/tests/golden/check_schema.py %s/docs/report-schema.json %s 2>&1",
			   STRAND_SOURCE_DIR, STRAND_SOURCE_DIR, tmp) > 0);
	int st;
	char *out = run(cmd, &st);
	cr_assert_eq(st, 0, "JSON report does not match docs/report-schema.json:\n%s", out);
	free(out);
	free(cmd);
	unlink(tmp);
}

/* The digest of a JSON report (owned). */
static char *digest(const char *json)
{
	char tmp[] = "/tmp/strand-report-digest-XXXXXX";
	int fd = mkstemp(tmp);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	char *cmd = NULL;
	cr_assert(asprintf(&cmd, "python3 %s/tests/golden/digest.py < %s", STRAND_SOURCE_DIR, tmp) > 0);
	int st;
	char *out = run(cmd, &st);
	cr_assert_eq(st, 0, "digest.py failed:\n%s", out);
	free(cmd);
	unlink(tmp);
	return out;
}

/* Every format against its golden (JSON: its digest), JSON against the schema. */
static void goldens_for(const char *trace, const char *name)
{
	for (size_t i = 0; i < 4; i++) {
		int st;
		char *out = report(trace, fmts[i], NULL, &st);
		cr_assert_eq(st, 0, "report --format %s failed", fmts[i]);
		if (!strcmp(fmts[i], "json")) {
			/* the whole JSON is checked against the schema; the golden
			 * is its digest (tests/golden/digest.py), small enough to
			 * review */
			check_schema(out);
			char *dg = digest(out);
			golden(name, "digest.json", dg);
			free(dg);
		} else {
			golden(name, exts[i], out);
		}
		free(out);
	}
}

static char *synthetic(bool healthy, char dir[static 64])
{
	strcpy(dir, "/tmp/strand-report-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	char *path = NULL;
	cr_assert(asprintf(&path, "%s/%s.strand", dir, healthy ? "app-ok" : "app-enoent") > 0);
	write_app_trace(path, healthy);
	return path;
}

static void synthetic_drop(char *path, const char *dir)
{
	unlink(path);
	rmdir(dir);
	free(path);
}

/* A fixture of tests/traces (skips the test if it was not recorded). */
static char *fixture(const char *name)
{
	char *p = NULL;
	cr_assert(asprintf(&p, "%s/tests/traces/%s.strand", STRAND_SOURCE_DIR, name) > 0);
	struct stat sb;
	if (stat(p, &sb) != 0) {
		free(p);
		cr_skip_test("fixture %s.strand not recorded yet (tests/traces/regen.sh)", name);
	}
	return p;
}

Test(report, golden_outputs_on_synthetic_linux_failure)
{
	char dir[64];
	char *t = synthetic(false, dir);
	goldens_for(t, "app-enoent");
	synthetic_drop(t, dir);
}

Test(report, golden_outputs_on_synthetic_linux_healthy)
{
	char dir[64];
	char *t = synthetic(true, dir);
	goldens_for(t, "app-ok");
	int st;
	char *out = report(t, "text", NULL, &st);
	cr_assert(strstr(out, "verdict: no_failure_found"), "%s", out);
	free(out);
	synthetic_drop(t, dir);
}

Test(report, html_is_self_contained_with_a_timeline)
{
	char dir[64];
	char *t = synthetic(false, dir);
	int st;
	char *out = report(t, "html", NULL, &st);
	cr_assert_eq(st, 0);
	cr_assert(strstr(out, "<svg"), "no timeline picture");
	cr_assert(strstr(out, "class=\"mark cause\""), "root cause not marked");
	cr_assert_null(strstr(out, "src=\"http"), "external resource");
	cr_assert_null(strstr(out, "<script"), "scripts");
	free(out);
	synthetic_drop(t, dir);
}

Test(report, external_plugin_is_loaded_and_reported)
{
	char dir[64];
	char *t = synthetic(false, dir);
	char *extra = NULL;
	cr_assert(asprintf(&extra, "--plugin %s/strand-example-plugin.so:top=2", STRAND_BINARY_DIR) > 0);
	int st;
	char *out = report(t, "json", extra, &st);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "\"hotblocks\""), "%s", out);
	cr_assert(strstr(out, "\"distinct_blocks\": 12"), "%s", out);
	check_schema(out);
	free(out);
	free(extra);
	/* a bad option of the plugin fails the load */
	cr_assert(asprintf(&extra, "--plugin %s/strand-example-plugin.so:top=0 2>&1", STRAND_BINARY_DIR) > 0);
	out = report(t, "text", extra, &st);
	cr_assert_eq(st, 1);
	cr_assert(strstr(out, "option top: must be 1..1000"), "%s", out);
	free(out);
	free(extra);
	synthetic_drop(t, dir);
}

Test(report, usage_errors_exit_2)
{
	int st;
	char *out = report("/nonexistent.strand", "yaml", "2>&1", &st);
	cr_assert_eq(st, 2);
	cr_assert(strstr(out, "unknown format 'yaml'"), "%s", out);
	free(out);
	out = report("/nonexistent.strand", "text", "2>&1", &st);
	cr_assert_eq(st, 1);
	cr_assert(strstr(out, "strand report: "), "%s", out);
	free(out);
}

/* ------------------------------------------------------- the fixtures */

static const struct strand_rnode *get(const struct strand_rnode *n, const char *p)
{
	const struct strand_rnode *x = strand_rnode_get(n, p);
	cr_assert_not_null(x, "report has no %s", p);
	return x;
}

static struct strand_result *build(const char *trace)
{
	struct strand_result *res = strand_result_new();
	strand_error err;
	cr_assert_eq(strand_report_build(trace, NULL, res, &err), STRAND_OK, "%s", err.msg);
	return res;
}

static bool stack_has(const struct strand_rnode *stack, const char *needle)
{
	for (const struct strand_rnode *f = stack ? stack->first : NULL; f; f = f->next)
		if (strstr(strand_rnode_str(f, "symbol", ""), needle))
			return true;
	return false;
}

static bool chain_to(const struct strand_rnode *root, const char *kind, uint64_t value)
{
	const struct strand_rnode *p = strand_rnode_get(root, "propagation");
	for (const struct strand_rnode *c = p ? p->first : NULL; c; c = c->next)
		if (!strcmp(strand_rnode_str(c, "to_symptom", ""), kind) &&
		    strand_rnode_u64(c, "symptom_value", 0) == value)
			return true;
	return false;
}

Test(report, httpssl_nodevice_names_the_seed_cause, .timeout = 600)
{
	char *t = fixture("httpssl-nodevice");
	struct strand_result *res = build(t);
	const struct strand_rnode *r = strand_result_root(res);
	cr_assert_str_eq(strand_rnode_str(r, "verdict", ""), "failure");
	const struct strand_rnode *rc = get(r, "root_cause");
	cr_assert_str_eq(strand_rnode_str(rc, "syscall", ""), "NtCreateFile");
	cr_assert(strstr(strand_rnode_str(rc, "object", ""), "\\Device\\Http\\"));
	cr_assert_eq(strand_rnode_u64(rc, "status", 0), 0xC000000E);
	cr_assert_str_eq(strand_rnode_str(rc, "status_name", ""), "STATUS_NO_SUCH_DEVICE");
	cr_assert_str_eq(strand_rnode_str(rc, "status_message", ""),
			 "A device which does not exist was specified.");
	cr_assert(strstr(strand_rnode_str(rc, "found_by", ""), "data flow"));
	cr_assert_str_eq(strand_rnode_str(rc, "api_call.function", ""), "HttpInitialize");
	const struct strand_rnode *stack = get(rc, "stack");
	static const char *const mods[] = { "ntdll", "httpapi", "strmfilt", "w3ssl", "lsass" };
	for (size_t i = 0; i < 5; i++)
		cr_assert(stack_has(stack, mods[i]), "stack lacks %s", mods[i]);
	cr_assert(chain_to(r, "error_log", 0x80070002), "no chain to the hr in the debug line");
	cr_assert(chain_to(r, "service_stop", 0x80070002), "no chain to the service stop code");
	/* benign failures are listed as not the cause */
	const struct strand_rnode *of = get(r, "other_failures");
	cr_assert_geq(of->nchildren, 3);
	bool retried = false;
	for (const struct strand_rnode *o = of->first; o; o = o->next)
		retried = retried || !strcmp(strand_rnode_str(o, "reason", ""), "retried");
	cr_assert(retried, "the retried NtOpenEvent is not recognised");
	cr_assert_geq(get(r, "hints")->nchildren, 1);
	cr_assert(strstr(strand_rnode_str(get(r, "hints")->first, "text", ""), "w3wp.exe"));
	strand_result_free(res);
	goldens_for(t, "httpssl-nodevice");
	free(t);
}

Test(report, httpssl_ok_is_healthy, .timeout = 600)
{
	char *t = fixture("httpssl-ok");
	struct strand_result *res = build(t);
	const struct strand_rnode *r = strand_result_root(res);
	cr_assert_str_eq(strand_rnode_str(r, "verdict", ""), "no_failure_found");
	cr_assert_null(strand_rnode_get(r, "root_cause"));
	cr_assert_geq(get(r, "other_failures")->nchildren, 1);
	strand_result_free(res);
	goldens_for(t, "httpssl-ok");
	free(t);
}

Test(report, httpssl_accessdenied_names_its_own_cause, .timeout = 600)
{
	char *t = fixture("httpssl-accessdenied");
	struct strand_result *res = build(t);
	const struct strand_rnode *r = strand_result_root(res);
	cr_assert_str_eq(strand_rnode_str(r, "verdict", ""), "failure");
	cr_assert_str_eq(strand_rnode_str(r, "root_cause.status_name", ""), "STATUS_ACCESS_DENIED");
	cr_assert_str_eq(strand_rnode_str(r, "root_cause.syscall", ""), "NtCreateFile");
	cr_assert(chain_to(r, "service_stop", 0x80070005));
	strand_result_free(res);
	goldens_for(t, "httpssl-accessdenied");
	free(t);
}

/* Genericity: the same failure through another executable, service,
 * API function, device and stop-code shape. */
Test(report, httpssl_altpath_same_failure_other_path, .timeout = 600)
{
	char *t = fixture("httpssl-altpath");
	struct strand_result *res = build(t);
	const struct strand_rnode *r = strand_result_root(res);
	cr_assert_str_eq(strand_rnode_str(r, "verdict", ""), "failure");
	const struct strand_rnode *rc = get(r, "root_cause");
	cr_assert_eq(strand_rnode_u64(rc, "status", 0), 0xC000000E);
	cr_assert(strstr(strand_rnode_str(rc, "object", ""), "\\Device\\Http\\AppPool"));
	cr_assert_str_eq(strand_rnode_str(rc, "api_call.function", ""), "HttpCreateHttpHandle");
	cr_assert(strstr(strand_rnode_str(rc, "found_by", ""), "data flow"));
	cr_assert(stack_has(get(rc, "stack"), "iisw3adm"));
	cr_assert(chain_to(r, "service_stop", 2));
	strand_result_free(res);
	goldens_for(t, "httpssl-altpath");
	free(t);
}

/* A fixture whose cause is another kernel call inside another API. */
Test(report, httpssl_nopool_names_the_failing_ioctl, .timeout = 600)
{
	char *t = fixture("httpssl-nopool");
	struct strand_result *res = build(t);
	const struct strand_rnode *r = strand_result_root(res);
	cr_assert_str_eq(strand_rnode_str(r, "verdict", ""), "failure");
	const struct strand_rnode *rc = get(r, "root_cause");
	cr_assert_str_eq(strand_rnode_str(rc, "syscall", ""), "NtDeviceIoControlFile");
	cr_assert_str_eq(strand_rnode_str(rc, "object", ""), "\\Device\\Http\\Control");
	cr_assert_str_eq(strand_rnode_str(rc, "status_name", ""), "STATUS_INSUFFICIENT_RESOURCES");
	cr_assert_str_eq(strand_rnode_str(rc, "api_call.function", ""), "HttpQueryServiceConfiguration");
	cr_assert(strstr(strand_rnode_str(rc, "found_by", ""), "data flow"));
	cr_assert(chain_to(r, "service_stop", 0x800705AA));
	strand_result_free(res);
	goldens_for(t, "httpssl-nopool");
	free(t);
}

/* A Linux process recorded with strand record (ptrace): the failing
 * syscall, errno and stack with ELF symbols, found by data flow from the
 * error message on stderr. */
Test(report, linux_cat_missing_file_found_by_data_flow, .timeout = 900)
{
	char dir[] = "/tmp/strand-report-linux-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *cmd = NULL, *trace = NULL;
	cr_assert(asprintf(&trace, "%s/cat.strand", dir) > 0);
	cr_assert(asprintf(&cmd, "cd %s && %s record -q -o %s -- /bin/cat /nonexistent-strand-file 2>&1",
			   dir, STRAND_CLI, trace) > 0);
	int st;
	char *out = run(cmd, &st);
	struct stat sb;
	if (stat(trace, &sb) != 0) {
		free(out);
		cr_skip_test("strand record cannot trace here: %s", out);
	}
	free(out);
	struct strand_result *res = build(trace);
	const struct strand_rnode *r = strand_result_root(res);
	cr_assert_str_eq(strand_rnode_str(r, "verdict", ""), "failure");
	const struct strand_rnode *rc = get(r, "root_cause");
	cr_assert_str_eq(strand_rnode_str(rc, "object", ""), "/nonexistent-strand-file");
	cr_assert_str_eq(strand_rnode_str(rc, "status_name", ""), "ENOENT");
	cr_assert(strstr(strand_rnode_str(rc, "found_by", ""), "data flow"));
	cr_assert(stack_has(get(rc, "stack"), "libc.so.6"));
	strand_result_free(res);
	unlink(trace);
	rmdir(dir);
	free(trace);
	free(cmd);
}
