/*
 * strand index: a sidecar file beside a trace (TRACE.sidx) that answers
 * whole-trace questions without replaying the whole trace.
 *
 * The trace is cut into segments of `segment_length` instructions (the
 * replay core's checkpoint interval).  For each segment the index holds
 * the guest pages whose content changed in it, the calls it made (per
 * call target) and the returns, the kernel transitions and thread
 * switches, and a checkpoint of the machine at the segment's start (page
 * deltas, every thread's registers, the mapping layout, the reader
 * cursor), so that any segment can be restored and replayed alone.
 *
 * The file format is specified in docs/trace-format.md, section "The
 * index sidecar"; index/index_format.c implements it.
 *
 * Trust: the index is never trusted over the trace.  It names the trace
 * it was built from (size and the checksums of the trace's header and
 * trailer, which cover every chunk); strand_index_open() refuses an index
 * of another or a changed trace (STRAND_ERR_VERSION, "stale index") and a
 * damaged one (STRAND_ERR_CORRUPT, located).  Page snapshots carry their own checksums, checked when a
 * restore reads them, and a replay from a restored checkpoint still
 * checks the trace's key frames.  strand_index_ensure() rebuilds a
 * missing, stale or damaged index.
 *
 * Threading: a handle is not thread-safe; two handles are independent.
 * Queries (strand_index_segments, _syscalls, _calls, _pages_*) only read.
 */
#ifndef STRAND_INDEX_H
#define STRAND_INDEX_H

#include "strand/replay.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* Types                                                                  */
/* ===================================================================== */

struct strand_index;

#define STRAND_INDEX_VERSION_MAJOR 3
#define STRAND_INDEX_VERSION_MINOR 0

/* Traces at least this long get an index built on first need by the
 * commands that use one (query); shorter ones use an index if present. */
#define STRAND_INDEX_AUTO_BUILD 50000000ull

struct strand_index_options {
	/* Instructions per segment; 0 = automatic (1M, or more so that a
	 * trace has at most 4096 segments). */
	uint64_t segment_length;
	/* Worker threads for strand_index_verify (0 = the core count). */
	unsigned jobs;
	/* Called about every 0.1 s while building; may be NULL. */
	void (*progress)(void *ud, uint64_t position, uint64_t end);
	void *progress_ud;
};

/* One segment: instructions [start, end). */
struct strand_index_segment {
	uint64_t start;          /* position of its first instruction */
	uint64_t end;            /* position after its last; == next start */
	uint32_t npages;         /* pages whose content changed in it */
	uint32_t ncall_targets;  /* distinct call targets */
	uint64_t ncalls;         /* calls made in it */
	uint64_t nrets;          /* returns executed in it */
	uint32_t nsyscalls;      /* kernel transitions applied in it */
	uint32_t nswitches;      /* thread switches in it */
};

/* One event of the trace (kernel transitions, exceptions, thread
 * switches and exits, module loads and unloads, output, process exit;
 * not key frames).  Same fields as the query engine's event list. */
struct strand_index_event {
	uint64_t position;
	uint32_t type;      /* strand_rec_type */
	uint32_t tid;
	uint64_t pc;        /* SYSCALL, NONDET, EXCEPTION: pc; else 0 */
	uint64_t number;    /* SYSCALL: number; NONDET: kind; EXCEPTION: code;
			       exits: exit code; MODULE_UNLOAD: module id */
	uint64_t result;    /* SYSCALL: raw result */
	uint64_t args[4];   /* SYSCALL: first arguments (0 beyond nargs) */
	bool failed;        /* SYSCALL: failed for the ABI; EXCEPTION: true */
};

/* Calls to one target in one segment. */
struct strand_index_calls {
	uint32_t segment;     /* segment index */
	uint64_t target;      /* call target address */
	uint64_t count;       /* calls to it in the segment */
	uint64_t first;       /* position of the first such call */
};

/* ===================================================================== */
/* Files                                                                  */
/* ===================================================================== */

/* The sidecar path of `trace` ("TRACE.sidx") into buf (always
 * NUL-terminated).  STRAND_ERR_INVALID if it does not fit. */
strand_status strand_index_path(const char *trace, char *buf, size_t len,
				strand_error *err);

/* Build the index of `trace` by one replay pass and write it to `out`
 * (NULL = the sidecar path), atomically (temporary file + rename).  A
 * divergence of the trace is an error (nothing is written).  `opt` may be
 * NULL. */
strand_status strand_index_build(const char *trace, const char *out,
				 const struct strand_index_options *opt,
				 strand_error *err);

/* Open the index of `trace` at `path` (NULL = the sidecar path) and check
 * it against the trace.  STRAND_NOT_FOUND (no error set) if there is no
 * file; STRAND_ERR_VERSION for an index of another trace or format
 * version (message says "stale"); STRAND_ERR_CORRUPT for a damaged one.
 * *out is owned by the caller (strand_index_close). */
strand_status strand_index_open(const char *trace, const char *path,
				struct strand_index **out, strand_error *err);

/* Open the sidecar index of `trace`, building (or rebuilding a stale or
 * damaged one) first if needed.  *built (may be NULL) says whether it was
 * built now.  If the sidecar cannot be written (read-only directory), the
 * index is built in a temporary file that is removed once opened. */
strand_status strand_index_ensure(const char *trace,
				  const struct strand_index_options *opt,
				  struct strand_index **out, bool *built,
				  strand_error *err);

void strand_index_close(struct strand_index *ix); /* ix may be NULL */

/* ===================================================================== */
/* Queries                                                                */
/* ===================================================================== */

/* Segments: borrowed array valid until close; *n gets the count. */
const struct strand_index_segment *strand_index_segments(const struct strand_index *ix,
							 uint32_t *n);
/* Segment holding position pos (the last one for pos == end). */
uint32_t strand_index_segment_of(const struct strand_index *ix, uint64_t pos);
/* Instruction count of the trace. */
uint64_t strand_index_end(const struct strand_index *ix);

/* Every event of `trace` after its initial snapshot but key frames, in
 * trace order, read with the trace reader (no replay): the list an index
 * stores and the query engine shows.  `failed` follows
 * strand_syscall_failed (knowledge.h).  *out is malloc'd, owned by the
 * caller (free); NULL when *n is 0 or on failure. */
strand_status strand_index_read_events(const char *trace, struct strand_index_event **out,
				       uint64_t *n, strand_error *err);

/* Events in trace order: borrowed array valid until close. */
const struct strand_index_event *strand_index_events(const struct strand_index *ix,
						     uint64_t *n);

/* Every (segment, target) row of calls to `target`, in segment order:
 * borrowed array valid until close (may be NULL with *n = 0).  `total`
 * (may be NULL) gets the number of calls. */
const struct strand_index_calls *strand_index_calls_to(const struct strand_index *ix,
						       uint64_t target, uint32_t *n,
						       uint64_t *total);

/* Segments in which a page overlapping [addr, addr + len) changed
 * content, in order, into segs (up to max); returns how many there are
 * (may exceed max). */
uint32_t strand_index_pages_changed(const struct strand_index *ix, uint64_t addr,
				    uint64_t len, uint32_t *segs, uint32_t max);

/* Segments in which a guest instruction read (`access` has
 * STRAND_WATCH_READ) or wrote (STRAND_WATCH_WRITE) a page overlapping
 * [addr, addr + len), in order, into segs (up to max); returns how many
 * there are (may exceed max).  Exact at page granularity: a segment not
 * listed made no such access (kernel writes from events are not guest
 * accesses).  len 0 or access 0: none.  UINT32_MAX: out of memory (no
 * answer: replay everything instead). */
uint32_t strand_index_pages_accessed(const struct strand_index *ix, uint64_t addr,
				     uint64_t len, uint32_t access, uint32_t *segs,
				     uint32_t max);

/* May a guest instruction or a recorded event (kernel call, asynchronous
 * memory change, nondeterministic instruction, exception context) write
 * a byte of [addr, addr + len) at a position in [lo, hi)?  false only if
 * certainly not (page granularity, whole segments, and one position of
 * slack at each end); true also when unsure.  This is what the data-flow
 * engine asks to skip history nothing in which defines the memory it
 * follows (strand_df_options.may_write).  len 0 or lo >= hi: false. */
bool strand_index_may_write(const struct strand_index *ix, uint64_t addr, uint64_t len,
			    uint64_t lo, uint64_t hi);
/* The same with the handle as a void pointer: the signature of
 * strand_df_options.may_write (ud = the index, borrowed: keep it open
 * while the engine is used). */
bool strand_index_may_write_cb(void *ix, uint64_t addr, uint64_t len, uint64_t lo,
			       uint64_t hi);

/* ===================================================================== */
/* Restoring and verifying                                                */
/* ===================================================================== */

/* Hand the index's checkpoints to a replay handle on the same trace, so
 * that its seeks restore the closest segment start instead of
 * re-executing from an earlier point.  Call right after
 * strand_replay_open(), before any motion.  Page contents are read from
 * the index file when a restore first needs them (the handle keeps its
 * own descriptor: `ix` may be closed afterwards). */
strand_status strand_index_attach(struct strand_index *ix, struct strand_replay *r,
				  strand_error *err);

/* Re-execute every segment from its checkpoint, `jobs` at a time (0 =
 * the core count), each on its own replay handle, and check that each
 * segment ends in the state the next one starts with and that the trace's
 * key frames and recorded facts hold: a segment-parallel `strand replay`.
 * On a divergence the error names the first diverging position (the
 * merge takes the first failing segment in trace order).  *stats (may be
 * NULL) gets the sums over all segments of what was executed and checked
 * (instructions, key frames, digests, syscalls and outputs applied and
 * compared): STRAND_OK with no key frame checked is not "exact". */
strand_status strand_index_verify(struct strand_index *ix, unsigned jobs,
				  struct strand_replay_stats *stats, strand_error *err);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_INDEX_H */
