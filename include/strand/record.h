/*
 * strand recorders: the entry points of the two recorders, for the CLI
 * and for programs that record through the library.
 *
 *  - strand_ptrace_record: a Linux x86-64 process tree under ptrace
 *    (docs/linux-recorder.md).  The trace it writes has ordinal positions;
 *    strand_finalize_positions (replay.h) turns it into a replayable one.
 *  - strand_winemu_record: a Windows x86 user-mode process in emulation from
 *    a scenario file (docs/winemu.md, docs/scenarios.md).
 *
 * Everything else of record/ is private to its recorder.
 */
#ifndef STRAND_RECORD_H
#define STRAND_RECORD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "strand/strand.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* Linux x86-64 processes under ptrace (record/ptrace)                   */
/* ===================================================================== */

struct strand_ptrace_options {
	const char *out_path;      /* trace to write (ordinal positions) */
	char *const *argv;         /* program and arguments; argv[0] looked up in PATH */
	uint32_t keyframe_every;   /* syscalls between key frames; 0 = 1000 */
	/* Set asynchronously (SIGINT handler) to stop recording: the tracee
	 * is killed and the trace closed at the last syscall boundary.  May
	 * be NULL. */
	volatile sig_atomic_t *interrupted;
	FILE *log;                 /* warnings ("unknown syscall ..."), or NULL */
	bool no_follow;            /* child processes run unrecorded (else each
				      is recorded into a trace embedded in this
				      one: docs/linux-recorder.md, "Process trees") */
};

/* What happened, for the CLI and the bench. */
struct strand_ptrace_result {
	int wait_status;           /* waitpid status of the tracee */
	bool signaled;             /* the tracee died of a signal */
	int exit_code;             /* exit status, or signal number if signaled */
	bool interrupted;          /* recording stopped by opt->interrupted */
	uint64_t syscalls;         /* SYSCALL records */
	uint64_t nondet;           /* NONDET records (rdtsc, cpuid) */
	uint64_t signals;          /* EXCEPTION records */
	uint64_t keyframes;
	uint64_t fallback_syscalls;/* captured by the snapshot-diff fallback */
	uint64_t children;         /* child processes released to run unrecorded */
	uint64_t processes;        /* child process traces embedded (direct children) */
	int exec_errno;            /* the program could not be executed: errno of
				      execvp (ENOENT: not found), else 0 */
	uint64_t mem_bytes;        /* bytes of kernel writes recorded */
};

/* Record `opt->argv` into `opt->out_path`.  On success the trace is
 * complete (ends with PROCESS_EXIT) whatever way the tracee ended.  On
 * error the tracee is killed and the file removed. */
strand_status strand_ptrace_record(const struct strand_ptrace_options *opt,
				   struct strand_ptrace_result *res,
				   strand_error *err);

/* ===================================================================== */
/* Windows x86 processes in emulation (record/winemu)                    */
/* ===================================================================== */

struct strand_winemu_options {
	const char *modules_dir; /* overrides the scenario's `modules`; NULL = use it */
	bool quiet;              /* no warnings on stderr (unknown syscalls, ends) */
	const char *system_dlls_dir; /* overrides the scenario's `system_dlls`; NULL = use it */
	const char *nls_dir;     /* overrides the scenario's `nls_dir`; NULL = use it */
	bool trace_syscalls;     /* one stderr line per system call served (diagnosis) */
	bool allow_host_files;   /* scenario file: data may come from outside its directory */
};

/* What a recording did, for the CLI's summary. */
struct strand_winemu_result {
	uint64_t instructions;  /* positions: instructions retired, all threads */
	uint64_t syscalls;      /* SYSCALL records */
	uint64_t records;       /* records written */
	uint64_t outputs;       /* OUTPUT records */
	uint32_t threads;       /* threads created, main included */
	uint32_t modules;       /* modules loaded */
	uint32_t exit_status;   /* process exit status (NTSTATUS / exit code) */
	uint32_t unknown_syscalls; /* services answered STATUS_NOT_IMPLEMENTED */
	char end_reason[64];    /* "exit", "deadlock", "instruction limit", "fault" */
};

/* Record the scenario at `scenario_path` into a new trace at `out_path`.
 * `opt` may be NULL; `res` may be NULL.  Deterministic: the same scenario
 * and modules give a byte-identical file.  On error the partial output is
 * removed and `err` says why (scenario line, PE field, guest fault...). */
strand_status strand_winemu_record(const char *scenario_path, const char *out_path,
				   const struct strand_winemu_options *opt,
				   struct strand_winemu_result *res, strand_error *err);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_RECORD_H */
