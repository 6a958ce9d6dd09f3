// SPDX-License-Identifier: GPL-2.0-only
/*
 * Provisioning: see provision.h. The provisioning end is link.c's; here are
 * the path both ends agree on and the provisioned end's watch and reading.
 *
 * What the guest reads was written by its provisioner, whom it trusts, but
 * the directory is in the guest's own tree, where a toolstack may have let
 * the guest (or someone else) write too: owners are checked node by node,
 * and the reading is bounded (PROVISION_MAX_KEYS keys a link,
 * CONFIG_MAX_LINKS links) whatever is there.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "provision.h"
#include "util.h"

#define WATCH_BURST		8
#define WATCH_INTERVAL_MS	100
/* Keys a link may have: every key once, and room for a mistake to be reported as one. */
#define PROVISION_MAX_KEYS	(CONFIG_N_KEYS + 8)

struct provision_note {
	char *name;
	char *msg;
	bool seen;			/* reported again this round */
};

int provision_path(unsigned int guest, const char *link, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/local/domain/%u/" CONFIG_PROVISION_DIR "/%s", guest, link);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* --- the provisioning end ------------------------------------------------------------ */

void provision_forget(struct provision_pub *p)
{
	free(p->pub);
	p->pub = NULL;
	p->path[0] = '\0';
}

void provision_withdraw(struct provision_pub *p, struct xstore *xs)
{
	if (p->path[0])
		xstore_rm(xs, p->path, 1);
	provision_forget(p);
}

static bool same_published(const struct config_published *a, const struct config_published *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->pairs[i].key, b->pairs[i].key) ||
		    strcmp(a->pairs[i].value, b->pairs[i].value))
			return false;
	return true;
}

void provision_sync(struct provision_pub *p, struct xstore *xs, const struct link_config *cfg,
		    unsigned int self, const unsigned int *guest)
{
	char path[PROVISION_PATH_MAX];
	struct config_published *pub;
	struct error err;

	if (!guest || provision_path(*guest, cfg->name, path, sizeof(path))) {
		provision_withdraw(p, xs);
		return;
	}
	pub = malloc(sizeof(*pub));
	if (!pub) {
		log_link(LOG_ERR, cfg->name, "out of memory");
		return;
	}
	config_provision(cfg, self, pub);
	if (!strcmp(path, p->path) && same_published(pub, p->pub)) {
		free(pub);
		return;
	}
	/* a domain gone takes its tree with it; one still there loses ours */
	if (strcmp(path, p->path))
		provision_withdraw(p, xs);
	if (xstore_publish(xs, path, pub->pairs, pub->n, self, *guest, &err)) {
		log_link(LOG_WARNING, cfg->name, "cannot provision domain %u: %s", *guest, err.msg);
		free(pub);
		provision_withdraw(p, xs);
		return;
	}
	log_link(LOG_INFO, cfg->name, "provisioned domain %u at %s", *guest, path);
	free(p->pub);
	p->pub = pub;
	snprintf(p->path, sizeof(p->path), "%s", path);
}

/* --- the watch --------------------------------------------------------------------- */

unsigned int provisioned_by_option(const char *prog, const char *value)
{
	unsigned int by;

	if (config_parse_domid(value, &by))
		exit_config_error(prog, "--provisioned-by '%.64s': expected a domain id from 0 "
				  "to %u", value, CONFIG_DOMID_MAX);
	return by;
}

int provisioned_open(struct provisioned *p, struct xstore *xs, unsigned int self,
		     unsigned int by, struct error *err)
{
	if (!self) {
		error_set(err, EINVAL, "--provisioned: this is domain 0, which provisions others "
			  "and takes links from nobody");
		return error_lasting(err, NULL);
	}
	if (by == self) {
		error_set(err, EINVAL, "--provisioned-by %u: that is this domain", by);
		return error_lasting(err, NULL);
	}
	memset(p, 0, sizeof(*p));
	p->xs = xs;
	p->self = self;
	p->by = by;
	snprintf(p->dir, sizeof(p->dir), "/local/domain/%u/" CONFIG_PROVISION_DIR, self);
	watch_pace_init(&p->pace, WATCH_BURST, WATCH_INTERVAL_MS);
	/* xenstored lets us watch what is not there yet: it fires when dom0 creates it */
	if (xstore_watch(xs, p->dir, PROVISION_TOKEN, err))
		return -1;
	log_msg(LOG_INFO, "following the links domain %u provisions at %s", by, p->dir);
	return 0;
}

static void notes_free(struct provision_note **notes, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free((*notes)[i].name);
		free((*notes)[i].msg);
	}
	free(*notes);
	*notes = NULL;
	*n = 0;
}

void provisioned_close(struct provisioned *p)
{
	free(p->links);
	p->links = NULL;
	p->n_links = 0;
	notes_free(&p->notes, &p->n_notes);
	notes_free(&p->held, &p->n_held);
}

bool provisioned_event(struct provisioned *p, int64_t now)
{
	bool mute;

	if (watch_pace_take(&p->pace, now, &mute))
		return true;
	if (mute) {
		log_msg(LOG_DEBUG, "%s changes too fast: not watching it for %u ms", p->dir,
			p->pace.mute_ms);
		xstore_unwatch(p->xs, p->dir, PROVISION_TOKEN);
	}
	return false;
}

int64_t provisioned_deadline(const struct provisioned *p)
{
	return watch_pace_deadline(&p->pace);
}

bool provisioned_due(struct provisioned *p, int64_t now)
{
	struct error err;

	if (watch_pace_unmute(&p->pace, now)) {
		/* it fires once at once, and says what we missed; failing, try later */
		if (xstore_watch(p->xs, p->dir, PROVISION_TOKEN, &err)) {
			log_msg(LOG_WARNING, "%s", err.msg);
			p->pace.muted = true;
			p->pace.unmute_ms = now + PACE_MUTE_MAX_MS;
		}
		return false;
	}
	if (p->pace.fired && watch_pace_deadline(&p->pace) <= now)
		return provisioned_event(p, now);
	return false;
}

/* --- reports ------------------------------------------------------------------------ */

/* Appends copies of name and msg, seen; false when out of memory. */
static bool note_add(struct provision_note **notes, size_t *n, const char *name, const char *msg)
{
	struct provision_note *more = realloc(*notes, (*n + 1) * sizeof(*more));

	if (!more)
		return false;
	*notes = more;
	more[*n] = (struct provision_note){ strdup(name), strdup(msg), true };
	if (!more[*n].name || !more[*n].msg) {
		free(more[*n].name);
		free(more[*n].msg);
		return false;
	}
	(*n)++;
	return true;
}

void provisioned_reject(struct provisioned *p, const char *name, const char *msg)
{
	char safe[4 * CONFIG_NAME_MAX + 1];

	/* what a read that may yet prove torn saw is not news yet */
	if (p->holding) {
		if (!note_add(&p->held, &p->n_held, name, msg))
			log_msg(LOG_ERR, "out of memory");
		return;
	}
	for (size_t i = 0; i < p->n_notes; i++) {
		if (strcmp(p->notes[i].name, name))
			continue;
		if (!strcmp(p->notes[i].msg, msg)) {
			p->notes[i].seen = true;
			return;
		}
	}
	log_msg(LOG_WARNING, "provisioned link '%s' ignored: %s",
		printable(name, safe, sizeof(safe)), msg);
	note_add(&p->notes, &p->n_notes, name, msg);
}

void provisioned_done(struct provisioned *p)
{
	size_t kept = 0;

	for (size_t i = 0; i < p->n_notes; i++) {
		if (p->notes[i].seen) {
			p->notes[kept++] = p->notes[i];
			continue;
		}
		free(p->notes[i].name);
		free(p->notes[i].msg);
	}
	p->n_notes = kept;
}

/* --- reading ------------------------------------------------------------------------ */

static void __attribute__((format(printf, 3, 4)))
reject(struct provisioned *p, const char *name, const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	provisioned_reject(p, name, msg);
}

/* Its node, if the provisioner wrote it: 1; 0 when gone meanwhile; -1 when rejected. */
static int read_trusted(struct provisioned *p, const char *name, const char *path,
			char **value)
{
	unsigned int owner = 0;
	char safe[4 * 128 + 1];
	int rc = xstore_read_owned(p->xs, path, value, &owner);

	if (rc < 0) {
		reject(p, name, "cannot read %s: %s", printable(path, safe, sizeof(safe)),
		       strerror(errno));
		return -1;
	}
	if (rc && owner != p->by) {
		reject(p, name, "%s is domain %u's, not the provisioner's (domain %u)",
		       printable(path, safe, sizeof(safe)), owner, p->by);
		free(*value);
		*value = NULL;
		return -1;
	}
	return rc;
}

/* One link: 1 into cfg; 0 when it went meanwhile; -1 when ignored (reported). */
static int read_link(struct provisioned *p, const char *name, struct link_config *cfg)
{
	struct config_pair pairs[PROVISION_MAX_KEYS];
	char dir[CONFIG_SOURCE_MAX], path[CONFIG_SOURCE_MAX], *dir_value = NULL;
	char *values[PROVISION_MAX_KEYS] = { 0 }, **keys = NULL;
	unsigned int n = 0, got = 0;
	struct config_error cerr;
	int ret;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", p->dir, name) >= sizeof(dir)) {
		reject(p, name, "name longer than a XenStore path");
		return -1;
	}
	ret = read_trusted(p, name, dir, &dir_value);
	free(dir_value);
	if (ret <= 0)
		return ret;
	ret = xstore_list(p->xs, dir, &keys, &n);
	if (ret <= 0) {
		if (ret < 0)
			reject(p, name, "cannot list its keys: %s", strerror(errno));
		return ret;
	}
	if (n > PROVISION_MAX_KEYS) {
		reject(p, name, "%u keys: a link has at most %d", n, PROVISION_MAX_KEYS);
		ret = -1;
		goto out;
	}
	for (unsigned int i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, keys[i]) >= sizeof(path)) {
			reject(p, name, "a key's name is longer than a XenStore path");
			ret = -1;
			goto out;
		}
		ret = read_trusted(p, name, path, &values[got]);
		if (ret < 0)
			goto out;
		/* a key removed meanwhile: the next event reads the link again */
		if (!ret)
			continue;
		pairs[got] = (struct config_pair){ keys[i], values[got] };
		got++;
	}
	ret = config_parse_pairs(dir, pairs, got, cfg, &cerr) ? -1 : 1;
	if (ret < 0)
		provisioned_reject(p, name, cerr.msg);
	cfg->provisioned = true;
	cfg->provisioned_by = p->by;
out:
	for (unsigned int i = 0; i < got; i++)
		free(values[i]);
	free(keys);
	return ret;
}

struct reading {
	struct provisioned *p;
	struct link_config *list;
	size_t n;
};

/* One look at every link, from the start: the last one may have been torn. */
static int read_all(struct xstore *xs, void *arg)
{
	struct reading *r = arg;
	struct provisioned *p = r->p;
	char **names = NULL;
	unsigned int count = 0;

	free(r->list);
	r->list = NULL;
	r->n = 0;
	notes_free(&p->held, &p->n_held);
	if (xstore_list(xs, p->dir, &names, &count) < 0)
		return -1;
	if (count > CONFIG_MAX_LINKS) {
		reject(p, "*", "more than %u links under %s: the rest are ignored",
		       CONFIG_MAX_LINKS, p->dir);
		count = CONFIG_MAX_LINKS;
	}
	r->list = calloc(count ? count : 1, sizeof(*r->list));
	if (!r->list) {
		free(names);
		errno = ENOMEM;
		return -1;
	}
	for (unsigned int i = 0; i < count; i++)
		if (read_link(p, names[i], &r->list[r->n]) > 0)
			r->n++;
	free(names);
	return 0;
}

void provisioned_read(struct provisioned *p)
{
	struct reading r = { .p = p };
	int rc;

	p->holding = true;
	rc = xstore_snapshot(p->xs, read_all, &r);
	p->holding = false;
	if (rc) {
		log_msg(LOG_WARNING, "cannot read %s: %s", p->dir,
			errno == EAGAIN ? "it changed during every try" : strerror(errno));
		notes_free(&p->held, &p->n_held);
		free(r.list);
		return;
	}
	for (size_t i = 0; i < p->n_notes; i++)
		p->notes[i].seen = false;
	for (size_t i = 0; i < p->n_held; i++)
		provisioned_reject(p, p->held[i].name, p->held[i].msg);
	notes_free(&p->held, &p->n_held);
	free(p->links);
	p->links = r.list;
	p->n_links = r.n;
}

/* Why a provisioned link cannot run beside one before it; false when it can. */
static bool clash(const struct link_config *before, const struct link_config *p,
		  struct config_error *err)
{
	size_t len;

	if (!strcmp(before->name, p->name)) {
		snprintf(err->msg, sizeof(err->msg), "%.400s: link '%s' is also configured in "
			 "%.400s: the provisioned one is not started", p->source, p->name,
			 before->source[0] ? before->source : "the command line");
		return true;
	}
	if (!config_link_clash(before, p, err))
		return false;
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": the provisioned one is not started");
	return true;
}

int provisioned_merge(struct provisioned *p, const struct link_config *own, size_t n_own,
		      struct link_config **out, size_t *n)
{
	const struct link_config *prov = p ? p->links : NULL;
	size_t n_prov = p ? p->n_links : 0;
	struct link_config *all = calloc(n_own + n_prov + 1, sizeof(*all));
	struct config_error err;

	*out = all;
	*n = 0;
	if (!all)
		return -1;
	if (n_own)
		memcpy(all, own, n_own * sizeof(*all));
	*n = n_own;
	for (size_t i = 0; i < n_prov; i++) {
		bool clashes = false;

		for (size_t j = 0; j < *n && !clashes; j++)
			clashes = clash(&all[j], &prov[i], &err);
		if (clashes)
			provisioned_reject(p, prov[i].name, err.msg);
		else
			all[(*n)++] = prov[i];
	}
	if (p)
		provisioned_done(p);
	return 0;
}
