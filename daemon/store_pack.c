/*
 * store_pack.c: the change sets of a local write (PROTOCOL.md, "Parts"): the groups of
 * ops store_write.c routed by scope, packed into as few change sets as the limits allow,
 * one part per scope. A scope the write opens takes a CREATE part (with its first
 * parties) followed by its data part, so an import of many new arrangements is a few
 * change sets and one signature each, not three per arrangement. A group too large for
 * one change set is split over several, of that scope alone. Each change set is signed,
 * logged and applied in the caller's transaction. It routes nothing and reads no policy.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "policy.h"
#include "store_int.h"

/* The change set being packed, and the CREATE bodies its parts point at. */
struct pack {
	struct store *s;
	struct store_write_result *r;
	struct cs_header h;
	struct cs_budget b;
	struct cs_part_in parts[ARR_CS_MAX_PARTS];
	size_t nparts;
	struct cs_policy creates[ARR_CS_MAX_PARTS];
	struct policy_slot *slots;    /* cmax per CREATE */
	struct policy_party *parties; /* cmax per CREATE */
	size_t cmax;                  /* slots of one CREATE (store_scope_create_max) */
	size_t create_bytes;          /* what a CREATE part adds, at most */
};

void
store_pack_header(struct store *s, struct cs_header *h)
{
	*h = (struct cs_header){
	    .seq = vv_get(s->vec, s->self) + 1,
	    .hlc = hlc_send(&s->hlc, store_clock_now(s)),
	    .author_org = s->org,
	    .schema_version = ARR_SCHEMA_VERSION,
	};
}

/* A new, empty change set with the next own seq. */
static void
pack_begin(struct pack *pk)
{
	store_pack_header(pk->s, &pk->h);
	changeset_budget_init(&pk->b, &pk->h);
	pk->nparts = 0;
}

/* Sign, log and apply the packed change set (if any part), then begin the next. */
static int
pack_flush(struct pack *pk)
{
	struct changeset *cs = NULL;
	int rc;

	if (pk->nparts == 0)
		return 0;
	if ((rc = changeset_build(pk->s->key, &pk->h, pk->parts, pk->nparts, &cs)) < 0)
		return rc;
	rc = store_apply_changeset(pk->s, cs, pk->s->self_oid);
	if (rc == 0) {
		if (pk->r->changesets++ == 0)
			pk->r->first_seq = cs->h.seq;
		pk->r->last_seq = cs->h.seq;
	}
	changeset_destroy(&cs);
	pack_begin(pk);
	return rc;
}

/* The largest CREATE part this node issues: its slots and parties, a key id of 8 bytes. */
static size_t
create_bytes(struct pack *pk)
{
	struct cs_policy p = {.op = POLICY_CREATE,
	                      .key_id = UINT64_MAX,
	                      .slots = pk->slots,
	                      .nslots = pk->cmax,
	                      .parties = pk->parties,
	                      .nparties = pk->cmax - 1};
	uint8_t scope[ARR_SCOPE_LEN];

	memset(scope, 0xff, sizeof(scope));
	for (size_t i = 0; i < pk->cmax; i++) {
		pk->slots[i].key_id = UINT64_MAX;
		pk->parties[i].roles = POLICY_ROLES_ALL;
	}
	return changeset_part_bytes(scope, CS_POLICY, policy_encoded_size(&p));
}

/*
 * Whether the left ops of g (from g->done) fit the budget b whole, and the bytes of their
 * part (*bytes): what changeset_fit() would find op by op, with the ops sized once (a
 * group is one arrangement's rows, and nearly always fits).
 */
static bool
fits_whole(const struct cs_budget *b, const struct store_group *g, size_t left, size_t *bytes)
{
	size_t all;

	if (left > ARR_CS_MAX_OPS - b->ops)
		return false;
	all = changeset_part_bytes(g->scope, CS_DATA, changeset_ops_bytes(g->ops + g->done, left));
	if (all > ARR_CS_MAX_BYTES - b->bytes)
		return false;
	*bytes = all;
	return true;
}

/* Add a data part of n ops of g (from g->done) under g's scope and key. */
static void
add_data(struct pack *pk, struct store_group *g, size_t n, size_t bytes)
{
	struct cs_part_in *part = &pk->parts[pk->nparts++];

	memset(part, 0, sizeof(*part));
	memcpy(part->scope, g->scope, ARR_SCOPE_LEN);
	part->kind = CS_DATA;
	part->ops = g->ops + g->done;
	part->nops = n;
	part->skey = changeset_scope_is_region(g->scope) ? NULL : g->key;
	(void)changeset_budget_take(&pk->b, bytes, n);
	g->done += n;
}

/* The CREATE of g's new scope as the next part: g's scope takes its real id and key. */
static int
add_create(struct pack *pk, struct store_group *g)
{
	size_t k = pk->nparts;
	struct cs_part_in *part = &pk->parts[k];
	int rc;

	memset(part, 0, sizeof(*part));
	if ((rc = store_scope_create_part(pk->s, pk->h.seq, k, g->scope, g->key, &pk->creates[k],
	                                  pk->slots + k * pk->cmax, pk->parties + k * pk->cmax)) <
	    0)
		return rc;
	memcpy(part->scope, g->scope, ARR_SCOPE_LEN);
	part->kind = CS_POLICY;
	part->policy = &pk->creates[k];
	(void)changeset_budget_take(&pk->b, pk->create_bytes, 0);
	pk->nparts++;
	g->fresh = false;
	return 0;
}

/*
 * The ops of g into as many parts as it takes. A group that does not fit whole in the
 * change set being packed starts a new one (so that it is split as little as possible);
 * what does not fit in a change set of its own goes on in the next, in a part of the
 * same scope (which by then exists).
 */
static int
pack_group(struct pack *pk, struct store_group *g)
{
	int rc;

	while (g->done < g->nops) {
		size_t left = g->nops - g->done, n, bytes = 0;
		struct cs_budget b = pk->b;
		bool create = g->fresh;

		if (create && !changeset_budget_take(&b, pk->create_bytes, 0))
			n = 0;
		else if (b.parts >= ARR_CS_MAX_PARTS)
			n = 0;
		else if (fits_whole(&b, g, left, &bytes))
			n = left;
		else
			n = changeset_fit(&b, g->scope, g->ops + g->done, left);
		if (n < left && pk->nparts > 0) {
			if ((rc = pack_flush(pk)) < 0)
				return rc;
			continue;
		}
		if (n == 0)
			return ARR_ETOOBIG; /* one op alone does not fit a change set */
		if (bytes == 0 || n < left)
			bytes = changeset_part_bytes(g->scope, CS_DATA,
			                             changeset_ops_bytes(g->ops + g->done, n));
		if (create && (rc = add_create(pk, g)) < 0)
			return rc;
		add_data(pk, g, n, bytes);
		if (g->done < g->nops && (rc = pack_flush(pk)) < 0)
			return rc;
	}
	return 0;
}

int
store_pack_write(struct store *s, struct store_group *g, size_t ng, struct store_write_result *r)
{
	struct pack *pk = calloc(1, sizeof(*pk));
	int rc = ARR_ENOMEM;

	if (pk == NULL)
		return ARR_ENOMEM;
	pk->s = s;
	pk->r = r;
	pk->cmax = store_scope_create_max(s);
	if ((pk->slots = calloc(ARR_CS_MAX_PARTS * pk->cmax, sizeof(*pk->slots))) == NULL ||
	    (pk->parties = calloc(ARR_CS_MAX_PARTS * pk->cmax, sizeof(*pk->parties))) == NULL)
		goto out;
	pk->create_bytes = create_bytes(pk);
	pack_begin(pk);
	rc = 0;
	for (size_t k = 0; k < ng && rc == 0; k++)
		rc = pack_group(pk, &g[k]);
	if (rc == 0)
		rc = pack_flush(pk);
out:
	free(pk->parties);
	free(pk->slots);
	free(pk);
	return rc;
}
