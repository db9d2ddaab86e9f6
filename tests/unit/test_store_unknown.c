/*
 * test_store_unknown.c: change sets of a newer schema at an older node (store_unknown.c,
 * PROTOCOL.md "Schema evolution"). Ops on an unknown table or column are kept, not
 * quarantined, while the known ops of the same change set apply at once and the change
 * set is logged and counted in the vector; a newer enum value merges as its text; the
 * same ops at this node's own schema version are ARR_ESCHEMA, and so is a retype; past
 * the bound of what is noted, an overflow is counted and nothing else changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "arrerr.h"
#include "changeset.h"
#include "hlc.h"
#include "rowid.h"
#include "teststore.h"

/* Build a change set of b at schema version v with ops (table, column, value) on row id. */
static struct changeset *
build(struct ts_replica *b, uint64_t seq, uint32_t v, const char *id, const char *const (*ops)[2],
      const struct value *vals, size_t n)
{
	struct cs_op op[8];
	struct cs_header h = {
	    .seq = seq, .hlc = hlc_make(b->clock, 0), .author_org = TS_ORG, .schema_version = v};
	struct changeset *cs = NULL;

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		op[i] = (struct cs_op){.table = ops[i][0], .column = ops[i][1], .value = vals[i]};
		assert_int_equal(rowid_parse(id, op[i].row), 0);
	}
	assert_int_equal(changeset_build_region(b->key, &h, op, n, &cs), 0);
	return cs;
}

/* Apply one envelope at r; its outcome. */
static enum store_outcome
apply1(struct ts_replica *r, const struct changeset *cs)
{
	struct store_blob item = {cs->raw, cs->rawlen};
	enum store_outcome o = STORE_DROPPED;

	assert_int_equal(store_apply(r->s, &item, 1, &o, NULL), 0);
	return o;
}

/* What r's stats say: its quarantine and its log, by count. */
static void
counts(struct ts_replica *r, uint64_t *quarantined, uint64_t *logged)
{
	struct store_stats st;

	assert_int_equal(store_stats(r->s, &st), 0);
	*quarantined = st.quarantine_count;
	*logged = st.log_count;
}

/*
 * A newer schema's column and table are numbers this one lacks: the next column of
 * organisation (4, after kind, name and code) and the next table (10) with its first
 * column (1), which a change set names by number and this schema by reserved name.
 */
static const char *const newer_ops[][2] = {
    {"organisation", "name"}, /* known: applies */
    {"organisation", "#4"},   /* unknown column: kept */
    {"organisation", "kind"}, /* unknown enum value: merged as text */
    {"#10", "#1"},            /* unknown table: kept */
};

static void
test_newer_kept_not_quarantined(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *b = &f->r[1], *c = &f->r[2];
	const struct value vals[] = {value_text("Kinderopvang Zon"), value_text("12345678"),
	                             value_text("childcare"), value_text("2026/27")};
	struct store_unknown_stats u;
	struct ts_rowtext t = {0};
	struct changeset *cs;
	uint64_t q, n;
	char id[37];

	ts_new_id(id);
	cs = build(b, 1, ARR_SCHEMA_VERSION + 1, id, newer_ops, vals, 4);
	assert_int_equal(apply1(c, cs), STORE_APPLIED);
	changeset_destroy(&cs);
	/* logged and counted, nothing quarantined */
	counts(c, &q, &n);
	assert_int_equal(q, 0);
	assert_int_equal(n, 1);
	/* the known ops applied at once, the newer enum value as its text */
	assert_int_equal(store_get(c->s, "organisation", id, ts_row_to_text, &t), 0);
	assert_non_null(strstr(t.buf, "name='Kinderopvang Zon';"));
	assert_non_null(strstr(t.buf, "kind='childcare';"));
	assert_null(strstr(t.buf, "12345678"));
	/* the change set holding the unknown column and table is noted, with their bytes */
	assert_int_equal(store_unknown_stats(c->s, &u), 0);
	assert_int_equal(u.changesets, 1);
	assert_true(u.bytes >= strlen("12345678") + strlen("2026/27"));
	assert_int_equal(u.overflow, 0);
}

static void
test_same_version_unknown_quarantined(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *b = &f->r[1], *c = &f->r[2];
	const struct value vals[] = {value_text("x"), value_text("12345678")};
	struct store_unknown_stats u;
	struct changeset *cs;
	uint64_t q, n;
	char id[37];

	ts_new_id(id);
	/* a change set of this very version that names a column it lacks is malformed */
	cs = build(b, 1, ARR_SCHEMA_VERSION, id, newer_ops, vals, 2);
	assert_int_equal(apply1(c, cs), STORE_QUARANTINED);
	changeset_destroy(&cs);
	counts(c, &q, &n);
	assert_int_equal(q, 1);
	assert_int_equal(n, 0);
	assert_int_equal(store_unknown_stats(c->s, &u), 0);
	assert_int_equal(u.changesets, 0);
	/* and so is one that names a table number this version lacks (another author) */
	ts_new_id(id);
	cs = build(&f->r[0], 1, ARR_SCHEMA_VERSION, id, newer_ops + 3, vals, 1);
	assert_int_equal(apply1(c, cs), STORE_QUARANTINED);
	changeset_destroy(&cs);
	counts(c, &q, &n);
	assert_int_equal(q, 2);
	assert_int_equal(n, 0);
}

static void
test_newer_retype_quarantined(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *b = &f->r[1], *c = &f->r[2];
	const char *const ops[][2] = {{"organisation", "name"}};
	const struct value vals[] = {value_int(7)}; /* text column: never retyped */
	struct changeset *cs;
	uint64_t q, n;
	char id[37];

	ts_new_id(id);
	cs = build(b, 1, ARR_SCHEMA_VERSION + 1, id, ops, vals, 1);
	assert_int_equal(apply1(c, cs), STORE_QUARANTINED);
	changeset_destroy(&cs);
	counts(c, &q, &n);
	assert_int_equal(q, 1);
	assert_int_equal(n, 0);
}

/*
 * Past the bound of _unknown a newer change set is still applied, logged and not
 * quarantined; it is counted as an overflow (its ops stay in the log).
 */
static void
test_bound_overflow(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *b = &f->r[1], *c = &f->r[2];
	const struct value vals[] = {value_text("x"), value_text("12345678")};
	struct store_unknown_stats u;
	uint64_t q, n;

	store_set_unknown_bounds(c->s, 1, 0);
	for (uint64_t seq = 1; seq <= 3; seq++) {
		struct changeset *cs;
		char id[37];

		ts_new_id(id);
		cs = build(b, seq, ARR_SCHEMA_VERSION + 1, id, newer_ops, vals, 2);
		assert_int_equal(apply1(c, cs), STORE_APPLIED);
		changeset_destroy(&cs);
	}
	counts(c, &q, &n);
	assert_int_equal(q, 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_unknown_stats(c->s, &u), 0);
	assert_int_equal(u.changesets, 1);
	assert_int_equal(u.overflow, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_newer_kept_not_quarantined, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_same_version_unknown_quarantined, ts_setup,
	                                    ts_teardown),
	    cmocka_unit_test_setup_teardown(test_newer_retype_quarantined, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_bound_overflow, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
