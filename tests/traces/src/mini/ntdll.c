/*
 * Minimal ntdll for the recorder's test guest: the Server 2003 SP2 stubs
 * (mov eax, N; mov edx, 0x7ffe0300; call [edx]; ret 4*args) for every
 * service of knowledge/nt_syscalls.h, one stub with a number that is
 * not in the table (NtUnknownService, 0x0FF), and the sysenter gate.
 */
#define STUB(name, num, bytes)                                                    \
	__asm__(".globl _" #name "@" #bytes "\n"                                 \
		"_" #name "@" #bytes ":\n\t"                                      \
		"movl $" #num ", %eax\n\t"                                        \
		"movl $0x7ffe0300, %edx\n\t"                                      \
		"call *(%edx)\n\t"                                                \
		"ret $" #bytes "\n");
/* argument bytes as literals, so they can be pasted into symbol names */
#define B0 0
#define B1 4
#define B2 8
#define B3 12
#define B4 16
#define B5 20
#define B6 24
#define B7 28
#define B8 32
#define B9 36
#define B10 40
#define B11 44
#define B12 48
#define B13 52
#define B14 56
#define STUB_X(name, num, bytes) STUB(name, num, bytes)
#define NT_SYSCALL(name, num, argc) STUB_X(name, num, B##argc)
#include "nt_syscalls.h"
#undef NT_SYSCALL
STUB(NtUnknownService, 0x0FF, 0)

__asm__(".globl _KiFastSystemCall@0\n"
	"_KiFastSystemCall@0:\n\t"
	"movl %esp, %edx\n\t"
	"sysenter\n"
	".globl _KiFastSystemCallRet@0\n"
	"_KiFastSystemCallRet@0:\n\t"
	"ret\n");

int __attribute__((stdcall)) NtdllMain(void *base, unsigned long reason, void *reserved)
{
	return 1;
}
