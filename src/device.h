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

struct device {
	struct tun_dev tun;
	bool open;
	bool carrier;
	uint32_t features;	/* FRAME_FEAT_* the kernel takes on it, for our HELLO */
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
 * ifindex): Persistent, MTU, and the addresses (those old had and cfg has
 * not removed, the new ones added). Only keys config_restart_keys() leaves
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

/* Packets the kernel dropped in front of the device, unread (its tx_dropped); -1 if unknown. */
long long device_tx_dropped(const struct device *dev);

#endif
