/*
 * test_sync_grace.c: the lag grace (daemon/sync_grace.c) and the lag check that waits
 * for it (daemon/sync_lazy.c). The grace is learnt from how long pushes take to come
 * after the announcement that showed them lacking: with slow pushes the lag check waits
 * longer and does not GRAFT or pull what the push then brings; with fast pushes a lost
 * push is repaired after SYNC_GRACE_MIN_MS; when no push of the origin comes, after
 * SYNC_GRACE_STALL_MS at most; never later than SYNC_GRACE_MAX_MS. No
 * sockets: the peer has no link, so no message leaves; a GRAFT shows as the origin
 * leaving the peer's pruned set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synctest.h"

/* A sync with one peer and no sockets: we hold {x: 5}; x is pruned at the peer. */
static int
setup(void **state)
{
	struct sync *s;

	s = synctest_new(synctest_vv(5, 0, 0));
	s->peers[0].pruned = synctest_vv(1, 0, 0);
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	synctest_free(*state);
	return 0;
}

/*
 * n rounds in which an announcement shows x one past what we hold and the push brings it
 * push_ms later; the clock from *t on.
 */
static void
pushes_take(struct sync *s, int n, uint64_t push_ms, uint64_t *t)
{
	struct vv *ann = synctest_vv(6, 0, 0);

	for (int i = 0; i < n; i++) {
		sync_grace_on_announce(s, ann, *t);
		sync_grace_on_push(s, ox, 5, *t + push_ms / 2); /* one we hold: no sample */
		sync_grace_on_push(s, ox, 6, *t + push_ms);
		*t += push_ms + 10;
	}
	assert_int_equal(s->grace.samples, n);
	vv_destroy(&ann);
}

/* SYNC_LAG_MS before any push was timed; then the 90th percentile plus a quarter, clamped. */
static void
test_grace_of_samples(void **state)
{
	struct sync *s = *state;

	assert_int_equal(sync_grace_ms(s), SYNC_LAG_MS);
	for (int i = 0; i < SYNC_GRACE_SAMPLES; i++)
		sync_grace_sample(s, i < SYNC_GRACE_SAMPLES - 6 ? 200 : 1000); /* 6 of 64 slow */
	assert_int_equal(sync_grace_ms(s), 250);
	for (int i = 0; i < SYNC_GRACE_SAMPLES / 2; i++)
		sync_grace_sample(s, 1000); /* now 38 of 64 slow */
	assert_int_equal(sync_grace_ms(s), 1250);
	for (int i = 0; i < SYNC_GRACE_SAMPLES; i++)
		sync_grace_sample(s, 4); /* the old ones forgotten; the floor */
	assert_int_equal(sync_grace_ms(s), SYNC_GRACE_MIN_MS);
	sync_grace_sample(s, 60000);
	for (int i = 0; i < SYNC_GRACE_SAMPLES; i++)
		sync_grace_sample(s, 9000); /* the ceiling */
	assert_int_equal(sync_grace_ms(s), SYNC_GRACE_MAX_MS);
	assert_int_equal(s->grace.samples, 3 * SYNC_GRACE_SAMPLES + SYNC_GRACE_SAMPLES / 2 + 1);
}

/*
 * A push is timed from the first announcement showing it lacking until a push brings
 * it, even when a pull brought it first (it is a duplicate then); an announcement of
 * what we have is not timed, nor a push that never comes.
 */
static void
test_timing(void **state)
{
	struct sync *s = *state;
	struct vv *have = synctest_vv(5, 0, 0), *ahead = synctest_vv(8, 0, 0),
	          *further = synctest_vv(9, 0, 0);

	sync_grace_on_announce(s, have, 1000);
	sync_grace_on_push(s, ox, 6, 1100);
	assert_int_equal(s->grace.samples, 0);
	sync_grace_on_announce(s, ahead, 1000);
	sync_grace_on_announce(s, further, 1100); /* the lack of x is timed from 1000 */
	sync_grace_on_push(s, ox, 7, 1200);       /* before the one announced */
	assert_int_equal(s->grace.samples, 0);
	sync_grace_on_push(s, ox, 8, 1400);
	assert_int_equal(s->grace.samples, 1);
	assert_int_equal(sync_grace_ms(s), 500);
	sync_grace_on_push(s, ox, 9, 1500); /* nothing waits for it any more */
	assert_int_equal(s->grace.samples, 1);
	/* we hold 9 (a pull brought it): its push still counts when it comes */
	vv_destroy(&s->ours);
	s->ours = synctest_vv(9, 0, 0);
	vv_destroy(&ahead);
	ahead = synctest_vv(11, 0, 0);
	sync_grace_on_announce(s, ahead, 2000);
	vv_destroy(&s->ours);
	s->ours = synctest_vv(11, 0, 0);
	sync_grace_on_push(s, ox, 11, 2800);
	assert_int_equal(s->grace.samples, 2);
	assert_int_equal(sync_grace_ms(s), 1000);
	/* a push that never came: the next announcement times anew */
	vv_destroy(&ahead);
	ahead = synctest_vv(12, 0, 0);
	sync_grace_on_announce(s, ahead, 3000);
	sync_grace_on_announce(s, ahead, 3000 + SYNC_GRACE_FORGET_MS + 1);
	sync_grace_on_push(s, ox, 12, 3000 + SYNC_GRACE_FORGET_MS + 101);
	assert_int_equal(s->grace.samples, 3);
	vv_destroy(&have);
	vv_destroy(&ahead);
	vv_destroy(&further);
}

/*
 * Pushes take 800 ms: the lag check does not act at the fixed 100 ms of before; past
 * the stalled grace it waits on while pushes of the missing origin keep coming; and when
 * the push has come by the grace it neither GRAFTs nor pulls.
 */
static void
test_slow_push_not_raced(void **state)
{
	struct sync *s = *state;
	struct peer *p = &s->peers[0];
	struct vv *ann = synctest_vv(6, 0, 0);
	uint64_t t = 10000;

	pushes_take(s, 20, 800, &t);
	assert_int_equal(sync_grace_ms(s), 1000);
	assert_int_equal(sync_grace_stalled_ms(s), SYNC_GRACE_STALL_MS);
	sync_lazy_note_lag(s, p, ann, t);
	assert_non_null(p->lag);
	sync_lazy_check(s, p, t + 2 * SYNC_LAG_MS);
	assert_non_null(p->lag); /* still waiting for the push */
	assert_int_equal(vv_get(p->pruned, ox), 1);
	/* a push of x (one before the announced) comes: the eager path is bringing x */
	assert_non_null(p->fed = vv_new());
	assert_int_equal(vv_set(p->fed, ox, t + 300), 0);
	assert_int_equal(sync_lazy_lag_due(s, p), t + SYNC_GRACE_STALL_MS);
	sync_lazy_check(s, p, t + SYNC_GRACE_STALL_MS + 50);
	assert_non_null(p->lag);
	assert_int_equal(vv_get(p->pruned, ox), 1);
	/* the loop sleeps until the next look, not at once (no busy loop while waiting) */
	assert_int_equal(sync_lazy_lag_due(s, p),
	                 t + SYNC_GRACE_STALL_MS + 50 + SYNC_GRACE_RECHECK_MS);
	/* the push comes */
	sync_grace_on_push(s, ox, 6, t + 800);
	assert_non_null(s->queued = synctest_vv(6, 0, 0));
	sync_lazy_check(s, p, t + sync_grace_ms(s));
	assert_null(p->lag);                        /* checked: nothing missing */
	assert_int_equal(vv_get(p->pruned, ox), 1); /* no GRAFT */
	assert_null(s->lag_pulled);                 /* no pull */
	vv_destroy(&ann);
}

/*
 * A push that is lost is repaired (GRAFT, pull) SYNC_GRACE_MIN_MS after the announcement
 * when pushes take 20 ms; when they are slow, SYNC_GRACE_STALL_MS after it if no push
 * of the origin comes meanwhile, and SYNC_GRACE_MAX_MS after it at the latest.
 */
static void
test_lost_push_repaired(void **state)
{
	struct sync *s = *state;
	struct peer *p = &s->peers[0];
	struct vv *ann = synctest_vv(6, 3, 0);
	uint64_t t = 10000;

	for (int i = 0; i < SYNC_GRACE_SAMPLES; i++)
		sync_grace_sample(s, 20);
	assert_int_equal(sync_grace_ms(s), SYNC_GRACE_MIN_MS);
	sync_lazy_note_lag(s, p, ann, t);
	sync_lazy_check(s, p, t + SYNC_GRACE_MIN_MS - 1);
	assert_non_null(p->lag);
	sync_lazy_check(s, p, t + SYNC_GRACE_MIN_MS);
	assert_null(p->lag);
	assert_int_equal(vv_get(p->pruned, ox), 0); /* GRAFTed */
	/* slow pushes, none of x or y since the announcement */
	for (int i = 0; i < SYNC_GRACE_SAMPLES; i++)
		sync_grace_sample(s, 30000);
	assert_int_equal(sync_grace_ms(s), SYNC_GRACE_MAX_MS);
	vv_destroy(&p->pruned);
	p->pruned = synctest_vv(1, 0, 0);
	sync_lazy_note_lag(s, p, ann, t);
	sync_lazy_check(s, p, t + SYNC_GRACE_STALL_MS - 1);
	assert_non_null(p->lag);
	sync_lazy_check(s, p, t + SYNC_GRACE_STALL_MS);
	assert_null(p->lag);
	assert_int_equal(vv_get(p->pruned, ox), 0);
	/* pushes of x and y keep coming, but not the announced ones: at the ceiling */
	vv_destroy(&p->pruned);
	p->pruned = synctest_vv(1, 0, 0);
	assert_non_null(p->fed = synctest_vv(t + 10, t + 20, 0));
	sync_lazy_note_lag(s, p, ann, t);
	sync_lazy_check(s, p, t + SYNC_GRACE_MAX_MS - 1);
	assert_non_null(p->lag);
	sync_lazy_check(s, p, t + SYNC_GRACE_MAX_MS);
	assert_null(p->lag);
	assert_int_equal(vv_get(p->pruned, ox), 0);
	vv_destroy(&ann);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_grace_of_samples, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_push_not_raced, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lost_push_repaired, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
