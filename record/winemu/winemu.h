/*
 * strand winemu: record a Windows Server 2003 SP2 x86 user-mode process in
 * emulation (Unicorn) from a scenario file.  See docs/winemu.md for what
 * the environment models and docs/scenarios.md for the scenario format.
 *
 * This is the entry point the CLI (`strand record-win`) uses; the rest of
 * record/winemu/ is private (winemu_int.h).
 */
#ifndef STRAND_RECORD_WINEMU_H
#define STRAND_RECORD_WINEMU_H

#include <stdbool.h>
#include <stdint.h>

#include "strand/strand.h"

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

#endif
