/*
 * store_quota.c: the storage quota of each origin: how many bytes of log a member's
 * origin may hold on this node (struct store_budget, log_bytes), which origins are over
 * it, and what they were refused. What each origin's log holds is kept by triggers on
 * _log (_log_use, store_open.c). It decides nothing else about a change set
 * (store_apply.c asks it) and never deletes what is logged.
 *
 * Why: a member with a valid key can sign change sets as fast as it likes; budgets of
 * pending and quarantine bound what waits, but an accepted change set stays in the log
 * for good, so without a quota one member could fill every node's disk.
 *
 * An origin over its quota has its change sets refused, not logged, so its vector entry
 * stays put and nothing acknowledged is lost: the peers keep them, and once an operator
 * raises the quota the next pull fetches them again. The highest seq refused is remembered
 * (in memory only) so that pulls can move past that origin (store_quota_held()).
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "store_int.h"

/* What one origin over its quota was refused since it went over. */
struct store_quota_over {
	int64_t oid;
	uint64_t refused; /* change sets refused */
	uint64_t top;     /* the highest seq refused */
};

/* The over-quota record of oid, or NULL. */
static struct store_quota_over *
find(struct store *s, int64_t oid)
{
	for (size_t i = 0; i < s->nover; i++)
		if (s->over[i].oid == oid)
			return &s->over[i];
	return NULL;
}

/* Bytes of log oid holds (0 when none). */
static int
used(struct store *s, int64_t oid, uint64_t *bytes)
{
	int64_t v;
	int rc = store_db_row_ints(s->st[ST_LOG_USE], oid, 1, &v);

	*bytes = (uint64_t)v;
	return rc;
}

/* Remember that oid was refused seq; ARR_ENOMEM only when a new record cannot be made. */
static int
refuse(struct store *s, int64_t oid, uint64_t seq)
{
	struct store_quota_over *o = find(s, oid);

	if (o == NULL) {
		if (s->nover == s->over_cap) {
			size_t cap = s->over_cap ? 2 * s->over_cap : 4;
			void *p = realloc(s->over, cap * sizeof(*s->over));

			if (p == NULL)
				return ARR_ENOMEM;
			s->over = p;
			s->over_cap = cap;
		}
		o = &s->over[s->nover++];
		*o = (struct store_quota_over){.oid = oid};
		s->quota_gen++;
	}
	o->refused++;
	s->quota_refused++;
	if (seq > o->top) {
		o->top = seq;
		s->quota_gen++;
	}
	return 0;
}

/*
 * May the verified change set (oid, seq) of len bytes be logged, or held pending to be
 * logged? Always for our own origin (local writes are the operator's own); for another,
 * not once it is over its quota, nor when its log plus len would pass it. A refusal is
 * counted and remembered.
 */
int
store_quota_admit(struct store *s, int64_t oid, uint64_t seq, size_t len, bool *admit)
{
	uint64_t bytes;
	int rc;

	*admit = true;
	if (oid == s->self_oid)
		return 0;
	if (find(s, oid) == NULL) {
		if ((rc = used(s, oid, &bytes)) < 0)
			return rc;
		if (bytes + len <= s->budget.log_bytes)
			return 0;
	}
	*admit = false;
	return refuse(s, oid, seq);
}

/* The quota changed (store_set_budget): every origin gets another chance. */
void
store_quota_reset(struct store *s)
{
	s->nover = 0;
	s->quota_gen++;
}

int
store_quota_list(struct store *s, store_quota_fn fn, void *ctx)
{
	int rc;

	for (size_t i = 0; i < s->nover; i++) {
		struct store_quota_origin q = {.refused = s->over[i].refused,
		                               .quota = s->budget.log_bytes};

		if (s->over[i].oid < 1 || (size_t)s->over[i].oid > s->norigins)
			continue;
		q.origin = s->origins[s->over[i].oid - 1];
		if ((rc = used(s, s->over[i].oid, &q.bytes)) < 0 || (rc = fn(ctx, &q)) != 0)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

uint64_t
store_quota_refused(const struct store *s, uint64_t *gen)
{
	if (gen != NULL)
		*gen = s->quota_gen;
	return s->quota_refused;
}

int
store_quota_held(struct store *s, struct vv *v)
{
	int rc;

	for (size_t i = 0; i < s->nover; i++) {
		const uint8_t *origin;

		if (s->over[i].oid < 1 || (size_t)s->over[i].oid > s->norigins)
			continue;
		origin = s->origins[s->over[i].oid - 1];
		if (s->over[i].top > vv_get(v, origin) &&
		    (rc = vv_set(v, origin, s->over[i].top)) != 0)
			return rc;
	}
	return 0;
}
