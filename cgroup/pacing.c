// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup/pacing.c: how long a writer over its cgroup's dirty threshold
 * waits. The arithmetic of the kernel's balance_dirty_pages()
 * (mm/page-writeback.c), applied to dirty bytes instead of pages. Pure:
 * no I/O, no locks, no clocks of its own.
 *
 * THE LAW
 *
 * A domain (a cgroup with its descendants, or the whole cache) has
 *	dirty      bytes dirty now
 *	bg_thresh  background threshold: the flusher starts writing here
 *	thresh     hard threshold: no writer gets past it
 * and from them
 *	freerun  = (thresh + bg_thresh) / 2
 *	limit    = thresh
 *	setpoint = (freerun + limit) / 2
 *	x        = (setpoint - dirty) / (limit - setpoint)
 *	f(dirty) = pos_ratio = 1 + x^3, clamped to [0, 2]
 *
 * Under freerun a writer is not paced. Above it, a writer may dirty at
 *	rate = dirty_ratelimit * f(dirty)
 * where dirty_ratelimit is the flusher's write bandwidth shared among the
 * writers, so that writing bytes costs
 *	pause = bytes / rate,	at most MAX_PAUSE = 200 ms,
 * and at or over the limit the writer is held until dirty is under it.
 *
 * Properties of f (tests/unit/test_pacing.c has a test for each):
 *	(1) f(setpoint) = 1: writers dirty exactly as fast as the flusher
 *	    cleans, so dirty stays where it is.
 *	(2) f(dirty) = 2 for dirty <= freerun: just past freerun writers run
 *	    at twice the cleaning rate and dirty climbs to the setpoint fast.
 *	(3) f(dirty) = 0 for dirty >= limit: the hard limit.
 *	(4) f is non-increasing in dirty: more dirty, slower writers; the
 *	    feedback is negative, so dirty settles at the setpoint.
 *	(5) f is point-symmetric about (setpoint, 1):
 *	    f(setpoint - d) + f(setpoint + d) = 2 for 0 <= d <= limit - setpoint.
 *	(6) f is flat near the setpoint and steep near its ends
 *	    (df/dx = 3x^2): small errors are corrected gently, large ones hard.
 * and of the pause:
 *	(7) 0 for dirty <= freerun; non-decreasing in dirty above it; at most
 *	    MAX_PAUSE; PACING_HOLD for dirty >= limit.
 *
 * In fixed point, step by step:
 *	1. bg_thresh >= thresh leaves no room for a curve; as the kernel's
 *	   domain_dirty_limits() does, take bg_thresh = thresh / 2 then. Now
 *	   freerun < limit, and setpoint < limit, whenever thresh > 0;
 *	   thresh = 0 means dirty >= limit always, (3).
 *	2. The sums of step 1 overflow 64 bits for byte counts near 2^64:
 *	   they are taken in 128 bits.
 *	3. |x| >= 1 is clamped, to 2 for x >= 1 and 0 for x <= -1, so only
 *	   |x| < 1 is cubed. X = x * 2^20 = ((setpoint - dirty) << 20) /
 *	   (limit - setpoint) fits in a signed 128-bit integer (|setpoint -
 *	   dirty| < 2^64, so the shift stays under 2^84).
 *	4. For |X| < 2^20, |X^3| < 2^60 and
 *	   pos_ratio = 1024 * f = 1024 + X^3 / 2^50.
 *	   Division truncates toward zero in steps 3 and 4: both are monotone,
 *	   which keeps (4), and odd, which keeps (5) exact in fixed point.
 *	   (1) is exact (X = 0); (2) and (3) hold by the clamps; and just under
 *	   the limit X^3 / 2^50 >= -1023, so pos_ratio >= 1 until the limit.
 *	5. pause_usec = bytes * 10^6 * 1024 / (dirty_ratelimit * pos_ratio),
 *	   in 128 bits (bytes * 10^6 * 2^10 < 2^94), then bounded.
 *
 * Worked example. dirty_limit=200M, dirty_background_limit=100M: freerun =
 * 150 MiB, setpoint = 175 MiB, limit = 200 MiB, limit - setpoint = 25 MiB.
 * The flusher writes 100 MiB/s and two writers share it: dirty_ratelimit =
 * 50 MiB/s. One 1 MiB write pauses:
 *	dirty 140.0 MiB  under freerun                      0 us
 *	dirty 162.5 MiB  x =  0.5   pos_ratio 1152 (1.125)  17777 us
 *	dirty 175.0 MiB  x =  0     pos_ratio 1024 (1)      20000 us
 *	dirty 187.5 MiB  x = -0.5   pos_ratio  896 (0.875)  22857 us
 *	dirty 199.0 MiB  x = -0.96  pos_ratio  119 (~0.116) 172100 us
 *	dirty 200.0 MiB  the limit                          PACING_HOLD
 * Two writers each paced at 50 MiB/s at the setpoint dirty 100 MiB/s,
 * which is what the flusher cleans: dirty holds at 175 MiB.
 *
 * Short pauses are the caller's to batch: the kernel lets a task dirty
 * several pages between pauses so that each is around 10 ms.
 */
#include <stdbool.h>
#include <stdint.h>

#include "cgroup_lib.h"

#define USEC_PER_SEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL
/* Fraction bits of X in step 3. */
#define X_SHIFT 20

typedef unsigned __int128 u128;
typedef __int128 s128;

struct curve {
	uint64_t freerun, setpoint, limit;
};

/* Steps 1 and 2. */
static struct curve curve_of(uint64_t bg_thresh, uint64_t thresh)
{
	struct curve c;

	if (bg_thresh >= thresh)
		bg_thresh = thresh / 2;
	c.limit = thresh;
	c.freerun = (uint64_t)(((u128)thresh + bg_thresh) / 2);
	c.setpoint = (uint64_t)(((u128)c.freerun + c.limit) / 2);
	return c;
}

/* Steps 3 and 4, for freerun < dirty < limit. */
static uint64_t curve_ratio(const struct curve *c, uint64_t dirty)
{
	s128 one = (s128)1 << X_SHIFT, x;

	x = (((s128)c->setpoint - (s128)dirty) * one) /
	    (s128)(c->limit - c->setpoint);
	if (x >= one)
		return 2 * PACING_RATIO_ONE;
	if (x <= -one)
		return 0;
	return (uint64_t)(PACING_RATIO_ONE +
			  x * x * x / ((s128)1 << (3 * X_SHIFT - 10)));
}

static uint64_t ratio_of(const struct curve *c, uint64_t dirty)
{
	if (dirty >= c->limit)
		return 0;
	if (dirty <= c->freerun)
		return 2 * PACING_RATIO_ONE;
	return curve_ratio(c, dirty);
}

uint64_t pacing_pos_ratio(uint64_t dirty, uint64_t bg_thresh, uint64_t thresh)
{
	struct curve c = curve_of(bg_thresh, thresh);

	return ratio_of(&c, dirty);
}

/* Step 5. */
uint64_t pacing_pause_usec(uint64_t bytes, uint64_t dirty, uint64_t bg_thresh,
			   uint64_t thresh, uint64_t ratelimit_bps)
{
	struct curve c = curve_of(bg_thresh, thresh);
	u128 rate, pause;

	if (dirty >= c.limit)
		return PACING_HOLD;
	if (dirty <= c.freerun)
		return 0;
	rate = (u128)ratelimit_bps * ratio_of(&c, dirty);
	if (!rate)
		return PACING_MAX_PAUSE_USEC;
	pause = (u128)bytes * USEC_PER_SEC * PACING_RATIO_ONE / rate;
	return pause > PACING_MAX_PAUSE_USEC ? PACING_MAX_PAUSE_USEC :
					       (uint64_t)pause;
}

void pacing_bw_init(struct pacing_bw *bw, uint64_t now_ns, uint64_t total_bytes)
{
	bw->bps = PACING_BW_INIT_BPS;
	bw->last_ns = now_ns;
	bw->last_bytes = total_bytes;
}

/*
 * As the kernel's wb_update_write_bandwidth(): the rate measured over the
 * last interval (elapsed ns) is blended with the old estimate in
 * proportion to elapsed / PERIOD, so the estimate follows the flusher over
 * about 3 s and one slow or fast burst moves it only a little:
 *	bps' = (measured * elapsed + bps * (PERIOD - elapsed)) / PERIOD
 * An interval of PERIOD or more replaces the estimate outright.
 */
bool pacing_bw_update(struct pacing_bw *bw, uint64_t now_ns,
		      uint64_t total_bytes)
{
	uint64_t elapsed = now_ns - bw->last_ns;
	uint64_t written = total_bytes - bw->last_bytes;
	u128 bps;

	/* A clock or counter that went backwards measures nothing. */
	if (now_ns < bw->last_ns || total_bytes < bw->last_bytes)
		elapsed = written = 0;
	else if (elapsed < PACING_BW_INTERVAL_NS)
		return false;
	bw->last_ns = now_ns;
	bw->last_bytes = total_bytes;
	if (!written)
		return false;
	bps = (u128)written * NSEC_PER_SEC / elapsed;
	if (elapsed < PACING_BW_PERIOD_NS)
		bps = (bps * elapsed +
		       (u128)bw->bps * (PACING_BW_PERIOD_NS - elapsed)) /
		      PACING_BW_PERIOD_NS;
	__atomic_store_n(&bw->bps,
			 bps > UINT64_MAX ? UINT64_MAX : (uint64_t)bps,
			 __ATOMIC_RELAXED);
	return true;
}

uint64_t pacing_dirty_ratelimit(const struct pacing_bw *bw,
				unsigned int nr_dirtiers)
{
	uint64_t bps = __atomic_load_n(&bw->bps, __ATOMIC_RELAXED);

	return bps / (nr_dirtiers ? nr_dirtiers : 1);
}
