/* syscalls: every kernel transition with its name (the ABI's table),
 * decoded object argument, symbolic result and, for failures, the call
 * stack.  Windows handles are followed from the call that opened them, so
 * a failed NtDeviceIoControlFile says which device it went to. */
#include "analyses/internal.h"
#include "strand/analysis.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct handle_name {
	uint64_t handle;
	char name[200];
};

struct syscalls {
	struct strand_analysis *a;
	struct strand_callstack *cs;   /* borrowed, the run's */
	strand_abi abi;
	const struct strand_systable *systable; /* the trace's service table, NULL = built in */
	strand_arch arch;
	bool only_failed;
	bool stacks;
	const char *filter;            /* syscall name, or NULL; borrowed from args? copied */
	char filter_buf[64];
	struct strand_result *tmp;     /* owned: entries built during the pass */
	struct strand_rnode *list;     /* in tmp */
	struct handle_name *h;         /* owned */
	uint32_t nh, caph;
	uint64_t total, failed;
	/* the syscall between its before and after callbacks */
	struct strand_rnode *pending;
	uint64_t pending_out_handle;   /* address of the HANDLE out-arg, 0 if none */
	char pending_obj[200];
	/* Linux: what the descriptor a successful call returns will name
	 * (open: the path; dup: the old descriptor's name; socket) */
	bool pending_fd;
	char pending_fd_name[200];
};

static const char *handle_lookup(struct syscalls *s, uint64_t h)
{
	for (uint32_t i = s->nh; i-- > 0;)
		if (s->h[i].handle == h)
			return s->h[i].name;
	return NULL;
}

/* Name handle h from now on (replacing what it named: a descriptor
 * number is reused after close; "" = names nothing known). */
static void handle_add(struct syscalls *s, uint64_t h, const char *name)
{
	for (uint32_t i = s->nh; i-- > 0;)
		if (s->h[i].handle == h) {
			snprintf(s->h[i].name, sizeof s->h[i].name, "%s", name);
			return;
		}
	if (s->nh == s->caph) {
		uint32_t cap = s->caph ? s->caph * 2 : 32;
		struct handle_name *n = realloc(s->h, cap * sizeof *n);
		if (!n)
			return;
		s->h = n;
		s->caph = cap;
	}
	s->h[s->nh].handle = h;
	snprintf(s->h[s->nh].name, sizeof s->h[s->nh].name, "%s", name);
	s->nh++;
}

/* A struct sockaddr in guest memory as "127.0.0.1:1", "[::1]:80" or a
 * socket path; false if it cannot be read. */
static bool decode_sockaddr(struct strand_replay *r, uint64_t addr, uint64_t len, char *buf,
			    size_t blen)
{
	uint8_t sa[128];
	if (!addr || len < 2 || len > sizeof sa || strand_replay_read(r, addr, sa, len, NULL) != len)
		return false;
	unsigned fam = sa[0] | sa[1] << 8;
	if (fam == 2 && len >= 8) { /* AF_INET */
		snprintf(buf, blen, "%u.%u.%u.%u:%u", sa[4], sa[5], sa[6], sa[7], sa[2] << 8 | sa[3]);
		return true;
	}
	if (fam == 10 && len >= 24) { /* AF_INET6 */
		char a[64];
		if (!inet_ntop(AF_INET6, sa + 8, a, sizeof a))
			return false;
		snprintf(buf, blen, "[%s]:%u", a, sa[2] << 8 | sa[3]);
		return true;
	}
	if (fam == 1 && len > 2) { /* AF_UNIX: a path, or an abstract name after a NUL */
		size_t n = len - 2, k = sa[2] ? 0 : 1;
		char path[110];
		size_t o = 0;
		for (; k < n && o + 1 < sizeof path && (sa[2] == 0 || sa[2 + k]); k++)
			path[o++] = sa[2 + k] >= 0x20 && sa[2 + k] < 0x7f ? (char)sa[2 + k] : '?';
		path[o] = 0;
		snprintf(buf, blen, "%s%s", sa[2] ? "" : "@", path);
		return true;
	}
	return false;
}

/* Linux: the object of a call that names none itself, from its
 * descriptor ("3 → 127.0.0.1:1", "1 → out.txt"); false if none. */
static bool linux_fd_object(struct syscalls *s, struct strand_replay *r, const char *name,
			    const struct strand_syscall *sc, char *obj, size_t len)
{
	unsigned fa;
	if (!name || !strand_syscall_fd_arg(s->abi, name, &fa) || fa >= sc->nargs)
		return false;
	uint64_t fd = sc->args[fa];
	char peer[160];
	bool is_conn = !strcmp(name, "connect") || !strcmp(name, "bind");
	if (is_conn && sc->nargs >= 3 && decode_sockaddr(r, sc->args[1], sc->args[2], peer, sizeof peer)) {
		snprintf(obj, len, "%" PRIu64 " → %s", fd, peer);
		return true;
	}
	if (!strcmp(name, "sendto") && sc->nargs >= 6 &&
	    decode_sockaddr(r, sc->args[4], sc->args[5], peer, sizeof peer)) {
		snprintf(obj, len, "%" PRIu64 " → %s", fd, peer);
		return true;
	}
	const char *hn = handle_lookup(s, fd);
	if (hn && hn[0]) {
		snprintf(obj, len, "%" PRIu64 " → %s", fd, hn);
		return true;
	}
	return false;
}

/* After a successful call: a closed handle names nothing any more; the
 * descriptors a call made that are not files get the name of their kind
 * (a pipe's two ends, an eventfd...), so that a reused number is never
 * taken for what it named before. */
static void name_new_handles(struct syscalls *s, struct strand_replay *r, const char *name,
			     const struct strand_syscall *sc)
{
	if (!name)
		return;
	if (strand_syscall_releases(s->abi, name) && sc->nargs > 0) {
		handle_add(s, sc->args[0], "");
		return;
	}
	if (s->abi != STRAND_ABI_LINUX)
		return;
	uint64_t arr = !strcmp(name, "pipe") || !strcmp(name, "pipe2") ? sc->args[0]
		       : !strcmp(name, "socketpair") ? sc->args[3] : 0;
	if (arr) {
		const char *kind = name[0] == 'p' ? "pipe" : "socket";
		for (int i = 0; i < 2; i++) {
			bool ok = false;
			uint64_t fd = mem_read_uint(r, arr + 4 * (uint64_t)i, 4, &ok);
			if (ok)
				handle_add(s, fd, kind);
		}
		return;
	}
	const char *kind = strand_syscall_new_fd_kind(s->abi, name);
	if (kind)
		handle_add(s, sc->result, kind);
}

static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	struct syscalls *s = ud;
	if (rec->type != STRAND_REC_SYSCALL)
		return;
	const struct strand_syscall *sc = &rec->u.syscall;
	const char *name = strand_syscall_name_in(s->systable, s->abi, s->arch, sc->number);
	if (after) {
		/* a successful open: remember what the new handle names */
		if (s->pending_out_handle && !strand_syscall_failed(s->abi, s->arch, sc->result)) {
			uint8_t b[4];
			if (strand_replay_read(r, s->pending_out_handle, b, 4, NULL) == 4) {
				uint64_t h = (uint64_t)b[0] | b[1] << 8 | b[2] << 16 | (uint64_t)b[3] << 24;
				handle_add(s, h, s->pending_obj);
				if (s->pending)
					strand_r_hex(s->pending, "handle_out", h);
			}
		}
		if (s->pending_fd && !strand_syscall_failed(s->abi, s->arch, sc->result)) {
			handle_add(s, sc->result, s->pending_fd_name);
			if (s->pending)
				strand_r_uint(s->pending, "fd_out", sc->result);
		}
		if (!strand_syscall_failed(s->abi, s->arch, sc->result))
			name_new_handles(s, r, name, sc);
		s->pending = NULL;
		s->pending_out_handle = 0;
		s->pending_fd = false;
		return;
	}
	s->total++;
	bool failed = strand_syscall_failed(s->abi, s->arch, sc->result) &&
		      !strand_syscall_resumes_context(s->abi, name);
	uint64_t rep = 0, rep_addr = 0;
	bool reported = !failed && strand_syscall_reported_error(s->abi, name, sc, &rep, &rep_addr);
	failed = failed || reported;
	if (failed)
		s->failed++;
	char obj[200];
	bool has_obj = strand_syscall_decode_object_in(r, s->systable, s->abi, s->arch, sc, obj, sizeof obj);
	s->pending_obj[0] = 0;
	if (has_obj && s->abi == STRAND_ABI_WINDOWS_NT && sc->nargs > 0 && name &&
	    (!strncmp(name, "NtCreate", 8) || !strncmp(name, "NtOpen", 6))) {
		s->pending_out_handle = sc->args[0];
		snprintf(s->pending_obj, sizeof s->pending_obj, "%s", obj);
	}
	/* Linux descriptors: remember what a new one names; name the
	 * descriptor a call uses */
	char fdobj[240] = "";
	if (s->abi == STRAND_ABI_LINUX && name) {
		if (has_obj && (!strcmp(name, "open") || !strcmp(name, "openat") ||
				!strcmp(name, "openat2") || !strcmp(name, "creat"))) {
			s->pending_fd = true;
			snprintf(s->pending_fd_name, sizeof s->pending_fd_name, "%s", obj);
		} else if (!strcmp(name, "socket")) {
			s->pending_fd = true;
			snprintf(s->pending_fd_name, sizeof s->pending_fd_name, "socket");
		} else if ((!strcmp(name, "dup") || !strcmp(name, "dup2") || !strcmp(name, "dup3") ||
			    (!strcmp(name, "fcntl") && sc->nargs > 1 &&
			     (sc->args[1] == 0 || sc->args[1] == 1030))) && sc->nargs > 0) {
			const char *hn = handle_lookup(s, sc->args[0]);
			if (hn) {
				s->pending_fd = true;
				snprintf(s->pending_fd_name, sizeof s->pending_fd_name, "%s", hn);
			}
		}
		if (!has_obj)
			linux_fd_object(s, r, name, sc, fdobj, sizeof fdobj);
		if (!strcmp(name, "connect") && fdobj[0] && sc->nargs > 0) {
			/* the socket is named by its peer from now on */
			const char *arrow = strstr(fdobj, "→ ");
			if (arrow)
				handle_add(s, sc->args[0], arrow + strlen("→ "));
		}
	}
	if ((s->only_failed && !failed) || (s->filter && (!name || strcmp(name, s->filter))))
		return;
	struct strand_rnode *e = strand_r_object(s->list, NULL);
	s->pending = e;
	strand_r_position(e, "position", rec->position);
	strand_r_uint(e, "tid", rec->tid);
	if (name)
		strand_r_string(e, "name", name);
	else
		strand_r_stringf(e, "name", "syscall_%u", sc->number);
	strand_r_hex(e, "number", sc->number);
	struct strand_rnode *args = strand_r_list(e, "args");
	for (uint32_t i = 0; i < sc->nargs && i < 8; i++)
		strand_r_hex(args, NULL, sc->args[i]);
	unsigned oarg;
	strand_object_arg ohow;
	const char *parent = has_obj && s->abi == STRAND_ABI_WINDOWS_NT && sc->nargs > 0 &&
				     strand_syscall_object_arg(s->abi, name, &oarg, &ohow) && oarg > 0 &&
				     ohow == STRAND_OBJARG_UNICODE_STRING
			     ? handle_lookup(s, sc->args[0]) : NULL;
	if (parent && parent[0]) /* a value of an open key: the key, then the value name */
		strand_r_stringf(e, "object", "%s : %s", parent, obj);
	else if (has_obj)
		strand_r_string(e, "object", obj);
	else if (fdobj[0])
		strand_r_string(e, "object", fdobj);
	else if (s->abi == STRAND_ABI_WINDOWS_NT && sc->nargs > 0) {
		const char *hn = handle_lookup(s, sc->args[0]);
		if (hn && hn[0])
			strand_r_stringf(e, "object", "%s", hn);
	}
	char other[200];
	if (strand_syscall_decode_other_object_in(r, s->systable, s->abi, s->arch, sc, other,
						  sizeof other))
		strand_r_string(e, "other_object", other);
	char res[512];
	strand_syscall_result_str(s->abi, s->arch, sc->result, res, sizeof res);
	struct strand_rnode *rn = strand_r_hex(e, "result", sc->result);
	if (reported) {
		/* the call succeeded; the error is in what it wrote */
		char er[256];
		strand_syscall_result_str(s->abi, s->arch, rep, er, sizeof er);
		snprintf(res, sizeof res, "%s, in the out-parameter at 0x%" PRIx64 " (the call returned 0)",
			 er, rep_addr);
		strand_r_hex(e, "error", rep);
		strand_r_string(e, "error_in", "out-parameter");
		strand_r_hex(e, "error_address", rep_addr);
	}
	strand_r_string(e, "status", res);
	strand_r_bool(e, "failed", failed);
	if (failed && rn)
		rn->flags |= STRAND_RF_ALERT;
	if (failed && s->stacks && s->cs) {
		struct strand_stack *st = NULL;
		if (strand_callstack_capture(s->cs, rec->tid, &st, NULL) == STRAND_OK) {
			strand_r_stack(e, "stack", st);
			strand_stack_free(st);
		}
	}
}

static const struct strand_plugin_option syscalls_options[] = {
	{ "failed", "list only failed calls (1/0)", "0" },
	{ "stacks", "call stack of each failed call (1/0)", "1" },
	{ "name", "only this syscall (NtCreateFile, openat, ...)", NULL },
	{ NULL, NULL, NULL },
};

static strand_status syscalls_init(struct strand_analysis *a,
				   const struct strand_plugin_args *args, void **state,
				   strand_error *err)
{
	struct syscalls *s = calloc(1, sizeof *s);
	if (!s)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	*state = s;
	s->a = a;
	s->abi = strand_analysis_info(a)->abi;
	s->systable = strand_analysis_systable(a);
	s->arch = strand_analysis_info(a)->arch;
	s->only_failed = strand_plugin_opt_bool(args, "failed");
	s->stacks = strand_plugin_opt_bool(args, "stacks");
	const char *f = strand_plugin_opt(args, "name");
	if (f) {
		uint32_t num;
		if (!strand_syscall_number_in(s->systable, s->abi, s->arch, f, &num))
			return strand_error_set(err, STRAND_ERR_INVALID,
						"syscalls: option name: unknown syscall '%s' for %s",
						f, strand_abi_str(s->abi));
		snprintf(s->filter_buf, sizeof s->filter_buf, "%s", f);
		s->filter = s->filter_buf;
	}
	s->tmp = strand_result_new();
	if (!s->tmp)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	s->list = strand_r_list(strand_result_root(s->tmp), "calls");
	if (s->stacks && !(s->cs = strand_analysis_callstack(a, err)))
		return STRAND_ERR_NOMEM;
	strand_replay_on_event(strand_analysis_replay(a), on_event, s);
	return STRAND_OK;
}

static strand_status syscalls_finish(struct strand_analysis *a, void *state,
				     struct strand_rnode *out, strand_error *err)
{
	struct syscalls *s = state;
	strand_r_string(out, "abi", strand_abi_str(s->abi));
	strand_r_uint(out, "total", s->total);
	strand_r_uint(out, "failed", s->failed);
	strand_r_copy(out, "calls", s->list);
	return strand_result_status(s->tmp) < 0
		       ? strand_error_set(err, STRAND_ERR_NOMEM, "syscalls: out of memory")
		       : STRAND_OK;
}

static void syscalls_destroy(void *state)
{
	struct syscalls *s = state;
	if (!s)
		return;
	strand_result_free(s->tmp);
	free(s->h);
	free(s);
}

const struct strand_plugin strand_plugin_syscalls = {
	.abi_version = STRAND_PLUGIN_ABI_VERSION,
	.name = "syscalls",
	.description = "every kernel transition: name, decoded object, symbolic status, stacks of failures",
	.options = syscalls_options,
	.init = syscalls_init,
	.finish = syscalls_finish,
	.destroy = syscalls_destroy,
};
