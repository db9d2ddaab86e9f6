/*
 * store_route.c: which scope each op of a local write belongs to (PROTOCOL.md,
 * "Scopes"). A row of a region table is in the region scope. A row that exists keeps
 * its scope: a row never moves. A new arrangement opens a scope whose id is the
 * arrangement's id; a new row that hangs off an arrangement (arrangement_id) or an
 * evaluation (evaluation_id) is in that one's scope; a new child is in the scope of the
 * arrangement of the same write that names it as child_id, or else in a scope of its
 * own. A scope this write opens is named here by its opening row's id; its CREATE gives
 * it its real id (changeset_scope_id). A reference to a row this node cannot read (not
 * there, or in a scope it holds opaque) is refused (ARR_ENOTFOUND).
 *
 * It reads the replica and decides; it builds and applies nothing (store_write.c).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "rowid.h"
#include "store_int.h"

/* The scope of the readable row id of table t: 0 found (scope set), ARR_ENOTFOUND. */
static int
row_scope(struct store *s, const char *table, const uint8_t row[ARR_ROWID_LEN],
          uint8_t scope[ARR_SCOPE_LEN])
{
	char id[ARR_ROWID_STRLEN + 1];

	rowid_format(row, id);
	return store_scope_row(s, table, id, scope, NULL);
}

/*
 * The write's arrangements by child (sorted), and below its ops by (row, table): routing
 * looks ops up by row for every new row, and a linear scan made an import of n rows cost
 * n^2.
 */
struct opref {
	const struct cs_op *op;
	uint8_t key[ARR_ROWID_LEN]; /* the child_id's row */
};

static int
opref_cmp(const void *a, const void *b)
{
	const struct opref *x = a, *y = b;
	int c = memcmp(x->key, y->key, ARR_ROWID_LEN);

	if (c == 0)
		c = (x->op->tno > y->op->tno) - (x->op->tno < y->op->tno);
	return c != 0 ? c : (x->op > y->op) - (x->op < y->op);
}

/* The first entry of idx (n, sorted) with key row, or NULL. */
static struct opref *
opref_find(struct opref *idx, size_t n, const uint8_t *row)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(idx[mid].key, row, ARR_ROWID_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n || memcmp(idx[lo].key, row, ARR_ROWID_LEN) != 0)
		return NULL;
	return &idx[lo];
}

/* The row id a reference op holds (a UUID as text): 0 or ARR_EINVAL. */
static int
ref_row(const struct cs_op *op, uint8_t row[ARR_ROWID_LEN])
{
	char text[ARR_ROWID_STRLEN + 1];

	if (op->value.kind != VALUE_TEXT || op->value.u.b.len != ARR_ROWID_STRLEN)
		return ARR_EINVAL;
	memcpy(text, op->value.u.b.ptr, ARR_ROWID_STRLEN);
	text[ARR_ROWID_STRLEN] = '\0';
	return rowid_parse(text, row) == 0 ? 0 : ARR_EINVAL;
}

/*
 * A run of consecutive ops of the write on one (row, table): a write names a row's
 * columns one after another, so there are a few times fewer runs than ops. The runs of
 * one (row, table) are chained in the order of the write.
 */
struct oprun {
	const struct cs_op *op; /* its first op */
	size_t n;
	size_t next;                  /* 1 + the index of the next run on (row, table), or 0 */
	size_t last;                  /* first of a chain: 1 + the index of its last run */
	int looked;                   /* first of a chain: 0, or the lookup's result + 1 */
	uint8_t scope[ARR_SCOPE_LEN]; /* ... and the scope it found */
};

/*
 * What routing asks of a table of the schema, found once per write by name and then read
 * by the table's number (the ops carry it, changeset.h): one look-up per new row by name
 * was a tenth of routing's work.
 */
struct route_table {
	bool is_case; /* store_scope_table_is_case() */
	int arr_col;  /* the number of its arrangement_id column, or -1 */
	int eval_col; /* the number of its evaluation_id column, or -1 */
};

struct route {
	struct store *s;
	const struct schema_table *arr, *eval; /* "arrangement", "evaluation" */
	int child_col;                         /* the number of arrangement.child_id */
	struct route_table *tabs;              /* by table number, schema_table_count() */
	const struct cs_op *ops;
	size_t nops;
	struct store_write_result *r;
	struct oprun *runs; /* the write's runs, in its order */
	size_t nruns;
	struct opref *by_child; /* the arrangement ops setting child_id, by that child */
	size_t nchild;
	size_t *slots;           /* by (row, table): 1 + the index in runs of its first run, or 0 */
	size_t mask;             /* slots has mask + 1 entries, a power of two */
	const uint8_t *ref_text; /* the reference route_ref() parsed last, or NULL */
	uint8_t ref_parsed[ARR_ROWID_LEN]; /* ... and the row id it names */
	/* the last row looked up that the write does not name (a parent), and the answer */
	const struct schema_table *out_t; /* NULL: none yet */
	uint8_t out_row[ARR_ROWID_LEN];
	int out_rc;
	uint8_t out_scope[ARR_SCOPE_LEN];
};

/* Where (row, table) starts its probe in rt->slots (row ids are not trusted to be random). */
static size_t
slot_of(const struct route *rt, const uint8_t row[ARR_ROWID_LEN])
{
	uint64_t a, b;

	memcpy(&a, row, 8);
	memcpy(&b, row + 8, 8);
	a ^= b * UINT64_C(0x9e3779b97f4a7c15);
	a ^= a >> 29;
	a *= UINT64_C(0xbf58476d1ce4e5b9);
	a ^= a >> 32;
	return (size_t)a & rt->mask;
}

/* Whether op is on (row, table number tno). */
static bool
op_on(const struct cs_op *op, const uint8_t *row, unsigned tno)
{
	return memcmp(op->row, row, ARR_ROWID_LEN) == 0 && op->tno == tno;
}

/*
 * The slot of (row, table) in rt->slots: the one holding its first run, or the empty
 * one where it would go. Routing asks several times per row (the row, its parent, the
 * parent's ops), and a search over every op of the write cost an import as much as
 * routing's own look-ups.
 */
static size_t *
slot_find(const struct route *rt, const uint8_t *row, unsigned tno)
{
	for (size_t h = slot_of(rt, row);; h = (h + 1) & rt->mask)
		if (rt->slots[h] == 0 || op_on(rt->runs[rt->slots[h] - 1].op, row, tno))
			return &rt->slots[h];
}

/* The first run of the write on (row, table), or NULL. */
static struct oprun *
by_row_find(const struct route *rt, const uint8_t *row, unsigned tno)
{
	size_t *h = slot_find(rt, row, tno);

	return *h != 0 ? &rt->runs[*h - 1] : NULL;
}

/*
 * The scope of the readable row of table, as row_scope() says, asked of the replica once
 * per row of this write: a row of the write is looked up for itself and again as the
 * parent of the rows that hang off it. A row the write does not name, an existing
 * parent, is remembered until another such row is looked up: the new rows under one
 * parent come one after another. Routing writes nothing, so an answer stays true.
 */
static int
route_row_scope(struct route *rt, const struct schema_table *t, const uint8_t row[ARR_ROWID_LEN],
                uint8_t scope[ARR_SCOPE_LEN])
{
	struct oprun *e = by_row_find(rt, row, schema_no_of_table(t));
	int rc;

	if (e != NULL && e->looked != 0) {
		memcpy(scope, e->scope, ARR_SCOPE_LEN);
		return e->looked - 1;
	}
	if (e == NULL && rt->out_t == t && memcmp(rt->out_row, row, ARR_ROWID_LEN) == 0) {
		memcpy(scope, rt->out_scope, ARR_SCOPE_LEN);
		return rt->out_rc;
	}
	rc = row_scope(rt->s, t->name, row, scope);
	if (rc != 0 && rc != ARR_ENOTFOUND)
		return rc;
	if (e != NULL) {
		e->looked = rc + 1;
		memcpy(e->scope, scope, ARR_SCOPE_LEN);
	} else {
		rt->out_t = t;
		memcpy(rt->out_row, row, ARR_ROWID_LEN);
		rt->out_rc = rc;
		memcpy(rt->out_scope, scope, ARR_SCOPE_LEN);
	}
	return rc;
}

/* The first op of this write (in its order) setting column cno of (tno, row), or NULL. */
static const struct cs_op *
find_op(const struct route *rt, unsigned tno, const uint8_t *row, int cno)
{
	const struct oprun *e = by_row_find(rt, row, tno);

	for (; e != NULL; e = e->next != 0 ? &rt->runs[e->next - 1] : NULL)
		for (size_t k = 0; k < e->n; k++)
			if (e->op[k].cno == cno)
				return &e->op[k];
	return NULL;
}

/*
 * rt->runs, each chained to the runs of its (row, table) before it, and rt->slots
 * indexing the first of each chain: no sort (sorting the ops, then their runs, was a
 * sixth, then a fiftieth of an import's work).
 */
static int
runs_build(struct route *rt)
{
	size_t n = 2;

	if ((rt->runs = malloc((rt->nops + 1) * sizeof(*rt->runs))) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < rt->nops; i++) {
		const struct cs_op *o = &rt->ops[i];
		struct oprun *r = rt->nruns > 0 ? &rt->runs[rt->nruns - 1] : NULL;

		if (r != NULL && op_on(r->op, o->row, o->tno)) {
			r->n++;
			continue;
		}
		r = &rt->runs[rt->nruns++];
		*r = (struct oprun){.op = o, .n = 1};
	}
	while (n < 2 * rt->nruns)
		n *= 2;
	if ((rt->slots = calloc(n, sizeof(*rt->slots))) == NULL)
		return ARR_ENOMEM;
	rt->mask = n - 1;
	for (size_t i = 0; i < rt->nruns; i++) {
		struct oprun *r = &rt->runs[i];
		size_t *h = slot_find(rt, r->op->row, r->op->tno);

		if (*h == 0) {
			*h = r->last = i + 1;
			continue;
		}
		rt->runs[rt->runs[*h - 1].last - 1].next = i + 1;
		rt->runs[*h - 1].last = i + 1;
	}
	return 0;
}

/* The number of the column named name in t, or -1. */
static int
col_no(const struct schema_table *t, const char *name)
{
	int hint = -1;

	return t != NULL ? schema_no_column_find(t, name, &hint) : -1;
}

/* rt->arr, rt->eval, rt->child_col and rt->tabs (0 or ARR_ENOMEM). */
static int
route_tables(struct route *rt)
{
	size_t n = schema_table_count();

	rt->arr = schema_table_find("arrangement");
	rt->eval = schema_table_find("evaluation");
	rt->child_col = col_no(rt->arr, "child_id");
	if ((rt->tabs = malloc(n * sizeof(*rt->tabs))) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct schema_table *t = schema_table_at(i);

		rt->tabs[i] =
		    (struct route_table){store_scope_table_is_case(t), col_no(t, "arrangement_id"),
		                         col_no(t, "evaluation_id")};
	}
	return 0;
}

/* Build the indexes of rt (0 or ARR_ENOMEM). */
static int
route_index(struct route *rt)
{
	unsigned arr = rt->arr != NULL ? schema_no_of_table(rt->arr) : SCHEMA_NO_MAX + 1;

	/* entries are written before they are read: not zeroed */
	if ((rt->by_child = malloc((rt->nops + 1) * sizeof(*rt->by_child))) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < rt->nops; i++) {
		const struct cs_op *o = &rt->ops[i];

		if (o->tno == arr && o->cno == rt->child_col &&
		    ref_row(o, rt->by_child[rt->nchild].key) == 0)
			rt->by_child[rt->nchild++].op = o;
	}
	qsort(rt->by_child, rt->nchild, sizeof(*rt->by_child), opref_cmp);
	return runs_build(rt);
}

/*
 * ref_row() of an op of the write, remembering the last reference parsed: the new rows
 * that hang off one parent name it one after another (an arrangement's parties and
 * funding shares), and parsing each was a quarter of routing's own work on an import.
 */
static int
route_ref(struct route *rt, const struct cs_op *op, uint8_t row[ARR_ROWID_LEN])
{
	if (op->value.kind == VALUE_TEXT && op->value.u.b.len == ARR_ROWID_STRLEN &&
	    rt->ref_text != NULL &&
	    memcmp(op->value.u.b.ptr, rt->ref_text, ARR_ROWID_STRLEN) == 0) {
		memcpy(row, rt->ref_parsed, ARR_ROWID_LEN);
		return 0;
	}
	if (ref_row(op, row) < 0)
		return ARR_EINVAL;
	rt->ref_text = op->value.u.b.ptr;
	memcpy(rt->ref_parsed, row, ARR_ROWID_LEN);
	return 0;
}

/* The scope of row of table (a parent of a new row): readable, or new in this write. */
static int parent_scope(struct route *rt, const struct schema_table *t,
                        const uint8_t row[ARR_ROWID_LEN], uint8_t scope[ARR_SCOPE_LEN], int depth);

/* The scope of a new row of table t, by the rules at the top of this file. */
static int
new_row_scope(struct route *rt, const struct schema_table *t, const uint8_t row[ARR_ROWID_LEN],
              uint8_t scope[ARR_SCOPE_LEN], int depth)
{
	unsigned tno = schema_no_of_table(t);
	const struct route_table *rtab = &rt->tabs[tno];
	const struct cs_op *ref;
	const struct opref *e;
	uint8_t parent[ARR_ROWID_LEN];

	if (t == rt->arr) {
		memcpy(scope, row, ARR_SCOPE_LEN);
		return 0;
	}
	if (rtab->arr_col >= 0) {
		if ((ref = find_op(rt, tno, row, rtab->arr_col)) == NULL ||
		    route_ref(rt, ref, parent) < 0) {
			snprintf(rt->r->refusal, sizeof(rt->r->refusal),
			         "%s.arrangement_id required: a new row belongs to an arrangement",
			         t->name);
			return ARR_EINVAL;
		}
		return parent_scope(rt, rt->arr, parent, scope, depth + 1);
	}
	if (rtab->eval_col >= 0) {
		if ((ref = find_op(rt, tno, row, rtab->eval_col)) == NULL ||
		    route_ref(rt, ref, parent) < 0) {
			snprintf(rt->r->refusal, sizeof(rt->r->refusal),
			         "%s.evaluation_id required: a new row belongs to an evaluation",
			         t->name);
			return ARR_EINVAL;
		}
		return parent_scope(rt, rt->eval, parent, scope, depth + 1);
	}
	/* a child: the arrangement of this write that names it, else its own scope */
	if ((e = opref_find(rt->by_child, rt->nchild, row)) != NULL)
		return parent_scope(rt, rt->arr, e->op->row, scope, depth + 1);
	memcpy(scope, row, ARR_SCOPE_LEN);
	return 0;
}

static int
parent_scope(struct route *rt, const struct schema_table *t, const uint8_t row[ARR_ROWID_LEN],
             uint8_t scope[ARR_SCOPE_LEN], int depth)
{
	char id[ARR_ROWID_STRLEN + 1];
	int rc;

	if (t == NULL || depth > 4)
		return ARR_EINVAL;
	if ((rc = route_row_scope(rt, t, row, scope)) != ARR_ENOTFOUND)
		return rc;
	/* not readable here: new in this write, or in a scope this node cannot read */
	if (by_row_find(rt, row, schema_no_of_table(t)) != NULL)
		return new_row_scope(rt, t, row, scope, depth);
	rowid_format(row, id);
	snprintf(rt->r->refusal, sizeof(rt->r->refusal),
	         "no %s %s readable on this node (it relays the arrangements it is not a "
	         "party of without reading them)",
	         t->name, id);
	return ARR_ENOTFOUND;
}

/*
 * The scope of the ops on the row of op i (the first op on that row in its run): the
 * row's, or for a row that opens a scope, its own id as the name of the scope this write
 * opens (the CREATE gives the scope its real id, store_write.c).
 */
static int
route_one(struct route *rt, size_t i, uint8_t scope[ARR_SCOPE_LEN])
{
	const struct cs_op *op = &rt->ops[i];
	const struct schema_table *t = changeset_op_table(op);
	int rc;

	memset(scope, 0, ARR_SCOPE_LEN);
	if (t == NULL)
		return ARR_ESCHEMA;
	if (!rt->tabs[op->tno].is_case)
		return 0;
	if ((rc = route_row_scope(rt, t, op->row, scope)) != ARR_ENOTFOUND)
		return rc;
	return new_row_scope(rt, t, op->row, scope, 0);
}

int
store_route(struct store *s, const struct cs_op *ops, size_t nops, uint8_t (*scopes)[ARR_SCOPE_LEN],
            struct store_write_result *r)
{
	struct route rt = {.s = s, .ops = ops, .nops = nops, .r = r};
	int rc;

	if ((rc = route_tables(&rt)) < 0 || (rc = route_index(&rt)) < 0)
		goto out;
	for (size_t i = 0; i < nops; i++) {
		r->bad_op = i;
		if (i > 0 && memcmp(ops[i].row, ops[i - 1].row, ARR_ROWID_LEN) == 0 &&
		    ops[i].tno == ops[i - 1].tno) {
			memcpy(scopes[i], scopes[i - 1], ARR_SCOPE_LEN);
			continue;
		}
		if ((rc = route_one(&rt, i, scopes[i])) < 0)
			goto out;
	}
	r->bad_op = 0;
out:
	free(rt.tabs);
	free(rt.slots);
	free(rt.by_child);
	free(rt.runs);
	return rc;
}
