/*
 * test_store_rules_memo.c: what the domain rules remember during one local write
 * (daemon/store_rules.c) never changes a verdict: a row remembered as visible with one
 * kind is still refused where another kind is needed, an id remembered for one table is
 * not a row of another, the id referenced last is not taken for the next, a new row
 * written in two runs is read back whole, and a status before the write is still known
 * after the memo grew.
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
#include "store.h"
#include "teststore.h"
#include "testutil.h"

#define GEM   "a0000001-0000-4000-8000-000000000001"
#define SWV   "a0000002-0000-4000-8000-000000000002"
#define SCH   "a0000003-0000-4000-8000-000000000003"
#define CHD   "c0000001-0000-4000-8000-000000000001"
#define NOROW "9f000000-0000-4000-8000-000000000000"
/* no row either, and its last digits are SCH's: the memo keeps both texts in one place */
#define NOSCH "af000003-0000-4000-8000-000000000003"

/* Replica a with the rules on and three organisations and a child written. */
static int
setup(void **state)
{
	struct ts_fixture *f;
	struct ts_replica *a;
	struct store_write_result res;

	ts_setup_rules(state);
	f = *state;
	a = &f->r[0];
	struct store_op ops[] = {
	    ts_op("organisation", GEM, "kind", value_text("gemeente")),
	    ts_op("organisation", GEM, "name", value_text("Gemeente")),
	    ts_op("organisation", GEM, "code", value_text("9901")),
	    ts_op("organisation", SWV, "kind", value_text("swv")),
	    ts_op("organisation", SWV, "name", value_text("SWV")),
	    ts_op("organisation", SWV, "code", value_text("PO9901")),
	    ts_op("organisation", SCH, "kind", value_text("school")),
	    ts_op("organisation", SCH, "name", value_text("School")),
	    ts_op("organisation", SCH, "code", value_text("99XX01")),
	    ts_op("child", CHD, "ref", value_text("TD-2016-001")),
	    ts_op("child", CHD, "birth_year", value_int(2016)),
	};
	if (store_write(a->s, ops, sizeof(ops) / sizeof(ops[0]), &res) != 0) {
		print_error("setup: %s\n", res.refusal);
		ts_teardown(state);
		return -1;
	}
	return 0;
}

/* The ops of a new arrangement id naming child, municipality and school, into ops. */
static size_t
arrangement(struct store_op *ops, const char *id, const char *child, const char *gem,
            const char *sch)
{
	ops[0] = ts_op("arrangement", id, "child_id", value_text(child));
	ops[1] = ts_op("arrangement", id, "kind", value_text("oza"));
	ops[2] = ts_op("arrangement", id, "status", value_text("draft"));
	ops[3] = ts_op("arrangement", id, "municipality_org_id", value_text(gem));
	ops[4] = ts_op("arrangement", id, "school_org_id", value_text(sch));
	return 5;
}

/* A write of n arrangements, the last one's references as given; the others valid. */
static int
write_arrangements(struct ts_replica *a, size_t n, const char *child, const char *gem,
                   const char *sch, struct store_write_result *res)
{
	struct store_op *ops = calloc(5 * n, sizeof(*ops));
	char id[ARR_ROWID_STRLEN + 1];
	size_t k = 0;
	int rc;

	assert_non_null(ops);
	for (size_t i = 0; i + 1 < n; i++) {
		snprintf(id, sizeof(id), "e%07x-0000-4000-8000-000000000001",
		         (unsigned)(i & 0xfffff));
		k += arrangement(ops + k, id, CHD, GEM, SCH);
	}
	k += arrangement(ops + k, "e1ffffff-0000-4000-8000-000000000001", child, gem, sch);
	rc = store_write(a->s, ops, k, res);
	free(ops);
	return rc;
}

/*
 * The school found visible (kind school) for one row is no organisation of kind gemeente
 * for the next, and a gemeente no school: the kind remembered is compared.
 */
static void
test_memo_kind(void **state)
{
	struct ts_fixture *f = *state;
	struct store_write_result res;

	assert_int_equal(write_arrangements(&f->r[0], 2, CHD, SCH, SCH, &res), ARR_EINVAL);
	assert_int_equal(res.bad_op, 5 + 3);
	assert_string_equal(res.refusal, "arrangement.municipality_org_id=\"" SCH
	                                 "\" must name an existing organisation of kind gemeente");
	assert_int_equal(write_arrangements(&f->r[0], 2, CHD, GEM, GEM, &res), ARR_EINVAL);
	assert_int_equal(res.bad_op, 5 + 4);
	assert_int_equal(write_arrangements(&f->r[0], 2, CHD, GEM, SCH, &res), 0);
}

/*
 * The id of an organisation, found visible, is no child: the memo tells rows of
 * different tables apart though their ids are equal.
 */
static void
test_memo_table(void **state)
{
	struct ts_fixture *f = *state;
	struct store_write_result res;

	assert_int_equal(write_arrangements(&f->r[0], 2, GEM, GEM, SCH, &res), ARR_EINVAL);
	assert_int_equal(res.bad_op, 5);
	assert_string_equal(res.refusal,
	                    "arrangement.child_id=\"" GEM "\" must name an existing child");
}

/*
 * An id after others is looked at afresh: a row that is not there after one that is
 * (also one whose text the memo keeps in the same place), and one that is not in the
 * text form of the ids (capitals).
 */
static void
test_memo_last(void **state)
{
	struct ts_fixture *f = *state;
	struct store_write_result res;

	assert_int_equal(write_arrangements(&f->r[0], 3, CHD, GEM, NOROW, &res), ARR_EINVAL);
	assert_int_equal(res.bad_op, 10 + 4);
	assert_int_equal(write_arrangements(&f->r[0], 3, CHD, GEM, NOSCH, &res), ARR_EINVAL);
	assert_int_equal(res.bad_op, 10 + 4);
	assert_int_equal(
	    write_arrangements(&f->r[0], 3, CHD, GEM, "A0000003-0000-4000-8000-000000000003", &res),
	    ARR_EINVAL);
	assert_int_equal(res.bad_op, 10 + 4);
	assert_int_equal(write_arrangements(&f->r[0], 3, NOROW, GEM, SCH, &res), ARR_EINVAL);
	assert_int_equal(res.bad_op, 10);
}

/*
 * A write of 400 new arrangements, each naming a child of its own, and a status change
 * of an arrangement that exists, last: the children found visible grow the memo past
 * its first size while the rows are checked, and the arrangement's status before the
 * write, remembered before that, still judges the change.
 */
static void
test_memo_growth(void **state)
{
	struct ts_fixture *f = *state;
	struct store *s = f->r[0].s;
	struct store_write_result res;
	const size_t n = 400;
	struct store_op *ops = calloc(5 * n + 2, sizeof(*ops));
	char(*kids)[ARR_ROWID_STRLEN + 1] = calloc(n, sizeof(*kids));
	const char *old = "e2000000-0000-4000-8000-000000000002";
	size_t k = 0;

	assert_non_null(ops);
	assert_non_null(kids);
	for (size_t i = 0; i < n; i++) {
		snprintf(kids[i], sizeof(kids[i]), "c1%06x-0000-4000-8000-000000000001",
		         (unsigned)i);
		ops[k++] = ts_op("child", kids[i], "ref", value_text("TD-2016-002"));
		ops[k++] = ts_op("child", kids[i], "birth_year", value_int(2016));
	}
	assert_int_equal(store_write(s, ops, k, &res), 0);
	k = arrangement(ops, old, CHD, GEM, SCH);
	ops[2].value = value_text("started");
	assert_int_equal(store_write(s, ops, k, &res), 0);
	k = 0;
	for (size_t i = 0; i < n; i++) {
		char id[ARR_ROWID_STRLEN + 1];

		snprintf(id, sizeof(id), "e3%06x-0000-4000-8000-000000000001", (unsigned)i);
		k += arrangement(ops + k, id, kids[i], GEM, SCH);
	}
	/* allocated: reached from draft, but no step from started */
	ops[k++] = ts_op("arrangement", old, "status", value_text("allocated"));
	assert_int_equal(store_write(s, ops, k, &res), ARR_ESTATE);
	assert_int_equal(res.bad_op, k - 1);
	assert_string_equal(res.refusal, "arrangement.status cannot change from started to "
	                                 "allocated (allowed: evaluating, suspended, ended)");
	ops[k - 1].value = value_text("evaluating");
	assert_int_equal(store_write(s, ops, k, &res), 0);
	free(kids);
	free(ops);
}

/*
 * A new row written in two runs of one write (another row between them) is judged as a
 * whole: read back, not made from its first run's ops alone.
 */
static void
test_memo_two_runs(void **state)
{
	struct ts_fixture *f = *state;
	struct store_write_result res;
	const char *org = "a0000009-0000-4000-8000-000000000009";
	struct store_op ops[] = {
	    ts_op("organisation", org, "name", value_text("Nieuw")),
	    ts_op("organisation", org, "code", value_text("99XX09")),
	    ts_op("organisation", GEM, "code", value_text("9901")),
	    ts_op("organisation", org, "kind", value_text("school")),
	};

	int rc = store_write(f->r[0].s, ops, 4, &res);

	assert_string_equal(res.refusal, "");
	assert_int_equal(rc, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_memo_kind, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_memo_table, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_memo_last, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_memo_growth, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_memo_two_runs, setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
