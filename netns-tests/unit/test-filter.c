// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of filter.c, TAP output. Each link is configured as its file
 * would be, key by key through config_set_key() and config_finish(), and
 * each packet is made by hand and handed to filter_check() in a heap block
 * of exactly its size (so ASan sees a read past it). Checked against
 * filter.h's contract: in tun mode, IPv4 and IPv6 from the PeerAddress, an
 * unpaired Address's subnet, Routes, AllowedSources and (with IPv6)
 * link-local pass, anything else is dropped with its one-line reason, and
 * our own Address never passes; in tap mode, the Ethernet rules (the learnt
 * MAC, no multicast or zero MAC, no VLAN tag, only IPv4, IPv6 and ARP), ARP's
 * sender, and the unspecified sources of DHCP and duplicate address
 * detection. Assertions marked "filter.c bug" fail until filter.c keeps its
 * header's contract in that case.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "filter.h"
#include "unit.h"

#define PATH		"/etc/vchan-tun/guest1.conf"
#define ETH_HLEN	14
#define IPPROTO_UDP_	17
#define IPPROTO_TCP_	6

static struct link_config cfg;
static struct source_filter flt;
static uint8_t peer_mac[6];
static char why[FILTER_WHY_LEN];

static const uint8_t mac_peer[6] = { 0x02, 0x16, 0x3e, 0x00, 0x00, 0x05 };
static const uint8_t mac_other[6] = { 0x02, 0x16, 0x3e, 0x00, 0x00, 0x06 };
static const uint8_t mac_zero[6];

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

static void bail_out(const char *what, const char *msg)
{
	printf("Bail out! %s: %s\n", what, msg);
	exit(1);
}

/*
 * A link as its file says it: Peer = 5, Role = client, then the "Key",
 * "value" pairs up to NULL, one per line; its filter, and no MAC learnt yet.
 */
static void setup(const char *const *kv)
{
	struct config_origin where = { PATH, 1 };
	struct config_error err;

	config_init(&cfg);
	snprintf(cfg.source, sizeof(cfg.source), "%s", PATH);
	if (config_set_key(&cfg, "Peer", "5", &where, &err))
		bail_out("Peer", err.msg);
	where.line++;
	if (config_set_key(&cfg, "Role", "client", &where, &err))
		bail_out("Role", err.msg);
	for (; kv[0]; kv += 2) {
		where.line++;
		if (config_set_key(&cfg, kv[0], kv[1], &where, &err))
			bail_out(kv[0], err.msg);
	}
	if (config_finish(&cfg, &err))
		bail_out("config_finish", err.msg);
	filter_init(&flt, &cfg);
	memset(peer_mac, 0, sizeof(peer_mac));
}

#define LINK(...) setup((const char *const[]){ __VA_ARGS__, NULL })

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void pton(int family, const char *text, uint8_t *out)
{
	if (inet_pton(family, text, out) != 1)
		bail_out("bad address in the test", text);
}

/* An IPv4 header (no options) and a UDP or TCP header's ports: 28 bytes at p. */
static size_t ipv4(uint8_t *p, const char *src, uint8_t proto, unsigned int dport)
{
	memset(p, 0, 28);
	p[0] = 0x45;
	put16(p + 2, 28);
	p[8] = 64;
	p[9] = proto;
	pton(AF_INET, src, p + 12);
	pton(AF_INET, "192.0.2.1", p + 16);
	put16(p + 20, 68);
	put16(p + 22, dport);
	return 28;
}

/* An IPv6 header and a UDP header's ports: 48 bytes at p. */
static size_t ipv6(uint8_t *p, const char *src, uint8_t next, unsigned int dport)
{
	memset(p, 0, 48);
	p[0] = 0x60;
	put16(p + 4, 8);
	p[6] = next;
	p[7] = 64;
	pton(AF_INET6, src, p + 8);
	pton(AF_INET6, "2001:db8:ffff::1", p + 24);
	put16(p + 40, 546);
	put16(p + 42, dport);
	return 48;
}

/* A UDP packet from src, IPv4 or IPv6 by the address's spelling. */
static size_t ip(uint8_t *p, const char *src)
{
	return strchr(src, ':') ? ipv6(p, src, IPPROTO_UDP_, 53) : ipv4(p, src, IPPROTO_UDP_, 53);
}

/* An Ethernet header at p: 14 bytes. */
static size_t eth(uint8_t *p, const uint8_t src[6], unsigned int type)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 1 };

	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, type);
	return ETH_HLEN;
}

/* A frame of ARP for IPv4 over Ethernet, from frame_mac, its sender sha and spa. */
static size_t arp(uint8_t *p, const uint8_t frame_mac[6], const uint8_t sha[6], const char *spa)
{
	size_t n = eth(p, frame_mac, 0x0806);
	uint8_t *a = p + n;

	memset(a, 0, 28);
	a[1] = 1;		/* Ethernet */
	a[2] = 0x08;		/* IPv4 */
	a[4] = 6;
	a[5] = 4;
	a[7] = 1;		/* request */
	memcpy(a + 8, sha, 6);
	pton(AF_INET, spa, a + 14);
	pton(AF_INET, "10.0.0.1", a + 24);
	return n + 28;
}

/*
 * The filter's verdict on len bytes of p, from a heap copy of exactly that
 * size (an empty one at the end of a 1-byte block).
 */
static bool check(const uint8_t *p, size_t len)
{
	uint8_t *block = malloc(len ? len : 1), *copy;
	bool pass;

	if (!block)
		bail_out("malloc", "out of memory");
	copy = block + !len;
	memcpy(copy, p, len);
	memset(why, 0, sizeof(why));
	pass = filter_check(&flt, copy, len, peer_mac, why, sizeof(why));
	free(block);
	return pass;
}

static void ok_pass(const uint8_t *p, size_t len, const char *desc)
{
	bool pass = check(p, len);

	ok(pass, "%s", desc);
	if (!pass)
		diag("dropped: %s", why);
}

/* Dropped, for the reason want (NULL: any one-line reason). */
static void ok_drop(const uint8_t *p, size_t len, const char *want, const char *desc)
{
	bool pass = check(p, len);
	bool good = !pass && (want ? !strcmp(why, want) : why[0] && !strchr(why, '\n'));

	ok(good, "%s", desc);
	if (pass)
		diag("it passed");
	else if (!good)
		diag("     why: %s\n# expected: %s", why, want ? want : "a one-line reason");
}

/* A tun packet from src passes. */
static void tun_pass(const char *src, const char *desc)
{
	uint8_t p[FILTER_HEAD_MAX];

	ok_pass(p, ip(p, src), desc);
}

/* A tun packet from src is dropped as "source SRC is not the peer's". */
static void tun_drop(const char *src, const char *desc)
{
	uint8_t p[FILTER_HEAD_MAX];
	char want[FILTER_WHY_LEN];

	snprintf(want, sizeof(want), "source %s is not the peer's", src);
	ok_drop(p, ip(p, src), want, desc);
}

/* A tap frame from mac_peer carrying a UDP packet from src. */
static size_t tap_ip(uint8_t *p, const uint8_t mac[6], const char *src)
{
	size_t n = eth(p, mac, strchr(src, ':') ? 0x86dd : 0x0800);

	return n + ip(p + n, src);
}

/* --- tun mode --------------------------------------------------------------------- */

static void test_tun_peer_routes_sources(void)
{
	LINK("Address", "10.0.0.1/24, fd00::1/64", "PeerAddress", "10.0.0.2, fd00::2/64",
	     "Routes", "192.168.10.0/24, 2001:db8:10::/48",
	     "AllowedSources", "198.51.100.0/24, 2001:db8:99::/64");
	ok(!filter_empty(&flt), "a link with peer addresses is not empty");
	tun_pass("10.0.0.2", "tun: IPv4 from the PeerAddress passes");
	tun_pass("fd00::2", "tun: IPv6 from the PeerAddress passes");
	tun_drop("10.0.0.3", "tun: IPv4 from another address of the Address's subnet is dropped "
		 "(the peer is its PeerAddress)");
	tun_drop("fd00::3", "tun: IPv6 from another address of the subnet is dropped, whatever "
		 "prefix PeerAddress has");
	tun_drop("192.0.2.66", "tun: IPv4 from elsewhere is dropped, with its reason");
	tun_drop("2001:db8:66::1", "tun: IPv6 from elsewhere is dropped, with its reason");
	tun_pass("192.168.10.77", "tun: IPv4 from a Routes network passes");
	tun_pass("192.168.10.255", "tun: ... to its last address");
	tun_drop("192.168.11.0", "tun: the address just past a Routes network is dropped");
	tun_pass("2001:db8:10:ffff::1", "tun: IPv6 from a Routes network (/48) passes");
	tun_drop("2001:db8:11::1", "tun: IPv6 just past it is dropped");
	tun_pass("198.51.100.200", "tun: IPv4 from an AllowedSources network passes");
	tun_drop("198.51.101.1", "tun: IPv4 outside it is dropped");
	tun_pass("2001:db8:99::abcd", "tun: IPv6 from an AllowedSources network passes");
	tun_drop("2001:db8:99:1::1", "tun: IPv6 outside its /64 is dropped");
	tun_drop("10.0.0.1", "tun: IPv4 from our own Address is dropped");
	tun_drop("fd00::1", "tun: IPv6 from our own Address is dropped");
	tun_pass("fe80::1234", "tun: IPv6 link-local passes when IPv6 sources are allowed");
	tun_pass("febf:ffff::1", "tun: ... anywhere in fe80::/10");
	tun_drop("fec0::1", "tun: fec0::1, just past fe80::/10, is dropped");
	tun_drop("0.0.0.0", "tun: 0.0.0.0 is dropped (the unspecified address is tap's alone)");
	tun_drop("::", "tun: :: is dropped in tun mode");
	{
		uint8_t p[FILTER_HEAD_MAX];

		ok_drop(p, ipv4(p, "0.0.0.0", IPPROTO_UDP_, 67), "source 0.0.0.0 is not the peer's",
			"tun: not even a DHCP request from 0.0.0.0 (tun has no DHCP)");
	}
}

/* Our own Address never passes, even inside a network the peer may send from. */
static void test_tun_own(void)
{
	LINK("Address", "10.0.0.1/24, fd00::1/64", "PeerAddress", "10.0.0.2, fd00::2",
	     "AllowedSources", "10.0.0.0/24, fd00::/64");
	tun_pass("10.0.0.9", "tun: AllowedSources = 10.0.0.0/24 lets 10.0.0.9 pass");
	tun_drop("10.0.0.1", "tun: but not our own 10.0.0.1 inside it");
	tun_pass("fd00::9", "tun: AllowedSources = fd00::/64 lets fd00::9 pass");
	tun_drop("fd00::1", "tun: but not our own fd00::1 inside it");

	LINK("Address", "10.0.0.1/24, 10.0.0.3/24", "PeerAddress", "10.0.0.2",
	     "Routes", "10.0.0.0/16");
	tun_drop("10.0.0.3", "tun: nor our second Address, inside a Routes network");
	tun_pass("10.0.200.1", "tun: while the rest of the Routes network passes");
}

static void test_tun_subnet(void)
{
	LINK("Address", "10.1.0.1/16, fd01::1/64");
	ok(!filter_empty(&flt), "an Address with a prefix and no PeerAddress: not empty");
	tun_pass("10.1.200.3", "tun: IPv4 from the subnet of an Address without PeerAddress passes");
	tun_drop("10.2.0.1", "tun: IPv4 outside that subnet is dropped");
	tun_drop("10.1.0.1", "tun: our own Address in it is dropped");
	tun_pass("fd01::abc", "tun: IPv6 from the subnet of an Address without PeerAddress passes");
	tun_drop("fd02::1", "tun: IPv6 outside it is dropped");
	tun_pass("fe80::1", "tun: link-local too");

	/* the n-th PeerAddress of a family belongs to the n-th Address of that family */
	LINK("Address", "10.0.0.1/24, fd00::1/64, 10.9.0.1/24", "PeerAddress", "10.0.0.2");
	tun_pass("10.0.0.2", "tun: two IPv4 Address, one PeerAddress: the peer passes");
	tun_drop("10.0.0.3", "tun: the first Address's subnet does not (it has the PeerAddress)");
	tun_pass("10.9.0.200", "tun: the second's does (the peer is somewhere in it)");
	tun_pass("fd00::77", "tun: and the IPv6 Address's, which has no PeerAddress of its own");
}

static void test_tun_ipv4_only(void)
{
	LINK("Address", "10.0.0.1", "PeerAddress", "10.0.0.2");
	tun_pass("10.0.0.2", "tun, IPv4 only: the peer passes");
	tun_drop("fe80::1", "tun, IPv4 only: IPv6 link-local is dropped (no IPv6 source allowed)");
	tun_drop("2001:db8::1", "tun, IPv4 only: any IPv6 is dropped");
}

static void test_tun_malformed(void)
{
	uint8_t p[FILTER_HEAD_MAX];

	LINK("Address", "10.0.0.1/24, fd00::1/64", "PeerAddress", "10.0.0.2, fd00::2");
	memset(p, 0, sizeof(p));
	ok_drop(p, 0, "not an IPv4 or IPv6 packet", "tun: an empty packet is dropped");
	ipv4(p, "10.0.0.2", IPPROTO_UDP_, 53);
	p[0] = 0x55;
	ok_drop(p, 28, "not an IPv4 or IPv6 packet", "tun: version 5 is dropped");
	p[0] = 0x00;
	ok_drop(p, 28, "not an IPv4 or IPv6 packet", "tun: version 0 is dropped");
	p[0] = 0xf5;
	ok_drop(p, 28, "not an IPv4 or IPv6 packet", "tun: version 15 is dropped");
	ipv4(p, "10.0.0.2", IPPROTO_UDP_, 53);
	ok_drop(p, 1, "a truncated IPv4 header", "tun: one byte of IPv4 is a truncated header");
	ok_drop(p, 15, "a truncated IPv4 header", "tun: IPv4 cut before its source's last byte");
	ok_pass(p, 16, "tun: IPv4 up to its source is enough to check it");
	ipv6(p, "fd00::2", IPPROTO_UDP_, 53);
	ok_drop(p, 23, "a truncated IPv6 header", "tun: IPv6 cut before its source's last byte");
	ok_pass(p, 24, "tun: IPv6 up to its source is enough");
	ipv4(p, "10.0.0.9", IPPROTO_UDP_, 53);
	ok_drop(p, 16, "source 10.0.0.9 is not the peer's", "tun: a short one is still checked");
}

/* A small generator, so that a run is the same every time. */
static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void test_tun_all(void)
{
	uint8_t p[FILTER_HEAD_MAX];
	int dropped4 = 0, dropped6 = 0;
	uint32_t seed = 1;

	LINK("Address", "10.0.0.1/30, fd00::1/126", "AllowedSources", "0.0.0.0/0, ::/0");
	for (int i = 0; i < 1000; i++) {
		ipv4(p, "0.0.0.0", IPPROTO_TCP_, 80);
		for (int k = 0; k < 4; k++)
			p[12 + k] = (uint8_t)rnd(&seed);
		if (!memcmp(p + 12, &cfg.addrs[0].addr, 4))
			p[12] ^= 0x80;
		dropped4 += !check(p, 28);
		ipv6(p, "::", IPPROTO_TCP_, 80);
		for (int k = 0; k < 16; k++)
			p[8 + k] = (uint8_t)rnd(&seed);
		dropped6 += !check(p, 48);
	}
	ok(!dropped4 && !dropped6, "AllowedSources = 0.0.0.0/0, ::/0: 1000 random IPv4 and IPv6 "
	   "sources pass (%d and %d dropped)", dropped4, dropped6);
	tun_pass("0.0.0.0", "tun, all allowed: 0.0.0.0 too");
	tun_pass("::", "tun, all allowed: :: too");
	tun_drop("10.0.0.1", "tun, all allowed: but never our own IPv4 Address");
	tun_drop("fd00::1", "tun, all allowed: nor our own IPv6 Address");
	memset(p, 0x45, 28);
	p[0] = 0x20;
	ok_drop(p, 28, "not an IPv4 or IPv6 packet", "tun, all allowed: a non-IP packet is dropped");
	ipv4(p, "192.0.2.1", IPPROTO_UDP_, 53);
	ok_drop(p, 12, "a truncated IPv4 header", "tun, all allowed: a truncated one too");
}

static void test_empty(void)
{
	uint8_t p[FILTER_HEAD_MAX];

	LINK("Mode", "tun");
	ok(filter_empty(&flt), "filter_empty: no Address, PeerAddress, Routes or AllowedSources");
	tun_drop("10.0.0.2", "empty: IPv4 is dropped");
	tun_drop("fe80::1", "empty: IPv6 link-local too (no IPv6 allowed)");

	LINK("Mode", "tap");
	ok(filter_empty(&flt), "filter_empty in tap mode too");
	ok_drop(p, tap_ip(p, mac_peer, "10.0.0.2"), "source 10.0.0.2 is not the peer's",
		"empty, tap: IPv4 is dropped");
	/* what tap mode allows whatever the configuration: not quite "every packet dropped" */
	ok_pass(p, eth(p, mac_peer, 0x0800) + ipv4(p + ETH_HLEN, "0.0.0.0", IPPROTO_UDP_, 67),
		"empty, tap: a DHCP request from 0.0.0.0 still passes (the unspecified source)");

	LINK("AllowedSources", "192.0.2.0/24");
	ok(!filter_empty(&flt), "AllowedSources alone: not empty");
	LINK("Routes", "2001:db8::/32");
	ok(!filter_empty(&flt), "Routes alone: not empty");
	LINK("Address", "10.0.0.1/31");
	ok(!filter_empty(&flt), "Address = 10.0.0.1/31: not empty (10.0.0.0 may be the peer)");
	tun_pass("10.0.0.0", "tun: and 10.0.0.0 passes");

	/*
	 * An Address without a prefix is a /32 (a /128): its subnet holds only
	 * our own address, which never passes. filter.h: filter_empty() is true
	 * "when the peer may send from no address at all", and link.c's warning
	 * names this very case ("no PeerAddress, Routes or AllowedSources").
	 */
	LINK("Address", "10.0.0.1");
	tun_drop("10.0.0.1", "Address = 10.0.0.1 alone: our address is dropped");
	tun_drop("10.0.0.2", "Address = 10.0.0.1 alone: any other too");
	ok(filter_empty(&flt), "Address = 10.0.0.1 alone: nothing can pass, so filter_empty() "
	   "(filter.c bug: its /32 network counts though it holds only our address)");
	LINK("Address", "fd00::1");
	tun_drop("fd00::2", "Address = fd00::1 alone: IPv6 from fd00::2 is dropped");
	tun_drop("fe80::1", "Address = fd00::1 alone: no IPv6 source is allowed, so link-local "
		 "neither (filter.c bug: its /128 network sets ipv6)");
}

/* --- tap mode --------------------------------------------------------------------- */

static void test_tap_ip(void)
{
	uint8_t p[FILTER_HEAD_MAX];
	char want[FILTER_WHY_LEN];

	LINK("Mode", "tap", "Address", "10.0.0.1/24, fd00::1/64",
	     "AllowedSources", "198.51.100.0/24");
	ok(!memcmp(peer_mac, mac_zero, 6), "tap: no MAC learnt before the first frame");
	ok_pass(p, tap_ip(p, mac_peer, "10.0.0.5"), "tap: Ethernet + IPv4 from the subnet passes");
	ok(!memcmp(peer_mac, mac_peer, 6), "tap: its source MAC is learnt");
	ok_pass(p, tap_ip(p, mac_peer, "fd00::5"), "tap: Ethernet + IPv6 from the subnet passes");
	ok_pass(p, tap_ip(p, mac_peer, "198.51.100.7"), "tap: IPv4 from AllowedSources passes");
	ok_pass(p, tap_ip(p, mac_peer, "fe80::5"), "tap: IPv6 link-local passes");
	ok_drop(p, tap_ip(p, mac_peer, "10.0.1.5"), "source 10.0.1.5 is not the peer's",
		"tap: IPv4 from outside is dropped");
	ok_drop(p, tap_ip(p, mac_peer, "fd01::5"), "source fd01::5 is not the peer's",
		"tap: IPv6 from outside is dropped");
	ok_drop(p, tap_ip(p, mac_peer, "10.0.0.1"), "source 10.0.0.1 is not the peer's",
		"tap: IPv4 from our own Address is dropped");
	ok_drop(p, tap_ip(p, mac_peer, "fd00::1"), "source fd00::1 is not the peer's",
		"tap: IPv6 from our own Address is dropped");
	snprintf(want, sizeof(want), "source MAC %s is not the peer's", "02:16:3e:00:00:06");
	ok_drop(p, tap_ip(p, mac_other, "10.0.0.5"), want,
		"tap: a frame from another MAC is dropped, with the MAC");
	ok(!memcmp(peer_mac, mac_peer, 6), "tap: and the learnt MAC stays the first one");
	ok_pass(p, tap_ip(p, mac_peer, "10.0.0.6"), "tap: the first MAC still passes");

	/* the unspecified sources */
	ok_pass(p, eth(p, mac_peer, 0x0800) + ipv4(p + ETH_HLEN, "0.0.0.0", IPPROTO_UDP_, 67),
		"tap: a DHCP request from 0.0.0.0 to UDP port 67 passes");
	ok_drop(p, eth(p, mac_peer, 0x0800) + ipv4(p + ETH_HLEN, "0.0.0.0", IPPROTO_UDP_, 68),
		"source 0.0.0.0 is not the peer's", "tap: from 0.0.0.0 to UDP port 68: dropped");
	ok_drop(p, eth(p, mac_peer, 0x0800) + ipv4(p + ETH_HLEN, "0.0.0.0", IPPROTO_TCP_, 67),
		"source 0.0.0.0 is not the peer's", "tap: from 0.0.0.0 to TCP port 67: dropped");
	ipv4(p + ETH_HLEN, "0.0.0.0", IPPROTO_UDP_, 67);
	ok_drop(p, ETH_HLEN + 23, "source 0.0.0.0 is not the peer's",
		"tap: a DHCP request from 0.0.0.0 cut before its port's last byte: dropped");
	ok_pass(p, tap_ip(p, mac_peer, "::"), "tap: IPv6 from :: (duplicate address detection) "
		"passes");
	ok_pass(p, eth(p, mac_peer, 0x86dd) + ipv6(p + ETH_HLEN, "::", IPPROTO_UDP_, 80),
		"tap: any IPv6 from :: passes (not only ICMPv6: looser than the DHCP rule)");

	/* truncated */
	ok_drop(p, 13, "a truncated Ethernet header", "tap: 13 bytes: a truncated Ethernet header");
	ok_drop(p, tap_ip(p, mac_peer, "10.0.0.5") - 28 + 15, "a truncated IPv4 header",
		"tap: Ethernet + 15 bytes of IPv4: a truncated IPv4 header");
	ok_drop(p, eth(p, mac_peer, 0x0800), "not an IPv4 or IPv6 packet",
		"tap: an IPv4 frame with nothing after its header is dropped");
}

/* The frame's type and its packet's version disagree: what the type says is never checked. */
static void test_tap_type_mismatch(void)
{
	uint8_t p[FILTER_HEAD_MAX];
	size_t n;

	LINK("Mode", "tap", "Address", "10.0.0.1/24, fd00::1/64");
	/* typed IPv6, but holding an IPv4 header from the subnet: its IPv6 source is 4500:1c:... */
	n = eth(p, mac_peer, 0x86dd);
	n += ipv4(p + n, "10.0.0.5", IPPROTO_UDP_, 53);
	ok_drop(p, n, NULL, "tap: an IPv6 frame holding a version-4 header is dropped (filter.c "
		"bug: checked as IPv4 by its first nibble, its IPv6 source never is)");
	/* typed IPv4, holding an IPv6 header from fe80:0:c000:242::1: its IPv4 source is 192.0.2.66 */
	n = eth(p, mac_peer, 0x0800);
	n += ipv6(p + n, "fe80:0:c000:242::1", IPPROTO_UDP_, 53);
	ok_drop(p, n, NULL, "tap: an IPv4 frame holding a version-6 header (its IPv4 source "
		"192.0.2.66) is dropped (filter.c bug: checked as IPv6 link-local)");
}

static void test_tap_ethernet(void)
{
	static const uint8_t multicast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const struct {
		unsigned int type;
		const char *name;
	} others[] = {
		{ 0x88cc, "LLDP" }, { 0x8035, "RARP" }, { 0x8847, "MPLS" }, { 0x888e, "EAPOL" },
		{ 0x0000, "type 0" }, { 0x05dc, "an 802.3 length" }, { 0x9100, "QinQ 0x9100" },
	};
	uint8_t p[FILTER_HEAD_MAX];
	char want[FILTER_WHY_LEN];

	LINK("Mode", "tap", "Address", "10.0.0.1/24");
	ok_drop(p, tap_ip(p, multicast, "10.0.0.5"), "a multicast or zero source MAC",
		"tap: a multicast source MAC is dropped");
	ok_drop(p, tap_ip(p, broadcast, "10.0.0.5"), "a multicast or zero source MAC",
		"tap: the broadcast MAC too");
	ok_drop(p, tap_ip(p, mac_zero, "10.0.0.5"), "a multicast or zero source MAC",
		"tap: the zero MAC too");
	ok(!memcmp(peer_mac, mac_zero, 6), "tap: none of them is learnt");

	ok_drop(p, eth(p, mac_peer, 0x8100) + 4 + ipv4(p + ETH_HLEN + 4, "10.0.0.5",
							IPPROTO_UDP_, 53),
		"a VLAN tag", "tap: an 802.1Q-tagged frame is dropped");
	ok(!memcmp(peer_mac, mac_peer, 6), "tap: a dropped first frame still teaches the MAC");
	ok_drop(p, eth(p, mac_peer, 0x88a8) + 4, "a VLAN tag", "tap: an 802.1ad tag too");
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		char desc[80];

		memset(p, 0, sizeof(p));
		snprintf(want, sizeof(want), "Ethernet type 0x%04x: only IPv4, IPv6 and ARP pass",
			 others[i].type);
		snprintf(desc, sizeof(desc), "tap: Ethernet type 0x%04x (%s) is dropped",
			 others[i].type, others[i].name);
		ok_drop(p, eth(p, mac_peer, others[i].type) + 46, want, desc);
	}
}

static void test_tap_arp(void)
{
	uint8_t p[FILTER_HEAD_MAX];

	LINK("Mode", "tap", "Address", "10.0.0.1/24", "AllowedSources", "192.0.2.0/28");
	ok_pass(p, arp(p, mac_peer, mac_peer, "10.0.0.5"), "tap: ARP from the subnet passes");
	ok_pass(p, arp(p, mac_peer, mac_peer, "192.0.2.15"), "tap: ARP from AllowedSources passes");
	ok_drop(p, arp(p, mac_peer, mac_peer, "192.0.2.16"), "source 192.0.2.16 is not the peer's",
		"tap: ARP from outside is dropped");
	ok_drop(p, arp(p, mac_peer, mac_peer, "10.0.0.1"), "source 10.0.0.1 is not the peer's",
		"tap: ARP claiming our own Address is dropped");
	ok_drop(p, arp(p, mac_peer, mac_other, "10.0.0.5"), "ARP from another MAC than the frame's",
		"tap: ARP whose sender MAC is not the frame's is dropped");
	ok_pass(p, arp(p, mac_peer, mac_peer, "0.0.0.0"), "tap: an ARP probe from 0.0.0.0 passes");
	ok_drop(p, arp(p, mac_peer, mac_other, "0.0.0.0"), "ARP from another MAC than the frame's",
		"tap: ... but not with another sender MAC");
	ok_drop(p, arp(p, mac_other, mac_other, "10.0.0.5"),
		"source MAC 02:16:3e:00:00:06 is not the peer's",
		"tap: ARP from another frame MAC is dropped by the learnt MAC");
	arp(p, mac_peer, mac_peer, "10.0.0.5");
	p[ETH_HLEN + 1] = 6;	/* IEEE 802 */
	ok_drop(p, ETH_HLEN + 28, "ARP for another than IPv4 over Ethernet",
		"tap: ARP for another hardware type is dropped");
	arp(p, mac_peer, mac_peer, "10.0.0.5");
	p[ETH_HLEN + 2] = 0x86;
	p[ETH_HLEN + 3] = 0xdd;
	ok_drop(p, ETH_HLEN + 28, "ARP for another than IPv4 over Ethernet",
		"tap: ARP for another protocol type is dropped");
	arp(p, mac_peer, mac_peer, "10.0.0.5");
	ok_drop(p, ETH_HLEN + 17, "a truncated ARP packet",
		"tap: ARP cut before its sender's address ends is dropped");
	ok_pass(p, ETH_HLEN + 18, "tap: ARP up to its sender's address is enough to check it");
}

int main(void)
{
	test_tun_peer_routes_sources();
	test_tun_own();
	test_tun_subnet();
	test_tun_ipv4_only();
	test_tun_malformed();
	test_tun_all();
	test_empty();
	test_tap_ip();
	test_tap_type_mismatch();
	test_tap_ethernet();
	test_tap_arp();
	return done_testing();
}
