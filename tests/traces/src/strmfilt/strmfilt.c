/*
 * strmfilt.dll re-created for the strand fixtures: the IIS 6 stream filter
 * that the HTTP SSL service (w3ssl.dll) drives.  The C++ original's classes
 * appear as C functions named CLASS_Method (STREAM_FILTER::Initialize ->
 * STREAM_FILTER_Initialize).
 *
 *   StreamFilterInitialize
 *     STREAM_FILTER_Create, STREAM_FILTER_Initialize
 *       SSL_STREAM_CONTEXT_Initialize      globals: parameters, HTTP API, SSL bindings
 *         SslReadParameters                registry (optional values)
 *         HttpInitialize(1.0, HTTP_INITIALIZE_CONFIG)
 *         SslLoadServerBindings            HttpQueryServiceConfiguration(SSLCertInfo)...
 *       UL_CONTEXT_Initialize              HttpOpenFilter("SSLFilterChannel")
 *
 * Win32 errors become HRESULTs (HRESULT_FROM_WIN32).  Failures are written
 * to the debug log through OutputDebugStringA in the IIS debug-print shape
 *     MODULE!FUNCTION [\FILE @ LINE]:MESSAGE
 * where MODULE is "??" once the debug-print object is gone, which is why
 * the seed's second line reads "??!StreamFilterInitialize".
 */
#include "advapi32.h"
#include "httpapi.h"
#include "kernel32.h"
#include "ntdll.h"

#define STRMFILT_SOURCE "\\streamfilter.cxx"
#define HTTPFILTER_PARAMETERS_KEY L"SYSTEM\\CurrentControlSet\\Services\\HTTPFilter\\Parameters"
#define DEBUG_ERROR 0x00000004UL
#define DEBUG_INIT_CLEAN 0x00000040UL

/* ===================== debug printing ===================== */

/* Name of the module in debug lines; NULL when no debug-print object
 * exists (the line then says "??"). */
static const char *g_pszDebugModule;
static ULONG g_dwDebugFlags = DEBUG_ERROR;

static const char g_HexDigits[] = "0123456789abcdef";

/* Output cursor: Next < End always leaves room for the NUL. */
typedef struct _PU_OUT {
	char *Next;
	char *End;
} PU_OUT;

static void PuPutChar(PU_OUT *o, char c)
{
	if (o->Next < o->End)
		*o->Next++ = c;
}

static void PuPutString(PU_OUT *o, const char *s)
{
	while (*s)
		PuPutChar(o, *s++);
}

/* Value in hexadecimal, at least Width digits (zero padded). */
static void PuPutHex(PU_OUT *o, ULONG Value, int Width)
{
	char Digits[8];
	int n = 0;

	do {
		Digits[n++] = g_HexDigits[Value & 0xF];
		Value >>= 4;
	} while (Value && n < 8);
	while (Width-- > n)
		PuPutChar(o, '0');
	while (n)
		PuPutChar(o, Digits[--n]);
}

static void PuPutDecimal(PU_OUT *o, ULONG Value)
{
	char Digits[10];
	int n = 0;

	do {
		Digits[n++] = (char)('0' + Value % 10);
		Value /= 10;
	} while (Value);
	while (n)
		PuPutChar(o, Digits[--n]);
}

/* The formats strmfilt uses: %s, %u, %d (non-negative), %x and %08x. */
static void PuFormat(PU_OUT *o, const char *Format, __builtin_va_list ap)
{
	for (; *Format; Format++) {
		int Width = 0;

		if (*Format != '%') {
			PuPutChar(o, *Format);
			continue;
		}
		Format++;
		while (*Format >= '0' && *Format <= '9')
			Width = Width * 10 + (*Format++ - '0');
		switch (*Format) {
		case 's': PuPutString(o, __builtin_va_arg(ap, const char *)); break;
		case 'u':
		case 'd': PuPutDecimal(o, __builtin_va_arg(ap, ULONG)); break;
		case 'x': PuPutHex(o, __builtin_va_arg(ap, ULONG), Width); break;
		case '\0': Format--; break;
		default: PuPutChar(o, *Format); break;
		}
	}
}

/* One debug-log line: MODULE!FUNCTION [FILE @ LINE]:MESSAGE */
static void PuDbgPrint(const char *Function, const char *File, ULONG Line, const char *Format,
		       ...)
{
	char Buffer[512];
	PU_OUT o = {Buffer, Buffer + sizeof(Buffer) - 1};
	__builtin_va_list ap;

	PuPutString(&o, g_pszDebugModule ? g_pszDebugModule : "??");
	PuPutChar(&o, '!');
	PuPutString(&o, Function);
	PuPutString(&o, " [");
	PuPutString(&o, File);
	PuPutString(&o, " @ ");
	PuPutDecimal(&o, Line);
	PuPutString(&o, "]:");
	__builtin_va_start(ap, Format);
	PuFormat(&o, Format, ap);
	__builtin_va_end(ap);
	*o.Next = '\0';
	OutputDebugStringA(Buffer);
}

#define DBGERROR(Function, Line, ...)                                        \
	do {                                                                  \
		if (g_dwDebugFlags & DEBUG_ERROR)                             \
			PuDbgPrint(Function, STRMFILT_SOURCE, Line, __VA_ARGS__); \
	} while (0)

/* ===================== SSL_STREAM_CONTEXT (globals) ===================== */

static BOOL sg_fHttpApiInitialized;
static ULONG sg_dwCertCheckMode;          /* 0: check revocation (default) */
static ULONG sg_dwRevocationFreshnessTime; /* seconds, 0 = default */
static ULONG sg_cServerBindings;          /* SSL bindings in the HTTP config store */

/* A DWORD parameter of HTTPFilter; *Value keeps its default when absent. */
static void SslReadDwordParameter(HKEY Key, LPCWSTR Name, ULONG *Value)
{
	DWORD Type = 0, Data = 0, Size = sizeof(Data);

	if (RegQueryValueExW(Key, Name, NULL, &Type, (LPBYTE)&Data, &Size) == ERROR_SUCCESS &&
	    Type == REG_DWORD)
		*Value = Data;
}

/* Optional tuning parameters; every one may be absent. */
void SslReadParameters(void)
{
	HKEY Key;

	if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, HTTPFILTER_PARAMETERS_KEY, 0, KEY_READ, &Key) !=
	    ERROR_SUCCESS)
		return;
	SslReadDwordParameter(Key, L"DebugFlags", &g_dwDebugFlags);
	SslReadDwordParameter(Key, L"CertCheckMode", &sg_dwCertCheckMode);
	SslReadDwordParameter(Key, L"RevocationFreshnessTime", &sg_dwRevocationFreshnessTime);
	RegCloseKey(Key);
}

/* Count the SSL certificate bindings of the HTTP configuration store. */
HRESULT SslLoadServerBindings(void)
{
	HTTP_SERVICE_CONFIG_SSL_QUERY Query;
	UCHAR Binding[256];
	ULONG Token, Returned, Error;

	for (Token = 0; Token < 16; Token++) {
		memset(&Query, 0, sizeof(Query));
		Query.QueryDesc = HttpServiceConfigQueryNext;
		Query.dwToken = Token;
		Returned = 0;
		Error = HttpQueryServiceConfiguration(NULL, HttpServiceConfigSSLCertInfo, &Query,
						      sizeof(Query), Binding, sizeof(Binding),
						      &Returned, NULL);
		if (Error == ERROR_NO_MORE_ITEMS)
			break;
		if (Error != NO_ERROR)
			return HRESULT_FROM_WIN32(Error);
		sg_cServerBindings++;
	}
	return S_OK;
}

HRESULT SSL_STREAM_CONTEXT_Initialize(void)
{
	ULONG Error;
	HRESULT hr;

	SslReadParameters();
	Error = HttpInitialize(HTTPAPI_VERSION_1, HTTP_INITIALIZE_CONFIG, NULL);
	if (Error != NO_ERROR) {
		hr = HRESULT_FROM_WIN32(Error);
		goto Finished;
	}
	sg_fHttpApiInitialized = TRUE;
	hr = SslLoadServerBindings();
Finished:
	return hr;
}

void SSL_STREAM_CONTEXT_Terminate(void)
{
	if (sg_fHttpApiInitialized) {
		HttpTerminate(HTTP_INITIALIZE_CONFIG, NULL);
		sg_fHttpApiInitialized = FALSE;
	}
	sg_cServerBindings = 0;
}

/* ===================== UL_CONTEXT (filter channel) ===================== */

static HANDLE sg_hFilterChannel;

HRESULT UL_CONTEXT_Initialize(void)
{
	ULONG Error = HttpOpenFilter(&sg_hFilterChannel, L"SSLFilterChannel", 0);

	if (Error != NO_ERROR) {
		sg_hFilterChannel = NULL;
		return HRESULT_FROM_WIN32(Error);
	}
	return S_OK;
}

void UL_CONTEXT_Terminate(void)
{
	if (sg_hFilterChannel) {
		HttpCloseFilter(sg_hFilterChannel);
		sg_hFilterChannel = NULL;
	}
}

/* Wait for the first raw connection HTTP.SYS hands the filter. */
HRESULT UL_CONTEXT_StartListening(void)
{
	UCHAR ConnectionInfo[64];
	ULONG Received = 0;
	ULONG Error = HttpFilterAccept(sg_hFilterChannel, ConnectionInfo, sizeof(ConnectionInfo),
				       &Received, NULL);

	return Error == NO_ERROR ? S_OK : HRESULT_FROM_WIN32(Error);
}

/* ===================== STREAM_FILTER ===================== */

typedef struct _STREAM_FILTER {
	ULONG Signature;         /* 'SFLT' while alive */
	BOOL fSslInitialized;    /* SSL_STREAM_CONTEXT globals are up */
	BOOL fUlInitialized;     /* UL_CONTEXT filter channel is open */
	BOOL fStarted;
} STREAM_FILTER;
#define STREAM_FILTER_SIGNATURE 0x544C4653UL

static STREAM_FILTER *sg_pStreamFilter;

/* Constructor: also creates the debug-print object (module name). */
STREAM_FILTER *STREAM_FILTER_Create(void)
{
	STREAM_FILTER *This = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*This));

	if (!This)
		return NULL;
	This->Signature = STREAM_FILTER_SIGNATURE;
	g_pszDebugModule = "strmfilt";
	return This;
}

/* Destructor: tears down what Initialize set up, and the debug-print object. */
void STREAM_FILTER_Destroy(STREAM_FILTER *This)
{
	if (This->fUlInitialized)
		UL_CONTEXT_Terminate();
	if (This->fSslInitialized)
		SSL_STREAM_CONTEXT_Terminate();
	This->Signature = 0;
	HeapFree(GetProcessHeap(), 0, This);
	g_pszDebugModule = NULL;
}

HRESULT STREAM_FILTER_Initialize(STREAM_FILTER *This)
{
	HRESULT hr;

	hr = SSL_STREAM_CONTEXT_Initialize();
	if (FAILED(hr)) {
		DBGERROR("STREAM_FILTER::Initialize", 459,
			 "Error initializing SSL_STREAM_CONTEXT globals. hr = %x\n", hr);
		SSL_STREAM_CONTEXT_Terminate();
		return hr;
	}
	This->fSslInitialized = TRUE;

	hr = UL_CONTEXT_Initialize();
	if (FAILED(hr)) {
		DBGERROR("STREAM_FILTER::Initialize", 471,
			 "Error initializing UL_CONTEXT globals. hr = %x\n", hr);
		return hr;
	}
	This->fUlInitialized = TRUE;
	return S_OK;
}

HRESULT WINAPI StreamFilterInitialize(void)
{
	STREAM_FILTER *Filter;
	HRESULT hr;

	if (sg_pStreamFilter)
		return S_OK;
	Filter = STREAM_FILTER_Create();
	if (!Filter) {
		hr = HRESULT_FROM_WIN32(ERROR_NOT_ENOUGH_MEMORY);
		goto Failed;
	}
	hr = STREAM_FILTER_Initialize(Filter);
	if (FAILED(hr)) {
		STREAM_FILTER_Destroy(Filter);
		goto Failed;
	}
	sg_pStreamFilter = Filter;
	return S_OK;
Failed:
	DBGERROR("StreamFilterInitialize", 741,
		 "Failed to initialize global STREAM_FILTER object. hr = %x\n", hr);
	return hr;
}

HRESULT WINAPI StreamFilterStart(void)
{
	HRESULT hr;

	if (!sg_pStreamFilter)
		return HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE);
	hr = UL_CONTEXT_StartListening();
	if (FAILED(hr)) {
		DBGERROR("StreamFilterStart", 790, "Error starting the stream filter. hr = %x\n",
			 hr);
		return hr;
	}
	sg_pStreamFilter->fStarted = TRUE;
	return S_OK;
}

HRESULT WINAPI StreamFilterStop(void)
{
	if (sg_pStreamFilter)
		sg_pStreamFilter->fStarted = FALSE;
	return S_OK;
}

void WINAPI StreamFilterTerminate(void)
{
	if (sg_pStreamFilter) {
		STREAM_FILTER_Destroy(sg_pStreamFilter);
		sg_pStreamFilter = NULL;
	}
}

BOOL WINAPI DllMain(HINSTANCE hInstance, DWORD Reason, LPVOID Reserved) { return TRUE; }
