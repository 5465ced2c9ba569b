/* Reading a symptom out of text a process wrote: how strongly a line reads
 * as a diagnostic, which status message it carries, which number in it is
 * the reported code.  Decided by the form of the line and by the
 * knowledge tables' status messages, never by a list of English words. */
#include "analyses/symptom.h"

#include "strand/knowledge.h"

#include <string.h>
#include <strings.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_hexd(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static bool is_word(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool find_ci(const char *t, uint32_t len, const char *needle, uint32_t *at)
{
	size_t n = strlen(needle);
	if (!n || n > len)
		return false;
	for (uint32_t i = 0; i + n <= len; i++)
		if (!strncasecmp(t + i, needle, n) && (i == 0 || !is_word(t[i - 1])) &&
		    (i + n == len || !is_word(t[i + n]))) {
			*at = i;
			return true;
		}
	return false;
}

bool sym_find_message(strand_abi abi, const char *t, uint32_t len, struct sym_message *out)
{
	memset(out, 0, sizeof *out);
	if (abi == STRAND_ABI_LINUX) {
		for (uint32_t e = 1; e < 256; e++) {
			const struct strand_code *c = strand_errno_lookup(e);
			uint32_t at;
			if (!c || !c->message || strlen(c->message) < 6)
				continue;
			/* messages are stored as sentences; strerror has no period */
			char m[160];
			size_t ml = strlen(c->message);
			if (ml >= sizeof m)
				continue;
			memcpy(m, c->message, ml + 1);
			if (ml && m[ml - 1] == '.')
				m[--ml] = 0;
			if (!find_ci(t, len, m, &at) || (out->found && ml <= out->len))
				continue;
			*out = (struct sym_message){ true, STRAND_CODE_ERRNO, e, c->name, at, (uint32_t)ml };
		}
	}
	return out->found;
}

/* Is the number token t[a..b) a position rather than a code? */
static bool is_position(const char *t, uint32_t len, uint32_t a, uint32_t b)
{
	(void)len;
	/* "file.c:12", "x:12:5": a number glued after ':' to a word */
	if (a >= 2 && t[a - 1] == ':' && is_word(t[a - 2]))
		return true;
	/* "@ 459", "@459", "line 12", "#3" */
	uint32_t p = a;
	while (p > 0 && t[p - 1] == ' ')
		p--;
	if (p > 0 && (t[p - 1] == '@' || t[p - 1] == '#'))
		return true;
	if (p >= 4 && !strncasecmp(t + p - 4, "line", 4) && (p == 4 || !is_word(t[p - 5])))
		return true;
	/* "12:" followed by more digits (time, column) */
	if (b + 1 < len && t[b] == ':' && is_digit(t[b + 1]))
		return true;
	return false;
}

/* The code tokens of t: the best-ranked one, or with `want` the first one
 * whose value is *want. */
static bool parse_code(const char *t, uint32_t len, const uint64_t *want, struct sym_code *out)
{
	memset(out, 0, sizeof *out);
	int best_rank = 0;
	bool quoted = false;
	char q = 0;
	for (uint32_t i = 0; i < len;) {
		char c = t[i];
		if (!quoted && (c == '\'' || c == '"' || c == '`') && (i == 0 || !is_word(t[i - 1]))) {
			quoted = true;
			q = c == '`' ? '\'' : c;
			i++;
			continue;
		}
		if (quoted) {
			if (c == q)
				quoted = false;
			i++;
			continue;
		}
		if (!is_word(c)) {
			i++;
			continue;
		}
		uint32_t j = i;
		while (j < len && is_word(t[j]))
			j++;
		/* the token t[i..j) */
		bool glued = (i > 0 && (t[i - 1] == '.' || t[i - 1] == '-' || t[i - 1] == '/')) ||
			     (j < len && t[j] == '.' && j + 1 < len && is_word(t[j + 1]));
		uint32_t a = i;
		bool prefix0x = j - i > 2 && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'X');
		if (prefix0x)
			a = i + 2;
		bool alldec = true, allhex = true, anyalpha = false;
		for (uint32_t k = a; k < j; k++) {
			alldec = alldec && is_digit(t[k]);
			allhex = allhex && is_hexd(t[k]);
			anyalpha = anyalpha || !is_digit(t[k]);
		}
		int rank = 0;
		unsigned base = 10;
		if (prefix0x && allhex) {
			rank = 5;
			base = 16;
		} else if (allhex && j - a == 8 && (anyalpha || t[a] == '8' || t[a] == 'C' || t[a] == 'c')) {
			rank = 4; /* HRESULT / NTSTATUS shaped: 80070002, C000000E */
			base = 16;
		} else if (alldec && !glued && !is_position(t, len, i, j)) {
			uint32_t p = i;
			while (p > 0 && t[p - 1] == ' ')
				p--;
			if (p > 0 && t[p - 1] == '=')
				rank = 3;
			else if (j < len && (t[j] == ']' || (t[j] == ')' && p > 0 && t[p - 1] == '(')))
				rank = 3; /* "[Errno 2]", "(7)" */
			else
				rank = 1;
			/* a negative number: "-2" */
			if (p > 0 && t[p - 1] == '-' && (p == 1 || !is_word(t[p - 2])))
				rank = rank < 2 ? 2 : rank;
		}
		if (rank && (want || rank >= best_rank)) {
			uint64_t v = 0;
			for (uint32_t k = a; k < j && k < a + 16; k++)
				v = base == 16 ? v * 16 + (uint64_t)(is_digit(t[k]) ? t[k] - '0'
						       : (t[k] | 0x20) - 'a' + 10)
					       : v * 10 + (uint64_t)(t[k] - '0');
			if (!want || v == *want) {
				*out = (struct sym_code){ true, v, base, a, j - a, false };
				best_rank = rank;
				if (want)
					return true;
			}
		}
		i = j;
	}
	return out->found;
}

bool sym_parse_code(const char *t, uint32_t len, struct sym_code *out)
{
	return parse_code(t, len, NULL, out);
}

bool sym_find_code_value(const char *t, uint32_t len, uint64_t value, struct sym_code *out)
{
	return parse_code(t, len, &value, out);
}

/* "PROG: ...", "WORD: ..." at the start, or "...: WORD: " with a lower-case
 * word (gcc's "file.c:1:2: error: "): the shape of a diagnostic line. */
static bool diagnostic_prefix(const char *t, uint32_t len, const char *prog)
{
	uint32_t i = 0;
	while (i < len && t[i] == ' ')
		i++;
	if (prog && prog[0]) {
		size_t n = strlen(prog);
		if (len - i > n && !strncmp(t + i, prog, n) && t[i + n] == ':')
			return true;
	}
	/* a first word of letters followed by ": " */
	uint32_t j = i;
	while (j < len && ((t[j] >= 'a' && t[j] <= 'z') || (t[j] >= 'A' && t[j] <= 'Z') ||
			   t[j] == '-' || t[j] == '_' || t[j] == '.'))
		j++;
	if (j > i && j + 1 < len && t[j] == ':' && t[j + 1] == ' ')
		return true;
	/* a location then a lower-case word: "x.c:3:1: error: " */
	for (uint32_t k = 0; k + 2 < len; k++) {
		if (t[k] != ':' || t[k + 1] != ' ')
			continue;
		uint32_t w = k + 2, e = w;
		while (e < len && t[e] >= 'a' && t[e] <= 'z')
			e++;
		if (e > w && e + 1 < len && t[e] == ':' && t[e + 1] == ' ' && k > 0 && is_digit(t[k - 1]))
			return true;
	}
	return false;
}

enum sym_score sym_line_score(strand_abi abi, const char *t, uint32_t len, unsigned stream,
			      const char *prog, struct sym_message *msg, struct sym_code *code)
{
	struct sym_message m;
	struct sym_code c;
	bool has_msg = sym_find_message(abi, t, len, &m);
	bool has_code = sym_parse_code(t, len, &c);
	if (msg)
		*msg = m;
	if (code)
		*code = c;
	/* a failure-shaped code: hex that decodes as a failure status */
	bool fail_code = has_code && c.base == 16 &&
			 ((c.value & 0x80000000u) || strand_ntstatus_lookup((uint32_t)c.value));
	if (has_msg)
		return SYM_MESSAGE;
	if (fail_code)
		return SYM_CODE;
	if (stream == 3)
		return SYM_NONE; /* a debug log says many things; only failure codes count */
	if (diagnostic_prefix(t, len, prog))
		return SYM_PREFIX;
	if (stream != 2)
		return SYM_NONE;
	for (uint32_t i = 0; i < len; i++)
		if (t[i] != ' ' && t[i] != '\t')
			return SYM_TEXT;
	return SYM_NONE;
}

/* A line being assembled. */
struct open_line {
	unsigned stream;
	uint32_t tid;
	char text[512];
	uint32_t len;
	uint32_t first_piece, npieces;
	/* where each byte of text came from (piece, offset), for the flow */
	uint32_t from_piece[512];
	uint16_t from_off[512];
	uint32_t last;   /* piece index + 1 of the last byte appended, 0 = none */
	bool usable;
};

static void consider(strand_abi abi, const char *prog, const struct open_line *l,
		     uint32_t last_piece, const uint64_t *tie, struct sym_choice *best)
{
	uint32_t len = l->len;
	while (len && (l->text[len - 1] == '\r' || l->text[len - 1] == ' '))
		len--;
	if (!len || !l->usable)
		return;
	struct sym_message m;
	struct sym_code c;
	enum sym_score sc = sym_line_score(abi, l->text, len, l->stream, prog, &m, &c);
	if (sc == SYM_NONE)
		return;
	/* a number of the line that equals the exit status is the code the
	 * program reported, whatever else the line counts ("(7) ... after 10
	 * ms"); 0 and 1 are no evidence (success, the generic failure) */
	struct sym_code tc;
	if (tie && *tie > 1 && sym_find_code_value(l->text, len, *tie, &tc)) {
		tc.tied = true;
		c = tc;
	}
	if (best->found && sc < best->score) {
		best->continued = true;
		return;
	}
	memset(best, 0, sizeof *best);
	best->found = true;
	best->score = sc;
	memcpy(best->text, l->text, len);
	best->text[len] = 0;
	best->len = len;
	best->first_piece = l->first_piece;
	best->last_piece = last_piece;
	best->npieces = l->npieces;
	best->code = c;
	best->msg = m;
	/* what to follow: the code's bytes, else the status message, else
	 * the whole last write of the line */
	uint32_t a, b;
	if (c.found && (sc == SYM_CODE || !m.found)) {
		a = c.off;
		b = c.off + c.len;
	} else if (m.found) {
		a = m.off;
		b = m.off + m.len;
	} else {
		b = len;
		a = len - 1;
		while (a > 0 && l->from_piece[a - 1] == l->from_piece[len - 1])
			a--;
	}
	/* restrict to one write (the one holding the first byte) */
	uint32_t piece = l->from_piece[a];
	uint32_t e = a;
	while (e < b && l->from_piece[e] == piece)
		e++;
	best->flow_piece = piece;
	best->flow_off = l->from_off[a];
	best->flow_len = e - a;
}

bool sym_choose(strand_abi abi, const char *prog, const struct sym_piece *p, uint32_t n,
		struct sym_choice *out)
{
	return sym_choose_tied(abi, prog, p, n, NULL, out);
}

bool sym_choose_tied(strand_abi abi, const char *prog, const struct sym_piece *p, uint32_t n,
		     const uint64_t *exit_status, struct sym_choice *out)
{
	memset(out, 0, sizeof *out);
	struct open_line lines[4];
	uint32_t nl = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (p[i].stream != 2 && p[i].stream != 3)
			continue;
		struct open_line *l = NULL;
		for (uint32_t k = 0; k < nl; k++)
			if (lines[k].stream == p[i].stream && lines[k].tid == p[i].tid)
				l = &lines[k];
		if (!l) {
			if (nl == sizeof lines / sizeof lines[0])
				continue;
			l = &lines[nl++];
			memset(l, 0, sizeof *l);
			l->stream = p[i].stream;
			l->tid = p[i].tid;
			l->usable = true;
		}
		for (uint32_t j = 0; j < p[i].len && j < 65535; j++) {
			char ch = p[i].data[j];
			if (!l->len && !l->npieces)
				l->first_piece = i;
			if (l->last != i + 1) {
				l->npieces++;
				l->last = i + 1;
			}
			if (ch == '\n') {
				consider(abi, prog, l, i, exit_status, out);
				l->len = 0;
				l->npieces = 0;
				l->last = 0;
				l->usable = true;
				continue;
			}
			if (!p[i].usable)
				l->usable = false;
			if (l->len < sizeof l->text - 1) {
				l->from_piece[l->len] = i;
				l->from_off[l->len] = (uint16_t)j;
				l->text[l->len++] = ch;
			}
		}
	}
	for (uint32_t k = 0; k < nl; k++)
		if (lines[k].len)
			consider(abi, prog, &lines[k], lines[k].from_piece[lines[k].len - 1], exit_status, out);
	return out->found;
}
