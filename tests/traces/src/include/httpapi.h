/*
 * httpapi.h: what the guest httpapi.dll exports (tests/traces/src/httpapi):
 * the HTTP Server API of Windows Server 2003 SP1 (HTTP API 1.0), plus the
 * 2.0 names the analyses look for.  Every function returns a Win32 error
 * code (ULONG), as the real API does.
 */
#ifndef STRAND_GUEST_HTTPAPI_H
#define STRAND_GUEST_HTTPAPI_H
#include "ntlite.h"

#ifdef STRAND_BUILDING_HTTPAPI
#define HTTPAPI_LINKAGE
#else
#define HTTPAPI_LINKAGE __declspec(dllimport)
#endif

/* Device objects of HTTP.SYS (Windows Server 2003 names). */
#define HTTP_CONTROL_DEVICE_NAME L"\\Device\\Http\\Control"
#define HTTP_APP_POOL_DEVICE_NAME L"\\Device\\Http\\AppPool"
#define HTTP_FILTER_DEVICE_NAME L"\\Device\\Http\\Filter"

/* I/O control codes of HTTP.SYS: CTL_CODE(FILE_DEVICE_NETWORK, n, method, access). */
#define IOCTL_HTTP_QUERY_CONTROL_CHANNEL CTL_CODE(FILE_DEVICE_NETWORK, 0x01, METHOD_BUFFERED, FILE_ANY_ACCESS)   /* 0x00120004 */
#define IOCTL_HTTP_ADD_URL CTL_CODE(FILE_DEVICE_NETWORK, 0x08, METHOD_BUFFERED, FILE_WRITE_ACCESS)             /* 0x00128020 */
#define IOCTL_HTTP_REMOVE_URL CTL_CODE(FILE_DEVICE_NETWORK, 0x09, METHOD_BUFFERED, FILE_WRITE_ACCESS)          /* 0x00128024 */
#define IOCTL_HTTP_FILTER_ACCEPT CTL_CODE(FILE_DEVICE_NETWORK, 0x10, METHOD_OUT_DIRECT, FILE_READ_ACCESS)      /* 0x00124042 */
#define IOCTL_HTTP_SET_SERVICE_CONFIG CTL_CODE(FILE_DEVICE_NETWORK, 0x20, METHOD_BUFFERED, FILE_WRITE_ACCESS)  /* 0x00128080 */
#define IOCTL_HTTP_QUERY_SERVICE_CONFIG CTL_CODE(FILE_DEVICE_NETWORK, 0x21, METHOD_BUFFERED, FILE_READ_ACCESS) /* 0x00124084 */
#define IOCTL_HTTP_DELETE_SERVICE_CONFIG CTL_CODE(FILE_DEVICE_NETWORK, 0x22, METHOD_BUFFERED, FILE_WRITE_ACCESS) /* 0x00128088 */
#define IOCTL_HTTP_CREATE_SERVER_SESSION CTL_CODE(FILE_DEVICE_NETWORK, 0x30, METHOD_BUFFERED, FILE_WRITE_ACCESS) /* 0x001280C0 */

HTTPAPI_LINKAGE ULONG WINAPI HttpInitialize(HTTPAPI_VERSION Version, ULONG Flags, PVOID pReserved);
HTTPAPI_LINKAGE ULONG WINAPI HttpTerminate(ULONG Flags, PVOID pReserved);
HTTPAPI_LINKAGE ULONG WINAPI HttpCreateHttpHandle(PHANDLE pReqQueueHandle, ULONG Reserved);
HTTPAPI_LINKAGE ULONG WINAPI HttpCreateRequestQueue(HTTPAPI_VERSION Version, PCWSTR pName,
						    LPSECURITY_ATTRIBUTES pSecurityAttributes,
						    ULONG Flags, PHANDLE pReqQueueHandle);
HTTPAPI_LINKAGE ULONG WINAPI HttpCreateServerSession(HTTPAPI_VERSION Version,
						     PHTTP_SERVER_SESSION_ID pServerSessionId,
						     ULONG Reserved);
HTTPAPI_LINKAGE ULONG WINAPI HttpAddUrl(HANDLE ReqQueueHandle, PCWSTR pFullyQualifiedUrl,
					PVOID pReserved);
HTTPAPI_LINKAGE ULONG WINAPI HttpRemoveUrl(HANDLE ReqQueueHandle, PCWSTR pFullyQualifiedUrl);
HTTPAPI_LINKAGE ULONG WINAPI HttpSetServiceConfiguration(HANDLE ServiceHandle,
							 HTTP_SERVICE_CONFIG_ID ConfigId,
							 PVOID pConfigInformation,
							 ULONG ConfigInformationLength,
							 LPOVERLAPPED pOverlapped);
HTTPAPI_LINKAGE ULONG WINAPI HttpQueryServiceConfiguration(
	HANDLE ServiceHandle, HTTP_SERVICE_CONFIG_ID ConfigId, PVOID pInputConfigInfo,
	ULONG InputConfigInfoLength, PVOID pOutputConfigInfo, ULONG OutputConfigInfoLength,
	PULONG pReturnLength, LPOVERLAPPED pOverlapped);
HTTPAPI_LINKAGE ULONG WINAPI HttpDeleteServiceConfiguration(HANDLE ServiceHandle,
							    HTTP_SERVICE_CONFIG_ID ConfigId,
							    PVOID pConfigInformation,
							    ULONG ConfigInformationLength,
							    LPOVERLAPPED pOverlapped);
/* Raw-data filter channel (used by the SSL stream filter). */
HTTPAPI_LINKAGE ULONG WINAPI HttpOpenFilter(PHANDLE pFilterHandle, PCWSTR pFilterName,
					    ULONG Options);
HTTPAPI_LINKAGE ULONG WINAPI HttpFilterAccept(HANDLE FilterHandle, PVOID pRawConnectionInfo,
					      ULONG RawConnectionInfoSize, PULONG pBytesReceived,
					      LPOVERLAPPED pOverlapped);
HTTPAPI_LINKAGE ULONG WINAPI HttpCloseFilter(HANDLE FilterHandle);

#endif /* STRAND_GUEST_HTTPAPI_H */
