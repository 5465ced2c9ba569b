/*
 * Windows Server 2003 SP2 (5.2.3790 SP2) x86 native system service numbers.
 *
 * An X-macro table: define NT_SYSCALL(Name, Number, ArgCount) and include
 * this file; each line expands once.  `Number` is the service index passed
 * in eax to KiFastSystemCall (sysenter), `ArgCount` the number of 32-bit
 * stack arguments the kernel reads at [edx + 8].
 *
 *     #define NT_SYSCALL(name, num, argc) enum { SYS_##name = num };
 *     #include "nt_syscalls.h"
 *     #undef NT_SYSCALL
 *
 * Plain C preprocessor only (no includes, no types), so the recorder
 * (record/winemu) and the mingw-built guest ntdll (tests/traces/src) share
 * it.  Entries are sorted by number.  Not every service exists here: only
 * those the guests use or may plausibly use; the kernel model answers any
 * other number with STATUS_NOT_IMPLEMENTED and logs it.
 *
 * Source of the numbers and argument counts: the i386 service table of
 * 5.2.3790-sp2-windows-2003 published in github.com/tinysec/windows-syscall-table
 * (5.2.3790-sp2-windows-2003/i386/ssdt.c), cross-checked entry by entry
 * against the "Windows Server 2003 (SP2)" column of j00ru's table
 * (github.com/j00ru/windows-syscalls, x86/csv/nt.csv).
 */
#ifndef NT_SYSCALL
#error "define NT_SYSCALL(Name, Number, ArgCount) before including nt_syscalls.h"
#endif

NT_SYSCALL(NtAllocateLocallyUniqueId,     0x00F, 1)
NT_SYSCALL(NtAllocateUuids,               0x011, 4)
NT_SYSCALL(NtAllocateVirtualMemory,       0x012, 6)
NT_SYSCALL(NtCancelIoFile,                0x018, 2)
NT_SYSCALL(NtCancelTimer,                 0x019, 2)
NT_SYSCALL(NtClearEvent,                  0x01A, 1)
NT_SYSCALL(NtClose,                       0x01B, 1)
NT_SYSCALL(NtConnectPort,                 0x021, 8)
NT_SYSCALL(NtContinue,                    0x022, 2)
NT_SYSCALL(NtCreateDirectoryObject,       0x024, 3)
NT_SYSCALL(NtCreateEvent,                 0x025, 5)
NT_SYSCALL(NtCreateFile,                  0x027, 11)
NT_SYSCALL(NtCreateIoCompletion,          0x028, 4)
NT_SYSCALL(NtCreateKey,                   0x02B, 7)
NT_SYSCALL(NtCreateMutant,                0x02D, 4)
NT_SYSCALL(NtCreateNamedPipeFile,         0x02E, 14)
NT_SYSCALL(NtCreateSection,               0x034, 7)
NT_SYSCALL(NtCreateSemaphore,             0x035, 5)
NT_SYSCALL(NtCreateThread,                0x037, 8)
NT_SYSCALL(NtCreateTimer,                 0x038, 4)
NT_SYSCALL(NtDelayExecution,              0x03D, 2)
NT_SYSCALL(NtDeleteFile,                  0x041, 1)
NT_SYSCALL(NtDeleteKey,                   0x042, 1)
NT_SYSCALL(NtDeleteValueKey,              0x044, 2)
NT_SYSCALL(NtDeviceIoControlFile,         0x045, 10)
NT_SYSCALL(NtDuplicateObject,             0x047, 7)
NT_SYSCALL(NtEnumerateKey,                0x04B, 6)
NT_SYSCALL(NtEnumerateValueKey,           0x04D, 6)
NT_SYSCALL(NtFlushBuffersFile,            0x051, 2)
NT_SYSCALL(NtFlushInstructionCache,       0x052, 3)
NT_SYSCALL(NtFlushKey,                    0x053, 1)
NT_SYSCALL(NtFreeVirtualMemory,           0x057, 4)
NT_SYSCALL(NtFsControlFile,               0x058, 10)
NT_SYSCALL(NtGetContextThread,            0x059, 2)
NT_SYSCALL(NtMapViewOfSection,            0x071, 10)
NT_SYSCALL(NtNotifyChangeKey,             0x075, 10)
NT_SYSCALL(NtOpenDirectoryObject,         0x077, 3)
NT_SYSCALL(NtOpenEvent,                   0x078, 3)
NT_SYSCALL(NtOpenFile,                    0x07A, 6)
NT_SYSCALL(NtOpenKey,                     0x07D, 3)
NT_SYSCALL(NtOpenMutant,                  0x07E, 3)
NT_SYSCALL(NtOpenProcess,                 0x080, 4)
NT_SYSCALL(NtOpenProcessToken,            0x081, 3)
NT_SYSCALL(NtOpenProcessTokenEx,          0x082, 4)
NT_SYSCALL(NtOpenSection,                 0x083, 3)
NT_SYSCALL(NtOpenSemaphore,               0x084, 3)
NT_SYSCALL(NtOpenSymbolicLinkObject,      0x085, 3)
NT_SYSCALL(NtOpenThread,                  0x086, 4)
NT_SYSCALL(NtOpenThreadToken,             0x087, 4)
NT_SYSCALL(NtOpenThreadTokenEx,           0x088, 5)
NT_SYSCALL(NtProtectVirtualMemory,        0x08F, 5)
NT_SYSCALL(NtPulseEvent,                  0x090, 2)
NT_SYSCALL(NtQueryAttributesFile,         0x091, 2)
NT_SYSCALL(NtQueryDebugFilterState,       0x094, 2)
NT_SYSCALL(NtQueryDefaultLocale,          0x095, 2)
NT_SYSCALL(NtQueryDirectoryFile,          0x097, 11)
NT_SYSCALL(NtQueryEvent,                  0x09B, 5)
NT_SYSCALL(NtQueryFullAttributesFile,     0x09C, 2)
NT_SYSCALL(NtQueryInformationFile,        0x09E, 5)
NT_SYSCALL(NtQueryInformationProcess,     0x0A1, 5)
NT_SYSCALL(NtQueryInformationThread,      0x0A2, 5)
NT_SYSCALL(NtQueryInformationToken,       0x0A3, 5)
NT_SYSCALL(NtQueryKey,                    0x0A7, 5)
NT_SYSCALL(NtQueryObject,                 0x0AA, 5)
NT_SYSCALL(NtQueryPerformanceCounter,     0x0AD, 2)
NT_SYSCALL(NtQuerySection,                0x0AF, 5)
NT_SYSCALL(NtQuerySymbolicLinkObject,     0x0B2, 3)
NT_SYSCALL(NtQuerySystemInformation,      0x0B5, 4)
NT_SYSCALL(NtQuerySystemTime,             0x0B6, 1)
NT_SYSCALL(NtQueryTimerResolution,        0x0B8, 3)
NT_SYSCALL(NtQueryValueKey,               0x0B9, 6)
NT_SYSCALL(NtQueryVirtualMemory,          0x0BA, 6)
NT_SYSCALL(NtQueryVolumeInformationFile,  0x0BB, 5)
NT_SYSCALL(NtQueueApcThread,              0x0BC, 5)
NT_SYSCALL(NtRaiseException,              0x0BD, 3)
NT_SYSCALL(NtRaiseHardError,              0x0BE, 6)
NT_SYSCALL(NtReadFile,                    0x0BF, 9)
NT_SYSCALL(NtReadVirtualMemory,           0x0C2, 5)
NT_SYSCALL(NtRegisterThreadTerminatePort, 0x0C3, 1)
NT_SYSCALL(NtReleaseMutant,               0x0C4, 2)
NT_SYSCALL(NtReleaseSemaphore,            0x0C5, 3)
NT_SYSCALL(NtRemoveIoCompletion,          0x0C6, 5)
NT_SYSCALL(NtRequestPort,                 0x0CF, 2)
NT_SYSCALL(NtRequestWaitReplyPort,        0x0D0, 3)
NT_SYSCALL(NtResetEvent,                  0x0D2, 2)
NT_SYSCALL(NtResumeThread,                0x0D6, 2)
NT_SYSCALL(NtSecureConnectPort,           0x0DA, 9)
NT_SYSCALL(NtSetContextThread,            0x0DD, 2)
NT_SYSCALL(NtSetEvent,                    0x0E4, 2)
NT_SYSCALL(NtSetInformationFile,          0x0E9, 5)
NT_SYSCALL(NtSetInformationObject,        0x0EC, 4)
NT_SYSCALL(NtSetInformationProcess,       0x0ED, 4)
NT_SYSCALL(NtSetInformationThread,        0x0EE, 4)
NT_SYSCALL(NtSetIoCompletion,             0x0F1, 5)
NT_SYSCALL(NtSetTimer,                    0x0FD, 7)
NT_SYSCALL(NtSetValueKey,                 0x100, 6)
NT_SYSCALL(NtSignalAndWaitForSingleObject,0x103, 4)
NT_SYSCALL(NtSuspendThread,               0x107, 2)
NT_SYSCALL(NtTerminateProcess,            0x10A, 2)
NT_SYSCALL(NtTerminateThread,             0x10B, 2)
NT_SYSCALL(NtTestAlert,                   0x10C, 0)
NT_SYSCALL(NtUnmapViewOfSection,          0x115, 2)
NT_SYSCALL(NtWaitForMultipleObjects,      0x118, 5)
NT_SYSCALL(NtWaitForSingleObject,         0x119, 3)
NT_SYSCALL(NtWriteFile,                   0x11C, 9)
NT_SYSCALL(NtWriteVirtualMemory,          0x11F, 5)
NT_SYSCALL(NtYieldExecution,              0x120, 0)
NT_SYSCALL(NtCreateKeyedEvent,            0x121, 4)
NT_SYSCALL(NtOpenKeyedEvent,              0x122, 3)
NT_SYSCALL(NtReleaseKeyedEvent,           0x123, 4)
NT_SYSCALL(NtWaitForKeyedEvent,           0x124, 4)
