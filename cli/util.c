/* Shared CLI helpers: error reporting, progress display, budget options
 * and output files written safely (cli_out_*). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "strand/escape.h"
#include "strand/json.h"

static void json_error(const char *cmd, const char *status, const char *msg,
		       const strand_error *err)
{
	struct strand_json *j = strand_json_new(stdout, false);
	if (!j)
		return;
	strand_json_start_object(j);
	strand_json_name(j, "error");
	strand_json_start_object(j);
	strand_json_string_field(j, "command", cmd);
	strand_json_string_field(j, "status", status);
	strand_json_string_field(j, "message", msg);
	if (err && err->ncauses) {
		/* the chain, outermost first: each layer's own words and where */
		strand_json_name(j, "causes");
		strand_json_start_array(j);
		for (uint32_t i = 0; i < err->ncauses && i < STRAND_ERROR_CAUSES; i++) {
			const struct strand_error_cause *c = &err->cause[i];
			char text[STRAND_ERROR_MAX];
			snprintf(text, sizeof text, "%.*s", (int)c->len, err->msg + c->off);
			strand_json_start_object(j);
			strand_json_string_field(j, "message", text);
			if (c->file) {
				strand_json_string_field(j, "file", c->file);
				strand_json_uint_field(j, "line", (uint64_t)c->line);
			}
			strand_json_end_object(j);
		}
		strand_json_end_array(j);
	}
	strand_json_end_object(j);
	strand_json_end_object(j);
	strand_json_free(j);
	fflush(stdout);
}

int cli_fail(const char *cmd, bool json, const strand_error *err)
{
	const char *msg = err && err->msg[0] ? err->msg : "failed";
	const char *st = strand_status_str(err ? err->status : STRAND_ERR_INVALID);
	if (json)
		json_error(cmd, st, msg, err);
	else {
		/* messages quote names from the trace: escaped for the terminal */
		fprintf(stderr, "strand %s: ", cmd);
		strand_fputs_term(stderr, msg, 0);
		fputc('\n', stderr);
	}
	return 1;
}

int cli_failf(const char *cmd, bool json, bool usage, const char *fmt, ...)
{
	char msg[STRAND_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (json)
		json_error(cmd, usage ? "usage" : "error", msg, NULL);
	else
		fprintf(stderr, "strand %s: %s%s\n", cmd, msg,
			usage ? " (see 'strand help')" : "");
	return usage ? 2 : 1;
}

int cli_args_json_trace(const char *cmd, int argc, char **argv, bool *json,
			const char **path)
{
	*json = false;
	*path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			*json = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_failf(cmd, *json, true, "unknown option '%s'", argv[i]);
		else if (*path)
			return cli_failf(cmd, *json, true, "more than one trace given");
		else
			*path = argv[i];
	}
	if (!*path)
		return cli_failf(cmd, *json, true, "missing TRACE");
	return 0;
}

bool cli_progress_enabled(bool quiet)
{
	return !quiet && isatty(STDERR_FILENO);
}

void cli_progress(void *ud, uint64_t pos, uint64_t end)
{
	const char *label = ud ? (const char *)ud : "replay";
	double pct = end ? 100.0 * (double)pos / (double)end : 0.0;
	fprintf(stderr, "\r%s: %" PRIu64 " / %" PRIu64 " instructions (%5.1f%%)", label, pos,
		end, pct);
	fflush(stderr);
}

void cli_progress_done(void)
{
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
}

/* ===================================================================== */
/* Budgets                                                                */
/* ===================================================================== */

bool cli_parse_size(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	unsigned shift = 0;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return false;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B' && shift)
		end++;
	if (*end || v == 0 || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

int cli_budget_option(const char *cmd, bool json, int argc, char **argv, int *i,
		      uint64_t *max_instructions, uint64_t *max_memory)
{
	const char *a = argv[*i];
	bool insn = !strcmp(a, "--max-instructions"), mem = !strcmp(a, "--max-memory");
	if (!insn && !mem)
		return 0;
	if (*i + 1 >= argc)
		return -cli_failf(cmd, json, true, "%s needs a value", a);
	const char *v = argv[++*i];
	if (!cli_parse_size(v, insn ? max_instructions : max_memory))
		return -cli_failf(cmd, json, true, "bad %s '%s' (a positive number%s)", a, v,
				  mem ? ", with an optional K, M, G or T suffix" : "");
	return 1;
}

/* ===================================================================== */
/* Output files                                                           */
/* ===================================================================== */

/* "DIR/.BASE.TAG.XXXXXX" (regular targets) or "$TMPDIR/strand-TAG-XXXXXX",
 * created O_CREAT|O_EXCL (mkostemp), so an existing file or symlink of
 * that name is never written through.  Returns the fd or -1 (errno). */
static int temp_in(const char *dir, const char *base, const char *tag, char **path)
{
	size_t n = strlen(dir) + strlen(base) + strlen(tag) + 32;
	char *p = malloc(n);
	if (!p)
		return -1;
	if (base[0])
		snprintf(p, n, "%s/.%s.%s.XXXXXX", dir, base, tag);
	else
		snprintf(p, n, "%s/strand-%s-XXXXXX", dir, tag);
	int fd = mkostemp(p, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		free(p);
		errno = e;
		return -1;
	}
	*path = p;
	return fd;
}

int cli_out_begin(struct cli_out *o, const char *target, const char *tag, strand_error *err)
{
	memset(o, 0, sizeof o[0]);
	o->fd = -1;
	struct stat sb;
	if (lstat(target, &sb) == 0) {
		if (S_ISLNK(sb.st_mode))
			return strand_error_set(err, STRAND_ERR_INVALID,
						"refusing to write %s: it is a symbolic link", target);
		if (S_ISDIR(sb.st_mode))
			return strand_error_set(err, STRAND_ERR_INVALID,
						"cannot write %s: it is a directory", target);
		o->in_place = !S_ISREG(sb.st_mode);
	} else if (errno != ENOENT) {
		return strand_error_set(err, STRAND_ERR_IO, "cannot write %s: %s", target,
					strerror(errno));
	}
	if (!(o->target = strdup(target)))
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	int fd;
	if (o->in_place) {
		/* a device, FIFO or socket: written as it is, never replaced */
		const char *td = getenv("TMPDIR");
		fd = temp_in(td && *td ? td : "/tmp", "", tag, &o->tmp);
	} else {
		char *d = strdup(target);
		if (!d) {
			cli_out_abort(o);
			return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		}
		char *slash = strrchr(d, '/');
		const char *base = slash ? slash + 1 : d;
		const char *dir = slash ? (slash == d ? "/" : d) : ".";
		if (slash)
			*slash = 0;
		fd = temp_in(dir, base, tag, &o->tmp);
		free(d);
	}
	if (fd < 0) {
		int e = errno;
		cli_out_abort(o);
		return strand_error_set(err, STRAND_ERR_IO, "cannot create a temporary file for %s: %s",
					target, strerror(e));
	}
	o->fd = fd;
	return STRAND_OK;
}

FILE *cli_out_file(struct cli_out *o)
{
	if (o->f || o->fd < 0)
		return o->f;
	o->f = fdopen(o->fd, "w");
	if (o->f)
		o->fd = -1;
	return o->f;
}

const char *cli_out_path(struct cli_out *o)
{
	if (o->fd >= 0) {
		close(o->fd); /* the caller reopens the path (the trace writer) */
		o->fd = -1;
	}
	return o->tmp;
}

/* Copy the temporary into the non-regular target, opened without
 * following a symlink and without creating anything. */
static strand_status copy_in_place(struct cli_out *o, strand_error *err)
{
	strand_status st = STRAND_OK;
	int in = open(o->tmp, O_RDONLY | O_CLOEXEC);
	int out = open(o->target, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (in < 0 || out < 0) {
		st = strand_error_set(err, STRAND_ERR_IO, "cannot write %s: %s", o->target,
				      strerror(errno));
		goto out;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = strand_error_set(err, STRAND_ERR_IO, "cannot read %s: %s", o->tmp,
					      strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				st = strand_error_set(err, STRAND_ERR_IO, "cannot write %s: %s",
						      o->target, strerror(w < 0 ? errno : ENOSPC));
				goto out;
			}
			done += w;
		}
	}
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return st;
}

strand_status cli_out_commit(struct cli_out *o, strand_error *err)
{
	strand_status st = STRAND_OK;
	if (o->f) {
		bool bad = ferror(o->f);
		if (fclose(o->f) != 0 || bad)
			st = strand_error_set(err, STRAND_ERR_IO, "cannot write %s: %s", o->target,
					      strerror(errno ? errno : EIO));
		o->f = NULL;
	}
	if (o->fd >= 0) {
		close(o->fd);
		o->fd = -1;
	}
	if (st == STRAND_OK && o->in_place) {
		st = copy_in_place(o, err);
	} else if (st == STRAND_OK) {
		/* the permissions a plain creat() would have given */
		mode_t um = umask(0);
		umask(um);
		chmod(o->tmp, 0666 & ~um);
		if (rename(o->tmp, o->target) != 0)
			st = strand_error_set(err, STRAND_ERR_IO, "cannot rename %s to %s: %s", o->tmp,
					      o->target, strerror(errno));
		else
			o->committed = true;
	}
	cli_out_abort(o);
	return st;
}

void cli_out_abort(struct cli_out *o)
{
	if (o->f)
		fclose(o->f);
	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp && !o->committed)
		unlink(o->tmp);
	free(o->tmp);
	free(o->target);
	memset(o, 0, sizeof o[0]);
	o->fd = -1;
}

strand_status cli_raw_begin(struct cli_out *o, char **raw, strand_error *err)
{
	*raw = NULL;
	if (o->in_place) {
		const char *td = getenv("TMPDIR");
		int fd = temp_in(td && *td ? td : "/tmp", "", "raw", raw);
		if (fd < 0)
			return strand_error_set(err, STRAND_ERR_IO,
						"cannot create a temporary raw trace: %s", strerror(errno));
		close(fd);
		return STRAND_OK;
	}
	size_t n = strlen(o->target) + 5;
	char *p = malloc(n);
	if (!p)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	snprintf(p, n, "%s.raw", o->target);
	struct stat sb;
	if (lstat(p, &sb) == 0) {
		if (!S_ISREG(sb.st_mode)) {
			strand_status st = strand_error_set(err, STRAND_ERR_INVALID,
				"refusing to write %s: it exists and is not a regular file%s", p,
				S_ISLNK(sb.st_mode) ? " (a symbolic link)" : "");
			free(p);
			return st;
		}
		unlink(p); /* a raw trace left by an earlier recording */
	}
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0) {
		strand_status st = strand_error_set(err, STRAND_ERR_IO, "cannot create %s: %s", p,
						    strerror(errno));
		free(p);
		return st;
	}
	close(fd);
	*raw = p;
	return STRAND_OK;
}

strand_status cli_raw_commit(struct cli_out *o, const char *raw, strand_error *err)
{
	char *r = strdup(raw);
	if (!r)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	if (o->fd >= 0) {
		close(o->fd);
		o->fd = -1;
	}
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = r;
	return cli_out_commit(o, err);
}

const char *cli_term(const char *s, char *buf, size_t len)
{
	strand_escape_term(s ? s : "", s ? strlen(s) : 0, 0, buf, len);
	return buf;
}
