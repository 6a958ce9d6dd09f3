// SPDX-License-Identifier: GPL-2.0-only
/* The event loop of both programs: see loop.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "util.h"

#define MAX_EVENTS		64
#define MAX_WAIT_MS		60000
#define TOKEN_RELEASE		"loop:release"
#define TOKEN_INTRODUCE		"loop:introduce"

/* --- signals ------------------------------------------------------------------------- */

static void on_signal(struct ev_source *src, uint32_t events)
{
	struct loop *lp = container_of(src, struct loop, sig_src);
	struct signalfd_siginfo si;

	while (read(lp->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			lp->ops->reload(lp);
		else
			lp->ops->terminate(lp, (int)si.ssi_signo);
	}
}

/* --- XenStore ------------------------------------------------------------------------- */

static void xs_poll(struct loop *lp, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = &lp->xs_src };

	if (lp->xs_polled == on)
		return;
	if (epoll_ctl(lp->epfd, EPOLL_CTL_MOD, xstore_fd(lp->xs), &ev) < 0)
		log_msg(LOG_ERR, "epoll_ctl on the XenStore fd: %s", strerror(errno));
	lp->xs_polled = on;
}

static void xs_lost(struct loop *lp)
{
	/* the rings need no XenStore: links keep running while it is away */
	log_msg(LOG_WARNING, "lost the connection to XenStore (xenstored restarted?): reconnecting");
	lp->xs_retry_ms = now_ms();
	lp->xs_backoff_ms = 0;
	xs_poll(lp, false);
}

/*
 * Every token that fired since the last round, each once: at most the
 * pending set's worth, so that a token firing again meanwhile waits for the
 * next round instead of keeping this one going.
 */
static void on_xenstore(struct ev_source *src, uint32_t events)
{
	struct loop *lp = container_of(src, struct loop, xs_src);
	bool released = false, introduced = false;
	char token[XSTORE_TOKEN_MAX];
	int rc = 0;

	if (!rate_take(&lp->xs_rate, now_ms())) {
		/* events come too fast: take them together, later (loop_deadline) */
		xs_poll(lp, false);
		return;
	}
	for (int i = 0; i < MAX_EVENTS; i++) {
		rc = xstore_next_event(lp->xs, token, sizeof(token));
		if (rc <= 0)
			break;
		if (!strcmp(token, TOKEN_RELEASE)) {
			released = true;
		} else if (!strcmp(token, TOKEN_INTRODUCE)) {
			introduced = true;
		} else {
			if (!strcmp(token, XSTORE_TOKEN_ALL))
				released = introduced = true;
			lp->ops->watch(lp, token);
		}
	}
	if (rc < 0) {
		xs_lost(lp);
		return;
	}
	if (released || introduced)
		lp->ops->domains(lp, released, introduced);
}

/*
 * A new connection re-registers every watch, whose first events make the
 * program look again; what it published it writes again. Until xenstored is
 * back, tries again after a pause that doubles up to LOOP_XS_RETRY_MAX_MS.
 */
static void xs_reconnect(struct loop *lp)
{
	struct error err;

	if (xstore_reconnect(lp->xs, &err)) {
		lp->xs_backoff_ms = lp->xs_backoff_ms ? lp->xs_backoff_ms * 2 : LOOP_XS_RETRY_MIN_MS;
		if (lp->xs_backoff_ms > LOOP_XS_RETRY_MAX_MS)
			lp->xs_backoff_ms = LOOP_XS_RETRY_MAX_MS;
		log_msg(LOG_DEBUG, "%s (retrying in %u ms)", err.msg, lp->xs_backoff_ms);
		lp->xs_retry_ms = now_ms() + lp->xs_backoff_ms;
		return;
	}
	lp->xs_retry_ms = 0;
	xs_poll(lp, true);
	log_msg(LOG_NOTICE, "reconnected to XenStore");
	lp->ops->xenstore_back(lp);
}

/* --- the loop --------------------------------------------------------------------------- */

static int64_t earliest(int64_t a, int64_t b)
{
	if (!a)
		return b;
	return b && b < a ? b : a;
}

/* Until the nearest deadline, ours or the program's; forever (-1) without one. */
static int wait_ms(struct loop *lp)
{
	int64_t first = earliest(lp->xs_retry_ms, lp->ops->deadline(lp)), now;

	if (!lp->xs_polled && !lp->xs_retry_ms)
		first = earliest(first, rate_next(&lp->xs_rate));
	if (!first)
		return -1;
	now = now_ms();
	if (first <= now)
		return 0;
	return first - now > MAX_WAIT_MS ? MAX_WAIT_MS : (int)(first - now);
}

static void free_dead(struct loop *lp)
{
	for (size_t i = 0; i < lp->n_dead; i++)
		lp->dead[i].free(lp->dead[i].p);
	lp->n_dead = 0;
}

int loop_run(struct loop *lp)
{
	struct epoll_event evs[MAX_EVENTS];

	while (!lp->stop) {
		int n = epoll_wait(lp->epfd, evs, MAX_EVENTS, wait_ms(lp));
		int64_t now;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERR, "epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n && !lp->stop; i++) {
			struct ev_source *src = evs[i].data.ptr;

			src->handle(src, evs[i].events);
		}
		now = now_ms();
		if (lp->xs_retry_ms && lp->xs_retry_ms <= now)
			xs_reconnect(lp);
		else if (!lp->xs_polled && !lp->xs_retry_ms && rate_next(&lp->xs_rate) <= now)
			xs_poll(lp, true);
		lp->ops->round(lp, now);
		free_dead(lp);
	}
	return lp->exit_code;
}

void loop_stop(struct loop *lp, int code)
{
	lp->stop = true;
	lp->exit_code = code;
}

void loop_defer_free(struct loop *lp, void *p, void (*free_fn)(void *p))
{
	if (lp->n_dead == lp->cap_dead) {
		size_t cap = lp->cap_dead ? lp->cap_dead * 2 : 8;
		struct loop_dead *d = realloc(lp->dead, cap * sizeof(*d));

		if (!d) {
			/* a leak beats a use after free */
			log_msg(LOG_ERR, "out of memory");
			return;
		}
		lp->dead = d;
		lp->cap_dead = cap;
	}
	lp->dead[lp->n_dead++] = (struct loop_dead){ p, free_fn };
}

/* --- setting up ---------------------------------------------------------------------------- */

int loop_open(struct loop *lp, const struct loop_ops *ops, void *ctx, struct error *err)
{
	*lp = (struct loop){ .epfd = -1, .sig_fd = -1, .ops = ops, .ctx = ctx };
	rate_init(&lp->xs_rate, LOOP_XS_BURST, LOOP_XS_INTERVAL_MS);
	lp->sig_fd = ev_signalfd();
	if (lp->sig_fd < 0) {
		error_set(err, errno, "cannot set up signal handling: %s", strerror(errno));
		return -1;
	}
	lp->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lp->epfd < 0 || ev_add(lp->epfd, lp->sig_fd, &lp->sig_src, on_signal)) {
		error_set(err, errno, "epoll: %s", strerror(errno));
		return -1;
	}
	lp->xs = xstore_open(err);
	if (!lp->xs || xstore_own_domid(lp->xs, &lp->own_domid, err) ||
	    xstore_watch(lp->xs, XSTORE_RELEASE, TOKEN_RELEASE, err) ||
	    xstore_watch(lp->xs, XSTORE_INTRODUCE, TOKEN_INTRODUCE, err))
		return -1;
	if (ev_add(lp->epfd, xstore_fd(lp->xs), &lp->xs_src, on_xenstore)) {
		error_set(err, errno, "epoll: %s", strerror(errno));
		return -1;
	}
	lp->xs_polled = true;
	return 0;
}

void loop_close(struct loop *lp)
{
	free_dead(lp);
	free(lp->dead);
	lp->dead = NULL;
	xstore_close(lp->xs);
	lp->xs = NULL;
	if (lp->sig_fd >= 0)
		close(lp->sig_fd);
	if (lp->epfd >= 0)
		close(lp->epfd);
	lp->sig_fd = lp->epfd = -1;
}
