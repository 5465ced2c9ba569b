/* Internal: the knowledge base (knowledge/kb.c), loaded from data files
 * (knowledge/data/kb.txt, format described at its top). */
#ifndef STRAND_KNOWLEDGE_KB_H
#define STRAND_KNOWLEDGE_KB_H

#include <stdbool.h>
#include <stdint.h>

#include "strand/strand.h"

enum kb_kind { KB_HINT = 1, KB_EXIT = 2 };

struct kb_entry {
	enum kb_kind kind;
	/* KB_HINT keys: NULL / 0 = any */
	char *status;              /* status name (NTSTATUS or errno) */
	char *object_prefix;       /* object/path prefix, case-insensitive */
	char *syscall;             /* syscall name */
	uint64_t symptom_value;    /* the symptom's reported code; have_symptom says if set */
	bool have_symptom;
	/* KB_EXIT keys */
	char *program;             /* basename of the executable */
	uint64_t exit_status;
	bool when_no_error_line;   /* only when no diagnostic line was written */
	char *options;             /* NULL, or only when the program was given one
				      of these options (space-separated, see
				      kb_exit_lookup) */
	/* both */
	char *title;               /* hint title; exit: NULL */
	char *text;                /* hint text; exit: the meaning */
	char *source;              /* where the knowledge comes from (required) */
	char *file;                /* file:line it was read from */
};

/* A loaded knowledge base: entries in file order, files in load order. */
struct kb {
	struct kb_entry *e;
	uint32_t n;
	size_t cap;      /* allocated entries of e */
};

/* The file shipped with the program: $STRAND_KB if set, else
 * share/strand/kb.txt or knowledge/data/kb.txt next to the executable's
 * directory (installed / build tree).  Writes the path into buf; false if
 * none exists. */
bool kb_default_path(char *buf, size_t len);

/* Append the entries of `path` to kb.  A syntax error, an unknown key or
 * section, or an entry without `source` fails with "FILE:LINE: message". */
strand_status kb_load(struct kb *kb, const char *path, strand_error *err);
void kb_free(struct kb *kb); /* frees the entries; kb itself is the caller's */

/* Does a hint match a root cause? */
bool kb_match(const struct kb_entry *e, const char *status, const char *object,
	      const char *syscall, uint64_t symptom_value);

/* The exit entry documenting `status` of `program` as normal, or NULL.
 * `error_line`: the program wrote a diagnostic line.  `args`: the
 * program's arguments after its name, separated by spaces (NULL:
 * unknown); an entry with `options` matches only when an argument is one
 * of them: "-c" also inside a cluster of short options ("-uc"), "--check"
 * also as "--check=..."; arguments after "--" are not options. */
const struct kb_entry *kb_exit_lookup(const struct kb *kb, const char *program, uint64_t status,
				      bool error_line, const char *args);

/* Does some exit entry of `program` depend on its options (so that the
 * caller needs its arguments)? */
bool kb_exit_wants_args(const struct kb *kb, const char *program);

#endif
