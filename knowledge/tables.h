/* Internal: the generated code tables (knowledge/tables_gen.c) and the
 * Windows syscall table (analyses/tables.c).  Each table is sorted by
 * value, so lookups bisect. */
#ifndef STRAND_KNOWLEDGE_TABLES_H
#define STRAND_KNOWLEDGE_TABLES_H

#include "strand/knowledge.h"

struct strand_sysname {
	uint32_t number;
	const char *name;
};

extern const struct strand_code strand_ntstatus_table[];
extern const size_t strand_ntstatus_count;
extern const struct strand_code strand_win32_table[];
extern const size_t strand_win32_count;
extern const struct strand_code strand_errno_table[];
extern const size_t strand_errno_count;
extern const struct strand_sysname strand_linux64_syscalls[];
extern const size_t strand_linux64_syscall_count;

#endif
