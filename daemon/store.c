/*
 * store.c: the replica (see store.h). The only module that touches sqlite3. It owns one
 * SQLite database holding the domain tables of schema.h plus the replication metadata
 * (tables prefixed "_"): node identity, origins, the verbatim change-set log, the
 * version vector, per-cell LWW clocks, the row history index, pending change sets and
 * the quarantine. Merge rules are specified in PROTOCOL.md, "Merge rules".
 *
 * It must not touch sockets or any file but its database (and a backup target), and it
 * logs nothing: callers log ids and counts from the results it returns.
 *
 * Layout: one table per schema.h table (id, columns, _deleted, _rid, _clk; no declared
 * types, so values are stored exactly as merged); _meta (node origin, schema version,
 * store format), _origin (local id <-> 32-byte origin), _log (verbatim envelopes by
 * origin and seq), _vv, _rowlog (row -> log entries, for history), _pending and
 * _quarantine. The LWW clocks of a row's cells are kept in the row itself (_clk, see
 * clocks_encode), so a merge reads and writes one record per row.
 *
 * Locality: domain tables are rowid tables, the rowid (_rid) given in arrival order,
 * with the random UUID text in a UNIQUE index; _rowlog is keyed by (table, rowid). New
 * rows thus append at the right edge of the table and of _rowlog, and only the id index
 * takes scattered inserts, so a commit dirties few pages. Rowids are local: they never
 * leave the replica (the wire, the digest and every read use the id).
 *
 * Hot paths (apply, merge, log) use statements prepared once in store_open; a change
 * set costs one log insert, one vector upsert and one pending probe. A row it creates
 * costs one insert (data and clocks) and one history insert; a row that exists costs
 * an insert probe, one lookup, one update and one history insert.
 */
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "bigend.h"
#include "hlc.h"
#include "monoclock.h"
#include "rowid.h"
#include "schema.h"
#include "store.h"

#define BUSY_TIMEOUT_MS   5000
#define STORE_FORMAT      3 /* 3: clocks in the row (_clk); 2: a _clock table */
#define BACKUP_STEP_PAGES 256
#define HASH_LEN          32
#define DETAIL_MAX        96
#define CLOCK_LEN         20      /* one cell's key: hlc, local origin id, seq */
#define CLOCK_GROUP_LEN   28      /* in a stored clock record: a key and its column mask */
#define CACHE_KIB         8192    /* page cache of the main connection (F5: RSS <= 32 MiB) */
#define PAGE_SIZE_STR     "16384" /* bytes per database page, for new databases */
/*
 * While a bulk apply or a large local write runs, the cache grows, so that a B-tree page
 * dirtied by many rows is written to the WAL once per commit instead of being spilled
 * and rewritten, and the random-id indexes (about 6 % of a replica) need not be read
 * back from the file for every row; it is given back when the work ends (store_trim).
 * Its size follows the replica: an eighth of the database, from 128 to 512 MiB. At 1M
 * arrangements (3.2 GiB) 512 MiB instead of 128 halved the catch-up time; at 100k
 * (320 MiB) it made writes 20 % slower, the kernel's time to hand out fresh memory.
 */
#define LARGE_CACHE_MIN_KIB 131072
#define LARGE_CACHE_MAX_KIB 524288
#define LARGE_WRITE_OPS     10000
#define TRIM_MS             2000 /* store_trim(): idle time before the large cache goes */

/*
 * WAL checkpoints (see "Checkpoints" below). The loop never checkpoints in the normal
 * case: a thread with its own connection does, PASSIVE, when the WAL passes
 * CKPT_SOFT_BYTES or every CKPT_PERIOD_MS after commits, and truncates the WAL once no
 * commit came for CKPT_IDLE_MS. Past CKPT_HARD_BYTES (the thread fell behind, or kept
 * being overtaken by commits) the loop runs a blocking checkpoint itself, so the WAL
 * stays bounded.
 */
#define CKPT_SOFT_BYTES (16u << 20)
#define CKPT_HARD_BYTES (64u << 20)
#define CKPT_PERIOD_MS  500
#define CKPT_IDLE_MS    2000
#define CKPT_BUSY_MS    50

/*
 * A bulk transaction (store_bulk_begin) is committed at least this often. Every commit
 * writes each page it dirtied, and new rows dirty pages of the random-id indexes all
 * over: fewer commits, fewer bytes (1M arrangements: 35 GiB written with 250 ms, 9.4
 * GiB with 2 s). A crash loses at most this much of a catch-up, which is pulled again.
 */
#define BULK_COMMIT_MS 2000

/* Cached statements of the main connection, by job. */
enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_ORIGIN_INS,
	ST_LOG_INS,
	ST_LOG_GET,
	ST_LOG_SINCE,
	ST_VV_UPSERT,
	ST_ROWLOG_INS,
	ST_PEND_GET,
	ST_PEND_INS,
	ST_PEND_DEL,
	ST_Q_UPSERT,
	ST_Q_GET,
	ST_Q_DEL,
	ST_Q_ATTEMPT,
	ST_Q_DEL_HASH,
	ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_ORIGIN_INS] = "INSERT INTO _origin(id, origin) VALUES(?1, ?2)",
    [ST_LOG_INS] = "INSERT INTO _log(origin, seq, hlc, raw) VALUES(?1, ?2, ?3, ?4)",
    [ST_LOG_GET] = "SELECT raw FROM _log WHERE origin = ?1 AND seq = ?2",
    [ST_LOG_SINCE] = "SELECT seq, raw FROM _log WHERE origin = ?1 AND seq > ?2 ORDER BY seq",
    [ST_VV_UPSERT] = "INSERT INTO _vv(origin, seq) VALUES(?1, ?2) "
                     "ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq",
    [ST_ROWLOG_INS] = "INSERT OR IGNORE INTO _rowlog(tbl, rid, log) VALUES(?1, ?2, ?3)",
    [ST_PEND_GET] = "SELECT raw FROM _pending WHERE origin = ?1 AND seq = ?2",
    [ST_PEND_INS] = "INSERT INTO _pending(origin, seq, raw, received_ms) VALUES(?1, ?2, ?3, ?4)",
    [ST_PEND_DEL] = "DELETE FROM _pending WHERE origin = ?1 AND seq = ?2",
    [ST_Q_UPSERT] = "INSERT INTO _quarantine(hash, raw, origin, seq, reason, detail, "
                    "received_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(hash) DO "
                    "UPDATE SET reason = excluded.reason, detail = excluded.detail",
    [ST_Q_GET] = "SELECT raw FROM _quarantine WHERE id = ?1",
    [ST_Q_DEL] = "DELETE FROM _quarantine WHERE id = ?1",
    [ST_Q_ATTEMPT] = "UPDATE _quarantine SET attempts = attempts + 1 WHERE id = ?1",
    [ST_Q_DEL_HASH] = "DELETE FROM _quarantine WHERE hash = ?1",
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS _meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS _origin(id INTEGER PRIMARY KEY, origin BLOB NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS _log(id INTEGER PRIMARY KEY, origin INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, hlc INTEGER NOT NULL, raw BLOB NOT NULL, UNIQUE(origin, seq));"
    "CREATE TABLE IF NOT EXISTS _vv(origin INTEGER PRIMARY KEY, seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS _rowlog(tbl INTEGER NOT NULL, rid INTEGER NOT NULL,"
    " log INTEGER NOT NULL, PRIMARY KEY(tbl, rid, log)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS _pending(id INTEGER PRIMARY KEY, origin INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, raw BLOB NOT NULL, received_ms INTEGER NOT NULL,"
    " UNIQUE(origin, seq));"
    "CREATE TABLE IF NOT EXISTS _quarantine(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,"
    " raw BLOB NOT NULL, origin BLOB, seq INTEGER, reason INTEGER NOT NULL,"
    " detail TEXT NOT NULL, received_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0);";

/* Per domain table: column names for callbacks and the statements built from schema.h. */
struct store_table {
	const struct schema_table *t;
	const char **names; /* "id", then the schema columns without _deleted */
	size_t nnames;
	char *select;         /* SELECT id, cols FROM t WHERE _deleted <> 1 */
	sqlite3_stmt *insert; /* new row: id, columns, clock record; nothing if the id exists */
	sqlite3_stmt *update; /* existing row by rowid: the columns selected by a mask, clocks */
	sqlite3_stmt *get;    /* select ... AND id = ?1 */
	sqlite3_stmt *find;   /* SELECT _rid, _clk ... WHERE id = ?1 (deleted rows too) */
};

struct store {
	sqlite3 *db;
	sqlite3 *ro;          /* read-only connection for store_query, lazily */
	uint64_t ro_deadline; /* monotonic ms after which the running query is interrupted */
	const struct nodekey *key;
	uint8_t self[ARR_ORIGIN_LEN];
	int64_t self_oid;
	char *org;
	store_member_fn is_member;
	void *member_ctx;
	store_clock_fn clock;
	void *clock_ctx;
	uint64_t max_drift;
	uint64_t own_seen; /* highest own seq a peer reported (store_own_seq_seen) */
	bool own_heard;    /* a peer reported our own seq since the store was opened */
	bool restored;     /* _meta says "restored": a backup copy, writes held until own_heard */
	struct hlc hlc;
	struct vv *vec;                     /* mirror of _vv, reloaded after a rollback */
	uint8_t (*origins)[ARR_ORIGIN_LEN]; /* mirror of _origin: id i+1 is origins[i] */
	size_t norigins;
	size_t origins_cap;
	sqlite3_stmt *st[ST__COUNT];
	struct store_table *tables;
	size_t ntables;
	struct value *scratch; /* one row of values, widest table */
	uint8_t *clocks;       /* one row's cell keys (CLOCK_LEN each), widest table */
	uint8_t *clkrec;       /* one row's encoded clock record (clocks_encode), widest */
	size_t maxcols;
	char errbuf[256];
	struct ckpt *ckpt; /* the checkpoint thread, NULL when SQLite has no threads */
	int wal_pages;     /* WAL frames after the last commit (from the WAL hook) */
	int ckpt_hard;     /* CKPT_HARD_BYTES in pages */
	bool bulk;         /* store_bulk_begin() called, store_bulk_end() not yet */
	uint64_t large_at; /* monotonic ms of the last bulk or large write; 0: small cache */
	int cache_kib;     /* the page cache's size now (cache_set) */
	bool bulk_tx;      /* a bulk transaction is open */
	uint64_t bulk_t0;  /* monotonic ms when it began */
};

/*
 * The checkpoint thread. It shares with the loop only this struct's fields marked
 * "mu", always under mu. db is opened by store_open before the thread starts, used
 * only by the thread, and closed by store_destroy after the join.
 */
struct ckpt {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	sqlite3 *db;
	int soft;         /* CKPT_SOFT_BYTES in pages; constant while the thread runs */
	int wal_pages;    /* mu: WAL frames after the loop's last commit */
	uint64_t commits; /* mu: commits so far */
	bool stop;        /* mu: store_destroy wants the thread to end */
};

/* An sqlite3 result code as an ARR_E* code. */
static int
db_error(int rc)
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

/* Clocks are unsigned 64-bit; SQLite integers are signed. Flipping the top bit keeps
 * the order, so the database compares clocks exactly like the protocol does. */
static int64_t
hlc_to_db(uint64_t h)
{
	return (int64_t)(h ^ (UINT64_C(1) << 63));
}

static uint64_t
hlc_from_db(int64_t v)
{
	return (uint64_t)v ^ (UINT64_C(1) << 63);
}

static uint64_t
now_ms(struct store *s)
{
	return s->clock != NULL ? s->clock(s->clock_ctx) : hlc_wall_ms();
}

/* Run a cached statement that returns no rows, then reset it. */
static int
run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_error(rc);
}

/* Bind a value; text and blob bytes are borrowed until the statement is reset. */
static int
bind_value(sqlite3_stmt *st, int idx, const struct value *v)
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
static struct value
column_value(sqlite3_stmt *st, int i)
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

/* Index of the named domain table in schema order, or -1. */
static int
table_index(const char *name)
{
	for (size_t i = 0; i < schema_table_count(); i++)
		if (strcmp(schema_table_at(i)->name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- origins and vector mirrors ---- */

/* Local id of origin, or 0 when it has none yet. */
static int64_t
origin_find(const struct store *s, const uint8_t origin[ARR_ORIGIN_LEN])
{
	for (size_t i = 0; i < s->norigins; i++)
		if (memcmp(s->origins[i], origin, ARR_ORIGIN_LEN) == 0)
			return (int64_t)i + 1;
	return 0;
}

/* Local id of origin, giving it one (inside the caller's transaction) if needed. */
static int
origin_id(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], int64_t *oid)
{
	sqlite3_stmt *st = s->st[ST_ORIGIN_INS];
	int rc;

	if ((*oid = origin_find(s, origin)) != 0)
		return 0;
	if (s->norigins == s->origins_cap) {
		size_t cap = s->origins_cap ? 2 * s->origins_cap : 16;
		void *p = realloc(s->origins, cap * sizeof(*s->origins));

		if (p == NULL)
			return ARR_ENOMEM;
		s->origins = p;
		s->origins_cap = cap;
	}
	sqlite3_bind_int64(st, 1, (int64_t)s->norigins + 1);
	sqlite3_bind_blob(st, 2, origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
	if ((rc = run(st)) < 0)
		return rc;
	memcpy(s->origins[s->norigins++], origin, ARR_ORIGIN_LEN);
	*oid = (int64_t)s->norigins;
	return 0;
}

/* Reload the origin and vector mirrors from the database (open, after a rollback). */
static int
mirrors_load(struct store *s)
{
	sqlite3_stmt *st = NULL;
	struct vv *v = NULL;
	int rc, ret = ARR_EDB;

	s->norigins = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT id, origin FROM _origin ORDER BY id", -1, &st,
	                       NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const void *o = sqlite3_column_blob(st, 1);

		/* ids are assigned densely by origin_id() */
		if (id != (int64_t)s->norigins + 1 || o == NULL ||
		    sqlite3_column_bytes(st, 1) != ARR_ORIGIN_LEN)
			goto out;
		if (s->norigins == s->origins_cap) {
			size_t cap = s->origins_cap ? 2 * s->origins_cap : 16;
			void *p = realloc(s->origins, cap * sizeof(*s->origins));

			if (p == NULL) {
				ret = ARR_ENOMEM;
				goto out;
			}
			s->origins = p;
			s->origins_cap = cap;
		}
		memcpy(s->origins[s->norigins++], o, ARR_ORIGIN_LEN);
	}
	if (rc != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;

	if ((v = vv_new()) == NULL) {
		ret = ARR_ENOMEM;
		goto out;
	}
	if (sqlite3_prepare_v2(s->db, "SELECT origin, seq FROM _vv", -1, &st, NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		if (id < 1 || (uint64_t)id > s->norigins)
			goto out;
		if ((ret = vv_set(v, s->origins[id - 1], (uint64_t)sqlite3_column_int64(st, 1))) <
		    0)
			goto out;
		ret = ARR_EDB;
	}
	if (rc != SQLITE_DONE)
		goto out;
	vv_destroy(&s->vec);
	s->vec = v;
	v = NULL;
	ret = 0;
out:
	sqlite3_finalize(st);
	vv_destroy(&v);
	return ret;
}

/* Page cache of the main connection, in KiB. */
static int
cache_set(struct store *s, int kib)
{
	char sql[48];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", kib);
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ARR_EDB;
	s->cache_kib = kib;
	return 0;
}

/* ---- checkpoints ---- */

/*
 * Why a thread: a checkpoint copies the WAL into the database file and fsyncs both,
 * 4-20 ms on a busy disk. Run by SQLite's auto-checkpoint it happened inside a commit,
 * so the daemon's single loop (API, pushes, applies) stalled behind it every few
 * hundred change sets (bench/README.md, F3). SQLite allows a checkpoint on another
 * connection while the writer commits; PASSIVE mode never waits for the writer or
 * readers and never blocks them.
 */

static void
deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * The thread: wait for a signal (WAL past the soft limit) or CKPT_PERIOD_MS, then
 * checkpoint PASSIVE if commits came since the last one; after CKPT_IDLE_MS without a
 * commit, TRUNCATE once so an idle node leaves no WAL behind. Errors (SQLITE_BUSY when
 * the loop runs its own checkpoint, I/O errors) only mean "try again next time": the
 * loop's hard limit keeps the WAL bounded whatever happens here.
 */
static void *
ckpt_main(void *arg)
{
	struct ckpt *c = arg;
	uint64_t done = 0, idle_since = mono_ms();
	bool truncated = true;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct timespec ts;
		uint64_t commits;
		int pages;

		deadline_in(&ts, CKPT_PERIOD_MS);
		while (!c->stop && c->wal_pages < c->soft) {
			if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) != 0)
				break; /* timed out */
		}
		if (c->stop)
			break;
		commits = c->commits;
		pages = c->wal_pages;
		c->wal_pages = 0;
		pthread_mutex_unlock(&c->mu);

		if (commits != done) {
			done = commits;
			idle_since = mono_ms();
			truncated = false;
			if (pages > 0)
				(void)sqlite3_wal_checkpoint_v2(
				    c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		} else if (!truncated && mono_ms() - idle_since >= CKPT_IDLE_MS) {
			/* takes the write lock briefly; the loop waits at most that long */
			truncated =
			    sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
			                              NULL) == SQLITE_OK;
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/*
 * WAL hook of the main connection, called after every commit with the WAL's size in
 * frames. Replaces SQLite's auto-checkpoint: it only records the size and wakes the
 * thread; tx_commit() enforces the hard limit outside the hook.
 */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *s = arg;
	struct ckpt *c = s->ckpt;

	(void)db;
	(void)name;
	s->wal_pages = pages;
	if (c != NULL) {
		pthread_mutex_lock(&c->mu);
		c->wal_pages = pages;
		c->commits++;
		if (pages >= c->soft)
			pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

/*
 * The WAL passed the hard limit: checkpoint here, blocking, so it cannot grow without
 * bound. RESTART waits (busy timeout) for readers, and the next commit writes the WAL
 * from its start again. SQLITE_BUSY means the thread is checkpointing right now, which
 * is progress too.
 */
static void
wal_limit(struct store *s)
{
	if (s->wal_pages < s->ckpt_hard)
		return;
	(void)sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	s->wal_pages = 0;
}

/* Read one integer pragma of a connection; -1 on error. */
static int64_t
pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * Take checkpoints off the loop: auto-checkpoint off, the WAL hook installed, and the
 * thread started on its own connection. Without thread support in SQLite (or when
 * the thread cannot start) SQLite's auto-checkpoint stays on, as before.
 */
static int
ckpt_start(struct store *s, const char *path)
{
	struct ckpt *c = NULL;
	pthread_condattr_t ca;
	int64_t psize = pragma_int(s->db, "PRAGMA page_size");
	bool mu = false, cv = false;
	int ret = ARR_EDB;

	if (psize <= 0)
		return ARR_EDB;
	s->ckpt_hard = (int)(CKPT_HARD_BYTES / (uint64_t)psize);
	if (!sqlite3_threadsafe())
		return 0;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ARR_ENOMEM;
	c->soft = (int)(CKPT_SOFT_BYTES / (uint64_t)psize);
	if (pthread_mutex_init(&c->mu, NULL) != 0)
		goto out;
	mu = true;
	if (pthread_condattr_init(&ca) != 0)
		goto out;
	cv = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	     pthread_cond_init(&c->cv, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (!cv)
		goto out;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	        SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-256", NULL, NULL,
	                 NULL) != SQLITE_OK ||
	    pragma_int(c->db, "PRAGMA schema_version") < 0)
		goto out;
	sqlite3_busy_timeout(c->db, CKPT_BUSY_MS);
	if (sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	sqlite3_wal_hook(s->db, wal_hook, s);
	if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
		sqlite3_wal_hook(s->db, NULL, NULL);
		(void)sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint=1000", NULL, NULL, NULL);
		goto out;
	}
	s->ckpt = c;
	c = NULL;
	ret = 0;
out:
	if (c != NULL) {
		sqlite3_close(c->db);
		if (cv)
			pthread_cond_destroy(&c->cv);
		if (mu)
			pthread_mutex_destroy(&c->mu);
		free(c);
	}
	return ret;
}

/* Stop and join the thread; the caller then checkpoints fully. */
static void
ckpt_stop(struct store *s)
{
	struct ckpt *c = s->ckpt;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	sqlite3_close(c->db);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	s->ckpt = NULL;
	sqlite3_wal_hook(s->db, NULL, NULL);
}

/* ---- transactions ---- */

static int
tx_begin(struct store *s)
{
	return run(s->st[ST_BEGIN]);
}

/* Roll back and bring the in-memory mirrors back in line with the database. */
static void
tx_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)run(s->st[ST_ROLLBACK]);
	s->bulk_tx = false;
	(void)mirrors_load(s);
}

static int
tx_commit(struct store *s)
{
	int rc = run(s->st[ST_COMMIT]);

	if (rc < 0) {
		tx_rollback(s);
		return rc;
	}
	wal_limit(s);
	return 0;
}

/* Commit the open bulk transaction, if any (store.h, store_bulk_begin). */
static int
bulk_flush(struct store *s)
{
	if (!s->bulk_tx)
		return 0;
	s->bulk_tx = false;
	return tx_commit(s);
}

static int cache_grow(struct store *s);

/* ---- opening ---- */

/* Quote-free because schema.h names are plain identifiers; we still quote them. */
static int
tables_prepare(struct store *s)
{
	size_t n = schema_table_count();
	char *sql = NULL;
	size_t cap = 0;
	FILE *f = NULL;
	int rc, ret = ARR_ENOMEM;

	if ((s->tables = calloc(n, sizeof(*s->tables))) == NULL)
		return ARR_ENOMEM;
	s->ntables = n;
	for (size_t i = 0; i < n; i++) {
		struct store_table *st = &s->tables[i];
		const struct schema_table *t = schema_table_at(i);
		size_t nd = t->ncolumns - 1; /* _deleted is last */

		assert(strcmp(t->columns[nd].name, SCHEMA_DELETED) == 0);
		assert(t->ncolumns <= 62);
		st->t = t;
		if (t->ncolumns + 1 > s->maxcols)
			s->maxcols = t->ncolumns + 1;
		if ((st->names = calloc(nd + 1, sizeof(*st->names))) == NULL)
			goto out;
		st->names[0] = "id";
		for (size_t c = 0; c < nd; c++)
			st->names[c + 1] = t->columns[c].name;
		st->nnames = nd + 1;

		/* CREATE TABLE: no declared types, so values are stored exactly as merged */
		if ((f = open_memstream(&sql, &cap)) == NULL)
			goto out;
		/*
		 * A rowid table: rows get rowids in arrival order, so new rows, their clock
		 * record and their history entries append at the right edge of three B-trees;
		 * only the UNIQUE index on the random id takes scattered inserts. The rowid is
		 * declared (_rid INTEGER PRIMARY KEY) because _clock and _rowlog refer to it:
		 * an undeclared rowid may be renumbered by VACUUM, a declared one never is.
		 */
		fprintf(f, "CREATE TABLE IF NOT EXISTS \"%s\"(id TEXT NOT NULL UNIQUE", t->name);
		for (size_t c = 0; c < nd; c++)
			fprintf(f, ", \"%s\"", t->columns[c].name);
		fprintf(f, ", _deleted INTEGER NOT NULL DEFAULT 0, _rid INTEGER PRIMARY KEY, "
		           "_clk BLOB NOT NULL)");
		if (fclose(f) != 0)
			goto out;
		f = NULL;
		if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			ret = ARR_EDB;
			goto out;
		}
		free(sql);
		sql = NULL;

		/* SELECT of visible rows */
		if ((f = open_memstream(&st->select, &cap)) == NULL)
			goto out;
		fprintf(f, "SELECT id");
		for (size_t c = 0; c < nd; c++)
			fprintf(f, ", \"%s\"", t->columns[c].name);
		fprintf(f, " FROM \"%s\" WHERE _deleted <> 1", t->name);
		if (fclose(f) != 0)
			goto out;
		f = NULL;

		/* new row: ?1 id, ?2.. columns (schema order, _deleted last), then the clocks */
		if ((f = open_memstream(&sql, &cap)) == NULL)
			goto out;
		fprintf(f, "INSERT INTO \"%s\"(id", t->name);
		for (size_t c = 0; c < t->ncolumns; c++)
			fprintf(f, ", \"%s\"", t->columns[c].name);
		fprintf(f, ", _clk) VALUES(?1");
		for (size_t c = 0; c < t->ncolumns; c++)
			fprintf(f, ", ?%zu", c + 2);
		fprintf(f, ", ?%zu) ON CONFLICT(id) DO NOTHING", t->ncolumns + 2);
		if (fclose(f) != 0)
			goto out;
		f = NULL;
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->insert,
		                       NULL) != SQLITE_OK) {
			ret = ARR_EDB;
			goto out;
		}
		free(sql);
		sql = NULL;

		/*
		 * existing row: ?1 its rowid, ?2.. columns as above, then the clocks and the
		 * mask of the columns to set
		 */
		if ((f = open_memstream(&sql, &cap)) == NULL)
			goto out;
		fprintf(f, "UPDATE \"%s\" SET ", t->name);
		for (size_t c = 0; c < t->ncolumns; c++)
			fprintf(f,
			        "\"%s\" = CASE WHEN (?%zu >> %zu) & 1 THEN ?%zu ELSE \"%s\" END, ",
			        t->columns[c].name, t->ncolumns + 3, c, c + 2, t->columns[c].name);
		fprintf(f, "_clk = ?%zu WHERE _rid = ?1", t->ncolumns + 2);
		if (fclose(f) != 0)
			goto out;
		f = NULL;
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->update,
		                       NULL) != SQLITE_OK) {
			ret = ARR_EDB;
			goto out;
		}
		free(sql);
		sql = NULL;

		if ((sql = concat(st->select, " AND id = ?1")) == NULL)
			goto out;
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->get, NULL) !=
		    SQLITE_OK) {
			ret = ARR_EDB;
			goto out;
		}
		free(sql);
		if ((sql = sqlite3_mprintf("SELECT _rid, _clk FROM \"%w\" WHERE id = ?1",
		                           t->name)) == NULL)
			goto out;
		rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->find, NULL);
		sqlite3_free(sql);
		sql = NULL;
		if (rc != SQLITE_OK) {
			ret = ARR_EDB;
			goto out;
		}
	}
	if ((s->scratch = calloc(s->maxcols, sizeof(*s->scratch))) == NULL ||
	    (s->clocks = calloc(s->maxcols, CLOCK_LEN)) == NULL ||
	    (s->clkrec = calloc(s->maxcols, CLOCK_GROUP_LEN)) == NULL)
		goto out;
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	free(sql);
	return ret;
}

/*
 * Create the metadata schema if needed and check the node identity: a replica belongs
 * to the key that created it (ARR_EKEY otherwise) and to one schema version.
 */
static int
identity_check(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = ARR_EDB;
	bool fresh;

	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return ARR_EDB;
	if (sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)
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
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, "schema_version", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (!fresh && (rc != SQLITE_ROW || sqlite3_column_int64(st, 0) != ARR_SCHEMA_VERSION)) {
		ret = rc == SQLITE_ROW ? ARR_EVERSION : ARR_EDB;
		goto out;
	}
	/*
	 * The layout of the tables changes with STORE_FORMAT (2: rowid domain tables,
	 * _clock and _rowlog keyed by rowid; 3: clocks in the row); a replica of another
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
		last = hlc_from_db(sqlite3_column_int64(st, 0));
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
		return db_error(rc);
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
	s->is_member = cfg->is_member;
	s->member_ctx = cfg->member_ctx;
	s->clock = cfg->clock;
	s->clock_ctx = cfg->clock_ctx;
	s->max_drift = cfg->max_clock_drift_ms ? cfg->max_clock_drift_ms : ARR_MAX_DRIFT_MS;

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
	                 "PRAGMA temp_store=MEMORY",
	                 NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	if ((ret = cache_set(s, CACHE_KIB)) < 0 || (ret = identity_check(s)) < 0 ||
	    (ret = ckpt_start(s, cfg->path)) < 0)
		goto out;
	if ((ret = tables_prepare(s)) < 0)
		goto out;
	ret = ARR_EDB;
	for (int i = 0; i < ST__COUNT; i++)
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
		                       NULL) != SQLITE_OK)
			goto out;
	if ((ret = mirrors_load(s)) < 0 || (ret = hlc_load(s)) < 0 || (ret = restored_load(s)) < 0)
		goto out;
	if ((s->self_oid = origin_find(s, s->self)) == 0) {
		if ((ret = tx_begin(s)) < 0)
			goto out;
		if ((ret = origin_id(s, s->self, &s->self_oid)) < 0) {
			tx_rollback(s);
			goto out;
		}
		if ((ret = tx_commit(s)) < 0)
			goto out;
	}
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
	if (s->db != NULL) {
		(void)bulk_flush(s);
		ckpt_stop(s);
		/* everything into the database file; closing the last connection drops the WAL */
		(void)sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
		                                NULL);
	}
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (size_t i = 0; s->tables != NULL && i < s->ntables; i++) {
		sqlite3_finalize(s->tables[i].insert);
		sqlite3_finalize(s->tables[i].update);
		sqlite3_finalize(s->tables[i].get);
		sqlite3_finalize(s->tables[i].find);
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
	free(s->org);
	free(s);
	*sp = NULL;
}

void
store_set_members(struct store *s, store_member_fn fn, void *ctx)
{
	s->is_member = fn;
	s->member_ctx = ctx;
}

void
store_set_max_drift(struct store *s, uint64_t ms)
{
	s->max_drift = ms ? ms : ARR_MAX_DRIFT_MS;
}

/* ---- merge ---- */

/*
 * The clocks of a row live in the row itself (_clk): for every column, the key of the op
 * that won the cell, (hlc, local origin id, seq); origin id 0 means no op has written the
 * cell yet. In memory a row's keys are an array of CLOCK_LEN entries in schema order
 * (clock_get/clock_put). Stored, they are grouped by key, because a row is mostly written
 * by one change set: a record is a sequence of groups, each hlc (8 bytes), origin id (4),
 * seq (8) and the mask of the columns holding that key (8), all big-endian, in the order
 * of their lowest column. A row written once costs 28 bytes instead of 20 per column.
 */
struct cellkey {
	uint64_t hlc;
	uint32_t oid;
	uint64_t seq;
};

static struct cellkey
clock_get(const uint8_t *clocks, size_t ci)
{
	const uint8_t *p = clocks + ci * CLOCK_LEN;

	return (struct cellkey){be_get(p, 8), (uint32_t)be_get(p + 8, 4), be_get(p + 12, 8)};
}

static void
clock_put(uint8_t *clocks, size_t ci, const struct cellkey *k)
{
	uint8_t *p = clocks + ci * CLOCK_LEN;

	be_put(p, k->hlc, 8);
	be_put(p + 8, k->oid, 4);
	be_put(p + 12, k->seq, 8);
}

/* Encode the keys of ncols columns (clocks) as a stored record in out; its length. */
static size_t
clocks_encode(const uint8_t *clocks, size_t ncols, uint8_t *out)
{
	uint64_t done = 0;
	size_t n = 0;

	for (size_t c = 0; c < ncols; c++) {
		const uint8_t *key = clocks + c * CLOCK_LEN;
		uint64_t mask = 0;

		if ((done >> c) & 1 || be_get(key + 8, 4) == 0)
			continue;
		for (size_t d = c; d < ncols; d++)
			if (memcmp(clocks + d * CLOCK_LEN, key, CLOCK_LEN) == 0)
				mask |= UINT64_C(1) << d;
		done |= mask;
		memcpy(out + n, key, CLOCK_LEN);
		be_put(out + n + CLOCK_LEN, mask, 8);
		n += CLOCK_GROUP_LEN;
	}
	return n;
}

/*
 * Decode a stored record into the keys of ncols columns. A record that does not parse
 * (length, a column out of range or claimed twice, origin id 0 or unknown) is ARR_EDB:
 * the replica was altered behind the daemon's back.
 */
static int
clocks_decode(const struct store *s, const uint8_t *rec, size_t len, uint8_t *clocks, size_t ncols)
{
	uint64_t seen = 0, all = ncols < 64 ? (UINT64_C(1) << ncols) - 1 : UINT64_MAX;

	memset(clocks, 0, ncols * CLOCK_LEN);
	if (len % CLOCK_GROUP_LEN != 0)
		return ARR_EDB;
	for (size_t n = 0; n < len; n += CLOCK_GROUP_LEN) {
		uint64_t mask = be_get(rec + n + CLOCK_LEN, 8);
		uint32_t oid = (uint32_t)be_get(rec + n + 8, 4);

		if (mask == 0 || (mask & ~all) != 0 || (mask & seen) != 0 || oid == 0 ||
		    oid > s->norigins)
			return ARR_EDB;
		seen |= mask;
		for (size_t c = 0; c < ncols; c++)
			if ((mask >> c) & 1)
				memcpy(clocks + c * CLOCK_LEN, rec + n, CLOCK_LEN);
	}
	return 0;
}

/*
 * Does an op with key k win a cell holding key old? Keys compare as (hlc, origin bytes,
 * seq); equal keys win too, so a later op of the same change set overrides an earlier.
 * Origins are compared by their bytes, because local ids differ between replicas.
 */
static bool
key_wins(const struct store *s, const struct cellkey *k, const struct cellkey *old)
{
	if (old->oid == 0)
		return true;
	if (k->hlc != old->hlc)
		return k->hlc > old->hlc;
	if (k->oid == old->oid)
		return k->seq >= old->seq;
	assert(k->oid >= 1 && k->oid <= s->norigins && old->oid <= s->norigins);
	return memcmp(s->origins[k->oid - 1], s->origins[old->oid - 1], ARR_ORIGIN_LEN) > 0;
}

/*
 * Bind the values of the columns in mask from vals at ?2.. of a row statement; the
 * other columns get NULL, except _deleted (last), which is 1 only for an int 1 and
 * otherwise 0 (nil "deletes" nothing).
 */
static int
bind_row(sqlite3_stmt *st, const struct store_table *tb, uint64_t mask, const struct value *vals)
{
	size_t n = tb->t->ncolumns;
	int rc;

	for (size_t c = 0; c < n; c++) {
		int idx = (int)c + 2;

		if (c == n - 1)
			rc = sqlite3_bind_int64(st, idx,
			                        ((mask >> c) & 1) && vals[c].kind == VALUE_INT &&
			                            vals[c].u.i == 1);
		else if ((mask >> c) & 1)
			rc = bind_value(st, idx, &vals[c]);
		else
			rc = sqlite3_bind_null(st, idx);
		if (rc != SQLITE_OK)
			return db_error(rc);
	}
	return 0;
}

/*
 * Insert a row that may not exist yet, with the columns in mask and its clock record.
 * Returns 1 and its rowid when it was inserted, 0 when a row with this id exists.
 */
static int
row_insert(struct store *s, const struct store_table *tb, const char *id, uint64_t mask,
           const struct value *vals, const uint8_t *rec, size_t reclen, int64_t *rid)
{
	sqlite3_stmt *st = tb->insert;
	int rc;

	sqlite3_bind_text(st, 1, id, ARR_ROWID_STRLEN, SQLITE_STATIC);
	if ((rc = bind_row(st, tb, mask, vals)) == 0) {
		sqlite3_bind_blob(st, (int)tb->t->ncolumns + 2, rec, (int)reclen, SQLITE_STATIC);
		rc = run(st);
	}
	sqlite3_clear_bindings(st);
	if (rc < 0)
		return rc;
	if (sqlite3_changes(s->db) == 0)
		return 0;
	*rid = sqlite3_last_insert_rowid(s->db);
	return 1;
}

/* The rowid and decoded clocks (into s->clocks) of a row, ARR_ENOTFOUND if none. */
static int
row_find(struct store *s, const struct store_table *tb, const char *id, int64_t *rid)
{
	sqlite3_stmt *st = tb->find;
	int rc;

	sqlite3_bind_text(st, 1, id, ARR_ROWID_STRLEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*rid = sqlite3_column_int64(st, 0);
		rc = clocks_decode(s, sqlite3_column_blob(st, 1),
		                   (size_t)sqlite3_column_bytes(st, 1), s->clocks, tb->t->ncolumns);
	} else {
		*rid = 0;
		rc = rc == SQLITE_DONE ? ARR_ENOTFOUND : db_error(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* Set the columns in mask of the row with rowid rid, and its clock record. */
static int
row_update(const struct store_table *tb, int64_t rid, uint64_t mask, const struct value *vals,
           const uint8_t *rec, size_t reclen)
{
	sqlite3_stmt *st = tb->update;
	size_t n = tb->t->ncolumns;
	int rc;

	sqlite3_bind_int64(st, 1, rid);
	if ((rc = bind_row(st, tb, mask, vals)) == 0) {
		sqlite3_bind_blob(st, (int)n + 2, rec, (int)reclen, SQLITE_STATIC);
		sqlite3_bind_int64(st, (int)n + 3, (int64_t)mask);
		rc = run(st);
	}
	sqlite3_clear_bindings(st);
	return rc;
}

/*
 * Merge the ops ops[i..j) on one row into the clocks in s->clocks: each op whose key wins
 * its cell takes it (a later op of the same change set wins over an earlier). Returns
 * the mask of the cells taken; their values are in s->scratch.
 */
static uint64_t
merge_row(struct store *s, const struct store_table *tb, const struct cs_op *ops, size_t n,
          const struct cellkey *key)
{
	uint64_t mask = 0;

	for (size_t k = 0; k < n; k++) {
		int ci = schema_column_index(tb->t, ops[k].column);
		struct cellkey old;

		assert(ci >= 0); /* validated before */
		old = clock_get(s->clocks, (size_t)ci);
		if (key_wins(s, key, &old)) {
			clock_put(s->clocks, (size_t)ci, key);
			mask |= UINT64_C(1) << ci;
			s->scratch[ci] = ops[k].value;
		}
	}
	return mask;
}

/*
 * Merge the ops of a change set whose key is (hlc, oid, seq) into the domain tables.
 * Consecutive ops on one row are merged together. A row is first inserted as if new
 * (every op wins a cell nobody wrote), which is one statement for the rows of a catch-up
 * or an import; if the id exists, its clocks are read, merged and the row updated. Every
 * op, winning or not, puts the row in the history index (one entry per row and change
 * set).
 */
static int
merge_ops(struct store *s, const struct changeset *cs, int64_t oid, int64_t log_id)
{
	sqlite3_stmt *rowlog = s->st[ST_ROWLOG_INS];
	struct cellkey key = {cs->h.hlc, (uint32_t)oid, cs->h.seq};
	const char *tname = NULL;
	int ti = -1;
	size_t i = 0;
	int rc;

	sqlite3_bind_int64(rowlog, 3, log_id);
	while (i < cs->nops) {
		const struct cs_op *first = &cs->ops[i];
		const struct store_table *tb;
		char id[ARR_ROWID_STRLEN + 1];
		int64_t rid = 0;
		uint64_t mask;
		size_t j, ncols, len;

		if (tname == NULL || strcmp(tname, first->table) != 0) {
			tname = first->table;
			ti = table_index(tname);
		}
		assert(ti >= 0); /* validated before */
		tb = &s->tables[ti];
		ncols = tb->t->ncolumns;
		for (j = i + 1; j < cs->nops; j++)
			if (memcmp(cs->ops[j].row, first->row, ARR_ROWID_LEN) != 0 ||
			    strcmp(cs->ops[j].table, tname) != 0)
				break;
		rowid_format(first->row, id);

		memset(s->clocks, 0, ncols * CLOCK_LEN);
		mask = merge_row(s, tb, first, j - i, &key);
		len = clocks_encode(s->clocks, ncols, s->clkrec);
		if ((rc = row_insert(s, tb, id, mask, s->scratch, s->clkrec, len, &rid)) < 0)
			return rc;
		if (rc == 0) {
			/* the insert just found it: it cannot be missing */
			if ((rc = row_find(s, tb, id, &rid)) < 0)
				return rc == ARR_ENOTFOUND ? ARR_EDB : rc;
			if ((mask = merge_row(s, tb, first, j - i, &key)) != 0) {
				len = clocks_encode(s->clocks, ncols, s->clkrec);
				if ((rc = row_update(tb, rid, mask, s->scratch, s->clkrec, len)) <
				    0)
					return rc;
			}
		}
		sqlite3_bind_int(rowlog, 1, ti);
		sqlite3_bind_int64(rowlog, 2, rid);
		if ((rc = run(rowlog)) < 0)
			return rc;
		i = j;
	}
	return 0;
}

/* Log, merge and count one change set whose seq is vector[origin] + 1. */
static int
apply_cs(struct store *s, const struct changeset *cs, int64_t oid)
{
	sqlite3_stmt *st = s->st[ST_LOG_INS];
	int64_t log_id;
	int rc;

	assert(cs->h.seq == vv_get(s->vec, cs->origin) + 1);
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
	sqlite3_bind_int64(st, 3, hlc_to_db(cs->h.hlc));
	sqlite3_bind_blob(st, 4, cs->raw, (int)cs->rawlen, SQLITE_STATIC);
	if ((rc = run(st)) < 0)
		return rc;
	log_id = sqlite3_last_insert_rowid(s->db);
	if ((rc = merge_ops(s, cs, oid, log_id)) < 0)
		return rc;
	st = s->st[ST_VV_UPSERT];
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
	if ((rc = run(st)) < 0)
		return rc;
	return vv_set(s->vec, cs->origin, cs->h.seq);
}

/* ---- quarantine ---- */

/*
 * Keep raw bytes in quarantine with a reason. An identical blob is stored once (keyed
 * by its hash); a new attempt only refreshes the reason.
 */
static int
quarantine_put(struct store *s, const uint8_t *raw, size_t len, const uint8_t *origin, uint64_t seq,
               int reason, const char *detail, uint64_t now)
{
	sqlite3_stmt *st = s->st[ST_Q_UPSERT];
	uint8_t hash[HASH_LEN];
	int rc;

	crypto_generichash(hash, sizeof(hash), raw, len, NULL, 0);
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	if (len == 0)
		sqlite3_bind_zeroblob(st, 2, 0);
	else
		sqlite3_bind_blob(st, 2, raw, (int)len, SQLITE_STATIC);
	if (origin != NULL) {
		sqlite3_bind_blob(st, 3, origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)seq);
	} else {
		sqlite3_bind_null(st, 3);
		sqlite3_bind_null(st, 4);
	}
	sqlite3_bind_int(st, 5, reason);
	sqlite3_bind_text(st, 6, detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (int64_t)now);
	rc = run(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/*
 * A change set that is applied (or found to be a duplicate) no longer belongs in the
 * quarantine: an identical copy kept there earlier, for instance while its clock was too
 * far ahead, leaves it, whether the change set came back by a pull or by a retry.
 */
static int
quarantine_clear(struct store *s, const uint8_t *raw, size_t len)
{
	sqlite3_stmt *st = s->st[ST_Q_DEL_HASH];
	uint8_t hash[HASH_LEN];

	crypto_generichash(hash, sizeof(hash), raw, len, NULL, 0);
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	return run(st);
}

/* ---- remote change sets ---- */

/*
 * Everything a change set must satisfy before it may be applied or held pending:
 * scope, schema version, signature, membership, schema of every op, clock drift.
 * Returns 0 or the ARR_E* reason, with a short detail (no personal data).
 */
static int
validate(struct store *s, const struct changeset *cs, uint64_t now, char *detail, size_t dlen)
{
	uint64_t ahead;

	if (strcmp(cs->h.scope, ARR_SCOPE_REGION) != 0) {
		snprintf(detail, dlen, "unknown scope");
		return ARR_ESCOPE;
	}
	if (cs->h.schema_version != ARR_SCHEMA_VERSION) {
		snprintf(detail, dlen, "schema version %" PRIu32, cs->h.schema_version);
		return ARR_EVERSION;
	}
	if (changeset_verify(cs) != 0) {
		snprintf(detail, dlen, "bad signature");
		return ARR_EBADSIG;
	}
	if (memcmp(cs->origin, s->self, ARR_ORIGIN_LEN) != 0 &&
	    (s->is_member == NULL || !s->is_member(s->member_ctx, cs->origin))) {
		snprintf(detail, dlen, "origin is not a member");
		return ARR_ENOTMEMBER;
	}
	for (size_t i = 0; i < cs->nops; i++) {
		const struct schema_table *t = schema_table_find(cs->ops[i].table);
		const struct schema_column *c = schema_column_find(t, cs->ops[i].column);

		if (t == NULL || c == NULL) {
			snprintf(detail, dlen, "unknown table or column in op %zu", i);
			return ARR_ESCHEMA;
		}
		/* changeset_decode() checked the text of every value */
		if (!schema_value_fits(c, &cs->ops[i].value)) {
			snprintf(detail, dlen, "value does not fit its column in op %zu", i);
			return ARR_ESCHEMA;
		}
	}
	if ((ahead = hlc_ahead_ms(cs->h.hlc, now)) > s->max_drift) {
		snprintf(detail, dlen, "clock ahead by %" PRIu64 " ms", ahead);
		return ARR_ECLOCK;
	}
	return 0;
}

/* Compare a stored blob of a one-row statement with bytes; *found says if a row came. */
static int
blob_equal(sqlite3_stmt *st, const uint8_t *raw, size_t len, bool *found, bool *equal)
{
	int rc = sqlite3_step(st);

	*found = *equal = false;
	if (rc == SQLITE_ROW) {
		*found = true;
		*equal = (size_t)sqlite3_column_bytes(st, 0) == len &&
		         (len == 0 || memcmp(sqlite3_column_blob(st, 0), raw, len) == 0);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_error(rc);
}

/*
 * After (oid, seq) was applied directly, a pending copy of it is obsolete: identical
 * ones are dropped, different ones (an origin that signed two contents for one seq)
 * move to quarantine so nothing is lost.
 */
static int
pending_settle(struct store *s, const struct changeset *cs, int64_t oid, uint64_t now)
{
	sqlite3_stmt *st = s->st[ST_PEND_GET];
	bool found = false, equal = false;
	int rc;

	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		const uint8_t *raw = sqlite3_column_blob(st, 0);

		found = true;
		equal = len == cs->rawlen && memcmp(raw, cs->raw, len) == 0;
		if (!equal &&
		    (rc = quarantine_put(s, raw, len, cs->origin, cs->h.seq, ARR_ECONFLICT,
		                         "different content for a pending seq", now)) < 0) {
			sqlite3_reset(st);
			return rc;
		}
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_error(rc);
	if (!found)
		return 0;
	st = s->st[ST_PEND_DEL];
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
	return run(st);
}

/* Apply pending change sets of origin that became contiguous; counts them in *n. */
static int
pending_drain(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], int64_t oid, uint64_t now,
              size_t *n)
{
	sqlite3_stmt *get = s->st[ST_PEND_GET], *del = s->st[ST_PEND_DEL];
	struct changeset *cs = NULL;
	int rc;

	for (;;) {
		uint64_t next = vv_get(s->vec, origin) + 1;
		const uint8_t *raw;
		size_t len;

		sqlite3_bind_int64(get, 1, oid);
		sqlite3_bind_int64(get, 2, (int64_t)next);
		if ((rc = sqlite3_step(get)) != SQLITE_ROW) {
			sqlite3_reset(get);
			return rc == SQLITE_DONE ? 0 : db_error(rc);
		}
		raw = sqlite3_column_blob(get, 0);
		len = (size_t)sqlite3_column_bytes(get, 0);
		rc = changeset_decode(raw, len, &cs);
		if (rc < 0 && rc != ARR_ENOMEM) {
			/* cannot happen for bytes we verified; keep them, leave the gap */
			int qrc = quarantine_put(s, raw, len, origin, next, rc,
			                         "pending change set no longer decodes", now);

			sqlite3_reset(get);
			if (qrc < 0)
				return qrc;
			sqlite3_bind_int64(del, 1, oid);
			sqlite3_bind_int64(del, 2, (int64_t)next);
			return run(del);
		}
		sqlite3_reset(get);
		if (rc < 0)
			return rc;
		if (cs->h.seq != next || memcmp(cs->origin, origin, ARR_ORIGIN_LEN) != 0)
			rc = ARR_EDB; /* the row does not hold what its key says */
		else if ((rc = apply_cs(s, cs, oid)) == 0 &&
		         (rc = quarantine_clear(s, cs->raw, cs->rawlen)) == 0)
			hlc_recv(&s->hlc, cs->h.hlc, now);
		changeset_destroy(&cs);
		if (rc < 0)
			return rc;
		(*n)++;
		sqlite3_bind_int64(del, 1, oid);
		sqlite3_bind_int64(del, 2, (int64_t)next);
		if ((rc = run(del)) < 0)
			return rc;
	}
}

/*
 * Verify one envelope and apply it, recognise it as a duplicate, hold it pending or
 * quarantine it. Returns 0 (with *out and the counters updated) or a database error
 * that must abort the caller's transaction.
 */
static int
process(struct store *s, const uint8_t *raw, size_t len, uint64_t now, enum store_outcome *out,
        struct store_apply_stats *stats)
{
	struct changeset *cs = NULL;
	char detail[DETAIL_MAX];
	int64_t oid;
	uint64_t have;
	int rc, reason;

	if (len > ARR_CS_MAX_BYTES) {
		reason = ARR_ETOOBIG;
		snprintf(detail, sizeof(detail), "change set larger than the limit");
		goto quarantine;
	}
	if ((reason = changeset_decode(raw, len, &cs)) < 0) {
		if (reason == ARR_ENOMEM)
			return reason;
		snprintf(detail, sizeof(detail), "undecodable change set");
		goto quarantine;
	}
	if ((reason = validate(s, cs, now, detail, sizeof(detail))) < 0)
		goto quarantine;

	have = vv_get(s->vec, cs->origin);
	if (cs->h.seq <= have) {
		bool found, equal;
		sqlite3_stmt *st = s->st[ST_LOG_GET];

		oid = origin_find(s, cs->origin);
		sqlite3_bind_int64(st, 1, oid);
		sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
		if ((rc = blob_equal(st, cs->raw, cs->rawlen, &found, &equal)) < 0)
			goto out;
		if (found && !equal) {
			reason = ARR_ECONFLICT;
			snprintf(detail, sizeof(detail),
			         "different content for logged seq %" PRIu64, cs->h.seq);
			goto quarantine;
		}
		if ((rc = quarantine_clear(s, cs->raw, cs->rawlen)) < 0)
			goto out;
		*out = STORE_DUPLICATE;
		stats->duplicates++;
		goto out;
	}
	if ((rc = origin_id(s, cs->origin, &oid)) < 0)
		goto out;
	if (cs->h.seq == have + 1) {
		if ((rc = apply_cs(s, cs, oid)) < 0 || (rc = pending_settle(s, cs, oid, now)) < 0 ||
		    (rc = quarantine_clear(s, cs->raw, cs->rawlen)) < 0)
			goto out;
		hlc_recv(&s->hlc, cs->h.hlc, now);
		stats->applied++;
		*out = STORE_APPLIED;
		rc = pending_drain(s, cs->origin, oid, now, &stats->applied);
		goto out;
	}
	/* a gap: hold it until the earlier seqs arrive */
	{
		bool found, equal;
		sqlite3_stmt *st = s->st[ST_PEND_GET];

		sqlite3_bind_int64(st, 1, oid);
		sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
		if ((rc = blob_equal(st, cs->raw, cs->rawlen, &found, &equal)) < 0)
			goto out;
		if (found && !equal) {
			reason = ARR_ECONFLICT;
			snprintf(detail, sizeof(detail),
			         "different content for pending seq %" PRIu64, cs->h.seq);
			goto quarantine;
		}
		if (!found) {
			st = s->st[ST_PEND_INS];
			sqlite3_bind_int64(st, 1, oid);
			sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
			sqlite3_bind_blob(st, 3, cs->raw, (int)cs->rawlen, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, (int64_t)now);
			if ((rc = run(st)) < 0)
				goto out;
		}
		*out = STORE_PENDING;
		stats->pending++;
		rc = 0;
		goto out;
	}
quarantine:
	rc = quarantine_put(s, raw, len, cs != NULL ? cs->origin : NULL, cs != NULL ? cs->h.seq : 0,
	                    reason, detail, now);
	if (rc == 0) {
		*out = STORE_QUARANTINED;
		stats->quarantined++;
	}
out:
	changeset_destroy(&cs);
	return rc;
}

int
store_apply(struct store *s, const struct store_blob *items, size_t n, enum store_outcome *outcomes,
            struct store_apply_stats *stats)
{
	struct store_apply_stats st = {0};
	uint64_t now;
	int rc;

	assert(s != NULL && (items != NULL || n == 0));
	if (stats != NULL)
		*stats = st;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].data == NULL && items[i].len != 0)
			return ARR_EINVAL;
	now = now_ms(s);
	if (!s->bulk_tx) {
		if ((rc = tx_begin(s)) < 0)
			return rc;
		if (s->bulk) {
			s->bulk_tx = true;
			s->bulk_t0 = mono_ms();
		}
	}
	for (size_t i = 0; i < n; i++) {
		enum store_outcome o = STORE_QUARANTINED;

		if ((rc = process(s, items[i].data != NULL ? items[i].data : (const uint8_t *)"",
		                  items[i].len, now, &o, &st)) < 0) {
			tx_rollback(s);
			return rc;
		}
		if (outcomes != NULL)
			outcomes[i] = o;
	}
	if (!s->bulk_tx || mono_ms() - s->bulk_t0 >= BULK_COMMIT_MS) {
		bool bulk = s->bulk_tx;

		s->bulk_tx = false;
		if ((rc = tx_commit(s)) < 0)
			return rc;
		/* the replica grew: so may the cache */
		if (bulk && (rc = cache_grow(s)) < 0)
			return rc;
	}
	if (stats != NULL)
		*stats = st;
	return 0;
}

/*
 * The large page cache of bulk applies and large writes: taken when such work starts,
 * kept while it keeps coming (a catch-up or an import is many calls, and each would
 * otherwise read its working set again), given back by store_trim() once the store has
 * had no such work for TRIM_MS.
 */
static int
cache_grow(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int64_t kib = LARGE_CACHE_MIN_KIB;

	/* page_count * page_size / 8, in KiB */
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT page_count * page_size / 8192 FROM pragma_page_count(), "
	                       "pragma_page_size()",
	                       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		kib = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	kib = kib < LARGE_CACHE_MIN_KIB   ? LARGE_CACHE_MIN_KIB
	      : kib > LARGE_CACHE_MAX_KIB ? LARGE_CACHE_MAX_KIB
	                                  : kib;
	if (kib != s->cache_kib && cache_set(s, (int)kib) < 0)
		return ARR_EDB;
	s->large_at = mono_ms();
	return 0;
}

void
store_trim(struct store *s)
{
	if (s->large_at == 0 || s->bulk || mono_ms() - s->large_at < TRIM_MS)
		return;
	s->large_at = 0;
	(void)cache_set(s, CACHE_KIB);
	sqlite3_db_release_memory(s->db);
}

int
store_bulk_begin(struct store *s)
{
	if (cache_grow(s) < 0)
		return ARR_EDB;
	s->bulk = true;
	return 0;
}

int
store_bulk_end(struct store *s)
{
	int rc = bulk_flush(s);

	s->bulk = false;
	s->large_at = mono_ms(); /* store_trim() gives the cache back later */
	return rc;
}

/* ---- local writes ---- */

/*
 * May a local change set take the next own seq? Not while a peer holds a higher one of
 * ours, nor on a restored copy before any peer was heard from (store.h). Once the hold
 * has lifted on a restored copy, its mark is removed so that a restart does not hold
 * again.
 */
static int
own_seq_check(struct store *s)
{
	if (store_writes_held(s, NULL))
		return ARR_ESTATE;
	if (s->restored) {
		if (sqlite3_exec(s->db, "DELETE FROM _meta WHERE key = 'restored'", NULL, NULL,
		                 NULL) != SQLITE_OK)
			return ARR_EDB;
		s->restored = false;
	}
	return 0;
}

static int
set_synchronous(struct store *s, bool full)
{
	return sqlite3_exec(s->db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
	                    NULL, NULL, NULL) == SQLITE_OK
	           ? 0
	           : ARR_EDB;
}

int
store_write(struct store *s, const struct store_op *ops, size_t nops,
            struct store_write_result *res)
{
	return store_write_rows(s, ops, NULL, nops, res);
}

/* Signing a local change set on a thread (store_write_rows). */
struct signer {
	pthread_t thread;
	const struct nodekey *key;
	struct changeset *cs;
	int rc;
};

static void *
sign_main(void *arg)
{
	struct signer *sg = arg;

	sg->rc = changeset_sign(sg->cs, sg->key);
	return NULL;
}

int
store_write_rows(struct store *s, const struct store_op *ops, const uint8_t *rows, size_t nops,
                 struct store_write_result *res)
{
	struct cs_op *cops = NULL;
	struct changeset *cs = NULL; /* built and signed, to apply next */
	struct store_write_result r = {0};
	bool intx = false;
	uint64_t seq;
	size_t i;
	int ret;

	assert(s != NULL && (ops != NULL || nops == 0));
	if (res != NULL)
		*res = r;
	if (nops == 0)
		return ARR_EINVAL;
	if ((ret = bulk_flush(s)) < 0 || (ret = own_seq_check(s)) < 0)
		return ret;
	for (i = 0; i < nops; i++) {
		const struct schema_table *t = schema_table_find(ops[i].table);
		const struct schema_column *c = schema_column_find(t, ops[i].column);

		if (t == NULL || c == NULL)
			return ARR_ESCHEMA;
		if (!schema_value_ok(c, &ops[i].value) ||
		    (rows == NULL && !rowid_valid_text(ops[i].row_id)))
			return ARR_EINVAL;
	}
	if ((cops = calloc(nops, sizeof(*cops))) == NULL)
		return ARR_ENOMEM;
	for (i = 0; i < nops; i++) {
		cops[i].table = ops[i].table;
		cops[i].column = ops[i].column;
		cops[i].value = ops[i].value;
		if (rows != NULL) {
			memcpy(cops[i].row, rows + i * ARR_ROWID_LEN, ARR_ROWID_LEN);
		} else if (rowid_parse(ops[i].row_id, cops[i].row) < 0) {
			ret = ARR_EINVAL;
			goto out;
		}
	}
	if (nops >= LARGE_WRITE_OPS && (ret = cache_grow(s)) < 0)
		goto out;
	if ((ret = set_synchronous(s, true)) < 0 || (ret = tx_begin(s)) < 0)
		goto out;
	intx = true;
	/*
	 * A pipeline of two: change set k+1 is built and signed on a thread (signing hashes
	 * the body twice, the largest CPU cost of a write outside SQLite) while change set k
	 * is merged and logged here. Seqs are counted here, so k+1 has its seq before k is
	 * applied.
	 */
	seq = vv_get(s->vec, s->self) + 1;
	for (i = 0; i < nops || cs != NULL;) {
		struct signer sg = {.key = s->key, .rc = 0};
		bool threaded = false;
		size_t n = 0;

		if (i < nops) {
			struct cs_header h = {
			    .seq = seq,
			    .hlc = hlc_send(&s->hlc, now_ms(s)),
			    .author_org = s->org,
			    .schema_version = ARR_SCHEMA_VERSION,
			    .scope = ARR_SCOPE_REGION,
			};

			if ((n = changeset_fit(&h, cops + i, nops - i)) == 0) {
				ret = ARR_ETOOBIG;
				goto out;
			}
			if ((ret = changeset_build_unsigned(s->key, &h, cops + i, n, &sg.cs)) < 0)
				goto out;
			/* alone (the last or only one), or no thread: sign here */
			threaded =
			    cs != NULL && pthread_create(&sg.thread, NULL, sign_main, &sg) == 0;
			if (!threaded)
				sg.rc = changeset_sign(sg.cs, s->key);
		}
		if (cs != NULL) {
			ret = apply_cs(s, cs, s->self_oid);
			if (r.changesets++ == 0)
				r.first_seq = cs->h.seq;
			r.last_seq = cs->h.seq;
			changeset_destroy(&cs);
		}
		if (threaded)
			pthread_join(sg.thread, NULL);
		cs = sg.cs;
		if (ret < 0 || (ret = sg.rc) < 0)
			goto out;
		seq++;
		i += n;
	}
	intx = false;
	if ((ret = tx_commit(s)) < 0)
		goto out;
	if (res != NULL)
		*res = r;
out:
	if (intx)
		tx_rollback(s);
	changeset_destroy(&cs);
	free(cops);
	if (set_synchronous(s, false) < 0 && ret == 0)
		ret = ARR_EDB;
	if (nops >= LARGE_WRITE_OPS)
		s->large_at = mono_ms(); /* store_trim() gives the cache back later */
	return ret;
}

/* ---- reads ---- */

/* Call fn for every row of a statement over a table's visible columns. */
static int
rows_emit(struct store *s, sqlite3_stmt *st, const struct store_table *tb, store_row_fn fn,
          void *ctx, size_t *count)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int r;

		for (size_t c = 0; c < tb->nnames; c++)
			s->scratch[c] = column_value(st, (int)c);
		(*count)++;
		if (fn != NULL && (r = fn(ctx, tb->nnames, tb->names, s->scratch)) != 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : db_error(rc);
}

/* Table by name and a normalised (lower-case) row id. */
static int
lookup(struct store *s, const char *table, const char *id, const struct store_table **tb,
       uint8_t row[ARR_ROWID_LEN], char text[ARR_ROWID_STRLEN + 1])
{
	int ti = table != NULL ? table_index(table) : -1;

	if (ti < 0)
		return ARR_ESCHEMA;
	*tb = &s->tables[ti];
	if (id == NULL || rowid_parse(id, row) < 0)
		return ARR_EINVAL;
	rowid_format(row, text);
	return 0;
}

int
store_get(struct store *s, const char *table, const char *id, store_row_fn fn, void *ctx)
{
	const struct store_table *tb;
	uint8_t row[ARR_ROWID_LEN];
	char text[ARR_ROWID_STRLEN + 1];
	size_t count = 0;
	int rc;

	if ((rc = lookup(s, table, id, &tb, row, text)) < 0)
		return rc;
	sqlite3_bind_text(tb->get, 1, text, ARR_ROWID_STRLEN, SQLITE_STATIC);
	rc = rows_emit(s, tb->get, tb, fn, ctx, &count);
	sqlite3_reset(tb->get);
	sqlite3_clear_bindings(tb->get);
	return rc == 0 && count == 0 ? ARR_ENOTFOUND : rc;
}

int
store_list(struct store *s, const char *table, const struct store_filter *filters, size_t nfilters,
           size_t limit, store_row_fn fn, void *ctx)
{
	const struct store_table *tb;
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	size_t cap = 0, count = 0;
	FILE *f;
	int ti, rc, ret = ARR_ENOMEM;

	if (table == NULL || (ti = table_index(table)) < 0)
		return ARR_ESCHEMA;
	tb = &s->tables[ti];
	for (size_t i = 0; i < nfilters; i++)
		if (filters[i].column == NULL ||
		    (strcmp(filters[i].column, "id") != 0 &&
		     schema_column_find(tb->t, filters[i].column) == NULL))
			return ARR_ESCHEMA;
	if ((f = open_memstream(&sql, &cap)) == NULL)
		return ARR_ENOMEM;
	fputs(tb->select, f);
	for (size_t i = 0; i < nfilters; i++)
		fprintf(f, " AND \"%s\" IS ?%zu", filters[i].column, i + 1);
	fputs(" ORDER BY id", f);
	if (limit > 0)
		fprintf(f, " LIMIT %zu", limit);
	if (fclose(f) != 0)
		goto out;
	ret = ARR_EDB;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < nfilters; i++)
		if ((rc = bind_value(st, (int)i + 1, &filters[i].value)) != SQLITE_OK) {
			ret = db_error(rc);
			goto out;
		}
	ret = rows_emit(s, st, tb, fn, ctx, &count);
out:
	sqlite3_finalize(st);
	free(sql);
	return ret;
}

/* Authorizer of the query connection: reading only; no writes, ATTACH or PRAGMA. */
static int
ro_authorize(void *ctx, int action, const char *a, const char *b, const char *db,
             const char *trigger)
{
	(void)ctx;
	(void)a;
	(void)db;
	(void)trigger;
	switch (action) {
	case SQLITE_READ:
		/* a row's clock record is the replica's bookkeeping: it reads as NULL */
		return b != NULL && strcmp(b, "_clk") == 0 ? SQLITE_IGNORE : SQLITE_OK;
	case SQLITE_SELECT:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	default:
		return SQLITE_DENY;
	}
}

/*
 * Progress handler of the query connection: interrupts a statement that has run past
 * its deadline, so one runaway query cannot stall the daemon's only thread.
 */
static int
ro_progress(void *ctx)
{
	const struct store *s = ctx;

	return mono_ms() > s->ro_deadline;
}

static int
ro_open(struct store *s)
{
	const char *path;

	if (s->ro != NULL)
		return 0;
	if ((path = sqlite3_db_filename(s->db, "main")) == NULL || *path == '\0')
		return ARR_EDB;
	if (sqlite3_open_v2(path, &s->ro, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(s->ro, BUSY_TIMEOUT_MS);
	if (sqlite3_exec(s->ro, "PRAGMA query_only=1; PRAGMA trusted_schema=OFF", NULL, NULL,
	                 NULL) != SQLITE_OK)
		goto fail;
	sqlite3_limit(s->ro, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(s->ro, SQLITE_LIMIT_LENGTH, (int)ARR_MSG_MAX_BYTES);
	sqlite3_progress_handler(s->ro, 10000, ro_progress, s);
	if (sqlite3_set_authorizer(s->ro, ro_authorize, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	sqlite3_close(s->ro);
	s->ro = NULL;
	return ARR_EDB;
}

int
store_query(struct store *s, const char *sql, store_row_fn fn, void *ctx, const char **errmsg)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	const char **names = NULL;
	struct value *vals = NULL;
	int rc, n, ret;

	if (errmsg != NULL)
		*errmsg = NULL;
	s->errbuf[0] = '\0';
	if (sql == NULL)
		return ARR_EINVAL;
	if ((ret = ro_open(s)) < 0)
		return ret;
	s->ro_deadline = mono_ms() + STORE_QUERY_TIME_MS;
	rc = sqlite3_prepare_v2(s->ro, sql, -1, &st, &tail);
	if (rc != SQLITE_OK) {
		snprintf(s->errbuf, sizeof(s->errbuf), "%s", sqlite3_errmsg(s->ro));
		ret = (rc & 0xff) == SQLITE_AUTH || (rc & 0xff) == SQLITE_READONLY ? ARR_EREADONLY
		                                                                   : ARR_EINVAL;
		goto out;
	}
	if (st == NULL) {
		snprintf(s->errbuf, sizeof(s->errbuf), "empty statement");
		ret = ARR_EINVAL;
		goto out;
	}
	while (tail != NULL && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r'))
		tail++;
	if (tail != NULL && *tail != '\0') {
		snprintf(s->errbuf, sizeof(s->errbuf), "only one statement is allowed");
		ret = ARR_EINVAL;
		goto out;
	}
	if (!sqlite3_stmt_readonly(st)) {
		snprintf(s->errbuf, sizeof(s->errbuf), "statement is not read-only");
		ret = ARR_EREADONLY;
		goto out;
	}
	n = sqlite3_column_count(st);
	ret = ARR_ENOMEM;
	if ((names = calloc((size_t)n + 1, sizeof(*names))) == NULL ||
	    (vals = calloc((size_t)n + 1, sizeof(*vals))) == NULL)
		goto out;
	for (int i = 0; i < n; i++)
		names[i] = sqlite3_column_name(st, i);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int r;

		for (int i = 0; i < n; i++)
			vals[i] = column_value(st, i);
		if (fn != NULL && (r = fn(ctx, (size_t)n, names, vals)) != 0) {
			ret = r;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		snprintf(s->errbuf, sizeof(s->errbuf), "%s", sqlite3_errmsg(s->ro));
		switch (rc & 0xff) {
		case SQLITE_READONLY:
		case SQLITE_AUTH:
			ret = ARR_EREADONLY;
			break;
		case SQLITE_INTERRUPT:
			snprintf(s->errbuf, sizeof(s->errbuf), "query interrupted after %d ms",
			         STORE_QUERY_TIME_MS);
			ret = ARR_ETIMEOUT;
			break;
		case SQLITE_TOOBIG:
			ret = ARR_ETOOBIG;
			break;
		default:
			ret = ARR_EINVAL;
		}
		goto out;
	}
	ret = 0;
out:
	if (errmsg != NULL && s->errbuf[0] != '\0')
		*errmsg = s->errbuf;
	sqlite3_finalize(st);
	free(names);
	free(vals);
	return ret;
}

struct hist_item {
	const struct changeset *cs;
	size_t op;
};

static int
hist_cmp(const void *pa, const void *pb)
{
	const struct hist_item *a = pa, *b = pb;
	int c;

	if (a->cs->h.hlc != b->cs->h.hlc)
		return a->cs->h.hlc < b->cs->h.hlc ? -1 : 1;
	if ((c = memcmp(a->cs->origin, b->cs->origin, ARR_ORIGIN_LEN)) != 0)
		return c;
	if (a->cs->h.seq != b->cs->h.seq)
		return a->cs->h.seq < b->cs->h.seq ? -1 : 1;
	return a->op < b->op ? -1 : a->op > b->op;
}

int
store_history(struct store *s, const char *table, const char *id, store_history_fn fn, void *ctx)
{
	const struct store_table *tb;
	uint8_t row[ARR_ROWID_LEN];
	char text[ARR_ROWID_STRLEN + 1];
	sqlite3_stmt *st = NULL;
	struct changeset **css = NULL;
	struct hist_item *items = NULL;
	size_t ncs = 0, capcs = 0, nitems = 0, capitems = 0;
	int64_t rid;
	int rc, ret;

	if ((ret = lookup(s, table, id, &tb, row, text)) < 0)
		return ret;
	if ((ret = row_find(s, tb, text, &rid)) < 0)
		return ret;
	ret = ARR_EDB;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT l.raw FROM _rowlog r JOIN _log l ON l.id = r.log "
	                       "WHERE r.tbl = ?1 AND r.rid = ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int(st, 1, (int)(tb - s->tables));
	sqlite3_bind_int64(st, 2, rid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct changeset *cs = NULL;

		if (ncs == capcs) {
			size_t cap = capcs ? 2 * capcs : 8;
			void *p = realloc(css, cap * sizeof(*css));

			if (p == NULL) {
				ret = ARR_ENOMEM;
				goto out;
			}
			css = p;
			capcs = cap;
		}
		if ((ret = changeset_decode(sqlite3_column_blob(st, 0),
		                            (size_t)sqlite3_column_bytes(st, 0), &cs)) < 0)
			goto out;
		css[ncs++] = cs;
		for (size_t i = 0; i < cs->nops; i++) {
			if (memcmp(cs->ops[i].row, row, ARR_ROWID_LEN) != 0 ||
			    strcmp(cs->ops[i].table, tb->t->name) != 0)
				continue;
			if (nitems == capitems) {
				size_t cap = capitems ? 2 * capitems : 16;
				void *p = realloc(items, cap * sizeof(*items));

				if (p == NULL) {
					ret = ARR_ENOMEM;
					goto out;
				}
				items = p;
				capitems = cap;
			}
			items[nitems++] = (struct hist_item){cs, i};
		}
		ret = ARR_EDB;
	}
	if (rc != SQLITE_DONE)
		goto out;
	if (nitems == 0) {
		ret = ARR_ENOTFOUND;
		goto out;
	}
	qsort(items, nitems, sizeof(*items), hist_cmp);
	ret = 0;
	for (size_t i = 0; i < nitems && ret == 0; i++) {
		const struct changeset *cs = items[i].cs;
		const struct cs_op *op = &cs->ops[items[i].op];
		struct store_history_entry e = {
		    .hlc = cs->h.hlc,
		    .origin = cs->origin,
		    .seq = cs->h.seq,
		    .author_org = cs->h.author_org,
		    .column = op->column,
		    .value = op->value,
		};

		ret = fn(ctx, &e);
	}
out:
	sqlite3_finalize(st);
	for (size_t i = 0; i < ncs; i++)
		changeset_destroy(&css[i]);
	free(css);
	free(items);
	return ret;
}

int
store_vector(struct store *s, struct vv **out)
{
	*out = vv_dup(s->vec);
	return *out != NULL ? 0 : ARR_ENOMEM;
}

int
store_changes_since(struct store *s, const struct vv *theirs, size_t max_bytes, store_blob_fn fn,
                    void *ctx, bool *more)
{
	sqlite3_stmt *st = s->st[ST_LOG_SINCE];
	size_t total = 0, sent = 0;
	int rc, ret = 0;

	if (more != NULL)
		*more = false;
	/* vv_at walks origins in byte order, which is the order of the answer */
	for (size_t i = 0; i < vv_count(s->vec); i++) {
		const struct vv_entry *e = vv_at(s->vec, i);
		uint64_t from = theirs != NULL ? vv_get(theirs, e->origin) : 0;
		uint8_t origin[ARR_ORIGIN_LEN];

		if (e->seq <= from)
			continue;
		memcpy(origin, e->origin, ARR_ORIGIN_LEN);
		sqlite3_bind_int64(st, 1, origin_find(s, origin));
		sqlite3_bind_int64(st, 2, (int64_t)from);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const uint8_t *raw = sqlite3_column_blob(st, 1);
			size_t len = (size_t)sqlite3_column_bytes(st, 1);

			if (sent > 0 && (total + len > max_bytes || total + len < total)) {
				if (more != NULL)
					*more = true;
				sqlite3_reset(st);
				return 0;
			}
			total += len;
			sent++;
			if ((ret = fn(ctx, origin, (uint64_t)sqlite3_column_int64(st, 0), raw,
			              len)) != 0) {
				sqlite3_reset(st);
				return ret;
			}
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_error(rc);
	}
	return 0;
}

int
store_changeset_get(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                    store_blob_fn fn, void *ctx)
{
	sqlite3_stmt *st = s->st[ST_LOG_GET];
	int64_t oid = origin_find(s, origin);
	int rc, ret;

	if (oid == 0)
		return ARR_ENOTFOUND;
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = fn(ctx, origin, seq, sqlite3_column_blob(st, 0),
		         (size_t)sqlite3_column_bytes(st, 0));
	else
		ret = rc == SQLITE_DONE ? ARR_ENOTFOUND : db_error(rc);
	sqlite3_reset(st);
	return ret;
}

/*
 * Digest (PROTOCOL.md, "Digest"). The rows of a table are read in storage (rowid)
 * order, which is a sequential scan; reading them in id order walked the random-UUID
 * index and fetched every row at random (3.3 s at 450k rows, on the loop's thread).
 * Storage order differs between replicas, so each row is encoded into one record and
 * hashed on its own, and the row hashes of a table are sorted before they enter the
 * final hash. Sorting rather than adding the row hashes mod 2^256 (a multiset hash
 * without the sort) keeps the digest exactly as collision-resistant as BLAKE2b: an
 * additive hash over 256 bits falls to Wagner's generalised birthday attack (about
 * 2^32 work with 2^16 chosen rows), and any node member can write chosen rows. The
 * price is 32 bytes of memory per row of the largest table while the digest runs.
 */
#define DIGEST_TAG "arrangd-digest-2"

/* One record being encoded; oom once a growth failed (later puts do nothing). */
struct digest_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	bool oom;
};

static void
digest_put(struct digest_buf *b, const void *p, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap > 0 ? b->cap : 256;
		uint8_t *q;

		while (cap - b->len < n)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
digest_u32(struct digest_buf *b, size_t n)
{
	uint8_t v[4];

	assert(n <= UINT32_MAX); /* SQLite values are shorter than 2^31 bytes */
	digest_put(b, v, (size_t)(be_put(v, n, sizeof(v)) - v));
}

static void
digest_u64(struct digest_buf *b, uint64_t n)
{
	uint8_t v[8];

	digest_put(b, v, (size_t)(be_put(v, n, sizeof(v)) - v));
}

static void
digest_bytes(struct digest_buf *b, const void *p, size_t n)
{
	digest_u32(b, n);
	digest_put(b, p, n);
}

/*
 * The record of the current row of st (id, then the columns of tb->names): 'T', the
 * table name, 'R', the id's kind and bytes, then per column its name, kind and value
 * (int: 8 bytes big-endian two's complement; real: the IEEE 754 bits big-endian; text
 * and blob: length-prefixed bytes; nil: nothing).
 */
static void
digest_row(struct digest_buf *b, const struct store_table *tb, sqlite3_stmt *st)
{
	b->len = 0;
	digest_put(b, "T", 1);
	digest_bytes(b, tb->t->name, strlen(tb->t->name));
	digest_put(b, "R", 1);
	for (size_t c = 0; c < tb->nnames; c++) {
		struct value v = column_value(st, (int)c);
		uint8_t kind = (uint8_t)v.kind;
		uint64_t bits;

		if (c > 0)
			digest_bytes(b, tb->names[c], strlen(tb->names[c]));
		digest_put(b, &kind, 1);
		switch (v.kind) {
		case VALUE_INT:
			digest_u64(b, (uint64_t)v.u.i);
			break;
		case VALUE_REAL:
			memcpy(&bits, &v.u.r, sizeof(bits));
			digest_u64(b, bits);
			break;
		case VALUE_TEXT:
		case VALUE_BLOB:
			digest_bytes(b, v.u.b.ptr, v.u.b.len);
			break;
		case VALUE_NIL:
			break;
		}
	}
}

static int
digest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, crypto_generichash_BYTES);
}

/*
 * The row hashes of the visible rows of tb into *hs (grown as needed, capacity *cap),
 * their number into *n. row is the reusable record buffer.
 */
static int
digest_table(struct store *s, const struct store_table *tb, struct digest_buf *row,
             uint8_t (**hs)[crypto_generichash_BYTES], size_t *cap, size_t *n)
{
	sqlite3_stmt *st = NULL;
	char *sql;
	int rc, ret;

	*n = 0;
	if ((sql = sqlite3_mprintf("%s ORDER BY _rid", tb->select)) == NULL)
		return ARR_ENOMEM;
	rc = sqlite3_prepare_v3(s->db, sql, -1, 0, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK) {
		ret = db_error(rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == *cap) {
			size_t ncap = *cap > 0 ? *cap * 2 : 4096;
			void *p = reallocarray(*hs, ncap, sizeof(**hs));

			if (p == NULL) {
				ret = ARR_ENOMEM;
				goto out;
			}
			*hs = p;
			*cap = ncap;
		}
		digest_row(row, tb, st);
		if (row->oom) {
			ret = ARR_ENOMEM;
			goto out;
		}
		crypto_generichash((*hs)[(*n)++], crypto_generichash_BYTES, row->p, row->len, NULL,
		                   0);
	}
	ret = rc == SQLITE_DONE ? 0 : db_error(rc);
out:
	sqlite3_finalize(st);
	return ret;
}

/*
 * BLAKE2b-256 over bytes("arrangd-digest-2"), then per table in schema order: 'T', the
 * table name, the number of visible rows (u64) and their row hashes (BLAKE2b-256 of
 * the row record) in ascending byte order.
 */
int
store_digest(struct store *s, uint8_t out[32])
{
	crypto_generichash_state h;
	struct digest_buf hdr = {0}, row = {0};
	uint8_t(*hs)[crypto_generichash_BYTES] = NULL;
	size_t cap = 0, n = 0;
	int ret = 0;

	crypto_generichash_init(&h, NULL, 0, 32);
	digest_bytes(&hdr, DIGEST_TAG, strlen(DIGEST_TAG));
	for (size_t t = 0; t < s->ntables && ret == 0; t++) {
		const struct store_table *tb = &s->tables[t];

		if ((ret = digest_table(s, tb, &row, &hs, &cap, &n)) < 0)
			break;
		if (n > 1)
			qsort(hs, n, sizeof(*hs), digest_cmp);
		digest_put(&hdr, "T", 1);
		digest_bytes(&hdr, tb->t->name, strlen(tb->t->name));
		digest_u64(&hdr, n);
		if (hdr.oom) {
			ret = ARR_ENOMEM;
			break;
		}
		crypto_generichash_update(&h, hdr.p, hdr.len);
		hdr.len = 0;
		if (n > 0)
			crypto_generichash_update(&h, (const uint8_t *)hs, n * sizeof(*hs));
	}
	if (ret == 0)
		crypto_generichash_final(&h, out, 32);
	free(hs);
	free(row.p);
	free(hdr.p);
	/* a full scan filled the page cache; give it back rather than keep it (F5) */
	sqlite3_db_release_memory(s->db);
	return ret;
}

static int
count_rows(struct store *s, const char *sql, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int ret = ARR_EDB;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(st, 0);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

int
store_stats(struct store *s, struct store_stats *out)
{
	struct store_stats st = {0};
	uint64_t pages = 0, psize = 0;
	int ret;

	/* the log holds exactly seqs 1..vector[o] of every origin */
	for (size_t i = 0; i < vv_count(s->vec); i++)
		st.log_count += vv_at(s->vec, i)->seq;
	st.local_seq = vv_get(s->vec, s->self);
	if ((ret = count_rows(s, "SELECT count(*) FROM _pending", &st.pending_count)) < 0 ||
	    (ret = count_rows(s, "SELECT count(*) FROM _quarantine", &st.quarantine_count)) < 0 ||
	    (ret = count_rows(s, "PRAGMA page_count", &pages)) < 0 ||
	    (ret = count_rows(s, "PRAGMA page_size", &psize)) < 0)
		return ret;
	st.db_bytes = pages * psize;
	*out = st;
	return 0;
}

/* ---- quarantine ---- */

int
store_quarantine_list(struct store *s, store_quarantine_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = ARR_EDB;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT id, origin, seq, reason, detail, received_ms, attempts "
	                       "FROM _quarantine ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *origin = sqlite3_column_bytes(st, 1) == ARR_ORIGIN_LEN
		                            ? sqlite3_column_blob(st, 1)
		                            : NULL;
		struct store_quarantined q = {
		    .id = sqlite3_column_int64(st, 0),
		    .origin = origin,
		    .seq = (uint64_t)sqlite3_column_int64(st, 2),
		    .reason = sqlite3_column_int(st, 3),
		    .detail = (const char *)sqlite3_column_text(st, 4),
		    .received_ms = (uint64_t)sqlite3_column_int64(st, 5),
		    .attempts = (uint64_t)sqlite3_column_int64(st, 6),
		};

		if (q.detail == NULL)
			q.detail = "";
		if ((ret = fn(ctx, &q)) != 0)
			goto out;
		ret = ARR_EDB;
	}
	ret = rc == SQLITE_DONE ? 0 : db_error(rc);
out:
	sqlite3_finalize(st);
	return ret;
}

/* Retry one quarantined change set inside the caller's transaction. */
static int
retry_one(struct store *s, int64_t id, uint64_t now, struct store_apply_stats *stats)
{
	sqlite3_stmt *st = s->st[ST_Q_GET];
	enum store_outcome o = STORE_QUARANTINED;
	uint8_t *raw = NULL;
	size_t len = 0;
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		len = (size_t)sqlite3_column_bytes(st, 0);
		if ((raw = malloc(len ? len : 1)) == NULL) {
			sqlite3_reset(st);
			return ARR_ENOMEM;
		}
		if (len > 0)
			memcpy(raw, sqlite3_column_blob(st, 0), len);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? ARR_ENOTFOUND : db_error(rc);
	st = s->st[ST_Q_ATTEMPT];
	sqlite3_bind_int64(st, 1, id);
	if ((rc = run(st)) < 0 || (rc = process(s, raw, len, now, &o, stats)) < 0)
		goto out;
	if (o != STORE_QUARANTINED) {
		st = s->st[ST_Q_DEL];
		sqlite3_bind_int64(st, 1, id);
		rc = run(st);
	}
out:
	free(raw);
	return rc;
}

int
store_quarantine_retry(struct store *s, int64_t id, struct store_apply_stats *stats)
{
	struct store_apply_stats acc = {0};
	sqlite3_stmt *st = NULL;
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	uint64_t now = now_ms(s);
	int rc, ret;

	if (stats != NULL)
		*stats = acc;
	if ((ret = bulk_flush(s)) < 0 || (ret = tx_begin(s)) < 0)
		return ret;
	if (id >= 0) {
		ret = retry_one(s, id, now, &acc);
		goto out;
	}
	ret = ARR_EDB;
	/* by (origin, seq), so a run of quarantined seqs applies without going pending */
	if (sqlite3_prepare_v2(s->db, "SELECT id FROM _quarantine ORDER BY origin, seq, id", -1,
	                       &st, NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t c = cap ? 2 * cap : 16;
			void *p = realloc(ids, c * sizeof(*ids));

			if (p == NULL) {
				ret = ARR_ENOMEM;
				goto out;
			}
			ids = p;
			cap = c;
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		/* an earlier one may have taken it along (applied as it became contiguous) */
		if ((ret = retry_one(s, ids[i], now, &acc)) == ARR_ENOTFOUND)
			ret = 0;
	}
out:
	sqlite3_finalize(st);
	free(ids);
	if (ret < 0) {
		tx_rollback(s);
		return ret;
	}
	if ((ret = tx_commit(s)) < 0)
		return ret;
	if (stats != NULL)
		*stats = acc;
	return 0;
}

/* ---- maintenance ---- */

int
store_backup(struct store *s, const char *path)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	int rc, ret = ARR_EDB;

	if (path == NULL)
		return ARR_EINVAL;
	if ((ret = bulk_flush(s)) < 0)
		return ret;
	ret = ARR_EDB;
	if (sqlite3_open_v2(path, &dst,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK)
		goto out;
	if ((b = sqlite3_backup_init(dst, "main", s->db, "main")) == NULL)
		goto out;
	do {
		rc = sqlite3_backup_step(b, BACKUP_STEP_PAGES);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(10);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	rc = sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_OK) {
		ret = db_error(rc);
		goto out;
	}
	/* A restored copy must learn its own newest seq from a peer before writing. */
	if ((rc =
	         sqlite3_exec(dst, "INSERT OR REPLACE INTO _meta(key, value) VALUES('restored', 1)",
	                      NULL, NULL, NULL)) != SQLITE_OK) {
		ret = db_error(rc);
		goto out;
	}
	ret = 0;
out:
	if (b != NULL)
		sqlite3_backup_finish(b);
	sqlite3_close(dst);
	return ret;
}

void
store_own_seq_seen(struct store *s, uint64_t seq)
{
	s->own_heard = true;
	if (seq > s->own_seen)
		s->own_seen = seq;
}

bool
store_writes_held(const struct store *s, uint64_t *need)
{
	if (need != NULL)
		*need = s->own_seen;
	return (s->restored && !s->own_heard) || vv_get(s->vec, s->self) < s->own_seen;
}
