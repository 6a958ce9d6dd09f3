/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal to a link: what link.c (the state machine, which decides what
 * happens next and alone tears anything down) and channel.c (the channel:
 * offering or taking it, the handshake over it, closing it) share. No other
 * file includes it; the rest of the program has link.h.
 *
 * channel.c acts on the channel and reports through the state machine's
 * calls below: a channel that cannot be opened is link_fail_retry(), one
 * that breaks is link_down(); it never decides itself what comes next.
 */
#ifndef VCHAN_TUN_LINK_INTERNAL_H
#define VCHAN_TUN_LINK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "datapath.h"
#include "device.h"
#include "event.h"
#include "filter.h"
#include "frame.h"
#include "link.h"
#include "pace.h"
#include "provision.h"

#define LINK_ERR_LEN		DP_WHY_LEN
/* A client looks at the server's keys at most this often (pace.h). */
#define LINK_WATCH_BURST	8
#define LINK_WATCH_INTERVAL_MS	100

struct link {
	struct link_config cfg;
	struct link_env *env;
	char token[CONFIG_NAME_MAX + 8];

	enum link_state state;
	time_t since;			/* wall clock, for status */
	int64_t since_ms;		/* monotonic, for durations */
	int64_t deadline_ms;		/* the state's: 0 for none */
	uint64_t transitions;		/* state changes, a kind of progress */
	bool dead;			/* stopped: ignore events until freed */
	bool lasting;			/* FAILED until a reload: retrying cannot mend it */

	/* the peer */
	bool peer_known;
	unsigned int peer_domid;
	char peer_name[CONFIG_NAME_MAX + 1];	/* of a peer given by id: "" if not known */
	char *xs_path;			/* the channel's (util.h str_set): NULL until known */
	bool watching;			/* client: our watch is on watch_path (or muted) */
	char *watch_path;
	struct watch_pace watch_pace;

	/* our state key as last written (docs/protocol.md): "" while there is none */
	char state_path[XSTORE_STATE_PATH_MAX];
	const char *state_value;

	struct provision_pub prov;	/* Provision = yes: what we published for the peer */

	/* the device, and what the peer may send through it */
	struct device dev;
	struct ev_source tun_src;
	struct source_filter filter;

	/* the channel */
	struct vchan *v;
	struct ev_source vchan_src;
	unsigned int grants;		/* server: what our offer costs */
	struct frame_hello hello;	/* ours */
	struct datapath dp;
	bool busy;			/* a pump ended with work left */

	/* how often the peer may make us work */
	unsigned int spurious;		/* events in a row that brought nothing */
	uint64_t event_progress;	/* progress as of the last event */
	int64_t unmask_ms;		/* when to hear the peer's events again; 0: now */
	struct flap flap;
	unsigned int backoff_ms;	/* after protocol errors */
	unsigned int fail_ms;		/* after setup failures */

	uint64_t connects;		/* handshakes completed */
	uint64_t reconnects;		/* channels lost after they had connected */
	char last_error[LINK_ERR_LEN];
	time_t last_error_at;
};

static inline bool link_is_server(const struct link *l)
{
	return l->cfg.role == CONFIG_ROLE_SERVER;
}

/* A channel that carries frames: the handshake's and the running link's. */
static inline bool link_channel_up(const struct link *l)
{
	return l->state == LINK_HANDSHAKE || l->state == LINK_RUNNING;
}

/* --- link.c: the state machine -------------------------------------------------------- */

void link_set_state(struct link *l, enum link_state state);
void __attribute__((format(printf, 2, 3))) link_set_error(struct link *l, const char *fmt, ...);
/* Setting up failed: said once per distinct reason, tried again later. */
void __attribute__((format(printf, 2, 3))) link_fail_retry(struct link *l, const char *fmt, ...);
/* The channel is over: error (a CLOSE with the reason, then backoff) or a clean end. */
void __attribute__((format(printf, 3, 4)))
link_down(struct link *l, bool error, const char *fmt, ...);
/* The log level of a connection's coming and going: quieter while the peer flaps. */
int link_news(const struct link *l);
void link_epoll_set(struct link *l, int op, int fd, uint32_t events, struct ev_source *src);
/* The channel's event handler. */
void link_on_vchan(struct ev_source *src, uint32_t events);

/* --- channel.c: the channel ----------------------------------------------------------- */

/* Server: offers the channel at l->xs_path (OFFERING, or FAILED and retried). */
void channel_offer(struct link *l);
/* OFFERING: has a client come? true once the handshake has started. */
bool channel_offer_taken(struct link *l);
/* Client: watches l->xs_path; its events make the tries (CONNECTING). */
void channel_watch(struct link *l);
/* Client: one try to take the server's offer; the handshake starts when it works. */
void channel_try(struct link *l);
void channel_unwatch(struct link *l);
/* A control frame from the peer: 0 when taken, -1 when the link went down over it. */
int channel_control(struct link *l);
/* A CLOSE frame with the reason, if there is a channel that takes one. */
void channel_send_close(struct link *l, const char *why);
void channel_close(struct link *l);

#endif
