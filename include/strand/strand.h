/*
 * strand — time-travel trace replay analyzer.
 *
 * Common types of the public API: status codes, the error message carrier,
 * architecture and OS ABI identifiers, and the x86 thread context.
 *
 * Conventions:
 *  - Functions that can fail return `strand_status`; negative is an error,
 *    0 is success, positive values are normal alternative outcomes.
 *  - Results come back through out-parameters.
 *  - A function that fails fills a caller-provided `strand_error` (which may
 *    be NULL) with a chain of causes.  Layers that add meaning wrap it:
 *    "cannot open trace: chunk 3 offset=4096: checksum mismatch".
 *  - Every returned pointer says who owns it ("borrowed": valid until the
 *    named invalidating call; "owned": the caller frees it with the named
 *    function).
 *  - There is no global mutable state: everything hangs off a handle.
 */
#ifndef STRAND_STRAND_H
#define STRAND_STRAND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* Version                                                                */
/* ===================================================================== */

/* STRAND_VERSION_MAJOR/MINOR/PATCH and STRAND_VERSION_STRING, generated
 * from the VERSION file of the source tree. */
#include "strand/version.h"

/* The version of the library actually linked ("0.2.0"); static. */
const char *strand_version(void);

/* ===================================================================== */
/* Status                                                                 */
/* ===================================================================== */

typedef enum strand_status {
	STRAND_OK = 0,
	STRAND_END = 1,       /* iteration or motion reached the end (or start) */
	STRAND_NOT_FOUND = 2, /* a lookup found nothing; not an error */
	STRAND_STOPPED = 3,   /* motion stopped early: breakpoint, watchpoint, event */

	STRAND_ERR_NOMEM = -1,       /* allocation failed or a size is absurd */
	STRAND_ERR_IO = -2,          /* operating system I/O error */
	STRAND_ERR_CORRUPT = -3,     /* trace file is malformed; message says where */
	STRAND_ERR_VERSION = -4,     /* trace format version not supported */
	STRAND_ERR_INVALID = -5,     /* bad argument or usage */
	STRAND_ERR_UNSUPPORTED = -6, /* valid but not implemented (arch, record...) */
	STRAND_ERR_DIVERGENCE = -7,  /* replay state differs from the recording */
	STRAND_ERR_EMULATOR = -8,    /* the emulator (Unicorn) failed */
	STRAND_ERR_TRUNCATED = -9,   /* trace ends before its footer */
	STRAND_ERR_RECORD = -10,     /* recording failed (tracee, ptrace, guest) */
	STRAND_ERR_LIMIT = -11,      /* a budget (--max-instructions, --max-memory,
					a parser limit) would be exceeded */
} strand_status;

/* Static string naming a status ("corrupt trace"); never NULL. */
const char *strand_status_str(strand_status st);

/* ===================================================================== */
/* Errors                                                                 */
/* ===================================================================== */

#define STRAND_ERROR_MAX 1024
#define STRAND_ERROR_CAUSES 8

/* One cause of an error chain: a slice of strand_error.msg and the source
 * location that added it. */
struct strand_error_cause {
	uint16_t off;     /* start of this cause's text in msg */
	uint16_t len;     /* its length in bytes (no ": " separator) */
	const char *file; /* source file that added it, relative to the source
			     tree; a static string of the library (or plugin:
			     valid while it is loaded); NULL if unknown */
	int line;         /* line in `file`, 0 if unknown */
};

/* An error as a chain of causes, as Babeltrace 2 reports them: the
 * innermost failure first sets it ("checksum mismatch"), and each layer
 * that adds meaning appends an outer cause ("chunk 3", "cannot open
 * trace").  Caller-owned, usually on the stack; zero-initialised or
 * strand_error_clear()ed before use.
 *   msg      the whole chain on one line, outermost first, causes
 *            separated by ": "; always NUL-terminated (truncated to fit)
 *   cause[]  the causes, outermost first; a chain deeper than
 *            STRAND_ERROR_CAUSES keeps its outermost causes and folds the
 *            innermost ones into the last entry. */
typedef struct strand_error {
	strand_status status;  /* the status the failing function returned */
	char msg[STRAND_ERROR_MAX];
	uint32_t ncauses;      /* entries used in cause[], 0..STRAND_ERROR_CAUSES */
	struct strand_error_cause cause[STRAND_ERROR_CAUSES];
} strand_error;

/* Start a chain in `e` (e may be NULL) with its innermost cause, replacing
 * whatever it held.  Returns `st`, so a caller can write
 * `return strand_error_set(err, STRAND_ERR_IO, "cannot read %s", path)`. */
strand_status strand_error_set_at(strand_error *e, strand_status st, const char *file,
				  int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define strand_error_set(e, st, ...) \
	strand_error_set_at((e), (st), __FILE__, __LINE__, __VA_ARGS__)

/* Append an outer cause to the chain in `e` (e may be NULL) and set its
 * status to `st` (normally the status the failed callee returned).
 * Returns `st` in every case, so `return strand_error_wrap(err, st, ...)`
 * keeps the callee's status even when the caller passed no error. */
strand_status strand_error_wrap_at(strand_error *e, strand_status st, const char *file,
				   int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define strand_error_wrap(e, st, ...) \
	strand_error_wrap_at((e), (st), __FILE__, __LINE__, __VA_ARGS__)

/* Reset `e` to "no error". */
void strand_error_clear(strand_error *e);

/* ===================================================================== */
/* Architecture, ABI                                                      */
/* ===================================================================== */

typedef enum strand_arch {
	STRAND_ARCH_UNKNOWN = 0,
	STRAND_ARCH_X86_32 = 1,
	STRAND_ARCH_X86_64 = 2,
} strand_arch;

typedef enum strand_abi {
	STRAND_ABI_NONE = 0,       /* bare code, no OS (tests, benchmarks) */
	STRAND_ABI_WINDOWS_NT = 1, /* Windows NT user mode (x86-32: Server 2003) */
	STRAND_ABI_LINUX = 2,      /* Linux user mode */
} strand_abi;

/* "x86-32", "x86-64", "unknown" */
const char *strand_arch_str(strand_arch a);
/* "none", "windows-nt", "linux", "unknown" */
const char *strand_abi_str(strand_abi a);

/* ===================================================================== */
/* x86 registers                                                          */
/* ===================================================================== */

/* Register numbers used in register deltas (strand_regval).  GPRs follow
 * the x86 encoding order.  On x86-32 only the low 32 bits of RAX..RDI,
 * RIP, RFLAGS are meaningful and R8..R15 are unused. */
typedef enum strand_reg {
	STRAND_REG_RAX = 0,
	STRAND_REG_RCX = 1,
	STRAND_REG_RDX = 2,
	STRAND_REG_RBX = 3,
	STRAND_REG_RSP = 4,
	STRAND_REG_RBP = 5,
	STRAND_REG_RSI = 6,
	STRAND_REG_RDI = 7,
	STRAND_REG_R8 = 8,
	STRAND_REG_R15 = 15,
	STRAND_REG_RIP = 16,
	STRAND_REG_RFLAGS = 17,
	STRAND_REG_ES = 18, /* selectors: ES CS SS DS FS GS */
	STRAND_REG_CS = 19,
	STRAND_REG_SS = 20,
	STRAND_REG_DS = 21,
	STRAND_REG_FS = 22,
	STRAND_REG_GS = 23,
	STRAND_REG_FS_BASE = 24,
	STRAND_REG_GS_BASE = 25,
	STRAND_REG_COUNT = 26, /* number of delta-able registers */
} strand_reg;

/* Index into strand_cpu.sel[] */
enum { STRAND_SEG_ES, STRAND_SEG_CS, STRAND_SEG_SS, STRAND_SEG_DS,
       STRAND_SEG_FS, STRAND_SEG_GS, STRAND_SEG_COUNT };

/* Full x86 thread context, the same shape for both architectures.
 *
 * x87/SSE state is kept in the FXSAVE layout (Intel SDM vol. 1, table
 * 10-2), which is what Linux PTRACE_GETFPREGS returns; on x86-32 only
 * XMM0-7 are meaningful.
 *
 * Segment bases: on x86-64 fs_base/gs_base are the MSR values.  On x86-32
 * they are the bases of the descriptors FS and GS select; the GDT itself
 * lives in guest memory at gdt_base (a snapshot region labelled "gdt"). */
struct strand_cpu {
	uint64_t gpr[16];             /* STRAND_REG_RAX .. STRAND_REG_R15 */
	uint64_t rip;
	uint64_t rflags;
	uint16_t sel[STRAND_SEG_COUNT]; /* segment selectors, STRAND_SEG_* */
	uint16_t pad0[2];             /* zero */
	uint64_t fs_base;
	uint64_t gs_base;
	uint64_t gdt_base;            /* 0 if the trace has no GDT */
	uint32_t gdt_limit;           /* bytes - 1, as in GDTR */
	uint32_t pad1;                /* zero */
	uint8_t fxsave[512];          /* x87/SSE in FXSAVE layout */
};

/* Read/write a delta-able register of a context (STRAND_REG_*).  Returns
 * false if `reg` is out of range. */
bool strand_cpu_get(const struct strand_cpu *cpu, unsigned reg, uint64_t *val);
bool strand_cpu_set(struct strand_cpu *cpu, unsigned reg, uint64_t val);

/* Lower-case register name ("rax", "fs_base") or NULL. */
const char *strand_reg_name(unsigned reg);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_STRAND_H */
