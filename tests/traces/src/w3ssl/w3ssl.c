/*
 * w3ssl.dll re-created for the strand fixtures: the HTTP SSL service
 * (service name HTTPFilter, hosted in lsass.exe on Windows Server 2003).
 *
 * ServiceMain registers its control handler, reports START_PENDING and
 * initializes and starts the stream filter (strmfilt.dll).  When that
 * fails the service stops with the HRESULT as a service-specific exit code:
 *     dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR (1066)
 *     dwServiceSpecificExitCode = hr (e.g. 0x80070002)
 * which is what the real service logs ("The HTTP SSL service terminated
 * with service-specific error 2147942402").  Otherwise it reports RUNNING
 * and waits for a stop or shutdown control.
 */
#include "advapi32.h"
#include "kernel32.h"
#include "ntdll.h"
#include "strmfilt.h"

#define W3SSL_WAIT_HINT 30000UL /* ms the SCM should wait during START_PENDING */

/* Service state, one instance per process. */
static SERVICE_STATUS_HANDLE g_hServiceStatus;
static SERVICE_STATUS g_ServiceStatus;
static HANDLE g_hStopEvent;

/* Report a state to the service controller.  For SERVICE_STOPPED,
 * hrExit != S_OK becomes a service-specific exit code. */
BOOL W3SslReportStatus(DWORD dwState, HRESULT hrExit, DWORD dwWaitHint)
{
	g_ServiceStatus.dwServiceType = SERVICE_WIN32_SHARE_PROCESS;
	g_ServiceStatus.dwCurrentState = dwState;
	g_ServiceStatus.dwControlsAccepted =
		dwState == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
	if (FAILED(hrExit)) {
		g_ServiceStatus.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
		g_ServiceStatus.dwServiceSpecificExitCode = (DWORD)hrExit;
	} else {
		g_ServiceStatus.dwWin32ExitCode = NO_ERROR;
		g_ServiceStatus.dwServiceSpecificExitCode = 0;
	}
	if (dwState == SERVICE_START_PENDING || dwState == SERVICE_STOP_PENDING)
		g_ServiceStatus.dwCheckPoint++;
	else
		g_ServiceStatus.dwCheckPoint = 0;
	g_ServiceStatus.dwWaitHint = dwWaitHint;
	return SetServiceStatus(g_hServiceStatus, &g_ServiceStatus);
}

DWORD WINAPI W3SslServiceCtrlHandler(DWORD dwControl, DWORD dwEventType, LPVOID lpEventData,
				     LPVOID lpContext)
{
	switch (dwControl) {
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
		W3SslReportStatus(SERVICE_STOP_PENDING, S_OK, W3SSL_WAIT_HINT);
		SetEvent(g_hStopEvent);
		return NO_ERROR;
	case SERVICE_CONTROL_INTERROGATE:
		SetServiceStatus(g_hServiceStatus, &g_ServiceStatus);
		return NO_ERROR;
	default:
		return ERROR_INVALID_SERVICE_CONTROL;
	}
}

/* Bring the stream filter up. */
HRESULT W3SslStartService(void)
{
	HRESULT hr = StreamFilterInitialize();

	if (FAILED(hr))
		return hr;
	hr = StreamFilterStart();
	if (FAILED(hr))
		StreamFilterTerminate();
	return hr;
}

void W3SslStopService(void)
{
	StreamFilterStop();
	StreamFilterTerminate();
}

void WINAPI ServiceMain(DWORD dwArgc, LPWSTR *lpszArgv)
{
	HRESULT hr;

	g_hServiceStatus = RegisterServiceCtrlHandlerExW(dwArgc ? lpszArgv[0] : L"HTTPFilter",
							 W3SslServiceCtrlHandler, NULL);
	if (!g_hServiceStatus)
		return;
	W3SslReportStatus(SERVICE_START_PENDING, S_OK, W3SSL_WAIT_HINT);

	g_hStopEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (!g_hStopEvent) {
		hr = HRESULT_FROM_WIN32(GetLastError());
		goto Stopped;
	}
	hr = W3SslStartService();
	if (FAILED(hr))
		goto Stopped;

	W3SslReportStatus(SERVICE_RUNNING, S_OK, 0);
	WaitForSingleObject(g_hStopEvent, INFINITE);
	W3SslStopService();
	hr = S_OK;
Stopped:
	if (g_hStopEvent) {
		CloseHandle(g_hStopEvent);
		g_hStopEvent = NULL;
	}
	W3SslReportStatus(SERVICE_STOPPED, hr, 0);
}

BOOL WINAPI DllMain(HINSTANCE hInstance, DWORD Reason, LPVOID Reserved) { return TRUE; }
