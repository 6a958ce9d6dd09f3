// SPDX-License-Identifier: GPL-2.0-only
/*
 * vchan-tun-watch's hooks (see hook.h): posix_spawn, a pidfd for the exit,
 * a pipe for the output, a timerfd for the time limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook.h"
#include "strbuf.h"
#include "log.h"

#define OUTPUT_BUDGET	(64 * 1024)

static void close_fd(struct hook *h, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

static void arm(struct hook *h, unsigned int seconds)
{
	struct itimerspec its = { .it_value.tv_sec = seconds };

	timerfd_settime(h->timer_fd, 0, &its, NULL);
}

/* --- output ------------------------------------------------------------------------- */

static void flush_line(struct hook *h)
{
	if (!h->line_len)
		return;
	h->line[h->line_len] = '\0';
	log_link(LOG_INFO, h->link, "hook %s: %s", h->action, h->line);
	h->line_len = 0;
}

/*
 * What is there now, at most OUTPUT_BUDGET bytes a call, so that a chatty
 * hook cannot hold the loop; the output of a hook is its business, and only
 * gets logged.
 */
static void read_output(struct hook *h)
{
	char buf[1024];
	size_t budget = OUTPUT_BUDGET;
	ssize_t n;

	while (h->out_fd >= 0 && budget >= sizeof(buf) &&
	       (n = read(h->out_fd, buf, sizeof(buf))) > 0) {
		budget -= (size_t)n;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				flush_line(h);
				continue;
			}
			h->line[h->line_len++] = buf[i];
			if (h->line_len == HOOK_LINE_MAX)
				flush_line(h);
		}
	}
}

static void on_output(struct ev_source *src, uint32_t events)
{
	struct hook *h = container_of(src, struct hook, out_src);

	read_output(h);
	/* the write end is closed (the hook and what it started are done): stop listening */
	if ((events & EPOLLHUP) && !(events & EPOLLIN))
		close_fd(h, &h->out_fd);
}

/* --- the end ----------------------------------------------------------------------------- */

static void log_exit(const struct hook *h, const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED && !si->si_status) {
		log_link(LOG_DEBUG, h->link, "hook %s done", h->action);
		return;
	}
	if (si->si_code == CLD_EXITED) {
		log_link(LOG_ERR, h->link, "hook %s failed: exit status %d", h->action,
			 si->si_status);
		return;
	}
	if (h->terminated)
		log_link(LOG_ERR, h->link, "hook %s killed by %s: it ran longer than %u s",
			 h->action, strsignal(si->si_status), h->timeout_s);
	else
		log_link(LOG_ERR, h->link, "hook %s killed by %s", h->action,
			 strsignal(si->si_status));
}

static void cleanup(struct hook *h)
{
	close_fd(h, &h->pidfd);
	close_fd(h, &h->out_fd);
	close_fd(h, &h->timer_fd);
	h->pid = 0;
	h->line_len = 0;
}

/* 1 when it was reaped (si filled), 0 while it runs. */
static int reap(struct hook *h, siginfo_t *si, int flags)
{
	memset(si, 0, sizeof(*si));
	while (waitid(P_PIDFD, (id_t)h->pidfd, si, WEXITED | flags) < 0)
		if (errno != EINTR)
			return 1; /* cannot be waited for: gone */
	return si->si_pid != 0;
}

static void on_exit_event(struct ev_source *src, uint32_t events)
{
	struct hook *h = container_of(src, struct hook, exit_src);
	siginfo_t si;

	if (!h->pid || !reap(h, &si, WNOHANG))
		return;
	/* what it wrote before it ended belongs to it; a child it left may keep the pipe */
	read_output(h);
	flush_line(h);
	log_exit(h, &si);
	cleanup(h);
	h->done(h);
}

static void on_timer(struct ev_source *src, uint32_t events)
{
	struct hook *h = container_of(src, struct hook, timer_src);
	uint64_t ticks;

	if (!h->pid || read(h->timer_fd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks))
		return;
	if (!h->terminated) {
		log_link(LOG_WARNING, h->link, "hook %s still runs after %u s: SIGTERM", h->action,
			 h->timeout_s);
		h->terminated = true;
		kill(-h->pid, SIGTERM);
		arm(h, HOOK_KILL_GRACE_S);
		return;
	}
	if (!h->killed) {
		log_link(LOG_WARNING, h->link, "hook %s outlived SIGTERM by %d s: SIGKILL",
			 h->action, HOOK_KILL_GRACE_S);
		h->killed = true;
		kill(-h->pid, SIGKILL);
	}
}

/* --- starting -------------------------------------------------------------------------- */

void hook_init(struct hook *h, int epfd, void (*done)(struct hook *h))
{
	memset(h, 0, sizeof(*h));
	h->epfd = epfd;
	h->pidfd = h->out_fd = h->timer_fd = -1;
	h->done = done;
}

bool hook_running(const struct hook *h)
{
	return h->pid != 0;
}

/*
 * The child: its own process group, default signal handling and an empty
 * mask (the watcher blocks what its signalfd takes, and ignores SIGPIPE),
 * stdin /dev/null, stdout and stderr the pipe, nothing else open.
 */
static int spawn(struct hook *h, const char *path, char *const argv[], char *const env[],
		 int out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out, STDERR_FILENO);
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					 POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	rc = posix_spawn(&h->pid, path, &fa, &attr, argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		h->pid = 0;
	return rc;
}

int hook_start(struct hook *h, const char *link, const char *path, const char *action,
	       char *const env[], unsigned int timeout_s, struct error *err)
{
	char *argv[] = { (char *)path, (char *)action, NULL };
	int pipefd[2], rc;

	snprintf(h->link, sizeof(h->link), "%s", link);
	snprintf(h->action, sizeof(h->action), "%s", action);
	h->timeout_s = timeout_s;
	h->terminated = h->killed = false;
	h->line_len = 0;
	if (pipe2(pipefd, O_CLOEXEC)) {
		error_set(err, errno, "cannot run hook %s: pipe: %s", path, strerror(errno));
		return -1;
	}
	rc = spawn(h, path, argv, env, pipefd[1]);
	close(pipefd[1]);
	h->out_fd = pipefd[0];
	if (rc) {
		error_set(err, rc, "cannot run hook %s: %s", path, strerror(rc));
		cleanup(h);
		return -1;
	}
	fcntl(h->out_fd, F_SETFL, O_NONBLOCK);
	h->pidfd = pidfd_open(h->pid, 0);
	h->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->pidfd < 0 || h->timer_fd < 0 ||
	    ev_add(h->epfd, h->pidfd, &h->exit_src, on_exit_event) ||
	    ev_add(h->epfd, h->out_fd, &h->out_src, on_output) ||
	    ev_add(h->epfd, h->timer_fd, &h->timer_src, on_timer)) {
		/* it runs, but we could not follow it: end it rather than lose it */
		error_set(err, errno, "cannot follow hook %s (pid %d): %s", path, h->pid,
			  strerror(errno));
		kill(-h->pid, SIGKILL);
		if (h->pidfd >= 0) {
			siginfo_t si;

			reap(h, &si, 0);
		} else {
			waitpid(h->pid, NULL, 0);
		}
		cleanup(h);
		return -1;
	}
	arm(h, timeout_s);
	log_link(LOG_DEBUG, link, "hook %s: %s %s (pid %d)", action, path, action, h->pid);
	return 0;
}

void hook_kill(struct hook *h)
{
	siginfo_t si;

	if (!h->pid)
		return;
	kill(-h->pid, SIGKILL);
	reap(h, &si, 0);
	read_output(h);
	flush_line(h);
	log_link(LOG_WARNING, h->link, "hook %s killed: the watcher stops", h->action);
	cleanup(h);
}

/* --- a link's queue of hooks ------------------------------------------------------------ */

/* Each hook's PATH, whatever the watcher's: the shipped hooks run only ip(8). */
#define HOOK_PATH_ENV	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* A hook to run: its program and environment, fixed when the transition happened. */
struct hook_job {
	struct hook_job *next;
	bool up;
	char *path;
	struct strbuf env_text;		/* "KEY=VALUE" strings, NUL-separated */
	char **env;			/* pointers into it, NULL-terminated */
};

static void job_free(struct hook_job *j)
{
	if (!j)
		return;
	free(j->path);
	sb_free(&j->env_text);
	free(j->env);
	free(j);
}

/* "10.0.0.1/30 fd00::1/64": addresses with their prefix, as the hooks take them. */
static void add_addrs(struct strbuf *sb, const struct config_addr *a, size_t n)
{
	char ip[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < n; i++) {
		inet_ntop(a[i].family, &a[i].addr, ip, sizeof(ip));
		sb_printf(sb, "%s%s/%u", i ? " " : "", ip, a[i].prefix);
	}
}

/* The hook's whole environment: PATH and what it needs to know of the link. */
static int job_env(struct hook_job *j, const struct hook_link *l)
{
	const struct link_config *c = l->cfg;
	struct strbuf *sb = &j->env_text;
	size_t n = 0, i;
	char *p;

	sb_printf(sb, "%s%c", HOOK_PATH_ENV, 0);
	sb_printf(sb, "VCHAN_TUN_ACTION=%s%c", j->up ? "up" : "down", 0);
	sb_printf(sb, "VCHAN_TUN_LINK=%s%c", c->name, 0);
	sb_printf(sb, "VCHAN_TUN_INTERFACE=%s%c", c->ifname, 0);
	sb_printf(sb, "VCHAN_TUN_MODE=%s%c", config_mode_name(c->mode), 0);
	if (l->peer_seen)
		sb_printf(sb, "VCHAN_TUN_PEER_DOMID=%u%c", l->peer_domid, 0);
	else
		sb_printf(sb, "VCHAN_TUN_PEER_DOMID=%c", 0);
	sb_printf(sb, "VCHAN_TUN_PEER_NAME=%s%c", l->peer_name, 0);
	sb_printf(sb, "VCHAN_TUN_ADDRESSES=");
	add_addrs(sb, c->addrs, c->n_addrs);
	sb_printf(sb, "%cVCHAN_TUN_PEER_ADDRESSES=", 0);
	add_addrs(sb, c->peer_addrs, c->n_peer_addrs);
	sb_printf(sb, "%cVCHAN_TUN_ROUTES=", 0);
	add_addrs(sb, c->routes, c->n_routes);
	sb_printf(sb, "%cVCHAN_TUN_BRIDGE=%s%c", 0, c->bridge, 0);
	if (sb->failed)
		return -1;
	for (i = 0; i < sb->len; i++)
		n += !sb->buf[i];
	j->env = calloc(n + 1, sizeof(*j->env));
	if (!j->env)
		return -1;
	for (p = sb->buf, i = 0; i < n; p += strlen(p) + 1)
		j->env[i++] = p;
	return 0;
}

static void start_next(struct hook_queue *q)
{
	struct error err;

	while (!hook_running(&q->hook) && q->jobs) {
		struct hook_job *j = q->jobs;

		q->jobs = j->next;
		if (!q->jobs)
			q->tail = &q->jobs;
		q->n_jobs--;
		if (hook_start(&q->hook, q->link, j->path, j->up ? "up" : "down", j->env,
			       q->timeout_s, &err))
			log_link(LOG_ERR, q->link, "%s", err.msg);
		job_free(j);
	}
}

static void hook_ended(struct hook *h)
{
	struct hook_queue *q = container_of(h, struct hook_queue, hook);

	start_next(q);
	if (!hook_queue_busy(q) && q->idle)
		q->idle(q);
}

void hook_queue_init(struct hook_queue *q, int epfd, const char *link, unsigned int timeout_s,
		     void (*idle)(struct hook_queue *q))
{
	memset(q, 0, sizeof(*q));
	hook_init(&q->hook, epfd, hook_ended);
	q->tail = &q->jobs;
	q->timeout_s = timeout_s;
	snprintf(q->link, sizeof(q->link), "%s", link);
	q->idle = idle;
}

bool hook_queue_push(struct hook_queue *q, const char *path, bool up, const struct hook_link *l)
{
	struct hook_job *j, **pp;

	if (q->n_jobs >= HOOK_QUEUE_MAX) {
		for (pp = &q->jobs; (*pp)->next; pp = &(*pp)->next)
			;
		log_link(LOG_WARNING, q->link, "the link changes faster than its hooks run: "
			 "skipping a %s and the %s after it", up ? "down" : "up", up ? "up" : "down");
		job_free(*pp);
		*pp = NULL;
		q->tail = pp;
		q->n_jobs--;
		return false;
	}
	j = calloc(1, sizeof(*j));
	if (j)
		j->up = up;
	if (!j || !(j->path = strdup(path)) || job_env(j, l)) {
		log_link(LOG_ERR, q->link, "out of memory: hook %s not run", up ? "up" : "down");
		job_free(j);
		return false;
	}
	*q->tail = j;
	q->tail = &j->next;
	q->n_jobs++;
	start_next(q);
	return true;
}

size_t hook_queue_drop(struct hook_queue *q)
{
	size_t n = q->n_jobs;
	struct hook_job *j;

	while ((j = q->jobs)) {
		q->jobs = j->next;
		job_free(j);
	}
	q->tail = &q->jobs;
	q->n_jobs = 0;
	return n;
}

bool hook_queue_busy(const struct hook_queue *q)
{
	return hook_running(&q->hook) || q->n_jobs;
}

void hook_queue_kill(struct hook_queue *q)
{
	hook_queue_drop(q);
	hook_kill(&q->hook);
}
