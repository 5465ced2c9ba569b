/*
 * Query engine over a small fake machine: expressions, splitting, the
 * command table, both renderings and the JSON envelope, without the
 * replay core.  (tests/test_query_cli.c runs `strand query` on real
 * traces.)
 *
 * The fake: x86-32, positions 0..100; at position p: eax = 2p,
 * eip = 0x401000 + p, ebx = 0x1000 (data), esp = 0x2000, ebp = 0x2100.
 * Memory 0x1000..0x1fff holds "Hello", L"Hi", 0xdeadbeef; the stack page
 * holds a frame chain.  One module test.exe with main and helper.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "query/query_int.h"

struct fake {
	uint64_t pos;
	uint8_t data[0x1000];  /* at 0x1000 */
	uint8_t stack[0x1000]; /* at 0x2000 */
	struct strand_stop stops[16];
	uint32_t nstops, next_id;
	struct strand_symbol syms[2];
	struct strand_module mod;
	const struct strand_module *mods[1];
};

#define END 100
#define CODE 0x401000u

static struct fake *F(void *t) { return t; }

static uint64_t f_position(void *t) { return F(t)->pos; }
static uint64_t f_end(void *t) { return END; }
static strand_status f_seek(void *t, uint64_t pos, strand_error *err)
{
	if (pos > END)
		return strand_error_set(err, STRAND_ERR_INVALID, "past end");
	F(t)->pos = pos;
	return STRAND_OK;
}
static strand_status f_step(void *t, int64_t n, strand_error *err)
{
	int64_t p = (int64_t)F(t)->pos + n;
	if (p < 0 || p > END) {
		F(t)->pos = p < 0 ? 0 : END;
		return STRAND_END;
	}
	F(t)->pos = (uint64_t)p;
	return STRAND_OK;
}
static strand_status f_over(void *t, strand_dir d, strand_error *err)
{
	return f_step(t, d, err);
}
static strand_status f_out(void *t, strand_dir d, strand_error *err)
{
	return f_step(t, 10 * d, err);
}
static strand_status f_run(void *t, strand_dir d, struct strand_stop_hit *hit,
			   strand_error *err)
{
	struct fake *f = F(t);
	for (int64_t p = (int64_t)f->pos + d; p >= 0 && p <= END; p += d)
		for (uint32_t i = 0; i < f->nstops; i++)
			if (f->stops[i].kind == STRAND_STOP_BREAK &&
			    f->stops[i].addr == CODE + (uint64_t)p) {
				f->pos = (uint64_t)p;
				hit->stop_id = f->stops[i].id;
				hit->kind = STRAND_STOP_BREAK;
				hit->position = f->pos;
				hit->addr = f->stops[i].addr;
				return STRAND_STOPPED;
			}
	f->pos = d > 0 ? END : 0;
	return STRAND_END;
}
static strand_status f_stop_add(void *t, const struct strand_stop *s, uint32_t *id,
				strand_error *err)
{
	struct fake *f = F(t);
	if (f->nstops == 16)
		return strand_error_set(err, STRAND_ERR_NOMEM, "full");
	f->stops[f->nstops] = *s;
	f->stops[f->nstops].id = *id = ++f->next_id;
	f->nstops++;
	return STRAND_OK;
}
static strand_status f_stop_del(void *t, uint32_t id)
{
	struct fake *f = F(t);
	for (uint32_t i = 0; i < f->nstops; i++)
		if (f->stops[i].id == id) {
			f->stops[i] = f->stops[--f->nstops];
			return STRAND_OK;
		}
	return STRAND_NOT_FOUND;
}
static const struct strand_stop *f_stops(void *t, uint32_t *n)
{
	*n = F(t)->nstops;
	return F(t)->stops;
}
static uint32_t f_thread(void *t) { return F(t)->pos >= 20 && F(t)->pos < 30 ? 2 : 1; }
static strand_status f_threads(void *t, uint32_t *tids, uint32_t max, uint32_t *n)
{
	tids[0] = 1;
	tids[1] = 2;
	*n = 2;
	return STRAND_OK;
}
static strand_status f_cpu(void *t, struct strand_cpu *c, strand_error *err)
{
	memset(c, 0, sizeof *c);
	c->gpr[STRAND_REG_RAX] = 2 * F(t)->pos;
	c->gpr[STRAND_REG_RBX] = 0x1000;
	c->gpr[STRAND_REG_RSP] = 0x2000;
	c->gpr[STRAND_REG_RBP] = 0x2100;
	c->rip = CODE + F(t)->pos;
	c->rflags = 0x246;
	return STRAND_OK;
}
static strand_status f_reg(void *t, const char *name, uint64_t *v)
{
	struct strand_cpu c;
	f_cpu(t, &c, NULL);
	static const struct { const char *n; int r; } map[] = {
		{ "eax", STRAND_REG_RAX }, { "ebx", STRAND_REG_RBX },
		{ "ecx", STRAND_REG_RCX }, { "edx", STRAND_REG_RDX },
		{ "esi", STRAND_REG_RSI }, { "edi", STRAND_REG_RDI },
		{ "esp", STRAND_REG_RSP }, { "ebp", STRAND_REG_RBP },
		{ "eip", STRAND_REG_RIP }, { "rip", STRAND_REG_RIP },
		{ "eflags", STRAND_REG_RFLAGS },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i].n, name))
			return strand_cpu_get(&c, (unsigned)map[i].r, v) ? STRAND_OK
									 : STRAND_NOT_FOUND;
	if (!strcmp(name, "al")) {
		*v = c.gpr[0] & 0xff;
		return STRAND_OK;
	}
	return STRAND_NOT_FOUND;
}
static const char *const fake_regs[] = { "eax", "ebx", "ecx", "edx", "esp", "ebp",
					 "eip", NULL };
static const char *const *f_reg_names(void *t) { return fake_regs; }
static size_t f_read(void *t, uint64_t addr, void *buf, size_t len, uint8_t *valid)
{
	struct fake *f = F(t);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		uint64_t a = addr + i;
		int ok = 1;
		uint8_t b = 0;
		if (a >= 0x1000 && a < 0x2000)
			b = f->data[a - 0x1000];
		else if (a >= 0x2000 && a < 0x3000)
			b = f->stack[a - 0x2000];
		else
			ok = 0;
		((uint8_t *)buf)[i] = b;
		if (valid)
			valid[i] = (uint8_t)ok;
		n += (size_t)ok;
	}
	return n;
}
static const struct strand_module *const *f_modules(void *t, uint32_t *n)
{
	*n = 1;
	return F(t)->mods;
}
static strand_status f_symbolize(void *t, uint64_t addr, char *buf, size_t len)
{
	if (addr >= CODE + 0x50 && addr < CODE + 0x100) {
		snprintf(buf, len, addr == CODE + 0x50 ? "test!helper" : "test!helper+0x%llx",
			 (unsigned long long)(addr - CODE - 0x50));
		return STRAND_OK;
	}
	if (addr >= CODE && addr < CODE + 0x50) {
		snprintf(buf, len, addr == CODE ? "test!main" : "test!main+0x%llx",
			 (unsigned long long)(addr - CODE));
		return STRAND_OK;
	}
	snprintf(buf, len, "0x%llx", (unsigned long long)addr);
	return STRAND_NOT_FOUND;
}
static strand_status f_lookup(void *t, const char *name, uint64_t *addr)
{
	/* "test!main" reaches here as "test.exe!main" (module stems) */
	if (!strcmp(name, "test.exe!main") || !strcmp(name, "main"))
		*addr = CODE;
	else if (!strcmp(name, "test.exe!helper") || !strcmp(name, "helper"))
		*addr = CODE + 0x50;
	else if (!strcmp(name, "A::B"))
		*addr = 0x1234;
	else
		return STRAND_NOT_FOUND;
	return STRAND_OK;
}
static strand_status f_disas(void *t, uint64_t addr, char *buf, size_t len,
			     uint32_t *ilen)
{
	if (addr < CODE || addr >= CODE + 0x200)
		return STRAND_ERR_INVALID;
	snprintf(buf, len, "nop");
	if (ilen)
		*ilen = 1;
	return STRAND_OK;
}

static const struct qtarget_ops fake_ops = {
	f_position, f_end, f_seek, f_step, f_over, f_out, f_run, f_stop_add,
	f_stop_del, f_stops, f_thread, f_threads, f_cpu, f_reg, f_reg_names, f_read,
	f_modules, f_symbolize, f_lookup, f_disas,
};

static const char *f_sysname(struct strand_query *q, uint64_t n)
{
	return n == 0x25 ? "NtCreateFile" : NULL;
}
static void f_describe(struct strand_query *q, uint64_t v, bool sc, char *buf, size_t len)
{
	snprintf(buf, len, "%s", v == 0xC000000E ? "STATUS_NO_SUCH_DEVICE" : "");
}
static const struct qext fake_ext = { .syscall_name = f_sysname, .describe = f_describe };

static struct fake fk;
static struct strand_query *q;
static struct strand_query_result res;

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void setup(void)
{
	memset(&fk, 0, sizeof fk);
	memcpy(fk.data, "Hello", 6);
	memcpy(fk.data + 0x10, "H\0i\0\0\0", 6);
	put32(fk.data + 0x20, 0xdeadbeef);
	put32(fk.stack, 0x1020);               /* [esp] -> the dword */
	put32(fk.stack + 0x100, 0x2200);       /* frame at ebp=0x2100 */
	put32(fk.stack + 0x104, CODE + 0x60);  /* returns into helper */
	put32(fk.stack + 0x200, 0);            /* end of chain */
	put32(fk.stack + 0x204, CODE + 0x10);
	fk.syms[0] = (struct strand_symbol){ CODE, 0x50, STRAND_SYM_FUNC, "main", "" };
	fk.syms[1] = (struct strand_symbol){ CODE + 0x50, 0x50, STRAND_SYM_FUNC, "helper", "" };
	fk.mod = (struct strand_module){ .id = 1, .flags = STRAND_MODULE_F_MAIN,
					 .base = 0x400000, .size = 0x10000,
					 .name = "test.exe", .path = "C:\\test.exe",
					 .nsyms = 2, .syms = fk.syms };
	fk.mods[0] = &fk.mod;

	struct strand_query_event *ev = calloc(3, sizeof *ev);
	cr_assert(ev);
	ev[0] = (struct strand_query_event){ .index = 0, .position = 10,
					     .type = STRAND_REC_SYSCALL, .tid = 1,
					     .pc = CODE + 10, .number = 0x25,
					     .result = 0xC000000E, .failed = true };
	ev[1] = (struct strand_query_event){ .index = 1, .position = 20,
					     .type = STRAND_REC_THREAD_SWITCH, .tid = 2 };
	ev[2] = (struct strand_query_event){ .index = 2, .position = 30,
					     .type = STRAND_REC_SYSCALL, .tid = 1,
					     .pc = CODE + 30, .number = 0x19 };
	strand_error err;
	cr_assert_eq(qsession_new(&fake_ops, &fk, STRAND_ARCH_X86_32,
				  STRAND_ABI_WINDOWS_NT, NULL, ev, 3, &q, &err),
		     STRAND_OK, "%s", err.msg);
	q->ext = &fake_ext;
	memset(&res, 0, sizeof res);
}

static void teardown(void)
{
	strand_query_result_fini(&res);
	strand_query_free(q);
}

/* Run a command, expect success, return the JSON line. */
static const char *ok(const char *cmd)
{
	strand_error err;
	strand_status st = strand_query_exec(q, cmd, &res, &err);
	cr_assert_geq(st, 0, "'%s' failed: %s", cmd, err.msg);
	return res.json;
}

static const char *fails(const char *cmd, const char *msg_part)
{
	strand_error err;
	strand_status st = strand_query_exec(q, cmd, &res, &err);
	cr_assert_lt(st, 0, "'%s' should fail", cmd);
	cr_assert(strstr(err.msg, msg_part), "'%s': message '%s' lacks '%s'", cmd,
		  err.msg, msg_part);
	cr_assert(strstr(res.json, "\"ok\":false"), "%s", res.json);
	return res.json;
}

#define HAS(s, part) cr_assert(strstr((s), (part)), "'%s' lacks '%s'", (s), (part))

TestSuite(query, .init = setup, .fini = teardown);

/* ---- expressions ---- */

static uint64_t ev(const char *e)
{
	uint64_t v = 0;
	strand_error err;
	cr_assert_eq(strand_query_eval(q, e, &v, &err), STRAND_OK, "'%s': %s", e, err.msg);
	return v;
}

Test(query, eval_computes_numbers_with_c_precedence)
{
	cr_assert_eq(ev("0x10"), 16);
	cr_assert_eq(ev("10"), 10);
	cr_assert_eq(ev("0n10"), 10);
	cr_assert_eq(ev("1+2*3"), 7);
	cr_assert_eq(ev("(1+2)*3"), 9);
	cr_assert_eq(ev("1 << 4 | 1"), 17);
	cr_assert_eq(ev("0xff & ~0xf"), 0xf0);
	cr_assert_eq(ev("7 ^ 2"), 5);
	cr_assert_eq(ev("-1"), UINT64_MAX);
	cr_assert_eq(ev("100 / 7 % 4"), 2);
	cr_assert_eq(ev("0x7c90`e4f4"), 0x7c90e4f4);
	cr_assert_eq(ev("0x80000000 >> 31"), 1);
}

Test(query, eval_compares_and_combines_for_conditions)
{
	cr_assert_eq(ev("1 == 1"), 1);
	cr_assert_eq(ev("1 != 1"), 0);
	cr_assert_eq(ev("2 < 3 && 3 <= 3"), 1);
	cr_assert_eq(ev("2 > 3 || 4 >= 5"), 0);
	cr_assert_eq(ev("!0 + !5"), 1);
	cr_assert_eq(ev("1 << 2 < 5"), 1, "shifts bind tighter than comparisons");
	cr_assert_eq(ev("3 & 1 == 1"), 1, "as in C: == before &");
	cr_assert_eq(ev("-1 > 0"), 1, "unsigned");
}

Test(query, eval_reads_registers_symbols_and_memory)
{
	fk.pos = 5;
	cr_assert_eq(ev("eax"), 10);
	cr_assert_eq(ev("@eax + 1"), 11);
	cr_assert_eq(ev("test!main+0x10"), CODE + 0x10);
	cr_assert_eq(ev("test.exe!main+0x10"), CODE + 0x10);
	cr_assert_eq(ev("TEST!helper"), CODE + 0x50);
	cr_assert_eq(ev("helper"), CODE + 0x50);
	cr_assert_eq(ev("A::B"), 0x1234);
	cr_assert_eq(ev("[esp]"), 0x1020);
	cr_assert_eq(ev("[[esp]]"), 0xdeadbeef);
	cr_assert_eq(ev("[ebx + 0x20] & 0xffff"), 0xbeef);
}

struct bad_expr { char expr[32]; char msg[64]; };
static struct bad_expr bad_exprs[] = {
	{ "", "expected a value at column 1" },
	{ "1+", "expected a value at column 3" },
	{ "(1", "expected ')'" },
	{ "[ebx", "expected ']'" },
	{ "1)", "unbalanced bracket" },
	{ "5/0", "division by zero" },
	{ "nosuch", "unknown register or symbol 'nosuch'" },
	{ "@main", "unknown register 'main'" },
	{ "12ab", "hex needs 0x" },
	{ "0x", "expected digits" },
	{ "99999999999999999999", "number too large" },
	{ "[0x10]", "not mapped" },
	{ "1 # 2", "unexpected text after the expression at column 3" },
	{ "$", "unknown register or symbol" },
};

ParameterizedTestParameters(query, eval_rejects_bad_expressions_with_where)
{
	return cr_make_param_array(struct bad_expr, bad_exprs,
				   sizeof bad_exprs / sizeof bad_exprs[0]);
}

ParameterizedTest(struct bad_expr *b, query, eval_rejects_bad_expressions_with_where)
{
	uint64_t v;
	strand_error err;
	cr_assert_lt(strand_query_eval(q, b->expr, &v, &err), 0, "'%s'", b->expr);
	cr_assert(strstr(err.msg, b->msg), "'%s': got '%s', want '%s'", b->expr,
		  err.msg, b->msg);
}

Test(query, eval_refuses_absurd_nesting)
{
	char e[400];
	memset(e, '(', 300);
	e[300] = '1';
	memset(e + 301, ')', 1);
	e[302] = '\0';
	uint64_t v;
	strand_error err;
	cr_assert_lt(strand_query_eval(q, e, &v, &err), 0);
	cr_assert(strstr(err.msg, "nested too deeply"), "%s", err.msg);
}

/* ---- splitting ---- */

static int collect(void *ud, const char *cmd)
{
	char *acc = ud;
	strcat(acc, "<");
	strcat(acc, cmd);
	strcat(acc, ">");
	return 0;
}

Test(query, split_separates_commands_outside_quotes_and_brackets)
{
	char acc[256] = "";
	strand_query_split(" step ; mem [esp;x] 4;find \"a;b\" # c; d", collect, acc);
	cr_assert_str_eq(acc, "<step><mem [esp;x] 4><find \"a;b\">");
	acc[0] = '\0';
	strand_query_split("# only a comment", collect, acc);
	cr_assert_str_eq(acc, "");
	acc[0] = '\0';
	strand_query_split("print 1#2", collect, acc);
	cr_assert_str_eq(acc, "<print 1#2>");
}

Test(query, words_keep_brackets_and_quotes_together)
{
	struct qargs a;
	cr_assert_eq(qargs_split("mem  [esp + 4]  'a b' (1 + 2)", &a, NULL), STRAND_OK);
	cr_assert_eq(a.argc, 4);
	cr_assert_str_eq(a.argv[1], "[esp + 4]");
	cr_assert_str_eq(a.argv[2], "a b");
	cr_assert_str_eq(a.argv[3], "(1 + 2)");
	strand_error err;
	cr_assert_lt(qargs_split("mem [esp", &a, &err), 0);
	cr_assert(strstr(err.msg, "unclosed bracket"));
	cr_assert_lt(qargs_split("find \"abc", &a, &err), 0);
	cr_assert(strstr(err.msg, "unclosed quote"));
}

/* ---- the envelope and errors ---- */

Test(query, exec_wraps_results_in_one_json_line)
{
	strand_query_set_source(q, "s.txt", 7);
	const char *j = ok("pos");
	HAS(j, "{\"command\":\"pos\",\"line\":7,\"ok\":true,\"result\":{\"position\":0,");
	HAS(j, "\"status\":\"ok\",\"position\":0,\"tid\":1}");
	cr_assert_eq(strchr(j, '\n'), j + strlen(j) - 1, "exactly one line: %s", j);
	HAS(res.text, "position 0  tid 1  0x401000 test!main: nop");
}

Test(query, exec_blank_and_comment_lines_do_nothing)
{
	ok("   ");
	cr_assert_str_eq(res.json, "");
	cr_assert_str_eq(res.text, "");
	ok("# comment");
	cr_assert_str_eq(res.json, "");
}

struct bad_cmd { char cmd[40]; char msg[80]; };
static struct bad_cmd bad_cmds[] = {
	{ "frobnicate", "unknown command 'frobnicate' (try 'help')" },
	{ "step 1 2", "step: usage: step [N]" },
	{ "break", "break: usage: break ADDR|module!sym" },
	{ "seek 1000", "seek: position 1000 is past the end (100)" },
	{ "seek event bogus", "neither an event type" },
	{ "seek event 99", "event index 99 out of range (the trace has 3 events)" },
	{ "step 0", "count 0 out of range" },
	{ "mem zz", "mem: cannot evaluate 'zz': unknown register or symbol 'zz'" },
	{ "mem 0x10 4", "mem: memory at 0x10 (4 bytes) is not mapped" },
	{ "mem u32", "usage: mem [u8|u16|u32|u64|ptr|str|wstr]" },
	{ "watch x 1 2", "usage: watch [r|w|rw] ADDR LEN" },
	{ "watch w 0x1000 0", "watch length 0 out of range" },
	{ "delete 42", "no stop with id 42" },
	{ "reg xmm99", "unknown register 'xmm99'" },
	{ "syscalls --bogus", "unknown option '--bogus'" },
	{ "calls main", "calls: not available for this target" },
	{ "help nope", "unknown command 'nope'" },
	{ "thread 7", "thread 7 does not run after position 0" },
	{ "disas 0x10", "cannot disassemble at 0x10" },
	{ "events nope", "unknown event type 'nope'" },
	{ "bt xyz", "usage: bt [fp]" },
	{ "mem [esp", "unclosed bracket" },
};

ParameterizedTestParameters(query, exec_reports_bad_commands_clearly)
{
	return cr_make_param_array(struct bad_cmd, bad_cmds,
				   sizeof bad_cmds / sizeof bad_cmds[0]);
}

ParameterizedTest(struct bad_cmd *b, query, exec_reports_bad_commands_clearly)
{
	strand_query_set_source(q, "script", 3);
	const char *j = fails(b->cmd, b->msg);
	HAS(j, "\"line\":3,\"ok\":false,\"error\":{\"status\":");
	cr_assert_str_eq(res.text, "");
}

/* ---- navigation ---- */

Test(query, seek_moves_absolute_relative_and_to_the_ends)
{
	HAS(ok("seek 40"), "\"position\":40");
	HAS(ok("seek +5"), "\"position\":45");
	HAS(ok("seek -0x5"), "\"position\":40");
	HAS(ok("seek -1000"), "\"position\":0");
	HAS(ok("seek end"), "\"position\":100");
	HAS(ok("seek start"), "\"position\":0");
	HAS(ok("s 2*10"), "\"position\":20");
}

Test(query, seek_event_finds_events_by_type_and_index)
{
	const char *j = ok("seek event syscall");
	HAS(j, "\"event\":{\"index\":0,\"position\":10,\"type\":\"syscall\"");
	HAS(j, "\"name\":\"NtCreateFile\",");
	HAS(j, "\"result\":\"0xc000000e\",\"result_text\":\"STATUS_NO_SUCH_DEVICE\",\"failed\":true");
	HAS(ok("seek event syscall"), "\"position\":30");
	HAS(ok("seek event syscall -1"), "\"index\":0");
	HAS(ok("seek event 1"), "\"type\":\"thread-switch\"");
	cr_assert_eq(fk.pos, 20);
	ok("seek end");
	cr_assert_eq(strand_query_exec(q, "seek event syscall", &res, NULL), STRAND_NOT_FOUND);
	HAS(res.json, "\"event\":null");
	HAS(res.text, "no further syscall event");
}

Test(query, step_back_next_prev_finish_move_and_report_the_ends)
{
	HAS(ok("step"), "\"position\":1");
	HAS(ok("step 9"), "\"position\":10");
	HAS(ok("back 3"), "\"position\":7");
	HAS(ok("next 2"), "\"position\":9");
	HAS(ok("prev"), "\"position\":8");
	HAS(ok("finish"), "\"position\":18");
	HAS(ok("rfinish"), "\"position\":8");
	cr_assert_eq(strand_query_exec(q, "back 100", &res, NULL), STRAND_END);
	HAS(res.json, "\"reached\":\"start\"");
	HAS(res.json, "\"status\":\"end\"");
	HAS(res.text, "reached the start of the trace");
}

Test(query, break_continue_and_list_stop_where_asked)
{
	HAS(ok("break test!main+0x20"), "\"stop\":{\"id\":1,\"kind\":\"break\",\"address\":\"0x401020\"");
	HAS(res.text, "breakpoint 1 at 0x401020 (test!main+0x20)");
	HAS(ok("watch rw ebx 4"), "\"kind\":\"watch\",\"address\":\"0x1000\",\"length\":4,\"access\":\"rw\"");
	ok("list");
	HAS(res.json, "\"stops\":[{\"id\":1,");
	HAS(res.text, "break  0x401020");
	cr_assert_eq(strand_query_exec(q, "continue", &res, NULL), STRAND_STOPPED);
	HAS(res.json, "\"hit\":{\"id\":1,\"kind\":\"break\",\"address\":\"0x401020\",\"position\":32}");
	HAS(res.json, "\"status\":\"stopped\",\"position\":32");
	cr_assert_eq(strand_query_exec(q, "continue", &res, NULL), STRAND_END);
	cr_assert_eq(strand_query_exec(q, "rcontinue", &res, NULL), STRAND_STOPPED);
	HAS(ok("delete 1 2"), "\"deleted\":[1,2]");
	ok("list");
	HAS(res.text, "no breakpoints or watchpoints");
}

Test(query, conditional_temporary_and_disabled_stops_count_their_hits)
{
	/* a false condition is run past */
	ok("break test!main+0x20 if eax == 0x777");
	cr_assert_eq(strand_query_exec(q, "continue", &res, NULL), STRAND_END);
	ok("seek 0");
	ok("delete all");
	HAS(ok("break test!main+0x20 if eip == 0x401020"), "\"condition\":\"eip == 0x401020\"");
	cr_assert_eq(strand_query_exec(q, "continue", &res, NULL), STRAND_STOPPED);
	HAS(res.json, "\"hit\":{\"id\":2,");
	HAS(res.json, "\"position\":32");
	ok("list");
	HAS(res.text, "if eip == 0x401020  (hit 1 time)");
	HAS(res.json, "\"hits\":1");
	/* tbreak: once */
	ok("seek 0");
	HAS(ok("tbreak test!main+0x10"), "\"temporary\":true");
	cr_assert_eq(strand_query_exec(q, "continue", &res, NULL), STRAND_STOPPED);
	HAS(res.json, "\"position\":16");
	HAS(res.text, "temporary breakpoint 3 deleted");
	ok("list");
	cr_assert_null(strstr(res.json, "\"id\":3"), "%s", res.json);
	/* disabled: kept, not stopped at; enabled again: stops */
	HAS(ok("disable 2"), "\"disabled\":[2]");
	ok("list");
	HAS(res.text, "[disabled]");
	cr_assert_eq(strand_query_exec(q, "continue", &res, NULL), STRAND_END);
	ok("seek 0");
	HAS(ok("enable 2"), "\"enabled\":[2]");
	cr_assert_eq(strand_query_exec(q, "continue", &res, NULL), STRAND_STOPPED);
	HAS(res.json, "\"position\":32");
	ok("list");
	HAS(res.text, "(hit 2 times)");
	fails("disable 9", "no stop with id 9");
	fails("break test!main if", "usage: break ADDR [if EXPR]");
	fails("break test!main if eax ==", "condition:");
}

Test(query, negative_counts_are_errors_that_show_the_number)
{
	fails("step -5", "count -5 is negative");
	fails("back -1", "count -1 is negative");
	fails("next -2", "count -2 is negative");
	fails("mem esp -4", "count -4 is negative");
	fails("syscalls --limit -3", "--limit -3 is negative");
}

Test(query, seek_takes_a_share_of_the_trace_and_offsets_from_its_ends)
{
	HAS(ok("seek 50%"), "\"position\":50");
	HAS(ok("seek 100%"), "\"position\":100");
	HAS(ok("seek end-10"), "\"position\":90");
	HAS(ok("seek start+3"), "\"position\":3");
	HAS(ok("seek end+5"), "\"position\":100");
	HAS(ok("seek start-5"), "\"position\":0");
	fails("seek 101%", "not a share of the trace");
}

Test(query, gdb_and_windbg_spellings_run_the_commands_they_mean)
{
	HAS(ok("si"), "\"command\":\"step\"");
	HAS(res.json, "\"position\":1");
	HAS(ok("ni"), "\"command\":\"next\"");
	HAS(ok("rsi"), "\"command\":\"back\"");
	HAS(ok("reverse-stepi"), "\"position\":0");
	HAS(ok("x/2x esp"), "\"command\":\"mem\"");
	HAS(res.json, "\"type\":\"u32\"");
	HAS(ok("x/4bx esp"), "\"type\":\"u8\"");
	HAS(ok("x/3i eip"), "\"command\":\"disas\"");
	HAS(ok("dd esp L2"), "\"type\":\"u32\"");
	HAS(ok("dq esp l 1"), "\"type\":\"u64\"");
	HAS(ok("r eax"), "\"registers\":{\"eax\":");
	HAS(ok("info reg eax"), "\"registers\":{\"eax\":");
	HAS(ok("info registers"), "\"command\":\"regs\"");
	HAS(ok("info breakpoints"), "\"command\":\"list\"");
	HAS(ok("p/x eax + 1"), "\"command\":\"print\"");
	HAS(ok("ba w4 ebx"), "\"kind\":\"watch\",\"address\":\"0x1000\",\"length\":4,\"access\":\"w\"");
	HAS(ok("ba r2 ebx"), "\"access\":\"rw\"");
	HAS(ok("ba e1 test!main+0x20"), "\"kind\":\"break\"");
	HAS(ok("!tt 100"), "\"position\":100");
	HAS(ok("!tt 50"), "\"position\":50");
	HAS(ok("!tt 0x10"), "\"position\":16");
	HAS(ok("t-"), "\"position\":15");
	HAS(ok("p-"), "\"command\":\"prev\"");
	HAS(ok("when"), "\"command\":\"pos\"");
	cr_assert_eq(strand_query_exec(q, "g-", &res, NULL), STRAND_END);
	HAS(res.json, "\"command\":\"rcontinue\"");
	cr_assert_eq(strand_query_exec(q, "c", &res, NULL), STRAND_STOPPED);
	HAS(res.json, "\"command\":\"continue\"");
	/* p is WinDbg's step over; gdb's print is print, p/FMT or ? */
	HAS(ok("p"), "\"command\":\"next\"");
	cr_assert(strand_query_is_motion("si"));
	cr_assert(strand_query_is_motion("  reverse-continue"));
	cr_assert(strand_query_is_motion("step 5"));
	cr_assert_not(strand_query_is_motion("mem esp"));
	cr_assert_not(strand_query_is_motion("step; mem esp"));
}

/* ---- state ---- */

Test(query, regs_and_reg_show_values_both_ways)
{
	ok("seek 3");
	HAS(ok("regs"), "\"registers\":{\"eax\":\"0x6\",\"ebx\":\"0x1000\"");
	HAS(res.text, "eax     00000006");
	HAS(ok("reg eax al"), "\"registers\":{\"eax\":\"0x6\",\"al\":\"0x6\"}");
	HAS(res.text, "eax = 0x6 (6)");
	HAS(ok("print eax*2 + test!main"), "\"value\":\"0x40100c\"");
	HAS(res.text, "0x40100c = 4198412 = test!main+0xc");
}

Test(query, mem_dumps_hex_and_reads_typed_values)
{
	ok("mem ebx 8");
	HAS(res.json, "\"address\":\"0x1000\",\"length\":8,\"bytes\":\"48656c6c6f000000\"");
	HAS(res.text, "00001000  48 65 6c 6c 6f 00 00 00");
	HAS(res.text, "Hello...");
	HAS(ok("mem u32 ebx+0x20"), "\"type\":\"u32\",\"values\":[\"0xdeadbeef\"]");
	HAS(ok("mem u16 ebx+0x20 2"), "\"values\":[\"0xbeef\",\"0xdead\"]");
	HAS(ok("mem u8 ebx 2"), "\"values\":[\"0x48\",\"0x65\"]");
	HAS(ok("mem u64 ebx+0x20"), "\"values\":[\"0xdeadbeef\"]");
	HAS(ok("mem str ebx"), "\"string\":\"Hello\",\"length\":5,\"terminated\":true");
	HAS(res.text, "0x1000: \"Hello\"");
	HAS(ok("mem wstr ebx+0x10"), "\"type\":\"wstr\",\"string\":\"Hi\"");
	HAS(res.text, "L\"Hi\"");
	HAS(ok("mem str ebx 3"), "\"string\":\"Hel\",\"length\":3,\"terminated\":false");
	HAS(ok("mem ptr esp"), "\"values\":[\"0x1020\"]");
	/* partly mapped: unmapped bytes are ?? and null */
	HAS(ok("mem 0x2ffe 4"), "\"bytes\":\"0000????\"");
	HAS(ok("mem u32 0x2ffc 2"), "\"values\":[\"0x0\",null]");
}

Test(query, disas_bt_threads_modules_sym)
{
	ok("seek 2");
	HAS(ok("disas"), "\"instructions\":[{\"address\":\"0x401002\",\"symbol\":\"test!main+0x2\"");
	HAS(res.text, "=> 0x00401002");
	HAS(ok("disas helper 2"), "{\"address\":\"0x401051\",\"symbol\":\"test!helper+0x1\"");
	HAS(ok("bt"), "\"method\":\"frame-pointer\",\"frames\":[{\"frame\":0,\"pc\":\"0x401002\"");
	HAS(res.json, "{\"frame\":1,\"pc\":\"0x401060\",\"symbol\":\"test!helper+0x10\"}");
	HAS(res.json, "{\"frame\":2,\"pc\":\"0x401010\"");
	HAS(res.text, "#1  0x00401060 test!helper+0x10");
	HAS(ok("threads"), "\"current\":1,\"threads\":[1,2]");
	HAS(res.text, "* tid 1");
	HAS(ok("thread 2"), "\"position\":20");
	HAS(ok("modules"), "\"modules\":[{\"name\":\"test.exe\",\"path\":\"C:\\\\test.exe\",\"base\":\"0x400000\"");
	HAS(ok("sym helper"), "\"address\":\"0x401050\",\"symbol\":\"test!helper\"");
	HAS(ok("sym 0x401055"), "\"symbol\":\"test!helper+0x5\"");
	HAS(ok("sym 0x5"), "\"symbol\":null");
}

Test(query, syscalls_and_events_list_the_index)
{
	HAS(ok("syscalls"), "\"count\":2");
	HAS(ok("syscalls --failed"), "\"count\":1,\"truncated\":false");
	HAS(res.json, "\"number\":\"0x25\",\"name\":\"NtCreateFile\"");
	HAS(res.text, "NtCreateFile");
	HAS(res.text, "0xc000000e");
	HAS(res.text, "STATUS_NO_SUCH_DEVICE");
	HAS(res.text, "FAILED");
	HAS(ok("events thread-switch"), "\"events\":[{\"index\":1,\"position\":20,\"type\":\"thread-switch\",\"tid\":2}]");
}

Test(query, help_lists_and_explains_every_command)
{
	ok("help");
	for (const struct qcmd *c = qcmd_table; c->name; c++)
		HAS(res.text, c->synopsis);
	HAS(ok("help seek"), "\"name\":\"seek\"");
	HAS(res.text, "seek event syscall");
	HAS(ok("help db"), "\"name\":\"mem\""); /* aliases */
}

Test(query, quit_is_reported_in_the_result)
{
	ok("quit");
	cr_assert(res.quit);
	ok("pos");
	cr_assert(!res.quit);
}

static void add(void *ud, const char *cand)
{
	char *acc = ud;
	strcat(acc, cand);
	strcat(acc, " ");
}

Test(query, completion_offers_commands_registers_and_symbols)
{
	char acc[1024] = "";
	strand_query_complete(q, "re", true, add, acc);
	cr_assert_str_eq(acc, "regs reg report ");
	acc[0] = '\0';
	strand_query_complete(q, "eb", false, add, acc);
	cr_assert_str_eq(acc, "ebx ebp ");
	acc[0] = '\0';
	strand_query_complete(q, "te", false, add, acc);
	cr_assert_str_eq(acc, "test! ");
	acc[0] = '\0';
	strand_query_complete(q, "test!h", false, add, acc);
	cr_assert_str_eq(acc, "test!helper ");
	acc[0] = '\0';
	strand_query_complete(q, "sys", false, add, acc);
	cr_assert_str_eq(acc, "syscall ");
}

Test(query, prompt_shows_position_thread_and_symbol)
{
	char p[256];
	fk.pos = 21;
	strand_query_prompt(q, p, sizeof p);
	cr_assert_str_eq(p, "[21 t2] test!main+0x15> ");
}

Test(query, syscall_failure_follows_the_abi)
{
	cr_assert(strand_query_syscall_failed(STRAND_ABI_WINDOWS_NT, 0xC000000E));
	cr_assert(!strand_query_syscall_failed(STRAND_ABI_WINDOWS_NT, 0x80000005));
	cr_assert(!strand_query_syscall_failed(STRAND_ABI_WINDOWS_NT, 0));
	cr_assert(strand_query_syscall_failed(STRAND_ABI_LINUX, (uint64_t)-2));
	cr_assert(!strand_query_syscall_failed(STRAND_ABI_LINUX, 0x7fff0000));
}
