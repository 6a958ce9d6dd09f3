// SPDX-License-Identifier: GPL-2.0-only
/*
 * Frames on the vchan byte stream: parsing what the peer wrote, building what
 * we write, and the HELLO handshake. frame.h has the API, docs/protocol.md the
 * format.
 */
#include <stdio.h>
#include <string.h>

#include "frame.h"

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

/*
 * Byte by byte with atomic loads: a plain memcpy from memory the peer can
 * rewrite lets the compiler fetch a byte again where we use the copy, and then
 * what we checked would not be what we act on.
 */
static void copy_once(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* The spans cut to avail bytes; returns what they then hold. */
static size_t spans_clamp(const struct iovec in[2], size_t avail, struct iovec out[2])
{
	out[0] = in[0];
	out[1] = in[1];
	if (out[0].iov_len > avail)
		out[0].iov_len = avail;
	avail -= out[0].iov_len;
	if (out[1].iov_len > avail)
		out[1].iov_len = avail;
	return out[0].iov_len + out[1].iov_len;
}

static size_t spans_len(const struct iovec span[2])
{
	return span[0].iov_len + span[1].iov_len;
}

/* Copies n bytes from offset off of the spans, which the caller knows are there. */
static void spans_read(uint8_t *dst, const struct iovec span[2], size_t off, size_t n)
{
	for (int i = 0; i < 2 && n; i++) {
		size_t len = span[i].iov_len, k;

		if (off >= len) {
			off -= len;
			continue;
		}
		k = len - off < n ? len - off : n;
		copy_once(dst, (const uint8_t *)span[i].iov_base + off, k);
		dst += k;
		n -= k;
		off = 0;
	}
}

/* Writes n bytes of src (zeros if src is NULL) at offset off of the spans. */
static void spans_write(const struct iovec span[2], size_t off, const uint8_t *src, size_t n)
{
	for (int i = 0; i < 2 && n; i++) {
		size_t len = span[i].iov_len, k;
		uint8_t *dst;

		if (off >= len) {
			off -= len;
			continue;
		}
		k = len - off < n ? len - off : n;
		dst = (uint8_t *)span[i].iov_base + off;
		if (src) {
			memcpy(dst, src, k);
			src += k;
		} else {
			memset(dst, 0, k);
		}
		n -= k;
		off = 0;
	}
}

void frame_iov_advance(struct iovec span[2], size_t n)
{
	if (n >= span[0].iov_len) {
		n -= span[0].iov_len;
		span[0] = span[1];
		span[1].iov_base = NULL;
		span[1].iov_len = 0;
	}
	if (n > span[0].iov_len)
		n = span[0].iov_len;
	if (!n)
		return;
	span[0].iov_base = (uint8_t *)span[0].iov_base + n;
	span[0].iov_len -= n;
	if (!span[0].iov_len) {
		span[0] = span[1];
		span[1].iov_base = NULL;
		span[1].iov_len = 0;
	}
}

void frame_iov_slice(const struct iovec in[2], size_t off, size_t n, struct iovec out[2])
{
	out[0] = in[0];
	out[1] = in[1];
	frame_iov_advance(out, off);
	if (out[0].iov_len >= n) {
		out[0].iov_len = n;
		out[1].iov_base = NULL;
		out[1].iov_len = 0;
		return;
	}
	n -= out[0].iov_len;
	if (out[1].iov_len > n)
		out[1].iov_len = n;
}

static enum frame_status bad(struct frame *f, enum frame_status st, const char *why)
{
	f->why = why;
	return st;
}

/* The smallest packet the kernel takes: one byte of IP, or an Ethernet header. */
static uint32_t min_packet(uint8_t mode)
{
	return mode == FRAME_MODE_TAP ? 14 : 1;
}

static enum frame_status check_packet(struct frame *f, const struct frame_limits *lim)
{
	uint32_t min = min_packet(lim->mode);

	if (lim->mode == FRAME_MODE_NONE)
		return bad(f, FRAME_ERR_TYPE, "PACKET before the handshake");
	if (f->flags & ~FRAME_F_VNET)
		return bad(f, FRAME_ERR_FLAGS, "unknown flags on a PACKET");
	if (f->flags & FRAME_F_VNET) {
		if (!(lim->features & FRAME_FEAT_VNET_HDR))
			return bad(f, FRAME_ERR_FLAGS,
				   "virtio-net header, but VNET_HDR not agreed");
		min += FRAME_VNET_HDR_LEN;
	}
	if (f->length > lim->max_payload || f->length > FRAME_PAYLOAD_LIMIT)
		return bad(f, FRAME_ERR_LENGTH, "PACKET longer than agreed");
	if (f->length < min)
		return bad(f, FRAME_ERR_LENGTH, "PACKET shorter than the smallest packet");
	return FRAME_OK;
}

static enum frame_status check_header(struct frame *f, const struct frame_limits *lim)
{
	switch (f->type) {
	case FRAME_HELLO:
		if (lim->mode != FRAME_MODE_NONE)
			return bad(f, FRAME_ERR_TYPE, "HELLO after the handshake");
		if (f->flags)
			return bad(f, FRAME_ERR_FLAGS, "unknown flags on a HELLO");
		if (f->length < FRAME_HELLO_LEN || f->length > FRAME_HELLO_MAX)
			return bad(f, FRAME_ERR_LENGTH, "HELLO of a bad length");
		return FRAME_OK;
	case FRAME_PACKET:
		return check_packet(f, lim);
	case FRAME_CLOSE:
		if (f->flags)
			return bad(f, FRAME_ERR_FLAGS, "unknown flags on a CLOSE");
		if (f->length > FRAME_CLOSE_MAX)
			return bad(f, FRAME_ERR_LENGTH, "CLOSE longer than allowed");
		return FRAME_OK;
	default:
		return bad(f, FRAME_ERR_TYPE, "unknown frame type");
	}
}

static enum frame_status check_padding(struct frame *f, const struct iovec s[2])
{
	uint8_t pad[FRAME_ALIGN] = { 0 };
	size_t off = FRAME_HDR_LEN + f->length, n = f->total - off;

	spans_read(pad, s, off, n);
	for (size_t i = 0; i < n; i++)
		if (pad[i])
			return bad(f, FRAME_ERR_PADDING, "non-zero padding");
	return FRAME_OK;
}

/* Takes the virtio-net header off the payload into f->vnet and checks it. */
static enum frame_status take_vnet(struct frame *f, const struct frame_limits *lim)
{
	struct frame_vnet v;
	const char *why;

	spans_read(f->vnet, f->payload, 0, FRAME_VNET_HDR_LEN);
	frame_vnet_decode(f->vnet, &v);
	why = frame_vnet_check(&v, f->length - FRAME_VNET_HDR_LEN, lim->features, lim->mode);
	if (why)
		return bad(f, FRAME_ERR_VNET, why);
	frame_iov_advance(f->payload, FRAME_VNET_HDR_LEN);
	return FRAME_OK;
}

enum frame_status frame_parse(const struct iovec span[2], size_t avail,
			      const struct frame_limits *lim, struct frame *f)
{
	uint8_t hdr[FRAME_HDR_LEN] = { 0 };
	struct iovec s[2];
	size_t have = spans_clamp(span, avail, s);
	enum frame_status st;

	memset(f, 0, sizeof(*f));
	if (have < FRAME_HDR_LEN)
		return FRAME_MORE;

	spans_read(hdr, s, 0, sizeof(hdr));
	f->type = hdr[1];
	f->flags = get_le16(hdr + 2);
	f->length = get_le32(hdr + 4);
	if (hdr[0] != FRAME_MAGIC)
		return bad(f, FRAME_ERR_MAGIC, "bad magic");
	st = check_header(f, lim);
	if (st != FRAME_OK)
		return st;

	/* length is bounded now, so this cannot overflow even with a 32-bit size_t */
	f->total = frame_total(f->length);
	if (have < f->total)
		return FRAME_MORE;
	st = check_padding(f, s);
	if (st != FRAME_OK)
		return st;

	frame_iov_slice(s, FRAME_HDR_LEN, f->length, f->payload);
	if (f->flags & FRAME_F_VNET)
		return take_vnet(f, lim);
	return FRAME_OK;
}

const char *frame_strerror(enum frame_status st)
{
	switch (st) {
	case FRAME_OK:
		return "ok";
	case FRAME_MORE:
		return "incomplete";
	case FRAME_ERR_MAGIC:
		return "bad magic";
	case FRAME_ERR_TYPE:
		return "bad type";
	case FRAME_ERR_FLAGS:
		return "bad flags";
	case FRAME_ERR_LENGTH:
		return "bad length";
	case FRAME_ERR_PADDING:
		return "bad padding";
	case FRAME_ERR_VNET:
		return "bad virtio-net header";
	case FRAME_ERR_HELLO:
		return "bad HELLO";
	}
	return "unknown status";
}

size_t frame_header_build(uint8_t hdr[FRAME_HDR_LEN], uint8_t type, uint16_t flags,
			  uint32_t length)
{
	hdr[0] = FRAME_MAGIC;
	hdr[1] = type;
	put_le16(hdr + 2, flags);
	put_le32(hdr + 4, length);
	return frame_total(length);
}

size_t frame_seal(const struct iovec span[2], uint8_t type, uint16_t flags, uint32_t length)
{
	uint8_t hdr[FRAME_HDR_LEN];
	size_t total, end = FRAME_HDR_LEN + (size_t)length;

	if (length > FRAME_PAYLOAD_LIMIT)
		return 0;
	total = frame_header_build(hdr, type, flags, length);
	if (spans_len(span) < total)
		return 0;
	spans_write(span, 0, hdr, sizeof(hdr));
	spans_write(span, end, NULL, total - end);
	return total;
}

size_t frame_seal_vnet(const struct iovec span[2], const uint8_t vnet[FRAME_VNET_HDR_LEN],
		       uint32_t pkt_len)
{
	if (pkt_len > FRAME_PAYLOAD_LIMIT - FRAME_VNET_HDR_LEN ||
	    spans_len(span) < frame_total(pkt_len + FRAME_VNET_HDR_LEN))
		return 0;
	spans_write(span, FRAME_HDR_LEN, vnet, FRAME_VNET_HDR_LEN);
	return frame_seal(span, FRAME_PACKET, FRAME_F_VNET, pkt_len + FRAME_VNET_HDR_LEN);
}

size_t frame_write(const struct iovec span[2], uint8_t type, uint16_t flags,
		   const void *payload, uint32_t length)
{
	if (length > FRAME_PAYLOAD_LIMIT || spans_len(span) < frame_total(length))
		return 0;
	spans_write(span, FRAME_HDR_LEN, payload, length);
	return frame_seal(span, type, flags, length);
}

/* --- HELLO ------------------------------------------------------------------ */

size_t frame_hello_write(const struct iovec span[2], const struct frame_hello *h)
{
	uint8_t p[FRAME_HELLO_LEN];

	put_le16(p, h->version);
	p[2] = h->mode;
	p[3] = 0;
	put_le32(p + 4, h->mtu);
	put_le32(p + 8, h->max_payload);
	put_le32(p + 12, h->features);
	return frame_write(span, FRAME_HELLO, 0, p, sizeof(p));
}

enum frame_status frame_hello_parse(const struct frame *f, struct frame_hello *h,
				    const char **why)
{
	uint8_t p[FRAME_HELLO_LEN] = { 0 };

	*why = NULL;
	memset(h, 0, sizeof(*h));
	if (f->type != FRAME_HELLO || f->length < FRAME_HELLO_LEN) {
		*why = "not a HELLO";
		return FRAME_ERR_HELLO;
	}
	/* bytes after the first 16 belong to later versions: ignored */
	spans_read(p, f->payload, 0, sizeof(p));
	h->version = get_le16(p);
	h->mode = p[2];
	h->mtu = get_le32(p + 4);
	h->max_payload = get_le32(p + 8);
	h->features = get_le32(p + 12);

	if (h->version < 1)
		*why = "HELLO with protocol version 0";
	else if (h->mode != FRAME_MODE_TUN && h->mode != FRAME_MODE_TAP)
		*why = "HELLO with an unknown mode";
	else if (h->mtu < FRAME_MTU_MIN || h->mtu > FRAME_MTU_MAX)
		*why = "HELLO with an MTU out of range";
	else if (h->max_payload < FRAME_MTU_MIN || h->max_payload > FRAME_PAYLOAD_LIMIT)
		*why = "HELLO with a maximum payload out of range";
	return *why ? FRAME_ERR_HELLO : FRAME_OK;
}

static const char *mode_name(uint8_t mode)
{
	return mode == FRAME_MODE_TUN ? "tun" : mode == FRAME_MODE_TAP ? "tap" : "unknown";
}

uint32_t frame_features_normalize(uint32_t features)
{
	features &= FRAME_FEAT_ALL;
	if (!(features & FRAME_FEAT_VNET_HDR))
		features &= ~(FRAME_FEAT_CSUM | FRAME_FEAT_GSO);
	if (!(features & FRAME_FEAT_CSUM))
		features &= ~FRAME_FEAT_GSO;
	if (!(features & (FRAME_FEAT_TSO4 | FRAME_FEAT_TSO6)))
		features &= ~FRAME_FEAT_TSO_ECN;
	return features;
}

const char *frame_features_text(uint32_t features, char *buf, size_t len)
{
	static const char *const names[] = { "vnet-hdr", "csum", "tso4", "tso6", "tso-ecn",
					     "uso" };
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned int bit = 0; bit < sizeof(names) / sizeof(names[0]); bit++) {
		int n;

		if (!(features & (1u << bit)))
			continue;
		n = snprintf(buf + at, len - at, "%s%s", at ? "," : "", names[bit]);
		if (n < 0 || (size_t)n >= len - at)
			break;
		at += (size_t)n;
	}
	return buf[0] ? buf : "none";
}

uint32_t frame_payload_max(uint8_t mode, uint32_t mtu, uint32_t features)
{
	uint64_t len = mtu;

	features = frame_features_normalize(features);
	if ((features & (FRAME_FEAT_TSO4 | FRAME_FEAT_TSO6 | FRAME_FEAT_USO)) &&
	    len < FRAME_GSO_MAX)
		len = FRAME_GSO_MAX;
	if (mode == FRAME_MODE_TAP)
		len += FRAME_ETH_OVERHEAD;
	if (features & FRAME_FEAT_VNET_HDR)
		len += FRAME_VNET_HDR_LEN;
	return len > FRAME_PAYLOAD_LIMIT ? FRAME_PAYLOAD_LIMIT : (uint32_t)len;
}

#define MIN(a, b) ((a) < (b) ? (a) : (b))

int frame_agree(const struct frame_hello *ours, const struct frame_hello *theirs,
		struct frame_limits *lim, char *buf, size_t len)
{
	uint32_t need;

	memset(lim, 0, sizeof(*lim));
	if (ours->mode != theirs->mode) {
		snprintf(buf, len, "mode mismatch: we are %s, the peer is %s",
			 mode_name(ours->mode), mode_name(theirs->mode));
		return -1;
	}
	lim->version = MIN(ours->version, theirs->version);
	lim->mode = ours->mode;
	lim->mtu = MIN(ours->mtu, theirs->mtu);
	lim->max_payload = MIN(ours->max_payload, theirs->max_payload);
	lim->features = frame_features_normalize(ours->features & theirs->features);

	need = frame_payload_max(lim->mode, lim->mtu, lim->features & ~FRAME_FEAT_GSO);
	if (lim->max_payload < need) {
		snprintf(buf, len, "maximum payload %u is too small for MTU %u (needs %u)",
			 lim->max_payload, lim->mtu, need);
		memset(lim, 0, sizeof(*lim));
		return -1;
	}
	/* super-packets that could not cross are not worth asking the kernel for */
	if (lim->max_payload < frame_payload_max(lim->mode, lim->mtu, lim->features))
		lim->features &= ~FRAME_FEAT_GSO;
	return 0;
}

/* --- CLOSE ------------------------------------------------------------------ */

size_t frame_close_write(const struct iovec span[2], const char *reason)
{
	size_t n = reason ? strnlen(reason, FRAME_CLOSE_MAX) : 0;

	return frame_write(span, FRAME_CLOSE, 0, reason, (uint32_t)n);
}

void frame_close_reason(const struct frame *f, char *buf, size_t len)
{
	size_t n = f->length;

	if (!len)
		return;
	if (f->type != FRAME_CLOSE)
		n = 0;
	if (n > len - 1)
		n = len - 1;
	spans_read((uint8_t *)buf, f->payload, 0, n);
	for (size_t i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			buf[i] = '?';
	buf[n] = '\0';
}

/* --- virtio-net header ------------------------------------------------------ */

void frame_vnet_decode(const uint8_t raw[FRAME_VNET_HDR_LEN], struct frame_vnet *v)
{
	v->flags = raw[0];
	v->gso_type = raw[1];
	v->hdr_len = get_le16(raw + 2);
	v->gso_size = get_le16(raw + 4);
	v->csum_start = get_le16(raw + 6);
	v->csum_offset = get_le16(raw + 8);
}

/* The feature a GSO type needs; 0 for a type we never accept. */
static uint32_t gso_feature(uint8_t gso)
{
	switch (gso) {
	case FRAME_VNET_GSO_TCPV4:
		return FRAME_FEAT_TSO4;
	case FRAME_VNET_GSO_TCPV6:
		return FRAME_FEAT_TSO6;
	case FRAME_VNET_GSO_UDP_L4:
		return FRAME_FEAT_USO;
	default:
		return 0;
	}
}

static const char *check_csum(const struct frame_vnet *v, size_t pkt_len, uint32_t features,
			      uint8_t mode)
{
	/* a transport checksum starts after the smallest IPv4 header at least */
	size_t first = (mode == FRAME_MODE_TAP ? 14 : 0) + 20;

	if ((v->flags & FRAME_VNET_F_NEEDS_CSUM) && (v->flags & FRAME_VNET_F_DATA_VALID))
		return "virtio-net header: NEEDS_CSUM together with DATA_VALID";
	if (!(v->flags & FRAME_VNET_F_NEEDS_CSUM)) {
		if (v->csum_start || v->csum_offset)
			return "virtio-net header: checksum offsets without NEEDS_CSUM";
		return NULL;
	}
	if (!(features & FRAME_FEAT_CSUM))
		return "virtio-net header: NEEDS_CSUM, but CSUM not agreed";
	if (v->csum_start < first)
		return "virtio-net header: csum_start inside the network header";
	if ((size_t)v->csum_start + v->csum_offset + 2 > pkt_len)
		return "virtio-net header: checksum field beyond the packet";
	return NULL;
}

const char *frame_vnet_check(const struct frame_vnet *v, size_t pkt_len, uint32_t features,
			     uint8_t mode)
{
	uint8_t gso = v->gso_type & (uint8_t)~FRAME_VNET_GSO_ECN;
	bool ecn = v->gso_type & FRAME_VNET_GSO_ECN;
	uint32_t need;
	const char *why;

	if (!(features & FRAME_FEAT_VNET_HDR))
		return "virtio-net header, but VNET_HDR not agreed";
	if (v->flags & ~(FRAME_VNET_F_NEEDS_CSUM | FRAME_VNET_F_DATA_VALID))
		return "virtio-net header: unknown flags";
	why = check_csum(v, pkt_len, features, mode);
	if (why)
		return why;
	if (v->hdr_len > pkt_len)
		return "virtio-net header: hdr_len beyond the packet";

	if (gso == FRAME_VNET_GSO_NONE) {
		if (ecn)
			return "virtio-net header: ECN without GSO";
		if (v->gso_size)
			return "virtio-net header: gso_size without GSO";
		return NULL;
	}
	need = gso_feature(gso);
	if (!need)
		return "virtio-net header: unknown gso_type";
	if (!(features & need))
		return "virtio-net header: GSO type not agreed";
	if (ecn && (gso == FRAME_VNET_GSO_UDP_L4 || !(features & FRAME_FEAT_TSO_ECN)))
		return "virtio-net header: ECN not agreed";
	if (!(v->flags & FRAME_VNET_F_NEEDS_CSUM))
		return "virtio-net header: GSO without NEEDS_CSUM";
	if (!v->gso_size)
		return "virtio-net header: GSO with gso_size 0";
	/* each segment costs the receiving kernel a packet: no more than a sender makes */
	if (gso != FRAME_VNET_GSO_UDP_L4 && v->gso_size < FRAME_GSO_TCP_MIN)
		return "virtio-net header: TCP segments smaller than Linux's smallest MSS";
	if (gso == FRAME_VNET_GSO_UDP_L4 &&
	    (pkt_len - v->hdr_len + v->gso_size - 1) / v->gso_size > FRAME_GSO_UDP_MAX_SEGS)
		return "virtio-net header: more UDP segments than Linux sends at once";
	return NULL;
}
