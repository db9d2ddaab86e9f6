/*
 * store_access_read.c: reading the access log back (store_access.h): the entries in seq
 * order, a record of several rows listed as an entry a row with its own seq, filtered
 * by seq, time and arrangement ("access.list", the subject export); and verification of
 * the hash chain of batches from the anchor to the head ("access.verify"). It writes
 * only the notes still waiting (a commit first), never a stored batch.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "store_access.h"
#include "store_access_int.h"
#include "store_access_rec.h"

/* Entry i of record r into e (its ids copied into ids when r notes several rows). */
static void
access_entry_of(const struct store_access_rec *r, size_t i, struct store_access_entry *e,
                char ids[2][STORE_ACCESS_ID_LEN + 1])
{
	e->at_ms = r->at_ms;
	e->uid = r->uid;
	e->user = r->s[0];
	e->action = r->s[1];
	e->table = r->s[2];
	e->row = r->s[3];
	e->arrangement = r->s[4];
	e->fields = r->s[5];
	if (r->rows <= 1)
		return;
	for (size_t k = 0; k < 2; k++) {
		if (r->s[3 + k] == NULL)
			continue;
		memcpy(ids[k], r->s[3 + k] + i * STORE_ACCESS_ID_LEN, STORE_ACCESS_ID_LEN);
		ids[k][STORE_ACCESS_ID_LEN] = '\0';
	}
	e->row = ids[0];
	e->arrangement = r->s[4] != NULL ? ids[1] : NULL;
}

/* A walk over the stored batches: the row in hand and its records. */
struct access_walk {
	sqlite3_stmt *st;
	int64_t first, last; /* the batch's seq range */
	const uint8_t *recs;
	size_t len;
	struct store_access_rec_ctx *t; /* the batch's record before */
};

#define ACCESS_BATCH_COLS "first_seq, last_seq, first_at, last_at, org, entries, hash"

/* Step w to the next batch: SQLITE_ROW, SQLITE_DONE or an error. */
static int
access_step(struct access_walk *w)
{
	int rc = sqlite3_step(w->st);

	if (rc != SQLITE_ROW)
		return rc;
	w->first = sqlite3_column_int64(w->st, 0);
	w->last = sqlite3_column_int64(w->st, 1);
	w->recs = sqlite3_column_blob(w->st, 5);
	w->len = (size_t)sqlite3_column_bytes(w->st, 5);
	if (w->recs == NULL)
		w->len = 0;
	w->t->valid = false; /* a batch's first record refers to none */
	return rc;
}

/* Prepare a walk over the batches by sql (ordered by seq); the caller ends it. */
static int
access_walk_begin(struct store_access *a, struct access_walk *w, const char *sql)
{
	memset(w, 0, sizeof(*w));
	if ((w->t = malloc(sizeof(*w->t))) == NULL)
		return ARR_ENOMEM;
	return sqlite3_prepare_v2(a->db, sql, -1, &w->st, NULL) == SQLITE_OK ? 0 : ARR_EDB;
}

static void
access_walk_end(struct access_walk *w)
{
	sqlite3_finalize(w->st);
	free(w->t);
}

/* Does e pass the filter: after seq after, at or after since_ms, of arrangement arr? */
static bool
access_passes(const struct store_access_entry *e, int64_t after, int64_t since_ms, const char *arr)
{
	return e->seq > after && e->at_ms >= since_ms &&
	       (arr == NULL || (e->arrangement != NULL && strcmp(e->arrangement, arr) == 0));
}

/* Hand fn the entries of the walk's batch that pass the filter; stops as fn says. */
static int
access_list_batch(struct access_walk *w, int64_t after, int64_t since_ms, const char *arr,
                  size_t limit, size_t *n, store_access_fn fn, void *ctx)
{
	struct store_access_entry e = {.org = (const char *)sqlite3_column_text(w->st, 4)};
	struct store_access_rec r;
	char ids[2][STORE_ACCESS_ID_LEN + 1];
	size_t off = 0;
	int ret;

	e.seq = w->first;
	while (e.seq <= w->last && (limit == 0 || *n < limit)) {
		if (!store_access_rec_get(w->t, w->recs, w->len, &off, &r))
			return ARR_EMALFORMED;
		for (size_t i = 0; i < (r.rows > 1 ? r.rows : 1) && (limit == 0 || *n < limit);
		     i++, e.seq++) {
			access_entry_of(&r, i, &e, ids);
			if (!access_passes(&e, after, since_ms, arr))
				continue;
			(*n)++;
			if ((ret = fn(ctx, &e)) != 0)
				return ret;
		}
	}
	return 0;
}

int
store_access_list(struct store_access *a, int64_t after, int64_t since_ms, const char *arrangement,
                  size_t limit, store_access_fn fn, void *ctx)
{
	struct access_walk w;
	size_t n = 0;
	int rc, ret = 0;

	/* notes not yet written show too: write them first */
	if ((rc = store_access_commit(a)) != 0)
		return rc;
	if ((ret = access_walk_begin(a, &w,
	                             "SELECT " ACCESS_BATCH_COLS " FROM batch WHERE last_seq > ?1"
	                             " AND last_at >= ?2 ORDER BY last_seq")) != 0)
		goto out;
	sqlite3_bind_int64(w.st, 1, after);
	sqlite3_bind_int64(w.st, 2, since_ms);
	while (ret == 0 && (limit == 0 || n < limit) && (rc = access_step(&w)) == SQLITE_ROW)
		ret = access_list_batch(&w, after, since_ms, arrangement, limit, &n, fn, ctx);
	if (ret == 0 && (limit == 0 || n < limit) && rc != SQLITE_DONE)
		ret = store_access_dberr(rc);
out:
	access_walk_end(&w);
	return ret < 0 ? ret : 0;
}

/* The entries of the well-formed records in w's batch, or -1 when one is malformed. */
static int64_t
access_count(struct access_walk *w)
{
	struct store_access_rec r;
	size_t off = 0;
	int64_t n = 0;

	while (off < w->len) {
		if (!store_access_rec_get(w->t, w->recs, w->len, &off, &r))
			return -1;
		n += r.rows > 1 ? (int64_t)r.rows : 1;
	}
	return n;
}

/* Judge the walk's batch against the running chain (seq, hash); false: v says why. */
static bool
access_check(struct access_walk *w, int64_t *seq, uint8_t hash[ACCESS_HASH_LEN],
             struct store_access_verdict *v)
{
	int64_t meta[4] = {w->first, w->last, sqlite3_column_int64(w->st, 2),
	                   sqlite3_column_int64(w->st, 3)};
	const char *org = (const char *)sqlite3_column_text(w->st, 4);
	const void *stored = sqlite3_column_blob(w->st, 6);
	uint8_t h[ACCESS_HASH_LEN];

	v->bad_seq = w->first;
	v->bad_last = w->last;
	if (w->first != *seq + 1) {
		v->bad_seq = *seq + 1;
		v->reason = w->first > *seq + 1 ? "deleted" : "reordered";
		return false;
	}
	store_access_rec_hash(hash, meta, org != NULL ? org : "", w->recs, w->len, h);
	if (stored == NULL || sqlite3_column_bytes(w->st, 6) != ACCESS_HASH_LEN ||
	    sodium_memcmp(h, stored, ACCESS_HASH_LEN) != 0) {
		v->reason = w->first == w->last
		                ? "modified or reordered"
		                : "modified or reordered (this entry or a later one of its batch)";
		return false;
	}
	/* a batch that hashes right but holds another count was written wrong */
	if (access_count(w) != w->last - w->first + 1) {
		v->reason = "malformed";
		return false;
	}
	v->checked += (uint64_t)(w->last - w->first + 1);
	*seq = w->last;
	memcpy(hash, h, ACCESS_HASH_LEN);
	return true;
}

int
store_access_verify(struct store_access *a, struct store_access_verdict *v)
{
	struct access_walk w;
	int64_t seq;
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = store_access_commit(a)) != 0 || (rc = store_access_anchor(a, &seq, v->head)) != 0)
		return rc;
	v->pruned_to = seq;
	v->ok = true;
	if ((rc = access_walk_begin(
	         a, &w, "SELECT " ACCESS_BATCH_COLS " FROM batch ORDER BY last_seq")) != 0)
		goto out;
	while (v->ok && (rc = access_step(&w)) == SQLITE_ROW)
		v->ok = access_check(&w, &seq, v->head, v);
	rc = v->ok && rc != SQLITE_DONE ? store_access_dberr(rc) : 0;
	/* The newest batch itself removed: the head the daemon holds is ahead of the file. */
	if (rc == 0 && v->ok && seq < a->last_seq) {
		v->ok = false;
		v->bad_seq = seq + 1;
		v->bad_last = a->last_seq;
		v->reason = "deleted";
	}
	if (v->ok)
		v->bad_seq = v->bad_last = 0;
out:
	access_walk_end(&w);
	return rc;
}
