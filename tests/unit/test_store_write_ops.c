/*
 * test_store_write_ops.c: the one validation of a local write's ops (daemon/store_write.c,
 * ops_take): every kind of bad op is refused with its error code and the index of the
 * first bad op, with row ids given as text or as bytes, and nothing is written; the
 * ops that pass land in the columns they name, whichever strings name them.
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
#include "schema.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

#define ORG1 "a1000001-0000-4000-8000-000000000001"
#define ORG2 "a1000002-0000-4000-8000-000000000002"

#define TNULL "<null>"

/* One bad op at index 2 of a write of four organisation ops, and what it must give. */
static const struct bad_case {
	const char *what;
	const char *table; /* NULL: "organisation"; TNULL: a NULL pointer */
	const char *id;    /* NULL: ORG2 */
	const char *column;
	struct value v;
	int rc;
	bool text_only; /* a bad row id: refused only when the ids come as text */
} cases[] = {
    {"unknown table", "nosuch", NULL, "name", {.kind = VALUE_NIL}, ARR_ESCHEMA, false},
    {"reserved table name", "#200", NULL, "name", {.kind = VALUE_NIL}, ARR_ESCHEMA, false},
    {"reserved name of a table we have",
     "#0",
     NULL,
     "name",
     {.kind = VALUE_NIL},
     ARR_ESCHEMA,
     false},
    {"table NULL", TNULL, NULL, "name", {.kind = VALUE_NIL}, ARR_ESCHEMA, false},
    {"column NULL", NULL, NULL, NULL, {.kind = VALUE_NIL}, ARR_ESCHEMA, false},
    {"unknown column", NULL, NULL, "nosuch", {.kind = VALUE_NIL}, ARR_ESCHEMA, false},
    {"reserved column name", NULL, NULL, "#200", {.kind = VALUE_NIL}, ARR_ESCHEMA, false},
    {"reserved name of a column we have",
     NULL,
     NULL,
     "#2",
     {.kind = VALUE_NIL},
     ARR_ESCHEMA,
     false},
    {"reserved name of _deleted",
     NULL,
     NULL,
     "#0",
     {.kind = VALUE_INT, .u.i = 1},
     ARR_ESCHEMA,
     false},
    {"id is no column", NULL, NULL, "id", {.kind = VALUE_NIL}, ARR_ESCHEMA, false},
    {"_deleted as text",
     NULL,
     NULL,
     SCHEMA_DELETED,
     {.kind = VALUE_TEXT, .u.b = {.ptr = "1", .len = 1}},
     ARR_EINVAL,
     false},
    {"_deleted 2", NULL, NULL, SCHEMA_DELETED, {.kind = VALUE_INT, .u.i = 2}, ARR_EINVAL, false},
    {"int for text", NULL, NULL, "name", {.kind = VALUE_INT, .u.i = 7}, ARR_EINVAL, false},
    {"no such choice",
     NULL,
     NULL,
     "kind",
     {.kind = VALUE_TEXT, .u.b = {.ptr = "castle", .len = 6}},
     ARR_EINVAL,
     false},
    {"row id not a uuid",
     NULL,
     "not-a-uuid",
     "name",
     {.kind = VALUE_TEXT, .u.b = {.ptr = "x", .len = 1}},
     ARR_EINVAL,
     true},
    {"row id in capitals",
     NULL,
     "A1000002-0000-4000-8000-000000000002",
     "name",
     {.kind = VALUE_TEXT, .u.b = {.ptr = "x", .len = 1}},
     ARR_EINVAL,
     true},
    /* two faults in one op: the table or column is judged before value and row id */
    {"unknown column and bad id",
     NULL,
     "not-a-uuid",
     "nosuch",
     {.kind = VALUE_INT, .u.i = 7},
     ARR_ESCHEMA,
     false},
    {"unknown table and bad value",
     "nosuch",
     NULL,
     "name",
     {.kind = VALUE_INT, .u.i = 7},
     ARR_ESCHEMA,
     false},
};

static struct store_op
op_of(const char *table, const char *id, const char *column, struct value v)
{
	struct store_op op = {0};

	op.table = table;
	op.column = column;
	op.value = v;
	snprintf(op.row_id, sizeof(op.row_id), "%s", id);
	return op;
}

/* store_write_rows() of ops, the row ids as text (bytes false) or as bytes too. */
static int
write_ops(struct store *s, const struct store_op *ops, size_t n, bool bytes,
          struct store_write_result *res)
{
	uint8_t rows[8][ARR_ROWID_LEN];

	assert_true(n <= 8);
	for (size_t i = 0; i < n && bytes; i++)
		if (rowid_parse(ops[i].row_id, rows[i]) < 0)
			memset(rows[i], 0x5a, ARR_ROWID_LEN); /* refused ids are not parsed here */
	return store_write_rows(s, ops, bytes ? &rows[0][0] : NULL, n, res);
}

static void
test_bad_ops(void **state)
{
	struct ts_fixture *f = *state;
	struct store *s = f->r[0].s;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct bad_case *c = &cases[k];

		for (int bytes = 0; bytes < 2; bytes++) {
			/* the bad op's table by a string of its own, the others by the same pointer
			 */
			char *table = c->table != NULL && strcmp(c->table, TNULL) != 0
			                  ? strdup(c->table)
			                  : NULL;
			struct store_op ops[] = {
			    op_of("organisation", ORG1, "kind", value_text("school")),
			    op_of("organisation", ORG1, "name", value_text("School")),
			    op_of(c->table != NULL ? table : "organisation",
			          c->id != NULL ? c->id : ORG2, c->column, c->v),
			    op_of("organisation", ORG2, "name", value_text("Other")),
			};
			struct store_write_result res;
			int want = bytes && c->text_only ? 0 : c->rc;
			int rc;

			rc = write_ops(s, ops, 4, bytes, &res);
			free(table);
			if (rc != want || (want != 0 && res.bad_op != 2))
				fail_msg("%s (ids as %s): rc %d bad_op %zu, want %d at 2", c->what,
				         bytes ? "bytes" : "text", rc, res.bad_op, want);
			if (want != 0)
				assert_int_equal(store_get(s, "organisation", ORG1, NULL, NULL),
				                 ARR_ENOTFOUND);
			else /* undo the write that passed: the next case starts from nothing */
				assert_int_equal(ts_write1(&f->r[0], "organisation", ORG1,
				                           SCHEMA_DELETED, value_int(1)),
				                 0);
		}
	}
}

/* The first op bad, and a bad op after a change of table: bad_op is the op's index. */
static void
test_bad_op_index(void **state)
{
	struct ts_fixture *f = *state;
	struct store *s = f->r[0].s;
	struct store_write_result res;
	struct store_op first[] = {
	    op_of("organisation", ORG1, "nosuch", value_nil()),
	    op_of("organisation", ORG1, "name", value_text("School")),
	};
	struct store_op later[] = {
	    op_of("organisation", ORG1, "name", value_text("School")),
	    op_of("child", ORG2, "ref", value_text("R-1")),
	    op_of("child", ORG2, "birth_year", value_text("2016")),
	};

	assert_int_equal(write_ops(s, first, 2, false, &res), ARR_ESCHEMA);
	assert_int_equal(res.bad_op, 0);
	assert_int_equal(write_ops(s, later, 3, true, &res), ARR_EINVAL);
	assert_int_equal(res.bad_op, 2);
	later[2].value = value_int(2016);
	later[1].column = "name"; /* child has no name: found by string, not by the hint */
	assert_int_equal(write_ops(s, later, 3, false, &res), ARR_ESCHEMA);
	assert_int_equal(res.bad_op, 1);
}

/*
 * Columns named in any order, by the schema's strings or by copies, _deleted among them:
 * each value lands in the column named (the numbers are those of the names).
 */
static void
test_ops_land(void **state)
{
	struct ts_fixture *f = *state;
	struct store *s = f->r[0].s;
	struct store_write_result res;
	struct ts_rowtext t = {{0}, 0};
	char *code = strdup("code"), *kind = strdup("kind"), *del = strdup(SCHEMA_DELETED);
	struct store_op ops[] = {
	    op_of("organisation", ORG1, code, value_text("99XX01")),
	    op_of("organisation", ORG1, kind, value_text("school")),
	    op_of("organisation", ORG1, "name", value_text("School")),
	    op_of("organisation", ORG1, del, value_int(0)),
	    op_of("organisation", ORG2, "name", value_text("Gone")),
	    op_of("organisation", ORG2, del, value_int(1)),
	};

	for (int bytes = 0; bytes < 2; bytes++) {
		const char *id1 = bytes ? ORG2 : ORG1;

		memset(&t, 0, sizeof(t));
		if (bytes) { /* the other way round: ORG2 kept, ORG1 deleted */
			for (size_t i = 0; i < 4; i++)
				snprintf(ops[i].row_id, sizeof(ops[i].row_id), "%s", ORG2);
			snprintf(ops[4].row_id, sizeof(ops[4].row_id), "%s", ORG1);
			snprintf(ops[5].row_id, sizeof(ops[5].row_id), "%s", ORG1);
		}
		assert_int_equal(write_ops(s, ops, 6, bytes, &res), 0);
		assert_int_equal(store_get(s, "organisation", id1, ts_row_to_text, &t), 0);
		assert_string_equal(t.buf, "kind='school';name='School';code='99XX01';");
		assert_int_equal(store_get(s, "organisation", bytes ? ORG1 : ORG2, NULL, NULL),
		                 ARR_ENOTFOUND);
	}
	free(code);
	free(kind);
	free(del);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_ops, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_op_index, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_ops_land, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
