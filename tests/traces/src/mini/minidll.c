/* A DLL at 0x10000000: counts DLL_THREAD_ATTACH, exports by name and by
 * ordinal only. */
static volatile long thread_attaches;
static volatile long process_attaches;

/* Does the process command line end in "dllfail"? (read through the PEB) */
static int asked_to_fail(void)
{
	char *peb;
	__asm__("movl %%fs:0x30, %0" : "=r"(peb));
	char *params = *(char **)(peb + 0x10);
	unsigned short len = *(unsigned short *)(params + 0x40);
	unsigned short *cl = *(unsigned short **)(params + 0x44);
	static const char word[] = "dllfail";
	unsigned n = len / 2;
	if (n < 7)
		return 0;
	for (unsigned i = 0; i < 7; i++)
		if (cl[n - 7 + i] != (unsigned short)word[i])
			return 0;
	return 1;
}

int __attribute__((stdcall)) MiniDllMain(void *base, unsigned long reason, void *reserved)
{
	if (reason == 1 && asked_to_fail())
		return 0; /* the loader ends the process: STATUS_DLL_INIT_FAILED */
	if (reason == 1)
		process_attaches++;
	if (reason == 2)
		thread_attaches++;
	return 1;
}

long __attribute__((stdcall)) MiniThreadAttaches(void) { return thread_attaches + 100 * process_attaches; }
long __attribute__((stdcall)) MiniByOrdinal(long x) { return x * 3; }
