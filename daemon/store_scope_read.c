/*
 * store_scope_read.c: what this node can tell about scopes (arrangctl scope show,
 * status, metrics): readers and roles of one scope, its key epochs, and counts over all
 * scopes. Reads only; never a key's bytes.
 *
 * The counts are kept, not counted per `status`: a count over every scope is a scan of
 * three tables (tens of milliseconds of the loop at a million scopes, for any client
 * that asks). They are counted once at open; then each insert and delete of a scope, a
 * scope's first or last key and a sealed body adds to the open transaction's share,
 * which its commit keeps and its rollback drops (the store's commit and rollback hooks,
 * store_digest_inc.c).
 */
#include <string.h>

#include "arrerr.h"
#include "policy.h"
#include "store_int.h"

static int
count(struct store *s, const char *sql, int64_t sc, uint64_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, sc);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_db_error(rc);
}

/* Each reader of pol to fn: the owner first, then each active grant's member. */
static int
emit_readers(const struct store_policy *pol, store_scope_reader_fn fn, void *ctx)
{
	int rc;

	if (pol->has_owner && (rc = fn(ctx, pol->owner, POLICY_ROLES_ALL, true)) != 0)
		return rc;
	for (size_t i = 0; i < pol->nops; i++) {
		const struct store_policy_op *g = &pol->ops[i];
		uint32_t roles = 0;
		bool first = true;

		if (g->op != POLICY_GRANT || !g->valid || store_policy_is_owner(pol, g->member))
			continue;
		/* one line per member: its roles over all its active grants */
		for (size_t j = 0; j < pol->nops; j++) {
			const struct store_policy_op *h = &pol->ops[j];

			if (h->op != POLICY_GRANT || !h->valid ||
			    memcmp(h->member, g->member, ARR_ORIGIN_LEN) != 0)
				continue;
			roles |= h->roles;
			if (j < i)
				first = false;
		}
		if (first && (rc = fn(ctx, g->member, roles, false)) != 0)
			return rc;
	}
	return 0;
}

int
store_scope_info(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], struct store_scope_info *info,
                 store_scope_reader_fn fn, void *ctx)
{
	struct store_policy pol;
	uint64_t n;
	int64_t sc;
	int rc;

	memset(info, 0, sizeof(*info));
	if (changeset_scope_is_region(scope))
		return ARR_EINVAL;
	if ((rc = store_scope_local(s, scope, false, &sc)) < 0 ||
	    (rc = store_policy_load(s, sc, &pol)) < 0)
		return rc;
	info->has_owner = pol.has_owner;
	memcpy(info->owner, pol.owner, ARR_ORIGIN_LEN);
	memcpy(info->owner_org, pol.owner_org, sizeof(info->owner_org));
	info->write_key = pol.write_key;
	info->heads = pol.nheads;
	info->policy = pol.nops;
	if ((rc = count(s, "SELECT count(*) FROM _skey WHERE sc = ?1", sc, &n)) < 0)
		goto out;
	info->keys_held = (size_t)n;
	if ((rc = count(s, "SELECT count(*) FROM _sealed WHERE sc = ?1", sc, &n)) < 0)
		goto out;
	info->sealed = (size_t)n;
	if (pol.write_key != 0) {
		uint8_t key[ARR_SKEY_LEN];

		info->readable = store_scope_key(s, sc, pol.write_key, key) == 0;
		memset(key, 0, sizeof(key));
	}
	if (fn != NULL)
		rc = emit_readers(&pol, fn, ctx);
out:
	store_policy_free(&pol);
	return rc;
}

int
store_scope_tally_load(struct store *s)
{
	uint64_t n[3];
	int rc;

	if ((rc = count(s, "SELECT count(*) FROM _scope", 0, &n[0])) < 0 ||
	    (rc = count(s, "SELECT count(DISTINCT sc) FROM _skey", 0, &n[1])) < 0 ||
	    (rc = count(s, "SELECT count(*) FROM _sealed", 0, &n[2])) < 0)
		return rc;
	s->tally = (struct store_scope_tally){(int64_t)n[0], (int64_t)n[1], (int64_t)n[2]};
	s->tally_tx = (struct store_scope_tally){0};
	return 0;
}

void
store_scope_tally_add(struct store *s, int64_t scopes, int64_t readable, int64_t sealed)
{
	s->tally_tx.scopes += scopes;
	s->tally_tx.readable += readable;
	s->tally_tx.sealed += sealed;
}

void
store_scope_tally_end(struct store *s, bool committed)
{
	if (committed) {
		s->tally.scopes += s->tally_tx.scopes;
		s->tally.readable += s->tally_tx.readable;
		s->tally.sealed += s->tally_tx.sealed;
	}
	s->tally_tx = (struct store_scope_tally){0};
}

/* n, never below 0 (a count a bug made negative must not read as 2^64 - 1) */
static uint64_t
tally_n(int64_t committed, int64_t tx)
{
	return committed + tx > 0 ? (uint64_t)(committed + tx) : 0;
}

int
store_scope_stats(struct store *s, struct store_scope_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->masked = s->scope_masked;
	/* the open transaction's rows count, as a count in it would see them */
	st->scopes = tally_n(s->tally.scopes, s->tally_tx.scopes);
	st->readable = tally_n(s->tally.readable, s->tally_tx.readable);
	st->sealed = tally_n(s->tally.sealed, s->tally_tx.sealed);
	st->opaque = st->scopes > st->readable ? st->scopes - st->readable : 0;
	return 0;
}

int
store_scope_row(struct store *s, const char *table, const char *id, uint8_t scope[ARR_SCOPE_LEN],
                int64_t *sc)
{
	int ti = store_db_table_index(table);
	int64_t local = 0;
	sqlite3_stmt *st;
	int rc;

	memset(scope, 0, ARR_SCOPE_LEN);
	if (ti < 0)
		return ARR_ESCHEMA;
	st = s->tables[ti].scope;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (local = sqlite3_column_int64(st, 1)) != 0 &&
	    sqlite3_column_bytes(st, 0) == ARR_SCOPE_LEN)
		memcpy(scope, sqlite3_column_blob(st, 0), ARR_SCOPE_LEN);
	sqlite3_reset(st);
	if (sc != NULL)
		*sc = local;
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ARR_ENOTFOUND : store_db_error(rc);
}

int
store_scope_of(struct store *s, const char *table, const char *id, uint8_t scope[ARR_SCOPE_LEN])
{
	int64_t sc = 0;
	int rc = store_scope_row(s, table, id, scope, &sc);

	/* a row of the region scope is in no case scope */
	return rc == 0 && sc == 0 ? ARR_ENOTFOUND : rc;
}
