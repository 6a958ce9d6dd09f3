/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One link as vchan-tun-watch sees it: who its peer is, its own daemon's and
 * the peer daemon's state keys in XenStore (docs/protocol.md, "XenStore
 * keys"), whether the link is up, and the hooks its transitions run. The
 * watcher (watch.c) owns the set of links and tells each what happened: the
 * domains changed (wlink_peers_changed), one of its keys fired
 * (wlink_own_key, wlink_peer_key), its deadline came (wlink_on_time), a
 * reload changed it (wlink_change) or removed it (wlink_retire).
 *
 * A link is up when both keys say "connected" and the peer's domain exists:
 * a Watched link's device is then set administratively up, and the hook
 * runs `up`; when either says otherwise or the domain is gone, down and
 * `down`. At the first look, the device of a link found at start that is
 * already as it should be was made so by an earlier watcher, whose hooks
 * ran: nothing runs. A link that comes later (a reload, provisioning) had
 * no hook from anyone, and runs its `up` even if its device is up already.
 *
 * The peer's key is in the peer's part of XenStore, which the peer may
 * rewrite as often as it likes. What that costs is bounded: it is read at
 * most 8 times at once and then once per 100 ms, however often it fires,
 * and when it fires faster its watch is dropped for a while (pace.h); and a
 * link that goes down soon after each up is held down (flap damping), so
 * that its hooks do not run in a storm.
 */
#ifndef VCHAN_TUN_WATCH_LINK_H
#define VCHAN_TUN_WATCH_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "hook.h"
#include "pace.h"
#include "xs.h"

/* XenStore watch tokens of a link's keys: the prefix, then the link's name */
#define WLINK_TOKEN_OWN		"own:"
#define WLINK_TOKEN_PEER	"peer:"
#define WLINK_TOKEN_MAX		(CONFIG_NAME_MAX + 8)
/* in hooks_dir: the hook of a link whose configuration names none */
#define WLINK_DEFAULT_HOOK	"vchan-tun-hook"

struct loop;
struct netlink;
struct wlink;

/* What the links of one watcher share: the watcher's, for as long as they live. */
struct wlink_env {
	struct loop *loop;		/* XenStore, our domain id, the epoll set of the hooks */
	struct netlink *nl;		/* admin up and down */
	const char *hooks_dir;		/* where WLINK_DEFAULT_HOOK is */
	unsigned int hook_timeout;	/* seconds */
	/* a retired link's last hook ended: the watcher may free it now */
	void (*retired_idle)(struct wlink *l);
};

struct wlink {
	struct link_config cfg;
	const struct wlink_env *env;
	bool found_at_start;		/* of the watcher's start: may have had its hooks before */
	bool retired;			/* gone from the configuration: freed once idle */

	/* the peer; once gone, its id and name stay for the hook of the link's down */
	bool peer_known;
	bool peer_seen;			/* peer_domid and peer_name are of a peer */
	unsigned int peer_domid;
	bool peer_exists;
	char peer_name[CONFIG_NAME_MAX + 1];	/* "" if unknown */
	char lookup_error[ERROR_MSG_MAX];	/* said once */

	/* the two state keys, watched while the peer is known */
	bool watching;
	char own_path[XSTORE_STATE_PATH_MAX], peer_path[XSTORE_STATE_PATH_MAX];
	char own_token[WLINK_TOKEN_MAX], peer_token[WLINK_TOKEN_MAX];
	char own_state[XSTORE_STATE_MAX], peer_state[XSTORE_STATE_MAX];	/* "" if none */
	struct watch_pace peer_pace;	/* the peer's key: its writer may be hostile */

	/* flapping: an up waits until hold_until (0: none) */
	struct flap flap;
	int64_t hold_until;
	bool hold_said;

	/* what we made of it */
	bool decided;			/* up is known: we looked at least once */
	bool up;
	int up_ifindex;			/* the device we set up (0: none) */

	struct hook_queue hooks;
	bool no_default_said;
};

/*
 * A link of cfg, looking at nothing until wlink_peers_changed; NULL (logged)
 * without memory. found_at_start: one of the links the watcher starts with,
 * which an earlier watcher may have set up and run the hooks of; a link
 * that comes later (a reload, provisioning) is new to every watcher.
 */
struct wlink *wlink_new(const struct wlink_env *env, const struct link_config *cfg,
			bool found_at_start);

/* Frees a link (a void * for loop_defer_free): its queued hooks are dropped. */
void wlink_free(void *l);

/*
 * New settings: its hooks under the old ones ran for its last transition,
 * so one that is up goes down under the old settings and, if it still
 * should, up under the new ones at the next wlink_peers_changed; its device
 * is left as it is.
 */
void wlink_change(struct wlink *l, const struct link_config *cfg);

/*
 * Gone from the configuration: not watched any more, queued hooks dropped.
 * True while its running hook may finish (env->retired_idle says when it
 * has); false when it may be freed.
 */
bool wlink_retire(struct wlink *l);

/*
 * The domains changed (doms: all of them, or NULL with list_err): who the
 * peer is now, and whether the link is up.
 */
void wlink_peers_changed(struct wlink *l, const struct xstore_domain *doms, size_t n,
			 const char *list_err);

/* Its own daemon's key fired: read at once, as our own daemon wrote it. */
void wlink_own_key(struct wlink *l);

/* The peer's key fired: read at the pace the peer is allowed. */
void wlink_peer_key(struct wlink *l, int64_t now);

/* When the link has something to do next (0: nothing), and doing it once it is due. */
int64_t wlink_deadline(const struct wlink *l);
void wlink_on_time(struct wlink *l, int64_t now);

#endif
