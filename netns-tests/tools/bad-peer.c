// SPDX-License-Identifier: GPL-2.0-only
/*
 * bad-peer: a hostile end of a vchan-tun link, for tests. It connects to a
 * vchan-tund (or offers it a channel), and either breaks the framing
 * protocol (docs/protocol.md), one way per connection, and reports what the
 * daemon did about it; or, as a guest that is hostile rather than broken,
 * completes the handshake honestly and then misbehaves.
 *
 *   bad-peer client SERVER_DOMID XS_PATH [--timeout SECS] ATTACK...
 *   bad-peer server PEER_DOMID XS_PATH [--timeout SECS] ATTACK...
 *   bad-peer client|server DOMID XS_PATH [--timeout SECS] session ACTION...
 *   bad-peer client|server DOMID XS_PATH [--timeout SECS] flap COUNT
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
 *   gso-tiny      after offering every offload: a TCP super-packet of 1-byte segments
 *   csum-out      after offering every offload: a checksum to be put past the packet
 *   hello-twice   a second HELLO
 *   packet-first  a PACKET instead of a HELLO
 *   hello-bad     a HELLO with an unknown mode
 *   hello-tap     a well-formed HELLO for tap mode (a failed handshake, not malformed)
 *
 * For each it prints one line: "ATTACK: reset: REASON" when the daemon sent a
 * CLOSE frame (REASON is its text) or closed the channel ("closed without
 * a reason"), or "ATTACK: no reaction" after the time-out (default 20 s).
 *
 * A session is one connection with an honest handshake (tun mode, MTU 1500,
 * no offloads), then the actions, in order, each printing one line when done:
 *   ra            an IPv6 router advertisement from fe80::bad: "route dom0's
 *                 IPv6 through me" (high preference) and prefix 2001:db8:bad::/64
 *   udp:SRC:DST   one UDP datagram from IPv4 address SRC to DST, port 7979,
 *                 whose payload says "from SRC"
 *   notify:SECS   events on the channel in a tight loop, nothing in the ring
 *   xs-storm:SECS keys written under XS_PATH and removed again, as fast as
 *                 XenStore takes them (as the server: our own channel directory)
 *   state-storm:SECS  our state key for the watchers (XS_PATH/state, where the
 *                 daemon's would be as a server) flipped between connected and
 *                 waiting, as fast as XenStore takes it
 *   wait:SECS     nothing
 * then it closes. flap COUNT: COUNT connections in a row, each a HELLO and a
 * close as soon as the daemon's HELLO is in; prints how many it made.
 *
 * Exit status: 0 when every attack was answered with a reset, and every
 * session or flap ran to its end; 1 otherwise, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "frame.h"
#include "vchan/vchan.h"
#include "util.h"

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
	{ "gso-tiny", true, { HDR(FRAME_PACKET, FRAME_F_VNET, 50),
			      VNET(FRAME_VNET_F_NEEDS_CSUM, FRAME_VNET_GSO_TCPV4, 40, 1, 20, 16),
			      PKT40 }, 64, FRAME_FEAT_ALL },
	{ "csum-out", true, { HDR(FRAME_PACKET, FRAME_F_VNET, 50),
			      VNET(FRAME_VNET_F_NEEDS_CSUM, FRAME_VNET_GSO_NONE, 0, 0, 20, 19),
			      PKT40 }, 64, FRAME_FEAT_ALL },
};

static void usage(void)
{
	fprintf(stderr, "usage: " PROG " client|server DOMID XS_PATH [--timeout SECS] ATTACK...\n"
			"       " PROG " client|server DOMID XS_PATH [--timeout SECS] session ACTION...\n"
			"       " PROG " client|server DOMID XS_PATH [--timeout SECS] flap SECS\n"
			"actions: ra udp:SRC:DST notify:SECS xs-storm:SECS state-storm:SECS wait:SECS\n"
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
		/*
		 * The daemon withdraws a channel it reset only after its CLOSE
		 * frame: until the fresh offer is up, the keys may still name
		 * the old one, which is closed by the time we look.
		 */
		p->v = vchan_client_open(p->domid, p->path, p->timeout_ms, &e);
		while (p->v && vchan_state(p->v) == VCHAN_CLOSED && now_ms() < deadline) {
			vchan_close(p->v);
			usleep(1000);
			p->v = vchan_client_open(p->domid, p->path, p->timeout_ms, &e);
		}
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

/* Until the daemon has closed its end of the channel, or the time is up. */
static void wait_closed(struct peer *p)
{
	int64_t deadline = now_ms() + p->timeout_ms;

	while (vchan_state(p->v) == VCHAN_CONNECTED && !wait_event(p, deadline))
		;
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
		/* the daemon's reset closes its end: the next attack needs its next offer */
		wait_closed(p);
		vchan_close(p->v);
		p->v = NULL;
	}
	return ret;
}

/* --- a hostile guest: an honest handshake, then misbehaviour ----------------------------- */

/* A channel and an honest HELLO, until the daemon's is in: 0, or -1 (said why). */
static int handshake(struct peer *p)
{
	int64_t deadline;

	if (open_channel(p))
		return -1;
	p->hello = (struct frame_hello){
		.version = FRAME_VERSION,
		.mode = FRAME_MODE_TUN,
		.mtu = MTU,
		.max_payload = frame_payload_max(FRAME_MODE_TUN, MTU, 0),
	};
	if (put_hello(p))
		return -1;
	vchan_flush(p->v);
	deadline = now_ms() + p->timeout_ms;
	while (!p->lim.mode) {
		struct iovec span[2];

		if (read_frames(p) > 0) {
			fprintf(stderr, PROG ": the daemon closed the channel: %s\n", p->reason);
			return -1;
		}
		if (p->lim.mode)
			break;
		if (vchan_state(p->v) != VCHAN_CONNECTED) {
			fprintf(stderr, PROG ": the channel closed before the daemon's HELLO\n");
			return -1;
		}
		if (vchan_ring_arm_read(p->r, span))
			continue;
		if (wait_event(p, deadline)) {
			fprintf(stderr, PROG ": no HELLO from the daemon within %d ms\n",
				p->timeout_ms);
			return -1;
		}
	}
	return 0;
}

static void hang_up(struct peer *p)
{
	if (p->server)
		return; /* the next open_channel re-offers */
	vchan_close(p->v);
	p->v = NULL;
}

static int send_packet(struct peer *p, const uint8_t *pkt, size_t len)
{
	struct iovec span[2];
	size_t n;

	read_frames(p); /* make room: whatever the daemon sent us */
	vchan_ring_writable(p->r, span);
	n = frame_write(span, FRAME_PACKET, 0, pkt, (uint32_t)len);
	if (!n)
		return -1;
	vchan_ring_commit(p->r, n);
	return vchan_flush(p->v);
}

/* The Internet checksum of what sum has added up, folded. */
static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/*
 * A router advertisement from fe80::bad to all nodes: default router, high
 * preference, and the prefix 2001:db8:bad::/64 to autoconfigure addresses in.
 */
static int send_ra(struct peer *p)
{
	static const uint8_t src[16] = { 0xfe, 0x80, [14] = 0x0b, [15] = 0xad };
	static const uint8_t dst[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t prefix[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x0b, 0xad };
	uint8_t pkt[40 + 16 + 32] = { 0x60 };
	uint8_t *icmp = pkt + 40, *opt = icmp + 16, pseudo[40] = { 0 };
	size_t icmp_len = sizeof(pkt) - 40;
	uint16_t sum;

	pkt[4] = 0;
	pkt[5] = (uint8_t)icmp_len;
	pkt[6] = 58;		/* ICMPv6 */
	pkt[7] = 255;		/* hop limit: neighbour discovery insists */
	memcpy(pkt + 8, src, 16);
	memcpy(pkt + 24, dst, 16);
	icmp[0] = 134;		/* router advertisement */
	icmp[4] = 64;		/* current hop limit */
	icmp[5] = 0x08;		/* router preference: high */
	icmp[6] = 0x07;		/* router lifetime: 1800 s */
	icmp[7] = 0x08;
	opt[0] = 3;		/* prefix information */
	opt[1] = 4;
	opt[2] = 64;
	opt[3] = 0xc0;		/* on-link, autonomous */
	memset(opt + 4, 0xff, 8); /* valid and preferred lifetime: infinite */
	memcpy(opt + 16, prefix, 16);
	memcpy(pseudo, src, 16);
	memcpy(pseudo + 16, dst, 16);
	pseudo[35] = (uint8_t)icmp_len;
	pseudo[39] = 58;
	sum = csum_fold(csum_add(csum_add(0, pseudo, sizeof(pseudo)), icmp, icmp_len));
	icmp[2] = (uint8_t)(sum >> 8);
	icmp[3] = (uint8_t)sum;
	return send_packet(p, pkt, sizeof(pkt));
}

/* One UDP datagram to dst:7979 from src (IPv4 dotted quads), saying "from SRC". */
static int send_udp(struct peer *p, const char *src, const char *dst)
{
	uint8_t pkt[20 + 8 + 64] = { 0x45 };
	int payload = snprintf((char *)pkt + 28, 64, "from %s\n", src);
	size_t len = 28 + (size_t)payload;
	uint16_t sum;

	if (payload <= 0 || payload >= 64 || inet_pton(AF_INET, src, pkt + 12) != 1 ||
	    inet_pton(AF_INET, dst, pkt + 16) != 1)
		return -1;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	pkt[6] = 0x40;		/* don't fragment */
	pkt[8] = 64;
	pkt[9] = 17;		/* UDP */
	sum = csum_fold(csum_add(0, pkt, 20));
	pkt[10] = (uint8_t)(sum >> 8);
	pkt[11] = (uint8_t)sum;
	pkt[20] = 7979 >> 8;	/* source and destination port 7979; no checksum */
	pkt[21] = 7979 & 0xff;
	pkt[22] = 7979 >> 8;
	pkt[23] = 7979 & 0xff;
	pkt[24] = (uint8_t)((len - 20) >> 8);
	pkt[25] = (uint8_t)(len - 20);
	return send_packet(p, pkt, len);
}

/* Events as fast as we can send them, and nothing in the ring. */
static int notify_storm(struct peer *p, unsigned int secs)
{
	int64_t end = now_ms() + secs * 1000;
	unsigned long n = 0;

	while (now_ms() < end) {
		for (int i = 0; i < 1000; i++, n++)
			if (vchan_notify(p->v))
				return -1;
		read_frames(p);
	}
	printf("notify: %lu events in %u s\n", n, secs);
	return 0;
}

/* A key under the channel's path, written and removed, as fast as XenStore takes it. */
static int xs_storm(struct peer *p, unsigned int secs)
{
	int64_t end = now_ms() + secs * 1000;
	struct xs_handle *xs = xs_open(0);
	unsigned long n = 0;
	char key[512];

	if (!xs)
		return -1;
	snprintf(key, sizeof(key), "%s/storm", p->path);
	while (now_ms() < end) {
		if (!xs_write(xs, XBT_NULL, key, "x", 1) || !xs_rm(xs, XBT_NULL, key)) {
			fprintf(stderr, PROG ": cannot write %s: %s\n", key, strerror(errno));
			xs_close(xs);
			return -1;
		}
		n += 2;
		if (!(n % 256))
			read_frames(p);
	}
	xs_close(xs);
	printf("xs-storm: %lu writes in %u s\n", n, secs);
	return 0;
}

/* Our "state key", flipped: what a peer's daemon says to the watchers, lying. */
static int state_storm(struct peer *p, unsigned int secs)
{
	int64_t end = now_ms() + secs * 1000;
	struct xs_handle *xs = xs_open(0);
	unsigned long n = 0;
	char key[512];

	if (!xs)
		return -1;
	snprintf(key, sizeof(key), "%s/state", p->path);
	while (now_ms() < end) {
		const char *v = n % 2 ? "waiting" : "connected";

		if (!xs_write(xs, XBT_NULL, key, v, (unsigned int)strlen(v))) {
			fprintf(stderr, PROG ": cannot write %s: %s\n", key, strerror(errno));
			xs_close(xs);
			return -1;
		}
		n++;
		if (!(n % 256))
			read_frames(p);
	}
	xs_close(xs);
	printf("state-storm: %lu writes in %u s\n", n, secs);
	return 0;
}

/* "notify:5" -> 5; -1 if name is not the action's. */
static long action_arg(const char *action, const char *name)
{
	size_t n = strlen(name);
	unsigned long v;

	if (strncmp(action, name, n) || action[n] != ':' ||
	    vchan_parse_uint(action + n + 1, 1, 3600, &v))
		return -1;
	return (long)v;
}

static int run_action(struct peer *p, const char *action)
{
	char src[32], dst[32];
	long secs;

	if (!strcmp(action, "ra")) {
		if (send_ra(p))
			return -1;
		printf("ra: sent\n");
		return 0;
	}
	if (sscanf(action, "udp:%31[0-9.]:%31[0-9.]", src, dst) == 2) {
		if (send_udp(p, src, dst))
			return -1;
		printf("udp: sent from %s to %s\n", src, dst);
		return 0;
	}
	if ((secs = action_arg(action, "notify")) > 0)
		return notify_storm(p, (unsigned int)secs);
	if ((secs = action_arg(action, "xs-storm")) > 0)
		return xs_storm(p, (unsigned int)secs);
	if ((secs = action_arg(action, "state-storm")) > 0)
		return state_storm(p, (unsigned int)secs);
	if ((secs = action_arg(action, "wait")) > 0) {
		int64_t end = now_ms() + secs * 1000;

		while (!wait_event(p, end))
			read_frames(p);
		printf("wait: done\n");
		return 0;
	}
	return -1;
}

static bool valid_action(const char *a)
{
	char src[32], dst[32];

	return !strcmp(a, "ra") || sscanf(a, "udp:%31[0-9.]:%31[0-9.]", src, dst) == 2 ||
	       action_arg(a, "notify") > 0 || action_arg(a, "xs-storm") > 0 ||
	       action_arg(a, "state-storm") > 0 || action_arg(a, "wait") > 0;
}

static int session(struct peer *p, char **actions, int n)
{
	int ret = 0;

	if (handshake(p))
		return 1;
	for (int i = 0; i < n && !ret; i++) {
		if (run_action(p, actions[i])) {
			fprintf(stderr, PROG ": %s failed\n", actions[i]);
			ret = 1;
		}
		fflush(stdout);
	}
	hang_up(p);
	return ret;
}

/* Connections in a row for secs seconds, each a HELLO and a close: how many the daemon took. */
static int flap(struct peer *p, unsigned int secs)
{
	int64_t start = now_ms(), end = start + secs * 1000;
	unsigned long n = 0;

	while (now_ms() < end) {
		int left = (int)(end - now_ms());

		if (left <= 0)
			break;
		if (p->timeout_ms > left)
			p->timeout_ms = left;
		if (handshake(p))
			break;
		n++;
		hang_up(p);
	}
	printf("flap: %lu connections in %u s\n", n, secs);
	return 0;
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
	if (first < argc && !strcmp(argv[first], "session")) {
		for (int i = first + 1; i < argc; i++)
			if (!valid_action(argv[i]))
				usage();
		ret = session(&p, argv + first + 1, argc - first - 1);
	} else if (first + 2 == argc && !strcmp(argv[first], "flap")) {
		if (vchan_parse_uint(argv[first + 1], 1, 3600, &v))
			usage();
		ret = flap(&p, (unsigned int)v);
	} else {
		for (int i = first; i < argc; i++)
			if (!find_attack(argv[i]))
				usage();
		for (int i = first; i < argc; i++)
			if (run_attack(&p, find_attack(argv[i])))
				ret = 1;
	}
	vchan_close(p.v);
	return ret;
}
