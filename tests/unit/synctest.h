/*
 * synctest.h: the fixture the peer layer's lag tests share (test_sync_lazy.c,
 * test_sync_grace.c): a struct sync with one peer and no sockets, so no message leaves,
 * and no store, so nothing is quarantined. Include after <cmocka.h>. Test code only.
 */
#ifndef SYNCTEST_H
#define SYNCTEST_H

#include <stdlib.h>
#include <string.h>

#include "sync_int.h"
#include "vv.h"

/* Three origins, x, y and z (bytes of 1, 2 and 3), for the vectors of the tests. */
static uint8_t ox[ARR_ORIGIN_LEN], oy[ARR_ORIGIN_LEN], oz[ARR_ORIGIN_LEN];

/* A vector {x: x, y: y, z: z} (zero seqs left out). */
static inline struct vv *
synctest_vv(uint64_t x, uint64_t y, uint64_t z)
{
	struct vv *v = vv_new();

	memset(ox, 1, sizeof(ox));
	memset(oy, 2, sizeof(oy));
	memset(oz, 3, sizeof(oz));
	assert_non_null(v);
	assert_int_equal(vv_set(v, ox, x), 0);
	assert_int_equal(vv_set(v, oy, y), 0);
	assert_int_equal(vv_set(v, oz, z), 0);
	return v;
}

/* A sync with one peer that holds ours (taken) and nothing else. */
static inline struct sync *
synctest_new(struct vv *ours)
{
	struct sync *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	assert_non_null(s->peers = calloc(1, sizeof(*s->peers)));
	s->npeers = 1;
	s->set.heartbeat_ms = 1000;
	s->ours = ours;
	assert_non_null(s->held = vv_dup(ours));
	return s;
}

/* Free s, its peer's eager/lazy state and the lag state. */
static inline void
synctest_free(struct sync *s)
{
	sync_lazy_reset(&s->peers[0]);
	vv_destroy(&s->peers[0].known);
	free(s->peers);
	vv_destroy(&s->ours);
	vv_destroy(&s->held);
	vv_destroy(&s->queued);
	vv_destroy(&s->lag_pulled);
	sync_grace_free(s);
	free(s);
}

#endif
