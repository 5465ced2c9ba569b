/* The analysis run: plugin registry, options, external loading, the main
 * pass that drives every plugin together, extra passes.  See
 * include/strand/analysis.h ("Plugins"). */
#include "strand/analysis.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

extern const struct strand_plugin strand_plugin_callstack;
extern const struct strand_plugin strand_plugin_calls;
extern const struct strand_plugin strand_plugin_syscalls;
extern const struct strand_plugin strand_plugin_httpapi;
extern const struct strand_plugin strand_plugin_errorflow;
extern const struct strand_plugin strand_plugin_memhist;
extern const struct strand_plugin strand_plugin_crash;
extern const struct strand_plugin strand_plugin_hang;

const struct strand_plugin *const strand_analysis_builtins[] = {
	&strand_plugin_callstack, &strand_plugin_calls, &strand_plugin_syscalls,
	&strand_plugin_httpapi, &strand_plugin_errorflow, &strand_plugin_memhist,
	&strand_plugin_crash, &strand_plugin_hang,
	NULL,
};

const struct strand_plugin *strand_analysis_find_builtin(const char *name)
{
	for (size_t i = 0; strand_analysis_builtins[i]; i++)
		if (!strcmp(strand_analysis_builtins[i]->name, name))
			return strand_analysis_builtins[i];
	return NULL;
}

#define MAX_ARGS 16

struct strand_plugin_args {
	const struct strand_plugin *p;
	uint32_t n;                 /* given options, <= MAX_ARGS */
	char *key[MAX_ARGS];        /* owned */
	char *val[MAX_ARGS];        /* owned */
};

/* Progress of one pass: label + the run's callback. */
struct pass_progress {
	struct strand_analysis *a;
	const char *label; /* static or owned by the caller of the pass */
};

struct instance {
	const struct strand_plugin *p;
	char name[64];              /* unique in the run */
	struct strand_plugin_args args;
	void *state;                /* from init; destroy frees it */
	bool inited;
	const struct strand_rnode *result; /* in the run's result after finish */
};

struct strand_analysis {
	char *trace;                         /* owned path */
	struct strand_analysis_options opt;
	struct strand_replay *main;          /* owned: the main pass */
	struct pass_progress main_progress;
	struct strand_callstack *cs;         /* owned, lazily created */
	struct instance *inst;               /* owned array */
	uint32_t ninst, capinst;
	void **dls;                          /* dlopen handles, closed last */
	uint32_t ndls;
	struct strand_systable *systable;    /* owned: NOTE syscall-table, NULL if none */
	bool systable_loaded;
};

static void progress_thunk(void *ud, uint64_t pos, uint64_t end)
{
	struct pass_progress *pp = ud;
	if (pp->a->opt.progress)
		pp->a->opt.progress(pp->a->opt.progress_ud, pp->label, pos, end);
}

static strand_status open_handle(struct strand_analysis *a, struct pass_progress *pp,
				 struct strand_replay **out, strand_error *err)
{
	/* progress comes from strand_analysis_drive, which moves in slices */
	(void)pp;
	(void)progress_thunk;
	struct strand_replay_options ro = { 0 };
	ro.no_verify = a->opt.no_verify;
	return strand_replay_open(a->trace, &ro, out, err);
}

	ro.max_instructions = a->opt.max_instructions;
	ro.max_memory = a->opt.max_memory;
strand_status strand_analysis_new(const char *trace, const struct strand_analysis_options *opt,
				  struct strand_analysis **out, strand_error *err)
{
	strand_status st;
	struct strand_analysis *a = calloc(1, sizeof *a);
	if (!a || !(a->trace = strdup(trace))) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "analysis: out of memory");
		goto fail;
	}
	if (opt)
		a->opt = *opt;
	a->main_progress.a = a;
	a->main_progress.label = "analysis";
	st = open_handle(a, &a->main_progress, &a->main, err);
	if (st < 0) {
		strand_error_wrap(err, st, "analysis: cannot open trace=%s", trace);
		goto fail;
	}
	*out = a;
	return STRAND_OK;
fail:
	strand_analysis_free(a);
	return st;
}

static void args_free(struct strand_plugin_args *args)
{
	for (uint32_t i = 0; i < args->n; i++) {
		free(args->key[i]);
		free(args->val[i]);
	}
	args->n = 0;
}

void strand_analysis_free(struct strand_analysis *a)
{
	if (!a)
		return;
	for (uint32_t i = 0; i < a->ninst; i++) {
		struct instance *in = &a->inst[i];
		if (in->inited && in->p->destroy)
			in->p->destroy(in->state);
		args_free(&in->args);
	}
	free(a->inst);
	strand_callstack_free(a->cs);
	strand_systable_free(a->systable);
	strand_replay_close(a->main);
	for (uint32_t i = 0; i < a->ndls; i++)
		dlclose(a->dls[i]);
	free(a->dls);
	free(a->trace);
	free(a);
}

/* Parse "k=v,k=v" against p->options into args. */
static strand_status parse_options(const struct strand_plugin *p, const char *options,
				   struct strand_plugin_args *args, strand_error *err)
{
	args->p = p;
	if (!options || !*options)
		return STRAND_OK;
	char *copy = strdup(options), *save = NULL;
	if (!copy)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	strand_status st = STRAND_OK;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *val = eq ? eq + 1 : "1"; /* bare "k" means k=1 */
		if (eq)
			*eq = 0;
		bool known = false;
		for (const struct strand_plugin_option *o = p->options; o && o->name; o++)
			if (!strcmp(o->name, tok))
				known = true;
		if (!known) {
			st = strand_error_set(err, STRAND_ERR_INVALID,
					      "plugin %s: unknown option '%s'", p->name, tok);
			break;
		}
		if (args->n == MAX_ARGS) {
			st = strand_error_set(err, STRAND_ERR_INVALID,
					      "plugin %s: too many options (max %d)", p->name, MAX_ARGS);
			break;
		}
		args->key[args->n] = strdup(tok);
		args->val[args->n] = strdup(val);
		if (!args->key[args->n] || !args->val[args->n]) {
			free(args->key[args->n]);
			free(args->val[args->n]);
			st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
			break;
		}
		args->n++;
	}
	free(copy);
	return st;
}

const char *strand_plugin_opt(const struct strand_plugin_args *args, const char *name)
{
	/* the last occurrence wins */
	for (uint32_t i = args->n; i-- > 0;)
		if (!strcmp(args->key[i], name))
			return args->val[i];
	for (const struct strand_plugin_option *o = args->p->options; o && o->name; o++)
		if (!strcmp(o->name, name))
			return o->defval;
	return NULL;
}

strand_status strand_plugin_opt_u64(const struct strand_plugin_args *args, const char *name,
				    uint64_t def, uint64_t *out, strand_error *err)
{
	const char *v = strand_plugin_opt(args, name);
	*out = def;
	if (!v)
		return STRAND_OK;
	char *end = NULL;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 0);
	if (errno || !*v || *end)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"plugin %s: option %s: not a number: '%s'",
					args->p->name, name, v);
	*out = x;
	return STRAND_OK;
}

bool strand_plugin_opt_bool(const struct strand_plugin_args *args, const char *name)
{
	const char *v = strand_plugin_opt(args, name);
	return v && strcmp(v, "0") && strcmp(v, "false") && strcmp(v, "no") && strcmp(v, "off");
}

strand_status strand_analysis_add(struct strand_analysis *a, const struct strand_plugin *p,
				  const char *options, strand_error *err)
{
	if (!p || p->abi_version != STRAND_PLUGIN_ABI_VERSION || !p->name || !p->init)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"plugin %s: bad descriptor (abi_version=%u, want %u)",
					p && p->name ? p->name : "?", p ? p->abi_version : 0,
					STRAND_PLUGIN_ABI_VERSION);
	if (a->ninst == a->capinst) {
		uint32_t cap = a->capinst ? a->capinst * 2 : 8;
		struct instance *n = realloc(a->inst, cap * sizeof *n);
		if (!n)
			return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		a->inst = n;
		a->capinst = cap;
	}
	struct instance *in = &a->inst[a->ninst];
	memset(in, 0, sizeof *in);
	in->p = p;
	unsigned same = 1;
	for (uint32_t i = 0; i < a->ninst; i++)
		if (a->inst[i].p == p)
			same++;
	if (same > 1)
		snprintf(in->name, sizeof in->name, "%s#%u", p->name, same);
	else
		snprintf(in->name, sizeof in->name, "%s", p->name);
	strand_status st = parse_options(p, options, &in->args, err);
	if (st < 0) {
		args_free(&in->args);
		return st;
	}
	a->ninst++; /* counted now so free() releases its options */
	/* the instance's observers form one group: removed together if it
	 * fails, and a registration that failed fails the load */
	uint32_t group = a->ninst, prev = strand_replay_observer_group(a->main, group);
	(void)strand_replay_observer_failed(a->main);
	st = p->init(a, &in->args, &in->state, err);
	strand_replay_observer_group(a->main, prev);
	if (st >= 0 && strand_replay_observer_failed(a->main))
		st = strand_error_set(err, STRAND_ERR_NOMEM,
				      "an observer could not be registered");
	if (st < 0) {
		strand_replay_observer_del_group(a->main, group);
		/* init subscribes only after everything that can fail (see
		 * analysis.h), so its state is not referenced any more */
		strand_error_wrap(err, st, "plugin %s: init failed", p->name);
		if (p->destroy)
			p->destroy(in->state);
		args_free(&in->args);
		a->ninst--;
		return st;
	}
	in->inited = true;
	return STRAND_OK;
}

strand_status strand_analysis_add_spec(struct strand_analysis *a, const char *spec,
				       strand_error *err)
{
	char name[64];
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	if (n == 0 || n >= sizeof name)
		return strand_error_set(err, STRAND_ERR_INVALID, "bad analysis spec '%s'", spec);
	memcpy(name, spec, n);
	name[n] = 0;
	const struct strand_plugin *p = strand_analysis_find_builtin(name);
	if (!p)
		return strand_error_set(err, STRAND_ERR_INVALID, "unknown analysis '%s'", name);
	return strand_analysis_add(a, p, colon ? colon + 1 : NULL, err);
}

strand_status strand_analysis_load(struct strand_analysis *a, const char *path,
				   const char *options, strand_error *err)
{
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return strand_error_set(err, STRAND_ERR_INVALID, "cannot load plugin %s: %s",
					path, dlerror());
	const uint32_t *abi = dlsym(dl, "strand_plugin_abi_version");
	strand_plugin_describe_fn describe;
	*(void **)&describe = dlsym(dl, "strand_plugin_describe");
	strand_status st;
	if (!abi || !describe) {
		st = strand_error_set(err, STRAND_ERR_INVALID,
				      "plugin %s: missing strand_plugin_abi_version or "
				      "strand_plugin_describe", path);
		goto fail;
	}
	if (*abi != STRAND_PLUGIN_ABI_VERSION) {
		st = strand_error_set(err, STRAND_ERR_VERSION,
				      "plugin %s: ABI version %u, this strand speaks %u",
				      path, *abi, STRAND_PLUGIN_ABI_VERSION);
		goto fail;
	}
	void **n = realloc(a->dls, (a->ndls + 1) * sizeof *n);
	if (!n) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		goto fail;
	}
	a->dls = n;
	a->dls[a->ndls++] = dl; /* kept open until free: the plugin's code */
	return strand_analysis_add(a, describe(), options, err);
fail:
	dlclose(dl);
	return st;
}

strand_status strand_analysis_run(struct strand_analysis *a, struct strand_result *res,
				  strand_error *err)
{
	strand_status first = STRAND_OK;
	strand_status st = strand_analysis_drive(a, a->main, "analysis", UINT64_MAX, err);
	if (st < 0)
		return st;
	struct strand_rnode *root = strand_result_root(res);
	for (uint32_t i = 0; i < a->ninst; i++) {
		struct instance *in = &a->inst[i];
		struct strand_rnode *out = strand_r_object(root, in->name);
		if (!in->p->finish)
			continue;
		strand_error e;
		strand_error_clear(&e);
		st = in->p->finish(a, in->state, out, &e);
		if (st < 0) {
			strand_r_string(out, "error", e.msg);
			if (first >= 0) {
				first = st;
				if (err)
					*err = e;
				strand_error_wrap(err, st, "plugin %s", in->name);
			}
		}
		in->result = out;
	}
	if (first >= 0 && strand_result_status(res) < 0)
		first = strand_error_set(err, STRAND_ERR_NOMEM, "analysis: out of memory building results");
	return first;
}

struct strand_replay *strand_analysis_replay(struct strand_analysis *a)
{
	return a->main;
}

const char *strand_analysis_trace(const struct strand_analysis *a)
{
	return a->trace;
}

const struct strand_trace_info *strand_analysis_info(const struct strand_analysis *a)
{
	return strand_replay_info(a->main);
}

const struct strand_systable *strand_analysis_systable(struct strand_analysis *a)
{
	if (!a->systable_loaded) {
		a->systable_loaded = true;
		strand_error e = { 0 };
		/* a damaged note leaves the built-in numbering (verify reports the file) */
		if (strand_systable_load(a->trace, &a->systable, &e) < 0)
			a->systable = NULL;
	}
	return a->systable;
}

struct strand_callstack *strand_analysis_callstack(struct strand_analysis *a, strand_error *err)
{
	if (a->cs)
		return a->cs;
	/* shared by every plugin: belongs to no plugin's observer group */
	uint32_t prev = strand_replay_observer_group(a->main, 0);
	strand_status st = strand_callstack_new(a->main, &a->cs, err);
	strand_replay_observer_group(a->main, prev);
	return st < 0 ? NULL : a->cs;
}

strand_status strand_analysis_open_pass(struct strand_analysis *a, const char *label,
					struct strand_replay **out, strand_error *err)
{
	(void)label; /* progress label is given to strand_analysis_drive */
	struct strand_replay_options ro = { 0 };
	ro.no_verify = a->opt.no_verify;
	strand_status st = strand_replay_open(a->trace, &ro, out, err);
	if (st < 0)
		strand_error_wrap(err, st, "extra pass: cannot open trace=%s", a->trace);
	return st;
}

strand_status strand_analysis_drive(struct strand_analysis *a, struct strand_replay *r,
				    const char *label, uint64_t pos, strand_error *err)
{
	uint64_t end = strand_replay_end(r);
	if (pos > end)
		pos = end;
	/* Drive in slices so that every pass reports progress, whatever the
	 * handle was opened with. */
	uint64_t slice = end / 50 + 1;
	if (slice < 1000000)
	ro.max_instructions = a->opt.max_instructions;
	ro.max_memory = a->opt.max_memory;
		slice = 1000000; /* each seek has a fixed cost; small traces go at once */
	while (strand_replay_position(r) < pos) {
		uint64_t cur = strand_replay_position(r);
		uint64_t to = pos - cur > slice ? cur + slice : pos;
		strand_status st = strand_replay_seek(r, to, err);
		if (st < 0)
			return strand_error_wrap(err, st, "%s: replay to position=%" PRIu64,
						 label ? label : "pass", to);
		if (strand_replay_position(r) == cur)
			break; /* no progress: the trace ends earlier */
		if (a && a->opt.progress)
			a->opt.progress(a->opt.progress_ud, label ? label : "pass",
					strand_replay_position(r), end);
	}
	return STRAND_OK;
}

const struct strand_rnode *strand_analysis_result_of(const struct strand_analysis *a,
						     const char *name)
{
	for (uint32_t i = 0; i < a->ninst; i++)
		if (!strcmp(a->inst[i].name, name))
			return a->inst[i].result;
	return NULL;
}
