/* SPDX-License-Identifier: MIT */
/*
 * xenstored-lite: the tree of nodes.
 *
 * The live store is one tree; a transaction works on a full copy of it, which
 * tree_merge() folds back at commit.  Every change gives the changed node a new
 * generation number, taken from one counter shared by all trees, so equal
 * generations mean an unchanged node.
 */
#ifndef XSL_STORE_H
#define XSL_STORE_H

#include <stdbool.h>
#include <stdint.h>

#define PERM_NONE  0u
#define PERM_READ  1u
#define PERM_WRITE 2u
#define PERM_OWNER 4u
#define PERM_ALL   (PERM_READ | PERM_WRITE | PERM_OWNER)

/* Largest domain id a permission may name. */
#define PERM_DOMID_MAX 65535u

/* Most permission entries an unprivileged domain may set on a node (C xenstored's default). */
#define PERMS_MAX_UNPRIV 5u

struct xs_perm {
	unsigned int domid;
	unsigned int access; /* PERM_READ | PERM_WRITE */
};

/* Entry 0 is the owner and the access of every domain not listed after it. */
struct node_perms {
	unsigned int num;
	struct xs_perm *p;
};

struct node {
	char *name; /* last path component, "" for the root */
	unsigned int name_len;
	struct node *parent;
	struct node **children; /* in creation order, as DIRECTORY lists them */
	unsigned int nchildren, children_cap;
	char *value;
	unsigned int len;
	struct node_perms perms;
	uint64_t gen;
	/* Transaction copies only: what tree_merge() has to carry over. */
	bool modified; /* value, permissions or the set of children changed */
	bool dirty;    /* this node or one below it was modified */
};

struct owner_count {
	unsigned int domid;
	unsigned int count;
};

struct tree {
	struct node *root;
	struct owner_count *owners; /* nodes owned per domain, for the node quota */
	unsigned int nowners, owners_cap;
	bool is_copy;
};

/* The live store. */
extern struct tree *store_main;

void store_init(void);
void store_exit(void);

/* What a domain may do with a node carrying these permissions. */
unsigned int perm_for(const struct node_perms *perms, unsigned int domid);
bool perms_readable(const struct node_perms *perms, unsigned int domid);
/* Parses num wire strings ("n0", "r3", ...) packed in strings; returns 0 or EINVAL. */
int perms_parse(const char *strings, unsigned int num, struct node_perms *out);
/* The wire form, "n0\0r3\0"; malloc'd, its length in *len. */
char *perms_format(const struct node_perms *perms, unsigned int *len);
void perms_copy(struct node_perms *dst, const struct node_perms *src);
void perms_free(struct node_perms *perms);

/* Permissions of a special node ("@introduceDomain", "@releaseDomain"), NULL if unknown. */
struct node_perms *special_perms(const char *name);

/* Lookups take canonical absolute paths. */
struct node *tree_find(const struct tree *t, const char *path);
/*
 * The deepest existing node on path (path's own node if it exists); *missing
 * gets how many components below it do not exist.
 */
struct node *tree_nearest(const struct tree *t, const char *path, unsigned int *missing);

/*
 * Creates path and its missing ancestors, with empty values and their parent's
 * permissions; when owner >= 0 the new nodes are owned by that domain (what an
 * unprivileged domain creates is its own).  Returns the node at path.
 */
struct node *tree_create(struct tree *t, const char *path, int owner);
void node_set_value(struct tree *t, struct node *n, const void *value, unsigned int len);
void node_set_perms(struct tree *t, struct node *n, const struct node_perms *perms);

/* Called with each node about to go and its path, children before parents. */
typedef void node_fn(const struct node *n, const char *path, void *arg);
/* Visits n's subtree, parents before children. */
void tree_visit(const struct node *n, const char *path, node_fn *fn, void *arg);
/* Removes n (not the root) and everything below it, calling fn (may be NULL) first. */
void tree_remove(struct tree *t, struct node *n, const char *path, node_fn *fn, void *arg);

unsigned int tree_owned(const struct tree *t, unsigned int domid);
/* Gives every node owned by from to to. */
void tree_chown(struct tree *t, unsigned int from, unsigned int to);

struct tree *tree_copy(const struct tree *t);
/* Applies what the transaction copy src changed to dst. */
void tree_merge(struct tree *dst, const struct tree *src);
void tree_free(struct tree *t);

#endif
