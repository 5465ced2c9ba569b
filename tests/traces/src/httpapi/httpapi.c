/*
 * httpapi.dll re-created for the strand fixtures: the user-mode side of the
 * HTTP Server API.  Every call talks to HTTP.SYS through its device objects
 * (\Device\Http\Control, \Device\Http\AppPool, \Device\Http\Filter): opens
 * with NtCreateFile (carrying the "UlOpenPacket000" extended attribute with
 * the API version, as the real library does), requests with
 * NtDeviceIoControlFile.  Failures come back as Win32 errors translated by
 * RtlNtStatusToDosError, so a device that is gone (STATUS_NO_SUCH_DEVICE)
 * surfaces as ERROR_FILE_NOT_FOUND, exactly as on Windows.
 */
#define STRAND_BUILDING_HTTPAPI
#include "httpapi.h"
#include "kernel32.h"
#include "ntdll.h"

#define ERROR_DLL_INIT_FAILED 1114UL
#define HTTP_MAX_DEVICE_NAME 128 /* WCHARs of a full device path */

/* ===================== state ===================== */

/* Initialization state, shared by every thread of the process. */
static CRITICAL_SECTION g_InitLock;
static LONG g_ServerInitCount;  /* HttpInitialize(HTTP_INITIALIZE_SERVER) - HttpTerminate */
static LONG g_ConfigInitCount;  /* HttpInitialize(HTTP_INITIALIZE_CONFIG) - HttpTerminate */
static HANDLE g_ControlChannel; /* \Device\Http\Control, while g_ConfigInitCount > 0 */
static HTTPAPI_VERSION g_Version; /* version of the first successful HttpInitialize */

/* ===================== driver helpers ===================== */

/* FILE_FULL_EA_INFORMATION holding the open packet HTTP.SYS expects. */
#define HTTP_OPEN_PACKET_NAME "UlOpenPacket000"
typedef struct _HTTP_OPEN_PACKET {
	USHORT MajorVersion;
	USHORT MinorVersion;
	ULONG Options;
} HTTP_OPEN_PACKET;
typedef struct _HTTP_OPEN_EA {
	ULONG NextEntryOffset;
	UCHAR Flags;
	UCHAR EaNameLength;
	USHORT EaValueLength;
	CHAR EaName[sizeof(HTTP_OPEN_PACKET_NAME)]; /* NUL included */
	HTTP_OPEN_PACKET Packet;
} HTTP_OPEN_EA;

/* NTSTATUS of a driver call -> the Win32 error the API returns. */
ULONG HttpApiNtStatusToWin32Status(NTSTATUS Status)
{
	if (Status == STATUS_PENDING)
		return ERROR_IO_PENDING;
	if (NT_SUCCESS(Status))
		return NO_ERROR;
	return RtlNtStatusToDosError(Status);
}

/* Open DeviceName (plus "\ObjectName" if given) of HTTP.SYS. */
ULONG HttpApiOpenDriverHelper(PHANDLE pHandle, PCWSTR DeviceName, PCWSTR ObjectName,
			      ACCESS_MASK DesiredAccess, ULONG CreateDisposition, ULONG Options)
{
	WCHAR Buffer[HTTP_MAX_DEVICE_NAME];
	UNICODE_STRING Name;
	OBJECT_ATTRIBUTES Attributes;
	IO_STATUS_BLOCK Iosb;
	HTTP_OPEN_EA Ea;
	NTSTATUS Status;

	*pHandle = NULL;
	Name.Buffer = Buffer;
	Name.Length = 0;
	Name.MaximumLength = sizeof(Buffer);
	if (!NT_SUCCESS(RtlAppendUnicodeToString(&Name, DeviceName)))
		return ERROR_INVALID_PARAMETER;
	if (ObjectName && (!NT_SUCCESS(RtlAppendUnicodeToString(&Name, L"\\")) ||
			   !NT_SUCCESS(RtlAppendUnicodeToString(&Name, ObjectName))))
		return ERROR_INVALID_PARAMETER;

	memset(&Ea, 0, sizeof(Ea));
	Ea.EaNameLength = sizeof(HTTP_OPEN_PACKET_NAME) - 1;
	Ea.EaValueLength = sizeof(HTTP_OPEN_PACKET);
	memcpy(Ea.EaName, HTTP_OPEN_PACKET_NAME, sizeof(HTTP_OPEN_PACKET_NAME));
	Ea.Packet.MajorVersion = g_Version.HttpApiMajorVersion;
	Ea.Packet.MinorVersion = g_Version.HttpApiMinorVersion;
	Ea.Packet.Options = Options;

	InitializeObjectAttributes(&Attributes, &Name, OBJ_CASE_INSENSITIVE, NULL, NULL);
	Status = NtCreateFile(pHandle, DesiredAccess | SYNCHRONIZE, &Attributes, &Iosb, NULL, 0,
			      FILE_SHARE_READ | FILE_SHARE_WRITE, CreateDisposition,
			      FILE_SYNCHRONOUS_IO_NONALERT, &Ea, sizeof(Ea));
	return HttpApiNtStatusToWin32Status(Status);
}

/* One request to HTTP.SYS, waited for. */
ULONG HttpApiSynchronousDeviceControl(HANDLE Handle, ULONG IoControlCode, PVOID InputBuffer,
				      ULONG InputLength, PVOID OutputBuffer, ULONG OutputLength,
				      PULONG pBytesReturned)
{
	IO_STATUS_BLOCK Iosb;
	NTSTATUS Status;

	Iosb.Information = 0;
	Status = NtDeviceIoControlFile(Handle, NULL, NULL, NULL, &Iosb, IoControlCode, InputBuffer,
				       InputLength, OutputBuffer, OutputLength);
	if (Status == STATUS_PENDING) {
		Status = NtWaitForSingleObject(Handle, FALSE, NULL);
		if (NT_SUCCESS(Status))
			Status = Iosb.u.Status;
	}
	if (pBytesReturned)
		*pBytesReturned = Iosb.Information;
	return HttpApiNtStatusToWin32Status(Status);
}

static BOOL HttpApiIsSupportedVersion(HTTPAPI_VERSION Version)
{
	return (Version.HttpApiMajorVersion == 1 || Version.HttpApiMajorVersion == 2) &&
	       Version.HttpApiMinorVersion == 0;
}

/* ===================== initialization ===================== */

/* The configuration store is reached through the control channel. */
static ULONG HttpApiInitializeConfiguration(void)
{
	ULONG Result = NO_ERROR;

	if (g_ConfigInitCount == 0)
		Result = HttpApiOpenDriverHelper(&g_ControlChannel, HTTP_CONTROL_DEVICE_NAME, NULL,
						 GENERIC_READ | GENERIC_WRITE, FILE_OPEN, 0);
	if (Result == NO_ERROR)
		g_ConfigInitCount++;
	return Result;
}

static void HttpApiTerminateConfiguration(void)
{
	if (g_ConfigInitCount > 0 && --g_ConfigInitCount == 0) {
		NtClose(g_ControlChannel);
		g_ControlChannel = NULL;
	}
}

/* Server (listener) use needs no device until a queue is created. */
static ULONG HttpApiInitializeListener(void)
{
	g_ServerInitCount++;
	return NO_ERROR;
}

ULONG WINAPI HttpInitialize(HTTPAPI_VERSION Version, ULONG Flags, PVOID pReserved)
{
	ULONG Result = NO_ERROR;

	if (pReserved || Flags == 0 ||
	    (Flags & ~(HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG)) != 0 ||
	    !HttpApiIsSupportedVersion(Version))
		return ERROR_INVALID_PARAMETER;

	EnterCriticalSection(&g_InitLock);
	if (g_ServerInitCount == 0 && g_ConfigInitCount == 0)
		g_Version = Version;
	if (Flags & HTTP_INITIALIZE_CONFIG) {
		Result = HttpApiInitializeConfiguration();
		if (Result != NO_ERROR)
			goto out;
	}
	if (Flags & HTTP_INITIALIZE_SERVER) {
		Result = HttpApiInitializeListener();
		if (Result != NO_ERROR && (Flags & HTTP_INITIALIZE_CONFIG))
			HttpApiTerminateConfiguration();
	}
out:
	LeaveCriticalSection(&g_InitLock);
	return Result;
}

ULONG WINAPI HttpTerminate(ULONG Flags, PVOID pReserved)
{
	if (pReserved || (Flags & ~(HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG)) != 0)
		return ERROR_INVALID_PARAMETER;
	EnterCriticalSection(&g_InitLock);
	if (Flags & HTTP_INITIALIZE_CONFIG)
		HttpApiTerminateConfiguration();
	if ((Flags & HTTP_INITIALIZE_SERVER) && g_ServerInitCount > 0)
		g_ServerInitCount--;
	LeaveCriticalSection(&g_InitLock);
	return NO_ERROR;
}

/* ===================== request queues and URLs ===================== */

ULONG WINAPI HttpCreateHttpHandle(PHANDLE pReqQueueHandle, ULONG Reserved)
{
	if (!pReqQueueHandle || Reserved)
		return ERROR_INVALID_PARAMETER;
	if (g_ServerInitCount == 0)
		return ERROR_DLL_INIT_FAILED;
	/* an anonymous application pool */
	return HttpApiOpenDriverHelper(pReqQueueHandle, HTTP_APP_POOL_DEVICE_NAME, NULL,
				       GENERIC_READ | GENERIC_WRITE, FILE_CREATE, 0);
}

ULONG WINAPI HttpCreateRequestQueue(HTTPAPI_VERSION Version, PCWSTR pName,
				    LPSECURITY_ATTRIBUTES pSecurityAttributes, ULONG Flags,
				    PHANDLE pReqQueueHandle)
{
	if (!pReqQueueHandle || !HttpApiIsSupportedVersion(Version) || (Flags & ~3UL))
		return ERROR_INVALID_PARAMETER;
	if (g_ServerInitCount == 0)
		return ERROR_DLL_INIT_FAILED;
	return HttpApiOpenDriverHelper(pReqQueueHandle, HTTP_APP_POOL_DEVICE_NAME, pName,
				       GENERIC_READ | GENERIC_WRITE,
				       (Flags & 1) ? FILE_OPEN : FILE_OPEN_IF, Flags);
}

ULONG WINAPI HttpCreateServerSession(HTTPAPI_VERSION Version,
				     PHTTP_SERVER_SESSION_ID pServerSessionId, ULONG Reserved)
{
	if (!pServerSessionId || Reserved || !HttpApiIsSupportedVersion(Version))
		return ERROR_INVALID_PARAMETER;
	if (g_ConfigInitCount == 0)
		return ERROR_DLL_INIT_FAILED;
	*pServerSessionId = 0;
	return HttpApiSynchronousDeviceControl(g_ControlChannel, IOCTL_HTTP_CREATE_SERVER_SESSION,
					       &Version, sizeof(Version), pServerSessionId,
					       sizeof(*pServerSessionId), NULL);
}

ULONG WINAPI HttpAddUrl(HANDLE ReqQueueHandle, PCWSTR pFullyQualifiedUrl, PVOID pReserved)
{
	if (!ReqQueueHandle || !pFullyQualifiedUrl || pReserved)
		return ERROR_INVALID_PARAMETER;
	return HttpApiSynchronousDeviceControl(ReqQueueHandle, IOCTL_HTTP_ADD_URL,
					       (PVOID)pFullyQualifiedUrl,
					       (ULONG)wcslen(pFullyQualifiedUrl) * sizeof(WCHAR), NULL,
					       0, NULL);
}

ULONG WINAPI HttpRemoveUrl(HANDLE ReqQueueHandle, PCWSTR pFullyQualifiedUrl)
{
	if (!ReqQueueHandle || !pFullyQualifiedUrl)
		return ERROR_INVALID_PARAMETER;
	return HttpApiSynchronousDeviceControl(ReqQueueHandle, IOCTL_HTTP_REMOVE_URL,
					       (PVOID)pFullyQualifiedUrl,
					       (ULONG)wcslen(pFullyQualifiedUrl) * sizeof(WCHAR), NULL,
					       0, NULL);
}

/* ===================== configuration store ===================== */

/* Request header of the service-configuration IOCTLs; the caller's record follows. */
typedef struct _HTTP_CONFIG_REQUEST {
	ULONG ConfigId;
	ULONG Length;
	UCHAR Data[256];
} HTTP_CONFIG_REQUEST;

static ULONG HttpApiConfigRequest(ULONG IoControlCode, HTTP_SERVICE_CONFIG_ID ConfigId,
				  PVOID pInput, ULONG InputLength, PVOID pOutput,
				  ULONG OutputLength, PULONG pReturnLength)
{
	HTTP_CONFIG_REQUEST Request;

	if ((ULONG)ConfigId >= HttpServiceConfigMax || InputLength > sizeof(Request.Data) ||
	    (InputLength && !pInput))
		return ERROR_INVALID_PARAMETER;
	if (g_ConfigInitCount == 0)
		return ERROR_DLL_INIT_FAILED;
	Request.ConfigId = ConfigId;
	Request.Length = InputLength;
	memcpy(Request.Data, pInput, InputLength);
	return HttpApiSynchronousDeviceControl(g_ControlChannel, IoControlCode, &Request,
					       (ULONG)(sizeof(ULONG) * 2 + InputLength), pOutput,
					       OutputLength, pReturnLength);
}

ULONG WINAPI HttpSetServiceConfiguration(HANDLE ServiceHandle, HTTP_SERVICE_CONFIG_ID ConfigId,
					 PVOID pConfigInformation, ULONG ConfigInformationLength,
					 LPOVERLAPPED pOverlapped)
{
	if (ServiceHandle || pOverlapped)
		return ERROR_INVALID_PARAMETER;
	return HttpApiConfigRequest(IOCTL_HTTP_SET_SERVICE_CONFIG, ConfigId, pConfigInformation,
				    ConfigInformationLength, NULL, 0, NULL);
}

ULONG WINAPI HttpDeleteServiceConfiguration(HANDLE ServiceHandle, HTTP_SERVICE_CONFIG_ID ConfigId,
					    PVOID pConfigInformation,
					    ULONG ConfigInformationLength, LPOVERLAPPED pOverlapped)
{
	if (ServiceHandle || pOverlapped)
		return ERROR_INVALID_PARAMETER;
	return HttpApiConfigRequest(IOCTL_HTTP_DELETE_SERVICE_CONFIG, ConfigId,
				    pConfigInformation, ConfigInformationLength, NULL, 0, NULL);
}

ULONG WINAPI HttpQueryServiceConfiguration(HANDLE ServiceHandle, HTTP_SERVICE_CONFIG_ID ConfigId,
					   PVOID pInputConfigInfo, ULONG InputConfigInfoLength,
					   PVOID pOutputConfigInfo, ULONG OutputConfigInfoLength,
					   PULONG pReturnLength, LPOVERLAPPED pOverlapped)
{
	ULONG Result;

	if (ServiceHandle || pOverlapped)
		return ERROR_INVALID_PARAMETER;
	Result = HttpApiConfigRequest(IOCTL_HTTP_QUERY_SERVICE_CONFIG, ConfigId, pInputConfigInfo,
				      InputConfigInfoLength, pOutputConfigInfo,
				      OutputConfigInfoLength, pReturnLength);
	/* a record larger than the caller's buffer (STATUS_BUFFER_OVERFLOW) */
	if (Result == ERROR_MORE_DATA)
		Result = ERROR_INSUFFICIENT_BUFFER;
	return Result;
}

/* ===================== raw filter channel ===================== */

ULONG WINAPI HttpOpenFilter(PHANDLE pFilterHandle, PCWSTR pFilterName, ULONG Options)
{
	if (!pFilterHandle || !pFilterName)
		return ERROR_INVALID_PARAMETER;
	return HttpApiOpenDriverHelper(pFilterHandle, HTTP_FILTER_DEVICE_NAME, pFilterName,
				       GENERIC_READ | GENERIC_WRITE, FILE_OPEN, Options);
}

ULONG WINAPI HttpFilterAccept(HANDLE FilterHandle, PVOID pRawConnectionInfo,
			      ULONG RawConnectionInfoSize, PULONG pBytesReceived,
			      LPOVERLAPPED pOverlapped)
{
	if (!FilterHandle || pOverlapped)
		return ERROR_INVALID_PARAMETER;
	return HttpApiSynchronousDeviceControl(FilterHandle, IOCTL_HTTP_FILTER_ACCEPT, NULL, 0,
					       pRawConnectionInfo, RawConnectionInfoSize,
					       pBytesReceived);
}

ULONG WINAPI HttpCloseFilter(HANDLE FilterHandle)
{
	NTSTATUS Status = NtClose(FilterHandle);

	return HttpApiNtStatusToWin32Status(Status);
}

/* ===================== DLL entry ===================== */

#define DLL_PROCESS_ATTACH 1
BOOL WINAPI DllMain(HINSTANCE hInstance, DWORD Reason, LPVOID Reserved)
{
	if (Reason == DLL_PROCESS_ATTACH)
		InitializeCriticalSection(&g_InitLock);
	return TRUE;
}
