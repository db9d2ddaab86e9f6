/*
 * test_store_digest_ring.c: the digest's worker thread (daemon/store_digest_worker.c,
 * store_digest_inc.c): the state written to _digest at each commit equals a scan of the
 * rows committed with it, and a digest equals one from scratch, whether the elements
 * were done by the worker, on the loop's thread because the ring was full, or by the
 * flush itself; a rollback drops what the worker held. ARRANG_SEED sets the property
 * test's base seed (run i uses base + i), ARRANG_RUNS its number of runs; a failure
 * prints the seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "store.h"
#include "store_int.h"
#include "teststore.h"
#include "testutil.h"

#define RING_SEED  0x5eed2024ULL
#define RING_RUNS  6
#define RING_STEPS 40
#define RING_IDS   48

/* The state stored in _digest equals the rows' state by a scan; the digest, a full one. */
static void
ring_check(struct store *s)
{
	uint16_t scan[STORE_DIGEST_LANES], stored[STORE_DIGEST_LANES];
	uint8_t inc[32], full[32];
	sqlite3_stmt *st = NULL;

	TU_CHECK(sqlite3_prepare_v2(s->db, "SELECT st FROM _digest WHERE k = 0", -1, &st, NULL) ==
	         SQLITE_OK);
	TU_CHECK(sqlite3_step(st) == SQLITE_ROW);
	TU_CHECK(sqlite3_column_bytes(st, 0) == 2 * STORE_DIGEST_LANES);
	store_digest_lanes_unpack(sqlite3_column_blob(st, 0), stored);
	sqlite3_finalize(st);
	TU_CHECK(store_digest_scan(s, ARR_SCHEMA_VERSION, scan) == 0);
	TU_CHECK(memcmp(stored, scan, sizeof(scan)) == 0);
	TU_CHECK(store_digest(s, inc) == 0);
	TU_CHECK(store_digest_full(s, full) == 0);
	TU_CHECK(memcmp(inc, full, 32) == 0);
}

struct ring {
	struct tu_rng rng;
	char ids[RING_IDS][ARR_ROWID_STRLEN + 1];
	uint64_t commits, rollbacks, raw, inlined;
};

/* One local write of 1 .. 60 random cells of random child rows. */
static void
ring_write(struct ring *p, struct ts_replica *r)
{
	size_t n = 1 + tu_rng_below(&p->rng, 60);
	struct store_op *ops = calloc(n, sizeof(*ops));
	char v[RING_IDS][16];

	TU_CHECK(ops != NULL);
	for (size_t i = 0; i < n; i++) {
		const char *id = p->ids[tu_rng_below(&p->rng, RING_IDS)];

		snprintf(v[i % RING_IDS], sizeof(v[0]), "r%llu",
		         (unsigned long long)tu_rng_below(&p->rng, 6));
		switch (tu_rng_below(&p->rng, 6)) {
		case 0:
			ops[i] = ts_op("child", id, "_deleted",
			               value_int((int64_t)tu_rng_below(&p->rng, 2)));
			break;
		case 1:
			ops[i] = ts_op("child", id, "initials", value_nil());
			break;
		case 2:
			ops[i] = ts_op("child", id, "birth_year",
			               value_int(2000 + (int64_t)tu_rng_below(&p->rng, 4)));
			break;
		default:
			ops[i] = ts_op("child", id, "ref", value_text(v[i % RING_IDS]));
			break;
		}
	}
	r->clock += 1 + tu_rng_below(&p->rng, 3);
	TU_CHECK(store_write(r->s, ops, n, NULL) == 0);
	p->commits++;
	free(ops);
}

/*
 * Changes behind the write path, inside one transaction of the store's: updates and
 * physical deletes of random rows, then a commit or a rollback. The hook sees them
 * like any other row change.
 */
static void
ring_raw(struct ring *p, struct ts_replica *r)
{
	struct store *s = r->s;
	size_t n = 1 + tu_rng_below(&p->rng, 30);

	TU_CHECK(store_db_begin(s) == 0);
	for (size_t i = 0; i < n; i++) {
		char *sql;

		if (tu_rng_below(&p->rng, 4) == 0)
			sql = sqlite3_mprintf("DELETE FROM child WHERE id = (SELECT id FROM child "
			                      "ORDER BY _rid LIMIT 1 OFFSET %d)",
			                      (int)tu_rng_below(&p->rng, RING_IDS));
		else
			sql = sqlite3_mprintf(
			    "UPDATE child SET ref = 'raw%d' WHERE id = (SELECT id "
			    "FROM child ORDER BY _rid LIMIT 1 OFFSET %d)",
			    (int)tu_rng_below(&p->rng, 5), (int)tu_rng_below(&p->rng, RING_IDS));
		TU_CHECK(sql != NULL);
		TU_CHECK(sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK);
		sqlite3_free(sql);
	}
	if (tu_rng_below(&p->rng, 2) == 0) {
		store_db_rollback(s);
		p->rollbacks++;
	} else {
		TU_CHECK(store_db_commit(s) == 0);
		p->raw++;
	}
}

/*
 * A worker with a ring of 8 .. 1024 bytes (a child's record is about 90: none to a
 * dozen fit), woken and bypassed at random thresholds.
 */
static void
ring_tune(struct ring *p, struct store *s)
{
	size_t inline_max = tu_rng_below(&p->rng, 5);

	TU_CHECK(store_digest_tune(s, 8 + 8 * tu_rng_below(&p->rng, 128),
	                           inline_max == 4 ? SIZE_MAX : inline_max,
	                           1 + tu_rng_below(&p->rng, 6)) == 0);
}

static void
ring_run(struct ring *p)
{
	void *state = NULL;
	struct ts_replica *r;
	int err = 0;

	TU_CHECK(ts_setup(&state) == 0);
	r = &((struct ts_fixture *)state)->r[0];
	for (size_t i = 0; i < RING_IDS; i++)
		ts_new_id(p->ids[i]);
	ring_tune(p, r->s);
	for (int step = 0; step < RING_STEPS; step++) {
		uint64_t k = tu_rng_below(&p->rng, 10);

		if (k < 6) {
			ring_write(p, r);
		} else if (k < 9) {
			ring_raw(p, r);
		} else {
			p->inlined += store_digest_inline(r->s);
			store_destroy(&r->s);
			TU_CHECK((r->s = ts_replica_open(r, &err)) != NULL && err == 0);
			ring_tune(p, r->s);
		}
		ring_check(r->s);
	}
	p->inlined += store_digest_inline(r->s);
	ts_teardown(&state);
}

/*
 * Random writes, raw updates and deletes, commits and rollbacks through a tiny ring: the
 * worker, the inline overflow and the flush's own elements all run, and every commit's
 * stored state equals its rows'.
 */
static void
test_digest_ring_property(void **state)
{
	struct ring *p = calloc(1, sizeof(*p));
	uint64_t base = tu_seed(RING_SEED);
	long runs = tu_runs(RING_RUNS);

	(void)state;
	assert_non_null(p);
	for (long i = 0; i < runs; i++) {
		tu_current_seed = base + (uint64_t)i;
		tu_rng_seed(&p->rng, tu_current_seed);
		ring_run(p);
	}
	printf("digest ring: %ld runs from seed %llu; %llu writes, %llu raw commits, "
	       "%llu rollbacks, %llu elements inline (ring full)\n",
	       runs, (unsigned long long)base, (unsigned long long)p->commits,
	       (unsigned long long)p->raw, (unsigned long long)p->rollbacks,
	       (unsigned long long)p->inlined);
	/* the schedules must commit, roll back and overflow the ring, or they test little */
	if (runs >= RING_RUNS)
		TU_CHECK(p->commits > 0 && p->raw > 0 && p->rollbacks > 0 && p->inlined > 0);
	free(p);
}

/* A write of n new child rows in one transaction at r. */
static void
write_rows(struct ts_replica *r, size_t n)
{
	struct store_op *ops = calloc(2 * n, sizeof(*ops));
	char(*ids)[ARR_ROWID_STRLEN + 1] = calloc(n, sizeof(*ids));

	assert_non_null(ops);
	assert_non_null(ids);
	for (size_t i = 0; i < n; i++) {
		ts_new_id(ids[i]);
		ops[2 * i] = ts_op("child", ids[i], "ref", value_text("handed over"));
		ops[2 * i + 1] = ts_op("child", ids[i], "birth_year", value_int(2010));
	}
	r->clock++;
	assert_int_equal(store_write(r->s, ops, 2 * n, NULL), 0);
	free(ids);
	free(ops);
}

/*
 * Records handed to a worker that no put wakes and no flush bypasses: the commit's state
 * has every row's element only if the flush wakes the worker and waits for it.
 */
static void
test_digest_commit_after_handoff(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *r = &f->r[0];

	tu_current_seed = 0;
	assert_int_equal(store_digest_tune(r->s, 1 << 20, 0, SIZE_MAX), 0);
	write_rows(r, 300);
	ring_check(r->s);
	assert_int_equal(store_digest_inline(r->s), 0);
	/* the worker awake all along (woken by the first record) */
	assert_int_equal(store_digest_tune(r->s, 1 << 20, 0, 1), 0);
	write_rows(r, 300);
	ring_check(r->s);
	/* ... and the flush doing what the worker has not claimed, as the store's does */
	assert_int_equal(store_digest_tune(r->s, 1 << 20, SIZE_MAX, 1), 0);
	write_rows(r, 300);
	ring_check(r->s);
	assert_int_equal(store_digest_inline(r->s), 0);
}

/* A ring of 512 bytes for 300 rows: most are done on the loop's thread, and counted. */
static void
test_digest_ring_full_inline(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *r = &f->r[0];

	tu_current_seed = 0;
	assert_int_equal(store_digest_tune(r->s, 512, 0, SIZE_MAX), 0);
	write_rows(r, 300);
	ring_check(r->s);
	/* 300 new rows, each one element at least; a few fit */
	assert_true(store_digest_inline(r->s) >= 290);
	assert_int_equal(store_digest_tune(r->s, 0, 0, 0), 0); /* no worker at all */
	write_rows(r, 50);
	ring_check(r->s);
}

/*
 * The worker alone: records of random sizes put into rings of random sizes, the worker
 * let run now and then (so it reads while the ring fills and an entry meets the ring's
 * end), records that find no room done by the caller, takes and drops at random: each
 * take gives the sum of the elements of every record since the last take or drop.
 */
#define BURST 12

static void
test_digest_worker_ring(void **state)
{
	uint64_t base = tu_seed(RING_SEED);
	long runs = tu_runs(RING_RUNS);
	uint16_t want[STORE_DIGEST_LANES], got[STORE_DIGEST_LANES];
	uint8_t rec[BURST][600];
	size_t len[BURST];
	bool sub[BURST];
	uint64_t takes = 0, refused = 0;

	(void)state;
	for (long i = 0; i < runs; i++) {
		struct tu_rng rng;
		struct store_digest_worker *w;

		tu_current_seed = base + (uint64_t)i;
		tu_rng_seed(&rng, tu_current_seed);
		w = store_digest_worker_new(8 * (1 + tu_rng_below(&rng, 256)),
		                            tu_rng_below(&rng, 3), 1 + tu_rng_below(&rng, 4));
		TU_CHECK(w != NULL);
		memset(want, 0, sizeof(want));
		memset(got, 0, sizeof(got));
		for (int k = 0; k < 1000; k++) {
			size_t burst = 1 + tu_rng_below(&rng, BURST);
			uint64_t what = tu_rng_below(&rng, 100);

			/* put a burst at once, faster than the worker takes it: it wraps */
			for (size_t j = 0; j < burst; j++) {
				len[j] = 1 + tu_rng_below(&rng, sizeof(rec[0]) - 1);
				sub[j] = tu_rng_below(&rng, 3) == 0;
				for (size_t b = 0; b < len[j]; b++)
					rec[j][b] = (uint8_t)tu_rng_next(&rng);
			}
			for (size_t j = 0; j < burst; j++)
				if (!store_digest_worker_put(w, rec[j], len[j], sub[j])) {
					store_digest_element(rec[j], len[j], sub[j], got);
					refused++;
				}
			for (size_t j = 0; j < burst; j++)
				store_digest_element(rec[j], len[j], sub[j], want);
			if (what < 10) {
				usleep((useconds_t)(20 + tu_rng_below(&rng, 200)));
			} else if (what < 14) {
				store_digest_worker_take(w, got);
				TU_CHECK(memcmp(want, got, sizeof(got)) == 0);
				memset(want, 0, sizeof(want));
				memset(got, 0, sizeof(got));
				takes++;
			} else if (what < 16) {
				store_digest_worker_drop(w);
				memset(want, 0, sizeof(want));
				memset(got, 0, sizeof(got));
			}
		}
		store_digest_worker_take(w, got);
		TU_CHECK(memcmp(want, got, sizeof(got)) == 0);
		store_digest_worker_destroy(&w);
		TU_CHECK(w == NULL);
	}
	printf("digest worker: %ld runs from seed %llu; %llu takes, %llu records refused\n", runs,
	       (unsigned long long)base, (unsigned long long)takes, (unsigned long long)refused);
	if (runs >= RING_RUNS)
		TU_CHECK(takes > 0 && refused > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_digest_commit_after_handoff, ts_setup,
	                                    ts_teardown),
	    cmocka_unit_test_setup_teardown(test_digest_ring_full_inline, ts_setup, ts_teardown),
	    cmocka_unit_test(test_digest_ring_property),
	    cmocka_unit_test(test_digest_worker_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
