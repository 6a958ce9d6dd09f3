// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for frame.c: the bytes a hostile peer wrote into our read
 * ring, split at an arbitrary point into the two spans the ring hands out,
 * parsed frame after frame the way the daemon does it, with the handshake
 * moving the limits on when a HELLO arrives.
 *
 * The first bytes of the input choose the split, how many bytes count as
 * available, and our side's HELLO; the rest is the stream, either as it is or
 * (one input in two) a list of frames that are built properly first, so that
 * the fuzzer also gets past the header to what is checked after it (HELLO's
 * fields, virtio-net headers). Each span is a heap block of exactly its size,
 * so ASan catches any read past it.
 *
 * Checked: no out-of-bounds access, no UB; an accepted frame has a sane
 * total (a multiple of 8 within what was available), payload spans inside
 * the input that add up to the length, a length within the limits, a
 * virtio-net header that frame_vnet_check() passes; it rebuilds to a frame
 * that parses the same; an error always comes with a reason.
 *
 *   build/fuzz/fuzz-frame -max_total_time=30   a bounded run (make fuzz-smoke: all)
 *   build/fuzz/fuzz-frame CORPUS    an open-ended one
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "fuzz-input.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz-frame: invariant broken: %s\n", what);
	abort();
}

static int inside(const struct iovec *io, const uint8_t *buf, size_t size)
{
	const uint8_t *p = io->iov_base;

	if (!io->iov_len)
		return 1;
	return p >= buf && p + io->iov_len <= buf + size;
}

/* Touches every payload byte, so ASan sees any span that strays. */
static unsigned int sum_spans(const struct iovec s[2])
{
	unsigned int sum = 0;

	for (int i = 0; i < 2; i++)
		for (size_t k = 0; k < s[i].iov_len; k++)
			sum += ((const uint8_t *)s[i].iov_base)[k];
	return sum;
}

static void gather(const struct iovec s[2], uint8_t *out)
{
	if (s[0].iov_len)
		memcpy(out, s[0].iov_base, s[0].iov_len);
	if (s[1].iov_len)
		memcpy(out + s[0].iov_len, s[1].iov_base, s[1].iov_len);
}

/* An accepted frame, rebuilt by our own writer, must parse back the same. */
static void check_rebuild(const struct frame *f, const struct frame_limits *lim)
{
	size_t vlen = (f->flags & FRAME_F_VNET) ? FRAME_VNET_HDR_LEN : 0;
	size_t total = frame_total(f->length);
	uint8_t *buf = malloc(total), *payload = malloc(f->length + 1);
	struct iovec s[2];
	struct frame g;

	if (!buf || !payload)
		abort();
	memcpy(payload, f->vnet, vlen);
	gather(f->payload, payload + vlen);
	/* split the rebuilt frame somewhere too */
	s[0].iov_base = buf;
	s[0].iov_len = total / 2;
	s[1].iov_base = buf + total / 2;
	s[1].iov_len = total - total / 2;
	if (frame_write(s, f->type, f->flags, payload, f->length) != total)
		fail("frame_write of an accepted frame");
	if (frame_parse(s, total, lim, &g) != FRAME_OK)
		fail("a rebuilt frame does not parse");
	if (g.type != f->type || g.flags != f->flags || g.length != f->length ||
	    g.total != f->total || memcmp(g.vnet, f->vnet, vlen))
		fail("a rebuilt frame parses differently");
	free(buf);
	free(payload);
}

static void check_ok(const struct frame *f, const struct frame_limits *lim, size_t avail,
		     const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t vlen = (f->flags & FRAME_F_VNET) ? FRAME_VNET_HDR_LEN : 0;
	struct frame_vnet v;

	if (f->total < FRAME_HDR_LEN || f->total % FRAME_ALIGN || f->total > avail)
		fail("total");
	if (f->total != frame_total(f->length))
		fail("total does not match length");
	for (int i = 0; i < 2; i++)
		if (!inside(&f->payload[i], a, alen) && !inside(&f->payload[i], b, blen))
			fail("payload span outside the input");
	if (f->payload[0].iov_len + f->payload[1].iov_len + vlen != f->length)
		fail("payload spans do not add up to the length");
	if (f->type == FRAME_PACKET && f->length > lim->max_payload)
		fail("PACKET longer than the limit");
	if (f->type != FRAME_PACKET && lim->mode != FRAME_MODE_NONE && f->type != FRAME_CLOSE)
		fail("non-PACKET accepted after the handshake");
	if (vlen) {
		frame_vnet_decode(f->vnet, &v);
		if (frame_vnet_check(&v, f->length - vlen, lim->features, lim->mode))
			fail("an accepted virtio-net header fails the check");
	}
	(void)sum_spans(f->payload);
	check_rebuild(f, lim);
}

/* What the daemon does with a frame, as far as frame.c is concerned. */
static void handle(const struct frame *f, const struct frame_hello *ours,
		   struct frame_limits *lim)
{
	struct frame_hello theirs;
	const char *why;
	char msg[128];

	if (f->type == FRAME_CLOSE) {
		char reason[FRAME_CLOSE_MAX + 1];

		frame_close_reason(f, reason, sizeof(reason));
		for (char *c = reason; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				fail("unprintable byte in a CLOSE reason");
		return;
	}
	if (f->type != FRAME_HELLO)
		return;
	if (frame_hello_parse(f, &theirs, &why) != FRAME_OK) {
		if (!why)
			fail("a refused HELLO without a reason");
		return;
	}
	if (frame_agree(ours, &theirs, lim, msg, sizeof(msg)) < 0)
		return;
	if (lim->max_payload > ours->max_payload || lim->max_payload > theirs.max_payload ||
	    lim->mtu > ours->mtu || (lim->features & ~ours->features) ||
	    lim->features != frame_features_normalize(lim->features))
		fail("agreement exceeds a side's offer");
}

/*
 * Structured input: records of u8 type, u8 flags, u16 length and the payload,
 * each written out as a well-formed frame. Returns the stream's length.
 */
static size_t build_stream(struct input *in, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (in->n) {
		uint8_t type = in_u8(in), flags = in_u8(in);
		size_t len = in_u16(in), t;
		struct iovec s[2] = { { out + n, cap - n }, { NULL, 0 } };

		if (len > in->n)
			len = in->n;
		t = frame_write(s, type, flags, in->p, (uint32_t)len);
		if (!t)
			break;
		in->p += len;
		in->n -= len;
		n += t;
	}
	return n;
}

static uint8_t *dup_span(const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	if (!b)
		abort();
	memcpy(b, p, n);
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct frame_hello ours = { .version = FRAME_VERSION };
	struct frame_limits lim = { 0 };
	uint8_t *a, *b, *built = NULL, mode;
	const uint8_t *stream;
	size_t split, cut, alen, blen, avail, len;
	struct iovec s[2];

	split = in_u16(&in);
	cut = in_u16(&in);
	ours.mode = (in_u8(&in) & 1) ? FRAME_MODE_TAP : FRAME_MODE_TUN;
	ours.mtu = 68u + in_u16(&in) % 9000u;
	ours.features = in_u8(&in);
	mode = in_u8(&in);
	ours.max_payload = frame_payload_max(ours.mode, ours.mtu, ours.features);
	/* sometimes start as if the handshake were done, to reach PACKETs at once */
	if (mode & 1) {
		lim.version = 1;
		lim.mode = ours.mode;
		lim.mtu = ours.mtu;
		lim.max_payload = ours.max_payload;
		lim.features = frame_features_normalize(ours.features);
	}
	if (mode & 2) {
		/* a frame takes at most 2 * (its record) + 7 bytes */
		size_t cap = 2 * in.n + 16;

		built = malloc(cap);
		if (!built)
			abort();
		len = build_stream(&in, built, cap);
		stream = built;
	} else {
		len = in.n;
		stream = in.p;
	}

	split = len ? split % (len + 1) : 0;
	alen = split;
	blen = len - split;
	a = dup_span(stream, alen);
	b = dup_span(stream + alen, blen);
	free(built);
	s[0].iov_base = a;
	s[0].iov_len = alen;
	s[1].iov_base = b;
	s[1].iov_len = blen;
	/* now and then fewer bytes count than the spans hold: nothing past them is read */
	avail = (cut & 0x8000) ? (cut & 0x7fff) % (len + 1) : len;

	for (;;) {
		struct frame f;
		enum frame_status st = frame_parse(s, avail, &lim, &f);

		if (st == FRAME_MORE)
			break;
		if (st != FRAME_OK) {
			if (st > 0 || !f.why)
				fail("an error without a reason");
			break;
		}
		check_ok(&f, &lim, avail, a, alen, b, blen);
		handle(&f, &ours, &lim);
		frame_iov_advance(s, f.total);
		avail -= f.total;
	}
	free(a);
	free(b);
	return 0;
}
