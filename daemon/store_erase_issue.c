/*
 * store_erase_issue.c: the ERASE and REDACT this node issues on an operator's request
 * (PROTOCOL.md, "Erasure"): who may is checked here as every node will judge it (ERASE:
 * the owner; REDACT: the owner, or the author of each named change set), then the change
 * set is signed, logged and applied in its own transaction, and the WAL is cut after
 * the commit; and the local shred, which issues nothing. Applying is store_erase_scope.c's;
 * building and signing store_scope_write.c's.
 */
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "policy.h"
#include "store_int.h"

/* The CREATE of local scope sc when this node issued it: its seq and part index. */
static int
own_create(struct store *s, int64_t sc, uint64_t *seq, uint64_t *part)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT l.seq, p.part FROM _policy p JOIN _log l"
	                       " ON l.id = p.log JOIN _origin o ON o.id = l.origin"
	                       " WHERE p.sc = ?1 AND p.op = 1 AND o.origin = ?2",
	                       -1, &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_blob(st, 2, s->self, ARR_ORIGIN_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		*part = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ARR_EFORBIDDEN : store_db_error(rc);
}

/* The ERASE of scope sc, by its owner (this node), naming its CREATE. */
static int
erase_locked(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t sc,
             struct store_write_result *r)
{
	struct policy_ref create;
	struct cs_policy p = {.op = POLICY_ERASE, .grants = &create, .ngrants = 1};
	int rc;

	if ((rc = own_create(s, sc, &create.seq, &p.cut)) < 0) {
		if (rc == ARR_EFORBIDDEN)
			snprintf(r->refusal, sizeof(r->refusal),
			         "only the scope's owner may erase it");
		return rc;
	}
	memcpy(create.origin, s->self, ARR_ORIGIN_LEN);
	return store_scope_issue(s, scope, &p, r);
}

int
store_erase_reissue(struct store *s, int64_t sc, const uint8_t scope[ARR_SCOPE_LEN])
{
	struct store_write_result r = {0};
	uint64_t seq, part;
	int rc;

	/* a restored copy holds its writes back: its ERASE is in the peers' logs already */
	if (store_writes_held(s, NULL) || (rc = own_create(s, sc, &seq, &part)) == ARR_EFORBIDDEN)
		return 1;
	return rc < 0 ? rc : erase_locked(s, scope, sc, &r);
}

/* A REDACT of refs in scope sc: this node's own change sets, or any when it owns sc. */
static int
redact_locked(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t sc,
              const struct policy_ref *refs, size_t n, struct store_write_result *r)
{
	struct cs_policy p = {.op = POLICY_REDACT, .grants = refs, .ngrants = n};
	uint64_t seq, part;
	bool own = true;
	int rc;

	for (size_t i = 0; i < n && own; i++)
		own = memcmp(refs[i].origin, s->self, ARR_ORIGIN_LEN) == 0;
	if (!own && (rc = own_create(s, sc, &seq, &part)) < 0) {
		if (rc == ARR_EFORBIDDEN)
			snprintf(r->refusal, sizeof(r->refusal),
			         "only the scope's owner may redact another node's change sets");
		return rc;
	}
	return store_scope_issue(s, scope, &p, r);
}

enum request { ERASE, REDACT, SHRED };

/* One request in its own transaction; the WAL cut after an erasure committed. */
static int
in_tx(struct store *s, enum request what, const uint8_t scope[ARR_SCOPE_LEN],
      const struct policy_ref *refs, size_t n, struct store_write_result *r)
{
	struct store_write_result tmp;
	int64_t sc;
	int rc;

	if (r == NULL)
		r = &tmp;
	memset(r, 0, sizeof(*r));
	if (changeset_scope_is_region(scope))
		return ARR_EINVAL;
	if ((rc = store_bulk_flush(s)) < 0 ||
	    (rc = store_writes_held(s, NULL) ? ARR_ESTATE : 0) < 0)
		return rc;
	if ((rc = store_scope_local(s, scope, false, &sc)) < 0) {
		snprintf(r->refusal, sizeof(r->refusal), "no such scope on this node");
		return rc;
	}
	/* the owner may still erase for everyone what it shredded here */
	if ((rc = store_erase_state(s, sc)) < 0 || rc == STORE_GONE_ERASED ||
	    (rc != 0 && what != ERASE)) {
		if (rc > 0)
			snprintf(r->refusal, sizeof(r->refusal), "the scope is %s here already",
			         rc == STORE_GONE_ERASED ? "erased" : "shredded");
		return rc < 0 ? rc : ARR_EEXIST;
	}
	if ((rc = store_db_begin(s)) < 0)
		return rc;
	/* a shred issues nothing: it is this node's alone (PROTOCOL.md, "Local shred") */
	rc = what == ERASE    ? erase_locked(s, scope, sc, r)
	     : what == REDACT ? redact_locked(s, scope, sc, refs, n, r)
	                      : store_shred_scope(s, sc, scope);
	if (rc < 0) {
		store_db_rollback(s);
		return rc;
	}
	if ((rc = store_db_commit(s)) < 0)
		return rc;
	store_erase_settle(s);
	return 0;
}

int
store_scope_erase(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], struct store_write_result *r)
{
	return in_tx(s, ERASE, scope, NULL, 0, r);
}

int
store_scope_shred(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], struct store_write_result *r)
{
	return in_tx(s, SHRED, scope, NULL, 0, r);
}

int
store_scope_redact(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                   const struct policy_ref *refs, size_t n, struct store_write_result *r)
{
	if (refs == NULL || n == 0 || n > ARR_POLICY_MAX_IDS)
		return ARR_EINVAL;
	return in_tx(s, REDACT, scope, refs, n, r);
}
