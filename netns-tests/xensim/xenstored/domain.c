// SPDX-License-Identifier: MIT
/* xenstored-lite: domains and their sockets. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "domain.h"
#include "store.h"
#include "util.h"
#include "watch.h"

static struct domain *domains;
/* Released, waiting for their connections to be reaped. */
static struct domain *graveyard;
static char *sock_dir;
/* Given up when out of descriptors, to accept and drop the connection waiting. */
static int spare_fd = -1;

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A socket file left by a daemon that died is in the way of bind(). */
	if (unlink(path) && errno != ENOENT)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128))
		goto fail;
	return fd;

fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static struct domain *domain_new(unsigned int domid)
{
	struct domain *d;
	char *path = xasprintf("%s/%u.sock", sock_dir, domid);
	int fd = listen_on(path);

	if (fd < 0) {
		log_msg("cannot listen on %s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}

	d = xcalloc(1, sizeof(*d));
	d->src.kind = EV_LISTEN;
	d->domid = domid;
	d->lfd = fd;
	d->sock_path = path;
	if (loop_add(fd, EPOLLIN, &d->src)) {
		log_msg("epoll_ctl: %s", strerror(errno));
		close(fd);
		unlink(path);
		free(path);
		free(d);
		return NULL;
	}
	d->next = domains;
	domains = d;
	return d;
}

static void domain_free(struct domain *d)
{
	free(d->sock_path);
	free(d);
}

static void domain_unlisten(struct domain *d)
{
	if (d->lfd < 0)
		return;
	loop_del(d->lfd);
	close(d->lfd);
	d->lfd = -1;
	unlink(d->sock_path);
}

/* mkdir -p */
static int make_dir(const char *path)
{
	char *p = xstrdup(path), *slash;
	int ret = 0;

	for (slash = strchr(p + 1, '/');; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		if (mkdir(p, 0755) && errno != EEXIST) {
			log_msg("cannot create %s: %s", p, strerror(errno));
			ret = -1;
			break;
		}
		if (!slash)
			break;
		*slash = '/';
	}
	free(p);
	return ret;
}

int domain_setup(const char *dir)
{
	struct domain *d;

	if (make_dir(dir))
		return -1;
	sock_dir = xasprintf("%s/xenstore", dir);
	if (make_dir(sock_dir))
		return -1;
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	d = domain_new(0);
	if (!d)
		return -1;
	log_msg("listening on %s", d->sock_path);
	return 0;
}

struct domain *domain_first(void)
{
	return domains;
}

struct domain *domain_find(unsigned int domid)
{
	struct domain *d;

	for (d = domains; d; d = d->next)
		if (d->domid == domid)
			return d;
	return NULL;
}

int domain_introduce(unsigned int domid)
{
	struct domain *d;

	if (domain_find(domid))
		return EEXIST;
	d = domain_new(domid);
	if (!d)
		return EIO;
	log_msg("domain %u introduced: %s", domid, d->sock_path);
	watch_fire_special("@introduceDomain");
	return 0;
}

int domain_release(unsigned int domid)
{
	struct domain *d, **pp;
	struct conn *c;

	for (pp = &domains; (d = *pp); pp = &d->next)
		if (d->domid == domid)
			break;
	if (!d)
		return ENOENT;

	for (c = conn_first(); c; c = c->next)
		if (c->dom == d)
			conn_close(c, NULL);
	domain_unlisten(d);
	*pp = d->next;
	d->dead = true;
	d->next = graveyard;
	graveyard = d;

	/* As after XSA-322: a later domain with this id must not inherit its nodes. */
	tree_chown(store_main, domid, 0);
	log_msg("domain %u released", domid);
	watch_fire_special("@releaseDomain");
	return 0;
}

/* Out of descriptors: take the pending connection and close it, or it wakes us forever. */
static void shed_connection(struct domain *d)
{
	int fd;

	if (spare_fd < 0)
		return;
	close(spare_fd);
	fd = accept(d->lfd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void domain_accept(struct domain *d)
{
	int fd;

	while (!d->dead) {
		fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				log_msg("domain %u: accept: %s; refusing a connection", d->domid,
					strerror(errno));
				shed_connection(d);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_msg("domain %u: accept: %s", d->domid, strerror(errno));
			}
			return;
		}
		if (d->nconns >= DOMAIN_CONNS_MAX) {
			log_msg("domain %u: already %u connections; refusing another", d->domid,
				d->nconns);
			close(fd);
			continue;
		}
		conn_new(fd, d);
	}
}

void domain_reap(void)
{
	struct domain *d;

	while ((d = graveyard)) {
		graveyard = d->next;
		domain_free(d);
	}
}

void domain_exit(void)
{
	struct domain *d;

	domain_reap();
	while ((d = domains)) {
		domains = d->next;
		domain_unlisten(d);
		domain_free(d);
	}
	free(sock_dir);
	sock_dir = NULL;
	if (spare_fd >= 0)
		close(spare_fd);
	spare_fd = -1;
}
