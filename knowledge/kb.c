/* The knowledge base: hints attached to a root cause and documented exit
 * statuses, read from data files (knowledge/data/kb.txt describes the
 * format).  Nothing here knows an entry: they are all data, each with its
 * source. */
#include "knowledge/kb.h"
#include "base/grow.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

bool kb_default_path(char *buf, size_t len)
{
	const char *env = getenv("STRAND_KB");
	if (env && env[0]) {
		snprintf(buf, len, "%s", env);
		return access(buf, R_OK) == 0;
	}
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = 0;
	static const char *const rel[] = { "/../share/strand/kb.txt", "/../knowledge/data/kb.txt",
					   "/../../knowledge/data/kb.txt" };
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		snprintf(buf, len, "%s%s", exe, rel[i]);
		if (access(buf, R_OK) == 0)
			return true;
	}
	return false;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

static void entry_free(struct kb_entry *e)
{
	free(e->status);
	free(e->object_prefix);
	free(e->syscall);
	free(e->program);
	free(e->options);
	free(e->title);
	free(e->text);
	free(e->source);
	free(e->file);
}

void kb_free(struct kb *kb)
{
	if (!kb)
		return;
	for (uint32_t i = 0; i < kb->n; i++)
		entry_free(&kb->e[i]);
	free(kb->e);
	memset(kb, 0, sizeof *kb);
}

static bool parse_u64(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 0);
	if (errno || end == v || *end)
		return false;
	*out = x;
	return true;
}

/* Check the finished entry at the end of kb. */
static strand_status close_entry(struct kb *kb, const char *path, unsigned line, strand_error *err)
{
	if (!kb->n)
		return STRAND_OK;
	struct kb_entry *e = &kb->e[kb->n - 1];
	const char *miss = !e->source ? "source"
			   : e->kind == KB_HINT && !e->title ? "title"
			   : e->kind == KB_HINT && !e->text ? "text"
			   : e->kind == KB_EXIT && !e->program ? "program"
			   : e->kind == KB_EXIT && !e->text ? "meaning" : NULL;
	if (miss)
		return strand_error_set(err, STRAND_ERR_INVALID, "%s:%u: entry without %s", path, line,
					miss);
	return STRAND_OK;
}

strand_status kb_load(struct kb *kb, const char *path, strand_error *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return strand_error_set(err, STRAND_ERR_IO, "cannot read knowledge base %s: %s", path,
					strerror(errno));
	strand_status st = STRAND_OK;
	char line[8192];
	unsigned ln = 0, entry_line = 0;
	bool in_entry = false;
	while (fgets(line, sizeof line, f)) {
		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			st = strand_error_set(err, STRAND_ERR_INVALID, "%s:%u: line too long", path, ln);
			goto out;
		}
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		if (*s == '[') {
			if (in_entry && (st = close_entry(kb, path, entry_line, err)) < 0)
				goto out;
			enum kb_kind k = !strcmp(s, "[hint]") ? KB_HINT : !strcmp(s, "[exit]") ? KB_EXIT : 0;
			if (!k) {
				st = strand_error_set(err, STRAND_ERR_INVALID, "%s:%u: unknown section %s",
						      path, ln, s);
				goto out;
			}
			if (!STRAND_GROW(kb->e, kb->cap, kb->n, 1)) {
				st = strand_error_set(err, STRAND_ERR_NOMEM, "%s:%u: cannot add entry %" PRIu32,
						      path, ln, kb->n + 1);
				goto out;
			}
			struct kb_entry *e = &kb->e[kb->n++];
			memset(e, 0, sizeof *e);
			e->kind = k;
			char where[4200];
			snprintf(where, sizeof where, "%s:%u", path, ln);
			e->file = strdup(where);
			in_entry = true;
			entry_line = ln;
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq || !in_entry) {
			st = strand_error_set(err, STRAND_ERR_INVALID, "%s:%u: %s", path, ln,
					      in_entry ? "expected 'key = value'" : "a key outside any entry");
			goto out;
		}
		*eq = 0;
		char *key = trim(s), *val = trim(eq + 1);
		struct kb_entry *e = &kb->e[kb->n - 1];
		char **slot = NULL;
		bool ok = true;
		if (!strcmp(key, "source"))
			slot = &e->source;
		else if (e->kind == KB_HINT && !strcmp(key, "status"))
			slot = &e->status;
		else if (e->kind == KB_HINT && !strcmp(key, "object"))
			slot = &e->object_prefix;
		else if (e->kind == KB_HINT && !strcmp(key, "syscall"))
			slot = &e->syscall;
		else if (e->kind == KB_HINT && !strcmp(key, "title"))
			slot = &e->title;
		else if (e->kind == KB_HINT && !strcmp(key, "text"))
			slot = &e->text;
		else if (e->kind == KB_HINT && !strcmp(key, "symptom"))
			ok = e->have_symptom = parse_u64(val, &e->symptom_value);
		else if (e->kind == KB_EXIT && !strcmp(key, "program"))
			slot = &e->program;
		else if (e->kind == KB_EXIT && !strcmp(key, "meaning"))
			slot = &e->text;
		else if (e->kind == KB_EXIT && !strcmp(key, "status"))
			ok = parse_u64(val, &e->exit_status);
		else if (e->kind == KB_EXIT && !strcmp(key, "option"))
			slot = &e->options;
		else if (e->kind == KB_EXIT && !strcmp(key, "when"))
			ok = (e->when_no_error_line = !strcmp(val, "no-error-line"));
		else {
			st = strand_error_set(err, STRAND_ERR_INVALID, "%s:%u: unknown key '%s'", path, ln,
					      key);
			goto out;
		}
		if (!ok) {
			st = strand_error_set(err, STRAND_ERR_INVALID, "%s:%u: bad value of %s", path, ln,
					      key);
			goto out;
		}
		if (slot) {
			if (*slot) {
				st = strand_error_set(err, STRAND_ERR_INVALID, "%s:%u: %s given twice",
						      path, ln, key);
				goto out;
			}
			if (!(*slot = strdup(val))) {
				st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
				goto out;
			}
		}
	}
	if (in_entry)
		st = close_entry(kb, path, entry_line, err);
out:
	fclose(f);
	return st;
}

static bool prefix_ci(const char *s, const char *prefix)
{
	return s && !strncasecmp(s, prefix, strlen(prefix));
}

bool kb_match(const struct kb_entry *e, const char *status, const char *object,
	      const char *syscall, uint64_t symptom_value)
{
	if (e->kind != KB_HINT)
		return false;
	if (e->status && (!status || strcmp(e->status, status)))
		return false;
	if (e->object_prefix && !prefix_ci(object, e->object_prefix))
		return false;
	if (e->syscall && (!syscall || strcmp(e->syscall, syscall)))
		return false;
	if (e->have_symptom && e->symptom_value != symptom_value)
		return false;
	return true;
}

/* Is the argument `arg` (len bytes) the option `opt`? */
static bool arg_is_option(const char *arg, size_t len, const char *opt, size_t olen)
{
	if (olen >= 3 && opt[0] == '-' && opt[1] == '-') /* --long, --long=VALUE */
		return len >= olen && !memcmp(arg, opt, olen) && (len == olen || arg[olen] == '=');
	if (olen != 2 || opt[0] != '-' || len < 2 || arg[0] != '-' || arg[1] == '-')
		return false;
	return memchr(arg + 1, opt[1], len - 1) != NULL; /* -c, or inside -uc */
}

/* Was one of `options` (space-separated) given in `args`? */
static bool args_have_option(const char *args, const char *options)
{
	for (const char *a = args; a && *a;) {
		while (*a == ' ')
			a++;
		size_t al = strcspn(a, " ");
		if (!al)
			break;
		if (al == 2 && !memcmp(a, "--", 2))
			return false; /* the rest are operands */
		for (const char *o = options; *o;) {
			while (*o == ' ')
				o++;
			size_t ol = strcspn(o, " ");
			if (ol && arg_is_option(a, al, o, ol))
				return true;
			o += ol;
		}
		a += al;
	}
	return false;
}

const struct kb_entry *kb_exit_lookup(const struct kb *kb, const char *program, uint64_t status,
				      bool error_line, const char *args)
{
	for (uint32_t i = 0; program && i < kb->n; i++) {
		const struct kb_entry *e = &kb->e[i];
		if (e->kind == KB_EXIT && e->exit_status == status && !strcmp(e->program, program) &&
		    !(e->when_no_error_line && error_line) &&
		    (!e->options || args_have_option(args, e->options)))
			return e;
	}
	return NULL;
}

bool kb_exit_wants_args(const struct kb *kb, const char *program)
{
	for (uint32_t i = 0; program && i < kb->n; i++)
		if (kb->e[i].kind == KB_EXIT && kb->e[i].options && !strcmp(kb->e[i].program, program))
			return true;
	return false;
}
