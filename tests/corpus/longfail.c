/* Corpus program: a long computation (a call of mix() every 16
 * iterations, about one call per 80 instructions), then an open() that
 * fails near the end, reported on stderr with strerror and an exit status
 * of 1.  Usage: longfail [ITERATIONS [PATH]] (about 5 instructions an
 * iteration). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) static unsigned long mix(unsigned long a, unsigned long i)
{
	__asm__ volatile("");
	return a * 31 + i;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	const char *path = argc > 2 ? argv[2] : "/nonexistent/longfail.conf";
	unsigned long acc = 0;
	for (unsigned long i = 0; i < n; i++) {
		if (i % 16 == 0)
			acc = mix(acc, i);
		else
			acc = acc * 33 + (i ^ acc);
	}
	volatile unsigned long sink = acc;
	(void)sink;
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "longfail: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}
