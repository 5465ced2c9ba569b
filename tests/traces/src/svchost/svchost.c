/*
 * svchost.exe re-created for the strand fixtures: the generic service host,
 * run as "svchost.exe -k GROUP".  It reads the group's service list from
 * HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Svchost\GROUP
 * (REG_MULTI_SZ), builds a dispatch table of those it can host and becomes
 * their service control dispatcher.  Real svchost loads each ServiceDll at
 * run time; the guest links its one service DLL (iisw3adm.dll, W3SVC)
 * statically, since the recorder has no run-time loader.
 */
#include "advapi32.h"
#include "iisw3adm.h"
#include "kernel32.h"
#include "ntdll.h"

#define SVCHOST_KEY L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Svchost"
#define SVCHOST_MAX_SERVICES 8
#define SVCHOST_GROUP_MAX 32 /* WCHARs of a group name */

typedef struct _SVCHOST_DLL_ENTRY {
	LPCWSTR Name;
	LPSERVICE_MAIN_FUNCTIONW ServiceMain;
} SVCHOST_DLL_ENTRY;

static const SVCHOST_DLL_ENTRY SvcHostDlls[] = {
	{L"W3SVC", ServiceMain}, /* iisw3adm.dll */
};

static LPSERVICE_MAIN_FUNCTIONW SvcHostFindServiceMain(LPCWSTR Name)
{
	UNICODE_STRING Wanted, Known;
	ULONG i;

	RtlInitUnicodeString(&Wanted, Name);
	for (i = 0; i < sizeof(SvcHostDlls) / sizeof(SvcHostDlls[0]); i++) {
		RtlInitUnicodeString(&Known, SvcHostDlls[i].Name);
		if (RtlEqualUnicodeString(&Wanted, &Known, TRUE))
			return SvcHostDlls[i].ServiceMain;
	}
	return NULL;
}

/* ServiceMain of every hosted service: dispatch on argv[0]. */
void WINAPI SvcHostServiceMainThunk(DWORD dwArgc, LPWSTR *lpszArgv)
{
	LPSERVICE_MAIN_FUNCTIONW Main = dwArgc ? SvcHostFindServiceMain(lpszArgv[0]) : NULL;

	if (Main)
		Main(dwArgc, lpszArgv);
}

/* The group name after "-k" on the command line, into Group. */
static BOOL SvcHostParseGroup(WCHAR *Group, ULONG Max)
{
	PUNICODE_STRING CommandLine =
		(PUNICODE_STRING)((UCHAR *)NtCurrentPeb()->ProcessParameters + 0x40);
	const WCHAR *p = CommandLine->Buffer;
	const WCHAR *End = p + CommandLine->Length / sizeof(WCHAR);
	ULONG n = 0;

	for (; p + 2 < End; p++)
		if ((p[0] == '-' || p[0] == '/') && (p[1] == 'k' || p[1] == 'K') && p[2] == ' ')
			break;
	if (p + 2 >= End)
		return FALSE;
	for (p += 3; p < End && *p == ' '; p++)
		;
	while (p < End && *p != ' ' && n + 1 < Max)
		Group[n++] = *p++;
	Group[n] = 0;
	return n > 0;
}

/* Fill Table from the group's REG_MULTI_SZ list; returns the entry count. */
static ULONG SvcHostBuildTable(LPCWSTR Group, WCHAR *Names, DWORD NamesBytes,
			       SERVICE_TABLE_ENTRYW *Table)
{
	HKEY Key;
	DWORD Type = 0, Size = NamesBytes - 2 * sizeof(WCHAR);
	ULONG Count = 0;
	WCHAR *p;

	if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, SVCHOST_KEY, 0, KEY_READ, &Key) != ERROR_SUCCESS)
		return 0;
	memset(Names, 0, NamesBytes);
	if (RegQueryValueExW(Key, Group, NULL, &Type, (LPBYTE)Names, &Size) != ERROR_SUCCESS ||
	    Type != REG_MULTI_SZ)
		Size = 0;
	RegCloseKey(Key);
	for (p = Names; *p && Count < SVCHOST_MAX_SERVICES; p += wcslen(p) + 1) {
		if (!SvcHostFindServiceMain(p))
			continue; /* a service whose DLL this host does not carry */
		Table[Count].lpServiceName = p;
		Table[Count].lpServiceProc = SvcHostServiceMainThunk;
		Count++;
	}
	return Count;
}

int SvcHostMain(void)
{
	static WCHAR Names[256];
	SERVICE_TABLE_ENTRYW Table[SVCHOST_MAX_SERVICES + 1];
	WCHAR Group[SVCHOST_GROUP_MAX];
	ULONG Count;

	memset(Table, 0, sizeof(Table));
	if (!SvcHostParseGroup(Group, SVCHOST_GROUP_MAX))
		return (int)ERROR_INVALID_PARAMETER;
	Count = SvcHostBuildTable(Group, Names, sizeof(Names), Table);
	if (Count == 0)
		return (int)ERROR_SERVICE_DOES_NOT_EXIST;
	if (!StartServiceCtrlDispatcherW(Table))
		return (int)GetLastError();
	return 0;
}

void WINAPI SvcHostEntry(PPEB Peb)
{
	ExitProcess((UINT)SvcHostMain());
}
