/*
 * api_export.c: the local API's "export" (AVG art. 15 and 20, docs/export.md):
 * everything this node holds about one child, found by its ref: the child's rows (one
 * per case scope), each arrangement of those rows and every row that hangs off it
 * (arrangement_id, and goal_evaluation through its evaluation), the history of each of
 * those rows with its authors, and the access log's entries for those arrangements. It
 * comes in pages of the API's page size, so an export of any size fits: each page walks
 * the child's rows again (their ids only) and hands out the items after the cursor of
 * the page before; a walk that differs from the first page's is refused. Each row handed
 * out is noted in the access log as an "export". It must not touch the socket, and it
 * reads only through the store's public reads.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api_int.h"
#include "arrerr.h"
#include "hlc.h"

/* Rows one export may hold: far past any child's file, short of exhausting memory. */
#define EXPORT_ROWS_MAX 100000
/* The longest child ref it looks up. */
#define EXPORT_REF_MAX 256
#define EXPORT_WALK    16 /* bytes of the digest of a walk */

/* The parts of an export, in the order they come. */
enum { PART_ROWS, PART_HISTORY, PART_LOG, PART_END };
static const char *const part_name[] = {"rows", "history", "access_log"};

struct export_row {
	const char *table; /* the schema's name (static) */
	char id[ARR_ROWID_STRLEN + 1];
};

/* Where a page starts or ends: a part, an item of it, and a place inside that item. */
struct export_cursor {
	uint64_t part, item;
	struct store_history_pos pos; /* history: after this op of the item's row */
	bool has_pos;
	uint64_t seq; /* access log: after this entry of the item's arrangement */
};

struct export
{
	struct api *a;
	struct api_buf items;    /* the page's items */
	struct export_row *seen; /* the walk: every row of the child, in order */
	size_t nseen, cap;
	const char *table; /* the table being read */
	const char *hist_id;
	size_t bytes; /* the page's byte bound */
	struct export_cursor at;
	uint64_t part; /* the part of the page's items */
	bool full;     /* the page is full: at is where the next one starts */
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

/* store_row_fn: one row of the walk, remembered. */
static int
export_walk_row(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct export *x = ctx;

	(void)ncols;
	(void)names;
	return export_remember(x, &values[0]) ? 0 : (x->rc = ARR_ETOOBIG);
}

/* The rows of table whose column equals id (text), into the walk. */
static int
export_list(struct export *x, const char *table, const char *column, const char *id)
{
	struct store_filter f = {.column = column, .value = value_text(id)};
	int rc;

	x->table = table;
	rc = store_list(x->a->st, table, &f, 1, NULL, 0, export_walk_row, x);
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

/* The walk: the child rows of ref, then the rows of their arrangements and evaluations. */
static int
export_walk(struct export *x, const char *ref)
{
	int rc;

	if ((rc = export_list(x, "child", "ref", ref)) == 0 && x->nseen == 0)
		return ARR_ENOTFOUND;
	/* x->seen grows as rows are found: read each remembered row's dependants once */
	for (size_t i = 0; i < x->nseen && rc == 0; i++) {
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

/* The digest of the walk (its tables and ids in order) into out. */
static void
export_walk_digest(const struct export *x, uint8_t out[EXPORT_WALK])
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, EXPORT_WALK);
	for (size_t i = 0; i < x->nseen; i++)
		crypto_generichash_update(&h, (const uint8_t *)x->seen[i].table,
		                          strlen(x->seen[i].table) + 1);
	for (size_t i = 0; i < x->nseen; i++)
		crypto_generichash_update(&h, (const uint8_t *)x->seen[i].id, ARR_ROWID_STRLEN);
	crypto_generichash_final(&h, out, EXPORT_WALK);
}

/* Whether the page is full: it ends after the item that took it past its bound. */
static bool
export_full(const struct export *x)
{
	return x->items.n > 0 && x->items.sb.size >= x->bytes;
}

/* store_row_fn: one row of the walk into the page, noted in the access log. */
static int
export_row(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct export *x = ctx;
	msgpack_packer *pk = &x->items.pk;

	x->items.n++;
	msgpack_pack_map(pk, 2);
	apimsg_pack_str(pk, "table");
	apimsg_pack_str(pk, x->table);
	apimsg_pack_str(pk, "row");
	msgpack_pack_map(pk, ncols);
	for (size_t i = 0; i < ncols; i++) {
		apimsg_pack_str(pk, names[i]);
		apimsg_pack_value(pk, &values[i]);
	}
	if (x->items.rc != 0)
		return x->items.rc;
	/* last: the note may read other rows (api_access_row), which changes values */
	return x->rc = api_access_row(x->a, "export", x->table, ncols, names, values);
}

/* store_history_fn: one entry of a row's history, until the page is full. */
static int
export_hist(void *ctx, const struct store_history_entry *e)
{
	struct export *x = ctx;
	msgpack_packer *pk = &x->items.pk;

	if (export_full(x)) {
		x->full = true;
		return 1;
	}
	x->items.n++;
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
	x->at.pos = (struct store_history_pos){.hlc = e->hlc, .seq = e->seq, .op = e->op};
	memcpy(x->at.pos.origin, e->origin, ARR_ORIGIN_LEN);
	x->at.has_pos = true;
	return x->items.rc;
}

/* store_access_fn: one access-log entry, until the page is full. */
static int
export_log(void *ctx, const struct store_access_entry *e)
{
	struct export *x = ctx;
	msgpack_packer *pk = &x->items.pk;
	const char *k[] = {"user", "organisation", "action", "table",
	                   "row",  "arrangement",  "fields"};
	const char *v[] = {e->user, e->org, e->action, e->table, e->row, e->arrangement, e->fields};

	if (export_full(x)) {
		x->full = true;
		return 1;
	}
	x->items.n++;
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
	x->at.seq = (uint64_t)e->seq;
	return x->items.rc;
}

/* One item of the cursor's part (a row, a row's history, an arrangement's log entries). */
static int
export_item(struct export *x)
{
	const struct export_row *w = &x->seen[x->at.item];
	int rc = 0;

	x->table = w->table;
	switch (x->at.part) {
	case PART_ROWS:
		rc = store_get(x->a->st, w->table, w->id, export_row, x);
		rc = x->rc != 0 ? x->rc : rc == ARR_ENOTFOUND ? 0 : rc; /* deleted since */
		break;
	case PART_HISTORY:
		x->hist_id = w->id;
		rc = store_history(x->a->st, w->table, w->id, x->at.has_pos ? &x->at.pos : NULL,
		                   export_hist, x);
		if (rc == ARR_ENOTFOUND)
			rc = 0;
		break;
	case PART_LOG:
		if (x->a->access != NULL && strcmp(w->table, "arrangement") == 0)
			rc = store_access_list(x->a->access, (int64_t)x->at.seq, 0, w->id, 0,
			                       export_log, x);
		break;
	}
	return rc;
}

/* The page: items from the cursor x->at on, until full (x->at then names the next). */
static int
export_page(struct export *x)
{
	int rc = 0;

	while (rc == 0 && x->at.part < PART_END) {
		if (x->at.item >= x->nseen) {
			x->at = (struct export_cursor){.part = x->at.part + 1};
			if (x->items.n == 0)
				continue;
			x->full = true; /* a page holds items of one part */
			break;
		}
		if (export_full(x)) {
			x->full = true;
			break;
		}
		if (x->items.n == 0)
			x->part = x->at.part;
		if ((rc = export_item(x)) != 0 || x->full)
			break;
		x->at = (struct export_cursor){.part = x->at.part, .item = x->at.item + 1};
	}
	return rc != 0 ? rc : x->items.rc;
}

/* The cursor of a request: its params (none: the first page) into x->at and walk. */
static int
export_cursor_parse(struct apimsg_req *r, struct export *x, bool *first, uint8_t walk[EXPORT_WALK])
{
	const char *origin = NULL, *w = NULL;
	size_t olen = 0, wlen = 0;
	bool has_origin = false;
	int rc;

	bool has = false;

	if ((rc = apimsg_req_uint(r, "part", first, &x->at.part)) != 0 ||
	    (rc = apimsg_req_uint(r, "item", &has, &x->at.item)) != 0 ||
	    (rc = apimsg_req_uint(r, "hlc", &has, &x->at.pos.hlc)) != 0 ||
	    (rc = apimsg_req_uint(r, "seq", &has, &x->at.seq)) != 0 ||
	    (rc = apimsg_req_str(r, "walk", &has, &w, &wlen)) != 0 ||
	    (rc = apimsg_req_str(r, "origin", &has_origin, &origin, &olen)) != 0)
		return rc;
	*first = !*first;
	if (*first)
		return 0;
	if (x->at.part >= PART_END || wlen != 2 * EXPORT_WALK ||
	    sodium_hex2bin(walk, EXPORT_WALK, w, wlen, NULL, NULL, NULL) != 0)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'part' or 'walk' is not a cursor");
	if (has_origin) {
		uint64_t op = 0;

		if (olen != 2 * ARR_ORIGIN_LEN ||
		    sodium_hex2bin(x->at.pos.origin, ARR_ORIGIN_LEN, origin, olen, NULL, NULL,
		                   NULL) != 0 ||
		    (rc = apimsg_req_uint(r, "op", &has, &op)) != 0 || op > UINT32_MAX)
			return rc != 0
			           ? rc
			           : apimsg_req_fail(r, ARR_EINVAL, "param 'origin' is not a node");
		x->at.pos.seq = x->at.seq;
		x->at.pos.op = (uint32_t)op;
		x->at.has_pos = true;
	}
	return 0;
}

/* The reply's "next": the cursor of the page after this one, or nil. */
static void
export_pack_next(const struct export *x, const uint8_t walk[EXPORT_WALK], msgpack_packer *pk)
{
	if (!x->full || x->at.part >= PART_END) {
		msgpack_pack_nil(pk);
		return;
	}
	msgpack_pack_map(pk, x->at.has_pos ? 7 : 5);
	apimsg_pack_str(pk, "part");
	msgpack_pack_uint64(pk, x->at.part);
	apimsg_pack_str(pk, "item");
	msgpack_pack_uint64(pk, x->at.item);
	apimsg_pack_str(pk, "walk");
	apimsg_pack_hex(pk, walk, EXPORT_WALK);
	apimsg_pack_str(pk, "hlc");
	msgpack_pack_uint64(pk, x->at.has_pos ? x->at.pos.hlc : 0);
	apimsg_pack_str(pk, "seq");
	msgpack_pack_uint64(pk, x->at.has_pos ? x->at.pos.seq : x->at.seq);
	if (x->at.has_pos) {
		apimsg_pack_str(pk, "origin");
		apimsg_pack_hex(pk, x->at.pos.origin, ARR_ORIGIN_LEN);
		apimsg_pack_str(pk, "op");
		msgpack_pack_uint64(pk, x->at.pos.op);
	}
}

/* A page's reply: the header, its part and items, and the next page's cursor. */
static void
export_pack(struct api *a, const struct export *x, const char *ref, uint64_t part,
            const uint8_t walk[EXPORT_WALK], msgpack_packer *pk)
{
	msgpack_pack_map(pk, 6);
	apimsg_pack_str(pk, "format");
	apimsg_pack_str(pk, "arrangd-export/1");
	apimsg_pack_str(pk, "child_ref");
	apimsg_pack_str(pk, ref);
	apimsg_pack_str(pk, "organisation");
	apimsg_pack_str(pk, a->hooks.organisation != NULL ? a->hooks.organisation : "");
	apimsg_pack_str(pk, "part");
	apimsg_pack_str(pk, part_name[part < PART_END ? part : PART_LOG]);
	apimsg_pack_str(pk, "items");
	msgpack_pack_array(pk, x->items.n);
	apimsg_pack_raw(pk, x->items.sb.data, x->items.sb.size);
	apimsg_pack_str(pk, "next");
	export_pack_next(x, walk, pk);
}

/*
 * "export": one page {"format", "child_ref", "organisation", "part", "items", "next"};
 * "child" names the child, and the params of an earlier page's "next" where it goes on.
 */
int
api_export(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct export x = {.a = a, .bytes = a->page_bytes > 0 ? a->page_bytes : API_PAGE_BYTES};
	uint8_t walk[EXPORT_WALK], was[EXPORT_WALK];
	char refbuf[EXPORT_REF_MAX + 1];
	const char *ref;
	bool first;
	size_t len;
	int rc;

	if ((rc = apimsg_req_str(r, "child", NULL, &ref, &len)) != 0)
		return rc;
	if (len == 0 || len > EXPORT_REF_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'child' must be a child's ref");
	memcpy(refbuf, ref, len);
	refbuf[len] = '\0';
	if ((rc = export_cursor_parse(r, &x, &first, was)) != 0)
		return rc;
	x.part = x.at.part;
	api_buf_init(&x.items);
	if ((rc = api_access_begin(a)) == 0) {
		if ((rc = export_walk(&x, refbuf)) == 0) {
			export_walk_digest(&x, walk);
			if (!first && sodium_memcmp(walk, was, EXPORT_WALK) != 0)
				rc = ARR_ECONFLICT;
			else
				rc = export_page(&x);
		}
		rc = api_access_end(a, rc);
	}
	if (rc == ARR_ENOTFOUND)
		rc = apimsg_req_fail(r, rc, "no child with that ref on this node");
	else if (rc == ARR_ECONFLICT)
		rc = apimsg_req_fail(r, rc,
		                     "the child's rows changed during the export; run it again");
	else if (rc == ARR_ETOOBIG)
		rc = apimsg_req_fail(r, rc, "the child has more than %d rows", EXPORT_ROWS_MAX);
	else if (rc != 0)
		rc = api_fail_code(r, rc);
	else
		export_pack(a, &x, refbuf, x.part, walk, pk);
	api_buf_release(&x.items);
	free(x.seen);
	return rc;
}
