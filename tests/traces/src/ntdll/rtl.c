/*
 * ntdll run-time library: status translation, last-error, strings, memory,
 * a small process heap, critical sections and debug output.
 *
 * Re-created for the strand fixtures; behaviour follows the documented
 * Windows Server 2003 semantics where a guest can observe it.
 */
#define STRAND_BUILDING_NTDLL
#include "ntdll.h"

/* ===================== NTSTATUS -> Win32 ===================== */

/* One run of consecutive statuses: Base .. Base + Length - 1 map to
 * RtlpStatusTable[Index ..].  Runs are sorted by Base (as unsigned). */
typedef struct _RTL_STATUS_RUN {
	ULONG Base;
	USHORT Length;
	USHORT Index;
} RTL_STATUS_RUN;

#include "statustable.inc"

#define RTLP_RUN_COUNT (sizeof(RtlpRunTable) / sizeof(RtlpRunTable[0]))

/* Translate without touching the TEB.  Statuses outside the table map to
 * ERROR_MR_MID_NOT_FOUND, as on Windows.  Win32 errors wrapped as
 * HRESULTs (0x8007xxxx) or as NTSTATUS (0xC007xxxx) unwrap to xxxx. */
ULONG NTAPI RtlNtStatusToDosErrorNoTeb(NTSTATUS Status)
{
	ULONG Code = (ULONG)Status;
	ULONG i;

	if (Code == 0)
		return NO_ERROR;
	/* customer-defined statuses pass through unchanged */
	if (Code & 0x20000000UL)
		return Code;
	if ((Code & 0xFFFF0000UL) == 0x80070000UL || (Code & 0xFFFF0000UL) == 0xC0070000UL)
		return Code & 0x0000FFFFUL;
	/* facility DEBUGGER-style 0xD... statuses are warnings of 0xC... */
	if ((Code & 0xF0000000UL) == 0xD0000000UL)
		Code &= 0xCFFFFFFFUL;

	for (i = 0; i < RTLP_RUN_COUNT; i++) {
		const RTL_STATUS_RUN *Run = &RtlpRunTable[i];
		ULONG Offset;

		if (Code < Run->Base)
			break;
		Offset = Code - Run->Base;
		if (Offset < Run->Length)
			return RtlpStatusTable[Run->Index + Offset];
	}
	return ERROR_MR_MID_NOT_FOUND;
}

/* Translate, remembering the status in TEB.LastStatusValue. */
ULONG NTAPI RtlNtStatusToDosError(NTSTATUS Status)
{
	NtCurrentTeb()->LastStatusValue = Status;
	return RtlNtStatusToDosErrorNoTeb(Status);
}

ULONG NTAPI RtlGetLastWin32Error(void) { return NtCurrentTeb()->LastErrorValue; }

void NTAPI RtlSetLastWin32Error(ULONG Error) { NtCurrentTeb()->LastErrorValue = Error; }

NTSTATUS NTAPI RtlGetLastNtStatus(void) { return NtCurrentTeb()->LastStatusValue; }

PPEB NTAPI RtlGetCurrentPeb(void) { return NtCurrentPeb(); }

/* ===================== C run-time subset ===================== */

void *__cdecl memcpy(void *d, const void *s, SIZE_T n)
{
	UCHAR *dp = d;
	const UCHAR *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *__cdecl memmove(void *d, const void *s, SIZE_T n)
{
	UCHAR *dp = d;
	const UCHAR *sp = s;

	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

void *__cdecl memset(void *d, int c, SIZE_T n)
{
	UCHAR *dp = d;

	while (n--)
		*dp++ = (UCHAR)c;
	return d;
}

int __cdecl memcmp(const void *a, const void *b, SIZE_T n)
{
	const UCHAR *ap = a, *bp = b;

	for (; n; n--, ap++, bp++)
		if (*ap != *bp)
			return *ap < *bp ? -1 : 1;
	return 0;
}

SIZE_T __cdecl strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return (SIZE_T)(p - s);
}

SIZE_T __cdecl wcslen(const WCHAR *s)
{
	const WCHAR *p = s;

	while (*p)
		p++;
	return (SIZE_T)(p - s);
}

void NTAPI RtlCopyMemory(PVOID Dest, const void *Src, SIZE_T Length) { memcpy(Dest, Src, Length); }
void NTAPI RtlMoveMemory(PVOID Dest, const void *Src, SIZE_T Length) { memmove(Dest, Src, Length); }
void NTAPI RtlFillMemory(PVOID Dest, SIZE_T Length, UCHAR Fill) { memset(Dest, Fill, Length); }
void NTAPI RtlZeroMemory(PVOID Dest, SIZE_T Length) { memset(Dest, 0, Length); }

/* Number of leading bytes that are equal. */
SIZE_T NTAPI RtlCompareMemory(const void *a, const void *b, SIZE_T Length)
{
	const UCHAR *ap = a, *bp = b;
	SIZE_T i = 0;

	while (i < Length && ap[i] == bp[i])
		i++;
	return i;
}

/* ===================== counted strings ===================== */

void NTAPI RtlInitUnicodeString(PUNICODE_STRING Dest, PCWSTR Source)
{
	SIZE_T Bytes = Source ? wcslen(Source) * sizeof(WCHAR) : 0;

	if (Bytes > 0xFFFC)
		Bytes = 0xFFFC;
	Dest->Buffer = (PWSTR)Source;
	Dest->Length = (USHORT)Bytes;
	Dest->MaximumLength = Source ? (USHORT)(Bytes + sizeof(WCHAR)) : 0;
}

void NTAPI RtlInitAnsiString(PANSI_STRING Dest, PCSTR Source)
{
	SIZE_T Bytes = Source ? strlen(Source) : 0;

	if (Bytes > 0xFFFE)
		Bytes = 0xFFFE;
	Dest->Buffer = (PCHAR)Source;
	Dest->Length = (USHORT)Bytes;
	Dest->MaximumLength = Source ? (USHORT)(Bytes + 1) : 0;
}

static WCHAR RtlpUpcase(WCHAR c) { return (c >= 'a' && c <= 'z') ? (WCHAR)(c - 'a' + 'A') : c; }

BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING a, PCUNICODE_STRING b,
				    BOOLEAN CaseInsensitive)
{
	USHORT i;

	if (a->Length != b->Length)
		return FALSE;
	for (i = 0; i < a->Length / sizeof(WCHAR); i++) {
		WCHAR x = a->Buffer[i], y = b->Buffer[i];

		if (CaseInsensitive) {
			x = RtlpUpcase(x);
			y = RtlpUpcase(y);
		}
		if (x != y)
			return FALSE;
	}
	return TRUE;
}

NTSTATUS NTAPI RtlAppendUnicodeStringToString(PUNICODE_STRING Dest, PCUNICODE_STRING Source)
{
	if ((ULONG)Dest->Length + Source->Length > Dest->MaximumLength)
		return STATUS_BUFFER_TOO_SMALL;
	memcpy((UCHAR *)Dest->Buffer + Dest->Length, Source->Buffer, Source->Length);
	Dest->Length = (USHORT)(Dest->Length + Source->Length);
	if (Dest->Length + sizeof(WCHAR) <= Dest->MaximumLength)
		Dest->Buffer[Dest->Length / sizeof(WCHAR)] = 0;
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Dest, PCWSTR Source)
{
	UNICODE_STRING s;

	RtlInitUnicodeString(&s, Source);
	return RtlAppendUnicodeStringToString(Dest, &s);
}

/* ===================== critical sections ===================== */


NTSTATUS NTAPI RtlInitializeCriticalSection(PRTL_CRITICAL_SECTION cs)
{
	memset(cs, 0, sizeof(*cs));
	cs->LockCount = -1;
	return STATUS_SUCCESS;
}

/* Spin on the lock word, yielding the processor while another thread owns
 * it; the recorder's scheduler makes the yield a deterministic switch. */
NTSTATUS NTAPI RtlEnterCriticalSection(PRTL_CRITICAL_SECTION cs)
{
	HANDLE Self = NtCurrentTeb()->ClientId.UniqueThread;

	if (cs->OwningThread == Self && cs->LockCount >= 0) {
		cs->RecursionCount++;
		return STATUS_SUCCESS;
	}
	for (;;) {
		LONG Prev = __sync_val_compare_and_swap(&cs->LockCount, -1, 0);

		if (Prev == -1)
			break;
		NtYieldExecution();
	}
	cs->OwningThread = Self;
	cs->RecursionCount = 1;
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlLeaveCriticalSection(PRTL_CRITICAL_SECTION cs)
{
	if (--cs->RecursionCount == 0) {
		cs->OwningThread = NULL;
		__sync_lock_test_and_set(&cs->LockCount, -1);
	}
	return STATUS_SUCCESS;
}

/* ===================== heap ===================== */

/*
 * A small first-fit heap.  A heap is one region from NtAllocateVirtualMemory
 * (reserved and committed at once) that starts with RTLP_HEAP; blocks follow,
 * each preceded by an 8-byte RTLP_BLOCK header.  Free blocks form a singly
 * linked list; freed blocks are reused but never coalesced (the guests free
 * little).  A full heap allocates another segment.
 */
#define RTLP_HEAP_SIGNATURE 0x70616548UL /* "Heap" */
#define RTLP_SEGMENT_SIZE 0x40000UL
typedef struct _RTLP_BLOCK {
	ULONG Size; /* bytes after the header, multiple of 8 */
	ULONG Busy; /* 1 allocated, 0 free (then the first 4 data bytes link) */
} RTLP_BLOCK;
typedef struct _RTLP_HEAP {
	ULONG Signature;
	ULONG Flags;
	UCHAR *Next;            /* first never-used byte of the segment */
	UCHAR *End;             /* end of the segment */
	RTLP_BLOCK *FreeList;   /* reusable blocks */
	RTL_CRITICAL_SECTION Lock;
	struct _RTLP_HEAP *Grow; /* next segment, or NULL */
} RTLP_HEAP;

PVOID NTAPI RtlCreateHeap(ULONG Flags, PVOID HeapBase, SIZE_T ReserveSize, SIZE_T CommitSize,
			  PVOID Lock, PVOID Parameters)
{
	PVOID Base = HeapBase;
	SIZE_T Size = ReserveSize ? ReserveSize : RTLP_SEGMENT_SIZE;
	RTLP_HEAP *Heap;

	/* A heap already formatted at HeapBase is returned as is. */
	if (Base && ((RTLP_HEAP *)Base)->Signature == RTLP_HEAP_SIGNATURE)
		return Base;
	if (!Base) {
		NTSTATUS Status = NtAllocateVirtualMemory(NtCurrentProcess(), &Base, 0, &Size,
							  MEM_RESERVE | MEM_COMMIT,
							  PAGE_READWRITE);
		if (!NT_SUCCESS(Status))
			return NULL;
	}
	Heap = Base;
	Heap->Signature = RTLP_HEAP_SIGNATURE;
	Heap->Flags = Flags;
	Heap->Next = (UCHAR *)Base + ((sizeof(RTLP_HEAP) + 15) & ~15UL);
	Heap->End = (UCHAR *)Base + Size;
	Heap->FreeList = NULL;
	Heap->Grow = NULL;
	RtlInitializeCriticalSection(&Heap->Lock);
	return Heap;
}

static PVOID RtlpAllocateFromSegment(RTLP_HEAP *Heap, ULONG Need)
{
	RTLP_BLOCK **Link = &Heap->FreeList;
	RTLP_BLOCK *Block;

	for (Block = *Link; Block; Link = (RTLP_BLOCK **)(Block + 1), Block = *Link) {
		if (Block->Size >= Need) {
			*Link = *(RTLP_BLOCK **)(Block + 1);
			Block->Busy = 1;
			return Block + 1;
		}
	}
	if ((ULONG)(Heap->End - Heap->Next) < Need + sizeof(RTLP_BLOCK))
		return NULL;
	Block = (RTLP_BLOCK *)Heap->Next;
	Block->Size = Need;
	Block->Busy = 1;
	Heap->Next += sizeof(RTLP_BLOCK) + Need;
	return Block + 1;
}

PVOID NTAPI RtlAllocateHeap(PVOID HeapHandle, ULONG Flags, SIZE_T Size)
{
	RTLP_HEAP *Heap = HeapHandle;
	ULONG Need = (Size + 7) & ~7UL;
	PVOID Result = NULL;

	if (!Heap || Heap->Signature != RTLP_HEAP_SIGNATURE || Size > 0x7FFF0000UL)
		return NULL;
	if (Need == 0)
		Need = 8;
	RtlEnterCriticalSection(&Heap->Lock);
	for (RTLP_HEAP *Seg = Heap; Seg; Seg = Seg->Grow) {
		Result = RtlpAllocateFromSegment(Seg, Need);
		if (Result)
			break;
		if (!Seg->Grow) {
			SIZE_T Reserve = Need + 0x1000 > RTLP_SEGMENT_SIZE
						 ? (Need + 0x1FFF) & ~0xFFFUL
						 : RTLP_SEGMENT_SIZE;
			Seg->Grow = RtlCreateHeap(Heap->Flags, NULL, Reserve, Reserve, NULL, NULL);
		}
	}
	RtlLeaveCriticalSection(&Heap->Lock);
	if (Result && ((Flags | Heap->Flags) & HEAP_ZERO_MEMORY))
		memset(Result, 0, Size);
	return Result;
}

BOOLEAN NTAPI RtlFreeHeap(PVOID HeapHandle, ULONG Flags, PVOID BaseAddress)
{
	RTLP_HEAP *Heap = HeapHandle;
	RTLP_BLOCK *Block;

	if (!BaseAddress)
		return TRUE;
	if (!Heap || Heap->Signature != RTLP_HEAP_SIGNATURE)
		return FALSE;
	Block = (RTLP_BLOCK *)BaseAddress - 1;
	if (Block->Busy != 1)
		return FALSE;
	RtlEnterCriticalSection(&Heap->Lock);
	Block->Busy = 0;
	*(RTLP_BLOCK **)BaseAddress = Heap->FreeList;
	Heap->FreeList = Block;
	RtlLeaveCriticalSection(&Heap->Lock);
	return TRUE;
}

/* ===================== formatting ===================== */

/* Output cursor of the formatter; Length counts every character that
 * would have been written, Size bounds what is stored (NUL included). */
typedef struct _RTLP_FMT {
	char *Buffer;
	SIZE_T Size;
	SIZE_T Length;
} RTLP_FMT;

static void RtlpPutChar(RTLP_FMT *f, char c)
{
	if (f->Length + 1 < f->Size)
		f->Buffer[f->Length] = c;
	f->Length++;
}

static const char RtlpHexDigitsLower[] = "0123456789abcdef";
static const char RtlpHexDigitsUpper[] = "0123456789ABCDEF";

static void RtlpPutNumber(RTLP_FMT *f, ULONG Value, ULONG Radix, const char *Digits, int Width,
			  char Pad, int Negative)
{
	char Tmp[12];
	int n = 0;

	do {
		Tmp[n++] = Digits[Value % Radix];
		Value /= Radix;
	} while (Value);
	if (Negative)
		Tmp[n++] = '-';
	while (Width-- > n)
		RtlpPutChar(f, Pad);
	while (n)
		RtlpPutChar(f, Tmp[--n]);
}

/* The subset of printf the guests use: %c %s %S(wide) %d %i %u %x %X %p %%,
 * with '0' flag, field width and an ignored 'l'/'h' size. */
int __cdecl _vsnprintf(char *buf, SIZE_T size, const char *fmt, __builtin_va_list ap)
{
	RTLP_FMT f = {buf, size, 0};

	for (; *fmt; fmt++) {
		char Pad = ' ';
		int Width = 0;

		if (*fmt != '%') {
			RtlpPutChar(&f, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			Pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			Width = Width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'h')
			fmt++;
		switch (*fmt) {
		case 'c':
			RtlpPutChar(&f, (char)__builtin_va_arg(ap, int));
			break;
		case 's': {
			const char *s = __builtin_va_arg(ap, const char *);

			if (!s)
				s = "(null)";
			while (*s)
				RtlpPutChar(&f, *s++);
			break;
		}
		case 'S': {
			const WCHAR *s = __builtin_va_arg(ap, const WCHAR *);

			while (s && *s)
				RtlpPutChar(&f, (char)*s++);
			break;
		}
		case 'd':
		case 'i': {
			LONG v = __builtin_va_arg(ap, LONG);

			RtlpPutNumber(&f, v < 0 ? 0UL - (ULONG)v : (ULONG)v, 10, RtlpHexDigitsLower,
				      Width, Pad, v < 0);
			break;
		}
		case 'u':
			RtlpPutNumber(&f, __builtin_va_arg(ap, ULONG), 10, RtlpHexDigitsLower, Width,
				      Pad, 0);
			break;
		case 'x':
			RtlpPutNumber(&f, __builtin_va_arg(ap, ULONG), 16, RtlpHexDigitsLower, Width,
				      Pad, 0);
			break;
		case 'X':
			RtlpPutNumber(&f, __builtin_va_arg(ap, ULONG), 16, RtlpHexDigitsUpper, Width,
				      Pad, 0);
			break;
		case 'p':
			RtlpPutNumber(&f, (ULONG)__builtin_va_arg(ap, PVOID), 16, RtlpHexDigitsUpper,
				      8, '0', 0);
			break;
		case '%':
			RtlpPutChar(&f, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			RtlpPutChar(&f, '%');
			RtlpPutChar(&f, *fmt);
			break;
		}
	}
	if (size)
		buf[f.Length < size ? f.Length : size - 1] = '\0';
	return (int)f.Length;
}

int __cdecl _snprintf(char *buf, SIZE_T size, const char *fmt, ...)
{
	__builtin_va_list ap;
	int n;

	__builtin_va_start(ap, fmt);
	n = _vsnprintf(buf, size, fmt, ap);
	__builtin_va_end(ap);
	return n;
}

/* ===================== debug output ===================== */

/*
 * Debug output goes to the debug-output sink device.  On Windows DbgPrint
 * traps into the kernel debugger (int 2Dh); here the "debugger" is a device
 * the recorder models, and each message is one NtWriteFile on it.  The
 * handle is opened on first use and shared by all threads.
 */
#define RTLP_DEBUG_SINK L"\\Device\\DebugLog"
static HANDLE RtlpDebugSink;

static HANDLE RtlpOpenDebugSink(void)
{
	UNICODE_STRING Name;
	OBJECT_ATTRIBUTES Attributes;
	IO_STATUS_BLOCK Iosb;
	HANDLE Handle = RtlpDebugSink, Prev;
	NTSTATUS Status;

	if (Handle)
		return Handle;
	RtlInitUnicodeString(&Name, RTLP_DEBUG_SINK);
	InitializeObjectAttributes(&Attributes, &Name, OBJ_CASE_INSENSITIVE, NULL, NULL);
	Status = NtCreateFile(&Handle, FILE_GENERIC_WRITE, &Attributes, &Iosb, NULL,
			      FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN,
			      FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE, NULL, 0);
	if (!NT_SUCCESS(Status))
		return NULL;
	Prev = __sync_val_compare_and_swap(&RtlpDebugSink, NULL, Handle);
	if (Prev) {
		NtClose(Handle);
		return Prev;
	}
	return Handle;
}

/* Write Length bytes of Text as one debug message. */
static NTSTATUS RtlDebugOutputString(PCSTR Text, ULONG Length)
{
	HANDLE Sink = RtlpOpenDebugSink();
	IO_STATUS_BLOCK Iosb;

	if (!Sink)
		return STATUS_UNSUCCESSFUL;
	return NtWriteFile(Sink, NULL, NULL, NULL, &Iosb, (PVOID)Text, Length, NULL, NULL);
}

ULONG __cdecl DbgPrint(PCSTR Format, ...)
{
	char Buffer[512];
	__builtin_va_list ap;
	int n;

	__builtin_va_start(ap, Format);
	n = _vsnprintf(Buffer, sizeof(Buffer), Format, ap);
	__builtin_va_end(ap);
	if (n < 0 || n >= (int)sizeof(Buffer))
		n = sizeof(Buffer) - 1;
	return (ULONG)RtlDebugOutputString(Buffer, (ULONG)n);
}

/* ntdll has no DllMain on Windows: LdrpInitializeProcess sets the process
 * up.  The guest's entry point does the part the guests rely on: format
 * the zero-filled region the loader gives as PEB.ProcessHeap (kernel32
 * does the same again, harmlessly, in case this entry is not run). */
#define DLL_PROCESS_ATTACH 1
BOOL WINAPI NtdllEntry(HINSTANCE Instance, DWORD Reason, LPVOID Reserved)
{
	PPEB Peb = NtCurrentPeb();

	if (Reason == DLL_PROCESS_ATTACH)
		Peb->ProcessHeap = RtlCreateHeap(HEAP_GROWABLE, Peb->ProcessHeap, 0x10000, 0x10000,
						 NULL, NULL);
	return TRUE;
}
