/*
 * advapi32 service control dispatcher, re-created for the strand fixtures.
 *
 * Windows: a service process calls StartServiceCtrlDispatcher on its main
 * thread; the dispatcher connects to the service control manager over a
 * named pipe, and for each "start" the SCM sends it runs the service's
 * ServiceMain on a new thread; later controls (stop, ...) run the handler
 * the service registered, on the dispatcher's thread; SetServiceStatus
 * reports the state back to the SCM.
 *
 * Here the SCM is the device \Device\NamedPipe\ntsvcs of the scenario
 * (reached as \\.\pipe\ntsvcs), a `sink = service` device:
 *   - SetServiceStatus writes the SERVICE_STATUS (28 bytes) followed by the
 *     service name in UTF-16LE, which the recorder logs as service status;
 *   - the dispatcher reads its orders from the same device (the scenario's
 *     `read` lines), a line-oriented stand-in for the SCM's binary control
 *     messages:
 *         start NAME          run NAME's ServiceMain on a new thread
 *         control NAME CODE   once NAME has left the pending states, give
 *                             control CODE (decimal) to its handler
 *         sleep MS            wait MS milliseconds
 *     At end of input the dispatcher waits for every started service to
 *     report SERVICE_STOPPED and returns TRUE.
 */
#define STRAND_BUILDING_ADVAPI32
#include "advapi32.h"
#include "kernel32.h"
#include "ntdll.h"

#define SC_MAX_SERVICES 8
#define SC_MAX_NAME 64   /* WCHARs */
#define SC_LINE_MAX 128  /* bytes of one order line */

typedef struct _SC_SERVICE {
	WCHAR Name[SC_MAX_NAME];           /* from the dispatch table */
	LPSERVICE_MAIN_FUNCTIONW Main;
	LPHANDLER_FUNCTION Handler;        /* RegisterServiceCtrlHandlerW, or NULL */
	LPHANDLER_FUNCTION_EX HandlerEx;   /* RegisterServiceCtrlHandlerExW, or NULL */
	LPVOID HandlerContext;
	SERVICE_STATUS Status;             /* last status the service reported */
	HANDLE Thread;                     /* ServiceMain's thread, NULL until started */
	HANDLE Settled;                    /* manual event: RUNNING or STOPPED reached */
	HANDLE Stopped;                    /* manual event: STOPPED reached */
	LPWSTR Argv[2];                    /* ServiceMain's argv: name, NULL */
} SC_SERVICE;

typedef struct _SC_DISPATCHER {
	HANDLE Pipe;                       /* the SCM connection */
	ULONG Count;                       /* services in the table */
	SC_SERVICE Services[SC_MAX_SERVICES];
	CHAR Pending[SC_LINE_MAX * 2];     /* bytes read, not yet parsed */
	ULONG PendingLength;
	BOOL EndOfInput;
} SC_DISPATCHER;

/* One dispatcher per process, as on Windows. */
static SC_DISPATCHER ScDispatcher;

static BOOL ScNameEqual(LPCWSTR a, LPCWSTR b)
{
	UNICODE_STRING x, y;

	RtlInitUnicodeString(&x, a);
	RtlInitUnicodeString(&y, b);
	return RtlEqualUnicodeString(&x, &y, TRUE);
}

static SC_SERVICE *ScFindService(LPCWSTR Name)
{
	ULONG i;

	for (i = 0; i < ScDispatcher.Count; i++)
		if (ScNameEqual(ScDispatcher.Services[i].Name, Name))
			return &ScDispatcher.Services[i];
	return NULL;
}

/* Thread of one service: ServiceMain(argc, argv) then exit. */
static DWORD WINAPI ScSvcctrlThreadW(LPVOID Parameter)
{
	SC_SERVICE *Service = Parameter;

	Service->Main(1, Service->Argv);
	return 0;
}

static void ScStartService(SC_SERVICE *Service)
{
	if (Service->Thread)
		return;
	Service->Argv[0] = Service->Name;
	Service->Argv[1] = NULL;
	Service->Thread = CreateThread(NULL, 0, ScSvcctrlThreadW, Service, 0, NULL);
	if (!Service->Thread)
		DbgPrint("advapi32: cannot start service thread, error %u\n", GetLastError());
}

static void ScControlService(SC_SERVICE *Service, DWORD Control)
{
	if (!Service->Thread)
		return;
	WaitForSingleObject(Service->Settled, INFINITE);
	if (Service->Status.dwCurrentState == SERVICE_STOPPED)
		return; /* ERROR_SERVICE_NOT_ACTIVE for the SCM */
	if (Service->HandlerEx)
		Service->HandlerEx(Control, 0, NULL, Service->HandlerContext);
	else if (Service->Handler)
		Service->Handler(Control);
}

/* Parse an unsigned decimal number; *s advances past it. */
static ULONG ScParseNumber(const char **s)
{
	ULONG v = 0;

	while (**s >= '0' && **s <= '9')
		v = v * 10 + (ULONG)(*(*s)++ - '0');
	return v;
}

/* Next blank-separated word of s into Name (widened); returns the rest. */
static const char *ScParseName(const char *s, WCHAR *Name, ULONG Max)
{
	ULONG n = 0;

	while (*s == ' ')
		s++;
	while (*s && *s != ' ' && n + 1 < Max)
		Name[n++] = (WCHAR)(UCHAR)*s++;
	Name[n] = 0;
	while (*s == ' ')
		s++;
	return s;
}

static BOOL ScWordIs(const char **s, const char *Word)
{
	SIZE_T n = strlen(Word);

	if (memcmp(*s, Word, n) != 0 || ((*s)[n] != ' ' && (*s)[n] != '\0'))
		return FALSE;
	*s += n;
	return TRUE;
}

static void ScDispatchOrder(const char *Line)
{
	WCHAR Name[SC_MAX_NAME];
	SC_SERVICE *Service;

	if (ScWordIs(&Line, "start")) {
		ScParseName(Line, Name, SC_MAX_NAME);
		Service = ScFindService(Name);
		if (Service)
			ScStartService(Service);
		else
			DbgPrint("advapi32: SCM asked for unknown service %S\n", Name);
	} else if (ScWordIs(&Line, "control")) {
		Line = ScParseName(Line, Name, SC_MAX_NAME);
		Service = ScFindService(Name);
		if (Service)
			ScControlService(Service, ScParseNumber(&Line));
	} else if (ScWordIs(&Line, "sleep")) {
		while (*Line == ' ')
			Line++;
		Sleep(ScParseNumber(&Line));
	}
}

/* Next order line (CR/LF stripped) into Line; FALSE at end of input. */
static BOOL ScReadOrder(char *Line)
{
	for (;;) {
		ULONG i, Got = 0;

		for (i = 0; i < ScDispatcher.PendingLength; i++) {
			if (ScDispatcher.Pending[i] == '\n') {
				ULONG n = i;

				if (n && ScDispatcher.Pending[n - 1] == '\r')
					n--;
				if (n >= SC_LINE_MAX)
					n = SC_LINE_MAX - 1;
				memcpy(Line, ScDispatcher.Pending, n);
				Line[n] = '\0';
				ScDispatcher.PendingLength -= i + 1;
				memmove(ScDispatcher.Pending, ScDispatcher.Pending + i + 1,
					ScDispatcher.PendingLength);
				return TRUE;
			}
		}
		if (ScDispatcher.EndOfInput)
			break;
		if (ScDispatcher.PendingLength >= sizeof(ScDispatcher.Pending))
			ScDispatcher.PendingLength = 0; /* overlong line: drop it */
		if (!ReadFile(ScDispatcher.Pipe, ScDispatcher.Pending + ScDispatcher.PendingLength,
			      sizeof(ScDispatcher.Pending) - ScDispatcher.PendingLength, &Got, NULL) ||
		    Got == 0)
			ScDispatcher.EndOfInput = TRUE;
		ScDispatcher.PendingLength += Got;
	}
	/* a last line without terminator */
	if (ScDispatcher.PendingLength) {
		ULONG n = ScDispatcher.PendingLength < SC_LINE_MAX ? ScDispatcher.PendingLength
								   : SC_LINE_MAX - 1;

		memcpy(Line, ScDispatcher.Pending, n);
		Line[n] = '\0';
		ScDispatcher.PendingLength = 0;
		return TRUE;
	}
	return FALSE;
}

BOOL WINAPI StartServiceCtrlDispatcherW(const SERVICE_TABLE_ENTRYW *lpServiceStartTable)
{
	char Line[SC_LINE_MAX];
	ULONG i;

	if (!lpServiceStartTable) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	for (i = 0; lpServiceStartTable[i].lpServiceName && i < SC_MAX_SERVICES; i++) {
		SC_SERVICE *Service = &ScDispatcher.Services[i];
		ULONG n = 0;

		while (lpServiceStartTable[i].lpServiceName[n] && n + 1 < SC_MAX_NAME) {
			Service->Name[n] = lpServiceStartTable[i].lpServiceName[n];
			n++;
		}
		Service->Name[n] = 0;
		Service->Main = lpServiceStartTable[i].lpServiceProc;
		Service->Settled = CreateEventW(NULL, TRUE, FALSE, NULL);
		Service->Stopped = CreateEventW(NULL, TRUE, FALSE, NULL);
		if (!Service->Settled || !Service->Stopped)
			return FALSE;
	}
	ScDispatcher.Count = i;

	ScDispatcher.Pipe = CreateFileW(L"\\\\.\\pipe\\ntsvcs", GENERIC_READ | GENERIC_WRITE, 0,
					NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
	if (ScDispatcher.Pipe == INVALID_HANDLE_VALUE) {
		SetLastError(ERROR_FAILED_SERVICE_CONTROLLER_CONNECT);
		return FALSE;
	}

	while (ScReadOrder(Line))
		ScDispatchOrder(Line);

	for (i = 0; i < ScDispatcher.Count; i++) {
		SC_SERVICE *Service = &ScDispatcher.Services[i];

		if (Service->Thread) {
			WaitForSingleObject(Service->Stopped, INFINITE);
			WaitForSingleObject(Service->Thread, INFINITE);
			CloseHandle(Service->Thread);
		}
	}
	CloseHandle(ScDispatcher.Pipe);
	return TRUE;
}

SERVICE_STATUS_HANDLE WINAPI RegisterServiceCtrlHandlerExW(LPCWSTR lpServiceName,
							  LPHANDLER_FUNCTION_EX lpHandlerProc,
							  LPVOID lpContext)
{
	SC_SERVICE *Service = lpServiceName ? ScFindService(lpServiceName) : NULL;

	if (!Service) {
		SetLastError(ERROR_SERVICE_DOES_NOT_EXIST);
		return NULL;
	}
	Service->HandlerEx = lpHandlerProc;
	Service->HandlerContext = lpContext;
	return (SERVICE_STATUS_HANDLE)Service;
}

SERVICE_STATUS_HANDLE WINAPI RegisterServiceCtrlHandlerW(LPCWSTR lpServiceName,
							LPHANDLER_FUNCTION lpHandlerProc)
{
	SC_SERVICE *Service = lpServiceName ? ScFindService(lpServiceName) : NULL;

	if (!Service) {
		SetLastError(ERROR_SERVICE_DOES_NOT_EXIST);
		return NULL;
	}
	Service->Handler = lpHandlerProc;
	return (SERVICE_STATUS_HANDLE)Service;
}

/* Message to the SCM: the status, then the service name (UTF-16LE). */
typedef struct _SC_STATUS_MESSAGE {
	SERVICE_STATUS Status;
	WCHAR Name[SC_MAX_NAME];
} SC_STATUS_MESSAGE;

BOOL WINAPI SetServiceStatus(SERVICE_STATUS_HANDLE hServiceStatus, LPSERVICE_STATUS lpServiceStatus)
{
	SC_SERVICE *Service = (SC_SERVICE *)hServiceStatus;
	SC_STATUS_MESSAGE Message;
	DWORD Written;
	SIZE_T NameBytes;

	if (!Service || Service < ScDispatcher.Services ||
	    Service >= ScDispatcher.Services + ScDispatcher.Count) {
		SetLastError(ERROR_INVALID_HANDLE);
		return FALSE;
	}
	if (!lpServiceStatus || lpServiceStatus->dwCurrentState < SERVICE_STOPPED ||
	    lpServiceStatus->dwCurrentState > 7) {
		SetLastError(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	memcpy(&Service->Status, lpServiceStatus, sizeof(SERVICE_STATUS));
	memcpy(&Message.Status, lpServiceStatus, sizeof(SERVICE_STATUS));
	NameBytes = wcslen(Service->Name) * sizeof(WCHAR);
	memcpy(Message.Name, Service->Name, NameBytes);
	if (!WriteFile(ScDispatcher.Pipe, &Message, sizeof(SERVICE_STATUS) + NameBytes, &Written,
		       NULL))
		return FALSE;
	if (lpServiceStatus->dwCurrentState == SERVICE_RUNNING ||
	    lpServiceStatus->dwCurrentState == SERVICE_STOPPED)
		SetEvent(Service->Settled);
	if (lpServiceStatus->dwCurrentState == SERVICE_STOPPED)
		SetEvent(Service->Stopped);
	return TRUE;
}

BOOL WINAPI AdvapiDllInitialize(HINSTANCE hInstance, DWORD Reason, LPVOID Reserved) { return TRUE; }
