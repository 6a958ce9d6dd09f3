// SPDX-License-Identifier: GPL-2.0-only
/*
 * bad-peer: a hostile end of a vchan-tun link, for tests. It connects to a
 * vchan-tund (or offers it a channel), and on each connection breaks the
 * framing protocol (docs/protocol.md) in one way, then reports what the
 * daemon did about it.
 *
 *   bad-peer client SERVER_DOMID XS_PATH [--timeout SECS] ATTACK...
 *   bad-peer server PEER_DOMID XS_PATH [--timeout SECS] ATTACK...
 *
 * Attacks, one connection each, in the order given:
 *   magic         a frame with a bad magic byte
 *   type          a frame of an unknown type
 *   flags         a PACKET with an undefined flag
 *   length        a PACKET longer than the agreed maximum (header only)
 *   empty         a PACKET of length 0
 *   padding       a PACKET whose padding is not zero
 *   vnet          a PACKET with a virtio-net header nobody agreed to
 *   gso-size      after offering every offload: a TCP super-packet of gso_size 0
 *   csum-out      after offering every offload: a checksum to be put past the packet
 *   hello-twice   a second HELLO
 *   packet-first  a PACKET instead of a HELLO
 *   hello-bad     a HELLO with an unknown mode
 *   hello-tap     a well-formed HELLO for tap mode (a failed handshake, not malformed)
 *
 * For each it prints one line: "ATTACK: reset: REASON" when the daemon sent a
 * CLOSE frame (REASON is its text) or closed the channel ("closed without
 * a reason"), or "ATTACK: no reaction" after the time-out (default 20 s).
 * Exit status: 0 when every attack was answered with a reset, 1 otherwise,
 * 2 on usage errors.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "vchan/vchan.h"

#define PROG		"bad-peer"
/* 128K: room for a 64 KiB super-packet, so that the daemon agrees to offloads */
#define RING_ORDER	17
#define MTU		1500

struct peer {
	bool server;
	unsigned int domid;
	const char *path;
	int timeout_ms;
	struct vchan *v;
	struct vchan_ring *r;
	struct frame_hello hello;	/* ours, on this connection */
	struct frame_limits lim;	/* after the daemon's HELLO */
	char reason[FRAME_CLOSE_MAX + 1];
};

struct attack {
	const char *name;
	bool hello_first;		/* send a good HELLO before the attack */
	uint8_t bytes[80];
	uint8_t len;			/* of bytes[] */
	uint32_t features;		/* what that HELLO offers */
};

#define HDR(type, flags, len)                                                             \
	FRAME_MAGIC, (type), (flags) & 0xff, (flags) >> 8, (len) & 0xff, ((len) >> 8) & 0xff, \
		((len) >> 16) & 0xff, ((len) >> 24) & 0xff
/* an IPv4 header's first bytes: something a device would take */
#define PKT8	0x45, 0, 0, 8, 0, 0, 0, 0
/* virtio-net headers, little-endian: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset */
#define VNET(flags, gso, hdr_len, gso_size, start, off) \
	(flags), (gso), (hdr_len), 0, (gso_size), 0, (start), 0, (off), 0
/* 40 bytes of IPv4 and TCP header */
#define PKT40	0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, \
		0, 80, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0, 0, 0, 0, 0, 0

static const struct attack attacks[] = {
	{ "magic", true, { 0x5a, FRAME_PACKET, 0, 0, 8, 0, 0, 0, PKT8 }, 16, 0 },
	{ "type", true, { HDR(9, 0, 8), PKT8 }, 16, 0 },
	{ "flags", true, { HDR(FRAME_PACKET, 0x8000, 8), PKT8 }, 16, 0 },
	{ "length", true, { HDR(FRAME_PACKET, 0, 0x100000 - 8) }, 8, 0 },
	{ "empty", true, { HDR(FRAME_PACKET, 0, 0) }, 8, 0 },
	{ "padding", true, { HDR(FRAME_PACKET, 0, 5), 0x45, 0, 0, 5, 0, 0xee, 0, 0 }, 16, 0 },
	{ "vnet", true, { HDR(FRAME_PACKET, FRAME_F_VNET, 18), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			  PKT8, 0, 0, 0, 0, 0, 0 }, 32, 0 },
	{ "hello-twice", true, { 0 }, 0, 0 },	/* filled in: our HELLO again */
	{ "packet-first", false, { HDR(FRAME_PACKET, 0, 8), PKT8 }, 16, 0 },
	{ "hello-bad", false, { HDR(FRAME_HELLO, 0, 16), 1, 0, 7, 0, 0xdc, 5, 0, 0, 0xdc, 5, 0, 0,
				 0, 0, 0, 0 }, 24, 0 },
	{ "hello-tap", false, { HDR(FRAME_HELLO, 0, 16), 1, 0, FRAME_MODE_TAP, 0, 0xdc, 5, 0, 0,
				 0xf0, 5, 0, 0, 0, 0, 0, 0 }, 24, 0 },
	{ "gso-size", true, { HDR(FRAME_PACKET, FRAME_F_VNET, 50),
			      VNET(FRAME_VNET_F_NEEDS_CSUM, FRAME_VNET_GSO_TCPV4, 40, 0, 20, 16),
			      PKT40 }, 64, FRAME_FEAT_ALL },
	{ "csum-out", true, { HDR(FRAME_PACKET, FRAME_F_VNET, 50),
			      VNET(FRAME_VNET_F_NEEDS_CSUM, FRAME_VNET_GSO_NONE, 0, 0, 20, 19),
			      PKT40 }, 64, FRAME_FEAT_ALL },
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
	fprintf(stderr, "usage: " PROG " client|server DOMID XS_PATH [--timeout SECS] ATTACK...\n"
			"attacks:");
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		fprintf(stderr, " %s", attacks[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

static const struct attack *find_attack(const char *name)
{
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		if (!strcmp(attacks[i].name, name))
			return &attacks[i];
	return NULL;
}


/* Raw bytes into the ring, as they are. */
static int put(struct peer *p, const uint8_t *buf, size_t len)
{
	struct iovec span[2];
	size_t first;

	if (vchan_ring_writable(p->r, span) < len)
		return -1;
	first = len < span[0].iov_len ? len : span[0].iov_len;
	memcpy(span[0].iov_base, buf, first);
	memcpy(span[1].iov_base, buf + first, len - first);
	vchan_ring_commit(p->r, len);
	return 0;
}

static int put_hello(struct peer *p)
{
	struct iovec span[2];
	size_t n;

	vchan_ring_writable(p->r, span);
	n = frame_hello_write(span, &p->hello);
	if (!n)
		return -1;
	vchan_ring_commit(p->r, n);
	return 0;
}

/* The daemon's frames: its HELLO sets our limits, a CLOSE its reason. 1 after a CLOSE. */
static int read_frames(struct peer *p)
{
	for (;;) {
		struct iovec span[2];
		struct frame_hello h;
		const char *why;
		struct frame f;
		size_t n = vchan_ring_readable(p->r, span);
		char buf[80];

		if (frame_parse(span, n, &p->lim, &f) != FRAME_OK)
			return 0;
		if (f.type == FRAME_CLOSE) {
			frame_close_reason(&f, p->reason, sizeof(p->reason));
			return 1;
		}
		if (f.type == FRAME_HELLO && frame_hello_parse(&f, &h, &why) == FRAME_OK &&
		    frame_agree(&p->hello, &h, &p->lim, buf, sizeof(buf)))
			memset(&p->lim, 0, sizeof(p->lim));
		vchan_ring_consume(p->r, f.total);
		vchan_flush(p->v);
	}
}

/* Waits for fd events up to the deadline; -1 on time-out. */
static int wait_event(struct peer *p, int64_t deadline)
{
	struct pollfd pfd = { .fd = vchan_fd(p->v), .events = POLLIN };
	int64_t left = deadline - now_ms();

	if (left <= 0)
		return -1;
	if (poll(&pfd, 1, (int)left) > 0)
		vchan_handle_events(p->v);
	return 0;
}

/* Server: waits for the client to connect. */
static int wait_client(struct peer *p, int64_t deadline)
{
	while (vchan_state(p->v) == VCHAN_WAITING)
		if (wait_event(p, deadline))
			return -1;
	return vchan_state(p->v) == VCHAN_CONNECTED ? 0 : -1;
}

static int open_channel(struct peer *p)
{
	struct vchan_error e = { .msg = "" };
	int64_t deadline = now_ms() + p->timeout_ms;

	memset(&p->lim, 0, sizeof(p->lim));
	p->reason[0] = '\0';
	if (!p->server) {
		p->v = vchan_client_open(p->domid, p->path, p->timeout_ms, &e);
	} else if (!p->v) {
		p->v = vchan_server_open(p->domid, p->path, RING_ORDER, RING_ORDER, &e);
	} else if (vchan_server_reoffer(p->v, &e)) {
		vchan_close(p->v);
		p->v = NULL;
	}
	if (!p->v) {
		fprintf(stderr, PROG ": cannot open the channel: %s\n", e.msg);
		return -1;
	}
	p->r = vchan_ring(p->v);
	if (p->server && wait_client(p, deadline)) {
		fprintf(stderr, PROG ": no client within %d ms\n", p->timeout_ms);
		return -1;
	}
	return 0;
}

/* After the attack: a CLOSE frame, or the channel closing, or nothing. 0 if reset. */
static int wait_reaction(struct peer *p, const char *name)
{
	int64_t deadline = now_ms() + p->timeout_ms;

	for (;;) {
		struct iovec span[2];
		enum vchan_state st = vchan_state(p->v);

		if (read_frames(p) > 0) {
			printf("%s: reset: %s\n", name, p->reason);
			return 0;
		}
		if (st == VCHAN_CLOSED || st == VCHAN_BROKEN) {
			printf("%s: reset: closed without a reason\n", name);
			return 0;
		}
		if (vchan_ring_arm_read(p->r, span))
			continue;
		if (wait_event(p, deadline)) {
			printf("%s: no reaction\n", name);
			return -1;
		}
	}
}

static int run_attack(struct peer *p, const struct attack *a)
{
	int ret;

	if (open_channel(p))
		return -1;
	p->hello = (struct frame_hello){
		.version = FRAME_VERSION,
		.mode = FRAME_MODE_TUN,
		.mtu = MTU,
		.max_payload = frame_payload_max(FRAME_MODE_TUN, MTU, a->features),
		.features = a->features,
	};
	if ((a->hello_first && put_hello(p)) ||
	    (a->len ? put(p, a->bytes, a->len) : put_hello(p))) {
		fprintf(stderr, PROG ": no room in the ring for %s\n", a->name);
		return -1;
	}
	vchan_flush(p->v);
	ret = wait_reaction(p, a->name);
	fflush(stdout);
	if (!p->server) {
		vchan_close(p->v);
		p->v = NULL;
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct peer p = { .timeout_ms = 20000 };
	unsigned long v;
	int first = 4, ret = 0;

	if (argc < 5)
		usage();
	if (!strcmp(argv[1], "server"))
		p.server = true;
	else if (strcmp(argv[1], "client"))
		usage();
	if (vchan_parse_uint(argv[2], 0, VCHAN_DOMID_LIMIT - 1, &v))
		usage();
	p.domid = (unsigned int)v;
	p.path = argv[3];
	if (!strcmp(argv[first], "--timeout")) {
		if (first + 2 >= argc || vchan_parse_uint(argv[first + 1], 1, 3600, &v))
			usage();
		p.timeout_ms = (int)v * 1000;
		first += 2;
	}
	for (int i = first; i < argc; i++)
		if (!find_attack(argv[i]))
			usage();
	for (int i = first; i < argc; i++)
		if (run_attack(&p, find_attack(argv[i])))
			ret = 1;
	vchan_close(p.v);
	return ret;
}
