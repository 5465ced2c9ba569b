/*
 * bench_query: `memory ADDR LEN` and cold seeks on one (recorded) trace,
 * with and without its sidecar index, side by side in one run.  Results
 * go into bench/README.md ("Queries on a recorded program").
 *
 *   bench_query TRACE ADDR LEN [SEEKS]
 *
 * Unindexed: a copy of TRACE in a temporary directory, opened with
 * strand_replay_open + strand_query_new (no sidecar, none built).
 * Indexed: strand_query_open(TRACE), which uses TRACE.sidx (built first if
 * missing).  Both answers' JSON must be equal (the "indexed" field
 * aside); the bench says so.  Times: process CPU (user + system) and
 * wall; the machine is shared, so quote `uptime` with them.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "strand/index.h"
#include "strand/query.h"
#include "strand/replay.h"

static double clk(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const strand_error *e)
{
	fprintf(stderr, "bench_query: %s: %s\n", what, e ? e->msg : "failed");
	exit(1);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The JSON of `cmd` on q, "indexed" field cut out (malloc'd). */
static char *answer(struct strand_query *q, const char *cmd, double *cpu, double *wall)
{
	strand_error err;
	struct strand_query_result res = { 0 };
	double c0 = clk(CLOCK_PROCESS_CPUTIME_ID), w0 = clk(CLOCK_MONOTONIC);
	if (strand_query_exec(q, cmd, &res, &err) < 0)
		die(cmd, &err);
	*cpu = clk(CLOCK_PROCESS_CPUTIME_ID) - c0;
	*wall = clk(CLOCK_MONOTONIC) - w0;
	char *j = strdup(res.json), *f;
	if ((f = strstr(j, ",\"indexed\":true")))
		memmove(f, f + 15, strlen(f + 15) + 1);
	else if ((f = strstr(j, ",\"indexed\":false")))
		memmove(f, f + 16, strlen(f + 16) + 1);
	strand_query_result_fini(&res);
	return j;
}

static struct strand_query *plain_session(const char *copy)
{
	strand_error err;
	struct strand_replay *r = NULL;
	struct strand_query *q = NULL;
	struct strand_query_options qo = { .trace_path = copy };
	if (strand_replay_open(copy, NULL, &r, &err) != STRAND_OK ||
	    strand_query_new(r, &qo, &q, &err) != STRAND_OK)
		die("open", &err);
	return q; /* the replay is freed by the caller */
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_query TRACE ADDR LEN [SEEKS]\n");
		return 2;
	}
	const char *trace = argv[1];
	int nseeks = argc > 4 ? atoi(argv[4]) : 30;
	setvbuf(stdout, NULL, _IOLBF, 0);
	char dir[] = "/tmp/bench-query-XXXXXX", copy[300], cmd[300];
	if (!mkdtemp(dir))
		die("mkdtemp", NULL);
	snprintf(copy, sizeof copy, "%s/plain.strand", dir);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", trace, copy);
	if (system(cmd) != 0)
		die("cp", NULL);
	strand_error err;
	struct strand_index *ix = NULL;
	if (strand_index_ensure(trace, NULL, &ix, NULL, &err) != STRAND_OK)
		die("index", &err);
	uint64_t end = strand_index_end(ix);
	strand_index_close(ix);
	printf("trace: %s, %" PRIu64 " instructions\n", trace, end);
	snprintf(cmd, sizeof cmd, "memory %s %s", argv[2], argv[3]);

	/* memory */
	double cu, wu, ci, wi;
	struct strand_query *qp = plain_session(copy);
	char *ju = answer(qp, cmd, &cu, &wu);
	struct strand_replay *rp = strand_query_replay(qp);
	strand_query_free(qp);
	strand_replay_close(rp);
	struct strand_query *qi = NULL;
	if (strand_query_open(trace, NULL, &qi, &err) != STRAND_OK)
		die("open", &err);
	char *ji = answer(qi, cmd, &ci, &wi);
	strand_query_free(qi);
	const char *c = strstr(ji, "\"count\":");
	printf("(m) %s: unindexed %.2f s CPU / %.2f s wall; indexed %.3f s CPU / %.2f s wall "
	       "(%.0fx CPU); answers %s, %.*s\n", cmd, cu, wu, ci, wi, cu / ci,
	       strcmp(ju, ji) ? "DIFFER" : "equal", c ? (int)strcspn(c, ",}") : 0, c ? c : "");
	free(ju);
	free(ji);

	/* cold seeks: a fresh session each time (open + attach + seek) */
	double *sc = calloc((size_t)nseeks, sizeof *sc), *sw = calloc((size_t)nseeks, sizeof *sw);
	srand(42);
	for (int i = 0; i < nseeks; i++) {
		double c0 = clk(CLOCK_PROCESS_CPUTIME_ID), w0 = clk(CLOCK_MONOTONIC);
		if (strand_query_open(trace, NULL, &qi, &err) != STRAND_OK)
			die("open", &err);
		snprintf(cmd, sizeof cmd, "seek %" PRIu64, (uint64_t)rand() % end);
		struct strand_query_result res = { 0 };
		if (strand_query_exec(qi, cmd, &res, &err) < 0)
			die(cmd, &err);
		sc[i] = clk(CLOCK_PROCESS_CPUTIME_ID) - c0;
		sw[i] = clk(CLOCK_MONOTONIC) - w0;
		strand_query_result_fini(&res);
		strand_query_free(qi);
	}
	qsort(sc, (size_t)nseeks, sizeof *sc, cmp_d);
	qsort(sw, (size_t)nseeks, sizeof *sw, cmp_d);
	/* unindexed: one seek to the middle, replayed from the snapshot */
	qp = plain_session(copy);
	snprintf(cmd, sizeof cmd, "seek %" PRIu64, end / 2);
	free(answer(qp, cmd, &cu, &wu));
	rp = strand_query_replay(qp);
	strand_query_free(qp);
	strand_replay_close(rp);
	printf("(s) cold seek (open + seek): unindexed (to the middle) %.2f s CPU / %.2f s wall; "
	       "indexed median %.1f ms CPU (p90 %.1f), wall median %.1f ms (p90 %.1f) over %d seeks\n",
	       cu, wu, sc[nseeks / 2] * 1e3, sc[nseeks * 9 / 10] * 1e3, sw[nseeks / 2] * 1e3,
	       sw[nseeks * 9 / 10] * 1e3, nseeks);
	free(sc);
	free(sw);
	unlink(copy);
	rmdir(dir);
	return 0;
}
