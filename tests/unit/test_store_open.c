/*
 * test_store_open.c: the replica belongs to one node key and one store format: a database made for
 * another key or of another format is refused, and the right one opens again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

static void
test_other_key_refused(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct nodekey *mine = a->key;
	int err = 0;

	store_destroy(&a->s);
	a->key = tu_key(9);
	assert_null(ts_replica_open(a, &err));
	assert_int_equal(err, ARR_EKEY);
	nodekey_destroy(&a->key);
	a->key = mine;
	a->s = ts_replica_open(a, &err);
	assert_non_null(a->s);
	assert_int_equal(err, 0);
}

/*
 * A replica of another store format (here format 1: domain tables keyed by the id text,
 * _clock and _rowlog by the id bytes; and 3, without the budgets' tables) is refused
 * with ARR_EVERSION rather than misread.
 */
/* The replica after sql (an older layout) is refused with ARR_EVERSION. */
static void
format_refused(struct ts_replica *a, const char *sql)
{
	sqlite3 *db;
	int err = 0;

	assert_int_equal(sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(ts_replica_open(a, &err));
	assert_int_equal(err, ARR_EVERSION);
}

static void
test_other_format_refused(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	sqlite3 *db = NULL;
	int err = 0;

	store_destroy(&a->s);
	assert_int_equal(sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE _meta SET value = 1 WHERE key = 'store_format'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	assert_null(ts_replica_open(a, &err));
	assert_int_equal(err, ARR_EVERSION);

	/* formats 3 (no budgets) and 4 (no equivocation proofs) are refused too */
	format_refused(a, "UPDATE _meta SET value = 3 WHERE key = 'store_format';"
	                  "DROP TABLE _quarantine_use; DROP INDEX _quarantine_bucket");
	format_refused(a, "UPDATE _meta SET value = 4 WHERE key = 'store_format';"
	                  "DROP TABLE _equiv");
	/* format 5 (no search index) and 6 (no scopes) too */
	format_refused(a, "UPDATE _meta SET value = 5 WHERE key = 'store_format';"
	                  "DROP TABLE _search");
	format_refused(a, "UPDATE _meta SET value = 6 WHERE key = 'store_format';"
	                  "DROP TABLE _sealed");
	/* format 7 (policy and sealed records per change set, not per part) too */
	format_refused(a, "UPDATE _meta SET value = 7 WHERE key = 'store_format'");
	/* format 8 (a row per party and per slot, not one per policy part) too */
	format_refused(a, "UPDATE _meta SET value = 8 WHERE key = 'store_format'");
	/* format 9 (every history entry in _rowlog, none in the row) too */
	format_refused(a, "UPDATE _meta SET value = 9 WHERE key = 'store_format'");
	/* format 10 (every policy body kept in its _policy row) too */
	format_refused(a, "UPDATE _meta SET value = 10 WHERE key = 'store_format'");

	assert_int_equal(sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE _meta SET value = 11 WHERE key = 'store_format'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	a->s = ts_replica_open(a, &err);
	assert_non_null(a->s);
	assert_int_equal(err, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_other_key_refused, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_other_format_refused, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
