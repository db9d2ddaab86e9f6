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
/* Bytes of notes held for the next write: about 4,000 reads of one row each. */
#define ACCESS_PENDING_BYTES (1u << 20)

/* A note made but not yet written: the entry, its strings after it, and its hash. */
struct access_note {
	struct store_access_entry e;
	uint8_t prev[ACCESS_HASH_LEN], hash[ACCESS_HASH_LEN];
	size_t size; /* bytes of this allocation */
};

struct store_access {
	sqlite3 *db;
	char *org;
	sqlite3_stmt *ins;
	int64_t last_seq;                   /* the newest entry's seq (or the anchor's) */
	uint8_t last_hash[ACCESS_HASH_LEN]; /* ... and its hash */
	/* notes not yet written, in seq order, bounded by ACCESS_PENDING_BYTES */
	struct access_note **pending;
	size_t npending, cap, pending_bytes;
	int64_t pending_ms; /* when the first of them was made */
	uint64_t overflows; /* writes forced early by a full buffer */
	bool in_batch;      /* a read's notes are being made (store_access_begin) */
	size_t mark;        /* ... the pending notes before it */
	int64_t mark_seq;   /* ... and the head then */
	uint8_t mark_hash[ACCESS_HASH_LEN];
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
	for (size_t i = 0; i < a->npending; i++)
		free(a->pending[i]); /* a commit that failed: they are lost, as on a crash */
	free(a->pending);
	sqlite3_finalize(a->ins);
	sqlite3_close(a->db);
	free(a->org);
	free(a);
	*ap = NULL;
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

/* Insert note n (prepared statement, the caller's transaction). */
static int
access_insert(struct store_access *a, const struct access_note *n)
{
	const struct store_access_entry *e = &n->e;
	int rc;

	sqlite3_bind_int64(a->ins, 1, e->seq);
	sqlite3_bind_int64(a->ins, 2, e->at_ms);
	sqlite3_bind_int64(a->ins, 3, e->uid);
	access_bind(a->ins, 4, e->user);
	access_bind(a->ins, 5, a->org);
	access_bind(a->ins, 6, e->action);
	access_bind(a->ins, 7, e->table);
	access_bind(a->ins, 8, e->row);
	access_bind(a->ins, 9, e->arrangement);
	access_bind(a->ins, 10, e->fields);
	sqlite3_bind_blob(a->ins, 11, n->prev, ACCESS_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(a->ins, 12, n->hash, ACCESS_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(a->ins);
	sqlite3_reset(a->ins);
	return rc == SQLITE_DONE ? 0 : access_dberr(rc);
}

/*
 * Write the first n pending notes in one transaction and drop them from the buffer.
 * On an error nothing is written and they stay, to be written by the next commit.
 */
static int
access_write(struct store_access *a, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		return access_dberr(rc);
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = access_insert(a, a->pending[i]);
	if (rc == 0 && (rc = sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
		rc = access_dberr(rc);
	if (rc != 0) {
		(void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		a->pending_bytes -= a->pending[i]->size;
		free(a->pending[i]);
	}
	memmove(a->pending, a->pending + n, (a->npending - n) * sizeof(*a->pending));
	a->npending -= n;
	a->mark = a->mark >= n ? a->mark - n : 0;
	a->pending_ms = access_now_ms();
	return 0;
}

int
store_access_begin(struct store_access *a)
{
	a->in_batch = true;
	a->mark = a->npending;
	a->mark_seq = a->last_seq;
	memcpy(a->mark_hash, a->last_hash, ACCESS_HASH_LEN);
	return 0;
}

int
store_access_end(struct store_access *a, bool ok)
{
	if (!a->in_batch)
		return 0;
	a->in_batch = false;
	if (ok)
		return 0;
	/* What is taken back never happened: the head is what it was before the read. */
	for (size_t i = a->mark; i < a->npending; i++) {
		a->pending_bytes -= a->pending[i]->size;
		free(a->pending[i]);
	}
	a->npending = a->mark;
	a->last_seq = a->mark_seq;
	memcpy(a->last_hash, a->mark_hash, ACCESS_HASH_LEN);
	return 0;
}

int
store_access_commit(struct store_access *a)
{
	/* a read in progress keeps its notes until it ends (store_access_end may drop them) */
	return access_write(a, a->in_batch ? a->mark : a->npending);
}

bool
store_access_uncommitted(const struct store_access *a, int64_t *since_ms)
{
	if (since_ms != NULL)
		*since_ms = a->pending_ms;
	return a->npending > 0;
}

uint64_t
store_access_overflows(const struct store_access *a)
{
	return a->overflows;
}

/* Copy s after the note at *p (NULL stays NULL). */
static const char *
access_copy(char **p, const char *s)
{
	char *d = *p;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(d, s, n);
	*p += n;
	return d;
}

/* Room for one more note of size bytes: the notes before the read written when full. */
static int
access_room(struct store_access *a, size_t size)
{
	int rc;

	if (a->pending_bytes + size > ACCESS_PENDING_BYTES &&
	    (a->in_batch ? a->mark : a->npending) > 0) {
		a->overflows++;
		if ((rc = store_access_commit(a)) != 0)
			return rc;
	}
	if (a->npending == a->cap) {
		size_t cap = a->cap > 0 ? 2 * a->cap : 64;
		struct access_note **q = realloc(a->pending, cap * sizeof(*q));

		if (q == NULL)
			return ARR_ENOMEM;
		a->pending = q;
		a->cap = cap;
	}
	return 0;
}

int
store_access_append(struct store_access *a, const struct store_access_entry *in)
{
	const char *s[] = {in->user, in->action, in->table, in->row, in->arrangement, in->fields};
	size_t size = sizeof(struct access_note);
	struct access_note *n;
	char *p;
	int rc;

	if (in->user == NULL || in->action == NULL)
		return ARR_EINVAL;
	for (size_t i = 0; i < 6; i++)
		size += s[i] != NULL ? strlen(s[i]) + 1 : 0;
	if ((rc = access_room(a, size)) != 0)
		return rc;
	if ((n = malloc(size)) == NULL)
		return ARR_ENOMEM;
	p = (char *)(n + 1);
	n->size = size;
	n->e = (struct store_access_entry){
	    .seq = a->last_seq + 1, .at_ms = access_now_ms(), .uid = in->uid, .org = a->org};
	n->e.user = access_copy(&p, in->user);
	n->e.action = access_copy(&p, in->action);
	n->e.table = access_copy(&p, in->table);
	n->e.row = access_copy(&p, in->row);
	n->e.arrangement = access_copy(&p, in->arrangement);
	n->e.fields = access_copy(&p, in->fields);
	memcpy(n->prev, a->last_hash, ACCESS_HASH_LEN);
	access_hash(a->last_hash, &n->e, n->hash);
	if (a->npending == 0)
		a->pending_ms = n->e.at_ms;
	a->pending[a->npending++] = n;
	a->pending_bytes += size;
	a->last_seq = n->e.seq;
	memcpy(a->last_hash, n->hash, ACCESS_HASH_LEN);
	/* a note outside a read is written at once */
	return a->in_batch ? 0 : store_access_commit(a);
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

	/* notes not yet written show too: write them first */
	if ((rc = store_access_commit(a)) != 0)
		return rc;
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
	if ((rc = store_access_commit(a)) != 0 || (rc = access_anchor(a, &seq, v->head)) != 0)
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
	rc = ARR_EDB;
	if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(a->db,
	                       "INSERT INTO anchor(id, seq, hash, pruned) VALUES(1, ?1, ?2, ?3)"
	                       " ON CONFLICT(id) DO UPDATE SET seq = ?1, hash = ?2,"
	                       " pruned = ?3",
	                       -1, &st, NULL) != SQLITE_OK)
		goto rollback;
	sqlite3_bind_int64(st, 1, cut);
	sqlite3_bind_blob(st, 2, hash, ACCESS_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, cut);
	if (sqlite3_step(st) != SQLITE_DONE ||
	    sqlite3_exec(a->db, "DELETE FROM entry WHERE seq <= (SELECT seq FROM anchor)", NULL,
	                 NULL, NULL) != SQLITE_OK)
		goto rollback;
	*pruned = (uint64_t)sqlite3_changes(a->db);
	if ((rc = access_insert(a, a->pending[a->npending - 1])) != 0 ||
	    sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = rc != 0 ? rc : ARR_EDB;
		goto rollback;
	}
	/* written: the note leaves the buffer */
	a->npending--;
	a->pending_bytes -= a->pending[a->npending]->size;
	free(a->pending[a->npending]);
	a->in_batch = false;
	rc = 0;
	goto out;
rollback:
	(void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	*pruned = 0;
out:
	sqlite3_finalize(st);
	(void)store_access_end(a, rc == 0);
	return rc;
}
