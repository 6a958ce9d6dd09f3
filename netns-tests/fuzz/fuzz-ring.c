// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for ring.c: our end of a channel against a peer the input
 * controls. The input picks the layout and starting indexes, then a sequence
 * of operations: ours (read, consume, write, commit, arm, flush, live) and the
 * peer's, which are either honest (produce/consume with its own indexes) or
 * hostile (arbitrary values into indexes, orders, live and notify bytes, or
 * anywhere in the control page).
 *
 * Checked: no out-of-bounds access (ASan; rings of order >= 12 are separate
 * heap blocks of exactly their size), no UB (UBSan), spans always inside the
 * ring and never more than its size, private indexes always consistent, a
 * broken ring stays broken and returns nothing; and while the peer has been
 * honest, every byte arrives intact in both directions and nothing breaks.
 *
 *   make fuzz-smoke                 a bounded run
 *   build/fuzz/fuzz-ring CORPUS     an open-ended one
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vchan/ring.h"
#include "fuzz-input.h"

/* The peer as an honest implementation would be, plus what we expect of it. */
struct peer {
	struct vchan_shared *shr;
	uint8_t *rd_buf, *wr_buf;	/* ours: what the peer writes into / reads from */
	uint32_t rd_size, wr_size;
	uint32_t prod;			/* the peer's prod on the ring we read */
	uint32_t cons;			/* the peer's cons on the ring we write */
	uint8_t tx_next;		/* next byte the peer sends */
	uint8_t rx_next;		/* next byte the peer expects from us */
	uint8_t our_tx_next;		/* next byte we send */
	uint8_t our_rx_next;		/* next byte we expect */
	int honest;
};

static void fail(const char *what)
{
	fprintf(stderr, "fuzz-ring: invariant broken: %s\n", what);
	abort();
}

static void check_spans(const struct iovec iov[2], size_t total, const uint8_t *buf,
			uint32_t size)
{
	const uint8_t *a = iov[0].iov_base, *b = iov[1].iov_base;

	if (iov[0].iov_len + iov[1].iov_len != total || total > size)
		fail("span lengths");
	if (iov[0].iov_len && (a < buf || a + iov[0].iov_len > buf + size))
		fail("first span outside the ring");
	if (iov[1].iov_len && b != buf)
		fail("second span does not start the ring");
	if (iov[1].iov_len && a + iov[0].iov_len != buf + size)
		fail("first span of a wrapped pair does not end the ring");
}

static void check_ring(const struct vchan_ring *r)
{
	if (vchan_ring_error(r))
		return;
	if (r->rd_prod - r->rd_cons > r->rd_size)
		fail("read indexes");
	if (r->wr_prod - r->wr_cons > r->wr_size)
		fail("write indexes");
}

/* --- our end ------------------------------------------------------------------ */

static void our_read(struct vchan_ring *r, struct peer *pe, struct input *in)
{
	struct iovec iov[2];
	size_t n = vchan_ring_readable(r, iov), take;
	volatile uint8_t sink = 0;

	check_spans(iov, n, r->rd_buf, r->rd_size);
	if (vchan_ring_error(r) && n)
		fail("broken ring gave data");
	for (int s = 0; s < 2; s++) {
		const uint8_t *p = iov[s].iov_base;

		for (size_t i = 0; i < iov[s].iov_len; i++)
			sink ^= p[i];
	}
	take = n ? in_u16(in) % (n + 1) : 0;
	for (size_t done = 0, s = 0; s < 2 && done < take && pe->honest; s++) {
		const uint8_t *p = iov[s].iov_base;

		for (size_t i = 0; i < iov[s].iov_len && done < take; i++, done++)
			if (p[i] != pe->our_rx_next++)
				fail("data from an honest peer corrupted");
	}
	vchan_ring_consume(r, take);
	(void)sink;
}

static void our_write(struct vchan_ring *r, struct peer *pe, struct input *in)
{
	struct iovec iov[2];
	size_t n = vchan_ring_writable(r, iov), put;

	check_spans(iov, n, r->wr_buf, r->wr_size);
	if (vchan_ring_error(r) && n)
		fail("broken ring gave space");
	put = n ? in_u16(in) % (n + 1) : 0;
	for (size_t done = 0, s = 0; s < 2 && done < put; s++) {
		uint8_t *p = iov[s].iov_base;

		for (size_t i = 0; i < iov[s].iov_len && done < put; i++, done++)
			p[i] = pe->our_tx_next++;
	}
	vchan_ring_commit(r, put);
}

/* --- the peer ------------------------------------------------------------------- */

static uint32_t *peer_prod_slot(struct peer *pe, enum vchan_ring_role our_role)
{
	return our_role == VCHAN_SERVER ? &pe->shr->left.prod : &pe->shr->right.prod;
}

static uint32_t *peer_cons_slot(struct peer *pe, enum vchan_ring_role our_role)
{
	return our_role == VCHAN_SERVER ? &pe->shr->right.cons : &pe->shr->left.cons;
}

static uint32_t *our_cons_slot(struct peer *pe, enum vchan_ring_role our_role)
{
	return our_role == VCHAN_SERVER ? &pe->shr->left.cons : &pe->shr->right.cons;
}

static uint32_t *our_prod_slot(struct peer *pe, enum vchan_ring_role our_role)
{
	return our_role == VCHAN_SERVER ? &pe->shr->right.prod : &pe->shr->left.prod;
}

static void peer_produce(struct peer *pe, enum vchan_ring_role role, struct input *in)
{
	uint32_t used = pe->prod - *our_cons_slot(pe, role);
	uint32_t space = used > pe->rd_size ? 0 : pe->rd_size - used;
	uint32_t n = space ? in_u16(in) % (space + 1) : 0;

	for (uint32_t i = 0; i < n; i++)
		pe->rd_buf[(pe->prod + i) & (pe->rd_size - 1)] = pe->tx_next++;
	pe->prod += n;
	*peer_prod_slot(pe, role) = pe->prod;
}

static void peer_consume(struct peer *pe, enum vchan_ring_role role, struct input *in)
{
	uint32_t ready = *our_prod_slot(pe, role) - pe->cons;
	uint32_t n;

	if (ready > pe->wr_size)
		ready = 0;
	n = ready ? in_u16(in) % (ready + 1) : 0;
	for (uint32_t i = 0; i < n; i++)
		if (pe->honest && pe->wr_buf[(pe->cons + i) & (pe->wr_size - 1)] != pe->rx_next++)
			fail("data to the peer corrupted");
	pe->cons += n;
	*peer_cons_slot(pe, role) = pe->cons;
}

static void peer_hostile_index(struct peer *pe, struct input *in)
{
	uint32_t *slots[4] = { &pe->shr->left.cons, &pe->shr->left.prod, &pe->shr->right.cons,
			       &pe->shr->right.prod };
	uint8_t how = in_u8(in);
	uint32_t *slot = slots[how & 3];

	/* Half the time a near miss: a small step from the current value. */
	if (how & 4)
		*slot += (uint32_t)(int32_t)(int16_t)in_u16(in);
	else
		*slot = in_u32(in);
	pe->honest = 0;
}

static void peer_hostile_byte(struct peer *pe, struct input *in)
{
	uint8_t *page = (uint8_t *)pe->shr;
	uint8_t off = 16 + in_u8(in) % 8;

	page[off] = in_u8(in);
	pe->honest = 0;
}

static void peer_scribble(struct peer *pe, struct input *in)
{
	uint32_t *words = (uint32_t *)pe->shr;

	words[in_u16(in) % (VCHAN_PAGE_SIZE / 4)] = in_u32(in);
	pe->honest = 0;
}

/* What a client would make of the page as it is now. */
static void client_parse(struct peer *pe)
{
	uint32_t grants[VCHAN_MAX_GRANTS];
	struct vchan_layout lay;
	char why[160];

	if (vchan_shared_read_layout(pe->shr, &lay, grants, why, sizeof(why)))
		return;
	if (lay.left_order < VCHAN_MIN_ORDER || lay.left_order > VCHAN_MAX_ORDER ||
	    lay.right_order < VCHAN_MIN_ORDER || lay.right_order > VCHAN_MAX_ORDER)
		fail("accepted an order out of range");
	if (lay.left_order == lay.right_order && lay.left_order < VCHAN_PAGE_SHIFT)
		fail("accepted two in-page rings at one place");
	if (VCHAN_GRANTS_OFFSET + 4 * (lay.left_pages + lay.right_pages) > VCHAN_PAGE_SIZE)
		fail("accepted a grant list past the page");
}

/* --- one run -------------------------------------------------------------------- */

static const uint8_t pairs[][2] = {
	{ 10, 11 }, { 11, 10 }, { 12, 12 }, { 12, 13 }, { 11, 12 }, { 13, 11 }, { 10, 12 }, { 14, 12 },
};

static void *ring_alloc(struct vchan_shared *shr, unsigned int order)
{
	void *p = vchan_inpage_ring(shr, order);

	return p ? p : calloc(1, (size_t)1 << order);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint32_t grants[VCHAN_MAX_GRANTS] = { 0 };
	struct vchan_layout lay;
	struct vchan_ring r;
	struct peer pe = { .honest = 1 };
	enum vchan_ring_role role;
	void *left, *right;
	uint8_t pick = in_u8(&in);
	char why[160];
	int init_failed;

	/* Layouts from raw numbers: whatever is accepted must be sane. */
	if (!vchan_layout_make(&lay, in_u16(&in), in_u16(&in), why, sizeof(why)) &&
	    VCHAN_GRANTS_OFFSET + 4 * (lay.left_pages + lay.right_pages) > VCHAN_PAGE_SIZE)
		fail("layout past the page");

	role = pick & 1 ? VCHAN_CLIENT : VCHAN_SERVER;
	if (vchan_layout_make(&lay, pairs[(pick >> 1) % 8][0], pairs[(pick >> 1) % 8][1], why,
			      sizeof(why)))
		fail("a valid pair rejected");
	pe.shr = aligned_alloc(VCHAN_PAGE_SIZE, VCHAN_PAGE_SIZE);
	memset(pe.shr, 0, VCHAN_PAGE_SIZE);
	vchan_shared_init(pe.shr, &lay, grants);
	pe.shr->left.cons = pe.shr->left.prod = in_u32(&in);
	pe.shr->right.cons = pe.shr->right.prod = in_u32(&in);
	left = ring_alloc(pe.shr, lay.left_order);
	right = ring_alloc(pe.shr, lay.right_order);

	init_failed = vchan_ring_init(&r, pe.shr, role, &lay, left, right);
	if (init_failed)
		fail("init on a consistent page failed");
	pe.rd_buf = (uint8_t *)r.rd_buf;
	pe.wr_buf = r.wr_buf;
	pe.rd_size = r.rd_size;
	pe.wr_size = r.wr_size;
	pe.prod = *peer_prod_slot(&pe, role);
	pe.cons = *peer_cons_slot(&pe, role);
	if (role == VCHAN_CLIENT)
		vchan_ring_set_live(&r, VCHAN_LIVE_CONNECTED);

	while (in.n) {
		struct iovec iov[2];
		int was_broken = vchan_ring_error(&r) != NULL;
		size_t n;

		switch (in_u8(&in) % 14) {
		case 0:
		case 1:
			our_read(&r, &pe, &in);
			break;
		case 2:
		case 3:
			our_write(&r, &pe, &in);
			break;
		case 4:
			if (in_u8(&in) & 1)
				n = vchan_ring_arm_read(&r, iov);
			else
				n = vchan_ring_readable_cached(&r, iov);
			check_spans(iov, n, r.rd_buf, r.rd_size);
			break;
		case 5:
			if (in_u8(&in) & 1)
				n = vchan_ring_arm_write(&r, iov);
			else
				n = vchan_ring_writable_cached(&r, iov);
			check_spans(iov, n, r.wr_buf, r.wr_size);
			break;
		case 6:
			if (in_u8(&in) & 1) {
				if (vchan_ring_flush_due(&r) && was_broken)
					fail("broken ring says a flush is due");
			} else if (vchan_ring_flush(&r) && was_broken) {
				fail("broken ring owes an event");
			}
			break;
		case 7:
			n = in_u8(&in);
			if (n & 1) {
				if (vchan_ring_peer_live(&r) > 2)
					fail("live byte out of range");
			} else if (vchan_ring_spin(&r, n & 2, n & 4, 0) && was_broken) {
				fail("broken ring found something spinning");
			}
			break;
		case 8:
			peer_produce(&pe, role, &in);
			break;
		case 9:
			peer_consume(&pe, role, &in);
			break;
		case 10:
			peer_hostile_index(&pe, &in);
			break;
		case 11:
			peer_hostile_byte(&pe, &in);
			break;
		case 12:
			if (in_u8(&in) & 1)
				peer_scribble(&pe, &in);
			else
				client_parse(&pe);
			break;
		case 13:
			/* An honest peer asking for events. */
			__atomic_fetch_or(role == VCHAN_SERVER ? &pe.shr->srv_notify
							       : &pe.shr->cli_notify,
					  in_u8(&in) & 3, __ATOMIC_SEQ_CST);
			break;
		}
		check_ring(&r);
		if (was_broken && !vchan_ring_error(&r))
			fail("broken ring healed");
		if (pe.honest && vchan_ring_error(&r))
			fail(vchan_ring_error(&r));
	}

	if (!vchan_inpage_ring(pe.shr, lay.left_order))
		free(left);
	if (!vchan_inpage_ring(pe.shr, lay.right_order))
		free(right);
	free(pe.shr);
	return 0;
}
