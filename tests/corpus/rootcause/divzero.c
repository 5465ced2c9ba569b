/* Average of the numbers in a file: an empty file makes the count 0 and
 * the integer division traps (SIGFPE); the divisor comes from input. */
#include <stdio.h>

__attribute__((noinline)) static long average(long sum, long count)
{
	return sum / count;
}

int main(int argc, char **argv)
{
	FILE *f = fopen(argc > 1 ? argv[1] : "numbers.txt", "r");
	if (!f) {
		perror("numbers");
		return 2;
	}
	long v, sum = 0, count = 0;
	while (fscanf(f, "%ld", &v) == 1) {
		sum += v;
		count++;
	}
	fclose(f);
	printf("%ld\n", average(sum, count));
	return 0;
}
