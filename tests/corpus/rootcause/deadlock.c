/* Two threads take two mutexes in opposite orders: each holds one and
 * waits (futex) for the other forever.  The recording is interrupted. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;

__attribute__((noinline)) static void *transfer(void *arg)
{
	pthread_mutex_t *first = arg ? &b : &a, *second = arg ? &a : &b;
	pthread_mutex_lock(first);
	pthread_barrier_wait(&both); /* both hold their first lock */
	pthread_mutex_lock(second);
	pthread_mutex_unlock(second);
	pthread_mutex_unlock(first);
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_barrier_init(&both, NULL, 2);
	pthread_create(&t, NULL, transfer, (void *)1);
	transfer(NULL);
	pthread_join(t, NULL);
	puts("done");
	return 0;
}
