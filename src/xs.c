// SPDX-License-Identifier: GPL-2.0-only
/* XenStore for the daemon (see xs.h), on libxenstore. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "vchan/vchan.h"
#include "xs.h"

struct xstore {
	struct xs_handle *h;
};

struct xstore *xstore_open(char *err, size_t len)
{
	struct xstore *xs = calloc(1, sizeof(*xs));

	if (!xs) {
		snprintf(err, len, "xenstore: out of memory");
		return NULL;
	}
	xs->h = xs_open(0);
	if (!xs->h) {
		snprintf(err, len, "xenstore: cannot connect: %s", strerror(errno));
		free(xs);
		return NULL;
	}
	return xs;
}

void xstore_close(struct xstore *xs)
{
	if (!xs)
		return;
	xs_close(xs->h);
	free(xs);
}

int xstore_fd(struct xstore *xs)
{
	return xs_fileno(xs->h);
}

/* A value, NUL-terminated and without embedded NULs; NULL (errno set) otherwise. */
static char *read_string(struct xstore *xs, const char *path)
{
	unsigned int len;
	char *s = xs_read(xs->h, XBT_NULL, path, &len);

	if (s && strlen(s) != len) {
		free(s);
		errno = EINVAL;
		return NULL;
	}
	return s;
}

static int parse_domid(const char *s, unsigned int *domid)
{
	unsigned long v;

	if (vchan_parse_uint(s, 0, CONFIG_DOMID_MAX, &v))
		return -1;
	*domid = (unsigned int)v;
	return 0;
}

int xstore_own_domid(struct xstore *xs, unsigned int *domid, char *err, size_t len)
{
	char *s = read_string(xs, "domid");
	int ret = 0;

	if (!s) {
		snprintf(err, len, "xenstore: cannot read our domid: %s", strerror(errno));
		return -1;
	}
	if (parse_domid(s, domid)) {
		snprintf(err, len, "xenstore: our domid is '%.16s': not a domain id", s);
		ret = -1;
	}
	free(s);
	return ret;
}

int xstore_path_exists(struct xstore *xs, const char *path)
{
	unsigned int len;
	char *s = xs_read(xs->h, XBT_NULL, path, &len);

	if (s) {
		free(s);
		return 1;
	}
	return errno == ENOENT ? 0 : -1;
}

int xstore_domain_exists(struct xstore *xs, unsigned int domid)
{
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	return xstore_path_exists(xs, path);
}

int xstore_list_domains(struct xstore *xs, struct xstore_domain **doms, size_t *n, char *err,
			size_t len)
{
	unsigned int count = 0, i;
	char **ids = xs_directory(xs->h, XBT_NULL, "/local/domain", &count);
	struct xstore_domain *list;
	size_t found = 0;

	*doms = NULL;
	*n = 0;
	if (!ids) {
		snprintf(err, len, "xenstore: cannot list /local/domain: %s%s", strerror(errno),
			 errno == EACCES ? " (only dom0 may look up domains by name)" : "");
		return -1;
	}
	list = calloc(count ? count : 1, sizeof(*list));
	if (!list) {
		free(ids);
		snprintf(err, len, "xenstore: out of memory");
		return -1;
	}
	for (i = 0; i < count; i++) {
		char path[64];
		char *name;

		if (parse_domid(ids[i], &list[found].domid))
			continue;
		snprintf(path, sizeof(path), "/local/domain/%u/name", list[found].domid);
		name = read_string(xs, path);
		/* gone meanwhile, or nameless: nobody can ask for it by name */
		if (!name)
			continue;
		if (strlen(name) < sizeof(list[found].name)) {
			memcpy(list[found].name, name, strlen(name) + 1);
			found++;
		}
		free(name);
	}
	free(ids);
	*doms = list;
	*n = found;
	return 0;
}

#define XS_RETRIES	16

int xstore_rm_if_empty(struct xstore *xs, const char *path)
{
	for (int i = 0; i < XS_RETRIES; i++) {
		xs_transaction_t t = xs_transaction_start(xs->h);
		unsigned int n = 0;
		char **kids;

		if (t == XBT_NULL)
			return -1;
		kids = xs_directory(xs->h, t, path, &n);
		free(kids);
		if (!kids || n || !xs_rm(xs->h, t, path)) {
			xs_transaction_end(xs->h, t, true);
			return -1;
		}
		if (xs_transaction_end(xs->h, t, false))
			return 0;
		if (errno != EAGAIN)
			return -1;
	}
	return -1;
}

int xstore_watch(struct xstore *xs, const char *path, const char *token, char *err, size_t len)
{
	if (xs_watch(xs->h, path, token))
		return 0;
	snprintf(err, len, "xenstore: cannot watch %s: %s", path, strerror(errno));
	return -1;
}

void xstore_unwatch(struct xstore *xs, const char *path, const char *token)
{
	xs_unwatch(xs->h, path, token);
}

static void copy_cut(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

int xstore_next_event(struct xstore *xs, char *path, size_t path_len, char *token,
		      size_t token_len)
{
	char **w;

	errno = 0;
	w = xs_check_watch(xs->h);
	if (!w)
		return errno == EAGAIN ? 0 : -1;
	copy_cut(path, path_len, w[XS_WATCH_PATH]);
	copy_cut(token, token_len, w[XS_WATCH_TOKEN]);
	free(w);
	return 1;
}
