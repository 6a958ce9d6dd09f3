// SPDX-License-Identifier: GPL-2.0-only
/*
 * ring-bench: one-way message throughput through our ring (src/vchan) or
 * through Xen's libxenvchan, with the same harness around both.
 *
 *   ring-bench ours|xen send PEER_DOMID XS_PATH --size M --bytes N [--order K]
 *   ring-bench ours|xen recv SERVER_DOMID XS_PATH --size M --bytes N [--zero-copy]
 *   both: [--spin USECS] watch the ring this long before sleeping (default 20,
 *         0: never), for either ring alike; [--flush-bytes B] (ours) flush every
 *         B bytes instead of as soon as the peer waits; [--batch B] (ours)
 *         messages per commit and consume, up to B bytes (default 16384)
 *
 * The sender is the server (it offers rings of 2^K bytes both ways, default
 * 17) and sends N bytes as messages of M bytes, each copied from a buffer and
 * stamped with its sequence number; the receiver copies each one out and
 * checks the number. With --zero-copy (ours only) the receiver checks the
 * number in place and copies nothing, as a packet forwarder would.
 *
 * Output (receiver): "ok impl=I size=M bytes=N seconds=S GB/s=G events=E"
 * where GB/s is 10^9 bytes per second and events the event-channel wake-ups.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxenvchan.h>

#include "../../src/vchan/vchan.h"

#define PROG		"ring-bench"
#define TIMEOUT_MS	120000

struct opts {
	bool ours, send, zero_copy;
	unsigned int domid, order;
	const char *path;
	size_t size;
	uint64_t bytes;
	size_t flush_bytes;	/* 0: flush when the peer waits */
	unsigned int spin_ns;
	size_t batch;		/* ours: bytes of messages per commit or consume */
};

struct bench {
	const struct opts *o;
	struct vchan *v;
	struct vchan_ring *r;
	struct libxenvchan *x;
	int fd;
	uint8_t *buf;
	uint64_t seq, done, events;
	size_t unflushed;
};

static void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- waiting -------------------------------------------------------------------- */

static void wait_event(struct bench *b)
{
	struct pollfd pfd = { .fd = b->fd, .events = POLLIN };
	int n = poll(&pfd, 1, TIMEOUT_MS);

	if (n == 0)
		die("no event for %d s", TIMEOUT_MS / 1000);
	if (n < 0) {
		if (errno == EINTR)
			return;
		die("poll: %m");
	}
	b->events++;
	if (b->o->ours) {
		if (vchan_handle_events(b->v))
			die("%s", vchan_error(b->v));
	} else if (libxenvchan_wait(b->x)) {
		die("libxenvchan_wait: %m");
	}
}

static void check_ours(struct bench *b)
{
	enum vchan_state st = vchan_state(b->v);

	if (st == VCHAN_BROKEN)
		die("broken: %s", vchan_error(b->v));
	if (st == VCHAN_CLOSED && b->done < b->o->bytes)
		die("peer closed after %" PRIu64 " bytes", b->done);
}

static void flush_some(struct bench *b, size_t n)
{
	if (b->o->flush_bytes) {
		b->unflushed += n;
		if (b->unflushed < b->o->flush_bytes)
			return;
		b->unflushed = 0;
		vchan_flush(b->v);
		return;
	}
	vchan_flush_if_waiting(b->v);
}

/* Watches the ring for a while before sleeping: true if the peer moved. */
static bool spin_xen(struct bench *b, bool reading)
{
	double until = now_s() + b->o->spin_ns / 1e9;
	int want = (int)b->o->size;

	do {
		if (reading ? libxenvchan_data_ready(b->x) >= want :
			      libxenvchan_buffer_space(b->x) >= want)
			return true;
		__builtin_ia32_pause();
	} while (now_s() < until);
	return false;
}

/* --- copying through spans ------------------------------------------------------- */

/* Copies n bytes to offset off of the spans (which hold at least off + n). */
static void to_spans(const struct iovec iov[2], size_t off, const uint8_t *src, size_t n)
{
	size_t first = off < iov[0].iov_len ? iov[0].iov_len - off : 0;

	if (first > n)
		first = n;
	if (first)
		memcpy((uint8_t *)iov[0].iov_base + off, src, first);
	if (n > first)
		memcpy((uint8_t *)iov[1].iov_base + (off + first - iov[0].iov_len), src + first,
		       n - first);
}

static void from_spans(const struct iovec iov[2], size_t off, uint8_t *dst, size_t n)
{
	size_t first = off < iov[0].iov_len ? iov[0].iov_len - off : 0;

	if (first > n)
		first = n;
	if (first)
		memcpy(dst, (const uint8_t *)iov[0].iov_base + off, first);
	if (n > first)
		memcpy(dst + first, (const uint8_t *)iov[1].iov_base + (off + first - iov[0].iov_len),
		       n - first);
}

static void check_seq(struct bench *b, const uint8_t *msg)
{
	uint64_t got;

	memcpy(&got, msg, sizeof(got));
	if (got != b->seq)
		die("message %" PRIu64 " carries sequence number %" PRIu64, b->seq, got);
	b->seq++;
}

/* --- ours ------------------------------------------------------------------------- */

/* Space for one more message: from what we know, else from the peer's index. */
/* Free space: what we know of, or, when that is short of a message, the peer's index. */
static size_t room(struct bench *b, struct iovec iov[2])
{
	size_t n = vchan_ring_writable_cached(b->r, iov);

	return n >= b->o->size ? n : vchan_ring_writable(b->r, iov);
}

static size_t have(struct bench *b, struct iovec iov[2])
{
	size_t n = vchan_ring_readable_cached(b->r, iov);

	return n >= b->o->size ? n : vchan_ring_readable(b->r, iov);
}

static size_t batch_limit(const struct bench *b)
{
	return b->o->batch > b->o->size ? b->o->batch : b->o->size;
}

/* Messages go into the spans back to back; one commit publishes the batch. */
static void send_ours(struct bench *b)
{
	size_t m = b->o->size, limit = batch_limit(b);

	while (b->done < b->o->bytes) {
		struct iovec iov[2];
		size_t n = room(b, iov), put = 0;

		check_ours(b);
		while (n - put >= m && put + m <= limit && b->done < b->o->bytes) {
			memcpy(b->buf, &b->seq, sizeof(b->seq));
			b->seq++;
			to_spans(iov, put, b->buf, m);
			put += m;
			b->done += m;
		}
		if (put) {
			vchan_ring_commit(b->r, put);
			flush_some(b, put);
			continue;
		}
		vchan_flush(b->v);
		if (!vchan_ring_spin(b->r, false, true, b->o->spin_ns) &&
		    vchan_ring_arm_write(b->r, iov) < m)
			wait_event(b);
	}
	vchan_flush(b->v);
}

static void recv_ours(struct bench *b)
{
	size_t m = b->o->size, limit = batch_limit(b);

	while (b->done < b->o->bytes) {
		struct iovec iov[2];
		size_t n = have(b, iov), got = 0;

		check_ours(b);
		while (n - got >= m && got + m <= limit) {
			/* Zero-copy: only the sequence number leaves the ring. */
			from_spans(iov, got, b->buf, b->o->zero_copy ? sizeof(b->seq) : m);
			check_seq(b, b->buf);
			got += m;
			b->done += m;
		}
		if (got) {
			vchan_ring_consume(b->r, got);
			flush_some(b, got);
			continue;
		}
		vchan_flush(b->v);
		if (b->done < b->o->bytes && !vchan_ring_spin(b->r, true, false, b->o->spin_ns) &&
		    vchan_ring_arm_read(b->r, iov) < m)
			wait_event(b);
	}
	vchan_flush(b->v);
}

/* --- libxenvchan ------------------------------------------------------------------- */

static void send_xen(struct bench *b)
{
	size_t m = b->o->size;

	while (b->done < b->o->bytes) {
		int n;

		memcpy(b->buf, &b->seq, sizeof(b->seq));
		n = libxenvchan_send(b->x, b->buf, m);
		if (n < 0)
			die("libxenvchan_send: peer closed after %" PRIu64 " bytes", b->done);
		if (n == 0) {
			if (!spin_xen(b, false))
				wait_event(b);
			continue;
		}
		b->seq++;
		b->done += m;
	}
}

static void recv_xen(struct bench *b)
{
	size_t m = b->o->size;

	while (b->done < b->o->bytes) {
		int n = libxenvchan_recv(b->x, b->buf, m);

		if (n < 0)
			die("libxenvchan_recv: peer closed after %" PRIu64 " bytes", b->done);
		if (n == 0) {
			if (!spin_xen(b, true))
				wait_event(b);
			continue;
		}
		check_seq(b, b->buf);
		b->done += m;
	}
}

/* --- setting up -------------------------------------------------------------------- */

static void open_ours(struct bench *b)
{
	struct vchan_error e = { .msg = "" };

	if (b->o->send)
		b->v = vchan_server_open(b->o->domid, b->o->path, b->o->order, b->o->order, &e);
	else
		b->v = vchan_client_open(b->o->domid, b->o->path, TIMEOUT_MS, &e);
	if (!b->v)
		die("%s", e.msg);
	b->r = vchan_ring(b->v);
	b->fd = vchan_fd(b->v);
	if (b->o->send)
		while (vchan_state(b->v) == VCHAN_WAITING)
			wait_event(b);
}

static void open_xen(struct bench *b)
{
	size_t ring = (size_t)1 << b->o->order;
	double until = now_s() + TIMEOUT_MS / 1000.0;

	if (b->o->send) {
		b->x = libxenvchan_server_init(NULL, (int)b->o->domid, b->o->path, ring, ring);
	} else {
		struct timespec pause = { 0, 10000000 };

		while (!(b->x = libxenvchan_client_init(NULL, (int)b->o->domid, b->o->path)) &&
		       now_s() < until)
			nanosleep(&pause, NULL);
	}
	if (!b->x)
		die("libxenvchan_%s_init: %m", b->o->send ? "server" : "client");
	b->x->blocking = 0;
	b->fd = libxenvchan_fd_for_select(b->x);
	if (b->o->send)
		while (libxenvchan_is_open(b->x) == 2)
			wait_event(b);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "order", required_argument, NULL, 'o' },
		{ "zero-copy", no_argument, NULL, 'z' },
		{ "flush-bytes", required_argument, NULL, 'f' },
		{ "spin", required_argument, NULL, 'p' },
		{ "batch", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	*o = (struct opts){ .order = 17, .size = 1500, .bytes = 1000000000, .spin_ns = 20000,
			    .batch = 16384 };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (vchan_parse_uint(optarg, 8, 65536, &v))
				die("bad --size '%s': expected 8..65536", optarg);
			o->size = v;
			break;
		case 'b':
			o->bytes = strtoull(optarg, NULL, 10);
			break;
		case 'o':
			if (vchan_parse_uint(optarg, 12, 20, &v))
				die("bad --order '%s': expected 12..20", optarg);
			o->order = (unsigned int)v;
			break;
		case 'z':
			o->zero_copy = true;
			break;
		case 'B':
			if (vchan_parse_uint(optarg, 1, 1u << 20, &v))
				die("bad --batch '%s': expected 1..1048576", optarg);
			o->batch = v;
			break;
		case 'p':
			if (vchan_parse_uint(optarg, 0, 1000000, &v))
				die("bad --spin '%s': expected 0..1000000 microseconds", optarg);
			o->spin_ns = (unsigned int)v * 1000;
			break;
		case 'f':
			if (vchan_parse_uint(optarg, 1, 1u << 20, &v))
				die("bad --flush-bytes '%s': expected 1..1048576", optarg);
			o->flush_bytes = v;
			break;
		default:
			exit(2);
		}
	}
	if (argc - optind != 4 || vchan_parse_uint(argv[optind + 2], 0, 32751, &v)) {
		fprintf(stderr, "usage: " PROG " ours|xen send|recv DOMID XS_PATH --size M "
				"--bytes N [--order K] [--zero-copy]\n");
		exit(2);
	}
	o->ours = !strcmp(argv[optind], "ours");
	o->send = !strcmp(argv[optind + 1], "send");
	o->domid = (unsigned int)v;
	o->path = argv[optind + 3];
	o->bytes -= o->bytes % o->size;
	if (o->size > (size_t)1 << o->order)
		die("--size %zu does not fit a ring of order %u", o->size, o->order);
	if (o->zero_copy && !o->ours)
		die("--zero-copy is for ours only: libxenvchan always copies");
}

int main(int argc, char **argv)
{
	struct opts o;
	struct bench b = { .o = &o };
	double t0, secs;

	parse_args(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	b.buf = calloc(1, o.size);
	if (!b.buf)
		die("out of memory");
	if (o.ours)
		open_ours(&b);
	else
		open_xen(&b);
	t0 = now_s();
	if (o.send)
		o.ours ? send_ours(&b) : send_xen(&b);
	else
		o.ours ? recv_ours(&b) : recv_xen(&b);
	secs = now_s() - t0;
	if (!o.send)
		printf("ok impl=%s size=%zu bytes=%" PRIu64 " seconds=%.3f GB/s=%.3f events=%" PRIu64
		       "\n",
		       o.ours ? (o.zero_copy ? "ours-zero-copy" : "ours") : "libxenvchan", o.size,
		       b.done, secs, (double)b.done / secs / 1e9, b.events);
	/* The sender waits for the receiver to finish before it takes the rings away. */
	if (o.send && o.ours)
		while (vchan_state(b.v) != VCHAN_CLOSED && vchan_state(b.v) != VCHAN_BROKEN)
			wait_event(&b);
	if (o.send && !o.ours)
		while (libxenvchan_is_open(b.x))
			wait_event(&b);
	o.ours ? vchan_close(b.v) : libxenvchan_close(b.x);
	free(b.buf);
	return 0;
}
