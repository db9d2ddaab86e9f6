/*
 * store_verdict_policy.c: the compiled policy of a scope for the verdict (store_verdict.c):
 * its policy set (store_policy_load) turned into a sorted table of grants, each with the
 * limit its REVOKEs set, cached per (scope, policy epoch); and, when a scope's policy
 * grows, which members' grants changed, so that only their verdicts are judged again
 * (store_verdict_redo.c). It judges nothing and writes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "policy.h"
#include "store_verdict_int.h"

static int
cmp_grant(const void *a, const void *b)
{
	const struct vgrant *x = a, *y = b;
	int c = memcmp(x->member, y->member, ARR_ORIGIN_LEN);

	if (c != 0)
		return c;
	if (x->roles != y->roles)
		return x->roles > y->roles ? 1 : -1;
	return (x->upto > y->upto) - (x->upto < y->upto);
}

/* The cut of the REVOKE of part of log_id (its body, decoded again: revokes are rare). */
static int
cut_of(struct store *s, int64_t log_id, int part, uint64_t *cut)
{
	sqlite3_stmt *st = s->st[ST_LOG_BY_ID];
	struct changeset *cs = NULL;
	int rc;

	*cut = 0;
	sqlite3_bind_int64(st, 1, log_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = changeset_decode(sqlite3_column_blob(st, 1),
		                      (size_t)sqlite3_column_bytes(st, 1), &cs);
		if (rc == 0 && part >= 0 && (size_t)part < cs->nparts &&
		    cs->parts[part].policy != NULL)
			*cut = cs->parts[part].policy->cut;
		else if (rc != ARR_ENOMEM)
			rc = ARR_EDB; /* logged bytes always decode */
	} else {
		rc = rc == SQLITE_DONE ? ARR_EDB : store_db_error(rc);
	}
	sqlite3_reset(st);
	changeset_destroy(&cs);
	return rc;
}

static const struct store_policy_op *
op_at(const struct store_policy *p, int64_t log)
{
	size_t lo = 0, hi = p->nops;

	while (lo < hi) { /* p->ops are sorted by log (store_policy_load) */
		size_t mid = lo + (hi - lo) / 2;

		if (p->ops[mid].log < log)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nops && p->ops[lo].log == log ? &p->ops[lo] : NULL;
}

/* The first of p's rms (sorted by origin, seq) that names grant g. */
static size_t
rm_first(const struct store_policy *p, const struct store_policy_op *g)
{
	size_t lo = 0, hi = p->nrms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(p->rms[mid].origin, g->origin, ARR_ORIGIN_LEN);

		if (c < 0 || (c == 0 && p->rms[mid].seq < g->seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The limit of grant g: the lowest cut of the REVOKEs that may remove it (an issuer's;
 * the owner's for an admin grant), UINT64_MAX when none does.
 */
static int
grant_upto(struct store *s, const struct store_policy *p, const struct store_policy_op *g,
           uint64_t *upto)
{
	*upto = UINT64_MAX;
	for (size_t i = rm_first(p, g); i < p->nrms && p->rms[i].seq == g->seq &&
	                                memcmp(p->rms[i].origin, g->origin, ARR_ORIGIN_LEN) == 0;
	     i++) {
		const struct store_policy_op *rv = op_at(p, p->rms[i].log);
		uint64_t cut = 0;
		int rc;

		if (rv == NULL || rv->op != POLICY_REVOKE ||
		    !((g->roles & ROLE_ADMIN) ? store_policy_is_owner(p, rv->origin) : rv->issuer))
			continue;
		if (rv->has_member && memcmp(rv->member, g->member, ARR_ORIGIN_LEN) == 0 &&
		    (rc = cut_of(s, rv->log, rv->part, &cut)) < 0)
			return rc;
		if (cut < *upto)
			*upto = cut;
	}
	return 0;
}

/* Compile the policy set of sc into e (whose grants it replaces). */
static int
compile(struct store *s, int64_t sc, struct vpolicy *e)
{
	struct store_policy p;
	struct vgrant *g = NULL;
	size_t ng = 0;
	int rc;

	if ((rc = store_policy_load(s, sc, &p)) < 0)
		return rc;
	if (p.nops > 0 && (g = calloc(p.nops, sizeof(*g))) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p.nops; i++) {
		const struct store_policy_op *o = &p.ops[i];

		/* a GRANT by a member that may not issue policy grants nothing */
		if (o->op != POLICY_GRANT || !o->issuer || !o->has_member)
			continue;
		memcpy(g[ng].member, o->member, ARR_ORIGIN_LEN);
		g[ng].roles = o->roles;
		if ((rc = grant_upto(s, &p, o, &g[ng].upto)) < 0)
			goto out;
		ng++;
	}
	if (ng > 0)
		qsort(g, ng, sizeof(*g), cmp_grant);
	free(e->g);
	e->g = g;
	g = NULL;
	e->ng = ng;
	e->sc = sc;
	e->has_owner = p.has_owner;
	memcpy(e->owner, p.owner, ARR_ORIGIN_LEN);
	s->verdicts->compiles++;
out:
	free(g);
	store_policy_free(&p);
	return rc;
}

static int
epoch_of(struct store *s, int64_t sc, int64_t *n, int64_t *maxlog)
{
	sqlite3_stmt *st = s->verdicts->epoch;
	int rc;

	*n = *maxlog = 0; /* an aggregate has its row, but the compiler cannot know */
	sqlite3_bind_int64(st, 1, sc);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		*maxlog = sqlite3_column_int64(st, 1);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

static struct vpolicy *
cached(struct store_verdicts *v, int64_t sc)
{
	for (size_t i = 0; i < VERDICT_CACHE; i++)
		if (v->e[i].sc == sc)
			return &v->e[i];
	return NULL;
}

int
store_verdict_lookup(struct store *s, int64_t sc, const struct vpolicy **out)
{
	struct store_verdicts *v = s->verdicts;
	struct vpolicy *e;
	int64_t n, maxlog;
	int rc;

	if ((rc = epoch_of(s, sc, &n, &maxlog)) < 0)
		return rc;
	if ((e = cached(v, sc)) == NULL) {
		e = &v->e[v->next];
		v->next = (v->next + 1) % VERDICT_CACHE;
		e->sc = 0;
	} else if (e->n == n && e->maxlog == maxlog) {
		*out = e;
		return 0;
	}
	if ((rc = compile(s, sc, e)) < 0) {
		e->sc = 0;
		return rc;
	}
	e->n = n;
	e->maxlog = maxlog;
	*out = e;
	return 0;
}

/* Whether member's grants differ between a and b (both sorted). */
static bool
member_differs(const struct vpolicy *a, const struct vpolicy *b,
               const uint8_t member[ARR_ORIGIN_LEN])
{
	size_t i = 0, j = 0;

	while (i < a->ng && memcmp(a->g[i].member, member, ARR_ORIGIN_LEN) < 0)
		i++;
	while (j < b->ng && memcmp(b->g[j].member, member, ARR_ORIGIN_LEN) < 0)
		j++;
	for (;;) {
		bool ai = i < a->ng && memcmp(a->g[i].member, member, ARR_ORIGIN_LEN) == 0;
		bool bj = j < b->ng && memcmp(b->g[j].member, member, ARR_ORIGIN_LEN) == 0;

		if (!ai || !bj)
			return ai != bj;
		if (cmp_grant(&a->g[i++], &b->g[j++]) != 0)
			return true;
	}
}

/* The members whose grants differ between old and now, into *out (malloc'd). */
static int
changed_members(const struct vpolicy *old, const struct vpolicy *now,
                uint8_t (**out)[ARR_ORIGIN_LEN], size_t *n)
{
	size_t cap = old->ng + now->ng;

	*n = 0;
	if (cap == 0)
		return 0;
	if ((*out = calloc(cap, ARR_ORIGIN_LEN)) == NULL)
		return ARR_ENOMEM;
	for (size_t k = 0; k < cap; k++) {
		const uint8_t *m = k < old->ng ? old->g[k].member : now->g[k - old->ng].member;

		if ((*n > 0 && memcmp((*out)[*n - 1], m, ARR_ORIGIN_LEN) == 0) ||
		    !member_differs(old, now, m))
			continue;
		/* old's and now's are each sorted: skip one already taken */
		bool seen = false;

		for (size_t q = 0; q < *n && !seen; q++)
			seen = memcmp((*out)[q], m, ARR_ORIGIN_LEN) == 0;
		if (!seen)
			memcpy((*out)[(*n)++], m, ARR_ORIGIN_LEN);
	}
	return 0;
}

int
store_verdict_policy_before(struct store *s, const uint8_t scope[ARR_SCOPE_LEN])
{
	struct vpolicy *b = &s->verdicts->before;
	const struct vpolicy *e;
	bool judged;
	int64_t sc;
	int rc;

	b->sc = 0;
	s->verdicts->before_unjudged = false;
	if (changeset_scope_is_region(scope))
		return 0;
	if ((rc = store_scope_local(s, scope, false, &sc)) == ARR_ENOTFOUND) {
		s->verdicts->before_unjudged = true; /* a scope new here: nothing judged yet */
		return 0;
	}
	if (rc < 0 || (rc = store_verdict_exists(s->verdicts->judged, sc, &judged)) < 0)
		return rc;
	/* nothing judged yet (a catch-up: policy first): what is judged later sees it all */
	if (!judged) {
		s->verdicts->before_unjudged = true;
		return 0;
	}
	if ((rc = store_verdict_lookup(s, sc, &e)) < 0)
		return rc;
	free(b->g);
	*b = *e;
	b->g = NULL;
	b->sc = 0;
	if (e->ng > 0 && (b->g = malloc(e->ng * sizeof(*b->g))) == NULL)
		return ARR_ENOMEM;
	if (e->ng > 0)
		memcpy(b->g, e->g, e->ng * sizeof(*b->g));
	b->sc = sc;
	return 0;
}

int
store_verdict_policy_grew(struct store *s, int64_t sc)
{
	struct vpolicy *old = &s->verdicts->before;
	const struct vpolicy *now;
	uint8_t(*members)[ARR_ORIGIN_LEN] = NULL;
	size_t n = 0;
	bool all;
	int rc;

	if (sc == 0)
		return 0;
	/* judged after the policy was recorded (materialised with its keys), or not at all */
	if (s->verdicts->before_unjudged) {
		s->verdicts->before_unjudged = false;
		return 0;
	}
	if ((rc = store_verdict_lookup(s, sc, &now)) < 0)
		goto out;
	/* judged by the policy before (store_verdict_policy_before), or unknown: all again */
	all = old->sc != sc || old->has_owner != now->has_owner ||
	      (old->has_owner && memcmp(old->owner, now->owner, ARR_ORIGIN_LEN) != 0);
	if (!all && (rc = changed_members(old, now, &members, &n)) < 0)
		goto out;
	if (all || n > 0)
		rc = store_verdict_redo(s, sc, (const uint8_t(*)[ARR_ORIGIN_LEN])members, n, all);
out:
	old->sc = 0;
	free(members);
	return rc;
}

int
store_verdict_policy_all(struct store *s, int64_t sc)
{
	bool judged;
	int rc;

	s->verdicts->before.sc = 0;
	if ((rc = store_verdict_exists(s->verdicts->judged, sc, &judged)) < 0 || !judged)
		return rc;
	return store_verdict_redo(s, sc, NULL, 0, true);
}
