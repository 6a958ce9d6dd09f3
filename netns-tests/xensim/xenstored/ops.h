/* SPDX-License-Identifier: MIT */
/* xenstored-lite: the requests of the XenStore protocol. */
#ifndef XSL_OPS_H
#define XSL_OPS_H

#include <xen/io/xs_wire.h>

struct conn;

/* Serves one request; payload holds hdr->len bytes and a NUL after them. */
void ops_process(struct conn *c, const struct xsd_sockmsg *hdr, char *payload);

#endif
