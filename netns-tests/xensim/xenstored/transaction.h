/* SPDX-License-Identifier: MIT */
/*
 * xenstored-lite: transactions.
 *
 * A transaction works on its own copy of the store and logs every path it
 * looked at or changed, with the generation that path had (0: no node).  The
 * commit fails with EAGAIN if any of them differs in the live store by then.
 * Watch events it causes wait in the log until the commit.
 */
#ifndef XSL_TRANSACTION_H
#define XSL_TRANSACTION_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Most paths an unprivileged domain's transaction may touch (C xenstored's default). */
#define TX_PATHS_MAX_UNPRIV 1024u

struct tx_entry {
	char *path;
	uint64_t gen;
	/* The event to fire at commit, if any. */
	bool fire;
	bool subtree;
	struct node_perms perms; /* who could read the node when it changed */
};

struct transaction {
	struct transaction *next;
	uint32_t id;
	unsigned int domid;
	struct tree *tree;
	unsigned int start_owned; /* nodes domid owned when it began */
	struct tx_entry *ent;	  /* in the order first seen */
	unsigned int nent, ent_cap;
	unsigned int *index; /* open-addressing hash of ent, 1-based; 0 = empty */
	unsigned int index_cap;
};

struct transaction *tx_new(uint32_t id, unsigned int domid);
void tx_free(struct transaction *tx);

/* Logs that the transaction saw path as n (NULL: absent); ENOSPC past the limit. */
int tx_note(struct transaction *tx, const char *path, const struct node *n, bool priv);

/* Queues the watch event for path (already noted) caused by a change. */
void tx_queue_event(struct transaction *tx, const char *path, bool subtree,
		    const struct node_perms *perms);

/* Checks and applies the transaction to the live store: 0, EAGAIN or ENOSPC. */
int tx_commit(struct transaction *tx, bool priv);

/* After a successful commit: fires the queued events. */
void tx_fire_events(struct transaction *tx);

#endif
