/*
 * store_read.c: reads through the main connection: rows (get, list), a row's history,
 * the vector, logged change sets for peers, and counters. It never writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "arrerr.h"
#include "rowid.h"
#include "store_int.h"

/* Call fn for every row of a statement over a table's visible columns. */
static int
rows_emit(struct store *s, sqlite3_stmt *st, const struct store_table *tb, store_row_fn fn,
          void *ctx, size_t *count)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int r;

		for (size_t c = 0; c < tb->nnames; c++)
			s->scratch[c] = store_db_column_value(st, (int)c);
		(*count)++;
		if (fn != NULL && (r = fn(ctx, tb->nnames, tb->names, s->scratch)) != 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : store_db_error(rc);
}

/* Table by name and a normalised (lower-case) row id. */
static int
lookup(struct store *s, const char *table, const char *id, const struct store_table **tb,
       uint8_t row[ARR_ROWID_LEN], char text[ARR_ROWID_STRLEN + 1])
{
	int ti = table != NULL ? store_db_table_index(table) : -1;

	if (ti < 0)
		return ARR_ESCHEMA;
	*tb = &s->tables[ti];
	if (id == NULL || rowid_parse(id, row) < 0)
		return ARR_EINVAL;
	rowid_format(row, text);
	return 0;
}

int
store_get(struct store *s, const char *table, const char *id, store_row_fn fn, void *ctx)
{
	const struct store_table *tb;
	uint8_t row[ARR_ROWID_LEN];
	char text[ARR_ROWID_STRLEN + 1];
	size_t count = 0;
	int rc;

	if ((rc = lookup(s, table, id, &tb, row, text)) < 0)
		return rc;
	sqlite3_bind_text(tb->get, 1, text, ARR_ROWID_STRLEN, SQLITE_STATIC);
	rc = rows_emit(s, tb->get, tb, fn, ctx, &count);
	sqlite3_reset(tb->get);
	sqlite3_clear_bindings(tb->get);
	return rc == 0 && count == 0 ? ARR_ENOTFOUND : rc;
}

/*
 * Prepare the select of table (or its count) with filters, after and limit, binding the
 * filter values. *tb is the table.
 */
static int
list_prepare(struct store *s, const char *table, const struct store_filter *filters,
             size_t nfilters, const char *after, size_t limit, bool count,
             const struct store_table **tb, sqlite3_stmt **st)
{
	char *sql = NULL;
	size_t cap = 0;
	FILE *f;
	int ti, rc, ret = ARR_ENOMEM;

	*st = NULL;
	if (table == NULL || (ti = store_db_table_index(table)) < 0)
		return ARR_ESCHEMA;
	*tb = &s->tables[ti];
	for (size_t i = 0; i < nfilters; i++)
		if (filters[i].column == NULL ||
		    (strcmp(filters[i].column, "id") != 0 &&
		     schema_column_find((*tb)->t, filters[i].column) == NULL))
			return ARR_ESCHEMA;
	if ((f = open_memstream(&sql, &cap)) == NULL)
		return ARR_ENOMEM;
	fprintf(f, "%s%s", count ? "SELECT count(*) FROM (" : "", (*tb)->select);
	for (size_t i = 0; i < nfilters; i++)
		fprintf(f, " AND \"%s\" IS ?%zu", filters[i].column, i + 1);
	if (after != NULL)
		fprintf(f, " AND id > ?%zu", nfilters + 1);
	fputs(count ? ")" : " ORDER BY id", f);
	if (limit > 0 && !count)
		fprintf(f, " LIMIT %zu", limit);
	if (fclose(f) != 0)
		goto out;
	ret = ARR_EDB;
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < nfilters; i++)
		if ((rc = store_db_bind_value(*st, (int)i + 1, &filters[i].value)) != SQLITE_OK) {
			ret = store_db_error(rc);
			goto out;
		}
	if (after != NULL &&
	    sqlite3_bind_text(*st, (int)nfilters + 1, after, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	ret = 0;
out:
	if (ret != 0) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
	free(sql);
	return ret;
}

int
store_list(struct store *s, const char *table, const struct store_filter *filters, size_t nfilters,
           const char *after, size_t limit, store_row_fn fn, void *ctx)
{
	const struct store_table *tb;
	sqlite3_stmt *st = NULL;
	size_t count = 0;
	int ret;

	if ((ret = list_prepare(s, table, filters, nfilters, after, limit, false, &tb, &st)) != 0)
		return ret;
	ret = rows_emit(s, st, tb, fn, ctx, &count);
	sqlite3_finalize(st);
	return ret > 0 ? 0 : ret;
}

int
store_count(struct store *s, const char *table, const struct store_filter *filters, size_t nfilters,
            uint64_t *count)
{
	const struct store_table *tb;
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if ((ret = list_prepare(s, table, filters, nfilters, NULL, 0, true, &tb, &st)) != 0)
		return ret;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*count = (uint64_t)sqlite3_column_int64(st, 0);
	else
		ret = store_db_error(rc);
	sqlite3_finalize(st);
	return ret;
}

/*
 * The change sets that touched row rid of tb, at (hlc, origin, seq) of *after or later
 * (NULL: all), in that order: their log ids, never their bytes, so that the sort holds
 * keys only. The first is the row's own _log, the others are in _rowlog (store_merge.c).
 * The log keeps clocks as store_clock_to_db() gives them, in the same order.
 */
static int
history_prepare(struct store *s, const struct store_table *tb, int64_t rid,
                const struct store_history_pos *after, sqlite3_stmt **st)
{
	char *sql = sqlite3_mprintf(
	    "SELECT l.id FROM (SELECT log FROM _rowlog WHERE tbl = ?1 AND rid = ?2 "
	    "UNION ALL SELECT _log FROM \"%w\" WHERE _rid = ?2 AND _log IS NOT NULL) r "
	    "JOIN _log l ON l.id = r.log JOIN _origin o ON o.id = l.origin "
	    "WHERE ?3 IS NULL OR (l.hlc, o.origin, l.seq) >= (?3, ?4, ?5) "
	    "ORDER BY l.hlc, o.origin, l.seq",
	    tb->t->name);
	int rc;

	if (sql == NULL)
		return ARR_ENOMEM;
	rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return ARR_EDB;
	sqlite3_bind_int(*st, 1, (int)(tb - s->tables));
	sqlite3_bind_int64(*st, 2, rid);
	if (after != NULL) {
		sqlite3_bind_int64(*st, 3, store_clock_to_db(after->hlc));
		sqlite3_bind_blob(*st, 4, after->origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(*st, 5, (int64_t)after->seq);
	}
	return 0;
}

/* Whether op i of cs comes at or before the position *after (NULL: nothing does). */
static bool
history_seen(const struct changeset *cs, size_t i, const struct store_history_pos *after)
{
	return after != NULL && cs->h.hlc == after->hlc &&
	       memcmp(cs->origin, after->origin, ARR_ORIGIN_LEN) == 0 && cs->h.seq == after->seq &&
	       i <= after->op;
}

/* Whether the part of log entry id took effect (*authorised: write authorisation). */
static int
part_denied(struct store *s, int64_t id, const struct cs_part *part, bool *authorised)
{
	int64_t sc;
	bool denied = false;
	int rc;

	if ((rc = store_scope_local(s, part->scope, false, &sc)) == 0)
		rc = store_verdict_is_denied(s, id, sc, &denied);
	*authorised = !denied;
	return rc == ARR_ENOTFOUND ? 0 : rc;
}

/* Call fn for the ops of the logged change set log id that name row of tb, after *after. */
static int
history_emit(struct store *s, sqlite3_stmt *get, int64_t id, const struct store_table *tb,
             const uint8_t row[ARR_ROWID_LEN], const struct store_history_pos *after,
             store_history_fn fn, void *ctx)
{
	struct changeset *cs = NULL;
	int rc, ret = 0;

	sqlite3_bind_int64(get, 1, id);
	if ((rc = sqlite3_step(get)) != SQLITE_ROW)
		ret = rc == SQLITE_DONE ? ARR_EDB : store_db_error(rc);
	else
		ret = changeset_decode(sqlite3_column_blob(get, 0),
		                       (size_t)sqlite3_column_bytes(get, 0), &cs);
	sqlite3_reset(get);
	/* the row was merged from this entry, so its key is here */
	if (ret == 0 && (ret = store_scope_open(s, cs)) > 0)
		ret = 0;
	/* ops are numbered across the parts, in header order */
	for (size_t k = 0, n = 0; ret == 0 && k < cs->nparts; n += cs->parts[k++].nops) {
		bool judged = false, authorised = true; /* once a part: one verdict for its ops */

		for (size_t i = 0; ret == 0 && i < cs->parts[k].nops; i++) {
			const struct cs_op *op = &cs->parts[k].ops[i];

			if (memcmp(op->row, row, ARR_ROWID_LEN) != 0 ||
			    strcmp(op->table, tb->t->name) != 0 || history_seen(cs, n + i, after))
				continue;
			if (!judged && (ret = part_denied(s, id, &cs->parts[k], &authorised)) != 0)
				break;
			judged = true;
			ret = fn(ctx, &(struct store_history_entry){
			                  .hlc = cs->h.hlc,
			                  .origin = cs->origin,
			                  .seq = cs->h.seq,
			                  .op = (uint32_t)(n + i),
			                  .author_org = cs->h.author_org,
			                  .column = op->column,
			                  .value = op->value,
			                  .authorised = authorised,
			              });
		}
	}
	changeset_destroy(&cs);
	return ret;
}

int
store_history(struct store *s, const char *table, const char *id,
              const struct store_history_pos *after, store_history_fn fn, void *ctx)
{
	const struct store_table *tb;
	uint8_t row[ARR_ROWID_LEN];
	char text[ARR_ROWID_STRLEN + 1];
	sqlite3_stmt *st = NULL, *get = NULL;
	int64_t rid;
	int rc, ret;

	if ((ret = lookup(s, table, id, &tb, row, text)) < 0)
		return ret;
	if ((ret = store_merge_row_any(s, tb, text, &rid)) < 0)
		return ret;
	if ((ret = history_prepare(s, tb, rid, after, &st)) != 0)
		goto out;
	ret = ARR_EDB;
	if (sqlite3_prepare_v2(s->db, "SELECT raw FROM _log WHERE id = ?1", -1, &get, NULL) !=
	    SQLITE_OK)
		goto out;
	ret = 0;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ret = history_emit(s, get, sqlite3_column_int64(st, 0), tb, row, after, fn, ctx);
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_error(rc);
out:
	sqlite3_finalize(get);
	sqlite3_finalize(st);
	return ret > 0 ? 0 : ret;
}

int
store_vector(struct store *s, struct vv **out)
{
	uint64_t durable = store_hold_durable(s);

	if (!store_hold_open(s)) {
		*out = vv_dup(s->vec);
		return *out != NULL ? 0 : ARR_ENOMEM;
	}
	/* held own change sets (store_hold.c) are not counted before they are durable */
	if ((*out = vv_new()) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < vv_count(s->vec); i++) {
		const struct vv_entry *e = vv_at(s->vec, i);
		uint64_t seq = memcmp(e->origin, s->self, ARR_ORIGIN_LEN) == 0 ? durable : e->seq;

		if (seq > 0 && vv_set(*out, e->origin, seq) != 0) {
			vv_destroy(out);
			return ARR_ENOMEM;
		}
	}
	return 0;
}

int
store_changes_since(struct store *s, const struct vv *theirs, size_t max_bytes, store_blob_fn fn,
                    void *ctx, bool *more)
{
	sqlite3_stmt *st = s->st[ST_LOG_SINCE];
	size_t total = 0, sent = 0;
	uint64_t durable = store_hold_durable(s);
	int rc, ret = 0;

	if (more != NULL)
		*more = false;
	/* vv_at walks origins in byte order, which is the order of the answer */
	for (size_t i = 0; i < vv_count(s->vec); i++) {
		const struct vv_entry *e = vv_at(s->vec, i);
		uint64_t from = theirs != NULL ? vv_get(theirs, e->origin) : 0;
		uint8_t origin[ARR_ORIGIN_LEN];
		/* held own change sets (store_hold.c) never leave before they are durable */
		bool own = memcmp(e->origin, s->self, ARR_ORIGIN_LEN) == 0;

		if ((own ? durable : e->seq) <= from)
			continue;
		memcpy(origin, e->origin, ARR_ORIGIN_LEN);
		sqlite3_bind_int64(st, 1, store_mirror_origin_find(s, origin));
		sqlite3_bind_int64(st, 2, (int64_t)from);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const uint8_t *raw = sqlite3_column_blob(st, 1);
			size_t len = (size_t)sqlite3_column_bytes(st, 1);

			if (own && (uint64_t)sqlite3_column_int64(st, 0) > durable) {
				rc = SQLITE_DONE;
				break;
			}

			if (sent > 0 && (total + len > max_bytes || total + len < total)) {
				if (more != NULL)
					*more = true;
				sqlite3_reset(st);
				return 0;
			}
			total += len;
			sent++;
			if ((ret = fn(ctx, origin, (uint64_t)sqlite3_column_int64(st, 0), raw,
			              len)) != 0) {
				sqlite3_reset(st);
				return ret;
			}
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_db_error(rc);
	}
	return 0;
}

int
store_changeset_get(struct store *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                    store_blob_fn fn, void *ctx)
{
	sqlite3_stmt *st = s->st[ST_LOG_GET];
	int64_t oid = store_mirror_origin_find(s, origin);
	int rc, ret;

	if (oid == 0)
		return ARR_ENOTFOUND;
	if ((ret = store_hold_reveal(s, origin, seq)) < 0) /* held ones leave only durable */
		return ret;
	sqlite3_bind_int64(st, 1, oid);
	sqlite3_bind_int64(st, 2, (int64_t)seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = fn(ctx, origin, seq, sqlite3_column_blob(st, 0),
		         (size_t)sqlite3_column_bytes(st, 0));
	else
		ret = rc == SQLITE_DONE ? ARR_ENOTFOUND : store_db_error(rc);
	sqlite3_reset(st);
	return ret;
}

static int
count_rows(struct store *s, const char *sql, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int ret = ARR_EDB;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(st, 0);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

/* Free and total bytes of the file system holding the database (0 when unknown). */
static void
fs_space(struct store *s, struct store_stats *st)
{
	const char *path = sqlite3_db_filename(s->db, "main");
	struct statvfs vfs;

	if (path == NULL || path[0] == '\0' || statvfs(path, &vfs) != 0)
		return;
	st->fs_free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	st->fs_size_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
}

int
store_stats(struct store *s, struct store_stats *out)
{
	struct store_stats st = {0};
	uint64_t pages = 0, psize = 0;
	int ret;

	/* the log holds exactly seqs 1..vector[o] of every origin */
	for (size_t i = 0; i < vv_count(s->vec); i++)
		st.log_count += vv_at(s->vec, i)->seq;
	st.local_seq = vv_get(s->vec, s->self);
	if ((ret = count_rows(s, "SELECT count(*) FROM _pending", &st.pending_count)) < 0 ||
	    (ret = count_rows(s, "SELECT count(*) FROM _quarantine", &st.quarantine_count)) < 0 ||
	    (ret = count_rows(s, "PRAGMA page_count", &pages)) < 0 ||
	    (ret = count_rows(s, "PRAGMA page_size", &psize)) < 0)
		return ret;
	st.db_bytes = pages * psize;
	st.clock_rejected = s->clock_rejected;
	fs_space(s, &st);
	*out = st;
	return 0;
}
