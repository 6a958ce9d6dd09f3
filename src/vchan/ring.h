/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The vchan ring without Xen: the shared control page's layout, its
 * validation, and the two byte rings over it, as seen from one end.
 *
 * Nothing here makes a system call, so the whole protocol logic runs in one
 * process under unit tests and the fuzzer. setup.c maps the pages and feeds
 * events; this file decides what the bytes in them mean.
 *
 * Trust: everything in shared memory may change at any moment under a hostile
 * peer. Each peer-written index is read once per operation, checked, and
 * masked before use; our own indexes live in private copies. The first
 * violation marks the ring broken: from then on every call returns nothing
 * and vchan_ring_error() names what went wrong.
 *
 * Data is zero-copy: readable/writable return spans that point into the
 * shared ring. Bytes read through them can change while you look at them, so
 * copy anything (a length, a header) before you validate and use it.
 */
#ifndef VCHAN_RING_H
#define VCHAN_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VCHAN_PAGE_SIZE		4096u
#define VCHAN_PAGE_SHIFT	12u
#define VCHAN_MIN_ORDER		10u
#define VCHAN_MAX_ORDER		20u
#define VCHAN_MAX_GRANTS	(2u << (VCHAN_MAX_ORDER - VCHAN_PAGE_SHIFT))

/* Bits of cli_notify / srv_notify (also in Xen's io/libxenvchan.h, same values). */
#ifndef VCHAN_NOTIFY_WRITE
#define VCHAN_NOTIFY_WRITE	0x1
#define VCHAN_NOTIFY_READ	0x2
#endif

/* Values of cli_live / srv_live. */
#define VCHAN_LIVE_GONE		0u
#define VCHAN_LIVE_CONNECTED	1u
#define VCHAN_LIVE_WAITING	2u

struct vchan_indexes {
	uint32_t cons;
	uint32_t prod;
};

/*
 * The control page, byte for byte as libxenvchan lays it out (native
 * endian). Left: the client writes, the server reads. Right: the reverse.
 */
struct vchan_shared {
	struct vchan_indexes left;
	struct vchan_indexes right;
	uint16_t left_order;
	uint16_t right_order;
	uint8_t cli_live;
	uint8_t srv_live;
	uint8_t cli_notify;	/* the client's requests, acted on by the server */
	uint8_t srv_notify;	/* the server's requests, acted on by the client */
	uint32_t grants[];	/* left ring's pages, then right ring's */
};

#define VCHAN_GRANTS_OFFSET	24u

/* How the server lays the rings out: orders and the grants after them. */
struct vchan_layout {
	unsigned int left_order;
	unsigned int right_order;
	unsigned int left_pages;	/* 0 for a ring inside the control page */
	unsigned int right_pages;
};

enum vchan_ring_role {
	VCHAN_SERVER,
	VCHAN_CLIENT,
};

struct vchan_ring {
	struct vchan_shared *shr;
	enum vchan_ring_role role;

	/* read side: the peer produces, we consume */
	const uint8_t *rd_buf;
	uint32_t rd_size;
	uint32_t rd_cons;	/* ours, never read back from shared memory */
	uint32_t rd_prod;	/* the peer's, as last validated */
	uint32_t *rd_cons_shr;
	const uint32_t *rd_prod_shr;

	/* write side: we produce, the peer consumes */
	uint8_t *wr_buf;
	uint32_t wr_size;
	uint32_t wr_prod;	/* ours, never read back from shared memory */
	uint32_t wr_cons;	/* the peer's, as last validated */
	uint32_t *wr_prod_shr;
	const uint32_t *wr_cons_shr;

	uint8_t *peer_notify;	/* we ask the peer here */
	uint8_t *our_notify;	/* the peer asks us here */
	const uint8_t *peer_live;
	uint8_t *our_live;

	unsigned int unflushed; /* VCHAN_NOTIFY_* for what we did since the last flush */
	bool moved;		/* committed or consumed since the last spin */
	bool broken;
	char why[160];
};

/*
 * Fills *lay for two orders after checking them against the reference
 * layout: 10..20 each, in-page rings (10 at 1024, 11 at 2048) not both of
 * one order, and the grant list ending before any in-page ring. Returns 0,
 * or -1 with a message naming the bad values in buf.
 */
int vchan_layout_make(struct vchan_layout *lay, unsigned int left_order,
		      unsigned int right_order, char *buf, size_t len);

/*
 * Picks orders for minimum ring sizes in bytes the way libxenvchan's server
 * does (in-page rings when both fit, else whole pages); -1 if a size exceeds
 * 2^VCHAN_MAX_ORDER.
 */
int vchan_orders_for_sizes(size_t left_min, size_t right_min, unsigned int *left_order,
			   unsigned int *right_order);

/* Where a ring of an in-page order (10 or 11) lives in the control page; NULL otherwise. */
void *vchan_inpage_ring(struct vchan_shared *shr, unsigned int order);

/* Server: initialises a zeroed control page for a client yet to come. */
void vchan_shared_init(struct vchan_shared *shr, const struct vchan_layout *lay,
		       const uint32_t *grants);

/*
 * Client: reads the orders and grant references once from a page the
 * server filled, and validates them. grants must hold VCHAN_MAX_GRANTS.
 * Returns 0, or -1 with the reason in buf.
 */
int vchan_shared_read_layout(const struct vchan_shared *shr, struct vchan_layout *lay,
			     uint32_t *grants, char *buf, size_t len);

/*
 * Sets up one end over a control page and the two ring buffers (left and
 * right, whatever the role). Our indexes start from what the page holds now
 * (zero on a fresh server page), read once here and never again.
 * Returns 0, or -1 with the ring broken (see vchan_ring_error).
 */
int vchan_ring_init(struct vchan_ring *r, struct vchan_shared *shr, enum vchan_ring_role role,
		    const struct vchan_layout *lay, void *left_buf, void *right_buf);

/*
 * The bytes the peer has written and we have not consumed, as up to two spans
 * (the second one only at the wrap; unused spans get length 0). Returns the
 * total; 0 when empty or broken.
 */
size_t vchan_ring_readable(struct vchan_ring *r, struct iovec iov[2]);

/*
 * As vchan_ring_readable/writable, from the peer's index as last read: no
 * access to shared memory, so a loop can take what it already knows about
 * and go to the peer's cache line only when that runs short.
 */
size_t vchan_ring_readable_cached(const struct vchan_ring *r, struct iovec iov[2]);
size_t vchan_ring_writable_cached(const struct vchan_ring *r, struct iovec iov[2]);

/* Gives n bytes (at most the last readable total) back to the peer. */
void vchan_ring_consume(struct vchan_ring *r, size_t n);

/* Free space as up to two spans, in the same form as vchan_ring_readable. */
size_t vchan_ring_writable(struct vchan_ring *r, struct iovec iov[2]);

/* Publishes n bytes (at most the last writable total) written into the spans. */
void vchan_ring_commit(struct vchan_ring *r, size_t n);

/*
 * Before sleeping: ask the peer for an event when it writes (arm_read) or
 * reads (arm_write), then look again, because the peer may have acted between
 * our last look and the request. Sleep only if this returns 0.
 */
size_t vchan_ring_arm_read(struct vchan_ring *r, struct iovec iov[2]);
size_t vchan_ring_arm_write(struct vchan_ring *r, struct iovec iov[2]);

/*
 * After a batch of commits and consumes: true if the peer asked for an event
 * about what we did, so that the caller sends one (one event covers both
 * directions). Clears the peer's request.
 */
bool vchan_ring_flush(struct vchan_ring *r);

/*
 * A cheap look, no fence: has the peer already asked about what we did since
 * the last flush? Then flushing now wakes it while we go on. A hint only: a
 * batch still has to end with vchan_ring_flush, which cannot miss a request.
 */
bool vchan_ring_flush_due(const struct vchan_ring *r);

/*
 * Busy-waits up to spin_ns for the peer to make data readable (want_read) or
 * space writable (want_write), re-reading its indexes; true if it did. Worth
 * it before sleeping when the peer runs on another CPU, where a wake-up costs
 * tens of microseconds. Spins only if we committed or consumed something
 * since the previous call, so an idle peer, or one that sends events without
 * data, gets one look and no spinning.
 */
bool vchan_ring_spin(struct vchan_ring *r, bool want_read, bool want_write,
		     unsigned int spin_ns);

/* The peer's live byte: VCHAN_LIVE_*, or -1 (and broken) for anything else. */
int vchan_ring_peer_live(struct vchan_ring *r);

/* Writes our live byte. */
void vchan_ring_set_live(struct vchan_ring *r, uint8_t live);

/* Marks the ring broken (first reason wins). */
void vchan_ring_break(struct vchan_ring *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* NULL while healthy, else one line saying why the ring is broken. */
const char *vchan_ring_error(const struct vchan_ring *r);

static inline size_t vchan_ring_read_size(const struct vchan_ring *r)
{
	return r->rd_size;
}

static inline size_t vchan_ring_write_size(const struct vchan_ring *r)
{
	return r->wr_size;
}

#endif
