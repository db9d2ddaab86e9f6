/*
 * test_sync_lazy.c: the lag check of eager/lazy push (daemon/sync_lazy.c). After its
 * timer it asks only for what is still missing: not what waits in the apply queue, not
 * what another peer's lag check pulled just now (the next vector starts it anew), and
 * its pull's vector keeps every other origin out of the page; only missing origins are
 * GRAFTed. No sockets: the peers have no link, so no message leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synctest.h"

/* A sync with one peer and no sockets: we hold {x: 5}. */
static int
setup(void **state)
{
	struct sync *s;

	s = synctest_new(synctest_vv(5, 0, 0));
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	synctest_free(*state);
	return 0;
}

/* Missing: announced beyond what we hold and have queued, and not pulled just now. */
static void
test_missing(void **state)
{
	struct sync *s = *state;
	struct peer *p = &s->peers[0];
	struct vv *miss;

	p->lag = synctest_vv(7, 2, 0);
	assert_non_null(s->queued = vv_new());
	assert_int_equal(vv_set(s->queued, oy, 2), 0); /* y is in the apply queue */
	assert_non_null(miss = sync_lazy_missing(s, p, 1000));
	assert_int_equal(vv_count(miss), 1);
	assert_int_equal(vv_get(miss, ox), 1);
	vv_destroy(&miss);
	/* another peer's lag check pulled x 50 ms ago: its page is due */
	assert_non_null(s->lag_pulled = vv_new());
	assert_int_equal(vv_set(s->lag_pulled, ox, 950), 0);
	assert_null(sync_lazy_missing(s, p, 1000));
	/* ... but not SYNC_LAG_MS later */
	assert_non_null(miss = sync_lazy_missing(s, p, 950 + SYNC_LAG_MS));
	assert_int_equal(vv_get(miss, ox), 1);
	vv_destroy(&miss);
	/* the queue drained without applying y: y is missing again */
	vv_destroy(&s->queued);
	assert_non_null(miss = sync_lazy_missing(s, p, 950 + SYNC_LAG_MS));
	assert_int_equal(vv_count(miss), 2);
	vv_destroy(&miss);
}

/* The pull's vector: ours for the missing origins, what the peer has for the others. */
static void
test_pull_vector(void **state)
{
	struct sync *s = *state;
	struct peer *p = &s->peers[0];
	struct vv *miss = synctest_vv(1, 0, 0), *v;

	/* never told: ours */
	assert_non_null(v = sync_lazy_pull_vector(p, s->held, miss));
	assert_int_equal(vv_get(v, ox), 5);
	assert_int_equal(vv_count(v), 1);
	vv_destroy(&v);
	p->known = synctest_vv(9, 4, 3);
	assert_non_null(v = sync_lazy_pull_vector(p, s->held, miss));
	assert_int_equal(vv_get(v, ox), 5); /* missing: the page brings 6.. */
	assert_int_equal(vv_get(v, oy), 4); /* on its way elsewhere: none of it */
	assert_int_equal(vv_get(v, oz), 3);
	vv_destroy(&v);
	/* never lowered below ours */
	vv_destroy(&p->known);
	p->known = synctest_vv(2, 0, 0);
	vv_destroy(&miss);
	miss = synctest_vv(0, 1, 0);
	assert_non_null(v = sync_lazy_pull_vector(p, s->held, miss));
	assert_int_equal(vv_get(v, ox), 5);
	vv_destroy(&v);
	vv_destroy(&miss);
}

/*
 * The check: what another peer was just asked for is not asked again (the lag dropped);
 * later, what is still missing is GRAFTed (only that) and pulled.
 */
static void
test_check(void **state)
{
	struct sync *s = *state;
	struct peer *p = &s->peers[0];

	p->lag = synctest_vv(7, 2, 0);
	p->lag_at = 1000;
	p->pruned = synctest_vv(1, 1, 0);
	assert_non_null(s->queued = vv_new());
	assert_int_equal(vv_set(s->queued, oy, 2), 0);
	assert_non_null(s->lag_pulled = vv_new());
	assert_int_equal(vv_set(s->lag_pulled, ox, 1050), 0);
	sync_lazy_check(s, p, 1050 + SYNC_LAG_MS - 1); /* x pulled elsewhere just now */
	assert_null(p->lag);                           /* dropped: p's next vector, anew */
	assert_int_equal(vv_get(p->pruned, ox), 1);
	p->lag = synctest_vv(7, 2, 0);
	p->lag_at = 1100;
	sync_lazy_check(s, p, 1050 + SYNC_LAG_MS + 48); /* not due yet */
	assert_non_null(p->lag);
	sync_lazy_check(s, p, 1050 + 2 * SYNC_LAG_MS - 1); /* x still missing: graft, pull */
	assert_null(p->lag);
	assert_int_equal(vv_get(p->pruned, ox), 0);
	assert_int_equal(vv_get(p->pruned, oy), 1); /* queued: not grafted */
	/* what we lack no longer: nothing to do */
	p->lag = synctest_vv(5, 0, 0);
	p->lag_at = 0;
	sync_lazy_check(s, p, SYNC_LAG_MS);
	assert_null(p->lag);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pull_vector, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
