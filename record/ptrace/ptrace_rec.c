#define _GNU_SOURCE /* sched_getcpu, CPU_SET, pipe2 */
/*
 * The Linux x86-64 ptrace recorder: runs a program under ptrace and writes
 * a strand trace with ordinal positions (STRAND_TRACE_F_ORDINAL_POSITIONS).
 * docs/linux-recorder.md describes the design; in short:
 *
 *  - fork, PTRACE_SEIZE in the child's SIGSTOP, exec.  At the exec's syscall-exit stop the
 *    recorder disables the vDSO (AT_SYSINFO_EHDR becomes AT_IGNORE in the
 *    auxv on the stack), injects prctl(PR_SET_TSC, PR_TSC_SIGSEGV) and
 *    arch_prctl(ARCH_SET_CPUID, 0) through a borrowed syscall instruction,
 *    and writes the snapshot: modules with symbols, every readable mapping,
 *    registers, auxv and argv.
 *  - Every syscall stops twice (PTRACE_SYSCALL).  At exit the recorder
 *    writes a SYSCALL record: result, register delta, the bytes the kernel
 *    wrote (ptrace_sys.c, or the snapshot-diff fallback) and mapping changes.
 *  - rdtsc, rdtscp and cpuid trap as SIGSEGV (si_code SI_KERNEL); the
 *    recorder answers, writes a NONDET record and suppresses the signal.
 *  - Signals are delivered where they stop the tracee.  In the middle of
 *    user code (a fault, an asynchronous signal) a KEYFRAME of the state
 *    comes first: finalize finds the position where that state recurs.
 *  - Threads run one at a time ("Threads" below, ptrace_threads.c): a
 *    switch at a waiting syscall, at a syscall exit or by preemption in
 *    user code (PTRACE_INTERRUPT + KEYFRAME), then THREAD_SWITCH.
 *  - Every position is the number of consuming events before the record.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include <cpuid.h>

#include "record/ptrace/ptrace_rec.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef ARCH_SET_CPUID
#define ARCH_SET_CPUID 0x1012
#endif
#ifndef PR_SET_TSC
#define PR_SET_TSC 26
#define PR_TSC_SIGSEGV 2
#endif

#define PAGE 4096ull
#define PAGE_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
#define SYSTRAP (SIGTRAP | 0x80)
#define STACK_RESERVE (8ull << 20) /* stack growth mapped below [stack] */

enum { CLONE_VM_ = 0x100, CLONE_VFORK_ = 0x4000, CLONE_THREAD_ = 0x10000,
       CLONE_PARENT_SETTID_ = 0x100000 };

struct module {
	uint32_t id;
	uint64_t base, size;
};

/* A copy of one writable mapping for the snapshot-diff fallback. */
struct snap {
	uint64_t start, end;
	uint8_t *data;
};

struct rec {
	const struct strand_ptrace_options *opt;
	struct strand_ptrace_result *res;
	pid_t pid;                      /* the thread with the turn (the process
					   itself while it has one thread) */
	pid_t tgid;                     /* the recorded process (its leader) */
	int memfd;                      /* /proc/PID/mem, O_RDWR */
	struct strand_writer *w;
	uint64_t ordinal;               /* consuming events written so far */
	struct strand_ptrace_fx fx;

	/* the syscall in progress (between its entry and exit stops) */
	bool in_syscall;
	struct user_regs_struct entry;  /* registers at the entry stop */
	uint64_t nr, args[6];
	strand_ptrace_sysclass klass;
	bool skipped;                   /* the recorder made the kernel skip it */
	bool fallback;                  /* `pre` holds the writable memory */
	struct snap *pre;
	size_t npre;

	/* syscall boundary: state after the last syscall exit */
	bool have_exit;
	struct user_regs_struct exit_raw; /* as the exit stop showed them */
	uint64_t nondet_at_exit;        /* res->nondet at that exit */
	struct strand_cpu after;        /* state at the boundary (adjusted) */
	bool exiting;                   /* exit_group written, final key frame done */

	uint64_t brk_cur;               /* program break, as the kernel knows it */
	uint64_t growth_lo, stack_hi;   /* stack growth region start, [stack] end */
	struct strand_ptrace_map *exec_old; /* maps at an execve's entry */
	size_t nexec_old;
	bool exec_done;                 /* PTRACE_EVENT_EXEC seen for it */
	struct module *mods;
	size_t nmods;
	uint32_t next_mod_id;
	uint64_t since_keyframe;        /* syscalls since the last key frame */
	uint64_t warned[8];             /* fallback syscalls already warned about */
	bool cpuid_patch;               /* no cpuid faulting: cpuid patched with int3 too */
	uint64_t *patched;              /* addresses of patched rdtsc/rdtscp/cpuid */
	size_t npatched;
	bool cpuid_faulting;            /* arch_prctl(ARCH_SET_CPUID, 0) is in effect */
	cpu_set_t affinity;             /* the recorder's CPU set before pin_cpu() */
	bool have_affinity;
	/* Child processes run unrecorded.  One that shares our memory
	 * (vfork, clone(CLONE_VM)) cannot have the patches undone, so it is
	 * escorted: traced without syscall stops until it execs or exits,
	 * its patched instructions answered natively. */
	pid_t *escort;
	size_t nescort;
	/* processes whose first stop was reported before the event of the
	 * process that created them */
	pid_t *early;
	size_t nearly;
	/* MAP_FIXED file mmap in progress: the bytes it replaces, to record
	 * only the pages whose contents change (ld.so maps a library's span
	 * first, then its segments over it with the same bytes) */
	uint8_t *fixed_old;             /* fixed_len bytes, NULL if none */
	uint8_t *fixed_valid;           /* one flag per page: old page readable */
	uint64_t shmdt_len;             /* shmdt in progress: size of the segment */
	char warning[512];              /* NOTE "warning" to write after the
					   current SYSCALL record, "" if none */
	uint64_t fixed_addr, fixed_len;

	/* Threads (see "Threads" below).  The fields above from in_syscall
	 * to exec_done, and these per-thread ones, describe the thread with
	 * the turn; the others' are kept in their task's `saved`. */
	struct strand_ptrace_tasks tasks; /* every thread, the one with the turn included */
	bool thread_clone;              /* the syscall in progress creates a thread */
	bool thread_exit;               /* this thread called exit (not exit_group) */
	struct strand_cpu entry_cpu;    /* full context at the syscall entry stop
					   (valid with have_entry_cpu) */
	bool have_entry_cpu;
	uint64_t clone_flags;           /* a thread creation in progress: its flags, */
	uint64_t clone_ptid, clone_ctid, clone_pidfd; /* and where the kernel writes */
	double sys_t0;                  /* when the syscall in progress entered the kernel */
	double turn_t0;                 /* when this thread got the turn */
	double slice;                   /* time slice, seconds */
	bool null_stdio[3];             /* the recording's own fd 1, 2 name the
					   null device (so the program's do too) */
	bool interrupting;              /* PTRACE_INTERRUPT sent, its stop not seen yet */
	double intr_t0;                 /* when it was sent */
	bool stray_stop;                /* this thread's next PTRACE_EVENT_STOP is an
					   interrupt already answered (yield_at_entry) */
	bool resume;                    /* the loop resumes the thread with the turn */
	bool have_next;                 /* next_status is the next stop to process */
	int next_status;
	struct { pid_t tid; struct strand_cpu cpu; } *born; /* threads to announce
					   after the clone's SYSCALL record */
	size_t nborn;
	uint64_t switches;              /* THREAD_SWITCH records */
	uint64_t preemptions;           /* of those, after a time slice in user code */

	/* Process trees (ptrace_tree.c) */
	struct strand_ptrace_kids kids; /* recorders of our child processes */
	char *cmdline;                  /* a child's argv (NUL-separated, owned), or
					   NULL: opt->argv */
	size_t cmdline_len;
	pid_t ppid;                     /* a child's parent process, 0 for the root */
	struct strand_ptrace_sweeps sweeps; /* rdtsc/cpuid sweeps of files, by identity
					   (a child's recorder starts with a copy) */
	pid_t exec_from;                /* an exec from a non-leader thread in progress:
					   that thread's tid (the kernel gave it the
					   leader's, r->pid is tgid again); 0 if none */
};

static bool is_exec_nr(uint64_t nr)
{
	return nr == 59 || nr == 322;
}

static char *read_proc(pid_t pid, const char *what, size_t *len);

static void free_fixed(struct rec *r)
{
	free(r->fixed_old);
	free(r->fixed_valid);
	r->fixed_old = NULL;
	r->fixed_valid = NULL;
	r->fixed_len = 0;
}

/* Syscall entry of mmap(MAP_FIXED) of a file: copy what it replaces. */
static void take_fixed_old(struct rec *r, uint64_t addr, uint64_t len)
{
	free_fixed(r);
	if (len == 0 || len > (256ull << 20) || (addr & (PAGE - 1)))
		return;
	r->fixed_old = malloc((size_t)len);
	r->fixed_valid = calloc((size_t)(len / PAGE), 1);
	if (!r->fixed_old || !r->fixed_valid) {
		free_fixed(r);
		return;
	}
	for (uint64_t off = 0; off < len; off += PAGE)
		r->fixed_valid[off / PAGE] =
			pread(r->memfd, r->fixed_old + off, PAGE, (off_t)(addr + off)) == (ssize_t)PAGE;
	r->fixed_addr = addr;
	r->fixed_len = len;
}

static void logf_(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct rec *r, const char *fmt, ...)
{
	if (!r->opt->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(r->opt->log, "strand record: ");
	vfprintf(r->opt->log, fmt, ap);
	fputc('\n', r->opt->log);
	va_end(ap);
}

static strand_status sys_err(strand_error *err, const char *what, pid_t pid)
{
	return strand_error_set(err, STRAND_ERR_RECORD, "%s (pid=%d): %s", what, (int)pid,
				strerror(errno));
}

static strand_status get_regs(struct rec *r, struct user_regs_struct *regs, strand_error *err)
{
	if (ptrace(PTRACE_GETREGS, r->pid, 0, regs) < 0)
		return sys_err(err, "PTRACE_GETREGS failed", r->pid);
	return STRAND_OK;
}

static strand_status set_regs(struct rec *r, const struct user_regs_struct *regs,
			      strand_error *err)
{
	if (ptrace(PTRACE_SETREGS, r->pid, 0, regs) < 0)
		return sys_err(err, "PTRACE_SETREGS failed", r->pid);
	return STRAND_OK;
}

/* Full context: registers + FXSAVE area. */
static strand_status get_cpu(struct rec *r, const struct user_regs_struct *regs,
			     struct strand_cpu *cpu, strand_error *err)
{
	struct user_fpregs_struct fp;
	if (ptrace(PTRACE_GETFPREGS, r->pid, 0, &fp) < 0)
		return sys_err(err, "PTRACE_GETFPREGS failed", r->pid);
	strand_ptrace_cpu_from(regs, &fp, cpu);
	return STRAND_OK;
}

/* Read the FXSAVE area into cpu (the tracee is at a stop where the FPU
 * state is the one cpu describes). */
static strand_status refresh_fx(struct rec *r, struct strand_cpu *cpu, strand_error *err)
{
	struct user_fpregs_struct fp;
	if (ptrace(PTRACE_GETFPREGS, r->pid, 0, &fp) < 0)
		return sys_err(err, "PTRACE_GETFPREGS failed", r->pid);
	memcpy(cpu->fxsave, &fp, sizeof cpu->fxsave < sizeof fp ? sizeof cpu->fxsave : sizeof fp);
	return STRAND_OK;
}

/* Write a record of thread tid. */
static strand_status put_as(struct rec *r, struct strand_record *rec, pid_t tid, strand_error *err)
{
	rec->tid = (uint32_t)tid;
	strand_status st = strand_writer_put(r->w, rec, err);
	if (st != STRAND_OK)
		return strand_error_wrap(err, st, "cannot write %s record at position %" PRIu64,
					 strand_rec_type_str(rec->type), rec->position);
	return STRAND_OK;
}

/* Write a record of the thread with the turn. */
static strand_status put(struct rec *r, struct strand_record *rec, strand_error *err)
{
	return put_as(r, rec, r->pid, err);
}

/* True if [start, end) holds one of the n addresses. */
static bool holds_any(uint64_t start, uint64_t end, const uint64_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] >= start && a[i] < end)
			return true;
	return false;
}

/* ===================================================================== */
/* Key frames                                                             */
/* ===================================================================== */

/* Key frame of the current memory with `cpu` as the running thread;
 * without `digests` the registers only.  While other threads have
 * syscalls in flight, the mappings those may write are left out (their
 * kernel writes are recorded later, with their SYSCALL records). */
static strand_status write_keyframe_ex(struct rec *r, const struct strand_cpu *cpu,
				       bool digests, strand_error *err)
{
	struct strand_ptrace_map *maps = NULL;
	size_t nmaps = 0;
	struct strand_digest *dg = NULL;
	uint8_t *buf = NULL;
	size_t bufcap = 0, nd = 0;
	uint64_t excl[256];
	size_t nexcl = r->tasks.n > 1 ? strand_ptrace_inflight_addrs(&r->tasks, r->memfd, excl, 256) : 0;
	strand_status st = digests ? strand_ptrace_maps(r->pid, &maps, &nmaps, err) : STRAND_OK;
	if (st != STRAND_OK)
		return st;
	dg = calloc(nmaps ? nmaps : 1, sizeof *dg);
	if (!dg) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nmaps; i++) {
		struct strand_ptrace_map *m = &maps[i];
		if (!(m->prot & STRAND_PROT_WRITE) || !strcmp(m->path, "[vvar]") ||
		    !strcmp(m->path, "[vsyscall]") || holds_any(m->start, m->end, excl, nexcl))
			continue;
		size_t len = (size_t)(m->end - m->start);
		if (len > bufcap) {
			void *t = realloc(buf, len);
			if (!t) {
				st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
				goto out;
			}
			buf = t;
			bufcap = len;
		}
		strand_ptrace_read(r->memfd, m->start, buf, len);
		dg[nd].addr = m->start;
		dg[nd].size = len;
		dg[nd].hash = strand_digest(buf, len);
		nd++;
	}
	struct strand_keyframe_thread th = { .tid = (uint32_t)r->pid, .cpu = *cpu };
	struct strand_record rec = { .type = STRAND_REC_KEYFRAME, .position = r->ordinal };
	rec.u.keyframe.nthreads = 1;
	rec.u.keyframe.threads = &th;
	rec.u.keyframe.ndigests = (uint32_t)nd;
	rec.u.keyframe.digests = dg;
	st = put(r, &rec, err);
	r->res->keyframes++;
	r->since_keyframe = 0;
out:
	free(buf);
	free(dg);
	free(maps);
	return st;
}

static strand_status write_keyframe(struct rec *r, const struct strand_cpu *cpu,
				    strand_error *err)
{
	return write_keyframe_ex(r, cpu, true, err);
}

/* ===================================================================== */
/* Modules                                                                */
/* ===================================================================== */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* MODULE record for the ELF file `path` mapped at `base` (if it is one). */
static strand_status add_module(struct rec *r, const char *path, const char *open_path,
				uint64_t base, uint64_t min_size, bool main_exe,
				strand_error *err)
{
	for (size_t i = 0; i < r->nmods; i++)
		if (r->mods[i].base == base)
			return STRAND_OK;
	struct strand_ptrace_elf elf;
	strand_error e2;
	if (strand_ptrace_elf_load(open_path, base, &elf, &e2) != STRAND_OK) {
		logf_(r, "no symbols for %s: %s", path, e2.msg);
		memset(&elf, 0, sizeof elf);
	}
	struct module *t = realloc(r->mods, (r->nmods + 1) * sizeof *t);
	if (!t) {
		strand_ptrace_elf_free(&elf);
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	}
	r->mods = t;
	struct module *m = &r->mods[r->nmods++];
	m->id = ++r->next_mod_id;
	m->base = base;
	m->size = PAGE_UP(elf.span > min_size ? elf.span : min_size);

	struct strand_record rec = { .type = STRAND_REC_MODULE, .position = r->ordinal };
	rec.u.module.id = m->id;
	rec.u.module.flags = main_exe ? STRAND_MODULE_F_MAIN : 0;
	rec.u.module.base = base;
	rec.u.module.size = m->size;
	rec.u.module.name = base_name(path);
	rec.u.module.path = path;
	rec.u.module.nsyms = elf.nsyms;
	rec.u.module.syms = elf.syms;
	strand_status st = put(r, &rec, err);
	strand_ptrace_elf_free(&elf);
	return st;
}

static bool is_module_base(struct rec *r, uint64_t addr, size_t *idx)
{
	for (size_t i = 0; i < r->nmods; i++)
		if (r->mods[i].base == addr) {
			*idx = i;
			return true;
		}
	return false;
}

/* ===================================================================== */
/* int3 patching of rdtsc, rdtscp, cpuid (ptrace_patch.c)                */
/* ===================================================================== */

/* Write int3 over every rdtsc/rdtscp (and cpuid without cpuid faulting) of
 * the ELF file `path` mapped at addr from file offset off for len bytes.
 * Call only after the mapping's bytes were captured for the trace. */
static strand_status patch_nondet(struct rec *r, const char *path, uint64_t off, uint64_t len,
				  uint64_t addr, strand_error *err)
{
	uint64_t *v = NULL;
	size_t n = 0;
	strand_error e2;
	if (strand_ptrace_find_nondet(&r->sweeps, path, off, len, addr, r->cpuid_patch, &v, &n, &e2) !=
	    STRAND_OK) {
		logf_(r, "warning: cannot look for rdtsc/cpuid in %s: %s", path, e2.msg);
		return STRAND_OK;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t b[3];
		if (!strand_ptrace_read_exact(r->memfd, v[i], b, 3) || b[0] != 0x0f ||
		    (b[1] != 0xa2 && b[1] != 0x31 && !(b[1] == 0x01 && b[2] == 0xf9)))
			continue;
		uint8_t cc = 0xcc;
		if (pwrite(r->memfd, &cc, 1, (off_t)v[i]) != 1) {
			free(v);
			return sys_err(err, "cannot patch cpuid", r->pid);
		}
		uint64_t *t = realloc(r->patched, (r->npatched + 1) * sizeof *t);
		if (!t) {
			free(v);
			return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		}
		r->patched = t;
		r->patched[r->npatched++] = v[i];
	}
	free(v);
	return STRAND_OK;
}

/* Patch the executable file mappings that intersect [lo, hi). */
static strand_status patch_range(struct rec *r, uint64_t lo, uint64_t hi, strand_error *err)
{
	struct strand_ptrace_map *maps = NULL;
	size_t n = 0;
	strand_status st = strand_ptrace_maps(r->pid, &maps, &n, err);
	if (st != STRAND_OK)
		return st;
	for (size_t i = 0; i < n && st == STRAND_OK; i++) {
		struct strand_ptrace_map *m = &maps[i];
		if (!(m->prot & STRAND_PROT_EXEC) || m->path[0] != '/' || m->end <= lo || m->start >= hi)
			continue;
		char mf[128];
		snprintf(mf, sizeof mf, "/proc/%d/map_files/%llx-%llx", (int)r->pid,
			 (unsigned long long)m->start, (unsigned long long)m->end);
		st = patch_nondet(r, access(mf, R_OK) == 0 ? mf : m->path, m->offset,
				 m->end - m->start, m->start, err);
	}
	free(maps);
	return st;
}

/* ===================================================================== */
/* Child processes: released unrecorded, as they would run natively       */
/* ===================================================================== */

/* Forget the patched addresses in [lo, hi) (unmapped or mapped over). */
static void forget_patches(struct rec *r, uint64_t lo, uint64_t hi)
{
	size_t k = 0;
	for (size_t i = 0; i < r->npatched; i++)
		if (r->patched[i] < lo || r->patched[i] >= hi)
			r->patched[k++] = r->patched[i];
	r->npatched = k;
}

/* mremap moved [old, old + len) to new_addr: the patches moved with it. */
static void move_patches(struct rec *r, uint64_t old, uint64_t len, uint64_t new_addr,
			 uint64_t new_len)
{
	size_t k = 0;
	for (size_t i = 0; i < r->npatched; i++) {
		uint64_t a = r->patched[i];
		if (a >= old && a < old + len) {
			if (a - old >= new_len)
				continue; /* shrunk away */
			a = new_addr + (a - old);
		}
		r->patched[k++] = a;
	}
	r->npatched = k;
}

static bool is_patched(const struct rec *r, uint64_t addr)
{
	for (size_t i = 0; i < r->npatched; i++)
		if (r->patched[i] == addr)
			return true;
	return false;
}

static bool pid_in(const pid_t *v, size_t n, pid_t p, size_t *idx)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == p) {
			if (idx)
				*idx = i;
			return true;
		}
	return false;
}

static bool pid_add(pid_t **v, size_t *n, pid_t p)
{
	pid_t *t = realloc(*v, (*n + 1) * sizeof *t);
	if (!t)
		return false;
	*v = t;
	t[(*n)++] = p;
	return true;
}

static void pid_del(pid_t *v, size_t *n, size_t idx)
{
	v[idx] = v[--*n];
}

/* Wait for the next stop of `pid` (not the recorded process). */
static strand_status wait_pid_stop(pid_t pid, int *status, strand_error *err)
{
	for (;;) {
		pid_t p = waitpid(pid, status, __WALL);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return sys_err(err, "waitpid failed", pid);
		if (WIFSTOPPED(*status))
			return STRAND_OK;
		return strand_error_set(err, STRAND_ERR_RECORD, "child process ended (status=0x%x)",
					*status);
	}
}

/* Make stopped process `pid` run syscall nr(a0, a1) through the syscall
 * instruction at `at` (which must hold 0f 05), from a signal-delivery or
 * syscall-exit stop.  Registers are left as the syscall exit shows them;
 * the caller restores its own. */
static strand_status inject_syscall(pid_t pid, const struct user_regs_struct *base, uint64_t at,
				    long nr, long a0, long a1, long *result, strand_error *err)
{
	struct user_regs_struct regs = *base;
	regs.rip = at;
	regs.rax = (uint64_t)nr;
	regs.orig_rax = (uint64_t)-1;
	regs.rdi = (uint64_t)a0;
	regs.rsi = (uint64_t)a1;
	if (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0)
		return sys_err(err, "PTRACE_SETREGS failed", pid);
	int status;
	for (int stop = 0; stop < 2; stop++) { /* entry stop, exit stop */
		if (ptrace(PTRACE_SYSCALL, pid, 0, 0) < 0)
			return sys_err(err, "PTRACE_SYSCALL failed", pid);
		strand_status st = wait_pid_stop(pid, &status, err);
		if (st != STRAND_OK)
			return st;
		if (WSTOPSIG(status) != SYSTRAP)
			return strand_error_set(err, STRAND_ERR_RECORD,
						"injected syscall %ld in pid=%d: unexpected stop signal=%d",
						nr, (int)pid, WSTOPSIG(status));
	}
	if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
		return sys_err(err, "PTRACE_GETREGS failed", pid);
	*result = (long)regs.rax;
	return STRAND_OK;
}

/* True if the process that `creator` (stopped at a fork/vfork/clone event)
 * just created shares its memory. */
static bool created_shares_vm(pid_t creator, int memfd)
{
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, creator, 0, &regs) < 0)
		return false;
	switch (regs.orig_rax) {
	case 58: /* vfork */
		return true;
	case 56: /* clone(flags, ...) */
		return regs.rdi & CLONE_VM_;
	case 435: { /* clone3(args, size): flags first */
		uint64_t flags = 0;
		if (memfd >= 0 && strand_ptrace_read_exact(memfd, regs.rdi, &flags, 8))
			return flags & CLONE_VM_;
		char mp[64];
		snprintf(mp, sizeof mp, "/proc/%d/mem", (int)creator);
		int fd = open(mp, O_RDONLY | O_CLOEXEC);
		bool ok = fd >= 0 && strand_ptrace_read_exact(fd, regs.rdi, &flags, 8);
		if (fd >= 0)
			close(fd);
		return ok ? (flags & CLONE_VM_) != 0 : true;
	}
	default:
		return false;
	}
}

/* Undo in child `pid` (at its first stop, right after the fork syscall
 * instruction) everything recording did to the process it was forked
 * from: the TSC mode, cpuid faulting, the CPU pinning and, unless it
 * shares the recorded process's memory, the int3 patches.  The child is
 * left stopped at the exit of an injected syscall with its own registers
 * back. */
static strand_status undo_recording(struct rec *r, pid_t pid, bool shares_vm, strand_error *err)
{
	struct user_regs_struct regs;
	strand_status st;
	long res = 0;
	if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
		return sys_err(err, "PTRACE_GETREGS failed", pid);
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)(regs.rip - 2), 0);
	if (errno || (word & 0xffff) != 0x050f)
		return strand_error_set(err, STRAND_ERR_RECORD,
					"child pid=%d: no syscall instruction before pc=0x%llx",
					(int)pid, (unsigned long long)regs.rip);
	if ((st = inject_syscall(pid, &regs, regs.rip - 2, SYS_prctl, PR_SET_TSC,
				 1 /* PR_TSC_ENABLE */, &res, err)) != STRAND_OK)
		return st;
	if (res != 0)
		return strand_error_set(err, STRAND_ERR_RECORD,
					"child pid=%d: prctl(PR_SET_TSC, PR_TSC_ENABLE) = %ld", (int)pid, res);
	if (r->cpuid_faulting &&
	    (st = inject_syscall(pid, &regs, regs.rip - 2, SYS_arch_prctl, ARCH_SET_CPUID, 1, &res,
				 err)) != STRAND_OK)
		return st;
	if (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0)
		return sys_err(err, "PTRACE_SETREGS failed", pid);
	if (r->have_affinity)
		sched_setaffinity(pid, sizeof r->affinity, &r->affinity);
	if (shares_vm || !r->npatched)
		return STRAND_OK;
	char mp[64];
	snprintf(mp, sizeof mp, "/proc/%d/mem", (int)pid);
	int fd = open(mp, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return sys_err(err, "cannot open the child's /proc/PID/mem", pid);
	for (size_t i = 0; i < r->npatched; i++) {
		uint8_t b = 0, orig = 0x0f; /* every patched instruction starts with 0f */
		if (pread(fd, &b, 1, (off_t)r->patched[i]) == 1 && b == 0xcc &&
		    pwrite(fd, &orig, 1, (off_t)r->patched[i]) != 1) {
			st = sys_err(err, "cannot restore a patched instruction in the child", pid);
			break;
		}
	}
	close(fd);
	return st;
}

/* True if the process that `creator` (stopped at a fork/vfork/clone
 * event) just created runs in its memory only until it execs or exits
 * (vfork, CLONE_VFORK): the creator waits meanwhile. */
static bool created_by_vfork(pid_t creator)
{
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, creator, 0, &regs) < 0)
		return false;
	if (regs.orig_rax == 58)
		return true;
	if (regs.orig_rax == 56)
		return regs.rdi & CLONE_VFORK_;
	if (regs.orig_rax == 435) {
		uint64_t flags = 0;
		char mp[64];
		snprintf(mp, sizeof mp, "/proc/%d/mem", (int)creator);
		int fd = open(mp, O_RDONLY | O_CLOEXEC);
		bool ok = fd >= 0 && strand_ptrace_read_exact(fd, regs.rdi, &flags, 8);
		if (fd >= 0)
			close(fd);
		return ok && (flags & CLONE_VFORK_);
	}
	return false;
}

static strand_status follow_child(struct rec *r, pid_t c, strand_error *err);

/* `creator` (the recorded process or an escorted one) stopped at a
 * fork/vfork/clone event: record the new process (follow_child), or
 * with --no-follow (and for a process that shares our memory without
 * vfork's wait) release it unrecorded. */
static strand_status on_new_child(struct rec *r, pid_t creator, strand_error *err)
{
	unsigned long msg = 0;
	if (ptrace(PTRACE_GETEVENTMSG, creator, 0, &msg) < 0)
		return sys_err(err, "PTRACE_GETEVENTMSG failed", creator);
	pid_t c = (pid_t)msg;
	bool shares_vm = created_shares_vm(creator, creator == r->pid ? r->memfd : -1);
	size_t idx;
	int status;
	if (pid_in(r->early, r->nearly, c, &idx)) {
		pid_del(r->early, &r->nearly, idx);
	} else {
		strand_status st = wait_pid_stop(c, &status, err);
		if (st != STRAND_OK) {
			logf_(r, "warning: child pid=%d ended before its first instruction", (int)c);
			return STRAND_OK;
		}
	}
	bool escorting = pid_in(r->escort, r->nescort, creator, NULL);
	if (!r->opt->no_follow && !escorting && (!shares_vm || created_by_vfork(creator)))
		return follow_child(r, c, err);
	strand_status st = undo_recording(r, c, shares_vm, err);
	if (st != STRAND_OK) {
		/* it cannot run as it would natively: do not let it run */
		kill(c, SIGKILL);
		ptrace(PTRACE_DETACH, c, 0, 0);
		return strand_error_wrap(err, st, "cannot release child process pid=%d", (int)c);
	}
	r->res->children++;
	if (!shares_vm) {
		if (ptrace(PTRACE_DETACH, c, 0, 0) < 0)
			return sys_err(err, "PTRACE_DETACH failed", c);
		return STRAND_OK;
	}
	if (!pid_add(&r->escort, &r->nescort, c))
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	if (ptrace(PTRACE_CONT, c, 0, 0) < 0)
		return sys_err(err, "PTRACE_CONT failed", c);
	return STRAND_OK;
}

/* A patched rdtsc/rdtscp/cpuid trapped in an escorted (unrecorded) child:
 * answer it as the CPU would.  False if `pid` is not at one. */
static bool answer_natively(struct rec *r, pid_t pid)
{
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0 || !is_patched(r, regs.rip - 1))
		return false;
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)(regs.rip - 1), 0);
	if (errno)
		return false;
	uint8_t b1 = (uint8_t)(word >> 8), b2 = (uint8_t)(word >> 16);
	uint64_t pc = regs.rip - 1;
	if (b1 == 0x31) {
		uint64_t t = __rdtsc();
		regs.rax = (uint32_t)t;
		regs.rdx = t >> 32;
		regs.rip = pc + 2;
	} else if (b1 == 0x01 && b2 == 0xf9) {
		unsigned aux = 0;
		uint64_t t = __rdtscp(&aux);
		regs.rax = (uint32_t)t;
		regs.rdx = t >> 32;
		regs.rcx = aux;
		regs.rip = pc + 3;
	} else if (b1 == 0xa2) {
		unsigned a = 0, b = 0, c = 0, d = 0;
		__cpuid_count((unsigned)regs.rax, (unsigned)regs.rcx, a, b, c, d);
		regs.rax = a;
		regs.rbx = b;
		regs.rcx = c;
		regs.rdx = d;
		regs.rip = pc + 2;
	} else {
		return false;
	}
	return ptrace(PTRACE_SETREGS, pid, 0, &regs) == 0;
}

/* A stop or the end of a process other than the recorded one: an
 * escorted child, or a new child whose first stop came before its
 * creator's event. */
static strand_status on_other(struct rec *r, pid_t pid, int status, strand_error *err)
{
	size_t idx;
	bool escorted = pid_in(r->escort, r->nescort, pid, &idx);
	if (!WIFSTOPPED(status) && strand_ptrace_kids_reaped(&r->kids, pid, status))
		return STRAND_OK;
	if (!WIFSTOPPED(status)) {
		if (escorted)
			pid_del(r->escort, &r->nescort, idx);
		return STRAND_OK;
	}
	if (!escorted) {
		if (!pid_in(r->early, r->nearly, pid, NULL) && !pid_add(&r->early, &r->nearly, pid))
			return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		return STRAND_OK; /* released at its creator's event */
	}
	int sig = WSTOPSIG(status), ev = status >> 16, resume = 0;
	if (sig == SIGTRAP && ev == PTRACE_EVENT_EXEC) {
		/* a new address space without patches; TSC mode and cpuid
		 * faulting were undone already */
		pid_del(r->escort, &r->nescort, idx);
		if (ptrace(PTRACE_DETACH, pid, 0, 0) < 0 && errno != ESRCH)
			return sys_err(err, "PTRACE_DETACH failed", pid);
		return STRAND_OK;
	}
	if (sig == SIGTRAP && (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK ||
			       ev == PTRACE_EVENT_CLONE)) {
		strand_status st = on_new_child(r, pid, err);
		if (st != STRAND_OK)
			return st;
	} else if (sig == SIGTRAP && ev) {
		/* PTRACE_EVENT_EXIT and the like */
	} else if (sig == SYSTRAP) {
		/* not asked for; go on */
	} else if (sig == SIGTRAP && answer_natively(r, pid)) {
		/* answered */
	} else {
		siginfo_t si;
		if (ptrace(PTRACE_GETSIGINFO, pid, 0, &si) == 0)
			resume = sig; /* its own signal: deliver it */
	}
	if (ptrace(PTRACE_CONT, pid, 0, (void *)(uintptr_t)resume) < 0 && errno != ESRCH)
		return sys_err(err, "PTRACE_CONT failed", pid);
	return STRAND_OK;
}

/* ===================================================================== */
/* Snapshot                                                               */
/* ===================================================================== */

/* Disable the vDSO: AT_SYSINFO_EHDR becomes AT_IGNORE in the auxv on the
 * stack.  Fills *auxv (owned) with the rewritten vector. */
static strand_status rewrite_auxv(struct rec *r, const struct user_regs_struct *regs,
				  uint8_t **auxv, size_t *auxv_len, strand_error *err)
{
	uint64_t sp = regs->rsp, argc = 0, v = 0;
	if (!strand_ptrace_read_exact(r->memfd, sp, &argc, 8) || argc > 1u << 20)
		return strand_error_set(err, STRAND_ERR_RECORD, "cannot read argc at sp=0x%" PRIx64, sp);
	uint64_t p = sp + 8 + (argc + 1) * 8; /* envp */
	for (int guard = 0; guard < 1 << 20; guard++, p += 8) {
		if (!strand_ptrace_read_exact(r->memfd, p, &v, 8))
			return strand_error_set(err, STRAND_ERR_RECORD, "cannot read envp at 0x%" PRIx64, p);
		if (v == 0)
			break;
	}
	uint64_t au = p + 8, pair[2];
	size_t n = 0;
	uint8_t *out = NULL;
	for (;; n++) {
		if (n > 512 || !strand_ptrace_read_exact(r->memfd, au + n * 16, pair, 16)) {
			free(out);
			return strand_error_set(err, STRAND_ERR_RECORD, "cannot read auxv at 0x%" PRIx64, au);
		}
		if (pair[0] == 33 /* AT_SYSINFO_EHDR */) {
			pair[0] = 1; /* AT_IGNORE */
			if (pwrite(r->memfd, pair, 8, (off_t)(au + n * 16)) != 8) {
				free(out);
				return sys_err(err, "cannot rewrite AT_SYSINFO_EHDR", r->pid);
			}
		}
		uint8_t *t = realloc(out, (n + 1) * 16);
		if (!t) {
			free(out);
			return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		}
		out = t;
		memcpy(out + n * 16, pair, 16);
		if (pair[0] == 0)
			break;
	}
	*auxv = out;
	*auxv_len = (n + 1) * 16;
	return STRAND_OK;
}

/* Wait for the next stop of the tracee; fails if it is gone. */
static strand_status wait_stop(struct rec *r, int *status, strand_error *err)
{
	for (;;) {
		pid_t p = waitpid(r->pid, status, __WALL);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return sys_err(err, "waitpid failed", r->pid);
		if (WIFSTOPPED(*status))
			return STRAND_OK;
		return strand_error_set(err, STRAND_ERR_RECORD,
					"tracee ended during setup (status=0x%x)", *status);
	}
}

/* Make the tracee run syscall nr(a0, a1) now, through a syscall
 * instruction written over its current instruction and then restored. */
static strand_status inject_here(struct rec *r, const struct user_regs_struct *regs0, long nr,
				 long a0, long a1, long *result, strand_error *err)
{
	strand_status st;
	int status;
	uint64_t pc = regs0->rip;
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, r->pid, (void *)pc, 0);
	if (errno)
		return sys_err(err, "PTRACE_PEEKTEXT at the entry point failed", r->pid);
	long patched = (word & ~0xffffL) | 0x050f; /* syscall = 0f 05 */
	if (ptrace(PTRACE_POKETEXT, r->pid, (void *)pc, (void *)patched) < 0)
		return sys_err(err, "PTRACE_POKETEXT failed", r->pid);
	struct user_regs_struct regs = *regs0;
	regs.rax = (uint64_t)nr;
	regs.orig_rax = (uint64_t)-1;
	regs.rdi = (uint64_t)a0;
	regs.rsi = (uint64_t)a1;
	if ((st = set_regs(r, &regs, err)) != STRAND_OK)
		return st;
	for (int stop = 0; stop < 2; stop++) { /* entry stop, exit stop */
		if (ptrace(PTRACE_SYSCALL, r->pid, 0, 0) < 0)
			return sys_err(err, "PTRACE_SYSCALL failed", r->pid);
		if ((st = wait_stop(r, &status, err)) != STRAND_OK)
			return st;
		if (WSTOPSIG(status) != SYSTRAP)
			return strand_error_set(err, STRAND_ERR_RECORD,
						"injected syscall %ld: unexpected stop signal=%d",
						nr, WSTOPSIG(status));
	}
	if ((st = get_regs(r, &regs, err)) != STRAND_OK)
		return st;
	*result = (long)regs.rax;
	if (ptrace(PTRACE_POKETEXT, r->pid, (void *)pc, (void *)word) < 0)
		return sys_err(err, "PTRACE_POKETEXT (restore) failed", r->pid);
	return set_regs(r, regs0, err);
}

/* start_brk from /proc/PID/stat (field 47). */
static uint64_t read_start_brk(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* comm may contain spaces */
	if (!p)
		return 0;
	int field = 2;
	uint64_t v = 0;
	for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
		field++;
		if (field == 47) {
			v = strtoull(tok, NULL, 10);
			break;
		}
	}
	return v;
}

static uint32_t region_kind(const struct strand_ptrace_map *m, bool is_module)
{
	if (!strcmp(m->path, "[stack]"))
		return STRAND_REGION_STACK;
	if (!strcmp(m->path, "[heap]"))
		return STRAND_REGION_HEAP;
	if (!strcmp(m->path, "[vdso]"))
		return STRAND_REGION_SHARED;
	if (m->path[0] == '/')
		return is_module ? STRAND_REGION_IMAGE : STRAND_REGION_FILE;
	return STRAND_REGION_ANON;
}

/* True if the mapping belongs to a module of the snapshot. */
static bool in_module(struct rec *r, uint64_t addr)
{
	for (size_t i = 0; i < r->nmods; i++)
		if (addr >= r->mods[i].base && addr < r->mods[i].base + r->mods[i].size)
			return true;
	return false;
}

/* MODULE records for every ELF file mapped at offset 0. */
static strand_status emit_modules(struct rec *r, const struct strand_ptrace_map *maps,
				  size_t nmaps, const char *exe, strand_error *err)
{
	for (size_t i = 0; i < nmaps; i++) {
		const struct strand_ptrace_map *m = &maps[i];
		if (m->path[0] != '/' || m->offset != 0)
			continue;
		uint8_t magic[4];
		if (!strand_ptrace_read_exact(r->memfd, m->start, magic, 4) ||
		    memcmp(magic, "\x7f" "ELF", 4))
			continue;
		uint64_t end = m->end;
		for (size_t j = i + 1; j < nmaps && !strcmp(maps[j].path, m->path); j++)
			end = maps[j].end;
		strand_status st = add_module(r, m->path, m->path, m->start, end - m->start,
					      !strcmp(m->path, exe), err);
		if (st != STRAND_OK)
			return st;
	}
	return STRAND_OK;
}

/* The program's own bytes in buf (len bytes read at addr): a child
 * process's snapshot is taken with its parent's int3 patches in place. */
static void unpatch(const struct rec *r, uint64_t addr, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < r->npatched; i++)
		if (r->patched[i] >= addr && r->patched[i] - addr < len &&
		    buf[r->patched[i] - addr] == 0xcc)
			buf[r->patched[i] - addr] = 0x0f; /* every patched instruction starts with 0f */
}

/* Every readable mapping, with its bytes, and room below [stack] for the
 * stack to grow: as snapshot REGION records, or (as_events) as MAP changes
 * in r->fx.  Sets r->growth_lo and r->stack_hi. */
static strand_status emit_regions(struct rec *r, const struct strand_ptrace_map *maps,
				  size_t nmaps, bool as_events, strand_error *err)
{
	strand_status st = STRAND_OK;
	uint8_t *buf = NULL;
	uint64_t prev_end = 0;
	for (size_t i = 0; i < nmaps; i++) {
		const struct strand_ptrace_map *m = &maps[i];
		if (!strncmp(m->path, "[vvar", 5) || !strcmp(m->path, "[vsyscall]") ||
		    !(m->prot & STRAND_PROT_READ)) {
			prev_end = m->end;
			continue;
		}
		uint32_t kind = region_kind(m, in_module(r, m->start));
		const char *name = kind == STRAND_REGION_IMAGE ? base_name(m->path) : m->path;
		if (kind == STRAND_REGION_STACK) {
			uint64_t lo = m->start > STACK_RESERVE ? m->start - STACK_RESERVE : 0;
			if (lo < prev_end + PAGE)
				lo = prev_end + PAGE;
			if (lo < m->start) {
				struct strand_mapchange g = { .op = STRAND_MAP_MAP,
					.prot = STRAND_PROT_READ | STRAND_PROT_WRITE, .addr = lo,
					.size = m->start - lo, .kind = STRAND_REGION_STACK,
					.name = "[stack growth]", .data = NULL };
				if (as_events) {
					if (!strand_ptrace_fx_map(&r->fx, r->memfd, g.op, g.addr, g.size,
								  g.prot, g.kind, g.name, false))
						goto oom;
				} else {
					struct strand_record rec = { .type = STRAND_REC_REGION };
					rec.u.region = g;
					if ((st = put(r, &rec, err)) != STRAND_OK)
						goto out;
				}
			}
			r->growth_lo = lo < m->start ? lo : m->start;
			r->stack_hi = m->end;
		}
		size_t len = (size_t)(m->end - m->start);
		if (as_events) {
			if (!strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_MAP, m->start, len,
						  m->prot, kind, name, true))
				goto oom;
		} else {
			free(buf);
			buf = malloc(len);
			if (!buf)
				goto oom;
			strand_ptrace_read(r->memfd, m->start, buf, len);
			unpatch(r, m->start, buf, len);
			struct strand_record rec = { .type = STRAND_REC_REGION, .position = 0 };
			rec.u.region = (struct strand_mapchange){ .op = STRAND_MAP_MAP, .prot = m->prot,
				.addr = m->start, .size = len, .kind = kind, .name = name, .data = buf };
			if ((st = put(r, &rec, err)) != STRAND_OK)
				goto out;
		}
		prev_end = m->end;
	}
	goto out;
oom:
	st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
out:
	free(buf);
	return st;
}

static strand_status write_snapshot(struct rec *r, const uint8_t *auxv, size_t auxv_len,
				    strand_error *err)
{
	struct strand_ptrace_map *maps = NULL;
	size_t nmaps = 0;
	uint8_t *buf = NULL, *argvbuf = NULL;
	char exe[4096] = "", path[64];
	strand_status st = strand_ptrace_maps(r->pid, &maps, &nmaps, err);
	if (st != STRAND_OK)
		return st;
	snprintf(path, sizeof path, "/proc/%d/exe", (int)r->pid);
	ssize_t el = readlink(path, exe, sizeof exe - 1);
	exe[el > 0 ? el : 0] = 0;

	if ((st = emit_modules(r, maps, nmaps, exe, err)) != STRAND_OK ||
	    (st = emit_regions(r, maps, nmaps, false, err)) != STRAND_OK)
		goto out;
	uint64_t stack_lo = r->growth_lo, stack_hi = r->stack_hi;

	/* the thread */
	struct user_regs_struct regs;
	if ((st = get_regs(r, &regs, err)) != STRAND_OK)
		goto out;
	struct strand_record th = { .type = STRAND_REC_THREAD, .position = 0 };
	if ((st = get_cpu(r, &regs, &th.u.thread.cpu, err)) != STRAND_OK)
		goto out;
	th.u.thread.stack_base = stack_hi;
	th.u.thread.stack_limit = stack_lo;
	th.u.thread.name = base_name(exe);
	if ((st = put(r, &th, err)) != STRAND_OK)
		goto out;
	r->after = th.u.thread.cpu;

	/* notes: auxv (as the program sees it), argv (NUL-separated) */
	struct strand_record note = { .type = STRAND_REC_NOTE, .position = 0 };
	note.u.note.key = "auxv";
	note.u.note.len = (uint32_t)auxv_len;
	note.u.note.data = auxv;
	if ((st = put(r, &note, err)) != STRAND_OK)
		goto out;
	size_t alen = 0;
	for (char *const *a = r->opt->argv; *a; a++)
		alen += strlen(*a) + 1;
	argvbuf = malloc(alen ? alen : 1);
	if (!argvbuf) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		goto out;
	}
	alen = 0;
	for (char *const *a = r->opt->argv; *a; a++) {
		memcpy(argvbuf + alen, *a, strlen(*a) + 1);
		alen += strlen(*a) + 1;
	}
	note.u.note.key = "argv";
	note.u.note.len = (uint32_t)(r->cmdline ? r->cmdline_len : alen);
	note.u.note.data = r->cmdline ? (const uint8_t *)r->cmdline : argvbuf;
	if ((st = put(r, &note, err)) != STRAND_OK)
		goto out;
	/* the process and its parent: how the traces of a tree link up */
	char ids[64];
	snprintf(ids, sizeof ids, "pid=%d ppid=%d", (int)r->pid, (int)r->ppid);
	note.u.note.key = "process-id";
	note.u.note.len = (uint32_t)strlen(ids);
	note.u.note.data = (const uint8_t *)ids;
	if ((st = put(r, &note, err)) != STRAND_OK)
		goto out;
	note.u.note.key = "exe";
	note.u.note.len = (uint32_t)strlen(exe);
	note.u.note.data = (const uint8_t *)exe;
	if ((st = put(r, &note, err)) != STRAND_OK)
		goto out;

	struct strand_record end = { .type = STRAND_REC_SNAPSHOT_END, .position = 0 };
	st = put(r, &end, err);
	r->brk_cur = read_start_brk(r->pid);
out:
	free(argvbuf);
	free(buf);
	free(maps);
	return st;
}

/* ===================================================================== */
/* Snapshot-diff fallback                                                 */
/* ===================================================================== */

static void free_pre(struct rec *r)
{
	for (size_t i = 0; i < r->npre; i++)
		free(r->pre[i].data);
	free(r->pre);
	r->pre = NULL;
	r->npre = 0;
	r->fallback = false;
}

/* Copy every writable mapping (syscall entry of an unknown syscall). */
static strand_status take_pre(struct rec *r, strand_error *err)
{
	struct strand_ptrace_map *maps = NULL;
	size_t nmaps = 0;
	strand_status st = strand_ptrace_maps(r->pid, &maps, &nmaps, err);
	if (st != STRAND_OK)
		return st;
	free_pre(r);
	r->pre = calloc(nmaps ? nmaps : 1, sizeof *r->pre);
	if (!r->pre) {
		free(maps);
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < nmaps; i++) {
		if (!(maps[i].prot & STRAND_PROT_WRITE) || !strcmp(maps[i].path, "[vvar]"))
			continue;
		struct snap *s = &r->pre[r->npre];
		s->start = maps[i].start;
		s->end = maps[i].end;
		s->data = malloc((size_t)(s->end - s->start));
		if (!s->data) {
			free(maps);
			return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		}
		strand_ptrace_read(r->memfd, s->start, s->data, (size_t)(s->end - s->start));
		r->npre++;
	}
	free(maps);
	r->fallback = true;
	return STRAND_OK;
}

/* At the exit: every byte that changed in the copied mappings is a write. */
static strand_status diff_pre(struct rec *r, strand_error *err)
{
	uint8_t *cur = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < r->npre; i++) {
		struct snap *s = &r->pre[i];
		size_t len = (size_t)(s->end - s->start);
		if (len > cap) {
			void *t = realloc(cur, len);
			if (!t) {
				free(cur);
				return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
			}
			cur = t;
			cap = len;
		}
		strand_ptrace_read(r->memfd, s->start, cur, len);
		size_t k = 0;
		while (k < len) {
			if (cur[k] == s->data[k]) {
				k++;
				continue;
			}
			size_t b = k, last = k;
			/* extend over gaps of up to 32 equal bytes */
			while (k < len && k - last <= 32) {
				if (cur[k] != s->data[k])
					last = k;
				k++;
			}
			if (!strand_ptrace_fx_write(&r->fx, s->start + b, cur + b,
						    (uint32_t)(last - b + 1))) {
				free(cur);
				return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
			}
			k = last + 1;
		}
	}
	free(cur);
	free_pre(r);
	return STRAND_OK;
}

/* ===================================================================== */
/* Syscalls                                                               */
/* ===================================================================== */

static bool is_err(uint64_t v)
{
	return v >= (uint64_t)-4095;
}

/* Path of the tracee's fd, "" if unknown. */
static void fd_path(struct rec *r, uint64_t fd, char *out, size_t len)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/fd/%d", (int)r->pid, (int)fd);
	ssize_t n = readlink(p, out, len - 1);
	out[n > 0 ? n : 0] = 0;
}

/* Protection and name of the mapping containing addr (for mremap). */
static void lookup_map(struct rec *r, uint64_t addr, uint32_t *prot, uint32_t *kind,
		       char *name, size_t len)
{
	struct strand_ptrace_map *maps = NULL;
	size_t n = 0;
	strand_error e;
	*prot = STRAND_PROT_READ | STRAND_PROT_WRITE;
	*kind = STRAND_REGION_ANON;
	name[0] = 0;
	if (strand_ptrace_maps(r->pid, &maps, &n, &e) != STRAND_OK)
		return;
	for (size_t i = 0; i < n; i++)
		if (addr >= maps[i].start && addr < maps[i].end) {
			*prot = maps[i].prot;
			*kind = region_kind(&maps[i], false);
			snprintf(name, len, "%s", maps[i].path);
			break;
		}
	free(maps);
}

/* A warning about what the trace may miss: on stderr now, and as a NOTE
 * "warning" after the current syscall's record (flush_warning). */
static void warn_trace(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn_trace(struct rec *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->warning, sizeof r->warning, fmt, ap);
	va_end(ap);
	logf_(r, "warning: %s", r->warning);
}

static strand_status flush_warning(struct rec *r, strand_error *err)
{
	if (!r->warning[0])
		return STRAND_OK;
	struct strand_record note = { .type = STRAND_REC_NOTE, .position = r->ordinal };
	note.u.note.key = "warning";
	note.u.note.len = (uint32_t)strlen(r->warning);
	note.u.note.data = (const uint8_t *)r->warning;
	r->warning[0] = 0;
	return put(r, &note, err);
}

/* Mapping changes of mmap, munmap, mprotect, mremap, brk; may emit
 * MODULE / MODULE_UNLOAD records after the SYSCALL (*post_*). */
static strand_status map_effects(struct rec *r, int64_t res, bool *new_module,
				 uint64_t *unload_base, strand_error *err)
{
	const uint64_t *a = r->args;
	bool ok = true;
	char name[4096];
	*new_module = false;
	*unload_base = 0;
	if (is_err((uint64_t)res))
		return STRAND_OK;
	switch (r->nr) {
	case 9: { /* mmap(addr, len, prot, flags, fd, off) */
		uint64_t addr = (uint64_t)res, len = PAGE_UP(a[1]);
		uint32_t prot = (uint32_t)a[2] & 7;
		if (a[3] & 0x20 /* MAP_ANONYMOUS */) {
			if ((a[3] & 3) == 1 /* MAP_SHARED */ && (prot & STRAND_PROT_WRITE))
				warn_trace(r, "writable shared anonymous mapping at 0x%" PRIx64
					   " (%" PRIu64 " bytes): writes by the processes it is shared "
					   "with (children after fork) are not recorded; a replay "
					   "diverges where the program reads them", addr, len);
			ok = strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_MAP, addr, len, prot,
						  STRAND_REGION_ANON, "", false);
			forget_patches(r, addr, addr + len);
			break;
		}
		fd_path(r, a[4], name, sizeof name);
		if ((a[3] & 3) == 1 /* MAP_SHARED */ && (prot & STRAND_PROT_WRITE))
			warn_trace(r, "writable shared mapping of %s at 0x%" PRIx64 ": changes "
				   "made by other processes are not recorded; a replay diverges "
				   "where the program reads them", name, addr);
		uint8_t magic[4] = { 0 };
		bool elf = a[5] == 0 && strand_ptrace_read_exact(r->memfd, addr, magic, 4) &&
			   !memcmp(magic, "\x7f" "ELF", 4);
		uint32_t kind = elf ? STRAND_REGION_IMAGE : STRAND_REGION_FILE;
		const char *label = elf ? base_name(name) : name;
		if (r->fixed_old && r->fixed_addr == addr && r->fixed_len == len) {
			/* pages whose bytes do not change become a protection
			 * change; the others a mapping with their bytes */
			uint8_t page[PAGE];
			uint64_t off = 0;
			while (ok && off < len) {
				bool same = r->fixed_valid[off / PAGE] &&
					    pread(r->memfd, page, PAGE, (off_t)(addr + off)) == (ssize_t)PAGE &&
					    !memcmp(page, r->fixed_old + off, PAGE);
				uint64_t run = off + PAGE;
				while (run < len) {
					bool s2 = r->fixed_valid[run / PAGE] &&
						  pread(r->memfd, page, PAGE, (off_t)(addr + run)) == (ssize_t)PAGE &&
						  !memcmp(page, r->fixed_old + run, PAGE);
					if (s2 != same)
						break;
					run += PAGE;
				}
				ok = strand_ptrace_fx_map(&r->fx, r->memfd,
							  same ? STRAND_MAP_PROTECT : STRAND_MAP_MAP,
							  addr + off, run - off, prot, kind, label, !same);
				off = run;
			}
		} else {
			ok = strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_MAP, addr, len, prot,
						  kind, label, true);
		}
		*new_module = elf;
		forget_patches(r, addr, addr + len);
		if (ok && (prot & STRAND_PROT_EXEC)) {
			char fdp[64];
			snprintf(fdp, sizeof fdp, "/proc/%d/fd/%d", (int)r->pid, (int)a[4]);
			strand_status st = patch_nondet(r, fdp, a[5], len, addr, err);
			if (st != STRAND_OK)
				return st;
		}
		break;
	}
	case 11: { /* munmap(addr, len) */
		size_t idx;
		ok = strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_UNMAP, a[0], PAGE_UP(a[1]),
					  0, 0, "", false);
		if (is_module_base(r, a[0], &idx))
			*unload_base = a[0];
		forget_patches(r, a[0], a[0] + PAGE_UP(a[1]));
		break;
	}
	case 10: /* mprotect(addr, len, prot) */
		ok = strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_PROTECT, a[0], PAGE_UP(a[1]),
					  (uint32_t)a[2] & 7, 0, "", false);
		if (ok && (a[2] & STRAND_PROT_EXEC)) {
			strand_status st = patch_range(r, a[0], a[0] + PAGE_UP(a[1]), err);
			if (st != STRAND_OK)
				return st;
		}
		break;
	case 25: { /* mremap(old, old_size, new_size, flags, new_addr) */
		uint32_t prot, kind;
		lookup_map(r, (uint64_t)res, &prot, &kind, name, sizeof name);
		if (a[1] != 0)
			ok = strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_UNMAP, a[0],
						  PAGE_UP(a[1]), 0, 0, "", false);
		ok = ok && strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_MAP, (uint64_t)res,
						PAGE_UP(a[2]), prot, kind, name, true);
		move_patches(r, a[0], PAGE_UP(a[1]), (uint64_t)res, PAGE_UP(a[2]));
		break;
	}
	case 30: { /* shmat(id, addr, flags): a System V shared segment */
		struct strand_ptrace_map *maps = NULL;
		size_t n = 0;
		strand_status st = strand_ptrace_maps(r->pid, &maps, &n, err);
		if (st != STRAND_OK)
			return st;
		for (size_t i = 0; i < n && ok; i++)
			if (maps[i].start == (uint64_t)res)
				ok = strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_MAP, maps[i].start,
							  maps[i].end - maps[i].start, maps[i].prot,
							  STRAND_REGION_SHARED, "[sysv shm]", true);
		free(maps);
		warn_trace(r, "System V shared memory attached at 0x%" PRIx64 ": writes by other "
			   "processes are not recorded; a replay diverges where the program "
			   "reads them", (uint64_t)res);
		break;
	}
	case 67: /* shmdt(addr) */
		if (r->shmdt_len)
			ok = strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_UNMAP, a[0], r->shmdt_len,
						  0, 0, "", false);
		break;
	case 12: { /* brk(addr): the result is the new break */
		uint64_t old = PAGE_UP(r->brk_cur), now = PAGE_UP((uint64_t)res);
		if (r->brk_cur && now > old)
			ok = strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_MAP, old, now - old,
						  STRAND_PROT_READ | STRAND_PROT_WRITE,
						  STRAND_REGION_HEAP, "[heap]", false);
		else if (r->brk_cur && now < old)
			ok = strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_UNMAP, now, old - now,
						  0, 0, "", false);
		r->brk_cur = (uint64_t)res;
		break;
	}
	}
	if (!ok)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	return STRAND_OK;
}

static void note_clone(struct rec *r);
static bool capture_clone_writes(struct rec *r);
static strand_status thread_exit_entry(struct rec *r, strand_error *err);

/* clone/clone3 with `flags` at its entry: a child process that shares
 * our memory and runs while we run (CLONE_VM without CLONE_VFORK's wait,
 * not a thread) writes memory the trace cannot account for, so the
 * recording is refused before the child exists, naming the call's
 * place (docs/linux-recorder.md, "Process trees"). */
static strand_status refuse_shared_vm_child(struct rec *r, uint64_t flags, strand_error *err)
{
	if (!(flags & CLONE_VM_) || (flags & (CLONE_VFORK_ | CLONE_THREAD_)))
		return STRAND_OK;
	uint64_t pc = r->entry.rip - 2;
	char where[320] = "";
	struct strand_ptrace_map *maps = NULL;
	size_t n = 0;
	strand_error e2;
	if (strand_ptrace_maps(r->pid, &maps, &n, &e2) == STRAND_OK) {
		for (size_t i = 0; i < n; i++)
			if (pc >= maps[i].start && pc < maps[i].end && maps[i].path[0])
				snprintf(where, sizeof where, " (%s+0x%" PRIx64 ")", base_name(maps[i].path),
					 pc - maps[i].start + maps[i].offset);
		free(maps);
	}
	return strand_error_set(err, STRAND_ERR_UNSUPPORTED,
				"the program calls %s with CLONE_VM but neither CLONE_VFORK nor "
				"CLONE_THREAD (flags=0x%" PRIx64 ", pid=%d tid=%d, pc=0x%" PRIx64 "%s): a "
				"child process that shares the recorded memory while both run is not "
				"supported by the ptrace recorder (see docs/linux-recorder.md)",
				r->nr == 56 ? "clone" : "clone3", flags, (int)r->tgid, (int)r->pid, pc,
				where);
}

static strand_status on_syscall_entry(struct rec *r, strand_error *err)
{
	strand_status st = get_regs(r, &r->entry, err);
	if (st != STRAND_OK)
		return st;
	r->nr = r->entry.orig_rax;
	uint64_t a[6] = { r->entry.rdi, r->entry.rsi, r->entry.rdx,
			  r->entry.r10, r->entry.r8, r->entry.r9 };
	memcpy(r->args, a, sizeof a);
	r->klass = strand_ptrace_sys_class(r->nr, a);
	r->skipped = false;
	r->thread_clone = false;
	bool skip = false;
	uint64_t skip_result = 0;

	free_fixed(r);
	switch (r->nr) {
	case 67: { /* shmdt: the segment's size is known only before */
		struct strand_ptrace_map *maps = NULL;
		size_t n = 0;
		r->shmdt_len = 0;
		if ((st = strand_ptrace_maps(r->pid, &maps, &n, err)) != STRAND_OK)
			return st;
		for (size_t i = 0; i < n; i++)
			if (maps[i].start == a[0])
				r->shmdt_len = maps[i].end - maps[i].start;
		free(maps);
		break;
	}
	case 9: /* mmap(MAP_FIXED) of a file: keep what it replaces */
		if ((a[3] & 0x10) && !(a[3] & 0x20))
			take_fixed_old(r, a[0], PAGE_UP(a[1]));
		break;
	case 334: /* rseq: refused, so glibc never reads kernel-updated memory */
		skip = true;
		skip_result = (uint64_t)-ENOSYS;
		break;
	case 28: /* madvise: MADV_FREE frees pages at an unknown later time */
		if (a[2] == 8) {
			skip = true;
			skip_result = 0;
		}
		break;
	case 218: { /* set_tid_address: the thread's clear-tid address */
		struct strand_ptrace_task *k = strand_ptrace_task_find(&r->tasks, r->pid);
		if (k)
			k->clear_tid = a[0];
		break;
	}
	case 56: /* clone(flags, stack, ptid, ctid, tls) */
		note_clone(r);
		if (r->thread_clone)
			break; /* a thread: on_new_thread, capture_clone_writes */
		if ((st = refuse_shared_vm_child(r, a[0], err)) != STRAND_OK)
			return st;
		if (a[0] & (CLONE_VM_ | CLONE_VFORK_))
			return take_pre(r, err); /* the child writes our memory */
		break;
	case 435: { /* clone3(args, size) */
		note_clone(r);
		if (r->thread_clone)
			break;
		uint64_t flags = 0;
		if (strand_ptrace_read_exact(r->memfd, a[0], &flags, 8) &&
		    (st = refuse_shared_vm_child(r, flags, err)) != STRAND_OK)
			return st;
		return take_pre(r, err);
	}
	case 58: /* vfork: the child runs on our stack until it execs */
		return take_pre(r, err);
	case 59:   /* execve */
	case 322: /* execveat: if it succeeds, every mapping goes (and every
		     other thread: exec_ends_threads) */
		free(r->exec_old);
		r->exec_old = NULL;
		r->nexec_old = 0;
		r->exec_done = false;
		return strand_ptrace_maps(r->pid, &r->exec_old, &r->nexec_old, err);
	case 60:
	case 231: { /* exit, exit_group: no exit stop follows */
		if (r->nr == 60 && r->tasks.n > 1)
			return thread_exit_entry(r, err); /* one thread of several */
		struct strand_cpu cpu;
		if ((st = get_cpu(r, &r->entry, &cpu, err)) != STRAND_OK)
			return st;
		cpu.gpr[STRAND_REG_RAX] = r->nr;
		struct strand_regval rv[3] = {
			{ STRAND_REG_RIP, r->entry.rip },
			{ STRAND_REG_RCX, r->entry.rcx },
			{ STRAND_REG_R8 + 3, r->entry.r11 },
		};
		struct strand_record rec = { .type = STRAND_REC_SYSCALL, .position = r->ordinal };
		rec.u.syscall.pc = r->entry.rip - 2;
		rec.u.syscall.number = (uint32_t)r->nr;
		rec.u.syscall.nargs = 6;
		memcpy(rec.u.syscall.args, a, sizeof a);
		rec.u.syscall.result = 0;
		rec.u.syscall.fx.nregs = 3;
		rec.u.syscall.fx.regs = rv;
		if ((st = put(r, &rec, err)) != STRAND_OK)
			return st;
		r->ordinal++;
		r->res->syscalls++;
		r->exiting = true;
		return write_keyframe(r, &cpu, err);
	}
	default:
		break;
	}
	if (skip) {
		struct user_regs_struct regs = r->entry;
		regs.orig_rax = (uint64_t)-1;
		regs.rax = skip_result;
		if ((st = set_regs(r, &regs, err)) != STRAND_OK)
			return st;
		r->skipped = true;
		return STRAND_OK;
	}
	if (r->klass == STRAND_PTRACE_SYS_FALLBACK)
		return take_pre(r, err);
	return STRAND_OK;
}

static void warn_fallback(struct rec *r)
{
	uint64_t nr = r->nr;
	if (nr < 512 && (r->warned[nr / 64] >> (nr % 64)) & 1)
		return;
	if (nr < 512)
		r->warned[nr / 64] |= 1ull << (nr % 64);
	const char *nm = strand_ptrace_sys_name(nr);
	if (nr == 16)
		logf_(r, "note: ioctl request 0x%llx is not in the syscall table; its memory "
		      "effects are captured by snapshot-diff", (unsigned long long)r->args[1]);
	else
		logf_(r, "note: syscall %s (%llu) is not in the syscall table; its memory "
		      "effects are captured by snapshot-diff", nm ? nm : "?", (unsigned long long)nr);
}

static bool stat_is_null_device(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 && minor(st->st_rdev) == 3;
}

/* Whether the recorder's own fd 1 and 2 (what the recorded program
 * started with: it inherits them) name the null device. */
static void note_null_stdio(struct rec *r)
{
	struct stat st;
	for (int fd = 1; fd <= 2; fd++)
		r->null_stdio[fd] = fstat(fd, &st) == 0 && stat_is_null_device(&st);
}

/* The program itself pointed its descriptor FD (1 or 2) at the null
 * device (`cmd 2>/dev/null` in a script): what it writes there reaches
 * nobody, so it is not program output.  When the recording's own stream
 * is the null device, the program's text is still its output. */
static bool fd_discarded(const struct rec *r, uint64_t fd)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof p, "/proc/%d/fd/%u", (int)r->pid, (unsigned)fd);
	if (stat(p, &st) != 0 || !stat_is_null_device(&st))
		return false;
	if (!r->null_stdio[fd])
		return true;
	/* Both the recording's stream and the program's descriptor are the
	 * null device: the program's text is its output if the descriptor is
	 * one it inherited (the same open file description as the recorder's
	 * stdout or stderr, kcmp KCMP_FILE: `>&2` moves one onto the other),
	 * discarded if it opened the device itself (`2>/dev/null` in a script
	 * run with `strand record ... 2>/dev/null`).  Without kcmp: kept. */
	enum { KCMP_FILE_ = 0 };
	bool other = false;
	for (long mine = 1; mine <= 2; mine++) {
		if (!r->null_stdio[mine])
			continue;
		long k = syscall(SYS_kcmp, (long)getpid(), (long)r->pid, (long)KCMP_FILE_, mine, (long)fd);
		if (k == 0)
			return false;
		other = other || k > 0;
	}
	return other;
}

/* OUTPUT record for write/writev/pwrite64 to fd 1 or 2, unless the
 * program discarded it (fd_discarded). */
static strand_status write_output(struct rec *r, int64_t res, strand_error *err)
{
	uint64_t fd = r->args[0];
	if (res <= 0 || (fd != 1 && fd != 2) || (r->nr != 1 && r->nr != 20 && r->nr != 18) ||
	    fd_discarded(r, fd))
		return STRAND_OK;
	uint8_t *data = malloc((size_t)res);
	if (!data)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	if (r->nr == 20) {
		uint64_t left = (uint64_t)res, off = 0;
		for (uint64_t i = 0; i < r->args[2] && left; i++) {
			uint64_t iov[2] = { 0, 0 };
			if (!strand_ptrace_read_exact(r->memfd, r->args[1] + 16 * i, iov, 16))
				break;
			uint64_t take = iov[1] < left ? iov[1] : left;
			strand_ptrace_read(r->memfd, iov[0], data + off, (size_t)take);
			off += take;
			left -= take;
		}
	} else {
		strand_ptrace_read(r->memfd, r->args[1], data, (size_t)res);
	}
	struct strand_record rec = { .type = STRAND_REC_OUTPUT, .position = r->ordinal };
	rec.u.output.stream = (uint32_t)fd;
	rec.u.output.len = (uint32_t)res;
	rec.u.output.data = data;
	strand_status st = put(r, &rec, err);
	free(data);
	return st;
}

/* Register delta of a syscall: rax, rcx, r11, rip always (the syscall
 * instruction writes them), plus any other register that changed. */
static size_t syscall_regs(const struct strand_cpu *before, const struct strand_cpu *after,
			   struct strand_regval *rv)
{
	size_t n = 0;
	for (unsigned reg = 0; reg < STRAND_REG_COUNT; reg++) {
		uint64_t b = 0, a = 0;
		strand_cpu_get(before, reg, &b);
		strand_cpu_get(after, reg, &a);
		bool always = reg == STRAND_REG_RAX || reg == STRAND_REG_RCX || reg == STRAND_REG_R8 + 3 ||
			      reg == STRAND_REG_RIP;
		if (always || a != b) {
			rv[n].reg = reg;
			rv[n].value = a;
			n++;
		}
	}
	return n;
}

static strand_status on_exec_exit(struct rec *r, strand_error *err);

/* The kernel's internal codes of a syscall a signal interrupted
 * (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK). */
static bool restart_code(uint64_t rax)
{
	return rax == (uint64_t)-512 || rax == (uint64_t)-513 || rax == (uint64_t)-514 ||
	       rax == (uint64_t)-516;
}

static strand_status on_syscall_exit(struct rec *r, strand_error *err)
{
	if ((r->nr == 59 || r->nr == 322) && r->exec_done)
		return on_exec_exit(r, err);
	struct user_regs_struct regs;
	strand_status st = get_regs(r, &regs, err);
	if (st != STRAND_OK)
		return st;
	r->exit_raw = regs;
	int64_t res = (int64_t)regs.rax;
	strand_ptrace_fx_reset(&r->fx);

	/* A syscall interrupted by a signal: the kernel's restart code
	 * (-512..-516) is recorded as the result, with the state of a restart
	 * (rip back on the syscall instruction, rax = the number again, or
	 * restart_syscall); when a handler takes the signal, its delivery
	 * (EXCEPTION with the full state) says what the program sees instead:
	 * EINTR, or the restart, in the frame (replay.c restarted()). */
	uint64_t ures = (uint64_t)res;
	if (restart_code(ures) && ures != (uint64_t)-516) {
		regs.rax = r->nr;
		regs.rip -= 2;
	} else if (ures == (uint64_t)-516) {
		regs.rax = 219;
		regs.rip -= 2;
	}

	struct strand_cpu before, after;
	strand_ptrace_cpu_from(&r->entry, NULL, &before);
	before.gpr[STRAND_REG_RAX] = r->nr;
	before.rip = r->entry.rip - 2;
	bool full = r->nr == 15; /* rt_sigreturn restores everything */
	if (full) {
		if ((st = get_cpu(r, &regs, &after, err)) != STRAND_OK)
			return st;
	} else {
		/* a syscall leaves the FPU alone: the FXSAVE area is read
		 * only when a key frame needs it (refresh_fx) */
		strand_ptrace_cpu_from(&regs, NULL, &after);
		memcpy(after.fxsave, r->after.fxsave, sizeof after.fxsave);
	}

	bool new_module = false;
	uint64_t unload_base = 0;
	if (r->fallback) {
		if (r->klass == STRAND_PTRACE_SYS_FALLBACK) {
			warn_fallback(r);
			r->res->fallback_syscalls++;
		}
		if ((st = diff_pre(r, err)) != STRAND_OK)
			return st;
	}
	if (!r->skipped) {
		if (r->klass == STRAND_PTRACE_SYS_TABLE) {
			if (!strand_ptrace_sys_capture(&r->fx, r->memfd, r->nr, r->args, res))
				return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		} else if (r->klass == STRAND_PTRACE_SYS_MAP) {
			if ((st = map_effects(r, res, &new_module, &unload_base, err)) != STRAND_OK)
				return st;
		} else if (r->nr == 28 && !is_err(ures) && (r->args[2] == 4 || r->args[2] == 9)) {
			/* MADV_DONTNEED / MADV_REMOVE: the range now reads as zero
			 * (or the file's bytes) */
			if (!strand_ptrace_fx_capture(&r->fx, r->memfd, r->args[0], PAGE_UP(r->args[1])))
				return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		} else if (r->thread_clone && !is_err(ures)) {
			if (!capture_clone_writes(r))
				return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		} else if (r->nr == 56 && !is_err(ures) && (r->args[0] & CLONE_PARENT_SETTID_)) {
			if (!strand_ptrace_fx_capture(&r->fx, r->memfd, r->args[2], 4))
				return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		}
	}

	struct strand_regval rv[STRAND_REG_COUNT];
	struct strand_record rec = { .type = STRAND_REC_SYSCALL, .position = r->ordinal };
	rec.u.syscall.pc = r->entry.rip - 2;
	rec.u.syscall.number = (uint32_t)r->nr;
	rec.u.syscall.nargs = 6;
	memcpy(rec.u.syscall.args, r->args, sizeof r->args);
	rec.u.syscall.result = ures;
	if (!strand_ptrace_fx_view(&r->fx, &rec.u.syscall.fx))
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	if (full) {
		rec.u.syscall.fx.cpu = &after;
	} else {
		rec.u.syscall.fx.nregs = (uint32_t)syscall_regs(&before, &after, rv);
		rec.u.syscall.fx.regs = rv;
	}
	if ((st = put(r, &rec, err)) != STRAND_OK)
		return st;
	r->ordinal++;
	r->res->syscalls++;
	r->res->mem_bytes += r->fx.total_write_bytes;
	r->fx.total_write_bytes = 0;
	r->after = after; /* FXSAVE area possibly stale: refresh_fx() before use */

	if ((st = write_output(r, res, err)) != STRAND_OK ||
	    (st = flush_warning(r, err)) != STRAND_OK)
		return st;
	if (new_module) {
		char name[4096];
		fd_path(r, r->args[4], name, sizeof name);
		char open_path[64];
		snprintf(open_path, sizeof open_path, "/proc/%d/fd/%d", (int)r->pid, (int)r->args[4]);
		if ((st = add_module(r, name, open_path, ures, PAGE_UP(r->args[1]), false, err)) != STRAND_OK)
			return st;
	}
	if (unload_base) {
		size_t idx;
		if (is_module_base(r, unload_base, &idx)) {
			struct strand_record u = { .type = STRAND_REC_MODULE_UNLOAD, .position = r->ordinal };
			u.u.module_id = r->mods[idx].id;
			if ((st = put(r, &u, err)) != STRAND_OK)
				return st;
			r->mods[idx] = r->mods[--r->nmods];
		}
	}
	uint32_t every = r->opt->keyframe_every ? r->opt->keyframe_every : 1000;
	if (++r->since_keyframe >= every) {
		if ((st = refresh_fx(r, &r->after, err)) != STRAND_OK ||
		    (st = write_keyframe(r, &r->after, err)) != STRAND_OK)
			return st;
	}
	r->have_exit = true;
	r->nondet_at_exit = r->res->nondet;
	return STRAND_OK;
}

/* ===================================================================== */
/* Signals and nondeterministic instructions                              */
/* ===================================================================== */

/* rdtsc / rdtscp / cpuid at rip trapped (SIGSEGV, SI_KERNEL): answer it.
 * Returns STRAND_NOT_FOUND if the instruction is none of them. */
static strand_status emulate_nondet(struct rec *r, bool int3, strand_error *err)
{
	struct user_regs_struct regs;
	strand_status st = get_regs(r, &regs, err);
	if (st != STRAND_OK)
		return st;
	uint8_t insn[3] = { 0 };
	if (int3) { /* a patched instruction: the trap left rip after the int3 */
		regs.rip -= 1;
		strand_ptrace_read(r->memfd, regs.rip, insn, 3);
		insn[0] = 0x0f;
	} else {
		strand_ptrace_read(r->memfd, regs.rip, insn, 3);
	}
	struct strand_regval rv[5];
	size_t n = 0;
	uint32_t kind, len;
	if (insn[0] == 0x0f && insn[1] == 0x31) {
		uint64_t t = __rdtsc();
		kind = STRAND_NONDET_RDTSC;
		len = 2;
		regs.rax = (uint32_t)t;
		regs.rdx = t >> 32;
	} else if (insn[0] == 0x0f && insn[1] == 0x01 && insn[2] == 0xf9) {
		unsigned aux = 0;
		uint64_t t = __rdtscp(&aux);
		kind = STRAND_NONDET_RDTSCP;
		len = 3;
		regs.rax = (uint32_t)t;
		regs.rdx = t >> 32;
		regs.rcx = aux;
		rv[n++] = (struct strand_regval){ STRAND_REG_RCX, regs.rcx };
	} else if (insn[0] == 0x0f && insn[1] == 0xa2) {
		uint32_t out[4];
		strand_ptrace_cpuid((uint32_t)regs.rax, (uint32_t)regs.rcx, out);
		kind = STRAND_NONDET_CPUID;
		len = 2;
		regs.rax = out[0];
		regs.rbx = out[1];
		regs.rcx = out[2];
		regs.rdx = out[3];
		rv[n++] = (struct strand_regval){ STRAND_REG_RBX, regs.rbx };
		rv[n++] = (struct strand_regval){ STRAND_REG_RCX, regs.rcx };
	} else {
		return STRAND_NOT_FOUND;
	}
	uint64_t pc = regs.rip;
	regs.rip += len;
	rv[n++] = (struct strand_regval){ STRAND_REG_RAX, regs.rax };
	rv[n++] = (struct strand_regval){ STRAND_REG_RDX, regs.rdx };
	rv[n++] = (struct strand_regval){ STRAND_REG_RIP, regs.rip };
	if ((st = set_regs(r, &regs, err)) != STRAND_OK)
		return st;
	struct strand_record rec = { .type = STRAND_REC_NONDET, .position = r->ordinal };
	rec.u.nondet.pc = pc;
	rec.u.nondet.kind = kind;
	rec.u.nondet.fx.nregs = (uint32_t)n;
	rec.u.nondet.fx.regs = rv;
	if ((st = put(r, &rec, err)) != STRAND_OK)
		return st;
	r->ordinal++;
	r->res->nondet++;
	return STRAND_OK;
}

/* Signal disposition from /proc/PID/status: 'c' caught, 'i' ignored,
 * 'd' default. */
static char disposition(pid_t pid, int sig)
{
	char path[64], line[256];
	uint64_t cgt = 0, ign = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 'd';
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "SigCgt:", 7))
			cgt = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "SigIgn:", 7))
			ign = strtoull(line + 7, NULL, 16);
	}
	fclose(f);
	uint64_t bit = 1ull << (sig - 1);
	if (cgt & bit)
		return 'c';
	if (ign & bit)
		return 'i';
	return 'd';
}

static bool default_ignored(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

static bool default_stops(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* True if delivering `sig` changes what the program does (a handler
 * runs or the process dies); ignored and job-control signals do not. */
static bool signal_has_effect(struct rec *r, int sig, bool sync)
{
	if (sig == SIGKILL)
		return true;
	char disp = disposition(r->pid, sig);
	if (disp == 'i' || (disp == 'd' && default_ignored(sig)) ||
	    (disp == 'd' && default_stops(sig) && !sync))
		return false;
	return true;
}

/* True if the tracee has not run a user instruction since the last
 * syscall exit (it stopped for a signal on its way out of the kernel). */
static bool at_boundary(struct rec *r, const struct user_regs_struct *regs)
{
	return r->have_exit && r->nondet_at_exit == r->res->nondet &&
	       !memcmp(regs, &r->exit_raw, sizeof *regs);
}

/* Deliver `sig` now (the tracee is at a signal-delivery-stop) and record
 * it.  *resume_sig is what to restart the tracee with. */
static strand_status deliver(struct rec *r, int sig, const siginfo_t *si, bool boundary,
			     int *resume_sig, strand_error *err)
{
	struct user_regs_struct regs;
	strand_status st = get_regs(r, &regs, err);
	if (st != STRAND_OK)
		return st;
	char disp = disposition(r->pid, sig);
	bool sync = si->si_code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
					sig == SIGFPE || sig == SIGTRAP);
	*resume_sig = 0;
	if (sig == SIGKILL)
		disp = 'd';
	if (disp == 'i' || (disp == 'd' && default_ignored(sig)) ||
	    (disp == 'd' && default_stops(sig) && !sync)) {
		if (default_stops(sig))
			logf_(r, "note: stop signal %d suppressed (job control is not recorded)", sig);
		return STRAND_OK; /* no effect on the program */
	}
	struct strand_record rec = { .type = STRAND_REC_EXCEPTION, .position = r->ordinal };
	rec.u.exception.kind = STRAND_EXC_SIGNAL;
	rec.u.exception.code = (uint64_t)sig;
	rec.u.exception.pc = regs.rip;
	if (boundary && restart_code(regs.rax))
		rec.u.exception.pc = regs.rip - 2; /* as the SYSCALL record left it */
	rec.u.exception.addr = sync ? (uint64_t)(uintptr_t)si->si_addr : 0;
	if (disp == 'd') { /* fatal */
		rec.u.exception.flags = STRAND_EXC_F_FATAL;
		if ((st = put(r, &rec, err)) != STRAND_OK)
			return st;
		r->res->signals++;
		if (boundary && ((st = refresh_fx(r, &r->after, err)) != STRAND_OK ||
				 (st = write_keyframe(r, &r->after, err)) != STRAND_OK))
			return st;
		*resume_sig = sig;
		return STRAND_OK;
	}
	/* caught: single-step into the handler; the tracee stops before the
	 * handler's first instruction, with the frame written */
	if (ptrace(PTRACE_SINGLESTEP, r->pid, 0, (void *)(uintptr_t)sig) < 0)
		return sys_err(err, "PTRACE_SINGLESTEP (signal delivery) failed", r->pid);
	int status;
	if ((st = wait_stop(r, &status, err)) != STRAND_OK)
		return st;
	if (WSTOPSIG(status) != SIGTRAP)
		return strand_error_set(err, STRAND_ERR_RECORD,
					"signal %d delivery: expected a trap at the handler, got signal %d",
					sig, WSTOPSIG(status));
	struct user_regs_struct hregs;
	struct strand_cpu cpu;
	if ((st = get_regs(r, &hregs, err)) != STRAND_OK ||
	    (st = get_cpu(r, &hregs, &cpu, err)) != STRAND_OK)
		return st;
	/* the frame: from the new stack pointer up to the old one (or 16 KiB
	 * on an alternate stack) */
	uint64_t lo = hregs.rsp, hi = regs.rsp;
	if (hi <= lo || hi - lo > 65536)
		hi = lo + 16384;
	strand_ptrace_fx_reset(&r->fx);
	if (!strand_ptrace_fx_capture(&r->fx, r->memfd, lo, hi - lo) ||
	    !strand_ptrace_fx_view(&r->fx, &rec.u.exception.fx))
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	rec.u.exception.fx.cpu = &cpu;
	if ((st = put(r, &rec, err)) != STRAND_OK)
		return st;
	r->res->signals++;
	r->after = cpu;
	/* the handler runs from here; no user instruction ran since the trap */
	r->exit_raw = hregs;
	return STRAND_OK;
}

static strand_status on_signal(struct rec *r, int sig, int *resume_sig, strand_error *err)
{
	siginfo_t si;
	*resume_sig = 0;
	if (ptrace(PTRACE_GETSIGINFO, r->pid, 0, &si) < 0) {
		if (errno == EINVAL)
			return STRAND_OK; /* group-stop: let it go on */
		return sys_err(err, "PTRACE_GETSIGINFO failed", r->pid);
	}
	if (sig == SIGSEGV && si.si_code == 0x80 /* SI_KERNEL: #GP */) {
		strand_status st = emulate_nondet(r, false, err);
		if (st != STRAND_NOT_FOUND)
			return st;
	}
	if (sig == SIGTRAP && si.si_code == 0x80 /* int3 */ && r->npatched) {
		struct user_regs_struct regs;
		strand_status st = get_regs(r, &regs, err);
		if (st != STRAND_OK)
			return st;
		for (size_t i = 0; i < r->npatched; i++)
			if (r->patched[i] == regs.rip - 1)
				return emulate_nondet(r, true, err);
	}
	struct user_regs_struct regs;
	strand_status st = get_regs(r, &regs, err);
	if (st != STRAND_OK)
		return st;
	bool sync = si.si_code > 0 && si.si_code != 0x80 &&
		    (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
		     sig == SIGTRAP);
	if ((sig == SIGSEGV || sig == SIGTRAP) && si.si_code == 0x80)
		sync = true; /* a real #GP (privileged instruction...) or the program's int3 */
	bool boundary = at_boundary(r, &regs);
	if (!boundary && signal_has_effect(r, sig, sync)) {
		/* A fault, or an asynchronous signal, in the middle of user
		 * code: a key frame of the state the thread stopped in
		 * first, so that finalize runs to the position where that
		 * state recurs (registers and memory), then the EXCEPTION. */
		struct strand_cpu cpu;
		if ((st = get_cpu(r, &regs, &cpu, err)) != STRAND_OK ||
		    (st = write_keyframe(r, &cpu, err)) != STRAND_OK)
			return st;
	}
	return deliver(r, sig, &si, boundary, resume_sig, err);
}

/* ===================================================================== */
/* Start, loop, end                                                       */
/* ===================================================================== */

static void child_exec(char *const *argv, int errfd)
{
	/* the recorder attaches with PTRACE_SEIZE while this stop lasts
	 * (PTRACE_INTERRUPT, which preempts threads, needs a seized tracee) */
	/* No lazy binding: glibc's _dl_runtime_resolve saves the SSE state
	 * with fxsave, whose reserved bytes and MXCSR_MASK Unicorn writes
	 * differently from the CPU (docs/linux-recorder.md, "Fidelity"). */
	setenv("LD_BIND_NOW", "1", 1);
	raise(SIGSTOP);
	execvp(argv[0], argv);
	int e = errno;
	(void)!write(errfd, &e, sizeof e);
	_exit(127);
}

/* Pin the recorder (and so the tracee it forks) to the CPU it runs on;
 * the CPU set it had is kept for the children released unrecorded. */
static void pin_cpu(struct rec *r)
{
	r->have_affinity = sched_getaffinity(0, sizeof r->affinity, &r->affinity) == 0;
	int cpu = sched_getcpu();
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
}

/* At an exec's syscall-exit stop, before the new program's first
 * instruction: (re)open /proc/PID/mem, disable the vDSO, turn on cpuid
 * faulting (or fall back to patching cpuid).  *auxv is owned. */
static strand_status prepare_image(struct rec *r, struct user_regs_struct *regs,
				   uint8_t **auxv, size_t *auxv_len, strand_error *err)
{
	char mp[64];
	if (r->memfd >= 0)
		close(r->memfd);
	snprintf(mp, sizeof mp, "/proc/%d/mem", (int)r->pid);
	r->memfd = open(mp, O_RDWR | O_CLOEXEC);
	if (r->memfd < 0)
		return sys_err(err, "cannot open /proc/PID/mem", r->pid);
	strand_status st;
	if ((st = get_regs(r, regs, err)) != STRAND_OK ||
	    (st = rewrite_auxv(r, regs, auxv, auxv_len, err)) != STRAND_OK)
		return st;
	/* rdtsc/rdtscp trap from here on (set now, not before the exec:
	 * the recorder's own code between fork and exec may read the TSC) */
	long tr = 0;
	if ((st = inject_here(r, regs, SYS_prctl, PR_SET_TSC, PR_TSC_SIGSEGV, &tr, err)) != STRAND_OK)
		goto fail;
	if (tr != 0) {
		st = strand_error_set(err, STRAND_ERR_RECORD, "prctl(PR_SET_TSC, PR_TSC_SIGSEGV) = %ld",
				      tr);
		goto fail;
	}
	if (!r->cpuid_patch) {
		long cr = 0;
		if ((st = inject_here(r, regs, SYS_arch_prctl, ARCH_SET_CPUID, 0, &cr, err)) != STRAND_OK)
			goto fail;
		r->cpuid_patch = cr != 0; /* ENODEV: no cpuid faulting on this CPU */
		r->cpuid_faulting = cr == 0;
	}
	return STRAND_OK;
fail:
	free(*auxv);
	*auxv = NULL;
	return st;
}

/* The thread that called execve was not the leader: the kernel gave it
 * the leader's tid.  In the trace the old thread hands over to a thread
 * of that tid with the new image's context (THREAD, THREAD_SWITCH) and
 * ends (THREAD_EXIT), so every later record names the real tid. */
static strand_status exec_rename_thread(struct rec *r, const struct strand_cpu *cpu,
					strand_error *err)
{
	struct strand_record th = { .type = STRAND_REC_THREAD, .position = r->ordinal };
	th.u.thread.cpu = *cpu;
	th.u.thread.name = "";
	struct strand_record sw = { .type = STRAND_REC_THREAD_SWITCH, .position = r->ordinal };
	struct strand_record ex = { .type = STRAND_REC_THREAD_EXIT, .position = r->ordinal };
	strand_status st = put_as(r, &th, r->tgid, err);
	if (st == STRAND_OK)
		st = put_as(r, &sw, r->tgid, err);
	if (st == STRAND_OK)
		st = put_as(r, &ex, r->exec_from, err);
	logf_(r, "note: thread tid=%d executed a program and took the process's tid=%d",
	      (int)r->exec_from, (int)r->tgid);
	r->exec_from = 0;
	return st;
}

/* A successful execve: one SYSCALL record whose effects unmap everything
 * the old program had and map the new image (with its bytes) and set the
 * full context; then the new modules and a key frame. */
static strand_status on_exec_exit(struct rec *r, strand_error *err)
{
	struct user_regs_struct regs;
	struct strand_ptrace_map *maps = NULL;
	size_t nmaps = 0;
	uint8_t *auxv = NULL;
	size_t auxv_len = 0;
	char exe[4096] = "", path[64];
	struct strand_cpu cpu;
	strand_status st = prepare_image(r, &regs, &auxv, &auxv_len, err);
	free(auxv);
	if (st != STRAND_OK || (st = strand_ptrace_maps(r->pid, &maps, &nmaps, err)) != STRAND_OK ||
	    (st = get_cpu(r, &regs, &cpu, err)) != STRAND_OK)
		goto out;
	snprintf(path, sizeof path, "/proc/%d/exe", (int)r->pid);
	ssize_t el = readlink(path, exe, sizeof exe - 1);
	exe[el > 0 ? el : 0] = 0;

	strand_ptrace_fx_reset(&r->fx);
	bool ok = true;
	for (size_t i = 0; i < r->nexec_old && ok; i++) {
		const struct strand_ptrace_map *m = &r->exec_old[i];
		if (strncmp(m->path, "[vvar", 5) && strcmp(m->path, "[vsyscall]"))
			ok = strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_UNMAP, m->start,
						  m->end - m->start, 0, 0, "", false);
	}
	if (ok && r->growth_lo && r->growth_lo < r->stack_hi)
		ok = strand_ptrace_fx_map(&r->fx, r->memfd, STRAND_MAP_UNMAP, r->growth_lo,
					  r->stack_hi - r->growth_lo, 0, 0, "", false);
	if (!ok) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* the old modules go; in_module() must not see them */
	uint32_t nold = (uint32_t)r->nmods;
	struct module *old = r->mods;
	r->mods = NULL;
	r->nmods = 0;
	if ((st = emit_regions(r, maps, nmaps, true, err)) != STRAND_OK) {
		free(old);
		goto out;
	}
	struct strand_record rec = { .type = STRAND_REC_SYSCALL, .position = r->ordinal };
	rec.u.syscall.pc = r->entry.rip - 2;
	rec.u.syscall.number = (uint32_t)r->nr;
	rec.u.syscall.nargs = 6;
	memcpy(rec.u.syscall.args, r->args, sizeof r->args);
	rec.u.syscall.result = regs.rax;
	if (!strand_ptrace_fx_view(&r->fx, &rec.u.syscall.fx)) {
		free(old);
		st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		goto out;
	}
	rec.u.syscall.fx.cpu = &cpu;
	st = put_as(r, &rec, r->exec_from ? r->exec_from : r->pid, err);
	r->ordinal++;
	r->res->syscalls++;
	if (st == STRAND_OK && r->exec_from)
		st = exec_rename_thread(r, &cpu, err);
	for (uint32_t i = 0; i < nold && st == STRAND_OK; i++) {
		struct strand_record u = { .type = STRAND_REC_MODULE_UNLOAD, .position = r->ordinal };
		u.u.module_id = old[i].id;
		st = put(r, &u, err);
	}
	free(old);
	if (st != STRAND_OK || (st = emit_modules(r, maps, nmaps, exe, err)) != STRAND_OK)
		goto out;
	r->brk_cur = read_start_brk(r->pid);
	r->npatched = 0;
	if ((st = patch_range(r, 0, UINT64_MAX, err)) != STRAND_OK)
		goto out;
	logf_(r, "note: the program executed %s", exe);
	size_t cl = 0;
	char *cmd = read_proc(r->tgid, "cmdline", &cl);
	if (cmd) {
		free(r->cmdline);
		r->cmdline = cmd;
		r->cmdline_len = cl;
	}
	r->after = cpu;
	st = write_keyframe(r, &cpu, err);
	r->exit_raw = regs;
	r->have_exit = true;
	r->nondet_at_exit = r->res->nondet;
out:
	free(r->exec_old);
	r->exec_old = NULL;
	r->nexec_old = 0;
	r->exec_done = false;
	free(maps);
	return st;
}

/* From fork to the exec's syscall-exit stop; then the snapshot. */
static strand_status start(struct rec *r, strand_error *err)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return sys_err(err, "pipe failed", 0);
	pin_cpu(r);
	r->pid = fork();
	if (r->pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return sys_err(err, "fork failed", 0);
	}
	if (r->pid == 0) {
		close(pfd[0]);
		child_exec(r->opt->argv, pfd[1]);
	}
	close(pfd[1]);
	strand_status st;
	int status;
	bool seen_exec = false;
	int pass_sig = 0; /* a signal of the child before its exec: delivered */
	/* the child stops itself (raise(SIGSTOP)); seize it there, then
	 * let it go on to its exec */
	for (;;) {
		pid_t p = waitpid(r->pid, &status, WUNTRACED);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0) {
			st = sys_err(err, "waitpid failed", r->pid);
			goto out;
		}
		break;
	}
	if (!WIFSTOPPED(status)) {
		st = strand_error_set(err, STRAND_ERR_RECORD, "tracee ended during setup (status=0x%x)",
				      status);
		goto child_failed;
	}
	if (ptrace(PTRACE_SEIZE, r->pid, 0,
		   (void *)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT |
			    PTRACE_O_EXITKILL | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
			    PTRACE_O_TRACECLONE)) < 0) {
		st = sys_err(err, "PTRACE_SEIZE failed", r->pid);
		kill(r->pid, SIGKILL);
		goto out;
	}
	/* seized in its group-stop: it reports that stop to us */
	if ((st = wait_stop(r, &status, err)) != STRAND_OK)
		goto child_failed;
	kill(r->pid, SIGCONT); /* ends the group-stop; delivered (ignored) below */
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, r->pid, 0, (void *)(uintptr_t)pass_sig) < 0) {
			st = sys_err(err, "PTRACE_SYSCALL failed", r->pid);
			goto out;
		}
		if ((st = wait_stop(r, &status, err)) != STRAND_OK)
			goto child_failed;
		int ev = status >> 16;
		pass_sig = 0;
		if (WSTOPSIG(status) == SIGTRAP && ev == PTRACE_EVENT_EXEC)
			seen_exec = true;
		else if (WSTOPSIG(status) == SYSTRAP && seen_exec)
			break; /* the exec's syscall-exit stop */
		else if (WSTOPSIG(status) != SYSTRAP && !ev)
			pass_sig = WSTOPSIG(status);
	}
	close(pfd[0]);
	pfd[0] = -1;

	struct user_regs_struct regs;
	uint8_t *auxv = NULL;
	size_t auxv_len = 0;
	r->cpuid_patch = false;
	if ((st = prepare_image(r, &regs, &auxv, &auxv_len, err)) != STRAND_OK)
		goto out;
	st = write_snapshot(r, auxv, auxv_len, err);
	free(auxv);
	if (st == STRAND_OK)
		st = patch_range(r, 0, UINT64_MAX, err);
	r->exit_raw = regs;
	r->have_exit = true;
	goto out;

child_failed:
	if (pfd[0] >= 0) {
		int e = 0;
		if (read(pfd[0], &e, sizeof e) == (ssize_t)sizeof e) {
			r->res->exec_errno = e;
			st = strand_error_set(err, STRAND_ERR_RECORD, "cannot execute %s: %s",
					      r->opt->argv[0], strerror(e));
		}
	}
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	return st;
}

/* Exit code of a PROCESS_EXIT record from a wait status: the exit status,
 * or 128 + the signal number for a death by signal (as a shell shows it). */
static uint64_t exit_code_of(int status)
{
	if (WIFEXITED(status))
		return (uint64_t)WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128u + (uint64_t)WTERMSIG(status);
	return 255;
}

static strand_status finish(struct rec *r, int status, strand_error *err)
{
	r->res->wait_status = status;
	r->res->signaled = WIFSIGNALED(status);
	r->res->exit_code = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
	/* the program it ran last (argv), for the listings of a tree */
	if (r->cmdline || r->opt->argv) {
		char *own = NULL;
		size_t len = r->cmdline_len;
		if (!r->cmdline) {
			len = 0;
			for (char *const *a = r->opt->argv; *a; a++)
				len += strlen(*a) + 1;
			if ((own = malloc(len + 1)) != NULL) {
				len = 0;
				for (char *const *a = r->opt->argv; *a; a++) {
					memcpy(own + len, *a, strlen(*a) + 1);
					len += strlen(*a) + 1;
				}
			}
		}
		struct strand_record note = { .type = STRAND_REC_NOTE, .position = r->ordinal };
		note.u.note.key = "process-argv";
		note.u.note.len = (uint32_t)(own || r->cmdline ? len : 0);
		note.u.note.data = (const uint8_t *)(own ? own : r->cmdline);
		strand_status nst = put_as(r, &note, r->tgid, err);
		free(own);
		if (nst != STRAND_OK)
			return nst;
	}
	/* the traces of the child processes come last, before the end */
	strand_status st = strand_ptrace_kids_embed(&r->kids, r->w, r->ordinal, (uint32_t)r->tgid,
						    r->opt->log, &r->res->processes, err);
	if (st == STRAND_ERR_UNSUPPORTED)
		return st; /* a child refused: its recorder said why */
	if (st != STRAND_OK)
		return strand_error_wrap(err, st, "cannot embed the traces of child processes");
	struct strand_record rec = { .type = STRAND_REC_PROCESS_EXIT, .position = r->ordinal };
	rec.u.exit_code = exit_code_of(status);
	return put(r, &rec, err);
}

/* ===================================================================== */
/* Threads: one at a time                                                 */
/* ===================================================================== */

/* Exactly one thread of the recorded process has the turn: it runs user
 * code, and every record is written in the order it would replay.  The
 * others are held at a ptrace stop, or run a system call in the kernel
 * (a futex wait...) and stop at its exit, where they wait for the turn
 * again.  The turn changes
 *  - at the entry of a syscall that may wait for another thread
 *    (strand_ptrace_sys_may_block), or of any syscall still in the kernel
 *    after SYNC_WAIT: NOTE "at-syscall" + a KEYFRAME (registers) of the
 *    thread standing on its syscall instruction, then THREAD_SWITCH; its
 *    SYSCALL record is written when it has the turn again;
 *  - at a syscall exit once the thread's slice is over: THREAD_SWITCH;
 *  - in user code once the slice is over: PTRACE_INTERRUPT, a KEYFRAME of
 *    the full state (finalize finds the position where it recurs), then
 *    THREAD_SWITCH.
 * docs/linux-recorder.md, "Threads", has the failure modes. */

#define SLICE_MIN 0.05  /* seconds of the turn before a preemption */
#define SYNC_WAIT 0.005 /* a syscall still in the kernel after this hands the turn over */

enum { CLONE_PIDFD_ = 0x1000, CLONE_CHILD_CLEARTID_ = 0x200000, CLONE_CHILD_SETTID_ = 0x01000000 };

/* The recorder's fields that describe the thread with the turn. */
#define TSTATE(X) \
	X(bool, in_syscall, ) X(struct user_regs_struct, entry, ) X(uint64_t, nr, ) \
	X(uint64_t, args, [6]) X(strand_ptrace_sysclass, klass, ) X(bool, skipped, ) \
	X(bool, fallback, ) X(struct snap *, pre, ) X(size_t, npre, ) X(bool, have_exit, ) \
	X(struct user_regs_struct, exit_raw, ) X(uint64_t, nondet_at_exit, ) \
	X(struct strand_cpu, after, ) X(struct strand_ptrace_map *, exec_old, ) \
	X(size_t, nexec_old, ) X(bool, exec_done, ) X(uint8_t *, fixed_old, ) \
	X(uint8_t *, fixed_valid, ) X(uint64_t, fixed_addr, ) X(uint64_t, fixed_len, ) \
	X(uint64_t, shmdt_len, ) X(bool, thread_clone, ) X(bool, thread_exit, ) \
	X(struct strand_cpu, entry_cpu, ) X(bool, have_entry_cpu, ) X(double, sys_t0, ) \
	X(uint64_t, clone_flags, ) X(uint64_t, clone_ptid, ) X(uint64_t, clone_ctid, ) \
	X(uint64_t, clone_pidfd, ) X(bool, stray_stop, )

#define TS_FIELD(type, name, dim) type name dim;
struct tstate {
	TSTATE(TS_FIELD)
};
#define TS_SAVE(type, name, dim) memcpy(&t->name, &r->name, sizeof t->name);
#define TS_LOAD(type, name, dim) memcpy(&r->name, &t->name, sizeof t->name);

/* Free what a saved state owns, and the state. */
static void tstate_free(struct tstate *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->npre; i++)
		free(t->pre[i].data);
	free(t->pre);
	free(t->exec_old);
	free(t->fixed_old);
	free(t->fixed_valid);
	free(t);
}

/* Free what the recorder's per-thread fields own (the thread is gone). */
static void drop_thread_fields(struct rec *r)
{
	free_pre(r);
	free_fixed(r);
	free(r->exec_old);
	r->exec_old = NULL;
	r->nexec_old = 0;
}

/* Move the per-thread fields of the recorder into task k. */
static strand_status task_save(struct rec *r, struct strand_ptrace_task *k, strand_error *err)
{
	struct tstate *t = malloc(sizeof *t);
	if (!t)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	TSTATE(TS_SAVE)
	tstate_free(k->saved);
	k->saved = t;
	/* the pointers now belong to t */
	r->pre = NULL;
	r->npre = 0;
	r->fallback = false;
	r->exec_old = NULL;
	r->nexec_old = 0;
	r->fixed_old = NULL;
	r->fixed_valid = NULL;
	r->fixed_len = 0;
	return STRAND_OK;
}

/* Make task k's saved state the recorder's (k->saved is consumed). */
static void task_load(struct rec *r, struct strand_ptrace_task *k)
{
	struct tstate *t = k->saved;
	if (t) {
		TSTATE(TS_LOAD)
		free(t);
		k->saved = NULL;
	}
	r->pid = k->tid;
}

static bool any_ready(struct rec *r)
{
	for (size_t i = 0; i < r->tasks.n; i++)
		if (r->tasks.v[i].tid != r->pid && r->tasks.v[i].state == STRAND_PTRACE_TASK_READY)
			return true;
	return false;
}

/* Give the turn to thread tid: THREAD_SWITCH, and its state becomes the
 * recorder's.  The thread that had it keeps its state (READY if it was
 * running, KERNEL if it was parked); it may be gone already. */
static strand_status give_turn(struct rec *r, pid_t tid, strand_error *err)
{
	strand_status st;
	struct strand_ptrace_task *cur = strand_ptrace_task_find(&r->tasks, r->pid);
	if (cur && cur->tid != tid) {
		if ((st = task_save(r, cur, err)) != STRAND_OK)
			return st;
		if (cur->state == STRAND_PTRACE_TASK_RUNNING)
			cur->state = STRAND_PTRACE_TASK_READY;
	}
	struct strand_ptrace_task *n = strand_ptrace_task_find(&r->tasks, tid);
	if (!n)
		return strand_error_set(err, STRAND_ERR_RECORD, "no thread tid=%d to switch to", (int)tid);
	struct strand_record rec = { .type = STRAND_REC_THREAD_SWITCH, .position = r->ordinal };
	if ((st = put_as(r, &rec, tid, err)) != STRAND_OK)
		return st;
	task_load(r, n);
	n->state = STRAND_PTRACE_TASK_RUNNING;
	r->switches++;
	r->turn_t0 = strand_ptrace_now();
	r->interrupting = false;
	if (n->has_pending) {
		/* its stop (a syscall exit...) is processed now that it has the turn */
		r->have_next = true;
		r->next_status = n->pending;
		n->has_pending = false;
		r->resume = false;
	} else {
		r->resume = true;
	}
	return STRAND_OK;
}

/* NOTE "at-syscall" and a key frame (registers only) of the thread with
 * the turn standing on the syscall instruction of the syscall whose
 * entry stop it reported; finalize runs it to its first arrival there
 * (rcx and r11, which the instruction overwrites, are taken from the
 * replay). */
static strand_status keyframe_at_syscall(struct rec *r, const struct strand_cpu *entry_cpu,
					 uint64_t nr, strand_error *err)
{
	struct strand_cpu cpu = *entry_cpu;
	cpu.rip -= 2;
	cpu.gpr[STRAND_REG_RAX] = nr;
	struct strand_record note = { .type = STRAND_REC_NOTE, .position = r->ordinal };
	note.u.note.key = "at-syscall";
	note.u.note.len = 0;
	note.u.note.data = (const uint8_t *)"";
	strand_status st = put(r, &note, err);
	if (st == STRAND_OK)
		st = write_keyframe_ex(r, &cpu, false, err);
	return st;
}

/* The thread with the turn is at a syscall that may wait for another
 * thread (or still runs after SYNC_WAIT; `resumed`: it is in the kernel
 * already): the kernel runs it while the next ready thread gets the
 * turn. */
static strand_status park_in_kernel(struct rec *r, bool resumed, strand_error *err)
{
	struct strand_ptrace_task *k = strand_ptrace_task_find(&r->tasks, r->pid);
	strand_status st;
	if (!k || !r->have_entry_cpu || !any_ready(r))
		return STRAND_OK;
	if ((st = keyframe_at_syscall(r, &r->entry_cpu, r->nr, err)) != STRAND_OK)
		return st;
	if (!resumed && ptrace(PTRACE_SYSCALL, r->pid, 0, 0) < 0)
		return sys_err(err, "PTRACE_SYSCALL failed", r->pid);
	k->state = STRAND_PTRACE_TASK_KERNEL;
	k->inflight = true;
	k->inflight_nr = r->nr;
	memcpy(k->inflight_args, r->args, sizeof k->inflight_args);
	struct strand_ptrace_task *n = strand_ptrace_task_next(&r->tasks, r->pid);
	return give_turn(r, n->tid, err);
}

/* PTRACE_INTERRUPT stopped the thread with the turn in user code: a key
 * frame of its whole state, and the next ready thread gets the turn.
 * The slice grows with the cost of the key frame (hashing memory). */
static strand_status preempt(struct rec *r, strand_error *err)
{
	struct strand_ptrace_task *n = strand_ptrace_task_next(&r->tasks, r->pid);
	if (!n)
		return STRAND_OK;
	struct user_regs_struct regs;
	struct strand_cpu cpu;
	strand_status st;
	double t0 = strand_ptrace_now();
	if ((st = get_regs(r, &regs, err)) != STRAND_OK || (st = get_cpu(r, &regs, &cpu, err)) != STRAND_OK ||
	    (st = write_keyframe(r, &cpu, err)) != STRAND_OK)
		return st;
	double cost = strand_ptrace_now() - t0;
	r->slice = cost * 10 > SLICE_MIN ? cost * 10 : SLICE_MIN;
	r->preemptions++;
	return give_turn(r, n->tid, err);
}

/* The slice ended just as the thread with the turn entered a syscall
 * (the PTRACE_INTERRUPT is still pending and would interrupt the call):
 * the kernel skips the call and the thread is put back on its syscall
 * instruction, unchanged but for rcx and r11, which that instruction
 * overwrites when it runs again at the thread's next turn. */
static strand_status yield_at_entry(struct rec *r, strand_error *err)
{
	struct user_regs_struct e, regs;
	struct strand_cpu cpu;
	int status;
	strand_status st;
	if ((st = get_regs(r, &e, err)) != STRAND_OK || (st = get_cpu(r, &e, &cpu, err)) != STRAND_OK)
		return st;
	regs = e;
	regs.orig_rax = (uint64_t)-1;
	if ((st = set_regs(r, &regs, err)) != STRAND_OK)
		return st;
	if (ptrace(PTRACE_SYSCALL, r->pid, 0, 0) < 0)
		return sys_err(err, "PTRACE_SYSCALL failed", r->pid);
	if ((st = wait_stop(r, &status, err)) != STRAND_OK)
		return st;
	if (WSTOPSIG(status) != SYSTRAP)
		return strand_error_set(err, STRAND_ERR_RECORD,
					"tid=%d: skipping a syscall to preempt it: unexpected stop 0x%x",
					(int)r->pid, status);
	regs = e;
	regs.rip -= 2;
	regs.rax = e.orig_rax;
	if ((st = set_regs(r, &regs, err)) != STRAND_OK ||
	    (st = keyframe_at_syscall(r, &cpu, e.orig_rax, err)) != STRAND_OK)
		return st;
	r->preemptions++;
	r->stray_stop = true;
	struct strand_ptrace_task *n = strand_ptrace_task_next(&r->tasks, r->pid);
	if (!n) {
		r->resume = true;
		return STRAND_OK;
	}
	return give_turn(r, n->tid, err);
}

/* At the PTRACE_EVENT_CLONE stop of a clone(CLONE_THREAD): the new
 * thread is held at its first stop and announced (THREAD record) after
 * the clone's SYSCALL record. */
static strand_status on_new_thread(struct rec *r, strand_error *err)
{
	unsigned long msg = 0;
	if (ptrace(PTRACE_GETEVENTMSG, r->pid, 0, &msg) < 0)
		return sys_err(err, "PTRACE_GETEVENTMSG failed", r->pid);
	pid_t tid = (pid_t)msg;
	size_t idx;
	int status;
	strand_status st;
	if (pid_in(r->early, r->nearly, tid, &idx))
		pid_del(r->early, &r->nearly, idx);
	else if ((st = wait_pid_stop(tid, &status, err)) != STRAND_OK)
		return strand_error_wrap(err, st, "new thread tid=%d", (int)tid);
	struct user_regs_struct regs;
	struct user_fpregs_struct fp;
	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0 || ptrace(PTRACE_GETFPREGS, tid, 0, &fp) < 0)
		return sys_err(err, "cannot read the registers of a new thread", tid);
	void *nb = realloc(r->born, (r->nborn + 1) * sizeof *r->born);
	struct tstate *t = calloc(1, sizeof *t);
	if (nb)
		r->born = nb;
	struct strand_ptrace_task *k = nb && t ? strand_ptrace_task_add(&r->tasks, tid) : NULL;
	if (!k) {
		free(t);
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	}
	strand_ptrace_cpu_from(&regs, &fp, &t->after);
	k->saved = t;
	k->clear_tid = (r->clone_flags & CLONE_CHILD_CLEARTID_) ? r->clone_ctid : 0;
	r->born[r->nborn].tid = tid;
	r->born[r->nborn].cpu = t->after;
	r->nborn++;
	logf_(r, "note: thread tid=%d created", (int)tid);
	return STRAND_OK;
}

/* THREAD records of the threads created by the clone just recorded. */
static strand_status announce_threads(struct rec *r, strand_error *err)
{
	strand_status st = STRAND_OK;
	for (size_t i = 0; i < r->nborn && st == STRAND_OK; i++) {
		struct strand_record th = { .type = STRAND_REC_THREAD, .position = r->ordinal };
		th.u.thread.cpu = r->born[i].cpu;
		th.u.thread.name = "";
		st = put_as(r, &th, r->born[i].tid, err);
	}
	r->nborn = 0;
	return st;
}

/* Syscall entry of clone/clone3: remember a thread creation's flags and
 * the addresses the kernel writes the new tid to. */
static void note_clone(struct rec *r)
{
	r->thread_clone = false;
	uint64_t ca[4] = { 0, 0, 0, 0 }; /* clone_args: flags, pidfd, child_tid, parent_tid */
	if (r->nr == 56) {
		ca[0] = r->args[0];
		ca[1] = r->args[2];
		ca[2] = r->args[3];
		ca[3] = r->args[2];
	} else if (!strand_ptrace_read_exact(r->memfd, r->args[0], ca, sizeof ca)) {
		return;
	}
	if (!(ca[0] & CLONE_THREAD_))
		return;
	r->thread_clone = true;
	r->clone_flags = ca[0];
	r->clone_pidfd = ca[1];
	r->clone_ctid = ca[2];
	r->clone_ptid = ca[3];
}

/* Syscall exit of a thread creation: the tids the kernel wrote. */
static bool capture_clone_writes(struct rec *r)
{
	bool ok = true;
	if (r->clone_flags & CLONE_PARENT_SETTID_)
		ok = strand_ptrace_fx_capture(&r->fx, r->memfd, r->clone_ptid, 4);
	if (ok && (r->clone_flags & CLONE_CHILD_SETTID_))
		ok = strand_ptrace_fx_capture(&r->fx, r->memfd, r->clone_ctid, 4);
	if (ok && (r->clone_flags & CLONE_PIDFD_))
		ok = strand_ptrace_fx_capture(&r->fx, r->memfd, r->clone_pidfd, 4);
	return ok;
}

/* Syscall entry of exit() while other threads live: its SYSCALL record,
 * with the kernel's write of 0 at the thread's clear-tid address
 * (CLONE_CHILD_CLEARTID, set_tid_address), which wakes pthread_join.
 * The thread is gone at its PTRACE_EVENT_EXIT stop (on_thread_gone). */
static strand_status thread_exit_entry(struct rec *r, strand_error *err)
{
	struct strand_ptrace_task *k = strand_ptrace_task_find(&r->tasks, r->pid);
	struct strand_regval rv[3] = {
		{ STRAND_REG_RIP, r->entry.rip },
		{ STRAND_REG_RCX, r->entry.rcx },
		{ STRAND_REG_R8 + 3, r->entry.r11 },
	};
	static const uint8_t zero[4];
	struct strand_memwrite wr = { .addr = k ? k->clear_tid : 0, .len = 4, .data = zero };
	struct strand_record rec = { .type = STRAND_REC_SYSCALL, .position = r->ordinal };
	rec.u.syscall.pc = r->entry.rip - 2;
	rec.u.syscall.number = (uint32_t)r->nr;
	rec.u.syscall.nargs = 6;
	memcpy(rec.u.syscall.args, r->args, sizeof r->args);
	rec.u.syscall.fx.nregs = 3;
	rec.u.syscall.fx.regs = rv;
	if (wr.addr) {
		rec.u.syscall.fx.nwrites = 1;
		rec.u.syscall.fx.writes = &wr;
	}
	strand_status st = put(r, &rec, err);
	r->ordinal++;
	r->res->syscalls++;
	r->thread_exit = true;
	return st;
}

/* Reopen /proc/PID/mem through thread tid (the leader has left). */
static strand_status reopen_mem(struct rec *r, pid_t tid, strand_error *err)
{
	char mp[64];
	snprintf(mp, sizeof mp, "/proc/%d/mem", (int)tid);
	int fd = open(mp, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return sys_err(err, "cannot open /proc/PID/mem", tid);
	if (r->memfd >= 0)
		close(r->memfd);
	r->memfd = fd;
	return STRAND_OK;
}

static strand_status other_task_stop(struct rec *r, struct strand_ptrace_task *k, int status,
				     strand_error *err);

/* The thread with the turn called exit() and reached its
 * PTRACE_EVENT_EXIT stop: it ends (its clear-tid write and futex wake
 * done before anyone runs on), THREAD_EXIT, and the turn goes on. */
static strand_status on_thread_gone(struct rec *r, strand_error *err)
{
	pid_t tid = r->pid;
	int status = 0;
	strand_status st;
	if (ptrace(PTRACE_CONT, tid, 0, 0) < 0 && errno != ESRCH)
		return sys_err(err, "PTRACE_CONT failed", tid);
	/* the leader's end is reported only with the whole process's */
	while (tid != r->tgid) {
		pid_t p = waitpid(tid, &status, __WALL);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0 || !WIFSTOPPED(status))
			break;
		ptrace(PTRACE_CONT, tid, 0, 0);
	}
	struct strand_record rec = { .type = STRAND_REC_THREAD_EXIT, .position = r->ordinal };
	rec.u.exit_code = r->args[0];
	if ((st = put_as(r, &rec, tid, err)) != STRAND_OK)
		return st;
	drop_thread_fields(r);
	strand_ptrace_task_del(&r->tasks, tid);
	struct strand_ptrace_task *n;
	while (!(n = strand_ptrace_task_next(&r->tasks, tid))) {
		/* every other thread is in the kernel: the first to stop gets the turn */
		pid_t p = waitpid(-1, &status, __WALL);
		if (p < 0 && errno == EINTR) {
			if (r->opt->interrupted && *r->opt->interrupted)
				return strand_error_set(err, STRAND_ERR_RECORD, "interrupted");
			continue;
		}
		if (p < 0)
			return sys_err(err, "waitpid failed", tid);
		struct strand_ptrace_task *k = strand_ptrace_task_find(&r->tasks, p);
		if (p == r->tgid && !WIFSTOPPED(status) && !k)
			return finish(r, status, err);
		st = k ? other_task_stop(r, k, status, err) : on_other(r, p, status, err);
		if (st != STRAND_OK)
			return st;
	}
	if (tid == r->tgid && (st = reopen_mem(r, n->tid, err)) != STRAND_OK)
		return st;
	return give_turn(r, n->tid, err);
}

/* A stop or end of thread k, which does not have the turn: held until it
 * gets it, except fork events (the child is released at once). */
static strand_status other_task_stop(struct rec *r, struct strand_ptrace_task *k, int status,
				     strand_error *err)
{
	if (!WIFSTOPPED(status)) {
		pid_t tid = k->tid;
		tstate_free(k->saved);
		k->saved = NULL;
		strand_ptrace_task_del(&r->tasks, tid);
		struct strand_record rec = { .type = STRAND_REC_THREAD_EXIT, .position = r->ordinal };
		rec.u.exit_code = exit_code_of(status);
		return put_as(r, &rec, tid, err);
	}
	int sig = WSTOPSIG(status), ev = status >> 16;
	const struct tstate *t = k->saved;
	if (sig == SIGTRAP && ev == PTRACE_EVENT_EXIT && r->in_syscall && is_exec_nr(r->nr)) {
		/* killed by the exec of the thread with the turn, which
		 * waits for it: let it end */
		if (ptrace(PTRACE_CONT, k->tid, 0, 0) < 0 && errno != ESRCH)
			return sys_err(err, "PTRACE_CONT failed", k->tid);
		return STRAND_OK;
	}
	if (sig == SIGTRAP && (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK ||
			       (ev == PTRACE_EVENT_CLONE && !(t && t->thread_clone)))) {
		strand_status st = on_new_child(r, k->tid, err);
		if (st != STRAND_OK)
			return st;
		if (ptrace(PTRACE_SYSCALL, k->tid, 0, 0) < 0 && errno != ESRCH)
			return sys_err(err, "PTRACE_SYSCALL failed", k->tid);
		return STRAND_OK;
	}
	k->has_pending = true;
	k->pending = status;
	k->state = STRAND_PTRACE_TASK_READY;
	return STRAND_OK;
}

/* The process ends with several threads (exit_group, a fatal signal):
 * every thread is let go from whatever stop it is at until the leader's
 * end, which is the process's. */
static strand_status drain(struct rec *r, int resume_sig, strand_error *err)
{
	for (size_t i = 0; i < r->tasks.n; i++) {
		struct strand_ptrace_task *k = &r->tasks.v[i];
		if (k->tid != r->pid && k->state == STRAND_PTRACE_TASK_READY)
			ptrace(PTRACE_CONT, k->tid, 0, 0);
	}
	ptrace(PTRACE_CONT, r->pid, 0, (void *)(uintptr_t)resume_sig);
	for (;;) {
		int status;
		pid_t p = waitpid(-1, &status, __WALL);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return sys_err(err, "waitpid failed", r->tgid);
		if (p == r->tgid && !WIFSTOPPED(status))
			return finish(r, status, err);
		if (strand_ptrace_task_find(&r->tasks, p)) {
			if (WIFSTOPPED(status))
				ptrace(PTRACE_CONT, p, 0, 0); /* everything ends: nothing is delivered */
			continue;
		}
		strand_status st = on_other(r, p, status, err);
		if (st != STRAND_OK)
			return st;
	}
}

/* PTRACE_EVENT_EXEC of the thread with the turn while the process had
 * several threads: the kernel has ended every other one (their exits may
 * be reported later, or not at all for a leader replaced by the exec'ing
 * thread).  Each gets its THREAD_EXIT before the execve's SYSCALL record;
 * the process goes on with one thread, r->pid (the leader's tid). */
static strand_status exec_ends_threads(struct rec *r, strand_error *err)
{
	pid_t keep = r->exec_from ? r->exec_from : r->pid;
	strand_status st = STRAND_OK;
	for (size_t i = r->tasks.n; i-- > 0 && st == STRAND_OK;) {
		struct strand_ptrace_task *k = &r->tasks.v[i];
		if (k->tid == keep)
			continue;
		pid_t tid = k->tid;
		struct strand_record rec = { .type = STRAND_REC_THREAD_EXIT, .position = r->ordinal };
		rec.u.exit_code = 0; /* as the kernel reports it: _exit(0) */
		st = put_as(r, &rec, tid, err);
		tstate_free(k->saved);
		k->saved = NULL;
		strand_ptrace_task_del(&r->tasks, tid);
	}
	struct strand_ptrace_task *k = strand_ptrace_task_find(&r->tasks, keep);
	if (k) {
		k->tid = r->pid;
		k->clear_tid = 0; /* the kernel dropped it with the old memory */
		k->inflight = false;
		k->state = STRAND_PTRACE_TASK_RUNNING;
	}
	r->slice = SLICE_MIN;
	r->turn_t0 = strand_ptrace_now();
	return st;
}

/* When the turn should change if another thread is ready: a syscall
 * that stays in the kernel, or the slice.  0: no deadline. */
static double turn_deadline(struct rec *r)
{
	if (r->interrupting)
		return r->intr_t0 + 0.2; /* not answered yet (taken as a stray): again */
	if (r->tasks.n < 2 || r->thread_exit || !any_ready(r))
		return 0;
	if (r->in_syscall && is_exec_nr(r->nr))
		return 0; /* a successful exec ends every other thread: no turn to give */
	if (r->in_syscall)
		return r->have_entry_cpu ? r->sys_t0 + SYNC_WAIT : 0;
	return r->turn_t0 + r->slice;
}

/* ===================================================================== */
/* Process trees                                                          */
/* ===================================================================== */

#define TRACE_OPTIONS (PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | \
		       PTRACE_O_EXITKILL | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | \
		       PTRACE_O_TRACECLONE)

static strand_status loop(struct rec *r, strand_error *err);
static int kill_tracee(struct rec *r);

/* The header of every trace this recorder writes. */
static void trace_info(struct strand_trace_info *info)
{
	memset(info, 0, sizeof *info);
	info->format_major = STRAND_FORMAT_MAJOR;
	info->format_minor = STRAND_FORMAT_MINOR;
	info->arch = STRAND_ARCH_X86_64;
	info->abi = STRAND_ABI_LINUX;
	info->flags = STRAND_TRACE_F_ORDINAL_POSITIONS;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	info->created_unix_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	snprintf(info->recorder, sizeof info->recorder, "strand-ptrace");
	snprintf(info->recorder_version, sizeof info->recorder_version, "%s", STRAND_VERSION_STRING);
}

/* Whole contents of a small /proc file (owned), or NULL. */
static char *read_proc(pid_t pid, const char *what, size_t *len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		ssize_t k = read(fd, buf + n, cap - n);
		if (k <= 0)
			break;
		n += (size_t)k;
		if (n == cap) {
			char *t = cap < (1u << 24) ? realloc(buf, cap * 2) : NULL;
			if (!t)
				break;
			buf = t;
			cap *= 2;
		}
	}
	close(fd);
	*len = n;
	return buf;
}

/* In a recorder process forked for child process c (parked in pause()
 * by follow_child with its registers at the fork's return in regs0):
 * attach, put the registers back, write its snapshot and record it to
 * `path` until it ends; its own children are embedded in that trace.
 * Returns the recorder process's exit status (0: a complete trace). */
static int record_child(const struct rec *parent, pid_t c, const struct user_regs_struct *regs0,
			const char *path, int go_fd)
{
	struct rec rs, *r = &rs;
	struct strand_ptrace_result res;
	strand_error err;
	strand_error_clear(&err);
	memset(r, 0, sizeof *r);
	memset(&res, 0, sizeof res);
	r->opt = parent->opt;
	r->res = &res;
	r->memfd = -1;
	r->pid = r->tgid = c;
	r->ppid = parent->tgid;
	r->cpuid_patch = parent->cpuid_patch;
	r->cpuid_faulting = parent->cpuid_faulting;
	r->affinity = parent->affinity;
	r->have_affinity = parent->have_affinity;
	r->slice = SLICE_MIN;
	memcpy(r->null_stdio, parent->null_stdio, sizeof r->null_stdio);
	strand_status st = STRAND_OK;
	r->patched = malloc((parent->npatched + 1) * sizeof *r->patched);
	if (!r->patched)
		return 1;
	memcpy(r->patched, parent->patched, parent->npatched * sizeof *r->patched);
	r->npatched = parent->npatched;
	r->sweeps = parent->sweeps; /* this process's copy (fork): ours to grow */

	char go = 0;
	while (read(go_fd, &go, 1) < 0 && errno == EINTR)
		;
	close(go_fd);
	int status = 0;
	struct user_regs_struct regs = *regs0;
	regs.orig_rax = (uint64_t)-1; /* no restart of the pause it is parked in */
	if (ptrace(PTRACE_SEIZE, c, 0, (void *)TRACE_OPTIONS) < 0 ||
	    ptrace(PTRACE_INTERRUPT, c, 0, 0) < 0) {
		st = sys_err(&err, "cannot attach to the child process", c);
		kill(c, SIGKILL);
		goto fail;
	}
	if ((st = wait_stop(r, &status, &err)) != STRAND_OK ||
	    (st = set_regs(r, &regs, &err)) != STRAND_OK)
		goto fail;
	char mp[64];
	snprintf(mp, sizeof mp, "/proc/%d/mem", (int)c);
	if ((r->memfd = open(mp, O_RDWR | O_CLOEXEC)) < 0) {
		st = sys_err(&err, "cannot open /proc/PID/mem", c);
		goto fail;
	}
	r->cmdline = read_proc(c, "cmdline", &r->cmdline_len);
	size_t auxv_len = 0;
	char *auxv = read_proc(c, "auxv", &auxv_len);
	struct strand_trace_info info;
	trace_info(&info);
	if ((st = strand_writer_open(path, &info, NULL, &r->w, &err)) != STRAND_OK) {
		free(auxv);
		goto fail;
	}
	st = write_snapshot(r, (const uint8_t *)auxv, auxv ? auxv_len : 0, &err);
	free(auxv);
	if (st != STRAND_OK)
		goto fail;
	r->exit_raw = regs;
	r->have_exit = true;
	r->turn_t0 = strand_ptrace_now();
	struct strand_ptrace_task *k = strand_ptrace_task_add(&r->tasks, c);
	if (!k) {
		st = strand_error_set(&err, STRAND_ERR_NOMEM, "out of memory");
		goto fail;
	}
	k->state = STRAND_PTRACE_TASK_RUNNING;
	if ((st = loop(r, &err)) != STRAND_OK)
		goto fail;
	if ((st = strand_writer_close(r->w, &err)) != STRAND_OK) {
		r->w = NULL;
		goto fail;
	}
	return 0;
fail:
	if (r->opt->log)
		fprintf(r->opt->log, "strand record: child process pid=%d: %s\n", (int)c,
			err.msg);
	kill_tracee(r);
	strand_writer_abort(r->w);
	unlink(path);
	strand_ptrace_kids_abandon(&r->kids);
	/* a refusal (or a refusal further down the tree) fails the whole
	 * recording; other failures leave this child out */
	return st == STRAND_ERR_UNSUPPORTED ? STRAND_PTRACE_KID_REFUSED : 1;
}

/* Child process c of the recorded one is at its first stop: it is
 * recorded by a recorder process of its own (record_child), which attaches
 * once this one has let it go.  Meanwhile it waits in pause(), at the
 * syscall instruction it returned from, with its registers kept by the
 * new recorder. */
static strand_status follow_child(struct rec *r, pid_t c, strand_error *err)
{
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, c, 0, &regs) < 0)
		return sys_err(err, "PTRACE_GETREGS failed", c);
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, c, (void *)(regs.rip - 2), 0);
	if (errno || (word & 0xffff) != 0x050f)
		return strand_error_set(err, STRAND_ERR_RECORD,
					"child pid=%d: no syscall instruction before pc=0x%llx",
					(int)c, (unsigned long long)regs.rip);
	char path[4096];
	snprintf(path, sizeof path, "%s.p%d", r->opt->out_path, (int)c);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return sys_err(err, "pipe failed", c);
	fflush(NULL);
	pid_t sub = fork();
	if (sub == 0) {
		close(pfd[1]);
		_exit(record_child(r, c, &regs, path, pfd[0]));
	}
	close(pfd[0]);
	if (sub < 0) {
		close(pfd[1]);
		kill(c, SIGKILL);
		return sys_err(err, "fork (a recorder for a child process) failed", c);
	}
	if (!strand_ptrace_kids_add(&r->kids, sub, c, r->tgid, path)) {
		close(pfd[1]);
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	}
	struct user_regs_struct park = regs;
	park.rip = regs.rip - 2;
	park.rax = SYS_pause;
	park.orig_rax = (uint64_t)-1;
	strand_status st = STRAND_OK;
	if (ptrace(PTRACE_SETREGS, c, 0, &park) < 0 || ptrace(PTRACE_DETACH, c, 0, 0) < 0)
		st = sys_err(err, "cannot hand the child process over", c);
	(void)!write(pfd[1], "g", 1);
	close(pfd[1]);
	return st;
}

/* Kill the tracee (every thread) and reap it. */
static int kill_tracee(struct rec *r)
{
	int status = 0;
	pid_t leader = r->tgid > 0 ? r->tgid : r->pid;
	kill(leader, SIGKILL);
	for (;;) {
		pid_t p = waitpid(-1, &status, __WALL);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;
		if (WIFSTOPPED(status)) {
			ptrace(PTRACE_CONT, p, 0, 0); /* PTRACE_EVENT_EXIT stop */
			continue;
		}
		if (p == leader)
			break;
	}
	return status;
}

static strand_status loop(struct rec *r, strand_error *err)
{
	strand_status st = STRAND_OK;
	int resume_sig = 0, status = 0;
	r->resume = true;
	for (;;) {
		if (r->opt->interrupted && *r->opt->interrupted)
			goto interrupted;
		if (r->resume && ptrace(PTRACE_SYSCALL, r->pid, 0, (void *)(uintptr_t)resume_sig) < 0 &&
		    errno != ESRCH)
			return sys_err(err, "PTRACE_SYSCALL failed", r->pid);
		r->resume = true;
		resume_sig = 0;
		pid_t p;
		bool turned = false;
		if (r->have_next) {
			r->have_next = false;
			status = r->next_status;
			p = r->pid;
		} else {
			for (;;) { /* other threads' and processes' stops until the thread with the turn stops */
				p = strand_ptrace_wait_until(&status, turn_deadline(r));
				if (p == 0) {
					if (r->in_syscall) { /* it waits in the kernel: hand the turn over */
						if ((st = park_in_kernel(r, true, err)) != STRAND_OK)
							return st;
						turned = true;
						break;
					}
					if (ptrace(PTRACE_INTERRUPT, r->pid, 0, 0) < 0)
						return sys_err(err, "PTRACE_INTERRUPT failed", r->pid);
					r->interrupting = true;
					r->intr_t0 = strand_ptrace_now();
					continue;
				}
				if (p < 0 && errno == EINTR) {
					if (r->opt->interrupted && *r->opt->interrupted)
						goto interrupted;
					continue;
				}
				if (p < 0)
					return sys_err(err, "waitpid failed", r->pid);
				if (p == r->pid)
					break;
				if (p == r->tgid && r->in_syscall && is_exec_nr(r->nr) && WIFSTOPPED(status) &&
				    WSTOPSIG(status) == SIGTRAP && status >> 16 == PTRACE_EVENT_EXEC) {
					/* the thread with the turn executed a program and
					 * now has the leader's tid */
					r->exec_from = r->pid;
					r->pid = r->tgid;
					break;
				}
				struct strand_ptrace_task *k = strand_ptrace_task_find(&r->tasks, p);
				if (p == r->tgid && !k && !WIFSTOPPED(status))
					return finish(r, status, err);
				st = k ? other_task_stop(r, k, status, err) : on_other(r, p, status, err);
				if (st != STRAND_OK)
					return st;
			}
		}
		if (turned)
			continue;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (p == r->tgid || r->tasks.n < 2)
				return finish(r, status, err);
			strand_ptrace_task_del(&r->tasks, p); /* ended without an exit stop */
			return drain(r, 0, err);
		}
		if (r->opt->interrupted && *r->opt->interrupted)
			goto interrupted;
		int sig = WSTOPSIG(status), ev = status >> 16;
		if (sig == SYSTRAP) {
			if (!r->in_syscall && r->interrupting) {
				st = yield_at_entry(r, err);
			} else if (!r->in_syscall) {
				r->in_syscall = true;
				r->sys_t0 = strand_ptrace_now();
				r->have_entry_cpu = false;
				st = on_syscall_entry(r, err);
				if (r->exiting) {
					r->in_syscall = false;
					if (st == STRAND_OK && r->tasks.n > 1)
						return drain(r, 0, err);
				} else if (st == STRAND_OK && r->tasks.n > 1 && !r->thread_exit && !r->skipped) {
					if ((st = get_cpu(r, &r->entry, &r->entry_cpu, err)) == STRAND_OK) {
						r->have_entry_cpu = true;
						if (strand_ptrace_sys_may_block(r->nr, r->args))
							st = park_in_kernel(r, false, err);
					}
				}
			} else {
				r->in_syscall = false;
				r->have_entry_cpu = false;
				st = on_syscall_exit(r, err);
				struct strand_ptrace_task *k = strand_ptrace_task_find(&r->tasks, r->pid);
				if (k)
					k->inflight = false;
				if (st == STRAND_OK && r->nborn)
					st = announce_threads(r, err);
				if (st == STRAND_OK && r->tasks.n > 1 &&
				    strand_ptrace_now() - r->turn_t0 >= r->slice && any_ready(r)) {
					struct strand_ptrace_task *n = strand_ptrace_task_next(&r->tasks, r->pid);
					st = give_turn(r, n->tid, err);
				}
			}
		} else if (sig == SIGTRAP && ev) {
			if (ev == PTRACE_EVENT_EXEC) {
				r->exec_done = true; /* recorded at the execve's exit stop */
				if (r->tasks.n > 1 || r->exec_from)
					st = exec_ends_threads(r, err);
			} else if (ev == PTRACE_EVENT_CLONE && r->thread_clone) {
				st = on_new_thread(r, err);
			} else if (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK ||
				   ev == PTRACE_EVENT_CLONE) {
				st = on_new_child(r, r->pid, err);
			} else if (ev == PTRACE_EVENT_STOP) {
				/* our PTRACE_INTERRUPT (a stray one after yield_at_entry
				 * is let go); a group-stop is not recorded */
				if (r->stray_stop) {
					r->stray_stop = false;
				} else if (r->interrupting) {
					r->interrupting = false;
					st = preempt(r, err);
				}
			} else if (ev == PTRACE_EVENT_EXIT && r->tasks.n > 1) {
				if (r->thread_exit)
					st = on_thread_gone(r, err);
				else
					return drain(r, 0, err);
			}
			/* PTRACE_EVENT_EXIT of the only thread: its exit status follows */
		} else {
			st = on_signal(r, sig, &resume_sig, err);
		}
		if (st != STRAND_OK)
			return st;
		continue;
	interrupted:
		r->res->interrupted = true;
		logf_(r, "interrupted: stopping the program after %" PRIu64 " events", r->ordinal);
		/* the thread with the turn waits in the kernel (a deadlock):
		 * say so as for a thread parked there, so the trace shows the
		 * call and its arguments */
		if (r->in_syscall && r->have_entry_cpu &&
		    (st = keyframe_at_syscall(r, &r->entry_cpu, r->nr, err)) != STRAND_OK)
			return st;
		status = kill_tracee(r);
		return finish(r, status, err);
	}
}

strand_status strand_ptrace_record(const struct strand_ptrace_options *opt,
				   struct strand_ptrace_result *res, strand_error *err)
{
	struct rec r;
	memset(&r, 0, sizeof r);
	memset(res, 0, sizeof *res);
	r.opt = opt;
	r.res = res;
	r.memfd = -1;
	r.pid = -1;
	if (!opt->argv || !opt->argv[0] || !opt->out_path)
		return strand_error_set(err, STRAND_ERR_INVALID, "no program to record");

	struct strand_trace_info info;
	trace_info(&info);

	strand_status st = strand_writer_open(opt->out_path, &info, NULL, &r.w, err);
	if (st != STRAND_OK)
		return strand_error_wrap(err, st, "cannot create %s", opt->out_path);
	st = start(&r, err);
	/* the thread table starts with the process; SIGCHLD is blocked so
	 * that the timed wait (strand_ptrace_wait_until) can wait for it */
	sigset_t chld, oldmask;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &oldmask);
	r.tgid = r.pid;
	r.slice = SLICE_MIN;
	note_null_stdio(&r);
	r.turn_t0 = strand_ptrace_now();
	if (st == STRAND_OK && r.pid > 0) {
		struct strand_ptrace_task *k = strand_ptrace_task_add(&r.tasks, r.pid);
		if (!k)
			st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
		else
			k->state = STRAND_PTRACE_TASK_RUNNING;
	}
	if (st == STRAND_OK)
		st = loop(&r, err);
	if (r.switches)
		logf_(&r, "note: %" PRIu64 " thread switches (%" PRIu64 " preemptions)", r.switches,
		      r.preemptions);
	if (st != STRAND_OK) {
		if (r.pid > 0)
			kill_tracee(&r);
		strand_ptrace_kids_abandon(&r.kids);
		strand_writer_abort(r.w);
		/* an I/O error (a full disk) keeps what was written: every
		 * complete chunk reads back, and `strand finalize` takes it */
		if (st != STRAND_ERR_IO)
			unlink(opt->out_path);
		goto out;
	}
	st = strand_writer_close(r.w, err);
	if (st != STRAND_OK) {
		strand_error_wrap(err, st, "cannot finish %s", opt->out_path);
		unlink(opt->out_path);
	}
out:
	if (r.memfd >= 0)
		close(r.memfd);
	free_pre(&r);
	free_fixed(&r);
	free(r.exec_old);
	free(r.mods);
	free(r.patched);
	free(r.escort);
	free(r.early);
	for (size_t i = 0; i < r.tasks.n; i++)
		tstate_free(r.tasks.v[i].saved);
	strand_ptrace_tasks_free(&r.tasks);
	free(r.born);
	strand_ptrace_kids_free(&r.kids);
	strand_ptrace_sweeps_free(&r.sweeps);
	free(r.cmdline);
	strand_ptrace_fx_free(&r.fx);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	return st;
}
