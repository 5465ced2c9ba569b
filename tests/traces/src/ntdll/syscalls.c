/*
 * ntdll system service stubs and the sysenter gate.
 *
 * Each native service is the Server 2003 SP2 stub:
 *
 *     mov  eax, <service number>
 *     mov  edx, 0x7ffe0300        ; &KUSER_SHARED_DATA.SystemCall
 *     call dword ptr [edx]        ; -> KiFastSystemCall
 *     ret  4 * <argument count>
 *
 * generated from the recorder's table (knowledge/nt_syscalls.h) so the
 * guest and the kernel model agree on every number.  The stubs are naked:
 * the kernel reads the arguments at [edx + 8] (edx = esp at sysenter, above
 * the two return addresses), so no frame may sit in between.
 *
 * This file deliberately does not include ntdll.h: the stubs are defined
 * with untyped ULONG parameter lists of the right count, which yields the
 * same stdcall decoration (_NtCreateFile@44) the typed prototypes produce.
 */

#define NT_ARGS_0 (void)
#define NT_ARGS_1 (unsigned long a1)
#define NT_ARGS_2 (unsigned long a1, unsigned long a2)
#define NT_ARGS_3 (unsigned long a1, unsigned long a2, unsigned long a3)
#define NT_ARGS_4 (unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4)
#define NT_ARGS_5 (unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4, \
		   unsigned long a5)
#define NT_ARGS_6 (unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4, \
		   unsigned long a5, unsigned long a6)
#define NT_ARGS_7 (unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4, \
		   unsigned long a5, unsigned long a6, unsigned long a7)
#define NT_ARGS_8 (unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4, \
		   unsigned long a5, unsigned long a6, unsigned long a7, unsigned long a8)
#define NT_ARGS_9 (unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4, \
		   unsigned long a5, unsigned long a6, unsigned long a7, unsigned long a8, \
		   unsigned long a9)
#define NT_ARGS_10 (unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4, \
		    unsigned long a5, unsigned long a6, unsigned long a7, unsigned long a8, \
		    unsigned long a9, unsigned long a10)
#define NT_ARGS_11 (unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4, \
		    unsigned long a5, unsigned long a6, unsigned long a7, unsigned long a8, \
		    unsigned long a9, unsigned long a10, unsigned long a11)
#define NT_ARGS_12 (unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4, \
		    unsigned long a5, unsigned long a6, unsigned long a7, unsigned long a8, \
		    unsigned long a9, unsigned long a10, unsigned long a11, unsigned long a12)
#define NT_ARGS_13 (unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4, \
		    unsigned long a5, unsigned long a6, unsigned long a7, unsigned long a8, \
		    unsigned long a9, unsigned long a10, unsigned long a11, unsigned long a12, \
		    unsigned long a13)
#define NT_ARGS_14 (unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4, \
		    unsigned long a5, unsigned long a6, unsigned long a7, unsigned long a8, \
		    unsigned long a9, unsigned long a10, unsigned long a11, unsigned long a12, \
		    unsigned long a13, unsigned long a14)

#define NT_SYSCALL(Name, Number, ArgCount)                                        \
	__attribute__((naked, stdcall)) long Name NT_ARGS_##ArgCount               \
	{                                                                          \
		__asm__ __volatile__("movl $" #Number ", %eax\n\t"                 \
				     "movl $0x7ffe0300, %edx\n\t"                  \
				     "call *(%edx)\n\t"                            \
				     "ret $(" #ArgCount " * 4)\n");                \
	}
#include "nt_syscalls.h"
#undef NT_SYSCALL

/* The gate: edx = esp (return address into the stub, then the stub's own
 * return address, then the arguments); the kernel model returns to
 * KiFastSystemCallRet, which must directly follow. */
__attribute__((naked, stdcall)) void KiFastSystemCall(void)
{
	__asm__ __volatile__("movl %esp, %edx\n\t"
			     "sysenter\n\t"
			     ".globl _KiFastSystemCallRet@0\n\t"
			     ".def _KiFastSystemCallRet@0; .scl 2; .type 32; .endef\n"
			     "_KiFastSystemCallRet@0:\n\t"
			     "ret\n");
}
