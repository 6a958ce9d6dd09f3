/* SPDX-License-Identifier: MIT */
/* xenstored-lite: client connections and message framing. */
#ifndef XSL_CONN_H
#define XSL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

#include "loop.h"

/* A connection with more than this queued for it is dropped: it stopped reading. */
#define CONN_OUT_MAX (1024 * 1024)
/* Past this much queued output, a connection's requests wait until it reads. */
#define CONN_OUT_PAUSE (64 * 1024)
/* Requests served per wake-up, so one busy client cannot starve the others. */
#define CONN_REQS_PER_WAKE 32

struct domain;
struct transaction;
struct watch;

struct outmsg {
	struct outmsg *next;
	size_t len;
	char data[];
};

struct conn {
	struct ev_src src;
	struct conn *next, *prev;
	int fd;
	unsigned int serial; /* for the log */
	unsigned int domid;  /* that of the socket it came in on */
	struct domain *dom;

	struct xsd_sockmsg hdr; /* the request being read */
	unsigned int hdr_got;
	unsigned int pay_got;
	char payload[XENSTORE_PAYLOAD_MAX + 1]; /* +1: always NUL-terminated */

	struct outmsg *out_head, *out_tail;
	size_t out_bytes; /* not yet sent */
	size_t out_off;	  /* sent of out_head */
	uint32_t events;  /* epoll mask in force */

	struct watch *watches;
	struct transaction *txs;
	unsigned int ntx;
	uint32_t next_txid;

	/* Closed; freed by conn_reap() once nothing can point at it any more. */
	bool dead;
};

struct conn *conn_first(void);
struct conn *conn_new(int fd, struct domain *dom);
/* why: logged; NULL for an ordinary end, traced only. */
void conn_close(struct conn *c, const char *why);
void conn_handle(struct conn *c, uint32_t events);
void conn_send(struct conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *data,
	       unsigned int len);
void conn_send_event(struct conn *c, const char *path, const char *token);
void conn_reap(void);
void conn_close_all(void);

#endif
