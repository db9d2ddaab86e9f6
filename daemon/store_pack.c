/*
 * store_pack.c: the change sets of a local write (PROTOCOL.md, "Parts"): the groups of
 * ops store_write.c routed by scope, packed into as few change sets as the limits allow,
 * one part per scope. A scope the write opens takes a CREATE part (with its first
 * parties) followed by its data part, so an import of many new arrangements is a few
 * change sets and one signature each, not three per arrangement. A group too large for
 * one change set is split over several, of that scope alone. Each change set is built
 * (encoded, sealed, hashed, signed), then logged and applied in the caller's
 * transaction, in the order of its seq; in a write of several, the next one is built
 * on the seal worker's thread (store_seal.c) while this one is applied. It routes
 * nothing and reads no policy.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "policy.h"
#include "store_int.h"

/*
 * One change set of the write: packed, built (here or by the worker, store_seal.c) and
 * applied. Its parts point at the write's ops and keys and at its own CREATE bodies.
 */
struct pack_cs {
	struct store_seal_job job; /* the header, the parts, the built change set */
	struct cs_budget b;
	struct cs_part_in parts[ARR_CS_MAX_PARTS];
	struct cs_policy creates[ARR_CS_MAX_PARTS];
	struct policy_slot *slots;    /* cmax per CREATE */
	struct policy_party *parties; /* cmax per CREATE */
	bool queued;                  /* put to the worker and not waited for */
};

/*
 * The write's change sets: the one being packed (cur) and the one before it, built or
 * being built while cur is packed, applied once cur is flushed. So the worker builds
 * change set k + 1 while this thread merges change set k; a write of one change set is
 * built here, and a write is applied in the order of its seqs, as it would be inline.
 */
struct pack {
	struct store *s;
	struct store_write_result *r;
	struct pack_cs *cs[2];
	struct pack_cs *cur;
	struct pack_cs *prev; /* built or being built, not applied; NULL: none */
	uint64_t next_seq;    /* of the next change set begun */
	size_t cmax;          /* slots of one CREATE (store_scope_create_max) */
	size_t create_bytes;  /* what a CREATE part adds, at most */
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

static struct pack_cs *
pack_cs_new(size_t cmax)
{
	struct pack_cs *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->slots = calloc(ARR_CS_MAX_PARTS * cmax, sizeof(*c->slots))) == NULL ||
	    (c->parties = calloc(ARR_CS_MAX_PARTS * cmax, sizeof(*c->parties))) == NULL) {
		free(c->slots);
		free(c);
		return NULL;
	}
	return c;
}

/* The result of c, waited for when the worker has it; its change set is destroyed. */
static void
pack_cs_forget(struct pack *pk, struct pack_cs *c)
{
	if (c == NULL)
		return;
	if (c->queued)
		store_seal_wait(pk->s->seal, &c->job);
	c->queued = false;
	changeset_destroy(&c->job.cs);
}

static void
pack_cs_free(struct pack *pk, struct pack_cs *c)
{
	if (c == NULL)
		return;
	pack_cs_forget(pk, c);
	free(c->parties);
	free(c->slots);
	free(c);
}

/* A new, empty change set with the next own seq, in cur. */
static void
pack_begin(struct pack *pk)
{
	struct pack_cs *c = pk->cur;

	store_pack_header(pk->s, &c->job.h);
	c->job.h.seq = pk->next_seq++;
	c->job.key = pk->s->key;
	c->job.parts = c->parts;
	c->job.nparts = 0;
	changeset_budget_init(&c->b, &c->job.h);
}

/*
 * Build c: by the worker when there is one, more of the write is to come (or applied
 * meanwhile) and its queue has room; else here.
 */
static void
pack_build(struct pack *pk, struct pack_cs *c, bool hand_off)
{
	struct store *s = pk->s;

	c->job.bytes = c->b.bytes;
	if (hand_off && s->seal != NULL) {
		if (store_seal_put(s->seal, &c->job)) {
			c->queued = true;
			s->seal_stats.worker++;
			return;
		}
		s->seal_stats.full++;
	}
	c->job.rc = changeset_build(c->job.key, &c->job.h, c->parts, c->job.nparts, &c->job.cs);
	s->seal_stats.inlined++;
}

/* Log and apply c once built; an error of its build is the write's. */
static int
pack_apply(struct pack *pk, struct pack_cs *c)
{
	int rc;

	if (c->queued) {
		store_seal_wait(pk->s->seal, &c->job);
		c->queued = false;
	}
	if ((rc = c->job.rc) == 0)
		rc = store_apply_changeset(pk->s, c->job.cs, pk->s->self_oid);
	if (rc == 0) {
		if (pk->r->changesets++ == 0)
			pk->r->first_seq = c->job.h.seq;
		pk->r->last_seq = c->job.h.seq;
	}
	pack_cs_forget(pk, c);
	return rc;
}

/*
 * The packed change set (if any part) is built, the one before it applied; unless last,
 * the next is begun, and cur's is applied at the next flush. Last: cur's is applied too.
 */
static int
pack_flush(struct pack *pk, bool last)
{
	struct pack_cs *c = pk->cur, *prev = pk->prev;
	int rc = 0;

	if (c->job.nparts > 0)
		pack_build(pk, c, !last || prev != NULL);
	pk->prev = NULL;
	if (prev != NULL && (rc = pack_apply(pk, prev)) < 0)
		return rc;
	if (c->job.nparts == 0)
		return 0;
	if (last)
		return pack_apply(pk, c);
	if (pk->cs[1] == NULL && (pk->cs[1] = pack_cs_new(pk->cmax)) == NULL)
		return ARR_ENOMEM;
	pk->prev = c;
	pk->cur = c == pk->cs[0] ? pk->cs[1] : pk->cs[0];
	pack_begin(pk);
	return 0;
}

/* The largest CREATE part this node issues: its slots and parties, a key id of 8 bytes. */
static size_t
create_bytes(struct pack *pk)
{
	struct pack_cs *c = pk->cur;
	struct cs_policy p = {.op = POLICY_CREATE,
	                      .key_id = UINT64_MAX,
	                      .slots = c->slots,
	                      .nslots = pk->cmax,
	                      .parties = c->parties,
	                      .nparties = pk->cmax - 1};
	uint8_t scope[ARR_SCOPE_LEN];

	memset(scope, 0xff, sizeof(scope));
	for (size_t i = 0; i < pk->cmax; i++) {
		c->slots[i].key_id = UINT64_MAX;
		c->parties[i].roles = POLICY_ROLES_ALL;
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
	struct pack_cs *c = pk->cur;
	struct cs_part_in *part = &c->parts[c->job.nparts++];

	memset(part, 0, sizeof(*part));
	memcpy(part->scope, g->scope, ARR_SCOPE_LEN);
	part->kind = CS_DATA;
	part->ops = g->ops + g->done;
	part->nops = n;
	part->skey = changeset_scope_is_region(g->scope) ? NULL : g->key;
	(void)changeset_budget_take(&c->b, bytes, n);
	g->done += n;
}

/* The CREATE of g's new scope as the next part: g's scope takes its real id and key. */
static int
add_create(struct pack *pk, struct store_group *g)
{
	struct pack_cs *c = pk->cur;
	size_t k = c->job.nparts;
	struct cs_part_in *part = &c->parts[k];
	int rc;

	memset(part, 0, sizeof(*part));
	if ((rc = store_scope_create_part(pk->s, c->job.h.seq, k, g->scope, g->key, &c->creates[k],
	                                  c->slots + k * pk->cmax, c->parties + k * pk->cmax)) < 0)
		return rc;
	memcpy(part->scope, g->scope, ARR_SCOPE_LEN);
	part->kind = CS_POLICY;
	part->policy = &c->creates[k];
	(void)changeset_budget_take(&c->b, pk->create_bytes, 0);
	c->job.nparts++;
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
		struct cs_budget b = pk->cur->b;
		bool create = g->fresh;

		if (create && !changeset_budget_take(&b, pk->create_bytes, 0))
			n = 0;
		else if (b.parts >= ARR_CS_MAX_PARTS)
			n = 0;
		else if (fits_whole(&b, g, left, &bytes))
			n = left;
		else
			n = changeset_fit(&b, g->scope, g->ops + g->done, left);
		if (n < left && pk->cur->job.nparts > 0) {
			if ((rc = pack_flush(pk, false)) < 0)
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
		if (g->done < g->nops && (rc = pack_flush(pk, false)) < 0)
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
	pk->next_seq = vv_get(s->vec, s->self) + 1;
	if ((pk->cur = pk->cs[0] = pack_cs_new(pk->cmax)) == NULL)
		goto out;
	pk->create_bytes = create_bytes(pk);
	pack_begin(pk);
	rc = 0;
	for (size_t k = 0; k < ng && rc == 0; k++)
		rc = pack_group(pk, &g[k]);
	if (rc == 0)
		rc = pack_flush(pk, true);
out:
	/* after an error, what the worker still builds is waited for and dropped */
	pack_cs_free(pk, pk->cs[1]);
	pack_cs_free(pk, pk->cs[0]);
	free(pk);
	return rc;
}
