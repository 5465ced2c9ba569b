/*
 * strand query: a step-and-query session over a replay, driven by command
 * lines ("seek event syscall", "mem u32 esp 4", "calls httpapi!HttpInitialize").
 *
 * Every command produces two renderings of the same result: a human one
 * (text, several lines) and a machine one (exactly one JSON object, one
 * line: JSON Lines when commands follow each other).  The command language
 * and the JSON schema are documented in docs/query.md; `strand query`
 * (cli/cmd_query.c) is a thin layer over this header.
 *
 * Model.  A session borrows (or owns) one strand_replay handle and keeps:
 * the current position (the replay's), the stops (breakpoints and
 * watchpoints, the replay's), an index of the trace's events (built once
 * from a separate reader so that it never disturbs replay), and the
 * number of the script line being run (for error reports).
 *
 * Threading: a session is not thread-safe; two sessions are independent.
 *
 * Version history of this API:
 *   1  first version (strand 0.1.0)
 */
#ifndef STRAND_QUERY_H
#define STRAND_QUERY_H

#include <signal.h>

#include "strand/replay.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STRAND_QUERY_API_VERSION 1
/* Version of the JSON objects strand_query_exec produces ("schema" field
 * is not repeated per object; docs/query.md lists the fields). */
#define STRAND_QUERY_SCHEMA_VERSION 1

/* ===================================================================== */
/* Types                                                                  */
/* ===================================================================== */

struct strand_query;

struct strand_query_options {
	/* Trace file to index events from (a fresh reader, independent of
	 * the replay's).  NULL: no event index; `seek event N`, `events`
	 * and `syscalls` then fail with STRAND_ERR_UNSUPPORTED. */
	const char *trace_path;
	/* Upper bound on rows a whole-trace query prints; 0 = 1000. */
	uint32_t max_rows;
};

/* What one command produced.  Filled by strand_query_exec (even when the
 * command failed: then `json` holds the error object and `text` is empty).
 * Caller-owned struct; the buffers are owned by it and freed by
 * strand_query_result_fini. */
struct strand_query_result {
	strand_status status; /* what the command returned: STRAND_OK,
				 STRAND_END (motion reached the start/end),
				 STRAND_STOPPED (a stop was hit), or < 0 */
	char *text;           /* human rendering, NUL-terminated, "" if none */
	size_t text_len;      /* bytes of text, without the NUL */
	char *json;           /* one JSON object + "\n", NUL-terminated */
	size_t json_len;      /* bytes of json, without the NUL */
	bool quit;            /* the command was `quit` */
};

/* ===================================================================== */
/* Sessions                                                               */
/* ===================================================================== */

/* New session over `r` (borrowed: it must outlive the session, and the
 * caller must not move it while the session is in use).  `opt` may be
 * NULL.  *out is owned by the caller (strand_query_free). */
strand_status strand_query_new(struct strand_replay *r,
			       const struct strand_query_options *opt,
			       struct strand_query **out, strand_error *err);

/* Open `path` for replay (with `ropt`, may be NULL) and make a session
 * that owns the replay and indexes that file.  *out: strand_query_free. */
strand_status strand_query_open(const char *path,
				const struct strand_replay_options *ropt,
				struct strand_query **out, strand_error *err);

/* Free the session (and the replay if it owns it).  q may be NULL. */
void strand_query_free(struct strand_query *q);

/* The replay the session moves (borrowed, valid until strand_query_free). */
struct strand_replay *strand_query_replay(struct strand_query *q);

/* Name of the script and line of the next commands, for error messages and
 * the "line" field of the JSON objects.  `source` is copied; NULL or
 * line 0 = not from a script. */
void strand_query_set_source(struct strand_query *q, const char *source,
			     unsigned line);

/* ===================================================================== */
/* Running commands                                                       */
/* ===================================================================== */

/* Run one command line (no ';' splitting here: see
 * strand_query_split).  An empty or comment-only line is STRAND_OK with
 * an empty text and no JSON.  On failure returns the error status, fills
 * `err` ("mem: cannot evaluate 'zz': unknown register or symbol") and
 * res->json with the JSON error object.  `res` must be initialised to
 * zero or by a previous call (its buffers are reused and replaced); free
 * them with strand_query_result_fini. */
strand_status strand_query_exec(struct strand_query *q, const char *line,
				struct strand_query_result *res,
				strand_error *err);

/* Free the buffers of `res` and zero it.  res may be NULL. */
void strand_query_result_fini(struct strand_query_result *res);

/* Split `line` into commands at ';' outside quotes, brackets and
 * parentheses; a '#' at the start of a word begins a comment that runs to
 * the end of the line.  Calls `cb` once per non-empty command with a
 * NUL-terminated copy (valid during the call).  Stops at the first
 * callback that returns non-zero and returns that value, else 0. */
int strand_query_split(const char *line,
		       int (*cb)(void *ud, const char *cmd), void *ud);

/* Let `flag` (set by a SIGINT handler, say) interrupt commands:
 * continue/rcontinue, step/back/next/prev with counts stop within a
 * slice of instructions, say "interrupted" and clear the flag; the
 * whole-trace passes of calls, memory, find and the syscall objects stop
 * likewise and show what they found before the position they reached,
 * marked "interrupted" (text and JSON).  bt, origin and report are not
 * interrupted.  NULL (the default) = not interruptible. */
void strand_query_set_interrupt(struct strand_query *q, volatile sig_atomic_t *flag);

/* The same through a callback, polled between slices (a connection
 * watched for an interrupt byte, say): `cancel(ud)` returns true to
 * interrupt.  NULL = none.  Either this or the flag interrupts. */
void strand_query_set_cancel(struct strand_query *q, bool (*cancel)(void *ud), void *ud);

/* True if `line` is one motion command (step, next, continue, ... in any
 * spelling), which an interactive session repeats on an empty line. */
bool strand_query_is_motion(const char *line);

/* The prompt for interactive use: "strand 1234 t1 ntdll!KiFastSystemCall> "
 * (position, thread, symbolized pc).  Always NUL-terminated. */
void strand_query_prompt(struct strand_query *q, char *buf, size_t len);

/* Completion candidates for `word`: command names when `first` (the word
 * is the command), else registers, symbols ("module!name") and keywords.
 * Calls `emit` once per candidate that starts with `word`. */
void strand_query_complete(struct strand_query *q, const char *word, bool first,
			   void (*emit)(void *ud, const char *cand), void *ud);

/* ===================================================================== */
/* The same operations as C functions                                     */
/* ===================================================================== */

/* Evaluate an expression at the current position: numbers (0x1f, 31),
 * registers (eax, @eax), symbols (module!name, name) with offsets,
 * [expr] (pointer-sized read), unary - ~, and * / % + - << >> & ^ | with
 * C precedence and parentheses. */
strand_status strand_query_eval(struct strand_query *q, const char *expr,
				uint64_t *val, strand_error *err);

/* One event of the trace, from the session's index. */
struct strand_query_event {
	uint64_t index;     /* 0-based among events (records after the snapshot) */
	uint64_t position;
	uint32_t type;      /* strand_rec_type */
	uint32_t tid;
	uint64_t pc;        /* SYSCALL, NONDET, EXCEPTION: pc; else 0 */
	uint64_t number;    /* SYSCALL: number; EXCEPTION: code; exits: code */
	uint64_t result;    /* SYSCALL: raw result */
	uint64_t args[4];   /* SYSCALL: first arguments */
	bool failed;        /* SYSCALL: NTSTATUS error / -errno; EXCEPTION */
};

/* The event index (borrowed, valid until strand_query_free); *n gets the
 * count.  NULL with *n = 0 if the session has no index. */
const struct strand_query_event *strand_query_events(const struct strand_query *q,
						     uint64_t *n);

/* True if a syscall result means failure for the trace's ABI: the same
 * rule as strand_syscall_failed (knowledge.h), which query code uses
 * directly; kept for API compatibility. */
bool strand_query_syscall_failed(strand_abi abi, uint64_t result);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_QUERY_H */
