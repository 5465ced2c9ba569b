/*
 * Hostile and damaged traces: a forged fact is a divergence, a trace that
 * proves nothing is not "exact", hangs, crashes, time and memory end with
 * a clear error within the budget, output files never replace a device or
 * follow a symlink, scenario file: data stays in the scenario's directory,
 * strings from a trace are escaped for their sink.
 *
 * Traces are written here with the public writer, record by record, so
 * that each test forges exactly one fact of an otherwise honest trace.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record/winemu/scenario.h"
#include "strand/escape.h"
#include "strand/json.h"
#include "strand/replay.h"
#include "strand/trace.h"

/* ===================================================================== */
/* A small Linux x86-64 trace: write(1, "hi\n", 3); exit(0)               */
/* ===================================================================== */

/* 0x400000 mov eax,1 / mov edi,1 / mov esi,0x400040 / mov edx,3 / syscall
 * (position 4) / mov eax,60 / xor edi,edi / syscall (position 7) / jmp $;
 * the message at 0x400040. */
static const uint8_t code64[] = {
	0xb8, 1, 0, 0, 0, 0xbf, 1, 0, 0, 0, 0xbe, 0x40, 0, 0x40, 0, 0xba, 3, 0, 0, 0,
	0x0f, 0x05, 0xb8, 60, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05, 0xeb, 0xfe,
};

enum forge { F_NONE, F_NUMBER, F_ARG, F_RESULT, F_OUTPUT, F_OUTPUT_NO_WRITE, F_MEMORY,
	     F_OUTPUT_BEHIND /* the OUTPUT at the syscall's own position, which the
				syscall's execution moves past */,
	     F_FAIL /* an honest failing write: EACCES */ };

struct lin {
	enum forge forge;
	bool keyframe;           /* final key frame (from kf below) */
	bool no_exit;            /* no PROCESS_EXIT record */
	const char *module_name; /* default "prog" */
	struct strand_cpu kf_cpu;
	uint64_t kf_digest;
};

static char *tmp(const char *tag)
{
	char *p = NULL;
	cr_assert(asprintf(&p, "/tmp/strand-test-hostile-%s-%d", tag, (int)getpid()) > 0);
	return p;
}

static void put(struct strand_writer *w, const struct strand_record *rec)
{
	strand_error err;
	cr_assert_eq(strand_writer_put(w, rec, &err), STRAND_OK, "%s", err.msg);
}

static void write_linux(const char *path, const struct lin *l)
{
	struct strand_trace_info info = { STRAND_FORMAT_MAJOR, STRAND_FORMAT_MINOR,
		STRAND_ARCH_X86_64, STRAND_ABI_LINUX, 0, 0, "test-hostile", "1" };
	struct strand_writer *w;
	strand_error err;
	cr_assert_eq(strand_writer_open(path, &info, NULL, &w, &err), STRAND_OK, "%s", err.msg);
	static uint8_t img[4096];
	memset(img, 0, sizeof img);
	memcpy(img, code64, sizeof code64);
	memcpy(img + 0x40, "hi\n", 3);
	struct strand_symbol sym = { 0x400000, sizeof code64, STRAND_SYM_FUNC, "start", "" };
	const char *mname = l->module_name ? l->module_name : "prog";
	struct strand_record r = { .type = STRAND_REC_MODULE, .tid = 1 };
	r.u.module = (struct strand_module){ 1, STRAND_MODULE_F_MAIN, 0x400000, 0x1000, 0, 0,
					     mname, mname, 1, &sym };
	put(w, &r);
	r = (struct strand_record){ .type = STRAND_REC_REGION, .tid = 1 };
	r.u.region = (struct strand_mapchange){ STRAND_MAP_MAP, STRAND_PROT_READ | STRAND_PROT_EXEC,
						0x400000, 0x1000, STRAND_REGION_IMAGE, mname, img };
	put(w, &r);
	r.u.region = (struct strand_mapchange){ STRAND_MAP_MAP, STRAND_PROT_READ | STRAND_PROT_WRITE,
						0x600000, 0x1000, STRAND_REGION_STACK, "stack", NULL };
	put(w, &r);
	r = (struct strand_record){ .type = STRAND_REC_THREAD, .tid = 1 };
	r.u.thread.cpu.rip = 0x400000;
	r.u.thread.cpu.gpr[STRAND_REG_RSP] = 0x600ff0;
	r.u.thread.name = "";
	put(w, &r);
	r = (struct strand_record){ .type = STRAND_REC_SNAPSHOT_END, .tid = 1 };
	put(w, &r);
	if (l->forge == F_MEMORY) {
		/* an asynchronous write the program never saw: only a key
		 * frame's digest can tell */
		static const uint8_t junk[4] = { 1, 2, 3, 4 };
		struct strand_memwrite mw = { 0x600100, 4, junk };
		r = (struct strand_record){ .type = STRAND_REC_MEMORY, .tid = 1, .position = 2 };
		r.u.memory.nwrites = 1;
		r.u.memory.writes = &mw;
		put(w, &r);
	}
	struct strand_regval rv = { STRAND_REG_RAX, l->forge == F_FAIL ? (uint64_t)-13 : 3 };
	r = (struct strand_record){ .type = STRAND_REC_SYSCALL, .tid = 1, .position = 4 };
	r.u.syscall.pc = 0x400014;
	r.u.syscall.number = l->forge == F_NUMBER ? 2 : 1;
	r.u.syscall.nargs = 6;
	r.u.syscall.args[0] = l->forge == F_ARG ? 2 : 1;
	r.u.syscall.args[1] = 0x400040;
	r.u.syscall.args[2] = 3;
	r.u.syscall.result = l->forge == F_RESULT || l->forge == F_FAIL ? (uint64_t)-13 : 3;
	r.u.syscall.fx.nregs = 1;
	r.u.syscall.fx.regs = &rv;
	put(w, &r);
	if (l->forge != F_FAIL) {
		r = (struct strand_record){ .type = STRAND_REC_OUTPUT, .tid = 1,
					    .position = l->forge == F_OUTPUT_BEHIND ? 4 : 5 };
		r.u.output = (struct strand_output){ 1, 3,
			(const uint8_t *)(l->forge == F_OUTPUT ? "ho\n" : "hi\n") };
		put(w, &r);
	}
	r = (struct strand_record){ .type = STRAND_REC_SYSCALL, .tid = 1, .position = 7 };
	r.u.syscall.pc = 0x40001d;
	r.u.syscall.number = 60;
	r.u.syscall.nargs = 6;
	r.u.syscall.args[1] = 0x400040;
	r.u.syscall.args[2] = 3;
	put(w, &r);
	if (l->forge == F_OUTPUT_NO_WRITE) {
		r = (struct strand_record){ .type = STRAND_REC_OUTPUT, .tid = 1, .position = 8 };
		r.u.output = (struct strand_output){ 2, 6, (const uint8_t *)"forged" };
		put(w, &r);
	}
	if (l->keyframe) {
		struct strand_keyframe_thread kt = { 1, l->kf_cpu };
		struct strand_digest d = { 0x600000, 0x1000, l->kf_digest };
		r = (struct strand_record){ .type = STRAND_REC_KEYFRAME, .tid = 1, .position = 8 };
		r.u.keyframe = (struct strand_keyframe){ 1, &kt, 1, &d };
		put(w, &r);
	}
	if (!l->no_exit) {
		r = (struct strand_record){ .type = STRAND_REC_PROCESS_EXIT, .tid = 1, .position = 8 };
		put(w, &r);
	}
	cr_assert_eq(strand_writer_close(w, &err), STRAND_OK, "%s", err.msg);
}

/* The honest trace with a final key frame taken from its own replay. */
static void honest_keyframe(struct lin *l)
{
	char *p = tmp("kf");
	struct lin h = { 0 };
	write_linux(p, &h);
	struct strand_replay *r;
	strand_error err;
	cr_assert_eq(strand_replay_open(p, NULL, &r, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_cpu(r, &l->kf_cpu, &err), STRAND_OK);
	static uint8_t page[4096];
	cr_assert_eq(strand_replay_read(r, 0x600000, page, sizeof page, NULL), sizeof page);
	l->kf_digest = strand_digest(page, sizeof page);
	l->keyframe = true;
	strand_replay_close(r);
	unlink(p);
	free(p);
}

/* Replay `l`'s trace to the end: the status, the message in *msg (static). */
static strand_status replay_linux(struct lin *l, const char **msg, struct strand_replay_stats *stats,
				  bool *exact)
{
	static strand_error err;
	char *p = tmp("t");
	write_linux(p, l);
	struct strand_replay *r;
	strand_error_clear(&err);
	strand_status st = strand_replay_open(p, NULL, &r, &err);
	if (st == STRAND_OK) {
		st = strand_replay_seek(r, strand_replay_end(r), &err);
		if (stats)
			strand_replay_get_stats(r, stats);
		char why[512];
		bool ex = strand_replay_exactness(r, why, sizeof why);
		if (exact)
			*exact = st == STRAND_OK && ex;
		strand_replay_close(r);
	}
	*msg = err.msg;
	unlink(p);
	free(p);
	return st;
}

Test(hostile, honest_trace_is_exact_and_says_what_was_compared)
{
	struct lin l = { 0 };
	honest_keyframe(&l);
	const char *msg;
	struct strand_replay_stats s;
	bool exact = false;
	cr_assert_eq(replay_linux(&l, &msg, &s, &exact), STRAND_OK, "%s", msg);
	cr_assert(exact);
	cr_assert_eq(s.syscalls_applied, 2);
	cr_assert_eq(s.syscalls_checked, 2);
	cr_assert_eq(s.outputs_checked, 1);
	cr_assert_eq(s.output_bytes_checked, 3);
	cr_assert_eq(s.keyframes_checked, 1);
	cr_assert_eq(s.digests_checked, 1);
}

Test(hostile, forged_syscall_number_is_a_divergence)
{
	struct lin l = { .forge = F_NUMBER };
	honest_keyframe(&l);
	const char *msg;
	cr_assert_eq(replay_linux(&l, &msg, NULL, NULL), STRAND_ERR_DIVERGENCE);
	cr_assert(strstr(msg, "position 4") && strstr(msg, "number=2"), "%s", msg);
}

Test(hostile, forged_syscall_argument_is_a_divergence)
{
	struct lin l = { .forge = F_ARG };
	honest_keyframe(&l);
	const char *msg;
	cr_assert_eq(replay_linux(&l, &msg, NULL, NULL), STRAND_ERR_DIVERGENCE);
	cr_assert(strstr(msg, "argument 0") && strstr(msg, "recorded 0x2"), "%s", msg);
}

Test(hostile, forged_syscall_result_is_a_divergence)
{
	struct lin l = { .forge = F_RESULT };
	honest_keyframe(&l);
	const char *msg;
	cr_assert_eq(replay_linux(&l, &msg, NULL, NULL), STRAND_ERR_DIVERGENCE);
	cr_assert(strstr(msg, "result") && strstr(msg, "rax=0x3"), "%s", msg);
}

Test(hostile, forged_output_bytes_are_a_divergence)
{
	struct lin l = { .forge = F_OUTPUT };
	honest_keyframe(&l);
	const char *msg;
	cr_assert_eq(replay_linux(&l, &msg, NULL, NULL), STRAND_ERR_DIVERGENCE);
	cr_assert(strstr(msg, "position 5") && strstr(msg, "output differs") &&
		  strstr(msg, "byte 1"), "%s", msg);
}

/* An event recorded at a position the syscall before it already moved
 * execution past is a located error, not a loop without progress (the
 * fuzzed trace that hung seek runs from fuzz/corpus-replay in the
 * fuzz_seeds test). */
Test(hostile, event_behind_the_execution_is_an_error_not_a_hang, .timeout = 20)
{
	struct lin l = { .forge = F_OUTPUT_BEHIND };
	const char *msg;
	strand_status st = replay_linux(&l, &msg, NULL, NULL);
	cr_assert(st == STRAND_ERR_CORRUPT || st == STRAND_ERR_DIVERGENCE, "%d %s", st, msg);
	cr_assert(strstr(msg, "position 4") && strstr(msg, "position 5"), "%s", msg);
}

Test(hostile, output_no_write_produced_is_a_divergence)
{
	struct lin l = { .forge = F_OUTPUT_NO_WRITE };
	honest_keyframe(&l);
	const char *msg;
	cr_assert_eq(replay_linux(&l, &msg, NULL, NULL), STRAND_ERR_DIVERGENCE);
	cr_assert(strstr(msg, "not written by the program"), "%s", msg);
}

Test(hostile, lying_trace_without_key_frames_is_not_exact)
{
	/* a memory write the program never did, and no key frame to catch it */
	struct lin l = { .forge = F_MEMORY };
	const char *msg;
	bool exact = true;
	struct strand_replay_stats s;
	cr_assert_eq(replay_linux(&l, &msg, &s, &exact), STRAND_OK, "%s", msg);
	cr_assert_not(exact);
	cr_assert_eq(s.keyframes_checked, 0);
	/* with the honest key frame, the same lie is a divergence */
	honest_keyframe(&l);
	cr_assert_eq(replay_linux(&l, &msg, NULL, NULL), STRAND_ERR_DIVERGENCE);
	cr_assert(strstr(msg, "0x600000") && strstr(msg, "differs"), "%s", msg);
}

/* ===================================================================== */
/* The command line                                                       */
/* ===================================================================== */

/* Run `strand ARGS` (a shell word list) with a time limit; output in
 * *out (owned), exit status returned (124 = timed out). */
static int run(const char *args, char **out, double *seconds)
{
	char *cmd = NULL;
	cr_assert(asprintf(&cmd, "timeout 120 %s %s 2>&1", STRAND_CLI, args) > 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t k;
	while ((k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += k;
		if (n + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	buf[n] = 0;
	int st = pclose(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (seconds)
		*seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	free(cmd);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(hostile, cli_replay_calls_a_trace_without_key_frames_unverified)
{
	char *p = tmp("cli-nokf");
	struct lin l = { 0 };
	write_linux(p, &l);
	char *args, *out;
	cr_assert(asprintf(&args, "replay -q %s", p) > 0);
	cr_assert_eq(run(args, &out, NULL), 1, "%s", out);
	cr_assert(strstr(out, "verdict:            unverified: not verified: 0 key frames"), "%s", out);
	cr_assert_null(strstr(out, "exact ("), "%s", out);
	free(out);
	honest_keyframe(&l);
	write_linux(p, &l);
	cr_assert_eq(run(args, &out, NULL), 0, "%s", out);
	cr_assert(strstr(out, "verdict:            exact (1 key frames, 1 digests, 2/2 syscalls, "
			      "1/1 outputs (3 bytes) compared)"), "%s", out);
	free(out);
	free(args);
	unlink(p);
	free(p);
}

Test(hostile, trace_without_process_exit_is_incomplete)
{
	char *p = tmp("noexit");
	struct lin l = { .no_exit = true };
	honest_keyframe(&l);
	write_linux(p, &l);
	char *args, *out;
	cr_assert(asprintf(&args, "replay -q %s", p) > 0);
	run(args, &out, NULL);
	cr_assert(strstr(out, "incomplete"), "%s", out);
	free(out);
	free(args);
	cr_assert(asprintf(&args, "info %s", p) > 0);
	cr_assert_eq(run(args, &out, NULL), 0, "%s", out);
	cr_assert(strstr(out, "complete:     no: incomplete trace"), "%s", out);
	free(out);
	free(args);
	/* the report claims no more than the trace holds */
	cr_assert(asprintf(&args, "report -q %s", p) > 0);
	run(args, &out, NULL);
	cr_assert(strstr(out, "incomplete trace"), "%s", out);
	cr_assert_null(strstr(out, "healthy"), "%s", out);
	free(out);
	free(args);
	unlink(p);
	free(p);
}

Test(hostile, terminal_controls_from_a_trace_are_shown_escaped)
{
	char *p = tmp("esc");
	struct lin l = { .module_name = "evil\x1b[2J\x07name" };
	write_linux(p, &l);
	char *args, *out;
	cr_assert(asprintf(&args, "info %s", p) > 0);
	cr_assert_eq(run(args, &out, NULL), 0, "%s", out);
	cr_assert_null(strchr(out, 0x1b), "raw ESC reached the terminal");
	cr_assert(strstr(out, "evil\\x1b[2J\\x07name"), "%s", out);
	free(out);
	free(args);
	cr_assert(asprintf(&args, "query -c 'modules; sym 0x400000' %s", p) > 0);
	run(args, &out, NULL);
	cr_assert_null(strchr(out, 0x1b), "raw ESC reached the terminal: %s", out);
	free(out);
	free(args);
	unlink(p);
	free(p);
}

Test(hostile, report_escapes_names_from_the_trace_for_each_format)
{
	char *p = tmp("esc-report");
	struct lin l = { .forge = F_FAIL, .module_name = "evil\x1b[2J<script>x</script>" };
	write_linux(p, &l);
	const char *fmts[] = { "text", "markdown", "html", "json" };
	bool seen = false;
	for (size_t i = 0; i < 4; i++) {
		char *args, *out;
		cr_assert(asprintf(&args, "report -q --format %s %s", fmts[i], p) > 0);
		run(args, &out, NULL);
		cr_assert_null(strchr(out, 0x1b), "%s: raw ESC in the report", fmts[i]);
		if (i == 1 || i == 2)
			cr_assert_null(strstr(out, "<script>"), "%s: <script> passed: %s", fmts[i], out);
		seen |= strstr(out, "evil") != NULL;
		free(out);
		free(args);
	}
	if (!seen)
		cr_log_warn("the report does not name the module: escaping not exercised");
	unlink(p);
	free(p);
}

Test(hostile, json_strings_are_valid_utf8)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct strand_json *j = strand_json_new(f, false);
	/* multibyte text passes whole; a stray byte and ESC are escaped */
	strand_json_string(j, "caf\xc3\xa9 \xe2\x82\xac \xff \x1b \xed\xa0\x80");
	strand_json_free(j);
	fclose(f);
	cr_assert_str_eq(buf, "\"caf\xc3\xa9 \xe2\x82\xac \\u00ff \\u001b \\u00ed\\u00a0\\u0080\"\n");
	free(buf);
}

Test(hostile, escape_helpers_per_sink)
{
	char b[128];
	strand_escape_term("a\x1b[31mb\xc3\xa9\xff\xc2\x9b", 12, 0, b, sizeof b);
	cr_assert_str_eq(b, "a\\x1b[31mb\xc3\xa9\\xff\\xc2\\x9b");
	strand_escape_html("<script>&\"'", 11, 0, b, sizeof b);
	cr_assert_str_eq(b, "&lt;script&gt;&amp;&quot;&#39;");
	strand_escape_md("<script>*x*|", 12, 0, b, sizeof b);
	cr_assert_str_eq(b, "&lt;script&gt;\\*x\\*\\|");
	/* truncation never cuts an escape */
	size_t need = strand_escape_term("\x1b\x1b\x1b", 3, 0, b, 7);
	cr_assert_eq(need, 12);
	cr_assert_str_eq(b, "\\x1b");
}

Test(hostile, mem_read_at_the_top_of_the_address_space_ends)
{
	char *p = tmp("top");
	struct lin l = { 0 };
	write_linux(p, &l);
	struct strand_replay *r;
	strand_error err;
	cr_assert_eq(strand_replay_open(p, NULL, &r, &err), STRAND_OK, "%s", err.msg);
	uint8_t buf[32], valid[32];
	alarm(20); /* a hang fails the test (SIGALRM) instead of blocking the suite */
	cr_assert_eq(strand_replay_read(r, UINT64_MAX - 7, buf, sizeof buf, valid), 0);
	cr_assert_eq(strand_replay_read(r, 0x400ff0, buf, sizeof buf, valid), 16);
	alarm(0);
	strand_replay_close(r);
	char *args, *out;
	double secs;
	cr_assert(asprintf(&args, "query -c 'mem 0xffffffffffffffff 16; mem 0xfffffffffffffff0 64' %s",
			   p) > 0);
	int rc = run(args, &out, &secs);
	cr_assert_neq(rc, 124, "query hung: %s", out);
	cr_assert_lt(secs, 30.0);
	free(out);
	free(args);
	unlink(p);
	free(p);
}

/* ===================================================================== */
/* Crash, time, memory                                                    */
/* ===================================================================== */

/* An x86-32 Windows trace whose thread names GDT selectors; gdt_mapped:
 * the GDT region exists (else its base points at unmapped memory);
 * remove_at: unmap it at position 1 and switch to a second thread. */
static char *write_gdt_trace(const char *tag, bool gdt_mapped, bool remove)
{
	char *p = tmp(tag);
	struct strand_trace_info info = { STRAND_FORMAT_MAJOR, STRAND_FORMAT_MINOR,
		STRAND_ARCH_X86_32, STRAND_ABI_WINDOWS_NT, 0, 0, "test-hostile", "1" };
	struct strand_writer *w;
	strand_error err;
	cr_assert_eq(strand_writer_open(p, &info, NULL, &w, &err), STRAND_OK, "%s", err.msg);
	static const uint8_t code[] = { 0x90, 0x90, 0x90, 0xeb, 0xfe };
	struct strand_record r = { .type = STRAND_REC_REGION, .tid = 4 };
	r.u.region = (struct strand_mapchange){ STRAND_MAP_MAP, STRAND_PROT_READ | STRAND_PROT_EXEC,
						0x400000, 0x1000, STRAND_REGION_IMAGE, "code", code };
	static uint8_t cpage[4096];
	memcpy(cpage, code, sizeof code);
	r.u.region.data = cpage;
	put(w, &r);
	static uint8_t gdt[4096];
	/* 0x08 flat code, 0x10 flat data (ring 0); 0x18 code, 0x20 data (ring 3) */
	static const uint8_t d_code[8] = { 0xff, 0xff, 0, 0, 0, 0xfb, 0xcf, 0 };
	static const uint8_t d_data[8] = { 0xff, 0xff, 0, 0, 0, 0xf3, 0xcf, 0 };
	memcpy(gdt + 0x18, d_code, 8);
	memcpy(gdt + 0x20, d_data, 8);
	memcpy(gdt + 0x38, d_data, 8);
	if (gdt_mapped) {
		r.u.region = (struct strand_mapchange){ STRAND_MAP_MAP, STRAND_PROT_READ,
							0x500000, 0x1000, STRAND_REGION_GDT, "gdt", gdt };
		put(w, &r);
	}
	for (uint32_t tid = 4; tid <= (remove ? 8u : 4u); tid += 4) {
		r = (struct strand_record){ .type = STRAND_REC_THREAD, .tid = tid };
		r.u.thread.cpu.rip = 0x400000;
		r.u.thread.cpu.gdt_base = 0x500000;
		r.u.thread.cpu.gdt_limit = 0x7f;
		r.u.thread.cpu.sel[STRAND_SEG_CS] = 0x1b;
		r.u.thread.cpu.sel[STRAND_SEG_SS] = 0x23;
		r.u.thread.cpu.sel[STRAND_SEG_DS] = 0x23;
		r.u.thread.cpu.sel[STRAND_SEG_ES] = 0x23;
		r.u.thread.cpu.sel[STRAND_SEG_FS] = 0x3b;
		r.u.thread.name = "";
		put(w, &r);
	}
	r = (struct strand_record){ .type = STRAND_REC_SNAPSHOT_END, .tid = 4 };
	put(w, &r);
	if (remove) {
		struct strand_mapchange m = { STRAND_MAP_UNMAP, 0, 0x500000, 0x1000, 0, "", NULL };
		r = (struct strand_record){ .type = STRAND_REC_MEMORY, .tid = 4, .position = 1 };
		r.u.memory.nmaps = 1;
		r.u.memory.maps = &m;
		put(w, &r);
		r = (struct strand_record){ .type = STRAND_REC_THREAD_SWITCH, .tid = 8, .position = 2 };
		put(w, &r);
	}
	r = (struct strand_record){ .type = STRAND_REC_PROCESS_EXIT, .tid = 4, .position = 3 };
	put(w, &r);
	cr_assert_eq(strand_writer_close(w, &err), STRAND_OK, "%s", err.msg);
	return p;
}

Test(hostile, gdt_base_in_unmapped_memory_is_an_error_not_a_crash)
{
	char *p = write_gdt_trace("gdt-unmapped", false, false);
	struct strand_replay *r = NULL;
	strand_error err;
	strand_status st = strand_replay_open(p, NULL, &r, &err);
	if (st == STRAND_OK) {
		st = strand_replay_seek(r, strand_replay_end(r), &err);
		strand_replay_close(r);
	}
	cr_assert_eq(st, STRAND_ERR_CORRUPT, "%s", err.msg);
	cr_assert(strstr(err.msg, "GDT") || strstr(err.msg, "descriptor"), "%s", err.msg);
	unlink(p);
	free(p);
}

Test(hostile, gdt_removed_then_thread_switch_is_an_error_not_a_crash)
{
	char *p = write_gdt_trace("gdt-removed", true, true);
	struct strand_replay *r = NULL;
	strand_error err;
	cr_assert_eq(strand_replay_open(p, NULL, &r, &err), STRAND_OK, "%s", err.msg);
	strand_status st = strand_replay_seek(r, strand_replay_end(r), &err);
	cr_assert_lt(st, 0);
	cr_assert(strstr(err.msg, "GDT") || strstr(err.msg, "descriptor"), "%s", err.msg);
	strand_replay_close(r);
	unlink(p);
	free(p);
}

/* jmp $ with the exit claimed at `exit_pos` (a 700-byte trace). */
static char *write_spin(const char *tag, uint64_t exit_pos, uint64_t zero_region)
{
	char *p = tmp(tag);
	struct strand_trace_info info = { STRAND_FORMAT_MAJOR, STRAND_FORMAT_MINOR,
		STRAND_ARCH_X86_64, STRAND_ABI_LINUX, 0, 0, "test-hostile", "1" };
	struct strand_writer *w;
	strand_error err;
	cr_assert_eq(strand_writer_open(p, &info, NULL, &w, &err), STRAND_OK, "%s", err.msg);
	static uint8_t page[4096] = { 0xeb, 0xfe };
	struct strand_record r = { .type = STRAND_REC_REGION, .tid = 1 };
	r.u.region = (struct strand_mapchange){ STRAND_MAP_MAP, STRAND_PROT_READ | STRAND_PROT_EXEC,
						0x400000, 0x1000, STRAND_REGION_IMAGE, "spin", page };
	put(w, &r);
	if (zero_region) {
		r.u.region = (struct strand_mapchange){ STRAND_MAP_MAP,
			STRAND_PROT_READ | STRAND_PROT_WRITE, 0x100000000ull, zero_region,
			STRAND_REGION_ANON, "", NULL };
		put(w, &r);
	}
	r = (struct strand_record){ .type = STRAND_REC_THREAD, .tid = 1 };
	r.u.thread.cpu.rip = 0x400000;
	r.u.thread.name = "";
	put(w, &r);
	r = (struct strand_record){ .type = STRAND_REC_SNAPSHOT_END, .tid = 1 };
	put(w, &r);
	r = (struct strand_record){ .type = STRAND_REC_PROCESS_EXIT, .tid = 1, .position = exit_pos };
	put(w, &r);
	cr_assert_eq(strand_writer_close(w, &err), STRAND_OK, "%s", err.msg);
	return p;
}

Test(hostile, absurd_length_is_refused_by_default_and_within_a_budget)
{
	char *p = write_spin("spin62", 1ull << 62, 0);
	struct stat sb;
	cr_assert_eq(stat(p, &sb), 0);
	cr_assert_lt(sb.st_size, 2000);
	struct strand_replay *r = NULL;
	strand_error err;
	cr_assert_eq(strand_replay_open(p, NULL, &r, &err), STRAND_ERR_LIMIT);
	cr_assert(strstr(err.msg, "claims 4611686018427387904 instructions"), "%s", err.msg);
	/* a plausible claim over an explicit budget: refused too */
	char *q = write_spin("spin24", 1ull << 24, 0);
	struct strand_replay_options o = { .max_instructions = 100000 };
	cr_assert_eq(strand_replay_open(q, &o, &r, &err), STRAND_ERR_LIMIT);
	/* the commands end at once with the error */
	const char *cmds[] = { "replay -q", "report -q", "query -q -c 'seek end'" };
	for (size_t i = 0; i < 3; i++) {
		char *args, *out;
		double secs;
		cr_assert(asprintf(&args, "%s %s", cmds[i], p) > 0);
		int rc = run(args, &out, &secs);
		cr_assert(rc != 0 && rc != 124, "%s: rc=%d %s", cmds[i], rc, out);
		cr_assert(strstr(out, "--max-instructions"), "%s: %s", cmds[i], out);
		cr_assert_lt(secs, 20.0, "%s took %.1f s", cmds[i], secs);
		free(out);
		free(args);
	}
	unlink(p);
	unlink(q);
	free(p);
	free(q);
}

Test(hostile, huge_zero_regions_are_refused_within_the_memory_budget)
{
	/* 64 GiB and 4 GiB of zeros cost a few bytes in the file */
	uint64_t sizes[] = { 64ull << 30, 4ull << 30 };
	for (size_t i = 0; i < 2; i++) {
		char *p = write_spin(i ? "zero4g" : "zero64g", 10, sizes[i]);
		struct strand_replay *r = NULL;
		strand_error err;
		cr_assert_eq(strand_replay_open(p, NULL, &r, &err), STRAND_ERR_LIMIT);
		cr_assert(strstr(err.msg, "--max-memory"), "%s", err.msg);
		char *args, *out;
		cr_assert(asprintf(&args, "replay -q --max-memory 512M %s", p) > 0);
		int rc = run(args, &out, NULL);
		cr_assert(rc == 1 && strstr(out, "over the memory budget of 512 MiB"), "%s", out);
		free(out);
		free(args);
		unlink(p);
		free(p);
	}
	/* a budget that allows it replays within the budget */
	char *p = write_spin("zero256m", 10, 256ull << 20);
	struct strand_replay_options o = { .max_memory = 1ull << 30 };
	struct strand_replay *r = NULL;
	strand_error err;
	cr_assert_eq(strand_replay_open(p, &o, &r, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_replay_seek(r, strand_replay_end(r), &err), STRAND_OK, "%s", err.msg);
	strand_replay_close(r);
	unlink(p);
	free(p);
}

/* ===================================================================== */
/* Output files                                                           */
/* ===================================================================== */

static char *tmpdir(const char *tag)
{
	char *d = NULL;
	cr_assert(asprintf(&d, "/tmp/strand-test-hostile-%s-XXXXXX", tag) > 0);
	cr_assert(mkdtemp(d));
	return d;
}

static size_t dir_entries(const char *d)
{
	char *cmd;
	cr_assert(asprintf(&cmd, "ls -A %s | wc -l", d) > 0);
	FILE *f = popen(cmd, "r");
	size_t n = 0;
	cr_assert(fscanf(f, "%zu", &n) == 1);
	pclose(f);
	free(cmd);
	return n;
}

Test(hostile, output_to_a_device_keeps_the_device_node)
{
	char *d = tmpdir("dev");
	char *dev, *trace;
	cr_assert(asprintf(&dev, "%s/null", d) > 0);
	if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) != 0) {
		cr_log_warn("mknod not permitted (%s): device output not tested", strerror(errno));
		free(dev);
		free(d);
		return;
	}
	cr_assert(asprintf(&trace, "%s/t.strand", d) > 0);
	struct lin l = { 0 };
	honest_keyframe(&l);
	write_linux(trace, &l);
	char *args, *out;
	cr_assert(asprintf(&args, "report -q -o %s %s", dev, trace) > 0);
	cr_assert_eq(run(args, &out, NULL), 0, "%s", out);
	struct stat sb;
	cr_assert_eq(lstat(dev, &sb), 0);
	cr_assert(S_ISCHR(sb.st_mode), "the device node was replaced");
	cr_assert_eq(major(sb.st_rdev), 1);
	cr_assert_eq(minor(sb.st_rdev), 3);
	cr_assert_eq(dir_entries(d), 2, "temporaries left in %s", d);
	free(out);
	free(args);
	/* finalize -o DEVICE: same */
	cr_assert(asprintf(&args, "finalize -o %s %s", dev, trace) > 0);
	run(args, &out, NULL);
	cr_assert_eq(lstat(dev, &sb), 0);
	cr_assert(S_ISCHR(sb.st_mode), "the device node was replaced by finalize");
	free(out);
	free(args);
	/* record -o DEVICE: recorded and finalized in $TMPDIR, copied in */
	char *td;
	cr_assert(asprintf(&td, "%s/tmp", d) > 0);
	cr_assert_eq(mkdir(td, 0700), 0);
	cr_assert(asprintf(&args, "record -q -o %s -- /bin/true", dev) > 0);
	char *cmd0;
	cr_assert(asprintf(&cmd0, "TMPDIR=%s timeout 120 %s %s 2>&1", td, STRAND_CLI, args) > 0);
	cr_assert_eq(system(cmd0), 0, "%s", cmd0);
	cr_assert_eq(lstat(dev, &sb), 0);
	cr_assert(S_ISCHR(sb.st_mode), "the device node was replaced by record");
	cr_assert_eq(dir_entries(td), 0, "record left temporaries in $TMPDIR");
	free(cmd0);
	free(args);
	free(td);
	/* a FIFO is written in place too */
	char *fifo;
	cr_assert(asprintf(&fifo, "%s/fifo", d) > 0);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert(asprintf(&args, "report -q -o %s %s & cat %s > %s/fifo.out; wait", fifo, trace,
			   fifo, d) > 0);
	run(args, &out, NULL);
	cr_assert_eq(lstat(fifo, &sb), 0);
	cr_assert(S_ISFIFO(sb.st_mode), "the FIFO was replaced");
	free(out);
	free(args);
	char *cmd;
	cr_assert(asprintf(&cmd, "rm -rf %s", d) > 0);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	free(fifo);
	free(dev);
	free(trace);
	free(d);
}

Test(hostile, output_through_a_symlink_or_into_a_directory_is_refused)
{
	char *d = tmpdir("sym");
	char *trace, *victim, *link, *args, *out;
	cr_assert(asprintf(&trace, "%s/t.strand", d) > 0);
	cr_assert(asprintf(&victim, "%s/victim", d) > 0);
	cr_assert(asprintf(&link, "%s/report.txt", d) > 0);
	struct lin l = { 0 };
	write_linux(trace, &l);
	FILE *f = fopen(victim, "w");
	fputs("precious\n", f);
	fclose(f);
	cr_assert_eq(symlink(victim, link), 0);
	cr_assert(asprintf(&args, "report -q -o %s %s", link, trace) > 0);
	cr_assert_eq(run(args, &out, NULL), 1, "%s", out);
	cr_assert(strstr(out, "symbolic link"), "%s", out);
	char buf[32] = "";
	f = fopen(victim, "r");
	cr_assert(fgets(buf, sizeof buf, f));
	fclose(f);
	cr_assert_str_eq(buf, "precious\n");
	free(out);
	free(args);
	/* -o DIR: refused, nothing left behind */
	size_t before = dir_entries(d);
	cr_assert(asprintf(&args, "report -q -o %s %s", d, trace) > 0);
	cr_assert_eq(run(args, &out, NULL), 1, "%s", out);
	cr_assert(strstr(out, "is a directory"), "%s", out);
	cr_assert_eq(dir_entries(d), before);
	free(out);
	free(args);
	/* record -o with a planted OUT.raw symlink */
	char *rec, *raw;
	cr_assert(asprintf(&rec, "%s/rec.strand", d) > 0);
	cr_assert(asprintf(&raw, "%s/rec.strand.raw", d) > 0);
	cr_assert_eq(symlink(victim, raw), 0);
	cr_assert(asprintf(&args, "record -q -o %s -- /bin/true", rec) > 0);
	int rc = run(args, &out, NULL);
	cr_assert_neq(rc, 0, "%s", out);
	cr_assert(strstr(out, "not a regular file"), "%s", out);
	f = fopen(victim, "r");
	cr_assert(fgets(buf, sizeof buf, f));
	fclose(f);
	cr_assert_str_eq(buf, "precious\n");
	free(out);
	free(args);
	char *cmd;
	cr_assert(asprintf(&cmd, "rm -rf %s", d) > 0);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	free(rec);
	free(raw);
	free(trace);
	free(victim);
	free(link);
	free(d);
}

Test(hostile, killed_recorder_leaves_a_trace_finalize_makes_replayable)
{
	char *d = tmpdir("kill");
	char *out_path, *raw, *args, *out;
	cr_assert(asprintf(&out_path, "%s/k.strand", d) > 0);
	cr_assert(asprintf(&raw, "%s/k.strand.raw", d) > 0);
	/* the program writes a chunk's worth of syscalls, then sleeps: the
	 * recorder is killed while it sleeps */
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char *log = NULL;
		if (asprintf(&log, "%s/log", d) < 0)
			_exit(127);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(STRAND_CLI, "strand", "record", "-q", "-o", out_path, "--", "/bin/sh", "-c",
		      "i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo x; done; sleep 30", (char *)NULL);
		_exit(127);
	}
	sleep(3);
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	struct stat sb;
	cr_assert_eq(stat(raw, &sb), 0, "no raw trace left behind");
	cr_assert(asprintf(&args, "finalize %s", raw) > 0);
	int rc = run(args, &out, NULL);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "incomplete"), "%s", out);
	free(out);
	free(args);
	cr_assert(asprintf(&args, "replay -q %s", out_path) > 0);
	rc = run(args, &out, NULL);
	cr_assert(strstr(out, "incomplete (no process exit recorded)"), "%s", out);
	free(out);
	free(args);
	char *cmd;
	cr_assert(asprintf(&cmd, "rm -rf %s", d) > 0);
	system(cmd);
	free(cmd);
	free(out_path);
	free(raw);
	free(d);
}

/* ===================================================================== */
/* Scenarios                                                              */
/* ===================================================================== */

static strand_status scn(const char *dir, const char *text, strand_error *err)
{
	struct wscn *s = NULL;
	strand_status st = wscn_parse("t.scenario", dir, text, strlen(text), &s, err);
	wscn_free(s);
	return st;
}

Test(hostile, scenario_file_data_stays_in_the_scenario_directory)
{
	char *d = tmpdir("scn");
	char *p;
	cr_assert(asprintf(&p, "%s/in.bin", d) > 0);
	FILE *f = fopen(p, "w");
	fputs("inside", f);
	fclose(f);
	free(p);
	cr_assert(asprintf(&p, "%s/fifo", d) > 0);
	cr_assert_eq(mkfifo(p, 0600), 0);
	free(p);
	cr_assert(asprintf(&p, "%s/escape", d) > 0);
	cr_assert_eq(symlink("/etc/passwd", p), 0);
	free(p);
	strand_error err;
	const char *head = "[process]\nimage = a.exe\n[file \\??\\C:\\x]\n";
	char text[512];
	snprintf(text, sizeof text, "%sdata = file:in.bin\n", head);
	cr_assert_eq(scn(d, text, &err), STRAND_OK, "%s", err.msg);
	const char *bad[] = { "file:/etc/passwd", "file:../../etc/passwd", "file:escape" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(text, sizeof text, "%sdata = %s\n", head, bad[i]);
		cr_assert_eq(scn(d, text, &err), STRAND_ERR_INVALID, "%s accepted", bad[i]);
		cr_assert(strstr(err.msg, "t.scenario:4:") && strstr(err.msg, "outside"), "%s",
			  err.msg);
	}
	/* a FIFO is refused at once, never opened for a blocking read */
	alarm(20);
	snprintf(text, sizeof text, "%sdata = file:fifo\n", head);
	cr_assert_eq(scn(d, text, &err), STRAND_ERR_INVALID);
	cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);
	alarm(0);
	/* allowed explicitly */
	struct wscn_parse_options o = { .allow_host_files = true };
	struct wscn *s = NULL;
	snprintf(text, sizeof text, "%sdata = file:/etc/hostname\n", head);
	if (access("/etc/hostname", R_OK) == 0) {
		cr_assert_eq(wscn_parse_opts("t.scenario", d, text, strlen(text), &o, &s, &err),
			     STRAND_OK, "%s", err.msg);
		wscn_free(s);
	}
	char *cmd;
	cr_assert(asprintf(&cmd, "rm -rf %s", d) > 0);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	free(d);
}

Test(hostile, scenario_duplicate_thread_ids_are_refused_with_the_line)
{
	strand_error err;
	cr_assert_eq(scn("/tmp", "[process]\nimage = a.exe\ntids = 4 8 4\n", &err),
		     STRAND_ERR_INVALID);
	cr_assert(strstr(err.msg, "t.scenario:3:") && strstr(err.msg, "listed twice"), "%s",
		  err.msg);
}

Test(hostile, scenario_parsing_is_linear)
{
	/* 50,000 keys and a deep key path: well under a second each */
	size_t cap = 4u << 20, n = 0;
	char *t = malloc(cap);
	n += (size_t)snprintf(t + n, cap - n, "[process]\nimage = a.exe\n");
	for (int i = 0; i < 50000; i++)
		n += (size_t)snprintf(t + n, cap - n, "[key \\Registry\\Machine\\K%d]\n", i);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	strand_error err;
	cr_assert_eq(scn("/tmp", t, &err), STRAND_OK, "%s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	cr_assert_lt(s, 10.0, "50,000 keys took %.1f s", s);
	n = (size_t)snprintf(t, cap, "[process]\nimage = a.exe\n[key \\Registry\\Machine");
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(t + n, cap - n, "\\a");
	snprintf(t + n, cap - n, "]\n");
	cr_assert_eq(scn("/tmp", t, &err), STRAND_ERR_INVALID);
	cr_assert(strstr(err.msg, "deeper than"), "%s", err.msg);
	free(t);
}

/* ===================================================================== */
/* Verdicts                                                               */
/* ===================================================================== */

/* A tracee killed by SIGKILL must not get a failing kernel call (it used
 * to be "ioctl ENOTTY") as its root cause. */
Test(hostile, sigkilled_tracee_is_not_blamed_on_a_kernel_call)
{
	char *d = tmpdir("sigkill");
	char *trace, *args, *out;
	cr_assert(asprintf(&trace, "%s/k.strand", d) > 0);
	cr_assert(asprintf(&args, "record -q -o %s -- /bin/sh -c 'kill -9 $$'", trace) > 0);
	run(args, &out, NULL);
	free(out);
	free(args);
	cr_assert(asprintf(&args, "report -q %s", trace) > 0);
	run(args, &out, NULL);
	cr_assert(strstr(out, "SIGKILL"), "%s", out);
	cr_assert_null(strstr(out, "ENOTTY"), "%s", out);
	free(out);
	free(args);
	char *cmd;
	cr_assert(asprintf(&cmd, "rm -rf %s", d) > 0);
	system(cmd);
	free(cmd);
	free(trace);
	free(d);
}

/* ===================================================================== */
/* Plugins                                                                */
/* ===================================================================== */

/* A plugin with a constructor that leaves a mark and a wrong ABI
 * version: refused before any of its code runs. */
Test(hostile, plugin_abi_is_checked_before_its_code_runs)
{
	char *d = tmpdir("plugin");
	char *src, *cmd, *args, *out, *mark, *trace;
	cr_assert(asprintf(&src, "%s/bad.c", d) > 0);
	cr_assert(asprintf(&mark, "%s/constructor-ran", d) > 0);
	cr_assert(asprintf(&trace, "%s/t.strand", d) > 0);
	FILE *f = fopen(src, "w");
	fprintf(f, "#include <stdio.h>\n#include <stdint.h>\n"
		   "__attribute__((constructor)) static void c(void) { FILE *f = fopen(\"%s\", \"w\"); if (f) fclose(f); }\n"
		   "const uint32_t strand_plugin_abi_version = 999;\n"
		   "const void *strand_plugin_describe(void) { return 0; }\n", mark);
	fclose(f);
	cr_assert(asprintf(&cmd, "cc -shared -fPIC -o %s/bad.so %s", d, src) > 0);
	if (system(cmd) != 0) {
		cr_log_warn("no C compiler: plugin pre-check not tested");
		free(cmd);
		return;
	}
	free(cmd);
	struct lin l = { 0 };
	write_linux(trace, &l);
	/* relative names are files in the current directory */
	cr_assert(asprintf(&args, "report -q --plugin bad.so %s", trace) > 0);
	cr_assert(asprintf(&cmd, "cd %s && timeout 120 %s %s 2>&1", d, STRAND_CLI, args) > 0);
	FILE *p = popen(cmd, "r");
	char buf[4096] = "";
	size_t n = fread(buf, 1, sizeof buf - 1, p);
	buf[n] = 0;
	cr_assert_neq(pclose(p), 0);
	cr_assert(strstr(buf, "ABI version 999") && strstr(buf, "not loaded"), "%s", buf);
	cr_assert_neq(access(mark, F_OK), 0, "the plugin's constructor ran");
	free(cmd);
	free(args);
	/* a system library is not searched for: libc.so.6 is ./libc.so.6 */
	cr_assert(asprintf(&args, "report -q --plugin libc.so.6 %s", trace) > 0);
	cr_assert_eq(run(args, &out, NULL), 1, "%s", out);
	cr_assert(strstr(out, "./libc.so.6: No such file"), "%s", out);
	free(out);
	free(args);
	/* the example plugin, by a relative name */
	cr_assert(asprintf(&cmd, "cp %s/strand-example-plugin.so %s/good.so && cd %s && "
				 "timeout 120 %s report -q --plugin good.so %s > good.out",
			   STRAND_BINARY_DIR, d, d, STRAND_CLI, trace) > 0);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	free(cmd);
	cr_assert(asprintf(&cmd, "rm -rf %s", d) > 0);
	system(cmd);
	free(cmd);
	free(src);
	free(mark);
	free(trace);
	free(d);
}

/* An ordinal trace (what the recorder writes first) whose code never
 * reaches its first kernel call: finalize ends within its budget. */
Test(hostile, finalize_of_a_trace_that_never_reaches_its_event_ends)
{
	char *p = tmp("rawspin");
	struct strand_trace_info info = { STRAND_FORMAT_MAJOR, STRAND_FORMAT_MINOR,
		STRAND_ARCH_X86_64, STRAND_ABI_LINUX, STRAND_TRACE_F_ORDINAL_POSITIONS, 0,
		"test-hostile", "1" };
	struct strand_writer *w;
	strand_error err;
	cr_assert_eq(strand_writer_open(p, &info, NULL, &w, &err), STRAND_OK, "%s", err.msg);
	static uint8_t page[4096] = { 0xeb, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0f, 0x05 };
	struct strand_record r = { .type = STRAND_REC_REGION, .tid = 1 };
	r.u.region = (struct strand_mapchange){ STRAND_MAP_MAP, STRAND_PROT_READ | STRAND_PROT_EXEC,
						0x400000, 0x1000, STRAND_REGION_IMAGE, "spin", page };
	put(w, &r);
	r = (struct strand_record){ .type = STRAND_REC_THREAD, .tid = 1 };
	r.u.thread.cpu.rip = 0x400000;
	r.u.thread.name = "";
	put(w, &r);
	r = (struct strand_record){ .type = STRAND_REC_SNAPSHOT_END, .tid = 1 };
	put(w, &r);
	r = (struct strand_record){ .type = STRAND_REC_SYSCALL, .tid = 1, .position = 0 };
	r.u.syscall.pc = 0x400010;
	r.u.syscall.number = 60;
	put(w, &r);
	r = (struct strand_record){ .type = STRAND_REC_PROCESS_EXIT, .tid = 1, .position = 1 };
	put(w, &r);
	cr_assert_eq(strand_writer_close(w, &err), STRAND_OK, "%s", err.msg);
	char *args, *out, *fin;
	cr_assert(asprintf(&fin, "%s.fin", p) > 0);
	cr_assert(asprintf(&args, "finalize -o %s %s", fin, p) > 0);
	double secs;
	int rc = run(args, &out, &secs);
	cr_assert(rc == 1 && strstr(out, "within the budget"), "rc=%d %s", rc, out);
	cr_assert_lt(secs, 100.0);
	cr_assert_neq(access(fin, F_OK), 0, "a partial output was left");
	cr_log_info("finalize of a spinning trace ended in %.1f s", secs);
	free(out);
	free(args);
	unlink(p);
	free(p);
	free(fin);
}

/* SIGHUP (the terminal closed) stops the program like Ctrl-C: a complete
 * trace is left. */
Test(hostile, sighup_of_the_recorder_leaves_a_complete_trace)
{
	char *d = tmpdir("hup");
	char *trace, *log, *args, *out;
	cr_assert(asprintf(&trace, "%s/h.strand", d) > 0);
	cr_assert(asprintf(&log, "%s/log", d) > 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(STRAND_CLI, "strand", "record", "-q", "-o", trace, "--", "/bin/sleep", "30",
		      (char *)NULL);
		_exit(127);
	}
	sleep(2);
	kill(pid, SIGHUP);
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st), "the recorder died of the signal");
	cr_assert(asprintf(&args, "info %s", trace) > 0);
	cr_assert_eq(run(args, &out, NULL), 0, "%s", out);
	cr_assert(strstr(out, "complete:     yes"), "%s", out);
	free(out);
	free(args);
	char *cmd;
	cr_assert(asprintf(&cmd, "rm -rf %s", d) > 0);
	system(cmd);
	free(cmd);
	free(trace);
	free(log);
	free(d);
}
