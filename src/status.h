/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What `vchan-tunctl status` shows: a snapshot of each link (struct
 * link_status, filled by link_status()), and the two formatters that read
 * nothing else, text for people and JSON for programs (vchan-tunctl(8)
 * documents both). Every string in a snapshot that came from elsewhere (an
 * error quoting the peer, a name from XenStore) is printed escaped.
 */
#ifndef VCHAN_TUN_STATUS_H
#define VCHAN_TUN_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "datapath.h"
#include "strbuf.h"

/*
 * The JSON's "schema": raised when a field changes meaning or goes away, not
 * when one is added (readers ignore fields they do not know).
 */
#define STATUS_JSON_SCHEMA	1

struct link_status {
	const struct link_config *cfg;
	const char *state;		/* link_state_name() */
	time_t since;			/* wall clock */
	int64_t since_s;		/* how long ago */
	bool peer_known;
	unsigned int peer_domid;
	const char *peer_name;		/* "" if not known */
	const char *xs_path;		/* "" before the peer is known */
	size_t ring_read, ring_write;	/* 0: not known yet */
	bool agreed;			/* the handshake is done: what follows is what it agreed */
	struct frame_limits lim;
	struct dp_stats st;
	long long no_room;		/* the device's tx_dropped; -1: unknown */
	uint64_t connects, reconnects;
	const char *last_error;		/* "" for none */
	time_t last_error_at;
	/* Provision = yes: where the peer's end is published ("" not yet), and the peer runs it */
	const char *provision_path;
	bool provision_taken;
	const char *reason;		/* FAILED: why; NULL in every other state */
	bool until_reload;		/* FAILED, and only a reload tries again */
	/* the device as the kernel has it; ifindex 0: none now (the configured name and MTU) */
	const char *dev_name;
	int dev_ifindex;
	unsigned int dev_mtu;
	bool dev_admin_up;
};

/* "domain 0, 2 links" and, after it, each link's lines. */
void status_text_begin(struct strbuf *sb, unsigned int domid, size_t n_links);
void status_text(struct strbuf *sb, const struct link_status *st);

/* {"domid":0,"links":[ ... ]}: begin, each link (first: no comma before it), end. */
void status_json_begin(struct strbuf *sb, unsigned int domid);
void status_json(struct strbuf *sb, const struct link_status *st, bool first);
void status_json_end(struct strbuf *sb);

#endif
