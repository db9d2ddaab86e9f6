/*
 * test_store_equiv.c: equivocation in the store (daemon/store_equiv.c): a second signed
 * content for a logged or pending (origin, seq) is a proof; the origin is frozen before
 * that seq on every replica, whatever the order in which the two copies (or the proof)
 * arrived, and the cells they won fall back to the change sets that remain.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "arrerr.h"
#include "nodekey.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

#define T0 UINT64_C(1764000000000)

/*
 * The scenario's envelopes: a's seq 1, c's seq 1, and the two copies of a's seq 2. The rows
 * are organisations (region scope), so each write is exactly one change set, one seq.
 */
struct equiv_case {
	struct ts_blobs *a1, *c1, *x, *y;
	char r1[37], r2[37], r3[37];
	char *dir;
	struct ts_replica twin;
};

static void
case_build(struct ts_fixture *f, struct equiv_case *k)
{
	struct ts_replica *a = &f->r[0], *c = &f->r[2];
	int err;

	k->a1 = calloc(1, sizeof(*k->a1));
	k->c1 = calloc(1, sizeof(*k->c1));
	k->x = calloc(1, sizeof(*k->x));
	k->y = calloc(1, sizeof(*k->y));
	ts_new_id(k->r1);
	ts_new_id(k->r2);
	ts_new_id(k->r3);
	a->clock = T0;
	assert_int_equal(ts_write1(a, "organisation", k->r1, "name", value_text("a1")), 0);
	ts_envelope(a, a, 1, k->a1);
	c->clock = T0 + 1;
	assert_int_equal(ts_write1(c, "organisation", k->r1, "name", value_text("c1")), 0);
	ts_envelope(c, c, 1, k->c1);
	/* the same key on a second database: seq 1 as a has it, then another seq 2 */
	k->dir = tu_tmpdir();
	memset(&k->twin, 0, sizeof(k->twin));
	k->twin.key = tu_key(1);
	k->twin.path = tu_path(k->dir, "twin.db");
	k->twin.clock = T0 + 2;
	assert_non_null(k->twin.s = ts_replica_open(&k->twin, &err));
	ts_apply_blobs(&k->twin, k->a1, NULL, NULL);
	a->clock = T0 + 2;
	assert_int_equal(ts_write1(a, "organisation", k->r1, "name", value_text("X")), 0);
	assert_int_equal(ts_write1(a, "organisation", k->r2, "name", value_text("onlyX")), 0);
	assert_int_equal(store_changes_since(a->s, NULL, SIZE_MAX, ts_collect, k->x, NULL), 0);
	assert_int_equal(ts_write1(&k->twin, "organisation", k->r1, "name", value_text("Y")), 0);
	assert_int_equal(ts_write1(&k->twin, "organisation", k->r3, "name", value_text("onlyY")),
	                 0);
	ts_envelope(&k->twin, &k->twin, 2, k->y);
	ts_envelope(&k->twin, &k->twin, 3, k->y);
}

static void
case_free(struct equiv_case *k)
{
	struct ts_blobs *all[] = {k->a1, k->c1, k->x, k->y};

	for (size_t i = 0; i < 4; i++) {
		ts_blobs_free(all[i]);
		free(all[i]);
	}
	ts_replica_fini(&k->twin);
	tu_rmtree(k->dir);
}

/* Keep only a's envelopes of seq >= 2 from what store_changes_since gave. */
static void
keep_from_seq2(struct ts_blobs *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++) {
		if (b->seq[i] >= 2) {
			b->data[n] = b->data[i];
			b->len[n] = b->len[i];
			b->seq[n++] = b->seq[i];
		} else {
			free(b->data[i]);
		}
	}
	b->n = n;
}

/* What a frozen replica must hold: r1 back to c's value, r2 and r3 gone, a at seq 1. */
static void
check_masked(struct ts_replica *r, struct ts_replica *a)
{
	uint64_t from = 0;
	uint8_t h[32];

	assert_int_equal(store_equiv_frozen(r->s, nodekey_public(a->key), &from), 0);
	assert_int_equal(from, 2);
	assert_int_equal(ts_seq_of(r, a), 1);
	assert_int_equal(store_loghash(r->s, nodekey_public(a->key), 2, h), ARR_ENOTFOUND);
	assert_int_equal(ts_quarantine_count(r), 0);
}

static void
row_is(struct ts_replica *r, const char *id, const char *want)
{
	struct ts_rowtext t = {{0}, 0};
	int rc = store_get(r->s, "organisation", id, ts_row_to_text, &t);

	if (want == NULL) {
		assert_int_equal(rc, ARR_ENOTFOUND);
		return;
	}
	assert_int_equal(rc, 0);
	assert_string_equal(t.buf, want);
}

/* X then Y on b, Y then X on c, X and the proof on a fresh d: one state everywhere. */
static void
test_order_does_not_matter(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2], d;
	struct store_apply_stats st;
	struct equiv_case k;
	uint8_t db[32], dc[32], dd[32], hb[32], hc[32];
	bool fresh = false;

	case_build(f, &k);
	keep_from_seq2(k.x);
	b->clock = c->clock = T0 + 10;
	ts_apply_blobs(b, k.a1, NULL, NULL);
	ts_apply_blobs(b, k.c1, NULL, NULL);
	ts_apply_blobs(b, k.x, NULL, &st);
	assert_int_equal(st.applied, 2);
	row_is(b, k.r1, "kind=nil;name='X';code=nil;");
	ts_apply_blobs(b, k.y, NULL, &st);
	assert_int_equal(st.equivocations, 1);

	/* c: Y's seq 3 first (pending), then a1, then X (applied), then Y's seq 2 */
	struct ts_blobs y3 = {0};
	y3.data[0] = k.y->data[1];
	y3.len[0] = k.y->len[1];
	y3.n = 1;
	ts_apply_blobs(c, &y3, NULL, NULL);
	ts_apply_blobs(c, k.a1, NULL, NULL);
	ts_apply_blobs(c, k.x, NULL, &st);
	ts_apply_blobs(c, k.y, NULL, &st);
	assert_int_equal(st.equivocations, 1);

	/* d: only X, then the proof as a peer relays it */
	ts_replica_init(&d, k.dir, "d.db", 4);
	ts_member_add(&d, a);
	ts_member_add(&d, c);
	d.clock = T0 + 10;
	ts_apply_blobs(&d, k.a1, NULL, NULL);
	ts_apply_blobs(&d, k.c1, NULL, NULL);
	ts_apply_blobs(&d, k.x, NULL, NULL);
	assert_int_equal(
	    store_equiv_evidence(d.s, k.y->data[0], k.y->len[0], k.x->data[0], k.x->len[0], &fresh),
	    0);
	assert_true(fresh);
	assert_int_equal(
	    store_equiv_evidence(d.s, k.x->data[0], k.x->len[0], k.y->data[0], k.y->len[0], &fresh),
	    0);
	assert_false(fresh);
	/* not a proof: the same bytes twice, or one envelope cut short */
	assert_int_equal(
	    store_equiv_evidence(d.s, k.x->data[0], k.x->len[0], k.x->data[0], k.x->len[0], &fresh),
	    ARR_EINVAL);
	assert_int_equal(store_equiv_evidence(d.s, k.x->data[0], k.x->len[0], k.y->data[0],
	                                      k.y->len[0] - 1, &fresh),
	                 ARR_EINVAL);
	/* the frozen origin's later change sets are not applied again */
	ts_apply_blobs(&d, k.y, NULL, &st);
	assert_int_equal(st.applied, 0);

	struct ts_replica *all[] = {b, c, &d};
	for (size_t i = 0; i < 3; i++) {
		check_masked(all[i], a);
		row_is(all[i], k.r1, "kind=nil;name='c1';code=nil;");
		row_is(all[i], k.r2, NULL);
		row_is(all[i], k.r3, NULL);
	}
	ts_digest(b, db);
	ts_digest(c, dc);
	ts_digest(&d, dd);
	assert_memory_equal(db, dc, 32);
	assert_memory_equal(db, dd, 32);
	assert_int_equal(store_loghash(b->s, nodekey_public(a->key), 1, hb), 0);
	assert_int_equal(store_loghash(c->s, nodekey_public(a->key), 1, hc), 0);
	assert_memory_equal(hb, hc, 32);

	ts_replica_fini(&d);
	case_free(&k);
}

/* Equal logs have equal chain hashes; one different envelope changes every later one. */
static void
test_chain_hash(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct equiv_case k;
	uint8_t ha[32], hb[32], hc[32], zero[32] = {0};

	case_build(f, &k);
	b->clock = c->clock = T0 + 10;
	ts_apply_blobs(b, k.a1, NULL, NULL);
	ts_apply_blobs(c, k.a1, NULL, NULL);
	keep_from_seq2(k.x);
	ts_apply_blobs(b, k.x, NULL, NULL);
	ts_apply_blobs(c, k.y, NULL, NULL);
	assert_int_equal(ts_seq_of(b, a), ts_seq_of(c, a)); /* equal vectors */
	assert_int_equal(store_loghash(a->s, nodekey_public(a->key), 1, ha), 0);
	assert_int_equal(store_loghash(b->s, nodekey_public(a->key), 1, hb), 0);
	assert_int_equal(store_loghash(c->s, nodekey_public(a->key), 1, hc), 0);
	assert_memory_equal(ha, hb, 32);
	assert_memory_equal(hb, hc, 32);
	assert_memory_not_equal(ha, zero, 32);
	assert_int_equal(store_loghash(b->s, nodekey_public(a->key), 3, hb), 0);
	assert_int_equal(store_loghash(c->s, nodekey_public(a->key), 3, hc), 0);
	assert_memory_not_equal(hb, hc, 32);
	assert_int_equal(store_loghash(a->s, nodekey_public(a->key), 3, ha), 0);
	assert_memory_equal(ha, hb, 32);
	assert_int_equal(store_envhash(b->s, nodekey_public(a->key), 1, hb), 0);
	assert_int_equal(store_envhash(c->s, nodekey_public(a->key), 1, hc), 0);
	assert_memory_equal(hb, hc, 32);
	assert_int_equal(store_envhash(b->s, nodekey_public(a->key), 2, hb), 0);
	assert_int_equal(store_envhash(c->s, nodekey_public(a->key), 2, hc), 0);
	assert_memory_not_equal(hb, hc, 32);
	case_free(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order_does_not_matter, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_chain_hash, ts_setup, ts_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
