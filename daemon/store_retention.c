/*
 * store_retention.c: due dates of the retention periods (store_retention.h). For the
 * kinds counted from the end of the care (school, swv, gemeente) the period starts on
 * the arrangement's end_on (or a care assignment's later valid_to), or else, once its
 * status is ended, archived, withdrawn or rejected, on the day that status was set; a
 * running arrangement has no due date for them. For a provider (Jeugdwet art. 7.3.8) it
 * starts on the dossier's last change: the newest op on the arrangement or any row that
 * hangs off it. It reads through the store's public reads only and changes nothing:
 * acting on a due date needs erasure, which is not here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrerr.h"
#include "hlc.h"
#include "schema.h"
#include "store_retention.h"

/* Rows hanging off one arrangement whose history is read; past it, the rest is not. */
#define RET_HANGING_MAX 4096

enum { K_PROVIDER, K_SCHOOL, K_SWV, K_GEMEENTE, K_N };
static const char *const kind_names[K_N] = {"provider", "school", "swv", "gemeente"};

/* What one arrangement row says, and what was found about it. */
struct ret_arr {
	char id[ARR_ROWID_STRLEN + 1];
	char end_on[11];
	char status[16];
	char orgs[4][ARR_ROWID_STRLEN + 1]; /* lead, municipality, school, swv */
	bool kinds[K_N];
	char care_to[11];        /* the latest care_assignment valid_to */
	uint64_t last_change_ms; /* newest op on it or a row hanging off it */
	uint64_t status_ms;      /* newest op on its status */
};

static const char *const org_cols[4] = {"lead_org_id", "municipality_org_id", "school_org_id",
                                        "swv_org_id"};

struct ret_ids;

struct ret_ctx {
	struct store *s;
	struct ret_arr *arrs;
	size_t n, cap;
	struct ret_arr *cur;
	const char *table; /* the table being read */
	struct ret_ids *ids;
	int rc;
};

/* Copy a text value of at most cap - 1 bytes into out (else leave it empty). */
static void
ret_text(const struct value *v, char *out, size_t cap)
{
	if (v->kind == VALUE_TEXT && v->u.b.len < cap) {
		memcpy(out, v->u.b.ptr, v->u.b.len);
		out[v->u.b.len] = '\0';
	}
}

/* store_row_fn: the kind of an organisation into the current arrangement's kinds. */
static int
ret_org_kind(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct ret_arr *a = ctx;
	char kind[16] = "";

	for (size_t i = 0; i < ncols; i++)
		if (strcmp(names[i], "kind") == 0)
			ret_text(&values[i], kind, sizeof(kind));
	for (int k = 0; k < K_N; k++)
		if (strcmp(kind, kind_names[k]) == 0)
			a->kinds[k] = true;
	return 0;
}

/* Look up the organisation id (empty: none) for its kind. */
static void
ret_org(struct ret_ctx *c, const char *id)
{
	if (id[0] != '\0')
		(void)store_get(c->s, "organisation", id, ret_org_kind, c->cur);
}

/* store_row_fn: one arrangement row into c->arrs. */
static int
ret_arrangement(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct ret_ctx *c = ctx;
	struct ret_arr *a;

	if (c->n == c->cap) {
		size_t cap = c->cap > 0 ? 2 * c->cap : 64;
		struct ret_arr *p = realloc(c->arrs, cap * sizeof(*p));

		if (p == NULL)
			return c->rc = ARR_ENOMEM;
		c->arrs = p;
		c->cap = cap;
	}
	a = &c->arrs[c->n++];
	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < ncols; i++) {
		if (strcmp(names[i], "id") == 0)
			ret_text(&values[i], a->id, sizeof(a->id));
		else if (strcmp(names[i], "end_on") == 0)
			ret_text(&values[i], a->end_on, sizeof(a->end_on));
		else if (strcmp(names[i], "status") == 0)
			ret_text(&values[i], a->status, sizeof(a->status));
		for (size_t k = 0; k < 4; k++)
			if (strcmp(names[i], org_cols[k]) == 0)
				ret_text(&values[i], a->orgs[k], sizeof(a->orgs[k]));
	}
	return 0;
}

/* Ids of the rows hanging off the current arrangement, whose history is read after. */
struct ret_ids {
	const char *table[RET_HANGING_MAX];
	char id[RET_HANGING_MAX][ARR_ROWID_STRLEN + 1];
	size_t n;
	char org[RET_HANGING_MAX][ARR_ROWID_STRLEN + 1]; /* organisations they name */
	size_t norg;
	bool over; /* more rows than RET_HANGING_MAX: the newest change may be missed */
};

/* store_row_fn: a row hanging off the current arrangement (party, care, ...). */
static int
ret_hanging(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct ret_ctx *c = ctx;

	for (size_t i = 0; i < ncols; i++) {
		/* looked up after the read: a nested read would reuse the values' memory */
		if ((strcmp(names[i], "org_id") == 0 || strcmp(names[i], "provider_org_id") == 0) &&
		    c->ids->norg < RET_HANGING_MAX) {
			c->ids->org[c->ids->norg][0] = '\0';
			ret_text(&values[i], c->ids->org[c->ids->norg++], sizeof(c->ids->org[0]));
		} else if (strcmp(names[i], "valid_to") == 0) {
			char to[11] = "";

			ret_text(&values[i], to, sizeof(to));
			if (strcmp(to, c->cur->care_to) > 0)
				memcpy(c->cur->care_to, to, sizeof(to));
		}
	}
	if (c->ids->n < RET_HANGING_MAX) {
		c->ids->table[c->ids->n] = c->table;
		c->ids->id[c->ids->n][0] = '\0';
		ret_text(&values[0], c->ids->id[c->ids->n], sizeof(c->ids->id[0]));
		c->ids->n++;
	} else {
		c->ids->over = true;
	}
	return 0;
}

/* store_history_fn: the newest op, and the newest on status for the arrangement row. */
static int
ret_hist(void *ctx, const struct store_history_entry *e)
{
	struct ret_ctx *c = ctx;
	uint64_t ms = hlc_ms(e->hlc);

	if (ms > c->cur->last_change_ms)
		c->cur->last_change_ms = ms;
	if (c->table != NULL && strcmp(c->table, "arrangement") == 0 &&
	    strcmp(e->column, "status") == 0 && ms > c->cur->status_ms)
		c->cur->status_ms = ms;
	return 0;
}

/* Every table with an arrangement_id column. */
static bool
ret_hangs_off(const struct schema_table *t)
{
	return schema_column_find(t, "arrangement_id") != NULL;
}

/* The organisations, care end and change times of arrangement a. */
static int
ret_study(struct ret_ctx *c, struct ret_arr *a, struct ret_ids *ids)
{
	struct store_filter f = {.column = "arrangement_id", .value = value_text(a->id)};
	int rc = 0;

	c->cur = a;
	c->ids = ids;
	ids->n = 0;
	ids->norg = 0;
	ids->over = false;
	for (size_t i = 0; i < 4; i++)
		ret_org(c, a->orgs[i]);
	for (size_t k = 0; k < schema_table_count() && rc == 0; k++) {
		if (!ret_hangs_off(schema_table_at(k)))
			continue;
		c->table = schema_table_at(k)->name;
		rc = store_list(c->s, c->table, &f, 1, NULL, 0, ret_hanging, c);
	}
	for (size_t i = 0; i < ids->norg && rc == 0; i++)
		ret_org(c, ids->org[i]);
	c->table = "arrangement";
	if (rc == 0 &&
	    (rc = store_history(c->s, "arrangement", a->id, NULL, ret_hist, c)) == ARR_ENOTFOUND)
		rc = 0;
	for (size_t i = 0; i < ids->n && rc == 0; i++) {
		c->table = ids->table[i];
		if ((rc = store_history(c->s, ids->table[i], ids->id[i], NULL, ret_hist, c)) ==
		    ARR_ENOTFOUND)
			rc = 0;
	}
	return rc != 0 ? rc : c->rc;
}

int
store_retention_add_years(const char *date, uint32_t years, char out[11])
{
	unsigned y, m, d;
	char tail;

	if (date == NULL || strlen(date) != 10 ||
	    sscanf(date, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 ||
	    d > 31 || y + years > 9999)
		return -1;
	y += years;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		d = 28;
	snprintf(out, 11, "%04u-%02u-%02u", y, m, d);
	return 0;
}

int
store_retention_add_days(const char *date, int days, char out[11])
{
	struct tm tm = {0};
	char check[11];
	time_t t;

	if (store_retention_add_years(date, 0, check) != 0 || strcmp(check, date) != 0 ||
	    sscanf(date, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	/* a day the month does not have (2021-02-30) comes back as another date */
	if ((t = timegm(&tm)) == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
	    strftime(check, sizeof(check), "%Y-%m-%d", &tm) != 10 || strcmp(check, date) != 0)
		return -1;
	t += (time_t)days * 86400;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return -1;
	strftime(out, 11, "%Y-%m-%d", &tm);
	return 0;
}

/* ms since the epoch as a UTC date. */
static void
ret_date(uint64_t ms, char out[11])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* When the end-counted period of a starts, and by which rule; false while it runs. */
static bool
ret_end(const struct ret_arr *a, char from[11], const char **rule)
{
	static const char *const over[] = {"ended", "archived", "withdrawn", "rejected"};

	if (a->end_on[0] != '\0') {
		bool care = strcmp(a->care_to, a->end_on) > 0;

		memcpy(from, care ? a->care_to : a->end_on, 11);
		*rule = care ? "care_assignment valid_to after end_on" : "end_on";
		return true;
	}
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++)
		if (strcmp(a->status, over[i]) == 0 && a->status_ms > 0) {
			ret_date(a->status_ms, from);
			*rule = i == 0   ? "status ended"
			        : i == 1 ? "status archived"
			        : i == 2 ? "status withdrawn"
			                 : "status rejected";
			return true;
		}
	return false;
}

/* Emit a's due dates, one per kind involved. */
static int
ret_emit(const struct ret_arr *a, const struct store_retention_years *y, const char *today,
         store_retention_fn fn, void *ctx)
{
	const uint32_t years[K_N] = {y->provider, y->school, y->swv, y->gemeente};
	char end_from[11] = "", change_from[11] = "";
	const char *end_rule = NULL;
	bool ended = ret_end(a, end_from, &end_rule);
	int rc = 0, involved = 0;

	for (int k = 0; k < K_N; k++)
		involved += a->kinds[k];
	if (a->last_change_ms > 0)
		ret_date(a->last_change_ms, change_from);
	for (int k = 0; k < K_N && rc == 0; k++) {
		struct store_retention_item it = {
		    .arrangement = a->id, .kind = kind_names[k], .involved = involved};
		const char *from = k == K_PROVIDER ? change_from : end_from;

		if (!a->kinds[k] || (k != K_PROVIDER && !ended) || from[0] == '\0')
			continue;
		it.rule = k == K_PROVIDER ? "last change (Jeugdwet art. 7.3.8)" : end_rule;
		memcpy(it.from_on, from, sizeof(it.from_on));
		if (store_retention_add_years(from, years[k], it.due_on) != 0)
			continue; /* a stored date that is no date: nothing to count from */
		it.due = strcmp(it.due_on, today) <= 0;
		rc = fn(ctx, &it);
	}
	return rc;
}

int
store_retention_due(struct store *s, const struct store_retention_years *y, const char *today,
                    store_retention_fn fn, void *ctx)
{
	struct ret_ctx c = {.s = s};
	struct ret_ids *ids = calloc(1, sizeof(*ids));
	int rc = ARR_ENOMEM;

	if (ids == NULL)
		goto out;
	if ((rc = store_list(s, "arrangement", NULL, 0, NULL, 0, ret_arrangement, &c)) == 0)
		rc = c.rc;
	for (size_t i = 0; i < c.n && rc == 0; i++)
		if ((rc = ret_study(&c, &c.arrs[i], ids)) == 0)
			rc = ret_emit(&c.arrs[i], y, today, fn, ctx);
out:
	free(ids);
	free(c.arrs);
	return rc < 0 ? rc : 0;
}
