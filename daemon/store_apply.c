/*
 * store_apply.c: remote change sets: verifying an envelope, then applying it, knowing it
 * as a duplicate, holding it pending until its gap fills (within the budget of
 * store_budget.c, else dropping it), or quarantining it; logging
 * and counting an applied change set in the vector; store_apply()'s transaction. It does
 * not merge cells itself (store_merge.c) and holds no local-write logic.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "monoclock.h"
#include "policy.h"
#include "store_int.h"
#include "store_precheck.h"
#include "store_member.h"

#define DETAIL_MAX 96
/*
 * A bulk transaction (store_bulk_begin) is committed at least this often. Every commit
 * writes each page it dirtied, and new rows dirty pages of the random-id indexes all
 * over: fewer commits, fewer bytes (1M arrangements: 35 GiB written with 250 ms, 9.4
 * GiB with 2 s). A crash loses at most this much of a catch-up, which is pulled again.
 */
#define BULK_COMMIT_MS 2000

/*
 * Every readable part's ops name known tables and columns with values that fit them, or
 * come from a newer schema and are kept (store_unknown.c), and fit the part's scope;
 * those the worker checked (pre: store_precheck.c) are not checked again.
 */
static int
validate_ops(const struct changeset *cs, const struct store_prechecked *pre, char *detail,
             size_t dlen)
{
	for (size_t i = 0; i < cs->nparts; i++) {
		int rc;

		if (STORE_PRECHECK_HAS(pre->checked, i))
			continue;
		if ((rc = store_scope_ops_valid(&cs->parts[i], cs->h.schema_version, detail,
		                                dlen)) < 0)
			return rc;
	}
	return 0;
}

/*
 * Everything a change set must satisfy before it may be applied or held pending:
 * every part's body, signature over the header (whose body hashes the decoder checked),
 * membership and author_org, clock drift, and the ops of each part this node can read (a region
 * body; a case body whose key this node holds, which must then open). A node without a part's key
 * checks all but its ops: it cannot see them (a part it opens later is checked then, and masked
 * when it does not fit: store_scope.c). Returns 0 or the ARR_E* reason, with a short detail (no
 * personal data). pre says what the worker did already (store_precheck.c), for exactly these
 * bytes: a data part it opened after its CREATE was checked there, as store_scope_apply()
 * would check it.
 */
static int
validate(struct store *s, struct changeset *cs, const struct store_prechecked *pre, uint64_t now,
         char *detail, size_t dlen)
{
	uint64_t ahead;
	int rc;

	/* a newer schema version is accepted: what it adds is kept (store_unknown.c) */
	if (pre->badsig || (!pre->verified && changeset_verify(cs) != 0)) {
		snprintf(detail, dlen, "bad signature");
		return ARR_EBADSIG;
	}
	/* a member at that seq, signing in the name of its record's organisation */
	if ((rc = store_member_admit(s, cs, detail, dlen)) < 0)
		return rc;
	/* a stub only of a scope erased here, or a body redacted here (store_erase.c) */
	if ((rc = store_erase_stubs_ok(s, cs, detail, dlen)) < 0)
		return rc;
	if ((rc = store_scope_open_received(s, cs)) < 0) {
		if (rc == ARR_ENOMEM || rc == ARR_EDB || rc == ARR_EFULL || rc == ARR_EIO)
			return rc;
		snprintf(detail, dlen, "body does not open with the scope key it names");
		return ARR_EDECRYPT;
	}
	if ((rc = validate_ops(cs, pre, detail, dlen)) < 0)
		return rc;
	if ((ahead = hlc_ahead_ms(cs->h.hlc, now)) > s->max_drift) {
		snprintf(detail, dlen, "clock ahead by %" PRIu64 " ms", ahead);
		s->clock_rejected++;
		return ARR_ECLOCK;
	}
	return 0;
}

/*
 * Are stored bytes raw the change set cs? The same signed header and signature (the
 * envelope's bytes up to the bodies): a copy whose bodies were dropped (a stub, after an
 * erasure) is the same change set, since the header fixes every body's hash.
 */
static bool
same_signed(const uint8_t *raw, size_t len, const struct changeset *cs)
{
	size_t head = (size_t)(cs->sig + ARR_SIG_LEN - cs->raw);

	return raw != NULL && len >= head && memcmp(raw, cs->raw, head) == 0;
}

/* Compare a stored blob of a one-row statement with cs; *found says if a row came. */
static int
blob_equal(sqlite3_stmt *st, const struct changeset *cs, bool *found, bool *equal)
{
	int rc = sqlite3_step(st);

	*found = *equal = false;
	if (rc == SQLITE_ROW) {
		*found = true;
		*equal = same_signed(sqlite3_column_blob(st, 0),
		                     (size_t)sqlite3_column_bytes(st, 0), cs);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/*
 * After (oid, seq) was applied directly, a pending copy of it is obsolete: identical
 * ones are dropped, a different one (an origin that signed two contents for one seq)
 * is a proof of equivocation.
 */
static int
pending_settle(struct store *s, const struct changeset *cs, int64_t oid, uint64_t now,
               struct store_apply_stats *stats)
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
		equal = same_signed(raw, len, cs);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_db_error(rc);
	if (!found)
		return 0;
	/* a different pending copy: a proof (store_equiv.c), which masks cs and the copy */
	if (!equal)
		return store_equiv_conflict(s, st, oid, cs, now, stats);
	st = s->st[ST_PEND_DEL];
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
	return store_db_run(st);
}

/* Apply pending change sets of origin that became contiguous; counts them in *n. */
static int
pending_drain(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], int64_t oid, uint64_t now,
              size_t *n)
{
	sqlite3_stmt *get = s->st[ST_PEND_GET], *del = s->st[ST_PEND_DEL];
	struct changeset *cs = NULL;
	bool admit;
	int rc;

	for (;;) {
		uint64_t next = vv_get(s->vec, origin) + 1;
		const uint8_t *raw;
		size_t len;

		sqlite3_bind_int64(get, 1, oid);
		sqlite3_bind_int64(get, 2, (int64_t)next);
		if ((rc = sqlite3_step(get)) != SQLITE_ROW) {
			sqlite3_reset(get);
			return rc == SQLITE_DONE ? 0 : store_db_error(rc);
		}
		raw = sqlite3_column_blob(get, 0);
		len = (size_t)sqlite3_column_bytes(get, 0);
		/* its origin went over its log quota: it waits (store_quota.c) */
		if ((rc = store_quota_admit(s, oid, next, len, &admit)) < 0 || !admit) {
			sqlite3_reset(get);
			return rc < 0 ? rc : 0;
		}
		rc = changeset_decode(raw, len, &cs);
		if (rc < 0 && rc != ARR_ENOMEM) {
			/* cannot happen for bytes we verified; keep them, leave the gap */
			int qrc = store_quarantine_put(s, raw, len, origin, next, rc,
			                               "pending change set no longer decodes", now);

			sqlite3_reset(get);
			if (qrc < 0)
				return qrc;
			sqlite3_bind_int64(del, 1, oid);
			sqlite3_bind_int64(del, 2, (int64_t)next);
			return store_db_run(del);
		}
		sqlite3_reset(get);
		if (rc < 0)
			return rc;
		if (cs->h.seq != next || memcmp(cs->origin, origin, ARR_ORIGIN_LEN) != 0)
			rc = ARR_EDB; /* the row does not hold what its key says */
		else if ((rc = store_apply_changeset(s, cs, oid)) == 0 &&
		         (rc = store_quarantine_clear(s, cs->raw, cs->rawlen)) == 0)
			hlc_recv(&s->hlc, cs->h.hlc, now);
		changeset_destroy(&cs);
		if (rc < 0)
			return rc;
		(*n)++;
		sqlite3_bind_int64(del, 1, oid);
		sqlite3_bind_int64(del, 2, (int64_t)next);
		if ((rc = store_db_run(del)) < 0)
			return rc;
	}
}

/*
 * Does the stored copy of cs's (oid, seq) in a one-row statement (the log or the pending
 * set) hold other bytes? *found says whether there is one.
 */
static int
stored_compare(sqlite3_stmt *st, int64_t oid, const struct changeset *cs, bool *found,
               bool *differs)
{
	bool equal;
	int rc;

	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
	rc = blob_equal(st, cs, found, &equal);
	*differs = rc == 0 && *found && !equal;
	return rc;
}

/* Hold cs pending until the earlier seqs of its origin arrive. */
static int
pending_insert(struct store *s, const struct changeset *cs, int64_t oid, uint64_t now)
{
	sqlite3_stmt *st = s->st[ST_PEND_INS];

	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
	sqlite3_bind_blob(st, 3, cs->raw, (int)cs->rawlen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)now);
	return store_db_run(st);
}

/* cs has a seq this node has logged: a duplicate, or with other content a proof. */
static int
logged_again(struct store *s, const struct changeset *cs, uint64_t now, enum store_outcome *out,
             struct store_apply_stats *stats)
{
	int64_t oid = store_mirror_origin_find(s, cs->origin);
	bool found, differs;
	int rc;

	*out = STORE_DUPLICATE;
	if ((rc = stored_compare(s->st[ST_LOG_GET], oid, cs, &found, &differs)) < 0)
		return rc;
	/* two signed contents for one seq: a proof, not a quarantine */
	if (differs)
		return store_equiv_conflict(s, s->st[ST_LOG_GET], oid, cs, now, stats);
	if ((rc = store_quarantine_clear(s, cs->raw, cs->rawlen)) < 0)
		return rc;
	stats->duplicates++;
	return 0;
}

/* Whether cs has a policy part. */
static bool
has_policy(const struct changeset *cs)
{
	for (size_t i = 0; i < cs->nparts; i++)
		if (cs->parts[i].kind == CS_POLICY)
			return true;
	return false;
}

/*
 * Verify one envelope and apply it, recognise it as a duplicate, hold it pending (or drop
 * it over the pending budget) or quarantine it. Returns 0 (with *out and the counters updated) or a
 * database error that must abort the caller's transaction.
 */
int
store_apply_one(struct store *s, const uint8_t *raw, size_t len, uint64_t now,
                enum store_outcome *out, struct store_apply_stats *stats)
{
	struct store_prechecked pre = {0};
	struct changeset *cs = NULL;
	char detail[DETAIL_MAX];
	bool found, differs, admit;
	int64_t oid;
	uint64_t have;
	int rc, reason;

	if (len > ARR_CS_MAX_BYTES) {
		reason = ARR_ETOOBIG;
		snprintf(detail, sizeof(detail), "change set larger than the limit");
		goto quarantine;
	}
	/* decoded and checked ahead on the second thread, or here */
	if (store_precheck_take(s, raw, len, &pre))
		cs = pre.cs;
	else if ((reason = changeset_decode(raw, len, &cs)) < 0) {
		if (reason == ARR_ENOMEM)
			return reason;
		snprintf(detail, sizeof(detail), "undecodable change set");
		goto quarantine;
	}
	if ((reason = validate(s, cs, &pre, now, detail, sizeof(detail))) < 0) {
		if (reason == ARR_ENOMEM || reason == ARR_EDB || reason == ARR_EFULL ||
		    reason == ARR_EIO) {
			rc = reason;
			goto out;
		}
		goto quarantine;
	}
	/* an ERASE by the scope's owner is proven by itself: it wins at once, in any order */
	if ((rc = store_erase_received(s, cs)) < 0)
		goto out;

	/* an origin proven to equivocate is frozen before the proven seq (store_equiv.c) */
	if ((rc = store_equiv_from(s, cs->origin, &have)) < 0)
		goto out;
	if (have != 0 && cs->h.seq >= have) {
		*out = STORE_DUPLICATE;
		stats->duplicates++;
		goto out;
	}
	have = vv_get(s->vec, cs->origin);
	if (cs->h.seq <= have) {
		rc = logged_again(s, cs, now, out, stats);
		goto out;
	}
	if ((rc = store_mirror_origin_id(s, cs->origin, &oid)) < 0)
		goto out;
	/* an origin over its log quota: refused, not held (store_quota.c) */
	if ((rc = store_quota_admit(s, oid, cs->h.seq, cs->rawlen, &admit)) < 0)
		goto out;
	if (!admit) {
		*out = STORE_REFUSED;
		stats->refused++;
		goto out;
	}
	if (cs->h.seq == have + 1) {
		*out = STORE_APPLIED;
		/*
		 * a sliced apply's merge may stop at its deadline (store_applyjob.c); one with a
		 * policy part is merged whole: its keys and verdicts are not carried over calls
		 */
		if (!has_policy(cs))
			s->slice.until_ms = s->slice.deadline;
		rc = store_apply_changeset(s, cs, oid);
		s->slice.until_ms = 0;
		if (rc == STORE_MERGE_MORE)
			rc = store_applyjob_park(s, &cs, oid, now);
		else if (rc == 0)
			rc = store_apply_next(s, cs, oid, now, stats);
		goto out;
	}
	/* a gap: hold it until the earlier seqs arrive */
	if ((rc = stored_compare(s->st[ST_PEND_GET], oid, cs, &found, &differs)) < 0)
		goto out;
	if (differs) {
		rc = store_equiv_conflict(s, s->st[ST_PEND_GET], oid, cs, now, stats);
		*out = STORE_DUPLICATE;
		goto out;
	}
	if (!found) {
		if ((rc = store_budget_pending_admit(s, oid, cs->h.seq, have, cs->rawlen, &admit)) <
		    0)
			goto out;
		if (!admit) {
			*out = STORE_DROPPED;
			stats->dropped++;
			goto out;
		}
		if ((rc = pending_insert(s, cs, oid, now)) < 0)
			goto out;
	}
	*out = STORE_PENDING;
	stats->pending++;
	rc = 0;
	goto out;
quarantine:
	rc = store_quarantine_put(s, raw, len, cs != NULL ? cs->origin : NULL,
	                          cs != NULL ? cs->h.seq : 0, reason, detail, now);
	if (rc >= 0) {
		*out = STORE_QUARANTINED;
		stats->quarantined++;
		stats->quarantined_new += (size_t)rc;
		rc = 0;
	}
out:
	changeset_destroy(&cs);
	return rc;
}

/* A policy part that changes an existing scope's policy (a CREATE opens a new one). */
static bool
grows_policy(const struct cs_part *p)
{
	return p->kind == CS_POLICY && (p->policy == NULL || p->policy->op != POLICY_CREATE);
}

/*
 * Merge, keep sealed or record as policy the parts of logged change set cs
 * (store_scope_apply), and judge again the verdicts a grown policy changes: around the
 * one policy part that is not a CREATE (a CREATE opens a scope nothing was judged in),
 * by what that part changed; with several, every verdict of each scope they govern.
 */
static int
policy_apply(struct store *s, struct changeset *cs, int64_t oid, int64_t log_id)
{
	const struct cs_part *one = NULL;
	size_t n = 0;
	int64_t sc;
	int rc;

	for (size_t i = 0; i < cs->nparts; i++)
		if (grows_policy(&cs->parts[i])) {
			one = &cs->parts[i];
			n++;
		}
	if (n == 1 && (rc = store_verdict_policy_before(s, one->scope)) < 0)
		return rc;
	if ((rc = store_scope_apply(s, cs, oid, log_id)) < 0 || n == 0)
		return rc;
	/* a scope's policy grew: the verdicts it changes are judged again */
	for (size_t i = 0; i < cs->nparts; i++) {
		const struct cs_part *p = &cs->parts[i];

		if (!grows_policy(p))
			continue;
		if ((rc = store_scope_local(s, p->scope, false, &sc)) == ARR_ENOTFOUND)
			continue;
		if (rc < 0 || (rc = n == 1 ? store_verdict_policy_grew(s, sc)
		                           : store_verdict_policy_all(s, sc)) < 0)
			return rc;
	}
	return 0;
}

/*
 * What follows the apply of cs, logged and counted: a pending copy settled, a quarantined
 * copy cleared, the clock, and the pending change sets it made contiguous (applied
 * without a deadline).
 */
int
store_apply_next(struct store *s, const struct changeset *cs, int64_t oid, uint64_t now,
                 struct store_apply_stats *stats)
{
	int rc;

	if ((rc = pending_settle(s, cs, oid, now, stats)) < 0 ||
	    (rc = store_quarantine_clear(s, cs->raw, cs->rawlen)) < 0)
		return rc;
	hlc_recv(&s->hlc, cs->h.hlc, now);
	stats->applied++;
	return pending_drain(s, cs->origin, oid, now, &stats->applied);
}

/* Count a logged and merged change set in the vector, stored and in memory. */
int
store_apply_count(struct store *s, const struct changeset *cs, int64_t oid)
{
	sqlite3_stmt *st = s->st[ST_VV_UPSERT];
	int rc;

	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
	if ((rc = store_db_run(st)) < 0)
		return rc;
	return vv_set(s->vec, cs->origin, cs->h.seq);
}

/*
 * Log, merge (or keep sealed, or record as policy: store_scope_apply) and count one
 * change set whose seq is vector[origin] + 1. STORE_MERGE_MORE when the merge stopped
 * at slice.until_ms: then it is logged, partly merged and not counted.
 */
int
store_apply_changeset(struct store *s, struct changeset *cs, int64_t oid)
{
	sqlite3_stmt *st = s->st[ST_LOG_INS];
	uint8_t chain[32], *kept = NULL;
	size_t keptlen = 0;
	int64_t log_id;
	int rc;

	assert(cs->h.seq == vv_get(s->vec, cs->origin) + 1);
	if ((rc = store_equiv_chain(s, oid, cs, chain)) < 0)
		return rc;
	sqlite3_bind_blob(st, 5, chain, sizeof(chain), SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
	sqlite3_bind_int64(st, 3, store_clock_to_db(cs->h.hlc));
	/* the bodies of an erased scope or redacted here are not kept (store_erase.c) */
	if ((rc = store_erase_filter(s, cs, &kept, &keptlen)) < 0)
		return rc;
	if (kept != NULL)
		sqlite3_bind_blob(st, 4, kept, (int)keptlen, free);
	else
		sqlite3_bind_blob(st, 4, cs->raw, (int)cs->rawlen, SQLITE_STATIC);
	if ((rc = store_db_run(st)) < 0)
		return rc;
	log_id = sqlite3_last_insert_rowid(s->db);
	/* a member change set changes the member list, nothing else */
	if (cs->parts[0].kind == CS_MEMBER) {
		if ((rc = store_apply_count(s, cs, oid)) < 0)
			return rc;
		return store_member_logged(s, cs, log_id);
	}
	if ((rc = policy_apply(s, cs, oid, log_id)) < 0 || rc == STORE_MERGE_MORE)
		return rc;
	return store_apply_count(s, cs, oid);
}

/* Open store_apply()'s transaction, unless the bulk one is open. */
int
store_apply_begin(struct store *s)
{
	int rc;

	if (s->bulk_tx)
		return 0;
	if ((rc = store_db_begin(s)) < 0)
		return rc;
	if (s->bulk) {
		s->bulk_tx = true;
		s->bulk_t0 = mono_ms();
	}
	return 0;
}

/* Commit store_apply()'s transaction, or the bulk one once it is BULK_COMMIT_MS old. */
int
store_apply_end(struct store *s)
{
	bool bulk = s->bulk_tx;
	int rc;

	if (s->bulk_tx && mono_ms() - s->bulk_t0 < BULK_COMMIT_MS)
		return 0;
	s->bulk_tx = false;
	if ((rc = store_db_commit(s)) < 0)
		return rc;
	/* the replica grew: so may the cache */
	return bulk ? store_bulk_cache_grow(s) : 0;
}

/*
 * The items in order, in one transaction, until one is parked half-merged at the slice's
 * deadline (then the transaction stays open); *used counts those finished.
 */
static int
apply_items(struct store *s, const struct store_blob *items, size_t n, enum store_outcome *outcomes,
            size_t *used, struct store_apply_stats *stats)
{
	struct store_apply_stats st = {0};
	uint64_t now;
	int rc;

	*used = 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].data == NULL && items[i].len != 0)
			return ARR_EINVAL;
	now = store_clock_now(s);
	if ((rc = store_apply_begin(s)) < 0)
		return rc;
	for (size_t i = 0; i < n && s->slice.cs == NULL; i++) {
		enum store_outcome o = STORE_QUARANTINED;

		if ((rc = store_apply_one(
		         s, items[i].data != NULL ? items[i].data : (const uint8_t *)"",
		         items[i].len, now, &o, &st)) < 0) {
			store_applyjob_drop(s);
			store_db_rollback(s);
			return rc;
		}
		if (outcomes != NULL)
			outcomes[i] = o;
		*used += s->slice.cs == NULL;
	}
	if (s->slice.cs == NULL && (rc = store_apply_end(s)) < 0)
		return rc;
	store_erase_settle(s); /* after an erasure committed: the WAL cut */
	if (stats != NULL)
		*stats = st;
	return 0;
}

int
store_apply(struct store *s, const struct store_blob *items, size_t n, enum store_outcome *outcomes,
            struct store_apply_stats *stats)
{
	size_t used;

	assert(s != NULL && (items != NULL || n == 0));
	if (stats != NULL)
		*stats = (struct store_apply_stats){0};
	if (n == 0)
		return 0;
	/* a parked change set first: its transaction is the one this call would open */
	store_apply_settle(s);
	return apply_items(s, items, n, outcomes, &used, stats);
}

int
store_apply_sliced(struct store *s, const struct store_blob *items, size_t n, uint64_t until_ms,
                   size_t *used, struct store_apply_stats *stats)
{
	int rc;

	assert(s != NULL && (items != NULL || n == 0) && used != NULL);
	*used = 0;
	if (stats != NULL)
		*stats = (struct store_apply_stats){0};
	if (n == 0)
		return 0;
	store_apply_settle(s);
	s->slice.deadline = until_ms;
	rc = apply_items(s, items, n, NULL, used, stats);
	s->slice.deadline = 0;
	return rc;
}
