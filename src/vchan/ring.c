// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vchan ring logic: layout checks, index arithmetic, notification bits.
 * See ring.h for the trust model.
 *
 * Memory ordering, with C11 atomics rather than Xen's barrier macros:
 *  - a peer index is loaded with acquire, so our data accesses that depend on
 *    it (reading what it produced, overwriting what it consumed) come after;
 *  - our index is stored with release, so our data accesses come before;
 *  - "ask for an event" (fetch-or into the peer's byte, fence, look again)
 *    and "owe an event?" (store index, fence, look at our byte) are the two
 *    halves of a store-buffering pattern: with a full fence on each side, at
 *    least one of them sees the other, so a wake-up is never lost.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ring.h"

_Static_assert(offsetof(struct vchan_shared, left.cons) == 0, "layout");
_Static_assert(offsetof(struct vchan_shared, left.prod) == 4, "layout");
_Static_assert(offsetof(struct vchan_shared, right.cons) == 8, "layout");
_Static_assert(offsetof(struct vchan_shared, right.prod) == 12, "layout");
_Static_assert(offsetof(struct vchan_shared, left_order) == 16, "layout");
_Static_assert(offsetof(struct vchan_shared, right_order) == 18, "layout");
_Static_assert(offsetof(struct vchan_shared, cli_live) == 20, "layout");
_Static_assert(offsetof(struct vchan_shared, srv_live) == 21, "layout");
_Static_assert(offsetof(struct vchan_shared, cli_notify) == 22, "layout");
_Static_assert(offsetof(struct vchan_shared, srv_notify) == 23, "layout");
_Static_assert(offsetof(struct vchan_shared, grants) == VCHAN_GRANTS_OFFSET, "layout");

#define INPAGE_OFFSET_10	1024u
#define INPAGE_OFFSET_11	2048u

/* --- the only accesses to shared indexes ------------------------------------ */

static uint32_t load_index(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_index(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* --- layout ------------------------------------------------------------------- */

static unsigned int ring_pages(unsigned int order)
{
	return order < VCHAN_PAGE_SHIFT ? 0 : 1u << (order - VCHAN_PAGE_SHIFT);
}

static unsigned int inpage_offset(unsigned int order)
{
	if (order == 10)
		return INPAGE_OFFSET_10;
	if (order == 11)
		return INPAGE_OFFSET_11;
	return 0;
}

/* The first byte of the control page the grant list must not reach. */
static unsigned int grants_limit(unsigned int left_order, unsigned int right_order)
{
	unsigned int limit = VCHAN_PAGE_SIZE;
	unsigned int l = inpage_offset(left_order), r = inpage_offset(right_order);

	if (l && l < limit)
		limit = l;
	if (r && r < limit)
		limit = r;
	return limit;
}

static int order_ok(const char *which, unsigned int order, char *buf, size_t len)
{
	if (order >= VCHAN_MIN_ORDER && order <= VCHAN_MAX_ORDER)
		return 0;
	snprintf(buf, len, "%s ring order %u is outside %u..%u", which, order, VCHAN_MIN_ORDER,
		 VCHAN_MAX_ORDER);
	return -1;
}

int vchan_layout_make(struct vchan_layout *lay, unsigned int left_order,
		      unsigned int right_order, char *buf, size_t len)
{
	unsigned int end, limit;

	if (order_ok("left", left_order, buf, len) || order_ok("right", right_order, buf, len))
		return -1;
	if (left_order == right_order && left_order < VCHAN_PAGE_SHIFT) {
		snprintf(buf, len,
			 "both rings have order %u: two in-page rings must be one of order 10 "
			 "and one of order 11",
			 left_order);
		return -1;
	}
	lay->left_order = left_order;
	lay->right_order = right_order;
	lay->left_pages = ring_pages(left_order);
	lay->right_pages = ring_pages(right_order);
	end = VCHAN_GRANTS_OFFSET + 4 * (lay->left_pages + lay->right_pages);
	limit = grants_limit(left_order, right_order);
	if (end > limit) {
		snprintf(buf, len,
			 "orders %u/%u need %u grant references, which end at byte %u of the "
			 "control page, past %u",
			 left_order, right_order, lay->left_pages + lay->right_pages, end, limit);
		return -1;
	}
	return 0;
}

static unsigned int order_for_size(size_t size)
{
	unsigned int order = VCHAN_PAGE_SHIFT;

	while (size > (size_t)1 << order)
		order++;
	return order;
}

int vchan_orders_for_sizes(size_t left_min, size_t right_min, unsigned int *left_order,
			   unsigned int *right_order)
{
	const size_t small = 1u << 10, large = 1u << 11;

	if (left_min > 1u << VCHAN_MAX_ORDER || right_min > 1u << VCHAN_MAX_ORDER)
		return -1;
	*left_order = order_for_size(left_min);
	*right_order = order_for_size(right_min);
	/* In-page rings save grants, so take them whenever the sizes allow. */
	if (left_min <= small && right_min <= large) {
		*left_order = 10;
		*right_order = 11;
	} else if (left_min <= large && right_min <= small) {
		*left_order = 11;
		*right_order = 10;
	} else if (left_min <= large) {
		*left_order = 11;
	} else if (right_min <= large) {
		*right_order = 11;
	}
	return 0;
}

void *vchan_inpage_ring(struct vchan_shared *shr, unsigned int order)
{
	unsigned int off = inpage_offset(order);

	return off ? (uint8_t *)shr + off : NULL;
}

void vchan_shared_init(struct vchan_shared *shr, const struct vchan_layout *lay,
		       const uint32_t *grants)
{
	unsigned int n = lay->left_pages + lay->right_pages;

	shr->left_order = (uint16_t)lay->left_order;
	shr->right_order = (uint16_t)lay->right_order;
	shr->cli_live = VCHAN_LIVE_WAITING;
	shr->srv_live = VCHAN_LIVE_CONNECTED;
	/* As libxenvchan: the client should wake us when it writes. */
	shr->cli_notify = VCHAN_NOTIFY_WRITE;
	shr->srv_notify = 0;
	if (n)
		memcpy(shr->grants, grants, n * sizeof(*grants));
}

int vchan_shared_read_layout(const struct vchan_shared *shr, struct vchan_layout *lay,
			     uint32_t *grants, char *buf, size_t len)
{
	/* One read of each: the checks below and the mapping use these copies. */
	unsigned int left = __atomic_load_n(&shr->left_order, __ATOMIC_RELAXED);
	unsigned int right = __atomic_load_n(&shr->right_order, __ATOMIC_RELAXED);
	unsigned int n;

	if (vchan_layout_make(lay, left, right, buf, len))
		return -1;
	n = lay->left_pages + lay->right_pages;
	for (unsigned int i = 0; i < n; i++)
		grants[i] = __atomic_load_n(&shr->grants[i], __ATOMIC_RELAXED);
	return 0;
}

/* --- broken ------------------------------------------------------------------- */

void vchan_ring_break(struct vchan_ring *r, const char *fmt, ...)
{
	va_list ap;

	if (r->broken)
		return;
	r->broken = true;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

const char *vchan_ring_error(const struct vchan_ring *r)
{
	return r->broken ? r->why : NULL;
}

static size_t no_spans(struct iovec iov[2])
{
	iov[0] = (struct iovec){ 0 };
	iov[1] = (struct iovec){ 0 };
	return 0;
}

/* Splits len bytes starting at index idx of a ring into up to two spans. */
static size_t spans(const uint8_t *buf, uint32_t size, uint32_t idx, uint32_t len,
		    struct iovec iov[2])
{
	uint32_t off = idx & (size - 1);
	uint32_t first = size - off < len ? size - off : len;

	iov[0].iov_base = (void *)(buf + off);
	iov[0].iov_len = first;
	iov[1].iov_base = (void *)buf;
	iov[1].iov_len = len - first;
	return len;
}

/* --- setting up --------------------------------------------------------------- */

int vchan_ring_init(struct vchan_ring *r, struct vchan_shared *shr, enum vchan_ring_role role,
		    const struct vchan_layout *lay, void *left_buf, void *right_buf)
{
	struct vchan_indexes *rd, *wr;
	bool server = role == VCHAN_SERVER;

	memset(r, 0, sizeof(*r));
	r->shr = shr;
	r->role = role;
	rd = server ? &shr->left : &shr->right;
	wr = server ? &shr->right : &shr->left;
	r->rd_buf = server ? left_buf : right_buf;
	r->wr_buf = server ? right_buf : left_buf;
	r->rd_size = 1u << (server ? lay->left_order : lay->right_order);
	r->wr_size = 1u << (server ? lay->right_order : lay->left_order);
	r->rd_cons_shr = &rd->cons;
	r->rd_prod_shr = &rd->prod;
	r->wr_prod_shr = &wr->prod;
	r->wr_cons_shr = &wr->cons;
	r->peer_notify = server ? &shr->cli_notify : &shr->srv_notify;
	r->our_notify = server ? &shr->srv_notify : &shr->cli_notify;
	r->peer_live = server ? &shr->cli_live : &shr->srv_live;
	r->our_live = server ? &shr->srv_live : &shr->cli_live;

	/* The one time we read our own indexes: where the page says we start. */
	r->rd_cons = load_index(r->rd_cons_shr);
	r->rd_prod = load_index(r->rd_prod_shr);
	r->wr_prod = load_index(r->wr_prod_shr);
	r->wr_cons = load_index(r->wr_cons_shr);
	if (r->rd_prod - r->rd_cons > r->rd_size) {
		vchan_ring_break(r, "read ring starts with prod %u cons %u: more than its %u bytes",
				 r->rd_prod, r->rd_cons, r->rd_size);
		return -1;
	}
	if (r->wr_prod - r->wr_cons > r->wr_size) {
		vchan_ring_break(r, "write ring starts with prod %u cons %u: more than its %u bytes",
				 r->wr_prod, r->wr_cons, r->wr_size);
		return -1;
	}
	return 0;
}

/* --- data --------------------------------------------------------------------- */

size_t vchan_ring_readable(struct vchan_ring *r, struct iovec iov[2])
{
	uint32_t prod, ready, before;

	if (r->broken)
		return no_spans(iov);
	prod = load_index(r->rd_prod_shr);
	ready = prod - r->rd_cons;
	before = r->rd_prod - r->rd_cons;
	/* ready < before: prod went backwards, taking back data it had given. */
	if (ready > r->rd_size || ready < before) {
		vchan_ring_break(r, "peer's prod %u is invalid: cons %u, last prod %u, ring of %u",
				 prod, r->rd_cons, r->rd_prod, r->rd_size);
		return no_spans(iov);
	}
	r->rd_prod = prod;
	return spans(r->rd_buf, r->rd_size, r->rd_cons, ready, iov);
}

size_t vchan_ring_readable_cached(const struct vchan_ring *r, struct iovec iov[2])
{
	if (r->broken)
		return no_spans(iov);
	return spans(r->rd_buf, r->rd_size, r->rd_cons, r->rd_prod - r->rd_cons, iov);
}

void vchan_ring_consume(struct vchan_ring *r, size_t n)
{
	uint32_t ready = r->rd_prod - r->rd_cons;

	if (r->broken || !n)
		return;
	if (n > ready) {
		vchan_ring_break(r, "consume of %zu bytes with only %u readable", n, ready);
		return;
	}
	r->rd_cons += (uint32_t)n;
	/* Release: our reads of the data finish before the peer may overwrite it. */
	store_index(r->rd_cons_shr, r->rd_cons);
	r->unflushed |= VCHAN_NOTIFY_READ;
	r->moved = true;
}

size_t vchan_ring_writable(struct vchan_ring *r, struct iovec iov[2])
{
	uint32_t cons, used, before;

	if (r->broken)
		return no_spans(iov);
	cons = load_index(r->wr_cons_shr);
	used = r->wr_prod - cons;
	before = r->wr_prod - r->wr_cons;
	/*
	 * cons may only move forward and never past our prod; both at once say
	 * used <= before (which is at most the ring size).
	 */
	if (used > before) {
		vchan_ring_break(r, "peer's cons %u is invalid: prod %u, last cons %u, ring of %u",
				 cons, r->wr_prod, r->wr_cons, r->wr_size);
		return no_spans(iov);
	}
	r->wr_cons = cons;
	return spans(r->wr_buf, r->wr_size, r->wr_prod, r->wr_size - used, iov);
}

size_t vchan_ring_writable_cached(const struct vchan_ring *r, struct iovec iov[2])
{
	if (r->broken)
		return no_spans(iov);
	return spans(r->wr_buf, r->wr_size, r->wr_prod, r->wr_size - (r->wr_prod - r->wr_cons), iov);
}

void vchan_ring_commit(struct vchan_ring *r, size_t n)
{
	uint32_t space = r->wr_size - (r->wr_prod - r->wr_cons);

	if (r->broken || !n)
		return;
	if (n > space) {
		vchan_ring_break(r, "commit of %zu bytes with only %u writable", n, space);
		return;
	}
	r->wr_prod += (uint32_t)n;
	/* Release: the data is in the ring before the peer can see the index. */
	store_index(r->wr_prod_shr, r->wr_prod);
	r->unflushed |= VCHAN_NOTIFY_WRITE;
	r->moved = true;
}

/* --- notifications ------------------------------------------------------------ */

static void request(struct vchan_ring *r, uint8_t bit)
{
	__atomic_fetch_or(r->peer_notify, bit, __ATOMIC_SEQ_CST);
	full_fence();
}

size_t vchan_ring_arm_read(struct vchan_ring *r, struct iovec iov[2])
{
	if (r->broken)
		return no_spans(iov);
	request(r, VCHAN_NOTIFY_WRITE);
	return vchan_ring_readable(r, iov);
}

size_t vchan_ring_arm_write(struct vchan_ring *r, struct iovec iov[2])
{
	if (r->broken)
		return no_spans(iov);
	request(r, VCHAN_NOTIFY_READ);
	return vchan_ring_writable(r, iov);
}

bool vchan_ring_flush(struct vchan_ring *r)
{
	uint8_t mask = (uint8_t)r->unflushed;

	if (r->broken || !mask)
		return false;
	r->unflushed = 0;
	full_fence();
	/* Most of the time the peer is busy and asked for nothing: skip the RMW. */
	if (!(__atomic_load_n(r->our_notify, __ATOMIC_RELAXED) & mask))
		return false;
	return __atomic_fetch_and(r->our_notify, (uint8_t)~mask, __ATOMIC_SEQ_CST) & mask;
}

bool vchan_ring_flush_due(const struct vchan_ring *r)
{
	return !r->broken && (__atomic_load_n(r->our_notify, __ATOMIC_RELAXED) & r->unflushed);
}

/* --- spinning ----------------------------------------------------------------- */

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool vchan_ring_spin(struct vchan_ring *r, bool want_read, bool want_write,
		     unsigned int spin_ns)
{
	struct iovec iov[2];
	uint64_t until;

	/* Nothing moved since the last spin: the peer is idle, or only noisy. */
	if (!r->moved)
		spin_ns = 0;
	r->moved = false;
	until = mono_ns() + spin_ns;
	do {
		if (r->broken)
			return false;
		if (want_read && vchan_ring_readable(r, iov))
			return true;
		if (want_write && vchan_ring_writable(r, iov))
			return true;
		cpu_relax();
	} while (mono_ns() < until);
	return false;
}

/* --- liveness ----------------------------------------------------------------- */

int vchan_ring_peer_live(struct vchan_ring *r)
{
	uint8_t live;

	if (r->broken)
		return -1;
	/* Acquire: what the peer wrote before it went away is visible after. */
	live = __atomic_load_n(r->peer_live, __ATOMIC_ACQUIRE);
	if (live > VCHAN_LIVE_WAITING) {
		vchan_ring_break(r, "peer's live byte is %u, not 0, 1 or 2", live);
		return -1;
	}
	return live;
}

void vchan_ring_set_live(struct vchan_ring *r, uint8_t live)
{
	__atomic_store_n(r->our_live, live, __ATOMIC_SEQ_CST);
}
