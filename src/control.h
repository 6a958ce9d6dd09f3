/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket: a unix stream socket on which vchan-tunctl asks the
 * daemon things. The protocol, one exchange per connection:
 *
 *   request:  one line, a command and its arguments separated by spaces
 *             ("status", "status json", either with "link NAME" after it
 *             for one link; "reload"), at most 255 bytes
 *   answer:   "ok\n" and the command's output, or "error: MESSAGE\n";
 *             then the daemon closes the connection
 *
 * The socket is created mode 0600: only root talks to the daemon.
 * Everything is non-blocking and runs in the daemon's epoll loop.
 */
#ifndef VCHAN_TUN_CONTROL_H
#define VCHAN_TUN_CONTROL_H

#include <stddef.h>

#include "error.h"
#include "strbuf.h"

#define CONTROL_DEFAULT_PATH	"/run/vchan-tun/control"
#define CONTROL_LINE_MAX	256

/* Runs one command; fills out with its output (0) or with an error message (-1). */
typedef int (*control_fn)(void *ctx, const char *cmd, struct strbuf *out);

struct control;

/*
 * Binds path (creating its directory if missing, replacing a stale socket,
 * refusing one a live daemon answers on) and registers it in epfd.
 * NULL on failure, with the reason in err.
 */
struct control *control_open(const char *path, int epfd, control_fn fn, void *ctx,
			     struct error *err);

/* Closes every connection and removes the socket. */
void control_close(struct control *c);

#endif
