// SPDX-License-Identifier: MIT
/* xenstored-lite: client connections and message framing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "domain.h"
#include "ops.h"
#include "transaction.h"
#include "util.h"
#include "watch.h"

static struct conn *conns;
static unsigned int next_serial = 1;

struct conn *conn_first(void)
{
	return conns;
}

static void update_events(struct conn *c)
{
	uint32_t want = 0;

	if (c->dead)
		return;
	if (c->out_bytes <= CONN_OUT_PAUSE)
		want |= EPOLLIN;
	if (c->out_head)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	if (loop_mod(c->fd, want, &c->src)) {
		conn_close(c, "epoll_ctl failed");
		return;
	}
	c->events = want;
}

struct conn *conn_new(int fd, struct domain *dom)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->src.kind = EV_CONN;
	c->fd = fd;
	c->serial = next_serial++;
	c->domid = dom->domid;
	c->dom = dom;
	c->next_txid = 1;
	c->events = EPOLLIN;
	if (loop_add(fd, c->events, &c->src)) {
		log_msg("domain %u: epoll_ctl: %s", dom->domid, strerror(errno));
		close(fd);
		free(c);
		return NULL;
	}
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	dom->nconns++;
	log_trace("domain %u conn %u: connected", c->domid, c->serial);
	return c;
}

void conn_close(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	if (why)
		log_msg("domain %u conn %u: %s; dropping it", c->domid, c->serial, why);
	else
		log_trace("domain %u conn %u: closed", c->domid, c->serial);
	c->dead = true;
	loop_del(c->fd);
	close(c->fd);
	c->fd = -1;
}

static void conn_free(struct conn *c)
{
	struct transaction *tx;
	struct outmsg *o;

	watch_del_all(c);
	while ((tx = c->txs)) {
		c->txs = tx->next;
		tx_free(tx);
	}
	while ((o = c->out_head)) {
		c->out_head = o->next;
		free(o);
	}
	c->dom->nconns--;
	free(c);
}

void conn_reap(void)
{
	struct conn *c = conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (!c->dead)
			continue;
		if (c->prev)
			c->prev->next = c->next;
		else
			conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		conn_free(c);
	}
}

void conn_close_all(void)
{
	struct conn *c;

	for (c = conns; c; c = c->next)
		conn_close(c, NULL);
	conn_reap();
}

static void flush(struct conn *c)
{
	struct outmsg *o;
	ssize_t n;

	while (!c->dead && (o = c->out_head)) {
		n = send(c->fd, o->data + c->out_off, o->len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			/* The peer went away with replies pending: nothing unusual. */
			conn_close(c,
				   errno == EPIPE || errno == ECONNRESET ? NULL : strerror(errno));
			return;
		}
		c->out_off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (c->out_off < o->len)
			continue;
		c->out_head = o->next;
		if (!c->out_head)
			c->out_tail = NULL;
		c->out_off = 0;
		free(o);
	}
	update_events(c);
}

void conn_send(struct conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *data,
	       unsigned int len)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = req_id, .tx_id = tx_id, .len = len };
	struct outmsg *o;

	if (c->dead)
		return;
	if (len > XENSTORE_PAYLOAD_MAX) {
		/* Nothing longer may go out; a reply that would is E2BIG, as in C xenstored. */
		data = "E2BIG";
		hdr.type = XS_ERROR;
		hdr.len = len = sizeof("E2BIG");
	}

	o = xmalloc(sizeof(*o) + sizeof(hdr) + len);
	o->next = NULL;
	o->len = sizeof(hdr) + len;
	memcpy(o->data, &hdr, sizeof(hdr));
	if (len)
		memcpy(o->data + sizeof(hdr), data, len);
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->out_bytes += o->len;

	if (c->out_bytes > CONN_OUT_MAX) {
		conn_close(c, "over 1 MiB of replies and events unread");
		return;
	}
	flush(c);
}

void conn_send_event(struct conn *c, const char *path, const char *token)
{
	size_t plen = strlen(path) + 1, tlen = strlen(token) + 1;
	char buf[XENSTORE_PAYLOAD_MAX];

	if (plen + tlen > sizeof(buf)) {
		/* A client would take a longer message as a broken connection. */
		log_msg("domain %u conn %u: watch event for %s too long, not sent", c->domid,
			c->serial, path);
		return;
	}
	memcpy(buf, path, plen);
	memcpy(buf + plen, token, tlen);
	log_trace("domain %u conn %u: < WATCH_EVENT %s %s", c->domid, c->serial, path, token);
	conn_send(c, XS_WATCH_EVENT, 0, 0, buf, (unsigned int)(plen + tlen));
}

/* Result of a read(): true if bytes came; otherwise the connection may be closed. */
static bool read_ok(struct conn *c, ssize_t n)
{
	if (n > 0)
		return true;
	if (n == 0)
		conn_close(c, NULL);
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		conn_close(c, errno == ECONNRESET ? NULL : strerror(errno));
	return false;
}

static void read_requests(struct conn *c)
{
	unsigned int served;
	ssize_t n;

	for (served = 0; served < CONN_REQS_PER_WAKE; served++) {
		if (c->dead || c->out_bytes > CONN_OUT_PAUSE)
			return;
		if (c->hdr_got < sizeof(c->hdr)) {
			n = read(c->fd, (char *)&c->hdr + c->hdr_got, sizeof(c->hdr) - c->hdr_got);
			if (!read_ok(c, n))
				return;
			c->hdr_got += (unsigned int)n;
			if (c->hdr_got < sizeof(c->hdr))
				return;
			if (c->hdr.len > XENSTORE_PAYLOAD_MAX) {
				/* As C xenstored does: the stream cannot be trusted any more. */
				conn_close(c, "request payload over 4096 bytes");
				return;
			}
			c->pay_got = 0;
		}
		if (c->pay_got < c->hdr.len) {
			n = read(c->fd, c->payload + c->pay_got, c->hdr.len - c->pay_got);
			if (!read_ok(c, n))
				return;
			c->pay_got += (unsigned int)n;
			if (c->pay_got < c->hdr.len)
				return;
		}
		c->payload[c->hdr.len] = '\0';
		c->hdr_got = 0;
		ops_process(c, &c->hdr, c->payload);
	}
}

void conn_handle(struct conn *c, uint32_t events)
{
	if (c->dead)
		return;
	if (events & EPOLLERR) {
		conn_close(c, NULL);
		return;
	}
	if (events & EPOLLOUT)
		flush(c);
	if (!c->dead && (events & EPOLLIN))
		read_requests(c);
	/* Both directions are gone: nothing more can be read or delivered. */
	if (!c->dead && (events & EPOLLHUP) && !(events & EPOLLIN))
		conn_close(c, NULL);
	update_events(c);
}
