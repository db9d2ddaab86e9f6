/*
 * test_store_merge.c: per-row clock records and row links (daemon/store_clock.c, store_merge.c):
 * the record's size and its checks, rowids that survive a VACUUM, and a history entry for
 * every row a change set names.
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
#include "schema.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

/*
 * A row's clocks live in the row (_clk), grouped by key: a row written by one change set
 * holds one 28-byte group whatever its width, one more per other winning change set. The
 * record is bookkeeping: store_query() shows it as NULL. A record altered behind the
 * daemon's back is refused (ARR_EDB) when a merge needs it, and nothing is half-applied.
 */
static void
test_clock_record(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_rowtext t = {{0}, 0};
	const char *msg = NULL;
	struct store_op ops[3];
	char id[37], sql[160];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	ts_new_id(id);
	ops[0] = ts_op("child", id, "ref", value_text("C-1"));
	ops[1] = ts_op("child", id, "birth_year", value_int(2016));
	ops[2] = ts_op("child", id, "initials", value_nil());
	assert_int_equal(store_write(a->s, ops, 3, NULL), 0);
	assert_int_equal(store_query(a->s, "SELECT _clk FROM child", ts_query_collect, &t, &msg),
	                 0);
	assert_string_equal(t.buf, "_clk=nil;");

	snprintf(sql, sizeof(sql), "SELECT length(_clk) FROM child WHERE id = '%s'", id);
	assert_int_equal(sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 28); /* one change set: one group */
	sqlite3_reset(st);
	assert_int_equal(ts_write1(a, "child", id, "birth_year", value_int(2017)), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 56); /* a second key for one column */
	sqlite3_finalize(st);

	/* a truncated record: the next merge on the row fails and changes nothing */
	assert_int_equal(
	    sqlite3_exec(db, "UPDATE child SET _clk = substr(_clk, 1, 27)", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(ts_write1(a, "child", id, "birth_year", value_int(2018)), ARR_EDB);
	/* a column claimed by two groups */
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE child SET _clk = substr(_clk, 1, 28) || "
	                              "substr(_clk, 1, 28)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(ts_write1(a, "child", id, "birth_year", value_int(2018)), ARR_EDB);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_get(a->s, "child", id, ts_row_to_text, &t), 0);
	assert_non_null(strstr(t.buf, "birth_year=2017;"));
}

/*
 * Clocks and row history refer to a row's local rowid. SQLite may renumber rowids that
 * are not declared INTEGER PRIMARY KEY (VACUUM, .recover), so every domain table must
 * declare its rowid; and after a gap in the rowids and a VACUUM, a later row keeps its
 * history and its clock (an older remote write still loses).
 */
static void
test_vacuum_keeps_row_links(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_hist h = {{0}, 0, 0};
	char gap[37], keep[37], sql[160];
	struct ts_rowtext t = {{0}, 0};
	sqlite3 *db = NULL;
	int err = 0;

	ts_new_id(gap);
	ts_new_id(keep);
	assert_int_equal(ts_write1(a, "organisation", gap, "name", value_text("gap")), 0);
	/* b writes keep's ref first, with an older clock: it must lose after the VACUUM */
	b->clock = a->clock - 1000;
	assert_int_equal(ts_write1(b, "organisation", keep, "name", value_text("older")), 0);
	assert_int_equal(ts_write1(a, "organisation", keep, "name", value_text("newer")), 0);

	store_destroy(&a->s);
	assert_int_equal(sqlite3_open(a->path, &db), SQLITE_OK);
	/* SQLite promises stable rowids only for a declared INTEGER PRIMARY KEY. */
	for (size_t i = 0; i < schema_table_count(); i++) {
		sqlite3_stmt *st = NULL;

		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM pragma_table_info('%s') "
		         "WHERE pk = 1 AND upper(type) = 'INTEGER'",
		         schema_table_at(i)->name);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		if (sqlite3_column_int(st, 0) != 1)
			fail_msg("table %s does not declare its rowid", schema_table_at(i)->name);
		sqlite3_finalize(st);
	}
	snprintf(sql, sizeof(sql), "DELETE FROM organisation WHERE id = '%s'; VACUUM", gap);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_non_null(a->s = ts_replica_open(a, &err));

	assert_int_equal(store_history(a->s, "organisation", keep, NULL, ts_hist_collect, &h), 0);
	assert_int_equal(h.n, 1);
	ts_pull(b, a, SIZE_MAX);
	assert_int_equal(
	    store_query(a->s, "SELECT name FROM organisation", ts_query_collect, &t, NULL), 0);
	assert_string_equal(t.buf, "name='newer';");
}

/*
 * The history entries of organisations in the replica at path: the first of each row in
 * the row (_log), the others in _rowlog.
 */
static int
rowlog_count(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT (SELECT count(*) FROM _rowlog) + "
	                                    "(SELECT count(_log) FROM organisation)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/*
 * A row's history has one entry per change set that named it, however many rows the
 * change set's part holds: the merge writes them in batches of four, two and one, at the
 * writer and at a replica that applies its log. Every count from 1 to 9 rows is tried
 * (every mix of batches), then each row is written again (a second entry each).
 */
static void
test_history_of_every_row(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	char ids[9][37];
	struct store_op ops[9];
	int total = 0;

	for (size_t n = 1; n <= 9; n++) {
		for (size_t i = 0; i < n; i++) {
			ts_new_id(ids[i]);
			ops[i] = ts_op("organisation", ids[i], "name", value_text("org"));
		}
		assert_int_equal(store_write(a->s, ops, n, NULL), 0);
		total += (int)n;
		for (size_t i = 0; i < n; i++)
			ops[i] = ts_op("organisation", ids[i], "name", value_text("org 2"));
		assert_int_equal(store_write(a->s, ops, n, NULL), 0);
		total += (int)n;
		for (size_t i = 0; i < n; i++) {
			struct ts_hist h = {{0}, 0, 0};

			assert_int_equal(
			    store_history(a->s, "organisation", ids[i], NULL, ts_hist_collect, &h),
			    0);
			assert_int_equal(h.n, 2);
		}
	}
	assert_int_equal(rowlog_count(a->path), total);
	ts_pull(a, b, SIZE_MAX);
	for (size_t i = 0; i < 9; i++) {
		struct ts_hist h = {{0}, 0, 0};

		assert_int_equal(
		    store_history(b->s, "organisation", ids[i], NULL, ts_hist_collect, &h), 0);
		assert_int_equal(h.n, 2);
	}
	assert_int_equal(rowlog_count(b->path), total);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_clock_record, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_vacuum_keeps_row_links, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_history_of_every_row, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
