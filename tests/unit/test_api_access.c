/*
 * test_api_access.c: the access log as the API writes it (daemon/api_access.c) and the
 * subject-access export (daemon/api_export.c), through api_handle(): each read kind of
 * case data leaves an entry per row with ids and field names and no value (one record a
 * read of a table, its columns the statement's own), with the row's arrangement also
 * for rows that only name it through others; the export of a child on a generated
 * region (ARRANG_SEED) holds exactly that child's rows, checked against the
 * generator's own record. The retention due dates: test_api_retention.c.
 */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <msgpack.h>
#include <sqlite3.h>

#include "api.h"
#include "api_int.h"
#include "apimsg.h"
#include "arrerr.h"
#include "store.h"
#include "store_access.h"
#include "teststore.h"
#include "testutil.h"

#define CANARY "canary-7f3e-summary-text"

struct fx {
	struct ts_api x; /* the replica, its access log and the API */
	struct tu_rng rng;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	ts_api_open(&f->x, 0);
	tu_current_seed = tu_seed(23);
	tu_rng_seed(&f->rng, tu_current_seed);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	ts_api_close(&f->x);
	free(f);
	return 0;
}

/* ---- requests: [method, {key: value...}], values text ("#N": the unsigned N) ---- */

struct rep {
	msgpack_sbuffer sb;
	struct apimsg_reply *r;
	const msgpack_object *res;
	int code;
};

/* [method, {keys[i]: vals[i]...}] answered; a value "#N" is the unsigned N. */
static struct rep *
call_kv(struct api *api, const char *method, int npairs, const char *const *keys,
        const char *const *vals)
{
	struct rep *rp = calloc(1, sizeof(*rp));
	msgpack_sbuffer req;
	msgpack_packer pk;
	char err[APIMSG_ERR_MAX];

	assert_non_null(rp);
	msgpack_sbuffer_init(&req);
	msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	apimsg_pack_str(&pk, method);
	msgpack_pack_map(&pk, (size_t)npairs);
	for (int i = 0; i < npairs; i++) {
		apimsg_pack_str(&pk, keys[i]);
		if (vals[i][0] == '#')
			msgpack_pack_uint64(&pk, strtoull(vals[i] + 1, NULL, 10));
		else
			apimsg_pack_str(&pk, vals[i]);
	}
	msgpack_sbuffer_init(&rp->sb);
	msgpack_packer_init(&pk, &rp->sb, msgpack_sbuffer_write);
	api_handle(api, (const uint8_t *)req.data, req.size, &pk);
	msgpack_sbuffer_destroy(&req);
	if (apimsg_reply_decode((const uint8_t *)rp->sb.data, rp->sb.size, &rp->r, err) != 0)
		fail_msg("reply does not decode: %s", err);
	rp->code = apimsg_reply_code(rp->r);
	rp->res = apimsg_reply_result(rp->r);
	return rp;
}

#define CALL_PAIRS_MAX 16

static struct rep *
call(struct api *api, const char *method, int npairs, ...)
{
	const char *keys[CALL_PAIRS_MAX], *vals[CALL_PAIRS_MAX];
	va_list ap;

	assert_true(npairs <= CALL_PAIRS_MAX);
	va_start(ap, npairs);
	for (int i = 0; i < npairs; i++) {
		keys[i] = va_arg(ap, const char *);
		vals[i] = va_arg(ap, const char *);
	}
	va_end(ap);
	return call_kv(api, method, npairs, keys, vals);
}

static void
rep_free(struct rep *rp)
{
	apimsg_reply_destroy(&rp->r);
	msgpack_sbuffer_destroy(&rp->sb);
	free(rp);
}

static const msgpack_object *
field(const msgpack_object *m, const char *k)
{
	assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;

		if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen(k) &&
		    memcmp(key->via.str.ptr, k, key->via.str.size) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

static bool
str_is(const msgpack_object *o, const char *s)
{
	return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
	       memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

/* ---- data ---- */

static void
new_id(struct fx *f, char out[ARR_ROWID_STRLEN + 1])
{
	uint64_t a = tu_rng_next(&f->rng), b = tu_rng_next(&f->rng);

	snprintf(out, ARR_ROWID_STRLEN + 1, "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(a >> 32),
	         (unsigned)(a & 0xffff), (unsigned)((a >> 16) & 0xfff), (unsigned)(b & 0xfff),
	         (unsigned long long)(b >> 16) & 0xffffffffffffULL);
}

static struct store_op
op(const char *table, const char *id, const char *column, struct value v)
{
	struct store_op o = {.table = table, .column = column, .value = v};

	memcpy(o.row_id, id, ARR_ROWID_STRLEN + 1);
	return o;
}

static void
write_ops(struct fx *f, const struct store_op *ops, size_t n)
{
	struct store_write_result w;

	assert_int_equal(store_write(f->x.st, ops, n, &w), 0);
}

/* Entries of the access log now: into *n, the reply kept in *rp (caller frees). */
static const msgpack_object *
log_entries(struct fx *f, struct rep **rp, uint32_t *n)
{
	*rp = call(f->x.api, "access.list", 0);
	assert_int_equal((*rp)->code, 0);
	const msgpack_object *es = field((*rp)->res, "entries");
	assert_non_null(es);
	*n = es->via.array.size;
	return es->via.array.ptr;
}

/* Does the file at dir/name hold the bytes of s? */
static bool
file_holds(const char *dir, const char *name, const char *s)
{
	char *path = tu_path(dir, name);
	FILE *fp = fopen(path, "rb");
	char buf[1 << 16];
	size_t n, len = strlen(s), keep = 0;
	bool found = false;

	free(path);
	if (fp == NULL)
		return false;
	while (!found && (n = fread(buf + keep, 1, sizeof(buf) - keep, fp)) > 0) {
		n += keep;
		found = memmem(buf, n, s, len) != NULL;
		keep = n >= len ? len - 1 : n;
		memmove(buf, buf + n - keep, keep);
	}
	fclose(fp);
	return found;
}

/* Each read kind notes the rows it hands out: ids, field names, no value. */
static void
test_read_kinds(void **state)
{
	struct fx *f = *state;
	char child[37], arr[37], cons[37], org[37];
	struct rep *rp, *lg;
	uint32_t n = 0;
	const msgpack_object *e;

	new_id(f, child);
	new_id(f, arr);
	new_id(f, cons);
	new_id(f, org);
	struct store_op ops[] = {op("child", child, "ref", value_text("TD-2016-001")),
	                         op("organisation", org, "kind", value_text("school")),
	                         op("arrangement", arr, "child_id", value_text(child)),
	                         op("arrangement", arr, "summary", value_text(CANARY)),
	                         op("arrangement", arr, "school_org_id", value_text(org)),
	                         op("consent", cons, "arrangement_id", value_text(arr)),
	                         op("consent", cons, "purpose", value_text("plan"))};
	write_ops(f, ops, sizeof(ops) / sizeof(ops[0]));
	static const char *const kinds[] = {"get", "list", "history", "search", "query"};
	rep_free(call(f->x.api, "get", 2, "table", "arrangement", "id", arr));
	rep_free(call(f->x.api, "list", 1, "table", "consent"));
	rep_free(call(f->x.api, "history", 2, "table", "consent", "id", cons));
	rep_free(call(f->x.api, "search", 1, "text", "TD-2016-001"));
	rep_free(call(f->x.api, "query", 1, "sql", "SELECT id, arrangement_id FROM consent"));
	rep_free(call(f->x.api, "get", 2, "table", "organisation", "id", org)); /* not case data */
	e = log_entries(f, &lg, &n);
	assert_int_equal(n, 5);
	for (uint32_t i = 0; i < n; i++) {
		assert_true(str_is(field(&e[i], "action"), kinds[i]));
		assert_true(str_is(field(&e[i], "arrangement"), arr));
		assert_true(str_is(field(&e[i], "organisation"), "Gemeente Testdorp"));
		assert_true(field(&e[i], "user")->via.str.size > 0);
	}
	assert_true(str_is(field(&e[0], "row"), arr));
	assert_non_null(strstr(field(&e[0], "fields")->via.str.ptr, "summary"));
	assert_true(str_is(field(&e[2], "row"), cons));
	/* a query names the tables its statement reads, as SQLite's authorizer saw them */
	assert_true(str_is(field(&e[4], "table"), "consent"));
	rep_free(lg);
	/* ids and names only: the summary's text is in the replica, never in the log */
	assert_true(file_holds(f->x.dir, "arrangd.db", CANARY) ||
	            file_holds(f->x.dir, "arrangd.db-wal", CANARY));
	assert_false(file_holds(f->x.dir, "access.db", CANARY) ||
	             file_holds(f->x.dir, "access.db-wal", CANARY));
	rp = call(f->x.api, "access.verify", 0);
	assert_int_equal(rp->code, 0);
	assert_true(field(rp->res, "ok")->via.boolean);
	assert_int_equal(field(rp->res, "checked")->via.u64, 5);
	rep_free(rp);
	/* filtered by arrangement: all five; by another: none */
	rp = call(f->x.api, "access.list", 1, "arrangement", cons);
	assert_int_equal(field(rp->res, "entries")->via.array.size, 0);
	rep_free(rp);
}

/*
 * Rows that name no arrangement themselves are noted with theirs: a child with the
 * arrangement of its scope that names it, a goal evaluation with its evaluation's (or
 * its goal's), by every read kind that hands them out.
 */
static void
test_arrangement_of_links(void **state)
{
	struct fx *f = *state;
	char child[37], arr[37], ev[37], goal[37], ge[37], ge2[37];
	struct rep *lg;
	uint32_t n = 0;
	const msgpack_object *e;

	new_id(f, child);
	new_id(f, arr);
	new_id(f, ev);
	new_id(f, goal);
	new_id(f, ge);
	new_id(f, ge2);
	struct store_op ops[] = {op("child", child, "ref", value_text("TD-2016-001")),
	                         op("arrangement", arr, "child_id", value_text(child)),
	                         op("evaluation", ev, "arrangement_id", value_text(arr)),
	                         op("goal", goal, "arrangement_id", value_text(arr)),
	                         op("goal_evaluation", ge, "evaluation_id", value_text(ev)),
	                         op("goal_evaluation", ge, "goal_id", value_text(goal)),
	                         op("goal_evaluation", ge2, "evaluation_id", value_text(ev))};
	write_ops(f, ops, 4);
	write_ops(f, ops + 4, 3); /* a goal evaluation finds its scope through those rows */
	rep_free(call(f->x.api, "get", 2, "table", "child", "id", child));
	rep_free(call(f->x.api, "list", 1, "table", "child"));
	rep_free(call(f->x.api, "history", 2, "table", "child", "id", child));
	rep_free(call(f->x.api, "get", 2, "table", "goal_evaluation", "id", ge));
	rep_free(call(f->x.api, "list", 1, "table", "goal_evaluation")); /* ge and ge2 */
	rep_free(call(f->x.api, "history", 2, "table", "goal_evaluation", "id", ge2));
	e = log_entries(f, &lg, &n);
	assert_int_equal(n, 7);
	for (uint32_t i = 0; i < n; i++) {
		assert_true(str_is(field(&e[i], "table"), i < 3 ? "child" : "goal_evaluation"));
		assert_true(str_is(field(&e[i], "arrangement"), arr));
	}
	rep_free(lg);
}

/* ---- the export against the generator's record ---- */

#define GEN_CHILDREN 6
#define GEN_ROWS_MAX 512

/* What the generator wrote for one child ref: every (table, id). */
struct oracle {
	char ref[32];
	size_t n;
	size_t linked; /* child rows some arrangement names */
	const char *table[GEN_ROWS_MAX];
	char id[GEN_ROWS_MAX][ARR_ROWID_STRLEN + 1];
};

static void
oracle_add(struct oracle *o, const char *table, const char *id)
{
	assert_true(o->n < GEN_ROWS_MAX);
	o->table[o->n] = table;
	memcpy(o->id[o->n], id, ARR_ROWID_STRLEN + 1);
	o->n++;
}

/* A row of table naming ref in ref_col, with one more column, recorded; its id into id. */
static void
gen_row(struct fx *f, struct oracle *o, struct store_op *ops, size_t *n, const char *table,
        const char *ref_col, const char *ref, const char *col, struct value v, char id[37])
{
	new_id(f, id);
	ops[(*n)++] = op(table, id, ref_col, value_text(ref));
	ops[(*n)++] = op(table, id, col, v);
	oracle_add(o, table, id);
}

/* One arrangement of child cid with a random set of rows hanging off it. */
static void
gen_arrangement(struct fx *f, struct oracle *o, const char *cid, const char *org)
{
	struct store_op ops[128];
	char arr[37], ids[40][37];
	size_t n = 0, k = 0;

	new_id(f, arr);
	ops[n++] = op("arrangement", arr, "child_id", value_text(cid));
	ops[n++] = op("arrangement", arr, "school_org_id", value_text(org));
	oracle_add(o, "arrangement", arr);
	for (uint64_t i = tu_rng_below(&f->rng, 3); i > 0; i--)
		gen_row(f, o, ops, &n, "consent", "arrangement_id", arr, "purpose",
		        value_text("plan"), ids[k++]);
	for (uint64_t i = tu_rng_below(&f->rng, 3); i > 0; i--)
		gen_row(f, o, ops, &n, "goal", "arrangement_id", arr, "description",
		        value_text("reading"), ids[k++]);
	for (uint64_t i = tu_rng_below(&f->rng, 3); i > 0; i--) {
		char *ev = ids[k++];

		gen_row(f, o, ops, &n, "evaluation", "arrangement_id", arr, "outcome",
		        value_text("continue"), ev);
		if (tu_rng_below(&f->rng, 2) == 0)
			gen_row(f, o, ops, &n, "goal_evaluation", "evaluation_id", ev, "note",
			        value_text("ok"), ids[k++]);
	}
	for (uint64_t i = tu_rng_below(&f->rng, 2); i > 0; i--)
		gen_row(f, o, ops, &n, "care_assignment", "arrangement_id", arr, "product_code",
		        value_text("45A01"), ids[k++]);
	for (uint64_t i = tu_rng_below(&f->rng, 2); i > 0; i--)
		gen_row(f, o, ops, &n, "arrangement_party", "arrangement_id", arr, "role",
		        value_text("care"), ids[k++]);
	write_ops(f, ops, n);
}

/* The region: children with one or two child rows each, and their arrangements. */
static void
gen_region(struct fx *f, struct oracle *o, size_t nchildren)
{
	char org[37];

	new_id(f, org);
	struct store_op oo = op("organisation", org, "kind", value_text("school"));
	write_ops(f, &oo, 1);
	for (size_t c = 0; c < nchildren; c++) {
		snprintf(o[c].ref, sizeof(o[c].ref), "GEN-%zu", c);
		for (uint64_t r = 1 + tu_rng_below(&f->rng, 2); r > 0; r--) {
			char cid[37];

			new_id(f, cid);
			struct store_op co = op("child", cid, "ref", value_text(o[c].ref));
			write_ops(f, &co, 1);
			oracle_add(&o[c], "child", cid);
			uint64_t a = tu_rng_below(&f->rng, 3);
			o[c].linked += a > 0;
			for (; a > 0; a--)
				gen_arrangement(f, &o[c], cid, org);
		}
	}
}

/* Is (table, id) among the oracle's rows? */
static bool
oracle_has(const struct oracle *o, const char *table, const msgpack_object *id)
{
	for (size_t i = 0; i < o->n; i++)
		if ((table == NULL || strcmp(table, o->table[i]) == 0) && str_is(id, o->id[i]))
			return true;
	return false;
}

/* What the pages of one export held. */
struct export_seen {
	size_t pages, n[3]; /* rows, history entries, access-log entries */
};

/* The next page of the export of ref after the page rp (NULL: the first). */
static struct rep *
export_next(struct fx *f, const char *ref, const struct rep *rp)
{
	const char *keys[CALL_PAIRS_MAX] = {"child"}, *vals[CALL_PAIRS_MAX] = {ref};
	char text[CALL_PAIRS_MAX][96];
	const msgpack_object *next = rp != NULL ? field(rp->res, "next") : NULL;
	int n = 1;

	for (uint32_t i = 0; next != NULL && i < next->via.map.size; i++, n++) {
		const msgpack_object *k = &next->via.map.ptr[i].key, *v = &next->via.map.ptr[i].val;

		TU_CHECK(n < CALL_PAIRS_MAX && k->via.str.size < 16);
		snprintf(text[n], 16, "%.*s", (int)k->via.str.size, k->via.str.ptr);
		keys[n] = text[n];
		vals[n] = text[n] + 16;
		if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			snprintf(text[n] + 16, 80, "#%llu", (unsigned long long)v->via.u64);
		else
			snprintf(text[n] + 16, 80, "%.*s", (int)v->via.str.size, v->via.str.ptr);
	}
	return call_kv(f->x.api, "export", n, keys, vals);
}

/* Check one export page's items against o, counting them into seen. */
static void
check_page(const struct oracle *o, const msgpack_object *res, struct export_seen *seen)
{
	static const char *const parts[] = {"rows", "history", "access_log"};
	const msgpack_object *items = field(res, "items"), *part = field(res, "part");
	int p = -1;

	for (int i = 0; i < 3; i++)
		if (str_is(part, parts[i]))
			p = i;
	TU_CHECK(p >= 0 && str_is(field(res, "format"), "arrangd-export/1"));
	seen->n[p] += items->via.array.size;
	for (uint32_t i = 0; i < items->via.array.size; i++) {
		const msgpack_object *it = &items->via.array.ptr[i];
		char table[32] = "";

		if (p == 0) {
			const msgpack_object *t = field(it, "table");

			TU_CHECK(t != NULL && t->via.str.size < sizeof(table));
			memcpy(table, t->via.str.ptr, t->via.str.size);
			TU_CHECK(oracle_has(o, table, field(field(it, "row"), "id")));
		} else if (p == 1) {
			TU_CHECK(str_is(field(it, "organisation"), "Gemeente Testdorp"));
		} else {
			TU_CHECK(str_is(field(it, "action"), "export"));
			TU_CHECK(oracle_has(o, "arrangement", field(it, "arrangement")));
		}
	}
}

/* Every page of the export of o->ref with pages of page_bytes, checked and counted. */
static void
export_all(struct fx *f, const struct oracle *o, size_t page_bytes, struct export_seen *seen)
{
	struct rep *rp = NULL, *prev = NULL;

	memset(seen, 0, sizeof(*seen));
	api_set_page_bytes(f->x.api, page_bytes);
	do {
		rp = export_next(f, o->ref, prev);
		if (prev != NULL)
			rep_free(prev);
		TU_CHECK(rp->code == 0);
		seen->pages++;
		check_page(o, rp->res, seen);
		prev = rp;
	} while (field(rp->res, "next")->type != MSGPACK_OBJECT_NIL);
	rep_free(rp);
	api_set_page_bytes(f->x.api, 0);
}

/*
 * The export of o->ref holds exactly o's rows, with history and its own log entries,
 * the same in pages of one byte (an item each, so far past any reply's limit in pages)
 * as in pages of the default size.
 */
static void
check_export(struct fx *f, const struct oracle *o)
{
	struct export_seen big, small;
	size_t children = 0, notes;

	export_all(f, o, 0, &big);
	TU_CHECK(big.n[0] == o->n);
	/* every row was written here: each has a history naming its author */
	TU_CHECK(big.n[1] >= o->n);
	/* the export's own notes: one per row with an arrangement (a child's and a goal
	 * evaluation's found through the rows that link them): all but unlinked children */
	for (size_t i = 0; i < o->n; i++)
		children += strcmp(o->table[i], "child") == 0;
	notes = o->n - children + o->linked;
	TU_CHECK(big.n[2] == notes);
	export_all(f, o, 1, &small);
	TU_CHECK(small.n[0] == big.n[0] && small.n[1] == big.n[1]);
	TU_CHECK(small.n[2] == 2 * notes); /* the first export's notes, then its own */
	TU_CHECK(small.pages >= small.n[0] + small.n[1] + small.n[2]);
}

/* A page after the child's rows changed is refused: the export is run again. */
static void
test_export_changed(void **state)
{
	struct fx *f = *state;
	struct oracle o = {.ref = "TD-2016-001"};
	char child[37], arr[37], cons[37];
	struct rep *rp, *next;

	new_id(f, child);
	new_id(f, arr);
	new_id(f, cons);
	struct store_op ops[] = {op("child", child, "ref", value_text("TD-2016-001")),
	                         op("arrangement", arr, "child_id", value_text(child)),
	                         op("consent", cons, "arrangement_id", value_text(arr))};
	write_ops(f, ops, 2);
	api_set_page_bytes(f->x.api, 1);
	rp = export_next(f, o.ref, NULL);
	assert_int_equal(rp->code, 0);
	assert_int_equal(field(rp->res, "next")->type, MSGPACK_OBJECT_MAP);
	write_ops(f, ops + 2, 1);
	next = export_next(f, o.ref, rp);
	assert_int_equal(next->code, ARR_ECONFLICT);
	rep_free(next);
	rep_free(rp);
}

static void
test_export_oracle(void **state)
{
	struct fx *f = *state;
	struct oracle *o = calloc(GEN_CHILDREN, sizeof(*o));
	struct rep *rp;

	assert_non_null(o);
	gen_region(f, o, GEN_CHILDREN);
	for (size_t c = 0; c < GEN_CHILDREN; c++)
		check_export(f, &o[c]);
	rp = call(f->x.api, "export", 1, "child", "NO-SUCH-REF");
	assert_int_equal(rp->code, ARR_ENOTFOUND);
	rep_free(rp);
	free(o);
}

/* The records (store_access_rec.h) in the log's file: one a read of a table's rows. */
static int
records_in(struct fx *f)
{
	char *path = tu_path(f->x.dir, "access.db");
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct store_access_rec_ctx *c = calloc(1, sizeof(*c));
	struct store_access_rec r;
	int n = 0;

	assert_non_null(c);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT entries FROM batch", -1, &st, NULL), 0);
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t off = 0, len = (size_t)sqlite3_column_bytes(st, 0);

		c->valid = false;
		while (off < len &&
		       store_access_rec_get(c, sqlite3_column_blob(st, 0), len, &off, &r))
			n++;
		assert_int_equal(off, len);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(c);
	free(path);
	return n;
}

static int
cmp_id(const void *x, const void *y)
{
	return strcmp(x, y);
}

/*
 * A read of several rows is one record, listed as an entry a row with its own id; each
 * statement's entries name its own columns, also where the one before had as many.
 */
static void
test_rows_one_note(void **state)
{
	struct fx *f = *state;
	char arr[3][37];
	struct rep *lg;
	uint32_t n = 0;

	for (int i = 0; i < 3; i++) {
		new_id(f, arr[i]);
		struct store_op o = op("arrangement", arr[i], "status", value_text("draft"));
		write_ops(f, &o, 1);
	}
	qsort(arr, 3, sizeof(arr[0]), cmp_id); /* "list" hands them out by id */
	rep_free(call(f->x.api, "list", 1, "table", "arrangement"));
	rep_free(
	    call(f->x.api, "query", 1, "sql", "SELECT id, status FROM arrangement ORDER BY id"));
	/* a query's names die with it: the next one's, even at the same place, are its own */
	const char *names[2] = {"id", "status"}, *other[2] = {"id", "summary"};
	const struct value v[2] = {value_text(arr[0]), value_text("draft")};
	for (int q = 0; q < 2; q++) {
		names[1] = q == 0 ? "status" : "kind";
		assert_int_equal(api_access_begin(f->x.api), 0);
		assert_int_equal(api_access_row(f->x.api, "query", "arrangement", 2, names, v), 0);
		if (q == 1) /* other columns in the same read: a note of their own */
			assert_int_equal(
			    api_access_row(f->x.api, "query", "arrangement", 2, other, v), 0);
		assert_int_equal(api_access_end(f->x.api, 0), 0);
	}
	const msgpack_object *e = log_entries(f, &lg, &n);
	assert_int_equal(n, 9);
	for (uint32_t i = 0; i < n; i++) {
		assert_true(str_is(field(&e[i], "action"), i < 3 ? "list" : "query"));
		assert_true(str_is(field(&e[i], "row"), arr[i < 6 ? i % 3 : 0]));
		assert_true(str_is(field(&e[i], "arrangement"), arr[i < 6 ? i % 3 : 0]));
		assert_int_equal(field(&e[i], "seq")->via.i64, i + 1);
	}
	assert_non_null(strstr(field(&e[0], "fields")->via.str.ptr, "status,"));
	assert_true(str_is(field(&e[5], "fields"), "id,status"));
	assert_true(str_is(field(&e[6], "fields"), "id,status"));
	assert_true(str_is(field(&e[7], "fields"), "id,kind"));
	assert_true(str_is(field(&e[8], "fields"), "id,summary"));
	rep_free(lg);
	assert_int_equal(records_in(f), 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_read_kinds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_arrangement_of_links, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rows_one_note, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_oracle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_changed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
