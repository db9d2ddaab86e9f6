/*
 * store_scope_write.c: the policy change sets this node issues (PROTOCOL.md, "Scopes"):
 * CREATE when a local write opens a scope, GRANT and REVOKE on an operator's request,
 * REKEY when this node may issue policy and the policy set asks for it (concurrent
 * rotations, a reader without the current key, a non-reader with it). Each is signed,
 * logged and applied like any local change set, in the caller's transaction or its own.
 * What the set of policy means is store_policy.c's; which scope a row is in,
 * store_route.c's.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "policy.h"
#include "store_int.h"

/*
 * grant_on_create = all: every role, admin included, so that in a region whose members
 * all take part in every arrangement each may write what the role matrix gives the owner
 * and its admins (status, dates, lead, parties): write authorisation, PROTOCOL.md.
 */
#define GRANT_DEFAULT_ROLES POLICY_ROLES_ALL

/* Sign, log and apply policy p of scope as the next own change set. */
static int
issue(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], const struct cs_policy *p,
      struct store_write_result *r)
{
	struct changeset *cs = NULL;
	struct cs_header h;
	struct cs_part_in part = {.kind = CS_POLICY, .policy = p};
	int rc;

	store_pack_header(s, &h);
	memcpy(part.scope, scope, ARR_SCOPE_LEN);
	if ((rc = changeset_build(s->key, &h, &part, 1, &cs)) < 0)
		return rc;
	rc = store_apply_changeset(s, cs, s->self_oid);
	if (rc == 0 && r != NULL) {
		if (r->changesets++ == 0)
			r->first_seq = cs->h.seq;
		r->last_seq = cs->h.seq;
	}
	changeset_destroy(&cs);
	return rc;
}

/* The readers of policy pol: the owner and the members of active grants, once each. */
static size_t
readers(const struct store_policy *pol, const uint8_t *skip, uint8_t (*out)[ARR_ORIGIN_LEN],
        size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i <= pol->nops && n < max; i++) {
		const uint8_t *m;
		bool dup = false;

		if (i == pol->nops)
			m = pol->has_owner ? pol->owner : NULL;
		else if (pol->ops[i].op == POLICY_GRANT && pol->ops[i].valid)
			m = pol->ops[i].member;
		else
			m = NULL;
		/* the owner always reads: a REVOKE naming it still seals the new key to it */
		if (m == NULL || (skip != NULL && memcmp(m, skip, ARR_ORIGIN_LEN) == 0 &&
		                  !store_policy_is_owner(pol, m)))
			continue;
		for (size_t j = 0; j < n && !dup; j++)
			dup = memcmp(out[j], m, ARR_ORIGIN_LEN) == 0;
		if (!dup)
			memcpy(out[n++], m, ARR_ORIGIN_LEN);
	}
	return n;
}

/*
 * A rotation (REVOKE or REKEY, op and its member fields set by the caller): a new key
 * sealed to the readers of pol but skip, superseding pol's heads.
 */
static int
rotate(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], const struct store_policy *pol,
       struct cs_policy *p, const uint8_t *skip, struct store_write_result *r)
{
	uint8_t(*who)[ARR_ORIGIN_LEN] = NULL;
	struct policy_slot *slots = NULL;
	uint64_t *prevs = NULL;
	uint8_t key[ARR_SKEY_LEN];
	size_t n, np = 0;
	int64_t sc;
	int rc = ARR_ENOMEM;

	if ((who = calloc(ARR_POLICY_MAX_SLOTS, sizeof(*who))) == NULL ||
	    (prevs = calloc(pol->nheads + 1, sizeof(*prevs))) == NULL)
		goto out;
	n = readers(pol, skip, who, ARR_POLICY_MAX_SLOTS);
	if ((slots = calloc(n + 1, sizeof(*slots))) == NULL)
		goto out;
	changeset_key_new(key);
	p->key_id = changeset_key_id(key);
	for (size_t i = 0; i < pol->nops && np < ARR_POLICY_MAX_IDS; i++)
		if (pol->ops[i].head)
			prevs[np++] = pol->ops[i].key_id;
	for (size_t i = 0; i < n; i++)
		if ((rc = store_scope_slot_seal(s, who[i], p->key_id, key, &slots[i])) < 0)
			goto out;
	p->prevs = prevs;
	p->nprevs = np;
	p->slots = slots;
	p->nslots = n;
	/* kept before it is issued, so that its own slot need not be opened again */
	if ((rc = store_scope_local(s, scope, true, &sc)) < 0 ||
	    (rc = store_scope_key_put(s, sc, p->key_id, key)) < 0)
		goto out;
	rc = issue(s, scope, p, r);
out:
	sodium_memzero(key, sizeof(key));
	free(slots);
	free(prevs);
	free(who);
	return rc;
}

size_t
store_scope_create_max(struct store *s)
{
	size_t n = 1;

	for (size_t i = 0; s->grant_all && s->member_at != NULL; i++) {
		if (s->member_at(s->member_ctx, i) == NULL)
			break;
		n++;
	}
	return n < ARR_POLICY_MAX_IDS ? n : ARR_POLICY_MAX_IDS;
}

/*
 * The id of the new scope is the one only this CREATE can open (changeset_scope_id of its
 * origin, seq and part). The key is kept before the CREATE is applied, so that its own
 * slot need not be opened; the parties store_config.grant_on_create asks for are granted
 * in the CREATE itself, each with a slot (no GRANT change sets follow).
 */
int
store_scope_create_part(struct store *s, uint64_t seq, size_t part, uint8_t scope[ARR_SCOPE_LEN],
                        uint8_t key[ARR_SKEY_LEN], struct cs_policy *p, struct policy_slot *slots,
                        struct policy_party *parties)
{
	size_t max = store_scope_create_max(s), np = 0;
	int64_t sc;
	int rc;

	changeset_scope_id(s->self, seq, part, scope);
	changeset_key_new(key);
	memset(p, 0, sizeof(*p));
	p->op = POLICY_CREATE;
	p->key_id = changeset_key_id(key);
	if ((rc = store_scope_slot_seal(s, s->self, p->key_id, key, &slots[0])) < 0)
		return rc;
	for (size_t i = 0; s->grant_all && s->member_at != NULL && np + 1 < max; i++) {
		const uint8_t *m = s->member_at(s->member_ctx, i);

		if (m == NULL)
			break;
		if (memcmp(m, s->self, ARR_ORIGIN_LEN) == 0)
			continue;
		memcpy(parties[np].member, m, ARR_ORIGIN_LEN);
		parties[np].roles = GRANT_DEFAULT_ROLES;
		if ((rc = store_scope_slot_seal(s, m, p->key_id, key, &slots[np + 1])) < 0)
			return rc;
		np++;
	}
	p->slots = slots;
	p->nslots = np + 1;
	p->parties = parties;
	p->nparties = np;
	if ((rc = store_scope_new(s, scope, &sc)) < 0)
		return rc;
	rc = store_scope_key_put(s, sc, p->key_id, key);
	return rc < 0 ? rc : 0;
}

int
store_scope_write_key(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                      uint8_t key[ARR_SKEY_LEN], uint64_t *key_id, struct store_write_result *r)
{
	struct store_policy pol;
	int64_t sc;
	int rc;

	if ((rc = store_scope_local(s, scope, false, &sc)) < 0)
		return rc == ARR_ENOTFOUND ? ARR_ENOTPARTY : rc;
	if ((rc = store_policy_load(s, sc, &pol)) < 0)
		return rc;
	/* only the owner rekeys: two issuers rekeying at once would never settle */
	if (store_policy_needs_rekey(&pol) && store_policy_is_owner(&pol, s->self)) {
		struct cs_policy p = {.op = POLICY_REKEY};

		rc = rotate(s, scope, &pol, &p, NULL, r);
		store_policy_free(&pol);
		if (rc < 0 || (rc = store_policy_load(s, sc, &pol)) < 0)
			return rc;
	}
	*key_id = pol.write_key;
	store_policy_free(&pol);
	if (*key_id == 0)
		return ARR_ENOTPARTY;
	rc = store_scope_key(s, sc, *key_id, key);
	return rc == ARR_ENOTFOUND ? ARR_ENOTPARTY : rc;
}

/* The keys of sc this node holds, sealed to member as GRANT slots (at most max). */
static int
grant_slots(struct store *s, int64_t sc, const uint8_t member[ARR_ORIGIN_LEN],
            struct policy_slot *slots, size_t max, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	if ((rc = sqlite3_prepare_v2(s->db, "SELECT key_id, key FROM _skey WHERE sc = ?1", -1, &st,
	                             NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_int64(st, 1, sc);
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != ARR_SKEY_LEN)
			continue;
		if (store_scope_slot_seal(s, member, (uint64_t)sqlite3_column_int64(st, 0),
		                          sqlite3_column_blob(st, 1), &slots[*n]) != 0) {
			rc = ARR_EKEY;
			break;
		}
		(*n)++;
	}
	sqlite3_finalize(st);
	if (rc == ARR_EKEY)
		return rc;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_db_error(rc);
}

/* The policy of scope for an operator request: this node must be able to issue it. */
static int
policy_for_issue(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t *sc,
                 struct store_policy *pol, struct store_write_result *r)
{
	int rc;

	if ((rc = store_scope_local(s, scope, false, sc)) < 0) {
		snprintf(r->refusal, sizeof(r->refusal), "no such scope on this node");
		return rc;
	}
	if ((rc = store_policy_load(s, *sc, pol)) < 0)
		return rc;
	if (!store_policy_may_issue(pol, s->self)) {
		snprintf(r->refusal, sizeof(r->refusal),
		         "only the scope's owner or an admin may grant or revoke");
		store_policy_free(pol);
		return ARR_EFORBIDDEN;
	}
	return 0;
}

static int
grant_locked(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
             const uint8_t member[ARR_ORIGIN_LEN], uint32_t roles, struct store_write_result *r)
{
	struct cs_policy p = {.op = POLICY_GRANT, .has_member = true, .roles = roles};
	struct policy_slot *slots = NULL;
	struct store_policy pol;
	int64_t sc;
	int rc;

	if ((rc = policy_for_issue(s, scope, &sc, &pol, r)) < 0)
		return rc;
	if (store_policy_is_owner(&pol, member)) {
		snprintf(r->refusal, sizeof(r->refusal), "the scope's owner reads it already");
		rc = ARR_EEXIST;
		goto out;
	}
	if ((roles & ROLE_ADMIN) && !store_policy_is_owner(&pol, s->self)) {
		snprintf(r->refusal, sizeof(r->refusal), "only the scope's owner may grant admin");
		rc = ARR_EFORBIDDEN;
		goto out;
	}
	if ((slots = calloc(ARR_POLICY_MAX_SLOTS, sizeof(*slots))) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	memcpy(p.member, member, ARR_ORIGIN_LEN);
	if ((rc = grant_slots(s, sc, member, slots, ARR_POLICY_MAX_SLOTS, &p.nslots)) < 0)
		goto out;
	p.slots = slots;
	rc = issue(s, scope, &p, r);
out:
	free(slots);
	store_policy_free(&pol);
	return rc;
}

static int
revoke_locked(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
              const uint8_t member[ARR_ORIGIN_LEN], struct store_write_result *r)
{
	struct cs_policy p = {.op = POLICY_REVOKE, .has_member = true};
	struct policy_ref *refs = NULL;
	struct store_policy pol;
	int64_t sc;
	int rc;

	if ((rc = policy_for_issue(s, scope, &sc, &pol, r)) < 0)
		return rc;
	if (store_policy_is_owner(&pol, member)) {
		snprintf(r->refusal, sizeof(r->refusal), "the scope's owner cannot be revoked");
		rc = ARR_EFORBIDDEN;
		goto out;
	}
	if ((refs = calloc(ARR_POLICY_MAX_IDS, sizeof(*refs))) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < pol.nops && p.ngrants < ARR_POLICY_MAX_IDS; i++) {
		const struct store_policy_op *g = &pol.ops[i];

		if (g->op != POLICY_GRANT || !g->valid ||
		    memcmp(g->member, member, ARR_ORIGIN_LEN) != 0)
			continue;
		if ((g->roles & ROLE_ADMIN) && !store_policy_is_owner(&pol, s->self)) {
			snprintf(r->refusal, sizeof(r->refusal),
			         "only the scope's owner may revoke an admin");
			rc = ARR_EFORBIDDEN;
			goto out;
		}
		memcpy(refs[p.ngrants].origin, g->origin, ARR_ORIGIN_LEN);
		refs[p.ngrants++].seq = g->seq;
	}
	if (p.ngrants == 0) {
		snprintf(r->refusal, sizeof(r->refusal), "that member is not a party of the scope");
		rc = ARR_ENOTFOUND;
		goto out;
	}
	memcpy(p.member, member, ARR_ORIGIN_LEN);
	p.grants = refs;
	p.cut = vv_get(s->vec, member);
	rc = rotate(s, scope, &pol, &p, member, r);
out:
	free(refs);
	store_policy_free(&pol);
	return rc;
}

/* One operator request in its own transaction. */
static int
in_tx(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], const uint8_t member[ARR_ORIGIN_LEN],
      uint32_t roles, bool grant, struct store_write_result *r)
{
	struct store_write_result tmp;
	int rc;

	if (r == NULL)
		r = &tmp;
	memset(r, 0, sizeof(*r));
	if (changeset_scope_is_region(scope))
		return ARR_EINVAL;
	if ((rc = store_bulk_flush(s)) < 0 ||
	    (rc = store_writes_held(s, NULL) ? ARR_ESTATE : 0) < 0)
		return rc;
	if ((rc = store_db_begin(s)) < 0)
		return rc;
	rc = grant ? grant_locked(s, scope, member, roles, r) : revoke_locked(s, scope, member, r);
	if (rc < 0) {
		store_db_rollback(s);
		return rc;
	}
	return store_db_commit(s);
}

int
store_scope_grant(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                  const uint8_t member[ARR_ORIGIN_LEN], uint32_t roles,
                  struct store_write_result *r)
{
	if (roles == 0 || (roles & ~POLICY_ROLES_ALL))
		return ARR_EINVAL;
	return in_tx(s, scope, member, roles, true, r);
}

int
store_scope_revoke(struct store *s, const uint8_t scope[ARR_SCOPE_LEN],
                   const uint8_t member[ARR_ORIGIN_LEN], struct store_write_result *r)
{
	return in_tx(s, scope, member, 0, false, r);
}

/* Does member lack a slot for any key of sc this node holds? */
static int
lacks_keys(struct store *s, int64_t sc, const struct store_policy *pol,
           const uint8_t member[ARR_ORIGIN_LEN], bool *lacks)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*lacks = false;
	if ((rc = sqlite3_prepare_v2(s->db, "SELECT key_id FROM _skey WHERE sc = ?1", -1, &st,
	                             NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_int64(st, 1, sc);
	while (!*lacks && (rc = sqlite3_step(st)) == SQLITE_ROW)
		*lacks = !store_policy_has_slot(pol, (uint64_t)sqlite3_column_int64(st, 0), member);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/* A GRANT with every key this node holds to each reader of pol that lacks one. */
static int
regrant_missing(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t sc,
                const struct store_policy *pol, struct store_write_result *r)
{
	int rc = 0;

	for (size_t i = 0; i < pol->nops && rc == 0; i++) {
		const struct store_policy_op *g = &pol->ops[i];
		uint32_t roles = 0;
		bool lacks, first = true;

		if (g->op != POLICY_GRANT || !g->valid)
			continue;
		for (size_t j = 0; j < pol->nops; j++)
			if (pol->ops[j].op == POLICY_GRANT && pol->ops[j].valid &&
			    memcmp(pol->ops[j].member, g->member, ARR_ORIGIN_LEN) == 0) {
				roles |= pol->ops[j].roles;
				first = first && j >= i;
			}
		if (!first || memcmp(g->member, s->self, ARR_ORIGIN_LEN) == 0 ||
		    (rc = lacks_keys(s, sc, pol, g->member, &lacks)) < 0 || !lacks)
			continue;
		rc = grant_locked(s, scope, g->member, roles, r);
	}
	return rc;
}

/*
 * What the owner of scope does when the policy set calls for it (store_scope_heal.c),
 * inside the caller's transaction: a REKEY when there is more than one current key, a
 * reader without it or a non-reader with it; then a GRANT with every key it holds to
 * each reader that lacks a slot for one of them (a party granted concurrently with a
 * rotation got only the keys its granter had). Only the owner heals, so that two
 * issuers never rekey against each other; anything else is a no-op.
 */
int
store_scope_heal_one(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], int64_t sc,
                     struct store_write_result *r)
{
	struct store_policy pol;
	int rc;

	if ((rc = store_policy_load(s, sc, &pol)) < 0)
		return rc;
	if (!store_policy_is_owner(&pol, s->self))
		goto out;
	if (store_policy_needs_rekey(&pol)) {
		struct cs_policy p = {.op = POLICY_REKEY};

		if ((rc = rotate(s, scope, &pol, &p, NULL, r)) < 0)
			goto out;
		store_policy_free(&pol);
		if ((rc = store_policy_load(s, sc, &pol)) < 0)
			return rc;
	}
	rc = regrant_missing(s, scope, sc, &pol, r);
out:
	store_policy_free(&pol);
	return rc;
}

int
store_scope_issue(struct store *s, const uint8_t scope[ARR_SCOPE_LEN], const struct cs_policy *p,
                  struct store_write_result *r)
{
	return issue(s, scope, p, r);
}
