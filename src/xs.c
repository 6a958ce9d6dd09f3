// SPDX-License-Identifier: GPL-2.0-only
/*
 * XenStore for the daemon and the watcher (see xs.h), on libxenstore.
 *
 * libxenstore tells of a lost connection only to a thread blocked in
 * xs_read_watch(), which then returns NULL; the fd of xs_fileno() just
 * stays quiet. So one thread of ours per connection sits in xs_read_watch()
 * and hands each event to the event loop, and finally the loss.
 *
 * It hands them over coalesced: a set of the tokens that fired, each at most
 * once however often it fired, under a lock, with an eventfd (xstore_fd)
 * that is readable while the set is not empty. A peer that rewrites keys
 * under a watched path as fast as xenstored lets it costs this thread one
 * look-up per event and the loop one event per round; nothing queues up,
 * neither here nor in libxenstore's own list, which this thread keeps empty.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <xenstore.h>

#include "util.h"
#include "xs.h"

/* What xstore_close watches to wake the reader thread. */
#define WAKE_PATH	"domid"
#define WAKE_TOKEN	"xstore:wake"
#define XS_RETRIES	16
/* Tokens that may wait at once; more (watches of ours, removed since) mean: all fired. */
#define PENDING_MAX	4096

struct xstore_watch {
	char *path;
	char *token;
};

struct xstore {
	struct xs_handle *h;
	bool lost;			/* requests fail until reconnected */
	xs_transaction_t snapshot;	/* xstore_snapshot's: XBT_NULL outside one */

	int wake_fd;			/* eventfd: readable while something is pending */
	pthread_t reader;
	bool reader_running;

	/* shared with the reader thread, under lock */
	pthread_mutex_t lock;
	char (*pending)[XSTORE_TOKEN_MAX];	/* tokens that fired, each once */
	size_t n_pending;
	bool overflow;			/* a token did not fit: tell of them all */
	bool reader_lost;		/* the reader saw the connection end */
	bool closing;

	struct xstore_watch *watches;	/* to register again after a reconnect */
	size_t n_watches, cap_watches;
};

/* --- the reader thread ------------------------------------------------------------- */

/* Under lock: the loop's eventfd goes readable. */
static void wake_loop(struct xstore *xs)
{
	uint64_t one = 1;

	if (write(xs->wake_fd, &one, sizeof(one)) < 0)
		return; /* the counter is up already: the loop will look */
}

/* Adds token to the pending set, unless it is there; wakes the loop for the first one. */
static void reader_queue(struct xstore *xs, const char *token)
{
	bool was_empty;
	size_t i;

	pthread_mutex_lock(&xs->lock);
	was_empty = !xs->n_pending && !xs->overflow;
	for (i = 0; i < xs->n_pending; i++)
		if (!strcmp(xs->pending[i], token))
			break;
	if (i == xs->n_pending) {
		if (xs->n_pending < PENDING_MAX && strlen(token) < XSTORE_TOKEN_MAX)
			snprintf(xs->pending[xs->n_pending++], XSTORE_TOKEN_MAX, "%s", token);
		else
			xs->overflow = true;
	}
	if (was_empty)
		wake_loop(xs);
	pthread_mutex_unlock(&xs->lock);
}

static void *reader_main(void *arg)
{
	struct xstore *xs = arg;
	struct xs_handle *h = xs->h;

	for (;;) {
		unsigned int num = 0;
		char **w = xs_read_watch(h, &num);
		bool closing;

		if (!w) {
			pthread_mutex_lock(&xs->lock);
			xs->reader_lost = true;
			wake_loop(xs);
			pthread_mutex_unlock(&xs->lock);
			return NULL;
		}
		pthread_mutex_lock(&xs->lock);
		closing = xs->closing;
		pthread_mutex_unlock(&xs->lock);
		if (!closing && num >= 2 && strcmp(w[XS_WATCH_TOKEN], WAKE_TOKEN))
			reader_queue(xs, w[XS_WATCH_TOKEN]);
		free(w);
		if (closing)
			return NULL;
	}
}

static int reader_start(struct xstore *xs, struct error *err)
{
	sigset_t all, old;
	int rc;

	/* signals are for the loop's signalfd, whatever the caller's mask */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&xs->reader, NULL, reader_main, xs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		error_set(err, rc, "xenstore: cannot start the watch reader: %s", strerror(rc));
		return -1;
	}
	xs->reader_running = true;
	return 0;
}

/* Only once the thread has said the connection is lost, or when it can be woken. */
static void reader_join(struct xstore *xs)
{
	if (!xs->reader_running)
		return;
	pthread_join(xs->reader, NULL);
	xs->reader_running = false;
}

/* --- the connection ------------------------------------------------------------------ */

/* Every watch of the registry on h: 0, or -1 with the reason in err. */
static int watch_all(struct xs_handle *h, const struct xstore *xs, struct error *err)
{
	for (size_t i = 0; i < xs->n_watches; i++) {
		if (xs_watch(h, xs->watches[i].path, xs->watches[i].token))
			continue;
		error_set(err, errno, "xenstore: cannot watch %s: %s", xs->watches[i].path,
			  strerror(errno));
		return -1;
	}
	return 0;
}

struct xstore *xstore_open(struct error *err)
{
	struct xstore *xs = calloc(1, sizeof(*xs));

	if (!xs || !(xs->pending = calloc(PENDING_MAX, sizeof(*xs->pending)))) {
		free(xs);
		error_set(err, ENOMEM, "xenstore: out of memory");
		return NULL;
	}
	pthread_mutex_init(&xs->lock, NULL);
	xs->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (xs->wake_fd < 0) {
		error_set(err, errno, "xenstore: eventfd: %s", strerror(errno));
		goto fail;
	}
	xs->h = xs_open(0);
	if (!xs->h) {
		error_set(err, errno, "xenstore: cannot connect: %s", strerror(errno));
		goto fail;
	}
	if (reader_start(xs, err))
		goto fail;
	return xs;
fail:
	xstore_close(xs);
	return NULL;
}

void xstore_close(struct xstore *xs)
{
	if (!xs)
		return;
	if (xs->reader_running && !xs->lost) {
		/*
		 * The reader leaves xs_read_watch() only for an event: a new watch
		 * gives one at once, and it sees that it is to stop. Our watches
		 * go first, so that a guest's quota has room for that one.
		 */
		pthread_mutex_lock(&xs->lock);
		xs->closing = true;
		pthread_mutex_unlock(&xs->lock);
		for (size_t i = 0; i < xs->n_watches; i++)
			xs_unwatch(xs->h, xs->watches[i].path, xs->watches[i].token);
		xs_watch(xs->h, WAKE_PATH, WAKE_TOKEN);
	}
	reader_join(xs);
	if (xs->h)
		xs_close(xs->h);
	for (size_t i = 0; i < xs->n_watches; i++) {
		free(xs->watches[i].path);
		free(xs->watches[i].token);
	}
	free(xs->watches);
	if (xs->wake_fd >= 0)
		close(xs->wake_fd);
	pthread_mutex_destroy(&xs->lock);
	free(xs->pending);
	free(xs);
}

int xstore_reconnect(struct xstore *xs, struct error *err)
{
	struct xs_handle *h;

	/* only once the reader has said so: until then it may still be reading */
	if (!xs->lost)
		return 0;
	h = xs_open(0);
	if (!h) {
		error_set(err, errno, "xenstore: cannot connect: %s", strerror(errno));
		return -1;
	}
	/* each fires once, at once: the reader passes those on when it starts */
	if (watch_all(h, xs, err)) {
		xs_close(h);
		return -1;
	}
	reader_join(xs);
	xs_close(xs->h);
	xs->h = h;
	pthread_mutex_lock(&xs->lock);
	xs->reader_lost = false;
	pthread_mutex_unlock(&xs->lock);
	xs->lost = false;
	if (reader_start(xs, err)) {
		/* without a reader nobody would hear of the next loss: count this one lost */
		xs->lost = true;
		return -1;
	}
	return 0;
}

int xstore_fd(struct xstore *xs)
{
	return xs->wake_fd;
}

int xstore_next_event(struct xstore *xs, char *token, size_t len)
{
	uint64_t count;
	int ret = 1;

	if (xs->lost)
		return -1;
	pthread_mutex_lock(&xs->lock);
	if (xs->reader_lost) {
		xs->lost = true;
		errno = ECONNRESET;
		ret = -1;
	} else if (xs->overflow) {
		xs->overflow = false;
		snprintf(token, len, "%s", XSTORE_TOKEN_ALL);
	} else if (xs->n_pending) {
		snprintf(token, len, "%s", xs->pending[--xs->n_pending]);
	} else {
		/* empty: quiet until the reader adds one, which it does under this lock */
		ret = read(xs->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN ? -1 : 0;
	}
	pthread_mutex_unlock(&xs->lock);
	return ret;
}

/* --- reading and writing ---------------------------------------------------------------- */

/* A value, NUL-terminated and without embedded NULs; NULL (errno set) otherwise. */
static char *read_string(struct xstore *xs, const char *path)
{
	unsigned int len;
	char *s = xs_read(xs->h, xs->snapshot, path, &len);

	if (s && strlen(s) != len) {
		free(s);
		errno = EINVAL;
		return NULL;
	}
	return s;
}

int xstore_own_domid(struct xstore *xs, unsigned int *domid, struct error *err)
{
	char *s = read_string(xs, "domid");
	int ret = 0;

	if (!s) {
		error_set(err, errno, "xenstore: cannot read our domid: %s", strerror(errno));
		return -1;
	}
	if (config_parse_domid(s, domid)) {
		error_set(err, 0, "xenstore: our domid is '%.16s': not a domain id", s);
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

int xstore_domain_name(struct xstore *xs, unsigned int domid, char *name)
{
	char path[64];
	char *s;
	int ret = -1;

	name[0] = '\0';
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	s = read_string(xs, path);
	if (!s)
		return 0;
	if (config_valid_domain_name(s)) {
		memcpy(name, s, strlen(s) + 1);
		ret = 1;
	}
	free(s);
	return ret;
}

int xstore_list_domains(struct xstore *xs, struct xstore_domain **doms, size_t *n,
			struct error *err)
{
	unsigned int count = 0, i;
	char **ids = xs_directory(xs->h, XBT_NULL, "/local/domain", &count);
	struct xstore_domain *list;
	size_t found = 0;

	*doms = NULL;
	*n = 0;
	if (!ids) {
		error_set(err, errno, "xenstore: cannot list /local/domain: %s%s", strerror(errno),
			  errno == EACCES ? " (only dom0 may look up domains by name)" : "");
		return -1;
	}
	list = calloc(count ? count : 1, sizeof(*list));
	if (!list) {
		free(ids);
		error_set(err, ENOMEM, "xenstore: out of memory");
		return -1;
	}
	for (i = 0; i < count; i++) {
		struct xstore_domain *d = &list[found];

		/* gone meanwhile, nameless, or a name no link can give: left out */
		if (!config_parse_domid(ids[i], &d->domid) &&
		    xstore_domain_name(xs, d->domid, d->name) == 1)
			found++;
	}
	free(ids);
	*doms = list;
	*n = found;
	return 0;
}

int xstore_read(struct xstore *xs, const char *path, char *buf, size_t len)
{
	char *s = read_string(xs, path);

	if (!s)
		return errno == ENOENT || errno == EACCES ? 0 : -1;
	snprintf(buf, len, "%s", s);
	free(s);
	return 1;
}

/*
 * fn in a transaction, again while the transaction ends in EAGAIN (someone
 * wrote meanwhile), at most XS_RETRIES times. fn returns 0, or -1 with
 * errno, which aborts it. 0, or -1 with errno (EAGAIN: always in conflict).
 */
static int in_transaction(struct xstore *xs, int (*fn)(struct xstore *xs, xs_transaction_t t,
						       const void *arg), const void *arg)
{
	for (int i = 0; i < XS_RETRIES; i++) {
		xs_transaction_t t = xs_transaction_start(xs->h);

		if (t == XBT_NULL)
			return -1;
		if (fn(xs, t, arg)) {
			int saved = errno;

			xs_transaction_end(xs->h, t, true);
			errno = saved;
			return -1;
		}
		if (xs_transaction_end(xs->h, t, false))
			return 0;
		if (errno != EAGAIN)
			return -1;
	}
	errno = EAGAIN;
	return -1;
}

/* A transaction's failure, worded for the log. Returns -1. */
static int transaction_fail(struct error *err, const char *what, const char *path)
{
	if (errno == EAGAIN)
		error_set(err, EAGAIN, "xenstore: cannot %s %s: %d conflicting transactions in a "
			  "row", what, path, XS_RETRIES);
	else
		error_set(err, errno, "xenstore: cannot %s %s: %s", what, path, strerror(errno));
	return -1;
}

/* Writes value at path, owned by owner and readable by reader alone. */
static bool write_owned(struct xstore *xs, xs_transaction_t t, const char *path,
			const char *value, unsigned int owner, unsigned int reader)
{
	struct xs_permissions perms[2] = {
		{ .id = owner, .perms = XS_PERM_NONE },
		{ .id = reader, .perms = XS_PERM_READ },
	};

	return xs_write(xs->h, t, path, value, (unsigned int)strlen(value)) &&
	       xs_set_permissions(xs->h, t, path, perms, 2);
}

struct shared_write {
	const char *path, *value;
	unsigned int self, peer;
};

static int do_write_shared(struct xstore *xs, xs_transaction_t t, const void *arg)
{
	const struct shared_write *w = arg;

	return write_owned(xs, t, w->path, w->value, w->self, w->peer) ? 0 : -1;
}

int xstore_write_shared(struct xstore *xs, const char *path, const char *value,
			unsigned int self, unsigned int peer, struct error *err)
{
	const struct shared_write w = { path, value, self, peer };

	if (in_transaction(xs, do_write_shared, &w))
		return transaction_fail(err, "write", path);
	return 0;
}

struct publication {
	const char *dir;
	const struct config_pair *pairs;
	size_t n;
	unsigned int owner, reader;
};

/* What was there goes first: nothing of it, whoever wrote it, survives among ours. */
static int do_publish(struct xstore *xs, xs_transaction_t t, const void *arg)
{
	const struct publication *p = arg;
	char path[CONFIG_XS_PATH_MAX + 1];

	if (!xs_rm(xs->h, t, p->dir) && errno != ENOENT)
		return -1;
	if (!write_owned(xs, t, p->dir, "", p->owner, p->reader))
		return -1;
	for (size_t i = 0; i < p->n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", p->dir, p->pairs[i].key) >=
		    sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (!write_owned(xs, t, path, p->pairs[i].value, p->owner, p->reader))
			return -1;
	}
	return 0;
}

int xstore_publish(struct xstore *xs, const char *dir, const struct config_pair *pairs,
		   size_t n, unsigned int owner, unsigned int reader, struct error *err)
{
	const struct publication p = { dir, pairs, n, owner, reader };

	if (in_transaction(xs, do_publish, &p))
		return transaction_fail(err, "publish", dir);
	return 0;
}

struct snapshot {
	int (*fn)(struct xstore *xs, void *arg);
	void *arg;
};

static int do_snapshot(struct xstore *xs, xs_transaction_t t, const void *arg)
{
	const struct snapshot *s = arg;
	int rc;

	xs->snapshot = t;
	rc = s->fn(xs, s->arg);
	xs->snapshot = XBT_NULL;
	return rc;
}

int xstore_snapshot(struct xstore *xs, int (*fn)(struct xstore *xs, void *arg), void *arg)
{
	struct snapshot s = { fn, arg };

	return in_transaction(xs, do_snapshot, &s);
}

int xstore_list(struct xstore *xs, const char *path, char ***names, unsigned int *n)
{
	*n = 0;
	*names = xs_directory(xs->h, xs->snapshot, path, n);
	if (*names)
		return 1;
	return errno == ENOENT || errno == EACCES ? 0 : -1;
}

int xstore_read_owned(struct xstore *xs, const char *path, char **value, unsigned int *owner)
{
	unsigned int n = 0;
	struct xs_permissions *perms = xs_get_permissions(xs->h, xs->snapshot, path, &n);

	*value = NULL;
	if (!perms || !n) {
		free(perms);
		return !perms && errno != ENOENT && errno != EACCES ? -1 : 0;
	}
	*owner = perms[0].id;
	free(perms);
	*value = read_string(xs, path);
	if (*value)
		return 1;
	return errno == ENOENT || errno == EACCES ? 0 : -1;
}

int xstore_rm(struct xstore *xs, const char *path, unsigned int parents)
{
	char dir[CONFIG_XS_PATH_MAX + 1];
	char *slash;

	if (!xs_rm(xs->h, XBT_NULL, path) && errno != ENOENT)
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	while (parents--) {
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
		if (xstore_rm_if_empty(xs, dir))
			break;
	}
	return 0;
}

static int do_rm_if_empty(struct xstore *xs, xs_transaction_t t, const void *arg)
{
	const char *path = arg;
	unsigned int n = 0;
	char **kids = xs_directory(xs->h, t, path, &n);

	free(kids);
	if (!kids)
		return -1;
	if (n) {
		errno = ENOTEMPTY;
		return -1;
	}
	return xs_rm(xs->h, t, path) ? 0 : -1;
}

int xstore_rm_if_empty(struct xstore *xs, const char *path)
{
	return in_transaction(xs, do_rm_if_empty, path);
}

int xstore_state_path(const struct link_config *cfg, unsigned int self, unsigned int peer,
		      char *buf, size_t len)
{
	size_t used;

	/* the default channel path with ourselves as the server is our own directory */
	if (config_default_xs_path(cfg, self, peer, buf, len))
		return -1;
	used = strlen(buf);
	return (size_t)snprintf(buf + used, len - used, "/state") >= len - used ? -1 : 0;
}

/* --- watches ---------------------------------------------------------------------------- */

static ssize_t watch_find(const struct xstore *xs, const char *path, const char *token)
{
	for (size_t i = 0; i < xs->n_watches; i++)
		if (!strcmp(xs->watches[i].path, path) && !strcmp(xs->watches[i].token, token))
			return (ssize_t)i;
	return -1;
}

static int watch_remember(struct xstore *xs, const char *path, const char *token)
{
	struct xstore_watch *w;

	if (xs->n_watches == xs->cap_watches) {
		size_t cap = xs->cap_watches ? xs->cap_watches * 2 : 8;

		w = realloc(xs->watches, cap * sizeof(*w));
		if (!w)
			return -1;
		xs->watches = w;
		xs->cap_watches = cap;
	}
	w = &xs->watches[xs->n_watches];
	w->path = strdup(path);
	w->token = strdup(token);
	if (!w->path || !w->token) {
		free(w->path);
		free(w->token);
		return -1;
	}
	xs->n_watches++;
	return 0;
}

static void watch_forget(struct xstore *xs, size_t i)
{
	free(xs->watches[i].path);
	free(xs->watches[i].token);
	xs->watches[i] = xs->watches[--xs->n_watches];
}

int xstore_watch(struct xstore *xs, const char *path, const char *token, struct error *err)
{
	if (watch_find(xs, path, token) >= 0)
		return 0;
	if (watch_remember(xs, path, token)) {
		error_set(err, ENOMEM, "xenstore: cannot watch %s: out of memory", path);
		return -1;
	}
	/* while disconnected, the reconnect registers it */
	if (xs->lost || xs_watch(xs->h, path, token))
		return 0;
	if (errno == E2BIG)	/* an unprivileged domain's quota: C xenstored's --watch-nb */
		error_set(err, errno, "xenstore: cannot watch %s: this domain has as many XenStore "
			  "watches as xenstored allows it (--watch-nb, 128 by default; none for dom0)",
			  path);
	else
		error_set(err, errno, "xenstore: cannot watch %s: %s", path, strerror(errno));
	watch_forget(xs, xs->n_watches - 1);
	return -1;
}

void xstore_unwatch(struct xstore *xs, const char *path, const char *token)
{
	ssize_t i = watch_find(xs, path, token);

	if (i < 0)
		return;
	watch_forget(xs, (size_t)i);
	if (!xs->lost)
		xs_unwatch(xs->h, path, token);
}
