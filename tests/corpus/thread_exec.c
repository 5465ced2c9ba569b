/* Corpus program: execs from a multi-threaded process.
 *   thread_exec leader   the main thread execs while a second thread
 *                        waits in pause()
 *   thread_exec thread   a second thread execs while the main thread
 *                        waits in pthread_join (the kernel gives the
 *                        exec'ing thread the leader's tid)
 * The kernel ends every other thread; the new image is /bin/echo. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile unsigned long work;

static void *idle(void *a)
{
	for (;;)
		pause();
	return a;
}

static void do_exec(const char *who)
{
	char *argv[] = { "/bin/echo", "after exec from the", (char *)who, "thread", NULL };
	execv(argv[0], argv);
	perror("execv");
}

static void *execer(void *a)
{
	for (unsigned long i = 0; i < 100000; i++)
		work += i;
	printf("thread: work=%lu\n", work);
	fflush(stdout);
	do_exec("second");
	return a;
}

int main(int argc, char **argv)
{
	pthread_t t;
	if (argc != 2 || (strcmp(argv[1], "leader") && strcmp(argv[1], "thread"))) {
		fprintf(stderr, "usage: thread_exec leader|thread\n");
		return 2;
	}
	printf("main: start\n");
	fflush(stdout);
	if (!strcmp(argv[1], "leader")) {
		if (pthread_create(&t, NULL, idle, NULL) != 0)
			return 2;
		usleep(1000); /* the idle thread reaches pause() */
		do_exec("main");
		return 3;
	}
	if (pthread_create(&t, NULL, execer, NULL) != 0)
		return 2;
	pthread_join(t, NULL); /* never returns: the exec ends this thread */
	return 3;
}
