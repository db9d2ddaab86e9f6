/*
 * store_write.c: local writes: validating ops, routing and grouping them by scope, the
 * keys of those scopes, and committing them durably (store_pack.c packs the groups into
 * change sets); and the hold on own seqs after a restore. Remote change sets are not its
 * business (store_apply.c).
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "monoclock.h"
#include "orgid.h"
#include "rowid.h"
#include "rolematrix.h"
#include "store_int.h"
#include "store_member.h"

#define LARGE_WRITE_OPS 10000 /* a write this large takes the large cache (store_bulk.c) */

/*
 * May a local change set take the next own seq? Not while a verified change set of ours
 * above our log is pending, nor on a restored copy before a peer answered a pull
 * (store.h). Once the hold has lifted on a restored copy, its mark is removed so that a
 * restart does not hold again.
 */
static int
own_seq_check(struct store *s)
{
	if (store_writes_held(s, NULL))
		return ARR_ESTATE;
	if (s->restored) {
		if (sqlite3_exec(s->db, "DELETE FROM _meta WHERE key = 'restored'", NULL, NULL,
		                 NULL) != SQLITE_OK)
			return ARR_EDB;
		s->restored = false;
	}
	return 0;
}

/*
 * The sync level of the next commit. SQLite changes it only outside a transaction: a
 * held one (store_hold.c) keeps FULL, set before it began, until its commit.
 */
static int
set_synchronous(struct store *s, bool full)
{
	if (s->hold.open)
		return 0;
	return sqlite3_exec(s->db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
	                    NULL, NULL, NULL) == SQLITE_OK
	           ? 0
	           : ARR_EDB;
}

int
store_write(struct store *s, const struct store_op *ops, size_t nops,
            struct store_write_result *res)
{
	return store_write_rows(s, ops, NULL, nops, res);
}

/*
 * The one validation of a local write (store.h), and the ops as change-set ops (values
 * borrowed) in the same pass: every op against the schema before anything is built from
 * them, *bad the first op refused. Each op gets its row id (parsed unless rows has
 * them) and the numbers of its table and column (changeset.h): what route, build, merge
 * and the rules read instead of the names. A table is named by the schema's string
 * only: a reserved name ("#n", schema_no.h) is no table or column of a local write.
 * Runs of ops on one table and row are the usual case: a table named by the same
 * pointer as the op before is not looked up again, and a column is looked for next to
 * the previous one first, by pointer before by name.
 */
static int
ops_take(const struct store_op *ops, const uint8_t *rows, size_t nops, struct cs_op *cops,
         size_t *bad)
{
	const struct schema_table *t = NULL;
	const char *tname = NULL;
	unsigned tno = 0;
	int col = -1;

	for (size_t i = 0; i < nops; i++) {
		const struct schema_column *c;
		const char *cname = ops[i].column;

		*bad = i;
		if (ops[i].table != tname || t == NULL) {
			tname = ops[i].table;
			col = -1;
			if ((t = schema_table_find(tname)) == NULL)
				return ARR_ESCHEMA;
			tno = schema_no_of_table(t);
		}
		if (cname == NULL)
			return ARR_ESCHEMA;
		if ((size_t)(col + 1) < t->ncolumns && t->columns[col + 1].name == cname)
			c = &t->columns[col + 1];
		else if ((c = schema_column_findn(t, cname, strlen(cname), col)) == NULL)
			return ARR_ESCHEMA;
		col = (int)(c - t->columns);
		if (!schema_value_fits(c, &ops[i].value))
			return ARR_EINVAL;
		if (rows != NULL)
			memcpy(cops[i].row, rows + i * ARR_ROWID_LEN, ARR_ROWID_LEN);
		else if (rowid_parse(ops[i].row_id, cops[i].row) < 0)
			return ARR_EINVAL;
		cops[i].table = t->name;
		cops[i].column = c->name;
		cops[i].tno = (uint8_t)tno;
		cops[i].cno = (uint8_t)schema_no_of_column(t, c);
		cops[i].value = ops[i].value;
	}
	*bad = 0;
	return 0;
}

/*
 * A run of consecutive ops of the write in one scope: where it starts, its length and
 * scope, for sorting by scope (group_by_scope).
 */
struct scoped_run {
	size_t i, n;
	const uint8_t *scope;
};

static int
scoped_cmp(const void *a, const void *b)
{
	const struct scoped_run *x = a, *y = b;
	int c = memcmp(x->scope, y->scope, ARR_SCOPE_LEN);

	return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

/*
 * The ops grouped by scope into sorted, their scopes into sscopes: by scope id, and in
 * their own order within a scope (a later op on a cell must stay later). Runs of ops in
 * one scope are sorted, not each op: a row's ops come together, so a write of n rows
 * sorts about n entries (sorting its ops was a tenth of an import's work).
 */
static int
group_by_scope(const struct cs_op *cops, uint8_t (*scopes)[ARR_SCOPE_LEN], size_t nops,
               struct cs_op *sorted, uint8_t (*sscopes)[ARR_SCOPE_LEN])
{
	struct scoped_run *runs = malloc((nops + 1) * sizeof(*runs));
	size_t nruns = 0, k = 0;

	if (runs == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < nops; i++) {
		if (nruns > 0 && memcmp(runs[nruns - 1].scope, scopes[i], ARR_SCOPE_LEN) == 0) {
			runs[nruns - 1].n++;
			continue;
		}
		runs[nruns].i = i;
		runs[nruns].n = 1;
		runs[nruns++].scope = scopes[i];
	}
	qsort(runs, nruns, sizeof(*runs), scoped_cmp);
	for (size_t r = 0; r < nruns; r++)
		for (size_t j = runs[r].i; j < runs[r].i + runs[r].n; j++, k++) {
			sorted[k] = cops[j];
			memcpy(sscopes[k], scopes[j], ARR_SCOPE_LEN);
		}
	free(runs);
	return 0;
}

/* The refusal of a write that broke own condition v->name (rolematrix.h) into r. */
static void
own_refusal(struct store *s, const struct cs_op *op, const struct store_verdict *v,
            struct store_write_result *r)
{
	char own[ARR_ROWID_STRLEN + 1], id[ARR_ROWID_STRLEN + 1], want[ARR_ROWID_STRLEN + 1];
	uint8_t b[ARR_ROWID_LEN];

	orgid_derive(s->org, b);
	rowid_format(b, own);
	rowid_format(op->row, id);
	if (strcmp(v->name, "organisation-row") == 0) {
		snprintf(r->refusal, sizeof(r->refusal),
		         "rule %s: row %s is another member organisation's; this "
		         "organisation's own row is %s",
		         v->name, id, own);
	} else if (strcmp(v->name, "organisation-name") == 0) {
		orgid_derive_n((const char *)op->value.u.b.ptr, op->value.u.b.len, b);
		rowid_format(b, want);
		snprintf(r->refusal, sizeof(r->refusal),
		         "rule %s: a member organisation's name, and a derived row's, is written "
		         "only to the row derived from it (%s, not %s)",
		         v->name, want, id);
	} else if (strcmp(v->name, "organisation-kind") == 0) {
		uint8_t k = store_member_kind(s, s->self);

		snprintf(r->refusal, sizeof(r->refusal),
		         "rule %s: this organisation's own row (%s) carries the kind of its "
		         "membership record, %s",
		         v->name, own, k != 0 ? member_kind_name(k) : "?");
	} else if (strcmp(v->name, "funding-own-share") == 0) {
		snprintf(r->refusal, sizeof(r->refusal),
		         "rule %s: a funder that is not an admin writes only its own shares, "
		         "whose ids are bound to %s (row %s is not one)",
		         v->name, own, id);
	} else {
		snprintf(r->refusal, sizeof(r->refusal),
		         "rule %s: a funder that is not an admin names only itself "
		         "(%s.%s must be %s)",
		         v->name, op->table, op->column, own);
	}
}

/*
 * The local view's verdict on a write of ops to scope (store_verdict.c): a write it
 * denies is refused with ARR_EFORBIDDEN and the rule, before anything is built, so
 * nothing is committed; r->bad_op is the op's index in ops.
 */
static int
write_allowed(struct store *s, const struct cs_op *ops, size_t nops,
              const uint8_t scope[ARR_SCOPE_LEN], struct store_write_result *r)
{
	struct store_verdict_hdr h = {s->self, vv_get(s->vec, s->self) + 1, s->org,
	                              ARR_SCHEMA_VERSION};
	struct store_verdict v;
	char id[ARR_ROWID_STRLEN + 1], who[64] = "nobody";
	int64_t sc = 0;
	int rc;

	if (!changeset_scope_is_region(scope) && (rc = store_scope_local(s, scope, false, &sc)) < 0)
		return rc;
	if ((rc = store_verdict_judge_local(s, &h, sc, ops, nops, &v)) < 0 || v.name == NULL)
		return rc;
	r->bad_op = v.op;
	if (v.own) {
		own_refusal(s, &ops[v.op], &v, r);
		return ARR_EFORBIDDEN;
	}
	if (v.rule != NULL)
		rolematrix_who_str(v.rule, who, sizeof(who));
	rowid_format(ops[v.op].row, id);
	snprintf(
	    r->refusal, sizeof(r->refusal),
	    "rule %s: %s may write %s.%s, and this organisation does not hold it here (row %s)",
	    v.name, who, ops[v.op].table, ops[v.op].column, id);
	return ARR_EFORBIDDEN;
}

/*
 * Each group's key: the write key of a case scope this node reads (rekeying first when it
 * should, store_scope_write_key(): that issues a change set, so before any is packed), or
 * for a scope this write opens (store_route.c named it by its opening row) none yet.
 */
static int
groups_key(struct store *s, struct store_group *g, size_t ng, struct store_write_result *r)
{
	for (size_t k = 0; k < ng; k++) {
		uint64_t key_id = 0;
		int64_t sc;
		int rc;

		/* the region's rows: a member's own organisation row is that member's alone */
		if (changeset_scope_is_region(g[k].scope)) {
			if ((rc = write_allowed(s, g[k].ops, g[k].nops, g[k].scope, r)) < 0) {
				r->bad_op += (size_t)(g[k].ops - g[0].ops);
				return rc;
			}
			continue;
		}
		if ((rc = store_scope_local(s, g[k].scope, false, &sc)) == ARR_ENOTFOUND) {
			g[k].fresh = true;
			continue;
		}
		if (rc == 0)
			rc = store_scope_write_key(s, g[k].scope, g[k].key, &key_id, r);
		if (rc == 0 && (rc = write_allowed(s, g[k].ops, g[k].nops, g[k].scope, r)) < 0) {
			r->bad_op += (size_t)(g[k].ops - g[0].ops);
			return rc;
		}
		if (rc < 0) {
			char id[ARR_ROWID_STRLEN + 1];

			r->bad_op = (size_t)(g[k].ops - g[0].ops);
			rowid_format(g[k].ops[0].row, id);
			if (rc == ARR_ENOTPARTY)
				snprintf(r->refusal, sizeof(r->refusal),
				         "this organisation is not a party of the scope of %s %s "
				         "(it holds no current key of it)",
				         g[k].ops[0].table, id);
			return rc;
		}
	}
	return 0;
}

/*
 * The groups of the sorted ops (one per scope) into *out (malloc'd, *ng entries), counted
 * first: a group is about a hundred bytes, and zeroing one per op of a large write cost
 * more than the routing it follows.
 */
static int
groups_make(const struct cs_op *cops, uint8_t (*scopes)[ARR_SCOPE_LEN], size_t nops,
            struct store_group **out, size_t *ng)
{
	struct store_group *g;
	size_t n = 0, count = nops > 0;

	for (size_t i = 1; i < nops; i++)
		count += memcmp(scopes[i], scopes[i - 1], ARR_SCOPE_LEN) != 0;
	if ((g = calloc(count > 0 ? count : 1, sizeof(*g))) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0, j; i < nops; i = j, n++) {
		for (j = i + 1; j < nops && memcmp(scopes[j], scopes[i], ARR_SCOPE_LEN) == 0; j++)
			;
		g[n].ops = cops + i;
		g[n].nops = j - i;
		memcpy(g[n].scope, scopes[i], ARR_SCOPE_LEN);
	}
	*out = g;
	*ng = n;
	return 0;
}

/* Route, group and write the converted ops (store_write_rows, inside its transaction). */
static int
write_routed(struct store *s, const struct cs_op *cops, size_t nops, struct store_write_result *r)
{
	/* every entry of these is written before it is read: not zeroed */
	uint8_t(*scopes)[ARR_SCOPE_LEN] = malloc(nops * ARR_SCOPE_LEN);
	uint8_t(*sscopes)[ARR_SCOPE_LEN] = malloc(nops * ARR_SCOPE_LEN);
	struct cs_op *sorted = malloc(nops * sizeof(*sorted));
	struct store_group *g = NULL;
	size_t ng = 0;
	int rc = ARR_ENOMEM;

	if (scopes == NULL || sscopes == NULL || sorted == NULL)
		goto out;
	if ((rc = store_route(s, cops, nops, scopes, r)) < 0 ||
	    (rc = group_by_scope(cops, scopes, nops, sorted, sscopes)) < 0 ||
	    (rc = groups_make(sorted, sscopes, nops, &g, &ng)) < 0)
		goto out;
	if ((rc = groups_key(s, g, ng, r)) == 0)
		rc = store_pack_write(s, g, ng, r);
out:
	if (g != NULL)
		sodium_memzero(g, ng * sizeof(*g));
	free(g);
	free(sorted);
	free(sscopes);
	free(scopes);
	return rc;
}

int
store_write_rows(struct store *s, const struct store_op *ops, const uint8_t *rows, size_t nops,
                 struct store_write_result *res)
{
	struct cs_op *cops = NULL;
	struct store_rules_memo *memo = NULL;
	struct store_write_result r = {0};
	bool intx = false;
	int ret;

	assert(s != NULL && (ops != NULL || nops == 0));
	if (res != NULL)
		*res = r;
	if (nops == 0)
		return ARR_EINVAL;
	/* ops_take sets every field; a count no allocation can hold fails as calloc would */
	if (nops > SIZE_MAX / sizeof(struct store_group) ||
	    (cops = malloc(nops * sizeof(*cops))) == NULL)
		return ARR_ENOMEM;
	/* refused or held before anything is begun: nothing to undo or reset */
	if ((ret = ops_take(ops, rows, nops, cops, &r.bad_op)) < 0 ||
	    (ret = store_bulk_flush(s)) < 0 || (ret = own_seq_check(s)) < 0) {
		if (res != NULL)
			res->bad_op = r.bad_op;
		free(cops);
		return ret;
	}
	if (nops >= LARGE_WRITE_OPS && (ret = store_bulk_cache_grow(s)) < 0)
		goto out;
	if ((ret = set_synchronous(s, true)) < 0 || (ret = store_write_begin(s)) < 0)
		goto out;
	intx = true;
	if ((s->rules && (ret = store_rules_before(s, cops, nops, &memo)) < 0) ||
	    (ret = write_routed(s, cops, nops, &r)) < 0) {
		if (res != NULL &&
		    (ret == ARR_ENOTPARTY || ret == ARR_EFORBIDDEN ||
		     (ret == ARR_EINVAL && r.refusal[0] != '\0') || ret == ARR_ENOTFOUND)) {
			res->bad_op = r.bad_op;
			memcpy(res->refusal, r.refusal, sizeof(r.refusal));
		}
		goto out;
	}
	if (s->rules && (ret = store_rules_check(s, ops, cops, nops, &r)) < 0) {
		if (res != NULL) {
			res->bad_op = r.bad_op;
			memcpy(res->refusal, r.refusal, sizeof(r.refusal));
		}
		goto out;
	}
	intx = false;
	if ((ret = store_write_commit(s)) < 0)
		goto out;
	if (res != NULL)
		*res = r;
out:
	if (intx)
		store_write_undo(s);
	store_rules_free(s, &memo);
	free(cops);
	if (set_synchronous(s, false) < 0 && ret == 0)
		ret = ARR_EDB;
	if (nops >= LARGE_WRITE_OPS)
		s->large_at = mono_ms(); /* store_trim() gives the cache back later */
	return ret;
}

void
store_own_heard(struct store *s)
{
	s->own_heard = true;
}

/*
 * The highest seq of our own held pending: signed by our key and verified on receipt
 * (store_apply.c), so the region does hold it. 0 when there is none.
 */
static uint64_t
own_pending_max(const struct store *s)
{
	sqlite3_stmt *st = s->st[ST_PEND_MAX];
	uint64_t seq = 0;

	sqlite3_bind_int64(st, 1, s->self_oid);
	if (sqlite3_step(st) == SQLITE_ROW)
		seq = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return seq;
}

bool
store_writes_held(const struct store *s, uint64_t *need)
{
	uint64_t pending = own_pending_max(s);

	if (need != NULL)
		*need = pending;
	return (s->restored && !s->own_heard) || pending > vv_get(s->vec, s->self);
}
