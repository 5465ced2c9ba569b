/*
 * Symbol files for gdb: one small ELF per module of the trace, holding
 * only the module's symbol table, so that gdb names functions in `bt`,
 * `x/i` and `break NtCreateFile` without the original images (a Windows
 * trace's DLLs are not on the machine that replays it).
 *
 * Layout (ELF32 for x86-32 traces, ELF64 for x86-64; little endian):
 *   ELF header
 *   one program header: PT_LOAD, p_vaddr = module base, p_memsz = size,
 *                       p_filesz = 0 (contents come from the target)
 *   section 1 .text     SHT_NOBITS, ALLOC|EXECINSTR, addr = base, size
 *   section 2 .symtab   symbols at their absolute addresses, in .text
 *   section 3 .strtab   their names
 *   section 4 .shstrtab section names
 *   section 5 .debug_frame  call frame information learnt from the
 *                       recording (gdb/cfi.c), when there is any
 * The module is reported to gdb at its base, so gdb relocates by zero.
 * The main module's file is ET_EXEC (gdb's exec file: not relocated).
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "gdb/server_int.h"

struct blob {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

static void put(struct blob *b, const void *d, size_t n)
{
	if (b->failed)
		return;
	if (!STRAND_GROW(b->p, b->cap, b->len, n)) {
		b->failed = true;
		return;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void align(struct blob *b, size_t a)
{
	static const uint8_t z[16];
	while (b->len % a)
		put(b, z, 1);
}

static const char shstr[] = "\0.text\0.symtab\0.strtab\0.shstrtab\0.debug_frame\0";
enum { SH_TEXT = 1, SH_SYMTAB = 7, SH_STRTAB = 15, SH_SHSTRTAB = 23, SH_FRAME = 33 };

/* Symbol size: the recorded one, else up to the next symbol or the
 * module's end (gdb uses sizes to say which function a pc is in). */
static uint64_t sym_size(const struct strand_module *m, uint32_t i)
{
	const struct strand_symbol *s = &m->syms[i];
	if (s->size)
		return s->size;
	for (uint32_t k = i + 1; k < m->nsyms; k++)
		if (m->syms[k].addr > s->addr)
			return m->syms[k].addr - s->addr;
	return m->base + m->size > s->addr ? m->base + m->size - s->addr : 0;
}

strand_status gdb_symfile_write(const char *path, const struct strand_module *m,
				bool elf64, bool exec, const uint8_t *frame, size_t frame_len,
				strand_error *err)
{
	struct blob strs = { 0 }, syms = { 0 }, f = { 0 };
	strand_status st = STRAND_OK;
	FILE *out = NULL;
	put(&strs, "", 1);
	size_t esz = elf64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
	uint8_t zero[sizeof(Elf64_Sym)] = { 0 };
	put(&syms, zero, esz);
	uint32_t nsym = 1;
	for (uint32_t i = 0; i < m->nsyms; i++) {
		const struct strand_symbol *s = &m->syms[i];
		if (!s->name[0] || s->addr < m->base || s->addr >= m->base + m->size)
			continue;
		uint32_t name = (uint32_t)strs.len;
		put(&strs, s->name, strlen(s->name) + 1);
		unsigned char type = s->kind == STRAND_SYM_OBJECT ? STT_OBJECT : STT_FUNC;
		if (elf64) {
			Elf64_Sym e = { .st_name = name, .st_info = ELF64_ST_INFO(STB_GLOBAL, type),
					.st_shndx = 1, .st_value = s->addr,
					.st_size = sym_size(m, i) };
			put(&syms, &e, sizeof e);
		} else {
			Elf32_Sym e = { .st_name = name, .st_info = ELF32_ST_INFO(STB_GLOBAL, type),
					.st_shndx = 1, .st_value = (Elf32_Addr)s->addr,
					.st_size = (Elf32_Word)sym_size(m, i) };
			put(&syms, &e, sizeof e);
		}
		nsym++;
	}
	/* file: header, phdr, symtab, strtab, shstrtab, section headers */
	size_t ehsz = elf64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	size_t phsz = elf64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t shsz = elf64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	uint8_t hdrs[sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr)] = { 0 };
	put(&f, hdrs, ehsz + phsz);
	align(&f, 8);
	size_t off_sym = f.len;
	put(&f, syms.p, syms.len);
	size_t off_str = f.len;
	put(&f, strs.p, strs.len);
	size_t off_shstr = f.len;
	put(&f, shstr, sizeof shstr);
	align(&f, 8);
	size_t off_frame = f.len;
	if (frame_len)
		put(&f, frame, frame_len);
	align(&f, 8);
	size_t off_sh = f.len;
	unsigned nsh = frame_len ? 6 : 5;
	if (f.failed || strs.failed || syms.failed) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot build symbol file");
		goto out;
	}
	if (elf64) {
		Elf64_Shdr sh[6] = { { 0 } };
		sh[1] = (Elf64_Shdr){ .sh_name = SH_TEXT, .sh_type = SHT_NOBITS,
				      .sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_addr = m->base,
				      .sh_size = m->size, .sh_addralign = 1 };
		sh[2] = (Elf64_Shdr){ .sh_name = SH_SYMTAB, .sh_type = SHT_SYMTAB,
				      .sh_offset = off_sym, .sh_size = syms.len, .sh_link = 3,
				      .sh_info = 1, .sh_addralign = 8, .sh_entsize = esz };
		sh[3] = (Elf64_Shdr){ .sh_name = SH_STRTAB, .sh_type = SHT_STRTAB,
				      .sh_offset = off_str, .sh_size = strs.len, .sh_addralign = 1 };
		sh[4] = (Elf64_Shdr){ .sh_name = SH_SHSTRTAB, .sh_type = SHT_STRTAB,
				      .sh_offset = off_shstr, .sh_size = sizeof shstr,
				      .sh_addralign = 1 };
		sh[5] = (Elf64_Shdr){ .sh_name = SH_FRAME, .sh_type = SHT_PROGBITS,
				      .sh_offset = off_frame, .sh_size = frame_len,
				      .sh_addralign = 8 };
		put(&f, sh, nsh * sizeof sh[0]);
		Elf64_Ehdr eh = { .e_type = exec ? ET_EXEC : ET_DYN, .e_machine = EM_X86_64,
				  .e_version = EV_CURRENT, .e_phoff = ehsz, .e_shoff = off_sh,
				  .e_ehsize = (Elf64_Half)ehsz, .e_phentsize = (Elf64_Half)phsz,
				  .e_phnum = 1, .e_shentsize = (Elf64_Half)shsz,
				  .e_shnum = (Elf64_Half)nsh,
				  .e_shstrndx = 4 };
		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS64;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
				  .p_vaddr = m->base, .p_paddr = m->base, .p_memsz = m->size,
				  .p_align = 1 };
		memcpy(f.p, &eh, sizeof eh);
		memcpy(f.p + ehsz, &ph, sizeof ph);
	} else {
		Elf32_Shdr sh[6] = { { 0 } };
		sh[1] = (Elf32_Shdr){ .sh_name = SH_TEXT, .sh_type = SHT_NOBITS,
				      .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
				      .sh_addr = (Elf32_Addr)m->base,
				      .sh_size = (Elf32_Word)m->size, .sh_addralign = 1 };
		sh[2] = (Elf32_Shdr){ .sh_name = SH_SYMTAB, .sh_type = SHT_SYMTAB,
				      .sh_offset = (Elf32_Off)off_sym, .sh_size = (Elf32_Word)syms.len,
				      .sh_link = 3, .sh_info = 1, .sh_addralign = 4,
				      .sh_entsize = (Elf32_Word)esz };
		sh[3] = (Elf32_Shdr){ .sh_name = SH_STRTAB, .sh_type = SHT_STRTAB,
				      .sh_offset = (Elf32_Off)off_str, .sh_size = (Elf32_Word)strs.len,
				      .sh_addralign = 1 };
		sh[4] = (Elf32_Shdr){ .sh_name = SH_SHSTRTAB, .sh_type = SHT_STRTAB,
				      .sh_offset = (Elf32_Off)off_shstr, .sh_size = sizeof shstr,
				      .sh_addralign = 1 };
		sh[5] = (Elf32_Shdr){ .sh_name = SH_FRAME, .sh_type = SHT_PROGBITS,
				      .sh_offset = (Elf32_Off)off_frame,
				      .sh_size = (Elf32_Word)frame_len, .sh_addralign = 4 };
		put(&f, sh, nsh * sizeof sh[0]);
		Elf32_Ehdr eh = { .e_type = exec ? ET_EXEC : ET_DYN, .e_machine = EM_386,
				  .e_version = EV_CURRENT, .e_phoff = (Elf32_Off)ehsz,
				  .e_shoff = (Elf32_Off)off_sh, .e_ehsize = (Elf32_Half)ehsz,
				  .e_phentsize = (Elf32_Half)phsz, .e_phnum = 1,
				  .e_shentsize = (Elf32_Half)shsz, .e_shnum = (Elf32_Half)nsh,
				  .e_shstrndx = 4 };
		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS32;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		Elf32_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
				  .p_vaddr = (Elf32_Addr)m->base, .p_paddr = (Elf32_Addr)m->base,
				  .p_memsz = (Elf32_Word)m->size, .p_align = 1 };
		memcpy(f.p, &eh, sizeof eh);
		memcpy(f.p + ehsz, &ph, sizeof ph);
	}
	if (f.failed) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot build symbol file");
		goto out;
	}
	out = fopen(path, "wb");
	if (!out || fwrite(f.p, 1, f.len, out) != f.len) {
		st = strand_error_set(err, STRAND_ERR_IO, "cannot write symbol file %s: %s",
				      path, strerror(errno));
		goto out;
	}
	(void)nsym;
out:
	if (out && fclose(out) != 0 && st == STRAND_OK)
		st = strand_error_set(err, STRAND_ERR_IO, "cannot write symbol file %s: %s",
				      path, strerror(errno));
	free(strs.p);
	free(syms.p);
	free(f.p);
	return st;
}
