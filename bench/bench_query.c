/*
 * bench_query: whole-trace questions and seeks on one (recorded) trace,
 * with and without its sidecar index, side by side in one run.  Results
 * go into bench/README.md ("Queries on a 10^9-instruction recorded
 * program"); bench/scale.sh drives it.
 *
 *   bench_query [-s SEEKS] [-c COLD] [-u] TRACE [CMDS ...]
 *
 * Each CMDS ("cmd; cmd; ...", e.g. "seek end; origin rdi") is answered
 * twice, each time in a fresh session and timed from the open on (so an
 * unindexed session's event list, read at open, counts):
 *   unindexed  a copy of TRACE in a temporary directory, opened with
 *              strand_replay_open + strand_query_new (no sidecar, none
 *              built);
 *   indexed    strand_query_open(TRACE), which uses TRACE.sidx (built
 *              first, untimed, if missing).
 * The last command's JSON must be the same in both (the fields saying
 * what was logged, skipped or indexed aside); the bench says so.
 *
 * Seeks: SEEKS random positions in one indexed session (the interactive
 * case: median and p90 of each seek), COLD fresh indexed sessions (open +
 * attach + seek), and one unindexed seek to the middle in a fresh
 * session.  -u skips the unindexed runs (indexed figures only).
 *
 * Times: process CPU (user + system) and wall; the machine is shared, so
 * quote `uptime` with them.
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

/* Cut ,"NAME":VALUE (a number or a boolean) out of a JSON text. */
static void cut_field(char *j, const char *name)
{
	char key[64];
	snprintf(key, sizeof key, ",\"%s\":", name);
	char *f = strstr(j, key);
	if (!f)
		return;
	char *e = f + strlen(key);
	while (*e && *e != ',' && *e != '}')
		e++;
	memmove(f, e, strlen(e) + 1);
}

static struct strand_query *open_session(const char *trace, bool indexed)
{
	strand_error err;
	struct strand_query *q = NULL;
	if (indexed) {
		if (strand_query_open(trace, NULL, &q, &err) != STRAND_OK)
			die("open", &err);
		return q;
	}
	struct strand_replay *r = NULL;
	struct strand_query_options qo = { .trace_path = trace };
	if (strand_replay_open(trace, NULL, &r, &err) != STRAND_OK ||
	    strand_query_new(r, &qo, &q, &err) != STRAND_OK)
		die("open", &err);
	return q;
}

static void close_session(struct strand_query *q, bool indexed)
{
	struct strand_replay *r = indexed ? NULL : strand_query_replay(q);
	strand_query_free(q);
	strand_replay_close(r);
}

/* Open a session and run "cmd; cmd; ...": the last command's JSON
 * (malloc'd, fields about the method cut out) and *skipped its
 * "instructions_skipped" if any. */
static char *run(const char *trace, bool indexed, const char *cmds, double *cpu, double *wall,
		 char *note, size_t notelen)
{
	double c0 = clk(CLOCK_PROCESS_CPUTIME_ID), w0 = clk(CLOCK_MONOTONIC);
	struct strand_query *q = open_session(trace, indexed);
	char *copy = strdup(cmds), *save = NULL, *last = NULL;
	for (char *c = strtok_r(copy, ";", &save); c; c = strtok_r(NULL, ";", &save)) {
		while (*c == ' ')
			c++;
		strand_error err;
		struct strand_query_result res = { 0 };
		if (strand_query_exec(q, c, &res, &err) < 0)
			die(c, &err);
		free(last);
		last = strdup(res.json);
		strand_query_result_fini(&res);
	}
	*cpu = clk(CLOCK_PROCESS_CPUTIME_ID) - c0;
	*wall = clk(CLOCK_MONOTONIC) - w0;
	close_session(q, indexed);
	free(copy);
	note[0] = 0;
	const char *f;
	size_t at = 0;
	static const char *const shown[] = { "\"count\":", "\"windows\":", "\"instructions_logged\":",
					     "\"instructions_skipped\":", "\"found_by\":", NULL };
	for (int i = 0; shown[i]; i++)
		if ((f = strstr(last, shown[i])) && at < notelen)
			at += (size_t)snprintf(note + at, notelen - at, "%s%.*s", at ? " " : "",
					       (int)strcspn(f, ",}"), f);
	static const char *const cut[] = { "indexed", "windows", "instructions_logged",
					   "instructions_skipped", "jobs", NULL };
	for (int i = 0; cut[i]; i++)
		cut_field(last, cut[i]);
	return last;
}

static void seek_stats(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	printf("%s: median %.1f ms, p90 %.1f ms, max %.1f ms (%d seeks)\n", what, v[n / 2] * 1e3,
	       v[n * 9 / 10] * 1e3, v[n - 1] * 1e3, n);
}

int main(int argc, char **argv)
{
	int nseeks = 200, ncold = 20, opt;
	bool no_plain = false;
	while ((opt = getopt(argc, argv, "s:c:u")) != -1) {
		if (opt == 's')
			nseeks = atoi(optarg);
		else if (opt == 'c')
			ncold = atoi(optarg);
		else if (opt == 'u')
			no_plain = true;
		else
			return 2;
	}
	if (optind >= argc || nseeks < 1 || ncold < 1) {
		fprintf(stderr, "usage: bench_query [-s SEEKS] [-c COLD] [-u] TRACE [CMDS ...]\n");
		return 2;
	}
	const char *trace = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);
	char dir[] = "/tmp/bench-query-XXXXXX", copy[300], cmd[600];
	if (!mkdtemp(dir))
		die("mkdtemp", NULL);
	snprintf(copy, sizeof copy, "%s/plain.strand", dir);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", trace, copy);
	if (!no_plain && system(cmd) != 0)
		die("cp", NULL);
	strand_error err;
	struct strand_index *ix = NULL;
	bool built = false;
	if (strand_index_ensure(trace, NULL, &ix, &built, &err) != STRAND_OK)
		die("index", &err);
	uint64_t end = strand_index_end(ix);
	uint32_t nseg;
	strand_index_segments(ix, &nseg);
	strand_index_close(ix);
	printf("trace: %s, %" PRIu64 " instructions, %u segments%s\n", trace, end, nseg,
	       built ? " (index built now)" : "");

	for (int a = optind + 1; a < argc; a++) {
		double cu = 0, wu = 0, ci, wi;
		char nu[256] = "", ni[256];
		char *ju = no_plain ? NULL : run(copy, false, argv[a], &cu, &wu, nu, sizeof nu);
		char *ji = run(trace, true, argv[a], &ci, &wi, ni, sizeof ni);
		if (no_plain)
			printf("[%s] indexed %.3f s CPU / %.2f s wall {%s}\n", argv[a], ci, wi, ni);
		else
			printf("[%s] unindexed %.2f s CPU / %.2f s wall {%s}; indexed %.3f s CPU / "
			       "%.2f s wall {%s}; %.0fx CPU, %.0fx wall; answers %s\n",
			       argv[a], cu, wu, nu, ci, wi, ni, cu / ci, wu / wi,
			       strcmp(ju, ji) ? "DIFFER" : "equal");
		if (ju && strcmp(ju, ji))
			printf("  unindexed: %.400s\n  indexed:   %.400s\n", ju, ji);
		free(ju);
		free(ji);
	}

	/* seeks in one indexed session (the interactive case) */
	double *sw = calloc((size_t)(nseeks > ncold ? nseeks : ncold), sizeof *sw);
	double *sc = calloc((size_t)(nseeks > ncold ? nseeks : ncold), sizeof *sc);
	srand(42);
	struct strand_query *q = open_session(trace, true);
	for (int i = 0; i < nseeks; i++) {
		snprintf(cmd, sizeof cmd, "seek %" PRIu64, (uint64_t)rand() % end);
		double c0 = clk(CLOCK_THREAD_CPUTIME_ID), w0 = clk(CLOCK_MONOTONIC);
		struct strand_query_result res = { 0 };
		if (strand_query_exec(q, cmd, &res, &err) < 0)
			die(cmd, &err);
		sw[i] = clk(CLOCK_MONOTONIC) - w0;
		sc[i] = clk(CLOCK_THREAD_CPUTIME_ID) - c0;
		strand_query_result_fini(&res);
	}
	close_session(q, true);
	seek_stats("(s) seek in an indexed session, wall", sw, nseeks);
	seek_stats("(s) seek in an indexed session, CPU", sc, nseeks);
	/* cold: a fresh session each time (open + attach + seek) */
	for (int i = 0; i < ncold; i++) {
		double c0 = clk(CLOCK_PROCESS_CPUTIME_ID), w0 = clk(CLOCK_MONOTONIC);
		q = open_session(trace, true);
		snprintf(cmd, sizeof cmd, "seek %" PRIu64, (uint64_t)rand() % end);
		struct strand_query_result res = { 0 };
		if (strand_query_exec(q, cmd, &res, &err) < 0)
			die(cmd, &err);
		strand_query_result_fini(&res);
		close_session(q, true);
		sw[i] = clk(CLOCK_MONOTONIC) - w0;
		sc[i] = clk(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	seek_stats("(s) cold seek (fresh indexed session: open + attach + seek), wall", sw, ncold);
	seek_stats("(s) cold seek (fresh indexed session: open + attach + seek), CPU", sc, ncold);
	if (!no_plain) {
		double cu, wu;
		char nu[256];
		snprintf(cmd, sizeof cmd, "seek %" PRIu64, end / 2);
		free(run(copy, false, cmd, &cu, &wu, nu, sizeof nu));
		printf("(s) unindexed seek to the middle (fresh session, from the snapshot): "
		       "%.2f s CPU / %.2f s wall\n", cu, wu);
	}
	free(sc);
	free(sw);
	unlink(copy);
	rmdir(dir);
	return 0;
}
