/* Test fixture shared by tests/test_analysis.c and tests/test_report.c:
 * a synthetic Linux x86-64 trace built with tests/helpers/tracegen. */
#ifndef STRAND_TEST_ANALYSIS_APP_H
#define STRAND_TEST_ANALYSIS_APP_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strand/trace.h"
#include "tests/helpers/tracegen.h"

/* ------------------------------------------------------------ fixture */

/* A program that tries an optional file (fails, ignored), then its
 * configuration file (fails), maps errno through a table to an exit code
 * and exits with it: exit status 66 <- table[errno 2] <- -ENOENT. */
static const char *app_src =
	"BITS 64\n"
	"ORG 0x401000\n"
	"_start:\n"
	"  call main\n"
	"  mov edi, eax\n"
	"  mov eax, 231\n"
	"  syscall\n"
	"  hlt\n"
	"times 0x40-($-$$) db 0x90\n"
	"main:\n"
	"  push rbp\n"
	"  mov rbp, rsp\n"
	"  call try_optional\n"
	"  call open_config\n"
	"  test eax, eax\n"
	"  js .fail\n"
	"  xor eax, eax\n"
	"  pop rbp\n"
	"  ret\n"
	".fail:\n"
	"  neg eax\n"
	"  mov [0x600000], eax\n"
	"  call to_exit_code\n"
	"  pop rbp\n"
	"  ret\n"
	"times 0x100-($-$$) db 0x90\n"
	"open_config:\n"
	"  push rbp\n"
	"  mov rbp, rsp\n"
	"  mov eax, 257\n"
	"  mov edi, -100\n"
	"  lea rsi, [rel path1]\n"
	"  xor edx, edx\n"
	"  syscall\n"
	"  pop rbp\n"
	"  ret\n"
	"times 0x140-($-$$) db 0x90\n"
	"try_optional:\n"
	"  push rbp\n"
	"  mov rbp, rsp\n"
	"  mov eax, 257\n"
	"  mov edi, -100\n"
	"  lea rsi, [rel path2]\n"
	"  xor edx, edx\n"
	"  syscall\n"
	"  pop rbp\n"
	"  ret\n"
	"times 0x180-($-$$) db 0x90\n"
	"to_exit_code:\n"
	"  push rbp\n"
	"  mov rbp, rsp\n"
	"  mov eax, [0x600000]\n"
	"  lea rcx, [rel exit_codes]\n"
	"  movzx eax, byte [rcx + rax]\n"
	"  pop rbp\n"
	"  ret\n"
	"times 0x400-($-$$) db 0\n"
	"exit_codes: db 1, 65, 66, 67, 68, 69, 70, 71\n"
	"path1: db '/etc/app.conf', 0\n"
	"path2: db '/etc/app.local', 0\n";

/* healthy variant: the configuration opens */
static bool app_config_exists;

static void app_kernel(struct tg *g, void *ud, struct tg_syscall *s)
{
	(void)g;
	(void)ud;
	if (s->exit)
		return;
	if (s->number == 257) /* openat */
		s->result = app_config_exists && s->args[1] == 0x40140eull ? 3 : (uint64_t)-2;
}

/* Copy `in` to `out` with the PROCESS_EXIT exit code set (tracegen writes
 * 0; a recorder writes the exit_group argument). */
static void set_exit_code(const char *in, const char *out, uint64_t code)
{
	struct strand_reader *r;
	struct strand_writer *w;
	strand_error err;
	cr_assert_eq(strand_reader_open(in, &r, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(strand_writer_open(out, strand_reader_info(r), NULL, &w, &err), STRAND_OK,
		     "%s", err.msg);
	const struct strand_record *rec;
	while (strand_reader_next(r, &rec, &err) == STRAND_OK) {
		struct strand_record copy = *rec;
		if (copy.type == STRAND_REC_PROCESS_EXIT)
			copy.u.exit_code = code;
		cr_assert_eq(strand_writer_put(w, &copy, &err), STRAND_OK, "%s", err.msg);
	}
	cr_assert_eq(strand_writer_close(w, &err), STRAND_OK, "%s", err.msg);
	strand_reader_close(r);
}

/* Write the trace to `path` (owned by the caller). */
static void write_app_trace(const char *path, bool healthy)
{
	char *raw = NULL;
	cr_assert(asprintf(&raw, "%s.raw", path) > 0);
	strand_error err;
	uint8_t *code;
	size_t len;
	cr_assert_eq(tg_asm(app_src, &code, &len, &err), STRAND_OK, "%s", err.msg);
	struct tg_opts o = { .arch = STRAND_ARCH_X86_64, .abi = STRAND_ABI_LINUX,
			     .keyframe_every = 0 };
	struct tg *g;
	cr_assert_eq(tg_open(raw, &o, &g, &err), STRAND_OK, "%s", err.msg);
	static const struct strand_symbol syms[] = {
		{ 0x401000, 0x40, STRAND_SYM_FUNC, "_start", "" },
		{ 0x401040, 0xc0, STRAND_SYM_FUNC, "main", "" },
		{ 0x401100, 0x40, STRAND_SYM_FUNC, "open_config", "" },
		{ 0x401140, 0x40, STRAND_SYM_FUNC, "try_optional", "" },
		{ 0x401180, 0x80, STRAND_SYM_FUNC, "to_exit_code", "" },
		{ 0x401400, 8, STRAND_SYM_OBJECT, "exit_codes", "" },
	};
	struct strand_module m = { .id = 1, .flags = STRAND_MODULE_F_MAIN, .base = 0x401000,
				   .size = 0x1000, .name = "app", .path = "/usr/bin/app",
				   .nsyms = 6, .syms = syms };
	cr_assert_eq(tg_module(g, &m, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, 0x401000, 0x1000, STRAND_PROT_READ | STRAND_PROT_EXEC,
			    STRAND_REGION_IMAGE, "app", code, len, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, 0x600000, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_ANON, "data", NULL, 0, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_map(g, 0x7ff000, 0x1000, STRAND_PROT_READ | STRAND_PROT_WRITE,
			    STRAND_REGION_STACK, "stack", NULL, 0, &err), STRAND_OK, "%s", err.msg);
	struct strand_cpu c;
	tg_cpu_init(&c, 0x401000, 0x7ff800);
	cr_assert_eq(tg_thread(g, 42, &c, &err), STRAND_OK, "%s", err.msg);
	app_config_exists = healthy;
	tg_on_syscall(g, app_kernel, NULL);
	cr_assert_eq(tg_run(g, 100000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(tg_close(g, &err), STRAND_OK, "%s", err.msg);
	free(code);
	set_exit_code(raw, path, healthy ? 0 : 66);
	unlink(raw);
	free(raw);
}

static inline char *make_app_trace(const char *tag, bool healthy)
{
	char *path = NULL;
	cr_assert(asprintf(&path, "/tmp/strand-test-analysis-%s-%d.strand", tag, (int)getpid()) > 0);
	write_app_trace(path, healthy);
	return path;
}

#endif
