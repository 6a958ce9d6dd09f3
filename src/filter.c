// SPDX-License-Identifier: GPL-2.0-only
/* Source filtering of the peer's packets: see filter.h. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "filter.h"

#define ETH_HLEN		14
#define ETH_P_IP		0x0800
#define ETH_P_ARP		0x0806
#define ETH_P_IPV6		0x86dd
#define ETH_P_8021Q		0x8100
#define ETH_P_8021AD		0x88a8
#define IPV4_SRC		12
#define IPV6_SRC		8
#define IPV6_NEXT		6
#define ARP_LEN			28	/* for IPv4 over Ethernet */
#define ARP_SHA			8
#define ARP_SPA			14
#define UDP_DHCP_SERVER		67

static void add_net(struct source_filter *f, const struct config_addr *a, unsigned int prefix)
{
	struct filter_net *n = &f->nets[f->n_nets++];
	size_t bytes = a->family == AF_INET6 ? 16 : 4;

	n->family = a->family;
	n->prefix = prefix;
	memcpy(n->addr, &a->addr, bytes);
	for (size_t i = 0; i < bytes; i++) {
		unsigned int first = (unsigned int)i * 8;

		if (first >= prefix)
			n->addr[i] = 0;
		else if (prefix - first < 8)
			n->addr[i] &= (uint8_t)(0xff00u >> (prefix - first));
	}
	if (a->family == AF_INET6)
		f->ipv6 = true;
	else
		f->ipv4 = true;
}

static unsigned int host_prefix(int family)
{
	return family == AF_INET6 ? 128 : 32;
}

static size_t count_family(const struct config_addr *a, size_t n, int family)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += a[i].family == family;
	return count;
}

void filter_init(struct source_filter *f, const struct link_config *cfg)
{
	memset(f, 0, sizeof(*f));
	f->tap = cfg->mode == CONFIG_MODE_TAP;
	/* a peer address is a host, whatever prefix routes it */
	for (size_t i = 0; i < cfg->n_peer_addrs; i++)
		add_net(f, &cfg->peer_addrs[i], host_prefix(cfg->peer_addrs[i].family));
	/*
	 * An Address without its PeerAddress: the peer is somewhere in its
	 * subnet. A host prefix (/32, /128) holds our address alone, which
	 * never passes: it allows nothing, not even the family's link-local.
	 */
	for (size_t i = 0, nth[2] = { 0, 0 }; i < cfg->n_addrs; i++) {
		const struct config_addr *a = &cfg->addrs[i];
		size_t *k = &nth[a->family == AF_INET6];

		if ((*k)++ >= count_family(cfg->peer_addrs, cfg->n_peer_addrs, a->family) &&
		    a->prefix < host_prefix(a->family))
			add_net(f, a, a->prefix);
	}
	f->own = cfg->addrs;
	f->n_own = cfg->n_addrs;
	for (size_t i = 0; i < cfg->n_routes; i++)
		add_net(f, &cfg->routes[i], cfg->routes[i].prefix);
	for (size_t i = 0; i < cfg->n_sources; i++)
		add_net(f, &cfg->sources[i], cfg->sources[i].prefix);
}

bool filter_empty(const struct source_filter *f)
{
	return !f->n_nets;
}

static bool in_net(const struct filter_net *n, const uint8_t *addr)
{
	unsigned int whole = n->prefix / 8, rest = n->prefix % 8;

	if (memcmp(n->addr, addr, whole))
		return false;
	return !rest || !((n->addr[whole] ^ addr[whole]) & (uint8_t)(0xff00u >> rest));
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The peer's own, routed or allowed networks, and IPv6's link-local ones; never ours. */
static bool allowed(const struct source_filter *f, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < f->n_own; i++)
		if (f->own[i].family == family &&
		    !memcmp(&f->own[i].addr, addr, family == AF_INET6 ? 16 : 4))
			return false;
	for (size_t i = 0; i < f->n_nets; i++)
		if (f->nets[i].family == family && in_net(&f->nets[i], addr))
			return true;
	return family == AF_INET6 && f->ipv6 && addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80;
}

static bool __attribute__((format(printf, 3, 4))) deny(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return false;
}

static bool check_source(const struct source_filter *f, int family, const uint8_t *addr,
			 char *why, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (allowed(f, family, addr))
		return true;
	inet_ntop(family, addr, text, sizeof(text));
	return deny(why, len, "source %s is not the peer's", text);
}

/*
 * An IP packet at p (len bytes of it there): its version, and its source
 * allowed. In tap mode the frame's type says the version (type_version 4 or
 * 6) and the packet must agree: the kernel goes by the type, so a packet
 * checked by its first nibble alone could pass as the other family. In tun
 * mode (type_version 0) the kernel, like us, goes by the first nibble.
 */
static bool check_ip(const struct source_filter *f, const uint8_t *p, size_t len,
		     unsigned int type_version, char *why, size_t n)
{
	bool tap = type_version != 0;

	if (len && tap && p[0] >> 4 != type_version)
		return deny(why, n, "an IPv%u frame holding an IPv%u header", type_version,
			    p[0] >> 4);
	if (len && p[0] >> 4 == 4) {
		if (len < IPV4_SRC + 4)
			return deny(why, n, "%s IPv4 header", "a truncated");
		/* a DHCP request comes from 0.0.0.0: in tap mode, to the server's port only */
		if (tap && all_zero(p + IPV4_SRC, 4) && len >= 24 && p[9] == IPPROTO_UDP &&
		    (p[0] & 0x0f) == 5 && (p[22] << 8 | p[23]) == UDP_DHCP_SERVER)
			return true;
		return check_source(f, AF_INET, p + IPV4_SRC, why, n);
	}
	if (len && p[0] >> 4 == 6) {
		if (len < IPV6_SRC + 16)
			return deny(why, n, "%s IPv6 header", "a truncated");
		/*
		 * Duplicate address detection and MLD, in tap mode, before the
		 * peer has an address: ICMPv6, or a hop-by-hop header (MLD's).
		 */
		if (tap && all_zero(p + IPV6_SRC, 16) &&
		    (p[IPV6_NEXT] == IPPROTO_ICMPV6 || p[IPV6_NEXT] == IPPROTO_HOPOPTS))
			return true;
		return check_source(f, AF_INET6, p + IPV6_SRC, why, n);
	}
	return deny(why, n, "%s", "not an IPv4 or IPv6 packet");
}

static bool check_arp(const struct source_filter *f, const uint8_t *eth, size_t len, char *why,
		      size_t n)
{
	const uint8_t *arp = eth + ETH_HLEN;

	if (len < ETH_HLEN + ARP_SPA + 4)
		return deny(why, n, "%s ARP packet", "a truncated");
	/* Ethernet and IPv4, 6- and 4-byte addresses: where the sender's are */
	if (arp[0] || arp[1] != 1 || arp[2] != 0x08 || arp[3] || arp[4] != 6 || arp[5] != 4)
		return deny(why, n, "%s", "ARP for another than IPv4 over Ethernet");
	if (memcmp(arp + ARP_SHA, eth + 6, 6))
		return deny(why, n, "%s", "ARP from another MAC than the frame's");
	/* a probe asks about an address before anyone has it */
	if (all_zero(arp + ARP_SPA, 4))
		return true;
	return check_source(f, AF_INET, arp + ARP_SPA, why, n);
}

static bool check_ethernet(const struct source_filter *f, const uint8_t *p, size_t len,
			   uint8_t peer_mac[6], char *why, size_t n)
{
	static const uint8_t none[6];
	char mac[18];
	unsigned int type;

	if (len < ETH_HLEN)
		return deny(why, n, "%s Ethernet header", "a truncated");
	if ((p[6] & 1) || all_zero(p + 6, 6))
		return deny(why, n, "%s source MAC", "a multicast or zero");
	if (!memcmp(peer_mac, none, 6))
		memcpy(peer_mac, p + 6, 6);
	if (memcmp(peer_mac, p + 6, 6)) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", p[6], p[7], p[8], p[9],
			 p[10], p[11]);
		return deny(why, n, "source MAC %s is not the peer's", mac);
	}
	type = (unsigned int)p[12] << 8 | p[13];
	switch (type) {
	case ETH_P_IP:
		return check_ip(f, p + ETH_HLEN, len - ETH_HLEN, 4, why, n);
	case ETH_P_IPV6:
		return check_ip(f, p + ETH_HLEN, len - ETH_HLEN, 6, why, n);
	case ETH_P_ARP:
		return check_arp(f, p, len, why, n);
	case ETH_P_8021Q:
	case ETH_P_8021AD:
		return deny(why, n, "%s", "a VLAN tag");
	default:
		snprintf(mac, sizeof(mac), "0x%04x", type);
		return deny(why, n, "Ethernet type %s: only IPv4, IPv6 and ARP pass", mac);
	}
}

bool filter_check(const struct source_filter *f, const uint8_t *head, size_t head_len,
		  uint8_t peer_mac[6], char *why, size_t len)
{
	if (f->tap)
		return check_ethernet(f, head, head_len, peer_mac, why, len);
	return check_ip(f, head, head_len, 0, why, len);
}
