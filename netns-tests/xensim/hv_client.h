/* SPDX-License-Identifier: GPL-2.0-only */
/* The client side of xensim-hv's socket, shared by the stand-in libraries
 * and the xensim command. */
#ifndef XENSIM_HV_CLIENT_H
#define XENSIM_HV_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hv_proto.h"

#define HV_EXPORT __attribute__((visibility("default")))

/* The runtime directory: $XENSIM_DIR, else /run/xensim. */
const char *hv_dir(void);

/* This process's domain, from $XENSIM_DOMID; -1 with errno ENOENT or EINVAL
 * (and one message on stderr) when it is missing or malformed. */
int hv_self_domid(void);

/* Connects and says hello as this process's domain; fds go with the hello.
 * Returns the connection, or -1 with errno set. */
int hv_open(enum hv_kind kind, const int *fds, int nfds);

/*
 * One request and its reply. Received fds land in rfds (at most max_rfds,
 * their count in *nrfds). Returns the reply's length, or -1 with errno set:
 * the daemon's error, or the transport's.
 */
ssize_t hv_call(int sock, const void *req, size_t len, const int *fds, int nfds, void *rep,
		size_t rep_max, int *rfds, int max_rfds, int *nrfds);

#endif
