/* SPDX-License-Identifier: MIT */
/*
 * xenstored-lite: domains and their sockets.
 *
 * Domain 0 is always there; another domain exists from INTRODUCE to RELEASE.
 * Each listens on DIR/xenstore/<domid>.sock, and a connection belongs to the
 * domain whose socket it came in on.
 */
#ifndef XSL_DOMAIN_H
#define XSL_DOMAIN_H

#include <stdbool.h>

#include "loop.h"

/* Connections one domain may hold open at once. */
#define DOMAIN_CONNS_MAX 256
/*
 * Open transactions an unprivileged domain may hold over all its connections:
 * each is a copy of the store, so the per-connection quota alone bounds too little.
 */
#define DOMAIN_TX_MAX 64

/* Domain ids from here up are special (DOMID_FIRST_RESERVED), not real domains. */
#define XSL_DOMID_FIRST_RESERVED 0x7ff0u
#define XSL_DOMID_SELF		 0x7ff0u

struct domain {
	struct ev_src src;
	struct domain *next;
	unsigned int domid;
	int lfd;
	char *sock_path;
	unsigned int nconns;
	unsigned int nwatches; /* over all its connections, for the quota */
	bool dead;
};

/* Creates DIR/xenstore and listens for domain 0; returns 0 or -1 (logged). */
int domain_setup(const char *dir);
struct domain *domain_find(unsigned int domid);
/* The introduced domains (0 among them), linked by ->next. */
struct domain *domain_first(void);
/* 0, EEXIST if already introduced, EIO if its socket cannot be made. */
int domain_introduce(unsigned int domid);
/* 0 or ENOENT if not introduced. */
int domain_release(unsigned int domid);
void domain_accept(struct domain *d);
/* Frees released domains; call after conn_reap(). */
void domain_reap(void);
/* Closes every socket and removes the socket files. */
void domain_exit(void);

#endif
