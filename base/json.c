/* Streaming JSON writer: see include/strand/json.h. */
#include "strand/json.h"
#include "strand/escape.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

struct strand_json {
	FILE *out;
	bool pretty;
	int depth;                      /* 0 .. JSON_MAX_DEPTH */
	bool first[JSON_MAX_DEPTH + 1]; /* no element yet at this depth */
	bool after_name;                /* a name was written, value pending */
};

struct strand_json *strand_json_new(FILE *out, bool pretty)
{
	struct strand_json *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->out = out;
	j->pretty = pretty;
	j->first[0] = true;
	return j;
}

void strand_json_free(struct strand_json *j)
{
	if (!j)
		return;
	if (j->depth == 0 && !j->first[0])
		fputc('\n', j->out);
	free(j);
}

static void indent(struct strand_json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->out);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Separator before a value or a name. */
static void sep(struct strand_json *j)
{
	if (j->after_name) {
		j->after_name = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(j->depth == 0 ? '\n' : ',', j->out); /* top level: JSON Lines */
	j->first[j->depth] = false;
	if (j->depth > 0)
		indent(j);
}

static void open_(struct strand_json *j, char c)
{
	sep(j);
	fputc(c, j->out);
	if (j->depth < JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct strand_json *j, char c)
{
	bool empty = j->first[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (!empty)
		indent(j);
	fputc(c, j->out);
}

void strand_json_start_object(struct strand_json *j) { open_(j, '{'); }
void strand_json_end_object(struct strand_json *j) { close_(j, '}'); }
void strand_json_start_array(struct strand_json *j) { open_(j, '['); }
void strand_json_end_array(struct strand_json *j) { close_(j, ']'); }

/* A JSON string: valid UTF-8 passes unchanged (so the output is valid
 * UTF-8 and multibyte text stays readable); control characters and DEL
 * are \u escapes; a byte that does not start a valid UTF-8 sequence
 * becomes \u00XX (the code point of that byte value). */
static void put_escaped(FILE *out, const char *s, size_t len)
{
	fputc('"', out);
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		switch (c) {
		case '"': fputs("\\\"", out); i++; continue;
		case '\\': fputs("\\\\", out); i++; continue;
		case '\n': fputs("\\n", out); i++; continue;
		case '\r': fputs("\\r", out); i++; continue;
		case '\t': fputs("\\t", out); i++; continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		size_t k = strand_utf8_len(u + i, len - i);
		if (k == 0) {
			fprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		fwrite(u + i, 1, k, out);
		i += k;
	}
	fputc('"', out);
}

void strand_json_name(struct strand_json *j, const char *name)
{
	sep(j);
	put_escaped(j->out, name, strlen(name));
	fputs(j->pretty ? ": " : ":", j->out);
	j->after_name = true;
}

void strand_json_string_len(struct strand_json *j, const char *s, size_t len)
{
	sep(j);
	put_escaped(j->out, s, len);
}

void strand_json_string(struct strand_json *j, const char *s)
{
	if (!s) {
		strand_json_null(j);
		return;
	}
	strand_json_string_len(j, s, strlen(s));
}

void strand_json_stringf(struct strand_json *j, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	strand_json_string(j, buf);
}

void strand_json_uint(struct strand_json *j, uint64_t v)
{
	sep(j);
	fprintf(j->out, "%" PRIu64, v);
}

void strand_json_int(struct strand_json *j, int64_t v)
{
	sep(j);
	fprintf(j->out, "%" PRId64, v);
}

void strand_json_double(struct strand_json *j, double v)
{
	sep(j);
	fprintf(j->out, "%.6g", v);
}

void strand_json_bool(struct strand_json *j, bool v)
{
	sep(j);
	fputs(v ? "true" : "false", j->out);
}

void strand_json_null(struct strand_json *j)
{
	sep(j);
	fputs("null", j->out);
}

void strand_json_hex(struct strand_json *j, uint64_t v)
{
	sep(j);
	fprintf(j->out, "\"0x%" PRIx64 "\"", v);
}

void strand_json_string_field(struct strand_json *j, const char *n, const char *s)
{
	strand_json_name(j, n);
	strand_json_string(j, s);
}

void strand_json_uint_field(struct strand_json *j, const char *n, uint64_t v)
{
	strand_json_name(j, n);
	strand_json_uint(j, v);
}

void strand_json_int_field(struct strand_json *j, const char *n, int64_t v)
{
	strand_json_name(j, n);
	strand_json_int(j, v);
}

void strand_json_double_field(struct strand_json *j, const char *n, double v)
{
	strand_json_name(j, n);
	strand_json_double(j, v);
}

void strand_json_bool_field(struct strand_json *j, const char *n, bool v)
{
	strand_json_name(j, n);
	strand_json_bool(j, v);
}

void strand_json_hex_field(struct strand_json *j, const char *n, uint64_t v)
{
	strand_json_name(j, n);
	strand_json_hex(j, v);
}
