/* hello.c: the C runtime's common paths on real Windows code.
 * printf to stdout, fopen/fwrite/fread/fclose on a file the scenario does
 * not declare (created in memory), malloc/free, qsort, and an atexit
 * handler that prints after main returns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void at_exit(void)
{
	printf("atexit handler ran\n");
}

int main(void)
{
	atexit(at_exit);
	printf("hello from the real CRT\n");
	int n = 16;
	int *v = malloc(n * sizeof *v);
	if (!v)
		return 3;
	for (int i = 0; i < n; i++)
		v[i] = (i * 7919) % 61;
	qsort(v, n, sizeof *v, cmp_int);
	printf("sorted:");
	for (int i = 0; i < n; i++)
		printf(" %d", v[i]);
	printf("\n");
	free(v);
	FILE *f = fopen("C:\\temp\\hello.txt", "w");
	if (!f) {
		printf("fopen for writing failed\n");
		return 2;
	}
	fprintf(f, "line one\nline two\n");
	fclose(f);
	f = fopen("C:\\temp\\hello.txt", "r");
	if (!f) {
		printf("fopen for reading failed\n");
		return 2;
	}
	char line[64];
	int lines = 0;
	while (fgets(line, sizeof line, f))
		lines++;
	fclose(f);
	printf("read back %d lines\n", lines);
	return 0;
}
