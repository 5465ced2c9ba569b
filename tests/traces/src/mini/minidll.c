/* A DLL at 0x10000000: counts DLL_THREAD_ATTACH, exports by name and by
 * ordinal only. */
static volatile long thread_attaches;
static volatile long process_attaches;

int __attribute__((stdcall)) MiniDllMain(void *base, unsigned long reason, void *reserved)
{
	if (reason == 1)
		process_attaches++;
	if (reason == 2)
		thread_attaches++;
	return 1;
}

long __attribute__((stdcall)) MiniThreadAttaches(void) { return thread_attaches + 100 * process_attaches; }
long __attribute__((stdcall)) MiniByOrdinal(long x) { return x * 3; }
