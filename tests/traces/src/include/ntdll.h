/*
 * ntdll.h: what the guest ntdll.dll exports (tests/traces/src/ntdll).
 * Native system services (Nt*) are stdcall stubs generated from
 * knowledge/nt_syscalls.h; Rtl*, Ldr* and Dbg* are ntdll-side helpers.
 */
#ifndef STRAND_GUEST_NTDLL_H
#define STRAND_GUEST_NTDLL_H
#include "ntlite.h"

#ifdef STRAND_BUILDING_NTDLL
#define NTSYSAPI
#else
#define NTSYSAPI __declspec(dllimport)
#endif

/* ---- native system services (argument counts match nt_syscalls.h) ---- */
NTSYSAPI NTSTATUS NTAPI NtClose(HANDLE Handle);
NTSYSAPI NTSTATUS NTAPI NtCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
				     POBJECT_ATTRIBUTES ObjectAttributes,
				     PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize,
				     ULONG FileAttributes, ULONG ShareAccess,
				     ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer,
				     ULONG EaLength);
NTSYSAPI NTSTATUS NTAPI NtOpenFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
				   POBJECT_ATTRIBUTES ObjectAttributes,
				   PIO_STATUS_BLOCK IoStatusBlock, ULONG ShareAccess,
				   ULONG OpenOptions);
NTSYSAPI NTSTATUS NTAPI NtReadFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
				   PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer,
				   ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key);
NTSYSAPI NTSTATUS NTAPI NtWriteFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine,
				    PVOID ApcContext, PIO_STATUS_BLOCK IoStatusBlock, PVOID Buffer,
				    ULONG Length, PLARGE_INTEGER ByteOffset, PULONG Key);
NTSYSAPI NTSTATUS NTAPI NtDeviceIoControlFile(HANDLE FileHandle, HANDLE Event,
					      PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
					      PIO_STATUS_BLOCK IoStatusBlock, ULONG IoControlCode,
					      PVOID InputBuffer, ULONG InputBufferLength,
					      PVOID OutputBuffer, ULONG OutputBufferLength);
NTSYSAPI NTSTATUS NTAPI NtFsControlFile(HANDLE FileHandle, HANDLE Event,
					PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
					PIO_STATUS_BLOCK IoStatusBlock, ULONG FsControlCode,
					PVOID InputBuffer, ULONG InputBufferLength,
					PVOID OutputBuffer, ULONG OutputBufferLength);
NTSYSAPI NTSTATUS NTAPI NtOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
				  POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI NtQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
					KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
					PVOID KeyValueInformation, ULONG Length,
					PULONG ResultLength);
NTSYSAPI NTSTATUS NTAPI NtCreateThread(PHANDLE ThreadHandle, ACCESS_MASK DesiredAccess,
				       POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
				       PCLIENT_ID ClientId, PCONTEXT ThreadContext,
				       PINITIAL_TEB InitialTeb, BOOLEAN CreateSuspended);
NTSYSAPI NTSTATUS NTAPI NtResumeThread(HANDLE ThreadHandle, PULONG SuspendCount);
NTSYSAPI NTSTATUS NTAPI NtTerminateThread(HANDLE ThreadHandle, NTSTATUS ExitStatus);
NTSYSAPI NTSTATUS NTAPI NtTerminateProcess(HANDLE ProcessHandle, NTSTATUS ExitStatus);
NTSYSAPI NTSTATUS NTAPI NtWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable,
					      PLARGE_INTEGER Timeout);
NTSYSAPI NTSTATUS NTAPI NtWaitForMultipleObjects(ULONG Count, HANDLE *Handles, ULONG WaitType,
						 BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTSYSAPI NTSTATUS NTAPI NtCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
				      POBJECT_ATTRIBUTES ObjectAttributes, EVENT_TYPE EventType,
				      BOOLEAN InitialState);
NTSYSAPI NTSTATUS NTAPI NtSetEvent(HANDLE EventHandle, PLONG PreviousState);
NTSYSAPI NTSTATUS NTAPI NtResetEvent(HANDLE EventHandle, PLONG PreviousState);
NTSYSAPI NTSTATUS NTAPI NtDelayExecution(BOOLEAN Alertable, PLARGE_INTEGER DelayInterval);
NTSYSAPI NTSTATUS NTAPI NtYieldExecution(void);
NTSYSAPI NTSTATUS NTAPI NtAllocateVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
						ULONG_PTR ZeroBits, PSIZE_T RegionSize,
						ULONG AllocationType, ULONG Protect);
NTSYSAPI NTSTATUS NTAPI NtFreeVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
					    PSIZE_T RegionSize, ULONG FreeType);
NTSYSAPI NTSTATUS NTAPI NtProtectVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
					       PSIZE_T RegionSize, ULONG NewProtect,
					       PULONG OldProtect);
NTSYSAPI NTSTATUS NTAPI NtQueryPerformanceCounter(PLARGE_INTEGER PerformanceCounter,
						  PLARGE_INTEGER PerformanceFrequency);
NTSYSAPI NTSTATUS NTAPI NtQuerySystemTime(PLARGE_INTEGER SystemTime);

/* ---- system call gate (KUSER_SHARED_DATA.SystemCall points here) ---- */
NTSYSAPI void NTAPI KiFastSystemCall(void);
NTSYSAPI void NTAPI KiFastSystemCallRet(void);

/* ---- run-time library ---- */
NTSYSAPI ULONG NTAPI RtlNtStatusToDosError(NTSTATUS Status);
NTSYSAPI ULONG NTAPI RtlNtStatusToDosErrorNoTeb(NTSTATUS Status);
NTSYSAPI ULONG NTAPI RtlGetLastWin32Error(void);
NTSYSAPI void NTAPI RtlSetLastWin32Error(ULONG Error);
NTSYSAPI NTSTATUS NTAPI RtlGetLastNtStatus(void);
NTSYSAPI void NTAPI RtlInitUnicodeString(PUNICODE_STRING Dest, PCWSTR Source);
NTSYSAPI void NTAPI RtlInitAnsiString(PANSI_STRING Dest, PCSTR Source);
NTSYSAPI BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING a, PCUNICODE_STRING b,
					     BOOLEAN CaseInsensitive);
NTSYSAPI NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Dest, PCWSTR Source);
NTSYSAPI NTSTATUS NTAPI RtlAppendUnicodeStringToString(PUNICODE_STRING Dest,
						       PCUNICODE_STRING Source);
NTSYSAPI void NTAPI RtlCopyMemory(PVOID Dest, const void *Src, SIZE_T Length);
NTSYSAPI void NTAPI RtlMoveMemory(PVOID Dest, const void *Src, SIZE_T Length);
NTSYSAPI void NTAPI RtlFillMemory(PVOID Dest, SIZE_T Length, UCHAR Fill);
NTSYSAPI void NTAPI RtlZeroMemory(PVOID Dest, SIZE_T Length);
NTSYSAPI SIZE_T NTAPI RtlCompareMemory(const void *a, const void *b, SIZE_T Length);
NTSYSAPI PVOID NTAPI RtlCreateHeap(ULONG Flags, PVOID HeapBase, SIZE_T ReserveSize,
				   SIZE_T CommitSize, PVOID Lock, PVOID Parameters);
NTSYSAPI PVOID NTAPI RtlAllocateHeap(PVOID HeapHandle, ULONG Flags, SIZE_T Size);
NTSYSAPI BOOLEAN NTAPI RtlFreeHeap(PVOID HeapHandle, ULONG Flags, PVOID BaseAddress);
NTSYSAPI PPEB NTAPI RtlGetCurrentPeb(void);
NTSYSAPI NTSTATUS NTAPI RtlInitializeCriticalSection(PRTL_CRITICAL_SECTION cs);
NTSYSAPI NTSTATUS NTAPI RtlEnterCriticalSection(PRTL_CRITICAL_SECTION cs);
NTSYSAPI NTSTATUS NTAPI RtlLeaveCriticalSection(PRTL_CRITICAL_SECTION cs);
NTSYSAPI ULONG __cdecl DbgPrint(PCSTR Format, ...);
#define HEAP_ZERO_MEMORY 0x00000008UL
#define HEAP_GROWABLE 0x00000002UL

/* C run-time subset ntdll really exports (cdecl). */
NTSYSAPI void *__cdecl memcpy(void *d, const void *s, SIZE_T n);
NTSYSAPI void *__cdecl memmove(void *d, const void *s, SIZE_T n);
NTSYSAPI void *__cdecl memset(void *d, int c, SIZE_T n);
NTSYSAPI int __cdecl memcmp(const void *a, const void *b, SIZE_T n);
NTSYSAPI SIZE_T __cdecl strlen(const char *s);
NTSYSAPI SIZE_T __cdecl wcslen(const WCHAR *s);
NTSYSAPI int __cdecl _vsnprintf(char *buf, SIZE_T size, const char *fmt, __builtin_va_list ap);
NTSYSAPI int __cdecl _snprintf(char *buf, SIZE_T size, const char *fmt, ...);

#endif /* STRAND_GUEST_NTDLL_H */
