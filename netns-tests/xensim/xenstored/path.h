/* SPDX-License-Identifier: MIT */
/* xenstored-lite: XenStore path syntax. */
#ifndef XSL_PATH_H
#define XSL_PATH_H

#include <stdbool.h>

/*
 * Checks a client's path and makes it absolute: a relative one is taken under
 * /local/domain/<domid>/.  "@name" special paths pass only with allow_special.
 * On success *out is a malloc'd absolute path and *prefix_len the number of
 * leading bytes added to a relative path (0 otherwise); returns 0 or EINVAL.
 */
int path_canonical(const char *arg, unsigned int domid, bool allow_special, char **out,
		   unsigned int *prefix_len);

/* Is child the same node as parent or somewhere below it? */
bool path_is_under(const char *child, const char *parent);

/* Length of parent's name within path ("/a/b" -> 2, "/a" -> 1); path must not be "/". */
unsigned int path_parent_len(const char *path);

/* malloc'd parent of path; path must not be "/". */
char *path_parent(const char *path);

#endif
