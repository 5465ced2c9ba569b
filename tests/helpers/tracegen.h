/*
 * tracegen: build synthetic strand traces for tests and benchmarks.
 *
 * A tiny recorder: the test maps guest code (x86 bytes, or nasm source
 * assembled with tg_asm) and threads, then tg_run() executes it on its own
 * Unicorn instance, counting every instruction with a per-instruction
 * hook (an independent method from the replay core's block counting),
 * and writes the events as a recorder would:
 *   - syscall / sysenter / int 0x80 / int 0x2e: SYSCALL at its position;
 *     the test's handler (tg_on_syscall) decides the result and the
 *     memory the "kernel" writes; the default handler returns 0 and
 *     treats Linux exit/exit_group (x86-64: 60, 231; x86-32: 1, 252)
 *     as the end of the process;
 *   - rdtsc / rdtscp / cpuid: NONDET with deterministic values;
 *   - scheduled events (tg_at_*) at exact positions: thread switch,
 *     thread create/exit, asynchronous memory writes, output;
 *   - a KEYFRAME every `keyframe_every` instructions (0 = none) and at the
 *     end, then PROCESS_EXIT.
 * Positions are exact instruction counts, or ordinals when
 * opts.ordinal is set (for strand_finalize_positions tests).
 *
 * All functions return strand_status and fill `err` on failure.
 * Ownership: a tg is created by tg_open and freed by tg_close (which also
 * finishes the file) or tg_abort.
 */
#ifndef STRAND_TESTS_TRACEGEN_H
#define STRAND_TESTS_TRACEGEN_H

#include "strand/trace.h"

struct tg;

struct tg_opts {
	strand_arch arch;
	strand_abi abi;           /* written to the header */
	uint64_t keyframe_every;  /* instructions; 0 = only the final one */
	bool ordinal;             /* write ordinal positions */
	bool no_final_keyframe;
};

strand_status tg_open(const char *path, const struct tg_opts *opt, struct tg **out,
		      strand_error *err);

/* Snapshot (before tg_run). data may be shorter than size (zero-filled). */
strand_status tg_map(struct tg *g, uint64_t addr, uint64_t size, uint32_t prot,
		     uint32_t kind, const char *name, const void *data, size_t len,
		     strand_error *err);
strand_status tg_module(struct tg *g, const struct strand_module *m, strand_error *err);
/* A thread of the snapshot; the first one runs first. */
strand_status tg_thread(struct tg *g, uint32_t tid, const struct strand_cpu *cpu,
			strand_error *err);

/* Scheduled events, applied at exact position `pos` (before the
 * instruction at pos executes), in the order they were added. */
strand_status tg_at_switch(struct tg *g, uint64_t pos, uint32_t tid, strand_error *err);
strand_status tg_at_thread(struct tg *g, uint64_t pos, uint32_t tid,
			   const struct strand_cpu *cpu, strand_error *err);
strand_status tg_at_write(struct tg *g, uint64_t pos, uint64_t addr, const void *data,
			  uint32_t len, strand_error *err);
strand_status tg_at_keyframe(struct tg *g, uint64_t pos, strand_error *err);
strand_status tg_at_map(struct tg *g, uint64_t pos, uint64_t addr, uint64_t size,
			uint32_t prot, strand_error *err);

/* An exception delivered at pos: EXCEPTION record with the current pc,
 * effects: rip = handler (and the same change in tracegen's machine). */
strand_status tg_at_exception(struct tg *g, uint64_t pos, uint64_t code, uint64_t handler,
			      strand_error *err);
/* Any record without machine effects (OUTPUT, MODULE, MODULE_UNLOAD,
 * THREAD_EXIT, NOTE) written at pos; `rec` and what it points to must
 * stay valid until tg_run returns.  The position and (if 0) tid are
 * filled in. */
strand_status tg_at_record(struct tg *g, uint64_t pos, const struct strand_record *rec,
			   strand_error *err);

/* The "kernel": called at each kernel transition. */
struct tg_syscall {
	uint64_t pc;
	uint32_t number;
	uint64_t args[6];         /* SysV order (x86-64) / ebx,ecx,edx,esi,edi,ebp */
	uint64_t result;          /* set by the handler (default 0) */
	bool exit;                /* set by the handler: the process ends */
	uint32_t nwrites;         /* memory the kernel writes (tg_sys_write) */
	struct strand_memwrite writes[8];
	uint8_t wbuf[4096];
	uint32_t wused;
};
typedef void (*tg_syscall_fn)(struct tg *g, void *ud, struct tg_syscall *s);
void tg_on_syscall(struct tg *g, tg_syscall_fn fn, void *ud);
/* Add a kernel memory write to s (up to 8, 4 KiB in total). */
bool tg_sys_write(struct tg_syscall *s, uint64_t addr, const void *data, uint32_t len);

/* Execute until the process exits or `max_insns` instructions ran, then
 * write the final key frame and PROCESS_EXIT. */
strand_status tg_run(struct tg *g, uint64_t max_insns, strand_error *err);
/* Instructions executed by tg_run. */
uint64_t tg_position(const struct tg *g);

strand_status tg_close(struct tg *g, strand_error *err);
void tg_abort(struct tg *g);

/* Assemble nasm source (flat binary; the source sets BITS and ORG).
 * *out is malloc'ed, caller frees. */
strand_status tg_asm(const char *src, uint8_t **out, size_t *len, strand_error *err);

/* A context with rip, rsp set and the rest zero (defaults for x87/SSE). */
void tg_cpu_init(struct strand_cpu *c, uint64_t rip, uint64_t rsp);

#endif
