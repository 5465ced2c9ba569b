/*
 * advapi32 registry API over the native key services.  Like Windows, the
 * Reg* functions return the Win32 error (LSTATUS) instead of setting the
 * last error; NTSTATUS values are translated by RtlNtStatusToDosError.
 */
#define STRAND_BUILDING_ADVAPI32
#include "advapi32.h"
#include "kernel32.h"
#include "ntdll.h"

#define REG_MAX_PATH 256 /* WCHARs of an absolute key name */

/* NT name of a predefined root key, or NULL if hKey is an opened key. */
static PCWSTR BaseRegRootName(HKEY hKey)
{
	switch ((ULONG_PTR)hKey) {
	case 0x80000002UL: return L"\\Registry\\Machine";
	case 0x80000003UL: return L"\\Registry\\User";
	default: return NULL;
	}
}

static BOOL BaseRegIsPredefined(HKEY hKey) { return ((ULONG_PTR)hKey & 0xF0000000UL) == 0x80000000UL; }

LSTATUS WINAPI RegOpenKeyExW(HKEY hKey, LPCWSTR lpSubKey, DWORD ulOptions, REGSAM samDesired,
			     PHKEY phkResult)
{
	WCHAR Buffer[REG_MAX_PATH];
	UNICODE_STRING Name;
	OBJECT_ATTRIBUTES Attributes;
	PCWSTR Root = BaseRegRootName(hKey);
	HANDLE Key = NULL;
	NTSTATUS Status;

	if (!phkResult)
		return ERROR_INVALID_PARAMETER;
	*phkResult = NULL;
	if (BaseRegIsPredefined(hKey) && !Root)
		return ERROR_INVALID_HANDLE;
	if (Root) {
		/* predefined root: open by absolute name */
		Name.Buffer = Buffer;
		Name.Length = 0;
		Name.MaximumLength = sizeof(Buffer);
		if (!NT_SUCCESS(RtlAppendUnicodeToString(&Name, Root)))
			return ERROR_INVALID_PARAMETER;
		if (lpSubKey && *lpSubKey &&
		    (!NT_SUCCESS(RtlAppendUnicodeToString(&Name, L"\\")) ||
		     !NT_SUCCESS(RtlAppendUnicodeToString(&Name, lpSubKey))))
			return ERROR_INVALID_PARAMETER;
		InitializeObjectAttributes(&Attributes, &Name, OBJ_CASE_INSENSITIVE, NULL, NULL);
	} else {
		/* opened key: open relative to it */
		RtlInitUnicodeString(&Name, lpSubKey ? lpSubKey : L"");
		InitializeObjectAttributes(&Attributes, &Name, OBJ_CASE_INSENSITIVE, hKey, NULL);
	}
	Status = NtOpenKey(&Key, samDesired, &Attributes);
	if (!NT_SUCCESS(Status))
		return RtlNtStatusToDosError(Status);
	*phkResult = Key;
	return ERROR_SUCCESS;
}

LSTATUS WINAPI RegQueryValueExW(HKEY hKey, LPCWSTR lpValueName, LPDWORD lpReserved,
				LPDWORD lpType, LPBYTE lpData, LPDWORD lpcbData)
{
	UCHAR Stack[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + 256];
	PKEY_VALUE_PARTIAL_INFORMATION Info = (PKEY_VALUE_PARTIAL_INFORMATION)Stack;
	ULONG InfoSize = sizeof(Stack), Result = 0;
	UNICODE_STRING Name;
	NTSTATUS Status;
	LSTATUS Error = ERROR_SUCCESS;

	if (lpReserved || (lpData && !lpcbData))
		return ERROR_INVALID_PARAMETER;
	if (lpcbData && *lpcbData > 256) {
		InfoSize = sizeof(KEY_VALUE_PARTIAL_INFORMATION) + *lpcbData;
		Info = RtlAllocateHeap(GetProcessHeap(), 0, InfoSize);
		if (!Info)
			return ERROR_NOT_ENOUGH_MEMORY;
	}
	RtlInitUnicodeString(&Name, lpValueName ? lpValueName : L"");
	Status = NtQueryValueKey(hKey, &Name, KeyValuePartialInformation, Info, InfoSize, &Result);
	if (!NT_SUCCESS(Status) && Status != STATUS_BUFFER_OVERFLOW) {
		Error = RtlNtStatusToDosError(Status);
		goto out;
	}
	if (lpType)
		*lpType = Info->Type;
	if (lpcbData) {
		if (lpData && Info->DataLength > *lpcbData)
			Error = ERROR_MORE_DATA;
		else if (lpData)
			memcpy(lpData, Info->Data, Info->DataLength);
		*lpcbData = Info->DataLength;
	}
	if (Status == STATUS_BUFFER_OVERFLOW && Error == ERROR_SUCCESS && lpData)
		Error = ERROR_MORE_DATA;
out:
	if ((UCHAR *)Info != Stack)
		RtlFreeHeap(GetProcessHeap(), 0, Info);
	return Error;
}

LSTATUS WINAPI RegCloseKey(HKEY hKey)
{
	NTSTATUS Status;

	if (BaseRegIsPredefined(hKey))
		return ERROR_SUCCESS;
	Status = NtClose(hKey);
	return NT_SUCCESS(Status) ? ERROR_SUCCESS : RtlNtStatusToDosError(Status);
}
