// SPDX-License-Identifier: GPL-2.0-only
/*
 * vchan-tun-watch: brings vchan-tun links up and down as their peers come
 * and go. Its links are those of the files and, with --provisioned, those
 * its provisioner publishes for this domain (provision.h), merged by the
 * daemon's rules: a guest whose daemon is provisioned has its watcher follow
 * the same links, and runs their hooks (routes to its PeerRoutes). Each link
 * watches its two state keys and decides up or down itself (watch-link.h);
 * this file holds the set of links, hears XenStore (the keys' watches,
 * @introduceDomain and @releaseDomain) and the signals, and tells the links.
 * It sees links only through XenStore and netlink, never through the ring.
 *
 *   vchan-tun-watch [--config-dir DIR] [--provisioned [--provisioned-by DOMID]]
 *                   [--hooks-dir DIR] [--hook-timeout SECONDS] [-v]
 *
 * One process, one event loop (loop.h): signals, XenStore, and each running
 * hook's pidfd, output pipe and timerfd. Hooks of one link run one after the
 * other, each transition's once; different links do not wait for each other.
 * A link removed by a reload while its hook runs is kept until the hook ends.
 *
 * Restarting it must not flap a link: at start, a link that should be up and
 * whose device is up already is taken as up, hooks run (they ran before).
 * SIGTERM ends it without touching any link: links work without it.
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 when it cannot run (XenStore,
 * netlink), 2 on bad options or configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "event.h"
#include "hook.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "provision.h"
#include "sd-notify.h"
#include "util.h"
#include "watch-link.h"
#include "xs.h"

#define PROG			"vchan-tun-watch"
/* a bad command line or configuration: the message, exit status 2 */
#define config_fail(...)	exit_config_error(PROG, __VA_ARGS__)
#define DEFAULT_HOOKS_DIR	CONFIG_DEFAULT_DIR "/hooks"
#define HOOK_TIMEOUT_DEFAULT	10
#define HOOK_TIMEOUT_MAX	3600

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

struct watcher {
	struct loop loop;
	const struct opts *o;
	struct wlink_env env;		/* what its links share, netlink among it */

	struct wlink **links;
	size_t n_links;
	/* the files' links as last read; prov has the provisioned ones */
	struct link_config *file_cfgs;
	size_t n_file;
	bool provisioned;		/* following XenStore: prov is open */
	struct provisioned prov;
	struct wlink **retired;		/* gone from the configuration, a hook still running */
	size_t n_retired, cap_retired;
	bool started;			/* the links found at start are known: new ones are new */
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
		"  --hooks-dir DIR         where the default hook, " WLINK_DEFAULT_HOOK ", is\n"
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

/* --- retired links ----------------------------------------------------------------------- */

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
	loop_defer_free(&w->loop, l, wlink_free);
}

/* A retired link's last hook ended: now it may go. */
static void retired_idle(struct wlink *l)
{
	struct watcher *w = container_of(l->env, struct watcher, env);

	for (size_t i = 0; i < w->n_retired; i++) {
		if (w->retired[i] != l)
			continue;
		w->retired[i] = w->retired[--w->n_retired];
		bury(w, l);
		return;
	}
}

/* Not watched any more; its running hook may finish, the queued ones are dropped. */
static void retire(struct watcher *w, struct wlink *l)
{
	if (wlink_retire(l) && list_add(&w->retired, &w->n_retired, &w->cap_retired, l))
		return;
	/* no hook to wait for, or no room to remember it: then it cannot wait either */
	hook_queue_kill(&l->hooks);
	bury(w, l);
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
	for (size_t i = 0; i < w->n_links; i++)
		wlink_peers_changed(w->links[i], doms, n, err.msg);
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
			wlink_own_key(w->links[i]);
			wlink_peer_key(w->links[i], now_ms());
		}
	} else if (!strncmp(token, WLINK_TOKEN_OWN, strlen(WLINK_TOKEN_OWN)) &&
		   (l = find_link(w, token + strlen(WLINK_TOKEN_OWN)))) {
		wlink_own_key(l);
	} else if (!strncmp(token, WLINK_TOKEN_PEER, strlen(WLINK_TOKEN_PEER)) &&
		   (l = find_link(w, token + strlen(WLINK_TOKEN_PEER)))) {
		wlink_peer_key(l, now_ms());
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

struct changes {
	size_t added, changed, removed;
};

/* The links by name; a changed one is taken as described at wlink_change(). */
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
			retire(w, w->links[i]);
			c->removed++;
		}
	}
	for (size_t j = 0; j < n; j++) {
		struct wlink *l = find_link(w, cfgs[j].name);

		if (l && !config_watch_equal(&l->cfg, &cfgs[j])) {
			wlink_change(l, &cfgs[j]);
			c->changed++;
		} else if (!l) {
			l = wlink_new(&w->env, &cfgs[j], !w->started);
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
		wlink_on_time(w->links[i], now);
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
	w->env = (struct wlink_env){
		.loop = &w->loop,
		.nl = netlink_open(&err),
		.hooks_dir = w->o->hooks_dir,
		.hook_timeout = w->o->hook_timeout,
		.retired_idle = retired_idle,
	};
	if (!w->env.nl) {
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
	w->started = true;
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
	netlink_close(w->env.nl);
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
