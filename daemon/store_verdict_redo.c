/*
 * store_verdict_redo.c: what follows when a case scope's policy grows (PROTOCOL.md,
 * "Write authorisation"): the merged change sets of the members whose grants changed
 * are judged again, and each row that a change set whose verdict flipped touches is
 * recomputed from the logged change sets of that row: cleared, then every one of them
 * merged again through the verdict, so its cells fall back to (or take up) the last
 * authorised values. A row no authorised op wrote is removed. The last-writer-wins merge
 * does not depend on order, so neither does the result.
 *
 * It reads logged change sets (decoding and opening them as store_scope.c does) and
 * never decides a verdict itself (store_verdict.c) nor merges a cell (store_merge.c).
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "rowid.h"
#include "store_int.h"

/* A row to recompute: its table and id (and rowid, once found). */
struct rowref {
	int ti;
	uint8_t row[ARR_ROWID_LEN];
	int64_t rid;
};

struct ids {
	int64_t *v;
	size_t n, cap;
};

static int
ids_add(struct ids *a, int64_t id)
{
	if (a->n == a->cap) {
		size_t cap = a->cap > 0 ? a->cap * 2 : 32;
		int64_t *q = realloc(a->v, cap * sizeof(*q));

		if (q == NULL)
			return ARR_ENOMEM;
		a->v = q;
		a->cap = cap;
	}
	a->v[a->n++] = id;
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int
cmp_row(const void *a, const void *b)
{
	const struct rowref *x = a, *y = b;

	if (x->ti != y->ti)
		return x->ti > y->ti ? 1 : -1;
	return memcmp(x->row, y->row, ARR_ROWID_LEN);
}

/* Run a statement of text sql with ?1 and ?2 bound; 0 or a database error. */
static int
run2(struct store *s, const char *sql, int64_t a, int64_t b, struct ids *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (out != NULL && ids_add(out, sqlite3_column_int64(st, 0)) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/*
 * The logged change set log_id, opened, and its data part in scope sc (*part): 0, or 1
 * when this node cannot read that part (no key: it was never merged) or the change set
 * has none, or an error. *oid is its origin's local id.
 */
static int
load(struct store *s, int64_t log_id, int64_t sc, struct changeset **cs, int64_t *oid,
     const struct cs_part **part)
{
	sqlite3_stmt *st = s->st[ST_LOG_BY_ID];
	uint8_t scope[ARR_SCOPE_LEN];
	int rc;

	*cs = NULL;
	*part = NULL;
	if ((rc = store_scope_bytes(s, sc, scope)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, log_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*oid = sqlite3_column_int64(st, 0);
		rc = changeset_decode(sqlite3_column_blob(st, 1),
		                      (size_t)sqlite3_column_bytes(st, 1), cs);
		if (rc < 0 && rc != ARR_ENOMEM)
			rc = ARR_EDB; /* logged bytes always decode */
	} else {
		rc = rc == SQLITE_DONE ? ARR_EDB : store_db_error(rc);
	}
	sqlite3_reset(st);
	if (rc == 0 && (rc = store_scope_open(s, *cs)) < 0)
		rc = 1; /* a body its key does not open was never merged */
	for (size_t i = 0; rc == 0 && *part == NULL && i < (*cs)->nparts; i++) {
		const struct cs_part *p = &(*cs)->parts[i];

		if (p->kind == CS_DATA && p->ops != NULL &&
		    memcmp(p->scope, scope, ARR_SCOPE_LEN) == 0)
			*part = p;
	}
	if (rc == 0 && *part == NULL)
		rc = 1;
	if (rc != 0)
		changeset_destroy(cs);
	return rc;
}

/* The rows of part's ops onto rows (growing it). */
static int
rows_add(const struct cs_part *cs, struct rowref **rows, size_t *n, size_t *cap)
{
	for (size_t i = 0; i < cs->nops; i++) {
		if (*n == *cap) {
			size_t c = *cap > 0 ? *cap * 2 : 32;
			struct rowref *q = realloc(*rows, c * sizeof(*q));

			if (q == NULL)
				return ARR_ENOMEM;
			*rows = q;
			*cap = c;
		}
		(*rows)[*n].ti = changeset_op_table(&cs->ops[i]) != NULL ? cs->ops[i].tno : -1;
		memcpy((*rows)[*n].row, cs->ops[i].row, ARR_ROWID_LEN);
		(*rows)[(*n)++].rid = 0;
	}
	return 0;
}

/* Judge log_id again; *flipped when its verdict is no longer the recorded one. */
static int
rejudge(struct store *s, int64_t sc, int64_t log_id, struct rowref **rows, size_t *n, size_t *cap,
        bool *flipped)
{
	struct changeset *cs = NULL;
	const struct cs_part *part;
	struct store_verdict v;
	bool denied;
	int64_t oid;
	int rc;

	*flipped = false;
	if ((rc = load(s, log_id, sc, &cs, &oid, &part)) != 0)
		return rc < 0 ? rc : 0;
	struct store_verdict_hdr h = {cs->origin, cs->h.seq, cs->h.author_org,
	                              cs->h.schema_version};

	if ((rc = store_verdict_judge(s, &h, sc, part->ops, part->nops, &v)) == 0 &&
	    (rc = store_verdict_is_denied(s, log_id, sc, &denied)) == 0) {
		if (denied != (v.name != NULL)) {
			*flipped = true;
			rc = rows_add(part, rows, n, cap);
		} else if (denied) { /* still denied: perhaps by another rule now */
			rc = store_verdict_relabel(s, log_id, sc, &v);
		}
	}
	changeset_destroy(&cs);
	return rc;
}

/*
 * Clear row r (found in sc) to no cell taken, and gather the change sets that wrote it:
 * its own _log, kept (merged again, it adds no _rowlog entry), and its _rowlog entries.
 */
static int
row_clear(struct store *s, struct rowref *r, int64_t sc, struct ids *logs)
{
	const struct store_table *tb = &s->tables[r->ti];
	char id[ARR_ROWID_STRLEN + 1], *sql;
	int64_t first;
	int rc;

	rowid_format(r->row, id);
	if ((rc = store_merge_row_find(s, tb, id, sc, &r->rid, &first)) < 0)
		return rc == ARR_ENOTFOUND ? 0 : rc;
	if (first != 0 && ids_add(logs, first) < 0)
		return ARR_ENOMEM;
	if ((rc = run2(s, "SELECT log FROM _rowlog WHERE tbl = ?1 AND rid = ?2", r->ti, r->rid,
	               logs)) < 0 ||
	    (rc = run2(s, "DELETE FROM _rowlog WHERE tbl = ?1 AND rid = ?2", r->ti, r->rid, NULL)) <
	        0)
		return rc;
	/* every column nil, not deleted, no clock: the first op merged again takes it */
	sqlite3_str *q = sqlite3_str_new(s->db);

	sqlite3_str_appendf(q, "UPDATE \"%w\" SET _deleted = 0, _clk = x''", tb->t->name);
	for (size_t c = 0; c + 1 < tb->t->ncolumns; c++)
		sqlite3_str_appendf(q, ", \"%w\" = NULL", tb->t->columns[c].name);
	sqlite3_str_appendf(q, " WHERE _rid = ?1 AND ?2 = ?2");
	if ((sql = sqlite3_str_finish(q)) == NULL)
		return ARR_ENOMEM;
	rc = run2(s, sql, r->rid, 0, NULL);
	sqlite3_free(sql);
	return rc;
}

/* Remove row r when merging again gave it no cell (no authorised op wrote it). */
static int
row_drop_empty(struct store *s, const struct rowref *r)
{
	const struct store_table *tb = &s->tables[r->ti];
	char *sql;
	int rc;

	if (r->rid == 0)
		return 0;
	if ((sql = sqlite3_mprintf("DELETE FROM \"%w\" WHERE _rid = ?1 AND length(_clk) = ?2",
	                           tb->t->name)) == NULL)
		return ARR_ENOMEM;
	rc = run2(s, sql, r->rid, 0, NULL);
	sqlite3_free(sql);
	if (rc == 0 && sqlite3_changes(s->db) > 0)
		rc =
		    run2(s, "DELETE FROM _rowlog WHERE tbl = ?1 AND rid = ?2", r->ti, r->rid, NULL);
	return rc;
}

/* Merge the logged change sets logs (sorted, repeats skipped) of sc again. */
static int
remerge(struct store *s, int64_t sc, const struct ids *logs)
{
	int rc = 0;

	for (size_t i = 0; i < logs->n && rc == 0; i++) {
		struct changeset *cs = NULL;
		const struct cs_part *part;
		int64_t oid;

		if (i > 0 && logs->v[i] == logs->v[i - 1])
			continue;
		if ((rc = load(s, logs->v[i], sc, &cs, &oid, &part)) != 0) {
			rc = rc < 0 ? rc : 0;
			continue;
		}
		rc = store_merge_part(s, cs, part->ops, part->nops, oid, logs->v[i], sc);
		changeset_destroy(&cs);
	}
	return rc;
}

/* Entries of _scope_log the log still holds (an equivocator's leave it: store_equiv.c). */
#define SCOPE_LOGS                                                                                 \
	"SELECT g.log FROM _scope_log g JOIN _log l ON l.id = g.log AND l.origin = g.origin "      \
	"AND l.seq = g.seq "

/* The logged change sets of scope sc by member (all of sc's when member is NULL). */
static int
scope_logs(struct store *s, int64_t sc, const uint8_t *member, struct ids *out)
{
	int64_t oid;

	if (member == NULL)
		return run2(s, SCOPE_LOGS "WHERE g.sc = ?1 AND ?2 = ?2", sc, 0, out);
	if ((oid = store_mirror_origin_find(s, member)) <= 0)
		return 0;
	return run2(s, SCOPE_LOGS "WHERE g.sc = ?1 AND g.origin = ?2", sc, oid, out);
}

/*
 * Rows (nrows of them, each once or more) built again in scope sc: each is cleared (the
 * change sets that wrote it join logs), then logs are merged again in log order and rows
 * left with no value are dropped. 0 or an error.
 */
static int
rebuild_rows(struct store *s, int64_t sc, struct rowref *rows, size_t nrows, struct ids *logs)
{
	int rc = 0;

	qsort(rows, nrows, sizeof(*rows), cmp_row);
	for (size_t i = 0; i < nrows && rc == 0; i++)
		if (rows[i].ti >= 0 && (i == 0 || cmp_row(&rows[i], &rows[i - 1]) != 0))
			rc = row_clear(s, &rows[i], sc, logs);
	if (rc == 0) {
		qsort(logs->v, logs->n, sizeof(*logs->v), cmp_i64);
		rc = remerge(s, sc, logs);
	}
	for (size_t i = 0; i < nrows && rc == 0; i++)
		if (i == 0 || cmp_row(&rows[i], &rows[i - 1]) != 0)
			rc = row_drop_empty(s, &rows[i]);
	return rc;
}

int
store_verdict_redo(struct store *s, int64_t sc, const uint8_t (*members)[ARR_ORIGIN_LEN], size_t n,
                   bool all)
{
	struct ids cand = {0}, logs = {0};
	struct rowref *rows = NULL;
	size_t nrows = 0, cap = 0;
	int rc = 0;

	for (size_t i = 0; i < (all ? 1 : n) && rc == 0; i++)
		rc = scope_logs(s, sc, all ? NULL : members[i], &cand);
	for (size_t i = 0; i < cand.n && rc == 0; i++) {
		bool flipped;

		if ((rc = rejudge(s, sc, cand.v[i], &rows, &nrows, &cap, &flipped)) == 0 && flipped)
			rc = ids_add(&logs, cand.v[i]);
	}
	if (rc < 0 || logs.n == 0)
		goto out;
	rc = rebuild_rows(s, sc, rows, nrows, &logs);
out:
	free(rows);
	free(cand.v);
	free(logs.v);
	return rc;
}

int
store_verdict_redo_without(struct store *s, int64_t sc, const int64_t *drop, size_t n,
                           int (*strip)(struct store *s, int64_t sc, int64_t log_id))
{
	struct ids logs = {0};
	struct rowref *rows = NULL;
	size_t nrows = 0, cap = 0;
	int rc = 0;

	/* the rows the bodies wrote, read before they go */
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct changeset *cs = NULL;
		const struct cs_part *part;
		int64_t oid;

		if ((rc = load(s, drop[i], sc, &cs, &oid, &part)) != 0) {
			rc = rc < 0 ? rc : 0;
			continue;
		}
		rc = rows_add(part, &rows, &nrows, &cap);
		changeset_destroy(&cs);
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = strip(s, sc, drop[i]);
	if (rc < 0 || nrows == 0)
		goto out;
	/* each row again from what wrote it: a dropped body no longer loads */
	rc = rebuild_rows(s, sc, rows, nrows, &logs);
out:
	free(rows);
	free(logs.v);
	return rc;
}
