/* iisw3adm.h: what the guest iisw3adm.dll exports (tests/traces/src/iisw3adm). */
#ifndef STRAND_GUEST_IISW3ADM_H
#define STRAND_GUEST_IISW3ADM_H
#include "ntlite.h"

/* The World Wide Web Publishing service (W3SVC): ServiceMain for svchost. */
__declspec(dllimport) void WINAPI ServiceMain(DWORD dwArgc, LPWSTR *lpszArgv);

#endif /* STRAND_GUEST_IISW3ADM_H */
