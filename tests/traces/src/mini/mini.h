/*
 * The recorder's own test guest (tests/test_winemu.c): just enough of the
 * native API to exercise the kernel model of record/winemu.  Built by
 * build.sh with i686-w64-mingw32-gcc; no C runtime.
 */
#ifndef MINI_H
#define MINI_H

typedef unsigned long ULONG;
typedef unsigned short USHORT;
typedef unsigned char UCHAR;
typedef long NTSTATUS;
typedef void *HANDLE;
typedef unsigned short WCHAR;

typedef struct { USHORT Length, MaximumLength; WCHAR *Buffer; } UNICODE_STRING;
typedef struct {
	ULONG Length;
	HANDLE RootDirectory;
	UNICODE_STRING *ObjectName;
	ULONG Attributes;
	void *SecurityDescriptor, *SecurityQualityOfService;
} OBJECT_ATTRIBUTES;
typedef struct { NTSTATUS Status; ULONG Information; } IO_STATUS_BLOCK;
typedef struct { ULONG lo; long hi; } LARGE_INTEGER;
typedef struct { HANDLE UniqueProcess, UniqueThread; } CLIENT_ID;
typedef struct { void *OldBase, *OldLimit, *StackBase, *StackLimit, *AllocBase; } INITIAL_TEB;

#define NtCurrentProcess() ((HANDLE)-1)
#define NtCurrentThread() ((HANDLE)-2)

#define NTAPI __attribute__((stdcall))
#define IMPORT __attribute__((dllimport))

IMPORT NTSTATUS NTAPI NtClose(HANDLE);
IMPORT NTSTATUS NTAPI NtCreateFile(HANDLE *, ULONG, OBJECT_ATTRIBUTES *, IO_STATUS_BLOCK *,
				   LARGE_INTEGER *, ULONG, ULONG, ULONG, ULONG, void *, ULONG);
IMPORT NTSTATUS NTAPI NtOpenFile(HANDLE *, ULONG, OBJECT_ATTRIBUTES *, IO_STATUS_BLOCK *, ULONG, ULONG);
IMPORT NTSTATUS NTAPI NtReadFile(HANDLE, HANDLE, void *, void *, IO_STATUS_BLOCK *, void *, ULONG,
				 LARGE_INTEGER *, ULONG *);
IMPORT NTSTATUS NTAPI NtWriteFile(HANDLE, HANDLE, void *, void *, IO_STATUS_BLOCK *, const void *, ULONG,
				  LARGE_INTEGER *, ULONG *);
IMPORT NTSTATUS NTAPI NtDeviceIoControlFile(HANDLE, HANDLE, void *, void *, IO_STATUS_BLOCK *, ULONG,
					    void *, ULONG, void *, ULONG);
IMPORT NTSTATUS NTAPI NtOpenKey(HANDLE *, ULONG, OBJECT_ATTRIBUTES *);
IMPORT NTSTATUS NTAPI NtQueryValueKey(HANDLE, UNICODE_STRING *, ULONG, void *, ULONG, ULONG *);
IMPORT NTSTATUS NTAPI NtCreateEvent(HANDLE *, ULONG, OBJECT_ATTRIBUTES *, ULONG, UCHAR);
IMPORT NTSTATUS NTAPI NtSetEvent(HANDLE, long *);
IMPORT NTSTATUS NTAPI NtWaitForSingleObject(HANDLE, UCHAR, LARGE_INTEGER *);
IMPORT NTSTATUS NTAPI NtDelayExecution(UCHAR, LARGE_INTEGER *);
IMPORT NTSTATUS NTAPI NtCreateThread(HANDLE *, ULONG, OBJECT_ATTRIBUTES *, HANDLE, CLIENT_ID *, void *,
				     INITIAL_TEB *, UCHAR);
IMPORT NTSTATUS NTAPI NtTerminateThread(HANDLE, NTSTATUS);
IMPORT NTSTATUS NTAPI NtTerminateProcess(HANDLE, NTSTATUS);
IMPORT NTSTATUS NTAPI NtQueryInformationThread(HANDLE, ULONG, void *, ULONG, ULONG *);
IMPORT NTSTATUS NTAPI NtAllocateVirtualMemory(HANDLE, void **, ULONG, ULONG *, ULONG, ULONG);
IMPORT NTSTATUS NTAPI NtProtectVirtualMemory(HANDLE, void **, ULONG *, ULONG, ULONG *);
IMPORT NTSTATUS NTAPI NtFreeVirtualMemory(HANDLE, void **, ULONG *, ULONG);
IMPORT NTSTATUS NTAPI NtQuerySystemTime(LARGE_INTEGER *);
IMPORT NTSTATUS NTAPI NtEnumerateKey(HANDLE, ULONG, ULONG, void *, ULONG, ULONG *);
IMPORT NTSTATUS NTAPI NtQueryVirtualMemory(HANDLE, void *, ULONG, void *, ULONG, ULONG *);
IMPORT NTSTATUS NTAPI NtCreateMutant(HANDLE *, ULONG, OBJECT_ATTRIBUTES *, UCHAR);
IMPORT NTSTATUS NTAPI NtReleaseMutant(HANDLE, long *);
IMPORT NTSTATUS NTAPI NtUnknownService(void);

#endif
