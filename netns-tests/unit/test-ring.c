// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of ring.c, TAP output: both ends of one channel in one process,
 * over an in-memory control page, with the peer's misbehaviour played by
 * writing into the page directly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vchan/ring.h"
#include "unit.h"

static void diag(const char *what, const char *msg)
{
	printf("# %s: %s\n", what, msg ? msg : "(none)");
}

/* Both ends of a channel in one process. */
struct chan {
	struct vchan_shared *shr;
	uint8_t *left, *right;
	struct vchan_layout lay;
	struct vchan_ring srv, cli;
};

static void *xalloc(size_t n)
{
	void *p = aligned_alloc(VCHAN_PAGE_SIZE, n < VCHAN_PAGE_SIZE ? VCHAN_PAGE_SIZE : n);

	if (!p) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	memset(p, 0, n);
	return p;
}

static void *ring_buf(struct chan *c, unsigned int order)
{
	void *in = vchan_inpage_ring(c->shr, order);

	return in ? in : xalloc((size_t)1 << order);
}

/* Opens a channel whose indexes all start at start (to test the 2^32 wrap). */
static void chan_open(struct chan *c, unsigned int lo, unsigned int ro, uint32_t start)
{
	char why[160];
	uint32_t grants[VCHAN_MAX_GRANTS] = { 0 };

	memset(c, 0, sizeof(*c));
	c->shr = xalloc(VCHAN_PAGE_SIZE);
	if (vchan_layout_make(&c->lay, lo, ro, why, sizeof(why))) {
		printf("Bail out! %s\n", why);
		exit(1);
	}
	vchan_shared_init(c->shr, &c->lay, grants);
	c->shr->left.cons = c->shr->left.prod = start;
	c->shr->right.cons = c->shr->right.prod = start;
	c->left = ring_buf(c, lo);
	c->right = ring_buf(c, ro);
	vchan_ring_init(&c->srv, c->shr, VCHAN_SERVER, &c->lay, c->left, c->right);
	vchan_ring_init(&c->cli, c->shr, VCHAN_CLIENT, &c->lay, c->left, c->right);
}

static void chan_close(struct chan *c)
{
	if (!vchan_inpage_ring(c->shr, c->lay.left_order))
		free(c->left);
	if (!vchan_inpage_ring(c->shr, c->lay.right_order))
		free(c->right);
	free(c->shr);
}

/* Writes n bytes of value seed+i through the spans; returns how many fit. */
static size_t put(struct vchan_ring *r, size_t n, uint8_t seed)
{
	struct iovec iov[2];
	size_t room = vchan_ring_writable(r, iov), done = 0;

	if (n > room)
		n = room;
	for (int s = 0; s < 2 && done < n; s++) {
		uint8_t *p = iov[s].iov_base;

		for (size_t i = 0; i < iov[s].iov_len && done < n; i++)
			p[i] = (uint8_t)(seed + done++);
	}
	vchan_ring_commit(r, n);
	return n;
}

/* Reads and checks up to n bytes written by put(); returns how many matched. */
static size_t get(struct vchan_ring *r, size_t n, uint8_t seed)
{
	struct iovec iov[2];
	size_t have = vchan_ring_readable(r, iov), done = 0;

	if (n > have)
		n = have;
	for (int s = 0; s < 2 && done < n; s++) {
		const uint8_t *p = iov[s].iov_base;

		for (size_t i = 0; i < iov[s].iov_len && done < n; i++, done++)
			if (p[i] != (uint8_t)(seed + done))
				return done;
	}
	vchan_ring_consume(r, n);
	return n;
}

/* --- layout ------------------------------------------------------------------- */

static void test_layout(void)
{
	static const struct {
		unsigned int l, r;
		int valid;
	} cases[] = {
		{ 10, 11, 1 }, { 11, 10, 1 }, { 12, 12, 1 }, { 20, 20, 1 }, { 11, 20, 1 },
		{ 20, 11, 1 }, { 10, 19, 1 }, { 10, 12, 1 }, { 9, 12, 0 }, { 12, 21, 0 },
		{ 0, 0, 0 },   { 10, 10, 0 }, { 11, 11, 0 }, { 10, 20, 0 }, { 20, 10, 0 },
		{ 65535, 12, 0 },
	};
	struct vchan_layout lay;
	char why[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = !vchan_layout_make(&lay, cases[i].l, cases[i].r, why, sizeof(why));

		ok(got == cases[i].valid, "orders %u/%u are %s", cases[i].l, cases[i].r,
		   cases[i].valid ? "accepted" : "rejected");
		if (!got)
			diag("reason", why);
	}
	vchan_layout_make(&lay, 20, 20, why, sizeof(why));
	ok(lay.left_pages == 256 && lay.right_pages == 256, "order 20 takes 256 grants each way");
	vchan_layout_make(&lay, 10, 11, why, sizeof(why));
	ok(lay.left_pages == 0 && lay.right_pages == 0, "in-page rings take no grants");
}

static void test_orders_for_sizes(void)
{
	static const struct {
		size_t l, r;
		int ret;
		unsigned int lo, ro;
	} cases[] = {
		{ 1, 1, 0, 10, 11 },		{ 1024, 2048, 0, 10, 11 },
		{ 2048, 1024, 0, 11, 10 },	{ 2048, 2048, 0, 11, 12 },
		{ 4096, 4096, 0, 12, 12 },	{ 4097, 100, 0, 13, 11 },
		{ 1 << 20, 1 << 20, 0, 20, 20 }, { (1 << 20) + 1, 1, -1, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned int lo = 0, ro = 0;
		int ret = vchan_orders_for_sizes(cases[i].l, cases[i].r, &lo, &ro);

		ok(ret == cases[i].ret && (ret || (lo == cases[i].lo && ro == cases[i].ro)),
		   "minimum sizes %zu/%zu give orders %u/%u as libxenvchan's (got %d: %u/%u)",
		   cases[i].l, cases[i].r, cases[i].lo, cases[i].ro, ret, lo, ro);
	}
}

static void test_read_layout(void)
{
	struct vchan_shared *shr = xalloc(VCHAN_PAGE_SIZE);
	uint32_t grants[VCHAN_MAX_GRANTS], want[VCHAN_MAX_GRANTS];
	struct vchan_layout lay;
	char why[160];

	for (unsigned int i = 0; i < VCHAN_MAX_GRANTS; i++)
		want[i] = 1000 + i;
	vchan_layout_make(&lay, 12, 13, why, sizeof(why));
	vchan_shared_init(shr, &lay, want);
	ok(!vchan_shared_read_layout(shr, &lay, grants, why, sizeof(why)) &&
		   lay.left_order == 12 && lay.right_order == 13 && lay.left_pages == 1 &&
		   lay.right_pages == 2 && !memcmp(grants, want, 3 * sizeof(*grants)),
	   "a client reads orders 12/13 and the three grants the server wrote");
	ok(shr->cli_live == 2 && shr->srv_live == 1 && shr->cli_notify == VCHAN_NOTIFY_WRITE,
	   "a fresh page says: client not yet connected, server live, wake server on write");

	shr->left_order = 9;
	ok(vchan_shared_read_layout(shr, &lay, grants, why, sizeof(why)) &&
		   strstr(why, "left ring order 9"),
	   "a left order of 9 is rejected, naming the value");
	diag("reason", why);
	shr->left_order = 10;
	shr->right_order = 20;
	ok(vchan_shared_read_layout(shr, &lay, grants, why, sizeof(why)) != 0,
	   "orders 10/20 are rejected: 256 grants would run into the ring at 1024");
	diag("reason", why);
	free(shr);
}

/* --- data --------------------------------------------------------------------- */

static void test_inpage(void)
{
	struct chan c;

	chan_open(&c, 10, 11, 0);
	ok(c.left == (uint8_t *)c.shr + 1024 && c.right == (uint8_t *)c.shr + 2048,
	   "order 10 lives at offset 1024, order 11 at 2048");
	ok(vchan_ring_read_size(&c.srv) == 1024 && vchan_ring_write_size(&c.srv) == 2048 &&
		   vchan_ring_read_size(&c.cli) == 2048 && vchan_ring_write_size(&c.cli) == 1024,
	   "the server reads left (1024) and writes right (2048); the client the reverse");
	ok(put(&c.cli, 1000, 7) == 1000 && c.shr->left.prod == 1000,
	   "the client writes 1000 bytes into the left ring, left.prod is 1000");
	ok(get(&c.srv, 5000, 7) == 1000 && c.shr->left.cons == 1000,
	   "the server reads them back intact, left.cons is 1000");
	ok(put(&c.srv, 5000, 9) == 2048, "the server fills the right ring: 2048 bytes");
	ok(put(&c.srv, 1, 9) == 0, "and then no more fits");
	ok(get(&c.cli, 5000, 9) == 2048, "the client reads all 2048");
	ok(!vchan_ring_error(&c.srv) && !vchan_ring_error(&c.cli), "neither end is broken");
	chan_close(&c);
}

static void test_wrap(void)
{
	struct iovec iov[2];
	struct chan c;
	size_t n;

	chan_open(&c, 12, 12, 4096 - 100);
	n = vchan_ring_writable(&c.cli, iov);
	ok(n == 4096 && iov[0].iov_len == 100 && iov[1].iov_len == 3996 &&
		   iov[0].iov_base == c.left + 3996 && iov[1].iov_base == c.left,
	   "free space at the wrap is two spans: 100 bytes at the end, 3996 at the start");
	ok(put(&c.cli, 300, 1) == 300, "300 bytes written across the wrap");
	n = vchan_ring_readable(&c.srv, iov);
	ok(n == 300 && iov[0].iov_len == 100 && iov[1].iov_len == 200 &&
		   iov[0].iov_base == c.left + 3996 && iov[1].iov_base == c.left,
	   "they read back as two spans: 100 at the end, 200 at the start");
	ok(get(&c.srv, 300, 1) == 300, "with the right bytes in both");
	c.shr->right.cons = 0xdead; /* a cached look must not touch shared indexes */
	n = vchan_ring_writable_cached(&c.srv, iov);
	ok(n == 4096 && !vchan_ring_error(&c.srv), "a cached look at the write side sees it empty");
	c.shr->right.cons = 4096 - 100;
	put(&c.cli, 10, 0);
	ok(vchan_ring_readable_cached(&c.srv, iov) == 0 && vchan_ring_readable(&c.srv, iov) == 10,
	   "a cached look misses new data until the real look reads prod");
	ok(vchan_ring_readable_cached(&c.srv, iov) == 10, "after which the cache has it");
	get(&c.srv, 10, 0);
	n = vchan_ring_readable(&c.srv, iov);
	ok(n == 0 && iov[0].iov_len == 0 && iov[1].iov_len == 0, "the ring is empty again");
	n = vchan_ring_writable(&c.cli, iov);
	ok(n == 4096 && iov[0].iov_len == 3886 && iov[1].iov_len == 210,
	   "and all free: 3886 to the end, 210 before");
	chan_close(&c);
}

static void test_u32_overflow(void)
{
	struct chan c;
	int intact = 1;

	chan_open(&c, 12, 13, 0xffffffffu - 5000);
	/* 64 rounds of up to 3000 bytes cross 2^32 in both rings. */
	for (int i = 0; i < 64 && intact; i++) {
		size_t n = put(&c.cli, 3000, (uint8_t)i);

		intact &= get(&c.srv, n, (uint8_t)i) == n;
		n = put(&c.srv, 7000, (uint8_t)~i);
		intact &= get(&c.cli, n, (uint8_t)~i) == n;
	}
	ok(intact, "64 round trips carry intact data across the 2^32 index overflow");
	ok(c.shr->left.prod < 0x10000000u && c.shr->right.cons < 0x10000000u,
	   "both rings' indexes wrapped past 2^32 (left.prod %u, right.cons %u)",
	   c.shr->left.prod, c.shr->right.cons);
	ok(!vchan_ring_error(&c.srv) && !vchan_ring_error(&c.cli), "neither end is broken");
	chan_close(&c);
}

/* --- a hostile peer ----------------------------------------------------------- */

static void test_bad_prod(void)
{
	struct iovec iov[2];
	struct chan c;

	chan_open(&c, 12, 12, 0xfffffff0u);
	put(&c.cli, 100, 0);
	c.shr->left.prod += 4096; /* 4196 "ready" in a 4096-byte ring */
	ok(vchan_ring_readable(&c.srv, iov) == 0 && iov[0].iov_len == 0 && iov[1].iov_len == 0,
	   "prod - cons = 4196 > 4096: nothing readable");
	ok(vchan_ring_error(&c.srv) != NULL, "and the server's ring is broken");
	diag("reason", vchan_ring_error(&c.srv));
	c.shr->left.prod -= 4096;
	ok(vchan_ring_readable(&c.srv, iov) == 0, "broken stays broken when prod looks sane again");
	ok(vchan_ring_writable(&c.srv, iov) == 0 && !vchan_ring_flush(&c.srv) &&
		   vchan_ring_peer_live(&c.srv) == -1,
	   "and every other call returns nothing");
	chan_close(&c);

	chan_open(&c, 12, 12, 0);
	put(&c.cli, 100, 0);
	ok(vchan_ring_readable(&c.srv, iov) == 100, "100 bytes readable");
	c.shr->left.prod = 50;
	ok(vchan_ring_readable(&c.srv, iov) == 0 && vchan_ring_error(&c.srv),
	   "prod moving back from 100 to 50 breaks the ring");
	diag("reason", vchan_ring_error(&c.srv));
	chan_close(&c);

	chan_open(&c, 12, 12, 0);
	c.shr->left.prod = 0xffffffffu; /* "ready" negative as a signed number */
	ok(vchan_ring_readable(&c.srv, iov) == 0 && vchan_ring_error(&c.srv),
	   "prod one behind cons (ready = 2^32 - 1) breaks the ring");
	chan_close(&c);

	chan_open(&c, 12, 12, 0);
	c.shr->left.prod = 4096;
	ok(vchan_ring_readable(&c.srv, iov) == 4096 && !vchan_ring_error(&c.srv),
	   "prod - cons = exactly the ring size is a full ring, not an error");
	chan_close(&c);
}

static void test_bad_cons(void)
{
	struct iovec iov[2];
	struct chan c;

	chan_open(&c, 12, 12, 0);
	put(&c.srv, 1000, 0);
	c.shr->right.cons = 2000; /* past our prod */
	ok(vchan_ring_writable(&c.srv, iov) == 0 && vchan_ring_error(&c.srv),
	   "cons beyond our prod breaks the ring");
	diag("reason", vchan_ring_error(&c.srv));
	chan_close(&c);

	chan_open(&c, 12, 12, 0);
	put(&c.srv, 1000, 0);
	get(&c.cli, 600, 0);
	ok(vchan_ring_writable(&c.srv, iov) == 4096 - 400, "3696 bytes free after the peer read 600");
	c.shr->right.cons = 500;
	ok(vchan_ring_writable(&c.srv, iov) == 0 && vchan_ring_error(&c.srv),
	   "cons moving back from 600 to 500 breaks the ring");
	chan_close(&c);

	chan_open(&c, 12, 12, 0);
	put(&c.srv, 1000, 0);
	c.shr->right.prod = 0xdeadbeefu; /* the peer scribbles on our own index */
	ok(put(&c.srv, 100, 0) == 100 && c.shr->right.prod == 1100 && !vchan_ring_error(&c.srv),
	   "a peer overwriting our prod changes nothing: we use our private copy");
	chan_close(&c);
}

static void test_bad_caller(void)
{
	struct iovec iov[2];
	struct chan c;

	chan_open(&c, 12, 12, 0);
	put(&c.cli, 10, 0);
	vchan_ring_readable(&c.srv, iov);
	vchan_ring_consume(&c.srv, 11);
	ok(vchan_ring_error(&c.srv) != NULL, "consuming more than readable breaks the ring");
	diag("reason", vchan_ring_error(&c.srv));
	vchan_ring_writable(&c.cli, iov);
	vchan_ring_commit(&c.cli, 4097);
	ok(vchan_ring_error(&c.cli) != NULL, "committing more than writable breaks the ring");
	chan_close(&c);
}

static void test_live(void)
{
	struct chan c;

	chan_open(&c, 10, 11, 0);
	ok(vchan_ring_peer_live(&c.srv) == VCHAN_LIVE_WAITING, "server sees: client not yet here");
	vchan_ring_set_live(&c.cli, VCHAN_LIVE_CONNECTED);
	ok(vchan_ring_peer_live(&c.srv) == VCHAN_LIVE_CONNECTED, "then connected");
	ok(vchan_ring_peer_live(&c.cli) == VCHAN_LIVE_CONNECTED, "client sees the server live");
	c.shr->cli_live = 0;
	ok(vchan_ring_peer_live(&c.srv) == VCHAN_LIVE_GONE, "a cleared byte means gone");
	c.shr->srv_live = 3;
	ok(vchan_ring_peer_live(&c.cli) == -1 && vchan_ring_error(&c.cli),
	   "a live byte of 3 breaks the ring");
	diag("reason", vchan_ring_error(&c.cli));
	chan_close(&c);
}

/* --- notifications ------------------------------------------------------------ */

static void test_notify(void)
{
	struct iovec iov[2];
	struct chan c;

	chan_open(&c, 12, 12, 0);
	c.shr->cli_notify = 0; /* forget the server's initial request */
	put(&c.cli, 10, 0);
	ok(!vchan_ring_flush_due(&c.cli), "a write nobody asked about: no flush due");
	ok(!vchan_ring_flush(&c.cli), "and the flush owes no event");
	ok(vchan_ring_arm_read(&c.srv, iov) == 10 && (c.shr->cli_notify & VCHAN_NOTIFY_WRITE),
	   "arming the read side sets WRITE in cli_notify and still sees the 10 bytes");
	get(&c.srv, 10, 0);
	ok(vchan_ring_arm_read(&c.srv, iov) == 0, "once drained, arming finds nothing: sleep");
	ok(!vchan_ring_spin(&c.srv, true, false, 100000), "spinning 100 us on an empty ring finds nothing");
	ok(vchan_ring_spin(&c.srv, false, true, 100000), "while the write side has room at once");
	{
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		vchan_ring_spin(&c.srv, true, false, 500000000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ok(t1.tv_sec - t0.tv_sec < 1 && (t1.tv_sec - t0.tv_sec) * 1000000000L +
							 (t1.tv_nsec - t0.tv_nsec) < 100000000L,
		   "with nothing moved since the last spin, a 500 ms spin returns at once");
	}
	put(&c.cli, 10, 0);
	ok(vchan_ring_flush_due(&c.cli), "with the request there, a flush is due at once");
	put(&c.cli, 10, 10);
	ok(vchan_ring_flush(&c.cli), "two writes, one flush: an event is owed");
	ok(!vchan_ring_flush_due(&c.cli), "and then no flush is due");
	ok(!(c.shr->cli_notify & VCHAN_NOTIFY_WRITE), "and the request is cleared");
	ok(!vchan_ring_flush(&c.cli), "a second flush with nothing new owes nothing");
	put(&c.cli, 10, 20);
	ok(!vchan_ring_flush(&c.cli), "nor does a write after the request was served");

	get(&c.srv, 30, 0);
	c.shr->cli_notify = 0;
	ok(!vchan_ring_flush(&c.srv), "a read nobody waits for needs no event");
	put(&c.srv, 4096, 0);
	ok(vchan_ring_arm_write(&c.srv, iov) == 0 && (c.shr->cli_notify & VCHAN_NOTIFY_READ),
	   "a writer facing a full ring sets READ in cli_notify");
	get(&c.cli, 1, 0);
	c.shr->cli_notify |= VCHAN_NOTIFY_WRITE; /* the server waits for data too */
	ok(vchan_ring_flush(&c.cli) && c.shr->cli_notify == VCHAN_NOTIFY_WRITE,
	   "the client's read owes an event for READ and leaves the WRITE request to a write");
	ok(!vchan_ring_flush(&c.srv), "the server owes nothing: the client asked for nothing");
	put(&c.cli, 1, 0);
	c.shr->cli_notify = 0xfc;
	ok(!vchan_ring_flush(&c.cli), "garbage bits in our notify byte are ignored");
	chan_close(&c);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_layout();
	test_orders_for_sizes();
	test_read_layout();
	test_inpage();
	test_wrap();
	test_u32_overflow();
	test_bad_prod();
	test_bad_cons();
	test_bad_caller();
	test_live();
	test_notify();
	return done_testing();
}
