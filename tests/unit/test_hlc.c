/*
 * test_hlc.c: the hybrid logical clock: monotonic whatever the wall clock does, receive
 * of a far-ahead remote, counter overflow, saturation, and a randomised property run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "hlc.h"
#include "testutil.h"

static void
test_pack(void **state)
{
	uint64_t t = hlc_make(1764000000000ull, 7);

	(void)state;
	assert_true(hlc_ms(t) == 1764000000000ull);
	assert_int_equal(hlc_counter(t), 7);
	assert_true(hlc_make(1, 0) > hlc_make(0, HLC_COUNTER_MAX));
}

static void
test_send_follows_wall(void **state)
{
	struct hlc c;
	uint64_t t;

	(void)state;
	hlc_init(&c, 0);
	t = hlc_send(&c, 1000);
	assert_true(t == hlc_make(1000, 0));
	t = hlc_send(&c, 1000);
	assert_true(t == hlc_make(1000, 1));
	t = hlc_send(&c, 2000);
	assert_true(t == hlc_make(2000, 0));
	assert_true(c.last == t);
}

static void
test_wall_goes_backwards(void **state)
{
	static const uint64_t walls[] = {5000, 5000, 4999, 100, 0, 5000, 5001, 5001, 3, 6000};
	struct hlc c;
	uint64_t prev = 0;

	(void)state;
	hlc_init(&c, 0);
	for (size_t i = 0; i < sizeof(walls) / sizeof(walls[0]); i++) {
		uint64_t t = hlc_send(&c, walls[i]);

		assert_true(t > prev);
		assert_true(hlc_ms(t) >= walls[i]);
		/* while the wall clock lags, the millisecond part stays put */
		assert_true(hlc_ms(t) <= 6000);
		prev = t;
	}
	assert_true(prev == hlc_make(6000, 0));
}

static void
test_recv_far_ahead(void **state)
{
	struct hlc c;
	uint64_t remote = hlc_make(1000 + 86400000ull, 42), t;

	(void)state;
	hlc_init(&c, hlc_make(1000, 3));
	hlc_recv(&c, remote, 1000);
	t = hlc_send(&c, 1000);
	assert_true(t > remote);
	assert_true(t == hlc_make(1000 + 86400000ull, 43));
	/* an older remote changes nothing */
	hlc_recv(&c, hlc_make(5, 5), 1000);
	assert_true(hlc_send(&c, 1000) == hlc_make(1000 + 86400000ull, 44));
	/* once the wall clock passes it, the clock follows the wall again */
	assert_true(hlc_send(&c, 1000 + 86400001ull) == hlc_make(1000 + 86400001ull, 0));
}

static void
test_counter_overflow(void **state)
{
	struct hlc c;
	uint64_t prev;

	(void)state;
	hlc_init(&c, hlc_make(1000, HLC_COUNTER_MAX - 1));
	assert_true(hlc_send(&c, 1000) == hlc_make(1000, HLC_COUNTER_MAX));
	assert_true(hlc_send(&c, 1000) == hlc_make(1001, 0));
	/* 200000 events in one frozen millisecond: strictly increasing, ms advances */
	hlc_init(&c, 0);
	prev = 0;
	for (int i = 0; i < 200000; i++) {
		uint64_t t = hlc_send(&c, 7);

		assert_true(t > prev);
		prev = t;
	}
	assert_true(hlc_ms(prev) == 7 + 200000 / 65536);
	assert_true(hlc_counter(prev) == 200000 % 65536 - 1);
}

static void
test_limits(void **state)
{
	struct hlc c;

	(void)state;
	hlc_init(&c, 0);
	assert_true(hlc_send(&c, UINT64_MAX) == hlc_make(HLC_MS_MAX, 0));
	hlc_init(&c, UINT64_MAX - 1);
	assert_true(hlc_send(&c, 0) == UINT64_MAX);
	assert_true(hlc_send(&c, 0) == UINT64_MAX); /* saturates, never wraps to 0 */
}

static void
test_ahead(void **state)
{
	(void)state;
	assert_true(hlc_ahead_ms(hlc_make(1500, 9), 1000) == 500);
	assert_true(hlc_ahead_ms(hlc_make(1000, 9), 1000) == 0);
	assert_true(hlc_ahead_ms(hlc_make(10, 0), 1000) == 0);
}

static void
test_wall(void **state)
{
	uint64_t a, b;

	(void)state;
	a = hlc_wall_ms();
	b = hlc_wall_ms();
	assert_true(a > 1600000000000ull); /* after 2020 */
	assert_true(a < HLC_MS_MAX);
	assert_true(b + 1000 > a);
}

/* Random walls (sometimes backwards) and remotes: every send exceeds all it has seen. */
static void
test_property(void **state)
{
	struct tu_rng r;
	uint64_t seed = tu_seed(0x41c0c5), wall = 1000000000, seen = 0;
	struct hlc c;

	(void)state;
	printf("seed %llu\n", (unsigned long long)seed);
	tu_rng_seed(&r, seed);
	hlc_init(&c, 0);
	for (int i = 0; i < 100000; i++) {
		uint64_t x = tu_rng_below(&r, 10);

		if (x < 3)
			wall = wall - tu_rng_below(&r, 50);
		else if (x < 6)
			wall += tu_rng_below(&r, 5);
		if (x == 9) {
			uint64_t remote = hlc_make(wall + tu_rng_below(&r, 100) - 50,
			                           (uint32_t)tu_rng_below(&r, 65536));

			hlc_recv(&c, remote, wall);
			if (remote > seen)
				seen = remote;
		} else {
			uint64_t t = hlc_send(&c, wall);

			assert_true(t > seen);
			assert_true(hlc_ms(t) >= wall);
			seen = t;
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pack),
	    cmocka_unit_test(test_send_follows_wall),
	    cmocka_unit_test(test_wall_goes_backwards),
	    cmocka_unit_test(test_recv_far_ahead),
	    cmocka_unit_test(test_counter_overflow),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_ahead),
	    cmocka_unit_test(test_wall),
	    cmocka_unit_test(test_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
