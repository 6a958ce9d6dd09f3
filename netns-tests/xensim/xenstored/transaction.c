// SPDX-License-Identifier: MIT
/* xenstored-lite: transactions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transaction.h"
#include "util.h"
#include "watch.h"

struct transaction *tx_new(uint32_t id, unsigned int domid)
{
	struct transaction *tx = xcalloc(1, sizeof(*tx));

	tx->id = id;
	tx->domid = domid;
	tx->tree = tree_copy(store_main);
	tx->start_owned = tree_owned(store_main, domid);
	return tx;
}

void tx_free(struct transaction *tx)
{
	unsigned int i;

	if (!tx)
		return;
	for (i = 0; i < tx->nent; i++) {
		free(tx->ent[i].path);
		perms_free(&tx->ent[i].perms);
	}
	free(tx->ent);
	free(tx->index);
	tree_free(tx->tree);
	free(tx);
}

static unsigned int hash_str(const char *s)
{
	unsigned int h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Slot of path in the index: where it is, or the empty slot it would go to. */
static unsigned int index_slot(const struct transaction *tx, const char *path)
{
	unsigned int mask = tx->index_cap - 1;
	unsigned int i = hash_str(path) & mask;

	while (tx->index[i] && strcmp(tx->ent[tx->index[i] - 1].path, path))
		i = (i + 1) & mask;
	return i;
}

static void index_grow(struct transaction *tx)
{
	unsigned int i;

	free(tx->index);
	tx->index_cap = tx->index_cap ? 2 * tx->index_cap : 64;
	tx->index = xcalloc(tx->index_cap, sizeof(*tx->index));
	for (i = 0; i < tx->nent; i++)
		tx->index[index_slot(tx, tx->ent[i].path)] = i + 1;
}

static struct tx_entry *tx_lookup(const struct transaction *tx, const char *path)
{
	unsigned int slot;

	if (!tx->index_cap)
		return NULL;
	slot = index_slot(tx, path);
	return tx->index[slot] ? &tx->ent[tx->index[slot] - 1] : NULL;
}

int tx_note(struct transaction *tx, const char *path, const struct node *n, bool priv)
{
	struct tx_entry *e;

	if (tx_lookup(tx, path))
		return 0;
	if (!priv && tx->nent >= TX_PATHS_MAX_UNPRIV)
		return ENOSPC;

	/* Keep the index at most half full. */
	if (2 * (tx->nent + 1) > tx->index_cap)
		index_grow(tx);
	if (tx->nent == tx->ent_cap) {
		tx->ent_cap = tx->ent_cap ? 2 * tx->ent_cap : 16;
		tx->ent = xrealloc(tx->ent, tx->ent_cap * sizeof(*tx->ent));
	}
	e = &tx->ent[tx->nent];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(path);
	e->gen = n ? n->gen : 0;
	tx->index[index_slot(tx, path)] = ++tx->nent;
	return 0;
}

void tx_queue_event(struct transaction *tx, const char *path, bool subtree,
		    const struct node_perms *perms)
{
	struct tx_entry *e = tx_lookup(tx, path);

	if (!e)
		return;
	e->subtree |= subtree;
	if (!e->fire && perms)
		perms_copy(&e->perms, perms);
	e->fire = true;
}

int tx_commit(struct transaction *tx, bool priv)
{
	unsigned int i, now, owned;

	for (i = 0; i < tx->nent; i++) {
		const struct node *n = tree_find(store_main, tx->ent[i].path);

		if ((n ? n->gen : 0) != tx->ent[i].gen)
			return EAGAIN;
	}

	/* The domain may have created nodes outside the transaction meanwhile. */
	owned = tree_owned(tx->tree, tx->domid);
	now = tree_owned(store_main, tx->domid);
	if (!priv && owned > tx->start_owned && now + (owned - tx->start_owned) > cfg.quota_nodes)
		return ENOSPC;

	tree_merge(store_main, tx->tree);
	return 0;
}

void tx_fire_events(struct transaction *tx)
{
	unsigned int i;

	for (i = 0; i < tx->nent; i++) {
		const struct tx_entry *e = &tx->ent[i];
		const struct node *n;

		if (!e->fire)
			continue;
		n = tree_find(store_main, e->path);
		watch_fire(e->path, e->subtree, e->perms.p ? &e->perms : NULL,
			   n ? &n->perms : NULL);
	}
}
