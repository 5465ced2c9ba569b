/*
 * gdb and WinDbg/TTD spellings of the query language's commands
 * (docs/query.md, "gdb and WinDbg habits").  Each rule looks at the first
 * word and rewrites the line into the command it means; the rest of the
 * line is kept.  Where a letter means different things to the two
 * debuggers the WinDbg meaning wins (the short forms are WinDbg's): `p`
 * steps over; gdb's print is `print`, `p/x EXPR` or `?`.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query_int.h"

/* first word -> command (the arguments follow unchanged) */
static const struct { const char *from, *to; } renames[] = {
	/* gdb */
	{ "si", "step" }, { "stepi", "step" }, { "ni", "next" }, { "nexti", "next" },
	{ "n", "next" }, { "rsi", "back" }, { "reverse-stepi", "back" },
	{ "rs", "back" }, { "reverse-step", "back" }, { "rni", "prev" },
	{ "reverse-nexti", "prev" }, { "rn", "prev" }, { "reverse-next", "prev" },
	{ "c", "continue" }, { "cont", "continue" }, { "rc", "rcontinue" },
	{ "reverse-continue", "rcontinue" }, { "fin", "finish" },
	{ "reverse-finish", "rfinish" }, { "when", "pos" }, { "b", "break" },
	{ "d", "delete" },
	/* WinDbg / TTD */
	{ "t-", "back" }, { "p-", "prev" }, { "g-", "rcontinue" }, { "gu-", "rfinish" },
	{ "bd", "disable" }, { "be", "enable" },
};

/* The first word of line into w (NUL-terminated), *rest past it and
 * the blanks after it. */
static void first_word(const char *line, char *w, size_t cap, const char **rest)
{
	while (*line == ' ' || *line == '\t')
		line++;
	size_t k = 0;
	while (*line && *line != ' ' && *line != '\t' && k + 1 < cap)
		w[k++] = *line++;
	w[k] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	*rest = line;
}

static bool emit(char *out, size_t cap, const char *fmt, const char *a, const char *b,
		 const char *c)
{
	snprintf(out, cap, fmt, a, b ? b : "", c ? c : "");
	return true;
}

/* gdb x/FMT: [count][size letters b h w g][format x d u o s i] */
static bool expand_x(const char *fmt, const char *rest, char *out, size_t cap)
{
	unsigned long count = 1;
	char size = 'w', form = 'x';
	const char *p = fmt;
	if (isdigit((unsigned char)*p))
		count = strtoul(p, (char **)&p, 10);
	for (; *p; p++) {
		if (strchr("bhwg", *p))
			size = *p;
		else if (strchr("xduots", *p) || *p == 'i')
			form = *p;
		else
			return false;
	}
	char n[32];
	snprintf(n, sizeof n, "%lu", count ? count : 1);
	if (form == 'i')
		return emit(out, cap, "disas %s %s%s", rest, n, NULL);
	if (form == 's')
		return emit(out, cap, "mem str %s%s%s", rest, NULL, NULL);
	const char *type = size == 'b' ? "u8" : size == 'h' ? "u16" : size == 'g' ? "u64" : "u32";
	return emit(out, cap, "mem %s %s %s", type, rest, n);
}

/* WinDbg d*: "dd ADDR [L COUNT]" */
static bool expand_d(const char *type, const char *rest, char *out, size_t cap)
{
	char addr[512];
	snprintf(addr, sizeof addr, "%s", rest);
	const char *count = NULL;
	/* a trailing " L N" / " LN" (WinDbg's length): the last " L" */
	char *l = NULL;
	for (char *s = addr; *s; s++)
		if (s[0] == ' ' && (s[1] == 'L' || s[1] == 'l') &&
		    (s[2] == ' ' || isdigit((unsigned char)s[2])))
			l = s;
	if (l) {
		*l = '\0';
		count = l + 2;
		while (*count == ' ')
			count++;
	}
	if (!addr[0])
		return false;
	if (!type)
		return emit(out, cap, "mem %s %s%s", addr, count ? count : "", NULL);
	return emit(out, cap, "mem %s %s %s", type, addr, count ? count : "");
}

bool qalias_expand(const char *line, char *out, size_t cap)
{
	char w[64];
	const char *rest;
	first_word(line, w, sizeof w, &rest);
	snprintf(out, cap, "%s", line);
	if (!w[0])
		return false;
	for (size_t i = 0; i < sizeof renames / sizeof renames[0]; i++)
		if (!strcmp(w, renames[i].from))
			return emit(out, cap, "%s%s%s", renames[i].to, rest[0] ? " " : "", rest);
	if (!strncmp(w, "x/", 2) && rest[0])
		return expand_x(w + 2, rest, out, cap);
	if (!strcmp(w, "x") && rest[0])
		return emit(out, cap, "mem u32 %s%s%s", rest, NULL, NULL);
	if ((!strncmp(w, "p/", 2) || !strncmp(w, "print/", 6)) && rest[0])
		return emit(out, cap, "print %s%s%s", rest, NULL, NULL);
	if (!strcmp(w, "r") && rest[0]) /* WinDbg "r eax": one register */
		return emit(out, cap, "reg %s%s%s", rest, NULL, NULL);
	if (!strcmp(w, "dd") && rest[0])
		return expand_d("u32", rest, out, cap);
	if (!strcmp(w, "dq") && rest[0])
		return expand_d("u64", rest, out, cap);
	if (!strcmp(w, "dw") && rest[0])
		return expand_d("u16", rest, out, cap);
	if (!strcmp(w, "dp") && rest[0])
		return expand_d("ptr", rest, out, cap);
	if (!strcmp(w, "du") && rest[0])
		return expand_d("wstr", rest, out, cap);
	if (!strcmp(w, "da") && rest[0])
		return expand_d("str", rest, out, cap);
	if (!strcmp(w, "db") && rest[0] && (strstr(rest, " L") || strstr(rest, " l")))
		return expand_d(NULL, rest, out, cap);
	if (!strcmp(w, "ba") && rest[0]) {
		/* WinDbg "ba w4 ADDR": access letter and size in one word */
		char acc[64];
		const char *addr;
		first_word(rest, acc, sizeof acc, &addr);
		if (strlen(acc) == 2 && strchr("rwe", acc[0]) && strchr("1248", acc[1]) &&
		    addr[0]) {
			if (acc[0] == 'e')
				return emit(out, cap, "break %s%s%s", addr, NULL, NULL);
			char len[2] = { acc[1], 0 };
			/* WinDbg's r is read or write */
			return emit(out, cap, acc[0] == 'r' ? "watch rw %s %s%s" : "watch w %s %s%s",
				    addr, len, NULL);
		}
		return false;
	}
	if (!strcmp(w, "!tt") && rest[0]) {
		/* TTD: 0..100 is a percentage of the trace, else a position */
		char *end;
		unsigned long v = strtoul(rest, &end, 10);
		if (*end == '\0' && isdigit((unsigned char)rest[0]) && v <= 100)
			return emit(out, cap, "seek %s%%%s%s", rest, NULL, NULL);
		return emit(out, cap, "seek %s%s%s", rest, NULL, NULL);
	}
	if (!strcmp(w, "info") && rest[0]) {
		char sub[64];
		const char *args;
		first_word(rest, sub, sizeof sub, &args);
		if (!strcmp(sub, "reg") || !strcmp(sub, "registers") || !strcmp(sub, "r"))
			return args[0] ? emit(out, cap, "reg %s%s%s", args, NULL, NULL)
				       : emit(out, cap, "regs%s%s%s", "", NULL, NULL);
		if (!strcmp(sub, "break") || !strcmp(sub, "breakpoints") || !strcmp(sub, "b") ||
		    !strcmp(sub, "watchpoints"))
			return emit(out, cap, "list%s%s%s", "", NULL, NULL);
		if (!strcmp(sub, "threads"))
			return emit(out, cap, "threads%s%s%s", "", NULL, NULL);
		if (!strcmp(sub, "sharedlibrary") || !strcmp(sub, "shared") ||
		    !strcmp(sub, "modules"))
			return emit(out, cap, "modules%s%s%s", "", NULL, NULL);
		if (!strcmp(sub, "symbol") && args[0])
			return emit(out, cap, "sym %s%s%s", args, NULL, NULL);
		return false;
	}
	return false;
}
