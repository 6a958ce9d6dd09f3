/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vchan-tun-watch's hooks: one program run in the background, as
 * `HOOK ACTION` with exactly the environment given, stdin from /dev/null,
 * stdout and stderr read line by line into the watcher's log (with the
 * link's name), in a process group of its own so that a time limit can end
 * it and whatever it started: SIGTERM after the timeout, SIGKILL
 * HOOK_KILL_GRACE_S later.
 *
 * A struct hook lives in its owner (one per link: a link's hooks run one
 * after the other). Its three fds (the child's pidfd, its output, the timer)
 * go into the caller's epoll set with struct ev_source handlers that
 * tolerate spurious wake-ups, since a finished hook's struct may already
 * carry the next one when events of the old one are still queued.
 */
#ifndef VCHAN_TUN_HOOK_H
#define VCHAN_TUN_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "event.h"

#define HOOK_LINE_MAX		512	/* longer output lines are logged in pieces */
#define HOOK_KILL_GRACE_S	2
#define HOOK_ERR_LEN		256

struct hook {
	struct ev_source exit_src, out_src, timer_src;
	int epfd;
	pid_t pid;		/* 0 when none runs */
	int pidfd, out_fd, timer_fd;
	bool terminated;	/* SIGTERM sent for the time limit */
	bool killed;		/* and SIGKILL */
	unsigned int timeout_s;
	char link[64];		/* for the log */
	char action[8];
	char line[HOOK_LINE_MAX + 1];
	size_t line_len;
	void (*done)(struct hook *h);	/* after it ended and was logged */
};

/* A hook that runs nothing: fds -1. */
void hook_init(struct hook *h, int epfd, void (*done)(struct hook *h));

/*
 * Starts `path action` with env (NULL-terminated "KEY=VALUE" strings) and a
 * limit of timeout_s seconds. 0, or -1 with the reason in err (the program
 * could not be started: nothing runs and done() will not be called).
 */
int hook_start(struct hook *h, const char *link, const char *path, const char *action,
	       char *const env[], unsigned int timeout_s, char *err, size_t len);

bool hook_running(const struct hook *h);

/* Ends a running hook now (SIGKILL to its group) and waits for it; done() is not called. */
void hook_kill(struct hook *h);

#endif
