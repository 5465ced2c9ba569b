/* Corpus program: creates a thread and joins it. */
#include <pthread.h>
#include <stdio.h>

static void *run(void *a)
{
	return a;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, 0, run, 0);
	pthread_join(t, 0);
	puts("joined");
	return 0;
}
