/*
 * Escaping strings that come from a trace for the sink they go to.
 *
 * Every string in a trace (module and symbol names, paths, notes, program
 * output, thread names) is untrusted: it may hold terminal escape
 * sequences, HTML or Markdown.  Before it reaches a sink, escape it for
 * that sink:
 *   terminal text (strand info, query, replay, the text report):
 *     strand_escape_term: control characters (C0, DEL, C1) and bytes that
 *     are not valid UTF-8 become "\xHH" ("\x1b" for ESC); valid UTF-8
 *     text passes unchanged;
 *   HTML: strand_escape_html: & < > " ' as entities, control characters
 *     and invalid UTF-8 as "\xHH";
 *   Markdown: strand_escape_md: HTML-special characters as entities (so
 *     "<script>" never reaches a renderer as markup), Markdown
 *     punctuation (\ ` * _ { } [ ] ( ) # + - ! | ~ >) backslash-escaped,
 *     control characters and invalid UTF-8 as "\xHH";
 *   JSON: strand/json.h escapes by itself (valid UTF-8 out).
 * Each function writes into a caller-owned buffer, always NUL-terminated,
 * and returns the length the full escaped text needs (snprintf style), so
 * `if (n >= len)` means truncated (never inside an escape).  The
 * strand_fputs_* variants write to a FILE with no length limit.
 */
#ifndef STRAND_ESCAPE_H
#define STRAND_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flags */
enum {
	STRAND_ESC_KEEP_NEWLINES = 1, /* '\n' and '\t' pass (multi-line text) */
};

size_t strand_escape_term(const char *s, size_t slen, unsigned flags, char *buf, size_t len);
size_t strand_escape_html(const char *s, size_t slen, unsigned flags, char *buf, size_t len);
size_t strand_escape_md(const char *s, size_t slen, unsigned flags, char *buf, size_t len);

/* NUL-terminated `s` (NULL writes nothing) escaped onto `f`. */
void strand_fputs_term(FILE *f, const char *s, unsigned flags);
void strand_fputs_html(FILE *f, const char *s, unsigned flags);
void strand_fputs_md(FILE *f, const char *s, unsigned flags);
/* Same for `n` bytes. */
void strand_fwrite_term(FILE *f, const char *s, size_t n, unsigned flags);

/* Length of the valid UTF-8 sequence at s[0..n) (1..4), or 0 if s[0]
 * does not start one (overlong forms, surrogates and code points above
 * U+10FFFF are not valid). */
size_t strand_utf8_len(const unsigned char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_ESCAPE_H */
