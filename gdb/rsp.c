/* GDB Remote Serial Protocol framing (gdb/rsp.h has the wire format). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gdb/rsp.h"

enum { ST_OUT, ST_PAYLOAD, ST_ESCAPE, ST_RLE, ST_CS1, ST_CS2 };
enum { FILL_NONE = 0, FILL_OK = 1, FILL_EOF = 2 };

void gdb_rsp_parser_init(struct gdb_rsp_parser *p)
{
	p->state = ST_OUT;
	p->sum = 0;
	p->want = 0;
	p->overflow = false;
	p->len = 0;
	p->pkt[0] = '\0';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put(struct gdb_rsp_parser *p, uint8_t b)
{
	if (p->len >= GDB_RSP_MAX) {
		p->overflow = true;
		return;
	}
	p->pkt[p->len++] = (char)b;
}

enum gdb_rsp_event gdb_rsp_feed(struct gdb_rsp_parser *p, uint8_t b)
{
	switch (p->state) {
	case ST_OUT:
		if (b == '$') {
			p->state = ST_PAYLOAD;
			p->sum = 0;
			p->len = 0;
			p->overflow = false;
			return GDB_RSP_EV_NONE;
		}
		if (b == '+')
			return GDB_RSP_EV_ACK;
		if (b == '-')
			return GDB_RSP_EV_NACK;
		if (b == 0x03)
			return GDB_RSP_EV_INTERRUPT;
		return GDB_RSP_EV_NONE; /* noise between packets */
	case ST_PAYLOAD:
		if (b == '#') {
			p->state = ST_CS1;
			return GDB_RSP_EV_NONE;
		}
		if (b == '$') { /* a new packet starts: the old one was cut */
			p->sum = 0;
			p->len = 0;
			p->overflow = false;
			return GDB_RSP_EV_NONE;
		}
		p->sum += b;
		if (b == '}') {
			p->state = ST_ESCAPE;
		} else if (b == '*' && p->len > 0) {
			p->state = ST_RLE; /* run-length count next */
		} else {
			put(p, b);
		}
		return GDB_RSP_EV_NONE;
	case ST_ESCAPE:
		p->sum += b;
		put(p, b ^ 0x20);
		p->state = ST_PAYLOAD;
		return GDB_RSP_EV_NONE;
	case ST_RLE: { /* run-length: repeat the last byte b - 29 times */
		p->sum += b;
		p->state = ST_PAYLOAD;
		if (b < 29 + 3 || b > 126) { /* not a valid count: keep literally */
			put(p, '*');
			put(p, b);
			return GDB_RSP_EV_NONE;
		}
		uint8_t last = (uint8_t)p->pkt[p->len - 1];
		for (int k = 0; k < b - 29; k++)
			put(p, last);
		return GDB_RSP_EV_NONE;
	}
	case ST_CS1: {
		int v = hexval(b);
		p->want = (uint8_t)((v < 0 ? 0 : v) << 4);
		p->state = v < 0 ? ST_OUT : ST_CS2;
		if (v < 0)
			return GDB_RSP_EV_BADSUM;
		return GDB_RSP_EV_NONE;
	}
	case ST_CS2: {
		int v = hexval(b);
		p->state = ST_OUT;
		if (v < 0 || (uint8_t)(p->want | v) != p->sum)
			return GDB_RSP_EV_BADSUM;
		if (p->overflow)
			return GDB_RSP_EV_OVERFLOW;
		p->pkt[p->len] = '\0';
		return GDB_RSP_EV_PACKET;
	}
	}
	p->state = ST_OUT;
	return GDB_RSP_EV_NONE;
}

uint8_t gdb_rsp_checksum(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s += b[i];
	return s;
}

static bool needs_escape(uint8_t b)
{
	return b == '$' || b == '#' || b == '}' || b == '*';
}

size_t gdb_rsp_frame(const void *payload, size_t len, bool rle, char *out, size_t cap)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *b = payload;
	size_t o = 0;
	if (cap < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < len;) {
		size_t run = 1;
		if (rle && !needs_escape(b[i]))
			while (i + run < len && b[i + run] == b[i] && run < 98)
				run++;
		/* repeats after the first: 3..97, never 6 or 7 (# and $) */
		size_t rep = run - 1;
		if (rep == 6 || rep == 7)
			rep = 5;
		if (rep >= 3) {
			if (o + 3 > cap - 3)
				return 0;
			out[o++] = (char)b[i];
			out[o++] = '*';
			out[o++] = (char)(rep + 29);
			i += rep + 1;
			continue;
		}
		if (o + 2 > cap - 3)
			return 0;
		if (needs_escape(b[i])) {
			out[o++] = '}';
			out[o++] = (char)(b[i] ^ 0x20);
		} else {
			out[o++] = (char)b[i];
		}
		i++;
	}
	uint8_t s = gdb_rsp_checksum(out + 1, o - 1);
	out[o++] = '#';
	out[o++] = hx[s >> 4];
	out[o++] = hx[s & 15];
	return o;
}

void gdb_rsp_hex(const void *buf, size_t len, char *out)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *b = buf;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * len] = '\0';
}

long gdb_rsp_unhex(const char *hex, size_t hexlen, void *out, size_t max)
{
	if (hexlen % 2)
		return -1;
	uint8_t *o = out;
	size_t n = hexlen / 2;
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)hex[2 * i]), lo = hexval((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		o[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)n;
}

bool gdb_rsp_parse_hex(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;
	int n = 0;
	for (int d; (d = hexval((unsigned char)*p)) >= 0; p++, n++) {
		if (n == 16)
			return false;
		x = x << 4 | (uint64_t)d;
	}
	if (n == 0)
		return false;
	*s = p;
	*v = x;
	return true;
}

/* ===================================================================== */
/* Connection                                                             */
/* ===================================================================== */

strand_status gdb_rsp_conn_init(struct gdb_rsp_conn *c, int in_fd, int out_fd,
				strand_error *err)
{
	memset(c, 0, sizeof *c);
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	gdb_rsp_parser_init(&c->p);
	c->out_cap = 2 * GDB_RSP_MAX + 8;
	c->out = malloc(c->out_cap);
	if (!c->out)
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate packet buffer");
	return STRAND_OK;
}

void gdb_rsp_conn_fini(struct gdb_rsp_conn *c)
{
	if (!c)
		return;
	free(c->out);
	c->out = NULL;
}

/* Read more bytes; `wait`: block.  FILL_OK, FILL_NONE (not waiting),
 * FILL_EOF, or < 0 on error. */
static int fill(struct gdb_rsp_conn *c, bool wait, strand_error *err)
{
	if (c->in_pos < c->in_len)
		return FILL_OK;
	if (!wait) {
		struct pollfd pf = { .fd = c->in_fd, .events = POLLIN };
		if (poll(&pf, 1, 0) <= 0)
			return FILL_NONE;
	}
	ssize_t n;
	do
		n = read(c->in_fd, c->in, sizeof c->in);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return FILL_EOF;
	if (n < 0)
		return strand_error_set(err, STRAND_ERR_IO, "gdb connection: read: %s",
					strerror(errno));
	c->in_len = (size_t)n;
	c->in_pos = 0;
	return FILL_OK;
}

static strand_status write_all(struct gdb_rsp_conn *c, const void *buf, size_t len,
			       strand_error *err)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(c->out_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				return STRAND_END;
			return strand_error_set(err, STRAND_ERR_IO, "gdb connection: write: %s",
						strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return STRAND_OK;
}

strand_status gdb_rsp_read(struct gdb_rsp_conn *c, const char **pkt, size_t *len,
			   strand_error *err)
{
	if (c->interrupt) {
		c->interrupt = false;
		return STRAND_STOPPED;
	}
	for (;;) {
		int f = fill(c, true, err);
		if (f < 0)
			return f;
		if (f != FILL_OK)
			return STRAND_END;
		enum gdb_rsp_event ev = gdb_rsp_feed(&c->p, c->in[c->in_pos++]);
		switch (ev) {
		case GDB_RSP_EV_PACKET:
			if (!c->no_ack) {
				strand_status st = write_all(c, "+", 1, err);
				if (st != STRAND_OK)
					return st;
			}
			if (c->trace)
				fprintf(stderr, "gdb> %.*s\n", (int)(c->p.len > 200 ? 200 : c->p.len),
					c->p.pkt);
			*pkt = c->p.pkt;
			*len = c->p.len;
			return STRAND_OK;
		case GDB_RSP_EV_BADSUM:
		case GDB_RSP_EV_OVERFLOW:
			if (!c->no_ack) {
				strand_status st = write_all(c, "-", 1, err);
				if (st != STRAND_OK)
					return st;
			}
			if (c->trace)
				fprintf(stderr, "gdb> (%s packet dropped)\n",
					ev == GDB_RSP_EV_BADSUM ? "corrupt" : "oversized");
			break;
		case GDB_RSP_EV_INTERRUPT:
			return STRAND_STOPPED;
		default:
			break;
		}
	}
}

strand_status gdb_rsp_send(struct gdb_rsp_conn *c, const void *payload, size_t len,
			   strand_error *err)
{
	size_t n = gdb_rsp_frame(payload, len, true, c->out, c->out_cap);
	if (n == 0)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"gdb reply too long (%zu bytes)", len);
	if (c->trace)
		fprintf(stderr, "gdb< %.*s\n", (int)(len > 200 ? 200 : len), (const char *)payload);
	for (int attempt = 0; attempt < 8; attempt++) {
		strand_status st = write_all(c, c->out, n, err);
		if (st != STRAND_OK || c->no_ack)
			return st;
		/* wait for the ack; a packet or interrupt meanwhile is kept */
		for (;;) {
			int f = fill(c, true, err);
			if (f < 0)
				return f;
			if (f != FILL_OK)
				return STRAND_END;
			uint8_t b = c->in[c->in_pos];
			if (c->p.state == ST_OUT && (b == '+' || b == '-')) {
				c->in_pos++;
				if (b == '+')
					return STRAND_OK;
				break; /* resend */
			}
			if (c->p.state == ST_OUT && b == 0x03) {
				c->in_pos++;
				c->interrupt = true;
				continue;
			}
			/* gdb sent a packet instead of an ack: take it as acked */
			return STRAND_OK;
		}
	}
	return strand_error_set(err, STRAND_ERR_IO, "gdb keeps rejecting a reply");
}

strand_status gdb_rsp_send_str(struct gdb_rsp_conn *c, const char *s, strand_error *err)
{
	return gdb_rsp_send(c, s, strlen(s), err);
}

bool gdb_rsp_poll_interrupt(struct gdb_rsp_conn *c)
{
	if (c->interrupt)
		return true;
	/* only look at bytes between packets: 0x03 is the only thing gdb
	 * sends while the target runs */
	while (c->p.state == ST_OUT) {
		if (c->in_pos >= c->in_len && fill(c, false, NULL) != FILL_OK)
			break;
		if (c->in_pos >= c->in_len)
			break;
		uint8_t b = c->in[c->in_pos];
		if (b == 0x03) {
			c->in_pos++;
			c->interrupt = true;
			return true;
		}
		if (b == '+' || b == '-') {
			c->in_pos++;
			continue;
		}
		break; /* a packet: leave it for gdb_rsp_read */
	}
	return c->interrupt;
}
