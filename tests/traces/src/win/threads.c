/* threads.c: CreateThread plus a pthread mutex/condition variable pair
 * (winpthreads over Wine's critical sections, keyed events and
 * NtWaitForAlertByThreadId).  Workers hand results to main through a
 * queue guarded by the mutex. */
#include <pthread.h>
#include <stdio.h>
#include <windows.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static int done, total;

static DWORD WINAPI worker(LPVOID arg)
{
	int id = (int)(INT_PTR)arg, sum = 0;
	for (int i = 1; i <= 1000; i++)
		sum += i * id;
	pthread_mutex_lock(&lock);
	total += sum;
	done++;
	pthread_cond_signal(&ready);
	pthread_mutex_unlock(&lock);
	return 0;
}

int main(void)
{
	HANDLE h[3];
	for (int i = 0; i < 3; i++) {
		h[i] = CreateThread(NULL, 0, worker, (LPVOID)(INT_PTR)(i + 1), 0, NULL);
		if (!h[i]) {
			printf("CreateThread failed: %lu\n", GetLastError());
			return 1;
		}
	}
	pthread_mutex_lock(&lock);
	while (done < 3)
		pthread_cond_wait(&ready, &lock);
	pthread_mutex_unlock(&lock);
	WaitForMultipleObjects(3, h, TRUE, INFINITE);
	for (int i = 0; i < 3; i++)
		CloseHandle(h[i]);
	printf("threads done, total %d\n", total);
	return 0;
}
