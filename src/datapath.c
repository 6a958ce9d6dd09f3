// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data path (see datapath.h): datapath_pump() first, then the two
 * directions it drives, ring to device and device to ring, then the ring's
 * flow control and the frames of our own.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "datapath.h"
#include "log.h"

static enum dp_status rx_batch(struct datapath *dp);
static enum dp_status tx_batch(struct datapath *dp);
static enum dp_status prepare_sleep(struct datapath *dp);

static bool stopped(enum dp_status st)
{
	return st != DP_IDLE && st != DP_BUSY;
}

static enum dp_status __attribute__((format(printf, 3, 4)))
fail(struct datapath *dp, enum dp_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dp->why, sizeof(dp->why), fmt, ap);
	va_end(ap);
	return st;
}

enum dp_status datapath_pump(struct datapath *dp)
{
	enum vchan_state st = vchan_state(dp->v);
	uint64_t delivered = dp->st.rx_packets;
	enum dp_status rx, tx = DP_IDLE;

	if (st == VCHAN_BROKEN)
		return fail(dp, DP_BROKEN, "channel broken: %s", vchan_error(dp->v));
	/* the live byte first: what the peer wrote before closing is visible now */
	rx = rx_batch(dp);
	if (stopped(rx))
		return rx;
	/*
	 * A packet written to the device is often answered before writev()
	 * returns (an echo reply, a TCP ack): the kernel has already queued the
	 * answer, so read it now instead of after one more epoll_wait().
	 */
	if (dp->st.rx_packets != delivered && dp->tun_polled)
		dp->tun_readable = true;
	if (st == VCHAN_CLOSED && rx == DP_IDLE)
		return DP_PEER_CLOSED;
	if (dp->running)
		tx = tx_batch(dp);
	if (stopped(tx))
		return tx;
	if (vchan_flush(dp->v))
		return fail(dp, DP_BROKEN, "channel broken: %s", vchan_error(dp->v));
	if (rx == DP_BUSY || tx == DP_BUSY)
		return DP_BUSY;
	return prepare_sleep(dp);
}

void datapath_consume_control(struct datapath *dp)
{
	vchan_ring_consume(dp->r, dp->control.total);
	dp->progress++;
	vchan_flush_if_waiting(dp->v);
}

/* --- ring to device ---------------------------------------------------------------------- */

static int span_count(const struct iovec span[2])
{
	return span[1].iov_len ? 2 : 1;
}

/*
 * The source filter's verdict on a packet, from a private copy of its first
 * bytes, which then go to the kernel in place of the shared ones (so the peer
 * cannot change what was checked). Fills iov with that copy and the rest of
 * the payload; returns the number of iovecs, 0 when the packet is dropped.
 */
static int filtered(struct datapath *dp, const struct frame *f, size_t len,
		    uint8_t head[FILTER_HEAD_MAX], struct iovec iov[3])
{
	size_t n = len < FILTER_HEAD_MAX ? len : FILTER_HEAD_MAX;
	char why[FILTER_WHY_LEN];
	struct iovec rest[2];
	size_t first = n < f->payload[0].iov_len ? n : f->payload[0].iov_len;

	memcpy(head, f->payload[0].iov_base, first);
	if (n > first)
		memcpy(head + first, f->payload[1].iov_base, n - first);
	if (!filter_check(dp->filter, head, n, dp->peer_mac, why, sizeof(why))) {
		dp->st.rx_spoofed++;
		log_link(dp->spoof_warned ? LOG_DEBUG : LOG_WARNING, dp->name,
			 "dropped a %zu-byte packet from the peer: %s (counting such drops)", len,
			 why);
		dp->spoof_warned = true;
		return 0;
	}
	iov[0] = (struct iovec){ .iov_base = head, .iov_len = n };
	frame_iov_slice(f->payload, n, len - n, rest);
	iov[1] = rest[0];
	iov[2] = rest[1];
	return rest[0].iov_len ? 1 + span_count(rest) : 1;
}

static void deliver(struct datapath *dp, const struct frame *f)
{
	/* the checked copy of the peer's header, never the one in shared memory */
	uint8_t vnet[FRAME_VNET_HDR_LEN] = { 0 }, head[FILTER_HEAD_MAX];
	size_t len = f->payload[0].iov_len + f->payload[1].iov_len;
	struct iovec iov[4];
	int cnt = 0, n_pkt;
	ssize_t n;

	if (dp->vnet_hdr) {
		if (f->flags & FRAME_F_VNET)
			memcpy(vnet, f->vnet, sizeof(vnet));
		iov[cnt++] = (struct iovec){ .iov_base = vnet, .iov_len = sizeof(vnet) };
	}
	n_pkt = filtered(dp, f, len, head, iov + cnt);
	if (!n_pkt)
		return;
	cnt += n_pkt;
	do
		n = writev(dp->tun_fd, iov, cnt);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		dp->st.rx_packets++;
		dp->st.rx_bytes += len;
		return;
	}
	/* tun's answer while the device is administratively down: no fault of the packet */
	if (errno == EIO) {
		dp->st.rx_device_down++;
		return;
	}
	/* ENOBUFS, EINVAL (not an IP packet), ...: the packet is lost, the stream is fine */
	dp->st.rx_tun_errors++;
	log_link(dp->tun_write_warned ? LOG_DEBUG : LOG_WARNING, dp->name,
		 "%s refused a %zu-byte packet: %s (counting such drops)", dp->ifname, len,
		 strerror(errno));
	dp->tun_write_warned = true;
}

static enum dp_status bad_frame(struct datapath *dp, enum frame_status st, const struct frame *f)
{
	dp->st.rx_malformed++;
	return fail(dp, DP_BROKEN, "malformed frame from the peer (%s: %s; type %u, flags 0x%x, "
		    "length %" PRIu32 "): resetting the channel",
		    frame_strerror(st), f->why ? f->why : "?", f->type, f->flags, f->length);
}

/* Ring to device: DP_BUSY with the budget used up, DP_IDLE with no whole frame left. */
static enum dp_status rx_batch(struct datapath *dp)
{
	for (int i = 0; i < DP_BUDGET; i++) {
		struct iovec span[2];
		enum frame_status st;
		struct frame f;
		size_t n;

		/* what we already know of first; the peer's index only when that runs out */
		n = vchan_ring_readable_cached(dp->r, span);
		st = frame_parse(span, n, &dp->lim, &f);
		if (st == FRAME_MORE) {
			n = vchan_ring_readable(dp->r, span);
			st = frame_parse(span, n, &dp->lim, &f);
			if (st == FRAME_MORE)
				return DP_IDLE;
		}
		if (st != FRAME_OK)
			return bad_frame(dp, st, &f);
		if (f.type != FRAME_PACKET) {
			dp->control = f;
			return DP_CONTROL;
		}
		deliver(dp, &f);
		vchan_ring_consume(dp->r, f.total);
		dp->progress++;
		vchan_flush_if_waiting(dp->v);
	}
	return DP_BUSY;
}

/* --- device to ring ------------------------------------------------------------------------ */

/* Device input on or off; errors and hang-ups come either way. */
static void tun_poll(struct datapath *dp, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = dp->tun_src };

	if (dp->tun_fd < 0 || dp->tun_polled == on)
		return;
	if (epoll_ctl(dp->epfd, EPOLL_CTL_MOD, dp->tun_fd, &ev) < 0)
		log_link(LOG_ERR, dp->name, "epoll_ctl on fd %d: %s", dp->tun_fd, strerror(errno));
	dp->tun_polled = on;
}

static void tx_block(struct datapath *dp)
{
	dp->tx_blocked = true;
	tun_poll(dp, false);
}

static bool tx_unblock_if_room(struct datapath *dp)
{
	struct iovec span[2];

	if (vchan_ring_writable(dp->r, span) < dp->tx_need)
		return false;
	dp->tx_blocked = false;
	dp->progress++;
	tun_poll(dp, true);
	return true;
}

/*
 * Frames a packet read into the ring, with the virtio-net header the kernel
 * gave us if the link carries them. Returns the bytes to commit, or 0 when
 * the packet cannot cross: its header asks for an offload the peer did not
 * agree to (queued before the agreement), or breaks a rule the peer would
 * reset the channel for.
 */
static size_t tx_seal(struct datapath *dp, const struct iovec span[2],
		      const uint8_t vnet[FRAME_VNET_HDR_LEN], size_t len)
{
	struct frame_vnet v;
	const char *why;

	if (!dp->vnet_hdr)
		return frame_seal(span, FRAME_PACKET, 0, (uint32_t)len);
	frame_vnet_decode(vnet, &v);
	if (dp->lim.features & FRAME_FEAT_VNET_HDR) {
		why = frame_vnet_check(&v, len, dp->lim.features, dp->lim.mode);
		if (!why)
			return frame_seal_vnet(span, vnet, (uint32_t)len);
	} else if ((v.flags & FRAME_VNET_F_NEEDS_CSUM) || v.gso_type != FRAME_VNET_GSO_NONE) {
		why = "the peer takes no virtio-net headers";
	} else {
		return frame_seal(span, FRAME_PACKET, 0, (uint32_t)len);
	}
	dp->st.tx_offload++;
	log_link(dp->st.tx_offload == 1 ? LOG_WARNING : LOG_DEBUG, dp->name,
		 "dropped a %zu-byte packet whose offload header cannot cross: %s (counting such "
		 "drops)", len, why);
	return 0;
}

/* Device to ring: DP_BUSY with the budget used up, DP_IDLE with nothing more to do now. */
static enum dp_status tx_batch(struct datapath *dp)
{
	if (dp->tx_blocked && !tx_unblock_if_room(dp))
		return DP_IDLE;
	for (int i = 0; i < DP_BUDGET; i++) {
		uint8_t vnet[FRAME_VNET_HDR_LEN];
		struct iovec span[2], iov[3];
		int cnt = 0;
		size_t len, total;
		ssize_t n;

		if (!dp->tun_readable)
			return DP_IDLE;
		if (vchan_ring_writable_cached(dp->r, span) < dp->tx_need &&
		    vchan_ring_writable(dp->r, span) < dp->tx_need) {
			tx_block(dp);
			return DP_IDLE;
		}
		/* the kernel's header aside, to be checked before it may cross */
		if (dp->vnet_hdr)
			iov[cnt++] = (struct iovec){ .iov_base = vnet, .iov_len = sizeof(vnet) };
		/* the packet's place in the free spans */
		frame_iov_slice(span, dp->tx_off, dp->tx_cap, iov + cnt);
		cnt += span_count(iov + cnt);
		n = readv(dp->tun_fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			dp->tun_readable = false;
			if (errno == EAGAIN)
				return DP_IDLE;
			return fail(dp, DP_DEVICE_LOST, "%s", strerror(errno));
		}
		len = (size_t)n;
		if (dp->vnet_hdr) {
			if (len <= sizeof(vnet))
				continue;
			len -= sizeof(vnet);
		}
		/* the kernel says how long the packet was, even when it cut it to fit */
		if (len > dp->tx_cap) {
			dp->st.tx_oversize++;
			continue;
		}
		if (!len)
			continue;
		total = tx_seal(dp, span, vnet, len);
		if (!total)
			continue;
		vchan_ring_commit(dp->r, total);
		dp->st.tx_packets++;
		dp->st.tx_bytes += len;
		vchan_flush_if_waiting(dp->v);
	}
	return DP_BUSY;
}

/*
 * Before the loop sleeps: ask the peer for events, then look once more, as
 * it may have acted between our last look and the request.
 */
static enum dp_status prepare_sleep(struct datapath *dp)
{
	struct iovec span[2];
	struct frame f;
	size_t n;

	n = vchan_ring_arm_read(dp->r, span);
	if (n && frame_parse(span, n, &dp->lim, &f) != FRAME_MORE)
		return DP_BUSY;
	if (dp->running && dp->tx_blocked && vchan_ring_arm_write(dp->r, span) >= dp->tx_need &&
	    tx_unblock_if_room(dp))
		return DP_BUSY;
	if (vchan_ring_error(dp->r))
		return DP_BUSY; /* the next pump reports it */
	return DP_IDLE;
}

/* --- setting up, and frames of our own ----------------------------------------------------- */

void datapath_set_device(struct datapath *dp, int epfd, int tun_fd, struct ev_source *tun_src,
			 const char *ifname, bool vnet_hdr, const struct source_filter *filter)
{
	dp->epfd = epfd;
	dp->tun_fd = tun_fd;
	dp->tun_src = tun_src;
	dp->ifname = ifname;
	dp->vnet_hdr = vnet_hdr;
	dp->filter = filter;
	dp->tun_polled = false;
	dp->tun_readable = false;
}

void datapath_start(struct datapath *dp, struct vchan *v)
{
	/* control frames only, until the handshake says what may flow */
	tun_poll(dp, false);
	dp->v = v;
	dp->r = vchan_ring(v);
	memset(&dp->lim, 0, sizeof(dp->lim));
	memset(dp->peer_mac, 0, sizeof(dp->peer_mac));
	dp->running = false;
	dp->tx_blocked = false;
	dp->tun_write_warned = false;
	dp->spoof_warned = false;
}

void datapath_run(struct datapath *dp, const struct frame_limits *lim, size_t tx_cap,
		  size_t tx_need, size_t tx_off)
{
	dp->lim = *lim;
	dp->tx_cap = tx_cap;
	dp->tx_need = tx_need;
	dp->tx_off = tx_off;
	dp->running = true;
	dp->tx_blocked = false;
	dp->tun_readable = true; /* EAGAIN will say otherwise */
	tun_poll(dp, true);
}

void datapath_stop(struct datapath *dp)
{
	tun_poll(dp, false);
	dp->v = NULL;
	dp->r = NULL;
	dp->running = false;
	dp->tx_blocked = false;
	memset(&dp->lim, 0, sizeof(dp->lim));
}

int datapath_send_hello(struct datapath *dp, const struct frame_hello *hello)
{
	struct iovec span[2];
	size_t n;

	vchan_ring_writable(dp->r, span);
	n = frame_hello_write(span, hello);
	if (!n)
		return -1;
	vchan_ring_commit(dp->r, n);
	vchan_flush(dp->v);
	return 0;
}

void datapath_send_close(struct datapath *dp, const char *why)
{
	struct iovec span[2];

	if (!dp->r || vchan_ring_writable(dp->r, span) < frame_total(FRAME_CLOSE_MAX))
		return;
	vchan_ring_commit(dp->r, frame_close_write(span, why));
	vchan_flush(dp->v);
}
