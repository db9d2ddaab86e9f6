/*
 * test_store_backup.c: the online backup (daemon/store_backup.c): a copy opens with the same
 * content and vector.
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
#include "store.h"
#include "teststore.h"
#include "testutil.h"

static void
test_backup(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_replica copy;
	uint8_t d0[32], d1[32];
	struct store_write_result w;
	char id[37];
	int err;

	ts_new_id(id);
	/* a case row: the backup must hold its scope's key too, or its digest would differ */
	struct store_op op = ts_op("child", id, "ref", value_text("x"));
	assert_int_equal(store_write(a->s, &op, 1, &w), 0);
	memset(&copy, 0, sizeof(copy));
	copy.key = tu_key(1);
	copy.path = tu_path(f->dir, "backup.db");
	assert_int_equal(store_backup(a->s, copy.path), 0);
	copy.s = ts_replica_open(&copy, &err);
	assert_non_null(copy.s);
	ts_digest(a, d0);
	ts_digest(&copy, d1);
	assert_memory_equal(d0, d1, 32);
	assert_int_equal(ts_seq_of(&copy, a), w.last_seq);
	struct ts_rowtext t = {{0}, 0};
	assert_int_equal(store_get(copy.s, "child", id, ts_row_to_text, &t), 0);
	assert_string_equal(t.buf, "ref='x';initials=nil;birth_year=nil;");
	ts_replica_fini(&copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_backup, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
