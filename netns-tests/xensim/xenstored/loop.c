// SPDX-License-Identifier: MIT
/* xenstored-lite: the epoll loop's registry. */
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

static int epfd = -1;
static bool quit;

int loop_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd < 0 ? -1 : 0;
}

int loop_fd(void)
{
	return epfd;
}

void loop_exit(void)
{
	if (epfd >= 0)
		close(epfd);
	epfd = -1;
}

static int ctl(int op, int fd, uint32_t events, struct ev_src *src)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	return epoll_ctl(epfd, op, fd, &ev);
}

int loop_add(int fd, uint32_t events, struct ev_src *src)
{
	return ctl(EPOLL_CTL_ADD, fd, events, src);
}

int loop_mod(int fd, uint32_t events, struct ev_src *src)
{
	return ctl(EPOLL_CTL_MOD, fd, events, src);
}

void loop_del(int fd)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

void loop_quit(void)
{
	quit = true;
}

bool loop_quitting(void)
{
	return quit;
}
