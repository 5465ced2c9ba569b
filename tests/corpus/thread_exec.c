/* Corpus program: execs while a second thread is alive (the recorder
 * refuses an exec from a multi-threaded process). */
#include <pthread.h>
#include <unistd.h>

static void *idle(void *a)
{
	for (;;)
		pause();
	return a;
}

int main(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, idle, NULL) != 0)
		return 2;
	char *argv[] = { "/bin/echo", "after exec", NULL };
	execv(argv[0], argv);
	return 3;
}
