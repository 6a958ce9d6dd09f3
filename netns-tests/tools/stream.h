/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The checked byte streams of the vchan test peers: vchan-peer (on Xen's
 * libxenvchan) and ring-peer (on ours) must produce and expect the very same
 * bytes, so both take them from here.
 *
 * A stream is a xorshift64 seeded through one splitmix64 step (no seed gives
 * xorshift's stuck all-zero state); each 64-bit output gives 8 bytes, low byte
 * first. Chunk sizes come from another such generator. FNV-1a 64 sums what
 * went each way.
 */
#ifndef VCHAN_TUN_TEST_STREAM_H
#define VCHAN_TUN_TEST_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_GOLDEN 0x9e3779b97f4a7c15ULL /* also tweaks the chunk sizes' seeds */
#define FNV64_OFFSET  0xcbf29ce484222325ULL
#define FNV64_PRIME   0x100000001b3ULL

struct rng {
	uint64_t s;
};

struct stream {
	struct rng rng;
	uint64_t word;
	unsigned int left; /* bytes of word not yet used */
};

static inline void rng_seed(struct rng *r, uint64_t seed)
{
	uint64_t z = seed + STREAM_GOLDEN;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	r->s = (z ^ (z >> 31)) | 1;
}

static inline uint64_t rng_next(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

/* A chunk size from 1 to max, but no more than left. */
static inline size_t rng_chunk(struct rng *r, size_t max, uint64_t left)
{
	uint64_t n = 1 + rng_next(r) % max;

	return n < left ? (size_t)n : (size_t)left;
}

static inline void stream_init(struct stream *st, uint64_t seed)
{
	rng_seed(&st->rng, seed);
	st->left = 0;
}

static inline void stream_fill(struct stream *st, uint8_t *buf, size_t n)
{
	for (; n && st->left; n--, st->left--, st->word >>= 8)
		*buf++ = (uint8_t)st->word;
	for (; n >= 8; n -= 8) {
		uint64_t w = rng_next(&st->rng);

		for (int i = 0; i < 8; i++)
			*buf++ = (uint8_t)(w >> (8 * i));
	}
	if (!n)
		return;
	st->word = rng_next(&st->rng);
	for (st->left = 8; n; n--, st->left--, st->word >>= 8)
		*buf++ = (uint8_t)st->word;
}

static inline uint64_t fnv64(uint64_t h, const uint8_t *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= FNV64_PRIME;
	}
	return h;
}

#endif
