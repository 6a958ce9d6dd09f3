// SPDX-License-Identifier: MIT
/*
 * xenstored-lite: the requests of the XenStore protocol.
 *
 * Each handler returns 0 once it has replied, or an errno value for the error
 * reply.  Handlers check everything that can fail before they change anything,
 * so a failed request leaves the store (or its transaction) as it was.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "domain.h"
#include "loop.h"
#include "ops.h"
#include "path.h"
#include "state.h"
#include "store.h"
#include "transaction.h"
#include "util.h"
#include "watch.h"

struct req {
	struct conn *c;
	const struct xsd_sockmsg *hdr;
	char *data;
	unsigned int len;
	unsigned int domid;
	bool priv;
	struct tree *tree;	/* the live store, or the transaction's copy */
	struct transaction *tx; /* NULL outside a transaction */
};

/* --- replies --------------------------------------------------------------- */

static void reply(struct req *r, const void *data, unsigned int len)
{
	log_trace("domain %u conn %u: < %u bytes", r->domid, r->c->serial, len);
	conn_send(r->c, r->hdr->type, r->hdr->req_id, r->hdr->tx_id, data, len);
}

static void reply_ok(struct req *r)
{
	log_trace("domain %u conn %u: < OK", r->domid, r->c->serial);
	conn_send(r->c, r->hdr->type, r->hdr->req_id, r->hdr->tx_id, "OK", sizeof("OK"));
}

static void reply_error(struct req *r, int err)
{
	const char *name = errno_name(err);

	log_trace("domain %u conn %u: < ERROR %s", r->domid, r->c->serial, name);
	conn_send(r->c, XS_ERROR, r->hdr->req_id, r->hdr->tx_id, name,
		  (unsigned int)strlen(name) + 1);
}

/* --- arguments ------------------------------------------------------------- */

/* The payload as one string: exactly one NUL, at its end (C xenstored's onearg()). */
static const char *onearg(const struct req *r)
{
	if (!r->len || memchr(r->data, '\0', r->len) != r->data + r->len - 1)
		return NULL;
	return r->data;
}

/* The string after the first one (the caller has counted the NULs). */
static const char *second_arg(const struct req *r)
{
	return r->data + strlen(r->data) + 1;
}

static bool arg_domid(const char *arg, unsigned long max, unsigned int *domid)
{
	unsigned long v;

	if (!arg || !parse_uint(arg, max, &v))
		return false;
	*domid = (unsigned int)v;
	return true;
}

/* --- node access ----------------------------------------------------------- */

/* Logs what a transaction saw of path, for its conflict check. */
static int note(struct req *r, const char *path, const struct node *n)
{
	return r->tx ? tx_note(r->tx, path, n, r->priv) : 0;
}

/* path without its last k components. */
static char *path_cut(const char *path, unsigned int k)
{
	size_t len = strlen(path);
	char *p;

	while (k-- && len > 1) {
		while (len > 1 && path[len - 1] != '/')
			len--;
		if (len > 1)
			len--;
	}
	p = xmalloc(len + 1);
	memcpy(p, path, len);
	p[len] = '\0';
	return p;
}

/*
 * C xenstored's rule: a failure must not tell a domain anything about a node
 * it may not see, so unless the nearest existing ancestor grants the access
 * asked for, the answer is EACCES whatever went wrong.
 */
static int err_from_parents(struct req *r, const char *path, unsigned int want, int err)
{
	unsigned int missing;
	struct node *a;
	char *apath;
	int ret;

	if (r->priv)
		return err;
	a = tree_nearest(r->tree, path, &missing);
	if (!missing && a->parent) {
		a = a->parent;
		missing = 1;
	}
	apath = path_cut(path, missing);
	ret = note(r, apath, a);
	free(apath);
	if (ret)
		return ret;
	return (perm_for(&a->perms, r->domid) & want) ? err : EACCES;
}

/* The node at path if the caller has every access in want; else an errno value. */
static int get_node(struct req *r, const char *path, unsigned int want, struct node **out)
{
	struct node *n = tree_find(r->tree, path);
	int err = note(r, path, n);

	*out = NULL;
	if (err)
		return err;
	if (n && (perm_for(&n->perms, r->domid) & want) == want) {
		*out = n;
		return 0;
	}
	return err_from_parents(r, path, want, n ? EACCES : ENOENT);
}

/* Creates path and its missing ancestors (the caller knows it may). */
static int create_node(struct req *r, const char *path, struct node **out)
{
	unsigned int missing, i;
	char *apath;
	int err;

	tree_nearest(r->tree, path, &missing);
	if (!r->priv && tree_owned(r->tree, r->domid) + missing > cfg.quota_nodes)
		return ENOSPC;

	if (r->tx) {
		/* The ancestor gains a child; every new node was seen absent. */
		for (i = missing; i > 0; i--) {
			apath = path_cut(path, i);
			err = note(r, apath, tree_find(r->tree, apath));
			free(apath);
			if (err)
				return err;
		}
	}
	*out = tree_create(r->tree, path, r->priv ? -1 : (int)r->domid);
	return 0;
}

/* A change worth a watch event; in a transaction it waits for the commit. */
static void fire(struct req *r, const char *path, bool subtree, const struct node_perms *before,
		 const struct node_perms *after)
{
	if (r->tx)
		tx_queue_event(r->tx, path, subtree, before);
	else
		watch_fire(path, subtree, before, after);
}

/* --- the store ------------------------------------------------------------- */

static int do_read(struct req *r)
{
	const char *arg = onearg(r);
	struct node *n;
	char *path;
	unsigned int prefix;
	int err;

	if (!arg)
		return EINVAL;
	err = path_canonical(arg, r->domid, false, &path, &prefix);
	if (err)
		return err;
	err = get_node(r, path, PERM_READ, &n);
	if (!err)
		reply(r, n->value, n->len);
	free(path);
	return err;
}

static int do_write(struct req *r)
{
	const char *nul = memchr(r->data, '\0', r->len);
	const char *value;
	unsigned int vlen, prefix;
	struct node *n;
	char *path;
	int err;

	if (!nul)
		return EINVAL;
	value = nul + 1;
	vlen = r->len - (unsigned int)(value - r->data);
	err = path_canonical(r->data, r->domid, false, &path, &prefix);
	if (err)
		return err;

	err = get_node(r, path, PERM_WRITE, &n);
	if (err && err != ENOENT)
		goto out;
	if (!r->priv && vlen > cfg.quota_entry_size) {
		err = ENOSPC;
		goto out;
	}
	if (err == ENOENT) {
		err = create_node(r, path, &n);
		if (err)
			goto out;
	}
	node_set_value(r->tree, n, value, vlen);
	fire(r, path, true, &n->perms, NULL);
	reply_ok(r);
out:
	free(path);
	return err;
}

static int do_mkdir(struct req *r)
{
	const char *arg = onearg(r);
	unsigned int prefix;
	struct node *n;
	char *path;
	int err;

	if (!arg)
		return EINVAL;
	err = path_canonical(arg, r->domid, false, &path, &prefix);
	if (err)
		return err;

	err = get_node(r, path, PERM_WRITE, &n);
	if (err == ENOENT) {
		err = create_node(r, path, &n);
		if (!err)
			fire(r, path, true, &n->perms, NULL);
	}
	if (!err)
		reply_ok(r);
	free(path);
	return err;
}

struct rm_ctx {
	struct req *r;
	const char *root;
	int err;
};

static void rm_note(const struct node *n, const char *path, void *arg)
{
	struct rm_ctx *ctx = arg;

	if (!ctx->err)
		ctx->err = note(ctx->r, path, n);
}

/* Fired while the node still exists, so its permissions decide who hears of it. */
static void rm_fire(const struct node *n, const char *path, void *arg)
{
	struct rm_ctx *ctx = arg;

	/* Watches above or on the removed node see it go; those below, their own node. */
	fire(ctx->r, path, !strcmp(path, ctx->root), &n->perms, NULL);
}

static int do_rm(struct req *r)
{
	const char *arg = onearg(r);
	struct rm_ctx ctx = { .r = r };
	unsigned int prefix;
	struct node *n;
	char *path, *parent = NULL;
	int err;

	if (!arg)
		return EINVAL;
	err = path_canonical(arg, r->domid, false, &path, &prefix);
	if (err)
		return err;

	err = get_node(r, path, PERM_WRITE, &n);
	if (err == ENOENT) {
		/* Not there: fine, as long as its parent is. */
		parent = path_parent(path);
		n = tree_find(r->tree, parent);
		err = note(r, parent, n);
		if (!err && !n)
			err = ENOENT;
		if (!err)
			reply_ok(r);
		goto out;
	}
	if (err)
		goto out;
	if (!strcmp(path, "/")) {
		err = EINVAL;
		goto out;
	}

	if (r->tx) {
		parent = path_parent(path);
		err = note(r, parent, n->parent);
		if (err)
			goto out;
		tree_visit(n, path, rm_note, &ctx);
		err = ctx.err;
		if (err)
			goto out;
	}
	ctx.root = path;
	tree_remove(r->tree, n, path, rm_fire, &ctx);
	reply_ok(r);
out:
	free(parent);
	free(path);
	return err;
}

static int do_directory(struct req *r)
{
	const char *arg = onearg(r);
	unsigned int prefix, i, len = 0;
	struct node *n;
	char *path, *buf;
	int err;

	if (!arg)
		return EINVAL;
	err = path_canonical(arg, r->domid, false, &path, &prefix);
	if (err)
		return err;
	err = get_node(r, path, PERM_READ, &n);
	free(path);
	if (err)
		return err;

	for (i = 0; i < n->nchildren; i++)
		len += n->children[i]->name_len + 1;
	/* The client falls back to DIRECTORY_PART on this. */
	if (len > XENSTORE_PAYLOAD_MAX)
		return E2BIG;
	buf = xmalloc(len);
	for (len = 0, i = 0; i < n->nchildren; i++) {
		memcpy(buf + len, n->children[i]->name, n->children[i]->name_len + 1);
		len += n->children[i]->name_len + 1;
	}
	reply(r, buf, len);
	free(buf);
	return 0;
}

/*
 * Reply: the node's generation, then the children list (names, each with its
 * NUL) from byte offset off, as much as fits; the part that ends the list
 * carries one more NUL, which is how the client knows it is done.
 */
static int do_directory_part(struct req *r)
{
	unsigned long off;
	unsigned int prefix, i, total = 0, genlen, len, maxlen;
	struct node *n;
	char *path, *list, *buf;
	int err;

	if (count_strings(r->data, r->len) != 2 || !parse_uint(second_arg(r), UINT_MAX, &off))
		return EINVAL;
	err = path_canonical(r->data, r->domid, false, &path, &prefix);
	if (err)
		return err;
	err = get_node(r, path, PERM_READ, &n);
	free(path);
	if (err)
		return err;

	for (i = 0; i < n->nchildren; i++)
		total += n->children[i]->name_len + 1;
	list = xmalloc(total + 1);
	for (total = 0, i = 0; i < n->nchildren; i++) {
		memcpy(list + total, n->children[i]->name, n->children[i]->name_len + 1);
		total += n->children[i]->name_len + 1;
	}

	buf = xmalloc(XENSTORE_PAYLOAD_MAX);
	genlen = (unsigned int)snprintf(buf, 24, "%llu", (unsigned long long)n->gen) + 1;
	len = 0;
	if (off < total) {
		const char *child = list + off;

		maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1;
		while (off + len < total && len + strlen(child) < maxlen) {
			len += (unsigned int)strlen(child) + 1;
			child += strlen(child) + 1;
		}
		memcpy(buf + genlen, list + off, len);
	}
	if (off + len >= total)
		buf[genlen + len++] = '\0';
	reply(r, buf, genlen + len);
	free(buf);
	free(list);
	return 0;
}

static int do_get_perms(struct req *r)
{
	const char *arg = onearg(r);
	const struct node_perms *perms;
	unsigned int prefix, len;
	struct node *n;
	char *path, *buf;
	int err;

	if (!arg)
		return EINVAL;
	err = path_canonical(arg, r->domid, true, &path, &prefix);
	if (err)
		return err;
	if (path[0] == '@') {
		perms = special_perms(path);
		if (!perms)
			err = ENOENT;
		else if (!perms_readable(perms, r->domid))
			err = EACCES;
	} else {
		err = get_node(r, path, PERM_READ, &n);
		perms = n ? &n->perms : NULL;
	}
	free(path);
	if (err)
		return err;
	buf = perms_format(perms, &len);
	reply(r, buf, len);
	free(buf);
	return 0;
}

static int set_special_perms(struct req *r, const char *name, const struct node_perms *perms)
{
	struct node_perms *sp = special_perms(name);

	if (!sp)
		return ENOENT;
	if ((perm_for(sp, r->domid) & (PERM_WRITE | PERM_OWNER)) != (PERM_WRITE | PERM_OWNER))
		return EACCES;
	if (!r->priv && perms->p[0].domid != sp->p[0].domid)
		return EPERM;
	perms_free(sp);
	perms_copy(sp, perms);
	reply_ok(r);
	return 0;
}

static int do_set_perms(struct req *r)
{
	unsigned int nstr = count_strings(r->data, r->len), prefix;
	struct node_perms perms = { 0 }, old;
	struct node *n;
	char *path = NULL;
	int err;

	if (nstr < 2)
		return EINVAL;
	if (!r->priv && nstr - 1 > PERMS_MAX_UNPRIV)
		return ENOSPC;
	err = perms_parse(second_arg(r), nstr - 1, &perms);
	if (err)
		return err;
	err = path_canonical(r->data, r->domid, true, &path, &prefix);
	if (err)
		goto out;
	if (path[0] == '@') {
		err = set_special_perms(r, path, &perms);
		goto out;
	}

	/* Only the owner (or domain 0) may, and only domain 0 may give the node away. */
	err = get_node(r, path, PERM_WRITE | PERM_OWNER, &n);
	if (err)
		goto out;
	if (!r->priv && perms.p[0].domid != n->perms.p[0].domid) {
		err = EPERM;
		goto out;
	}
	perms_copy(&old, &n->perms);
	node_set_perms(r->tree, n, &perms);
	/* Whoever could read it before or can now hears of the change. */
	fire(r, path, true, &old, &n->perms);
	perms_free(&old);
	reply_ok(r);
out:
	perms_free(&perms);
	free(path);
	return err;
}

/* --- watches --------------------------------------------------------------- */

static int do_watch(struct req *r)
{
	unsigned int prefix;
	const char *token;
	char *path;
	int err;

	if (count_strings(r->data, r->len) < 2)
		return EINVAL;
	token = second_arg(r);
	err = path_canonical(r->data, r->domid, true, &path, &prefix);
	if (err)
		return err;
	err = watch_add(r->c, path, token, prefix);
	if (!err) {
		reply_ok(r);
		/* Every new watch fires once at once, with the path as registered. */
		conn_send_event(r->c, path + prefix, token);
	}
	free(path);
	return err;
}

static int do_unwatch(struct req *r)
{
	unsigned int prefix;
	char *path;
	int err;

	if (count_strings(r->data, r->len) < 2)
		return EINVAL;
	err = path_canonical(r->data, r->domid, true, &path, &prefix);
	if (err)
		return err;
	err = watch_del(r->c, path, second_arg(r));
	if (!err)
		reply_ok(r);
	free(path);
	return err;
}

static void drop_transactions(struct conn *c)
{
	struct transaction *tx;

	while ((tx = c->txs)) {
		c->txs = tx->next;
		tx_free(tx);
	}
	c->ntx = 0;
}

static int do_reset_watches(struct req *r)
{
	watch_del_all(r->c);
	drop_transactions(r->c);
	reply_ok(r);
	return 0;
}

/* --- transactions ---------------------------------------------------------- */

static struct transaction *tx_find(const struct conn *c, uint32_t id)
{
	struct transaction *tx;

	for (tx = c->txs; tx; tx = tx->next)
		if (tx->id == id)
			return tx;
	return NULL;
}

static unsigned int domain_ntx(const struct domain *d)
{
	const struct conn *c;
	unsigned int n = 0;

	for (c = conn_first(); c; c = c->next)
		if (c->dom == d && !c->dead)
			n += c->ntx;
	return n;
}

static int do_transaction_start(struct req *r)
{
	struct conn *c = r->c;
	struct transaction *tx;
	char buf[16];
	uint32_t id;

	/* No nesting. */
	if (r->tx)
		return EBUSY;
	if (!r->priv && (c->ntx >= cfg.quota_transactions || domain_ntx(c->dom) >= DOMAIN_TX_MAX))
		return ENOSPC;

	do
		id = c->next_txid++;
	while (!id || tx_find(c, id));
	tx = tx_new(id, r->domid);
	tx->next = c->txs;
	c->txs = tx;
	c->ntx++;

	reply(r, buf, (unsigned int)snprintf(buf, sizeof(buf), "%u", id) + 1);
	return 0;
}

static int do_transaction_end(struct req *r)
{
	const char *arg = onearg(r);
	struct transaction *tx = r->tx, **pp;
	int err = 0;

	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return EINVAL;
	if (!tx)
		return ENOENT;

	/* Whatever the outcome, the transaction is over. */
	for (pp = &r->c->txs; *pp != tx; pp = &(*pp)->next)
		;
	*pp = tx->next;
	r->c->ntx--;
	r->tx = NULL;
	r->tree = store_main;

	if (arg[0] == 'T') {
		err = tx_commit(tx, r->priv);
		if (!err)
			tx_fire_events(tx);
	}
	tx_free(tx);
	if (!err)
		reply_ok(r);
	return err;
}

/* --- domains --------------------------------------------------------------- */

static int do_get_domain_path(struct req *r)
{
	unsigned int domid;
	char buf[32];

	if (!arg_domid(onearg(r), UINT_MAX, &domid))
		return EINVAL;
	reply(r, buf, (unsigned int)snprintf(buf, sizeof(buf), "/local/domain/%u", domid) + 1);
	return 0;
}

static int do_introduce(struct req *r)
{
	unsigned int domid;
	int err;

	/* domid, mfn, event channel: the last two mean nothing without shared rings. */
	if (count_strings(r->data, r->len) < 3)
		return EINVAL;
	if (!arg_domid(r->data, XSL_DOMID_FIRST_RESERVED - 1, &domid) || !domid)
		return EINVAL;
	err = domain_introduce(domid);
	if (!err)
		reply_ok(r);
	return err;
}

static int do_release(struct req *r)
{
	unsigned int domid;
	int err;

	if (!arg_domid(onearg(r), UINT_MAX, &domid) || !domid)
		return EINVAL;
	err = domain_release(domid);
	if (!err)
		reply_ok(r);
	return err;
}

static int do_resume(struct req *r)
{
	unsigned int domid;

	if (!arg_domid(onearg(r), UINT_MAX, &domid) || !domid)
		return EINVAL;
	if (!domain_find(domid))
		return ENOENT;
	reply_ok(r);
	return 0;
}

static int do_is_domain_introduced(struct req *r)
{
	unsigned int domid;
	bool yes;

	if (!arg_domid(onearg(r), UINT_MAX, &domid))
		return EINVAL;
	yes = domid == XSL_DOMID_SELF || domain_find(domid);
	reply(r, yes ? "T" : "F", 2);
	return 0;
}

/*
 * Live update: the state to DIR/STATE_FILE, OK, and the loop ends; the caller
 * starts a new xenstored-lite with --restore (`xensim xenstored restart`).
 */
static int control_live_update(struct req *r)
{
	char *file = xasprintf("%s/%s", cfg.dir, STATE_FILE);
	int err = state_dump(file);

	if (err)
		log_msg("live update: cannot write %s: %s", file, strerror(err));
	else
		log_msg("live update: state in %s; exiting", file);
	free(file);
	if (err)
		return err;
	reply_ok(r);
	loop_quit();
	return 0;
}

static int control_watches(struct req *r)
{
	char *text = state_watch_stats();

	reply(r, text, (unsigned int)strlen(text) + 1);
	free(text);
	return 0;
}

static int do_control(struct req *r)
{
	static const char help[] = "check\nhelp\nlive-update\nlog [on|off]\nprint <string>\n"
				   "watches\n";
	unsigned int nstr = count_strings(r->data, r->len);
	const char *cmd = r->data;

	if (!nstr)
		return EINVAL;
	if (!strcmp(cmd, "live-update"))
		return control_live_update(r);
	if (!strcmp(cmd, "watches"))
		return control_watches(r);
	if (!strcmp(cmd, "print") && nstr >= 2) {
		log_msg("control: %s", second_arg(r));
	} else if (!strcmp(cmd, "log") && nstr >= 2) {
		if (strcmp(second_arg(r), "on") && strcmp(second_arg(r), "off"))
			return EINVAL;
		cfg.verbose = !strcmp(second_arg(r), "on");
	} else if (!strcmp(cmd, "help")) {
		reply(r, help, sizeof(help));
		return 0;
	} else if (strcmp(cmd, "check")) {
		return EINVAL;
	}
	reply_ok(r);
	return 0;
}

/* --- dispatch -------------------------------------------------------------- */

#define OP_PRIV (1u << 0) /* domain 0 only */
#define OP_NOTX (1u << 1) /* tx_id ignored */

static const struct op {
	const char *name;
	int (*fn)(struct req *r);
	unsigned int flags;
} ops[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { "CONTROL", do_control, OP_PRIV },
	[XS_DIRECTORY] = { "DIRECTORY", do_directory, 0 },
	[XS_READ] = { "READ", do_read, 0 },
	[XS_GET_PERMS] = { "GET_PERMS", do_get_perms, 0 },
	[XS_WATCH] = { "WATCH", do_watch, OP_NOTX },
	[XS_UNWATCH] = { "UNWATCH", do_unwatch, OP_NOTX },
	[XS_TRANSACTION_START] = { "TRANSACTION_START", do_transaction_start, 0 },
	[XS_TRANSACTION_END] = { "TRANSACTION_END", do_transaction_end, 0 },
	[XS_INTRODUCE] = { "INTRODUCE", do_introduce, OP_PRIV },
	[XS_RELEASE] = { "RELEASE", do_release, OP_PRIV },
	[XS_GET_DOMAIN_PATH] = { "GET_DOMAIN_PATH", do_get_domain_path, 0 },
	[XS_WRITE] = { "WRITE", do_write, 0 },
	[XS_MKDIR] = { "MKDIR", do_mkdir, 0 },
	[XS_RM] = { "RM", do_rm, 0 },
	[XS_SET_PERMS] = { "SET_PERMS", do_set_perms, 0 },
	[XS_WATCH_EVENT] = { "WATCH_EVENT", NULL, 0 },
	[XS_ERROR] = { "ERROR", NULL, 0 },
	[XS_IS_DOMAIN_INTRODUCED] = { "IS_DOMAIN_INTRODUCED", do_is_domain_introduced, OP_PRIV },
	[XS_RESUME] = { "RESUME", do_resume, OP_PRIV },
	[XS_SET_TARGET] = { "SET_TARGET", NULL, 0 },
	[XS_RESET_WATCHES] = { "RESET_WATCHES", do_reset_watches, 0 },
	[XS_DIRECTORY_PART] = { "DIRECTORY_PART", do_directory_part, 0 },
};

static void trace_request(const struct conn *c, const struct xsd_sockmsg *hdr, const char *data)
{
	const char *name = hdr->type < XS_TYPE_COUNT && ops[hdr->type].name ? ops[hdr->type].name
									   : "?";
	char text[128];
	unsigned int i, n = hdr->len < sizeof(text) - 1 ? hdr->len : sizeof(text) - 1;

	for (i = 0; i < n; i++) {
		char ch = data[i];

		text[i] = !ch ? ' ' : (ch < 0x20 || ch > 0x7e) ? '.' : ch;
	}
	text[n] = '\0';
	log_trace("domain %u conn %u: > %s(%u) tx %u req %u: %s%s", c->domid, c->serial, name,
		  hdr->type, hdr->tx_id, hdr->req_id, text, hdr->len > n ? "..." : "");
}

void ops_process(struct conn *c, const struct xsd_sockmsg *hdr, char *payload)
{
	struct req r = {
		.c = c,
		.hdr = hdr,
		.data = payload,
		.len = hdr->len,
		.domid = c->domid,
		.priv = c->domid == 0,
		.tree = store_main,
	};
	const struct op *op = hdr->type < XS_TYPE_COUNT ? &ops[hdr->type] : NULL;
	int err;

	if (cfg.verbose)
		trace_request(c, hdr, payload);

	if (!op || !op->fn) {
		err = EINVAL;
		goto fail;
	}
	if ((op->flags & OP_PRIV) && !r.priv) {
		err = EACCES;
		goto fail;
	}
	if (!(op->flags & OP_NOTX) && hdr->tx_id) {
		r.tx = tx_find(c, hdr->tx_id);
		if (!r.tx) {
			err = ENOENT;
			goto fail;
		}
		r.tree = r.tx->tree;
	}
	err = op->fn(&r);
	if (!err)
		return;
fail:
	reply_error(&r, err);
}
