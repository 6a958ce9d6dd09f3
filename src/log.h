/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's log: one line per message on stderr, each naming the link it
 * is about. Levels are syslog's (LOG_ERR ... LOG_DEBUG); LOG_DEBUG lines
 * appear only with -v.
 *
 * Under systemd (JOURNAL_STREAM is set), a line goes to journald's native
 * socket with its fields: MESSAGE ("LINK: message"), PRIORITY,
 * SYSLOG_IDENTIFIER, LINK and what log_set_fields() adds (IFNAME,
 * PEER_DOMID), so that `journalctl LINK=guest1` shows one link. Where that socket cannot be reached, the line goes to the stream,
 * starting with "<N>", the level as sd-daemon(3) prefixes it, and no
 * program name (journald adds it). Elsewhere lines read
 * "vchan-tund: LINK: message", with "error:" or "warning:" in front of the
 * message at those levels.
 */
#ifndef VCHAN_TUN_LOG_H
#define VCHAN_TUN_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_init(const char *prog, bool verbose);

/*
 * The journal fields of a link's entries beyond LINK, such as
 * "IFNAME=vchan5\nPEER_DOMID=5\n": fields() writes them for the link named
 * link into buf (at most len bytes, each field a NAME=value line, values
 * without newlines) and returns their length. The program that knows its
 * links sets it; without it, LINK alone.
 */
void log_set_fields(size_t (*fields)(void *ctx, const char *link, char *buf, size_t len),
		    void *ctx);

/* Those fields of a link: its device, and its peer's id (NULL while not known). */
size_t log_fields_text(char *buf, size_t len, const char *ifname, const unsigned int *peer_domid);

/* link is the link's name, or NULL for the daemon as a whole. */
void log_link(int level, const char *link, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_msg(level, ...)	log_link(level, NULL, __VA_ARGS__)

/* The programs' status for a bad command line or configuration, which systemd does not retry. */
#define EXIT_CONFIG_ERROR	2

/*
 * A bad command line or configuration file: "PROG: message" on stderr, in
 * that form whether or not stderr is the journal (the user at a terminal, or
 * systemd's ExecStartPre, reads it), then exit status EXIT_CONFIG_ERROR.
 * Usable before log_init().
 */
void exit_config_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
