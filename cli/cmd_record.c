/*
 * strand record: record a Linux x86-64 process under ptrace.
 *
 *   strand record [-o FILE] [-q] [--raw] [--no-follow] [--keyframe-every N] -- PROGRAM [ARGS...]
 *
 * The recorder (record/ptrace/) writes a trace with ordinal positions to
 * FILE.raw; strand_finalize_positions() then replays it to give every event
 * its exact instruction position, into a temporary renamed to FILE (see
 * cli_out in cli.h: symlinks refused, devices written in place).  With
 * --raw the ordinal trace itself is kept as FILE (not replayable, but
 * `strand info` and `strand verify` read it).  Ctrl-C, SIGTERM and SIGHUP
 * stop the program and still leave a complete trace; if the recorder
 * itself dies (SIGKILL) or the disk fills, FILE.raw holds every chunk
 * written so far and `strand finalize FILE.raw` makes it replayable.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "strand/json.h"
#include "strand/record.h"
#include "strand/replay.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* SIGXFSZ: a no-op, so that a trace write past RLIMIT_FSIZE fails with
 * EFBIG (a one-line error, the partial .raw kept) instead of killing the
 * recorder.  A handler, not SIG_IGN: exec resets it, so the recorded
 * program keeps the disposition it would have had natively. */
static void on_sigxfsz(int sig)
{
	(void)sig;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Exit status of `strand record` (docs/linux-recorder.md, "Exit status"):
 * the program's own, or one of these when the recorder failed. */
enum {
	RECORD_EXIT_FINALIZE = 124,  /* recorded, but the finalizing replay failed */
	RECORD_EXIT_FAILED = 125,    /* bad usage, or recording failed: no trace */
	RECORD_EXIT_CANNOT_EXEC = 126, /* the program cannot be executed */
	RECORD_EXIT_NOT_FOUND = 127, /* the program was not found */
	RECORD_EXIT_INTERRUPTED = 130, /* stopped by Ctrl-C / SIGTERM / SIGHUP */
};

/* The program's status as a shell shows it: its exit status, or 128 + N
 * for a death by signal N. */
static int program_status(const struct strand_ptrace_result *res)
{
	if (res->interrupted)
		return RECORD_EXIT_INTERRUPTED;
	return res->signaled ? 128 + res->exit_code : res->exit_code;
}

/* Progress of the finalizing replay on a terminal: phase, events placed
 * of all, rate and time left.  `ud` is a struct finalize_progress. */
struct finalize_progress {
	struct timespec start;
	bool shown;
};

static void on_finalize_progress(void *ud, uint64_t done, uint64_t total)
{
	struct finalize_progress *p = ud;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double el = (double)(now.tv_sec - p->start.tv_sec) +
		    (double)(now.tv_nsec - p->start.tv_nsec) * 1e-9;
	if (el < 0.5)
		return; /* short runs draw nothing */
	double rate = el > 0 ? (double)done / el : 0;
	double left = rate > 0 && total > done ? (double)(total - done) / rate : 0;
	fprintf(stderr, "\rstrand record: finalizing: %" PRIu64 " / %" PRIu64 " events (%4.1f%%), "
		"%.0f events/s, %.0f s left\033[K", done, total,
		total ? 100.0 * (double)done / (double)total : 100.0, rate, left);
	fflush(stderr);
	p->shown = true;
}

static int record_main(int argc, char **argv, bool *program_status_rc);

int cmd_record(int argc, char **argv)
{
	bool program_rc = false;
	int rc = record_main(argc, argv, &program_rc);
	/* the CLI's usual 1 (failure) and 2 (usage) could be the program's
	 * own statuses here */
	if (!program_rc && (rc == 1 || rc == 2))
		rc = RECORD_EXIT_FAILED;
	return rc;
}

/* cmd_record; *program_status_rc is set when the result is the program's
 * status rather than the recorder's. */
static int record_main(int argc, char **argv, bool *program_status_rc)
{
	const char *out = NULL;
	bool quiet = false, raw = false, json = false, no_follow = false;
	uint32_t every = 0;
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
			quiet = true;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--raw")) {
			raw = true;
		} else if (!strcmp(argv[i], "--no-follow")) {
			no_follow = true;
		} else if (!strcmp(argv[i], "--keyframe-every") && i + 1 < argc) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (*end || v == 0 || v > 1000000000ul)
				return cli_failf("record", false, true, "bad --keyframe-every '%s'", argv[i]);
			every = (uint32_t)v;
		} else if (argv[i][0] == '-') {
			return cli_failf("record", false, true, "unknown option '%s'", argv[i]);
		} else {
			break; /* PROGRAM without "--" */
		}
	}
	if (i >= argc)
		return cli_failf("record", false, true, "no program to record");

	char defout[512];
	if (!out) {
		snprintf(defout, sizeof defout, "%s.strand", base_name(argv[i]));
		out = defout;
	}
	/* the trace goes through cli_out (cli.h): a symlink or directory is
	 * refused, a device is written in place, the temporary is exclusive;
	 * the ordinal trace is OUT.raw (kept when recording or finalizing
	 * fails: `strand finalize OUT.raw`), or a temporary when OUT is not a
	 * regular file */
	struct cli_out o;
	strand_error oerr;
	if (cli_out_begin(&o, out, "record", &oerr) != STRAND_OK)
		return cli_fail("record", json, &oerr);
	char *rawpath = NULL;
	if (cli_raw_begin(&o, &rawpath, &oerr) != STRAND_OK) {
		cli_out_abort(&o);
		return cli_fail("record", json, &oerr);
	}
	const char *tmppath = cli_out_path(&o);

	struct sigaction sa, old_int, old_term, old_hup;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint; /* no SA_RESTART: waitpid returns EINTR */
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup); /* a closed terminal still leaves a trace */
	struct sigaction xfsz;
	if (sigaction(SIGXFSZ, NULL, &xfsz) == 0 && xfsz.sa_handler != SIG_IGN) {
		xfsz.sa_handler = on_sigxfsz;
		sigemptyset(&xfsz.sa_mask);
		xfsz.sa_flags = SA_RESTART;
		sigaction(SIGXFSZ, &xfsz, NULL); /* kept until the command ends (finalize writes too) */
	}

	struct strand_ptrace_options opt = {
		.out_path = rawpath,
		.argv = argv + i,
		.keyframe_every = every,
		.interrupted = &interrupted,
		.log = quiet ? NULL : stderr,
		.no_follow = no_follow,
	};
	struct strand_ptrace_result res;
	strand_error err;
	strand_error_clear(&err);
	strand_status st = strand_ptrace_record(&opt, &res, &err);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	int rc = RECORD_EXIT_FAILED;
	if (st != STRAND_OK) {
		if (res.exec_errno)
			rc = res.exec_errno == ENOENT ? RECORD_EXIT_NOT_FOUND : RECORD_EXIT_CANNOT_EXEC;
		if (access(rawpath, F_OK) == 0)
			strand_error_wrap(&err, st, "partial trace kept in %s ('strand finalize %s')",
					  rawpath, rawpath);
		cli_fail("record", json, &err);
		goto out;
	}
	if (raw) {
		/* the ordinal trace itself is the output */
		st = cli_raw_commit(&o, rawpath, &err);
	} else {
		struct finalize_progress fp = { .shown = false };
		clock_gettime(CLOCK_MONOTONIC, &fp.start);
		bool show = !json && cli_progress_enabled(quiet);
		st = strand_finalize_tree_progress(rawpath, tmppath,
							show ? on_finalize_progress : NULL, &fp, &err);
		if (fp.shown)
			cli_progress_done();
		if (st != STRAND_OK) {
			strand_error_wrap(&err, st, "cannot finalize positions (ordinal trace kept in %s)",
					  rawpath);
			rc = RECORD_EXIT_FINALIZE;
		}
		else if ((st = cli_out_commit(&o, &err)) == STRAND_OK)
			unlink(rawpath);
	}
	if (st != STRAND_OK) {
		cli_fail("record", json, &err);
		goto out;
	}
	if (json) {
		struct strand_json *j = strand_json_new(stdout, false);
		if (j) {
			strand_json_start_object(j);
			strand_json_string_field(j, "trace", out);
			strand_json_bool_field(j, "finalized", !raw);
			strand_json_int_field(j, "exit_code", res.exit_code);
			strand_json_bool_field(j, "signaled", res.signaled);
			strand_json_bool_field(j, "interrupted", res.interrupted);
			strand_json_uint_field(j, "syscalls", res.syscalls);
			strand_json_uint_field(j, "nondet", res.nondet);
			strand_json_uint_field(j, "signals", res.signals);
			strand_json_uint_field(j, "keyframes", res.keyframes);
			strand_json_uint_field(j, "snapshot_diff_syscalls", res.fallback_syscalls);
			strand_json_uint_field(j, "child_processes", res.processes);
			strand_json_end_object(j);
			strand_json_free(j);
		}
	} else if (!quiet) {
		if (res.signaled)
			fprintf(stderr, "strand record: %s: program killed by signal %d%s\n", out,
				res.exit_code, res.interrupted ? " (interrupted)" : "");
		else
			fprintf(stderr, "strand record: %s: program exited with status %d\n", out,
				res.exit_code);
		fprintf(stderr, "strand record: %" PRIu64 " syscalls, %" PRIu64 " nondet, %" PRIu64
			" signals, %" PRIu64 " key frames, %" PRIu64 " by snapshot-diff\n",
			res.syscalls, res.nondet, res.signals, res.keyframes, res.fallback_syscalls);
		if (res.processes)
			fprintf(stderr, "strand record: %" PRIu64 " child process trace%s embedded "
				"('strand info' shows the tree)\n", res.processes,
				res.processes == 1 ? "" : "s");
	}
	rc = program_status(&res);
	*program_status_rc = true;
out:
	cli_out_abort(&o);
	free(rawpath);
	return rc;
}
