/* Corpus program: a pthread producer and consumer around a bounded
 * buffer guarded by a mutex and two condition variables. */
#include <pthread.h>
#include <stdio.h>

#define N 8
#define ITEMS 2000

static int buf[N], head, count;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&mu);
		while (count == N)
			pthread_cond_wait(&not_full, &mu);
		buf[(head + count++) % N] = i;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	long sum = 0;
	if (pthread_create(&t, NULL, producer, NULL) != 0)
		return 2;
	for (int i = 0; i < ITEMS; i++) {
		pthread_mutex_lock(&mu);
		while (count == 0)
			pthread_cond_wait(&not_empty, &mu);
		sum += buf[head];
		head = (head + 1) % N;
		count--;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&mu);
	}
	pthread_join(t, NULL);
	printf("consumed %d items, sum %ld\n", ITEMS, sum);
	return 0;
}
