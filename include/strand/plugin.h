/*
 * strand analyses: the plugin API, call stacks and argument decoders.
 *
 * Model in one paragraph (QEMU TCG plugins + Babeltrace 2 in spirit).  An
 * analysis is a plugin: a descriptor (name, description, options) and
 * three methods.  `init` parses its options and subscribes to replay
 * observers (strand_replay_on_insn/block/call/ret/mem/event, replay.h) on
 * the handle of the run's main pass; `finish` runs after the main pass
 * reached the end and emits its findings into a result tree; `destroy`
 * frees its state.  One pass of replay drives every requested plugin
 * together.  A plugin may run its own extra passes on fresh handles
 * (strand_analysis_open_pass), e.g. to follow data backward and then
 * replay again to take stacks at the positions it found.
 *
 * Built-in plugins sit in a static table (strand_analysis_builtins).
 * External plugins are shared objects that export two symbols:
 *
 *     const uint32_t strand_plugin_abi_version = STRAND_PLUGIN_ABI_VERSION;
 *     const struct strand_plugin *strand_plugin_describe(void);
 *
 * (STRAND_PLUGIN_EXPORT(desc) writes both).  The loader refuses a
 * different ABI version.  A plugin uses only this header, replay.h and
 * what they include; the host exports those symbols (strand is linked
 * with -rdynamic).
 *
 * Results are trees of typed fields (objects, lists, strings, numbers,
 * hex values, positions, stacks).  The text, Markdown, JSON and HTML
 * renderers all draw from the same tree; JSON follows
 * docs/report-schema.json for `strand report`.
 *
 * No global mutable state: everything hangs off a `struct
 * strand_analysis` (a run) or a `struct strand_result`.
 *
 * ABI change log:
 *   1  first version.
 *   2  strand_error carries a chain of causes (ncauses, cause[]); strand_error_wrap
 *      takes the status to keep; headers split (plugin.h, result.h, knowledge.h,
 *      report.h).
 */
#ifndef STRAND_PLUGIN_H
#define STRAND_PLUGIN_H

#include <stdio.h>

#include "strand/knowledge.h"
#include "strand/replay.h"
#include "strand/result.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STRAND_PLUGIN_ABI_VERSION 2u

/* ===================================================================== */
/* Call stacks                                                            */
/* ===================================================================== */

/* One frame of a captured stack. */
struct strand_frame {
	uint64_t pc;        /* frame 0: current pc; others: return address */
	uint64_t func;      /* address the call entered, 0 if unknown */
	uint64_t call_pos;  /* position of the call that made it, 0 for the
			       thread's base frame */
	char symbol[160];   /* "module!symbol+0x1f" of the pc (for return
			       addresses: of the call site) */
};

/* A captured stack, innermost first.  Owned by whoever captured it:
 * strand_stack_free. */
struct strand_stack {
	uint32_t tid;
	uint64_t position;            /* where it was captured */
	uint32_t nframes;
	struct strand_frame *frames;
	/* frame-pointer comparison: index of the first frame where the
	 * program's own frame chain disagrees with the shadow stack, or -1 if
	 * they agree (or there is no frame chain to compare). */
	int32_t fp_disagree_at;
	char fp_note[160];            /* what disagreed, "" if they agree */
};

void strand_stack_free(struct strand_stack *s); /* s may be NULL */

/* A shadow call stack per thread, built from the replayed calls and
 * returns (callstack plugin; other plugins borrow the run's shared one).
 * Returns that pop several frames (longjmp, unwinding) are matched by
 * return address and stack pointer; tail calls keep the caller's frame.
 * Opaque. */
struct strand_callstack;

/* Tracker subscribed to `r` (call/ret/event observers).  Owned:
 * strand_callstack_free (which unsubscribes; free it before closing r). */
strand_status strand_callstack_new(struct strand_replay *r,
				   struct strand_callstack **out, strand_error *err);
void strand_callstack_free(struct strand_callstack *cs);

/* Stack of thread `tid` now (position of the handle, usually inside a
 * callback), symbolized, compared with the frame-pointer chain when the
 * thread is the running one.  *out owned by the caller. */
strand_status strand_callstack_capture(struct strand_callstack *cs, uint32_t tid,
				       struct strand_stack **out, strand_error *err);
/* Current depth of a thread's shadow stack (0 if unknown thread). */
uint32_t strand_callstack_depth(const struct strand_callstack *cs, uint32_t tid);

/* Stack at any position: opens its own pass on `trace`, replays to `pos`
 * and captures the running thread (tid = 0) or `tid`. */
strand_status strand_callstack_at(const char *trace, uint64_t pos, uint32_t tid,
				  struct strand_stack **out, strand_error *err);

/* Emit `s` under parent as a STACK node named `name`. */
struct strand_rnode *strand_r_stack(struct strand_rnode *parent, const char *name,
				    const struct strand_stack *s);

/* ===================================================================== */
/* Plugins                                                                */
/* ===================================================================== */

struct strand_analysis;     /* one run: trace, main pass, plugins */
struct strand_plugin_args;  /* a plugin's parsed options */

/* An option a plugin accepts.  Arrays end with {NULL}. */
struct strand_plugin_option {
	const char *name;   /* "func" */
	const char *help;   /* one line */
	const char *defval; /* NULL: absent unless given */
};

/* A plugin descriptor.  Static, never freed. */
struct strand_plugin {
	uint32_t abi_version;                        /* STRAND_PLUGIN_ABI_VERSION */
	const char *name;                            /* [a-z0-9_-]+ */
	const char *description;                     /* one line */
	const struct strand_plugin_option *options;  /* may be NULL */
	/* Parse options (strand_plugin_opt*), allocate state, subscribe to
	 * the main pass (strand_analysis_replay).  Fail with a status and a
	 * message: a bad option fails the load.  On failure (or when an
	 * observer could not be registered) the observers it registered are
	 * removed and destroy(*state) is called at once. */
	strand_status (*init)(struct strand_analysis *a,
			      const struct strand_plugin_args *args,
			      void **state, strand_error *err);
	/* After the main pass: extra passes if needed, then the findings
	 * under `out` (an OBJECT named after the plugin).  May be NULL. */
	strand_status (*finish)(struct strand_analysis *a, void *state,
				struct strand_rnode *out, strand_error *err);
	/* Free state (may be NULL).  Called once, after finish or on
	 * failure. */
	void (*destroy)(void *state);
};

/* Exported by external plugins. */
typedef const struct strand_plugin *(*strand_plugin_describe_fn)(void);
#define STRAND_PLUGIN_EXPORT(desc)                                           \
	__attribute__((visibility("default")))                               \
	const uint32_t strand_plugin_abi_version = STRAND_PLUGIN_ABI_VERSION; \
	__attribute__((visibility("default")))                               \
	const struct strand_plugin *strand_plugin_describe(void) { return &(desc); }

/* Option value by name: the given value, else the declared default, else
 * NULL.  Borrowed, valid during init. */
const char *strand_plugin_opt(const struct strand_plugin_args *args, const char *name);
/* Parse an option as an unsigned number (decimal or 0x hex).  Returns
 * STRAND_ERR_INVALID with "option NAME: ..." on a bad value; *out keeps
 * `def` when absent. */
strand_status strand_plugin_opt_u64(const struct strand_plugin_args *args,
				    const char *name, uint64_t def, uint64_t *out,
				    strand_error *err);
bool strand_plugin_opt_bool(const struct strand_plugin_args *args, const char *name);

/* The built-in plugins, NULL-terminated static table. */
extern const struct strand_plugin *const strand_analysis_builtins[];
const struct strand_plugin *strand_analysis_find_builtin(const char *name);

/* --- the run -------------------------------------------------------- */

struct strand_analysis_options {
	/* Progress of each pass (strand_replay_options.progress style), with
	 * a label ("analysis", "errorflow pass 2").  May be NULL. */
	void (*progress)(void *ud, const char *label, uint64_t pos, uint64_t end);
	void *progress_ud;
	bool no_verify;    /* skip key frame checks */
	/* Budgets of every pass (strand_replay_options); 0 = defaults. */
	uint64_t max_instructions;
	uint64_t max_memory;
};

/* Open a run on `trace` (opens the main pass at position 0).  `opt` may be
 * NULL.  *out owned: strand_analysis_free. */
strand_status strand_analysis_new(const char *trace,
				  const struct strand_analysis_options *opt,
				  struct strand_analysis **out, strand_error *err);
void strand_analysis_free(struct strand_analysis *a); /* a may be NULL */

/* Add a plugin with options "k=v,k=v" (NULL or "" for none).  Unknown or
 * bad options fail here.  The instance name is the plugin's name (a
 * second instance gets "name#2"). */
strand_status strand_analysis_add(struct strand_analysis *a,
				  const struct strand_plugin *p,
				  const char *options, strand_error *err);
/* Add a built-in by "name" or "name:k=v,k=v". */
strand_status strand_analysis_add_spec(struct strand_analysis *a, const char *spec,
				       strand_error *err);
/* dlopen `path`, check strand_plugin_abi_version, add the plugin. */
strand_status strand_analysis_load(struct strand_analysis *a, const char *path,
				   const char *options, strand_error *err);

/* Drive the main pass to the end, then finish every plugin in the order
 * they were added.  Each plugin's findings go under an object named after
 * it in `res`'s root.  A plugin that fails adds {"error": msg} there and
 * the run continues; the first failure is also returned. */
strand_status strand_analysis_run(struct strand_analysis *a, struct strand_result *res,
				  strand_error *err);

/* For plugins: the main pass handle (borrowed; valid during init and
 * finish; never move it from a callback). */
struct strand_replay *strand_analysis_replay(struct strand_analysis *a);
const char *strand_analysis_trace(const struct strand_analysis *a);
const struct strand_trace_info *strand_analysis_info(const struct strand_analysis *a);
/* The trace's own system service table (NOTE "syscall-table": traces of
 * real Windows system DLLs), or NULL when the ABI's built-in numbering
 * applies.  Loaded on first use; lives as long as `a`. */
const struct strand_systable *strand_analysis_systable(struct strand_analysis *a);
/* The run's shared shadow stack on the main pass (created on first use;
 * call it from init).  Borrowed, valid until strand_analysis_free. */
struct strand_callstack *strand_analysis_callstack(struct strand_analysis *a,
						   strand_error *err);
/* A new handle on the same trace for an extra pass.  Owned by the caller:
 * strand_replay_close. */
strand_status strand_analysis_open_pass(struct strand_analysis *a, const char *label,
					struct strand_replay **out, strand_error *err);
/* Drive an extra-pass handle to `pos` (UINT64_MAX = end) with progress. */
strand_status strand_analysis_drive(struct strand_analysis *a, struct strand_replay *r,
				    const char *label, uint64_t pos, strand_error *err);
/* Findings of a plugin of this run that already finished, by instance
 * name; NULL if none.  Borrowed. */
const struct strand_rnode *strand_analysis_result_of(const struct strand_analysis *a,
						     const char *name);

/* ===================================================================== */
/* Argument decoders                                                      */
/* ===================================================================== */

/* Decode the interesting argument of a syscall (object name, key name,
 * path) by reading memory at the current position of `r` (call it when
 * the handle stands at the syscall, e.g. in an event callback with
 * after = false).  Writes "" and returns false if there is none. */
bool strand_syscall_decode_object(struct strand_replay *r, strand_abi abi,
				  strand_arch arch, const struct strand_syscall *sc,
				  char *buf, size_t len);
/* The same, naming the service through the trace's own service table
 * (strand_analysis_systable; NULL = the ABI's built-in table). */
bool strand_syscall_decode_object_in(struct strand_replay *r, const struct strand_systable *systable,
				     strand_abi abi, strand_arch arch, const struct strand_syscall *sc,
				     char *buf, size_t len);
/* The other name of a call of two names (strand_syscall_other_path_arg:
 * a link's target, a rename's new name), read like the object.  Writes ""
 * and returns false if there is none. */
bool strand_syscall_decode_other_object_in(struct strand_replay *r,
					   const struct strand_systable *systable, strand_abi abi,
					   strand_arch arch, const struct strand_syscall *sc,
					   char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_PLUGIN_H */
