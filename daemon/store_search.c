/*
 * store_search.c: the full-text index of the local replica (SQLite FTS5) behind
 * `arrangctl search`: one document per visible arrangement holding its child's ref, its
 * coordinator, and the names and codes of its lead, municipality, school, SWV and every
 * party. The index is this node's alone: it is never replicated, never in a digest.
 *
 * Keeping it in step: SQLite's update hook tells this module of every row of
 * arrangement, arrangement_party, child and organisation that a statement changes,
 * whether a local write or a merged change set; the rows are noted in memory (at most
 * SEARCH_NOTES_MAX: past that, the whole index is rebuilt, and counted) and, before a
 * search answers and when the store closes, the documents they touch are rebuilt
 * (store_search_flush). The flush records the last log entry it has seen; an index
 * that is missing, of another SEARCH_FORMAT, or behind the log when the store opens
 * (a crash before a flush) is rebuilt from the tables. No trigger: a trigger costs
 * every write, the hook a hash insert. It must not change the domain tables.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "store_int.h"

/* The documents' layout; a new one rebuilds the index on open. */
#define SEARCH_FORMAT 1
/* Rows noted between flushes, at most (16 bytes each); past it the index is rebuilt. */
#define SEARCH_NOTES_MAX 65536

/* What a note is about: the tables whose rows make a document. */
enum kind { K_ARR, K_PARTY, K_CHILD, K_ORG, K_NONE };

struct note {
	int64_t rid;
	int32_t kind; /* K_NONE: a free slot */
};

/* The rows changed since the last flush: open addressing on a fixed table. */
struct store_search {
	struct note *v; /* 2 * SEARCH_NOTES_MAX slots */
	size_t n;
	bool all;           /* too many noted, or out of date: rebuild everything */
	uint64_t overflows; /* times the notes ran over SEARCH_NOTES_MAX */
	sqlite3_stmt *note; /* INSERT into temp._search_note */
};

#define SLOTS (2 * SEARCH_NOTES_MAX)

static const char search_sql[] =
    "CREATE VIRTUAL TABLE IF NOT EXISTS _search USING fts5(body,"
    " tokenize = 'unicode61 remove_diacritics 2');"
    /* which arrangement each party was last put in (to rebuild it when the party moves) */
    "CREATE TABLE IF NOT EXISTS _search_party_of(party INTEGER PRIMARY KEY,"
    " arrangement_id);"
    /* no index on arrangement_party(arrangement_id): it would cost every write */
    "CREATE TEMP TABLE IF NOT EXISTS _search_note(kind INTEGER NOT NULL, rid INTEGER NOT NULL,"
    " PRIMARY KEY(kind, rid)) WITHOUT ROWID;"
    "CREATE TEMP TABLE IF NOT EXISTS _search_todo(rid INTEGER PRIMARY KEY);"
    /* the organisations of each arrangement to rebuild, by role and as parties */
    "CREATE TEMP TABLE IF NOT EXISTS _search_orgs(arrangement_id TEXT NOT NULL,"
    " org_id TEXT NOT NULL, PRIMARY KEY(arrangement_id, org_id)) WITHOUT ROWID;";

/* The organisations (and children) noted, as sets of ids. */
#define NOTED(k, t)                                                                                \
	"(SELECT x.id FROM " t " x JOIN _search_note n ON n.kind = " #k " AND n.rid = x._rid)"
#define ORGS_NOTED NOTED(3, "organisation")

/* Which arrangements' documents a flush rebuilds: those the notes touch. */
static const char todo_sql[] =
    "INSERT OR IGNORE INTO _search_todo SELECT rid FROM _search_note WHERE kind = 0;"
    "INSERT OR IGNORE INTO _search_todo SELECT a._rid FROM arrangement a"
    " WHERE a.child_id IN " NOTED(
        2, "child") " OR a.lead_org_id IN " ORGS_NOTED " OR a.municipality_org_id IN " ORGS_NOTED
                    " OR a.school_org_id IN " ORGS_NOTED " OR a.swv_org_id IN " ORGS_NOTED ";"
                    "INSERT OR IGNORE INTO _search_todo SELECT a._rid FROM arrangement_party p"
                    " JOIN arrangement a ON a.id = p.arrangement_id WHERE p.org_id IN " ORGS_NOTED
                    ";"
                    /* a party noted: the arrangement it was in, and the one it is in now */
                    "INSERT OR IGNORE INTO _search_todo SELECT a._rid FROM _search_note n"
                    " JOIN _search_party_of m ON m.party = n.rid JOIN arrangement a ON a.id = "
                    "m.arrangement_id"
                    " WHERE n.kind = 1;"
                    "INSERT OR REPLACE INTO _search_party_of(party, arrangement_id) SELECT p._rid,"
                    " p.arrangement_id FROM arrangement_party p JOIN _search_note n ON n.kind = 1"
                    " AND n.rid = p._rid;"
                    "INSERT OR IGNORE INTO _search_todo SELECT a._rid FROM _search_note n"
                    " JOIN arrangement_party p ON p._rid = n.rid JOIN arrangement a ON a.id = "
                    "p.arrangement_id"
                    " WHERE n.kind = 1;";

/* Every arrangement to rebuild, and every party's arrangement remembered. */
static const char all_sql[] =
    "DELETE FROM _search; DELETE FROM _search_party_of;"
    "INSERT INTO _search_party_of(party, arrangement_id) SELECT _rid, arrangement_id"
    " FROM arrangement_party;"
    "INSERT OR IGNORE INTO _search_todo SELECT _rid FROM arrangement;";

/*
 * The documents of the arrangements to rebuild (the rowid is the arrangement's _rid):
 * their organisations gathered first, with one pass over the parties.
 */
static const char rebuild_sql[] =
    "INSERT OR IGNORE INTO _search_orgs SELECT a.id, a.lead_org_id FROM _search_todo t"
    " JOIN arrangement a ON a._rid = t.rid WHERE a.lead_org_id IS NOT NULL;"
    "INSERT OR IGNORE INTO _search_orgs SELECT a.id, a.municipality_org_id FROM _search_todo t"
    " JOIN arrangement a ON a._rid = t.rid WHERE a.municipality_org_id IS NOT NULL;"
    "INSERT OR IGNORE INTO _search_orgs SELECT a.id, a.school_org_id FROM _search_todo t"
    " JOIN arrangement a ON a._rid = t.rid WHERE a.school_org_id IS NOT NULL;"
    "INSERT OR IGNORE INTO _search_orgs SELECT a.id, a.swv_org_id FROM _search_todo t"
    " JOIN arrangement a ON a._rid = t.rid WHERE a.swv_org_id IS NOT NULL;"
    "INSERT OR IGNORE INTO _search_orgs SELECT p.arrangement_id, p.org_id"
    " FROM arrangement_party p WHERE p._deleted <> 1 AND p.org_id IS NOT NULL"
    " AND p.arrangement_id IN (SELECT a.id FROM _search_todo t"
    " JOIN arrangement a ON a._rid = t.rid);"
    "DELETE FROM _search WHERE rowid IN (SELECT rid FROM _search_todo);"
    "INSERT INTO _search(rowid, body) SELECT a._rid,"
    " coalesce((SELECT c.ref FROM child c WHERE c.id = a.child_id AND c._deleted <> 1),"
    " '') || ' ' || coalesce(a.coordinator, '') || ' ' ||"
    " coalesce((SELECT group_concat(coalesce(o.name, '') || ' ' || coalesce(o.code, ''),"
    " ' ') FROM _search_orgs g JOIN organisation o ON o.id = g.org_id"
    " WHERE g.arrangement_id = a.id AND o._deleted <> 1), '')"
    " FROM _search_todo t JOIN arrangement a ON a._rid = t.rid WHERE a._deleted <> 1;"
    "DELETE FROM _search_orgs; DELETE FROM _search_todo; DELETE FROM _search_note;"
    "INSERT OR REPLACE INTO _meta(key, value)"
    " VALUES('search_log', (SELECT coalesce(max(id), 0) FROM _log));";

static enum kind
kind_of(const char *table)
{
	/* most changes are to the store's own tables, whose names begin with '_' */
	if (table[0] == '_')
		return K_NONE;
	if (strcmp(table, "arrangement") == 0)
		return K_ARR;
	if (strcmp(table, "arrangement_party") == 0)
		return K_PARTY;
	if (strcmp(table, "child") == 0)
		return K_CHILD;
	if (strcmp(table, "organisation") == 0)
		return K_ORG;
	return K_NONE;
}

/* sqlite3_update_hook: a row of table changed (inserted, updated or deleted). */
static void
on_change(void *ctx, int op, const char *db, const char *table, sqlite3_int64 rid)
{
	struct store_search *ss = ctx;
	enum kind k = kind_of(table);
	size_t i;

	(void)op;
	(void)db;
	if (k == K_NONE || ss->all)
		return;
	for (i = ((uint64_t)rid * UINT64_C(0x9e3779b97f4a7c15) + (uint64_t)k) >> 47 & (SLOTS - 1);
	     ss->v[i].kind != K_NONE; i = (i + 1) & (SLOTS - 1))
		if (ss->v[i].rid == rid && ss->v[i].kind == (int32_t)k)
			return;
	if (ss->n == SEARCH_NOTES_MAX) {
		ss->all = true;
		ss->overflows++;
		return;
	}
	ss->v[i].rid = rid;
	ss->v[i].kind = (int32_t)k;
	ss->n++;
}

static void
notes_clear(struct store_search *ss)
{
	for (size_t i = 0; i < SLOTS; i++)
		ss->v[i].kind = K_NONE;
	ss->n = 0;
	ss->all = false;
}

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

/* The integer _meta value of key, or -1. */
static int64_t
meta_int(struct store *s, const char *key)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM _meta WHERE key = ?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

/* Is the index as the tables and the log say it must be? */
static bool
up_to_date(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int64_t last = -1;

	if (meta_int(s, "search_format") != SEARCH_FORMAT)
		return false;
	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(id), 0) FROM _log", -1, &st, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return last >= 0 && meta_int(s, "search_log") == last;
}

int
store_search_open(struct store *s)
{
	struct store_search *ss;
	char sql[128];
	int rc;

	if ((ss = s->search = calloc(1, sizeof(*ss))) == NULL ||
	    (ss->v = calloc(SLOTS, sizeof(*ss->v))) == NULL)
		return ARR_ENOMEM;
	notes_clear(ss);
	if ((rc = run_tx(s, search_sql)) < 0)
		return rc;
	if (sqlite3_prepare_v3(s->db,
	                       "INSERT OR IGNORE INTO _search_note(kind, rid) VALUES(?1, ?2)", -1,
	                       SQLITE_PREPARE_PERSISTENT, &ss->note, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_update_hook(s->db, on_change, ss);
	if (!up_to_date(s)) {
		ss->all = true;
		snprintf(sql, sizeof(sql),
		         "INSERT OR REPLACE INTO _meta(key, value) VALUES('search_format', %d);",
		         SEARCH_FORMAT);
		if ((rc = run_tx(s, sql)) < 0)
			return rc;
	}
	return store_search_flush(s);
}

void
store_search_close(struct store *s)
{
	if (s->search == NULL)
		return;
	if (s->db != NULL) {
		(void)store_search_flush(s);
		sqlite3_update_hook(s->db, NULL, NULL);
	}
	sqlite3_finalize(s->search->note);
	free(s->search->v);
	free(s->search);
	s->search = NULL;
}

uint64_t
store_search_overflows(const struct store *s)
{
	return s->search != NULL ? s->search->overflows : 0;
}

/* The notes into temp._search_note (in the flush's transaction). */
static int
notes_store(struct store *s)
{
	struct store_search *ss = s->search;

	for (size_t i = 0; i < SLOTS && !ss->all; i++) {
		if (ss->v[i].kind == K_NONE)
			continue;
		sqlite3_bind_int(ss->note, 1, ss->v[i].kind);
		sqlite3_bind_int64(ss->note, 2, ss->v[i].rid);
		if (store_db_run(ss->note) < 0)
			return ARR_EDB;
	}
	return 0;
}

int
store_search_flush(struct store *s)
{
	struct store_search *ss = s->search;
	bool own, all;
	int rc;

	if (ss == NULL || (ss->n == 0 && !ss->all))
		return 0;
	/* what a bulk apply holds open is committed first: the flush must not roll back */
	if ((rc = store_bulk_flush(s)) < 0)
		return rc;
	own = sqlite3_get_autocommit(s->db) != 0;
	if (own && (rc = store_db_begin(s)) < 0)
		return rc;
	all = ss->all;
	rc = notes_store(s);
	if (rc == 0 && sqlite3_exec(s->db, all ? all_sql : todo_sql, NULL, NULL, NULL) != SQLITE_OK)
		rc = ARR_EDB;
	if (rc == 0 && sqlite3_exec(s->db, rebuild_sql, NULL, NULL, NULL) != SQLITE_OK)
		rc = ARR_EDB;
	if (rc < 0) {
		if (own)
			store_db_rollback(s);
		return rc;
	}
	if (own && (rc = store_db_commit(s)) < 0)
		return rc;
	notes_clear(ss);
	return 0;
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
