/*
 * vchan-peer: one end of a libxenvchan channel that checks every byte.
 *
 *   vchan-peer server PEER_DOMID XS_PATH [--read-min BYTES] [--write-min BYTES] [options]
 *   vchan-peer client SERVER_DOMID XS_PATH [options]
 *
 *   --bytes N       bytes to send, and to expect from the peer (default 0)
 *   --seed S        the server sends stream S, the client stream S+1 (default 1)
 *   --max-write N   largest chunk handed to one libxenvchan_write (default: ring size)
 *   --wait-close    after the transfer, wait until the peer closes, print "peer-closed"
 *   --timeout SECS  limit for the whole run (default 60)
 *
 * Both directions run at once on a non-blocking channel driven by poll(). The
 * bytes of each stream come from a seeded xorshift64, so each side regenerates
 * what its peer must send and compares every byte it receives. Chunk sizes of
 * reads and writes are random too.
 *
 * Output: "connected", "rings read_order=R write_order=W", and at the end
 *   ok sent=N received=N fnv64_sent=H fnv64_received=H seconds=F MB/s=F
 * where MB/s is 10^6 bytes per second in the busier direction.
 * Exit status: 0 success, 1 failure, 2 usage error.
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
#include <unistd.h>

#include <libxenvchan.h>

#include "stream.h"

#define PROG		"vchan-peer"
#define MAX_RING_SIZE	(1u << 20) /* largest ring whose grants fit the shared page */
#define MAX_WRITE_LIMIT (1u << 24)
#define CLIENT_RETRY_NS 20000000LL
#define NSEC_PER_SEC	1000000000LL

struct opts {
	bool server;
	int domid;
	const char *path;
	uint64_t read_min, write_min;
	uint64_t bytes, seed;
	uint64_t max_write; /* 0: the write ring's size */
	bool wait_close;
	uint64_t timeout;
};

struct peer {
	struct libxenvchan *ctrl;
	int fd;
	int64_t deadline;
	uint64_t timeout, bytes;

	struct stream tx;
	struct rng tx_sizes;
	uint8_t *tx_buf;
	size_t tx_off, tx_len, max_write;
	uint64_t sent, fnv_sent;

	struct stream rx;
	struct rng rx_sizes;
	uint8_t *rx_buf, *rx_expect;
	size_t max_read;
	uint64_t received, fnv_received;
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

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: " PROG
		" server PEER_DOMID XS_PATH [--read-min BYTES] [--write-min BYTES] [options]\n"
		"       " PROG " client SERVER_DOMID XS_PATH [options]\n"
		"options: --bytes N  --seed S  --max-write N  --wait-close  --timeout SECS\n");
	exit(2);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Parses a decimal integer in [min, max] or exits with status 2. */
static uint64_t parse_num(const char *what, const char *s, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < min || v > max) {
		err("bad %s '%s': expected an integer from %" PRIu64 " to %" PRIu64, what, s, min,
		    max);
		exit(2);
	}
	return v;
}

/* --- pseudo-random streams and checksums ----------------------------------- */

/* --- events ------------------------------------------------------------------ */

/*
 * Sleeps until the channel's event fd fires, then consumes the event with
 * libxenvchan_wait. Returns 0, or -1 on error or when the deadline passes.
 */
static int wait_event(struct peer *p, const char *doing)
{
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	int64_t ms = (p->deadline - now_ns()) / 1000000 + 1;
	int n;

	if (ms <= 0) {
		err("timed out after %" PRIu64 " s %s", p->timeout, doing);
		return -1;
	}
	n = poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0) {
		err("poll on event channel fd %d: %m", p->fd);
		return -1;
	}
	if (n == 0)
		return 0; /* the deadline check above reports it */
	if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
		err("event channel fd %d: revents 0x%x", p->fd, (unsigned int)pfd.revents);
		return -1;
	}
	if (libxenvchan_wait(p->ctrl) < 0) {
		err("libxenvchan_wait: %m");
		return -1;
	}
	return 0;
}

/* --- setting up ---------------------------------------------------------------- */

static struct libxenvchan *server_open(const struct opts *o)
{
	struct libxenvchan *ctrl;

	ctrl = libxenvchan_server_init(NULL, o->domid, o->path, o->read_min, o->write_min);
	if (!ctrl)
		err("libxenvchan_server_init(peer %d, %s, read_min %" PRIu64 ", write_min %" PRIu64
		    ") failed: %m",
		    o->domid, o->path, o->read_min, o->write_min);
	return ctrl;
}

/* The server may not have written its XenStore keys yet: retry until the deadline. */
static struct libxenvchan *client_open(const struct opts *o, int64_t deadline)
{
	struct timespec pause = {0, CLIENT_RETRY_NS};
	struct libxenvchan *ctrl;

	for (;;) {
		ctrl = libxenvchan_client_init(NULL, o->domid, o->path);
		if (ctrl || now_ns() >= deadline)
			break;
		nanosleep(&pause, NULL);
	}
	if (!ctrl)
		err("libxenvchan_client_init(server %d, %s) failed for %" PRIu64 " s: %m", o->domid,
		    o->path, o->timeout);
	return ctrl;
}

/* Server: libxenvchan_is_open reports 2 until a client has connected. */
static int server_wait_client(struct peer *p)
{
	while (libxenvchan_is_open(p->ctrl) == 2)
		if (wait_event(p, "waiting for the client to connect"))
			return -1;
	return 0;
}

static int peer_setup(struct peer *p, const struct opts *o)
{
	uint64_t own = o->server ? o->seed : o->seed + 1;
	uint64_t other = o->server ? o->seed + 1 : o->seed;

	p->fd = libxenvchan_fd_for_select(p->ctrl);
	p->ctrl->blocking = 0;
	p->bytes = o->bytes;
	p->max_read = (size_t)1 << p->ctrl->read.order;
	p->max_write = o->max_write ? o->max_write : (size_t)1 << p->ctrl->write.order;
	stream_init(&p->tx, own);
	stream_init(&p->rx, other);
	rng_seed(&p->tx_sizes, own ^ STREAM_GOLDEN);
	rng_seed(&p->rx_sizes, ~own ^ STREAM_GOLDEN);
	p->fnv_sent = FNV64_OFFSET;
	p->fnv_received = FNV64_OFFSET;
	p->tx_buf = malloc(p->max_write);
	p->rx_buf = malloc(p->max_read);
	p->rx_expect = malloc(p->max_read);
	if (!p->tx_buf || !p->rx_buf || !p->rx_expect) {
		err("cannot allocate buffers of %zu and %zu bytes", p->max_write, p->max_read);
		return -1;
	}
	return 0;
}

/* --- the transfer ------------------------------------------------------------ */

/* Returns 1 after progress, 0 when the ring is full, -1 on error. */
static int tx_step(struct peer *p)
{
	int n;

	if (p->sent == p->bytes)
		return 0;
	if (p->tx_off == p->tx_len) {
		p->tx_len = rng_chunk(&p->tx_sizes, p->max_write, p->bytes - p->sent);
		p->tx_off = 0;
		stream_fill(&p->tx, p->tx_buf, p->tx_len);
	}
	n = libxenvchan_write(p->ctrl, p->tx_buf + p->tx_off, p->tx_len - p->tx_off);
	if (n < 0) {
		err("peer closed the channel after %" PRIu64 " of %" PRIu64 " bytes sent", p->sent,
		    p->bytes);
		return -1;
	}
	p->fnv_sent = fnv64(p->fnv_sent, p->tx_buf + p->tx_off, n);
	p->tx_off += n;
	p->sent += n;
	return n > 0;
}

static void report_mismatch(const struct peer *p, size_t n)
{
	size_t i = 0;

	while (i < n && p->rx_buf[i] == p->rx_expect[i])
		i++;
	printf("MISMATCH at offset %" PRIu64 ": got 0x%02x expected 0x%02x\n", p->received + i,
	       p->rx_buf[i], p->rx_expect[i]);
}

/* Returns 1 after progress, 0 when the ring is empty, -1 on error. */
static int rx_step(struct peer *p)
{
	size_t want;
	int n;

	if (p->received == p->bytes)
		return 0;
	want = rng_chunk(&p->rx_sizes, p->max_read, p->bytes - p->received);
	n = libxenvchan_read(p->ctrl, p->rx_buf, want);
	if (n < 0) {
		err("peer closed the channel after %" PRIu64 " of %" PRIu64 " bytes received",
		    p->received, p->bytes);
		return -1;
	}
	if (n == 0)
		return 0;
	stream_fill(&p->rx, p->rx_expect, n);
	if (memcmp(p->rx_buf, p->rx_expect, n)) {
		report_mismatch(p, n);
		return -1;
	}
	p->fnv_received = fnv64(p->fnv_received, p->rx_buf, n);
	p->received += n;
	return 1;
}

/*
 * Sleeps only after both a write and a read found nothing to do: each of
 * them has then asked the peer for a notification, so no event is lost.
 */
static int transfer(struct peer *p)
{
	int64_t start = now_ns();
	double secs, busier;

	while (p->sent < p->bytes || p->received < p->bytes) {
		int tx = tx_step(p);
		int rx = rx_step(p);

		if (tx < 0 || rx < 0)
			return -1;
		if (!tx && !rx && wait_event(p, "during the transfer"))
			return -1;
	}
	secs = (double)(now_ns() - start) / NSEC_PER_SEC;
	busier = (double)(p->sent > p->received ? p->sent : p->received);
	printf("ok sent=%" PRIu64 " received=%" PRIu64 " fnv64_sent=%016" PRIx64
	       " fnv64_received=%016" PRIx64 " seconds=%.3f MB/s=%.1f\n",
	       p->sent, p->received, p->fnv_sent, p->fnv_received, secs,
	       secs > 0 ? busier / secs / 1e6 : 0.0);
	return 0;
}

static int wait_close(struct peer *p)
{
	while (libxenvchan_is_open(p->ctrl) != 0)
		if (wait_event(p, "waiting for the peer to close"))
			return -1;
	printf("peer-closed\n");
	return 0;
}

/* --- command line -------------------------------------------------------------- */

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"read-min", required_argument, NULL, 'r'},
	    {"write-min", required_argument, NULL, 'w'},
	    {"bytes", required_argument, NULL, 'b'},
	    {"seed", required_argument, NULL, 's'},
	    {"max-write", required_argument, NULL, 'm'},
	    {"wait-close", no_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	bool ring_opts = false;
	int c;

	*o = (struct opts){.read_min = 1024, .write_min = 2048, .seed = 1, .timeout = 60};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->read_min = parse_num("--read-min", optarg, 1, MAX_RING_SIZE);
			ring_opts = true;
			break;
		case 'w':
			o->write_min = parse_num("--write-min", optarg, 1, MAX_RING_SIZE);
			ring_opts = true;
			break;
		case 'b':
			o->bytes = parse_num("--bytes", optarg, 0, UINT64_MAX);
			break;
		case 's':
			o->seed = parse_num("--seed", optarg, 0, UINT64_MAX);
			break;
		case 'm':
			o->max_write = parse_num("--max-write", optarg, 1, MAX_WRITE_LIMIT);
			break;
		case 'c':
			o->wait_close = true;
			break;
		case 't':
			o->timeout = parse_num("--timeout", optarg, 1, 86400);
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
	if (ring_opts && !o->server) {
		err("--read-min and --write-min are for the server; the client takes its rings "
		    "from it");
		exit(2);
	}
	o->domid = parse_num(o->server ? "PEER_DOMID" : "SERVER_DOMID", argv[optind + 1], 0,
			     DOMID_FIRST_RESERVED - 1);
	o->path = argv[optind + 2];
	if (!*o->path)
		usage();
}

int main(int argc, char **argv)
{
	struct peer p = {0};
	struct opts o;
	int ret;

	parse_args(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	p.timeout = o.timeout;
	p.deadline = now_ns() + (int64_t)o.timeout * NSEC_PER_SEC;
	p.ctrl = o.server ? server_open(&o) : client_open(&o, p.deadline);
	if (!p.ctrl)
		return 1;
	ret = peer_setup(&p, &o);
	if (!ret && o.server)
		ret = server_wait_client(&p);
	if (!ret) {
		printf("connected\nrings read_order=%d write_order=%d\n", p.ctrl->read.order,
		       p.ctrl->write.order);
		ret = transfer(&p);
	}
	if (!ret && o.wait_close)
		ret = wait_close(&p);
	libxenvchan_close(p.ctrl);
	free(p.tx_buf);
	free(p.rx_buf);
	free(p.rx_expect);
	return ret ? 1 : 0;
}
