/*
 * test_changeset_op.c: the schema numbers an op carries besides its names (changeset.h,
 * struct cs_op). Every op of a decoded or built change set has the numbers of its names,
 * which for the schema's own tables and columns are their places in schema order
 * (PROTOCOL.md, "Schema numbers") and for the reserved names their numbers; an op whose
 * numbers are not its names' (one left unset by its producer) is told apart
 * (changeset_op_nos_ok) and never encoded by them (changeset_build looks its names up).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "changeset.h"
#include "testutil.h"

#define ROW "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13"

/* The number schema order gives column index c of t: 0 for _deleted (last), else c + 1. */
static unsigned
order_cno(const struct schema_table *t, size_t c)
{
	return c + 1 == t->ncolumns ? 0 : (unsigned)(c + 1);
}

/* ops of cs (one data part) against the schema: table i, column c at ops[at[i] + c]. */
static void
expect_schema_order(const struct changeset *cs, size_t nops)
{
	const struct cs_op *ops = cs->parts[0].ops;
	size_t k = 0;

	assert_int_equal(cs->nparts, 1);
	assert_int_equal(cs->parts[0].nops, nops);
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);

		for (size_t c = 0; c < t->ncolumns; c++, k++) {
			assert_int_equal(ops[k].tno, i);
			assert_int_equal(ops[k].cno, order_cno(t, c));
			assert_string_equal(ops[k].table, t->name);
			assert_string_equal(ops[k].column, t->columns[c].name);
			assert_true(changeset_op_nos_ok(&ops[k]));
			assert_ptr_equal(changeset_op_table(&ops[k]), t);
			assert_int_equal(changeset_op_col(t, &ops[k]), (int)c);
		}
	}
	/* then a table and a column of a newer schema: their reserved names and numbers */
	assert_int_equal(ops[k].tno, 200);
	assert_int_equal(ops[k].cno, 7);
	assert_string_equal(ops[k].table, "#200");
	assert_string_equal(ops[k].column, "#7");
	assert_null(changeset_op_table(&ops[k]));
	k++;
	assert_int_equal(ops[k].tno, 0);
	assert_int_equal(ops[k].cno, 200);
	assert_string_equal(ops[k].column, "#200");
	assert_int_equal(changeset_op_col(schema_table_at(0), &ops[k]), -1);
	assert_int_equal(k + 1, nops);
}

/*
 * One op on every column of every table, named by copies of the names (not the schema's
 * strings) and numbers left 0: built and decoded, each op carries its place in schema
 * order, in what changeset_build() returns and in what changeset_decode() reads back.
 */
static void
test_numbers_are_schema_order(void **state)
{
	struct nodekey *key = tu_key(1);
	struct cs_header h = tu_cs_header(1, 0);
	struct changeset *cs = NULL, *back = NULL;
	size_t n = 2, k = 0;
	struct cs_op *ops;
	char(*names)[2][ARR_NAME_MAX + 1];

	(void)state;
	for (size_t i = 0; i < schema_table_count(); i++)
		n += schema_table_at(i)->ncolumns;
	ops = calloc(n, sizeof(*ops));
	names = calloc(n, sizeof(*names));
	assert_non_null(ops);
	assert_non_null(names);
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);

		for (size_t c = 0; c < t->ncolumns; c++, k++) {
			strcpy(names[k][0], t->name);
			strcpy(names[k][1], t->columns[c].name);
			ops[k] = tu_cs_op(names[k][0], ROW, names[k][1], value_nil());
			ops[k].tno = ops[k].cno =
			    0; /* as a producer that sets none would leave them */
		}
	}
	ops[k++] = tu_cs_op("#200", ROW, "#7", value_int(1));
	ops[k++] =
	    tu_cs_op("organisation", "6f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13", "#200", value_int(2));
	assert_int_equal(changeset_build_region(key, &h, ops, n, &cs), 0);
	expect_schema_order(cs, n);
	assert_int_equal(changeset_decode(cs->raw, cs->rawlen, &back), 0);
	expect_schema_order(back, n);
	changeset_destroy(&back);
	changeset_destroy(&cs);
	free(names);
	free(ops);
	nodekey_destroy(&key);
}

/*
 * An op whose numbers are not its names' is told apart, whether left unset or wrong, and
 * is encoded by its names: a wrong number never reaches the wire. The schema's own
 * strings with their own numbers are taken as they are.
 */
static void
test_mismatch_caught(void **state)
{
	const struct schema_table *child = schema_table_at(1);
	struct nodekey *key = tu_key(2);
	struct cs_header h = tu_cs_header(1, 0);
	struct cs_op ops[3], op;
	struct changeset *cs = NULL, *back = NULL;

	(void)state;
	/* unset: table 0, column 0 are organisation._deleted, not child.ref */
	op = (struct cs_op){.table = "child", .column = "ref", .value = value_text("x")};
	assert_false(changeset_op_nos_ok(&op));
	assert_true(changeset_op_nos_set(&op));
	assert_true(changeset_op_nos_ok(&op));
	assert_int_equal(op.tno, 1);
	/* a wrong column number, a wrong table number */
	op.cno++;
	assert_false(changeset_op_nos_ok(&op));
	op.cno--;
	op.tno = 2;
	assert_false(changeset_op_nos_ok(&op));
	/* a reserved name for a number the schema has is no name; nor is any other */
	op = (struct cs_op){.table = "#1", .column = "ref"};
	assert_false(changeset_op_nos_set(&op));
	op = (struct cs_op){.table = "child", .column = "nope"};
	assert_false(changeset_op_nos_set(&op));

	/* the schema's strings under wrong numbers, copies under unset ones: by the names */
	ops[0] = tu_cs_op("organisation", ROW, "name", value_text("a"));
	ops[0].table = child->name;
	ops[0].column = child->columns[0].name; /* child.ref is 1 in child */
	ops[0].tno = 2;
	ops[0].cno = 3;
	ops[1] = tu_cs_op("child", ROW, "ref", value_text("b"));
	ops[1].tno = ops[1].cno = 0;
	/* the schema's strings with their numbers: taken */
	ops[2] = tu_cs_op("organisation", ROW, "name", value_text("c"));
	ops[2].table = schema_table_at(0)->name;
	ops[2].column = schema_no_column_name(schema_table_at(0), ops[2].cno);
	assert_int_equal(changeset_build_region(key, &h, ops, 3, &cs), 0);
	assert_int_equal(changeset_decode(cs->raw, cs->rawlen, &back), 0);
	for (size_t i = 0; i < 3; i++) {
		const struct cs_op *d = &back->parts[0].ops[i], *b = &cs->parts[0].ops[i];

		assert_true(changeset_op_nos_ok(d));
		assert_true(changeset_op_nos_ok(b));
		assert_int_equal(d->tno, b->tno);
		assert_int_equal(d->cno, b->cno);
	}
	assert_string_equal(back->parts[0].ops[0].table, "child");
	assert_string_equal(back->parts[0].ops[0].column, "ref");
	assert_int_equal(back->parts[0].ops[0].tno, 1);
	assert_int_equal(back->parts[0].ops[0].cno, 1);
	assert_int_equal(back->parts[0].ops[1].tno, 1);
	assert_int_equal(back->parts[0].ops[1].cno, 1);
	assert_string_equal(back->parts[0].ops[2].column, "name");
	changeset_destroy(&back);
	changeset_destroy(&cs);
	nodekey_destroy(&key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numbers_are_schema_order),
	    cmocka_unit_test(test_mismatch_caught),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
