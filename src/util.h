/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few helpers every part of the programs uses, once: the monotonic clock
 * in milliseconds, strict decimal numbers, sizes as the configuration writes
 * them, text from elsewhere made safe to print, and strings held on the heap
 * for paths that may be long but seldom are.
 *
 * Pure C and libc, no state: the ring, the configuration and the tools may
 * all link it.
 */
#ifndef VCHAN_TUN_UTIL_H
#define VCHAN_TUN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Linux's gntalloc shares at most this many pages per domain unless its `limit` is raised. */
#define GNTALLOC_DEFAULT_LIMIT	1024u

static inline size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The version of the programs: the package's, from debian/changelog. */
extern const char vchan_tun_version[];

/* "PROG VERSION" on stdout, then exit status 0: every program's --version. */
void print_version_and_exit(const char *prog) __attribute__((noreturn));

/* CLOCK_MONOTONIC in milliseconds: for deadlines and durations. */
int64_t now_ms(void);

/*
 * s as a number in [min, max]: decimal digits only, no sign, blank, 0x or
 * leading '+' (strtoul takes all of those). 0, or -1 leaving *out alone.
 */
int parse_decimal(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* "4K", "1M", or plain bytes: a size as the configuration writes it. Returns buf. */
const char *size_text(size_t size, char *buf, size_t len);

/*
 * s (NULL: "") with every byte outside printable ASCII, and the backslash,
 * written as \xNN, cut to fit len: text from a peer or from XenStore, which
 * may hold terminal escapes or newlines, made safe for a log line, a status
 * or a hook's environment. Returns buf.
 */
const char *printable(const char *s, char *buf, size_t len);

/* True when every byte of s is printable ASCII. */
bool is_printable(const char *s);

/*
 * A string held on the heap, NULL for none: XenStore paths may be 3 KiB
 * (XENSTORE_ABS_PATH_MAX) but are seldom 100 bytes, and a daemon with many
 * links should not carry 3 KiB for each. str_set replaces *dst by a copy of
 * src (NULL or "": none) and frees the old one; -1 when out of memory, which
 * leaves *dst as it was.
 */
int str_set(char **dst, const char *src);

static inline const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

#endif
