/*
 * store_precheck_work.c: what the second thread of store_precheck.c does to one
 * received change set, with no store at hand: decode it (the body hashes included),
 * verify the origin's signature over its header, check the ops of its region data parts
 * against the schema, and open and check each case data part whose scope a CREATE of
 * the same change set opens and whose key that CREATE seals to this node. Everything
 * that reads the replica (membership, the clock, the vector, keys held, erasure) stays
 * with the loop (store_apply.c).
 *
 * It records what passed: a part is marked when its ops fit, a change set verified when
 * its signature holds; of what failed, only a signature that does not hold (the first
 * check the loop makes, so its outcome does not depend on the store). Any other failure
 * is left for the loop, which does it again and finds the same failure, so a bad change
 * set meets the same fate either way. A case
 * part is opened the way store_scope.c's apply would open it in a scope new here: with
 * the key of the last of this node's slots in the CREATE that opens and has the key id
 * it names; a part whose ops do not fit is not handed over opened (the change set is
 * decoded again), since the loop would keep it unmerged.
 */
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "policy.h"
#include "store_int.h"
#include "store_precheck.h"

#define DETAIL_LEN 96

void
store_precheck_keys_wipe(struct store_precheck_keys *c)
{
	sodium_memzero(c, sizeof(*c));
}

/* The key this node shares with peer, from the worker's own cache (one X25519 a peer). */
static int
shared_key(const struct nodekey *key, struct store_precheck_keys *c,
           const uint8_t peer[ARR_ORIGIN_LEN], uint8_t out[NODEKEY_SHARED_LEN])
{
	struct store_precheck_key *e;
	int rc;

	for (size_t i = 0; i < c->n; i++)
		if (memcmp(c->e[i].peer, peer, ARR_ORIGIN_LEN) == 0) {
			memcpy(out, c->e[i].key, NODEKEY_SHARED_LEN);
			return 0;
		}
	if ((rc = nodekey_shared(key, peer, out)) != 0)
		return rc;
	e = &c->e[c->next];
	if (c->n < STORE_PRECHECK_KEYS)
		c->n++;
	c->next = (c->next + 1) % STORE_PRECHECK_KEYS;
	memcpy(e->peer, peer, ARR_ORIGIN_LEN);
	memcpy(e->key, out, NODEKEY_SHARED_LEN);
	return 0;
}

/*
 * The key of CREATE part p that store_scope.c's take_keys() would leave for the data
 * part after it in a scope new here: the last slot to this node that opens and whose key
 * has the slot's id. False when none does.
 */
static bool
create_key(const struct nodekey *key, const uint8_t self[ARR_ORIGIN_LEN],
           struct store_precheck_keys *c, const struct changeset *cs, const struct cs_part *p,
           uint8_t out[ARR_SKEY_LEN], uint64_t *key_id)
{
	uint8_t shared[NODEKEY_SHARED_LEN], k[ARR_SKEY_LEN];
	bool have_shared = false, have = false;

	for (size_t i = 0; i < p->policy->nslots; i++) {
		const struct policy_slot *slot = &p->policy->slots[i];

		if (memcmp(slot->member, self, ARR_ORIGIN_LEN) != 0)
			continue;
		if (!have_shared && shared_key(key, c, cs->origin, shared) != 0)
			break; /* not an X25519 key: no slot from this origin opens */
		have_shared = true;
		if (policy_slot_open(shared, slot, k) != 0 || changeset_key_id(k) != slot->key_id)
			continue;
		memcpy(out, k, ARR_SKEY_LEN);
		*key_id = slot->key_id;
		have = true;
	}
	sodium_memzero(k, sizeof(k));
	sodium_memzero(shared, sizeof(shared));
	return have;
}

/* Is part i a case data part right after the CREATE (with its body) of its scope? */
static bool
after_create(const struct changeset *cs, size_t i)
{
	const struct cs_part *p = &cs->parts[i], *c;

	if (i == 0 || p->kind != CS_DATA || p->ops != NULL || p->body == NULL ||
	    changeset_scope_is_region(p->scope))
		return false;
	c = &cs->parts[i - 1];
	return c->kind == CS_POLICY && c->policy != NULL && c->policy->op == POLICY_CREATE &&
	       memcmp(c->scope, p->scope, ARR_SCOPE_LEN) == 0 &&
	       changeset_part_creates(cs->origin, cs->h.seq, c, i - 1);
}

/*
 * Open and check the parts after a CREATE; false when one opened but its ops do not fit
 * (then cs must not be handed over as it is).
 */
static bool
open_created(const struct nodekey *key, const uint8_t self[ARR_ORIGIN_LEN],
             struct store_precheck_keys *c, struct changeset *cs, struct store_prechecked *r)
{
	uint8_t skey[ARR_SKEY_LEN];
	char detail[DETAIL_LEN];
	uint64_t key_id = 0;
	bool ok = true;

	for (size_t i = 1; i < cs->nparts && ok; i++) {
		if (!after_create(cs, i) ||
		    !create_key(key, self, c, cs, &cs->parts[i - 1], skey, &key_id))
			continue;
		if (key_id != cs->parts[i].key_id || changeset_open(cs, i, skey) != 0)
			continue; /* the loop keeps it sealed, or finds it does not open */
		if (store_scope_ops_valid(&cs->parts[i], cs->h.schema_version, detail,
		                          sizeof(detail)) != 0) {
			ok = false;
			break;
		}
		STORE_PRECHECK_SET(r->opened, i);
		STORE_PRECHECK_SET(r->checked, i);
	}
	sodium_memzero(skey, sizeof(skey));
	return ok;
}

/* Mark the region data parts (read by the decoder) whose ops fit. */
static void
check_region(const struct changeset *cs, struct store_prechecked *r)
{
	char detail[DETAIL_LEN];

	for (size_t i = 0; i < cs->nparts; i++) {
		const struct cs_part *p = &cs->parts[i];

		if (p->kind == CS_DATA && changeset_scope_is_region(p->scope) && p->ops != NULL &&
		    store_scope_ops_valid(p, cs->h.schema_version, detail, sizeof(detail)) == 0)
			STORE_PRECHECK_SET(r->checked, i);
	}
}

size_t
store_precheck_size(const struct changeset *cs)
{
	size_t n = 2 * cs->rawlen + cs->nparts * (sizeof(struct cs_part) + 64) + 512;

	for (size_t i = 0; i < cs->nparts; i++)
		n += cs->parts[i].nops * sizeof(struct cs_op);
	return n;
}

void
store_precheck_work(const struct nodekey *key, const uint8_t self[ARR_ORIGIN_LEN],
                    struct store_precheck_keys *c, const uint8_t *raw, size_t len,
                    struct store_prechecked *r)
{
	*r = (struct store_prechecked){0};
	if (len > ARR_CS_MAX_BYTES || changeset_decode(raw, len, &r->cs) != 0)
		return; /* the loop finds it too big or undecodable */
	if (changeset_verify(r->cs) != 0) {
		r->badsig = true; /* the loop quarantines it as it would after its own check */
		return;
	}
	r->verified = true;
	check_region(r->cs, r);
	if (key == NULL || open_created(key, self, c, r->cs, r))
		return;
	/* a part opened whose ops do not fit: the loop is handed it sealed, as received */
	changeset_destroy(&r->cs);
	for (size_t i = 0; i < sizeof(r->opened); i++)
		r->checked[i] &= (uint8_t)~r->opened[i];
	memset(r->opened, 0, sizeof(r->opened));
	if (changeset_decode(raw, len, &r->cs) != 0)
		*r = (struct store_prechecked){0};
}
