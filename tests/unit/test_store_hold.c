/*
 * test_store_hold.c: the undo of a refused held write (daemon/store_hold.c; PROTOCOL.md,
 * "Held writes"). A held write has no savepoint: a refused one is undone by rolling the
 * held transaction back and applying the change sets staged before it again. Whatever
 * the earlier writes made (new case scopes with their CREATE, grants and keys, rows of
 * the region, rows changed in scopes an earlier write opened) must be there afterwards
 * exactly as before the refused write: every table of the replica byte for byte, the
 * vector, both digests, and after the commit the same log, keys and content as a
 * replica that received only the accepted writes. Also a second refusal in one hold, a
 * refused first write, a replay that fails (the hold is lost and told), an undo over
 * the byte bound (refused, counted, lost) and a write refused before its merge (nothing
 * to undo). Ids are fixed: nothing here is random but the
 * keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "store.h"
#include "store_int.h"
#include "teststore.h"
#include "testutil.h"

#define GEM   "a0000001-0000-4000-8000-000000000001"
#define SWV   "a0000002-0000-4000-8000-000000000002"
#define SCH   "a0000003-0000-4000-8000-000000000003"
#define NOROW "9f000000-0000-4000-8000-000000000000"

#define TABLES_MAX 128

/* Every table of a replica, each hashed over its rows in scan order. */
struct snap {
	char name[TABLES_MAX][64];
	uint8_t hash[TABLES_MAX][32];
	uint64_t rows[TABLES_MAX];
	size_t n;
	uint8_t digest[32]; /* store_digest(), the incremental one */
	uint64_t own_seq;   /* the vector's entry of the replica's own origin */
};

/* The ends of holds the store told (store_hold_hook). */
struct told {
	unsigned lost, committed;
	uint64_t first, last;
};

static void
hold_told(void *ctx, uint64_t first, uint64_t last, bool lost)
{
	struct told *t = ctx;

	t->first = first;
	t->last = last;
	if (lost)
		t->lost++;
	else
		t->committed++;
}

/* Hash table name's rows (its rowid first when it has one) into sn's entry n. */
static void
snap_table(sqlite3 *db, const char *name, struct snap *sn)
{
	crypto_generichash_state h;
	sqlite3_stmt *st = NULL;
	char sql[160];
	int rc;

	snprintf(sql, sizeof(sql), "SELECT rowid, * FROM \"%s\"", name);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name); /* WITHOUT ROWID */
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	}
	crypto_generichash_init(&h, NULL, 0, 32);
	sn->rows[sn->n] = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			uint8_t type = (uint8_t)sqlite3_column_type(st, c);
			const void *p = type == SQLITE_BLOB
			                    ? sqlite3_column_blob(st, c)
			                    : (const void *)sqlite3_column_text(st, c);
			uint64_t len = (uint64_t)sqlite3_column_bytes(st, c);

			crypto_generichash_update(&h, &type, 1);
			crypto_generichash_update(&h, (const uint8_t *)&len, sizeof(len));
			if (p != NULL)
				crypto_generichash_update(&h, p, len);
		}
		sn->rows[sn->n]++;
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	crypto_generichash_final(&h, sn->hash[sn->n], 32);
	snprintf(sn->name[sn->n], sizeof(sn->name[0]), "%s", name);
	sn->n++;
}

/* Every table of r's replica as the main connection sees it (inside a hold: staged). */
static void
snap_take(struct ts_replica *r, struct snap *sn)
{
	sqlite3_stmt *st = NULL;

	memset(sn, 0, sizeof(*sn));
	assert_int_equal(sqlite3_prepare_v2(r->s->db,
	                                    "SELECT name FROM sqlite_master WHERE type = 'table' "
	                                    "AND name NOT LIKE 'sqlite_stat%' AND "
	                                    "sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char name[64];

		assert_true(sn->n < TABLES_MAX);
		snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(st, 0));
		snap_table(r->s->db, name, sn);
	}
	sqlite3_finalize(st);
	assert_int_equal(store_digest(r->s, sn->digest), 0);
	sn->own_seq = vv_get(r->s->vec, nodekey_public(r->key));
}

/* a and b are the same replica, table by table (the first table that differs named). */
static void
snap_equal(const struct snap *a, const struct snap *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_string_equal(a->name[i], b->name[i]);
		if (a->rows[i] != b->rows[i] || memcmp(a->hash[i], b->hash[i], 32) != 0)
			fail_msg("table %s differs: %llu rows before, %llu after", a->name[i],
			         (unsigned long long)a->rows[i], (unsigned long long)b->rows[i]);
	}
	assert_memory_equal(a->digest, b->digest, 32);
	assert_int_equal(a->own_seq, b->own_seq);
}

/* The incremental digest equals a scan of the rows. */
static void
digests_agree(struct ts_replica *r)
{
	uint8_t inc[32], full[32];

	assert_int_equal(store_digest(r->s, inc), 0);
	assert_int_equal(store_digest_full(r->s, full), 0);
	assert_memory_equal(inc, full, 32);
}

/* Replica a with the domain rules on and three organisations written (committed). */
static int
setup(void **state)
{
	struct ts_fixture *f;
	struct ts_replica *a;
	static const struct {
		const char *id, *kind, *name, *code;
	} orgs[] = {{GEM, "gemeente", "Gemeente", "9901"},
	            {SWV, "swv", "SWV", "PO9901"},
	            {SCH, "school", "School", "99XX01"}};

	ts_setup_rules(state);
	f = *state;
	a = &f->r[0];
	for (size_t i = 0; i < sizeof(orgs) / sizeof(orgs[0]); i++) {
		struct store_op ops[] = {
		    ts_op("organisation", orgs[i].id, "kind", value_text(orgs[i].kind)),
		    ts_op("organisation", orgs[i].id, "name", value_text(orgs[i].name)),
		    ts_op("organisation", orgs[i].id, "code", value_text(orgs[i].code)),
		};

		if (store_write(a->s, ops, 3, NULL) != 0)
			return -1;
	}
	return 0;
}

#define CASE_OPS 12 /* ops per new case: a child (2) and its arrangement (10) */

/* The id of case k's row of kind c ('c' child, 'e' arrangement). */
static void
case_id(char c, int k, char out[ARR_ROWID_STRLEN + 1])
{
	snprintf(out, ARR_ROWID_STRLEN + 1, "%c%07x-0000-4000-8000-000000000001", c,
	         (unsigned)k & 0xfffffffu);
}

/* The ops of new case k (child and arrangement ids from k) into ops; bad: a refused child. */
static size_t
case_ops(int k, bool bad, struct store_op *ops)
{
	char chd[ARR_ROWID_STRLEN + 1], arr[ARR_ROWID_STRLEN + 1];
	size_t n = 0;

	case_id('c', k, chd);
	case_id('e', k, arr);
	ops[n++] = ts_op("child", chd, "ref", value_text("TD-2016"));
	ops[n++] = ts_op("child", chd, "birth_year", value_int(bad ? 1850 : 2016));
	ops[n++] = ts_op("arrangement", arr, "child_id", value_text(ops[0].row_id));
	ops[n++] = ts_op("arrangement", arr, "kind", value_text("oza"));
	ops[n++] = ts_op("arrangement", arr, "status", value_text("started"));
	ops[n++] = ts_op("arrangement", arr, "municipality_org_id", value_text(GEM));
	ops[n++] = ts_op("arrangement", arr, "school_org_id", value_text(SCH));
	ops[n++] = ts_op("arrangement", arr, "swv_org_id", value_text(SWV));
	ops[n++] = ts_op("arrangement", arr, "requested_on", value_text("2025-06-01"));
	ops[n++] = ts_op("arrangement", arr, "decided_on", value_text("2025-07-01"));
	ops[n++] = ts_op("arrangement", arr, "start_on", value_text("2025-09-01"));
	ops[n++] = ts_op("arrangement", arr, "end_on", value_text("2026-07-31"));
	return n;
}

/*
 * One held write: cases first..first+n-1 opened (the last one's child refused when bad),
 * the municipality's name set to name (a region row), and when older >= 0 the child of
 * case older (a scope an earlier write opened) given a new ref. Returns its result.
 */
static int
held_write(struct ts_replica *r, int first, int n, bool bad, const char *name, int older,
           struct store_write_result *res)
{
	struct store_op *ops = calloc((size_t)n * CASE_OPS + 2, sizeof(*ops));
	size_t k = 0;
	int rc;

	assert_non_null(ops);
	for (int i = 0; i < n; i++)
		k += case_ops(first + i, bad && i == n - 1, ops + k);
	ops[k++] = ts_op("organisation", GEM, "name", value_text(name));
	if (older >= 0) {
		char chd[ARR_ROWID_STRLEN + 1];

		case_id('c', older, chd);
		ops[k++] = ts_op("child", chd, "ref", value_text(name));
	}
	store_hold_join(r->s, true);
	rc = store_write(r->s, ops, k, res);
	store_hold_join(r->s, false);
	free(ops);
	return rc;
}

/* The write must be refused for the bad child's birth year, with the hold still open. */
static void
refused(struct ts_replica *r, int first, int n, const char *name, int older)
{
	struct store_write_result res;

	assert_int_equal(held_write(r, first, n, true, name, older, &res), ARR_EINVAL);
	assert_non_null(strstr(res.refusal, "birth_year"));
	assert_true(store_hold_open(r->s));
}

/*
 * After the commit, b pulls a's log: it holds a's change sets byte for byte, the same
 * vector entry, every scope key a holds (by scope id) and the same content digest.
 */
static void
same_as_received(struct ts_replica *a, struct ts_replica *b)
{
	static const char keys[] = "CREATE TEMP VIEW ks AS SELECT s.scope, k.key_id, k.key "
	                           "FROM _skey k JOIN _scope s ON s.id = k.sc ORDER BY 1, 2";
	struct snap ka = {0}, kb = {0};
	uint8_t da[32], db[32];
	uint64_t last = ts_seq_of(a, a);

	ts_pull(a, b, 1u << 20);
	assert_int_equal(ts_seq_of(b, a), last);
	for (uint64_t seq = 1; seq <= last; seq++) {
		struct ts_blobs *x = calloc(1, sizeof(*x)), *y = calloc(1, sizeof(*y));

		assert_non_null(x);
		assert_non_null(y);
		ts_envelope(a, a, seq, x);
		ts_envelope(b, a, seq, y);
		assert_int_equal(x->len[0], y->len[0]);
		assert_memory_equal(x->data[0], y->data[0], x->len[0]);
		ts_blobs_free(x);
		ts_blobs_free(y);
		free(x);
		free(y);
	}
	/* the scope keys, by scope id (the local ids may differ): a view hashed like a table */
	assert_int_equal(sqlite3_exec(a->s->db, keys, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(b->s->db, keys, NULL, NULL, NULL), SQLITE_OK);
	snap_table(a->s->db, "ks", &ka);
	snap_table(b->s->db, "ks", &kb);
	assert_int_equal(sqlite3_exec(a->s->db, "DROP VIEW temp.ks", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(b->s->db, "DROP VIEW temp.ks", NULL, NULL, NULL), SQLITE_OK);
	assert_true(ka.rows[0] > 0);
	assert_int_equal(ka.rows[0], kb.rows[0]);
	assert_memory_equal(ka.hash[0], kb.hash[0], 32);
	ts_digest(a, da);
	ts_digest(b, db);
	assert_memory_equal(da, db, 32);
	digests_agree(a);
	digests_agree(b);
}

/*
 * Three held writes open seven case scopes (each a CREATE with grants to the two other
 * members, its key and data), set a region row and change rows in scopes an earlier
 * write opened; the fourth, which does all of that too, is refused after its merge. The
 * replica is then what it was before the fourth, table by table; the hold goes on with
 * the same seqs, and what it commits is what a replica that receives it holds.
 */
static void
test_undo_after_scopes(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_write_result res;
	struct store_hold_counts c;
	struct store_hold_info in, in2;
	struct told t = {0};
	struct snap before, after;
	uint64_t durable = ts_seq_of(a, a);

	store_hold_hook(a->s, hold_told, &t);
	assert_int_equal(held_write(a, 0, 3, false, "Gemeente 1", -1, &res), 0);
	assert_int_equal(res.first_seq, durable + 1);
	assert_int_equal(held_write(a, 3, 2, false, "Gemeente 2", 0, &res), 0);
	assert_int_equal(held_write(a, 5, 2, false, "Gemeente 3", 3, &res), 0);
	store_hold_info(a->s, &in);
	assert_int_equal(in.first_seq, durable + 1);
	assert_int_equal(in.last_seq, res.last_seq);
	assert_int_equal(in.writes, 3);
	snap_take(a, &before);
	refused(a, 7, 3, "Gemeente 4", 1);
	snap_take(a, &after);
	snap_equal(&before, &after);
	store_hold_info(a->s, &in2);
	assert_memory_equal(&in, &in2, sizeof(in));
	store_hold_counts(a->s, &c);
	assert_int_equal(c.undone, 1);
	assert_int_equal(c.replayed, in.last_seq - in.first_seq + 1);
	assert_int_equal(c.lost, 0);
	assert_int_equal(t.lost + t.committed, 0);
	digests_agree(a);
	/* the hold goes on: the next write takes the refused one's seqs */
	assert_int_equal(held_write(a, 10, 2, false, "Gemeente 5", 2, &res), 0);
	assert_int_equal(res.first_seq, in.last_seq + 1);
	assert_int_equal(store_hold_commit(a->s), 0);
	assert_int_equal(t.committed, 1);
	assert_int_equal(t.first, durable + 1);
	assert_int_equal(t.last, res.last_seq);
	same_as_received(a, b);
	/* status's scope counts: the undone write's scopes went with its rollback */
	assert_true(ts_scope_tally_ok(a->s, a->path));
	assert_true(ts_scope_tally_ok(b->s, b->path));
}

/* Two refusals in one hold, each undone alone; the writes around them all commit. */
static void
test_undo_twice(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_write_result res;
	struct store_hold_counts c;
	struct snap before, after;
	uint64_t last;

	assert_int_equal(held_write(a, 0, 2, false, "Gemeente 1", -1, &res), 0);
	snap_take(a, &before);
	refused(a, 2, 2, "Gemeente 2", 0);
	snap_take(a, &after);
	snap_equal(&before, &after);
	assert_int_equal(held_write(a, 4, 2, false, "Gemeente 3", 1, &res), 0);
	last = res.last_seq;
	snap_take(a, &before);
	refused(a, 6, 1, "Gemeente 4", 4);
	snap_take(a, &after);
	snap_equal(&before, &after);
	assert_int_equal(held_write(a, 7, 1, false, "Gemeente 5", 5, &res), 0);
	assert_int_equal(res.first_seq, last + 1);
	store_hold_counts(a->s, &c);
	assert_int_equal(c.undone, 2);
	assert_int_equal(store_hold_commit(a->s), 0);
	same_as_received(a, b);
}

/* A hold's first write refused: nothing was staged, nothing is; the hold stays usable. */
static void
test_undo_first(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_write_result res;
	struct store_hold_counts c;
	struct snap before, after;
	uint64_t durable = ts_seq_of(a, a);

	snap_take(a, &before);
	refused(a, 0, 2, "Gemeente 1", -1);
	snap_take(a, &after);
	snap_equal(&before, &after);
	store_hold_counts(a->s, &c);
	assert_int_equal(c.undone, 1);
	assert_int_equal(c.replayed, 0);
	assert_int_equal(held_write(a, 2, 2, false, "Gemeente 2", -1, &res), 0);
	assert_int_equal(res.first_seq, durable + 1);
	assert_int_equal(store_hold_commit(a->s), 0);
	assert_int_equal(ts_seq_of(a, a), res.last_seq);
	same_as_received(a, b);
}

/*
 * The replay fails at its second change set: the hold is lost, told so, and the replica
 * is what was durable before it; the next write takes the lost seqs again.
 */
static void
test_undo_replay_fails(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_write_result res;
	struct store_hold_counts c;
	struct told t = {0};
	struct snap durable, after;
	uint64_t first;

	store_hold_hook(a->s, hold_told, &t);
	snap_take(a, &durable);
	assert_int_equal(held_write(a, 0, 2, false, "Gemeente 1", -1, &res), 0);
	first = res.first_seq;
	assert_int_equal(held_write(a, 2, 2, false, "Gemeente 2", 0, &res), 0);
	assert_true(res.last_seq > first);
	a->s->hold.fail_at = first + 1;
	assert_int_equal(held_write(a, 4, 1, true, "Gemeente 3", 1, &res), ARR_EINVAL);
	assert_false(store_hold_open(a->s));
	assert_int_equal(t.lost, 1);
	assert_int_equal(t.first, first);
	store_hold_counts(a->s, &c);
	assert_int_equal(c.lost, 1);
	assert_int_equal(c.replayed, 1); /* the first applied again, the second failed */
	snap_take(a, &after);
	snap_equal(&durable, &after);
	digests_agree(a);
	a->s->hold.fail_at = 0;
	assert_int_equal(held_write(a, 5, 1, false, "Gemeente 4", -1, &res), 0);
	assert_int_equal(res.first_seq, first);
	assert_int_equal(store_hold_commit(a->s), 0);
	same_as_received(a, b);
}

/*
 * An undo reads back at most the byte bound: a hold past it (a caller that does not end
 * it there, as the API does) is lost at a refusal, and counted.
 */
static void
test_undo_over_bound(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_write_result res;
	struct store_hold_counts c;
	struct store_hold_info in;
	struct told t = {0};
	struct snap durable, after;

	store_hold_hook(a->s, hold_told, &t);
	store_hold_info(a->s, &in);
	assert_int_equal(in.max_bytes, STORE_HOLD_MAX_BYTES);
	snap_take(a, &durable);
	assert_int_equal(held_write(a, 0, 2, false, "Gemeente 1", -1, &res), 0);
	store_hold_info(a->s, &in);
	store_hold_set_max(a->s, in.bytes); /* at the bound: an undo still reads it back */
	refused(a, 2, 1, "Gemeente 2", 0);
	store_hold_counts(a->s, &c);
	assert_int_equal(c.over, 0);
	assert_int_equal(held_write(a, 3, 1, false, "Gemeente 3", 0, &res), 0);
	assert_int_equal(held_write(a, 4, 1, true, "Gemeente 4", 0, &res), ARR_EINVAL);
	assert_false(store_hold_open(a->s));
	store_hold_counts(a->s, &c);
	assert_int_equal(c.over, 1);
	assert_int_equal(c.lost, 1);
	assert_int_equal(t.lost, 1);
	snap_take(a, &after);
	snap_equal(&durable, &after);
	store_hold_set_max(a->s, 0);
	store_hold_info(a->s, &in);
	assert_int_equal(in.max_bytes, STORE_HOLD_MAX_BYTES);
}

/*
 * A write refused before its merge (here: a row under an arrangement that is not there,
 * refused by the routing) changed no row: the hold goes on as it was, nothing replayed.
 */
static void
test_refused_before_merge(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_write_result res;
	struct store_hold_counts c;
	struct snap before, after;
	struct store_op op = ts_op("arrangement_party", "b0000001-0000-4000-8000-000000000001",
	                           "arrangement_id", value_text(NOROW));

	assert_int_equal(held_write(a, 0, 2, false, "Gemeente 1", -1, &res), 0);
	snap_take(a, &before);
	store_hold_join(a->s, true);
	assert_int_equal(store_write(a->s, &op, 1, &res), ARR_ENOTFOUND);
	store_hold_join(a->s, false);
	assert_true(store_hold_open(a->s));
	snap_take(a, &after);
	snap_equal(&before, &after);
	store_hold_counts(a->s, &c);
	assert_int_equal(c.undone, 1);
	assert_int_equal(c.replayed, 0);
	assert_int_equal(held_write(a, 2, 1, false, "Gemeente 2", 0, &res), 0);
	assert_int_equal(store_hold_commit(a->s), 0);
	same_as_received(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_undo_after_scopes, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_undo_twice, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_undo_first, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_undo_replay_fails, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_undo_over_bound, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_refused_before_merge, setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
