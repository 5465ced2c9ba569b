/* Corpus program: a syscall the recorder's table does not know
 * (get_mempolicy writes *mode), captured by the snapshot-diff fallback. */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	int mode = -1;
	unsigned long mask[4] = { 0 };
	long r = syscall(SYS_get_mempolicy, &mode, mask, 64 * 4, 0, 0);
	printf("r=%ld mode=%d\n", r, mode);
	return 0;
}
