/* SPDX-License-Identifier: MIT */
/* xenstored-lite: watches. */
#ifndef XSL_WATCH_H
#define XSL_WATCH_H

#include <stdbool.h>

#include "store.h"

struct conn;

struct watch {
	struct watch *next;
	char *path; /* canonical: absolute, or "@name" */
	char *token;
	unsigned int prefix_len; /* bytes to strip from event paths: it was registered relative */
};

/* EEXIST for a duplicate, E2BIG past the watch quota of an unprivileged domain. */
int watch_add(struct conn *c, const char *path, const char *token, unsigned int prefix_len);
/* ENOENT if the connection has no such watch. */
int watch_del(struct conn *c, const char *path, const char *token);
void watch_del_all(struct conn *c);

/*
 * A change to the node at path: fires every watch on path (and, with subtree,
 * on its ancestors) of connections that may read the node under either set of
 * permissions (before and after the change; either may be NULL).
 */
void watch_fire(const char *path, bool subtree, const struct node_perms *before,
		const struct node_perms *after);
/* Fires watches on "@introduceDomain" or "@releaseDomain". */
void watch_fire_special(const char *name);

#endif
