/* Corpus program: dies of SIGSEGV (a null read) after printing a line. */
#include <stdio.h>

int main(int argc, char **argv)
{
	(void)argv;
	printf("before\n");
	fflush(stdout);
	volatile int *p = (int *)(long)(argc - 1);
	return *p;
}
