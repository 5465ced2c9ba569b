/* Waits for a signal that never comes: blocks in pause() forever (a hang;
 * the test interrupts the recording). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	fprintf(stderr, "waiting for SIGUSR1\n");
	pause();
	return 0;
}
