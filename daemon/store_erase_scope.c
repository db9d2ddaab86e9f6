/*
 * store_erase_scope.c: ERASE and REDACT applied (PROTOCOL.md, "Erasure"). Who may issue
 * them is a pure function of the change set (and, for a REDACT of others' bodies, the
 * scope's owner, fixed by its id); in the caller's transaction a scope is erased — its
 * keys, every body of every part in it (the header-only stubs stay, so seqs stay
 * contiguous), its rows, history, search entries, policy, sealed, denied and
 * newer-schema records, its pending and quarantined copies — or the named bodies are
 * redacted and the rows they wrote merged again without them. It keeps the record of
 * what is gone (store_erase.c, the ledger) and logs no content.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrerr.h"
#include "policy.h"
#include "store_int.h"

/*
 * The records of a scope by its local id (?1) beside its keys, sealed list and policy
 * (store_scope.c drops those): its denied list first (both a shred and an erasure drop
 * it), then what points to its logged bodies (an erasure only: a shredding node keeps
 * relaying, and may meet the ERASE later).
 */
static const char *const by_scope[] = {
    "DELETE FROM _denied WHERE sc = ?1",     "DELETE FROM _scope_log WHERE sc = ?1",
    "DELETE FROM _unknown WHERE sc = ?1",    "DELETE FROM _redacted WHERE sc = ?1",
    "DELETE FROM _erase_part WHERE sc = ?1",
};
#define BY_SCOPE_ALL   (sizeof(by_scope) / sizeof(by_scope[0]))
#define BY_SCOPE_KEYED 1 /* the first; the rest still point an erasure to the bodies */

/* The log entries with a part in scope ?1 that this node recorded. */
#define SCOPE_LOG_IDS                                                                              \
	"SELECT log FROM _scope_log WHERE sc = ?1 UNION SELECT log FROM _policy WHERE sc = ?1 "    \
	"UNION SELECT log FROM _sealed WHERE sc = ?1 UNION SELECT log FROM _unknown WHERE sc = "   \
	"?1 "                                                                                      \
	"UNION SELECT log FROM _denied WHERE sc = ?1 UNION SELECT log FROM _erase_part WHERE sc "  \
	"= ?1"

/* Run sql with ?1 = a and, when it has one, ?2 = the blob b of n bytes. */
static int
run(struct store *s, const char *sql, int64_t a, const void *b, int n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int64(st, 1, a);
	if (b != NULL)
		sqlite3_bind_blob(st, 2, b, n, SQLITE_STATIC);
	rc = store_db_run(st);
	sqlite3_finalize(st);
	return rc;
}

/* Drop sc's keys and the first n of by_scope; with more than the keyed ones, its sealed
 * list and policy too. */
static int
drop_records(struct store *s, int64_t sc, size_t n)
{
	int rc = store_scope_drop_keys(s, sc);

	if (rc == 0 && n > BY_SCOPE_KEYED && (rc = store_scope_drop_sealed(s, sc)) == 0)
		rc = store_scope_drop_policy(s, sc);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = run(s, by_scope[i], sc, NULL, 0);
	return rc;
}

/*
 * The int64 column 0 of every row of sql onto a malloc'd *v, *n of them; ?1 = the blob b
 * of blen bytes when b is set, else the integer a.
 */
static int
ids(struct store *s, const char *sql, int64_t a, const void *b, int blen, int64_t **v, size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc;

	*v = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	if (b != NULL)
		sqlite3_bind_blob(st, 1, b, blen, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, a);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			int64_t *q = realloc(*v, (cap = cap ? cap * 2 : 16) * sizeof(*q));

			if (q == NULL) {
				rc = ARR_ENOMEM;
				goto out;
			}
			*v = q;
		}
		(*v)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	rc = rc == SQLITE_DONE ? 0 : store_db_error(rc);
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * The bodies of scope in envelope raw to drop (every part of the scope but an ERASE, or
 * with data_only its data parts): a new envelope in *out, NULL when none is left to drop
 * or raw does not decode (it was refused: nothing of it is kept).
 */
static int
strip(const uint8_t *raw, size_t len, const uint8_t scope[ARR_SCOPE_LEN], bool data_only,
      uint8_t **out, size_t *outlen)
{
	bool drop[ARR_CS_MAX_PARTS] = {false}, any = false;
	struct changeset *cs = NULL;
	int rc;

	*out = NULL;
	if ((rc = changeset_decode(raw, len, &cs)) < 0)
		return rc == ARR_ENOMEM ? rc : 0;
	for (size_t i = 0; i < cs->nparts; i++) {
		const struct cs_part *p = &cs->parts[i];

		drop[i] = p->body != NULL && memcmp(p->scope, scope, ARR_SCOPE_LEN) == 0 &&
		          (data_only ? p->kind == CS_DATA
		                     : !(p->policy != NULL && p->policy->op == POLICY_ERASE));
		any |= drop[i];
	}
	rc = any ? store_erase_envelope(cs, drop, out, outlen) : 0;
	changeset_destroy(&cs);
	return rc;
}

/* Drop the bodies of scope from the blob `col` of row id of table tbl (_log, _pending). */
static int
strip_row(struct store *s, const char *tbl, int64_t id, const uint8_t scope[ARR_SCOPE_LEN],
          bool data_only)
{
	sqlite3_stmt *st = NULL;
	uint8_t *kept = NULL;
	size_t keptlen = 0;
	char sql[96];
	int rc;

	snprintf(sql, sizeof(sql), "SELECT raw FROM %s WHERE id = ?1", tbl);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rc = strip(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), scope,
		           data_only, &kept, &keptlen);
	else
		rc = rc == SQLITE_DONE ? 0 : store_db_error(rc);
	sqlite3_finalize(st);
	if (rc < 0 || kept == NULL)
		goto out;
	snprintf(sql, sizeof(sql), "UPDATE %s SET raw = ?2 WHERE id = ?1", tbl);
	rc = run(s, sql, id, kept, (int)keptlen);
	/* the policy bodies of other scopes in the entry moved: their rows follow them */
	if (rc == 0 && strcmp(tbl, "_log") == 0)
		rc = store_policy_repoint(s, id, kept, keptlen);
out:
	free(kept);
	return rc;
}

/* Every logged and pending body of scope dropped; quarantined copies holding one removed. */
static int
strip_scope(struct store *s, int64_t sc, const uint8_t scope[ARR_SCOPE_LEN])
{
	int64_t *v = NULL;
	size_t n = 0;
	int rc;

	if ((rc = ids(s, SCOPE_LOG_IDS, sc, NULL, 0, &v, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = strip_row(s, "_log", v[i], scope, false);
	free(v);
	/* pending and quarantine are bounded: a scan for the scope id's bytes is cheap */
	if (rc < 0 || (rc = ids(s, "SELECT id FROM _pending WHERE instr(raw, ?1) > 0", 0, scope,
	                        ARR_SCOPE_LEN, &v, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = strip_row(s, "_pending", v[i], scope, false);
	free(v);
	if (rc == 0)
		rc = run(s, "DELETE FROM _quarantine WHERE instr(raw, ?2) > 0 AND ?1 = ?1", 0,
		         scope, ARR_SCOPE_LEN);
	return rc;
}

/* FTS5 keeps deleted terms in its segments until they merge: merge them now. */
static int
fts_optimize(struct store *s)
{
	return sqlite3_exec(s->db, "INSERT INTO _search(_search) VALUES('optimize')", NULL, NULL,
	                    NULL) == SQLITE_OK
	           ? 0
	           : ARR_EDB;
}

/* Every row of scope sc, its history entries and its search documents, removed. */
static int
drop_rows(struct store *s, int64_t sc)
{
	int rc = 0;

	for (size_t ti = 0; ti < s->ntables && rc == 0; ti++) {
		const char *t = s->tables[ti].t->name;
		char *sql;

		if (strcmp(t, "arrangement") == 0 &&
		    (rc = run(s,
		              "DELETE FROM _search WHERE rowid IN "
		              "(SELECT _rid FROM arrangement WHERE _sc = ?1)",
		              sc, NULL, 0)) < 0)
			break;
		if (strcmp(t, "arrangement_party") == 0 &&
		    (rc = run(s,
		              "DELETE FROM _search_party_of WHERE party IN "
		              "(SELECT _rid FROM arrangement_party WHERE _sc = ?1)",
		              sc, NULL, 0)) < 0)
			break;
		if ((sql = sqlite3_mprintf("DELETE FROM _rowlog WHERE tbl = %d AND rid IN "
		                           "(SELECT _rid FROM \"%w\" WHERE _sc = ?1)",
		                           (int)ti, t)) == NULL)
			return ARR_ENOMEM;
		rc = run(s, sql, sc, NULL, 0);
		sqlite3_free(sql);
		if (rc < 0)
			break;
		if ((sql = sqlite3_mprintf("DELETE FROM \"%w\" WHERE _sc = ?1", t)) == NULL)
			return ARR_ENOMEM;
		rc = run(s, sql, sc, NULL, 0);
		sqlite3_free(sql);
	}
	return rc == 0 ? fts_optimize(s) : rc;
}

/* Scope sc gone here (how), recorded, and forgotten by the owner's repairs. */
static int
mark_gone(struct store *s, int64_t sc, int how)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db,
	                       "INSERT INTO _erased(sc, how, at_ms) VALUES(?1, ?2, ?3)"
	                       " ON CONFLICT(sc) DO UPDATE SET how = max(how, excluded.how)",
	                       -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_int(st, 2, how);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL) * 1000);
	rc = store_db_run(st);
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	s->erase->any = true;
	for (size_t i = 0; i < s->ndirty; i++)
		if (s->dirty[i] == sc)
			s->dirty[i--] = s->dirty[--s->ndirty];
	store_verdict_forget(s);
	return 0;
}

int
store_erase_scope(struct store *s, int64_t sc, const uint8_t scope[ARR_SCOPE_LEN])
{
	int rc;

	if ((rc = store_erase_state(s, sc)) < 0 || rc == STORE_GONE_ERASED)
		return rc < 0 ? rc : 0;
	/* the ledger first: a restored copy of the replica meets it (store_erase_ledger.c) */
	if ((rc = store_erase_ledger_add(s, scope, STORE_GONE_ERASED)) < 0 ||
	    (rc = strip_scope(s, sc, scope)) < 0 || (rc = drop_rows(s, sc)) < 0)
		return rc;
	if ((rc = drop_records(s, sc, BY_SCOPE_ALL)) < 0 ||
	    (rc = mark_gone(s, sc, STORE_GONE_ERASED)) < 0)
		return rc;
#ifdef ARR_TEST_SCHEMA_NEXT
	/* the test seam of it_erase_kill (arrangd_next only): die before the commit */
	if (getenv("ARRANGD_TEST_ERASE_KILL") != NULL && !s->erase->replaying)
		raise(SIGKILL);
#endif
	s->erase->erased++;
	s->erase->ckpt_due = true;
	return 0;
}

int
store_shred_scope(struct store *s, int64_t sc, const uint8_t scope[ARR_SCOPE_LEN])
{
	int rc;

	if ((rc = store_erase_state(s, sc)) != 0)
		return rc < 0 ? rc : 0;
	/* the keys and what they opened go; the logged ciphertext stays and is relayed */
	if ((rc = store_erase_ledger_add(s, scope, STORE_GONE_SHREDDED)) < 0 ||
	    (rc = drop_rows(s, sc)) < 0)
		return rc;
	if ((rc = drop_records(s, sc, BY_SCOPE_KEYED)) < 0 ||
	    (rc = mark_gone(s, sc, STORE_GONE_SHREDDED)) < 0)
		return rc;
	s->erase->shredded++;
	s->erase->ckpt_due = true;
	return 0;
}

/*
 * Does ERASE part i of cs come from its scope's owner? It names the CREATE of its scope
 * (grants[0]: origin and seq, cut: its part index), whose id is the hash of exactly those:
 * so the ERASE proves by itself that its origin opened the scope, on any node, in any
 * order, even one that holds the CREATE only as a stub.
 */
static bool
erase_by_owner(const struct changeset *cs, size_t i)
{
	const struct cs_part *p = &cs->parts[i];
	const struct cs_policy *q = p->policy;
	uint8_t id[ARR_SCOPE_LEN];

	if (q == NULL || q->op != POLICY_ERASE || q->ngrants != 1 ||
	    memcmp(q->grants[0].origin, cs->origin, ARR_ORIGIN_LEN) != 0 ||
	    q->grants[0].seq >= cs->h.seq)
		return false;
	changeset_scope_id(cs->origin, q->grants[0].seq, (size_t)q->cut, id);
	return memcmp(id, p->scope, ARR_SCOPE_LEN) == 0;
}

/* May REDACT part i of cs (scope sc) drop its bodies: its author's own, or by the owner? */
static bool
redact_allowed(struct store *s, const struct changeset *cs, size_t i, int64_t sc)
{
	const struct cs_policy *q = cs->parts[i].policy;
	sqlite3_stmt *st = s->st[ST_POLICY_OWNS];
	bool own = true;

	for (size_t k = 0; k < q->ngrants && own; k++)
		own = memcmp(q->grants[k].origin, cs->origin, ARR_ORIGIN_LEN) == 0;
	if (own)
		return true;
	/* the owner's CREATE is an earlier seq of the same origin: applied before this */
	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_blob(st, 2, cs->origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
	own = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return own;
}

/* Drop the data body of scope sc in log entry log_id, and its sealed record. */
static int
redact_strip(struct store *s, int64_t sc, int64_t log_id)
{
	uint8_t scope[ARR_SCOPE_LEN];
	char *sql;
	int rc;

	if ((rc = store_scope_bytes(s, sc, scope)) < 0 ||
	    (rc = strip_row(s, "_log", log_id, scope, true)) < 0)
		return rc;
	if ((sql = sqlite3_mprintf("DELETE FROM _sealed WHERE log = ?1 AND sc = %lld",
	                           (long long)sc)) == NULL)
		return ARR_ENOMEM;
	if ((rc = run(s, sql, log_id, NULL, 0)) == 0)
		store_scope_tally_add(s, 0, 0, -sqlite3_changes(s->db));
	sqlite3_free(sql);
	return rc;
}

/* The log entry of (oid, seq): 0, ARR_ENOTFOUND or an error. */
static int
log_id_of(struct store *s, int64_t oid, uint64_t seq, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT id FROM _log WHERE origin = ?1 AND seq = ?2", -1, &st,
	                       NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ARR_ENOTFOUND : store_db_error(rc);
}

/* REDACT part i of cs in scope sc: the named bodies dropped, their rows merged again. */
static int
redact(struct store *s, const struct changeset *cs, size_t i, int64_t sc)
{
	const struct cs_policy *q = cs->parts[i].policy;
	sqlite3_stmt *st = NULL;
	int64_t *logs = NULL;
	size_t n = 0;
	int rc = 0;

	if ((rc = store_erase_state(s, sc)) != 0)
		return rc < 0 ? rc : 0;
	if (!redact_allowed(s, cs, i, sc)) {
		s->erase->ignored++;
		return 0;
	}
	if ((logs = calloc(q->ngrants, sizeof(*logs))) == NULL)
		return ARR_ENOMEM;
	if (sqlite3_prepare_v2(
	        s->db, "INSERT OR IGNORE INTO _redacted(sc, origin, seq) VALUES(?1, ?2, ?3)", -1,
	        &st, NULL) != SQLITE_OK) {
		rc = ARR_EDB;
		goto out;
	}
	for (size_t k = 0; k < q->ngrants && rc == 0; k++) {
		int64_t oid = store_mirror_origin_find(s, q->grants[k].origin);

		sqlite3_bind_int64(st, 1, sc);
		sqlite3_bind_blob(st, 2, q->grants[k].origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)q->grants[k].seq);
		if ((rc = store_db_run(st)) < 0 || oid <= 0)
			continue;
		rc = log_id_of(s, oid, q->grants[k].seq, &logs[n]);
		if (rc == 0)
			n++;
		else if (rc == ARR_ENOTFOUND)
			rc = 0; /* not logged yet: stripped when it comes (store_erase_filter) */
	}
	s->erase->any = true;
	s->erase->redacted_n++;
	if (rc == 0)
		rc = store_verdict_redo_without(s, sc, logs, n, redact_strip);
	if (rc == 0 && n > 0 && (rc = fts_optimize(s)) == 0)
		s->erase->ckpt_due = true;
out:
	sqlite3_finalize(st);
	free(logs);
	return rc;
}

int
store_erase_note(struct store *s, int64_t sc, int64_t log_id)
{
	char *sql;
	int rc;

	if ((sql = sqlite3_mprintf("INSERT OR IGNORE INTO _erase_part(sc, log) VALUES(%lld, ?1)",
	                           (long long)sc)) == NULL)
		return ARR_ENOMEM;
	rc = run(s, sql, log_id, NULL, 0);
	sqlite3_free(sql);
	return rc;
}

int
store_erase_policy(struct store *s, const struct changeset *cs, size_t i, int64_t sc,
                   int64_t log_id)
{
	const struct cs_policy *q = cs->parts[i].policy;
	int rc;

	/* recorded, so that an erasure finds its body (a REDACT's names change sets) */
	if ((rc = store_erase_note(s, sc, log_id)) < 0)
		return rc;

	if (q->op == POLICY_REDACT)
		return redact(s, cs, i, sc);
	if (!erase_by_owner(cs, i)) {
		s->erase->ignored++; /* logged and relayed, but means nothing */
		return 0;
	}
	return store_erase_scope(s, sc, cs->parts[i].scope);
}

int
store_erase_received(struct store *s, const struct changeset *cs)
{
	int64_t sc;
	int rc;

	for (size_t i = 0; i < cs->nparts; i++) {
		if (!erase_by_owner(cs, i))
			continue;
		if ((rc = store_scope_local(s, cs->parts[i].scope, true, &sc)) < 0 ||
		    (rc = store_erase_scope(s, sc, cs->parts[i].scope)) < 0)
			return rc;
	}
	return 0;
}

void
store_erase_settle(struct store *s)
{
	int rc = SQLITE_OK;

	if (s->erase == NULL || !s->erase->ckpt_due || s->bulk_tx || s->slice.cs != NULL ||
	    !sqlite3_get_autocommit(s->db))
		return;
	/* what the erasure overwrote is still in WAL frames: copy back, then cut the WAL */
	for (int tries = 0; tries < 3; tries++)
		if ((rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
		                                    NULL)) == SQLITE_OK)
			break;
	if (rc == SQLITE_OK)
		s->erase->ckpt_due = false;
}
