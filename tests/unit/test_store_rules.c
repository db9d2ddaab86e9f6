/*
 * test_store_rules.c: the domain rules of a local write (daemon/store_rules.c,
 * protocol/schema_rules.c), table by table: every rule refuses a new row (add, import)
 * and a change to an existing row (set), with the refusal naming table, column and rule
 * and nothing written; the row as a whole is judged after the write; remote change sets
 * that break the rules are merged all the same.
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
#include "schema.h"
#include "schema_rules.h"
#include "store.h"
#include "teststore.h"
#include "testutil.h"

/* The ids of the base region. */
#define GEM   "a0000001-0000-4000-8000-000000000001"
#define SWV   "a0000002-0000-4000-8000-000000000002"
#define SCH   "a0000003-0000-4000-8000-000000000003"
#define PRV   "a0000004-0000-4000-8000-000000000004"
#define CHD   "c0000001-0000-4000-8000-000000000001"
#define ARR   "e0000001-0000-4000-8000-000000000001"
#define EVAL  "e5000001-0000-4000-8000-000000000001"
#define GOAL  "60000001-0000-4000-8000-000000000001"
#define NOROW "9f000000-0000-4000-8000-000000000000"

/* Values for static tables: text (a literal), integer, nil. */
#define VT(s)                                                                                      \
	{                                                                                          \
		.kind = VALUE_TEXT, .u.b = {.ptr = s, .len = sizeof(s) - 1 }                       \
	}
#define VI(n)                                                                                      \
	{                                                                                          \
		.kind = VALUE_INT, .u.i = (n)                                                      \
	}
#define VNIL                                                                                       \
	{                                                                                          \
		.kind = VALUE_NIL                                                                  \
	}

struct col {
	const char *name;
	struct value v;
};

/* A complete, valid row of each table (at most 14 columns). */
static const struct {
	const char *table;
	const char *id;
	struct col cols[14];
} rows[] = {
    {"organisation",
     GEM,
     {{"kind", VT("gemeente")}, {"name", VT("Gemeente")}, {"code", VT("9901")}}},
    {"organisation", SWV, {{"kind", VT("swv")}, {"name", VT("SWV")}, {"code", VT("PO9901")}}},
    {"organisation", SCH, {{"kind", VT("school")}, {"name", VT("School")}, {"code", VT("99XX01")}}},
    {"organisation",
     PRV,
     {{"kind", VT("provider")}, {"name", VT("Aanbieder")}, {"code", VT("98000001")}}},
    {"child", CHD, {{"ref", VT("TD-2016-001")}, {"birth_year", VI(2016)}}},
    {"arrangement",
     ARR,
     {{"child_id", VT(CHD)},
      {"kind", VT("oza")},
      {"status", VT("started")},
      {"municipality_org_id", VT(GEM)},
      {"school_org_id", VT(SCH)},
      {"swv_org_id", VT(SWV)},
      {"requested_on", VT("2025-06-01")},
      {"decided_on", VT("2025-07-01")},
      {"start_on", VT("2025-09-01")},
      {"end_on", VT("2026-07-31")}}},
    {"arrangement_party",
     "b0000001-0000-4000-8000-000000000001",
     {{"arrangement_id", VT(ARR)},
      {"org_id", VT(GEM)},
      {"role", VT("funder")},
      {"from_on", VT("2025-09-01")},
      {"to_on", VT("2026-07-31")}}},
    {"funding_share",
     "f0000001-0000-4000-8000-000000000001",
     {{"arrangement_id", VT(ARR)},
      {"funder_org_id", VT(GEM)},
      {"source", VT("jeugdwet")},
      {"amount_cents", VI(650000)},
      {"period_from", VT("2025-10-01")},
      {"period_to", VT("2026-07-31")}}},
    {"care_assignment",
     "d0000001-0000-4000-8000-000000000001",
     {{"arrangement_id", VT(ARR)},
      {"provider_org_id", VT(PRV)},
      {"assignment_no", VT("JW-2025-0042")},
      {"product_category", VT("45")},
      {"product_code", VT("45A12")},
      {"valid_from", VT("2025-10-01")},
      {"valid_to", VT("2026-07-31")},
      {"volume", VI(6)},
      {"unit", VT("16")},
      {"frequency", VT("2")},
      {"budget_cents", VI(650000)},
      {"end_reason", VT("31")},
      {"change_reason", VT("04")}}},
    {"evaluation",
     EVAL,
     {{"arrangement_id", VT(ARR)}, {"held_on", VT("2026-01-20")}, {"outcome", VT("continue")}}},
    {"consent",
     "c5000001-0000-4000-8000-000000000001",
     {{"arrangement_id", VT(ARR)},
      {"given_by", VT("guardian")},
      {"granted_on", VT("2025-09-20")},
      {"withdrawn_on", VT("2026-09-20")}}},
    {"goal",
     GOAL,
     {{"arrangement_id", VT(ARR)},
      {"description", VT("Naar school zonder uitval")},
      {"org_id", VT(PRV)},
      {"target_on", VT("2026-03-01")},
      {"status", VT("open")},
      {"ordinal", VI(1)}}},
    {"goal_evaluation",
     "e6000001-0000-4000-8000-000000000001",
     {{"evaluation_id", VT(EVAL)},
      {"goal_id", VT(GOAL)},
      {"outcome", VT("progress")},
      {"note", VT("Twee dagen per week")}}},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* One rule broken: the column set to v, the refusal expected. */
static const struct {
	const char *table, *column;
	struct value v;
	int rc;
	const char *refusal;
} cases[] = {
    {"organisation", "kind", VNIL, ARR_EINVAL, "organisation.kind is required"},
    {"organisation", "name", VNIL, ARR_EINVAL, "organisation.name is required"},
    {"organisation", "code", VT(""), ARR_EINVAL, "organisation.code is required"},
    {"child", "ref", VNIL, ARR_EINVAL, "child.ref is required"},
    {"child", "birth_year", VI(1850), ARR_EINVAL,
     "child.birth_year=1850 must be a year from 1900 to 2100"},
    {"arrangement", "kind", VNIL, ARR_EINVAL, "arrangement.kind is required"},
    {"arrangement", "child_id", VNIL, ARR_EINVAL, "arrangement.child_id is required"},
    {"arrangement", "status", VNIL, ARR_EINVAL, "arrangement.status is required"},
    {"arrangement", "child_id", VT(NOROW), ARR_EINVAL,
     "arrangement.child_id=\"" NOROW "\" must name an existing child"},
    {"arrangement", "school_org_id", VT(GEM), ARR_EINVAL,
     "arrangement.school_org_id=\"" GEM "\" must name an existing organisation of kind school"},
    {"arrangement", "municipality_org_id", VT(SCH), ARR_EINVAL,
     "arrangement.municipality_org_id=\"" SCH
     "\" must name an existing organisation of kind gemeente"},
    {"arrangement", "swv_org_id", VT(NOROW), ARR_EINVAL,
     "arrangement.swv_org_id=\"" NOROW "\" must name an existing organisation of kind swv"},
    {"arrangement", "end_on", VT("2025-08-31"), ARR_EINVAL,
     "arrangement.end_on=\"2025-08-31\" must not be before start_on=\"2025-09-01\""},
    {"arrangement", "decided_on", VT("2025-05-01"), ARR_EINVAL,
     "arrangement.decided_on=\"2025-05-01\" must not be before requested_on=\"2025-06-01\""},
    {"arrangement_party", "role", VNIL, ARR_EINVAL, "arrangement_party.role is required"},
    {"arrangement_party", "to_on", VT("2025-01-01"), ARR_EINVAL,
     "arrangement_party.to_on=\"2025-01-01\" must not be before from_on=\"2025-09-01\""},
    {"funding_share", "source", VNIL, ARR_EINVAL, "funding_share.source is required"},
    {"funding_share", "amount_cents", VNIL, ARR_EINVAL, "funding_share.amount_cents is required"},
    {"funding_share", "amount_cents", VI(-1), ARR_EINVAL,
     "funding_share.amount_cents=-1 must not be negative"},
    {"funding_share", "period_to", VT("2025-09-30"), ARR_EINVAL,
     "funding_share.period_to=\"2025-09-30\" must not be before period_from=\"2025-10-01\""},
    {"care_assignment", "volume", VI(0), ARR_EINVAL, "care_assignment.volume=0 must be at least 1"},
    {"care_assignment", "budget_cents", VI(-5), ARR_EINVAL,
     "care_assignment.budget_cents=-5 must not be negative"},
    {"care_assignment", "unit", VNIL, ARR_EINVAL, "care_assignment.unit is required"},
    {"care_assignment", "product_category", VT("39"), ARR_EINVAL,
     "care_assignment.product_category=\"39\" must be an iJw JZ020 product category (31-38, "
     "40-55)"},
    {"care_assignment", "product_code", VT("45A123"), ARR_EINVAL,
     "care_assignment.product_code=\"45A123\" must be at most 5 characters"},
    {"care_assignment", "end_reason", VT("30"), ARR_EINVAL,
     "care_assignment.end_reason=\"30\" must be an iJw JZ588 reason care ended (02, 20, 31-39)"},
    {"care_assignment", "change_reason", VT("01"), ARR_EINVAL,
     "care_assignment.change_reason=\"01\" must be an iJw JZ002 reason an assignment changed "
     "(02-14)"},
    {"care_assignment", "valid_to", VT("2025-09-30"), ARR_EINVAL,
     "care_assignment.valid_to=\"2025-09-30\" must not be before valid_from=\"2025-10-01\""},
    {"care_assignment", "provider_org_id", VT(SCH), ARR_EINVAL,
     "care_assignment.provider_org_id=\"" SCH
     "\" must name an existing organisation of kind provider"},
    {"evaluation", "outcome", VNIL, ARR_EINVAL, "evaluation.outcome is required"},
    {"consent", "granted_on", VNIL, ARR_EINVAL, "consent.granted_on is required"},
    {"consent", "withdrawn_on", VT("2025-09-19"), ARR_EINVAL,
     "consent.withdrawn_on=\"2025-09-19\" must not be before granted_on=\"2025-09-20\""},
    {"goal", "description", VNIL, ARR_EINVAL, "goal.description is required"},
    {"goal", "org_id", VNIL, ARR_EINVAL, "goal.org_id is required"},
    {"goal", "ordinal", VI(0), ARR_EINVAL, "goal.ordinal=0 must be at least 1"},
    {"goal", "status", VNIL, ARR_EINVAL, "goal.status is required"},
    {"goal", "org_id", VT(NOROW), ARR_EINVAL,
     "goal.org_id=\"" NOROW "\" must name an existing organisation"},
    {"goal_evaluation", "outcome", VNIL, ARR_EINVAL, "goal_evaluation.outcome is required"},
    {"goal_evaluation", "goal_id", VNIL, ARR_EINVAL, "goal_evaluation.goal_id is required"},
};

/* Write row k (id given), with column set to v when column is not NULL. */
static int
write_row(struct ts_replica *r, size_t k, const char *id, const char *column, struct value v,
          struct store_write_result *res)
{
	struct store_op ops[15];
	size_t n = 0;
	bool set = false;

	for (size_t c = 0; c < 14 && rows[k].cols[c].name != NULL; c++) {
		bool this = column != NULL && strcmp(rows[k].cols[c].name, column) == 0;

		ops[n++] =
		    ts_op(rows[k].table, id, rows[k].cols[c].name, this ? v : rows[k].cols[c].v);
		set |= this;
	}
	if (column != NULL && !set)
		ops[n++] = ts_op(rows[k].table, id, column, v);
	return store_write(r->s, ops, n, res);
}

/* Replica a with the rules on and the base region written. */
static int
setup(void **state)
{
	struct ts_fixture *f;
	struct ts_replica *a;

	ts_setup_rules(state);
	f = *state;
	a = &f->r[0];
	for (size_t k = 0; k < NROWS; k++)
		if (write_row(a, k, rows[k].id, NULL, value_nil(), NULL) != 0)
			return -1;
	return 0;
}

static size_t
row_of(const char *table)
{
	for (size_t k = 0; k < NROWS; k++)
		if (strcmp(rows[k].table, table) == 0)
			return k;
	fail();
	return 0;
}

static void
row_text(struct ts_replica *r, const char *table, const char *id, struct ts_rowtext *t)
{
	memset(t, 0, sizeof(*t));
	store_get(r->s, table, id, ts_row_to_text, t);
}

/*
 * Every rule refuses a new row (add, import) and a change to a row (set). (A new row
 * under an arrangement that is not here is refused before the rules, by the routing to
 * its scope: test_rules_unknown_parent.)
 */
static void
test_rules_table(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t k = row_of(cases[i].table);
		struct store_write_result res;
		struct ts_rowtext before, after;
		char id[ARR_ROWID_STRLEN + 1];
		struct store_op op = ts_op(cases[i].table, rows[k].id, cases[i].column, cases[i].v);

		ts_new_id(id);
		if (write_row(a, k, id, cases[i].column, cases[i].v, &res) != cases[i].rc)
			fail_msg("case %zu (%s.%s): %s", i, cases[i].table, cases[i].column,
			         res.refusal);
		assert_string_equal(res.refusal, cases[i].refusal);
		assert_int_equal(store_get(a->s, cases[i].table, id, NULL, NULL), ARR_ENOTFOUND);
		/* set: the same value on the existing row is refused; the row is unchanged */
		row_text(a, cases[i].table, rows[k].id, &before);
		assert_int_equal(store_write(a->s, &op, 1, &res), cases[i].rc);
		assert_string_equal(res.refusal, cases[i].refusal);
		assert_int_equal(res.bad_op, 0);
		row_text(a, cases[i].table, rows[k].id, &after);
		assert_string_equal(before.buf, after.buf);
	}
}

/*
 * A new row that names no arrangement this node has cannot be put in a scope: the write
 * is refused while it is routed, before the rules (ARR_ENOTFOUND). An existing row keeps
 * its scope, so changing its reference to no arrangement is the rule's refusal.
 */
static void
test_rules_unknown_parent(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	size_t k = row_of("arrangement_party");
	struct store_write_result res;
	struct ts_rowtext before, after;
	char id[ARR_ROWID_STRLEN + 1];
	struct store_op op =
	    ts_op("arrangement_party", rows[k].id, "arrangement_id", value_text(NOROW));

	ts_new_id(id);
	assert_int_equal(write_row(a, k, id, "arrangement_id", value_text(NOROW), &res),
	                 ARR_ENOTFOUND);
	assert_string_equal(res.refusal,
	                    "no arrangement " NOROW " readable on this node (it relays "
	                    "the arrangements it is not a party of without reading "
	                    "them)");
	assert_int_equal(res.bad_op, 0);
	assert_int_equal(store_get(a->s, "arrangement_party", id, NULL, NULL), ARR_ENOTFOUND);
	row_text(a, "arrangement_party", rows[k].id, &before);
	assert_int_equal(store_write(a->s, &op, 1, &res), ARR_EINVAL);
	assert_string_equal(res.refusal, "arrangement_party.arrangement_id=\"" NOROW
	                                 "\" must name an existing arrangement");
	row_text(a, "arrangement_party", rows[k].id, &after);
	assert_string_equal(before.buf, after.buf);
}

/* The row after the write counts: two ops that together keep the order are fine. */
static void
test_rules_whole_row(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_write_result res;
	struct store_op ops[] = {
	    ts_op("arrangement", ARR, "start_on", value_text("2026-08-01")),
	    ts_op("arrangement", ARR, "end_on", value_text("2026-12-31")),
	};
	char org[ARR_ROWID_STRLEN + 1], arr[ARR_ROWID_STRLEN + 1];

	assert_int_equal(store_write(a->s, ops, 1, &res), ARR_EINVAL);
	assert_string_equal(res.refusal, "arrangement.end_on=\"2026-07-31\" must not be before "
	                                 "start_on=\"2026-08-01\"");
	assert_int_equal(store_write(a->s, ops, 2, &res), 0);
	assert_string_equal(res.refusal, "");
	/* a reference to a row created by the same write; the bad op is the one named */
	ts_new_id(org);
	ts_new_id(arr);
	struct store_op add[] = {
	    ts_op("organisation", org, "kind", value_text("school")),
	    ts_op("organisation", org, "name", value_text("Tweede school")),
	    ts_op("organisation", org, "code", value_text("99XX02")),
	    ts_op("arrangement", arr, "child_id", value_text(CHD)),
	    ts_op("arrangement", arr, "kind", value_text("other")),
	    ts_op("arrangement", arr, "status", value_text("draft")),
	    ts_op("arrangement", arr, "school_org_id", value_text(org)),
	    ts_op("arrangement", arr, "swv_org_id", value_text(SCH)),
	};
	assert_int_equal(store_write(a->s, add, 8, &res), ARR_EINVAL);
	assert_int_equal(res.bad_op, 7);
	assert_int_equal(store_write(a->s, add, 7, &res), 0);
	/* a delete is never refused, though the row breaks a rule by then */
	assert_int_equal(ts_write1(a, "arrangement", arr, SCHEMA_DELETED, value_int(1)), 0);
}

/* The lifecycle: a set takes one step; a new row any status reached from draft. */
static void
test_rules_status(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_write_result res;
	struct store_op op = ts_op("arrangement", ARR, "status", value_text("draft"));
	size_t k = row_of("arrangement");
	char id[ARR_ROWID_STRLEN + 1];

	assert_int_equal(store_write(a->s, &op, 1, &res), ARR_ESTATE);
	assert_string_equal(res.refusal, "arrangement.status cannot change from started to draft "
	                                 "(allowed: evaluating, suspended, ended)");
	op.value = value_text("ended");
	assert_int_equal(store_write(a->s, &op, 1, &res), 0);
	op.value = value_text("archived");
	assert_int_equal(store_write(a->s, &op, 1, &res), 0);
	op.value = value_text("ended");
	assert_int_equal(store_write(a->s, &op, 1, &res), ARR_ESTATE);
	assert_string_equal(
	    res.refusal, "arrangement.status cannot change from archived to ended (allowed: none)");
	op.value = value_text("archived"); /* the same status again is no change */
	assert_int_equal(store_write(a->s, &op, 1, &res), 0);
	static const char *const any[] = {"draft",     "requested",  "under_review", "allocated",
	                                  "started",   "evaluating", "suspended",    "ended",
	                                  "withdrawn", "rejected",   "archived"};
	for (size_t i = 0; i < sizeof(any) / sizeof(any[0]); i++) {
		ts_new_id(id);
		assert_int_equal(write_row(a, k, id, "status", value_text(any[i]), &res), 0);
	}
	ts_new_id(id);
	assert_int_equal(write_row(a, k, id, "status", value_text("nope"), &res), ARR_EINVAL);
}

/*
 * Within one write, a new arrangement's status is judged by the status alone, and what
 * that found is remembered for the write's other new rows only: an arrangement that
 * exists still takes one step, whatever status a new row of the same write reached.
 */
static void
test_rules_status_in_one_write(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_write_result res;
	size_t k = row_of("arrangement"), n = 0;
	static const char *const st[] = {"draft", "ended", "draft", "started", "ended", "draft"};
	struct store_op ops[6 * 15 + 1];
	char ids[6][ARR_ROWID_STRLEN + 1];

	for (size_t i = 0; i < 6; i++) {
		ts_new_id(ids[i]);
		for (size_t c = 0; c < 14 && rows[k].cols[c].name != NULL; c++)
			ops[n++] =
			    ts_op("arrangement", ids[i], rows[k].cols[c].name,
			          strcmp(rows[k].cols[c].name, "status") == 0 ? value_text(st[i])
			                                                      : rows[k].cols[c].v);
	}
	/* ARR is started: draft is no step from there, though the new rows reached it */
	ops[n++] = ts_op("arrangement", ARR, "status", value_text("draft"));
	assert_int_equal(store_write(a->s, ops, n, &res), ARR_ESTATE);
	assert_int_equal(res.bad_op, n - 1);
	assert_string_equal(res.refusal, "arrangement.status cannot change from started to draft "
	                                 "(allowed: evaluating, suspended, ended)");
	assert_int_equal(store_write(a->s, ops, n - 1, &res), 0);
}

/* Remote change sets are merged as received, rules or not (LWW must converge). */
static void
test_rules_not_for_remote(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct ts_rowtext t;
	char id[ARR_ROWID_STRLEN + 1];

	ts_new_id(id);
	/* b writes without the rules: an organisation with only a name */
	assert_int_equal(ts_write1(b, "organisation", id, "name", value_text("Half")), 0);
	assert_int_equal(ts_write1(a, "organisation", id, "name", value_text("Half")), ARR_EINVAL);
	ts_pull(b, a, 0);
	row_text(a, "organisation", id, &t);
	assert_string_equal(t.buf, "kind=nil;name='Half';code=nil;");
}

/* A row that came from a peer is judged by the same rules, every broken one named. */
static void
test_rules_judge(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_judgement j;
	char id[ARR_ROWID_STRLEN + 1];

	/* the base rows keep every rule */
	for (size_t k = 0; k < NROWS; k++) {
		assert_int_equal(store_rules_judge(a->s, rows[k].table, rows[k].id, &j), 0);
		assert_int_equal(j.n, 0);
	}
	/* b (without the rules) writes a share that breaks three rules; a merges it */
	ts_pull(a, b, 0);
	ts_new_id(id);
	struct store_op ops[] = {
	    ts_op("funding_share", id, "arrangement_id", value_text(ARR)),
	    ts_op("funding_share", id, "funder_org_id", value_text(NOROW)),
	    ts_op("funding_share", id, "amount_cents", value_int(-250)),
	    ts_op("funding_share", id, "period_from", value_text("2026-01-01")),
	    ts_op("funding_share", id, "period_to", value_text("2025-01-01")),
	};
	assert_int_equal(store_write(b->s, ops, 5, NULL), 0);
	ts_pull(b, a, 0);
	assert_int_equal(store_rules_judge(a->s, "funding_share", id, &j), 0);
	assert_int_equal(j.n, 4);
	assert_string_equal(j.v[0].column, "source");
	assert_string_equal(j.v[0].message, "funding_share.source is required");
	assert_string_equal(j.v[1].message, "funding_share.amount_cents=-250 must not be negative");
	assert_string_equal(j.v[2].message, "funding_share.period_to=\"2025-01-01\" must not be "
	                                    "before period_from=\"2026-01-01\"");
	assert_string_equal(j.v[3].column, "funder_org_id");
	assert_string_equal(j.v[3].message, "funding_share.funder_org_id=\"" NOROW
	                                    "\" must name an existing organisation");
	/* the row is unchanged and judging wrote nothing */
	assert_int_equal(store_write(a->s, &ops[2], 1, NULL), ARR_EINVAL);
	assert_int_equal(store_rules_judge(a->s, "funding_share", NOROW, &j), ARR_ENOTFOUND);
	assert_int_equal(store_rules_judge(a->s, "nope", id, &j), ARR_ESCHEMA);
}

/* A goal's evaluation is about a goal of the arrangement the evaluation belongs to. */
static void
test_rules_plan(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_write_result res;
	char arr2[ARR_ROWID_STRLEN + 1], ev2[ARR_ROWID_STRLEN + 1], ge[ARR_ROWID_STRLEN + 1];
	char want[SCHEMA_RULE_MAX + 64];

	ts_new_id(arr2);
	ts_new_id(ev2);
	ts_new_id(ge);
	assert_int_equal(write_row(a, row_of("arrangement"), arr2, NULL, value_nil(), NULL), 0);
	struct store_op ops[] = {
	    ts_op("evaluation", ev2, "arrangement_id", value_text(arr2)),
	    ts_op("evaluation", ev2, "held_on", value_text("2026-02-01")),
	    ts_op("evaluation", ev2, "outcome", value_text("adjust")),
	    ts_op("goal_evaluation", ge, "evaluation_id", value_text(ev2)),
	    ts_op("goal_evaluation", ge, "goal_id", value_text(GOAL)),
	    ts_op("goal_evaluation", ge, "outcome", value_text("achieved")),
	};
	assert_int_equal(store_write(a->s, ops, 6, &res), ARR_EINVAL);
	snprintf(want, sizeof(want),
	         "goal_evaluation.goal_id=\"%s\" must name a goal of the arrangement of its "
	         "evaluation_id",
	         GOAL);
	assert_string_equal(res.refusal, want);
	assert_int_equal(res.bad_op, 4);
	assert_int_equal(store_get(a->s, "evaluation", ev2, NULL, NULL), ARR_ENOTFOUND);
	/* the same with the evaluation of the goal's own arrangement is kept */
	ops[3].value = value_text(EVAL);
	assert_int_equal(store_write(a->s, ops, 6, &res), 0);
	/*
	 * Rows are judged as they are written: moving the goal itself is a write of the
	 * goal, whose own rules hold; its evaluations are judged when they are written.
	 */
	struct store_op mv = ts_op("goal", GOAL, "arrangement_id", value_text(arr2));
	assert_int_equal(store_write(a->s, &mv, 1, &res), 0);
}

/* A refusal shows a value shortened and escaped, never all of a long field. */
static void
test_rules_quote(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_write_result res;
	char q[SCHEMA_QUOTE_MAX];
	size_t big = 65537;
	char *long_text = malloc(big + 1);
	struct value v;

	assert_non_null(long_text);
	memset(long_text, 'x', big);
	long_text[big] = '\0';
	v = value_text(long_text);
	schema_rules_quote(&v, q, sizeof(q));
	assert_string_equal(q, "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"...");
	v = value_text("a\"b\\c\nd\te\x01");
	schema_rules_quote(&v, q, sizeof(q));
	assert_string_equal(q, "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
	v = value_text("Zoë"); /* UTF-8 stays as it is */
	schema_rules_quote(&v, q, sizeof(q));
	assert_string_equal(q, "\"Zoë\"");
	v = value_textn("\xff\xfe", 2); /* bytes that are not UTF-8 are escaped */
	schema_rules_quote(&v, q, sizeof(q));
	assert_string_equal(q, "\"\\xff\\xfe\"");
	v = value_int(-42);
	schema_rules_quote(&v, q, sizeof(q));
	assert_string_equal(q, "-42");
	/* 40 characters of 6 escaped bytes each do not fit: cut earlier, still marked */
	memset(long_text, '\x02', 100);
	long_text[100] = '\0';
	v = value_text(long_text);
	schema_rules_quote(&v, q, sizeof(q));
	assert_true(strlen(q) < SCHEMA_QUOTE_MAX);
	assert_string_equal(q + strlen(q) - 4, "\"...");
	/* a whole write: the refusal holds the start of the value only */
	memset(long_text, 'y', 4000);
	long_text[4000] = '\0';
	struct store_op op = ts_op("care_assignment", rows[row_of("care_assignment")].id,
	                           "product_code", value_text(long_text));
	assert_int_equal(store_write(a->s, &op, 1, &res), ARR_EINVAL);
	assert_string_equal(res.refusal,
	                    "care_assignment.product_code=\"yyyyyyyyyyyyyyyyyyyyyyyyyyyy"
	                    "yyyyyyyyyyyy\"... must be at most 5 characters");
	free(long_text);
}

/* The iJw codes a care assignment holds, and what each means. */
static void
test_rules_code_meaning(void **state)
{
	const struct schema_table *ca = schema_table_find("care_assignment");

	(void)state;
	assert_string_equal(schema_rules_code_meaning(ca, "product_category", "45"),
	                    "jeugdhulp ambulant");
	assert_string_equal(schema_rules_code_meaning(ca, "end_reason", "31"), "ended as planned");
	assert_string_equal(schema_rules_code_meaning(ca, "change_reason", "09"),
	                    "moved to another provider");
	assert_null(schema_rules_code_meaning(ca, "change_reason", "01")); /* retired */
	assert_null(schema_rules_code_meaning(ca, "product_code", "45A12"));
	assert_null(schema_rules_code_meaning(schema_table_find("goal"), "status", "open"));
}

/*
 * unit (WJ756) and frequency (WJ757) are enums of iJw codes: every choice has a meaning,
 * and the words they held before are no choice ("5 day parts a week": 5, 16, 2).
 */
static void
test_rules_enum_codes(void **state)
{
	static const char *const old_words[] = {"minute", "hour", "day_part", "day",  "piece",
	                                        "euro",   "week", "month",    "total"};
	static const struct {
		const char *column;
		size_t n;
	} lists[] = {{"unit", 7}, {"frequency", 4}};
	const struct schema_table *ca = schema_table_find("care_assignment");

	(void)state;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		const struct schema_column *c = schema_column_find(ca, lists[i].column);
		size_t n = 0;

		assert_int_equal(c->type, SCHEMA_ENUM);
		for (const char *const *p = c->choices; *p != NULL; p++, n++)
			assert_non_null(schema_rules_code_meaning(ca, lists[i].column, *p));
		assert_int_equal(n, lists[i].n);
		for (size_t k = 0; k < sizeof(old_words) / sizeof(old_words[0]); k++) {
			struct value v = value_text(old_words[k]);

			assert_false(schema_value_ok(c, &v));
		}
	}
	assert_string_equal(schema_rules_code_meaning(ca, "unit", "16"), "dagdeel (4 h)");
	assert_string_equal(schema_rules_code_meaning(ca, "unit", "83"), "euros");
	assert_string_equal(schema_rules_code_meaning(ca, "frequency", "2"), "per week");
	assert_string_equal(schema_rules_code_meaning(ca, "frequency", "6"),
	                    "total within the assignment's validity");
	assert_null(schema_rules_code_meaning(ca, "unit", "02"));
	assert_null(schema_rules_code_meaning(ca, "frequency", "3"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rules_table, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_rules_unknown_parent, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_rules_whole_row, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_rules_status, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_rules_status_in_one_write, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_rules_not_for_remote, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_rules_judge, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_rules_plan, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_rules_quote, setup, ts_teardown),
	    cmocka_unit_test(test_rules_code_meaning),
	    cmocka_unit_test(test_rules_enum_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
