/*
 * The system service table of the loaded ntdll, and how its stubs enter
 * the kernel (docs/winemu.md "Personalities").
 *
 * With the project's stand-in DLLs the numbers are those of Windows Server
 * 2003 SP2 (knowledge/nt_syscalls.h, which the stand-in ntdll is built
 * from).  With real system DLLs (scenario `system_dlls`) the numbers are
 * whatever that ntdll's stubs say, so the table is read from the image
 * itself: every export whose code is
 *
 *     b8 NN NN NN NN      mov eax, N            service number
 *     ba TT TT TT TT      mov edx, T
 *     ff d2 | ff 12       call edx | call [edx]
 *     c2 AA 00 | c3       ret 4*nargs | ret
 *
 * is the stub of service N with nargs stack arguments.  Wine's stubs call
 * edx = __wine_syscall, itself `jmp [__wine_syscall_dispatcher]` (a data
 * word Wine's Unix side fills); Windows XP..7 stubs call [0x7ffe0300]
 * (KUSER_SHARED_DATA.SystemCall = ntdll!KiFastSystemCall).  In both cases
 * the stack at the jump target is KiFastSystemCall's (return into the
 * stub, return into the caller, arguments), so the kernel model serves
 * either once the target reaches a `mov edx, esp; sysenter; ret`.
 *
 * Names: an ntdll exports Nt* and Zw* at the same stub; the Nt name is
 * kept (then the alphabetically first, for stubs with other names only).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/winemu/winemu_int.h"

#define NT_SYSCALL(name, num, argc) { #name, num, argc },
static const struct { const char *name; uint32_t number, nargs; } standin_table[] = {
#include "knowledge/nt_syscalls.h"
};
#undef NT_SYSCALL

#define MAX_SERVICE 0x1000u /* ntdll's services are table 0: 12-bit indices */

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void wemu_systable_free(struct wemu *m)
{
	for (size_t i = 0; i < m->nsys; i++)
		free(m->sys[i].name);
	free(m->sys);
	m->sys = NULL;
	m->nsys = 0;
}

static int sys_cmp(const void *a, const void *b)
{
	const struct wsyscall *x = a, *y = b;
	return x->number < y->number ? -1 : x->number > y->number;
}

/* Is `a` the better name for a stub than `b`?  Nt* first, then strcmp. */
static bool better_name(const char *a, const char *b)
{
	bool an = strncmp(a, "Nt", 2) == 0, bn = strncmp(b, "Nt", 2) == 0;
	if (an != bn)
		return an;
	return strcmp(a, b) < 0;
}

static strand_status sys_add(struct wemu *m, uint32_t number, const char *name, uint32_t nargs)
{
	for (size_t i = 0; i < m->nsys; i++)
		if (m->sys[i].number == number) {
			if (better_name(name, m->sys[i].name)) {
				char *s = strdup(name);
				if (!s)
					return strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
				free(m->sys[i].name);
				m->sys[i].name = s;
				m->sys[i].nargs = nargs;
			}
			return STRAND_OK;
		}
	struct wsyscall *v = realloc(m->sys, (m->nsys + 1) * sizeof *v);
	if (!v)
		return strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
	m->sys = v;
	m->sys[m->nsys] = (struct wsyscall){ number, nargs, strdup(name), -1 };
	if (!m->sys[m->nsys].name)
		return strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
	m->nsys++;
	return STRAND_OK;
}

strand_status wemu_systable_standin(struct wemu *m)
{
	for (size_t i = 0; i < sizeof standin_table / sizeof standin_table[0]; i++) {
		strand_status st = sys_add(m, standin_table[i].number, standin_table[i].name,
					   standin_table[i].nargs);
		if (st != STRAND_OK)
			return st;
	}
	qsort(m->sys, m->nsys, sizeof *m->sys, sys_cmp);
	snprintf(m->sys_source, sizeof m->sys_source,
		 "built in: Windows Server 2003 SP2 numbers (%zu services)", m->nsys);
	return STRAND_OK;
}

/* The image byte range [rva, rva + n) of a module, or NULL. */
static const uint8_t *img_at(const struct wmodule *mod, uint32_t rva, uint32_t n)
{
	if (rva > mod->size || n > mod->size - rva)
		return NULL;
	return mod->img + rva;
}

static const struct pe_export *export_named(const struct wmodule *mod, const char *name)
{
	for (size_t i = 0; i < mod->nexports; i++)
		if (mod->exports[i].name && mod->exports[i].rva && strcmp(mod->exports[i].name, name) == 0)
			return &mod->exports[i];
	return NULL;
}

strand_status wemu_systable_derive(struct wemu *m, struct wmodule *nt)
{
	uint32_t target = 0, via_mem = 0, nstubs = 0;
	bool have_target = false;
	for (size_t i = 0; i < nt->nexports; i++) {
		const struct pe_export *e = &nt->exports[i];
		const uint8_t *c = e->name && e->rva ? img_at(nt, e->rva, 15) : NULL;
		if (!c || c[0] != 0xb8 || c[5] != 0xba || c[10] != 0xff || (c[11] != 0xd2 && c[11] != 0x12))
			continue;
		uint32_t nargs;
		if (c[12] == 0xc2 && c[14] == 0 && c[13] % 4 == 0)
			nargs = c[13] / 4u;
		else if (c[12] == 0xc3)
			nargs = 0;
		else
			continue;
		uint32_t number = rd32(c + 1), t = rd32(c + 6);
		if (number >= MAX_SERVICE || nargs > 16)
			continue;
		if (have_target && (t != target || (c[11] == 0x12) != (via_mem != 0)))
			return strand_error_set(m->err, STRAND_ERR_INVALID,
						"%s: system call stubs disagree: %s calls 0x%08x, others 0x%08x",
						nt->pe.name, e->name, t, target);
		have_target = true;
		target = t;
		via_mem = c[11] == 0x12;
		nstubs++;
		strand_status st = sys_add(m, number, e->name, nargs);
		if (st != STRAND_OK)
			return st;
	}
	if (!nstubs)
		return strand_error_set(m->err, STRAND_ERR_INVALID,
					"%s: no system call stubs recognised (mov eax,N; mov edx,T; call edx or "
					"call [edx]; ret): unsupported ntdll", nt->pe.name);
	qsort(m->sys, m->nsys, sizeof *m->sys, sys_cmp);
	if (via_mem) {
		/* Windows XP .. 7: call [0x7ffe0300] = KUSER_SHARED_DATA.SystemCall */
		if (target != WEMU_SHARED + 0x300)
			return strand_error_set(m->err, STRAND_ERR_INVALID,
						"%s: stubs call [0x%08x], expected [0x7ffe0300]", nt->pe.name, target);
		m->personality = WP_WINDOWS;
		m->dispatch_word = 0;
	} else {
		/* the target must be `jmp [D]` inside ntdll: D is the dispatcher word */
		const uint8_t *j = target >= nt->base ? img_at(nt, target - nt->base, 6) : NULL;
		if (!j || j[0] != 0xff || j[1] != 0x25)
			return strand_error_set(m->err, STRAND_ERR_INVALID,
						"%s: stubs call 0x%08x, which is not `jmp [dispatcher]`", nt->pe.name,
						target);
		uint32_t d = rd32(j + 2);
		if (d < nt->base || !img_at(nt, d - nt->base, 4))
			return strand_error_set(m->err, STRAND_ERR_INVALID,
						"%s: dispatcher word 0x%08x is outside the image", nt->pe.name, d);
		m->personality = export_named(nt, "wine_server_call") ? WP_WINE : WP_WINDOWS;
		m->dispatch_word = d;
	}
	snprintf(m->sys_source, sizeof m->sys_source,
		 "derived from %s's system call stubs (%zu services, %u stubs, %s 0x%08x)", nt->pe.name,
		 m->nsys, nstubs, via_mem ? "call [edx] at" : "dispatcher word", via_mem ? target : m->dispatch_word);
	return STRAND_OK;
}

/* The win32k services (table 1: numbers 0x1000..0x1fff) of a module with
 * stubs of its own, read as ntdll's are (Wine's win32u.dll). */
static strand_status add_win32k_stubs(struct wemu *m, const struct wmodule *mod, uint32_t *count)
{
	*count = 0;
	for (size_t i = 0; i < mod->nexports; i++) {
		const struct pe_export *e = &mod->exports[i];
		const uint8_t *c = e->name && e->rva ? img_at(mod, e->rva, 15) : NULL;
		if (!c || c[0] != 0xb8 || c[5] != 0xba || c[10] != 0xff || c[11] != 0xd2)
			continue;
		uint32_t nargs;
		if (c[12] == 0xc2 && c[14] == 0 && c[13] % 4 == 0)
			nargs = c[13] / 4u;
		else if (c[12] == 0xc3)
			nargs = 0;
		else
			continue;
		uint32_t number = rd32(c + 1);
		if (number < MAX_SERVICE || number >= 2 * MAX_SERVICE || nargs > 16)
			continue;
		size_t before = m->nsys;
		strand_status st = sys_add(m, number, e->name, nargs);
		if (st != STRAND_OK)
			return st;
		*count += m->nsys > before;
	}
	qsort(m->sys, m->nsys, sizeof *m->sys, sys_cmp);
	return STRAND_OK;
}

strand_status wemu_systable_win32k(struct wemu *m, const char *path)
{
	struct wmodule mod;
	memset(&mod, 0, sizeof mod);
	strand_status st = pe_load("win32u.dll", path, &mod.pe, m->err);
	if (st == STRAND_OK)
		st = pe_build_image(&mod.pe, &mod.img, m->err);
	if (st == STRAND_OK) {
		mod.base = mod.pe.image_base;
		mod.size = mod.pe.size_of_image;
		st = pe_exports(&mod.pe, mod.img, &mod.exports, &mod.nexports, m->err);
	}
	uint32_t n = 0;
	if (st == STRAND_OK)
		st = add_win32k_stubs(m, &mod, &n);
	pe_exports_free(mod.exports, mod.nexports);
	free(mod.img);
	pe_file_free(&mod.pe);
	if (st != STRAND_OK)
		return strand_error_wrap(m->err, st, "win32u.dll's system call stubs");
	size_t l = strlen(m->sys_source);
	snprintf(m->sys_source + l, sizeof m->sys_source - l, "; win32k: %u services from win32u.dll's stubs", n);
	return STRAND_OK;
}

uint32_t wemu_stub_dispatch_word(const struct wmodule *mod)
{
	for (size_t i = 0; i < mod->nexports; i++) {
		const struct pe_export *e = &mod->exports[i];
		const uint8_t *c = e->name && e->rva ? img_at(mod, e->rva, 12) : NULL;
		if (!c || c[0] != 0xb8 || c[5] != 0xba || c[10] != 0xff || c[11] != 0xd2)
			continue;
		uint32_t t = rd32(c + 6);
		const uint8_t *j = t >= mod->base ? img_at(mod, t - mod->base, 6) : NULL;
		if (!j || j[0] != 0xff || j[1] != 0x25)
			continue;
		uint32_t d = rd32(j + 2);
		if (d >= mod->base && img_at(mod, d - mod->base, 4))
			return d;
	}
	return 0;
}

const struct wsyscall *wemu_sys_find(const struct wemu *m, uint32_t number)
{
	size_t lo = 0, hi = m->nsys;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->sys[mid].number == number)
			return &m->sys[mid];
		if (m->sys[mid].number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *wemu_personality_name(int p)
{
	switch (p) {
	case WP_WINE: return "wine";
	case WP_WINDOWS: return "windows";
	default: return "standin";
	}
}

strand_status wemu_systable_note(struct wemu *m, char **out, size_t *len)
{
	size_t cap = 256 + m->nsys * 80, n = 0;
	char *s = malloc(cap);
	if (!s)
		return strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
	n += (size_t)snprintf(s + n, cap - n, "# personality=%s\n# source=%s\n",
			      wemu_personality_name(m->personality), m->sys_source);
	for (size_t i = 0; i < m->nsys && n < cap; i++)
		n += (size_t)snprintf(s + n, cap - n, "0x%03x %s %u\n", m->sys[i].number, m->sys[i].name,
				      m->sys[i].nargs);
	if (n >= cap) {
		free(s);
		return strand_error_set(m->err, STRAND_ERR_INVALID, "winemu: syscall table note too long");
	}
	*out = s;
	*len = n;
	return STRAND_OK;
}
