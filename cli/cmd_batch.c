/*
 * strand batch [-j N] [--timeout SEC] DIR
 *
 * Triage a directory of traces on all cores: every *.strand file in DIR
 * (sorted by name) gets the root-cause report (strand_report_build), each
 * in its own worker process (a trace that crashes or hangs its worker
 * costs only its own line), at most N at a time.  The output is JSON
 * Lines, one object per trace in name order:
 *
 *   {"trace":"a.strand","verdict":"failure","summary":"...","instructions":N,
 *    "failed_syscalls":N,"seconds":0.31}
 *   {"trace":"b.strand","verdict":"error","error":"..."}
 *
 * This is the local form of docs/scale.md: the unit of work is one trace,
 * a task reads the trace and writes one line, and the merge is a
 * concatenation in name order.  The pool is a plain fork/wait loop.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/grow.h"
#include "cli/cli.h"
#include "strand/json.h"
#include "strand/report.h"
#include "strand/result.h"

#define LINE_MAX_BYTES 16384

struct task {
	char *name;      /* owned: file name in DIR */
	pid_t pid;       /* running worker, 0 if none */
	int fd;          /* read end of its pipe, -1 if closed */
	char *line;      /* owned: collected output */
	size_t len;
	int wstatus;
	bool done;
	double t0;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The worker: one report, one JSON line on fd. */
static void work(const char *dir, const char *name, int fd, unsigned timeout)
{
	if (timeout)
		alarm(timeout);
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	char *buf = NULL;
	size_t blen = 0;
	FILE *m = open_memstream(&buf, &blen);
	if (!m)
		_exit(3);
	struct strand_json *j = strand_json_new(m, false);
	strand_error err;
	struct strand_result *res = strand_result_new();
	double t0 = now_s();
	strand_status st = res ? strand_report_build(path, NULL, res, &err)
			       : strand_error_set(&err, STRAND_ERR_NOMEM, "out of memory");
	strand_json_start_object(j);
	strand_json_string_field(j, "trace", name);
	if (st < 0) {
		strand_json_string_field(j, "verdict", "error");
		strand_json_string_field(j, "status", strand_status_str(st));
		strand_json_string_field(j, "error", err.msg);
	} else {
		const struct strand_rnode *root = strand_result_root(res);
		strand_json_string_field(j, "verdict", strand_rnode_str(root, "verdict", "?"));
		strand_json_string_field(j, "summary", strand_rnode_str(root, "summary", ""));
		strand_json_uint_field(j, "instructions",
				       strand_rnode_u64(root, "trace.instructions", 0));
		strand_json_uint_field(j, "failed_syscalls",
				       strand_rnode_u64(root, "trace.failed_syscalls", 0));
	}
	strand_json_double_field(j, "seconds", now_s() - t0);
	strand_json_end_object(j);
	strand_json_free(j);
	fclose(m);
	size_t n = blen < LINE_MAX_BYTES ? blen : LINE_MAX_BYTES;
	for (size_t done = 0; done < n;) {
		ssize_t w = write(fd, buf + done, n - done);
		if (w <= 0)
			_exit(3);
		done += (size_t)w;
	}
	_exit(0);
}

/* A line for a worker that did not write one. */
static char *failed_line(const struct task *t)
{
	char why[128];
	if (WIFSIGNALED(t->wstatus))
		snprintf(why, sizeof why, "worker killed by signal %d%s", WTERMSIG(t->wstatus),
			 WTERMSIG(t->wstatus) == SIGALRM ? " (timeout)" : "");
	else
		snprintf(why, sizeof why, "worker exited with status %d", WEXITSTATUS(t->wstatus));
	char *buf = NULL;
	size_t blen = 0;
	FILE *m = open_memstream(&buf, &blen);
	if (!m)
		return NULL;
	struct strand_json *j = strand_json_new(m, false);
	strand_json_start_object(j);
	strand_json_string_field(j, "trace", t->name);
	strand_json_string_field(j, "verdict", "error");
	strand_json_string_field(j, "error", why);
	strand_json_end_object(j);
	strand_json_free(j);
	fclose(m);
	return buf;
}

int cmd_batch(int argc, char **argv)
{
	const char *dir = NULL;
	unsigned jobs = 0, timeout = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((!strcmp(a, "-j") || !strcmp(a, "--timeout")) && i + 1 < argc) {
			char *end = NULL;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (!end || *end || v == 0 || v > 100000)
				return cli_failf("batch", false, true, "bad value '%s' for %s", argv[i], a);
			if (a[1] == 'j')
				jobs = (unsigned)v;
			else
				timeout = (unsigned)v;
		} else if (a[0] == '-' && a[1]) {
			return cli_failf("batch", false, true, "unknown option '%s'", a);
		} else if (dir) {
			return cli_failf("batch", false, true, "more than one directory given");
		} else {
			dir = a;
		}
	}
	if (!dir)
		return cli_failf("batch", false, true, "no directory given");
	if (!jobs) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = n > 0 ? (unsigned)n : 1;
	}
	DIR *d = opendir(dir);
	if (!d)
		return cli_failf("batch", false, false, "cannot open directory %s: %s", dir,
				 strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 8 || strcmp(e->d_name + l - 7, ".strand") != 0 || e->d_name[0] == '.')
			continue;
		if (!STRAND_GROW(names, cap, n, 1))
			break;
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	struct task *t = calloc(n ? n : 1, sizeof *t);
	FILE *f = stdout;
	int rc = 0;
	if (!t) {
		rc = cli_failf("batch", false, false, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		t[i].name = names[i];
		t[i].fd = -1;
	}
	fflush(NULL);
	size_t next = 0, running = 0, finished = 0;
	while (finished < n) {
		while (running < jobs && next < n) {
			struct task *k = &t[next++];
			int p[2];
			if (pipe(p) != 0) {
				k->done = true;
				k->wstatus = 3 << 8;
				finished++;
				continue;
			}
			k->t0 = now_s();
			pid_t pid = fork();
			if (pid == 0) {
				close(p[0]);
				work(dir, k->name, p[1], timeout);
			}
			close(p[1]);
			if (pid < 0) {
				close(p[0]);
				k->done = true;
				k->wstatus = 3 << 8;
				finished++;
				continue;
			}
			k->pid = pid;
			k->fd = p[0];
			running++;
		}
		/* read whatever the running workers wrote; reap the ones done */
		struct pollfd pf[256];
		size_t idx[256], np = 0;
		for (size_t i = 0; i < n && np < 256; i++)
			if (t[i].fd >= 0) {
				pf[np].fd = t[i].fd;
				pf[np].events = POLLIN;
				idx[np++] = i;
			}
		if (np && poll(pf, np, 1000) < 0 && errno != EINTR)
			break;
		for (size_t q = 0; q < np; q++) {
			if (!(pf[q].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			struct task *k = &t[idx[q]];
			char buf[4096];
			ssize_t r = read(k->fd, buf, sizeof buf);
			if (r > 0 && k->len + (size_t)r <= LINE_MAX_BYTES) {
				char *nl = realloc(k->line, k->len + (size_t)r + 1);
				if (nl) {
					memcpy(nl + k->len, buf, (size_t)r);
					k->len += (size_t)r;
					nl[k->len] = 0;
					k->line = nl;
				}
			} else if (r <= 0) {
				close(k->fd);
				k->fd = -1;
				waitpid(k->pid, &k->wstatus, 0);
				k->done = true;
				running--;
				finished++;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		bool ok = t[i].done && WIFEXITED(t[i].wstatus) && WEXITSTATUS(t[i].wstatus) == 0 &&
			  t[i].line;
		char *line = ok ? NULL : failed_line(&t[i]);
		const char *l = ok ? t[i].line : line ? line : "{}";
		size_t ll = strlen(l);
		fprintf(f, "%s%s", l, ll && l[ll - 1] == '\n' ? "" : "\n");
		free(line);
	}
	if (fflush(f) != 0)
		rc = cli_failf("batch", false, false, "cannot write the output: %s", strerror(errno));
done:
	for (size_t i = 0; i < n; i++) {
		free(t ? t[i].line : NULL);
		free(names[i]);
	}
	free(t);
	free(names);
	return rc;
}
