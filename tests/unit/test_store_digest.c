/*
 * test_store_digest.c: the digest (daemon/store_digest.c): equal content gives equal digests
 * whatever the order or node, every change of content shows, and known answers from the
 * specification.
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
#include <sqlite3.h>

#include "arrerr.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

/* The digest as 64 hex characters. */
static void
digest_hex(struct ts_replica *r, char out[65])
{
	uint8_t d[32];

	ts_digest(r, d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Runs sql on r's database behind the store's back (store closed meanwhile). */
static void
raw_exec(struct ts_replica *r, const char *sql)
{
	sqlite3 *db = NULL;
	int err = 0;

	store_destroy(&r->s);
	assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	assert_non_null(r->s = ts_replica_open(r, &err));
}

#define DIGEST_ROWS 40

/* A new row written at r changes its digest from want; deleting the row restores it. */
static void
extra_row_deleted(struct ts_replica *r, const char *ref, const uint8_t want[32])
{
	uint8_t d[32];
	char id[37];

	ts_new_id(id);
	assert_int_equal(ts_write1(r, "child", id, "ref", value_text(ref)), 0);
	ts_digest(r, d);
	assert_memory_not_equal(d, want, 32);
	assert_int_equal(ts_write1(r, "child", id, "_deleted", value_int(1)), 0);
	ts_digest(r, d);
	assert_memory_equal(d, want, 32);
}

static void
test_digest_exchange(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	uint8_t da[32], db[32], dc[32];
	char id[37], shared[37];
	struct vv *va = NULL, *vb = NULL;

	ts_digest(a, da);
	ts_digest(b, db);
	assert_memory_equal(da, db, 32);
	ts_new_id(shared);
	for (int i = 0; i < 3; i++) {
		ts_new_id(id);
		assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("A")), 0);
		ts_new_id(id);
		assert_int_equal(ts_write1(b, "child", id, "birth_year", value_int(2010 + i)), 0);
	}
	/* concurrent writes of one cell: the higher (hlc, origin) wins everywhere */
	a->clock += 100;
	b->clock += 100;
	/* (a region row: two nodes that open the same case row unseen make two rows) */
	assert_int_equal(ts_write1(a, "organisation", shared, "name", value_text("from a")), 0);
	assert_int_equal(ts_write1(b, "organisation", shared, "name", value_text("from b")), 0);
	ts_digest(a, da);
	ts_digest(b, db);
	assert_memory_not_equal(da, db, 32);
	ts_pull(a, b, 200);
	ts_pull(b, a, 200);
	/* c learns everything relayed through b only */
	ts_pull(b, c, 1 << 20);
	ts_digest(a, da);
	ts_digest(b, db);
	ts_digest(c, dc);
	assert_memory_equal(da, db, 32);
	assert_memory_equal(da, dc, 32);
	assert_int_equal(store_vector(a->s, &va), 0);
	assert_int_equal(store_vector(b->s, &vb), 0);
	assert_int_equal(vv_compare(va, vb), VV_EQUAL);
	vv_destroy(&va);
	vv_destroy(&vb);

	/* key (hlc, origin): equal clocks, so the larger origin's value wins */
	struct ts_rowtext t = {{0}, 0};
	assert_int_equal(store_get(c->s, "organisation", shared, ts_row_to_text, &t), 0);
	bool a_wins = memcmp(nodekey_public(a->key), nodekey_public(b->key), ARR_ORIGIN_LEN) > 0;
	assert_string_equal(t.buf, a_wins ? "kind=nil;name='from a';code=nil;"
	                                  : "kind=nil;name='from b';code=nil;");

	/* deleting restores the old digest: deleted rows are not content */
	extra_row_deleted(a, "x", db);
}

/*
 * The same content written in opposite orders, by different nodes, one row per change
 * set or all in one, and with cells overwritten on the way, gives the same digest: rows
 * are stored (and scanned) in arrival order, which differs between the replicas.
 */
static void
test_digest_order_independent(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct store_op ops[3 * DIGEST_ROWS];
	char ids[DIGEST_ROWS][37], refs[DIGEST_ROWS][24];
	uint8_t da[32], db[32], dc[32], empty[32];
	size_t n = 0;

	ts_digest(a, empty);
	for (size_t i = 0; i < DIGEST_ROWS; i++) {
		ts_new_id(ids[i]);
		snprintf(refs[i], sizeof(refs[i]), "r%zu", i);
	}
	/* a: one change set per cell, first to last row, with a value later overwritten */
	for (size_t i = 0; i < DIGEST_ROWS; i++) {
		const char *table = i % 2 ? "child" : "organisation", *ref = refs[i];

		if (i % 2) {
			assert_int_equal(ts_write1(a, table, ids[i], "ref", value_text("draft")),
			                 0);
			assert_int_equal(ts_write1(a, table, ids[i], "ref", value_text(ref)), 0);
			assert_int_equal(ts_write1(a, table, ids[i], "birth_year", value_int(2010)),
			                 0);
		} else {
			struct store_op o[] = {ts_op(table, ids[i], "name", value_text(ref)),
			                       ts_op(table, ids[i], "kind", value_text("school"))};

			assert_int_equal(store_write(a->s, o, 2, NULL), 0);
		}
	}
	/* b: the same cells, last to first row, all in one change set */
	for (size_t i = DIGEST_ROWS; i-- > 0;) {
		const char *table = i % 2 ? "child" : "organisation", *ref = refs[i];

		if (i % 2) {
			ops[n++] = ts_op(table, ids[i], "birth_year", value_int(2010));
			ops[n++] = ts_op(table, ids[i], "ref", value_text(ref));
		} else {
			ops[n++] = ts_op(table, ids[i], "kind", value_text("school"));
			ops[n++] = ts_op(table, ids[i], "name", value_text(ref));
		}
	}
	assert_int_equal(store_write(b->s, ops, n, NULL), 0);
	/* c: a's change sets, a few at a time */
	ts_pull(a, c, 300);
	ts_digest(a, da);
	ts_digest(b, db);
	ts_digest(c, dc);
	assert_memory_not_equal(da, empty, 32);
	assert_memory_equal(da, db, 32);
	assert_memory_equal(da, dc, 32);
}

/* Setting a child's column to changed changes r's digest from want; restored restores it. */
static void
cell_changed_then_restored(struct ts_replica *r, const char *id, const char *column,
                           struct value changed, struct value restored, const uint8_t want[32])
{
	uint8_t d[32];

	assert_int_equal(ts_write1(r, "child", id, column, changed), 0);
	ts_digest(r, d);
	assert_memory_not_equal(d, want, 32);
	assert_int_equal(ts_write1(r, "child", id, column, restored), 0);
	ts_digest(r, d);
	assert_memory_equal(d, want, 32);
}

/*
 * Every change of visible content changes the ts_digest, and undoing it restores the
 * digest: a cell's value, a cell's kind (int 1, real 1.0, text "1", blob "1"), a value
 * moved to another column, an extra row, a deleted row.
 */
static void
test_digest_detects_changes(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	uint8_t d0[32], d[32], dk[4][32];
	char id1[37], id2[37], sql[160];
	static const char *const kinds[] = {"1", "1.0", "'1'", "x'31'"};

	ts_new_id(id1);
	ts_new_id(id2);
	assert_int_equal(ts_write1(a, "child", id1, "ref", value_text("K-1")), 0);
	assert_int_equal(ts_write1(a, "child", id1, "birth_year", value_int(2016)), 0);
	assert_int_equal(ts_write1(a, "child", id2, "ref", value_text("K-2")), 0);
	ts_digest(a, d0);

	/* one cell */
	cell_changed_then_restored(a, id1, "birth_year", value_int(2017), value_int(2016), d0);
	assert_int_equal(ts_write1(a, "child", id2, "ref", value_nil()), 0);
	ts_digest(a, d);
	assert_memory_not_equal(d, d0, 32);
	assert_int_equal(ts_write1(a, "child", id2, "ref", value_text("K-2")), 0);

	/* the same value in another column */
	assert_int_equal(ts_write1(a, "child", id2, "ref", value_nil()), 0);
	assert_int_equal(ts_write1(a, "child", id2, "initials", value_text("K-2")), 0);
	ts_digest(a, d);
	assert_memory_not_equal(d, d0, 32);
	assert_int_equal(ts_write1(a, "child", id2, "initials", value_nil()), 0);
	assert_int_equal(ts_write1(a, "child", id2, "ref", value_text("K-2")), 0);
	ts_digest(a, d);
	assert_memory_equal(d, d0, 32);

	/* an extra row, then deleted again */
	extra_row_deleted(a, "extra", d0);

	/* a deleted row, then un-deleted */
	cell_changed_then_restored(a, id1, "_deleted", value_int(1), value_int(0), d0);

	/* kinds: local writes check types, so the cell is set behind the store's back */
	for (size_t k = 0; k < 4; k++) {
		snprintf(sql, sizeof(sql), "UPDATE child SET birth_year = %s WHERE id = '%s'",
		         kinds[k], id1);
		raw_exec(a, sql);
		ts_digest(a, dk[k]);
		assert_memory_not_equal(dk[k], d0, 32);
		for (size_t j = 0; j < k; j++)
			assert_memory_not_equal(dk[k], dk[j], 32);
	}
	snprintf(sql, sizeof(sql), "UPDATE child SET birth_year = 2016 WHERE id = '%s'", id1);
	raw_exec(a, sql);
	ts_digest(a, d);
	assert_memory_equal(d, d0, 32);
}

/*
 * Known answers (PROTOCOL.md, "Digest"), computed from the specification by an
 * independent script, not by this code: any change of the function shows here, and
 * every node must compute the same one.
 */
static void
test_digest_known_answer(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	char hex[65];
	static const char org[] = "00000000-0000-4000-8000-000000000001";
	static const char k17[] = "00000000-0000-4000-8000-000000000002";
	static const char k18[] = "00000000-0000-4000-8000-000000000003";
	struct store_op ops[] = {
	    ts_op("child", k18, "initials", value_text("A.B.")),
	    ts_op("organisation", org, "name", value_text("De Regenboog")),
	    ts_op("child", k17, "birth_year", value_int(2016)),
	    ts_op("organisation", org, "kind", value_text("school")),
	    ts_op("child", k18, "ref", value_text("K-18")),
	    ts_op("child", k17, "ref", value_text("K-17")),
	};

	digest_hex(a, hex);
	assert_string_equal(hex,
	                    "1d452c3e7d5fd57438d45dcb9c54640b470a9c587c3e928222d6a793139e5d88");
	assert_int_equal(store_write(a->s, ops, sizeof(ops) / sizeof(ops[0]), NULL), 0);
	digest_hex(a, hex);
	assert_string_equal(hex,
	                    "4cb6df51af83b896505defdce1164bb4657caac83bcbfdad1b2611eef68a40b0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_digest_exchange, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_digest_order_independent, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_digest_detects_changes, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_digest_known_answer, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
