/*
 * test_store_backup.c: the online backup (daemon/store_backup.c): a copy opens with the same
 * content and vector, also when made in steps with writes in between, which reach it.
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

#define STEP_ROWS 3000

/*
 * A backup in steps of 16 pages takes several steps; rows written and deleted between
 * them are in the copy as they are in the replica when it ends: equal digests.
 */
static void
test_backup_steps(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_replica copy;
	struct store_backup_job *j = NULL;
	struct store_op *ops = calloc(STEP_ROWS, sizeof(*ops));
	char(*ids)[37] = calloc(STEP_ROWS, sizeof(*ids));
	char text[200], late[37];
	uint8_t d0[32], d1[32];
	size_t steps = 0;
	int rc, err;

	assert_non_null(ops);
	assert_non_null(ids);
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (size_t i = 0; i < STEP_ROWS; i++) {
		ts_new_id(ids[i]);
		ops[i] = ts_op("child", ids[i], "ref", value_text(text));
	}
	assert_int_equal(store_write(a->s, ops, STEP_ROWS, NULL), 0);
	memset(&copy, 0, sizeof(copy));
	copy.key = tu_key(1);
	copy.path = tu_path(f->dir, "steps.db");
	assert_int_equal(store_backup_begin(a->s, copy.path, &j), 0);
	ts_new_id(late);
	while ((rc = store_backup_step(a->s, j, 0)) == 0) {
		if (steps == 1) {
			assert_int_equal(ts_write1(a, "child", late, "ref", value_text("late")), 0);
			assert_int_equal(ts_write1(a, "child", ids[7], "_deleted", value_int(1)),
			                 0);
		}
		steps++;
	}
	assert_int_equal(rc, 1);
	store_backup_abort(&j);
	assert_null(j);
	assert_true(steps >= 2);
	copy.s = ts_replica_open(&copy, &err);
	assert_non_null(copy.s);
	ts_digest(a, d0);
	ts_digest(&copy, d1);
	assert_memory_equal(d0, d1, 32);
	struct ts_rowtext t = {{0}, 0};
	assert_int_equal(store_get(copy.s, "child", late, ts_row_to_text, &t), 0);
	assert_string_equal(t.buf, "ref='late';initials=nil;birth_year=nil;");
	assert_int_equal(store_get(copy.s, "child", ids[7], ts_row_to_text, &t), ARR_ENOTFOUND);
	ts_replica_fini(&copy);
	free(ops);
	free(ids);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_backup, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_backup_steps, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
