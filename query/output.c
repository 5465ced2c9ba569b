/* The two renderings of a command's result: text and JSON, in memory. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "query/query_int.h"

strand_status qout_open(struct qout *o, strand_error *err)
{
	memset(o, 0, sizeof *o);
	o->txt = open_memstream(&o->tbuf, &o->tlen);
	o->jf = open_memstream(&o->jbuf, &o->jlen);
	o->j = o->jf ? strand_json_new(o->jf, false) : NULL;
	if (!o->txt || !o->jf || !o->j) {
		qout_discard(o);
		return strand_error_set(err, STRAND_ERR_NOMEM,
					"cannot allocate command output");
	}
	return STRAND_OK;
}

void qout_close(struct qout *o)
{
	if (o->j) {
		strand_json_free(o->j); /* final newline at depth 0 */
		o->j = NULL;
	}
	if (o->jf) {
		fclose(o->jf);
		o->jf = NULL;
	}
	if (o->txt) {
		fclose(o->txt);
		o->txt = NULL;
	}
}

void qout_discard(struct qout *o)
{
	qout_close(o);
	free(o->tbuf);
	free(o->jbuf);
	o->tbuf = o->jbuf = NULL;
	o->tlen = o->jlen = 0;
}

void qtext(struct qout *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(o->txt, fmt, ap);
	va_end(ap);
}

void qout_hexdump(struct qout *o, uint64_t addr, const uint8_t *buf,
		  const uint8_t *valid, size_t len)
{
	for (size_t off = 0; off < len; off += 16) {
		qtext(o, "%08" PRIx64 " ", addr + off);
		for (size_t k = 0; k < 16; k++) {
			if (off + k >= len)
				qtext(o, "   ");
			else if (valid && !valid[off + k])
				qtext(o, " ??");
			else
				qtext(o, " %02x", buf[off + k]);
			if (k == 7)
				qtext(o, " ");
		}
		qtext(o, "  ");
		for (size_t k = 0; k < 16 && off + k < len; k++) {
			uint8_t c = buf[off + k];
			bool ok = !valid || valid[off + k];
			qtext(o, "%c", ok && isprint(c) ? c : '.');
		}
		qtext(o, "\n");
	}
}
