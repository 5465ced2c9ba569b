/* Inside the gdb server (gdb/server.h). */
#ifndef STRAND_GDB_SERVER_INT_H
#define STRAND_GDB_SERVER_INT_H

#include "gdb/rsp.h"
#include "gdb/server.h"

/* Write a symbol-only ELF for module `m` at `path` (gdb/symfile.c):
 * ELF64 x86-64 when elf64, else ELF32 i386; ET_EXEC when exec; with a
 * .debug_frame section of `frame_len` bytes when frame_len > 0. */
strand_status gdb_symfile_write(const char *path, const struct strand_module *m,
				bool elf64, bool exec, const uint8_t *frame, size_t frame_len,
				strand_error *err);

/* Call frame information learnt from a pass over the recording
 * (gdb/cfi.c): for every executed pc, where its frame begins. */
struct gdb_cfi;
/* Learn from a pass over `trace` up to `max_insns` instructions (0 = the
 * whole trace).  *out owned: gdb_cfi_free. */
strand_status gdb_cfi_build(const char *trace, bool x86_64, uint64_t max_insns,
			    struct gdb_cfi **out, strand_error *err);
void gdb_cfi_free(struct gdb_cfi *c); /* c may be NULL */
/* How many pcs have a learnt frame; *ran (may be NULL) gets how many ran. */
uint64_t gdb_cfi_learnt(const struct gdb_cfi *c, uint64_t *ran);
/* A .debug_frame section for the pcs in [lo, hi): *out malloc'd (caller
 * frees), *len bytes; NULL/0 when nothing is learnt there (or c is NULL).
 * False when out of memory. */
bool gdb_cfi_debug_frame(const struct gdb_cfi *c, uint64_t lo, uint64_t hi,
			 uint8_t **out, size_t *len);

/* One register of the target description: its number is its index in
 * the table (gdb/server.c). */
struct gdb_reg {
	const char *name;
	unsigned bits;        /* 32, 64, 80, 128 */
	const char *type;     /* target.xml type */
	const char *feature;  /* "core", "sse", "linux", "segments" */
};

/* The register table of an architecture; *n gets its length. */
const struct gdb_reg *gdb_regs(bool x86_64, bool linux_abi, unsigned *n);

/* Value of register `i` of the table from a context, little endian, into
 * out (bits/8 bytes).  orig_eax/orig_rax read as -1. */
void gdb_reg_value(const struct strand_cpu *cpu, bool x86_64, bool linux_abi,
		   unsigned i, uint8_t *out);

#endif /* STRAND_GDB_SERVER_INT_H */
