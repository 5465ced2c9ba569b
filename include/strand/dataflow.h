/*
 * strand data flow: where a value came from, followed backward from any
 * position of a trace, at any distance from the start.
 *
 * One engine answers "where did this register / these bytes get their
 * value" for the root-cause report (errorflow), `strand query`'s
 * `origin` and the gdb server's `monitor origin`.
 *
 * Method.  The engine never logs the trace from its start.  It stands the
 * handle at the position asked about, then logs one bounded window of
 * history before it (checkpoint restore, then the window replayed with
 * instruction, memory and event observers: strand_replay_observe_from_here)
 * and walks that window backward, replacing each location it follows by
 * the sources of the instruction or event that defined it:
 *
 *   - registers read as values (partial writes and cmovcc keep the old
 *     value as a source; `xor r,r` is a constant), memory read (byte
 *     exact), the flags (a compare's operands);
 *   - table lookups: a load from constant data (a mapping without write
 *     permission, or bytes still equal to the initial snapshot's, and not
 *     written in the window before the load) follows the registers that
 *     formed the address, i.e. the index; a compare shortly before it
 *     that touched the same table adds its other operand, the key looked
 *     up (search loops);
 *   - syscall effects: the result register and every byte the kernel
 *     wrote end the flow at that kernel call;
 *   - control dependence: a constant chosen by a branch (`test eax,eax;
 *     jne ...; mov eax, 2`) follows the deciding conditional branch's flags
 *     back to the compare and its operands; the branch is the nearest one
 *     before the constant in its thread and frame (same stack pointer).
 *     At most two control dependences are followed one behind the other
 *     (a library's `return -1` on a failed call, then its caller's
 *     `return 1`).
 *
 * When locations are still open at the window's start, the previous window
 * is logged (twice as long, up to max_window) and the walk goes on; it
 * stops when nothing is open, when a failed kernel call was reached by data
 * (nothing further back can be a better origin), at the start of the
 * trace, or at a stated limit (max_distance, max_steps).
 *
 * Memory bound: one window's log (about 70 bytes per instruction, at most
 * max_window instructions), the steps (at most max_steps, ~120 bytes each)
 * and a summary per distinct instruction address.  Time: per window, one
 * checkpoint restore plus the window replayed with observers.
 */
#ifndef STRAND_DATAFLOW_H
#define STRAND_DATAFLOW_H

#include "strand/replay.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* Types                                                                  */
/* ===================================================================== */

/* Register numbers in masks and steps: 0-15 general registers
 * (strand_reg order), 16-47 vector registers (xmm/ymm/zmm 0-31, whole),
 * 48 the arithmetic flags. */
#define STRAND_DF_VEC_BASE 16
#define STRAND_DF_FLAGS 48
#define STRAND_DF_REG_BIT(i) ((uint64_t)1 << (i))

typedef enum strand_df_kind {
	STRAND_DF_QUERY = 0,     /* the location asked about (steps[0]) */
	STRAND_DF_REGISTER = 1,  /* an instruction computed or moved it into a register */
	STRAND_DF_LOAD = 2,      /* an instruction loaded it from memory */
	STRAND_DF_STORE = 3,     /* an instruction stored it into memory */
	STRAND_DF_SYSCALL = 4,   /* a kernel call's output (result register or bytes written) */
	STRAND_DF_EVENT = 5,     /* another recorded effect (nondeterministic instruction,
				    asynchronous memory change, exception context) */
	STRAND_DF_TABLE = 6,     /* a load from constant data: its index is followed */
	STRAND_DF_COMPARE = 7,   /* a search loop's compare: its key is followed */
	STRAND_DF_CONTROL = 8,   /* the conditional branch that chose a constant: its
				    flags are followed */
	STRAND_DF_CONSTANT = 9,  /* an instruction with no data input (immediate, xor r,r) */
} strand_df_kind;

/* "register", "load", "store", "syscall", "event", "table", "compare",
 * "control", "constant", "query".  Static string. */
const char *strand_df_kind_str(strand_df_kind k);

/* One step of a flow.  Steps form a tree rooted at steps[0] (the query):
 * `parent` is the step that used this step's value. */
struct strand_df_step {
	strand_df_kind kind;
	int32_t parent;       /* index of the step using this value; -1 for steps[0] */
	bool via_control;     /* reached through a control dependence */
	uint8_t control_depth;/* control dependences between it and the query (at most 2) */
	uint64_t position;    /* of the instruction or event */
	uint32_t tid;
	uint64_t pc;          /* the instruction (syscall: its instruction); 0 if none */
	char insn[80];        /* disassembly of pc, "" for events without one */
	bool loc_is_reg;      /* the location this step defined: register `reg` ... */
	uint8_t reg;          /* register number (see STRAND_DF_REG_BIT) */
	uint64_t addr;        /* ... or memory [addr, addr + size) */
	uint32_t size;
	bool have_value;
	uint64_t value;       /* value it wrote (memory: first 8 bytes, little-endian) */
	uint32_t syscall;     /* SYSCALL: number */
	uint64_t result;      /* SYSCALL: the kernel's result */
};

/* What to follow: registers of a thread and/or a memory range, as they
 * are at `position` (before the instruction at that position runs). */
struct strand_df_query {
	uint64_t position;
	uint32_t tid;         /* thread of the registers */
	uint64_t regs;        /* STRAND_DF_REG_BIT mask; the stack pointer is ignored */
	uint64_t addr;        /* memory, len 0 if none */
	uint32_t len;
};

struct strand_df_options {
	uint64_t window;       /* instructions in the first window; 0 = 262144 */
	uint64_t max_window;   /* largest window; 0 = 2097152 */
	uint64_t max_distance; /* farthest back from the query position; 0 = 268435456 */
	uint32_t max_steps;    /* 0 = 200000 */
	bool no_control;       /* data flow only */
	bool stay;             /* leave the handle where the last window ended
				  (default: put it back where it was) */
	/* Called after each window; may be NULL. */
	void (*progress)(void *ud, uint64_t lowest_position, uint64_t query_position);
	void *progress_ud;
	/* Skipping history with an index (strand_index_may_write_cb,
	 * strand/index.h); may be NULL.  Returns false only if no guest
	 * instruction and no recorded event writes a byte of
	 * [addr, addr + len) at positions [lo, hi).  While only memory is
	 * open (no register, no pending key or flags), a window that writes
	 * none of it is not logged: its walk would find nothing.  The walk
	 * is otherwise the same, window for window (limits included), so
	 * the answer equals the one logging every window; only `windows`
	 * and `logged` shrink (`skipped` counts what was not logged).
	 * One exception: a skipped window cannot be "too dense to log". */
	bool (*may_write)(void *ud, uint64_t addr, uint64_t len, uint64_t lo, uint64_t hi);
	void *may_write_ud;
};

struct strand_df_result {
	struct strand_df_step *steps; /* owned by the result; steps[0] is the query */
	uint32_t nsteps;
	/* The origin preferred: a failed kernel call reached by data, else by
	 * control, else any kernel call (data, then control), else a
	 * constant; -1 if none. */
	int32_t origin;
	uint32_t windows;      /* windows logged */
	uint64_t logged;       /* instructions logged in all windows */
	uint64_t accesses;     /* memory accesses logged in all windows */
	uint64_t lowest;       /* lowest position logged */
	uint64_t skipped;      /* instructions of windows not logged (may_write) */
	bool reached_start;    /* locations still open at position 0: initial values */
	bool cut;              /* a limit stopped the walk with locations still open */
	char note[160];        /* why it was cut, "" otherwise */
};

/* ===================================================================== */
/* Functions                                                              */
/* ===================================================================== */

struct strand_dataflow;

/* An engine over `r` (borrowed; the engine moves it and, unless
 * opt->stay, leaves it where it found it after each follow).  `trace` is the trace file, used to compare
 * loaded bytes with the initial snapshot (may be NULL: then only mappings
 * without write permission count as constant data).  `opt` may be NULL.
 * *out owned: strand_dataflow_free. */
strand_status strand_dataflow_new(struct strand_replay *r, const char *trace,
				  const struct strand_df_options *opt,
				  struct strand_dataflow **out, strand_error *err);
void strand_dataflow_free(struct strand_dataflow *df); /* df may be NULL */

/* Follow q backward.  *out owned by the caller: strand_df_result_free.
 * Errors: STRAND_ERR_INVALID (position beyond the end, no location),
 * replay errors while logging a window, STRAND_ERR_NOMEM. */
strand_status strand_dataflow_follow(struct strand_dataflow *df, const struct strand_df_query *q,
				     struct strand_df_result **out, strand_error *err);
void strand_df_result_free(struct strand_df_result *res); /* res may be NULL */

/* Does [addr, addr + len) hold constant data as `at` stands now (a
 * mapping without write permission, or the initial snapshot's bytes)?
 * `at` may be any handle on the same trace, e.g. inside an observer. */
bool strand_dataflow_constant(struct strand_dataflow *df, struct strand_replay *at,
			      uint64_t addr, uint32_t len);

/* Register number of a name of any width ("eax", "al", "r8d", "xmm3",
 * "flags"), or -1. */
int strand_df_reg_from_name(const char *name);
/* Name of register number i for an architecture ("eax" on x86-32). */
const char *strand_df_reg_name(strand_arch arch, unsigned i, char *buf, size_t len);

/* ===================================================================== */
/* Call stacks at positions a walk found                                  */
/* ===================================================================== */

struct strand_callstack;
struct strand_stack;

/* Make a shadow-stack tracker keep a copy of every thread's stack about
 * every `interval` instructions (at the first call or return after each
 * multiple), so that the stack at any later-found position costs a replay
 * of at most one interval.  Memory: the frames copied, at most 64 MiB
 * (past that no more copies are taken; stacks then cost longer replays). */
void strand_callstack_keep_snapshots(struct strand_callstack *cs, uint64_t interval);
/* Position of the last copy at or before pos; 0 if none. */
uint64_t strand_callstack_snapshot_before(const struct strand_callstack *cs, uint64_t pos);
/* A tracker on r seeded with src's copy at `at` (a value of
 * strand_callstack_snapshot_before; 0 or src NULL: empty stacks).  The
 * caller stands r at `at` and observes from there.  *out owned:
 * strand_callstack_free. */
strand_status strand_callstack_new_from(struct strand_replay *r,
					const struct strand_callstack *src, uint64_t at,
					struct strand_callstack **out, strand_error *err);

/* One stack to take: at `position` (before the instruction there; for a
 * syscall step, before the kernel call), of thread `tid`. */
struct strand_df_stack_req {
	uint64_t position;
	uint32_t tid;
	struct strand_stack *stack;  /* out: owned by the caller (strand_stack_free) */
};

/* Stacks at the requested positions, by replaying r from the copy of
 * `src` before each (positions close together share one replay; src NULL:
 * from position 0).  r is moved (it ends after the last position). */
strand_status strand_dataflow_stacks(struct strand_replay *r, const struct strand_callstack *src,
				     struct strand_df_stack_req *req, uint32_t n,
				     strand_error *err);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_DATAFLOW_H */
