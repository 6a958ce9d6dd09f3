/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What every C unit test (netns-tests/unit/test-*.c) prints: the Test Anything
 * Protocol, which netns-tests/run reads. One "ok N - what" or "not ok N - what"
 * per check, then the plan.
 */
#ifndef VCHAN_TUN_UNIT_H
#define VCHAN_TUN_UNIT_H

#include <stdarg.h>
#include <stdio.h>

static int tap_tests, tap_failures;

static void __attribute__((format(printf, 2, 3), unused)) ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_tests++;
	if (!cond)
		tap_failures++;
	printf("%sok %d - ", cond ? "" : "not ", tap_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Prints the plan; main() returns what this returns. */
static int __attribute__((unused)) done_testing(void)
{
	printf("1..%d\n", tap_tests);
	return tap_failures ? 1 : 0;
}

#endif
