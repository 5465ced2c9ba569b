/*
 * Splitting: a line into commands (at ';'), a command into words (at
 * blanks).  Neither splits inside quotes, brackets or parentheses, so
 * `mem [esp + 4] 16` has three words and `find "a;b"` is one command.
 */
#include <stdlib.h>
#include <string.h>

#include "query/query_int.h"

int strand_query_split(const char *line,
		       int (*cb)(void *ud, const char *cmd), void *ud)
{
	size_t n = strlen(line);
	char *buf = malloc(n + 1);
	if (!buf)
		return -1;
	size_t len = 0;
	int depth = 0;
	char quote = 0;
	bool word_start = true;
	int rc = 0;
	for (size_t i = 0; i <= n && rc == 0; i++) {
		char c = line[i];
		bool end_cmd = c == '\0';
		if (!end_cmd && quote) {
			if (c == quote)
				quote = 0;
		} else if (!end_cmd) {
			if (c == '"' || c == '\'')
				quote = c;
			else if (c == '(' || c == '[')
				depth++;
			else if ((c == ')' || c == ']') && depth > 0)
				depth--;
			else if (c == '#' && word_start && depth == 0)
				end_cmd = true, i = n; /* comment to end of line */
			else if (c == ';' && depth == 0)
				end_cmd = true;
		}
		if (!end_cmd) {
			buf[len++] = c;
			word_start = c == ' ' || c == '\t';
			continue;
		}
		/* trim and hand over a non-empty command */
		buf[len] = '\0';
		char *s = buf;
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		char *e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
				 e[-1] == '\n'))
			*--e = '\0';
		if (*s)
			rc = cb(ud, s);
		len = 0;
		word_start = true;
	}
	free(buf);
	return rc;
}

strand_status qargs_split(const char *line, struct qargs *a, strand_error *err)
{
	size_t n = strlen(line);
	a->argc = 0;
	if (n >= sizeof a->buf)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"command too long (%zu bytes, at most %zu)",
					n, sizeof a->buf - 1);
	size_t out = 0;
	size_t i = 0;
	for (;;) {
		while (line[i] == ' ' || line[i] == '\t')
			i++;
		if (!line[i])
			break;
		if (a->argc == QMAX_ARGS)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"too many words (at most %d)", QMAX_ARGS);
		a->argv[a->argc++] = a->buf + out;
		int depth = 0;
		char quote = 0;
		size_t start = i;
		for (; line[i]; i++) {
			char c = line[i];
			if (quote) {
				if (c == quote) {
					quote = 0;
					continue;
				}
			} else if (c == '"' || c == '\'') {
				quote = c;
				continue;
			} else if (c == '(' || c == '[') {
				depth++;
			} else if (c == ')' || c == ']') {
				depth--;
			} else if ((c == ' ' || c == '\t') && depth <= 0) {
				break;
			}
			a->buf[out++] = c;
		}
		if (quote)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"unclosed quote in '%s'", line + start);
		if (depth > 0)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"unclosed bracket in '%s'", line + start);
		a->buf[out++] = '\0';
	}
	return STRAND_OK;
}
