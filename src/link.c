// SPDX-License-Identifier: GPL-2.0-only
/*
 * One link's state machine (see link.h): finding the peer, the channel's
 * states, running, losing the peer and coming back. The channel itself is
 * offered, taken, agreed on and closed by channel.c (link-internal.h); the
 * data path (datapath.c) moves the packets and reports what stops it; the
 * device (device.c) is made and set up once per link; this file decides
 * what happens next, and is the only one that tears anything down.
 *
 * What a peer controls here, and what bounds the work it can cause:
 *  - its event channel: a wake-up that finds nothing new (no frame, no room
 *    freed, no change of state) is spurious, and after SPURIOUS_FREE of them
 *    in a row the port is unmasked later and later, up to SPURIOUS_MAX_MS,
 *    as Linux's backends do with lateeoi (XSA-332);
 *  - the keys under the channel's path in XenStore, which it may rewrite at
 *    will: the link looks at them at most LINK_WATCH_BURST times at once, then
 *    once per LINK_WATCH_INTERVAL_MS, and a watch that fires faster is dropped
 *    for a while (pace.h), so that xenstored stops telling us;
 *  - when it connects and leaves: clean ends are damped (pace.h), errors
 *    back off from BACKOFF_MIN_MS to BACKOFF_MAX_MS.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "datapath.h"
#include "device.h"
#include "event.h"
#include "filter.h"
#include "frame.h"
#include "link-internal.h"
#include "log.h"
#include "netlink.h"
#include "pace.h"
#include "provision.h"
#include "status.h"
#include "util.h"
#include "vchan/vchan.h"

#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		5000
#define FAIL_RETRY_MIN_MS	1000
#define FAIL_RETRY_MAX_MS	60000
/* A connection that lasted this long wipes the slate of earlier errors. */
#define STABLE_MS		10000
#define SPURIOUS_FREE		2
#define SPURIOUS_MAX_MS		1000

/* A connection's coming and going is news, unless the peer flaps (pace.h). */
int link_news(const struct link *l)
{
	return flap_quiet(&l->flap, now_ms()) ? LOG_DEBUG : LOG_NOTICE;
}

const char *link_state_name(enum link_state state)
{
	static const char *const names[] = {
		[LINK_STOPPED] = "STOPPED",	[LINK_FAILED] = "FAILED",
		[LINK_WAITING_PEER] = "WAITING_PEER", [LINK_BACKOFF] = "BACKOFF",
		[LINK_OFFERING] = "OFFERING",	[LINK_CONNECTING] = "CONNECTING",
		[LINK_HANDSHAKE] = "HANDSHAKE", [LINK_RUNNING] = "RUNNING",
	};

	return (unsigned int)state < ARRAY_SIZE(names) ? names[state] : "?";
}

/* --- the state key ------------------------------------------------------- */

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
 * so the next call tries again. Only the daemon that holds the link's device
 * writes it: another one, started for the same link, must not say "waiting"
 * for the one that runs it, nor remove its key.
 */
static void state_publish(struct link *l)
{
	const char *value = l->dev.open ? state_value(l->state) : NULL;
	char path[XSTORE_STATE_PATH_MAX] = "";
	unsigned int peer = l->peer_known ? l->peer_domid : l->cfg.peer_domid;
	struct error err;

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
	if (xstore_write_shared(l->env->xs, path, value, l->env->own_domid, peer, &err)) {
		log_link(LOG_WARNING, l->cfg.name, "cannot publish the link's state: %s", err.msg);
		return;
	}
	snprintf(l->state_path, sizeof(l->state_path), "%s", path);
	l->state_value = value;
}

/* --- provisioning the peer (provision.h) --------------------------------- */

/*
 * Provision = yes: the peer's end of the link in the peer's tree while the
 * peer's domid is known and the link runs; nothing otherwise (provision.h).
 */
static void provision_update(struct link *l)
{
	bool publish = l->cfg.provision && l->peer_known && l->state != LINK_STOPPED &&
		       l->peer_domid != l->env->own_domid;

	provision_sync(&l->prov, l->env->xs, &l->cfg, l->env->own_domid,
		       publish ? &l->peer_domid : NULL);
}

/* Also when the state stays: the key may have gone with the channel's directory. */
void link_set_state(struct link *l, enum link_state state)
{
	if (l->state != state) {
		log_link(LOG_DEBUG, l->cfg.name, "%s -> %s", link_state_name(l->state),
			 link_state_name(state));
		l->state = state;
		l->since = time(NULL);
		l->since_ms = now_ms();
		l->deadline_ms = 0;
		l->transitions++;
	}
	state_publish(l);
	provision_update(l);
}

void link_set_error(struct link *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->last_error, sizeof(l->last_error), fmt, ap);
	va_end(ap);
	l->last_error_at = time(NULL);
}

/* --- the device ---------------------------------------------------------- */

void link_epoll_set(struct link *l, int op, int fd, uint32_t events, struct ev_source *src)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	if (epoll_ctl(l->env->epfd, op, fd, &ev) < 0 && op != EPOLL_CTL_DEL)
		log_link(LOG_ERR, l->cfg.name, "epoll_ctl on fd %d: %s", fd, strerror(errno));
}

static void on_tun(struct ev_source *src, uint32_t events);

static int device_up(struct link *l, struct error *err)
{
	int rc = device_open(&l->dev, &l->cfg, l->env->nl, err);

	if (rc)
		return rc;
	l->tun_src.handle = on_tun;
	/* errors and hang-ups always; input once packets may flow (datapath_run) */
	link_epoll_set(l, EPOLL_CTL_ADD, l->dev.tun.fd, 0, &l->tun_src);
	datapath_set_device(&l->dp, l->env->epfd, l->dev.tun.fd, &l->tun_src, l->dev.tun.name,
			    l->dev.tun.vnet_hdr, &l->filter);
	return 0;
}

static void device_down(struct link *l)
{
	if (!l->dev.open)
		return;
	link_epoll_set(l, EPOLL_CTL_DEL, l->dev.tun.fd, 0, NULL);
	device_close(&l->dev);
	datapath_set_device(&l->dp, l->env->epfd, -1, NULL, l->cfg.ifname, false, &l->filter);
}

/* --- failing ------------------------------------------------------------- */

static unsigned int next_delay(unsigned int cur, unsigned int min, unsigned int max)
{
	if (!cur)
		return min;
	return cur >= max / 2 ? max : cur * 2;
}

/* Setting up failed: say why (once per distinct reason) and try again later. */
void link_fail_retry(struct link *l, const char *fmt, ...)
{
	char why[LINK_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	l->fail_ms = next_delay(l->fail_ms, FAIL_RETRY_MIN_MS, FAIL_RETRY_MAX_MS);
	l->lasting = false;
	log_link(strcmp(why, l->last_error) ? LOG_ERR : LOG_DEBUG, l->cfg.name,
		 "%s (retrying in %u s)", why, (l->fail_ms + 999) / 1000);
	link_set_error(l, "%s", why);
	link_set_state(l, LINK_FAILED);
	l->deadline_ms = now_ms() + l->fail_ms;
}

/*
 * Setting up failed for a reason that trying again cannot mend: say why,
 * once, and hold nothing (device, channel, watch, state key, timer) until
 * a reload tries again (link_retry).
 */
static void __attribute__((format(printf, 2, 3))) fail_lasting(struct link *l, const char *fmt, ...)
{
	char why[LINK_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_link(LOG_ERR, l->cfg.name, "%s (not retried before a reload)", why);
	link_set_error(l, "%s", why);
	channel_close(l);
	channel_unwatch(l);
	device_down(l);
	l->peer_known = false;
	l->fail_ms = 0;
	l->lasting = true;
	link_set_state(l, LINK_FAILED);
	l->deadline_ms = 0;
}

/* A link to this domain itself could only talk to itself: true (FAILED) for one. */
static bool peer_is_self(struct link *l, unsigned int domid)
{
	if (domid != l->env->own_domid)
		return false;
	fail_lasting(l, "a link's Peer cannot be this domain itself (domain %u)", domid);
	return true;
}

/* --- the peer ------------------------------------------------------------ */

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
			link_set_error(l, "%s", list_err);
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
	link_set_state(l, LINK_WAITING_PEER);
	return false;
}

static void peer_find_and_connect(struct link *l, const struct xstore_domain *doms, size_t n,
				  const char *list_err)
{
	const struct link_config *cfg = &l->cfg;
	char default_path[CONFIG_XS_PATH_MAX + 1];
	unsigned int server, client;
	struct error err;

	/* what the configuration and our domain id tell before any device is made */
	if (cfg->peer_is_name && l->env->own_domid != 0) {
		fail_lasting(l, "Peer = %s: a guest must name its peer by domain id (only dom0 "
			     "may look domains up by name)", cfg->peer);
		return;
	}
	if (!cfg->peer_is_name && peer_is_self(l, cfg->peer_domid))
		return;
	/* the device first: it is what makes this daemon the link's one owner */
	if (!l->dev.open && device_up(l, &err)) {
		if (err.lasting)
			fail_lasting(l, "%s", err.msg);
		else
			link_fail_retry(l, "%s", err.msg);
		return;
	}
	if (!peer_find(l, doms, n, list_err) || peer_is_self(l, l->peer_domid))
		return;
	/* for status only; a guest may not read it */
	if (!cfg->peer_is_name)
		xstore_domain_name(l->env->xs, l->peer_domid, l->peer_name);
	server = link_is_server(l) ? l->env->own_domid : l->peer_domid;
	client = link_is_server(l) ? l->peer_domid : l->env->own_domid;
	if (!cfg->xs_path[0] &&
	    config_default_xs_path(cfg, server, client, default_path, sizeof(default_path))) {
		fail_lasting(l, "the default XenStore path for domains %u and %u is too long",
			     server, client);
		return;
	}
	if (str_set(&l->xs_path, cfg->xs_path[0] ? cfg->xs_path : default_path)) {
		link_fail_retry(l, "out of memory");
		return;
	}
	if (link_is_server(l))
		channel_offer(l);
	else
		channel_watch(l);
}

/* Looks the peer up on its own (no list from the daemon at hand) and connects. */
static void connect_peer(struct link *l)
{
	struct xstore_domain *doms = NULL;
	struct error err = { .msg = "" };
	size_t n = 0;

	if (l->cfg.peer_is_name && xstore_list_domains(l->env->xs, &doms, &n, &err))
		doms = NULL;
	peer_find_and_connect(l, doms, n, err.msg);
	free(doms);
}

/* --- going down ---------------------------------------------------------- */

/* Carrier off and the channel's accounting; the channel itself is the caller's. */
static void lose_channel(struct link *l, bool error, const char *why)
{
	bool was_running = l->state == LINK_RUNNING;

	if (link_channel_up(l))
		l->reconnects++;
	if (was_running && now_ms() - l->since_ms >= STABLE_MS)
		l->backoff_ms = 0;
	if (error)
		l->backoff_ms = next_delay(l->backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
	device_carrier(&l->dev, false, l->cfg.name);
	/* the same error again and again (a mode mismatch) is said once; status counts */
	log_link(!error ? link_news(l) : strcmp(why, l->last_error) ? LOG_WARNING : LOG_DEBUG,
		 l->cfg.name, "%s%s", was_running ? "carrier off: " : "", why);
	link_set_error(l, "%s", why);
}

/* A pause before the next channel, and the peer told why in the log once in a while. */
static void enter_backoff(struct link *l, unsigned int ms)
{
	channel_close(l);
	link_set_state(l, LINK_BACKOFF);
	l->deadline_ms = now_ms() + ms;
}

/* A clean end that comes too soon after others: the next channel waits. */
static unsigned int damp(struct link *l)
{
	unsigned int hold = flap_down(&l->flap, now_ms()), count;

	if (flap_report(&l->flap, now_ms(), &count))
		log_link(LOG_NOTICE, l->cfg.name, "the peer connects and leaves too fast: %u "
			 "connection%s ended since the last report; each next one waits until it "
			 "calms down (flap damping)", count, count == 1 ? "" : "s");
	return hold;
}

/*
 * The channel is over (peer closed, died, or broke the protocol): carrier
 * off, one line in the log, and a fresh channel: at once after a clean end,
 * unless the peer flaps (pace.h); after a growing pause after errors.
 */
void link_down(struct link *l, bool error, const char *fmt, ...)
{
	struct vchan_error e = { .msg = "" };
	char why[LINK_ERR_LEN];
	unsigned int hold;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (error)
		channel_send_close(l, why);
	lose_channel(l, error, why);
	if (error) {
		enter_backoff(l, l->backoff_ms);
		return;
	}
	hold = damp(l);
	if (hold) {
		enter_backoff(l, hold);
		return;
	}
	if (!link_is_server(l)) {
		/* our watch tells when the server offers again */
		channel_close(l);
		link_set_state(l, LINK_CONNECTING);
		return;
	}
	if (l->v && !vchan_server_reoffer(l->v, &e)) {
		l->busy = false;
		datapath_start(&l->dp, l->v);
		link_set_state(l, LINK_OFFERING);
		return;
	}
	channel_close(l);
	link_fail_retry(l, "cannot offer the channel again to domain %u at %s: %s", l->peer_domid,
		   str_or_empty(l->xs_path), e.msg[0] ? e.msg : "no channel");
}

/* The peer's domain is gone: carrier off until it (or, by name, its successor) is back. */
static void peer_gone(struct link *l)
{
	char why[LINK_ERR_LEN];

	if (l->cfg.peer_is_name)
		snprintf(why, sizeof(why), "domain %u (%s) is gone; waiting for a domain of that "
			 "name", l->peer_domid, l->cfg.peer);
	else
		snprintf(why, sizeof(why), "domain %u is gone; waiting for it to come back",
			 l->peer_domid);
	lose_channel(l, false, why);
	channel_close(l);
	channel_unwatch(l);
	l->peer_known = false;
	link_set_state(l, LINK_WAITING_PEER);
}

/* The device vanished under us (someone deleted it): make it again, later. */
static void device_lost(struct link *l, const char *why)
{
	char msg[LINK_ERR_LEN];

	snprintf(msg, sizeof(msg), "device %s failed (%s): recreating it", l->dev.tun.name, why);
	l->dev.carrier = false; /* nothing to switch off on a dead fd */
	if (l->v) {
		lose_channel(l, true, msg);
		channel_send_close(l, msg);
	}
	channel_close(l);
	channel_unwatch(l);
	device_down(l);
	link_fail_retry(l, "%s", msg);
}

/* --- service ------------------------------------------------------------- */

/* The data path moves what it can; what stops it is the state machine's to act on. */
void link_service(struct link *l)
{
	l->busy = false;
	if (l->dead || !l->v)
		return;
	if (l->state == LINK_OFFERING && !channel_offer_taken(l))
		return;
	while (link_channel_up(l)) {
		switch (datapath_pump(&l->dp)) {
		case DP_IDLE:
			return;
		case DP_BUSY:
			l->busy = true;
			return;
		case DP_CONTROL:
			if (channel_control(l))
				return;
			continue;
		case DP_PEER_CLOSED:
			link_down(l, false, "the peer closed the channel");
			return;
		case DP_BROKEN:
			link_down(l, true, "%s", l->dp.why);
			return;
		case DP_DEVICE_LOST:
			device_lost(l, l->dp.why);
			return;
		}
	}
}

bool link_busy(const struct link *l)
{
	return l->busy && !l->dead;
}

/* --- events -------------------------------------------------------------- */

static void on_tun(struct ev_source *src, uint32_t events)
{
	struct link *l = container_of(src, struct link, tun_src);

	if (l->dead)
		return;
	if (events & (EPOLLERR | EPOLLHUP)) {
		device_lost(l, "the kernel reports an error on its fd");
		return;
	}
	l->dp.tun_readable = true;
	link_service(l);
}

/*
 * After the work an event asked for: did it bring anything (a frame, room
 * freed, a change of state)? Then its port is unmasked at once; so too
 * after the first SPURIOUS_FREE that did not, and then later and later.
 */
static void event_done(struct link *l)
{
	uint64_t progress = l->dp.progress + l->transitions;
	unsigned int delay;

	if (!l->v)
		return;
	if (progress != l->event_progress) {
		l->event_progress = progress;
		l->spurious = 0;
	} else if (l->spurious < 32) {
		l->spurious++;
	}
	if (l->spurious <= SPURIOUS_FREE) {
		vchan_unmask(l->v);
		return;
	}
	delay = 1u << (l->spurious - SPURIOUS_FREE - 1);
	if (delay > SPURIOUS_MAX_MS)
		delay = SPURIOUS_MAX_MS;
	if (l->spurious == SPURIOUS_FREE + 1)
		log_link(LOG_DEBUG, l->cfg.name, "the peer sends events for nothing: hearing them "
			 "later and later, up to every %d ms", SPURIOUS_MAX_MS);
	l->unmask_ms = now_ms() + delay;
}

void link_on_vchan(struct ev_source *src, uint32_t events)
{
	struct link *l = container_of(src, struct link, vchan_src);

	if (l->dead || !l->v)
		return;
	/* a failure marks the channel broken, which the service reports */
	vchan_take_event(l->v);
	link_service(l);
	event_done(l);
}

/* What the watch on the server's path is for. */
static void watch_work(struct link *l)
{
	char key[CONFIG_XS_PATH_MAX + 16];

	if (l->state == LINK_CONNECTING) {
		channel_try(l);
		return;
	}
	if (!link_channel_up(l))
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

/* At the link's pace: a watch that fires too fast is dropped for a while. */
static void watch_paced(struct link *l, int64_t now)
{
	bool mute;

	if (watch_pace_take(&l->watch_pace, now, &mute)) {
		watch_work(l);
		return;
	}
	if (!mute)
		return;
	log_link(LOG_DEBUG, l->cfg.name, "the keys at %s change too fast: not watching them for "
		 "%u ms", l->watch_path, l->watch_pace.mute_ms);
	xstore_unwatch(l->env->xs, l->watch_path, l->token);
}

void link_on_watch(struct link *l)
{
	if (l->dead || link_is_server(l) || !l->watching)
		return;
	watch_paced(l, now_ms());
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
	provision_forget(&l->prov);
	provision_update(l);
	if (l->state == LINK_FAILED && !l->lasting)
		l->deadline_ms = now_ms();
}

int64_t link_deadline(const struct link *l)
{
	int64_t first = l->deadline_ms, t;

	if (l->dead)
		return 0;
	t = l->watching ? watch_pace_deadline(&l->watch_pace) : 0;
	if (t && (!first || t < first))
		first = t;
	if (l->unmask_ms && (!first || l->unmask_ms < first))
		first = l->unmask_ms;
	return first;
}

void link_on_deadline(struct link *l, int64_t now)
{
	if (l->dead)
		return;
	if (l->unmask_ms && l->unmask_ms <= now) {
		l->unmask_ms = 0;
		/* whatever it sent meanwhile, once */
		if (l->v && !vchan_unmask(l->v))
			link_service(l);
	}
	if (l->watching && watch_pace_unmute(&l->watch_pace, now)) {
		struct error err;

		/* it fires once at once, and says what we missed; failing, try later */
		if (xstore_watch(l->env->xs, l->watch_path, l->token, &err)) {
			log_link(LOG_WARNING, l->cfg.name, "%s", err.msg);
			l->watch_pace.muted = true;
			l->watch_pace.unmute_ms = now + PACE_MUTE_MAX_MS;
		}
	} else if (l->watching && l->watch_pace.fired && watch_pace_deadline(&l->watch_pace) <= now) {
		watch_paced(l, now);
	}
	if (!l->deadline_ms || l->deadline_ms > now)
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

/* --- following the kernel ------------------------------------------------ */

int link_ifindex(const struct link *l)
{
	return l->dead || !l->dev.open ? 0 : l->dev.tun.ifindex;
}

static void kernel_news(struct link *l, int rc)
{
	if (rc == -ENODEV)
		device_lost(l, "deleted (ip link del?)");
}

void link_on_kernel(struct link *l, const struct netlink_event *ev)
{
	if (l->dead)
		return;
	kernel_news(l, device_follow(&l->dev, &l->cfg, l->env->nl, ev));
}

void link_on_kernel_resync(struct link *l)
{
	if (l->dead)
		return;
	kernel_news(l, device_resync(&l->dev, &l->cfg, l->env->nl));
}

void link_on_reload(struct link *l)
{
	if (l->dead)
		return;
	device_restore(&l->dev, &l->cfg, l->env->nl);
}

/* --- life cycle ---------------------------------------------------------- */

struct link *link_new(const struct link_config *cfg, struct link_env *env)
{
	struct link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->cfg = *cfg;
	l->env = env;
	l->dev.tun.fd = -1;
	snprintf(l->token, sizeof(l->token), "link:%s", cfg->name);
	l->state = LINK_STOPPED;
	l->since = time(NULL);
	l->since_ms = now_ms();
	watch_pace_init(&l->watch_pace, LINK_WATCH_BURST, LINK_WATCH_INTERVAL_MS);
	filter_init(&l->filter, &l->cfg);
	l->dp.name = l->cfg.name;
	datapath_set_device(&l->dp, env->epfd, -1, NULL, l->cfg.ifname, false, &l->filter);
	if (filter_empty(&l->filter))
		log_link(LOG_WARNING, cfg->name, "the peer may send from no address (no PeerAddress, "
			 "Routes or AllowedSources): every packet from it is dropped");
	return l;
}

void link_start(struct link *l)
{
	connect_peer(l);
}

bool link_needs_reload(const struct link *l)
{
	return !l->dead && l->lasting;
}

void link_retry(struct link *l)
{
	if (!link_needs_reload(l))
		return;
	l->lasting = false;
	connect_peer(l);
}

void link_stop(struct link *l, const char *why)
{
	if (l->dead)
		return;
	channel_send_close(l, why);
	device_carrier(&l->dev, false, l->cfg.name);
	channel_close(l);
	channel_unwatch(l);
	device_down(l);
	link_set_state(l, LINK_STOPPED);
	l->dead = true;
	log_link(LOG_INFO, l->cfg.name, "stopped: %s%s", why,
		 l->cfg.persistent ? " (device kept: persistent)" : "");
}

int link_reconfigure(struct link *l, const struct link_config *cfg, struct error *err)
{
	bool mtu_changed = cfg->mtu != l->cfg.mtu;
	char why[LINK_ERR_LEN];
	int rc;

	rc = device_reconfigure(&l->dev, &l->cfg, cfg, l->env->nl, err);
	if (rc)
		return rc;
	l->cfg = *cfg;
	filter_init(&l->filter, &l->cfg);
	provision_update(l);
	log_link(LOG_INFO, l->cfg.name, "configuration changed: applied in place (device %s, "
		 "mtu %u, %zu address%s)", l->cfg.ifname, l->cfg.mtu, l->cfg.n_addrs,
		 l->cfg.n_addrs == 1 ? "" : "es");
	/* the peer agreed on the old MTU: a new handshake, on a new channel, agrees again */
	if (mtu_changed && link_channel_up(l)) {
		snprintf(why, sizeof(why), "MTU changed to %u: a new channel to agree on it",
			 l->cfg.mtu);
		channel_send_close(l, why);
		link_down(l, false, "%s", why);
	}
	return 0;
}

void link_free(struct link *l)
{
	provision_forget(&l->prov);
	free(l->xs_path);
	free(l->watch_path);
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

size_t link_journal_fields(const struct link *l, char *buf, size_t len)
{
	const unsigned int *peer = NULL;

	if (l->peer_known)
		peer = &l->peer_domid;
	else if (!l->cfg.peer_is_name)
		peer = &l->cfg.peer_domid;
	/* the device's name now: the administrator may have renamed it */
	return log_fields_text(buf, len, l->dev.open ? l->dev.tun.name : l->cfg.ifname, peer);
}

/* The peer runs what we published: its daemon's state key for the link is there. */
static bool provision_taken(const struct link *l)
{
	char path[XSTORE_STATE_PATH_MAX];

	return !xstore_state_path(&l->cfg, l->peer_domid, l->env->own_domid, path, sizeof(path)) &&
	       xstore_path_exists(l->env->xs, path) == 1;
}

void link_status(const struct link *l, struct link_status *st)
{
	*st = (struct link_status){
		.cfg = &l->cfg,
		.state = link_state_name(l->state),
		.since = l->since,
		.since_s = (now_ms() - l->since_ms) / 1000,
		.peer_known = l->peer_known,
		.peer_domid = l->peer_domid,
		.peer_name = l->cfg.peer_is_name ? l->cfg.peer : l->peer_known ? l->peer_name : "",
		.xs_path = str_or_empty(l->xs_path),
		.agreed = l->state == LINK_RUNNING,
		.lim = l->dp.lim,
		.st = l->dp.st,
		.no_room = device_tx_dropped(&l->dev),
		.connects = l->connects,
		.reconnects = l->reconnects,
		.last_error = l->last_error,
		.last_error_at = l->last_error_at,
		.reason = l->state == LINK_FAILED ? l->last_error : NULL,
		.until_reload = l->lasting,
		.dev_name = l->dev.open ? l->dev.tun.name : l->cfg.ifname,
		.dev_ifindex = l->dev.open ? l->dev.tun.ifindex : 0,
		.dev_mtu = l->dev.open ? l->dev.mtu : l->cfg.mtu,
		.dev_admin_up = l->dev.open && l->dev.admin_up,
	};
	st->provision_path = l->prov.path;
	st->provision_taken = l->prov.path[0] && provision_taken(l);
	if (l->v) {
		st->ring_read = vchan_ring_read_size(vchan_ring(l->v));
		st->ring_write = vchan_ring_write_size(vchan_ring(l->v));
	} else if (link_is_server(l)) {
		st->ring_read = l->cfg.read_ring;
		st->ring_write = l->cfg.write_ring;
	}
}
