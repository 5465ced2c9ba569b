/* httpsslhost.c: the HTTP SSL case re-hosted on real system DLLs.
 *
 * The project's stand-in strmfilt.dll and httpapi.dll (tests/traces/src,
 * built by tests/traces/build-guests.sh) run on Wine's ntdll, kernel32 and
 * advapi32: this host loads strmfilt.dll and initializes the stream filter
 * the way the HTTP SSL service's start does (w3ssl!W3SslStartService ->
 * strmfilt!StreamFilterInitialize).  It stands in for lsass.exe and the
 * service control manager: the stand-in lsass/w3ssl talk to the stand-in
 * advapi32's service dispatcher, which Wine's advapi32 (an RPC client of
 * services.exe) does not speak.  The symptom is the host's error line. */
#include <stdio.h>
#include <windows.h>

typedef HRESULT(WINAPI *init_fn)(void);
typedef void(WINAPI *term_fn)(void);

int main(void)
{
	HMODULE m = LoadLibraryW(L"strmfilt.dll");
	if (!m) {
		fprintf(stderr, "httpsslhost: cannot load strmfilt.dll: error %lu\n", GetLastError());
		return 2;
	}
	init_fn init = (init_fn)(void *)GetProcAddress(m, "StreamFilterInitialize");
	term_fn term = (term_fn)(void *)GetProcAddress(m, "StreamFilterTerminate");
	if (!init || !term) {
		fprintf(stderr, "httpsslhost: strmfilt.dll lacks StreamFilterInitialize\n");
		return 2;
	}
	HRESULT hr = init();
	if (FAILED(hr)) {
		fprintf(stderr, "httpsslhost: Error initializing SSL_STREAM_CONTEXT globals. hr = %08lx\n",
			(unsigned long)hr);
		return 1;
	}
	printf("httpsslhost: stream filter initialized\n");
	term();
	return 0;
}
