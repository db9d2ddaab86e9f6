/*
 * store_db.c: the store's plumbing on the main connection: the cache of prepared
 * statements, binding and reading values, sqlite3 result codes as ARR_E* codes, the page
 * cache size and transactions. It knows no replication rule: what the statements mean
 * belongs to the files that run them.
 */
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "store_int.h"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_ORIGIN_INS] = "INSERT INTO _origin(id, origin) VALUES(?1, ?2)",
    [ST_LOG_INS] = "INSERT INTO _log(origin, seq, hlc, raw, chain) VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_LOG_CHAIN] = "SELECT chain FROM _log WHERE origin = ?1 AND seq = ?2",
    [ST_EQ_FROM] = "SELECT seq FROM _equiv WHERE origin = ?1",
    [ST_LOG_GET] = "SELECT raw FROM _log WHERE origin = ?1 AND seq = ?2",
    [ST_LOG_SINCE] = "SELECT seq, raw FROM _log WHERE origin = ?1 AND seq > ?2 ORDER BY seq",
    [ST_VV_UPSERT] = "INSERT INTO _vv(origin, seq) VALUES(?1, ?2) "
                     "ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq",
    [ST_ROWLOG_INS] = "INSERT OR IGNORE INTO _rowlog(tbl, rid, log) VALUES(?1, ?2, ?3)",
    /* ?1 the log id, then (tbl, rid) pairs */
    [ST_ROWLOG_INS2] = "INSERT OR IGNORE INTO _rowlog(tbl, rid, log) VALUES(?2, ?3, ?1), "
                       "(?4, ?5, ?1)",
    [ST_ROWLOG_INS4] = "INSERT OR IGNORE INTO _rowlog(tbl, rid, log) VALUES(?2, ?3, ?1), "
                       "(?4, ?5, ?1), (?6, ?7, ?1), (?8, ?9, ?1)",
    [ST_PEND_GET] = "SELECT raw FROM _pending WHERE origin = ?1 AND seq = ?2",
    [ST_PEND_INS] = "INSERT INTO _pending(origin, seq, raw, received_ms) VALUES(?1, ?2, ?3, ?4)",
    [ST_PEND_DEL] = "DELETE FROM _pending WHERE origin = ?1 AND seq = ?2",
    [ST_PEND_MAX] = "SELECT max(seq) FROM _pending WHERE origin = ?1",
    [ST_PEND_USE] = "SELECT n, bytes FROM _pending_use WHERE origin = ?1",
    [ST_PEND_TOP] = "SELECT seq, length(raw) FROM _pending WHERE origin = ?1 "
                    "ORDER BY seq DESC LIMIT 1",
    [ST_Q_UPSERT] = "INSERT INTO _quarantine(hash, raw, origin, seq, reason, detail, "
                    "received_ms, bucket, size) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                    "ON CONFLICT(hash) DO UPDATE SET reason = excluded.reason, "
                    "detail = excluded.detail, bucket = excluded.bucket",
    [ST_Q_GET] = "SELECT raw FROM _quarantine WHERE id = ?1",
    [ST_Q_DEL] = "DELETE FROM _quarantine WHERE id = ?1",
    [ST_Q_ATTEMPT] = "UPDATE _quarantine SET attempts = attempts + 1 WHERE id = ?1",
    [ST_Q_DEL_HASH] = "DELETE FROM _quarantine WHERE hash = ?1",
    [ST_Q_HAS] = "SELECT 1 FROM _quarantine WHERE hash = ?1",
    [ST_Q_NEXT] = "SELECT id FROM _quarantine WHERE id > ?1 AND id <= ?2 "
                  "AND (?3 = 0 OR reason = ?3) ORDER BY id LIMIT ?4",
    [ST_LOG_USE] = "SELECT bytes FROM _log_use WHERE origin = ?1",
    [ST_Q_MAXID] = "SELECT coalesce(max(id), 0) FROM _quarantine",
    [ST_Q_USE] = "SELECT n, bytes FROM _quarantine_use WHERE bucket = ?1",
    [ST_Q_EVICT] = "DELETE FROM _quarantine WHERE id = "
                   "(SELECT id FROM _quarantine WHERE bucket = ?1 ORDER BY id LIMIT 1)",
    [ST_SCOPE_GET] = "SELECT id FROM _scope WHERE scope = ?1",
    [ST_SCOPE_INS] = "INSERT OR IGNORE INTO _scope(scope) VALUES(?1)",
    [ST_SCOPE_BYID] = "SELECT scope FROM _scope WHERE id = ?1",
    [ST_POLICY_OWNS] = "SELECT 1 FROM _policy p JOIN _log l ON l.id = p.log "
                       "JOIN _origin o ON o.id = l.origin "
                       "WHERE p.sc = ?1 AND p.op = 1 AND o.origin = ?2",
    [ST_SKEY_GET] = "SELECT key FROM _skey WHERE sc = ?1 AND key_id = ?2",
    [ST_SKEY_INS] = "INSERT OR IGNORE INTO _skey(sc, key_id, key) VALUES(?1, ?2, ?3)",
    [ST_SKEY_FIRST] = "SELECT count(*) = 1 FROM (SELECT 1 FROM _skey WHERE sc = ?1 LIMIT 2)",
    [ST_POLICY_INS] = "INSERT INTO _policy(sc, log, part, op, author, off, len, h) "
                      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* the origin and seq of a part are its log entry's (none: an error, never skipped) */
    [ST_POLICY_LOAD] = "SELECT p.log, p.part, o.origin, l.seq, p.author, p.off, p.len, p.h "
                       "FROM _policy p LEFT JOIN _log l ON l.id = p.log "
                       "LEFT JOIN _origin o ON o.id = l.origin WHERE p.sc = ?1",
    [ST_SEALED_INS] = "INSERT INTO _sealed(log, sc, key_id, part) VALUES(?1, ?2, ?3, ?4)",
    [ST_SEALED_LIST] = "SELECT log, part FROM _sealed WHERE sc = ?1 AND key_id = ?2 "
                       "ORDER BY log, part",
    [ST_SEALED_DEL] = "DELETE FROM _sealed WHERE sc = ?1 AND key_id = ?2 AND log = ?3 "
                      "AND part = ?4",
    [ST_LOG_BY_ID] = "SELECT origin, raw FROM _log WHERE id = ?1",
    /* the length first: the entry is read only when it differs (store_policy_body.c) */
    [ST_LOG_LEN_RAW] = "SELECT length(raw), raw FROM _log WHERE id = ?1",
    [ST_Q_BYTES] = "SELECT (SELECT coalesce(sum(bytes), 0) FROM _pending_use), "
                   "(SELECT coalesce(sum(bytes), 0) FROM _quarantine_use)",
};

/* Prepare the cached statements (store_open). */
int
store_db_prepare(struct store *s)
{
	for (int i = 0; i < ST__COUNT; i++)
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
		                       NULL) != SQLITE_OK)
			return ARR_EDB;
	return 0;
}

/* Finalize the cached statements; those never prepared are NULL (store_destroy). */
void
store_db_finalize(struct store *s)
{
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
}

/* An sqlite3 result code as an ARR_E* code. */
int
store_db_error(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return ARR_EFULL;
	case SQLITE_NOMEM:
		return ARR_ENOMEM;
	default:
		return ARR_EDB;
	}
}

/* Run a cached statement that returns no rows, then reset it. */
int
store_db_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_db_error(rc);
}

/* Bind a value; text and blob bytes are borrowed until the statement is reset. */
int
store_db_bind_value(sqlite3_stmt *st, int idx, const struct value *v)
{
	switch (v->kind) {
	case VALUE_INT:
		return sqlite3_bind_int64(st, idx, v->u.i);
	case VALUE_REAL:
		return sqlite3_bind_double(st, idx, v->u.r);
	case VALUE_TEXT:
		if (v->u.b.len > INT32_MAX)
			return SQLITE_TOOBIG;
		return sqlite3_bind_text(st, idx, v->u.b.len ? v->u.b.ptr : "", (int)v->u.b.len,
		                         SQLITE_STATIC);
	case VALUE_BLOB:
		if (v->u.b.len > INT32_MAX)
			return SQLITE_TOOBIG;
		if (v->u.b.len == 0)
			return sqlite3_bind_zeroblob(st, idx, 0);
		return sqlite3_bind_blob(st, idx, v->u.b.ptr, (int)v->u.b.len, SQLITE_STATIC);
	case VALUE_NIL:
		break;
	}
	return sqlite3_bind_null(st, idx);
}

/* Column i of the current row as a value borrowing the statement's memory. */
struct value
store_db_column_value(sqlite3_stmt *st, int i)
{
	const void *p;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return value_int(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		return value_real(sqlite3_column_double(st, i));
	case SQLITE_TEXT:
		p = sqlite3_column_text(st, i);
		return value_textn(p, (size_t)sqlite3_column_bytes(st, i));
	case SQLITE_BLOB:
		p = sqlite3_column_blob(st, i);
		return value_blob(p, (size_t)sqlite3_column_bytes(st, i));
	default:
		return value_nil();
	}
}

/*
 * Index of the named domain table in schema order, or -1. An op's table is its number
 * (changeset_op_table()); this is for names, mostly the schema's own strings, which are
 * found by their address before any is compared.
 */
int
store_db_table_index(const char *name)
{
	size_t n = schema_table_count();

	for (size_t i = 0; i < n; i++)
		if (schema_table_at(i)->name == name)
			return (int)i;
	for (size_t i = 0; i < n; i++)
		if (strcmp(schema_table_at(i)->name, name) == 0)
			return (int)i;
	return -1;
}

/* Page cache of the main connection, in KiB. */
int
store_db_cache_set(struct store *s, int kib)
{
	char sql[48];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", kib);
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ARR_EDB;
	s->cache_kib = kib;
	return 0;
}

/* Begin a transaction; a held one (store_hold.c) is committed first: nothing sees it staged. */
int
store_db_begin(struct store *s)
{
	int rc;

	if (s->hold.open && (rc = store_hold_commit(s)) < 0)
		return rc;
	return store_db_run(s->st[ST_BEGIN]);
}

/* Roll back and bring the in-memory mirrors back in line with the database. */
void
store_db_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)store_db_run(s->st[ST_ROLLBACK]);
	s->bulk_tx = false;
	store_hold_lost(s); /* a held transaction went with it */
	(void)store_mirror_load(s);
	store_verdict_forget(s);    /* its cache may hold a policy the rollback undid */
	store_scope_memo_forget(s); /* ... and the memo scopes and keys it undid */
}

/*
 * Bind key to ?1 of the one-row statement st, run it and read its first n integer columns
 * into out (zeros when no row comes). 0 or a database error.
 */
int
store_db_row_ints(sqlite3_stmt *st, int64_t key, size_t n, int64_t *out)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		out[i] = 0;
	sqlite3_bind_int64(st, 1, key);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (size_t i = 0; i < n; i++)
			out[i] = sqlite3_column_int64(st, (int)i);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/*
 * Run the bound one-row statement st and copy its column col into out when it holds
 * exactly len bytes. 0, ARR_ENOTFOUND (no row, or a value of another length) or a
 * database error. st is reset.
 */
int
store_db_blob(sqlite3_stmt *st, int col, void *out, size_t len)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW && (size_t)sqlite3_column_bytes(st, col) == len)
		memcpy(out, sqlite3_column_blob(st, col), len);
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = ARR_ENOTFOUND;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == ARR_ENOTFOUND ? rc : store_db_error(rc);
}

int
store_db_commit(struct store *s)
{
	int rc;

	if ((rc = store_digest_flush(s)) == 0)
		rc = store_db_run(s->st[ST_COMMIT]);
	if (rc < 0) {
		store_db_rollback(s);
		return rc;
	}
	store_ckpt_wal_limit(s);
	return 0;
}
