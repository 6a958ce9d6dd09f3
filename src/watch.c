// SPDX-License-Identifier: GPL-2.0-only
/*
 * vchan-tun-watch: brings vchan-tun links up and down as their peers come
 * and go. For each link of the configuration it watches, in XenStore, the
 * state key of its own daemon and that of the peer's daemon
 * (docs/protocol.md, "XenStore keys"), and @introduceDomain and
 * @releaseDomain. A link is up when both keys say "connected" (and the
 * peer's domain exists): the watcher then sets its device administratively
 * up (Watched = yes) and runs the hook `up`; when either says otherwise, or
 * the domain is gone, it sets it down and runs `down`. It sees links only
 * through XenStore and netlink, never through the ring.
 *
 *   vchan-tun-watch [--config-dir DIR] [--provisioned [--provisioned-by DOMID]]
 *                   [--hooks-dir DIR] [--hook-timeout SECONDS] [-v]
 *
 * Its links are those of the files and, with --provisioned, those its
 * provisioner publishes for this domain (provision.h), merged by the
 * daemon's rules: a guest whose daemon is provisioned has its watcher follow
 * the same links, and runs their hooks (routes to its PeerRoutes).
 *
 * One process, one event loop (loop.h): signals, XenStore, and each running
 * hook's pidfd, output pipe and timerfd. Hooks of one link run one after the
 * other, each transition's once; different links do not wait for each other.
 *
 * The peer's state key is in the peer's part of XenStore, which the peer
 * may rewrite as often as it likes. What that costs is bounded: it is read
 * at most PEER_KEY_BURST times at once and then once per
 * PEER_KEY_INTERVAL_MS, however often it fires, and when it fires faster
 * its watch is dropped for a while (pace.h); and a link that goes down soon
 * after each up is held down (flap damping), so that its hooks do not run
 * in a storm.
 *
 * Restarting it must not flap a link: at start, a link that should be up and
 * whose device is up already is taken as up, hooks run (they ran before).
 * SIGTERM ends it without touching any link: links work without it.
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 when it cannot run (XenStore,
 * netlink), 2 on bad options or configuration.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "hook.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "pace.h"
#include "provision.h"
#include "sd-notify.h"
#include "strbuf.h"
#include "util.h"
#include "xs.h"

#define PROG			"vchan-tun-watch"
/* a bad command line or configuration: the message, exit status 2 */
#define config_fail(...)	exit_config_error(PROG, __VA_ARGS__)
#define DEFAULT_HOOKS_DIR	CONFIG_DEFAULT_DIR "/hooks"
#define DEFAULT_HOOK		"vchan-tun-hook"
#define HOOK_TIMEOUT_DEFAULT	10
#define HOOK_TIMEOUT_MAX	3600
#define PEER_KEY_BURST		8
#define PEER_KEY_INTERVAL_MS	100
#define TOKEN_OWN		"own:"
#define TOKEN_PEER		"peer:"
#define TOKEN_MAX		(CONFIG_NAME_MAX + 8)

enum { OPT_CONFIG_DIR = 0x100, OPT_HOOKS_DIR, OPT_HOOK_TIMEOUT, OPT_PROVISIONED,
       OPT_PROVISIONED_BY };

struct opts {
	const char *config_dir;		/* NULL: none (--provisioned without --config-dir) */
	bool provisioned;		/* links from XenStore too */
	unsigned int provisioned_by;	/* whose nodes are trusted there */
	const char *hooks_dir;
	unsigned int hook_timeout;	/* seconds */
	bool verbose;
};

struct watcher;

struct wlink {
	struct link_config cfg;
	struct watcher *w;
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
	char own_token[TOKEN_MAX], peer_token[TOKEN_MAX];
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

struct watcher {
	struct loop loop;
	const struct opts *o;
	struct netlink *nl;

	struct wlink **links;
	size_t n_links;
	/* the files' links as last read; prov has the provisioned ones */
	struct link_config *file_cfgs;
	size_t n_file;
	bool provisioned;		/* following XenStore: prov is open */
	struct provisioned prov;
	struct wlink **retired;		/* gone from the configuration, a hook still running */
	size_t n_retired, cap_retired;
	bool stop;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--config-dir DIR] [--provisioned [--provisioned-by DOMID]]\n"
		"                       [--hooks-dir DIR] [--hook-timeout SECONDS] [-v]\n"
		"\n"
		"Brings vchan-tun links up and down as the daemons at both ends connect and\n"
		"part, and runs a hook for each change.\n"
		"\n"
		"  --config-dir DIR        the links, one per DIR/NAME.conf (default\n"
		"                          " CONFIG_DEFAULT_DIR ", none with --provisioned)\n"
		"  --provisioned           also the links domain 0 publishes for this domain in\n"
		"                          XenStore, as vchan-tund --provisioned runs them\n"
		"  --provisioned-by DOMID  the domain whose links to take instead of domain 0\n"
		"  --hooks-dir DIR         where the default hook, " DEFAULT_HOOK ", is\n"
		"                          (default " DEFAULT_HOOKS_DIR ")\n"
		"  --hook-timeout SECONDS  a hook running longer is killed (default %d, at most %d)\n"
		"  -v, --verbose           debug messages too\n"
		"  -h, --help              this text\n"
		"  --version               the version, and exit\n"
		"\n"
		"SIGHUP re-reads DIR (and the provisioned links); SIGTERM or SIGINT ends the watcher\n"
		"and leaves every link as it is.\n"
		"Exit status: 0 when stopped by a signal, 1 when it cannot run, 2 on bad options or\n"
		"configuration.\n",
		HOOK_TIMEOUT_DEFAULT, HOOK_TIMEOUT_MAX);
}

static unsigned int parse_timeout(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s < '1' || *s > '9' || v > HOOK_TIMEOUT_MAX)
		config_fail("--hook-timeout '%.32s': expected a number of seconds from 1 to %d", s,
			    HOOK_TIMEOUT_MAX);
	return (unsigned int)v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
		{ "config-dir", required_argument, NULL, OPT_CONFIG_DIR },
		{ "hooks-dir", required_argument, NULL, OPT_HOOKS_DIR },
		{ "hook-timeout", required_argument, NULL, OPT_HOOK_TIMEOUT },
		{ "provisioned", no_argument, NULL, OPT_PROVISIONED },
		{ "provisioned-by", required_argument, NULL, OPT_PROVISIONED_BY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool dir_given = false;
	int ch;

	o->hooks_dir = DEFAULT_HOOKS_DIR;
	o->hook_timeout = HOOK_TIMEOUT_DEFAULT;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_CONFIG_DIR:
			o->config_dir = optarg;
			dir_given = true;
			break;
		case OPT_PROVISIONED_BY:
			o->provisioned_by = provisioned_by_option(PROG, optarg);
			/* fall through */
		case OPT_PROVISIONED:
			o->provisioned = true;
			break;
		case OPT_HOOKS_DIR:
			o->hooks_dir = optarg;
			break;
		case OPT_HOOK_TIMEOUT:
			o->hook_timeout = parse_timeout(optarg);
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			print_version_and_exit(PROG);
		case ':':
			config_fail("%s needs a value (try '" PROG " --help')", argv[optind - 1]);
		default:
			if (optopt)
				config_fail("unknown option '-%c' (try '" PROG " --help')", optopt);
			config_fail("unknown option '%s' (try '" PROG " --help')", argv[optind - 1]);
		}
	}
	if (optind < argc)
		config_fail("unexpected argument '%s': the links come from --config-dir",
			    argv[optind]);
	/* a provisioned guest may have no files at all: it reads a directory only if told */
	if (!dir_given && !o->provisioned)
		o->config_dir = CONFIG_DEFAULT_DIR;
}

/* --- hooks --------------------------------------------------------------------------- */

/* The hook to run, or NULL for none. */
static const char *hook_path(struct wlink *l, char *buf, size_t len)
{
	if (l->cfg.no_hook)
		return NULL;
	if (l->cfg.hook[0])
		return l->cfg.hook;
	snprintf(buf, len, "%s/%s", l->w->o->hooks_dir, DEFAULT_HOOK);
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

/* Appends l to a list of links; false (logged) when out of memory. */
static bool list_add(struct wlink ***list, size_t *n, size_t *cap, struct wlink *l)
{
	if (*n == *cap) {
		size_t more = *cap ? *cap * 2 : 8;
		struct wlink **p = realloc(*list, more * sizeof(*p));

		if (!p) {
			log_msg(LOG_ERR, "out of memory");
			return false;
		}
		*list = p;
		*cap = more;
	}
	(*list)[(*n)++] = l;
	return true;
}

static void wlink_free(void *p);

/* Freed after the current round, when no event of this one can point at it any more. */
static void bury(struct watcher *w, struct wlink *l)
{
	loop_defer_free(&w->loop, l, wlink_free);
}

/* A retired link's last hook ended: now it may go. */
static void hooks_idle(struct hook_queue *q)
{
	struct wlink *l = container_of(q, struct wlink, hooks);
	struct watcher *w = l->w;

	if (!l->retired)
		return;
	for (size_t i = 0; i < w->n_retired; i++) {
		if (w->retired[i] != l)
			continue;
		w->retired[i] = w->retired[--w->n_retired];
		bury(w, l);
		return;
	}
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
	xstore_unwatch(l->w->loop.xs, l->own_path, l->own_token);
	xstore_unwatch(l->w->loop.xs, l->peer_path, l->peer_token);
	l->watching = false;
	l->own_state[0] = l->peer_state[0] = '\0';
	watch_pace_init(&l->peer_pace, PEER_KEY_BURST, PEER_KEY_INTERVAL_MS);
}

/* A state key's value, "" when there is none (or it is not ours to read). */
static void read_state(struct wlink *l, const char *path, char *state)
{
	int rc = xstore_read(l->w->loop.xs, path, state, XSTORE_STATE_MAX);

	if (rc < 0)
		log_link(LOG_DEBUG, l->cfg.name, "cannot read %s: %s", path, strerror(errno));
	if (rc <= 0)
		state[0] = '\0';
}

/* Both keys of the peer we know now, read and watched (their first events change nothing). */
static void watch_keys(struct wlink *l)
{
	struct watcher *w = l->w;
	struct error err;

	if (xstore_state_path(&l->cfg, w->loop.own_domid, l->peer_domid, l->own_path,
			      sizeof(l->own_path)) ||
	    xstore_state_path(&l->cfg, l->peer_domid, w->loop.own_domid, l->peer_path,
			      sizeof(l->peer_path))) {
		log_link(LOG_ERR, l->cfg.name, "state key paths too long");
		return;
	}
	read_state(l, l->own_path, l->own_state);
	read_state(l, l->peer_path, l->peer_state);
	if (xstore_watch(w->loop.xs, l->own_path, l->own_token, &err) ||
	    xstore_watch(w->loop.xs, l->peer_path, l->peer_token, &err)) {
		log_link(LOG_ERR, l->cfg.name, "%s", err.msg);
		xstore_unwatch(w->loop.xs, l->own_path, l->own_token);
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
	if (xstore_domain_name(l->w->loop.xs, l->peer_domid, l->peer_name) < 0)
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
	l->peer_exists = l->peer_known && xstore_domain_exists(l->w->loop.xs, l->peer_domid) != 0;
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
		rc = netlink_set_up(l->w->nl, l->cfg.ifname, up, &err);
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
 * first look (once our daemon has said something), a device that is already
 * as it should be was made so by an earlier watcher, whose hooks ran: nothing
 * to do. A device that is new
 * under an up link (its daemon made it again) takes a down and an up.
 * why: what just changed; NULL to say it from the state.
 */
static void evaluate(struct wlink *l, const char *why)
{
	bool want = l->peer_known && l->peer_exists && connected(l->own_state) &&
		    connected(l->peer_state);
	char reason[CONFIG_NAME_MAX + 48];
	struct error err;
	struct netlink_link st;
	bool exists = !netlink_link_get(l->w->nl, l->cfg.ifname, &st, &err);
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
		if (want == is_up) {
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
static void read_peer_key(struct wlink *l, int64_t now)
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
	xstore_unwatch(l->w->loop.xs, l->peer_path, l->peer_token);
}

/* When the link has something to do next (0: nothing). */
static int64_t wlink_deadline(const struct wlink *l)
{
	int64_t t = l->watching ? watch_pace_deadline(&l->peer_pace) : 0;

	if (l->hold_until && (!t || l->hold_until < t))
		t = l->hold_until;
	return t;
}

static void link_on_time(struct wlink *l, int64_t now)
{
	struct error err;

	if (l->watching && watch_pace_unmute(&l->peer_pace, now)) {
		/* it fires once at once, and says what we missed */
		if (xstore_watch(l->w->loop.xs, l->peer_path, l->peer_token, &err)) {
			log_link(LOG_WARNING, l->cfg.name, "%s", err.msg);
			l->peer_pace.muted = true;
			l->peer_pace.unmute_ms = now + PACE_MUTE_MAX_MS;
		}
	} else if (l->watching && l->peer_pace.fired &&
		   watch_pace_deadline(&l->peer_pace) <= now) {
		read_peer_key(l, now);
	}
	if (l->hold_until && l->hold_until <= now) {
		l->hold_until = 0;
		evaluate(l, NULL);
	}
}

/* --- XenStore events ---------------------------------------------------------------------- */

static struct wlink *find_link(struct watcher *w, const char *name)
{
	for (size_t i = 0; i < w->n_links; i++)
		if (!strcmp(w->links[i]->cfg.name, name))
			return w->links[i];
	return NULL;
}

/* log_set_fields()'s: a link's IFNAME and, once known, PEER_DOMID. */
static size_t journal_fields(void *ctx, const char *name, char *buf, size_t len)
{
	struct wlink *l = find_link(ctx, name);

	if (!l)
		return 0;
	return log_fields_text(buf, len, l->cfg.ifname, l->peer_seen ? &l->peer_domid : NULL);
}

/* "our daemon connected", at once: our own daemon wrote it. */
static void on_own_key(struct wlink *l)
{
	char why[64];

	if (!l->watching)
		return;
	read_state(l, l->own_path, l->own_state);
	snprintf(why, sizeof(why), "our daemon %s", l->own_state[0] ? l->own_state : "gone");
	evaluate(l, why);
}

/* One listing of the domains for every link by name: a dozen links need not read a dozen. */
static void peers_changed(struct watcher *w)
{
	struct xstore_domain *doms = NULL;
	struct error err = { .msg = "" };
	bool names = false;
	size_t n = 0;

	for (size_t i = 0; i < w->n_links; i++)
		names |= w->links[i]->cfg.peer_is_name;
	if (names && xstore_list_domains(w->loop.xs, &doms, &n, &err))
		doms = NULL;
	for (size_t i = 0; i < w->n_links; i++) {
		struct wlink *l = w->links[i];

		find_peer(l, doms, n, err.msg);
		check_peer_exists(l);
		evaluate(l, NULL);
	}
	free(doms);
}

static struct watcher *watcher_of(struct loop *lp)
{
	return lp->ctx;
}

static void follow_provisioned(struct watcher *w);

static void on_watch(struct loop *lp, const char *token)
{
	struct watcher *w = watcher_of(lp);
	struct wlink *l;
	bool all;

	if (w->stop)
		return;
	all = !strcmp(token, XSTORE_TOKEN_ALL);
	if (w->provisioned && (all || !strcmp(token, PROVISION_TOKEN)) &&
	    provisioned_event(&w->prov, now_ms()))
		follow_provisioned(w);
	if (all) {
		for (size_t i = 0; i < w->n_links; i++) {
			on_own_key(w->links[i]);
			read_peer_key(w->links[i], now_ms());
		}
	} else if (!strncmp(token, TOKEN_OWN, strlen(TOKEN_OWN)) &&
		   (l = find_link(w, token + strlen(TOKEN_OWN)))) {
		on_own_key(l);
	} else if (!strncmp(token, TOKEN_PEER, strlen(TOKEN_PEER)) &&
		   (l = find_link(w, token + strlen(TOKEN_PEER)))) {
		read_peer_key(l, now_ms());
	}
}

static void on_domains(struct loop *lp, bool released, bool introduced)
{
	struct watcher *w = watcher_of(lp);

	if (!w->stop)
		peers_changed(w);
}

/* Every watch comes back with the new connection, and its first event makes us look again. */
static void on_xenstore_back(struct loop *lp)
{
	log_msg(LOG_NOTICE, "reading every link's state again");
}

/* --- links ----------------------------------------------------------------------------------- */

static struct wlink *wlink_new(struct watcher *w, const struct link_config *cfg)
{
	struct wlink *l = calloc(1, sizeof(*l));

	if (!l) {
		log_link(LOG_ERR, cfg->name, "out of memory");
		return NULL;
	}
	l->cfg = *cfg;
	l->w = w;
	snprintf(l->own_token, sizeof(l->own_token), TOKEN_OWN "%s", cfg->name);
	snprintf(l->peer_token, sizeof(l->peer_token), TOKEN_PEER "%s", cfg->name);
	watch_pace_init(&l->peer_pace, PEER_KEY_BURST, PEER_KEY_INTERVAL_MS);
	hook_queue_init(&l->hooks, w->loop.epfd, cfg->name, w->o->hook_timeout, hooks_idle);
	return l;
}

/* Not watched any more; its running hook may finish, the queued ones are dropped. */
static void link_retire(struct wlink *l)
{
	size_t dropped;

	unwatch_keys(l);
	dropped = hook_queue_drop(&l->hooks);
	if (dropped)
		log_link(LOG_WARNING, l->cfg.name, "%zu hook%s not run: the link is gone", dropped,
			 dropped == 1 ? "" : "s");
	l->retired = true;
	if (hook_queue_busy(&l->hooks) &&
	    list_add(&l->w->retired, &l->w->n_retired, &l->w->cap_retired, l))
		return;
	/* no hook to wait for, or no room to remember it: then it cannot wait either */
	hook_queue_kill(&l->hooks);
	bury(l->w, l);
}

static void wlink_free(void *p)
{
	struct wlink *l = p;

	hook_queue_drop(&l->hooks);
	free(l);
}

/*
 * New settings for a link: its hooks under the old ones ran for its last
 * transition, so one that is up goes down under the old settings and, if it
 * still should, up under the new ones; its device is left as it is.
 */
static void link_change(struct wlink *l, const struct link_config *cfg)
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

struct changes {
	size_t added, changed, removed;
};

/* The links by name; a changed one is taken as described at link_change(). */
static int apply(struct watcher *w, const struct link_config *cfgs, size_t n, struct changes *c)
{
	struct wlink **links = calloc(n ? n : 1, sizeof(*links));

	*c = (struct changes){ 0 };
	if (!links)
		return -1;
	for (size_t i = 0; i < w->n_links; i++) {
		bool kept = false;

		for (size_t j = 0; j < n && !kept; j++)
			kept = !strcmp(cfgs[j].name, w->links[i]->cfg.name);
		if (!kept) {
			link_retire(w->links[i]);
			c->removed++;
		}
	}
	for (size_t j = 0; j < n; j++) {
		struct wlink *l = find_link(w, cfgs[j].name);

		if (l && !config_watch_equal(&l->cfg, &cfgs[j])) {
			link_change(l, &cfgs[j]);
			c->changed++;
		} else if (!l) {
			l = wlink_new(w, &cfgs[j]);
			c->added += l != NULL;
		}
		links[j] = l;
	}
	free(w->links);
	w->links = links;
	w->n_links = 0;
	for (size_t j = 0; j < n; j++)
		if (links[j])
			links[w->n_links++] = links[j];
	peers_changed(w);
	return 0;
}

/* The files' links as last read and the provisioned ones as now, applied. */
static int run_links(struct watcher *w, struct changes *c)
{
	struct link_config *all;
	size_t n;
	int rc;

	if (w->provisioned)
		provisioned_read(&w->prov);
	if (provisioned_merge(w->provisioned ? &w->prov : NULL, w->file_cfgs, w->n_file, &all, &n))
		return -1;
	rc = apply(w, all, n, c);
	free(all);
	return rc;
}

/* The provisioned links changed (or may have): the watcher follows, and says so if they did. */
static void follow_provisioned(struct watcher *w)
{
	struct changes c;

	if (run_links(w, &c)) {
		log_msg(LOG_ERR, "out of memory");
		return;
	}
	if (c.added || c.changed || c.removed)
		log_msg(LOG_NOTICE, "provisioned links changed: %zu links (%zu added, %zu changed, "
			"%zu removed)", w->n_links, c.added, c.changed, c.removed);
}

/* SIGHUP: the files are read again, and the provisioned links too. */
static void reload(struct watcher *w)
{
	struct link_config *cfgs = NULL;
	struct config_error err;
	struct changes c;
	size_t n = 0;

	if (w->o->config_dir) {
		if (config_load_dir(w->o->config_dir, &cfgs, &n, &err)) {
			log_msg(LOG_ERR, "%s", err.msg);
			log_msg(LOG_ERR, "reload failed: keeping the running configuration");
			return;
		}
		free(w->file_cfgs);
		w->file_cfgs = cfgs;
		w->n_file = n;
	}
	if (run_links(w, &c)) {
		log_msg(LOG_ERR, "reload failed: out of memory");
		return;
	}
	log_msg(LOG_NOTICE, "configuration reloaded: %zu links (%zu added, %zu changed, "
		"%zu removed)", w->n_links, c.added, c.changed, c.removed);
}

/* --- signals and the loop ------------------------------------------------------------------- */

static void kill_hooks(struct watcher *w)
{
	for (size_t i = 0; i < w->n_links; i++)
		hook_queue_kill(&w->links[i]->hooks);
	for (size_t i = 0; i < w->n_retired; i++)
		hook_queue_kill(&w->retired[i]->hooks);
}

static bool hooks_running(const struct watcher *w)
{
	for (size_t i = 0; i < w->n_links; i++)
		if (hook_queue_busy(&w->links[i]->hooks))
			return true;
	return w->n_retired > 0;
}

/*
 * The first SIGTERM lets running hooks finish (within their time limit) and
 * drops the queued ones; a second one kills them.
 */
static void shut_down(struct watcher *w, int sig)
{
	if (w->stop) {
		log_msg(LOG_NOTICE, "%s again: killing the hooks that still run", strsignal(sig));
		kill_hooks(w);
		return;
	}
	w->stop = true;
	sd_notify_send("STOPPING=1");
	log_msg(LOG_NOTICE, "%s: stopping; the links stay as they are", strsignal(sig));
	for (size_t i = 0; i < w->n_links; i++) {
		struct wlink *l = w->links[i];
		size_t dropped = hook_queue_drop(&l->hooks);

		if (dropped)
			log_link(LOG_WARNING, l->cfg.name, "%zu hook%s not run: the watcher stops",
				 dropped, dropped == 1 ? "" : "s");
	}
	if (hooks_running(w))
		log_msg(LOG_NOTICE, "waiting for the running hooks");
}

static void on_terminate(struct loop *lp, int signo)
{
	shut_down(watcher_of(lp), signo);
}

static void on_reload(struct loop *lp)
{
	struct watcher *w = watcher_of(lp);

	if (w->stop)
		return;
	log_msg(LOG_NOTICE, "SIGHUP: reloading %s", w->o->config_dir);
	sd_notify_reloading();
	reload(w);
	sd_notify_send("READY=1");
}

static int64_t next_deadline(struct loop *lp)
{
	struct watcher *w = watcher_of(lp);
	int64_t first = w->provisioned ? provisioned_deadline(&w->prov) : 0;

	for (size_t i = 0; i < w->n_links; i++) {
		int64_t t = wlink_deadline(w->links[i]);

		if (t && (!first || t < first))
			first = t;
	}
	return first;
}

/* What is due; and after a SIGTERM, the end once the last hook has finished. */
static void on_round(struct loop *lp, int64_t now)
{
	struct watcher *w = watcher_of(lp);

	if (w->stop) {
		if (!hooks_running(w))
			loop_stop(lp, 0);
		return;
	}
	for (size_t i = 0; i < w->n_links; i++)
		link_on_time(w->links[i], now);
	if (w->provisioned && provisioned_due(&w->prov, now))
		follow_provisioned(w);
}

static const struct loop_ops watcher_ops = {
	.reload = on_reload,
	.terminate = on_terminate,
	.watch = on_watch,
	.domains = on_domains,
	.xenstore_back = on_xenstore_back,
	.deadline = next_deadline,
	.round = on_round,
};

/* --- setting up ---------------------------------------------------------------------------- */

/* 0, or the exit status: what failed is logged. */
static int setup(struct watcher *w)
{
	struct error err;

	if (loop_open(&w->loop, &watcher_ops, w, &err)) {
		log_msg(LOG_ERR, "%s", err.msg);
		return EXIT_FAILURE;
	}
	w->nl = netlink_open(&err);
	if (!w->nl) {
		log_msg(LOG_ERR, "%s", err.msg);
		return EXIT_FAILURE;
	}
	if (w->o->provisioned) {
		if (provisioned_open(&w->prov, w->loop.xs, w->loop.own_domid, w->o->provisioned_by,
				     &err)) {
			log_msg(LOG_ERR, "%s", err.msg);
			return err.lasting ? EXIT_CONFIG_ERROR : EXIT_FAILURE;
		}
		w->provisioned = true;
	}
	return 0;
}

static int start_links(struct watcher *w)
{
	struct changes c;

	if (run_links(w, &c)) {
		log_msg(LOG_ERR, "out of memory");
		return -1;
	}
	if (!w->n_links && !w->provisioned)
		log_msg(LOG_WARNING, "no links in %s: waiting for SIGHUP", w->o->config_dir);
	return 0;
}

static void teardown(struct watcher *w)
{
	kill_hooks(w);
	for (size_t i = 0; i < w->n_links; i++)
		bury(w, w->links[i]);
	for (size_t i = 0; i < w->n_retired; i++)
		bury(w, w->retired[i]);
	free(w->links);
	free(w->retired);
	free(w->file_cfgs);
	if (w->provisioned)
		provisioned_close(&w->prov);
	netlink_close(w->nl);
	loop_close(&w->loop);
}

int main(int argc, char **argv)
{
	struct watcher w = { .loop = { .epfd = -1, .sig_fd = -1 } };
	struct link_config *cfgs = NULL;
	struct config_error err;
	struct opts o = { 0 };
	size_t n = 0;
	int ret;

	parse_args(argc, argv, &o);
	log_init(PROG, o.verbose);
	/* the configuration first: its errors are the same with or without Xen */
	if (o.config_dir && config_load_dir(o.config_dir, &cfgs, &n, &err))
		config_fail("%s", err.msg);
	w.o = &o;
	w.file_cfgs = cfgs;
	w.n_file = n;
	log_set_fields(journal_fields, &w);
	ret = setup(&w);
	if (ret)
		goto out;
	ret = EXIT_FAILURE;
	if (start_links(&w))
		goto out;
	log_msg(LOG_INFO, "watching %zu link%s as domain %u, hooks in %s", w.n_links,
		w.n_links == 1 ? "" : "s", w.loop.own_domid, o.hooks_dir);
	sd_notify_send("READY=1");
	ret = loop_run(&w.loop);
out:
	teardown(&w);
	return ret;
}
