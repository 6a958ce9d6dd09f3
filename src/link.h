/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One link: a TUN/TAP device, the vchan to the peer, and the state machine
 * between them (link.c), which drives the data path (datapath.h) and the
 * device (device.h) and alone decides what to tear down. The daemon owns the
 * event loop; a link only registers its fds in env->epfd and reacts to what
 * the daemon hands it.
 *
 * States:
 *
 *   WAITING_PEER  the peer domain is not there (or its name is unknown)
 *   OFFERING      server: channel offered in XenStore, no client yet
 *   CONNECTING    client: waiting (on a XenStore watch) for the server's keys
 *   HANDSHAKE     connected, our HELLO sent, waiting for the peer's
 *   RUNNING       carrier on, packets flow
 *   BACKOFF       a pause before the next channel: after a protocol error,
 *                 or after a peer that connects and leaves too fast
 *   FAILED        the device or the channel could not be set up: retried later,
 *                 or, when trying again cannot mend it, only on a reload
 *                 (link_needs_reload)
 *   STOPPED       after link_stop
 *
 * The device, with its addresses and routes, lives from link_start to
 * link_stop; across reconnects only its carrier flips (and, for a Watched
 * link, the watcher sets it up and down). The state shows in the link's
 * XenStore state key for the watchers (xs.h, docs/protocol.md), written by
 * the daemon that holds the device, as it changes, and removed by link_stop.
 */
#ifndef VCHAN_TUN_LINK_H
#define VCHAN_TUN_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "status.h"
#include "xs.h"

struct netlink;

/* What every link shares with the daemon. */
struct link_env {
	int epfd;
	struct xstore *xs;
	struct netlink *nl;
	unsigned int own_domid;
	unsigned int grants_used;	/* by the channels we offer now */
};

enum link_state {
	LINK_STOPPED,
	LINK_FAILED,
	LINK_WAITING_PEER,
	LINK_BACKOFF,
	LINK_OFFERING,
	LINK_CONNECTING,
	LINK_HANDSHAKE,
	LINK_RUNNING,
};

/* How long a connected peer may take to send its HELLO. */
#define LINK_HELLO_TIMEOUT_MS	10000

struct link;

struct link *link_new(const struct link_config *cfg, struct link_env *env);

/*
 * Creates the device and starts looking for the peer; problems are logged
 * and retried, but for those that trying again cannot mend: no TUN/TAP
 * driver, no CAP_NET_ADMIN, the interface name taken (device.h), a Peer that
 * is this domain, a Peer by name in a guest. Then the link is FAILED, holds
 * nothing (no device, channel, XenStore key or timer), and link_needs_reload.
 */
void link_start(struct link *l);

/* FAILED for a reason retrying cannot mend: only link_retry (a reload) tries again. */
bool link_needs_reload(const struct link *l);
void link_retry(struct link *l);

/*
 * Tells the peer why (a CLOSE frame), closes the channel (a server removes
 * its XenStore keys), and removes the device unless it is persistent.
 * Afterwards the link takes no more events; free it after the current
 * round of the event loop.
 */
void link_stop(struct link *l, const char *why);

/*
 * The link takes a new configuration that differs only in keys
 * config_restart_keys() leaves out: the device changes in place (its
 * ifindex, routes and firewall state stay), and a new MTU ends the channel so
 * that the next handshake agrees on it. On failure (err says why), part
 * of it may be applied: the caller restarts the link.
 */
int link_reconfigure(struct link *l, const struct link_config *cfg, struct error *err);
void link_free(struct link *l);

/*
 * Its journal fields (log_set_fields()): "IFNAME=vchan5\nPEER_DOMID=5\n",
 * PEER_DOMID once the peer's id is known. Their length, at most len.
 */
size_t link_journal_fields(const struct link *l, char *buf, size_t len);

const char *link_name(const struct link *l);
const struct link_config *link_cfg(const struct link *l);
enum link_state link_state(const struct link *l);
const char *link_state_name(enum link_state state);

/* The token of the link's XenStore watch, to route events to it. */
const char *link_watch_token(const struct link *l);

/* Its watch fired: the server's keys appeared, changed or went away (looked at, paced). */
void link_on_watch(struct link *l);

/* @releaseDomain: if the peer's domain is gone, carrier off until it is back. */
void link_on_release(struct link *l);

/*
 * @introduceDomain: a waiting link looks for its peer again. doms lists every
 * named domain (NULL when the list could not be read; err then says why).
 */
void link_on_introduce(struct link *l, const struct xstore_domain *doms, size_t n,
		       const char *err);

/*
 * The connection to XenStore is back after it was lost (xenstored restarted):
 * write the state key again, and retry at once a setup that failed meanwhile.
 */
void link_on_xenstore_back(struct link *l);

/* True when a wake-up ended with work left (the budget ran out): service it again soon. */
bool link_busy(const struct link *l);
void link_service(struct link *l);

/* Monotonic ms at which link_on_deadline wants to run, or 0. */
int64_t link_deadline(const struct link *l);
void link_on_deadline(struct link *l, int64_t now);

/*
 * Following the kernel: what the listener (netlink.h) heard about the
 * device whose ifindex link_ifindex gives (0 while it has none). A deleted
 * device is lost: made again later. After an overrun, link_on_kernel_resync
 * reads the device's state again instead.
 */
struct netlink_event;
int link_ifindex(const struct link *l);
void link_on_kernel(struct link *l, const struct netlink_event *ev);
void link_on_kernel_resync(struct link *l);

/* A reload that keeps the link: addresses removed meanwhile are put back. */
void link_on_reload(struct link *l);

/* The link as it is now, for the status formatters (status.h). */
void link_status(const struct link *l, struct link_status *st);

#endif
