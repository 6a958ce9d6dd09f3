/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One epoll loop serves every fd of the daemon. Each registered fd carries a
 * struct ev_source (in epoll_event.data.ptr), embedded in whatever owns the
 * fd, whose handler gets the events; container_of finds the owner.
 */
#ifndef VCHAN_TUN_EVENT_H
#define VCHAN_TUN_EVENT_H

#include <stddef.h>
#include <stdint.h>

struct ev_source {
	void (*handle)(struct ev_source *src, uint32_t events);
};

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Adds fd to epfd for EPOLLIN, its events to go to handle(src, events). */
int ev_add(int epfd, int fd, struct ev_source *src,
	   void (*handle)(struct ev_source *src, uint32_t events));

/*
 * SIGTERM, SIGINT and SIGHUP blocked and delivered through the returned
 * signalfd (non-blocking), SIGPIPE ignored; -1 with errno on failure. Call it
 * before any thread starts, so that every thread inherits the mask.
 */
int ev_signalfd(void);

#endif
