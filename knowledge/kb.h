/* Internal: the knowledge base of hints (analyses/kb.c). */
#ifndef STRAND_ANALYSES_KB_H
#define STRAND_ANALYSES_KB_H

#include <stdbool.h>
#include <stdint.h>

struct kb_entry {
	const char *status;        /* status name (NTSTATUS or errno), NULL = any */
	const char *object_prefix; /* object/path prefix, NULL = any */
	const char *syscall;       /* syscall name, NULL = any */
	uint64_t symptom_value;    /* the symptom's reported code, 0 = any */
	const char *title;         /* NULL ends the table */
	const char *text;
};

extern const struct kb_entry strand_kb[];

bool kb_match(const struct kb_entry *e, const char *status, const char *object,
	      const char *syscall, uint64_t symptom_value);

#endif
