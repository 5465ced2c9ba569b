/*
 * Inside the query engine (include/strand/query.h).
 *
 * Layers, bottom up:
 *   expr.c      expressions, over an environment of callbacks (no replay)
 *   words.c     splitting lines into commands and commands into words
 *   output.c    the two renderings: a text stream and a JSON writer
 *   session.c   sessions, dispatch, the JSON envelope, prompt, completion
 *   commands.c  the command table and the commands that only need a target
 *   target_replay.c  the target over a real strand_replay, the event index,
 *               and the whole-trace queries (calls, memory, origin, find,
 *               report) that run the replay with observers
 *
 * The engine talks to the machine through `struct qtarget_ops`, a mirror
 * of the parts of replay.h it uses, so that it can be tested over a small
 * fake machine (tests/test_query.c) and so that nothing below
 * target_replay.c needs the replay core at link time.
 */
#ifndef STRAND_QUERY_INT_H
#define STRAND_QUERY_INT_H

#include <signal.h>
#include <stdio.h>

#include "strand/json.h"
#include "strand/query.h"

/* ===================================================================== */
/* Expressions (expr.c)                                                   */
/* ===================================================================== */

/* What an expression may refer to.  Callbacks return STRAND_OK or
 * STRAND_NOT_FOUND. */
struct qexpr_env {
	void *ud;
	strand_status (*reg)(void *ud, const char *name, uint64_t *val);
	strand_status (*sym)(void *ud, const char *name, uint64_t *val);
	/* Read len bytes; false if any byte is unmapped. */
	bool (*read)(void *ud, uint64_t addr, void *buf, size_t len);
	unsigned ptr_size; /* 4 or 8: size of a [expr] read */
};

/* Evaluate `s` (whole string).  Errors name the column:
 * "cannot evaluate 'esp+': expected a value at column 5". */
strand_status qexpr_eval(const struct qexpr_env *env, const char *s,
			 uint64_t *out, strand_error *err);

/* ===================================================================== */
/* Words (words.c)                                                        */
/* ===================================================================== */

#define QMAX_ARGS 32

/* A command split into words at blanks outside quotes, brackets and
 * parentheses.  Quotes are removed ("a b" is one word a b). */
struct qargs {
	int argc;                 /* 0 .. QMAX_ARGS */
	char *argv[QMAX_ARGS];    /* point into buf */
	char buf[1024];           /* the words, NUL-separated */
};

/* Split; STRAND_ERR_INVALID for an unclosed quote/bracket, too many words
 * or a line over 1023 bytes. */
strand_status qargs_split(const char *line, struct qargs *a, strand_error *err);

/* ===================================================================== */
/* Output (output.c)                                                      */
/* ===================================================================== */

/* The two renderings of one command's result.  Commands write the text to
 * `txt` and fields of the "result" object to `j` (already opened). */
struct qout {
	FILE *txt;              /* memstream: human text */
	struct strand_json *j;  /* writer on a memstream */
	FILE *jf;               /* the memstream under j */
	char *tbuf, *jbuf;      /* memstream buffers (valid after close) */
	size_t tlen, jlen;
};

strand_status qout_open(struct qout *o, strand_error *err);
/* Finish both streams; buffers stay in o->tbuf / o->jbuf (malloc'd). */
void qout_close(struct qout *o);
/* Close and free everything. */
void qout_discard(struct qout *o);

void qtext(struct qout *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "00401000  55 8b ec ...  U..." hex dump lines of `len` bytes read at
 * `addr` (valid[i] == 0: "??"). */
void qout_hexdump(struct qout *o, uint64_t addr, const uint8_t *buf,
		  const uint8_t *valid, size_t len);

/* ===================================================================== */
/* Target                                                                 */
/* ===================================================================== */

struct qtarget_ops {
	uint64_t (*position)(void *t);
	uint64_t (*end)(void *t);
	strand_status (*seek)(void *t, uint64_t pos, strand_error *err);
	strand_status (*step)(void *t, int64_t n, strand_error *err);
	strand_status (*step_over)(void *t, strand_dir dir, strand_error *err);
	strand_status (*step_out)(void *t, strand_dir dir, strand_error *err);
	strand_status (*run)(void *t, strand_dir dir, struct strand_stop_hit *hit,
			     strand_error *err);
	strand_status (*stop_add)(void *t, const struct strand_stop *s,
				  uint32_t *id, strand_error *err);
	strand_status (*stop_del)(void *t, uint32_t id);
	const struct strand_stop *(*stops)(void *t, uint32_t *n);
	uint32_t (*thread)(void *t);
	strand_status (*threads)(void *t, uint32_t *tids, uint32_t max, uint32_t *n);
	strand_status (*cpu)(void *t, struct strand_cpu *out, strand_error *err);
	strand_status (*reg)(void *t, const char *name, uint64_t *val);
	const char *const *(*reg_names)(void *t);
	size_t (*read)(void *t, uint64_t addr, void *buf, size_t len, uint8_t *valid);
	const struct strand_module *const *(*modules)(void *t, uint32_t *n);
	strand_status (*symbolize)(void *t, uint64_t addr, char *buf, size_t len);
	strand_status (*lookup)(void *t, const char *name, uint64_t *addr);
	strand_status (*disas)(void *t, uint64_t addr, char *buf, size_t len,
			       uint32_t *insn_len);
};

struct qcmd;

/* Whole-trace queries that run the replay (target_replay.c).  Each may be
 * NULL: the command then fails with "not available".  Same signature as
 * command handlers. */
typedef strand_status (*qcmd_fn)(struct strand_query *q, struct qargs *a,
				 struct qout *o, strand_error *err);
struct qext {
	qcmd_fn bt, calls, memory, origin, find, report;
	qcmd_fn processes, process; /* the process tree of the trace */
	/* Name of a syscall number ("NtCreateFile"), NULL if unknown. */
	const char *(*syscall_name)(struct strand_query *q, uint64_t number);
	/* What a value means as a status ("STATUS_NO_SUCH_DEVICE (0xC000000E):
	 * A device which..."), "" if nothing; always NUL-terminates buf.
	 * `syscall`: the value is a syscall result of the trace's ABI;
	 * otherwise only values that look like statuses (NTSTATUS, HRESULT:
	 * bit 31 set) are described, since small numbers are ambiguous. */
	void (*describe)(struct strand_query *q, uint64_t value, bool syscall,
			 char *buf, size_t len);
	/* The object a syscall event names (a device or file path), decoded
	 * by a pass on first use; "" if none.  Borrowed, valid until the
	 * session ends.  NULL when the pass failed (err says why). */
	const char *(*syscall_object)(struct strand_query *q, uint64_t event_index,
				      strand_error *err);
};

/* ===================================================================== */
/* Sessions (session.c)                                                   */
/* ===================================================================== */

/* A breakpoint or watchpoint as the user sees it: the session's number
 * and options over the target's stop (which the session may remove and
 * re-add: disable/enable). */
struct qstop {
	uint32_t id;          /* the user's number: 1, 2, ... in creation order */
	uint32_t rid;         /* the target's stop id; 0 while disabled */
	struct strand_stop s; /* kind, addr, len, access (s.id unused) */
	char cond[256];       /* stop only where this expression is non-zero; "" = always */
	uint64_t hits;        /* times it stopped motion (its condition held) */
	bool temp;            /* tbreak: deleted when it stops motion */
	bool enabled;
};

struct strand_query {
	const struct qtarget_ops *ops;
	void *t;                       /* the target's handle */
	const struct qext *ext;        /* may be NULL */
	void *ext_ud;                  /* target_replay.c's state */
	void (*ext_free)(void *ext_ud);
	strand_arch arch;
	strand_abi abi;
	unsigned ptr_size;             /* 4 or 8 */
	struct strand_query_event *events; /* owned, index order; may be NULL */
	uint64_t nevents;
	uint32_t max_rows;             /* > 0 */
	char source[256];              /* script name, "" if none */
	unsigned line;                 /* script line, 0 if none */
	const char *cmd_name;          /* command being run (for errors) */
	bool quit;                     /* `quit` ran */
	struct qstop *stops;           /* owned, creation order */
	uint32_t nstops;
	size_t cap_stops;              /* allocated entries of stops */
	uint32_t next_stop_id;         /* last id given */
	/* Set asynchronously (a SIGINT handler) to interrupt motion and
	 * passes; may be NULL.  Cleared when a command stops for it. */
	volatile sig_atomic_t *interrupt;
	bool (*cancel)(void *ud);      /* polled likewise; may be NULL */
	void *cancel_ud;
};

/* Instructions between interrupt checks when the session is interruptible. */
#define QSLICE (1u << 21)

/* True if the session can be interrupted (a flag or a cancel callback). */
bool qinterruptible(const struct strand_query *q);
/* True if an interrupt came (the flag is cleared, the callback polled). */
bool qinterrupted(struct strand_query *q);

/* Session over any target.  Takes ownership of `events` (malloc'd array,
 * may be NULL) even on failure. */
strand_status qsession_new(const struct qtarget_ops *ops, void *t,
			   strand_arch arch, strand_abi abi,
			   const struct strand_query_options *opt,
			   struct strand_query_event *events, uint64_t nevents,
			   struct strand_query **out, strand_error *err);

/* Expression environment over the session's target. */
void qsession_env(struct strand_query *q, struct qexpr_env *env);

/* Evaluate argument `s` of the current command; errors say which. */
strand_status qeval(struct strand_query *q, const char *s, uint64_t *val,
		    strand_error *err);

/* Write the current location: text "position 12 tid 1 pc 0x401000
 * mod!sym+0x3: mov eax, 1" and JSON fields position, tid, pc, symbol,
 * instruction. */
void qwhere(struct strand_query *q, struct qout *o);

/* What a value means as a status, "" if nothing known (commands.c). */
void qdescribe(struct strand_query *q, uint64_t v, bool syscall, char *buf,
	       size_t len);

/* symbolize into buf, "0x..." when the target knows nothing */
void qsym(struct strand_query *q, uint64_t addr, char *buf, size_t len);

/* ===================================================================== */
/* Commands (commands.c)                                                  */
/* ===================================================================== */

struct qcmd {
	const char *name;
	const char *alias;     /* short form or NULL */
	const char *synopsis;  /* "mem [TYPE] ADDR [LEN|COUNT]" */
	const char *summary;   /* one line */
	const char *help;      /* details, several lines, or NULL */
	int min_args, max_args;/* words after the name; max -1 = any */
	qcmd_fn run;
};

/* Event type names as the query language spells them ("syscall",
 * "thread-switch"); NULL for non-event types.  qevent_type: -1 if none,
 * 0 for "any". */
const char *qevent_name(unsigned type);
int qevent_type(const char *name);

/* Rewrite gdb and WinDbg spellings ("si", "x/4x esp", "dd esp L4",
 * "ba w4 ADDR", "!tt 50", "info reg") into the command language
 * (query/aliases.c).  `out` gets the line to run (cap bytes); returns
 * false if nothing was rewritten (out = line). */
bool qalias_expand(const char *line, char *out, size_t cap);

/* The table, terminated by a NULL name. */
extern const struct qcmd qcmd_table[];
const struct qcmd *qcmd_find(const char *name);

#endif /* STRAND_QUERY_INT_H */
