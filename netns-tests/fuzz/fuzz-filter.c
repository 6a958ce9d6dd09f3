// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for filter.c. The input first chooses a link's
 * configuration, as its file would give it through config_set_key() and
 * config_finish(): the mode, and a few Address, PeerAddress, Routes and
 * AllowedSources values from small pools (a configuration config.c refuses
 * is skipped). Then the packet head, up to FILTER_HEAD_MAX bytes, either the
 * input's bytes as they are or (one input in two) a header built first, with
 * its source picked from the pools and nudged, so that the fuzzer reaches the
 * allowed sources and their edges, which random bytes seldom hit; and whether
 * the peer's MAC is known yet (tap). The head is a heap block of exactly its
 * size, so ASan catches any read past it.
 *
 * Checked: no crash or sanitizer report; a drop's reason is NUL-terminated,
 * non-empty and one line; in tun mode the verdict is the one a reference
 * check, written here from filter.h's contract, gives: IPv4 or IPv6, its
 * source in an allowed network or (when some IPv6 source is configured)
 * link-local, and none of our Address values; in tap mode a frame that
 * passes is from the learnt unicast MAC, of type IPv4, IPv6 or ARP, and its
 * source is allowed or one of the unspecified ones; the MAC is learnt from
 * the first unicast frame, and only then.
 *
 * The reference follows filter.c where test-filter shows it breaking the
 * contract (so that this harness looks for other disagreements): link-local
 * passes when any IPv6 network is configured, even a /128 Address that holds
 * only our own address, and in tap mode an IP frame is read by the version
 * nibble of its packet, not by its Ethernet type.
 *
 *   build/fuzz/fuzz-filter -max_total_time=30     a bounded run
 *   build/fuzz/fuzz-filter CORPUS                 an open-ended one
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "filter.h"
#include "fuzz-input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ETH_HLEN	14

static const char *const pool_address[] = {
	"10.0.0.1/24", "10.0.0.1", "10.1.0.1/16", "192.168.1.1/31", "10.0.0.5/30",
	"fd00::1/64", "fd00::1", "fd01::1/126", "2001:db8::1/32", "fe80::1/64",
};
static const char *const pool_peer[] = {
	"10.0.0.2", "10.0.0.2/24", "10.1.2.3", "192.168.1.0", "fd00::2", "fd00::2/64", "fd01::2",
	"fe80::2",
};
static const char *const pool_routes[] = {
	"192.168.10.0/24", "10.0.0.0/8", "172.16.0.0/12", "0.0.0.0/0", "10.0.0.4/30",
	"2001:db8:10::/48", "::/0", "fd00::/8", "fd00::1/128",
};
static const char *const pool_sources[] = {
	"198.51.100.0/24", "0.0.0.0/0", "10.0.0.0/30", "192.0.2.128/25", "10.0.0.1/32",
	"2001:db8:99::/64", "::/0", "fe80::/10", "::/1", "8000::/1",
};
/* Sources a built header may start from: the pools' and a few more. */
static const char *const pool_src[] = {
	"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.1.2.3", "192.168.1.0", "192.168.1.1",
	"192.168.10.255", "172.31.255.255", "198.51.100.7", "192.0.2.128", "192.0.2.127",
	"0.0.0.0", "255.255.255.255", "10.0.0.4", "10.0.0.6",
	"fd00::1", "fd00::2", "fd00::3", "fd01::1", "fd01::3", "2001:db8::1", "2001:db8:10::1",
	"2001:db8:99::1", "fe80::1", "fe80::2", "febf::1", "fec0::1", "::", "::1", "ff02::1",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-filter: invariant broken: %s: %s\n", what, detail);
	abort();
}

/* Up to 3 values of key from pool, none twice; false when config.c refuses one. */
static bool pick(struct input *in, struct link_config *cfg, const char *key,
		 const char *const *pool, size_t n)
{
	unsigned int count = in_u8(in) % 4, used = 0;
	struct config_error err;

	for (unsigned int i = 0; i < count; i++) {
		unsigned int k = in_u8(in) % n;

		if (used & 1u << k)
			continue;
		used |= 1u << k;
		if (config_set_key(cfg, key, pool[k], NULL, &err))
			return false;
	}
	return true;
}

static bool configure(struct input *in, struct link_config *cfg, bool tap)
{
	struct config_error err;

	config_init(cfg);
	if (config_set_key(cfg, "Peer", "5", NULL, &err) ||
	    config_set_key(cfg, "Role", "client", NULL, &err) ||
	    config_set_key(cfg, "Mode", tap ? "tap" : "tun", NULL, &err))
		fail("config_set_key", err.msg);
	if (!pick(in, cfg, "Address", pool_address, N(pool_address)) ||
	    (!tap && !pick(in, cfg, "PeerAddress", pool_peer, N(pool_peer))) ||
	    !pick(in, cfg, "Routes", pool_routes, N(pool_routes)) ||
	    !pick(in, cfg, "AllowedSources", pool_sources, N(pool_sources)))
		return false;
	return config_finish(cfg, &err) == 0;
}

/* --- the reference: filter.h's contract, written again ------------------------------ */

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static bool in_prefix(const struct config_addr *net, const uint8_t *addr)
{
	const uint8_t *n = (const uint8_t *)&net->addr;

	for (unsigned int bit = 0; bit < net->prefix; bit++) {
		unsigned int mask = 0x80u >> (bit % 8);

		if ((n[bit / 8] & mask) != (addr[bit / 8] & mask))
			return false;
	}
	return true;
}

static bool same(const struct config_addr *a, int family, const uint8_t *addr)
{
	return a->family == family && !memcmp(&a->addr, addr, addr_len(family));
}

/* The i-th Address has a PeerAddress: the n-th of a family goes with the n-th of it. */
static bool paired(const struct link_config *cfg, size_t i)
{
	size_t nth = 0, peers = 0;

	for (size_t j = 0; j < i; j++)
		nth += cfg->addrs[j].family == cfg->addrs[i].family;
	for (size_t j = 0; j < cfg->n_peer_addrs; j++)
		peers += cfg->peer_addrs[j].family == cfg->addrs[i].family;
	return nth < peers;
}

/* Some network of the family is configured (filter.c's rule for link-local, see above). */
static bool family_configured(const struct link_config *cfg, int family)
{
	for (size_t i = 0; i < cfg->n_peer_addrs; i++)
		if (cfg->peer_addrs[i].family == family)
			return true;
	for (size_t i = 0; i < cfg->n_addrs; i++)
		if (cfg->addrs[i].family == family && !paired(cfg, i))
			return true;
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].family == family)
			return true;
	for (size_t i = 0; i < cfg->n_sources; i++)
		if (cfg->sources[i].family == family)
			return true;
	return false;
}

static bool ref_allowed(const struct link_config *cfg, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < cfg->n_addrs; i++)
		if (same(&cfg->addrs[i], family, addr))
			return false;
	for (size_t i = 0; i < cfg->n_peer_addrs; i++)
		if (same(&cfg->peer_addrs[i], family, addr))
			return true;
	for (size_t i = 0; i < cfg->n_addrs; i++)
		if (cfg->addrs[i].family == family && !paired(cfg, i) &&
		    in_prefix(&cfg->addrs[i], addr))
			return true;
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].family == family && in_prefix(&cfg->routes[i], addr))
			return true;
	for (size_t i = 0; i < cfg->n_sources; i++)
		if (cfg->sources[i].family == family && in_prefix(&cfg->sources[i], addr))
			return true;
	return family == AF_INET6 && addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80 &&
	       family_configured(cfg, AF_INET6);
}

static bool zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Tun mode: the verdict the contract gives. */
static bool ref_tun(const struct link_config *cfg, const uint8_t *p, size_t len)
{
	if (len >= 16 && p[0] >> 4 == 4)
		return ref_allowed(cfg, AF_INET, p + 12);
	if (len >= 24 && p[0] >> 4 == 6)
		return ref_allowed(cfg, AF_INET6, p + 8);
	return false;
}

/* Tap mode: what a frame that passed must be (the MAC checks are the caller's). */
static bool ref_tap_may_pass(const struct link_config *cfg, const uint8_t *p, size_t len)
{
	unsigned int type = (unsigned int)p[12] << 8 | p[13];
	const uint8_t *ip = p + ETH_HLEN, *arp = ip;
	size_t n = len - ETH_HLEN;

	if (type == 0x0806)
		return n >= 18 && !memcmp(arp + 8, p + 6, 6) &&
		       (zero(arp + 14, 4) || ref_allowed(cfg, AF_INET, arp + 14));
	if (type != 0x0800 && type != 0x86dd)
		return false;
	if (n >= 16 && ip[0] >> 4 == 4)
		/* 0.0.0.0: a DHCP request, UDP to port 67 */
		return ref_allowed(cfg, AF_INET, ip + 12) ||
		       (zero(ip + 12, 4) && n >= 24 && ip[9] == 17 && ip[22] == 0 && ip[23] == 67);
	if (n >= 24 && ip[0] >> 4 == 6)
		return zero(ip + 8, 16) || ref_allowed(cfg, AF_INET6, ip + 8);
	return false;
}

/* --- the packet ---------------------------------------------------------------------- */

static const uint8_t mac_known[6] = { 0x02, 0x16, 0x3e, 0x00, 0x00, 0x05 };
static const uint8_t macs[4][6] = {
	{ 0x02, 0x16, 0x3e, 0x00, 0x00, 0x05 },
	{ 0x02, 0x16, 0x3e, 0x00, 0x00, 0x06 },
	{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
	{ 0 },
};
static const unsigned int types[] = { 0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x88cc };

/* A header from a pool source (nudged), the input's bytes after it; returns its length. */
static size_t build(struct input *in, bool tap, uint8_t *buf)
{
	uint8_t ctl = in_u8(in), nudge = in_u8(in);
	const char *src = pool_src[in_u8(in) % N(pool_src)];
	bool v6 = strchr(src, ':') != NULL;
	size_t at = 0, off, len = FILTER_HEAD_MAX;
	uint8_t *h;

	memset(buf, 0, FILTER_HEAD_MAX);
	if (tap) {
		unsigned int type = types[(ctl >> 2) % N(types)];

		memcpy(buf + 6, macs[ctl & 3], 6);
		if (type == 0x0800 || type == 0x86dd)
			type = v6 ? 0x86dd : 0x0800;
		buf[12] = (uint8_t)(type >> 8);
		buf[13] = (uint8_t)type;
		at = ETH_HLEN;
	}
	h = buf + at;
	if (tap && buf[12] == 0x08 && buf[13] == 0x06) {
		/* ARP for IPv4 over Ethernet, its sender the frame's MAC (mostly) */
		static const uint8_t arp_head[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };

		memcpy(h, arp_head, 8);
		memcpy(h + 8, (ctl & 0x80) ? macs[1] : buf + 6, 6);
		if (!v6 && inet_pton(AF_INET, src, h + 14) != 1)
			abort();
		off = at + 18;
	} else if (v6) {
		h[0] = 0x60;
		h[6] = (ctl & 0x40) ? 58 : 17;
		if (inet_pton(AF_INET6, src, h + 8) != 1)
			abort();
		h[23] ^= nudge;
		off = at + 40;
	} else {
		h[0] = 0x45;
		h[9] = (ctl & 0x40) ? 6 : 17;
		if (inet_pton(AF_INET, src, h + 12) != 1)
			abort();
		h[15] ^= nudge;
		h[23] = (ctl & 0x20) ? 67 : 68;
		off = at + 24;
	}
	/* the rest from the input; then maybe cut short */
	while (off < FILTER_HEAD_MAX && in->n)
		buf[off++] = in_u8(in);
	if (ctl & 0x10)
		len = in_u8(in) % (FILTER_HEAD_MAX + 1);
	return len;
}

static void check_why(const char *why)
{
	size_t len = strnlen(why, FILTER_WHY_LEN);

	if (len == FILTER_WHY_LEN)
		fail("reason not terminated", "");
	if (!len)
		fail("drop without a reason", "");
	if (strchr(why, '\n'))
		fail("reason of more than one line", why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct link_config cfg;
	static struct source_filter flt;
	struct input in = { data, size };
	uint8_t buf[FILTER_HEAD_MAX], mac[6], *block, *head;
	char why[FILTER_WHY_LEN];
	uint8_t flags = in_u8(&in);
	bool tap = flags & 1, learnt = flags & 4, pass, ref;
	size_t len;

	if (!configure(&in, &cfg, tap))
		return 0;
	filter_init(&flt, &cfg);
	if (flags & 2) {
		len = build(&in, tap, buf);
	} else {
		len = in.n < FILTER_HEAD_MAX ? in.n : FILTER_HEAD_MAX;
		memcpy(buf, in.p, len);
	}
	/* an empty head is the end of a 1-byte block: ASan sees any read of it too */
	block = malloc(len ? len : 1);
	if (!block)
		abort();
	head = block + !len;
	memcpy(head, buf, len);
	memcpy(mac, learnt ? mac_known : macs[3], 6);
	memset(why, 0xa5, sizeof(why));
	pass = filter_check(&flt, head, len, mac, why, sizeof(why));
	if (!pass)
		check_why(why);
	if (!tap) {
		ref = ref_tun(&cfg, head, len);
		if (pass != ref)
			fail(pass ? "tun: passed, against the contract" :
				    "tun: dropped, though the contract lets it pass",
			     pass ? "" : why);
	} else {
		bool unicast = len >= ETH_HLEN && !(head[6] & 1) && !zero(head + 6, 6);

		if (learnt && memcmp(mac, mac_known, 6))
			fail("tap", "the learnt MAC changed");
		if (!learnt && (unicast ? memcmp(mac, head + 6, 6) : !zero(mac, 6)))
			fail("tap", "the MAC was not learnt from the first unicast frame, or was "
			     "learnt from another");
		if (pass && (!unicast || memcmp(mac, head + 6, 6)))
			fail("tap", "passed from a multicast, zero or unknown MAC");
		if (pass && !ref_tap_may_pass(&cfg, head, len))
			fail("tap", "passed, against the contract");
	}
	free(block);
	return 0;
}
