/* SPDX-License-Identifier: MIT */
/* xenstored-lite: configuration, logging and allocation helpers. */
#ifndef XSL_UTIL_H
#define XSL_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct xsl_config {
	const char *dir;
	unsigned int quota_nodes;
	unsigned int quota_watches;
	unsigned int quota_transactions;
	unsigned int quota_entry_size;
	bool verbose;
};

extern struct xsl_config cfg;

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_trace(...)                                                                             \
	do {                                                                                       \
		if (cfg.verbose)                                                                   \
			log_msg(__VA_ARGS__);                                                      \
	} while (0)

/* Allocation failure is fatal: every size is bounded, so it means the host is out. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xmemdup(const void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The wire name of an errno value ("EACCES"); EINVAL for those the protocol lacks. */
const char *errno_name(int err);

/*
 * Parses a plain unsigned decimal (no sign, no spaces, no leading junk) that fits
 * in max; returns false otherwise.
 */
bool parse_uint(const char *s, unsigned long max, unsigned long *out);

/* Number of NUL-terminated strings in data[0..len). */
unsigned int count_strings(const char *data, unsigned int len);

#endif
