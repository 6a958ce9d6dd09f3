// SPDX-License-Identifier: GPL-2.0-only
/*
 * XenStore for the daemon and the watcher (see xs.h), on libxenstore.
 *
 * libxenstore tells of a lost connection only to a thread blocked in
 * xs_read_watch(), which then returns NULL; the fd of xs_fileno() just
 * stays quiet. So one thread of ours per connection sits in xs_read_watch()
 * and passes each event, and finally the loss, to the event loop as one
 * datagram on a socket pair whose other end is xstore_fd(). Each datagram
 * carries the number of the connection it came from, so that nothing of an
 * old connection is taken for news of the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <xenstore.h>

#include "xs.h"

/* What xstore_close watches to wake the reader thread. */
#define WAKE_PATH	"domid"
#define WAKE_TOKEN	"xstore:wake"
/* XenStore's limit for a whole message, path and token included. */
#define EVENT_MAX	4096
#define XS_RETRIES	16

struct event_hdr {
	uint32_t conn;		/* the connection's number */
	uint32_t lost;		/* 1: the connection is lost, nothing follows */
};

struct xstore_watch {
	char *path;
	char *token;
};

struct xstore {
	struct xs_handle *h;
	uint32_t conn;			/* number of the connection in h */
	bool lost;			/* its reader said so; requests fail until reconnected */

	int ev[2];			/* [0]: the loop's end (non-blocking), [1]: the reader's */
	pthread_t reader;
	bool reader_running;

	struct xstore_watch *watches;	/* to register again after a reconnect */
	size_t n_watches, cap_watches;
};

/* --- the reader thread ------------------------------------------------------------- */

struct reader_args {
	struct xs_handle *h;
	uint32_t conn;
	int fd;
};

/* -1 when the loop's end is gone (xstore_close): time to stop. */
static int forward(int fd, uint32_t conn, bool lost, const char *path, const char *token)
{
	struct event_hdr hdr = { .conn = conn, .lost = lost };
	struct iovec iov[3] = {
		{ &hdr, sizeof(hdr) },
		{ (void *)path, strlen(path) + 1 },
		{ (void *)token, strlen(token) + 1 },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };
	ssize_t n;

	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

static void *reader_main(void *arg)
{
	struct reader_args a = *(struct reader_args *)arg;

	free(arg);
	for (;;) {
		unsigned int num = 0;
		char **w = xs_read_watch(a.h, &num);
		int rc;

		if (!w) {
			forward(a.fd, a.conn, true, "", "");
			return NULL;
		}
		rc = num < 2 ? 0 : forward(a.fd, a.conn, false, w[XS_WATCH_PATH],
					    w[XS_WATCH_TOKEN]);
		free(w);
		if (rc)
			return NULL;
	}
}

static int reader_start(struct xstore *xs, char *err, size_t len)
{
	struct reader_args *a = malloc(sizeof(*a));
	sigset_t all, old;
	int rc;

	if (!a) {
		snprintf(err, len, "xenstore: out of memory");
		return -1;
	}
	*a = (struct reader_args){ .h = xs->h, .conn = xs->conn, .fd = xs->ev[1] };
	/* signals are for the loop's signalfd, whatever the caller's mask */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&xs->reader, NULL, reader_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		free(a);
		snprintf(err, len, "xenstore: cannot start the watch reader: %s", strerror(rc));
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
static int watch_all(struct xs_handle *h, const struct xstore *xs, char *err, size_t len)
{
	for (size_t i = 0; i < xs->n_watches; i++) {
		if (xs_watch(h, xs->watches[i].path, xs->watches[i].token))
			continue;
		snprintf(err, len, "xenstore: cannot watch %s: %s", xs->watches[i].path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

struct xstore *xstore_open(char *err, size_t len)
{
	struct xstore *xs = calloc(1, sizeof(*xs));

	if (!xs) {
		snprintf(err, len, "xenstore: out of memory");
		return NULL;
	}
	xs->ev[0] = xs->ev[1] = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, xs->ev) ||
	    fcntl(xs->ev[0], F_SETFL, O_NONBLOCK)) {
		snprintf(err, len, "xenstore: socketpair: %s", strerror(errno));
		goto fail;
	}
	xs->h = xs_open(0);
	if (!xs->h) {
		snprintf(err, len, "xenstore: cannot connect: %s", strerror(errno));
		goto fail;
	}
	if (reader_start(xs, err, len))
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
	if (xs->reader_running) {
		/*
		 * The reader leaves xs_read_watch() only for an event: a new watch
		 * gives one at once, and with our end closed its forwarding fails
		 * (which also ends a forwarding blocked on a full socket). Our
		 * watches go first, so that a guest's quota has room for it.
		 */
		close(xs->ev[0]);
		xs->ev[0] = -1;
		for (size_t i = 0; i < xs->n_watches; i++)
			xs_unwatch(xs->h, xs->watches[i].path, xs->watches[i].token);
		xs_watch(xs->h, WAKE_PATH, WAKE_TOKEN);
		reader_join(xs);
	}
	if (xs->h)
		xs_close(xs->h);
	for (size_t i = 0; i < xs->n_watches; i++) {
		free(xs->watches[i].path);
		free(xs->watches[i].token);
	}
	free(xs->watches);
	if (xs->ev[0] >= 0)
		close(xs->ev[0]);
	if (xs->ev[1] >= 0)
		close(xs->ev[1]);
	free(xs);
}

int xstore_reconnect(struct xstore *xs, char *err, size_t len)
{
	struct xs_handle *h;

	/* only once the reader has said so: until then it may still be reading */
	if (!xs->lost)
		return 0;
	h = xs_open(0);
	if (!h) {
		snprintf(err, len, "xenstore: cannot connect: %s", strerror(errno));
		return -1;
	}
	/* each fires once, at once: the reader passes those on when it starts */
	if (watch_all(h, xs, err, len)) {
		xs_close(h);
		return -1;
	}
	reader_join(xs);
	xs_close(xs->h);
	xs->h = h;
	xs->conn++;
	xs->lost = false;
	if (reader_start(xs, err, len)) {
		/* without a reader nobody would hear of the next loss: count this one lost */
		xs->lost = true;
		return -1;
	}
	return 0;
}

int xstore_fd(struct xstore *xs)
{
	return xs->ev[0];
}

int xstore_next_event(struct xstore *xs, char *path, size_t path_len, char *token,
		      size_t token_len)
{
	char buf[sizeof(struct event_hdr) + EVENT_MAX + 2];
	struct event_hdr hdr;
	const char *p, *t;
	ssize_t n;

	for (;;) {
		if (xs->lost)
			return -1;
		n = recv(xs->ev[0], buf, sizeof(buf) - 2, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if ((size_t)n < sizeof(hdr))
			continue;
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr.conn != xs->conn)
			continue; /* of a connection gone already */
		if (hdr.lost) {
			xs->lost = true;
			errno = ECONNRESET;
			return -1;
		}
		/* two strings, whatever the datagram holds */
		buf[n] = buf[n + 1] = '\0';
		p = buf + sizeof(hdr);
		t = p + strlen(p) + 1;
		if (t > buf + n)
			t = "";
		snprintf(path, path_len, "%s", p);
		snprintf(token, token_len, "%s", t);
		return 1;
	}
}

/* --- reading and writing ---------------------------------------------------------------- */

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

int xstore_own_domid(struct xstore *xs, unsigned int *domid, char *err, size_t len)
{
	char *s = read_string(xs, "domid");
	int ret = 0;

	if (!s) {
		snprintf(err, len, "xenstore: cannot read our domid: %s", strerror(errno));
		return -1;
	}
	if (config_parse_domid(s, domid)) {
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

		if (config_parse_domid(ids[i], &list[found].domid))
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

int xstore_read(struct xstore *xs, const char *path, char *buf, size_t len)
{
	char *s = read_string(xs, path);

	if (!s)
		return errno == ENOENT || errno == EACCES ? 0 : -1;
	snprintf(buf, len, "%s", s);
	free(s);
	return 1;
}

int xstore_write_shared(struct xstore *xs, const char *path, const char *value,
			unsigned int self, unsigned int peer, char *err, size_t len)
{
	struct xs_permissions perms[2] = {
		{ .id = self, .perms = XS_PERM_NONE },
		{ .id = peer, .perms = XS_PERM_READ },
	};

	for (int i = 0; i < XS_RETRIES; i++) {
		xs_transaction_t t = xs_transaction_start(xs->h);

		if (t == XBT_NULL)
			goto fail;
		if (!xs_write(xs->h, t, path, value, (unsigned int)strlen(value)) ||
		    !xs_set_permissions(xs->h, t, path, perms, 2)) {
			int saved = errno;

			xs_transaction_end(xs->h, t, true);
			errno = saved;
			goto fail;
		}
		if (xs_transaction_end(xs->h, t, false))
			return 0;
		if (errno != EAGAIN)
			goto fail;
	}
	snprintf(err, len, "xenstore: cannot write %s: %d conflicting transactions in a row", path,
		 XS_RETRIES);
	return -1;
fail:
	snprintf(err, len, "xenstore: cannot write %s: %s", path, strerror(errno));
	return -1;
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

int xstore_watch(struct xstore *xs, const char *path, const char *token, char *err, size_t len)
{
	if (watch_find(xs, path, token) >= 0)
		return 0;
	if (watch_remember(xs, path, token)) {
		snprintf(err, len, "xenstore: cannot watch %s: out of memory", path);
		return -1;
	}
	/* while disconnected, the reconnect registers it */
	if (xs->lost || xs_watch(xs->h, path, token))
		return 0;
	snprintf(err, len, "xenstore: cannot watch %s: %s", path, strerror(errno));
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
