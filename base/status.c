/* Status strings, error messages, arch/ABI names and x86 context access:
 * the small shared vocabulary of strand.h. */
#include "strand/strand.h"

#include <stdio.h>
#include <string.h>

const char *strand_version(void)
{
	return STRAND_VERSION_STRING;
}

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
	case STRAND_ERR_LIMIT: return "over budget";
	}
	return "unknown status";
}

/* Clamp a cause slice to the message actually held. */
static void cause_clamp(strand_error *e, struct strand_error_cause *c)
{
	size_t n = strlen(e->msg);
	if (c->off > n)
		c->off = (uint16_t)n;
	if ((size_t)c->off + c->len > n)
		c->len = (uint16_t)(n - c->off);
}

strand_status strand_error_set_at(strand_error *e, strand_status st, const char *file,
				  int line, const char *fmt, ...)
{
	if (!e)
		return st;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->status = st;
	e->ncauses = 1;
	e->cause[0] = (struct strand_error_cause){ 0, (uint16_t)(n < 0 ? 0 : n), file, line };
	cause_clamp(e, &e->cause[0]);
	return st;
}

strand_status strand_error_wrap_at(strand_error *e, strand_status st, const char *file,
				   int line, const char *fmt, ...)
{
	if (!e)
		return st;
	char inner[STRAND_ERROR_MAX];
	memcpy(inner, e->msg, sizeof inner);
	inner[sizeof inner - 1] = '\0';
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof e->msg)
		n = (int)sizeof e->msg - 1;
	size_t shift = (size_t)n;
	if (inner[0]) {
		snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", inner);
		shift += 2;
	}
	uint32_t nc = inner[0] ? e->ncauses : 0;
	if (nc > STRAND_ERROR_CAUSES)
		nc = STRAND_ERROR_CAUSES;
	if (nc == STRAND_ERROR_CAUSES) { /* fold the two innermost into one */
		struct strand_error_cause *a = &e->cause[nc - 2], *b = &e->cause[nc - 1];
		a->len = (uint16_t)(b->off + b->len - a->off);
		nc--;
	}
	memmove(&e->cause[1], &e->cause[0], nc * sizeof e->cause[0]);
	e->cause[0] = (struct strand_error_cause){ 0, (uint16_t)n, file, line };
	for (uint32_t k = 1; k <= nc; k++) {
		e->cause[k].off = (uint16_t)(e->cause[k].off + shift);
		cause_clamp(e, &e->cause[k]);
	}
	e->ncauses = nc + 1;
	e->status = st;
	return st;
}

void strand_error_clear(strand_error *e)
{
	if (!e)
		return;
	e->status = STRAND_OK;
	e->msg[0] = '\0';
	e->ncauses = 0;
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
