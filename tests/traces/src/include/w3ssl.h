/* w3ssl.h: what the guest w3ssl.dll exports (tests/traces/src/w3ssl). */
#ifndef STRAND_GUEST_W3SSL_H
#define STRAND_GUEST_W3SSL_H
#include "ntlite.h"

/* The HTTP SSL service (HTTPFilter): ServiceMain for a service host. */
__declspec(dllimport) void WINAPI ServiceMain(DWORD dwArgc, LPWSTR *lpszArgv);

#endif /* STRAND_GUEST_W3SSL_H */
