/*
 * store_open.c: opening and closing the replica: connection settings, the metadata
 * schema, the domain tables and their statements built from schema.h, the node identity
 * and format checks, the clock and mirrors loaded at start, and the runtime settings
 * (members, drift). It must not apply or write change sets itself: a fresh replica only
 * gets its own origin id.
 */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "store_int.h"
#include "store_precheck.h"
#include "store_member.h"

/*
 * 11: _policy rows point at their bodies in the log; 10: a row's first history entry in
 * the row (_log); 9: a _policy row per part; 8: parts; 7: scopes; 6: _search; 5: _equiv;
 * 4: budgets
 */
#define STORE_FORMAT  11
#define PAGE_SIZE_STR "16384" /* bytes per database page, for new databases */

#define META_SQL "CREATE TABLE IF NOT EXISTS _meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"

static const char schema_sql[] = META_SQL
    "CREATE TABLE IF NOT EXISTS _origin(id INTEGER PRIMARY KEY, origin BLOB NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS _log(id INTEGER PRIMARY KEY, origin INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, hlc INTEGER NOT NULL, raw BLOB NOT NULL, chain BLOB NOT NULL,"
    " UNIQUE(origin, seq));"
    "CREATE TABLE IF NOT EXISTS _vv(origin INTEGER PRIMARY KEY, seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS _rowlog(tbl INTEGER NOT NULL, rid INTEGER NOT NULL,"
    " log INTEGER NOT NULL, PRIMARY KEY(tbl, rid, log)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS _pending(id INTEGER PRIMARY KEY, origin INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, raw BLOB NOT NULL, received_ms INTEGER NOT NULL,"
    " UNIQUE(origin, seq));"
    "CREATE TABLE IF NOT EXISTS _quarantine(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,"
    " raw BLOB NOT NULL, origin BLOB, seq INTEGER, reason INTEGER NOT NULL,"
    " detail TEXT NOT NULL, received_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, bucket INTEGER NOT NULL, size INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS _quarantine_bucket ON _quarantine(bucket, id);"
    /* what each origin (each bucket) uses of its budget (store_budget.c) */
    "CREATE TABLE IF NOT EXISTS _pending_use(origin INTEGER PRIMARY KEY,"
    " n INTEGER NOT NULL, bytes INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS _quarantine_use(bucket INTEGER PRIMARY KEY,"
    " n INTEGER NOT NULL, bytes INTEGER NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS _pending_ins AFTER INSERT ON _pending BEGIN"
    " INSERT INTO _pending_use(origin, n, bytes) VALUES(new.origin, 1, length(new.raw))"
    " ON CONFLICT(origin) DO UPDATE SET n = n + 1, bytes = bytes + excluded.bytes; END;"
    "CREATE TRIGGER IF NOT EXISTS _pending_del AFTER DELETE ON _pending BEGIN"
    " UPDATE _pending_use SET n = n - 1, bytes = bytes - length(old.raw)"
    " WHERE origin = old.origin; END;"
    /* an entry counts its kept bytes plus STORE_Q_ENTRY_BYTES (128) */
    "CREATE TRIGGER IF NOT EXISTS _quarantine_ins AFTER INSERT ON _quarantine BEGIN"
    " INSERT INTO _quarantine_use(bucket, n, bytes)"
    " VALUES(new.bucket, 1, length(new.raw) + 128)"
    " ON CONFLICT(bucket) DO UPDATE SET n = n + 1, bytes = bytes + excluded.bytes; END;"
    "CREATE TRIGGER IF NOT EXISTS _quarantine_del AFTER DELETE ON _quarantine BEGIN"
    " UPDATE _quarantine_use SET n = n - 1, bytes = bytes - length(old.raw) - 128"
    " WHERE bucket = old.bucket; END;"
    "CREATE TRIGGER IF NOT EXISTS _quarantine_move AFTER UPDATE OF bucket ON _quarantine"
    " WHEN old.bucket <> new.bucket BEGIN"
    " UPDATE _quarantine_use SET n = n - 1, bytes = bytes - length(old.raw) - 128"
    " WHERE bucket = old.bucket;"
    " INSERT INTO _quarantine_use(bucket, n, bytes)"
    " VALUES(new.bucket, 1, length(new.raw) + 128)"
    " ON CONFLICT(bucket) DO UPDATE SET n = n + 1, bytes = bytes + excluded.bytes; END;"
    /*
     * bytes of log each origin holds (store_quota.c), kept by triggers; a replica made
     * before the table existed gets it filled once, in the transaction that creates it
     */
    "CREATE TABLE IF NOT EXISTS _log_use(origin INTEGER PRIMARY KEY, bytes INTEGER NOT NULL);"
    "INSERT INTO _log_use(origin, bytes) SELECT origin, sum(length(raw)) FROM _log"
    " WHERE NOT EXISTS (SELECT 1 FROM sqlite_master WHERE name = '_log_use_ins')"
    " GROUP BY origin;"
    "CREATE TRIGGER IF NOT EXISTS _log_use_ins AFTER INSERT ON _log BEGIN"
    " INSERT INTO _log_use(origin, bytes) VALUES(new.origin, length(new.raw))"
    " ON CONFLICT(origin) DO UPDATE SET bytes = bytes + excluded.bytes; END;"
    "CREATE TRIGGER IF NOT EXISTS _log_use_del AFTER DELETE ON _log BEGIN"
    " UPDATE _log_use SET bytes = bytes - length(old.raw) WHERE origin = old.origin; END;"
    "CREATE TABLE IF NOT EXISTS _equiv(origin BLOB PRIMARY KEY, seq INTEGER NOT NULL,"
    " a BLOB NOT NULL, b BLOB NOT NULL, found_ms INTEGER NOT NULL) WITHOUT ROWID;"
    /* logged change sets with ops of a newer schema, not merged yet (store_unknown.c) */
    /* the log entries that are member change sets (store_member.c) */
    "CREATE TABLE IF NOT EXISTS _member(log INTEGER PRIMARY KEY);"
    /*
     * invitations this node issued (store_member_invite.c): the public key of the pair
     * derived from the secret, never the secret; _invite, of an earlier release, kept a
     * hash as sensitive as the token: dropped
     */
    "DROP TABLE IF EXISTS _invite;"
    "CREATE TABLE IF NOT EXISTS _invitation(id BLOB PRIMARY KEY, verify BLOB NOT NULL,"
    " replaces BLOB, expires INTEGER NOT NULL, kind INTEGER NOT NULL,"
    " roles INTEGER NOT NULL, organisation TEXT NOT NULL,"
    " used INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS _unknown(log INTEGER PRIMARY KEY, sc INTEGER NOT NULL,"
    " n INTEGER NOT NULL, bytes INTEGER NOT NULL);"
    /* the content digest's state (store_digest_inc.c): one row, 2 KiB */
    "CREATE TABLE IF NOT EXISTS _digest(k INTEGER PRIMARY KEY, def INTEGER NOT NULL,"
    " schema INTEGER NOT NULL, st BLOB NOT NULL);";

/* Scopes (store_scope.c): local id 0 is the region scope and has no row. */
static const char scope_sql[] =
    "CREATE TABLE IF NOT EXISTS _scope(id INTEGER PRIMARY KEY, scope BLOB NOT NULL UNIQUE);"
    /* the scope keys this node holds */
    "CREATE TABLE IF NOT EXISTS _skey(sc INTEGER NOT NULL, key_id INTEGER NOT NULL,"
    " key BLOB NOT NULL, PRIMARY KEY(sc, key_id)) WITHOUT ROWID;"
    /*
     * every policy part: one row, keyed by its scope first, so that a catch-up's new
     * scopes append at the right edge and a scope's policy is one range; what the body
     * says beyond the op (a CREATE's parties, removed grants, superseded keys, slots) is
     * read from its clear body where the log entry holds it: off and len in _log.raw,
     * h the first bytes of its signed hash (store_policy_body.c); its origin and seq are
     * the log entry's (a join), its author kept here (the owner's organisation)
     */
    "CREATE TABLE IF NOT EXISTS _policy(sc INTEGER NOT NULL, log INTEGER NOT NULL,"
    " part INTEGER NOT NULL, op INTEGER NOT NULL, author TEXT NOT NULL, off INTEGER NOT NULL,"
    " len INTEGER NOT NULL, h BLOB NOT NULL, PRIMARY KEY(sc, log, part)) WITHOUT ROWID;"
    /* case data parts logged but not merged: no key for them yet */
    "CREATE TABLE IF NOT EXISTS _sealed(sc INTEGER NOT NULL, key_id INTEGER NOT NULL,"
    " log INTEGER NOT NULL, part INTEGER NOT NULL, PRIMARY KEY(sc, key_id, log, part))"
    " WITHOUT ROWID;";

/* a followed by b, malloc'd; NULL when out of memory. */
static char *
concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 1);

	if (p != NULL) {
		memcpy(p, a, la);
		memcpy(p + la, b, lb + 1);
	}
	return p;
}

/*
 * The statements of a domain table are built from schema.h into a memory stream; the
 * names are plain identifiers there, and are quoted all the same. Each builder writes
 * one statement's text into *sql (malloc'd) and returns 0 or ARR_ENOMEM.
 */
typedef void (*sql_build_fn)(FILE *f, const struct schema_table *t, size_t nd);

static int
sql_build(sql_build_fn fn, const struct schema_table *t, char **sql)
{
	size_t cap = 0;
	FILE *f;

	*sql = NULL;
	if ((f = open_memstream(sql, &cap)) == NULL)
		return ARR_ENOMEM;
	fn(f, t, t->ncolumns - 1);
	if (fclose(f) != 0) {
		free(*sql);
		*sql = NULL;
		return ARR_ENOMEM;
	}
	return 0;
}

/*
 * CREATE TABLE: no declared types, so values are stored exactly as merged. A rowid
 * table: rows get rowids in arrival order, so new rows, their clock record and their
 * history entries append at the right edge of three B-trees; only the UNIQUE index on
 * the random id takes scattered inserts. The rowid is declared (_rid INTEGER PRIMARY
 * KEY) because _rowlog refers to it: an undeclared rowid may be renumbered by VACUUM, a
 * declared one never is. _log is the log id of the change set that inserted the row: the
 * first entry of its history, kept in the row so that a new row is one insert; the
 * change sets after it are in _rowlog (store_merge.c).
 */
static void
sql_create(FILE *f, const struct schema_table *t, size_t nd)
{
	fprintf(f, "CREATE TABLE IF NOT EXISTS \"%s\"(id TEXT NOT NULL", t->name);
	for (size_t c = 0; c < nd; c++)
		fprintf(f, ", \"%s\"", t->columns[c].name);
	fprintf(
	    f,
	    ", _deleted INTEGER NOT NULL DEFAULT 0, _rid INTEGER PRIMARY KEY, "
	    "_clk BLOB NOT NULL, _sc INTEGER NOT NULL DEFAULT 0, _log INTEGER, UNIQUE(id, _sc))");
}

/* SELECT of visible rows */
static void
sql_select(FILE *f, const struct schema_table *t, size_t nd)
{
	fprintf(f, "SELECT id");
	for (size_t c = 0; c < nd; c++)
		fprintf(f, ", \"%s\"", t->columns[c].name);
	fprintf(f, " FROM \"%s\" WHERE _deleted <> 1", t->name);
}

/*
 * new row: ?1 id, ?2.. columns (schema order, _deleted last), then the clocks, the scope
 * and the log id of the change set inserting it
 */
static void
sql_insert(FILE *f, const struct schema_table *t, size_t nd)
{
	(void)nd;
	fprintf(f, "INSERT INTO \"%s\"(id", t->name);
	for (size_t c = 0; c < t->ncolumns; c++)
		fprintf(f, ", \"%s\"", t->columns[c].name);
	fprintf(f, ", _clk, _sc, _log) VALUES(?1");
	for (size_t c = 0; c < t->ncolumns; c++)
		fprintf(f, ", ?%zu", c + 2);
	fprintf(f, ", ?%zu, ?%zu, ?%zu) ON CONFLICT(id, _sc) DO NOTHING", t->ncolumns + 2,
	        t->ncolumns + 3, t->ncolumns + 4);
}

/*
 * existing row: ?1 its rowid, ?2.. columns as above, then the clocks and the mask of
 * the columns to set
 */
static void
sql_update(FILE *f, const struct schema_table *t, size_t nd)
{
	(void)nd;
	fprintf(f, "UPDATE \"%s\" SET ", t->name);
	for (size_t c = 0; c < t->ncolumns; c++)
		fprintf(f, "\"%s\" = CASE WHEN (?%zu >> %zu) & 1 THEN ?%zu ELSE \"%s\" END, ",
		        t->columns[c].name, t->ncolumns + 3, c, c + 2, t->columns[c].name);
	fprintf(f, "_clk = ?%zu WHERE _rid = ?1", t->ncolumns + 2);
}

/* Prepare a persistent statement from sql, which is freed (malloc'd) in any case. */
static int
stmt_prepare(struct store *s, char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

	free(sql);
	return rc == SQLITE_OK ? 0 : ARR_EDB;
}

/* Create one domain table if needed and prepare its statements. */
static int
table_prepare(struct store *s, struct store_table *st, const struct schema_table *t)
{
	size_t nd = t->ncolumns - 1; /* _deleted is last */
	char *sql = NULL;
	int rc, ret;

	assert(strcmp(t->columns[nd].name, SCHEMA_DELETED) == 0);
	assert(t->ncolumns <= 62);
	st->t = t;
	if (t->ncolumns + 1 > s->maxcols)
		s->maxcols = t->ncolumns + 1;
	if ((st->names = calloc(nd + 1, sizeof(*st->names))) == NULL)
		return ARR_ENOMEM;
	st->names[0] = "id";
	for (size_t c = 0; c < nd; c++)
		st->names[c + 1] = t->columns[c].name;
	st->nnames = nd + 1;

	if ((ret = sql_build(sql_create, t, &sql)) < 0)
		return ret;
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return ARR_EDB;
	if ((ret = sql_build(sql_select, t, &st->select)) < 0 ||
	    (ret = sql_build(sql_insert, t, &sql)) < 0 ||
	    (ret = stmt_prepare(s, sql, &st->insert)) < 0 ||
	    (ret = sql_build(sql_update, t, &sql)) < 0 ||
	    (ret = stmt_prepare(s, sql, &st->update)) < 0)
		return ret;
	if ((sql = concat(st->select, " AND id = ?1")) == NULL)
		return ARR_ENOMEM;
	if ((ret = stmt_prepare(s, sql, &st->get)) < 0)
		return ret;
	if ((sql = sqlite3_mprintf("SELECT _rid, _clk, _log FROM \"%w\" WHERE id = ?1 AND _sc = ?2",
	                           t->name)) == NULL)
		return ARR_ENOMEM;
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->find, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return ARR_EDB;
	/* routing asks it for every row a local write names (store_route.c) */
	if ((sql = sqlite3_mprintf("SELECT (SELECT scope FROM _scope WHERE id = t._sc), t._sc "
	                           "FROM \"%w\" t WHERE t.id = ?1 ORDER BY t._sc LIMIT 1",
	                           t->name)) == NULL)
		return ARR_ENOMEM;
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->scope, NULL);
	sqlite3_free(sql);
	return rc == SQLITE_OK ? 0 : ARR_EDB;
}

/* Every domain table of schema.h, and the scratch buffers sized for the widest one. */
static int
tables_prepare(struct store *s)
{
	size_t n = schema_table_count();
	int ret;

	if ((s->tables = calloc(n, sizeof(*s->tables))) == NULL)
		return ARR_ENOMEM;
	s->ntables = n;
	for (size_t i = 0; i < n; i++)
		if ((ret = table_prepare(s, &s->tables[i], schema_table_at(i))) < 0)
			return ret;
	if ((s->scratch = calloc(s->maxcols, sizeof(*s->scratch))) == NULL ||
	    (s->clocks = calloc(s->maxcols, CLOCK_LEN)) == NULL ||
	    (s->clkrec = calloc(s->maxcols, CLOCK_GROUP_LEN)) == NULL)
		return ARR_ENOMEM;
	return 0;
}

/*
 * Create the metadata schema if needed and check the node identity: a replica belongs
 * to the key that created it (ARR_EKEY otherwise), and has this schema version or an
 * older one (into s->schema_from).
 */
static int
identity_check(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = ARR_EDB;
	bool fresh;

	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return ARR_EDB;
	/* the rest of the schema once the format is known to be this one */
	if (sqlite3_exec(s->db, META_SQL, NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM _meta WHERE key = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, "origin", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		fresh = false;
		if (sqlite3_column_bytes(st, 0) != ARR_ORIGIN_LEN ||
		    memcmp(sqlite3_column_blob(st, 0), s->self, ARR_ORIGIN_LEN) != 0) {
			ret = ARR_EKEY;
			goto out;
		}
	} else if (rc == SQLITE_DONE) {
		fresh = true;
	} else {
		goto out;
	}
	/* an older schema is migrated (store_upgrade.c), a newer one refused: no downgrade */
	s->schema_from = ARR_SCHEMA_VERSION;
	if (!fresh) {
		if ((ret = store_upgrade_stored(s->db, &s->schema_from)) < 0)
			goto out;
		ret = ARR_EDB;
		if (s->schema_from == 0)
			goto out;
		if (s->schema_from > ARR_SCHEMA_VERSION) {
			ret = ARR_EVERSION;
			goto out;
		}
	}
	/*
	 * The layout of the tables changes with STORE_FORMAT (2: rowid domain tables,
	 * _clock and _rowlog keyed by rowid; 3: clocks in the row; 10: a row's first
	 * history entry in the row; 11: policy bodies read from the log); a replica of another
	 * format is refused, not
	 * misread. It holds nothing a peer cannot send again: start from an empty one.
	 */
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, "store_format", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (!fresh && (rc != SQLITE_ROW || sqlite3_column_int64(st, 0) != STORE_FORMAT)) {
		ret = rc == SQLITE_ROW || rc == SQLITE_DONE ? ARR_EVERSION : ARR_EDB;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, scope_sql, NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	if (fresh) {
		if (sqlite3_prepare_v2(s->db,
		                       "INSERT INTO _meta(key, value) VALUES('origin', ?1), "
		                       "('schema_version', ?2), ('store_format', ?3)",
		                       -1, &st, NULL) != SQLITE_OK)
			goto out;
		sqlite3_bind_blob(st, 1, s->self, ARR_ORIGIN_LEN, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, ARR_SCHEMA_VERSION);
		sqlite3_bind_int(st, 3, STORE_FORMAT);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	if (ret == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		ret = ARR_EDB;
	if (ret != 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* The HLC restarts above every timestamp in the log, so a restart never reissues one. */
static int
hlc_load(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int ret = ARR_EDB;
	uint64_t last = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT max(hlc) FROM _log", -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	if (sqlite3_column_type(st, 0) != SQLITE_NULL)
		last = store_clock_from_db(sqlite3_column_int64(st, 0));
	hlc_init(&s->hlc, last);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Is this database a copy made by store_backup()? Sets s->restored. */
static int
restored_load(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM _meta WHERE key = 'restored'", -1, &st,
	                       NULL) != SQLITE_OK)
		return ARR_EDB;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_error(rc);
	s->restored = rc == SQLITE_ROW;
	return 0;
}

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

/*
 * Process-wide SQLite settings, before the first connection. Every connection is used by
 * one thread only (the loop's two, the checkpoint thread's own), so each is opened with
 * SQLITE_OPEN_NOMUTEX, and SQLite need not count its memory: memory statistics take a
 * global mutex on every allocation. Fails harmlessly (SQLITE_MISUSE) if the process
 * already used SQLite, which then keeps its defaults.
 */
static void
sqlite_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct store *
store_open(const struct store_config *cfg, int *err)
{
	struct store *s = NULL;
	size_t replayed = 0;
	int ret = ARR_ENOMEM;

	assert(cfg != NULL && cfg->path != NULL && cfg->key != NULL);
	if (sodium_init() < 0)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	s->key = cfg->key;
	memcpy(s->self, nodekey_public(cfg->key), ARR_ORIGIN_LEN);
	if ((s->org = strdup(cfg->organisation != NULL ? cfg->organisation : "")) == NULL)
		goto out;
	s->member_org = cfg->member_org;
	s->member_ctx = cfg->member_ctx;
	s->clock = cfg->clock;
	s->clock_ctx = cfg->clock_ctx;
	s->rules = !cfg->no_domain_rules;
	s->member_at = cfg->member_at;
	s->grant_all = cfg->grant_on_create_all;
	s->max_drift = cfg->max_clock_drift_ms ? cfg->max_clock_drift_ms : ARR_MAX_DRIFT_MS;
	store_set_budget(s, cfg->budget);
	store_set_unknown_bounds(s, 0, 0);

	ret = ARR_EDB;
	pthread_once(&sqlite_once, sqlite_setup);
	if (sqlite3_open_v2(cfg->path, &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK)
		goto out;
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	/*
	 * 16 KiB pages (a new database only; an existing one keeps its size): a WAL frame is
	 * two write calls and a page miss one read call whatever the page size, and calls
	 * are what bulk work pays for here; 4 KiB pages made 4x the calls for the same bytes.
	 */
	if (sqlite3_exec(s->db,
	                 "PRAGMA page_size=" PAGE_SIZE_STR "; "
	                 "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=OFF; "
	                 "PRAGMA synchronous=NORMAL; PRAGMA trusted_schema=OFF; "
	                 "PRAGMA temp_store=MEMORY; "
	                 /* what is deleted is overwritten: an erasure leaves no bytes behind */
	                 "PRAGMA secure_delete=ON",
	                 NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	if ((ret = store_db_cache_set(s, CACHE_KIB)) < 0 || (ret = identity_check(s)) < 0 ||
	    (ret = store_ckpt_start(s, cfg->path)) < 0)
		goto out;
	/* an upgrade: backup, then one transaction from here to store_upgrade_finish() */
	if (s->schema_from < ARR_SCHEMA_VERSION &&
	    (ret = store_upgrade_begin(s, cfg->path, s->schema_from)) < 0)
		goto out;
	if ((ret = tables_prepare(s)) < 0)
		goto out;
	if ((ret = store_db_prepare(s)) < 0 || (ret = store_search_open(s)) < 0 ||
	    (ret = store_verdict_open(s)) < 0 || (ret = store_erase_open(s)) < 0 ||
	    (ret = store_digest_open(s)) < 0)
		goto out;
	s->seal = store_seal_new(STORE_SEAL_BYTES, NULL); /* NULL: every change set built here */
	if ((ret = store_mirror_load(s)) < 0 || (ret = hlc_load(s)) < 0 ||
	    (ret = restored_load(s)) < 0 || (ret = store_member_open(s)) < 0)
		goto out;
	if (s->schema_from < ARR_SCHEMA_VERSION &&
	    (ret = store_upgrade_finish(s, s->schema_from, &replayed)) < 0)
		goto out;
	/* the scope counts of status, kept from here on (store_scope_read.c) */
	if ((ret = store_scope_tally_load(s)) < 0)
		goto out;
	if ((s->self_oid = store_mirror_origin_find(s, s->self)) == 0) {
		if ((ret = store_db_begin(s)) < 0)
			goto out;
		if ((ret = store_mirror_origin_id(s, s->self, &s->self_oid)) < 0) {
			store_db_rollback(s);
			goto out;
		}
		if ((ret = store_db_commit(s)) < 0)
			goto out;
	}
	/* erasures the replica lost (a crash, a restored backup) are done before serving */
	if ((ret = store_erase_ledger_replay(s, cfg->path)) < 0 ||
	    (ret = store_digest_ready(s)) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		store_destroy(&s);
	if (err != NULL)
		*err = ret;
	return s;
}

void
store_destroy(struct store **sp)
{
	struct store *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	store_precheck_stop(s);
	if (s->db != NULL)
		(void)store_bulk_flush(s);
	store_search_close(s);
	store_seal_destroy(&s->seal);
	store_digest_close(s);
	store_verdict_close(s);
	store_erase_close(s);
	store_member_close(s);
	if (s->db != NULL) {
		store_ckpt_stop(s);
		/* everything into the database file; closing the last connection drops the WAL */
		(void)sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
		                                NULL);
	}
	store_db_finalize(s);
	for (size_t i = 0; s->tables != NULL && i < s->ntables; i++) {
		sqlite3_finalize(s->tables[i].insert);
		sqlite3_finalize(s->tables[i].update);
		sqlite3_finalize(s->tables[i].get);
		sqlite3_finalize(s->tables[i].find);
		sqlite3_finalize(s->tables[i].scope);
		free(s->tables[i].select);
		free(s->tables[i].names);
	}
	free(s->tables);
	free(s->scratch);
	free(s->clocks);
	free(s->clkrec);
	sqlite3_close(s->ro);
	sqlite3_close(s->db);
	vv_destroy(&s->vec);
	free(s->origins);
	free(s->over);
	free(s->org);
	store_scope_shared_wipe(s);
	store_scope_memo_free(s);
	free(s);
	*sp = NULL;
}

void
store_set_members(struct store *s, store_member_fn fn, void *ctx)
{
	s->member_org = fn;
	s->member_ctx = ctx;
}

void
store_set_member_list(struct store *s, const uint8_t *(*member_at)(void *ctx, size_t i))
{
	s->member_at = member_at;
}

void
store_set_max_drift(struct store *s, uint64_t ms)
{
	s->max_drift = ms ? ms : ARR_MAX_DRIFT_MS;
}
