/*
 * store_search.c: the full-text index of the local replica (SQLite FTS5) behind
 * `arrangctl search`: one document per visible arrangement holding its child's ref, its
 * coordinator, and the names and codes of its lead, municipality, school, SWV and every
 * party. The index is this node's alone: it is never replicated, never in a digest.
 *
 * Keeping it in step: SQLite's update hook tells this module of every row of
 * arrangement, arrangement_party, child and organisation that a statement changes,
 * whether a local write or a merged change set; the rows are noted in memory (at most
 * SEARCH_NOTES_MAX) and, before a search answers and when the store closes, the
 * documents they touch are rebuilt (store_search_flush: bounded by the notes). The
 * flush records the last log entry it has seen.
 *
 * More rows changed than the notes hold, or an index missing, of another SEARCH_FORMAT
 * or behind the log when the store opens (a crash before a flush), starts a rebuild of
 * the whole index that runs in steps (store_search_rebuild.c: store_search_step, driven
 * by the daemon's loop): first every party's arrangement is remembered, then the
 * documents are rebuilt by ranges of arrangement _rid, a bounded batch at a time, the
 * cursor kept in _meta so a rebuild left unfinished by a close resumes after the next
 * open. This file only records that a rebuild is to start; the steps are that file's.
 * Meanwhile a search answers from what the index holds (store_search_progress says how
 * far it is). Open, close and search never rebuild the whole index in one go. No
 * trigger: a trigger costs every write, the hook a hash insert. It must not change the
 * domain tables.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "store_int.h"
#include "store_search_int.h"

/* The documents' layout; a new one rebuilds the index (in steps) after the open. */
#define SEARCH_FORMAT 2
/* Rows noted between flushes, at most (16 bytes each); past it the index is rebuilt. */
#define SEARCH_NOTES_MAX 65536
/* Rows (parties, then arrangements) one batch of a rebuild step takes, at most. */
#define SEARCH_BATCH 128

/* What a note is about: the tables whose rows make a document. */
enum kind { K_ARR, K_PARTY, K_CHILD, K_ORG, K_NONE };

#define SLOTS (2 * SEARCH_NOTES_MAX)

static const char search_sql[] =
    "CREATE VIRTUAL TABLE IF NOT EXISTS _search USING fts5(body,"
    " tokenize = 'unicode61 remove_diacritics 2');"
    /* which arrangement each party was last put in (to rebuild it when the party moves) */
    "CREATE TABLE IF NOT EXISTS _search_party_of(party INTEGER PRIMARY KEY,"
    " arrangement_id);"
    /* the parties of an arrangement without an index on arrangement_party, which would
       cost every write: this one costs a flush */
    "CREATE INDEX IF NOT EXISTS _search_party_arr ON _search_party_of(arrangement_id);"
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

/*
 * The documents of the arrangements to rebuild (the rowid is the arrangement's _rid):
 * their organisations gathered first, the parties through _search_party_of. CROSS JOIN
 * keeps the planner to the order written: from the few to rebuild, never a scan of
 * arrangement (a step's batch must cost the batch, not the replica).
 */
static const char build_sql[] =
    "INSERT OR IGNORE INTO _search_orgs SELECT a.id, a.lead_org_id FROM _search_todo t"
    " CROSS JOIN arrangement a ON a._rid = t.rid WHERE a.lead_org_id IS NOT NULL;"
    "INSERT OR IGNORE INTO _search_orgs SELECT a.id, a.municipality_org_id FROM _search_todo t"
    " CROSS JOIN arrangement a ON a._rid = t.rid WHERE a.municipality_org_id IS NOT NULL;"
    "INSERT OR IGNORE INTO _search_orgs SELECT a.id, a.school_org_id FROM _search_todo t"
    " CROSS JOIN arrangement a ON a._rid = t.rid WHERE a.school_org_id IS NOT NULL;"
    "INSERT OR IGNORE INTO _search_orgs SELECT a.id, a.swv_org_id FROM _search_todo t"
    " CROSS JOIN arrangement a ON a._rid = t.rid WHERE a.swv_org_id IS NOT NULL;"
    "INSERT OR IGNORE INTO _search_orgs SELECT a.id, p.org_id FROM _search_todo t"
    " CROSS JOIN arrangement a ON a._rid = t.rid CROSS JOIN _search_party_of m ON m.arrangement_id "
    "= a.id"
    " CROSS JOIN arrangement_party p ON p._rid = m.party AND p.arrangement_id = a.id"
    " WHERE p._deleted <> 1 AND p.org_id IS NOT NULL;"
    "DELETE FROM _search WHERE rowid IN (SELECT rid FROM _search_todo);"
    "INSERT INTO _search(rowid, body) SELECT a._rid,"
    " coalesce((SELECT c.ref FROM child c WHERE c.id = a.child_id AND c._deleted <> 1),"
    " '') || ' ' || coalesce(a.coordinator, '') || ' ' ||"
    " coalesce((SELECT group_concat(coalesce(o.name, '') || ' ' || coalesce(o.code, ''),"
    " ' ') FROM _search_orgs g JOIN organisation o ON o.id = g.org_id"
    " WHERE g.arrangement_id = a.id AND o._deleted <> 1), '')"
    " FROM _search_todo t CROSS JOIN arrangement a ON a._rid = t.rid WHERE a._deleted <> 1;"
    "DELETE FROM _search_orgs; DELETE FROM _search_todo;";

int
store_search_build(struct store *s)
{
	return sqlite3_exec(s->db, build_sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : ARR_EDB;
}

#define STR_(x) #x
#define STR(x)  STR_(x)
/* The format of the index, and the log entry it has seen (all, as it is empty). */
static const char format_sql[] =
    "INSERT OR REPLACE INTO _meta(key, value) VALUES('search_format', " STR(
        SEARCH_FORMAT) ");"
                       "INSERT OR REPLACE INTO _meta(key, value)"
                       " VALUES('search_log', (SELECT coalesce(max(id), 0) FROM _log));";

/* The notes are done with: the log entry the index has seen. */
static const char seen_sql[] = "DELETE FROM _search_note;"
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
	if (ss->n >= ss->notes_max) {
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

int64_t
store_search_query_int(struct store *s, const char *sql, int64_t dflt)
{
	sqlite3_stmt *st = NULL;
	int64_t v = dflt;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The integer _meta value of key, or -1. */
static int64_t
meta_int(struct store *s, const char *key)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT value FROM _meta WHERE key = '%s'", key);
	return store_search_query_int(s, sql, -1);
}

/* Has the index seen every log entry (no change lost to a crash before a flush)? */
static bool
seen_all(struct store *s)
{
	int64_t last = store_search_query_int(s, "SELECT coalesce(max(id), 0) FROM _log", -1);

	return last >= 0 && meta_int(s, "search_log") == last;
}

/* Are the index and the tables it is made from empty (a new replica)? */
static bool
empty(struct store *s)
{
	return store_search_query_int(s,
	                              "SELECT (SELECT 1 FROM arrangement LIMIT 1) IS NULL AND"
	                              " (SELECT 1 FROM arrangement_party LIMIT 1) IS NULL AND"
	                              " (SELECT 1 FROM _search LIMIT 1) IS NULL",
	                              0) == 1;
}

/*
 * The index as the last close left it: its format, whether it saw every change, and
 * the rebuild to resume, if any. An index of another format loses its party map (the
 * one table whose layout changed); its documents answer until the rebuild replaces them.
 */
static int
state_load(struct store *s)
{
	struct store_search *ss = s->search;
	bool fresh = meta_int(s, "search_format") == SEARCH_FORMAT;
	int rc;

	if (!fresh && (rc = run_tx(s, "DROP TABLE IF EXISTS _search_party_of;")) < 0)
		return rc;
	if ((rc = run_tx(s, search_sql)) < 0)
		return rc;
	ss->phase = (int)meta_int(s, "search_phase");
	ss->cursor = meta_int(s, "search_cursor");
	ss->done = meta_int(s, "search_done");
	if (ss->phase == P_PARTIES || ss->phase == P_DOCS) {
		if (fresh && seen_all(s) && ss->cursor >= 0 && ss->done >= 0)
			return 0; /* resumed where the last close left it */
	} else if (fresh && seen_all(s)) {
		ss->phase = P_NONE;
		return 0;
	} else if (empty(s)) { /* a new replica: nothing to rebuild */
		ss->phase = P_NONE;
		return run_tx(s, format_sql);
	}
	if ((rc = store_db_begin(s)) < 0)
		return rc;
	if (sqlite3_exec(s->db, format_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    (rc = store_search_rebuild_start(s)) < 0 ||
	    sqlite3_exec(s->db, seen_sql, NULL, NULL, NULL) != SQLITE_OK) {
		store_db_rollback(s);
		return ARR_EDB;
	}
	return store_db_commit(s);
}

/* The statement noting rows into temp._search_note, prepared once (after the tables). */
static int
note_prepare(struct store *s)
{
	struct store_search *ss = s->search;

	if (ss->note != NULL)
		return 0;
	if (sqlite3_prepare_v3(s->db,
	                       "INSERT OR IGNORE INTO _search_note(kind, rid) VALUES(?1, ?2)", -1,
	                       SQLITE_PREPARE_PERSISTENT, &ss->note, NULL) != SQLITE_OK)
		return ARR_EDB;
	return 0;
}

int
store_search_open(struct store *s)
{
	struct store_search *ss;
	int rc;

	if ((ss = s->search = calloc(1, sizeof(*ss))) == NULL ||
	    (ss->v = calloc(SLOTS, sizeof(*ss->v))) == NULL)
		return ARR_ENOMEM;
	ss->notes_max = SEARCH_NOTES_MAX;
	ss->batch = SEARCH_BATCH;
	notes_clear(ss);
	if ((rc = state_load(s)) < 0 || (rc = note_prepare(s)) < 0)
		return rc;
	sqlite3_update_hook(s->db, on_change, ss);
	return 0;
}

void
store_search_close(struct store *s)
{
	if (s->search == NULL)
		return;
	if (s->db != NULL) {
		/* the notes are bounded; a rebuild left unfinished stays recorded, resumed later */
		if (store_search_flush(s) == 0 && s->search->n == 0)
			(void)run_tx(s, seen_sql);
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

	for (size_t i = 0; i < SLOTS; i++) {
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
	int phase = ss != NULL ? ss->phase : P_NONE;
	int64_t cursor = ss != NULL ? ss->cursor : 0, done = ss != NULL ? ss->done : 0;
	bool own;
	int rc;

	if (ss == NULL || (ss->n == 0 && !ss->all))
		return 0;
	/* what a bulk apply holds open is committed first: the flush must not roll back */
	if ((rc = store_bulk_flush(s)) < 0)
		return rc;
	own = sqlite3_get_autocommit(s->db) != 0;
	if (own && (rc = store_db_begin(s)) < 0)
		return rc;
	if (ss->all) /* changes were lost to the bound: the whole index, in steps */
		rc = store_search_rebuild_start(s);
	else if ((rc = notes_store(s)) == 0 &&
	         (sqlite3_exec(s->db, todo_sql, NULL, NULL, NULL) != SQLITE_OK ||
	          store_search_build(s) < 0))
		rc = ARR_EDB;
	if (rc == 0 && sqlite3_exec(s->db, seen_sql, NULL, NULL, NULL) != SQLITE_OK)
		rc = ARR_EDB;
	if (rc == 0 && own)
		rc = store_db_commit(s);
	else if (rc < 0 && own)
		store_db_rollback(s);
	if (rc < 0) {
		ss->phase = phase; /* as the rolled-back _meta says */
		ss->cursor = cursor;
		ss->done = done;
		return rc;
	}
	notes_clear(ss);
	return 0;
}

void
store_search_limits(struct store *s, size_t notes_max, size_t batch)
{
	if (s->search == NULL)
		return;
	if (notes_max > 0 && notes_max <= SEARCH_NOTES_MAX)
		s->search->notes_max = notes_max;
	if (batch > 0)
		s->search->batch = batch;
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
