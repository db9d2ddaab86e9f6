/*
 * api_export_walk.c: the walk of a subject export (api_export_walk.h). The rows about a
 * child are those of a chain of stages: the child rows with its ref, the arrangements
 * naming them (child_id), the rows of every table naming one of those (arrangement_id),
 * and the goal evaluations naming one of their evaluations (evaluation_id). None of
 * those columns has an index, and adding them costs every write (the store's write path
 * pays for each index on each insert), so each stage reads its table once, in slices of
 * rowids (store_scan), keeping the rows whose column is one of the ids the stage before
 * found: a full walk reads each table once, a step reads at most its budget. The rows are
 * then put in the order the export hands them out, which is that of a walk that followed
 * each row to the rows naming it (by id). It keeps what it found; it never writes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api_export_walk.h"
#include "arrerr.h"
#include "monoclock.h"
#include "schema.h"
#include "store_scan.h"

#define WALK_STAGES_MAX 16

/* A row a stage found: its id and the id (or the ref) it names. */
struct walk_match {
	char id[ARR_ROWID_STRLEN + 1];
	char parent[ARR_ROWID_STRLEN + 1];
};

/* A stage: the rows of table whose column names a row of stage parent (-1: the ref). */
struct walk_stage {
	const char *table, *column;
	int parent;
	struct walk_match *m;
	size_t n, cap;
};

struct export_walk {
	char *ref;
	struct walk_stage st[WALK_STAGES_MAX];
	size_t nst;
	size_t at;               /* the stage being read */
	int64_t after;           /* its last rowid read */
	const char **set;        /* the ids the stage looks for, sorted (into parent's rows) */
	size_t nset, setcap;     /* entries, room */
	size_t found;            /* rows found, all stages */
	struct export_row *rows; /* the walk, once complete */
	size_t nrows, cap;
	size_t *lead; /* of each child row (the first rows): its first arrangement's row */
	size_t nlead;
	uint8_t digest[EXPORT_WALK];
	uint64_t visited;
	bool done;
};

/* The stage of table through column, after stage parent; false when out of room. */
static bool
walk_stage_add(struct export_walk *w, const char *table, const char *column, int parent)
{
	if (w->nst == WALK_STAGES_MAX)
		return false;
	w->st[w->nst++] = (struct walk_stage){.table = table, .column = column, .parent = parent};
	return true;
}

/* The stages: the child, its arrangements, the rows naming those, the goal evaluations. */
static bool
walk_stages(struct export_walk *w)
{
	int eval = -1;

	if (!walk_stage_add(w, "child", "ref", -1) ||
	    !walk_stage_add(w, "arrangement", "child_id", 0))
		return false;
	for (size_t k = 0; k < schema_table_count(); k++) {
		const struct schema_table *t = schema_table_at(k);

		if (schema_column_find(t, "arrangement_id") == NULL)
			continue;
		if (strcmp(t->name, "evaluation") == 0)
			eval = (int)w->nst;
		if (!walk_stage_add(w, t->name, "arrangement_id", 1))
			return false;
	}
	return eval < 0 || walk_stage_add(w, "goal_evaluation", "evaluation_id", eval);
}

int
export_walk_new(const char *ref, struct export_walk **out)
{
	struct export_walk *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w == NULL || (w->ref = strdup(ref)) == NULL) {
		free(w);
		return ARR_ENOMEM;
	}
	if (!walk_stages(w)) {
		export_walk_destroy(&w);
		return ARR_EINVAL;
	}
	*out = w;
	return 0;
}

/* Free what the stages found (the walk's rows stay). */
static void
walk_stages_free(struct export_walk *w)
{
	for (size_t i = 0; i < w->nst; i++) {
		free(w->st[i].m);
		w->st[i].m = NULL;
		w->st[i].n = w->st[i].cap = 0;
	}
	free(w->set);
	w->set = NULL;
	w->nset = w->setcap = 0;
}

void
export_walk_destroy(struct export_walk **wp)
{
	struct export_walk *w;

	if (wp == NULL || (w = *wp) == NULL)
		return;
	walk_stages_free(w);
	free(w->rows);
	free(w->lead);
	free(w->ref);
	free(w);
	*wp = NULL;
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int
cmp_match(const void *x, const void *y)
{
	const struct walk_match *a = x, *b = y;
	int c = strcmp(a->parent, b->parent);

	return c != 0 ? c : strcmp(a->id, b->id);
}

/* store_scan_fn: a row of the stage's table, kept when it names what the stage seeks. */
static int
walk_match(void *ctx, const char *id, const struct value *v)
{
	struct export_walk *w = ctx;
	struct walk_stage *s = &w->st[w->at];
	const char *key;

	if (v->kind != VALUE_TEXT || id == NULL || strlen(id) != ARR_ROWID_STRLEN)
		return 0; /* a row without a row id is not followed, as by a look-up by id */
	if (s->parent < 0) {
		if (v->u.b.len != strlen(w->ref) || memcmp(v->u.b.ptr, w->ref, v->u.b.len) != 0)
			return 0;
	} else {
		char text[ARR_ROWID_STRLEN + 1];

		if (v->u.b.len != ARR_ROWID_STRLEN)
			return 0;
		memcpy(text, v->u.b.ptr, ARR_ROWID_STRLEN);
		text[ARR_ROWID_STRLEN] = '\0';
		key = text;
		if (bsearch(&key, w->set, w->nset, sizeof(*w->set), cmp_str) == NULL)
			return 0;
	}
	if (w->found == EXPORT_ROWS_MAX)
		return ARR_ETOOBIG;
	if (s->n == s->cap) {
		size_t cap = s->cap > 0 ? 2 * s->cap : 16;
		struct walk_match *p = realloc(s->m, cap * sizeof(*p));

		if (p == NULL)
			return ARR_ENOMEM;
		s->m = p;
		s->cap = cap;
	}
	memcpy(s->m[s->n].id, id, ARR_ROWID_STRLEN + 1);
	if (s->parent >= 0)
		memcpy(s->m[s->n].parent, v->u.b.ptr, ARR_ROWID_STRLEN);
	s->m[s->n].parent[s->parent >= 0 ? ARR_ROWID_STRLEN : 0] = '\0';
	s->n++;
	w->found++;
	return 0;
}

/* Stage at begins: the ids it seeks are those its parent stage found, sorted. */
static int
walk_stage_begin(struct export_walk *w)
{
	const struct walk_stage *p;

	w->after = 0;
	w->nset = 0;
	if (w->st[w->at].parent < 0)
		return 0;
	p = &w->st[w->st[w->at].parent];
	if (p->n > w->setcap) {
		const char **set = realloc(w->set, p->n * sizeof(*set));

		if (set == NULL)
			return ARR_ENOMEM;
		w->set = set;
		w->setcap = p->n;
	}
	for (size_t i = 0; i < p->n; i++)
		w->set[i] = p->m[i].id;
	w->nset = p->n;
	qsort(w->set, w->nset, sizeof(*w->set), cmp_str);
	return 0;
}

/* Append row (table, id) to the walk. */
static int
walk_append(struct export_walk *w, const char *table, const char *id)
{
	if (w->nrows == w->cap) {
		size_t cap = w->cap > 0 ? 2 * w->cap : 64;
		struct export_row *p;

		if (w->nrows == EXPORT_ROWS_MAX)
			return ARR_ETOOBIG;
		if (cap > EXPORT_ROWS_MAX)
			cap = EXPORT_ROWS_MAX;
		if ((p = realloc(w->rows, cap * sizeof(*p))) == NULL)
			return ARR_ENOMEM;
		w->rows = p;
		w->cap = cap;
	}
	w->rows[w->nrows].table = table;
	memcpy(w->rows[w->nrows].id, id, ARR_ROWID_STRLEN + 1);
	w->nrows++;
	return 0;
}

/* Append the rows of stage k naming id (they are sorted by what they name, then by id). */
static int
walk_follow(struct export_walk *w, size_t k, const char *id)
{
	const struct walk_stage *s = &w->st[k];
	size_t lo = 0, hi = s->n;
	int rc = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->m[mid].parent, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->n && rc == 0 && strcmp(s->m[lo].parent, id) == 0; lo++)
		rc = walk_append(w, s->table, s->m[lo].id);
	return rc;
}

/* Every stage read: the walk's rows in the export's order, and their digest. */
static int
walk_build(struct export_walk *w)
{
	crypto_generichash_state h;
	int rc = 0;

	for (size_t k = 0; k < w->nst; k++)
		if (w->st[k].n > 1)
			qsort(w->st[k].m, w->st[k].n, sizeof(*w->st[k].m), cmp_match);
	if ((w->lead = calloc(w->st[0].n, sizeof(*w->lead))) == NULL)
		rc = ARR_ENOMEM;
	w->nlead = w->st[0].n;
	for (size_t i = 0; i < w->st[0].n && rc == 0; i++)
		rc = walk_append(w, w->st[0].table, w->st[0].m[i].id);
	/* w->rows grows as rows are found: follow each row to the stages after its own */
	for (size_t i = 0; i < w->nrows && rc == 0; i++) {
		char id[ARR_ROWID_STRLEN + 1];
		const char *t = w->rows[i].table;
		size_t was = w->nrows;

		memcpy(id, w->rows[i].id, sizeof(id));
		for (size_t k = 1; k < w->nst && rc == 0; k++)
			if (strcmp(w->st[w->st[k].parent].table, t) == 0)
				rc = walk_follow(w, k, id);
		if (i < w->nlead) /* a child's rows after it are its arrangements, by id */
			w->lead[i] = w->nrows > was ? was : SIZE_MAX;
	}
	walk_stages_free(w);
	if (rc != 0)
		return rc;
	crypto_generichash_init(&h, NULL, 0, EXPORT_WALK);
	for (size_t i = 0; i < w->nrows; i++)
		crypto_generichash_update(&h, (const uint8_t *)w->rows[i].table,
		                          strlen(w->rows[i].table) + 1);
	for (size_t i = 0; i < w->nrows; i++)
		crypto_generichash_update(&h, (const uint8_t *)w->rows[i].id, ARR_ROWID_STRLEN);
	crypto_generichash_final(&h, w->digest, EXPORT_WALK);
	w->done = true;
	return 1;
}

/* The stage after the one just read, or the end of the walk. */
static int
walk_next_stage(struct export_walk *w)
{
	int rc;

	if (w->at == 0 && w->st[0].n == 0)
		return ARR_ENOTFOUND;
	do {
		if (++w->at == w->nst)
			return walk_build(w);
		/* a stage whose parent found nothing finds nothing: not read */
	} while (w->st[w->st[w->at].parent].n == 0);
	return (rc = walk_stage_begin(w)) < 0 ? rc : 0;
}

int
export_walk_step(struct export_walk *w, struct store *s, unsigned budget_ms, size_t max_rows)
{
	uint64_t until = mono_ms() + budget_ms, from = w->visited;
	int rc = 0;

	if (w->done)
		return 1;
	while (rc == 0) {
		const struct walk_stage *st = &w->st[w->at];
		uint64_t read = w->visited - from;
		size_t left = max_rows == 0 ? SIZE_MAX : read < max_rows ? max_rows - read : 0;

		if (left == 0 || (read > 0 && mono_ms() >= until))
			break;
		rc = store_scan(s, st->table, st->column, &w->after, left, until, &w->visited,
		                walk_match, w);
		if (rc == 1)
			rc = walk_next_stage(w);
	}
	return rc;
}

bool
export_walk_complete(const struct export_walk *w)
{
	return w->done;
}

const char *
export_walk_ref(const struct export_walk *w)
{
	return w->ref;
}

const struct export_row *
export_walk_rows(const struct export_walk *w, size_t *n)
{
	*n = w->done ? w->nrows : 0;
	return w->rows;
}

const char *
export_walk_lead(const struct export_walk *w, size_t i)
{
	return w->done && i < w->nlead && w->lead[i] != SIZE_MAX ? w->rows[w->lead[i]].id : NULL;
}

const uint8_t *
export_walk_digest(const struct export_walk *w)
{
	return w->digest;
}

size_t
export_walk_bytes(const struct export_walk *w)
{
	size_t b = sizeof(*w) + strlen(w->ref) + 1 + w->cap * sizeof(*w->rows) +
	           w->setcap * sizeof(*w->set) + w->nlead * sizeof(*w->lead);

	for (size_t i = 0; i < w->nst; i++)
		b += w->st[i].cap * sizeof(*w->st[i].m);
	return b;
}

uint64_t
export_walk_visited(const struct export_walk *w)
{
	return w->visited;
}
