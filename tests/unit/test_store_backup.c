/*
 * test_store_backup.c: the online backup (daemon/store_backup.c): a copy opens with the same
 * content and vector; made on a thread while the replica is written, it is the replica
 * as it was when it began; one stopped midway leaves the replica alone. When the loop's
 * writes take the WAL past half its hard limit during a copy, the copy starts again (and
 * is then the replica as it was when the last copy began), three times at most, then
 * fails with ARR_EBUSY, and the loop's own checkpoint then brings the WAL back. These
 * tests hold the copying thread between steps (store_backup_test_step) and lower the
 * hard limit (struct store's ckpt_hard, store_int.h) so that a few commits pass it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "arrerr.h"
#include "monoclock.h"
#include "store.h"
#include "store_int.h"
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

#define FILL_WRITES 5    /* commits of the replica a restarted copy copies */
#define FILL_ROWS   400  /* rows of each (ARR_CS_MAX_BYTES bounds a change set) */
#define FILL_TEXT   2000 /* bytes of each row's text */
#define STEP_PAGES  64   /* pages of one step of a copy (BACKUP_STEP_PAGES) */
#define MARGIN      40   /* WAL frames from the copy's first to half the lowered limit */
#define FLOOD_CAP   4000 /* one-row commits a test makes at most */
#define WAIT_S      20   /* for the copying thread, at most */

/*
 * Rows enough for a copy of many steps (at least five, or a test could not hold the
 * thread between them), in a few commits.
 */
static void
fill(struct ts_replica *a)
{
	struct store_op *ops = calloc(FILL_ROWS, sizeof(*ops));
	char(*ids)[37] = calloc(FILL_ROWS, sizeof(*ids));
	char *text = malloc(FILL_TEXT + 1);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_non_null(ops);
	assert_non_null(ids);
	assert_non_null(text);
	memset(text, 'x', FILL_TEXT);
	text[FILL_TEXT] = '\0';
	for (int w = 0; w < FILL_WRITES; w++) {
		for (size_t i = 0; i < FILL_ROWS; i++) {
			ts_new_id(ids[i]);
			ops[i] = ts_op("child", ids[i], "ref", value_text(text));
		}
		assert_int_equal(store_write(a->s, ops, FILL_ROWS, NULL), 0);
	}
	assert_int_equal(sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_int(st, 0) > 5 * STEP_PAGES);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(text);
	free(ids);
	free(ops);
}

/* The database at path passes SQLite's integrity check. */
static void
assert_integrity(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/*
 * The gate the copying thread stops at after every step (store_backup_test_step) until the
 * test lets it pass, and where it is: the copy (1: the first) and the gates it reached in
 * it. Static, so that a thread a failed test left behind never touches a stack gone; the
 * teardown opens it.
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int copy, steps;
	int allowed;               /* gates it may pass; -1: all */
	int seen_copy, seen_steps; /* where gate_next() last saw it */
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0};

static void
gate_step(void *arg, int copy)
{
	(void)arg;
	pthread_mutex_lock(&gate.mu);
	if (copy != gate.copy)
		gate.steps = 0;
	gate.copy = copy;
	gate.steps++;
	pthread_cond_broadcast(&gate.cv);
	while (gate.allowed == 0)
		pthread_cond_wait(&gate.cv, &gate.mu);
	if (gate.allowed > 0)
		gate.allowed--;
	pthread_mutex_unlock(&gate.mu);
}

/* Close the gate for the backups begun from now on. */
static void
gate_close(void)
{
	pthread_mutex_lock(&gate.mu);
	gate.copy = gate.steps = gate.allowed = gate.seen_copy = gate.seen_steps = 0;
	pthread_mutex_unlock(&gate.mu);
	store_backup_test_step(gate_step, NULL);
}

/* Let the thread pass every gate; the copy it is in. */
static int
gate_open(void)
{
	int copy;

	pthread_mutex_lock(&gate.mu);
	gate.allowed = -1;
	copy = gate.copy;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
	return copy;
}

/*
 * Let the thread pass the gate it waits at (if pass) and wait until it reaches the next
 * one: the copy it is in then, or 0 when it reached none within WAIT_S. "Next" is past the
 * gate this function last saw it at, not where it is at the call: a thread that reached
 * its first gate before the test asked has reached it.
 */
static int
gate_next(bool pass)
{
	struct timespec ts;
	int copy, steps;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_S;
	pthread_mutex_lock(&gate.mu);
	copy = gate.seen_copy;
	steps = gate.seen_steps;
	if (pass) {
		gate.allowed = 1;
		pthread_cond_broadcast(&gate.cv);
	}
	while (gate.copy == copy && gate.steps == steps &&
	       pthread_cond_timedwait(&gate.cv, &gate.mu, &ts) == 0)
		;
	copy = gate.copy == copy && gate.steps == steps ? 0 : gate.copy;
	gate.seen_copy = gate.copy;
	gate.seen_steps = gate.steps;
	pthread_mutex_unlock(&gate.mu);
	return copy;
}

static int
gate_teardown(void **state)
{
	(void)gate_open();
	store_backup_test_step(NULL, NULL);
	return ts_teardown(state);
}

/* Poll j (as the loop does) until it is done or failed, WAIT_S at most: its state. */
static int
poll_end(struct ts_replica *a, struct store_backup_job *j)
{
	double t0 = mono_s();
	int rc;

	while ((rc = store_backup_poll(a->s, j)) == 0 && mono_s() - t0 < WAIT_S)
		usleep(1000);
	return rc;
}

/*
 * One-row commits (ids[0..], room for cap) until the WAL holds at least pages frames:
 * how many. They stay below the hard limit, where the loop would wait for the copy.
 */
static size_t
write_until(struct ts_replica *a, int pages, char (*ids)[37], size_t cap)
{
	size_t n = 0;

	while (a->s->wal_pages < pages) {
		assert_true(n < cap);
		ts_new_id(ids[n]);
		assert_int_equal(ts_write1(a, "child", ids[n], "ref", value_text("flood")), 0);
		n++;
	}
	assert_true(a->s->wal_pages < a->s->ckpt_hard);
	return n;
}

/* Begin a backup of a into path held at its first gate; the loop's first poll is made. */
static struct store_backup_job *
begin_held(struct ts_replica *a, const char *path)
{
	struct store_backup_job *j = NULL;

	fill(a);
	gate_close();
	assert_int_equal(store_backup_begin(a->s, path, &j), 0);
	assert_int_equal(gate_next(false), 1);
	assert_int_equal(store_backup_poll(a->s, j), 0); /* the WAL as the copy began */
	/* half the limit a few commits ahead (64 MiB would take a long test to pass) */
	a->s->ckpt_hard = 2 * (a->s->wal_pages + MARGIN);
	return j;
}

/*
 * Writes during a copy that take the WAL past half its hard limit make the copy start
 * again; writes that stay below it do not. The backup then finished is a valid replica
 * (SQLite's integrity check, opened as a store) and is the replica as it was when the
 * second copy began: equal digests, with the rows written during the first. Fails when
 * poll's threshold check is removed (the small write restarts the copy) or it never
 * asks for a restart.
 */
static void
test_backup_restart(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct ts_replica copy = {0};
	struct store_backup_job *j;
	char(*ids)[37] = calloc(FLOOD_CAP, sizeof(*ids));
	char small[37];
	uint8_t d0[32], d1[32];
	size_t n;
	int err;

	assert_non_null(ids);
	copy.key = tu_key(1);
	copy.path = tu_path(f->dir, "restarted.db");
	j = begin_held(a, copy.path);
	ts_new_id(small);
	assert_int_equal(ts_write1(a, "child", small, "ref", value_text("small")), 0);
	assert_true(a->s->wal_pages < a->s->ckpt_hard / 2);
	assert_int_equal(store_backup_poll(a->s, j), 0);
	assert_int_equal(gate_next(true), 1); /* below half the limit: the copy goes on */
	n = write_until(a, a->s->ckpt_hard / 2, ids, FLOOD_CAP);
	ts_digest(a, d0);
	assert_int_equal(store_backup_poll(a->s, j), 0);
	assert_int_equal(gate_next(true), 2); /* past it: the copy starts again */
	assert_int_equal(store_backup_poll(a->s, j), 0);
	assert_int_equal(gate_open(), 2);
	assert_int_equal(poll_end(a, j), 1);
	assert_int_equal(gate_open(), 2);
	store_backup_abort(&j);

	assert_integrity(copy.path);
	copy.s = ts_replica_open(&copy, &err);
	assert_non_null(copy.s);
	ts_digest(&copy, d1);
	assert_memory_equal(d0, d1, 32);
	struct ts_rowtext t0 = {{0}, 0}, t1 = {{0}, 0};
	assert_int_equal(store_get(copy.s, "child", small, ts_row_to_text, &t0), 0);
	assert_string_equal(t0.buf, "ref='small';initials=nil;birth_year=nil;");
	assert_int_equal(store_get(copy.s, "child", ids[n - 1], ts_row_to_text, &t1), 0);
	assert_string_equal(t1.buf, "ref='flood';initials=nil;birth_year=nil;");
	ts_replica_fini(&copy);
	free(ids);
}

/*
 * Writes that go on taking the WAL further past half its limit during every copy make the
 * backup fail with ARR_EBUSY after the third; the replica is whole, with every row
 * written, and, the copy's snapshot gone, the loop's own checkpoint at the hard limit
 * restarts the WAL (its file stays within twice the limit). Fails when the restart limit
 * is ignored (a fourth copy runs and succeeds).
 */
static void
test_backup_restart_limit(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_backup_job *j;
	char(*ids)[37] = calloc(FLOOD_CAP, sizeof(*ids));
	char *path = tu_path(f->dir, "flooded.db"), wal[1024];
	size_t n = 0, m;
	int most = 0, prev;
	struct stat st;

	assert_non_null(ids);
	j = begin_held(a, path);
	for (int c = 1; c <= 3; c++) {
		int half = a->s->ckpt_hard / 2, past = a->s->wal_pages + 1;

		n += write_until(a, half > past ? half : past, ids + n, FLOOD_CAP - n);
		assert_int_equal(store_backup_poll(a->s, j), 0);
		if (c < 3) {
			assert_int_equal(gate_next(true), c + 1);
			assert_int_equal(store_backup_poll(a->s, j), 0);
		}
	}
	assert_int_equal(gate_open(), 3);
	assert_int_equal(poll_end(a, j), ARR_EBUSY);
	assert_int_equal(gate_open(), 3);
	store_backup_abort(&j);
	unlink(path);
	free(path);

	assert_integrity(a->path);
	for (size_t i = 0; i < n; i++) {
		struct ts_rowtext t = {{0}, 0};

		assert_int_equal(store_get(a->s, "child", ids[i], ts_row_to_text, &t), 0);
	}
	/*
	 * The WAL restarts (its frames never fall otherwise), at the hard limit at the latest,
	 * and the next commit finds it small: no reader holds it any more.
	 */
	for (m = 0, prev = 0; a->s->wal_pages >= prev; m++) {
		assert_true(m < FLOOD_CAP);
		prev = a->s->wal_pages;
		if (prev > most)
			most = prev;
		ts_new_id(ids[0]);
		assert_int_equal(ts_write1(a, "child", ids[0], "ref", value_text("after")), 0);
	}
	ts_new_id(ids[0]);
	assert_int_equal(ts_write1(a, "child", ids[0], "ref", value_text("after")), 0);
	assert_true(a->s->wal_pages < a->s->ckpt_hard / 2);
	assert_true(most < 2 * a->s->ckpt_hard);
	snprintf(wal, sizeof(wal), "%s-wal", a->path);
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size < (off_t)2 * a->s->ckpt_hard * (16384 + 24));
	free(ids);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_backup, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_backup_snapshot, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_backup_abort, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_backup_restart, ts_setup, gate_teardown),
	    cmocka_unit_test_setup_teardown(test_backup_restart_limit, ts_setup, gate_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
