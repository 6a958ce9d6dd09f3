// SPDX-License-Identifier: GPL-2.0-only
/*
 * The plumbing the daemon's and the watcher's event loops share: fds into
 * epoll with their ev_source, and the signals both handle as events.
 */
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include "event.h"

int ev_add(int epfd, int fd, struct ev_source *src,
	   void (*handle)(struct ev_source *src, uint32_t events))
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };

	src->handle = handle;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int ev_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* before any thread exists (libxenstore's reader), so that all inherit the mask */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}
