/*
 * strand knowledge: status and error codes (NTSTATUS, Win32, HRESULT,
 * errno) with their messages, and syscall tables (names, numbers, what
 * counts as failure, which argument names an object).  Pure data and
 * lookups: no replay, no analysis.  Sources of every table are listed in
 * docs/analyses.md.
 */
#ifndef STRAND_KNOWLEDGE_H
#define STRAND_KNOWLEDGE_H

#include "strand/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

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
 * (NTSTATUS of error severity, 0xC0000000 and above in the low 32 bits:
 * warnings such as STATUS_BUFFER_OVERFLOW are not failures of the call,
 * though analyses may still find them on a causal path; Linux
 * -4095..-1).  The one definition of "failed" for every part. */
bool strand_syscall_failed(strand_abi abi, strand_arch arch, uint64_t result);
/* A call that succeeded but reports an error through an out-parameter
 * (the kernel's words for an earlier asynchronous failure): Linux
 * getsockopt(fd, SOL_SOCKET, SO_ERROR, optval, optlen) returning 0 with a
 * nonzero int at optval, the pending error of a non-blocking connect.
 * Reads the value from the memory the kernel wrote (sc->fx.writes); on
 * true, *status is the error as a raw result (-errno) and *addr where it
 * was written.  The one definition, shared by every part. */
struct strand_syscall;
bool strand_syscall_reported_error(strand_abi abi, const char *name, const struct strand_syscall *sc,
				   uint64_t *status, uint64_t *addr);
/* "STATUS_X (0x...): message" or "ENOENT (-2): No such file or directory". */
const char *strand_syscall_result_str(strand_abi abi, strand_arch arch,
				      uint64_t result, char *buf, size_t len);
/* ---- Service tables of a trace ----
 * A trace recorded on real Windows system DLLs (record-win `system_dlls`)
 * numbers its system services as that ntdll does, and declares the
 * numbering in the snapshot's NOTE "syscall-table" (docs/trace-format.md).
 * Analyses name a SYSCALL record's number through the trace's table when
 * it has one (never through the built-in Server 2003 table then). */
struct strand_systable;
/* Parse the note's text.  *out owned by the caller (strand_systable_free). */
strand_status strand_systable_parse(const void *text, size_t len, struct strand_systable **out,
				    strand_error *err);
/* The table of a trace file; *out = NULL when the trace declares none. */
strand_status strand_systable_load(const char *trace, struct strand_systable **out, strand_error *err);
void strand_systable_free(struct strand_systable *t); /* t may be NULL */
/* Lookups (t may be NULL: no entry).  Strings live as long as t. */
const char *strand_systable_name(const struct strand_systable *t, uint32_t number);
bool strand_systable_number(const struct strand_systable *t, const char *name, uint32_t *number);
const char *strand_systable_personality(const struct strand_systable *t); /* "wine", "windows", "" */
const char *strand_systable_source(const struct strand_systable *t);      /* where the numbers came from */
size_t strand_systable_count(const struct strand_systable *t);
/* The name of a service: through t if the trace has a table, else the
 * built-in table of the ABI (strand_syscall_name). */
const char *strand_syscall_name_in(const struct strand_systable *t, strand_abi abi, strand_arch arch,
				   uint32_t number);
bool strand_syscall_number_in(const struct strand_systable *t, strand_abi abi, strand_arch arch,
			      const char *name, uint32_t *number);

/* How a syscall argument names an object. */
typedef enum strand_object_arg {
	STRAND_OBJARG_C_STRING = 1,          /* a NUL-terminated path */
	STRAND_OBJARG_UNICODE_STRING = 2,    /* a UNICODE_STRING pointer */
	STRAND_OBJARG_OBJECT_ATTRIBUTES = 3, /* an OBJECT_ATTRIBUTES pointer */
	STRAND_OBJARG_PID = 4,               /* a process, thread or group id (a number) */
} strand_object_arg;

/* Which argument of syscall `name` names an object (path, NT object or
 * value name): its index in *arg and how in *how.  False if none. */
bool strand_syscall_object_arg(strand_abi abi, const char *name, unsigned *arg,
			       strand_object_arg *how);
/* The other name of a call of two names (Linux link, rename, symlink and
 * their *at forms): the argument that is not the object (a link's
 * target, a rename's new name), a C string; its index in *arg.  False
 * for a call of one name or none. */
bool strand_syscall_other_path_arg(strand_abi abi, const char *name, unsigned *arg);
/* Which argument of syscall `name` is a file descriptor (Linux): its
 * index in *arg.  False if none. */
bool strand_syscall_fd_arg(strand_abi abi, const char *name, unsigned *arg);
/* True if the call ends the life of the descriptor or handle it names
 * (Linux close, Windows NtClose): a release, not a use of the object. */
bool strand_syscall_releases(strand_abi abi, const char *name);
/* True if the call does not return a result but resumes a saved context
 * (Linux rt_sigreturn after a handler, Windows NtContinue, the dispatch of
 * NtRaiseException): the result register is the resumed code's, so such a
 * call never failed, whatever it holds (EINTR of the call the handler
 * interrupted, a pointer). */
bool strand_syscall_resumes_context(strand_abi abi, const char *name);
/* What a new descriptor that names no file is, for a Linux call that
 * returns one ("socket", "eventfd", "epoll"...); NULL for other calls. */
const char *strand_syscall_new_fd_kind(strand_abi abi, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_KNOWLEDGE_H */
