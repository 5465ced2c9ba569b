/*
 * ntlite.h: the slice of the Windows NT x86 user-mode ABI that the strand
 * guest modules (tests/traces/src) share.  Written from the documented
 * layouts (winnt.h / ntdef.h / winsvc.h / http.h as published in the SDK
 * and DDK documentation); no Windows or mingw header is included, so each
 * guest DLL can define the functions it exports without clashing with a
 * dllimport declaration.
 *
 * Sizes assume i686: pointers, LONG, ULONG and HANDLE are 4 bytes.
 * Layouts that the recorder's kernel model also reads (TEB, PEB, CONTEXT,
 * OBJECT_ATTRIBUTES, IO_STATUS_BLOCK, INITIAL_TEB) carry their offsets.
 */
#ifndef STRAND_GUEST_NTLITE_H
#define STRAND_GUEST_NTLITE_H

/* ===================== basic types ===================== */

typedef unsigned char UCHAR, BYTE, BOOLEAN;
typedef unsigned short USHORT, WORD, WCHAR;
typedef unsigned long ULONG, DWORD;
typedef long LONG, NTSTATUS, HRESULT;
typedef int BOOL;
typedef unsigned int UINT;
typedef unsigned long ULONG_PTR, SIZE_T, *PSIZE_T, *PULONG_PTR;
typedef long LONG_PTR;
typedef unsigned long long ULONGLONG;
typedef long long LONGLONG;
typedef void VOID, *PVOID, *LPVOID, *HANDLE, **PHANDLE;
typedef const void *LPCVOID;
typedef char CHAR, *PCHAR, *PSTR, *LPSTR;
typedef const char *PCSTR, *LPCSTR;
typedef WCHAR *PWSTR, *LPWSTR, *PWCHAR;
typedef const WCHAR *PCWSTR, *LPCWSTR;
typedef ULONG *PULONG, *LPDWORD, *PDWORD;
typedef LONG *PLONG;
typedef USHORT *PUSHORT;
typedef UCHAR *PUCHAR, *LPBYTE;
typedef BOOL *LPBOOL;
typedef ULONG ACCESS_MASK;
typedef HANDLE HKEY, *PHKEY, HINSTANCE, HMODULE;
typedef LONG LSTATUS;
typedef ULONG REGSAM;

typedef union _LARGE_INTEGER {
	struct {
		ULONG LowPart;
		LONG HighPart;
	} u;
	LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

#define NULL ((void *)0)
#define TRUE 1
#define FALSE 0

#define NTAPI __attribute__((stdcall))
#define WINAPI __attribute__((stdcall))
#define CALLBACK __attribute__((stdcall))
/* Marks a function the module's .def file exports (the .def is the list). */
#define DLLEXPORT

#define INVALID_HANDLE_VALUE ((HANDLE)(LONG_PTR)-1)
#define NtCurrentProcess() ((HANDLE)(LONG_PTR)-1)
#define NtCurrentThread() ((HANDLE)(LONG_PTR)-2)

#define NT_SUCCESS(s) ((NTSTATUS)(s) >= 0)
#define SUCCEEDED(hr) ((HRESULT)(hr) >= 0)
#define FAILED(hr) ((HRESULT)(hr) < 0)
#define FACILITY_WIN32 7
/* winerror.h's HRESULT_FROM_WIN32, as a function so the value flows. */
static inline HRESULT HRESULT_FROM_WIN32(ULONG x)
{
	return (HRESULT)x <= 0 ? (HRESULT)x
			       : (HRESULT)((x & 0x0000FFFF) | (FACILITY_WIN32 << 16) | 0x80000000);
}
#define S_OK ((HRESULT)0)

/* ===================== NTSTATUS values used by the guests ===================== */

#define STATUS_SUCCESS ((NTSTATUS)0x00000000)
#define STATUS_TIMEOUT ((NTSTATUS)0x00000102)
#define STATUS_PENDING ((NTSTATUS)0x00000103)
#define STATUS_BUFFER_OVERFLOW ((NTSTATUS)0x80000005)
#define STATUS_NO_MORE_ENTRIES ((NTSTATUS)0x8000001A)
#define STATUS_UNSUCCESSFUL ((NTSTATUS)0xC0000001)
#define STATUS_NOT_IMPLEMENTED ((NTSTATUS)0xC0000002)
#define STATUS_INVALID_HANDLE ((NTSTATUS)0xC0000008)
#define STATUS_INVALID_PARAMETER ((NTSTATUS)0xC000000D)
#define STATUS_NO_SUCH_DEVICE ((NTSTATUS)0xC000000E)
#define STATUS_NO_MEMORY ((NTSTATUS)0xC0000017)
#define STATUS_ACCESS_DENIED ((NTSTATUS)0xC0000022)
#define STATUS_BUFFER_TOO_SMALL ((NTSTATUS)0xC0000023)
#define STATUS_OBJECT_NAME_NOT_FOUND ((NTSTATUS)0xC0000034)
#define STATUS_OBJECT_PATH_NOT_FOUND ((NTSTATUS)0xC000003A)
#define STATUS_NOT_SUPPORTED ((NTSTATUS)0xC00000BB)

/* ===================== Win32 error codes (winerror.h) ===================== */

#define NO_ERROR 0UL
#define ERROR_SUCCESS 0UL
#define ERROR_INVALID_FUNCTION 1UL
#define ERROR_FILE_NOT_FOUND 2UL
#define ERROR_PATH_NOT_FOUND 3UL
#define ERROR_ACCESS_DENIED 5UL
#define ERROR_INVALID_HANDLE 6UL
#define ERROR_NOT_ENOUGH_MEMORY 8UL
#define ERROR_INVALID_PARAMETER 87UL
#define ERROR_INSUFFICIENT_BUFFER 122UL
#define ERROR_MORE_DATA 234UL
#define ERROR_NO_MORE_ITEMS 259UL
#define ERROR_MR_MID_NOT_FOUND 317UL
#define ERROR_IO_PENDING 997UL
#define ERROR_SERVICE_SPECIFIC_ERROR 1066UL
#define ERROR_FAILED_SERVICE_CONTROLLER_CONNECT 1063UL
#define ERROR_INVALID_SERVICE_CONTROL 1052UL
#define ERROR_SERVICE_DOES_NOT_EXIST 1060UL
#define ERROR_REVISION_MISMATCH 1306UL

/* ===================== kernel object ABI ===================== */

typedef struct _UNICODE_STRING {
	USHORT Length;        /* bytes, without the terminator */
	USHORT MaximumLength; /* bytes of Buffer */
	PWSTR Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

typedef struct _STRING {
	USHORT Length;
	USHORT MaximumLength;
	PCHAR Buffer;
} STRING, ANSI_STRING, *PSTRING, *PANSI_STRING;

#define OBJ_CASE_INSENSITIVE 0x00000040UL
typedef struct _OBJECT_ATTRIBUTES { /* 0x18 bytes */
	ULONG Length;                     /* +0x00 sizeof(OBJECT_ATTRIBUTES) */
	HANDLE RootDirectory;             /* +0x04 */
	PUNICODE_STRING ObjectName;       /* +0x08 */
	ULONG Attributes;                 /* +0x0C OBJ_* */
	PVOID SecurityDescriptor;         /* +0x10 */
	PVOID SecurityQualityOfService;   /* +0x14 */
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;

static inline void InitializeObjectAttributes(POBJECT_ATTRIBUTES p, PUNICODE_STRING n, ULONG a,
					      HANDLE r, PVOID s)
{
	p->Length = sizeof(*p);
	p->RootDirectory = r;
	p->Attributes = a;
	p->ObjectName = n;
	p->SecurityDescriptor = s;
	p->SecurityQualityOfService = NULL;
}

typedef struct _IO_STATUS_BLOCK { /* 8 bytes */
	union {
		NTSTATUS Status;
		PVOID Pointer;
	} u;                          /* +0x00 */
	ULONG_PTR Information;        /* +0x04 */
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;

typedef VOID(NTAPI *PIO_APC_ROUTINE)(PVOID, PIO_STATUS_BLOCK, ULONG);

typedef struct _CLIENT_ID {
	HANDLE UniqueProcess;
	HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;

typedef struct _INITIAL_TEB { /* 0x14 bytes, as NtCreateThread reads it */
	PVOID PreviousStackBase;      /* +0x00 */
	PVOID PreviousStackLimit;     /* +0x04 */
	PVOID StackBase;              /* +0x08 highest address (exclusive) */
	PVOID StackLimit;             /* +0x0C lowest committed address */
	PVOID AllocatedStackBase;     /* +0x10 lowest reserved address */
} INITIAL_TEB, *PINITIAL_TEB;

typedef struct _FLOATING_SAVE_AREA { /* 0x70 bytes */
	ULONG ControlWord, StatusWord, TagWord, ErrorOffset, ErrorSelector, DataOffset,
		DataSelector;
	UCHAR RegisterArea[80];
	ULONG Cr0NpxState;
} FLOATING_SAVE_AREA;

#define CONTEXT_i386 0x00010000UL
#define CONTEXT_CONTROL (CONTEXT_i386 | 0x1)
#define CONTEXT_INTEGER (CONTEXT_i386 | 0x2)
#define CONTEXT_SEGMENTS (CONTEXT_i386 | 0x4)
#define CONTEXT_FULL (CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_SEGMENTS)
typedef struct _CONTEXT { /* 0x2CC bytes */
	ULONG ContextFlags;                          /* +0x00 */
	ULONG Dr0, Dr1, Dr2, Dr3, Dr6, Dr7;          /* +0x04 */
	FLOATING_SAVE_AREA FloatSave;                /* +0x1C */
	ULONG SegGs, SegFs, SegEs, SegDs;            /* +0x8C */
	ULONG Edi, Esi, Ebx, Edx, Ecx, Eax;          /* +0x9C */
	ULONG Ebp, Eip, SegCs, EFlags, Esp, SegSs;   /* +0xB4 */
	UCHAR ExtendedRegisters[512];                /* +0xCC */
} CONTEXT, *PCONTEXT;

/* Thread Environment Block: only the fields the guests touch. */
typedef struct _TEB {
	PVOID ExceptionList;          /* +0x000 */
	PVOID StackBase;              /* +0x004 */
	PVOID StackLimit;             /* +0x008 */
	PVOID SubSystemTib;           /* +0x00C */
	PVOID FiberData;              /* +0x010 */
	PVOID ArbitraryUserPointer;   /* +0x014 */
	struct _TEB *Self;            /* +0x018 */
	PVOID EnvironmentPointer;     /* +0x01C */
	CLIENT_ID ClientId;           /* +0x020 */
	PVOID ActiveRpcHandle;        /* +0x028 */
	PVOID ThreadLocalStoragePointer; /* +0x02C */
	struct _PEB *ProcessEnvironmentBlock; /* +0x030 */
	ULONG LastErrorValue;         /* +0x034 Win32 last error */
	UCHAR Reserved[0xBF4 - 0x38];
	NTSTATUS LastStatusValue;     /* +0xBF4 last status RtlNtStatusToDosError saw */
} TEB, *PTEB;

typedef struct _PEB {
	BOOLEAN InheritedAddressSpace;  /* +0x000 */
	BOOLEAN ReadImageFileExecOptions;
	BOOLEAN BeingDebugged;          /* +0x002 */
	BOOLEAN SpareBool;
	HANDLE Mutant;                  /* +0x004 */
	PVOID ImageBaseAddress;         /* +0x008 */
	PVOID Ldr;                      /* +0x00C PEB_LDR_DATA */
	PVOID ProcessParameters;        /* +0x010 */
	PVOID SubSystemData;            /* +0x014 */
	PVOID ProcessHeap;              /* +0x018 set by kernel32 at attach */
} PEB, *PPEB;

static inline PTEB NtCurrentTeb(void)
{
	PTEB teb;
	__asm__ __volatile__("movl %%fs:0x18, %0" : "=r"(teb));
	return teb;
}
static inline PPEB NtCurrentPeb(void) { return NtCurrentTeb()->ProcessEnvironmentBlock; }

/* KUSER_SHARED_DATA at 0x7ffe0000 (fields read by the guests). */
#define MM_SHARED_USER_DATA_VA 0x7ffe0000UL
#define KUSD_TICK_COUNT_MULTIPLIER 0x004 /* ULONG, 24.8 fixed point scale */
#define KUSD_SYSTEM_CALL 0x300           /* ULONG, &KiFastSystemCall */
#define KUSD_TICK_COUNT 0x320            /* KSYSTEM_TIME, low part */

/* Access masks, create dispositions and options (ntifs.h / winnt.h). */
#define DELETE 0x00010000UL
#define SYNCHRONIZE 0x00100000UL
#define GENERIC_READ 0x80000000UL
#define GENERIC_WRITE 0x40000000UL
#define GENERIC_EXECUTE 0x20000000UL
#define GENERIC_ALL 0x10000000UL
#define FILE_READ_DATA 0x0001UL
#define FILE_WRITE_DATA 0x0002UL
#define FILE_APPEND_DATA 0x0004UL
#define FILE_READ_ATTRIBUTES 0x0080UL
#define FILE_GENERIC_READ 0x00120089UL
#define FILE_GENERIC_WRITE 0x00120116UL
#define FILE_SHARE_READ 0x1UL
#define FILE_SHARE_WRITE 0x2UL
#define FILE_SHARE_DELETE 0x4UL
#define FILE_ATTRIBUTE_NORMAL 0x80UL
#define FILE_SUPERSEDE 0UL
#define FILE_OPEN 1UL
#define FILE_CREATE 2UL
#define FILE_OPEN_IF 3UL
#define FILE_OVERWRITE 4UL
#define FILE_OVERWRITE_IF 5UL
#define FILE_SYNCHRONOUS_IO_NONALERT 0x00000020UL
#define FILE_NON_DIRECTORY_FILE 0x00000040UL
#define CREATE_NEW 1UL
#define CREATE_ALWAYS 2UL
#define OPEN_EXISTING 3UL
#define OPEN_ALWAYS 4UL
#define TRUNCATE_EXISTING 5UL
#define FILE_FLAG_OVERLAPPED 0x40000000UL
#define KEY_QUERY_VALUE 0x0001UL
#define KEY_ENUMERATE_SUB_KEYS 0x0008UL
#define KEY_READ 0x00020019UL
#define EVENT_ALL_ACCESS 0x001F0003UL
#define THREAD_ALL_ACCESS 0x001F03FFUL

typedef enum _EVENT_TYPE { NotificationEvent, SynchronizationEvent } EVENT_TYPE;

#define MEM_COMMIT 0x1000UL
#define MEM_RESERVE 0x2000UL
#define MEM_RELEASE 0x8000UL
#define PAGE_NOACCESS 0x01UL
#define PAGE_READONLY 0x02UL
#define PAGE_READWRITE 0x04UL
#define PAGE_GUARD 0x100UL

#define INFINITE 0xFFFFFFFFUL
#define WAIT_OBJECT_0 0UL
#define WAIT_TIMEOUT 258UL
#define WAIT_FAILED 0xFFFFFFFFUL

/* Registry */
typedef enum _KEY_VALUE_INFORMATION_CLASS {
	KeyValueBasicInformation,
	KeyValueFullInformation,
	KeyValuePartialInformation
} KEY_VALUE_INFORMATION_CLASS;
typedef struct _KEY_VALUE_PARTIAL_INFORMATION {
	ULONG TitleIndex; /* +0x0 */
	ULONG Type;       /* +0x4 REG_* */
	ULONG DataLength; /* +0x8 bytes of Data */
	UCHAR Data[1];    /* +0xC */
} KEY_VALUE_PARTIAL_INFORMATION, *PKEY_VALUE_PARTIAL_INFORMATION;
#define REG_NONE 0UL
#define REG_SZ 1UL
#define REG_EXPAND_SZ 2UL
#define REG_BINARY 3UL
#define REG_DWORD 4UL
#define REG_MULTI_SZ 7UL
#define HKEY_CLASSES_ROOT ((HKEY)(ULONG_PTR)0x80000000UL)
#define HKEY_CURRENT_USER ((HKEY)(ULONG_PTR)0x80000001UL)
#define HKEY_LOCAL_MACHINE ((HKEY)(ULONG_PTR)0x80000002UL)
#define HKEY_USERS ((HKEY)(ULONG_PTR)0x80000003UL)

/* Device I/O control codes (devioctl.h CTL_CODE). */
#define CTL_CODE(DeviceType, Function, Method, Access) \
	(((DeviceType) << 16) | ((Access) << 14) | ((Function) << 2) | (Method))
#define METHOD_BUFFERED 0
#define METHOD_IN_DIRECT 1
#define METHOD_OUT_DIRECT 2
#define METHOD_NEITHER 3
#define FILE_ANY_ACCESS 0
#define FILE_READ_ACCESS 1
#define FILE_WRITE_ACCESS 2
#define FILE_DEVICE_NETWORK 0x00000012

typedef struct _RTL_CRITICAL_SECTION { /* 0x18 bytes */
	PVOID DebugInfo;
	LONG LockCount;      /* -1 free, >= 0 held */
	LONG RecursionCount; /* owner's nesting depth */
	HANDLE OwningThread; /* ClientId.UniqueThread of the owner */
	HANDLE LockSemaphore;
	ULONG_PTR SpinCount;
} RTL_CRITICAL_SECTION, *PRTL_CRITICAL_SECTION;
typedef RTL_CRITICAL_SECTION CRITICAL_SECTION, *LPCRITICAL_SECTION;

/* ===================== Win32 structures ===================== */

typedef struct _OVERLAPPED {
	ULONG_PTR Internal;
	ULONG_PTR InternalHigh;
	DWORD Offset;
	DWORD OffsetHigh;
	HANDLE hEvent;
} OVERLAPPED, *LPOVERLAPPED;

typedef struct _SECURITY_ATTRIBUTES {
	DWORD nLength;
	LPVOID lpSecurityDescriptor;
	BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

typedef DWORD(WINAPI *LPTHREAD_START_ROUTINE)(LPVOID);

/* Services (winsvc.h). */
typedef HANDLE SERVICE_STATUS_HANDLE;
typedef struct _SERVICE_STATUS { /* 0x1C bytes */
	DWORD dwServiceType;             /* +0x00 SERVICE_WIN32_* */
	DWORD dwCurrentState;            /* +0x04 SERVICE_STOPPED.. */
	DWORD dwControlsAccepted;        /* +0x08 SERVICE_ACCEPT_* */
	DWORD dwWin32ExitCode;           /* +0x0C */
	DWORD dwServiceSpecificExitCode; /* +0x10 valid when dwWin32ExitCode == 1066 */
	DWORD dwCheckPoint;              /* +0x14 */
	DWORD dwWaitHint;                /* +0x18 ms */
} SERVICE_STATUS, *LPSERVICE_STATUS;
typedef VOID(WINAPI *LPSERVICE_MAIN_FUNCTIONW)(DWORD, LPWSTR *);
typedef VOID(WINAPI *LPHANDLER_FUNCTION)(DWORD);
typedef DWORD(WINAPI *LPHANDLER_FUNCTION_EX)(DWORD, DWORD, LPVOID, LPVOID);
typedef struct _SERVICE_TABLE_ENTRYW {
	LPWSTR lpServiceName;
	LPSERVICE_MAIN_FUNCTIONW lpServiceProc;
} SERVICE_TABLE_ENTRYW, *LPSERVICE_TABLE_ENTRYW;
#define SERVICE_WIN32_OWN_PROCESS 0x10UL
#define SERVICE_WIN32_SHARE_PROCESS 0x20UL
#define SERVICE_STOPPED 1UL
#define SERVICE_START_PENDING 2UL
#define SERVICE_STOP_PENDING 3UL
#define SERVICE_RUNNING 4UL
#define SERVICE_ACCEPT_STOP 0x1UL
#define SERVICE_ACCEPT_SHUTDOWN 0x4UL
#define SERVICE_CONTROL_STOP 1UL
#define SERVICE_CONTROL_INTERROGATE 4UL
#define SERVICE_CONTROL_SHUTDOWN 5UL

/* HTTP Server API (http.h). */
typedef struct _HTTPAPI_VERSION {
	USHORT HttpApiMajorVersion;
	USHORT HttpApiMinorVersion;
} HTTPAPI_VERSION;
#define HTTPAPI_VERSION_1 ((HTTPAPI_VERSION){1, 0})
#define HTTPAPI_VERSION_2 ((HTTPAPI_VERSION){2, 0})
#define HTTP_INITIALIZE_SERVER 0x00000001UL
#define HTTP_INITIALIZE_CONFIG 0x00000002UL
typedef ULONGLONG HTTP_SERVER_SESSION_ID, *PHTTP_SERVER_SESSION_ID;
typedef enum _HTTP_SERVICE_CONFIG_ID {
	HttpServiceConfigIPListenList,
	HttpServiceConfigSSLCertInfo,
	HttpServiceConfigUrlAclInfo,
	HttpServiceConfigMax
} HTTP_SERVICE_CONFIG_ID;
typedef enum _HTTP_SERVICE_CONFIG_QUERY_TYPE {
	HttpServiceConfigQueryExact,
	HttpServiceConfigQueryNext,
	HttpServiceConfigQueryMax
} HTTP_SERVICE_CONFIG_QUERY_TYPE;
typedef struct _HTTP_SERVICE_CONFIG_SSL_QUERY {
	HTTP_SERVICE_CONFIG_QUERY_TYPE QueryDesc;
	struct { PVOID pIpPort; } KeyDesc;
	DWORD dwToken;
} HTTP_SERVICE_CONFIG_SSL_QUERY;

#endif /* STRAND_GUEST_NTLITE_H */
