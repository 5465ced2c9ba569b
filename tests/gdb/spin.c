/* A long computation without system calls, for the interrupt test. */
volatile unsigned long n;

int main(void)
{
	for (unsigned long i = 0; i < 3000000ul; i++)
		n += i;
	return 0;
}
