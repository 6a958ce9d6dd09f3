// SPDX-License-Identifier: GPL-2.0-only
/*
 * ring-peer: vchan-peer's twin on our own ring (src/vchan) instead of
 * libxenvchan. Same command line, same byte streams, same output, so either
 * end of a test can be either program.
 *
 *   ring-peer server PEER_DOMID XS_PATH [--read-min BYTES] [--write-min BYTES] [options]
 *   ring-peer client SERVER_DOMID XS_PATH [options]
 *
 *   --bytes N       bytes to send, and to expect from the peer (default 0)
 *   --seed S        the server sends stream S, the client stream S+1 (default 1)
 *   --max-write N   largest chunk committed at once (default: ring size); chunks
 *                   and reads have random sizes from 1 to that
 *   --wait-close    after the transfer, wait until the peer closes, print "peer-closed"
 *   --timeout SECS  limit for the whole run (default 60)
 *   --clients N     server only: serve N clients one after the other, re-offering
 *                   the channel after each (prints "reoffered"); default 1
 *   --spin USECS    before sleeping, watch the ring this long (default 20; 0: never)
 *
 * Streams: xorshift64 seeded through one splitmix64 step, each output giving 8
 * bytes low byte first; checksums are FNV-1a 64. Bytes are generated straight
 * into the shared ring and checked straight out of it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/vchan/vchan.h"

#include "stream.h"

#define PROG		"ring-peer"
#define NSEC_PER_SEC	1000000000LL

struct opts {
	bool server;
	unsigned int domid;
	const char *path;
	unsigned long read_min, write_min;
	uint64_t bytes, seed;
	unsigned long max_write;
	bool wait_close;
	unsigned long timeout;
	unsigned long clients;
	unsigned long spin_us;
};

struct peer {
	const struct opts *o;
	struct vchan *v;
	struct vchan_ring *r;
	int64_t deadline;

	struct stream tx, rx;
	struct rng tx_sizes, rx_sizes;
	size_t max_write, max_read;
	size_t chunk_left;	/* of the current write chunk */
	uint64_t sent, received, fnv_sent, fnv_received;
	uint8_t *expect;
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

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* --- streams ------------------------------------------------------------------- */

/* --- the transfer ---------------------------------------------------------------- */

static void peer_reset(struct peer *p)
{
	uint64_t own = p->o->server ? p->o->seed : p->o->seed + 1;
	uint64_t other = p->o->server ? p->o->seed + 1 : p->o->seed;

	stream_init(&p->tx, own);
	stream_init(&p->rx, other);
	rng_seed(&p->tx_sizes, own ^ STREAM_GOLDEN);
	rng_seed(&p->rx_sizes, ~own ^ STREAM_GOLDEN);
	p->sent = p->received = 0;
	p->chunk_left = 0;
	p->fnv_sent = p->fnv_received = FNV64_OFFSET;
	p->max_read = vchan_ring_read_size(p->r);
	p->max_write = p->o->max_write ? p->o->max_write : vchan_ring_write_size(p->r);
}

/* A peer already asleep waiting for this gets its event now, not after the batch. */
static void progress(struct peer *p)
{
	vchan_flush_if_waiting(p->v); /* a failure shows in vchan_state */
}

/* Fills all free space with chunks of random sizes. Returns bytes committed. */
static size_t tx_fill(struct peer *p)
{
	struct iovec iov[2];
	size_t room = vchan_ring_writable(p->r, iov), done = 0;

	while (done < room && p->sent < p->o->bytes) {
		size_t n;

		if (!p->chunk_left)
			p->chunk_left = rng_chunk(&p->tx_sizes, p->max_write, p->o->bytes - p->sent);
		n = p->chunk_left < room - done ? p->chunk_left : room - done;
		for (int s = 0; s < 2 && n; s++) {
			size_t off = done < iov[0].iov_len ? done : done - iov[0].iov_len;
			struct iovec *sp = &iov[done < iov[0].iov_len ? 0 : 1];
			size_t k = sp->iov_len - off < n ? sp->iov_len - off : n;
			uint8_t *q = (uint8_t *)sp->iov_base + off;

			stream_fill(&p->tx, q, k);
			p->fnv_sent = fnv64(p->fnv_sent, q, k);
			vchan_ring_commit(p->r, k);
			progress(p);
			done += k;
			p->sent += k;
			p->chunk_left -= k;
			n -= k;
		}
	}
	return done;
}

static int mismatch(struct peer *p, const uint8_t *got, size_t n)
{
	size_t i = 0;

	while (i < n && got[i] == p->expect[i])
		i++;
	printf("MISMATCH at offset %" PRIu64 ": got 0x%02x expected 0x%02x\n", p->received + i,
	       got[i], p->expect[i]);
	return -1;
}

/* Checks and consumes what is readable, in reads of random sizes. -1 on a bad byte. */
static int rx_drain(struct peer *p, size_t *moved)
{
	struct iovec iov[2];
	size_t have = vchan_ring_readable(p->r, iov), done = 0;

	*moved = 0;
	while (done < have && p->received < p->o->bytes) {
		size_t want = rng_chunk(&p->rx_sizes, p->max_read, p->o->bytes - p->received);
		size_t n = want < have - done ? want : have - done;

		while (n) {
			struct iovec *sp = &iov[done < iov[0].iov_len ? 0 : 1];
			size_t off = done < iov[0].iov_len ? done : done - iov[0].iov_len;
			size_t k = sp->iov_len - off < n ? sp->iov_len - off : n;
			const uint8_t *q = (const uint8_t *)sp->iov_base + off;

			stream_fill(&p->rx, p->expect, k);
			if (memcmp(q, p->expect, k))
				return mismatch(p, q, k);
			p->fnv_received = fnv64(p->fnv_received, q, k);
			vchan_ring_consume(p->r, k);
			progress(p);
			done += k;
			p->received += k;
			n -= k;
		}
	}
	*moved = done;
	return 0;
}

/* Sleeps until an event or the deadline. -1 on time-out or error. */
static int wait_event(struct peer *p, const char *doing)
{
	struct pollfd pfd = { .fd = vchan_fd(p->v), .events = POLLIN };
	int64_t left = p->deadline - now_ns();
	int n;

	if (left <= 0) {
		err("timed out after %lu s %s", p->o->timeout, doing);
		return -1;
	}
	n = poll(&pfd, 1, (int)(left / 1000000 + 1));
	if (n < 0 && errno != EINTR) {
		err("poll: %m");
		return -1;
	}
	if (n > 0 && vchan_handle_events(p->v)) {
		err("%s", vchan_error(p->v));
		return -1;
	}
	return 0;
}

static int check_state(struct peer *p, enum vchan_state st, const char *doing)
{
	if (st == VCHAN_BROKEN) {
		err("channel broken %s: %s", doing, vchan_error(p->v));
		return -1;
	}
	return 0;
}

static int transfer(struct peer *p)
{
	int64_t start = now_ns();
	double secs, busier;

	while (p->sent < p->o->bytes || p->received < p->o->bytes) {
		enum vchan_state st = vchan_state(p->v);
		struct iovec iov[2];
		size_t tx, rx;

		if (check_state(p, st, "during the transfer"))
			return -1;
		tx = tx_fill(p);
		if (rx_drain(p, &rx))
			return -1;
		if (vchan_flush(p->v) && check_state(p, VCHAN_BROKEN, "during the transfer"))
			return -1;
		if (tx || rx)
			continue;
		if (st == VCHAN_CLOSED) {
			err("peer closed the channel after %" PRIu64 " of %" PRIu64
			    " bytes received and %" PRIu64 " sent",
			    p->received, p->o->bytes, p->sent);
			return -1;
		}
		/* A peer busy on another CPU is quicker to watch than to wait for. */
		if (vchan_ring_spin(p->r, p->received < p->o->bytes, p->sent < p->o->bytes,
				    (unsigned int)p->o->spin_us * 1000))
			continue;
		/* Ask for the events we need, look again, then sleep. */
		if (p->received < p->o->bytes && vchan_ring_arm_read(p->r, iov))
			continue;
		if (p->sent < p->o->bytes && vchan_ring_arm_write(p->r, iov))
			continue;
		if (wait_event(p, "during the transfer"))
			return -1;
	}
	if (vchan_flush(p->v))
		return check_state(p, VCHAN_BROKEN, "at the end of the transfer");
	secs = (double)(now_ns() - start) / NSEC_PER_SEC;
	busier = (double)(p->sent > p->received ? p->sent : p->received);
	printf("ok sent=%" PRIu64 " received=%" PRIu64 " fnv64_sent=%016" PRIx64
	       " fnv64_received=%016" PRIx64 " seconds=%.3f MB/s=%.1f\n",
	       p->sent, p->received, p->fnv_sent, p->fnv_received, secs,
	       secs > 0 ? busier / secs / 1e6 : 0.0);
	return 0;
}

static int wait_for(struct peer *p, enum vchan_state want, const char *doing)
{
	for (;;) {
		enum vchan_state st = vchan_state(p->v);

		if (check_state(p, st, doing))
			return -1;
		if (st == want || (want == VCHAN_CONNECTED && st == VCHAN_CLOSED))
			return 0;
		if (wait_event(p, doing))
			return -1;
	}
}

static int serve_one(struct peer *p)
{
	if (p->o->server && wait_for(p, VCHAN_CONNECTED, "waiting for the client to connect"))
		return -1;
	printf("connected\nrings read_order=%u write_order=%u\n", vchan_read_order(p->v),
	       vchan_write_order(p->v));
	peer_reset(p);
	if (transfer(p))
		return -1;
	if (p->o->wait_close) {
		if (wait_for(p, VCHAN_CLOSED, "waiting for the peer to close"))
			return -1;
		printf("peer-closed\n");
	}
	return 0;
}

/* --- command line ----------------------------------------------------------------- */

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: " PROG " server PEER_DOMID XS_PATH [--read-min BYTES] [--write-min BYTES] "
		"[options]\n"
		"       " PROG " client SERVER_DOMID XS_PATH [options]\n"
		"options: --bytes N  --seed S  --max-write N  --wait-close  --timeout SECS"
		"  --clients N  --spin USECS\n");
	exit(2);
}

static unsigned long num(const char *what, const char *s, unsigned long min, unsigned long max)
{
	unsigned long v;

	if (vchan_parse_uint(s, min, max, &v)) {
		err("bad %s '%s': expected an integer from %lu to %lu", what, s, min, max);
		exit(2);
	}
	return v;
}

/* --bytes and --seed take the full 64-bit range, beyond vchan_parse_uint's. */
static uint64_t num64(const char *what, const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno) {
		err("bad %s '%s': expected a non-negative integer", what, s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "read-min", required_argument, NULL, 'r' },
		{ "write-min", required_argument, NULL, 'w' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 's' },
		{ "max-write", required_argument, NULL, 'm' },
		{ "wait-close", no_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "clients", required_argument, NULL, 'n' },
		{ "spin", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	bool server_opts = false;
	int c;

	*o = (struct opts){ .read_min = 1024, .write_min = 2048, .seed = 1, .timeout = 60,
			    .clients = 1 };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->read_min = num("--read-min", optarg, 1, 1u << VCHAN_MAX_ORDER);
			server_opts = true;
			break;
		case 'w':
			o->write_min = num("--write-min", optarg, 1, 1u << VCHAN_MAX_ORDER);
			server_opts = true;
			break;
		case 'b':
			o->bytes = num64("--bytes", optarg);
			break;
		case 's':
			o->seed = num64("--seed", optarg);
			break;
		case 'm':
			o->max_write = num("--max-write", optarg, 1, 1u << 24);
			break;
		case 'c':
			o->wait_close = true;
			break;
		case 't':
			o->timeout = num("--timeout", optarg, 1, 86400);
			break;
		case 'p':
			o->spin_us = num("--spin", optarg, 0, 1000000);
			break;
		case 'n':
			o->clients = num("--clients", optarg, 1, 1000000);
			server_opts = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3)
		usage();
	if (!strcmp(argv[optind], "server")) {
		o->server = true;
	} else if (strcmp(argv[optind], "client")) {
		err("unknown mode '%s': expected server or client", argv[optind]);
		usage();
	}
	if (server_opts && !o->server) {
		err("--read-min, --write-min and --clients are for the server");
		exit(2);
	}
	o->domid = (unsigned int)num(o->server ? "PEER_DOMID" : "SERVER_DOMID", argv[optind + 1],
				     0, VCHAN_DOMID_LIMIT - 1);
	o->path = argv[optind + 2];
}

int main(int argc, char **argv)
{
	struct vchan_error e = { .msg = "" };
	struct peer p = { 0 };
	unsigned int ro, wo;
	struct opts o;
	int ret = 0;

	parse_args(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	p.o = &o;
	p.deadline = now_ns() + (int64_t)o.timeout * NSEC_PER_SEC;
	p.expect = malloc((size_t)1 << VCHAN_MAX_ORDER);
	if (!p.expect) {
		err("out of memory");
		return 1;
	}
	if (o.server) {
		/* libxenvchan's server_init: the server reads left, sized by read_min. */
		vchan_orders_for_sizes(o.read_min, o.write_min, &ro, &wo);
		p.v = vchan_server_open(o.domid, o.path, ro, wo, &e);
	} else {
		p.v = vchan_client_open(o.domid, o.path, (int)o.timeout * 1000, &e);
	}
	if (!p.v) {
		err("%s: %s", o.server ? "cannot offer the channel" : "cannot connect", e.msg);
		free(p.expect);
		return 1;
	}
	p.r = vchan_ring(p.v);
	for (unsigned long i = 0; i < o.clients && !ret; i++) {
		if (i) {
			if (vchan_server_reoffer(p.v, &e)) {
				err("cannot re-offer the channel: %s", e.msg);
				ret = -1;
				break;
			}
			printf("reoffered\n");
		}
		ret = serve_one(&p);
	}
	vchan_close(p.v);
	free(p.expect);
	return ret ? 1 : 0;
}
