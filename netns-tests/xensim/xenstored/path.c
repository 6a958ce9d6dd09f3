// SPDX-License-Identifier: MIT
/* xenstored-lite: XenStore path syntax. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/xs_wire.h>

#include "path.h"
#include "util.h"

static bool valid_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '/' || c == '_' || c == '@';
}

static bool valid_chars(const char *s)
{
	for (; *s; s++)
		if (!valid_char(*s))
			return false;
	return true;
}

/*
 * Length of a leading "/local/domain/<domid>/": as in C xenstored, the path
 * length limit for relative paths applies to what follows it.
 */
static size_t local_prefix_len(const char *path)
{
	static const char base[] = "/local/domain/";
	const char *p = path + sizeof(base) - 1;
	unsigned int digits = 0;

	if (strncmp(path, base, sizeof(base) - 1))
		return 0;
	while (*p >= '0' && *p <= '9' && digits < 5) {
		p++;
		digits++;
	}
	if (!digits || *p != '/')
		return 0;
	return (size_t)(p + 1 - path);
}

int path_canonical(const char *arg, unsigned int domid, bool allow_special, char **out,
		   unsigned int *prefix_len)
{
	char *name;
	size_t len;

	*out = NULL;
	*prefix_len = 0;
	/* Cheap bound first, so a huge argument costs nothing more. */
	if (!arg || !*arg || strlen(arg) > XENSTORE_ABS_PATH_MAX || !valid_chars(arg))
		return EINVAL;
	if (arg[0] == '@' && !allow_special)
		return EINVAL;

	if (arg[0] == '/' || arg[0] == '@') {
		name = xstrdup(arg);
	} else {
		name = xasprintf("/local/domain/%u/%s", domid, arg);
		*prefix_len = (unsigned int)(strlen(name) - strlen(arg));
	}

	len = strlen(name);
	if ((len > 1 && name[len - 1] == '/') || strstr(name, "//") ||
	    len > XENSTORE_ABS_PATH_MAX || len - local_prefix_len(name) > XENSTORE_REL_PATH_MAX) {
		free(name);
		*prefix_len = 0;
		return EINVAL;
	}
	*out = name;
	return 0;
}

bool path_is_under(const char *child, const char *parent)
{
	size_t len = strlen(parent);

	if (!strcmp(parent, "/"))
		return child[0] == '/';
	if (strncmp(child, parent, len))
		return false;
	return child[len] == '/' || child[len] == '\0';
}

unsigned int path_parent_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash != path ? (unsigned int)(slash - path) : 1;
}

char *path_parent(const char *path)
{
	unsigned int len = path_parent_len(path);
	char *p = xmalloc(len + 1);

	memcpy(p, path, len);
	p[len] = '\0';
	return p;
}
