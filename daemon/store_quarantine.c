/*
 * store_quarantine.c: the quarantine: keeping refused envelopes with their reason,
 * clearing a copy once it is applied, listing them and retrying them. Whether a retried
 * envelope is accepted is decided by store_apply.c, never here.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "store_int.h"

#define HASH_LEN 32

/*
 * Keep raw bytes in quarantine with a reason. An identical blob is stored once (keyed
 * by its hash); a new attempt only refreshes the reason. Bytes that can never become
 * acceptable are kept as a record only, and the oldest entries of the bucket it counts
 * against are evicted when it passes its budget (store_budget.c). 1 when the blob is new to the
 * quarantine, 0 when it was there, or a negative ARR_E*.
 */
int
store_quarantine_put(struct store *s, const uint8_t *raw, size_t len, const uint8_t *origin,
                     uint64_t seq, int reason, const char *detail, uint64_t now)
{
	sqlite3_stmt *st = s->st[ST_Q_UPSERT];
	uint8_t hash[HASH_LEN];
	int64_t bucket;
	int rc;
	bool known;

	if ((rc = store_budget_bucket(s, origin, reason, &bucket)) < 0)
		return rc;
	crypto_generichash(hash, sizeof(hash), raw, len, NULL, 0);
	sqlite3_bind_blob(s->st[ST_Q_HAS], 1, hash, sizeof(hash), SQLITE_STATIC);
	rc = sqlite3_step(s->st[ST_Q_HAS]);
	known = rc == SQLITE_ROW;
	sqlite3_reset(s->st[ST_Q_HAS]);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_error(rc);
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	if (len == 0 || !store_budget_keeps_bytes(reason))
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
	sqlite3_bind_int64(st, 8, bucket);
	sqlite3_bind_int64(st, 9, (int64_t)len);
	rc = store_db_run(st);
	sqlite3_clear_bindings(st);
	if (rc == 0)
		rc = store_budget_quarantine_trim(s, bucket);
	return rc < 0 ? rc : known ? 0 : 1;
}

/*
 * A change set that is applied (or found to be a duplicate) no longer belongs in the
 * quarantine: an identical copy kept there earlier, for instance while its clock was too
 * far ahead, leaves it, whether the change set came back by a pull or by a retry.
 */
int
store_quarantine_clear(struct store *s, const uint8_t *raw, size_t len)
{
	sqlite3_stmt *st = s->st[ST_Q_DEL_HASH];
	uint8_t hash[HASH_LEN];

	crypto_generichash(hash, sizeof(hash), raw, len, NULL, 0);
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	return store_db_run(st);
}

int
store_quarantine_list(struct store *s, int64_t after, store_quarantine_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = ARR_EDB;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT id, origin, seq, reason, detail, received_ms, attempts "
	                       "FROM _quarantine WHERE id > ?1 ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, after);
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
	ret = rc == SQLITE_DONE ? 0 : store_db_error(rc);
out:
	sqlite3_finalize(st);
	return ret > 0 ? 0 : ret;
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
		return rc == SQLITE_DONE ? ARR_ENOTFOUND : store_db_error(rc);
	st = s->st[ST_Q_ATTEMPT];
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_db_run(st)) < 0)
		goto out;
	if (len == 0) {
		/* a record without bytes (store_budget_keeps_bytes): nothing to try again */
		stats->quarantined++;
		goto out;
	}
	if ((rc = store_apply_one(s, raw, len, now, &o, stats)) < 0)
		goto out;
	if (o != STORE_QUARANTINED) {
		st = s->st[ST_Q_DEL];
		sqlite3_bind_int64(st, 1, id);
		rc = store_db_run(st);
	}
out:
	free(raw);
	return rc;
}

/* Retry id (>= 0), or every entry (reason 0) or those kept for reason. */
static int
retry(struct store *s, int64_t id, int reason, struct store_apply_stats *stats)
{
	struct store_apply_stats acc = {0};
	sqlite3_stmt *st = NULL;
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	uint64_t now = store_clock_now(s);
	int rc, ret;

	if (stats != NULL)
		*stats = acc;
	if (id >= 0) {
		if ((ret = store_bulk_flush(s)) < 0 || (ret = store_db_begin(s)) < 0)
			return ret;
		ret = retry_one(s, id, now, &acc);
		goto out;
	}
	/* by (origin, seq), so a run of quarantined seqs applies without going pending */
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT id FROM _quarantine WHERE ?1 = 0 OR reason = ?1 "
	                       "ORDER BY origin, seq, id",
	                       -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int(st, 1, reason);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t c = cap ? 2 * cap : 16;
			void *p = realloc(ids, c * sizeof(*ids));

			if (p == NULL) {
				sqlite3_finalize(st);
				free(ids);
				return ARR_ENOMEM;
			}
			ids = p;
			cap = c;
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE || n == 0) {
		free(ids);
		return rc != SQLITE_DONE ? store_db_error(rc) : 0;
	}
	if ((ret = store_bulk_flush(s)) < 0 || (ret = store_db_begin(s)) < 0) {
		free(ids);
		return ret;
	}
	for (size_t i = 0; i < n && ret == 0; i++) {
		/* an earlier one may have taken it along (applied as it became contiguous) */
		if ((ret = retry_one(s, ids[i], now, &acc)) == ARR_ENOTFOUND)
			ret = 0;
	}
out:
	sqlite3_finalize(st);
	free(ids);
	if (ret < 0) {
		store_db_rollback(s);
		return ret;
	}
	if ((ret = store_db_commit(s)) < 0)
		return ret;
	if (stats != NULL)
		*stats = acc;
	return 0;
}

int
store_quarantine_retry(struct store *s, int64_t id, struct store_apply_stats *stats)
{
	return retry(s, id, 0, stats);
}

int
store_quarantine_retry_reason(struct store *s, int reason, struct store_apply_stats *stats)
{
	return retry(s, -1, reason, stats);
}

int
store_quarantine_held(struct store *s, struct vv *v)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = ARR_EDB;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT origin, seq FROM _quarantine WHERE length(origin) = ?1 "
	                       "AND reason IN (?2, ?3, ?4) ORDER BY origin, seq",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int(st, 1, ARR_ORIGIN_LEN);
	sqlite3_bind_int(st, 2, ARR_ENOTMEMBER);
	sqlite3_bind_int(st, 3, ARR_ESCHEMA);
	sqlite3_bind_int(st, 4, ARR_ECLOCK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *origin = sqlite3_column_blob(st, 0);
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 1);

		if (seq == vv_get(v, origin) + 1 && (ret = vv_set(v, origin, seq)) != 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : store_db_error(rc);
out:
	sqlite3_finalize(st);
	return ret;
}
