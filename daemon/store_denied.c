/*
 * store_denied.c: reading the list of denied change sets (_denied, kept by
 * store_verdict.c) for `arrangctl denied list|show` and the metrics. A denied change set
 * is decoded again from the log to name the op that broke the rule; nothing here writes.
 * The list is bounded per origin by the log quota: every entry is a logged change set.
 */
#include <string.h>

#include "arrerr.h"
#include "store_int.h"

/* Entries the log still holds (an equivocator's change sets leave it: store_equiv.c). */
#define DENIED_LIVE "JOIN _log l ON l.id = d.log AND l.origin = d.origin AND l.seq = d.seq "
#define DENIED_SQL                                                                                 \
	"SELECT d.log, d.rule, d.op, l.raw, sc.scope FROM _denied d " DENIED_LIVE                  \
	"LEFT JOIN _scope sc ON sc.id = d.sc "

/* One row of a DENIED_SQL statement to fn. */
static int
emit(struct store *s, sqlite3_stmt *st, store_denied_fn fn, void *ctx)
{
	struct changeset *cs = NULL;
	static const uint8_t region[ARR_SCOPE_LEN]; /* the region's scope id: all zero */
	struct store_denied d = {0};
	int rc;

	rc = changeset_decode(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3), &cs);
	if (rc < 0)
		return rc == ARR_ENOMEM ? rc : ARR_EDB; /* logged bytes always decode */
	if ((rc = store_scope_open(s, cs)) < 0)
		goto out;
	d.id = sqlite3_column_int64(st, 0);
	d.rule = (const char *)sqlite3_column_text(st, 1);
	d.op = (uint32_t)sqlite3_column_int64(st, 2);
	d.scope = sqlite3_column_bytes(st, 4) == ARR_SCOPE_LEN ? sqlite3_column_blob(st, 4) : NULL;
	if (d.scope == NULL && sqlite3_column_type(st, 4) == SQLITE_NULL)
		d.scope = region; /* a region change set (the organisation-row rule) */
	d.origin = cs->origin;
	d.seq = cs->h.seq;
	d.hlc = cs->h.hlc;
	d.author_org = cs->h.author_org;
	d.schema_version = cs->h.schema_version;
	if (d.scope == NULL || d.rule == NULL) {
		rc = ARR_EDB;
		goto out;
	}
	/* the denied part is the data part of its scope; op counts within it */
	for (size_t i = 0; i < cs->nparts; i++) {
		const struct cs_part *p = &cs->parts[i];

		if (p->kind != CS_DATA || memcmp(p->scope, d.scope, ARR_SCOPE_LEN) != 0)
			continue;
		d.nops = (uint32_t)p->nops;
		if (d.op < p->nops && p->ops != NULL) {
			d.table = p->ops[d.op].table;
			d.column = p->ops[d.op].column;
		}
	}
	rc = fn(ctx, &d);
out:
	changeset_destroy(&cs);
	return rc;
}

static int
run(struct store *s, sqlite3_stmt *st, store_denied_fn fn, void *ctx)
{
	int rc, ret = 0;

	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ret = emit(s, st, fn, ctx);
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_error(rc);
	sqlite3_finalize(st);
	return ret < 0 ? ret : 0;
}

int
store_denied_list(struct store *s, int64_t after, size_t limit, store_denied_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, DENIED_SQL "WHERE d.log > ?1 ORDER BY d.log LIMIT ?2", -1,
	                       &st, NULL) != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, limit == 0 ? -1 : (int64_t)limit);
	return run(s, st, fn, ctx);
}

int
store_denied_count(struct store *s, uint64_t *now, uint64_t *since_open)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*since_open = store_verdict_denied_count(s);
	*now = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM _denied d " DENIED_LIVE, -1, &st,
	                       NULL) != SQLITE_OK)
		return ARR_EDB;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*now = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_db_error(rc);
}
