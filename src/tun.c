// SPDX-License-Identifier: GPL-2.0-only
/*
 * TUN and TAP devices: /dev/net/tun and its ioctls (Linux's
 * Documentation/networking/tuntap.rst). See tun.h.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tun.h"

#define TUN_PATH	"/dev/net/tun"
#define VNET_HDR_SIZE	10	/* struct virtio_net_hdr: what docs/protocol.md carries */

/* Fills err with "tun: <what>: <strerror(e)>" and e; returns -e. */
static int __attribute__((format(printf, 3, 4)))
fail(struct error *err, int e, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return error_set(err, e, "tun: %s: %s", what, strerror(e));
}

static void tun_init(struct tun_dev *t, const struct tun_opts *o)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->mode = o->mode;
	t->vnet_hdr = o->vnet_hdr;
}

/* For messages: a device the kernel is to name is not "". */
static const char *shown(const char *name)
{
	return *name ? name : "a new device";
}

static int check_name(const char *name, const char *verb, struct error *err)
{
	if (strlen(name) >= IFNAMSIZ)
		return error_set(err, EINVAL, "tun: %s %s: name longer than %d bytes", verb, name,
				 IFNAMSIZ - 1);
	return 0;
}

/* Opens /dev/net/tun and binds the fd to a device with TUNSETIFF. */
static int set_iff(struct tun_dev *t, const char *name, const struct tun_opts *o, bool excl,
		   const char *verb, struct error *err)
{
	struct ifreq ifr = { 0 };
	int fd;

	fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errno, "%s %s: %s", verb, shown(name), TUN_PATH);

	ifr.ifr_flags = (short)((o->mode == TUN_MODE_TAP ? IFF_TAP : IFF_TUN) | IFF_NO_PI);
	if (o->vnet_hdr)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (o->no_carrier)
		ifr.ifr_flags |= IFF_NO_CARRIER; /* older kernels ignore it: see open_rest */
	if (excl)
		ifr.ifr_flags |= (short)IFF_TUN_EXCL;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		if (e == EINVAL && !excl)
			return error_set(err, e, "tun: %s %s: TUNSETIFF: %s (not a %s device?)",
					 verb, name, strerror(e),
					 o->mode == TUN_MODE_TAP ? "tap" : "tun");
		return fail(err, e, "%s %s: TUNSETIFF", verb, shown(name));
	}
	t->fd = fd;
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ - 1);
	return 0;
}

static int setup_vnet_hdr(struct tun_dev *t, struct error *err)
{
	int size = VNET_HDR_SIZE;

	if (ioctl(t->fd, TUNSETVNETHDRSZ, &size) < 0)
		return fail(err, errno, "%s: TUNSETVNETHDRSZ", t->name);
#if __BYTE_ORDER == __BIG_ENDIAN
	/* the protocol's virtio-net header is little-endian, the kernel's native */
	{
		int le = 1;

		if (ioctl(t->fd, TUNSETVNETLE, &le) < 0)
			return fail(err, errno, "%s: TUNSETVNETLE", t->name);
	}
#endif
	return 0;
}

/*
 * Finds the offloads this kernel takes by asking for them, newest first:
 * TUNSETOFFLOAD refuses unknown bits with EINVAL, which is the documented way
 * to probe. Leaves them all off.
 */
static int probe_offload(struct tun_dev *t, struct error *err)
{
	static const unsigned int tries[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
		TUN_F_CSUM,
	};

	/* without a virtio-net header the kernel could not tell us what it left undone */
	for (size_t i = 0; t->vnet_hdr && i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0) {
			t->offload_ok = tries[i];
			break;
		}
		if (errno != EINVAL)
			return fail(err, errno, "%s: TUNSETOFFLOAD", t->name);
	}
	/* also for a persistent device a previous owner left with offloads on */
	if (ioctl(t->fd, TUNSETOFFLOAD, 0UL) < 0)
		return fail(err, errno, "%s: TUNSETOFFLOAD", t->name);
	t->offload = 0;
	return 0;
}

/* Everything after TUNSETIFF, shared by create and attach. */
static int open_rest(struct tun_dev *t, const struct tun_opts *o, struct error *err)
{
	struct ifreq ifr = { 0 };
	int rc;

	if (ioctl(t->fd, TUNGETIFF, &ifr) < 0)
		return fail(err, errno, "%s: TUNGETIFF", t->name);
	t->persist = ifr.ifr_flags & IFF_PERSIST;

	if (t->vnet_hdr) {
		rc = setup_vnet_hdr(t, err);
		if (rc)
			return rc;
	}
	rc = probe_offload(t, err);
	if (rc)
		return rc;

	t->ifindex = (int)if_nametoindex(t->name);
	if (!t->ifindex)
		return fail(err, errno, "%s: if_nametoindex", t->name);

	/* sets the state asked for, and finds out whether we can set it at all */
	t->carrier_ctl = true;
	rc = tun_set_carrier(t, !o->no_carrier, err);
	if (rc == -EOPNOTSUPP)
		return 0;
	return rc;
}

int tun_create(struct tun_dev *t, const char *name, const struct tun_opts *o, struct error *err)
{
	int rc;

	tun_init(t, o);
	rc = check_name(name, "cannot create", err);
	if (rc)
		return rc;
	rc = set_iff(t, name, o, true, "cannot create", err);
	if (rc)
		return rc;
	rc = open_rest(t, o, err);
	if (rc)
		tun_close(t);
	return rc;
}

int tun_attach(struct tun_dev *t, const char *name, const struct tun_opts *o, struct error *err)
{
	int rc;

	tun_init(t, o);
	rc = check_name(name, "cannot attach to", err);
	if (rc)
		return rc;
	if (!*name || !if_nametoindex(name))
		return error_set(err, ENODEV, "tun: cannot attach to %s: no such device", name);
	rc = set_iff(t, name, o, false, "cannot attach to", err);
	if (rc)
		return rc;
	rc = open_rest(t, o, err);
	if (!rc && !t->persist) {
		/* it vanished after our look, and TUNSETIFF made a new one: not ours to keep */
		rc = error_set(err, ENODEV, "tun: cannot attach to %s: no such device", name);
	}
	if (rc)
		tun_close(t);
	return rc;
}

int tun_set_carrier(struct tun_dev *t, bool on, struct error *err)
{
	int arg = on;

	if (!t->carrier_ctl)
		return error_set(err, EOPNOTSUPP,
				 "tun: %s: carrier control unavailable (needs Linux 5.0)", t->name);
	if (ioctl(t->fd, TUNSETCARRIER, &arg) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOTTY) {
		t->carrier_ctl = false;
		return error_set(err, EOPNOTSUPP, "tun: %s: TUNSETCARRIER: %s (needs Linux 5.0)",
				 t->name, strerror(errno));
	}
	return fail(err, errno, "%s: TUNSETCARRIER", t->name);
}

int tun_set_persist(struct tun_dev *t, bool on, struct error *err)
{
	if (ioctl(t->fd, TUNSETPERSIST, on ? 1UL : 0UL) < 0)
		return fail(err, errno, "%s: TUNSETPERSIST", t->name);
	t->persist = on;
	return 0;
}

int tun_set_offload(struct tun_dev *t, unsigned int flags, struct error *err)
{
	flags &= t->offload_ok;
	/* what the kernel refuses: segmentation without checksumming, ECN without
	 * TSO, and one half of USO */
	if (!(flags & TUN_F_CSUM))
		flags = 0;
	if (!(flags & (TUN_F_TSO4 | TUN_F_TSO6)))
		flags &= ~TUN_F_TSO_ECN;
	if ((flags & (TUN_F_USO4 | TUN_F_USO6)) != (TUN_F_USO4 | TUN_F_USO6))
		flags &= ~(TUN_F_USO4 | TUN_F_USO6);
	if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)flags) < 0)
		return fail(err, errno, "%s: TUNSETOFFLOAD 0x%x", t->name, flags);
	t->offload = flags;
	return 0;
}

void tun_close(struct tun_dev *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
