/* A failed assertion: the program checks a value read from its input and
 * aborts (SIGABRT): no kernel call failed. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : -1;
	assert(n >= 0 && "count must not be negative");
	printf("%d\n", n);
	return 0;
}
