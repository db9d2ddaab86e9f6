/*
 * store_search.c: the full-text index of the local replica (SQLite FTS5) behind
 * `arrangctl search`: one document per visible arrangement holding its child's ref, its
 * coordinator, and the names and codes of its lead, municipality, school, SWV and every
 * party. The index is this node's alone: it is never replicated, never in a digest.
 *
 * Keeping it in step: triggers on the domain tables note each arrangement, child or
 * organisation whose searchable fields change (_search_dirty), inside the transaction
 * that changes them, whether a local write or a merged change set; before a search
 * answers, the noted rows' documents are rebuilt (store_search_flush). On open, an
 * index of another SEARCH_FORMAT, or none, is rebuilt from the tables. It must not
 * touch the domain tables, and reads them only to build documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "store_int.h"

/* The documents' layout; a new one rebuilds the index on open. */
#define SEARCH_FORMAT 1

/* _search_dirty.kind: what changed */
#define KIND_ARR   "0"
#define KIND_CHILD "1"
#define KIND_ORG   "2"

/* note(KIND, ID): remember a changed row */
#define NOTE(kind, id) " INSERT OR IGNORE INTO _search_dirty(kind, id) VALUES(" kind ", " id ");"

static const char search_sql[] =
    "CREATE VIRTUAL TABLE IF NOT EXISTS _search USING fts5(body,"
    " tokenize = 'unicode61 remove_diacritics 2');"
    "CREATE TABLE IF NOT EXISTS _search_dirty(kind INTEGER NOT NULL, id TEXT NOT NULL,"
    " PRIMARY KEY(kind, id)) WITHOUT ROWID;"
    /* a document gathers an arrangement's parties */
    "CREATE INDEX IF NOT EXISTS _search_party ON arrangement_party(arrangement_id);"
    "CREATE TRIGGER IF NOT EXISTS _search_arr_ins AFTER INSERT ON arrangement BEGIN" NOTE(
        KIND_ARR,
        "new.id") " END;"
                  "CREATE TRIGGER IF NOT EXISTS _search_arr_upd AFTER UPDATE ON arrangement"
                  " WHEN old.child_id IS NOT new.child_id OR old.coordinator IS NOT new.coordinator"
                  " OR old.lead_org_id IS NOT new.lead_org_id"
                  " OR old.municipality_org_id IS NOT new.municipality_org_id"
                  " OR old.school_org_id IS NOT new.school_org_id OR old.swv_org_id IS NOT "
                  "new.swv_org_id"
                  " OR old._deleted IS NOT new._deleted BEGIN" NOTE(
                      KIND_ARR,
                      "new.id") " END;"
                                "CREATE TRIGGER IF NOT EXISTS _search_party_ins AFTER INSERT ON "
                                "arrangement_party"
                                " WHEN new.arrangement_id IS NOT NULL BEGIN" NOTE(
                                    KIND_ARR,
                                    "new.arrangement_id") " END;"
                                                          "CREATE TRIGGER IF NOT EXISTS "
                                                          "_search_party_upd AFTER UPDATE ON "
                                                          "arrangement_party"
                                                          " WHEN old.arrangement_id IS NOT "
                                                          "new.arrangement_id OR old.org_id IS NOT "
                                                          "new.org_id"
                                                          " OR old._deleted IS NOT new._deleted "
                                                          "BEGIN"
                                                          " INSERT OR IGNORE INTO "
                                                          "_search_dirty(kind, id) SELECT " KIND_ARR
                                                          ", x FROM"
                                                          " (SELECT old.arrangement_id AS x UNION "
                                                          "SELECT new.arrangement_id) WHERE x IS "
                                                          "NOT NULL;"
                                                          " END;"
                                                          "CREATE TRIGGER IF NOT EXISTS "
                                                          "_search_child_ins AFTER INSERT ON child "
                                                          "BEGIN" NOTE(
                                                              KIND_CHILD,
                                                              "new.id") " END;"
                                                                        "CREATE TRIGGER IF NOT "
                                                                        "EXISTS _search_child_upd "
                                                                        "AFTER UPDATE ON child"
                                                                        " WHEN old.ref IS NOT "
                                                                        "new.ref OR old._deleted "
                                                                        "IS NOT new._deleted "
                                                                        "BEGIN" NOTE(
                                                                            KIND_CHILD,
                                                                            "new.id") " END;"
                                                                                      "CREATE "
                                                                                      "TRIGGER IF "
                                                                                      "NOT EXISTS "
                                                                                      "_search_org_"
                                                                                      "ins AFTER "
                                                                                      "INSERT ON "
                                                                                      "organisation"
                                                                                      " BEGIN" NOTE(
                                                                                          KIND_ORG,
                                                                                          "new.id") " END;"
                                                                                                    "CREATE TRIGGER IF NOT EXISTS _search_org_upd AFTER UPDATE ON organisation"
                                                                                                    " WHEN old.name IS NOT new.name OR old.code IS NOT new.code"
                                                                                                    " OR old._deleted IS NOT new._deleted BEGIN" NOTE(
                                                                                                        KIND_ORG,
                                                                                                        "new.id") " END;";

/* Every arrangement noted again: the whole index is rebuilt by the next flush. */
static const char rebuild_sql[] = "DELETE FROM _search;"
                                  "INSERT OR IGNORE INTO _search_dirty(kind, id)"
                                  " SELECT " KIND_ARR ", id FROM arrangement WHERE _deleted <> 1;";

/* The organisations of arrangement a, by role and as parties. */
#define ORGS_OF_A                                                                                  \
	"SELECT a.lead_org_id UNION ALL SELECT a.municipality_org_id"                              \
	" UNION ALL SELECT a.school_org_id UNION ALL SELECT a.swv_org_id"                          \
	" UNION ALL SELECT p.org_id FROM arrangement_party p"                                      \
	" WHERE p.arrangement_id = a.id AND p._deleted <> 1"

/* Noted children and organisations note the arrangements that show them. */
static const char spread_sql[] =
    "INSERT OR IGNORE INTO _search_dirty(kind, id) SELECT " KIND_ARR ", a.id FROM arrangement a"
    " WHERE a.child_id IN (SELECT id FROM _search_dirty WHERE kind = " KIND_CHILD ")"
    " OR a.lead_org_id IN (SELECT id FROM _search_dirty WHERE kind = " KIND_ORG ")"
    " OR a.municipality_org_id IN (SELECT id FROM _search_dirty WHERE kind = " KIND_ORG ")"
    " OR a.school_org_id IN (SELECT id FROM _search_dirty WHERE kind = " KIND_ORG ")"
    " OR a.swv_org_id IN (SELECT id FROM _search_dirty WHERE kind = " KIND_ORG ");"
    "INSERT OR IGNORE INTO _search_dirty(kind, id) SELECT " KIND_ARR ", p.arrangement_id"
    " FROM arrangement_party p WHERE p.arrangement_id IS NOT NULL"
    " AND p.org_id IN (SELECT id FROM _search_dirty WHERE kind = " KIND_ORG ");";

/* The noted arrangements' documents rebuilt (the rowid is the arrangement's _rid). */
static const char flush_sql[] =
    "DELETE FROM _search WHERE rowid IN (SELECT a._rid FROM _search_dirty d"
    " JOIN arrangement a ON a.id = d.id WHERE d.kind = " KIND_ARR ");"
    "INSERT INTO _search(rowid, body) SELECT a._rid,"
    " coalesce((SELECT c.ref FROM child c WHERE c.id = a.child_id AND c._deleted <> 1), '')"
    " || ' ' || coalesce(a.coordinator, '') || ' ' ||"
    " coalesce((SELECT group_concat(coalesce(o.name, '') || ' ' || coalesce(o.code, ''), ' ')"
    " FROM organisation o WHERE o._deleted <> 1 AND o.id IN (" ORGS_OF_A ")), '')"
    " FROM _search_dirty d JOIN arrangement a ON a.id = d.id"
    " WHERE d.kind = " KIND_ARR " AND a._deleted <> 1;"
    "DELETE FROM _search_dirty;";

/* Run sql inside the open transaction or one of its own. */
static int
run_tx(struct store *s, const char *sql)
{
	bool own = sqlite3_get_autocommit(s->db) != 0;
	int rc;

	if (own && (rc = store_db_begin(s)) < 0)
		return rc;
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		if (own)
			store_db_rollback(s);
		return ARR_EDB;
	}
	return own ? store_db_commit(s) : 0;
}

/* The format the index was built in, or 0. */
static int
format_of(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int v = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM _meta WHERE key = 'search_format'", -1,
	                       &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
store_search_open(struct store *s)
{
	char sql[sizeof(rebuild_sql) + 128];
	int rc;

	if ((rc = run_tx(s, search_sql)) < 0)
		return rc;
	if (format_of(s) != SEARCH_FORMAT) {
		snprintf(sql, sizeof(sql),
		         "%sINSERT OR REPLACE INTO _meta(key, value) VALUES('search_format', %d);",
		         rebuild_sql, SEARCH_FORMAT);
		if ((rc = run_tx(s, sql)) < 0)
			return rc;
	}
	return store_search_flush(s);
}

int
store_search_flush(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int kinds = 0, rc;

	/* children and organisations noted: one scan finds who shows them */
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT EXISTS(SELECT 1 FROM _search_dirty WHERE kind > " KIND_ARR
	                       "), EXISTS(SELECT 1 FROM _search_dirty)",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return ARR_EDB;
	}
	kinds = sqlite3_column_int(st, 0) * 2 + sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	if (kinds == 0)
		return 0;
	if (kinds >= 2 && (rc = run_tx(s, spread_sql)) < 0)
		return rc;
	return run_tx(s, flush_sql);
}

/*
 * The FTS5 query for what a user typed: each word (a run without blanks) as a quoted
 * prefix phrase, all of them required; words without a letter or digit are left out.
 * ARR_EINVAL when none is left, ARR_ENOMEM.
 */
static int
fts_query(const char *text, char **out)
{
	size_t n = strlen(text), len = 0, words = 0;
	char *q = malloc(n * 2 + 4 * (n / 2 + 1) + 1);

	if ((*out = q) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		bool token = false;

		while (j < n && text[j] != ' ' && text[j] != '\t' && text[j] != '\n')
			j++;
		for (size_t k = i; k < j; k++)
			token |= (text[k] >= '0' && text[k] <= '9') ||
			         ((text[k] | 0x20) >= 'a' && (text[k] | 0x20) <= 'z') ||
			         (unsigned char)text[k] >= 0x80;
		if (token) {
			q[len++] = words++ > 0 ? ' ' : '"';
			if (words > 1)
				q[len++] = '"';
			for (size_t k = i; k < j; k++) {
				if (text[k] == '"')
					q[len++] = '"';
				q[len++] = text[k];
			}
			q[len++] = '"';
			q[len++] = '*';
		}
		i = j + 1;
	}
	q[len] = '\0';
	return words > 0 ? 0 : ARR_EINVAL;
}

int
store_search(struct store *s, const char *text, size_t limit, store_row_fn fn, void *ctx)
{
	const struct store_table *tb = &s->tables[store_db_table_index("arrangement")];
	const char *from = strstr(tb->select, " FROM ");
	sqlite3_stmt *st = NULL;
	char *q = NULL, *sql = NULL;
	int rc;

	if ((rc = fts_query(text, &q)) < 0 || (rc = store_search_flush(s)) < 0)
		goto out;
	/* the visible columns of arrangement, as get and list return them */
	sql =
	    sqlite3_mprintf("%.*s FROM _search JOIN arrangement ON arrangement._rid = _search.rowid"
	                    " WHERE _search MATCH ?1 AND arrangement._deleted <> 1"
	                    " ORDER BY bm25(_search), arrangement.id LIMIT ?2",
	                    (int)(from - tb->select), tb->select);
	rc = ARR_EDB;
	if (sql == NULL || sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit > 0 ? (sqlite3_int64)limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (size_t c = 0; c < tb->nnames; c++)
			s->scratch[c] = store_db_column_value(st, (int)c);
		if ((rc = fn(ctx, tb->nnames, tb->names, s->scratch)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : store_db_error(rc);
out:
	sqlite3_finalize(st);
	sqlite3_free(sql);
	free(q);
	return rc;
}
