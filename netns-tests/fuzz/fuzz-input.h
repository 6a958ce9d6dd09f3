/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading a libFuzzer input as a stream of little-endian integers, for the
 * harnesses in netns-tests/fuzz/. Past the end of the input every read gives 0.
 */
#ifndef VCHAN_TUN_FUZZ_INPUT_H
#define VCHAN_TUN_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t in_u8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* One read per statement: the order of two calls in one expression is unspecified. */
static inline uint16_t in_u16(struct input *in)
{
	uint16_t lo = in_u8(in);

	return (uint16_t)(lo | in_u8(in) << 8);
}

static inline uint32_t in_u32(struct input *in)
{
	uint32_t lo = in_u16(in);

	return lo | (uint32_t)in_u16(in) << 16;
}

#endif
