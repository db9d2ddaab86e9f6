/*
 * store_member.c: the region's membership in the replica (store_member.h). Member change
 * sets are logged like any other and noted in _member; the list is folded again from them
 * (member_fold.c) whenever one is logged or the seed or the region changes, and the change
 * sets a removed member signed above its cut leave the log (store_equiv_cut), so every node
 * keeps the same history. It checks each remote change set's origin and author_org against
 * the list. It merges no cells and decides nothing about peers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "store_int.h"
#include "store_member.h"

struct store_mship {
	struct member_fold fold;
	struct member_rec *seed;
	size_t nseed;
	bool has_region;
	uint8_t region[MEMBER_REGION_LEN];
	size_t ops;
	uint64_t cut_masked;
	uint64_t gen;
};

static int refold(struct store *s);

int
store_member_open(struct store *s)
{
	if ((s->mship = calloc(1, sizeof(*s->mship))) == NULL)
		return ARR_ENOMEM;
	return refold(s);
}

void
store_member_close(struct store *s)
{
	if (s->mship == NULL)
		return;
	member_fold_clear(&s->mship->fold);
	free(s->mship->seed);
	free(s->mship);
	s->mship = NULL;
}

/* The member op of a change set, if it is a member change set, into op. */
static bool
op_of(const struct changeset *cs, struct member_fold_op *op)
{
	if (cs->nparts != 1 || cs->parts[0].kind != CS_MEMBER || cs->parts[0].member == NULL)
		return false;
	memset(op, 0, sizeof(*op));
	memcpy(op->origin, cs->origin, ARR_ORIGIN_LEN);
	op->seq = cs->h.seq;
	op->hlc = cs->h.hlc;
	snprintf(op->author_org, sizeof(op->author_org), "%s", cs->h.author_org);
	op->body = *cs->parts[0].member;
	return true;
}

/* Every member op in the log, into a new array. */
static int
load_ops(struct store *s, struct member_fold_op **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct member_fold_op *v = NULL;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(s->db,
	                             "SELECT l.raw FROM _member m JOIN _log l ON l.id = m.log "
	                             "ORDER BY m.log",
	                             -1, &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct changeset *cs = NULL;

		if (changeset_decode(sqlite3_column_blob(st, 0),
		                     (size_t)sqlite3_column_bytes(st, 0), &cs) != 0)
			continue; /* a log id reused by another change set: not a member op */
		if (*n == cap) {
			struct member_fold_op *nv =
			    realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (nv == NULL) {
				changeset_destroy(&cs);
				rc = ARR_ENOMEM;
				goto out;
			}
			v = nv;
		}
		if (op_of(cs, &v[*n]))
			(*n)++;
		changeset_destroy(&cs);
	}
	rc = rc == SQLITE_DONE ? 0 : store_db_error(rc);
out:
	sqlite3_finalize(st);
	if (rc < 0)
		free(v);
	else
		*out = v;
	return rc;
}

/*
 * A removed member's change sets above its cut that this node holds: taken out of the log,
 * the vector and the merge (as for an equivocation). *masked says whether any was.
 */
static int
mask_cuts(struct store *s, bool *masked)
{
	const struct member_fold *f = &s->mship->fold;
	int rc;

	*masked = false;
	for (size_t i = 0; i < f->n; i++) {
		const struct member_rec *r = &f->v[i];

		if (!r->removed || memcmp(r->key, s->self, ARR_ORIGIN_LEN) == 0 ||
		    vv_get(s->vec, r->key) <= r->cut)
			continue;
		if ((rc = store_equiv_cut(s, r->key, r->cut + 1)) < 0)
			return rc;
		s->mship->cut_masked++;
		*masked = true;
	}
	return 0;
}

/* Fold the list again from the log, the seed and the region; mask what cuts exclude. */
static int
refold(struct store *s)
{
	struct store_mship *m = s->mship;
	struct member_fold_op *ops = NULL;
	bool masked = true;
	int rc = 0;

	/* a mask takes change sets out of the log, which may hold member ops: fold again */
	for (size_t round = 0; masked && rc == 0 && round <= m->fold.n + 1; round++) {
		size_t n = 0;

		free(ops);
		ops = NULL;
		if ((rc = load_ops(s, &ops, &n)) < 0 ||
		    (rc = member_fold_run(&m->fold, m->seed, m->nseed,
		                          m->has_region ? m->region : NULL, ops, n)) < 0)
			break;
		m->ops = n;
		rc = mask_cuts(s, &masked);
	}
	free(ops);
	m->gen++;
	return rc;
}

int
store_member_set_region(struct store *s, const uint8_t *region)
{
	s->mship->has_region = region != NULL;
	if (region != NULL)
		memcpy(s->mship->region, region, MEMBER_REGION_LEN);
	return refold(s);
}

int
store_member_seed(struct store *s, const struct member_rec *seed, size_t n)
{
	struct member_rec *v = NULL;

	if (n > 0 && (v = malloc(n * sizeof(*v))) == NULL)
		return ARR_ENOMEM;
	if (n > 0)
		memcpy(v, seed, n * sizeof(*v));
	free(s->mship->seed);
	s->mship->seed = v;
	s->mship->nseed = n;
	return refold(s);
}

/* Is cs the GENESIS of the trusted region (its origin a member by it)? */
static bool
trusted_genesis(const struct store *s, const struct changeset *cs)
{
	struct member_fold_op op;

	return s->mship->has_region && op_of(cs, &op) &&
	       member_fold_genesis_ok(s->mship->region, &op);
}

int
store_member_admit(struct store *s, const struct changeset *cs, char *detail, size_t dlen)
{
	const struct member_rec *r = member_fold_find(&s->mship->fold, cs->origin);
	const char *org = NULL;

	if (memcmp(cs->origin, s->self, ARR_ORIGIN_LEN) == 0) {
		org = s->org;
	} else if (r != NULL) {
		if (!member_fold_valid(r, cs->h.seq)) {
			snprintf(detail, dlen, "origin %s the region at seq %" PRIu64,
			         r->rotated ? "rotated its key out of" : "was removed from",
			         r->cut);
			return ARR_ENOTMEMBER;
		}
		org = r->organisation;
	} else if (trusted_genesis(s, cs)) {
		org = cs->parts[0].member->organisation;
	} else if (s->member_org == NULL ||
	           (org = s->member_org(s->member_ctx, cs->origin)) == NULL) {
		snprintf(detail, dlen, "origin is not a member");
		return ARR_ENOTMEMBER;
	}
	/* anyone may sign, but only in the name of its member record's organisation */
	if (strcmp(cs->h.author_org, org) != 0) {
		snprintf(detail, dlen, "author_org is not the signer's organisation");
		return ARR_EAUTHOR;
	}
	return 0;
}

int
store_member_logged(struct store *s, const struct changeset *cs, int64_t log_id)
{
	struct member_fold_op op;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!op_of(cs, &op))
		return 0;
	if ((rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO _member(log) VALUES(?1)", -1,
	                             &st, NULL)) != SQLITE_OK)
		return store_db_error(rc);
	sqlite3_bind_int64(st, 1, log_id);
	rc = store_db_run(st);
	sqlite3_finalize(st);
	return rc < 0 ? rc : refold(s);
}

/*
 * Would m, issued by this node as its next change set, change the list? Folds the list
 * with it added (the fold sorts a copy). 0 with *why NULL when it would.
 */
static int
would_apply(struct store *s, const struct cs_member *m, uint64_t seq, uint64_t hlc,
            const char **why)
{
	struct member_fold trial = {0};
	struct member_fold_op *ops = NULL;
	size_t n = 0;
	int rc;

	*why = NULL;
	if ((rc = load_ops(s, &ops, &n)) < 0)
		return rc;
	{
		struct member_fold_op *nv = realloc(ops, (n + 1) * sizeof(*ops));

		if (nv == NULL) {
			free(ops);
			return ARR_ENOMEM;
		}
		ops = nv;
	}
	memset(&ops[n], 0, sizeof(ops[n]));
	memcpy(ops[n].origin, s->self, ARR_ORIGIN_LEN);
	ops[n].seq = seq;
	ops[n].hlc = hlc;
	snprintf(ops[n].author_org, sizeof(ops[n].author_org), "%s", s->org);
	ops[n].body = *m;
	rc = member_fold_run(&trial, s->mship->seed, s->mship->nseed,
	                     s->mship->has_region ? s->mship->region : NULL, ops, n + 1);
	for (size_t i = 0; rc == 0 && i <= n; i++)
		if (ops[i].seq == seq && memcmp(ops[i].origin, s->self, ARR_ORIGIN_LEN) == 0 &&
		    !ops[i].effective)
			*why = ops[i].why != NULL ? ops[i].why : "it would change nothing";
	member_fold_clear(&trial);
	free(ops);
	return rc;
}

/* Build, sign and apply m as the next own change set (in the caller's transaction). */
static int
issue_locked(struct store *s, const struct cs_member *m, uint64_t *seq, const char **why)
{
	struct changeset *cs = NULL;
	struct cs_header h;
	struct cs_part_in part = {.kind = CS_MEMBER, .member = m};
	int rc;

	store_pack_header(s, &h);
	if ((rc = would_apply(s, m, h.seq, h.hlc, why)) < 0)
		return rc;
	if (*why != NULL)
		return ARR_EFORBIDDEN;
	if ((rc = changeset_build(s->key, &h, &part, 1, &cs)) < 0)
		return rc;
	if ((rc = store_apply_changeset(s, cs, s->self_oid)) == 0)
		*seq = cs->h.seq;
	changeset_destroy(&cs);
	return rc;
}

int
store_member_issue(struct store *s, const struct cs_member *m, uint64_t *seq, const char **why)
{
	int rc;

	*why = NULL;
	*seq = 0;
	if (member_check(m) != 0)
		return ARR_EINVAL;
	if ((rc = store_bulk_flush(s)) < 0 ||
	    (rc = store_writes_held(s, NULL) ? ARR_ESTATE : 0) < 0)
		return rc;
	if ((rc = store_db_begin(s)) < 0)
		return rc;
	if ((rc = issue_locked(s, m, seq, why)) < 0) {
		store_db_rollback(s);
		(void)refold(s);
		return rc;
	}
	return store_db_commit(s);
}

size_t
store_member_count(const struct store *s)
{
	return s->mship->fold.n;
}

const struct member_rec *
store_member_at(const struct store *s, size_t i)
{
	return i < s->mship->fold.n ? &s->mship->fold.v[i] : NULL;
}

const struct member_rec *
store_member_find(const struct store *s, const uint8_t key[ARR_ORIGIN_LEN])
{
	return member_fold_find(&s->mship->fold, key);
}

bool
store_member_region(const struct store *s, uint8_t id[MEMBER_REGION_LEN], const char **name)
{
	if (id != NULL)
		memcpy(id, s->mship->region, MEMBER_REGION_LEN);
	if (name != NULL)
		*name = s->mship->fold.name;
	return s->mship->fold.founded;
}

uint8_t
store_member_kind(const struct store *s, const uint8_t origin[ARR_ORIGIN_LEN])
{
	const struct member_rec *r = member_fold_find(&s->mship->fold, origin);

	return r != NULL ? r->kind : 0;
}

uint64_t
store_member_gen(const struct store *s)
{
	return s->mship->gen;
}

void
store_member_stats(const struct store *s, struct store_member_stats *out)
{
	const struct member_fold *f = &s->mship->fold;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < f->n; i++) {
		if (f->v[i].removed)
			out->removed++;
		else
			out->members++;
	}
	out->ops = s->mship->ops;
	out->ineffective = f->ineffective;
	out->cut_masked = s->mship->cut_masked;
	out->gen = s->mship->gen;
}
