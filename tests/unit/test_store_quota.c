/*
 * test_store_quota.c: the log quota of each origin (daemon/store_quota.c). An origin that
 * writes past a small quota is stopped at it (refused, not held, not quarantined) while
 * other origins keep applying and our own writes are never refused; what was refused is
 * listed and lets pulls move past it; raising the quota lets a redelivery apply the rest,
 * to the same digest as the origin's. Pending change sets wait at the quota. What each
 * origin's log holds survives a reopen, and a replica made before it was kept gets it
 * filled once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"
#include "vv.h"

/* a writes n rows of about 200 bytes each, one change set each; their envelopes into bl. */
static void
write_rows(struct ts_replica *a, int n, struct ts_blobs *bl)
{
	char id[37], text[200];

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (int i = 0; i < n; i++) {
		ts_new_id(id);
		assert_int_equal(ts_write1(a, "organisation", id, "name", value_text(text)), 0);
	}
	assert_int_equal(store_changes_since(a->s, NULL, SIZE_MAX, ts_collect, bl, NULL), 0);
}

/* The only origin over its quota at r (the test fails unless there is exactly one). */
struct over_one {
	size_t n;
	uint8_t origin[ARR_ORIGIN_LEN];
	uint64_t bytes, quota, refused;
};

static int
over_collect(void *ctx, const struct store_quota_origin *q)
{
	struct over_one *o = ctx;

	o->n++;
	memcpy(o->origin, q->origin, ARR_ORIGIN_LEN);
	o->bytes = q->bytes;
	o->quota = q->quota;
	o->refused = q->refused;
	return 0;
}

static void
test_quota_stops_one_origin(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct ts_blobs *ab = calloc(1, sizeof(*ab)), *cb = calloc(1, sizeof(*cb));
	enum store_outcome o[10];
	struct store_apply_stats st;
	struct over_one over = {0};
	uint8_t da[32], db[32];
	struct vv *held;
	char id[37];

	write_rows(a, 10, ab);
	write_rows(c, 3, cb);
	/* room at b for 3 of a's change sets, not 4 */
	store_set_budget(b->s, &(struct store_budget){.log_bytes = 3 * ab->len[0] + 10});
	ts_apply_blobs(b, ab, o, &st);
	assert_int_equal(st.applied, 3);
	assert_int_equal(st.refused, 7);
	assert_int_equal(o[3], STORE_REFUSED);
	assert_int_equal(o[9], STORE_REFUSED);
	assert_int_equal(ts_seq_of(b, a), 3);
	assert_int_equal(ts_quarantine_count(b), 0);
	assert_int_equal(store_quota_refused(b->s, NULL), 7);

	/* listed with what it holds; the other origin applies; our own writes go on */
	assert_int_equal(store_quota_list(b->s, over_collect, &over), 0);
	assert_int_equal(over.n, 1);
	assert_memory_equal(over.origin, nodekey_public(a->key), ARR_ORIGIN_LEN);
	assert_true(over.bytes <= over.quota);
	assert_int_equal(over.refused, 7);
	ts_apply_blobs(b, cb, NULL, &st);
	assert_int_equal(st.applied, 3);
	assert_int_equal(ts_seq_of(b, c), 3);
	for (int i = 0; i < 5; i++) {
		ts_new_id(id);
		assert_int_equal(ts_write1(b, "organisation", id, "name", value_text("own")), 0);
	}

	/* pulls go past what was refused */
	assert_int_equal(store_vector(b->s, &held), 0);
	assert_int_equal(store_quota_held(b->s, held), 0);
	assert_int_equal(vv_get(held, nodekey_public(a->key)), 10);
	assert_int_equal(vv_get(held, nodekey_public(c->key)), 3);
	vv_destroy(&held);

	/* the operator raises the quota: a redelivery applies the rest */
	store_set_budget(b->s, NULL);
	memset(&over, 0, sizeof(over));
	assert_int_equal(store_quota_list(b->s, over_collect, &over), 0);
	assert_int_equal(over.n, 0);
	ts_apply_blobs(b, ab, NULL, &st);
	assert_int_equal(st.applied, 7);
	assert_int_equal(ts_seq_of(b, a), 10);
	ts_pull(b, a, 1 << 20);
	ts_pull(c, a, 1 << 20);
	ts_pull(a, b, 1 << 20);
	ts_digest(a, da);
	ts_digest(b, db);
	assert_memory_equal(da, db, 32);
	ts_blobs_free(ab);
	ts_blobs_free(cb);
	free(ab);
	free(cb);
}

/* Change sets pending past a gap wait at the quota; the quota raised, they apply. */
static void
test_quota_pending_waits(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_blobs *ab = calloc(1, sizeof(*ab));
	struct store_apply_stats st;
	struct store_stats ss;
	struct store_blob items[3];

	write_rows(a, 5, ab);
	store_set_budget(b->s, &(struct store_budget){.log_bytes = 3 * ab->len[0] + 10});
	/* seqs 2..4 first: held pending (nothing logged yet) */
	for (int i = 0; i < 3; i++)
		items[i] = (struct store_blob){ab->data[i + 1], ab->len[i + 1]};
	assert_int_equal(store_apply(b->s, items, 3, NULL, &st), 0);
	assert_int_equal(st.pending, 3);
	/* seq 1 applies and takes 2 and 3 along; 4 waits at the quota */
	items[0] = (struct store_blob){ab->data[0], ab->len[0]};
	assert_int_equal(store_apply(b->s, items, 1, NULL, &st), 0);
	assert_int_equal(st.applied, 3);
	assert_int_equal(ts_seq_of(b, a), 3);
	assert_int_equal(store_stats(b->s, &ss), 0);
	assert_int_equal(ss.pending_count, 1);
	/* raised: the rest applies, the pending copy settles */
	store_set_budget(b->s, NULL);
	ts_apply_blobs(b, ab, NULL, &st);
	assert_int_equal(ts_seq_of(b, a), 5);
	assert_int_equal(store_stats(b->s, &ss), 0);
	assert_int_equal(ss.pending_count, 0);
	ts_blobs_free(ab);
	free(ab);
}

/* Drop the table and triggers of the log's use, as a replica of before had none. */
static void
drop_log_use(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "DROP TRIGGER _log_use_ins; DROP TRIGGER _log_use_del;"
	                              "DROP TABLE _log_use;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
}

/* What the log of an origin holds is kept across a reopen, and filled in once. */
static void
test_quota_log_use_kept(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_blobs *ab = calloc(1, sizeof(*ab));
	struct store_apply_stats st;
	struct store_blob one;
	int err = 0;

	write_rows(a, 4, ab);
	for (int round = 0; round < 2; round++) {
		/* b holds a's seq 1 and 2; the quota leaves room for one more */
		store_set_budget(b->s, NULL);
		one = (struct store_blob){ab->data[0], ab->len[0]};
		assert_int_equal(store_apply(b->s, &one, 1, NULL, &st), 0);
		one = (struct store_blob){ab->data[1], ab->len[1]};
		assert_int_equal(store_apply(b->s, &one, 1, NULL, &st), 0);
		store_destroy(&b->s);
		if (round == 1)
			drop_log_use(b->path);
		b->s = ts_replica_open(b, &err);
		assert_non_null(b->s);
		store_set_budget(b->s, &(struct store_budget){.log_bytes = 3 * ab->len[0] + 10});
		one = (struct store_blob){ab->data[2], ab->len[2]};
		assert_int_equal(store_apply(b->s, &one, 1, NULL, &st), 0);
		assert_int_equal(st.applied, 1);
		one = (struct store_blob){ab->data[3], ab->len[3]};
		assert_int_equal(store_apply(b->s, &one, 1, NULL, &st), 0);
		assert_int_equal(st.refused, 1);
		assert_int_equal(ts_seq_of(b, a), 3);
		/* start again from an empty replica b */
		store_destroy(&b->s);
		assert_int_equal(unlink(b->path), 0);
		b->s = ts_replica_open(b, &err);
		assert_non_null(b->s);
	}
	ts_blobs_free(ab);
	free(ab);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_quota_stops_one_origin, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_quota_pending_waits, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_quota_log_use_kept, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
