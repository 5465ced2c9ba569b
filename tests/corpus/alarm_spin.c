/* Corpus program: alarm() then a loop without system calls; the SIGALRM
 * handler ends the loop.  With an argument, the alarm is a 20 ms
 * interval timer instead of alarm(1) (the same signal, for a short run). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t fired;

static void on_alarm(int sig)
{
	(void)sig;
	fired = 1;
}

int main(int argc, char **argv)
{
	(void)argv;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	if (argc > 1) {
		struct itimerval it = { { 0, 0 }, { 0, 20000 } };
		setitimer(ITIMER_REAL, &it, NULL);
	} else {
		alarm(1);
	}
	unsigned long spins = 0;
	while (!fired)
		spins++;
	printf("alarm fired after spinning\n");
	return spins > 0 ? 0 : 1;
}
