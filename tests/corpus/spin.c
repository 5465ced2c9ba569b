/* Corpus program: runs until interrupted, printing a tick now and then. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	for (int i = 0;; i++) {
		usleep(1000);
		if (i % 50 == 0) {
			printf("tick %d\n", i);
			fflush(stdout);
		}
	}
}
