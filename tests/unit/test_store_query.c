/*
 * test_store_query.c: read-only SQL (daemon/store_query.c): writes of every kind are refused, and a
 * query is bounded in time and size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "arrerr.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

static void
test_query_read_only(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_rowtext t = {{0}, 0};
	const char *msg = NULL;
	char id[37];
	uint8_t before[32], after[32];

	ts_new_id(id);
	assert_int_equal(ts_write1(a, "child", id, "birth_year", value_int(2016)), 0);
	assert_int_equal(store_query(a->s,
	                             "SELECT birth_year, 1.5 AS r, x'0102' AS b, NULL AS n, "
	                             "'t' AS t FROM child",
	                             ts_query_collect, &t, &msg),
	                 0);
	assert_int_equal(t.rows, 1);
	assert_string_equal(t.buf, "birth_year=2016;r=1.5;b=blob2;n=nil;t='t';");

	ts_digest(a, before);
	static const char *const writes[] = {
	    "INSERT INTO child(id, ref) VALUES('x', 'y')",
	    "UPDATE child SET ref = 'changed'",
	    "DELETE FROM child",
	    "DROP TABLE child",
	    "ATTACH DATABASE '/tmp/arrang-evil.db' AS evil",
	    "PRAGMA writable_schema = 1",
	    "PRAGMA query_only = 0",
	    "CREATE TABLE t(x)",
	    "DELETE FROM _log",
	    "WITH x AS (SELECT 1) INSERT INTO child(id) SELECT * FROM x",
	    "VACUUM",
	    "BEGIN IMMEDIATE",
	};
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		msg = NULL;
		int rc = store_query(a->s, writes[i], ts_query_collect, &t, &msg);

		if (rc != ARR_EREADONLY)
			fail_msg("%s: %d (%s)", writes[i], rc, msg ? msg : "");
	}
	ts_digest(a, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(access("/tmp/arrang-evil.db", F_OK), -1);
	assert_int_equal(store_query(a->s, "SELEKT 1", ts_query_collect, &t, &msg), ARR_EINVAL);
	assert_non_null(msg);
	assert_int_equal(store_query(a->s, "SELECT 1; SELECT 2", ts_query_collect, &t, &msg),
	                 ARR_EINVAL);
	/* still usable, and it sees committed writes */
	memset(&t, 0, sizeof(t));
	assert_int_equal(ts_write1(a, "child", id, "birth_year", value_int(2017)), 0);
	assert_int_equal(
	    store_query(a->s, "SELECT birth_year FROM child", ts_query_collect, &t, &msg), 0);
	assert_string_equal(t.buf, "birth_year=2017;");
}

/*
 * The daemon has one thread: a runaway query must be interrupted, and a query must not
 * build a value larger than any reply could carry. Afterwards the connection still works.
 */
static void
test_query_bounded(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_rowtext t = {{0}, 0};
	const char *msg = NULL;
	struct timespec t0, t1;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(
	    store_query(a->s,
	                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
	                "SELECT count(*) FROM c",
	                ts_query_collect, &t, &msg),
	    ARR_ETIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= STORE_QUERY_TIME_MS);
	assert_true(ms < 10 * STORE_QUERY_TIME_MS);
	assert_non_null(msg);
	assert_int_equal(t.rows, 0);
	assert_int_equal(
	    store_query(a->s, "SELECT length(zeroblob(1000000000))", ts_query_collect, &t, &msg),
	    ARR_ETOOBIG);
	assert_int_equal(store_query(a->s, "SELECT 42 AS answer", ts_query_collect, &t, &msg), 0);
	assert_string_equal(t.buf, "answer=42;");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_query_read_only, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_query_bounded, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
