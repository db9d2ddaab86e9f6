/*
 * test_schema_no.c: the wire numbers of tables and columns (schema_no.h, PROTOCOL.md
 * "Schema numbers"). schema.c keeps the rule that makes them stable across versions
 * (versions only append: `since` never decreases along the tables nor along a table's
 * columns, _deleted last and as old as its table), version 1's numbering is pinned by a
 * hash, numbers and names map both ways, and a number the schema lacks has its one
 * reserved name. Built twice: against the real schema and, as test_schema_no_next,
 * against the test-only next version (ARR_TEST_SCHEMA_NEXT), whose additions must keep
 * version 1's numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "arrlimits.h"
#include "schema_no.h"

/* Versions only append: the order of `since` is the order of the numbers. */
static void
test_append_only(void **state)
{
	unsigned last_table = 0;

	(void)state;
	assert_true(schema_table_count() < SCHEMA_NO_ONE_BYTE);
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);
		const struct schema_column *del = &t->columns[t->ncolumns - 1];
		unsigned last = t->since;

		assert_true(t->since >= last_table);
		last_table = t->since;
		assert_true(t->ncolumns < SCHEMA_NO_ONE_BYTE);
		/* _deleted, number 0, is last and came with its table */
		assert_string_equal(del->name, SCHEMA_DELETED);
		assert_int_equal(del->since, t->since);
		for (size_t c = 0; c + 1 < t->ncolumns; c++) {
			assert_true(t->columns[c].since >= last);
			last = t->columns[c].since;
		}
		assert_true(last <= ARR_SCHEMA_VERSION);
	}
}

/*
 * Version 1's numbers, as "table-number table: column-number column ...;" hashed. A
 * change of this hash renumbers what every node of version 1 writes: never change it.
 */
static void
test_version1_pinned(void **state)
{
	static const char want[] =
	    "7da3b80f916354d5aecaba35564a1c1ae008cd0bf9fb722672d848358f5222da";
	crypto_generichash_state st;
	uint8_t h[32];
	char hex[65], buf[160];

	(void)state;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);

		if (t->since > 1)
			continue;
		snprintf(buf, sizeof(buf), "%u %s:", schema_no_of_table(t), t->name);
		crypto_generichash_update(&st, (const uint8_t *)buf, strlen(buf));
		for (size_t c = 0; c < t->ncolumns; c++)
			if (t->columns[c].since <= 1) {
				snprintf(buf, sizeof(buf), " %u %s",
				         schema_no_of_column(t, &t->columns[c]),
				         t->columns[c].name);
				crypto_generichash_update(&st, (const uint8_t *)buf, strlen(buf));
			}
		crypto_generichash_update(&st, (const uint8_t *)";", 1);
	}
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	if (strcmp(hex, want) != 0)
		fail_msg("version 1's numbering changed: %s", hex);
}

/* Every table and column of the schema maps to its number and back, by name or string. */
static void
test_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i), *found = NULL;
		char copy[80];
		int hint = -1;

		assert_int_equal(schema_no_of_table(t), i);
		assert_ptr_equal(schema_no_table(i), t);
		assert_ptr_equal(schema_no_table_name(i), t->name);
		snprintf(copy, sizeof(copy), "%s", t->name);
		assert_int_equal(schema_no_table_find(copy, &found), (int)i);
		assert_ptr_equal(found, t);
		assert_int_equal(schema_no_table_find(t->name, &found), (int)i);
		for (size_t c = 0; c < t->ncolumns; c++) {
			const struct schema_column *col = &t->columns[c];
			unsigned no = schema_no_of_column(t, col);

			assert_int_equal(no, c + 1 == t->ncolumns ? 0 : c + 1);
			assert_ptr_equal(schema_no_column(t, no), col);
			assert_ptr_equal(schema_no_column_name(t, no), col->name);
			assert_int_equal(schema_no_column_find(t, col->name, &hint), (int)no);
			assert_int_equal(hint, (int)c);
			snprintf(copy, sizeof(copy), "%s", col->name);
			hint = -1;
			assert_int_equal(schema_no_column_find(t, copy, &hint), (int)no);
			assert_int_equal(schema_no_size(col->name), 1);
		}
		assert_null(schema_no_column(t, t->ncolumns));
		assert_int_equal(schema_no_column_find(t, "id", &hint), -1);
		assert_int_equal(schema_no_column_find(t, "nosuch", &hint), -1);
	}
	assert_null(schema_no_table(schema_table_count()));
}

/*
 * A number the schema lacks has one reserved name, "#" and the number in decimal, which
 * the encoder takes back; a reserved name of a number the schema has, or spelt another
 * way, is no name.
 */
static void
test_reserved(void **state)
{
	static const char *const bad[] = {"#",   "#256", "#1000", "#099", "#00",
	                                  "#1a", "# 1",  "#-1",   "##1",  "x#12"};
	const struct schema_table *org = schema_no_table(0), *t;
	size_t ntab = schema_table_count(), ncol = org->ncolumns;
	char name[8];
	int hint = -1;

	(void)state;
	for (unsigned no = 0; no <= SCHEMA_NO_MAX; no++) {
		snprintf(name, sizeof(name), "#%u", no);
		if (no >= ntab) {
			assert_string_equal(schema_no_table_name(no), name);
			assert_int_equal(schema_no_table_find(name, &t), (int)no);
			assert_null(t);
		} else
			assert_int_equal(schema_no_table_find(name, &t), -1);
		/* a table this schema lacks still has _deleted as 0 */
		assert_string_equal(schema_no_column_name(NULL, no), no == 0 ? "_deleted" : name);
		assert_int_equal(schema_no_column_find(NULL, name, &hint), no == 0 ? -1 : (int)no);
		if (no >= ncol) {
			assert_string_equal(schema_no_column_name(org, no), name);
			assert_int_equal(schema_no_column_find(org, name, &hint), (int)no);
		} else
			assert_int_equal(schema_no_column_find(org, name, &hint), -1);
		assert_int_equal(schema_no_size(name), no < 128 ? 1 : 2);
	}
	assert_null(schema_no_table_name(SCHEMA_NO_MAX + 1));
	assert_null(schema_no_column_name(org, SCHEMA_NO_MAX + 1));
	assert_int_equal(schema_no_column_find(NULL, "_deleted", &hint), 0);
	assert_int_equal(schema_no_column_find(NULL, "kind", &hint), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(schema_no_table_find(bad[i], &t), -1);
		assert_int_equal(schema_no_column_find(NULL, bad[i], &hint), -1);
		assert_int_equal(schema_no_column_find(org, bad[i], &hint), -1);
	}
	assert_int_equal(schema_no_table_find(NULL, &t), -1);
}

/*
 * What a newer version adds is what an older one names by number: the next version's
 * kvk_no (organisation) and school_year are #4 and #10 here, their names there.
 */
static void
test_next_version(void **state)
{
	const struct schema_table *org = schema_no_table(0);

	(void)state;
	assert_string_equal(schema_no_column_name(org, 3), "code");
#ifdef ARR_TEST_SCHEMA_NEXT
	assert_string_equal(schema_no_column_name(org, 4), "kvk_no");
	assert_string_equal(schema_no_table_name(10), "school_year");
	assert_string_equal(schema_no_column_name(schema_no_table(10), 1), "label");
#else
	assert_string_equal(schema_no_column_name(org, 4), "#4");
	assert_string_equal(schema_no_table_name(10), "#10");
	assert_string_equal(schema_no_column_name(schema_no_table(10), 1), "#1");
#endif
	assert_string_equal(schema_no_column_name(org, 0), "_deleted");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_only),  cmocka_unit_test(test_version1_pinned),
	    cmocka_unit_test(test_roundtrip),    cmocka_unit_test(test_reserved),
	    cmocka_unit_test(test_next_version),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
