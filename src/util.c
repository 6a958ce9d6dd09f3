// SPDX-License-Identifier: GPL-2.0-only
/* The helpers of util.h, and error.h's error_set(). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "util.h"

#ifndef VCHAN_TUN_VERSION
#define VCHAN_TUN_VERSION "unknown"
#endif

const char vchan_tun_version[] = VCHAN_TUN_VERSION;

void print_version_and_exit(const char *prog)
{
	printf("%s %s\n", prog, vchan_tun_version);
	exit(0);
}

int error_set(struct error *e, int errno_value, const char *fmt, ...)
{
	va_list ap;

	e->err = errno_value;
	e->lasting = false;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return errno_value ? -errno_value : -1;
}

int error_lasting(struct error *e, const char *hint)
{
	size_t len = strlen(e->msg);

	if (hint)
		snprintf(e->msg + len, sizeof(e->msg) - len, " (%s)", hint);
	e->lasting = true;
	return e->err ? -e->err : -1;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int parse_decimal(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned long digit = (unsigned long)(*s - '0');

		if (*s < '0' || *s > '9' || digit > max || v > (max - digit) / 10)
			return -1;
		v = v * 10 + digit;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

const char *size_text(size_t size, char *buf, size_t len)
{
	if (size >= 1048576 && !(size % 1048576))
		snprintf(buf, len, "%zuM", size / 1048576);
	else if (size >= 1024 && !(size % 1024))
		snprintf(buf, len, "%zuK", size / 1024);
	else
		snprintf(buf, len, "%zu", size);
	return buf;
}

static bool printable_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '\\';
}

const char *printable(const char *s, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return buf;
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t need = printable_byte(c) ? 1 : 4;

		if (used + need >= len)
			break;
		if (need == 1)
			buf[used] = (char)c;
		else
			snprintf(buf + used, 5, "\\x%02x", c);
		used += need;
	}
	buf[used] = '\0';
	return buf;
}

bool is_printable(const char *s)
{
	for (; *s; s++)
		if (!printable_byte((unsigned char)*s) && *s != '\\')
			return false;
	return true;
}

int str_set(char **dst, const char *src)
{
	char *copy = NULL;

	if (src && *src && !(copy = strdup(src)))
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}
