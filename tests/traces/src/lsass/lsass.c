/*
 * lsass.exe re-created for the strand fixtures: the Local Security
 * Authority process of Windows Server 2003, reduced to what makes a
 * realistic trace around the HTTP SSL service it hosts.
 *
 * The main thread reads LSA policy values, starts three workers doing
 * unrelated work (policy reads with optional values absent, a wait for the
 * RPC-ready event that is retried until it exists, an audit log file) and
 * then becomes the service control dispatcher for the services lsass
 * hosts (HTTPFilter -> w3ssl!ServiceMain).  When the dispatcher returns
 * (every started service stopped) it tells the workers to finish, waits
 * for them and exits.
 *
 * None of the failures here are the case's failure: they are the benign
 * noise every real trace has (absent optional registry values and files,
 * a call that fails once and succeeds on retry).
 */
#include "advapi32.h"
#include "kernel32.h"
#include "ntdll.h"
#include "w3ssl.h"

#define LSA_KEY L"SYSTEM\\CurrentControlSet\\Control\\Lsa"
#define LSA_MSV_KEY L"SYSTEM\\CurrentControlSet\\Control\\Lsa\\MSV1_0"
#define LSA_RPC_EVENT L"LSA_RPC_SERVER_ACTIVE"
#define LSA_RPC_RETRY_MS 10UL
#define LSA_RPC_RETRIES 20

/* Policy read at start-up (defaults apply when a value is absent). */
typedef struct _LSAP_POLICY {
	ULONG LimitBlankPasswordUse;
	ULONG AuditBaseObjects;
	ULONG CrashOnAuditFail;
	ULONG RestrictAnonymous;
	ULONG NoLmHash;
	ULONG LmCompatibilityLevel;
	ULONG NtlmMinClientSec;
	ULONG ValuesRead;   /* how many values were present */
	ULONG ValuesAbsent; /* how many were absent (defaults used) */
} LSAP_POLICY;

static LSAP_POLICY LsapPolicy;
static HANDLE LsapShutdownEvent; /* set when the process is shutting down */
static HANDLE LsapPolicyReady;   /* set by the policy worker */

/* ===================== registry helpers ===================== */

/* A DWORD value of an open key; FALSE (default kept) if absent. */
static BOOL LsapQueryDword(HKEY Key, LPCWSTR Name, ULONG *Value, LSAP_POLICY *Counts)
{
	DWORD Type = 0, Data = 0, Size = sizeof(Data);
	LSTATUS Error = RegQueryValueExW(Key, Name, NULL, &Type, (LPBYTE)&Data, &Size);

	if (Error != ERROR_SUCCESS || Type != REG_DWORD) {
		Counts->ValuesAbsent++;
		return FALSE;
	}
	*Value = Data;
	Counts->ValuesRead++;
	return TRUE;
}

void LsapReadPolicy(LSAP_POLICY *Policy)
{
	HKEY Key;

	Policy->LimitBlankPasswordUse = 1;
	if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, LSA_KEY, 0, KEY_READ, &Key) != ERROR_SUCCESS)
		return;
	LsapQueryDword(Key, L"LimitBlankPasswordUse", &Policy->LimitBlankPasswordUse, Policy);
	LsapQueryDword(Key, L"AuditBaseObjects", &Policy->AuditBaseObjects, Policy);
	LsapQueryDword(Key, L"CrashOnAuditFail", &Policy->CrashOnAuditFail, Policy);
	LsapQueryDword(Key, L"RestrictAnonymous", &Policy->RestrictAnonymous, Policy);
	LsapQueryDword(Key, L"NoLmHash", &Policy->NoLmHash, Policy);
	LsapQueryDword(Key, L"LmCompatibilityLevel", &Policy->LmCompatibilityLevel, Policy);
	RegCloseKey(Key);
}

/* ===================== workers ===================== */

/* MSV1_0 authentication package settings; the key itself is optional. */
DWORD WINAPI LsapPolicyWorker(LPVOID Parameter)
{
	LSAP_POLICY *Policy = Parameter;
	HKEY Key;

	if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, LSA_MSV_KEY, 0, KEY_READ, &Key) == ERROR_SUCCESS) {
		LsapQueryDword(Key, L"NtlmMinClientSec", &Policy->NtlmMinClientSec, Policy);
		LsapQueryDword(Key, L"Auth0", &Policy->NtlmMinClientSec, Policy);
		RegCloseKey(Key);
	}
	SetEvent(LsapPolicyReady);
	return 0;
}

/* Netlogon-style client: waits until the LSA RPC server is active.  The
 * event is created by the main thread once policy is loaded, so the first
 * attempts fail with ERROR_FILE_NOT_FOUND and are retried. */
DWORD WINAPI LsapRpcClientWorker(LPVOID Parameter)
{
	HANDLE Event = NULL;
	int Attempt;

	for (Attempt = 0; Attempt < LSA_RPC_RETRIES; Attempt++) {
		Event = OpenEventW(SYNCHRONIZE, FALSE, LSA_RPC_EVENT);
		if (Event)
			break;
		Sleep(LSA_RPC_RETRY_MS);
	}
	if (!Event)
		return GetLastError();
	WaitForSingleObject(Event, INFINITE);
	CloseHandle(Event);
	WaitForSingleObject(LsapShutdownEvent, INFINITE);
	return 0;
}

/* Security audit: append a start-up record to the audit log; a previous
 * log that is absent is normal on a fresh boot. */
DWORD WINAPI LsapAuditWorker(LPVOID Parameter)
{
	static const char Record[] = "LSA audit: security subsystem started\r\n";
	LARGE_INTEGER Counter;
	HANDLE Old, Log;
	DWORD Written = 0;

	QueryPerformanceCounter(&Counter);
	Old = CreateFileW(L"C:\\WINDOWS\\system32\\config\\SecEvent.old", GENERIC_READ,
			  FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
	if (Old != INVALID_HANDLE_VALUE)
		CloseHandle(Old);
	Log = CreateFileW(L"C:\\WINDOWS\\debug\\lsaaudit.log", GENERIC_WRITE, FILE_SHARE_READ, NULL,
			  OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
	if (Log != INVALID_HANDLE_VALUE) {
		WriteFile(Log, Record, sizeof(Record) - 1, &Written, NULL);
		CloseHandle(Log);
	}
	WaitForSingleObject(LsapShutdownEvent, INFINITE);
	return 0;
}

/* ===================== hosted services ===================== */

typedef struct _LSAP_HOSTED_SERVICE {
	LPCWSTR Name;
	LPSERVICE_MAIN_FUNCTIONW ServiceMain;
} LSAP_HOSTED_SERVICE;

static const LSAP_HOSTED_SERVICE LsapHostedServices[] = {
	{L"HTTPFilter", ServiceMain}, /* w3ssl.dll */
};

/* ServiceMain of every service lsass hosts: find the service DLL's entry
 * by the service name the dispatcher passes in argv[0], and run it. */
void WINAPI LsapServiceMainThunk(DWORD dwArgc, LPWSTR *lpszArgv)
{
	UNICODE_STRING Wanted, Name;
	ULONG i;

	if (dwArgc == 0)
		return;
	RtlInitUnicodeString(&Wanted, lpszArgv[0]);
	for (i = 0; i < sizeof(LsapHostedServices) / sizeof(LsapHostedServices[0]); i++) {
		RtlInitUnicodeString(&Name, LsapHostedServices[i].Name);
		if (RtlEqualUnicodeString(&Wanted, &Name, TRUE)) {
			LsapHostedServices[i].ServiceMain(dwArgc, lpszArgv);
			return;
		}
	}
}

/* ===================== main ===================== */

int LsapMain(void)
{
	static WCHAR HttpFilterName[] = L"HTTPFilter";
	SERVICE_TABLE_ENTRYW Services[] = {
		{HttpFilterName, LsapServiceMainThunk},
		{NULL, NULL},
	};
	HANDLE Workers[3];
	HANDLE RpcActive;
	int Result = 0;

	LsapReadPolicy(&LsapPolicy);
	LsapShutdownEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	LsapPolicyReady = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (!LsapShutdownEvent || !LsapPolicyReady)
		return (int)GetLastError();

	Workers[0] = CreateThread(NULL, 0, LsapRpcClientWorker, NULL, 0, NULL);
	Workers[1] = CreateThread(NULL, 0, LsapPolicyWorker, &LsapPolicy, 0, NULL);
	Workers[2] = CreateThread(NULL, 0, LsapAuditWorker, NULL, 0, NULL);
	if (!Workers[0] || !Workers[1] || !Workers[2])
		return (int)GetLastError();

	WaitForSingleObject(LsapPolicyReady, INFINITE);
	RpcActive = CreateEventW(NULL, TRUE, TRUE, LSA_RPC_EVENT);

	if (!StartServiceCtrlDispatcherW(Services))
		Result = (int)GetLastError();

	SetEvent(LsapShutdownEvent);
	WaitForMultipleObjects(3, Workers, TRUE, INFINITE);
	CloseHandle(Workers[0]);
	CloseHandle(Workers[1]);
	CloseHandle(Workers[2]);
	if (RpcActive)
		CloseHandle(RpcActive);
	return Result;
}

/* Process entry (the loader passes the PEB). */
void WINAPI LsassEntry(PPEB Peb)
{
	ExitProcess((UINT)LsapMain());
}
