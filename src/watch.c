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
 *   vchan-tun-watch [--config-dir DIR] [--hooks-dir DIR] [--hook-timeout SECONDS] [-v]
 *
 * One process, one epoll loop: a signalfd, the XenStore fd, a timerfd for
 * reconnecting to XenStore, and each running hook's pidfd, output pipe and
 * timerfd. Hooks of one link run one after the other, each transition's
 * once; different links do not wait for each other.
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
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "hook.h"
#include "log.h"
#include "netlink.h"
#include "sd-notify.h"
#include "strbuf.h"
#include "xs.h"

#define PROG			"vchan-tun-watch"
/* a bad command line or configuration: the message, exit status 2 */
#define config_fail(...)	exit_config_error(PROG, __VA_ARGS__)
#define DEFAULT_HOOKS_DIR	CONFIG_DEFAULT_DIR "/hooks"
#define DEFAULT_HOOK		"vchan-tun-hook"
#define HOOK_TIMEOUT_DEFAULT	10
#define HOOK_TIMEOUT_MAX	3600
#define HOOK_PATH_ENV		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Hooks waiting per link; a link flapping faster than its hooks run loses down/up pairs. */
#define MAX_JOBS		8
#define MAX_EVENTS		64
#define XS_RETRY_MIN_MS		50
#define XS_RETRY_MAX_MS		2000
#define TOKEN_RELEASE		"release"
#define TOKEN_INTRODUCE		"introduce"
#define TOKEN_OWN		"own:"
#define TOKEN_PEER		"peer:"
#define TOKEN_MAX		(CONFIG_NAME_MAX + 8)

enum { OPT_CONFIG_DIR = 0x100, OPT_HOOKS_DIR, OPT_HOOK_TIMEOUT };

struct opts {
	const char *config_dir;
	const char *hooks_dir;
	unsigned int hook_timeout;	/* seconds */
	bool verbose;
};

/* A hook to run: its program and environment, fixed when the transition happened. */
struct job {
	struct job *next;
	bool up;
	char *path;
	struct strbuf env_text;		/* "KEY=VALUE" strings, NUL-separated */
	char **env;			/* pointers into it, NULL-terminated */
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
	char lookup_error[XSTORE_ERR_LEN];	/* said once */

	/* the two state keys, watched while the peer is known */
	bool watching;
	char own_path[CONFIG_XS_PATH_MAX + 1], peer_path[CONFIG_XS_PATH_MAX + 1];
	char own_token[TOKEN_MAX], peer_token[TOKEN_MAX];
	char own_state[XSTORE_STATE_MAX], peer_state[XSTORE_STATE_MAX];	/* "" if none */

	/* what we made of it */
	bool decided;			/* up is known: we looked at least once */
	bool up;
	int up_ifindex;			/* the device we set up (0: none) */

	/* hooks */
	struct hook hook;
	struct job *jobs, **jobs_tail;
	size_t n_jobs;
	bool no_default_said;
};

struct watcher {
	const struct opts *o;
	int epfd;
	struct ev_source sig_src;
	int sig_fd;
	struct ev_source xs_src;
	struct xstore *xs;
	unsigned int own_domid;
	struct ev_source retry_src;
	int retry_fd;			/* timerfd: reconnect to XenStore */
	unsigned int backoff_ms;
	struct netlink *nl;

	struct wlink **links;
	size_t n_links;
	struct wlink **retired;		/* gone from the configuration, a hook still running */
	size_t n_retired, cap_retired;
	struct wlink **dead;		/* freed after the current round */
	size_t n_dead, cap_dead;
	bool stop;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--config-dir DIR] [--hooks-dir DIR] [--hook-timeout SECONDS] [-v]\n"
		"\n"
		"Brings vchan-tun links up and down as the daemons at both ends connect and\n"
		"part, and runs a hook for each change.\n"
		"\n"
		"  --config-dir DIR        the links, one per DIR/NAME.conf (default " CONFIG_DEFAULT_DIR ")\n"
		"  --hooks-dir DIR         where the default hook, " DEFAULT_HOOK ", is\n"
		"                          (default " DEFAULT_HOOKS_DIR ")\n"
		"  --hook-timeout SECONDS  a hook running longer is killed (default %d, at most %d)\n"
		"  -v, --verbose           debug messages too\n"
		"  -h, --help              this text\n"
		"\n"
		"SIGHUP re-reads DIR; SIGTERM or SIGINT ends the watcher and leaves every link as it is.\n"
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
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->config_dir = CONFIG_DEFAULT_DIR;
	o->hooks_dir = DEFAULT_HOOKS_DIR;
	o->hook_timeout = HOOK_TIMEOUT_DEFAULT;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_CONFIG_DIR:
			o->config_dir = optarg;
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
}

/* --- hooks --------------------------------------------------------------------------- */

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->path);
	sb_free(&j->env_text);
	free(j->env);
	free(j);
}

/* "10.0.0.1/30 fd00::1/64": addresses with their prefix, as the hooks take them. */
static void add_addrs(struct strbuf *sb, const struct config_addr *a, size_t n)
{
	char ip[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < n; i++) {
		inet_ntop(a[i].family, &a[i].addr, ip, sizeof(ip));
		sb_printf(sb, "%s%s/%u", i ? " " : "", ip, a[i].prefix);
	}
}

/* The hook's whole environment: PATH and what it needs to know of the link. */
static int job_env(struct job *j, const struct wlink *l)
{
	const struct link_config *c = &l->cfg;
	struct strbuf *sb = &j->env_text;
	size_t n = 0, i;
	char *p;

	sb_printf(sb, "%s%c", HOOK_PATH_ENV, 0);
	sb_printf(sb, "VCHAN_TUN_ACTION=%s%c", j->up ? "up" : "down", 0);
	sb_printf(sb, "VCHAN_TUN_LINK=%s%c", c->name, 0);
	sb_printf(sb, "VCHAN_TUN_INTERFACE=%s%c", c->ifname, 0);
	sb_printf(sb, "VCHAN_TUN_MODE=%s%c", config_mode_name(c->mode), 0);
	if (l->peer_seen)
		sb_printf(sb, "VCHAN_TUN_PEER_DOMID=%u%c", l->peer_domid, 0);
	else
		sb_printf(sb, "VCHAN_TUN_PEER_DOMID=%c", 0);
	sb_printf(sb, "VCHAN_TUN_PEER_NAME=%s%c", l->peer_name, 0);
	sb_printf(sb, "VCHAN_TUN_ADDRESSES=");
	add_addrs(sb, c->addrs, c->n_addrs);
	sb_printf(sb, "%cVCHAN_TUN_PEER_ADDRESSES=", 0);
	add_addrs(sb, c->peer_addrs, c->n_peer_addrs);
	sb_printf(sb, "%cVCHAN_TUN_ROUTES=", 0);
	add_addrs(sb, c->routes, c->n_routes);
	sb_printf(sb, "%cVCHAN_TUN_BRIDGE=%s%c", 0, c->bridge, 0);
	if (sb->failed)
		return -1;
	for (i = 0; i < sb->len; i++)
		n += !sb->buf[i];
	j->env = calloc(n + 1, sizeof(*j->env));
	if (!j->env)
		return -1;
	for (p = sb->buf, i = 0; i < n; p += strlen(p) + 1)
		j->env[i++] = p;
	return 0;
}

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

static void start_next(struct wlink *l)
{
	char err[HOOK_ERR_LEN];

	while (!hook_running(&l->hook) && l->jobs) {
		struct job *j = l->jobs;

		l->jobs = j->next;
		if (!l->jobs)
			l->jobs_tail = &l->jobs;
		l->n_jobs--;
		if (hook_start(&l->hook, l->cfg.name, j->path, j->up ? "up" : "down", j->env,
			       l->w->o->hook_timeout, err, sizeof(err)))
			log_link(LOG_ERR, l->cfg.name, "%s", err);
		job_free(j);
	}
}

static void drop_jobs(struct wlink *l)
{
	struct job *j;

	while ((j = l->jobs)) {
		l->jobs = j->next;
		job_free(j);
	}
	l->jobs_tail = &l->jobs;
	l->n_jobs = 0;
}

/*
 * Queues the transition's hook behind the one running. A queue that is full
 * has, at its end, the opposite of this transition: the two cancel out.
 * Returns whether a hook will run.
 */
static bool queue_hook(struct wlink *l, bool up)
{
	char buf[CONFIG_SOURCE_MAX + 32];
	const char *path = hook_path(l, buf, sizeof(buf));
	struct job *j, **pp;

	if (!path)
		return false;
	if (l->n_jobs >= MAX_JOBS) {
		for (pp = &l->jobs; (*pp)->next; pp = &(*pp)->next)
			;
		log_link(LOG_WARNING, l->cfg.name, "the link changes faster than its hooks run: "
			 "skipping a %s and the %s after it", up ? "down" : "up", up ? "up" : "down");
		job_free(*pp);
		*pp = NULL;
		l->jobs_tail = pp;
		l->n_jobs--;
		return false;
	}
	j = calloc(1, sizeof(*j));
	if (j)
		j->up = up;
	if (!j || !(j->path = strdup(path)) || job_env(j, l)) {
		log_link(LOG_ERR, l->cfg.name, "out of memory: hook %s not run", up ? "up" : "down");
		job_free(j);
		return false;
	}
	*l->jobs_tail = j;
	l->jobs_tail = &j->next;
	l->n_jobs++;
	start_next(l);
	return true;
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

/* Freed after the current round, when no event of this one can point at it any more. */
static void bury(struct watcher *w, struct wlink *l)
{
	/* a leak beats a use after free */
	list_add(&w->dead, &w->n_dead, &w->cap_dead, l);
}

static void hook_done(struct hook *h)
{
	struct wlink *l = container_of(h, struct wlink, hook);
	struct watcher *w = l->w;

	start_next(l);
	if (!l->retired || hook_running(&l->hook))
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
	xstore_unwatch(l->w->xs, l->own_path, l->own_token);
	xstore_unwatch(l->w->xs, l->peer_path, l->peer_token);
	l->watching = false;
	l->own_state[0] = l->peer_state[0] = '\0';
}

/* A state key's value, "" when there is none (or it is not ours to read). */
static void read_state(struct wlink *l, const char *path, char *state)
{
	int rc = xstore_read(l->w->xs, path, state, XSTORE_STATE_MAX);

	if (rc < 0)
		log_link(LOG_DEBUG, l->cfg.name, "cannot read %s: %s", path, strerror(errno));
	if (rc <= 0)
		state[0] = '\0';
}

/* Both keys of the peer we know now, read and watched (their first events change nothing). */
static void watch_keys(struct wlink *l)
{
	struct watcher *w = l->w;
	char err[XSTORE_ERR_LEN];

	if (xstore_state_path(&l->cfg, w->own_domid, l->peer_domid, l->own_path,
			      sizeof(l->own_path)) ||
	    xstore_state_path(&l->cfg, l->peer_domid, w->own_domid, l->peer_path,
			      sizeof(l->peer_path))) {
		log_link(LOG_ERR, l->cfg.name, "state key paths too long");
		return;
	}
	read_state(l, l->own_path, l->own_state);
	read_state(l, l->peer_path, l->peer_state);
	if (xstore_watch(w->xs, l->own_path, l->own_token, err, sizeof(err)) ||
	    xstore_watch(w->xs, l->peer_path, l->peer_token, err, sizeof(err))) {
		log_link(LOG_ERR, l->cfg.name, "%s", err);
		xstore_unwatch(w->xs, l->own_path, l->own_token);
		return;
	}
	l->watching = true;
}

/* The domain's name, for the hooks; "" where we may not read it (a guest). */
static void read_peer_name(struct wlink *l)
{
	char path[64];

	if (l->cfg.peer_is_name) {
		snprintf(l->peer_name, sizeof(l->peer_name), "%s", l->cfg.peer);
		return;
	}
	snprintf(path, sizeof(path), "/local/domain/%u/name", l->peer_domid);
	if (xstore_read(l->w->xs, path, l->peer_name, sizeof(l->peer_name)) <= 0)
		l->peer_name[0] = '\0';
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
	l->peer_exists = l->peer_known && xstore_domain_exists(l->w->xs, l->peer_domid) != 0;
}

/* --- up and down ------------------------------------------------------------------------ */

static bool connected(const char *state)
{
	return !strcmp(state, XSTORE_STATE_CONNECTED);
}

/* Admin state (Watched) and the hook: one transition, said in one line. */
static void transition(struct wlink *l, bool up, int ifindex, const char *why)
{
	char err[NETLINK_ERR_LEN], peer[CONFIG_NAME_MAX + 32];
	bool hook;
	int rc;

	l->up = up;
	l->up_ifindex = up ? ifindex : 0;
	if (l->cfg.watched) {
		rc = netlink_set_up(l->w->nl, l->cfg.ifname, up, err, sizeof(err));
		/* a device its daemon took away is down enough */
		if (rc && !(rc == -ENODEV && !up))
			log_link(LOG_ERR, l->cfg.name, "%s", err);
	}
	hook = queue_hook(l, up);
	log_link(LOG_NOTICE, l->cfg.name, "%s (%s): %s, %s", why,
		 peer_text(l, peer, sizeof(peer)), up ? "up" : "down",
		 hook ? (up ? "hook up" : "hook down") : "no hook");
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
	char err[NETLINK_ERR_LEN], reason[CONFIG_NAME_MAX + 48];
	struct netlink_link st;
	bool exists = !netlink_link_get(l->w->nl, l->cfg.ifname, &st, err, sizeof(err));
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

/* --- XenStore events ---------------------------------------------------------------------- */

static struct wlink *find_link(struct watcher *w, const char *name)
{
	for (size_t i = 0; i < w->n_links; i++)
		if (!strcmp(w->links[i]->cfg.name, name))
			return w->links[i];
	return NULL;
}

/* "our daemon connected", "peer daemon gone" */
static void on_key(struct wlink *l, bool own)
{
	char *state = own ? l->own_state : l->peer_state;
	char why[64];

	if (!l->watching)
		return;
	read_state(l, own ? l->own_path : l->peer_path, state);
	snprintf(why, sizeof(why), "%s daemon %s", own ? "our" : "peer",
		 state[0] ? state : "gone");
	evaluate(l, why);
}

/* One listing of the domains for every link by name: a dozen links need not read a dozen. */
static void peers_changed(struct watcher *w)
{
	struct xstore_domain *doms = NULL;
	char err[XSTORE_ERR_LEN] = "";
	bool names = false;
	size_t n = 0;

	for (size_t i = 0; i < w->n_links; i++)
		names |= w->links[i]->cfg.peer_is_name;
	if (names && xstore_list_domains(w->xs, &doms, &n, err, sizeof(err)))
		doms = NULL;
	for (size_t i = 0; i < w->n_links; i++) {
		struct wlink *l = w->links[i];

		find_peer(l, doms, n, err);
		check_peer_exists(l);
		evaluate(l, NULL);
	}
	free(doms);
}

static void start_reconnect(struct watcher *w, unsigned int ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 + 1 },
	};

	timerfd_settime(w->retry_fd, 0, &its, NULL);
}

static void on_xenstore(struct ev_source *src, uint32_t events)
{
	struct watcher *w = container_of(src, struct watcher, xs_src);
	char path[CONFIG_XS_PATH_MAX + 1], token[TOKEN_MAX];
	bool domains = false;
	struct wlink *l;
	int rc;

	while ((rc = xstore_next_event(w->xs, path, sizeof(path), token, sizeof(token))) > 0) {
		if (w->stop)
			continue;
		if (!strcmp(token, TOKEN_RELEASE) || !strcmp(token, TOKEN_INTRODUCE)) {
			domains = true;
			continue;
		}
		if (!strncmp(token, TOKEN_OWN, strlen(TOKEN_OWN)) &&
		    (l = find_link(w, token + strlen(TOKEN_OWN))))
			on_key(l, true);
		else if (!strncmp(token, TOKEN_PEER, strlen(TOKEN_PEER)) &&
			 (l = find_link(w, token + strlen(TOKEN_PEER))))
			on_key(l, false);
	}
	if (rc < 0) {
		log_msg(LOG_WARNING, "lost the connection to XenStore (xenstored restarted?): "
			"reconnecting");
		w->backoff_ms = 0;
		start_reconnect(w, 0);
		return;
	}
	if (domains)
		peers_changed(w);
}

/* Every watch comes back with the new connection, and its first event makes us look again. */
static void on_retry(struct ev_source *src, uint32_t events)
{
	struct watcher *w = container_of(src, struct watcher, retry_src);
	char err[XSTORE_ERR_LEN];
	uint64_t ticks;

	if (read(w->retry_fd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks))
		return;
	if (!xstore_reconnect(w->xs, err, sizeof(err))) {
		log_msg(LOG_NOTICE, "reconnected to XenStore: reading every link's state again");
		return;
	}
	w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : XS_RETRY_MIN_MS;
	if (w->backoff_ms > XS_RETRY_MAX_MS)
		w->backoff_ms = XS_RETRY_MAX_MS;
	log_msg(LOG_DEBUG, "%s (retrying in %u ms)", err, w->backoff_ms);
	start_reconnect(w, w->backoff_ms);
}

/* --- links ----------------------------------------------------------------------------------- */

static struct wlink *link_new(struct watcher *w, const struct link_config *cfg)
{
	struct wlink *l = calloc(1, sizeof(*l));

	if (!l) {
		log_link(LOG_ERR, cfg->name, "out of memory");
		return NULL;
	}
	l->cfg = *cfg;
	l->w = w;
	l->jobs_tail = &l->jobs;
	snprintf(l->own_token, sizeof(l->own_token), TOKEN_OWN "%s", cfg->name);
	snprintf(l->peer_token, sizeof(l->peer_token), TOKEN_PEER "%s", cfg->name);
	hook_init(&l->hook, w->epfd, hook_done);
	return l;
}

/* Not watched any more; its running hook may finish, the queued ones are dropped. */
static void link_retire(struct wlink *l)
{
	unwatch_keys(l);
	if (l->n_jobs)
		log_link(LOG_WARNING, l->cfg.name, "%zu hook%s not run: the link is gone",
			 l->n_jobs, l->n_jobs == 1 ? "" : "s");
	drop_jobs(l);
	l->retired = true;
	if (hook_running(&l->hook) &&
	    list_add(&l->w->retired, &l->w->n_retired, &l->w->cap_retired, l))
		return;
	/* no hook to wait for, or no room to remember it: then it cannot wait either */
	hook_kill(&l->hook);
	bury(l->w, l);
}

static void link_free(struct wlink *l)
{
	drop_jobs(l);
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

static int load_config(struct watcher *w, struct link_config **cfgs, size_t *n)
{
	struct config_error err;

	if (!config_load_dir(w->o->config_dir, cfgs, n, &err))
		return 0;
	log_msg(LOG_ERR, "%s", err.msg);
	return -1;
}

/* SIGHUP: links by name; a changed one is taken as described at link_change(). */
static void reload(struct watcher *w)
{
	size_t n = 0, added = 0, changed = 0, removed = 0;
	struct link_config *cfgs = NULL;
	struct wlink **links;

	if (load_config(w, &cfgs, &n)) {
		log_msg(LOG_ERR, "reload failed: keeping the running configuration");
		return;
	}
	links = calloc(n ? n : 1, sizeof(*links));
	if (!links) {
		log_msg(LOG_ERR, "reload failed: out of memory");
		free(cfgs);
		return;
	}
	for (size_t i = 0; i < w->n_links; i++) {
		bool kept = false;

		for (size_t j = 0; j < n && !kept; j++)
			kept = !strcmp(cfgs[j].name, w->links[i]->cfg.name);
		if (!kept) {
			link_retire(w->links[i]);
			removed++;
		}
	}
	for (size_t j = 0; j < n; j++) {
		struct wlink *l = find_link(w, cfgs[j].name);

		if (l && !config_watch_equal(&l->cfg, &cfgs[j])) {
			link_change(l, &cfgs[j]);
			changed++;
		} else if (!l) {
			l = link_new(w, &cfgs[j]);
			added += l != NULL;
		}
		links[j] = l;
	}
	free(w->links);
	w->links = links;
	w->n_links = 0;
	for (size_t j = 0; j < n; j++)
		if (links[j])
			links[w->n_links++] = links[j];
	free(cfgs);
	log_msg(LOG_NOTICE, "configuration reloaded: %zu links (%zu added, %zu changed, %zu removed)",
		w->n_links, added, changed, removed);
	peers_changed(w);
}

/* --- signals and the loop ------------------------------------------------------------------- */

static void kill_hooks(struct watcher *w)
{
	for (size_t i = 0; i < w->n_links; i++)
		hook_kill(&w->links[i]->hook);
	for (size_t i = 0; i < w->n_retired; i++)
		hook_kill(&w->retired[i]->hook);
}

static bool hooks_running(const struct watcher *w)
{
	for (size_t i = 0; i < w->n_links; i++)
		if (hook_running(&w->links[i]->hook))
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

		if (l->n_jobs)
			log_link(LOG_WARNING, l->cfg.name, "%zu hook%s not run: the watcher stops",
				 l->n_jobs, l->n_jobs == 1 ? "" : "s");
		drop_jobs(l);
	}
	if (hooks_running(w))
		log_msg(LOG_NOTICE, "waiting for the running hooks");
}

static void on_signal(struct ev_source *src, uint32_t events)
{
	struct watcher *w = container_of(src, struct watcher, sig_src);
	struct signalfd_siginfo si;

	while (read(w->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo != SIGHUP) {
			shut_down(w, (int)si.ssi_signo);
			continue;
		}
		if (w->stop)
			continue;
		log_msg(LOG_NOTICE, "SIGHUP: reloading %s", w->o->config_dir);
		sd_notify_reloading();
		reload(w);
		sd_notify_send("READY=1");
	}
}

static void free_dead(struct watcher *w)
{
	for (size_t i = 0; i < w->n_dead; i++)
		link_free(w->dead[i]);
	w->n_dead = 0;
}

static int run(struct watcher *w)
{
	struct epoll_event evs[MAX_EVENTS];

	sd_notify_send("READY=1");
	while (!w->stop || hooks_running(w)) {
		int n = epoll_wait(w->epfd, evs, MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERR, "epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct ev_source *src = evs[i].data.ptr;

			src->handle(src, evs[i].events);
		}
		free_dead(w);
	}
	return 0;
}

/* --- setting up ---------------------------------------------------------------------------- */

static int setup_loop(struct watcher *w)
{
	w->sig_fd = ev_signalfd();
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->sig_fd < 0 || w->epfd < 0 || w->retry_fd < 0 ||
	    ev_add(w->epfd, w->sig_fd, &w->sig_src, on_signal) ||
	    ev_add(w->epfd, w->retry_fd, &w->retry_src, on_retry))
		return -1;
	return 0;
}

static int setup(struct watcher *w)
{
	char err[NETLINK_ERR_LEN];

	if (setup_loop(w)) {
		log_msg(LOG_ERR, "cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	w->xs = xstore_open(err, sizeof(err));
	if (!w->xs || xstore_own_domid(w->xs, &w->own_domid, err, sizeof(err)) ||
	    xstore_watch(w->xs, XSTORE_RELEASE, TOKEN_RELEASE, err, sizeof(err)) ||
	    xstore_watch(w->xs, XSTORE_INTRODUCE, TOKEN_INTRODUCE, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		return -1;
	}
	if (ev_add(w->epfd, xstore_fd(w->xs), &w->xs_src, on_xenstore)) {
		log_msg(LOG_ERR, "epoll: %s", strerror(errno));
		return -1;
	}
	w->nl = netlink_open(err, sizeof(err));
	if (!w->nl) {
		log_msg(LOG_ERR, "%s", err);
		return -1;
	}
	return 0;
}

static int start_links(struct watcher *w, const struct link_config *cfgs, size_t n)
{
	w->links = calloc(n ? n : 1, sizeof(*w->links));
	w->n_links = 0;
	if (!w->links) {
		log_msg(LOG_ERR, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct wlink *l = link_new(w, &cfgs[i]);

		if (l)
			w->links[w->n_links++] = l;
	}
	if (!n)
		log_msg(LOG_WARNING, "no links in %s: waiting for SIGHUP", w->o->config_dir);
	peers_changed(w);
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
	free_dead(w);
	free(w->dead);
	netlink_close(w->nl);
	xstore_close(w->xs);
	if (w->retry_fd >= 0)
		close(w->retry_fd);
	if (w->sig_fd >= 0)
		close(w->sig_fd);
	if (w->epfd >= 0)
		close(w->epfd);
}

int main(int argc, char **argv)
{
	struct watcher w = { .sig_fd = -1, .epfd = -1, .retry_fd = -1 };
	struct link_config *cfgs = NULL;
	struct config_error err;
	struct opts o = { 0 };
	size_t n = 0;
	int ret = 1;

	parse_args(argc, argv, &o);
	log_init(PROG, o.verbose);
	/* the configuration first: its errors are the same with or without Xen */
	if (config_load_dir(o.config_dir, &cfgs, &n, &err))
		config_fail("%s", err.msg);
	w.o = &o;
	if (!setup(&w) && !start_links(&w, cfgs, n)) {
		log_msg(LOG_INFO, "watching %zu link%s as domain %u, hooks in %s", w.n_links,
			w.n_links == 1 ? "" : "s", w.own_domid, o.hooks_dir);
		ret = run(&w);
	}
	free(cfgs);
	teardown(&w);
	return ret;
}
