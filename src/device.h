/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A link's device: the TUN or TAP device made (or taken over, when
 * persistent) from its configuration, set up as the configuration says
 * (MTU, addresses with their point-to-point peers, up unless Watched) and
 * told to take no orders from the peer: no router advertisements, no
 * redirects, no stateless autoconfiguration, IPv4 and IPv6, set before it
 * first goes up. A guest's routes reach us only through Routes and the
 * hooks. Then its carrier, which follows the peer, and its offloads, which
 * follow the handshake.
 *
 * Afterwards the administrator may change it with ip(8); what the kernel
 * announces (netlink.h's listener) is followed or undone here, and
 * vchan-tund(8) documents it: a rename is followed, another MTU is undone,
 * an admin down is respected (and reported), the next admin up gets the
 * configured addresses back (Linux drops IPv6 ones on down), an address of
 * ours removed is reported and comes back with the next admin up or
 * device_restore, and deletion is the link's to handle.
 *
 * Errors: 0, or a negative errno, with that errno and one line naming the
 * device and what failed in the struct error (error.h) (-EBUSY: another
 * process holds it). Lasting ones are marked so (error.h): no TUN/TAP driver
 * (hint "modprobe tun"), no CAP_NET_ADMIN (-EPERM), the name held by another
 * process or another kind of device (-EBUSY, -EINVAL).
 */
#ifndef VCHAN_TUN_DEVICE_H
#define VCHAN_TUN_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "tun.h"

struct netlink;
struct netlink_event;

struct device {
	struct tun_dev tun;	/* tun.name: the kernel's name, renames followed */
	bool open;
	bool carrier;
	uint32_t features;	/* FRAME_FEAT_* the kernel takes on it, for our HELLO */

	/* as the kernel has it, kept current by device_follow */
	unsigned int mtu;
	bool admin_up;
	bool went_down;		/* an admin down was announced since we last saw it up */
	uint32_t addrs_lost;	/* bit i: the configuration's addrs[i], removed by someone */
	/*
	 * bit i: addrs[i] added by us, and the kernel's announcement of it not
	 * read yet: a removal read meanwhile happened before, and is no news
	 */
	uint32_t addrs_unheard;
};



/*
 * Makes the device, or takes over a persistent one of that name, carrier
 * off, and sets it up. -EBUSY, with a message saying so, when another
 * process (another vchan-tund serving the link?) holds it; -EINVAL when the
 * name is another device's. Both are lasting.
 */
int device_open(struct device *dev, const struct link_config *cfg, struct netlink *nl,
		struct error *err);

/*
 * A running device from old's settings to cfg's, in place (same device, same
 * ifindex): Persistent, MTU, Watched (no longer watched: set up), and the
 * addresses (those old had and cfg has not removed, the new ones added). Only keys config_restart_keys() leaves
 * out may differ.
 */
int device_reconfigure(struct device *dev, const struct link_config *old,
		       const struct link_config *cfg, struct netlink *nl, struct error *err);

/* Closing removes a device that is not persistent, addresses and all. */
void device_close(struct device *dev);

/* Carrier on or off; a failure is logged under the link's name. */
void device_carrier(struct device *dev, bool on, const char *link);

/* The offloads the kernel may hand us, for a link that agreed on these FRAME_FEAT_*. */
int device_offload(struct device *dev, uint32_t features, struct error *err);

/*
 * A kernel announcement about this device (by ifindex): follows the name,
 * restores the MTU, notes admin down, restores addresses on admin up,
 * reports our addresses removed. Logged under cfg->name. 0, or -ENODEV
 * when the device is gone (deleted), which is the link's to handle.
 */
int device_follow(struct device *dev, const struct link_config *cfg, struct netlink *nl,
		  const struct netlink_event *ev);

/* The same from the device's state read again, after announcements were lost. */
int device_resync(struct device *dev, const struct link_config *cfg, struct netlink *nl);

/* The configured addresses again (on reload), if the device is up; a failure is logged. */
void device_restore(struct device *dev, const struct link_config *cfg, struct netlink *nl);

/* Packets the kernel dropped in front of the device, unread (its tx_dropped); -1 if unknown. */
long long device_tx_dropped(const struct device *dev);

#endif
