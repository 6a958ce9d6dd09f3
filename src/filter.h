/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the peer may send from: the source address of every packet it hands
 * us is checked before the packet reaches our device, as WireGuard does with
 * AllowedIPs and Xen's vif scripts with their antispoofing rules. A guest
 * that sends from an address that is not its own gets its packet dropped and
 * counted, never delivered.
 *
 * The peer may send from (vchan-tun.conf(5), "Source filtering"):
 *  - each of its PeerAddress (the address alone, whatever prefix is written),
 *  - the subnet of each Address that has no PeerAddress of its own (written
 *    as 10.0.0.1/30 or fd00::1/64: the peer is somewhere in it; a /32 or
 *    /128 Address holds only ours, so it allows nothing),
 *  - each network of Routes (the networks routed to it),
 *  - each network of AllowedSources (anything else: 0.0.0.0/0 for all),
 *  - IPv6 link-local addresses (fe80::/10), when it may send IPv6 at all:
 *    they cannot leave the link, and its own protocols use them;
 *  - in tap mode also: the unspecified address (0.0.0.0 for a DHCP request
 *    to UDP port 67, :: for ICMPv6 and MLD: duplicate address detection),
 * but never from one of our own addresses. Anything else is dropped: in tun
 * mode, whatever is not IPv4 or IPv6; in tap mode, frames from a multicast
 * or zero MAC, or from another MAC than the first one the peer sent from on
 * this channel (the guest's MAC, learnt, as a switch port with port
 * security does), VLAN-tagged frames (the guest may not pick a VLAN), IP
 * whose version is not the frame's type, ARP whose sender is not the
 * frame's source or not an allowed address, and every type but IPv4, IPv6
 * and ARP.
 *
 * Pure: it looks only at the bytes it is given, a private copy of the
 * packet's first bytes (never shared memory, which the peer could change
 * between our check and the kernel's copy).
 */
#ifndef VCHAN_TUN_FILTER_H
#define VCHAN_TUN_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Bytes of a packet's start the filter looks at: Ethernet, and IPv6's or ARP's header. */
#define FILTER_HEAD_MAX		64
#define FILTER_MAX_NETS		(CONFIG_MAX_ADDRS + CONFIG_MAX_ROUTES + CONFIG_MAX_SOURCES)
#define FILTER_WHY_LEN		128

struct filter_net {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];		/* network byte order, host bits clear */
	unsigned int prefix;
};

struct source_filter {
	bool tap;
	struct filter_net nets[FILTER_MAX_NETS];
	size_t n_nets;
	bool ipv4, ipv6;		/* some source of the family is allowed */
	const struct config_addr *own;	/* our Address: never the peer's */
	size_t n_own;
};

/* The filter a link's configuration makes; it points into cfg, which must outlive it. */
void filter_init(struct source_filter *f, const struct link_config *cfg);

/* True when the peer may send from no address at all: every packet would be dropped. */
bool filter_empty(const struct source_filter *f);

/*
 * Checks one packet: head holds a copy of its first head_len bytes
 * (min(its length, FILTER_HEAD_MAX)). In tap mode, peer_mac is the MAC the
 * peer sends from, all zero until its first frame teaches it. Returns true
 * when the packet may pass; false with the reason in why (one line, e.g.
 * "source 192.0.2.66 is not the peer's").
 */
bool filter_check(const struct source_filter *f, const uint8_t *head, size_t head_len,
		  uint8_t peer_mac[6], char *why, size_t len);

#endif
