/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Provisioning: one configuration, in the domain that provisions (dom0, or
 * a driver domain), and guests that take their links from XenStore
 * (vchan-tun.conf(5), Provision; docs/protocol.md, "Provisioning").
 *
 * The provisioning end publishes, for a link with Provision = yes, the
 * peer's end of it (config_provision()) in the peer's tree, at
 * /local/domain/GUEST/device/vchan-tun/LINK: every node, the directory
 * included, owned by the provisioner and readable by that guest alone,
 * written in one transaction after whatever was there is removed. link.c
 * does this as the peer's domid becomes known, changes or goes, on reload,
 * and removes it when the link stops.
 *
 * The provisioned end (vchan-tund --provisioned) follows its own
 * /local/domain/SELF/device/vchan-tun with a watch, paced as a peer's
 * (pace.h): each event lists the links there and reads their keys. It
 * trusts nodes owned by the provisioner only (domain 0, or the one given
 * with --provisioned-by): a link with a node owned by anyone else, the guest
 * itself included, is ignored, and so is one whose values do not parse as a
 * file's would. Each link ignored is logged once, when it is first ignored
 * or for a new reason, not at every event; the daemon reports its own
 * reasons (a clash with a local link) through provisioned_reject() too.
 */
#ifndef VCHAN_TUN_PROVISION_H
#define VCHAN_TUN_PROVISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "pace.h"
#include "xs.h"

/* The watch token of the provisioned end. */
#define PROVISION_TOKEN		"provisioned"

/* /local/domain/<guest>/device/vchan-tun/<link>. 0, or -1 if len is too small. */
int provision_path(unsigned int guest, const char *link, char *buf, size_t len);
/* Bytes, with the NUL, of the longest such path. */
#define PROVISION_PATH_MAX	(sizeof("/local/domain/4294967295/" CONFIG_PROVISION_DIR "/") + \
				 CONFIG_NAME_MAX)

/* --- the provisioning end ------------------------------------------------------------ */

/* What one link published: pub at path ("": nothing). Zeroed: nothing yet. */
struct provision_pub {
	struct config_published *pub;
	char path[PROVISION_PATH_MAX];	/* where: "" for nowhere */
};

/*
 * Makes the guest's tree hold what cfg provisions for it, by self: writes
 * when the guest (NULL: none, withdraw) or the published values changed,
 * removes what was published for a guest it no longer is. A failed write is
 * logged under the link's name and leaves nothing remembered, so the next
 * call tries again.
 */
void provision_sync(struct provision_pub *p, struct xstore *xs, const struct link_config *cfg,
		    unsigned int self, const unsigned int *guest);
/* Removes what was published, from XenStore too. */
void provision_withdraw(struct provision_pub *p, struct xstore *xs);
/* Forgets what was published, without touching XenStore (a xenstored that lost its tree). */
void provision_forget(struct provision_pub *p);

/* --- the provisioned end ------------------------------------------------------------- */

struct provision_note;

struct provisioned {
	struct xstore *xs;
	unsigned int self, by;
	char dir[64];			/* /local/domain/SELF/device/vchan-tun */
	struct watch_pace pace;
	struct link_config *links;	/* as last read (provisioned_read) */
	size_t n_links;
	struct provision_note *notes;	/* links ignored, as last reported */
	size_t n_notes;
	/* a read's reports, held until it is known to be of one moment */
	bool holding;
	struct provision_note *held;
	size_t n_held;
};

/* --provisioned-by's value for program prog; a bad one ends it with status 2. */
unsigned int provisioned_by_option(const char *prog, const char *value);

/*
 * Watches SELF's directory (the first event comes at once). 0, or negative
 * with err; err->lasting when the command line is at fault (domain 0 is never
 * provisioned, nor a domain by itself), which no restart mends.
 */
int provisioned_open(struct provisioned *p, struct xstore *xs, unsigned int self,
		     unsigned int by, struct error *err);
void provisioned_close(struct provisioned *p);

/* Its watch fired: true when the links are to be read now, else at the deadline. */
bool provisioned_event(struct provisioned *p, int64_t now);
/* When provisioned_due() wants to run; 0: nothing due. */
int64_t provisioned_deadline(const struct provisioned *p);
/* At the deadline: true when the links are to be read now. */
bool provisioned_due(struct provisioned *p, int64_t now);

/*
 * Reads the links there into p->links, each finished and marked
 * provisioned, all as of one moment (xstore_snapshot): never half of a
 * change the provisioner made in one transaction. Starts a new round of
 * reports: a link ignored is logged if it was not ignored for the same
 * reason in the last round. When the directory cannot be read, p->links
 * stays as it was, and the log says why.
 */
void provisioned_read(struct provisioned *p);

/* A link of the round ignored for a reason of the caller's (msg: one line). */
void provisioned_reject(struct provisioned *p, const char *name, const char *msg);

/* The round is over: links no longer ignored are forgotten, to be reported again. */
void provisioned_done(struct provisioned *p);

/*
 * The links to run, as a new array the caller frees: own (a program's files
 * or options), then each of p->links that clashes with none before it (name,
 * interface, a local address, an explicit XenStorePath). A clash is the
 * provisioned link's error, reported through provisioned_reject(): never a
 * silent winner. Ends the round (provisioned_done()). p NULL: own alone,
 * for a program that is not provisioned. 0, or -1 when out of memory.
 */
int provisioned_merge(struct provisioned *p, const struct link_config *own, size_t n_own,
		      struct link_config **out, size_t *n);

#endif
