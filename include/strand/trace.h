/*
 * strand trace files (.strand): records, the streaming writer, the reader.
 *
 * The on-disk format is specified in docs/trace-format.md; this header is
 * the in-memory view of it.  Read that document first.
 *
 * Model in one paragraph.  A trace is a sequence of records.  Every record
 * has a type, a thread id and a position: the number of instructions
 * retired since the start, counted across all threads.  The first records
 * (all at position 0) are the initial snapshot: modules with symbols,
 * memory regions with their bytes, thread contexts, notes; a
 * STRAND_REC_SNAPSHOT_END record closes it.  Then come events in replay
 * order, with positions that never decrease.  An event at position P is
 * applied when replay has retired exactly P instructions, i.e. before the
 * instruction at index P executes.  Events of the "consuming" kinds
 * (SYSCALL, NONDET) stand for that instruction: replay applies the recorded
 * effects instead of executing it and the position becomes P + 1.  All
 * other events take no instruction.
 *
 * Recorders that cannot count instructions set
 * STRAND_TRACE_F_ORDINAL_POSITIONS and write instead, as each event's
 * position, the number of consuming events before it;
 * strand_finalize_positions() (replay.h) rewrites such a trace with exact
 * positions (docs/trace-format.md, section 2).
 *
 * Untrusted input: the reader checks every length, offset and count of the
 * file before use, bounds every allocation (256 MiB per chunk) and reports
 * a malformed file as one located error ("chunk 3 at offset=4096: payload
 * checksum mismatch (expected 0x..., got 0x...)").
 */
#ifndef STRAND_TRACE_H
#define STRAND_TRACE_H

#include "strand/strand.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* Types                                                                  */
/* ===================================================================== */

#define STRAND_FORMAT_MAJOR 1
/* The newest minor version this library reads and writes.  A writer
 * stamps a file with the lowest minor whose features the file uses, so a
 * file that needs nothing new stays readable as 1.0 by older readers:
 *   1.0  the base format
 *   1.1  the file carries child processes' traces (NOTE "process" and
 *        "process-data", docs/trace-format.md section 15)
 * A reader accepts any minor of its major; a newer minor's unknown
 * trailing record fields are skipped. */
#define STRAND_FORMAT_MINOR 1

/* Header flags (strand_trace_info.flags) */
enum {
	/* Positions of events are ordinals, not instruction counts: each
	 * event's position is the number of consuming events (SYSCALL,
	 * NONDET) before it.  Written by recorders that cannot count
	 * instructions; `strand_finalize_positions()` (replay.h) rewrites
	 * such a trace with exact positions.  Replay refuses such traces. */
	STRAND_TRACE_F_ORDINAL_POSITIONS = 1u << 0,
};

/* What the file header says.  Strings are NUL-terminated. */
struct strand_trace_info {
	uint16_t format_major;      /* STRAND_FORMAT_MAJOR when written */
	uint16_t format_minor;
	strand_arch arch;
	strand_abi abi;
	uint32_t flags;             /* STRAND_TRACE_F_* */
	uint64_t created_unix_ns;   /* creation time; recorders that must be
				       reproducible write a fixed value */
	char recorder[32];          /* "strand-winemu", "strand-ptrace", ... */
	char recorder_version[16];  /* "0.1.0" */
};

/* Record types.  Values are part of the file format.  Types with bit 15 set
 * are optional: a reader that does not know one skips it. */
typedef enum strand_rec_type {
	/* snapshot (position 0, before SNAPSHOT_END); MODULE and THREAD may
	 * also appear later as events: module load, thread create */
	STRAND_REC_MODULE = 1,        /* module + its symbol table */
	STRAND_REC_REGION = 2,        /* memory region + its bytes */
	STRAND_REC_THREAD = 3,        /* thread + full context */
	STRAND_REC_NOTE = 4,          /* key/value metadata (auxv, argv, ...) */
	STRAND_REC_SNAPSHOT_END = 5,  /* end of the initial snapshot */

	/* events */
	STRAND_REC_SYSCALL = 16,      /* kernel transition (consuming) */
	STRAND_REC_NONDET = 17,       /* rdtsc/cpuid/rdrand result (consuming) */
	STRAND_REC_THREAD_SWITCH = 18,/* tid becomes the running thread */
	STRAND_REC_THREAD_EXIT = 19,
	STRAND_REC_MEMORY = 20,       /* asynchronous memory change */
	STRAND_REC_EXCEPTION = 21,    /* exception / signal delivery */
	STRAND_REC_MODULE_UNLOAD = 22,
	STRAND_REC_OUTPUT = 23,       /* bytes the process wrote (display) */
	STRAND_REC_KEYFRAME = 24,     /* all thread contexts + memory digests */
	STRAND_REC_PROCESS_EXIT = 25, /* last record of a complete trace */
	STRAND_REC_TYPE_MAX = 26,
} strand_rec_type;

/* "module", "syscall", ... or "unknown" */
const char *strand_rec_type_str(unsigned type);

/* Memory protection bits (region and map changes) */
enum { STRAND_PROT_READ = 1, STRAND_PROT_WRITE = 2, STRAND_PROT_EXEC = 4 };

/* What a memory region is, for display and for analyses. */
typedef enum strand_region_kind {
	STRAND_REGION_OTHER = 0,
	STRAND_REGION_IMAGE = 1, /* module image (name = module name) */
	STRAND_REGION_STACK = 2,
	STRAND_REGION_HEAP = 3,
	STRAND_REGION_TEB = 4,
	STRAND_REGION_PEB = 5,
	STRAND_REGION_SHARED = 6, /* KUSER_SHARED_DATA, vdso, shared files */
	STRAND_REGION_GDT = 7,    /* descriptor table(s) */
	STRAND_REGION_ANON = 8,   /* anonymous mapping */
	STRAND_REGION_FILE = 9,   /* file mapping (name = path) */
} strand_region_kind;

const char *strand_region_kind_str(unsigned kind);

/* One register assignment of a register delta. */
struct strand_regval {
	uint32_t reg;   /* STRAND_REG_* */
	uint64_t value;
};

/* Bytes written to guest memory. */
struct strand_memwrite {
	uint64_t addr;
	uint32_t len;
	const uint8_t *data; /* len bytes */
};

typedef enum strand_map_op {
	STRAND_MAP_MAP = 1,     /* new mapping; data or zero-filled */
	STRAND_MAP_UNMAP = 2,
	STRAND_MAP_PROTECT = 3, /* change protection only */
} strand_map_op;

/* A memory mapping change (also used for snapshot regions). */
struct strand_mapchange {
	uint32_t op;          /* strand_map_op; STRAND_MAP_MAP for regions */
	uint32_t prot;        /* STRAND_PROT_* */
	uint64_t addr;        /* page aligned (4096) */
	uint64_t size;        /* multiple of 4096, > 0 */
	uint32_t kind;        /* strand_region_kind */
	const char *name;     /* label, "" if none; never NULL */
	const uint8_t *data;  /* MAP: size bytes, or NULL = zero-filled */
};

/* What an event does to the machine.  Applied in this order: maps, then
 * writes, then cpu (if not NULL), then regs. */
struct strand_effects {
	const struct strand_cpu *cpu;        /* full context, or NULL */
	uint32_t nregs;
	const struct strand_regval *regs;
	uint32_t nmaps;
	const struct strand_mapchange *maps;
	uint32_t nwrites;
	const struct strand_memwrite *writes;
};

struct strand_symbol {
	uint64_t addr;         /* absolute address */
	uint64_t size;         /* bytes, 0 if unknown */
	uint32_t kind;         /* STRAND_SYM_* */
	const char *name;      /* never NULL */
	const char *demangled; /* "" if none; never NULL */
};

enum { STRAND_SYM_FUNC = 1, STRAND_SYM_OBJECT = 2, STRAND_SYM_EXPORT = 3 };

enum { STRAND_MODULE_F_MAIN = 1 }; /* the main executable */

struct strand_module {
	uint32_t id;          /* unique in the trace, referenced by UNLOAD */
	uint32_t flags;       /* STRAND_MODULE_F_* */
	uint64_t base;
	uint64_t size;        /* bytes of the mapped image */
	uint32_t timestamp;   /* PE TimeDateStamp / 0 */
	uint32_t checksum;    /* PE CheckSum / 0 */
	const char *name;     /* "ntdll.dll", "libc.so.6" */
	const char *path;     /* as the recorder saw it */
	uint32_t nsyms;
	const struct strand_symbol *syms; /* sorted by addr */
};

struct strand_thread {
	struct strand_cpu cpu;   /* full context at creation */
	uint64_t stack_base;     /* highest address + 1 of the stack, 0 if unknown */
	uint64_t stack_limit;    /* lowest address of the stack, 0 if unknown */
	uint64_t teb;            /* TEB address (Windows), 0 otherwise */
	const char *name;        /* "" if none */
};

struct strand_note {
	const char *key;         /* "auxv", "argv", "scenario", ... */
	uint32_t len;
	const uint8_t *data;
};

/* Kernel transition: the instruction at `pc` (syscall, sysenter, int 0x80,
 * int 0x2e) at this record's position. */
struct strand_syscall {
	uint64_t pc;             /* address of the transition instruction */
	uint32_t number;         /* syscall number as passed (eax/rax) */
	uint32_t nargs;          /* <= 8 */
	uint64_t args[8];        /* arguments as the kernel read them */
	uint64_t result;         /* raw result (eax/rax): NTSTATUS or -errno */
	struct strand_effects fx;/* registers after, memory the kernel wrote,
				    mapping changes */
};

typedef enum strand_nondet_kind {
	STRAND_NONDET_RDTSC = 1,
	STRAND_NONDET_RDTSCP = 2,
	STRAND_NONDET_CPUID = 3,
	STRAND_NONDET_RDRAND = 4,
	STRAND_NONDET_RDSEED = 5,
	STRAND_NONDET_XGETBV = 6,
} strand_nondet_kind;

/* Result of a nondeterministic instruction at `pc` (consuming). */
struct strand_nondet {
	uint64_t pc;
	uint32_t kind;           /* strand_nondet_kind */
	struct strand_effects fx;/* the registers it produced (and rip) */
};

typedef enum strand_exc_kind {
	STRAND_EXC_EXCEPTION = 1, /* CPU exception / Windows SEH dispatch */
	STRAND_EXC_SIGNAL = 2,    /* Linux signal delivery */
} strand_exc_kind;

/* Exception or signal delivery.  Not consuming: the faulting instruction
 * did not retire.  The effects are what the kernel did to deliver it
 * (frame written on the stack, registers set to the handler). */
struct strand_exception {
	uint32_t kind;           /* strand_exc_kind */
	uint32_t flags;          /* STRAND_EXC_F_* */
	uint64_t code;           /* NTSTATUS (0xC0000005) or signal number */
	uint64_t pc;             /* where it happened */
	uint64_t addr;           /* faulting data address, 0 if none */
	struct strand_effects fx;
};

enum { STRAND_EXC_F_FATAL = 1 }; /* the process dies of it */

struct strand_output {
	uint32_t stream;         /* 1 stdout, 2 stderr, 3 debug log (Windows) */
	uint32_t len;
	const uint8_t *data;
};

/* Digest of one memory range: XXH3-64 of its bytes (seed 0). */
struct strand_digest {
	uint64_t addr;
	uint64_t size;
	uint64_t hash;
};

struct strand_keyframe_thread {
	uint32_t tid;
	struct strand_cpu cpu;
};

/* All thread contexts and digests of (usually all writable) memory, for
 * divergence checks.  The running thread is the record's tid. */
struct strand_keyframe {
	uint32_t nthreads;
	const struct strand_keyframe_thread *threads;
	uint32_t ndigests;
	const struct strand_digest *digests; /* sorted by addr, disjoint */
};

/* A decoded record.  Which union member is valid follows `type`:
 * MODULE: module; REGION: region; THREAD: thread; NOTE: note;
 * SYSCALL: syscall; NONDET: nondet; THREAD_EXIT, PROCESS_EXIT: exit_code;
 * MEMORY: memory (only writes and maps are used); EXCEPTION: exception;
 * MODULE_UNLOAD: module_id; OUTPUT: output; KEYFRAME: keyframe;
 * SNAPSHOT_END, THREAD_SWITCH: nothing. */
struct strand_record {
	uint32_t type;      /* strand_rec_type */
	uint32_t tid;       /* thread the record concerns */
	uint64_t position;  /* instructions retired before it (see top) */
	union {
		struct strand_module module;
		struct strand_mapchange region;
		struct strand_thread thread;
		struct strand_note note;
		struct strand_syscall syscall;
		struct strand_nondet nondet;
		uint64_t exit_code;
		struct strand_effects memory;
		struct strand_exception exception;
		uint32_t module_id;
		struct strand_output output;
		struct strand_keyframe keyframe;
	} u;
};

/* True for SYSCALL and NONDET: the record stands for one instruction. */
bool strand_rec_is_consuming(unsigned type);

/* ===================================================================== */
/* Writer                                                                 */
/* ===================================================================== */

struct strand_writer;

struct strand_writer_options {
	uint32_t chunk_size;   /* uncompressed bytes per chunk; 0 = 1 MiB;
				  at most 128 MiB */
	int zstd_level;        /* 0 = default (3); 1 writes ~1.4x faster */
};

/* Create `path` and write the header.  `opt` may be NULL.  On success
 * *out is owned by the caller and must be passed to strand_writer_close()
 * or strand_writer_abort(). Memory use is bounded by the chunk size,
 * whatever the trace's length. */
strand_status strand_writer_open(const char *path,
				 const struct strand_trace_info *info,
				 const struct strand_writer_options *opt,
				 struct strand_writer **out, strand_error *err);

/* Append one record.  The record is copied; `rec` and what it points to
 * may be reused after the call.  Checks the record (snapshot before
 * events, positions non-decreasing, sizes: docs/trace-format.md section 9)
 * and returns STRAND_ERR_INVALID with a message if it is not valid; the
 * writer stays usable.  A REGION larger than 64 MiB is written as several
 * consecutive REGION records. */
strand_status strand_writer_put(struct strand_writer *w,
				const struct strand_record *rec,
				strand_error *err);

/* Write the open chunk to the file (if the process dies after this, every
 * record put before is readable; the trace then reads as truncated). */
strand_status strand_writer_flush(struct strand_writer *w, strand_error *err);

/* Flush, write the index and footer, close and free `w` (even on error).
 * `w` may be NULL. */
strand_status strand_writer_close(struct strand_writer *w, strand_error *err);

/* Free `w` after flushing complete chunks but without a footer (the file
 * reads as truncated).  `w` may be NULL. */
void strand_writer_abort(struct strand_writer *w);

/* ===================================================================== */
/* Reader                                                                 */
/* ===================================================================== */

struct strand_reader;

/* Where a record is: for strand_reader_tell / strand_reader_seek. */
struct strand_cursor {
	uint32_t chunk;   /* chunk index */
	uint32_t record;  /* record index inside the chunk */
};

/* One chunk, as listed by the index (or found by scanning). */
struct strand_chunk_info {
	uint64_t file_offset;     /* of the chunk header */
	uint32_t compressed;      /* payload bytes on disk */
	uint32_t uncompressed;    /* payload bytes decoded */
	uint32_t nrecords;
	uint32_t flags;           /* STRAND_CHUNK_F_* */
	uint64_t first_position;
	uint64_t last_position;
};

/* KEYFRAME: the chunk's first record is a KEYFRAME (the writer starts a new
 * chunk at each key frame, so seeking = last KEYFRAME chunk at or before the
 * target + replay forward).  SNAPSHOT: every record of the chunk belongs
 * to the initial snapshot (the writer ends a chunk after SNAPSHOT_END). */
enum { STRAND_CHUNK_F_KEYFRAME = 1, STRAND_CHUNK_F_SNAPSHOT = 2 };

/* Whole-trace facts, from the footer or from scanning a truncated file. */
struct strand_trace_summary {
	uint64_t file_size;            /* bytes */
	uint64_t uncompressed_size;    /* sum of chunk payloads */
	uint64_t nrecords;
	uint64_t count_by_type[STRAND_REC_TYPE_MAX];
	uint64_t last_position;        /* position of the last record */
	uint32_t nchunks;
	bool truncated;                /* no valid footer: read by scanning */
	bool complete;                 /* ends with PROCESS_EXIT */
};

/* Open a trace file.  Reads the header and the index; if the footer is
 * missing or damaged, scans the chunks and marks the trace truncated
 * (readable up to its last complete chunk).  *out is owned by the caller
 * (strand_reader_close). */
strand_status strand_reader_open(const char *path, struct strand_reader **out,
				 strand_error *err);

/* Same over a caller-owned buffer that must outlive the reader (fuzzing,
 * tests). */
strand_status strand_reader_open_mem(const void *buf, size_t len,
				     struct strand_reader **out,
				     strand_error *err);

void strand_reader_close(struct strand_reader *r); /* r may be NULL */

/* Borrowed; valid until strand_reader_close(). */
const struct strand_trace_info *strand_reader_info(const struct strand_reader *r);
const struct strand_trace_summary *strand_reader_summary(const struct strand_reader *r);
const struct strand_chunk_info *strand_reader_chunks(const struct strand_reader *r,
						     uint32_t *n);

/* Next record.  Returns STRAND_OK with *rec set (borrowed: valid until the
 * next call that moves this reader), STRAND_END after the last record, or
 * an error (STRAND_ERR_CORRUPT with the chunk, file offset and what was
 * expected).  Every length and count in the file is checked against the
 * bytes that hold it before use.  Unknown optional records (type bit 15)
 * are skipped.  After an error, seek before reading again. */
strand_status strand_reader_next(struct strand_reader *r,
				 const struct strand_record **rec,
				 strand_error *err);

/* Cursor of the record the next strand_reader_next() returns. */
void strand_reader_tell(const struct strand_reader *r, struct strand_cursor *c);
strand_status strand_reader_seek(struct strand_reader *r,
				 const struct strand_cursor *c, strand_error *err);

/* Move to the first record with position >= pos (uses the index; reads
 * one chunk).  Returns STRAND_END, with the cursor at the end, if no record
 * has such a position. */
strand_status strand_reader_seek_position(struct strand_reader *r, uint64_t pos,
					  strand_error *err);

/* Full structural check (every chunk, checksum, record decoding, order,
 * monotone positions, snapshot regions not overlapping, index agreement).
 * Returns STRAND_OK or the first problem, located: STRAND_ERR_CORRUPT, or
 * STRAND_ERR_TRUNCATED when the footer is missing or damaged.  Reads the
 * whole trace; afterwards the cursor is at the first record. */
strand_status strand_reader_verify(struct strand_reader *r, strand_error *err);

/* XXH3-64 (seed 0) of a byte range: the digest of keyframes. */
uint64_t strand_digest(const void *data, size_t len);

/* ===================================================================== */
/* Process trees                                                          */
/* ===================================================================== */

/* A child process whose trace is embedded in its parent's trace, as NOTE
 * records "process" (this) and "process-data" (the bytes of its own
 * complete trace file) just before PROCESS_EXIT: docs/trace-format.md,
 * section 15.  A child's trace embeds its own children the same way. */
struct strand_process {
	uint32_t pid;     /* the child process (as the recording saw it) */
	uint32_t ppid;    /* its parent: the process of the trace that embeds it */
	uint64_t size;    /* bytes of its trace file, >= 64 */
};

/* The processes embedded in the trace of r (its direct children), in the
 * order they are stored.  *out is owned (free()), NULL when *n is 0.
 * Moves r (seek before reading on). */
strand_status strand_trace_children(struct strand_reader *r, struct strand_process **out,
				    uint32_t *n, strand_error *err);

/* Write the embedded trace of child `pid` to a new file `path` (replaced
 * if it exists).  STRAND_ERR_INVALID if there is no such child,
 * STRAND_ERR_CORRUPT if its data is malformed or incomplete (the file is
 * removed then).  Moves r. */
strand_status strand_trace_child_extract(struct strand_reader *r, uint32_t pid, const char *path,
					 strand_error *err);

/* Same into a new temporary file in $TMPDIR (or /tmp); *path is owned:
 * the caller unlinks and free()s it. */
strand_status strand_trace_child_temp(struct strand_reader *r, uint32_t pid, char **path,
				      strand_error *err);

/* Embed the complete trace file at `path` as child process p (p->size is
 * ignored: the file's size is written) into w, at `position`, records of
 * thread tid: the "process" and "process-data" notes. */
strand_status strand_writer_put_process(struct strand_writer *w, uint64_t position, uint32_t tid,
					const struct strand_process *p, const char *path,
					strand_error *err);

/* Call fn for every child process trace embedded in the trace at `path`,
 * depth first (depth 1 for its own children); `kid_path` is a temporary
 * file holding that child's trace, removed after the call (a callback may
 * rename it to keep it).  A status other than STRAND_OK from fn stops the
 * walk and is returned (STRAND_END: stop, not an error). */
typedef strand_status (*strand_trace_walk_fn)(const char *kid_path, const struct strand_process *p,
					      int depth, void *ud, strand_error *err);
strand_status strand_trace_walk(const char *path, strand_trace_walk_fn fn, void *ud,
				strand_error *err);

/* What listings of a tree say of one process's trace. */
struct strand_process_facts {
	char argv[256];         /* the program it ran last: its "process-argv"
				   note, else the snapshot's "argv"; arguments
				   separated by spaces, control bytes as '?' */
	int64_t exit_code;      /* PROCESS_EXIT's code, -1 if none */
	uint64_t last_position; /* instructions (or events with ordinal positions) */
	bool ordinal;           /* STRAND_TRACE_F_ORDINAL_POSITIONS */
	uint32_t pid, ppid;     /* its "process-id" note; 0 if none */
};
strand_status strand_trace_process_facts(const char *path, struct strand_process_facts *f,
					 strand_error *err);
/* The snapshot's "argv" note of r as one line (see facts.argv); "?" if
 * none; and its "process-id" note into *pid, *ppid (left as they are if
 * none; both may be NULL).  Reads r from where it is. */
void strand_trace_argv(struct strand_reader *r, char *out, size_t len, uint32_t *pid,
		       uint32_t *ppid);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_TRACE_H */
