/*
 * The kernel model: Windows Server 2003 native system services over an
 * object-manager namespace built from the scenario (devices, files,
 * registry keys, named events, symbolic links).  Everything it knows of
 * the outside world comes from the scenario; nothing here depends on which
 * guest is running.  docs/winemu.md lists what is modelled.
 *
 * A service reads its arguments from [edx + 8] and guest structures
 * through wemu_read/wemu_write, which check access like ProbeForRead /
 * ProbeForWrite (a bad pointer is STATUS_ACCESS_VIOLATION) and record every
 * byte written as an effect of the SYSCALL record.  A wait that cannot be
 * satisfied blocks: nothing is written, the thread stays at its sysenter
 * and re-executes it when it is resumed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>

#include "record/winemu/winemu_int.h"

#define MAX_NAME 4096             /* bytes of an object name (UTF-8) */
#define MAX_USTR_BYTES 0x8000u    /* UNICODE_STRING.Length limit */
#define PSEUDO_PROCESS 0xffffffffu
#define PSEUDO_THREAD 0xfffffffeu

/* REG_* */
enum { REG_SZ = 1, REG_EXPAND_SZ = 2, REG_MULTI_SZ = 7 };

/* One system call being served. */
struct sc {
	struct wemu *m;
	struct wthread *t;
	uint32_t number, pc, edx;
	uint32_t a[16];
	uint32_t nargs;
	bool blocked;
	bool yield;
	bool exit_self;          /* the calling thread terminates */
	uint32_t exit_status;
	bool exit_process;
	struct wthread *created; /* THREAD record after the SYSCALL */
	struct wthread *killed[64];
	uint32_t nkilled;
	struct { uint8_t *data; uint32_t len; uint32_t stream; } out[4];
	uint32_t nout;
	bool full_cpu;           /* the call replaced the whole context (NtContinue) */
	struct wmodule *loaded;  /* MODULE record after the SYSCALL (image mapped) */
	uint32_t unloaded_id;    /* MODULE_UNLOAD after the SYSCALL, 0 = none */
};

static uint32_t rd32le(const uint8_t *p);
static void wr32le(uint8_t *p, uint32_t v);
static uint32_t image_info(const uint8_t *d, size_t n, uint8_t out[0x30]);

/* Record a request the model does not serve (a service, an information
 * class, a control code): one stderr line, a count, and a line of the
 * NOTE "unmodelled-syscalls" (docs/winemu.md).  `what` is e.g.
 * "service=NtFoo" or "service=NtQueryInformationFile class=59". */
static void log_unmodelled(struct sc *c, const char *what)
{
	struct wemu *m = c->m;
	uint64_t position = m->icount - 1;
	wemu_warn(m, "unmodelled %s (number 0x%x) at pc=0x%08x: not served", what, c->number, c->pc);
	if (m->res)
		m->res->unknown_syscalls++;
	char line[300];
	int n = snprintf(line, sizeof line, "position=%" PRIu64 " tid=%u pc=0x%08x number=0x%x %s\n", position,
			 c->t->tid, c->pc, c->number, what);
	if (n < 0 || (size_t)n >= sizeof line)
		n = (int)strlen(line);
	char *q = realloc(m->unmodelled, m->unmodelled_len + (size_t)n + 1);
	if (!q) {
		m->hook_status = strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
		return;
	}
	memcpy(q + m->unmodelled_len, line, (size_t)n + 1);
	m->unmodelled = q;
	m->unmodelled_len += (size_t)n;
}

/* Log an unmodelled information class of the running service. */
static uint32_t unmodelled_class(struct sc *c, const char *kind, uint32_t cls, uint32_t status)
{
	const struct wsyscall *svc = wemu_sys_find(c->m, c->number);
	char what[160];
	snprintf(what, sizeof what, strstr(kind, "ioctl") ? "service=%s %s=0x%08x" : "service=%s %s=%u",
		 svc ? svc->name : "?", kind, cls);
	log_unmodelled(c, what);
	return status;
}

/* ===================================================================== */
/* Objects and handles                                                    */
/* ===================================================================== */

struct wobj *wemu_obj_new(struct wemu *m, enum wobj_type type, const char *name)
{
	struct wobj *o = calloc(1, sizeof *o);
	struct wobj **v = realloc(m->objs, (m->nobjs + 1) * sizeof *v);
	if (!o || !v) {
		free(o);
		if (v)
			m->objs = v;
		return NULL;
	}
	m->objs = v;
	o->type = type;
	if (name && !(o->name = strdup(name))) {
		free(o);
		return NULL;
	}
	m->objs[m->nobjs++] = o;
	return o;
}

static uint32_t handle_new(struct wemu *m, struct wobj *o, uint32_t *h)
{
	for (size_t i = 0; i < m->nhandles; i++)
		if (!m->handles[i]) {
			m->handles[i] = o;
			*h = (uint32_t)(4 * (i + 1));
			return ST_SUCCESS;
		}
	if (m->nhandles >= 0x10000)
		return ST_NO_MEMORY; /* STATUS_INSUFFICIENT_RESOURCES in spirit */
	struct wobj **v = realloc(m->handles, (m->nhandles + 1) * sizeof *v);
	if (!v)
		return ST_NO_MEMORY;
	m->handles = v;
	m->handles[m->nhandles++] = o;
	*h = (uint32_t)(4 * m->nhandles);
	return ST_SUCCESS;
}

static void handle_close(struct wemu *m, uint32_t h)
{
	if (h && h % 4 == 0 && h / 4 <= m->nhandles)
		m->handles[h / 4 - 1] = NULL;
}

/* Object of handle h (pseudo handles included); type 0 = any. */
static uint32_t handle_get(struct sc *c, uint32_t h, enum wobj_type type, struct wobj **out)
{
	struct wemu *m = c->m;
	struct wobj *o = NULL;
	if (h == PSEUDO_PROCESS)
		o = m->process_obj;
	else if (h == PSEUDO_THREAD)
		o = c->t->obj;
	else if (h && h % 4 == 0 && h / 4 <= m->nhandles)
		o = m->handles[h / 4 - 1];
	if (!o)
		return ST_INVALID_HANDLE;
	if (type && o->type != type)
		return ST_OBJECT_TYPE_MISMATCH;
	*out = o;
	return ST_SUCCESS;
}

/* Give the caller a handle to o at guest address hp. */
static uint32_t give_handle(struct sc *c, struct wobj *o, uint32_t hp)
{
	uint32_t h;
	uint32_t st = handle_new(c->m, o, &h);
	if (st)
		return st;
	if (!wemu_write32(c->m, hp, h)) {
		handle_close(c->m, h);
		return ST_ACCESS_VIOLATION;
	}
	return ST_SUCCESS;
}

/* ===================================================================== */
/* Names                                                                  */
/* ===================================================================== */

/* UTF-16LE (n units) to UTF-8 in out (cap bytes, NUL-terminated). */
static bool utf16_to_utf8(const uint8_t *s, uint32_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t c = (uint32_t)s[2 * i] | (uint32_t)s[2 * i + 1] << 8;
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
			uint32_t lo = (uint32_t)s[2 * i + 2] | (uint32_t)s[2 * i + 3] << 8;
			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			}
		}
		char b[4];
		size_t k;
		if (c < 0x80) { b[0] = (char)c; k = 1; }
		else if (c < 0x800) { b[0] = (char)(0xc0 | c >> 6); b[1] = (char)(0x80 | (c & 0x3f)); k = 2; }
		else if (c < 0x10000) {
			b[0] = (char)(0xe0 | c >> 12); b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[2] = (char)(0x80 | (c & 0x3f)); k = 3;
		} else {
			b[0] = (char)(0xf0 | c >> 18); b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
			b[2] = (char)(0x80 | ((c >> 6) & 0x3f)); b[3] = (char)(0x80 | (c & 0x3f)); k = 4;
		}
		if (c == 0 || o + k + 1 > cap)
			return false;
		memcpy(out + o, b, k);
		o += k;
	}
	out[o] = 0;
	return true;
}

/* UNICODE_STRING at us to UTF-8. */
static uint32_t read_ustr(struct sc *c, uint32_t us, char *out, size_t cap)
{
	uint8_t hdr[8];
	if (!wemu_read(c->m, us, hdr, 8))
		return ST_ACCESS_VIOLATION;
	uint32_t len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8;
	uint32_t maxlen = (uint32_t)hdr[2] | (uint32_t)hdr[3] << 8;
	uint32_t buf = (uint32_t)hdr[4] | (uint32_t)hdr[5] << 8 | (uint32_t)hdr[6] << 16 |
		       (uint32_t)hdr[7] << 24;
	if (len % 2 || len > maxlen || len > MAX_USTR_BYTES)
		return ST_INVALID_PARAMETER;
	uint8_t *raw = malloc(len ? len : 1);
	if (!raw)
		return ST_NO_MEMORY;
	uint32_t st = ST_SUCCESS;
	if (!wemu_read(c->m, buf, raw, len))
		st = ST_ACCESS_VIOLATION;
	else if (!utf16_to_utf8(raw, len / 2, out, cap))
		st = ST_OBJECT_NAME_INVALID;
	free(raw);
	return st;
}

/* Substitute [link] prefixes (at most 8 times). */
static uint32_t resolve_links(struct wemu *m, char *name, size_t cap)
{
	for (int hops = 0;; hops++) {
		const struct wscn_link *best = NULL;
		for (size_t i = 0; i < m->scn->nlinks; i++) {
			const struct wscn_link *l = &m->scn->links[i];
			if (wscn_name_has_prefix(name, l->name) &&
			    (!best || strlen(l->name) > strlen(best->name)))
				best = l;
		}
		if (!best)
			return ST_SUCCESS;
		if (hops == 8)
			return ST_OBJECT_NAME_INVALID;
		char tmp[MAX_NAME];
		int n = snprintf(tmp, sizeof tmp, "%s%s", best->target, name + strlen(best->name));
		if (n < 0 || (size_t)n >= cap)
			return ST_OBJECT_NAME_INVALID;
		memcpy(name, tmp, (size_t)n + 1);
	}
}

/* Full canonical name from OBJECT_ATTRIBUTES at oa.  *has_name is false if
 * the attributes carry no name (unnamed objects). */
static uint32_t read_oa(struct sc *c, uint32_t oa, char *out, size_t cap, bool *has_name)
{
	*has_name = false;
	out[0] = 0;
	if (!oa)
		return ST_SUCCESS;
	uint32_t root, us;
	if (!wemu_read32(c->m, oa + 4, &root) || !wemu_read32(c->m, oa + 8, &us))
		return ST_ACCESS_VIOLATION;
	if (!us)
		return root ? ST_OBJECT_NAME_INVALID : ST_SUCCESS;
	char rel[MAX_NAME];
	uint32_t st = read_ustr(c, us, rel, sizeof rel);
	if (st)
		return st;
	if (root) {
		struct wobj *r;
		if ((st = handle_get(c, root, 0, &r)))
			return st;
		if (!r->name)
			return ST_OBJECT_TYPE_MISMATCH;
		if (rel[0] == '\\')
			return ST_OBJECT_NAME_INVALID;
		int n = rel[0] ? snprintf(out, cap, "%s\\%s", r->name, rel) : snprintf(out, cap, "%s", r->name);
		if (n < 0 || (size_t)n >= cap)
			return ST_OBJECT_NAME_INVALID;
	} else {
		if (!rel[0])
			return ST_SUCCESS;
		if (rel[0] != '\\')
			return ST_OBJECT_PATH_NOT_FOUND; /* STATUS_OBJECT_PATH_SYNTAX_BAD in spirit */
		snprintf(out, cap, "%s", rel);
	}
	wscn_canon_name(out);
	*has_name = true;
	return resolve_links(c->m, out, cap);
}

/* Named object (event, mutant, semaphore, directory) by name. */
static struct wobj *find_named(struct wemu *m, const char *name)
{
	for (size_t i = 0; i < m->nobjs; i++)
		if (m->objs[i]->name && (m->objs[i]->type == WO_EVENT || m->objs[i]->type == WO_MUTANT ||
					 m->objs[i]->type == WO_SEMAPHORE) &&
		    wscn_name_eq(m->objs[i]->name, name))
			return m->objs[i];
	return NULL;
}

/* ===================================================================== */
/* Set-up                                                                 */
/* ===================================================================== */

static struct wkey *key_add(struct wemu *m, const char *name)
{
	struct wkey *k = calloc(1, sizeof *k);
	struct wkey **v = realloc(m->keys, (m->nkeys + 1) * sizeof *v);
	if (!k || !v || !(k->name = strdup(name))) {
		if (v)
			m->keys = v;
		free(k);
		return NULL;
	}
	m->keys = v;
	m->keys[m->nkeys++] = k;
	return k;
}

static struct wkey *key_find(struct wemu *m, const char *name)
{
	for (size_t i = 0; i < m->nkeys; i++)
		if (wscn_name_eq(m->keys[i]->name, name))
			return m->keys[i];
	return NULL;
}

static struct wfile *file_add(struct wemu *m, const char *name)
{
	struct wfile *f = calloc(1, sizeof *f);
	struct wfile **v = realloc(m->files, (m->nfiles + 1) * sizeof *v);
	if (!f || !v || !(f->name = strdup(name))) {
		if (v)
			m->files = v;
		free(f);
		return NULL;
	}
	m->files = v;
	f->writable = true;
	m->files[m->nfiles++] = f;
	f->id = (uint32_t)m->nfiles;
	return f;
}

static struct wfile *file_find(struct wemu *m, const char *name)
{
	for (size_t i = 0; i < m->nfiles; i++)
		if (wscn_name_eq(m->files[i]->name, name))
			return m->files[i];
	return NULL;
}

static bool data_set(uint8_t **data, size_t *len, size_t *cap, const void *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	if (!p)
		return false;
	if (n)
		memcpy(p, src, n);
	free(*data);
	*data = p;
	*len = n;
	if (cap)
		*cap = n;
	return true;
}

/* ===================================================================== */
/* Host-backed directories (real system DLLs)                             */
/* ===================================================================== */

/* With real system DLLs, two Win32 directories are backed by host
 * directories, read-only: C:\windows\system32 (the scenario's system_dlls)
 * and the executable's directory (the module directory).  Their ancestors
 * (C:\, C:\windows) exist as empty directories.  Nothing else of the host
 * is visible. */

/* "\??\C:\app\x.exe" -> "\??\C:\app" (in place); false if no backslash. */
static bool parent_of(char *name)
{
	char *bs = strrchr(name, '\\');
	if (!bs || bs == name)
		return false;
	*bs = 0;
	return true;
}

/* The mount `name` lies in: 1 = system32, 2 = the executable's directory,
 * 0 = none.  *rest points at the part after the mount's backslash. */
static int mount_of(struct wemu *m, const char *name, const char **rest)
{
	if (m->personality == WP_STANDIN)
		return 0;
	char appdir[MAX_NAME];
	snprintf(appdir, sizeof appdir, "\\??\\%s", m->scn->proc.image_path);
	if (!parent_of(appdir))
		appdir[0] = 0;
	const char *roots[2] = { "\\??\\C:\\windows\\system32", appdir };
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(roots[i]);
		if (n && strlen(name) > n && name[n] == '\\' && strncasecmp(name, roots[i], n) == 0) {
			*rest = name + n + 1;
			return i + 1;
		}
	}
	return 0;
}

/* Is `name` a directory that exists: a mount, an ancestor of one, or the
 * directory of a scenario [file]? */
static bool is_directory(struct wemu *m, const char *name)
{
	if (m->personality == WP_STANDIN)
		return false;
	char appdir[MAX_NAME];
	snprintf(appdir, sizeof appdir, "\\??\\%s", m->scn->proc.image_path);
	if (!parent_of(appdir))
		appdir[0] = 0;
	const char *roots[2] = { "\\??\\C:\\windows\\system32", appdir };
	size_t n = strlen(name);
	for (int i = 0; i < 2; i++) {
		size_t r = strlen(roots[i]);
		if (r >= n && strncasecmp(roots[i], name, n) == 0 && (r == n || roots[i][n] == '\\') &&
		    n > strlen("\\??\\C:") - 1)
			return true;
	}
	for (size_t i = 0; i < m->scn->nfiles; i++) {
		const char *f = m->scn->files[i].name;
		if (strlen(f) > n && f[n] == '\\' && strncasecmp(f, name, n) == 0)
			return true;
	}
	return false;
}

/* Host file of a name inside a mount (one component, case-insensitive). */
static bool host_file(struct wemu *m, const char *name, char *path, size_t cap)
{
	const char *rest;
	int k = mount_of(m, name, &rest);
	if (!k || !*rest || strchr(rest, '\\'))
		return false;
	const char *dir = k == 1 ? wemu_system_dlls_dir(m)
				 : (m->opt && m->opt->modules_dir ? m->opt->modules_dir : m->scn->proc.modules);
	DIR *d = opendir(dir);
	if (!d)
		return false;
	char best[256] = "";
	for (struct dirent *e; (e = readdir(d));)
		if (strcasecmp(e->d_name, rest) == 0 && (!best[0] || strcmp(e->d_name, best) < 0))
			snprintf(best, sizeof best, "%s", e->d_name);
	closedir(d);
	if (!best[0])
		return false;
	snprintf(path, cap, "%s/%s", dir, best);
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The wfile for `name`: a scenario/created file, else a host file of a
 * mount (read into memory once, read-only), else a directory; NULL if
 * none of those. */
static struct wfile *file_lookup(struct wemu *m, const char *name, uint32_t *err)
{
	*err = ST_SUCCESS;
	struct wfile *f = file_find(m, name);
	if (f)
		return f;
	char path[4096];
	if (host_file(m, name, path, sizeof path)) {
		FILE *fp = fopen(path, "rb");
		if (!fp) {
			*err = ST_ACCESS_DENIED;
			return NULL;
		}
		if (!(f = file_add(m, name))) {
			fclose(fp);
			*err = ST_NO_MEMORY;
			return NULL;
		}
		f->writable = false;
		long size = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
		if (size < 0 || size > (64l << 20) || fseek(fp, 0, SEEK_SET) != 0 ||
		    !(f->data = malloc(size ? (size_t)size : 1)) || fread(f->data, 1, (size_t)size, fp) != (size_t)size)
			*err = ST_NO_MEMORY;
		else
			f->len = f->cap = (size_t)size;
		fclose(fp);
		return *err ? NULL : f;
	}
	if (is_directory(m, name)) {
		if (!(f = file_add(m, name))) {
			*err = ST_NO_MEMORY;
			return NULL;
		}
		f->directory = true;
		f->writable = false;
		return f;
	}
	return NULL;
}


strand_status wemu_kernel_init(struct wemu *m)
{
	const struct wscn *s = m->scn;
	m->process_obj = wemu_obj_new(m, WO_PROCESS, NULL);
	m->devices = calloc(s->ndevices ? s->ndevices : 1, sizeof *m->devices);
	if (!m->process_obj || !m->devices)
		goto nomem;
	for (size_t i = 0; i < s->ndevices; i++)
		m->devices[i].d = &s->devices[i];
	for (size_t i = 0; i < s->nfiles; i++) {
		struct wfile *f = file_add(m, s->files[i].name);
		if (!f || !data_set(&f->data, &f->len, &f->cap, s->files[i].data.bytes, s->files[i].data.len))
			goto nomem;
		f->state = s->files[i].state;
		f->writable = s->files[i].writable;
	}
	for (size_t i = 0; i < s->nkeys; i++) {
		struct wkey *k = key_add(m, s->keys[i].name);
		if (!k)
			goto nomem;
		k->denied = s->keys[i].denied;
		if (s->keys[i].nvalues) {
			k->values = calloc(s->keys[i].nvalues, sizeof *k->values);
			if (!k->values)
				goto nomem;
		}
		for (size_t j = 0; j < s->keys[i].nvalues; j++) {
			const struct wscn_value *v = &s->keys[i].values[j];
			struct wscn_value *d = &k->values[k->nvalues];
			d->type = v->type;
			if (!(d->name = strdup(v->name)))
				goto nomem;
			size_t len;
			if (!data_set(&d->data.bytes, &len, NULL, v->data.bytes, v->data.len)) {
				free(d->name);
				goto nomem;
			}
			d->data.len = len;
			k->nvalues++;
		}
	}
	for (size_t i = 0; i < s->nevents; i++) {
		struct wobj *o = wemu_obj_new(m, WO_EVENT, s->events[i].name);
		if (!o)
			goto nomem;
		o->u.event.signaled = s->events[i].signaled;
		o->u.event.sync = s->events[i].synchronization;
	}
	return wemu_svc_init(m);
nomem:
	return strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
}

void wemu_kernel_free(struct wemu *m)
{
	for (size_t i = 0; i < m->nobjs; i++) {
		if (m->objs[i]->type == WO_PIPE)
			wemu_svc_conn_free(m->objs[i]->u.pipe.conn);
		free(m->objs[i]->name);
		free(m->objs[i]);
	}
	wemu_svc_free(m);
	free(m->objs);
	free(m->handles);
	for (size_t i = 0; i < m->nfiles; i++) {
		free(m->files[i]->name);
		free(m->files[i]->data);
		free(m->files[i]);
	}
	free(m->files);
	for (size_t i = 0; i < m->nkeys; i++) {
		for (size_t j = 0; j < m->keys[i]->nvalues; j++) {
			free(m->keys[i]->values[j].name);
			free(m->keys[i]->values[j].data.bytes);
		}
		free(m->keys[i]->values);
		free(m->keys[i]->name);
		free(m->keys[i]);
	}
	free(m->keys);
	free(m->devices);
}

/* ===================================================================== */
/* Time                                                                   */
/* ===================================================================== */

static bool read_i64(struct wemu *m, uint32_t addr, int64_t *v)
{
	uint8_t b[8];
	if (!wemu_read(m, addr, b, 8))
		return false;
	uint64_t u = 0;
	for (int i = 7; i >= 0; i--)
		u = u << 8 | b[i];
	*v = (int64_t)u;
	return true;
}

/* Deadline of a wait: LARGE_INTEGER timeout at ptr (0 = none). */
static uint32_t deadline_of(struct sc *c, uint32_t ptr, bool *has, uint64_t *deadline)
{
	*has = false;
	if (!ptr)
		return ST_SUCCESS;
	int64_t v;
	if (!read_i64(c->m, ptr, &v))
		return ST_ACCESS_VIOLATION;
	uint64_t now = wemu_now(c->m);
	*has = true;
	if (v < 0)
		*deadline = (uint64_t)-v > UINT64_MAX - now ? UINT64_MAX : now + (uint64_t)-v;
	else
		*deadline = (uint64_t)v;
	return ST_SUCCESS;
}

static uint32_t sys_query_system_time(struct sc *c)
{
	return wemu_write64(c->m, c->a[0], wemu_now(c->m)) ? ST_SUCCESS : ST_ACCESS_VIOLATION;
}

static uint32_t sys_query_performance_counter(struct sc *c)
{
	struct wemu *m = c->m;
	uint64_t elapsed = wemu_now(m) - m->scn->proc.system_time;
	uint64_t freq = m->scn->proc.perf_frequency;
	uint64_t count = (uint64_t)((unsigned __int128)elapsed * freq / 10000000u);
	if (!wemu_write64(m, c->a[0], count))
		return ST_ACCESS_VIOLATION;
	if (c->a[1] && !wemu_write64(m, c->a[1], freq))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

/* ===================================================================== */
/* Waits                                                                  */
/* ===================================================================== */

static bool obj_signaled(const struct wobj *o, const struct wthread *t)
{
	switch (o->type) {
	case WO_EVENT: return o->u.event.signaled;
	case WO_THREAD: return o->u.thread->state == WT_EXITED;
	case WO_MUTANT: return o->u.mutant.count == 0 || o->u.mutant.owner_tid == t->tid;
	case WO_SEMAPHORE: return o->u.sem.count > 0;
	case WO_PROCESS: return false;
	default: return true; /* files, devices: I/O is synchronous */
	}
}

static void obj_consume(struct wobj *o, const struct wthread *t)
{
	switch (o->type) {
	case WO_EVENT:
		if (o->u.event.sync)
			o->u.event.signaled = false;
		break;
	case WO_MUTANT:
		o->u.mutant.owner_tid = t->tid;
		o->u.mutant.count++;
		break;
	case WO_SEMAPHORE:
		o->u.sem.count--;
		break;
	default:
		break;
	}
}

bool wemu_wait_ready(struct wemu *m, struct wthread *t)
{
	if (t->state != WT_WAITING)
		return t->state == WT_READY;
	if (t->has_deadline && wemu_now(m) >= t->deadline)
		return true;
	if (t->nwait == 0)
		return false; /* a pure delay */
	uint32_t n = 0;
	for (uint32_t i = 0; i < t->nwait; i++)
		n += obj_signaled(t->wait_objs[i], t);
	return t->wait_all ? n == t->nwait : n > 0;
}

/* Common wait: objs (n, may be 0 for a delay), deadline from timeout ptr. */
static uint32_t wait_common(struct sc *c, struct wobj **objs, uint32_t n, bool all, uint32_t timeout_ptr,
			    uint32_t satisfied_status)
{
	struct wthread *t = c->t;
	bool has;
	uint64_t deadline = 0;
	if (t->waiting && t->wait_pc == c->pc && t->wait_number == c->number) {
		has = t->has_deadline; /* a re-executed wait keeps its deadline */
		deadline = t->deadline;
	} else {
		uint32_t st = deadline_of(c, timeout_ptr, &has, &deadline);
		if (st)
			return st;
	}
	if (n) {
		uint32_t first = n, count = 0;
		for (uint32_t i = 0; i < n; i++)
			if (obj_signaled(objs[i], t)) {
				count++;
				if (first == n)
					first = i;
			}
		if (all ? count == n : count > 0) {
			t->waiting = false;
			if (all) {
				for (uint32_t i = 0; i < n; i++)
					obj_consume(objs[i], t);
				return ST_WAIT_0;
			}
			obj_consume(objs[first], t);
			return ST_WAIT_0 + first;
		}
	}
	if (has && wemu_now(c->m) >= deadline) {
		t->waiting = false;
		return n ? ST_TIMEOUT : satisfied_status;
	}
	/* block: remember the wait; the thread re-executes this sysenter */
	t->waiting = true;
	t->wait_pc = c->pc;
	t->wait_number = c->number;
	t->wait_all = all;
	t->nwait = n;
	for (uint32_t i = 0; i < n; i++)
		t->wait_objs[i] = objs[i];
	t->has_deadline = has;
	t->deadline = deadline;
	c->blocked = true;
	return ST_PENDING;
}

static uint32_t sys_wait_single(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], 0, &o);
	if (st)
		return st;
	return wait_common(c, &o, 1, false, c->a[2], ST_SUCCESS);
}

static uint32_t sys_wait_multiple(struct sc *c)
{
	uint32_t n = c->a[0];
	if (n == 0 || n > WEMU_MAX_WAIT)
		return ST_INVALID_PARAMETER;
	if (c->a[2] > 1)
		return ST_INVALID_PARAMETER;
	uint8_t hb[4 * WEMU_MAX_WAIT];
	if (!wemu_read(c->m, c->a[1], hb, 4 * n))
		return ST_ACCESS_VIOLATION;
	struct wobj *objs[WEMU_MAX_WAIT];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t h = (uint32_t)hb[4 * i] | (uint32_t)hb[4 * i + 1] << 8 |
			     (uint32_t)hb[4 * i + 2] << 16 | (uint32_t)hb[4 * i + 3] << 24;
		uint32_t st = handle_get(c, h, 0, &objs[i]);
		if (st)
			return st;
	}
	return wait_common(c, objs, n, c->a[2] == 0 /* WaitAll */, c->a[4], ST_SUCCESS);
}

static bool other_runnable(struct wemu *m, const struct wthread *self)
{
	for (size_t i = 0; i < m->nthreads; i++) {
		struct wthread *t = m->threads[i];
		if (t != self && t->state != WT_EXITED && t->suspend_count == 0 && wemu_wait_ready(m, t))
			return true;
	}
	return false;
}

static uint32_t sys_delay(struct sc *c)
{
	if (!c->a[1])
		return ST_ACCESS_VIOLATION;
	int64_t v;
	if (!c->t->waiting && read_i64(c->m, c->a[1], &v) && v == 0) {
		c->yield = true;
		return ST_SUCCESS;
	}
	return wait_common(c, NULL, 0, false, c->a[1], ST_SUCCESS);
}

static uint32_t sys_yield(struct sc *c)
{
	if (!other_runnable(c->m, c->t))
		return ST_NO_YIELD_PERFORMED;
	c->yield = true;
	return ST_SUCCESS;
}

/* ===================================================================== */
/* Events, mutants, semaphores                                            */
/* ===================================================================== */

/* Create or open a named object of `type`; *created tells which. */
static uint32_t create_named(struct sc *c, uint32_t oa, enum wobj_type type, struct wobj **out,
			     bool *created)
{
	char name[MAX_NAME];
	bool has;
	uint32_t st = read_oa(c, oa, name, sizeof name, &has);
	if (st)
		return st;
	*created = true;
	if (has) {
		struct wobj *o = find_named(c->m, name);
		if (o) {
			if (o->type != type)
				return ST_OBJECT_TYPE_MISMATCH;
			*out = o;
			*created = false;
			return ST_SUCCESS;
		}
	}
	*out = wemu_obj_new(c->m, type, has ? name : NULL);
	return *out ? ST_SUCCESS : ST_NO_MEMORY;
}

static uint32_t open_named(struct sc *c, uint32_t hp, uint32_t oa, enum wobj_type type)
{
	char name[MAX_NAME];
	bool has;
	uint32_t st = read_oa(c, oa, name, sizeof name, &has);
	if (st)
		return st;
	if (!has)
		return ST_OBJECT_NAME_INVALID;
	struct wobj *o = find_named(c->m, name);
	if (!o)
		return ST_OBJECT_NAME_NOT_FOUND;
	if (o->type != type)
		return ST_OBJECT_TYPE_MISMATCH;
	return give_handle(c, o, hp);
}

static uint32_t sys_create_event(struct sc *c)
{
	if (c->a[3] > 1)
		return ST_INVALID_PARAMETER;
	struct wobj *o;
	bool created;
	uint32_t st = create_named(c, c->a[2], WO_EVENT, &o, &created);
	if (st)
		return st;
	if (created) {
		o->u.event.sync = c->a[3] == 1;
		o->u.event.signaled = (c->a[4] & 0xff) != 0;
	}
	st = give_handle(c, o, c->a[0]);
	return st ? st : created ? ST_SUCCESS : 0x40000000u; /* STATUS_OBJECT_NAME_EXISTS */
}

static uint32_t sys_open_event(struct sc *c) { return open_named(c, c->a[0], c->a[2], WO_EVENT); }

/* Set (1), reset (0) or pulse (2) an event; previous state to prev_ptr. */
static uint32_t event_op(struct sc *c, uint32_t h, int op, uint32_t prev_ptr)
{
	struct wobj *o;
	uint32_t st = handle_get(c, h, WO_EVENT, &o);
	if (st)
		return st;
	uint32_t prev = o->u.event.signaled;
	if (prev_ptr && !wemu_write32(c->m, prev_ptr, prev))
		return ST_ACCESS_VIOLATION;
	/* pulse: waiters re-check later, so it sets nothing (docs/winemu.md) */
	o->u.event.signaled = op == 1;
	return ST_SUCCESS;
}

static uint32_t sys_set_event(struct sc *c) { return event_op(c, c->a[0], 1, c->a[1]); }
static uint32_t sys_reset_event(struct sc *c) { return event_op(c, c->a[0], 0, c->a[1]); }
static uint32_t sys_clear_event(struct sc *c) { return event_op(c, c->a[0], 0, 0); }
static uint32_t sys_pulse_event(struct sc *c) { return event_op(c, c->a[0], 2, c->a[1]); }

static uint32_t sys_create_mutant(struct sc *c)
{
	struct wobj *o;
	bool created;
	uint32_t st = create_named(c, c->a[2], WO_MUTANT, &o, &created);
	if (st)
		return st;
	if (created && (c->a[3] & 0xff)) {
		o->u.mutant.owner_tid = c->t->tid;
		o->u.mutant.count = 1;
	}
	st = give_handle(c, o, c->a[0]);
	return st ? st : created ? ST_SUCCESS : 0x40000000u;
}

static uint32_t sys_open_mutant(struct sc *c) { return open_named(c, c->a[0], c->a[2], WO_MUTANT); }

static uint32_t sys_release_mutant(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_MUTANT, &o);
	if (st)
		return st;
	if (o->u.mutant.count == 0 || o->u.mutant.owner_tid != c->t->tid)
		return ST_MUTANT_NOT_OWNED;
	/* previous count as Windows reports it: 1 - recursion count */
	if (c->a[1] && !wemu_write32(c->m, c->a[1], 1u - o->u.mutant.count))
		return ST_ACCESS_VIOLATION;
	if (--o->u.mutant.count == 0)
		o->u.mutant.owner_tid = 0;
	return ST_SUCCESS;
}

static uint32_t sys_create_semaphore(struct sc *c)
{
	int32_t init = (int32_t)c->a[3], max = (int32_t)c->a[4];
	if (max <= 0 || init < 0 || init > max)
		return ST_INVALID_PARAMETER;
	struct wobj *o;
	bool created;
	uint32_t st = create_named(c, c->a[2], WO_SEMAPHORE, &o, &created);
	if (st)
		return st;
	if (created) {
		o->u.sem.count = init;
		o->u.sem.max = max;
	}
	st = give_handle(c, o, c->a[0]);
	return st ? st : created ? ST_SUCCESS : 0x40000000u;
}

static uint32_t sys_open_semaphore(struct sc *c) { return open_named(c, c->a[0], c->a[2], WO_SEMAPHORE); }

static uint32_t sys_release_semaphore(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_SEMAPHORE, &o);
	if (st)
		return st;
	int32_t n = (int32_t)c->a[1];
	if (n <= 0)
		return ST_INVALID_PARAMETER;
	if (n > o->u.sem.max - o->u.sem.count)
		return ST_SEMAPHORE_LIMIT_EXCEEDED;
	if (c->a[2] && !wemu_write32(c->m, c->a[2], (uint32_t)o->u.sem.count))
		return ST_ACCESS_VIOLATION;
	o->u.sem.count += n;
	return ST_SUCCESS;
}

static uint32_t sys_close(struct sc *c)
{
	uint32_t h = c->a[0];
	if (h == PSEUDO_PROCESS || h == PSEUDO_THREAD)
		return ST_SUCCESS;
	struct wobj *o;
	uint32_t st = handle_get(c, h, 0, &o);
	if (st)
		return st;
	handle_close(c->m, h);
	return ST_SUCCESS;
}

static uint32_t sys_duplicate_object(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[1], 0, &o);
	if (st)
		return st;
	if (c->a[3]) {
		if ((st = give_handle(c, o, c->a[3])))
			return st;
	}
	if (c->a[6] & 1) /* DUPLICATE_CLOSE_SOURCE */
		handle_close(c->m, c->a[1]);
	return ST_SUCCESS;
}

/* ===================================================================== */
/* Files and devices                                                      */
/* ===================================================================== */

enum { FILE_SUPERSEDE, FILE_OPEN, FILE_CREATE, FILE_OPEN_IF, FILE_OVERWRITE, FILE_OVERWRITE_IF };
enum { FILE_SUPERSEDED, FILE_OPENED, FILE_CREATED, FILE_OVERWRITTEN };
#define WRITE_ACCESS (0x2u | 0x4u | 0x40000000u | 0x10000000u | 0x02000000u)

static struct wdevice *device_for(struct wemu *m, const char *name)
{
	struct wdevice *best = NULL;
	for (size_t i = 0; i < m->scn->ndevices; i++)
		if (wscn_name_has_prefix(name, m->devices[i].d->name) &&
		    (!best || strlen(m->devices[i].d->name) > strlen(best->d->name)))
			best = &m->devices[i];
	return best;
}

static bool write_iosb(struct sc *c, uint32_t iosb, uint32_t status, uint32_t info)
{
	return wemu_write32(c->m, iosb, status) && wemu_write32(c->m, iosb + 4, info);
}

static uint32_t open_common(struct sc *c, uint32_t hp, uint32_t access, uint32_t oa, uint32_t iosb,
			    uint32_t disposition, uint32_t options)
{
	struct wemu *m = c->m;
	char name[MAX_NAME];
	bool has;
	uint32_t st = read_oa(c, oa, name, sizeof name, &has);
	if (st)
		return st;
	if (!has)
		return ST_OBJECT_NAME_INVALID;
	if (m->opt && m->opt->trace_syscalls)
		fprintf(stderr, "strand record-win:   open %s\n", name);
	if (disposition > FILE_OVERWRITE_IF)
		return ST_INVALID_PARAMETER;
	struct wobj *o;
	uint32_t info;
	struct wdevice *dev = device_for(m, name);
	if (wemu_svc_claims(m, name)) {
		/* a pipe of the service control manager (svcctl.c) */
		struct wsvc_conn *conn;
		if ((st = wemu_svc_open(m, name, &conn)))
			return st;
		if (!(o = wemu_obj_new(m, WO_PIPE, name))) {
			wemu_svc_conn_free(conn);
			return ST_NO_MEMORY;
		}
		o->u.pipe.conn = conn;
		info = FILE_OPENED;
	} else if (dev) {
		if (dev->d->open_status)
			return dev->d->open_status;
		if (!(o = wemu_obj_new(m, WO_DEVICE, dev->d->name)))
			return ST_NO_MEMORY;
		o->u.device.dev = dev;
		info = FILE_OPENED;
	} else if (wscn_name_has_prefix(name, "\\??")) {
		uint32_t lerr;
		struct wfile *f = file_lookup(m, name, &lerr);
		if (lerr)
			return lerr;
		if (f && f->directory && (options & 0x40)) /* FILE_NON_DIRECTORY_FILE */
			return 0xC00000BAu;                /* STATUS_FILE_IS_A_DIRECTORY */
		if (f && !f->directory && (options & 0x1)) /* FILE_DIRECTORY_FILE */
			return 0xC0000103u;                 /* STATUS_NOT_A_DIRECTORY */
		if (!f && (options & 0x1) && disposition != FILE_CREATE && disposition != FILE_OPEN_IF)
			return ST_OBJECT_NAME_NOT_FOUND;
		if (!f && m->personality != WP_STANDIN) {
			/* a new file needs its directory */
			char dir[MAX_NAME];
			snprintf(dir, sizeof dir, "%s", name);
			uint32_t e2;
			struct wfile *d = parent_of(dir) ? file_lookup(m, dir, &e2) : NULL;
			if (!d && !file_find(m, dir) && !is_directory(m, dir) && strlen(dir) > strlen("\\??\\C:"))
				return ST_OBJECT_PATH_NOT_FOUND;
		}
		if (f) {
			if (f->state == WSCN_STATE_ACCESS_DENIED || ((access & WRITE_ACCESS) && !f->writable))
				return ST_ACCESS_DENIED;
			if (f->state == WSCN_STATE_SHARING_VIOLATION)
				return ST_SHARING_VIOLATION;
			switch (disposition) {
			case FILE_CREATE: return ST_OBJECT_NAME_COLLISION;
			case FILE_OPEN: case FILE_OPEN_IF: info = FILE_OPENED; break;
			case FILE_SUPERSEDE: f->len = 0; info = FILE_SUPERSEDED; break;
			default: f->len = 0; info = FILE_OVERWRITTEN; break;
			}
		} else {
			if (disposition == FILE_OPEN || disposition == FILE_OVERWRITE)
				return ST_OBJECT_NAME_NOT_FOUND;
			if (!(f = file_add(m, name)))
				return ST_NO_MEMORY;
			info = FILE_CREATED;
		}
		if (!(o = wemu_obj_new(m, WO_FILE, f->name)))
			return ST_NO_MEMORY;
		o->u.file.file = f;
	} else if (wscn_name_has_prefix(name, "\\Registry")) {
		return ST_OBJECT_TYPE_MISMATCH;
	} else {
		return ST_OBJECT_NAME_NOT_FOUND;
	}
	if ((st = give_handle(c, o, hp)))
		return st;
	if (!write_iosb(c, iosb, ST_SUCCESS, info))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

static uint32_t sys_create_file(struct sc *c)
{
	return open_common(c, c->a[0], c->a[1], c->a[2], c->a[3], c->a[7], c->a[8]);
}

static uint32_t sys_open_file(struct sc *c)
{
	return open_common(c, c->a[0], c->a[1], c->a[2], c->a[3], FILE_OPEN, c->a[5]);
}

static void signal_event_arg(struct sc *c, uint32_t h)
{
	struct wobj *e;
	if (h && handle_get(c, h, WO_EVENT, &e) == ST_SUCCESS)
		e->u.event.signaled = true;
}

/* Byte offset of a read/write: the LARGE_INTEGER at ptr, or the position. */
static uint32_t io_offset(struct sc *c, uint32_t ptr, uint64_t pos, uint64_t *off)
{
	*off = pos;
	if (!ptr)
		return ST_SUCCESS;
	int64_t v;
	if (!read_i64(c->m, ptr, &v))
		return ST_ACCESS_VIOLATION;
	if (v == -2 || v == -1) /* FILE_USE_FILE_POINTER_POSITION, FILE_WRITE_TO_END_OF_FILE */
		return ST_SUCCESS;
	if (v < 0)
		return ST_INVALID_PARAMETER;
	*off = (uint64_t)v;
	return ST_SUCCESS;
}

static uint32_t wait_common(struct sc *c, struct wobj **objs, uint32_t n, bool all, uint32_t timeout_ptr,
			    uint32_t satisfied_status);

/* NtReadFile on a service-manager pipe: the reply bytes, or a wait until
 * the service control manager has an order (the thread stays on its
 * sysenter and re-executes it, like any blocking wait). */
static uint32_t pipe_read(struct sc *c, struct wobj *o)
{
	uint32_t iosb = c->a[4], buf = c->a[5], len = c->a[6];
	uint8_t tmp[4096];
	uint32_t n = 0;
	struct wobj *wait_on = NULL;
	uint32_t st = wemu_svc_read(c->m, o->u.pipe.conn, tmp, len < sizeof tmp ? len : sizeof tmp, &n, &wait_on);
	if (st == ST_PENDING && wait_on) {
		uint32_t w = wait_common(c, &wait_on, 1, false, 0, ST_SUCCESS);
		if (c->blocked)
			return ST_PENDING;
		if (w != ST_WAIT_0)
			return w;
		st = wemu_svc_read(c->m, o->u.pipe.conn, tmp, len < sizeof tmp ? len : sizeof tmp, &n, &wait_on);
		if (st == ST_PENDING)
			return unmodelled_class(c, "pipe-read-without-order", 0, 0xC000014Bu);
	}
	c->t->waiting = false;
	if ((st & 0xC0000000u) == 0xC0000000u)
		return st;
	if (n && !wemu_write(c->m, buf, tmp, n))
		return ST_ACCESS_VIOLATION;
	if (!write_iosb(c, iosb, st, n))
		return ST_ACCESS_VIOLATION;
	signal_event_arg(c, c->a[1]);
	return st;
}

static uint32_t sys_read_file(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], 0, &o);
	if (st)
		return st;
	uint32_t iosb = c->a[4], buf = c->a[5], len = c->a[6];
	const uint8_t *src;
	size_t avail;
	uint64_t off = 0;
	if (o->type == WO_FILE) {
		if ((st = io_offset(c, c->a[7], o->u.file.pos, &off)))
			return st;
		struct wfile *f = o->u.file.file;
		src = off < f->len ? f->data + off : NULL;
		avail = off < f->len ? f->len - (size_t)off : 0;
	} else if (o->type == WO_DEVICE) {
		struct wdevice *d = o->u.device.dev;
		src = d->d->read.bytes ? d->d->read.bytes + d->read_pos : NULL;
		avail = d->d->read.len - d->read_pos;
	} else if (o->type == WO_STDIO) {
		src = NULL; /* standard input is empty */
		avail = 0;
	} else if (o->type == WO_PIPE) {
		return pipe_read(c, o);
	} else {
		return ST_OBJECT_TYPE_MISMATCH;
	}
	if (avail == 0) {
		if (!write_iosb(c, iosb, ST_END_OF_FILE, 0))
			return ST_ACCESS_VIOLATION;
		signal_event_arg(c, c->a[1]);
		return ST_END_OF_FILE;
	}
	uint32_t n = avail < len ? (uint32_t)avail : len;
	if (!wemu_write(c->m, buf, src, n))
		return ST_ACCESS_VIOLATION;
	if (o->type == WO_FILE)
		o->u.file.pos = off + n;
	else
		o->u.device.dev->read_pos += n;
	if (!write_iosb(c, iosb, ST_SUCCESS, n))
		return ST_ACCESS_VIOLATION;
	signal_event_arg(c, c->a[1]);
	return ST_SUCCESS;
}

static bool add_output_stream(struct sc *c, uint32_t stream, const void *data, uint32_t len);
static bool add_output(struct sc *c, const void *data, uint32_t len)
{
	return add_output_stream(c, 3, data, len);
}

static bool add_output_stream(struct sc *c, uint32_t stream, const void *data, uint32_t len)
{
	if (c->nout == sizeof c->out / sizeof c->out[0])
		return false;
	uint8_t *p = malloc(len ? len : 1);
	if (!p)
		return false;
	memcpy(p, data, len);
	c->out[c->nout].data = p;
	c->out[c->nout].len = len;
	c->out[c->nout].stream = stream;
	c->nout++;
	return true;
}

/* A write to a service-manager pipe (svcctl.c): its replies are queued;
 * a status report is a line on the debug stream, anything the peer does
 * not serve a line of the unmodelled log. */
static uint32_t pipe_write(struct sc *c, struct wobj *o, const uint8_t *data, uint32_t len)
{
	struct wsvc_io io;
	memset(&io, 0, sizeof io);
	uint32_t st = wemu_svc_write(c->m, o->u.pipe.conn, data, len, &io);
	if (io.unmodelled[0]) {
		const struct wsyscall *svc = wemu_sys_find(c->m, c->number);
		char what[260];
		snprintf(what, sizeof what, "service=%s %s", svc ? svc->name : "?", io.unmodelled);
		log_unmodelled(c, what);
	}
	if (io.status_len && !add_output(c, io.status, io.status_len))
		return ST_NO_MEMORY;
	return st;
}

/* A SERVICE_STATUS (+ UTF-16LE name) written to the service sink. */
static uint32_t service_status_output(struct sc *c, const uint8_t *b, uint32_t len)
{
	if (len < 28)
		return ST_INVALID_PARAMETER;
	uint32_t f[7];
	for (int i = 0; i < 7; i++)
		f[i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
		       (uint32_t)b[4 * i + 3] << 24;
	char name[256] = "";
	uint32_t nlen = (len - 28) / 2;
	if (nlen > 120)
		nlen = 120;
	/* stop at an embedded NUL; unprintable names become '?' */
	uint32_t k = 0;
	while (k < nlen && (b[28 + 2 * k] || b[29 + 2 * k]))
		k++;
	if (!utf16_to_utf8(b + 28, k, name, sizeof name))
		snprintf(name, sizeof name, "?");
	char line[512];
	int n = wemu_service_status_line(line, sizeof line, name, f);
	if (!add_output(c, line, (uint32_t)n))
		return ST_NO_MEMORY;
	return ST_SUCCESS;
}

static uint32_t sys_write_file(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], 0, &o);
	if (st)
		return st;
	uint32_t iosb = c->a[4], buf = c->a[5], len = c->a[6];
	if (len > (16u << 20))
		return ST_INVALID_PARAMETER;
	uint8_t *data = malloc(len ? len : 1);
	if (!data)
		return ST_NO_MEMORY;
	if (!wemu_read(c->m, buf, data, len)) {
		free(data);
		return ST_ACCESS_VIOLATION;
	}
	uint32_t result = ST_SUCCESS;
	if (o->type == WO_FILE) {
		struct wfile *f = o->u.file.file;
		uint64_t off;
		if ((st = io_offset(c, c->a[7], o->u.file.pos, &off))) {
			free(data);
			return st;
		}
		if (!f->writable) {
			free(data);
			return ST_ACCESS_DENIED;
		}
		if (off + len > (64u << 20)) {
			free(data);
			return 0xC000007Fu; /* STATUS_DISK_FULL */
		}
		size_t end = (size_t)off + len;
		if (end > f->cap) {
			size_t cap = end * 2;
			uint8_t *p = realloc(f->data, cap);
			if (!p) {
				free(data);
				return ST_NO_MEMORY;
			}
			f->data = p;
			f->cap = cap;
		}
		if (off > f->len)
			memset(f->data + f->len, 0, (size_t)off - f->len);
		memcpy(f->data + off, data, len);
		if (end > f->len)
			f->len = end;
		o->u.file.pos = end;
	} else if (o->type == WO_DEVICE) {
		const struct wscn_device *d = o->u.device.dev->d;
		if (d->sink == WSCN_SINK_DEBUG) {
			if (!add_output(c, data, len))
				result = ST_NO_MEMORY;
		} else if (d->sink == WSCN_SINK_SERVICE) {
			result = service_status_output(c, data, len);
		} else {
			result = d->write_status;
		}
	} else if (o->type == WO_STDIO && o->u.stdio.stream > 0) {
		if (!add_output_stream(c, o->u.stdio.stream, data, len))
			result = ST_NO_MEMORY;
	} else if (o->type == WO_PIPE) {
		result = pipe_write(c, o, data, len);
	} else {
		free(data);
		return ST_OBJECT_TYPE_MISMATCH;
	}
	free(data);
	if (!write_iosb(c, iosb, result, (result & 0xC0000000u) == 0xC0000000u ? 0 : len))
		return ST_ACCESS_VIOLATION;
	signal_event_arg(c, c->a[1]);
	return result;
}

static uint32_t sys_device_io_control(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], 0, &o);
	if (st)
		return st;
	if (o->type == WO_FILE && c->a[5] == 0x0009009cu && !o->u.file.file->directory) {
		/* FSCTL_GET_OBJECT_ID: FILE_OBJECTID_BUFFER (64 bytes), the
		 * ObjectId naming the file (ntdll's loader compares it to tell
		 * whether a DLL is already loaded under another name) */
		uint8_t b[64] = { 0 };
		wr32le(b, o->u.file.file->id);
		memcpy(b + 4, "strand", 6);
		if (c->a[9] < sizeof b)
			return ST_BUFFER_TOO_SMALL;
		if (!wemu_write(c->m, c->a[8], b, sizeof b) || !write_iosb(c, c->a[4], ST_SUCCESS, sizeof b))
			return ST_ACCESS_VIOLATION;
		signal_event_arg(c, c->a[1]);
		return ST_SUCCESS;
	}
	if (o->type == WO_FILE || o->type == WO_STDIO) {
		/* no other file-system or console control codes are modelled */
		char what[32];
		snprintf(what, sizeof what, "%s-ioctl", o->type == WO_FILE ? "file" : "stdio");
		return unmodelled_class(c, what, c->a[5], ST_INVALID_DEVICE_REQUEST);
	}
	if (o->type != WO_DEVICE)
		return ST_OBJECT_TYPE_MISMATCH;
	const struct wscn_device *d = o->u.device.dev->d;
	uint32_t iosb = c->a[4], code = c->a[5], out = c->a[8], outlen = c->a[9];
	uint32_t status = d->ioctl_default, copied = 0;
	for (size_t i = 0; i < d->nioctls; i++)
		if (d->ioctls[i].code == code) {
			const struct wscn_ioctl *io = &d->ioctls[i];
			status = io->status;
			copied = io->out.len < outlen ? (uint32_t)io->out.len : outlen;
			if (copied && !wemu_write(c->m, out, io->out.bytes, copied))
				return ST_ACCESS_VIOLATION;
			if (io->out.len > outlen && (status & 0xC0000000u) != 0xC0000000u)
				status = ST_BUFFER_OVERFLOW;
			break;
		}
	if (!write_iosb(c, iosb, status, copied))
		return ST_ACCESS_VIOLATION;
	signal_event_arg(c, c->a[1]);
	return status;
}

static uint32_t sys_flush_buffers_file(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], 0, &o);
	if (st)
		return st;
	return write_iosb(c, c->a[1], ST_SUCCESS, 0) ? ST_SUCCESS : ST_ACCESS_VIOLATION;
}

static uint32_t sys_query_information_file(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], 0, &o);
	if (st)
		return st;
	uint32_t iosb = c->a[1], buf = c->a[2], len = c->a[3], cls = c->a[4];
	uint64_t size = o->type == WO_FILE ? o->u.file.file->len : 0;
	uint8_t b[40] = { 0 };
	uint32_t need;
	switch (cls) {
	case 4: /* FileBasicInformation */
		need = 40;
		b[32] = 0x80; /* FILE_ATTRIBUTE_NORMAL */
		break;
	case 5: /* FileStandardInformation */
		need = 24;
		for (int i = 0; i < 8; i++) {
			b[i] = (uint8_t)(((size + 4095) & ~4095ull) >> (8 * i));
			b[8 + i] = (uint8_t)(size >> (8 * i));
		}
		b[16] = 1;
		break;
	case 14: /* FilePositionInformation */
		need = 8;
		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)((o->type == WO_FILE ? o->u.file.pos : 0) >> (8 * i));
		break;
	default:
		return ST_INVALID_INFO_CLASS;
	}
	if (len < need)
		return ST_INFO_LENGTH_MISMATCH;
	if (!wemu_write(c->m, buf, b, need) || !write_iosb(c, iosb, ST_SUCCESS, need))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

static uint32_t sys_set_information_file(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], 0, &o);
	if (st)
		return st;
	uint32_t iosb = c->a[1], buf = c->a[2], len = c->a[3], cls = c->a[4];
	int64_t v = 0;
	switch (cls) {
	case 13: /* FileDispositionInformation: deletion is not modelled */
		break;
	case 23: /* FilePipeInformation (read and completion mode) */
		if (o->type != WO_PIPE)
			return ST_INVALID_PARAMETER;
		if (len < 8)
			return ST_INFO_LENGTH_MISMATCH;
		break; /* the svcctl pipe is in message mode already */
	case 14: /* FilePositionInformation */
	case 20: /* FileEndOfFileInformation */
		if (len < 8)
			return ST_INFO_LENGTH_MISMATCH;
		if (!read_i64(c->m, buf, &v))
			return ST_ACCESS_VIOLATION;
		if (v < 0 || v > (64 << 20))
			return ST_INVALID_PARAMETER;
		if (o->type != WO_FILE)
			return ST_INVALID_PARAMETER;
		if (cls == 14) {
			o->u.file.pos = (uint64_t)v;
		} else {
			struct wfile *f = o->u.file.file;
			if ((size_t)v > f->cap) {
				uint8_t *p = realloc(f->data, (size_t)v);
				if (!p)
					return ST_NO_MEMORY;
				f->data = p;
				f->cap = (size_t)v;
			}
			if ((size_t)v > f->len)
				memset(f->data + f->len, 0, (size_t)v - f->len);
			f->len = (size_t)v;
		}
		break;
	default:
		return ST_INVALID_INFO_CLASS;
	}
	return write_iosb(c, iosb, ST_SUCCESS, 0) ? ST_SUCCESS : ST_ACCESS_VIOLATION;
}

static uint32_t sys_query_attributes_file(struct sc *c)
{
	char name[MAX_NAME];
	bool has;
	uint32_t st = read_oa(c, c->a[0], name, sizeof name, &has);
	if (st)
		return st;
	if (!has)
		return ST_OBJECT_NAME_INVALID;
	struct wdevice *dev = device_for(c->m, name);
	if (dev && dev->d->open_status)
		return dev->d->open_status;
	if (!dev) {
		struct wfile *f = file_find(c->m, name);
		if (!f)
			return ST_OBJECT_NAME_NOT_FOUND;
		if (f->state == WSCN_STATE_ACCESS_DENIED)
			return ST_ACCESS_DENIED;
	}
	uint8_t b[40] = { 0 };
	b[32] = 0x80;
	return wemu_write(c->m, c->a[1], b, 40) ? ST_SUCCESS : ST_ACCESS_VIOLATION;
}

/* ===================================================================== */
/* Registry                                                               */
/* ===================================================================== */

static uint32_t sys_open_key(struct sc *c)
{
	char name[MAX_NAME];
	bool has;
	uint32_t st = read_oa(c, c->a[2], name, sizeof name, &has);
	if (st)
		return st;
	if (!has)
		return ST_OBJECT_NAME_INVALID;
	struct wkey *k = key_find(c->m, name);
	if (!k)
		return wscn_name_has_prefix(name, "\\Registry") ? ST_OBJECT_NAME_NOT_FOUND
								 : ST_OBJECT_TYPE_MISMATCH;
	if (k->denied)
		return ST_ACCESS_DENIED;
	struct wobj *o = wemu_obj_new(c->m, WO_KEY, k->name);
	if (!o)
		return ST_NO_MEMORY;
	o->u.key.key = k;
	return give_handle(c, o, c->a[0]);
}

static uint32_t sys_create_key(struct sc *c)
{
	char name[MAX_NAME];
	bool has;
	uint32_t st = read_oa(c, c->a[2], name, sizeof name, &has);
	if (st)
		return st;
	if (!has || !wscn_name_has_prefix(name, "\\Registry"))
		return ST_OBJECT_NAME_INVALID;
	struct wkey *k = key_find(c->m, name);
	uint32_t disp = 2; /* REG_OPENED_EXISTING_KEY */
	if (!k) {
		char parent[MAX_NAME];
		snprintf(parent, sizeof parent, "%s", name);
		char *bs = strrchr(parent, '\\');
		if (bs)
			*bs = 0;
		if (!bs || !key_find(c->m, parent))
			return ST_OBJECT_NAME_NOT_FOUND;
		if (!(k = key_add(c->m, name)))
			return ST_NO_MEMORY;
		disp = 1; /* REG_CREATED_NEW_KEY */
	}
	if (k->denied)
		return ST_ACCESS_DENIED;
	struct wobj *o = wemu_obj_new(c->m, WO_KEY, k->name);
	if (!o)
		return ST_NO_MEMORY;
	o->u.key.key = k;
	if ((st = give_handle(c, o, c->a[0])))
		return st;
	if (c->a[6] && !wemu_write32(c->m, c->a[6], disp))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

/* Value information (class 0 basic, 1 full, 2 partial) into buf/len;
 * result length to rlp. */
static uint32_t value_info(struct sc *c, const struct wscn_value *v, uint32_t cls, uint32_t buf,
			   uint32_t len, uint32_t rlp)
{
	/* UTF-16 name */
	uint8_t nbuf[2 * 512];
	uint32_t nlen = 0;
	for (const unsigned char *s = (const unsigned char *)v->name; *s && nlen < sizeof nbuf; s++) {
		nbuf[nlen++] = *s < 0x80 ? *s : '?';
		nbuf[nlen++] = 0;
	}
	uint32_t dlen = (uint32_t)v->data.len, fixed, need, doff = 0;
	switch (cls) {
	case 0: fixed = 12; need = fixed + nlen; break;
	case 1:
		fixed = 20;
		doff = (fixed + nlen + 3) & ~3u;
		need = doff + dlen;
		break;
	case 2: fixed = 12; need = fixed + dlen; break;
	default: return ST_INVALID_PARAMETER;
	}
	if (rlp && !wemu_write32(c->m, rlp, need))
		return ST_ACCESS_VIOLATION;
	if (len < fixed)
		return ST_BUFFER_TOO_SMALL;
	uint8_t *b = calloc(1, need);
	if (!b)
		return ST_NO_MEMORY;
#define P32(off, val) do { uint32_t _v = (val); b[(off)] = _v & 0xff; b[(off) + 1] = (_v >> 8) & 0xff; \
		b[(off) + 2] = (_v >> 16) & 0xff; b[(off) + 3] = _v >> 24; } while (0)
	P32(4, v->type);
	if (cls == 0) {
		P32(8, nlen);
		memcpy(b + 12, nbuf, nlen);
	} else if (cls == 1) {
		P32(8, doff);
		P32(12, dlen);
		P32(16, nlen);
		memcpy(b + 20, nbuf, nlen);
		if (dlen)
			memcpy(b + doff, v->data.bytes, dlen);
	} else {
		P32(8, dlen);
		if (dlen)
			memcpy(b + 12, v->data.bytes, dlen);
	}
#undef P32
	uint32_t st = ST_SUCCESS, n = need;
	if (len < need) {
		n = fixed; /* only the fixed part fits */
		st = ST_BUFFER_OVERFLOW;
	}
	if (!wemu_write(c->m, buf, b, n))
		st = ST_ACCESS_VIOLATION;
	free(b);
	return st;
}

static uint32_t sys_query_value_key(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_KEY, &o);
	if (st)
		return st;
	char name[MAX_NAME];
	if ((st = read_ustr(c, c->a[1], name, sizeof name)))
		return st;
	struct wkey *k = o->u.key.key;
	for (size_t i = 0; i < k->nvalues; i++)
		if (wscn_name_eq(k->values[i].name, name))
			return value_info(c, &k->values[i], c->a[2], c->a[3], c->a[4], c->a[5]);
	return ST_OBJECT_NAME_NOT_FOUND;
}

static uint32_t sys_enumerate_value_key(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_KEY, &o);
	if (st)
		return st;
	struct wkey *k = o->u.key.key;
	if (c->a[1] >= k->nvalues)
		return ST_NO_MORE_ENTRIES;
	return value_info(c, &k->values[c->a[1]], c->a[2], c->a[3], c->a[4], c->a[5]);
}

static uint32_t sys_set_value_key(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_KEY, &o);
	if (st)
		return st;
	char name[MAX_NAME];
	if ((st = read_ustr(c, c->a[1], name, sizeof name)))
		return st;
	uint32_t size = c->a[5];
	if (size > (1u << 20))
		return ST_INVALID_PARAMETER;
	uint8_t *data = malloc(size ? size : 1);
	if (!data)
		return ST_NO_MEMORY;
	if (!wemu_read(c->m, c->a[4], data, size)) {
		free(data);
		return ST_ACCESS_VIOLATION;
	}
	struct wkey *k = o->u.key.key;
	struct wscn_value *v = NULL;
	for (size_t i = 0; i < k->nvalues; i++)
		if (wscn_name_eq(k->values[i].name, name))
			v = &k->values[i];
	if (!v) {
		struct wscn_value *p = realloc(k->values, (k->nvalues + 1) * sizeof *p);
		char *nm = strdup(name);
		if (!p || !nm) {
			if (p)
				k->values = p;
			free(nm);
			free(data);
			return ST_NO_MEMORY;
		}
		k->values = p;
		v = &k->values[k->nvalues++];
		memset(v, 0, sizeof *v);
		v->name = nm;
	}
	free(v->data.bytes);
	v->data.bytes = data;
	v->data.len = size;
	v->type = c->a[3];
	return ST_SUCCESS;
}

static const char *last_component(const char *name)
{
	const char *bs = strrchr(name, '\\');
	return bs ? bs + 1 : name;
}

static bool is_child(const char *parent, const char *name)
{
	size_t n = strlen(parent);
	return strlen(name) > n + 1 && wscn_name_has_prefix(name, parent) && name[n] == '\\' &&
	       !strchr(name + n + 1, '\\');
}

static int key_name_cmp(const void *a, const void *b)
{
	return strcasecmp(last_component((*(struct wkey *const *)a)->name),
			  last_component((*(struct wkey *const *)b)->name));
}

/* Basic (0) or full (2) key information for k with name comp. */
static uint32_t key_info(struct sc *c, struct wkey *k, uint32_t cls, uint32_t buf, uint32_t len,
			 uint32_t rlp)
{
	const char *comp = last_component(k->name);
	uint32_t nlen = (uint32_t)(2 * strlen(comp));
	if (nlen > 1024)
		nlen = 1024;
	uint8_t b[24 + 1024 + 44] = { 0 };
	uint32_t need;
	if (cls == 0) {
		need = 16 + nlen;
		b[12] = nlen & 0xff;
		b[13] = (uint8_t)(nlen >> 8);
		for (uint32_t i = 0; i < nlen / 2; i++)
			b[16 + 2 * i] = (unsigned char)comp[i] < 0x80 ? (uint8_t)comp[i] : '?';
	} else if (cls == 1) { /* KeyNodeInformation: no class */
		need = 24 + nlen;
		memset(b + 12, 0xff, 4); /* ClassOffset: none */
		b[20] = nlen & 0xff;
		b[21] = (uint8_t)(nlen >> 8);
		for (uint32_t i = 0; i < nlen / 2; i++)
			b[24 + 2 * i] = (unsigned char)comp[i] < 0x80 ? (uint8_t)comp[i] : '?';
	} else if (cls == 2) {
		need = 44;
		uint32_t subkeys = 0;
		for (size_t i = 0; i < c->m->nkeys; i++)
			subkeys += is_child(k->name, c->m->keys[i]->name);
		uint32_t f[7] = { 44, 0, subkeys, 0, 0, (uint32_t)k->nvalues, 0 };
		for (int i = 0; i < 7; i++)
			for (int j = 0; j < 4; j++)
				b[12 + 4 * i + j] = (uint8_t)(f[i] >> (8 * j));
	} else {
		return ST_INVALID_PARAMETER;
	}
	if (rlp && !wemu_write32(c->m, rlp, need))
		return ST_ACCESS_VIOLATION;
	if (len < need)
		return (cls == 0 && len >= 16) || (cls == 1 && len >= 24) ? ST_BUFFER_OVERFLOW : ST_BUFFER_TOO_SMALL;
	return wemu_write(c->m, buf, b, need) ? ST_SUCCESS : ST_ACCESS_VIOLATION;
}

static uint32_t sys_query_key(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_KEY, &o);
	if (st)
		return st;
	return key_info(c, o->u.key.key, c->a[1], c->a[2], c->a[3], c->a[4]);
}

static uint32_t sys_enumerate_key(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_KEY, &o);
	if (st)
		return st;
	struct wkey **kids = malloc((c->m->nkeys + 1) * sizeof *kids);
	if (!kids)
		return ST_NO_MEMORY;
	size_t n = 0;
	for (size_t i = 0; i < c->m->nkeys; i++)
		if (is_child(o->u.key.key->name, c->m->keys[i]->name))
			kids[n++] = c->m->keys[i];
	qsort(kids, n, sizeof *kids, key_name_cmp);
	st = c->a[1] >= n ? ST_NO_MORE_ENTRIES
			  : key_info(c, kids[c->a[1]], c->a[2], c->a[3], c->a[4], c->a[5]);
	free(kids);
	return st;
}

static uint32_t sys_flush_key(struct sc *c)
{
	struct wobj *o;
	return handle_get(c, c->a[0], WO_KEY, &o);
}

/* ===================================================================== */
/* Virtual memory                                                         */
/* ===================================================================== */

enum { MEM_COMMIT = 0x1000, MEM_RESERVE = 0x2000, MEM_DECOMMIT = 0x4000, MEM_RELEASE = 0x8000,
       MEM_FREE = 0x10000, MEM_PRIVATE = 0x20000, MEM_RESET = 0x80000, MEM_TOP_DOWN = 0x100000,
       MEM_IMAGE = 0x1000000 };

static bool own_process(uint32_t h) { return h == PSEUDO_PROCESS; }

static uint32_t sys_allocate_virtual_memory(struct sc *c)
{
	struct wemu *m = c->m;
	if (!own_process(c->a[0]))
		return ST_INVALID_HANDLE;
	uint32_t basep = c->a[1], sizep = c->a[3], type = c->a[4], protect = c->a[5];
	uint32_t base, size;
	if (!wemu_read32(m, basep, &base) || !wemu_read32(m, sizep, &size))
		return ST_ACCESS_VIOLATION;
	if (type & MEM_RESET)
		return ST_SUCCESS;
	if (!(type & (MEM_COMMIT | MEM_RESERVE)) || (type & ~(uint32_t)(MEM_COMMIT | MEM_RESERVE | MEM_TOP_DOWN)))
		return ST_INVALID_PARAMETER;
	bool ok;
	uint32_t prot = wemu_prot_from_win(protect, &ok);
	if (!ok)
		return ST_INVALID_PAGE_PROTECTION;
	if (size == 0)
		return ST_INVALID_PARAMETER;
	if (size > 0x10000000u) /* 256 MiB: the emulator's host memory is the limit */
		return ST_NO_MEMORY;
	bool commit = (type & MEM_COMMIT) != 0;
	strand_status sst;
	if (base == 0 || (type & MEM_RESERVE)) {
		uint32_t start, len;
		if (base == 0) {
			len = (size + WEMU_PAGE - 1) & ~(WEMU_PAGE - 1);
			if (!wemu_vm_find_free(m, len, WEMU_ALLOC_GRAN, WEMU_DYN_BASE, WEMU_TEB_TOP - 0x10000, &start))
				return ST_NO_MEMORY;
		} else {
			start = base & ~(WEMU_ALLOC_GRAN - 1);
			len = (uint32_t)((((uint64_t)base + size + WEMU_PAGE - 1) & ~(uint64_t)(WEMU_PAGE - 1)) - start);
			if (start < WEMU_DYN_BASE || (uint64_t)start + len > WEMU_TEB_TOP - 0x10000 ||
			    !wemu_vm_is_free(m, start, len))
				return ST_CONFLICTING_ADDRESSES;
		}
		sst = wemu_vm_map(m, start, len, commit ? prot : 0, STRAND_REGION_ANON, "alloc", NULL, commit,
				  false, protect);
		if (sst != STRAND_OK) {
			m->hook_status = sst;
			return ST_NO_MEMORY;
		}
		base = start;
		size = len;
	} else {
		uint32_t start = base & ~(WEMU_PAGE - 1);
		uint64_t end = ((uint64_t)base + size + WEMU_PAGE - 1) & ~(uint64_t)(WEMU_PAGE - 1);
		for (uint64_t a = start; a < end;) {
			struct wregion *r = wemu_vm_region_at(m, (uint32_t)a);
			if (!r || r->image)
				return ST_CONFLICTING_ADDRESSES;
			a = (uint64_t)r->addr + r->size;
		}
		sst = wemu_vm_protect(m, start, (uint32_t)(end - start), prot, true, 0);
		if (sst != STRAND_OK) {
			m->hook_status = sst;
			return ST_NO_MEMORY;
		}
		base = start;
		size = (uint32_t)(end - start);
	}
	if (!wemu_write32(m, basep, base) || !wemu_write32(m, sizep, size))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

static uint32_t sys_free_virtual_memory(struct sc *c)
{
	struct wemu *m = c->m;
	if (!own_process(c->a[0]))
		return ST_INVALID_HANDLE;
	uint32_t basep = c->a[1], sizep = c->a[2], type = c->a[3];
	uint32_t base, size;
	if (!wemu_read32(m, basep, &base) || !wemu_read32(m, sizep, &size))
		return ST_ACCESS_VIOLATION;
	if (type != MEM_RELEASE && type != MEM_DECOMMIT)
		return ST_INVALID_PARAMETER;
	struct wregion *r = wemu_vm_region_at(m, base);
	if (!r || r->image || r->kind != STRAND_REGION_ANON)
		return ST_MEMORY_NOT_ALLOCATED;
	uint32_t alloc = r->alloc_base, start, len;
	if (size == 0) {
		if (type == MEM_RELEASE && base != alloc)
			return ST_UNABLE_TO_FREE_VM;
		start = alloc;
		uint32_t end = alloc;
		for (struct wregion *q; (q = wemu_vm_region_at(m, end)) && q->alloc_base == alloc;)
			end = q->addr + q->size;
		len = end - start;
	} else {
		start = base & ~(WEMU_PAGE - 1);
		uint64_t end = ((uint64_t)base + size + WEMU_PAGE - 1) & ~(uint64_t)(WEMU_PAGE - 1);
		for (uint64_t a = start; a < end;) {
			struct wregion *q = wemu_vm_region_at(m, (uint32_t)a);
			if (!q || q->alloc_base != alloc)
				return ST_UNABLE_TO_FREE_VM;
			a = (uint64_t)q->addr + q->size;
		}
		len = (uint32_t)(end - start);
	}
	strand_status sst = wemu_vm_unmap(m, start, len);
	if (sst == STRAND_OK && type == MEM_DECOMMIT) {
		sst = wemu_vm_map(m, start, len, 0, STRAND_REGION_ANON, "alloc", NULL, false, false, 0x01);
		for (uint32_t a = start; sst == STRAND_OK && a < start + len; a += WEMU_PAGE)
			wemu_vm_region_at(m, a)->alloc_base = alloc;
	}
	if (sst != STRAND_OK) {
		m->hook_status = sst;
		return ST_UNSUCCESSFUL;
	}
	if (!wemu_write32(m, basep, start) || !wemu_write32(m, sizep, len))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

static uint32_t sys_protect_virtual_memory(struct sc *c)
{
	struct wemu *m = c->m;
	if (!own_process(c->a[0]))
		return ST_INVALID_HANDLE;
	uint32_t basep = c->a[1], sizep = c->a[2], protect = c->a[3], oldp = c->a[4];
	uint32_t base, size;
	if (!wemu_read32(m, basep, &base) || !wemu_read32(m, sizep, &size))
		return ST_ACCESS_VIOLATION;
	bool ok;
	uint32_t prot = wemu_prot_from_win(protect, &ok);
	if (!ok)
		return ST_INVALID_PAGE_PROTECTION;
	uint32_t start = base & ~(WEMU_PAGE - 1);
	uint64_t end = ((uint64_t)base + (size ? size : 1) + WEMU_PAGE - 1) & ~(uint64_t)(WEMU_PAGE - 1);
	struct wregion *first = wemu_vm_region_at(m, start);
	if (!first)
		return ST_MEMORY_NOT_ALLOCATED;
	for (uint64_t a = start; a < end;) {
		struct wregion *q = wemu_vm_region_at(m, (uint32_t)a);
		if (!q || !q->committed || q->kind == STRAND_REGION_GDT || q->kind == STRAND_REGION_SHARED ||
		    (uint64_t)q->addr >= WEMU_USER_END)
			return 0xC000002Du; /* STATUS_NOT_COMMITTED */
		a = (uint64_t)q->addr + q->size;
	}
	uint32_t old = wemu_prot_to_win(first->prot);
	strand_status sst = wemu_vm_protect(m, start, (uint32_t)(end - start), prot, true, 0);
	if (sst != STRAND_OK) {
		m->hook_status = sst;
		return ST_UNSUCCESSFUL;
	}
	if (!wemu_write32(m, basep, start) || !wemu_write32(m, sizep, (uint32_t)(end - start)) ||
	    !wemu_write32(m, oldp, old))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

static uint32_t sys_query_virtual_memory(struct sc *c)
{
	struct wemu *m = c->m;
	if (!own_process(c->a[0]))
		return ST_INVALID_HANDLE;
	uint32_t addr = c->a[1], cls = c->a[2], buf = c->a[3], len = c->a[4], rlp = c->a[5];
	if (cls != 0)
		return ST_INVALID_INFO_CLASS;
	if (len < 28)
		return ST_INFO_LENGTH_MISMATCH;
	if (addr >= WEMU_USER_END)
		return ST_INVALID_PARAMETER;
	uint32_t page = addr & ~(WEMU_PAGE - 1);
	uint32_t f[7] = { 0 };
	struct wregion *r = wemu_vm_region_at(m, page);
	if (r) {
		uint32_t end = r->addr + r->size;
		for (struct wregion *q; (q = wemu_vm_region_at(m, end)) && q->alloc_base == r->alloc_base &&
					q->prot == r->prot && q->committed == r->committed;)
			end = q->addr + q->size;
		f[0] = page;
		f[1] = r->alloc_base;
		f[2] = r->alloc_prot;
		f[3] = end - page;
		f[4] = r->committed ? MEM_COMMIT : MEM_RESERVE;
		f[5] = r->committed ? wemu_prot_to_win(r->prot) : 0;
		f[6] = r->image ? MEM_IMAGE : MEM_PRIVATE;
	} else {
		uint32_t end = WEMU_USER_END;
		for (size_t i = 0; i < m->nregions; i++)
			if (m->regions[i].addr > page) {
				end = m->regions[i].addr < end ? m->regions[i].addr : end;
				break;
			}
		f[0] = page;
		f[3] = end - page;
		f[4] = MEM_FREE;
		f[5] = 0x01;
	}
	uint8_t b[28];
	for (int i = 0; i < 7; i++)
		for (int j = 0; j < 4; j++)
			b[4 * i + j] = (uint8_t)(f[i] >> (8 * j));
	if (!wemu_write(m, buf, b, 28) || (rlp && !wemu_write32(m, rlp, 28)))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

/* ===================================================================== */
/* Threads and the process                                                */
/* ===================================================================== */

static uint32_t sys_create_thread(struct sc *c)
{
	struct wemu *m = c->m;
	if (!own_process(c->a[3]))
		return ST_INVALID_HANDLE;
	uint8_t ctx[0xcc];
	if (!wemu_read(m, c->a[5], ctx, sizeof ctx))
		return ST_ACCESS_VIOLATION;
#define CTX(off) ((uint32_t)ctx[(off)] | (uint32_t)ctx[(off) + 1] << 8 | (uint32_t)ctx[(off) + 2] << 16 | \
		  (uint32_t)ctx[(off) + 3] << 24)
	uint32_t edi = CTX(0x9c), esi = CTX(0xa0), ebx = CTX(0xa4), edx = CTX(0xa8), ecx = CTX(0xac),
		 eax = CTX(0xb0), ebp = CTX(0xb4), eip = CTX(0xb8), eflags = CTX(0xc0), esp = CTX(0xc4);
#undef CTX
	uint32_t stack_base = 0, stack_limit = 0;
	if (c->a[6]) {
		if (!wemu_read32(m, c->a[6] + 8, &stack_base) || !wemu_read32(m, c->a[6] + 12, &stack_limit))
			return ST_ACCESS_VIOLATION;
	}
	if (esp < 40)
		return ST_INVALID_PARAMETER;
	/* the frame thread_entry pops: pushad order, eflags, eip */
	uint32_t frame[10] = { edi, esi, ebp, esp, ebx, edx, ecx, eax, (eflags & 0x00000fd5u) | 0x202u, eip };
	uint8_t fb[40];
	for (int i = 0; i < 10; i++)
		for (int j = 0; j < 4; j++)
			fb[4 * i + j] = (uint8_t)(frame[i] >> (8 * j));
	/* probe everything the call writes before anything happens */
	if (!wemu_can_write(m, esp - 40, 40) || !wemu_can_write(m, c->a[0], 4) ||
	    (c->a[4] && !wemu_can_write(m, c->a[4], 8)))
		return ST_ACCESS_VIOLATION;
	struct wthread *t;
	strand_status sst = wemu_new_thread(m, stack_base, stack_limit, &t);
	if (sst != STRAND_OK) {
		m->hook_status = sst;
		return ST_NO_MEMORY;
	}
	wemu_write(m, esp - 40, fb, 40);
	t->cpu.rip = WEMU_THUNK_THREAD;
	t->cpu.gpr[STRAND_REG_RSP] = esp - 40;
	t->suspend_count = (c->a[7] & 0xff) ? 1 : 0;
	t->quantum_start = m->icount;
	uint32_t st = give_handle(c, t->obj, c->a[0]);
	if (st)
		return st;
	if (c->a[4] && (!wemu_write32(m, c->a[4], m->scn->proc.pid) || !wemu_write32(m, c->a[4] + 4, t->tid)))
		return ST_ACCESS_VIOLATION;
	c->created = t;
	return ST_SUCCESS;
}

static size_t live_threads(struct wemu *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nthreads; i++)
		n += m->threads[i]->state != WT_EXITED;
	return n;
}

static uint32_t sys_terminate_thread(struct sc *c)
{
	struct wobj *o = c->t->obj;
	uint32_t st;
	if (c->a[0] && (st = handle_get(c, c->a[0], WO_THREAD, &o)))
		return st;
	struct wthread *t = o->u.thread;
	if (t->state == WT_EXITED)
		return ST_THREAD_IS_TERMINATING;
	if (t == c->t) {
		if (live_threads(c->m) == 1) {
			c->exit_process = true;
			c->exit_status = c->a[1];
		} else {
			c->exit_self = true;
			c->exit_status = c->a[1];
		}
		return ST_SUCCESS;
	}
	if (c->nkilled == sizeof c->killed / sizeof c->killed[0])
		return ST_UNSUCCESSFUL;
	t->state = WT_EXITED;
	t->exit_status = c->a[1];
	c->killed[c->nkilled++] = t;
	return ST_SUCCESS;
}

static uint32_t sys_terminate_process(struct sc *c)
{
	uint32_t h = c->a[0];
	if (h && h != PSEUDO_PROCESS) {
		struct wobj *o;
		uint32_t st = handle_get(c, h, WO_PROCESS, &o);
		if (st)
			return st;
	}
	if (h == 0) {
		/* every other thread, as ExitProcess's first call does */
		for (size_t i = 0; i < c->m->nthreads; i++) {
			struct wthread *t = c->m->threads[i];
			if (t == c->t || t->state == WT_EXITED)
				continue;
			if (c->nkilled == sizeof c->killed / sizeof c->killed[0])
				break;
			t->state = WT_EXITED;
			t->exit_status = c->a[1];
			c->killed[c->nkilled++] = t;
		}
		return ST_SUCCESS;
	}
	c->exit_process = true;
	c->exit_status = c->a[1];
	return ST_SUCCESS;
}

static uint32_t sys_resume_thread(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_THREAD, &o);
	if (st)
		return st;
	struct wthread *t = o->u.thread;
	if (c->a[1] && !wemu_write32(c->m, c->a[1], t->suspend_count))
		return ST_ACCESS_VIOLATION;
	if (t->suspend_count)
		t->suspend_count--;
	return ST_SUCCESS;
}

static uint32_t sys_suspend_thread(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_THREAD, &o);
	if (st)
		return st;
	struct wthread *t = o->u.thread;
	if (t->state == WT_EXITED)
		return ST_THREAD_IS_TERMINATING;
	if (c->a[1] && !wemu_write32(c->m, c->a[1], t->suspend_count))
		return ST_ACCESS_VIOLATION;
	t->suspend_count++;
	if (t == c->t)
		c->yield = true;
	return ST_SUCCESS;
}

static uint32_t write_info(struct sc *c, const uint32_t *f, uint32_t nf, uint32_t buf, uint32_t len,
			   uint32_t rlp)
{
	if (len < 4 * nf)
		return ST_INFO_LENGTH_MISMATCH;
	uint8_t b[64];
	for (uint32_t i = 0; i < nf; i++)
		for (int j = 0; j < 4; j++)
			b[4 * i + j] = (uint8_t)(f[i] >> (8 * j));
	if (!wemu_write(c->m, buf, b, 4 * nf) || (rlp && !wemu_write32(c->m, rlp, 4 * nf)))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}


static uint32_t sys_query_information_process(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_PROCESS, &o);
	if (st)
		return st;
	switch (c->a[1]) {
	case 0: { /* ProcessBasicInformation */
		uint32_t f[6] = { ST_PENDING, WEMU_PEB, 1, 8, c->m->scn->proc.pid, 0 };
		return write_info(c, f, 6, c->a[2], c->a[3], c->a[4]);
	}
	case 12: { /* ProcessDefaultHardErrorMode */
		uint32_t f[1] = { 1 };
		return write_info(c, f, 1, c->a[2], c->a[3], c->a[4]);
	}
	case 7:  /* ProcessDebugPort: no debugger */
	case 26: { /* ProcessWow64Information: not a WOW64 process */
		uint32_t f[1] = { 0 };
		return write_info(c, f, 1, c->a[2], c->a[3], c->a[4]);
	}
	case 37: { /* ProcessImageInformation: the executable's SECTION_IMAGE_INFORMATION */
		struct wmodule *exe = NULL;
		for (size_t i = 0; i < c->m->nmods; i++)
			if (c->m->mods[i].main)
				exe = &c->m->mods[i];
		uint8_t b[0x30];
		if (!exe || image_info(exe->pe.data, exe->pe.size, b))
			return ST_INVALID_INFO_CLASS;
		uint32_t f[12];
		for (int i = 0; i < 12; i++)
			f[i] = rd32le(b + 4 * i);
		return write_info(c, f, 12, c->a[2], c->a[3], c->a[4]);
	}
	default:
		return unmodelled_class(c, "class", c->a[1], ST_INVALID_INFO_CLASS);
	}
}

static uint32_t sys_set_information_thread(struct sc *c)
{
	struct wobj *o;
	return handle_get(c, c->a[0], WO_THREAD, &o);
}

static uint32_t sys_set_information_process(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_PROCESS, &o);
	if (st)
		return st;
	if (c->a[1] == 1000 && c->m->personality == WP_WINE) {
		/* ProcessWineMakeProcessSystem: Wine's service dispatcher gets an
		 * event signaled when the last user process ends (never here) */
		if (c->a[3] != 4)
			return ST_INFO_LENGTH_MISMATCH;
		struct wobj *e = wemu_obj_new(c->m, WO_EVENT, NULL);
		if (!e)
			return ST_NO_MEMORY;
		uint32_t h;
		if ((st = handle_new(c->m, e, &h)))
			return st;
		return wemu_write32(c->m, c->a[2], h) ? ST_SUCCESS : ST_ACCESS_VIOLATION;
	}
	return ST_SUCCESS;
}

static uint32_t sys_query_default_locale(struct sc *c)
{
	return wemu_write32(c->m, c->a[1], 0x409) ? ST_SUCCESS : ST_ACCESS_VIOLATION;
}

static uint32_t sys_query_timer_resolution(struct sc *c)
{
	if (!wemu_write32(c->m, c->a[0], 156250) || !wemu_write32(c->m, c->a[1], 10000) ||
	    !wemu_write32(c->m, c->a[2], 156250))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

static uint32_t sys_open_directory_object(struct sc *c)
{
	/* directories exist implicitly: a handle names them for relative opens */
	char name[MAX_NAME];
	bool has;
	uint32_t st = read_oa(c, c->a[2], name, sizeof name, &has);
	if (st)
		return st;
	if (!has)
		return ST_OBJECT_NAME_INVALID;
	struct wobj *o = wemu_obj_new(c->m, WO_DIRECTORY, name);
	if (!o)
		return ST_NO_MEMORY;
	return give_handle(c, o, c->a[0]);
}

static uint32_t sys_query_debug_filter_state(struct sc *c) { return 0; /* FALSE */ }

/* ===================================================================== */
/* Services of real system DLLs (Vista+ ntdll, Wine)                       */
/* ===================================================================== */

strand_status wemu_kernel_std_handles(struct wemu *m)
{
	for (uint32_t i = 0; i < 3; i++) {
		static const char *const names[3] = { "\\Device\\stdin", "\\Device\\stdout", "\\Device\\stderr" };
		struct wobj *o = wemu_obj_new(m, WO_STDIO, names[i]);
		if (!o || handle_new(m, o, &m->std_handles[i]) != ST_SUCCESS)
			return strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
		o->u.stdio.stream = i;
	}
	return STRAND_OK;
}

/* NtContinue(CONTEXT *context, BOOLEAN alert): the thread resumes with the
 * integer, control and x87/SSE state of `context` (x86 CONTEXT: Edi @0x9C
 * .. Eax @0xB0, Ebp @0xB4, Eip @0xB8, EFlags @0xC0, Esp @0xC4, FXSAVE
 * image @0xCC when CONTEXT_EXTENDED_REGISTERS).  Segment registers stay
 * the thread's (the model has one flat layout). */
static uint32_t sys_continue(struct sc *c)
{
	uint8_t ctx[0x2cc];
	if (!wemu_read(c->m, c->a[0], ctx, sizeof ctx))
		return ST_ACCESS_VIOLATION;
#define CTX32(off) ((uint32_t)ctx[off] | (uint32_t)ctx[(off) + 1] << 8 | (uint32_t)ctx[(off) + 2] << 16 | \
		    (uint32_t)ctx[(off) + 3] << 24)
	uint32_t flags = CTX32(0);
	struct strand_cpu cpu;
	wemu_cpu_store(c->m, &cpu);
	if (flags & 0x2) { /* CONTEXT_INTEGER */
		cpu.gpr[STRAND_REG_RDI] = CTX32(0x9C);
		cpu.gpr[STRAND_REG_RSI] = CTX32(0xA0);
		cpu.gpr[STRAND_REG_RBX] = CTX32(0xA4);
		cpu.gpr[STRAND_REG_RDX] = CTX32(0xA8);
		cpu.gpr[STRAND_REG_RCX] = CTX32(0xAC);
		cpu.gpr[STRAND_REG_RAX] = CTX32(0xB0);
	}
	if (flags & 0x1) { /* CONTEXT_CONTROL */
		cpu.gpr[STRAND_REG_RBP] = CTX32(0xB4);
		cpu.rip = CTX32(0xB8);
		cpu.rflags = (CTX32(0xC0) & 0x00000cd5u) | 0x202u;
		cpu.gpr[STRAND_REG_RSP] = CTX32(0xC4);
	}
	if (flags & 0x20) /* CONTEXT_EXTENDED_REGISTERS: FXSAVE layout */
		memcpy(cpu.fxsave, ctx + 0xCC, 512);
#undef CTX32
	wemu_cpu_load(c->m, &cpu);
	c->full_cpu = true;
	return ST_SUCCESS;
}

/* FILE_DEVICE_* a handle's object reports (FileFsDeviceInformation). */
static uint32_t device_type_of(const struct wobj *o)
{
	switch (o->type) {
	case WO_STDIO: return 0x11;  /* FILE_DEVICE_NAMED_PIPE: output to a pipe */
	case WO_PIPE: return 0x11;
	case WO_FILE: return 0x07;   /* FILE_DEVICE_DISK */
	case WO_DIRECTORY: return 0x07;
	default: return 0x22;        /* FILE_DEVICE_UNKNOWN */
	}
}

static uint32_t sys_query_volume_information_file(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], 0, &o);
	if (st)
		return st;
	uint32_t iosb = c->a[1], buf = c->a[2], len = c->a[3], cls = c->a[4];
	uint8_t b[64] = { 0 };
	uint32_t need;
	switch (cls) {
	case 4: /* FileFsDeviceInformation: DeviceType, Characteristics */
		need = 8;
		b[0] = (uint8_t)device_type_of(o);
		break;
	default:
		return unmodelled_class(c, "class", cls, ST_INVALID_INFO_CLASS);
	}
	if (len < need)
		return ST_INFO_LENGTH_MISMATCH;
	if (!wemu_write(c->m, buf, b, need) || !write_iosb(c, iosb, ST_SUCCESS, need))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

/* __wine_dbg_write(const char *str, ULONG len): Wine's debug channel
 * output (its ERR/FIXME/WARN lines), kept as the debug log (stream 3). */
static uint32_t sys_wine_dbg_write(struct sc *c)
{
	uint32_t len = c->a[1] > 0x10000 ? 0x10000 : c->a[1];
	uint8_t *b = malloc(len ? len : 1);
	if (!b)
		return ST_NO_MEMORY;
	if (!wemu_read(c->m, c->a[0], b, len)) {
		free(b);
		return ST_ACCESS_VIOLATION;
	}
	bool ok = add_output(c, b, len);
	if (c->m->opt && c->m->opt->trace_syscalls)
		fprintf(stderr, "strand record-win:   debug output: %.*s", (int)len, (const char *)b);
	free(b);
	return ok ? len : ST_NO_MEMORY;
}

/* ===================================================================== */
/* Sections (image sections only)                                         */
/* ===================================================================== */

#define SEC_IMAGE 0x01000000u
#define ST_IMAGE_NOT_AT_BASE 0x40000003u
#define ST_INVALID_IMAGE_NOT_MZ 0xC000012Fu
#define ST_INVALID_IMAGE_FORMAT 0xC000007Bu

static uint16_t rd16le(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr16le(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

/* SECTION_IMAGE_INFORMATION (x86, 0x30 bytes) of a PE file's bytes:
 * TransferAddress @0, MaximumStackSize @8, CommittedStackSize @0xC,
 * SubSystemType @0x10, SubSystemVersion @0x14, OperatingSystemVersion
 * @0x18, ImageCharacteristics @0x1C, DllCharacteristics @0x1E, Machine
 * @0x20, ImageContainsCode @0x22, LoaderFlags @0x24, ImageFileSize
 * @0x28, CheckSum @0x2C.  ST_SUCCESS or why it is not an image. */
static uint32_t image_info(const uint8_t *d, size_t n, uint8_t out[0x30])
{
	memset(out, 0, 0x30);
	if (n < 0x40 || d[0] != 'M' || d[1] != 'Z')
		return ST_INVALID_IMAGE_NOT_MZ;
	uint32_t pe = rd32le(d + 0x3c);
	if (pe > n || n - pe < 24 + 96 || memcmp(d + pe, "PE\0\0", 4) != 0)
		return ST_INVALID_IMAGE_FORMAT;
	const uint8_t *fh = d + pe + 4, *oh = d + pe + 24;
	if (rd16le(oh) != 0x10b)
		return ST_INVALID_IMAGE_FORMAT;
	wr32le(out + 0x00, rd32le(oh + 28) + rd32le(oh + 16)); /* ImageBase + entry */
	wr32le(out + 0x08, rd32le(oh + 72));
	wr32le(out + 0x0C, rd32le(oh + 76));
	wr32le(out + 0x10, rd16le(oh + 68));
	wr16le(out + 0x14, rd16le(oh + 50));
	wr16le(out + 0x16, rd16le(oh + 48));
	wr16le(out + 0x18, rd16le(oh + 42));
	wr16le(out + 0x1A, rd16le(oh + 40));
	wr16le(out + 0x1C, rd16le(fh + 18));
	wr16le(out + 0x1E, rd16le(oh + 70));
	wr16le(out + 0x20, rd16le(fh + 0));
	out[0x22] = rd32le(oh + 4) ? 1 : 0; /* SizeOfCode */
	wr32le(out + 0x24, rd32le(oh + 88));
	wr32le(out + 0x28, (uint32_t)n);
	wr32le(out + 0x2C, rd32le(oh + 64));
	return ST_SUCCESS;
}

static uint32_t sys_create_section(struct sc *c)
{
	uint32_t hp = c->a[0], oa = c->a[2], attrs = c->a[5], fh = c->a[6];
	if (oa) {
		char name[MAX_NAME];
		bool has;
		uint32_t st = read_oa(c, oa, name, sizeof name, &has);
		if (st)
			return st;
		if (has)
			return unmodelled_class(c, "named-section", 1, ST_NOT_IMPLEMENTED);
	}
	if (!(attrs & SEC_IMAGE))
		return unmodelled_class(c, "section-attributes", attrs, ST_NOT_IMPLEMENTED);
	struct wobj *fo;
	uint32_t st = handle_get(c, fh, WO_FILE, &fo);
	if (st)
		return st;
	struct wfile *f = fo->u.file.file;
	if (f->directory)
		return ST_INVALID_PARAMETER;
	uint8_t info[0x30];
	if ((st = image_info(f->data, f->len, info)))
		return st;
	struct wobj *o = wemu_obj_new(c->m, WO_SECTION, NULL);
	if (!o)
		return ST_NO_MEMORY;
	o->u.section.file = f;
	o->u.section.image = true;
	return give_handle(c, o, hp);
}

static uint32_t sys_query_section(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_SECTION, &o);
	if (st)
		return st;
	uint32_t cls = c->a[1], buf = c->a[2], len = c->a[3], rl = c->a[4];
	struct wfile *f = o->u.section.file;
	uint8_t info[0x30];
	uint32_t need;
	if (cls == 1) { /* SectionImageInformation */
		if ((st = image_info(f->data, f->len, info)))
			return st;
		need = 0x30;
	} else if (cls == 0) { /* SectionBasicInformation: BaseAddress, Attributes, Size */
		uint8_t t[0x30];
		image_info(f->data, f->len, t);
		memset(info, 0, sizeof info);
		wr32le(info + 4, SEC_IMAGE | 0x02000000u /* SEC_FILE */);
		const uint8_t *d = f->data;
		uint32_t pe = rd32le(d + 0x3c);
		wr32le(info + 8, rd32le(d + pe + 24 + 56)); /* SizeOfImage */
		need = 16;
	} else {
		return unmodelled_class(c, "class", cls, ST_INVALID_INFO_CLASS);
	}
	if (len < need)
		return ST_INFO_LENGTH_MISMATCH;
	if (!wemu_write(c->m, buf, info, need) || (rl && !wemu_write32(c->m, rl, need)))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

/* Last component of an NT name. */
static const char *base_name(const char *name)
{
	const char *bs = strrchr(name, '\\');
	return bs ? bs + 1 : name;
}

static uint32_t sys_map_view_of_section(struct sc *c)
{
	struct wemu *m = c->m;
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_SECTION, &o);
	if (st)
		return st;
	if (!own_process(c->a[1]))
		return ST_INVALID_HANDLE;
	uint32_t basep = c->a[2], viewp = c->a[6], want;
	if (!wemu_read32(m, basep, &want))
		return ST_ACCESS_VIOLATION;
	if (want % WEMU_ALLOC_GRAN)
		return 0xC0000039u; /* STATUS_MAPPED_ALIGNMENT */
	struct wfile *f = o->u.section.file;
	const char *nm = f->name;
	char win32[MAX_NAME];
	snprintf(win32, sizeof win32, "%s", wscn_name_has_prefix(nm, "\\??") ? nm + 4 : nm);
	size_t idx;
	bool moved;
	strand_error *saved = m->err;
	strand_error scratch = { 0 };
	m->err = &scratch;
	strand_status s = wemu_map_pe_at(m, nm, f->data, f->len, base_name(nm), win32, false, want, &idx, &moved);
	m->err = saved;
	if (s != STRAND_OK) {
		wemu_warn(m, "NtMapViewOfSection %s: %s", nm, scratch.msg);
		return want ? ST_CONFLICTING_ADDRESSES : ST_INVALID_IMAGE_FORMAT;
	}
	struct wmodule *mod = &m->mods[idx];
	if (!wemu_write32(m, basep, mod->base) || !wemu_write32(m, viewp, mod->size))
		return ST_ACCESS_VIOLATION;
	/* Wine's Unix side points the dispatcher word of every image with
	 * system call stubs of its own (win32u.dll: the win32k services) at
	 * the dispatcher, as it does ntdll's; left 0, user32's DllMain
	 * faults in its first win32u call */
	uint32_t dw = m->personality == WP_WINE ? wemu_stub_dispatch_word(mod) : 0, cur;
	if (dw && wemu_read32(m, dw, &cur) && cur == 0 && !wemu_write32(m, dw, WEMU_THUNK_DISPATCH))
		return ST_ACCESS_VIOLATION;
	c->loaded = mod;
	if (m->res)
		m->res->modules++;
	return moved ? ST_IMAGE_NOT_AT_BASE : ST_SUCCESS;
}

static uint32_t sys_unmap_view_of_section(struct sc *c)
{
	struct wemu *m = c->m;
	if (!own_process(c->a[0]))
		return ST_INVALID_HANDLE;
	uint32_t addr = c->a[1];
	for (size_t i = 0; i < m->nmods; i++) {
		struct wmodule *mod = &m->mods[i];
		if (mod->unloaded || mod->main || addr < mod->base || addr - mod->base >= mod->size)
			continue;
		if (wemu_vm_unmap(m, mod->base, mod->size) != STRAND_OK)
			return ST_INVALID_PARAMETER;
		mod->unloaded = true;
		c->unloaded_id = mod->id;
		return ST_SUCCESS;
	}
	return 0xC0000019u; /* STATUS_NOT_MAPPED_VIEW */
}

/* ===================================================================== */
/* Locale data (NLS files from the scenario's nls_dir)                    */
/* ===================================================================== */

static const char *nls_dir(const struct wemu *m)
{
	return m->opt && m->opt->nls_dir ? m->opt->nls_dir : m->scn->proc.nls_dir;
}

/* Map nls_dir/FILE read-only (once; later calls return the same view). */
static uint32_t nls_map(struct sc *c, const char *file, uint32_t *addr, uint32_t *size)
{
	struct wemu *m = c->m;
	for (size_t i = 0; i < m->nnls; i++)
		if (strcmp(m->nls[i].file, file) == 0) {
			*addr = m->nls[i].addr;
			*size = m->nls[i].size;
			return ST_SUCCESS;
		}
	const char *dir = nls_dir(m);
	if (!dir || m->nnls == sizeof m->nls / sizeof m->nls[0]) {
		char what[96];
		snprintf(what, sizeof what, "nls-file=%s", file);
		log_unmodelled(c, what);
		return ST_OBJECT_NAME_NOT_FOUND;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return ST_OBJECT_NAME_NOT_FOUND;
	long n = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
	uint32_t mapped = n > 0 ? (uint32_t)((n + WEMU_PAGE - 1) & ~(long)(WEMU_PAGE - 1)) : 0;
	uint8_t *b = n > 0 && n < (32l << 20) ? calloc(1, mapped) : NULL;
	bool ok = b && fseek(fp, 0, SEEK_SET) == 0 && fread(b, 1, (size_t)n, fp) == (size_t)n;
	fclose(fp);
	uint32_t at;
	if (!ok || !wemu_vm_find_free(m, mapped, WEMU_ALLOC_GRAN, WEMU_DYN_BASE, WEMU_USER_END, &at)) {
		free(b);
		return ST_NO_MEMORY;
	}
	char label[48];
	snprintf(label, sizeof label, "nls:%s", file);
	strand_status st = wemu_vm_map(m, at, mapped, STRAND_PROT_READ, STRAND_REGION_FILE, label, b, true, false, 0x02);
	free(b);
	if (st != STRAND_OK) {
		m->hook_status = st;
		return ST_NO_MEMORY;
	}
	snprintf(m->nls[m->nnls].file, sizeof m->nls[m->nnls].file, "%s", file);
	m->nls[m->nnls].addr = at;
	m->nls[m->nnls].size = (uint32_t)n;
	m->nnls++;
	*addr = at;
	*size = (uint32_t)n;
	return ST_SUCCESS;
}

/* NtInitializeNlsFiles(void **ptr, LCID *lcid, LARGE_INTEGER *size):
 * locale.nls and the system locale (en-US, 0x409). */
static uint32_t sys_initialize_nls_files(struct sc *c)
{
	uint32_t addr, size;
	uint32_t st = nls_map(c, "locale.nls", &addr, &size);
	if (st)
		return st;
	if (!wemu_write32(c->m, c->a[0], addr) || (c->a[1] && !wemu_write32(c->m, c->a[1], 0x409)) ||
	    (c->a[2] && !wemu_write64(c->m, c->a[2], size)))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

/* NtGetNlsSectionPtr(type, id, unknown, void **ptr, SIZE_T *size):
 * 9 sort table, 10 case table, 11 code page `id`, 12 normalization form. */
static uint32_t sys_get_nls_section_ptr(struct sc *c)
{
	char file[32];
	uint32_t type = c->a[0], id = c->a[1];
	static const struct { uint32_t id; const char *f; } norms[] = {
		{ 1, "normnfc.nls" }, { 2, "normnfd.nls" }, { 5, "normnfkc.nls" }, { 6, "normnfkd.nls" },
		{ 13, "normidna.nls" },
	};
	switch (type) {
	case 9: snprintf(file, sizeof file, "sortdefault.nls"); break;
	case 10: snprintf(file, sizeof file, "l_intl.nls"); break;
	case 11: snprintf(file, sizeof file, "c_%03u.nls", id); break;
	case 12:
		file[0] = 0;
		for (size_t i = 0; i < sizeof norms / sizeof norms[0]; i++)
			if (norms[i].id == id)
				snprintf(file, sizeof file, "%s", norms[i].f);
		if (!file[0])
			return ST_OBJECT_NAME_NOT_FOUND;
		break;
	default:
		return unmodelled_class(c, "type", type, ST_INVALID_PARAMETER);
	}
	uint32_t addr, size;
	uint32_t st = nls_map(c, file, &addr, &size);
	if (st)
		return st;
	if (!wemu_write32(c->m, c->a[3], addr) || (c->a[4] && !wemu_write32(c->m, c->a[4], size)))
		return ST_ACCESS_VIOLATION;
	return ST_SUCCESS;
}

/* ===================================================================== */
/* Threads, objects, alerts of Vista+ ntdlls                              */
/* ===================================================================== */

#define ST_ALERTED 0x00000101u

/* NtCreateThreadEx(&handle, access, attributes, process, start, param,
 * flags, zero_bits, stack_commit, stack_reserve, attribute_list): the
 * kernel makes the stack (stack_reserve, else the executable's, at least
 * 1 MiB + 64 KiB: ntdll's thread start clears 960 KiB of it) and the TEB;
 * the thread starts in ntdll!LdrInitializeThunk like the first one.
 * flags bit 0: created suspended.  PS_ATTRIBUTE_CLIENT_ID and
 * PS_ATTRIBUTE_TEB_ADDRESS are filled; other attributes are logged. */
static uint32_t sys_create_thread_ex(struct sc *c)
{
	struct wemu *m = c->m;
	if (m->personality == WP_STANDIN)
		return unmodelled_class(c, "personality", WP_STANDIN, ST_NOT_IMPLEMENTED);
	if (!own_process(c->a[3]))
		return ST_INVALID_HANDLE;
	uint32_t start = c->a[4], param = c->a[5], flags = c->a[6], reserve = c->a[9], attrs = c->a[10];
	if (!wemu_can_write(m, c->a[0], 4))
		return ST_ACCESS_VIOLATION;
	if (!reserve)
		for (size_t i = 0; i < m->nmods; i++)
			if (m->mods[i].main)
				reserve = m->mods[i].pe.stack_reserve;
	if (reserve < 0x110000)
		reserve = 0x110000;
	if (reserve > 0x1000000)
		reserve = 0x1000000;
	reserve = (reserve + WEMU_ALLOC_GRAN - 1) & ~(WEMU_ALLOC_GRAN - 1);
	uint32_t stack;
	if (!wemu_vm_find_free(m, reserve, WEMU_ALLOC_GRAN, WEMU_DYN_BASE, WEMU_USER_END, &stack))
		return ST_NO_MEMORY;
	struct wthread *t;
	strand_status sst;
	char label[32];
	snprintf(label, sizeof label, "stack:%u", m->tid_cursor < m->scn->proc.ntids
						       ? m->scn->proc.tids[m->tid_cursor] : m->last_tid + 4);
	if ((sst = wemu_vm_map(m, stack, reserve, STRAND_PROT_READ | STRAND_PROT_WRITE, STRAND_REGION_STACK, label,
			       NULL, true, false, 0x04)) != STRAND_OK ||
	    (sst = wemu_new_thread(m, stack + reserve, stack, &t)) != STRAND_OK ||
	    (sst = wemu_sys_thread_start(m, t, stack + reserve, start, param)) != STRAND_OK) {
		m->hook_status = sst;
		return ST_NO_MEMORY;
	}
	t->suspend_count = (flags & 1) ? 1 : 0;
	t->quantum_start = m->icount;
	uint32_t st = give_handle(c, t->obj, c->a[0]);
	if (st)
		return st;
	c->created = t;
	if (attrs) {
		/* PS_ATTRIBUTE_LIST: TotalLength, then {Attribute, Size, Value, ReturnLength} */
		uint32_t total;
		if (!wemu_read32(m, attrs, &total))
			return ST_ACCESS_VIOLATION;
		for (uint32_t off = 4; off + 16 <= total && off < 4 + 16 * 32; off += 16) {
			uint32_t e[4];
			for (int i = 0; i < 4; i++)
				if (!wemu_read32(m, attrs + off + 4 * (uint32_t)i, &e[i]))
					return ST_ACCESS_VIOLATION;
			if (e[0] == 0x10003 && e[1] >= 8) { /* PS_ATTRIBUTE_CLIENT_ID */
				if (!wemu_write32(m, e[2], m->scn->proc.pid) || !wemu_write32(m, e[2] + 4, t->tid))
					return ST_ACCESS_VIOLATION;
			} else if (e[0] == 0x10004 && e[1] >= 4) { /* PS_ATTRIBUTE_TEB_ADDRESS */
				if (!wemu_write32(m, e[2], t->teb))
					return ST_ACCESS_VIOLATION;
			} else {
				unmodelled_class(c, "ps-attribute", e[0], 0);
			}
		}
	}
	return ST_SUCCESS;
}

static size_t live_threads(struct wemu *m);

static uint32_t sys_query_information_thread(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], WO_THREAD, &o);
	if (st)
		return st;
	struct wthread *t = o->u.thread;
	switch (c->a[1]) {
	case 0: { /* ThreadBasicInformation */
		uint32_t f[7] = { t->state == WT_EXITED ? t->exit_status : ST_PENDING, t->teb, c->m->scn->proc.pid,
				  t->tid, 1, 8, 8 };
		return write_info(c, f, 7, c->a[2], c->a[3], c->a[4]);
	}
	case 12: { /* ThreadAmILastThread: is the caller the process's last thread? */
		uint32_t f[1] = { live_threads(c->m) == 1 };
		return write_info(c, f, 1, c->a[2], c->a[3], c->a[4]);
	}
	default:
		if (c->m->personality == WP_STANDIN)
			return ST_INVALID_INFO_CLASS;
		return unmodelled_class(c, "class", c->a[1], ST_INVALID_INFO_CLASS);
	}
}

/* NtQueryObject(handle, class, buf, len, retlen): ObjectBasicInformation
 * (0: 56 bytes, one handle and one reference) and
 * ObjectHandleFlagInformation (4: Inherit, ProtectFromClose = FALSE). */
static uint32_t sys_query_object(struct sc *c)
{
	struct wobj *o;
	uint32_t st = handle_get(c, c->a[0], 0, &o);
	if (st)
		return st;
	uint8_t b[56] = { 0 };
	uint32_t need;
	switch (c->a[1]) {
	case 0:
		need = 56;
		b[8] = 1;  /* HandleCount */
		b[12] = 1; /* PointerCount */
		break;
	case 4:
		need = 2;
		break;
	default:
		return unmodelled_class(c, "class", c->a[1], ST_INVALID_INFO_CLASS);
	}
	if (c->a[4] && !wemu_write32(c->m, c->a[4], need))
		return ST_ACCESS_VIOLATION;
	if (c->a[3] < need)
		return ST_INFO_LENGTH_MISMATCH;
	return wemu_write(c->m, c->a[2], b, need) ? ST_SUCCESS : ST_ACCESS_VIOLATION;
}

static struct wobj *alert_of(struct wemu *m, struct wthread *t)
{
	if (!t->alert && (t->alert = wemu_obj_new(m, WO_EVENT, NULL)))
		t->alert->u.event.sync = true;
	return t->alert;
}

/* NtWaitForAlertByThreadId(address, timeout): wait until another thread
 * alerts this one (STATUS_ALERTED) or the timeout (STATUS_TIMEOUT).  An
 * alert given before the wait is kept (the flag of the real kernel). */
static uint32_t sys_wait_for_alert_by_thread_id(struct sc *c)
{
	struct wobj *o = alert_of(c->m, c->t);
	if (!o)
		return ST_NO_MEMORY;
	uint32_t st = wait_common(c, &o, 1, false, c->a[1], ST_SUCCESS);
	return st == ST_WAIT_0 ? ST_ALERTED : st;
}

/* NtAlertThreadByThreadId(tid) */
static uint32_t sys_alert_thread_by_thread_id(struct sc *c)
{
	for (size_t i = 0; i < c->m->nthreads; i++) {
		struct wthread *t = c->m->threads[i];
		if (t->tid == c->a[0] && t->state != WT_EXITED) {
			struct wobj *o = alert_of(c->m, t);
			if (!o)
				return ST_NO_MEMORY;
			o->u.event.signaled = true;
			return ST_SUCCESS;
		}
	}
	return 0xC000000Bu; /* STATUS_INVALID_CID */
}

/* NtOpenKeyEx(&handle, access, attributes, options): NtOpenKey. */
static uint32_t sys_open_key(struct sc *c);
static uint32_t sys_open_key_ex(struct sc *c) { return sys_open_key(c); }

/* NtQuerySystemInformation(class, buf, len, retlen): SystemBasicInformation
 * (0) of a one-processor machine with 256 MiB; other classes are logged. */
static uint32_t sys_query_system_information(struct sc *c)
{
	switch (c->a[0]) {
	case 0: {
		uint32_t f[11] = { 0, 156250 /* 15.625 ms */, WEMU_PAGE, 0x10000, 1, 0x10000, WEMU_ALLOC_GRAN,
				   WEMU_DYN_BASE, WEMU_USER_END - 0x10001, 1, 1 };
		return write_info(c, f, 11, c->a[1], c->a[2], c->a[3]);
	}
	default:
		return unmodelled_class(c, "class", c->a[0], ST_INVALID_INFO_CLASS);
	}
}

/* NtRaiseException(EXCEPTION_RECORD *rec, CONTEXT *ctx, BOOLEAN first):
 * first chance: the exception goes to the thread's
 * ntdll!KiUserExceptionDispatcher with copies of rec and ctx (the SEH
 * and vectored handlers run in user mode); second chance (no handler
 * took it, no debugger): the process ends with the exception code. */
static uint32_t sys_raise_exception(struct sc *c)
{
	uint8_t rec[0x50] = { 0 }, ctx[0x2cc];
	if (!wemu_read(c->m, c->a[0], rec, 0x14) || !wemu_read(c->m, c->a[1], ctx, sizeof ctx))
		return ST_ACCESS_VIOLATION;
	uint32_t nparams = rd32le(rec + 0x10);
	if (nparams > 15)
		return ST_INVALID_PARAMETER;
	if (nparams && !wemu_read(c->m, c->a[0] + 0x14, rec + 0x14, 4 * nparams))
		return ST_ACCESS_VIOLATION;
	uint32_t code = rd32le(rec);
	if (!(c->a[2] & 0xff)) {
		wemu_warn(c->m, "unhandled exception 0x%08x (second chance) in thread %u: ending the process", code,
			  c->t->tid);
		c->exit_process = true;
		c->exit_status = code;
		return ST_SUCCESS;
	}
	struct strand_cpu cpu;
	wemu_cpu_store(c->m, &cpu);
	strand_status st = wemu_deliver_exception(c->m, &cpu, rec, sizeof rec, ctx);
	if (st == STRAND_ERR_UNSUPPORTED)
		return unmodelled_class(c, "exception-dispatch", code, ST_NOT_IMPLEMENTED);
	if (st != STRAND_OK) {
		c->exit_process = true; /* no stack left to deliver it */
		c->exit_status = code;
		return ST_SUCCESS;
	}
	wemu_cpu_load(c->m, &cpu);
	c->full_cpu = true;
	return ST_SUCCESS;
}

/* ===================================================================== */
/* Tokens: one primary token, the user's                                  */
/* ===================================================================== */

/* The process runs as one user, S-1-5-21-1-2-3-1000 (a local account:
 * HKEY_CURRENT_USER is \Registry\User\S-1-5-21-1-2-3-1000), not
 * impersonating.  Only TokenUser is modelled; other classes are logged. */
#define ST_NO_TOKEN 0xC000007Cu
static const uint32_t token_subauth[5] = { 21, 1, 2, 3, 1000 };

static uint32_t token_new_handle(struct sc *c, uint32_t hp)
{
	struct wobj *o = wemu_obj_new(c->m, WO_TOKEN, NULL);
	return o ? give_handle(c, o, hp) : ST_NO_MEMORY;
}

/* NtOpenProcessToken(process, access, &h); NtOpenProcessTokenEx(process,
 * access, attributes, &h) */
static uint32_t sys_open_process_token(struct sc *c)
{
	return own_process(c->a[0]) ? token_new_handle(c, c->a[2]) : ST_INVALID_HANDLE;
}
static uint32_t sys_open_process_token_ex(struct sc *c)
{
	return own_process(c->a[0]) ? token_new_handle(c, c->a[3]) : ST_INVALID_HANDLE;
}
/* the thread is not impersonating */
static uint32_t sys_open_thread_token(struct sc *c) { return ST_NO_TOKEN; }

static uint32_t sys_query_information_token(struct sc *c)
{
	uint32_t h = c->a[0];
	if (h != 0xfffffffcu && h != 0xfffffffau) { /* current process / effective token */
		if (h == 0xfffffffbu)                 /* current thread token */
			return ST_NO_TOKEN;
		struct wobj *o;
		uint32_t st = handle_get(c, h, WO_TOKEN, &o);
		if (st)
			return st;
	}
	uint32_t cls = c->a[1], buf = c->a[2], len = c->a[3], rlp = c->a[4];
	if (cls != 1) /* TokenUser */
		return unmodelled_class(c, "class", cls, ST_INVALID_INFO_CLASS);
	/* TOKEN_USER { PSID Sid; DWORD Attributes } then the SID */
	uint8_t b[36] = { 0 };
	wr32le(b + 0, buf + 8);
	b[8] = 1;          /* Revision */
	b[9] = 5;          /* SubAuthorityCount */
	b[15] = 5;         /* SECURITY_NT_AUTHORITY */
	for (int i = 0; i < 5; i++)
		wr32le(b + 16 + 4 * i, token_subauth[i]);
	if (rlp && !wemu_write32(c->m, rlp, sizeof b))
		return ST_ACCESS_VIOLATION;
	if (len < sizeof b)
		return ST_BUFFER_TOO_SMALL;
	return wemu_write(c->m, buf, b, sizeof b) ? ST_SUCCESS : ST_ACCESS_VIOLATION;
}

/* ===================================================================== */
/* Dispatch                                                               */
/* ===================================================================== */

static const struct { const char *name; uint32_t (*fn)(struct sc *); } services[] = {
	{ "NtAllocateVirtualMemory", sys_allocate_virtual_memory },
	{ "NtClearEvent", sys_clear_event },
	{ "NtClose", sys_close },
	{ "NtContinue", sys_continue },
	{ "NtCreateEvent", sys_create_event },
	{ "NtCreateFile", sys_create_file },
	{ "NtCreateKey", sys_create_key },
	{ "NtCreateMutant", sys_create_mutant },
	{ "NtCreateSemaphore", sys_create_semaphore },
	{ "NtCreateSection", sys_create_section },
	{ "NtQuerySection", sys_query_section },
	{ "NtMapViewOfSection", sys_map_view_of_section },
	{ "NtUnmapViewOfSection", sys_unmap_view_of_section },
	{ "NtCreateThread", sys_create_thread },
	{ "NtCreateThreadEx", sys_create_thread_ex },
	{ "NtAlertThreadByThreadId", sys_alert_thread_by_thread_id },
	{ "NtWaitForAlertByThreadId", sys_wait_for_alert_by_thread_id },
	{ "NtQueryObject", sys_query_object },
	{ "NtOpenProcessToken", sys_open_process_token },
	{ "NtOpenProcessTokenEx", sys_open_process_token_ex },
	{ "NtOpenThreadToken", sys_open_thread_token },
	{ "NtOpenThreadTokenEx", sys_open_thread_token },
	{ "NtQueryInformationToken", sys_query_information_token },
	{ "NtRaiseException", sys_raise_exception },
	{ "NtQuerySystemInformation", sys_query_system_information },
	{ "NtOpenKeyEx", sys_open_key_ex },
	{ "NtDelayExecution", sys_delay },
	{ "NtDeviceIoControlFile", sys_device_io_control },
	{ "NtDuplicateObject", sys_duplicate_object },
	{ "NtEnumerateKey", sys_enumerate_key },
	{ "NtEnumerateValueKey", sys_enumerate_value_key },
	{ "NtFlushBuffersFile", sys_flush_buffers_file },
	{ "NtFlushKey", sys_flush_key },
	{ "NtFreeVirtualMemory", sys_free_virtual_memory },
	{ "NtFsControlFile", sys_device_io_control },
	{ "NtGetNlsSectionPtr", sys_get_nls_section_ptr },
	{ "NtInitializeNlsFiles", sys_initialize_nls_files },
	{ "NtOpenDirectoryObject", sys_open_directory_object },
	{ "NtOpenEvent", sys_open_event },
	{ "NtOpenFile", sys_open_file },
	{ "NtOpenKey", sys_open_key },
	{ "NtOpenMutant", sys_open_mutant },
	{ "NtOpenSemaphore", sys_open_semaphore },
	{ "NtProtectVirtualMemory", sys_protect_virtual_memory },
	{ "NtPulseEvent", sys_pulse_event },
	{ "NtQueryAttributesFile", sys_query_attributes_file },
	{ "NtQueryDebugFilterState", sys_query_debug_filter_state },
	{ "NtQueryDefaultLocale", sys_query_default_locale },
	{ "NtQueryInformationFile", sys_query_information_file },
	{ "NtQueryInformationProcess", sys_query_information_process },
	{ "NtQueryInformationThread", sys_query_information_thread },
	{ "NtQueryKey", sys_query_key },
	{ "NtQueryPerformanceCounter", sys_query_performance_counter },
	{ "NtQuerySystemTime", sys_query_system_time },
	{ "NtQueryTimerResolution", sys_query_timer_resolution },
	{ "NtQueryValueKey", sys_query_value_key },
	{ "NtQueryVolumeInformationFile", sys_query_volume_information_file },
	{ "NtQueryVirtualMemory", sys_query_virtual_memory },
	{ "NtReadFile", sys_read_file },
	{ "NtReleaseMutant", sys_release_mutant },
	{ "NtReleaseSemaphore", sys_release_semaphore },
	{ "NtResetEvent", sys_reset_event },
	{ "NtResumeThread", sys_resume_thread },
	{ "NtSetEvent", sys_set_event },
	{ "NtSetInformationFile", sys_set_information_file },
	{ "NtSetInformationProcess", sys_set_information_process },
	{ "NtSetInformationThread", sys_set_information_thread },
	{ "NtSetValueKey", sys_set_value_key },
	{ "NtSuspendThread", sys_suspend_thread },
	{ "NtTerminateProcess", sys_terminate_process },
	{ "NtTerminateThread", sys_terminate_thread },
	{ "NtWaitForMultipleObjects", sys_wait_multiple },
	{ "NtWaitForSingleObject", sys_wait_single },
	{ "NtWriteFile", sys_write_file },
	{ "NtYieldExecution", sys_yield },
	{ "__wine_dbg_write", sys_wine_dbg_write },
};

/* Bind each service of the table to its handler by name. */
void wemu_kernel_bind(struct wemu *m)
{
	for (size_t i = 0; i < m->nsys; i++) {
		m->sys[i].handler = -1;
		for (size_t k = 0; k < sizeof services / sizeof services[0]; k++)
			if (strcmp(services[k].name, m->sys[i].name) == 0)
				m->sys[i].handler = (int)k;
	}
}

strand_status wemu_thread_exit(struct wemu *m, struct wthread *t, uint32_t status, uint64_t position)
{
	t->state = WT_EXITED;
	t->exit_status = status;
	t->waiting = false;
	struct strand_record r = { .type = STRAND_REC_THREAD_EXIT, .tid = t->tid, .position = position };
	r.u.exit_code = status;
	return wemu_put(m, &r);
}

strand_status wemu_syscall(struct wemu *m, uint32_t pc, bool *blocked)
{
	*blocked = false;
	struct sc c = { .m = m, .t = wemu_current(m), .pc = pc };
	uc_reg_read(m->uc, UC_X86_REG_EAX, &c.number);
	uc_reg_read(m->uc, UC_X86_REG_EDX, &c.edx);
	const struct wsyscall *svc = wemu_sys_find(m, c.number);
	c.nargs = svc ? svc->nargs : 0;
	uint64_t position = m->icount - 1; /* the code hook counted the sysenter */
	wemu_fx_reset(&m->fx);
	m->fx.active = true;
	uint32_t result = ST_NOT_IMPLEMENTED;
	bool args_ok = true;
	for (uint32_t i = 0; i < c.nargs && args_ok; i++)
		args_ok = wemu_read32(m, c.edx + 8 + 4 * i, &c.a[i]);
	if (!args_ok) {
		result = ST_ACCESS_VIOLATION;
	} else {
		uint32_t (*fn)(struct sc *) = svc && svc->handler >= 0 ? services[svc->handler].fn : NULL;
		if (fn) {
			result = fn(&c);
		} else {
			char what[120];
			snprintf(what, sizeof what, "service=%s", svc ? svc->name : "?");
			log_unmodelled(&c, what);
		}
	}
	m->fx.active = false;
	if (m->opt && m->opt->trace_syscalls)
		fprintf(stderr, "strand record-win: [%llu] %u %s(%x %x %x %x %x %x) = %x%s\n", (unsigned long long)position, c.t->tid,
			svc ? svc->name : "?", c.a[0], c.a[1], c.a[2], c.a[3], c.a[4], c.a[5], result,
			c.blocked ? " (blocked)" : "");
	strand_status st = m->hook_status;
	if (st != STRAND_OK)
		goto out;
	if (c.blocked) {
		/* nothing happened: un-count the sysenter, leave the thread on it */
		wemu_fx_reset(&m->fx);
		c.t->state = WT_WAITING;
		m->icount--;
		uint32_t eip = pc - 2; /* Unicorn adds the sysenter's length afterwards */
		uc_reg_write(m->uc, UC_X86_REG_EIP, &eip);
		m->stop_pending = true;
		m->switch_pending = true;
		*blocked = true;
		goto out;
	}
	c.t->waiting = false;
	if (c.t->state == WT_WAITING)
		c.t->state = WT_READY;
	m->nested_faults = 0;
	if (c.full_cpu) {
		/* NtContinue: the context was loaded into Unicorn; record it whole */
		struct strand_record r = { .type = STRAND_REC_SYSCALL, .tid = c.t->tid, .position = position };
		struct strand_syscall *s = &r.u.syscall;
		s->pc = pc;
		s->number = c.number;
		s->nargs = c.nargs > 8 ? 8 : c.nargs;
		for (uint32_t i = 0; i < s->nargs; i++)
			s->args[i] = c.a[i];
		struct strand_cpu cpu;
		wemu_cpu_store(m, &cpu);
		/* the raw value the transition leaves in eax: the context's */
		s->result = (uint32_t)cpu.gpr[STRAND_REG_RAX];
		s->fx = (struct strand_effects){ &cpu, 0, NULL, m->fx.nmaps, m->fx.maps, m->fx.nwrites, m->fx.writes };
		st = wemu_put(m, &r);
		if (st == STRAND_OK && m->res)
			m->res->syscalls++;
		/* Unicorn adds the sysenter's length to eip after the hook */
		uint32_t eip = (uint32_t)cpu.rip - 2;
		uc_reg_write(m->uc, UC_X86_REG_EIP, &eip);
		goto out;
	}
	/* the return path of sysexit: eip after sysenter, esp = edx */
	uint32_t ret_eip = pc + 2, esp = c.edx;
	uc_reg_write(m->uc, UC_X86_REG_EIP, &pc); /* Unicorn adds the sysenter's length */
	uc_reg_write(m->uc, UC_X86_REG_EAX, &result);
	uc_reg_write(m->uc, UC_X86_REG_ESP, &esp);
	uc_reg_write(m->uc, UC_X86_REG_ECX, &esp);
	uc_reg_write(m->uc, UC_X86_REG_EDX, &ret_eip);
	struct strand_regval regs[5] = {
		{ STRAND_REG_RAX, result }, { STRAND_REG_RSP, esp }, { STRAND_REG_RCX, esp },
		{ STRAND_REG_RDX, ret_eip }, { STRAND_REG_RIP, ret_eip },
	};
	struct strand_record r = { .type = STRAND_REC_SYSCALL, .tid = c.t->tid, .position = position };
	struct strand_syscall *s = &r.u.syscall;
	s->pc = pc;
	s->number = c.number;
	s->nargs = c.nargs > 8 ? 8 : c.nargs;
	for (uint32_t i = 0; i < s->nargs; i++)
		s->args[i] = c.a[i];
	s->result = result;
	s->fx = (struct strand_effects){ NULL, 5, regs, m->fx.nmaps, m->fx.maps, m->fx.nwrites, m->fx.writes };
	if ((st = wemu_put(m, &r)) != STRAND_OK)
		goto out;
	if (m->res)
		m->res->syscalls++;
	uint64_t after = position + 1;
	if (c.created) {
		struct wthread *t = c.created;
		r = (struct strand_record){ .type = STRAND_REC_THREAD, .tid = t->tid, .position = after };
		r.u.thread = (struct strand_thread){ t->cpu, t->stack_base, t->stack_limit, t->teb, "" };
		if ((st = wemu_put(m, &r)) != STRAND_OK)
			goto out;
		if (m->res)
			m->res->threads++;
	}
	if (c.loaded && (st = wemu_module_record(m, c.loaded, after, c.t->tid)) != STRAND_OK)
		goto out;
	if (c.unloaded_id) {
		r = (struct strand_record){ .type = STRAND_REC_MODULE_UNLOAD, .tid = c.t->tid, .position = after };
		r.u.module_id = c.unloaded_id;
		if ((st = wemu_put(m, &r)) != STRAND_OK)
			goto out;
	}
	for (uint32_t i = 0; i < c.nout; i++) {
		r = (struct strand_record){ .type = STRAND_REC_OUTPUT, .tid = c.t->tid, .position = after };
		r.u.output = (struct strand_output){ c.out[i].stream, c.out[i].len, c.out[i].data };
		if ((st = wemu_put(m, &r)) != STRAND_OK)
			goto out;
		if (m->res)
			m->res->outputs++;
	}
	for (uint32_t i = 0; i < c.nkilled; i++)
		if ((st = wemu_thread_exit(m, c.killed[i], c.killed[i]->exit_status, after)) != STRAND_OK)
			goto out;
	if (c.exit_process) {
		m->ended = true;
		m->exit_status = c.exit_status;
		m->stop_pending = true;
	} else if (c.exit_self) {
		if ((st = wemu_thread_exit(m, c.t, c.exit_status, after)) != STRAND_OK)
			goto out;
		m->stop_pending = true;
		m->switch_pending = true;
	} else if (c.yield) {
		m->stop_pending = true;
		m->switch_pending = true;
	}
out:
	wemu_fx_reset(&m->fx);
	for (uint32_t i = 0; i < c.nout; i++)
		free(c.out[i].data);
	return st;
}
