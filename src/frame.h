/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Frames on the vchan byte stream: an 8-byte header before each packet, the
 * HELLO handshake that agrees on limits and offloads, and the checks that keep
 * whatever the peer wrote from reaching the kernel unless it is well formed.
 * docs/protocol.md is the specification; this is one implementation of it.
 *
 * Nothing here knows about TUN, netlink, the configuration or Xen. Input is
 * the readable part of a ring as at most two spans (the second one only where
 * the ring wraps), and output is built into the writable part the same way,
 * so that payloads go between the ring and the TUN fd with readv()/writev()
 * and are never copied in between.
 *
 * Trust: the spans point into memory the peer shares and may rewrite at any
 * moment. Everything that decides what we do (the header, the virtio-net
 * header, HELLO's fields) is copied out once and checked on the copy; the
 * packet bytes themselves are opaque and go to the kernel as they are.
 */
#ifndef VCHAN_TUN_FRAME_H
#define VCHAN_TUN_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define FRAME_MAGIC		0xa7u
#define FRAME_HDR_LEN		8u
#define FRAME_ALIGN		8u
#define FRAME_VERSION		1u

/* No frame can be longer than the largest vchan ring (order 20) holds. */
#define FRAME_PAYLOAD_LIMIT	((1u << 20) - FRAME_HDR_LEN)

#define FRAME_HELLO_LEN		16u	/* what version 1 writes */
#define FRAME_HELLO_MAX		256u	/* later versions may append fields */
#define FRAME_CLOSE_MAX		256u

/* The smallest MTU a HELLO may announce (IPv4's minimum). */
#define FRAME_MTU_MIN		68u
#define FRAME_MTU_MAX		65535u

/* Largest packet GSO hands a TUN/TAP device (Linux's GSO_LEGACY_MAX_SIZE). */
#define FRAME_GSO_MAX		65536u
/*
 * The smallest segments a super-packet may be cut into, so that one frame
 * cannot make the receiving kernel send tens of thousands of packets: TCP's
 * gso_size is at least Linux's smallest MSS (net.ipv4.tcp_min_snd_mss's
 * default), and a UDP super-packet has at most the segments a Linux sender
 * makes (UDP_MAX_SEGMENTS).
 */
#define FRAME_GSO_TCP_MIN	48u
#define FRAME_GSO_UDP_MAX_SEGS	128u
/* What TAP mode adds to the MTU: an Ethernet header and one VLAN tag. */
#define FRAME_ETH_OVERHEAD	18u

enum frame_type {
	FRAME_HELLO = 1,
	FRAME_PACKET = 2,
	FRAME_CLOSE = 3,
};

/* Header flags. The only one so far is for PACKET frames. */
#define FRAME_F_VNET		0x0001u	/* payload starts with a virtio-net header */

enum frame_mode {
	FRAME_MODE_NONE = 0,	/* in struct frame_limits: no handshake yet */
	FRAME_MODE_TUN = 1,	/* IP packets */
	FRAME_MODE_TAP = 2,	/* Ethernet frames */
};

/* Feature bits in HELLO; each needs the ones it depends on (see protocol.md). */
#define FRAME_FEAT_VNET_HDR	(1u << 0)
#define FRAME_FEAT_CSUM		(1u << 1)
#define FRAME_FEAT_TSO4		(1u << 2)
#define FRAME_FEAT_TSO6		(1u << 3)
#define FRAME_FEAT_TSO_ECN	(1u << 4)
#define FRAME_FEAT_USO		(1u << 5)
#define FRAME_FEAT_GSO		(FRAME_FEAT_TSO4 | FRAME_FEAT_TSO6 | FRAME_FEAT_TSO_ECN | \
				 FRAME_FEAT_USO)
#define FRAME_FEAT_ALL		(FRAME_FEAT_VNET_HDR | FRAME_FEAT_CSUM | FRAME_FEAT_GSO)

/* struct virtio_net_hdr (legacy, 10 bytes), little-endian on the wire. */
#define FRAME_VNET_HDR_LEN	10u
#define FRAME_VNET_F_NEEDS_CSUM	0x01u
#define FRAME_VNET_F_DATA_VALID	0x02u
#define FRAME_VNET_GSO_NONE	0x00u
#define FRAME_VNET_GSO_TCPV4	0x01u
#define FRAME_VNET_GSO_UDP	0x03u	/* UFO: obsolete, always refused */
#define FRAME_VNET_GSO_TCPV6	0x04u
#define FRAME_VNET_GSO_UDP_L4	0x05u
#define FRAME_VNET_GSO_ECN	0x80u

struct frame_vnet {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

/*
 * What frame_parse() accepts: all zero before the handshake (then only HELLO
 * and CLOSE are valid), the outcome of frame_agree() after it (then only
 * PACKET and CLOSE).
 */
struct frame_limits {
	uint32_t max_payload;	/* longest PACKET payload either side may send */
	uint32_t features;	/* FRAME_FEAT_* both offered */
	uint32_t mtu;		/* the smaller of the two MTUs */
	uint16_t version;
	uint8_t mode;		/* enum frame_mode */
};

enum frame_status {
	FRAME_OK = 0,
	FRAME_MORE = 1,		/* the frame is not all there yet: not an error */
	FRAME_ERR_MAGIC = -1,
	FRAME_ERR_TYPE = -2,	/* unknown type, or one not valid in this state */
	FRAME_ERR_FLAGS = -3,
	FRAME_ERR_LENGTH = -4,
	FRAME_ERR_PADDING = -5,
	FRAME_ERR_VNET = -6,	/* the virtio-net header of a PACKET */
	FRAME_ERR_HELLO = -7,	/* a HELLO's fields */
};

struct frame {
	uint8_t type;
	uint16_t flags;
	uint32_t length;		/* payload bytes, as in the header */
	size_t total;			/* header, payload and padding: consume this much */
	/*
	 * The payload, inside the caller's spans. For a PACKET with FRAME_F_VNET
	 * it starts after the virtio-net header, whose checked copy is vnet[]:
	 * write vnet[] and then these spans, never the header in shared memory.
	 */
	struct iovec payload[2];
	uint8_t vnet[FRAME_VNET_HDR_LEN];
	const char *why;		/* on an error, what exactly was wrong */
};

struct frame_hello {
	uint16_t version;
	uint8_t mode;
	uint32_t mtu;
	uint32_t max_payload;		/* the longest PACKET payload the sender accepts */
	uint32_t features;
};

static inline size_t frame_pad(size_t len)
{
	return (len + FRAME_ALIGN - 1) & ~(size_t)(FRAME_ALIGN - 1);
}

/* Bytes a frame with this much payload takes on the stream. */
static inline size_t frame_total(size_t payload)
{
	return frame_pad(FRAME_HDR_LEN + payload);
}

/* The longest payload whose whole frame fits in space bytes. */
static inline size_t frame_room(size_t space)
{
	space &= ~(size_t)(FRAME_ALIGN - 1);
	return space > FRAME_HDR_LEN ? space - FRAME_HDR_LEN : 0;
}

/* Drops n bytes (at most what they hold) from the front of two spans. */
void frame_iov_advance(struct iovec span[2], size_t n);

/* At most n bytes from offset off of the spans, as spans of their own. */
void frame_iov_slice(const struct iovec in[2], size_t off, size_t n, struct iovec out[2]);

/*
 * Looks at the first frame in span[0..1], of which avail bytes are valid.
 * FRAME_OK fills *f; FRAME_MORE asks for more bytes; anything else is a
 * protocol violation, with f->why saying which (and f->type, flags and
 * length as far as they were read). After a violation the stream cannot be
 * resynchronised: count it and reset the channel.
 */
enum frame_status frame_parse(const struct iovec span[2], size_t avail,
			      const struct frame_limits *lim, struct frame *f);

/* A name for a status, for counters and logs. */
const char *frame_strerror(enum frame_status st);

/* Fills hdr[] for a frame and returns the bytes the whole frame takes. */
size_t frame_header_build(uint8_t hdr[FRAME_HDR_LEN], uint8_t type, uint16_t flags,
			  uint32_t length);

/*
 * For a payload the caller has already put at offset FRAME_HDR_LEN of the
 * spans (readv from the TUN fd): writes the header in front of it and the
 * zero padding after it. Returns the bytes to commit, or 0 if the spans
 * cannot hold the whole frame.
 */
size_t frame_seal(const struct iovec span[2], uint8_t type, uint16_t flags, uint32_t length);

/*
 * The same for a PACKET whose packet (pkt_len bytes) the caller has put at
 * offset FRAME_HDR_LEN + FRAME_VNET_HDR_LEN, its virtio-net header read aside
 * into vnet[] (and checked): writes vnet[] in front of the packet, then the
 * header with flag VNET and the padding. Returns the bytes to commit, or 0.
 */
size_t frame_seal_vnet(const struct iovec span[2], const uint8_t vnet[FRAME_VNET_HDR_LEN],
		       uint32_t pkt_len);

/* Header, a copy of payload and padding. Returns the bytes to commit, or 0. */
size_t frame_write(const struct iovec span[2], uint8_t type, uint16_t flags,
		   const void *payload, uint32_t length);

/* A whole HELLO frame; returns the bytes to commit, or 0 if it does not fit. */
size_t frame_hello_write(const struct iovec span[2], const struct frame_hello *h);

/* Decodes and checks the HELLO that frame_parse() returned in f. */
enum frame_status frame_hello_parse(const struct frame *f, struct frame_hello *h,
				    const char **why);

/*
 * Combines our HELLO and the peer's into the limits both sides then use.
 * Returns 0, or -1 (mode mismatch, limits too small to carry the MTU) with
 * the reason in buf.
 */
int frame_agree(const struct frame_hello *ours, const struct frame_hello *theirs,
		struct frame_limits *lim, char *buf, size_t len);

/*
 * The longest PACKET payload a device of this mode and MTU produces with
 * these features: what to announce as max_payload.
 */
uint32_t frame_payload_max(uint8_t mode, uint32_t mtu, uint32_t features);

/* A features word with every bit whose prerequisites are missing removed. */
uint32_t frame_features_normalize(uint32_t features);

/* "vnet-hdr,csum,tso4" (protocol.md's names, lower case), or "none". */
const char *frame_features_text(uint32_t features, char *buf, size_t len);

/* A whole CLOSE frame with a reason (truncated to FRAME_CLOSE_MAX). */
size_t frame_close_write(const struct iovec span[2], const char *reason);

/* The reason of a CLOSE frame, as printable ASCII (NUL-terminated) in buf. */
void frame_close_reason(const struct frame *f, char *buf, size_t len);

void frame_vnet_decode(const uint8_t raw[FRAME_VNET_HDR_LEN], struct frame_vnet *v);

/*
 * Checks a virtio-net header against the packet after it (pkt_len bytes),
 * the agreed features and mode. NULL if the kernel may have it, else why not.
 */
const char *frame_vnet_check(const struct frame_vnet *v, size_t pkt_len, uint32_t features,
			     uint8_t mode);

#endif
