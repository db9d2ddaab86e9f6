/*
 * store_access.c: the access log (store_access.h). A separate SQLite file, not a table
 * of the replica: it is this organisation's own accountability and never replicated,
 * backed up with the replica, digested or reshaped by the replica's schema versions;
 * and a read of the replica need not take the replica's write lock to record itself.
 * A read's notes are compact binary records appended to one buffer in memory (no
 * allocation, formatting or SQLite per note); a group commit stores them as one row, a
 * batch: the packed records, their seq range, and a BLAKE2b-256 hash over the hash of
 * the batch before and the whole batch, so verification names the first batch that was
 * changed, removed or moved; reading them back is store_access_read.c's. It must not
 * hold a value of a row: only ids, table and column names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "store_access.h"
#include "store_access_int.h"
#include "store_access_rec.h"

#define ACCESS_BUSY_MS 2000
/*
 * The format of access.db (PRAGMA user_version): 4, entries packed in batches, a record
 * noting one row or several, its ids binary (store_access_rec.h). Files of the earlier
 * formats (2 and 3, ids as text) are refused: none was deployed.
 */
#define ACCESS_FORMAT 4
/* Bytes of notes held for the next write: about 6,000 reads of one row each. */
#define ACCESS_PENDING_BYTES (1u << 20)
/* Spare room past the records: one record written out in full (access_unref). */
#define ACCESS_SLACK (32u << 10)

static const char access_schema[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;"
    "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-8192;";
static const char access_tables[] =
    "CREATE TABLE batch(last_seq INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL,"
    " first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, org TEXT NOT NULL,"
    " entries BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TRIGGER batch_append_only BEFORE UPDATE ON batch"
    " BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;"
    "CREATE TABLE anchor(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq INTEGER NOT NULL, hash BLOB NOT NULL, pruned INTEGER NOT NULL);"
    "PRAGMA user_version = 4;";

int
store_access_dberr(int rc)
{
	return rc == SQLITE_FULL ? ARR_EFULL : rc == SQLITE_IOERR ? ARR_EIO : ARR_EDB;
}

/*
 * The wall clock in ms, as the kernel last ticked it (CLOCK_REALTIME_COARSE: a few ms
 * behind at most, and cheaper to read; the reads of one tick share a record's time).
 */
static int64_t
access_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A seq and hash by sql (a row of two columns; ?1 bound to arg): 1 when a row was
 * found, 0 (seq 0, zero hash) when none, or an error.
 */
static int
access_seq_hash(struct store_access *a, const char *sql, int64_t arg, int64_t *seq,
                uint8_t hash[ACCESS_HASH_LEN])
{
	sqlite3_stmt *st = NULL;
	int rc;

	*seq = 0;
	memset(hash, 0, ACCESS_HASH_LEN);
	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == ACCESS_HASH_LEN) {
		*seq = sqlite3_column_int64(st, 0);
		memcpy(hash, sqlite3_column_blob(st, 1), ACCESS_HASH_LEN);
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_access_dberr(rc);
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_access_anchor(struct store_access *a, int64_t *seq, uint8_t hash[ACCESS_HASH_LEN])
{
	int rc = access_seq_hash(a, "SELECT seq, hash FROM anchor WHERE id = 1", 0, seq, hash);

	return rc < 0 ? rc : 0;
}

/* Load the chain's head: the newest batch, or the anchor, or nothing (zero hash). */
static int
access_load_head(struct store_access *a)
{
	int rc =
	    access_seq_hash(a, "SELECT last_seq, hash FROM batch ORDER BY last_seq DESC LIMIT 1", 0,
	                    &a->last_seq, a->last_hash);

	return rc != 0 ? (rc < 0 ? rc : 0) : store_access_anchor(a, &a->last_seq, a->last_hash);
}

/* The file's format: a new file gets the tables; another format is refused. */
static int
access_format(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int64_t version = -1, tables = -1;

	if (sqlite3_prepare_v2(db,
	                       "SELECT (SELECT user_version FROM pragma_user_version),"
	                       " (SELECT count(*) FROM sqlite_master)",
	                       -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	if (sqlite3_step(st) == SQLITE_ROW) {
		version = sqlite3_column_int64(st, 0);
		tables = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (version == ACCESS_FORMAT)
		return 0;
	if (version != 0 || tables != 0)
		return version < 0 ? ARR_EDB : ARR_EVERSION;
	return sqlite3_exec(db, access_tables, NULL, NULL, NULL) == SQLITE_OK ? 0 : ARR_EDB;
}

/* No record pending: the span of times is known, and empty. */
static void
access_span_reset(struct store_access *a)
{
	a->span_ok = true;
	a->lo_ms = INT64_MAX;
	a->hi_ms = INT64_MIN;
}

struct store_access *
store_access_open(const char *path, const char *org, int *err)
{
	struct store_access *a = calloc(1, sizeof(*a));
	int rc = ARR_ENOMEM;

	if (a == NULL || (a->org = strdup(org != NULL ? org : "")) == NULL ||
	    (a->buf = malloc(ACCESS_PENDING_BYTES + ACCESS_SLACK)) == NULL)
		goto fail;
	a->cap = ACCESS_PENDING_BYTES + ACCESS_SLACK;
	access_span_reset(a);
	rc = ARR_EDB;
	if (sodium_init() < 0 ||
	    sqlite3_open_v2(path, &a->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(a->db, ACCESS_BUSY_MS);
	if (sqlite3_exec(a->db, access_schema, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if ((rc = access_format(a->db)) != 0)
		goto fail;
	rc = ARR_EDB;
	if (sqlite3_prepare_v3(a->db,
	                       "INSERT INTO batch(last_seq, first_seq, first_at, last_at, org,"
	                       " entries, hash) VALUES(?,?,?,?,?,?,?)",
	                       -1, SQLITE_PREPARE_PERSISTENT, &a->ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(a->db, "BEGIN IMMEDIATE", -1, SQLITE_PREPARE_PERSISTENT, &a->begin,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(a->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &a->commit, NULL) !=
	        SQLITE_OK)
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
	if (a->db != NULL)
		(void)store_access_commit(a); /* one that fails loses them, as a crash would */
	free(a->buf);
	sqlite3_finalize(a->ins);
	sqlite3_finalize(a->begin);
	sqlite3_finalize(a->commit);
	sqlite3_close(a->db);
	free(a->org);
	free(a);
	*ap = NULL;
}

/* A batch about to be written: the first count pending records (len bytes). */
struct access_batch {
	size_t len, count;
	int64_t meta[4]; /* first seq, last seq, earliest at, latest at */
	uint8_t hash[ACCESS_HASH_LEN];
};

/*
 * Fill in b for the first len bytes of pending records: range, times and chain hash.
 * The times and count of all of them are kept as they are appended; of fewer, read.
 */
static void
access_seal(const struct store_access *a, size_t len, struct access_batch *b)
{
	size_t count = a->count;

	if (len == a->len && a->span_ok) {
		b->meta[2] = a->lo_ms;
		b->meta[3] = a->hi_ms;
	} else {
		count = store_access_rec_span(a->buf, len, &b->meta[2], &b->meta[3]);
	}

	b->len = len;
	b->count = count;
	b->meta[0] = a->last_seq + 1;
	b->meta[1] = a->last_seq + (int64_t)count;
	store_access_rec_hash(a->last_hash, b->meta, a->org, a->buf, len, b->hash);
}

/* Insert batch b (prepared statement, the caller's transaction). */
static int
access_insert(struct store_access *a, const struct access_batch *b)
{
	int rc;

	sqlite3_bind_int64(a->ins, 1, b->meta[1]);
	sqlite3_bind_int64(a->ins, 2, b->meta[0]);
	sqlite3_bind_int64(a->ins, 3, b->meta[2]);
	sqlite3_bind_int64(a->ins, 4, b->meta[3]);
	sqlite3_bind_text(a->ins, 5, a->org, -1, SQLITE_STATIC);
	sqlite3_bind_blob(a->ins, 6, a->buf, (int)b->len, SQLITE_STATIC);
	sqlite3_bind_blob(a->ins, 7, b->hash, ACCESS_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(a->ins);
	sqlite3_reset(a->ins);
	sqlite3_clear_bindings(a->ins);
	return rc == SQLITE_DONE ? 0 : store_access_dberr(rc);
}

/*
 * The record at cut (the first after a batch) written out in full, so that the next
 * batch does not refer to one before it: its strings resolved by reading the records
 * up to it. Rare: only when a batch is cut in the middle of a read.
 */
static void
access_unref(struct store_access *a, size_t cut)
{
	struct store_access_rec_ctx dec = {.valid = false}, full = {.valid = false};
	struct store_access_rec r;
	uint8_t
	    rec[20 + 2 * STORE_ACCESS_REC_NSTR + STORE_ACCESS_REC_NSTR * STORE_ACCESS_REC_STR_MAX];
	size_t off = 0, size = 0, old;

	while (off < cut)
		if (!store_access_rec_get(&dec, a->buf, a->len, &off, &r))
			return; /* cannot be: they were written here */
	if (!store_access_rec_get(&dec, a->buf, a->len, &off, &r))
		return;
	old = off - cut;
	if (store_access_rec_plan(&full, &r, &size) != 0 || size > sizeof(rec))
		return; /* cannot be: it was planned once */
	store_access_rec_put(&full, rec, size, &r);
	memmove(a->buf + cut + size, a->buf + off, a->len - off);
	memcpy(a->buf + cut, rec, size);
	a->len = a->len - old + size;
}

/* Batch b is in the file: it leaves the buffer and becomes the chain's head. */
static void
access_written(struct store_access *a, const struct access_batch *b)
{
	if (a->len > b->len)
		access_unref(a, b->len);
	else
		a->enc.valid = false;
	memmove(a->buf, a->buf + b->len, a->len - b->len);
	a->len -= b->len;
	a->count -= b->count;
	a->mark_len = a->mark_len >= b->len ? a->mark_len - b->len : 0;
	a->mark_count = a->mark_count >= b->count ? a->mark_count - b->count : 0;
	a->last_seq = b->meta[1];
	memcpy(a->last_hash, b->hash, ACCESS_HASH_LEN);
	a->pending_ms = access_now_ms();
	if (a->len == 0)
		access_span_reset(a);
	else
		a->span_ok = false; /* the rest's times are read when they are written */
}

/* Run a prepared statement that returns no row (BEGIN, COMMIT): 0 or ARR_E*. */
static int
access_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_access_dberr(rc);
}

/*
 * Write the first len bytes of pending records as one batch in one transaction. On an
 * error nothing is written and they stay, to be written by the next commit.
 */
static int
access_write(struct store_access *a, size_t len)
{
	struct access_batch b;
	int rc;

	if (len == 0)
		return 0;
	access_seal(a, len, &b);
	if ((rc = access_run(a->begin)) != 0)
		return rc;
	if ((rc = access_insert(a, &b)) == 0)
		rc = access_run(a->commit);
	if (rc != 0) {
		(void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	access_written(a, &b);
	return 0;
}

int
store_access_begin(struct store_access *a)
{
	a->in_batch = true;
	a->mark_len = a->len;
	a->mark_count = a->count;
	return 0;
}

int
store_access_end(struct store_access *a, bool ok)
{
	if (!a->in_batch)
		return 0;
	a->in_batch = false;
	if (!ok) { /* what is taken back never happened */
		a->len = a->mark_len;
		a->count = a->mark_count;
		a->enc.valid = false;
		if (a->len == 0)
			access_span_reset(a);
		else
			a->span_ok = false;
	}
	return 0;
}

int
store_access_commit(struct store_access *a)
{
	/* a read in progress keeps its notes until it ends (store_access_end may drop them) */
	return access_write(a, a->in_batch ? a->mark_len : a->len);
}

bool
store_access_uncommitted(const struct store_access *a, int64_t *since_ms)
{
	if (since_ms != NULL)
		*since_ms = a->pending_ms;
	return a->count > 0;
}

uint64_t
store_access_overflows(const struct store_access *a)
{
	return a->overflows;
}

/*
 * Room for one more record r of *size bytes: the notes before the read written when
 * full (then r is planned again: what it referred to may have left). The buffer keeps
 * ACCESS_SLACK spare for access_unref.
 */
static int
access_room(struct store_access *a, struct store_access_rec *r, size_t *size)
{
	int rc;

	if (a->len + *size > ACCESS_PENDING_BYTES && (a->in_batch ? a->mark_len : a->len) > 0) {
		a->overflows++;
		if ((rc = store_access_commit(a)) != 0 ||
		    (rc = store_access_rec_plan(&a->enc, r, size)) != 0)
			return rc;
	}
	if (a->len + *size + ACCESS_SLACK > a->cap) { /* one read's own notes past the bound */
		size_t cap = 2 * (a->len + *size + ACCESS_SLACK);
		uint8_t *q = realloc(a->buf, cap);

		if (q == NULL)
			return ARR_ENOMEM;
		a->buf = q;
		a->cap = cap;
	}
	return 0;
}

/*
 * Write the note of in at ms as the common note (store_access_rec_put_shaped): its size,
 * or 0 when it is not that note or the buffer may be full.
 */
static size_t
access_put_shaped(struct store_access *a, const struct store_access_entry *in, int64_t ms)
{
	struct store_access_rec_ids r = {
	    .at_ms = ms, .uid = in->uid, .shape = in->shape, .rows = in->rows};

	if (in->shape == 0 || in->row_ids == NULL ||
	    (in->arr_ids == NULL && in->arrangement != NULL) || a->len >= ACCESS_PENDING_BYTES)
		return 0;
	r.bin[0] = in->row_ids;
	r.bin[1] = in->arr_ids;
	return store_access_rec_put_shaped(&a->enc, a->buf + a->len, ACCESS_PENDING_BYTES - a->len,
	                                   &r);
}

/* Plan and write the note of in at ms as a record of its own (room made): its size. */
static int
access_put(struct store_access *a, const struct store_access_entry *in, int64_t ms, size_t *size)
{
	struct store_access_rec r = {
	    .at_ms = ms,
	    .uid = in->uid,
	    .rows = in->rows,
	    .shape = in->shape,
	    .bin = {in->row_ids, in->row_ids != NULL ? in->arr_ids : NULL},
	    .s = {in->user, in->action, in->table, in->row, in->arrangement, in->fields}};
	int rc;

	if ((rc = store_access_rec_plan(&a->enc, &r, size)) != 0 ||
	    (rc = access_room(a, &r, size)) != 0)
		return rc;
	store_access_rec_put(&a->enc, a->buf + a->len, *size, &r);
	return 0;
}

int
store_access_append(struct store_access *a, const struct store_access_entry *in)
{
	int64_t ms;
	size_t size;
	int rc;

	if (in->user == NULL || in->action == NULL)
		return ARR_EINVAL;
	ms = access_now_ms();
	if ((size = access_put_shaped(a, in, ms)) == 0 && (rc = access_put(a, in, ms, &size)) != 0)
		return rc;
	if (a->count == 0)
		a->pending_ms = ms;
	a->lo_ms = ms < a->lo_ms ? ms : a->lo_ms;
	a->hi_ms = ms > a->hi_ms ? ms : a->hi_ms;
	a->len += size;
	a->count += in->rows > 1 ? in->rows : 1;
	/* a note outside a read is written at once */
	return a->in_batch ? 0 : store_access_commit(a);
}

/* The last seq and hash of the newest batch wholly older than before_ms (0: none). */
static int
access_cut(struct store_access *a, int64_t before_ms, int64_t *seq, uint8_t hash[ACCESS_HASH_LEN])
{
	int rc = access_seq_hash(a,
	                         "SELECT last_seq, hash FROM batch WHERE last_at < ?1"
	                         " ORDER BY last_seq DESC LIMIT 1",
	                         before_ms, seq, hash);

	return rc < 0 ? rc : 0;
}

/* Move the anchor to (cut, hash) and drop the batches up to it; count what went. */
static int
access_drop(struct store_access *a, int64_t cut, const uint8_t hash[ACCESS_HASH_LEN],
            uint64_t *pruned)
{
	sqlite3_stmt *st = NULL;
	int rc = ARR_EDB;

	if (sqlite3_prepare_v2(a->db,
	                       "INSERT INTO anchor(id, seq, hash, pruned) VALUES(1, ?1, ?2, ?1)"
	                       " ON CONFLICT(id) DO UPDATE SET seq = ?1, hash = ?2, pruned = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, cut);
	sqlite3_bind_blob(st, 2, hash, ACCESS_HASH_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	/* the entries that go: the anchor's seq less the seq the kept chain started at */
	if (sqlite3_prepare_v2(a->db,
	                       "DELETE FROM batch WHERE last_seq <= ?1"
	                       " RETURNING last_seq - first_seq + 1",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, cut);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*pruned += (uint64_t)sqlite3_column_int64(st, 0);
	rc = rc == SQLITE_DONE ? 0 : store_access_dberr(rc);
out:
	sqlite3_finalize(st);
	return rc;
}

int
store_access_prune(struct store_access *a, int64_t before_ms, uint64_t *pruned)
{
	struct access_batch b;
	uint8_t hash[ACCESS_HASH_LEN];
	char fields[48];
	int64_t cut;
	int rc;

	*pruned = 0;
	if ((rc = store_access_commit(a)) != 0 ||
	    (rc = access_cut(a, before_ms, &cut, hash)) != 0 || cut == 0)
		return rc;
	snprintf(fields, sizeof(fields), "pruned_to=%lld", (long long)cut);
	struct store_access_entry e = {
	    .uid = -1, .user = "arrangd", .action = "prune", .fields = fields};
	/* the anchor, the cut and the note of it in one transaction */
	(void)store_access_begin(a);
	if ((rc = store_access_append(a, &e)) != 0)
		goto out;
	access_seal(a, a->len, &b);
	if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = ARR_EDB;
		goto out;
	}
	if ((rc = access_drop(a, cut, hash, pruned)) != 0 || (rc = access_insert(a, &b)) != 0 ||
	    (rc = sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
		rc = rc > 0 ? store_access_dberr(rc) : rc;
		(void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
		*pruned = 0;
		goto out;
	}
	access_written(a, &b); /* the note leaves the buffer */
	a->in_batch = false;
out:
	(void)store_access_end(a, rc == 0);
	return rc;
}
