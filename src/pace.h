/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How fast a peer may make us work. A guest controls when its event channel
 * fires, what it writes to XenStore and how often it connects; none of that
 * may cost dom0 more than a bounded share of a CPU, nor fill its log. Two
 * tools, pure and clock-driven (the caller passes now_ms()):
 *
 * - a rate limit (token bucket) for work a peer's event asks for: `burst`
 *   at once, then one every `interval_ms`. What is over the limit waits for
 *   rate_next(), where the caller does it once, however many events came.
 *
 * - a paced watch, for a XenStore watch a peer can fire at will: its events
 *   are handled at the rate limit's pace, and when they come faster, the
 *   watch is better not registered at all for a while (PACE_MUTE_MIN_MS,
 *   doubling up to PACE_MUTE_MAX_MS): xenstored then sends nothing. Its
 *   registration again fires it once, so a change is seen late, never missed.
 *
 * - flap damping for connections, as routers damp flapping routes (RFC
 *   2439): each connection that ends adds FLAP_PENALTY to a penalty that
 *   halves every FLAP_HALF_LIFE_MS. Above FLAP_SUPPRESS, the next connection
 *   waits until the penalty has decayed to FLAP_REUSE; the penalty stops at
 *   FLAP_MAX, so that no wait is longer than about 4 s (4001 ms). A peer
 *   that reconnects once a second never waits (its penalty stays under
 *   2000); one that does so as fast as it can is held to about two
 *   connections a second.
 *   While the penalty is at FLAP_QUIET or more (a second connection ended
 *   within a second or so of the first), and for FLAP_REPORT_MS after a
 *   wait or a report, the link is quiet: its connections are not worth a
 *   log line each (a peer whose changes XenStore pacing spaces out would
 *   otherwise get a line per change), and flap_report() says, at most once
 *   per FLAP_REPORT_MS, how many there were.
 */
#ifndef VCHAN_TUN_PACE_H
#define VCHAN_TUN_PACE_H

#include <stdbool.h>
#include <stdint.h>

struct rate_limit {
	unsigned int burst;
	unsigned int interval_ms;
	unsigned int tokens;
	int64_t refill_ms;		/* when the next token comes back; 0: full */
};

void rate_init(struct rate_limit *rl, unsigned int burst, unsigned int interval_ms);

/* Takes a token: true if the work may be done now. */
bool rate_take(struct rate_limit *rl, int64_t now);

/* When a token is there again (now or earlier if there is one). */
int64_t rate_next(const struct rate_limit *rl);

#define PACE_MUTE_MIN_MS	100u
#define PACE_MUTE_MAX_MS	1000u

struct watch_pace {
	struct rate_limit rate;
	bool fired;			/* an event came, not handled yet */
	bool muted;			/* unregistered until unmute_ms */
	int64_t unmute_ms;
	unsigned int mute_ms;		/* the last mute's length */
};

void watch_pace_init(struct watch_pace *wp, unsigned int burst, unsigned int interval_ms);

/*
 * An event fired (or one is pending): true when it is to be handled now.
 * When it is not, and came faster than the rate, *mute says to unregister
 * the watch, until watch_pace_deadline().
 */
bool watch_pace_take(struct watch_pace *wp, int64_t now, bool *mute);

/* When a pending event may be handled, or the watch registered again; 0: nothing due. */
int64_t watch_pace_deadline(const struct watch_pace *wp);

/* True when a muted watch is to be registered again now (which fires it once). */
bool watch_pace_unmute(struct watch_pace *wp, int64_t now);

#define FLAP_PENALTY		1000u
#define FLAP_HALF_LIFE_MS	1000u
#define FLAP_SUPPRESS		5000u
#define FLAP_REUSE		1000u
#define FLAP_MAX		16000u
#define FLAP_REPORT_MS		60000
#define FLAP_QUIET		1500u

struct flap {
	unsigned int penalty;		/* as of at_ms */
	int64_t at_ms;
	bool suppressed;		/* over FLAP_SUPPRESS, and not back to FLAP_REUSE */
	int64_t held_ms;		/* when a connection last had to wait; 0: never */
	unsigned int unreported;	/* connections ended since the last report (or calm) */
	int64_t reported_ms;		/* when that report was; 0: never */
};

/*
 * A connection ended (or a transition went back). Returns how long the next
 * one must wait, in ms: 0 when it need not.
 */
unsigned int flap_down(struct flap *f, int64_t now);

/* True while connections end too often to be news one by one (see above). */
bool flap_quiet(const struct flap *f, int64_t now);

/*
 * While quiet: true when a report is due (the first at once, then one per
 * FLAP_REPORT_MS), with the connections that ended since the last one in *count.
 */
bool flap_report(struct flap *f, int64_t now, unsigned int *count);

#endif
