/*
 * schema.c: the data model of DOMAIN.md as static tables, and the arrangement status
 * lifecycle. Changing a table here changes the schema version (arrlimits.h) once a
 * region holds data (goal and goal_evaluation joined version 1 before any did), and
 * only additively (schema.h). ARR_TEST_SCHEMA_NEXT builds the test-only next version
 * (an extra column, table and enum value) for the upgrade tests; the real binaries never
 * define it. Owns no state; must not know about SQLite.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "utf8.h"

#ifdef ARR_TEST_SCHEMA_NEXT
static const char *const org_kinds[] = {"gemeente", "swv", "school", "provider", "childcare", NULL};
#define ORG_KIND_CHANGED 2
#else
static const char *const org_kinds[] = {"gemeente", "swv", "school", "provider", NULL};
#define ORG_KIND_CHANGED 1
#endif
static const char *const arr_kinds[] = {"care_at_school", "oza",   "support_team",
                                        "home_sitter",    "other", NULL};
static const char *const statuses[] = {"draft",     "requested",  "under_review", "allocated",
                                       "started",   "evaluating", "suspended",    "ended",
                                       "withdrawn", "rejected",   "archived",     NULL};
static const char *const roles[] = {"requester", "funder",       "education",
                                    "care",      "coordination", NULL};
static const char *const sources[] = {"jeugdwet", "swv_arrangement", "swv_tlv", "lumpsum", "wlz",
                                      "zvw",      "subsidy",         NULL};
/* iJw WJ756 units and WJ757 frequencies (schema_rules.c has their meanings) */
static const char *const units[] = {"01", "04", "14", "16", "82", "83", "84", NULL};
static const char *const frequencies[] = {"1", "2", "4", "6", NULL};
static const char *const outcomes[] = {"continue", "adjust", "stop", NULL};
static const char *const given_by[] = {"guardian", "child", "both", NULL};
static const char *const age_bands[] = {"<12", "12-15", "16+", NULL};
static const char *const goal_statuses[] = {"open", "achieved", "adjusted", "stopped", NULL};
static const char *const goal_outcomes[] = {"achieved", "progress", "no_progress", "stopped", NULL};

#define TEXT(n)                                                                                    \
	{                                                                                          \
		n, SCHEMA_TEXT, NULL, NULL, 1, 1                                                   \
	}
#define INT(n)                                                                                     \
	{                                                                                          \
		n, SCHEMA_INT, NULL, NULL, 1, 1                                                    \
	}
#define DATE(n)                                                                                    \
	{                                                                                          \
		n, SCHEMA_DATE, NULL, NULL, 1, 1                                                   \
	}
#define ENUM(n, c)                                                                                 \
	{                                                                                          \
		n, SCHEMA_ENUM, c, NULL, 1, 1                                                      \
	}
#define REF(n, t)                                                                                  \
	{                                                                                          \
		n, SCHEMA_REF, NULL, t, 1, 1                                                       \
	}
#define DELETED                                                                                    \
	{                                                                                          \
		SCHEMA_DELETED, SCHEMA_FLAG, NULL, NULL, 1, 1                                      \
	}
#define TABLE(n, c)                                                                                \
	{                                                                                          \
		n, c, sizeof(c) / sizeof(c[0]), 1                                                  \
	}

/* organisatie */
static const struct schema_column organisation_cols[] = {
    {"kind", SCHEMA_ENUM, org_kinds, NULL, 1, ORG_KIND_CHANGED},
    TEXT("name"),
    TEXT("code"),
#ifdef ARR_TEST_SCHEMA_NEXT
    {"kvk_no", SCHEMA_TEXT, NULL, NULL, 2, 2},
#endif
    DELETED};
/* jeugdige: pseudonymous reference, initials and birth year only; never a BSN or name */
static const struct schema_column child_cols[] = {TEXT("ref"), TEXT("initials"), INT("birth_year"),
                                                  DELETED};
/* arrangement */
static const struct schema_column arrangement_cols[] = {REF("child_id", "child"),
                                                        ENUM("kind", arr_kinds),
                                                        ENUM("status", statuses),
                                                        REF("lead_org_id", "organisation"),
                                                        TEXT("coordinator"),
                                                        REF("municipality_org_id", "organisation"),
                                                        REF("school_org_id", "organisation"),
                                                        REF("swv_org_id", "organisation"),
                                                        DATE("requested_on"),
                                                        DATE("decided_on"),
                                                        DATE("start_on"),
                                                        DATE("end_on"),
                                                        DATE("next_evaluation_on"),
                                                        TEXT("end_reason"),
                                                        TEXT("summary"),
                                                        DELETED};
/* betrokken partij */
static const struct schema_column party_cols[] = {REF("arrangement_id", "arrangement"),
                                                  REF("org_id", "organisation"),
                                                  ENUM("role", roles),
                                                  DATE("from_on"),
                                                  DATE("to_on"),
                                                  DELETED};
/* financieringsaandeel */
static const struct schema_column funding_cols[] = {REF("arrangement_id", "arrangement"),
                                                    REF("funder_org_id", "organisation"),
                                                    ENUM("source", sources),
                                                    INT("amount_cents"),
                                                    DATE("period_from"),
                                                    DATE("period_to"),
                                                    DELETED};
/*
 * toewijzing (iJw JW301): product_category, end_reason and change_reason hold iJw codes
 * (JZ020, JZ588, JZ002; schema_rules.c has the lists and their meanings); unit and
 * frequency are enums of iJw codes (WJ756, WJ757), e.g. 5 day parts a week: volume 5,
 * unit 16, frequency 2
 */
static const struct schema_column assignment_cols[] = {REF("arrangement_id", "arrangement"),
                                                       REF("provider_org_id", "organisation"),
                                                       TEXT("assignment_no"),
                                                       TEXT("product_category"),
                                                       TEXT("product_code"),
                                                       DATE("valid_from"),
                                                       DATE("valid_to"),
                                                       INT("volume"),
                                                       ENUM("unit", units),
                                                       ENUM("frequency", frequencies),
                                                       INT("budget_cents"),
                                                       TEXT("end_reason"),
                                                       TEXT("change_reason"),
                                                       DELETED};
/* evaluatie */
static const struct schema_column evaluation_cols[] = {REF("arrangement_id", "arrangement"),
                                                       DATE("held_on"), ENUM("outcome", outcomes),
                                                       TEXT("summary"), DELETED};
/* toestemming */
static const struct schema_column consent_cols[] = {REF("arrangement_id", "arrangement"),
                                                    ENUM("given_by", given_by),
                                                    ENUM("age_band", age_bands),
                                                    TEXT("purpose"),
                                                    DATE("granted_on"),
                                                    DATE("withdrawn_on"),
                                                    DELETED};

/*
 * doel ("één kind, één plan"): a goal of an arrangement's plan, in the plan's order
 * (ordinal), with the organisation that works on it. Hangs off an arrangement: goal
 * and goal_evaluation belong to the arrangement that goal.arrangement_id and
 * evaluation.arrangement_id name (the scope work will mark this with a flag).
 */
static const struct schema_column goal_cols[] = {REF("arrangement_id", "arrangement"),
                                                 TEXT("description"),
                                                 REF("org_id", "organisation"),
                                                 DATE("target_on"),
                                                 ENUM("status", goal_statuses),
                                                 INT("ordinal"),
                                                 DELETED};
/* what an evaluation recorded for one goal; hangs off an arrangement (see goal) */
static const struct schema_column goal_eval_cols[] = {
    REF("evaluation_id", "evaluation"), REF("goal_id", "goal"), ENUM("outcome", goal_outcomes),
    TEXT("note"), DELETED};

#ifdef ARR_TEST_SCHEMA_NEXT
/* test-only, version 2: a region table */
static const struct schema_column school_year_cols[] = {
    {"label", SCHEMA_TEXT, NULL, NULL, 2, 2},
    {"start_on", SCHEMA_DATE, NULL, NULL, 2, 2},
    {SCHEMA_DELETED, SCHEMA_FLAG, NULL, NULL, 2, 2}};
#endif

static const struct schema_table tables[] = {
    TABLE("organisation", organisation_cols),
    TABLE("child", child_cols),
    TABLE("arrangement", arrangement_cols),
    TABLE("arrangement_party", party_cols),
    TABLE("funding_share", funding_cols),
    TABLE("care_assignment", assignment_cols),
    TABLE("evaluation", evaluation_cols),
    TABLE("consent", consent_cols),
    TABLE("goal", goal_cols),
    TABLE("goal_evaluation", goal_eval_cols),
#ifdef ARR_TEST_SCHEMA_NEXT
    {"school_year", school_year_cols, sizeof(school_year_cols) / sizeof(school_year_cols[0]), 2},
#endif
};

size_t
schema_table_count(void)
{
	return sizeof(tables) / sizeof(tables[0]);
}

const struct schema_table *
schema_table_at(size_t i)
{
	return i < schema_table_count() ? &tables[i] : NULL;
}

/*
 * Whether the NUL-terminated schema name s is the n bytes of name. The first bytes are
 * compared before anything else: most names of a table or of the schema differ there,
 * and these look-ups run for every op of every write.
 */
static bool
name_is(const char *s, const char *name, size_t n)
{
	return n > 0 && s[0] == name[0] && strlen(s) == n && memcmp(s, name, n) == 0;
}

const struct schema_table *
schema_table_findn(const char *name, size_t n)
{
	for (size_t i = 0; name != NULL && i < schema_table_count(); i++)
		if (name_is(tables[i].name, name, n))
			return &tables[i];
	return NULL;
}

const struct schema_table *
schema_table_find(const char *name)
{
	return name == NULL ? NULL : schema_table_findn(name, strlen(name));
}

/* Index of the column named by name[0..n) in t, or -1. */
static int
column_indexn(const struct schema_table *t, const char *name, size_t n)
{
	for (size_t i = 0; t != NULL && name != NULL && i < t->ncolumns; i++)
		if (name_is(t->columns[i].name, name, n))
			return (int)i;
	return -1;
}

int
schema_column_index(const struct schema_table *t, const char *name)
{
	return name == NULL ? -1 : column_indexn(t, name, strlen(name));
}

const struct schema_column *
schema_column_find(const struct schema_table *t, const char *name)
{
	int i = schema_column_index(t, name);

	return i < 0 ? NULL : &t->columns[i];
}

const struct schema_column *
schema_column_findn(const struct schema_table *t, const char *name, size_t n, int hint)
{
	int i;

	/* Writes name a row's columns in schema order: try the one after the last first. */
	if (t != NULL && name != NULL && hint >= 0 && (size_t)hint + 1 < t->ncolumns &&
	    name_is(t->columns[hint + 1].name, name, n))
		return &t->columns[hint + 1];
	i = column_indexn(t, name, n);
	return i < 0 ? NULL : &t->columns[i];
}

size_t
schema_table_columns_at(const struct schema_table *t, unsigned v)
{
	size_t n = 0;

	if (t == NULL || t->since > v)
		return 0;
	/* columns are added in version order before _deleted, which every version has */
	while (n + 1 < t->ncolumns && t->columns[n].since <= v)
		n++;
	return n + 1;
}

static bool
date_ok(const char *s, size_t n)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;

	if (n != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	return true;
}

/* The row id text form: lower-case hex with dashes at 8, 13, 18 and 23. */
static bool
ref_ok(const char *s, size_t n)
{
	/* 1 for a lower-case hex digit */
	static const uint8_t hex[256] = {
	    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	    ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	};
	const unsigned char *u = (const unsigned char *)s;
	unsigned ok = 1;

	if (n != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return false;
	for (size_t i = 0; i < 36; i++)
		if (i != 8 && i != 13 && i != 18 && i != 23)
			ok &= hex[u[i]];
	return ok != 0;
}

/* schema_value_ok() with the UTF-8 check of text left to the caller (text_valid). */
static bool
value_ok(const struct schema_column *c, const struct value *v, bool text_valid)
{
	if (c == NULL || v == NULL)
		return false;
	if (v->kind == VALUE_NIL)
		return true;
	switch (c->type) {
	case SCHEMA_INT:
		return v->kind == VALUE_INT;
	case SCHEMA_FLAG:
		return v->kind == VALUE_INT && (v->u.i == 0 || v->u.i == 1);
	case SCHEMA_TEXT:
		return v->kind == VALUE_TEXT && (text_valid || utf8_valid(v->u.b.ptr, v->u.b.len));
	case SCHEMA_DATE:
		return v->kind == VALUE_TEXT && date_ok(v->u.b.ptr, v->u.b.len);
	case SCHEMA_REF:
		return v->kind == VALUE_TEXT && ref_ok(v->u.b.ptr, v->u.b.len);
	case SCHEMA_ENUM:
		if (v->kind != VALUE_TEXT)
			return false;
		for (const char *const *p = c->choices; *p != NULL; p++)
			if (name_is(*p, v->u.b.ptr, v->u.b.len))
				return true;
		return false;
	}
	return false;
}

bool
schema_value_ok(const struct schema_column *c, const struct value *v)
{
	return value_ok(c, v, false);
}

bool
schema_value_fits(const struct schema_column *c, const struct value *v)
{
	return value_ok(c, v, true);
}

/* DOMAIN.md, "Status lifecycle", edge by edge. */
static const char *const transitions[][2] = {
    {"draft", "requested"},        {"requested", "under_review"}, {"under_review", "allocated"},
    {"allocated", "started"},      {"started", "evaluating"},     {"evaluating", "started"},
    {"started", "suspended"},      {"suspended", "started"},      {"started", "ended"},
    {"suspended", "ended"},        {"requested", "withdrawn"},    {"requested", "rejected"},
    {"under_review", "withdrawn"}, {"under_review", "rejected"},  {"ended", "archived"},
    {"rejected", "archived"},      {"withdrawn", "archived"},
};

bool
schema_status_transition_ok(const char *from, const char *to)
{
	if (from == NULL || to == NULL)
		return false;
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if (strcmp(transitions[i][0], from) == 0 && strcmp(transitions[i][1], to) == 0)
			return true;
	return false;
}
