/*
 * strand replay [--json] [--show-output] [-q] TRACE: re-execute a whole
 * trace on the replay core and check it against the recording.
 *
 * Prints instructions, events applied, key frames checked, what else was
 * compared (syscalls, output bytes), whether the trace is complete (ends
 * with the process exit), wall time, instructions per second and the
 * verdict: "exact" when the end was reached with every check passing and
 * enough key frames for the trace's length (strand_replay_exactness);
 * "unverified" when the end was reached but too little was compared; else
 * the divergence (or budget) message.  --max-instructions / --max-memory
 * set the budgets (replay.h).
 * --show-output writes the program's recorded output (OUTPUT records) to
 * stdout/stderr as replay reaches it.  Exit status: 0 exact, 1 otherwise.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "cli/cli.h"
#include "strand/escape.h"
#include "strand/json.h"
#include "strand/replay.h"
#include "strand/trace.h"

struct replay_args {
	bool json, show_output, quiet;
	const char *path;
	uint64_t max_instructions, max_memory; /* 0 = defaults */
};

static void on_output(struct strand_replay *r, void *ud, const struct strand_record *rec,
		      bool after)
{
	(void)r;
	(void)ud;
	if (!after || rec->type != STRAND_REC_OUTPUT)
		return;
	FILE *f = rec->u.output.stream == 2 ? stderr : stdout;
	/* recorded bytes, untrusted: on a terminal, control sequences are
	 * shown (\x1b), not played; to a file or pipe they pass as recorded */
	if (isatty(fileno(f)))
		strand_fwrite_term(f, (const char *)rec->u.output.data, rec->u.output.len,
				   STRAND_ESC_KEEP_NEWLINES);
	else if (rec->u.output.len)
		fwrite(rec->u.output.data, 1, rec->u.output.len, f);
	fflush(f);
}

static int parse(int argc, char **argv, struct replay_args *a)
{
	memset(a, 0, sizeof *a);
	int rc;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "--json"))
			a->json = true;
		else if (!strcmp(s, "--show-output") || !strcmp(s, "--output-show"))
			a->show_output = true;
		else if (!strcmp(s, "-q") || !strcmp(s, "--quiet"))
			a->quiet = true;
		else if (!strcmp(s, "-h") || !strcmp(s, "--help"))
			return 3;
		else if ((rc = cli_budget_option("replay", a->json, argc, argv, &i,
						 &a->max_instructions, &a->max_memory)) != 0) {
			if (rc < 0)
				return -rc;
		}
		else if (s[0] == '-' && s[1])
			return cli_failf("replay", a->json, true, "unknown option '%s'", s);
		else if (a->path)
			return cli_failf("replay", a->json, true, "more than one trace given");
		else
			a->path = s;
	}
	if (!a->path)
		return cli_failf("replay", a->json, true, "no trace given");
	return 0;
}

/* The replay of one child process of the tree. */
struct kid_result {
	uint32_t pid, ppid;
	uint64_t instructions;
	bool exact;
	char verdict[STRAND_ERROR_MAX];  /* "exact (...)", "unverified: ...", "divergence: ..." */
};

struct kid_results {
	struct kid_result *v;
	size_t n;
	struct replay_args *a;
};

/* cli_tree_fn: replay child process p's trace at `kid` to its end. */
static strand_status replay_kid(const char *kid, const struct strand_process *p, int depth,
				void *ud, strand_error *err)
{
	(void)depth;
	(void)err;
	struct kid_results *k = ud;
	struct kid_result *t = realloc(k->v, (k->n + 1) * sizeof *t);
	if (!t)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	k->v = t;
	struct kid_result *res = &t[k->n++];
	memset(res, 0, sizeof *res);
	res->pid = p->pid;
	res->ppid = p->ppid;
	struct strand_replay_options opt = { 0 };
	opt.max_instructions = k->a->max_instructions;
	opt.max_memory = k->a->max_memory;
	struct strand_replay *r = NULL;
	strand_error e;
	strand_error_clear(&e);
	strand_status st = strand_replay_open(kid, &opt, &r, &e);
	if (st == STRAND_OK)
		st = strand_replay_seek(r, strand_replay_end(r), &e);
	char checked[512] = "";
	if (st == STRAND_OK) {
		res->exact = strand_replay_exactness(r, checked, sizeof checked);
		snprintf(res->verdict, sizeof res->verdict, "%s%s%s", res->exact ? "exact (" : "unverified: ",
			 checked, res->exact ? ")" : "");
	} else {
		snprintf(res->verdict, sizeof res->verdict, "%s: %s",
			 st == STRAND_ERR_DIVERGENCE ? "divergence" : strand_status_str(st), e.msg);
	}
	if (r) {
		struct strand_replay_stats s;
		strand_replay_get_stats(r, &s);
		res->instructions = s.instructions;
	}
	strand_replay_close(r);
	return STRAND_OK;
}

int cmd_replay(int argc, char **argv)
{
	struct replay_args a;
	int rc = parse(argc, argv, &a);
	if (rc == 3) {
		cli_usage(cli_find("replay"), stdout);
		return 0;
	}
	if (rc)
		return rc;
	bool progress = !a.json && cli_progress_enabled(a.quiet) && !a.show_output;
	struct strand_replay_options opt = { 0 };
	opt.max_instructions = a.max_instructions;
	opt.max_memory = a.max_memory;
	if (progress) {
		opt.progress = cli_progress;
		opt.progress_ud = (void *)"replay";
	}
	strand_error err;
	struct strand_replay *r = NULL;
	strand_status st = strand_replay_open(a.path, &opt, &r, &err);
	if (st != STRAND_OK)
		return cli_fail("replay", a.json, &err);
	const struct strand_trace_summary *sum =
		strand_reader_summary(strand_replay_reader(r));
	if (sum->truncated)
		fprintf(stderr, "strand replay: warning: %s is truncated (no footer); "
			"replaying its %u complete chunks\n", a.path, sum->nchunks);
	else if (!sum->complete)
		fprintf(stderr, "strand replay: warning: %s is an incomplete trace (it does "
			"not end with the process exit)\n", a.path);
	if (a.show_output)
		strand_replay_on_event(r, on_output, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	strand_error_clear(&err);
	st = strand_replay_seek(r, strand_replay_end(r), &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (progress)
		cli_progress_done();
	/* every child process of the tree, after the root */
	struct kid_results kids = { .a = &a };
	strand_error kerr;
	strand_error_clear(&kerr);
	strand_status kst = st == STRAND_OK ? strand_trace_walk(a.path, replay_kid, &kids, &kerr)
					    : STRAND_OK;
	bool kids_exact = kst == STRAND_OK;
	for (size_t i = 0; i < kids.n; i++)
		kids_exact = kids_exact && kids.v[i].exact;
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	struct strand_replay_stats s;
	strand_replay_get_stats(r, &s);
	/* "exact" only when the end was reached and enough was compared */
	char checked[512] = "";
	bool reached = st == STRAND_OK;
	bool exact = reached && strand_replay_exactness(r, checked, sizeof checked);
	bool complete = sum->complete && !sum->truncated;
	const char *verdict = exact ? "exact" : reached ? "unverified" : "divergence";
	char esc[4 * STRAND_ERROR_MAX];
	double ips = wall > 0 ? (double)s.instructions / wall : 0.0;
	if (a.json) {
		struct strand_json *j = strand_json_new(stdout, false);
		if (j) {
			strand_json_start_object(j);
			strand_json_string_field(j, "trace", a.path);
			strand_json_uint_field(j, "position", strand_replay_position(r));
			strand_json_uint_field(j, "end", strand_replay_end(r));
			strand_json_uint_field(j, "instructions", s.instructions);
			strand_json_uint_field(j, "events_applied", s.events_applied);
			strand_json_uint_field(j, "keyframes_checked", s.keyframes_checked);
			strand_json_uint_field(j, "checkpoints", s.checkpoints);
			strand_json_uint_field(j, "checkpoint_bytes", s.checkpoint_bytes);
			strand_json_double_field(j, "wall_seconds", wall);
			strand_json_double_field(j, "instructions_per_second", ips);
			strand_json_uint_field(j, "digests_checked", s.digests_checked);
			strand_json_uint_field(j, "syscalls_applied", s.syscalls_applied);
			strand_json_uint_field(j, "syscalls_checked", s.syscalls_checked);
			strand_json_uint_field(j, "outputs_applied", s.outputs_applied);
			strand_json_uint_field(j, "outputs_checked", s.outputs_checked);
			strand_json_uint_field(j, "output_bytes_checked", s.output_bytes_checked);
			strand_json_bool_field(j, "complete", complete);
			strand_json_string_field(j, "verdict", verdict);
			if (reached)
				strand_json_string_field(j, "checked", checked);
			if (!reached) {
				strand_json_string_field(j, "status", strand_status_str(st));
				strand_json_string_field(j, "message", err.msg);
			}
			if (kids.n || kst != STRAND_OK) {
				strand_json_name(j, "processes");
				strand_json_start_array(j);
				for (size_t i = 0; i < kids.n; i++) {
					strand_json_start_object(j);
					strand_json_uint_field(j, "pid", kids.v[i].pid);
					strand_json_uint_field(j, "ppid", kids.v[i].ppid);
					strand_json_uint_field(j, "instructions", kids.v[i].instructions);
					strand_json_bool_field(j, "exact", kids.v[i].exact);
					strand_json_string_field(j, "verdict", kids.v[i].verdict);
					strand_json_end_object(j);
				}
				strand_json_end_array(j);
				if (kst != STRAND_OK)
					strand_json_string_field(j, "processes_error", kerr.msg);
			}
			strand_json_end_object(j);
			strand_json_free(j);
			fputc('\n', stdout);
		}
	} else {
		printf("trace:              %s\n", a.path);
		printf("instructions:       %" PRIu64 "\n", s.instructions);
		printf("events applied:     %" PRIu64 "\n", s.events_applied);
		printf("key frames checked: %" PRIu64 "\n", s.keyframes_checked);
		printf("wall time:          %.3f s\n", wall);
		printf("instructions/s:     %.1f M\n", ips / 1e6);
		printf("syscalls compared:  %" PRIu64 " of %" PRIu64 "\n", s.syscalls_checked,
		       s.syscalls_applied);
		printf("outputs compared:   %" PRIu64 " of %" PRIu64 " (%" PRIu64 " bytes)\n",
		       s.outputs_checked, s.outputs_applied, s.output_bytes_checked);
		printf("completeness:       %s\n",
		       complete ? "complete (ends with the process exit)"
				: "incomplete (no process exit recorded)");
		if (exact)
			printf("verdict:            exact (%s)\n", checked);
		else if (reached)
			printf("verdict:            unverified: %s\n", checked);
		else
			printf("verdict:            %s: %s\n",
			       st == STRAND_ERR_DIVERGENCE ? "divergence" : strand_status_str(st),
			       cli_term(err.msg, esc, sizeof esc));
		if (kids.n || kst != STRAND_OK)
			printf("processes:          %zu children replayed, %s\n", kids.n,
			       kids_exact ? "every one exact" : "NOT every one exact");
		for (size_t i = 0; i < kids.n; i++)
			printf("  pid %-8u parent %-8u %12" PRIu64 " instructions  %s\n", kids.v[i].pid,
			       kids.v[i].ppid, kids.v[i].instructions,
			       cli_term(kids.v[i].verdict, esc, sizeof esc));
		if (kst != STRAND_OK)
			printf("  cannot read every child process trace: %s\n",
			       cli_term(kerr.msg, esc, sizeof esc));
	}
	free(kids.v);
	strand_replay_close(r);
	return exact && kids_exact ? 0 : 1;
}
