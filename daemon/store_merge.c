/*
 * store_merge.c: the last-writer-wins merge (PROTOCOL.md, "Merge rules"): the ops of one
 * change set into the domain tables and the row history (a row's first change set in
 * the row's _log, the later ones in _rowlog), per cell on (hlc, origin, seq). Nothing
 * else: it neither logs nor counts change sets, nor decides
 * whether one may be applied (store_apply.c). During a local write with the domain
 * rules, it tells them of each row it inserts as new or is about to change
 * (store_rules_touch), so that they need not read new rows back. In a sliced apply it
 * stops between rows at the slice's deadline and says where (store_applyjob.c).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "bigend.h"
#include "monoclock.h"
#include "rowid.h"
#include "store_int.h"

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
			rc = store_db_bind_value(st, idx, &vals[c]);
		else
			rc = sqlite3_bind_null(st, idx);
		if (rc != SQLITE_OK)
			return store_db_error(rc);
	}
	return 0;
}

/*
 * Insert a row that may not exist yet, with the columns in mask, its clock record and
 * log_id as the first entry of its history. Returns 1 and its rowid when it was
 * inserted, 0 when a row with this id exists.
 */
static int
row_insert(struct store *s, const struct store_table *tb, const char *id, int64_t sc, uint64_t mask,
           const struct value *vals, const uint8_t *rec, size_t reclen, int64_t log_id,
           int64_t *rid)
{
	sqlite3_stmt *st = tb->insert;
	int rc;

	sqlite3_bind_text(st, 1, id, ARR_ROWID_STRLEN, SQLITE_STATIC);
	if ((rc = bind_row(st, tb, mask, vals)) == 0) {
		sqlite3_bind_blob(st, (int)tb->t->ncolumns + 2, rec, (int)reclen, SQLITE_STATIC);
		sqlite3_bind_int64(st, (int)tb->t->ncolumns + 3, sc);
		sqlite3_bind_int64(st, (int)tb->t->ncolumns + 4, log_id);
		rc = store_db_run(st);
	}
	/*
	 * the bindings are left as they are: every parameter is bound again before the
	 * statement is next run, and nothing reads them in between (clearing them was a
	 * fiftieth of an import's merge)
	 */
	if (rc < 0)
		return rc;
	if (sqlite3_changes(s->db) == 0)
		return 0;
	*rid = sqlite3_last_insert_rowid(s->db);
	return 1;
}

/*
 * The rowid, decoded clocks (into s->clocks) and first history entry (*first, if not NULL:
 * the log id that inserted it, 0 if none) of a row of scope sc, ARR_ENOTFOUND if none.
 */
int
store_merge_row_find(struct store *s, const struct store_table *tb, const char *id, int64_t sc,
                     int64_t *rid, int64_t *first)
{
	sqlite3_stmt *st = tb->find;
	int rc;

	sqlite3_bind_text(st, 1, id, ARR_ROWID_STRLEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, sc);
	rc = sqlite3_step(st);
	if (first != NULL)
		*first = rc == SQLITE_ROW ? sqlite3_column_int64(st, 2) : 0;
	if (rc == SQLITE_ROW) {
		*rid = sqlite3_column_int64(st, 0);
		rc = store_clock_decode(s, sqlite3_column_blob(st, 1),
		                        (size_t)sqlite3_column_bytes(st, 1), s->clocks,
		                        tb->t->ncolumns);
	} else {
		*rid = 0;
		rc = rc == SQLITE_DONE ? ARR_ENOTFOUND : store_db_error(rc);
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
		rc = store_db_run(st);
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
		int ci = changeset_op_col(tb->t, &ops[k]); /* by its number (changeset.h) */
		struct cellkey old;

		assert(ci >= 0); /* validated before */
		old = store_clock_get(s->clocks, (size_t)ci);
		if (key_wins(s, key, &old)) {
			store_clock_put(s->clocks, (size_t)ci, key);
			mask |= UINT64_C(1) << ci;
			s->scratch[ci] = ops[k].value;
		}
	}
	return mask;
}

/*
 * merge_row() on a row nobody wrote (its clocks all zero): every op wins its cell, since
 * a cell nobody wrote is lost to any key and a later op of the change set wins over an
 * earlier one with the same key. So the mask is every column the ops name, each taking
 * its last op's value (into s->scratch), and the clock record (into s->clkrec, *len) is
 * the one group of key over that mask: what store_clock_encode() makes of those clocks,
 * without writing them and reading them back per op (the insert of each new row of a
 * catch-up or an import comes here).
 */
static uint64_t
merge_fresh(struct store *s, const struct store_table *tb, const struct cs_op *ops, size_t n,
            const struct cellkey *key, size_t *len)
{
	uint64_t mask = 0;

	for (size_t k = 0; k < n; k++) {
		int ci = changeset_op_col(tb->t, &ops[k]);

		assert(ci >= 0); /* validated before */
		mask |= UINT64_C(1) << ci;
		s->scratch[ci] = ops[k].value;
	}
	*len = 0;
	if (mask != 0 && key->oid != 0) { /* a key of origin id 0 is no group (encode) */
		store_clock_put(s->clkrec, 0, key);
		be_put(s->clkrec + CLOCK_LEN, mask, 8);
		*len = CLOCK_GROUP_LEN;
	}
	return mask;
}

/*
 * History entries (one per row and change set) of one log id, written in batches: a
 * statement per row cost a catch-up as much as a third of its row inserts. Flushed
 * before the merge of a part returns, so _rowlog is complete whenever anything reads it.
 * The change set that inserts a row has no entry here: it is the row's _log.
 */
#define ROWLOG_BATCH 4

struct rowlog_batch {
	int64_t log_id;
	size_t n;
	struct {
		int ti;
		int64_t rid;
	} e[ROWLOG_BATCH];
};

/* Write the entries of b, in statements of four, two and one, and empty it. */
static int
rowlog_flush(struct store *s, struct rowlog_batch *b)
{
	size_t at = 0;
	int rc = 0;

	while (at < b->n && rc == 0) {
		size_t k = b->n - at >= 4 ? 4 : b->n - at >= 2 ? 2 : 1;
		sqlite3_stmt *st = s->st[k == 4   ? ST_ROWLOG_INS4
		                         : k == 2 ? ST_ROWLOG_INS2
		                                  : ST_ROWLOG_INS];

		if (k == 1) {
			sqlite3_bind_int(st, 1, b->e[at].ti);
			sqlite3_bind_int64(st, 2, b->e[at].rid);
			sqlite3_bind_int64(st, 3, b->log_id);
		} else {
			sqlite3_bind_int64(st, 1, b->log_id);
			for (size_t i = 0; i < k; i++) {
				sqlite3_bind_int(st, (int)(2 * i + 2), b->e[at + i].ti);
				sqlite3_bind_int64(st, (int)(2 * i + 3), b->e[at + i].rid);
			}
		}
		rc = store_db_run(st);
		at += k;
	}
	b->n = 0;
	return rc;
}

/* Add the history entry of row rid of table ti to b, writing b when it is full. */
static int
rowlog_add(struct store *s, struct rowlog_batch *b, int ti, int64_t rid)
{
	b->e[b->n].ti = ti;
	b->e[b->n].rid = rid;
	return ++b->n == ROWLOG_BATCH ? rowlog_flush(s, b) : 0;
}

/*
 * A denied change set in the history of the rows it named that exist (its ops merge
 * nothing): so a row's history shows who tried to write it, flagged as not authorised.
 */
static int
denied_history(struct store *s, const struct cs_op *ops, size_t nops, int64_t log_id, int64_t sc)
{
	struct rowlog_batch b = {.log_id = log_id};
	int rc = 0;

	for (size_t i = 0; i < nops && rc == 0; i++) {
		int ti = changeset_op_table(&ops[i]) != NULL ? ops[i].tno : -1;
		char id[ARR_ROWID_STRLEN + 1];
		int64_t rid, first;

		if (ti < 0 || (i > 0 && memcmp(ops[i].row, ops[i - 1].row, ARR_ROWID_LEN) == 0 &&
		               ops[i].tno == ops[i - 1].tno))
			continue;
		rowid_format(ops[i].row, id);
		if ((rc = store_merge_row_find(s, &s->tables[ti], id, sc, &rid, &first)) ==
		    ARR_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc == 0 && first != log_id)
			rc = rowlog_add(s, &b, ti, rid);
	}
	return rc < 0 ? rc : rowlog_flush(s, &b);
}

/*
 * Merge the ops of a change set whose key is (hlc, oid, seq) into the domain tables, as
 * rows of scope sc (a cell is (scope, table, row id, column): the same id in two scopes
 * names two rows).
 * Consecutive ops on one row are merged together. A row is first inserted as if new
 * (every op wins a cell nobody wrote), with this change set as the first entry of its
 * history, which is one statement for the rows of a catch-up or an import; if the id
 * exists, its clocks are read, merged and the row updated. Every op, winning or not,
 * puts the row in its history (one entry per row and change set: in _rowlog unless it
 * is the row's _log). Ops of a newer schema that this one lacks are left out and kept
 * (store_unknown.c).
 */
static int
merge_ops(struct store *s, const struct cs_op *ops, size_t nops, size_t from,
          const struct cellkey *kp, int64_t log_id, int64_t sc)
{
	struct rowlog_batch b = {.log_id = log_id};
	struct cellkey key = *kp;
	size_t i = from; /* 0 unless a parked merge resumes (store_applyjob.c) */
	int rc;

	while (i < nops) {
		const struct cs_op *first = &ops[i];
		const struct store_table *tb;
		char id[ARR_ROWID_STRLEN + 1];
		int64_t rid = 0, made_by = 0;
		uint64_t mask;
		size_t j, ncols, len;
		bool inserted;
		/* the table by its number (changeset.h), the domain tables in schema order */
		int ti = changeset_op_table(first) != NULL ? first->tno : -1;

		assert(ti >= 0); /* validated before */
		tb = &s->tables[ti];
		ncols = tb->t->ncolumns;
		for (j = i + 1; j < nops; j++)
			if (memcmp(ops[j].row, first->row, ARR_ROWID_LEN) != 0 ||
			    ops[j].tno != first->tno)
				break;
		rowid_format(first->row, id);

		if (!s->merge_general) {
			mask = merge_fresh(s, tb, first, j - i, &key, &len);
		} else {
			memset(s->clocks, 0, ncols * CLOCK_LEN);
			mask = merge_row(s, tb, first, j - i, &key);
			len = store_clock_encode(s->clocks, ncols, s->clkrec);
		}
		if ((rc = row_insert(s, tb, id, sc, mask, s->scratch, s->clkrec, len, log_id,
		                     &rid)) < 0)
			return rc;
		inserted = rc == 1;
		if (s->rules_memo != NULL &&
		    (rc = store_rules_touch(s, ti, first->row, id, inserted)) < 0)
			return rc;
		if (!inserted) {
			/* the insert just found it: it cannot be missing */
			if ((rc = store_merge_row_find(s, tb, id, sc, &rid, &made_by)) < 0)
				return rc == ARR_ENOTFOUND ? ARR_EDB : rc;
			if ((mask = merge_row(s, tb, first, j - i, &key)) != 0) {
				len = store_clock_encode(s->clocks, ncols, s->clkrec);
				if ((rc = row_update(tb, rid, mask, s->scratch, s->clkrec, len)) <
				    0)
					return rc;
			}
		}
		if (!inserted && made_by != log_id && (rc = rowlog_add(s, &b, ti, rid)) < 0)
			return rc;
		i = j;
		/*
		 * a sliced apply's deadline, checked per row: the rest is merged later, and
		 * after the last row the commit is left to the next call too
		 */
		if (s->slice.until_ms != 0 && mono_ms() >= s->slice.until_ms) {
			if ((rc = rowlog_flush(s, &b)) < 0)
				return rc;
			s->slice.ops = ops;
			s->slice.nops = nops;
			s->slice.at = i;
			s->slice.log_id = log_id;
			s->slice.sc = sc;
			return STORE_MERGE_MORE;
		}
	}
	return rowlog_flush(s, &b);
}

int
store_merge_part(struct store *s, const struct changeset *cs, const struct cs_op *ops, size_t nops,
                 int64_t oid, int64_t log_id, int64_t sc)
{
	struct cellkey key = {cs->h.hlc, (uint32_t)oid, cs->h.seq};
	struct store_verdict_hdr h = {cs->origin, cs->h.seq, cs->h.author_org,
	                              cs->h.schema_version};
	struct cs_op *known = NULL;
	size_t n;
	int rc;

	/* write authorisation (store_verdict.c): a denied part's ops are masked */
	if ((rc = store_verdict_admit(s, &h, oid, log_id, sc, ops, nops)) != 0)
		return rc < 0 ? rc : denied_history(s, ops, nops, log_id, sc);
	/*
	 * ops of this schema or an older one name only what this schema has (their check,
	 * store_unknown_check, refused the rest): only a newer one's are split
	 */
	n = nops;
	if (cs->h.schema_version > ARR_SCHEMA_VERSION &&
	    (rc = store_unknown_split(s, ops, nops, log_id, sc, &known, &n)) < 0)
		return rc;
	rc = merge_ops(s, known != NULL ? known : ops, n, 0, &key, log_id, sc);
	if (rc == STORE_MERGE_MORE)
		s->slice.known = known; /* the ops it stopped in (store_merge_resume) */
	else
		free(known);
	return rc;
}

int
store_merge_resume(struct store *s, const struct changeset *cs, int64_t oid)
{
	struct store_slice *j = &s->slice;
	struct cellkey key = {cs->h.hlc, (uint32_t)oid, cs->h.seq};
	int rc;

	assert(j->ops != NULL);
	if ((rc = merge_ops(s, j->ops, j->nops, j->at, &key, j->log_id, j->sc)) == STORE_MERGE_MORE)
		return rc;
	free(j->known);
	j->known = NULL;
	j->ops = NULL;
	return rc;
}

int
store_merge_row_any(struct store *s, const struct store_table *tb, const char *id, int64_t *rid)
{
	sqlite3_stmt *st = NULL;
	char *sql;
	int rc;

	*rid = 0;
	if ((sql = sqlite3_mprintf("SELECT _rid FROM \"%w\" WHERE id = ?1 ORDER BY _sc LIMIT 1",
	                           tb->t->name)) == NULL)
		return ARR_ENOMEM;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*rid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ARR_ENOTFOUND : store_db_error(rc);
}
