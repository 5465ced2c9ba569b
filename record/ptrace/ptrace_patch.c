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
 * A section's result is cached by the recorder (strand_ptrace_sweeps),
 * keyed by the file's identity: every process of a tree maps the same
 * ld.so and libc, and a child's recorder inherits its parent's cache.
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

static uint64_t stat_mtime_ns(const struct stat *sb)
{
	return (uint64_t)sb->st_mtim.tv_sec * 1000000000ull + (uint64_t)sb->st_mtim.tv_nsec;
}

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

/* Linear sweep of code[0..len) at file offset `off`: the file offsets of
 * its rdtsc, rdtscp (and with `cpuid` cpuid) instructions go to *v. */
static bool sweep(const uint8_t *code, uint64_t len, uint64_t off, bool cpuid, uint64_t **v,
		  size_t *n)
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
		bool hit = (cpuid && insn.mnemonic == ZYDIS_MNEMONIC_CPUID) ||
			   insn.mnemonic == ZYDIS_MNEMONIC_RDTSC || insn.mnemonic == ZYDIS_MNEMONIC_RDTSCP;
		if (hit && insn.length == (insn.mnemonic == ZYDIS_MNEMONIC_RDTSCP ? 3 : 2) &&
		    code[i] == 0x0f && !add_addr(v, n, off + i))
			return false;
		i += insn.length;
	}
	return true;
}

/* The cached sweep of one executable range of a file, NULL if none. */
static const struct strand_ptrace_sweep *sweep_find(const struct strand_ptrace_sweeps *c,
						    const struct stat *sb, uint64_t off,
						    uint64_t len, bool cpuid)
{
	for (size_t i = 0; c && i < c->n; i++) {
		const struct strand_ptrace_sweep *e = &c->v[i];
		if (e->dev == (uint64_t)sb->st_dev && e->ino == (uint64_t)sb->st_ino &&
		    e->size == (uint64_t)sb->st_size && e->mtime_ns == stat_mtime_ns(sb) &&
		    e->off == off && e->len == len && e->cpuid == cpuid)
			return e;
	}
	return NULL;
}

/* The file offsets of the nondeterministic instructions of code range
 * [off, off + len) of the file f (stat sb): from the cache, or swept and
 * then cached (a cache that cannot grow only costs the sweep again). */
static bool sweep_cached(struct strand_ptrace_sweeps *c, const uint8_t *f, const struct stat *sb,
			 uint64_t off, uint64_t len, bool cpuid, const uint64_t **hits, size_t *nhits,
			 uint64_t **scratch, size_t *nscratch)
{
	const struct strand_ptrace_sweep *e = sweep_find(c, sb, off, len, cpuid);
	if (e) {
		*hits = e->hits;
		*nhits = e->nhits;
		return true;
	}
	free(*scratch);
	*scratch = NULL;
	*nscratch = 0;
	if (!sweep(f + off, len, off, cpuid, scratch, nscratch))
		return false;
	*hits = *scratch;
	*nhits = *nscratch;
	if (!c)
		return true;
	struct strand_ptrace_sweep *t = realloc(c->v, (c->n + 1) * sizeof *t);
	if (!t)
		return true;
	c->v = t;
	struct strand_ptrace_sweep *ne = &c->v[c->n++];
	*ne = (struct strand_ptrace_sweep){ .dev = (uint64_t)sb->st_dev, .ino = (uint64_t)sb->st_ino,
		.size = (uint64_t)sb->st_size, .mtime_ns = stat_mtime_ns(sb), .off = off, .len = len,
		.cpuid = cpuid, .hits = *scratch, .nhits = *nscratch };
	*scratch = NULL; /* the cache owns it; *hits stays valid */
	*nscratch = 0;
	return true;
}

void strand_ptrace_sweeps_free(struct strand_ptrace_sweeps *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].hits);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* Add the hits whose file offset is in [lo, hi) as addresses of the
 * mapping at map_addr from file offset map_off. */
static bool add_hits(const uint64_t *hits, size_t nhits, uint64_t lo, uint64_t hi,
		     uint64_t map_addr, uint64_t map_off, uint64_t **v, size_t *n)
{
	for (size_t i = 0; i < nhits; i++)
		if (hits[i] >= lo && hits[i] < hi && !add_addr(v, n, map_addr + (hits[i] - map_off)))
			return false;
	return true;
}

strand_status strand_ptrace_find_nondet(struct strand_ptrace_sweeps *cache, const char *path,
				       uint64_t map_off, uint64_t map_len, uint64_t map_addr, bool cpuid,
				       uint64_t **out, size_t *nout, strand_error *err)
{
	strand_status st = STRAND_OK;
	uint64_t *v = NULL, *scratch = NULL;
	size_t n = 0, nscratch = 0;
	const uint64_t *hits;
	size_t nhits;
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
			if (!sweep_cached(cache, f, &sb, sh[i].sh_offset, sh[i].sh_size, cpuid, &hits,
					  &nhits, &scratch, &nscratch) ||
			    !add_hits(hits, nhits, lo, hi, map_addr, map_off, &v, &n))
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
			if (!sweep_cached(cache, f, &sb, ph[i].p_offset, ph[i].p_filesz, cpuid, &hits,
					  &nhits, &scratch, &nscratch) ||
			    !add_hits(hits, nhits, lo, hi, map_addr, map_off, &v, &n))
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
	free(scratch);
	if (f != MAP_FAILED)
		munmap((void *)f, size);
	close(fd);
	return st;
}
