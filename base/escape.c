/* Escaping strings from a trace for their sink: see include/strand/escape.h. */
#include "strand/escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

size_t strand_utf8_len(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t k;
	uint32_t cp, min;
	if ((c & 0xe0) == 0xc0) {
		k = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		k = 3, cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		k = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

enum sink { SINK_TERM, SINK_HTML, SINK_MD };

/* A bounded output: writes whole pieces while they fit, counts what the
 * whole text needs. */
struct out {
	char *buf;
	size_t len;   /* bytes of buf, 0 = count only */
	size_t w;     /* bytes written to buf */
	size_t need;  /* bytes the whole escaped text needs */
	bool full;    /* a piece did not fit: write no more */
	FILE *f;
};

static void put(struct out *o, const char *s, size_t k)
{
	if (o->f) {
		fwrite(s, 1, k, o->f);
	} else if (o->len && !o->full) {
		if (o->w + k <= o->len - 1) {
			memcpy(o->buf + o->w, s, k);
			o->w += k;
		} else {
			o->full = true; /* never cut an escape or a character */
		}
	}
	o->need += k;
}

static void escape(struct out *o, const char *s, size_t slen, unsigned flags, enum sink sink)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < slen;) {
		unsigned c = u[i];
		size_t k = strand_utf8_len(u + i, slen - i);
		bool ctl = k == 0 || c < 0x20 || c == 0x7f ||
			   (k == 2 && c == 0xc2 && u[i + 1] < 0xa0); /* C1: U+0080..U+009F */
		if (ctl && (flags & STRAND_ESC_KEEP_NEWLINES) && (c == '\n' || c == '\t'))
			ctl = false;
		if (ctl) {
			/* a C1 control is two bytes: show both */
			size_t nb = k ? k : 1;
			for (size_t b = 0; b < nb; b++) {
				char e[4] = { '\\', 'x', hex[u[i + b] >> 4], hex[u[i + b] & 15] };
				put(o, e, 4);
			}
			i += nb;
			continue;
		}
		if (sink != SINK_TERM && k == 1) {
			const char *ent = NULL;
			switch (c) {
			case '&': ent = "&amp;"; break;
			case '<': ent = "&lt;"; break;
			case '>': ent = "&gt;"; break;
			case '"': ent = "&quot;"; break;
			case '\'': ent = "&#39;"; break;
			}
			if (ent) {
				put(o, ent, strlen(ent));
				i++;
				continue;
			}
			if (sink == SINK_MD && strchr("\\`*_{}[]()#+-!|~", (int)c)) {
				char e[2] = { '\\', (char)c };
				put(o, e, 2);
				i++;
				continue;
			}
		}
		put(o, s + i, k);
		i += k;
	}
}

static size_t to_buf(const char *s, size_t slen, unsigned flags, char *buf, size_t len,
		     enum sink sink)
{
	struct out o = { .buf = buf, .len = len };
	if (s)
		escape(&o, s, slen, flags, sink);
	if (len)
		buf[o.w] = 0;
	return o.need;
}

size_t strand_escape_term(const char *s, size_t slen, unsigned flags, char *buf, size_t len)
{
	return to_buf(s, slen, flags, buf, len, SINK_TERM);
}

size_t strand_escape_html(const char *s, size_t slen, unsigned flags, char *buf, size_t len)
{
	return to_buf(s, slen, flags, buf, len, SINK_HTML);
}

size_t strand_escape_md(const char *s, size_t slen, unsigned flags, char *buf, size_t len)
{
	return to_buf(s, slen, flags, buf, len, SINK_MD);
}

static void to_file(FILE *f, const char *s, size_t n, unsigned flags, enum sink sink)
{
	struct out o = { .f = f };
	if (s)
		escape(&o, s, n, flags, sink);
}

void strand_fputs_term(FILE *f, const char *s, unsigned flags)
{
	to_file(f, s, s ? strlen(s) : 0, flags, SINK_TERM);
}

void strand_fputs_html(FILE *f, const char *s, unsigned flags)
{
	to_file(f, s, s ? strlen(s) : 0, flags, SINK_HTML);
}

void strand_fputs_md(FILE *f, const char *s, unsigned flags)
{
	to_file(f, s, s ? strlen(s) : 0, flags, SINK_MD);
}

void strand_fwrite_term(FILE *f, const char *s, size_t n, unsigned flags)
{
	to_file(f, s, n, flags, SINK_TERM);
}
