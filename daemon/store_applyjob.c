/*
 * store_applyjob.c: the change set a sliced apply (store.h, store_apply_sliced) parked
 * half-merged at its deadline (inside a part or between parts), and its way to the end
 * over later calls: the rest of the merge (store_scope_resume), the vector entry, what
 * follows an apply (store_apply_next) and the commit. It owns the parked change set and
 * nothing else; it neither verifies nor merges itself (store_apply.c, store_scope.c,
 * store_merge.c), and it never commits a change set in part: its transaction stays open
 * from its log row to its vector entry, and an error rolls the whole of it back.
 */
#include <assert.h>
#include <stdlib.h>

#include "store_int.h"

int
store_applyjob_park(struct store *s, struct changeset **cs, int64_t oid, uint64_t now)
{
	assert(s->slice.cs == NULL && *cs != NULL);
	s->slice.cs = *cs;
	*cs = NULL;
	s->slice.oid = oid;
	s->slice.now = now;
	return 0;
}

/* Forget the parked change set (its transaction is being rolled back). */
void
store_applyjob_drop(struct store *s)
{
	changeset_destroy(&s->slice.cs);
	free(s->slice.known);
	s->slice.known = NULL;
	s->slice.ops = NULL;
}

bool
store_apply_busy(const struct store *s)
{
	return s->slice.cs != NULL;
}

/*
 * Merge the parked change set on until until_ms (0: to its end); once merged, count it,
 * do what follows an apply and commit. 1 while it stays parked, 0 when it finished (its
 * stats added to slice.done), or the error that rolled the transaction back.
 */
static int
run(struct store *s, uint64_t until_ms)
{
	struct store_slice *j = &s->slice;
	int rc;

	j->until_ms = until_ms;
	rc = store_scope_resume(s, j->cs, j->oid);
	j->until_ms = 0;
	if (rc == STORE_MERGE_MORE)
		return 1;
	if (rc == 0 && (rc = store_apply_count(s, j->cs, j->oid)) == 0)
		rc = store_apply_next(s, j->cs, j->oid, j->now, &j->done);
	store_applyjob_drop(s);
	if (rc == 0)
		rc = store_apply_end(s);
	if (rc < 0) {
		store_db_rollback(s);
		j->done = (struct store_apply_stats){0};
	}
	return rc;
}

int
store_apply_resume(struct store *s, uint64_t until_ms, struct store_apply_stats *stats)
{
	int rc = 0;

	if (s->slice.cs != NULL && (rc = run(s, until_ms)) == 1)
		return 1;
	if (rc == 0) {
		rc = s->slice.rc;
		s->slice.rc = 0;
	}
	if (stats != NULL)
		*stats = s->slice.done;
	s->slice.done = (struct store_apply_stats){0};
	return rc;
}

void
store_apply_settle(struct store *s)
{
	int rc;

	if (s->slice.cs != NULL && (rc = run(s, 0)) < 0)
		s->slice.rc = rc;
}
