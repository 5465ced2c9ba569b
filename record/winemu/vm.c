/*
 * The guest address space: a sorted list of regions mirrored one-to-one in
 * Unicorn, guest memory access for the kernel model (checked like
 * ProbeForRead/ProbeForWrite), and the effects a system call has on it
 * (mapping changes and written bytes, for the SYSCALL record).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/winemu/winemu_int.h"

/* Win32 PAGE_* protections */
enum {
	PAGE_NOACCESS = 0x01, PAGE_READONLY = 0x02, PAGE_READWRITE = 0x04,
	PAGE_WRITECOPY = 0x08, PAGE_EXECUTE = 0x10, PAGE_EXECUTE_READ = 0x20,
	PAGE_EXECUTE_READWRITE = 0x40, PAGE_EXECUTE_WRITECOPY = 0x80,
	PAGE_MODIFIERS = 0x100 | 0x200 | 0x400, /* GUARD, NOCACHE, WRITECOMBINE */
};

uint32_t wemu_prot_from_win(uint32_t page_prot, bool *ok)
{
	*ok = true;
	switch (page_prot & ~(uint32_t)PAGE_MODIFIERS) {
	case PAGE_NOACCESS: return 0;
	case PAGE_READONLY: return STRAND_PROT_READ;
	case PAGE_READWRITE:
	case PAGE_WRITECOPY: return STRAND_PROT_READ | STRAND_PROT_WRITE;
	case PAGE_EXECUTE: return STRAND_PROT_EXEC;
	case PAGE_EXECUTE_READ: return STRAND_PROT_READ | STRAND_PROT_EXEC;
	case PAGE_EXECUTE_READWRITE:
	case PAGE_EXECUTE_WRITECOPY: return STRAND_PROT_READ | STRAND_PROT_WRITE | STRAND_PROT_EXEC;
	}
	*ok = false;
	return 0;
}

uint32_t wemu_prot_to_win(uint32_t prot)
{
	switch (prot) {
	case 0: return PAGE_NOACCESS;
	case STRAND_PROT_READ: return PAGE_READONLY;
	case STRAND_PROT_WRITE:
	case STRAND_PROT_READ | STRAND_PROT_WRITE: return PAGE_READWRITE;
	case STRAND_PROT_EXEC: return PAGE_EXECUTE;
	case STRAND_PROT_READ | STRAND_PROT_EXEC: return PAGE_EXECUTE_READ;
	default: return PAGE_EXECUTE_READWRITE;
	}
}

/* ===================================================================== */
/* Effects                                                                */
/* ===================================================================== */

void wemu_fx_reset(struct wfx *fx)
{
	for (uint32_t i = 0; i < fx->nmaps; i++) {
		free((void *)fx->maps[i].data);
		free((void *)fx->maps[i].name);
	}
	for (uint32_t i = 0; i < fx->nwrites; i++)
		free((void *)fx->writes[i].data);
	fx->nmaps = fx->nwrites = 0;
}

void wemu_fx_free(struct wfx *fx)
{
	wemu_fx_reset(fx);
	free(fx->maps);
	free(fx->writes);
	memset(fx, 0, sizeof *fx);
}

static bool fx_add_map(struct wemu *m, uint32_t op, const struct wregion *r, uint32_t addr,
		       uint32_t size, const void *data)
{
	struct wfx *fx = &m->fx;
	if (!fx->active)
		return true;
	if (fx->nmaps == fx->capmaps) {
		uint32_t cap = fx->capmaps ? fx->capmaps * 2 : 8;
		struct strand_mapchange *p = realloc(fx->maps, cap * sizeof *p);
		if (!p)
			return false;
		fx->maps = p;
		fx->capmaps = cap;
	}
	struct strand_mapchange *c = &fx->maps[fx->nmaps];
	memset(c, 0, sizeof *c);
	c->op = op;
	c->prot = r->prot;
	c->addr = addr;
	c->size = size;
	c->kind = r->kind;
	c->name = strdup(r->name);
	if (!c->name)
		return false;
	if (data) {
		uint8_t *d = malloc(size);
		if (!d) {
			free((void *)c->name);
			return false;
		}
		memcpy(d, data, size);
		c->data = d;
	}
	fx->nmaps++;
	return true;
}

static bool fx_add_write(struct wemu *m, uint32_t addr, const void *buf, uint32_t len)
{
	struct wfx *fx = &m->fx;
	if (!fx->active || len == 0)
		return true;
	if (fx->nwrites == fx->capwrites) {
		uint32_t cap = fx->capwrites ? fx->capwrites * 2 : 16;
		struct strand_memwrite *p = realloc(fx->writes, cap * sizeof *p);
		if (!p)
			return false;
		fx->writes = p;
		fx->capwrites = cap;
	}
	uint8_t *d = malloc(len);
	if (!d)
		return false;
	memcpy(d, buf, len);
	fx->writes[fx->nwrites++] = (struct strand_memwrite){ addr, len, d };
	return true;
}

/* ===================================================================== */
/* Regions                                                                */
/* ===================================================================== */

static size_t first_at_or_after(const struct wemu *m, uint32_t addr)
{
	size_t lo = 0, hi = m->nregions;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct wregion *r = &m->regions[mid];
		if ((uint64_t)r->addr + r->size <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo; /* first region whose end > addr */
}

struct wregion *wemu_vm_region_at(struct wemu *m, uint32_t addr)
{
	size_t i = first_at_or_after(m, addr);
	if (i < m->nregions && m->regions[i].addr <= addr)
		return &m->regions[i];
	return NULL;
}

bool wemu_vm_is_free(const struct wemu *m, uint32_t addr, uint32_t size)
{
	uint64_t end = (uint64_t)addr + size;
	size_t i = first_at_or_after(m, addr);
	return i >= m->nregions || m->regions[i].addr >= end;
}

bool wemu_vm_find_free(const struct wemu *m, uint32_t size, uint32_t align, uint32_t min,
		       uint32_t max, uint32_t *out)
{
	uint64_t a = ((uint64_t)min + align - 1) / align * align;
	for (size_t i = first_at_or_after(m, (uint32_t)a); a + size <= max; i++) {
		if (i >= m->nregions || m->regions[i].addr >= a + size) {
			*out = (uint32_t)a;
			return true;
		}
		uint64_t end = (uint64_t)m->regions[i].addr + m->regions[i].size;
		if (end > a)
			a = (end + align - 1) / align * align;
	}
	return false;
}

static bool insert_region(struct wemu *m, const struct wregion *r)
{
	if (m->nregions == m->capregions) {
		size_t cap = m->capregions ? m->capregions * 2 : 64;
		struct wregion *p = realloc(m->regions, cap * sizeof *p);
		if (!p)
			return false;
		m->regions = p;
		m->capregions = cap;
	}
	size_t i = first_at_or_after(m, r->addr);
	memmove(&m->regions[i + 1], &m->regions[i], (m->nregions - i) * sizeof *r);
	m->regions[i] = *r;
	m->nregions++;
	return true;
}

/* Make addr a region boundary (split the region containing it). */
static bool split_at(struct wemu *m, uint32_t addr)
{
	struct wregion *r = wemu_vm_region_at(m, addr);
	if (!r || r->addr == addr)
		return true;
	struct wregion hi = *r;
	hi.addr = addr;
	hi.size = r->addr + r->size - addr;
	r->size = addr - r->addr;
	return insert_region(m, &hi);
}

/* Is [addr, addr+size) entirely covered by regions? */
static bool covered(const struct wemu *m, uint32_t addr, uint32_t size)
{
	uint64_t a = addr, end = (uint64_t)addr + size;
	for (size_t i = first_at_or_after(m, addr); a < end; i++) {
		if (i >= m->nregions || m->regions[i].addr > a)
			return false;
		a = (uint64_t)m->regions[i].addr + m->regions[i].size;
	}
	return true;
}

static strand_status nomem(struct wemu *m)
{
	return strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
}

strand_status wemu_vm_map(struct wemu *m, uint32_t addr, uint32_t size, uint32_t prot,
			  uint32_t kind, const char *name, const void *data, bool committed,
			  bool image, uint32_t alloc_prot)
{
	if (addr % WEMU_PAGE || size % WEMU_PAGE || size == 0 ||
	    (uint64_t)addr + size > 0x100000000ull || !wemu_vm_is_free(m, addr, size))
		return strand_error_set(m->err, STRAND_ERR_INVALID,
					"winemu: cannot map addr=0x%08x size=0x%x (%s)", addr, size, name);
	uc_err e = uc_mem_map(m->uc, addr, size, prot);
	if (e == UC_ERR_OK && data)
		e = uc_mem_write(m->uc, addr, data, size);
	if (e != UC_ERR_OK)
		return strand_error_set(m->err, STRAND_ERR_EMULATOR,
					"winemu: map addr=0x%08x size=0x%x: %s", addr, size, uc_strerror(e));
	struct wregion r = { .addr = addr, .size = size, .prot = prot, .kind = kind,
			     .alloc_base = addr, .alloc_prot = alloc_prot,
			     .committed = committed, .image = image };
	snprintf(r.name, sizeof r.name, "%s", name ? name : "");
	if (!insert_region(m, &r) || !fx_add_map(m, STRAND_MAP_MAP, &r, addr, size, data))
		return nomem(m);
	return STRAND_OK;
}

strand_status wemu_vm_unmap(struct wemu *m, uint32_t addr, uint32_t size)
{
	if (!covered(m, addr, size))
		return strand_error_set(m->err, STRAND_ERR_INVALID,
					"winemu: unmap addr=0x%08x size=0x%x: not mapped", addr, size);
	if (!split_at(m, addr) || !split_at(m, addr + size))
		return nomem(m);
	size_t i = first_at_or_after(m, addr);
	while (i < m->nregions && m->regions[i].addr < (uint64_t)addr + size) {
		struct wregion r = m->regions[i];
		uc_err e = uc_mem_unmap(m->uc, r.addr, r.size);
		if (e != UC_ERR_OK)
			return strand_error_set(m->err, STRAND_ERR_EMULATOR,
						"winemu: unmap addr=0x%08x: %s", r.addr, uc_strerror(e));
		if (!fx_add_map(m, STRAND_MAP_UNMAP, &r, r.addr, r.size, NULL))
			return nomem(m);
		memmove(&m->regions[i], &m->regions[i + 1], (m->nregions - i - 1) * sizeof r);
		m->nregions--;
	}
	return STRAND_OK;
}

strand_status wemu_vm_protect(struct wemu *m, uint32_t addr, uint32_t size, uint32_t prot,
			      bool committed, uint32_t alloc_prot_or_0)
{
	if (!covered(m, addr, size))
		return strand_error_set(m->err, STRAND_ERR_INVALID,
					"winemu: protect addr=0x%08x size=0x%x: not mapped", addr, size);
	if (!split_at(m, addr) || !split_at(m, addr + size))
		return nomem(m);
	for (size_t i = first_at_or_after(m, addr);
	     i < m->nregions && m->regions[i].addr < (uint64_t)addr + size; i++) {
		struct wregion *r = &m->regions[i];
		uc_err e = uc_mem_protect(m->uc, r->addr, r->size, prot);
		if (e != UC_ERR_OK)
			return strand_error_set(m->err, STRAND_ERR_EMULATOR,
						"winemu: protect addr=0x%08x: %s", r->addr, uc_strerror(e));
		r->prot = prot;
		r->committed = committed;
		if (alloc_prot_or_0)
			r->alloc_prot = alloc_prot_or_0;
		if (!fx_add_map(m, STRAND_MAP_PROTECT, r, r->addr, r->size, NULL))
			return nomem(m);
	}
	return STRAND_OK;
}

/* ===================================================================== */
/* Guest memory for the kernel                                            */
/* ===================================================================== */

static bool accessible(struct wemu *m, uint32_t addr, uint32_t len, uint32_t need)
{
	if (len == 0)
		return true;
	uint64_t a = addr, end = (uint64_t)addr + len;
	if (end > WEMU_USER_END)
		return false; /* the kernel only touches user addresses for the guest */
	for (size_t i = first_at_or_after(m, addr); a < end; i++) {
		if (i >= m->nregions || m->regions[i].addr > a ||
		    (m->regions[i].prot & need) != need)
			return false;
		a = (uint64_t)m->regions[i].addr + m->regions[i].size;
	}
	return true;
}

bool wemu_can_write(struct wemu *m, uint32_t addr, uint32_t len)
{
	return accessible(m, addr, len, STRAND_PROT_WRITE);
}

bool wemu_read(struct wemu *m, uint32_t addr, void *buf, uint32_t len)
{
	if (!accessible(m, addr, len, STRAND_PROT_READ))
		return false;
	return len == 0 || uc_mem_read(m->uc, addr, buf, len) == UC_ERR_OK;
}

bool wemu_write(struct wemu *m, uint32_t addr, const void *buf, uint32_t len)
{
	if (!accessible(m, addr, len, STRAND_PROT_WRITE))
		return false;
	if (len == 0)
		return true;
	if (uc_mem_write(m->uc, addr, buf, len) != UC_ERR_OK)
		return false;
	if (!fx_add_write(m, addr, buf, len)) {
		m->hook_status = nomem(m);
		return false;
	}
	return true;
}

bool wemu_read32(struct wemu *m, uint32_t addr, uint32_t *v)
{
	uint8_t b[4];
	if (!wemu_read(m, addr, b, 4))
		return false;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return true;
}

bool wemu_write32(struct wemu *m, uint32_t addr, uint32_t v)
{
	uint8_t b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
	return wemu_write(m, addr, b, 4);
}

bool wemu_write64(struct wemu *m, uint32_t addr, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return wemu_write(m, addr, b, 8);
}
