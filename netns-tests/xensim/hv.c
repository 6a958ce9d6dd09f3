// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim-hv: the simulated hypervisor. It owns the domains, their grant
 * tables and page pools, and their event channel ports, and plays the part
 * of the Linux gntalloc/gntdev/evtchn drivers when a handle is closed or its
 * process dies.
 *
 * It checks every rule Xen checks at the API (who may map a grant, who may
 * bind a port), but it is no security boundary: every process here runs as
 * the same user and could open the memfds it is handed in full.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv_proto.h"

enum port_state { PORT_FREE, PORT_UNBOUND, PORT_INTERDOMAIN };
enum grant_state { GNT_FREE, GNT_SHARED, GNT_REVOKED };

struct conn;

struct port {
	uint8_t state;
	uint16_t remote_dom;
	uint16_t remote_port;
	uint32_t gen;
	struct conn *owner;
	/*
	 * The last interdomain peer of a freed port and the process that held
	 * it. A process that dies closes its evtchn and gnttab handles at once,
	 * and its unmap notification must still reach the peer when we happen
	 * to see the evtchn handle close first — as the kernel, which unmaps
	 * before it closes files, would deliver it.
	 */
	pid_t last_pid;
	uint16_t last_dom;
	uint16_t last_port;
	bool has_last;
};

struct grant {
	uint8_t state;
	uint8_t writable;
	uint16_t to_dom;
	uint32_t maps;
};

struct domain {
	uint16_t domid;
	bool alive;
	unsigned int refs; /* 1 while alive, plus one per mapped page of its pool */
	uint32_t limit;
	uint32_t in_use; /* grants not free, revoked ones still mapped included */
	int memfd;
	uint8_t *mem;
	struct grant *grants; /* reference r is grants[r - HV_FIRST_GREF] */
	uint32_t next_port;
	struct port ports[HV_MAX_PORTS];
};

struct share {
	struct share *next;
	uint32_t id;
	int32_t notify_offset;
	int32_t notify_port;
	uint32_t count;
	uint32_t refs[];
};

struct mapped_page {
	struct domain *dom;
	uint32_t ref;
};

struct mapping {
	struct mapping *next;
	uint32_t id;
	int32_t notify_offset;
	int32_t notify_port;
	bool writable;
	uint32_t count;
	struct mapped_page pages[];
};

struct conn {
	struct conn *next;
	int fd;
	pid_t pid;
	uint32_t kind; /* 0 until hello */
	struct domain *dom;
	/* evtchn handles */
	int page_fd;
	int efd;
	struct hv_evtchn_page *page;
	/* gnttab and gntshr handles */
	struct share *shares;
	struct mapping *maps;
};

static struct domain *domains[HV_MAX_DOMID];
static struct conn *conns;
static struct conn *graveyard;
static uint32_t default_limit = HV_DEFAULT_LIMIT;
static uint32_t next_id = 1;
static bool verbose;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("xensim-hv: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* --- domains --------------------------------------------------------------- */

static struct domain *domain_get(uint32_t domid)
{
	return domid < HV_MAX_DOMID ? domains[domid] : NULL;
}

static void domain_put(struct domain *d)
{
	if (--d->refs)
		return;
	munmap(d->mem, (size_t)d->limit * HV_PAGE_SIZE);
	close(d->memfd);
	free(d->grants);
	free(d);
}

static int domain_create(uint32_t domid, uint32_t limit)
{
	struct domain *d;
	size_t size;
	char name[32];

	if (domid >= HV_MAX_DOMID)
		return EINVAL;
	if (domains[domid])
		return EEXIST;
	if (!limit)
		limit = default_limit;
	size = (size_t)limit * HV_PAGE_SIZE;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->grants = calloc(limit, sizeof(*d->grants));
	snprintf(name, sizeof(name), "xensim-dom%u", domid);
	d->memfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (!d->grants || d->memfd < 0 || ftruncate(d->memfd, (off_t)size) < 0 ||
	    fcntl(d->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	d->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd, 0);
	if (d->mem == MAP_FAILED)
		goto fail;
	d->domid = (uint16_t)domid;
	d->alive = true;
	d->refs = 1;
	d->limit = limit;
	d->next_port = 1;
	domains[domid] = d;
	logmsg("domain %u created (gntalloc limit %u)", domid, limit);
	return 0;
fail:
	if (d->memfd >= 0)
		close(d->memfd);
	free(d->grants);
	free(d);
	return ENOMEM;
}

/* --- event channels -------------------------------------------------------- */

static void ring(struct conn *c, uint32_t port)
{
	uint64_t one = 1;

	if (!hv_evtchn_raise(c->page, port))
		return;
	if (atomic_exchange(&c->page->doorbell, 1))
		return;
	if (write(c->efd, &one, sizeof(one)) < 0)
		logmsg("eventfd write for port %u: %s", port, strerror(errno));
}

/* Sends an event from (d, port) as process pid would, for unmap notifications. */
static void send_from(struct domain *d, uint32_t port, pid_t pid)
{
	struct port *p, *q;
	struct domain *r;
	uint16_t rdom, rport;

	if (port == 0 || port >= HV_MAX_PORTS)
		return;
	p = &d->ports[port];
	if (p->state == PORT_INTERDOMAIN) {
		rdom = p->remote_dom;
		rport = p->remote_port;
	} else if (p->state == PORT_FREE && p->has_last && p->last_pid == pid) {
		rdom = p->last_dom;
		rport = p->last_port;
	} else {
		return;
	}
	r = domain_get(rdom);
	if (!r || !r->alive)
		return;
	q = &r->ports[rport];
	if (q->owner)
		ring(q->owner, rport);
}

static void set_peer(struct port *p, uint32_t port, uint64_t value)
{
	if (p->owner)
		atomic_store(&p->owner->page->peer[port], value);
}

/* The remote end of (d, port) goes away: the port waits, unbound, as in Xen. */
static void port_orphan(struct domain *d, uint32_t port)
{
	struct port *p = &d->ports[port];

	p->state = PORT_UNBOUND;
	set_peer(p, port, 0);
}

static void port_close(struct domain *d, uint32_t port, pid_t pid)
{
	struct port *p = &d->ports[port];
	struct domain *r;

	p->has_last = p->state == PORT_INTERDOMAIN;
	if (p->has_last) {
		p->last_dom = p->remote_dom;
		p->last_port = p->remote_port;
		p->last_pid = pid;
		r = domain_get(p->remote_dom);
		if (r && r->ports[p->remote_port].state == PORT_INTERDOMAIN &&
		    r->ports[p->remote_port].remote_dom == d->domid &&
		    r->ports[p->remote_port].remote_port == port)
			port_orphan(r, p->remote_port);
	}
	set_peer(p, port, 0);
	if (p->owner) {
		uint64_t bit = 1ull << (port % 64);

		atomic_fetch_and(&p->owner->page->pending[port / 64], ~bit);
		atomic_fetch_and(&p->owner->page->again[port / 64], ~bit);
	}
	p->state = PORT_FREE;
	p->owner = NULL;
}

static int port_alloc(struct domain *d, struct conn *c, uint32_t *out)
{
	for (uint32_t i = 0; i < HV_MAX_PORTS - 1; i++) {
		uint32_t port = d->next_port;

		d->next_port = port + 1 < HV_MAX_PORTS ? port + 1 : 1;
		if (d->ports[port].state != PORT_FREE)
			continue;
		d->ports[port].owner = c;
		d->ports[port].gen++;
		*out = port;
		return 0;
	}
	return ENOSPC;
}

static int do_bind_unbound(struct conn *c, const struct hv_port_req *req, struct hv_port_rep *rep)
{
	struct domain *r = domain_get(req->domid);
	int err;

	if (!r || !r->alive)
		return ESRCH;
	err = port_alloc(c->dom, c, &rep->port);
	if (err)
		return err;
	c->dom->ports[rep->port].state = PORT_UNBOUND;
	c->dom->ports[rep->port].remote_dom = (uint16_t)req->domid;
	return 0;
}

static int do_bind_interdomain(struct conn *c, const struct hv_port_req *req,
			       struct hv_port_rep *rep)
{
	struct domain *d = c->dom, *r = domain_get(req->domid);
	struct port *p, *q;
	int err;

	if (!r || !r->alive)
		return ESRCH;
	if (req->port == 0 || req->port >= HV_MAX_PORTS)
		return EINVAL;
	q = &r->ports[req->port];
	/* Xen: the remote port must be unbound and offered to us. */
	if (q->state != PORT_UNBOUND || q->remote_dom != d->domid || (r == d && !q->owner))
		return EINVAL;
	err = port_alloc(d, c, &rep->port);
	if (err)
		return err;
	p = &d->ports[rep->port];
	p->state = PORT_INTERDOMAIN;
	p->remote_dom = r->domid;
	p->remote_port = (uint16_t)req->port;
	q->state = PORT_INTERDOMAIN;
	q->remote_dom = d->domid;
	q->remote_port = (uint16_t)rep->port;
	q->gen++;
	set_peer(p, rep->port, HV_PEER(r->domid, req->port, p->gen));
	set_peer(q, req->port, HV_PEER(d->domid, rep->port, q->gen));
	rep->peer_port = req->port;
	return 0;
}

static struct port *owned_port(struct conn *c, uint32_t port)
{
	if (port == 0 || port >= HV_MAX_PORTS || c->dom->ports[port].owner != c)
		return NULL;
	return &c->dom->ports[port];
}

static int do_unbind(struct conn *c, const struct hv_port_req *req)
{
	if (!owned_port(c, req->port))
		return EINVAL;
	port_close(c->dom, req->port, c->pid);
	return 0;
}

static int do_resolve(struct conn *c, const struct hv_port_req *req, struct hv_port_rep *rep,
		      int *fds, int *nfds)
{
	struct port *p = owned_port(c, req->port), *q;
	struct domain *r;

	if (!p)
		return EINVAL;
	if (p->state != PORT_INTERDOMAIN)
		return ENOTCONN;
	r = domain_get(p->remote_dom);
	q = r ? &r->ports[p->remote_port] : NULL;
	if (!q || !q->owner)
		return ENOTCONN;
	rep->port = req->port;
	rep->peer_port = p->remote_port;
	fds[0] = q->owner->page_fd;
	fds[1] = q->owner->efd;
	*nfds = 2;
	return 0;
}

/* --- grants ---------------------------------------------------------------- */

static void grant_free_if_done(struct domain *d, uint32_t ref)
{
	struct grant *g = &d->grants[ref - HV_FIRST_GREF];

	if (g->state != GNT_REVOKED || g->maps)
		return;
	/* Zeroes the page for its next user and gives the memory back. */
	if (fallocate(d->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(ref - HV_FIRST_GREF) * HV_PAGE_SIZE, HV_PAGE_SIZE) < 0)
		memset(d->mem + (size_t)(ref - HV_FIRST_GREF) * HV_PAGE_SIZE, 0, HV_PAGE_SIZE);
	g->state = GNT_FREE;
	d->in_use--;
}

static void grant_revoke(struct domain *d, uint32_t ref)
{
	struct grant *g = &d->grants[ref - HV_FIRST_GREF];

	if (g->state != GNT_SHARED)
		return;
	g->state = GNT_REVOKED;
	grant_free_if_done(d, ref);
}

static uint8_t *page_of(struct domain *d, uint32_t ref)
{
	return d->mem + (size_t)(ref - HV_FIRST_GREF) * HV_PAGE_SIZE;
}

static bool notify_offset_ok(int32_t offset)
{
	return offset == -1 || (offset >= 0 && (uint32_t)offset < HV_PAGE_SIZE);
}

static bool notify_port_ok(int32_t port)
{
	return port == -1 || (port > 0 && (uint32_t)port < HV_MAX_PORTS);
}

static void share_release(struct conn *c, struct share *s, bool notify)
{
	struct domain *d = c->dom;

	if (notify && s->notify_offset >= 0)
		page_of(d, s->refs[0])[s->notify_offset] = 0;
	if (notify && s->notify_port >= 0)
		send_from(d, (uint32_t)s->notify_port, c->pid);
	for (uint32_t i = 0; i < s->count; i++)
		grant_revoke(d, s->refs[i]);
	free(s);
}

static int do_share(struct conn *c, const struct hv_share_req *req, struct hv_share_rep *rep,
		    int *fds, int *nfds)
{
	struct domain *d = c->dom;
	struct share *s;
	uint32_t n = 0;

	if (req->count == 0 || req->count > HV_MAX_BATCH || !notify_offset_ok(req->notify_offset) ||
	    !notify_port_ok(req->notify_port) || req->domid >= HV_MAX_DOMID)
		return EINVAL;
	/* Linux gntalloc: more than `limit` grants at once fails with ENOSPC. */
	if (d->in_use + req->count > d->limit) {
		logmsg("domain %u: gntalloc limit of %u grants reached (%u in use, %u asked)",
		       d->domid, d->limit, d->in_use, req->count);
		return ENOSPC;
	}
	s = calloc(1, sizeof(*s) + req->count * sizeof(s->refs[0]));
	if (!s)
		return ENOMEM;
	for (uint32_t i = 0; i < d->limit && n < req->count; i++) {
		struct grant *g = &d->grants[i];

		if (g->state != GNT_FREE)
			continue;
		g->state = GNT_SHARED;
		g->writable = req->writable != 0;
		g->to_dom = (uint16_t)req->domid;
		s->refs[n++] = i + HV_FIRST_GREF;
	}
	d->in_use += n;
	s->id = next_id++;
	s->count = n;
	s->notify_offset = req->notify_offset;
	s->notify_port = req->notify_port;
	s->next = c->shares;
	c->shares = s;
	rep->id = s->id;
	rep->count = n;
	memcpy(rep->refs, s->refs, n * sizeof(rep->refs[0]));
	fds[0] = d->memfd;
	*nfds = 1;
	return 0;
}

static int do_unshare(struct conn *c, const struct hv_id_req *req)
{
	for (struct share **sp = &c->shares; *sp; sp = &(*sp)->next) {
		struct share *s = *sp;

		if (s->id != req->id)
			continue;
		*sp = s->next;
		share_release(c, s, true);
		return 0;
	}
	return EINVAL;
}

static void mapping_release(struct conn *c, struct mapping *m, bool notify)
{
	if (notify && m->notify_offset >= 0 && m->writable)
		page_of(m->pages[0].dom, m->pages[0].ref)[m->notify_offset] = 0;
	if (notify && m->notify_port >= 0)
		send_from(c->dom, (uint32_t)m->notify_port, c->pid);
	for (uint32_t i = 0; i < m->count; i++) {
		struct domain *g = m->pages[i].dom;

		g->grants[m->pages[i].ref - HV_FIRST_GREF].maps--;
		grant_free_if_done(g, m->pages[i].ref);
		domain_put(g);
	}
	free(m);
}

/* What the hypervisor checks before it lets a domain map a grant. */
static struct domain *grant_check(struct conn *c, const struct hv_map_ref *mr, bool writable)
{
	struct domain *g = domain_get(mr->domid);
	struct grant *gr;

	if (!g || !g->alive || mr->ref < HV_FIRST_GREF || mr->ref - HV_FIRST_GREF >= g->limit)
		return NULL;
	gr = &g->grants[mr->ref - HV_FIRST_GREF];
	if (gr->state != GNT_SHARED || gr->to_dom != c->dom->domid || (writable && !gr->writable))
		return NULL;
	return g;
}

static int do_map(struct conn *c, const struct hv_map_req *req, size_t len,
		  struct hv_map_rep *rep, int *fds, int *nfds)
{
	bool writable = req->writable != 0;
	struct mapping *m;

	if (req->count == 0 || req->count > HV_MAX_BATCH ||
	    len < sizeof(*req) + req->count * sizeof(req->refs[0]) ||
	    !notify_offset_ok(req->notify_offset) || !notify_port_ok(req->notify_port))
		return EINVAL;
	for (uint32_t i = 0; i < req->count; i++) {
		struct domain *g = grant_check(c, &req->refs[i], writable);
		uint32_t k;

		if (!g) {
			if (verbose)
				logmsg("domain %u may not map grant %u of domain %u%s",
				       c->dom->domid, req->refs[i].ref, req->refs[i].domid,
				       writable ? " for writing" : "");
			return EINVAL; /* gntdev's mmap fails so */
		}
		for (k = 0; k < rep->ndoms && rep->doms[k] != g->domid; k++)
			;
		if (k == rep->ndoms) {
			if (k == HV_MAX_MAP_DOMS)
				return E2BIG;
			rep->doms[rep->ndoms++] = g->domid;
		}
	}
	m = calloc(1, sizeof(*m) + req->count * sizeof(m->pages[0]));
	if (!m)
		return ENOMEM;
	for (uint32_t i = 0; i < req->count; i++) {
		struct domain *g = domain_get(req->refs[i].domid);

		g->grants[req->refs[i].ref - HV_FIRST_GREF].maps++;
		g->refs++;
		m->pages[i].dom = g;
		m->pages[i].ref = req->refs[i].ref;
	}
	m->id = next_id++;
	m->count = req->count;
	m->writable = writable;
	m->notify_offset = req->notify_offset;
	m->notify_port = req->notify_port;
	m->next = c->maps;
	c->maps = m;
	rep->id = m->id;
	for (uint32_t k = 0; k < rep->ndoms; k++)
		fds[k] = domains[rep->doms[k]]->memfd;
	*nfds = (int)rep->ndoms;
	return 0;
}

static int do_unmap(struct conn *c, const struct hv_id_req *req)
{
	for (struct mapping **mp = &c->maps; *mp; mp = &(*mp)->next) {
		struct mapping *m = *mp;

		if (m->id != req->id)
			continue;
		*mp = m->next;
		mapping_release(c, m, true);
		return 0;
	}
	return EINVAL;
}

/* --- connections ----------------------------------------------------------- */

static void conn_close(struct conn *c)
{
	bool notify = c->dom && c->dom->alive;

	for (struct conn **cp = &conns; *cp; cp = &(*cp)->next) {
		if (*cp == c) {
			*cp = c->next;
			break;
		}
	}
	/* Unmap notifications first, as the kernel unmaps before it closes files.
	 * (Only a handle that said hello, and so has a domain, holds any.) */
	while (c->dom && c->shares) {
		struct share *s = c->shares;

		c->shares = s->next;
		share_release(c, s, notify);
	}
	while (c->dom && c->maps) {
		struct mapping *m = c->maps;

		c->maps = m->next;
		mapping_release(c, m, notify);
	}
	if (c->kind == HV_KIND_EVTCHN && c->dom) {
		for (uint32_t port = 1; port < HV_MAX_PORTS; port++)
			if (c->dom->ports[port].owner == c)
				port_close(c->dom, port, c->pid);
	}
	if (c->page)
		munmap(c->page, sizeof(*c->page));
	if (c->page_fd >= 0)
		close(c->page_fd);
	if (c->efd >= 0)
		close(c->efd);
	if (c->dom)
		domain_put(c->dom);
	close(c->fd);
	/* Freed after the current batch of epoll events, which may still name it. */
	c->fd = -1;
	c->next = graveyard;
	graveyard = c;
}

static int evtchn_attach(struct conn *c, const int *fds, int nfds)
{
	int seals;
	struct stat st;

	if (nfds != 2)
		return EINVAL;
	/* Sealed, so that the owner cannot shrink it under us (SIGBUS). */
	seals = fcntl(fds[0], F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fds[0], &st) < 0 ||
	    (size_t)st.st_size < sizeof(*c->page))
		return EINVAL;
	c->page = mmap(NULL, sizeof(*c->page), PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (c->page == MAP_FAILED) {
		c->page = NULL;
		return EINVAL;
	}
	c->page_fd = fds[0];
	c->efd = fds[1];
	return 0;
}

static int do_hello(struct conn *c, const struct hv_hello *req, const int *fds, int nfds)
{
	struct domain *d = domain_get(req->domid);
	int err;

	if (c->kind)
		return EINVAL;
	if (!d || !d->alive)
		return ESRCH;
	if (req->kind < HV_KIND_CTRL || req->kind > HV_KIND_GNTSHR)
		return EINVAL;
	if (req->kind == HV_KIND_EVTCHN) {
		err = evtchn_attach(c, fds, nfds);
		if (err)
			return err;
	}
	c->kind = req->kind;
	c->dom = d;
	d->refs++;
	return 0;
}

static void domain_destroy(struct domain *d)
{
	struct conn *c, *next;

	d->alive = false;
	domains[d->domid] = NULL;
	/* Its processes die with it, and nothing they registered is notified. */
	for (c = conns; c; c = next) {
		next = c->next;
		if (c->dom != d)
			continue;
		if (c->pid > 0)
			kill(c->pid, SIGKILL);
		conn_close(c);
	}
	/* Peers' ports become unbound; later sends are dropped silently. */
	for (uint32_t i = 0; i < HV_MAX_DOMID; i++) {
		struct domain *o = domains[i];

		if (!o)
			continue;
		for (uint32_t port = 1; port < HV_MAX_PORTS; port++) {
			struct port *p = &o->ports[port];

			if (p->state == PORT_INTERDOMAIN && p->remote_dom == d->domid)
				port_orphan(o, port);
		}
	}
	for (uint32_t i = 0; i < d->limit; i++)
		grant_revoke(d, i + HV_FIRST_GREF);
	logmsg("domain %u destroyed", d->domid);
	domain_put(d);
}

static int do_domain(struct conn *c, uint32_t op, const struct hv_domain_req *req)
{
	struct domain *d;

	if (c->dom->domid != 0)
		return EPERM;
	if (op == HV_OP_DOMAIN_CREATE)
		return domain_create(req->domid, req->gntalloc_limit);
	d = domain_get(req->domid);
	if (!d)
		return ESRCH;
	if (d->domid == 0)
		return EINVAL;
	domain_destroy(d);
	return 0;
}

static size_t do_domain_list(struct conn *c, struct hv_domain_list_rep *rep, size_t max)
{
	uint32_t room = (uint32_t)((max - sizeof(*rep)) / sizeof(rep->domids[0]));

	if (c->dom->domid != 0) {
		rep->h.err = EPERM; /* getdomaininfo is a privileged domctl */
		return sizeof(rep->h);
	}
	for (uint32_t i = 0; i < HV_MAX_DOMID && rep->count < room; i++)
		if (domains[i])
			rep->domids[rep->count++] = i;
	return sizeof(*rep) + rep->count * sizeof(rep->domids[0]);
}

static bool size_ok(uint32_t op, size_t len)
{
	switch (op) {
	case HV_OP_HELLO:
		return len == sizeof(struct hv_hello);
	case HV_OP_BIND_UNBOUND:
	case HV_OP_BIND_INTERDOMAIN:
	case HV_OP_UNBIND:
	case HV_OP_RESOLVE:
		return len == sizeof(struct hv_port_req);
	case HV_OP_SHARE:
		return len == sizeof(struct hv_share_req);
	case HV_OP_UNSHARE:
	case HV_OP_UNMAP:
		return len == sizeof(struct hv_id_req);
	case HV_OP_MAP:
		return len >= sizeof(struct hv_map_req);
	case HV_OP_DOMAIN_CREATE:
	case HV_OP_DOMAIN_DESTROY:
		return len == sizeof(struct hv_domain_req);
	case HV_OP_DOMAIN_LIST:
		return len == sizeof(struct hv_hdr);
	}
	return false;
}

/* Which handle kind may ask for what, as each real driver offers only its own calls. */
static bool kind_ok(uint32_t kind, uint32_t op)
{
	switch (op) {
	case HV_OP_HELLO:
		return true;
	case HV_OP_BIND_UNBOUND:
	case HV_OP_BIND_INTERDOMAIN:
	case HV_OP_UNBIND:
	case HV_OP_RESOLVE:
		return kind == HV_KIND_EVTCHN;
	case HV_OP_SHARE:
	case HV_OP_UNSHARE:
		return kind == HV_KIND_GNTSHR;
	case HV_OP_MAP:
	case HV_OP_UNMAP:
		return kind == HV_KIND_GNTTAB;
	default:
		return kind == HV_KIND_CTRL;
	}
}

/*
 * Handles one request. An evtchn hello keeps the fds it came with (*kept);
 * replies may carry out_fds, which stay owned by the daemon.
 */
static size_t dispatch(struct conn *c, const void *req, size_t len, void *repbuf,
		       const int *in_fds, int n_in, bool *kept, int *out_fds, int *n_out)
{
	const struct hv_hdr *h = req;
	struct hv_hdr *rh = repbuf;
	size_t rlen = sizeof(*rh);
	int err = 0;

	rh->op = h->op;
	if (!size_ok(h->op, len) || (!c->kind && h->op != HV_OP_HELLO) ||
	    !kind_ok(c->kind, h->op)) {
		err = EINVAL;
		goto out;
	}
	switch (h->op) {
	case HV_OP_HELLO:
		err = do_hello(c, req, in_fds, n_in);
		*kept = !err && c->kind == HV_KIND_EVTCHN;
		break;
	case HV_OP_BIND_UNBOUND:
		err = do_bind_unbound(c, req, repbuf);
		rlen = sizeof(struct hv_port_rep);
		break;
	case HV_OP_BIND_INTERDOMAIN:
		err = do_bind_interdomain(c, req, repbuf);
		rlen = sizeof(struct hv_port_rep);
		break;
	case HV_OP_UNBIND:
		err = do_unbind(c, req);
		break;
	case HV_OP_RESOLVE:
		err = do_resolve(c, req, repbuf, out_fds, n_out);
		rlen = sizeof(struct hv_port_rep);
		break;
	case HV_OP_SHARE: {
		struct hv_share_rep *rep = repbuf;

		err = do_share(c, req, rep, out_fds, n_out);
		rlen = sizeof(*rep) + rep->count * sizeof(rep->refs[0]);
		break;
	}
	case HV_OP_UNSHARE:
		err = do_unshare(c, req);
		break;
	case HV_OP_MAP:
		err = do_map(c, req, len, repbuf, out_fds, n_out);
		rlen = sizeof(struct hv_map_rep);
		break;
	case HV_OP_UNMAP:
		err = do_unmap(c, req);
		break;
	case HV_OP_DOMAIN_CREATE:
	case HV_OP_DOMAIN_DESTROY:
		err = do_domain(c, h->op, req);
		break;
	case HV_OP_DOMAIN_LIST:
		rlen = do_domain_list(c, repbuf, HV_MAX_MSG);
		err = rh->err;
		break;
	}
out:
	if (err) {
		*n_out = 0;
		rlen = sizeof(*rh);
	}
	rh->err = err;
	return rlen;
}

static int recv_request(int fd, void *buf, size_t size, int *fds, int max_fds, int *nfds,
			bool *truncated)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;

	*nfds = 0;
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	for (cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm)) {
		int count = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (int i = 0; i < count; i++) {
			int in;

			memcpy(&in, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*nfds < max_fds)
				fds[(*nfds)++] = in;
			else
				close(in);
		}
	}
	*truncated = n > 0 && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
	return (int)n;
}

static int send_reply(int fd, const void *buf, size_t len, const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * HV_MAX_MAP_DOMS)] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > 0) {
		struct cmsghdr *cm;

		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	return (int)sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void conn_readable(struct conn *c)
{
	static _Alignas(8) uint8_t req[HV_MAX_MSG], rep[HV_MAX_MSG];
	int in_fds[2], n_in, out_fds[HV_MAX_MAP_DOMS], n_out = 0;
	bool kept = false, truncated;
	size_t rlen;
	int n;

	if (c->fd < 0)
		return;
	n = recv_request(c->fd, req, sizeof(req), in_fds, 2, &n_in, &truncated);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < (int)sizeof(struct hv_hdr) || truncated) {
		/* closed, or a message no stand-in library sends: drop the handle */
		for (int i = 0; i < n_in; i++)
			close(in_fds[i]);
		conn_close(c);
		return;
	}
	memset(rep, 0, sizeof(struct hv_share_rep) + HV_MAX_BATCH * sizeof(uint32_t));
	rlen = dispatch(c, req, (size_t)n, rep, in_fds, n_in, &kept, out_fds, &n_out);
	if (!kept)
		for (int i = 0; i < n_in; i++)
			close(in_fds[i]);
	if (send_reply(c->fd, rep, rlen, out_fds, n_out) < 0)
		conn_close(c);
}

static void accept_conn(int lfd, int ep)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct conn *c;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->page_fd = -1;
	c->efd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		c->pid = cred.pid;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = conns;
	conns = c;
}

static int listen_on(const char *dir, char *path, size_t size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if ((size_t)snprintf(path, size, "%s/%s", dir, HV_SOCKET) >= size ||
	    strlen(path) >= sizeof(addr.sun_path)) {
		logmsg("socket path %s/%s is too long", dir, HV_SOCKET);
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 128) < 0) {
		logmsg("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "xensim-hv: %s '%s': expected a number from %u to %u\n", opt, s,
			min, max);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xensim-hv --dir DIR [--gntalloc-limit N] [--ready-fd FD] [-v]\n"
		   "The simulated hypervisor of xensim; started by `xensim start`.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "gntalloc-limit", required_argument, NULL, 'l' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = NULL;
	uint32_t ready_fd = UINT32_MAX;
	char path[PATH_MAX];
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	int opt, lfd, sfd, ep;

	while ((opt = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 'l':
			if (parse_u32("--gntalloc-limit", optarg, 1, 1u << 20, &default_limit))
				return 2;
			break;
		case 'r':
			if (parse_u32("--ready-fd", optarg, 0, INT_MAX, &ready_fd))
				return 2;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dir || optind != argc) {
		usage(stderr);
		return 2;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	lfd = listen_on(dir, path, sizeof(path));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || lfd < 0 || ep < 0 || domain_create(0, 0))
		return 1;
	ev.data.ptr = &lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.ptr = &sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	logmsg("listening on %s", path);
	if (ready_fd != UINT32_MAX) {
		if (write((int)ready_fd, "ready\n", 6) < 0)
			logmsg("ready-fd %u: %s", ready_fd, strerror(errno));
		close((int)ready_fd);
	}
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &lfd) {
				accept_conn(lfd, ep);
			} else if (evs[i].data.ptr == &sfd) {
				unlink(path);
				logmsg("stopped");
				return 0;
			} else {
				conn_readable(evs[i].data.ptr);
			}
		}
		while (graveyard) {
			struct conn *c = graveyard;

			graveyard = c->next;
			free(c);
		}
	}
}
