/* SPDX-License-Identifier: MIT */
/* xenstored-lite: the epoll loop's registry. */
#ifndef XSL_LOOP_H
#define XSL_LOOP_H

#include <stdbool.h>
#include <stdint.h>

enum ev_kind {
	EV_LISTEN, /* struct domain */
	EV_CONN,   /* struct conn */
	EV_SIGNAL,
};

/* First member of whatever an epoll registration points at. */
struct ev_src {
	enum ev_kind kind;
};

int loop_init(void);
int loop_fd(void);
void loop_exit(void);
int loop_add(int fd, uint32_t events, struct ev_src *src);
int loop_mod(int fd, uint32_t events, struct ev_src *src);
void loop_del(int fd);
/* Asks the loop to end after the current round (live update). */
void loop_quit(void);
bool loop_quitting(void);

#endif
