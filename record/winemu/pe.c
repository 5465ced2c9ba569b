/*
 * PE32 parsing for the winemu loader (see pe.h).  Offsets below are those
 * of the PE/COFF specification for 32-bit images:
 *
 *   IMAGE_DOS_HEADER      e_magic "MZ" @0, e_lfanew u32 @0x3C
 *   IMAGE_NT_HEADERS32    "PE\0\0" @0, IMAGE_FILE_HEADER @4 (20 bytes),
 *                         IMAGE_OPTIONAL_HEADER32 @24 (magic 0x10B)
 *   IMAGE_FILE_HEADER     Machine u16 @0 (0x14C), NumberOfSections u16 @2,
 *                         TimeDateStamp @4, PointerToSymbolTable @8,
 *                         NumberOfSymbols @12, SizeOfOptionalHeader u16 @16,
 *                         Characteristics u16 @18
 *   optional header       AddressOfEntryPoint @16, ImageBase @28,
 *                         SectionAlignment @32, SizeOfImage @56,
 *                         SizeOfHeaders @60, CheckSum @64,
 *                         SizeOfStackReserve @72, NumberOfRvaAndSizes @92,
 *                         DataDirectory[] @96 (8 bytes each)
 *   IMAGE_SECTION_HEADER  40 bytes: Name[8], VirtualSize @8,
 *                         VirtualAddress @12, SizeOfRawData @16,
 *                         PointerToRawData @20, Characteristics @36
 *   COFF symbol           18 bytes: Name[8] (or 0, string-table offset),
 *                         Value @8, SectionNumber i16 @12, Type u16 @14,
 *                         StorageClass u8 @16, NumberOfAuxSymbols u8 @17;
 *                         the string table follows the symbols, led by
 *                         its u32 size (which counts itself).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>

#include "record/winemu/pe.h"

#define PAGE 4096u
#define PE_MAX_FILE (64u << 20)
#define PE_MAX_IMAGE (256u << 20)
#define PE_MAX_NAME 512

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static strand_status bad(const char *name, strand_error *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static strand_status bad(const char *name, strand_error *err, const char *fmt, ...)
{
	char msg[STRAND_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return strand_error_set(err, STRAND_ERR_INVALID, "%s: %s", name, msg);
}

/* [off, off+len) inside [0, size)? */
static bool in_range(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

uint32_t pe_section_prot(uint32_t chars)
{
	uint32_t prot = 0;
	if (chars & PE_SCN_MEM_READ)
		prot |= STRAND_PROT_READ;
	if (chars & PE_SCN_MEM_WRITE)
		prot |= STRAND_PROT_WRITE | STRAND_PROT_READ;
	if (chars & PE_SCN_MEM_EXECUTE)
		prot |= STRAND_PROT_EXEC | STRAND_PROT_READ;
	return prot ? prot : STRAND_PROT_READ;
}

void pe_file_free(struct pe_file *pe)
{
	if (!pe)
		return;
	free(pe->name);
	free(pe->path);
	free(pe->data);
	free(pe->secs);
	memset(pe, 0, sizeof *pe);
}

strand_status pe_parse(const char *name, const char *path, uint8_t *data, size_t size,
		       struct pe_file *pe, strand_error *err)
{
	memset(pe, 0, sizeof *pe);
	pe->data = data;
	pe->size = size;
	pe->name = strdup(name);
	pe->path = strdup(path);
	if (!pe->name || !pe->path)
		return strand_error_set(err, STRAND_ERR_NOMEM, "%s: out of memory", name);
	if (size < 0x40 || rd16(data) != 0x5A4D)
		return bad(name, err, "not a PE file (no MZ header)");
	uint32_t nt = rd32(data + 0x3C);
	if (!in_range(nt, 24, size) || memcmp(data + nt, "PE\0\0", 4) != 0)
		return bad(name, err, "e_lfanew=0x%" PRIx32 " does not point at a PE signature", nt);
	const uint8_t *fh = data + nt + 4;
	if (rd16(fh) != 0x14C)
		return bad(name, err, "Machine=0x%04x is not i386 (0x14c)", rd16(fh));
	pe->nsecs = rd16(fh + 2);
	pe->timestamp = rd32(fh + 4);
	pe->sym_ptr = rd32(fh + 8);
	pe->nsyms = rd32(fh + 12);
	uint16_t optsize = rd16(fh + 16);
	pe->characteristics = rd16(fh + 18);
	pe->is_dll = (pe->characteristics & 0x2000) != 0;
	uint64_t opt = (uint64_t)nt + 24;
	if (optsize < 96 || !in_range(opt, optsize, size))
		return bad(name, err, "SizeOfOptionalHeader=%u does not fit the file", optsize);
	const uint8_t *oh = data + opt;
	if (rd16(oh) != 0x10B)
		return bad(name, err, "optional header magic=0x%04x is not PE32 (0x10b)", rd16(oh));
	pe->entry_rva = rd32(oh + 16);
	pe->image_base = rd32(oh + 28);
	uint32_t salign = rd32(oh + 32);
	pe->size_of_image = rd32(oh + 56);
	pe->size_of_headers = rd32(oh + 60);
	pe->checksum = rd32(oh + 64);
	pe->stack_reserve = rd32(oh + 72);
	pe->subsystem = rd16(oh + 68);
	pe->subsystem_major = rd16(oh + 48);
	pe->subsystem_minor = rd16(oh + 50);
	pe->dll_characteristics = rd16(oh + 70);
	uint32_t ndirs = rd32(oh + 92);
	if (salign != PAGE)
		return bad(name, err, "SectionAlignment=0x%" PRIx32 " (only 0x1000 is supported)", salign);
	if (pe->image_base % 0x10000 || pe->image_base == 0)
		return bad(name, err, "ImageBase=0x%08" PRIx32 " is not a non-zero multiple of 64 KiB",
			   pe->image_base);
	if (pe->size_of_image == 0 || pe->size_of_image > PE_MAX_IMAGE ||
	    (uint64_t)pe->image_base + pe->size_of_image > 0x80000000ull)
		return bad(name, err, "SizeOfImage=0x%" PRIx32 " at ImageBase=0x%08" PRIx32
			   " does not fit user space", pe->size_of_image, pe->image_base);
	pe->size_of_image = (pe->size_of_image + PAGE - 1) & ~(PAGE - 1);
	if (pe->size_of_headers == 0 || pe->size_of_headers > size ||
	    pe->size_of_headers > pe->size_of_image)
		return bad(name, err, "SizeOfHeaders=0x%" PRIx32 " (file 0x%zx, image 0x%" PRIx32 ")",
			   pe->size_of_headers, size, pe->size_of_image);
	if (pe->entry_rva >= pe->size_of_image)
		return bad(name, err, "AddressOfEntryPoint=0x%" PRIx32 " beyond SizeOfImage", pe->entry_rva);
	pe->ndirs = ndirs > 16 ? 16 : ndirs;
	if ((uint64_t)96 + 8ull * pe->ndirs > optsize)
		return bad(name, err, "NumberOfRvaAndSizes=%" PRIu32 " does not fit SizeOfOptionalHeader=%u",
			   ndirs, optsize);
	for (uint32_t i = 0; i < pe->ndirs; i++) {
		pe->dir_rva[i] = rd32(oh + 96 + 8 * i);
		pe->dir_size[i] = rd32(oh + 100 + 8 * i);
		if (pe->dir_size[i] && !in_range(pe->dir_rva[i], pe->dir_size[i], pe->size_of_image))
			return bad(name, err, "data directory %" PRIu32 " rva=0x%" PRIx32 " size=0x%" PRIx32
				   " beyond SizeOfImage", i, pe->dir_rva[i], pe->dir_size[i]);
	}
	uint64_t st = opt + optsize;
	if (pe->nsecs == 0 || pe->nsecs > 96 || !in_range(st, 40ull * pe->nsecs, size))
		return bad(name, err, "NumberOfSections=%u does not fit the file", pe->nsecs);
	pe->secs = calloc(pe->nsecs, sizeof *pe->secs);
	if (!pe->secs)
		return strand_error_set(err, STRAND_ERR_NOMEM, "%s: out of memory", name);
	for (uint16_t i = 0; i < pe->nsecs; i++) {
		const uint8_t *sh = data + st + 40ull * i;
		struct pe_section *s = &pe->secs[i];
		memcpy(s->name, sh, 8);
		s->name[8] = 0;
		for (int c = 0; c < 8; c++)
			if (s->name[c] && (s->name[c] < 0x20 || s->name[c] > 0x7e))
				s->name[c] = '?';
		uint32_t vsize = rd32(sh + 8), raw = rd32(sh + 16);
		s->va = rd32(sh + 12);
		s->raw_off = rd32(sh + 20);
		s->chars = rd32(sh + 36);
		s->vsize = vsize ? vsize : raw;
		s->raw_size = raw < s->vsize ? raw : s->vsize;
		if (s->va % PAGE || s->va < pe->size_of_headers ||
		    !in_range(s->va, s->vsize, pe->size_of_image))
			return bad(name, err, "section %u '%s': VirtualAddress=0x%" PRIx32
				   " VirtualSize=0x%" PRIx32 " outside the image", i, s->name, s->va, s->vsize);
		if (s->raw_size && !in_range(s->raw_off, s->raw_size, size))
			return bad(name, err, "section %u '%s': PointerToRawData=0x%" PRIx32
				   " SizeOfRawData=0x%" PRIx32 " beyond the file (size 0x%zx)", i,
				   s->name, s->raw_off, raw, size);
		for (uint16_t j = 0; j < i; j++) {
			const struct pe_section *o = &pe->secs[j];
			uint32_t oe = o->va + ((o->vsize + PAGE - 1) & ~(PAGE - 1));
			if (s->va < oe && o->va < s->va + s->vsize)
				return bad(name, err, "sections %u and %u overlap", j, i);
		}
	}
	if (pe->sym_ptr && (pe->nsyms > (1u << 22) || !in_range(pe->sym_ptr, 18ull * pe->nsyms, size)))
		return bad(name, err, "PointerToSymbolTable=0x%" PRIx32 " NumberOfSymbols=%" PRIu32
			   " beyond the file", pe->sym_ptr, pe->nsyms);
	return STRAND_OK;
}

strand_status pe_load(const char *name, const char *path, struct pe_file *out, strand_error *err)
{
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "rb");
	if (!f)
		return strand_error_set(err, STRAND_ERR_IO, "cannot open module '%s': %s", path,
					strerror(errno));
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= PE_MAX_FILE) {
				free(buf);
				fclose(f);
				return strand_error_set(err, STRAND_ERR_INVALID,
							"module '%s' is larger than %u bytes", path, PE_MAX_FILE);
			}
			cap = cap ? cap * 2 : 65536;
			uint8_t *q = realloc(buf, cap);
			if (!q) {
				free(buf);
				fclose(f);
				return strand_error_set(err, STRAND_ERR_NOMEM, "cannot read module '%s'", path);
			}
			buf = q;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	bool ioerr = ferror(f);
	fclose(f);
	if (ioerr) {
		free(buf);
		return strand_error_set(err, STRAND_ERR_IO, "cannot read module '%s'", path);
	}
	return pe_parse(name, path, buf, len, out, err);
}

strand_status pe_build_image(const struct pe_file *pe, uint8_t **img, strand_error *err)
{
	uint8_t *m = calloc(1, pe->size_of_image);
	if (!m)
		return strand_error_set(err, STRAND_ERR_NOMEM, "%s: cannot allocate the image", pe->name);
	memcpy(m, pe->data, pe->size_of_headers);
	for (uint16_t i = 0; i < pe->nsecs; i++) {
		const struct pe_section *s = &pe->secs[i];
		if (s->raw_size)
			memcpy(m + s->va, pe->data + s->raw_off, s->raw_size);
	}
	*img = m;
	return STRAND_OK;
}

strand_status pe_relocate(const struct pe_file *pe, uint8_t *img, uint32_t new_base,
			  strand_error *err)
{
	uint32_t delta = new_base - pe->image_base;
	if (delta == 0)
		return STRAND_OK;
	if (pe->ndirs <= PE_DIR_BASERELOC || pe->dir_size[PE_DIR_BASERELOC] == 0 ||
	    (pe->characteristics & 0x0001))
		return bad(pe->name, err, "must be relocated (preferred base 0x%08" PRIx32
			   " is taken) but has no base relocations", pe->image_base);
	uint32_t at = pe->dir_rva[PE_DIR_BASERELOC], end = at + pe->dir_size[PE_DIR_BASERELOC];
	while (at + 8 <= end) {
		uint32_t page = rd32(img + at), bsize = rd32(img + at + 4);
		if (bsize < 8 || bsize % 2 || bsize > end - at)
			return bad(pe->name, err, "base relocation block at rva 0x%" PRIx32
				   " has SizeOfBlock=%" PRIu32, at, bsize);
		for (uint32_t k = 8; k < bsize; k += 2) {
			uint16_t e = rd16(img + at + k);
			unsigned type = e >> 12;
			uint32_t off = page + (e & 0xfff);
			if (type == 0)
				continue;
			if (type != 3)
				return bad(pe->name, err, "base relocation type %u at rva 0x%" PRIx32
					   " (only HIGHLOW)", type, off);
			if (!in_range(off, 4, pe->size_of_image))
				return bad(pe->name, err, "base relocation at rva 0x%" PRIx32
					   " outside the image", off);
			uint32_t v = rd32(img + off) + delta;
			img[off] = v & 0xff;
			img[off + 1] = (v >> 8) & 0xff;
			img[off + 2] = (v >> 16) & 0xff;
			img[off + 3] = v >> 24;
		}
		at += bsize;
	}
	/* the mapped header says where the image is, as the Windows memory
	 * manager leaves it: a loader that relocates by the header's
	 * ImageBase (Wine's ntdll does, after STATUS_IMAGE_NOT_AT_BASE)
	 * must not apply the delta a second time */
	uint32_t lfanew = in_range(0x3c, 4, pe->size_of_image) ? rd32(img + 0x3c) : UINT32_MAX;
	if (lfanew != UINT32_MAX && in_range(lfanew, 24 + 32, pe->size_of_image)) {
		uint8_t *ib = img + lfanew + 24 + 28;
		ib[0] = new_base & 0xff;
		ib[1] = (new_base >> 8) & 0xff;
		ib[2] = (new_base >> 16) & 0xff;
		ib[3] = new_base >> 24;
	}
	return STRAND_OK;
}

/* NUL-terminated string at rva in the image, at most PE_MAX_NAME bytes. */
static strand_status img_str(const struct pe_file *pe, const uint8_t *img, uint32_t rva,
			     const char *what, char **out, strand_error *err)
{
	if (rva >= pe->size_of_image)
		return bad(pe->name, err, "%s name rva=0x%" PRIx32 " beyond the image", what, rva);
	size_t max = pe->size_of_image - rva;
	if (max > PE_MAX_NAME)
		max = PE_MAX_NAME;
	const uint8_t *s = img + rva;
	const uint8_t *z = memchr(s, 0, max);
	if (!z)
		return bad(pe->name, err, "%s name at rva=0x%" PRIx32 " is not terminated", what, rva);
	*out = strndup((const char *)s, (size_t)(z - s));
	if (!*out)
		return strand_error_set(err, STRAND_ERR_NOMEM, "%s: out of memory", pe->name);
	return STRAND_OK;
}

void pe_exports_free(struct pe_export *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++) {
		free(e[i].name);
		free(e[i].forward);
	}
	free(e);
}

strand_status pe_exports(const struct pe_file *pe, const uint8_t *img, struct pe_export **out,
			 size_t *n, strand_error *err)
{
	*out = NULL;
	*n = 0;
	if (pe->ndirs <= PE_DIR_EXPORT || pe->dir_size[PE_DIR_EXPORT] == 0)
		return STRAND_OK;
	uint32_t dir = pe->dir_rva[PE_DIR_EXPORT], dsize = pe->dir_size[PE_DIR_EXPORT];
	if (dsize < 40)
		return bad(pe->name, err, "export directory size=%" PRIu32 " < 40", dsize);
	const uint8_t *d = img + dir;
	uint32_t base = rd32(d + 16), nfun = rd32(d + 20), nnames = rd32(d + 24);
	uint32_t afun = rd32(d + 28), anames = rd32(d + 32), aords = rd32(d + 36);
	if (nfun > 65536 || nnames > nfun ||
	    !in_range(afun, 4ull * nfun, pe->size_of_image) ||
	    !in_range(anames, 4ull * nnames, pe->size_of_image) ||
	    !in_range(aords, 2ull * nnames, pe->size_of_image))
		return bad(pe->name, err, "export directory tables (functions=%" PRIu32 " names=%" PRIu32
			   ") do not fit the image", nfun, nnames);
	struct pe_export *e = calloc(nfun ? nfun : 1, sizeof *e);
	if (!e)
		return strand_error_set(err, STRAND_ERR_NOMEM, "%s: out of memory", pe->name);
	strand_status st = STRAND_OK;
	for (uint32_t i = 0; i < nfun; i++) {
		e[i].ordinal = base + i;
		uint32_t rva = rd32(img + afun + 4 * i);
		if (rva >= dir && rva < dir + dsize) {
			if ((st = img_str(pe, img, rva, "forwarder", &e[i].forward, err)) != STRAND_OK)
				goto out;
		} else if (rva >= pe->size_of_image) {
			st = bad(pe->name, err, "export ordinal %" PRIu32 " rva=0x%" PRIx32
				 " beyond the image", base + i, rva);
			goto out;
		} else {
			e[i].rva = rva;
		}
	}
	for (uint32_t i = 0; i < nnames; i++) {
		uint16_t idx = rd16(img + aords + 2 * i);
		if (idx >= nfun) {
			st = bad(pe->name, err, "export name %" PRIu32 " has ordinal index %u >= %" PRIu32,
				 i, idx, nfun);
			goto out;
		}
		if (e[idx].name)
			continue; /* aliases: keep the first name */
		if ((st = img_str(pe, img, rd32(img + anames + 4 * i), "export", &e[idx].name, err)) != STRAND_OK)
			goto out;
	}
out:
	if (st != STRAND_OK) {
		pe_exports_free(e, nfun);
		return st;
	}
	*out = e;
	*n = nfun;
	return STRAND_OK;
}

void pe_imports_free(struct pe_import *im, size_t n)
{
	for (size_t i = 0; im && i < n; i++) {
		free(im[i].dll);
		free(im[i].name);
	}
	free(im);
}

strand_status pe_imports(const struct pe_file *pe, const uint8_t *img, struct pe_import **out,
			 size_t *n, strand_error *err)
{
	*out = NULL;
	*n = 0;
	if (pe->ndirs <= PE_DIR_IMPORT || pe->dir_size[PE_DIR_IMPORT] == 0)
		return STRAND_OK;
	struct pe_import *v = NULL;
	size_t nv = 0, cap = 0;
	strand_status st = STRAND_OK;
	uint32_t at = pe->dir_rva[PE_DIR_IMPORT];
	for (unsigned ndesc = 0;; ndesc++, at += 20) {
		if (!in_range(at, 20, pe->size_of_image) || ndesc > 4096) {
			st = bad(pe->name, err, "import descriptor %u runs past the image", ndesc);
			goto out;
		}
		const uint8_t *d = img + at;
		uint32_t oft = rd32(d), namerva = rd32(d + 12), ft = rd32(d + 16);
		if (oft == 0 && namerva == 0 && ft == 0)
			break;
		char *dll = NULL;
		if ((st = img_str(pe, img, namerva, "import DLL", &dll, err)) != STRAND_OK)
			goto out;
		uint32_t lookup = oft ? oft : ft;
		for (uint32_t k = 0;; k++) {
			uint64_t la = (uint64_t)lookup + 4ull * k, ia = (uint64_t)ft + 4ull * k;
			if (!in_range(la, 4, pe->size_of_image) || !in_range(ia, 4, pe->size_of_image) ||
			    k > 65536) {
				st = bad(pe->name, err, "import table of '%.64s' runs past the image", dll);
				free(dll);
				goto out;
			}
			uint32_t t = rd32(img + la);
			if (t == 0)
				break;
			if (nv == cap) {
				cap = cap ? cap * 2 : 64;
				struct pe_import *q = realloc(v, cap * sizeof *q);
				if (!q) {
					free(dll);
					st = strand_error_set(err, STRAND_ERR_NOMEM, "%s: out of memory", pe->name);
					goto out;
				}
				v = q;
			}
			struct pe_import *im = &v[nv];
			memset(im, 0, sizeof *im);
			im->iat_rva = (uint32_t)ia;
			if (t & 0x80000000u) {
				im->by_ordinal = true;
				im->ordinal = (uint16_t)(t & 0xffff);
			} else {
				if (!in_range(t, 2, pe->size_of_image)) {
					free(dll);
					st = bad(pe->name, err, "import by name rva=0x%" PRIx32 " beyond the image", t);
					goto out;
				}
				im->hint = rd16(img + t);
				if ((st = img_str(pe, img, t + 2, "import", &im->name, err)) != STRAND_OK) {
					free(dll);
					goto out;
				}
			}
			if (!(im->dll = strdup(dll))) {
				free(im->name);
				free(dll);
				st = strand_error_set(err, STRAND_ERR_NOMEM, "%s: out of memory", pe->name);
				goto out;
			}
			nv++;
		}
		free(dll);
	}
out:
	if (st != STRAND_OK) {
		pe_imports_free(v, nv);
		return st;
	}
	*out = v;
	*n = nv;
	return STRAND_OK;
}

void pe_symbols_free(struct pe_symbol *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i].name);
	free(s);
}

/* _Foo@8 -> Foo, @Foo@8 -> Foo, _foo -> foo; others unchanged. */
static char *undecorate(const char *raw)
{
	const char *s = raw;
	bool decorated = *s == '_' || *s == '@';
	if (decorated)
		s++;
	size_t n = strlen(s);
	if (decorated) {
		size_t k = n;
		while (k && s[k - 1] >= '0' && s[k - 1] <= '9')
			k--;
		if (k && k < n && s[k - 1] == '@')
			n = k - 1;
	}
	return strndup(s, n);
}

static int sym_cmp(const void *a, const void *b)
{
	const struct pe_symbol *x = a, *y = b;
	if (x->rva != y->rva)
		return x->rva < y->rva ? -1 : 1;
	return strcmp(x->name, y->name);
}

strand_status pe_coff_functions(const struct pe_file *pe, struct pe_symbol **out, size_t *n,
				strand_error *err)
{
	*out = NULL;
	*n = 0;
	if (!pe->sym_ptr || !pe->nsyms)
		return STRAND_OK;
	uint64_t strtab = (uint64_t)pe->sym_ptr + 18ull * pe->nsyms;
	uint32_t strsize = 0;
	if (in_range(strtab, 4, pe->size)) {
		strsize = rd32(pe->data + strtab);
		if (strsize < 4 || !in_range(strtab, strsize, pe->size))
			return bad(pe->name, err, "COFF string table size=%" PRIu32 " beyond the file", strsize);
	}
	struct pe_symbol *v = NULL;
	size_t nv = 0, cap = 0;
	strand_status st = STRAND_OK;
	int16_t *secof = NULL; /* section index of each kept symbol */
	for (uint32_t i = 0; i < pe->nsyms; i++) {
		const uint8_t *e = pe->data + pe->sym_ptr + 18ull * i;
		uint32_t value = rd32(e + 8);
		int16_t secno = (int16_t)rd16(e + 12);
		uint16_t type = rd16(e + 14);
		uint8_t cls = e[16], naux = e[17];
		bool func = (type & 0x30) == 0x20 && (cls == 2 || cls == 3) && secno > 0;
		if (func && secno <= pe->nsecs) {
			const struct pe_section *s = &pe->secs[secno - 1];
			char raw[PE_MAX_NAME + 1];
			if (rd32(e) == 0) {
				uint32_t off = rd32(e + 4);
				if (off < 4 || off >= strsize) {
					st = bad(pe->name, err, "COFF symbol %" PRIu32 " name offset %" PRIu32
						 " beyond the string table", i, off);
					goto out;
				}
				const char *p = (const char *)pe->data + strtab + off;
				size_t max = strsize - off;
				const char *z = memchr(p, 0, max);
				size_t len = z ? (size_t)(z - p) : max;
				if (len > PE_MAX_NAME)
					len = PE_MAX_NAME;
				memcpy(raw, p, len);
				raw[len] = 0;
			} else {
				memcpy(raw, e, 8);
				raw[8] = 0;
			}
			if (value < s->vsize && raw[0]) {
				if (nv == cap) {
					cap = cap ? cap * 2 : 256;
					struct pe_symbol *q = realloc(v, cap * sizeof *q);
					int16_t *q2 = q ? realloc(secof, cap * sizeof *q2) : NULL;
					if (q)
						v = q;
					if (!q || !q2) {
						st = strand_error_set(err, STRAND_ERR_NOMEM, "%s: out of memory", pe->name);
						goto out;
					}
					secof = q2;
				}
				v[nv].rva = s->va + value;
				v[nv].size = 0;
				if (!(v[nv].name = undecorate(raw))) {
					st = strand_error_set(err, STRAND_ERR_NOMEM, "%s: out of memory", pe->name);
					goto out;
				}
				secof[nv] = secno;
				nv++;
			}
		}
		i += naux;
	}
	/* sort (keeping each symbol's section alongside) */
	for (size_t i = 0; i < nv; i++)
		v[i].size = (uint32_t)secof[i]; /* temporarily: the section number */
	qsort(v, nv, sizeof *v, sym_cmp);
	for (size_t i = 0; i < nv; i++) {
		int16_t secno = (int16_t)v[i].size;
		const struct pe_section *s = &pe->secs[secno - 1];
		uint32_t end = s->va + s->vsize;
		for (size_t j = i + 1; j < nv; j++)
			if (v[j].rva > v[i].rva) {
				if (v[j].rva < end)
					end = v[j].rva;
				break;
			}
		v[i].size = end - v[i].rva;
	}
out:
	free(secof);
	if (st != STRAND_OK) {
		pe_symbols_free(v, nv);
		return st;
	}
	*out = v;
	*n = nv;
	return STRAND_OK;
}
