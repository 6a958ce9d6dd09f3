/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Link configuration over rtnetlink with libnl-3: MTU, addresses (with the
 * point-to-point peer), up and down, link state, the devices' sysctls; and
 * a listener for what the kernel announces about them. Never runs ip(8).
 *
 * Interfaces are given by name and looked up on each call, in the network
 * namespace the process is in (or by ifindex, which survives a rename).
 *
 * Errors: functions return 0 or a negative errno, and fill the struct error
 * (error.h) with that errno and a message naming the interface, the address
 * where there is one, libnl's text and the kernel's own explanation when it
 * gave one (extended ack), e.g.
 * "netlink: cannot set MTU 70000 on vchan5: Invalid input data or parameter
 * (kernel: mtu greater than device maximum)".
 */
#ifndef VCHAN_TUN_NETLINK_H
#define VCHAN_TUN_NETLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

struct netlink;

/*
 * An address as `ip addr add LOCAL/PREFIX dev X` or `ip addr add LOCAL peer
 * PEER/PREFIX dev X` takes it: with a peer, the kernel gets IFA_LOCAL = local
 * and IFA_ADDRESS = peer, and routes the peer (PREFIX wide) over the link.
 */
struct netlink_addr {
	const struct config_addr *local;
	const struct config_addr *peer;	/* NULL for none */
	unsigned int prefix;		/* the peer's with a peer, else the local address's */
	bool nodad;			/* IPv6: usable at once, no duplicate address detection */
};

struct netlink_link {
	int ifindex;
	char name[IF_NAMESIZE];	/* the kernel's, now */
	unsigned int flags;	/* IFF_UP, IFF_RUNNING, IFF_LOWER_UP, ... */
	unsigned int mtu;
	bool carrier;
	uint8_t operstate;	/* IF_OPER_* */
};

/* NULL on failure, with the reason in err. */
struct netlink *netlink_open(struct error *err);
void netlink_close(struct netlink *nl);

int netlink_set_mtu(struct netlink *nl, const char *ifname, unsigned int mtu, struct error *err);
int netlink_set_up(struct netlink *nl, const char *ifname, bool up, struct error *err);

/*
 * Adding an address that is there already succeeds (idempotent): 0, and 1
 * when this call added it, which Linux then announces; -errno with err.
 *
 * Order matters for IPv6: add addresses after bringing the link up. Linux
 * installs the route to an IPv6 peer only when the address is added to a link
 * that is up (one added while down comes up without it), and removes IPv6
 * addresses when a link goes down (unless keep_addr_on_down is set); carrier
 * changes keep both. Hence: up once, then addresses, then only carrier.
 */
int netlink_addr_add(struct netlink *nl, const char *ifname, const struct netlink_addr *a,
		     struct error *err);
/* Removing an address that is not there succeeds too. */
int netlink_addr_del(struct netlink *nl, const char *ifname, const struct netlink_addr *a,
		     struct error *err);

/*
 * Writes net.FAMILY.conf.IFNAME.KEY (family "ipv4" or "ipv6") in /proc/sys,
 * of the network namespace the process is in: the device options rtnetlink
 * cannot set (IPv6's, such as accept_ra or keep_addr_on_down). 0, or a
 * negative errno with "PATH: reason" in err (-ENOENT: no such option, e.g.
 * IPv6 disabled).
 */
int netlink_dev_sysctl(const char *ifname, const char *family, const char *key,
		       const char *value, struct error *err);

/*
 * Waits, at most timeout_ms, until the kernel routes the host address dst
 * through ifname. Linux installs the route to an IPv6 peer from
 * a work queue, after the address was added, and not at all if the link is
 * down by then: wait for it before taking the link down.
 */
int netlink_wait_route(struct netlink *nl, const char *ifname, const struct config_addr *dst,
		       int timeout_ms, struct error *err);

int netlink_link_get(struct netlink *nl, const char *ifname, struct netlink_link *st,
		     struct error *err);
/* The same by ifindex: a device renamed since is still found. */
int netlink_link_get_index(struct netlink *nl, int ifindex, struct netlink_link *st,
			   struct error *err);

/*
 * Listening: what the kernel announces about links and addresses
 * (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR), for any device
 * of the namespace, on a socket of its own, non-blocking, for the caller's
 * event loop. A message tells that something changed, and when; what is
 * true now is for netlink_link_get_index to say, as several messages may
 * wait in the socket (some from before the device was set up).
 */
struct netlink_listener;

enum netlink_change {
	NETLINK_LINK_CHANGED,	/* RTM_NEWLINK: flags, MTU, name, ... */
	NETLINK_LINK_GONE,	/* RTM_DELLINK */
	NETLINK_ADDR_ADDED,	/* RTM_NEWADDR */
	NETLINK_ADDR_GONE,	/* RTM_DELADDR */
};

struct netlink_event {
	enum netlink_change what;
	int ifindex;
	/* links: ifi_flags, and ifi_change (the flags this change flipped; ~0U: all, new) */
	unsigned int flags, change;
	/* addresses: IFA_LOCAL (IFA_ADDRESS without one) and the prefix length */
	struct config_addr addr;
};

/* NULL on failure, with the reason in err. */
struct netlink_listener *netlink_listen(struct error *err);
void netlink_listener_close(struct netlink_listener *ls);
int netlink_listener_fd(const struct netlink_listener *ls);

/*
 * Reads at most budget datagrams, handing each event to on_event in the
 * order the kernel sent them. Returns how many were read (fewer than budget:
 * none left), or a negative errno: -ENOBUFS when the kernel dropped messages
 * because we read too slowly (the caller must read the devices' state
 * again), else a failure of the socket.
 */
int netlink_listener_read(struct netlink_listener *ls, int budget,
			  void (*on_event)(const struct netlink_event *ev, void *arg), void *arg);

/* "up", "down", "dormant", ... as ip(8) shows IF_OPER_* (lower case). */
const char *netlink_operstate_name(uint8_t operstate);

#endif
