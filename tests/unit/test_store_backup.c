/*
 * test_store_backup.c: the online backup (daemon/store_backup.c): a copy opens with the same
 * content and vector; made on a thread while the replica is written, it is the replica
 * as it was when it began; one stopped midway leaves the replica alone.
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
 * A backup runs on a thread of its own while the replica is written: the copy is the
 * replica as it was when the backup began (equal digests with it), and the rows written
 * and deleted meanwhile, committed while the copy holds its snapshot, are not in it.
 */
static void
test_backup_snapshot(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_replica copy;
	struct store_backup_job *j = NULL;
	struct store_op *ops = calloc(STEP_ROWS, sizeof(*ops));
	char(*ids)[37] = calloc(STEP_ROWS, sizeof(*ids));
	char text[200], late[37];
	uint8_t d0[32], d1[32], d2[32];
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
	ts_digest(a, d0);
	memset(&copy, 0, sizeof(copy));
	copy.key = tu_key(1);
	copy.path = tu_path(f->dir, "steps.db");
	assert_int_equal(store_backup_begin(a->s, copy.path, &j), 0);
	ts_new_id(late);
	/* writes while the thread copies (or after it is done: the copy is the same) */
	assert_int_equal(ts_write1(a, "child", late, "ref", value_text("late")), 0);
	assert_int_equal(ts_write1(a, "child", ids[7], "_deleted", value_int(1)), 0);
	while ((rc = store_backup_poll(a->s, j)) == 0)
		usleep(1000);
	assert_int_equal(rc, 1);
	store_backup_abort(&j);
	assert_null(j);
	copy.s = ts_replica_open(&copy, &err);
	assert_non_null(copy.s);
	ts_digest(a, d2);
	ts_digest(&copy, d1);
	assert_memory_equal(d0, d1, 32);
	assert_memory_not_equal(d1, d2, 32);
	struct ts_rowtext t = {{0}, 0};
	assert_int_equal(store_get(copy.s, "child", late, ts_row_to_text, &t), ARR_ENOTFOUND);
	assert_int_equal(store_get(copy.s, "child", ids[7], ts_row_to_text, &t), 0);
	ts_replica_fini(&copy);
	free(ops);
	free(ids);
}

/* A backup stopped while it copies leaves the replica as it was, and a file to remove. */
static void
test_backup_abort(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_backup_job *j = NULL;
	char *path = tu_path(f->dir, "aborted.db"), id[37];

	ts_new_id(id);
	assert_int_equal(ts_write1(a, "child", id, "ref", value_text("kept")), 0);
	assert_int_equal(store_backup_begin(a->s, path, &j), 0);
	store_backup_abort(&j);
	assert_null(j);
	assert_int_equal(ts_write1(a, "child", id, "ref", value_text("after")), 0);
	struct ts_rowtext t = {{0}, 0};
	assert_int_equal(store_get(a->s, "child", id, ts_row_to_text, &t), 0);
	assert_string_equal(t.buf, "ref='after';initials=nil;birth_year=nil;");
	unlink(path);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_backup, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_backup_snapshot, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_backup_abort, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
