/* `strand replay` command tests: verdict, JSON, recorded output, exit codes. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "strand/replay.h"
#include "tests/helpers/tracegen.h"

static const char *prog =
	"BITS 64\n"
	"ORG 0x400000\n"
	"  mov rcx, 5000\n"
	"a:\n"
	"  add qword [0x600000], rcx\n"
	"  dec rcx\n"
	"  jnz a\n"
	"  mov eax, 1\n"
	"  syscall\n"
	"  mov eax, 60\n"
	"  syscall\n";

/* A trace of `prog` with an OUTPUT record; corrupt = a wrong key frame. */
static char *make(const char *tag, bool corrupt)
{
	char *path = NULL;
	cr_assert(asprintf(&path, "/tmp/strand-test-replay-cli-%s-%d.strand", tag, (int)getpid()) > 0);
	strand_error err;
	uint8_t *code;
	size_t len;
	cr_assert_eq(tg_asm(prog, &code, &len, &err), STRAND_OK, "%s", err.msg);
	struct tg_opts o = { .arch = STRAND_ARCH_X86_64, .keyframe_every = 4000 };
	struct tg *g;
	cr_assert_eq(tg_open(path, &o, &g, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, 0x400000, 0x1000, STRAND_PROT_READ | STRAND_PROT_EXEC,
			    STRAND_REGION_IMAGE, "prog", code, len, &err), STRAND_OK);
	cr_assert_eq(tg_map(g, 0x600000, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_HEAP, "data", NULL, 0, &err), STRAND_OK);
	struct strand_cpu c;
	tg_cpu_init(&c, 0x400000, 0);
	cr_assert_eq(tg_thread(g, 1, &c, &err), STRAND_OK);
	static struct strand_record out = { .type = STRAND_REC_OUTPUT,
		.u.output = { .stream = 1, .len = 14, .data = (const uint8_t *)"hello, replay\n" } };
	cr_assert_eq(tg_at_record(g, 100, &out, &err), STRAND_OK);
	if (corrupt) {
		/* an asynchronous write, recorded as a MEMORY event that is
		 * dropped below: the final key frame's digest then differs */
		uint8_t b = 0xff;
		cr_assert_eq(tg_at_write(g, 12000, 0x600800, &b, 1, &err), STRAND_OK);
	}
	cr_assert_eq(tg_run(g, 1000000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_close(g, &err), STRAND_OK);
	free(code);
	if (corrupt) {
		/* drop the MEMORY record: replay then differs at the final key frame */
		char *bad = NULL;
		cr_assert(asprintf(&bad, "%s.bad", path) > 0);
		struct strand_reader *rd;
		struct strand_writer *w;
		cr_assert_eq(strand_reader_open(path, &rd, &err), STRAND_OK);
		cr_assert_eq(strand_writer_open(bad, strand_reader_info(rd), NULL, &w, &err), STRAND_OK);
		const struct strand_record *rec;
		while (strand_reader_next(rd, &rec, &err) == STRAND_OK)
			if (rec->type != STRAND_REC_MEMORY)
				cr_assert_eq(strand_writer_put(w, rec, &err), STRAND_OK, "%s", err.msg);
		cr_assert_eq(strand_writer_close(w, &err), STRAND_OK);
		strand_reader_close(rd);
		unlink(path);
		free(path);
		path = bad;
	}
	return path;
}

/* Run the CLI, capture stdout+stderr, return the exit status. */
static int run(const char *args, char *out, size_t outlen)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s %s 2>&1", STRAND_CLI, args);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(replay_cli, prints_exact_verdict_and_counts_when_trace_is_good)
{
	char *path = make("good", false);
	char out[4096], args[512];
	snprintf(args, sizeof args, "replay -q %s", path);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert(strstr(out, "verdict:            exact"), "%s", out);
	cr_assert(strstr(out, "key frames checked: "), "%s", out);
	cr_assert(strstr(out, "instructions/s:"), "%s", out);
	cr_assert_null(strstr(out, "hello, replay"), "output only on request");
	unlink(path);
	free(path);
}

Test(replay_cli, json_has_verdict_and_counters)
{
	char *path = make("json", false);
	char out[4096], args[512];
	snprintf(args, sizeof args, "replay --json %s", path);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert(strstr(out, "\"verdict\":\"exact\""), "%s", out);
	cr_assert(strstr(out, "\"instructions\":"), "%s", out);
	cr_assert(strstr(out, "\"keyframes_checked\":"), "%s", out);
	unlink(path);
	free(path);
}

Test(replay_cli, show_output_reemits_recorded_output)
{
	char *path = make("show", false);
	char out[4096], args[512];
	snprintf(args, sizeof args, "replay --show-output %s", path);
	cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
	cr_assert(strstr(out, "hello, replay\n"), "%s", out);
	unlink(path);
	free(path);
}

Test(replay_cli, fails_with_divergence_message_when_trace_diverges)
{
	char *path = make("bad", true);
	char out[4096], args[512];
	snprintf(args, sizeof args, "replay -q %s", path);
	cr_assert_eq(run(args, out, sizeof out), 1, "%s", out);
	cr_assert(strstr(out, "verdict:            divergence: divergence at position"), "%s", out);
	cr_assert(strstr(out, "0x600000+0x1000"), "names the range: %s", out);
	snprintf(args, sizeof args, "replay --json %s", path);
	cr_assert_eq(run(args, out, sizeof out), 1, "%s", out);
	cr_assert(strstr(out, "\"verdict\":\"divergence\""), "%s", out);
	unlink(path);
	free(path);
}

Test(replay_cli, usage_errors_exit_2)
{
	char out[4096];
	cr_assert_eq(run("replay", out, sizeof out), 2, "%s", out);
	cr_assert_eq(run("replay --bogus x", out, sizeof out), 2, "%s", out);
	cr_assert_eq(run("replay /nonexistent.strand", out, sizeof out), 1, "%s", out);
	cr_assert(strstr(out, "cannot open trace"), "%s", out);
}
