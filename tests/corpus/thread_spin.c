/* Corpus program: two threads that wait for each other without system
 * calls (spin loops on shared flags), so that the recorder must preempt
 * a thread in user code to let the other one run.  With an argument the
 * rounds never end (until the program is killed). */
#include <pthread.h>
#include <stdio.h>

static volatile int turn;       /* whose move: 0 main, 1 worker */
static volatile unsigned long total;
static int rounds = 3;

static void *worker(void *arg)
{
	(void)arg;
	for (int round = 0; round < rounds || rounds < 0; round++) {
		while (turn != 1)
			; /* spin */
		unsigned long x = 0;
		for (unsigned long i = 0; i < 3000000; i++)
			x += i ^ (x >> 3);
		total += x & 0xffff;
		turn = 0;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	(void)argv;
	pthread_t t;
	if (argc > 1)
		rounds = -1;
	if (pthread_create(&t, NULL, worker, NULL) != 0)
		return 2;
	for (int round = 0; round < rounds || rounds < 0; round++) {
		turn = 1;
		while (turn != 0)
			; /* spin */
	}
	pthread_join(t, NULL);
	printf("rounds done, total %lu\n", total);
	return 0;
}
