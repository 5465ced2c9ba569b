/*
 * A small streaming JSON writer (bpftool's json_writer in spirit): it
 * tracks nesting and commas so printers only say what they emit.
 *
 *   struct strand_json *j = strand_json_new(stdout, false);
 *   strand_json_start_object(j);
 *   strand_json_uint_field(j, "instructions", n);
 *   strand_json_end_object(j);
 *   strand_json_free(j);   // prints a final newline at depth 0
 */
#ifndef STRAND_JSON_H
#define STRAND_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct strand_json;

/* Writer on `out` (not closed by strand_json_free).  pretty: indent.
 * Returns NULL on allocation failure.  Owned: strand_json_free. */
struct strand_json *strand_json_new(FILE *out, bool pretty);
void strand_json_free(struct strand_json *j); /* j may be NULL */

void strand_json_start_object(struct strand_json *j);
void strand_json_end_object(struct strand_json *j);
void strand_json_start_array(struct strand_json *j);
void strand_json_end_array(struct strand_json *j);
/* Key of the next value inside an object. */
void strand_json_name(struct strand_json *j, const char *name);

void strand_json_string(struct strand_json *j, const char *s); /* NULL -> null */
/* String from len bytes, escaped: valid UTF-8 passes unchanged, control
 * characters become \u00XX, and so does each byte that is not valid
 * UTF-8 (the output is always valid UTF-8 JSON). */
void strand_json_string_len(struct strand_json *j, const char *s, size_t len);
void strand_json_stringf(struct strand_json *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strand_json_uint(struct strand_json *j, uint64_t v);
void strand_json_int(struct strand_json *j, int64_t v);
void strand_json_double(struct strand_json *j, double v);
void strand_json_bool(struct strand_json *j, bool v);
void strand_json_null(struct strand_json *j);
/* "0x1f" as a string: addresses and statuses are hex strings in strand's
 * JSON so that 64-bit values survive JavaScript readers. */
void strand_json_hex(struct strand_json *j, uint64_t v);

/* name + value shorthands */
void strand_json_string_field(struct strand_json *j, const char *name, const char *s);
void strand_json_uint_field(struct strand_json *j, const char *name, uint64_t v);
void strand_json_int_field(struct strand_json *j, const char *name, int64_t v);
void strand_json_double_field(struct strand_json *j, const char *name, double v);
void strand_json_bool_field(struct strand_json *j, const char *name, bool v);
void strand_json_hex_field(struct strand_json *j, const char *name, uint64_t v);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_JSON_H */
