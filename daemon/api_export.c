/*
 * api_export.c: the local API's "export" (AVG art. 15 and 20, docs/export.md):
 * everything this node holds about one child, found by its ref: the child's rows (one
 * per case scope), each arrangement of those rows and every row that hangs off it
 * (arrangement_id, and goal_evaluation through its evaluation), the history of each of
 * those rows with its authors, and the access log's entries for those arrangements. Each
 * row handed out is noted in the access log as an "export". It must not touch the
 * socket, and it reads only through the store's public reads.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "arrerr.h"
#include "hlc.h"

/* Rows one export may hold: far past any child's file, short of exhausting memory. */
#define EXPORT_ROWS_MAX 100000
/* The longest child ref it looks up. */
#define EXPORT_REF_MAX 256

struct export_row {
	const char *table; /* the schema's name (static) */
	char id[ARR_ROWID_STRLEN + 1];
};

struct export
{
	struct api *a;
	struct api_buf rows;     /* array of {"table", "row"} */
	struct api_buf hist;     /* array of history entries */
	struct api_buf log;      /* array of access-log entries */
	struct export_row *seen; /* every row packed, in order */
	size_t nseen, cap;
	const char *table; /* the table being read */
	const char *hist_id;
	int rc;
};

/* Remember row id of the table being read; false when out of room. */
static bool
export_remember(struct export *x, const struct value *id)
{
	if (id->kind != VALUE_TEXT || id->u.b.len != ARR_ROWID_STRLEN)
		return true;
	if (x->nseen == x->cap) {
		size_t cap = x->cap > 0 ? 2 * x->cap : 64;
		struct export_row *p;

		if (cap > EXPORT_ROWS_MAX || (p = realloc(x->seen, cap * sizeof(*p))) == NULL)
			return false;
		x->seen = p;
		x->cap = cap;
	}
	x->seen[x->nseen].table = x->table;
	memcpy(x->seen[x->nseen].id, id->u.b.ptr, ARR_ROWID_STRLEN);
	x->seen[x->nseen].id[ARR_ROWID_STRLEN] = '\0';
	x->nseen++;
	return true;
}

/* store_row_fn: one row into "rows", remembered and noted in the access log. */
static int
export_row(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct export *x = ctx;
	msgpack_packer *pk = &x->rows.pk;

	if (!export_remember(x, &values[0]))
		return x->rc = ARR_ETOOBIG;
	x->rows.n++;
	msgpack_pack_map(pk, 2);
	apimsg_pack_str(pk, "table");
	apimsg_pack_str(pk, x->table);
	apimsg_pack_str(pk, "row");
	msgpack_pack_map(pk, ncols);
	for (size_t i = 0; i < ncols; i++) {
		apimsg_pack_str(pk, names[i]);
		apimsg_pack_value(pk, &values[i]);
	}
	if (x->rows.rc != 0)
		return x->rows.rc;
	/* last: the note may read other rows (api_access_row), which changes values */
	return x->rc = api_access_row(x->a, "export", x->table, ncols, names, values);
}

/* The rows of table whose column equals id (text). */
static int
export_list(struct export *x, const char *table, const char *column, const char *id)
{
	struct store_filter f = {.column = column, .value = value_text(id)};
	int rc;

	x->table = table;
	rc = store_list(x->a->st, table, &f, 1, NULL, 0, export_row, x);
	return x->rc != 0 ? x->rc : rc;
}

/* Every table with an arrangement_id column: the rows that hang off an arrangement. */
static bool
export_hangs_off(const struct schema_table *t)
{
	for (size_t i = 0; i < t->ncolumns; i++)
		if (strcmp(t->columns[i].name, "arrangement_id") == 0)
			return true;
	return false;
}

/* The rows of the remembered rows' arrangements and evaluations, from first on. */
static int
export_children_of(struct export *x, size_t first)
{
	int rc = 0;

	/* x->seen grows as rows are found: read each remembered row's dependants once */
	for (size_t i = first; i < x->nseen && rc == 0; i++) {
		char id[ARR_ROWID_STRLEN + 1];
		const char *t = x->seen[i].table;

		memcpy(id, x->seen[i].id, sizeof(id));
		if (strcmp(t, "child") == 0) {
			rc = export_list(x, "arrangement", "child_id", id);
		} else if (strcmp(t, "arrangement") == 0) {
			for (size_t k = 0; k < schema_table_count() && rc == 0; k++)
				if (export_hangs_off(schema_table_at(k)))
					rc = export_list(x, schema_table_at(k)->name,
					                 "arrangement_id", id);
		} else if (strcmp(t, "evaluation") == 0) {
			rc = export_list(x, "goal_evaluation", "evaluation_id", id);
		}
	}
	return rc;
}

/* store_history_fn: one entry of a remembered row's history. */
static int
export_hist(void *ctx, const struct store_history_entry *e)
{
	struct export *x = ctx;
	msgpack_packer *pk = &x->hist.pk;

	x->hist.n++;
	msgpack_pack_map(pk, 8);
	apimsg_pack_str(pk, "table");
	apimsg_pack_str(pk, x->table);
	apimsg_pack_str(pk, "id");
	apimsg_pack_str(pk, x->hist_id);
	apimsg_pack_str(pk, "time_ms");
	msgpack_pack_uint64(pk, hlc_ms(e->hlc));
	apimsg_pack_str(pk, "organisation");
	apimsg_pack_str(pk, e->author_org != NULL ? e->author_org : "");
	apimsg_pack_str(pk, "node");
	apimsg_pack_hex(pk, e->origin, ARR_ORIGIN_LEN);
	apimsg_pack_str(pk, "seq");
	msgpack_pack_uint64(pk, e->seq);
	apimsg_pack_str(pk, "column");
	apimsg_pack_str(pk, e->column);
	apimsg_pack_str(pk, "value");
	apimsg_pack_value(pk, &e->value);
	return x->hist.rc;
}

/* store_access_fn: one access-log entry. */
static int
export_log(void *ctx, const struct store_access_entry *e)
{
	struct export *x = ctx;
	msgpack_packer *pk = &x->log.pk;
	const char *k[] = {"user", "organisation", "action", "table",
	                   "row",  "arrangement",  "fields"};
	const char *v[] = {e->user, e->org, e->action, e->table, e->row, e->arrangement, e->fields};

	x->log.n++;
	msgpack_pack_map(pk, 10);
	apimsg_pack_str(pk, "seq");
	msgpack_pack_int64(pk, e->seq);
	apimsg_pack_str(pk, "at_ms");
	msgpack_pack_int64(pk, e->at_ms);
	apimsg_pack_str(pk, "uid");
	msgpack_pack_int64(pk, e->uid);
	for (size_t i = 0; i < 7; i++) {
		apimsg_pack_str(pk, k[i]);
		v[i] != NULL ? apimsg_pack_str(pk, v[i]) : msgpack_pack_nil(pk);
	}
	return x->log.rc;
}

/* History of every remembered row, then the log of every arrangement among them. */
static int
export_history_and_log(struct export *x)
{
	int rc = 0;

	for (size_t i = 0; i < x->nseen && rc == 0; i++) {
		x->table = x->seen[i].table;
		x->hist_id = x->seen[i].id;
		rc = store_history(x->a->st, x->table, x->hist_id, NULL, export_hist, x);
		if (rc == ARR_ENOTFOUND)
			rc = 0;
	}
	for (size_t i = 0; i < x->nseen && rc == 0 && x->a->access != NULL; i++)
		if (strcmp(x->seen[i].table, "arrangement") == 0)
			rc = store_access_list(x->a->access, 0, 0, x->seen[i].id, 0, export_log, x);
	return rc;
}

/* Pack key and the array of b's elements into pk. */
static void
export_pack_array(msgpack_packer *pk, const char *key, const struct api_buf *b)
{
	apimsg_pack_str(pk, key);
	msgpack_pack_array(pk, b->n);
	apimsg_pack_raw(pk, b->sb.data, b->sb.size);
}

/* "export": {"format", "child_ref", "organisation", "rows", "history", "access_log"}. */
int
api_export(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct export x = {.a = a};
	const char *ref;
	char refbuf[EXPORT_REF_MAX + 1];
	size_t len;
	int rc;

	if ((rc = apimsg_req_str(r, "child", NULL, &ref, &len)) != 0)
		return rc;
	if (len == 0 || len > EXPORT_REF_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'child' must be a child's ref");
	memcpy(refbuf, ref, len);
	refbuf[len] = '\0';
	api_buf_init(&x.rows);
	api_buf_init(&x.hist);
	api_buf_init(&x.log);
	if ((rc = api_access_begin(a)) == 0) {
		if ((rc = export_list(&x, "child", "ref", refbuf)) == 0 && x.nseen == 0)
			rc = ARR_ENOTFOUND;
		if (rc == 0 && (rc = export_children_of(&x, 0)) == 0)
			rc = export_history_and_log(&x);
		rc = api_access_end(a, rc);
	}
	if (rc == 0)
		rc = x.rows.rc != 0 ? x.rows.rc : x.hist.rc != 0 ? x.hist.rc : x.log.rc;
	if (rc == ARR_ENOTFOUND)
		rc = apimsg_req_fail(r, rc, "no child with that ref on this node");
	else if (rc == ARR_ETOOBIG)
		rc = apimsg_req_fail(r, rc, "export too large for one reply");
	else if (rc != 0)
		rc = api_fail_code(r, rc);
	else {
		msgpack_pack_map(pk, 6);
		apimsg_pack_str(pk, "format");
		apimsg_pack_str(pk, "arrangd-export/1");
		apimsg_pack_str(pk, "child_ref");
		apimsg_pack_str(pk, refbuf);
		apimsg_pack_str(pk, "organisation");
		apimsg_pack_str(pk, a->hooks.organisation != NULL ? a->hooks.organisation : "");
		export_pack_array(pk, "rows", &x.rows);
		export_pack_array(pk, "history", &x.hist);
		export_pack_array(pk, "access_log", &x.log);
	}
	api_buf_release(&x.rows);
	api_buf_release(&x.hist);
	api_buf_release(&x.log);
	free(x.seen);
	return rc;
}
