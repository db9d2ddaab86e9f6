/*
 * store_policy.c: what the set of a scope's policy change sets means (PROTOCOL.md,
 * "Scopes"): its owner, who may issue policy, which grants are active, which keys are
 * current. A pure function of the set: it reads the policy parts store_scope.c keeps
 * (one _policy row each, its body read from the log by store_policy_body.c) and never
 * the order in which change sets arrived, a clock or a cell value. It issues nothing and
 * holds no key.
 *
 * The rules:
 *  - the owner is the author of the scope's CREATE: the one whose origin, seq and part
 *    index the scope id is the hash of (changeset_scope_id), so no other member can
 *    claim it;
 *  - admins are the members of GRANTs with the admin role that the owner issued and no
 *    REVOKE by the owner removed; the issuers are the owner and the admins;
 *  - a GRANT by an issuer (a GRANT part, or a party a CREATE names) is active until a
 *    REVOKE by an issuer of its member names its change set (a REVOKE of an admin grant
 *    counts only from the owner), an observed-remove set: a GRANT a REVOKE did not see
 *    survives it;
 *  - the rotations are the owner's CREATE and the issuers' REVOKEs and REKEYs; a
 *    rotation's key is a head when no rotation names it among its prevs; the write key
 *    is the head with the lowest key id (the tie-break after concurrent rotations).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "policy.h"
#include "store_int.h"

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *q;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap > 0 ? *cap * 2 : 16;
	if ((q = realloc(*p, c * size)) == NULL)
		return ARR_ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

void
store_policy_free(struct store_policy *p)
{
	if (p == NULL)
		return;
	free(p->ops);
	free(p->rms);
	free(p->prevs);
	free(p->slots);
	free(p->superseded);
	memset(p, 0, sizeof(*p));
}

/* The growable arrays of p, with their capacities, while they are loaded. */
struct loading {
	struct store_policy *p;
	size_t cap_ops, cap_rms, cap_prevs, cap_slots;
};

/* A new op of p for part part of log entry log (origin, seq, author): zeroed but for those. */
static struct store_policy_op *
op_new(struct loading *l, const struct store_policy_op *part)
{
	struct store_policy *p = l->p;
	struct store_policy_op *o;

	if (grow((void **)&p->ops, &l->cap_ops, p->nops, sizeof(*p->ops)) < 0)
		return NULL;
	o = &p->ops[p->nops++];
	*o = *part;
	return o;
}

/*
 * The entries of one policy body into p: the op itself, a CREATE's parties as GRANTs of
 * its log entry and part, the grants a REVOKE removes, the keys a rotation supersedes and
 * every slot (what the tables of store format 8 held, a row each).
 */
static int
load_body(struct loading *l, const struct store_policy_op *part, const struct cs_policy *b)
{
	struct store_policy *p = l->p;
	struct store_policy_op *o;

	if ((o = op_new(l, part)) == NULL)
		return ARR_ENOMEM;
	o->op = b->op;
	o->has_member = b->has_member;
	if (b->has_member)
		memcpy(o->member, b->member, ARR_ORIGIN_LEN);
	o->roles = b->roles;
	o->key_id = b->key_id;
	for (size_t k = 0; k < b->nparties; k++) {
		if ((o = op_new(l, part)) == NULL)
			return ARR_ENOMEM;
		o->op = POLICY_GRANT;
		o->has_member = true;
		memcpy(o->member, b->parties[k].member, ARR_ORIGIN_LEN);
		o->roles = b->parties[k].roles;
	}
	for (size_t k = 0; k < b->ngrants; k++) {
		if (grow((void **)&p->rms, &l->cap_rms, p->nrms, sizeof(*p->rms)) < 0)
			return ARR_ENOMEM;
		p->rms[p->nrms].log = part->log;
		memcpy(p->rms[p->nrms].origin, b->grants[k].origin, ARR_ORIGIN_LEN);
		p->rms[p->nrms++].seq = b->grants[k].seq;
	}
	for (size_t k = 0; k < b->nprevs; k++) {
		if (grow((void **)&p->prevs, &l->cap_prevs, p->nprevs, sizeof(*p->prevs)) < 0)
			return ARR_ENOMEM;
		p->prevs[p->nprevs].log = part->log;
		p->prevs[p->nprevs++].key_id = b->prevs[k];
	}
	for (size_t k = 0; k < b->nslots; k++) {
		if (grow((void **)&p->slots, &l->cap_slots, p->nslots, sizeof(*p->slots)) < 0)
			return ARR_ENOMEM;
		p->slots[p->nslots].log = part->log;
		p->slots[p->nslots].key_id = b->slots[k].key_id;
		memcpy(p->slots[p->nslots++].member, b->slots[k].member, ARR_ORIGIN_LEN);
	}
	return 0;
}

/*
 * One row of _policy (st) decoded into p, its body read from the log and checked against
 * its hash (r). It was decoded strictly at receipt.
 */
static int
load_row(struct store *s, sqlite3_stmt *st, struct store_policy_reader *r, struct loading *l)
{
	struct store_policy_op part = {0};
	const char *author = (const char *)sqlite3_column_text(st, 4);
	struct cs_policy *b = NULL;
	const uint8_t *body;
	bool nc;
	int rc;

	part.log = sqlite3_column_int64(st, 0);
	part.part = sqlite3_column_int(st, 1);
	if (sqlite3_column_bytes(st, 2) != ARR_ORIGIN_LEN)
		return ARR_EDB; /* a row whose log entry is gone */
	memcpy(part.origin, sqlite3_column_blob(st, 2), ARR_ORIGIN_LEN);
	part.seq = (uint64_t)sqlite3_column_int64(st, 3);
	snprintf(part.author, sizeof(part.author), "%s", author != NULL ? author : "");
	if ((rc = store_policy_body_read(s, r, part.log, sqlite3_column_int64(st, 5),
	                                 sqlite3_column_int64(st, 6), sqlite3_column_blob(st, 7),
	                                 (size_t)sqlite3_column_bytes(st, 7), &body)) < 0)
		return rc;
	rc = policy_decode(body, (size_t)sqlite3_column_int64(st, 6), &b, &nc);
	if (rc == 0)
		rc = load_body(l, &part, b);
	else if (rc != ARR_ENOMEM)
		rc = ARR_EDB; /* logged bodies always decode */
	policy_free(&b);
	return rc;
}

/* Every policy part of scope sc: one row each (store_open.c), its body decoded. */
static int
load_parts(struct store *s, int64_t sc, struct store_policy *p)
{
	sqlite3_stmt *st = s->st[ST_POLICY_LOAD];
	struct store_policy_reader r = {0};
	struct loading l = {.p = p};
	int rc = SQLITE_DONE, ret = 0;

	sqlite3_bind_int64(st, 1, sc);
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ret = load_row(s, st, &r, &l);
	sqlite3_reset(st);
	store_policy_reader_close(&r);
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_error(rc);
	return ret;
}

/*
 * The tables are kept sorted (store_policy_load) so that every lookup is a binary
 * search: a member can log any number of policy change sets for a scope (they mean
 * nothing unless an issuer signed them), and the owner's next write must not pay for
 * them quadratically.
 */
static int
cmp_log(const void *a, const void *b)
{
	const struct store_policy_op *x = a, *y = b;

	return (x->log > y->log) - (x->log < y->log);
}

static int
cmp_rm(const void *a, const void *b)
{
	const struct store_policy_rm *x = a, *y = b;
	int c = memcmp(x->origin, y->origin, ARR_ORIGIN_LEN);

	return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int
cmp_slot(const void *a, const void *b)
{
	const struct store_policy_slot *x = a, *y = b;

	if (x->key_id != y->key_id)
		return x->key_id > y->key_id ? 1 : -1;
	return memcmp(x->member, y->member, ARR_ORIGIN_LEN);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* By log entry; a CREATE and its parties share one: the op, then the member, order them. */
static int
cmp_entry(const void *a, const void *b)
{
	const struct store_policy_op *x = a, *y = b;
	int c = cmp_log(a, b);

	if (c != 0)
		return c;
	if (x->op != y->op)
		return (x->op > y->op) - (x->op < y->op);
	return memcmp(x->member, y->member, ARR_ORIGIN_LEN);
}

/* The op of log entry log: a REVOKE or REKEY (one per scope and entry), or NULL. */
static struct store_policy_op *
op_by_log(const struct store_policy *p, int64_t log)
{
	struct store_policy_op key = {.log = log};

	if (p->nops == 0)
		return NULL;
	return bsearch(&key, p->ops, p->nops, sizeof(*p->ops), cmp_log);
}

/* The first rm of p naming (origin, seq), or NULL; the others follow it. */
static const struct store_policy_rm *
first_rm(const struct store_policy *p, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq)
{
	size_t lo = 0, hi = p->nrms;
	struct store_policy_rm key = {.seq = seq};

	memcpy(key.origin, origin, ARR_ORIGIN_LEN);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_rm(&p->rms[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nrms && cmp_rm(&p->rms[lo], &key) == 0 ? &p->rms[lo] : NULL;
}

bool
store_policy_is_owner(const struct store_policy *p, const uint8_t origin[ARR_ORIGIN_LEN])
{
	return p->has_owner && memcmp(p->owner, origin, ARR_ORIGIN_LEN) == 0;
}

/* Is grant g removed by a REVOKE whose issuer passes ok()? */
static bool
removed(struct store_policy *p, const struct store_policy_op *g, bool owner_only)
{
	const struct store_policy_rm *r = first_rm(p, g->origin, g->seq);

	for (; r != NULL && r < p->rms + p->nrms && r->seq == g->seq &&
	       memcmp(r->origin, g->origin, ARR_ORIGIN_LEN) == 0;
	     r++) {
		const struct store_policy_op *rv = op_by_log(p, r->log);

		/* a REVOKE removes its member's grants only (a CREATE grants several parties) */
		if (rv != NULL && rv->op == POLICY_REVOKE && rv->has_member &&
		    memcmp(rv->member, g->member, ARR_ORIGIN_LEN) == 0 &&
		    (owner_only ? store_policy_is_owner(p, rv->origin) : rv->issuer))
			return true;
	}
	return false;
}

/* Owner, then admins, then issuers, active grants, valid rotations and heads. */
static void
evaluate(struct store_policy *p, const uint8_t scope[ARR_SCOPE_LEN])
{
	struct store_policy_op *create = NULL;

	for (size_t i = 0; i < p->nops; i++) {
		struct store_policy_op *o = &p->ops[i];
		uint8_t id[ARR_SCOPE_LEN];

		if (o->op != POLICY_CREATE)
			continue;
		/* only the CREATE the scope id names opens it: no member can claim a scope */
		changeset_scope_id(o->origin, o->seq, (size_t)o->part, id);
		if (memcmp(id, scope, ARR_SCOPE_LEN) != 0)
			continue;
		if (create == NULL || memcmp(o->origin, create->origin, ARR_ORIGIN_LEN) < 0 ||
		    (memcmp(o->origin, create->origin, ARR_ORIGIN_LEN) == 0 &&
		     o->seq < create->seq))
			create = o;
	}
	p->has_owner = create != NULL;
	if (create != NULL) {
		memcpy(p->owner, create->origin, ARR_ORIGIN_LEN);
		snprintf(p->owner_org, sizeof(p->owner_org), "%s", create->author);
		create->valid = true;
	}
	for (size_t i = 0; i < p->nops; i++) {
		struct store_policy_op *o = &p->ops[i];

		o->issuer = store_policy_is_owner(p, o->origin);
	}
	/* admins: owner-issued admin grants the owner did not revoke */
	for (size_t i = 0; i < p->nops; i++) {
		struct store_policy_op *g = &p->ops[i];

		if (g->op != POLICY_GRANT || !(g->roles & ROLE_ADMIN) ||
		    !store_policy_is_owner(p, g->origin) || removed(p, g, true))
			continue;
		for (size_t j = 0; j < p->nops; j++)
			if (memcmp(p->ops[j].origin, g->member, ARR_ORIGIN_LEN) == 0)
				p->ops[j].issuer = true;
	}
	for (size_t i = 0; i < p->nops; i++) {
		struct store_policy_op *o = &p->ops[i];

		if (o->op == POLICY_GRANT)
			o->valid = o->issuer && !removed(p, o, (o->roles & ROLE_ADMIN) != 0);
		else if (o->op == POLICY_REVOKE || o->op == POLICY_REKEY)
			o->valid = o->issuer;
	}
	p->write_key = 0;
	p->nheads = 0;
	/* the keys valid rotations supersede, sorted (in place of the prevs' key ids) */
	for (size_t j = 0; j < p->nprevs; j++) {
		const struct store_policy_op *by = op_by_log(p, p->prevs[j].log);

		if (by == NULL || !by->valid)
			p->prevs[j].key_id = 0; /* no key has id 0 */
	}
	for (size_t j = 0; j < p->nprevs; j++)
		p->superseded[j] = p->prevs[j].key_id;
	if (p->nprevs > 0)
		qsort(p->superseded, p->nprevs, sizeof(*p->superseded), cmp_u64);
	for (size_t i = 0; i < p->nops; i++) {
		struct store_policy_op *o = &p->ops[i];
		bool head = o->valid && o->op != POLICY_GRANT &&
		            (p->nprevs == 0 || bsearch(&o->key_id, p->superseded, p->nprevs,
		                                       sizeof(*p->superseded), cmp_u64) == NULL);

		o->head = head;
		if (head) {
			p->nheads++;
			if (p->write_key == 0 || o->key_id < p->write_key)
				p->write_key = o->key_id;
		}
	}
}

int
store_policy_load(struct store *s, int64_t sc, struct store_policy *p)
{
	uint8_t scope[ARR_SCOPE_LEN];
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = store_scope_bytes(s, sc, scope)) < 0 || (rc = load_parts(s, sc, p)) < 0) {
		store_policy_free(p);
		return rc;
	}
	if (p->nprevs > 0 && (p->superseded = calloc(p->nprevs, sizeof(*p->superseded))) == NULL) {
		store_policy_free(p);
		return ARR_ENOMEM;
	}
	if (p->nops > 0)
		qsort(p->ops, p->nops, sizeof(*p->ops), cmp_entry);
	if (p->nrms > 0)
		qsort(p->rms, p->nrms, sizeof(*p->rms), cmp_rm);
	if (p->nslots > 0)
		qsort(p->slots, p->nslots, sizeof(*p->slots), cmp_slot);
	evaluate(p, scope);
	return 0;
}

bool
store_policy_is_reader(const struct store_policy *p, const uint8_t member[ARR_ORIGIN_LEN])
{
	if (store_policy_is_owner(p, member))
		return true;
	for (size_t i = 0; i < p->nops; i++)
		if (p->ops[i].op == POLICY_GRANT && p->ops[i].valid &&
		    memcmp(p->ops[i].member, member, ARR_ORIGIN_LEN) == 0)
			return true;
	return false;
}

bool
store_policy_may_issue(const struct store_policy *p, const uint8_t origin[ARR_ORIGIN_LEN])
{
	if (store_policy_is_owner(p, origin))
		return true;
	for (size_t i = 0; i < p->nops; i++)
		if (p->ops[i].op == POLICY_GRANT && p->ops[i].valid &&
		    (p->ops[i].roles & ROLE_ADMIN) && store_policy_is_owner(p, p->ops[i].origin) &&
		    memcmp(p->ops[i].member, origin, ARR_ORIGIN_LEN) == 0)
			return true;
	return false;
}

bool
store_policy_has_slot(const struct store_policy *p, uint64_t key_id,
                      const uint8_t member[ARR_ORIGIN_LEN])
{
	struct store_policy_slot key = {.key_id = key_id};

	memcpy(key.member, member, ARR_ORIGIN_LEN);
	return p->nslots > 0 &&
	       bsearch(&key, p->slots, p->nslots, sizeof(*p->slots), cmp_slot) != NULL;
}

bool
store_policy_needs_rekey(const struct store_policy *p)
{
	if (p->nheads > 1)
		return true;
	if (p->write_key == 0)
		return false;
	/* every reader holds the write key, and nobody else was given it */
	for (size_t i = 0; i < p->nops; i++) {
		const struct store_policy_op *g = &p->ops[i];

		if (g->op == POLICY_GRANT && g->valid &&
		    !store_policy_has_slot(p, p->write_key, g->member))
			return true;
	}
	/*
	 * slots of the write key an issuer handed out (a slot in a change set of a member
	 * that may not issue policy means nothing: only its author and the slot's member could
	 * know that key, and it is not the write key unless an issuer made it so)
	 */
	for (size_t i = 0; i < p->nslots; i++) {
		const struct store_policy_op *by;

		if (p->slots[i].key_id != p->write_key ||
		    (by = op_by_log(p, p->slots[i].log)) == NULL || !by->issuer)
			continue;
		if (!store_policy_is_reader(p, p->slots[i].member))
			return true;
	}
	return false;
}
