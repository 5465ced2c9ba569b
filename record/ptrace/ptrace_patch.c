/*
 * Nondeterministic instructions without hardware traps.  cpuid faulting
 * (arch_prctl(ARCH_SET_CPUID, 0)) is not available on AMD hosts and most
 * VMs (ENODEV), and on some VMs rdtsc does not trap despite
 * prctl(PR_SET_TSC, PR_TSC_SIGSEGV).  So the recorder finds the rdtsc and
 * rdtscp (and, without cpuid faulting, cpuid) instructions of every
 * executable ELF mapping by a linear sweep of its executable sections
 * (Zydis) and writes int3 over their first byte (0f).  The trap (SIGTRAP
 * at the int3) is answered like a faulting instruction.  Trace data is
 * always read before patching, so traces hold the original bytes.
 *
 * The sweep starts at each section's start; GCC and Clang put no data in
 * executable sections on x86-64, so the sweep stays on instruction
 * boundaries.  Sections are only swept when the bytes 0f a2 occur at all.
 */
#define _GNU_SOURCE /* memmem */
#include <Zydis/Zydis.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/ptrace/ptrace_rec.h"

static bool add_addr(uint64_t **v, size_t *n, uint64_t a)
{
	if ((*n & (*n - 1)) == 0 || *n == 0) { /* grow at powers of two */
		size_t nc = *n ? *n * 2 : 8;
		void *t = realloc(*v, nc * sizeof **v);
		if (!t)
			return false;
		*v = t;
	}
	(*v)[(*n)++] = a;
	return true;
}

/* Linear sweep of code[0..len) at file offset `off`; cpuid instructions
 * whose file offset is in [lo, hi) are added as map_addr + (offset - map_off). */
static bool sweep(const uint8_t *code, uint64_t len, uint64_t off, uint64_t lo, uint64_t hi,
		  uint64_t map_addr, uint64_t map_off, bool cpuid, uint64_t **v, size_t *n)
{
	if (!(cpuid && memmem(code, len, "\x0f\xa2", 2)) && !memmem(code, len, "\x0f\x31", 2) &&
	    !memmem(code, len, "\x0f\x01\xf9", 3))
		return true;
	ZydisDecoder dec;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisDecoderEnableMode(&dec, ZYDIS_DECODER_MODE_MINIMAL, ZYAN_TRUE);
	ZydisDecodedInstruction insn;
	uint64_t i = 0;
	while (i < len) {
		if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(&dec, NULL, code + i, len - i, &insn))) {
			i++;
			continue;
		}
		uint64_t fo = off + i;
		bool hit = (cpuid && insn.mnemonic == ZYDIS_MNEMONIC_CPUID) ||
			   insn.mnemonic == ZYDIS_MNEMONIC_RDTSC || insn.mnemonic == ZYDIS_MNEMONIC_RDTSCP;
		if (hit && insn.length == (insn.mnemonic == ZYDIS_MNEMONIC_RDTSCP ? 3 : 2) &&
		    code[i] == 0x0f && fo >= lo && fo < hi &&
		    !add_addr(v, n, map_addr + (fo - map_off)))
			return false;
		i += insn.length;
	}
	return true;
}

strand_status strand_ptrace_find_nondet(const char *path, uint64_t map_off, uint64_t map_len,
				       uint64_t map_addr, bool cpuid, uint64_t **out, size_t *nout,
				       strand_error *err)
{
	strand_status st = STRAND_OK;
	uint64_t *v = NULL;
	size_t n = 0;
	const uint8_t *f = MAP_FAILED;
	uint64_t size = 0;
	*out = NULL;
	*nout = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strand_error_set(err, STRAND_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size < (off_t)sizeof(Elf64_Ehdr))
		goto out; /* not an ELF file: nothing to patch */
	size = (uint64_t)sb.st_size;
	f = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f == MAP_FAILED) {
		st = strand_error_set(err, STRAND_ERR_IO, "cannot map %s: %s", path, strerror(errno));
		goto out;
	}
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
		goto out;
	uint64_t lo = map_off, hi = map_off + map_len;
	bool swept = false;
	if (eh->e_shoff && eh->e_shentsize == sizeof(Elf64_Shdr) && eh->e_shoff <= size &&
	    (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) <= size - eh->e_shoff) {
		const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
		for (unsigned i = 0; i < eh->e_shnum; i++) {
			if (sh[i].sh_type != SHT_PROGBITS || !(sh[i].sh_flags & SHF_EXECINSTR))
				continue;
			if (sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset) {
				st = strand_error_set(err, STRAND_ERR_CORRUPT,
						      "%s: section %u out of file: offset=%llu", path, i,
						      (unsigned long long)sh[i].sh_offset);
				goto out;
			}
			swept = true;
			if (sh[i].sh_offset + sh[i].sh_size <= lo || sh[i].sh_offset >= hi)
				continue;
			if (!sweep(f + sh[i].sh_offset, sh[i].sh_size, sh[i].sh_offset, lo, hi,
				   map_addr, map_off, cpuid, &v, &n))
				goto oom;
		}
	}
	if (!swept && eh->e_phentsize == sizeof(Elf64_Phdr) && eh->e_phoff <= size &&
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) <= size - eh->e_phoff) {
		/* no section headers: sweep executable segments */
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff);
		for (unsigned i = 0; i < eh->e_phnum; i++) {
			if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X) || ph[i].p_offset > size ||
			    ph[i].p_filesz > size - ph[i].p_offset)
				continue;
			if (ph[i].p_offset + ph[i].p_filesz <= lo || ph[i].p_offset >= hi)
				continue;
			if (!sweep(f + ph[i].p_offset, ph[i].p_filesz, ph[i].p_offset, lo, hi,
				   map_addr, map_off, cpuid, &v, &n))
				goto oom;
		}
	}
	*out = v;
	*nout = n;
	v = NULL;
	goto out;
oom:
	st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
out:
	free(v);
	if (f != MAP_FAILED)
		munmap((void *)f, size);
	close(fd);
	return st;
}
