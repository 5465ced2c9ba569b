/*
 * Internals of the replay core, shared by the files of replay/.  Not a public API.
 *
 * Layout of the core:
 *   emu.c      Unicorn instance, guest memory regions, thread contexts,
 *              exact instruction counting (block hook + exits), the
 *              run-to-position primitive.
 *   replay.c   open/close, events, key frames, checkpoints, motion
 *              (seek/step/run), stops, observers.
 *   inspect.c  registers by name, memory reads, modules and symbols,
 *              disassembly.
 *   finalize.c strand_finalize_positions().
 *
 * How positions are counted (see emu.c for the measurements behind it):
 * a UC_HOOK_BLOCK hook adds the block's instruction count (decoded once
 * with Zydis, cached by (address, size)).  When the block about to run
 * would cross the stop position, the hook calls uc_emu_stop() before the
 * block executes (the TB prologue checks the exit request), and the last
 * k < n instructions run with a temporary Unicorn exit at the address of
 * the k-th instruction (UC_CTL_UC_USE_EXITS; the TBs around it are
 * invalidated before and after).  No per-instruction hook is installed
 * unless an instruction observer exists.
 */
#ifndef STRAND_REPLAY_INT_H
#define STRAND_REPLAY_INT_H

#include <unicorn/unicorn.h>
#include <capstone/capstone.h>
#include <Zydis/Zydis.h>

#include "strand/replay.h"

#define RP_PAGE 4096u
#define RP_PAGE_MASK (~(uint64_t)(RP_PAGE - 1))

/* One guest mapping.  `host` is page aligned, owned (mmap), `size` bytes,
 * and mapped into Unicorn with uc_mem_map_ptr, so host reads see guest
 * memory directly.  Regions never overlap; the array is sorted by addr. */
struct rp_region {
	uint64_t addr;     /* page aligned */
	uint64_t size;     /* bytes, multiple of RP_PAGE, > 0 */
	uint32_t prot;     /* STRAND_PROT_* */
	uint32_t kind;     /* strand_region_kind */
	char *name;        /* owned, never NULL */
	uint8_t *host;     /* owned mmap of `size` bytes */
	bool tracked;      /* pages hashed for checkpoints: was ever writable
			      or written by an event */
	uint64_t gen;      /* mapping generation: new mapping = new gen */
};

/* One thread.  The running thread's live state is in Unicorn; the others'
 * in `ctx` (a uc_context: exact, including x87/SSE), or in `init` if the
 * thread never ran yet. */
struct rp_thread {
	uint32_t tid;
	bool alive;
	bool has_ctx;            /* ctx holds the state; else init */
	uc_context *ctx;         /* owned, allocated lazily */
	struct strand_cpu init;  /* context at creation */
	uint16_t sel[STRAND_SEG_COUNT]; /* recorded selectors (kept when the
					   emulator cannot load them) */
	uint64_t fs_base, gs_base;      /* as last set by the trace */
	uint64_t teb;
	uint64_t stack_base, stack_limit;
};

/* Owned deep copy of a module record. */
struct rp_module {
	struct strand_module m;  /* pointers into `strings` / `syms` below */
	struct strand_symbol *syms; /* owned, sorted by addr */
	char *strings;           /* owned arena */
	bool loaded;
	struct strand_cursor cursor; /* its MODULE record (checkpoint import) */
};

/* A checkpoint: everything needed to stand at `pos` again. */
/* One page of a checkpoint.  RP_PG_DATA: `data` holds its bytes;
 * RP_PG_ZERO: the page is all zero (data NULL); RP_PG_LAZY: its bytes are
 * in the imported checkpoint file at offset `src`, checked against
 * `hash` when first read (then it becomes RP_PG_DATA).  A page no
 * checkpoint holds is zero (pages start zero and every change is saved). */
enum { RP_PG_DATA = 0, RP_PG_ZERO = 1, RP_PG_LAZY = 2 };
struct rp_page {
	uint64_t addr;
	uint8_t *data;            /* RP_PAGE bytes, owned; NULL unless DATA */
	uint32_t kind;            /* RP_PG_* */
	uint64_t src;             /* LAZY: file offset in r->imp_fd */
	uint64_t hash;            /* LAZY: XXH3-64 of the page */
};

struct rp_layout_ent {
	uint64_t addr, size;
	uint32_t prot, kind;
	uint64_t gen;             /* rp_region.gen */
	bool tracked;
	char *name;               /* owned */
};

struct rp_ckpt {
	uint64_t pos;
	int32_t base;                   /* -1: chain checkpoint; else a fine
					   checkpoint relative to chain
					   checkpoint `base` */
	struct strand_cursor cursor;    /* next record to read */
	bool have_last_event;
	struct strand_cursor last_event;/* cursor of the last applied event */
	uint32_t cur;                   /* running thread index */
	bool exited;
	uint32_t nthreads;
	struct rp_thread *threads;      /* ctx copies owned */
	uint32_t nlayout;
	struct rp_layout_ent *layout;
	uint32_t nmods;
	bool *mod_loaded;               /* per r->mods index */
	/* pages whose content changed since the previous checkpoint (all
	 * tracked pages for the first); sorted by addr */
	uint32_t npages;
	struct rp_page *pages;
	uint64_t bytes;                 /* memory held */
	/* imported (strand_replay_checkpoint_import): the threads' contexts
	 * as strand_cpu (nthreads entries, owned) instead of threads[].ctx */
	struct strand_cpu *cpus;
};

/* Per-page hash of tracked memory at the newest checkpoint. */
struct rp_hashent {
	uint64_t addr;  /* page address + 1 (0 = empty slot) */
	uint64_t hash;
};

/* What the block hook needs to know of a translated block, decoded once
 * (block_info() in emu.c): the hook runs for every block executed, so
 * nothing here is decoded again while the entry is valid. */
struct rp_blockcache_ent {
	uint64_t addr;
	uint32_t size;     /* bytes, as Unicorn reports the block */
	uint32_t ninsn;    /* packed, see block_info() in emu.c */
	uint32_t gen;      /* valid if == strand_replay.bcache_gen */
	uint16_t last_off; /* offset of the last instruction from addr */
	uint16_t sens_off; /* offset of the first sensitive instruction
			    * (meaningful when BC_SENS(ninsn) != 0) */
	uint8_t last_len;  /* length of the last instruction; 0 = offsets
			    * unknown (block longer than the decoded span):
			    * decode again */
};

/* Direct-mapped, 2^16 entries of 32 bytes (2 MiB, touched lazily).
 * Measured on a recorded `ls -lR` (13M blocks run): 8192 entries missed
 * 3% of blocks (394k decodes), 65536 with a multiplicative hash 0.3%. */
#define RP_BLOCKCACHE_BITS 16
#define RP_BLOCKCACHE (1u << RP_BLOCKCACHE_BITS)
#define RP_FINE_MAX 64

enum rp_obs_kind { RP_OBS_INSN = 1, RP_OBS_BLOCK, RP_OBS_CALL, RP_OBS_RET,
		   RP_OBS_MEM, RP_OBS_EVENT };

struct rp_observer {
	strand_obs_id id;
	uint32_t kind;   /* rp_obs_kind; 0 = deleted */
	void *cb;
	void *ud;
	uint32_t access; /* MEM */
	uint32_t group;  /* owner (strand_replay_observer_group), 0 = none */
};

struct strand_replay {
	/* trace */
	struct strand_reader *rd;
	struct strand_reader *rd2;     /* for strand_replay_last_event */
	struct strand_trace_info info;
	uint64_t end;                  /* position of the last record */
	struct strand_replay_options opt;

	/* emulator */
	uc_engine *uc;
	uc_mode mode;
	ZydisDecoder zdec;
	csh cs;
	bool cs_ok;
	uc_hook h_block, h_syscall, h_sysenter, h_cpuid, h_intr, h_invalid,
		h_unmapped, h_code, h_mem;
	bool code_hook_on, mem_hook_on;
	struct rp_blockcache_ent *bcache; /* RP_BLOCKCACHE entries */
	uint32_t bcache_gen;    /* bumping it empties the cache; >= 1 */

	/* run state (emu.c) */
	uint64_t pos;           /* instructions retired */
	uint64_t run_target;    /* block hook stops before crossing it */
	uint64_t hit_min;       /* stop hits count from this position on */
	bool finishing;         /* inside the exit-bounded last stretch */
	bool hook_stopped;      /* the block hook requested the stop */
	int fault;              /* 0, or why emulation failed (RP_FAULT_*) */
	uint64_t fault_addr;
	uint64_t fault_pc;
	uint32_t fault_kind;
	uint64_t blk_pos;       /* position of the current block's start */
	uint64_t blk_addr;      /* its address */
	uint32_t blk_idx;       /* code-hook calls since it started */
	uint64_t fin_pos;       /* position where the last stretch began */
	uint64_t code_stop;     /* code-hook mode: stop before this position */
	uint64_t ev_exit;       /* Unicorn exit at the next consuming event's
				   pc, 0 if none */
	bool fault_pending;     /* code-hook mode: code_stop is a fault */
	uint64_t run_goal;      /* rp_emu_run_to's target */
	bool next_inline;       /* r->next can be applied inside the hook */
	bool no_inline;         /* never apply events inline (tests) */
	bool inline_armed;      /* the block hook found the next event's
				   syscall in the block about to run */
	bool inline_applying;   /* rp_apply_event called from the hook */
	uint64_t inline_pos;    /* its position */
	uint64_t inline_pc;     /* its address */
	strand_error inline_err;
	uint64_t insn_pos;      /* position of the executing instruction
				   (exact only while the code hook is on) */
	bool observing;         /* first-time forward run: observers fire */
	bool bp_check;          /* breakpoints present */
	bool ret_check;         /* stop before every ret (step out) */
	bool call_check;        /* stop before every call (step out back) */
	bool watch_check;
	uint64_t bp_hit_pos;    /* UINT64_MAX if none */
	uint64_t bp_hit_addr;
	uint32_t bp_hit_id;
	uint64_t watch_hit_pos; /* position after the accessing insn */
	struct strand_stop_hit watch_hit;

	/* machine */
	struct rp_region *regions;
	uint32_t nregions, cap_regions;
	struct rp_thread *threads;
	uint32_t nthreads, cap_threads;
	uint32_t cur;           /* index into threads of the running thread */
	struct rp_module *mods;
	uint32_t nmods, cap_mods;
	const struct strand_module **modview; /* loaded modules, rebuilt */
	uint32_t nmodview;
	bool modview_dirty;

	/* events */
	const struct strand_record *next;   /* next record (borrowed from rd) */
	struct strand_cursor next_cursor;   /* where `next` was read */
	bool at_eof;
	bool have_last_event;
	struct strand_cursor last_event;
	bool exited;            /* PROCESS_EXIT applied */
	bool diverged;
	strand_error div_err;   /* the divergence, repeated on motion */
	uint64_t frontier;      /* highest position reached (observers) */
	struct strand_cursor ev_frontier; /* first record never applied */
	char *rd_path;          /* owned: trace path (second reader) */
	bool ordinal;           /* record positions are ordinals (finalize) */

	/* checkpoints */
	struct rp_ckpt *ckpts;
	uint32_t nckpts, cap_ckpts;
	uint64_t ckpt_interval;
	uint64_t ckpt_limit;
	uint64_t ckpt_bytes;
	struct rp_ckpt fine[RP_FINE_MAX]; /* fine checkpoints, oldest first */
	uint32_t nfine;
	uint64_t fine_bytes;
	int64_t fine_mode_base;   /* >= 0 while re-executing for backward
				     motion: take fine checkpoints */
	uint64_t fine_next;       /* next fine checkpoint position */
	uint64_t fine_step;       /* instructions between fine checkpoints */
	uint64_t map_gen;       /* last mapping generation handed out */
	uint64_t ckpt_gen;      /* map_gen at the newest checkpoint */
	struct rp_hashent *ph;  /* open addressing, power of two */
	uint64_t ph_cap, ph_n;
	uint64_t zero_hash;     /* XXH3 of a zero page: "zero" in ph */
	int imp_fd;             /* imported checkpoints' file, -1 if none */
	char *imp_path;         /* owned: its path */
	struct strand_reader *imp_rd; /* owned: reads the module records imported
				     checkpoints name (one for all imports, so
				     a chunk is decompressed once); NULL until
				     needed */
	bool imp_failed;        /* a lazy page could not be read: imp_err */
	strand_error imp_err;
	bool swap_on;           /* host swap enabled: residency by pagemap */
	int pagemap_fd;         /* /proc/self/pagemap, -1 if closed/none */

	/* stops */
	struct strand_stop *stops;
	uint32_t nstops, cap_stops;
	uint32_t next_stop_id;

	/* observers */
	struct rp_observer *obs;
	uint32_t nobs, cap_obs;
	strand_obs_id next_obs_id;
	uint32_t obs_group;            /* group of observers registered now */
	bool obs_failed;               /* a registration failed (sticky until read) */
	uint32_t n_insn_obs, n_block_obs, n_call_obs, n_mem_obs, n_event_obs;
	/* call/ret detection: the last block's final instruction */
	uint64_t last_blk_pc;        /* address of the last insn of the
					previous block, 0 if none */
	uint32_t last_blk_kind;      /* 0 none, 1 call, 2 ret */
	uint64_t last_blk_pos;       /* position of that instruction */
	uint64_t last_blk_next;      /* fall-through address */
	bool last_blk_indirect;

	struct strand_replay_stats stats;
	double last_progress;   /* monotonic seconds */

	/* fact checks and budgets (replay.c) */
	uint64_t max_insns;     /* budget: longest trace accepted */
	uint64_t max_mem;       /* budget: guest mapped + checkpoint bytes */
	bool last_sys_valid;    /* last_sys is the last SYSCALL applied */
	uint64_t last_sys_after;/* position after it */
	uint32_t last_sys_tid;
	struct strand_syscall last_sys; /* copy; fx pointers cleared */
	uint32_t nt_write_file; /* Windows: NtWriteFile's service number in this
				 * trace (its NOTE syscall-table, else the
				 * built-in table); UINT32_MAX: unknown, the
				 * outputs are not compared */
};

enum { RP_FAULT_NONE = 0, RP_FAULT_UNMAPPED, RP_FAULT_PROT,
       RP_FAULT_INVALID, RP_FAULT_SYSCALL, RP_FAULT_CPUID, RP_FAULT_INTR,
       RP_FAULT_EMU, RP_FAULT_EVENT /* inline event failed: inline_err */ };

/* ---- emu.c ---- */
strand_status rp_emu_init(struct strand_replay *r, strand_error *err);
void rp_emu_fini(struct strand_replay *r);
/* Run until pos == target (exactly), or a fault / breakpoint / watchpoint
 * stops earlier.  Returns STRAND_OK when target reached, STRAND_STOPPED
 * when a bp/watch hit stopped it (r->pos is where), or an error. */
strand_status rp_emu_run_to(struct strand_replay *r, uint64_t target,
			    strand_error *err);
/* Run until execution reaches pc (exit there), counting positions;
 * used when positions are unknown (finalize). */
strand_status rp_emu_run_to_pc(struct strand_replay *r, uint64_t pc, strand_error *err);
/* Keep a Unicorn exit at pc (the next consuming event's instruction). */
void rp_set_event_exit(struct strand_replay *r, uint64_t pc);
/* Instruction count of [addr, addr+size) (cached). */
uint32_t rp_block_count(struct strand_replay *r, uint64_t addr, uint32_t size);
void rp_blockcache_clear(struct strand_replay *r);
/* Re-evaluate which hooks are needed (observers, watchpoints). */
strand_status rp_emu_update_hooks(struct strand_replay *r, strand_error *err);
/* Invalidate every translated block (per region, never tb_flush: see emu.c). */
void rp_emu_drop_code(struct strand_replay *r);

struct rp_region *rp_region_find(struct strand_replay *r, uint64_t addr);
strand_status rp_map(struct strand_replay *r, uint64_t addr, uint64_t size,
		     uint32_t prot, uint32_t kind, const char *name,
		     const uint8_t *data, strand_error *err);
strand_status rp_unmap(struct strand_replay *r, uint64_t addr, uint64_t size,
		       strand_error *err);
strand_status rp_protect(struct strand_replay *r, uint64_t addr, uint64_t size,
			 uint32_t prot, strand_error *err);
/* Write guest memory (any protection) and flush translated code there. */
strand_status rp_write(struct strand_replay *r, uint64_t addr,
		       const uint8_t *data, uint64_t len, strand_error *err);

uint64_t rp_pc(struct strand_replay *r);
/* General register i (STRAND_REG_RAX..R15) of the running thread. */
uint64_t rp_gpr(struct strand_replay *r, unsigned i);
/* All general registers at once (STRAND_REG_RAX order): 16 in 64-bit
 * mode, 8 in 32-bit mode (zero-extended); returns how many. */
unsigned rp_gprs(struct strand_replay *r, uint64_t out[16]);
void rp_set_pc(struct strand_replay *r, uint64_t pc);
/* Full context of the running thread from Unicorn. */
void rp_cpu_read(struct strand_replay *r, struct strand_cpu *out);
/* Load a full context into Unicorn for thread index ti. */
strand_status rp_cpu_write(struct strand_replay *r, uint32_t ti,
			   const struct strand_cpu *cpu, strand_error *err);
strand_status rp_reg_set(struct strand_replay *r, uint32_t reg, uint64_t v,
			 strand_error *err);
/* Context of thread index ti (running or saved). */
void rp_thread_cpu(struct strand_replay *r, uint32_t ti, struct strand_cpu *out);
/* x86-32: write the thread's fs/gs base into the GDT descriptors its
 * selectors name and reload them. */
strand_status rp_apply_seg_bases(struct strand_replay *r, uint32_t ti,
				 strand_error *err);

/* Decode one instruction at addr from guest memory. */
bool rp_decode(struct strand_replay *r, uint64_t addr,
	       ZydisDecodedInstruction *ins, ZydisDecodedOperand *ops);

/* ---- inspect.c ---- */
void rp_modview_rebuild(struct strand_replay *r);
/* "0x401000 (mod!sym+0x10): mov eax, 1" into buf */
void rp_describe_pc(struct strand_replay *r, uint64_t pc, char *buf, size_t len);

/* ---- memory residency (replay.c, checkpoints) ---- */
/* Which pages of [host, host + npages pages) hold memory (were ever
 * touched since mapped): vec[i] = 1 if page i may be non-zero, 0 if it
 * is certainly zero.  Never says 0 for a page with data. */
void rp_resident(struct strand_replay *r, const uint8_t *host, uint64_t npages,
		 uint8_t *vec);

/* ---- checkpoints (replay.c) for ckpt_io.c ---- */
void rp_ckpt_free(struct rp_ckpt *c);
bool rp_ph_set(struct strand_replay *r, uint64_t addr, uint64_t hash);
strand_status rp_ckpt_push(struct strand_replay *r, struct rp_ckpt *c, strand_error *err);
/* Add a module read from its record at `cursor` (not the current one). */
strand_status rp_module_add(struct strand_replay *r, const struct strand_module *m,
			    const struct strand_cursor *cursor, strand_error *err);

/* ---- replay.c ---- */
double rp_now(void);
strand_status rp_open(const char *path, const struct strand_replay_options *opt,
		      bool allow_ordinal, struct strand_replay **out, strand_error *err);
/* Apply r->next at r->pos (consuming events advance pos); read the next. */
strand_status rp_apply_event(struct strand_replay *r, strand_error *err);
strand_status rp_read_next(struct strand_replay *r, strand_error *err);
bool rp_next_inlinable(struct strand_replay *r);
bool rp_apply_inline(struct strand_replay *r);

/* ---- finalize.c, for finalize_tree.c ---- */
/* strand_finalize_positions_progress() that drops the trace's own child
 * process notes ("process", "process-data") and embeds instead the n
 * finalized child traces at paths[] (processes kids[]) right before the
 * PROCESS_EXIT (or at the end), as strand_writer_put_process does. */
strand_status rp_finalize_embedding(const char *in, const char *out,
				    void (*progress)(void *ud, uint64_t done, uint64_t total),
				    void *ud, const struct strand_process *kids,
				    char *const *paths, uint32_t n, strand_error *err);

#endif
