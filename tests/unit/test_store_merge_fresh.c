/*
 * test_store_merge_fresh.c: the merge of a row that is new (daemon/store_merge.c's
 * merge_fresh) against the general merge on zeroed clocks (store.merge_general): two
 * replicas take the same seeded local writes, one by each path, and must end with the
 * same refusals, the same rows, the same clock records byte for byte and the same
 * digest; and a third replica that catches up on the first's log (its new rows by the
 * same fast path) the same digest. ARRANG_SEED sets the base seed (run i uses base + i),
 * ARRANG_RUNS the number of runs; a failure prints the seed.
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
#include "store.h"
#include "store_int.h"
#include "teststore.h"
#include "testutil.h"

#define FRESH_SEED   0xf7e5a11ULL
#define FRESH_RUNS   4
#define FRESH_WRITES 30
#define FRESH_IDS    40

static const char child_sql[] =
    "SELECT id, _clk, ref, initials, birth_year, _deleted FROM child ORDER BY id, _sc";

/* Every child row of a and b, clock records included, is the same. */
static void
rows_equal(struct store *a, struct store *b)
{
	sqlite3_stmt *x = NULL, *y = NULL;
	size_t rows = 0;
	int rx, ry;

	TU_CHECK(sqlite3_prepare_v2(a->db, child_sql, -1, &x, NULL) == SQLITE_OK);
	TU_CHECK(sqlite3_prepare_v2(b->db, child_sql, -1, &y, NULL) == SQLITE_OK);
	while ((rx = sqlite3_step(x)) == SQLITE_ROW) {
		TU_CHECK((ry = sqlite3_step(y)) == SQLITE_ROW);
		for (int c = 0; c < sqlite3_column_count(x); c++) {
			int n = sqlite3_column_bytes(x, c);

			TU_CHECK(sqlite3_column_type(x, c) == sqlite3_column_type(y, c));
			TU_CHECK(n == sqlite3_column_bytes(y, c));
			TU_CHECK(n == 0 || memcmp(sqlite3_column_blob(x, c),
			                          sqlite3_column_blob(y, c), (size_t)n) == 0);
		}
		rows++;
	}
	TU_CHECK(rx == SQLITE_DONE && sqlite3_step(y) == SQLITE_DONE);
	TU_CHECK(rows > 0);
	sqlite3_finalize(x);
	sqlite3_finalize(y);
}

/*
 * One write of 1 .. 40 random cells of child rows from a pool of ids (new ones and ones
 * written before), with runs that name a column twice, deletes and the same row in
 * runs apart, to a and b alike; an op of a column the schema lacks now and then.
 */
static void
write_both(struct tu_rng *rng, char ids[][ARR_ROWID_STRLEN + 1], struct ts_replica *a,
           struct ts_replica *b)
{
	size_t n = 1 + tu_rng_below(rng, 40);
	struct store_op *ops = calloc(n, sizeof(*ops));
	struct store_write_result ra, rb;
	char v[40][16];
	int ca, cb;

	TU_CHECK(ops != NULL);
	for (size_t i = 0; i < n; i++) {
		/* the row of the op before, most of the time: runs of several ops on a row */
		const char *id = i > 0 && tu_rng_below(rng, 3) != 0
		                     ? ops[i - 1].row_id
		                     : ids[tu_rng_below(rng, FRESH_IDS)];

		snprintf(v[i], sizeof(v[0]), "r%llu", (unsigned long long)tu_rng_below(rng, 9));
		switch (tu_rng_below(rng, 12)) {
		case 0:
			ops[i] = ts_op("child", id, "_deleted",
			               value_int((int64_t)tu_rng_below(rng, 2)));
			break;
		case 1:
			ops[i] = ts_op("child", id, "initials", value_nil());
			break;
		case 2:
		case 3:
			ops[i] = ts_op("child", id, "birth_year",
			               value_int(2000 + (int64_t)tu_rng_below(rng, 9)));
			break;
		case 4:
			ops[i] = ts_op("child", id, "initials", value_text(v[i]));
			break;
		case 5:
			if (tu_rng_below(rng, 8) == 0) {
				ops[i] = ts_op("child", id, "no_such_column", value_int(1));
				break;
			}
			/* fall through */
		default:
			ops[i] = ts_op("child", id, "ref", value_text(v[i]));
			break;
		}
	}
	a->clock += 1 + tu_rng_below(rng, 3);
	b->clock = a->clock;
	ca = store_write(a->s, ops, n, &ra);
	cb = store_write(b->s, ops, n, &rb);
	TU_CHECK(ca == cb);
	TU_CHECK(ca == 0 || ca == ARR_ESCHEMA);
	TU_CHECK(ra.bad_op == rb.bad_op && strcmp(ra.refusal, rb.refusal) == 0);
	TU_CHECK(ra.first_seq == rb.first_seq && ra.last_seq == rb.last_seq);
	free(ops);
}

static void
test_fresh_equals_general(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	uint64_t base = tu_seed(FRESH_SEED);
	long runs = tu_runs(FRESH_RUNS);
	char ids[FRESH_IDS][ARR_ROWID_STRLEN + 1];

	b->s->merge_general = true;
	for (long run = 0; run < runs; run++) {
		struct tu_rng rng;
		uint8_t da[32], db[32], dc[32];

		tu_current_seed = base + (uint64_t)run;
		tu_rng_seed(&rng, tu_current_seed);
		for (size_t i = 0; i < FRESH_IDS; i++)
			ts_new_id(ids[i]);
		for (size_t w = 0; w < FRESH_WRITES; w++)
			write_both(&rng, ids, a, b);
		rows_equal(a->s, b->s);
		ts_digest(a, da);
		ts_digest(b, db);
		TU_CHECK(memcmp(da, db, sizeof(da)) == 0);
		/* the catch-up of a's log merges its new rows by the same path */
		c->clock = a->clock;
		ts_pull(a, c, 1u << 20);
		ts_digest(c, dc);
		TU_CHECK(memcmp(da, dc, sizeof(da)) == 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fresh_equals_general, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
