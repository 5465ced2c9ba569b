/* strmfilt.h: what the guest strmfilt.dll exports (tests/traces/src/strmfilt). */
#ifndef STRAND_GUEST_STRMFILT_H
#define STRAND_GUEST_STRMFILT_H
#include "ntlite.h"

#define STRMFILT_API __declspec(dllimport)

STRMFILT_API HRESULT WINAPI StreamFilterInitialize(void);
STRMFILT_API HRESULT WINAPI StreamFilterStart(void);
STRMFILT_API HRESULT WINAPI StreamFilterStop(void);
STRMFILT_API void WINAPI StreamFilterTerminate(void);

#endif /* STRAND_GUEST_STRMFILT_H */
