/* The analysis run: plugin registry, options, external loading, the main
 * pass that drives every plugin together, extra passes.  See
 * include/strand/analysis.h ("Plugins"). */
#include "strand/analysis.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
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
	ro.max_instructions = a->opt.max_instructions;
	ro.max_memory = a->opt.max_memory;
	return strand_replay_open(a->trace, &ro, out, err);
}

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

/* ===================================================================== */
/* Loading an outside plugin                                              */
/* ===================================================================== */

/* A plugin is code that runs with the user's rights; loading it at all is
 * the user's decision.  What the loader can do is not run any of it (its
 * constructors run at dlopen) before knowing the file is a plugin for
 * this ABI: the file is read as data first, an x86-64 ELF shared object
 * whose dynamic symbol table defines strand_plugin_describe and
 * strand_plugin_abi_version, and the version's 4 bytes are read from the
 * section that holds them.  Every offset and size is checked against the
 * file. */
#define PLUGIN_FILE_MAX (512u << 20)

static bool rng(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static strand_status plugin_precheck(const char *path, const uint8_t *f, size_t size,
				     strand_error *err)
{
	if (size < sizeof(Elf64_Ehdr) || memcmp(f, ELFMAG, SELFMAG) != 0)
		return strand_error_set(err, STRAND_ERR_INVALID, "plugin %s: not an ELF file", path);
	Elf64_Ehdr eh;
	memcpy(&eh, f, sizeof eh);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64 || eh.e_type != ET_DYN)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"plugin %s: not an x86-64 ELF shared object", path);
	if (eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    !rng(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), size) || eh.e_shnum == 0)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"plugin %s: bad section header table", path);
	const uint8_t *shbase = f + eh.e_shoff;
	Elf64_Shdr dynsym = { 0 }, strtab = { 0 };
	bool have = false;
	for (uint32_t i = 0; i < eh.e_shnum && !have; i++) {
		Elf64_Shdr sh;
		memcpy(&sh, shbase + (size_t)i * sizeof sh, sizeof sh);
		if (sh.sh_type != SHT_DYNSYM)
			continue;
		if (sh.sh_link >= eh.e_shnum || sh.sh_entsize != sizeof(Elf64_Sym) ||
		    !rng(sh.sh_offset, sh.sh_size, size))
			break;
		memcpy(&strtab, shbase + (size_t)sh.sh_link * sizeof strtab, sizeof strtab);
		if (strtab.sh_type != SHT_STRTAB || !rng(strtab.sh_offset, strtab.sh_size, size))
			break;
		dynsym = sh;
		have = true;
	}
	if (!have)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"plugin %s: no valid dynamic symbol table", path);
	bool describe = false, version = false;
	uint32_t abi = 0;
	for (uint64_t k = 0; k < dynsym.sh_size / sizeof(Elf64_Sym); k++) {
		Elf64_Sym sym;
		memcpy(&sym, f + dynsym.sh_offset + k * sizeof sym, sizeof sym);
		if (sym.st_shndx == SHN_UNDEF || sym.st_name >= strtab.sh_size)
			continue;
		const char *name = (const char *)f + strtab.sh_offset + sym.st_name;
		size_t maxlen = (size_t)(strtab.sh_size - sym.st_name);
		if (strnlen(name, maxlen) == maxlen)
			continue;
		if (!strcmp(name, "strand_plugin_describe") && ELF64_ST_TYPE(sym.st_info) == STT_FUNC) {
			describe = true;
		} else if (!strcmp(name, "strand_plugin_abi_version") &&
			   ELF64_ST_TYPE(sym.st_info) == STT_OBJECT && sym.st_size == 4 &&
			   sym.st_shndx < eh.e_shnum) {
			Elf64_Shdr sec;
			memcpy(&sec, shbase + (size_t)sym.st_shndx * sizeof sec, sizeof sec);
			if (sym.st_value < sec.sh_addr || sym.st_value - sec.sh_addr > sec.sh_size ||
			    sec.sh_size - (sym.st_value - sec.sh_addr) < 4)
				continue;
			uint64_t off = sec.sh_offset + (sym.st_value - sec.sh_addr);
			if (sec.sh_type == SHT_NOBITS) {
				abi = 0;
			} else if (rng(off, 4, size)) {
				memcpy(&abi, f + off, 4);
			} else {
				continue;
			}
			version = true;
		}
	}
	if (!describe || !version)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"plugin %s: missing strand_plugin_abi_version or "
					"strand_plugin_describe (not loaded)", path);
	if (abi != STRAND_PLUGIN_ABI_VERSION)
		return strand_error_set(err, STRAND_ERR_VERSION,
					"plugin %s: ABI version %u, this strand speaks %u (not loaded)",
					path, abi, STRAND_PLUGIN_ABI_VERSION);
	return STRAND_OK;
}

/* Read `path` (a regular file) and check it before any of its code runs. */
static strand_status plugin_check_file(const char *path, strand_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return strand_error_set(err, STRAND_ERR_IO, "cannot load plugin %s: %s", path,
					strerror(errno));
	strand_status st;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    (uint64_t)sb.st_size > PLUGIN_FILE_MAX) {
		st = strand_error_set(err, STRAND_ERR_INVALID,
				      "cannot load plugin %s: not a regular file of at most %u MiB",
				      path, PLUGIN_FILE_MAX >> 20);
		close(fd);
		return st;
	}
	void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return strand_error_set(err, STRAND_ERR_IO, "cannot read plugin %s: %s", path,
					strerror(errno));
	st = plugin_precheck(path, m, (size_t)sb.st_size, err);
	munmap(m, (size_t)sb.st_size);
	return st;
}

strand_status strand_analysis_load(struct strand_analysis *a, const char *path,
				   const char *options, strand_error *err)
{
	/* a literal file: "good.so" is ./good.so, never a library search */
	char lit[4096];
	if (!strchr(path, '/')) {
		snprintf(lit, sizeof lit, "./%s", path);
		path = lit;
	}
	strand_status pst = plugin_check_file(path, err);
	if (pst != STRAND_OK)
		return pst;
	void *dl = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
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
	ro.max_instructions = a->opt.max_instructions;
	ro.max_memory = a->opt.max_memory;
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
