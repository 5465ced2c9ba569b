/* A small program for the gdbserver tests: main -> outer -> inner, each
 * with a frame pointer, and a global that inner writes. */
#include <unistd.h>

volatile int counter;

__attribute__((noinline)) static int inner(int x)
{
	counter = counter + x;
	return (int)write(1, "inner\n", 6) + counter;
}

__attribute__((noinline)) static int outer(int x)
{
	int r = inner(x * 2);
	return r + inner(x + 1);
}

int main(void)
{
	return outer(3) > 0 ? 0 : 1;
}
