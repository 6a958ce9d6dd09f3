/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal to the configuration: what config.c (the key table, its parsers,
 * the options and the cross-key checks), config-file.c (files, directories
 * and the clashes between links), config-provision.c (links as XenStore
 * carries them) and config-msg.c (the wording of errors) share. No other file includes it; the rest of the program has config.h.
 *
 * Every message is one call, its format the whole sentence: where_fail()
 * writes "file:line: " and the rest, and the renderers below write its
 * pieces into the caller's buffers, of TEXT_MAX bytes (MSG_MAX for
 * other_link()), and return them, to be arguments of that one call. A
 * "where" of NULL, or without a file, is the command line: keys are named
 * as options there ("--mtu '9x'") and as in a file elsewhere ("MTU = '9x'").
 */
#ifndef VCHAN_TUN_CONFIG_INTERNAL_H
#define VCHAN_TUN_CONFIG_INTERNAL_H

#include <stdbool.h>

#include "config.h"

/* At most this much of a value is quoted back, so messages stay one line. */
#define QUOTE_MAX	128
/* A rendered piece: a value quoted with every byte as \xNN, a key's name, a line number. */
#define TEXT_MAX	(4 * QUOTE_MAX + 96)
#define MSG_MAX		sizeof(((struct config_error *)0)->msg)

#define LINK_NAME_EXPECTED	"expected 1 to 64 letters, digits, '-' and '_'"

/* --- config-msg.c: the sentences and their pieces ------------------------------ */

/* WHERE: the sentence. Returns -1, for the caller to return. */
int where_fail(struct config_error *err, const struct config_origin *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* WHERE: Key = 'value': the sentence. Returns -1. */
int key_fail(struct config_error *err, const struct config_origin *where, enum config_key key,
	     const char *value, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* 'value', escaped so that it stays one line and one quotation. */
const char *quoted(const char *s, char buf[TEXT_MAX]);
/* "Interface" in a file, "--interface" on the command line. */
const char *key_label(const struct config_origin *where, enum config_key key, char buf[32]);
/* "Key = 'value'" in a file, "--key 'value'" on the command line. */
const char *key_value(const struct config_origin *where, enum config_key key, const char *value,
		      char buf[TEXT_MAX]);
/* Where cfg got a key: its line in cfg's file, or the command line. */
struct config_origin key_origin(const struct link_config *cfg, unsigned int line);
/* The other key of a conflict in cfg: "Key = 'value' on line N", "(the default)"... */
const char *other_key(const struct link_config *cfg, enum config_key key, const char *value,
		      unsigned int line, char buf[TEXT_MAX]);
/* The other link of a clash in a directory: "link 'a' (dir/a.conf:4)". */
const char *other_link(const struct link_config *other, unsigned int line, char buf[MSG_MAX]);

/* --- config.c: of the key table, and checks both parsers make ------------------ */

/* The key's long option, without "--". */
const char *config_key_option(enum config_key key);
/* A link name: also a XenStore path component in the default path, so no '.'. */
bool valid_link_name(const char *s);
/* One key's value from where, the key by its index: what config_set_key() does once found. */
int config_set_key_index(struct link_config *cfg, enum config_key key, const char *value,
			 const struct config_origin *where, struct config_error *err);
/* Keys of the daemon that provisions, never taken from XenStore (bit 1 << enum config_key). */
unsigned int config_provisioner_keys(void);

/* --- config-file.c: shared with config-provision.c --------------------------------- */

/*
 * The link name: path's last component, without .conf if conf; what
 * messages name is path (a file, or a XenStore directory).
 */
int link_name_from_path(struct link_config *cfg, const char *path, bool conf,
			struct config_error *err);

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

#endif
