/* Corpus program: compiled and linked by gcc under the recorder. */
#include <stdio.h>

int main(void)
{
	puts("hello, world");
	return 0;
}
