/* Inside the gdb server (gdb/server.h). */
#ifndef STRAND_GDB_SERVER_INT_H
#define STRAND_GDB_SERVER_INT_H

#include "gdb/rsp.h"
#include "gdb/server.h"

/* Write a symbol-only ELF for module `m` at `path` (gdb/symfile.c):
 * ELF64 x86-64 when elf64, else ELF32 i386; ET_EXEC when exec. */
strand_status gdb_symfile_write(const char *path, const struct strand_module *m,
				bool elf64, bool exec, strand_error *err);

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
