/*
 * Scenario file parser: docs/scenarios.md is the specification; this file
 * follows it section by section.  Strict: anything not in the document is
 * an error naming the file and line.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/winemu/scenario.h"

#define WSCN_LINE_MAX 4096
#define WSCN_FILE_MAX (16u << 20)   /* a scenario or a `file:` value */

/* REG_* value types */
enum { REG_NONE = 0, REG_SZ = 1, REG_EXPAND_SZ = 2, REG_BINARY = 3,
       REG_DWORD = 4, REG_MULTI_SZ = 7, REG_QWORD = 11 };

/* ===================================================================== */
/* Small helpers                                                          */
/* ===================================================================== */

static char *xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

/* Grow *arr (elements of `size`) to hold one more; returns the new slot
 * zeroed, or NULL. */
/* Append a zeroed element to an array of *n elements.  Capacity is
 * implicit, max(4, next power of two >= *n), so the array is reallocated
 * only when *n reaches a power of two (linear total cost).  Arrays passed
 * here must only ever grow through grow(). */
static void *grow(void *arrp, size_t *n, size_t size)
{
	void **arr = arrp;
	size_t k = *n;
	if (k == 0 || (k >= 4 && (k & (k - 1)) == 0)) {
		size_t cap = k < 4 ? 4 : 2 * k;
		if (cap > SIZE_MAX / size)
			return NULL;
		void *q = realloc(*arr, cap * size);
		if (!q)
			return NULL;
		*arr = q;
	}
	void *p = *arr;
	void *slot = (char *)p + *n * size;
	memset(slot, 0, size);
	(*n)++;
	return slot;
}

bool wscn_name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
	return *a == *b;
}

bool wscn_name_has_prefix(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; i < n; i++)
		if (!name[i] || tolower((unsigned char)name[i]) != tolower((unsigned char)prefix[i]))
			return false;
	return name[n] == 0 || name[n] == '\\';
}

char *wscn_canon_name(char *s)
{
	static const char *const aliases[] = { "\\DosDevices\\", "\\GLOBAL??\\" };
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(aliases[i]);
		if (strncasecmp(s, aliases[i], n) == 0) {
			memmove(s + 4, s + n, strlen(s + n) + 1);
			memcpy(s, "\\??\\", 4);
			break;
		}
	}
	size_t len = strlen(s);
	if (len > 1 && s[len - 1] == '\\')
		s[len - 1] = 0;
	return s;
}

const struct wscn_key *wscn_find_key(const struct wscn *s, const char *name)
{
	for (size_t i = 0; i < s->nkeys; i++)
		if (wscn_name_eq(s->keys[i].name, name))
			return &s->keys[i];
	return NULL;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
	if (errno || *end || end == s)
		return false;
	*out = v;
	return true;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	if (!parse_u64(s, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Days from 1601-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_since_1601(int64_t y, int64_t m, int64_t d)
{
	/* days from civil, epoch 1970-01-01 (H. Hinnant's algorithm) */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 + 134774; /* 1601 -> 1970 is 134774 days */
}

bool wscn_parse_time(const char *s, uint64_t *out)
{
	int y, mo, d, h, mi, se, n = 0;
	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 ||
	    s[n] != 0)
		return false;
	if (y < 1601 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 59 || h < 0 || mi < 0 || se < 0)
		return false;
	int64_t days = days_since_1601(y, mo, d);
	*out = ((uint64_t)days * 86400 + (uint64_t)h * 3600 + (uint64_t)mi * 60 + (uint64_t)se) *
	       10000000ull;
	return true;
}

/* ===================================================================== */
/* Parser state                                                           */
/* ===================================================================== */

enum sect { S_NONE, S_PROCESS, S_DEVICE, S_FILE, S_KEY, S_EVENT, S_LINK, S_SERVICE };

/* Limits that keep parsing linear and bounded (beyond the file and line
 * sizes): sections, key depth, keys with their implicit ancestors, thread
 * ids. */
#define WSCN_SECTIONS_MAX 65536
#define WSCN_KEY_DEPTH_MAX 64
#define WSCN_KEYS_MAX (1u << 18)
#define WSCN_TIDS_MAX 256

/* A hash set of (section type, canonical name), case-insensitive as NT
 * names are: open addressing, power-of-two capacity.  Names are borrowed
 * from the scenario (each is a separate allocation, so they do not move). */
struct nameset_ent {
	uint64_t hash;       /* 0 = empty */
	int type;
	const char *name;
};
struct nameset {
	struct nameset_ent *e;
	size_t cap, n;
};

static uint64_t name_hash(int type, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)type;
	for (; *s; s++) {
		h ^= (uint64_t)tolower((unsigned char)*s);
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

static bool nameset_has(const struct nameset *ns, int type, const char *name)
{
	if (!ns->cap)
		return false;
	uint64_t h = name_hash(type, name);
	for (size_t i = h & (ns->cap - 1);; i = (i + 1) & (ns->cap - 1)) {
		const struct nameset_ent *x = &ns->e[i];
		if (!x->hash)
			return false;
		if (x->hash == h && x->type == type && wscn_name_eq(x->name, name))
			return true;
	}
}

static bool nameset_add(struct nameset *ns, int type, const char *name)
{
	if (2 * (ns->n + 1) > ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 64;
		struct nameset_ent *e = calloc(cap, sizeof *e);
		if (!e)
			return false;
		for (size_t i = 0; i < ns->cap; i++) {
			if (!ns->e[i].hash)
				continue;
			size_t j = ns->e[i].hash & (cap - 1);
			while (e[j].hash)
				j = (j + 1) & (cap - 1);
			e[j] = ns->e[i];
		}
		free(ns->e);
		ns->e = e;
		ns->cap = cap;
	}
	uint64_t h = name_hash(type, name);
	size_t i = h & (ns->cap - 1);
	while (ns->e[i].hash)
		i = (i + 1) & (ns->cap - 1);
	ns->e[i] = (struct nameset_ent){ h, type, name };
	ns->n++;
	return true;
}

struct parser {
	struct wscn *s;
	const char *name;      /* file name for messages */
	int line;
	strand_error *err;
	enum sect sect;
	void *cur;             /* the section's struct */
	unsigned seen;         /* bit set of single-valued keys seen in the section */
	bool have_process;
	bool allow_host_files; /* file: may name any host file */
	struct nameset names;  /* every section name, for linear-time lookups */
	size_t nsections;      /* sections so far (WSCN_SECTIONS_MAX) */
};

static strand_status perr(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static strand_status perr(struct parser *p, const char *fmt, ...)
{
	char msg[STRAND_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return strand_error_set(p->err, STRAND_ERR_INVALID, "%s:%d: %s", p->name, p->line, msg);
}

static strand_status nomem(struct parser *p)
{
	return strand_error_set(p->err, STRAND_ERR_NOMEM, "%s:%d: out of memory", p->name, p->line);
}

/* Mark single-valued key number `bit` seen; error if it was already. */
static strand_status once(struct parser *p, unsigned bit, const char *key)
{
	if (p->seen & (1u << bit))
		return perr(p, "'%s' given twice in this section", key);
	p->seen |= 1u << bit;
	return STRAND_OK;
}

/* Capacity of a data buffer of `len` bytes built only by append(): 0, or
 * the next power of two >= len, at least 64 (linear total cost). */
static size_t data_cap(size_t len)
{
	if (len == 0)
		return 0;
	size_t c = 64;
	while (c < len)
		c *= 2;
	return c;
}

static strand_status append(struct parser *p, struct wscn_data *d, const void *b, size_t n)
{
	if (n == 0)
		return STRAND_OK;
	if (d->len + n > WSCN_FILE_MAX)
		return perr(p, "data longer than %u bytes", WSCN_FILE_MAX);
	if (d->len + n > data_cap(d->len)) {
		uint8_t *q = realloc(d->bytes, data_cap(d->len + n));
		if (!q)
			return nomem(p);
		d->bytes = q;
	}
	memcpy(d->bytes + d->len, b, n);
	d->len += n;
	return STRAND_OK;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Hex pairs, blanks between pairs ignored. */
static strand_status parse_hex(struct parser *p, const char *v, struct wscn_data *d)
{
	while (*v) {
		if (*v == ' ' || *v == '\t') {
			v++;
			continue;
		}
		int a = hexval(v[0]), b = a < 0 ? -1 : hexval(v[1]);
		if (a < 0 || b < 0)
			return perr(p, "bad hex byte at '%.8s'", v);
		uint8_t byte = (uint8_t)(a << 4 | b);
		strand_status st = append(p, d, &byte, 1);
		if (st != STRAND_OK)
			return st;
		v += 2;
	}
	return STRAND_OK;
}

/* `file:REL`: the bytes of a host file.  Scenarios come from others, so
 * REL is confined to the scenario's directory (after resolving symbolic
 * links) unless the caller allowed host files; only a regular file is
 * read (a FIFO or device would block or never end: opened O_NONBLOCK and
 * refused after fstat). */
static strand_status read_host_file(struct parser *p, const char *rel, struct wscn_data *d)
{
	char path[4096];
	if (rel[0] == '/')
		snprintf(path, sizeof path, "%s", rel);
	else
		snprintf(path, sizeof path, "%s/%s", p->s->dir, rel);
	if (!p->allow_host_files) {
		char rdir[PATH_MAX], rfile[PATH_MAX];
		if (!realpath(p->s->dir, rdir))
			return perr(p, "cannot resolve the scenario directory '%s': %s", p->s->dir,
				    strerror(errno));
		if (!realpath(path, rfile))
			return perr(p, "cannot open '%s': %s", path, strerror(errno));
		size_t n = strlen(rdir);
		bool inside = strncmp(rfile, rdir, n) == 0 &&
			      (rfile[n] == '/' || (n == 1 && rdir[0] == '/'));
		if (!inside)
			return perr(p, "file:%s is outside the scenario's directory %s "
				    "(use --allow-host-files to read host files)", rel, rdir);
		snprintf(path, sizeof path, "%s", rfile);
	}
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return perr(p, "cannot open '%s': %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return perr(p, "file:%s is not a regular file", rel);
	}
	if (sb.st_size > (off_t)WSCN_FILE_MAX) {
		close(fd);
		return perr(p, "file:%s is larger than %u bytes", rel, WSCN_FILE_MAX);
	}
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		close(fd);
		return nomem(p);
	}
	strand_status st = STRAND_OK;
	uint8_t buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if ((st = append(p, d, buf, n)) != STRAND_OK)
			break;
	if (st == STRAND_OK && ferror(f))
		st = perr(p, "cannot read '%s'", path);
	fclose(f);
	return st;
}

/* A data value: text: line: hex: file: empty: (appended to d). */
static strand_status parse_data(struct parser *p, const char *v, struct wscn_data *d)
{
	if (strncmp(v, "text:", 5) == 0)
		return append(p, d, v + 5, strlen(v + 5));
	if (strncmp(v, "line:", 5) == 0) {
		strand_status st = append(p, d, v + 5, strlen(v + 5));
		return st != STRAND_OK ? st : append(p, d, "\r\n", 2);
	}
	if (strncmp(v, "hex:", 4) == 0)
		return parse_hex(p, v + 4, d);
	if (strncmp(v, "file:", 5) == 0)
		return read_host_file(p, v + 5, d);
	if (strcmp(v, "empty:") == 0)
		return STRAND_OK;
	return perr(p, "data value '%.40s' has no text:, line:, hex:, file: or empty: tag", v);
}

/* UTF-8 to UTF-16LE appended to d (with terminating NUL if `nul`). */
static strand_status append_utf16(struct parser *p, struct wscn_data *d, const char *s,
				  size_t n, bool nul)
{
	size_t i = 0;
	while (i < n) {
		uint32_t c = (unsigned char)s[i];
		size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (k == 0 || i + k > n)
			return perr(p, "invalid UTF-8 in a string value");
		if (k > 1) {
			c &= 0x3fu >> (k - 1);
			for (size_t j = 1; j < k; j++) {
				if (((unsigned char)s[i + j] >> 6) != 2)
					return perr(p, "invalid UTF-8 in a string value");
				c = c << 6 | ((unsigned char)s[i + j] & 0x3f);
			}
		}
		i += k;
		uint8_t u[4];
		size_t m;
		if (c >= 0x10000) {
			c -= 0x10000;
			uint16_t hi = (uint16_t)(0xd800 | (c >> 10)), lo = (uint16_t)(0xdc00 | (c & 0x3ff));
			u[0] = hi & 0xff; u[1] = hi >> 8; u[2] = lo & 0xff; u[3] = lo >> 8;
			m = 4;
		} else {
			u[0] = c & 0xff; u[1] = (uint8_t)(c >> 8);
			m = 2;
		}
		strand_status st = append(p, d, u, m);
		if (st != STRAND_OK)
			return st;
	}
	static const uint8_t z[2] = { 0, 0 };
	return nul ? append(p, d, z, 2) : STRAND_OK;
}

/* ===================================================================== */
/* Sections                                                               */
/* ===================================================================== */

static strand_status set_str(struct parser *p, char **dst, const char *v, unsigned bit,
			     const char *key)
{
	strand_status st = once(p, bit, key);
	if (st != STRAND_OK)
		return st;
	if (!*v)
		return perr(p, "'%s' is empty", key);
	free(*dst);
	if (!(*dst = strdup(v)))
		return nomem(p);
	return STRAND_OK;
}

static strand_status process_key(struct parser *p, const char *k, const char *v)
{
	struct wscn_process *pr = &p->s->proc;
	strand_status st;
	uint64_t u;
	if (strcmp(k, "image") == 0)
		return set_str(p, &pr->image, v, 0, k);
	if (strcmp(k, "modules") == 0)
		return set_str(p, &pr->modules, v, 1, k);
	if (strcmp(k, "image_path") == 0)
		return set_str(p, &pr->image_path, v, 2, k);
	if (strcmp(k, "dll_path") == 0)
		return set_str(p, &pr->dll_path, v, 3, k);
	if (strcmp(k, "command_line") == 0)
		return set_str(p, &pr->command_line, v, 4, k);
	if (strcmp(k, "system_dlls") == 0)
		return set_str(p, &pr->system_dlls, v, 15, k);
	if (strcmp(k, "nls_dir") == 0)
		return set_str(p, &pr->nls_dir, v, 16, k);
	if (strcmp(k, "pid") == 0) {
		if ((st = once(p, 5, k)) != STRAND_OK)
			return st;
		if (!parse_u32(v, &pr->pid) || pr->pid == 0 || pr->pid % 4)
			return perr(p, "pid '%s' is not a non-zero multiple of 4", v);
		return STRAND_OK;
	}
	if (strcmp(k, "tids") == 0) {
		if ((st = once(p, 6, k)) != STRAND_OK)
			return st;
		free(pr->tids);
		pr->tids = NULL;
		pr->ntids = 0;
		char *copy = strdup(v);
		if (!copy)
			return nomem(p);
		st = STRAND_OK;
		for (char *save = NULL, *t = strtok_r(copy, " \t", &save); t;
		     t = strtok_r(NULL, " \t", &save)) {
			uint32_t tid;
			if (!parse_u32(t, &tid) || tid == 0 || tid % 4) {
				st = perr(p, "thread id '%s' is not a non-zero multiple of 4", t);
				break;
			}
			bool dup = false;
			for (size_t j = 0; j < pr->ntids; j++)
				dup |= pr->tids[j] == tid;
			if (dup) {
				st = perr(p, "thread id %" PRIu32 " listed twice", tid);
				break;
			}
			if (pr->ntids == WSCN_TIDS_MAX) {
				st = perr(p, "more than %u thread ids", WSCN_TIDS_MAX);
				break;
			}
			uint32_t *slot = grow(&pr->tids, &pr->ntids, sizeof *slot);
			if (!slot) {
				st = nomem(p);
				break;
			}
			*slot = tid;
		}
		free(copy);
		if (st == STRAND_OK && pr->ntids == 0)
			st = perr(p, "'tids' lists no thread id");
		return st;
	}
	struct { const char *name; unsigned bit; uint64_t min, max; } nums[] = {
		{ "quantum", 7, 1, UINT32_MAX },
		{ "keyframe_interval", 8, 1, UINT64_MAX },
		{ "max_instructions", 9, 1, UINT64_MAX },
		{ "instructions_per_second", 10, 1, UINT64_MAX / 20000000ull },
		{ "perf_frequency", 11, 1, 1ull << 40 },
		{ "stack_size", 12, 0, 16u << 20 },
		{ "heap_size", 13, 4096, 64u << 20 },
	};
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		if (strcmp(k, nums[i].name) != 0)
			continue;
		if ((st = once(p, nums[i].bit, k)) != STRAND_OK)
			return st;
		if (!parse_u64(v, &u) || u < nums[i].min || u > nums[i].max)
			return perr(p, "%s '%s' is not a number in [%" PRIu64 ", %" PRIu64 "]",
				    k, v, nums[i].min, nums[i].max);
		switch (nums[i].bit) {
		case 7: pr->quantum = (uint32_t)u; break;
		case 8: pr->keyframe_interval = u; break;
		case 9: pr->max_instructions = u; break;
		case 10: pr->ips = u; break;
		case 11: pr->perf_frequency = u; break;
		case 12: pr->stack_size = (uint32_t)((u + 4095) & ~4095ull); break;
		case 13:
			if (u % 4096)
				return perr(p, "heap_size '%s' is not a multiple of 4096", v);
			pr->heap_size = (uint32_t)u;
			break;
		}
		return STRAND_OK;
	}
	if (strcmp(k, "system_time") == 0) {
		if ((st = once(p, 14, k)) != STRAND_OK)
			return st;
		if (!wscn_parse_time(v, &pr->system_time))
			return perr(p, "system_time '%s' is not 'YYYY-MM-DD HH:MM:SS'", v);
		return STRAND_OK;
	}
	return perr(p, "unknown key '%s' in [process]", k);
}

static strand_status parse_state(struct parser *p, const char *v, bool device, int *out)
{
	static const struct { const char *name; int state; bool dev, file; } states[] = {
		{ "ok", WSCN_STATE_OK, true, true },
		{ "absent", WSCN_STATE_ABSENT, true, false },
		{ "unload-pending", WSCN_STATE_UNLOAD_PENDING, true, false },
		{ "access-denied", WSCN_STATE_ACCESS_DENIED, true, true },
		{ "sharing-violation", WSCN_STATE_SHARING_VIOLATION, false, true },
	};
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		if (strcmp(v, states[i].name) == 0 && (device ? states[i].dev : states[i].file)) {
			*out = states[i].state;
			return STRAND_OK;
		}
	return perr(p, "unknown %s state '%s'", device ? "device" : "file", v);
}

static strand_status parse_bool(struct parser *p, const char *k, const char *v, bool *out)
{
	if (strcmp(v, "yes") == 0)
		*out = true;
	else if (strcmp(v, "no") == 0)
		*out = false;
	else
		return perr(p, "%s '%s' is not yes or no", k, v);
	return STRAND_OK;
}

static uint32_t state_open_status(int state)
{
	switch (state) {
	case WSCN_STATE_ABSENT:
	case WSCN_STATE_UNLOAD_PENDING: return 0xC000000Eu;   /* STATUS_NO_SUCH_DEVICE */
	case WSCN_STATE_ACCESS_DENIED: return 0xC0000022u;    /* STATUS_ACCESS_DENIED */
	case WSCN_STATE_SHARING_VIOLATION: return 0xC0000043u;/* STATUS_SHARING_VIOLATION */
	default: return 0;
	}
}

static strand_status device_key(struct parser *p, const char *k, const char *v)
{
	struct wscn_device *d = p->cur;
	strand_status st;
	if (strcmp(k, "state") == 0) {
		if ((st = once(p, 0, k)) != STRAND_OK || (st = parse_state(p, v, true, &d->state)) != STRAND_OK)
			return st;
		if (!(p->seen & 2))
			d->open_status = state_open_status(d->state);
		return STRAND_OK;
	}
	if (strcmp(k, "open_status") == 0) {
		if ((st = once(p, 1, k)) != STRAND_OK)
			return st;
		if (!parse_u32(v, &d->open_status))
			return perr(p, "open_status '%s' is not a 32-bit number", v);
		return STRAND_OK;
	}
	if (strcmp(k, "sink") == 0) {
		if ((st = once(p, 2, k)) != STRAND_OK)
			return st;
		if (strcmp(v, "none") == 0) d->sink = WSCN_SINK_NONE;
		else if (strcmp(v, "debug") == 0) d->sink = WSCN_SINK_DEBUG;
		else if (strcmp(v, "service") == 0) d->sink = WSCN_SINK_SERVICE;
		else return perr(p, "unknown sink '%s' (none, debug, service)", v);
		return STRAND_OK;
	}
	if (strcmp(k, "ioctl") == 0) {
		char code[32], status[32];
		int n = 0;
		if (sscanf(v, "%31s %31s %n", code, status, &n) < 2)
			return perr(p, "ioctl '%s' is not 'CODE STATUS [DATA]'", v);
		struct wscn_ioctl io = { 0 };
		if (!parse_u32(code, &io.code) || !parse_u32(status, &io.status))
			return perr(p, "ioctl '%s': CODE and STATUS must be 32-bit numbers", v);
		for (size_t i = 0; i < d->nioctls; i++)
			if (d->ioctls[i].code == io.code)
				return perr(p, "ioctl code 0x%08" PRIx32 " given twice", io.code);
		if (v[n] && (st = parse_data(p, v + n, &io.out)) != STRAND_OK) {
			free(io.out.bytes);
			return st;
		}
		struct wscn_ioctl *slot = grow(&d->ioctls, &d->nioctls, sizeof *slot);
		if (!slot) {
			free(io.out.bytes);
			return nomem(p);
		}
		*slot = io;
		return STRAND_OK;
	}
	if (strcmp(k, "ioctl_default") == 0) {
		if ((st = once(p, 3, k)) != STRAND_OK)
			return st;
		if (!parse_u32(v, &d->ioctl_default))
			return perr(p, "ioctl_default '%s' is not a 32-bit number", v);
		return STRAND_OK;
	}
	if (strcmp(k, "read") == 0)
		return parse_data(p, v, &d->read);
	if (strcmp(k, "write_status") == 0) {
		if ((st = once(p, 4, k)) != STRAND_OK)
			return st;
		if (!parse_u32(v, &d->write_status))
			return perr(p, "write_status '%s' is not a 32-bit number", v);
		return STRAND_OK;
	}
	return perr(p, "unknown key '%s' in [device]", k);
}

static strand_status file_key(struct parser *p, const char *k, const char *v)
{
	struct wscn_file *f = p->cur;
	strand_status st;
	if (strcmp(k, "data") == 0)
		return parse_data(p, v, &f->data);
	if (strcmp(k, "state") == 0) {
		if ((st = once(p, 0, k)) != STRAND_OK)
			return st;
		return parse_state(p, v, false, &f->state);
	}
	if (strcmp(k, "writable") == 0) {
		if ((st = once(p, 1, k)) != STRAND_OK)
			return st;
		return parse_bool(p, k, v, &f->writable);
	}
	return perr(p, "unknown key '%s' in [file]", k);
}

static strand_status key_value(struct parser *p, const char *k, const char *v)
{
	struct wscn_key *key = p->cur;
	strand_status st;
	if (k[0] == '.') {
		if (strcmp(k, ".access") != 0)
			return perr(p, "unknown key attribute '%s' (only .access)", k);
		if ((st = once(p, 0, k)) != STRAND_OK)
			return st;
		if (strcmp(v, "ok") == 0)
			key->denied = false;
		else if (strcmp(v, "denied") == 0)
			key->denied = true;
		else
			return perr(p, ".access '%s' is not ok or denied", v);
		return STRAND_OK;
	}
	const char *name = strcmp(k, "@") == 0 ? "" : k;
	for (size_t i = 0; i < key->nvalues; i++)
		if (wscn_name_eq(key->values[i].name, name))
			return perr(p, "value '%s' given twice", k);
	const char *colon = strchr(v, ':');
	if (!colon)
		return perr(p, "value '%s' has no TYPE: prefix", k);
	size_t tlen = (size_t)(colon - v);
	const char *data = colon + 1;
	struct wscn_value val = { 0 };
	uint64_t u;
	st = STRAND_OK;
#define IS(t) (tlen == strlen(t) && strncmp(v, t, tlen) == 0)
	if (IS("dword") || IS("qword")) {
		bool q = IS("qword");
		val.type = q ? REG_QWORD : REG_DWORD;
		if (!parse_u64(data, &u) || (!q && u > UINT32_MAX))
			return perr(p, "value '%s': '%s' is not a %s", k, data, q ? "64-bit number" : "32-bit number");
		uint8_t b[8];
		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)(u >> (8 * i));
		st = append(p, &val.data, b, q ? 8 : 4);
	} else if (IS("sz") || IS("expand_sz")) {
		val.type = IS("sz") ? REG_SZ : REG_EXPAND_SZ;
		st = append_utf16(p, &val.data, data, strlen(data), true);
	} else if (IS("multi_sz")) {
		val.type = REG_MULTI_SZ;
		const char *s = data;
		while (st == STRAND_OK && *s) {
			const char *bar = strchr(s, '|');
			size_t n = bar ? (size_t)(bar - s) : strlen(s);
			st = append_utf16(p, &val.data, s, n, true);
			s += n + (bar ? 1 : 0);
		}
		if (st == STRAND_OK)
			st = append_utf16(p, &val.data, "", 0, true);
	} else if (IS("binary") || IS("none")) {
		val.type = IS("binary") ? REG_BINARY : REG_NONE;
		st = parse_hex(p, data, &val.data);
	} else {
		return perr(p, "value '%s': unknown type '%.*s'", k, (int)tlen, v);
	}
#undef IS
	if (st == STRAND_OK && !(val.name = strdup(name)))
		st = nomem(p);
	struct wscn_value *slot = st == STRAND_OK ? grow(&key->values, &key->nvalues, sizeof *slot) : NULL;
	if (st == STRAND_OK && !slot)
		st = nomem(p);
	if (st != STRAND_OK) {
		free(val.name);
		free(val.data.bytes);
		return st;
	}
	*slot = val;
	return STRAND_OK;
}

static strand_status event_key(struct parser *p, const char *k, const char *v)
{
	struct wscn_event *e = p->cur;
	strand_status st;
	if (strcmp(k, "type") == 0) {
		if ((st = once(p, 0, k)) != STRAND_OK)
			return st;
		if (strcmp(v, "notification") == 0)
			e->synchronization = false;
		else if (strcmp(v, "synchronization") == 0)
			e->synchronization = true;
		else
			return perr(p, "event type '%s' is not notification or synchronization", v);
		return STRAND_OK;
	}
	if (strcmp(k, "signaled") == 0) {
		if ((st = once(p, 1, k)) != STRAND_OK)
			return st;
		return parse_bool(p, k, v, &e->signaled);
	}
	return perr(p, "unknown key '%s' in [event]", k);
}

static strand_status link_key(struct parser *p, const char *k, const char *v)
{
	struct wscn_link *l = p->cur;
	if (strcmp(k, "target") != 0)
		return perr(p, "unknown key '%s' in [link]", k);
	strand_status st = set_str(p, &l->target, v, 0, k);
	if (st == STRAND_OK && v[0] != '\\')
		return perr(p, "link target '%s' is not an NT name (\\...)", v);
	if (st == STRAND_OK)
		wscn_canon_name(l->target);
	return st;
}

#define WSCN_CONTROLS_MAX 64

static strand_status service_key(struct parser *p, const char *k, const char *v)
{
	struct wscn_service *sv = p->cur;
	strand_status st;
	if (strcmp(k, "type") == 0) {
		if ((st = once(p, 0, k)) != STRAND_OK)
			return st;
		if (!parse_u32(v, &sv->type) || sv->type == 0)
			return perr(p, "service type '%s' is not a nonzero number", v);
		return STRAND_OK;
	}
	if (strcmp(k, "start") == 0) {
		if ((st = once(p, 1, k)) != STRAND_OK)
			return st;
		return parse_bool(p, k, v, &sv->start);
	}
	if (strcmp(k, "control") == 0) {
		uint32_t code;
		if (!parse_u32(v, &code) || code == 0 || code > 255)
			return perr(p, "control '%s' is not a control code 1..255", v);
		if (sv->ncontrols >= WSCN_CONTROLS_MAX)
			return perr(p, "more than %u controls", WSCN_CONTROLS_MAX);
		uint32_t *c = realloc(sv->controls, (sv->ncontrols + 1) * sizeof *c);
		if (!c)
			return nomem(p);
		sv->controls = c;
		c[sv->ncontrols++] = code;
		return STRAND_OK;
	}
	return perr(p, "unknown key '%s' in [service]", k);
}

/* A service name: 1..256 printable ASCII characters, no '\\' or '/'. */
static bool service_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > WSCN_SERVICE_NAME_MAX)
		return false;
	for (const char *c = name; *c; c++)
		if (*c < 0x21 || *c > 0x7e || *c == '\\' || *c == '/')
			return false;
	return true;
}

/* Check the section just finished. */
static strand_status end_section(struct parser *p)
{
	if (p->sect == S_LINK && !((struct wscn_link *)p->cur)->target)
		return perr(p, "[link %s] has no target", ((struct wscn_link *)p->cur)->name);
	return STRAND_OK;
}

static strand_status begin_section(struct parser *p, const char *type, const char *name)
{
	strand_status st = end_section(p);
	if (st != STRAND_OK)
		return st;
	p->seen = 0;
	if (strcmp(type, "process") == 0) {
		if (*name)
			return perr(p, "[process] takes no name");
		if (p->have_process)
			return perr(p, "[process] given twice");
		p->have_process = true;
		p->sect = S_PROCESS;
		p->cur = &p->s->proc;
		return STRAND_OK;
	}
	if (!*name)
		return perr(p, "[%s] needs a name", type);
	if (strcmp(type, "service") == 0) {
		struct wscn *s = p->s;
		if (!service_name_ok(name))
			return perr(p, "[service %s]: a service name is 1..%u printable characters without '\\' or '/'",
				    name, WSCN_SERVICE_NAME_MAX);
		for (size_t i = 0; i < s->nservices; i++)
			if (strcasecmp(s->services[i].name, name) == 0)
				return perr(p, "[service %s] given twice", name);
		if (++p->nsections > WSCN_SECTIONS_MAX)
			return perr(p, "more than %u sections", WSCN_SECTIONS_MAX);
		struct wscn_service *sv = grow(&s->services, &s->nservices, sizeof *sv);
		if (!sv || !(sv->name = strdup(name)))
			return nomem(p);
		sv->type = 0x20;
		sv->start = true;
		p->sect = S_SERVICE;
		p->cur = sv;
		return STRAND_OK;
	}
	if (name[0] != '\\')
		return perr(p, "[%s %s]: the name is not an NT name (\\...)", type, name);
	char *cname = strdup(name);
	if (!cname)
		return nomem(p);
	wscn_canon_name(cname);
	struct wscn *s = p->s;
	if (++p->nsections > WSCN_SECTIONS_MAX) {
		free(cname);
		return perr(p, "more than %u sections", WSCN_SECTIONS_MAX);
	}
	/* `arr` names the array the section joins: its address tells the
	 * types apart in the name set */
#define DUPCHECK(arr, n, what)                                                   \
	if (nameset_has(&p->names, (int)(offsetof(struct wscn, arr) & 0xffff), cname)) { \
		free(cname);                                                     \
		return perr(p, "[%s %s] given twice", what, name);               \
	}                                                                        \
	if (!nameset_add(&p->names, (int)(offsetof(struct wscn, arr) & 0xffff), cname)) { \
		free(cname);                                                     \
		return nomem(p);                                                 \
	}
	if (strcmp(type, "device") == 0) {
		DUPCHECK(devices, s->ndevices, "device");
		struct wscn_device *d = grow(&s->devices, &s->ndevices, sizeof *d);
		if (!d) { free(cname); return nomem(p); }
		d->name = cname;
		p->sect = S_DEVICE;
		p->cur = d;
	} else if (strcmp(type, "file") == 0) {
		DUPCHECK(files, s->nfiles, "file");
		struct wscn_file *f = grow(&s->files, &s->nfiles, sizeof *f);
		if (!f) { free(cname); return nomem(p); }
		f->name = cname;
		f->writable = true;
		p->sect = S_FILE;
		p->cur = f;
	} else if (strcmp(type, "key") == 0) {
		size_t depth = 0;
		for (const char *c = cname; *c; c++)
			depth += *c == '\\';
		if (depth > WSCN_KEY_DEPTH_MAX) {
			free(cname);
			return perr(p, "[key] is deeper than %u levels", WSCN_KEY_DEPTH_MAX);
		}
		DUPCHECK(keys, s->nkeys, "key");
		if (!wscn_name_has_prefix(cname, "\\Registry\\Machine") &&
		    !wscn_name_has_prefix(cname, "\\Registry\\User")) {
			free(cname);
			return perr(p, "[key %s] is not under \\Registry\\Machine or \\Registry\\User", name);
		}
		struct wscn_key *k = grow(&s->keys, &s->nkeys, sizeof *k);
		if (!k) { free(cname); return nomem(p); }
		k->name = cname;
		p->sect = S_KEY;
		p->cur = k;
	} else if (strcmp(type, "event") == 0) {
		DUPCHECK(events, s->nevents, "event");
		struct wscn_event *e = grow(&s->events, &s->nevents, sizeof *e);
		if (!e) { free(cname); return nomem(p); }
		e->name = cname;
		p->sect = S_EVENT;
		p->cur = e;
	} else if (strcmp(type, "link") == 0) {
		DUPCHECK(links, s->nlinks, "link");
		struct wscn_link *l = grow(&s->links, &s->nlinks, sizeof *l);
		if (!l) { free(cname); return nomem(p); }
		l->name = cname;
		p->sect = S_LINK;
		p->cur = l;
	} else {
		free(cname);
		return perr(p, "unknown section type '%s'", type);
	}
#undef DUPCHECK
	return STRAND_OK;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

static strand_status parse_line(struct parser *p, char *line)
{
	char *l = trim(line);
	if (!*l || *l == '#' || *l == ';')
		return STRAND_OK;
	if (*l == '[') {
		size_t n = strlen(l);
		if (l[n - 1] != ']')
			return perr(p, "section header without a closing ']'");
		l[n - 1] = 0;
		char *body = trim(l + 1);
		char *sp = body + strcspn(body, " \t");
		char *name = "";
		if (*sp) {
			*sp = 0;
			name = trim(sp + 1);
		}
		return begin_section(p, body, name);
	}
	char *eq = strchr(l, '=');
	if (!eq)
		return perr(p, "expected 'KEY = VALUE' or '[SECTION]'");
	*eq = 0;
	char *k = trim(l), *v = trim(eq + 1);
	if (!*k)
		return perr(p, "empty key");
	switch (p->sect) {
	case S_NONE: return perr(p, "'%s' outside any section", k);
	case S_PROCESS: return process_key(p, k, v);
	case S_DEVICE: return device_key(p, k, v);
	case S_FILE: return file_key(p, k, v);
	case S_KEY: return key_value(p, k, v);
	case S_EVENT: return event_key(p, k, v);
	case S_LINK: return link_key(p, k, v);
	case S_SERVICE: return service_key(p, k, v);
	}
	return perr(p, "internal: bad section");
}

#define KEYS_TYPE ((int)(offsetof(struct wscn, keys) & 0xffff))

/* Add every ancestor of declared keys (below the root) as implicit keys,
 * in the order they are first met.  Names are looked up in the parser's
 * name set, so the cost is at most depth x length per key (the depth is
 * bounded by WSCN_KEY_DEPTH_MAX, the lengths by the file size). */
static strand_status add_implicit_keys(struct parser *p)
{
	struct wscn *s = p->s;
	size_t n = s->nkeys;
	for (size_t i = 0; i < n; i++) {
		char *name = strdup(s->keys[i].name);
		if (!name)
			return nomem(p);
		for (char *bs = strrchr(name, '\\'); bs && bs != name; bs = strrchr(name, '\\')) {
			*bs = 0;
			if (nameset_has(&p->names, KEYS_TYPE, name))
				continue;
			if (s->nkeys >= WSCN_KEYS_MAX) {
				free(name);
				return strand_error_set(p->err, STRAND_ERR_INVALID,
							"%s: more than %u registry keys with their parents",
							p->name, WSCN_KEYS_MAX);
			}
			struct wscn_key *k = grow(&s->keys, &s->nkeys, sizeof *k);
			if (!k) {
				free(name);
				return nomem(p);
			}
			k->implicit = true;
			if (!(k->name = strdup(name)) || !nameset_add(&p->names, KEYS_TYPE, k->name)) {
				free(name);
				return nomem(p);
			}
		}
		free(name);
	}
	/* the roots always exist */
	static const char *const roots[] = { "\\Registry", "\\Registry\\Machine", "\\Registry\\User" };
	for (size_t i = 0; i < 3; i++) {
		if (nameset_has(&p->names, KEYS_TYPE, roots[i]))
			continue;
		struct wscn_key *k = grow(&s->keys, &s->nkeys, sizeof *k);
		if (!k || !(k->name = strdup(roots[i])) || !nameset_add(&p->names, KEYS_TYPE, k->name))
			return nomem(p);
		k->implicit = true;
	}
	return STRAND_OK;
}

static strand_status finish(struct parser *p)
{
	struct wscn_process *pr = &p->s->proc;
	strand_status st = end_section(p);
	if (st != STRAND_OK)
		return st;
	if (!p->have_process)
		return strand_error_set(p->err, STRAND_ERR_INVALID, "%s: no [process] section", p->name);
	if (!pr->image)
		return strand_error_set(p->err, STRAND_ERR_INVALID, "%s: [process] has no image", p->name);
	if (strchr(pr->image, '/') || strchr(pr->image, '\\'))
		return strand_error_set(p->err, STRAND_ERR_INVALID,
					"%s: image '%s' must be a file name, not a path", p->name, pr->image);
	char buf[4096];
	if (!pr->modules && !(pr->modules = strdup(".")))
		return nomem(p);
	if (pr->modules[0] != '/') {
		snprintf(buf, sizeof buf, "%s/%s", p->s->dir, pr->modules);
		char *m = strdup(buf);
		if (!m)
			return nomem(p);
		free(pr->modules);
		pr->modules = m;
	}
	char **dirs[2] = { &pr->system_dlls, &pr->nls_dir };
	for (int i = 0; i < 2; i++) {
		if (!*dirs[i] || (*dirs[i])[0] == '/')
			continue;
		snprintf(buf, sizeof buf, "%s/%s", p->s->dir, *dirs[i]);
		char *d = strdup(buf);
		if (!d)
			return nomem(p);
		free(*dirs[i]);
		*dirs[i] = d;
	}
	if (!pr->dll_path && !(pr->dll_path = strdup("C:\\WINDOWS\\system32")))
		return nomem(p);
	if (!pr->image_path) {
		snprintf(buf, sizeof buf, "%s\\%s", pr->dll_path, pr->image);
		if (!(pr->image_path = strdup(buf)))
			return nomem(p);
	}
	if (!pr->command_line && !(pr->command_line = strdup(pr->image_path)))
		return nomem(p);
	if (!pr->tids) {
		if (!(pr->tids = malloc(sizeof *pr->tids)))
			return nomem(p);
		pr->tids[0] = 492;
		pr->ntids = 1;
	}
	return add_implicit_keys(p);
}

static void set_defaults(struct wscn_process *pr)
{
	pr->pid = 488;
	pr->quantum = 20000;
	pr->keyframe_interval = 200000;
	pr->max_instructions = 200000000;
	wscn_parse_time("2009-03-02 09:00:00", &pr->system_time);
	pr->ips = 100000000;
	pr->perf_frequency = 3579545;
	pr->stack_size = 0;
	pr->heap_size = 0x100000;
}

strand_status wscn_parse(const char *name, const char *dir, const char *text, size_t len,
			 struct wscn **out, strand_error *err)
{
	return wscn_parse_opts(name, dir, text, len, NULL, out, err);
}

strand_status wscn_parse_opts(const char *name, const char *dir, const char *text, size_t len,
			      const struct wscn_parse_options *opt, struct wscn **out,
			      strand_error *err)
{
	*out = NULL;
	struct wscn *s = calloc(1, sizeof *s);
	if (!s)
		return strand_error_set(err, STRAND_ERR_NOMEM, "%s: out of memory", name);
	struct parser p = { .s = s, .name = name, .err = err,
			    .allow_host_files = opt && opt->allow_host_files };
	strand_status st = STRAND_OK;
	s->path = strdup(name);
	s->dir = strdup(dir && *dir ? dir : ".");
	s->text = xstrndup(text, len);
	s->text_len = len;
	if (!s->path || !s->dir || !s->text) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "%s: out of memory", name);
		goto out;
	}
	set_defaults(&s->proc);
	if (memchr(text, 0, len)) {
		st = strand_error_set(err, STRAND_ERR_INVALID, "%s: contains a NUL byte", name);
		goto out;
	}
	char line[WSCN_LINE_MAX + 1];
	size_t pos = 0;
	while (pos < len) {
		p.line++;
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		if (n > WSCN_LINE_MAX) {
			st = perr(&p, "line longer than %d bytes", WSCN_LINE_MAX);
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = 0;
		pos += n + (nl ? 1 : 0);
		if ((st = parse_line(&p, line)) != STRAND_OK)
			goto out;
	}
	st = finish(&p);
out:
	free(p.names.e);
	if (st != STRAND_OK) {
		wscn_free(s);
		return st;
	}
	*out = s;
	return STRAND_OK;
}

strand_status wscn_load(const char *path, struct wscn **out, strand_error *err)
{
	return wscn_load_opts(path, NULL, out, err);
}

strand_status wscn_load_opts(const char *path, const struct wscn_parse_options *opt,
			     struct wscn **out, strand_error *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return strand_error_set(err, STRAND_ERR_IO, "cannot open scenario '%s': %s", path,
					strerror(errno));
	char *buf = NULL;
	size_t len = 0, cap = 0;
	strand_status st = STRAND_OK;
	for (;;) {
		if (len == cap) {
			if (cap >= WSCN_FILE_MAX) {
				st = strand_error_set(err, STRAND_ERR_INVALID,
						      "scenario '%s' is larger than %u bytes", path, WSCN_FILE_MAX);
				goto out;
			}
			cap = cap ? cap * 2 : 8192;
			char *q = realloc(buf, cap);
			if (!q) {
				st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot read scenario '%s'", path);
				goto out;
			}
			buf = q;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		st = strand_error_set(err, STRAND_ERR_IO, "cannot read scenario '%s'", path);
		goto out;
	}
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	st = wscn_parse_opts(path, dir, buf ? buf : "", len, opt, out, err);
out:
	free(buf);
	fclose(f);
	return st;
}

void wscn_free(struct wscn *s)
{
	if (!s)
		return;
	struct wscn_process *pr = &s->proc;
	free(pr->system_dlls); free(pr->nls_dir);
	free(pr->image); free(pr->modules); free(pr->image_path); free(pr->dll_path);
	free(pr->command_line); free(pr->tids);
	for (size_t i = 0; i < s->ndevices; i++) {
		struct wscn_device *d = &s->devices[i];
		for (size_t j = 0; j < d->nioctls; j++)
			free(d->ioctls[j].out.bytes);
		free(d->ioctls);
		free(d->read.bytes);
		free(d->name);
	}
	for (size_t i = 0; i < s->nfiles; i++) {
		free(s->files[i].name);
		free(s->files[i].data.bytes);
	}
	for (size_t i = 0; i < s->nkeys; i++) {
		for (size_t j = 0; j < s->keys[i].nvalues; j++) {
			free(s->keys[i].values[j].name);
			free(s->keys[i].values[j].data.bytes);
		}
		free(s->keys[i].values);
		free(s->keys[i].name);
	}
	for (size_t i = 0; i < s->nevents; i++)
		free(s->events[i].name);
	for (size_t i = 0; i < s->nlinks; i++) {
		free(s->links[i].name);
		free(s->links[i].target);
	}
	for (size_t i = 0; i < s->nservices; i++) {
		free(s->services[i].name);
		free(s->services[i].controls);
	}
	free(s->devices); free(s->files); free(s->keys); free(s->events); free(s->links);
	free(s->services);
	free(s->path); free(s->dir); free(s->text);
	free(s);
}
