// SPDX-License-Identifier: MIT
/* xenstored-lite: watches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "domain.h"
#include "path.h"
#include "util.h"
#include "watch.h"

int watch_add(struct conn *c, const char *path, const char *token, unsigned int prefix_len)
{
	struct watch *w, **tail;

	for (tail = &c->watches; *tail; tail = &(*tail)->next) {
		w = *tail;
		if (!strcmp(w->path, path) && !strcmp(w->token, token))
			return EEXIST;
	}
	if (c->domid != 0 && c->dom->nwatches >= cfg.quota_watches)
		return E2BIG;

	w = xcalloc(1, sizeof(*w));
	w->path = xstrdup(path);
	w->token = xstrdup(token);
	w->prefix_len = prefix_len;
	/* Appended, so events go out in the order the watches were set. */
	*tail = w;
	c->dom->nwatches++;
	return 0;
}

static void watch_free(struct conn *c, struct watch *w)
{
	c->dom->nwatches--;
	free(w->path);
	free(w->token);
	free(w);
}

int watch_del(struct conn *c, const char *path, const char *token)
{
	struct watch **pp, *w;

	for (pp = &c->watches; (w = *pp); pp = &w->next) {
		if (strcmp(w->path, path) || strcmp(w->token, token))
			continue;
		*pp = w->next;
		watch_free(c, w);
		return 0;
	}
	return ENOENT;
}

void watch_del_all(struct conn *c)
{
	struct watch *w;

	while ((w = c->watches)) {
		c->watches = w->next;
		watch_free(c, w);
	}
}

static bool may_see(const struct conn *c, const struct node_perms *before,
		    const struct node_perms *after)
{
	return c->domid == 0 || perms_readable(before, c->domid) ||
	       perms_readable(after, c->domid);
}

void watch_fire(const char *path, bool subtree, const struct node_perms *before,
		const struct node_perms *after)
{
	struct conn *c;
	struct watch *w;

	for (c = conn_first(); c; c = c->next) {
		if (c->dead || !c->watches || !may_see(c, before, after))
			continue;
		for (w = c->watches; w && !c->dead; w = w->next) {
			bool hit = subtree ? path_is_under(path, w->path) : !strcmp(path, w->path);

			if (hit)
				conn_send_event(c, path + w->prefix_len, w->token);
		}
	}
}

void watch_fire_special(const char *name)
{
	const struct node_perms *perms = special_perms(name);
	struct conn *c;
	struct watch *w;

	for (c = conn_first(); c; c = c->next) {
		if (c->dead || !c->watches || !may_see(c, perms, NULL))
			continue;
		for (w = c->watches; w && !c->dead; w = w->next)
			if (!strcmp(name, w->path))
				conn_send_event(c, name, w->token);
	}
}
