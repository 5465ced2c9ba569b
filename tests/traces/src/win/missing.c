/* missing.c: a program that fails because a file it needs is absent.
 * The report must name the open (NtCreateFile or NtOpenFile), the status
 * STATUS_OBJECT_NAME_NOT_FOUND, the path, and a stack from the CRT's
 * fopen into main. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int load_config(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "missing: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

int main(void)
{
	if (load_config("C:\\ProgramData\\strand\\settings.ini") != 0)
		return 1;
	printf("configuration loaded\n");
	return 0;
}
