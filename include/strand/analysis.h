/*
 * strand analyses: the plugin API, the structured result tree, the
 * renderers and the root-cause report.
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
 */
#ifndef STRAND_ANALYSIS_H
#define STRAND_ANALYSIS_H

#include <stdio.h>

#include "strand/replay.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STRAND_PLUGIN_ABI_VERSION 1u

/* ===================================================================== */
/* Result tree                                                            */
/* ===================================================================== */

typedef enum strand_rkind {
	STRAND_R_OBJECT = 1,   /* named children in insertion order */
	STRAND_R_LIST = 2,     /* unnamed children */
	STRAND_R_STRING = 3,   /* v.s */
	STRAND_R_INT = 4,      /* v.i */
	STRAND_R_UINT = 5,     /* v.u */
	STRAND_R_HEX = 6,      /* v.u, shown as 0x...; a string in JSON */
	STRAND_R_BOOL = 7,     /* v.b */
	STRAND_R_POSITION = 8, /* v.u: a trace position (instructions) */
	STRAND_R_STACK = 9,    /* a list of frame objects {pc, symbol, ...},
				  innermost first */
} strand_rkind;

/* Display hints (strand_rnode.flags); renderers may ignore them. */
enum {
	STRAND_RF_ALERT = 1u << 0,   /* a failure: highlight it */
	STRAND_RF_NOTEXT = 1u << 1,  /* data for machines and pictures only
					(JSON, HTML timeline), skipped by text
					and Markdown */
	STRAND_RF_TIMELINE = 1u << 2,/* object with the call-depth timeline
					(see callstack plugin); HTML draws it */
	STRAND_RF_TABLE = 1u << 3,   /* list of flat objects: render as a table */
};

struct strand_result;

/* A node of a result tree.  Read-only for consumers; build it with the
 * strand_r_* functions.  Owned by its strand_result; valid until
 * strand_result_free(). */
struct strand_rnode {
	uint32_t kind;                /* strand_rkind */
	uint32_t flags;               /* STRAND_RF_* */
	const char *name;             /* key in the parent object; NULL in lists */
	union {
		const char *s;        /* STRING: never NULL */
		int64_t i;            /* INT */
		uint64_t u;           /* UINT, HEX, POSITION */
		bool b;               /* BOOL */
	} v;
	struct strand_rnode *parent;  /* NULL for the root */
	struct strand_rnode *first;   /* first child (OBJECT, LIST, STACK) */
	struct strand_rnode *last;
	struct strand_rnode *next;    /* next sibling */
	uint32_t nchildren;
	struct strand_result *owner;
};

/* New empty result whose root is an OBJECT.  Owned: strand_result_free.
 * Returns NULL on allocation failure. */
struct strand_result *strand_result_new(void);
void strand_result_free(struct strand_result *res); /* res may be NULL */
/* Borrowed root object. */
struct strand_rnode *strand_result_root(struct strand_result *res);
/* STRAND_OK, or STRAND_ERR_NOMEM if any builder call failed to allocate
 * (the builders then return NULL and ignore NULL parents, so a plugin need
 * not check every call). */
strand_status strand_result_status(const struct strand_result *res);

/* Builders.  Each appends a child to `parent` (an OBJECT: `name` is its
 * key and must not be NULL; a LIST or STACK: `name` is ignored) and
 * returns it (borrowed).  Strings are copied.  parent may be NULL: then
 * nothing happens and NULL is returned. */
struct strand_rnode *strand_r_object(struct strand_rnode *parent, const char *name);
struct strand_rnode *strand_r_list(struct strand_rnode *parent, const char *name);
struct strand_rnode *strand_r_string(struct strand_rnode *parent, const char *name,
				     const char *s);
struct strand_rnode *strand_r_stringf(struct strand_rnode *parent, const char *name,
				      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct strand_rnode *strand_r_int(struct strand_rnode *parent, const char *name, int64_t v);
struct strand_rnode *strand_r_uint(struct strand_rnode *parent, const char *name, uint64_t v);
struct strand_rnode *strand_r_hex(struct strand_rnode *parent, const char *name, uint64_t v);
struct strand_rnode *strand_r_bool(struct strand_rnode *parent, const char *name, bool v);
struct strand_rnode *strand_r_position(struct strand_rnode *parent, const char *name,
				       uint64_t pos);
/* Deep copy of `src` (from any result) under `parent` with key `name`
 * (NULL = keep src's name). */
struct strand_rnode *strand_r_copy(struct strand_rnode *parent, const char *name,
				   const struct strand_rnode *src);

/* Child of an object by key, or by a dotted path ("root_cause.status");
 * NULL if absent.  Borrowed. */
const struct strand_rnode *strand_rnode_get(const struct strand_rnode *n,
					    const char *path);
/* Scalar accessors with a default when the node is absent or of another
 * kind.  strand_rnode_str returns a borrowed string. */
const char *strand_rnode_str(const struct strand_rnode *n, const char *path,
			     const char *def);
uint64_t strand_rnode_u64(const struct strand_rnode *n, const char *path, uint64_t def);

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
	 * message: a bad option fails the load.  Subscribe only after
	 * everything that can fail: on failure destroy(*state) is called at
	 * once. */
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
/* Knowledge: statuses, errors, syscalls                                  */
/* ===================================================================== */

/* A named code with its message.  Static. */
struct strand_code {
	uint32_t value;
	const char *name;     /* "STATUS_NO_SUCH_DEVICE" */
	const char *message;  /* "A device which does not exist was specified." */
};

/* Lookups return NULL if the code is not in the table. */
const struct strand_code *strand_ntstatus_lookup(uint32_t status);
const struct strand_code *strand_ntstatus_by_name(const char *name);
const struct strand_code *strand_win32_lookup(uint32_t code);
const struct strand_code *strand_errno_lookup(uint32_t err); /* positive errno */

/* NTSTATUS severity: 0 success, 1 informational, 2 warning, 3 error. */
static inline unsigned strand_ntstatus_severity(uint32_t st) { return st >> 30; }

/* Describe a value as a status of `kind` into buf:
 *   "STATUS_NO_SUCH_DEVICE (0xC000000E): A device which does not exist..."
 *   HRESULTs are decoded by facility ("HRESULT 0x80070002 =
 *   HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND): The system cannot find...").
 * Returns buf. */
enum strand_code_kind { STRAND_CODE_NTSTATUS = 1, STRAND_CODE_WIN32 = 2,
			STRAND_CODE_HRESULT = 3, STRAND_CODE_ERRNO = 4 };
const char *strand_code_describe(unsigned kind, uint64_t value, char *buf, size_t len);
/* Guess what kind of code a value is (HRESULT if 0x8007xxxx, NTSTATUS if
 * 0xC...... in the table, Win32 if small and in the table); 0 if none. */
unsigned strand_code_guess(uint64_t value);

/* Syscall name by ABI and number; NULL if unknown.  Static. */
const char *strand_syscall_name(strand_abi abi, strand_arch arch, uint32_t number);
/* Number of a syscall by name; false if unknown. */
bool strand_syscall_number(strand_abi abi, strand_arch arch, const char *name,
			   uint32_t *number);
/* True if the raw result of a syscall of this ABI is a failure
 * (NTSTATUS error/warning severity; Linux -4095..-1). */
bool strand_syscall_failed(strand_abi abi, strand_arch arch, uint64_t result);
/* "STATUS_X (0x...): message" or "ENOENT (-2): No such file or directory". */
const char *strand_syscall_result_str(strand_abi abi, strand_arch arch,
				      uint64_t result, char *buf, size_t len);
/* Decode the interesting argument of a syscall (object name, key name,
 * path) by reading memory at the current position of `r` (call it when
 * the handle stands at the syscall, e.g. in an event callback with
 * after = false).  Writes "" and returns false if there is none. */
bool strand_syscall_decode_object(struct strand_replay *r, strand_abi abi,
				  strand_arch arch, const struct strand_syscall *sc,
				  char *buf, size_t len);

/* ===================================================================== */
/* Renderers and the report                                               */
/* ===================================================================== */

typedef enum strand_render_format {
	STRAND_RENDER_TEXT = 1,
	STRAND_RENDER_MARKDOWN = 2,
	STRAND_RENDER_JSON = 3,
	STRAND_RENDER_HTML = 4,
} strand_render_format;

/* "text", "markdown" (or "md"), "json", "html"; false if unknown. */
bool strand_render_format_parse(const char *s, strand_render_format *out);

/* Render the tree under `root` to `out`.  `title` heads text, Markdown
 * and HTML.  Deterministic: the same tree gives the same bytes. */
strand_status strand_render(const struct strand_rnode *root, strand_render_format fmt,
			    const char *title, FILE *out, strand_error *err);

struct strand_report_options {
	const char *const *plugins;      /* extra .so paths, NULL-terminated; may be NULL */
	const char *const *plugin_opts;  /* options of each (same length) or NULL */
	void (*progress)(void *ud, const char *label, uint64_t pos, uint64_t end);
	void *progress_ud;
};

/* The root-cause report of `trace` into `res` (its root gets: trace,
 * verdict, symptom, root_cause, propagation, other_failures, hints,
 * timeline, analyses).  See docs/analyses.md and docs/report-schema.json. */
strand_status strand_report_build(const char *trace, const struct strand_report_options *opt,
				  struct strand_result *res, strand_error *err);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_ANALYSIS_H */
