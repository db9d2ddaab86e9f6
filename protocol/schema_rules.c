/*
 * schema_rules.c: the domain rules of a local write as static tables (required fields,
 * minimums, date order, code lists, organisation kinds) and the checks over one row
 * and one status change. Owns no state; must not know about SQLite or where a row
 * came from. Its messages show a value only shortened and escaped (schema_rules_quote).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "schema_no.h"
#include "schema_rules.h"
#include "utf8.h"

/* Fields without which a row means nothing in a case file. */
static const struct {
	const char *table;
	const char *const columns[8];
} required[] = {
    {"organisation", {"kind", "name", "code"}},
    {"child", {"ref"}},
    {"arrangement", {"child_id", "kind", "status"}},
    {"arrangement_party", {"arrangement_id", "org_id", "role"}},
    {"funding_share", {"arrangement_id", "funder_org_id", "source", "amount_cents"}},
    {"care_assignment",
     {"arrangement_id", "provider_org_id", "product_category", "valid_from", "volume", "unit",
      "frequency"}},
    {"evaluation", {"arrangement_id", "held_on", "outcome"}},
    {"consent", {"arrangement_id", "given_by", "granted_on"}},
    {"goal", {"arrangement_id", "description", "org_id", "status", "ordinal"}},
    {"goal_evaluation", {"evaluation_id", "goal_id", "outcome"}},
};

/* Integers with a lower (and upper) bound. */
static const struct {
	const char *table, *column;
	long long min, max;
	const char *rule;
} ranges[] = {
    {"child", "birth_year", 1900, 2100, "must be a year from 1900 to 2100"},
    {"funding_share", "amount_cents", 0, INT64_MAX, "must not be negative"},
    {"care_assignment", "volume", 1, INT64_MAX, "must be at least 1"},
    {"care_assignment", "budget_cents", 0, INT64_MAX, "must not be negative"},
    {"goal", "ordinal", 1, INT64_MAX, "must be at least 1"},
};

/* Pairs of dates where the first must not come after the second. */
static const struct {
	const char *table, *first, *second;
} date_order[] = {
    {"arrangement", "requested_on", "decided_on"}, {"arrangement", "start_on", "end_on"},
    {"arrangement_party", "from_on", "to_on"},     {"funding_share", "period_from", "period_to"},
    {"care_assignment", "valid_from", "valid_to"}, {"consent", "granted_on", "withdrawn_on"},
};

/* An iJw code and what it means (DOMAIN.md, "iJw 3.2 code lists"). */
struct ijw_code {
	const char *code, *meaning;
};

/* JZ020 product categories (31-38 are the historic ones of 2015). */
static const struct ijw_code jz020[] = {
    {"31", "2015 category (historic)"},
    {"32", "2015 category (historic)"},
    {"33", "2015 category (historic)"},
    {"34", "2015 category (historic)"},
    {"35", "2015 category (historic)"},
    {"36", "2015 category (historic)"},
    {"37", "2015 category (historic)"},
    {"38", "2015 category (historic)"},
    {"40", "persoonlijke verzorging"},
    {"41", "dagbehandeling"},
    {"42", "vervoerdiensten"},
    {"43", "verblijf incl. behandeling"},
    {"44", "verblijf excl. behandeling"},
    {"45", "jeugdhulp ambulant"},
    {"46", "crisis"},
    {"47", "jeugdreclassering"},
    {"48", "jeugdbescherming"},
    {"49", "preventief justitieel kader"},
    {"50", "maatwerkarrangementen"},
    {"51", "generalistische basis-ggz"},
    {"52", "specialistische ggz"},
    {"53", "kindergeneeskunde"},
    {"54", "jeugd-ggz"},
    {"55", "landelijk ingekochte zorg"},
    {NULL, NULL},
};

/* JZ588 reasons care ended. */
static const struct ijw_code jz588[] = {
    {"02", "death"},
    {"20", "temporarily ended"},
    {"31", "ended as planned"},
    {"32", "ended early, by the client"},
    {"33", "ended early, by the provider"},
    {"34", "ended early, by agreement"},
    {"35", "ended early, external circumstances"},
    {"36", "initiated by the municipality"},
    {"37", "after a change request"},
    {"38", "moved to another provider"},
    {"39", "moved to another domain"},
    {NULL, NULL},
};

/* JZ002 reasons an assignment changed (01 is retired). */
static const struct ijw_code jz002[] = {
    {"02", "client died"},
    {"03", "contract change"},
    {"04", "reassessment: extended"},
    {"05", "reassessment: shortened"},
    {"06", "moved to another domain"},
    {"07", "moved to another municipality"},
    {"08", "change of delivery form (pgb)"},
    {"09", "moved to another provider"},
    {"10", "new funding scheme"},
    {"11", "municipal merger"},
    {"12", "initiated by the provider"},
    {"13", "withdrawn (sent in error)"},
    {"14", "administrative correction"},
    {NULL, NULL},
};

/* WJ756 units of a volume (01-16 time, 82-84 output, money, effort). */
static const struct ijw_code wj756[] = {
    {"01", "minute"},          {"04", "hour"},  {"14", "etmaal (24 h)"},   {"16", "dagdeel (4 h)"},
    {"82", "pieces (output)"}, {"83", "euros"}, {"84", "pieces (effort)"}, {NULL, NULL},
};

/* WJ757 frequencies: the period a volume is counted over. */
static const struct ijw_code wj757[] = {
    {"1", "per day"},   {"2", "per week"},
    {"4", "per month"}, {"6", "total within the assignment's validity"},
    {NULL, NULL},
};

/*
 * Enum columns whose choices (schema.c) are the codes of an iJw list: the schema
 * refuses any other value, so these lists only give the meanings.
 */
static const struct {
	const char *table, *column;
	const struct ijw_code *codes;
} enum_codes[] = {
    {"care_assignment", "unit", wj756},
    {"care_assignment", "frequency", wj757},
};

/* Text columns whose value must come from a code list, or stay short. */
static const struct {
	const char *table, *column;
	const struct ijw_code *codes; /* NULL: only the length */
	size_t max;
	const char *rule;
} codes[] = {
    {"care_assignment", "product_category", jz020, 2,
     "must be an iJw JZ020 product category (31-38, 40-55)"},
    {"care_assignment", "product_code", NULL, 5, "must be at most 5 characters"},
    {"care_assignment", "end_reason", jz588, 2,
     "must be an iJw JZ588 reason care ended (02, 20, 31-39)"},
    {"care_assignment", "change_reason", jz002, 2,
     "must be an iJw JZ002 reason an assignment changed (02-14)"},
    {"goal", "description", NULL, 200, "must be at most 200 bytes (short; no diagnosis)"},
};

/* Reference columns that must name an organisation of one kind. */
static const struct {
	const char *table, *column, *kind;
} org_kinds[] = {
    {"arrangement", "municipality_org_id", "gemeente"},
    {"arrangement", "school_org_id", "school"},
    {"arrangement", "swv_org_id", "swv"},
    {"care_assignment", "provider_org_id", "provider"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The tables above by number: each entry's table (its number, -1 when the schema lacks
 * it) and columns (their index in the table's columns, -1 likewise), found by name once.
 * The checks run for every row a local write touches, and finding every name of every
 * entry again was most of their work.
 */
struct rule_at {
	int tno;
	int col[8];
};
static struct rule_at required_at[N(required)], ranges_at[N(ranges)], codes_at[N(codes)],
    dates_at[N(date_order)], org_kinds_at[N(org_kinds)];
static pthread_once_t rules_once = PTHREAD_ONCE_INIT;

/* e's table named table and its columns named cols[0..n) (NULL ends them early). */
static void
rule_find(struct rule_at *e, const char *table, const char *const *cols, size_t n)
{
	const struct schema_table *t = schema_table_find(table);

	e->tno = t != NULL ? (int)schema_no_of_table(t) : -1;
	for (size_t k = 0; k < N(e->col); k++)
		e->col[k] =
		    t != NULL && k < n && cols[k] != NULL ? schema_column_index(t, cols[k]) : -1;
}

static void
rules_index(void)
{
	for (size_t i = 0; i < N(required); i++)
		rule_find(&required_at[i], required[i].table, required[i].columns,
		          N(required[i].columns));
	for (size_t i = 0; i < N(ranges); i++)
		rule_find(&ranges_at[i], ranges[i].table, &ranges[i].column, 1);
	for (size_t i = 0; i < N(codes); i++)
		rule_find(&codes_at[i], codes[i].table, &codes[i].column, 1);
	for (size_t i = 0; i < N(date_order); i++) {
		const char *cols[2] = {date_order[i].first, date_order[i].second};

		rule_find(&dates_at[i], date_order[i].table, cols, 2);
	}
	for (size_t i = 0; i < N(org_kinds); i++)
		rule_find(&org_kinds_at[i], org_kinds[i].table, &org_kinds[i].column, 1);
}

/* The number of t, with the tables above indexed (once). */
static int
rules_tno(const struct schema_table *t)
{
	pthread_once(&rules_once, rules_index);
	return (int)schema_no_of_table(t);
}

/* The refusals of one row: up to max of them into why[]. */
struct judge {
	struct schema_refusal *why;
	size_t n, max;
};

/* Note a refusal; true when the judge has heard enough (stop judging). */
static bool
refuse(struct judge *j, const char *column, const struct value *v, const char *rule)
{
	if (j->n < j->max) {
		j->why[j->n].column = column;
		j->why[j->n].value = v;
		snprintf(j->why[j->n].rule, sizeof(j->why[j->n].rule), "%s", rule);
		j->n++;
	}
	return j->n >= j->max;
}

/* The value of column i (an index of rules_index()) in row, or NULL when t has none. */
static const struct value *
cell(const struct schema_table *t, const struct value *row, int i, const char **cname)
{
	if (i < 0)
		return NULL;
	*cname = t->columns[i].name;
	return &row[i];
}

static bool
code_listed(const struct ijw_code *list, const struct value *v)
{
	for (const struct ijw_code *p = list; p->code != NULL; p++)
		if (strlen(p->code) == v->u.b.len && memcmp(p->code, v->u.b.ptr, v->u.b.len) == 0)
			return true;
	return false;
}

/* The meaning of code in list, or NULL. */
static const char *
list_meaning(const struct ijw_code *list, const char *code)
{
	for (const struct ijw_code *p = list; p != NULL && p->code != NULL; p++)
		if (strcmp(p->code, code) == 0)
			return p->meaning;
	return NULL;
}

const char *
schema_rules_code_meaning(const struct schema_table *t, const char *column, const char *code)
{
	if (t == NULL || column == NULL || code == NULL)
		return NULL;
	for (size_t i = 0; i < N(codes); i++)
		if (strcmp(codes[i].table, t->name) == 0 && strcmp(codes[i].column, column) == 0)
			return list_meaning(codes[i].codes, code);
	for (size_t i = 0; i < N(enum_codes); i++)
		if (strcmp(enum_codes[i].table, t->name) == 0 &&
		    strcmp(enum_codes[i].column, column) == 0)
			return list_meaning(enum_codes[i].codes, code);
	return NULL;
}

/* Each check returns true when the judge has heard enough. */
static bool
check_required(const struct schema_table *t, int tno, const struct value *row, struct judge *j)
{
	const char *cname;

	for (size_t i = 0; i < N(required); i++) {
		if (required_at[i].tno != tno)
			continue;
		for (size_t k = 0; k < N(required[i].columns) && required[i].columns[k]; k++) {
			const struct value *v = cell(t, row, required_at[i].col[k], &cname);

			if (v != NULL &&
			    (v->kind == VALUE_NIL || (v->kind == VALUE_TEXT && v->u.b.len == 0)) &&
			    refuse(j, cname, NULL, "is required"))
				return true;
		}
	}
	return false;
}

static bool
check_values(const struct schema_table *t, int tno, const struct value *row, struct judge *j)
{
	const struct value *v;
	const char *cname;

	for (size_t i = 0; i < N(ranges); i++)
		if (ranges_at[i].tno == tno &&
		    (v = cell(t, row, ranges_at[i].col[0], &cname)) != NULL &&
		    v->kind == VALUE_INT && (v->u.i < ranges[i].min || v->u.i > ranges[i].max) &&
		    refuse(j, cname, v, ranges[i].rule))
			return true;
	for (size_t i = 0; i < N(codes); i++)
		if (codes_at[i].tno == tno &&
		    (v = cell(t, row, codes_at[i].col[0], &cname)) != NULL &&
		    v->kind == VALUE_TEXT &&
		    (v->u.b.len > codes[i].max ||
		     (codes[i].codes != NULL && !code_listed(codes[i].codes, v))) &&
		    refuse(j, cname, v, codes[i].rule))
			return true;
	return false;
}

static bool
check_dates(const struct schema_table *t, int tno, const struct value *row, struct judge *j)
{
	const char *first, *second;
	char rule[SCHEMA_RULE_MAX], q[SCHEMA_QUOTE_MAX];

	for (size_t i = 0; i < N(date_order); i++) {
		const struct value *a, *b;

		if (dates_at[i].tno != tno ||
		    (a = cell(t, row, dates_at[i].col[0], &first)) == NULL ||
		    (b = cell(t, row, dates_at[i].col[1], &second)) == NULL)
			continue;
		if (a->kind != VALUE_TEXT || b->kind != VALUE_TEXT || a->u.b.len != b->u.b.len)
			continue;
		if (memcmp(a->u.b.ptr, b->u.b.ptr, a->u.b.len) > 0) {
			schema_rules_quote(a, q, sizeof(q));
			snprintf(rule, sizeof(rule), "must not be before %s=%s", first, q);
			if (refuse(j, second, b, rule))
				return true;
		}
	}
	return false;
}

/* Every check of a row, until the judge has heard enough. */
static void
judge_row(const struct schema_table *t, const struct value *row, struct judge *j)
{
	int tno = rules_tno(t);

	if (!check_required(t, tno, row, j) && !check_values(t, tno, row, j))
		check_dates(t, tno, row, j);
}

int
schema_rules_row(const struct schema_table *t, const struct value *row, struct schema_refusal *why)
{
	struct judge j = {why, 0, 1};

	judge_row(t, row, &j);
	return j.n > 0 ? ARR_EINVAL : 0;
}

size_t
schema_rules_row_all(const struct schema_table *t, const struct value *row,
                     struct schema_refusal *why, size_t max)
{
	struct judge j = {why, 0, max};

	if (max > 0)
		judge_row(t, row, &j);
	return j.n;
}

/* Byte c of text as a refusal shows it, into e (at least 8 bytes); its length. */
static size_t
quote_byte(unsigned char c, char *e)
{
	if (c == '"' || c == '\\')
		return (size_t)snprintf(e, 8, "\\%c", c);
	if (c == '\n')
		return (size_t)snprintf(e, 8, "\\n");
	if (c == '\t')
		return (size_t)snprintf(e, 8, "\\t");
	if (c < 0x20 || c == 0x7f)
		return (size_t)snprintf(e, 8, "\\u%04x", c);
	if (c >= 0x80)
		return (size_t)snprintf(e, 8, "\\x%02x", c);
	e[0] = (char)c;
	return 1;
}

void
schema_rules_quote(const struct value *v, char *buf, size_t size)
{
	const unsigned char *p;
	size_t len = 0, i = 0, n;
	bool utf8;

	if (v == NULL || (v->kind != VALUE_TEXT && v->kind != VALUE_INT)) {
		snprintf(buf, size, "null");
		return;
	}
	if (v->kind == VALUE_INT) {
		snprintf(buf, size, "%lld", (long long)v->u.i);
		return;
	}
	p = (const unsigned char *)v->u.b.ptr;
	n = v->u.b.len;
	utf8 = utf8_valid(p, n);
	buf[len++] = '"';
	for (size_t chars = 0; i < n && chars < SCHEMA_QUOTE_CHARS; chars++) {
		char e[8];
		size_t k, step = 1;

		if (utf8 && p[i] >= 0x80) { /* a whole character, as it is */
			k = step = utf8_decode(p + i, n - i, NULL);
			memcpy(e, p + i, k);
		} else {
			k = quote_byte(p[i], e);
		}
		if (len + k + 5 > size) /* the closing quote, "..." and the NUL */
			break;
		memcpy(buf + len, e, k);
		len += k;
		i += step;
	}
	snprintf(buf + len, size - len, "\"%s", i < n ? "..." : "");
}

const char *
schema_rules_org_kind(const struct schema_table *t, const struct schema_column *c)
{
	int tno = t != NULL ? rules_tno(t) : -1;

	for (size_t i = 0; t != NULL && c != NULL && i < N(org_kinds); i++)
		if (org_kinds_at[i].tno == tno && org_kinds_at[i].col[0] == c - t->columns)
			return org_kinds[i].kind;
	return NULL;
}

bool
schema_rules_status_reachable(const char *status)
{
	const struct schema_column *c =
	    schema_column_find(schema_table_find("arrangement"), "status");
	bool seen[32] = {false};
	size_t n = 0, grew = 1;

	for (n = 0; c->choices[n] != NULL && n < N(seen); n++)
		seen[n] = strcmp(c->choices[n], "draft") == 0;
	while (grew) { /* the closure of draft under the lifecycle's edges */
		grew = 0;
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < n && seen[i]; k++)
				if (!seen[k] &&
				    schema_status_transition_ok(c->choices[i], c->choices[k])) {
					seen[k] = true;
					grew = 1;
				}
	}
	for (size_t i = 0; i < n; i++)
		if (seen[i] && status != NULL && strcmp(c->choices[i], status) == 0)
			return true;
	return false;
}

int
schema_rules_status(const char *from, const char *to, struct schema_refusal *why)
{
	const struct schema_column *c =
	    schema_column_find(schema_table_find("arrangement"), "status");
	size_t len = 0;

	why->column = "status";
	why->value = NULL; /* the rule names the statuses */
	if (from == NULL) {
		if (schema_rules_status_reachable(to))
			return 0;
		snprintf(why->rule, sizeof(why->rule), "%s is not reached from draft", to);
		return ARR_ESTATE;
	}
	if (strcmp(from, to) == 0 || schema_status_transition_ok(from, to))
		return 0;
	len = (size_t)snprintf(why->rule, sizeof(why->rule),
	                       "cannot change from %s to %s (allowed: ", from, to);
	for (const char *const *p = c->choices; *p != NULL && len < sizeof(why->rule); p++)
		if (schema_status_transition_ok(from, *p))
			len += (size_t)snprintf(why->rule + len, sizeof(why->rule) - len, "%s%s",
			                        why->rule[len - 1] == ' ' ? "" : ", ", *p);
	if (len < sizeof(why->rule))
		snprintf(why->rule + len, sizeof(why->rule) - len, "%s)",
		         why->rule[len - 1] == ' ' ? "none" : "");
	return ARR_ESTATE;
}
