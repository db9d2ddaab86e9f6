/*
 * store_rules.c: the domain rules of schema_rules.h on every row a local write touches,
 * judged on the row as it is after the write: store_write_rows() calls it inside the
 * write's transaction once its change sets are merged, so a refusal rolls all of it
 * back. References must name a visible row (and an organisation of the right kind).
 * Remote change sets never come here: they are merged as received (store_apply.c).
 *
 * What it remembers for the length of one write (struct store_rules_memo): the rows the
 * merge touched (store_rules_touch), whether each was new and, for an arrangement that
 * existed, its status before the write; and the rows found visible after the write,
 * with their kind, so that the thousands of references to one organisation cost one
 * lookup. A new row whose ops are one run of the write is judged from its ops: it holds
 * nothing else, so it is not read back.
 *
 * store_rules_judge() judges one stored row by the same checks without writing: what
 * `show` flags in rows that came from peers, which merge without these rules.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "rowid.h"
#include "schema_no.h"
#include "schema_rules.h"
#include "store_int.h"
#include "store_rules_memo.h"

/*
 * Id texts referenced lately, with their bytes: references name the same few rows
 * (organisations, the arrangement of the rows after it) again and again, and parsing
 * every one was a third of checking them. Direct-mapped by the text's last digits.
 */
#define MEMO_TEXTS_BITS 8
#define MEMO_TEXTS      (1u << MEMO_TEXTS_BITS)
struct memo_text {
	char text[ARR_ROWID_STRLEN];
	uint8_t row[ARR_ROWID_LEN];
	bool set;
};

#define MEMO_REACHED 16 /* statuses remembered as reached from draft */
#define MEMO_KIND    24 /* the longest status remembered as reached, with its NUL */

struct store_rules_memo {
	struct memo_tab rows; /* touched by the merge or found visible */
	bool status;          /* the write sets an arrangement's status */
	int arr;              /* the table index of arrangement */
	int status_col;       /* the index of arrangement.status in its columns */
	unsigned status_no;   /* and its number (schema_no.h) */
	/* per table index: the index of its kind column, -1 without (found once, not per row) */
	signed char kind[SCHEMA_NO_ONE_BYTE];
	struct memo_text texts[MEMO_TEXTS];
	/*
	 * statuses a new arrangement of this write was found to reach from draft: the
	 * lifecycle's closure (schema_rules_status) is walked once per status, not per row
	 * (it was a tenth of an import)
	 */
	char reached[MEMO_REACHED][MEMO_KIND];
	size_t nreached;
};

/* Is op i on the same row as op i - 1 (by numbers and bytes)? Then it is of the same run. */
static bool
same_row(const struct cs_op *cops, size_t i)
{
	return i > 0 && cops[i].tno == cops[i - 1].tno &&
	       memcmp(cops[i].row, cops[i - 1].row, ARR_ROWID_LEN) == 0;
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
is_status_op(const struct store_rules_memo *m, const struct cs_op *op)
{
	return op->tno == m->arr && op->cno == m->status_no;
}

/* A new memo, with the columns the rules read found by name. NULL: no memory. */
static struct store_rules_memo *
memo_new(void)
{
	struct store_rules_memo *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->arr = store_db_table_index("arrangement");
	m->status_col = schema_column_index(schema_table_at((size_t)m->arr), "status");
	m->status_no =
	    schema_no_of_column(schema_table_at((size_t)m->arr),
	                        &schema_table_at((size_t)m->arr)->columns[m->status_col]);
	for (size_t i = 0; i < schema_table_count(); i++)
		m->kind[i] = (signed char)schema_column_index(schema_table_at(i), "kind");
	return m;
}

int
store_rules_before(struct store *s, const struct cs_op *cops, size_t nops,
                   struct store_rules_memo **m)
{
	size_t runs = 0;

	if ((*m = memo_new()) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < nops && !(*m)->status; i++)
		(*m)->status = is_status_op(*m, &cops[i]);
	/* the rows the merge will touch, at most: sized once, not grown and rehashed */
	for (size_t i = 0; i < nops; i++)
		runs += !same_row(cops, i);
	s->rules_memo = *m;
	return runs > 512 ? store_rules_memo_grow(&(*m)->rows, runs) : 0;
}

int
store_rules_touch(struct store *s, int ti, const uint8_t row[ARR_ROWID_LEN], const char *id,
                  bool inserted)
{
	struct store_rules_memo *m = s->rules_memo;
	struct store_table *tb = &s->tables[ti];
	struct memo_ent *e;
	const unsigned char *text;
	int ret = 0;

	if ((e = store_rules_memo_get(&m->rows, ti, row, true)) == NULL)
		return ARR_ENOMEM;
	if (e->flags & MEMO_TOUCH) {
		e->flags |= MEMO_AGAIN;
		return 0;
	}
	e->flags |= MEMO_TOUCH | (inserted ? MEMO_FRESH : 0);
	if (inserted || !m->status || ti != m->arr)
		return 0;
	/* an arrangement that existed, before its first change of this write */
	if (row_find(tb, id) && (text = sqlite3_column_text(tb->get, m->status_col + 1)) != NULL &&
	    (e->old = strdup((const char *)text)) == NULL)
		ret = ARR_ENOMEM;
	row_done(tb);
	return ret;
}

void
store_rules_free(struct store *s, struct store_rules_memo **m)
{
	if (*m == NULL)
		return;
	for (size_t i = 0; i < (*m)->rows.cap; i++)
		free((*m)->rows.e[i].old);
	free((*m)->rows.e);
	free(*m);
	*m = NULL;
	s->rules_memo = NULL;
}

/*
 * 1 + the index of kind among the choices of table ti's kind column; 0 for another value
 * (one of a newer schema, say: a row with it is read again when its kind is asked).
 */
static uint8_t
kind_no(const struct store_rules_memo *m, int ti, const struct value *kind)
{
	const struct schema_column *c = &schema_table_at((size_t)ti)->columns[m->kind[ti]];

	if (kind->kind != VALUE_TEXT || c->choices == NULL)
		return 0;
	for (size_t i = 0; c->choices[i] != NULL && i < UINT8_MAX; i++)
		if (strlen(c->choices[i]) == kind->u.b.len &&
		    memcmp(c->choices[i], kind->u.b.ptr, kind->u.b.len) == 0)
			return (uint8_t)(i + 1);
	return 0;
}

/* The kind e was seen with, or NULL when not known. */
static const char *
kind_name(const struct store_rules_memo *m, const struct memo_ent *e)
{
	int ti = e->ti1 - 1;

	if (e->kind == 0 || m->kind[ti] < 0)
		return NULL;
	return schema_table_at((size_t)ti)->columns[m->kind[ti]].choices[e->kind - 1];
}

/* Remember that the row of e (of table ti) is visible after the write, with its kind. */
static void
memo_seen(const struct store_rules_memo *m, struct memo_ent *e, int ti, const struct value *kind)
{
	if (e->flags & MEMO_SEEN)
		return;
	e->flags |= MEMO_SEEN;
	e->kind = kind != NULL ? kind_no(m, ti, kind) : 0;
}

/* The value of table ti's kind column in a row of values, or NULL if it has none. */
static const struct value *
kind_of(const struct store_rules_memo *m, int ti, const struct value *row)
{
	int k = m->kind[ti];

	return k >= 0 ? &row[k] : NULL;
}

/*
 * Does the reference v of column c name a visible row (an organisation of its kind)?
 * -1 when memory ran out remembering it.
 */
static int
ref_ok(struct store *s, const struct schema_table *t, const struct schema_column *c,
       const struct value *v)
{
	struct store_rules_memo *m = s->rules_memo;
	int ti = store_db_table_index(c->ref_table);
	struct store_table *rt = &s->tables[ti];
	const char *kind = schema_rules_org_kind(t, c);
	struct memo_ent *e = NULL;
	struct memo_text *l;
	char id[ARR_ROWID_STRLEN + 1];
	uint8_t row[ARR_ROWID_LEN];
	uint64_t tail;
	bool keyed = true;
	int k, ok;

	if (v->u.b.len != ARR_ROWID_STRLEN)
		return 0;
	memcpy(id, v->u.b.ptr, ARR_ROWID_STRLEN);
	id[ARR_ROWID_STRLEN] = '\0';
	memcpy(&tail, id + ARR_ROWID_STRLEN - sizeof(tail), sizeof(tail));
	l = &m->texts[(tail * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - MEMO_TEXTS_BITS)];
	/* one text form per id (rowid.h): its bytes are the key; another text names no row */
	if (l->set && memcmp(l->text, id, ARR_ROWID_STRLEN) == 0) {
		memcpy(row, l->row, ARR_ROWID_LEN);
	} else if ((keyed = rowid_parsen(id, ARR_ROWID_STRLEN, row) == 0)) {
		memcpy(l->text, id, ARR_ROWID_STRLEN);
		memcpy(l->row, row, ARR_ROWID_LEN);
		l->set = true;
	}
	if (keyed && (e = store_rules_memo_get(&m->rows, ti, row, false)) != NULL &&
	    (e->flags & MEMO_SEEN) && (kind == NULL || e->kind != 0))
		return kind == NULL || strcmp(kind_name(m, e), kind) == 0;
	if (!row_find(rt, id)) {
		row_done(rt);
		return 0;
	}
	ok = 1;
	if (kind != NULL) {
		const unsigned char *kt = sqlite3_column_text(rt->get, m->kind[ti] + 1);

		ok = kt != NULL && strcmp((const char *)kt, kind) == 0;
	}
	if (keyed && (e = store_rules_memo_get(&m->rows, ti, row, true)) == NULL) {
		ok = -1;
	} else if (keyed && (k = m->kind[ti]) >= 0) {
		struct value kv = store_db_column_value(rt->get, k + 1);

		memo_seen(m, e, ti, &kv);
	} else if (keyed) {
		memo_seen(m, e, ti, NULL);
	}
	row_done(rt);
	return ok;
}

/*
 * The references of a row (values borrowed from its table's get or the write's ops),
 * from column *from on: the first refused into *why (ARR_EINVAL, *from past it), or 0
 * when none is.
 */
static int
check_refs_from(struct store *s, const struct schema_table *t, const struct value *row,
                size_t *from, struct schema_refusal *why)
{
	for (size_t c = *from; c < t->ncolumns; c++) {
		const struct schema_column *col = &t->columns[c];
		const char *kind;
		int ok;

		if (col->type != SCHEMA_REF || row[c].kind != VALUE_TEXT ||
		    (ok = ref_ok(s, t, col, &row[c])) > 0)
			continue;
		if (ok < 0)
			return ARR_ENOMEM;
		why->column = col->name;
		why->value = &row[c];
		kind = schema_rules_org_kind(t, col);
		if (kind != NULL)
			snprintf(why->rule, sizeof(why->rule),
			         "must name an existing organisation of kind %s", kind);
		else
			snprintf(why->rule, sizeof(why->rule), "must name an existing %s",
			         col->ref_table);
		*from = c + 1;
		return ARR_EINVAL;
	}
	*from = t->ncolumns;
	return 0;
}

static int
check_refs(struct store *s, const struct schema_table *t, const struct value *row,
           struct schema_refusal *why)
{
	size_t from = 0;

	return check_refs_from(s, t, row, &from, why);
}

/*
 * The arrangement_id of row id of table (NUL-terminated, into arr); false when there
 * is no such visible row or it names none.
 */
static bool
arrangement_of(struct store *s, const char *table, const struct value *id,
               char arr[ARR_ROWID_STRLEN + 1])
{
	struct store_table *tb = &s->tables[store_db_table_index(table)];
	char key[ARR_ROWID_STRLEN + 1];
	const unsigned char *text;
	bool ok = false;

	if (id->kind != VALUE_TEXT || id->u.b.len != ARR_ROWID_STRLEN)
		return false;
	memcpy(key, id->u.b.ptr, ARR_ROWID_STRLEN);
	key[ARR_ROWID_STRLEN] = '\0';
	if (row_find(tb, key) &&
	    (text = sqlite3_column_text(tb->get, schema_column_index(tb->t, "arrangement_id") +
	                                             1)) != NULL &&
	    strlen((const char *)text) == ARR_ROWID_STRLEN) {
		memcpy(arr, text, ARR_ROWID_STRLEN + 1);
		ok = true;
	}
	row_done(tb);
	return ok;
}

/*
 * One child, one plan: what an evaluation records for a goal is about a goal of the
 * arrangement that evaluation belongs to (both references exist by now).
 */
static int
check_plan(struct store *s, const struct schema_table *t, const struct value *row,
           struct schema_refusal *why)
{
	char goal_arr[ARR_ROWID_STRLEN + 1], eval_arr[ARR_ROWID_STRLEN + 1];
	int g, e;

	/* the table first: looking its columns up for every row was most of this check */
	if (strcmp(t->name, "goal_evaluation") != 0 ||
	    (g = schema_column_index(t, "goal_id")) < 0 ||
	    (e = schema_column_index(t, "evaluation_id")) < 0)
		return 0;
	if (!arrangement_of(s, "goal", &row[g], goal_arr) ||
	    !arrangement_of(s, "evaluation", &row[e], eval_arr) || strcmp(goal_arr, eval_arr) == 0)
		return 0;
	why->column = t->columns[g].name;
	why->value = &row[g];
	snprintf(why->rule, sizeof(why->rule),
	         "must name a goal of the arrangement of its evaluation_id");
	return ARR_EINVAL;
}

/* The refusal as the writer reads it: "table.column=value rule" (value shortened). */
static void
store_rules_word(char *buf, size_t size, const struct schema_table *t,
                 const struct schema_refusal *why)
{
	char q[SCHEMA_QUOTE_MAX];

	if (why->value != NULL)
		schema_rules_quote(why->value, q, sizeof(q));
	/* a refusal longer than buf is cut short: it is a message, not a key */
	sqlite3_snprintf((int)size, buf, "%s.%s%s%s %s", t->name, why->column,
	                 why->value != NULL ? "=" : "", why->value != NULL ? q : "", why->rule);
}

/* Whether m remembers status as reached from draft. */
static bool
reached_known(const struct store_rules_memo *m, const char *status)
{
	for (size_t i = 0; i < m->nreached; i++)
		if (strcmp(m->reached[i], status) == 0)
			return true;
	return false;
}

/*
 * The status of the row against what it was before the write (the status ops of the
 * run). A new row's status (no old one) is judged by the status alone.
 */
static int
check_status(struct store_rules_memo *m, const struct cs_op *cops, size_t i, size_t j,
             const char *old, const char *now, struct schema_refusal *why, size_t *bad)
{
	size_t len;
	int rc;

	for (size_t k = i; k < j; k++) {
		if (now == NULL || !is_status_op(m, &cops[k]))
			continue;
		*bad = k;
		if (old == NULL && reached_known(m, now))
			continue;
		if ((rc = schema_rules_status(old, now, why)) < 0)
			return rc;
		if (old == NULL && m->nreached < MEMO_REACHED && (len = strlen(now)) < MEMO_KIND)
			memcpy(m->reached[m->nreached++], now, len + 1);
	}
	return 0;
}

/* The op of the run [i, j) that sets column (the first op of the run if none). */
static size_t
op_of(const struct store_op *ops, size_t i, size_t j, const char *column)
{
	for (size_t k = i; k < j; k++)
		if (strcmp(ops[k].column, column) == 0)
			return k;
	return i;
}

/*
 * The values of a new row whose every op is the run [i, j) into s->scratch, as the merge
 * left it (a later op on a column wins, unset columns are NULL). False if the run
 * deleted it. Its status, if any, into status (NUL-terminated).
 */
static bool
row_from_ops(struct store *s, const struct schema_table *t, const struct cs_op *cops, size_t i,
             size_t j, char *status, size_t size)
{
	const struct store_rules_memo *m = s->rules_memo;
	int sc = t == s->tables[m->arr].t ? m->status_col : -1;
	const struct value *v;

	for (size_t c = 0; c < t->ncolumns; c++)
		s->scratch[c] = value_nil();
	/* by the column's number (validated, store_write.c): _deleted, 0, is last */
	for (size_t k = i; k < j; k++)
		s->scratch[cops[k].cno == 0 ? t->ncolumns - 1 : cops[k].cno - 1U] = cops[k].value;
	v = &s->scratch[t->ncolumns - 1];
	if (v->kind == VALUE_INT && v->u.i == 1)
		return false;
	s->scratch[t->ncolumns - 1] = value_nil();
	status[0] = '\0';
	if (sc >= 0 && (v = &s->scratch[sc])->kind == VALUE_TEXT && v->u.b.len < size) {
		memcpy(status, v->u.b.ptr, v->u.b.len);
		status[v->u.b.len] = '\0';
	}
	return true;
}

/*
 * The row of the run [i, j) as it is now into s->scratch: from its ops if it is new and
 * all of them are this run, else read back (the statement stays on it until row_done).
 * Sets *status (NULL: none) and *old (the status before the write). False if there is
 * no visible row.
 */
static bool
row_load(struct store *s, struct store_table *tb, const struct store_op *ops,
         const struct cs_op *cops, size_t i, size_t j, char *buf, size_t size, const char **status,
         const char **old, struct memo_ent **ep)
{
	const struct schema_table *t = tb->t;
	struct memo_ent *e =
	    store_rules_memo_get(&s->rules_memo->rows, cops[i].tno, cops[i].row, false);

	*status = NULL;
	*old = NULL;
	if (e != NULL && !(e->flags & MEMO_TOUCH))
		e = NULL;
	*ep = e;
	if (e != NULL && (e->flags & (MEMO_FRESH | MEMO_AGAIN)) == MEMO_FRESH) {
		if (!row_from_ops(s, t, cops, i, j, buf, size))
			return false;
		if (tb - s->tables == s->rules_memo->arr && buf[0] != '\0')
			*status = buf;
		return true;
	}
	*old = e != NULL ? e->old : NULL;
	if (!row_find(tb, ops[i].row_id))
		return false;
	for (size_t c = 0; c + 1 < t->ncolumns; c++)
		s->scratch[c] = store_db_column_value(tb->get, (int)c + 1);
	s->scratch[t->ncolumns - 1] = value_nil();
	if (tb - s->tables == s->rules_memo->arr)
		*status = (const char *)sqlite3_column_text(tb->get, s->rules_memo->status_col + 1);
	return true;
}

/* The row of the run [i, j), as it is now, against every rule. */
static int
check_row(struct store *s, const struct store_op *ops, const struct cs_op *cops, size_t i, size_t j,
          struct store_write_result *r)
{
	int ti = cops[i].tno;
	struct store_table *tb = &s->tables[ti];
	const struct schema_table *t = tb->t;
	struct schema_refusal why = {NULL, NULL, ""};
	const char *status, *old;
	struct memo_ent *e;
	char buf[64];
	int rc = 0;

	if (!row_load(s, tb, ops, cops, i, j, buf, sizeof(buf), &status, &old, &e))
		goto out; /* deleted by this write: no rules for what is gone */
	/* visible: what a reference to it finds (the entry the merge made, if any) */
	if (e == NULL &&
	    (e = store_rules_memo_get(&s->rules_memo->rows, ti, cops[i].row, true)) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	memo_seen(s->rules_memo, e, ti, kind_of(s->rules_memo, ti, s->scratch));
	r->bad_op = i;
	if ((rc = schema_rules_row(t, s->scratch, &why)) < 0 ||
	    (rc = check_refs(s, t, s->scratch, &why)) < 0 ||
	    (rc = check_plan(s, t, s->scratch, &why)) < 0) {
		r->bad_op = op_of(ops, i, j, why.column);
		goto out;
	}
	rc = check_status(s->rules_memo, cops, i, j, old, status, &why, &r->bad_op);
out:
	if (rc < 0 && rc != ARR_ENOMEM)
		store_rules_word(r->refusal, sizeof(r->refusal), t, &why);
	row_done(tb);
	return rc;
}

int
store_rules_check(struct store *s, const struct store_op *ops, const struct cs_op *cops,
                  size_t nops, struct store_write_result *r)
{
	size_t j;
	int rc;

	for (size_t i = 0; i < nops; i = j) {
		for (j = i + 1; j < nops && same_row(cops, j); j++)
			;
		if ((rc = check_row(s, ops, cops, i, j, r)) < 0)
			return rc;
	}
	r->bad_op = 0;
	return 0;
}

/*
 * Every rule of a row as it is, whatever wrote it: the checks of a local write (but the
 * lifecycle, which judges a change, not a row) into why[], at most max. How many, or a
 * negative code.
 */
static int
judge_all(struct store *s, const struct schema_table *t, const struct value *row,
          struct schema_refusal *why, size_t max)
{
	size_t n = schema_rules_row_all(t, row, why, max), from = 0;
	int rc = 0;

	while (n < max && (rc = check_refs_from(s, t, row, &from, &why[n])) == ARR_EINVAL)
		n++;
	if (rc < 0 && rc != ARR_EINVAL)
		return rc;
	if (n < max && check_plan(s, t, row, &why[n]) == ARR_EINVAL)
		n++;
	return (int)n;
}

int
store_rules_judge(struct store *s, const char *table, const char *id, struct store_judgement *j)
{
	int ti = table != NULL ? store_db_table_index(table) : -1, rc;
	struct schema_refusal why[STORE_JUDGE_MAX];
	struct store_rules_memo *m;
	struct store_table *tb;

	j->n = 0;
	if (ti < 0)
		return ARR_ESCHEMA;
	tb = &s->tables[ti];
	if ((m = memo_new()) == NULL)
		return ARR_ENOMEM;
	s->rules_memo = m; /* only for the references found: nothing is written */
	if (!row_find(tb, id)) {
		rc = ARR_ENOTFOUND;
		goto out;
	}
	for (size_t c = 0; c + 1 < tb->t->ncolumns; c++)
		s->scratch[c] = store_db_column_value(tb->get, (int)c + 1);
	s->scratch[tb->t->ncolumns - 1] = value_nil();
	if ((rc = judge_all(s, tb->t, s->scratch, why, STORE_JUDGE_MAX)) < 0)
		goto out;
	for (size_t i = 0; i < (size_t)rc; i++) {
		j->v[i].column = why[i].column;
		store_rules_word(j->v[i].message, sizeof(j->v[i].message), tb->t, &why[i]);
	}
	j->n = (size_t)rc;
	rc = 0;
out:
	row_done(tb);
	store_rules_free(s, &m);
	return rc;
}
