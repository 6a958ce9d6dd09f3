// SPDX-License-Identifier: GPL-2.0-only
/*
 * vchan-tunctl: asks a running vchan-tund over its control socket.
 *
 *   vchan-tunctl [--control PATH] status [--json] [LINK]
 *   vchan-tunctl [--control PATH] reload
 *
 * Exit status: 0 on success, 1 when the daemon cannot be reached or reports
 * an error, 2 on usage errors. The protocol is in control.h.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "strbuf.h"
#include "util.h"

#define PROG		"vchan-tunctl"
#define TIMEOUT_SECS	10

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--control PATH] status [--json] [LINK]\n"
		"       " PROG " [--control PATH] reload\n"
		"\n"
		"Asks the running vchan-tund.\n"
		"\n"
		"  status [LINK]      every link (or LINK alone): state, peer, rings, counters,\n"
		"                     last error\n"
		"      --json         the same as one JSON object\n"
		"  reload             re-read the configuration directory (as SIGHUP does),\n"
		"                     and say what changed or why not\n"
		"  --control PATH     the daemon's control socket (default " CONTROL_DEFAULT_PATH ")\n"
		"  -h, --help         this text\n"
		"  --version          the version, and exit\n"
		"\n"
		"Exit status: 0 on success, 1 when the daemon cannot be reached or reports an\n"
		"error, 2 on usage errors.\n");
}

static void __attribute__((format(printf, 1, 2), noreturn)) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try '" PROG " --help')\n", stderr);
	exit(2);
}

static int connect_to(const char *path)
{
	struct timeval tv = { .tv_sec = TIMEOUT_SECS };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, PROG ": control socket path '%s' is too long\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, PROG ": socket: %s\n", strerror(errno));
		return -1;
	}
	/* a daemon that hangs must not hang us too */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, PROG ": cannot reach vchan-tund at %s: %s%s\n", path, strerror(errno),
			errno == ENOENT || errno == ECONNREFUSED ? " (is it running?)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_all(int fd, struct strbuf *sb)
{
	char buf[4096];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n)
			return sb->failed ? -1 : 0;
		sb_add(sb, buf, (size_t)n);
	}
}

/* Sends one request; prints the answer's body; 0, or 1 on any failure. */
static int ask(const char *path, const char *request)
{
	struct strbuf answer = { 0 };
	const char *body;
	int fd, ret = 1;

	fd = connect_to(path);
	if (fd < 0)
		return 1;
	if (send_all(fd, request, strlen(request)) || recv_all(fd, &answer)) {
		fprintf(stderr, PROG ": talking to vchan-tund at %s: %s\n", path,
			errno == EAGAIN ? "no answer" : strerror(errno));
		goto out;
	}
	if (!answer.len) {
		fprintf(stderr, PROG ": vchan-tund at %s closed without answering\n", path);
		goto out;
	}
	if (!strncmp(answer.buf, "ok\n", 3)) {
		body = answer.buf + 3;
		fputs(body, stdout);
		ret = fflush(stdout) ? 1 : 0;
	} else if (!strncmp(answer.buf, "error: ", 7)) {
		fprintf(stderr, PROG ": %s", answer.buf + 7);
	} else {
		fprintf(stderr, PROG ": unexpected answer from vchan-tund: %.80s\n", answer.buf);
	}
out:
	sb_free(&answer);
	close(fd);
	return ret;
}

/* A link name goes on the request line as one word: printable, no space, not too long. */
static bool one_word(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > CONTROL_LINE_MAX / 2)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "control", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONTROL_DEFAULT_PATH, *cmd, *link = NULL;
	char request[CONTROL_LINE_MAX];
	bool json = false;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			print_version_and_exit("vchan-tunctl");
		case ':':
			bad_usage("%s needs a value", argv[optind - 1]);
		default:
			bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		bad_usage("expected a command: status or reload");
	cmd = argv[optind];
	if (!strcmp(cmd, "status") && argc - optind == 2)
		link = argv[optind + 1];
	else if (argc - optind > 1)
		bad_usage("unexpected argument '%s'", argv[optind + 1]);
	if (link && !one_word(link))
		bad_usage("'%s' is not a link name", link);
	if (!strcmp(cmd, "status")) {
		snprintf(request, sizeof(request), "status%s%s%s\n", json ? " json" : "",
			 link ? " link " : "", link ? link : "");
		return ask(path, request);
	}
	if (json)
		bad_usage("--json goes with status");
	if (!strcmp(cmd, "reload"))
		return ask(path, "reload\n");
	bad_usage("unknown command '%s': expected status or reload", cmd);
}
