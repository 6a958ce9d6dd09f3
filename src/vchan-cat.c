// SPDX-License-Identifier: GPL-2.0-only
/*
 * vchan-cat: stdin to a vchan peer, the peer to stdout. Either end of a
 * libxenvchan-compatible channel, without libxenvchan.
 *
 *   vchan-cat -l [--read-order N] [--write-order N] [options] PEER_DOMID XS_PATH
 *   vchan-cat [-w SECS] [options] SERVER_DOMID XS_PATH
 *
 * Data moves between the fds and the shared rings with readv/writev straight
 * into and out of the ring spans: no copy of our own. End of stdin stops
 * sending; we exit when the peer closes (after writing out all it sent), or
 * with -q SECS, that long after end of stdin once the peer has read all we sent.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vchan/vchan.h"
#include "util.h"

#define PROG			"vchan-cat"
#define DEFAULT_ORDER		16
#define DEFAULT_WAIT_SECS	30
#define DEFAULT_SPIN_USECS	20
#define MAX_SECS		86400

/* SIGINT/SIGTERM: leave the loop, so that close withdraws the channel cleanly. */
static volatile sig_atomic_t stop_signal;

struct opts {
	bool listen;
	bool verbose;
	unsigned int read_order, write_order;
	bool orders_given;
	long quit_secs;		/* -1: wait for the peer to close */
	long wait_secs;
	unsigned int spin_us;
	unsigned int domid;
	const char *path;
};

struct cat {
	struct vchan *v;
	struct vchan_ring *r;
	const struct opts *o;
	bool in_eof;
	bool in_ready;		/* poll said stdin is readable (or at EOF) */
	bool out_blocked;	/* stdout said EAGAIN: wait for POLLOUT */
	bool connected;
	int64_t quit_at;	/* ms, once stdin ended and -q was given */
};

static void __attribute__((format(printf, 1, 2))) err(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " -l [--read-order N] [--write-order N] [options] PEER_DOMID XS_PATH\n"
		"       " PROG " [-w SECS] [options] SERVER_DOMID XS_PATH\n"
		"\n"
		"Copies stdin to a vchan peer and what the peer sends to stdout.\n"
		"\n"
		"  -l, --listen         be the server: offer the channel to PEER_DOMID at XS_PATH\n"
		"      --read-order N   server: the ring we read holds 2^N bytes, N in 10..20 (%d)\n"
		"      --write-order N  server: the ring we write holds 2^N bytes (%d)\n"
		"  -w, --wait SECS      client: wait this long for the server (%d; 0: try once)\n"
		"  -q, --quit SECS      after end of stdin and the peer read it all, exit after\n"
		"                       SECS instead of waiting for the peer to close\n"
		"      --spin USECS     before sleeping, watch the ring this long (%d; 0: never)\n"
		"  -v, --verbose        say on stderr when connected, and the ring orders\n"
		"  -h, --help           this text\n"
		"  --version            the version, and exit\n"
		"\n"
		"Exit status: 0 when the peer closed (or -q expired), 1 on errors, 2 on usage errors,\n"
		"128+N after signal N (SIGINT, SIGTERM), having closed the channel.\n",
		DEFAULT_ORDER, DEFAULT_ORDER, DEFAULT_WAIT_SECS, DEFAULT_SPIN_USECS);
}

static void __attribute__((noreturn)) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	usage(stderr);
	exit(2);
}

static unsigned long number(const char *what, const char *s, unsigned long min,
			    unsigned long max)
{
	unsigned long v;

	if (vchan_parse_uint(s, min, max, &v))
		bad_usage("bad %s '%s': expected an integer from %lu to %lu", what, s, min, max);
	return v;
}

static int span_count(const struct iovec iov[2])
{
	return iov[1].iov_len ? 2 : 1;
}

/* --- moving bytes ---------------------------------------------------------------- */

/* Ring to stdout. Returns 1 after progress, 0 with nothing to do, -1 on error. */
static int pump_out(struct cat *c)
{
	struct iovec iov[2];
	ssize_t n;

	if (c->out_blocked || !vchan_ring_readable(c->r, iov))
		return 0;
	n = writev(STDOUT_FILENO, iov, span_count(iov));
	if (n < 0) {
		/* Someone made our stdout non-blocking: poll it before trying again. */
		if (errno == EAGAIN)
			c->out_blocked = true;
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		err("cannot write to stdout: %m");
		return -1;
	}
	vchan_ring_consume(c->r, (size_t)n);
	return 1;
}

/* stdin to the ring. Same returns as pump_out. */
static int pump_in(struct cat *c)
{
	struct iovec iov[2];
	ssize_t n;

	if (c->in_eof || !c->in_ready || !vchan_ring_writable(c->r, iov))
		return 0;
	/* Only after poll said so: a blocking read here could stall the channel. */
	c->in_ready = false;
	n = readv(STDIN_FILENO, iov, span_count(iov));
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		err("cannot read stdin: %m");
		return -1;
	}
	if (n == 0) {
		c->in_eof = true;
		if (c->o->quit_secs >= 0)
			c->quit_at = now_ms() + c->o->quit_secs * 1000;
		return 1;
	}
	vchan_ring_commit(c->r, (size_t)n);
	return 1;
}

static bool all_sent_read(struct cat *c)
{
	struct iovec iov[2];

	return vchan_ring_writable(c->r, iov) == vchan_ring_write_size(c->r);
}

/* --- the loop --------------------------------------------------------------------- */

static void say_connected(struct cat *c)
{
	if (c->connected)
		return;
	c->connected = true;
	if (c->o->verbose)
		err("connected: read ring order %u, write ring order %u", vchan_read_order(c->v),
		    vchan_write_order(c->v));
}

/* How long poll may sleep: until -q expires, if that is still ahead. */
static int poll_timeout(const struct cat *c)
{
	int64_t left;

	if (!c->quit_at)
		return -1;
	left = c->quit_at - now_ms();
	if (left <= 0)
		return -1; /* expired, waiting for the peer to read the rest: events tell */
	return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * Nothing moved: ask for events, look once more, and only then poll. Returns
 * 1 to go round again at once, 0 after sleeping, -1 on error.
 */
static int sleep_until_something(struct cat *c)
{
	struct pollfd pfd[3] = { { .fd = vchan_fd(c->v), .events = POLLIN } };
	int in = -1, out = -1, nfds = 1, n;
	struct iovec iov[2];
	bool full = !c->in_eof && !vchan_ring_writable(c->r, iov);

	/* A peer busy on another CPU is quicker to watch than to wait for. */
	if (!c->out_blocked && vchan_ring_spin(c->r, true, full, c->o->spin_us * 1000))
		return 1;
	/* Data waiting and stdout willing: go and write it. */
	if (vchan_ring_arm_read(c->r, iov) && !c->out_blocked)
		return 1;
	if (!c->in_eof) {
		/* Room in the ring: wait for stdin; none: for the peer to read. */
		if (vchan_ring_writable(c->r, iov))
			in = nfds++;
		else if (vchan_ring_arm_write(c->r, iov))
			return 1;
	} else if (c->quit_at && !all_sent_read(c) && vchan_ring_arm_write(c->r, iov) &&
		   all_sent_read(c)) {
		return 1;
	}
	if (vchan_ring_error(c->r))
		return 1; /* the caller reports it */
	if (in >= 0)
		pfd[in] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	if (c->out_blocked) {
		out = nfds++;
		pfd[out] = (struct pollfd){ .fd = STDOUT_FILENO, .events = POLLOUT };
	}
	n = poll(pfd, (nfds_t)nfds, poll_timeout(c));
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		err("poll: %m");
		return -1;
	}
	if (in >= 0 && pfd[in].revents)
		c->in_ready = true;
	if (out >= 0 && pfd[out].revents)
		c->out_blocked = false; /* writable, or an error writev will report */
	if (pfd[0].revents & (POLLERR | POLLNVAL)) {
		err("event channel fd: revents 0x%x", (unsigned int)pfd[0].revents);
		return -1;
	}
	if ((pfd[0].revents & POLLIN) && vchan_handle_events(c->v))
		return 1; /* broken: the caller reports it */
	return 0;
}

/* The peer is gone and we wrote out all it sent: fine, unless it left ours unread. */
static int peer_closed(struct cat *c)
{
	struct iovec iov[2];
	size_t unread = vchan_ring_write_size(c->r) - vchan_ring_writable(c->r, iov);

	if (unread) {
		err("peer closed the channel leaving %zu bytes we sent unread", unread);
		return 1;
	}
	if (c->o->verbose)
		err("peer closed the channel");
	return 0;
}

static int run(struct cat *c)
{
	for (;;) {
		enum vchan_state st = vchan_state(c->v);
		struct iovec iov[2];
		int out, in;

		if (stop_signal)
			return 128 + stop_signal;
		if (st == VCHAN_BROKEN) {
			err("channel with domain %u at %s broken: %s", c->o->domid, c->o->path,
			    vchan_error(c->v));
			return 1;
		}
		if (st == VCHAN_CONNECTED || st == VCHAN_CLOSED)
			say_connected(c);
		/* The live byte first: what the peer sent before closing is then visible. */
		out = pump_out(c);
		if (out < 0)
			return 1;
		if (st == VCHAN_CLOSED && !out && !vchan_ring_readable(c->r, iov))
			return peer_closed(c);
		in = pump_in(c);
		if (in < 0)
			return 1;
		if (vchan_flush(c->v))
			continue; /* broken: reported above */
		if (c->quit_at && now_ms() >= c->quit_at && all_sent_read(c))
			return 0;
		if (out || in)
			continue;
		if (sleep_until_something(c) < 0)
			return 1;
	}
}

/* --- command line ------------------------------------------------------------------- */

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "listen", no_argument, NULL, 'l' },
		{ "read-order", required_argument, NULL, 'R' },
		{ "write-order", required_argument, NULL, 'W' },
		{ "wait", required_argument, NULL, 'w' },
		{ "quit", required_argument, NULL, 'q' },
		{ "spin", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool wait_given = false;
	int ch;

	*o = (struct opts){ .read_order = DEFAULT_ORDER, .write_order = DEFAULT_ORDER,
			    .quit_secs = -1, .wait_secs = DEFAULT_WAIT_SECS };
	while ((ch = getopt_long(argc, argv, "lw:q:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			o->listen = true;
			break;
		case 'R':
			o->read_order = number("--read-order", optarg, VCHAN_MIN_ORDER,
					       VCHAN_MAX_ORDER);
			o->orders_given = true;
			break;
		case 'W':
			o->write_order = number("--write-order", optarg, VCHAN_MIN_ORDER,
						VCHAN_MAX_ORDER);
			o->orders_given = true;
			break;
		case 'w':
			o->wait_secs = number("-w", optarg, 0, MAX_SECS);
			wait_given = true;
			break;
		case 'q':
			o->quit_secs = number("-q", optarg, 0, MAX_SECS);
			break;
		case 'S':
			o->spin_us = number("--spin", optarg, 0, 1000000);
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'V':
			print_version_and_exit(PROG);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (argc - optind != 2)
		bad_usage("expected %s and XS_PATH, got %d arguments",
			  o->listen ? "PEER_DOMID" : "SERVER_DOMID", argc - optind);
	if (o->orders_given && !o->listen)
		bad_usage("--read-order and --write-order are for the server (-l); "
			  "the client takes its rings from it");
	if (wait_given && o->listen)
		bad_usage("-w is for the client; a server waits for its client indefinitely");
	o->domid = number(o->listen ? "PEER_DOMID" : "SERVER_DOMID", argv[optind], 0,
			  VCHAN_DOMID_LIMIT - 1);
	o->path = argv[optind + 1];
	if (o->listen) {
		struct vchan_layout lay;
		char why[160];

		if (vchan_layout_make(&lay, o->read_order, o->write_order, why, sizeof(why)))
			bad_usage("--read-order %u with --write-order %u: %s", o->read_order,
				  o->write_order, why);
	}
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void catch_signals(void)
{
	/* No SA_RESTART: poll returns EINTR and the loop sees the flag. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct vchan_error e = { .msg = "" };
	struct opts o;
	struct cat c = { 0 };
	int ret;

	parse_args(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	if (o.listen)
		c.v = vchan_server_open(o.domid, o.path, o.read_order, o.write_order, &e);
	else
		c.v = vchan_client_open(o.domid, o.path, (int)o.wait_secs * 1000, &e);
	if (!c.v) {
		err("cannot %s domain %u at %s: %s",
		    o.listen ? "offer a channel to" : "connect to the channel of", o.domid, o.path,
		    e.msg);
		return 1;
	}
	/* Only now: until the channel exists there is nothing to withdraw. */
	catch_signals();
	c.r = vchan_ring(c.v);
	c.o = &o;
	ret = run(&c);
	vchan_close(c.v);
	return ret;
}
