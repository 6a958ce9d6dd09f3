/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A vchan end, wire-compatible with libxenvchan, on libxengnttab,
 * libxenevtchn and libxenstore.
 *
 * Use: open (server or client), put vchan_fd() in your poll set, move data
 * with the zero-copy span calls of ring.h on vchan_ring(), call vchan_flush()
 * after each batch, and check vchan_state() after every wake-up. Events carry
 * no information: whatever woke you, look at the ring again. Sleep only after
 * vchan_ring_arm_read/arm_write found nothing to do.
 *
 * Nothing from the peer is trusted: see ring.h. A failure of the channel
 * (broken ring, hypervisor error) shows as VCHAN_BROKEN with one line from
 * vchan_error(); the caller logs it and closes.
 */
#ifndef VCHAN_H
#define VCHAN_H

#include <stddef.h>

#include "ring.h"

struct vchan;

/* Domids from here up are reserved (Xen's DOMID_FIRST_RESERVED). */
#define VCHAN_DOMID_LIMIT	0x7ff0u

/* Messages from the open calls, naming what failed and the values involved. */
struct vchan_error {
	char msg[256];
	int err;	/* the system error the message reports (errno), or 0 */
};

enum vchan_state {
	VCHAN_WAITING,		/* server: no client yet */
	VCHAN_CONNECTED,
	VCHAN_CLOSED,		/* the peer closed or died: drain what is left, then close */
	VCHAN_BROKEN,		/* protocol violation or local error: see vchan_error() */
};

/*
 * Server: offers a channel to peer_domid under xs_path (ring-ref and
 * event-channel keys, readable by the peer only), with rings of 2^read_order
 * bytes (the peer writes, we read) and 2^write_order bytes (we write).
 */
struct vchan *vchan_server_open(unsigned int peer_domid, const char *xs_path,
				unsigned int read_order, unsigned int write_order,
				struct vchan_error *err);

/*
 * Server, after its client left (VCHAN_CLOSED): withdraws the old pages and
 * port and offers fresh ones under the same path, rings of the same orders,
 * for the next client. Returns 0, or -1 with the reason in err.
 */
int vchan_server_reoffer(struct vchan *v, struct vchan_error *err);

/*
 * Client: connects to server_domid's channel at xs_path. With timeout_ms > 0,
 * waits (on a XenStore watch) for the keys to appear and retries a failed
 * attempt when they change, until the time is up.
 */
struct vchan *vchan_client_open(unsigned int server_domid, const char *xs_path, int timeout_ms,
				struct vchan_error *err);

/*
 * Server: sets our live byte to 0, unshares, notifies, removes the XenStore
 * path. Client: live byte 0, unmaps, notifies. NULL is fine.
 */
void vchan_close(struct vchan *v);

/* The event channel's fd, for poll/epoll (readable when an event came). */
int vchan_fd(const struct vchan *v);

/*
 * Takes the pending event (call when the fd polled readable) and unmasks the
 * port. Returns 0 (also when there was nothing), or -1 with the channel broken.
 */
int vchan_handle_events(struct vchan *v);

/*
 * The same in two steps, for a caller that decides when the next event may
 * come (a peer that sends events for nothing is heard later and later, as
 * Linux's backends do with lateeoi): vchan_take_event takes the pending
 * event and leaves the port masked; vchan_unmask unmasks it, if it still is
 * (a re-offer binds a new port, unmasked). Both 0, or -1 with the channel broken.
 */
int vchan_take_event(struct vchan *v);
int vchan_unmask(struct vchan *v);

/* Where the channel stands; reads the peer's live byte. */
enum vchan_state vchan_state(struct vchan *v);

/*
 * Sends one event, whether or not the peer asked for it. Xen's contract is
 * that peers tolerate events that say nothing; vchan_flush sends the ones
 * that do. -1: broken.
 */
int vchan_notify(struct vchan *v);

/* Sends one event if the peer asked about what we did since the last flush. -1: broken. */
int vchan_flush(struct vchan *v);

/*
 * Inside a batch, after a commit or consume: flushes at once if the peer is
 * already waiting for it (see vchan_ring_flush_due), so it starts working
 * while we go on. Costs one load when it is not. -1: broken.
 */
int vchan_flush_if_waiting(struct vchan *v);

/* NULL, or one line on why the channel is broken. */
const char *vchan_error(const struct vchan *v);

struct vchan_ring *vchan_ring(struct vchan *v);
unsigned int vchan_read_order(const struct vchan *v);
unsigned int vchan_write_order(const struct vchan *v);

/* Parses a domid or other decimal in [min, max] strictly (no sign, space, or junk). */
int vchan_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

#endif
