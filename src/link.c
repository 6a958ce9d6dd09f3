// SPDX-License-Identifier: GPL-2.0-only
/*
 * One link (see link.h): its device, its channel, the handshake and the data
 * path.
 *
 * Data path, one copy per packet per side, made by the kernel:
 *  - device to ring: readv() from the TUN fd straight into the ring's free
 *    spans, after room for the 8-byte frame header, which frame_seal() then
 *    writes in front; commit.
 *  - ring to device: frame_parse() on the readable spans, writev() of the
 *    payload spans to the TUN fd, consume.
 * The device is opened with IFF_VNET_HDR: each packet comes and goes with a
 * virtio-net header, which readv() puts aside (we check it before it may
 * cross) and writev() takes from our checked copy. With the peer's consent
 * (HELLO's features) the headers cross too, and the kernel's offloads with
 * them: partial checksums and 64 KiB TCP/UDP super-packets, one frame each
 * instead of some forty.
 * A full ring stops polling the TUN fd for input until the peer has read;
 * the kernel's queue in front of the device holds (and, when full, drops)
 * what comes meanwhile, which shows as the device's tx_dropped ("no room").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "frame.h"
#include "link.h"
#include "log.h"
#include "netlink.h"
#include "tun.h"
#include "vchan/vchan.h"

#define ERR_LEN			640
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		5000
#define FAIL_RETRY_MIN_MS	1000
#define FAIL_RETRY_MAX_MS	60000
/* A connection that lasted this long wipes the slate of earlier errors. */
#define STABLE_MS		10000
#define GNTALLOC_DEFAULT_LIMIT	1024u
/* How long a new watched device may take to route its IPv6 peers. */
#define PEER_ROUTE_WAIT_MS	1000

struct link_stats {
	uint64_t tx_packets, tx_bytes;	/* device to peer */
	uint64_t tx_oversize;		/* longer than the agreed maximum payload */
	uint64_t tx_offload;		/* offload headers the link cannot carry */
	uint64_t rx_packets, rx_bytes;	/* peer to device */
	uint64_t rx_malformed;		/* frames that broke the protocol (each a reset) */
	uint64_t rx_tun_errors;		/* packets the device refused */
	uint64_t connects;		/* handshakes completed */
	uint64_t reconnects;		/* channels lost after they had connected */
};

struct link {
	struct link_config cfg;
	struct link_env *env;
	char token[CONFIG_NAME_MAX + 8];

	enum link_state state;
	time_t since;			/* wall clock, for status */
	int64_t since_ms;		/* monotonic, for durations */
	int64_t deadline_ms;		/* 0: none */
	bool dead;			/* stopped: ignore events until freed */

	/* the peer */
	bool peer_known;
	unsigned int peer_domid;
	char xs_path[CONFIG_XS_PATH_MAX + 1];
	bool watching;			/* client: our watch is on watch_path */
	char watch_path[CONFIG_XS_PATH_MAX + 1];

	/* our state key as last written (docs/protocol.md): "" while there is none */
	char state_path[CONFIG_XS_PATH_MAX + 1];
	const char *state_value;

	/* the device */
	bool dev_open;
	struct tun_dev tun;
	struct ev_source tun_src;
	bool tun_polled;		/* EPOLLIN asked for */
	bool tun_readable;		/* epoll said so, and no EAGAIN since */
	bool carrier;
	uint32_t dev_features;		/* FRAME_FEAT_* the device can do */

	/* the channel */
	struct vchan *v;
	struct vchan_ring *r;
	struct ev_source vchan_src;
	unsigned int grants;		/* server: what our offer costs */
	struct frame_hello hello;	/* ours */
	struct frame_limits lim;	/* agreed; zero before the peer's HELLO */
	size_t tx_cap;			/* longest packet we send, without a virtio-net header */
	size_t tx_need;			/* ring room it takes as a frame */
	size_t tx_off;			/* where in a frame the packet starts */
	bool tx_blocked;		/* ring full: TUN input paused */
	bool busy;
	bool tun_write_warned;

	unsigned int backoff_ms;	/* after protocol errors */
	unsigned int fail_ms;		/* after setup failures */
	struct link_stats st;
	char last_error[ERR_LEN];
	time_t last_error_at;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static bool is_server(const struct link *l)
{
	return l->cfg.role == CONFIG_ROLE_SERVER;
}

static uint8_t frame_mode(const struct link_config *cfg)
{
	return cfg->mode == CONFIG_MODE_TAP ? FRAME_MODE_TAP : FRAME_MODE_TUN;
}

static unsigned int order_of(uint32_t size)
{
	unsigned int order = 0;

	while ((1u << order) < size)
		order++;
	return order;
}

/* "4K", "1M", or bytes: sizes as the configuration writes them. */
static const char *size_text(size_t size, char *buf, size_t len)
{
	if (size >= 1048576 && !(size % 1048576))
		snprintf(buf, len, "%zuM", size / 1048576);
	else if (size >= 1024 && !(size % 1024))
		snprintf(buf, len, "%zuK", size / 1024);
	else
		snprintf(buf, len, "%zu", size);
	return buf;
}

const char *link_state_name(enum link_state state)
{
	static const char *const names[] = {
		[LINK_STOPPED] = "STOPPED",	[LINK_FAILED] = "FAILED",
		[LINK_WAITING_PEER] = "WAITING_PEER", [LINK_BACKOFF] = "BACKOFF",
		[LINK_OFFERING] = "OFFERING",	[LINK_CONNECTING] = "CONNECTING",
		[LINK_HANDSHAKE] = "HANDSHAKE", [LINK_RUNNING] = "RUNNING",
	};

	return (unsigned int)state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

/* What the state key says of a state; NULL: no key (stopped). */
static const char *state_value(enum link_state state)
{
	switch (state) {
	case LINK_STOPPED:
		return NULL;
	case LINK_OFFERING:
		return XSTORE_STATE_OFFERING;
	case LINK_CONNECTING:
	case LINK_HANDSHAKE:
		return XSTORE_STATE_CONNECTING;
	case LINK_RUNNING:
		return XSTORE_STATE_CONNECTED;
	default:
		return XSTORE_STATE_WAITING;
	}
}

/*
 * The state key for the watchers of both ends, written when its path or
 * value changes: the path names the peer, so a link to a name that moved to
 * another domain moves its key. A failed write leaves nothing remembered,
 * so the next call tries again.
 */
static void state_publish(struct link *l)
{
	const char *value = state_value(l->state);
	char path[CONFIG_XS_PATH_MAX + 1] = "", err[XSTORE_ERR_LEN];
	unsigned int peer = l->peer_known ? l->peer_domid : l->cfg.peer_domid;

	if (value && (l->peer_known || !l->cfg.peer_is_name) &&
	    xstore_state_path(&l->cfg, l->env->own_domid, peer, path, sizeof(path)))
		path[0] = '\0';
	if (!path[0])
		value = NULL;
	if (!strcmp(path, l->state_path) && value == l->state_value)
		return;
	if (l->state_path[0] && strcmp(path, l->state_path))
		xstore_rm(l->env->xs, l->state_path, XSTORE_STATE_PARENTS);
	l->state_path[0] = '\0';
	l->state_value = NULL;
	if (!value)
		return;
	if (xstore_write_shared(l->env->xs, path, value, l->env->own_domid, peer, err,
				sizeof(err))) {
		log_link(LOG_WARNING, l->cfg.name, "cannot publish the link's state: %s", err);
		return;
	}
	snprintf(l->state_path, sizeof(l->state_path), "%s", path);
	l->state_value = value;
}

/* Also when the state stays: the key may have gone with the channel's directory. */
static void set_state(struct link *l, enum link_state state)
{
	if (l->state != state) {
		log_link(LOG_DEBUG, l->cfg.name, "%s -> %s", link_state_name(l->state),
			 link_state_name(state));
		l->state = state;
		l->since = time(NULL);
		l->since_ms = now_ms();
		l->deadline_ms = 0;
	}
	state_publish(l);
}

static void __attribute__((format(printf, 2, 3))) set_error(struct link *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->last_error, sizeof(l->last_error), fmt, ap);
	va_end(ap);
	l->last_error_at = time(NULL);
}

/* --- configuration checks ----------------------------------------------------------- */

static void __attribute__((format(printf, 2, 3)))
config_err(struct config_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* "MTU = '9000' on line 3", "--mtu '9000'", with "(the default)" when not written. */
static void describe_key(const struct link_config *cfg, enum config_key key, const char *option,
			 const char *value, char *buf, size_t len)
{
	bool set = cfg->keys_set & 1u << key;

	if (cfg->source[0] && set)
		snprintf(buf, len, "%s = '%s' on line %u", config_key_name(key), value,
			 cfg->key_line[key]);
	else if (cfg->source[0])
		snprintf(buf, len, "%s = '%s' (the default)", config_key_name(key), value);
	else
		snprintf(buf, len, "--%s '%s'%s", option, value, set ? "" : " (the default)");
}

static int check_ring_fit(const struct link_config *cfg, enum config_key key, uint32_t ring,
			  struct config_error *err)
{
	uint8_t mode = frame_mode(cfg);
	uint32_t packet = frame_payload_max(mode, cfg->mtu, 0);
	size_t frame = frame_total(packet), need = CONFIG_RING_MIN;
	size_t overhead = mode == FRAME_MODE_TAP ? FRAME_ETH_OVERHEAD : 0;
	char mtu_text[16], ring_text[24], need_text[24], mtu_key[96], ring_key[96];
	const char *where = cfg->source[0] ? cfg->source : NULL;
	const char *option = key == CONFIG_KEY_READ_RING ? "read-ring" : "write-ring";

	if (frame <= ring)
		return 0;
	while (need < frame)
		need *= 2;
	snprintf(mtu_text, sizeof(mtu_text), "%u", cfg->mtu);
	describe_key(cfg, CONFIG_KEY_MTU, "mtu", mtu_text, mtu_key, sizeof(mtu_key));
	describe_key(cfg, key, option, size_text(ring, ring_text, sizeof(ring_text)), ring_key,
		     sizeof(ring_key));
	config_err(err,
		 "%s%s%s does not fit %s: a frame of %zu bytes (a %" PRIu32 "-byte %s and the "
		 "%u-byte header) needs a ring of at least %s, or an MTU of at most %zu",
		 where ? where : "", where ? ": " : "", mtu_key, ring_key, frame, packet,
		 mode == FRAME_MODE_TAP ? "Ethernet frame" : "packet", FRAME_HDR_LEN,
		 size_text(need, need_text, sizeof(need_text)), frame_room(ring) - overhead);
	return -1;
}

int link_check_config(const struct link_config *cfg, struct config_error *err)
{
	/* the client takes the server's rings, whatever its own file says */
	if (cfg->role != CONFIG_ROLE_SERVER)
		return 0;
	if (check_ring_fit(cfg, CONFIG_KEY_READ_RING, cfg->read_ring, err))
		return -1;
	return check_ring_fit(cfg, CONFIG_KEY_WRITE_RING, cfg->write_ring, err);
}

/* --- epoll ---------------------------------------------------------------------------- */

static void epoll_set(struct link *l, int op, int fd, uint32_t events, struct ev_source *src)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	if (epoll_ctl(l->env->epfd, op, fd, &ev) < 0 && op != EPOLL_CTL_DEL)
		log_link(LOG_ERR, l->cfg.name, "epoll_ctl on fd %d: %s", fd, strerror(errno));
}

/* TUN input on or off; errors and hang-ups come either way. */
static void tun_poll(struct link *l, bool on)
{
	if (!l->dev_open || l->tun_polled == on)
		return;
	epoll_set(l, EPOLL_CTL_MOD, l->tun.fd, on ? EPOLLIN : 0, &l->tun_src);
	l->tun_polled = on;
}

/* --- the device ------------------------------------------------------------------------ */

static void carrier(struct link *l, bool on)
{
	char err[TUN_ERR_LEN];

	if (!l->dev_open || l->carrier == on)
		return;
	l->carrier = on;
	if (!l->tun.carrier_ctl)
		return;
	if (tun_set_carrier(&l->tun, on, err, sizeof(err)))
		log_link(LOG_WARNING, l->cfg.name, "%s", err);
}

static void addr_text(const struct config_addr *a, bool with_prefix, unsigned int prefix,
		      char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(a->family, &a->addr, ip, sizeof(ip));
	if (with_prefix)
		snprintf(buf, len, "%s/%u", ip, prefix);
	else
		snprintf(buf, len, "%s", ip);
}

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

static int add_addresses(struct link *l, char *err, size_t len)
{
	const struct link_config *cfg = &l->cfg;

	for (size_t i = 0; i < cfg->n_addrs; i++) {
		const struct config_addr *a = &cfg->addrs[i], *p = peer_of(cfg, i);
		char local[INET6_ADDRSTRLEN + 8], peer[INET6_ADDRSTRLEN + 8];
		/* DAD on a point-to-point link finds nobody, and would hold IPv6 back for seconds */
		struct netlink_addr na = { .local = local, .nodad = true };
		int rc;

		if (p) {
			addr_text(a, false, 0, local, sizeof(local));
			addr_text(p, true, p->prefix_set ? p->prefix : a->prefix, peer,
				  sizeof(peer));
			na.peer = peer;
		} else {
			addr_text(a, true, a->prefix, local, sizeof(local));
		}
		rc = netlink_addr_add(l->env->nl, l->tun.name, &na, err, len);
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
static void wait_peer_routes(struct link *l)
{
	const struct link_config *cfg = &l->cfg;
	char peer[INET6_ADDRSTRLEN], err[NETLINK_ERR_LEN];

	for (size_t i = 0; i < cfg->n_peer_addrs; i++) {
		if (cfg->peer_addrs[i].family != AF_INET6)
			continue;
		addr_text(&cfg->peer_addrs[i], false, 0, peer, sizeof(peer));
		if (netlink_wait_route(l->env->nl, l->tun.name, peer, PEER_ROUTE_WAIT_MS, err,
				       sizeof(err)))
			log_link(LOG_WARNING, l->cfg.name, "%s", err);
	}
}

/*
 * Watched: vchan-tun-watch sets the device up and down, and the addresses
 * must survive that. Linux drops IPv6 ones on down unless told to keep them,
 * and routes an IPv6 peer only for an address added while the device is up
 * (and routed before it goes down): a new device is up for the moment that
 * takes, while its state key says it is not connected, so no watcher minds.
 */
static int watched_addresses(struct link *l, char *err, size_t len)
{
	const struct link_config *cfg = &l->cfg;
	char down_err[NETLINK_ERR_LEN];
	struct netlink_link st;
	bool flip;
	int rc, down;

	if (!has_ipv6(cfg->addrs, cfg->n_addrs))
		return add_addresses(l, err, len);
	rc = netlink_keep_addr_on_down(l->tun.name, err, len);
	if (!rc)
		rc = netlink_link_get(l->env->nl, l->tun.name, &st, err, len);
	if (rc)
		return rc;
	flip = has_ipv6(cfg->peer_addrs, cfg->n_peer_addrs) && !(st.flags & IFF_UP);
	if (flip)
		rc = netlink_set_up(l->env->nl, l->tun.name, true, err, len);
	if (!rc)
		rc = add_addresses(l, err, len);
	if (!flip)
		return rc;
	if (!rc)
		wait_peer_routes(l);
	/* down again even after an error: the device is the watcher's to set up */
	down = netlink_set_up(l->env->nl, l->tun.name, false, down_err, sizeof(down_err));
	if (!rc && down)
		snprintf(err, len, "%s", down_err);
	return rc ? rc : down;
}

static void on_tun(struct ev_source *src, uint32_t events);

static int device_configure(struct link *l, char *err, size_t len)
{
	int rc;

	if (l->tun.persist != l->cfg.persistent) {
		rc = tun_set_persist(&l->tun, l->cfg.persistent, err, len);
		if (rc)
			return rc;
	}
	/* up before the addresses: Linux routes an IPv6 peer only if added to a link that is up */
	rc = netlink_set_mtu(l->env->nl, l->tun.name, l->cfg.mtu, err, len);
	if (!rc && l->cfg.watched)
		return watched_addresses(l, err, len);
	if (!rc)
		rc = netlink_set_up(l->env->nl, l->tun.name, true, err, len);
	if (!rc)
		rc = add_addresses(l, err, len);
	return rc;
}

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
	for (size_t i = 0; i < sizeof(offload_map) / sizeof(offload_map[0]); i++)
		if ((t->offload_ok & offload_map[i].offload) == offload_map[i].offload)
			features |= offload_map[i].feature;
	return frame_features_normalize(features);
}

static unsigned int offload_of_features(uint32_t features)
{
	unsigned int offload = 0;

	for (size_t i = 0; i < sizeof(offload_map) / sizeof(offload_map[0]); i++)
		if (features & offload_map[i].feature)
			offload |= offload_map[i].offload;
	return offload;
}

/* Creates the device, or takes a persistent one over, carrier off. */
static int device_open(struct link *l, char *err, size_t len)
{
	struct tun_opts o = {
		.mode = l->cfg.mode == CONFIG_MODE_TAP ? TUN_MODE_TAP : TUN_MODE_TUN,
		.no_carrier = true,
		.vnet_hdr = true,
	};
	int rc;

	rc = tun_create(&l->tun, l->cfg.ifname, &o, err, len);
	if (rc == -EBUSY)
		rc = tun_attach(&l->tun, l->cfg.ifname, &o, err, len);
	if (rc)
		return rc;
	l->carrier = false;
	rc = device_configure(l, err, len);
	if (rc) {
		tun_close(&l->tun);
		return rc;
	}
	l->dev_open = true;
	l->tun_polled = false;
	l->tun_readable = false;
	l->tun_src.handle = on_tun;
	epoll_set(l, EPOLL_CTL_ADD, l->tun.fd, 0, &l->tun_src);
	l->dev_features = features_of_offload(&l->tun);
	log_link(LOG_INFO, l->cfg.name, "device %s ready (%s, mtu %u, %zu address%s%s)",
		 l->tun.name, config_mode_name(l->cfg.mode), l->cfg.mtu, l->cfg.n_addrs,
		 l->cfg.n_addrs == 1 ? "" : "es", l->tun.persist ? ", persistent" : "");
	return 0;
}

/* Closing the fd removes a device that is not persistent, addresses and all. */
static void device_close(struct link *l)
{
	if (!l->dev_open)
		return;
	carrier(l, false);
	epoll_set(l, EPOLL_CTL_DEL, l->tun.fd, 0, NULL);
	tun_close(&l->tun);
	l->dev_open = false;
}

/* --- the channel ------------------------------------------------------------------------ */

static void on_vchan(struct ev_source *src, uint32_t events);

static void channel_attach(struct link *l, struct vchan *v)
{
	l->v = v;
	l->r = vchan_ring(v);
	l->vchan_src.handle = on_vchan;
	epoll_set(l, EPOLL_CTL_ADD, vchan_fd(v), EPOLLIN, &l->vchan_src);
}

/*
 * A server's vchan_close removes its path, not the directories above it that
 * the default path brought: .../vchan-tun/<client> and .../vchan-tun, removed
 * here once empty (another link's keys keep them).
 */
static void remove_default_dirs(struct link *l)
{
	char dir[CONFIG_XS_PATH_MAX + 1];
	char *slash;

	if (!is_server(l) || l->cfg.xs_path[0] || !l->xs_path[0])
		return;
	snprintf(dir, sizeof(dir), "%s", l->xs_path);
	for (int level = 0; level < 2; level++) {
		slash = strrchr(dir, '/');
		if (!slash)
			return;
		*slash = '\0';
		if (xstore_rm_if_empty(l->env->xs, dir))
			return;
	}
}

static void channel_close(struct link *l)
{
	if (!l->v)
		return;
	epoll_set(l, EPOLL_CTL_DEL, vchan_fd(l->v), 0, NULL);
	vchan_close(l->v);
	/* a server's default path is our state key's directory: gone with it */
	if (is_server(l) && !l->cfg.xs_path[0]) {
		l->state_path[0] = '\0';
		l->state_value = NULL;
	}
	remove_default_dirs(l);
	l->v = NULL;
	l->r = NULL;
	l->env->grants_used -= l->grants;
	l->grants = 0;
	l->busy = false;
	l->tx_blocked = false;
	memset(&l->lim, 0, sizeof(l->lim));
}

/* A CLOSE frame with the reason, if the ring has room for it. */
static void send_close(struct link *l, const char *why)
{
	struct iovec span[2];
	size_t n;

	if (!l->v || (l->state != LINK_HANDSHAKE && l->state != LINK_RUNNING))
		return;
	if (vchan_ring_writable(l->r, span) < frame_total(FRAME_CLOSE_MAX))
		return;
	n = frame_close_write(span, why);
	vchan_ring_commit(l->r, n);
	vchan_flush(l->v);
}

static void client_unwatch(struct link *l)
{
	if (!l->watching)
		return;
	xstore_unwatch(l->env->xs, l->watch_path, l->token);
	l->watching = false;
}

static unsigned int next_delay(unsigned int cur, unsigned int min, unsigned int max)
{
	if (!cur)
		return min;
	return cur >= max / 2 ? max : cur * 2;
}

/* Setting up failed: say why (once per distinct reason) and try again later. */
static void __attribute__((format(printf, 2, 3))) fail_retry(struct link *l, const char *fmt, ...)
{
	char why[ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	l->fail_ms = next_delay(l->fail_ms, FAIL_RETRY_MIN_MS, FAIL_RETRY_MAX_MS);
	log_link(strcmp(why, l->last_error) ? LOG_ERR : LOG_DEBUG, l->cfg.name,
		 "%s (retrying in %u s)", why, (l->fail_ms + 999) / 1000);
	set_error(l, "%s", why);
	set_state(l, LINK_FAILED);
	l->deadline_ms = now_ms() + l->fail_ms;
}

/* What to add to a failed offer when the grant limit is what stopped it. */
static void grant_hint(const struct link *l, const struct vchan_error *e, char *buf, size_t len)
{
	buf[0] = '\0';
	if (e->err != ENOSPC)
		return;
	snprintf(buf, len,
		 "; out of grants: offering this link takes %u (1 + ReadRing/4096 + "
		 "WriteRing/4096) on top of the %u our other offers hold, and Linux's gntalloc "
		 "allows %u per domain by default: make this end the client, use smaller rings, "
		 "or raise xen_gntalloc's limit",
		 config_grant_cost(&l->cfg), l->env->grants_used, GNTALLOC_DEFAULT_LIMIT);
}

static void server_open(struct link *l)
{
	struct vchan_error e = { .msg = "" };
	char hint[400];
	struct vchan *v;

	v = vchan_server_open(l->peer_domid, l->xs_path, order_of(l->cfg.read_ring),
			      order_of(l->cfg.write_ring), &e);
	if (!v) {
		grant_hint(l, &e, hint, sizeof(hint));
		fail_retry(l, "cannot offer the channel to domain %u at %s: %s%s", l->peer_domid,
			   l->xs_path, e.msg, hint);
		return;
	}
	channel_attach(l, v);
	l->grants = config_grant_cost(&l->cfg);
	l->env->grants_used += l->grants;
	l->fail_ms = 0;
	set_state(l, LINK_OFFERING);
	log_link(LOG_INFO, l->cfg.name, "offering the channel to domain %u at %s", l->peer_domid,
		 l->xs_path);
}

static void start_handshake(struct link *l);

static void client_try(struct link *l)
{
	struct vchan_error e = { .msg = "" };
	char key[CONFIG_XS_PATH_MAX + 16];
	struct vchan *v;

	v = vchan_client_open(l->peer_domid, l->xs_path, 0, &e);
	if (v) {
		channel_attach(l, v);
		start_handshake(l);
		return;
	}
	/* Keys not there yet is the normal wait; keys there that do not work are news. */
	snprintf(key, sizeof(key), "%s/ring-ref", l->xs_path);
	if (xstore_path_exists(l->env->xs, key) == 1 && strcmp(e.msg, l->last_error)) {
		log_link(LOG_INFO, l->cfg.name, "cannot connect yet: %s", e.msg);
		set_error(l, "%s", e.msg);
	} else {
		log_link(LOG_DEBUG, l->cfg.name, "not connected yet: %s", e.msg);
	}
}

/* Client: watch the path (the first event comes at once and makes the first try). */
static void client_begin(struct link *l)
{
	char err[XSTORE_ERR_LEN];

	set_state(l, LINK_CONNECTING);
	if (l->watching && !strcmp(l->watch_path, l->xs_path)) {
		client_try(l);
		return;
	}
	client_unwatch(l);
	if (xstore_watch(l->env->xs, l->xs_path, l->token, err, sizeof(err))) {
		fail_retry(l, "%s", err);
		return;
	}
	snprintf(l->watch_path, sizeof(l->watch_path), "%s", l->xs_path);
	l->watching = true;
	log_link(LOG_INFO, l->cfg.name, "waiting for domain %u's channel at %s", l->peer_domid,
		 l->xs_path);
}

/* --- the peer ---------------------------------------------------------------------------- */

/* Finds the peer's domid; false (state WAITING_PEER) when it is not there. */
static bool peer_find(struct link *l, const struct xstore_domain *doms, size_t n,
		      const char *list_err)
{
	const struct link_config *cfg = &l->cfg;

	l->peer_known = false;
	if (!cfg->peer_is_name) {
		/*
		 * Only dom0 waits for a domain to exist: only it hears of new ones
		 * (@introduceDomain). Anyone else assumes the peer is there, and
		 * cannot look anyway (EACCES).
		 */
		if (l->env->own_domid == 0 &&
		    xstore_domain_exists(l->env->xs, cfg->peer_domid) == 0)
			goto wait;
		l->peer_domid = cfg->peer_domid;
		l->peer_known = true;
		return true;
	}
	if (!doms) {
		if (strcmp(list_err, l->last_error)) {
			log_link(LOG_ERR, cfg->name, "cannot look up domain '%s': %s", cfg->peer,
				 list_err);
			set_error(l, "%s", list_err);
		}
		goto wait;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(doms[i].name, cfg->peer))
			continue;
		l->peer_domid = doms[i].domid;
		l->peer_known = true;
		return true;
	}
wait:
	if (l->state != LINK_WAITING_PEER)
		log_link(LOG_INFO, cfg->name, "waiting for domain %s to exist", cfg->peer);
	set_state(l, LINK_WAITING_PEER);
	return false;
}

static void peer_find_and_connect(struct link *l, const struct xstore_domain *doms, size_t n,
				  const char *list_err)
{
	const struct link_config *cfg = &l->cfg;
	unsigned int server, client;
	char err[ERR_LEN];

	/* a device lost while we waited for the peer comes back first */
	if (!l->dev_open && device_open(l, err, sizeof(err))) {
		fail_retry(l, "%s", err);
		return;
	}
	if (!peer_find(l, doms, n, list_err))
		return;
	server = is_server(l) ? l->env->own_domid : l->peer_domid;
	client = is_server(l) ? l->peer_domid : l->env->own_domid;
	if (cfg->xs_path[0])
		snprintf(l->xs_path, sizeof(l->xs_path), "%s", cfg->xs_path);
	else if (config_default_xs_path(cfg, server, client, l->xs_path, sizeof(l->xs_path)))
		l->xs_path[0] = '\0';
	if (is_server(l))
		server_open(l);
	else
		client_begin(l);
}

/* Looks the peer up on its own (no list from the daemon at hand) and connects. */
static void connect_peer(struct link *l)
{
	struct xstore_domain *doms = NULL;
	char err[XSTORE_ERR_LEN] = "";
	size_t n = 0;

	if (l->cfg.peer_is_name && xstore_list_domains(l->env->xs, &doms, &n, err, sizeof(err)))
		doms = NULL;
	peer_find_and_connect(l, doms, n, err);
	free(doms);
}

/* --- going down -------------------------------------------------------------------------- */

static bool channel_up(const struct link *l)
{
	return l->state == LINK_HANDSHAKE || l->state == LINK_RUNNING;
}

/* Carrier off and the channel's accounting; the channel itself is the caller's. */
static void lose_channel(struct link *l, bool error, const char *why)
{
	bool was_running = l->state == LINK_RUNNING;

	if (channel_up(l))
		l->st.reconnects++;
	if (was_running && now_ms() - l->since_ms >= STABLE_MS)
		l->backoff_ms = 0;
	if (error)
		l->backoff_ms = next_delay(l->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
	carrier(l, false);
	tun_poll(l, false);
	l->tun_write_warned = false;
	/* the same error again and again (a mode mismatch) is said once; status counts */
	log_link(!error ? LOG_NOTICE : strcmp(why, l->last_error) ? LOG_WARNING : LOG_DEBUG,
		 l->cfg.name, "%s%s", was_running ? "carrier off: " : "", why);
	set_error(l, "%s", why);
}

static void enter_backoff(struct link *l)
{
	channel_close(l);
	set_state(l, LINK_BACKOFF);
	l->deadline_ms = now_ms() + l->backoff_ms;
}

/*
 * The channel is over (peer closed, died, or broke the protocol): carrier
 * off, one line in the log, and a fresh channel, at once after a clean end,
 * after a growing pause after errors.
 */
static void __attribute__((format(printf, 3, 4)))
link_down(struct link *l, bool error, const char *fmt, ...)
{
	struct vchan_error e = { .msg = "" };
	char why[ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (error)
		send_close(l, why);
	lose_channel(l, error, why);
	if (error) {
		enter_backoff(l);
		return;
	}
	if (!is_server(l)) {
		/* our watch tells when the server offers again */
		channel_close(l);
		set_state(l, LINK_CONNECTING);
		return;
	}
	if (l->v && !vchan_server_reoffer(l->v, &e)) {
		l->busy = false;
		l->tx_blocked = false;
		memset(&l->lim, 0, sizeof(l->lim));
		set_state(l, LINK_OFFERING);
		return;
	}
	channel_close(l);
	fail_retry(l, "cannot offer the channel again to domain %u at %s: %s", l->peer_domid,
		   l->xs_path, e.msg[0] ? e.msg : "no channel");
}

/* The peer's domain is gone: carrier off until it (or, by name, its successor) is back. */
static void peer_gone(struct link *l)
{
	char why[ERR_LEN];

	if (l->cfg.peer_is_name)
		snprintf(why, sizeof(why), "domain %u (%s) is gone; waiting for a domain of that "
			 "name", l->peer_domid, l->cfg.peer);
	else
		snprintf(why, sizeof(why), "domain %u is gone; waiting for it to come back",
			 l->peer_domid);
	lose_channel(l, false, why);
	channel_close(l);
	client_unwatch(l);
	l->peer_known = false;
	set_state(l, LINK_WAITING_PEER);
}

/* --- handshake ---------------------------------------------------------------------------- */

static void start_handshake(struct link *l)
{
	struct iovec span[2];
	size_t n;

	size_t room;
	uint32_t features = l->dev_features;

	memset(&l->lim, 0, sizeof(l->lim));
	/* a ring too small for the virtio-net header on top of the MTU: plain packets */
	room = frame_room(vchan_ring_read_size(l->r));
	if (room < frame_payload_max(frame_mode(&l->cfg), l->cfg.mtu, FRAME_FEAT_VNET_HDR))
		features = 0;
	l->hello = (struct frame_hello){
		.version = FRAME_VERSION,
		.mode = frame_mode(&l->cfg),
		.mtu = l->cfg.mtu,
		/* never more than a whole frame our read ring holds */
		.max_payload = (uint32_t)min_size(frame_payload_max(frame_mode(&l->cfg),
								    l->cfg.mtu, features),
						  room),
		.features = features,
	};
	set_state(l, LINK_HANDSHAKE);
	l->deadline_ms = now_ms() + LINK_HELLO_TIMEOUT_MS;
	vchan_ring_writable(l->r, span);
	n = frame_hello_write(span, &l->hello);
	if (!n) {
		link_down(l, true, "no room for our HELLO in a %zu-byte ring",
			  vchan_ring_write_size(l->r));
		return;
	}
	vchan_ring_commit(l->r, n);
	vchan_flush(l->v);
	log_link(LOG_DEBUG, l->cfg.name, "channel connected, HELLO sent");
	l->busy = true; /* the peer's HELLO may be there already */
}

/* The offloads the kernel may hand us, for a link that agreed on these features. */
static int device_offload(struct link *l, uint32_t features)
{
	char err[TUN_ERR_LEN];

	if (!l->tun.vnet_hdr || !tun_set_offload(&l->tun, offload_of_features(features), err,
						 sizeof(err)))
		return 0;
	link_down(l, true, "%s", err);
	return -1;
}

static void enter_running(struct link *l)
{
	char rd[24], wr[24], feat[64];

	set_state(l, LINK_RUNNING);
	l->st.connects++;
	l->tx_blocked = false;
	l->tun_readable = true; /* EAGAIN will say otherwise */
	carrier(l, true);
	tun_poll(l, true);
	log_link(LOG_NOTICE, l->cfg.name,
		 "carrier on: connected to domain %u, mtu %u, max payload %u, rings read %s "
		 "write %s, offloads %s",
		 l->peer_domid, l->lim.mtu, l->lim.max_payload,
		 size_text(vchan_ring_read_size(l->r), rd, sizeof(rd)),
		 size_text(vchan_ring_write_size(l->r), wr, sizeof(wr)),
		 frame_features_text(l->lim.features, feat, sizeof(feat)));
	if (l->lim.mtu < l->cfg.mtu)
		log_link(LOG_WARNING, l->cfg.name,
			 "the peer's MTU is %u, ours %u: longer packets are dropped; configure "
			 "the same MTU at both ends",
			 l->lim.mtu, l->cfg.mtu);
}

/* 0, or -1 when the link went down. */
static int handle_hello(struct link *l, const struct frame *f)
{
	struct frame_hello peer;
	const char *why = NULL;
	size_t cap, need, vnet;
	uint32_t offload;
	char buf[160];

	if (frame_hello_parse(f, &peer, &why) != FRAME_OK) {
		l->st.rx_malformed++;
		link_down(l, true, "malformed HELLO from the peer: %s", why);
		return -1;
	}
	if (frame_agree(&l->hello, &peer, &l->lim, buf, sizeof(buf))) {
		link_down(l, true, "handshake failed: %s", buf);
		return -1;
	}
	/* A peer may announce more than its ring (our write ring) holds: believe the ring. */
	cap = min_size(l->lim.max_payload, frame_room(vchan_ring_write_size(l->r)));
	need = frame_payload_max(l->lim.mode, l->lim.mtu, l->lim.features & FRAME_FEAT_VNET_HDR);
	if (cap < need) {
		link_down(l, true, "handshake failed: the peer's %zu-byte ring cannot hold a "
			  "frame of MTU %u (%zu bytes)",
			  vchan_ring_write_size(l->r), l->lim.mtu, frame_total(need));
		return -1;
	}
	/* super-packets we could not send must not be asked of the kernel */
	offload = l->lim.features;
	if (cap < frame_payload_max(l->lim.mode, l->cfg.mtu, offload))
		offload &= ~FRAME_FEAT_GSO;
	if (device_offload(l, offload))
		return -1;
	vnet = l->lim.features & FRAME_FEAT_VNET_HDR ? FRAME_VNET_HDR_LEN : 0;
	cap = min_size(cap, frame_payload_max(l->lim.mode, l->cfg.mtu, offload));
	l->tx_off = FRAME_HDR_LEN + vnet;
	l->tx_cap = cap - vnet;
	l->tx_need = frame_total(cap);
	enter_running(l);
	return 0;
}

/* --- data path ------------------------------------------------------------------------------ */

static int span_count(const struct iovec span[2])
{
	return span[1].iov_len ? 2 : 1;
}

static void deliver(struct link *l, const struct frame *f)
{
	/* the checked copy of the peer's header, never the one in shared memory */
	uint8_t vnet[FRAME_VNET_HDR_LEN] = { 0 };
	size_t len = f->payload[0].iov_len + f->payload[1].iov_len;
	struct iovec iov[3];
	int cnt = 0;
	ssize_t n;

	if (l->tun.vnet_hdr) {
		if (f->flags & FRAME_F_VNET)
			memcpy(vnet, f->vnet, sizeof(vnet));
		iov[cnt++] = (struct iovec){ .iov_base = vnet, .iov_len = sizeof(vnet) };
	}
	iov[cnt] = f->payload[0];
	iov[cnt + 1] = f->payload[1];
	cnt += span_count(f->payload);
	do
		n = writev(l->tun.fd, iov, cnt);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		l->st.rx_packets++;
		l->st.rx_bytes += len;
		return;
	}
	/* ENOBUFS, EINVAL (not an IP packet), ...: the packet is lost, the stream is fine */
	l->st.rx_tun_errors++;
	log_link(l->tun_write_warned ? LOG_DEBUG : LOG_WARNING, l->cfg.name,
		 "%s refused a %zu-byte packet: %s (counting such drops)", l->tun.name, len,
		 strerror(errno));
	l->tun_write_warned = true;
}

/* 0 when the frame was taken, -1 when the link went down over it. */
static int rx_frame(struct link *l, const struct frame *f)
{
	char reason[FRAME_CLOSE_MAX + 1];

	switch (f->type) {
	case FRAME_PACKET:
		deliver(l, f);
		return 0;
	case FRAME_HELLO:
		return handle_hello(l, f);
	case FRAME_CLOSE:
		frame_close_reason(f, reason, sizeof(reason));
		link_down(l, false, "the peer closed the channel: %s",
			  reason[0] ? reason : "(no reason given)");
		return -1;
	default:
		return 0;
	}
}

static void bad_frame(struct link *l, enum frame_status st, const struct frame *f)
{
	l->st.rx_malformed++;
	link_down(l, true, "malformed frame from the peer (%s: %s; type %u, flags 0x%x, "
		  "length %" PRIu32 "): resetting the channel",
		  frame_strerror(st), f->why ? f->why : "?", f->type, f->flags, f->length);
}

/* Ring to device. 1: budget used up; 0: no whole frame left; -1: the link went down. */
static int rx_batch(struct link *l)
{
	for (int i = 0; i < LINK_BUDGET; i++) {
		struct iovec span[2];
		enum frame_status st;
		struct frame f;
		size_t n;

		/* what we already know of first; the peer's index only when that runs out */
		n = vchan_ring_readable_cached(l->r, span);
		st = frame_parse(span, n, &l->lim, &f);
		if (st == FRAME_MORE) {
			n = vchan_ring_readable(l->r, span);
			st = frame_parse(span, n, &l->lim, &f);
			if (st == FRAME_MORE)
				return 0;
		}
		if (st != FRAME_OK) {
			bad_frame(l, st, &f);
			return -1;
		}
		if (rx_frame(l, &f))
			return -1;
		vchan_ring_consume(l->r, f.total);
		vchan_flush_if_waiting(l->v);
	}
	return 1;
}

static void tx_block(struct link *l)
{
	l->tx_blocked = true;
	tun_poll(l, false);
}

static bool tx_unblock_if_room(struct link *l)
{
	struct iovec span[2];

	if (vchan_ring_writable(l->r, span) < l->tx_need)
		return false;
	l->tx_blocked = false;
	tun_poll(l, true);
	return true;
}

static void device_lost(struct link *l, const char *why);

/*
 * Frames a packet read into the ring, with the virtio-net header the kernel
 * gave us if the link carries them. Returns the bytes to commit, or 0 when
 * the packet cannot cross: its header asks for an offload the peer did not
 * agree to (queued before the agreement), or breaks a rule the peer would
 * reset the channel for.
 */
static size_t tx_seal(struct link *l, const struct iovec span[2],
		      const uint8_t vnet[FRAME_VNET_HDR_LEN], size_t len)
{
	struct frame_vnet v;
	const char *why;

	if (!l->tun.vnet_hdr)
		return frame_seal(span, FRAME_PACKET, 0, (uint32_t)len);
	frame_vnet_decode(vnet, &v);
	if (l->lim.features & FRAME_FEAT_VNET_HDR) {
		why = frame_vnet_check(&v, len, l->lim.features, l->lim.mode);
		if (!why)
			return frame_seal_vnet(span, vnet, (uint32_t)len);
	} else if ((v.flags & FRAME_VNET_F_NEEDS_CSUM) || v.gso_type != FRAME_VNET_GSO_NONE) {
		why = "the peer takes no virtio-net headers";
	} else {
		return frame_seal(span, FRAME_PACKET, 0, (uint32_t)len);
	}
	l->st.tx_offload++;
	log_link(l->st.tx_offload == 1 ? LOG_WARNING : LOG_DEBUG, l->cfg.name,
		 "dropped a %zu-byte packet whose offload header cannot cross: %s (counting such "
		 "drops)", len, why);
	return 0;
}

/* Device to ring. 1: budget used up; 0: nothing more to do now; -1: the link went down. */
static int tx_batch(struct link *l)
{
	if (l->tx_blocked && !tx_unblock_if_room(l))
		return 0;
	for (int i = 0; i < LINK_BUDGET; i++) {
		uint8_t vnet[FRAME_VNET_HDR_LEN];
		struct iovec span[2], iov[3];
		int cnt = 0;
		size_t len, total;
		ssize_t n;

		if (!l->tun_readable)
			return 0;
		if (vchan_ring_writable_cached(l->r, span) < l->tx_need &&
		    vchan_ring_writable(l->r, span) < l->tx_need) {
			tx_block(l);
			return 0;
		}
		/* the kernel's header aside, to be checked before it may cross */
		if (l->tun.vnet_hdr)
			iov[cnt++] = (struct iovec){ .iov_base = vnet, .iov_len = sizeof(vnet) };
		/* the packet's place in the free spans */
		frame_iov_slice(span, l->tx_off, l->tx_cap, iov + cnt);
		cnt += span_count(iov + cnt);
		n = readv(l->tun.fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			l->tun_readable = false;
			if (errno == EAGAIN)
				return 0;
			device_lost(l, strerror(errno));
			return -1;
		}
		len = (size_t)n;
		if (l->tun.vnet_hdr) {
			if (len <= sizeof(vnet))
				continue;
			len -= sizeof(vnet);
		}
		/* the kernel says how long the packet was, even when it cut it to fit */
		if (len > l->tx_cap) {
			l->st.tx_oversize++;
			continue;
		}
		if (!len)
			continue;
		total = tx_seal(l, span, vnet, len);
		if (!total)
			continue;
		vchan_ring_commit(l->r, total);
		l->st.tx_packets++;
		l->st.tx_bytes += len;
		vchan_flush_if_waiting(l->v);
	}
	return 1;
}

/*
 * Before the loop sleeps: ask the peer for events, then look once more, as
 * it may have acted between our last look and the request.
 */
static void prepare_sleep(struct link *l)
{
	struct iovec span[2];
	struct frame f;
	size_t n;

	n = vchan_ring_arm_read(l->r, span);
	if (n && frame_parse(span, n, &l->lim, &f) != FRAME_MORE)
		l->busy = true;
	if (l->state == LINK_RUNNING && l->tx_blocked &&
	    vchan_ring_arm_write(l->r, span) >= l->tx_need && tx_unblock_if_room(l))
		l->busy = true;
	if (vchan_ring_error(l->r))
		l->busy = true; /* the next service reports it */
}

static void pump(struct link *l)
{
	enum vchan_state st = vchan_state(l->v);
	uint64_t delivered;
	int rx, tx = 0;

	if (st == VCHAN_BROKEN) {
		link_down(l, true, "channel broken: %s", vchan_error(l->v));
		return;
	}
	/* the live byte first: what the peer wrote before closing is visible now */
	delivered = l->st.rx_packets;
	rx = rx_batch(l);
	if (rx < 0)
		return;
	/*
	 * A packet written to the device is often answered before writev()
	 * returns (an echo reply, a TCP ack): the kernel has already queued the
	 * answer, so read it now instead of after one more epoll_wait().
	 */
	if (l->st.rx_packets != delivered && l->tun_polled)
		l->tun_readable = true;
	if (st == VCHAN_CLOSED && !rx) {
		link_down(l, false, "the peer closed the channel");
		return;
	}
	if (l->state == LINK_RUNNING)
		tx = tx_batch(l);
	if (tx < 0)
		return;
	if (vchan_flush(l->v)) {
		link_down(l, true, "channel broken: %s", vchan_error(l->v));
		return;
	}
	if (rx > 0 || tx > 0) {
		l->busy = true;
		return;
	}
	prepare_sleep(l);
}

/* OFFERING: has a client come? true once the handshake has started. */
static bool offer_taken(struct link *l)
{
	switch (vchan_state(l->v)) {
	case VCHAN_WAITING:
		return false;
	case VCHAN_CONNECTED:
		start_handshake(l);
		return l->state == LINK_HANDSHAKE;
	case VCHAN_CLOSED:
		link_down(l, false, "a client came and left before the handshake");
		return false;
	case VCHAN_BROKEN:
	default:
		link_down(l, true, "channel broken: %s", vchan_error(l->v));
		return false;
	}
}

void link_service(struct link *l)
{
	l->busy = false;
	if (l->dead || !l->v)
		return;
	if (l->state == LINK_OFFERING && !offer_taken(l))
		return;
	if (channel_up(l))
		pump(l);
}

bool link_busy(const struct link *l)
{
	return l->busy && !l->dead;
}

/* --- events --------------------------------------------------------------------------------- */

/* The device vanished under us (someone deleted it): make it again, later. */
static void device_lost(struct link *l, const char *why)
{
	char msg[ERR_LEN];

	snprintf(msg, sizeof(msg), "device %s failed (%s): recreating it", l->tun.name, why);
	l->carrier = false; /* nothing to switch off on a dead fd */
	if (l->v) {
		lose_channel(l, true, msg);
		send_close(l, msg);
	}
	channel_close(l);
	client_unwatch(l);
	device_close(l);
	fail_retry(l, "%s", msg);
}

static void on_tun(struct ev_source *src, uint32_t events)
{
	struct link *l = container_of(src, struct link, tun_src);

	if (l->dead)
		return;
	if (events & (EPOLLERR | EPOLLHUP)) {
		device_lost(l, "the kernel reports an error on its fd");
		return;
	}
	l->tun_readable = true;
	link_service(l);
}

static void on_vchan(struct ev_source *src, uint32_t events)
{
	struct link *l = container_of(src, struct link, vchan_src);

	if (l->dead || !l->v)
		return;
	/* a failure marks the channel broken, which the service reports */
	vchan_handle_events(l->v);
	link_service(l);
}

void link_on_watch(struct link *l)
{
	char key[CONFIG_XS_PATH_MAX + 16];

	if (l->dead || is_server(l))
		return;
	if (l->state == LINK_CONNECTING) {
		client_try(l);
		return;
	}
	if (!channel_up(l))
		return;
	/* The channel says so itself if the server closed; a dead domain's keys just vanish. */
	if (vchan_state(l->v) != VCHAN_CONNECTED) {
		link_service(l);
		return;
	}
	snprintf(key, sizeof(key), "%s/ring-ref", l->xs_path);
	if (xstore_path_exists(l->env->xs, key) == 0)
		link_down(l, false, "the server's keys at %s are gone (its domain died?)",
			  l->xs_path);
}

void link_on_release(struct link *l)
{
	if (l->dead || !l->peer_known)
		return;
	if (xstore_domain_exists(l->env->xs, l->peer_domid) == 0)
		peer_gone(l);
}

/* A name that now belongs to another domain than ours: we missed its release. */
static bool name_moved(const struct link *l, const struct xstore_domain *doms, size_t n)
{
	if (!l->cfg.peer_is_name || !l->peer_known || !doms)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(doms[i].name, l->cfg.peer))
			return doms[i].domid != l->peer_domid;
	return false;
}

void link_on_introduce(struct link *l, const struct xstore_domain *doms, size_t n,
		       const char *err)
{
	if (l->dead)
		return;
	if (name_moved(l, doms, n))
		peer_gone(l);
	if (l->state == LINK_WAITING_PEER)
		peer_find_and_connect(l, doms, n, err);
}

void link_on_xenstore_back(struct link *l)
{
	if (l->dead)
		return;
	/* written again even if unchanged: a xenstored that lost its tree lost it too */
	l->state_path[0] = '\0';
	l->state_value = NULL;
	state_publish(l);
	if (l->state == LINK_FAILED)
		l->deadline_ms = now_ms();
}

int64_t link_deadline(const struct link *l)
{
	return l->dead ? 0 : l->deadline_ms;
}

void link_on_deadline(struct link *l)
{
	if (l->dead)
		return;
	l->deadline_ms = 0;
	switch (l->state) {
	case LINK_HANDSHAKE:
		link_down(l, true, "no HELLO from the peer within %d s", LINK_HELLO_TIMEOUT_MS / 1000);
		return;
	case LINK_FAILED:
	case LINK_BACKOFF:
		connect_peer(l);
		return;
	default:
		return;
	}
}

/* --- life cycle ----------------------------------------------------------------------------- */

struct link *link_new(const struct link_config *cfg, struct link_env *env)
{
	struct link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->cfg = *cfg;
	l->env = env;
	l->tun.fd = -1;
	snprintf(l->token, sizeof(l->token), "link:%s", cfg->name);
	l->state = LINK_STOPPED;
	l->since = time(NULL);
	l->since_ms = now_ms();
	return l;
}

void link_start(struct link *l)
{
	connect_peer(l);
}

void link_stop(struct link *l, const char *why)
{
	if (l->dead)
		return;
	send_close(l, why);
	carrier(l, false);
	channel_close(l);
	client_unwatch(l);
	device_close(l);
	set_state(l, LINK_STOPPED);
	l->dead = true;
	log_link(LOG_INFO, l->cfg.name, "stopped: %s%s", why,
		 l->cfg.persistent ? " (device kept: persistent)" : "");
}

void link_free(struct link *l)
{
	free(l);
}

const char *link_name(const struct link *l)
{
	return l->cfg.name;
}

const struct link_config *link_cfg(const struct link *l)
{
	return &l->cfg;
}

enum link_state link_state(const struct link *l)
{
	return l->state;
}

const char *link_watch_token(const struct link *l)
{
	return l->token;
}

/* --- status --------------------------------------------------------------------------------- */

/*
 * Packets the kernel dropped in front of the device because we were not
 * reading (ring full): the device's tx_dropped. -1 if unknown.
 */
static long long kernel_tx_dropped(const struct link *l)
{
	char path[96], text[32], *end;
	long long v = -1;
	FILE *f;

	if (!l->dev_open)
		return -1;
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_dropped", l->tun.name);
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

static void ring_sizes(const struct link *l, size_t *rd, size_t *wr)
{
	*rd = *wr = 0;
	if (l->r) {
		*rd = vchan_ring_read_size(l->r);
		*wr = vchan_ring_write_size(l->r);
	} else if (is_server(l)) {
		*rd = l->cfg.read_ring;
		*wr = l->cfg.write_ring;
	}
}

static void time_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void link_status_text(const struct link *l, struct strbuf *sb)
{
	const struct link_config *cfg = &l->cfg;
	char since[32], err_at[32], rd_t[24], wr_t[24], feat[64];
	long long no_room = kernel_tx_dropped(l);
	size_t rd, wr;

	time_text(l->since, since, sizeof(since));
	ring_sizes(l, &rd, &wr);
	sb_printf(sb, "%s: %s since %s (%" PRId64 " s)\n", cfg->name, link_state_name(l->state),
		  since, (now_ms() - l->since_ms) / 1000);
	sb_printf(sb, "  interface %s (%s, mtu %u), %s of domain ", cfg->ifname,
		  config_mode_name(cfg->mode), cfg->mtu, config_role_name(cfg->role));
	if (l->peer_known)
		sb_printf(sb, "%u", l->peer_domid);
	else
		sb_printf(sb, "?");
	if (cfg->peer_is_name)
		sb_printf(sb, " (%s)", cfg->peer);
	sb_printf(sb, "\n  channel %s, rings read %s write %s", l->xs_path[0] ? l->xs_path : "-",
		  rd ? size_text(rd, rd_t, sizeof(rd_t)) : "?",
		  wr ? size_text(wr, wr_t, sizeof(wr_t)) : "?");
	if (l->state == LINK_RUNNING)
		sb_printf(sb, ", agreed mtu %u, max payload %u, offloads %s", l->lim.mtu,
			  l->lim.max_payload, frame_features_text(l->lim.features, feat, sizeof(feat)));
	sb_printf(sb, "\n  tx %" PRIu64 " packets %" PRIu64 " bytes, dropped: %" PRIu64
		  " oversize, %" PRIu64 " offload, ",
		  l->st.tx_packets, l->st.tx_bytes, l->st.tx_oversize, l->st.tx_offload);
	if (no_room >= 0)
		sb_printf(sb, "%lld no room\n", no_room);
	else
		sb_printf(sb, "? no room\n");
	sb_printf(sb, "  rx %" PRIu64 " packets %" PRIu64 " bytes, dropped: %" PRIu64
		  " malformed, %" PRIu64 " tun write\n",
		  l->st.rx_packets, l->st.rx_bytes, l->st.rx_malformed, l->st.rx_tun_errors);
	sb_printf(sb, "  connects %" PRIu64 ", reconnects %" PRIu64 ", last error: ",
		  l->st.connects, l->st.reconnects);
	if (l->last_error[0]) {
		time_text(l->last_error_at, err_at, sizeof(err_at));
		sb_printf(sb, "%s (at %s)\n", l->last_error, err_at);
	} else {
		sb_printf(sb, "none\n");
	}
}

static void json_uint_or_null(struct strbuf *sb, const char *key, bool known, uint64_t v)
{
	if (known)
		sb_printf(sb, "\"%s\":%" PRIu64, key, v);
	else
		sb_printf(sb, "\"%s\":null", key);
}

void link_status_json(const struct link *l, struct strbuf *sb)
{
	const struct link_config *cfg = &l->cfg;
	long long no_room = kernel_tx_dropped(l);
	char feat[64];
	size_t rd, wr;

	ring_sizes(l, &rd, &wr);
	sb_printf(sb, "{\"name\":");
	sb_json_string(sb, cfg->name);
	sb_printf(sb, ",\"interface\":");
	sb_json_string(sb, cfg->ifname);
	sb_printf(sb, ",\"state\":\"%s\",\"since\":%lld,\"role\":\"%s\",\"mode\":\"%s\","
		  "\"mtu\":%u,\"peer\":{\"name\":",
		  link_state_name(l->state), (long long)l->since, config_role_name(cfg->role),
		  config_mode_name(cfg->mode), cfg->mtu);
	sb_json_string(sb, cfg->peer_is_name ? cfg->peer : NULL);
	sb_printf(sb, ",");
	json_uint_or_null(sb, "domid", l->peer_known, l->peer_domid);
	sb_printf(sb, "},\"xenstore_path\":");
	sb_json_string(sb, l->xs_path[0] ? l->xs_path : NULL);
	sb_printf(sb, ",\"ring\":{");
	json_uint_or_null(sb, "read", rd, rd);
	sb_printf(sb, ",");
	json_uint_or_null(sb, "write", wr, wr);
	sb_printf(sb, "},\"agreed\":{");
	json_uint_or_null(sb, "mtu", l->state == LINK_RUNNING, l->lim.mtu);
	sb_printf(sb, ",");
	json_uint_or_null(sb, "max_payload", l->state == LINK_RUNNING, l->lim.max_payload);
	sb_printf(sb, ",\"offloads\":");
	if (l->state == LINK_RUNNING)
		sb_printf(sb, "\"%s\"", frame_features_text(l->lim.features, feat, sizeof(feat)));
	else
		sb_printf(sb, "null");
	sb_printf(sb, "},\"tx\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		  ",\"drops\":{\"oversize\":%" PRIu64 ",\"offload\":%" PRIu64 ",",
		  l->st.tx_packets, l->st.tx_bytes, l->st.tx_oversize, l->st.tx_offload);
	json_uint_or_null(sb, "no_room", no_room >= 0, (uint64_t)no_room);
	sb_printf(sb, "}},\"rx\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		  ",\"drops\":{\"malformed\":%" PRIu64 ",\"tun_write\":%" PRIu64 "}}",
		  l->st.rx_packets, l->st.rx_bytes, l->st.rx_malformed, l->st.rx_tun_errors);
	sb_printf(sb, ",\"connects\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"last_error\":",
		  l->st.connects, l->st.reconnects);
	sb_json_string(sb, l->last_error[0] ? l->last_error : NULL);
	sb_printf(sb, ",");
	json_uint_or_null(sb, "last_error_at", l->last_error[0], (uint64_t)l->last_error_at);
	sb_printf(sb, "}");
}
