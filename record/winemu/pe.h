/*
 * PE32 (i386) images: parsing and in-memory image building for the winemu
 * loader.  Private to record/winemu.
 *
 * PE files are untrusted input: every offset, size and count is checked
 * against the bytes that hold it before use, and errors name the file and
 * the field ("lsass.exe: section 3 '.data': PointerToRawData=0x... beyond
 * the file (size 0x...)").
 *
 * Layout references: Microsoft PE/COFF specification (IMAGE_DOS_HEADER,
 * IMAGE_NT_HEADERS32, IMAGE_SECTION_HEADER, export/import directories,
 * base relocations, COFF symbol table and string table).
 */
#ifndef STRAND_WINEMU_PE_H
#define STRAND_WINEMU_PE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strand/trace.h"

#define PE_SCN_MEM_EXECUTE 0x20000000u
#define PE_SCN_MEM_READ 0x40000000u
#define PE_SCN_MEM_WRITE 0x80000000u

enum { PE_DIR_EXPORT = 0, PE_DIR_IMPORT = 1, PE_DIR_BASERELOC = 5, PE_DIR_TLS = 9 };

struct pe_section {
	char name[9];       /* NUL-terminated, may be "/4" (long name) */
	uint32_t va;        /* RVA, multiple of 4096 */
	uint32_t vsize;     /* bytes mapped (VirtualSize, or SizeOfRawData if 0) */
	uint32_t raw_off;   /* file offset of the raw data */
	uint32_t raw_size;  /* bytes of raw data copied (<= vsize) */
	uint32_t chars;     /* Characteristics */
};

/* A parsed PE32 file.  Owns data, secs and the strings. */
struct pe_file {
	char *name;           /* file name as found in the module directory */
	char *path;           /* host path it was read from */
	uint8_t *data;        /* the file's bytes */
	size_t size;
	uint32_t image_base;  /* preferred base, 64 KiB aligned */
	uint32_t size_of_image;   /* page multiple */
	uint32_t size_of_headers; /* <= size, <= size_of_image */
	uint32_t entry_rva;   /* 0 if none */
	uint32_t timestamp;
	uint32_t checksum;
	uint32_t stack_reserve;
	uint16_t characteristics;
	uint16_t subsystem;       /* IMAGE_SUBSYSTEM_* */
	uint16_t subsystem_major, subsystem_minor;
	uint16_t dll_characteristics;
	bool is_dll;
	struct pe_section *secs;
	uint16_t nsecs;
	uint32_t ndirs;       /* <= 16 */
	uint32_t dir_rva[16];
	uint32_t dir_size[16];
	uint32_t sym_ptr;     /* COFF symbol table file offset, 0 if none */
	uint32_t nsyms;
};

struct pe_export {
	char *name;           /* NULL if exported by ordinal only */
	uint32_t ordinal;     /* biased (Base + index) */
	uint32_t rva;         /* 0 if forwarded */
	char *forward;        /* "DLL.Name" / "DLL.#7", or NULL */
};

struct pe_import {
	char *dll;            /* DLL name as written in the importer */
	uint32_t iat_rva;     /* where the address goes */
	bool by_ordinal;
	uint16_t ordinal;
	uint16_t hint;
	char *name;           /* NULL if by ordinal */
};

struct pe_symbol {
	uint32_t rva;
	uint32_t size;        /* 0 if unknown */
	char *name;           /* undecorated: _Foo@8 -> Foo */
};

/* Parse the headers of a PE32 i386 file.  Takes ownership of `data`
 * (malloc'd) in all cases.  `out` is filled and owned by the caller
 * (pe_file_free), also on error. */
strand_status pe_parse(const char *name, const char *path, uint8_t *data, size_t size,
		       struct pe_file *out, strand_error *err);

/* Read `path` and parse it. */
strand_status pe_load(const char *name, const char *path, struct pe_file *out,
		      strand_error *err);

void pe_file_free(struct pe_file *pe); /* pe may be NULL; keeps the struct */

/* The image as mapped: size_of_image bytes (headers + sections, rest 0).
 * *img is owned by the caller (free). */
strand_status pe_build_image(const struct pe_file *pe, uint8_t **img, strand_error *err);

/* Apply base relocations to `img` (built by pe_build_image) for a load at
 * `new_base`.  Error if relocation is needed and there is no directory. */
strand_status pe_relocate(const struct pe_file *pe, uint8_t *img, uint32_t new_base,
			  strand_error *err);

/* Exports of the image (read from `img`).  *out is owned by the caller
 * (pe_exports_free). */
strand_status pe_exports(const struct pe_file *pe, const uint8_t *img,
			 struct pe_export **out, size_t *n, strand_error *err);
void pe_exports_free(struct pe_export *e, size_t n);

/* Imports of the image, in descriptor then thunk order. */
strand_status pe_imports(const struct pe_file *pe, const uint8_t *img,
			 struct pe_import **out, size_t *n, strand_error *err);
void pe_imports_free(struct pe_import *im, size_t n);

/* Function symbols of the COFF symbol table (mingw leaves it in the image),
 * sorted by rva, sizes up to the next function in the same section.
 * None (n = 0) if the image has no symbol table. */
strand_status pe_coff_functions(const struct pe_file *pe, struct pe_symbol **out,
				size_t *n, strand_error *err);
void pe_symbols_free(struct pe_symbol *s, size_t n);

/* STRAND_PROT_* bits of a section's characteristics. */
uint32_t pe_section_prot(uint32_t chars);

#endif
