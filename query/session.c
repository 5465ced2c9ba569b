/*
 * Query sessions: dispatch of one command line through the command table,
 * and the JSON envelope around every result (docs/query.md, "JSON").
 *
 *   {"command":"reg","line":3,"ok":true,"result":{...},
 *    "status":"ok","position":1234,"tid":1}
 *   {"command":"mem","line":4,"ok":false,
 *    "error":{"status":"invalid argument","message":"mem: ..."}}
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query/query_int.h"
#include "strand/knowledge.h"

strand_status qsession_new(const struct qtarget_ops *ops, void *t,
			   strand_arch arch, strand_abi abi,
			   const struct strand_query_options *opt,
			   struct strand_query_event *events, uint64_t nevents,
			   struct strand_query **out, strand_error *err)
{
	struct strand_query *q = calloc(1, sizeof *q);
	if (!q) {
		free(events);
		return strand_error_set(err, STRAND_ERR_NOMEM,
					"cannot allocate query session");
	}
	q->ops = ops;
	q->t = t;
	q->arch = arch;
	q->abi = abi;
	q->ptr_size = arch == STRAND_ARCH_X86_64 ? 8 : 4;
	q->events = events;
	q->nevents = nevents;
	q->max_rows = opt && opt->max_rows ? opt->max_rows : 1000;
	*out = q;
	return STRAND_OK;
}

void strand_query_free(struct strand_query *q)
{
	if (!q)
		return;
	if (q->ext_free)
		q->ext_free(q->ext_ud);
	free(q->events);
	free(q->stops);
	free(q);
}

void strand_query_set_source(struct strand_query *q, const char *source,
			     unsigned line)
{
	snprintf(q->source, sizeof q->source, "%s", source ? source : "");
	q->line = line;
}

void strand_query_set_interrupt(struct strand_query *q, volatile sig_atomic_t *flag)
{
	q->interrupt = flag;
}

void strand_query_set_cancel(struct strand_query *q, bool (*cancel)(void *ud), void *ud)
{
	q->cancel = cancel;
	q->cancel_ud = ud;
}

bool qinterruptible(const struct strand_query *q)
{
	return q->interrupt || q->cancel;
}

bool qinterrupted(struct strand_query *q)
{
	if (q->interrupt && *q->interrupt) {
		*q->interrupt = 0;
		return true;
	}
	return q->cancel && q->cancel(q->cancel_ud);
}

bool strand_query_is_motion(const char *line)
{
	static const char *const motion[] = { "step", "back", "next", "prev", "finish",
					      "rfinish", "continue", "rcontinue", NULL };
	char buf[1024];
	qalias_expand(line, buf, sizeof buf);
	char first[64];
	size_t k = 0;
	const char *p = buf;
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != ' ' && *p != '\t' && *p != ';' && k < sizeof first - 1)
		first[k++] = *p++;
	first[k] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	const struct qcmd *c = qcmd_find(first);
	if (!c || strchr(p, ';'))
		return false;
	for (const char *const *m = motion; *m; m++)
		if (!strcmp(c->name, *m))
			return true;
	return false;
}

const struct strand_query_event *strand_query_events(const struct strand_query *q,
						     uint64_t *n)
{
	*n = q->nevents;
	return q->events;
}

bool strand_query_syscall_failed(strand_abi abi, uint64_t result)
{
	/* one definition of failure: the knowledge part's (x86-64 for Linux,
	 * whose 64-bit results also cover sign-extended 32-bit ones) */
	return strand_syscall_failed(abi, abi == STRAND_ABI_LINUX ? STRAND_ARCH_X86_64
								  : STRAND_ARCH_X86_32, result);
}

/* ===================================================================== */
/* Expression environment                                                 */
/* ===================================================================== */

static strand_status env_reg(void *ud, const char *name, uint64_t *v)
{
	struct strand_query *q = ud;
	return q->ops->reg(q->t, name, v) == STRAND_OK ? STRAND_OK : STRAND_NOT_FOUND;
}

/* "module!symbol" where module may be written without its extension
 * (ntdll!NtCreateFile for ntdll.dll), as debuggers let you. */
static strand_status env_sym(void *ud, const char *name, uint64_t *v)
{
	struct strand_query *q = ud;
	if (q->ops->lookup(q->t, name, v) == STRAND_OK)
		return STRAND_OK;
	const char *bang = strchr(name, '!');
	if (!bang || memchr(name, '.', (size_t)(bang - name)))
		return STRAND_NOT_FOUND;
	size_t stem = (size_t)(bang - name);
	uint32_t n = 0;
	const struct strand_module *const *m = q->ops->modules(q->t, &n);
	for (uint32_t i = 0; i < n; i++) {
		const char *mn = m[i]->name;
		const char *dot = strrchr(mn, '.');
		size_t ml = dot ? (size_t)(dot - mn) : strlen(mn);
		if (ml != stem || strncasecmp(mn, name, stem) != 0)
			continue;
		char full[512];
		snprintf(full, sizeof full, "%s%s", mn, bang);
		if (q->ops->lookup(q->t, full, v) == STRAND_OK)
			return STRAND_OK;
	}
	return STRAND_NOT_FOUND;
}

static bool env_read(void *ud, uint64_t addr, void *buf, size_t len)
{
	struct strand_query *q = ud;
	return q->ops->read(q->t, addr, buf, len, NULL) == len;
}

void qsession_env(struct strand_query *q, struct qexpr_env *env)
{
	env->ud = q;
	env->reg = env_reg;
	env->sym = env_sym;
	env->read = env_read;
	env->ptr_size = q->ptr_size;
}

strand_status qeval(struct strand_query *q, const char *s, uint64_t *val,
		    strand_error *err)
{
	struct qexpr_env env;
	qsession_env(q, &env);
	return qexpr_eval(&env, s, val, err);
}

strand_status strand_query_eval(struct strand_query *q, const char *expr,
				uint64_t *val, strand_error *err)
{
	return qeval(q, expr, val, err);
}

void qsym(struct strand_query *q, uint64_t addr, char *buf, size_t len)
{
	if (q->ops->symbolize(q->t, addr, buf, len) < 0 || !buf[0])
		snprintf(buf, len, "0x%" PRIx64, addr);
}

static uint64_t current_pc(struct strand_query *q)
{
	struct strand_cpu cpu;
	if (q->ops->cpu(q->t, &cpu, NULL) == STRAND_OK)
		return cpu.rip;
	uint64_t v = 0;
	q->ops->reg(q->t, "rip", &v);
	return v;
}

void qwhere(struct strand_query *q, struct qout *o)
{
	uint64_t pos = q->ops->position(q->t);
	uint32_t tid = q->ops->thread(q->t);
	uint64_t pc = current_pc(q);
	char sym[256], insn[128] = "";
	qsym(q, pc, sym, sizeof sym);
	if (q->ops->disas(q->t, pc, insn, sizeof insn, NULL) < 0)
		snprintf(insn, sizeof insn, "(cannot disassemble)");
	if (strncmp(sym, "0x", 2) == 0) /* no module: the address says it all */
		qtext(o, "position %" PRIu64 "  tid %" PRIu32 "  0x%" PRIx64 ": %s\n", pos,
		      tid, pc, insn);
	else
		qtext(o, "position %" PRIu64 "  tid %" PRIu32 "  0x%" PRIx64 " %s: %s\n",
		      pos, tid, pc, sym, insn);
	strand_json_uint_field(o->j, "position", pos);
	strand_json_uint_field(o->j, "tid", tid);
	strand_json_hex_field(o->j, "pc", pc);
	strand_json_string_field(o->j, "symbol", sym);
	strand_json_string_field(o->j, "instruction", insn);
}

void strand_query_prompt(struct strand_query *q, char *buf, size_t len)
{
	char sym[200];
	qsym(q, current_pc(q), sym, sizeof sym);
	snprintf(buf, len, "[%" PRIu64 " t%" PRIu32 "] %s> ",
		 q->ops->position(q->t), q->ops->thread(q->t), sym);
}

/* ===================================================================== */
/* Running a command                                                      */
/* ===================================================================== */

void strand_query_result_fini(struct strand_query_result *res)
{
	if (!res)
		return;
	free(res->text);
	free(res->json);
	memset(res, 0, sizeof *res);
}

static void envelope_start(struct strand_query *q, struct qout *o, const char *name)
{
	strand_json_start_object(o->j);
	strand_json_string_field(o->j, "command", name);
	if (q->line)
		strand_json_uint_field(o->j, "line", q->line);
}

/* Replace whatever `o` holds by the JSON error object. */
static void write_error(struct strand_query *q, struct qout *o, const char *name,
			const strand_error *e)
{
	qout_discard(o);
	if (qout_open(o, NULL) < 0)
		return;
	envelope_start(q, o, name);
	strand_json_bool_field(o->j, "ok", false);
	strand_json_name(o->j, "error");
	strand_json_start_object(o->j);
	strand_json_string_field(o->j, "status", strand_status_str(e->status));
	strand_json_string_field(o->j, "message", e->msg);
	strand_json_end_object(o->j);
	strand_json_end_object(o->j);
}

static const char *status_word(strand_status st)
{
	switch (st) {
	case STRAND_END: return "end";
	case STRAND_STOPPED: return "stopped";
	case STRAND_NOT_FOUND: return "not-found";
	default: return "ok";
	}
}

strand_status strand_query_exec(struct strand_query *q, const char *line,
				struct strand_query_result *res,
				strand_error *err)
{
	strand_error local;
	if (!err)
		err = &local;
	strand_error_clear(err);
	strand_query_result_fini(res);

	struct qargs *a = malloc(sizeof *a);
	char *expanded = malloc(sizeof a->buf);
	struct qout o;
	memset(&o, 0, sizeof o);
	const char *name = "";
	strand_status st;
	if (!a || !expanded) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate command");
		goto out;
	}
	/* gdb / WinDbg spellings become the command they mean */
	if (qalias_expand(line, expanded, sizeof a->buf))
		line = expanded;
	if ((st = qargs_split(line, a, err)) < 0) {
		/* name the command if its first word made it through */
		char first[64];
		size_t k = 0;
		while (line[k] == ' ' || line[k] == '\t')
			k++;
		size_t n = strcspn(line + k, " \t");
		snprintf(first, sizeof first, "%.*s", (int)(n < 63 ? n : 63), line + k);
		const struct qcmd *c = line[k + n] ? qcmd_find(first) : NULL;
		if (c) {
			name = c->name;
			strand_error_wrap(err, err ? err->status : STRAND_ERR_INVALID, "%s", c->name);
		}
		goto fail;
	}
	if (a->argc == 0 || a->argv[0][0] == '#') { /* blank or comment */
		st = STRAND_OK;
		goto out;
	}
	name = a->argv[0];
	const struct qcmd *c = qcmd_find(name);
	if (!c) {
		st = strand_error_set(err, STRAND_ERR_INVALID,
				      "unknown command '%s' (try 'help')", name);
		goto fail;
	}
	name = c->name;
	int nargs = a->argc - 1;
	if (nargs < c->min_args || (c->max_args >= 0 && nargs > c->max_args)) {
		st = strand_error_set(err, STRAND_ERR_INVALID, "%s: usage: %s",
				      c->name, c->synopsis);
		goto fail;
	}
	if ((st = qout_open(&o, err)) < 0)
		goto fail;
	envelope_start(q, &o, c->name);
	strand_json_bool_field(o.j, "ok", true);
	strand_json_name(o.j, "result");
	strand_json_start_object(o.j);
	q->cmd_name = c->name;
	st = c->run(q, a, &o, err);
	q->cmd_name = NULL;
	if (st < 0) {
		/* commands say what failed; add which command unless they did */
		if (strncmp(err->msg, c->name, strlen(c->name)) != 0 ||
		    err->msg[strlen(c->name)] != ':')
			strand_error_wrap(err, st, "%s", c->name);
		goto fail;
	}
	strand_json_end_object(o.j);
	strand_json_string_field(o.j, "status", status_word(st));
	strand_json_uint_field(o.j, "position", q->ops->position(q->t));
	strand_json_uint_field(o.j, "tid", q->ops->thread(q->t));
	strand_json_end_object(o.j);
	goto out;
fail:
	write_error(q, &o, name, err);
out:
	qout_close(&o);
	res->status = st;
	res->text = o.tbuf ? o.tbuf : strdup("");
	res->text_len = o.tbuf ? o.tlen : 0;
	res->json = o.jbuf ? o.jbuf : strdup("");
	res->json_len = o.jbuf ? o.jlen : 0;
	res->quit = q->quit;
	q->quit = false;
	free(a);
	free(expanded);
	return st;
}

/* ===================================================================== */
/* Completion                                                             */
/* ===================================================================== */

static const char *const keywords[] = {
	"start", "end", "event", "u8", "u16", "u32", "u64", "ptr", "str", "wstr",
	"r", "w", "rw", "--failed", NULL,
};

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void strand_query_complete(struct strand_query *q, const char *word, bool first,
			   void (*emit)(void *ud, const char *cand), void *ud)
{
	if (first) {
		for (const struct qcmd *c = qcmd_table; c->name; c++) {
			if (starts(c->name, word))
				emit(ud, c->name);
		}
		return;
	}
	for (const char *const *k = keywords; *k; k++)
		if (starts(*k, word))
			emit(ud, *k);
	for (unsigned r = 0; r < STRAND_REC_TYPE_MAX; r++) {
		const char *n = qevent_name(r);
		if (n && starts(n, word))
			emit(ud, n);
	}
	const char *const *regs = q->ops->reg_names(q->t);
	for (; regs && *regs; regs++)
		if (starts(*regs, word))
			emit(ud, *regs);
	uint32_t nmod = 0;
	const struct strand_module *const *mods = q->ops->modules(q->t, &nmod);
	char buf[512];
	for (uint32_t m = 0; m < nmod; m++) {
		const struct strand_module *mod = mods[m];
		/* "ntdll!" matches "nt", then "ntdll!Nt" matches its symbols */
		char stem[128];
		snprintf(stem, sizeof stem, "%s", mod->name);
		char *dot = strrchr(stem, '.');
		if (dot)
			*dot = '\0';
		size_t sl = strlen(stem);
		if (strlen(word) <= sl || strncmp(word, stem, sl) != 0 || word[sl] != '!') {
			snprintf(buf, sizeof buf, "%s!", stem);
			if (starts(buf, word))
				emit(ud, buf);
			for (uint32_t s = 0; s < mod->nsyms; s++)
				if (word[0] && starts(mod->syms[s].name, word))
					emit(ud, mod->syms[s].name);
			continue;
		}
		for (uint32_t s = 0; s < mod->nsyms; s++) {
			snprintf(buf, sizeof buf, "%s!%s", stem, mod->syms[s].name);
			if (starts(buf, word))
				emit(ud, buf);
		}
	}
}
