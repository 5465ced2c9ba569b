#define _GNU_SOURCE /* __WALL */
/*
 * The threads of the recorded process: the task table keyed by tid, the
 * round-robin choice of the next thread to get the turn, which syscalls
 * hand the turn over at their entry, and a wait with a deadline (the
 * time slice).  Policy only: what a switch writes into the trace lives in
 * ptrace_rec.c.  docs/linux-recorder.md, "Threads", has the design.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "record/ptrace/ptrace_rec.h"

struct strand_ptrace_task *strand_ptrace_task_add(struct strand_ptrace_tasks *t, pid_t tid)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct strand_ptrace_task *v = realloc(t->v, cap * sizeof *v);
		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	struct strand_ptrace_task *k = &t->v[t->n++];
	memset(k, 0, sizeof *k);
	k->tid = tid;
	k->state = STRAND_PTRACE_TASK_READY;
	return k;
}

struct strand_ptrace_task *strand_ptrace_task_find(struct strand_ptrace_tasks *t, pid_t tid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].tid == tid)
			return &t->v[i];
	return NULL;
}

void strand_ptrace_task_del(struct strand_ptrace_tasks *t, pid_t tid)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].tid != tid)
			continue;
		/* keep the order: round robin stays fair */
		memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof *t->v);
		t->n--;
		if (t->rr > i)
			t->rr--;
		return;
	}
}

struct strand_ptrace_task *strand_ptrace_task_next(struct strand_ptrace_tasks *t, pid_t cur)
{
	if (!t->n)
		return NULL;
	for (size_t k = 1; k <= t->n; k++) {
		size_t i = (t->rr + k) % t->n;
		if (t->v[i].tid != cur && t->v[i].state == STRAND_PTRACE_TASK_READY) {
			t->rr = i;
			return &t->v[i];
		}
	}
	return NULL;
}

void strand_ptrace_tasks_free(struct strand_ptrace_tasks *t)
{
	free(t->v);
	memset(t, 0, sizeof *t);
}

/* futex commands that sleep (FUTEX_CMD_MASK clears PRIVATE and
 * CLOCK_REALTIME) */
static bool futex_waits(uint64_t op)
{
	switch (op & 0x7f) {
	case 0:  /* FUTEX_WAIT */
	case 6:  /* FUTEX_LOCK_PI */
	case 9:  /* FUTEX_WAIT_BITSET */
	case 11: /* FUTEX_WAIT_REQUEUE_PI */
	case 13: /* FUTEX_LOCK_PI2 */
		return true;
	default:
		return false;
	}
}

bool strand_ptrace_sys_may_block(uint64_t nr, const uint64_t args[6])
{
	switch (nr) {
	case 202: /* futex */
		return futex_waits(args[1]);
	case 449: /* futex_waitv */
	case 7:   /* poll */
	case 271: /* ppoll */
	case 23:  /* select */
	case 270: /* pselect6 */
	case 232: /* epoll_wait */
	case 281: /* epoll_pwait */
	case 441: /* epoll_pwait2 */
	case 35:  /* nanosleep */
	case 230: /* clock_nanosleep */
	case 34:  /* pause */
	case 130: /* rt_sigsuspend */
	case 128: /* rt_sigtimedwait */
	case 61:  /* wait4 */
	case 247: /* waitid */
	case 24:  /* sched_yield: gives the CPU to another thread */
	case 43:  /* accept */
	case 288: /* accept4 */
		return true;
	default:
		return false;
	}
}

bool strand_ptrace_sys_inflight_pure(uint64_t nr, const uint64_t args[6])
{
	switch (nr) {
	case 202: /* futex: only FUTEX_WAKE_OP writes, and it does not block */
		return (args[1] & 0x7f) != 5;
	case 24:  /* sched_yield */
	case 35:  /* nanosleep: the remaining time only when a handler interrupts it */
	case 230: /* clock_nanosleep: likewise */
	case 34:  /* pause */
		return true;
	default:
		return false;
	}
}

/* iovec-taking syscalls: index of the iovec array and of its count */
static bool iov_args(uint64_t nr, int *arr, int *cnt)
{
	switch (nr) {
	case 19:  /* readv(fd, iov, n) */
	case 295: /* preadv */
	case 327: /* preadv2 */
		*arr = 1;
		*cnt = 2;
		return true;
	default:
		return false;
	}
}

size_t strand_ptrace_inflight_addrs(const struct strand_ptrace_tasks *t, int memfd,
				    uint64_t *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct strand_ptrace_task *k = &t->v[i];
		if (!k->inflight || strand_ptrace_sys_inflight_pure(k->inflight_nr, k->inflight_args))
			continue;
		for (int a = 0; a < 6 && n < max; a++)
			if (k->inflight_args[a] >= 4096)
				out[n++] = k->inflight_args[a];
		int arr, cnt;
		if (iov_args(k->inflight_nr, &arr, &cnt)) {
			uint64_t cnt_v = k->inflight_args[cnt];
			for (uint64_t j = 0; j < cnt_v && j < 16 && n < max; j++) {
				uint64_t iov[2];
				if (strand_ptrace_read_exact(memfd, k->inflight_args[arr] + 16 * j, iov, 16))
					out[n++] = iov[0];
			}
		}
		if (k->inflight_nr == 47 /* recvmsg(fd, msg, flags) */ && n + 1 < max) {
			/* struct msghdr: msg_iov at 16, msg_iovlen at 24 */
			uint64_t mh[4];
			if (strand_ptrace_read_exact(memfd, k->inflight_args[1], mh, 32)) {
				for (uint64_t j = 0; j < mh[3] && j < 16 && n < max; j++) {
					uint64_t iov[2];
					if (strand_ptrace_read_exact(memfd, mh[2] + 16 * j, iov, 16))
						out[n++] = iov[0];
				}
			}
		}
	}
	return n;
}

double strand_ptrace_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

pid_t strand_ptrace_wait_until(int *status, double deadline)
{
	if (deadline <= 0)
		return waitpid(-1, status, __WALL);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t p = waitpid(-1, status, __WALL | WNOHANG);
		if (p != 0)
			return p;
		double left = deadline - strand_ptrace_now();
		if (left <= 0)
			return 0;
		/* every ptrace stop sends SIGCHLD to the tracer; a missed one
		 * costs at most the rest of the slice */
		struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
		if (sigtimedwait(&chld, NULL, &ts) < 0 && errno == EINTR)
			return -1;
	}
}
