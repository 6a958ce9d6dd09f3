// SPDX-License-Identifier: GPL-2.0-only
/*
 * sd_notify(3)'s protocol without libsystemd (see sd-notify.h). The socket is
 * opened for each message: messages are rare (start, reload, stop, a link
 * changing state), and nothing stays open for a child to inherit.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sd-notify.h"

#define STATUS_KEY	"STATUS="
#define STATUS_MAX	255

/*
 * The address in $NOTIFY_SOCKET: 1, 0 when it is unset or empty, -1 (errno)
 * when it is neither a path nor an abstract name. systemd >= 254 may also
 * hand out "vsock:" addresses, but only to virtual machines it runs.
 */
static int notify_addr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n;

	if (!name || !*name)
		return 0;
	n = strlen(name);
	if (name[0] != '/' && name[0] != '@') {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (n < 2 || n >= sizeof(sa->sun_path)) {
		errno = n < 2 ? EINVAL : ENAMETOOLONG;
		return -1;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	/* an abstract name is exactly its bytes after a NUL; a path ends with one */
	if (name[0] == '@')
		sa->sun_path[0] = '\0';
	else
		(*len)++;
	return 1;
}

static void warn_once(const char *name)
{
	static bool warned;

	if (warned)
		return;
	warned = true;
	log_msg(LOG_WARNING, "cannot notify the service manager at NOTIFY_SOCKET '%s': %s",
		name, strerror(errno));
}

void sd_notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	ssize_t sent;
	int fd, rc, saved;

	rc = notify_addr(name, &sa, &len);
	if (rc == 0)
		return;
	if (rc < 0)
		goto fail;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&sa, len);
	saved = errno;
	close(fd);
	errno = saved;
	if (sent < 0)
		goto fail;
	return;
fail:
	warn_once(name);
}

void sd_notify_status(const char *fmt, ...)
{
	char msg[sizeof(STATUS_KEY) + STATUS_MAX];
	char *text = msg + strlen(STATUS_KEY);
	va_list ap;

	memcpy(msg, STATUS_KEY, strlen(STATUS_KEY));
	va_start(ap, fmt);
	if (vsnprintf(text, sizeof(msg) - strlen(STATUS_KEY), fmt, ap) < 0)
		*text = '\0';
	va_end(ap);
	for (char *p = text; *p; p++)
		if (*p == '\n')
			*p = ' ';
	sd_notify_send(msg);
}

void sd_notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	sd_notify_send(msg);
}
