/*
 * store_retention_act.c: acting on the due dates of the retention periods
 * (store_retention.h; docs/operations.md "Retention"): what `retention due` lists, and
 * nothing else, is acted on. An arrangement whose period for this node's own kind of
 * organisation is due has this node's copy shredded; one that this node owns and whose
 * periods are due for every kind of organisation involved is erased for everyone. It
 * decides from the list and the scope's owner only; the erasure and the shred are
 * store_erase_issue.c's, each in its own transaction.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "orgid.h"
#include "rowid.h"
#include "store_int.h"
#include "store_retention.h"

/* One arrangement as the due list gives it. */
struct act {
	char id[ARR_ROWID_STRLEN + 1];
	int due, involved; /* items due; kinds involved */
	bool own_due;      /* the item of this node's kind is due */
};

struct acts {
	char kind[16]; /* this node's organisation's kind */
	struct act *v;
	size_t n, cap;
	int rc;
};

/* store_row_fn: the kind of this node's organisation. */
static int
own_kind(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct acts *a = ctx;

	for (size_t i = 0; i < ncols; i++)
		if (strcmp(names[i], "kind") == 0 && values[i].kind == VALUE_TEXT &&
		    values[i].u.b.len < sizeof(a->kind)) {
			memcpy(a->kind, values[i].u.b.ptr, values[i].u.b.len);
			a->kind[values[i].u.b.len] = '\0';
		}
	return 0;
}

/* store_retention_fn: the items of one arrangement come together; fold them. */
static int
fold(void *ctx, const struct store_retention_item *it)
{
	struct acts *a = ctx;
	struct act *x = a->n > 0 ? &a->v[a->n - 1] : NULL;

	if (x == NULL || strcmp(x->id, it->arrangement) != 0) {
		if (a->n == a->cap) {
			size_t cap = a->cap ? a->cap * 2 : 64;
			struct act *v = realloc(a->v, cap * sizeof(*v));

			if (v == NULL)
				return a->rc = ARR_ENOMEM;
			a->v = v;
			a->cap = cap;
		}
		x = &a->v[a->n++];
		memset(x, 0, sizeof(*x));
		snprintf(x->id, sizeof(x->id), "%s", it->arrangement);
		x->involved = it->involved;
	}
	x->due += it->due;
	if (it->due && strcmp(it->kind, a->kind) == 0)
		x->own_due = true;
	return 0;
}

/* What to do with x: erase when it is this node's and every period is due, else shred. */
static int
decide(struct store *s, const struct act *x, uint8_t scope[ARR_SCOPE_LEN],
       enum store_retention_action *what)
{
	struct store_scope_info info;
	int rc;

	if ((rc = store_scope_of(s, "arrangement", x->id, scope)) < 0 ||
	    (rc = store_scope_info(s, scope, &info, NULL, NULL)) < 0)
		return rc;
	*what = info.has_owner && memcmp(info.owner, s->self, ARR_ORIGIN_LEN) == 0 &&
	                x->due == x->involved
	            ? STORE_RETENTION_ERASE
	            : STORE_RETENTION_SHRED;
	return 0;
}

/*
 * store_retention_act() stopping after max arrangements; *n of them. Acting is one
 * transaction each (store_erase_issue.c), so max bounds the work of a call.
 */
static int
act_on(struct store *s, const struct store_retention_years *y, const char *today, bool act,
       size_t max, store_retention_act_fn fn, void *ctx, size_t *n)
{
	struct acts a = {0};
	uint8_t id[ARR_ROWID_LEN], scope[ARR_SCOPE_LEN];
	char ids[ARR_ROWID_STRLEN + 1];
	int rc;

	orgid_derive(s->org, id);
	rowid_format(id, ids);
	if ((rc = store_get(s, "organisation", ids, own_kind, &a)) < 0 || a.kind[0] == '\0')
		return rc < 0 ? rc : ARR_ENOTFOUND;
	if ((rc = store_retention_due(s, y, today, fold, &a)) < 0 || (rc = a.rc) < 0)
		goto out;
	*n = 0;
	for (size_t i = 0; i < a.n && rc == 0 && *n < max; i++) {
		enum store_retention_action what = STORE_RETENTION_SHRED;
		int done = 0;

		if (!a.v[i].own_due)
			continue;
		memset(scope, 0, sizeof(scope));
		if ((done = decide(s, &a.v[i], scope, &what)) == 0 && act)
			done = what == STORE_RETENTION_ERASE ? store_scope_erase(s, scope, NULL)
			                                     : store_scope_shred(s, scope, NULL);
		(*n)++;
		if (done == ARR_ENOMEM || done == ARR_EDB || done == ARR_EIO || done == ARR_EFULL)
			rc = done;
		else if (fn != NULL)
			rc = fn(ctx, a.v[i].id, scope, what, done);
	}
out:
	free(a.v);
	return rc;
}

int
store_retention_act(struct store *s, const struct store_retention_years *y, const char *today,
                    bool act, store_retention_act_fn fn, void *ctx)
{
	size_t n;

	return act_on(s, y, today, act, SIZE_MAX, fn, ctx, &n);
}

int
store_retention_auto(struct store *s, const struct store_retention_years *y, const char *today,
                     const struct store_retention_auto *au, store_retention_act_fn fn, void *ctx)
{
	char cutoff[11];
	size_t n = 0;
	int rc;

	if (!au->on || au->max == 0)
		return 0;
	/* due on cutoff or before: listed as due for notice_days by today */
	if (store_retention_add_days(today, -(int)au->notice_days, cutoff) != 0)
		return ARR_EINVAL;
	if ((rc = act_on(s, y, cutoff, true, au->max, fn, ctx, &n)) < 0)
		return rc;
	return (int)n;
}
