/*
 * The per-syscall table of the ptrace recorder: for each x86-64 system
 * call it knows, what the kernel writes to user memory.  Capturing more
 * than the kernel wrote is harmless (the bytes are read from the tracee
 * after the call, so they are the real values); capturing less would be
 * a silent divergence, which the key frames would then report.
 *
 * Syscalls not in the table are captured by the snapshot-diff fallback
 * (ptrace_rec.c): writable memory is copied at entry and compared at exit.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record/ptrace/ptrace_rec.h"

/* What a known syscall writes (argument numbers are 0-based). */
typedef enum {
	W_NONE,          /* writes no user memory */
	W_BUF_RESULT,    /* arg[a] buffer, `result` bytes */
	W_FIXED,         /* arg[a] buffer, `size` bytes, if arg non-NULL */
	W_FIXED2,        /* arg[a] size bytes and arg[b] size2 bytes */
	W_IOV_RESULT,    /* iovec arg[a], count arg[b], `result` bytes spread */
	W_CUSTOM,        /* see capture_custom() */
} wkind;

struct sysent {
	const char *name;
	uint8_t klass;     /* strand_ptrace_sysclass */
	uint8_t kind;      /* wkind */
	uint8_t a, b;
	uint32_t size, size2;
};

#define NONE(n, nm) [n] = { nm, STRAND_PTRACE_SYS_TABLE, W_NONE, 0, 0, 0, 0 }
#define BUFR(n, nm, a) [n] = { nm, STRAND_PTRACE_SYS_TABLE, W_BUF_RESULT, a, 0, 0, 0 }
#define FIX(n, nm, a, s) [n] = { nm, STRAND_PTRACE_SYS_TABLE, W_FIXED, a, 0, s, 0 }
#define FIX2(n, nm, a, s, b, s2) [n] = { nm, STRAND_PTRACE_SYS_TABLE, W_FIXED2, a, b, s, s2 }
#define IOVR(n, nm, a, b) [n] = { nm, STRAND_PTRACE_SYS_TABLE, W_IOV_RESULT, a, b, 0, 0 }
#define CUST(n, nm) [n] = { nm, STRAND_PTRACE_SYS_TABLE, W_CUSTOM, 0, 0, 0, 0 }
#define MAPC(n, nm) [n] = { nm, STRAND_PTRACE_SYS_MAP, W_NONE, 0, 0, 0, 0 }
#define SPEC(n, nm) [n] = { nm, STRAND_PTRACE_SYS_SPECIAL, W_NONE, 0, 0, 0, 0 }

enum {
	SZ_STAT = 144, SZ_STATX = 256, SZ_STATFS = 120, SZ_TIMESPEC = 16,
	SZ_TIMEVAL = 16, SZ_RUSAGE = 144, SZ_RLIMIT = 16, SZ_SIGINFO = 128,
	SZ_UTSNAME = 390, SZ_SYSINFO = 112, SZ_SIGACTION = 32, SZ_SIGSET = 8,
	SZ_ITIMERVAL = 32, SZ_TMS = 32, SZ_STACK_T = 24, SZ_SOCKADDR = 128,
	SZ_ITIMERSPEC = 32, SZ_CAP_HEADER = 8, SZ_CAP_DATA = 12, SZ_MMSGHDR = 64,
	SZ_SCHED_ATTR_MAX = 4096,
};

static const struct sysent table[] = {
	BUFR(0, "read", 1),
	NONE(1, "write"),
	NONE(2, "open"),
	NONE(3, "close"),
	FIX(4, "stat", 1, SZ_STAT),
	FIX(5, "fstat", 1, SZ_STAT),
	FIX(6, "lstat", 1, SZ_STAT),
	CUST(7, "poll"),
	NONE(8, "lseek"),
	MAPC(9, "mmap"),
	MAPC(10, "mprotect"),
	MAPC(11, "munmap"),
	MAPC(12, "brk"),
	FIX(13, "rt_sigaction", 2, SZ_SIGACTION),
	FIX(14, "rt_sigprocmask", 2, SZ_SIGSET),
	SPEC(15, "rt_sigreturn"),
	CUST(16, "ioctl"),
	BUFR(17, "pread64", 1),
	NONE(18, "pwrite64"),
	IOVR(19, "readv", 1, 2),
	NONE(20, "writev"),
	NONE(21, "access"),
	FIX(22, "pipe", 0, 8),
	CUST(23, "select"),
	NONE(24, "sched_yield"),
	MAPC(25, "mremap"),
	NONE(29, "shmget"),
	MAPC(30, "shmat"),
	MAPC(67, "shmdt"),
	NONE(26, "msync"),
	CUST(27, "mincore"),
	SPEC(28, "madvise"),
	NONE(32, "dup"),
	NONE(33, "dup2"),
	NONE(34, "pause"),
	FIX(35, "nanosleep", 1, SZ_TIMESPEC),
	FIX(36, "getitimer", 1, SZ_ITIMERVAL),
	NONE(37, "alarm"),
	FIX(38, "setitimer", 2, SZ_ITIMERVAL),
	NONE(39, "getpid"),
	CUST(40, "sendfile"),
	NONE(41, "socket"),
	NONE(42, "connect"),
	CUST(43, "accept"),
	NONE(44, "sendto"),
	CUST(45, "recvfrom"),
	NONE(46, "sendmsg"),
	CUST(47, "recvmsg"),
	NONE(48, "shutdown"),
	NONE(49, "bind"),
	NONE(50, "listen"),
	CUST(51, "getsockname"),
	CUST(52, "getpeername"),
	FIX(53, "socketpair", 3, 8),
	NONE(54, "setsockopt"),
	CUST(55, "getsockopt"),
	SPEC(56, "clone"),
	SPEC(57, "fork"),
	SPEC(58, "vfork"),
	SPEC(59, "execve"),
	SPEC(60, "exit"),
	FIX2(61, "wait4", 1, 4, 3, SZ_RUSAGE),
	NONE(62, "kill"),
	FIX(63, "uname", 0, SZ_UTSNAME),
	CUST(72, "fcntl"),
	NONE(73, "flock"),
	NONE(74, "fsync"),
	NONE(75, "fdatasync"),
	NONE(76, "truncate"),
	NONE(77, "ftruncate"),
	BUFR(78, "getdents", 1),
	BUFR(79, "getcwd", 0),
	NONE(80, "chdir"),
	NONE(81, "fchdir"),
	NONE(82, "rename"),
	NONE(83, "mkdir"),
	NONE(84, "rmdir"),
	NONE(85, "creat"),
	NONE(86, "link"),
	NONE(87, "unlink"),
	NONE(88, "symlink"),
	BUFR(89, "readlink", 1),
	NONE(90, "chmod"),
	NONE(91, "fchmod"),
	NONE(92, "chown"),
	NONE(93, "fchown"),
	NONE(94, "lchown"),
	NONE(95, "umask"),
	FIX2(96, "gettimeofday", 0, SZ_TIMEVAL, 1, 8),
	FIX(97, "getrlimit", 1, SZ_RLIMIT),
	FIX(98, "getrusage", 1, SZ_RUSAGE),
	FIX(99, "sysinfo", 0, SZ_SYSINFO),
	FIX(100, "times", 0, SZ_TMS),
	NONE(102, "getuid"),
	NONE(104, "getgid"),
	NONE(105, "setuid"),
	NONE(106, "setgid"),
	NONE(107, "geteuid"),
	NONE(108, "getegid"),
	NONE(109, "setpgid"),
	NONE(110, "getppid"),
	NONE(111, "getpgrp"),
	NONE(112, "setsid"),
	CUST(115, "getgroups"),
	CUST(118, "getresuid"),
	CUST(120, "getresgid"),
	NONE(121, "getpgid"),
	NONE(124, "getsid"),
	CUST(125, "capget"),
	NONE(126, "capset"),
	NONE(113, "setreuid"),
	NONE(114, "setregid"),
	NONE(116, "setgroups"),
	NONE(117, "setresuid"),
	NONE(119, "setresgid"),
	NONE(122, "setfsuid"),
	NONE(123, "setfsgid"),
	NONE(135, "personality"),
	NONE(129, "rt_sigqueueinfo"),
	FIX(148, "sched_rr_get_interval", 1, SZ_TIMESPEC),
	NONE(151, "mlockall"),
	NONE(152, "munlockall"),
	FIX(127, "rt_sigpending", 0, SZ_SIGSET),
	CUST(128, "rt_sigtimedwait"),
	NONE(130, "rt_sigsuspend"),
	FIX(131, "sigaltstack", 1, SZ_STACK_T),
	NONE(132, "utime"),
	NONE(133, "mknod"),
	FIX(137, "statfs", 1, SZ_STATFS),
	FIX(138, "fstatfs", 1, SZ_STATFS),
	NONE(140, "getpriority"),
	NONE(141, "setpriority"),
	FIX(143, "sched_getparam", 1, 4),
	NONE(145, "sched_getscheduler"),
	NONE(149, "mlock"),
	NONE(150, "munlock"),
	CUST(157, "prctl"),
	CUST(158, "arch_prctl"),
	NONE(160, "setrlimit"),
	NONE(161, "chroot"),
	NONE(162, "sync"),
	NONE(165, "mount"),
	BUFR(191, "getxattr", 2),
	BUFR(192, "lgetxattr", 2),
	BUFR(193, "fgetxattr", 2),
	BUFR(194, "listxattr", 1),
	BUFR(195, "llistxattr", 1),
	BUFR(196, "flistxattr", 1),
	NONE(186, "gettid"),
	NONE(200, "tkill"),
	FIX(201, "time", 0, 8),
	CUST(202, "futex"),
	NONE(203, "sched_setaffinity"),
	BUFR(204, "sched_getaffinity", 2),
	BUFR(217, "getdents64", 1),
	NONE(218, "set_tid_address"),
	NONE(219, "restart_syscall"),
	NONE(221, "fadvise64"),
	NONE(227, "clock_settime"),
	FIX(228, "clock_gettime", 1, SZ_TIMESPEC),
	FIX(229, "clock_getres", 1, SZ_TIMESPEC),
	FIX(230, "clock_nanosleep", 3, SZ_TIMESPEC),
	SPEC(231, "exit_group"),
	CUST(232, "epoll_wait"),
	NONE(233, "epoll_ctl"),
	NONE(234, "tgkill"),
	NONE(235, "utimes"),
	FIX2(247, "waitid", 2, SZ_SIGINFO, 4, SZ_RUSAGE),
	NONE(253, "inotify_init"),
	NONE(254, "inotify_add_watch"),
	NONE(255, "inotify_rm_watch"),
	NONE(257, "openat"),
	NONE(258, "mkdirat"),
	NONE(259, "mknodat"),
	NONE(260, "fchownat"),
	NONE(261, "futimesat"),
	FIX(262, "newfstatat", 2, SZ_STAT),
	NONE(263, "unlinkat"),
	NONE(264, "renameat"),
	NONE(265, "linkat"),
	NONE(266, "symlinkat"),
	BUFR(267, "readlinkat", 2),
	NONE(268, "fchmodat"),
	NONE(269, "faccessat"),
	CUST(270, "pselect6"),
	CUST(271, "ppoll"),
	NONE(273, "set_robust_list"),
	CUST(275, "splice"),
	NONE(277, "sync_file_range"),
	NONE(280, "utimensat"),
	CUST(281, "epoll_pwait"),
	NONE(283, "timerfd_create"),
	NONE(284, "eventfd"),
	NONE(285, "fallocate"),
	FIX(286, "timerfd_settime", 3, SZ_ITIMERSPEC),
	FIX(287, "timerfd_gettime", 1, SZ_ITIMERSPEC),
	FIX(222, "timer_create", 2, 4),
	FIX(223, "timer_settime", 3, SZ_ITIMERSPEC),
	FIX(224, "timer_gettime", 1, SZ_ITIMERSPEC),
	NONE(225, "timer_getoverrun"),
	NONE(226, "timer_delete"),
	NONE(282, "signalfd"),
	NONE(289, "signalfd4"),
	NONE(251, "ioprio_set"),
	NONE(252, "ioprio_get"),
	FIX2(274, "get_robust_list", 1, 8, 2, 8),
	NONE(297, "rt_tgsigqueueinfo"),
	CUST(307, "sendmmsg"),
	CUST(315, "sched_getattr"),
	NONE(314, "sched_setattr"),
	NONE(324, "membarrier"),
	NONE(424, "pidfd_send_signal"),
	NONE(434, "pidfd_open"),
	NONE(437, "openat2"),
	CUST(441, "epoll_pwait2"),
	CUST(288, "accept4"),
	NONE(290, "eventfd2"),
	NONE(291, "epoll_create1"),
	NONE(292, "dup3"),
	FIX(293, "pipe2", 0, 8),
	NONE(294, "inotify_init1"),
	IOVR(295, "preadv", 1, 2),
	NONE(296, "pwritev"),
	FIX(302, "prlimit64", 3, SZ_RLIMIT),
	NONE(306, "syncfs"),
	CUST(309, "getcpu"),
	NONE(316, "renameat2"),
	BUFR(318, "getrandom", 0),
	NONE(319, "memfd_create"),
	CUST(326, "copy_file_range"),
	IOVR(327, "preadv2", 1, 2),
	NONE(328, "pwritev2"),
	FIX(332, "statx", 4, SZ_STATX),
	SPEC(334, "rseq"),
	SPEC(435, "clone3"),
	NONE(436, "close_range"),
	NONE(439, "faccessat2"),
	SPEC(322, "execveat"),
};

#define TABLE_N (sizeof table / sizeof table[0])

strand_ptrace_sysclass strand_ptrace_sys_class(uint64_t nr, const uint64_t args[6])
{
	if (nr >= TABLE_N || !table[nr].name)
		return STRAND_PTRACE_SYS_FALLBACK;
	if (nr == 16) { /* ioctl: only the requests capture_custom() knows */
		switch (args[1]) {
		case 0x5401: case 0x5413: case 0x541B: case 0x540F: case 0x5429:
			break;
		default:
			return STRAND_PTRACE_SYS_FALLBACK;
		}
	}
	return (strand_ptrace_sysclass)table[nr].klass;
}

const char *strand_ptrace_sys_name(uint64_t nr)
{
	if (nr >= TABLE_N)
		return NULL;
	return table[nr].name;
}

/* Read a little 4-byte integer from the tracee; 0 if unreadable. */
static uint32_t peek32(int memfd, uint64_t addr)
{
	uint32_t v = 0;
	if (addr && !strand_ptrace_read_exact(memfd, addr, &v, sizeof v))
		v = 0;
	return v;
}

static uint64_t peek64(int memfd, uint64_t addr)
{
	uint64_t v = 0;
	if (addr && !strand_ptrace_read_exact(memfd, addr, &v, sizeof v))
		v = 0;
	return v;
}

/* iovec array: `total` bytes spread over the buffers in order. */
static bool capture_iov(struct strand_ptrace_fx *fx, int memfd, uint64_t iov,
			uint64_t cnt, uint64_t total)
{
	if (cnt > 1024)
		cnt = 1024;
	for (uint64_t i = 0; i < cnt && total > 0; i++) {
		uint64_t base = peek64(memfd, iov + i * 16);
		uint64_t len = peek64(memfd, iov + i * 16 + 8);
		uint64_t take = len < total ? len : total;
		if (!strand_ptrace_fx_capture(fx, memfd, base, take))
			return false;
		total -= take;
	}
	return true;
}

/* sockaddr out-parameter: *lenp (int) and up to that many bytes at addr. */
static bool capture_sockaddr(struct strand_ptrace_fx *fx, int memfd,
			     uint64_t addr, uint64_t lenp)
{
	if (!addr || !lenp)
		return true;
	uint32_t len = peek32(memfd, lenp);
	if (len > SZ_SOCKADDR)
		len = SZ_SOCKADDR;
	return strand_ptrace_fx_capture(fx, memfd, lenp, 4) &&
	       strand_ptrace_fx_capture(fx, memfd, addr, len);
}

static bool capture_custom(struct strand_ptrace_fx *fx, int memfd, uint64_t nr,
			   const uint64_t a[6], int64_t res)
{
	switch (nr) {
	case 7:   /* poll(fds, nfds, timeout): revents of each pollfd */
	case 271: /* ppoll(fds, nfds, tsp, sigmask, size): + remaining time */
		if (!strand_ptrace_fx_capture(fx, memfd, a[0], (a[1] > 4096 ? 4096 : a[1]) * 8))
			return false;
		return nr == 7 || strand_ptrace_fx_capture(fx, memfd, a[2], SZ_TIMESPEC);
	case 23:  /* select(n, r, w, e, timeval) */
	case 270: /* pselect6(n, r, w, e, timespec, sig) */ {
		uint64_t n = a[0] > 65536 ? 65536 : a[0];
		uint64_t bytes = (n + 63) / 64 * 8;
		for (int i = 1; i <= 3; i++)
			if (!strand_ptrace_fx_capture(fx, memfd, a[i], bytes))
				return false;
		return strand_ptrace_fx_capture(fx, memfd, a[4], 16);
	}
	case 16: /* ioctl */
		switch (a[1]) {
		case 0x5401: /* TCGETS: struct termios (kernel) */
			return strand_ptrace_fx_capture(fx, memfd, a[2], 36);
		case 0x5413: /* TIOCGWINSZ */
			return strand_ptrace_fx_capture(fx, memfd, a[2], 8);
		case 0x541B: /* FIONREAD */
		case 0x540F: /* TIOCGPGRP */
		case 0x5429: /* TIOCGSID */
			return strand_ptrace_fx_capture(fx, memfd, a[2], 4);
		default:
			return true; /* never reached: other ioctls take the fallback */
		}
	case 27: /* mincore(addr, len, vec) */
		return strand_ptrace_fx_capture(fx, memfd, a[2], (a[1] + 4095) / 4096);
	case 40: /* sendfile(out, in, off*, count) */
		return strand_ptrace_fx_capture(fx, memfd, a[2], 8);
	case 326: /* copy_file_range(in, off_in*, out, off_out*, len, flags) */
		return strand_ptrace_fx_capture(fx, memfd, a[1], 8) &&
		       strand_ptrace_fx_capture(fx, memfd, a[3], 8);
	case 275: /* splice(in, off_in*, out, off_out*, len, flags) */
		return strand_ptrace_fx_capture(fx, memfd, a[1], 8) &&
		       strand_ptrace_fx_capture(fx, memfd, a[3], 8);
	case 43:  /* accept(fd, addr, lenp) */
	case 288: /* accept4 */
	case 51:  /* getsockname */
	case 52:  /* getpeername */
		return capture_sockaddr(fx, memfd, a[1], a[2]);
	case 45: /* recvfrom(fd, buf, len, flags, addr, lenp) */
		return (res <= 0 || strand_ptrace_fx_capture(fx, memfd, a[1], (uint64_t)res)) &&
		       capture_sockaddr(fx, memfd, a[4], a[5]);
	case 47: /* recvmsg(fd, msghdr*, flags) */ {
		uint8_t mh[56];
		if (!strand_ptrace_read_exact(memfd, a[1], mh, sizeof mh))
			return true;
		uint64_t name, iov, iovlen, ctl, ctllen;
		uint32_t namelen;
		memcpy(&name, mh, 8);
		memcpy(&namelen, mh + 8, 4);
		memcpy(&iov, mh + 16, 8);
		memcpy(&iovlen, mh + 24, 8);
		memcpy(&ctl, mh + 32, 8);
		memcpy(&ctllen, mh + 40, 8);
		if (!strand_ptrace_fx_capture(fx, memfd, a[1], sizeof mh))
			return false;
		if (name && !strand_ptrace_fx_capture(fx, memfd, name,
						       namelen > SZ_SOCKADDR ? SZ_SOCKADDR : namelen))
			return false;
		if (ctl && !strand_ptrace_fx_capture(fx, memfd, ctl, ctllen > 65536 ? 65536 : ctllen))
			return false;
		return res <= 0 || capture_iov(fx, memfd, iov, iovlen, (uint64_t)res);
	}
	case 55: /* getsockopt(fd, level, name, val, lenp) */ {
		uint32_t len = peek32(memfd, a[4]);
		return strand_ptrace_fx_capture(fx, memfd, a[4], 4) &&
		       strand_ptrace_fx_capture(fx, memfd, a[3], len > 4096 ? 4096 : len);
	}
	case 72: /* fcntl: F_GETLK (5), F_OFD_GETLK (36) write a struct flock */
		if (a[1] == 5 || a[1] == 36)
			return strand_ptrace_fx_capture(fx, memfd, a[2], 32);
		return true;
	case 115: /* getgroups(size, list) */
		return res <= 0 || strand_ptrace_fx_capture(fx, memfd, a[1], (uint64_t)res * 4);
	case 128: /* rt_sigtimedwait(set, info, ts, size) */
		return strand_ptrace_fx_capture(fx, memfd, a[1], SZ_SIGINFO);
	case 157: /* prctl */
		switch (a[0]) {
		case 16: /* PR_GET_NAME */
			return strand_ptrace_fx_capture(fx, memfd, a[1], 16);
		case 1:  /* PR_GET_PDEATHSIG */
		case 25: /* PR_GET_TSC */
		case 37: /* PR_GET_CHILD_SUBREAPER */
			return strand_ptrace_fx_capture(fx, memfd, a[1], 4);
		case 40: /* PR_GET_TID_ADDRESS */
			return strand_ptrace_fx_capture(fx, memfd, a[1], 8);
		default:
			return true;
		}
	case 158: /* arch_prctl: ARCH_GET_FS (0x1003), ARCH_GET_GS (0x1004) */
		if (a[0] == 0x1003 || a[0] == 0x1004)
			return strand_ptrace_fx_capture(fx, memfd, a[1], 8);
		return true;
	case 202: /* futex: only FUTEX_WAKE_OP (5) writes user memory (uaddr2) */
		if ((a[1] & 0x7f) == 5)
			return strand_ptrace_fx_capture(fx, memfd, a[4], 4);
		return true;
	case 232: /* epoll_wait(epfd, events, max, timeout) */
	case 281: /* epoll_pwait */
	case 441: /* epoll_pwait2 */
		return res <= 0 || strand_ptrace_fx_capture(fx, memfd, a[1], (uint64_t)res * 12);
	case 118: /* getresuid(ruid*, euid*, suid*) */
	case 120: /* getresgid(rgid*, egid*, sgid*) */
		return strand_ptrace_fx_capture(fx, memfd, a[0], 4) &&
		       strand_ptrace_fx_capture(fx, memfd, a[1], 4) &&
		       strand_ptrace_fx_capture(fx, memfd, a[2], 4);
	case 125: /* capget(hdr*, data*): the kernel writes the version it
		   * prefers back into the header when it does not know the
		   * caller's (libcap-ng probes it this way), and one (v1) or
		   * two (v2, v3) 12-byte data structs */
		return strand_ptrace_fx_capture(fx, memfd, a[0], SZ_CAP_HEADER) &&
		       strand_ptrace_fx_capture(fx, memfd, a[1], 2 * SZ_CAP_DATA);
	case 307: /* sendmmsg(fd, mmsghdr*, n, flags): msg_len of the first
		   * `result` entries */
		return res <= 0 || strand_ptrace_fx_capture(fx, memfd, a[1],
							     (uint64_t)(res > 1024 ? 1024 : res) *
								     SZ_MMSGHDR);
	case 315: /* sched_getattr(pid, attr*, size, flags): up to size bytes */
		return strand_ptrace_fx_capture(fx, memfd, a[1],
						a[2] > SZ_SCHED_ATTR_MAX ? SZ_SCHED_ATTR_MAX : a[2]);
	case 309: /* getcpu(cpu*, node*, cache) */
		return strand_ptrace_fx_capture(fx, memfd, a[0], 4) &&
		       strand_ptrace_fx_capture(fx, memfd, a[1], 4);
	default:
		return true;
	}
}

bool strand_ptrace_sys_capture(struct strand_ptrace_fx *fx, int memfd,
			       uint64_t nr, const uint64_t args[6], int64_t result)
{
	if (nr >= TABLE_N || !table[nr].name)
		return true;
	const struct sysent *e = &table[nr];
	/* Fixed-size out-parameters are captured whatever the result: some
	 * calls write them on failure too (nanosleep on EINTR), and an
	 * unwritten one still holds its real bytes. */
	switch (e->kind) {
	case W_NONE:
		return true;
	case W_BUF_RESULT:
		if (result <= 0)
			return true;
		return strand_ptrace_fx_capture(fx, memfd, args[e->a], (uint64_t)result);
	case W_FIXED: /* captured even on failure: nanosleep's remaining time */
		return strand_ptrace_fx_capture(fx, memfd, args[e->a], e->size);
	case W_FIXED2:
		return strand_ptrace_fx_capture(fx, memfd, args[e->a], e->size) &&
		       strand_ptrace_fx_capture(fx, memfd, args[e->b], e->size2);
	case W_IOV_RESULT:
		if (result <= 0)
			return true;
		return capture_iov(fx, memfd, args[e->a], args[e->b], (uint64_t)result);
	case W_CUSTOM:
		return capture_custom(fx, memfd, nr, args, result);
	default:
		return true;
	}
}
