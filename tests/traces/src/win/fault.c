/* fault.c: exceptions delivered by the kernel and dispatched by ntdll in
 * user mode (KiUserExceptionDispatcher): a vectored handler recovers from
 * an access violation (a read of address 0) and from a software exception
 * (RaiseException); the program then exits normally. */
#include <stdio.h>
#include <windows.h>

static volatile LONG seen_av, seen_sw;

static LONG CALLBACK handler(EXCEPTION_POINTERS *ep)
{
	DWORD code = ep->ExceptionRecord->ExceptionCode;
	if (code == EXCEPTION_ACCESS_VIOLATION) {
		seen_av++;
		ep->ContextRecord->Eip += 5; /* skip `mov eax, [0]` (a1 00 00 00 00) */
		return EXCEPTION_CONTINUE_EXECUTION;
	}
	if (code == 0xE0000001) {
		seen_sw++;
		return EXCEPTION_CONTINUE_EXECUTION;
	}
	return EXCEPTION_CONTINUE_SEARCH;
}

int main(void)
{
	AddVectoredExceptionHandler(1, handler);
	int v;
	__asm__ volatile("movl 0, %%eax" : "=a"(v));
	RaiseException(0xE0000001, 0, 0, NULL);
	printf("access violations %ld, software exceptions %ld\n", seen_av, seen_sw);
	return seen_av == 1 && seen_sw == 1 ? 0 : 1;
}
