/* Corpus program: children that execute rdtsc and cpuid themselves (the
 * recorder patches those instructions in the recorded process and turns
 * on TSC trapping; a child must see neither), one forked, one vforked
 * that execs, then the parent does the same. */
#include <cpuid.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

static int probe(void)
{
	unsigned a, b, c, d;
	unsigned long long t0 = __rdtsc(), t1;
	__cpuid(0, a, b, c, d);
	t1 = __rdtsc();
	return t1 >= t0 && a > 0;
}

int main(void)
{
	fflush(stdout);
	pid_t p = fork();
	if (p == 0)
		_exit(probe() ? 7 : 1);
	int st = 0;
	waitpid(p, &st, 0);
	printf("forked child: %s %d\n", WIFEXITED(st) ? "exit" : "signal",
	       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	fflush(stdout);
	p = vfork();
	if (p == 0) {
		execl("/bin/echo", "echo", "vforked child ran echo", (char *)NULL);
		_exit(127);
	}
	waitpid(p, &st, 0);
	printf("vforked child: %d, parent probe: %d\n", WEXITSTATUS(st), probe());
	return 0;
}
