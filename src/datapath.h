/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One link's data path: packets from the device into the ring as frames,
 * frames from the ring to the device as packets (docs/protocol.md).
 *
 *   device --readv--> [frame header | packet] --commit--> ring --> peer
 *   peer --> ring --frame_parse--> filter_check --writev--> device
 *
 * One copy per packet per side, made by the kernel: readv() from the TUN fd
 * straight into the ring's free space, after room for the frame header;
 * writev() to the TUN fd straight from the ring, after checking everything
 * the peer wrote on private copies (the frame header, the virtio-net header,
 * the packet's first bytes for the source filter), which are what the kernel
 * gets, never the shared bytes again.
 *
 * It moves packets and decides nothing about the link: a control frame
 * (HELLO, CLOSE), the peer's end, a broken protocol or a failed device stop
 * datapath_pump() with a status, and the link's state machine acts on it.
 * A full ring stops polling the device for input until the peer has read;
 * the kernel's queue in front of the device holds (and, when full, drops)
 * what comes meanwhile.
 */
#ifndef VCHAN_TUN_DATAPATH_H
#define VCHAN_TUN_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "filter.h"
#include "frame.h"
#include "vchan/vchan.h"

/* Packets moved per direction per pump, so that one busy peer cannot starve the others. */
#define DP_BUDGET	64
#define DP_WHY_LEN	640

enum dp_status {
	DP_IDLE,		/* nothing left: the ring's requests for events are armed */
	DP_BUSY,		/* the budget ran out with work left: pump again soon */
	DP_CONTROL,		/* a HELLO or CLOSE waits in dp->control, not consumed */
	DP_PEER_CLOSED,		/* the peer closed the channel, and all it wrote was read */
	DP_BROKEN,		/* the peer broke the protocol, or the channel failed: dp->why */
	DP_DEVICE_LOST,		/* the device's fd failed: dp->why */
};

struct dp_stats {
	uint64_t tx_packets, tx_bytes;	/* device to peer */
	uint64_t tx_oversize;		/* longer than the agreed maximum payload */
	uint64_t tx_offload;		/* offload headers the link cannot carry */
	uint64_t rx_packets, rx_bytes;	/* peer to device */
	uint64_t rx_malformed;		/* frames that broke the protocol (each a reset) */
	uint64_t rx_spoofed;		/* packets from a source the peer may not use */
	uint64_t rx_tun_errors;		/* packets the device refused */
	uint64_t rx_device_down;	/* packets that came while the device was admin down */
};

struct datapath {
	/* the link's, for the log */
	const char *name;

	/* the device: set by datapath_set_device */
	int epfd;
	int tun_fd;			/* -1: none */
	struct ev_source *tun_src;
	const char *ifname;
	bool vnet_hdr;
	const struct source_filter *filter;

	/* the channel: set by datapath_start, agreed by datapath_run */
	struct vchan *v;
	struct vchan_ring *r;
	struct frame_limits lim;	/* zero before the peer's HELLO */
	bool running;			/* handshake done: packets flow */
	size_t tx_cap;			/* longest packet we send, without a virtio-net header */
	size_t tx_need;			/* ring room it takes as a frame */
	size_t tx_off;			/* where in a frame the packet starts */

	/* flow */
	bool tun_polled;		/* EPOLLIN asked for on the device */
	bool tun_readable;		/* epoll said so, and no EAGAIN since */
	bool tx_blocked;		/* ring full: device input paused */
	bool tun_write_warned, spoof_warned;
	uint8_t peer_mac[6];		/* tap: the MAC the peer sends from (filter.h) */

	/* what the peer made us do, for telling its events from spurious ones */
	uint64_t progress;

	struct frame control;		/* after DP_CONTROL */
	char why[DP_WHY_LEN];		/* after DP_BROKEN, DP_DEVICE_LOST */
	struct dp_stats st;
};

/* The device's fd (registered by the caller in epfd with tun_src, events 0), or -1. */
void datapath_set_device(struct datapath *dp, int epfd, int tun_fd, struct ev_source *tun_src,
			 const char *ifname, bool vnet_hdr, const struct source_filter *filter);

/* A new channel: control frames only until datapath_run. */
void datapath_start(struct datapath *dp, struct vchan *v);

/*
 * The handshake agreed on lim: packets of at most tx_cap bytes (without
 * their virtio-net header, at tx_off in a frame of tx_need bytes) flow from
 * now on, and the device is polled for input.
 */
void datapath_run(struct datapath *dp, const struct frame_limits *lim, size_t tx_cap,
		  size_t tx_need, size_t tx_off);

/* The channel is gone: no more ring, device input paused. */
void datapath_stop(struct datapath *dp);

/* Moves what it can, within DP_BUDGET per direction. */
enum dp_status datapath_pump(struct datapath *dp);

/* After DP_CONTROL: the control frame was handled, take it off the ring. */
void datapath_consume_control(struct datapath *dp);

/* Our HELLO onto the ring: 0, or -1 when the ring has no room for it. */
int datapath_send_hello(struct datapath *dp, const struct frame_hello *hello);

/* A CLOSE frame with the reason, when the ring has room for it (else nothing). */
void datapath_send_close(struct datapath *dp, const char *why);

#endif
