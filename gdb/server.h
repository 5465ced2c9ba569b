/*
 * strand gdbserver: one replay served to gdb over the Remote Serial
 * Protocol, with reverse execution (docs/gdb.md).
 *
 * gdb/rsp.c frames and parses packets; gdb/server.c says what they mean
 * against a query session (whose replay it moves, and whose commands
 * `monitor ...` runs); gdb/symfile.c writes the per-module symbol files
 * gdb loads as libraries.
 */
#ifndef STRAND_GDB_SERVER_H
#define STRAND_GDB_SERVER_H

#include <signal.h>
#include <stdbool.h>

#include "strand/query.h"

struct gdb_server_options {
	bool debug;           /* log packets to stderr */
	/* Set (by a signal handler, say) to end serving between packets;
	 * may be NULL. */
	volatile sig_atomic_t *quit;
	/* The trace file: a pass over it learns where each executed
	 * instruction's frame begins, for gdb's unwinder (gdb/cfi.c); NULL =
	 * none (gdb analyses prologues). */
	const char *trace;
	uint64_t cfi_max_insns; /* that pass's length; 0 = GDB_CFI_MAX_INSNS */
};

/* Instructions the frame-learning pass replays at most by default: past
 * them gdb analyses prologues (about a second per eight million). */
#define GDB_CFI_MAX_INSNS 50000000ull

/* Serve one gdb connection on in_fd/out_fd (borrowed) over `q` (borrowed;
 * its replay is moved).  Returns when gdb detaches, kills or closes the
 * connection (STRAND_OK), or on an I/O error.  Symbol files live in a
 * temporary directory removed before returning. */
strand_status gdb_serve(struct strand_query *q, int in_fd, int out_fd,
			const struct gdb_server_options *opt, strand_error *err);

#endif /* STRAND_GDB_SERVER_H */
