/*
 * test_idlepace.c: background steps wait for an idle loop (daemon/idlepace.c), and a
 * loop that is never idle still gets one a period.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "idlepace.h"

/* A loop busy up to now waits IDLEPACE_IDLE_MS; then the step is due. */
static void
test_waits_for_idle(void **state)
{
	struct idlepace p = {0};
	uint64_t t = 100000;

	(void)state;
	idlepace_ran(&p, t - 10);
	idlepace_busy(&p, t);
	assert_false(idlepace_due(&p, t));
	assert_int_equal(idlepace_wait_ms(&p, t), IDLEPACE_IDLE_MS);
	assert_int_equal(idlepace_wait_ms(&p, t + 20), IDLEPACE_IDLE_MS - 20);
	assert_false(idlepace_due(&p, t + IDLEPACE_IDLE_MS - 1));
	assert_true(idlepace_due(&p, t + IDLEPACE_IDLE_MS));
}

/* Busy every 10 ms for ever: a step is still due once IDLEPACE_STARVE_MS after the last. */
static void
test_never_idle_still_steps(void **state)
{
	struct idlepace p = {0};
	uint64_t t = 100000, steps = 0, start = t;

	(void)state;
	idlepace_ran(&p, t);
	for (; t < start + 10 * IDLEPACE_STARVE_MS; t += 10) {
		idlepace_busy(&p, t);
		if (idlepace_due(&p, t)) {
			steps++;
			idlepace_ran(&p, t);
		}
		assert_true(idlepace_wait_ms(&p, t) <= IDLEPACE_STARVE_MS);
	}
	assert_int_equal(steps, 9); /* at start + 1000, 2000, ..., 9000 */
}

/* An idle loop steps at once, one step after another. */
static void
test_idle_steps_back_to_back(void **state)
{
	struct idlepace p = {0};
	uint64_t t = 100000;

	(void)state;
	idlepace_busy(&p, t - IDLEPACE_IDLE_MS);
	for (int i = 0; i < 5; i++, t += 5) {
		assert_true(idlepace_due(&p, t));
		idlepace_ran(&p, t);
	}
	assert_int_equal(idlepace_wait_ms(&p, t), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_waits_for_idle),
	    cmocka_unit_test(test_never_idle_still_steps),
	    cmocka_unit_test(test_idle_steps_back_to_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
