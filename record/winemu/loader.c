/*
 * The process as Windows' loader leaves it before the first user
 * instruction: images mapped and bound, PEB / PEB_LDR_DATA / LDR entries,
 * process parameters, KUSER_SHARED_DATA, the GDT, the main thread's TEB
 * and stack, and the start-up code (docs/winemu.md "Loader").  Then the
 * initial snapshot records.
 */
#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "record/winemu/winemu_int.h"

#define NT_SYSCALL(name, num, argc) enum { SYS_##name = num };
#include "knowledge/nt_syscalls.h"
#undef NT_SYSCALL

#define MAX_FORWARD_HOPS 8

static void put16(uint8_t *p, uint16_t v) { p[0] = v & 0xff; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = v >> 24;
}
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static strand_status lerr(struct wemu *m, strand_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static strand_status lerr(struct wemu *m, strand_status st, const char *fmt, ...)
{
	char msg[STRAND_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return strand_error_set(m->err, st, "%s", msg);
}

/* ===================================================================== */
/* Start-up code (docs/winemu.md "Start-up", "New threads")               */
/* ===================================================================== */

/* Assembled from this source (nasm, org 0x40000); offsets on the left.
 *
 * process_entry:                           ; main thread starts here
 * 00  mov eax, [fs:0x30]                   ; PEB
 * 06  mov eax, [eax+0x0C]                  ; PEB.Ldr
 * 09  lea edi, [eax+0x1C]                  ; &InInitializationOrderModuleList
 * 0C  mov esi, [edi]
 * 0E .loop: cmp esi, edi
 * 10  je .done
 * 12  mov eax, [esi+0x0C]                  ; entry->EntryPoint
 * 15  test eax, eax
 * 17  jz .next
 * 19  push 1                               ; lpReserved: static load
 * 1B  push 1                               ; DLL_PROCESS_ATTACH
 * 1D  push dword [esi+0x08]                ; entry->DllBase
 * 20  call eax
 * 22  test eax, eax
 * 24  jz .fail
 * 26 .next: mov esi, [esi]
 * 28  jmp .loop
 * 2A .fail: push 0xC0000142                ; STATUS_DLL_INIT_FAILED
 * 2F  jmp .exit
 * 31 .done: mov eax, [fs:0x30]
 * 37  mov edx, [eax+0x0C]
 * 3A  mov edx, [edx+0x0C]                  ; first InLoadOrder entry: the exe
 * 3D  mov edx, [edx+0x1C]                  ; its EntryPoint
 * 40  mov esi, esp
 * 42  push eax                             ; the PEB as argument
 * 43  call edx
 * 45  mov esp, esi
 * 47  push eax                             ; exit status
 * 48 .exit: push -1                        ; NtCurrentProcess()
 * 4A  push 0                               ; two return-address slots, as
 * 4C  push 0                               ; an ntdll stub call leaves them
 * 4E  mov eax, NtTerminateProcess
 * 53  mov edx, esp
 * 55  sysenter
 * 57  ud2
 *
 * thread_entry (0x80):                     ; new threads start here, esp at
 *                                          ; a pushad frame + eflags + eip
 * 80  mov eax, [fs:0x30]
 * 86  mov eax, [eax+0x0C]
 * 89  lea edi, [eax+0x1C]
 * 8C  mov esi, [edi]
 * 8E .loop: cmp esi, edi
 * 90  je .done
 * 92  mov eax, [esi+0x0C]
 * 95  test eax, eax
 * 97  jz .next
 * 99  test dword [esi+0x24], 0x00040000    ; LDRP_DONT_CALL_FOR_THREADS
 * A0  jnz .next
 * A2  push 0
 * A4  push 2                               ; DLL_THREAD_ATTACH
 * A6  push dword [esi+0x08]
 * A9  call eax
 * AB .next: mov esi, [esi]
 * AD  jmp .loop
 * AF .done: popad
 * B0  popfd
 * B1  ret                                  ; to the context's Eip
 */
#define TP_LO(v) ((v) & 0xff), (((v) >> 8) & 0xff), (((v) >> 16) & 0xff), (((v) >> 24) & 0xff)
static const uint8_t thunk_code[] = {
	0x64, 0xa1, 0x30, 0x00, 0x00, 0x00, 0x8b, 0x40, 0x0c, 0x8d, 0x78, 0x1c,
	0x8b, 0x37, 0x39, 0xfe, 0x74, 0x1f, 0x8b, 0x46, 0x0c, 0x85, 0xc0, 0x74,
	0x0d, 0x6a, 0x01, 0x6a, 0x01, 0xff, 0x76, 0x08, 0xff, 0xd0, 0x85, 0xc0,
	0x74, 0x04, 0x8b, 0x36, 0xeb, 0xe4, 0x68, 0x42, 0x01, 0x00, 0xc0, 0xeb,
	0x17, 0x64, 0xa1, 0x30, 0x00, 0x00, 0x00, 0x8b, 0x50, 0x0c, 0x8b, 0x52,
	0x0c, 0x8b, 0x52, 0x1c, 0x89, 0xe6, 0x50, 0xff, 0xd2, 0x89, 0xf4, 0x50,
	0x6a, 0xff, 0x6a, 0x00, 0x6a, 0x00, 0xb8, TP_LO(SYS_NtTerminateProcess), 0x89,
	0xe2, 0x0f, 0x34, 0x0f, 0x0b,
	/* 0x59 .. 0x7f: int3 padding */
	0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
	0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
	0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
	0xcc, 0xcc, 0xcc,
	/* 0x80: thread_entry */
	0x64, 0xa1, 0x30, 0x00, 0x00, 0x00, 0x8b, 0x40, 0x0c, 0x8d, 0x78, 0x1c,
	0x8b, 0x37, 0x39, 0xfe, 0x74, 0x1d, 0x8b, 0x46, 0x0c, 0x85, 0xc0, 0x74,
	0x12, 0xf7, 0x46, 0x24, 0x00, 0x00, 0x04, 0x00, 0x75, 0x09, 0x6a, 0x00,
	0x6a, 0x02, 0xff, 0x76, 0x08, 0xff, 0xd0, 0x8b, 0x36, 0xeb, 0xdf, 0x61,
	0x9d, 0xc3,
};
_Static_assert(sizeof thunk_code == 0xb2, "thunk layout");
#undef TP_LO

/* ===================================================================== */
/* GDT                                                                    */
/* ===================================================================== */

void wemu_gdt_desc(uint8_t *d, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	d[0] = limit & 0xff;
	d[1] = (limit >> 8) & 0xff;
	d[2] = base & 0xff;
	d[3] = (base >> 8) & 0xff;
	d[4] = (base >> 16) & 0xff;
	d[5] = access;
	d[6] = (uint8_t)(((limit >> 16) & 0x0f) | (flags << 4));
	d[7] = base >> 24;
}

void wemu_gdt_set_fs_base(struct wemu *m, uint32_t teb)
{
	uint8_t d[8];
	wemu_gdt_desc(d, teb, 0xfff, 0xf3, 0x4);
	uc_mem_write(m->uc, WEMU_GDT + (WEMU_SEL_FS & ~7u), d, 8);
	uint32_t sel = WEMU_SEL_FS;
	uc_reg_write(m->uc, UC_X86_REG_FS, &sel);
}

strand_status wemu_map_gdt(struct wemu *m, uint32_t teb)
{
	uint8_t page[WEMU_PAGE] = { 0 };
	wemu_gdt_desc(page + 0x08, 0, 0xfffff, 0x9b, 0xc); /* ring-0 code */
	wemu_gdt_desc(page + 0x10, 0, 0xfffff, 0x93, 0xc); /* ring-0 data (SS) */
	wemu_gdt_desc(page + 0x18, 0, 0xfffff, 0xfb, 0xc); /* ring-3 code (CS 0x1B) */
	wemu_gdt_desc(page + 0x20, 0, 0xfffff, 0xf3, 0xc); /* ring-3 data (DS, ES 0x23) */
	wemu_gdt_desc(page + 0x38, teb, 0xfff, 0xf3, 0x4); /* TEB (FS 0x3B) */
	return wemu_vm_map(m, WEMU_GDT, WEMU_PAGE, STRAND_PROT_READ, STRAND_REGION_GDT, "gdt",
			   page, true, false, 0x02);
}

/* ===================================================================== */
/* Modules                                                                */
/* ===================================================================== */

/* Host path of `name` in the module directory (case-insensitive). */
strand_status wemu_find_file_in(struct wemu *m, const char *dir, const char *name, char *path, size_t n)
{
	DIR *d = opendir(dir);
	if (!d)
		return lerr(m, STRAND_ERR_IO, "cannot open module directory '%s'", dir);
	/* pick the lexicographically smallest match so the choice is stable */
	char best[256] = "";
	for (struct dirent *e; (e = readdir(d));)
		if (strcasecmp(e->d_name, name) == 0 && (!best[0] || strcmp(e->d_name, best) < 0))
			snprintf(best, sizeof best, "%s", e->d_name);
	closedir(d);
	if (!best[0])
		return lerr(m, STRAND_ERR_INVALID, "module '%s' not found in '%s'", name, dir);
	snprintf(path, n, "%s/%s", dir, best);
	return STRAND_OK;
}

static strand_status find_module_file(struct wemu *m, const char *name, char *path, size_t n)
{
	return wemu_find_file_in(m, m->opt && m->opt->modules_dir ? m->opt->modules_dir : m->scn->proc.modules,
				 name, path, n);
}

static struct wmodule *find_loaded(struct wemu *m, const char *name)
{
	for (size_t i = 0; i < m->nmods; i++)
		if (strcasecmp(m->mods[i].pe.name, name) == 0)
			return &m->mods[i];
	return NULL;
}

/* "KERNEL32" -> "KERNEL32.dll"; names with an extension unchanged. */
static void dll_file_name(const char *in, char *out, size_t n)
{
	if (strchr(in, '.'))
		snprintf(out, n, "%s", in);
	else
		snprintf(out, n, "%s.dll", in);
}

/* Map headers and sections of a loaded module with their protections. */
static strand_status map_image(struct wemu *m, struct wmodule *mod)
{
	const struct pe_file *pe = &mod->pe;
	uint32_t npages = mod->size / WEMU_PAGE;
	uint32_t *prot = malloc(npages * sizeof *prot);
	if (!prot)
		return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
	for (uint32_t i = 0; i < npages; i++)
		prot[i] = STRAND_PROT_READ;
	for (uint16_t s = 0; s < pe->nsecs; s++) {
		const struct pe_section *sec = &pe->secs[s];
		uint32_t first = sec->va / WEMU_PAGE;
		uint32_t last = (sec->va + sec->vsize + WEMU_PAGE - 1) / WEMU_PAGE;
		for (uint32_t p = first; p < last && p < npages; p++)
			prot[p] = pe_section_prot(sec->chars);
	}
	strand_status st = STRAND_OK;
	for (uint32_t p = 0; p < npages;) {
		uint32_t q = p;
		while (q < npages && prot[q] == prot[p])
			q++;
		st = wemu_vm_map(m, mod->base + p * WEMU_PAGE, (q - p) * WEMU_PAGE, prot[p],
				 STRAND_REGION_IMAGE, pe->name, mod->img + (size_t)p * WEMU_PAGE, true,
				 true, 0x80 /* PAGE_EXECUTE_WRITECOPY */);
		if (st != STRAND_OK)
			break;
		p = q;
	}
	free(prot);
	if (st == STRAND_OK)
		for (uint32_t p = 0; p < npages; p++)
			wemu_vm_region_at(m, mod->base + p * WEMU_PAGE)->alloc_base = mod->base;
	return st;
}

static strand_status load_module(struct wemu *m, const char *name, bool main, size_t *out_index,
				 unsigned depth);

strand_status wemu_map_pe(struct wemu *m, const char *path, const char *name, const char *win32_path,
			  bool main, size_t *out_index, bool *moved)
{
	return wemu_map_pe_at(m, path, NULL, 0, name, win32_path, main, 0, out_index, moved);
}

strand_status wemu_map_pe_at(struct wemu *m, const char *path, const uint8_t *bytes, size_t nbytes,
			     const char *name, const char *win32_path, bool main, uint32_t want_base,
			     size_t *out_index, bool *moved)
{
	struct wmodule *p = realloc(m->mods, (m->nmods + 1) * sizeof *p);
	if (!p)
		return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
	m->mods = p;
	size_t index = m->nmods++;
	struct wmodule *mod = &m->mods[index];
	memset(mod, 0, sizeof *mod);
	mod->id = m->next_module_id ? m->next_module_id++ : (uint32_t)index + 1;
	mod->main = main;
	strand_status st;
	if (bytes) {
		uint8_t *copy = malloc(nbytes ? nbytes : 1);
		if (!copy)
			return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
		memcpy(copy, bytes, nbytes);
		st = pe_parse(name, path, copy, nbytes, &mod->pe, m->err);
	} else {
		st = pe_load(name, path, &mod->pe, m->err);
	}
	if (st != STRAND_OK)
		return st;
	mod->size = mod->pe.size_of_image;
	mod->base = want_base ? want_base : mod->pe.image_base;
	*moved = false;
	if (want_base && !wemu_vm_is_free(m, mod->base, mod->size))
		return lerr(m, STRAND_ERR_INVALID, "%s: 0x%08x is not free", name, want_base);
	if (mod->base < WEMU_DYN_BASE || !wemu_vm_is_free(m, mod->base, mod->size)) {
		if (!wemu_vm_find_free(m, mod->size, WEMU_ALLOC_GRAN, WEMU_RELOC_BASE, WEMU_TEB_TOP - 0x100000,
				       &mod->base))
			return lerr(m, STRAND_ERR_INVALID, "%s: no room to relocate 0x%x bytes", name, mod->size);
		*moved = true;
	}
	if ((st = pe_build_image(&mod->pe, &mod->img, m->err)) != STRAND_OK ||
	    (st = pe_relocate(&mod->pe, mod->img, mod->base, m->err)) != STRAND_OK ||
	    (st = pe_exports(&mod->pe, mod->img, &mod->exports, &mod->nexports, m->err)) != STRAND_OK)
		return st;
	mod->entry = mod->pe.entry_rva ? mod->base + mod->pe.entry_rva : 0;
	if (!(mod->win32_path = strdup(win32_path)))
		return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
	if ((st = map_image(m, mod)) != STRAND_OK)
		return st;
	*out_index = index;
	return STRAND_OK;
}

static strand_status load_imports_of(struct wemu *m, size_t index, unsigned depth)
{
	struct pe_import *im = NULL;
	size_t nim = 0;
	strand_status st = pe_imports(&m->mods[index].pe, m->mods[index].img, &im, &nim, m->err);
	if (st != STRAND_OK)
		return st;
	for (size_t i = 0; i < nim && st == STRAND_OK; i++) {
		if (i && strcasecmp(im[i].dll, im[i - 1].dll) == 0)
			continue;
		char file[300];
		dll_file_name(im[i].dll, file, sizeof file);
		size_t dummy;
		st = load_module(m, file, false, &dummy, depth + 1);
		if (st != STRAND_OK)
			strand_error_wrap(m->err, st, "imported by %s", m->mods[index].pe.name);
	}
	pe_imports_free(im, nim);
	return st;
}

static strand_status load_module(struct wemu *m, const char *name, bool main, size_t *out_index,
				 unsigned depth)
{
	struct wmodule *have = find_loaded(m, name);
	if (have) {
		*out_index = (size_t)(have - m->mods);
		return STRAND_OK;
	}
	if (depth > 64)
		return lerr(m, STRAND_ERR_INVALID, "import chain deeper than 64 at '%s'", name);
	char path[4096];
	strand_status st = find_module_file(m, name, path, sizeof path);
	if (st != STRAND_OK)
		return st;
	struct wmodule *p = realloc(m->mods, (m->nmods + 1) * sizeof *p);
	if (!p)
		return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
	m->mods = p;
	size_t index = m->nmods++;
	struct wmodule *mod = &m->mods[index];
	memset(mod, 0, sizeof *mod);
	mod->id = (uint32_t)index + 1;
	mod->main = main;
	/* the module's own name: as the directory spells it */
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if ((st = pe_load(base, path, &mod->pe, m->err)) != STRAND_OK)
		return st;
	if (main == mod->pe.is_dll)
		return lerr(m, STRAND_ERR_INVALID, "%s: %s", base,
			    main ? "the process image is a DLL" : "imported module is not a DLL");
	mod->size = mod->pe.size_of_image;
	mod->base = mod->pe.image_base;
	if (mod->base < WEMU_DYN_BASE || !wemu_vm_is_free(m, mod->base, mod->size)) {
		if (!wemu_vm_find_free(m, mod->size, WEMU_ALLOC_GRAN, WEMU_RELOC_BASE, WEMU_TEB_TOP - 0x100000,
				       &mod->base))
			return lerr(m, STRAND_ERR_INVALID, "%s: no room to relocate 0x%x bytes", base, mod->size);
	}
	if ((st = pe_build_image(&mod->pe, &mod->img, m->err)) != STRAND_OK ||
	    (st = pe_relocate(&mod->pe, mod->img, mod->base, m->err)) != STRAND_OK ||
	    (st = pe_exports(&mod->pe, mod->img, &mod->exports, &mod->nexports, m->err)) != STRAND_OK)
		return st;
	mod->entry = mod->pe.entry_rva ? mod->base + mod->pe.entry_rva : 0;
	char win32[600];
	snprintf(win32, sizeof win32, "%s\\%s", m->scn->proc.dll_path, base);
	mod->win32_path = strdup(main ? m->scn->proc.image_path : win32);
	if (!mod->win32_path)
		return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
	if ((st = map_image(m, mod)) != STRAND_OK)
		return st;
	*out_index = index;
	if (main) {
		/* ntdll is always the first DLL (docs/winemu.md) */
		size_t nt;
		if ((st = load_module(m, "ntdll.dll", false, &nt, depth + 1)) != STRAND_OK)
			return st;
	}
	if ((st = load_imports_of(m, index, depth)) != STRAND_OK)
		return st;
	if (!main) {
		size_t *q = realloc(m->init_order, (m->ninit + 1) * sizeof *q);
		if (!q)
			return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
		m->init_order = q;
		m->init_order[m->ninit++] = index;
	}
	return STRAND_OK;
}

/* Address of export `name` (or ordinal) of module idx, following forwarders. */
static strand_status resolve_export(struct wemu *m, size_t idx, const char *name, uint32_t ordinal,
				    bool by_ordinal, uint32_t *addr, unsigned hops)
{
	struct wmodule *mod = &m->mods[idx];
	const struct pe_export *e = NULL;
	for (size_t i = 0; i < mod->nexports; i++) {
		const struct pe_export *x = &mod->exports[i];
		if (by_ordinal ? x->ordinal == ordinal : (x->name && strcmp(x->name, name) == 0)) {
			e = x;
			break;
		}
	}
	if (!e || (!e->rva && !e->forward)) {
		if (by_ordinal)
			return lerr(m, STRAND_ERR_INVALID, "%s has no export with ordinal %" PRIu32,
				    mod->pe.name, ordinal);
		return lerr(m, STRAND_ERR_INVALID, "%s has no export '%s'", mod->pe.name, name);
	}
	if (!e->forward) {
		*addr = mod->base + e->rva;
		return STRAND_OK;
	}
	if (hops >= MAX_FORWARD_HOPS)
		return lerr(m, STRAND_ERR_INVALID, "%s: forwarder chain longer than %d at '%s'",
			    mod->pe.name, MAX_FORWARD_HOPS, e->forward);
	const char *dot = strrchr(e->forward, '.');
	if (!dot || dot == e->forward || !dot[1])
		return lerr(m, STRAND_ERR_INVALID, "%s: malformed forwarder '%s'", mod->pe.name, e->forward);
	char dll[300];
	snprintf(dll, sizeof dll, "%.*s.dll", (int)(dot - e->forward), e->forward);
	size_t target;
	strand_status st = load_module(m, dll, false, &target, 1);
	if (st != STRAND_OK)
		return st;
	mod = &m->mods[idx]; /* load_module may have moved the array */
	if (dot[1] == '#') {
		char *end;
		unsigned long ord = strtoul(dot + 2, &end, 10);
		if (*end || ord > 0xffff)
			return lerr(m, STRAND_ERR_INVALID, "%s: malformed forwarder '%s'", mod->pe.name, e->forward);
		return resolve_export(m, target, NULL, (uint32_t)ord, true, addr, hops + 1);
	}
	return resolve_export(m, target, dot + 1, 0, false, addr, hops + 1);
}

static strand_status bind_imports(struct wemu *m)
{
	for (size_t i = 0; i < m->nmods; i++) {
		struct pe_import *im = NULL;
		size_t nim = 0;
		strand_status st = pe_imports(&m->mods[i].pe, m->mods[i].img, &im, &nim, m->err);
		for (size_t k = 0; k < nim && st == STRAND_OK; k++) {
			char file[300];
			dll_file_name(im[k].dll, file, sizeof file);
			struct wmodule *t = find_loaded(m, file);
			uint32_t addr = 0;
			if (!t)
				st = lerr(m, STRAND_ERR_INVALID, "internal: %s not loaded", file);
			else
				st = resolve_export(m, (size_t)(t - m->mods), im[k].name, im[k].ordinal,
						    im[k].by_ordinal, &addr, 0);
			if (st != STRAND_OK) {
				strand_error_wrap(m->err, st, "%s imports %s", m->mods[i].pe.name, file);
				break;
			}
			uint8_t b[4];
			put32(b, addr);
			/* (mods may have moved if a forwarder loaded a module) */
			struct wmodule *mod = &m->mods[i];
			memcpy(mod->img + im[k].iat_rva, b, 4);
			if (uc_mem_write(m->uc, mod->base + im[k].iat_rva, b, 4) != UC_ERR_OK)
				st = lerr(m, STRAND_ERR_EMULATOR, "%s: cannot write IAT", mod->pe.name);
		}
		pe_imports_free(im, nim);
		if (st != STRAND_OK)
			return st;
	}
	return STRAND_OK;
}

const struct pe_export *wemu_find_export(const struct wmodule *mod, const char *name)
{
	for (size_t i = 0; i < mod->nexports; i++)
		if (mod->exports[i].name && strcmp(mod->exports[i].name, name) == 0 && mod->exports[i].rva)
			return &mod->exports[i];
	return NULL;
}

/* ===================================================================== */
/* Process structures                                                     */
/* ===================================================================== */

/* A little bump allocator over a local copy of a guest region. */
struct lbuf {
	uint8_t *b;
	uint32_t base, size, used;
};

/* Place a NUL-terminated UTF-16 copy of ASCII/UTF-8 `s` (ASCII only is
 * widened; other bytes become '?') and fill the UNICODE_STRING at `us`. */
static bool lbuf_ustr(struct lbuf *l, uint8_t *us, const char *s)
{
	size_t n = strlen(s);
	uint32_t bytes = (uint32_t)(2 * n);
	uint32_t at = (l->used + 3) & ~3u;
	if (n > 0x7ffe || at + bytes + 2 > l->size)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		put16(l->b + at + 2 * i, c < 0x80 ? c : '?');
	}
	put16(l->b + at + bytes, 0);
	l->used = at + bytes + 2;
	put16(us, (uint16_t)bytes);
	put16(us + 2, (uint16_t)(bytes + 2));
	put32(us + 4, l->base + at);
	return true;
}

static void link_list(uint8_t *buf, uint32_t base, uint32_t head, const uint32_t *nodes, size_t n)
{
	/* head and nodes are guest addresses of LIST_ENTRYs inside buf */
	uint32_t first = n ? nodes[0] : head, last = n ? nodes[n - 1] : head;
	put32(buf + (head - base), first);
	put32(buf + (head - base) + 4, last);
	for (size_t i = 0; i < n; i++) {
		put32(buf + (nodes[i] - base), i + 1 < n ? nodes[i + 1] : head);
		put32(buf + (nodes[i] - base) + 4, i ? nodes[i - 1] : head);
	}
}

static strand_status build_loader_region(struct wemu *m)
{
	struct lbuf l = { calloc(1, WEMU_LOADER_SIZE), WEMU_LOADER_BASE, WEMU_LOADER_SIZE, 0x80 };
	if (!l.b)
		return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
	uint8_t *b = l.b;
	/* PEB_LDR_DATA at +0 */
	put32(b + 0x00, 0x28);
	b[0x04] = 1;
	/* ProcessHeaps[16] at +0x40 */
	put32(b + 0x40, m->heap_base);
	uint32_t *load = malloc(m->nmods * sizeof *load), *mem = malloc(m->nmods * sizeof *mem);
	uint32_t *init = malloc((m->ninit + 1) * sizeof *init);
	strand_status st = STRAND_OK;
	if (!load || !mem || !init) {
		st = lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->nmods; i++) {
		struct wmodule *mod = &m->mods[i];
		uint32_t at = (l.used + 7) & ~7u;
		if (at + 0x50 > l.size) {
			st = lerr(m, STRAND_ERR_INVALID, "too many modules for the loader region");
			goto out;
		}
		l.used = at + 0x50;
		uint8_t *e = b + at;
		mod->ldr_entry = l.base + at;
		put32(e + 0x18, mod->base);
		put32(e + 0x1C, mod->entry);
		put32(e + 0x20, mod->size);
		put32(e + 0x34, mod->main ? 0 : 0x4); /* LDRP_IMAGE_DLL */
		put16(e + 0x38, 0xffff);
		put32(e + 0x44, mod->pe.timestamp);
		if (!lbuf_ustr(&l, e + 0x24, mod->win32_path) || !lbuf_ustr(&l, e + 0x2C, mod->pe.name)) {
			st = lerr(m, STRAND_ERR_INVALID, "module names do not fit the loader region");
			goto out;
		}
		load[i] = mod->ldr_entry + 0x00;
		mem[i] = mod->ldr_entry + 0x08;
	}
	for (size_t i = 0; i < m->ninit; i++)
		init[i] = m->mods[m->init_order[i]].ldr_entry + 0x10;
	link_list(b, l.base, l.base + 0x0C, load, m->nmods);
	link_list(b, l.base, l.base + 0x14, mem, m->nmods);
	link_list(b, l.base, l.base + 0x1C, init, m->ninit);
	m->loader_next = l.base + l.used;
	st = wemu_vm_map(m, l.base, l.size, STRAND_PROT_READ | STRAND_PROT_WRITE, STRAND_REGION_OTHER,
			 "loader", b, true, false, 0x04);
out:
	free(load);
	free(mem);
	free(init);
	free(l.b);
	return st;
}

static strand_status build_params(struct wemu *m)
{
	const struct wscn_process *pr = &m->scn->proc;
	uint32_t size = 0x4000;
	struct lbuf l = { calloc(1, size), WEMU_PARAMS_BASE, size, 0x300 };
	if (!l.b)
		return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
	uint8_t *b = l.b;
	char curdir[600];
	snprintf(curdir, sizeof curdir, "%s\\", pr->dll_path);
	put32(b + 0x00, 0x290);
	put32(b + 0x04, 0x290);
	put32(b + 0x08, 1); /* RTL_USER_PROC_PARAMS_NORMALIZED */
	put32(b + 0x48, WEMU_ENV_BASE);
	strand_status st = STRAND_OK;
	if (!lbuf_ustr(&l, b + 0x24, curdir) || !lbuf_ustr(&l, b + 0x30, pr->dll_path) ||
	    !lbuf_ustr(&l, b + 0x38, pr->image_path) || !lbuf_ustr(&l, b + 0x40, pr->command_line))
		st = lerr(m, STRAND_ERR_INVALID, "process parameters (paths, command line) too long");
	if (st == STRAND_OK)
		st = wemu_vm_map(m, l.base, l.size, STRAND_PROT_READ | STRAND_PROT_WRITE,
				 STRAND_REGION_OTHER, "process-parameters", b, true, false, 0x04);
	free(l.b);
	if (st == STRAND_OK) {
		uint8_t env[WEMU_PAGE] = { 0 }; /* empty environment: two NULs */
		st = wemu_vm_map(m, WEMU_ENV_BASE, WEMU_PAGE, STRAND_PROT_READ | STRAND_PROT_WRITE,
				 STRAND_REGION_OTHER, "environment", env, true, false, 0x04);
	}
	return st;
}

static strand_status build_peb(struct wemu *m, uint32_t image_base)
{
	uint8_t p[WEMU_PAGE] = { 0 };
	put32(p + 0x08, image_base);
	put32(p + 0x0C, WEMU_LOADER_BASE);
	put32(p + 0x10, WEMU_PARAMS_BASE);
	put32(p + 0x18, m->heap_base);
	put32(p + 0x64, 1);
	put32(p + 0x88, 1);
	put32(p + 0x8C, 16);
	put32(p + 0x90, WEMU_LOADER_BASE + 0x40);
	put32(p + 0xA4, 5);
	put32(p + 0xA8, 2);
	put16(p + 0xAC, 3790);
	put16(p + 0xAE, 0x0200);
	put32(p + 0xB0, 2);
	return wemu_vm_map(m, WEMU_PEB, WEMU_PAGE, STRAND_PROT_READ | STRAND_PROT_WRITE, STRAND_REGION_PEB,
			   "peb", p, true, false, 0x04);
}

static strand_status build_shared(struct wemu *m)
{
	uint8_t s[WEMU_PAGE] = { 0 };
	uint64_t now = m->scn->proc.system_time;
	put32(s + 0x004, 0x0FA00000);
	put64(s + 0x014, now);              /* SystemTime: LowPart, High1Time */
	put32(s + 0x01C, (uint32_t)(now >> 32)); /* High2Time */
	static const char root[] = "C:\\WINDOWS";
	for (size_t i = 0; i < sizeof root - 1; i++)
		put16(s + 0x030 + 2 * i, (uint8_t)root[i]);
	put32(s + 0x264, 3);
	s[0x268] = 1;
	put32(s + 0x26C, 5);
	put32(s + 0x270, 2);
	struct wmodule *nt = find_loaded(m, "ntdll.dll");
	const struct pe_export *sc = nt ? wemu_find_export(nt, "KiFastSystemCall") : NULL;
	const struct pe_export *scr = nt ? wemu_find_export(nt, "KiFastSystemCallRet") : NULL;
	if (!sc)
		return lerr(m, STRAND_ERR_INVALID, "ntdll.dll does not export KiFastSystemCall");
	put32(s + 0x300, nt->base + sc->rva);
	put32(s + 0x304, scr ? nt->base + scr->rva : 0);
	return wemu_vm_map(m, WEMU_SHARED, WEMU_PAGE, STRAND_PROT_READ, STRAND_REGION_SHARED,
			   "shared-user-data", s, true, false, 0x02);
}

uint32_t wemu_alloc_tid(struct wemu *m)
{
	const struct wscn_process *pr = &m->scn->proc;
	uint32_t tid = m->tid_cursor < pr->ntids ? pr->tids[m->tid_cursor] : m->last_tid + 4;
	m->tid_cursor++;
	m->last_tid = tid;
	return tid;
}

strand_status wemu_new_thread(struct wemu *m, uint32_t stack_base, uint32_t stack_limit,
			      struct wthread **out)
{
	/* the stand-ins' TEB is one page; real system DLLs use the whole
	 * Vista+ TEB and write beyond it (docs/winemu.md) */
	uint32_t tebsize = m->personality == WP_STANDIN ? WEMU_PAGE : 2 * WEMU_PAGE;
	uint32_t teb = m->next_teb;
	if (teb < WEMU_DYN_BASE || !wemu_vm_is_free(m, teb, tebsize))
		return lerr(m, STRAND_ERR_INVALID, "no room for another TEB at 0x%08x", teb);
	struct wthread *t = calloc(1, sizeof *t);
	struct wthread **v = realloc(m->threads, (m->nthreads + 1) * sizeof *v);
	if (!t || !v) {
		free(t);
		if (v)
			m->threads = v;
		return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
	}
	m->threads = v;
	t->tid = wemu_alloc_tid(m);
	t->index = (uint32_t)m->nthreads;
	t->teb = teb;
	t->stack_base = stack_base;
	t->stack_limit = stack_limit;
	t->state = WT_READY;
	uint8_t p[2 * WEMU_PAGE] = { 0 };
	put32(p + 0x00, 0xffffffffu);
	put32(p + 0x04, stack_base);
	put32(p + 0x08, stack_limit);
	put32(p + 0x18, teb);
	put32(p + 0x20, m->scn->proc.pid);
	put32(p + 0x24, t->tid);
	put32(p + 0x30, WEMU_PEB);
	if (m->personality != WP_STANDIN) {
		/* what the kernel initialises in a Vista+ TEB (x86 offsets):
		 * ActivationContextStack (+0x184, its FrameListCache an empty
		 * list), ActivationContextStackPointer (+0x1A8) to it, RealClientId
		 * (+0x6B4), StaticUnicodeString (+0xBF8) over StaticUnicodeBuffer
		 * (+0xC00, 261 WCHARs: what kernelbase's *A file functions convert
		 * names into), DeallocationStack (+0xE0C) */
		put32(p + 0x188, teb + 0x188);
		put32(p + 0x18C, teb + 0x188);
		put32(p + 0x1A8, teb + 0x184);
		put32(p + 0x6B4, m->scn->proc.pid);
		put32(p + 0x6B8, t->tid);
		put16(p + 0xBF8, 0);
		put16(p + 0xBFA, 261 * 2);
		put32(p + 0xBFC, teb + 0xC00);
		put32(p + 0xE0C, stack_limit);
	}
	char name[32];
	snprintf(name, sizeof name, "teb:%u", t->tid);
	strand_status st = wemu_vm_map(m, teb, tebsize, STRAND_PROT_READ | STRAND_PROT_WRITE,
				       STRAND_REGION_TEB, name, p, true, false, 0x04);
	if (st != STRAND_OK) {
		free(t);
		return st;
	}
	m->next_teb -= tebsize;
	t->obj = wemu_obj_new(m, WO_THREAD, NULL);
	if (!t->obj) {
		free(t);
		return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
	}
	t->obj->u.thread = t;
	/* common context: selectors, GDT, FPU reset state */
	struct strand_cpu *c = &t->cpu;
	c->sel[STRAND_SEG_CS] = WEMU_SEL_CS;
	c->sel[STRAND_SEG_SS] = WEMU_SEL_SS;
	c->sel[STRAND_SEG_DS] = WEMU_SEL_DS;
	c->sel[STRAND_SEG_ES] = WEMU_SEL_DS;
	c->sel[STRAND_SEG_FS] = WEMU_SEL_FS;
	c->fs_base = teb;
	c->gdt_base = WEMU_GDT;
	c->gdt_limit = WEMU_GDT_LIMIT;
	c->rflags = 0x202;
	c->fxsave[0] = 0x7f; /* FCW 0x027F */
	c->fxsave[1] = 0x02;
	put32(c->fxsave + 24, 0x1f80); /* MXCSR */
	m->threads[m->nthreads++] = t;
	*out = t;
	return STRAND_OK;
}

strand_status wemu_load_process(struct wemu *m)
{
	const struct wscn_process *pr = &m->scn->proc;
	if (wemu_system_dlls_dir(m))
		return wemu_load_system_process(m);
	strand_status st0 = wemu_systable_standin(m);
	if (st0 != STRAND_OK)
		return st0;
	wemu_kernel_bind(m);
	m->next_teb = WEMU_TEB_TOP;
	/* fixed regions first, so images cannot take their places */
	uint8_t thunk[WEMU_PAGE];
	memset(thunk, 0xcc, sizeof thunk);
	memcpy(thunk, thunk_code, sizeof thunk_code);
	size_t exe;
	strand_status st = wemu_vm_map(m, WEMU_THUNK_BASE, WEMU_PAGE, STRAND_PROT_READ | STRAND_PROT_EXEC,
				       STRAND_REGION_OTHER, "ldr-thunk", thunk, true, false, 0x20);
	if (st != STRAND_OK)
		return st;
	/* reserve the fixed low regions while images are placed */
	if ((st = load_module(m, pr->image, true, &exe, 0)) != STRAND_OK)
		return strand_error_wrap(m->err, st, "cannot load the process image");
	if ((st = bind_imports(m)) != STRAND_OK)
		return strand_error_wrap(m->err, st, "cannot bind imports");
	if (m->mods[exe].pe.ndirs > PE_DIR_TLS && m->mods[exe].pe.dir_size[PE_DIR_TLS])
		wemu_warn(m, "%s has a TLS directory; TLS callbacks are not run", m->mods[exe].pe.name);
	/* main stack and heap, first fit from WEMU_DYN_BASE */
	uint32_t stack = pr->stack_size;
	if (!stack) {
		stack = m->mods[exe].pe.stack_reserve;
		if (stack > 0x100000)
			stack = 0x100000;
		if (stack < 0x10000)
			stack = 0x10000;
		stack = (stack + WEMU_PAGE - 1) & ~(WEMU_PAGE - 1);
	}
	uint32_t stack_addr;
	if (!wemu_vm_find_free(m, stack, WEMU_ALLOC_GRAN, WEMU_DYN_BASE, WEMU_RELOC_BASE, &stack_addr) ||
	    !wemu_vm_find_free(m, pr->heap_size, WEMU_ALLOC_GRAN,
			       (stack_addr + stack + WEMU_ALLOC_GRAN - 1) & ~(WEMU_ALLOC_GRAN - 1),
			       WEMU_RELOC_BASE, &m->heap_base))
		return lerr(m, STRAND_ERR_INVALID, "no room for the main stack and heap");
	uint32_t tid0 = m->scn->proc.ntids ? m->scn->proc.tids[0] : 492;
	char name[32];
	snprintf(name, sizeof name, "stack:%u", tid0);
	if ((st = wemu_vm_map(m, stack_addr, stack, STRAND_PROT_READ | STRAND_PROT_WRITE,
			      STRAND_REGION_STACK, name, NULL, true, false, 0x04)) != STRAND_OK ||
	    (st = wemu_vm_map(m, m->heap_base, pr->heap_size, STRAND_PROT_READ | STRAND_PROT_WRITE,
			      STRAND_REGION_HEAP, "heap", NULL, true, false, 0x04)) != STRAND_OK ||
	    (st = build_loader_region(m)) != STRAND_OK || (st = build_params(m)) != STRAND_OK ||
	    (st = build_peb(m, m->mods[exe].base)) != STRAND_OK || (st = build_shared(m)) != STRAND_OK)
		return st;
	struct wthread *t;
	if ((st = wemu_new_thread(m, stack_addr + stack, stack_addr, &t)) != STRAND_OK)
		return st;
	if ((st = wemu_map_gdt(m, t->teb)) != STRAND_OK)
		return st;
	t->cpu.rip = WEMU_THUNK_PROCESS;
	t->cpu.gpr[STRAND_REG_RSP] = stack_addr + stack - 16;
	m->cur = 0;
	return STRAND_OK;
}

/* ===================================================================== */
/* Snapshot                                                               */
/* ===================================================================== */

static int symcmp(const void *a, const void *b)
{
	const struct strand_symbol *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind > y->kind ? -1 : 1; /* exports first */
	return strcmp(x->name, y->name);
}

strand_status wemu_module_record(struct wemu *m, struct wmodule *mod, uint64_t position, uint32_t tid)
{
	struct pe_symbol *fn = NULL;
	size_t nfn = 0;
	strand_status st = pe_coff_functions(&mod->pe, &fn, &nfn, m->err);
	if (st != STRAND_OK)
		return st;
	struct strand_symbol *syms = calloc(mod->nexports + nfn + 1, sizeof *syms);
	size_t n = 0;
	if (!syms) {
		pe_symbols_free(fn, nfn);
		return lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
	}
	for (size_t i = 0; i < mod->nexports; i++) {
		const struct pe_export *e = &mod->exports[i];
		if (!e->rva || !e->name)
			continue;
		uint32_t size = 0;
		for (size_t k = 0; k < nfn; k++)
			if (fn[k].rva == e->rva) {
				size = fn[k].size;
				break;
			}
		syms[n++] = (struct strand_symbol){ mod->base + e->rva, size, STRAND_SYM_EXPORT, e->name, "" };
	}
	size_t nexp = n;
	for (size_t k = 0; k < nfn; k++) {
		bool dup = false;
		for (size_t i = 0; i < nexp && !dup; i++)
			dup = syms[i].addr == mod->base + fn[k].rva && strcmp(syms[i].name, fn[k].name) == 0;
		if (!dup)
			syms[n++] = (struct strand_symbol){ mod->base + fn[k].rva, fn[k].size, STRAND_SYM_FUNC,
							   fn[k].name, "" };
	}
	qsort(syms, n, sizeof *syms, symcmp);
	struct strand_record r = { .type = STRAND_REC_MODULE, .tid = tid, .position = position };
	r.u.module = (struct strand_module){
		.id = mod->id, .flags = mod->main ? STRAND_MODULE_F_MAIN : 0, .base = mod->base,
		.size = mod->size, .timestamp = mod->pe.timestamp, .checksum = mod->pe.checksum,
		.name = mod->pe.name, .path = mod->win32_path, .nsyms = (uint32_t)n, .syms = syms,
	};
	st = wemu_put(m, &r);
	free(syms);
	pe_symbols_free(fn, nfn);
	return st;
}

strand_status wemu_write_snapshot(struct wemu *m)
{
	uint32_t tid = m->threads[0]->tid;
	struct strand_record r = { .type = STRAND_REC_NOTE, .tid = tid };
	r.u.note = (struct strand_note){ "scenario", (uint32_t)m->scn->text_len,
					 (const uint8_t *)m->scn->text };
	strand_status st = wemu_put(m, &r);
	if (st == STRAND_OK && m->unmodelled_note) {
		r.u.note = (struct strand_note){ "unmodelled-syscalls", (uint32_t)m->unmodelled_note_len,
						 (const uint8_t *)m->unmodelled_note };
		st = wemu_put(m, &r);
	}
	if (st == STRAND_OK && m->personality != WP_STANDIN) {
		/* the service table of this ntdll, so analyses name services right
		 * (docs/trace-format.md, NOTE "syscall-table") */
		char *text = NULL;
		size_t len = 0;
		if ((st = wemu_systable_note(m, &text, &len)) == STRAND_OK) {
			r.u.note = (struct strand_note){ "syscall-table", (uint32_t)len, (const uint8_t *)text };
			st = wemu_put(m, &r);
			free(text);
		}
	}
	for (size_t i = 0; i < m->nmods && st == STRAND_OK; i++)
		st = wemu_module_record(m, &m->mods[i], 0, tid);
	uint8_t *buf = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < m->nregions && st == STRAND_OK; i++) {
		const struct wregion *g = &m->regions[i];
		if (g->size > cap) {
			uint8_t *q = realloc(buf, g->size);
			if (!q) {
				st = lerr(m, STRAND_ERR_NOMEM, "winemu: out of memory");
				break;
			}
			buf = q;
			cap = g->size;
		}
		if (uc_mem_read(m->uc, g->addr, buf, g->size) != UC_ERR_OK) {
			st = lerr(m, STRAND_ERR_EMULATOR, "cannot read region 0x%08x", g->addr);
			break;
		}
		r = (struct strand_record){ .type = STRAND_REC_REGION, .tid = tid };
		r.u.region = (struct strand_mapchange){ STRAND_MAP_MAP, g->prot, g->addr, g->size, g->kind,
							 g->name, buf };
		st = wemu_put(m, &r);
	}
	free(buf);
	if (st != STRAND_OK)
		return st;
	struct wthread *t = m->threads[0];
	r = (struct strand_record){ .type = STRAND_REC_THREAD, .tid = tid };
	r.u.thread = (struct strand_thread){ t->cpu, t->stack_base, t->stack_limit, t->teb, "main" };
	if ((st = wemu_put(m, &r)) != STRAND_OK)
		return st;
	r = (struct strand_record){ .type = STRAND_REC_SNAPSHOT_END, .tid = tid };
	return wemu_put(m, &r);
}
