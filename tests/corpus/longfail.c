/* Corpus program: a long computation, then an open() that fails near the
 * end, reported on stderr with strerror and an exit status of 1.
 * Usage: longfail [ITERATIONS [PATH]] (about 6 instructions an iteration). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	const char *path = argc > 2 ? argv[2] : "/nonexistent/longfail.conf";
	volatile unsigned long acc = 0;
	for (unsigned long i = 0; i < n; i++)
		acc = acc * 31 + i;
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "longfail: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	return (int)(acc & 0);
}
