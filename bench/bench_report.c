/*
 * bench_report: the root-cause report, `origin` and `calls` on long traces,
 * side by side with `strand replay` of the same trace (the baseline).
 *
 *   bench_report [-s SIZES] [-r RUNS] [-d DIR] [-c SOURCE] [-k] [-t] STRAND
 *
 * (run from the repository root, or give -c path/to/tests/corpus/longfail.c)
 *
 * For each size (instructions, default 1e6,1e7,1e8; e.g. -s 1e6,1e9):
 * tests/corpus/longfail.c is compiled (cc -O1) and recorded with
 * `STRAND record` for that many instructions (a loop calling mix(), then
 * an open() that fails near the end, reported on stderr).  Then, RUNS
 * times interleaved (replay, report, replay, report, ...):
 *   - `STRAND replay TRACE`                   the baseline;
 *   - `STRAND report --format json TRACE`     time, peak RSS, found_by and
 *                                             the cause's syscall;
 * and once each, in this process through the query API (strand/query.h)
 * on a session opened on the trace:
 *   - `seek end`, then `origin rdi` timed alone (the exit status followed
 *     back to the failed open());
 *   - `calls longfail!mix` timed alone (about one call per 160
 *     instructions; the sidecar index is used when present).
 * With -t, traces already in DIR (from an earlier -k run) are reused.
 * Times are wall clock (median of RUNS) and user CPU; RSS is the child's
 * peak (getrusage of the reaped process).  Prints one table; quote it with
 * the machine's load (uptime), which is printed too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strand/query.h"

struct run {
	double wall, user;  /* seconds */
	long rss_kb;        /* peak resident set of the child */
	int status;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run argv with stdout into `out` (NULL: /dev/null is not used as an
 * output file: a file in the bench directory instead), stderr likewise. */
static struct run run(char *const argv[], const char *out)
{
	struct run r = { 0 };
	double t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	struct rusage ru;
	int st = 0;
	wait4(pid, &st, 0, &ru);
	r.wall = now() - t0;
	r.user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
	r.rss_kb = ru.ru_maxrss;
	r.status = st;
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* "key": "value" of the first occurrence after `after` in file f. */
static void json_str(const char *path, const char *after, const char *key, char *buf, size_t len)
{
	snprintf(buf, len, "-");
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	static char text[1 << 22];
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = 0;
	const char *p = after ? strstr(text, after) : text;
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	p = p ? strstr(p, pat) : NULL;
	if (!p)
		return;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p++ != '"')
		return;
	size_t k = 0;
	while (p[k] && p[k] != '"' && k + 1 < len)
		k++;
	snprintf(buf, len, "%.*s", (int)k, p);
}

int main(int argc, char **argv)
{
	const char *sizes = "1e6,1e7,1e8", *dir = NULL, *src = "tests/corpus/longfail.c";
	int runs = 3;
	bool keep = false, reuse = false;
	int c;
	while ((c = getopt(argc, argv, "s:r:d:c:kt")) != -1) {
		switch (c) {
		case 's': sizes = optarg; break;
		case 'r': runs = atoi(optarg); break;
		case 'd': dir = optarg; break;
		case 'k': keep = true; break;
		case 'c': src = optarg; break;
		case 't': reuse = keep = true; break;
		default:
			fprintf(stderr, "usage: bench_report [-s SIZES] [-r RUNS] [-d DIR] [-c SOURCE] [-k] [-t] STRAND\n");
			return 2;
		}
	}
	if (optind >= argc || runs < 1 || runs > 50) {
		fprintf(stderr, "usage: bench_report [-s SIZES] [-r RUNS] [-d DIR] [-c SOURCE] [-k] [-t] STRAND\n");
		return 2;
	}
	char *strand = argv[optind];
	char tmp[256];
	if (!dir) {
		snprintf(tmp, sizeof tmp, "/tmp/bench-report-XXXXXX");
		if (!mkdtemp(tmp)) {
			perror("mkdtemp");
			return 1;
		}
		dir = tmp;
	}
	char prog[512], out[512], cmd[2048];
	snprintf(prog, sizeof prog, "%s/longfail", dir);
	snprintf(out, sizeof out, "%s/out.txt", dir);
	snprintf(cmd, sizeof cmd, "cc -O1 -o '%s' '%s'", prog, src);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_report: cannot build %s\n", prog);
		return 1;
	}
	printf("load: ");
	fflush(stdout);
	(void)!system("uptime");
	printf("%-12s %9s %9s %7s %9s %9s %8s %9s %9s %-10s %s\n", "instructions", "replay_s",
	       "report_s", "ratio", "report_MB", "replay_MB", "origin_s", "calls_s", "user_x",
	       "found_by", "cause");
	char sizes_copy[256];
	snprintf(sizes_copy, sizeof sizes_copy, "%s", sizes);
	for (char *save = NULL, *tok = strtok_r(sizes_copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		double want = strtod(tok, NULL);
		/* about 10.2 instructions an iteration (measured on x86-64, gcc
		 * 12 -O1), 300k of startup: sizes are approximate */
		const double ipi = 10.2;
		uint64_t iters = want > 400000 ? (uint64_t)((want - 300000) / ipi) : 10000;
		char trace[512], its[32];
		snprintf(trace, sizeof trace, "%s/longfail-%s.strand", dir, tok);
		snprintf(its, sizeof its, "%" PRIu64, iters);
		char *rec[] = { strand, "record", "-o", trace, "--", prog, its, NULL };
		struct run rr = { .status = 1 << 8 };
		if (!reuse || access(trace, R_OK))
			rr = run(rec, out);
		/* strand record exits with the program's status: 1 here */
		if (!WIFEXITED(rr.status) || WEXITSTATUS(rr.status) != 1 || access(trace, R_OK)) {
			fprintf(stderr, "bench_report: recording %s failed (see %s)\n", trace, out);
			return 1;
		}
		double rep_w[50], rpt_w[50], rep_u = 0, rpt_u = 0;
		long rep_rss = 0, rpt_rss = 0;
		char report_out[600];
		snprintf(report_out, sizeof report_out, "%s/report.json", dir);
		for (int i = 0; i < runs; i++) {
			char *a[] = { strand, "replay", trace, NULL };
			char *b[] = { strand, "report", "-q", "--format", "json", trace, NULL };
			struct run x = run(a, out), y = run(b, report_out);
			rep_w[i] = x.wall;
			rpt_w[i] = y.wall;
			rep_u += x.user;
			rpt_u += y.user;
			rep_rss = x.rss_kb > rep_rss ? x.rss_kb : rep_rss;
			rpt_rss = y.rss_kb > rpt_rss ? y.rss_kb : rpt_rss;
		}
		char found[64], cause[64];
		json_str(report_out, "\"root_cause\"", "found_by", found, sizeof found);
		json_str(report_out, "\"root_cause\"", "syscall", cause, sizeof cause);
		double t_origin = -1, t_calls = -1;
		struct strand_query *q = NULL;
		strand_error err;
		struct strand_query_result res = { 0 };
		if (strand_query_open(trace, NULL, &q, &err) == STRAND_OK &&
		    strand_query_exec(q, "seek end", &res, &err) == STRAND_OK) {
			double t0 = now();
			if (strand_query_exec(q, "origin rdi", &res, &err) == STRAND_OK)
				t_origin = now() - t0;
			t0 = now();
			if (strand_query_exec(q, "calls longfail!mix", &res, &err) == STRAND_OK)
				t_calls = now() - t0;
		}
		if (t_origin < 0 || t_calls < 0)
			fprintf(stderr, "bench_report: query: %s\n", err.msg);
		strand_query_result_fini(&res);
		strand_query_free(q);
		double mrep = median(rep_w, runs), mrpt = median(rpt_w, runs);
		char fb[16];
		snprintf(fb, sizeof fb, "%.10s", found);
		printf("%-12s %9.2f %9.2f %7.2f %9.1f %9.1f %8.2f %9.2f %9.2f %-10s %s\n", tok, mrep,
		       mrpt, mrpt / mrep, rpt_rss / 1024.0, rep_rss / 1024.0, t_origin, t_calls,
		       rpt_u / (rep_u > 0 ? rep_u : 1), fb, cause);
		fflush(stdout);
		if (!keep)
			unlink(trace);
	}
	printf("load: ");
	fflush(stdout);
	(void)!system("uptime");
	if (!keep) {
		unlink(out);
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (dir == tmp)
			(void)!system(cmd);
	}
	return 0;
}
