// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of frame.c, TAP output. Frames are built into and parsed from a
 * small in-memory ring, at every position, so the wrap falls everywhere: in
 * the header, in the virtio-net header, in the payload and in the padding.
 */
#include <linux/virtio_net.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "unit.h"

_Static_assert(FRAME_VNET_HDR_LEN == sizeof(struct virtio_net_hdr), "virtio_net_hdr size");
_Static_assert(FRAME_VNET_F_NEEDS_CSUM == VIRTIO_NET_HDR_F_NEEDS_CSUM, "NEEDS_CSUM");
_Static_assert(FRAME_VNET_F_DATA_VALID == VIRTIO_NET_HDR_F_DATA_VALID, "DATA_VALID");
_Static_assert(FRAME_VNET_GSO_TCPV4 == VIRTIO_NET_HDR_GSO_TCPV4, "GSO_TCPV4");
_Static_assert(FRAME_VNET_GSO_UDP == VIRTIO_NET_HDR_GSO_UDP, "GSO_UDP");
_Static_assert(FRAME_VNET_GSO_TCPV6 == VIRTIO_NET_HDR_GSO_TCPV6, "GSO_TCPV6");
_Static_assert(FRAME_VNET_GSO_UDP_L4 == 5, "GSO_UDP_L4");
_Static_assert(FRAME_VNET_GSO_ECN == VIRTIO_NET_HDR_GSO_ECN, "GSO_ECN");

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* A ring of RING_SIZE bytes and a position in it, as the vchan ring hands it out. */
#define RING_SIZE 256

struct ring {
	uint8_t buf[RING_SIZE];
	size_t pos;
};

/* n bytes from pos as up to two spans, the second at the wrap. */
static void ring_spans(struct ring *r, size_t n, struct iovec s[2])
{
	size_t first = RING_SIZE - r->pos < n ? RING_SIZE - r->pos : n;

	s[0].iov_base = r->buf + r->pos;
	s[0].iov_len = first;
	s[1].iov_base = first < n ? r->buf : NULL;
	s[1].iov_len = n - first;
}

static void ring_at(struct ring *r, size_t pos, uint8_t fill)
{
	memset(r->buf, fill, sizeof(r->buf));
	r->pos = pos % RING_SIZE;
}

/* Gathers the bytes of two spans into out; returns how many. */
static size_t gather(const struct iovec s[2], uint8_t *out)
{
	memcpy(out, s[0].iov_base, s[0].iov_len);
	if (s[1].iov_len)
		memcpy(out + s[0].iov_len, s[1].iov_base, s[1].iov_len);
	return s[0].iov_len + s[1].iov_len;
}

static const struct frame_limits no_limits; /* before the handshake */

static struct frame_limits limits(uint32_t max_payload, uint32_t features, uint8_t mode)
{
	struct frame_limits lim = {
		.max_payload = max_payload,
		.features = features,
		.mtu = 1500,
		.version = 1,
		.mode = mode,
	};

	return lim;
}

/* Writes a raw header (any values) at the ring position. */
static void raw_header(struct ring *r, uint8_t magic, uint8_t type, uint16_t flags,
		       uint32_t length)
{
	uint8_t h[FRAME_HDR_LEN] = { magic, type, (uint8_t)flags, (uint8_t)(flags >> 8),
				     (uint8_t)length, (uint8_t)(length >> 8),
				     (uint8_t)(length >> 16), (uint8_t)(length >> 24) };

	for (size_t i = 0; i < sizeof(h); i++)
		r->buf[(r->pos + i) % RING_SIZE] = h[i];
}

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void test_sizes(void)
{
	ok(frame_pad(0) == 0 && frame_pad(1) == 8 && frame_pad(8) == 8 && frame_pad(9) == 16,
	   "frame_pad rounds up to 8");
	ok(frame_total(0) == 8 && frame_total(1) == 16 && frame_total(8) == 16 &&
	   frame_total(1500) == 1512, "frame_total counts header and padding");
	ok(frame_room(0) == 0 && frame_room(8) == 0 && frame_room(16) == 8 &&
	   frame_room(23) == 8 && frame_room(1024) == 1016,
	   "frame_room: longest payload that fits");
	ok(frame_total(frame_room(1000)) <= 1000, "a frame_room payload always fits");
}

/* A PACKET at every position of the ring: payload and consumption as sent. */
static void test_packet_everywhere(void)
{
	struct frame_limits lim = limits(200, 0, FRAME_MODE_TUN);
	uint8_t payload[61], got[RING_SIZE];
	int bad_parse = 0, bad_payload = 0, bad_split = 0;
	struct ring r;

	fill_pattern(payload, sizeof(payload), 3);
	for (size_t pos = 0; pos < RING_SIZE; pos++) {
		struct iovec s[2];
		struct frame f;
		size_t total;

		ring_at(&r, pos, 0xee);
		ring_spans(&r, RING_SIZE, s);
		total = frame_write(s, FRAME_PACKET, 0, payload, sizeof(payload));
		if (frame_parse(s, total, &lim, &f) != FRAME_OK || f.total != total ||
		    f.type != FRAME_PACKET || f.length != sizeof(payload)) {
			bad_parse++;
			continue;
		}
		if (gather(f.payload, got) != sizeof(payload) ||
		    memcmp(got, payload, sizeof(payload)))
			bad_payload++;
		if (f.payload[1].iov_len && f.payload[1].iov_base != r.buf)
			bad_split++;
	}
	ok(!bad_parse, "a PACKET parses at each of %d ring positions (%d failed)", RING_SIZE,
	   bad_parse);
	ok(!bad_payload, "its payload spans hold exactly what was sent (%d wrong)", bad_payload);
	ok(!bad_split, "a payload split at the wrap continues at the ring's start");
}

/* The daemon's loop: parse, handle, advance, until the bytes run out. */
static void test_sequence(void)
{
	struct frame_limits lim = limits(200, 0, FRAME_MODE_TUN);
	size_t lens[] = { 1, 7, 8, 9, 50, 64, 3 }, n = sizeof(lens) / sizeof(lens[0]);
	size_t written = 0, parsed = 0, frames = 0;
	uint8_t payload[100], got[RING_SIZE];
	enum frame_status st;
	struct iovec s[2], w[2];
	struct ring r;
	struct frame f;
	int same = 1;

	fill_pattern(payload, sizeof(payload), 9);
	ring_at(&r, 200, 0);
	ring_spans(&r, RING_SIZE, w);
	for (size_t i = 0; i < n; i++) {
		written += frame_write(w, FRAME_PACKET, 0, payload, (uint32_t)lens[i]);
		ring_spans(&r, RING_SIZE, w);
		frame_iov_advance(w, written);
	}
	ring_spans(&r, written, s);
	while ((st = frame_parse(s, written - parsed, &lim, &f)) == FRAME_OK) {
		if (f.length != lens[frames] || gather(f.payload, got) != lens[frames] ||
		    memcmp(got, payload, lens[frames]))
			same = 0;
		frames++;
		parsed += f.total;
		frame_iov_advance(s, f.total);
	}
	ok(st == FRAME_MORE && frames == n && parsed == written,
	   "%zu frames back to back parse in turn, ending with FRAME_MORE", n);
	ok(same, "each one with its own payload");
}

static void test_truncated(void)
{
	struct frame_limits lim = limits(200, 0, FRAME_MODE_TUN);
	uint8_t payload[37];
	int wrong = 0;
	struct ring r;

	fill_pattern(payload, sizeof(payload), 1);
	for (size_t pos = 0; pos < RING_SIZE; pos += 5) {
		struct iovec s[2];
		struct frame f;
		size_t total;

		ring_at(&r, pos, 0);
		ring_spans(&r, RING_SIZE, s);
		total = frame_write(s, FRAME_PACKET, 0, payload, sizeof(payload));
		for (size_t avail = 0; avail < total; avail++) {
			ring_spans(&r, avail, s);
			if (frame_parse(s, avail, &lim, &f) != FRAME_MORE)
				wrong++;
		}
	}
	ok(!wrong, "every truncation of a frame is FRAME_MORE, never an error (%d wrong)", wrong);
}

/* One malformed header: its status, with only the 8 header bytes available. */
static enum frame_status parse_raw(uint8_t magic, uint8_t type, uint16_t flags,
				   uint32_t length, const struct frame_limits *lim,
				   struct frame *f)
{
	struct iovec s[2];
	struct ring r;

	ring_at(&r, RING_SIZE - 3, 0);
	raw_header(&r, magic, type, flags, length);
	ring_spans(&r, FRAME_HDR_LEN, s);
	return frame_parse(s, FRAME_HDR_LEN, lim, f);
}

static void expect(enum frame_status got, enum frame_status want, const struct frame *f,
		   const char *what)
{
	ok(got == want, "%s: %s", what, frame_strerror(want));
	if (got != want)
		diag("got %s (%s)", frame_strerror(got), f->why ? f->why : "no reason");
}

static void test_malformed_headers(void)
{
	struct frame_limits lim = limits(1500, FRAME_FEAT_VNET_HDR, FRAME_MODE_TUN);
	struct frame_limits nov = limits(1500, 0, FRAME_MODE_TUN);
	struct frame_limits tap = limits(1500, 0, FRAME_MODE_TAP);
	struct frame f;

	expect(parse_raw(0x00, FRAME_PACKET, 0, 100, &lim, &f), FRAME_ERR_MAGIC, &f, "magic 0");
	expect(parse_raw(FRAME_MAGIC ^ 1, FRAME_PACKET, 0, 100, &lim, &f), FRAME_ERR_MAGIC, &f,
	       "magic off by one bit");
	ok(f.why && !strcmp(f.why, "bad magic"), "with a reason (%s)", f.why);
	expect(parse_raw(FRAME_MAGIC, 0, 0, 100, &lim, &f), FRAME_ERR_TYPE, &f, "type 0");
	expect(parse_raw(FRAME_MAGIC, 4, 0, 100, &lim, &f), FRAME_ERR_TYPE, &f, "type 4");
	expect(parse_raw(FRAME_MAGIC, 255, 0, 100, &lim, &f), FRAME_ERR_TYPE, &f, "type 255");
	ok(f.type == 255 && f.length == 100, "the header's fields are reported with the error");
	expect(parse_raw(FRAME_MAGIC, FRAME_PACKET, 0x0002, 100, &lim, &f), FRAME_ERR_FLAGS, &f,
	       "unknown PACKET flag 0x0002");
	expect(parse_raw(FRAME_MAGIC, FRAME_PACKET, 0x8000, 100, &lim, &f), FRAME_ERR_FLAGS, &f,
	       "unknown PACKET flag 0x8000");
	expect(parse_raw(FRAME_MAGIC, FRAME_PACKET, FRAME_F_VNET, 100, &nov, &f),
	       FRAME_ERR_FLAGS, &f, "VNET flag without VNET_HDR agreed");
	expect(parse_raw(FRAME_MAGIC, FRAME_PACKET, 0, 1501, &lim, &f), FRAME_ERR_LENGTH, &f,
	       "PACKET one byte over the agreed maximum");
	expect(parse_raw(FRAME_MAGIC, FRAME_PACKET, 0, 0xffffffffu, &lim, &f), FRAME_ERR_LENGTH,
	       &f, "PACKET of length 2^32-1");
	expect(parse_raw(FRAME_MAGIC, FRAME_PACKET, 0, 0, &lim, &f), FRAME_ERR_LENGTH, &f,
	       "empty PACKET");
	expect(parse_raw(FRAME_MAGIC, FRAME_PACKET, FRAME_F_VNET, FRAME_VNET_HDR_LEN, &lim, &f),
	       FRAME_ERR_LENGTH, &f, "PACKET of only a virtio-net header");
	expect(parse_raw(FRAME_MAGIC, FRAME_PACKET, 0, 13, &tap, &f), FRAME_ERR_LENGTH, &f,
	       "TAP PACKET shorter than an Ethernet header");
	expect(parse_raw(FRAME_MAGIC, FRAME_PACKET, 0, 100, &no_limits, &f), FRAME_ERR_TYPE, &f,
	       "PACKET before the handshake");
	expect(parse_raw(FRAME_MAGIC, FRAME_HELLO, 0, FRAME_HELLO_LEN, &lim, &f), FRAME_ERR_TYPE,
	       &f, "HELLO after the handshake");
	expect(parse_raw(FRAME_MAGIC, FRAME_HELLO, 1, FRAME_HELLO_LEN, &no_limits, &f),
	       FRAME_ERR_FLAGS, &f, "flags on a HELLO");
	expect(parse_raw(FRAME_MAGIC, FRAME_HELLO, 0, 8, &no_limits, &f), FRAME_ERR_LENGTH, &f,
	       "HELLO too short");
	expect(parse_raw(FRAME_MAGIC, FRAME_HELLO, 0, FRAME_HELLO_MAX + 1, &no_limits, &f),
	       FRAME_ERR_LENGTH, &f, "HELLO too long");
	expect(parse_raw(FRAME_MAGIC, FRAME_CLOSE, 0, FRAME_CLOSE_MAX + 1, &lim, &f),
	       FRAME_ERR_LENGTH, &f, "CLOSE too long");
	expect(parse_raw(FRAME_MAGIC, FRAME_CLOSE, 4, 0, &lim, &f), FRAME_ERR_FLAGS, &f,
	       "flags on a CLOSE");
	expect(parse_raw(FRAME_MAGIC, FRAME_HELLO, 0, FRAME_HELLO_LEN, &no_limits, &f),
	       FRAME_MORE, &f, "a good HELLO header without its payload yet");
	ok(f.total == frame_total(FRAME_HELLO_LEN), "reports the total it waits for");
	expect(parse_raw(FRAME_MAGIC, FRAME_CLOSE, 0, 0, &no_limits, &f), FRAME_OK, &f,
	       "an empty CLOSE before the handshake");
}

static void test_padding(void)
{
	struct frame_limits lim = limits(200, 0, FRAME_MODE_TUN);
	uint8_t payload[13];
	int missed = 0, wrong = 0;
	struct ring r;

	fill_pattern(payload, sizeof(payload), 5);
	/* each of the 3 padding bytes of a 13-byte payload, at positions across the wrap */
	for (size_t pos = RING_SIZE - 24; pos < RING_SIZE; pos++) {
		for (size_t k = 0; k < 3; k++) {
			struct iovec s[2];
			struct frame f;
			size_t total;

			ring_at(&r, pos, 0);
			ring_spans(&r, RING_SIZE, s);
			total = frame_write(s, FRAME_PACKET, 0, payload, sizeof(payload));
			r.buf[(pos + FRAME_HDR_LEN + sizeof(payload) + k) % RING_SIZE] = 0x40;
			if (frame_parse(s, total, &lim, &f) != FRAME_ERR_PADDING)
				missed++;
			else if (strcmp(f.why, "non-zero padding"))
				wrong++;
		}
	}
	ok(!missed && !wrong, "a non-zero padding byte is FRAME_ERR_PADDING, wherever it is");
}

static void test_seal(void)
{
	uint8_t payload[20], got[64];
	struct frame_limits lim = limits(200, 0, FRAME_MODE_TUN);
	struct iovec s[2], p[2];
	struct frame f;
	struct ring r;
	size_t total;

	/* a readv() put the payload after room for the header; the header wraps */
	fill_pattern(payload, sizeof(payload), 11);
	ring_at(&r, RING_SIZE - 4, 0xff);
	ring_spans(&r, RING_SIZE, s);
	p[0] = s[0];
	p[1] = s[1];
	frame_iov_advance(p, FRAME_HDR_LEN);
	memcpy(p[0].iov_base, payload, sizeof(payload));
	total = frame_seal(s, FRAME_PACKET, 0, sizeof(payload));
	ok(total == 32, "frame_seal returns the bytes to commit");
	ok(frame_parse(s, total, &lim, &f) == FRAME_OK && gather(f.payload, got) == 20 &&
	   !memcmp(got, payload, 20), "a sealed frame (header across the wrap) parses");
	ok(r.buf[24] == 0 && r.buf[25] == 0 && r.buf[26] == 0 && r.buf[27] == 0 &&
	   r.buf[28] == 0xff, "padding zeroed, nothing written after the frame");

	ring_spans(&r, 31, s);
	ok(frame_seal(s, FRAME_PACKET, 0, sizeof(payload)) == 0,
	   "frame_seal refuses spans one byte too short");
	ok(frame_write(s, FRAME_PACKET, 0, payload, FRAME_PAYLOAD_LIMIT + 1) == 0,
	   "frame_write refuses a payload over the limit");
}

static struct frame_hello hello(uint8_t mode, uint32_t mtu, uint32_t max_payload,
				uint32_t features)
{
	struct frame_hello h = {
		.version = FRAME_VERSION,
		.mode = mode,
		.mtu = mtu,
		.max_payload = max_payload,
		.features = features,
	};

	return h;
}

/* Sends h through a ring at pos and parses it back. */
static enum frame_status hello_roundtrip(const struct frame_hello *h, size_t pos,
					 struct frame_hello *out, const char **why)
{
	struct iovec s[2];
	struct frame f;
	struct ring r;
	size_t total;
	enum frame_status st;

	ring_at(&r, pos, 0x5a);
	ring_spans(&r, RING_SIZE, s);
	total = frame_hello_write(s, h);
	st = frame_parse(s, total, &no_limits, &f);
	if (st != FRAME_OK) {
		*why = f.why;
		return st;
	}
	return frame_hello_parse(&f, out, why);
}

static void expect_hello(const struct frame_hello *h, const char *want, const char *what)
{
	struct frame_hello out;
	const char *why = NULL;
	enum frame_status st = hello_roundtrip(h, 40, &out, &why);

	ok(st == FRAME_ERR_HELLO && why && !strcmp(why, want), "HELLO with %s: %s", what, want);
	if (st != FRAME_ERR_HELLO || !why || strcmp(why, want))
		diag("got %s: %s", frame_strerror(st), why ? why : "(no reason)");
}

static bool hello_eq(const struct frame_hello *a, const struct frame_hello *b)
{
	return a->version == b->version && a->mode == b->mode && a->mtu == b->mtu &&
	       a->max_payload == b->max_payload && a->features == b->features;
}

static void test_hello(void)
{
	struct frame_hello a = hello(FRAME_MODE_TUN, 1500, 65556, FRAME_FEAT_ALL), b;
	struct frame_limits lim;
	const char *why;
	char msg[128];
	int bad = 0, rc;

	for (size_t pos = 0; pos < RING_SIZE; pos += 3)
		if (hello_roundtrip(&a, pos, &b, &why) != FRAME_OK || !hello_eq(&a, &b))
			bad++;
	ok(!bad, "HELLO survives a round trip at every position");

	/* a later version's longer HELLO: extra bytes ignored, version agreed down */
	{
		uint8_t p[40] = { 7, 0, FRAME_MODE_TUN, 0, 0xdc, 0x05, 0, 0, 0x00, 0x10, 0, 0,
				  0x03, 0, 0, 0 };
		struct iovec s[2];
		struct frame f;
		struct ring r;
		size_t total;

		memset(p + 16, 0xab, sizeof(p) - 16);
		ring_at(&r, 100, 0);
		ring_spans(&r, RING_SIZE, s);
		total = frame_write(s, FRAME_HELLO, 0, p, sizeof(p));
		ok(frame_parse(s, total, &no_limits, &f) == FRAME_OK &&
		   frame_hello_parse(&f, &b, &why) == FRAME_OK && b.version == 7 &&
		   b.mtu == 1500 && b.max_payload == 4096 && b.features == 3,
		   "a 40-byte HELLO of version 7 is read by its first 16 bytes");
		a = hello(FRAME_MODE_TUN, 1500, 65556, FRAME_FEAT_ALL);
		ok(frame_agree(&a, &b, &lim, msg, sizeof(msg)) == 0 && lim.version == 1,
		   "and agreement settles on version 1");
	}

	a = hello(FRAME_MODE_TUN, 9000, 65546, FRAME_FEAT_VNET_HDR | FRAME_FEAT_CSUM |
		  FRAME_FEAT_TSO4 | FRAME_FEAT_TSO6);
	b = hello(FRAME_MODE_TUN, 1500, 70000, FRAME_FEAT_VNET_HDR | FRAME_FEAT_CSUM |
		  FRAME_FEAT_TSO4 | FRAME_FEAT_USO | (1u << 20));
	rc = frame_agree(&a, &b, &lim, msg, sizeof(msg));
	ok(rc == 0, "two compatible HELLOs agree");
	ok(lim.mtu == 1500 && lim.max_payload == 65546 && lim.mode == FRAME_MODE_TUN,
	   "MTU and maximum payload are the smaller of both (%u, %u)", lim.mtu, lim.max_payload);
	ok(lim.features == (FRAME_FEAT_VNET_HDR | FRAME_FEAT_CSUM | FRAME_FEAT_TSO4),
	   "features are those both offer (0x%x), unknown bits dropped", lim.features);
	rc = frame_agree(&b, &a, &lim, msg, sizeof(msg));
	ok(rc == 0 && lim.mtu == 1500 && lim.max_payload == 65546 &&
	   lim.features == (FRAME_FEAT_VNET_HDR | FRAME_FEAT_CSUM | FRAME_FEAT_TSO4),
	   "and both sides reach the same agreement");

	b = hello(FRAME_MODE_TAP, 1500, 1518, 0);
	rc = frame_agree(&a, &b, &lim, msg, sizeof(msg));
	ok(rc == -1 &&
	   !strcmp(msg, "mode mismatch: we are tun, the peer is tap"),
	   "mode mismatch refused: %s", msg);

	b = hello(FRAME_MODE_TUN, 1500, 1400, 0);
	rc = frame_agree(&a, &b, &lim, msg, sizeof(msg));
	ok(rc == -1 &&
	   !strcmp(msg, "maximum payload 1400 is too small for MTU 1500 (needs 1500)"),
	   "a maximum payload below the MTU refused: %s", msg);

	b = hello(FRAME_MODE_TUN, 1500, 1510, FRAME_FEAT_ALL);
	rc = frame_agree(&a, &b, &lim, msg, sizeof(msg));
	ok(rc == 0 &&
	   lim.features == (FRAME_FEAT_VNET_HDR | FRAME_FEAT_CSUM),
	   "GSO dropped when super-packets could not cross (0x%x)", lim.features);

	ok(frame_features_normalize(FRAME_FEAT_TSO4 | FRAME_FEAT_CSUM) == 0,
	   "no checksum or GSO feature without VNET_HDR");
	ok(frame_features_normalize(FRAME_FEAT_VNET_HDR | FRAME_FEAT_TSO4) == FRAME_FEAT_VNET_HDR,
	   "no GSO without CSUM");
	ok(frame_features_normalize(FRAME_FEAT_VNET_HDR | FRAME_FEAT_CSUM | FRAME_FEAT_USO |
				    FRAME_FEAT_TSO_ECN) ==
	   (FRAME_FEAT_VNET_HDR | FRAME_FEAT_CSUM | FRAME_FEAT_USO), "no TSO_ECN without TSO");

	ok(frame_payload_max(FRAME_MODE_TUN, 1500, 0) == 1500 &&
	   frame_payload_max(FRAME_MODE_TAP, 1500, 0) == 1518 &&
	   frame_payload_max(FRAME_MODE_TUN, 1500, FRAME_FEAT_VNET_HDR) == 1510 &&
	   frame_payload_max(FRAME_MODE_TUN, 1500, FRAME_FEAT_ALL) == 65546 &&
	   frame_payload_max(FRAME_MODE_TAP, 9000, FRAME_FEAT_ALL) == 65564,
	   "frame_payload_max for TUN, TAP, VNET_HDR and GSO");

	a = hello(0, 1500, 1500, 0);
	expect_hello(&a, "HELLO with an unknown mode", "mode 0");
	a.mode = 3;
	expect_hello(&a, "HELLO with an unknown mode", "mode 3");
	a = hello(FRAME_MODE_TUN, 1500, 1500, 0);
	a.version = 0;
	expect_hello(&a, "HELLO with protocol version 0", "version 0");
	a = hello(FRAME_MODE_TUN, 67, 1500, 0);
	expect_hello(&a, "HELLO with an MTU out of range", "MTU 67");
	a = hello(FRAME_MODE_TUN, 65536, 70000, 0);
	expect_hello(&a, "HELLO with an MTU out of range", "MTU 65536");
	a = hello(FRAME_MODE_TUN, 1500, FRAME_PAYLOAD_LIMIT + 1, 0);
	expect_hello(&a, "HELLO with a maximum payload out of range",
		     "maximum payload over the limit");
}

/* A header as the wire has it (little-endian): the inverse of frame_vnet_decode. */
static void vnet_encode(const struct frame_vnet *v, uint8_t raw[FRAME_VNET_HDR_LEN])
{
	const uint16_t fields[] = { v->hdr_len, v->gso_size, v->csum_start, v->csum_offset };

	raw[0] = v->flags;
	raw[1] = v->gso_type;
	for (size_t i = 0; i < 4; i++) {
		raw[2 + 2 * i] = (uint8_t)fields[i];
		raw[3 + 2 * i] = (uint8_t)(fields[i] >> 8);
	}
}

/* A good TCPv4 GSO header for a 3000-byte TUN packet. */
static struct frame_vnet gso_tcp4(void)
{
	struct frame_vnet v = {
		.flags = FRAME_VNET_F_NEEDS_CSUM,
		.gso_type = FRAME_VNET_GSO_TCPV4,
		.hdr_len = 52,
		.gso_size = 1448,
		.csum_start = 20,
		.csum_offset = 16,
	};

	return v;
}

static void check_vnet(const struct frame_vnet *v, size_t len, uint32_t feat, uint8_t mode,
		       const char *want, const char *what)
{
	const char *why = frame_vnet_check(v, len, feat, mode);

	if (!want) {
		ok(!why, "virtio-net: %s accepted", what);
		if (why)
			diag("refused: %s", why);
		return;
	}
	ok(why && !strcmp(why, want), "virtio-net: %s refused", what);
	if (!why || strcmp(why, want))
		diag("got '%s', expected '%s'", why ? why : "(accepted)", want);
}

static void test_vnet_check(void)
{
	uint32_t all = FRAME_FEAT_ALL, csum = FRAME_FEAT_VNET_HDR | FRAME_FEAT_CSUM;
	struct frame_vnet v, plain = { 0 };

	v = gso_tcp4();
	check_vnet(&v, 3000, all, FRAME_MODE_TUN, NULL, "TCPv4 GSO with TSO4");
	check_vnet(&plain, 60, FRAME_FEAT_VNET_HDR, FRAME_MODE_TUN, NULL, "an all-zero header");
	v = plain;
	v.flags = FRAME_VNET_F_DATA_VALID;
	check_vnet(&v, 60, FRAME_FEAT_VNET_HDR, FRAME_MODE_TUN, NULL, "DATA_VALID");
	v = gso_tcp4();
	check_vnet(&v, 3000, 0, FRAME_MODE_TUN, "virtio-net header, but VNET_HDR not agreed",
		   "any header without VNET_HDR");
	check_vnet(&v, 3000, csum, FRAME_MODE_TUN, "virtio-net header: GSO type not agreed",
		   "TCPv4 GSO without TSO4");
	v.gso_type = FRAME_VNET_GSO_TCPV6;
	check_vnet(&v, 3000, csum | FRAME_FEAT_TSO4, FRAME_MODE_TUN,
		   "virtio-net header: GSO type not agreed", "TCPv6 GSO with only TSO4");
	v.gso_type = FRAME_VNET_GSO_UDP;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN, "virtio-net header: unknown gso_type",
		   "UFO (gso_type 3)");
	v.gso_type = 9;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN, "virtio-net header: unknown gso_type",
		   "gso_type 9");
	v.gso_type = FRAME_VNET_GSO_TCPV4 | FRAME_VNET_GSO_ECN;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN, NULL, "TCPv4 with ECN and TSO_ECN");
	check_vnet(&v, 3000, all & ~FRAME_FEAT_TSO_ECN, FRAME_MODE_TUN,
		   "virtio-net header: ECN not agreed", "TCPv4 with ECN, no TSO_ECN");
	v.gso_type = FRAME_VNET_GSO_UDP_L4 | FRAME_VNET_GSO_ECN;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN, "virtio-net header: ECN not agreed",
		   "ECN on UDP");
	v.gso_type = FRAME_VNET_GSO_UDP_L4;
	v.csum_offset = 6;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN, NULL, "UDP_L4 with USO");
	v = plain;
	v.gso_type = FRAME_VNET_GSO_ECN;
	check_vnet(&v, 60, all, FRAME_MODE_TUN, "virtio-net header: ECN without GSO",
		   "ECN bit alone");
	v = plain;
	v.gso_size = 1000;
	check_vnet(&v, 60, all, FRAME_MODE_TUN, "virtio-net header: gso_size without GSO",
		   "gso_size without GSO");
	v = gso_tcp4();
	v.flags = 0;
	v.csum_start = v.csum_offset = 0;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN, "virtio-net header: GSO without NEEDS_CSUM",
		   "GSO without NEEDS_CSUM");
	v = gso_tcp4();
	v.gso_size = 0;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN, "virtio-net header: GSO with gso_size 0",
		   "GSO with gso_size 0");
	v.gso_size = FRAME_GSO_TCP_MIN - 1;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN,
		   "virtio-net header: TCP segments smaller than Linux's smallest MSS",
		   "TCP GSO with gso_size 47");
	v.gso_size = FRAME_GSO_TCP_MIN;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN, NULL, "TCP GSO with gso_size 48");
	v = gso_tcp4();
	v.gso_type = FRAME_VNET_GSO_UDP_L4;
	v.csum_offset = 6;
	v.hdr_len = 28;
	v.gso_size = 10;
	/* 1280 bytes of payload after 28 of headers: 128 segments of 10 */
	check_vnet(&v, 28 + 1280, all, FRAME_MODE_TUN, NULL, "UDP GSO of 128 segments");
	check_vnet(&v, 28 + 1281, all, FRAME_MODE_TUN,
		   "virtio-net header: more UDP segments than Linux sends at once",
		   "UDP GSO of 129 segments");
	v = gso_tcp4();
	v.flags |= 0x04;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN, "virtio-net header: unknown flags",
		   "flag 0x04 (RSC_INFO)");
	v.flags = FRAME_VNET_F_NEEDS_CSUM | FRAME_VNET_F_DATA_VALID;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN,
		   "virtio-net header: NEEDS_CSUM together with DATA_VALID",
		   "NEEDS_CSUM with DATA_VALID");
	v = gso_tcp4();
	check_vnet(&v, 3000, FRAME_FEAT_VNET_HDR, FRAME_MODE_TUN,
		   "virtio-net header: NEEDS_CSUM, but CSUM not agreed", "NEEDS_CSUM without CSUM");
	v.csum_start = 2990;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN,
		   "virtio-net header: checksum field beyond the packet",
		   "checksum field past the end");
	v.csum_start = 0xffff;
	v.csum_offset = 0xffff;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN,
		   "virtio-net header: checksum field beyond the packet",
		   "csum_start + csum_offset near 2^17");
	v = gso_tcp4();
	v.csum_start = 10;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN,
		   "virtio-net header: csum_start inside the network header",
		   "csum_start 10 in TUN mode");
	v.csum_start = 30;
	check_vnet(&v, 3000, all, FRAME_MODE_TAP,
		   "virtio-net header: csum_start inside the network header",
		   "csum_start 30 in TAP mode");
	v = plain;
	v.csum_offset = 16;
	check_vnet(&v, 60, all, FRAME_MODE_TUN,
		   "virtio-net header: checksum offsets without NEEDS_CSUM",
		   "csum_offset without NEEDS_CSUM");
	v = gso_tcp4();
	v.hdr_len = 3001;
	check_vnet(&v, 3000, all, FRAME_MODE_TUN, "virtio-net header: hdr_len beyond the packet",
		   "hdr_len past the end");
}

/* PACKETs with FRAME_F_VNET: the header is taken out, checked, and not in the payload. */
static void test_vnet_frames(void)
{
	struct frame_limits lim = limits(4000, FRAME_FEAT_ALL, FRAME_MODE_TUN);
	uint8_t payload[FRAME_VNET_HDR_LEN + 100], got[RING_SIZE], raw[FRAME_VNET_HDR_LEN];
	struct frame_vnet v = gso_tcp4();
	int bad_ok = 0, bad_copy = 0, bad_refuse = 0;
	struct ring r;

	v.hdr_len = 52;
	v.csum_start = 20;
	fill_pattern(payload, sizeof(payload), 77);
	vnet_encode(&v, payload);
	for (size_t pos = 0; pos < RING_SIZE; pos++) {
		struct iovec s[2];
		struct frame f;
		size_t total;

		ring_at(&r, pos, 0);
		ring_spans(&r, RING_SIZE, s);
		total = frame_write(s, FRAME_PACKET, FRAME_F_VNET, payload, sizeof(payload));
		if (frame_parse(s, total, &lim, &f) != FRAME_OK) {
			bad_ok++;
			continue;
		}
		if (memcmp(f.vnet, payload, FRAME_VNET_HDR_LEN) || gather(f.payload, got) != 100 ||
		    memcmp(got, payload + FRAME_VNET_HDR_LEN, 100))
			bad_copy++;

		/* the same frame with a header the kernel must not get */
		r.buf[(pos + FRAME_HDR_LEN + 1) % RING_SIZE] = FRAME_VNET_GSO_UDP;
		if (frame_parse(s, total, &lim, &f) != FRAME_ERR_VNET)
			bad_refuse++;
	}
	ok(!bad_ok, "PACKETs with a virtio-net header parse at every position");
	ok(!bad_copy, "header copied into f.vnet, payload spans start after it");
	ok(!bad_refuse, "a bad virtio-net header is FRAME_ERR_VNET at every position");
	frame_vnet_decode(payload, &v);
	vnet_encode(&v, raw);
	ok(!memcmp(raw, payload, sizeof(raw)), "virtio-net header decode/encode round trip");
}

static void test_seal_vnet(void)
{
	struct frame_limits lim = limits(4000, FRAME_FEAT_ALL, FRAME_MODE_TUN);
	uint8_t pkt[100], raw[FRAME_VNET_HDR_LEN], got[RING_SIZE];
	struct frame_vnet v = gso_tcp4();
	int bad = 0;
	struct ring r;
	char buf[64];

	v.hdr_len = 52;
	v.csum_start = 20;
	vnet_encode(&v, raw);
	fill_pattern(pkt, sizeof(pkt), 5);
	for (size_t pos = 0; pos < RING_SIZE; pos++) {
		struct iovec s[2], p[2];
		struct frame f;
		size_t total;

		/* a readv() put the packet after room for both headers, the kernel's aside */
		ring_at(&r, pos, 0xee);
		ring_spans(&r, RING_SIZE, s);
		p[0] = s[0];
		p[1] = s[1];
		frame_iov_advance(p, FRAME_HDR_LEN + FRAME_VNET_HDR_LEN);
		for (size_t i = 0; i < sizeof(pkt); i++)
			r.buf[(pos + FRAME_HDR_LEN + FRAME_VNET_HDR_LEN + i) % RING_SIZE] = pkt[i];
		total = frame_seal_vnet(s, raw, sizeof(pkt));
		if (total != frame_total(FRAME_VNET_HDR_LEN + sizeof(pkt)) ||
		    frame_parse(s, total, &lim, &f) != FRAME_OK || !(f.flags & FRAME_F_VNET) ||
		    memcmp(f.vnet, raw, sizeof(raw)) || gather(f.payload, got) != sizeof(pkt) ||
		    memcmp(got, pkt, sizeof(pkt)))
			bad++;
	}
	ok(!bad, "frame_seal_vnet: header, virtio-net header and packet parse back at every "
		 "position");
	ring_at(&r, 0, 0);
	{
		struct iovec s[2];

		ring_spans(&r, frame_total(FRAME_VNET_HDR_LEN + sizeof(pkt)) - 1, s);
		ok(frame_seal_vnet(s, raw, sizeof(pkt)) == 0,
		   "frame_seal_vnet refuses spans one byte too short");
	}
	ok(!strcmp(frame_features_text(0, buf, sizeof(buf)), "none"),
	   "frame_features_text: none");
	ok(!strcmp(frame_features_text(FRAME_FEAT_ALL, buf, sizeof(buf)),
		   "vnet-hdr,csum,tso4,tso6,tso-ecn,uso"),
	   "frame_features_text: every feature, in bit order");
	ok(!strcmp(frame_features_text(FRAME_FEAT_VNET_HDR | FRAME_FEAT_TSO6 | (1u << 20), buf,
				       sizeof(buf)),
		   "vnet-hdr,tso6"),
	   "frame_features_text: reserved bits not named");
}

static void test_close(void)
{
	const char *why = "bad magic\n\x01 from peer";
	struct iovec s[2];
	struct frame f;
	struct ring r;
	char reason[64], tiny[5];
	size_t total;

	ring_at(&r, RING_SIZE - 10, 0);
	ring_spans(&r, RING_SIZE, s);
	total = frame_close_write(s, why);
	ok(frame_parse(s, total, &no_limits, &f) == FRAME_OK && f.type == FRAME_CLOSE &&
	   f.length == strlen(why), "CLOSE with a reason parses");
	frame_close_reason(&f, reason, sizeof(reason));
	ok(!strcmp(reason, "bad magic?? from peer"), "its reason made printable: '%s'", reason);
	frame_close_reason(&f, tiny, sizeof(tiny));
	ok(!strcmp(tiny, "bad "), "and truncated to the buffer: '%s'", tiny);
}

int main(void)
{
	test_sizes();
	test_packet_everywhere();
	test_seal_vnet();
	test_sequence();
	test_truncated();
	test_malformed_headers();
	test_padding();
	test_seal();
	test_hello();
	test_vnet_check();
	test_vnet_frames();
	test_close();
	return done_testing();
}
