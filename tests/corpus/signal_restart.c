/* Signals that interrupt blocking system calls: a handler without
 * SA_RESTART makes read and nanosleep fail with EINTR, one with SA_RESTART
 * makes the kernel restart the read; SIGCHLD (no handler) interrupts the
 * wait and the kernel restarts it.  The writer is a child process that
 * writes after the timer fired, so the output does not depend on timing. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t fired;

static void on_alarm(int sig)
{
	(void)sig;
	fired++;
}

static void arm(int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 150000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

/* A pipe whose child writes one byte after `us` microseconds. */
static pid_t late_writer(int fds[2], useconds_t us)
{
	if (pipe(fds) != 0)
		return -1;
	pid_t p = fork();
	if (p == 0) {
		close(fds[0]);
		usleep(us);
		(void)!write(fds[1], "x", 1);
		_exit(0);
	}
	close(fds[1]);
	return p;
}

int main(void)
{
	int fds[2];
	char c = 0;
	pid_t w = late_writer(fds, 600000);
	arm(0);
	ssize_t n = read(fds[0], &c, 1);
	printf("read without SA_RESTART: %zd (%s), handler ran %d\n", n, n < 0 ? strerror(errno) : "data",
	       (int)fired);
	n = read(fds[0], &c, 1);
	printf("read again: %zd '%c'\n", n, c);
	waitpid(w, NULL, 0);
	close(fds[0]);

	w = late_writer(fds, 600000);
	arm(1);
	n = read(fds[0], &c, 1);
	printf("read with SA_RESTART: %zd '%c', handler ran %d\n", n, c, (int)fired);
	waitpid(w, NULL, 0);
	close(fds[0]);

	arm(0);
	struct timespec ts = { 2, 0 }, rem = { 0, 0 };
	int r = nanosleep(&ts, &rem);
	printf("nanosleep: %d (%s), handler ran %d, some time left: %s\n", r, r ? strerror(errno) : "slept",
	       (int)fired, rem.tv_sec || rem.tv_nsec ? "yes" : "no");

	pid_t k = fork();
	if (k == 0) {
		usleep(100000);
		_exit(7);
	}
	int st = 0;
	waitpid(k, &st, 0);
	printf("child exit status %d\n", WEXITSTATUS(st));
	return 0;
}
