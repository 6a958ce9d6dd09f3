// SPDX-License-Identifier: GPL-2.0-only
/* The daemon's end of the control socket (see control.h). */
#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "event.h"
#include "log.h"

/* Connections at once; more are closed at once (only root can connect anyway). */
#define MAX_CLIENTS	32

struct control_client {
	struct ev_source src;
	struct control *ctl;
	int fd;
	char in[CONTROL_LINE_MAX];
	size_t in_len;
	struct strbuf out;
	size_t out_off;
	struct control_client *next;
};

struct control {
	struct ev_source src;
	int fd;
	int epfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	control_fn fn;
	void *ctx;
	struct control_client *clients;
	unsigned int n_clients;
};

static int make_addr(const char *path, struct sockaddr_un *sa, struct error *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		error_set(err, 0, "control socket path '%s' is longer than %zu characters", path,
			  sizeof(sa->sun_path) - 1);
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* /run/vchan-tun may not exist yet after a boot: make it (one level only). */
static int make_dir(const char *path, struct error *err)
{
	char copy[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *dir;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return 0;
	error_set(err, errno, "cannot create directory %s for the control socket: %s", dir,
		  strerror(errno));
	return -1;
}

/* A socket file left by a daemon that died is removed; one a daemon answers on is not. */
static int clear_stale(const struct sockaddr_un *sa, struct error *err)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		error_set(err, 0, "%s exists and is not a socket", sa->sun_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		error_set(err, errno, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		error_set(err, 0, "another vchan-tund answers on %s", sa->sun_path);
		return -1;
	}
	unlink(sa->sun_path);
	return 0;
}

static void client_free(struct control_client *cl)
{
	struct control *c = cl->ctl;
	struct control_client **pp;

	for (pp = &c->clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	c->n_clients--;
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	sb_free(&cl->out);
	free(cl);
}

/* Sends what is left of the answer; frees the client once all is out (or on error). */
static void client_write(struct control_client *cl)
{
	while (cl->out_off < cl->out.len) {
		ssize_t n = send(cl->fd, cl->out.buf + cl->out_off, cl->out.len - cl->out_off,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &cl->src };

			epoll_ctl(cl->ctl->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
			return;
		}
		if (n < 0)
			break;
		cl->out_off += (size_t)n;
	}
	client_free(cl);
}

static void client_answer(struct control_client *cl)
{
	struct strbuf body = { 0 };
	int rc;

	cl->in[cl->in_len] = '\0';
	rc = cl->ctl->fn(cl->ctl->ctx, cl->in, &body);
	if (body.failed) {
		rc = -1;
		sb_reset(&body);
		body.failed = false;
		sb_printf(&body, "out of memory");
	}
	if (rc)
		sb_printf(&cl->out, "error: %s\n", body.len ? body.buf : "failed");
	else
		sb_printf(&cl->out, "ok\n%s", body.len ? body.buf : "");
	sb_free(&body);
	client_write(cl);
}

static void client_read(struct control_client *cl)
{
	char *nl;
	ssize_t n;

	n = recv(cl->fd, cl->in + cl->in_len, sizeof(cl->in) - 1 - cl->in_len, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* the end of a request without its newline still counts */
		if (n == 0 && cl->in_len) {
			client_answer(cl);
			return;
		}
		client_free(cl);
		return;
	}
	cl->in_len += (size_t)n;
	nl = memchr(cl->in, '\n', cl->in_len);
	if (nl) {
		cl->in_len = (size_t)(nl - cl->in);
		client_answer(cl);
		return;
	}
	if (cl->in_len == sizeof(cl->in) - 1) {
		sb_printf(&cl->out, "error: request longer than %d bytes\n", CONTROL_LINE_MAX - 1);
		client_write(cl);
	}
}

static void on_client(struct ev_source *src, uint32_t events)
{
	struct control_client *cl = container_of(src, struct control_client, src);

	if (cl->out.len)
		client_write(cl);
	else
		client_read(cl);
}

static void on_listen(struct ev_source *src, uint32_t events)
{
	struct control *c = container_of(src, struct control, src);
	struct control_client *cl;
	int fd;

	fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (c->n_clients >= MAX_CLIENTS) {
		close(fd);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return;
	}
	cl->ctl = c;
	cl->fd = fd;
	if (ev_add(c->epfd, fd, &cl->src, on_client) < 0) {
		close(fd);
		free(cl);
		return;
	}
	cl->next = c->clients;
	c->clients = cl;
	c->n_clients++;
}

struct control *control_open(const char *path, int epfd, control_fn fn, void *ctx,
			     struct error *err)
{
	struct control *c;
	struct sockaddr_un sa;
	mode_t old_mask;
	int rc;

	if (make_addr(path, &sa, err) || make_dir(path, err) || clear_stale(&sa, err))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	c->epfd = epfd;
	c->fn = fn;
	c->ctx = ctx;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		error_set(err, errno, "socket: %s", strerror(errno));
		free(c);
		return NULL;
	}
	/* born 0600: no moment in which someone else could connect */
	old_mask = umask(0177);
	rc = bind(c->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (rc < 0) {
		error_set(err, errno, "cannot bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (listen(c->fd, 16) < 0) {
		error_set(err, errno, "cannot listen on %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	if (ev_add(epfd, c->fd, &c->src, on_listen) < 0) {
		error_set(err, errno, "epoll_ctl: %s", strerror(errno));
		unlink(path);
		goto fail;
	}
	return c;
fail:
	close(c->fd);
	free(c);
	return NULL;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	while (c->clients) {
		struct control_client *cl = c->clients;

		c->clients = cl->next;
		cl->next = NULL;
		client_free(cl);
	}
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	unlink(c->path);
	free(c);
}
