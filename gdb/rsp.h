/*
 * GDB Remote Serial Protocol: framing and parsing, apart from what the
 * requests mean (gdb/server.c answers them against a replay).
 *
 * Wire format (GDB manual, "Remote Protocol", "Overview"):
 *
 *   $<payload>#<cc>     a packet; cc = two lower-case hex digits, the sum
 *                       of the payload bytes (as sent) modulo 256
 *   +  -                acknowledgement: received / please resend (until
 *                       QStartNoAckMode is accepted, then neither side acks)
 *   0x03                interrupt ("Ctrl-C"), outside any packet
 *
 * Inside a payload:
 *   }X                  escape: the byte X ^ 0x20 (for $ # } *, and any
 *                       byte of binary data)
 *   X*N                 run-length: X repeated N-29 more times (N is one
 *                       printable character, never # or $, so 3..97 more)
 *
 * The parser is a byte-at-a-time state machine with no I/O, so tests can
 * feed it any byte sequence; gdb_rsp_conn adds the file descriptors.
 * Untrusted input: a payload longer than GDB_RSP_MAX bytes (decoded) is
 * dropped and reported as GDB_RSP_EV_OVERFLOW; a bad checksum is
 * GDB_RSP_EV_BADSUM (the connection answers '-').
 */
#ifndef STRAND_GDB_RSP_H
#define STRAND_GDB_RSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strand/strand.h"

/* Largest decoded payload accepted and announced (PacketSize), bytes. */
#define GDB_RSP_MAX 16384

/* What one byte completed. */
enum gdb_rsp_event {
	GDB_RSP_EV_NONE = 0,    /* nothing yet */
	GDB_RSP_EV_PACKET,      /* a packet with a good checksum: p->pkt */
	GDB_RSP_EV_BADSUM,      /* a packet whose checksum is wrong */
	GDB_RSP_EV_OVERFLOW,    /* a packet longer than GDB_RSP_MAX */
	GDB_RSP_EV_ACK,         /* '+' outside a packet */
	GDB_RSP_EV_NACK,        /* '-' outside a packet */
	GDB_RSP_EV_INTERRUPT,   /* 0x03 outside a packet */
};

struct gdb_rsp_parser {
	int state;               /* internal: outside, payload, escape, cs1, cs2 */
	uint8_t sum;             /* running checksum of the raw payload bytes */
	uint8_t want;            /* checksum received (state cs2) */
	bool overflow;           /* the current payload exceeded GDB_RSP_MAX */
	size_t len;              /* decoded bytes in pkt, <= GDB_RSP_MAX */
	char pkt[GDB_RSP_MAX + 1]; /* decoded payload, NUL-terminated after
				      GDB_RSP_EV_PACKET (may hold NULs: use len) */
};

/* Reset to "outside a packet". */
void gdb_rsp_parser_init(struct gdb_rsp_parser *p);
/* Feed one byte; returns what it completed. */
enum gdb_rsp_event gdb_rsp_feed(struct gdb_rsp_parser *p, uint8_t byte);

/* Sum of bytes modulo 256. */
uint8_t gdb_rsp_checksum(const void *buf, size_t len);

/* Frame `payload` (len bytes, any values) as "$...#cc" into out (cap
 * bytes), escaping $ # } * and, when `rle`, run-length encoding runs of
 * four or more equal bytes.  Returns the framed length, or 0 if cap is
 * too small (out is then undefined). */
size_t gdb_rsp_frame(const void *payload, size_t len, bool rle, char *out,
		     size_t cap);

/* Hex helpers.  gdb_rsp_hex: 2*len lower-case digits + NUL into out.
 * gdb_rsp_unhex: decode up to max bytes from hex digits; returns the
 * byte count, or -1 for an odd length or a non-hex digit. */
void gdb_rsp_hex(const void *buf, size_t len, char *out);
long gdb_rsp_unhex(const char *hex, size_t hexlen, void *out, size_t max);

/* Parse a hex number at *s (at least one digit, at most 16), advancing
 * *s past it.  false if there is no digit or it overflows 64 bits. */
bool gdb_rsp_parse_hex(const char **s, uint64_t *v);

/* ===================================================================== */
/* A connection over file descriptors                                     */
/* ===================================================================== */

struct gdb_rsp_conn {
	int in_fd, out_fd;       /* borrowed; may be the same socket */
	bool no_ack;             /* QStartNoAckMode in force */
	bool interrupt;          /* a 0x03 arrived and was not yet taken */
	bool trace;              /* log packets to stderr (--debug) */
	struct gdb_rsp_parser p;
	uint8_t in[4096];        /* bytes read, not yet parsed */
	size_t in_len, in_pos;
	char *out;               /* framing buffer, owned */
	size_t out_cap;
};

/* Set up over two descriptors (borrowed).  STRAND_ERR_NOMEM. */
strand_status gdb_rsp_conn_init(struct gdb_rsp_conn *c, int in_fd, int out_fd,
				strand_error *err);
void gdb_rsp_conn_fini(struct gdb_rsp_conn *c); /* c may be NULL */

/* Wait for the next packet, acknowledging it (unless no-ack) and asking
 * again for corrupt ones.  STRAND_OK: *pkt / *len point into c->p (valid
 * until the next read).  STRAND_STOPPED: an interrupt byte came instead.
 * STRAND_END: the peer closed.  < 0: an I/O error. */
strand_status gdb_rsp_read(struct gdb_rsp_conn *c, const char **pkt,
			   size_t *len, strand_error *err);

/* Send one packet (and, unless no-ack, wait for its '+', resending on
 * '-' up to 8 times).  STRAND_END if the peer closed. */
strand_status gdb_rsp_send(struct gdb_rsp_conn *c, const void *payload,
			   size_t len, strand_error *err);
strand_status gdb_rsp_send_str(struct gdb_rsp_conn *c, const char *s,
			       strand_error *err);

/* Without blocking: has an interrupt byte arrived?  Reads what is
 * available; other bytes stay buffered for gdb_rsp_read. */
bool gdb_rsp_poll_interrupt(struct gdb_rsp_conn *c);

#endif /* STRAND_GDB_RSP_H */
