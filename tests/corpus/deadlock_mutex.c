/* Corpus program: two threads take two mutexes in opposite orders and
 * deadlock; main waits in pthread_join.  Recorded until interrupted: every
 * thread ends blocked in a futex wait. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void *take_a_then_b(void *arg)
{
	pthread_mutex_lock(&a);
	usleep(100000);
	pthread_mutex_lock(&b);
	return arg;
}

static void *take_b_then_a(void *arg)
{
	pthread_mutex_lock(&b);
	usleep(100000);
	pthread_mutex_lock(&a);
	return arg;
}

int main(void)
{
	pthread_t x, y;
	pthread_create(&x, NULL, take_a_then_b, NULL);
	pthread_create(&y, NULL, take_b_then_a, NULL);
	pthread_join(x, NULL);
	pthread_join(y, NULL);
	puts("done");
	return 0;
}
