/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TUN and TAP devices through /dev/net/tun: create one, or attach to a
 * persistent one again; carrier, persistence and offloads. Addresses, MTU and
 * up/down are netlink's business (netlink.h).
 *
 * The fd is non-blocking and close-on-exec, and carries packets without
 * packet information (IFF_NO_PI): an IP packet (tun) or an Ethernet frame
 * (tap) per read or write, preceded by a virtio-net header when the device
 * was opened with vnet_hdr.
 *
 * Errors: functions return 0 or a negative errno, and fill the struct error
 * (error.h) with that errno and a message that names the device and the
 * failing call, e.g.
 * "tun: cannot create vchan5: TUNSETIFF: Device or resource busy".
 */
#ifndef VCHAN_TUN_TUN_H
#define VCHAN_TUN_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

/* Flags and offload bits; the newest are missing from some headers. */
#include <linux/if_tun.h>
#ifndef IFF_NO_CARRIER
#define IFF_NO_CARRIER	0x0040
#endif
#ifndef TUN_F_USO4
#define TUN_F_USO4	0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6	0x40
#endif

#include "error.h"

enum tun_mode {
	TUN_MODE_TUN,	/* IP packets, IFF_TUN */
	TUN_MODE_TAP,	/* Ethernet frames, IFF_TAP */
};

struct tun_opts {
	enum tun_mode mode;
	bool vnet_hdr;		/* IFF_VNET_HDR: a struct virtio_net_hdr before each packet */
	bool no_carrier;	/* start without carrier */
};

struct tun_dev {
	int fd;
	int ifindex;
	char name[IFNAMSIZ];
	enum tun_mode mode;
	bool vnet_hdr;
	bool persist;		/* the device outlives our fd */
	bool carrier_ctl;	/* TUNSETCARRIER works (Linux >= 5.0) */
	unsigned int offload_ok; /* TUN_F_* this kernel takes on this device */
	unsigned int offload;	/* TUN_F_* set now */
};

/*
 * Creates a new device. name may be empty or hold a "%d" template, and then
 * t->name is what the kernel chose. Fails with -EBUSY if a device of that
 * name exists already (use tun_attach for a persistent one).
 */
int tun_create(struct tun_dev *t, const char *name, const struct tun_opts *o, struct error *err);

/*
 * Attaches to an existing persistent device (which keeps its addresses and
 * routes), e.g. after a restart. -ENODEV if there is none by that name; the
 * kernel's -EINVAL if it exists with another mode, -EBUSY if someone has it
 * open. t->persist is true afterwards.
 */
int tun_attach(struct tun_dev *t, const char *name, const struct tun_opts *o, struct error *err);

/* Carrier on or off: NO-CARRIER/LOWER_UP. -EOPNOTSUPP before Linux 5.0. */
int tun_set_carrier(struct tun_dev *t, bool on, struct error *err);

/* Whether the device stays after tun_close(). */
int tun_set_persist(struct tun_dev *t, bool on, struct error *err);

/*
 * Sets the offloads (TUN_F_*) the kernel may hand us, limited to what it
 * accepted when the device was opened (t->offload_ok). Only meaningful with
 * vnet_hdr; 0 (the state after opening) means plain packets with a header of
 * zeros or DATA_VALID.
 */
int tun_set_offload(struct tun_dev *t, unsigned int flags, struct error *err);

/* Closes the fd; the kernel removes the device unless it is persistent. */
void tun_close(struct tun_dev *t);

#endif
