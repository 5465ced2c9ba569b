/* Status strings, error messages, arch/ABI names and x86 context access:
 * the small shared vocabulary of strand.h. */
#include "strand/strand.h"

#include <stdio.h>
#include <string.h>

const char *strand_status_str(strand_status st)
{
	switch (st) {
	case STRAND_OK: return "ok";
	case STRAND_END: return "end reached";
	case STRAND_NOT_FOUND: return "not found";
	case STRAND_STOPPED: return "stopped";
	case STRAND_ERR_NOMEM: return "out of memory";
	case STRAND_ERR_IO: return "I/O error";
	case STRAND_ERR_CORRUPT: return "corrupt trace";
	case STRAND_ERR_VERSION: return "unsupported format version";
	case STRAND_ERR_INVALID: return "invalid argument";
	case STRAND_ERR_UNSUPPORTED: return "unsupported";
	case STRAND_ERR_DIVERGENCE: return "replay divergence";
	case STRAND_ERR_EMULATOR: return "emulator error";
	case STRAND_ERR_TRUNCATED: return "truncated trace";
	case STRAND_ERR_RECORD: return "recording failed";
	}
	return "unknown status";
}

strand_status strand_error_set(strand_error *e, strand_status st,
			       const char *fmt, ...)
{
	if (!e)
		return st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->status = st;
	return st;
}

strand_status strand_error_wrap(strand_error *e, const char *fmt, ...)
{
	if (!e)
		return STRAND_ERR_INVALID;
	char inner[STRAND_ERROR_MAX];
	memcpy(inner, e->msg, sizeof inner);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof e->msg && inner[0])
		snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", inner);
	return e->status;
}

void strand_error_clear(strand_error *e)
{
	if (!e)
		return;
	e->status = STRAND_OK;
	e->msg[0] = '\0';
}

const char *strand_arch_str(strand_arch a)
{
	switch (a) {
	case STRAND_ARCH_X86_32: return "x86-32";
	case STRAND_ARCH_X86_64: return "x86-64";
	default: return "unknown";
	}
}

const char *strand_abi_str(strand_abi a)
{
	switch (a) {
	case STRAND_ABI_NONE: return "none";
	case STRAND_ABI_WINDOWS_NT: return "windows-nt";
	case STRAND_ABI_LINUX: return "linux";
	default: return "unknown";
	}
}

static const char *const reg_names[STRAND_REG_COUNT] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	"rip", "rflags", "es", "cs", "ss", "ds", "fs", "gs",
	"fs_base", "gs_base",
};

const char *strand_reg_name(unsigned reg)
{
	return reg < STRAND_REG_COUNT ? reg_names[reg] : NULL;
}

bool strand_cpu_get(const struct strand_cpu *cpu, unsigned reg, uint64_t *val)
{
	if (reg <= STRAND_REG_R15)
		*val = cpu->gpr[reg];
	else if (reg == STRAND_REG_RIP)
		*val = cpu->rip;
	else if (reg == STRAND_REG_RFLAGS)
		*val = cpu->rflags;
	else if (reg >= STRAND_REG_ES && reg <= STRAND_REG_GS)
		*val = cpu->sel[reg - STRAND_REG_ES];
	else if (reg == STRAND_REG_FS_BASE)
		*val = cpu->fs_base;
	else if (reg == STRAND_REG_GS_BASE)
		*val = cpu->gs_base;
	else
		return false;
	return true;
}

bool strand_cpu_set(struct strand_cpu *cpu, unsigned reg, uint64_t val)
{
	if (reg <= STRAND_REG_R15)
		cpu->gpr[reg] = val;
	else if (reg == STRAND_REG_RIP)
		cpu->rip = val;
	else if (reg == STRAND_REG_RFLAGS)
		cpu->rflags = val;
	else if (reg >= STRAND_REG_ES && reg <= STRAND_REG_GS)
		cpu->sel[reg - STRAND_REG_ES] = (uint16_t)val;
	else if (reg == STRAND_REG_FS_BASE)
		cpu->fs_base = val;
	else if (reg == STRAND_REG_GS_BASE)
		cpu->gs_base = val;
	else
		return false;
	return true;
}
