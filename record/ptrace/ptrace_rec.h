/*
 * Private to record/ptrace/: the Linux x86-64 ptrace recorder.
 *
 * strand_ptrace_record() runs a program under ptrace and writes a trace
 * with STRAND_TRACE_F_ORDINAL_POSITIONS (trace.h): every event's position
 * is the number of consuming events (SYSCALL, NONDET) before it.  The
 * caller turns it into a replayable trace with strand_finalize_positions().
 * How the recorder works and what it cannot record: docs/linux-recorder.md.
 *
 * Module layout:
 *   ptrace_rec.c  tracee control, the event loop, records
 *   ptrace_sys.c  per-syscall table: memory the kernel writes
 *   ptrace_mem.c  /proc/PID/maps, tracee memory reads, digests
 *   ptrace_elf.c  ELF symbol tables (symtab + dynsym), read defensively
 *   ptrace_cpu.c  register conversion, cpuid answers
 *   ptrace_patch.c rdtsc/rdtscp/cpuid instructions patched with int3
 *   ptrace_tree.c  child processes' recorders and their embedded traces
 *   ptrace_threads.c the threads of the recorded process: task table,
 *                 turn taking, timed waits
 */
#ifndef STRAND_RECORD_PTRACE_REC_H
#define STRAND_RECORD_PTRACE_REC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/user.h>

#include "strand/record.h"
#include "strand/trace.h"

/* ===================================================================== */
/* Memory (ptrace_mem.c)                                                  */
/* ===================================================================== */

/* One line of /proc/PID/maps. */
struct strand_ptrace_map {
	uint64_t start, end;       /* [start, end), page aligned */
	uint32_t prot;             /* STRAND_PROT_* */
	bool shared;               /* 's' in the flags column */
	uint64_t offset;           /* file offset */
	uint64_t inode;            /* 0 for anonymous */
	char path[256];            /* "" for anonymous, "[stack]", "/usr/lib/..." */
};

/* Parse /proc/PID/maps into *out (owned, free()).  */
strand_status strand_ptrace_maps(pid_t pid, struct strand_ptrace_map **out,
				 size_t *n, strand_error *err);

/* Read len bytes of tracee memory through /proc/PID/mem (fd memfd).
 * Pages that cannot be read are zero-filled.  Returns the number of bytes
 * that were really read. */
size_t strand_ptrace_read(int memfd, uint64_t addr, void *buf, size_t len);

/* Read exactly len bytes; false if any byte is unreadable. */
bool strand_ptrace_read_exact(int memfd, uint64_t addr, void *buf, size_t len);

/* ===================================================================== */
/* Effects under construction (ptrace_sys.c)                              */
/* ===================================================================== */

/* Growable effects: kernel writes and map changes of one event.  Data is
 * kept by offset into `bytes` until strand_ptrace_fx_view() resolves
 * pointers; the view is valid until the next add or reset. */
struct strand_ptrace_fx {
	uint8_t *bytes;            /* payload of writes and maps */
	size_t nbytes, capbytes;
	struct { uint64_t addr; uint32_t len; size_t off; } *w;
	size_t nw, capw;
	struct { struct strand_mapchange mc; size_t off; bool has_data; char name[256]; } *m;
	size_t nm, capm;
	struct strand_memwrite *wview;   /* resolved views */
	struct strand_mapchange *mview;
	size_t capview_w, capview_m;
	uint64_t total_write_bytes;      /* statistics */
};

void strand_ptrace_fx_reset(struct strand_ptrace_fx *fx);
void strand_ptrace_fx_free(struct strand_ptrace_fx *fx);
/* Record len bytes at addr as a kernel write, reading them from the
 * tracee now.  Unreadable ranges are skipped (the kernel wrote nothing
 * there: it would have failed with EFAULT).  Returns false on OOM. */
bool strand_ptrace_fx_capture(struct strand_ptrace_fx *fx, int memfd,
			      uint64_t addr, uint64_t len);
/* Record given bytes as a write. */
bool strand_ptrace_fx_write(struct strand_ptrace_fx *fx, uint64_t addr,
			    const void *data, uint32_t len);
/* Add a map change; with_data reads size bytes from the tracee. */
bool strand_ptrace_fx_map(struct strand_ptrace_fx *fx, int memfd, uint32_t op,
			  uint64_t addr, uint64_t size, uint32_t prot,
			  uint32_t kind, const char *name, bool with_data);
/* Fill eff->writes/maps from fx (borrowed from fx). */
bool strand_ptrace_fx_view(struct strand_ptrace_fx *fx, struct strand_effects *eff);

/* How a syscall's memory effects are captured. */
typedef enum strand_ptrace_sysclass {
	STRAND_PTRACE_SYS_TABLE = 0,    /* the table knows what it writes */
	STRAND_PTRACE_SYS_FALLBACK = 1, /* unknown: snapshot-diff writable memory */
	STRAND_PTRACE_SYS_MAP = 2,      /* mapping change, handled by the loop */
	STRAND_PTRACE_SYS_SPECIAL = 3,  /* handled by the loop (clone, exec, ...) */
} strand_ptrace_sysclass;

/* Classify syscall `nr` with its arguments. */
strand_ptrace_sysclass strand_ptrace_sys_class(uint64_t nr, const uint64_t args[6]);

/* Name of syscall nr ("read"), or NULL if the table does not know it. */
const char *strand_ptrace_sys_name(uint64_t nr);

/* At syscall exit of a TABLE syscall: add to fx every byte the kernel
 * wrote to user memory.  Returns false on OOM. */
bool strand_ptrace_sys_capture(struct strand_ptrace_fx *fx, int memfd,
			       uint64_t nr, const uint64_t args[6], int64_t result);

/* ===================================================================== */
/* ELF symbols (ptrace_elf.c)                                             */
/* ===================================================================== */

/* Symbols of an ELF file, owned (strand_ptrace_elf_free). */
struct strand_ptrace_elf {
	struct strand_symbol *syms;  /* sorted by addr, absolute */
	uint32_t nsyms;
	char *strings;               /* storage of names */
	uint64_t span;               /* bytes from the lowest to the highest PT_LOAD end */
	bool is_dyn;                 /* ET_DYN (addresses relative to base) */
};

/* Parse `path` (a file, usually /proc/PID/map_files/... or the path in
 * maps) and relocate its symbols by `bias`.  A malformed file yields an
 * error naming the offset. */
strand_status strand_ptrace_elf_load(const char *path, uint64_t base,
				     struct strand_ptrace_elf *out, strand_error *err);
void strand_ptrace_elf_free(struct strand_ptrace_elf *e);

/* ===================================================================== */
/* CPU (ptrace_cpu.c)                                                     */
/* ===================================================================== */

/* Convert ptrace registers (+ FXSAVE area, may be NULL) to a strand_cpu. */
void strand_ptrace_cpu_from(const struct user_regs_struct *r,
			    const struct user_fpregs_struct *fp,
			    struct strand_cpu *cpu);

/* The cpuid answer the recorder gives for leaf/subleaf: the host's values
 * with every feature the replay emulator cannot execute masked out. */
void strand_ptrace_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* ===================================================================== */
/* int3 patching (ptrace_patch.c)                                         */
/* ===================================================================== */

/* The sweep of one executable range of a file, cached. */
struct strand_ptrace_sweep {
	uint64_t dev, ino, size, mtime_ns; /* the file's identity (stat) */
	uint64_t off, len;         /* the range swept: a section or segment, file offsets */
	bool cpuid;                /* cpuid instructions were looked for too */
	uint64_t *hits;            /* file offsets of the instructions found (owned) */
	size_t nhits;
};

/* Sweeps done so far by one recorder (and inherited by its children's
 * recorders, which are forked from it). */
struct strand_ptrace_sweeps {
	struct strand_ptrace_sweep *v; /* owned */
	size_t n;
};

void strand_ptrace_sweeps_free(struct strand_ptrace_sweeps *c);

/* Addresses of the rdtsc, rdtscp (and with `cpuid` the cpuid)
 * instructions of ELF file `path` mapped at map_addr from file offset
 * map_off for map_len bytes.  *out is owned (free()); a file that is not
 * ELF yields none.  `cache` (may be NULL) keeps each range's sweep for
 * the next mapping of the same file. */
strand_status strand_ptrace_find_nondet(struct strand_ptrace_sweeps *cache, const char *path,
				       uint64_t map_off, uint64_t map_len, uint64_t map_addr, bool cpuid,
				       uint64_t **out, size_t *nout, strand_error *err);

/* ===================================================================== */
/* Threads (ptrace_threads.c)                                             */
/* ===================================================================== */

/* Where a thread of the recorded process stands.  Exactly one thread has
 * the turn (runs user code); the others are held at a ptrace stop or run
 * a system call in the kernel. */
typedef enum strand_ptrace_task_state {
	STRAND_PTRACE_TASK_READY = 0,   /* held at a ptrace stop, waiting for the turn */
	STRAND_PTRACE_TASK_KERNEL = 1,  /* resumed into a syscall without the turn;
					   it stops at the syscall's exit */
	STRAND_PTRACE_TASK_RUNNING = 2, /* has the turn */
} strand_ptrace_task_state;

/* One thread of the recorded process. */
struct strand_ptrace_task {
	pid_t tid;
	strand_ptrace_task_state state;
	bool has_pending;          /* `pending` holds a stop not processed yet */
	int pending;               /* its wait status */
	bool inflight;             /* a syscall runs (or ran) in the kernel without
				      its SYSCALL record written yet */
	uint64_t inflight_nr;      /* that syscall and its arguments */
	uint64_t inflight_args[6];
	uint64_t clear_tid;        /* CLONE_CHILD_CLEARTID / set_tid_address
				      address, 0 if none */
	void *saved;               /* the recorder's per-thread state while the
				      thread does not have the turn (owned by
				      ptrace_rec.c), NULL while it has it */
};

/* The task table, keyed by tid.  Pointers into `v` are invalidated by
 * add and del. */
struct strand_ptrace_tasks {
	struct strand_ptrace_task *v;
	size_t n, cap;
	size_t rr;                 /* round-robin cursor for the next turn */
};

/* Add a task (READY, nothing pending); NULL when out of memory.  The
 * returned pointer lives until the next add or del. */
struct strand_ptrace_task *strand_ptrace_task_add(struct strand_ptrace_tasks *t, pid_t tid);
/* The task of tid, NULL if none (borrowed, as above). */
struct strand_ptrace_task *strand_ptrace_task_find(struct strand_ptrace_tasks *t, pid_t tid);
/* Remove tid's task (its `saved` must have been freed). */
void strand_ptrace_task_del(struct strand_ptrace_tasks *t, pid_t tid);
/* The next READY task after `cur` in round-robin order, not `cur`
 * itself; NULL if none. */
struct strand_ptrace_task *strand_ptrace_task_next(struct strand_ptrace_tasks *t, pid_t cur);
void strand_ptrace_tasks_free(struct strand_ptrace_tasks *t);

/* True if syscall nr with args may block for a time that depends on
 * another thread (futex wait, poll, sleep, sched_yield...): the thread is
 * left in the kernel and another one gets the turn at once. */
bool strand_ptrace_sys_may_block(uint64_t nr, const uint64_t args[6]);
/* True if syscall nr, while it runs in the kernel, writes no user
 * memory another thread could see before its record (futex wait,
 * sched_yield, nanosleep...). */
bool strand_ptrace_sys_inflight_pure(uint64_t nr, const uint64_t args[6]);
/* Addresses (up to max) of user memory that the in-flight syscalls of
 * tasks may write: their pointer arguments, and the buffers of their
 * iovecs (read through memfd).  A key frame leaves out the mappings
 * that contain them.  Returns the number written to out. */
size_t strand_ptrace_inflight_addrs(const struct strand_ptrace_tasks *t, int memfd,
				    uint64_t *out, size_t max);

/* Monotonic clock in seconds. */
double strand_ptrace_now(void);

/* Wait for a stop or end of any traced task until `deadline` (a
 * strand_ptrace_now() value; <= 0 waits without limit).  SIGCHLD must be
 * blocked in the calling thread.  Returns the pid (> 0) with *status, 0
 * at the deadline, or -1 with errno (EINTR: a signal handler ran). */
pid_t strand_ptrace_wait_until(int *status, double deadline);

/* ===================================================================== */
/* Process trees (ptrace_tree.c)                                          */
/* ===================================================================== */

/* A child process recorded by a recorder process of its own. */
struct strand_ptrace_kid {
	pid_t recorder;            /* the recorder process (our child) */
	pid_t pid, ppid;           /* the recorded child and its parent */
	char path[4096];           /* its trace, removed once embedded */
	bool reaped;               /* the recorder's end was seen */
	int status;                /* its wait status (valid when reaped) */
};

/* Exit status of a child's recorder that refused to record it (the
 * program does what the recorder cannot record): the whole recording
 * fails, from the child's parent up to the root. */
#define STRAND_PTRACE_KID_REFUSED 3

struct strand_ptrace_kids {
	struct strand_ptrace_kid *v; /* owned */
	size_t n;
};

/* Remember a child's recorder.  False on OOM. */
bool strand_ptrace_kids_add(struct strand_ptrace_kids *k, pid_t recorder, pid_t pid, pid_t ppid,
			    const char *path);
/* A wait for any child reported the end of p: true if p is one of the
 * recorders (its status kept for strand_ptrace_kids_embed). */
bool strand_ptrace_kids_reaped(struct strand_ptrace_kids *k, pid_t p, int status);
/* Wait for every child's recorder and write each complete child trace
 * into w at `position` as "process" + "process-data" notes
 * (docs/trace-format.md, "Process trees"); the child trace files are
 * removed.  A child whose recording failed is left out with a warning on
 * log (may be NULL); one whose recorder refused it
 * (STRAND_PTRACE_KID_REFUSED) fails with STRAND_ERR_UNSUPPORTED.  *embedded (may be NULL) counts the traces written. */
strand_status strand_ptrace_kids_embed(struct strand_ptrace_kids *k, struct strand_writer *w,
				       uint64_t position, uint32_t tid, FILE *log,
				       uint64_t *embedded, strand_error *err);
/* After a failed recording: stop the children's recorders (SIGTERM: they
 * stop their programs), wait for them and remove their traces. */
void strand_ptrace_kids_abandon(struct strand_ptrace_kids *k);
void strand_ptrace_kids_free(struct strand_ptrace_kids *k);

#endif
