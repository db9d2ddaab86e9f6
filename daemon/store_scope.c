/*
 * store_scope.c: scopes in the replica (PROTOCOL.md, "Scopes"): the local ids of scope
 * ids, the scope keys this node holds, the policy parts store_policy.c reads (a _policy
 * row each, pointing at its body in the log: store_policy_body.c), and what happens to
 * a logged change set of a case scope: merged when this node holds its key, else kept
 * sealed in the log (_sealed) and merged the moment a policy change set brings the key.
 * A node that is not a party never sees a clear byte of a case scope: it logs the
 * envelope as received and writes nothing else about it but ids. Each of its tables has
 * one function that drops a scope's entries (erasure calls them).
 *
 * It does not issue policy (store_scope_write.c) nor decide what the policy set means
 * (store_policy.c).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "monoclock.h"
#include "policy.h"
#include "store_int.h"

bool
store_scope_table_is_case(const struct schema_table *t)
{
	return strcmp(t->name, "arrangement") == 0 || strcmp(t->name, "child") == 0 ||
	       schema_column_find(t, "arrangement_id") != NULL ||
	       schema_column_find(t, "evaluation_id") != NULL;
}

/*
 * The schema first (store_unknown_check: a newer schema may name what this one lacks),
 * then the scope, looking a table up once per run of ops on it (the decoder interns a
 * name equal to the previous op's, so a run shares one pointer).
 */
int
store_scope_ops_valid(const struct cs_part *part, uint32_t schema_version, char *detail,
                      size_t dlen)
{
	bool region = changeset_scope_is_region(part->scope), misplaced = false, is_case = false;
	const struct schema_table *t = NULL;
	const char *tname = NULL;
	int rc;

	if ((rc = store_unknown_check(schema_version, part->ops, part->nops, detail, dlen)) < 0)
		return rc;
	for (size_t i = 0; i < part->nops; i++) {
		const struct cs_op *op = &part->ops[i];

		if (op->table != tname) {
			tname = op->table;
			if ((t = schema_table_find(tname)) != NULL)
				is_case = store_scope_table_is_case(t);
		}
		/* a table of a newer schema (store_unknown_check allowed it): kept unmerged */
		misplaced = misplaced || (t != NULL && is_case == region);
	}
	if (misplaced) {
		snprintf(detail, dlen, "op on a table outside the part's scope");
		return ARR_ESCOPE;
	}
	return 0;
}

/* Insert scope unless it is known: *sc its new local id, or 0 when it was known. */
static int
scope_insert(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t *sc)
{
	sqlite3_stmt *st = s->st[ST_SCOPE_INS];
	int rc;

	*sc = 0;
	sqlite3_bind_blob(st, 1, scope, ARR_SCOPE_LEN, SQLITE_STATIC);
	if ((rc = store_db_run(st)) < 0)
		return rc;
	if (sqlite3_changes(s->db) > 0) {
		*sc = sqlite3_last_insert_rowid(s->db);
		store_scope_tally_add(s, 1, 0, 0);
		store_scope_memo_put_sc(s, scope, *sc);
	}
	return 0;
}

/*
 * store_scope_local(); *created says whether the scope was new (made here). With
 * likely_new (the scope of a CREATE: nobody can name it before its CREATE is out), the
 * insert is tried first, which saves the lookup that would miss.
 */
static int
scope_local(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], bool create, bool likely_new,
            int64_t *sc, bool *created)
{
	sqlite3_stmt *st = s->st[ST_SCOPE_GET];
	int rc;

	*sc = 0;
	if (changeset_scope_is_region(scope))
		return 0;
	if (create && likely_new) {
		if ((rc = scope_insert(s, scope, sc)) < 0 || *sc != 0) {
			*created = rc == 0;
			return rc;
		}
	}
	/* a scope this process just made (a local write's own apply finds its CREATE's) */
	if (store_scope_memo_sc(s, scope, sc))
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
	if ((rc = scope_insert(s, scope, sc)) < 0)
		return rc;
	*created = true;
	return *sc != 0 ? 0 : ARR_EDB; /* looked up as unknown just now */
}

int
store_scope_local(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], bool create, int64_t *sc)
{
	bool created = false;

	return scope_local(s, scope, create, false, sc, &created);
}

int
store_scope_new(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t *sc)
{
	bool created = false;

	return scope_local(s, scope, true, true, sc, &created);
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

	if (store_scope_memo_key(s, sc, key_id, key))
		return 0;
	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_int64(st, 2, (int64_t)key_id);
	return store_db_blob(st, 0, key, ARR_SKEY_LEN);
}

/* Keep key key_id of scope sc; 1 when it was new. */
int
store_scope_key_put(struct store *s, int64_t sc, uint64_t key_id, const uint8_t key[ARR_SKEY_LEN])
{
	sqlite3_stmt *st = s->st[ST_SKEY_INS];
	int64_t first = 0;
	int rc;

	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_int64(st, 2, (int64_t)key_id);
	sqlite3_bind_blob(st, 3, key, ARR_SKEY_LEN, SQLITE_STATIC);
	if ((rc = store_db_run(st)) < 0)
		return rc;
	if (sqlite3_changes(s->db) == 0)
		return 0; /* held already: the memo keeps only what this process inserted */
	/* its first key makes the scope readable here */
	if ((rc = store_db_row_ints(s->st[ST_SKEY_FIRST], sc, 1, &first)) < 0)
		return rc;
	if (first)
		store_scope_tally_add(s, 0, 1, 0);
	store_scope_memo_put_key(s, sc, key_id, key);
	return 1;
}

/*
 * The entries of scope sc in one table, by sc (every one of these tables is keyed by its
 * scope first). Erasure calls them, in its own transaction; rare, so not cached.
 */
static int
drop(struct store *s, const char *sql, int64_t sc, int64_t *gone)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*gone = 0;
	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_int64(st, 1, sc);
	if ((rc = store_db_run(st)) == 0)
		*gone = sqlite3_changes(s->db);
	sqlite3_finalize(st);
	return rc;
}

int
store_scope_drop_keys(struct store *s, int64_t sc)
{
	int64_t gone;
	int rc;

	store_scope_memo_forget(s);
	if ((rc = drop(s, "DELETE FROM _skey WHERE sc = ?1", sc, &gone)) == 0 && gone > 0)
		store_scope_tally_add(s, 0, -1, 0);
	return rc;
}

int
store_scope_drop_policy(struct store *s, int64_t sc)
{
	int64_t gone;

	return drop(s, "DELETE FROM _policy WHERE sc = ?1", sc, &gone);
}

int
store_scope_drop_sealed(struct store *s, int64_t sc)
{
	int64_t gone;
	int rc;

	if ((rc = drop(s, "DELETE FROM _sealed WHERE sc = ?1", sc, &gone)) == 0)
		store_scope_tally_add(s, 0, 0, -gone);
	return rc;
}

/* Open case data part i when this node holds its key: 0 opened (or not sealed), 1 no key. */
static int
open_part(struct store *s, struct changeset *cs, size_t i)
{
	const struct cs_part *part = &cs->parts[i];
	uint8_t key[ARR_SKEY_LEN];
	int64_t sc;
	int rc;

	if (part->ops != NULL || part->kind != CS_DATA || changeset_scope_is_region(part->scope))
		return 0;
	if (part->body == NULL)
		return 1; /* dropped (erased or redacted): nothing to open, ever */
	if ((rc = store_scope_local(s, part->scope, false, &sc)) < 0)
		return rc == ARR_ENOTFOUND ? 1 : rc;
	if ((rc = store_scope_key(s, sc, part->key_id, key)) < 0)
		return rc == ARR_ENOTFOUND ? 1 : rc;
	rc = changeset_open(cs, i, key);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* Open the parts; with skip_created, not a data part right after its scope's CREATE. */
static int
open_parts(struct store *s, struct changeset *cs, bool skip_created)
{
	int rc, ret = 0;

	for (size_t i = 0; i < cs->nparts; i++) {
		if (skip_created && i > 0 &&
		    changeset_part_creates(cs->origin, cs->h.seq, &cs->parts[i - 1], i - 1) &&
		    memcmp(cs->parts[i].scope, cs->parts[i - 1].scope, ARR_SCOPE_LEN) == 0) {
			ret |= cs->parts[i].ops == NULL;
			continue;
		}
		if ((rc = open_part(s, cs, i)) < 0)
			return rc;
		ret |= rc;
	}
	return ret;
}

int
store_scope_open(struct store *s, struct changeset *cs)
{
	return open_parts(s, cs, false);
}

/*
 * Before a change set is applied, a data part right after the CREATE of its scope is not
 * looked up: its key comes with that CREATE, and store_scope_apply() opens it then.
 */
int
store_scope_open_received(struct store *s, struct changeset *cs)
{
	return open_parts(s, cs, true);
}

/*
 * Merge opened part i of scope sc, or count it masked when its ops do not fit. With
 * checked, they were checked already: opened at receipt (store_apply.c's validate) or
 * built by this node from a validated local write.
 */
static int
merge_opened(struct store *s, const struct changeset *cs, size_t i, int64_t oid, int64_t log_id,
             int64_t sc, bool checked)
{
	const struct cs_part *part = &cs->parts[i];
	char detail[96];

	if (!checked &&
	    store_scope_ops_valid(part, cs->h.schema_version, detail, sizeof(detail)) < 0) {
		s->scope_masked++;
		return 0;
	}
	return store_merge_part(s, cs, part->ops, part->nops, oid, log_id, sc);
}

/* The (log id, part) of the sealed parts of sc under key_id (malloc'd, two per entry). */
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
			int64_t *q = realloc(*ids, (cap = cap ? cap * 2 : 64) * 2 * sizeof(*q));

			if (q == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			*ids = q;
		}
		(*ids)[2 * *n] = sqlite3_column_int64(st, 0);
		(*ids)[2 * (*n)++ + 1] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/* Merge one sealed part of a log entry with key key_id, and forget that it was sealed. */
static int
materialise_one(struct store *s, int64_t log_id, int64_t part, int64_t sc, uint64_t key_id,
                const uint8_t key[ARR_SKEY_LEN])
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
	if (part < 0 || (size_t)part >= cs->nparts) {
		rc = ARR_EDB; /* _sealed names a part the entry has */
		goto out;
	}
	/* a body its own key does not open: logged and counted, never merged */
	if (changeset_open(cs, (size_t)part, key) != 0)
		s->scope_masked++;
	else if ((rc = merge_opened(s, cs, (size_t)part, oid, log_id, sc, false)) < 0)
		goto out;
	st = s->st[ST_SEALED_DEL];
	sqlite3_bind_int64(st, 1, sc);
	sqlite3_bind_int64(st, 2, (int64_t)key_id);
	sqlite3_bind_int64(st, 3, log_id);
	sqlite3_bind_int64(st, 4, part);
	if ((rc = store_db_run(st)) == 0)
		store_scope_tally_add(s, 0, 0, -sqlite3_changes(s->db));
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
			rc = materialise_one(s, ids[2 * i], ids[2 * i + 1], sc, key_id, key);
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
 * What applying one change set knows of the scope of the part being applied: its local id,
 * whether this change set made it (a scope new here holds no key, waits for nothing and is
 * not this node's to repair), and the key of it a CREATE's slot just gave this node.
 */
struct apply_ctx {
	int64_t sc;
	bool fresh;
	bool have_key;
	uint64_t key_id;
	uint8_t key[ARR_SKEY_LEN];
};

/*
 * The slots of policy part i for this node: keep each key, merge what waited. A slot is
 * boxed under the key this node shares with the change set's origin, its issuer
 * (authenticated by the signature); this node's own change sets use its key with itself.
 */
static int
take_keys(struct store *s, const struct changeset *cs, size_t i, struct apply_ctx *ax)
{
	const struct cs_policy *p = cs->parts[i].policy;
	uint8_t key[ARR_SKEY_LEN];
	uint8_t shared[NODEKEY_SHARED_LEN];
	bool have_shared = false;
	int rc = 0;

	for (size_t k = 0; k < p->nslots && rc >= 0; k++) {
		const struct policy_slot *slot = &p->slots[k];

		if (memcmp(slot->member, s->self, ARR_ORIGIN_LEN) != 0)
			continue;
		/* a key held already (this node's own CREATE or rotation): nothing to open */
		if (!ax->fresh &&
		    (rc = store_scope_key(s, ax->sc, slot->key_id, key)) != ARR_ENOTFOUND)
			continue;
		rc = 0;
		if (!have_shared && store_scope_shared(s, cs->origin, shared) != 0)
			break; /* not an X25519 key: no slot from this origin opens */
		have_shared = true;
		if (policy_slot_open(shared, slot, key) != 0 ||
		    changeset_key_id(key) != slot->key_id)
			continue;
		if ((rc = store_scope_key_put(s, ax->sc, slot->key_id, key)) == 1 && !ax->fresh)
			rc = store_scope_materialise(s, ax->sc, slot->key_id, key);
		ax->have_key = true;
		ax->key_id = slot->key_id;
		memcpy(ax->key, key, ARR_SKEY_LEN);
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(shared, sizeof(shared));
	return rc < 0 ? rc : 0;
}

/*
 * Open case data part i: with the key a CREATE of this change set just gave, without
 * looking up a scope that is new here (no key), else as store_scope_open() does.
 */
static int
open_in_apply(struct store *s, struct changeset *cs, size_t i, const struct apply_ctx *ax)
{
	const struct cs_part *part = &cs->parts[i];

	if (part->ops != NULL)
		return 0;
	if (ax->have_key && ax->key_id == part->key_id)
		return changeset_open(cs, i, ax->key);
	if (ax->fresh)
		return 1;
	return open_part(s, cs, i);
}

/* Part i of cs (logged as log_id) in scope ax: merged, recorded as policy, or kept sealed. */
static int
apply_part(struct store *s, struct changeset *cs, size_t i, int64_t oid, int64_t log_id,
           struct apply_ctx *ax)
{
	const struct cs_part *part = &cs->parts[i];
	sqlite3_stmt *st;
	bool checked;
	int rc, gone;

	/* erasure (store_erase*.c): ERASE and REDACT, and parts of a scope gone here */
	if (part->policy != NULL &&
	    (part->policy->op == POLICY_ERASE || part->policy->op == POLICY_REDACT))
		return store_erase_policy(s, cs, i, ax->sc, log_id);
	if ((gone = store_erase_state(s, ax->sc)) < 0 || (rc = store_erase_drops(s, cs, i)) < 0)
		return gone < 0 ? gone : rc;
	if (rc > 0 || part->body == NULL)
		return 0; /* logged header-only, never read here again */
	if (part->kind == CS_POLICY) {
		if ((rc = store_policy_record(s, cs, i, ax->sc, log_id)) < 0)
			return rc;
		if (part->policy->op == POLICY_CREATE &&
		    changeset_part_creates(cs->origin, cs->h.seq, part, i))
			store_verdict_owner_seen(s, ax->sc, cs->origin);
		if (gone != 0)
			return 0; /* shredded: the policy is kept for the record, no key taken */
		/* a scope new here is not this node's: it has nothing to repair */
		if (!ax->fresh && memcmp(cs->origin, s->self, ARR_ORIGIN_LEN) != 0)
			store_scope_dirty(s, ax->sc);
		return take_keys(s, cs, i, ax);
	}
	if (ax->sc == 0)
		return store_merge_part(s, cs, part->ops, part->nops, oid, log_id, 0);
	/* a part open before the apply was checked then; one opened now is checked here */
	checked = part->ops != NULL;
	/* shredded here: kept sealed and never opened (an erasure still finds it) */
	if (gone == 0 && (rc = open_in_apply(s, cs, i, ax)) < 0) {
		s->scope_masked++; /* validated at receipt; a key learnt since does not open it */
		/* never merged, but its body is the scope's: an erasure must find it */
		return rc == ARR_ENOMEM || rc == ARR_EDB ? rc : store_erase_note(s, ax->sc, log_id);
	}
	if (gone == 0 && rc == 0)
		return merge_opened(s, cs, i, oid, log_id, ax->sc, checked);
	st = s->st[ST_SEALED_INS];
	sqlite3_bind_int64(st, 1, log_id);
	sqlite3_bind_int64(st, 2, ax->sc);
	sqlite3_bind_int64(st, 3, (int64_t)part->key_id);
	sqlite3_bind_int64(st, 4, (int64_t)i);
	if ((rc = store_db_run(st)) == 0)
		store_scope_tally_add(s, 0, 0, 1);
	return rc;
}

/*
 * Whether a sliced apply's deadline (slice.until_ms) passed after part i of cs: then the
 * parts from i + 1 on wait in slice (store_applyjob.c), with the scope of part i.
 */
static bool
park_after(struct store *s, const struct changeset *cs, size_t i, int64_t log_id,
           const struct apply_ctx *ax)
{
	if (s->slice.until_ms == 0 || i + 1 >= cs->nparts || mono_ms() < s->slice.until_ms)
		return false;
	s->slice.part = i + 1;
	s->slice.ops = NULL;
	s->slice.log_id = log_id;
	s->slice.sc = ax->sc;
	s->slice.fresh = ax->fresh;
	return true;
}

/*
 * The parts of cs from i on, in scope ax for part i when given (a resume), else looked
 * up. STORE_MERGE_MORE when a sliced apply's deadline parked it: inside a part
 * (store_merge.c said where) or between parts.
 */
static int
apply_parts(struct store *s, struct changeset *cs, size_t i, int64_t oid, int64_t log_id,
            struct apply_ctx *ax, bool have_ax)
{
	int rc = 0;

	for (; i < cs->nparts; i++) {
		if (!have_ax ||
		    memcmp(cs->parts[i].scope, cs->parts[i - 1].scope, ARR_SCOPE_LEN) != 0) {
			sodium_memzero(ax, sizeof(*ax));
			/*
			 * a CREATE's scope is new here, unless this node issued it: its own
			 * CREATE found the scope made (store_scope_create_part)
			 */
			bool creates =
			    changeset_part_creates(cs->origin, cs->h.seq, &cs->parts[i], i) &&
			    memcmp(cs->origin, s->self, ARR_ORIGIN_LEN) != 0;

			if ((rc = scope_local(s, cs->parts[i].scope, true, creates, &ax->sc,
			                      &ax->fresh)) < 0)
				return rc;
		}
		have_ax = true;
		if ((rc = apply_part(s, cs, i, oid, log_id, ax)) < 0)
			return rc;
		if (s->slice.until_ms != 0 && s->slice.ops != NULL) {
			s->slice.part = i; /* stopped inside part i */
			s->slice.fresh = ax->fresh;
			return STORE_MERGE_MORE;
		}
		if (park_after(s, cs, i, log_id, ax))
			return STORE_MERGE_MORE;
	}
	return 0;
}

/*
 * In header order: a CREATE part comes before the data part of its scope, so the data
 * part finds the key the CREATE gave this node (or waits sealed for one). Consecutive
 * parts of one scope (a CREATE and its data) share the lookup of the scope and the key.
 */
int
store_scope_apply(struct store *s, struct changeset *cs, int64_t oid, int64_t log_id)
{
	struct apply_ctx ax = {0};
	int rc;

	rc = apply_parts(s, cs, 0, oid, log_id, &ax, false);
	sodium_memzero(&ax, sizeof(ax));
	return rc;
}

int
store_scope_resume(struct store *s, struct changeset *cs, int64_t oid)
{
	struct store_slice *j = &s->slice;
	struct apply_ctx ax = {.sc = j->sc, .fresh = j->fresh};
	size_t i = j->part;
	int rc;

	assert(i < cs->nparts);
	if (j->ops != NULL) {
		if ((rc = store_merge_resume(s, cs, oid)) != 0)
			return rc;
		if (park_after(s, cs, i, j->log_id, &ax))
			return STORE_MERGE_MORE;
		i++;
	}
	/* ax is the scope of part i - 1: a policy part's key is never carried over */
	return apply_parts(s, cs, i, oid, j->log_id, &ax, i > 0);
}
