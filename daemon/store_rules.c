/*
 * store_rules.c: the domain rules of schema_rules.h on every row a local write touches,
 * judged on the row as it is after the write: store_write_rows() calls it inside the
 * write's transaction once its change sets are merged, so a refusal rolls all of it
 * back. References must name a visible row (and an organisation of the right kind).
 * The status a row had before the write is read first (store_rules_before). Remote
 * change sets never come here: they are merged as received (store_apply.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "rowid.h"
#include "schema_rules.h"
#include "store_int.h"

/* Is op i on the same row as op i - 1? Then its row was judged already. */
static bool
same_row(const struct store_op *ops, size_t i)
{
	return i > 0 && strcmp(ops[i].table, ops[i - 1].table) == 0 &&
	       strcmp(ops[i].row_id, ops[i - 1].row_id) == 0;
}

/* Step tb's get for row id: true with the statement on the row, false when none. */
static bool
row_find(struct store_table *tb, const char *id)
{
	sqlite3_reset(tb->get);
	sqlite3_bind_text(tb->get, 1, id, -1, SQLITE_STATIC);
	return sqlite3_step(tb->get) == SQLITE_ROW;
}

static void
row_done(struct store_table *tb)
{
	sqlite3_reset(tb->get);
	sqlite3_clear_bindings(tb->get);
}

static bool
is_status_op(const struct store_op *op)
{
	return strcmp(op->table, "arrangement") == 0 && strcmp(op->column, "status") == 0;
}

int
store_rules_before(struct store *s, const struct store_op *ops, size_t nops, char ***old)
{
	struct store_table *tb = &s->tables[store_db_table_index("arrangement")];
	int col = schema_column_index(tb->t, "status") + 1;

	*old = NULL;
	for (size_t i = 0; i < nops; i++) {
		const unsigned char *text;

		if (!is_status_op(&ops[i]))
			continue;
		if (*old == NULL && (*old = calloc(nops, sizeof(**old))) == NULL)
			return ARR_ENOMEM;
		if (row_find(tb, ops[i].row_id) &&
		    (text = sqlite3_column_text(tb->get, col)) != NULL &&
		    ((*old)[i] = strdup((const char *)text)) == NULL) {
			row_done(tb);
			return ARR_ENOMEM;
		}
		row_done(tb);
	}
	return 0;
}

void
store_rules_free(char **old, size_t nops)
{
	for (size_t i = 0; old != NULL && i < nops; i++)
		free(old[i]);
	free(old);
}

/* Does the reference v of column c name a visible row (an organisation of its kind)? */
static bool
ref_ok(struct store *s, const struct schema_table *t, const struct schema_column *c,
       const struct value *v)
{
	struct store_table *rt = &s->tables[store_db_table_index(c->ref_table)];
	const char *kind = schema_rules_org_kind(t, c);
	char id[ARR_ROWID_STRLEN + 1];
	bool ok;

	if (v->u.b.len != ARR_ROWID_STRLEN)
		return false;
	memcpy(id, v->u.b.ptr, ARR_ROWID_STRLEN);
	id[ARR_ROWID_STRLEN] = '\0';
	ok = row_find(rt, id);
	if (ok && kind != NULL) {
		const unsigned char *k =
		    sqlite3_column_text(rt->get, schema_column_index(rt->t, "kind") + 1);

		ok = k != NULL && strcmp((const char *)k, kind) == 0;
	}
	row_done(rt);
	return ok;
}

/* The references of a row (values borrowed from its table's get). */
static int
check_refs(struct store *s, const struct schema_table *t, const struct value *row,
           struct schema_refusal *why)
{
	for (size_t c = 0; c < t->ncolumns; c++) {
		const struct schema_column *col = &t->columns[c];
		const char *kind;

		if (col->type != SCHEMA_REF || row[c].kind != VALUE_TEXT ||
		    ref_ok(s, t, col, &row[c]))
			continue;
		why->column = col->name;
		kind = schema_rules_org_kind(t, col);
		if (kind != NULL)
			snprintf(why->rule, sizeof(why->rule),
			         "must name an existing organisation of kind %s", kind);
		else
			snprintf(why->rule, sizeof(why->rule), "must name an existing %s",
			         col->ref_table);
		return ARR_EINVAL;
	}
	return 0;
}

/* The status of the row against what it was before the write (status ops from i on). */
static int
check_status(const struct store_op *ops, size_t i, size_t nops, char **old, const char *now,
             struct schema_refusal *why, size_t *bad)
{
	int rc;

	for (size_t k = i; k < nops && (k == i || same_row(ops, k)); k++) {
		if (!is_status_op(&ops[k]) || now == NULL)
			continue;
		*bad = k;
		if ((rc = schema_rules_status(old != NULL ? old[k] : NULL, now, why)) < 0)
			return rc;
	}
	return 0;
}

/* The op of the run from i that sets column (the first op of the run if none). */
static size_t
op_of(const struct store_op *ops, size_t i, size_t nops, const char *column)
{
	for (size_t k = i; k < nops && (k == i || same_row(ops, k)); k++)
		if (strcmp(ops[k].column, column) == 0)
			return k;
	return i;
}

/* The row of op i, as it is now, against every rule. */
static int
check_row(struct store *s, const struct store_op *ops, size_t i, size_t nops, char **old,
          struct store_write_result *r)
{
	struct store_table *tb = &s->tables[store_db_table_index(ops[i].table)];
	const struct schema_table *t = tb->t;
	struct schema_refusal why = {NULL, ""};
	const char *status = NULL;
	int rc = 0;

	if (!row_find(tb, ops[i].row_id))
		goto out; /* deleted by this write: no rules for what is gone */
	for (size_t c = 0; c + 1 < t->ncolumns; c++)
		s->scratch[c] = store_db_column_value(tb->get, (int)c + 1);
	s->scratch[t->ncolumns - 1] = value_nil();
	r->bad_op = i;
	if ((rc = schema_rules_row(t, s->scratch, &why)) < 0 ||
	    (rc = check_refs(s, t, s->scratch, &why)) < 0) {
		r->bad_op = op_of(ops, i, nops, why.column);
		goto out;
	}
	if (strcmp(t->name, "arrangement") == 0)
		status = (const char *)sqlite3_column_text(tb->get,
		                                           schema_column_index(t, "status") + 1);
	rc = check_status(ops, i, nops, old, status, &why, &r->bad_op);
out:
	if (rc < 0)
		snprintf(r->refusal, sizeof(r->refusal), "%s.%s %s", t->name, why.column, why.rule);
	row_done(tb);
	return rc;
}

int
store_rules_check(struct store *s, const struct store_op *ops, size_t nops, char **old,
                  struct store_write_result *r)
{
	int rc;

	for (size_t i = 0; i < nops; i++)
		if (!same_row(ops, i) && (rc = check_row(s, ops, i, nops, old, r)) < 0)
			return rc;
	r->bad_op = 0;
	return 0;
}
