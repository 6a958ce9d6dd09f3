/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vchan-tun-watch's hooks: one program run in the background, as
 * `HOOK ACTION` with exactly the environment given, stdin from /dev/null,
 * stdout and stderr read line by line into the watcher's log (with the
 * link's name), in a process group of its own so that a time limit can end
 * it and whatever it started: SIGTERM after the timeout, SIGKILL
 * HOOK_KILL_GRACE_S later.
 *
 * A link's hooks run one after the other, each transition's once, from a
 * struct hook_queue that lives in the link: the transitions wait in it,
 * with the environment fixed when they happened (vchan-tun-hook(8),
 * ENVIRONMENT), at most HOOK_QUEUE_MAX of them. A struct hook runs one. Its three fds (the child's pidfd, its output, the timer)
 * go into the caller's epoll set with struct ev_source handlers that
 * tolerate spurious wake-ups, since a finished hook's struct may already
 * carry the next one when events of the old one are still queued.
 */
#ifndef VCHAN_TUN_HOOK_H
#define VCHAN_TUN_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "event.h"

#define HOOK_LINE_MAX		512	/* longer output lines are logged in pieces */
#define HOOK_KILL_GRACE_S	2
/* Transitions waiting per link; a link flapping faster than its hooks run loses down/up pairs. */
#define HOOK_QUEUE_MAX		8

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
	       char *const env[], unsigned int timeout_s, struct error *err);

bool hook_running(const struct hook *h);

/* Ends a running hook now (SIGKILL to its group) and waits for it; done() is not called. */
void hook_kill(struct hook *h);

/* What a hook is told of its link: the configuration, and the peer as last known. */
struct hook_link {
	const struct link_config *cfg;
	bool peer_seen;			/* peer_domid is known (it stays for a down) */
	unsigned int peer_domid;
	const char *peer_name;		/* "" when not known, or not a name */
};

struct hook_job;

struct hook_queue {
	struct hook hook;		/* the one running */
	struct hook_job *jobs, **tail;	/* the ones waiting */
	size_t n_jobs;
	unsigned int timeout_s;
	char link[64];
	void (*idle)(struct hook_queue *q);	/* the last hook ended, none waits */
};

void hook_queue_init(struct hook_queue *q, int epfd, const char *link, unsigned int timeout_s,
		     void (*idle)(struct hook_queue *q));

/*
 * `path up` or `path down`, with the environment l gives now, behind the
 * hook that runs. A full queue ends with the opposite transition, which
 * this one cancels: both are dropped, and said so. True when a hook will run.
 */
bool hook_queue_push(struct hook_queue *q, const char *path, bool up, const struct hook_link *l);

/* Drops the waiting ones (the running one goes on); how many there were. */
size_t hook_queue_drop(struct hook_queue *q);

/* A hook runs, or waits. */
bool hook_queue_busy(const struct hook_queue *q);

/* Kills the running one, drops the rest. */
void hook_queue_kill(struct hook_queue *q);

#endif
