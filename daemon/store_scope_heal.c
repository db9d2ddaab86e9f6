/*
 * store_scope_heal.c: after remote policy change sets, the owner's repairs (PROTOCOL.md,
 * "Scopes", rule 5 and "Issuing"): the scopes whose policy grew are remembered (a small
 * bounded set), and store_scope_heal() lets store_scope_heal_one() look at each: rekey
 * after concurrent rotations, hand keys to a party granted concurrently with a rotation.
 * Nothing here decides policy (store_policy.c) or builds change sets
 * (store_scope_write.c).
 */
#include <stdbool.h>
#include <string.h>

#include "arrerr.h"
#include "store_int.h"

/* Did this node open local scope sc (its CREATE is in the policy tables)? */
static bool
owns(struct store *s, int64_t sc)
{
	sqlite3_stmt *st = s->st[ST_POLICY_OWNS];
	bool yes;

	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_blob(st, 2, s->self, ARR_ORIGIN_LEN, SQLITE_STATIC);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return yes;
}

void
store_scope_dirty(struct store *s, int64_t sc)
{
	if (!owns(s, sc))
		return;
	for (size_t i = 0; i < s->ndirty; i++)
		if (s->dirty[i] == sc)
			return;
	if (s->ndirty == STORE_DIRTY_MAX) {
		/* forgotten: the owner's next write into that scope repairs it too */
		s->dirty_dropped++;
		return;
	}
	s->dirty[s->ndirty++] = sc;
}

int
store_scope_heal(struct store *s, struct store_write_result *res)
{
	struct store_write_result r = {0};
	uint8_t scope[ARR_SCOPE_LEN];
	int rc;

	if (res != NULL)
		*res = r;
	if (s->ndirty == 0)
		return 0;
	if ((rc = store_bulk_flush(s)) < 0)
		return rc;
	/* never a local change set while own seqs are held (a restore): try again later */
	if (store_writes_held(s, NULL))
		return 0;
	if ((rc = store_db_begin(s)) < 0)
		return rc;
	for (size_t i = 0; i < s->ndirty && rc == 0; i++)
		if ((rc = store_scope_bytes(s, s->dirty[i], scope)) == 0)
			rc = store_scope_heal_one(s, scope, s->dirty[i], &r);
		else if (rc == ARR_ENOTFOUND)
			rc = 0;
	if (rc < 0) {
		store_db_rollback(s);
		return rc;
	}
	if ((rc = store_db_commit(s)) < 0)
		return rc;
	s->ndirty = 0;
	if (res != NULL)
		*res = r;
	return 0;
}
