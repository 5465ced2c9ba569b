/* Analyses: code tables, result tree and renderers, plugin options,
 * the built-in plugins and the report on a synthetic Linux x86-64 trace
 * (tests/helpers/tracegen), and the external example plugin. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strand/analysis.h"
#include "tests/helpers/tracegen.h"

#include "tests/test_analysis_app.h"

/* Remove a test trace (kept with STRAND_TEST_KEEP=1 for debugging). */
static void drop(char *trace)
{
	if (!getenv("STRAND_TEST_KEEP"))
		unlink(trace);
	free(trace);
}

/* Run one analysis spec on a trace; returns its result (owned). */
static struct strand_result *run1(const char *trace, const char *spec,
				  const struct strand_rnode **out)
{
	struct strand_analysis *a;
	strand_error err;
	cr_assert_eq(strand_analysis_new(trace, NULL, &a, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_analysis_add_spec(a, spec, &err), STRAND_OK, "%s", err.msg);
	struct strand_result *res = strand_result_new();
	cr_assert_eq(strand_analysis_run(a, res, &err), STRAND_OK, "%s", err.msg);
	strand_analysis_free(a);
	const char *colon = strchr(spec, ':');
	char name[64];
	snprintf(name, sizeof name, "%.*s", (int)(colon ? colon - spec : (long)strlen(spec)), spec);
	*out = strand_rnode_get(strand_result_root(res), name);
	cr_assert_not_null(*out);
	return res;
}

/* ------------------------------------------------------------- tables */

Test(analysis, ntstatus_table_names_and_messages)
{
	const struct strand_code *c = strand_ntstatus_lookup(0xC000000E);
	cr_assert_not_null(c);
	cr_assert_str_eq(c->name, "STATUS_NO_SUCH_DEVICE");
	cr_assert_str_eq(c->message, "A device which does not exist was specified.");
	cr_assert_str_eq(strand_ntstatus_lookup(0xC0000022)->name, "STATUS_ACCESS_DENIED");
	cr_assert_str_eq(strand_ntstatus_lookup(0x8000001A)->name, "STATUS_NO_MORE_ENTRIES");
	cr_assert_str_eq(strand_ntstatus_lookup(0)->name, "STATUS_SUCCESS");
	cr_assert_eq(strand_ntstatus_by_name("STATUS_OBJECT_NAME_NOT_FOUND")->value, 0xC0000034u);
	/* every status ntstatus.h defines in 0xC0000001..0xC00000FF is there */
	unsigned n = 0;
	for (uint32_t v = 0xC0000001; v <= 0xC00000FF; v++)
		n += strand_ntstatus_lookup(v) != NULL;
	cr_assert_geq(n, 250);
}

Test(analysis, hresult_from_win32_is_decoded)
{
	char buf[512];
	strand_code_describe(STRAND_CODE_HRESULT, 0x80070002, buf, sizeof buf);
	cr_assert(strstr(buf, "HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND (2))"), "%s", buf);
	cr_assert(strstr(buf, "The system cannot find the file specified."), "%s", buf);
	cr_assert_eq(strand_code_guess(0x80070005), STRAND_CODE_HRESULT);
	cr_assert_eq(strand_code_guess(0xC000000E), STRAND_CODE_NTSTATUS);
	cr_assert_eq(strand_code_guess(1066), STRAND_CODE_WIN32);
	strand_code_describe(STRAND_CODE_WIN32, 1066, buf, sizeof buf);
	cr_assert(strstr(buf, "ERROR_SERVICE_SPECIFIC_ERROR"), "%s", buf);
}

Test(analysis, syscall_names_for_both_abis)
{
	cr_assert_str_eq(strand_syscall_name(STRAND_ABI_WINDOWS_NT, STRAND_ARCH_X86_32, 0x27),
			 "NtCreateFile");
	cr_assert_str_eq(strand_syscall_name(STRAND_ABI_LINUX, STRAND_ARCH_X86_64, 257), "openat");
	cr_assert_null(strand_syscall_name(STRAND_ABI_LINUX, STRAND_ARCH_X86_64, 100000));
	uint32_t n;
	cr_assert(strand_syscall_number(STRAND_ABI_WINDOWS_NT, STRAND_ARCH_X86_32, "NtWriteFile", &n));
	cr_assert_eq(n, 0x11C);
	cr_assert(strand_syscall_failed(STRAND_ABI_LINUX, STRAND_ARCH_X86_64, (uint64_t)-2));
	cr_assert(!strand_syscall_failed(STRAND_ABI_LINUX, STRAND_ARCH_X86_64, 3));
	cr_assert(strand_syscall_failed(STRAND_ABI_WINDOWS_NT, STRAND_ARCH_X86_32, 0xC000000E));
	cr_assert(!strand_syscall_failed(STRAND_ABI_WINDOWS_NT, STRAND_ARCH_X86_32, 0x8000001A));
	char buf[256];
	strand_syscall_result_str(STRAND_ABI_LINUX, STRAND_ARCH_X86_64, (uint64_t)-2, buf, sizeof buf);
	cr_assert_str_eq(buf, "ENOENT (-2): No such file or directory");
}

/* ------------------------------------------------------ tree, renderers */

static struct strand_result *sample_tree(void)
{
	struct strand_result *res = strand_result_new();
	struct strand_rnode *root = strand_result_root(res);
	strand_r_string(root, "verdict", "failure");
	struct strand_rnode *rc = strand_r_object(root, "root_cause");
	strand_r_string(rc, "syscall", "NtCreateFile");
	struct strand_rnode *st = strand_r_hex(rc, "status", 0xC000000E);
	st->flags |= STRAND_RF_ALERT;
	strand_r_position(rc, "position", 1234);
	struct strand_stack s = { .tid = 7, .nframes = 2, .fp_disagree_at = -1 };
	struct strand_frame fr[2] = { { .pc = 0x7c801000, .symbol = "ntdll!KiFastSystemCall+0x2" },
				      { .pc = 0x5a321234, .symbol = "httpapi!HttpInitialize+0x34" } };
	s.frames = fr;
	strand_r_stack(rc, "stack", &s);
	struct strand_rnode *l = strand_r_list(root, "other_failures");
	l->flags |= STRAND_RF_TABLE;
	struct strand_rnode *o = strand_r_object(l, NULL);
	strand_r_string(o, "syscall", "NtQueryValueKey");
	strand_r_string(o, "reason", "handled <&>");
	return res;
}

static char *render_str(struct strand_result *res, strand_render_format f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	strand_error err;
	cr_assert_eq(strand_render(strand_result_root(res), f, "T", m, &err), STRAND_OK);
	fclose(m);
	return buf;
}

Test(analysis, renderers_draw_the_same_tree)
{
	struct strand_result *res = sample_tree();
	char *t = render_str(res, STRAND_RENDER_TEXT);
	cr_assert(strstr(t, "verdict: failure\n"), "%s", t);
	cr_assert(strstr(t, "status: 0xc000000e  <-- FAILED"), "%s", t);
	cr_assert(strstr(t, "#1  0x5a321234  httpapi!HttpInitialize+0x34"), "%s", t);
	char *md = render_str(res, STRAND_RENDER_MARKDOWN);
	cr_assert(strstr(md, "## Root cause"), "%s", md);
	cr_assert(strstr(md, "| syscall | reason |"), "%s", md);
	char *js = render_str(res, STRAND_RENDER_JSON);
	cr_assert(strstr(js, "\"status\": \"0xc000000e\""), "%s", js);
	cr_assert(strstr(js, "\"position\": 1234"), "%s", js);
	char *h = render_str(res, STRAND_RENDER_HTML);
	cr_assert(strstr(h, "<!DOCTYPE html>"));
	cr_assert(strstr(h, "handled &lt;&amp;&gt;"), "%s", h);
	free(t);
	free(md);
	free(js);
	free(h);
	strand_result_free(res);
}

Test(analysis, rnode_paths_find_fields)
{
	struct strand_result *res = sample_tree();
	const struct strand_rnode *root = strand_result_root(res);
	cr_assert_eq(strand_rnode_u64(root, "root_cause.status", 0), 0xC000000E);
	cr_assert_str_eq(strand_rnode_str(root, "root_cause.syscall", "?"), "NtCreateFile");
	cr_assert_null(strand_rnode_get(root, "root_cause.nope"));
	strand_result_free(res);
}

/* -------------------------------------------------------------- plugins */

Test(analysis, bad_option_fails_the_load)
{
	char *trace = make_app_trace("opt", false);
	struct strand_analysis *a;
	strand_error err;
	cr_assert_eq(strand_analysis_new(trace, NULL, &a, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_analysis_add_spec(a, "syscalls:bogus=1", &err), STRAND_ERR_INVALID);
	cr_assert(strstr(err.msg, "unknown option 'bogus'"), "%s", err.msg);
	cr_assert_eq(strand_analysis_add_spec(a, "calls", &err), STRAND_ERR_INVALID);
	cr_assert(strstr(err.msg, "func is required"), "%s", err.msg);
	cr_assert_eq(strand_analysis_add_spec(a, "calls:func=main,conv=stdcall", &err),
		     STRAND_ERR_INVALID);
	cr_assert_eq(strand_analysis_add_spec(a, "memhist:addr=zz", &err), STRAND_ERR_INVALID);
	cr_assert_eq(strand_analysis_add_spec(a, "nosuch", &err), STRAND_ERR_INVALID);
	strand_analysis_free(a);
	drop(trace);
}

/* A plugin whose init asks for an observer with no callback: the
 * registration fails, so the load must fail and leave no observer. */
static unsigned blind_calls;
static void blind_block(struct strand_replay *r, void *ud, uint64_t pos, uint64_t pc,
			uint32_t size)
{
	blind_calls++;
}
static strand_status blind_init(struct strand_analysis *a, const struct strand_plugin_args *args,
				void **state, strand_error *err)
{
	struct strand_replay *r = strand_analysis_replay(a);
	strand_replay_on_block(r, blind_block, NULL); /* would count, if it stayed */
	strand_replay_on_insn(r, NULL, NULL);         /* refused: no callback */
	*state = NULL;
	return STRAND_OK;
}
static const struct strand_plugin blind_plugin = {
	STRAND_PLUGIN_ABI_VERSION, "blind", "registers an observer that cannot be", NULL,
	blind_init, NULL, NULL,
};

Test(analysis, failed_observer_registration_fails_the_load_and_leaves_nothing)
{
	char *trace = make_app_trace("blind", false);
	struct strand_analysis *a;
	strand_error err = { 0 };
	cr_assert_eq(strand_analysis_new(trace, NULL, &a, &err), STRAND_OK, "%s", err.msg);
	cr_assert_lt(strand_analysis_add(a, &blind_plugin, NULL, &err), 0);
	cr_assert(strstr(err.msg, "observer could not be registered"), "%s", err.msg);
	cr_assert_eq(strand_analysis_add_spec(a, "syscalls", &err), STRAND_OK, "%s", err.msg);
	struct strand_result *res = strand_result_new();
	cr_assert_eq(strand_analysis_run(a, res, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(blind_calls, 0, "the failed plugin's observers were left registered");
	strand_result_free(res);
	strand_analysis_free(a);
	drop(trace);
}

Test(analysis, syscalls_decode_paths_and_errno)
{
	char *trace = make_app_trace("sys", false);
	const struct strand_rnode *sc;
	struct strand_result *res = run1(trace, "syscalls", &sc);
	cr_assert_eq(strand_rnode_u64(sc, "failed", 0), 2);
	const struct strand_rnode *first = strand_rnode_get(sc, "calls")->first;
	cr_assert_str_eq(strand_rnode_str(first, "name", ""), "openat");
	cr_assert_str_eq(strand_rnode_str(first, "object", ""), "/etc/app.local");
	cr_assert_str_eq(strand_rnode_str(first, "status", ""), "ENOENT (-2): No such file or directory");
	const struct strand_rnode *stack = strand_rnode_get(first, "stack");
	cr_assert_not_null(stack);
	cr_assert_str_eq(strand_rnode_str(stack->first, "symbol", ""), "app!try_optional+0x17");
	cr_assert_str_eq(strand_rnode_str(stack->first->next, "symbol", ""), "app!main+0x9");
	cr_assert_str_eq(strand_rnode_str(stack->first->next->next, "symbol", ""), "app!_start+0x5");
	strand_result_free(res);
	drop(trace);
}

Test(analysis, calls_lists_arguments_and_return_value)
{
	char *trace = make_app_trace("calls", false);
	const struct strand_rnode *c;
	struct strand_result *res = run1(trace, "calls:func=app!to_exit_code,nargs=1", &c);
	cr_assert_eq(strand_rnode_u64(c, "count", 0), 1);
	const struct strand_rnode *e = strand_rnode_get(c, "calls")->first;
	cr_assert_eq(strand_rnode_u64(e, "tid", 0), 42);
	cr_assert_eq(strand_rnode_u64(e, "return_value", 0), 66);
	cr_assert_gt(strand_rnode_u64(e, "return_position", 0), strand_rnode_u64(e, "call_position", ~0ull));
	cr_assert_str_eq(strand_rnode_str(e, "caller_symbol", ""), "app!main+0x1f");
	strand_result_free(res);
	drop(trace);
}

Test(analysis, callstack_at_a_position)
{
	char *trace = make_app_trace("cs", false);
	struct strand_stack *s = NULL;
	strand_error err;
	/* find where open_config's syscall is, through the syscalls plugin */
	const struct strand_rnode *sc;
	struct strand_result *res = run1(trace, "syscalls", &sc);
	uint64_t pos = strand_rnode_u64(strand_rnode_get(sc, "calls")->first->next, "position", 0);
	cr_assert_eq(strand_callstack_at(trace, pos, 0, &s, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(s->nframes, 3);
	cr_assert_str_eq(s->frames[0].symbol, "app!open_config+0x17");
	cr_assert_str_eq(s->frames[1].symbol, "app!main+0xe");
	cr_assert_eq(s->fp_disagree_at, -1, "%s", s->fp_note);
	strand_stack_free(s);
	strand_result_free(res);
	drop(trace);
}

Test(analysis, memhist_finds_last_write)
{
	char *trace = make_app_trace("mh", false);
	const struct strand_rnode *m;
	struct strand_result *res = run1(trace, "memhist:addr=0x600000,len=4", &m);
	cr_assert_eq(strand_rnode_u64(m, "writes", 0), 1);
	cr_assert_eq(strand_rnode_u64(m, "reads", 0), 1);
	cr_assert_eq(strand_rnode_u64(m, "last_write.value", 0), 2);
	strand_result_free(res);
	drop(trace);
}

Test(analysis, errorflow_follows_exit_status_to_the_failing_syscall)
{
	char *trace = make_app_trace("ef", false);
	const struct strand_rnode *ef;
	struct strand_result *res = run1(trace, "errorflow", &ef);
	const struct strand_rnode *sy = strand_rnode_get(ef, "symptoms")->first;
	cr_assert_not_null(sy);
	cr_assert_str_eq(strand_rnode_str(sy, "kind", ""), "exit_status");
	cr_assert_eq(strand_rnode_u64(sy, "value", 0), 66);
	const struct strand_rnode *o = strand_rnode_get(sy, "chain.origin");
	cr_assert_not_null(o);
	cr_assert_str_eq(strand_rnode_str(o, "syscall", ""), "openat");
	/* the configuration file, not the optional one that failed first */
	cr_assert_str_eq(strand_rnode_str(o, "object", ""), "/etc/app.conf");
	/* the table lookup is in the chain */
	bool table = false;
	for (const struct strand_rnode *s = strand_rnode_get(sy, "chain.steps")->first; s; s = s->next)
		table = table || strstr(strand_rnode_str(s, "what", ""), "constant table");
	cr_assert(table);
	strand_result_free(res);
	drop(trace);
}

Test(analysis, report_names_root_cause_and_benign_failure)
{
	char *trace = make_app_trace("rep", false);
	struct strand_result *res = strand_result_new();
	strand_error err;
	cr_assert_eq(strand_report_build(trace, NULL, res, &err), STRAND_OK, "%s", err.msg);
	const struct strand_rnode *root = strand_result_root(res);
	cr_assert_str_eq(strand_rnode_str(root, "verdict", ""), "failure");
	cr_assert_str_eq(strand_rnode_str(root, "root_cause.status_name", ""), "ENOENT");
	cr_assert_str_eq(strand_rnode_str(root, "root_cause.object", ""), "/etc/app.conf");
	const struct strand_rnode *of = strand_rnode_get(root, "other_failures")->first;
	cr_assert_str_eq(strand_rnode_str(of, "object", ""), "/etc/app.local");
	cr_assert_str_eq(strand_rnode_str(of, "reason", ""), "handled");
	strand_result_free(res);
	drop(trace);
}

Test(analysis, report_on_healthy_trace_says_healthy)
{
	char *trace = make_app_trace("ok", true);
	struct strand_result *res = strand_result_new();
	strand_error err;
	cr_assert_eq(strand_report_build(trace, NULL, res, &err), STRAND_OK, "%s", err.msg);
	const struct strand_rnode *root = strand_result_root(res);
	cr_assert_str_eq(strand_rnode_str(root, "verdict", ""), "no_failure_found");
	cr_assert_null(strand_rnode_get(root, "root_cause"));
	strand_result_free(res);
	drop(trace);
}
