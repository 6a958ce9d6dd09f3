/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's XenStore connection: who we are, who the peers are, and the
 * watches that tell when that changes.
 *
 * One connection serves every link. Its fd (xstore_fd) is readable while
 * watch events are pending; xstore_next_event takes them one by one without
 * blocking. Reads and writes are XenStore requests answered by the local
 * xenstored: they wait for it, never for a peer.
 *
 * Permissions: only dom0 (or a domain dom0 allowed) may read another
 * domain's /local/domain/N, and so look up a name or see that a domain is
 * gone, and only it receives @introduceDomain and @releaseDomain. A guest
 * gets EACCES for the former and no events for the latter.
 */
#ifndef VCHAN_TUN_XS_H
#define VCHAN_TUN_XS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define XSTORE_ERR_LEN		256
#define XSTORE_RELEASE		"@releaseDomain"
#define XSTORE_INTRODUCE	"@introduceDomain"

struct xstore;

struct xstore_domain {
	unsigned int domid;
	char name[CONFIG_NAME_MAX + 1];
};

/* NULL on failure, with the reason in err. */
struct xstore *xstore_open(char *err, size_t len);
void xstore_close(struct xstore *xs);

/* Readable while watch events are pending. */
int xstore_fd(struct xstore *xs);

/* Our own domain id, from our "domid" key. */
int xstore_own_domid(struct xstore *xs, unsigned int *domid, char *err, size_t len);

/* 1: /local/domain/<domid> exists; 0: it does not; -1: cannot tell (EACCES, error). */
int xstore_domain_exists(struct xstore *xs, unsigned int domid);

/*
 * Every domain with a name, as a new array the caller frees. Returns 0, or
 * -1 with the reason in err (EACCES: a guest cannot list other domains).
 */
int xstore_list_domains(struct xstore *xs, struct xstore_domain **doms, size_t *n, char *err,
			size_t len);

/* 1: path exists; 0: it does not; -1: cannot tell. */
int xstore_path_exists(struct xstore *xs, const char *path);

/*
 * Removes path if it has no children, in one transaction (so that a key
 * written meanwhile by someone else survives). 0, or -1 if it was not removed.
 */
int xstore_rm_if_empty(struct xstore *xs, const char *path);

/* Watches path (or @releaseDomain, @introduceDomain); the first event comes at once. */
int xstore_watch(struct xstore *xs, const char *path, const char *token, char *err, size_t len);
void xstore_unwatch(struct xstore *xs, const char *path, const char *token);

/*
 * Takes one pending watch event: 1 with its path and token (cut to the
 * buffers), 0 when none is left, -1 when the connection to XenStore is lost.
 */
int xstore_next_event(struct xstore *xs, char *path, size_t path_len, char *token,
		      size_t token_len);

#endif
