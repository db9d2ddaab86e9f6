/*
 * store_equiv.c: equivocation (PROTOCOL.md, "Equivocation"): the chain hash of each
 * origin's log, proofs that an origin signed two contents for one seq (_equiv), and the
 * rule every node applies to them: the origin is frozen before the lowest proven seq,
 * its change sets from there on leave the log, the vector and the merge, and the rows
 * they touched are merged again from the change sets that remain. It decides nothing
 * about peers (daemon/sync_equiv.c relays the proofs) and merges nothing itself
 * (store_merge.c).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "rowid.h"
#include "store_int.h"

/* One row a masked change set touched: table index and rowid. */
struct equiv_row {
	int tbl;
	int64_t rid;
};

/* The seq origin is frozen before, 0 when it is not. */
int
store_equiv_from(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t *from)
{
	sqlite3_stmt *st = s->st[ST_EQ_FROM];
	int rc;

	*from = 0;
	sqlite3_bind_blob(st, 1, origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*from = (uint64_t)sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

int
store_equiv_frozen(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t *from)
{
	return store_equiv_from(s, origin, from);
}

/* The chain hash cs (the next of oid) gets in the log: H(chain(seq - 1) || H(header)). */
int
store_equiv_chain(struct store *s, int64_t oid, const struct changeset *cs, uint8_t out[32])
{
	sqlite3_stmt *st = s->st[ST_LOG_CHAIN];
	uint8_t buf[64] = {0};
	int rc = SQLITE_DONE;

	if (cs->h.seq > 1) {
		sqlite3_bind_int64(st, 1, oid);
		sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq - 1);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
			memcpy(buf, sqlite3_column_blob(st, 0), 32);
			rc = SQLITE_DONE;
		} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
			rc = SQLITE_CORRUPT; /* the predecessor of a logged seq is logged */
		}
		sqlite3_reset(st);
	}
	if (rc != SQLITE_DONE)
		return store_db_error(rc);
	/* the header (with its body_hash) and signature: a dropped body keeps the chain */
	crypto_generichash(buf + 32, 32, cs->hdr, cs->hdrlen, NULL, 0);
	crypto_generichash(out, 32, buf, sizeof(buf), NULL, 0);
	return 0;
}

/* Run one statement on (origin id, seq) parameters ?1, ?2. */
static int
exec2(struct store *s, const char *sql, int64_t oid, uint64_t seq)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)seq);
	rc = store_db_run(st);
	sqlite3_finalize(st);
	return rc;
}

/*
 * The query of the rows that change sets (oid ?1, >= seq ?2) touched: by their _rowlog
 * entries, and the rows they inserted (each domain table's _log; a scan, once per proven
 * equivocation).
 */
static char *
rows_touched_sql(struct store *s)
{
	sqlite3_str *q = sqlite3_str_new(s->db);

	sqlite3_str_appendall(q, "SELECT r.tbl, r.rid FROM _rowlog r JOIN _log l "
	                         "ON l.id = r.log WHERE l.origin = ?1 AND l.seq >= ?2");
	for (size_t ti = 0; ti < s->ntables; ti++)
		sqlite3_str_appendf(q,
		                    " UNION SELECT %d, _rid FROM \"%w\" WHERE _log IN "
		                    "(SELECT id FROM _log WHERE origin = ?1 AND seq >= ?2)",
		                    (int)ti, s->tables[ti].t->name);
	return sqlite3_str_finish(q);
}

/* The rows that change sets (oid, >= from) touched, malloc'd into *rows. */
static int
rows_touched(struct store *s, int64_t oid, uint64_t from, struct equiv_row **rows, size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	char *sql;
	int rc;

	*rows = NULL;
	*n = 0;
	if ((sql = rows_touched_sql(s)) == NULL)
		return ARR_ENOMEM;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)from);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t nc = cap ? 2 * cap : 64;
			void *p = realloc(*rows, nc * sizeof(**rows));

			if (p == NULL) {
				rc = ARR_ENOMEM;
				goto out;
			}
			*rows = p;
			cap = nc;
		}
		(*rows)[*n].tbl = sqlite3_column_int(st, 0);
		(*rows)[(*n)++].rid = sqlite3_column_int64(st, 1);
	}
	rc = rc == SQLITE_DONE ? 0 : store_db_error(rc);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Merge again, into row id of table tb, the ops of log entry log_id that name the row. */
static int
remerge_one(struct store *s, const struct store_table *tb, const uint8_t row[ARR_ROWID_LEN],
            int64_t sc, int64_t oid, int64_t log_id, const uint8_t *raw, size_t len)
{
	struct changeset *cs = NULL;
	struct cs_op *ops = NULL;
	size_t k = 0, nops = 0;
	int rc;

	if ((rc = changeset_decode(raw, len, &cs)) < 0)
		return rc == ARR_ENOMEM ? rc : ARR_EDB; /* logged bytes always decode */
	/* a row of a case scope was merged with its key, which this node keeps */
	if ((rc = store_scope_open(s, cs)) < 0)
		goto out;
	for (size_t p = 0; p < cs->nparts; p++)
		nops += cs->parts[p].nops;
	if ((ops = calloc(nops + 1, sizeof(*ops))) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	for (size_t p = 0; p < cs->nparts; p++)
		for (size_t i = 0; i < cs->parts[p].nops; i++)
			if (strcmp(cs->parts[p].ops[i].table, tb->t->name) == 0 &&
			    memcmp(cs->parts[p].ops[i].row, row, ARR_ROWID_LEN) == 0)
				ops[k++] = cs->parts[p].ops[i];
	rc = k == 0 ? 0 : store_merge_part(s, cs, ops, k, oid, log_id, sc);
out:
	free(ops);
	changeset_destroy(&cs);
	return rc;
}

/* Merge again the log entry first that inserted row (gone if it was masked). */
static int
remerge_first(struct store *s, const struct store_table *tb, const uint8_t row[ARR_ROWID_LEN],
              int64_t sc, int64_t first)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(s->db, "SELECT origin, raw FROM _log WHERE id = ?1", -1, &st,
	                             NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_int64(st, 1, first);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rc = remerge_one(s, tb, row, sc, sqlite3_column_int64(st, 0), first,
		                 sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
	else
		rc = rc == SQLITE_DONE ? 0 : store_db_error(rc);
	sqlite3_finalize(st);
	return rc;
}

/*
 * Take row rid of table ti out, then merge it again from the log entries left: the one
 * that inserted it (its _log) and its _rowlog entries.
 */
static int
remerge_row(struct store *s, const struct equiv_row *r)
{
	const struct store_table *tb = &s->tables[r->tbl];
	sqlite3_stmt *st = NULL;
	char sql[160];
	uint8_t row[ARR_ROWID_LEN];
	int64_t sc, first;
	int rc;

	snprintf(sql, sizeof(sql), "DELETE FROM \"%s\" WHERE _rid = ?1 RETURNING id, _sc, _log",
	         tb->t->name);
	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_int64(st, 1, r->rid);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW || rowid_parse((const char *)sqlite3_column_text(st, 0), row) != 0) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? 0 : ARR_EDB;
	}
	sc = sqlite3_column_int64(st, 1);
	first = sqlite3_column_int64(st, 2);
	sqlite3_step(st);
	sqlite3_finalize(st);
	if (first != 0 && (rc = remerge_first(s, tb, row, sc, first)) < 0)
		return rc;
	if ((rc = sqlite3_prepare_v2(s->db,
	                             "DELETE FROM _rowlog WHERE tbl = ?1 AND rid = ?2 "
	                             "RETURNING (SELECT origin FROM _log WHERE id = log), log, "
	                             "(SELECT raw FROM _log WHERE id = log)",
	                             -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_int(st, 1, r->tbl);
	sqlite3_bind_int64(st, 2, r->rid);
	rc = 0;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 2) != SQLITE_BLOB)
			continue; /* an entry of a masked change set, already gone */
		rc = remerge_one(s, tb, row, sc, sqlite3_column_int64(st, 0),
		                 sqlite3_column_int64(st, 1), sqlite3_column_blob(st, 2),
		                 (size_t)sqlite3_column_bytes(st, 2));
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * The policy records of oid's log entries from from on (_policy is keyed by scope: a scan,
 * once per proven equivocation).
 */
static int
policy_mask(struct store *s, int64_t oid, uint64_t from)
{
	return exec2(s,
	             "DELETE FROM _policy WHERE log IN "
	             "(SELECT id FROM _log WHERE origin = ?1 AND seq >= ?2)",
	             oid, from);
}

/*
 * The rule: freeze oid before from. Its log entries from there on, their history
 * entries, pending copies and vector share go; each row they touched is merged again
 * from the change sets that remain (so a row only they wrote disappears).
 */
static int
mask(struct store *s, int64_t oid, uint64_t from)
{
	struct equiv_row *rows = NULL;
	size_t n = 0;
	int rc;

	if ((rc = rows_touched(s, oid, from, &rows, &n)) < 0 ||
	    (rc = exec2(s,
	                "DELETE FROM _rowlog WHERE log IN "
	                "(SELECT id FROM _log WHERE origin = ?1 AND seq >= ?2)",
	                oid, from)) < 0 ||
	    (rc = exec2(s,
	                "DELETE FROM _sealed WHERE log IN "
	                "(SELECT id FROM _log WHERE origin = ?1 AND seq >= ?2)",
	                oid, from)) < 0)
		goto out;
	store_scope_tally_add(s, 0, 0, -sqlite3_changes(s->db));
	if ((rc = policy_mask(s, oid, from)) < 0 ||
	    (rc = exec2(s, "DELETE FROM _log WHERE origin = ?1 AND seq >= ?2", oid, from)) < 0 ||
	    (rc = exec2(s, "DELETE FROM _pending WHERE origin = ?1 AND seq >= ?2", oid, from)) <
	        0 ||
	    (rc = exec2(s, "UPDATE _vv SET seq = ?2 - 1 WHERE origin = ?1 AND seq >= ?2", oid,
	                from)) < 0 ||
	    (rc = exec2(s, "DELETE FROM _vv WHERE origin = ?1 AND seq = 0 AND ?2 > 0", oid, from)) <
	        0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = remerge_row(s, &rows[i]);
	if (rc == 0)
		rc = store_mirror_load(s);
out:
	free(rows);
	return rc;
}

int
store_equiv_cut(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t from)
{
	int64_t oid = store_mirror_origin_find(s, origin);

	return oid == 0 ? 0 : mask(s, oid, from);
}

/*
 * Record the proof (a, b) of (origin, seq) unless one of a lower or equal seq is kept,
 * and apply the rule. *fresh says whether it was recorded.
 */
static int
record(struct store *s, const struct changeset *x, const struct changeset *y, bool *fresh)
{
	const struct changeset *a = x, *b = y;
	sqlite3_stmt *st = NULL;
	int64_t oid;
	uint64_t from;
	int rc;

	*fresh = false;
	if ((rc = store_equiv_from(s, x->origin, &from)) < 0)
		return rc;
	if (from != 0 && from <= x->h.seq)
		return 0;
	if (x->rawlen > y->rawlen ||
	    (x->rawlen == y->rawlen && memcmp(x->raw, y->raw, x->rawlen) > 0)) {
		a = y;
		b = x;
	}
	if ((rc = sqlite3_prepare_v2(s->db,
	                             "INSERT OR REPLACE INTO _equiv(origin, seq, a, b, found_ms) "
	                             "VALUES(?1, ?2, ?3, ?4, ?5)",
	                             -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_blob(st, 1, x->origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)x->h.seq);
	sqlite3_bind_blob(st, 3, a->raw, (int)a->rawlen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, b->raw, (int)b->rawlen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)store_clock_now(s));
	rc = store_db_run(st);
	sqlite3_finalize(st);
	if (rc < 0 || (rc = store_mirror_origin_id(s, x->origin, &oid)) < 0 ||
	    (rc = mask(s, oid, x->h.seq)) < 0)
		return rc;
	*fresh = true;
	return 0;
}

/*
 * cs (verified) has other bytes than the copy of its (oid, seq) that the one-row
 * statement st (the log or the pending set) holds, itself verified when it was stored:
 * a proof. Counted in stats->equivocations when recorded.
 */
int
store_equiv_conflict(struct store *s, sqlite3_stmt *st, int64_t oid, const struct changeset *cs,
                     uint64_t now, struct store_apply_stats *stats)
{
	struct changeset *other = NULL;
	uint8_t *copy = NULL;
	size_t len = 0;
	bool fresh = false;
	int rc;

	(void)now;
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)cs->h.seq);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		len = (size_t)sqlite3_column_bytes(st, 0);
		if ((copy = malloc(len ? len : 1)) != NULL)
			memcpy(copy, sqlite3_column_blob(st, 0), len);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_db_error(rc);
	if (copy == NULL)
		return len == 0 ? ARR_EDB : ARR_ENOMEM;
	if ((rc = changeset_decode(copy, len, &other)) < 0) {
		rc = rc == ARR_ENOMEM ? rc : ARR_EDB;
		goto out;
	}
	if ((rc = record(s, cs, other, &fresh)) == 0 && fresh)
		stats->equivocations++;
out:
	changeset_destroy(&other);
	free(copy);
	return rc;
}

/* Decode and check one envelope of a proof: a valid signature of a member (or us). */
static int
evidence_one(struct store *s, const uint8_t *raw, size_t len, struct changeset **cs)
{
	int rc;

	if ((rc = changeset_decode(raw, len, cs)) < 0)
		return rc == ARR_ENOMEM ? rc : ARR_EINVAL;
	if (changeset_verify(*cs) != 0)
		return ARR_EINVAL;
	if (memcmp((*cs)->origin, s->self, ARR_ORIGIN_LEN) != 0 &&
	    (s->member_org == NULL || s->member_org(s->member_ctx, (*cs)->origin) == NULL))
		return ARR_EINVAL;
	return 0;
}

int
store_equiv_evidence(struct store *s, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                     bool *fresh)
{
	struct changeset *x = NULL, *y = NULL;
	int rc;

	*fresh = false;
	if ((rc = evidence_one(s, a, alen, &x)) < 0 || (rc = evidence_one(s, b, blen, &y)) < 0)
		goto out;
	if (memcmp(x->origin, y->origin, ARR_ORIGIN_LEN) != 0 || x->h.seq != y->h.seq ||
	    (alen == blen && memcmp(a, b, alen) == 0)) {
		rc = ARR_EINVAL;
		goto out;
	}
	if ((rc = store_bulk_flush(s)) < 0 || (rc = store_db_begin(s)) < 0)
		goto out;
	if ((rc = record(s, x, y, fresh)) < 0) {
		store_db_rollback(s);
		goto out;
	}
	rc = store_db_commit(s);
out:
	changeset_destroy(&y);
	changeset_destroy(&x);
	return rc;
}

int
store_equiv_list(struct store *s, store_equiv_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(
	         s->db, "SELECT origin, seq, a, b, found_ms FROM _equiv ORDER BY origin", -1, &st,
	         NULL)) != SQLITE_OK)
		return store_db_error(rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_equiv e = {0};

		if (sqlite3_column_bytes(st, 0) != ARR_ORIGIN_LEN)
			continue;
		memcpy(e.origin, sqlite3_column_blob(st, 0), ARR_ORIGIN_LEN);
		e.seq = (uint64_t)sqlite3_column_int64(st, 1);
		e.a = sqlite3_column_blob(st, 2);
		e.alen = (size_t)sqlite3_column_bytes(st, 2);
		e.b = sqlite3_column_blob(st, 3);
		e.blen = (size_t)sqlite3_column_bytes(st, 3);
		e.found_ms = (uint64_t)sqlite3_column_int64(st, 4);
		if ((rc = fn(ctx, &e)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : store_db_error(rc);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Column 0 of (origin, seq) from the log through st: copied to out, or hashed into it. */
static int
log_column(struct store *s, sqlite3_stmt *st, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
           bool hash, uint8_t out[32])
{
	int64_t oid = store_mirror_origin_find(s, origin);
	int rc;

	if (oid == 0)
		return ARR_ENOTFOUND;
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);

		if (hash)
			crypto_generichash(out, 32, p, len, NULL, 0);
		else if (len == 32)
			memcpy(out, p, 32);
		else
			rc = SQLITE_CORRUPT;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ARR_ENOTFOUND;
	return rc == SQLITE_ROW ? 0 : store_db_error(rc);
}

int
store_loghash(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, uint8_t out[32])
{
	int rc;

	/* a hash of a held change set would leave before it is durable (store_hold.c) */
	if ((rc = store_hold_reveal(s, origin, seq)) < 0)
		return rc;
	if (seq == 0) {
		memset(out, 0, 32);
		return 0;
	}
	return log_column(s, s->st[ST_LOG_CHAIN], origin, seq, false, out);
}

int
store_envhash(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, uint8_t out[32])
{
	int rc;

	if ((rc = store_hold_reveal(s, origin, seq)) < 0)
		return rc;
	return log_column(s, s->st[ST_LOG_GET], origin, seq, true, out);
}
