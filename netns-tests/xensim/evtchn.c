// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stand-in libxenevtchn.so.1: event channels between simulated domains.
 *
 * A handle is a connection to xensim-hv (for binding), a shared page with
 * one pending bit per port, and an eventfd the application polls. Sending is
 * a bit set in the receiver's page and, when no wake-up is queued there yet,
 * one eventfd write: no relay through another process.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenevtchn.h>

#include "hv_client.h"

struct peer_cache {
	uint64_t peer; /* the page's peer[] value this entry was resolved for */
	struct hv_evtchn_page *page;
	int efd;
	uint16_t port;
};

struct xenevtchn_handle {
	int sock;
	int efd;
	int page_fd;
	uint16_t domid;
	struct hv_evtchn_page *page;
	pthread_mutex_t lock; /* one request at a time on sock, and the caches */
	uint64_t masked[HV_MAX_PORTS / 64];
	uint64_t bound[HV_MAX_PORTS / 64];
	evtchn_port_t last_port; /* the last port xenevtchn_pending returned */
	struct peer_cache *peers[HV_MAX_PORTS];
};

static bool port_valid(evtchn_port_t port)
{
	return port > 0 && port < HV_MAX_PORTS;
}

static bool test_bit(const uint64_t *map, evtchn_port_t port)
{
	return map[port / 64] & (1ull << (port % 64));
}

static void set_bit(uint64_t *map, evtchn_port_t port)
{
	map[port / 64] |= 1ull << (port % 64);
}

static void clear_bit(uint64_t *map, evtchn_port_t port)
{
	map[port / 64] &= ~(1ull << (port % 64));
}

static void wake(struct hv_evtchn_page *page, int efd)
{
	uint64_t one = 1;

	if (atomic_exchange(&page->doorbell, 1))
		return;
	/* Cannot block: the counter would need 2^64 - 1 unread wake-ups. */
	if (write(efd, &one, sizeof(one)) < 0)
		return;
}

static void drop_peer(xenevtchn_handle *xce, evtchn_port_t port)
{
	struct peer_cache *pc = xce->peers[port];

	if (!pc)
		return;
	munmap(pc->page, sizeof(*pc->page));
	close(pc->efd);
	free(pc);
	xce->peers[port] = NULL;
}

static int create_page(xenevtchn_handle *xce)
{
	xce->page_fd = memfd_create("xensim-evtchn", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (xce->page_fd < 0)
		return -1;
	if (ftruncate(xce->page_fd, sizeof(*xce->page)) < 0 ||
	    fcntl(xce->page_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -1;
	xce->page = mmap(NULL, sizeof(*xce->page), PROT_READ | PROT_WRITE, MAP_SHARED,
			 xce->page_fd, 0);
	if (xce->page == MAP_FAILED) {
		xce->page = NULL;
		return -1;
	}
	return 0;
}

HV_EXPORT xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	xenevtchn_handle *xce = calloc(1, sizeof(*xce));
	int fds[2], saved;

	if (!xce)
		return NULL;
	xce->sock = xce->efd = xce->page_fd = -1;
	pthread_mutex_init(&xce->lock, NULL);
	/* Blocking, as /dev/xen/evtchn is, until the caller says otherwise. */
	xce->efd = eventfd(0, EFD_CLOEXEC);
	if (xce->efd < 0 || create_page(xce) < 0)
		goto fail;
	fds[0] = xce->page_fd;
	fds[1] = xce->efd;
	xce->sock = hv_open(HV_KIND_EVTCHN, fds, 2);
	if (xce->sock < 0)
		goto fail;
	xce->domid = (uint16_t)hv_self_domid();
	return xce;
fail:
	saved = errno;
	xenevtchn_close(xce);
	errno = saved;
	return NULL;
}

HV_EXPORT xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd,
					     unsigned open_flags)
{
	errno = EOPNOTSUPP;
	return NULL;
}

HV_EXPORT int xenevtchn_close(xenevtchn_handle *xce)
{
	if (!xce)
		return 0;
	for (evtchn_port_t port = 1; port < HV_MAX_PORTS; port++)
		drop_peer(xce, port);
	if (xce->sock >= 0)
		close(xce->sock);
	if (xce->page)
		munmap(xce->page, sizeof(*xce->page));
	if (xce->page_fd >= 0)
		close(xce->page_fd);
	if (xce->efd >= 0)
		close(xce->efd);
	pthread_mutex_destroy(&xce->lock);
	free(xce);
	return 0;
}

HV_EXPORT int xenevtchn_fd(xenevtchn_handle *xce)
{
	return xce->efd;
}

HV_EXPORT int xenevtchn_restrict(xenevtchn_handle *xce, domid_t domid)
{
	errno = EOPNOTSUPP;
	return -1;
}

static xenevtchn_port_or_error_t port_request(xenevtchn_handle *xce, uint32_t op, uint32_t domid,
					      uint32_t port)
{
	struct hv_port_req req = { .h.op = op, .domid = domid, .port = port };
	struct hv_port_rep rep;
	ssize_t n;

	pthread_mutex_lock(&xce->lock);
	n = hv_call(xce->sock, &req, sizeof(req), NULL, 0, &rep, sizeof(rep), NULL, 0, NULL);
	if (n >= 0 && (op == HV_OP_BIND_UNBOUND || op == HV_OP_BIND_INTERDOMAIN)) {
		set_bit(xce->bound, rep.port);
		clear_bit(xce->masked, rep.port);
	}
	pthread_mutex_unlock(&xce->lock);
	if (n < 0)
		return -1;
	return op == HV_OP_UNBIND ? 0 : (xenevtchn_port_or_error_t)rep.port;
}

HV_EXPORT xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *xce,
								 uint32_t domid)
{
	return port_request(xce, HV_OP_BIND_UNBOUND, domid, 0);
}

HV_EXPORT xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce,
								uint32_t domid,
								evtchn_port_t remote_port)
{
	xenevtchn_port_or_error_t port;

	port = port_request(xce, HV_OP_BIND_INTERDOMAIN, domid, remote_port);
	if (port < 0)
		return port;
	/*
	 * Xen marks the new local port pending, because events sent to the
	 * unbound remote end before we bound may have been lost: the first
	 * event on a new interdomain port is spurious.
	 */
	atomic_fetch_or(&xce->page->pending[port / 64], 1ull << (port % 64));
	wake(xce->page, xce->efd);
	return port;
}

HV_EXPORT xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce,
							 unsigned int virq)
{
	errno = EOPNOTSUPP;
	return -1;
}

HV_EXPORT int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
	if (!port_valid(port)) {
		errno = EINVAL;
		return -1;
	}
	if (port_request(xce, HV_OP_UNBIND, 0, port) < 0)
		return -1;
	pthread_mutex_lock(&xce->lock);
	drop_peer(xce, port);
	clear_bit(xce->bound, port);
	clear_bit(xce->masked, port);
	if (xce->last_port == port)
		xce->last_port = 0;
	pthread_mutex_unlock(&xce->lock);
	return 0;
}

/* Finds where events on our port go; under xce->lock. */
static struct peer_cache *resolve(xenevtchn_handle *xce, evtchn_port_t port, uint64_t peer)
{
	struct hv_port_req req = { .h.op = HV_OP_RESOLVE, .port = port };
	struct hv_port_rep rep;
	struct peer_cache *pc;
	int fds[2], nfds;

	drop_peer(xce, port);
	if (hv_call(xce->sock, &req, sizeof(req), NULL, 0, &rep, sizeof(rep), fds, 2, &nfds) < 0)
		return NULL;
	pc = calloc(1, sizeof(*pc));
	if (nfds != 2 || !pc)
		goto fail;
	pc->page = mmap(NULL, sizeof(*pc->page), PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (pc->page == MAP_FAILED)
		goto fail;
	close(fds[0]);
	pc->efd = fds[1];
	pc->port = (uint16_t)rep.peer_port;
	pc->peer = peer;
	xce->peers[port] = pc;
	return pc;
fail:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	free(pc);
	return NULL;
}

HV_EXPORT int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	struct peer_cache *pc;
	uint64_t peer;

	if (!port_valid(port) || !test_bit(xce->bound, port)) {
		errno = EINVAL;
		return -1;
	}
	peer = atomic_load_explicit(&xce->page->peer[port], memory_order_acquire);
	if (!peer)
		return 0; /* unbound or peer gone: Xen drops the event silently */
	pc = xce->peers[port];
	if (!pc || pc->peer != peer) {
		pthread_mutex_lock(&xce->lock);
		pc = resolve(xce, port, peer);
		pthread_mutex_unlock(&xce->lock);
		if (!pc)
			return 0;
	}
	if (hv_evtchn_raise(pc->page, pc->port))
		wake(pc->page, pc->efd);
	return 0;
}

/*
 * The lowest pending, unmasked port, its bit taken; 0 when there is none.
 * An event sent again while it was pending leaves the port pending (it is
 * masked now, so heard after the unmask), as Linux's driver would.
 */
static evtchn_port_t take_pending(xenevtchn_handle *xce)
{
	for (unsigned int w = 0; w < HV_MAX_PORTS / 64; w++) {
		uint64_t ready = atomic_load(&xce->page->pending[w]) & ~xce->masked[w], bit;
		evtchn_port_t port;

		if (!ready)
			continue;
		port = w * 64 + (evtchn_port_t)__builtin_ctzll(ready);
		bit = 1ull << (port % 64);
		atomic_fetch_and(&xce->page->pending[w], ~bit);
		if (atomic_fetch_and(&xce->page->again[w], ~bit) & bit)
			atomic_fetch_or(&xce->page->pending[w], bit);
		return port;
	}
	return 0;
}

static bool any_pending(xenevtchn_handle *xce)
{
	for (unsigned int w = 0; w < HV_MAX_PORTS / 64; w++)
		if (atomic_load(&xce->page->pending[w]) & ~xce->masked[w])
			return true;
	return false;
}

/*
 * Empties the eventfd; true if a wake-up was there. On a blocking fd (the
 * default, as /dev/xen/evtchn's) look first, so as not to block here.
 */
static bool drain(int efd, bool nonblock)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t count;

	if (!nonblock && poll(&pfd, 1, 0) != 1)
		return false;
	return read(efd, &count, sizeof(count)) == sizeof(count);
}

HV_EXPORT xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
	struct pollfd pfd = { .fd = xce->efd, .events = POLLIN };
	int fl = fcntl(xce->efd, F_GETFL);
	bool nonblock = fl >= 0 && (fl & O_NONBLOCK);
	evtchn_port_t port;

	for (;;) {
		bool woken;

		/* Clear the doorbell before looking, so a sender that sets a bit
		 * after our look rings again. */
		atomic_store(&xce->page->doorbell, 0);
		woken = drain(xce->efd, nonblock);
		port = take_pending(xce);
		if (port)
			break;
		/*
		 * Woken with nothing pending: a sender set its bit, we took it in
		 * an earlier call, and only then did its wake-up land. The fd
		 * polled readable, so the caller expects an event: hand it a
		 * spurious one on the last port, which Xen's contract allows
		 * (peers must tolerate spurious events), rather than block.
		 */
		if (woken && xce->last_port && test_bit(xce->bound, xce->last_port)) {
			port = xce->last_port;
			break;
		}
		if (nonblock) {
			errno = EAGAIN;
			return -1;
		}
		/* Like a blocking read of /dev/xen/evtchn, wait for an event. */
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
	/* As the Linux driver does, the port stays masked until unmasked. */
	set_bit(xce->masked, port);
	xce->last_port = port;
	if (any_pending(xce))
		wake(xce->page, xce->efd);
	return (xenevtchn_port_or_error_t)port;
}

HV_EXPORT int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
	if (!port_valid(port)) {
		errno = EINVAL;
		return -1;
	}
	clear_bit(xce->masked, port);
	if (atomic_load(&xce->page->pending[port / 64]) & (1ull << (port % 64)))
		wake(xce->page, xce->efd);
	return 0;
}
