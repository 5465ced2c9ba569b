/* calls: every call of one function (TTD's Calls() with the stack): the
 * thread, call and return positions, arguments by calling convention,
 * the return value and the call stack at entry. */
#include "analyses/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct pending_call {
	uint32_t tid;
	uint64_t sp;        /* after the call: the return address's slot */
	uint64_t ret_addr;
	struct strand_rnode *entry;
};

struct calls {
	struct strand_analysis *a;
	struct strand_callstack *cs;   /* borrowed */
	char func[160];
	uint64_t addr;
	bool resolved;
	call_conv conv;
	unsigned nargs;
	bool stacks;
	strand_arch arch;
	struct strand_result *tmp;     /* owned */
	struct strand_rnode *list;
	struct pending_call *p;        /* owned */
	uint32_t np, capp;
	uint64_t count;
};

static void describe_value(struct strand_rnode *e, uint64_t v)
{
	unsigned k = strand_code_guess(v);
	if (k && v) {
		char buf[512];
		strand_r_string(e, "return_meaning", strand_code_describe(k, v, buf, sizeof buf));
	}
}

static void on_call(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	struct calls *s = ud;
	if (!s->resolved || c->to != s->addr)
		return;
	s->count++;
	struct strand_rnode *e = strand_r_object(s->list, NULL);
	strand_r_uint(e, "tid", c->tid);
	strand_r_position(e, "call_position", c->position);
	strand_r_hex(e, "caller", c->from);
	char sym[160];
	strand_replay_symbolize(r, c->from, sym, sizeof sym);
	strand_r_string(e, "caller_symbol", sym);
	uint64_t args[16];
	conv_read_args(r, s->arch, s->conv, c->sp_after, s->nargs, args);
	struct strand_rnode *al = strand_r_list(e, "args");
	for (unsigned i = 0; i < s->nargs; i++)
		strand_r_hex(al, NULL, args[i]);
	if (s->stacks && s->cs) {
		struct strand_stack *st = NULL;
		if (strand_callstack_capture(s->cs, c->tid, &st, NULL) == STRAND_OK) {
			strand_r_stack(e, "stack", st);
			strand_stack_free(st);
		}
	}
	if (s->np == s->capp) {
		uint32_t cap = s->capp ? s->capp * 2 : 16;
		struct pending_call *n = realloc(s->p, cap * sizeof *n);
		if (!n)
			return;
		s->p = n;
		s->capp = cap;
	}
	s->p[s->np++] = (struct pending_call){ c->tid, c->sp_after, c->ret_addr, e };
}

static void on_ret(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	struct calls *s = ud;
	for (uint32_t i = s->np; i-- > 0;) {
		struct pending_call *p = &s->p[i];
		if (p->tid != c->tid || p->ret_addr != c->to || c->sp_after <= p->sp)
			continue;
		strand_r_position(p->entry, "return_position", c->position);
		uint64_t v = conv_return_value(r, s->arch);
		if (s->arch == STRAND_ARCH_X86_32)
			v &= 0xffffffffu;
		strand_r_hex(p->entry, "return_value", v);
		describe_value(p->entry, v);
		s->p[i] = s->p[--s->np];
		return;
	}
}

static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	struct calls *s = ud;
	if (after && !s->resolved && rec->type == STRAND_REC_MODULE)
		s->resolved = strand_replay_lookup(r, s->func, &s->addr) == STRAND_OK;
}

static const struct strand_plugin_option calls_options[] = {
	{ "func", "function: symbol, module!symbol or address (required)", NULL },
	{ "conv", "auto, stdcall, cdecl, fastcall, thiscall, sysv, win64", "auto" },
	{ "nargs", "arguments to show (0-16)", "4" },
	{ "stacks", "call stack at each call (1/0)", "1" },
	{ NULL, NULL, NULL },
};

static strand_status calls_init(struct strand_analysis *a, const struct strand_plugin_args *args,
				void **state, strand_error *err)
{
	struct calls *s = calloc(1, sizeof *s);
	if (!s)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	*state = s;
	s->a = a;
	s->arch = strand_analysis_info(a)->arch;
	const char *f = strand_plugin_opt(args, "func");
	if (!f || !*f)
		return strand_error_set(err, STRAND_ERR_INVALID, "calls: option func is required");
	snprintf(s->func, sizeof s->func, "%s", f);
	if (!conv_parse(strand_plugin_opt(args, "conv"), &s->conv))
		return strand_error_set(err, STRAND_ERR_INVALID, "calls: option conv: unknown '%s'",
					strand_plugin_opt(args, "conv"));
	bool x64 = s->arch == STRAND_ARCH_X86_64;
	if (s->conv != CONV_AUTO && x64 != (s->conv == CONV_SYSV || s->conv == CONV_WIN64))
		return strand_error_set(err, STRAND_ERR_INVALID,
					"calls: option conv: %s does not exist on %s",
					conv_name(s->conv), strand_arch_str(s->arch));
	uint64_t n;
	strand_status st = strand_plugin_opt_u64(args, "nargs", 4, &n, err);
	if (st < 0)
		return st;
	if (n > 16)
		return strand_error_set(err, STRAND_ERR_INVALID, "calls: option nargs: %" PRIu64
					" is more than 16", n);
	s->nargs = (unsigned)n;
	s->stacks = strand_plugin_opt_bool(args, "stacks");
	s->tmp = strand_result_new();
	if (!s->tmp)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	s->list = strand_r_list(strand_result_root(s->tmp), "calls");
	struct strand_replay *r = strand_analysis_replay(a);
	s->resolved = strand_replay_lookup(r, s->func, &s->addr) == STRAND_OK;
	if (s->stacks && !(s->cs = strand_analysis_callstack(a, err)))
		return STRAND_ERR_NOMEM;
	strand_replay_on_call(r, on_call, s);
	strand_replay_on_ret(r, on_ret, s);
	strand_replay_on_event(r, on_event, s);
	return STRAND_OK;
}

static strand_status calls_finish(struct strand_analysis *a, void *state,
				  struct strand_rnode *out, strand_error *err)
{
	struct calls *s = state;
	strand_r_string(out, "function", s->func);
	if (!s->resolved) {
		strand_r_string(out, "note", "function not found in any module of the trace");
		return STRAND_OK;
	}
	strand_r_hex(out, "address", s->addr);
	strand_r_string(out, "convention", conv_name(s->conv == CONV_AUTO
		? conv_default(s->arch, strand_analysis_info(a)->abi) : s->conv));
	strand_r_uint(out, "count", s->count);
	strand_r_copy(out, "calls", s->list);
	return strand_result_status(s->tmp) < 0
		       ? strand_error_set(err, STRAND_ERR_NOMEM, "calls: out of memory") : STRAND_OK;
}

static void calls_destroy(void *state)
{
	struct calls *s = state;
	if (!s)
		return;
	strand_result_free(s->tmp);
	free(s->p);
	free(s);
}

const struct strand_plugin strand_plugin_calls = {
	.abi_version = STRAND_PLUGIN_ABI_VERSION,
	.name = "calls",
	.description = "every call of a function: thread, positions, arguments, return value, stack",
	.options = calls_options,
	.init = calls_init,
	.finish = calls_finish,
	.destroy = calls_destroy,
};
