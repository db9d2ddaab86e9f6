/*
 * test_store_digest.c: the digest (daemon/store_digest.c, store_digest_inc.c): equal
 * content gives equal digests whatever the order or node, every change of content shows,
 * the digest kept up to date equals one computed from scratch after any mix of writes,
 * merges, deletions, erasures, rollbacks and restarts, and known answers from the
 * specification. ARRANG_SEED sets the property test's base seed (run i uses base + i),
 * ARRANG_RUNS its number of runs; a failure prints the seed.
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
#include "policy.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

/* The digest as 64 hex characters. */
static void
digest_hex(struct ts_replica *r, char out[65])
{
	uint8_t d[32];

	ts_digest(r, d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/*
 * Runs sql on r's database behind the store's back (store closed meanwhile). The
 * digest's stored state cannot follow such a change: it is dropped too, and the store
 * builds it again from the rows when it opens.
 */
static void
raw_exec(struct ts_replica *r, const char *sql)
{
	sqlite3 *db = NULL;
	int err = 0;

	store_destroy(&r->s);
	assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM _digest", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_non_null(r->s = ts_replica_open(r, &err));
}

#define DIGEST_ROWS 40

/* A new row written at r changes its digest from want; deleting the row restores it. */
static void
extra_row_deleted(struct ts_replica *r, const char *ref, const uint8_t want[32])
{
	uint8_t d[32];
	char id[37];

	ts_new_id(id);
	assert_int_equal(ts_write1(r, "child", id, "ref", value_text(ref)), 0);
	ts_digest(r, d);
	assert_memory_not_equal(d, want, 32);
	assert_int_equal(ts_write1(r, "child", id, "_deleted", value_int(1)), 0);
	ts_digest(r, d);
	assert_memory_equal(d, want, 32);
}

static void
test_digest_exchange(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	uint8_t da[32], db[32], dc[32];
	char id[37], shared[37];
	struct vv *va = NULL, *vb = NULL;

	ts_digest(a, da);
	ts_digest(b, db);
	assert_memory_equal(da, db, 32);
	ts_new_id(shared);
	for (int i = 0; i < 3; i++) {
		ts_new_id(id);
		assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("A")), 0);
		ts_new_id(id);
		assert_int_equal(ts_write1(b, "child", id, "birth_year", value_int(2010 + i)), 0);
	}
	/* concurrent writes of one cell: the higher (hlc, origin) wins everywhere */
	a->clock += 100;
	b->clock += 100;
	/* (a region row: two nodes that open the same case row unseen make two rows) */
	assert_int_equal(ts_write1(a, "organisation", shared, "name", value_text("from a")), 0);
	assert_int_equal(ts_write1(b, "organisation", shared, "name", value_text("from b")), 0);
	ts_digest(a, da);
	ts_digest(b, db);
	assert_memory_not_equal(da, db, 32);
	ts_pull(a, b, 200);
	ts_pull(b, a, 200);
	/* c learns everything relayed through b only */
	ts_pull(b, c, 1 << 20);
	ts_digest(a, da);
	ts_digest(b, db);
	ts_digest(c, dc);
	assert_memory_equal(da, db, 32);
	assert_memory_equal(da, dc, 32);
	assert_int_equal(store_vector(a->s, &va), 0);
	assert_int_equal(store_vector(b->s, &vb), 0);
	assert_int_equal(vv_compare(va, vb), VV_EQUAL);
	vv_destroy(&va);
	vv_destroy(&vb);

	/* key (hlc, origin): equal clocks, so the larger origin's value wins */
	struct ts_rowtext t = {{0}, 0};
	assert_int_equal(store_get(c->s, "organisation", shared, ts_row_to_text, &t), 0);
	bool a_wins = memcmp(nodekey_public(a->key), nodekey_public(b->key), ARR_ORIGIN_LEN) > 0;
	assert_string_equal(t.buf, a_wins ? "kind=nil;name='from a';code=nil;"
	                                  : "kind=nil;name='from b';code=nil;");

	/* deleting restores the old digest: deleted rows are not content */
	extra_row_deleted(a, "x", db);
}

/*
 * The same content written in opposite orders, by different nodes, one row per change
 * set or all in one, and with cells overwritten on the way, gives the same digest: rows
 * are stored (and scanned) in arrival order, which differs between the replicas.
 */
static void
test_digest_order_independent(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct store_op ops[3 * DIGEST_ROWS];
	char ids[DIGEST_ROWS][37], refs[DIGEST_ROWS][24];
	uint8_t da[32], db[32], dc[32], empty[32];
	size_t n = 0;

	ts_digest(a, empty);
	for (size_t i = 0; i < DIGEST_ROWS; i++) {
		ts_new_id(ids[i]);
		snprintf(refs[i], sizeof(refs[i]), "r%zu", i);
	}
	/* a: one change set per cell, first to last row, with a value later overwritten */
	for (size_t i = 0; i < DIGEST_ROWS; i++) {
		const char *table = i % 2 ? "child" : "organisation", *ref = refs[i];

		if (i % 2) {
			assert_int_equal(ts_write1(a, table, ids[i], "ref", value_text("draft")),
			                 0);
			assert_int_equal(ts_write1(a, table, ids[i], "ref", value_text(ref)), 0);
			assert_int_equal(ts_write1(a, table, ids[i], "birth_year", value_int(2010)),
			                 0);
		} else {
			struct store_op o[] = {ts_op(table, ids[i], "name", value_text(ref)),
			                       ts_op(table, ids[i], "kind", value_text("school"))};

			assert_int_equal(store_write(a->s, o, 2, NULL), 0);
		}
	}
	/* b: the same cells, last to first row, all in one change set */
	for (size_t i = DIGEST_ROWS; i-- > 0;) {
		const char *table = i % 2 ? "child" : "organisation", *ref = refs[i];

		if (i % 2) {
			ops[n++] = ts_op(table, ids[i], "birth_year", value_int(2010));
			ops[n++] = ts_op(table, ids[i], "ref", value_text(ref));
		} else {
			ops[n++] = ts_op(table, ids[i], "kind", value_text("school"));
			ops[n++] = ts_op(table, ids[i], "name", value_text(ref));
		}
	}
	assert_int_equal(store_write(b->s, ops, n, NULL), 0);
	/* c: a's change sets, a few at a time */
	ts_pull(a, c, 300);
	ts_digest(a, da);
	ts_digest(b, db);
	ts_digest(c, dc);
	assert_memory_not_equal(da, empty, 32);
	assert_memory_equal(da, db, 32);
	assert_memory_equal(da, dc, 32);
}

/* Setting a child's column to changed changes r's digest from want; restored restores it. */
static void
cell_changed_then_restored(struct ts_replica *r, const char *id, const char *column,
                           struct value changed, struct value restored, const uint8_t want[32])
{
	uint8_t d[32];

	assert_int_equal(ts_write1(r, "child", id, column, changed), 0);
	ts_digest(r, d);
	assert_memory_not_equal(d, want, 32);
	assert_int_equal(ts_write1(r, "child", id, column, restored), 0);
	ts_digest(r, d);
	assert_memory_equal(d, want, 32);
}

/*
 * Every change of visible content changes the ts_digest, and undoing it restores the
 * digest: a cell's value, a cell's kind (int 1, real 1.0, text "1", blob "1"), a value
 * moved to another column, an extra row, a deleted row.
 */
static void
test_digest_detects_changes(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	uint8_t d0[32], d[32], dk[4][32];
	char id1[37], id2[37], sql[160];
	static const char *const kinds[] = {"1", "1.0", "'1'", "x'31'"};

	ts_new_id(id1);
	ts_new_id(id2);
	assert_int_equal(ts_write1(a, "child", id1, "ref", value_text("K-1")), 0);
	assert_int_equal(ts_write1(a, "child", id1, "birth_year", value_int(2016)), 0);
	assert_int_equal(ts_write1(a, "child", id2, "ref", value_text("K-2")), 0);
	ts_digest(a, d0);

	/* one cell */
	cell_changed_then_restored(a, id1, "birth_year", value_int(2017), value_int(2016), d0);
	assert_int_equal(ts_write1(a, "child", id2, "ref", value_nil()), 0);
	ts_digest(a, d);
	assert_memory_not_equal(d, d0, 32);
	assert_int_equal(ts_write1(a, "child", id2, "ref", value_text("K-2")), 0);

	/* the same value in another column */
	assert_int_equal(ts_write1(a, "child", id2, "ref", value_nil()), 0);
	assert_int_equal(ts_write1(a, "child", id2, "initials", value_text("K-2")), 0);
	ts_digest(a, d);
	assert_memory_not_equal(d, d0, 32);
	assert_int_equal(ts_write1(a, "child", id2, "initials", value_nil()), 0);
	assert_int_equal(ts_write1(a, "child", id2, "ref", value_text("K-2")), 0);
	ts_digest(a, d);
	assert_memory_equal(d, d0, 32);

	/* an extra row, then deleted again */
	extra_row_deleted(a, "extra", d0);

	/* a deleted row, then un-deleted */
	cell_changed_then_restored(a, id1, "_deleted", value_int(1), value_int(0), d0);

	/* kinds: local writes check types, so the cell is set behind the store's back */
	for (size_t k = 0; k < 4; k++) {
		snprintf(sql, sizeof(sql), "UPDATE child SET birth_year = %s WHERE id = '%s'",
		         kinds[k], id1);
		raw_exec(a, sql);
		ts_digest(a, dk[k]);
		assert_memory_not_equal(dk[k], d0, 32);
		for (size_t j = 0; j < k; j++)
			assert_memory_not_equal(dk[k], dk[j], 32);
	}
	snprintf(sql, sizeof(sql), "UPDATE child SET birth_year = 2016 WHERE id = '%s'", id1);
	raw_exec(a, sql);
	ts_digest(a, d);
	assert_memory_equal(d, d0, 32);
}

/*
 * Known answers (PROTOCOL.md, "Digest"), computed from the specification by an
 * independent script, not by this code: any change of the function shows here, and
 * every node must compute the same one.
 */
static void
test_digest_known_answer(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	char hex[65];
	static const char org[] = "00000000-0000-4000-8000-000000000001";
	static const char k17[] = "00000000-0000-4000-8000-000000000002";
	static const char k18[] = "00000000-0000-4000-8000-000000000003";
	struct store_op ops[] = {
	    ts_op("child", k18, "initials", value_text("A.B.")),
	    ts_op("organisation", org, "name", value_text("De Regenboog")),
	    ts_op("child", k17, "birth_year", value_int(2016)),
	    ts_op("organisation", org, "kind", value_text("school")),
	    ts_op("child", k18, "ref", value_text("K-18")),
	    ts_op("child", k17, "ref", value_text("K-17")),
	};

	digest_hex(a, hex);
	assert_string_equal(hex,
	                    "8b99f1ac01c33f4234f55a3cdd8f1ce018421b891d9a01ddd94e119ae0f10cad");
	assert_int_equal(store_write(a->s, ops, sizeof(ops) / sizeof(ops[0]), NULL), 0);
	digest_hex(a, hex);
	assert_string_equal(hex,
	                    "1536c166482cf0b5c9445dd65b8a7c217e276f1fa9f721ee1c745b44f96100f8");
}

/* ---- the digest kept up to date equals the digest from scratch ---- */

#define PROP_SEED  UINT64_C(20260524)
#define PROP_RUNS  12
#define PROP_STEPS 60
#define PROP_IDS   24

struct prop {
	struct ts_fixture *f;
	struct tu_rng rng;
	char ids[PROP_IDS][ARR_ROWID_STRLEN + 1]; /* region rows (child), then arrangements */
	uint64_t checks, erased, rolled_back, agreed;
};

/* r's digest kept up to date equals the one computed from scratch, and is returned. */
static void
prop_check(struct prop *p, struct ts_replica *r, uint8_t out[32])
{
	uint8_t full[32];

	TU_CHECK(store_digest(r->s, out) == 0);
	TU_CHECK(store_digest_full(r->s, full) == 0);
	TU_CHECK(memcmp(out, full, 32) == 0);
	p->checks++;
}

/* A write of a random cell (a value, nil, deleted or not) of a random row. */
static void
prop_write(struct prop *p, struct ts_replica *r)
{
	size_t k = tu_rng_below(&p->rng, PROP_IDS);
	char v[24];
	struct store_op op;

	snprintf(v, sizeof(v), "v%llu", (unsigned long long)tu_rng_below(&p->rng, 4));
	r->clock += 1 + tu_rng_below(&p->rng, 3);
	if (k < PROP_IDS / 2) {
		switch (tu_rng_below(&p->rng, 5)) {
		case 0:
			op = ts_op("child", p->ids[k], "_deleted",
			           value_int((int64_t)tu_rng_below(&p->rng, 2)));
			break;
		case 1:
			op = ts_op("child", p->ids[k], "ref", value_nil());
			break;
		case 2:
			op = ts_op("child", p->ids[k], "birth_year",
			           value_int(2000 + (int64_t)tu_rng_below(&p->rng, 3)));
			break;
		default:
			op = ts_op("child", p->ids[k], "ref", value_text(v));
			break;
		}
	} else {
		op = ts_op("arrangement", p->ids[k], "summary", value_text(v));
	}
	(void)store_write(r->s, &op, 1, NULL); /* refused at times: another's scope */
}

/*
 * A write refused inside its transaction, after its rows were merged, by the domain
 * rules of replica c (a child without its ref): rolled back, and so must be what the
 * digest noted of it.
 */
static void
prop_rollback(struct prop *p)
{
	struct ts_replica *c = &p->f->r[2];
	char bad[ARR_ROWID_STRLEN + 1];
	struct store_op ops[2];

	ts_new_id(bad);
	ops[0] = ts_op("child", p->ids[tu_rng_below(&p->rng, PROP_IDS / 2)], "ref",
	               value_text("rolled back"));
	ops[1] = ts_op("child", bad, "birth_year", value_int(2012));
	c->clock++;
	if (store_write(c->s, ops, 2, NULL) < 0)
		p->rolled_back++;
}

/* The owner erases a random arrangement's scope (refused when not the owner, or gone). */
static void
prop_erase(struct prop *p, struct ts_replica *r)
{
	size_t k = PROP_IDS / 2 + tu_rng_below(&p->rng, PROP_IDS / 2);
	uint8_t scope[ARR_SCOPE_LEN];

	if (store_scope_of(r->s, "arrangement", p->ids[k], scope) == 0 &&
	    store_scope_erase(r->s, scope, NULL) == 0)
		p->erased++;
}

static void
prop_reopen(struct ts_replica *r)
{
	int err = 0;

	store_destroy(&r->s);
	r->s = ts_replica_open(r, &err);
	TU_CHECK(r->s != NULL && err == 0);
}

/*
 * from's change sets that to lacks, in pages of max_bytes, until none is missing or a
 * page moves nothing (what an erasure leaves waiting stays waiting: ts_pull would spin).
 */
static void
prop_pull(struct ts_replica *from, struct ts_replica *to, size_t max_bytes)
{
	bool more = true;

	for (int page = 0; more && page < 64; page++) {
		struct ts_blobs *b = calloc(1, sizeof(*b));
		struct vv *v = NULL, *w = NULL;
		bool moved;

		TU_CHECK(b != NULL && store_vector(to->s, &v) == 0);
		TU_CHECK(store_changes_since(from->s, v, max_bytes, ts_collect, b, &more) == 0);
		if (b->n > 0)
			ts_apply_blobs(to, b, NULL, NULL);
		TU_CHECK(store_vector(to->s, &w) == 0);
		moved = vv_compare(v, w) != VV_EQUAL;
		vv_destroy(&v);
		vv_destroy(&w);
		ts_blobs_free(b);
		free(b);
		if (!moved)
			break;
	}
}

/* Whether a and b hold the same change sets (equal vectors). */
static bool
prop_same_vector(struct ts_replica *a, struct ts_replica *b)
{
	struct vv *va = NULL, *vb = NULL;
	bool same;

	TU_CHECK(store_vector(a->s, &va) == 0 && store_vector(b->s, &vb) == 0);
	same = vv_compare(va, vb) == VV_EQUAL;
	vv_destroy(&va);
	vv_destroy(&vb);
	return same;
}

static void
prop_run(struct prop *p)
{
	uint8_t d[3][32];
	void *state = NULL;

	TU_CHECK(ts_setup(&state) == 0);
	p->f = state;
	p->f->r[2].rules = true;
	prop_reopen(&p->f->r[2]);
	for (size_t i = 0; i < PROP_IDS; i++)
		ts_new_id(p->ids[i]);
	for (int s = 0; s < PROP_STEPS; s++) {
		struct ts_replica *r = &p->f->r[tu_rng_below(&p->rng, 3)];
		uint64_t k = tu_rng_below(&p->rng, 20);

		if (k < 12)
			prop_write(p, r);
		else if (k < 16)
			prop_pull(&p->f->r[tu_rng_below(&p->rng, 3)], r,
			          (size_t)(200 + tu_rng_below(&p->rng, 4000)));
		else if (k < 17)
			prop_rollback(p);
		else if (k < 18)
			prop_erase(p, r);
		else if (k < 19)
			prop_reopen(r);
		prop_check(p, r, d[0]);
	}
	/* everything everywhere: equal content, stored in different orders, equal digests */
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++) {
				if (i == j)
					continue;
				prop_pull(&p->f->r[i], &p->f->r[j], 1 << 20);
				TU_CHECK(store_quarantine_retry_reason(p->f->r[j].s, 0, NULL) == 0);
			}
	for (int i = 0; i < 3; i++)
		prop_check(p, &p->f->r[i], d[i]);
	for (int i = 1; i < 3; i++)
		if (prop_same_vector(&p->f->r[0], &p->f->r[i])) {
			TU_CHECK(memcmp(d[0], d[i], 32) == 0);
			p->agreed++;
		}
	ts_teardown(&state);
}

static void
test_digest_incremental_property(void **state)
{
	struct prop *p = calloc(1, sizeof(*p));
	uint64_t base = tu_seed(PROP_SEED);
	long runs = tu_runs(PROP_RUNS);

	(void)state;
	assert_non_null(p);
	for (long i = 0; i < runs; i++) {
		tu_current_seed = base + (uint64_t)i;
		tu_rng_seed(&p->rng, tu_current_seed);
		prop_run(p);
	}
	printf("digest property: %ld runs from seed %llu; %llu checks, %llu erasures, "
	       "%llu rollbacks, %llu pairs converged with equal digests\n",
	       runs, (unsigned long long)base, (unsigned long long)p->checks,
	       (unsigned long long)p->erased, (unsigned long long)p->rolled_back,
	       (unsigned long long)p->agreed);
	/* the schedules must erase, roll back and converge, or they test little */
	if (runs >= PROP_RUNS)
		TU_CHECK(p->erased > 0 && p->rolled_back > 0 && p->agreed >= (uint64_t)runs);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_digest_exchange, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_digest_order_independent, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_digest_detects_changes, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_digest_known_answer, ts_setup, ts_teardown),
	    cmocka_unit_test(test_digest_incremental_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
