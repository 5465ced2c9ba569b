/*
 * iisw3adm.dll re-created for the strand fixtures: the IIS 6 web
 * administration service (W3SVC, hosted by svchost.exe -k iissvcs).  It
 * reaches HTTP.SYS by a different road than the HTTP SSL service:
 *
 *   ServiceMain
 *     WEB_ADMIN_SERVICE_StartServiceWork
 *       WEB_ADMIN_SERVICE_ReadConfiguration     registry (optional values)
 *       UL_AND_WORKER_MANAGER_Initialize
 *         HttpInitialize(1.0, HTTP_INITIALIZE_SERVER)   (no device yet)
 *         APP_POOL_Initialize
 *           HttpCreateHttpHandle                 \Device\Http\AppPool
 *
 * and stops with the Win32 error as its exit code (dwWin32ExitCode =
 * WIN32_FROM_HRESULT(hr), no service-specific code), unlike w3ssl.
 * C++ classes appear as CLASS_Method functions.
 */
#include "advapi32.h"
#include "httpapi.h"
#include "kernel32.h"
#include "ntdll.h"

#define W3SVC_PARAMETERS_KEY L"SYSTEM\\CurrentControlSet\\Services\\W3SVC\\Parameters"
#define W3SVC_WAIT_HINT 60000UL

/* ===================== debug printing ===================== */

static const char g_Hex[] = "0123456789abcdef";

/* Append s at *p (bounded by End). */
static char *WasAppend(char *p, char *End, const char *s)
{
	while (*s && p < End)
		*p++ = *s++;
	return p;
}

/* Append Value as 8 hex digits. */
static char *WasAppendHex(char *p, char *End, ULONG Value)
{
	int Shift;

	for (Shift = 28; Shift >= 0 && p < End; Shift -= 4)
		*p++ = g_Hex[(Value >> Shift) & 0xF];
	return p;
}

static char *WasAppendDecimal(char *p, char *End, ULONG Value)
{
	char Digits[10];
	int n = 0;

	do {
		Digits[n++] = (char)('0' + Value % 10);
		Value /= 10;
	} while (Value);
	while (n && p < End)
		*p++ = Digits[--n];
	return p;
}

/* "iisw3adm!FUNCTION [\FILE @ LINE]:MESSAGE hr = XXXXXXXX\n" */
static void WasTraceError(const char *Function, const char *File, ULONG Line,
			  const char *Message, HRESULT hr)
{
	char Buffer[320];
	char *p = Buffer, *End = Buffer + sizeof(Buffer) - 2;

	p = WasAppend(p, End, "iisw3adm!");
	p = WasAppend(p, End, Function);
	p = WasAppend(p, End, " [");
	p = WasAppend(p, End, File);
	p = WasAppend(p, End, " @ ");
	p = WasAppendDecimal(p, End, Line);
	p = WasAppend(p, End, "]:");
	p = WasAppend(p, End, Message);
	p = WasAppend(p, End, " hr = ");
	p = WasAppendHex(p, End, (ULONG)hr);
	*p++ = '\n';
	*p = '\0';
	OutputDebugStringA(Buffer);
}

/* winerror.h WIN32_FROM_HRESULT for FACILITY_WIN32 HRESULTs. */
static DWORD WIN32_FROM_HRESULT(HRESULT hr)
{
	if (((ULONG)hr & 0xFFFF0000UL) == 0x80070000UL)
		return (DWORD)(hr & 0xFFFF);
	return (DWORD)hr;
}

/* ===================== APP_POOL ===================== */

typedef struct _APP_POOL {
	LPCWSTR Name;
	HANDLE hAppPool; /* HTTP.SYS application pool, NULL until created */
} APP_POOL;

HRESULT APP_POOL_Initialize(APP_POOL *This, LPCWSTR Name)
{
	ULONG Error;
	HRESULT hr;

	This->Name = Name;
	Error = HttpCreateHttpHandle(&This->hAppPool, 0);
	if (Error != NO_ERROR) {
		hr = HRESULT_FROM_WIN32(Error);
		WasTraceError("APP_POOL::Initialize", "\\apppool.cxx", 212,
			      "Creating the HTTP.SYS application pool failed.", hr);
		This->hAppPool = NULL;
		return hr;
	}
	return S_OK;
}

void APP_POOL_Terminate(APP_POOL *This)
{
	if (This->hAppPool) {
		CloseHandle(This->hAppPool);
		This->hAppPool = NULL;
	}
}

/* ===================== UL_AND_WORKER_MANAGER ===================== */

typedef struct _UL_AND_WORKER_MANAGER {
	BOOL fHttpInitialized;
	APP_POOL DefaultAppPool;
} UL_AND_WORKER_MANAGER;

HRESULT UL_AND_WORKER_MANAGER_Initialize(UL_AND_WORKER_MANAGER *This)
{
	ULONG Error = HttpInitialize(HTTPAPI_VERSION_1, HTTP_INITIALIZE_SERVER, NULL);

	if (Error != NO_ERROR)
		return HRESULT_FROM_WIN32(Error);
	This->fHttpInitialized = TRUE;
	return APP_POOL_Initialize(&This->DefaultAppPool, L"DefaultAppPool");
}

void UL_AND_WORKER_MANAGER_Terminate(UL_AND_WORKER_MANAGER *This)
{
	APP_POOL_Terminate(&This->DefaultAppPool);
	if (This->fHttpInitialized) {
		HttpTerminate(HTTP_INITIALIZE_SERVER, NULL);
		This->fHttpInitialized = FALSE;
	}
}

/* ===================== WEB_ADMIN_SERVICE ===================== */

typedef struct _WEB_ADMIN_SERVICE {
	SERVICE_STATUS_HANDLE hStatus;
	SERVICE_STATUS Status;
	HANDLE hStopEvent;
	ULONG MaxPoolThreads;      /* registry, default 4 */
	ULONG StartupTimeLimit;    /* registry, seconds, default 90 */
	UL_AND_WORKER_MANAGER UlAndWorkerManager;
} WEB_ADMIN_SERVICE;

static WEB_ADMIN_SERVICE g_WebAdminService;

void WEB_ADMIN_SERVICE_ReadConfiguration(WEB_ADMIN_SERVICE *This)
{
	HKEY Key;
	DWORD Type, Data, Size;

	This->MaxPoolThreads = 4;
	This->StartupTimeLimit = 90;
	if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, W3SVC_PARAMETERS_KEY, 0, KEY_READ, &Key) !=
	    ERROR_SUCCESS)
		return;
	Size = sizeof(Data);
	if (RegQueryValueExW(Key, L"MaxPoolThreads", NULL, &Type, (LPBYTE)&Data, &Size) ==
		    ERROR_SUCCESS &&
	    Type == REG_DWORD)
		This->MaxPoolThreads = Data;
	Size = sizeof(Data);
	if (RegQueryValueExW(Key, L"StartupTimeLimit", NULL, &Type, (LPBYTE)&Data, &Size) ==
		    ERROR_SUCCESS &&
	    Type == REG_DWORD)
		This->StartupTimeLimit = Data;
	RegCloseKey(Key);
}

BOOL WEB_ADMIN_SERVICE_UpdateStatus(WEB_ADMIN_SERVICE *This, DWORD State, DWORD Win32ExitCode)
{
	This->Status.dwServiceType = SERVICE_WIN32_SHARE_PROCESS;
	This->Status.dwCurrentState = State;
	This->Status.dwControlsAccepted =
		State == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
	This->Status.dwWin32ExitCode = Win32ExitCode;
	This->Status.dwServiceSpecificExitCode = 0;
	This->Status.dwCheckPoint =
		(State == SERVICE_START_PENDING || State == SERVICE_STOP_PENDING)
			? This->Status.dwCheckPoint + 1
			: 0;
	This->Status.dwWaitHint =
		(State == SERVICE_START_PENDING || State == SERVICE_STOP_PENDING) ? W3SVC_WAIT_HINT
										   : 0;
	return SetServiceStatus(This->hStatus, &This->Status);
}

HRESULT WEB_ADMIN_SERVICE_StartServiceWork(WEB_ADMIN_SERVICE *This)
{
	HRESULT hr;

	WEB_ADMIN_SERVICE_ReadConfiguration(This);
	hr = UL_AND_WORKER_MANAGER_Initialize(&This->UlAndWorkerManager);
	if (FAILED(hr)) {
		WasTraceError("WEB_ADMIN_SERVICE::StartServiceWork", "\\webadminservice.cxx", 1310,
			      "Initializing the UL and worker manager failed.", hr);
		UL_AND_WORKER_MANAGER_Terminate(&This->UlAndWorkerManager);
	}
	return hr;
}

void WINAPI WasServiceControlHandler(DWORD dwControl)
{
	if (dwControl == SERVICE_CONTROL_STOP || dwControl == SERVICE_CONTROL_SHUTDOWN) {
		WEB_ADMIN_SERVICE_UpdateStatus(&g_WebAdminService, SERVICE_STOP_PENDING, NO_ERROR);
		SetEvent(g_WebAdminService.hStopEvent);
	} else if (dwControl == SERVICE_CONTROL_INTERROGATE) {
		SetServiceStatus(g_WebAdminService.hStatus, &g_WebAdminService.Status);
	}
}

void WINAPI ServiceMain(DWORD dwArgc, LPWSTR *lpszArgv)
{
	WEB_ADMIN_SERVICE *This = &g_WebAdminService;
	DWORD ExitCode = NO_ERROR;
	HRESULT hr;

	This->hStatus = RegisterServiceCtrlHandlerW(dwArgc ? lpszArgv[0] : L"W3SVC",
						    WasServiceControlHandler);
	if (!This->hStatus)
		return;
	WEB_ADMIN_SERVICE_UpdateStatus(This, SERVICE_START_PENDING, NO_ERROR);
	This->hStopEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	hr = This->hStopEvent ? WEB_ADMIN_SERVICE_StartServiceWork(This)
			      : HRESULT_FROM_WIN32(GetLastError());
	if (SUCCEEDED(hr)) {
		WEB_ADMIN_SERVICE_UpdateStatus(This, SERVICE_RUNNING, NO_ERROR);
		WaitForSingleObject(This->hStopEvent, INFINITE);
		UL_AND_WORKER_MANAGER_Terminate(&This->UlAndWorkerManager);
	} else {
		ExitCode = WIN32_FROM_HRESULT(hr);
	}
	if (This->hStopEvent)
		CloseHandle(This->hStopEvent);
	WEB_ADMIN_SERVICE_UpdateStatus(This, SERVICE_STOPPED, ExitCode);
}

BOOL WINAPI DllMain(HINSTANCE hInstance, DWORD Reason, LPVOID Reserved) { return TRUE; }
