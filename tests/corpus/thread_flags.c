/* Corpus program: two threads computing with instructions that leave
 * arithmetic flags undefined (imul: SF ZF AF PF; bsf: all but ZF; a shift
 * by cl: OF), long enough to be preempted in user code.  The CPU and the
 * emulator set undefined flags differently, so finalize must find the
 * preempted state without comparing them. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static void *work(void *arg)
{
	uint64_t x = (uintptr_t)arg | 1, acc = 0;
	for (long i = 0; i < 40000000; i++) {
		uint64_t y;
		__asm__ volatile("imul %2, %0\n\t"
				 "bsf %0, %1\n\t"
				 "mov %0, %%rcx\n\t"
				 "shl %%cl, %1"
				 : "+r"(x), "=&r"(y)
				 : "r"(x | 3)
				 : "rcx", "cc");
		acc += y;
		x += (uint64_t)i;
	}
	return (void *)(uintptr_t)acc;
}

int main(void)
{
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, work, (void *)(uintptr_t)(i + 5)) != 0)
			return 2;
	uint64_t sum = 0;
	for (int i = 0; i < 2; i++) {
		void *r;
		pthread_join(t[i], &r);
		sum += (uintptr_t)r;
	}
	printf("%llu\n", (unsigned long long)sum);
	return 0;
}
