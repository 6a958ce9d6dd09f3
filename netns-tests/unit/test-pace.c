// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of pace.c, TAP output, with the clock driven by hand (every
 * function takes `now`): the token bucket (burst, one token back per
 * interval, never more than the burst), the paced watch (events at the
 * rate, a storm muting it once, for 100, 200, 400, 800, then 1000 ms, a
 * storm long after starting short again) and flap damping (a peer that
 * reconnects once a second never waits, a greedy one is held to about two
 * connections a second, no wait is longer than FLAP_MAX allows, and the
 * quiet link's reports come at most once per FLAP_REPORT_MS with the count
 * of connections since the last one). The numbers in pace.h's comment are
 * checked here too.
 */
#include <stdio.h>
#include <string.h>

#include "pace.h"
#include "unit.h"

/* A clock far from 0, which pace.c's structures use to mean "never". */
#define T0	1000000

/* Tokens taken at one instant, until one is refused (at most limit tries). */
static unsigned int take_all(struct rate_limit *rl, int64_t now, unsigned int limit)
{
	unsigned int n = 0;

	while (n < limit && rate_take(rl, now))
		n++;
	return n;
}

static void test_rate_burst(void)
{
	struct rate_limit rl;

	rate_init(&rl, 3, 100);
	ok(rate_next(&rl) == 0, "a fresh limit has a token now (rate_next 0)");
	ok(take_all(&rl, T0, 10) == 3, "the burst: 3 tokens at once, the 4th refused");
	ok(rate_next(&rl) == T0 + 100, "the next token comes one interval after the first take");
	ok(!rate_take(&rl, T0 + 99), "none 1 ms before it");
	ok(rate_take(&rl, T0 + 100), "one at the interval");
	ok(!rate_take(&rl, T0 + 100), "and only one");
	ok(rate_next(&rl) == T0 + 200, "the next one an interval later");
	ok(take_all(&rl, T0 + 350, 10) == 2, "two intervals later, two tokens (not three)");
	ok(take_all(&rl, T0 + 100000, 10) == 3, "after a long idle time: the burst, never more");

	rate_init(&rl, 0, 50);
	ok(take_all(&rl, T0, 10) == 1, "a burst of 0 is taken as 1");
	ok(rate_next(&rl) == T0 + 50 && !rate_take(&rl, T0 + 49) && rate_take(&rl, T0 + 50),
	   "and refills one per interval");
}

/* A greedy taker, trying every ms: the burst plus one per interval, however long. */
static void test_rate_greedy(void)
{
	struct rate_limit rl;
	unsigned int taken = 0, early = 0;
	int64_t last = 0;

	rate_init(&rl, 8, 100);
	for (int64_t t = T0; t < T0 + 10000; t++) {
		if (!rate_take(&rl, t))
			continue;
		/* past the burst, tokens come exactly one interval apart */
		if (taken > 8 && t - last < 100)
			early++;
		taken++;
		last = t;
	}
	ok(taken == 8 + 99, "10 s of greedy takes every ms: 8 + 99 tokens (got %u)", taken);
	ok(!early, "past the burst, never two tokens within one interval (%u early)", early);
}

/* A token not taken is kept, up to the burst: a pause does not lose the rate. */
static void test_rate_refill_while_partial(void)
{
	struct rate_limit rl;

	rate_init(&rl, 4, 100);
	ok(rate_take(&rl, T0) && rate_take(&rl, T0 + 30), "two of 4 tokens taken, 30 ms apart");
	ok(rate_next(&rl) == 0, "tokens are left: rate_next 0");
	ok(take_all(&rl, T0 + 150, 10) == 3, "at 150 ms: the 2 left and 1 back");
	ok(rate_next(&rl) == T0 + 200, "the next one at 200 ms, on the first take's beat");
	ok(take_all(&rl, T0 + 450, 10) == 3, "at 450 ms: 3 more back (200, 300, 400)");
	ok(take_all(&rl, T0 + 10000, 10) == 4, "much later: 4, the burst");
}

static void test_watch_basic(void)
{
	struct watch_pace wp;
	bool mute = true, any_mute = false;
	int handled = 0;

	watch_pace_init(&wp, 2, 100);
	ok(watch_pace_deadline(&wp) == 0, "a fresh watch has no deadline");
	ok(watch_pace_take(&wp, T0, &mute) && !mute, "the first event is handled, no mute");
	ok(watch_pace_take(&wp, T0 + 1, &mute) && !mute, "the second too (burst 2)");
	ok(watch_pace_deadline(&wp) == 0, "nothing pending: no deadline");
	ok(!watch_pace_take(&wp, T0 + 2, &mute) && mute,
	   "the third, faster than the rate: not handled, and *mute set");
	ok(wp.muted && wp.fired && watch_pace_deadline(&wp) == T0 + 2 + PACE_MUTE_MIN_MS,
	   "muted for PACE_MUTE_MIN_MS: the deadline is the unmute time");
	for (int64_t t = T0 + 3; t < T0 + 102; t++) {
		handled += watch_pace_take(&wp, t, &mute);
		any_mute |= mute;
	}
	ok(!handled && !any_mute, "events while muted: none handled, *mute not set again");
	ok(watch_pace_deadline(&wp) == T0 + 102, "the deadline stays where it was");
	ok(!watch_pace_unmute(&wp, T0 + 101), "not unmuted 1 ms early");
	ok(watch_pace_unmute(&wp, T0 + 102), "unmuted at the deadline");
	ok(!wp.muted && !wp.fired, "no longer muted, and fired cleared (registering fires it)");
	ok(!watch_pace_unmute(&wp, T0 + 103), "watch_pace_unmute is true once");
	ok(watch_pace_deadline(&wp) == 0, "then no deadline");
	ok(watch_pace_take(&wp, T0 + 103, &mute) && !mute,
	   "the event its registration fires is handled (a token came back meanwhile)");
}

/* Events at the rate or slower never mute the watch, and each is handled. */
static void test_watch_at_rate(void)
{
	struct watch_pace wp;
	int handled = 0, mutes = 0;
	bool mute;

	watch_pace_init(&wp, 8, 100);
	for (int i = 0; i < 600; i++) {
		handled += watch_pace_take(&wp, T0 + (int64_t)i * 100, &mute);
		mutes += mute;
	}
	ok(handled == 600 && !mutes, "an event every 100 ms for a minute: all 600 handled, no mute");
	/* then 9 at once, when the bucket is full again */
	for (int i = 0; i < 9; i++) {
		handled += watch_pace_take(&wp, T0 + 60000 + 50, &mute);
		mutes += mute;
	}
	ok(handled == 608 && mutes == 1, "then 9 at once: the burst of 8 handled, the 9th mutes");
}

/*
 * A storm: an event every ms, the watch registered again as soon as allowed
 * (whose registration fires it). Records the first `n` mute lengths.
 */
static int64_t storm(struct watch_pace *wp, int64_t from, int64_t until, unsigned int *lens,
		     size_t n, size_t *n_mutes, unsigned int *handled)
{
	int64_t t;
	bool mute;

	*n_mutes = 0;
	*handled = 0;
	for (t = from; t < until; t++) {
		if (wp->muted) {
			if (!watch_pace_unmute(wp, t))
				continue;
			/* registering fires it once */
		}
		*handled += watch_pace_take(wp, t, &mute);
		if (!mute)
			continue;
		if (*n_mutes < n)
			lens[*n_mutes] = (unsigned int)(watch_pace_deadline(wp) - t);
		(*n_mutes)++;
	}
	return t;
}

static void test_watch_storm(void)
{
	static const unsigned int want[] = { 100, 200, 400, 800, 1000, 1000, 1000 };
	unsigned int lens[7] = { 0 }, handled;
	struct watch_pace wp;
	size_t n_mutes;
	int64_t end;
	int same = 1;

	watch_pace_init(&wp, 8, 100);
	end = storm(&wp, T0, T0 + 20000, lens, 7, &n_mutes, &handled);
	for (size_t i = 0; i < 7; i++)
		same &= lens[i] == want[i];
	ok(same, "a continuing storm mutes for 100, 200, 400, 800, 1000, 1000, 1000 ms "
	   "(got %u %u %u %u %u %u %u)", lens[0], lens[1], lens[2], lens[3], lens[4], lens[5],
	   lens[6]);
	ok(wp.mute_ms == PACE_MUTE_MAX_MS, "and stays at PACE_MUTE_MAX_MS (%u)", wp.mute_ms);
	/* 20 s at an event per ms: at most the burst plus what the rate gives */
	ok(handled <= 8 + 20000 / 100, "20 000 events in 20 s: %u handled (at most %u)", handled,
	   8 + 20000 / 100);
	ok(n_mutes >= 15 && n_mutes <= 25, "%zu mutes in 20 s (about one per second and a bit)",
	   n_mutes);

	/* 5 s after the last unmute: the same storm, still remembered */
	while (wp.muted)
		watch_pace_unmute(&wp, end++);
	storm(&wp, end + 5000, end + 5200, lens, 1, &n_mutes, &handled);
	ok(n_mutes == 1 && lens[0] == PACE_MUTE_MAX_MS,
	   "a storm 5 s after the last unmute is muted for %u ms at once", lens[0]);

	/* long after: forgotten */
	end = wp.unmute_ms;
	while (wp.muted)
		watch_pace_unmute(&wp, wp.unmute_ms);
	storm(&wp, end + 10 * PACE_MUTE_MAX_MS + 1, end + 10 * PACE_MUTE_MAX_MS + 101, lens, 1,
	      &n_mutes, &handled);
	ok(n_mutes == 1 && lens[0] == PACE_MUTE_MIN_MS,
	   "one more than 10 s after the last unmute starts short again: %u ms", lens[0]);
	ok(handled == 8, "and first handles the burst again (%u)", handled);
}

/* A peer whose connections end once a second, for a minute. */
static void test_flap_calm(void)
{
	unsigned int waits = 0, top = 0, count = 0;
	struct flap f = { 0 };

	for (int i = 1; i <= 60; i++) {
		waits += flap_down(&f, T0 + (int64_t)i * 1000) != 0;
		if (f.penalty > top)
			top = f.penalty;
	}
	ok(!waits, "a connection ending once a second for a minute: never a wait");
	ok(top < 2000, "its penalty stays under 2000 (top %u), as pace.h says", top);
	ok(flap_quiet(&f, T0 + 60000), "but its link is quiet (ends within a second or so): "
	   "reported, not logged one by one");

	memset(&f, 0, sizeof(f));
	for (int i = 1; i <= 60; i++)
		waits += flap_down(&f, T0 + (int64_t)i * 2000) != 0;
	ok(!waits && !flap_quiet(&f, T0 + 120000),
	   "one every 2 s: no wait, and not quiet (penalty %u < %u): each end is news", f.penalty,
	   FLAP_QUIET);

	memset(&f, 0, sizeof(f));
	flap_down(&f, T0);
	ok(!flap_quiet(&f, T0), "one end alone does not make the link quiet");
	flap_down(&f, T0 + 1000);
	ok(flap_quiet(&f, T0 + 1000), "a second one 1 s later does (penalty %u >= %u)", f.penalty,
	   FLAP_QUIET);
	memset(&f, 0, sizeof(f));
	flap_down(&f, T0);
	flap_down(&f, T0 + 1100);
	ok(!flap_quiet(&f, T0 + 1100), "a second one 1.1 s later does not (penalty %u)",
	   f.penalty);

	/* ends spaced out (as XenStore pacing does to a storm): once reported, quiet */
	memset(&f, 0, sizeof(f));
	flap_down(&f, T0);
	flap_down(&f, T0 + 500);
	ok(flap_report(&f, T0 + 500, &count) && count == 2, "two ends 0.5 s apart: reported (%u)",
	   count);
	flap_down(&f, T0 + 5000);
	ok(flap_quiet(&f, T0 + 5000) && f.penalty < FLAP_QUIET,
	   "an end 4.5 s later, the penalty decayed (%u): quiet still, within a minute of the "
	   "report", f.penalty);
	ok(!flap_quiet(&f, T0 + 500 + FLAP_REPORT_MS), "and no longer a minute after it");
}

/*
 * A greedy peer: each connection ends `life` ms after it starts, and the
 * next starts as soon as it is allowed. Returns the connections in `secs`.
 */
static unsigned int greedy(int64_t life, int secs, unsigned int *first_wait_at,
			   unsigned int *longest)
{
	struct flap f = { 0 };
	unsigned int n = 0;
	int64_t t = T0;

	*first_wait_at = 0;
	*longest = 0;
	while (t < T0 + (int64_t)secs * 1000) {
		unsigned int wait;

		n++;
		t += life;
		wait = flap_down(&f, t);
		if (wait && !*first_wait_at)
			*first_wait_at = n;
		if (wait > *longest)
			*longest = wait;
		t += wait;
	}
	return n;
}

static void test_flap_greedy(void)
{
	unsigned int n, first, longest;

	n = greedy(10, 60, &first, &longest);
	ok(first == 5 || first == 6, "connections ending every 10 ms: the first wait after the "
	   "%uth", first);
	ok(longest <= 4100, "no wait longer than ~4.1 s (longest %u ms)", longest);
	ok(n < 3 * 60, "over 60 s a greedy peer gets %u connections (%.2f/s): fewer than 3 a "
	   "second", n, n / 60.0);
	ok(n >= 60 + 60 / 2, "and is not held below 1.5 a second either (about 2, pace.h)");

	n = greedy(0, 60, &first, &longest);
	ok(n < 3 * 60 && longest <= 4100,
	   "connections that end at once: %u in 60 s (%.2f/s), longest wait %u ms", n, n / 60.0,
	   longest);
	n = greedy(200, 60, &first, &longest);
	ok(n < 3 * 60, "connections that last 200 ms: %u in 60 s (%.2f/s), first wait after %u",
	   n, n / 60.0, first);
}

/*
 * Ends that do not wait as told (a transition that goes back, or the ends
 * counted while the hold runs): the penalty stops at FLAP_MAX, and the wait
 * with it.
 */
static void test_flap_max(void)
{
	unsigned int wait = 0, longest = 0;
	struct flap f = { 0 };

	for (int i = 0; i < 1000; i++) {
		wait = flap_down(&f, T0 + i);
		if (wait > longest)
			longest = wait;
	}
	ok(f.penalty == FLAP_MAX, "1000 ends in 1 s: the penalty stops at FLAP_MAX (%u)",
	   f.penalty);
	ok(longest == 4001, "the longest wait is %u ms: 1000 * log2(FLAP_MAX / FLAP_REUSE) + 1, "
	   "as pace.h says", longest);
	/* after the wait it asked for, the penalty is down to FLAP_REUSE: free again */
	ok(!flap_down(&f, T0 + 999 + wait), "after waiting as told, the next end asks for no wait");
	ok(!f.suppressed, "suppression is over (penalty %u <= %u)", f.penalty,
	   FLAP_REUSE + FLAP_PENALTY);
}

/*
 * A greedy peer for four and a half minutes: the link is quiet, and reports
 * come at once, then at most one per FLAP_REPORT_MS, counting every end.
 */
static void test_flap_report(void)
{
	int64_t t = T0, last_report = 0, min_gap = -1;
	unsigned int downs = 0, reports = 0, sum = 0, count = 0, first_count = 0;
	int loud = 0;
	struct flap f = { 0 };
	bool due;

	ok(!flap_report(&f, T0, &count), "no report for a link that never ended a connection");
	flap_down(&f, T0);
	ok(!flap_quiet(&f, T0) && !flap_report(&f, T0, &count), "nor after one end (not quiet)");

	memset(&f, 0, sizeof(f));
	while (t < T0 + 4 * FLAP_REPORT_MS + 30000) {
		unsigned int wait;

		t += 10;
		wait = flap_down(&f, t);
		downs++;
		if (downs >= 2 && !flap_quiet(&f, t))
			loud++;
		if (flap_report(&f, t, &count)) {
			if (!reports)
				first_count = count;
			if (last_report && (min_gap < 0 || t - last_report < min_gap))
				min_gap = t - last_report;
			last_report = t;
			reports++;
			sum += count;
		}
		t += wait;
	}
	ok(!loud, "a greedy peer's link is quiet from its second end on (%d loud)", loud);
	ok(first_count == 2, "the first report comes at once, at the second end, counting 2 (%u)",
	   first_count);
	ok(reports == 5, "%u reports in 4.5 minutes: at once, then one a minute", reports);
	ok(min_gap >= FLAP_REPORT_MS, "never two within FLAP_REPORT_MS (closest %lld ms apart)",
	   (long long)min_gap);
	ok(sum + f.unreported == downs, "the counts add up to every end: %u reported + %u not "
	   "yet = %u", sum, f.unreported, downs);

	/* calm for 10 s: the penalty is gone, but a wait came within a minute */
	t += 10000;
	ok(flap_quiet(&f, t), "10 s after the storm: still quiet (a wait in the last minute)");
	ok(!flap_quiet(&f, (f.held_ms > f.reported_ms ? f.held_ms : f.reported_ms) + FLAP_REPORT_MS),
	   "no longer quiet FLAP_REPORT_MS after the last wait and the last report");
	flap_down(&f, t);
	ok(f.unreported == 1, "an end after a calm starts a new count (%u)", f.unreported);
	ok(!flap_report(&f, t, &count), "no report within FLAP_REPORT_MS of the last one");
	count = 0;
	due = flap_report(&f, last_report + FLAP_REPORT_MS, &count);
	ok(due && count == 1, "the end is in the next report, when that is due (count %u)", count);
	ok(!flap_report(&f, last_report + FLAP_REPORT_MS + 1, &count),
	   "and nothing is reported twice");
}

int main(void)
{
	test_rate_burst();
	test_rate_greedy();
	test_rate_refill_while_partial();
	test_watch_basic();
	test_watch_at_rate();
	test_watch_storm();
	test_flap_calm();
	test_flap_greedy();
	test_flap_max();
	test_flap_report();
	return done_testing();
}
