/*
 * store_quarantine.c: the quarantine: keeping refused envelopes with their reason,
 * clearing a copy once it is applied, listing them and retrying them, in steps of bounded
 * time so that a retry of a large quarantine never holds up the daemon's loop for long.
 * Whether a retried envelope is accepted is decided by store_apply.c, never here.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "monoclock.h"
#include "store_int.h"

#define HASH_LEN 32
/* Entries a step reads ahead at a time (it checks the clock after each entry). */
#define STEP_IDS 64

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
	sqlite3_stmt *st = s->st[ST_Q_MAXID];
	uint8_t hash[HASH_LEN];
	int64_t top = 0;
	int rc;

	/* an empty quarantine (the rule): no hash of a change set of up to 4 MiB to look for */
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		top = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_db_error(rc);
	if (top == 0)
		return 0;
	st = s->st[ST_Q_DEL_HASH];
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

/* Retry the one entry id, in its own transaction. */
static int
retry_id(struct store *s, int64_t id, struct store_apply_stats *stats)
{
	struct store_apply_stats acc = {0};
	int ret;

	if (stats != NULL)
		*stats = acc;
	if ((ret = store_bulk_flush(s)) < 0 || (ret = store_db_begin(s)) < 0)
		return ret;
	if ((ret = retry_one(s, id, store_clock_now(s), &acc)) < 0) {
		store_db_rollback(s);
		return ret;
	}
	if ((ret = store_db_commit(s)) < 0)
		return ret;
	if (stats != NULL)
		*stats = acc;
	return 0;
}

/* Add the counters of b to a. */
static void
stats_add(struct store_apply_stats *a, const struct store_apply_stats *b)
{
	a->applied += b->applied;
	a->duplicates += b->duplicates;
	a->pending += b->pending;
	a->quarantined += b->quarantined;
	a->quarantined_new += b->quarantined_new;
	a->dropped += b->dropped;
	a->equivocations += b->equivocations;
}

/*
 * The ids of the next entries of q's run after id after (at most n of them) into ids;
 * *got says how many. The ids up to q->until only, of q->reason's entries (0: all).
 */
static int
step_ids(struct store *s, const struct store_qretry *q, int64_t after, int64_t *ids, size_t n,
         size_t *got)
{
	sqlite3_stmt *st = s->st[ST_Q_NEXT];
	int rc;

	*got = 0;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, q->until);
	sqlite3_bind_int(st, 3, q->reason);
	sqlite3_bind_int64(st, 4, (int64_t)n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ids[(*got)++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/* q->until for a run that starts: the highest id now, so entries that come later wait. */
static int
step_until(struct store *s, struct store_qretry *q)
{
	sqlite3_stmt *st = s->st[ST_Q_MAXID];
	int rc;

	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		q->until = sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/*
 * The entries of one step, in the caller's transaction: by id, STEP_IDS at a time, until
 * the run is over or q->budget_ms have passed since t0 (one entry at least).
 */
static int
step_run(struct store *s, struct store_qretry *q, uint64_t t0, struct store_apply_stats *acc)
{
	int64_t ids[STEP_IDS];
	uint64_t now = store_clock_now(s);
	size_t got;
	int rc;

	for (;;) {
		if ((rc = step_ids(s, q, q->after, ids, STEP_IDS, &got)) < 0)
			return rc;
		if (got == 0) {
			q->after = 0; /* the run is over */
			return 0;
		}
		for (size_t i = 0; i < got; i++) {
			/* an earlier one may have taken it along (applied as it became contiguous)
			 */
			if ((rc = retry_one(s, ids[i], now, acc)) < 0 && rc != ARR_ENOTFOUND)
				return rc;
			q->after = ids[i];
			q->tried++;
			if (q->budget_ms > 0 && mono_ms() - t0 >= q->budget_ms)
				return 0;
		}
	}
}

int
store_quarantine_retry_step(struct store *s, struct store_qretry *q)
{
	struct store_apply_stats acc = {0};
	uint64_t t0 = mono_ms();
	int ret;

	q->stats = acc;
	q->tried = 0;
	if (q->after < 0 || q->until < 0)
		return ARR_EINVAL;
	if (q->until == 0 && (ret = step_until(s, q)) < 0)
		return ret;
	if ((ret = store_bulk_flush(s)) < 0 || (ret = store_db_begin(s)) < 0)
		return ret;
	if ((ret = step_run(s, q, t0, &acc)) < 0) {
		store_db_rollback(s);
		return ret;
	}
	if ((ret = store_db_commit(s)) < 0)
		return ret;
	q->stats = acc;
	return 0;
}

/* Every step of a run of reason (0: all), without a time bound. */
static int
retry_all(struct store *s, int reason, struct store_apply_stats *stats)
{
	struct store_apply_stats acc = {0};
	struct store_qretry q = {.reason = reason};
	int ret;

	if (stats != NULL)
		*stats = acc;
	do {
		if ((ret = store_quarantine_retry_step(s, &q)) < 0)
			return ret;
		stats_add(&acc, &q.stats);
	} while (q.after != 0);
	if (stats != NULL)
		*stats = acc;
	return 0;
}

int
store_quarantine_retry(struct store *s, int64_t id, struct store_apply_stats *stats)
{
	return id >= 0 ? retry_id(s, id, stats) : retry_all(s, 0, stats);
}

int
store_quarantine_retry_reason(struct store *s, int reason, struct store_apply_stats *stats)
{
	return retry_all(s, reason, stats);
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
