/* Reports a missing configuration file, then waits for a signal that never
 * comes: a recording killed while it waits holds the failure but not the
 * process's end (an incomplete trace). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "missing.conf";
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "failwait: %s: %s\n", path, strerror(errno));
		pause();
		return 1;
	}
	fclose(f);
	return 0;
}
