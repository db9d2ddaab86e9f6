/*
 * api_methods.c: the local API's reads ("get", "query") and its administration
 * ("status", "peers", "digest", "sync", "quarantine.list" in pages,
 * "quarantine.retry", "backup"). Each method checks its params through api_parse.c, asks
 * the store or the sync layer's hooks, and packs one result; it must not touch the
 * socket, and its messages never echo a value.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_int.h"
#include "arrerr.h"
#include "hlc.h"
#include "log.h"
#include "version.h"

/* Pack key, then the str s or nil for NULL. */
static void
pack_field_str(msgpack_packer *pk, const char *key, const char *s)
{
	apimsg_pack_str(pk, key);
	if (s == NULL)
		msgpack_pack_nil(pk);
	else
		apimsg_pack_str(pk, s);
}

/* Pack key, then an origin (ARR_ORIGIN_LEN bytes) as hex or nil for NULL. */
static void
pack_field_origin(msgpack_packer *pk, const char *key, const uint8_t *origin)
{
	apimsg_pack_str(pk, key);
	if (origin == NULL)
		msgpack_pack_nil(pk);
	else
		apimsg_pack_hex(pk, origin, ARR_ORIGIN_LEN);
}

/* ---- rowsets ---- */

struct rows_ctx {
	struct apimsg_rowset *rs;
	int rc;
	struct api *a;                        /* the access log's: NULL, no notes */
	const char *action;                   /* the read, for its notes */
	const char *table;                    /* the table the rows are of, NULL: unknown (query) */
	const struct api_access_known *known; /* the row id asked for, NULL: none */
};

/* store_row_fn: add the row to the rowset; an error stops the read. */
static int
rows_add(void *ctx, size_t ncols, const char *const *names, const struct value *values)
{
	struct rows_ctx *c = ctx;

	if ((c->rc = apimsg_rowset_add(c->rs, ncols, names, values)) == 0 && c->a != NULL)
		c->rc =
		    api_access_row_known(c->a, c->action, c->table, ncols, names, values, c->known);
	return c->rc;
}

int
api_pack_rowset(const struct apimsg_rowset *rs, const struct schema_table *t, uint32_t extra,
                msgpack_packer *pk)
{
	const char *names[1 + 64];
	size_t n = 0;

	if (t != NULL) {
		names[n++] = "id";
		for (size_t i = 0; i < t->ncolumns && n < sizeof(names) / sizeof(names[0]); i++)
			if (t->columns[i].type != SCHEMA_FLAG)
				names[n++] = t->columns[i].name;
	}
	return apimsg_rowset_pack(rs, pk, n, names, extra);
}

/* The error for a read that stopped: the row callback's, or the store's. */
static int
read_failed(struct apimsg_req *r, const struct rows_ctx *c, int rc)
{
	if (c->rc == ARR_ETOOBIG)
		return apimsg_req_fail(r, ARR_ETOOBIG, "result too large; use a limit");
	if (c->rc != 0)
		rc = c->rc;
	if (rc == ARR_ENOTFOUND)
		return apimsg_req_fail(r, rc, "row not found");
	return api_fail_code(r, rc);
}

/* ---- methods ---- */

/* The "peers" array into b: what the sync layer packs; no sync layer, no peers. */
static int
pack_peers(struct api *a, struct apimsg_req *r, struct api_buf *b)
{
	int rc;

	if (a->hooks.pack_peers == NULL) {
		msgpack_pack_array(&b->pk, 0);
		return 0;
	}
	if ((rc = a->hooks.pack_peers(a->hooks.ctx, &b->pk)) != 0 || (rc = b->rc) != 0)
		return api_fail_code(r, rc < 0 ? rc : ARR_EINVAL);
	return 0;
}

/*
 * "writes_held": nil while local writes are accepted; else why they are held and what
 * releases them (store_writes_held()): a peer's vector showing our own change sets up to
 * until_seq, which the node pulls back first, or a restored replica that has not heard
 * from any peer yet (until_seq 0).
 */
static void
pack_writes_held(struct api *a, msgpack_packer *pk)
{
	uint64_t need = 0;

	apimsg_pack_str(pk, "writes_held");
	if (!store_writes_held(a->st, &need)) {
		msgpack_pack_nil(pk);
		return;
	}
	msgpack_pack_map(pk, 2);
	pack_field_str(pk, "reason", need > 0 ? "own_changesets" : "restored");
	apimsg_pack_str(pk, "until_seq");
	msgpack_pack_uint64(pk, need);
}

static const char *const status_counts[] = {"log", "pending", "quarantined", "db_bytes",
                                            "local_seq"};

/* "status": identity, vector, peers, counts. */
int
api_methods_status(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct store_stats s;
	struct store_unknown_stats u;
	struct vv *v = NULL;
	struct api_buf peers;
	int rc;

	api_buf_init(&peers);
	if ((rc = store_stats(a->st, &s)) != 0 || (rc = store_vector(a->st, &v)) != 0 ||
	    (rc = store_unknown_stats(a->st, &u)) != 0) {
		rc = api_fail_code(r, rc);
		goto out;
	}
	if ((rc = pack_peers(a, r, &peers)) != 0)
		goto out;
	msgpack_pack_map(pk, 17);
	pack_field_str(pk, "node", a->hooks.node_name);
	pack_field_str(pk, "organisation", a->hooks.organisation);
	pack_field_origin(pk, "origin", a->hooks.origin);
	apimsg_pack_str(pk, "version");
	apimsg_pack_str(pk, ARRANG_VERSION);
	/* rolling upgrades: this node's schema, and the newer ops it keeps unmerged */
	apimsg_pack_str(pk, "schema_version");
	msgpack_pack_uint64(pk, ARR_SCHEMA_VERSION);
	apimsg_pack_str(pk, "schema_kept");
	msgpack_pack_map(pk, 3);
	api_pack_uints(pk, 3, (const char *const[]){"changesets", "bytes", "overflow"},
	               (const uint64_t[]){u.changesets, u.bytes, u.overflow});
	apimsg_pack_str(pk, "vector");
	msgpack_pack_array(pk, vv_count(v));
	for (size_t i = 0; i < vv_count(v); i++) {
		const struct vv_entry *e = vv_at(v, i);

		msgpack_pack_map(pk, 3);
		pack_field_origin(pk, "origin", e->origin);
		pack_field_str(pk, "name",
		               a->hooks.member_name != NULL
		                   ? a->hooks.member_name(a->hooks.ctx, e->origin)
		                   : NULL);
		apimsg_pack_str(pk, "seq");
		msgpack_pack_uint64(pk, e->seq);
	}
	apimsg_pack_str(pk, "peers");
	apimsg_pack_raw(pk, peers.sb.data, peers.sb.size);
	api_pack_uints(pk, 5, status_counts,
	               (const uint64_t[]){s.log_count, s.pending_count, s.quarantine_count,
	                                  s.db_bytes, s.local_seq});
	pack_writes_held(a, pk);
	if ((rc = api_scope_status(a, pk)) < 0) {
		rc = api_fail_code(r, rc);
		goto out;
	}
	if ((rc = api_equiv_pack(a, pk)) == 0)
		rc = api_quota_pack(a, pk);
out:
	vv_destroy(&v);
	api_buf_release(&peers);
	return rc;
}

/* "peers": the sync layer's view of its peers. */
int
api_methods_peers(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct api_buf peers;
	int rc;

	api_buf_init(&peers);
	if ((rc = pack_peers(a, r, &peers)) == 0)
		apimsg_pack_raw(pk, peers.sb.data, peers.sb.size);
	api_buf_release(&peers);
	return rc;
}

/*
 * The end of a read into c: the error for rc (the store's) or for the row callback's,
 * otherwise the rowset into pk (see pack_rowset). Destroys the rowset.
 */
static int
rows_result(struct apimsg_req *r, struct rows_ctx *c, int rc, const struct schema_table *t,
            msgpack_packer *pk)
{
	if (rc != 0 || c->rc != 0)
		rc = read_failed(r, c, rc);
	else if ((rc = api_pack_rowset(c->rs, t, 0, pk)) != 0)
		rc = api_fail_code(r, rc);
	apimsg_rowset_destroy(&c->rs);
	return rc;
}

/* "get": one visible row as a rowset. */
int
api_methods_get(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const struct schema_table *t;
	char id[ARR_ROWID_STRLEN + 1];
	uint8_t bin[ARR_ROWID_LEN];
	struct api_access_known known = {.text = id, .bin = bin};
	struct rows_ctx c = {.a = a, .action = "get", .known = &known};
	int rc;

	if ((rc = api_parse_table(r, &t)) != 0 ||
	    (rc = api_parse_id_bin(r, "id", NULL, id, bin)) != 0)
		return rc;
	if ((c.rs = apimsg_rowset_new()) == NULL)
		return api_fail_code(r, ARR_ENOMEM);
	c.table = t->name;
	if ((rc = api_access_begin(a)) == 0)
		rc = api_access_end(a, store_get(a->st, t->name, id, rows_add, &c));
	if (rc == ARR_ENOTFOUND && strcmp(t->name, "arrangement") == 0) {
		apimsg_rowset_destroy(&c.rs);
		return api_scope_not_readable(a, r, t->name, id);
	}
	return rows_result(r, &c, rc, t, pk);
}

/*
 * The store's refusals of a query (rc from store_query()) with their messages; 0 when
 * rc is none of them.
 */
static int
query_refused(struct apimsg_req *r, int rc, const char *errmsg)
{
	/* SQLite's own words ("near \"x\": syntax error"), or the store's (a function not
	 * allowed, and those allowed), cut to one line */
	if (rc == ARR_EINVAL && errmsg != NULL)
		return apimsg_req_fail(r, rc, "%.250s", errmsg);
	/* the statement, or a value or sorted row it builds, passes the store's limits */
	if (rc == ARR_ETOOBIG)
		return apimsg_req_fail(r, rc, "%.160s",
		                       errmsg != NULL ? errmsg : "result too large; use a limit");
	if (rc == ARR_ETIMEOUT)
		return apimsg_req_fail(r, rc, "query interrupted after %d ms", STORE_QUERY_TIME_MS);
	return 0;
}

/* "query": read-only SQL; the store's read-only connection enforces it. */
int
api_methods_query(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const char *sql, *errmsg = NULL;
	struct rows_ctx c = {.a = a, .action = "query"};
	size_t len;
	int rc, refused;

	if ((rc = apimsg_req_str(r, "sql", NULL, &sql, &len)) != 0)
		return rc;
	if (len == 0)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'sql' must not be empty");
	if ((c.rs = apimsg_rowset_new()) == NULL)
		return api_fail_code(r, ARR_ENOMEM);
	c.table = store_query_tables(a->st); /* filled as the statement is prepared */
	if ((rc = api_access_begin(a)) == 0)
		rc = api_access_end(a, store_query(a->st, sql, rows_add, &c, &errmsg));
	if (c.rc == ARR_ETOOBIG) {
		/* arbitrary SQL has no key to page on: the user adds one (PROTOCOL.md, "query") */
		refused =
		    apimsg_req_fail(r, ARR_ETOOBIG,
		                    "result too large for one reply (%zu rows fit); read it in "
		                    "parts: ORDER BY id with WHERE id > the last id, and LIMIT",
		                    apimsg_rowset_rows(c.rs));
		apimsg_rowset_destroy(&c.rs);
		return refused;
	}
	if (c.rc == 0 && (refused = query_refused(r, rc, errmsg)) != 0) {
		apimsg_rowset_destroy(&c.rs);
		return refused;
	}
	return rows_result(r, &c, rc, NULL, pk);
}

/*
 * "check": the domain rules one visible row breaks (store_rules_judge()): rows that came
 * from peers merge without them. {"refusals": [{"column", "message"}...]}, empty when
 * the row keeps every rule; the messages show values shortened, as a write's refusal.
 */
int
api_methods_check(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const struct schema_table *t;
	char id[ARR_ROWID_STRLEN + 1];
	struct store_judgement *j;
	int rc;

	if ((rc = api_parse_table(r, &t)) != 0 || (rc = api_parse_id(r, "id", NULL, id)) != 0)
		return rc;
	if ((j = malloc(sizeof(*j))) == NULL)
		return api_fail_code(r, ARR_ENOMEM);
	if ((rc = store_rules_judge(a->st, t->name, id, j)) != 0) {
		rc = rc == ARR_ENOTFOUND ? apimsg_req_fail(r, rc, "row not found")
		                         : api_fail_code(r, rc);
		goto out;
	}
	msgpack_pack_map(pk, 1);
	apimsg_pack_str(pk, "refusals");
	msgpack_pack_array(pk, (uint32_t)j->n);
	for (size_t i = 0; i < j->n; i++) {
		msgpack_pack_map(pk, 2);
		apimsg_pack_str(pk, "column");
		apimsg_pack_str(pk, j->v[i].column);
		apimsg_pack_str(pk, "message");
		apimsg_pack_str(pk, j->v[i].message);
	}
out:
	free(j);
	return rc;
}

/*
 * "search": the visible arrangements whose child ref, coordinator or organisations
 * hold every word of text (store_search()), best match first, as a rowset of the
 * arrangement table. text is 1 to API_SEARCH_TEXT_MAX bytes; limit 1 to
 * API_SEARCH_MAX (default API_SEARCH_DEFAULT). The rowset also says whether the index
 * is complete ("complete"; false while a rebuild runs in steps, the rows then being
 * what the index holds) and how far it is ("indexed" of about "arrangements").
 */
int
api_methods_search(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const char *text;
	uint64_t limit = API_SEARCH_DEFAULT;
	struct rows_ctx c = {.a = a, .action = "search", .table = "arrangement"};
	struct store_search_progress pg;
	size_t len;
	int rc;

	if ((rc = apimsg_req_str(r, "text", NULL, &text, &len)) != 0 ||
	    (rc = apimsg_req_uint(r, "limit", &(bool){false}, &limit)) != 0)
		return rc;
	if (len == 0 || len > API_SEARCH_TEXT_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'text' must be 1 to %d bytes",
		                       API_SEARCH_TEXT_MAX);
	if (limit == 0 || limit > API_SEARCH_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'limit' must be 1 to %d",
		                       API_SEARCH_MAX);
	if ((c.rs = apimsg_rowset_new()) == NULL)
		return api_fail_code(r, ARR_ENOMEM);
	if ((rc = api_access_begin(a)) == 0)
		rc = api_access_end(a, store_search(a->st, text, (size_t)limit, rows_add, &c));
	if (rc == ARR_EINVAL && c.rc == 0) {
		apimsg_rowset_destroy(&c.rs);
		return apimsg_req_fail(r, rc, "param 'text' has no letter or digit to search for");
	}
	if (rc == 0 && c.rc == 0 && (rc = store_search_progress(a->st, &pg)) == 0) {
		/* the rowset and how complete the index it came from is */
		if ((rc = api_pack_rowset(c.rs, schema_table_find("arrangement"), 3, pk)) == 0) {
			apimsg_pack_str(pk, "complete");
			pg.complete ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
			apimsg_pack_str(pk, "indexed");
			msgpack_pack_uint64(pk, pg.done);
			apimsg_pack_str(pk, "arrangements");
			msgpack_pack_uint64(pk, pg.total);
		}
		apimsg_rowset_destroy(&c.rs);
		return rc != 0 ? api_fail_code(r, rc) : 0;
	}
	return rows_result(r, &c, rc, schema_table_find("arrangement"), pk);
}

/* "sync": pull from every connected peer now. */
int
api_methods_sync(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	int n = 0;

	if (a->hooks.sync_now != NULL && (n = a->hooks.sync_now(a->hooks.ctx)) < 0)
		return api_fail_code(r, n);
	msgpack_pack_map(pk, 1);
	apimsg_pack_str(pk, "peers");
	msgpack_pack_uint64(pk, (uint64_t)n);
	return 0;
}

static const char *const quarantine_times[] = {"received_ms", "attempts"};

struct qlist_page {
	struct api_page p;
	int64_t last; /* id of the page's last entry */
};

/* store_quarantine_fn: one entry of "quarantine.list", or the count past the page. */
static int
quarantine_add(void *ctx, const struct store_quarantined *q)
{
	struct qlist_page *ql = ctx;
	msgpack_packer *pk = api_page_entry(&ql->p, 8);

	if (pk == NULL)
		return api_page_stop(&ql->p);
	ql->last = q->id;
	apimsg_pack_str(pk, "id");
	msgpack_pack_int64(pk, q->id);
	pack_field_origin(pk, "origin", q->origin);
	apimsg_pack_str(pk, "seq");
	msgpack_pack_uint64(pk, q->seq);
	apimsg_pack_str(pk, "code");
	msgpack_pack_int(pk, q->reason);
	apimsg_pack_str(pk, "reason");
	apimsg_pack_str(pk, arrerr_name(q->reason));
	apimsg_pack_str(pk, "detail");
	apimsg_pack_str(pk, q->detail != NULL ? q->detail : "");
	api_pack_uints(pk, 2, quarantine_times, (const uint64_t[]){q->received_ms, q->attempts});
	return ql->p.b.rc;
}

/*
 * "quarantine.list": what is held back, with its reason, in pages by id (keyset: "after"
 * an id, "next" the page's last id when more follow); the first page counts every entry.
 */
int
api_methods_qlist(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct qlist_page ql = {.last = 0};
	int64_t after;
	int rc;

	if ((rc = api_page_by_id(a, r, &ql.p, &after)) != 0)
		return rc;
	rc = store_quarantine_list(a->st, after, quarantine_add, &ql);
	return api_page_by_id_end(r, &ql.p, rc, ql.last, pk);
}

static const char *const retry_counts[] = {"applied", "duplicates", "pending", "quarantined",
                                           "tried"};

/* A retry of many entries takes this long at most per request (store_qretry). */
#define QRETRY_STEP_MS 40

/* The "after" and "until" params of a step of "quarantine.retry" into q. */
static int
qretry_cursor(struct apimsg_req *r, struct store_qretry *q, bool *given)
{
	uint64_t after = 0, until = 0;
	bool has_after = false, has_until = false;
	int rc;

	if ((rc = apimsg_req_uint(r, "after", &has_after, &after)) != 0 ||
	    (rc = apimsg_req_uint(r, "until", &has_until, &until)) != 0)
		return rc;
	if (after > INT64_MAX || until > INT64_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "param '%s' is out of range",
		                       after > INT64_MAX ? "after" : "until");
	if (has_after != has_until || (has_after && (after == 0 || until < after)))
		return apimsg_req_fail(r, ARR_EINVAL,
		                       "params 'after' and 'until' go together, as the last step "
		                       "returned them");
	q->after = (int64_t)after;
	q->until = (int64_t)until;
	*given = has_after;
	return 0;
}

/*
 * "quarantine.retry": one id, or one step of a retry of every entry (PROTOCOL.md): the
 * entries after "after" up to "until", for QRETRY_STEP_MS at most, so that the loop
 * answers other clients between steps; "next" is the cursor of the next step (nil: done).
 * What got applied is pushed on by the sync layer.
 */
int
api_methods_qretry(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct store_qretry q = {.budget_ms = QRETRY_STEP_MS};
	uint64_t id = 0;
	bool has_id = false, has_cursor = false;
	int rc;

	if ((rc = apimsg_req_uint(r, "id", &has_id, &id)) != 0 ||
	    (rc = qretry_cursor(r, &q, &has_cursor)) != 0)
		return rc;
	if (has_id && id > INT64_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'id' is out of range");
	if (has_id && has_cursor)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'id' takes no 'after' or 'until'");
	if (has_id) {
		rc = store_quarantine_retry(a->st, (int64_t)id, &q.stats);
		q.tried = rc == 0;
	} else {
		rc = store_quarantine_retry_step(a->st, &q);
	}
	if (rc != 0) {
		if (rc == ARR_ENOTFOUND)
			return apimsg_req_fail(r, rc, "no quarantine entry with that id");
		return api_fail_code(r, rc);
	}
	if (q.stats.applied > 0 && a->hooks.applied != NULL)
		a->hooks.applied(a->hooks.ctx);
	msgpack_pack_map(pk, 7);
	api_pack_uints(pk, 5, retry_counts,
	               (const uint64_t[]){q.stats.applied, q.stats.duplicates, q.stats.pending,
	                                  q.stats.quarantined, q.tried});
	apimsg_pack_str(pk, "next");
	if (q.after != 0)
		msgpack_pack_int64(pk, q.after);
	else
		msgpack_pack_nil(pk);
	apimsg_pack_str(pk, "until");
	msgpack_pack_int64(pk, q.until);
	return 0;
}

void
api_methods_backup_abort(struct api *a)
{
	store_backup_abort(&a->backup);
	if (a->backup_path != NULL) {
		(void)unlink(a->backup_path);
		free(a->backup_path);
		a->backup_path = NULL;
	}
	a->backup_for = NULL;
}

/* The copy at path is complete: its size as the result. */
static int
backup_done(struct apimsg_req *r, msgpack_packer *pk, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return apimsg_req_fail(r, ARR_EIO, "cannot stat the backup file: %s",
		                       strerror(errno));
	log_info("api: backup written (%jd bytes)", (intmax_t)sb.st_size);
	msgpack_pack_map(pk, 1);
	apimsg_pack_str(pk, "bytes");
	msgpack_pack_uint64(pk, (uint64_t)sb.st_size);
	return 0;
}

/* Whether the backup this client waits for is done: its reply, or again later. */
static int
backup_next(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	int rc = store_backup_poll(a->st, a->backup);
	char *path;

	if (rc == 0) {
		a->again = true;
		a->again_wait = true; /* a thread copies: nothing to do until it is done */
		return 0;
	}
	path = a->backup_path;
	a->backup_path = NULL;
	store_backup_abort(&a->backup);
	a->backup_for = NULL;
	if (rc < 0) {
		(void)unlink(path);
		rc = api_fail_code(r, rc);
	} else {
		rc = backup_done(r, pk, path);
	}
	free(path);
	return rc;
}

/*
 * "backup": an online copy of the replica into a new file. The path must be absolute
 * (the daemon's working directory means nothing to a client) and must not exist: the
 * file is created exclusively before the store copies into it, so nothing is ever
 * overwritten, not even by a file that appears meanwhile. A failed copy is removed.
 * The copy is made by a thread of the store (store_backup_begin) from a snapshot of the
 * replica taken when the request runs; the loop answers everything else meanwhile and
 * looks whether it is done every API_WAIT_MS; the client waits for the reply as before.
 * One backup at a time: another client's is refused with ARR_EBUSY meanwhile.
 */
int
api_methods_backup(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const char *path;
	size_t len;
	int fd, rc;

	if (a->backup != NULL && a->cur != NULL && a->backup_for == a->cur)
		return backup_next(a, r, pk);
	if (a->backup != NULL)
		return apimsg_req_fail(r, ARR_EBUSY, "a backup is running; try again later");
	if ((rc = apimsg_req_str(r, "path", NULL, &path, &len)) != 0)
		return rc;
	if (len == 0 || path[0] != '/')
		return apimsg_req_fail(r, ARR_EINVAL, "param 'path' must be an absolute path");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		if (errno == EEXIST)
			return apimsg_req_fail(r, ARR_EEXIST,
			                       "backup file exists; give a new file name");
		return apimsg_req_fail(r, ARR_EIO, "cannot create the backup file: %s",
		                       strerror(errno));
	}
	close(fd);
	if (a->cur == NULL) { /* no socket: in one call */
		if ((rc = store_backup(a->st, path)) != 0) {
			unlink(path);
			return api_fail_code(r, rc);
		}
		return backup_done(r, pk, path);
	}
	if ((a->backup_path = strdup(path)) == NULL) {
		unlink(path);
		return api_fail_code(r, ARR_ENOMEM);
	}
	if ((rc = store_backup_begin(a->st, path, &a->backup)) < 0) {
		api_methods_backup_abort(a);
		return api_fail_code(r, rc);
	}
	a->backup_for = a->cur;
	a->again = true;
	a->again_wait = true;
	return 0;
}
