/*
 * test_store_route.c: what routing (daemon/store_route.c) and the merge's row insert
 * (store_merge.c) must keep doing on the paths an import takes. The new rows of one
 * write that hang off several arrangements, named in turn, each land in the scope of
 * the arrangement they name, and a reference that differs from the one before it only
 * in its last character is read as itself (routing remembers the last reference it
 * parsed). A new row leaves NULL the columns the write does not name, even right after
 * a row of the same table that named them (the insert's bindings are not cleared
 * between rows, every one is bound again). New rows under existing arrangements, named
 * in turn, land in the scope of the one each names, and one under an arrangement this
 * node holds opaque is refused after one under a readable arrangement (routing remembers
 * the last parent it looked up that the write does not name).
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
#include "store.h"
#include "teststore.h"
#include "testutil.h"

/* r writes a new arrangement id with its child (ids made here). */
static void
arr_new(struct ts_replica *r, char id[ARR_ROWID_STRLEN + 1])
{
	char child[ARR_ROWID_STRLEN + 1];
	struct store_write_result w;

	ts_new_id(id);
	ts_new_id(child);
	struct store_op ops[] = {
	    ts_op("child", child, "ref", value_text("TD-ROUTE-0")),
	    ts_op("arrangement", id, "child_id", value_text(child)),
	    ts_op("arrangement", id, "kind", value_text("oza")),
	};
	assert_int_equal(store_write(r->s, ops, 3, &w), 0);
}

/* The scope of the row id of table at r (asserted readable). */
static void
scope_of(struct ts_replica *r, const char *table, const char *id, uint8_t scope[ARR_SCOPE_LEN])
{
	assert_int_equal(store_scope_of(r->s, table, id, scope), 0);
}

/*
 * (1) One write creates two arrangements and parties and funding shares that name them
 * as X, X, Y, X, Y: each row is in the scope of the arrangement it names, not of the
 * one named just before it.
 */
static void
test_parents_in_turn(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_write_result w;
	char x[ARR_ROWID_STRLEN + 1], y[ARR_ROWID_STRLEN + 1], cx[ARR_ROWID_STRLEN + 1],
	    cy[ARR_ROWID_STRLEN + 1], p[5][ARR_ROWID_STRLEN + 1];
	uint8_t sx[ARR_SCOPE_LEN], sy[ARR_SCOPE_LEN], got[ARR_SCOPE_LEN];
	const char *const names[5] = {x, x, y, x, y};
	const char *const tables[5] = {"arrangement_party", "funding_share", "arrangement_party",
	                               "arrangement_party", "funding_share"};

	ts_new_id(x);
	ts_new_id(y);
	ts_new_id(cx);
	ts_new_id(cy);
	for (int i = 0; i < 5; i++)
		ts_new_id(p[i]);
	struct store_op ops[] = {
	    ts_op("child", cx, "ref", value_text("TD-ROUTE-1")),
	    ts_op("arrangement", x, "child_id", value_text(cx)),
	    ts_op("arrangement", x, "kind", value_text("oza")),
	    ts_op("child", cy, "ref", value_text("TD-ROUTE-2")),
	    ts_op("arrangement", y, "child_id", value_text(cy)),
	    ts_op("arrangement", y, "kind", value_text("oza")),
	    ts_op(tables[0], p[0], "arrangement_id", value_text(names[0])),
	    ts_op(tables[1], p[1], "arrangement_id", value_text(names[1])),
	    ts_op(tables[2], p[2], "arrangement_id", value_text(names[2])),
	    ts_op(tables[3], p[3], "arrangement_id", value_text(names[3])),
	    ts_op(tables[4], p[4], "arrangement_id", value_text(names[4])),
	};
	assert_int_equal(store_write(a->s, ops, sizeof(ops) / sizeof(ops[0]), &w), 0);
	scope_of(a, "arrangement", x, sx);
	scope_of(a, "arrangement", y, sy);
	assert_memory_not_equal(sx, sy, ARR_SCOPE_LEN);
	for (int i = 0; i < 5; i++) {
		scope_of(a, tables[i], p[i], got);
		assert_memory_equal(got, names[i] == x ? sx : sy, ARR_SCOPE_LEN);
	}
}

/*
 * (2) A reference equal to the one before it but for its last character names another
 * arrangement, one that is nowhere: the write is refused with that one named.
 */
static void
test_reference_after_near_twin(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_write_result w;
	char x[ARR_ROWID_STRLEN + 1], cx[ARR_ROWID_STRLEN + 1], p1[ARR_ROWID_STRLEN + 1],
	    p2[ARR_ROWID_STRLEN + 1], bad[ARR_ROWID_STRLEN + 1];

	ts_new_id(x);
	ts_new_id(cx);
	ts_new_id(p1);
	ts_new_id(p2);
	memcpy(bad, x, sizeof(bad));
	bad[ARR_ROWID_STRLEN - 1] = x[ARR_ROWID_STRLEN - 1] == '0' ? '1' : '0';
	struct store_op ops[] = {
	    ts_op("child", cx, "ref", value_text("TD-ROUTE-3")),
	    ts_op("arrangement", x, "child_id", value_text(cx)),
	    ts_op("arrangement_party", p1, "arrangement_id", value_text(x)),
	    ts_op("arrangement_party", p2, "arrangement_id", value_text(bad)),
	};
	assert_int_equal(store_write(a->s, ops, sizeof(ops) / sizeof(ops[0]), &w), ARR_ENOTFOUND);
	assert_int_equal(w.bad_op, 3);
	assert_non_null(strstr(w.refusal, bad));
	/* nothing of the write was kept */
	assert_int_equal(store_get(a->s, "arrangement", x, ts_row_to_text, &(struct ts_rowtext){0}),
	                 ARR_ENOTFOUND);
}

/*
 * (3) Two new arrangements in one write, the first with a status and the second
 * without: the second's status is NULL, not the first's.
 */
static void
test_unnamed_columns_null(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_write_result w;
	struct ts_rowtext t;
	char x[ARR_ROWID_STRLEN + 1], y[ARR_ROWID_STRLEN + 1], cx[ARR_ROWID_STRLEN + 1],
	    cy[ARR_ROWID_STRLEN + 1];

	ts_new_id(x);
	ts_new_id(y);
	ts_new_id(cx);
	ts_new_id(cy);
	struct store_op ops[] = {
	    ts_op("child", cx, "ref", value_text("TD-ROUTE-4")),
	    ts_op("arrangement", x, "child_id", value_text(cx)),
	    ts_op("arrangement", x, "kind", value_text("oza")),
	    ts_op("arrangement", x, "status", value_text("draft")),
	    ts_op("child", cy, "ref", value_text("TD-ROUTE-5")),
	    ts_op("arrangement", y, "child_id", value_text(cy)),
	    ts_op("arrangement", y, "kind", value_text("other")),
	};
	assert_int_equal(store_write(a->s, ops, sizeof(ops) / sizeof(ops[0]), &w), 0);
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_get(a->s, "arrangement", x, ts_row_to_text, &t), 0);
	assert_non_null(strstr(t.buf, "status='draft'"));
	memset(&t, 0, sizeof(t));
	assert_int_equal(store_get(a->s, "arrangement", y, ts_row_to_text, &t), 0);
	assert_non_null(strstr(t.buf, "kind='other'"));
	assert_null(strstr(t.buf, "draft"));
}

/*
 * (4) New parties and funding shares under two existing arrangements, naming them as X,
 * X, Y, X, Y: each is in the scope of the arrangement it names.
 */
static void
test_existing_parents_in_turn(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_write_result w;
	char x[ARR_ROWID_STRLEN + 1], y[ARR_ROWID_STRLEN + 1], p[5][ARR_ROWID_STRLEN + 1];
	uint8_t sx[ARR_SCOPE_LEN], sy[ARR_SCOPE_LEN], got[ARR_SCOPE_LEN];
	const char *const names[5] = {x, x, y, x, y};
	const char *const tables[5] = {"arrangement_party", "arrangement_party", "funding_share",
	                               "funding_share", "arrangement_party"};

	arr_new(a, x);
	arr_new(a, y);
	scope_of(a, "arrangement", x, sx);
	scope_of(a, "arrangement", y, sy);
	assert_memory_not_equal(sx, sy, ARR_SCOPE_LEN);
	for (int i = 0; i < 5; i++)
		ts_new_id(p[i]);
	struct store_op ops[] = {
	    ts_op(tables[0], p[0], "arrangement_id", value_text(names[0])),
	    ts_op(tables[1], p[1], "arrangement_id", value_text(names[1])),
	    ts_op(tables[2], p[2], "arrangement_id", value_text(names[2])),
	    ts_op(tables[3], p[3], "arrangement_id", value_text(names[3])),
	    ts_op(tables[4], p[4], "arrangement_id", value_text(names[4])),
	};
	assert_int_equal(store_write(a->s, ops, 5, &w), 0);
	for (int i = 0; i < 5; i++) {
		scope_of(a, tables[i], p[i], got);
		assert_memory_equal(got, names[i] == x ? sx : sy, ARR_SCOPE_LEN);
	}
}

/*
 * (5) b holds a's arrangement X opaque and its own arrangement Z: a write of a party
 * under Z and then one under X is refused at the second, with X named, and nothing of
 * it is kept.
 */
static void
test_opaque_parent_after_readable(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_write_result w;
	char x[ARR_ROWID_STRLEN + 1], z[ARR_ROWID_STRLEN + 1], p1[ARR_ROWID_STRLEN + 1],
	    p2[ARR_ROWID_STRLEN + 1];

	arr_new(a, x);
	ts_pull(a, b, 1 << 20);
	arr_new(b, z);
	ts_new_id(p1);
	ts_new_id(p2);
	struct store_op ops[] = {
	    ts_op("arrangement_party", p1, "arrangement_id", value_text(z)),
	    ts_op("arrangement_party", p2, "arrangement_id", value_text(x)),
	};
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_write(b->s, ops, 2, &w), ARR_ENOTFOUND);
	assert_int_equal(w.bad_op, 1);
	assert_non_null(strstr(w.refusal, x));
	assert_int_equal(
	    store_get(b->s, "arrangement_party", p1, ts_row_to_text, &(struct ts_rowtext){0}),
	    ARR_ENOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_parents_in_turn, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_reference_after_near_twin, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_unnamed_columns_null, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_existing_parents_in_turn, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_opaque_parent_after_readable, ts_setup_ntk,
	                                    ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
