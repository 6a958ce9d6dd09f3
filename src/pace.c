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
	return f->held_ms && now - f->held_ms < FLAP_REPORT_MS;
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
