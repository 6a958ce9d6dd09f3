/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The event loop vchan-tund and vchan-tun-watch are both built on, with
 * everything they would otherwise each write: one epoll set (level
 * triggered, each fd with its struct ev_source, event.h); SIGTERM, SIGINT
 * and SIGHUP through a signalfd; the XenStore connection, our domain id,
 * the @releaseDomain and @introduceDomain watches, and reconnecting when
 * xenstored goes away (a pause doubling from LOOP_XS_RETRY_MIN_MS to
 * LOOP_XS_RETRY_MAX_MS; the connection's users keep running meanwhile);
 * deadlines; and freeing what was stopped during a round only after it,
 * when no event of that round can point at it any more.
 *
 * A program keeps only its own decisions, in struct loop_ops.
 *
 * Watch events come coalesced (xs.h) and paced: after LOOP_XS_BURST rounds
 * with XenStore events in quick succession, the loop takes them at most
 * once per LOOP_XS_INTERVAL_MS, however fast a peer makes them fire; each
 * such round hands over every token that fired since the last.
 */
#ifndef VCHAN_TUN_LOOP_H
#define VCHAN_TUN_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "event.h"
#include "pace.h"
#include "xs.h"

#define LOOP_XS_RETRY_MIN_MS	50
#define LOOP_XS_RETRY_MAX_MS	2000
#define LOOP_XS_BURST		32
#define LOOP_XS_INTERVAL_MS	10
#define LOOP_ERR_LEN		320

struct loop;

struct loop_ops {
	/* SIGHUP. */
	void (*reload)(struct loop *lp);
	/* SIGTERM or SIGINT: the program stops when it is ready to (loop_stop). */
	void (*terminate)(struct loop *lp, int signo);
	/* A watch of the program's fired (token: what it registered, or XSTORE_TOKEN_ALL). */
	void (*watch)(struct loop *lp, const char *token);
	/* After a round's watch events: domains went away, and/or new ones came. */
	void (*domains)(struct loop *lp, bool released, bool introduced);
	/* The XenStore connection is new: what was published is to be written again. */
	void (*xenstore_back)(struct loop *lp);
	/* The program's earliest deadline, monotonic ms; 0 for none, <= now for at once. */
	int64_t (*deadline)(struct loop *lp);
	/* After every round: what is due at now, status. */
	void (*round)(struct loop *lp, int64_t now);
};

struct loop {
	int epfd;
	struct xstore *xs;
	unsigned int own_domid;
	void *ctx;				/* the program's */

	/* the loop's own */
	const struct loop_ops *ops;
	int sig_fd;
	struct ev_source sig_src, xs_src;
	bool xs_polled;				/* the XenStore fd is in epoll's interest */
	struct rate_limit xs_rate;
	int64_t xs_retry_ms;			/* 0 while connected */
	unsigned int xs_backoff_ms;
	bool stop;
	int exit_code;
	struct loop_dead {
		void *p;
		void (*free)(void *p);
	} *dead;
	size_t n_dead, cap_dead;
};

/*
 * Signals, epoll, XenStore (with our domid and the domain watches). Call
 * before any thread starts. 0, or -1 with the reason in err; loop_close
 * cleans up either way.
 */
int loop_open(struct loop *lp, const struct loop_ops *ops, void *ctx, struct error *err);

/* Runs until loop_stop(); returns its code, or 1 when epoll fails. */
int loop_run(struct loop *lp);
void loop_stop(struct loop *lp, int code);

/* Frees p with free_fn after the current round (at once when out of memory: leaks it). */
void loop_defer_free(struct loop *lp, void *p, void (*free_fn)(void *p));

void loop_close(struct loop *lp);

#endif
