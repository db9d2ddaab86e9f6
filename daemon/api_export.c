/*
 * api_export.c: the local API's "export" (AVG art. 15 and 20, docs/export.md):
 * everything this node holds about one child, found by its ref: the child's rows (one
 * per case scope), each arrangement of those rows and every row that hangs off it
 * (arrangement_id, and goal_evaluation through its evaluation), the history of each of
 * those rows with its authors, and the access log's entries for those arrangements. It
 * comes in pages of the API's page size, so an export of any size fits. The rows come
 * from a walk (api_export_walk.c) that reads each table it may be in once, a few
 * milliseconds per round of the loop; the walk is kept for the pages after, and walked
 * again only when the replica changed since it began: a walk that differs from the
 * first page's is refused. A page is made the same way, a few milliseconds per round,
 * so no round of the loop waits for a whole page; the client gets one reply a page.
 * Each row handed out is noted in the access log as an "export". It must not touch the
 * socket, and it reads only through the store's public reads.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api_export_walk.h"
#include "api_int.h"
#include "arrerr.h"
#include "hlc.h"
#include "metrics.h"
#include "monoclock.h"
#include "store_scan.h"

/* The longest child ref it looks up. */
#define EXPORT_REF_MAX 256
/* Work per round of the loop, walking or making a page, when a client waits. */
#define EXPORT_STEP_MS 4
/* A walk is kept for the next page up to this size (about 40,000 rows); past it, not. */
#define EXPORT_KEEP_BYTES (2u << 20)

/* The parts of an export, in the order they come. */
enum { PART_ROWS, PART_HISTORY, PART_LOG, PART_END };
static const char *const part_name[] = {"rows", "history", "access_log"};

/* Where a page starts or ends: a part, an item of it, and a place inside that item. */
struct export_cursor {
	uint64_t part, item;
	struct store_history_pos pos; /* history: after this op of the item's row */
	bool has_pos;
	uint64_t seq; /* access log: after this entry of the item's arrangement */
};

/* The page being made. */
struct export
{
	struct api *a;
	struct api_buf items; /* the page's items */
	const struct export_walk *walk;
	const struct export_row *seen; /* the walk: every row of the child, in order */
	size_t nseen;
	const char *table; /* the table being read */
	const char *hist_id;
	size_t bytes; /* the page's byte bound */
	struct export_cursor at;
	uint64_t part; /* the part of the page's items */
	bool full;     /* the page is full: at is where the next one starts */
	int rc;
	char ref[EXPORT_REF_MAX + 1];
	bool first;               /* the first page: no cursor */
	uint8_t was[EXPORT_WALK]; /* the walk the cursor was made in */
};

/*
 * The export a client waits for, and the walk kept after it: a page is made over as many
 * rounds as it takes (api->again), for one client at a time.
 */
struct api_export_job {
	struct export x;
	struct export_walk *walk; /* being made, or kept; NULL: none */
	uint64_t mark;            /* store_scan_mark() when the walk began */
	const struct api_conn *owner;
	bool running; /* a page is being made for owner */
};

/* Whether the page is full: it ends after the item that took it past its bound. */
static bool
export_full(const struct export *x)
{
	return x->items.n > 0 && x->items.sb.size >= x->bytes;
}

/*
 * The access log's note of child row x->at.item, as api_access_row() makes it (the
 * row's columns, and the arrangement that names it first by id), with the arrangement
 * the walk found: the access log would find it by reading the arrangements, which no
 * index serves (the whole table, at every child row).
 */
static int
export_note_child(struct export *x, size_t ncols, const char *const *names)
{
	char fields[API_ACCESS_FIELDS_MAX];
	size_t len = 0;

	for (size_t i = 0; i < ncols; i++) {
		size_t n = strlen(names[i]);

		if (len + (i > 0) + n >= sizeof(fields))
			continue; /* as many as fit */
		if (i > 0)
			fields[len++] = ',';
		memcpy(fields + len, names[i], n);
		len += n;
	}
	fields[len] = '\0';
	return api_access_note(x->a, "export", "child", x->seen[x->at.item].id,
	                       export_walk_lead(x->walk, x->at.item), fields);
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
	if (strcmp(x->table, "child") == 0)
		return x->rc = export_note_child(x, ncols, names);
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

/*
 * The page: items from the cursor x->at on, until full (x->at then names the next), or
 * until the clock passes until (0: never; then *more is set and the next call goes on).
 */
static int
export_page(struct export *x, uint64_t until, bool *more)
{
	int rc = 0;

	*more = false;
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
		if (until != 0 && mono_ms() >= until) {
			*more = true;
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

/* Forget the walk kept (or being made). */
static void
export_forget(struct api_export_job *j)
{
	export_walk_destroy(&j->walk);
}

/* The page is answered or failed: the job waits for the next, its walk kept if small. */
static void
export_done(struct api *a, struct api_export_job *j, bool keep)
{
	api_buf_release(&j->x.items);
	j->running = false;
	j->owner = NULL;
	if (j->walk != NULL && keep && export_walk_bytes(j->walk) > EXPORT_KEEP_BYTES) {
		a->export_n.overflow++;
		keep = false;
	}
	if (!keep)
		export_forget(j);
}

/* The reply to a page: the page, or the error rc. */
static int
export_reply(struct api *a, struct api_export_job *j, struct apimsg_req *r, int rc,
             msgpack_packer *pk)
{
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
		export_pack(a, &j->x, j->x.ref, j->x.part, export_walk_digest(j->walk), pk);
	/* a walk that failed is not kept; one that differs from the cursor's is current */
	export_done(a, j, rc == 0 || rc == ARR_ECONFLICT);
	return rc;
}

/*
 * One round of the page j is making: a step of its walk, then items, for EXPORT_STEP_MS
 * when a client waits (a->cur), else all of it. Sets a->again when there is more to do.
 */
static int
export_run(struct api *a, struct api_export_job *j, struct apimsg_req *r, msgpack_packer *pk)
{
	uint64_t until = a->cur != NULL ? mono_ms() + EXPORT_STEP_MS : 0;
	bool more = false;
	int rc;

	do
		rc = export_walk_step(j->walk, a->st, EXPORT_STEP_MS, a->export_step_rows);
	while (rc == 0 && until == 0);
	if (rc == 0) {
		a->again = true;
		return 0;
	}
	if (rc < 0)
		return export_reply(a, j, r, rc, pk);
	j->x.walk = j->walk;
	j->x.seen = export_walk_rows(j->walk, &j->x.nseen);
	if (!j->x.first && sodium_memcmp(export_walk_digest(j->walk), j->x.was, EXPORT_WALK) != 0)
		return export_reply(a, j, r, ARR_ECONFLICT, pk);
	if ((rc = api_access_begin(a)) == 0) {
		rc = export_page(&j->x, until, &more);
		rc = api_access_end(a, rc);
	}
	if (rc == 0 && more) {
		a->again = true;
		return 0;
	}
	return export_reply(a, j, r, rc, pk);
}

/* A new page asked for: its params into j->x, and the walk it reads (kept or new). */
static int
export_start(struct api *a, struct api_export_job *j, struct apimsg_req *r)
{
	struct export *x = &j->x;
	const char *ref;
	size_t len;
	int rc;

	*x = (struct export){.a = a, .bytes = a->page_bytes > 0 ? a->page_bytes : API_PAGE_BYTES};
	if ((rc = apimsg_req_str(r, "child", NULL, &ref, &len)) != 0)
		return rc;
	if (len == 0 || len > EXPORT_REF_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'child' must be a child's ref");
	memcpy(x->ref, ref, len);
	x->ref[len] = '\0';
	if ((rc = export_cursor_parse(r, x, &x->first, x->was)) != 0)
		return rc;
	x->part = x->at.part;
	if (j->walk != NULL && strcmp(export_walk_ref(j->walk), x->ref) == 0 &&
	    j->mark == store_scan_mark(a->st) && export_walk_complete(j->walk)) {
		a->export_n.kept++;
	} else {
		export_forget(j);
		if ((rc = export_walk_new(x->ref, &j->walk)) != 0)
			return api_fail_code(r, rc);
		j->mark = store_scan_mark(a->st);
		a->export_n.walks++;
	}
	api_buf_init(&x->items);
	j->running = true;
	j->owner = a->cur;
	return 0;
}

/*
 * "export": one page {"format", "child_ref", "organisation", "part", "items", "next"};
 * "child" names the child, and the params of an earlier page's "next" where it goes on.
 * While a page is made for one client, another's export is refused with ARR_EBUSY.
 */
int
api_export(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct api_export_job *j = a->export;
	int rc;

	if (j != NULL && j->running) {
		if (a->cur != NULL && j->owner == a->cur)
			return export_run(a, j, r, pk);
		return apimsg_req_fail(r, ARR_EBUSY, "an export is running; try again later");
	}
	if (j == NULL && (j = a->export = calloc(1, sizeof(*j))) == NULL)
		return api_fail_code(r, ARR_ENOMEM);
	if ((rc = export_start(a, j, r)) != 0)
		return rc;
	return export_run(a, j, r, pk);
}

void
api_export_drop(struct api *a, const struct api_conn *c)
{
	struct api_export_job *j = a->export;

	if (j == NULL)
		return;
	if (c == NULL) {
		if (j->running)
			api_buf_release(&j->x.items);
		export_forget(j);
		free(j);
		a->export = NULL;
	} else if (j->running && j->owner == c) {
		/* nobody waits for the page; a walk not complete is of no use */
		export_done(a, j, j->walk != NULL && export_walk_complete(j->walk));
	}
}

void
api_export_metrics(const struct api *a, FILE *f)
{
	metrics_counter(f, "arrangd_export_walks_total",
	                "Walks of a child's rows made for a subject export (each reads the "
	                "tables the rows may be in once).",
	                a->export_n.walks);
	metrics_counter(f, "arrangd_export_walks_kept_total",
	                "Export pages that used the walk kept from the page before.",
	                a->export_n.kept);
	metrics_counter(f, "arrangd_export_walk_overflow_total",
	                "Walks not kept for the next page: over their bound in bytes.",
	                a->export_n.overflow);
}
