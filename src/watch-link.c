// SPDX-License-Identifier: GPL-2.0-only
/*
 * One link as vchan-tun-watch sees it (watch-link.h): its peer, its two
 * state keys, up or down, and its hooks.
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "util.h"
#include "watch-link.h"

#define PEER_KEY_BURST		8
#define PEER_KEY_INTERVAL_MS	100

/* --- hooks --------------------------------------------------------------------------- */

/* The hook to run, or NULL for none. */
static const char *hook_path(struct wlink *l, char *buf, size_t len)
{
	if (l->cfg.no_hook)
		return NULL;
	if (l->cfg.hook[0])
		return l->cfg.hook;
	snprintf(buf, len, "%s/%s", l->env->hooks_dir, WLINK_DEFAULT_HOOK);
	if (!access(buf, X_OK))
		return buf;
	if (!l->no_default_said)
		log_link(LOG_DEBUG, l->cfg.name, "no hook: %s: %s", buf, strerror(errno));
	l->no_default_said = true;
	return NULL;
}

/* The transition's hook, behind the one running; whether a hook will run. */
static bool queue_hook(struct wlink *l, bool up)
{
	char buf[CONFIG_SOURCE_MAX + 32];
	const char *path = hook_path(l, buf, sizeof(buf));
	struct hook_link hl = {
		.cfg = &l->cfg,
		.peer_seen = l->peer_seen,
		.peer_domid = l->peer_domid,
		.peer_name = l->peer_name,
	};

	return path && hook_queue_push(&l->hooks, path, up, &hl);
}

/* A retired link's last hook ended: now the watcher may free it. */
static void hooks_idle(struct hook_queue *q)
{
	struct wlink *l = container_of(q, struct wlink, hooks);

	if (l->retired)
		l->env->retired_idle(l);
}

/* --- the peer and the keys ---------------------------------------------------------------- */

/* "domain 7 guest1", "domain 7", "domain guest1": for the log. */
static const char *peer_text(const struct wlink *l, char *buf, size_t len)
{
	if (l->peer_seen && l->peer_name[0])
		snprintf(buf, len, "domain %u %s", l->peer_domid, l->peer_name);
	else if (l->peer_seen)
		snprintf(buf, len, "domain %u", l->peer_domid);
	else
		snprintf(buf, len, "domain %s", l->cfg.peer);
	return buf;
}

static void unwatch_keys(struct wlink *l)
{
	if (!l->watching)
		return;
	xstore_unwatch(l->env->loop->xs, l->own_path, l->own_token);
	xstore_unwatch(l->env->loop->xs, l->peer_path, l->peer_token);
	l->watching = false;
	l->own_state[0] = l->peer_state[0] = '\0';
	watch_pace_init(&l->peer_pace, PEER_KEY_BURST, PEER_KEY_INTERVAL_MS);
}

/* A state key's value, "" when there is none (or it is not ours to read). */
static void read_state(struct wlink *l, const char *path, char *state)
{
	int rc = xstore_read(l->env->loop->xs, path, state, XSTORE_STATE_MAX);

	if (rc < 0)
		log_link(LOG_DEBUG, l->cfg.name, "cannot read %s: %s", path, strerror(errno));
	if (rc <= 0)
		state[0] = '\0';
}

/* Both keys of the peer we know now, read and watched (their first events change nothing). */
static void watch_keys(struct wlink *l)
{
	struct error err;

	if (xstore_state_path(&l->cfg, l->env->loop->own_domid, l->peer_domid, l->own_path,
			      sizeof(l->own_path)) ||
	    xstore_state_path(&l->cfg, l->peer_domid, l->env->loop->own_domid, l->peer_path,
			      sizeof(l->peer_path))) {
		log_link(LOG_ERR, l->cfg.name, "state key paths too long");
		return;
	}
	read_state(l, l->own_path, l->own_state);
	read_state(l, l->peer_path, l->peer_state);
	if (xstore_watch(l->env->loop->xs, l->own_path, l->own_token, &err) ||
	    xstore_watch(l->env->loop->xs, l->peer_path, l->peer_token, &err)) {
		log_link(LOG_ERR, l->cfg.name, "%s", err.msg);
		xstore_unwatch(l->env->loop->xs, l->own_path, l->own_token);
		return;
	}
	l->watching = true;
}

/* The domain's name, for the hooks; "" where we may not read it (a guest). */
static void read_peer_name(struct wlink *l)
{
	if (l->cfg.peer_is_name) {
		snprintf(l->peer_name, sizeof(l->peer_name), "%s", l->cfg.peer);
		return;
	}
	/* a name no link could give is none: it goes to hooks and the log */
	if (xstore_domain_name(l->env->loop->xs, l->peer_domid, l->peer_name) < 0)
		log_link(LOG_WARNING, l->cfg.name, "domain %u's name in XenStore is not a domain "
			 "name: the hooks get none", l->peer_domid);
}

/*
 * Who the peer is now: its id, or the domain its name belongs to (doms, as
 * listed once for every link; NULL with list_err if that failed). When that
 * changes, the keys to watch change with it.
 */
static void find_peer(struct wlink *l, const struct xstore_domain *doms, size_t n,
		      const char *list_err)
{
	bool known = !l->cfg.peer_is_name;
	unsigned int domid = l->cfg.peer_domid;

	if (l->cfg.peer_is_name && !doms && strcmp(list_err, l->lookup_error)) {
		log_link(LOG_ERR, l->cfg.name, "cannot look up domain '%s': %s", l->cfg.peer,
			 list_err);
		snprintf(l->lookup_error, sizeof(l->lookup_error), "%s", list_err);
	}
	for (size_t i = 0; l->cfg.peer_is_name && doms && i < n; i++) {
		if (strcmp(doms[i].name, l->cfg.peer))
			continue;
		known = true;
		domid = doms[i].domid;
		l->lookup_error[0] = '\0';
	}
	if (known == l->peer_known && (!known || domid == l->peer_domid))
		return;
	unwatch_keys(l);
	l->peer_known = known;
	if (!known)
		return;
	l->peer_seen = true;
	l->peer_domid = domid;
	read_peer_name(l);
	watch_keys(l);
}

/* Only dom0 can tell that a domain is gone; anyone else assumes it is there. */
static void check_peer_exists(struct wlink *l)
{
	l->peer_exists = l->peer_known && xstore_domain_exists(l->env->loop->xs, l->peer_domid) != 0;
}

/* --- up and down ------------------------------------------------------------------------ */

static bool connected(const char *state)
{
	return !strcmp(state, XSTORE_STATE_CONNECTED);
}

/*
 * Admin state (Watched) and the hook: one transition, said in one line. An
 * up that comes too soon after a flapping link's last down is held back
 * (false) until l->hold_until, said once.
 */
static bool transition(struct wlink *l, bool up, int ifindex, const char *why)
{
	char peer[CONFIG_NAME_MAX + 32];
	struct error err;
	int64_t now = now_ms();
	unsigned int hold, count;
	bool hook;
	int rc;

	if (up && l->hold_until > now) {
		if (!l->hold_said)
			log_link(LOG_DEBUG, l->cfg.name, "%s (%s), but the link flaps: up in %" PRId64
				 " ms", why, peer_text(l, peer, sizeof(peer)), l->hold_until - now);
		l->hold_said = true;
		return false;
	}
	if (!up && l->up) {
		hold = flap_down(&l->flap, now);
		l->hold_until = hold ? now + hold : 0;
		l->hold_said = false;
	}
	l->up = up;
	l->up_ifindex = up ? ifindex : 0;
	if (l->cfg.watched) {
		rc = netlink_set_up(l->env->nl, l->cfg.ifname, up, &err);
		/* a device its daemon took away is down enough */
		if (rc && !(rc == -ENODEV && !up))
			log_link(LOG_ERR, l->cfg.name, "%s", err.msg);
	}
	hook = queue_hook(l, up);
	/* a flapping link says so once in a while, not at each change */
	log_link(flap_quiet(&l->flap, now) ? LOG_DEBUG : LOG_NOTICE, l->cfg.name, "%s (%s): %s, %s",
		 why, peer_text(l, peer, sizeof(peer)), up ? "up" : "down",
		 hook ? (up ? "hook up" : "hook down") : "no hook");
	if (flap_report(&l->flap, now, &count))
		log_link(LOG_NOTICE, l->cfg.name, "the link flaps: it went down %u time%s since the "
			 "last report; each up waits until it calms down (flap damping)", count,
			 count == 1 ? "" : "s");
	return true;
}

/* Why the link is as it is, when no single event says it: "peer daemon gone" (the peer first). */
static const char *state_reason(const struct wlink *l, char *buf, size_t len)
{
	if (!l->peer_known)
		snprintf(buf, len, "domain '%s' not found", l->cfg.peer);
	else if (!l->peer_exists)
		snprintf(buf, len, "the peer's domain is gone");
	else if (!connected(l->peer_state))
		snprintf(buf, len, "peer daemon %s", l->peer_state[0] ? l->peer_state : "gone");
	else if (!connected(l->own_state))
		snprintf(buf, len, "our daemon %s", l->own_state[0] ? l->own_state : "gone");
	else
		snprintf(buf, len, "both daemons connected");
	return buf;
}

/*
 * Up iff both daemons say connected and the peer's domain exists. At the
 * first look (once our daemon has said something), a device of a link found
 * at start that is already as it should be was made so by an earlier
 * watcher, whose hooks ran: nothing to do. A link that came later (a reload,
 * provisioning) had no hook from anyone: up, it runs its up. A device that
 * is new under an up link (its daemon made it again) takes a down and an up.
 * why: what just changed; NULL to say it from the state.
 */
static void evaluate(struct wlink *l, const char *why)
{
	bool want = l->peer_known && l->peer_exists && connected(l->own_state) &&
		    connected(l->peer_state);
	char reason[CONFIG_NAME_MAX + 48];
	struct error err;
	struct netlink_link st;
	bool exists = !netlink_link_get(l->env->nl, l->cfg.ifname, &st, &err);
	int ifindex = exists ? st.ifindex : 0;

	if (!l->decided) {
		bool is_up = exists && (st.flags & IFF_UP) && (l->cfg.watched || st.carrier);

		/*
		 * A daemon that has said nothing yet is not running, or still
		 * sets up its device, which it may set up and down meanwhile.
		 */
		if (!l->own_state[0])
			return;

		l->decided = true;
		if (want == is_up && (l->found_at_start || !want)) {
			l->up = want;
			l->up_ifindex = want ? ifindex : 0;
			if (want)
				log_link(LOG_INFO, l->cfg.name, "%s is up already: no hook",
					 l->cfg.ifname);
			return;
		}
		l->up = !want;
	}
	if (!why)
		why = state_reason(l, reason, sizeof(reason));
	if (want != l->up) {
		transition(l, want, ifindex, why);
		return;
	}
	if (!want || !exists || ifindex == l->up_ifindex)
		return;
	transition(l, false, 0, "the device was made again");
	transition(l, true, ifindex, why);
}

/* The peer's key, at the pace of peer_pace: a watch that fires too fast is dropped for a while. */
void wlink_peer_key(struct wlink *l, int64_t now)
{
	char why[64];
	bool mute;

	if (!l->watching)
		return;
	if (watch_pace_take(&l->peer_pace, now, &mute)) {
		read_state(l, l->peer_path, l->peer_state);
		snprintf(why, sizeof(why), "peer daemon %s",
			 l->peer_state[0] ? l->peer_state : "gone");
		evaluate(l, why);
		return;
	}
	if (!mute)
		return;
	log_link(LOG_DEBUG, l->cfg.name, "%s changes too fast: not watching it for %u ms",
		 l->peer_path, l->peer_pace.mute_ms);
	xstore_unwatch(l->env->loop->xs, l->peer_path, l->peer_token);
}

/* When the link has something to do next (0: nothing). */
int64_t wlink_deadline(const struct wlink *l)
{
	int64_t t = l->watching ? watch_pace_deadline(&l->peer_pace) : 0;

	if (l->hold_until && (!t || l->hold_until < t))
		t = l->hold_until;
	return t;
}

void wlink_on_time(struct wlink *l, int64_t now)
{
	struct error err;

	if (l->watching && watch_pace_unmute(&l->peer_pace, now)) {
		/* it fires once at once, and says what we missed */
		if (xstore_watch(l->env->loop->xs, l->peer_path, l->peer_token, &err)) {
			log_link(LOG_WARNING, l->cfg.name, "%s", err.msg);
			l->peer_pace.muted = true;
			l->peer_pace.unmute_ms = now + PACE_MUTE_MAX_MS;
		}
	} else if (l->watching && l->peer_pace.fired &&
		   watch_pace_deadline(&l->peer_pace) <= now) {
		wlink_peer_key(l, now);
	}
	if (l->hold_until && l->hold_until <= now) {
		l->hold_until = 0;
		evaluate(l, NULL);
	}
}

/* --- what the watcher tells a link ------------------------------------------------------ */

/* "our daemon connected", at once: our own daemon wrote it, not the peer. */
void wlink_own_key(struct wlink *l)
{
	char why[64];

	if (!l->watching)
		return;
	read_state(l, l->own_path, l->own_state);
	snprintf(why, sizeof(why), "our daemon %s", l->own_state[0] ? l->own_state : "gone");
	evaluate(l, why);
}

void wlink_peers_changed(struct wlink *l, const struct xstore_domain *doms, size_t n,
			 const char *list_err)
{
	find_peer(l, doms, n, list_err);
	check_peer_exists(l);
	evaluate(l, NULL);
}

/* --- a link's life ----------------------------------------------------------------------- */

struct wlink *wlink_new(const struct wlink_env *env, const struct link_config *cfg,
			bool found_at_start)
{
	struct wlink *l = calloc(1, sizeof(*l));

	if (!l) {
		log_link(LOG_ERR, cfg->name, "out of memory");
		return NULL;
	}
	l->cfg = *cfg;
	l->env = env;
	l->found_at_start = found_at_start;
	snprintf(l->own_token, sizeof(l->own_token), WLINK_TOKEN_OWN "%s", cfg->name);
	snprintf(l->peer_token, sizeof(l->peer_token), WLINK_TOKEN_PEER "%s", cfg->name);
	watch_pace_init(&l->peer_pace, PEER_KEY_BURST, PEER_KEY_INTERVAL_MS);
	hook_queue_init(&l->hooks, env->loop->epfd, cfg->name, env->hook_timeout, hooks_idle);
	return l;
}

bool wlink_retire(struct wlink *l)
{
	size_t dropped;

	unwatch_keys(l);
	dropped = hook_queue_drop(&l->hooks);
	if (dropped)
		log_link(LOG_WARNING, l->cfg.name, "%zu hook%s not run: the link is gone", dropped,
			 dropped == 1 ? "" : "s");
	l->retired = true;
	return hook_queue_busy(&l->hooks);
}

void wlink_free(void *p)
{
	struct wlink *l = p;

	hook_queue_drop(&l->hooks);
	free(l);
}

void wlink_change(struct wlink *l, const struct link_config *cfg)
{
	bool was_up = l->decided && l->up;

	if (was_up)
		queue_hook(l, false);
	unwatch_keys(l);
	l->cfg = *cfg;
	l->peer_known = l->peer_seen = false;
	l->lookup_error[0] = '\0';
	l->no_default_said = false;
	l->decided = was_up;
	l->up = false;
}
