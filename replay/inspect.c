/*
 * State at the current position: registers by name, memory reads that
 * never fault the host, modules and symbols, disassembly.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "replay/replay_int.h"

/* ===================================================================== */
/* Registers                                                              */
/* ===================================================================== */

/* A named view of a register: GPR index (0..15) with a width and shift,
 * or a special register. */
struct regview {
	const char *name;
	int gpr;         /* 0..15, or -1 for special */
	uint8_t bits;    /* 64, 32, 16, 8 */
	uint8_t shift;   /* 8 for ah/ch/dh/bh */
	bool x64_only;
	int special;     /* uc register for specials */
};

#define G(n, i, b, s, x) { n, i, b, s, x, 0 }
static const struct regview views[] = {
	G("rax", 0, 64, 0, 1), G("rcx", 1, 64, 0, 1), G("rdx", 2, 64, 0, 1), G("rbx", 3, 64, 0, 1),
	G("rsp", 4, 64, 0, 1), G("rbp", 5, 64, 0, 1), G("rsi", 6, 64, 0, 1), G("rdi", 7, 64, 0, 1),
	G("r8", 8, 64, 0, 1), G("r9", 9, 64, 0, 1), G("r10", 10, 64, 0, 1), G("r11", 11, 64, 0, 1),
	G("r12", 12, 64, 0, 1), G("r13", 13, 64, 0, 1), G("r14", 14, 64, 0, 1), G("r15", 15, 64, 0, 1),
	G("eax", 0, 32, 0, 0), G("ecx", 1, 32, 0, 0), G("edx", 2, 32, 0, 0), G("ebx", 3, 32, 0, 0),
	G("esp", 4, 32, 0, 0), G("ebp", 5, 32, 0, 0), G("esi", 6, 32, 0, 0), G("edi", 7, 32, 0, 0),
	G("r8d", 8, 32, 0, 1), G("r9d", 9, 32, 0, 1), G("r10d", 10, 32, 0, 1), G("r11d", 11, 32, 0, 1),
	G("r12d", 12, 32, 0, 1), G("r13d", 13, 32, 0, 1), G("r14d", 14, 32, 0, 1), G("r15d", 15, 32, 0, 1),
	G("ax", 0, 16, 0, 0), G("cx", 1, 16, 0, 0), G("dx", 2, 16, 0, 0), G("bx", 3, 16, 0, 0),
	G("sp", 4, 16, 0, 0), G("bp", 5, 16, 0, 0), G("si", 6, 16, 0, 0), G("di", 7, 16, 0, 0),
	G("r8w", 8, 16, 0, 1), G("r9w", 9, 16, 0, 1), G("r10w", 10, 16, 0, 1), G("r11w", 11, 16, 0, 1),
	G("r12w", 12, 16, 0, 1), G("r13w", 13, 16, 0, 1), G("r14w", 14, 16, 0, 1), G("r15w", 15, 16, 0, 1),
	G("al", 0, 8, 0, 0), G("cl", 1, 8, 0, 0), G("dl", 2, 8, 0, 0), G("bl", 3, 8, 0, 0),
	G("spl", 4, 8, 0, 1), G("bpl", 5, 8, 0, 1), G("sil", 6, 8, 0, 1), G("dil", 7, 8, 0, 1),
	G("r8b", 8, 8, 0, 1), G("r9b", 9, 8, 0, 1), G("r10b", 10, 8, 0, 1), G("r11b", 11, 8, 0, 1),
	G("r12b", 12, 8, 0, 1), G("r13b", 13, 8, 0, 1), G("r14b", 14, 8, 0, 1), G("r15b", 15, 8, 0, 1),
	G("ah", 0, 8, 8, 0), G("ch", 1, 8, 8, 0), G("dh", 2, 8, 8, 0), G("bh", 3, 8, 8, 0),
};
#undef G

static const char *const names32[] = {
	"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "ax", "cx", "dx", "bx", "sp",
	"bp", "si", "di", "al", "cl", "dl", "bl", "ah", "ch", "dh", "bh", "eip", "ip", "eflags",
	"flags", "cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base", "xmm0", "xmm1", "xmm2",
	"xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "st0", "st1", "st2", "st3", "st4", "st5", "st6",
	"st7", "mxcsr", "fpcw", "fpsw", NULL,
};
static const char *const names64[] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
	"r13", "r14", "r15", "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d",
	"r10d", "r11d", "r12d", "r13d", "r14d", "r15d", "ax", "cx", "dx", "bx", "sp", "bp", "si",
	"di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w", "al", "cl", "dl", "bl",
	"spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b",
	"ah", "ch", "dh", "bh", "rip", "eip", "ip", "rflags", "eflags", "flags", "cs", "ss", "ds",
	"es", "fs", "gs", "fs_base", "gs_base", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
	"xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
	"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7", "mxcsr", "fpcw", "fpsw", NULL,
};

const char *const *strand_replay_reg_names(const struct strand_replay *r)
{
	return r->mode == UC_MODE_64 ? names64 : names32;
}

/* 80-bit x87 value to double bits. */
static uint64_t f80_to_double_bits(const uint8_t *p)
{
	uint64_t mant;
	uint16_t se;
	memcpy(&mant, p, 8);
	memcpy(&se, p + 8, 2);
	int sign = se >> 15;
	int exp = se & 0x7fff;
	double d;
	if (exp == 0 && mant == 0) {
		d = 0.0;
	} else if (exp == 0x7fff) {
		d = (mant << 1) ? __builtin_nan("") : __builtin_inf();
	} else {
		long double ld;
		uint8_t buf[sizeof(long double)] = { 0 };
		memcpy(buf, p, 10);
		memcpy(&ld, buf, sizeof ld);
		d = (double)ld;
		sign = 0; /* already in ld */
	}
	if (sign)
		d = -d;
	uint64_t bits;
	memcpy(&bits, &d, 8);
	return bits;
}

unsigned strand_replay_gprs(struct strand_replay *r, uint64_t out[16])
{
	return r && out ? rp_gprs(r, out) : 0;
}

strand_status strand_replay_reg(struct strand_replay *r, const char *name, uint64_t *val)
{
	if (!r || !name || !val)
		return STRAND_ERR_INVALID;
	bool is64 = r->mode == UC_MODE_64;
	/* general registers and pc read one Unicorn register: observers call
	 * this per instruction */
	for (size_t i = 0; i < sizeof views / sizeof *views; i++) {
		const struct regview *v = &views[i];
		/* the first letter first: strcasecmp per view was most of an
		 * observer's time */
		if ((v->name[0] | 0x20) != (name[0] | 0x20) || strcasecmp(v->name, name) != 0)
			continue;
		if (v->x64_only && !is64)
			return STRAND_NOT_FOUND;
		uint64_t x = rp_gpr(r, (unsigned)v->gpr) >> v->shift;
		if (v->bits < 64)
			x &= (1ull << v->bits) - 1;
		*val = x;
		return STRAND_OK;
	}
	if (!strcasecmp(name, "rip") || !strcasecmp(name, "eip") || !strcasecmp(name, "pc")) {
		if (!is64 && !strcasecmp(name, "rip"))
			return STRAND_NOT_FOUND;
		*val = rp_pc(r);
		return STRAND_OK;
	}
	struct strand_cpu c;
	rp_cpu_read(r, &c);
	if (!strcasecmp(name, "rip") && is64) { *val = c.rip; return STRAND_OK; }
	if (!strcasecmp(name, "eip")) { *val = c.rip & 0xffffffffu; return STRAND_OK; }
	if (!strcasecmp(name, "ip")) { *val = c.rip & 0xffff; return STRAND_OK; }
	if (!strcasecmp(name, "pc")) { *val = c.rip; return STRAND_OK; }
	if (!strcasecmp(name, "rflags") && is64) { *val = c.rflags; return STRAND_OK; }
	if (!strcasecmp(name, "eflags")) { *val = c.rflags & 0xffffffffu; return STRAND_OK; }
	if (!strcasecmp(name, "flags")) { *val = c.rflags & 0xffff; return STRAND_OK; }
	static const char *const segn[] = { "es", "cs", "ss", "ds", "fs", "gs" };
	for (int s = 0; s < STRAND_SEG_COUNT; s++)
		if (!strcasecmp(name, segn[s])) { *val = c.sel[s]; return STRAND_OK; }
	if (!strcasecmp(name, "fs_base")) { *val = c.fs_base; return STRAND_OK; }
	if (!strcasecmp(name, "gs_base")) { *val = c.gs_base; return STRAND_OK; }
	if (!strcasecmp(name, "mxcsr")) { uint32_t m; memcpy(&m, c.fxsave + 24, 4); *val = m; return STRAND_OK; }
	if (!strcasecmp(name, "fpcw")) { uint16_t m; memcpy(&m, c.fxsave, 2); *val = m; return STRAND_OK; }
	if (!strcasecmp(name, "fpsw")) { uint16_t m; memcpy(&m, c.fxsave + 2, 2); *val = m; return STRAND_OK; }
	unsigned n;
	char tail;
	if (sscanf(name, "xmm%u%c", &n, &tail) == 1 && n < (is64 ? 16u : 8u)) {
		memcpy(val, c.fxsave + 160 + 16 * n, 8);
		return STRAND_OK;
	}
	if (sscanf(name, "st%u%c", &n, &tail) == 1 && n < 8) {
		*val = f80_to_double_bits(c.fxsave + 32 + 16 * n);
		return STRAND_OK;
	}
	return STRAND_NOT_FOUND;
}

/* ===================================================================== */
/* Memory                                                                 */
/* ===================================================================== */

size_t strand_replay_read(struct strand_replay *r, uint64_t addr, void *buf, size_t len,
			  uint8_t *valid)
{
	uint8_t *out = buf;
	size_t mapped = 0, done = 0;
	while (done < len) {
		uint64_t a = addr + done;
		if (a < addr) { /* wrapped */
			memset(out + done, 0, len - done);
			if (valid)
				memset(valid + done, 0, len - done);
			break;
		}
		struct rp_region *g = rp_region_find(r, a);
		size_t n;
		if (g) {
			uint64_t off = a - g->addr;
			n = (size_t)(g->size - off);
			if (n > len - done)
				n = len - done;
			memcpy(out + done, g->host + off, n);
			if (valid)
				memset(valid + done, 1, n);
			mapped += n;
		} else {
			/* up to the next region, or to the end of buf when no
			 * region follows (never 0 bytes: `a` is unmapped, so the
			 * next region starts strictly above it; a sentinel of
			 * UINT64_MAX would make n = 0 at the top of the address
			 * space and loop forever) */
			n = len - done;
			for (uint32_t i = 0; i < r->nregions; i++)
				if (r->regions[i].addr > a) {
					if (r->regions[i].addr - a < n)
						n = (size_t)(r->regions[i].addr - a);
					break;
				}
			memset(out + done, 0, n);
			if (valid)
				memset(valid + done, 0, n);
		}
		done += n;
	}
	return mapped;
}

/* ===================================================================== */
/* Modules and symbols                                                    */
/* ===================================================================== */

void rp_modview_rebuild(struct strand_replay *r)
{
	if (!r->modview_dirty && r->modview)
		return;
	free(r->modview);
	r->modview = calloc(r->nmods ? r->nmods : 1, sizeof *r->modview);
	r->nmodview = 0;
	if (!r->modview)
		return;
	for (uint32_t i = 0; i < r->nmods; i++)
		if (r->mods[i].loaded)
			r->modview[r->nmodview++] = &r->mods[i].m;
	r->modview_dirty = false;
}

const struct strand_module *const *strand_replay_modules(const struct strand_replay *r_,
							 uint32_t *n)
{
	struct strand_replay *r = (struct strand_replay *)r_;
	rp_modview_rebuild(r);
	*n = r->nmodview;
	return r->modview;
}

strand_status strand_replay_find_symbol(const struct strand_replay *r_, uint64_t addr,
					const struct strand_module **mod,
					const struct strand_symbol **sym)
{
	struct strand_replay *r = (struct strand_replay *)r_;
	rp_modview_rebuild(r);
	for (uint32_t i = 0; i < r->nmodview; i++) {
		const struct strand_module *m = r->modview[i];
		if (addr < m->base || addr >= m->base + m->size)
			continue;
		if (mod)
			*mod = m;
		/* last symbol with addr <= target */
		uint32_t lo = 0, hi = m->nsyms;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (m->syms[mid].addr <= addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0) {
			if (sym)
				*sym = NULL;
			return STRAND_NOT_FOUND;
		}
		const struct strand_symbol *s = &m->syms[lo - 1];
		if (s->size && addr >= s->addr + s->size) {
			if (sym)
				*sym = NULL;
			return STRAND_NOT_FOUND;
		}
		if (sym)
			*sym = s;
		return STRAND_OK;
	}
	if (mod)
		*mod = NULL;
	if (sym)
		*sym = NULL;
	return STRAND_NOT_FOUND;
}

strand_status strand_replay_symbolize(const struct strand_replay *r, uint64_t addr, char *buf,
				      size_t len)
{
	const struct strand_module *m = NULL;
	const struct strand_symbol *s = NULL;
	strand_status st = strand_replay_find_symbol(r, addr, &m, &s);
	if (s) {
		if (addr == s->addr)
			snprintf(buf, len, "%s!%s", m->name, s->name);
		else
			snprintf(buf, len, "%s!%s+0x%" PRIx64, m->name, s->name, addr - s->addr);
		return STRAND_OK;
	}
	if (m)
		snprintf(buf, len, "%s+0x%" PRIx64, m->name, addr - m->base);
	else
		snprintf(buf, len, "0x%" PRIx64, addr);
	return st == STRAND_OK ? STRAND_NOT_FOUND : STRAND_NOT_FOUND;
}

strand_status strand_replay_lookup(const struct strand_replay *r_, const char *name,
				   uint64_t *addr)
{
	struct strand_replay *r = (struct strand_replay *)r_;
	if (!name || !*name || !addr)
		return STRAND_ERR_INVALID;
	char *end = NULL;
	unsigned long long v = strtoull(name, &end, 0);
	if (end && *end == '\0' && end != name) {
		*addr = v;
		return STRAND_OK;
	}
	rp_modview_rebuild(r);
	const char *bang = strchr(name, '!');
	size_t mlen = bang ? (size_t)(bang - name) : 0;
	const char *sname = bang ? bang + 1 : name;
	for (uint32_t i = 0; i < r->nmodview; i++) {
		const struct strand_module *m = r->modview[i];
		/* "libc.so.6!statx" or by the short name, "libc!statx"
		 * (the module name up to its first '.') */
		if (bang && (strncasecmp(m->name, name, mlen) != 0 ||
			     (m->name[mlen] != '\0' && (m->name[mlen] != '.' || memchr(name, '.', mlen)))))
			continue;
		for (uint32_t k = 0; k < m->nsyms; k++) {
			if (strcmp(m->syms[k].name, sname) == 0 ||
			    (m->syms[k].demangled[0] && strcmp(m->syms[k].demangled, sname) == 0)) {
				*addr = m->syms[k].addr;
				return STRAND_OK;
			}
		}
	}
	return STRAND_NOT_FOUND;
}

/* ===================================================================== */
/* Disassembly                                                            */
/* ===================================================================== */

strand_status strand_replay_disas(struct strand_replay *r, uint64_t addr, char *buf, size_t len,
				  uint32_t *insn_len)
{
	if (!buf || len == 0)
		return STRAND_ERR_INVALID;
	buf[0] = '\0';
	uint8_t code[16], valid[16];
	strand_replay_read(r, addr, code, sizeof code, valid);
	size_t n = 0;
	while (n < sizeof code && valid[n])
		n++;
	if (n == 0) {
		snprintf(buf, len, "(unmapped)");
		return STRAND_NOT_FOUND;
	}
	if (!r->cs_ok) {
		snprintf(buf, len, "(no disassembler)");
		return STRAND_ERR_UNSUPPORTED;
	}
	cs_insn *insn = NULL;
	size_t count = cs_disasm(r->cs, code, n, addr, 1, &insn);
	if (count == 0) {
		snprintf(buf, len, "(bad)");
		if (insn_len)
			*insn_len = 1;
		return STRAND_NOT_FOUND;
	}
	if (insn[0].op_str[0])
		snprintf(buf, len, "%s %s", insn[0].mnemonic, insn[0].op_str);
	else
		snprintf(buf, len, "%s", insn[0].mnemonic);
	if (insn_len)
		*insn_len = insn[0].size;
	cs_free(insn, count);
	return STRAND_OK;
}

void rp_describe_pc(struct strand_replay *r, uint64_t pc, char *buf, size_t len)
{
	char sym[160], dis[96];
	strand_replay_symbolize(r, pc, sym, sizeof sym);
	strand_replay_disas(r, pc, dis, sizeof dis, NULL);
	if (strncmp(sym, "0x", 2) == 0)
		snprintf(buf, len, "0x%" PRIx64 ": %s", pc, dis);
	else
		snprintf(buf, len, "0x%" PRIx64 " (%s): %s", pc, sym, dis);
}
