// SPDX-License-Identifier: GPL-2.0-only
/* A link's device: see device.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "frame.h"
#include "log.h"
#include "netlink.h"
#include "util.h"

/* How long a new watched device may take to route its IPv6 peers. */
#define PEER_ROUTE_WAIT_MS	1000

/* --- taking no orders from the peer -------------------------------------------------- */

/*
 * What a peer could otherwise tell our kernel through the device: a default
 * route and addresses (IPv6 router advertisements and autoconfiguration),
 * other routes (redirects), a path (source routing).
 */
static const struct {
	const char *family, *key, *value;
} no_orders[] = {
	{ "ipv6", "accept_ra", "0" },
	{ "ipv6", "autoconf", "0" },
	{ "ipv6", "accept_redirects", "0" },
	{ "ipv6", "accept_source_route", "-1" },
	{ "ipv4", "accept_redirects", "0" },
	{ "ipv4", "accept_source_route", "0" },
};

static int take_no_orders(const char *ifname, struct error *err)
{
	struct error why;

	for (size_t i = 0; i < ARRAY_SIZE(no_orders); i++) {
		int rc = netlink_dev_sysctl(ifname, no_orders[i].family, no_orders[i].key,
					    no_orders[i].value, &why);

		/* a kernel without IPv6 takes no IPv6 orders either */
		if (rc == -ENOENT && !strcmp(no_orders[i].family, "ipv6"))
			continue;
		if (rc)
			return error_set(err, why.err, "cannot stop %s from taking routes and "
					 "addresses from the peer: %s", ifname, why.msg);
	}
	return 0;
}

/* --- addresses ------------------------------------------------------------------------ */

/* The n-th PeerAddress of a family, for the n-th Address of that family. */
static const struct config_addr *peer_of(const struct link_config *cfg, size_t idx)
{
	const struct config_addr *a = &cfg->addrs[idx];
	size_t nth = 0, i;

	for (i = 0; i < idx; i++)
		if (cfg->addrs[i].family == a->family)
			nth++;
	for (i = 0; i < cfg->n_peer_addrs; i++) {
		if (cfg->peer_addrs[i].family != a->family)
			continue;
		if (!nth--)
			return &cfg->peer_addrs[i];
	}
	return NULL;
}

/* The i-th Address as the kernel gets it: with its peer, if any, and the pair's prefix. */
static struct netlink_addr addr_pair(const struct link_config *cfg, size_t i)
{
	const struct config_addr *a = &cfg->addrs[i], *p = peer_of(cfg, i);

	/* DAD on a point-to-point link finds nobody, and would hold IPv6 back for seconds */
	return (struct netlink_addr){
		.local = a,
		.peer = p,
		.prefix = p && p->prefix_set ? p->prefix : a->prefix,
		.nodad = true,
	};
}

static bool same_pair(const struct netlink_addr *a, const struct netlink_addr *b)
{
	if (!config_same_addr(a->local, b->local) || a->prefix != b->prefix)
		return false;
	if (!a->peer || !b->peer)
		return !a->peer && !b->peer;
	return config_same_addr(a->peer, b->peer);
}

static int add_addresses(struct device *dev, const struct link_config *cfg, struct netlink *nl,
			 struct error *err)
{
	for (size_t i = 0; i < cfg->n_addrs; i++) {
		struct netlink_addr na = addr_pair(cfg, i);
		int rc = netlink_addr_add(nl, dev->tun.name, &na, err);

		if (rc < 0)
			return rc;
		if (rc)
			dev->addrs_unheard |= 1u << i;
	}
	return 0;
}

/* The pairs of old that cfg no longer has: the kernel would keep them, and route them. */
static int remove_addresses(struct device *dev, const struct link_config *old,
			    const struct link_config *cfg, struct netlink *nl, struct error *err)
{
	for (size_t i = 0; i < old->n_addrs; i++) {
		struct netlink_addr gone = addr_pair(old, i), now;
		bool kept = false;
		int rc;

		for (size_t j = 0; j < cfg->n_addrs && !kept; j++) {
			now = addr_pair(cfg, j);
			kept = same_pair(&gone, &now);
		}
		if (kept)
			continue;
		rc = netlink_addr_del(nl, dev->tun.name, &gone, err);
		if (rc)
			return rc;
	}
	return 0;
}

static bool has_ipv6(const struct config_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].family == AF_INET6)
			return true;
	return false;
}

/* Until Linux has routed each IPv6 peer: it does so after the address is added. */
static void wait_peer_routes(struct device *dev, const struct link_config *cfg,
			     struct netlink *nl)
{
	struct error err;

	for (size_t i = 0; i < cfg->n_peer_addrs; i++) {
		if (cfg->peer_addrs[i].family != AF_INET6)
			continue;
		if (netlink_wait_route(nl, dev->tun.name, &cfg->peer_addrs[i], PEER_ROUTE_WAIT_MS,
				       &err))
			log_link(LOG_WARNING, cfg->name, "%s", err.msg);
	}
}

/*
 * Watched: vchan-tun-watch sets the device up and down, and the addresses
 * must survive that. Linux drops IPv6 ones on down unless told to keep them,
 * and routes an IPv6 peer only for an address added while the device is up
 * (and routed before it goes down): a new device is up for the moment that
 * takes, while its state key says it is not connected, so no watcher minds.
 */
static int watched_addresses(struct device *dev, const struct link_config *cfg,
			     struct netlink *nl, struct error *err)
{
	struct error down_err, why;
	struct netlink_link st;
	bool flip;
	int rc, down;

	if (!has_ipv6(cfg->addrs, cfg->n_addrs))
		return add_addresses(dev, cfg, nl, err);
	rc = netlink_dev_sysctl(dev->tun.name, "ipv6", "keep_addr_on_down", "1", &why);
	if (rc)
		return error_set(err, why.err, "cannot keep the IPv6 addresses of %s while it "
				 "is down: %s", dev->tun.name, why.msg);
	rc = netlink_link_get(nl, dev->tun.name, &st, err);
	if (rc)
		return rc;
	flip = has_ipv6(cfg->peer_addrs, cfg->n_peer_addrs) && !(st.flags & IFF_UP);
	if (flip)
		rc = netlink_set_up(nl, dev->tun.name, true, err);
	if (!rc)
		rc = add_addresses(dev, cfg, nl, err);
	if (!flip)
		return rc;
	if (!rc)
		wait_peer_routes(dev, cfg, nl);
	/* down again even after an error: the device is the watcher's to set up */
	down = netlink_set_up(nl, dev->tun.name, false, &down_err);
	if (!rc && down)
		*err = down_err;
	return rc ? rc : down;
}

static int configure(struct device *dev, const struct link_config *cfg, struct netlink *nl,
		     struct error *err)
{
	int rc;

	if (dev->tun.persist != cfg->persistent) {
		rc = tun_set_persist(&dev->tun, cfg->persistent, err);
		if (rc)
			return rc;
	}
	rc = take_no_orders(dev->tun.name, err);
	if (!rc)
		rc = netlink_set_mtu(nl, dev->tun.name, cfg->mtu, err);
	if (!rc && cfg->watched)
		return watched_addresses(dev, cfg, nl, err);
	/* up before the addresses: Linux routes an IPv6 peer only if added to a link that is up */
	if (!rc)
		rc = netlink_set_up(nl, dev->tun.name, true, err);
	if (!rc)
		rc = add_addresses(dev, cfg, nl, err);
	return rc;
}

/* --- offloads ----------------------------------------------------------------------------- */

/* HELLO's feature bits and the TUN_F_* offloads they stand for. */
static const struct {
	uint32_t feature;
	unsigned int offload;
} offload_map[] = {
	{ FRAME_FEAT_CSUM, TUN_F_CSUM },
	{ FRAME_FEAT_TSO4, TUN_F_TSO4 },
	{ FRAME_FEAT_TSO6, TUN_F_TSO6 },
	{ FRAME_FEAT_TSO_ECN, TUN_F_TSO_ECN },
	{ FRAME_FEAT_USO, TUN_F_USO4 | TUN_F_USO6 },
};

/* What we can offer: the offloads the kernel takes on this device. */
static uint32_t features_of_offload(const struct tun_dev *t)
{
	uint32_t features = FRAME_FEAT_VNET_HDR;

	if (!t->vnet_hdr)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(offload_map); i++)
		if ((t->offload_ok & offload_map[i].offload) == offload_map[i].offload)
			features |= offload_map[i].feature;
	return frame_features_normalize(features);
}

int device_offload(struct device *dev, uint32_t features, struct error *err)
{
	unsigned int offload = 0;

	if (!dev->tun.vnet_hdr)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(offload_map); i++)
		if (features & offload_map[i].feature)
			offload |= offload_map[i].offload;
	return tun_set_offload(&dev->tun, offload, err);
}

/* --- the device ------------------------------------------------------------------------------ */

/* Makes the device, or takes over a persistent one: a name that is taken is no one's to take. */
static int open_tun(struct device *dev, const struct link_config *cfg, const struct tun_opts *o,
		    struct error *err)
{
	int rc = tun_create(&dev->tun, cfg->ifname, o, err);

	/* from tun_create, only opening /dev/net/tun fails so */
	if (rc == -ENOENT || rc == -ENODEV)
		return error_lasting(err, "no TUN/TAP driver: modprobe tun");
	if (rc != -EBUSY)
		return rc;
	rc = tun_attach(&dev->tun, cfg->ifname, o, err);
	if (rc == -EBUSY) {
		error_set(err, EBUSY, "device %s is held by another process (another vchan-tund "
			  "serving this link?): not touching it, nor the link's keys in XenStore",
			  cfg->ifname);
		return error_lasting(err, NULL);
	}
	if (rc == -EINVAL) {
		error_set(err, EINVAL, "interface %s exists and is not a %s device this daemon "
			  "can take over: not touching it; remove it or set another Interface",
			  cfg->ifname, config_mode_name(cfg->mode));
		return error_lasting(err, NULL);
	}
	return rc;
}

int device_open(struct device *dev, const struct link_config *cfg, struct netlink *nl,
		struct error *err)
{
	struct tun_opts o = {
		.mode = cfg->mode == CONFIG_MODE_TAP ? TUN_MODE_TAP : TUN_MODE_TUN,
		.no_carrier = true,
		.vnet_hdr = true,
	};
	int rc;

	rc = open_tun(dev, cfg, &o, err);
	if (!rc) {
		dev->carrier = false;
		dev->addrs_unheard = 0;
		rc = configure(dev, cfg, nl, err);
		if (rc)
			tun_close(&dev->tun);
	}
	/* TUNSETIFF's and netlink's: what no retry gets */
	if (rc == -EPERM)
		return error_lasting(err, "vchan-tund needs CAP_NET_ADMIN");
	if (rc)
		return rc;
	dev->open = true;
	dev->features = features_of_offload(&dev->tun);
	dev->mtu = cfg->mtu;
	dev->admin_up = !cfg->watched;
	dev->went_down = false;
	dev->addrs_lost = 0;
	log_link(LOG_INFO, cfg->name, "device %s ready (%s, mtu %u, %zu address%s%s)",
		 dev->tun.name, config_mode_name(cfg->mode), cfg->mtu, cfg->n_addrs,
		 cfg->n_addrs == 1 ? "" : "es", dev->tun.persist ? ", persistent" : "");
	return 0;
}

int device_reconfigure(struct device *dev, const struct link_config *old,
		       const struct link_config *cfg, struct netlink *nl, struct error *err)
{
	int rc = 0;

	if (!dev->open)
		return 0;
	if (dev->tun.persist != cfg->persistent)
		rc = tun_set_persist(&dev->tun, cfg->persistent, err);
	if (!rc && old->mtu != cfg->mtu)
		rc = netlink_set_mtu(nl, dev->tun.name, cfg->mtu, err);
	/* no longer Watched: the device is ours to keep up, as when it is made */
	if (!rc && old->watched && !cfg->watched)
		rc = netlink_set_up(nl, dev->tun.name, true, err);
	if (!rc)
		rc = remove_addresses(dev, old, cfg, nl, err);
	if (rc)
		return rc;
	/* adding what is there already does nothing: only the new pairs arrive */
	return cfg->watched ? watched_addresses(dev, cfg, nl, err) : add_addresses(dev, cfg, nl, err);
}

void device_close(struct device *dev)
{
	if (!dev->open)
		return;
	/* a persistent device stays: without carrier, as the link is gone */
	device_carrier(dev, false, NULL);
	tun_close(&dev->tun);
	dev->open = false;
	dev->carrier = false;
}

void device_carrier(struct device *dev, bool on, const char *link)
{
	struct error err;

	if (!dev->open || dev->carrier == on)
		return;
	dev->carrier = on;
	if (!dev->tun.carrier_ctl)
		return;
	if (tun_set_carrier(&dev->tun, on, &err))
		log_link(LOG_WARNING, link, "%s", err.msg);
}

/* --- following the kernel ------------------------------------------------------------------- */

/* How to change what the administrator tried to change with ip. */
static const char *how_to_configure(const struct link_config *cfg, char *buf, size_t len)
{
	if (cfg->source[0])
		snprintf(buf, len, "set MTU in %s and reload (vchan-tunctl reload)", cfg->source);
	else
		snprintf(buf, len, "restart vchan-tund with --mtu");
	return buf;
}

static void restore_mtu(struct device *dev, const struct link_config *cfg, struct netlink *nl,
			unsigned int now)
{
	char how[CONFIG_SOURCE_MAX + 64];
	struct error err;

	if (netlink_set_mtu(nl, dev->tun.name, cfg->mtu, &err)) {
		log_link(LOG_WARNING, cfg->name, "the MTU of %s was set to %u; cannot restore the "
			 "link's MTU %u: %s", dev->tun.name, now, cfg->mtu, err.msg);
		dev->mtu = now;
		return;
	}
	/* both ends agreed on the link's MTU: another would drop packets, or the peer's */
	log_link(LOG_WARNING, cfg->name, "the MTU of %s was set to %u (with ip?); the link's MTU "
		 "is %u and is restored: to change it, %s", dev->tun.name, now, cfg->mtu,
		 how_to_configure(cfg, how, sizeof(how)));
	dev->mtu = cfg->mtu;
}

/* why opens the log line: "device vchan2 is up again", "reload". */
static void restore_addresses(struct device *dev, const struct link_config *cfg,
			      struct netlink *nl, const char *why)
{
	struct error err;

	if (add_addresses(dev, cfg, nl, &err)) {
		log_link(LOG_WARNING, cfg->name, "%s; cannot restore its addresses: %s", why,
			 err.msg);
		return;
	}
	dev->addrs_lost = 0;
	log_link(cfg->watched ? LOG_INFO : LOG_NOTICE, cfg->name, "%s: its %zu address%s restored",
		 why, cfg->n_addrs, cfg->n_addrs == 1 ? "" : "es");
}

/*
 * The device as it is now, not as a message said: messages wait in the
 * listener's socket, some from before the device was set up. Only that an
 * admin down happened is taken from the message (went_down), so that a down
 * and up faster than we read still restores the addresses.
 */
static int follow_state(struct device *dev, const struct link_config *cfg, struct netlink *nl)
{
	struct netlink_link st;
	struct error err;
	bool was_up = dev->admin_up;
	char why[96];

	if (netlink_link_get_index(nl, dev->tun.ifindex, &st, &err))
		return err.err == ENODEV ? -ENODEV : 0;
	if (st.name[0] && strcmp(st.name, dev->tun.name)) {
		log_link(LOG_NOTICE, cfg->name, "device %s is now called %s (renamed with ip?): "
			 "following", dev->tun.name, st.name);
		snprintf(dev->tun.name, sizeof(dev->tun.name), "%s", st.name);
	}
	dev->mtu = st.mtu;
	if (st.mtu != cfg->mtu)
		restore_mtu(dev, cfg, nl, st.mtu);
	dev->admin_up = st.flags & IFF_UP;
	if (!dev->admin_up) {
		dev->went_down = true;
		/* a Watched link's device goes down whenever its peer does: routine */
		if (was_up && cfg->watched)
			log_link(LOG_INFO, cfg->name, "device %s is administratively down",
				 dev->tun.name);
		else if (was_up)
			log_link(LOG_NOTICE, cfg->name, "device %s is administratively down: packets "
				 "from the peer are dropped until it is up again (ip link set %s up)",
				 dev->tun.name, dev->tun.name);
		return 0;
	}
	if (!was_up || dev->went_down) {
		dev->went_down = false;
		snprintf(why, sizeof(why), "device %s is up again", dev->tun.name);
		restore_addresses(dev, cfg, nl, why);
	}
	return 0;
}

_Static_assert(CONFIG_MAX_ADDRS <= 32, "addrs_lost and addrs_unheard have a bit for each Address");

/* The configuration's address that a is, or -1. */
static int our_address(const struct link_config *cfg, const struct config_addr *a)
{
	size_t bytes = a->family == AF_INET6 ? 16 : 4;

	for (size_t i = 0; i < cfg->n_addrs; i++)
		if (cfg->addrs[i].family == a->family &&
		    !memcmp(&cfg->addrs[i].addr, &a->addr, bytes))
			return (int)i;
	return -1;
}

static void follow_addr(struct device *dev, const struct link_config *cfg,
			const struct netlink_event *ev)
{
	int i = our_address(cfg, &ev->addr);
	char text[INET6_ADDRSTRLEN];

	/* the administrator's own addresses are theirs */
	if (i < 0)
		return;
	if (ev->what == NETLINK_ADDR_ADDED) {
		dev->addrs_lost &= ~(1u << i);
		dev->addrs_unheard &= ~(1u << i);
		return;
	}
	/* gone before our add, as after a down and up read late: it is back */
	if (dev->addrs_unheard & (1u << i))
		return;
	if (dev->addrs_lost & (1u << i))
		return;
	dev->addrs_lost |= 1u << i;
	/* Linux drops IPv6 addresses on an admin down: that is no news */
	if (!dev->admin_up || dev->went_down)
		return;
	inet_ntop(ev->addr.family, &ev->addr.addr, text, sizeof(text));
	log_link(LOG_WARNING, cfg->name, "address %s/%u was removed from %s (with ip?): it is "
		 "restored at the next admin up of the device, or reload", text, ev->addr.prefix,
		 dev->tun.name);
}

int device_follow(struct device *dev, const struct link_config *cfg, struct netlink *nl,
		  const struct netlink_event *ev)
{
	if (!dev->open)
		return 0;
	switch (ev->what) {
	case NETLINK_LINK_GONE:
		return -ENODEV;
	case NETLINK_LINK_CHANGED:
		/* a flip of IFF_UP to down; ~0U is a new device, not a change */
		if (ev->change != ~0U && (ev->change & IFF_UP) && !(ev->flags & IFF_UP))
			dev->went_down = true;
		return follow_state(dev, cfg, nl);
	case NETLINK_ADDR_ADDED:
	case NETLINK_ADDR_GONE:
		follow_addr(dev, cfg, ev);
		return 0;
	}
	return 0;
}

int device_resync(struct device *dev, const struct link_config *cfg, struct netlink *nl)
{
	if (!dev->open)
		return 0;
	/* the announcements of our adds may be among those lost: a removal is news again */
	dev->addrs_unheard = 0;
	return follow_state(dev, cfg, nl);
}

void device_restore(struct device *dev, const struct link_config *cfg, struct netlink *nl)
{
	struct error err;

	if (!dev->open || !dev->admin_up)
		return;
	if (dev->addrs_lost) {
		restore_addresses(dev, cfg, nl, "reload");
		return;
	}
	/* a removal we did not hear of (an overrun) is mended too, silently */
	if (add_addresses(dev, cfg, nl, &err))
		log_link(LOG_WARNING, cfg->name, "reload: %s", err.msg);
}

long long device_tx_dropped(const struct device *dev)
{
	char path[96], text[32], *end;
	long long v = -1;
	FILE *f;

	if (!dev->open)
		return -1;
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_dropped", dev->tun.name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(text, sizeof(text), f)) {
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno || end == text || v < 0)
			v = -1;
	}
	fclose(f);
	return v;
}
