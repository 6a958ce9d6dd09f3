// SPDX-License-Identifier: GPL-2.0-only
/*
 * xs-probe: XenStore operations through Debian's libxenstore whose outcome a
 * test needs exactly. Failures print the errno's name (EACCES, EAGAIN...)
 * alone on stdout and exit 1.
 *
 *   xs-probe read PATH                 print the value
 *   xs-probe write PATH VALUE|--size N write a value (or N bytes of 'x')
 *   xs-probe conflict PATH             two transactions write PATH; print how each ends
 *   xs-probe watches N                 register N watches; print how many succeeded
 *   xs-probe transactions N            open N transactions at once; likewise
 *   xs-probe nodes PATH N              create PATH/0..N-1; likewise
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

static int failed(const char *what, const char *path)
{
	int saved = errno;

	fprintf(stderr, "xs-probe: %s %s: %s\n", what, path, strerror(saved));
	printf("%s\n", strerrorname_np(saved));
	return 1;
}

static long number(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 0 || v > 1000000) {
		fprintf(stderr, "xs-probe: '%s' is not a count\n", s);
		exit(2);
	}
	return v;
}

static int do_read(struct xs_handle *xs, const char *path)
{
	unsigned int len;
	char *v = xs_read(xs, XBT_NULL, path, &len);

	if (!v)
		return failed("read", path);
	printf("%.*s\n", (int)len, v);
	free(v);
	return 0;
}

static int do_write(struct xs_handle *xs, const char *path, const char *value, long size)
{
	char *buf = NULL;
	bool ok;

	if (size >= 0) {
		buf = malloc((size_t)size + 1);
		if (!buf)
			return 1;
		memset(buf, 'x', (size_t)size);
		buf[size] = '\0';
		value = buf;
	}
	ok = xs_write(xs, XBT_NULL, path, value, (unsigned int)strlen(value));
	free(buf);
	if (!ok)
		return failed("write", path);
	printf("ok\n");
	return 0;
}

static void report_end(const char *who, struct xs_handle *xs, xs_transaction_t t)
{
	if (xs_transaction_end(xs, t, false))
		printf("%s: committed\n", who);
	else
		printf("%s: %s\n", who, strerrorname_np(errno));
}

/* Both read and write the key, then commit in turn: the second must fail. */
static int do_conflict(const char *path)
{
	struct xs_handle *a = xs_open(0), *b = xs_open(0);
	xs_transaction_t ta, tb;

	if (!a || !b)
		return failed("open", "");
	ta = xs_transaction_start(a);
	tb = xs_transaction_start(b);
	if (!ta || !tb)
		return failed("transaction_start", path);
	free(xs_read(a, ta, path, NULL));
	free(xs_read(b, tb, path, NULL));
	if (!xs_write(a, ta, path, "a", 1) || !xs_write(b, tb, path, "b", 1))
		return failed("write", path);
	report_end("first", a, ta);
	report_end("second", b, tb);
	xs_close(a);
	xs_close(b);
	return 0;
}

static int count_until_failure(struct xs_handle *xs, const char *what, const char *path, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		char buf[256], token[32];
		bool ok;

		snprintf(token, sizeof(token), "t%ld", i);
		if (!strcmp(what, "watches")) {
			ok = xs_watch(xs, "/local", token);
		} else if (!strcmp(what, "transactions")) {
			ok = xs_transaction_start(xs) != XBT_NULL;
		} else {
			snprintf(buf, sizeof(buf), "%s/%ld", path, i);
			ok = xs_write(xs, XBT_NULL, buf, "", 0);
		}
		if (!ok) {
			printf("%ld %s\n", i, strerrorname_np(errno));
			return 0;
		}
	}
	printf("%ld ok\n", i);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	struct xs_handle *xs;

	if (!strcmp(cmd, "conflict") && argc == 3)
		return do_conflict(argv[2]);
	xs = xs_open(0);
	if (!xs)
		return failed("open", getenv("XENSTORED_PATH") ? getenv("XENSTORED_PATH") : "");
	if (!strcmp(cmd, "read") && argc == 3)
		return do_read(xs, argv[2]);
	if (!strcmp(cmd, "write") && argc == 4)
		return do_write(xs, argv[2], argv[3], -1);
	if (!strcmp(cmd, "write") && argc == 5 && !strcmp(argv[3], "--size"))
		return do_write(xs, argv[2], NULL, number(argv[4]));
	if ((!strcmp(cmd, "watches") || !strcmp(cmd, "transactions")) && argc == 3)
		return count_until_failure(xs, cmd, NULL, number(argv[2]));
	if (!strcmp(cmd, "nodes") && argc == 4)
		return count_until_failure(xs, cmd, argv[2], number(argv[3]));
	fprintf(stderr, "usage: xs-probe read PATH | write PATH VALUE | write PATH --size N |\n"
			"       conflict PATH | watches N | transactions N | nodes PATH N\n");
	return 2;
}
