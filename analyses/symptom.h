/* Internal: reading the symptom out of what a process wrote (analyses/symptom.c).
 *
 * Pure functions over text: no replay, no allocation.  errorflow feeds
 * them the OUTPUT records of a trace; the tests call them directly. */
#ifndef STRAND_ANALYSES_SYMPTOM_H
#define STRAND_ANALYSES_SYMPTOM_H

#include <stdbool.h>
#include <stdint.h>

#include "strand/trace.h"

/* How strongly a line reads as the program's own diagnostic. */
enum sym_score {
	SYM_NONE = 0,     /* not a diagnostic (a debug-log line without a failure code) */
	SYM_TEXT = 1,     /* some line on the error stream */
	SYM_PREFIX = 2,   /* "PROG: ...", "fatal: ...", "X: error: ...": the form of a diagnostic */
	SYM_CODE = 3,     /* carries a failure code (an HRESULT/NTSTATUS, a number after '=') */
	SYM_MESSAGE = 4,  /* carries the text of a known status (an errno/NTSTATUS message) */
};

/* The code a line reports. */
struct sym_code {
	bool found;
	uint64_t value;     /* as parsed: decimal as decimal, hex as hex */
	unsigned base;      /* 10 or 16 */
	uint32_t off, len;  /* the token's bytes in the line (without "0x") */
	bool tied;          /* chosen because the exit status has its value */
};

/* A status message found in a line. */
struct sym_message {
	bool found;
	unsigned kind;      /* STRAND_CODE_ERRNO or STRAND_CODE_NTSTATUS */
	uint32_t value;     /* the errno (positive) or the NTSTATUS */
	const char *name;   /* static: "ENOENT" */
	uint32_t off, len;  /* where the message is in the line */
};

/* Score `t[0..len)` written to `stream` (STRAND_OUT_*) by program `prog`
 * (basename, may be NULL).  Fills *msg and *code (may be NULL) with what
 * it found.  The line has no trailing newline. */
enum sym_score sym_line_score(strand_abi abi, const char *t, uint32_t len, unsigned stream,
			      const char *prog, struct sym_message *msg, struct sym_code *code);

/* The code a line reports: a hexadecimal token ("0x..." or an 8-digit
 * HRESULT/NTSTATUS-shaped one) first, then a number after '=' or in
 * "[... N]" or "(N)", then any other stand-alone number.  Numbers that are
 * positions ("file.c:12", "@ 459", "line 3"), parts of words, quoted text,
 * versions or decimals are never the code.  False if there is none. */
bool sym_parse_code(const char *t, uint32_t len, struct sym_code *out);
/* The code token of t (by the same rules) whose value is `value`: the
 * line's code when something else ties that value to the failure (the
 * exit status).  False if no token has it. */
bool sym_find_code_value(const char *t, uint32_t len, uint64_t value, struct sym_code *out);

/* A status message of the knowledge tables inside the line (errno texts
 * on Linux, NTSTATUS messages on Windows), longest first. */
bool sym_find_message(strand_abi abi, const char *t, uint32_t len, struct sym_message *out);

/* One write of the process (an OUTPUT record), as errorflow hands it over. */
struct sym_piece {
	unsigned stream;    /* 1 stdout, 2 stderr, 3 debug log */
	uint32_t tid;
	const char *data;   /* borrowed */
	uint32_t len;
	bool usable;        /* its bytes were found in the process's memory */
};

/* The symptom line chosen among the pieces. */
struct sym_choice {
	bool found;
	enum sym_score score;
	char text[512];          /* the line, without its newline */
	uint32_t len;
	uint32_t first_piece, last_piece;
	uint32_t npieces;        /* writes the line was assembled from */
	/* the bytes to follow backward: piece `flow_piece`, data[flow_off..+flow_len) */
	uint32_t flow_piece, flow_off, flow_len;
	struct sym_code code;    /* offsets into text */
	struct sym_message msg;  /* offsets into text */
	bool continued;          /* more diagnostic lines followed it (a traceback) */
};

/* Assemble the pieces into lines per (stream, thread) (a line may be
 * written by several writes, a write may hold several lines) and choose
 * the symptom: the highest-scoring line the process wrote, the last one
 * among equals.  `prog` is the program's basename (may be NULL). */
bool sym_choose(strand_abi abi, const char *prog, const struct sym_piece *p, uint32_t n,
		struct sym_choice *out);
/* The same, knowing the process's exit status (NULL: unknown): a number
 * of the line equal to it (2 or more) is the line's code. */
bool sym_choose_tied(strand_abi abi, const char *prog, const struct sym_piece *p, uint32_t n,
		     const uint64_t *exit_status, struct sym_choice *out);

#endif
