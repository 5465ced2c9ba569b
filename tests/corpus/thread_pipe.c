/* Corpus program: a thread blocks in read() on a pipe until the main
 * thread writes to it (a syscall outside the list of blocking ones that
 * still waits for another thread), many times over.  What is read does
 * not depend on how the writes are split into reads. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int fds[2];
static char got[4096];
static size_t ngot;

static void *reader(void *arg)
{
	(void)arg;
	for (;;) {
		ssize_t n = read(fds[0], got + ngot, sizeof got - 1 - ngot);
		if (n <= 0)
			return NULL;
		ngot += (size_t)n;
	}
}

int main(void)
{
	pthread_t t;
	if (pipe(fds) != 0 || pthread_create(&t, NULL, reader, NULL) != 0)
		return 2;
	for (int i = 0; i < 64; i++) {
		char msg[16];
		int len = snprintf(msg, sizeof msg, "msg%d;", i);
		usleep(2000);
		if (write(fds[1], msg, (size_t)len) != len)
			return 3;
	}
	close(fds[1]);
	pthread_join(t, NULL);
	unsigned sum = 0;
	for (size_t i = 0; i < ngot; i++)
		sum = sum * 31 + (unsigned char)got[i];
	printf("read %zu bytes, hash %u\n", ngot, sum);
	return 0;
}
