/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A growing string for the control protocol's answers (status as text and
 * as JSON). Running out of memory is remembered, not reported per call: the
 * caller checks sb->failed once at the end.
 */
#ifndef VCHAN_TUN_STRBUF_H
#define VCHAN_TUN_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;	/* NUL-terminated once anything was added */
	size_t len;
	size_t cap;
	bool failed;
};

void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_add(struct strbuf *sb, const char *s, size_t len);
/* s as a JSON string, quotes included; NULL as null. */
void sb_json_string(struct strbuf *sb, const char *s);
/* Forgets the contents, keeps the memory. */
void sb_reset(struct strbuf *sb);
void sb_free(struct strbuf *sb);

#endif
