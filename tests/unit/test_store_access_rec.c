/*
 * test_store_access_rec.c: the access log's records (daemon/store_access_rec.c) as
 * store_access_append writes them: notes in text and in binary ids, of a shape or none,
 * of one row or several, their arrangements each their row, their own, in text or none,
 * in any order (ARRANG_SEED), read back by store_access_list as exactly the entries
 * appended, across commits, reads taken back and a full buffer; and the chain still
 * verifies.
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

#include "arrerr.h"
#include "rowid.h"
#include "store_access.h"
#include "testutil.h"

#define POOL    6    /* row ids the notes draw from */
#define KMAX    3    /* rows a note names at most */
#define EXPECT  4096 /* entries the oracle keeps */
#define TUPLES  3    /* user, action, table and fields a note may have */
#define STR_MAX (KMAX * STORE_ACCESS_ID_LEN + 1)

/* What one entry must read back as. */
struct want {
	char user[16], action[16], table[24], fields[48];
	char row[STORE_ACCESS_ID_LEN + 1], arr[STR_MAX];
	bool has_row, has_arr;
};

struct fx {
	char *dir;
	struct store_access *a;
	struct tu_rng rng;
	char ids[POOL][STORE_ACCESS_ID_LEN + 1];
	uint8_t bins[POOL][16];
	uint64_t shape[TUPLES];
	struct want *want; /* the oracle: every entry kept */
	size_t nwant;
};

static const char *const tuples[TUPLES][4] = {
    {"alice", "get", "arrangement", "id,status,kind"},
    {"bob", "list", "consent", "id,arrangement_id,purpose"},
    {"alice", "get", "goal", "id,arrangement_id"},
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *path;
	int err = 0;

	assert_non_null(f);
	f->dir = tu_tmpdir();
	path = tu_path(f->dir, "access.db");
	f->a = store_access_open(path, "Gemeente Testdorp", &err);
	free(path);
	assert_non_null(f->a);
	f->want = calloc(EXPECT, sizeof(*f->want));
	assert_non_null(f->want);
	tu_current_seed = tu_seed(2307);
	tu_rng_seed(&f->rng, tu_current_seed);
	for (size_t i = 0; i < POOL; i++) {
		snprintf(f->ids[i], sizeof(f->ids[i]), "%08zx-0000-4000-8000-%012llx", i + 1,
		         (unsigned long long)(tu_rng_next(&f->rng) & 0xffffffffffffULL));
		assert_int_equal(rowid_parse(f->ids[i], f->bins[i]), 0);
	}
	for (size_t t = 0; t < TUPLES; t++)
		f->shape[t] = store_access_rec_shape_new();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_access_destroy(&f->a);
	tu_rmtree(f->dir);
	free(f->want);
	free(f);
	return 0;
}

/* A note being made: its rows (pool indexes), arrangements, and their two forms. */
struct note {
	size_t k, k2;              /* k2: the note before's */
	int row[KMAX], row2[KMAX]; /* row2: the note before's */
	int arr[KMAX];             /* -1: none */
	uint8_t rbin[KMAX * 16], abin[KMAX * 16];
	char rtxt[STR_MAX], atxt[STR_MAX];
};

/* Arrangement kinds of a note: none, each its row, their own (binary), their own in text. */
enum { ARR_NONE, ARR_ROW, ARR_OWN, ARR_TEXT };

/*
 * Draw a note's rows (sometimes those of the note before, or of the one before that)
 * and arrangements.
 */
static void
note_draw(struct fx *f, struct note *n, int kind)
{
	uint64_t again = n->k == 0 ? 5 : tu_rng_below(&f->rng, 6);
	size_t k = n->k;
	int row[KMAX];

	memcpy(row, n->row, sizeof(row));
	if (again == 1 && n->k2 > 0) { /* the rows of the note before the note before */
		n->k = n->k2;
		memcpy(n->row, n->row2, sizeof(row));
	} else if (again > 2) {
		n->k = 1 + tu_rng_below(&f->rng, KMAX);
		for (size_t i = 0; i < n->k; i++)
			n->row[i] = (int)tu_rng_below(&f->rng, POOL);
	} /* else the same rows again */
	n->k2 = k;
	memcpy(n->row2, row, sizeof(row));
	n->rtxt[0] = n->atxt[0] = '\0';
	for (size_t i = 0; i < n->k; i++) {
		n->arr[i] = kind == ARR_NONE  ? -1
		            : kind == ARR_ROW ? n->row[i]
		                              : (int)tu_rng_below(&f->rng, POOL);
		memcpy(n->rbin + 16 * i, f->bins[n->row[i]], 16);
		strcat(n->rtxt, f->ids[n->row[i]]);
		if (n->arr[i] >= 0) {
			memcpy(n->abin + 16 * i, f->bins[n->arr[i]], 16);
			strcat(n->atxt, f->ids[n->arr[i]]);
		}
	}
}

/* What the note reads back as: k entries of tuple t, one a row. */
static void
note_expect(struct fx *f, const struct note *n, size_t t)
{
	for (size_t i = 0; i < n->k; i++) {
		struct want *w = &f->want[f->nwant++];

		assert_true(f->nwant <= EXPECT);
		snprintf(w->user, sizeof(w->user), "%s", tuples[t][0]);
		snprintf(w->action, sizeof(w->action), "%s", tuples[t][1]);
		snprintf(w->table, sizeof(w->table), "%s", tuples[t][2]);
		snprintf(w->fields, sizeof(w->fields), "%s", tuples[t][3]);
		snprintf(w->row, sizeof(w->row), "%s", f->ids[n->row[i]]);
		w->has_row = true;
		w->has_arr = n->arr[i] >= 0;
		if (w->has_arr)
			snprintf(w->arr, sizeof(w->arr), "%s", f->ids[n->arr[i]]);
	}
}

/*
 * Append one note drawn at random: in text or binary ids, of its tuple's shape or none,
 * and expect its entries.
 */
static void
note_append(struct fx *f, struct note *n)
{
	size_t t = tu_rng_below(&f->rng, TUPLES);
	int kind = (int)tu_rng_below(&f->rng, 4);
	bool bin = tu_rng_below(&f->rng, 4) != 0;
	struct store_access_entry e = {.uid = t == 1 ? 1001 : 1000,
	                               .user = tuples[t][0],
	                               .action = tuples[t][1],
	                               .table = tuples[t][2],
	                               .fields = tuples[t][3],
	                               .shape = tu_rng_below(&f->rng, 4) != 0 ? f->shape[t] : 0};

	note_draw(f, n, kind);
	e.rows = n->k > 1 || tu_rng_below(&f->rng, 2) != 0 ? n->k : 0;
	e.row = n->rtxt;
	e.arrangement = kind != ARR_NONE ? n->atxt : NULL;
	if (bin) {
		e.row = NULL;
		e.row_ids = n->rbin;
		e.arr_ids = kind == ARR_ROW ? n->rbin : kind == ARR_OWN ? n->abin : NULL;
		if (e.arr_ids != NULL)
			e.arrangement = NULL;
	}
	assert_int_equal(store_access_append(f->a, &e), 0);
	note_expect(f, n, t);
}

struct readback {
	const struct fx *f;
	size_t n;
};

/* store_access_fn: entry n against the oracle's. */
static int
check_entry(void *ctx, const struct store_access_entry *e)
{
	struct readback *rb = ctx;
	const struct want *w = &rb->f->want[rb->n];

	if (rb->n >= rb->f->nwant)
		fail_msg("entry %zu is one too many (seed %llu)", rb->n,
		         (unsigned long long)tu_current_seed);
	if (strcmp(e->user, w->user) != 0 || strcmp(e->action, w->action) != 0 ||
	    strcmp(e->table, w->table) != 0 || strcmp(e->fields, w->fields) != 0 ||
	    e->row == NULL || strcmp(e->row, w->row) != 0 ||
	    (e->arrangement != NULL) != w->has_arr ||
	    (w->has_arr && strcmp(e->arrangement, w->arr) != 0) || e->seq != (int64_t)rb->n + 1)
		fail_msg("entry %zu: %s %s %s %s %s, want %s %s %s %s %s (seed %llu)", rb->n,
		         e->user, e->action, e->table, e->row != NULL ? e->row : "-",
		         e->arrangement != NULL ? e->arrangement : "-", w->user, w->action,
		         w->table, w->row, w->has_arr ? w->arr : "-",
		         (unsigned long long)tu_current_seed);
	if ((e->uid == 1001) != (strcmp(w->user, "bob") == 0))
		fail_msg("entry %zu: uid %lld (seed %llu)", rb->n, (long long)e->uid,
		         (unsigned long long)tu_current_seed);
	rb->n++;
	return 0;
}

/* Everything appended reads back as the oracle has it, and the chain verifies. */
static void
check_all(struct fx *f)
{
	struct readback rb = {.f = f};
	struct store_access_verdict v;

	assert_int_equal(store_access_commit(f->a), 0);
	assert_int_equal(store_access_list(f->a, 0, 0, NULL, 0, check_entry, &rb), 0);
	assert_int_equal(rb.n, f->nwant);
	assert_true(f->nwant > 300); /* kept: some 7 reads in 8, of 1 to 4 notes of 1 to 3 rows */
	assert_int_equal(store_access_verify(f->a, &v), 0);
	assert_true(v.ok);
	assert_int_equal(v.checked, f->nwant);
}

/*
 * Reads of random notes, some taken back, with commits between: every entry kept reads
 * back as appended, whichever way its record was written.
 */
static void
test_notes_read_back(void **state)
{
	struct fx *f = *state;
	struct note n = {.k = 0};

	for (int read = 0; read < 300; read++) {
		bool back = tu_rng_below(&f->rng, 8) == 0;
		size_t notes = 1 + tu_rng_below(&f->rng, 4);

		size_t mark = f->nwant;

		assert_int_equal(store_access_begin(f->a), 0);
		for (size_t i = 0; i < notes; i++)
			note_append(f, &n);
		assert_int_equal(store_access_end(f->a, !back), 0);
		if (back)
			f->nwant = mark; /* taken back: never happened */
		if (tu_rng_below(&f->rng, 16) == 0)
			assert_int_equal(store_access_commit(f->a), 0);
	}
	check_all(f);
}

/* store_access_fn: entry n of test_shaped_past_the_bound: row and arrangement n % POOL. */
static int
check_cycled(void *ctx, const struct store_access_entry *e)
{
	struct readback *rb = ctx;
	const char *id = rb->f->ids[rb->n % POOL];

	if (e->row == NULL || strcmp(e->row, id) != 0 || e->arrangement == NULL ||
	    strcmp(e->arrangement, id) != 0 || strcmp(e->user, tuples[0][0]) != 0 ||
	    strcmp(e->fields, tuples[0][3]) != 0 || e->seq != (int64_t)rb->n + 1)
		fail_msg("entry %zu: %s %s, want %s (seed %llu)", rb->n,
		         e->row != NULL ? e->row : "-",
		         e->arrangement != NULL ? e->arrangement : "-", id,
		         (unsigned long long)tu_current_seed);
	rb->n++;
	return 0;
}

/*
 * Gets of one shape past the buffer's bound: the notes before are written early (an
 * overflow), and the notes after, no longer able to refer to them, read back all the same.
 */
static void
test_shaped_past_the_bound(void **state)
{
	struct fx *f = *state;
	struct readback rb = {.f = f};
	struct store_access_verdict v;
	size_t n = 0;

	for (; store_access_overflows(f->a) < 2 && n < 400000; n++) {
		struct store_access_entry e = {.uid = 1000,
		                               .user = tuples[0][0],
		                               .action = tuples[0][1],
		                               .table = tuples[0][2],
		                               .fields = tuples[0][3],
		                               .rows = 1,
		                               .row_ids = f->bins[n % POOL],
		                               .arr_ids = f->bins[n % POOL],
		                               .shape = f->shape[0]};

		assert_int_equal(store_access_begin(f->a), 0);
		assert_int_equal(store_access_append(f->a, &e), 0);
		assert_int_equal(store_access_end(f->a, true), 0);
	}
	assert_int_equal(store_access_overflows(f->a), 2);
	assert_true(n > 2 * 40000); /* a bound of 1 MiB, at most 25 bytes a get */
	assert_int_equal(store_access_commit(f->a), 0);
	assert_int_equal(store_access_list(f->a, 0, 0, NULL, 0, check_cycled, &rb), 0);
	assert_int_equal(rb.n, n);
	assert_int_equal(store_access_verify(f->a, &v), 0);
	assert_true(v.ok);
	assert_int_equal(v.checked, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_notes_read_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shaped_past_the_bound, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
