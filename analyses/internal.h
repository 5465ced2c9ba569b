/* Internal helpers shared by the built-in analyses (not part of the
 * plugin API: an outside plugin would write its own). */
#ifndef STRAND_ANALYSES_INTERNAL_H
#define STRAND_ANALYSES_INTERNAL_H

#include "strand/analysis.h"

typedef enum call_conv {
	CONV_AUTO = 0,
	CONV_STDCALL, CONV_CDECL, CONV_FASTCALL, CONV_THISCALL, /* x86-32 */
	CONV_SYSV, CONV_WIN64,                                  /* x86-64 */
} call_conv;

/* "stdcall" ... "win64", "auto"; false if unknown. */
bool conv_parse(const char *s, call_conv *out);
/* The convention a trace's exported functions use by default. */
call_conv conv_default(strand_arch arch, strand_abi abi);
const char *conv_name(call_conv c);

/* Read `n` (<= 16) integer arguments of a call that just entered its
 * target (stack pointer `sp` points at the return address), from the
 * current state of `r`. */
void conv_read_args(struct strand_replay *r, strand_arch arch, call_conv conv,
		    uint64_t sp, unsigned n, uint64_t *args);
/* Integer return value (eax / rax) now. */
uint64_t conv_return_value(struct strand_replay *r, strand_arch arch);

/* Little-endian pointer/u32 reads; *ok (may be NULL) says if mapped. */
uint64_t mem_read_uint(struct strand_replay *r, uint64_t addr, unsigned size, bool *ok);

#endif
