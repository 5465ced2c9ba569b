/* Corpus program: unbounded recursion; dies of SIGSEGV when the stack
 * reaches its limit. */
#include <stdio.h>

static int depth(volatile char *prev, int n)
{
	volatile char frame[256];
	frame[0] = (char)n;
	frame[255] = prev ? prev[0] : 0;
	return depth(frame, n + 1) + frame[1];
}

int main(void)
{
	printf("recursing\n");
	fflush(stdout);
	return depth(NULL, 0);
}
