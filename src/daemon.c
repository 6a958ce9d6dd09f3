// SPDX-License-Identifier: GPL-2.0-only
/*
 * vchan-tund: point-to-point links between Xen domains, each a TUN or TAP
 * device in front of a vchan. One process and one epoll loop (level
 * triggered) for every link: their TUN and event-channel fds, the XenStore
 * watch fd, a signalfd and the control socket.
 *
 *   vchan-tund [--config-dir DIR | LINK OPTIONS...] [--provisioned [--provisioned-by DOMID]]
 *              [--control PATH] [-v] [--check-config] [--help]
 *
 * Its links are those of the files (or the options), and with --provisioned
 * those its provisioner publishes for it in XenStore (provision.h): both
 * sets go through one comparison with the running links (apply_links), on
 * SIGHUP and whenever the provisioned set changes.
 *
 * Exit status: 0 after SIGTERM/SIGINT or --check-config, 1 when the daemon
 * cannot run (XenStore, netlink, control socket, or every link failed for a
 * reason that retrying cannot mend), 2 on configuration errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "event.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "provision.h"
#include "sd-notify.h"
#include "status.h"
#include "strbuf.h"
#include "util.h"
#include "xs.h"

#define PROG			"vchan-tund"
/* a bad command line or configuration: the message, exit status 2 */
#define config_fail(...)	exit_config_error(PROG, __VA_ARGS__)

enum { OPT_CONFIG_DIR = 0x100, OPT_CONTROL, OPT_CHECK, OPT_PROVISIONED, OPT_PROVISIONED_BY };

struct opts {
	const char *config_dir;		/* NULL: the command line's link, or none */
	const char *control;
	bool verbose;
	bool check;
	bool link_options;
	struct link_config cmdline;
	bool provisioned;		/* links from XenStore too */
	unsigned int provisioned_by;	/* whose nodes are trusted there */
};

struct daemon {
	struct loop loop;
	struct link_env env;
	const struct opts *o;
	struct control *ctl;

	struct link **links;		/* by name, as the configuration lists them */
	size_t n_links;

	/* the links of the files (or the options) as last read; prov has its own */
	struct link_config *file_cfgs;
	size_t n_file;
	bool provisioned;		/* following XenStore: prov is open */
	struct provisioned prov;
	struct link *starting;		/* in link_start, not in links yet: for its log fields */

	/* what the kernel announces about our devices */
	struct netlink_listener *kernel;
	struct ev_source kernel_src;

	/* what systemd's STATUS= last said; a new one when this changes */
	size_t told_links, told_running;
	bool status_stale;
	char reload_error[256];		/* the last reload's, "" if it worked */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--config-dir DIR] [--control PATH] [-v] [--check-config]\n"
		"       " PROG " --peer DOMID|NAME --role server|client [LINK OPTIONS] [--control PATH] [-v]\n"
		"       " PROG " --provisioned [--provisioned-by DOMID] [--config-dir DIR] [--control PATH] [-v]\n"
		"\n"
		"Point-to-point links between Xen domains: a TUN or TAP device per peer, its\n"
		"packets carried over a vchan.\n"
		"\n"
		"  --config-dir DIR   one link per DIR/NAME.conf (default " CONFIG_DEFAULT_DIR
		", unless --provisioned)\n"
		"  --provisioned      also the links domain 0 publishes for this domain in XenStore\n"
		"  --provisioned-by DOMID  the domain whose links to take instead of domain 0\n"
		"  --control PATH     control socket for vchan-tunctl (default " CONTROL_DEFAULT_PATH ")\n"
		"  -v, --verbose      debug messages too\n"
		"  --check-config     check the configuration, print the links, and exit\n"
		"  -h, --help         this text\n"
		"  --version          the version, and exit\n"
		"\n"
		"Link options, for a single link without files (see vchan-tun.conf(5)):\n"
		"  --peer --role --mode --interface --mtu --address --peer-address\n"
		"  --read-ring --write-ring --xenstore-path --persistent[=BOOL] --name\n"
		"  --allowed-sources --routes --provision[=BOOL] --peer-interface --peer-routes\n"
		"  --watched[=BOOL] --hook --bridge (for vchan-tun-watch)\n"
		"\n"
		"SIGHUP re-reads DIR; SIGTERM or SIGINT closes every link and exits.\n"
		"Exit status: 0 when stopped by a signal, 1 when it cannot run, 2 on configuration errors.\n");
}

/* --- command line ------------------------------------------------------------------ */

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option own[] = {
		{ "config-dir", required_argument, NULL, OPT_CONFIG_DIR },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "provisioned", no_argument, NULL, OPT_PROVISIONED },
		{ "provisioned-by", required_argument, NULL, OPT_PROVISIONED_BY },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
	};
	enum { N_OWN = sizeof(own) / sizeof(own[0]) };
	struct option opts[N_OWN + CONFIG_N_OPTIONS + 1];
	struct config_error err;
	int ch, idx;

	memcpy(opts, own, sizeof(own));
	config_long_options(opts + N_OWN);
	memset(&opts[N_OWN + CONFIG_N_OPTIONS], 0, sizeof(opts[0]));
	config_init(&o->cmdline);
	o->control = CONTROL_DEFAULT_PATH;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vh", opts, &idx)) != -1) {
		switch (ch) {
		case OPT_CONFIG_DIR:
			o->config_dir = optarg;
			break;
		case OPT_CONTROL:
			o->control = optarg;
			break;
		case OPT_CHECK:
			o->check = true;
			break;
		case OPT_PROVISIONED_BY:
			o->provisioned_by = provisioned_by_option(PROG, optarg);
			/* fall through */
		case OPT_PROVISIONED:
			o->provisioned = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			print_version_and_exit(PROG);
		case CONFIG_OPTION_VAL:
			o->link_options = true;
			/* "--persistent yes" as "--persistent=yes": a yes/no word after it is its value */
			if (!optarg && opts[idx].has_arg == optional_argument && optind < argc &&
			    config_is_yes_no(argv[optind]))
				optarg = argv[optind++];
			if (config_set_option(&o->cmdline, opts[idx].name, optarg, &err))
				config_fail("%s", err.msg);
			break;
		case ':':
			config_fail("%s needs a value (try '" PROG " --help')", argv[optind - 1]);
		default:
			if (optopt)
				config_fail("unknown option '-%c' (try '" PROG " --help')", optopt);
			config_fail("unknown option '%s' (try '" PROG " --help')", argv[optind - 1]);
		}
	}
	if (optind < argc)
		config_fail("unexpected argument '%s': links come from --config-dir or link options",
			    argv[optind]);
	if (o->config_dir && o->link_options)
		config_fail("--config-dir cannot be combined with link options (--peer, --role, "
			    "...): a link comes either from files or from the command line");
	/* a provisioned guest may have no files at all: it reads a directory only if told */
	if (!o->link_options && !o->config_dir && !o->provisioned)
		o->config_dir = CONFIG_DEFAULT_DIR;
	if (o->link_options && config_finish(&o->cmdline, &err))
		config_fail("%s", err.msg);
}

/* A provisioned daemon provisions nobody: its links are its provisioner's business. */
static int check_provision(const struct opts *o, const struct link_config *links, size_t n,
			   struct config_error *err)
{
	for (size_t i = 0; o->provisioned && i < n; i++) {
		const struct link_config *c = &links[i];

		if (!c->provision)
			continue;
		if (c->source[0])
			snprintf(err->msg, sizeof(err->msg), "%.900s:%u: Provision = yes: not in a "
				 "daemon that is provisioned itself (--provisioned)", c->source,
				 c->key_line[CONFIG_KEY_PROVISION]);
		else
			snprintf(err->msg, sizeof(err->msg), "--provision: not in a daemon that is "
				 "provisioned itself (--provisioned)");
		return -1;
	}
	return 0;
}

/*
 * The configuration as files or options give it (none for a provisioned
 * daemon without either), checked as far as it can be without Xen.
 */
static int load_config(const struct opts *o, struct link_config **links, size_t *n,
		       struct config_error *err)
{
	*links = NULL;
	*n = 0;
	if (o->config_dir) {
		if (config_load_dir(o->config_dir, links, n, err))
			return -1;
	} else {
		*links = malloc(sizeof(**links));
		if (!*links) {
			snprintf(err->msg, sizeof(err->msg), "out of memory");
			return -1;
		}
		**links = o->cmdline;
		*n = o->link_options;
	}
	if (!check_provision(o, *links, *n, err))
		return 0;
	free(*links);
	*links = NULL;
	return -1;
}

static unsigned int server_grants(const struct link_config *links, size_t n)
{
	unsigned int sum = 0;

	for (size_t i = 0; i < n; i++)
		if (links[i].role == CONFIG_ROLE_SERVER)
			sum += config_grant_cost(&links[i]);
	return sum;
}

/* Ring sizes are powers of two from 1K to 1M: "64K", "1M". */
static const char *ring_text(uint32_t size, char *buf, size_t len)
{
	if (size >= 1048576)
		snprintf(buf, len, "%uM", size / 1048576);
	else
		snprintf(buf, len, "%uK", size / 1024);
	return buf;
}

/* What vchan-tun-watch makes of the link, where it differs from the defaults. */
static void print_watch_keys(const struct link_config *c)
{
	char net[INET6_ADDRSTRLEN];

	if (c->watched)
		printf(", watched");
	if (c->no_hook)
		printf(", no hook");
	else if (c->hook[0])
		printf(", hook %s", c->hook);
	if (c->bridge[0])
		printf(", bridge %s", c->bridge);
	for (size_t i = 0; i < c->n_routes; i++) {
		inet_ntop(c->routes[i].family, &c->routes[i].addr, net, sizeof(net));
		printf("%s%s/%u", i ? " " : ", routes ", net, c->routes[i].prefix);
	}
}

static void print_links(const struct opts *o, const struct link_config *links, size_t n)
{
	char rd[16], wr[16];

	if (!n && o->config_dir)
		printf("no links in %s\n", o->config_dir);
	else if (!n)
		printf("no links of its own: the provisioned ones come from XenStore\n");
	for (size_t i = 0; i < n; i++) {
		const struct link_config *c = &links[i];

		printf("%s: %s of domain %s, %s device %s, mtu %u, rings read %s write %s", c->name,
		       config_role_name(c->role), c->peer, config_mode_name(c->mode), c->ifname,
		       c->mtu, ring_text(c->read_ring, rd, sizeof(rd)),
		       ring_text(c->write_ring, wr, sizeof(wr)));
		if (c->role == CONFIG_ROLE_SERVER)
			printf(" (%u grants)", config_grant_cost(c));
		print_watch_keys(c);
		printf("\n");
	}
}

/* --- links ------------------------------------------------------------------------- */

static void free_link(void *l)
{
	link_free(l);
}

/* Stopped this round: events of it may still be queued in it, so it is freed after it. */
static void bury(struct daemon *d, struct link *l)
{
	loop_defer_free(&d->loop, l, free_link);
}

static struct link *find_link(struct link **links, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (links[i] && !strcmp(link_name(links[i]), name))
			return links[i];
	return NULL;
}

static struct link *start_link(struct daemon *d, const struct link_config *cfg)
{
	struct link *l = link_new(cfg, &d->env);

	if (!l) {
		log_link(LOG_ERR, cfg->name, "out of memory");
		return NULL;
	}
	d->starting = l;
	link_start(l);
	d->starting = NULL;
	return l;
}

/* log_set_fields()'s: a link's IFNAME and PEER_DOMID, for journalctl to select by. */
static size_t journal_fields(void *ctx, const char *name, char *buf, size_t len)
{
	struct daemon *d = ctx;
	struct link *l = d->starting;

	if (!l || strcmp(link_name(l), name))
		l = find_link(d->links, d->n_links, name);
	return l ? link_journal_fields(l, buf, len) : 0;
}

static void warn_grant_budget(const struct link_config *links, size_t n)
{
	unsigned int need = server_grants(links, n);

	if (need <= GNTALLOC_DEFAULT_LIMIT)
		return;
	log_msg(LOG_WARNING,
		"the links this domain offers (role server) need %u grants, and Linux's gntalloc "
		"allows %u per domain by default: some offers will fail unless xen_gntalloc's "
		"limit is raised; better, make this end the client of some links",
		need, GNTALLOC_DEFAULT_LIMIT);
}

/* "Interface, ReadRing": the keys of a mask of config_changed_keys(). */
static const char *keys_text(unsigned int keys, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned int k = 0; k < CONFIG_N_KEYS; k++)
		if (keys & (1u << k) && at < len)
			at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "",
					       config_key_name(k));
	return buf;
}

/*
 * A link whose configuration changed: in place if it can be, else stopped,
 * to start again (true) once every old link has freed its device name.
 */
static bool change_link(struct daemon *d, struct link *l, const struct link_config *now)
{
	unsigned int restart = config_restart_keys(link_cfg(l), now);
	char keys[256], why[ERROR_MSG_MAX + 64];
	struct error err;

	if (!restart && !link_reconfigure(l, now, &err))
		return false;
	if (restart)
		snprintf(why, sizeof(why), "configuration changed (%s): restarting",
			 keys_text(restart, keys, sizeof(keys)));
	else
		snprintf(why, sizeof(why), "configuration changed, but %s: restarting", err.msg);
	link_stop(l, why);
	bury(d, l);
	return true;
}

struct changes {
	size_t added, in_place, restarted, removed, kept;
	size_t retried;		/* failed for a reason only a reload retries, and retried */
};

static bool changed(const struct changes *c)
{
	return c->added || c->in_place || c->restarted || c->removed;
}

/*
 * The running links become cfgs, link by link: a link whose settings did
 * not change is left alone (its channel stays up); one whose change it can
 * take changes in place (link_reconfigure); any other changed one restarts;
 * gone ones stop, new ones start. The one way for SIGHUP and for a change
 * of the provisioned links alike; for a reload, the links it keeps also
 * take it as one (link_on_reload), and those that failed for a reason only
 * a reload retries are retried. 0, or -1 when out of memory (nothing
 * changed).
 */
static int apply_links(struct daemon *d, const struct link_config *cfgs, size_t n, bool reload,
		       struct changes *c)
{
	struct link **links, **old = d->links;
	size_t n_old = d->n_links;

	*c = (struct changes){ 0 };
	links = calloc(n ? n : 1, sizeof(*links));
	if (!links)
		return -1;
	/* Stop first what goes or restarts, so that its device name is free for the new one. */
	for (size_t i = 0; i < n_old; i++) {
		const struct link_config *now = NULL;

		for (size_t j = 0; j < n && !now; j++)
			if (!strcmp(cfgs[j].name, link_name(old[i])))
				now = &cfgs[j];
		if (now && config_equal(now, link_cfg(old[i]))) {
			c->kept++;
			continue;
		}
		if (now && !change_link(d, old[i], now)) {
			c->in_place++;
			continue;
		}
		if (!now) {
			link_stop(old[i], link_cfg(old[i])->provisioned ? "no longer provisioned"
								 : "removed from the configuration");
			bury(d, old[i]);
			c->removed++;
		} else {
			c->restarted++;
		}
		old[i] = NULL;
	}
	for (size_t j = 0; j < n; j++) {
		links[j] = find_link(old, n_old, cfgs[j].name);
		if (!links[j]) {
			links[j] = start_link(d, &cfgs[j]);
			continue;
		}
		if (!reload)
			continue;
		link_on_reload(links[j]);
		/* what was missing (a module, a capability, a name) may be there now */
		if (link_needs_reload(links[j])) {
			c->retried++;
			link_retry(links[j]);
		}
	}
	c->added = n - c->kept - c->in_place - c->restarted;
	/* a failed allocation leaves a hole: close it */
	d->n_links = 0;
	for (size_t j = 0; j < n; j++)
		if (links[j])
			links[d->n_links++] = links[j];
	d->links = links;
	free(old);
	return 0;
}

/*
 * Only a provisioned daemon merges the files' links again without reading
 * the files (follow_provisioned). Any other reads them on each reload and
 * has no use for a copy meanwhile: its links hold theirs, and 128 links are
 * 1.7 MiB less.
 */
static void forget_file_cfgs(struct daemon *d)
{
	if (d->o->provisioned)
		return;
	free(d->file_cfgs);
	d->file_cfgs = NULL;
	d->n_file = 0;
}

/* The files' links as last loaded and the provisioned ones as now, applied. */
static int run_links(struct daemon *d, bool reload, struct changes *c)
{
	struct link_config *all;
	size_t n;
	int rc;

	if (d->provisioned)
		provisioned_read(&d->prov);
	if (provisioned_merge(d->provisioned ? &d->prov : NULL, d->file_cfgs, d->n_file, &all, &n))
		return -1;
	rc = apply_links(d, all, n, reload, c);
	if (!rc)
		warn_grant_budget(all, n);
	free(all);
	return rc;
}

/* The provisioned links changed (or may have): they follow, and the log says so if they did. */
static void follow_provisioned(struct daemon *d)
{
	struct changes c;

	if (run_links(d, false, &c)) {
		log_msg(LOG_ERR, "out of memory");
		return;
	}
	if (!changed(&c))
		return;
	d->status_stale = true;
	log_msg(LOG_NOTICE, "provisioned links changed: %zu links (%zu added, %zu changed in "
		"place, %zu restarted, %zu removed, %zu unchanged)", d->n_links, c.added,
		c.in_place, c.restarted, c.removed, c.kept);
}

/*
 * SIGHUP: the files are read again, and the provisioned links too, and the
 * links follow (apply_links). A configuration that does not load changes
 * nothing.
 */
static int reload_links(struct daemon *d, struct strbuf *out)
{
	struct link_config *cfgs = NULL;
	struct config_error err;
	struct changes c;
	char failed[64] = "";
	int rc;
	size_t n = 0;

	if (!d->o->config_dir && !d->provisioned) {
		/* still a reload for the device: addresses removed with ip come back */
		for (size_t i = 0; i < d->n_links; i++)
			link_on_reload(d->links[i]);
		sb_printf(out, "nothing to reload: the link was given on the command line");
		log_msg(LOG_NOTICE, "nothing to reload: the link was given on the command line");
		return 0;
	}
	if (d->o->config_dir) {
		if (load_config(d->o, &cfgs, &n, &err)) {
			log_msg(LOG_ERR, "reload failed, keeping the running configuration: %s",
				err.msg);
			sb_printf(out, "%s", err.msg);
			return -1;
		}
		free(d->file_cfgs);
		d->file_cfgs = cfgs;
		d->n_file = n;
	}
	rc = run_links(d, true, &c);
	forget_file_cfgs(d);
	if (rc) {
		sb_printf(out, "out of memory");
		return -1;
	}
	if (c.retried)
		snprintf(failed, sizeof(failed), ", %zu of them failed and retried", c.retried);
	log_msg(LOG_NOTICE, "configuration reloaded: %zu links (%zu added, %zu changed in place, "
		"%zu restarted, %zu removed, %zu unchanged%s)", d->n_links, c.added, c.in_place,
		c.restarted, c.removed, c.kept, failed);
	sb_printf(out, "reloaded: %zu links (%zu added, %zu changed in place, %zu restarted, "
		  "%zu removed, %zu unchanged%s)\n", d->n_links, c.added, c.in_place, c.restarted,
		  c.removed, c.kept, failed);
	return 0;
}

/*
 * SIGHUP and `vchan-tunctl reload`, framed for systemd: RELOADING=1 first,
 * READY=1 once done, whatever the outcome (a failed reload keeps the running
 * links, and the service is as ready as before), even with nothing to reload,
 * as Type=notify-reload waits for both after its SIGHUP.
 */
static int reload(struct daemon *d, struct strbuf *out)
{
	int rc;

	sd_notify_reloading();
	rc = reload_links(d, out);
	snprintf(d->reload_error, sizeof(d->reload_error), "%s",
		 rc && out->buf ? out->buf : "");
	d->status_stale = true;
	sd_notify_send("READY=1");
	return rc;
}

static int start_links(struct daemon *d, const struct link_config *cfgs, size_t n)
{
	d->links = calloc(n ? n : 1, sizeof(*d->links));
	if (!d->links) {
		log_msg(LOG_ERR, "out of memory");
		return -1;
	}
	if (!n && !d->o->provisioned)
		log_msg(LOG_WARNING, "no links in %s: waiting for SIGHUP", d->o->config_dir);
	warn_grant_budget(cfgs, n);
	for (size_t i = 0; i < n; i++) {
		struct link *l = start_link(d, &cfgs[i]);

		if (l)
			d->links[d->n_links++] = l;
	}
	return 0;
}

/*
 * Every link failed, each for a reason that retrying cannot mend: nothing
 * would ever run, and a service manager must not hear READY=1.
 */
static bool all_failed(const struct daemon *d)
{
	/* a provisioned daemon waits for what its provisioner publishes */
	if (d->o->provisioned)
		return false;
	for (size_t i = 0; i < d->n_links; i++)
		if (!link_needs_reload(d->links[i]))
			return false;
	return d->n_links > 0;
}

static void stop_links(struct daemon *d, const char *why)
{
	for (size_t i = 0; i < d->n_links; i++) {
		link_stop(d->links[i], why);
		link_free(d->links[i]);
	}
	d->n_links = 0;
}

/* --- control ----------------------------------------------------------------------- */

/* Every link's status, or only the link named (NULL: all). */
static int status(struct daemon *d, bool json, const char *only, struct strbuf *out)
{
	struct link_status st;
	struct link *one = only ? find_link(d->links, d->n_links, only) : NULL;
	char name[4 * 64 + 1];
	bool first = true;

	if (only && !one) {
		sb_printf(out, "no link '%s'", printable(only, name, sizeof(name)));
		return -1;
	}
	if (json)
		status_json_begin(out, d->env.own_domid);
	else
		status_text_begin(out, d->env.own_domid, one ? 1 : d->n_links);
	for (size_t i = 0; i < d->n_links; i++) {
		if (one && d->links[i] != one)
			continue;
		link_status(d->links[i], &st);
		if (json)
			status_json(out, &st, first);
		else
			status_text(out, &st);
		first = false;
	}
	if (json)
		status_json_end(out);
	return 0;
}

/* "status", "status json", either followed by "link NAME"; "reload". */
static int on_command(void *ctx, const char *cmd, struct strbuf *out)
{
	struct daemon *d = ctx;
	const char *rest;
	bool json;

	if (!strcmp(cmd, "reload"))
		return reload(d, out);
	if (!strncmp(cmd, "status", 6) && (!cmd[6] || cmd[6] == ' ')) {
		rest = cmd + 6;
		json = !strncmp(rest, " json", 5) && (!rest[5] || rest[5] == ' ');
		rest += json ? 5 : 0;
		if (!*rest)
			return status(d, json, NULL, out);
		if (!strncmp(rest, " link ", 6) && rest[6] && !strchr(rest + 6, ' '))
			return status(d, json, rest + 6, out);
	}
	sb_printf(out, "unknown command '%.64s': expected 'status [json] [link NAME]' or 'reload'",
		  cmd);
	return -1;
}

/* --- the loop's decisions ---------------------------------------------------------- */

static struct daemon *daemon_of(struct loop *lp)
{
	return lp->ctx;
}

static void on_reload(struct loop *lp)
{
	struct daemon *d = daemon_of(lp);
	struct strbuf out = { 0 };

	log_msg(LOG_NOTICE, "SIGHUP: reloading %s",
		d->o->config_dir ? d->o->config_dir : "(nothing: command-line link)");
	reload(d, &out);
	sb_free(&out);
}

static void on_terminate(struct loop *lp, int signo)
{
	log_msg(LOG_NOTICE, "%s: shutting down", strsignal(signo));
	loop_stop(lp, 0);
}

static void on_watch(struct loop *lp, const char *token)
{
	struct daemon *d = daemon_of(lp);
	bool all = !strcmp(token, XSTORE_TOKEN_ALL);

	for (size_t i = 0; i < d->n_links; i++)
		if (all || !strcmp(token, link_watch_token(d->links[i])))
			link_on_watch(d->links[i]);
	if (d->provisioned && (all || !strcmp(token, PROVISION_TOKEN)) &&
	    provisioned_event(&d->prov, now_ms()))
		follow_provisioned(d);
}

/* Release first: a rebooted guest is a destroyed domain, then a new one. */
static void on_domains(struct loop *lp, bool released, bool introduced)
{
	struct daemon *d = daemon_of(lp);
	struct xstore_domain *doms = NULL;
	struct error err = { .msg = "" };
	bool names = false;
	size_t n = 0;

	for (size_t i = 0; released && i < d->n_links; i++)
		link_on_release(d->links[i]);
	if (!introduced)
		return;
	for (size_t i = 0; i < d->n_links; i++)
		names |= link_cfg(d->links[i])->peer_is_name;
	/* one listing for every link: a dozen links need not read XenStore a dozen times */
	if (names && xstore_list_domains(lp->xs, &doms, &n, &err))
		doms = NULL;
	for (size_t i = 0; i < d->n_links; i++)
		link_on_introduce(d->links[i], doms, n, err.msg);
	free(doms);
}

static void on_xenstore_back(struct loop *lp)
{
	struct daemon *d = daemon_of(lp);

	for (size_t i = 0; i < d->n_links; i++)
		link_on_xenstore_back(d->links[i]);
}

/* Now when a link has work left, else its nearest deadline. */
static int64_t next_deadline(struct loop *lp)
{
	struct daemon *d = daemon_of(lp);
	int64_t first = d->provisioned ? provisioned_deadline(&d->prov) : 0;

	for (size_t i = 0; i < d->n_links; i++) {
		int64_t t = link_deadline(d->links[i]);

		if (link_busy(d->links[i]))
			return 1;
		if (t && (!first || t < first))
			first = t;
	}
	return first;
}

/* systemd's one-line STATUS=, e.g. "3 links, 2 running", sent when it changes. */
static void tell_status(struct daemon *d)
{
	size_t running = 0;

	for (size_t i = 0; i < d->n_links; i++)
		running += link_state(d->links[i]) == LINK_RUNNING;
	if (!d->status_stale && d->told_links == d->n_links && d->told_running == running)
		return;
	d->told_links = d->n_links;
	d->told_running = running;
	d->status_stale = false;
	sd_notify_status("%zu link%s, %zu running%s%s", d->n_links, d->n_links == 1 ? "" : "s",
			 running, d->reload_error[0] ? "; the last reload failed: " : "",
			 d->reload_error);
}

static void on_round(struct loop *lp, int64_t now)
{
	struct daemon *d = daemon_of(lp);

	for (size_t i = 0; i < d->n_links; i++) {
		struct link *l = d->links[i];
		int64_t t = link_deadline(l);

		if (link_busy(l))
			link_service(l);
		if (t && t <= now)
			link_on_deadline(l, now);
	}
	if (d->provisioned && provisioned_due(&d->prov, now))
		follow_provisioned(d);
	tell_status(d);
}

static const struct loop_ops daemon_ops = {
	.reload = on_reload,
	.terminate = on_terminate,
	.watch = on_watch,
	.domains = on_domains,
	.xenstore_back = on_xenstore_back,
	.deadline = next_deadline,
	.round = on_round,
};

/* --- the kernel ------------------------------------------------------------------------ */

/* Announcements read per wake-up: a storm of them must not starve the links. */
#define KERNEL_BUDGET	64

static void on_kernel_event(const struct netlink_event *ev, void *arg)
{
	struct daemon *d = arg;

	for (size_t i = 0; i < d->n_links; i++) {
		if (link_ifindex(d->links[i]) == ev->ifindex) {
			link_on_kernel(d->links[i], ev);
			return;
		}
	}
}

static void on_kernel(struct ev_source *src, uint32_t events)
{
	struct daemon *d = container_of(src, struct daemon, kernel_src);
	int rc = netlink_listener_read(d->kernel, KERNEL_BUDGET, on_kernel_event, d);

	if (rc >= 0)
		return;
	if (rc == -ENOBUFS) {
		log_msg(LOG_WARNING, "missed some of the kernel's announcements (we read too "
			"slowly): reading the state of every device again");
		for (size_t i = 0; i < d->n_links; i++)
			link_on_kernel_resync(d->links[i]);
		return;
	}
	/* level-triggered: a socket that keeps failing would spin the loop */
	log_msg(LOG_ERR, "netlink: cannot read the kernel's announcements: %s; changes made "
		"to the devices with ip are no longer followed", strerror(-rc));
	epoll_ctl(d->loop.epfd, EPOLL_CTL_DEL, netlink_listener_fd(d->kernel), NULL);
}

static int listen_kernel(struct daemon *d, struct error *err)
{
	d->kernel = netlink_listen(err);
	if (!d->kernel)
		return -1;
	if (ev_add(d->loop.epfd, netlink_listener_fd(d->kernel), &d->kernel_src, on_kernel) < 0)
		return error_set(err, errno, "epoll: cannot add the netlink listener: %s",
				 strerror(errno));
	return 0;
}

/* --- setting up ---------------------------------------------------------------------- */

/*
 * Following what the provisioner publishes for us. Domain 0 provisions and
 * is never provisioned: nobody may hand it links.
 */
static int setup_provisioned(struct daemon *d)
{
	struct error err;

	if (provisioned_open(&d->prov, d->env.xs, d->env.own_domid, d->o->provisioned_by, &err)) {
		log_msg(LOG_ERR, "%s", err.msg);
		return err.lasting ? EXIT_CONFIG_ERROR : EXIT_FAILURE;
	}
	d->provisioned = true;
	return 0;
}

/* 0, or the exit status: what failed is logged. */
static int setup(struct daemon *d)
{
	struct error err;

	if (loop_open(&d->loop, &daemon_ops, d, &err)) {
		log_msg(LOG_ERR, "%s", err.msg);
		return EXIT_FAILURE;
	}
	d->env.epfd = d->loop.epfd;
	d->env.xs = d->loop.xs;
	d->env.own_domid = d->loop.own_domid;
	d->env.nl = netlink_open(&err);
	if (!d->env.nl || listen_kernel(d, &err)) {
		log_msg(LOG_ERR, "%s", err.msg);
		return EXIT_FAILURE;
	}
	d->ctl = control_open(d->o->control, d->loop.epfd, on_command, d, &err);
	if (!d->ctl) {
		log_msg(LOG_ERR, "%s", err.msg);
		return EXIT_FAILURE;
	}
	return d->o->provisioned ? setup_provisioned(d) : 0;
}

static void teardown(struct daemon *d)
{
	stop_links(d, "shutting down");
	free(d->links);
	free(d->file_cfgs);
	if (d->provisioned)
		provisioned_close(&d->prov);
	control_close(d->ctl);
	netlink_listener_close(d->kernel);
	netlink_close(d->env.nl);
	loop_close(&d->loop);
}

int main(int argc, char **argv)
{
	struct daemon d = { .loop = { .epfd = -1, .sig_fd = -1 } };
	struct link_config *cfgs = NULL;
	struct config_error err;
	struct opts o = { 0 };
	size_t n = 0;
	int ret;

	parse_args(argc, argv, &o);
	log_init(PROG, o.verbose);
	/* the configuration first: its errors are the same with or without Xen */
	if (load_config(&o, &cfgs, &n, &err))
		config_fail("%s", err.msg);
	if (o.check) {
		print_links(&o, cfgs, n);
		free(cfgs);
		return 0;
	}
	d.o = &o;
	d.file_cfgs = cfgs;
	d.n_file = n;
	log_set_fields(journal_fields, &d);
	ret = setup(&d);
	if (ret)
		goto out;
	ret = EXIT_FAILURE;
	if (start_links(&d, cfgs, n))
		goto out;
	forget_file_cfgs(&d);
	if (all_failed(&d)) {
		log_msg(LOG_ERR, "no link can run (%s above): exiting",
			d.n_links == 1 ? "the reason is" : "each link's reason is");
		goto out;
	}
	log_msg(LOG_INFO, "running as domain %u with %zu link%s, control socket %s",
		d.env.own_domid, d.n_links, d.n_links == 1 ? "" : "s", o.control);
	d.status_stale = true;
	tell_status(&d);
	sd_notify_send("READY=1");
	ret = loop_run(&d.loop);
	sd_notify_send("STOPPING=1");
out:
	teardown(&d);
	return ret;
}
