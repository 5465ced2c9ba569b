/*
 * ELF64 symbol tables for the ptrace recorder's MODULE records.  The file
 * is untrusted: every offset, size and count is checked against the file
 * length before use, and a malformed file is an error naming the offset.
 * Both .symtab (when not stripped) and .dynsym are read; duplicates (same
 * address and name) are dropped.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/ptrace/ptrace_rec.h"

#define MAX_SYMS (1u << 22)

/* True if [off, off+len) lies inside a file of `size` bytes. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct strand_symbol *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

void strand_ptrace_elf_free(struct strand_ptrace_elf *e)
{
	if (!e)
		return;
	free(e->syms);
	free(e->strings);
	memset(e, 0, sizeof *e);
}

strand_status strand_ptrace_elf_load(const char *path, uint64_t base,
				     struct strand_ptrace_elf *out, strand_error *err)
{
	strand_status st = STRAND_OK;
	const uint8_t *f = MAP_FAILED;
	uint64_t size = 0;
	struct strand_symbol *syms = NULL;
	char *strings = NULL;
	size_t nsyms = 0, capsyms = 0, nstr = 0, capstr = 0;

	memset(out, 0, sizeof *out);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strand_error_set(err, STRAND_ERR_IO, "cannot open %s: %s", path,
					strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		st = strand_error_set(err, STRAND_ERR_CORRUPT, "%s: not an ELF file", path);
		goto out;
	}
	size = (uint64_t)sb.st_size;
	f = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f == MAP_FAILED) {
		st = strand_error_set(err, STRAND_ERR_IO, "cannot map %s: %s", path, strerror(errno));
		goto out;
	}
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		st = strand_error_set(err, STRAND_ERR_CORRUPT, "%s: not a little-endian ELF64 file", path);
		goto out;
	}
	out->is_dyn = eh->e_type == ET_DYN;

	/* program headers: load span and the bias of symbol values */
	uint64_t lo = UINT64_MAX, hi = 0;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size)) {
		st = strand_error_set(err, STRAND_ERR_CORRUPT,
				      "%s: program headers out of file: offset=%llu count=%u", path,
				      (unsigned long long)eh->e_phoff, eh->e_phnum);
		goto out;
	}
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr < lo)
			lo = ph[i].p_vaddr;
		if (ph[i].p_vaddr + ph[i].p_memsz > hi)
			hi = ph[i].p_vaddr + ph[i].p_memsz;
	}
	if (lo == UINT64_MAX)
		lo = hi = 0;
	lo &= ~(uint64_t)4095;
	out->span = hi > lo ? hi - lo : 0;
	uint64_t bias = out->is_dyn ? base - lo : 0;

	/* section headers: SHT_SYMTAB and SHT_DYNSYM with their string tables */
	if (eh->e_shoff == 0 || eh->e_shnum == 0)
		goto done; /* no sections: no symbols, not an error */
	if (eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), size)) {
		st = strand_error_set(err, STRAND_ERR_CORRUPT,
				      "%s: section headers out of file: offset=%llu count=%u", path,
				      (unsigned long long)eh->e_shoff, eh->e_shnum);
		goto out;
	}
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB && sh[i].sh_type != SHT_DYNSYM)
			continue;
		if (sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
		    !in_file(sh[i].sh_offset, sh[i].sh_size, size)) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT,
					      "%s: symbol table section %u malformed: offset=%llu size=%llu",
					      path, i, (unsigned long long)sh[i].sh_offset,
					      (unsigned long long)sh[i].sh_size);
			goto out;
		}
		const Elf64_Shdr *strsh = &sh[sh[i].sh_link];
		if (!in_file(strsh->sh_offset, strsh->sh_size, size)) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT,
					      "%s: string table section %u out of file: offset=%llu",
					      path, sh[i].sh_link, (unsigned long long)strsh->sh_offset);
			goto out;
		}
		const char *str = (const char *)f + strsh->sh_offset;
		uint64_t strsz = strsh->sh_size;
		const Elf64_Sym *s = (const Elf64_Sym *)(f + sh[i].sh_offset);
		uint64_t n = sh[i].sh_size / sizeof(Elf64_Sym);
		for (uint64_t k = 0; k < n; k++) {
			unsigned type = ELF64_ST_TYPE(s[k].st_info);
			if ((type != STT_FUNC && type != STT_OBJECT) || s[k].st_shndx == SHN_UNDEF ||
			    s[k].st_value == 0 || s[k].st_name >= strsz)
				continue;
			const char *nm = str + s[k].st_name;
			size_t nl = strnlen(nm, strsz - s[k].st_name);
			if (nl == strsz - s[k].st_name || nl == 0)
				continue; /* unterminated or empty name */
			if (nsyms >= MAX_SYMS)
				break;
			if (nsyms == capsyms) {
				size_t nc = capsyms ? capsyms * 2 : 1024;
				void *t = realloc(syms, nc * sizeof *syms);
				if (!t)
					goto oom;
				syms = t;
				capsyms = nc;
			}
			if (nstr + nl + 1 > capstr) {
				size_t nc = capstr ? capstr * 2 : 65536;
				while (nc < nstr + nl + 1)
					nc *= 2;
				void *t = realloc(strings, nc);
				if (!t)
					goto oom;
				strings = t;
				capstr = nc;
			}
			memcpy(strings + nstr, nm, nl + 1);
			syms[nsyms].addr = s[k].st_value + bias;
			syms[nsyms].size = s[k].st_size;
			syms[nsyms].kind = type == STT_FUNC ? STRAND_SYM_FUNC : STRAND_SYM_OBJECT;
			syms[nsyms].name = (const char *)(uintptr_t)nstr; /* offset until the end */
			syms[nsyms].demangled = "";
			nsyms++;
			nstr += nl + 1;
		}
	}
	for (size_t i = 0; i < nsyms; i++)
		syms[i].name = strings + (uintptr_t)syms[i].name;
	qsort(syms, nsyms, sizeof *syms, sym_cmp);
	size_t w = 0;
	for (size_t i = 0; i < nsyms; i++) {
		if (w && syms[w - 1].addr == syms[i].addr && !strcmp(syms[w - 1].name, syms[i].name))
			continue;
		syms[w++] = syms[i];
	}
	nsyms = w;
done:
	out->syms = syms;
	out->nsyms = (uint32_t)nsyms;
	out->strings = strings;
	syms = NULL;
	strings = NULL;
	goto out;
oom:
	st = strand_error_set(err, STRAND_ERR_NOMEM, "%s: out of memory reading symbols", path);
out:
	free(syms);
	free(strings);
	if (f != MAP_FAILED)
		munmap((void *)f, size);
	close(fd);
	return st;
}
