// SPDX-License-Identifier: GPL-2.0-only
/*
 * Setting a vchan up and tearing it down: grants, the event channel and the
 * XenStore rendezvous, in the order libxenvchan uses so either end can be
 * libxenvchan. The ring itself is ring.c's business.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "../util.h"
#include "vchan.h"

/* The FIFO event channel ABI's last port (2^17 - 1); the 2-level ABI stops at 4095. */
#define MAX_PORT	131071u
#define MAX_PATH_LEN	2900u	/* XenStore allows 3072 with the key appended */
#define XS_RETRIES	64	/* transactions that conflict in a row before giving up */

struct vchan {
	enum vchan_ring_role role;
	unsigned int peer;		/* the other end's domid */
	unsigned int own_domid;		/* server: owner of the XenStore keys */
	char *path;

	xenevtchn_handle *xce;
	evtchn_port_t port;		/* ours; 0 while unbound */
	bool masked;			/* an event was taken, and port not unmasked since */
	xengntshr_handle *gs;		/* server */
	xengnttab_handle *gt;		/* client */
	struct xs_handle *xs;		/* server: kept to re-offer and to clean up */

	struct vchan_layout lay;
	struct vchan_shared *page;	/* NULL once withdrawn */
	void *left, *right;		/* ring buffers, in the page or their own pages */
	struct vchan_ring ring;

	bool published;			/* server: our keys are in XenStore */
	bool was_connected;
	bool closed;			/* the peer's live byte read 0 once: stays closed */
};

static void __attribute__((format(printf, 2, 3))) set_err(struct vchan_error *e, const char *fmt,
							     ...)
{
	int saved = errno;
	va_list ap;

	/* Callers cite the failed call's errno with %m; keep it for code too. */
	e->err = strstr(fmt, "%m") ? saved : 0;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	errno = saved;
}

int vchan_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	return parse_decimal(s, min, max, out);
}

static bool ring_in_page(unsigned int order)
{
	return order < VCHAN_PAGE_SHIFT;
}

/* --- events --------------------------------------------------------------------- */

static int evtchn_open(struct vchan *v, struct vchan_error *e)
{
	int fd, fl;

	v->xce = xenevtchn_open(NULL, 0);
	if (!v->xce) {
		set_err(e, "cannot open the event channel device: %m");
		return -1;
	}
	/*
	 * Non-blocking, so that a wake-up with nothing behind it cannot leave
	 * vchan_handle_events stuck in a read.
	 */
	fd = xenevtchn_fd(v->xce);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		set_err(e, "cannot make event channel fd %d non-blocking: %m", fd);
		return -1;
	}
	return 0;
}

static void evtchn_unbind(struct vchan *v)
{
	if (v->xce && v->port)
		xenevtchn_unbind(v->xce, v->port);
	v->port = 0;
	v->masked = false;
}

int vchan_fd(const struct vchan *v)
{
	return xenevtchn_fd(v->xce);
}

int vchan_take_event(struct vchan *v)
{
	xenevtchn_port_or_error_t port;

	if (!v->page)
		return -1;
	port = xenevtchn_pending(v->xce);
	if (port < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		vchan_ring_break(&v->ring, "cannot take the pending event: %m");
		return -1;
	}
	/* one port per handle: anything else was ours before a re-offer, and is gone */
	if ((evtchn_port_t)port == v->port)
		v->masked = true;
	return 0;
}

int vchan_unmask(struct vchan *v)
{
	if (!v->masked)
		return 0;
	v->masked = false;
	if (xenevtchn_unmask(v->xce, v->port) < 0) {
		vchan_ring_break(&v->ring, "cannot unmask event channel port %u: %m", v->port);
		return -1;
	}
	return 0;
}

int vchan_handle_events(struct vchan *v)
{
	if (vchan_take_event(v))
		return -1;
	return vchan_unmask(v);
}

static int notify(struct vchan *v)
{
	if (xenevtchn_notify(v->xce, v->port) == 0)
		return 0;
	vchan_ring_break(&v->ring, "cannot notify event channel port %u: %m", v->port);
	return -1;
}

int vchan_notify(struct vchan *v)
{
	if (!v->page || vchan_ring_error(&v->ring))
		return -1;
	return notify(v);
}

int vchan_flush(struct vchan *v)
{
	if (!v->page || vchan_ring_error(&v->ring))
		return -1;
	if (!vchan_ring_flush(&v->ring))
		return 0;
	return notify(v);
}

int vchan_flush_if_waiting(struct vchan *v)
{
	if (!v->page || !vchan_ring_flush_due(&v->ring))
		return 0;
	return vchan_flush(v);
}

/* --- state ------------------------------------------------------------------------ */

enum vchan_state vchan_state(struct vchan *v)
{
	int live;

	if (!v->page || vchan_ring_error(&v->ring))
		return VCHAN_BROKEN;
	if (v->closed)
		return VCHAN_CLOSED;
	live = vchan_ring_peer_live(&v->ring);
	switch (live) {
	case VCHAN_LIVE_GONE:
		v->closed = true;
		return VCHAN_CLOSED;
	case VCHAN_LIVE_CONNECTED:
		v->was_connected = true;
		return VCHAN_CONNECTED;
	case VCHAN_LIVE_WAITING:
		if (v->role == VCHAN_CLIENT)
			return VCHAN_CONNECTED; /* libxenvchan treats any non-zero as open */
		if (!v->was_connected)
			return VCHAN_WAITING;
		vchan_ring_break(&v->ring, "client's live byte went from 1 back to 2");
		return VCHAN_BROKEN;
	default:
		return VCHAN_BROKEN;
	}
}

const char *vchan_error(const struct vchan *v)
{
	if (!v->page)
		return "channel withdrawn";
	return vchan_ring_error(&v->ring);
}

struct vchan_ring *vchan_ring(struct vchan *v)
{
	return &v->ring;
}

unsigned int vchan_read_order(const struct vchan *v)
{
	return v->role == VCHAN_SERVER ? v->lay.left_order : v->lay.right_order;
}

unsigned int vchan_write_order(const struct vchan *v)
{
	return v->role == VCHAN_SERVER ? v->lay.right_order : v->lay.left_order;
}

/* --- XenStore ----------------------------------------------------------------------- */

static char *key_path(const char *path, const char *key)
{
	char *p;

	if (asprintf(&p, "%s/%s", path, key) < 0)
		return NULL;
	return p;
}

static int check_path(const char *path, struct vchan_error *e)
{
	size_t len = strlen(path);

	if (!len || len > MAX_PATH_LEN || path[len - 1] == '/') {
		set_err(e, "bad XenStore path '%.64s%s': expected 1..%u characters, no trailing /",
			path, len > 64 ? "..." : "", MAX_PATH_LEN);
		return -1;
	}
	return 0;
}

static bool put_key(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *key,
		   unsigned int value, struct xs_permissions *perms)
{
	char *p = key_path(path, key), val[16];
	bool ok;

	if (!p)
		return false;
	snprintf(val, sizeof(val), "%u", value);
	ok = xs_write(xs, t, p, val, strlen(val)) && xs_set_permissions(xs, t, p, perms, 2);
	free(p);
	return ok;
}

/* Writes both keys in one transaction, so a client never sees one without the other. */
static int publish_keys(struct vchan *v, uint32_t ref, struct vchan_error *e)
{
	struct xs_permissions perms[2] = {
		{ .id = v->own_domid, .perms = XS_PERM_NONE },
		{ .id = v->peer, .perms = XS_PERM_READ },
	};

	for (int i = 0; i < XS_RETRIES; i++) {
		xs_transaction_t t = xs_transaction_start(v->xs);

		if (t == XBT_NULL) {
			set_err(e, "cannot start a XenStore transaction: %m");
			return -1;
		}
		if (!put_key(v->xs, t, v->path, "ring-ref", ref, perms) ||
		    !put_key(v->xs, t, v->path, "event-channel", v->port, perms)) {
			int saved = errno;

			xs_transaction_end(v->xs, t, true);
			errno = saved;
			set_err(e, "cannot write %s/ring-ref and event-channel: %m", v->path);
			return -1;
		}
		if (xs_transaction_end(v->xs, t, false))
			return 0;
		if (errno != EAGAIN) {
			set_err(e, "cannot commit the keys under %s: %m", v->path);
			return -1;
		}
	}
	set_err(e, "gave up writing the keys under %s after %d conflicting transactions", v->path,
		XS_RETRIES);
	return -1;
}

static int read_own_domid(struct vchan *v, struct vchan_error *e)
{
	unsigned long id;
	unsigned int len;
	char *s = xs_read(v->xs, XBT_NULL, "domid", &len);

	if (!s) {
		set_err(e, "cannot read our domid from XenStore: %m");
		return -1;
	}
	if (strlen(s) != len || vchan_parse_uint(s, 0, VCHAN_DOMID_LIMIT - 1, &id)) {
		set_err(e, "XenStore says our domid is '%.16s': not a domid", s);
		free(s);
		return -1;
	}
	free(s);
	v->own_domid = (unsigned int)id;
	return 0;
}

/* --- server ----------------------------------------------------------------------------- */

static void server_unshare_rings(struct vchan *v)
{
	if (v->left && !ring_in_page(v->lay.left_order))
		xengntshr_unshare(v->gs, v->left, v->lay.left_pages);
	if (v->right && !ring_in_page(v->lay.right_order))
		xengntshr_unshare(v->gs, v->right, v->lay.right_pages);
	v->left = v->right = NULL;
}

/* Takes back the page, rings and port; the XenStore keys stay. */
static void server_withdraw(struct vchan *v)
{
	if (v->page) {
		/* The page, not the ring: this may run before the ring was set up. */
		__atomic_store_n(&v->page->srv_live, VCHAN_LIVE_GONE, __ATOMIC_SEQ_CST);
		server_unshare_rings(v);
		/* Unsharing clears srv_live again and signals the port: the client's cue. */
		xengntshr_unshare(v->gs, v->page, 1);
		v->page = NULL;
		xenevtchn_notify(v->xce, v->port);
	}
	server_unshare_rings(v);
	evtchn_unbind(v);
}

static void *share_ring(struct vchan *v, unsigned int order, unsigned int pages, uint32_t *refs,
			bool writable, struct vchan_error *e)
{
	void *p;

	if (ring_in_page(order))
		return vchan_inpage_ring(v->page, order);
	p = xengntshr_share_pages(v->gs, v->peer, (int)pages, refs, writable);
	if (!p)
		set_err(e, "cannot share %u pages of an order %u ring with domain %u: %m", pages,
			order, v->peer);
	return p;
}

/*
 * Port first (the unmap notification names it), then the control page, the
 * rings, and last the keys that let a client in.
 */
static int server_offer(struct vchan *v, struct vchan_error *e)
{
	uint32_t ref, grants[VCHAN_MAX_GRANTS];
	xenevtchn_port_or_error_t port;

	port = xenevtchn_bind_unbound_port(v->xce, v->peer);
	if (port < 0) {
		set_err(e, "cannot offer an event channel to domain %u: %m", v->peer);
		return -1;
	}
	v->port = (evtchn_port_t)port;
	if (xenevtchn_unmask(v->xce, v->port) < 0) {
		set_err(e, "cannot unmask event channel port %u: %m", v->port);
		goto fail;
	}
	v->page = xengntshr_share_page_notify(v->gs, v->peer, &ref, 1,
					      offsetof(struct vchan_shared, srv_live), v->port);
	if (!v->page) {
		set_err(e, "cannot share the control page with domain %u: %m", v->peer);
		goto fail;
	}
	memset(v->page, 0, VCHAN_PAGE_SIZE);
	/* The client writes the left ring; the right one it may only read. */
	v->left = share_ring(v, v->lay.left_order, v->lay.left_pages, grants, true, e);
	if (!v->left)
		goto fail;
	v->right = share_ring(v, v->lay.right_order, v->lay.right_pages,
			      grants + v->lay.left_pages, false, e);
	if (!v->right)
		goto fail;
	vchan_shared_init(v->page, &v->lay, grants);
	if (vchan_ring_init(&v->ring, v->page, VCHAN_SERVER, &v->lay, v->left, v->right)) {
		set_err(e, "%s", vchan_ring_error(&v->ring));
		goto fail;
	}
	v->was_connected = false;
	v->closed = false;
	if (publish_keys(v, ref, e))
		goto fail;
	v->published = true;
	return 0;
fail:
	server_withdraw(v);
	return -1;
}

static struct vchan *vchan_alloc(enum vchan_ring_role role, unsigned int peer, const char *path,
				 struct vchan_error *e)
{
	struct vchan *v;

	if (peer >= VCHAN_DOMID_LIMIT) {
		set_err(e, "bad domid %u: expected 0..%u", peer, VCHAN_DOMID_LIMIT - 1);
		return NULL;
	}
	if (check_path(path, e))
		return NULL;
	v = calloc(1, sizeof(*v));
	if (!v || !(v->path = strdup(path))) {
		free(v);
		set_err(e, "out of memory");
		return NULL;
	}
	v->role = role;
	v->peer = peer;
	return v;
}

struct vchan *vchan_server_open(unsigned int peer_domid, const char *xs_path,
				unsigned int read_order, unsigned int write_order,
				struct vchan_error *err)
{
	struct vchan *v;
	char why[160];

	v = vchan_alloc(VCHAN_SERVER, peer_domid, xs_path, err);
	if (!v)
		return NULL;
	/* The server reads the left ring and writes the right one. */
	if (vchan_layout_make(&v->lay, read_order, write_order, why, sizeof(why))) {
		set_err(err, "%s", why);
		goto fail;
	}
	v->xs = xs_open(0);
	if (!v->xs) {
		set_err(err, "cannot connect to XenStore: %m");
		goto fail;
	}
	if (read_own_domid(v, err))
		goto fail;
	v->gs = xengntshr_open(NULL, 0);
	if (!v->gs) {
		set_err(err, "cannot open the grant sharing device: %m");
		goto fail;
	}
	if (evtchn_open(v, err) || server_offer(v, err))
		goto fail;
	return v;
fail:
	vchan_close(v);
	return NULL;
}

int vchan_server_reoffer(struct vchan *v, struct vchan_error *err)
{
	if (v->role != VCHAN_SERVER) {
		set_err(err, "only a server can re-offer its channel");
		return -1;
	}
	server_withdraw(v);
	return server_offer(v, err);
}

/* --- client ------------------------------------------------------------------------------ */

static void client_unmap(struct vchan *v)
{
	if (v->left && !ring_in_page(v->lay.left_order))
		xengnttab_unmap(v->gt, v->left, v->lay.left_pages);
	if (v->right && !ring_in_page(v->lay.right_order))
		xengnttab_unmap(v->gt, v->right, v->lay.right_pages);
	v->left = v->right = NULL;
	if (v->page) {
		__atomic_store_n(&v->page->cli_live, VCHAN_LIVE_GONE, __ATOMIC_SEQ_CST);
		/* Unmapping clears cli_live again and signals the port: the server's cue. */
		xengnttab_unmap(v->gt, v->page, 1);
		v->page = NULL;
		xenevtchn_notify(v->xce, v->port);
	}
	evtchn_unbind(v);
}

static void *map_ring(struct vchan *v, unsigned int order, unsigned int pages, uint32_t *refs,
		      int prot, struct vchan_error *e)
{
	void *p;

	if (ring_in_page(order))
		return vchan_inpage_ring(v->page, order);
	p = xengnttab_map_domain_grant_refs(v->gt, pages, v->peer, refs, prot);
	if (!p)
		set_err(e, "cannot map the %u pages of domain %u's order %u ring %s: %m", pages,
			v->peer, order, prot & PROT_WRITE ? "read-write" : "read-only");
	return p;
}

/* One attempt with the keys as read; leaves nothing behind on failure. */
static int client_connect(struct vchan *v, uint32_t ref, uint32_t remote_port,
			  struct vchan_error *e)
{
	uint32_t grants[VCHAN_MAX_GRANTS];
	xenevtchn_port_or_error_t port;
	char why[160];

	port = xenevtchn_bind_interdomain(v->xce, v->peer, remote_port);
	if (port < 0) {
		set_err(e, "cannot bind to event channel port %u of domain %u: %m", remote_port,
			v->peer);
		return -1;
	}
	v->port = (evtchn_port_t)port;
	if (xenevtchn_unmask(v->xce, v->port) < 0) {
		set_err(e, "cannot unmask event channel port %u: %m", v->port);
		goto fail;
	}
	v->page = xengnttab_map_grant_ref_notify(v->gt, v->peer, ref, PROT_READ | PROT_WRITE,
						 offsetof(struct vchan_shared, cli_live), v->port);
	if (!v->page) {
		set_err(e, "cannot map grant %u of domain %u (the control page): %m", ref, v->peer);
		goto fail;
	}
	if (vchan_shared_read_layout(v->page, &v->lay, grants, why, sizeof(why))) {
		set_err(e, "domain %u's control page is invalid: %s", v->peer, why);
		goto fail;
	}
	v->left = map_ring(v, v->lay.left_order, v->lay.left_pages, grants,
			   PROT_READ | PROT_WRITE, e);
	if (!v->left)
		goto fail;
	v->right = map_ring(v, v->lay.right_order, v->lay.right_pages,
			    grants + v->lay.left_pages, PROT_READ, e);
	if (!v->right)
		goto fail;
	if (vchan_ring_init(&v->ring, v->page, VCHAN_CLIENT, &v->lay, v->left, v->right)) {
		set_err(e, "domain %u's control page is invalid: %s", v->peer,
			vchan_ring_error(&v->ring));
		goto fail;
	}
	vchan_ring_set_live(&v->ring, VCHAN_LIVE_CONNECTED);
	__atomic_store_n(&v->page->srv_notify, VCHAN_NOTIFY_WRITE, __ATOMIC_SEQ_CST);
	if (notify(v)) {
		set_err(e, "%s", vchan_ring_error(&v->ring));
		goto fail;
	}
	return 0;
fail:
	client_unmap(v);
	return -1;
}

static int read_key(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *key,
		    unsigned long max, unsigned long *out, struct vchan_error *e)
{
	char *p = key_path(path, key), *s;
	unsigned int len;
	int ret = -1;

	if (!p) {
		set_err(e, "out of memory");
		return -1;
	}
	s = xs_read(xs, t, p, &len);
	if (!s) {
		/* Not written yet, or not yet readable by us: both mean "wait". */
		ret = errno == ENOENT || errno == EACCES ? 1 : -1;
		set_err(e, "cannot read %s: %m", p);
		goto out;
	}
	if (strlen(s) != len || vchan_parse_uint(s, 1, max, out)) {
		char head[17], shown[4 * 16 + 1];

		/* the peer wrote it: no terminal escapes into our log */
		snprintf(head, sizeof(head), "%s", s);
		set_err(e, "%s is '%s%s': expected a number from 1 to %lu", p,
			printable(head, shown, sizeof(shown)), len > 16 ? "..." : "", max);
		goto out;
	}
	ret = 0;
out:
	free(s);
	free(p);
	return ret;
}

/* 0: both keys read and valid; 1: not there (yet); -1: invalid or XenStore failed. */
static int read_keys(struct vchan *v, struct xs_handle *xs, uint32_t *ref, uint32_t *port,
		     struct vchan_error *e)
{
	unsigned long r = 0, p = 0;

	for (int i = 0; i < XS_RETRIES; i++) {
		xs_transaction_t t = xs_transaction_start(xs);
		int ret;

		if (t == XBT_NULL) {
			set_err(e, "cannot start a XenStore transaction: %m");
			return -1;
		}
		ret = read_key(xs, t, v->path, "ring-ref", UINT32_MAX, &r, e);
		if (!ret)
			ret = read_key(xs, t, v->path, "event-channel", MAX_PORT, &p, e);
		if (ret) {
			xs_transaction_end(xs, t, true);
			return ret;
		}
		if (xs_transaction_end(xs, t, false)) {
			*ref = (uint32_t)r;
			*port = (uint32_t)p;
			return 0;
		}
		if (errno != EAGAIN) {
			set_err(e, "cannot end a XenStore transaction: %m");
			return -1;
		}
	}
	set_err(e, "the keys under %s kept changing", v->path);
	return -1;
}

/* Sleeps until the watch fires or the deadline; 0, or -1 on time-out or error. */
static int wait_watch(struct xs_handle *xs, int64_t deadline)
{
	struct pollfd pfd = { .fd = xs_fileno(xs), .events = POLLIN };
	int64_t left = deadline - now_ms();
	char **w;

	if (left <= 0)
		return -1;
	if (poll(&pfd, 1, left > 60000 ? 60000 : (int)left) < 0 && errno != EINTR)
		return -1;
	while ((w = xs_check_watch(xs)))
		free(w);
	return errno == EAGAIN ? 0 : -1;
}

struct vchan *vchan_client_open(unsigned int server_domid, const char *xs_path, int timeout_ms,
				struct vchan_error *err)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct xs_handle *xs = NULL;
	char token[32];
	struct vchan *v;

	v = vchan_alloc(VCHAN_CLIENT, server_domid, xs_path, err);
	if (!v)
		return NULL;
	xs = xs_open(0);
	if (!xs) {
		set_err(err, "cannot connect to XenStore: %m");
		goto fail;
	}
	v->gt = xengnttab_open(NULL, 0);
	if (!v->gt) {
		set_err(err, "cannot open the grant table device: %m");
		goto fail;
	}
	if (evtchn_open(v, err))
		goto fail;
	snprintf(token, sizeof(token), "vchan-%p", (void *)v);
	if (timeout_ms > 0 && xs_fileno(xs) < 0) {
		set_err(err, "cannot get the XenStore watch fd: %m");
		goto fail;
	}
	if (timeout_ms > 0 && !xs_watch(xs, v->path, token)) {
		set_err(err, "cannot watch %s: %m", v->path);
		goto fail;
	}
	for (;;) {
		uint32_t ref, port;
		int ret = read_keys(v, xs, &ref, &port, err);

		if (ret < 0)
			goto fail;
		if (!ret && !client_connect(v, ref, port, err))
			break;
		/* Absent, or stale keys of a server gone: wait until they change. */
		if (timeout_ms <= 0 || wait_watch(xs, deadline)) {
			if (timeout_ms > 0) {
				size_t n = strlen(err->msg);

				snprintf(err->msg + n, sizeof(err->msg) - n,
					 " (gave up after %d ms)", timeout_ms);
			}
			goto fail;
		}
	}
	if (timeout_ms > 0)
		xs_unwatch(xs, v->path, token);
	xs_close(xs);
	return v;
fail:
	xs_close(xs);
	vchan_close(v);
	return NULL;
}

/* --- closing ------------------------------------------------------------------------------- */

void vchan_close(struct vchan *v)
{
	if (!v)
		return;
	if (v->role == VCHAN_SERVER) {
		if (v->gs && v->xce)
			server_withdraw(v);
		if (v->published)
			xs_rm(v->xs, XBT_NULL, v->path);
		if (v->gs)
			xengntshr_close(v->gs);
		xs_close(v->xs);
	} else {
		if (v->gt && v->xce)
			client_unmap(v);
		if (v->gt)
			xengnttab_close(v->gt);
	}
	if (v->xce)
		xenevtchn_close(v->xce);
	free(v->path);
	free(v);
}
