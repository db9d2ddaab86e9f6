/*
 * store_erase.c: what erasure leaves behind in the replica (PROTOCOL.md, "Erasure"):
 * which scopes are gone here (erased, or shredded by this node alone) and which change
 * sets' bodies were redacted, the tables that say so, and envelopes kept header-only
 * for them: a change set logged keeps no body of an erased scope nor a redacted one,
 * and a stub (a part without its body) is accepted only where this node knows why the
 * body is gone. The erasure of a scope and a redaction themselves, and who may issue
 * them, are store_erase_scope.c's; nothing here deletes rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "mpwrite.h"
#include "policy.h"
#include "store_int.h"

static const char erase_sql[] =
    /* scopes gone here: how (STORE_GONE_*), when (wall ms) */
    "CREATE TABLE IF NOT EXISTS _erased(sc INTEGER PRIMARY KEY, how INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL);"
    /* change sets whose data body in scope sc a REDACT dropped (logged here or not yet) */
    "CREATE TABLE IF NOT EXISTS _redacted(sc INTEGER NOT NULL, origin BLOB NOT NULL,"
    " seq INTEGER NOT NULL, PRIMARY KEY(sc, origin, seq)) WITHOUT ROWID;"
    /* the logged ERASE and REDACT parts of each scope, and its data parts that never
       opened (their bodies go with an erasure) */
    "CREATE TABLE IF NOT EXISTS _erase_part(sc INTEGER NOT NULL, log INTEGER NOT NULL,"
    " PRIMARY KEY(sc, log)) WITHOUT ROWID;"
    /* a log entry made header-only keeps its origin's log bytes right (store_quota.c) */
    "CREATE TRIGGER IF NOT EXISTS _log_use_upd AFTER UPDATE OF raw ON _log BEGIN"
    " UPDATE _log_use SET bytes = bytes - length(old.raw) + length(new.raw)"
    " WHERE origin = old.origin; END;";

int
store_erase_open(struct store *s)
{
	struct store_erase *e;
	sqlite3_stmt *st = NULL;

	if ((e = s->erase = calloc(1, sizeof(*e))) == NULL)
		return ARR_ENOMEM;
	if (sqlite3_exec(s->db, erase_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "SELECT how FROM _erased WHERE sc = ?1", -1,
	                       SQLITE_PREPARE_PERSISTENT, &e->state, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db,
	                       "SELECT 1 FROM _redacted WHERE sc = ?1 AND origin = ?2 AND seq = ?3",
	                       -1, SQLITE_PREPARE_PERSISTENT, &e->redacted, NULL) != SQLITE_OK)
		return ARR_EDB;
	/* nothing erased or redacted yet: the apply path need not look */
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT EXISTS(SELECT 1 FROM _erased) OR "
	                       "EXISTS(SELECT 1 FROM _redacted)",
	                       -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	if (sqlite3_step(st) == SQLITE_ROW)
		e->any = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return 0;
}

void
store_erase_close(struct store *s)
{
	if (s->erase == NULL)
		return;
	sqlite3_finalize(s->erase->state);
	sqlite3_finalize(s->erase->redacted);
	free(s->erase->ledger);
	free(s->erase);
	s->erase = NULL;
}

int
store_erase_state(struct store *s, int64_t sc)
{
	sqlite3_stmt *st = s->erase->state;
	int rc, how = 0;

	if (sc == 0 || !s->erase->any)
		return 0;
	sqlite3_bind_int64(st, 1, sc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		how = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? how : store_db_error(rc);
}

/* Is (origin, seq) redacted in sc? 1, 0 or an error. */
static int
is_redacted(struct store *s, int64_t sc, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq)
{
	sqlite3_stmt *st = s->erase->redacted;
	int rc;

	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_blob(st, 2, origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)seq);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/* An ERASE body is kept wherever it goes: it holds no content and says why stubs are. */
static bool
part_is_erase(const struct cs_part *p)
{
	return p->kind == CS_POLICY && p->policy != NULL && p->policy->op == POLICY_ERASE;
}

int
store_erase_drops(struct store *s, const struct changeset *cs, size_t i)
{
	const struct cs_part *p = &cs->parts[i];
	int64_t sc;
	int rc;

	if (!s->erase->any || changeset_scope_is_region(p->scope) || part_is_erase(p))
		return 0;
	if ((rc = store_scope_local(s, p->scope, false, &sc)) < 0)
		return rc == ARR_ENOTFOUND ? 0 : rc;
	if ((rc = store_erase_state(s, sc)) != 0)
		return rc < 0 ? rc : rc == STORE_GONE_ERASED;
	if (p->kind != CS_DATA)
		return 0;
	return is_redacted(s, sc, cs->origin, cs->h.seq);
}

int
store_erase_envelope(const struct changeset *cs, const bool *drop, uint8_t **out, size_t *outlen)
{
	/* the array head, header and signature come first and stay byte for byte */
	size_t head = (size_t)(cs->sig + ARR_SIG_LEN - cs->raw);
	size_t n = head + mpw_array_size(cs->nparts);
	uint8_t *buf, *w;

	for (size_t i = 0; i < cs->nparts; i++)
		n += drop[i] || cs->parts[i].body == NULL ? 1 : mpw_bin_size(cs->parts[i].bodylen);
	if ((buf = malloc(n)) == NULL)
		return ARR_ENOMEM;
	memcpy(buf, cs->raw, head);
	w = mpw_array(buf + head, cs->nparts);
	for (size_t i = 0; i < cs->nparts; i++) {
		const struct cs_part *p = &cs->parts[i];

		w = drop[i] || p->body == NULL ? mpw_nil(w) : mpw_bin(w, p->body, p->bodylen);
	}
	*out = buf;
	*outlen = (size_t)(w - buf);
	return 0;
}

int
store_erase_filter(struct store *s, const struct changeset *cs, uint8_t **out, size_t *outlen)
{
	bool drop[ARR_CS_MAX_PARTS] = {false}, any = false;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (!s->erase->any)
		return 0;
	for (size_t i = 0; i < cs->nparts; i++) {
		if (cs->parts[i].body == NULL)
			continue;
		if ((rc = store_erase_drops(s, cs, i)) < 0)
			return rc;
		drop[i] = rc > 0;
		any |= drop[i];
	}
	if (!any)
		return 0;
	s->erase->stripped++;
	return store_erase_envelope(cs, drop, out, outlen);
}

int
store_erase_stubs_ok(struct store *s, const struct changeset *cs, char *detail, size_t dlen)
{
	for (size_t i = 0; i < cs->nparts; i++) {
		int rc;

		if (cs->parts[i].body != NULL)
			continue;
		if ((rc = store_erase_drops(s, cs, i)) < 0)
			return rc;
		if (rc == 0) {
			/* kept, bounded, in the quarantine: retried once the ERASE is here */
			s->erase->stubs_held++;
			snprintf(detail, dlen,
			         "body of part %zu dropped, and this node knows no erasure of it",
			         i);
			return ARR_ESCOPE;
		}
	}
	return 0;
}

void
store_erase_stats(struct store *s, struct store_erase_stats *out)
{
	const struct store_erase *e = s->erase;
	sqlite3_stmt *st = NULL;

	*out = (struct store_erase_stats){0};
	if (e == NULL)
		return;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM _erased", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		out->gone = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	out->erased = e->erased;
	out->redacted = e->redacted_n;
	out->stripped = e->stripped;
	out->stubs_held = e->stubs_held;
	out->ignored = e->ignored;
}
