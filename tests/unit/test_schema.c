/*
 * test_schema.c: the data model of DOMAIN.md as schema.c encodes it: tables and
 * columns, the type checks of schema_value_ok(), and the status lifecycle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "schema.h"

static bool
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
		      (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static void
test_tables(void **state)
{
	static const char *const names[] = {"organisation",      "child",         "arrangement",
	                                    "arrangement_party", "funding_share", "care_assignment",
	                                    "evaluation",        "consent",       "goal",
	                                    "goal_evaluation"};

	(void)state;
	assert_int_equal(schema_table_count(), 10);
	assert_null(schema_table_at(10));
	for (size_t i = 0; i < 10; i++) {
		const struct schema_table *t = schema_table_find(names[i]);

		assert_non_null(t);
		assert_ptr_equal(t, schema_table_at(i));
		assert_true(t->ncolumns >= 2);
		/* _deleted is last and a flag; every name is a valid wire name */
		assert_string_equal(t->columns[t->ncolumns - 1].name, SCHEMA_DELETED);
		assert_int_equal(t->columns[t->ncolumns - 1].type, SCHEMA_FLAG);
		for (size_t c = 0; c < t->ncolumns; c++) {
			const struct schema_column *col = &t->columns[c];

			assert_true(name_ok(col->name));
			assert_int_equal(schema_column_index(t, col->name), (int)c);
			assert_ptr_equal(schema_column_find(t, col->name), col);
			if (col->type == SCHEMA_ENUM)
				assert_non_null(col->choices);
			if (col->type == SCHEMA_REF)
				assert_non_null(schema_table_find(col->ref_table));
			assert_string_not_equal(col->name, "id");
		}
		assert_true(name_ok(t->name));
	}
	assert_null(schema_table_find("person"));
	assert_null(schema_table_find(NULL));
	assert_null(schema_column_find(schema_table_find("child"), "bsn"));
	assert_null(schema_column_find(schema_table_find("child"), "id"));
	assert_int_equal(schema_column_index(NULL, "ref"), -1);
}

/* Privacy by design: no BSN or full name column anywhere (DOMAIN.md). */
static void
test_no_personal_columns(void **state)
{
	(void)state;
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);

		assert_null(schema_column_find(t, "bsn"));
		assert_null(schema_column_find(t, "full_name"));
		assert_null(schema_column_find(t, "birth_date"));
	}
	assert_non_null(schema_column_find(schema_table_find("child"), "birth_year"));
}

static const struct schema_column *
col(const char *table, const char *name)
{
	const struct schema_column *c = schema_column_find(schema_table_find(table), name);

	assert_non_null(c);
	return c;
}

static void
test_values(void **state)
{
	struct value v;
	const struct schema_column *kind = col("organisation", "kind");
	const struct schema_column *name = col("organisation", "name");
	const struct schema_column *year = col("child", "birth_year");
	const struct schema_column *del = col("child", SCHEMA_DELETED);
	const struct schema_column *ref = col("arrangement", "child_id");
	const struct schema_column *date = col("arrangement", "start_on");
	const struct schema_column *band = col("consent", "age_band");

	(void)state;
	v = value_nil();
	assert_true(schema_value_ok(kind, &v) && schema_value_ok(year, &v) &&
	            schema_value_ok(date, &v));
	v = value_text("gemeente");
	assert_true(schema_value_ok(kind, &v));
	assert_true(schema_value_ok(name, &v));
	assert_false(schema_value_ok(year, &v));
	v = value_text("Gemeente");
	assert_false(schema_value_ok(kind, &v));
	v = value_textn("gemeentex", 8); /* length counts, not the NUL */
	assert_true(schema_value_ok(kind, &v));
	v = value_text("gemeent");
	assert_false(schema_value_ok(kind, &v));
	v = value_text("<12");
	assert_true(schema_value_ok(band, &v));
	v = value_int(2016);
	assert_true(schema_value_ok(year, &v));
	assert_false(schema_value_ok(name, &v));
	v = value_real(2016.0);
	assert_false(schema_value_ok(year, &v));
	v = value_int(1);
	assert_true(schema_value_ok(del, &v));
	v = value_int(2);
	assert_false(schema_value_ok(del, &v));
	v = value_text("caf\xc3\xa9");
	assert_true(schema_value_ok(name, &v));
	v = value_text("caf\xc3");
	assert_false(schema_value_ok(name, &v));
	v = value_textn("a\0b", 3);
	assert_false(schema_value_ok(name, &v));
	v = value_text("\xed\xa0\x80"); /* a surrogate */
	assert_false(schema_value_ok(name, &v));
	v = value_text("\xc0\xaf"); /* overlong '/' */
	assert_false(schema_value_ok(name, &v));
	v = value_blob("x", 1);
	assert_false(schema_value_ok(name, &v));
	v = value_text("5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13");
	assert_true(schema_value_ok(ref, &v));
	v = value_text("5F0C6B1E-8A3D-4C2B-9E71-2D4A6C8B0F13");
	assert_false(schema_value_ok(ref, &v));
	v = value_text("5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f1");
	assert_false(schema_value_ok(ref, &v));
	v = value_text("5f0c6b1e+8a3d-4c2b-9e71-2d4a6c8b0f13");
	assert_false(schema_value_ok(ref, &v));
	assert_false(schema_value_ok(NULL, &v));
	assert_false(schema_value_ok(ref, NULL));
}

/*
 * The counted look-ups find exactly what the NUL-terminated ones find, whatever the hint,
 * and never match a prefix, an extension or a name with a NUL inside.
 */
static void
test_findn(void **state)
{
	char buf[80];

	(void)state;
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);
		size_t n = strlen(t->name);

		memcpy(buf, t->name, n);
		buf[n] = 'x'; /* not NUL-terminated */
		assert_ptr_equal(schema_table_findn(buf, n), t);
		assert_null(schema_table_findn(buf, n + 1));
		assert_null(schema_table_findn(buf, n - 1));
		for (size_t c = 0; c < t->ncolumns; c++) {
			const struct schema_column *col = &t->columns[c];
			size_t m = strlen(col->name);

			memcpy(buf, col->name, m);
			buf[m] = '\0';
			buf[m + 1] = 'y';
			assert_null(schema_column_findn(t, buf, m + 2, -1)); /* NUL inside */
			buf[m] = 'x';
			assert_ptr_equal(schema_column_findn(t, buf, m, -1), col);
			assert_null(schema_column_findn(t, buf, m + 1, -1));
			assert_null(schema_column_findn(t, buf, m - 1, -1));
			/* any hint, in range or not, gives the same answer */
			for (int h = -3; h < (int)t->ncolumns + 3; h++) {
				assert_ptr_equal(schema_column_findn(t, buf, m, h), col);
				assert_null(schema_column_findn(t, "id", 2, h));
			}
		}
	}
	assert_null(schema_table_findn("", 0));
	assert_null(schema_table_findn(NULL, 5));
	assert_null(schema_column_findn(NULL, "kind", 4, 0));
	assert_null(schema_table_find(NULL));
	assert_int_equal(schema_column_index(schema_table_at(0), NULL), -1);
}

/* An enum choice followed by a NUL and more bytes is not that choice. */
static void
test_enum_nul(void **state)
{
	const struct schema_table *t = schema_table_find("care_assignment");
	const struct schema_column *unit = schema_column_find(t, "unit");
	struct value v = value_textn("16\0x", 4);

	(void)state;
	assert_false(schema_value_ok(unit, &v));
	v = value_textn("16", 2);
	assert_true(schema_value_ok(unit, &v));
	assert_true(schema_value_fits(unit, &v));
}

/*
 * schema_value_fits() is schema_value_ok() without the UTF-8 check of text: the same
 * answers for every value whose text is valid.
 */
static void
test_fits(void **state)
{
	static const char *const texts[] = {
	    "gemeente", "2016-02-29",  "2015-02-29",
	    "<12",      "caf\xc3\xa9", "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13",
	    "",         "16"};
	struct value vals[sizeof(texts) / sizeof(texts[0]) + 4];
	size_t nv = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		vals[nv++] = value_text(texts[i]);
	vals[nv++] = value_int(0);
	vals[nv++] = value_int(7);
	vals[nv++] = value_nil();
	vals[nv++] = value_blob("x", 1);
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);

		for (size_t c = 0; c < t->ncolumns; c++)
			for (size_t k = 0; k < nv; k++)
				assert_int_equal(schema_value_fits(&t->columns[c], &vals[k]),
				                 schema_value_ok(&t->columns[c], &vals[k]));
	}
	/* the one difference: text not checked again */
	vals[0] = value_text("caf\xc3");
	assert_false(schema_value_ok(schema_column_find(schema_table_find("organisation"), "name"),
	                             &vals[0]));
	assert_true(schema_value_fits(schema_column_find(schema_table_find("organisation"), "name"),
	                              &vals[0]));
	assert_false(schema_value_fits(NULL, &vals[0]));
}

static void
test_dates(void **state)
{
	static const char *const good[] = {"2025-09-01", "2024-02-29", "2000-02-29", "1900-01-01",
	                                   "2025-12-31"};
	static const char *const bad[] = {"2025-9-01",
	                                  "2025-09-1",
	                                  "2025/09/01",
	                                  "2025-13-01",
	                                  "2025-00-10",
	                                  "2025-04-31",
	                                  "2025-02-29",
	                                  "1900-02-29",
	                                  "1899-12-31",
	                                  "2025-09-01T00:00",
	                                  "20250901",
	                                  "2025-09-0a",
	                                  ""};
	const struct schema_column *d = col("evaluation", "held_on");

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct value v = value_text(good[i]);

		if (!schema_value_ok(d, &v))
			fail_msg("refused %s", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct value v = value_text(bad[i]);

		if (schema_value_ok(d, &v))
			fail_msg("accepted %s", bad[i]);
	}
}

static void
test_transitions(void **state)
{
	static const char *const ok[][2] = {
	    {"draft", "requested"},   {"requested", "under_review"}, {"under_review", "allocated"},
	    {"allocated", "started"}, {"started", "evaluating"},     {"evaluating", "started"},
	    {"started", "suspended"}, {"suspended", "started"},      {"started", "ended"},
	    {"suspended", "ended"},   {"requested", "withdrawn"},    {"under_review", "rejected"},
	    {"ended", "archived"},    {"rejected", "archived"},      {"withdrawn", "archived"},
	};
	static const char *const no[][2] = {
	    {"draft", "started"},    {"started", "draft"},       {"archived", "draft"},
	    {"ended", "started"},    {"allocated", "withdrawn"}, {"evaluating", "ended"},
	    {"started", "started"},  {"draft", "archived"},      {"requested", "allocated"},
	    {"started", "archived"}, {"bogus", "draft"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!schema_status_transition_ok(ok[i][0], ok[i][1]))
			fail_msg("refused %s -> %s", ok[i][0], ok[i][1]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (schema_status_transition_ok(no[i][0], no[i][1]))
			fail_msg("allowed %s -> %s", no[i][0], no[i][1]);
	assert_false(schema_status_transition_ok(NULL, "draft"));
	assert_false(schema_status_transition_ok("draft", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables),      cmocka_unit_test(test_no_personal_columns),
	    cmocka_unit_test(test_values),      cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_transitions), cmocka_unit_test(test_findn),
	    cmocka_unit_test(test_enum_nul),    cmocka_unit_test(test_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
