// SPDX-License-Identifier: GPL-2.0-only
/*
 * A link's channel (link-internal.h): offering it as the server or taking
 * the server's offer as the client, the handshake over it (HELLO both ways,
 * the limits and offloads both ends agree), the control frames, and closing
 * it. What goes wrong is reported to the state machine in link.c, which
 * decides what happens next.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "datapath.h"
#include "device.h"
#include "frame.h"
#include "link-internal.h"
#include "log.h"
#include "util.h"
#include "vchan/vchan.h"
#include "xs.h"

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

/* --- the channel --------------------------------------------------------- */

static void channel_attach(struct link *l, struct vchan *v)
{
	l->v = v;
	l->vchan_src.handle = link_on_vchan;
	l->spurious = 0;
	l->unmask_ms = 0;
	datapath_start(&l->dp, v);
	link_epoll_set(l, EPOLL_CTL_ADD, vchan_fd(v), EPOLLIN, &l->vchan_src);
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

	if (!link_is_server(l) || l->cfg.xs_path[0] || !l->xs_path)
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

void channel_close(struct link *l)
{
	if (!l->v)
		return;
	link_epoll_set(l, EPOLL_CTL_DEL, vchan_fd(l->v), 0, NULL);
	datapath_stop(&l->dp);
	vchan_close(l->v);
	/* a server's default path is our state key's directory: gone with it */
	if (link_is_server(l) && !l->cfg.xs_path[0]) {
		l->state_path[0] = '\0';
		l->state_value = NULL;
	}
	remove_default_dirs(l);
	l->v = NULL;
	l->env->grants_used -= l->grants;
	l->grants = 0;
	l->busy = false;
	l->unmask_ms = 0;
}

/* A CLOSE frame with the reason, if there is a channel that takes one. */
void channel_send_close(struct link *l, const char *why)
{
	if (l->v && link_channel_up(l))
		datapath_send_close(&l->dp, why);
}

void channel_unwatch(struct link *l)
{
	if (!l->watching)
		return;
	xstore_unwatch(l->env->xs, l->watch_path, l->token);
	str_set(&l->watch_path, NULL);
	l->watching = false;
	watch_pace_init(&l->watch_pace, LINK_WATCH_BURST, LINK_WATCH_INTERVAL_MS);
}

/* --- the handshake ------------------------------------------------------- */

static void start_handshake(struct link *l)
{
	struct vchan_ring *r = vchan_ring(l->v);
	uint32_t features = l->dev.features;
	size_t room;

	/* a ring too small for the virtio-net header on top of the MTU: plain packets */
	room = frame_room(vchan_ring_read_size(r));
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
	link_set_state(l, LINK_HANDSHAKE);
	l->deadline_ms = now_ms() + LINK_HELLO_TIMEOUT_MS;
	if (datapath_send_hello(&l->dp, &l->hello)) {
		link_down(l, true, "no room for our HELLO in a %zu-byte ring",
			  vchan_ring_write_size(r));
		return;
	}
	log_link(LOG_DEBUG, l->cfg.name, "channel connected, HELLO sent");
	l->busy = true; /* the peer's HELLO may be there already */
}

static void enter_running(struct link *l)
{
	struct vchan_ring *r = vchan_ring(l->v);
	char rd[24], wr[24], feat[64];

	link_set_state(l, LINK_RUNNING);
	l->connects++;
	device_carrier(&l->dev, true, l->cfg.name);
	log_link(link_news(l), l->cfg.name,
		 "carrier on: connected to domain %u, mtu %u, max payload %u, rings read %s "
		 "write %s, offloads %s",
		 l->peer_domid, l->dp.lim.mtu, l->dp.lim.max_payload,
		 size_text(vchan_ring_read_size(r), rd, sizeof(rd)),
		 size_text(vchan_ring_write_size(r), wr, sizeof(wr)),
		 frame_features_text(l->dp.lim.features, feat, sizeof(feat)));
	if (l->dp.lim.mtu < l->cfg.mtu)
		log_link(LOG_WARNING, l->cfg.name,
			 "the peer's MTU is %u, ours %u: longer packets are dropped; configure "
			 "the same MTU at both ends",
			 l->dp.lim.mtu, l->cfg.mtu);
}

/* 0, or -1 when the link went down. */
static int handle_hello(struct link *l, const struct frame *f)
{
	size_t write_size = vchan_ring_write_size(vchan_ring(l->v));
	struct frame_hello peer;
	struct frame_limits lim;
	const char *why = NULL;
	size_t cap, need, vnet;
	uint32_t offload;
	struct error err;
	char buf[160];

	if (frame_hello_parse(f, &peer, &why) != FRAME_OK) {
		l->dp.st.rx_malformed++;
		link_down(l, true, "malformed HELLO from the peer: %s", why);
		return -1;
	}
	if (frame_agree(&l->hello, &peer, &lim, buf, sizeof(buf))) {
		link_down(l, true, "handshake failed: %s", buf);
		return -1;
	}
	/* A peer may announce more than its ring (our write ring) holds: believe the ring. */
	cap = min_size(lim.max_payload, frame_room(write_size));
	need = frame_payload_max(lim.mode, lim.mtu, lim.features & FRAME_FEAT_VNET_HDR);
	if (cap < need) {
		link_down(l, true, "handshake failed: the peer's %zu-byte ring cannot hold a "
			  "frame of MTU %u (%zu bytes)", write_size, lim.mtu, frame_total(need));
		return -1;
	}
	/* super-packets we could not send must not be asked of the kernel */
	offload = lim.features;
	if (cap < frame_payload_max(lim.mode, l->cfg.mtu, offload))
		offload &= ~FRAME_FEAT_GSO;
	if (device_offload(&l->dev, offload, &err)) {
		link_down(l, true, "%s", err.msg);
		return -1;
	}
	vnet = lim.features & FRAME_FEAT_VNET_HDR ? FRAME_VNET_HDR_LEN : 0;
	cap = min_size(cap, frame_payload_max(lim.mode, l->cfg.mtu, offload));
	datapath_consume_control(&l->dp);
	datapath_run(&l->dp, &lim, cap - vnet, frame_total(cap), FRAME_HDR_LEN + vnet);
	enter_running(l);
	return 0;
}

/* A control frame from the peer: 0 when taken, -1 when the link went down over it. */
int channel_control(struct link *l)
{
	char reason[FRAME_CLOSE_MAX + 1];

	switch (l->dp.control.type) {
	case FRAME_HELLO:
		return handle_hello(l, &l->dp.control);
	case FRAME_CLOSE:
		frame_close_reason(&l->dp.control, reason, sizeof(reason));
		link_down(l, false, "the peer closed the channel: %s",
			  reason[0] ? reason : "(no reason given)");
		return -1;
	default:
		/* frame.c lets no other type through; a new one must be handled here */
		link_down(l, true, "control frame of type %u, which this end does not handle",
			  l->dp.control.type);
		return -1;
	}
}

/* --- offering and taking ------------------------------------------------- */

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

void channel_offer(struct link *l)
{
	struct vchan_error e = { .msg = "" };
	char hint[400];
	struct vchan *v;

	v = vchan_server_open(l->peer_domid, l->xs_path, order_of(l->cfg.read_ring),
			      order_of(l->cfg.write_ring), &e);
	if (!v) {
		grant_hint(l, &e, hint, sizeof(hint));
		link_fail_retry(l, "cannot offer the channel to domain %u at %s: %s%s", l->peer_domid,
			   l->xs_path, e.msg, hint);
		return;
	}
	channel_attach(l, v);
	l->grants = config_grant_cost(&l->cfg);
	l->env->grants_used += l->grants;
	l->fail_ms = 0;
	link_set_state(l, LINK_OFFERING);
	log_link(flap_quiet(&l->flap, now_ms()) ? LOG_DEBUG : LOG_INFO, l->cfg.name,
		 "offering the channel to domain %u at %s", l->peer_domid, l->xs_path);
}


void channel_try(struct link *l)
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
		link_set_error(l, "%s", e.msg);
	} else {
		log_link(LOG_DEBUG, l->cfg.name, "not connected yet: %s", e.msg);
	}
}

/* Client: watch the path (the first event comes at once and makes the first try). */
void channel_watch(struct link *l)
{
	struct error err;

	link_set_state(l, LINK_CONNECTING);
	if (l->watching && !strcmp(l->watch_path, l->xs_path)) {
		channel_try(l);
		return;
	}
	channel_unwatch(l);
	if (str_set(&l->watch_path, l->xs_path)) {
		link_fail_retry(l, "out of memory");
		return;
	}
	if (xstore_watch(l->env->xs, l->xs_path, l->token, &err)) {
		str_set(&l->watch_path, NULL);
		link_fail_retry(l, "%s", err.msg);
		return;
	}
	l->watching = true;
	log_link(LOG_INFO, l->cfg.name, "waiting for domain %u's channel at %s", l->peer_domid,
		 l->xs_path);
}

/* OFFERING: has a client come? true once the handshake has started. */
bool channel_offer_taken(struct link *l)
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
