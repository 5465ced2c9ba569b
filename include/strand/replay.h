/*
 * strand replay core: exact re-execution of a trace on Unicorn, forward and
 * backward, to any position, with observers for analyses.
 *
 * Position: the number of instructions retired since the start of the
 * trace, across all threads (see trace.h).  Position 0 is the initial
 * snapshot; strand_replay_end() is the position after the last
 * instruction.  At position P the machine state is the state after P
 * instructions, before the instruction at index P.
 *
 * Exactness: at every key frame the registers and memory digests are
 * compared with the recording, and the final state at the end.  Every
 * SYSCALL record is compared with the replayed machine before its effects
 * are applied: its pc and thread, the number in eax/rax, the arguments
 * (Linux: the argument registers; Windows x86: the stack words at
 * [edx + 8]), and its result with the rax its effects set (and, on Linux,
 * that it is a value or -errno).  Every OUTPUT record on Linux must follow
 * the write/writev/pwrite64 that produced it, with the same fd and length,
 * and its bytes equal to the buffer the program passed; on Windows an
 * OUTPUT following NtWriteFile is compared the same way.  A
 * divergence stops motion with STRAND_ERR_DIVERGENCE and a message naming
 * the position, the instruction (disassembled) and what differs; the
 * handle then refuses further forward motion past that point.
 *
 * Threading: a handle is not thread-safe; two handles are independent.
 *
 * What "instruction" means: an instruction as Unicorn 2 retires it.  One
 * iteration of a rep-prefixed string instruction counts as one
 * instruction (QEMU re-executes the instruction per iteration); recorders
 * that cannot count this way write ordinal positions and let
 * strand_finalize_positions() compute exact ones.
 *
 * What a key frame compares (x86-64 / x86-32):
 *  - general registers (16 / 8, low 32 bits on x86-32), rip, and rflags
 *    masked to CF PF AF ZF SF DF OF (0xcd5);
 *  - fs_base, gs_base (x86-64 always; x86-32 when the trace has a GDT);
 *  - selectors ES..GS only on x86-32 with a GDT (elsewhere Unicorn cannot
 *    load the recorded selectors and keeps the recorded values);
 *  - XMM0-15 / XMM0-7 when the recorded FXSAVE area is not all zero.
 *    x87 registers, MXCSR and the tag word are loaded but not compared;
 *  - the XXH3 digest of every listed memory range.
 * A mismatch names the position, the running thread, the instruction at
 * pc (capstone, Intel syntax) and every differing register with both
 * values, or the first differing range with its region name.
 *
 * Memory bound: checkpoints (every checkpoint_interval instructions)
 * hold registers of all threads, the mapping layout and the pages that
 * changed since the previous checkpoint; past checkpoint_memory_limit,
 * every other checkpoint is merged into its successor.  Backward motion
 * adds up to 64 temporary checkpoints (at most limit / 8 bytes) near
 * where it went, so that repeated reverse steps are cheap.
 */
#ifndef STRAND_REPLAY_H
#define STRAND_REPLAY_H

#include "strand/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* Types                                                                  */
/* ===================================================================== */

struct strand_replay;

struct strand_replay_options {
	/* Instructions between checkpoints; 0 = automatic (about 1M). */
	uint64_t checkpoint_interval;
	/* Upper bound on checkpoint memory, bytes; 0 = 512 MiB.  When it is
	 * reached, checkpoints are thinned (every other one dropped). */
	uint64_t checkpoint_memory_limit;
	/* Compare key frames (default true when zero-initialised: set
	 * `no_verify` to skip). */
	bool no_verify;
	/* Called about every 0.1 s during long motion; may be NULL. */
	void (*progress)(void *ud, uint64_t position, uint64_t end);
	void *progress_ud;
	/* Budgets for untrusted traces (0 = the default derived from the
	 * trace, strand_replay_default_budget).  max_instructions bounds the
	 * length the trace claims (its last position): a longer trace is
	 * refused at open with STRAND_ERR_LIMIT.  max_memory bounds guest
	 * memory mapped (bytes, every region counted at its full size) plus
	 * checkpoint memory; a mapping past it fails with STRAND_ERR_LIMIT. */
	uint64_t max_instructions;
	uint64_t max_memory;
};

/* The default budgets for a trace file of `file_size` bytes: what a trace
 * of that size can plausibly claim.  Instructions: 2^26 + 2^16 per byte
 * (a 1 KiB trace: 134 M, 1 MiB: 68,000 M);
 * memory: 256 MiB + 4 KiB per byte, at most 64 GiB.  A trace whose claims
 * exceed them is refused unless the caller raises the budget. */
void strand_replay_default_budget(uint64_t file_size, uint64_t *max_instructions,
				  uint64_t *max_memory);

/* Statistics of a handle (strand replay prints these). */
struct strand_replay_stats {
	uint64_t instructions;       /* executed by the emulator, all motion */
	uint64_t events_applied;
	uint64_t keyframes_checked;
	uint64_t checkpoints;        /* held now */
	uint64_t checkpoint_bytes;   /* memory they hold */
	uint64_t restores;           /* checkpoint restores (backward motion) */
	/* What was checked against the recording (first forward pass only;
	 * see strand_replay_exactness): */
	uint64_t digests_checked;    /* memory ranges of key frames */
	uint64_t syscalls_applied;   /* SYSCALL records applied */
	uint64_t syscalls_checked;   /* ... whose pc, number, arguments and
					result were compared with the replay */
	uint64_t outputs_applied;    /* OUTPUT records applied */
	uint64_t outputs_checked;    /* ... compared with the bytes the
					program passed to its write call */
	uint64_t output_bytes_checked;
};

/* ===================================================================== */
/* Open, close                                                            */
/* ===================================================================== */

/* Open `path`, map the initial snapshot into a fresh emulator and stand at
 * position 0.  `opt` may be NULL.  *out is owned by the caller
 * (strand_replay_close). */
strand_status strand_replay_open(const char *path,
				 const struct strand_replay_options *opt,
				 struct strand_replay **out, strand_error *err);

void strand_replay_close(struct strand_replay *r); /* r may be NULL */

/* Borrowed, valid until close. */
const struct strand_trace_info *strand_replay_info(const struct strand_replay *r);
struct strand_reader *strand_replay_reader(struct strand_replay *r);
void strand_replay_get_stats(const struct strand_replay *r,
			     struct strand_replay_stats *out);

/* After a replay reached the end without divergence: may it be called
 * exact?  True when enough was compared: at least one key frame, and one
 * per 4096 kernel transitions (recorders write one per 1000 or fewer).
 * `buf` (always NUL-terminated) gets what was compared ("12 key frames,
 * 340 digests, 2001/2001 syscalls, 3/3 outputs (35 bytes) compared") or,
 * when false, why it is not exact. */
bool strand_replay_exactness(const struct strand_replay *r, char *buf, size_t len);

/* ===================================================================== */
/* Positions and motion                                                   */
/* ===================================================================== */

uint64_t strand_replay_position(const struct strand_replay *r);
/* Position after the last instruction of the trace. */
uint64_t strand_replay_end(const struct strand_replay *r);

/* Go to `pos` (forward or backward).  STRAND_OK, or an error. */
strand_status strand_replay_seek(struct strand_replay *r, uint64_t pos,
				 strand_error *err);

/* Step n instructions (n < 0: backward).  STRAND_END if the start or the
 * end was reached first (the handle stands there). */
strand_status strand_replay_step(struct strand_replay *r, int64_t n,
				 strand_error *err);

typedef enum strand_dir {
	STRAND_FORWARD = 1,
	STRAND_BACKWARD = -1,
} strand_dir;

/* One instruction, stepping over calls (to the instruction after the call
 * in the same thread and frame).  Backward: to the previous instruction of
 * the same frame, over any call that returned to here. */
strand_status strand_replay_step_over(struct strand_replay *r, strand_dir dir,
				      strand_error *err);

/* Forward: run until the current function returns (position after the
 * ret, in the caller).  Backward: to the call instruction that entered the
 * current function. */
strand_status strand_replay_step_out(struct strand_replay *r, strand_dir dir,
				     strand_error *err);

/* ===================================================================== */
/* Stops: breakpoints, watchpoints, events                                */
/* ===================================================================== */

typedef enum strand_stop_kind {
	STRAND_STOP_BREAK = 1,    /* execution reaches an address */
	STRAND_STOP_WATCH = 2,    /* memory range accessed */
	STRAND_STOP_EVENT = 3,    /* an event of a record type is applied */
	STRAND_STOP_POSITION = 4, /* a position is reached */
} strand_stop_kind;

enum { STRAND_WATCH_READ = 1, STRAND_WATCH_WRITE = 2 };

struct strand_stop {
	uint32_t id;        /* assigned by strand_replay_stop_add */
	uint32_t kind;      /* strand_stop_kind */
	uint64_t addr;      /* BREAK, WATCH: address */
	uint64_t len;       /* WATCH: bytes */
	uint32_t access;    /* WATCH: STRAND_WATCH_* mask */
	uint32_t rec_type;  /* EVENT: strand_rec_type, 0 = any event */
	uint64_t position;  /* POSITION */
	bool enabled;
};

/* Add a stop; `s->id` is ignored and the new id returned in *id.  */
strand_status strand_replay_stop_add(struct strand_replay *r,
				     const struct strand_stop *s, uint32_t *id,
				     strand_error *err);
strand_status strand_replay_stop_del(struct strand_replay *r, uint32_t id);
/* Borrowed array, valid until the next add/del. */
const struct strand_stop *strand_replay_stops(const struct strand_replay *r,
					      uint32_t *n);

/* Why motion stopped. */
struct strand_stop_hit {
	uint32_t stop_id;   /* 0 if it reached the start/end */
	uint32_t kind;      /* strand_stop_kind */
	uint64_t position;
	uint64_t addr;      /* BREAK: pc; WATCH: accessed address */
	uint32_t access;    /* WATCH: STRAND_WATCH_READ or _WRITE */
	uint32_t size;      /* WATCH: access size */
};

/* Run in `dir` until a stop is hit (STRAND_STOPPED, *hit filled), or the
 * end/start (STRAND_END).  Forward, a breakpoint stops before the
 * instruction at its address executes; a watchpoint stops after the
 * accessing instruction.  Backward stops are the closest ones before the
 * current position that forward execution would report.  `hit` may be
 * NULL. */
strand_status strand_replay_run(struct strand_replay *r, strand_dir dir,
				struct strand_stop_hit *hit, strand_error *err);

/* ===================================================================== */
/* State at the current position                                          */
/* ===================================================================== */

/* Current thread id. */
uint32_t strand_replay_thread(const struct strand_replay *r);

/* Thread list: ids of threads alive at the current position. */
strand_status strand_replay_threads(const struct strand_replay *r,
				    uint32_t *tids, uint32_t max, uint32_t *n);

/* Full context of the current thread. */
strand_status strand_replay_cpu(struct strand_replay *r, struct strand_cpu *out,
				strand_error *err);

/* Full context of thread `tid` (alive at the current position): the
 * running thread's live state, or a waiting thread's saved one.
 * STRAND_NOT_FOUND if no such thread is alive here. */
strand_status strand_replay_thread_cpu(struct strand_replay *r, uint32_t tid,
				       struct strand_cpu *out, strand_error *err);

/* Register by name, any width: "eax", "ax", "al", "ah", "rip", "eflags",
 * "fs_base", "xmm0" (low 64 bits), "st0" (as double bits)...
 * STRAND_NOT_FOUND for an unknown name. */
strand_status strand_replay_reg(struct strand_replay *r, const char *name,
				uint64_t *val);

/* The current thread's general registers in one read, in STRAND_REG_RAX
 * order into out[16]: returns 16 on x86-64, 8 on x86 (zero-extended), 0
 * if r is NULL.  For observers that look at every register per
 * instruction (strand_replay_reg looks a name up). */
unsigned strand_replay_gprs(struct strand_replay *r, uint64_t out[16]);

/* Register names the current architecture knows (for completion).
 * Borrowed static array, NULL-terminated. */
const char *const *strand_replay_reg_names(const struct strand_replay *r);

/* Read guest memory.  Never faults the host.  Copies what is mapped into
 * buf; bytes that are unmapped are zero in buf and 0 in `valid` (one byte
 * per byte of buf, 1 = mapped; may be NULL).  Returns the number of
 * mapped bytes. */
size_t strand_replay_read(struct strand_replay *r, uint64_t addr, void *buf,
			  size_t len, uint8_t *valid);

/* Module list at the current position.  Borrowed; valid until the
 * position changes. */
const struct strand_module *const *strand_replay_modules(const struct strand_replay *r,
							 uint32_t *n);

/* "module!symbol+0x1f", "module+0x1234" or "0x401000" into buf (always
 * NUL-terminated).  Returns STRAND_OK if a symbol was found,
 * STRAND_NOT_FOUND if only a module or nothing. */
strand_status strand_replay_symbolize(const struct strand_replay *r,
				      uint64_t addr, char *buf, size_t len);

/* Resolve "module!symbol", "symbol" (first match) or a hex/decimal
 * number. */
strand_status strand_replay_lookup(const struct strand_replay *r,
				   const char *name, uint64_t *addr);

/* Symbol containing addr: borrowed pointers valid until the module
 * unloads / the handle closes; STRAND_NOT_FOUND if none. */
strand_status strand_replay_find_symbol(const struct strand_replay *r,
					uint64_t addr,
					const struct strand_module **mod,
					const struct strand_symbol **sym);

/* Disassemble one instruction at addr from current memory (capstone,
 * Intel syntax) into buf: "call dword ptr [edx]".  *insn_len gets its
 * length (may be NULL). */
strand_status strand_replay_disas(struct strand_replay *r, uint64_t addr,
				  char *buf, size_t len, uint32_t *insn_len);

/* The record of the last event applied at or before the current position
 * (borrowed, valid until motion), or NULL. */
const struct strand_record *strand_replay_last_event(const struct strand_replay *r);

/* ===================================================================== */
/* Observers (QEMU-plugin style)                                          */
/* ===================================================================== */

/* Observers see forward execution only, exactly once per instruction and
 * event, in order, while the handle moves forward by strand_replay_seek /
 * step / run.  Analyses usually register, then seek to the end.  Callbacks
 * may read state with strand_replay_reg/read/cpu/symbolize; they must not
 * move the handle.  Pointers passed to callbacks are valid only during the
 * callback: copy what you keep.
 *
 * The core installs only the emulator hooks some observer needs.
 */

typedef uint32_t strand_obs_id;

/* Before the instruction at pc executes, at `position`. */
typedef void (*strand_insn_cb)(struct strand_replay *r, void *ud,
			       uint64_t position, uint64_t pc, uint32_t size);
/* At the start of a basic block. */
typedef void (*strand_block_cb)(struct strand_replay *r, void *ud,
				uint64_t position, uint64_t pc, uint32_t size);

struct strand_call_info {
	uint64_t position;   /* of the call / ret instruction */
	uint32_t tid;
	uint64_t from;       /* address of the call / ret instruction */
	uint64_t to;         /* target / return address */
	uint64_t sp_after;   /* stack pointer after the instruction */
	uint64_t ret_addr;   /* call: return address pushed */
	bool indirect;       /* call through register/memory */
};
/* After a call (target reached, return address pushed). */
typedef void (*strand_call_cb)(struct strand_replay *r, void *ud,
			       const struct strand_call_info *c);
/* After a ret. */
typedef void (*strand_ret_cb)(struct strand_replay *r, void *ud,
			      const struct strand_call_info *c);

/* A memory access by the instruction at `position` (before it for reads,
 * after the write for writes; `value` holds up to 8 bytes). */
typedef void (*strand_mem_cb)(struct strand_replay *r, void *ud,
			      uint64_t position, uint64_t pc, uint64_t addr,
			      uint32_t size, bool is_write, uint64_t value);

/* An event record, called twice: before its effects are applied (after =
 * false) and after (after = true).  This is the kernel-transition,
 * thread-switch, module-load and exception callback: filter on
 * rec->type.  `rec` is borrowed for the call. */
typedef void (*strand_event_cb)(struct strand_replay *r, void *ud,
				const struct strand_record *rec, bool after);

strand_obs_id strand_replay_on_insn(struct strand_replay *r, strand_insn_cb cb, void *ud);
strand_obs_id strand_replay_on_block(struct strand_replay *r, strand_block_cb cb, void *ud);
strand_obs_id strand_replay_on_call(struct strand_replay *r, strand_call_cb cb, void *ud);
strand_obs_id strand_replay_on_ret(struct strand_replay *r, strand_ret_cb cb, void *ud);
strand_obs_id strand_replay_on_mem(struct strand_replay *r, strand_mem_cb cb,
				   uint32_t access /* STRAND_WATCH_* */, void *ud);
strand_obs_id strand_replay_on_event(struct strand_replay *r, strand_event_cb cb, void *ud);
void strand_replay_observer_del(struct strand_replay *r, strand_obs_id id);
/* Every strand_replay_on_* returns the observer's id, or 0 when it could
 * not be registered (no memory, no callback, the emulator refused the
 * hook); a failure also sets a flag that strand_replay_observer_failed
 * reads.  Check one or the other: an observer that silently is not there
 * means an analysis that silently sees nothing. */
/* True if a registration failed since the last call; clears the flag. */
bool strand_replay_observer_failed(struct strand_replay *r);
/* Observers registered from now on belong to `group` (0 = none) until the
 * next call; returns the previous group.  The analysis framework gives
 * each plugin instance its group, so that its observers go when it fails
 * or is destroyed. */
uint32_t strand_replay_observer_group(struct strand_replay *r, uint32_t group);
/* Remove every observer of `group` (a group of 0 removes nothing). */
void strand_replay_observer_del_group(struct strand_replay *r, uint32_t group);

/* How far observers have seen (opaque to callers: save and restore). */
struct strand_replay_frontier {
	uint64_t position;
	struct strand_cursor events;
};
/* Observe again from the current position: the next forward motion fires
 * the observers for every instruction and event from here on, even where
 * the handle executed before (observers normally see each position once).
 * For logging one window in detail after seeking back to its start
 * (analyses/dataflow.c).  State, checkpoints and stops are unchanged.
 * `saved` (may be NULL) gets the frontier as it was, for
 * strand_replay_observe_restore once the window is logged (until then,
 * forward seeks past the window do not jump through checkpoints). */
void strand_replay_observe_from_here(struct strand_replay *r,
				     struct strand_replay_frontier *saved);
void strand_replay_observe_restore(struct strand_replay *r,
				   const struct strand_replay_frontier *saved);

/* Observers set aside by strand_replay_observers_mute (opaque). */
struct strand_replay_muted {
	void *obs;
	uint32_t n, cap;
	uint32_t counts[5];
};
/* Set every observer registered now aside: they see nothing until
 * strand_replay_observers_unmute.  Observers added in between work as
 * usual and must be deleted before unmuting.  For a plugin's finish()
 * that replays windows of the main pass again (analyses/dataflow.c)
 * without the other plugins seeing them twice. */
void strand_replay_observers_mute(struct strand_replay *r, struct strand_replay_muted *m);
void strand_replay_observers_unmute(struct strand_replay *r, struct strand_replay_muted *m);

/* General register i (STRAND_REG_RAX..STRAND_REG_R15, full width; on
 * x86-32 the 32-bit register) of the current thread, without parsing a
 * name: for observers that read a register per instruction. */
uint64_t strand_replay_gpr(struct strand_replay *r, unsigned i);

/* The guest mapping holding addr at the current position. */
struct strand_region_info {
	uint64_t addr, size;  /* bytes, page aligned */
	uint32_t prot;        /* STRAND_PROT_* */
	uint32_t kind;        /* strand_region_kind */
	const char *name;     /* borrowed, valid until the mapping changes */
};
/* STRAND_OK and *out, or STRAND_NOT_FOUND if addr is not mapped. */
strand_status strand_replay_region_at(const struct strand_replay *r, uint64_t addr,
				      struct strand_region_info *out);

/* ===================================================================== */
/* Checkpoints out and in (for indexes)                                   */
/* ===================================================================== */

/* Serialise the newest checkpoint (the handle must stand at it: right
 * after a forward seek to a multiple of checkpoint_interval) into a blob
 * (layout in replay/ckpt_io.c and docs/trace-format.md): registers of
 * every thread, the mapping layout, the reader cursor and the pages that
 * changed since the previous checkpoint.  *out is malloc'd, owned by the
 * caller (free).  STRAND_ERR_INVALID if not at the newest checkpoint. */
strand_status strand_replay_checkpoint_export(struct strand_replay *r, uint8_t **out,
					      size_t *len, strand_error *err);

/* Append a checkpoint exported by a handle on the same trace and stored
 * at [offset, offset + len) of the file `path`.  Import every exported
 * checkpoint, in order, right after strand_replay_open() and before any
 * motion.  Fields are checked now; page data is read from the file (the
 * handle keeps a descriptor) and checked against its XXH3 when a restore
 * first needs it; a bad page fails that motion with STRAND_ERR_CORRUPT.
 * Forward seeks then restore the closest checkpoint as they do for the
 * handle's own, unless observers still need to see the stretch. */
strand_status strand_replay_checkpoint_import(struct strand_replay *r, const char *path,
					      uint64_t offset, uint64_t len, strand_error *err);

/* At the position of an imported checkpoint, compare the state reached
 * by execution with it: every thread's registers, and the pages the
 * checkpoint holds.  STRAND_OK (also when no imported checkpoint is
 * here), or STRAND_ERR_DIVERGENCE naming the position and what differs.
 * Used to chain independently replayed segments exactly. */
strand_status strand_replay_checkpoint_check(struct strand_replay *r, strand_error *err);

/* ===================================================================== */
/* Whole-trace helpers                                                    */
/* ===================================================================== */

/* Rewrite a STRAND_TRACE_F_ORDINAL_POSITIONS trace at `in` into `out` with
 * exact instruction positions, by replaying it and locating each
 * consuming event's instruction.  Divergence (the instruction at the
 * event is not the recorded kind, or a key frame differs) is an error. */
strand_status strand_finalize_positions(const char *in, const char *out,
					strand_error *err);

/* strand_finalize_positions() reporting progress: `progress` (may be
 * NULL) is called at most ten times a second with the number of
 * consuming events placed so far and their total. */
strand_status strand_finalize_positions_progress(const char *in, const char *out,
						 void (*progress)(void *ud, uint64_t done,
								  uint64_t total),
						 void *ud, strand_error *err);

/* strand_finalize_positions_progress() for a process tree: the trace at
 * `in` and every child process trace embedded in it (trace.h, "Process
 * trees"), recursively, get exact positions; `progress` follows the root
 * trace only.  A trace without children is finalized as by
 * strand_finalize_positions_progress(). */
strand_status strand_finalize_tree_progress(const char *in, const char *out,
					    void (*progress)(void *ud, uint64_t done,
							     uint64_t total),
					    void *ud, strand_error *err);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_REPLAY_H */
