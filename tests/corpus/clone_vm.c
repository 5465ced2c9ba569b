/* Corpus program: a child process that shares its parent's memory
 * (clone(CLONE_VM) without CLONE_VFORK or CLONE_THREAD, with a stack of
 * its own).  The child writes a global the parent then prints; it
 * waits first, so its writes come after the parent's clone returned
 * (the recorder refuses such a child: they could not be in the trace). */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long shared;

static int child(void *arg)
{
	usleep(20000);
	for (long i = 0; i < 1000; i++)
		shared += i;
	return (int)(long)arg;
}

int main(void)
{
	size_t size = 256 * 1024;
	char *stack = malloc(size);
	if (!stack)
		return 2;
	pid_t pid = clone(child, stack + size, CLONE_VM | SIGCHLD, (void *)7L);
	if (pid < 0) {
		perror("clone");
		return 2;
	}
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return 2;
	printf("child exit %d, shared %ld\n", WEXITSTATUS(status), shared);
	return 0;
}
