/*
 * The gdb remote protocol's framing (gdb/rsp.c), byte by byte: checksums,
 * escapes, run-length encoding, acks, interrupts, corrupt and oversized
 * packets, and a connection over a socket pair with and without acks.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gdb/rsp.h"

/* Feed a whole string; returns the last non-NONE event (or NONE). */
static enum gdb_rsp_event feed(struct gdb_rsp_parser *p, const char *s, size_t n)
{
	enum gdb_rsp_event last = GDB_RSP_EV_NONE;
	for (size_t i = 0; i < n; i++) {
		enum gdb_rsp_event e = gdb_rsp_feed(p, (uint8_t)s[i]);
		if (e != GDB_RSP_EV_NONE)
			last = e;
	}
	return last;
}

static struct gdb_rsp_parser P;

Test(gdb_rsp, checksum_is_the_byte_sum_modulo_256)
{
	cr_assert_eq(gdb_rsp_checksum("", 0), 0);
	cr_assert_eq(gdb_rsp_checksum("OK", 2), 0x9a);
	cr_assert_eq(gdb_rsp_checksum("qSupported", 10), 0x37);
}

Test(gdb_rsp, packet_with_good_checksum_is_delivered)
{
	gdb_rsp_parser_init(&P);
	cr_assert_eq(feed(&P, "$OK#9a", 6), GDB_RSP_EV_PACKET);
	cr_assert_eq(P.len, 2);
	cr_assert_str_eq(P.pkt, "OK");
}

Test(gdb_rsp, bad_checksum_is_reported_not_delivered)
{
	gdb_rsp_parser_init(&P);
	cr_assert_eq(feed(&P, "$OK#9b", 6), GDB_RSP_EV_BADSUM);
	cr_assert_eq(feed(&P, "$OK#zz", 6), GDB_RSP_EV_BADSUM);
	/* and the parser recovers for the next packet */
	cr_assert_eq(feed(&P, "$g#67", 5), GDB_RSP_EV_PACKET);
	cr_assert_str_eq(P.pkt, "g");
}

Test(gdb_rsp, acks_and_interrupt_outside_packets)
{
	gdb_rsp_parser_init(&P);
	cr_assert_eq(gdb_rsp_feed(&P, '+'), GDB_RSP_EV_ACK);
	cr_assert_eq(gdb_rsp_feed(&P, '-'), GDB_RSP_EV_NACK);
	cr_assert_eq(gdb_rsp_feed(&P, 0x03), GDB_RSP_EV_INTERRUPT);
	/* inside a packet '+' is data */
	cr_assert_eq(feed(&P, "$a+b#", 5), GDB_RSP_EV_NONE);
	char cs[3];
	snprintf(cs, sizeof cs, "%02x", gdb_rsp_checksum("a+b", 3));
	cr_assert_eq(feed(&P, cs, 2), GDB_RSP_EV_PACKET);
	cr_assert_str_eq(P.pkt, "a+b");
}

Test(gdb_rsp, escapes_are_decoded_and_counted_raw_in_the_checksum)
{
	/* "}\x03" decodes to 0x23 (#), "}]" to 0x7d (}) */
	const char raw[] = "X}\x03}]";
	char pkt[32];
	snprintf(pkt, sizeof pkt, "$%s#%02x", raw, gdb_rsp_checksum(raw, strlen(raw)));
	gdb_rsp_parser_init(&P);
	cr_assert_eq(feed(&P, pkt, strlen(pkt)), GDB_RSP_EV_PACKET);
	cr_assert_eq(P.len, 3);
	cr_assert_eq(P.pkt[0], 'X');
	cr_assert_eq((uint8_t)P.pkt[1], '#');
	cr_assert_eq((uint8_t)P.pkt[2], '}');
}

Test(gdb_rsp, run_length_expands_the_previous_byte)
{
	/* "0* " = '0' then ' ' - 29 = 3 more: "0000" */
	const char raw[] = "a0* b";
	char pkt[32];
	snprintf(pkt, sizeof pkt, "$%s#%02x", raw, gdb_rsp_checksum(raw, strlen(raw)));
	gdb_rsp_parser_init(&P);
	cr_assert_eq(feed(&P, pkt, strlen(pkt)), GDB_RSP_EV_PACKET);
	cr_assert_str_eq(P.pkt, "a0000b");
}

Test(gdb_rsp, oversized_packet_is_dropped_with_its_own_event)
{
	gdb_rsp_parser_init(&P);
	gdb_rsp_feed(&P, '$');
	uint8_t sum = 0;
	for (int i = 0; i < GDB_RSP_MAX + 10; i++) {
		gdb_rsp_feed(&P, 'a');
		sum += 'a';
	}
	char cs[4];
	snprintf(cs, sizeof cs, "#%02x", sum);
	cr_assert_eq(feed(&P, cs, 3), GDB_RSP_EV_OVERFLOW);
	cr_assert_leq(P.len, GDB_RSP_MAX);
}

Test(gdb_rsp, run_length_cannot_overflow_the_buffer)
{
	gdb_rsp_parser_init(&P);
	gdb_rsp_feed(&P, '$');
	uint8_t sum = 0;
	for (int i = 0; i < 400; i++) { /* 400 * 98 bytes > GDB_RSP_MAX */
		const char *chunk = "x*~";
		for (int k = 0; k < 3; k++) {
			gdb_rsp_feed(&P, (uint8_t)chunk[k]);
			sum += (uint8_t)chunk[k];
		}
	}
	char cs[4];
	snprintf(cs, sizeof cs, "#%02x", sum);
	cr_assert_eq(feed(&P, cs, 3), GDB_RSP_EV_OVERFLOW);
}

Test(gdb_rsp, frame_escapes_and_run_length_encodes_and_round_trips)
{
	uint8_t payload[300];
	for (int i = 0; i < 300; i++)
		payload[i] = i < 100 ? 'z' : (uint8_t)i; /* a long run, then all bytes */
	payload[150] = '$';
	payload[151] = '#';
	char out[1024];
	size_t n = gdb_rsp_frame(payload, sizeof payload, true, out, sizeof out);
	cr_assert_gt(n, 0);
	cr_assert_lt(n, 300, "the run of 100 'z' is encoded short (got %zu bytes)", n);
	cr_assert_eq(out[0], '$');
	for (size_t i = 1; i + 3 < n; i++)
		cr_assert(out[i] != '$' && out[i] != '#', "unescaped %c at %zu", out[i], i);
	gdb_rsp_parser_init(&P);
	cr_assert_eq(feed(&P, out, n), GDB_RSP_EV_PACKET);
	cr_assert_eq(P.len, sizeof payload);
	cr_assert_eq(memcmp(P.pkt, payload, sizeof payload), 0);
	cr_assert_eq(gdb_rsp_frame(payload, sizeof payload, true, out, 10), 0,
		     "a too small buffer is refused");
}

Test(gdb_rsp, hex_helpers_reject_bad_digits)
{
	char h[9];
	gdb_rsp_hex("\x01\xab\xff\x00", 4, h);
	cr_assert_str_eq(h, "01abff00");
	uint8_t b[4];
	cr_assert_eq(gdb_rsp_unhex("01abff00", 8, b, 4), 4);
	cr_assert_eq(b[1], 0xab);
	cr_assert_eq(gdb_rsp_unhex("0g", 2, b, 4), -1);
	cr_assert_eq(gdb_rsp_unhex("012", 3, b, 4), -1);
	const char *s = "7c801cff,1";
	uint64_t v;
	cr_assert(gdb_rsp_parse_hex(&s, &v));
	cr_assert_eq(v, 0x7c801cff);
	cr_assert_eq(*s, ',');
	s = "11112222333344445";
	cr_assert_not(gdb_rsp_parse_hex(&s, &v), "17 digits overflow");
	s = ",";
	cr_assert_not(gdb_rsp_parse_hex(&s, &v));
}

/* A connection over a socket pair: one end is "gdb" written by the test. */
Test(gdb_rsp, connection_acks_asks_again_and_switches_to_no_ack)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct gdb_rsp_conn c;
	strand_error err;
	cr_assert_eq(gdb_rsp_conn_init(&c, sv[0], sv[0], &err), STRAND_OK);
	const char *in = "$OK#9b$OK#9a";  /* a corrupt packet, then a good one */
	cr_assert_eq(write(sv[1], in, strlen(in)), (ssize_t)strlen(in));
	const char *pkt;
	size_t len;
	cr_assert_eq(gdb_rsp_read(&c, &pkt, &len, &err), STRAND_OK);
	cr_assert_str_eq(pkt, "OK");
	char acks[8] = { 0 };
	cr_assert_eq(read(sv[1], acks, 2), 2);
	cr_assert_str_eq(acks, "-+");
	/* a reply waits for its ack; a '-' makes it resend */
	cr_assert_eq(write(sv[1], "-+", 2), 2);
	cr_assert_eq(gdb_rsp_send_str(&c, "OK", &err), STRAND_OK);
	char got[32] = { 0 };
	ssize_t n = read(sv[1], got, sizeof got - 1);
	cr_assert_geq(n, 6);
	cr_assert(strncmp(got, "$OK#9a", 6) == 0);
	if (n < 12)
		n += read(sv[1], got + n, sizeof got - 1 - (size_t)n);
	cr_assert_str_eq(got, "$OK#9a$OK#9a", "sent twice after a '-'");
	/* no-ack: nothing is acked any more */
	c.no_ack = true;
	cr_assert_eq(write(sv[1], "$g#67", 5), 5);
	cr_assert_eq(gdb_rsp_read(&c, &pkt, &len, &err), STRAND_OK);
	cr_assert_str_eq(pkt, "g");
	cr_assert_eq(gdb_rsp_send_str(&c, "E01", &err), STRAND_OK);
	memset(got, 0, sizeof got);
	cr_assert_eq(read(sv[1], got, 7), 7);
	cr_assert_str_eq(got, "$E01#a6");
	/* an interrupt byte while "running" */
	cr_assert_not(gdb_rsp_poll_interrupt(&c));
	cr_assert_eq(write(sv[1], "\x03", 1), 1);
	cr_assert(gdb_rsp_poll_interrupt(&c));
	/* the peer closes: END */
	c.interrupt = false;
	close(sv[1]);
	cr_assert_eq(gdb_rsp_read(&c, &pkt, &len, &err), STRAND_END);
	gdb_rsp_conn_fini(&c);
	close(sv[0]);
}
