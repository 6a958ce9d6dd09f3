// SPDX-License-Identifier: GPL-2.0-only
/* Rate limits and flap damping: see pace.h. */
#include <math.h>

#include "pace.h"

void rate_init(struct rate_limit *rl, unsigned int burst, unsigned int interval_ms)
{
	*rl = (struct rate_limit){
		.burst = burst ? burst : 1,
		.interval_ms = interval_ms,
		.tokens = burst ? burst : 1,
	};
}

/* Gives back every token earned since the last refill. */
static void refill(struct rate_limit *rl, int64_t now)
{
	while (rl->refill_ms && rl->refill_ms <= now) {
		rl->tokens++;
		rl->refill_ms = rl->tokens < rl->burst ? rl->refill_ms + rl->interval_ms : 0;
	}
}

bool rate_take(struct rate_limit *rl, int64_t now)
{
	refill(rl, now);
	if (!rl->tokens)
		return false;
	if (rl->tokens-- == rl->burst)
		rl->refill_ms = now + rl->interval_ms;
	return true;
}

int64_t rate_next(const struct rate_limit *rl)
{
	return rl->tokens ? 0 : rl->refill_ms;
}

void watch_pace_init(struct watch_pace *wp, unsigned int burst, unsigned int interval_ms)
{
	*wp = (struct watch_pace){ 0 };
	rate_init(&wp->rate, burst, interval_ms);
}

bool watch_pace_take(struct watch_pace *wp, int64_t now, bool *mute)
{
	*mute = false;
	wp->fired = true;
	if (wp->muted)
		return false;
	if (rate_take(&wp->rate, now)) {
		wp->fired = false;
		return true;
	}
	/* a mute long ago is forgotten: a new storm starts short */
	if (wp->unmute_ms && now - wp->unmute_ms > 10 * PACE_MUTE_MAX_MS)
		wp->mute_ms = 0;
	wp->mute_ms = !wp->mute_ms ? PACE_MUTE_MIN_MS :
		      wp->mute_ms < PACE_MUTE_MAX_MS / 2 ? wp->mute_ms * 2 : PACE_MUTE_MAX_MS;
	wp->muted = true;
	wp->unmute_ms = now + wp->mute_ms;
	*mute = true;
	return false;
}

int64_t watch_pace_deadline(const struct watch_pace *wp)
{
	if (wp->muted)
		return wp->unmute_ms;
	return wp->fired ? rate_next(&wp->rate) : 0;
}

bool watch_pace_unmute(struct watch_pace *wp, int64_t now)
{
	if (!wp->muted || now < wp->unmute_ms)
		return false;
	wp->muted = false;
	wp->fired = false; /* registering fires it */
	return true;
}

/* The penalty as of now: halved per half-life gone by. */
static unsigned int decayed(const struct flap *f, int64_t now)
{
	int64_t dt = now - f->at_ms;

	if (!f->penalty || dt <= 0)
		return f->penalty;
	return (unsigned int)(f->penalty * exp2(-(double)dt / FLAP_HALF_LIFE_MS));
}

unsigned int flap_down(struct flap *f, int64_t now)
{
	unsigned int p = decayed(f, now);

	/* a calm link starts a new count */
	if (p < FLAP_PENALTY / 8)
		f->unreported = 0;
	f->unreported++;
	p += FLAP_PENALTY;
	f->penalty = p < FLAP_MAX ? p : FLAP_MAX;
	f->at_ms = now;
	if (f->penalty > FLAP_SUPPRESS)
		f->suppressed = true;
	else if (f->penalty <= FLAP_REUSE + FLAP_PENALTY)
		f->suppressed = false;
	if (!f->suppressed)
		return 0;
	f->held_ms = now;
	return (unsigned int)(FLAP_HALF_LIFE_MS * log2((double)f->penalty / FLAP_REUSE)) + 1;
}

bool flap_quiet(const struct flap *f, int64_t now)
{
	return decayed(f, now) >= FLAP_QUIET || (f->held_ms && now - f->held_ms < FLAP_REPORT_MS) ||
	       (f->reported_ms && now - f->reported_ms < FLAP_REPORT_MS);
}

bool flap_report(struct flap *f, int64_t now, unsigned int *count)
{
	if (!flap_quiet(f, now) || !f->unreported ||
	    (f->reported_ms && now - f->reported_ms < FLAP_REPORT_MS))
		return false;
	*count = f->unreported;
	f->unreported = 0;
	f->reported_ms = now;
	return true;
}
