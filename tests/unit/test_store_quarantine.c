/*
 * test_store_quarantine.c: the quarantine (daemon/store_quarantine.c): non-members and clock drift
 * are kept with a reason, and a retry or a redelivery applies them once they are acceptable;
 * a flood stays within the budgets (oldest evicted and counted, junk apart from members).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arrerr.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

/*
 * a writes one row (its id into id); its change set 1, delivered to b, is quarantined.
 * The rows of this file are organisations (region scope): one write is one change set.
 */
static void
quarantined_write(struct ts_replica *a, struct ts_replica *b, char id[37],
                  struct store_apply_stats *st)
{
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	enum store_outcome o;

	ts_new_id(id);
	assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("x")), 0);
	ts_envelope(a, a, 1, bl);
	ts_apply_blobs(b, bl, &o, st);
	assert_int_equal(o, STORE_QUARANTINED);
	ts_blobs_free(bl);
	free(bl);
}

static void
test_nonmember_then_retry(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_apply_stats st;
	struct ts_qlast q = {0};
	char id[37];

	b->members.n = 0; /* b knows nobody */
	quarantined_write(a, b, id, &st);
	assert_int_equal(st.quarantined, 1);
	assert_int_equal(store_quarantine_list(b->s, 0, ts_q_collect, &q), 0);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.reason, ARR_ENOTMEMBER);
	assert_true(q.has_origin);

	/* retry without a change: stays, counts the attempt */
	assert_int_equal(store_quarantine_retry(b->s, -1, &st), 0);
	assert_int_equal(st.quarantined, 1);
	memset(&q, 0, sizeof(q));
	assert_int_equal(store_quarantine_list(b->s, 0, ts_q_collect, &q), 0);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.attempts, 1);

	/* a joins: retry applies it and it leaves the quarantine */
	ts_member_add(b, a);
	store_set_members(b->s, ts_member_org, &b->members);
	assert_int_equal(store_quarantine_retry(b->s, q.id, &st), 0);
	assert_int_equal(st.applied, 1);
	assert_int_equal(ts_quarantine_count(b), 0);
	assert_int_equal(ts_seq_of(b, a), 1);
	assert_int_equal(store_quarantine_retry(b->s, q.id, &st), ARR_ENOTFOUND);
}

static void
test_clock_drift_then_retry(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_apply_stats st;
	struct ts_qlast q = {0};
	char id[37];

	a->clock = b->clock + 60001; /* b allows 60000 ms */
	quarantined_write(a, b, id, &st);
	assert_int_equal(store_quarantine_list(b->s, 0, ts_q_collect, &q), 0);
	assert_int_equal(q.reason, ARR_ECLOCK);
	struct store_stats ss;
	assert_int_equal(store_stats(b->s, &ss), 0);
	assert_int_equal(ss.clock_rejected, 1); /* the metrics' clock guard counter */
	assert_true(ss.fs_size_bytes > 0 && ss.fs_free_bytes <= ss.fs_size_bytes);

	b->clock += 1; /* exactly at the allowed drift now */
	assert_int_equal(store_quarantine_retry(b->s, -1, &st), 0);
	assert_int_equal(store_stats(b->s, &ss), 0);
	assert_int_equal(ss.clock_rejected, 1);
	assert_int_equal(st.applied, 1);
	assert_int_equal(st.quarantined, 0);
	assert_int_equal(ts_seq_of(b, a), 1);
	/* b's clock moved past a's timestamp: its next write sorts after it */
	char id2[37];
	ts_new_id(id2);
	assert_int_equal(ts_write1(b, "organisation", id, "name", value_text("later")), 0);
	ts_pull(b, a, 1 << 20);
	struct ts_rowtext t = {{0}, 0};
	assert_int_equal(store_get(a->s, "organisation", id, ts_row_to_text, &t), 0);
	assert_string_equal(t.buf, "kind=nil;name='later';code=nil;");
}

/*
 * A change set quarantined for its clock comes back by a later pull once it is within
 * drift: it is applied and its quarantine entry goes with it (it used to stay listed
 * until someone ran a retry). A retry of everything copes with an entry that an earlier
 * one took along: seq 2, pending behind seq 1, is applied when seq 1 is.
 */
static void
test_clock_drift_redelivered(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_blobs *bl = calloc(1, sizeof(*bl)), *two = calloc(1, sizeof(*two));
	struct store_apply_stats st;
	enum store_outcome o[3];
	char id[37];

	a->clock = b->clock + 60001; /* b allows 60000 ms */
	ts_new_id(id);
	assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("x")), 0);
	assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("y")), 0);
	assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("z")), 0);
	for (uint64_t seq = 1; seq <= 3; seq++)
		ts_envelope(a, a, seq, bl);
	ts_apply_blobs(b, bl, o, &st);
	assert_int_equal(st.quarantined, 3);
	assert_int_equal(ts_quarantine_count(b), 3);

	/* within drift now; seq 2 alone comes back first and waits for seq 1 */
	b->clock += 10;
	ts_envelope(a, a, 2, two);
	ts_apply_blobs(b, two, o, &st);
	assert_int_equal(o[0], STORE_PENDING);
	assert_int_equal(ts_quarantine_count(b), 3);

	/* the retry applies seq 1, which takes seq 2 along; seq 3 follows */
	assert_int_equal(store_quarantine_retry(b->s, -1, &st), 0);
	assert_int_equal(st.applied, 3);
	assert_int_equal(ts_seq_of(b, a), 3);
	assert_int_equal(ts_quarantine_count(b), 0);

	/* and on a fresh replica, a redelivery alone empties the quarantine */
	struct ts_replica *c = &f->r[2];
	ts_apply_blobs(c, bl, o, &st);
	assert_int_equal(ts_quarantine_count(c), 3);
	c->clock += 10;
	ts_apply_blobs(c, bl, o, &st);
	assert_int_equal(st.applied, 3);
	assert_int_equal(ts_seq_of(c, a), 3);
	assert_int_equal(ts_quarantine_count(c), 0);
	ts_apply_blobs(c, bl, o, &st);
	assert_int_equal(st.duplicates, 3);
	assert_int_equal(ts_quarantine_count(c), 0);
	ts_blobs_free(bl);
	ts_blobs_free(two);
	free(bl);
	free(two);
}

/* Entries in b's quarantine with reason (ts_q_collect would keep only the last). */
struct q_tally {
	size_t n, with_reason;
	int reason;
	int64_t min_id;
};

static int
q_tally(void *ctx, const struct store_quarantined *q)
{
	struct q_tally *t = ctx;

	if (t->n++ == 0 || q->id < t->min_id)
		t->min_id = q->id;
	t->with_reason += q->reason == t->reason;
	return 0;
}

/*
 * A quarantine flood. Junk (bytes that do not decode, and a member's change sets with a
 * broken signature) counts against one budget of 50 entries: the oldest are evicted and
 * counted, and they are records of 128 bytes without their bytes. A member's change sets
 * refused for their clock count against that member's own budget of 5, which the junk
 * does not touch; its oldest are evicted too, and a pull fetches them again once the
 * clock allows. A retry of everything leaves the records as they are.
 */
static void
test_quarantine_flood_budget(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_budget bud = {.quarantine_count = 5, .junk_count = 50};
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct store_apply_stats st;
	struct store_budget_stats bs;
	struct q_tally t = {.reason = ARR_ECLOCK};
	uint8_t junk[300];
	char id[37];

	store_set_budget(b->s, &bud);
	a->clock = b->clock + 60001; /* b allows 60000 ms */
	ts_new_id(id);
	for (int i = 0; i < 12; i++) {
		char code[16];

		snprintf(code, sizeof(code), "C%d", 2000 + i); /* all of one length */
		assert_int_equal(ts_write1(a, "organisation", id, "code", value_text(code)), 0);
	}
	assert_int_equal(store_changes_since(a->s, NULL, SIZE_MAX, ts_collect, bl, NULL), 0);
	ts_apply_blobs(b, bl, NULL, &st);
	assert_int_equal(st.quarantined, 12);
	assert_int_equal(ts_quarantine_count(b), 5);
	assert_int_equal(store_budget_stats(b->s, &bs), 0);
	assert_int_equal(bs.quarantine_evicted, 7);

	/* where the signature lies in the envelope (the body follows it) */
	struct changeset *cs = NULL;
	assert_int_equal(changeset_decode(bl->data[0], bl->len[0], &cs), 0);
	size_t sig_at = (size_t)(cs->sig - cs->raw);
	changeset_destroy(&cs);

	/* 200 pieces of junk and 100 bad signatures: 50 records stay, the newest */
	for (int i = 0; i < 300; i++) {
		struct store_blob item = {junk, sizeof(junk)};

		memset(junk, i & 0xff, sizeof(junk));
		junk[0] = (uint8_t)(i >> 8);
		if (i >= 200) {
			memcpy(junk, bl->data[0], bl->len[0]);
			junk[sig_at + (size_t)(i - 200) % ARR_SIG_LEN] ^= 1;
			item.len = bl->len[0];
		}
		assert_int_equal(store_apply(b->s, &item, 1, NULL, &st), 0);
		assert_int_equal(st.quarantined_new, 1);
	}
	assert_int_equal(store_quarantine_list(b->s, 0, q_tally, &t), 0);
	assert_int_equal(t.n, 55);
	assert_int_equal(t.with_reason, 5); /* the member's entries were not evicted by junk */
	assert_int_equal(store_budget_stats(b->s, &bs), 0);
	assert_int_equal(bs.quarantine_evicted, 7 + 250);
	/* 5 kept change sets and 50 records */
	assert_int_equal(bs.quarantine_bytes, 5 * (bl->len[0] + 128) + 50 * 128);
	memset(&t, 0, sizeof(t));
	t.reason = ARR_EBADSIG;
	assert_int_equal(store_quarantine_list(b->s, 0, q_tally, &t), 0);
	assert_int_equal(t.with_reason, 50);

	/* retrying everything leaves the records alone */
	assert_int_equal(store_quarantine_retry(b->s, -1, &st), 0);
	assert_int_equal(st.quarantined, 55);
	memset(&t, 0, sizeof(t));
	t.reason = ARR_EBADSIG;
	assert_int_equal(store_quarantine_list(b->s, 0, q_tally, &t), 0);
	assert_int_equal(t.with_reason, 50);

	/* by bytes: room for two kept change sets of a member */
	bud.quarantine_bytes = 2 * (bl->len[0] + 128) + 64;
	store_set_budget(b->s, &bud);
	ts_apply_blobs(b, bl, NULL, &st);
	memset(&t, 0, sizeof(t));
	t.reason = ARR_ECLOCK;
	assert_int_equal(store_quarantine_list(b->s, 0, q_tally, &t), 0);
	assert_int_equal(t.with_reason, 2);

	/* the clock allows them now: a pull brings back the evicted ones */
	b->clock += 10;
	ts_pull(a, b, 1 << 20);
	assert_int_equal(ts_seq_of(b, a), 12);
	ts_blobs_free(bl);
	free(bl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_nonmember_then_retry, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_clock_drift_then_retry, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_clock_drift_redelivered, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_quarantine_flood_budget, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
