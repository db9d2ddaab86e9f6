/*
 * store_scope.c: scopes in the replica (PROTOCOL.md, "Scopes"): the local ids of scope
 * ids, the scope keys this node holds, the policy tables store_policy.c reads, and what
 * happens to a logged change set of a case scope: merged when this node holds its key,
 * else kept sealed in the log (_sealed) and merged the moment a policy change set brings
 * the key. A node that is not a party never sees a clear byte of a case scope: it logs
 * the envelope as received and writes nothing else about it but ids.
 *
 * It does not issue policy (store_scope_write.c) nor decide what the policy set means
 * (store_policy.c).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "policy.h"
#include "store_int.h"

bool
store_scope_table_is_case(const struct schema_table *t)
{
	return strcmp(t->name, "arrangement") == 0 || strcmp(t->name, "child") == 0 ||
	       schema_column_find(t, "arrangement_id") != NULL ||
	       schema_column_find(t, "evaluation_id") != NULL;
}

bool
store_scope_ops_fit(const struct changeset *cs)
{
	bool region = changeset_scope_is_region(cs->h.scope);

	for (size_t i = 0; i < cs->nops; i++) {
		const struct schema_table *t = schema_table_find(cs->ops[i].table);

		/* a table of a newer schema: kept unmerged here (store_unknown.c) */
		if (t == NULL ? cs->h.schema_version <= ARR_SCHEMA_VERSION
		              : store_scope_table_is_case(t) == region)
			return false;
	}
	return true;
}

int
store_scope_local(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], bool create, int64_t *sc)
{
	sqlite3_stmt *st = s->st[ST_SCOPE_GET];
	int rc;

	*sc = 0;
	if (changeset_scope_is_region(scope))
		return 0;
	sqlite3_bind_blob(st, 1, scope, ARR_SCOPE_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*sc = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_db_error(rc);
	if (!create)
		return ARR_ENOTFOUND;
	st = s->st[ST_SCOPE_INS];
	sqlite3_bind_blob(st, 1, scope, ARR_SCOPE_LEN, SQLITE_STATIC);
	if ((rc = store_db_run(st)) < 0)
		return rc;
	*sc = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_scope_bytes(struct store *s, int64_t sc, uint8_t scope[ARR_SCOPE_LEN])
{
	sqlite3_stmt *st = s->st[ST_SCOPE_BYID];

	sqlite3_bind_int64(st, 1, sc);
	return store_db_blob(st, 0, scope, ARR_SCOPE_LEN);
}

int
store_scope_key(struct store *s, int64_t sc, uint64_t key_id, uint8_t key[ARR_SKEY_LEN])
{
	sqlite3_stmt *st = s->st[ST_SKEY_GET];

	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_int64(st, 2, (int64_t)key_id);
	return store_db_blob(st, 0, key, ARR_SKEY_LEN);
}

/* Keep key key_id of scope sc; 1 when it was new. */
int
store_scope_key_put(struct store *s, int64_t sc, uint64_t key_id, const uint8_t key[ARR_SKEY_LEN])
{
	sqlite3_stmt *st = s->st[ST_SKEY_INS];
	int rc;

	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_int64(st, 2, (int64_t)key_id);
	sqlite3_bind_blob(st, 3, key, ARR_SKEY_LEN, SQLITE_STATIC);
	if ((rc = store_db_run(st)) < 0)
		return rc;
	return sqlite3_changes(s->db) > 0;
}

int
store_scope_open(struct store *s, struct changeset *cs)
{
	uint8_t key[ARR_SKEY_LEN];
	int64_t sc;
	int rc;

	if (cs->ops != NULL || cs->h.kind != CS_DATA || changeset_scope_is_region(cs->h.scope))
		return 0;
	if ((rc = store_scope_local(s, cs->h.scope, false, &sc)) < 0)
		return rc == ARR_ENOTFOUND ? 1 : rc;
	if ((rc = store_scope_key(s, sc, cs->h.key_id, key)) < 0)
		return rc == ARR_ENOTFOUND ? 1 : rc;
	rc = changeset_open(cs, key);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* The policy change set cs (log entry log_id) into the policy tables. */
static int
record_policy(struct store *s, const struct changeset *cs, int64_t sc, int64_t log_id)
{
	const struct cs_policy *p = cs->policy;
	sqlite3_stmt *st = s->st[ST_POLICY_INS];
	int rc;

	sqlite3_bind_int64(st, 1, log_id);
	sqlite3_bind_int64(st, 2, sc);
	sqlite3_bind_blob(st, 3, cs->origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)cs->h.seq);
	sqlite3_bind_int(st, 5, p->op);
	if (p->has_member)
		sqlite3_bind_blob(st, 6, p->member, ARR_ORIGIN_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, p->roles);
	sqlite3_bind_int64(st, 8, (int64_t)p->key_id);
	sqlite3_bind_text(st, 9, cs->h.author_org, -1, SQLITE_STATIC);
	if ((rc = store_db_run(st)) < 0)
		return rc;
	st = s->st[ST_POLICY_RM_INS];
	for (size_t i = 0; i < p->ngrants; i++) {
		sqlite3_bind_int64(st, 1, log_id);
		sqlite3_bind_int64(st, 2, sc);
		sqlite3_bind_blob(st, 3, p->grants[i].origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)p->grants[i].seq);
		if ((rc = store_db_run(st)) < 0)
			return rc;
	}
	st = s->st[ST_POLICY_PREV_INS];
	for (size_t i = 0; i < p->nprevs; i++) {
		sqlite3_bind_int64(st, 1, log_id);
		sqlite3_bind_int64(st, 2, sc);
		sqlite3_bind_int64(st, 3, (int64_t)p->prevs[i]);
		if ((rc = store_db_run(st)) < 0)
			return rc;
	}
	st = s->st[ST_POLICY_SLOT_INS];
	for (size_t i = 0; i < p->nslots; i++) {
		sqlite3_bind_int64(st, 1, log_id);
		sqlite3_bind_int64(st, 2, sc);
		sqlite3_bind_int64(st, 3, (int64_t)p->slots[i].key_id);
		sqlite3_bind_blob(st, 4, p->slots[i].member, ARR_ORIGIN_LEN, SQLITE_STATIC);
		if ((rc = store_db_run(st)) < 0)
			return rc;
	}
	return 0;
}

/* Merge an opened change set of scope sc, or count it masked when its ops do not fit. */
static int
merge_opened(struct store *s, const struct changeset *cs, int64_t oid, int64_t log_id, int64_t sc)
{
	if (!store_scope_ops_fit(cs)) {
		s->scope_masked++;
		return 0;
	}
	return store_merge_changeset(s, cs, oid, log_id, sc);
}

/* The log ids of the sealed change sets of sc under key_id (malloc'd). */
static int
sealed_list(struct store *s, int64_t sc, uint64_t key_id, int64_t **ids, size_t *n)
{
	sqlite3_stmt *st = s->st[ST_SEALED_LIST];
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_int64(st, 2, (int64_t)key_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			int64_t *q = realloc(*ids, (cap = cap ? cap * 2 : 64) * sizeof(*q));

			if (q == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			*ids = q;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/* Merge one sealed log entry with key, and forget that it was sealed. */
static int
materialise_one(struct store *s, int64_t log_id, int64_t sc, const uint8_t key[ARR_SKEY_LEN])
{
	sqlite3_stmt *st = s->st[ST_LOG_BY_ID];
	struct changeset *cs = NULL;
	int64_t oid = 0;
	int rc;

	sqlite3_bind_int64(st, 1, log_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		oid = sqlite3_column_int64(st, 0);
		rc = changeset_decode(sqlite3_column_blob(st, 1),
		                      (size_t)sqlite3_column_bytes(st, 1), &cs);
		if (rc < 0 && rc != ARR_ENOMEM)
			rc = ARR_EDB; /* logged bytes always decode */
	} else {
		rc = rc == SQLITE_DONE ? ARR_EDB : store_db_error(rc);
	}
	sqlite3_reset(st);
	if (rc < 0)
		goto out;
	/* a body its own key does not open: logged and counted, never merged */
	if (changeset_open(cs, key) != 0)
		s->scope_masked++;
	else if ((rc = merge_opened(s, cs, oid, log_id, sc)) < 0)
		goto out;
	st = s->st[ST_SEALED_DEL];
	sqlite3_bind_int64(st, 1, log_id);
	rc = store_db_run(st);
out:
	changeset_destroy(&cs);
	return rc;
}

int
store_scope_materialise(struct store *s, int64_t sc, uint64_t key_id,
                        const uint8_t key[ARR_SKEY_LEN])
{
	int64_t *ids = NULL;
	size_t n = 0;
	int rc;

	if ((rc = sealed_list(s, sc, key_id, &ids, &n)) == 0)
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = materialise_one(s, ids[i], sc, key);
	free(ids);
	return rc;
}

int
store_scope_shared(struct store *s, const uint8_t peer[ARR_ORIGIN_LEN],
                   uint8_t out[NODEKEY_SHARED_LEN])
{
	struct store_shared *e;
	int rc;

	for (size_t i = 0; i < s->nshared; i++)
		if (memcmp(s->shared[i].peer, peer, ARR_ORIGIN_LEN) == 0) {
			memcpy(out, s->shared[i].key, NODEKEY_SHARED_LEN);
			return 0;
		}
	if ((rc = nodekey_shared(s->key, peer, out)) != 0)
		return rc;
	e = &s->shared[s->shared_next];
	if (s->nshared < STORE_SHARED_MAX)
		s->nshared++;
	else
		s->shared_evicted++;
	s->shared_next = (s->shared_next + 1) % STORE_SHARED_MAX;
	memcpy(e->peer, peer, ARR_ORIGIN_LEN);
	memcpy(e->key, out, NODEKEY_SHARED_LEN);
	return 0;
}

int
store_scope_slot_seal(struct store *s, const uint8_t member[ARR_ORIGIN_LEN], uint64_t key_id,
                      const uint8_t key[ARR_SKEY_LEN], struct policy_slot *slot)
{
	uint8_t shared[NODEKEY_SHARED_LEN];
	int rc;

	if ((rc = store_scope_shared(s, member, shared)) == 0)
		rc = policy_slot_seal(shared, member, key_id, key, slot);
	sodium_memzero(shared, sizeof(shared));
	return rc;
}

void
store_scope_shared_wipe(struct store *s)
{
	sodium_memzero(s->shared, sizeof(s->shared));
	s->nshared = 0;
	s->shared_next = 0;
}

/*
 * The slots of a policy change set for this node: keep each key, merge what waited. A
 * slot is boxed under the key this node shares with the change set's origin, its issuer
 * (authenticated by the signature); this node's own change sets use its key with itself.
 */
static int
take_keys(struct store *s, const struct changeset *cs, int64_t sc)
{
	const struct cs_policy *p = cs->policy;
	uint8_t key[ARR_SKEY_LEN];
	uint8_t shared[NODEKEY_SHARED_LEN];
	bool have_shared = false;
	int rc = 0;

	for (size_t i = 0; i < p->nslots && rc >= 0; i++) {
		if (memcmp(p->slots[i].member, s->self, ARR_ORIGIN_LEN) != 0)
			continue;
		/* a key held already (this node's own CREATE or rotation): nothing to open */
		if ((rc = store_scope_key(s, sc, p->slots[i].key_id, key)) != ARR_ENOTFOUND)
			continue;
		rc = 0;
		if (!have_shared && store_scope_shared(s, cs->origin, shared) != 0)
			break; /* not an X25519 key: no slot from this origin opens */
		have_shared = true;
		if (policy_slot_open(shared, &p->slots[i], key) != 0 ||
		    changeset_key_id(key) != p->slots[i].key_id)
			continue;
		if ((rc = store_scope_key_put(s, sc, p->slots[i].key_id, key)) == 1)
			rc = store_scope_materialise(s, sc, p->slots[i].key_id, key);
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(shared, sizeof(shared));
	return rc < 0 ? rc : 0;
}

int
store_scope_apply(struct store *s, struct changeset *cs, int64_t oid, int64_t log_id)
{
	sqlite3_stmt *st;
	int64_t sc;
	int rc;

	if ((rc = store_scope_local(s, cs->h.scope, true, &sc)) < 0)
		return rc;
	if (cs->h.kind == CS_POLICY) {
		if ((rc = record_policy(s, cs, sc, log_id)) < 0)
			return rc;
		if (memcmp(cs->origin, s->self, ARR_ORIGIN_LEN) != 0)
			store_scope_dirty(s, sc);
		return take_keys(s, cs, sc);
	}
	if (sc == 0)
		return store_merge_changeset(s, cs, oid, log_id, 0);
	if ((rc = store_scope_open(s, cs)) < 0) {
		s->scope_masked++; /* validated at receipt; a key learnt since does not open it */
		return 0;
	}
	if (rc == 0)
		return merge_opened(s, cs, oid, log_id, sc);
	st = s->st[ST_SEALED_INS];
	sqlite3_bind_int64(st, 1, log_id);
	sqlite3_bind_int64(st, 2, sc);
	sqlite3_bind_int64(st, 3, (int64_t)cs->h.key_id);
	return store_db_run(st);
}
