/*
 * winemu internals: the emulated machine, its address space, threads,
 * kernel objects, and the trace being written.  Private to record/winemu.
 *
 * One `struct wemu` per recording; nothing global.  Files:
 *   vm.c      address space: regions mirrored in Unicorn, guest memory
 *             access for the kernel, effect collection
 *   loader.c  PE loading, PEB/TEB/LDR, KUSER_SHARED_DATA, GDT, thunks,
 *             the initial snapshot
 *   kernel.c  system services and the object manager
 *   record.c  CPU state, scheduling, the run loop, trace records
 */
#ifndef STRAND_WINEMU_INT_H
#define STRAND_WINEMU_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <unicorn/unicorn.h>

#include "record/winemu/pe.h"
#include "record/winemu/scenario.h"
#include "record/winemu/winemu.h"
#include "strand/trace.h"

#define WEMU_PAGE 4096u
#define WEMU_ALLOC_GRAN 0x10000u

/* Fixed layout (docs/winemu.md "Address space"). */
#define WEMU_ENV_BASE 0x00010000u
#define WEMU_PARAMS_BASE 0x00020000u
#define WEMU_LOADER_BASE 0x00030000u
#define WEMU_LOADER_SIZE 0x00010000u
#define WEMU_THUNK_BASE 0x00040000u
#define WEMU_THUNK_PROCESS (WEMU_THUNK_BASE + 0x00)
#define WEMU_THUNK_THREAD (WEMU_THUNK_BASE + 0x80)
#define WEMU_THUNK_DISPATCH (WEMU_THUNK_BASE + 0x100) /* real-ntdll dispatcher target */
#define WEMU_DYN_BASE 0x00050000u
#define WEMU_RELOC_BASE 0x10000000u
#define WEMU_USER_END 0x7ffe0000u /* first byte above user allocations */
#define WEMU_PEB 0x7ffdf000u
#define WEMU_TEB_TOP 0x7ffde000u  /* first TEB; the next ones go down */
#define WEMU_SHARED 0x7ffe0000u
#define WEMU_GDT 0x80000000u
#define WEMU_GDT_LIMIT 0x7fu

/* Selectors (docs/winemu.md "The machine"). */
#define WEMU_SEL_CS 0x1b
#define WEMU_SEL_SS 0x10
#define WEMU_SEL_DS 0x23
#define WEMU_SEL_FS 0x3b

/* NTSTATUS values the kernel model returns */
#define ST_SUCCESS 0x00000000u
#define ST_WAIT_0 0x00000000u
#define ST_TIMEOUT 0x00000102u
#define ST_PENDING 0x00000103u
#define ST_NO_YIELD_PERFORMED 0x40000024u
#define ST_BUFFER_OVERFLOW 0x80000005u
#define ST_NO_MORE_ENTRIES 0x8000001Au
#define ST_UNSUCCESSFUL 0xC0000001u
#define ST_NOT_IMPLEMENTED 0xC0000002u
#define ST_INVALID_INFO_CLASS 0xC0000003u
#define ST_INFO_LENGTH_MISMATCH 0xC0000004u
#define ST_ACCESS_VIOLATION 0xC0000005u
#define ST_INVALID_HANDLE 0xC0000008u
#define ST_INVALID_PARAMETER 0xC000000Du
#define ST_NO_SUCH_DEVICE 0xC000000Eu
#define ST_END_OF_FILE 0xC0000011u
#define ST_NO_MEMORY 0xC0000017u
#define ST_CONFLICTING_ADDRESSES 0xC0000018u
#define ST_UNABLE_TO_FREE_VM 0xC000001Au
#define ST_MEMORY_NOT_ALLOCATED 0xC00000A0u
#define ST_ACCESS_DENIED 0xC0000022u
#define ST_BUFFER_TOO_SMALL 0xC0000023u
#define ST_OBJECT_TYPE_MISMATCH 0xC0000024u
#define ST_OBJECT_NAME_INVALID 0xC0000033u
#define ST_OBJECT_NAME_NOT_FOUND 0xC0000034u
#define ST_OBJECT_NAME_COLLISION 0xC0000035u
#define ST_OBJECT_PATH_NOT_FOUND 0xC000003Au
#define ST_SHARING_VIOLATION 0xC0000043u
#define ST_MUTANT_NOT_OWNED 0xC0000046u
#define ST_SEMAPHORE_LIMIT_EXCEEDED 0xC0000047u
#define ST_THREAD_IS_TERMINATING 0xC000004Bu
#define ST_INVALID_PAGE_PROTECTION 0xC0000045u
#define ST_INVALID_DEVICE_REQUEST 0xC0000010u
#define ST_DLL_INIT_FAILED 0xC0000142u
#define ST_POSSIBLE_DEADLOCK 0xC0000194u
#define ST_ILLEGAL_INSTRUCTION 0xC000001Du
#define ST_BREAKPOINT 0x80000003u
#define ST_PRIVILEGED_INSTRUCTION 0xC0000096u
#define ST_INTEGER_DIVIDE_BY_ZERO 0xC0000094u

/* ===================================================================== */
/* Address space                                                          */
/* ===================================================================== */

/* One run of pages with the same protection and label, mapped in Unicorn.
 * Regions are kept sorted by addr and never overlap. */
struct wregion {
	uint32_t addr;        /* page aligned */
	uint32_t size;        /* page multiple, > 0 */
	uint32_t prot;        /* STRAND_PROT_*; 0 = reserved, not committed */
	uint32_t kind;        /* strand_region_kind */
	uint32_t alloc_base;  /* base of the allocation it belongs to */
	uint32_t alloc_prot;  /* Win32 PAGE_* it was allocated with */
	bool committed;
	bool image;           /* part of a mapped PE image (MEM_IMAGE) */
	char name[48];        /* label, "" if none */
};

/* Effects collected while the kernel serves one system call. */
struct wfx {
	struct strand_mapchange *maps; /* data and name owned (malloc) */
	uint32_t nmaps, capmaps;
	struct strand_memwrite *writes; /* data owned */
	uint32_t nwrites, capwrites;
	bool active;                    /* collecting (inside a syscall) */
};

/* ===================================================================== */
/* Modules                                                                */
/* ===================================================================== */

struct wmodule {
	struct pe_file pe;
	uint32_t id;          /* 1.. in load order */
	uint32_t base;        /* where it is mapped */
	uint32_t size;        /* SizeOfImage */
	uint32_t entry;       /* absolute, 0 if none */
	uint8_t *img;         /* the image as mapped at load time (relocated, IAT filled) */
	struct pe_export *exports;
	size_t nexports;
	uint32_t ldr_entry;   /* guest address of its LDR_DATA_TABLE_ENTRY */
	char *win32_path;     /* FullDllName */
	bool main;
	bool initialized;     /* placed in the initialization order */
	bool unloaded;        /* its view was unmapped (MODULE_UNLOAD written) */
};

/* One system service of the loaded ntdll (systable.c). */
struct wsyscall {
	uint32_t number;      /* as the stub puts it in eax */
	uint32_t nargs;       /* 32-bit stack arguments */
	char *name;           /* owned; the stub's Nt* export name */
	int handler;          /* index into the kernel's service table, -1 = unmodelled */
};

/* Which system DLLs the process runs (docs/winemu.md "Personalities"). */
enum wemu_personality {
	WP_STANDIN = 0,       /* the project's stand-in DLLs, Server 2003 numbers */
	WP_WINE,              /* Wine's PE DLLs (an ntdll with wine_server_call) */
	WP_WINDOWS,           /* a real Windows ntdll (KiFastSystemCall stubs) */
};

/* ===================================================================== */
/* Threads                                                                */
/* ===================================================================== */

enum wthread_state { WT_READY, WT_WAITING, WT_EXITED };

#define WEMU_MAX_WAIT 64

struct wobj;

struct wthread {
	uint32_t tid;
	uint32_t index;           /* creation order */
	enum wthread_state state;
	struct strand_cpu cpu;    /* saved context while not running */
	uint32_t teb;
	uint32_t stack_base;      /* highest address + 1 */
	uint32_t stack_limit;
	uint32_t exit_status;
	uint32_t suspend_count;   /* > 0: not runnable */
	struct wobj *obj;         /* the thread object (signaled at exit) */
	/* A blocked wait: the thread re-executes its sysenter at wait_pc when
	 * it is resumed; the wait keeps its deadline across re-executions. */
	bool waiting;
	uint32_t wait_pc;
	uint32_t wait_number;     /* service number of the blocked call */
	bool wait_all;
	uint32_t nwait;
	struct wobj *wait_objs[WEMU_MAX_WAIT];
	bool has_deadline;
	uint64_t deadline;        /* virtual time, 100 ns since 1601 */
	uint64_t quantum_start;   /* position when it last got the CPU */
	struct wobj *alert;       /* NtAlertThreadByThreadId's flag (a synchronization event), lazily made */
};

/* ===================================================================== */
/* Kernel objects                                                         */
/* ===================================================================== */

enum wobj_type {
	WO_EVENT = 1, WO_THREAD, WO_PROCESS, WO_FILE, WO_DEVICE, WO_KEY,
	WO_MUTANT, WO_SEMAPHORE, WO_DIRECTORY,
	WO_STDIO,             /* a standard handle: stream 0 in, 1 out, 2 err */
	WO_SECTION,           /* an image section over a file */
	WO_KEYED_EVENT,
	WO_TOKEN,             /* the process's primary token */
	WO_PIPE,              /* a client end of a pipe the service control manager serves (svcctl.c) */
};

struct wsvc;
struct wsvc_conn;

/* What one write to a service-manager pipe produced (svcctl.c). */
struct wsvc_io {
	char unmodelled[200];  /* "" or what was not served (logged by the kernel) */
	char status[400];      /* a service-status / service-control line for the debug stream */
	uint32_t status_len;
	uint16_t opnum;        /* the svcctl request served, if has_opnum */
	bool has_opnum;
};

/* A file's contents (scenario files and files the guest creates). */
struct wfile {
	char *name;
	bool directory;       /* a directory (host-backed mounts); no data */
	uint32_t id;          /* FileIdInformation: 1.. in creation order */
	uint8_t *data;
	size_t len, cap;
	int state;            /* enum wscn_state */
	bool writable;
};

struct wdevice {
	const struct wscn_device *d;
	size_t read_pos;      /* into d->read */
};

struct wkey {
	char *name;
	bool denied;
	struct wscn_value *values; /* owned copies */
	size_t nvalues;
};

/* Objects live until the recording ends (named objects stay findable
 * after their last handle closes: a simplification, docs/winemu.md). */
struct wobj {
	enum wobj_type type;
	char *name;           /* canonical NT name, NULL if unnamed */
	union {
		struct { bool signaled, sync; } event;
		struct wthread *thread;
		struct { struct wfile *file; uint64_t pos; } file;
		struct { struct wdevice *dev; } device;
		struct { struct wkey *key; } key;
		struct { uint32_t owner_tid; uint32_t count; } mutant; /* count 0 = free */
		struct { int32_t count, max; } sem;
		struct { uint32_t stream; } stdio;
		struct { struct wfile *file; bool image; } section;
		struct { struct wsvc_conn *conn; } pipe; /* owned */
	} u;
};

/* ===================================================================== */
/* The machine                                                            */
/* ===================================================================== */

struct wemu {
	uc_engine *uc;
	struct wscn *scn;
	const struct strand_winemu_options *opt;
	struct strand_winemu_result *res;
	strand_error *err;

	/* address space */
	struct wregion *regions;
	size_t nregions, capregions;
	struct wfx fx;

	/* modules in load order; init_order holds indices (DLLs only) */
	struct wmodule *mods;
	size_t nmods;
	size_t *init_order;
	size_t ninit;
	uint32_t loader_next;  /* next free byte in the loader region */
	uint32_t heap_base;

	/* threads, in creation order */
	struct wthread **threads;
	size_t nthreads;
	size_t cur;            /* index of the running thread */
	uint32_t next_teb;     /* address of the next TEB */

	/* objects and handles: handle value = 4 * (index + 1) */
	struct wobj **objs;
	size_t nobjs;
	struct wobj **handles;
	size_t nhandles;
	struct wobj *process_obj;
	struct wfile **files;
	size_t nfiles;
	struct wdevice *devices; /* one per scenario device */
	struct wkey **keys;
	size_t nkeys;

	/* execution */
	uint64_t icount;       /* positions: instructions retired */
	uint64_t stop_at;      /* the code hook stops before counting this one */
	bool stop_pending;     /* stop at the next instruction (uncounted) */
	uint64_t idle;         /* virtual time added while all threads slept */
	uint64_t next_keyframe;
	bool switch_pending;   /* the running thread blocked, yielded or exited */
	bool ended;            /* the process is gone */
	uint32_t exit_status;
	bool fault;            /* guest fault: fault_* describe it */
	uint32_t fault_code;
	uint64_t fault_addr;
	strand_status hook_status; /* error raised inside a hook (writer...) */

	/* unmodelled services: the log this run builds ("position=... tid=...
	 * pc=... number=... service=...\n" lines), and the log of a previous
	 * identical run, written as NOTE "unmodelled-syscalls" in the snapshot */
	char *unmodelled;
	size_t unmodelled_len;
	const char *unmodelled_note;
	size_t unmodelled_note_len;

	/* system services: personality, table sorted by number */
	int personality;       /* enum wemu_personality */
	struct wsyscall *sys;
	size_t nsys;
	char sys_source[192];  /* where the table came from (NOTE syscall-table) */
	uint32_t dispatch_word;/* Wine: address of __wine_syscall_dispatcher, 0 if none */
	struct { char file[32]; uint32_t addr, size; } nls[16]; /* NLS files mapped, once each */
	size_t nnls;
	struct wsvc *svc;        /* the service control manager's state (svcctl.c), NULL = no [service] */
	uint32_t std_handles[3]; /* stdin, stdout, stderr of a system-DLL process (0 = none) */
	uint32_t next_module_id;
	uint32_t nested_faults; /* faults delivered since the last completed system call (a loop guard) */ /* id of the next module mapped at run time, 0 = index + 1 */

	/* trace */
	struct strand_writer *w;
	uint32_t tid_cursor;   /* index into scn->proc.tids */
	uint32_t last_tid;
};

/* ---- vm.c ---- */
strand_status wemu_vm_map(struct wemu *m, uint32_t addr, uint32_t size, uint32_t prot,
			  uint32_t kind, const char *name, const void *data, bool committed,
			  bool image, uint32_t alloc_prot);
strand_status wemu_vm_unmap(struct wemu *m, uint32_t addr, uint32_t size);
strand_status wemu_vm_protect(struct wemu *m, uint32_t addr, uint32_t size, uint32_t prot,
			      bool committed, uint32_t alloc_prot_or_0);
/* First free range of `size` at or above `min`, aligned to `align`, below
 * `max`; false if none. */
bool wemu_vm_find_free(const struct wemu *m, uint32_t size, uint32_t align, uint32_t min,
		       uint32_t max, uint32_t *out);
bool wemu_vm_is_free(const struct wemu *m, uint32_t addr, uint32_t size);
/* Region containing addr, or NULL. */
struct wregion *wemu_vm_region_at(struct wemu *m, uint32_t addr);
/* Guest memory as the kernel sees it: false if any byte is not mapped
 * with the needed access.  Writes are recorded as effects while fx.active. */
bool wemu_read(struct wemu *m, uint32_t addr, void *buf, uint32_t len);
bool wemu_write(struct wemu *m, uint32_t addr, const void *buf, uint32_t len);
bool wemu_can_write(struct wemu *m, uint32_t addr, uint32_t len);
bool wemu_read32(struct wemu *m, uint32_t addr, uint32_t *v);
bool wemu_write32(struct wemu *m, uint32_t addr, uint32_t v);
bool wemu_write64(struct wemu *m, uint32_t addr, uint64_t v);
void wemu_fx_reset(struct wfx *fx);
void wemu_fx_free(struct wfx *fx);
uint32_t wemu_prot_from_win(uint32_t page_prot, bool *ok);
uint32_t wemu_prot_to_win(uint32_t prot);

/* ---- loader.c ---- */
/* Map the modules, build the process structures and the main thread. */
strand_status wemu_load_process(struct wemu *m);
/* New thread: TEB region (as an effect when inside a syscall). */
strand_status wemu_new_thread(struct wemu *m, uint32_t stack_base, uint32_t stack_limit,
			      struct wthread **out);
/* Map the PE file at host `path` as module `name` (preferred base, else
 * relocated: *moved); imports are not bound.  Appends to m->mods. */
strand_status wemu_map_pe(struct wemu *m, const char *path, const char *name, const char *win32_path,
			  bool main, size_t *out_index, bool *moved);
/* The same from bytes in memory (copied; `path` is only a label) at
 * want_base (0 = preferred, else relocated). */
strand_status wemu_map_pe_at(struct wemu *m, const char *path, const uint8_t *bytes, size_t nbytes,
			     const char *name, const char *win32_path, bool main, uint32_t want_base,
			     size_t *out_index, bool *moved);
/* Host path of `name` in directory `dir` (case-insensitive match). */
strand_status wemu_find_file_in(struct wemu *m, const char *dir, const char *name, char *path, size_t n);
strand_status wemu_module_record(struct wemu *m, struct wmodule *mod, uint64_t position, uint32_t tid);
void wemu_gdt_desc(uint8_t *d, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
strand_status wemu_map_gdt(struct wemu *m, uint32_t teb);
const struct pe_export *wemu_find_export(const struct wmodule *mod, const char *name);
/* Real system DLLs (scenario system_dlls): their directory, or NULL. */
const char *wemu_system_dlls_dir(const struct wemu *m);
/* The process on real system DLLs: exe and ntdll mapped, the main thread
 * about to enter ntdll!LdrInitializeThunk (sysproc.c). */
strand_status wemu_load_system_process(struct wemu *m);
/* A thread of a system-DLL process starts like Windows starts one: in
 * ntdll!LdrInitializeThunk with a CONTEXT (Eip = RtlUserThreadStart, Eax
 * = start, Ebx = param) near `top` of its stack (sysproc.c).  Writes go
 * through wemu_write (effects inside a system call). */
strand_status wemu_sys_thread_start(struct wemu *m, struct wthread *t, uint32_t top, uint32_t start,
				    uint32_t param);
/* Deliver an exception the Windows way: EXCEPTION_RECORD `rec` (rec_len
 * bytes, at most 0x50) and the interrupted CONTEXT (ctx_in, 0x2CC bytes,
 * or built from *cpu) below the interrupted esp, *cpu set to enter
 * ntdll!KiUserExceptionDispatcher(rec, ctx).  Memory goes through
 * wemu_write (effects when collecting).  STRAND_ERR_UNSUPPORTED if ntdll
 * has no dispatcher, STRAND_ERR_LIMIT if the stack has no room. */
strand_status wemu_deliver_exception(struct wemu *m, struct strand_cpu *cpu, const uint8_t *rec, uint32_t rec_len,
				     const uint8_t *ctx_in);
/* Write the initial snapshot records. */
strand_status wemu_write_snapshot(struct wemu *m);
/* Rewrite the FS descriptor base for `teb` (the thread switch rule). */
void wemu_gdt_set_fs_base(struct wemu *m, uint32_t teb);

/* ---- kernel.c ---- */
strand_status wemu_kernel_init(struct wemu *m);
void wemu_kernel_free(struct wemu *m);
/* Serve the system call the running thread made at `pc` (sysenter).
 * Writes the SYSCALL record (and its follow-up events) unless the call
 * blocked, in which case the thread is left at pc and *blocked is true. */
strand_status wemu_syscall(struct wemu *m, uint32_t pc, bool *blocked);
/* Can the waiting thread t proceed (objects signaled or deadline due)? */
bool wemu_wait_ready(struct wemu *m, struct wthread *t);
/* The standard handles of a system-DLL process (m->std_handles). */
strand_status wemu_kernel_std_handles(struct wemu *m);
/* Bind m->sys entries to the services the model serves (by name). */
void wemu_kernel_bind(struct wemu *m);
struct wobj *wemu_obj_new(struct wemu *m, enum wobj_type type, const char *name);
/* Terminate thread t (not necessarily the running one); records THREAD_EXIT
 * at `position` unless it is the last thread. */
strand_status wemu_thread_exit(struct wemu *m, struct wthread *t, uint32_t status,
			       uint64_t position);

/* ---- svcctl.c ---- */
strand_status wemu_svc_init(struct wemu *m);  /* from the scenario's [service] sections */
void wemu_svc_free(struct wemu *m);
void wemu_svc_conn_free(struct wsvc_conn *c);
/* Is `name` a pipe the service control manager serves (svcctl, the
 * control pipe)?  False without [service] sections. */
bool wemu_svc_claims(const struct wemu *m, const char *name);
uint32_t wemu_svc_open(struct wemu *m, const char *name, struct wsvc_conn **out);
/* The client wrote `len` bytes: replies are queued, *io says what happened. */
uint32_t wemu_svc_write(struct wemu *m, struct wsvc_conn *c, const uint8_t *data, uint32_t len,
			struct wsvc_io *io);
/* The client reads up to cap bytes: *n read; ST_PENDING with *wait_on set
 * when the read must wait (the control pipe without a due order). */
uint32_t wemu_svc_read(struct wemu *m, struct wsvc_conn *c, uint8_t *buf, uint32_t cap, uint32_t *n,
		       struct wobj **wait_on);
/* The service-status line of the debug stream (also the stand-in sink's). */
int wemu_service_status_line(char *buf, size_t cap, const char *name, const uint32_t f[7]);

/* ---- systable.c ---- */
strand_status wemu_systable_standin(struct wemu *m);
/* Read the table from ntdll's stubs (img as mapped); sets personality and
 * dispatch_word. */
strand_status wemu_systable_derive(struct wemu *m, struct wmodule *nt);
/* The dispatcher word of a module with its own system call stubs (Wine's
 * win32u.dll: `mov eax, N; mov edx, T; call edx` with T = `jmp [D]` in
 * the module), or 0 if it has none. */
uint32_t wemu_stub_dispatch_word(const struct wmodule *mod);
/* Add the win32k services of win32u.dll at host `path` (read from its
 * stubs, numbers 0x1000..0x1fff) to the table, so they are named in the
 * trace before user32 loads it; they stay unmodelled (logged by name). */
strand_status wemu_systable_win32k(struct wemu *m, const char *path);
const struct wsyscall *wemu_sys_find(const struct wemu *m, uint32_t number);
void wemu_systable_free(struct wemu *m);
const char *wemu_personality_name(int p);
/* The NOTE "syscall-table" text (*out owned by the caller, free()). */
strand_status wemu_systable_note(struct wemu *m, char **out, size_t *len);

/* ---- record.c ---- */
uint64_t wemu_now(const struct wemu *m); /* virtual time, 100 ns since 1601 */
strand_status wemu_put(struct wemu *m, const struct strand_record *r);
void wemu_cpu_store(struct wemu *m, struct strand_cpu *cpu);
void wemu_cpu_load(struct wemu *m, const struct strand_cpu *cpu);
struct wthread *wemu_current(struct wemu *m);
uint32_t wemu_alloc_tid(struct wemu *m);
void wemu_warn(struct wemu *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
