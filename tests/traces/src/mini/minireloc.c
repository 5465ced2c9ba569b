/* A DLL with the same preferred base as minidll.dll: the loader must
 * relocate it.  The table holds absolute addresses (base relocations). */
static int a = 1, b = 2;
static int *volatile table[2] = { &a, &b };

int __attribute__((stdcall)) MiniRelocMain(void *base, unsigned long reason, void *reserved) { return 1; }

/* 1 if the table's pointers point at the variables as mapped. */
int __attribute__((stdcall)) MiniRelocCheck(void)
{
	return table[0] == &a && table[1] == &b && *table[0] == 1 && *table[1] == 2;
}
