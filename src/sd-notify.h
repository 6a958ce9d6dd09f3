/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Readiness and status for the service manager, as sd_notify(3) sends them,
 * without libsystemd: one datagram of KEY=VALUE lines to the unix socket
 * named by $NOTIFY_SOCKET, a path ("/run/systemd/notify") or an abstract
 * name ("@name"). Without $NOTIFY_SOCKET (not started by systemd, or not
 * as Type=notify) every call does nothing.
 *
 * A failure to send is logged once, as a warning (log.h): a service manager
 * that misses READY=1 says so itself when its start timeout expires.
 */
#ifndef VCHAN_TUN_SD_NOTIFY_H
#define VCHAN_TUN_SD_NOTIFY_H

/* state: one or more assignments separated by '\n', e.g. "READY=1" or "STOPPING=1". */
void sd_notify_send(const char *state);

/*
 * STATUS=: one line for `systemctl status`, e.g. "3 links, 2 running",
 * cut at 255 bytes; newlines in it become spaces, so that no text
 * (a configuration error quoting a file) can add an assignment.
 */
void sd_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * RELOADING=1 with MONOTONIC_USEC= (now, CLOCK_MONOTONIC), which systemd
 * >= 253 requires to tell this reload from an earlier one; READY=1 ends it.
 */
void sd_notify_reloading(void);

#endif
