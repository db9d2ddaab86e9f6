/*
 * store_access.c: the access log (store_access.h). A separate SQLite file, not a table
 * of the replica: it is this organisation's own accountability and never replicated,
 * backed up with the replica, digested or reshaped by the replica's schema versions;
 * and a read of the replica need not take the replica's write lock to record itself.
 * Each entry's hash is BLAKE2b-256 over the previous entry's hash and the entry's own
 * fields, so verification names the first entry that was changed, removed or moved.
 * It must not hold a value of a row: only ids, table and column names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "store_access.h"

#define ACCESS_HASH_LEN 32
#define ACCESS_BUSY_MS  2000

struct store_access {
	sqlite3 *db;
	char *org;
	sqlite3_stmt *ins;
	sqlite3_stmt *sp[3];                /* SAVEPOINT, RELEASE, ROLLBACK TO: a read's group */
	int64_t last_seq;                   /* the newest entry's seq (or the anchor's) */
	uint8_t last_hash[ACCESS_HASH_LEN]; /* ... and its hash */
	bool in_batch;                      /* a read's savepoint is open */
	bool outer;       /* the group transaction is open (notes not yet committed) */
	int64_t outer_ms; /* ... since then */
};

static const char access_schema[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;"
    "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-8192;"
    "CREATE TABLE IF NOT EXISTS entry(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
    " uid INTEGER NOT NULL, user TEXT NOT NULL, org TEXT NOT NULL, action TEXT NOT NULL,"
    " tbl TEXT, row TEXT, arrangement TEXT, fields TEXT, prev BLOB NOT NULL,"
    " hash BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS entry_arr ON entry(arrangement, seq);"
    "CREATE TRIGGER IF NOT EXISTS entry_append_only BEFORE UPDATE ON entry"
    " BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;"
    "CREATE TABLE IF NOT EXISTS anchor(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq INTEGER NOT NULL, hash BLOB NOT NULL, pruned INTEGER NOT NULL);";

static int
access_dberr(int rc)
{
	return rc == SQLITE_FULL ? ARR_EFULL : rc == SQLITE_IOERR ? ARR_EIO : ARR_EDB;
}

static int64_t
access_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Hash one string field: its length (all ones for absent) and its bytes. */
static void
access_hash_str(crypto_generichash_state *h, const char *s)
{
	uint32_t n = s != NULL ? (uint32_t)strlen(s) : UINT32_MAX;
	uint8_t le[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};

	crypto_generichash_update(h, le, sizeof(le));
	if (s != NULL)
		crypto_generichash_update(h, (const uint8_t *)s, n);
}

static void
access_hash_int(crypto_generichash_state *h, int64_t v)
{
	uint8_t le[8];
	uint64_t u = (uint64_t)v;

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(u >> (8 * i));
	crypto_generichash_update(h, le, sizeof(le));
}

/* The hash of entry e chained to prev. */
static void
access_hash(const uint8_t prev[ACCESS_HASH_LEN], const struct store_access_entry *e,
            uint8_t out[ACCESS_HASH_LEN])
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, ACCESS_HASH_LEN);
	crypto_generichash_update(&h, prev, ACCESS_HASH_LEN);
	access_hash_int(&h, e->seq);
	access_hash_int(&h, e->at_ms);
	access_hash_int(&h, e->uid);
	access_hash_str(&h, e->user);
	access_hash_str(&h, e->org);
	access_hash_str(&h, e->action);
	access_hash_str(&h, e->table);
	access_hash_str(&h, e->row);
	access_hash_str(&h, e->arrangement);
	access_hash_str(&h, e->fields);
	crypto_generichash_final(&h, out, ACCESS_HASH_LEN);
}

/* Load the chain's head: the newest entry, or the anchor, or nothing (zero hash). */
static int
access_load_head(struct store_access *a)
{
	static const char *const q[] = {"SELECT seq, hash FROM entry ORDER BY seq DESC LIMIT 1",
	                                "SELECT seq, hash FROM anchor WHERE id = 1"};
	sqlite3_stmt *st = NULL;
	int rc = 0;

	a->last_seq = 0;
	memset(a->last_hash, 0, sizeof(a->last_hash));
	for (size_t i = 0; i < 2 && rc == 0; i++) {
		if (sqlite3_prepare_v2(a->db, q[i], -1, &st, NULL) != SQLITE_OK)
			return ARR_EDB;
		int s = sqlite3_step(st);
		if (s == SQLITE_ROW && sqlite3_column_bytes(st, 1) == ACCESS_HASH_LEN) {
			a->last_seq = sqlite3_column_int64(st, 0);
			memcpy(a->last_hash, sqlite3_column_blob(st, 1), ACCESS_HASH_LEN);
			rc = 1;
		} else if (s != SQLITE_DONE && s != SQLITE_ROW) {
			rc = access_dberr(s);
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	return rc < 0 ? rc : 0;
}

struct store_access *
store_access_open(const char *path, const char *org, int *err)
{
	struct store_access *a = calloc(1, sizeof(*a));
	int rc = ARR_ENOMEM;

	if (a == NULL || (a->org = strdup(org != NULL ? org : "")) == NULL)
		goto fail;
	rc = ARR_EDB;
	if (sodium_init() < 0 ||
	    sqlite3_open_v2(path, &a->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(a->db, ACCESS_BUSY_MS);
	if (sqlite3_exec(a->db, access_schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(a->db,
	                       "INSERT INTO entry(seq, at, uid, user, org, action, tbl, row,"
	                       " arrangement, fields, prev, hash)"
	                       " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
	                       -1, SQLITE_PREPARE_PERSISTENT, &a->ins, NULL) != SQLITE_OK)
		goto fail;
	static const char *const sp[3] = {"SAVEPOINT rd", "RELEASE rd", "ROLLBACK TO rd"};
	for (size_t i = 0; i < 3; i++)
		if (sqlite3_prepare_v3(a->db, sp[i], -1, SQLITE_PREPARE_PERSISTENT, &a->sp[i],
		                       NULL) != SQLITE_OK)
			goto fail;
	if ((rc = access_load_head(a)) != 0)
		goto fail;
	return a;
fail:
	store_access_destroy(&a);
	if (err != NULL)
		*err = rc;
	return NULL;
}

void
store_access_destroy(struct store_access **ap)
{
	struct store_access *a = ap != NULL ? *ap : NULL;

	if (a == NULL)
		return;
	(void)store_access_commit(a);
	sqlite3_finalize(a->ins);
	for (size_t i = 0; i < 3; i++)
		sqlite3_finalize(a->sp[i]);
	sqlite3_close(a->db);
	free(a->org);
	free(a);
	*ap = NULL;
}

/* Run a statement without results once; its result code. */
static int
access_step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc;
}

/* Open the group transaction when none is. */
static int
access_outer(struct store_access *a)
{
	int rc;

	if (a->outer)
		return 0;
	if ((rc = sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		return access_dberr(rc);
	a->outer = true;
	a->outer_ms = access_now_ms();
	return 0;
}

int
store_access_begin(struct store_access *a)
{
	int rc;

	if ((rc = access_outer(a)) != 0)
		return rc;
	if ((rc = access_step(a->sp[0])) != SQLITE_DONE)
		return access_dberr(rc);
	a->in_batch = true;
	return 0;
}

int
store_access_end(struct store_access *a, bool ok)
{
	int rc;

	if (!a->in_batch)
		return 0;
	a->in_batch = false;
	if (ok && (rc = access_step(a->sp[1])) == SQLITE_DONE)
		return 0;
	if ((rc = access_step(a->sp[2])) == SQLITE_DONE)
		rc = access_step(a->sp[1]);
	/* What was rolled back never happened: the head is what the file holds. */
	(void)access_load_head(a);
	return ok ? ARR_EDB : rc == SQLITE_DONE ? 0 : access_dberr(rc);
}

int
store_access_commit(struct store_access *a)
{
	int rc;

	if (!a->outer)
		return 0;
	a->outer = false;
	if ((rc = sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL)) == SQLITE_OK)
		return 0;
	(void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	(void)access_load_head(a);
	return access_dberr(rc);
}

bool
store_access_uncommitted(const struct store_access *a, int64_t *since_ms)
{
	if (since_ms != NULL)
		*since_ms = a->outer_ms;
	return a->outer;
}

/* Bind text or NULL. */
static void
access_bind(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int
store_access_append(struct store_access *a, const struct store_access_entry *in)
{
	struct store_access_entry e = *in;
	uint8_t h[ACCESS_HASH_LEN];
	int rc;

	e.seq = a->last_seq + 1;
	e.at_ms = access_now_ms();
	e.org = a->org;
	if (e.user == NULL || e.action == NULL)
		return ARR_EINVAL;
	access_hash(a->last_hash, &e, h);
	sqlite3_bind_int64(a->ins, 1, e.seq);
	sqlite3_bind_int64(a->ins, 2, e.at_ms);
	sqlite3_bind_int64(a->ins, 3, e.uid);
	access_bind(a->ins, 4, e.user);
	access_bind(a->ins, 5, e.org);
	access_bind(a->ins, 6, e.action);
	access_bind(a->ins, 7, e.table);
	access_bind(a->ins, 8, e.row);
	access_bind(a->ins, 9, e.arrangement);
	access_bind(a->ins, 10, e.fields);
	sqlite3_bind_blob(a->ins, 11, a->last_hash, ACCESS_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(a->ins, 12, h, ACCESS_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(a->ins);
	sqlite3_reset(a->ins);
	sqlite3_clear_bindings(a->ins);
	if (rc != SQLITE_DONE)
		return access_dberr(rc);
	a->last_seq = e.seq;
	memcpy(a->last_hash, h, ACCESS_HASH_LEN);
	return 0;
}

/* The entry of the current row of st (columns as in access_cols) into e. */
#define ACCESS_COLS "seq, at, uid, user, org, action, tbl, row, arrangement, fields, prev, hash"
static void
access_row(sqlite3_stmt *st, struct store_access_entry *e)
{
	e->seq = sqlite3_column_int64(st, 0);
	e->at_ms = sqlite3_column_int64(st, 1);
	e->uid = sqlite3_column_int64(st, 2);
	e->user = (const char *)sqlite3_column_text(st, 3);
	e->org = (const char *)sqlite3_column_text(st, 4);
	e->action = (const char *)sqlite3_column_text(st, 5);
	e->table = (const char *)sqlite3_column_text(st, 6);
	e->row = (const char *)sqlite3_column_text(st, 7);
	e->arrangement = (const char *)sqlite3_column_text(st, 8);
	e->fields = (const char *)sqlite3_column_text(st, 9);
}

int
store_access_list(struct store_access *a, int64_t after, int64_t since_ms, const char *arrangement,
                  size_t limit, store_access_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct store_access_entry e;
	size_t n = 0;
	int rc, ret = 0;

	/* notes not yet committed are this connection's: they show too */
	if (sqlite3_prepare_v2(a->db,
	                       "SELECT " ACCESS_COLS " FROM entry WHERE seq > ?1 AND at >= ?2"
	                       " AND (?3 IS NULL OR arrangement = ?3) ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, since_ms);
	access_bind(st, 3, arrangement);
	while ((limit == 0 || n < limit) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		access_row(st, &e);
		n++;
		if ((ret = fn(ctx, &e)) != 0)
			break;
	}
	if (ret == 0 && (limit == 0 || n < limit) && rc != SQLITE_DONE)
		ret = access_dberr(rc);
	sqlite3_finalize(st);
	return ret < 0 ? ret : 0;
}

/* Start of the chain: the anchor's seq and hash, or 0 and the zero hash. */
static int
access_anchor(struct store_access *a, int64_t *seq, uint8_t hash[ACCESS_HASH_LEN])
{
	sqlite3_stmt *st = NULL;
	int rc;

	*seq = 0;
	memset(hash, 0, ACCESS_HASH_LEN);
	if (sqlite3_prepare_v2(a->db, "SELECT seq, hash FROM anchor WHERE id = 1", -1, &st, NULL) !=
	    SQLITE_OK)
		return ARR_EDB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == ACCESS_HASH_LEN) {
		*seq = sqlite3_column_int64(st, 0);
		memcpy(hash, sqlite3_column_blob(st, 1), ACCESS_HASH_LEN);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : access_dberr(rc);
}

/* Judge one stored entry against the running chain (seq, hash); false: v says why. */
static bool
access_check(sqlite3_stmt *st, int64_t *seq, uint8_t hash[ACCESS_HASH_LEN],
             struct store_access_verdict *v)
{
	struct store_access_entry e;
	uint8_t h[ACCESS_HASH_LEN], self[ACCESS_HASH_LEN];
	const void *prev = sqlite3_column_blob(st, 10), *stored = sqlite3_column_blob(st, 11);
	bool shaped = sqlite3_column_bytes(st, 10) == ACCESS_HASH_LEN &&
	              sqlite3_column_bytes(st, 11) == ACCESS_HASH_LEN;

	access_row(st, &e);
	v->checked++;
	if (e.seq != *seq + 1) {
		v->bad_seq = *seq + 1;
		v->reason = e.seq > *seq + 1 ? "deleted" : "reordered";
		return false;
	}
	access_hash(hash, &e, h);
	if (shaped && sodium_memcmp(h, stored, ACCESS_HASH_LEN) == 0) {
		*seq = e.seq;
		memcpy(hash, h, ACCESS_HASH_LEN);
		return true;
	}
	v->bad_seq = e.seq;
	/* Consistent with its own stored link: the link to the entry before was cut. */
	if (shaped)
		access_hash(prev, &e, self);
	v->reason = shaped && sodium_memcmp(self, stored, ACCESS_HASH_LEN) == 0
	                ? "does not follow the entry before it (an entry was removed or moved)"
	                : "modified or reordered";
	return false;
}

int
store_access_verify(struct store_access *a, struct store_access_verdict *v)
{
	sqlite3_stmt *st = NULL;
	int64_t seq;
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = access_anchor(a, &seq, v->head)) != 0)
		return rc;
	v->pruned_to = seq;
	v->ok = true;
	if (sqlite3_prepare_v2(a->db, "SELECT " ACCESS_COLS " FROM entry ORDER BY seq", -1, &st,
	                       NULL) != SQLITE_OK)
		return ARR_EDB;
	while (v->ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
		v->ok = access_check(st, &seq, v->head, v);
	if (v->ok && rc != SQLITE_DONE)
		rc = access_dberr(rc);
	else
		rc = 0;
	/* The newest entry itself removed: the head the daemon holds is ahead of the file. */
	if (rc == 0 && v->ok && seq < a->last_seq) {
		v->ok = false;
		v->bad_seq = seq + 1;
		v->reason = "deleted";
	}
	sqlite3_finalize(st);
	return rc;
}

/* The seq and hash of the newest entry older than before_ms (0 when none). */
static int
access_cut(struct store_access *a, int64_t before_ms, int64_t *seq, uint8_t hash[ACCESS_HASH_LEN])
{
	sqlite3_stmt *st = NULL;
	int rc;

	*seq = 0;
	if (sqlite3_prepare_v2(a->db,
	                       "SELECT seq, hash FROM entry WHERE at < ? ORDER BY seq DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int64(st, 1, before_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == ACCESS_HASH_LEN) {
		*seq = sqlite3_column_int64(st, 0);
		memcpy(hash, sqlite3_column_blob(st, 1), ACCESS_HASH_LEN);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : access_dberr(rc);
}

int
store_access_prune(struct store_access *a, int64_t before_ms, uint64_t *pruned)
{
	sqlite3_stmt *st = NULL;
	uint8_t hash[ACCESS_HASH_LEN];
	int64_t cut;
	int rc;

	*pruned = 0;
	if ((rc = store_access_commit(a)) != 0 ||
	    (rc = access_cut(a, before_ms, &cut, hash)) != 0 || cut == 0)
		return rc;
	if ((rc = store_access_begin(a)) != 0)
		return rc;
	rc = ARR_EDB;
	if (sqlite3_prepare_v2(a->db,
	                       "INSERT INTO anchor(id, seq, hash, pruned) VALUES(1, ?1, ?2, ?3)"
	                       " ON CONFLICT(id) DO UPDATE SET seq = ?1, hash = ?2,"
	                       " pruned = ?3",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, cut);
	sqlite3_bind_blob(st, 2, hash, ACCESS_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, cut);
	if (sqlite3_step(st) != SQLITE_DONE ||
	    sqlite3_exec(a->db, "DELETE FROM entry WHERE seq <= (SELECT seq FROM anchor)", NULL,
	                 NULL, NULL) != SQLITE_OK)
		goto out;
	*pruned = (uint64_t)sqlite3_changes(a->db);
	char fields[48];
	snprintf(fields, sizeof(fields), "pruned_to=%lld", (long long)cut);
	struct store_access_entry e = {
	    .uid = -1, .user = "arrangd", .action = "prune", .fields = fields};
	rc = store_access_append(a, &e);
out:
	sqlite3_finalize(st);
	if (rc != 0)
		*pruned = 0;
	int erc = store_access_end(a, rc == 0);
	if (erc == 0)
		erc = store_access_commit(a);
	return rc != 0 ? rc : erc;
}
