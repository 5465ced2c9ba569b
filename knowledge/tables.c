/* Status, error and syscall knowledge: lookups over the generated tables
 * (tables_gen.c), HRESULT decoding, the Windows Server 2003 SP2 syscall
 * numbers (knowledge/nt_syscalls.h, shared with the recorder) and the
 * argument decoders (object names, paths). */
#include "knowledge/tables.h"
#include "strand/trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct strand_code *code_bsearch(const struct strand_code *t, size_t n,
					      uint32_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t[mid].value == v)
			return &t[mid];
		if (t[mid].value < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct strand_code *strand_ntstatus_lookup(uint32_t st)
{
	return code_bsearch(strand_ntstatus_table, strand_ntstatus_count, st);
}

const struct strand_code *strand_ntstatus_by_name(const char *name)
{
	for (size_t i = 0; name && i < strand_ntstatus_count; i++)
		if (!strcmp(strand_ntstatus_table[i].name, name))
			return &strand_ntstatus_table[i];
	return NULL;
}

const struct strand_code *strand_win32_lookup(uint32_t code)
{
	return code_bsearch(strand_win32_table, strand_win32_count, code);
}

/* The kernel's own codes for a syscall a signal interrupted (Linux
 * include/linux/errno.h, not in the UAPI headers the table is generated
 * from): user space never sees them, a tracer does at the syscall's exit,
 * and the kernel turns them into a restart or EINTR. */
static const struct strand_code kernel_restart_codes[] = {
	{ 512, "ERESTARTSYS", "Interrupted by a signal: restarted, or EINTR if a handler without "
			      "SA_RESTART runs" },
	{ 513, "ERESTARTNOINTR", "Interrupted by a signal: always restarted" },
	{ 514, "ERESTARTNOHAND", "Interrupted by a signal: restarted if no handler runs, else EINTR" },
	{ 516, "ERESTART_RESTARTBLOCK", "Interrupted by a signal: continued by restart_syscall, or "
					"EINTR if a handler runs" },
};

const struct strand_code *strand_errno_lookup(uint32_t e)
{
	const struct strand_code *c = code_bsearch(strand_errno_table, strand_errno_count, e);
	return c ? c : code_bsearch(kernel_restart_codes,
				    sizeof kernel_restart_codes / sizeof kernel_restart_codes[0], e);
}

/* HRESULT facilities worth naming (winerror.h FACILITY_*). */
static const char *facility_name(unsigned f)
{
	switch (f) {
	case 0: return "FACILITY_NULL";
	case 1: return "FACILITY_RPC";
	case 2: return "FACILITY_DISPATCH";
	case 3: return "FACILITY_STORAGE";
	case 4: return "FACILITY_ITF";
	case 7: return "FACILITY_WIN32";
	case 8: return "FACILITY_WINDOWS";
	case 9: return "FACILITY_SECURITY";
	case 10: return "FACILITY_CONTROL";
	case 11: return "FACILITY_CERT";
	case 12: return "FACILITY_INTERNET";
	case 16: return "FACILITY_SETUPAPI";
	case 17: return "FACILITY_SCARD";
	case 18: return "FACILITY_COMPLUS";
	case 23: return "FACILITY_WINRM";
	default: return NULL;
	}
}

const char *strand_code_describe(unsigned kind, uint64_t value, char *buf, size_t len)
{
	const struct strand_code *c = NULL;
	uint32_t v = (uint32_t)value;
	switch (kind) {
	case STRAND_CODE_NTSTATUS:
		c = strand_ntstatus_lookup(v);
		if (c)
			snprintf(buf, len, "%s (0x%08" PRIX32 "): %s", c->name, v, c->message);
		else
			snprintf(buf, len, "NTSTATUS 0x%08" PRIX32, v);
		break;
	case STRAND_CODE_WIN32:
		c = strand_win32_lookup(v);
		if (c)
			snprintf(buf, len, "%s (%" PRIu32 "): %s", c->name, v, c->message);
		else
			snprintf(buf, len, "Win32 error %" PRIu32, v);
		break;
	case STRAND_CODE_HRESULT: {
		unsigned fac = (v >> 16) & 0x1fff, code = v & 0xffff;
		if (v & 0x10000000u) { /* N bit: an NTSTATUS wrapped (HRESULT_FROM_NT) */
			char inner[512];
			strand_code_describe(STRAND_CODE_NTSTATUS, v & ~0x10000000u, inner, sizeof inner);
			snprintf(buf, len, "HRESULT 0x%08" PRIX32 " = HRESULT_FROM_NT(%s)", v, inner);
		} else if (fac == 7 && (c = strand_win32_lookup(code))) {
			snprintf(buf, len, "HRESULT 0x%08" PRIX32 " = HRESULT_FROM_WIN32(%s (%u)): %s",
				 v, c->name, code, c->message);
		} else {
			const char *fn = facility_name(fac);
			snprintf(buf, len, "HRESULT 0x%08" PRIX32 " (%s, %s, code %u)", v,
				 v & 0x80000000u ? "failure" : "success",
				 fn ? fn : "unknown facility", code);
		}
		break;
	}
	case STRAND_CODE_ERRNO: {
		int64_t e = (int64_t)value;
		uint32_t pos = (uint32_t)(e < 0 ? -e : e);
		c = strand_errno_lookup(pos);
		if (c)
			snprintf(buf, len, "%s (%" PRId64 "): %s", c->name, e, c->message);
		else
			snprintf(buf, len, "errno %" PRId64, e);
		break;
	}
	default:
		snprintf(buf, len, "0x%" PRIx64, value);
	}
	return buf;
}

unsigned strand_code_guess(uint64_t value)
{
	uint32_t v = (uint32_t)value;
	if (value > 0xffffffffu)
		return 0;
	if ((v & 0xffff0000u) == 0x80070000u)
		return STRAND_CODE_HRESULT;
	if (v >= 0x80000000u && strand_ntstatus_lookup(v))
		return STRAND_CODE_NTSTATUS;
	if (v >= 0x80000000u && facility_name((v >> 16) & 0x1fff))
		return STRAND_CODE_HRESULT;
	if (v > 0 && v < 16000 && strand_win32_lookup(v))
		return STRAND_CODE_WIN32;
	return 0;
}

/* ------------------------------------------------------------ syscalls */

struct nt_syscall {
	uint32_t number;
	uint32_t nargs;
	const char *name;
};

static const struct nt_syscall nt_syscalls[] = {
#define NT_SYSCALL(name, num, argc) { num, argc, #name },
#include "knowledge/nt_syscalls.h"
#undef NT_SYSCALL
};

const char *strand_syscall_name(strand_abi abi, strand_arch arch, uint32_t number)
{
	if (abi == STRAND_ABI_WINDOWS_NT && arch == STRAND_ARCH_X86_32) {
		for (size_t i = 0; i < sizeof nt_syscalls / sizeof nt_syscalls[0]; i++)
			if (nt_syscalls[i].number == number)
				return nt_syscalls[i].name;
		return NULL;
	}
	if (abi == STRAND_ABI_LINUX && arch == STRAND_ARCH_X86_64) {
		size_t lo = 0, hi = strand_linux64_syscall_count;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strand_linux64_syscalls[mid].number == number)
				return strand_linux64_syscalls[mid].name;
			if (strand_linux64_syscalls[mid].number < number)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return NULL;
}

bool strand_syscall_number(strand_abi abi, strand_arch arch, const char *name,
			   uint32_t *number)
{
	if (abi == STRAND_ABI_WINDOWS_NT && arch == STRAND_ARCH_X86_32) {
		for (size_t i = 0; i < sizeof nt_syscalls / sizeof nt_syscalls[0]; i++)
			if (!strcmp(nt_syscalls[i].name, name)) {
				*number = nt_syscalls[i].number;
				return true;
			}
	}
	if (abi == STRAND_ABI_LINUX && arch == STRAND_ARCH_X86_64) {
		for (size_t i = 0; i < strand_linux64_syscall_count; i++)
			if (!strcmp(strand_linux64_syscalls[i].name, name)) {
				*number = strand_linux64_syscalls[i].number;
				return true;
			}
	}
	return false;
}

bool strand_syscall_failed(strand_abi abi, strand_arch arch, uint64_t result)
{
	if (abi == STRAND_ABI_WINDOWS_NT)
		return strand_ntstatus_severity((uint32_t)result) >= 3;
	if (abi == STRAND_ABI_LINUX) {
		int64_t r = arch == STRAND_ARCH_X86_32 ? (int64_t)(int32_t)result : (int64_t)result;
		return r < 0 && r >= -4095;
	}
	return false;
}

/* The 4 bytes at addr among the memory the kernel wrote; false if it
 * did not write all of them in one piece. */
static bool written_u32(const struct strand_effects *fx, uint64_t addr, uint32_t *v)
{
	for (uint32_t i = 0; i < fx->nwrites; i++) {
		const struct strand_memwrite *w = &fx->writes[i];
		if (addr < w->addr || addr - w->addr > w->len || w->len - (addr - w->addr) < 4)
			continue;
		const uint8_t *b = w->data + (addr - w->addr);
		*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
		return true;
	}
	return false;
}

bool strand_syscall_reported_error(strand_abi abi, const char *name, const struct strand_syscall *sc,
				   uint64_t *status, uint64_t *addr)
{
	enum { SOL_SOCKET_ = 1, SO_ERROR_ = 4 };
	if (abi != STRAND_ABI_LINUX || !name || strcmp(name, "getsockopt") || sc->nargs < 4 ||
	    sc->result != 0 || sc->args[1] != SOL_SOCKET_ || sc->args[2] != SO_ERROR_)
		return false;
	uint32_t v;
	if (!written_u32(&sc->fx, sc->args[3], &v) || v == 0 || v > 4095 || !strand_errno_lookup(v))
		return false;
	*status = (uint64_t)-(int64_t)v;
	*addr = sc->args[3];
	return true;
}

const char *strand_syscall_result_str(strand_abi abi, strand_arch arch, uint64_t result,
				      char *buf, size_t len)
{
	if (abi == STRAND_ABI_WINDOWS_NT)
		return strand_code_describe(STRAND_CODE_NTSTATUS, (uint32_t)result, buf, len);
	if (abi == STRAND_ABI_LINUX) {
		int64_t r = arch == STRAND_ARCH_X86_32 ? (int64_t)(int32_t)result : (int64_t)result;
		if (r < 0 && r >= -4095)
			return strand_code_describe(STRAND_CODE_ERRNO, (uint64_t)r, buf, len);
		snprintf(buf, len, "%" PRId64, r);
		return buf;
	}
	snprintf(buf, len, "0x%" PRIx64, result);
	return buf;
}

/* Windows syscalls whose argument `arg` names an object: through an
 * OBJECT_ATTRIBUTES (oa = true) or directly a UNICODE_STRING. */
static const struct { const char *name; unsigned arg; bool oa; } nt_named[] = {
	{ "NtCreateFile", 2, true }, { "NtOpenFile", 2, true },
	{ "NtCreateNamedPipeFile", 2, true }, { "NtOpenKey", 2, true },
	{ "NtCreateKey", 2, true }, { "NtOpenEvent", 2, true },
	{ "NtCreateEvent", 2, true }, { "NtOpenSection", 2, true },
	{ "NtCreateSection", 2, true }, { "NtOpenDirectoryObject", 2, true },
	{ "NtOpenSymbolicLinkObject", 2, true }, { "NtCreateMutant", 2, true },
	{ "NtOpenMutant", 2, true }, { "NtOpenSemaphore", 2, true },
	{ "NtCreateSemaphore", 2, true }, { "NtQueryAttributesFile", 0, true },
	{ "NtQueryFullAttributesFile", 0, true }, { "NtDeleteFile", 0, true },
	{ "NtQueryValueKey", 1, false }, { "NtSetValueKey", 1, false },
	{ "NtDeleteValueKey", 1, false }, { "NtOpenProcess", 2, true },
	{ "NtOpenThread", 2, true }, { "NtOpenKeyEx", 2, true },
	{ "NtOpenKeyTransacted", 2, true }, { "NtOpenKeyTransactedEx", 2, true },
	{ "NtCreateKeyTransacted", 2, true }, { "NtCreateMailslotFile", 2, true },
	{ "NtCreateDirectoryObject", 2, true }, { "NtCreateSymbolicLinkObject", 2, true },
	{ "NtOpenJobObject", 2, true }, { "NtCreateJobObject", 2, true },
	{ "NtOpenTimer", 2, true }, { "NtCreateTimer", 2, true },
	{ "NtOpenIoCompletion", 2, true }, { "NtCreateIoCompletion", 2, true },
	{ "NtOpenKeyedEvent", 2, true }, { "NtCreateKeyedEvent", 2, true },
};

/* Linux x86-64 syscalls whose argument `arg` is a path. */
static const struct { const char *name; unsigned arg; } linux_paths[] = {
	{ "open", 0 }, { "openat", 1 }, { "stat", 0 }, { "lstat", 0 },
	{ "access", 0 }, { "newfstatat", 1 }, { "execve", 0 }, { "unlink", 0 },
	{ "mkdir", 0 }, { "rmdir", 0 }, { "readlink", 0 }, { "chdir", 0 },
	{ "statx", 1 }, { "faccessat", 1 }, { "faccessat2", 1 },
	{ "unlinkat", 1 }, { "mkdirat", 1 }, { "rename", 0 }, { "creat", 0 },
	{ "truncate", 0 }, { "chmod", 0 }, { "chown", 0 }, { "readlinkat", 1 },
	{ "openat2", 1 }, { "execveat", 1 },
	/* calls of two names: the one the failure is about (the new name of a
	 * link, the old name of a rename) */
	{ "link", 1 }, { "linkat", 3 }, { "symlink", 1 }, { "symlinkat", 2 },
	{ "renameat", 1 }, { "renameat2", 1 },
	{ "fchmodat", 1 }, { "fchownat", 1 }, { "utimensat", 1 }, { "mknod", 0 },
	{ "mknodat", 1 }, { "lchown", 0 }, { "statfs", 0 }, { "chroot", 0 },
	{ "getxattr", 0 }, { "lgetxattr", 0 }, { "setxattr", 0 }, { "lsetxattr", 0 },
	{ "listxattr", 0 }, { "llistxattr", 0 }, { "inotify_add_watch", 1 },
};

/* The other name of the two-name calls above (man 2): a link's existing
 * name, a rename's new name, a symlink's target. */
static const struct { const char *name; unsigned arg; } linux_other_paths[] = {
	{ "link", 0 }, { "linkat", 1 }, { "symlink", 0 }, { "symlinkat", 0 },
	{ "rename", 1 }, { "renameat", 3 }, { "renameat2", 3 },
};

bool strand_syscall_other_path_arg(strand_abi abi, const char *name, unsigned *arg)
{
	if (abi != STRAND_ABI_LINUX || !name)
		return false;
	for (size_t i = 0; i < sizeof linux_other_paths / sizeof linux_other_paths[0]; i++)
		if (!strcmp(linux_other_paths[i].name, name)) {
			*arg = linux_other_paths[i].arg;
			return true;
		}
	return false;
}

/* Linux x86-64 calls whose argument `arg` is a process, thread or
 * process-group id (man 2): the object such a call is about. */
static const struct { const char *name; unsigned arg; } linux_pids[] = {
	{ "kill", 0 }, { "tkill", 0 }, { "tgkill", 0 }, { "rt_sigqueueinfo", 0 },
	{ "rt_tgsigqueueinfo", 0 }, { "setpgid", 0 }, { "getpgid", 0 }, { "getsid", 0 },
	{ "sched_setaffinity", 0 }, { "sched_getaffinity", 0 }, { "sched_setscheduler", 0 },
	{ "sched_getscheduler", 0 }, { "sched_setparam", 0 }, { "sched_getparam", 0 },
	{ "sched_rr_get_interval", 0 }, { "sched_setattr", 0 }, { "sched_getattr", 0 },
	{ "prlimit64", 0 }, { "process_vm_readv", 0 }, { "process_vm_writev", 0 },
	{ "pidfd_open", 0 }, { "wait4", 0 }, { "kcmp", 0 }, { "migrate_pages", 0 },
	{ "move_pages", 0 }, { "get_robust_list", 0 }, { "ioprio_set", 1 }, { "ioprio_get", 1 },
	{ "ptrace", 1 },
};

/* Linux x86-64 calls whose first argument is a file descriptor (man 2). */
static const char *const linux_fd_first[] = {
	"read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev",
	"preadv2", "pwritev2", "close", "fstat", "lseek", "ioctl", "fsync", "fdatasync",
	"ftruncate", "fchmod", "fchown", "getdents", "getdents64", "fcntl", "flock",
	"connect", "bind", "listen", "accept", "accept4", "sendto", "recvfrom", "sendmsg",
	"recvmsg", "sendmmsg", "recvmmsg", "shutdown", "getsockopt", "setsockopt",
	"getsockname", "getpeername", "sendfile", "splice", "tee", "copy_file_range",
	"fadvise64", "fallocate", "fstatfs", "dup", "dup2", "dup3", "fchdir", "fsetxattr",
	"fgetxattr", "flistxattr", "syncfs", "sync_file_range", "readahead",
};

bool strand_syscall_fd_arg(strand_abi abi, const char *name, unsigned *arg)
{
	if (!name || abi != STRAND_ABI_LINUX)
		return false;
	for (size_t i = 0; i < sizeof linux_fd_first / sizeof linux_fd_first[0]; i++)
		if (!strcmp(linux_fd_first[i], name)) {
			*arg = 0;
			return true;
		}
	return false;
}


/* Linux x86-64 calls whose result is a new descriptor that names no
 * file, with what it is (man 2 of each). */
static const char *const linux_new_fd[][2] = {
	{ "socket", "socket" }, { "accept", "socket" }, { "accept4", "socket" },
	{ "eventfd", "eventfd" }, { "eventfd2", "eventfd" }, { "epoll_create", "epoll" },
	{ "epoll_create1", "epoll" }, { "timerfd_create", "timerfd" }, { "signalfd", "signalfd" },
	{ "signalfd4", "signalfd" }, { "inotify_init", "inotify" }, { "inotify_init1", "inotify" },
	{ "memfd_create", "memfd" }, { "pidfd_open", "pidfd" }, { "userfaultfd", "userfaultfd" },
	{ "fanotify_init", "fanotify" }, { "perf_event_open", "perf_event" }, { "bpf", "bpf" },
	{ "io_uring_setup", "io_uring" },
};

const char *strand_syscall_new_fd_kind(strand_abi abi, const char *name)
{
	if (abi != STRAND_ABI_LINUX || !name)
		return NULL;
	for (size_t i = 0; i < sizeof linux_new_fd / sizeof linux_new_fd[0]; i++)
		if (!strcmp(linux_new_fd[i][0], name))
			return linux_new_fd[i][1];
	return NULL;
}

bool strand_syscall_resumes_context(strand_abi abi, const char *name)
{
	if (!name)
		return false;
	if (abi == STRAND_ABI_LINUX)
		return !strcmp(name, "rt_sigreturn") || !strcmp(name, "sigreturn");
	return abi == STRAND_ABI_WINDOWS_NT && (!strcmp(name, "NtContinue") || !strcmp(name, "NtRaiseException"));
}

bool strand_syscall_releases(strand_abi abi, const char *name)
{
	if (!name)
		return false;
	if (abi == STRAND_ABI_LINUX)
		return !strcmp(name, "close");
	return abi == STRAND_ABI_WINDOWS_NT && !strcmp(name, "NtClose");
}

bool strand_syscall_object_arg(strand_abi abi, const char *name, unsigned *arg,
			       strand_object_arg *how)
{
	if (!name)
		return false;
	if (abi == STRAND_ABI_WINDOWS_NT) {
		for (size_t i = 0; i < sizeof nt_named / sizeof nt_named[0]; i++)
			if (!strcmp(nt_named[i].name, name)) {
				*arg = nt_named[i].arg;
				*how = nt_named[i].oa ? STRAND_OBJARG_OBJECT_ATTRIBUTES
						      : STRAND_OBJARG_UNICODE_STRING;
				return true;
			}
	}
	if (abi == STRAND_ABI_LINUX) {
		for (size_t i = 0; i < sizeof linux_paths / sizeof linux_paths[0]; i++)
			if (!strcmp(linux_paths[i].name, name)) {
				*arg = linux_paths[i].arg;
				*how = STRAND_OBJARG_C_STRING;
				return true;
			}
		for (size_t i = 0; i < sizeof linux_pids / sizeof linux_pids[0]; i++)
			if (!strcmp(linux_pids[i].name, name)) {
				*arg = linux_pids[i].arg;
				*how = STRAND_OBJARG_PID;
				return true;
			}
	}
	return false;
}
