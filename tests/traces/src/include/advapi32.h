/* advapi32.h: what the guest advapi32.dll exports (tests/traces/src/advapi32). */
#ifndef STRAND_GUEST_ADVAPI32_H
#define STRAND_GUEST_ADVAPI32_H
#include "ntlite.h"

#ifdef STRAND_BUILDING_ADVAPI32
#define WINADVAPI
#else
#define WINADVAPI __declspec(dllimport)
#endif

WINADVAPI LSTATUS WINAPI RegOpenKeyExW(HKEY hKey, LPCWSTR lpSubKey, DWORD ulOptions,
				       REGSAM samDesired, PHKEY phkResult);
WINADVAPI LSTATUS WINAPI RegQueryValueExW(HKEY hKey, LPCWSTR lpValueName, LPDWORD lpReserved,
					  LPDWORD lpType, LPBYTE lpData, LPDWORD lpcbData);
WINADVAPI LSTATUS WINAPI RegCloseKey(HKEY hKey);

WINADVAPI BOOL WINAPI StartServiceCtrlDispatcherW(const SERVICE_TABLE_ENTRYW *lpServiceStartTable);
WINADVAPI SERVICE_STATUS_HANDLE WINAPI RegisterServiceCtrlHandlerW(LPCWSTR lpServiceName,
								   LPHANDLER_FUNCTION lpHandlerProc);
WINADVAPI SERVICE_STATUS_HANDLE WINAPI RegisterServiceCtrlHandlerExW(
	LPCWSTR lpServiceName, LPHANDLER_FUNCTION_EX lpHandlerProc, LPVOID lpContext);
WINADVAPI BOOL WINAPI SetServiceStatus(SERVICE_STATUS_HANDLE hServiceStatus,
				       LPSERVICE_STATUS lpServiceStatus);

#endif /* STRAND_GUEST_ADVAPI32_H */
