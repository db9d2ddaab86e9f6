/*
 * store_search_rebuild.c: the rebuild of the whole full-text index (store_search.c) in
 * steps run from the daemon's loop (store_search_due, store_search_step): first every
 * party's arrangement is remembered (_search_party_of), then the documents are rebuilt
 * by ranges of arrangement _rid, a bounded batch at a time, in one transaction per
 * step, with where it is (phase, cursor, arrangements done) kept in _meta so that a
 * rebuild left unfinished by a close resumes after the next open; and how far it is
 * (store_search_progress). It must not change the domain tables, and never rebuilds the
 * whole index in one go.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "monoclock.h"
#include "store_int.h"
#include "store_search_int.h"

/* The SQL that records where the rebuild is (phase, cursor, done) into buf. */
static const char *
state_sql(char *buf, size_t n, int phase, int64_t cursor, int64_t done)
{
	snprintf(buf, n,
	         "INSERT OR REPLACE INTO _meta(key, value) VALUES('search_phase', %d),"
	         " ('search_cursor', %lld), ('search_done', %lld);",
	         phase, (long long)cursor, (long long)done);
	return buf;
}

int
store_search_rebuild_start(struct store *s)
{
	char sql[192];

	if (sqlite3_exec(s->db, state_sql(sql, sizeof(sql), P_PARTIES, 0, 0), NULL, NULL, NULL) !=
	    SQLITE_OK)
		return ARR_EDB;
	s->search->phase = P_PARTIES;
	s->search->cursor = 0;
	s->search->done = 0;
	return 0;
}

/*
 * Where the next batch of table's rows after cursor ends: the _rid of the batch-th (its
 * rowid for _search), or INT64_MAX when fewer are left. -1 on an error.
 */
static int64_t
batch_end(struct store *s, const char *table, const char *rid, int64_t cursor, size_t batch)
{
	char sql[192];

	snprintf(
	    sql, sizeof(sql),
	    "SELECT coalesce((SELECT %s FROM %s WHERE %s > %lld ORDER BY %s LIMIT 1 OFFSET %zu),"
	    " %lld)",
	    rid, table, rid, (long long)cursor, rid, batch - 1, (long long)INT64_MAX);
	return store_search_query_int(s, sql, -1);
}

/* One batch of the party map: the arrangement of every party in the next _rid range. */
static int
batch_parties(struct store *s, struct store_search *ss)
{
	int64_t end = batch_end(s, "arrangement_party", "_rid", ss->cursor, ss->batch);
	char sql[192];

	if (end < 0)
		return ARR_EDB;
	snprintf(sql, sizeof(sql),
	         "INSERT OR REPLACE INTO _search_party_of(party, arrangement_id) SELECT _rid,"
	         " arrangement_id FROM arrangement_party WHERE _rid > %lld AND _rid <= %lld;",
	         (long long)ss->cursor, (long long)end);
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ARR_EDB;
	ss->cursor = end;
	if (end == INT64_MAX) { /* every party mapped: the documents next */
		ss->phase = P_DOCS;
		ss->cursor = 0;
	}
	return 0;
}

/*
 * One batch of documents: those of the arrangements in the next _rid range, where the
 * range holds at most batch arrangements and batch old documents (of arrangements gone).
 */
static int
batch_docs(struct store *s, struct store_search *ss)
{
	int64_t end = batch_end(s, "arrangement", "_rid", ss->cursor, ss->batch),
	        old = batch_end(s, "_search", "rowid", ss->cursor, ss->batch);
	char sql[256];
	int n;

	if (end < 0 || old < 0)
		return ARR_EDB;
	if (old < end)
		end = old;
	snprintf(sql, sizeof(sql),
	         "DELETE FROM _search WHERE rowid > %lld AND rowid <= %lld;"
	         "INSERT OR IGNORE INTO _search_todo SELECT _rid FROM arrangement"
	         " WHERE _rid > %lld AND _rid <= %lld;",
	         (long long)ss->cursor, (long long)end, (long long)ss->cursor, (long long)end);
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ARR_EDB;
	n = sqlite3_changes(s->db);
	if (store_search_build(s) < 0)
		return ARR_EDB;
	ss->done += n;
	ss->built += (uint64_t)n;
	ss->cursor = end;
	if (end == INT64_MAX)
		ss->phase = P_NONE;
	return 0;
}

bool
store_search_pending(const struct store *s)
{
	return s->search != NULL && (s->search->phase != P_NONE || s->search->all);
}

bool
store_search_due(const struct store *s)
{
	/*
	 * a catch-up's bulk transaction, a parked change set or held writes (store_hold.c)
	 * are not cut short for the index
	 */
	return store_search_pending(s) && !s->bulk_tx && !s->hold.open && !store_apply_busy(s);
}

/* Batches until the rebuild is done or budget_ms have passed, at least one. */
static int
step_batches(struct store *s, struct store_search *ss, unsigned budget_ms)
{
	uint64_t start = mono_ms();
	char sql[192];
	int rc = 0;

	do {
		rc = ss->phase == P_PARTIES ? batch_parties(s, ss) : batch_docs(s, ss);
	} while (rc == 0 && ss->phase != P_NONE && mono_ms() - start < budget_ms);
	if (rc == 0 && ss->phase == P_NONE &&
	    sqlite3_exec(s->db,
	                 "DELETE FROM _meta WHERE key IN ('search_phase', 'search_cursor',"
	                 " 'search_done');",
	                 NULL, NULL, NULL) != SQLITE_OK)
		rc = ARR_EDB;
	if (rc == 0 && ss->phase != P_NONE &&
	    sqlite3_exec(s->db, state_sql(sql, sizeof(sql), ss->phase, ss->cursor, ss->done), NULL,
	                 NULL, NULL) != SQLITE_OK)
		rc = ARR_EDB;
	return rc;
}

int
store_search_step(struct store *s, unsigned budget_ms)
{
	struct store_search *ss = s->search;
	int phase, rc;
	int64_t cursor, done;

	if (ss == NULL)
		return 1;
	if (ss->all && (rc = store_search_flush(s)) < 0) /* the rebuild starts over */
		return rc;
	if (ss->phase == P_NONE)
		return 1;
	if ((rc = store_bulk_flush(s)) < 0 || (rc = store_db_begin(s)) < 0)
		return rc;
	phase = ss->phase;
	cursor = ss->cursor;
	done = ss->done;
	if ((rc = step_batches(s, ss, budget_ms)) == 0)
		rc = store_db_commit(s);
	else
		store_db_rollback(s);
	if (rc < 0) {
		ss->phase = phase;
		ss->cursor = cursor;
		ss->done = done;
		return rc;
	}
	return ss->phase == P_NONE ? 1 : 0;
}

int
store_search_progress(struct store *s, struct store_search_progress *p)
{
	struct store_search *ss = s->search;
	int64_t max =
	    store_search_query_int(s, "SELECT coalesce(max(_rid), 0) FROM arrangement", -1);

	memset(p, 0, sizeof(*p));
	p->complete = !store_search_pending(s);
	if (max < 0)
		return ARR_EDB;
	if (p->complete || ss->all) {
		p->total = (uint64_t)max;
		p->done = p->complete ? p->total : 0;
		return 0;
	}
	/* the arrangements after the cursor, estimated by their _rid range */
	p->done = (uint64_t)ss->done;
	p->total = p->done;
	if (ss->phase != P_DOCS)
		p->total += (uint64_t)max;
	else if (max > ss->cursor)
		p->total += (uint64_t)(max - ss->cursor);
	return 0;
}

uint64_t
store_search_built(const struct store *s)
{
	return s->search != NULL ? s->search->built : 0;
}
