/*
 * strand index [--json] [-q] [--force] [--segment N] [--verify] [-j N] TRACE
 *
 * Build (or check and reuse) the sidecar index TRACE.sidx: one replay
 * pass, then whole-trace questions (calls, failed syscalls, where memory
 * changed, seeks from a cold start) no longer need one.  --verify then
 * re-executes the trace segment by segment on N cores (default: all) and
 * checks that the segments chain exactly: a parallel `strand replay`.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "strand/index.h"
#include "strand/json.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cmd_index(int argc, char **argv)
{
	bool json = false, quiet = false, force = false, verify = false;
	const char *path = NULL;
	uint64_t seglen = 0;
	unsigned jobs = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--json"))
			json = true;
		else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			quiet = true;
		else if (!strcmp(a, "--force"))
			force = true;
		else if (!strcmp(a, "--verify"))
			verify = true;
		else if ((!strcmp(a, "--segment") || !strcmp(a, "-j")) && i + 1 < argc) {
			char *end = NULL;
			unsigned long long v = strtoull(argv[++i], &end, 0);
			if (!end || *end || v == 0 || (a[1] == 'j' && v > 256))
				return cli_failf("index", json, true, "bad value '%s' for %s", argv[i], a);
			if (a[1] == 'j')
				jobs = (unsigned)v;
			else
				seglen = v;
		} else if (a[0] == '-' && a[1])
			return cli_failf("index", json, true, "unknown option '%s'", a);
		else if (path)
			return cli_failf("index", json, true, "more than one trace given");
		else
			path = a;
	}
	if (!path)
		return cli_failf("index", json, true, "no trace given");

	strand_error err;
	struct strand_index_options o = { .segment_length = seglen, .jobs = jobs };
	if (cli_progress_enabled(quiet || json)) {
		o.progress = cli_progress;
		o.progress_ud = (void *)"indexing";
	}
	struct strand_index *ix = NULL;
	bool built = false;
	double t0 = now_s();
	strand_status st;
	if (force || seglen) {
		st = strand_index_build(path, NULL, &o, &err);
		built = st == STRAND_OK;
		if (st == STRAND_OK)
			st = strand_index_open(path, NULL, &ix, &err);
	} else {
		st = strand_index_ensure(path, &o, &ix, &built, &err);
	}
	if (o.progress)
		cli_progress_done();
	if (st != STRAND_OK)
		return cli_fail("index", json, &err);
	double t_build = now_s() - t0;
	uint32_t nseg;
	const struct strand_index_segment *segs = strand_index_segments(ix, &nseg);
	uint64_t nev, calls = 0, pages = 0, failed = 0;
	const struct strand_index_event *ev = strand_index_events(ix, &nev);
	for (uint32_t i = 0; i < nseg; i++) {
		calls += segs[i].ncalls;
		pages += segs[i].npages;
	}
	for (uint64_t i = 0; i < nev; i++)
		failed += ev[i].type == STRAND_REC_SYSCALL && ev[i].failed;
	char side[4096];
	strand_index_path(path, side, sizeof side, NULL);

	struct strand_replay_stats vs = { 0 };
	double t_verify = 0;
	bool exact = false;
	char checked[256] = "";
	if (verify) {
		t0 = now_s();
		st = strand_index_verify(ix, jobs, &vs, &err);
		t_verify = now_s() - t0;
		if (st != STRAND_OK) {
			strand_index_close(ix);
			return cli_fail("index", json, &err);
		}
		/* exact only if enough was compared: the rule of `strand
		 * replay` (strand_replay_exactness), one key frame and one per
		 * 4096 kernel transitions */
		exact = vs.keyframes_checked >= 1 + vs.syscalls_applied / 4096;
		snprintf(checked, sizeof checked,
			 "%" PRIu64 " key frames, %" PRIu64 " digests, %" PRIu64 "/%" PRIu64
			 " syscalls, %" PRIu64 "/%" PRIu64 " outputs compared",
			 vs.keyframes_checked, vs.digests_checked, vs.syscalls_checked,
			 vs.syscalls_applied, vs.outputs_checked, vs.outputs_applied);
	}
	if (json) {
		struct strand_json *j = strand_json_new(stdout, false);
		if (j) {
			strand_json_start_object(j);
			strand_json_string_field(j, "trace", path);
			strand_json_string_field(j, "index", side);
			strand_json_bool_field(j, "built", built);
			strand_json_uint_field(j, "instructions", strand_index_end(ix));
			strand_json_uint_field(j, "segments", nseg);
			strand_json_uint_field(j, "events", nev);
			strand_json_uint_field(j, "failed_syscalls", failed);
			strand_json_uint_field(j, "calls", calls);
			strand_json_uint_field(j, "pages_changed", pages);
			if (verify) {
				strand_json_string_field(j, "verdict", exact ? "exact" : "unverified");
				strand_json_string_field(j, "checked", checked);
				strand_json_uint_field(j, "verified_instructions", vs.instructions);
			}
			strand_json_end_object(j);
			strand_json_free(j);
		}
	} else {
		printf("%s: %s %s, %" PRIu64 " instructions in %u segments, %" PRIu64
		       " events (%" PRIu64 " failed syscalls), %" PRIu64 " calls, %" PRIu64
		       " page changes%s\n",
		       side, built ? "built" : "up to date", path, strand_index_end(ix), nseg, nev,
		       failed, calls, pages, "");
		if (built)
			printf("built in %.2f s\n", t_build);
		if (verify)
			printf("verdict: %s (%s; %" PRIu64 " instructions re-executed segment by segment "
			       "in %.2f s)\n", exact ? "exact" : "unverified", checked, vs.instructions,
			       t_verify);
	}
	strand_index_close(ix);
	return verify && !exact ? 1 : 0;
}
