/*
 * kernel32.dll re-created for the strand fixtures: the Win32 layer over
 * ntdll's native services.  Failures of native calls become Win32 errors
 * the way Windows does it: BaseSetLastNTError translates the NTSTATUS with
 * RtlNtStatusToDosError and stores it in TEB.LastErrorValue (fs:[0x34]).
 */
#define STRAND_BUILDING_KERNEL32
#include "kernel32.h"
#include "ntdll.h"

#define BASE_DEFAULT_STACK 0x10000UL /* bytes committed for a new thread's stack */
#define BASE_PROCESS_HEAP_SEGMENT 0x10000UL

/* ===================== errors ===================== */

/* Translate Status to a Win32 error, make it the thread's last error and
 * return it.  (Internal to kernel32 on Windows too; not exported.) */
ULONG BaseSetLastNTError(NTSTATUS Status)
{
	ULONG Error = RtlNtStatusToDosError(Status);

	SetLastError(Error);
	return Error;
}

DWORD WINAPI GetLastError(void) { return NtCurrentTeb()->LastErrorValue; }

void WINAPI SetLastError(DWORD dwErrCode) { NtCurrentTeb()->LastErrorValue = dwErrCode; }

/* Relative timeout for a wait of Milliseconds, or NULL for INFINITE. */
static PLARGE_INTEGER BaseFormatTimeOut(PLARGE_INTEGER TimeOut, DWORD Milliseconds)
{
	if (Milliseconds == INFINITE)
		return NULL;
	TimeOut->QuadPart = (LONGLONG)Milliseconds * -10000LL;
	return TimeOut;
}

/* ===================== memory ===================== */

HANDLE WINAPI GetProcessHeap(void) { return NtCurrentPeb()->ProcessHeap; }

LPVOID WINAPI HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes)
{
	return RtlAllocateHeap(hHeap, dwFlags, dwBytes);
}

BOOL WINAPI HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem)
{
	return RtlFreeHeap(hHeap, dwFlags, lpMem);
}

LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
			   DWORD flProtect)
{
	PVOID Base = lpAddress;
	SIZE_T Size = dwSize;
	NTSTATUS Status = NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
						  flAllocationType, flProtect);

	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return NULL;
	}
	return Base;
}

BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType)
{
	PVOID Base = lpAddress;
	SIZE_T Size = dwSize;
	NTSTATUS Status = NtFreeVirtualMemory(NtCurrentProcess(), &Base, &Size, dwFreeType);

	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return FALSE;
	}
	return TRUE;
}

BOOL WINAPI VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
			   PDWORD lpflOldProtect)
{
	PVOID Base = lpAddress;
	SIZE_T Size = dwSize;
	NTSTATUS Status = NtProtectVirtualMemory(NtCurrentProcess(), &Base, &Size, flNewProtect,
						 lpflOldProtect);

	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return FALSE;
	}
	return TRUE;
}

/* ===================== files and devices ===================== */

/* Win32 path -> NT path in a heap buffer (caller frees Nt->Buffer):
 * "\\.\X" -> "\??\X", "\\srv\share" -> "\??\UNC\srv\share",
 * "C:\..." -> "\??\C:\...", an NT path ("\...") is kept. */
static BOOL BaseDosPathToNtPath(LPCWSTR Path, PUNICODE_STRING Nt)
{
	static const WCHAR Dos[] = L"\\??\\";
	static const WCHAR Unc[] = L"\\??\\UNC";
	SIZE_T Len = wcslen(Path);
	LPCWSTR Prefix = L"";
	LPCWSTR Rest = Path;
	SIZE_T Bytes;

	if (Len >= 4 && Path[0] == '\\' && Path[1] == '\\' && Path[2] == '.' && Path[3] == '\\') {
		Prefix = Dos;
		Rest = Path + 4;
	} else if (Len >= 2 && Path[0] == '\\' && Path[1] == '\\') {
		Prefix = Unc;
		Rest = Path + 1;
	} else if (Len >= 2 && Path[1] == ':') {
		Prefix = Dos;
	}
	Bytes = (wcslen(Prefix) + wcslen(Rest) + 1) * sizeof(WCHAR);
	if (Bytes > 0xFFFE)
		return FALSE;
	Nt->Buffer = RtlAllocateHeap(GetProcessHeap(), 0, Bytes);
	if (!Nt->Buffer)
		return FALSE;
	Nt->Length = 0;
	Nt->MaximumLength = (USHORT)Bytes;
	RtlAppendUnicodeToString(Nt, Prefix);
	RtlAppendUnicodeToString(Nt, Rest);
	return TRUE;
}

HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
			  LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
			  DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
	UNICODE_STRING NtName;
	OBJECT_ATTRIBUTES Attributes;
	IO_STATUS_BLOCK Iosb;
	HANDLE Handle = INVALID_HANDLE_VALUE;
	ULONG Disposition, Options;
	NTSTATUS Status;

	switch (dwCreationDisposition) {
	case CREATE_NEW: Disposition = FILE_CREATE; break;
	case CREATE_ALWAYS: Disposition = FILE_OVERWRITE_IF; break;
	case OPEN_EXISTING: Disposition = FILE_OPEN; break;
	case OPEN_ALWAYS: Disposition = FILE_OPEN_IF; break;
	case TRUNCATE_EXISTING: Disposition = FILE_OVERWRITE; break;
	default:
		SetLastError(ERROR_INVALID_PARAMETER);
		return INVALID_HANDLE_VALUE;
	}
	if (!BaseDosPathToNtPath(lpFileName, &NtName)) {
		SetLastError(ERROR_PATH_NOT_FOUND);
		return INVALID_HANDLE_VALUE;
	}
	Options = FILE_NON_DIRECTORY_FILE;
	if (!(dwFlagsAndAttributes & FILE_FLAG_OVERLAPPED))
		Options |= FILE_SYNCHRONOUS_IO_NONALERT;
	InitializeObjectAttributes(&Attributes, &NtName, OBJ_CASE_INSENSITIVE, NULL, NULL);
	Status = NtCreateFile(&Handle, dwDesiredAccess | SYNCHRONIZE | FILE_READ_ATTRIBUTES,
			      &Attributes, &Iosb, NULL, dwFlagsAndAttributes & 0xFFFFUL,
			      dwShareMode, Disposition, Options, NULL, 0);
	RtlFreeHeap(GetProcessHeap(), 0, NtName.Buffer);
	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return INVALID_HANDLE_VALUE;
	}
	SetLastError(NO_ERROR);
	return Handle;
}

BOOL WINAPI ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead,
		     LPDWORD lpNumberOfBytesRead, LPOVERLAPPED lpOverlapped)
{
	IO_STATUS_BLOCK Iosb;
	NTSTATUS Status;

	if (lpNumberOfBytesRead)
		*lpNumberOfBytesRead = 0;
	Status = NtReadFile(hFile, NULL, NULL, NULL, &Iosb, lpBuffer, nNumberOfBytesToRead, NULL,
			    NULL);
	if (Status == STATUS_PENDING) {
		Status = NtWaitForSingleObject(hFile, FALSE, NULL);
		if (NT_SUCCESS(Status))
			Status = Iosb.u.Status;
	}
	if (Status == (NTSTATUS)0xC0000011L) /* STATUS_END_OF_FILE: 0 bytes, success */
		return TRUE;
	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return FALSE;
	}
	if (lpNumberOfBytesRead)
		*lpNumberOfBytesRead = Iosb.Information;
	return TRUE;
}

BOOL WINAPI WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
		      LPDWORD lpNumberOfBytesWritten, LPOVERLAPPED lpOverlapped)
{
	IO_STATUS_BLOCK Iosb;
	NTSTATUS Status;

	if (lpNumberOfBytesWritten)
		*lpNumberOfBytesWritten = 0;
	Status = NtWriteFile(hFile, NULL, NULL, NULL, &Iosb, (PVOID)lpBuffer,
			     nNumberOfBytesToWrite, NULL, NULL);
	if (Status == STATUS_PENDING) {
		Status = NtWaitForSingleObject(hFile, FALSE, NULL);
		if (NT_SUCCESS(Status))
			Status = Iosb.u.Status;
	}
	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return FALSE;
	}
	if (lpNumberOfBytesWritten)
		*lpNumberOfBytesWritten = Iosb.Information;
	return TRUE;
}

#define FILE_DEVICE_FILE_SYSTEM 0x00000009UL

BOOL WINAPI DeviceIoControl(HANDLE hDevice, DWORD dwIoControlCode, LPVOID lpInBuffer,
			    DWORD nInBufferSize, LPVOID lpOutBuffer, DWORD nOutBufferSize,
			    LPDWORD lpBytesReturned, LPOVERLAPPED lpOverlapped)
{
	IO_STATUS_BLOCK Iosb;
	NTSTATUS Status;

	Iosb.Information = 0;
	if ((dwIoControlCode >> 16) == FILE_DEVICE_FILE_SYSTEM)
		Status = NtFsControlFile(hDevice, NULL, NULL, NULL, &Iosb, dwIoControlCode,
					 lpInBuffer, nInBufferSize, lpOutBuffer, nOutBufferSize);
	else
		Status = NtDeviceIoControlFile(hDevice, NULL, NULL, NULL, &Iosb, dwIoControlCode,
					       lpInBuffer, nInBufferSize, lpOutBuffer,
					       nOutBufferSize);
	if (Status == STATUS_PENDING) {
		Status = NtWaitForSingleObject(hDevice, FALSE, NULL);
		if (NT_SUCCESS(Status))
			Status = Iosb.u.Status;
	}
	if (lpBytesReturned)
		*lpBytesReturned = Iosb.Information;
	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return FALSE;
	}
	return TRUE;
}

BOOL WINAPI CloseHandle(HANDLE hObject)
{
	NTSTATUS Status = NtClose(hObject);

	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return FALSE;
	}
	return TRUE;
}

/* ===================== threads and processes ===================== */

void WINAPI ExitThread(DWORD dwExitCode)
{
	NtTerminateThread(NtCurrentThread(), (NTSTATUS)dwExitCode);
	for (;;)
		;
}

void WINAPI ExitProcess(UINT uExitCode)
{
	NtTerminateProcess(NtCurrentProcess(), (NTSTATUS)uExitCode);
	for (;;)
		;
}

/* Every thread CreateThread makes starts here (CONTEXT.Eip), with the
 * start routine in eax and its parameter in ebx, like Windows'. */
void WINAPI BaseThreadStart(LPTHREAD_START_ROUTINE lpStartAddress, LPVOID lpParameter)
{
	ExitThread(lpStartAddress(lpParameter));
}

__attribute__((naked)) void BaseThreadStartThunk(void)
{
	__asm__ __volatile__("xorl %ebp, %ebp\n\t"
			     "pushl %ebx\n\t"
			     "pushl %eax\n\t"
			     "pushl $0\n\t"
			     "jmp _BaseThreadStart@8\n");
}

HANDLE WINAPI CreateThread(LPSECURITY_ATTRIBUTES lpThreadAttributes, SIZE_T dwStackSize,
			   LPTHREAD_START_ROUTINE lpStartAddress, LPVOID lpParameter,
			   DWORD dwCreationFlags, LPDWORD lpThreadId)
{
	INITIAL_TEB InitialTeb;
	CONTEXT Context;
	CLIENT_ID ClientId;
	HANDLE Thread = NULL;
	PVOID Stack = NULL;
	SIZE_T StackSize = dwStackSize ? (dwStackSize + 0xFFFUL) & ~0xFFFUL : BASE_DEFAULT_STACK;
	NTSTATUS Status;

	/* BaseCreateStack: the whole stack committed at once */
	Status = NtAllocateVirtualMemory(NtCurrentProcess(), &Stack, 0, &StackSize,
					 MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	if (!NT_SUCCESS(Status))
		goto fail;
	InitialTeb.PreviousStackBase = NULL;
	InitialTeb.PreviousStackLimit = NULL;
	InitialTeb.StackBase = (UCHAR *)Stack + StackSize;
	InitialTeb.StackLimit = Stack;
	InitialTeb.AllocatedStackBase = Stack;

	/* BaseInitializeContext */
	memset(&Context, 0, sizeof(Context));
	Context.ContextFlags = CONTEXT_FULL;
	Context.Eax = (ULONG)lpStartAddress;
	Context.Ebx = (ULONG)lpParameter;
	Context.Eip = (ULONG)BaseThreadStartThunk;
	Context.Esp = (ULONG)InitialTeb.StackBase - sizeof(PVOID);
	Context.SegCs = 0x1B;
	Context.SegDs = Context.SegEs = Context.SegSs = 0x23;
	Context.SegFs = 0x3B;
	Context.EFlags = 0x202;

	Status = NtCreateThread(&Thread, THREAD_ALL_ACCESS, NULL, NtCurrentProcess(), &ClientId,
				&Context, &InitialTeb,
				(dwCreationFlags & CREATE_SUSPENDED) ? TRUE : FALSE);
	if (!NT_SUCCESS(Status)) {
		SIZE_T Zero = 0;

		NtFreeVirtualMemory(NtCurrentProcess(), &Stack, &Zero, MEM_RELEASE);
		goto fail;
	}
	if (lpThreadId)
		*lpThreadId = (DWORD)ClientId.UniqueThread;
	return Thread;
fail:
	BaseSetLastNTError(Status);
	return NULL;
}

DWORD WINAPI GetCurrentThreadId(void) { return (DWORD)NtCurrentTeb()->ClientId.UniqueThread; }
DWORD WINAPI GetCurrentProcessId(void) { return (DWORD)NtCurrentTeb()->ClientId.UniqueProcess; }
HANDLE WINAPI GetCurrentProcess(void) { return NtCurrentProcess(); }
HANDLE WINAPI GetCurrentThread(void) { return NtCurrentThread(); }

/* ===================== synchronization ===================== */

static DWORD BaseWaitResult(NTSTATUS Status)
{
	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return WAIT_FAILED;
	}
	return (DWORD)Status; /* STATUS_WAIT_n == n, STATUS_TIMEOUT == WAIT_TIMEOUT */
}

DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds)
{
	LARGE_INTEGER TimeOut;

	return BaseWaitResult(
		NtWaitForSingleObject(hHandle, FALSE, BaseFormatTimeOut(&TimeOut, dwMilliseconds)));
}

DWORD WINAPI WaitForMultipleObjects(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll,
				    DWORD dwMilliseconds)
{
	LARGE_INTEGER TimeOut;

	/* WAIT_TYPE: WaitAll = 0, WaitAny = 1 */
	return BaseWaitResult(NtWaitForMultipleObjects(nCount, (HANDLE *)lpHandles,
						       bWaitAll ? 0 : 1, FALSE,
						       BaseFormatTimeOut(&TimeOut, dwMilliseconds)));
}

DWORD WINAPI SleepEx(DWORD dwMilliseconds, BOOL bAlertable)
{
	LARGE_INTEGER TimeOut;
	PLARGE_INTEGER Interval = BaseFormatTimeOut(&TimeOut, dwMilliseconds);

	if (!Interval) {
		TimeOut.QuadPart = (LONGLONG)0x8000000000000000ULL; /* forever */
		Interval = &TimeOut;
	}
	NtDelayExecution((BOOLEAN)bAlertable, Interval);
	return 0;
}

void WINAPI Sleep(DWORD dwMilliseconds) { SleepEx(dwMilliseconds, FALSE); }

/* Named objects of the Win32 namespace live in \BaseNamedObjects. */
static BOOL BaseNamedObjectName(LPCWSTR lpName, PUNICODE_STRING Name, WCHAR *Buffer,
				USHORT BufferBytes)
{
	Name->Buffer = Buffer;
	Name->Length = 0;
	Name->MaximumLength = BufferBytes;
	return NT_SUCCESS(RtlAppendUnicodeToString(Name, L"\\BaseNamedObjects\\")) &&
	       NT_SUCCESS(RtlAppendUnicodeToString(Name, lpName));
}

HANDLE WINAPI CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset,
			   BOOL bInitialState, LPCWSTR lpName)
{
	WCHAR Buffer[128];
	UNICODE_STRING Name;
	OBJECT_ATTRIBUTES Attributes;
	HANDLE Event = NULL;
	NTSTATUS Status;

	if (lpName && !BaseNamedObjectName(lpName, &Name, Buffer, sizeof(Buffer))) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	InitializeObjectAttributes(&Attributes, lpName ? &Name : NULL, 0, NULL, NULL);
	Status = NtCreateEvent(&Event, EVENT_ALL_ACCESS, &Attributes,
			       bManualReset ? NotificationEvent : SynchronizationEvent,
			       (BOOLEAN)(bInitialState ? TRUE : FALSE));
	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return NULL;
	}
	SetLastError(NO_ERROR);
	return Event;
}

/* NtOpenEvent is not in ntdll.h's list of typed prototypes: declared here. */
__declspec(dllimport) NTSTATUS NTAPI NtOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
						  POBJECT_ATTRIBUTES ObjectAttributes);

HANDLE WINAPI OpenEventW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName)
{
	WCHAR Buffer[128];
	UNICODE_STRING Name;
	OBJECT_ATTRIBUTES Attributes;
	HANDLE Event = NULL;
	NTSTATUS Status;

	if (!lpName || !BaseNamedObjectName(lpName, &Name, Buffer, sizeof(Buffer))) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	InitializeObjectAttributes(&Attributes, &Name, 0, NULL, NULL);
	Status = NtOpenEvent(&Event, dwDesiredAccess, &Attributes);
	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return NULL;
	}
	return Event;
}

BOOL WINAPI SetEvent(HANDLE hEvent)
{
	NTSTATUS Status = NtSetEvent(hEvent, NULL);

	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return FALSE;
	}
	return TRUE;
}

BOOL WINAPI ResetEvent(HANDLE hEvent)
{
	NTSTATUS Status = NtResetEvent(hEvent, NULL);

	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return FALSE;
	}
	return TRUE;
}

LONG WINAPI InterlockedIncrement(LONG volatile *Addend) { return __sync_add_and_fetch(Addend, 1); }
LONG WINAPI InterlockedDecrement(LONG volatile *Addend) { return __sync_sub_and_fetch(Addend, 1); }
LONG WINAPI InterlockedExchange(LONG volatile *Target, LONG Value)
{
	return __sync_lock_test_and_set(Target, Value);
}
LONG WINAPI InterlockedCompareExchange(LONG volatile *Destination, LONG Exchange, LONG Comperand)
{
	return __sync_val_compare_and_swap(Destination, Comperand, Exchange);
}

void WINAPI InitializeCriticalSection(LPCRITICAL_SECTION cs) { RtlInitializeCriticalSection(cs); }
void WINAPI EnterCriticalSection(LPCRITICAL_SECTION cs) { RtlEnterCriticalSection(cs); }
void WINAPI LeaveCriticalSection(LPCRITICAL_SECTION cs) { RtlLeaveCriticalSection(cs); }

/* ===================== time, debug output, strings ===================== */

DWORD WINAPI GetTickCount(void)
{
	volatile ULONG *Kusd = (volatile ULONG *)MM_SHARED_USER_DATA_VA;
	ULONGLONG Ticks = Kusd[KUSD_TICK_COUNT / 4];

	return (DWORD)((Ticks * Kusd[KUSD_TICK_COUNT_MULTIPLIER / 4]) >> 24);
}

BOOL WINAPI QueryPerformanceCounter(PLARGE_INTEGER lpPerformanceCount)
{
	LARGE_INTEGER Frequency;
	NTSTATUS Status = NtQueryPerformanceCounter(lpPerformanceCount, &Frequency);

	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return FALSE;
	}
	return TRUE;
}

BOOL WINAPI QueryPerformanceFrequency(PLARGE_INTEGER lpFrequency)
{
	LARGE_INTEGER Counter;
	NTSTATUS Status = NtQueryPerformanceCounter(&Counter, lpFrequency);

	if (!NT_SUCCESS(Status)) {
		BaseSetLastNTError(Status);
		return FALSE;
	}
	return TRUE;
}

/* On Windows this raises DBG_PRINTEXCEPTION_C for an attached debugger;
 * here the debugger is ntdll's debug-output sink. */
void WINAPI OutputDebugStringA(LPCSTR lpOutputString) { DbgPrint("%s", lpOutputString); }

void WINAPI OutputDebugStringW(LPCWSTR lpOutputString) { DbgPrint("%S", lpOutputString); }

int WINAPI lstrlenW(LPCWSTR lpString) { return lpString ? (int)wcslen(lpString) : 0; }

/* ===================== DLL entry ===================== */

#define DLL_PROCESS_ATTACH 1

BOOL WINAPI BaseDllInitialize(HINSTANCE hInstance, DWORD Reason, LPVOID Reserved)
{
	PPEB Peb = NtCurrentPeb();

	/* The process heap: the loader hands over a zero-filled region at
	 * PEB.ProcessHeap; format it (idempotent), or make one if none. */
	if (Reason == DLL_PROCESS_ATTACH)
		Peb->ProcessHeap = RtlCreateHeap(HEAP_GROWABLE, Peb->ProcessHeap,
						 BASE_PROCESS_HEAP_SEGMENT, BASE_PROCESS_HEAP_SEGMENT,
						 NULL, NULL);
	return Peb->ProcessHeap != NULL;
}
