// SPDX-License-Identifier: GPL-2.0
/*
 * Description: cgroup/pacing.c, the throttle arithmetic: one test for each
 * numbered property of the law stated above its code, the worked example
 * with its numbers, byte counts near 2^64, and the write bandwidth
 * estimate that feeds dirty_ratelimit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../cgroup/cgroup_lib.h"

#define MiB (1ULL << 20)
#define ONE PACING_RATIO_ONE
#define MS_NS 1000000ULL

/* A domain: bg_thresh, thresh, and the points the law derives from them. */
struct geo {
	uint64_t bg, thresh, freerun, setpoint;
};

static const struct geo geos[] = {
	{ 100 * MiB, 200 * MiB, 150 * MiB, 175 * MiB },
	{ 10, 20, 15, 17 }, /* odd spans: integer rounding */
	{ 0, 1, 0, 0 },
	{ 1ULL << 62, 1ULL << 63, 3ULL << 61, 7ULL << 60 },
	{ UINT64_MAX - 1000, UINT64_MAX, UINT64_MAX - 500, UINT64_MAX - 250 },
};

#define NGEOS (sizeof(geos) / sizeof(geos[0]))

static uint64_t ratio(const struct geo *g, uint64_t dirty)
{
	return pacing_pos_ratio(dirty, g->bg, g->thresh);
}

/* (1) */
static void ratio_is_one_at_setpoint(void **state)
{
	(void)state;
	for (size_t i = 0; i < NGEOS; i++) {
		if (geos[i].setpoint <= geos[i].freerun)
			continue; /* {0, 1}: setpoint is freerun, (2) wins */
		assert_int_equal(ratio(&geos[i], geos[i].setpoint), ONE);
	}
}

/* (2) */
static void ratio_is_two_at_and_below_freerun(void **state)
{
	(void)state;
	for (size_t i = 0; i < NGEOS; i++) {
		const struct geo *g = &geos[i];

		assert_int_equal(ratio(g, 0), 2 * ONE);
		assert_int_equal(ratio(g, g->freerun), 2 * ONE);
		if (g->freerun > 0)
			assert_int_equal(ratio(g, g->freerun - 1), 2 * ONE);
	}
	/* Just past freerun the curve takes over, from just under 2. */
	assert_in_range(ratio(&geos[0], 150 * MiB + 1), ONE + 1, 2 * ONE);
}

/* (3) */
static void ratio_is_zero_at_and_over_limit(void **state)
{
	(void)state;
	for (size_t i = 0; i < NGEOS; i++) {
		const struct geo *g = &geos[i];

		assert_int_equal(ratio(g, g->thresh), 0);
		if (g->thresh < UINT64_MAX)
			assert_int_equal(ratio(g, g->thresh + 1), 0);
		assert_int_equal(ratio(g, UINT64_MAX), 0);
		/* Short of the limit a writer still moves (step 4). */
		assert_true(ratio(g, g->thresh - 1) > 0);
	}
}

/* (4): sweep each domain from 0 past its limit in 4096 steps. */
static void ratio_never_increases_with_dirty(void **state)
{
	(void)state;
	for (size_t i = 0; i < NGEOS; i++) {
		const struct geo *g = &geos[i];
		uint64_t step = g->thresh / 4096 ? g->thresh / 4096 : 1;
		uint64_t prev = ratio(g, 0), d, r;

		for (d = 0; d <= g->thresh && d <= UINT64_MAX - step;
		     d += step) {
			r = ratio(g, d);
			assert_true(r <= prev);
			assert_true(r <= 2 * ONE);
			prev = r;
		}
	}
	/* Every byte across the curve of a small domain. */
	for (uint64_t d = 0, prev = 2 * ONE; d <= 210; d++) {
		uint64_t r = pacing_pos_ratio(d, 100, 200);

		assert_true(r <= prev);
		prev = r;
	}
}

/* (5) */
static void ratio_is_point_symmetric_about_setpoint(void **state)
{
	const struct geo *g = &geos[0];
	uint64_t span = g->thresh - g->setpoint;

	(void)state;
	for (uint64_t d = 0; d <= span; d += span / 1000)
		assert_int_equal(ratio(g, g->setpoint - d) +
					 ratio(g, g->setpoint + d),
				 2 * ONE);
}

/* (6): the first tenth of the span moves f less than the last tenth. */
static void ratio_is_flat_near_setpoint_steep_near_ends(void **state)
{
	const struct geo *g = &geos[0];
	uint64_t tenth = (g->thresh - g->setpoint) / 10;
	uint64_t near = ratio(g, g->setpoint) - ratio(g, g->setpoint + tenth);
	uint64_t far = ratio(g, g->thresh - tenth) - ratio(g, g->thresh - 1);

	(void)state;
	assert_true(near * 10 < far);
}

/* Step 1: a background threshold at or over thresh becomes thresh / 2. */
static void bg_thresh_over_thresh_is_halved(void **state)
{
	(void)state;
	for (uint64_t d = 0; d <= 200 * MiB; d += MiB)
		assert_int_equal(pacing_pos_ratio(d, 300 * MiB, 200 * MiB),
				 pacing_pos_ratio(d, 100 * MiB, 200 * MiB));
}

static uint64_t pause_at(uint64_t dirty)
{
	return pacing_pause_usec(MiB, dirty, 100 * MiB, 200 * MiB, 50 * MiB);
}

/* (7), first part. */
static void pause_is_zero_up_to_freerun(void **state)
{
	(void)state;
	assert_int_equal(pause_at(0), 0);
	assert_int_equal(pause_at(140 * MiB), 0);
	assert_int_equal(pause_at(150 * MiB), 0);
	assert_true(pause_at(150 * MiB + 1) > 0);
}

/* (7), second part. */
static void pause_grows_as_dirty_nears_limit(void **state)
{
	uint64_t prev = 0, p;

	(void)state;
	for (uint64_t d = 150 * MiB; d < 200 * MiB; d += 64 * 1024) {
		p = pause_at(d);
		assert_true(p >= prev);
		prev = p;
	}
	assert_true(pause_at(199 * MiB) > 8 * pause_at(175 * MiB));
}

/* (7), third part. */
static void pause_is_bounded_by_max_pause(void **state)
{
	(void)state;
	assert_int_equal(pause_at(200 * MiB - 1), PACING_MAX_PAUSE_USEC);
	assert_int_equal(pacing_pause_usec(UINT64_MAX, 160 * MiB, 100 * MiB,
					   200 * MiB, 1),
			 PACING_MAX_PAUSE_USEC);
	/* No bandwidth estimate: the longest pause, never a division by 0. */
	assert_int_equal(
		pacing_pause_usec(1, 160 * MiB, 100 * MiB, 200 * MiB, 0),
		PACING_MAX_PAUSE_USEC);
}

/* (7), fourth part. */
static void pause_holds_at_and_over_limit(void **state)
{
	(void)state;
	assert_true(pause_at(200 * MiB) == PACING_HOLD);
	assert_true(pause_at(UINT64_MAX) == PACING_HOLD);
	/* A limit of 0 holds every writer. */
	assert_true(pacing_pause_usec(1, 0, 0, 0, MiB) == PACING_HOLD);
}

/* The table in pacing.c. */
static void worked_example_matches_the_comment(void **state)
{
	(void)state;
	assert_int_equal(
		pacing_pos_ratio(162 * MiB + MiB / 2, 100 * MiB, 200 * MiB),
		1152);
	assert_int_equal(
		pacing_pos_ratio(187 * MiB + MiB / 2, 100 * MiB, 200 * MiB),
		896);
	assert_int_equal(pacing_pos_ratio(199 * MiB, 100 * MiB, 200 * MiB),
			 119);
	assert_int_equal(pause_at(140 * MiB), 0);
	assert_int_equal(pause_at(162 * MiB + MiB / 2), 17777);
	assert_int_equal(pause_at(175 * MiB), 20000);
	assert_int_equal(pause_at(187 * MiB + MiB / 2), 22857);
	assert_int_equal(pause_at(199 * MiB), 172100);
	assert_true(pause_at(200 * MiB) == PACING_HOLD);
}

/* 2^63-sized values: no overflow in the sums, the shift or the cube. */
static void no_overflow_near_2_to_64(void **state)
{
	uint64_t thresh = UINT64_MAX, bg = 1ULL << 63;
	uint64_t freerun = (UINT64_MAX >> 1) + (1ULL << 62); /* (t + bg) / 2 */
	uint64_t setpoint = freerun + (thresh - freerun) / 2;

	(void)state;
	assert_int_equal(pacing_pos_ratio(setpoint, bg, thresh), ONE);
	assert_int_equal(pacing_pos_ratio(freerun, bg, thresh), 2 * ONE);
	assert_int_equal(pacing_pos_ratio(thresh - 1, bg, thresh) > 0, 1);
	/* 2^60 bytes at 10 * 2^60 bytes/s: a tenth of a second. */
	assert_int_equal(pacing_pause_usec(1ULL << 60, setpoint, bg, thresh,
					   10ULL << 60),
			 100000);
	assert_int_equal(
		pacing_pause_usec(UINT64_MAX, setpoint, bg, thresh, UINT64_MAX),
		PACING_MAX_PAUSE_USEC);
	assert_int_equal(pacing_pause_usec(1, setpoint, bg, thresh, UINT64_MAX),
			 0);
}

static void bw_starts_at_init_and_waits_an_interval(void **state)
{
	struct pacing_bw bw;

	(void)state;
	pacing_bw_init(&bw, 1000, 0);
	assert_true(bw.bps == PACING_BW_INIT_BPS);
	assert_false(pacing_bw_update(&bw, 1000 + 199 * MS_NS, 500 * MiB));
	assert_true(bw.bps == PACING_BW_INIT_BPS);
}

/* 300 ms at 200 MiB/s blended into 100 MiB/s over 3 s: 110 MiB/s. */
static void bw_blends_in_proportion_to_elapsed(void **state)
{
	struct pacing_bw bw;

	(void)state;
	pacing_bw_init(&bw, 0, 0);
	assert_true(pacing_bw_update(&bw, 300 * MS_NS, 60 * MiB));
	assert_true(bw.bps == 110 * MiB);
	assert_true(bw.last_ns == 300 * MS_NS && bw.last_bytes == 60 * MiB);
}

static void bw_long_interval_replaces_estimate(void **state)
{
	struct pacing_bw bw;

	(void)state;
	pacing_bw_init(&bw, 0, 0);
	assert_true(pacing_bw_update(&bw, 4000 * MS_NS, 40 * MiB));
	assert_true(bw.bps == 10 * MiB);
}

static void bw_converges_to_a_steady_rate(void **state)
{
	struct pacing_bw bw;
	uint64_t t = 0, total = 0;

	(void)state;
	pacing_bw_init(&bw, 0, 0);
	for (int i = 0; i < 100; i++) { /* 20 s at 1 GiB/s */
		t += 200 * MS_NS;
		total += 1024 * MiB / 5;
		pacing_bw_update(&bw, t, total);
	}
	assert_in_range(bw.bps, 1023 * MiB, 1024 * MiB);
}

static void bw_idle_interval_keeps_estimate(void **state)
{
	struct pacing_bw bw;

	(void)state;
	pacing_bw_init(&bw, 0, 7);
	assert_false(pacing_bw_update(&bw, 10000 * MS_NS, 7));
	assert_true(bw.bps == PACING_BW_INIT_BPS);
	assert_true(bw.last_ns == 10000 * MS_NS);
}

static void bw_backwards_clock_or_counter_restarts(void **state)
{
	struct pacing_bw bw;

	(void)state;
	pacing_bw_init(&bw, 5000 * MS_NS, 100 * MiB);
	assert_false(pacing_bw_update(&bw, 1000 * MS_NS, 200 * MiB));
	assert_true(bw.last_ns == 1000 * MS_NS && bw.bps == PACING_BW_INIT_BPS);
	assert_false(pacing_bw_update(&bw, 2000 * MS_NS, 1 * MiB));
	assert_true(bw.last_bytes == 1 * MiB && bw.bps == PACING_BW_INIT_BPS);
}

static void ratelimit_shares_bandwidth_among_dirtiers(void **state)
{
	struct pacing_bw bw = { .bps = 100 * MiB };

	(void)state;
	assert_true(pacing_dirty_ratelimit(&bw, 1) == 100 * MiB);
	assert_true(pacing_dirty_ratelimit(&bw, 2) == 50 * MiB);
	assert_true(pacing_dirty_ratelimit(&bw, 0) == 100 * MiB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ratio_is_one_at_setpoint),
		cmocka_unit_test(ratio_is_two_at_and_below_freerun),
		cmocka_unit_test(ratio_is_zero_at_and_over_limit),
		cmocka_unit_test(ratio_never_increases_with_dirty),
		cmocka_unit_test(ratio_is_point_symmetric_about_setpoint),
		cmocka_unit_test(ratio_is_flat_near_setpoint_steep_near_ends),
		cmocka_unit_test(bg_thresh_over_thresh_is_halved),
		cmocka_unit_test(pause_is_zero_up_to_freerun),
		cmocka_unit_test(pause_grows_as_dirty_nears_limit),
		cmocka_unit_test(pause_is_bounded_by_max_pause),
		cmocka_unit_test(pause_holds_at_and_over_limit),
		cmocka_unit_test(worked_example_matches_the_comment),
		cmocka_unit_test(no_overflow_near_2_to_64),
		cmocka_unit_test(bw_starts_at_init_and_waits_an_interval),
		cmocka_unit_test(bw_blends_in_proportion_to_elapsed),
		cmocka_unit_test(bw_long_interval_replaces_estimate),
		cmocka_unit_test(bw_converges_to_a_steady_rate),
		cmocka_unit_test(bw_idle_interval_keeps_estimate),
		cmocka_unit_test(bw_backwards_clock_or_counter_restarts),
		cmocka_unit_test(ratelimit_shares_bandwidth_among_dirtiers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
