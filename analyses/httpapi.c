/* httpapi: the HTTP API initialization calls (HttpInitialize,
 * HttpCreateHttpHandle, HttpCreateServerSession, HttpCreateRequestQueue,
 * ...), found by the exported names of httpapi.dll, and for each failed
 * one the failing kernel calls inside it: device path, NTSTATUS, stack.
 *
 * Nothing here knows a call path: any call into an export of the module
 * whose name has the prefix counts, from wherever it comes.  The HTTP API
 * returns Win32 error codes (ULONG, NO_ERROR = 0), so a non-zero return
 * is a failure.  module= and prefix= retarget it to another DLL API with
 * the same convention. */
#include "analyses/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct api_fn {
	uint64_t addr;
	char *name;         /* owned copy: a MODULE record's symbols live only
			     * during its callback */
};

struct active {
	uint32_t tid;
	uint64_t sp, ret_addr;
	const char *name;              /* borrowed from fn[] (owned there) */
	struct strand_rnode *entry;
	struct strand_rnode *kernel;   /* list of failed kernel calls inside */
	uint32_t nfailed_kernel;
};

struct httpapi {
	struct strand_analysis *a;
	struct strand_callstack *cs;
	char module[64];
	char prefix[32];
	strand_abi abi;
	const struct strand_systable *systable; /* the trace's service table, NULL = built in */
	strand_arch arch;
	struct api_fn *fn;      /* owned */
	uint32_t nfn, capfn;
	struct active *act;     /* owned: calls not yet returned */
	uint32_t nact, capact;
	struct strand_result *tmp;
	struct strand_rnode *list;
	uint64_t ncalls, nfailed;
};

static void add_module(struct httpapi *s, const struct strand_module *m)
{
	if (strcasecmp(m->name, s->module))
		return;
	size_t plen = strlen(s->prefix);
	bool has_exports = false;
	for (uint32_t i = 0; i < m->nsyms; i++)
		has_exports = has_exports || m->syms[i].kind == STRAND_SYM_EXPORT;
	for (uint32_t i = 0; i < m->nsyms; i++) {
		const struct strand_symbol *sym = &m->syms[i];
		/* the API is what the DLL exports (internal helpers may share
		 * the prefix) */
		if (sym->kind == STRAND_SYM_OBJECT || (has_exports && sym->kind != STRAND_SYM_EXPORT) ||
		    strncmp(sym->name, s->prefix, plen))
			continue;
		if (s->nfn == s->capfn) {
			uint32_t cap = s->capfn ? s->capfn * 2 : 32;
			struct api_fn *n = realloc(s->fn, cap * sizeof *n);
			if (!n)
				return;
			s->fn = n;
			s->capfn = cap;
		}
		char *name = strdup(sym->name);
		if (!name)
			return;
		s->fn[s->nfn++] = (struct api_fn){ sym->addr, name };
	}
}

static const char *api_at(const struct httpapi *s, uint64_t addr)
{
	for (uint32_t i = 0; i < s->nfn; i++)
		if (s->fn[i].addr == addr)
			return s->fn[i].name;
	return NULL;
}

static void on_call(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	struct httpapi *s = ud;
	const char *name = api_at(s, c->to);
	if (!name)
		return;
	/* the loader calling the DLL's entry point is not an API call: API
	 * calls come from code of some module */
	const struct strand_module *cm;
	const struct strand_symbol *csym;
	size_t nl = strlen(name);
	if (nl >= 7 && !strcmp(name + nl - 7, "DllMain"))
		return;
	if (strand_replay_find_symbol(r, c->from, &cm, &csym) != STRAND_OK)
		return;
	/* an API that calls another export of the same API: only the outer
	 * one is the application's call */
	for (uint32_t i = 0; i < s->nact; i++)
		if (s->act[i].tid == c->tid)
			return;
	s->ncalls++;
	struct strand_rnode *e = strand_r_object(s->list, NULL);
	strand_r_string(e, "function", name);
	strand_r_uint(e, "tid", c->tid);
	strand_r_position(e, "call_position", c->position);
	char sym[160];
	strand_replay_symbolize(r, c->from, sym, sizeof sym);
	strand_r_string(e, "caller", sym);
	uint64_t args[4];
	conv_read_args(r, s->arch, CONV_AUTO, c->sp_after, 4, args);
	struct strand_rnode *al = strand_r_list(e, "args");
	for (unsigned i = 0; i < 4; i++)
		strand_r_hex(al, NULL, args[i]);
	if (s->nact == s->capact) {
		uint32_t cap = s->capact ? s->capact * 2 : 8;
		struct active *n = realloc(s->act, cap * sizeof *n);
		if (!n)
			return;
		s->act = n;
		s->capact = cap;
	}
	s->act[s->nact++] = (struct active){ c->tid, c->sp_after, c->ret_addr, name, e, NULL, 0 };
}

static void on_ret(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	struct httpapi *s = ud;
	for (uint32_t i = 0; i < s->nact; i++) {
		struct active *a = &s->act[i];
		if (a->tid != c->tid || a->ret_addr != c->to || c->sp_after <= a->sp)
			continue;
		uint64_t v = conv_return_value(r, s->arch) & 0xffffffffu;
		strand_r_position(a->entry, "return_position", c->position);
		struct strand_rnode *rv = strand_r_hex(a->entry, "return_value", v);
		char buf[512];
		strand_r_string(a->entry, "result",
				strand_code_describe(STRAND_CODE_WIN32, v, buf, sizeof buf));
		strand_r_bool(a->entry, "failed", v != 0);
		if (v) {
			s->nfailed++;
			if (rv)
				rv->flags |= STRAND_RF_ALERT;
		}
		if (!a->kernel)
			strand_r_list(a->entry, "failed_kernel_calls");
		s->act[i] = s->act[--s->nact];
		return;
	}
}

static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	struct httpapi *s = ud;
	if (after && rec->type == STRAND_REC_MODULE) {
		add_module(s, &rec->u.module);
		return;
	}
	if (after || rec->type != STRAND_REC_SYSCALL)
		return;
	const struct strand_syscall *sc = &rec->u.syscall;
	if (!strand_syscall_failed(s->abi, s->arch, sc->result))
		return;
	for (uint32_t i = 0; i < s->nact; i++) {
		struct active *a = &s->act[i];
		if (a->tid != rec->tid)
			continue;
		if (!a->kernel)
			a->kernel = strand_r_list(a->entry, "failed_kernel_calls");
		struct strand_rnode *k = strand_r_object(a->kernel, NULL);
		const char *name = strand_syscall_name_in(s->systable, s->abi, s->arch, sc->number);
		strand_r_position(k, "position", rec->position);
		strand_r_string(k, "name", name ? name : "?");
		char obj[200];
		if (strand_syscall_decode_object_in(r, s->systable, s->abi, s->arch, sc, obj, sizeof obj))
			strand_r_string(k, "object", obj);
		struct strand_rnode *st = strand_r_hex(k, "status", sc->result);
		if (st)
			st->flags |= STRAND_RF_ALERT;
		char buf[512];
		strand_r_string(k, "status_text",
				strand_syscall_result_str(s->abi, s->arch, sc->result, buf, sizeof buf));
		struct strand_stack *stk = NULL;
		if (s->cs && strand_callstack_capture(s->cs, rec->tid, &stk, NULL) == STRAND_OK) {
			strand_r_stack(k, "stack", stk);
			strand_stack_free(stk);
		}
		a->nfailed_kernel++;
		return;
	}
}

static const struct strand_plugin_option httpapi_options[] = {
	{ "module", "the API's DLL", "httpapi.dll" },
	{ "prefix", "exported names that belong to the API", "Http" },
	{ NULL, NULL, NULL },
};

static strand_status httpapi_init(struct strand_analysis *a, const struct strand_plugin_args *args,
				  void **state, strand_error *err)
{
	struct httpapi *s = calloc(1, sizeof *s);
	if (!s)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	*state = s;
	s->a = a;
	s->abi = strand_analysis_info(a)->abi;
	s->systable = strand_analysis_systable(a);
	s->arch = strand_analysis_info(a)->arch;
	const char *m = strand_plugin_opt(args, "module"), *p = strand_plugin_opt(args, "prefix");
	if (!m || !*m || strlen(m) >= sizeof s->module || !p || strlen(p) >= sizeof s->prefix)
		return strand_error_set(err, STRAND_ERR_INVALID, "httpapi: bad module or prefix option");
	snprintf(s->module, sizeof s->module, "%s", m);
	snprintf(s->prefix, sizeof s->prefix, "%s", p);
	s->tmp = strand_result_new();
	if (!s->tmp)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	s->list = strand_r_list(strand_result_root(s->tmp), "calls");
	struct strand_replay *r = strand_analysis_replay(a);
	uint32_t nm = 0;
	const struct strand_module *const *mods = strand_replay_modules(r, &nm);
	for (uint32_t i = 0; i < nm; i++)
		add_module(s, mods[i]);
	if (!(s->cs = strand_analysis_callstack(a, err)))
		return STRAND_ERR_NOMEM;
	strand_replay_on_call(r, on_call, s);
	strand_replay_on_ret(r, on_ret, s);
	strand_replay_on_event(r, on_event, s);
	return STRAND_OK;
}

static strand_status httpapi_finish(struct strand_analysis *a, void *state,
				    struct strand_rnode *out, strand_error *err)
{
	struct httpapi *s = state;
	strand_r_string(out, "module", s->module);
	strand_r_uint(out, "exports", s->nfn);
	strand_r_uint(out, "calls_total", s->ncalls);
	strand_r_uint(out, "calls_failed", s->nfailed);
	strand_r_copy(out, "calls", s->list);
	return strand_result_status(s->tmp) < 0
		       ? strand_error_set(err, STRAND_ERR_NOMEM, "httpapi: out of memory") : STRAND_OK;
}

static void httpapi_destroy(void *state)
{
	struct httpapi *s = state;
	if (!s)
		return;
	strand_result_free(s->tmp);
	for (uint32_t i = 0; i < s->nfn; i++)
		free(s->fn[i].name);
	free(s->fn);
	free(s->act);
	free(s);
}

const struct strand_plugin strand_plugin_httpapi = {
	.abi_version = STRAND_PLUGIN_ABI_VERSION,
	.name = "httpapi",
	.description = "HTTP API calls (httpapi.dll exports) and the kernel calls that failed inside them",
	.options = httpapi_options,
	.init = httpapi_init,
	.finish = httpapi_finish,
	.destroy = httpapi_destroy,
};
