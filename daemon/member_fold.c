/*
 * member_fold.c: the region's member list as a pure function of the seed and the set of
 * member ops (member_fold.h). The ops are applied in (hlc, origin, seq) order, each checked
 * against the list folded so far: who may issue it (a registrar valid at the op's seq, or the
 * member itself for its own ROTATE and ENDPOINT) and what it may change (a key is added once,
 * a removed key stays removed). Then every op whose signer ended up cut below the op's seq is
 * excluded and the fold runs again, until nothing more is excluded: the same set gives the
 * same list at every node. It never reads the database, a clock or a socket.
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "member_fold.h"

static int
cmp_op(const void *a, const void *b)
{
	const struct member_fold_op *x = a, *y = b;
	int c;

	if (x->hlc != y->hlc)
		return x->hlc < y->hlc ? -1 : 1;
	if ((c = memcmp(x->origin, y->origin, ARR_ORIGIN_LEN)) != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
member_fold_clear(struct member_fold *f)
{
	if (f == NULL)
		return;
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
	f->founded = false;
	f->name[0] = '\0';
	f->effective = f->ineffective = 0;
}

const struct member_rec *
member_fold_find(const struct member_fold *f, const uint8_t key[ARR_ORIGIN_LEN])
{
	for (size_t i = 0; f != NULL && i < f->n; i++)
		if (memcmp(f->v[i].key, key, ARR_ORIGIN_LEN) == 0)
			return &f->v[i];
	return NULL;
}

bool
member_fold_valid(const struct member_rec *rec, uint64_t seq)
{
	return rec != NULL && (!rec->removed || seq <= rec->cut);
}

bool
member_fold_genesis_ok(const uint8_t *region, const struct member_fold_op *op)
{
	uint8_t id[MEMBER_REGION_LEN];

	if (region == NULL || op->body.op != MEMBER_GENESIS ||
	    memcmp(op->body.key, op->origin, ARR_ORIGIN_LEN) != 0 ||
	    strcmp(op->body.organisation, op->author_org) != 0 ||
	    memcmp(op->body.region, region, MEMBER_REGION_LEN) != 0)
		return false;
	member_region_id(op->origin, op->seq, id);
	return memcmp(id, region, MEMBER_REGION_LEN) == 0;
}

static struct member_rec *
find_mut(struct member_fold *f, const uint8_t key[ARR_ORIGIN_LEN])
{
	return (struct member_rec *)(uintptr_t)member_fold_find(f, key);
}

/* A new record for key at the end of f (zeroed but for the key), or NULL. */
static struct member_rec *
append(struct member_fold *f, const uint8_t key[ARR_ORIGIN_LEN])
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct member_rec *v = realloc(f->v, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		f->v = v;
		f->cap = cap;
	}
	memset(&f->v[f->n], 0, sizeof(f->v[f->n]));
	memcpy(f->v[f->n].key, key, ARR_ORIGIN_LEN);
	return &f->v[f->n++];
}

/* A new member from a GENESIS or an ADD. */
static int
add(struct member_fold *f, const struct member_fold_op *op)
{
	const struct cs_member *b = &op->body;
	struct member_rec *r = append(f, b->key);

	if (r == NULL)
		return ARR_ENOMEM;
	memcpy(r->organisation, b->organisation, sizeof(r->organisation));
	memcpy(r->endpoint, b->endpoint, sizeof(r->endpoint));
	r->kind = b->kind;
	r->roles = b->roles;
	memcpy(r->by, op->origin, ARR_ORIGIN_LEN);
	r->by_seq = op->seq;
	return 0;
}

/* The new key of a ROTATE takes the old one's place; the old one is cut. */
static int
rotate(struct member_fold *f, struct member_rec *old, const struct member_fold_op *op, bool self)
{
	size_t at = (size_t)(old - f->v);
	struct member_rec *r;
	uint64_t cut = self ? op->seq : op->body.cut;

	if (self && op->body.cut != 0 && op->body.cut < cut)
		cut = op->body.cut;
	if ((r = append(f, op->body.new_key)) == NULL)
		return ARR_ENOMEM;
	old = &f->v[at]; /* append may have moved it */
	*r = *old;
	memcpy(r->key, op->body.new_key, ARR_ORIGIN_LEN);
	r->seeded = r->removed = r->rotated = false;
	r->cut = 0;
	memcpy(r->by, op->origin, ARR_ORIGIN_LEN);
	r->by_seq = op->seq;
	old->removed = old->rotated = true;
	old->cut = cut;
	memcpy(old->new_key, op->body.new_key, ARR_ORIGIN_LEN);
	return 0;
}

/* One op against the list so far: applied (op->effective) or why not (op->why). */
static int
step(struct member_fold *f, const uint8_t *region, struct member_fold_op *op)
{
	const struct cs_member *b = &op->body;
	const struct member_rec *signer = member_fold_find(f, op->origin);
	struct member_rec *target = find_mut(f, b->key);
	bool valid = member_fold_valid(signer, op->seq);
	bool registrar = valid && (signer->roles & MEMBER_ROLE_REGISTRAR);
	bool self = valid && target != NULL && signer == target;
	int rc = 0;

	op->effective = false;
	op->why = NULL;
	if (b->op == MEMBER_GENESIS) {
		if (f->founded || !member_fold_genesis_ok(region, op))
			op->why = "not the genesis of this node's region";
		else if (target != NULL)
			op->why = "key already a member";
		else if ((rc = add(f, op)) == 0) {
			f->founded = true;
			memcpy(f->name, b->name, sizeof(f->name));
		}
	} else if (!valid)
		op->why = "issuer not a member at that seq";
	else if (b->op == MEMBER_ADD || b->op == MEMBER_REMOVE ||
	         (b->op == MEMBER_ROTATE && !self) || (b->op == MEMBER_ENDPOINT && !self)) {
		if (!registrar)
			op->why = "issuer not a registrar";
	}
	if (op->why != NULL || rc != 0 || b->op == MEMBER_GENESIS)
		goto out;
	if (b->op == MEMBER_ADD) {
		if (target != NULL)
			op->why = "key already known (keys are not reused)";
		else
			rc = add(f, op);
		goto out;
	}
	if (target == NULL || target->removed) {
		op->why = target == NULL ? "no such member" : "member already removed";
		goto out;
	}
	if (b->op == MEMBER_REMOVE) {
		target->removed = true;
		target->cut = b->cut;
	} else if (b->op == MEMBER_ROTATE) {
		if (member_fold_find(f, b->new_key) != NULL)
			op->why = "new key already known";
		else
			rc = rotate(f, target, op, self);
	} else {
		memcpy(target->endpoint, b->endpoint, sizeof(target->endpoint));
	}
out:
	op->effective = rc == 0 && op->why == NULL;
	return rc;
}

/* One pass over the sorted ops that are not excluded, from the seed. */
static int
fold_once(struct member_fold *f, const struct member_rec *seed, size_t nseed, const uint8_t *region,
          struct member_fold_op *ops, size_t n)
{
	int rc;

	member_fold_clear(f);
	for (size_t i = 0; i < nseed; i++) {
		struct member_rec *r;

		if (member_fold_find(f, seed[i].key) != NULL)
			continue;
		if ((r = append(f, seed[i].key)) == NULL)
			return ARR_ENOMEM;
		*r = seed[i];
		r->seeded = true;
	}
	for (size_t i = 0; i < n; i++) {
		if (ops[i].excluded) {
			ops[i].effective = false;
			ops[i].why = "issuer cut below this seq";
			f->ineffective++;
			continue;
		}
		if ((rc = step(f, region, &ops[i])) != 0)
			return rc;
		if (ops[i].effective)
			f->effective++;
		else
			f->ineffective++;
	}
	return 0;
}

int
member_fold_run(struct member_fold *f, const struct member_rec *seed, size_t nseed,
                const uint8_t *region, struct member_fold_op *ops, size_t n)
{
	bool more = true;
	int rc = 0;

	f->has_region = region != NULL;
	if (region != NULL)
		memcpy(f->region, region, MEMBER_REGION_LEN);
	for (size_t i = 0; i < n; i++)
		ops[i].excluded = false;
	if (n > 1)
		qsort(ops, n, sizeof(*ops), cmp_op);
	/* each round excludes at least one more op, or ends: at most n + 1 rounds */
	while (more && rc == 0) {
		more = false;
		if ((rc = fold_once(f, seed, nseed, region, ops, n)) != 0)
			break;
		for (size_t i = 0; i < n; i++) {
			const struct member_rec *s = member_fold_find(f, ops[i].origin);

			if (!ops[i].excluded && ops[i].effective &&
			    !member_fold_valid(s, ops[i].seq)) {
				ops[i].excluded = true;
				more = true;
			}
		}
	}
	return rc;
}
