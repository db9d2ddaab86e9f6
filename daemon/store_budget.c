/*
 * store_budget.c: the budgets of pending and quarantine (struct store_budget): whether a
 * change set past a gap may be held pending (and which held ones make room for it),
 * which quarantine bucket an entry counts against, which entries keep their bytes, the
 * eviction of the oldest entries over a bucket's budget, and the counters of what was
 * turned away. What each origin uses is kept by triggers (store_open.c) in the same
 * transaction as the rows. It decides no outcome of a change set (store_apply.c) and
 * keeps no quarantine entry itself (store_quarantine.c).
 *
 * Why: a member can sign change sets far past its seqs (a gap flood), and anyone who
 * reaches a node can send junk; without budgets both grew the database by gigabytes.
 */
#include "arrerr.h"
#include "store_int.h"

void
store_set_budget(struct store *s, const struct store_budget *b)
{
	static const struct store_budget zero = {0};
	const struct store_budget *in = b != NULL ? b : &zero;
	struct store_budget *out = &s->budget;

	out->pending_count = in->pending_count ? in->pending_count : ARR_PENDING_MAX_COUNT;
	out->pending_bytes = in->pending_bytes ? in->pending_bytes : ARR_PENDING_MAX_BYTES;
	out->pending_distance =
	    in->pending_distance ? in->pending_distance : ARR_PENDING_MAX_DISTANCE;
	out->quarantine_count =
	    in->quarantine_count ? in->quarantine_count : ARR_QUARANTINE_MAX_COUNT;
	out->quarantine_bytes =
	    in->quarantine_bytes ? in->quarantine_bytes : ARR_QUARANTINE_MAX_BYTES;
	out->junk_count = in->junk_count ? in->junk_count : ARR_JUNK_MAX_COUNT;
	out->junk_bytes = in->junk_bytes ? in->junk_bytes : ARR_JUNK_MAX_BYTES;
	if (s->budget.log_bytes != (in->log_bytes ? in->log_bytes : ARR_ORIGIN_MAX_LOG_BYTES))
		store_quota_reset(s);
	out->log_bytes = in->log_bytes ? in->log_bytes : ARR_ORIGIN_MAX_LOG_BYTES;
}

/* Entries and bytes used by key in a one-row statement (ST_PEND_USE, ST_Q_USE). */
static int
usage(sqlite3_stmt *st, int64_t key, uint64_t *n, uint64_t *bytes)
{
	int64_t v[2];
	int rc = store_db_row_ints(st, key, 2, v);

	*n = (uint64_t)v[0];
	*bytes = (uint64_t)v[1];
	return rc;
}

/* The highest seq oid holds pending and its size; *found false when none. */
static int
pending_top(struct store *s, int64_t oid, uint64_t *seq, uint64_t *len, bool *found)
{
	sqlite3_stmt *st = s->st[ST_PEND_TOP];
	int rc;

	*found = false;
	sqlite3_bind_int64(st, 1, oid);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*found = true;
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		*len = (uint64_t)sqlite3_column_int64(st, 1);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/*
 * May the verified change set (oid, seq) of len bytes, past the gap of its origin (whose
 * vector entry is have), be held pending? Not beyond pending_distance seqs past the vector. Over
 * the count or the bytes, the held ones of highest seq above it make room (the lowest seqs past the
 * gap are the ones applied first); when none are above it, it is the one dropped. Every change set
 * dropped or evicted is counted; none is lost for good: the vector does not list it, so a later
 * pull fetches it again.
 */
int
store_budget_pending_admit(struct store *s, int64_t oid, uint64_t seq, uint64_t have, size_t len,
                           bool *admit)
{
	const struct store_budget *b = &s->budget;
	uint64_t n, bytes, top, toplen;
	bool found;
	int rc;

	*admit = false;
	if (seq - have > b->pending_distance || len > b->pending_bytes)
		goto drop;
	if ((rc = usage(s->st[ST_PEND_USE], oid, &n, &bytes)) < 0)
		return rc;
	while (n + 1 > b->pending_count || bytes + len > b->pending_bytes) {
		sqlite3_stmt *del = s->st[ST_PEND_DEL];

		if ((rc = pending_top(s, oid, &top, &toplen, &found)) < 0)
			return rc;
		if (!found || top < seq)
			goto drop;
		sqlite3_bind_int64(del, 1, oid);
		sqlite3_bind_int64(del, 2, (int64_t)top);
		if ((rc = store_db_run(del)) < 0)
			return rc;
		s->pending_dropped++;
		n--;
		bytes -= toplen < bytes ? toplen : bytes;
	}
	*admit = true;
	return 0;
drop:
	s->pending_dropped++;
	return 0;
}

/*
 * Whose budget a quarantine entry counts against: its origin's (the local origin id)
 * when the origin is authenticated, that is when the reason comes after the signature
 * and membership checks (store_apply.c, validate(), and the conflicts found after it);
 * else bucket 0, the junk that anyone who reaches the node can send.
 */
int
store_budget_bucket(struct store *s, const uint8_t *origin, int reason, int64_t *bucket)
{
	*bucket = 0;
	if (origin == NULL)
		return 0;
	switch (reason) {
	case ARR_EAUTHOR:
	case ARR_ESCHEMA:
	case ARR_ECLOCK:
	case ARR_ECONFLICT:
		return store_mirror_origin_id(s, origin, bucket);
	default:
		return 0;
	}
}

/*
 * Whether an entry kept for reason keeps its bytes. A bad signature or bytes that do
 * not decode never become acceptable, so only their record is kept (hash, origin and
 * seq when known, reason, size): a flood of them costs 128 bytes an entry, not its size.
 */
bool
store_budget_keeps_bytes(int reason)
{
	switch (reason) {
	case ARR_EBADSIG:
	case ARR_EMALFORMED:
	case ARR_ETYPE:
	case ARR_ENONCANON:
	case ARR_ETOOBIG:
		return false;
	default:
		return true;
	}
}

/* Evict the oldest entries of bucket until it is within its budget; they are counted. */
int
store_budget_quarantine_trim(struct store *s, int64_t bucket)
{
	uint64_t max_n = bucket == 0 ? s->budget.junk_count : s->budget.quarantine_count;
	uint64_t max_bytes = bucket == 0 ? s->budget.junk_bytes : s->budget.quarantine_bytes;
	sqlite3_stmt *ev = s->st[ST_Q_EVICT];
	uint64_t n, bytes;
	int rc;

	for (;;) {
		if ((rc = usage(s->st[ST_Q_USE], bucket, &n, &bytes)) < 0)
			return rc;
		if (n == 0 || (n <= max_n && bytes <= max_bytes))
			return 0;
		sqlite3_bind_int64(ev, 1, bucket);
		if ((rc = store_db_run(ev)) < 0)
			return rc;
		s->quarantine_evicted++;
	}
}

int
store_budget_stats(struct store *s, struct store_budget_stats *out)
{
	sqlite3_stmt *st = s->st[ST_Q_BYTES];
	int rc;

	*out = (struct store_budget_stats){.pending_dropped = s->pending_dropped,
	                                   .quarantine_evicted = s->quarantine_evicted};
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->pending_bytes = (uint64_t)sqlite3_column_int64(st, 0);
		out->quarantine_bytes = (uint64_t)sqlite3_column_int64(st, 1);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}
