/*
 * test_store_scope_drop.c: the store's per-table drops of one scope's entries
 * (store_scope_drop_keys, _policy, _sealed in store_scope.c), which erasure calls: each
 * empties its table of that scope and leaves every other scope's entries. Counted with a
 * connection of the test's own on the replica's file, so that what is checked is what the
 * database holds. Also: a scope's policy is one row per policy part (store format 9), and
 * what store_policy.c reads from the kept bodies (owner, parties, the write key) is what
 * the CREATE said.
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
#include "policy.h"
#include "store_int.h"
#include "teststore.h"
#include "testutil.h"

/* Replicas a, b and c, each reopened so that the scopes it opens are its own alone. */
static int
setup_ntk(void **state)
{
	struct ts_fixture *f;
	int err = 0;

	ts_setup(state);
	f = *state;
	for (int i = 0; i < 3; i++) {
		store_destroy(&f->r[i].s);
		f->r[i].need_to_know = true;
		f->r[i].s = ts_replica_open(&f->r[i], &err);
		assert_int_equal(err, 0);
	}
	return 0;
}

/* A new arrangement written by r; its scope's local id at r into *sc. */
static void
arr_new(struct ts_replica *r, int64_t *sc)
{
	char id[ARR_ROWID_STRLEN + 1];
	uint8_t scope[ARR_SCOPE_LEN];
	struct store_write_result w;

	ts_new_id(id);
	struct store_op ops[] = {
	    ts_op("arrangement", id, "kind", value_text("oza")),
	    ts_op("arrangement", id, "status", value_text("draft")),
	};
	assert_int_equal(store_write(r->s, ops, 2, &w), 0);
	assert_int_equal(store_scope_of(r->s, "arrangement", id, scope), 0);
	assert_int_equal(store_scope_local(r->s, scope, false, sc), 0);
	assert_true(*sc > 0);
}

/* Rows of table in r's replica file with sc = sc. */
static int64_t
count_sc(struct ts_replica *r, const char *table, int64_t sc)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char sql[96];
	int64_t n = -1;

	assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE sc = ?1", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, sc);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Keys and policy at the owner, sealed parts at a non-party: dropped for one scope only. */
static void
test_drop_one_scope(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *c = &f->r[2];
	uint8_t scope1[ARR_SCOPE_LEN], scope2[ARR_SCOPE_LEN];
	int64_t sc1, sc2, csc1, csc2;

	arr_new(a, &sc1);
	arr_new(a, &sc2);
	assert_int_equal(store_scope_bytes(a->s, sc1, scope1), 0);
	assert_int_equal(store_scope_bytes(a->s, sc2, scope2), 0);
	/* one key each, one policy row each (the CREATE part, its parties in its body) */
	assert_int_equal(count_sc(a, "_skey", sc1), 1);
	assert_int_equal(count_sc(a, "_policy", sc1), 1);
	assert_int_equal(count_sc(a, "_policy", sc2), 1);
	assert_int_equal(store_scope_drop_keys(a->s, sc1), 0);
	assert_int_equal(store_scope_drop_policy(a->s, sc1), 0);
	assert_int_equal(count_sc(a, "_skey", sc1), 0);
	assert_int_equal(count_sc(a, "_policy", sc1), 0);
	assert_int_equal(count_sc(a, "_skey", sc2), 1);
	assert_int_equal(count_sc(a, "_policy", sc2), 1);

	/* c is no party of a's scopes: it keeps their data parts sealed */
	ts_pull(a, c, 1 << 20);
	assert_int_equal(store_scope_local(c->s, scope1, false, &csc1), 0);
	assert_int_equal(store_scope_local(c->s, scope2, false, &csc2), 0);
	assert_true(count_sc(c, "_sealed", csc1) >= 1);
	assert_true(count_sc(c, "_sealed", csc2) >= 1);
	assert_int_equal(count_sc(c, "_skey", csc1), 0);
	assert_int_equal(store_scope_drop_sealed(c->s, csc1), 0);
	assert_int_equal(count_sc(c, "_sealed", csc1), 0);
	assert_true(count_sc(c, "_sealed", csc2) >= 1);
	assert_int_equal(count_sc(c, "_policy", csc1), 1);
}

/*
 * The policy read from the kept body, at the owner and at a party: the owner, the two
 * parties the CREATE named (every other member, the fixture's default), each holding a
 * slot of the write key.
 */
static void
check_created(struct ts_replica *r, const uint8_t scope[ARR_SCOPE_LEN],
              const struct ts_replica *owner, const struct ts_replica *party)
{
	struct store_policy pol;
	int64_t sc;

	assert_int_equal(store_scope_local(r->s, scope, false, &sc), 0);
	assert_int_equal(store_policy_load(r->s, sc, &pol), 0);
	assert_true(pol.has_owner);
	assert_memory_equal(pol.owner, nodekey_public(owner->key), ARR_ORIGIN_LEN);
	assert_int_not_equal(pol.write_key, 0);
	assert_int_equal(pol.nheads, 1);
	assert_int_equal(pol.nops, 3);
	assert_int_equal(pol.ops[0].op, POLICY_CREATE);
	assert_true(store_policy_has_slot(&pol, pol.write_key, nodekey_public(owner->key)));
	for (size_t i = 1; i < pol.nops; i++) {
		assert_int_equal(pol.ops[i].op, POLICY_GRANT);
		assert_int_equal(pol.ops[i].log, pol.ops[0].log);
		assert_true(pol.ops[i].valid);
		assert_true(store_policy_has_slot(&pol, pol.write_key, pol.ops[i].member));
	}
	assert_true(store_policy_is_reader(&pol, nodekey_public(party->key)));
	assert_false(store_policy_needs_rekey(&pol));
	store_policy_free(&pol);
}

static void
test_policy_from_body(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	uint8_t scope[ARR_SCOPE_LEN];
	int64_t sc;

	arr_new(a, &sc);
	assert_int_equal(store_scope_bytes(a->s, sc, scope), 0);
	check_created(a, scope, a, b);
	ts_pull(a, b, 1 << 20);
	check_created(b, scope, a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_drop_one_scope, setup_ntk, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_from_body, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
