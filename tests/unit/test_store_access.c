/*
 * test_store_access.c: the access log (daemon/store_access.c): entries chain, survive a
 * reopen, filter by arrangement and time; verification names a modified, deleted or
 * moved entry; pruning keeps what is left verifiable; a rolled-back batch leaves none.
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
#include <cmocka.h>

#include <sqlite3.h>

#include "arrerr.h"
#include "store_access.h"
#include "testutil.h"

#define ARR_A "11111111-1111-4111-8111-111111111111"
#define ARR_B "22222222-2222-4222-8222-222222222222"

struct fx {
	char *dir;
	char *path;
	struct store_access *a;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int err = 0;

	assert_non_null(f);
	f->dir = tu_tmpdir();
	f->path = tu_path(f->dir, "access.db");
	f->a = store_access_open(f->path, "Gemeente Testdorp", &err);
	assert_non_null(f->a);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_access_destroy(&f->a);
	assert_null(f->a);
	free(f->path);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

/* Append n entries alternating between arrangements A and B. */
static void
append_n(struct store_access *a, int n)
{
	for (int i = 0; i < n; i++) {
		struct store_access_entry e = {.uid = 1000,
		                               .user = "alice",
		                               .action = "get",
		                               .table = "arrangement",
		                               .row = i % 2 == 0 ? ARR_A : ARR_B,
		                               .arrangement = i % 2 == 0 ? ARR_A : ARR_B,
		                               .fields = "id,status"};
		assert_int_equal(store_access_append(a, &e), 0);
	}
}

struct seen {
	int n;
	int64_t seqs[64];
	char org[64];
};

static int
collect(void *ctx, const struct store_access_entry *e)
{
	struct seen *s = ctx;

	if (s->n < 64)
		s->seqs[s->n] = e->seq;
	s->n++;
	snprintf(s->org, sizeof(s->org), "%s", e->org);
	return 0;
}

/* Run sql on the log's file behind its back, as someone tampering with it would. */
static void
tamper(const struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Flip byte off of the records of the batch that ends at last_seq, behind the log's back. */
static void
tamper_byte(const struct fx *f, int64_t last_seq, int off)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint8_t buf[4096];
	int n = 0;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT entries FROM batch WHERE last_seq = ?", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, last_seq);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_bytes(st, 0);
	assert_true(n > off && n <= (int)sizeof(buf));
	memcpy(buf, sqlite3_column_blob(st, 0), (size_t)n);
	sqlite3_finalize(st);
	buf[off] ^= 0x01;
	/* the trigger refuses an update; a tamperer drops it first */
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER batch_append_only", NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE batch SET entries = ? WHERE last_seq = ?",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_blob(st, 1, buf, n, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, last_seq);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
verify_fails_at(struct fx *f, int64_t seq, const char *reason)
{
	struct store_access_verdict v;

	assert_int_equal(store_access_verify(f->a, &v), 0);
	assert_false(v.ok);
	assert_int_equal(v.bad_seq, seq);
	assert_non_null(strstr(v.reason, reason));
}

static void
test_append_list_reopen(void **state)
{
	struct fx *f = *state;
	struct store_access_verdict v;
	struct seen s = {0};
	int err = 0;

	append_n(f->a, 5);
	store_access_destroy(&f->a);
	f->a = store_access_open(f->path, "Gemeente Testdorp", &err);
	assert_non_null(f->a);
	append_n(f->a, 1); /* seq 6, chained to the 5th across the reopen */
	assert_int_equal(store_access_list(f->a, 0, 0, ARR_A, 0, collect, &s), 0);
	assert_int_equal(s.n, 4); /* 1, 3, 5 and 6 */
	assert_int_equal(s.seqs[0], 1);
	assert_int_equal(s.seqs[3], 6);
	assert_string_equal(s.org, "Gemeente Testdorp");
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_access_list(f->a, 4, 0, NULL, 0, collect, &s), 0);
	assert_int_equal(s.n, 2);
	memset(&s, 0, sizeof(s));
	/* since: far in the future, none */
	assert_int_equal(store_access_list(f->a, 0, INT64_C(1) << 50, NULL, 0, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(store_access_verify(f->a, &v), 0);
	assert_true(v.ok);
	assert_int_equal(v.checked, 6);
}

static void
test_modified(void **state)
{
	struct fx *f = *state;

	append_n(f->a, 5);
	tamper_byte(f, 3, 25); /* a byte of the user name of entry 3 */
	verify_fails_at(f, 3, "modified");
}

static void
test_deleted(void **state)
{
	struct fx *f = *state;

	append_n(f->a, 5);
	tamper(f, "DELETE FROM batch WHERE last_seq = 2");
	verify_fails_at(f, 2, "deleted");
}

static void
test_deleted_last(void **state)
{
	struct fx *f = *state;

	append_n(f->a, 5);
	tamper(f, "DELETE FROM batch WHERE last_seq = 5");
	verify_fails_at(f, 5, "deleted");
}

static void
test_reordered(void **state)
{
	struct fx *f = *state;

	append_n(f->a, 5);
	/* swap entries 2 and 3 whole, renumbered so that the seqs stay contiguous */
	tamper(f, "DROP TRIGGER batch_append_only;"
	          "UPDATE batch SET last_seq = 100, first_seq = 100 WHERE last_seq = 2;"
	          "UPDATE batch SET last_seq = 2, first_seq = 2 WHERE last_seq = 3;"
	          "UPDATE batch SET last_seq = 3, first_seq = 3 WHERE last_seq = 100");
	verify_fails_at(f, 2, "");
}

static void
test_prune_keeps_chain(void **state)
{
	struct fx *f = *state;
	struct store_access_verdict v;
	struct seen s = {0};
	uint64_t pruned = 0;

	append_n(f->a, 4);
	/* everything so far is older than a cut in the future */
	assert_int_equal(store_access_prune(f->a, INT64_C(1) << 50, &pruned), 0);
	assert_int_equal(pruned, 4);
	append_n(f->a, 2);
	assert_int_equal(store_access_list(f->a, 0, 0, NULL, 0, collect, &s), 0);
	assert_int_equal(s.n, 3); /* the prune entry (5) and the two after it */
	assert_int_equal(s.seqs[0], 5);
	assert_int_equal(store_access_verify(f->a, &v), 0);
	assert_true(v.ok);
	assert_int_equal(v.pruned_to, 4);
	/* the anchor pins the chain: removing the first kept entry shows */
	tamper(f, "DELETE FROM batch WHERE last_seq = 5");
	verify_fails_at(f, 5, "deleted");
}

static void
test_batch_rollback(void **state)
{
	struct fx *f = *state;
	struct store_access_verdict v;
	struct seen s = {0};

	append_n(f->a, 1);
	assert_int_equal(store_access_begin(f->a), 0);
	append_n(f->a, 3);
	assert_int_equal(store_access_end(f->a, false), 0);
	append_n(f->a, 1);
	assert_int_equal(store_access_list(f->a, 0, 0, NULL, 0, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.seqs[1], 2);
	assert_int_equal(store_access_verify(f->a, &v), 0);
	assert_true(v.ok);
}

/* The number sql (one integer) counts in the file, as another connection sees it. */
static int
count_in(const struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Entries in the file (what a crash would leave). */
static int
on_disk(const struct fx *f)
{
	return count_in(f, "SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM batch");
}

/* Reads grouped: their notes reach the file at the commit, all together. */
static void
test_group_commit(void **state)
{
	struct fx *f = *state;
	int64_t since = 0;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_access_begin(f->a), 0);
		append_n(f->a, 2);
		assert_int_equal(store_access_end(f->a, true), 0);
	}
	assert_true(store_access_uncommitted(f->a, &since));
	assert_true(since > 0);
	assert_int_equal(on_disk(f), 0);
	assert_int_equal(store_access_commit(f->a), 0);
	assert_false(store_access_uncommitted(f->a, NULL));
	assert_int_equal(on_disk(f), 6);
	/* one row for the group; an entry changed inside it names the batch */
	assert_int_equal(count_in(f, "SELECT count(*) FROM batch"), 1);
	tamper_byte(f, 6, 100); /* a byte past the first entry (some 75 bytes) */
	verify_fails_at(f, 1, "of its batch");
	struct store_access_verdict v;
	assert_int_equal(store_access_verify(f->a, &v), 0);
	assert_int_equal(v.bad_last, 6);
}

/* store_access_fn: every entry is one of append_n's, read back whole. */
static int
check_whole(void *ctx, const struct store_access_entry *e)
{
	int *n = ctx;

	assert_string_equal(e->user, "alice");
	assert_string_equal(e->action, "get");
	assert_string_equal(e->fields, "id,status");
	assert_non_null(e->row);
	assert_string_equal(e->row, e->arrangement);
	(*n)++;
	return 0;
}

/*
 * A note that repeats the strings of the one before refers back to it; when a commit
 * cuts a batch in the middle of a read, the next batch still reads on its own.
 */
static void
test_cut_in_read(void **state)
{
	struct fx *f = *state;
	struct store_access_verdict v;
	int n = 0;

	assert_int_equal(store_access_begin(f->a), 0);
	append_n(f->a, 2);
	assert_int_equal(store_access_end(f->a, true), 0);
	assert_int_equal(store_access_begin(f->a), 0);
	append_n(f->a, 1);
	assert_int_equal(store_access_commit(f->a), 0); /* the first read's notes only */
	assert_int_equal(on_disk(f), 2);
	append_n(f->a, 2);
	assert_int_equal(store_access_end(f->a, true), 0);
	assert_int_equal(store_access_commit(f->a), 0);
	assert_int_equal(count_in(f, "SELECT count(*) FROM batch"), 2);
	assert_int_equal(store_access_list(f->a, 0, 0, NULL, 0, check_whole, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(store_access_verify(f->a, &v), 0);
	assert_true(v.ok);
	assert_int_equal(v.checked, 5);
}

/* A file of another format is refused, not read as this one or rewritten. */
static void
test_other_format(void **state)
{
	struct fx *f = *state;
	char *old = tu_path(f->dir, "old.db");
	struct store_access *a;
	sqlite3 *db = NULL;
	int err = 0;

	assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "CREATE TABLE entry(seq INTEGER PRIMARY KEY)", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	a = store_access_open(old, "Gemeente Testdorp", &err);
	assert_null(a);
	assert_int_equal(err, ARR_EVERSION);
	free(old);
}

/*
 * Notes in memory are bounded in bytes: past the bound the notes of earlier reads are
 * written before their commit, counted; the read in progress keeps its own until it
 * ends, and the chain verifies across the early write.
 */
static void
test_buffer_bound(void **state)
{
	struct fx *f = *state;
	struct store_access_verdict v;
	char fields[1001];
	int reads = 0;

	memset(fields, 'f', sizeof(fields) - 1);
	fields[sizeof(fields) - 1] = '\0';
	struct store_access_entry e = {
	    .uid = 1000, .user = "alice", .action = "list", .table = "consent", .fields = fields};
	while (store_access_overflows(f->a) == 0 && reads < 4000) {
		fields[reads % 1000] ^= 0x20; /* unlike the read before: written out in full */
		assert_int_equal(store_access_begin(f->a), 0);
		assert_int_equal(store_access_append(f->a, &e), 0);
		assert_int_equal(store_access_end(f->a, true), 0);
		reads++;
	}
	assert_int_equal(store_access_overflows(f->a), 1);
	assert_true(reads > 800 && reads < 1100); /* about 1 MiB of notes of 1 KiB and more */
	assert_int_equal(on_disk(f), reads - 1);  /* all but the read that overflowed */
	assert_true(store_access_uncommitted(f->a, NULL));
	assert_int_equal(store_access_commit(f->a), 0);
	assert_int_equal(on_disk(f), reads);
	/* a commit during a read leaves its notes, which its end may still take back */
	assert_int_equal(store_access_begin(f->a), 0);
	assert_int_equal(store_access_append(f->a, &e), 0);
	assert_int_equal(store_access_commit(f->a), 0);
	assert_int_equal(on_disk(f), reads);
	assert_int_equal(store_access_end(f->a, false), 0);
	assert_int_equal(store_access_verify(f->a, &v), 0);
	assert_true(v.ok);
	assert_int_equal(v.checked, reads);
}

#define ROW_1 "a0000001-0000-4000-8000-000000000001"
#define ROW_2 "a0000002-0000-4000-8000-000000000002"
#define ROW_3 "a0000003-0000-4000-8000-000000000003"

/* What a listing handed out, entry by entry: seq, row and arrangement ("-": none). */
struct listed {
	int n;
	int64_t seq[16];
	char row[16][40], arr[16][40];
};

static int
collect_rows(void *ctx, const struct store_access_entry *e)
{
	struct listed *l = ctx;

	assert_true(l->n < 16);
	l->seq[l->n] = e->seq;
	snprintf(l->row[l->n], sizeof(l->row[0]), "%s", e->row != NULL ? e->row : "-");
	snprintf(l->arr[l->n], sizeof(l->arr[0]), "%s",
	         e->arrangement != NULL ? e->arrangement : "-");
	l->n++;
	return 0;
}

/* The entries after seq after, of arrangement arr (NULL: any), at most limit, into l. */
static void
list_rows(struct fx *f, int64_t after, const char *arr, size_t limit, struct listed *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(store_access_list(f->a, after, 0, arr, limit, collect_rows, l), 0);
}

/* Append the note of one read of three rows, and one of two rows of no known arrangement. */
static void
append_rows(struct store_access *a)
{
	struct store_access_entry e = {.uid = 1000,
	                               .user = "alice",
	                               .action = "list",
	                               .table = "consent",
	                               .row = ROW_1 ROW_2 ROW_3,
	                               .arrangement = ARR_A ARR_B ARR_A,
	                               .fields = "id,arrangement_id,purpose",
	                               .rows = 3};

	assert_int_equal(store_access_append(a, &e), 0);
	e.row = ROW_3 ROW_1;
	e.arrangement = NULL;
	e.rows = 2;
	assert_int_equal(store_access_append(a, &e), 0);
}

/*
 * A note of several rows is one record, listed as an entry a row, each with its own seq,
 * row and arrangement: filtered, paged (also within the record) and verified as such.
 */
static void
test_rows_record(void **state)
{
	struct fx *f = *state;
	struct store_access_verdict v;
	struct listed l;
	int err = 0;

	append_rows(f->a);
	assert_int_equal(count_in(f, "SELECT count(*) FROM batch"), 2);
	assert_int_equal(on_disk(f), 5);
	list_rows(f, 0, NULL, 0, &l);
	assert_int_equal(l.n, 5);
	static const char *const rows[] = {ROW_1, ROW_2, ROW_3, ROW_3, ROW_1};
	static const char *const arrs[] = {ARR_A, ARR_B, ARR_A, "-", "-"};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(l.seq[i], i + 1);
		assert_string_equal(l.row[i], rows[i]);
		assert_string_equal(l.arr[i], arrs[i]);
	}
	list_rows(f, 0, ARR_B, 0, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.seq[0], 2);
	assert_string_equal(l.row[0], ROW_2);
	list_rows(f, 1, NULL, 2, &l); /* a page that starts and ends inside the record */
	assert_int_equal(l.n, 2);
	assert_int_equal(l.seq[0], 2);
	assert_string_equal(l.row[1], ROW_3);
	assert_int_equal(store_access_verify(f->a, &v), 0);
	assert_true(v.ok);
	assert_int_equal(v.checked, 5);
	store_access_destroy(&f->a);
	f->a = store_access_open(f->path, "Gemeente Testdorp", &err);
	assert_non_null(f->a);
	append_n(f->a, 1); /* seq 6: the seqs go on after the rows of the records */
	list_rows(f, 5, NULL, 0, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.seq[0], 6);
	assert_string_equal(l.row[0], ARR_A);
	/* a byte of the second row's id in the first record: past the head (20 bytes), three
	 * strings with their codes (user, action, table) and the row's code and first id */
	tamper_byte(f, 3, 20 + (2 + 5) + (2 + 4) + (2 + 7) + 2 + 36 + 3);
	verify_fails_at(f, 1, "modified");
}

/*
 * A record is told from the one before by its whole strings: three rows, then the first
 * of them alone, then the three again (the record before's longer row held in memory
 * must not pass for the same), each listed as it was read.
 */
static void
test_rows_after_shorter(void **state)
{
	struct fx *f = *state;
	struct store_access_entry e = {.uid = 1000,
	                               .user = "alice",
	                               .action = "list",
	                               .table = "consent",
	                               .row = ROW_1 ROW_2 ROW_3,
	                               .fields = "id",
	                               .rows = 3};
	static const char *const rows[] = {ROW_1, ROW_2, ROW_3, ROW_1, ROW_1, ROW_2, ROW_3};
	struct listed l;

	assert_int_equal(store_access_begin(f->a), 0);
	for (int i = 0; i < 3; i++) {
		e.rows = i == 1 ? 1 : 3;
		e.row = i == 1 ? ROW_1 : ROW_1 ROW_2 ROW_3;
		assert_int_equal(store_access_append(f->a, &e), 0);
	}
	assert_int_equal(store_access_end(f->a, true), 0);
	list_rows(f, 0, NULL, 0, &l);
	assert_int_equal(l.n, 7);
	for (int i = 0; i < 7; i++)
		assert_string_equal(l.row[i], rows[i]);
}

/* A note of several rows whose ids do not match their count is refused, and not kept. */
static void
test_rows_refused(void **state)
{
	struct fx *f = *state;
	struct store_access_entry e = {.uid = 1000,
	                               .user = "alice",
	                               .action = "list",
	                               .table = "consent",
	                               .row = ROW_1 ROW_2,
	                               .arrangement = ARR_A,
	                               .fields = "id",
	                               .rows = 2};

	assert_int_equal(store_access_append(f->a, &e), ARR_EINVAL); /* one arrangement */
	e.arrangement = ARR_A ARR_B;
	e.row = ROW_1;
	assert_int_equal(store_access_append(f->a, &e), ARR_EINVAL); /* one row */
	e.row = NULL;
	assert_int_equal(store_access_append(f->a, &e), ARR_EINVAL); /* none */
	e.rows = STORE_ACCESS_REC_ROWS + 1;
	assert_int_equal(store_access_append(f->a, &e), ARR_EINVAL); /* too many */
	assert_int_equal(on_disk(f), 0);
	assert_false(store_access_uncommitted(f->a, NULL));
}

/* Files of the earlier formats (2, 3: ids as text) and of a later one are refused. */
static void
test_older_formats_refused(void **state)
{
	struct fx *f = *state;
	static const char *const other[] = {"PRAGMA user_version = 2", "PRAGMA user_version = 3",
	                                    "PRAGMA user_version = 5"};
	int err = 0;

	append_n(f->a, 3);
	store_access_destroy(&f->a);
	assert_int_equal(count_in(f, "SELECT user_version FROM pragma_user_version"), 4);
	for (size_t i = 0; i < 3; i++) {
		tamper(f, other[i]);
		assert_null(store_access_open(f->path, "Gemeente Testdorp", &err));
		assert_int_equal(err, ARR_EVERSION);
	}
	tamper(f, "PRAGMA user_version = 4");
	f->a = store_access_open(f->path, "Gemeente Testdorp", &err);
	assert_non_null(f->a);
}

struct ids_seen {
	int n;
	char row[3][80], arr[3][80];
	int64_t uid[3];
};

static int
ids_collect(void *ctx, const struct store_access_entry *e)
{
	struct ids_seen *s = ctx;

	if (s->n < 3) {
		snprintf(s->row[s->n], sizeof(s->row[0]), "%s", e->row != NULL ? e->row : "-");
		snprintf(s->arr[s->n], sizeof(s->arr[0]), "%s",
		         e->arrangement != NULL ? e->arrangement : "-");
		s->uid[s->n] = e->uid;
	}
	s->n++;
	return 0;
}

/*
 * Ids are stored as 16 bytes and come back as the same text; an id not in the one text
 * form (upper case) is kept as it was given; a record of the same time and another uid
 * keeps its own uid. And the records take the ids' binary size.
 */
static void
test_ids_binary(void **state)
{
	struct fx *f = *state;
	struct store_access_entry e[3] = {{.uid = 1000,
	                                   .user = "alice",
	                                   .action = "get",
	                                   .table = "arrangement",
	                                   .row = ARR_A,
	                                   .arrangement = ARR_B,
	                                   .fields = "id"},
	                                  {.uid = 1001,
	                                   .user = "alice",
	                                   .action = "get",
	                                   .table = "arrangement",
	                                   .row = "AAAAAAAA-1111-4111-8111-111111111111",
	                                   .arrangement = ARR_A,
	                                   .fields = "id"},
	                                  {.uid = 1001,
	                                   .user = "alice",
	                                   .action = "get",
	                                   .table = "arrangement",
	                                   .row = ARR_B,
	                                   .arrangement = ARR_B,
	                                   .fields = "id"}};
	struct ids_seen s = {0};

	assert_int_equal(store_access_begin(f->a), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_access_append(f->a, &e[i]), 0);
	assert_int_equal(store_access_end(f->a, true), 0);
	assert_int_equal(store_access_commit(f->a), 0);
	assert_int_equal(store_access_list(f->a, 0, 0, NULL, 0, ids_collect, &s), 0);
	assert_int_equal(s.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(s.row[i], e[i].row);
		assert_string_equal(s.arr[i], e[i].arrangement);
		assert_int_equal(s.uid[i], e[i].uid);
	}
	/* the batch's times are the records' (a record sharing the time before has none) */
	char sql[160];
	long long now = (long long)time(NULL) * 1000;
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM batch WHERE first_at BETWEEN %lld AND %lld"
	         " AND last_at BETWEEN first_at AND %lld",
	         now - 60000, now + 1000, now + 1000);
	assert_int_equal(count_in(f, sql), 1);
	/* 201 bytes at most with four ids binary; with them all as text 265 at least */
	assert_true(count_in(f, "SELECT sum(length(entries)) FROM batch") <= 201);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_append_list_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_modified, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_last, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reordered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prune_keeps_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_buffer_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_format, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cut_in_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rows_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rows_after_shorter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rows_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_older_formats_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ids_binary, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
