/* Calling conventions: where the arguments of a call are when the callee
 * has just been entered (analyses/internal.h). */
#include "analyses/internal.h"

#include <string.h>

static const char *const conv_names[] = {
	"auto", "stdcall", "cdecl", "fastcall", "thiscall", "sysv", "win64",
};

bool conv_parse(const char *s, call_conv *out)
{
	for (unsigned i = 0; s && i < sizeof conv_names / sizeof conv_names[0]; i++)
		if (!strcmp(s, conv_names[i])) {
			*out = (call_conv)i;
			return true;
		}
	return false;
}

const char *conv_name(call_conv c)
{
	return (unsigned)c < sizeof conv_names / sizeof conv_names[0] ? conv_names[c] : "?";
}

call_conv conv_default(strand_arch arch, strand_abi abi)
{
	if (arch == STRAND_ARCH_X86_64)
		return abi == STRAND_ABI_WINDOWS_NT ? CONV_WIN64 : CONV_SYSV;
	return abi == STRAND_ABI_WINDOWS_NT ? CONV_STDCALL : CONV_CDECL;
}

uint64_t mem_read_uint(struct strand_replay *r, uint64_t addr, unsigned size, bool *ok)
{
	uint8_t b[8] = { 0 };
	if (size > 8)
		size = 8;
	bool good = strand_replay_read(r, addr, b, size, NULL) == size;
	if (ok)
		*ok = good;
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint64_t reg(struct strand_replay *r, const char *name)
{
	uint64_t v = 0;
	strand_replay_reg(r, name, &v);
	return v;
}

void conv_read_args(struct strand_replay *r, strand_arch arch, call_conv conv,
		    uint64_t sp, unsigned n, uint64_t *args)
{
	static const char *const sysv[] = { "rdi", "rsi", "rdx", "rcx", "r8", "r9" };
	static const char *const win64[] = { "rcx", "rdx", "r8", "r9" };
	if (n > 16)
		n = 16;
	if (conv == CONV_AUTO)
		conv = conv_default(arch, strand_replay_info(r)->abi);
	for (unsigned i = 0; i < n; i++) {
		switch (conv) {
		case CONV_FASTCALL:
			args[i] = i == 0 ? reg(r, "ecx") : i == 1 ? reg(r, "edx")
				: mem_read_uint(r, sp + 4 + 4 * (i - 2), 4, NULL);
			break;
		case CONV_THISCALL:
			args[i] = i == 0 ? reg(r, "ecx")
				: mem_read_uint(r, sp + 4 + 4 * (i - 1), 4, NULL);
			break;
		case CONV_SYSV:
			args[i] = i < 6 ? reg(r, sysv[i]) : mem_read_uint(r, sp + 8 + 8 * (i - 6), 8, NULL);
			break;
		case CONV_WIN64:
			args[i] = i < 4 ? reg(r, win64[i])
				: mem_read_uint(r, sp + 8 + 32 + 8 * (i - 4), 8, NULL);
			break;
		default: /* stdcall, cdecl: all on the stack */
			args[i] = mem_read_uint(r, sp + 4 + 4 * i, 4, NULL);
			break;
		}
	}
}

uint64_t conv_return_value(struct strand_replay *r, strand_arch arch)
{
	return arch == STRAND_ARCH_X86_64 ? reg(r, "rax") : reg(r, "eax");
}
