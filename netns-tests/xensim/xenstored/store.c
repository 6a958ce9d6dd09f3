// SPDX-License-Identifier: MIT
/* xenstored-lite: the tree of nodes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "util.h"

struct tree *store_main;

static uint64_t last_gen;

static struct node_perms introduce_perms, release_perms;

static uint64_t next_gen(void)
{
	return ++last_gen;
}

/* --- permissions ----------------------------------------------------------- */

unsigned int perm_for(const struct node_perms *perms, unsigned int domid)
{
	unsigned int i;

	if (domid == 0 || perms->p[0].domid == domid)
		return PERM_ALL;
	for (i = 1; i < perms->num; i++)
		if (perms->p[i].domid == domid)
			return perms->p[i].access;
	return perms->p[0].access;
}

bool perms_readable(const struct node_perms *perms, unsigned int domid)
{
	return perms && (perm_for(perms, domid) & PERM_READ);
}

int perms_parse(const char *s, unsigned int num, struct node_perms *out)
{
	struct xs_perm *p;
	unsigned long domid;
	unsigned int i;

	if (!num)
		return EINVAL;
	p = xcalloc(num, sizeof(*p));
	for (i = 0; i < num; i++, s += strlen(s) + 1) {
		switch (*s) {
		case 'n':
			p[i].access = PERM_NONE;
			break;
		case 'r':
			p[i].access = PERM_READ;
			break;
		case 'w':
			p[i].access = PERM_WRITE;
			break;
		case 'b':
			p[i].access = PERM_READ | PERM_WRITE;
			break;
		default:
			goto inval;
		}
		if (!parse_uint(s + 1, PERM_DOMID_MAX, &domid))
			goto inval;
		p[i].domid = (unsigned int)domid;
	}
	out->num = num;
	out->p = p;
	return 0;

inval:
	free(p);
	return EINVAL;
}

char *perms_format(const struct node_perms *perms, unsigned int *len)
{
	static const char letter[] = { 'n', 'r', 'w', 'b' };
	/* Letter, up to 5 digits, NUL. */
	char *buf = xmalloc(perms->num * 7 + 1);
	unsigned int i, off = 0;

	for (i = 0; i < perms->num; i++)
		off += (unsigned int)sprintf(buf + off, "%c%u", letter[perms->p[i].access & 3],
					     perms->p[i].domid) + 1;
	*len = off;
	return buf;
}

void perms_copy(struct node_perms *dst, const struct node_perms *src)
{
	dst->num = src->num;
	dst->p = xmemdup(src->p, src->num * sizeof(*src->p));
}

void perms_free(struct node_perms *perms)
{
	free(perms->p);
	perms->p = NULL;
	perms->num = 0;
}

static void perms_init_dom0(struct node_perms *perms)
{
	perms->num = 1;
	perms->p = xcalloc(1, sizeof(*perms->p));
}

struct node_perms *special_perms(const char *name)
{
	if (!strcmp(name, "@introduceDomain"))
		return &introduce_perms;
	if (!strcmp(name, "@releaseDomain"))
		return &release_perms;
	return NULL;
}

/* --- per-domain node counts ------------------------------------------------ */

static void owner_add(struct tree *t, unsigned int domid, int delta)
{
	struct owner_count *o;
	unsigned int i;

	for (i = 0; i < t->nowners; i++)
		if (t->owners[i].domid == domid)
			break;
	if (i == t->nowners) {
		if (delta < 0)
			return;
		if (t->nowners == t->owners_cap) {
			t->owners_cap = t->owners_cap ? 2 * t->owners_cap : 8;
			t->owners = xrealloc(t->owners, t->owners_cap * sizeof(*t->owners));
		}
		t->owners[t->nowners].domid = domid;
		t->owners[t->nowners].count = 0;
		t->nowners++;
	}
	o = &t->owners[i];
	o->count += (unsigned int)delta;
	if (!o->count)
		*o = t->owners[--t->nowners];
}

unsigned int tree_owned(const struct tree *t, unsigned int domid)
{
	unsigned int i;

	for (i = 0; i < t->nowners; i++)
		if (t->owners[i].domid == domid)
			return t->owners[i].count;
	return 0;
}

/* --- nodes ----------------------------------------------------------------- */

static struct node *node_new(const char *name, size_t name_len)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->name = xmalloc(name_len + 1);
	memcpy(n->name, name, name_len);
	n->name[name_len] = '\0';
	n->name_len = (unsigned int)name_len;
	return n;
}

static void node_free(struct node *n)
{
	free(n->name);
	free(n->value);
	free(n->children);
	perms_free(&n->perms);
	free(n);
}

static struct node *child_find(const struct node *n, const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < n->nchildren; i++) {
		struct node *c = n->children[i];

		if (c->name_len == len && !memcmp(c->name, name, len))
			return c;
	}
	return NULL;
}

static void child_add(struct node *parent, struct node *child)
{
	if (parent->nchildren == parent->children_cap) {
		parent->children_cap = parent->children_cap ? 2 * parent->children_cap : 4;
		parent->children = xrealloc(parent->children,
					    parent->children_cap * sizeof(*parent->children));
	}
	parent->children[parent->nchildren++] = child;
	child->parent = parent;
}

static void child_del(struct node *parent, struct node *child)
{
	unsigned int i;

	for (i = 0; i < parent->nchildren; i++) {
		if (parent->children[i] != child)
			continue;
		memmove(&parent->children[i], &parent->children[i + 1],
			(parent->nchildren - i - 1) * sizeof(*parent->children));
		parent->nchildren--;
		return;
	}
}

static char *child_path(const char *path, const struct node *c)
{
	return strcmp(path, "/") ? xasprintf("%s/%s", path, c->name) : xasprintf("/%s", c->name);
}

/* In a transaction copy, remembers what tree_merge() must carry over. */
static void mark_modified(struct tree *t, struct node *n)
{
	if (!t->is_copy)
		return;
	n->modified = true;
	/* An already dirty node has dirty ancestors. */
	for (; n && !n->dirty; n = n->parent)
		n->dirty = true;
}

static void touch(struct tree *t, struct node *n)
{
	n->gen = next_gen();
	mark_modified(t, n);
}

/* Deepest existing node on path; *rest is the first missing component, or "". */
static struct node *walk(const struct tree *t, const char *path, const char **rest)
{
	struct node *n = t->root;
	const char *p = path + 1;

	while (*p) {
		const char *end = strchrnul(p, '/');
		struct node *c = child_find(n, p, (size_t)(end - p));

		if (!c)
			break;
		n = c;
		p = *end ? end + 1 : end;
	}
	*rest = p;
	return n;
}

struct node *tree_nearest(const struct tree *t, const char *path, unsigned int *missing)
{
	const char *rest;
	struct node *n;

	*missing = 0;
	if (path[0] != '/')
		return NULL;
	n = walk(t, path, &rest);
	if (*rest) {
		*missing = 1;
		for (; *rest; rest++)
			if (*rest == '/')
				(*missing)++;
	}
	return n;
}

struct node *tree_find(const struct tree *t, const char *path)
{
	unsigned int missing;
	struct node *n = tree_nearest(t, path, &missing);

	return missing ? NULL : n;
}

struct node *tree_create(struct tree *t, const char *path, int owner)
{
	const char *rest;
	struct node *n = walk(t, path, &rest);

	while (*rest) {
		const char *end = strchrnul(rest, '/');
		struct node *c = node_new(rest, (size_t)(end - rest));

		perms_copy(&c->perms, &n->perms);
		if (owner >= 0)
			c->perms.p[0].domid = (unsigned int)owner;
		child_add(n, c);
		touch(t, n);
		touch(t, c);
		owner_add(t, c->perms.p[0].domid, 1);
		n = c;
		rest = *end ? end + 1 : end;
	}
	return n;
}

void node_set_value(struct tree *t, struct node *n, const void *value, unsigned int len)
{
	free(n->value);
	n->value = len ? xmemdup(value, len) : NULL;
	n->len = len;
	touch(t, n);
}

void node_set_perms(struct tree *t, struct node *n, const struct node_perms *perms)
{
	owner_add(t, n->perms.p[0].domid, -1);
	perms_free(&n->perms);
	perms_copy(&n->perms, perms);
	owner_add(t, n->perms.p[0].domid, 1);
	touch(t, n);
}

void tree_visit(const struct node *n, const char *path, node_fn *fn, void *arg)
{
	unsigned int i;

	fn(n, path, arg);
	for (i = 0; i < n->nchildren; i++) {
		char *cpath = child_path(path, n->children[i]);

		tree_visit(n->children[i], cpath, fn, arg);
		free(cpath);
	}
}

/* Frees n's subtree children first; t (for the counts) may be NULL, and path with fn. */
static void free_subtree(struct tree *t, struct node *n, const char *path, node_fn *fn, void *arg)
{
	unsigned int i;

	for (i = 0; i < n->nchildren; i++) {
		char *cpath = fn && path ? child_path(path, n->children[i]) : NULL;

		free_subtree(t, n->children[i], cpath, fn, arg);
		free(cpath);
	}
	if (fn && path)
		fn(n, path, arg);
	if (t)
		owner_add(t, n->perms.p[0].domid, -1);
	node_free(n);
}

void tree_remove(struct tree *t, struct node *n, const char *path, node_fn *fn, void *arg)
{
	struct node *parent = n->parent;

	child_del(parent, n);
	touch(t, parent);
	free_subtree(t, n, path, fn, arg);
}

static void chown_subtree(struct tree *t, struct node *n, unsigned int from, unsigned int to)
{
	unsigned int i;

	if (n->perms.p[0].domid == from) {
		owner_add(t, from, -1);
		n->perms.p[0].domid = to;
		owner_add(t, to, 1);
		touch(t, n);
	}
	for (i = 0; i < n->nchildren; i++)
		chown_subtree(t, n->children[i], from, to);
}

void tree_chown(struct tree *t, unsigned int from, unsigned int to)
{
	chown_subtree(t, t->root, from, to);
}

/* --- copies and merging ---------------------------------------------------- */

/* Copies n's subtree; with t, the copies are new nodes of t (counted, fresh generations). */
static struct node *copy_subtree(struct tree *t, const struct node *n)
{
	struct node *c = node_new(n->name, n->name_len);
	unsigned int i;

	c->value = n->len ? xmemdup(n->value, n->len) : NULL;
	c->len = n->len;
	perms_copy(&c->perms, &n->perms);
	c->gen = t ? next_gen() : n->gen;
	if (t)
		owner_add(t, c->perms.p[0].domid, 1);
	if (n->nchildren) {
		c->children = xmalloc(n->nchildren * sizeof(*c->children));
		c->children_cap = n->nchildren;
	}
	for (i = 0; i < n->nchildren; i++)
		child_add(c, copy_subtree(t, n->children[i]));
	return c;
}

struct tree *tree_copy(const struct tree *t)
{
	struct tree *c = xcalloc(1, sizeof(*c));

	c->root = copy_subtree(NULL, t->root);
	c->nowners = c->owners_cap = t->nowners;
	c->owners = xmemdup(t->owners, t->nowners * sizeof(*t->owners));
	c->is_copy = true;
	return c;
}

/*
 * m and t are the same path in dst and in the transaction copy.  The caller has
 * checked that nothing the transaction touched changed in dst since it began, so
 * a node the transaction modified replaces dst's, and its children in dst are
 * exactly those it had when the transaction began.
 */
static void merge_node(struct tree *dst, struct node *m, const struct node *t)
{
	unsigned int i;

	if (t->modified) {
		node_set_value(dst, m, t->value, t->len);
		node_set_perms(dst, m, &t->perms);
		for (i = m->nchildren; i-- > 0;) {
			struct node *mc = m->children[i];

			if (!child_find(t, mc->name, mc->name_len))
				tree_remove(dst, mc, NULL, NULL, NULL);
		}
	}
	for (i = 0; i < t->nchildren; i++) {
		const struct node *tc = t->children[i];
		struct node *mc = child_find(m, tc->name, tc->name_len);

		if (mc) {
			if (tc->dirty)
				merge_node(dst, mc, tc);
		} else if (t->modified) {
			child_add(m, copy_subtree(dst, tc));
			touch(dst, m);
		}
	}
	/* Same children now; take the transaction's order (a node re-created goes last). */
	if (t->modified && m->nchildren == t->nchildren && m->nchildren > 1) {
		struct node **order = xmalloc(m->children_cap * sizeof(*order));

		for (i = 0; i < t->nchildren; i++)
			order[i] = child_find(m, t->children[i]->name, t->children[i]->name_len);
		free(m->children);
		m->children = order;
	}
}

void tree_merge(struct tree *dst, const struct tree *src)
{
	if (src->root->dirty)
		merge_node(dst, dst->root, src->root);
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	free_subtree(NULL, t->root, NULL, NULL, NULL);
	free(t->owners);
	free(t);
}

/* --- the live store -------------------------------------------------------- */

void store_init(void)
{
	struct tree *t = xcalloc(1, sizeof(*t));

	t->root = node_new("", 0);
	perms_init_dom0(&t->root->perms);
	t->root->gen = next_gen();
	owner_add(t, 0, 1);
	tree_create(t, "/local/domain", -1);
	store_main = t;

	perms_init_dom0(&introduce_perms);
	perms_init_dom0(&release_perms);
}

void store_exit(void)
{
	tree_free(store_main);
	store_main = NULL;
	perms_free(&introduce_perms);
	perms_free(&release_perms);
}
