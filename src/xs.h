/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * XenStore for the daemon and the watcher: who we are, who the peers are,
 * the watches that tell when that changes, and the link-state keys through
 * which the two talk (docs/protocol.md, "XenStore keys").
 *
 * One connection serves every link. Its fd (xstore_fd) is readable while
 * watch events are pending, or when the connection to XenStore was lost;
 * xstore_next_event takes them one by one without blocking. Events are
 * coalesced by token: a watch that fired a thousand times since the last
 * look is one event, so a peer that rewrites keys under a watched path as
 * fast as it can makes no queue grow; the caller re-reads what it watches. Reads and
 * writes are XenStore requests answered by the local xenstored: they wait
 * for it, never for a peer.
 *
 * A lost connection (xenstored restarted) is not the end: xstore_reconnect
 * opens a new one and registers every watch again, each of which then fires
 * once, so whoever reacts to the events reads everything afresh. Until then
 * every request fails at once. The fd stays the same across reconnects.
 *
 * Permissions: only dom0 (or a domain dom0 allowed) may read another
 * domain's /local/domain/N, and so look up a name or see that a domain is
 * gone, and only it receives @introduceDomain and @releaseDomain. A guest
 * gets EACCES for the former and no events for the latter.
 *
 * Errors: what fails returns -1 (or NULL) and fills a struct error (error.h)
 * with a line naming the key or path and what went wrong, and the errno
 * behind it (0 when there is none).
 */
#ifndef VCHAN_TUN_XS_H
#define VCHAN_TUN_XS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"

#define XSTORE_TOKEN_MAX	96	/* bytes of a watch token, with the NUL */
/* The token of an event that stands for every watch (too many fired to tell which). */
#define XSTORE_TOKEN_ALL	"*"
#define XSTORE_RELEASE		"@releaseDomain"
#define XSTORE_INTRODUCE	"@introduceDomain"

/*
 * The values of a link-state key, which the daemon writes and the watchers
 * read: no channel (no peer yet, or a pause before the next try); ring
 * offered; looking for the ring, or handshaking on it; packets flow.
 */
#define XSTORE_STATE_WAITING	"waiting"
#define XSTORE_STATE_OFFERING	"offering"
#define XSTORE_STATE_CONNECTING	"connecting"
#define XSTORE_STATE_CONNECTED	"connected"
#define XSTORE_STATE_MAX	16	/* bytes, with the NUL, of the longest value */

struct xstore;

struct xstore_domain {
	unsigned int domid;
	char name[CONFIG_NAME_MAX + 1];
};

/* NULL on failure, with the reason in err. */
struct xstore *xstore_open(struct error *err);
void xstore_close(struct xstore *xs);

/*
 * After xstore_next_event said the connection is lost: a new one, with every
 * watch registered again. 0 (also when nothing was lost), or -1 with the
 * reason in err (xenstored is not back yet): try again later.
 */
int xstore_reconnect(struct xstore *xs, struct error *err);

/* Readable while watch events are pending, or the connection is lost. */
int xstore_fd(struct xstore *xs);

/* Our own domain id, from our "domid" key. */
int xstore_own_domid(struct xstore *xs, unsigned int *domid, struct error *err);

/* 1: /local/domain/<domid> exists; 0: it does not; -1: cannot tell (EACCES, error). */
int xstore_domain_exists(struct xstore *xs, unsigned int domid);

/*
 * A domain's name into name (CONFIG_NAME_MAX + 1 bytes): 1 when it has one
 * that is a name by config.h's rules; 0 when it has none or it is not ours to
 * read (a guest); -1 when it is something no link could name (a toolstack may
 * write anything there). name is "" unless 1.
 */
int xstore_domain_name(struct xstore *xs, unsigned int domid, char *name);

/*
 * Every domain with a name, as a new array the caller frees. Names that are
 * not names by config.h's rules (a guest may not choose its name, but a
 * toolstack may write anything) are left out: no link can name them. Returns 0, or
 * -1 with the reason in err (EACCES: a guest cannot list other domains).
 */
int xstore_list_domains(struct xstore *xs, struct xstore_domain **doms, size_t *n,
			struct error *err);

/* 1: path exists; 0: it does not; -1: cannot tell. */
int xstore_path_exists(struct xstore *xs, const char *path);

/*
 * A value, cut to len - 1 bytes: 1 when read, 0 when it is not there or not
 * ours to read (ENOENT, EACCES: a guest cannot tell the two apart in another
 * domain's tree), -1 on other errors, with errno.
 */
int xstore_read(struct xstore *xs, const char *path, char *buf, size_t len);

/*
 * Writes value at path, in one transaction with its permissions: owned by
 * self, readable by peer, by nobody else ("n<self>", "r<peer>"). 0, or -1
 * with the reason in err.
 */
int xstore_write_shared(struct xstore *xs, const char *path, const char *value,
			unsigned int self, unsigned int peer, struct error *err);

/*
 * Publishes a directory of keys in one transaction: removes whatever is at
 * dir, then writes dir and each pair (dir/key = value), every node owned by
 * owner and readable by reader, by nobody else. 0, or -1 with the reason in
 * err.
 */
int xstore_publish(struct xstore *xs, const char *dir, const struct config_pair *pairs,
		   size_t n, unsigned int owner, unsigned int reader, struct error *err);

/*
 * fn's reads (xstore_list, xstore_read_owned) as of one moment: fn runs in a
 * transaction, and from the start again when a write to what it read ended
 * that, 16 times at most (XS_RETRIES). A writer's transaction is seen whole or not
 * at all, never a mix of old and new keys. fn returns 0, or -1 with errno,
 * which ends the tries. 0, or -1 with errno (EAGAIN: in conflict each time).
 */
int xstore_snapshot(struct xstore *xs, int (*fn)(struct xstore *xs, void *arg), void *arg);

/*
 * The names under path, as one block for free(*names): 1; 0 when path is
 * not there or not ours to read; -1 on other errors, with errno.
 */
int xstore_list(struct xstore *xs, const char *path, char ***names, unsigned int *n);

/*
 * A value, as a new string without embedded NULs, and its node's owner (the
 * first entry of its permissions): 1; 0 when it is not there or not ours to
 * read; -1 on other errors (an embedded NUL: EINVAL).
 */
int xstore_read_owned(struct xstore *xs, const char *path, char **value, unsigned int *owner);

/*
 * Removes path and what is under it, then up to `parents` directories above
 * it that are left empty. 0 also when path was not there; -1 otherwise.
 */
int xstore_rm(struct xstore *xs, const char *path, unsigned int parents);

/*
 * Removes path if it has no children, in one transaction (so that a key
 * written meanwhile by someone else survives). 0, or -1 if it was not removed.
 */
int xstore_rm_if_empty(struct xstore *xs, const char *path);

/*
 * Where one end of a link publishes its state: in its own domain's tree,
 * /local/domain/<self>/data/vchan-tun/<peer>/<link>/state. 0, or -1 if len
 * is too small. The directories above it that the key brings are
 * XSTORE_STATE_PARENTS deep (<link>, <peer>, vchan-tun).
 */
int xstore_state_path(const struct link_config *cfg, unsigned int self, unsigned int peer,
		      char *buf, size_t len);
#define XSTORE_STATE_PARENTS	3
/* Bytes, with the NUL, of the longest such path: domain ids and a link name at their longest. */
#define XSTORE_STATE_PATH_MAX	(sizeof("/local/domain/4294967295/data/vchan-tun/4294967295/") + \
				 CONFIG_NAME_MAX + sizeof("/state") - 1)

/*
 * Watches path (or @releaseDomain, @introduceDomain); the first event comes
 * at once. Watching what is watched already (the same path and token) is
 * no error, and no second watch.
 */
int xstore_watch(struct xstore *xs, const char *path, const char *token, struct error *err);
void xstore_unwatch(struct xstore *xs, const char *path, const char *token);

/*
 * Takes one pending watch event: 1 with its token (cut to the buffer;
 * XSTORE_TOKEN_ALL for all of them), 0 when none is left, -1 when the
 * connection to XenStore is lost (call xstore_reconnect, now or after a
 * pause). A token that fires again meanwhile is pending again: take at
 * most a round's worth per wake-up, and leave the rest for the next round.
 */
int xstore_next_event(struct xstore *xs, char *token, size_t len);

#endif
