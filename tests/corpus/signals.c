/* Corpus program: a caught signal raised by the program (kill syscall),
 * timer signals arriving in the middle of a compute loop (held back by the
 * recorder until the next syscall), and rdtsc.  Exit status 3. */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>
#include <x86intrin.h>

static volatile int hits;

static void on_signal(int sig)
{
	(void)sig;
	hits++;
}

int main(void)
{
	signal(SIGUSR1, on_signal);
	raise(SIGUSR1);
	signal(SIGALRM, on_signal);
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	setitimer(ITIMER_REAL, &it, 0);
	volatile unsigned long x = 0;
	for (int k = 0; k < 10; k++) {
		for (unsigned long i = 0; i < 200000; i++)
			x += i;
		getppid();
	}
	unsigned long t = __rdtsc();
	printf("hits>0=%d x=%lu tsc>0=%d\n", hits > 0, x, t != 0);
	return 3;
}
