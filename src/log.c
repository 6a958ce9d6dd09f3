// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon's log (see log.h). Each line goes out in one write(2), or one
 * datagram to journald, so that lines from a daemon and its children, or
 * two daemons sharing a terminal, never interleave mid-line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	1024

/* journald's native socket (systemd.journal-fields(7), "native protocol") */
#define JOURNAL_SOCKET	"/run/systemd/journal/socket"

static const char *log_prog = "vchan-tund";
static bool log_debug;
static bool log_journal;
static int journal_fd = -1;
static size_t (*link_fields)(void *ctx, const char *link, char *buf, size_t len);
static void *link_fields_ctx;

/*
 * Under systemd, the native socket carries a line's fields (LINK=), so that
 * `journalctl LINK=guest1` finds a link's lines; without it, the stream.
 */
static int journal_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

void log_init(const char *prog, bool verbose)
{
	const char *js = getenv("JOURNAL_STREAM");

	log_prog = prog;
	log_debug = verbose;
	log_journal = js && *js;
	if (log_journal && journal_fd < 0)
		journal_fd = journal_open();
}

void log_set_fields(size_t (*fields)(void *ctx, const char *link, char *buf, size_t len),
		    void *ctx)
{
	link_fields = fields;
	link_fields_ctx = ctx;
}

size_t log_fields_text(char *buf, size_t len, const char *ifname, const unsigned int *peer_domid)
{
	int n = peer_domid ? snprintf(buf, len, "IFNAME=%s\nPEER_DOMID=%u\n", ifname, *peer_domid) :
			     snprintf(buf, len, "IFNAME=%s\n", ifname);

	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

/*
 * One entry on the native socket: MESSAGE (the line as the stream would
 * have it, escaped), PRIORITY, SYSLOG_IDENTIFIER, LINK and the link's own
 * fields. False when it did not go, for the caller to write the line to the
 * stream instead.
 */
static bool journal_send(int level, const char *link, const char *msg, size_t len)
{
	char head[64], fields[128];
	struct iovec iov[] = {
		{ .iov_base = "MESSAGE=", .iov_len = 8 },
		{ .iov_base = (void *)msg, .iov_len = len },
		{ .iov_base = head, .iov_len = 0 },
		{ .iov_base = (void *)log_prog, .iov_len = strlen(log_prog) },
		{ .iov_base = "\nLINK=", .iov_len = link ? 6 : 0 },
		{ .iov_base = (void *)(link ? link : ""), .iov_len = link ? strlen(link) : 0 },
		{ .iov_base = "\n", .iov_len = 1 },
		{ .iov_base = fields, .iov_len = 0 },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = sizeof(iov) / sizeof(iov[0]) };
	int n;

	n = snprintf(head, sizeof(head), "\nPRIORITY=%d\nSYSLOG_IDENTIFIER=", level);
	iov[2].iov_len = (size_t)n;
	if (link && link_fields)
		iov[7].iov_len = link_fields(link_fields_ctx, link, fields, sizeof(fields));
	if (iov[7].iov_len > sizeof(fields))
		iov[7].iov_len = 0;
	return sendmsg(journal_fd, &mh, MSG_NOSIGNAL) >= 0;
}

static const char *level_word(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error: ";
	case LOG_WARNING:
		return "warning: ";
	case LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

/* Appends to line at *len, never past LOG_LINE_MAX - 2 (room for "\n"). */
static void __attribute__((format(printf, 3, 0)))
append(char *line, size_t *len, const char *fmt, va_list ap)
{
	size_t room = LOG_LINE_MAX - 1 - *len;
	int n;

	if (room <= 1)
		return;
	n = vsnprintf(line + *len, room, fmt, ap);
	if (n < 0)
		return;
	*len += (size_t)n < room ? (size_t)n : room - 1;
}

static void __attribute__((format(printf, 3, 4)))
append_f(char *line, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append(line, len, fmt, ap);
	va_end(ap);
}

/* line[0..len) into out with control bytes as \xNN, cut to leave room for "\n"; the new length. */
static size_t escape_controls(const char *line, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		bool plain = c >= 0x20 && c != 0x7f;

		if (n + (plain ? 1 : 4) > LOG_LINE_MAX - 1)
			break;
		if (plain)
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, 5, "\\x%02x", c);
	}
	return n;
}

void log_link(int level, const char *link, const char *fmt, ...)
{
	char line[LOG_LINE_MAX], out[LOG_LINE_MAX];
	size_t len = 0, prefix;
	va_list ap;

	if (level >= LOG_DEBUG && !log_debug)
		return;
	if (log_journal)
		append_f(line, &len, "<%d>", level);
	else
		append_f(line, &len, "%s: ", log_prog);
	prefix = len;
	if (link)
		append_f(line, &len, "%s: ", link);
	if (!log_journal)
		append_f(line, &len, "%s", level_word(level));
	va_start(ap, fmt);
	append(line, &len, fmt, ap);
	va_end(ap);
	/*
	 * Text a peer wrote can end up here: it must not forge a second line (or
	 * journal field), nor reach a terminal as escape sequences. Control
	 * bytes become \xNN.
	 */
	len = escape_controls(line, len, out);
	if (journal_fd >= 0 && journal_send(level, link, out + prefix, len - prefix))
		return;
	out[len++] = '\n';
	if (write(STDERR_FILENO, out, len) < 0)
		return; /* nowhere left to say it */
}

void exit_config_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_CONFIG_ERROR);
}
