// SPDX-License-Identifier: GPL-2.0-only
/*
 * The wording of configuration errors: see config-internal.h.
 *
 * A value may be any bytes, and a path nearly so, and the message goes to a
 * terminal or the journal: both are escaped where they could break the line
 * (or, for a value, its quotes), and cut where they would make it too long.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config-internal.h"

static void __attribute__((format(printf, 3, 0)))
vadd(char *buf, size_t len, const char *fmt, va_list ap)
{
	size_t used = strlen(buf);

	vsnprintf(buf + used, len - used, fmt, ap);
}

/* Adds to the text in buf what fits of fmt's. Returns buf. */
static char *__attribute__((format(printf, 3, 4)))
add(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

/* A path as it is, but for control characters, which could forge a second line. */
static const char *path_text(const char *s, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; *s && used < len; s++) {
		unsigned char c = (unsigned char)*s;

		used += (size_t)snprintf(buf + used, len - used,
					 c < 0x20 || c == 0x7f ? "\\x%02x" : "%c", c);
	}
	return buf;
}

/* "file:line: ", "file: " for line 0, nothing on the command line (where NULL or no file). */
static void start(struct config_error *err, const struct config_origin *where)
{
	err->msg[0] = '\0';
	if (!where || !where->file)
		return;
	path_text(where->file, err->msg, MSG_MAX);
	if (where->line)
		add(err->msg, MSG_MAX, ":%u", where->line);
	add(err->msg, MSG_MAX, ": ");
}

/* WHERE: the sentence. Returns -1, for the caller to return. */
int __attribute__((format(printf, 3, 4)))
where_fail(struct config_error *err, const struct config_origin *where, const char *fmt, ...)
{
	va_list ap;

	start(err, where);
	va_start(ap, fmt);
	vadd(err->msg, MSG_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * 'value', with anything that could break the line or the quotes escaped:
 * the value may be any bytes, and the message goes to a terminal or the journal.
 */
const char *quoted(const char *s, char buf[TEXT_MAX])
{
	char *p = buf;
	size_t i;

	*p++ = '\'';
	for (i = 0; i < QUOTE_MAX && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\'' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20 || c > 0x7e) {
			p += snprintf(p, 5, "\\x%02x", c);
		} else {
			*p++ = (char)c;
		}
	}
	strcpy(p, s[i] ? "...'" : "'");
	return buf;
}

/* How a message names a key: "Interface" in a file, "--interface" on the command line. */
const char *key_label(const struct config_origin *where, enum config_key key, char buf[32])
{
	if (where && where->file)
		snprintf(buf, 32, "%s", config_key_name(key));
	else
		snprintf(buf, 32, "--%s", config_key_option(key));
	return buf;
}

/* "Key = 'value'" in a file, "--key 'value'" on the command line. */
const char *key_value(const struct config_origin *where, enum config_key key, const char *value,
		      char buf[TEXT_MAX])
{
	char label[32], q[TEXT_MAX];

	snprintf(buf, TEXT_MAX, "%s%s%s", key_label(where, key, label),
		 where && where->file ? " = " : " ", quoted(value, q));
	return buf;
}

/* WHERE: Key = 'value': what was expected */
int __attribute__((format(printf, 5, 6)))
key_fail(struct config_error *err, const struct config_origin *where, enum config_key key,
	 const char *value, const char *fmt, ...)
{
	char kv[TEXT_MAX];
	va_list ap;

	where_fail(err, where, "%s: ", key_value(where, key, value, kv));
	va_start(ap, fmt);
	vadd(err->msg, MSG_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* Where cfg got a key: its line in the file, or the command line. */
struct config_origin key_origin(const struct link_config *cfg, unsigned int line)
{
	struct config_origin o = { cfg->source[0] ? cfg->source : NULL, line };

	return o;
}

/*
 * The other key of a conflict, and where: "Key = 'value' on line N" or
 * "--key 'value'", either with "(the default)" instead if it was not written.
 */
const char *other_key(const struct link_config *cfg, enum config_key key, const char *value,
		      unsigned int line, char buf[TEXT_MAX])
{
	struct config_origin o = key_origin(cfg, line);

	key_value(&o, key, value, buf);
	if (!(cfg->keys_set & 1u << key))
		return add(buf, TEXT_MAX, " (the default)");
	/* a key from XenStore has no line: its node is named where the message starts */
	if (o.file && line)
		return add(buf, TEXT_MAX, " on line %u", line);
	return buf;
}

/* The other link of a clash in a directory: "link 'a' (dir/a.conf:4)", without :N for line 0. */
const char *other_link(const struct link_config *other, unsigned int line, char buf[MSG_MAX])
{
	snprintf(buf, MSG_MAX, "link '%s' (", other->name);
	path_text(other->source, buf + strlen(buf), MSG_MAX - strlen(buf));
	return line ? add(buf, MSG_MAX, ":%u)", line) : add(buf, MSG_MAX, ")");
}
