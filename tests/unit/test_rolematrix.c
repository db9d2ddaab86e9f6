/*
 * test_rolematrix.c: the role matrix (protocol/rolematrix.c): every column of every table
 * of the schema has a rule, region tables are any member's and case tables never are, the
 * rules the issue asks for hold, and a schema version without a matrix has no rule.
 * Rules are only added: what every column of every existing schema version is judged by
 * (who, role, name, own conditions) is pinned by a golden digest per version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "arrlimits.h"
#include "policy.h"
#include "rolematrix.h"
#include "schema.h"

static const struct rolematrix_rule *
rule(const char *table, const char *column)
{
	return rolematrix_rule(ARR_SCHEMA_VERSION, table, column);
}

static void
test_every_column_has_a_rule(void **state)
{
	(void)state;
	assert_true(rolematrix_known(ARR_SCHEMA_VERSION));
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);
		bool region = strcmp(t->name, "organisation") == 0;

		for (size_t c = 0; c < t->ncolumns; c++) {
			const struct rolematrix_rule *r = rule(t->name, t->columns[c].name);

			assert_non_null(r);
			assert_string_equal(r->table, t->name);
			assert_int_equal(r->who == RM_MEMBER, region);
		}
	}
}

static void
test_rules_of_the_issue(void **state)
{
	static const char *const lifecycle[] = {"status",      "start_on",    "end_on",
	                                        "lead_org_id", "coordinator", NULL};

	(void)state;
	for (const char *const *c = lifecycle; *c != NULL; c++)
		assert_int_equal(rule("arrangement", *c)->who, RM_OWNER_ADMIN);
	assert_int_equal(rule("arrangement", "summary")->who, RM_PARTY);
	assert_int_equal(rule("arrangement_party", "org_id")->who, RM_OWNER_ADMIN);
	assert_int_equal(rule("funding_share", "amount_cents")->who, RM_ROLE);
	assert_int_equal(rule("funding_share", "amount_cents")->role, ROLE_FUNDER);
	assert_int_equal(rule("care_assignment", "volume")->role, ROLE_CARE);
	assert_int_equal(rule("evaluation", "summary")->who, RM_PARTY);
	assert_int_equal(rule("consent", "purpose")->who, RM_PARTY);
	assert_string_equal(rule("funding_share", "_deleted")->name, "funding");
	/* "status" is one column, not any column whose name holds it */
	assert_int_equal(rule("arrangement", "stat")->who, RM_PARTY);
}

static void
test_unknown_version_or_table(void **state)
{
	(void)state;
	assert_false(rolematrix_known(ARR_SCHEMA_VERSION + 1));
	assert_null(rolematrix_rule(ARR_SCHEMA_VERSION + 1, "arrangement", "summary"));
	assert_null(rolematrix_at(ARR_SCHEMA_VERSION + 1, 0));
	assert_null(rule("nope", "summary"));
	assert_null(rule(NULL, "summary"));
}

static void
test_who_text(void **state)
{
	char buf[64];

	(void)state;
	rolematrix_who_str(rule("funding_share", "amount_cents"), buf, sizeof(buf));
	assert_string_equal(buf, "owner or the funder role");
	rolematrix_who_str(rule("arrangement", "status"), buf, sizeof(buf));
	assert_string_equal(buf, "owner or admin");
}

/*
 * The listing of what each column of schema_version is judged by, one line per column in
 * schema order: "table.column: who; rule name; own conditions"; malloc'd.
 */
static char *
listing(uint32_t schema_version)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (size_t i = 0; i < schema_table_count(); i++) {
		const struct schema_table *t = schema_table_at(i);

		if (t->since > schema_version)
			continue;
		for (size_t c = 0; c < t->ncolumns; c++) {
			const struct rolematrix_rule *r;
			char who[96];

			if (t->columns[c].since > schema_version)
				continue;
			r = rolematrix_rule(schema_version, t->name, t->columns[c].name);
			assert_non_null(r);
			rolematrix_who_str(r, who, sizeof(who));
			fprintf(f, "%s.%s: %s; %s;", t->name, t->columns[c].name, who, r->name);
			for (unsigned b = 1; b != 0; b <<= 1)
				if ((r->own & b) != 0)
					fprintf(f, " %s", rolematrix_own_name(b));
			fputc('\n', f);
		}
	}
	fclose(f);
	return buf;
}

/*
 * The rules of a schema version that exists never change nor go: each version's
 * listing has the digest it had when the version was made. A new version adds its own
 * line here; changing an existing line is changing what logged change sets mean.
 */
static void
test_rules_pinned(void **state)
{
	static const char *const golden[] = {
	    /*
	     * version 1, with the rule organisation.kind (organisation-kind) added when the
	     * member list became replicated; every other line as it was (dee842f4...)
	     */
	    "14ba7969b0dcb8166408b06e993e0806963b69e35769a89c87ec39e614733e6b",
	};
	(void)state;
	assert_true(ARR_SCHEMA_VERSION <= sizeof(golden) / sizeof(golden[0]));
	for (uint32_t v = 1; v <= ARR_SCHEMA_VERSION; v++) {
		uint8_t h[32];
		char hex[65];
		char *text = listing(v);

		crypto_generichash(h, sizeof(h), (const unsigned char *)text, strlen(text), NULL,
		                   0);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		if (strcmp(hex, golden[v - 1]) != 0)
			fprintf(stderr, "schema version %u's rules changed (digest %s):\n%s", v,
			        hex, text);
		assert_string_equal(hex, golden[v - 1]);
		free(text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_column_has_a_rule),
	    cmocka_unit_test(test_rules_of_the_issue),
	    cmocka_unit_test(test_unknown_version_or_table),
	    cmocka_unit_test(test_who_text),
	    cmocka_unit_test(test_rules_pinned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
