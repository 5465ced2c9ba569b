/*
 * A trace's own system service numbering (knowledge.h, "Service tables of
 * a trace").  `strand record-win` on real system DLLs derives the numbers
 * from the loaded ntdll's stubs and writes them as the snapshot's NOTE
 * "syscall-table" (docs/trace-format.md), text lines:
 *
 *     # personality=wine
 *     # source=derived from ntdll.dll's system call stubs (...)
 *     0x015 NtClose 1
 *
 * i.e. `0xNUMBER NAME NARGS`, numbers ascending.  The note is untrusted
 * input: lines are bounded, malformed lines are errors that say which.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "strand/knowledge.h"

#define SYSTABLE_MAX 0x10000u /* entries */

struct systable_entry {
	uint32_t number, nargs;
	char *name;
};

struct strand_systable {
	struct systable_entry *e; /* sorted by number, unique */
	size_t n;
	size_t cap;               /* allocated entries of e */
	char personality[32];
	char source[256];
};

void strand_systable_free(struct strand_systable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].name);
	free(t->e);
	free(t);
}

static bool parse_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long x = strtoul(s, &end, 0);
	if (end == s || *end || x > 0xffffffffu)
		return false;
	*v = (uint32_t)x;
	return true;
}

strand_status strand_systable_parse(const void *text, size_t len, struct strand_systable **out, strand_error *err)
{
	*out = NULL;
	struct strand_systable *t = calloc(1, sizeof *t);
	if (!t)
		return strand_error_set(err, STRAND_ERR_NOMEM, "syscall table: out of memory");
	const char *p = text, *end = p + len;
	unsigned line = 0;
	strand_status st = STRAND_OK;
	while (p < end && st == STRAND_OK) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		line++;
		char buf[256];
		if (n >= sizeof buf) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT, "syscall table: line %u is longer than %zu bytes",
					      line, sizeof buf - 1);
			break;
		}
		memcpy(buf, p, n);
		buf[n] = 0;
		p += n + (nl ? 1 : 0);
		if (!buf[0])
			continue;
		if (buf[0] == '#') {
			if (strncmp(buf, "# personality=", 14) == 0)
				snprintf(t->personality, sizeof t->personality, "%s", buf + 14);
			else if (strncmp(buf, "# source=", 9) == 0)
				snprintf(t->source, sizeof t->source, "%s", buf + 9);
			continue;
		}
		char num[32], name[128], args[32];
		uint32_t number, nargs;
		if (sscanf(buf, "%31s %127s %31s", num, name, args) != 3 || !parse_u32(num, &number) ||
		    !parse_u32(args, &nargs) || nargs > 64 || (t->n && number <= t->e[t->n - 1].number) ||
		    t->n >= SYSTABLE_MAX) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT,
					      "syscall table: line %u is not `0xNUMBER NAME NARGS` in ascending order: '%s'",
					      line, buf);
			break;
		}
		if (!STRAND_GROW(t->e, t->cap, t->n, 1)) {
			st = strand_error_set(err, STRAND_ERR_NOMEM, "syscall table: out of memory");
			break;
		}
		if (!(t->e[t->n].name = strdup(name))) {
			st = strand_error_set(err, STRAND_ERR_NOMEM, "syscall table: out of memory");
			break;
		}
		t->e[t->n].number = number;
		t->e[t->n].nargs = nargs;
		t->n++;
	}
	if (st != STRAND_OK) {
		strand_systable_free(t);
		return st;
	}
	*out = t;
	return STRAND_OK;
}

strand_status strand_systable_load(const char *trace, struct strand_systable **out, strand_error *err)
{
	*out = NULL;
	struct strand_reader *r;
	strand_status st = strand_reader_open(trace, &r, err);
	if (st != STRAND_OK)
		return st;
	const struct strand_record *rec;
	while ((st = strand_reader_next(r, &rec, err)) == STRAND_OK) {
		if (rec->type == STRAND_REC_SNAPSHOT_END)
			break;
		if (rec->type == STRAND_REC_NOTE && strcmp(rec->u.note.key, "syscall-table") == 0) {
			st = strand_systable_parse(rec->u.note.data, rec->u.note.len, out, err);
			break;
		}
	}
	if (st == STRAND_END)
		st = STRAND_OK;
	strand_reader_close(r);
	if (st != STRAND_OK)
		return strand_error_wrap(err, st, "trace %s: NOTE syscall-table", trace);
	return STRAND_OK;
}

static const struct systable_entry *find(const struct strand_systable *t, uint32_t number)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->e[mid].number == number)
			return &t->e[mid];
		if (t->e[mid].number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *strand_systable_name(const struct strand_systable *t, uint32_t number)
{
	const struct systable_entry *e = t ? find(t, number) : NULL;
	return e ? e->name : NULL;
}

bool strand_systable_number(const struct strand_systable *t, const char *name, uint32_t *number)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (strcmp(t->e[i].name, name) == 0) {
			*number = t->e[i].number;
			return true;
		}
	return false;
}

const char *strand_systable_personality(const struct strand_systable *t)
{
	return t ? t->personality : "";
}

const char *strand_systable_source(const struct strand_systable *t)
{
	return t ? t->source : "";
}

size_t strand_systable_count(const struct strand_systable *t)
{
	return t ? t->n : 0;
}

const char *strand_syscall_name_in(const struct strand_systable *t, strand_abi abi, strand_arch arch,
				   uint32_t number)
{
	return t ? strand_systable_name(t, number) : strand_syscall_name(abi, arch, number);
}

bool strand_syscall_number_in(const struct strand_systable *t, strand_abi abi, strand_arch arch,
			      const char *name, uint32_t *number)
{
	return t ? strand_systable_number(t, name, number) : strand_syscall_number(abi, arch, name, number);
}
