/*
 * test_api.c: the local API against a real store in a scratch directory. Every method
 * of PROTOCOL.md is called through api_handle() and its reply decoded: writes show up in
 * get, list, history, digest and query; query refuses to write; a table of malformed
 * requests each gets ["error", code, message] with the expected code, without values in
 * the message and without changing the replica. The transport is test_api_conn.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "api.h"
#include "apimsg.h"
#include "arrerr.h"
#include "changeset.h"
#include "hlc.h"
#include "log.h"
#include "nodekey.h"
#include "rowid.h"
#include "store.h"
#include "testutil.h"

#define U1     "6f1c2d9e-8a4b-4c3d-9e2f-1a2b3c4d5e6f"
#define U2     "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define U3     "ffffffff-0000-4000-8000-000000000001"
#define SECRET "GEHEIM-TD-2016-001"

/* What the fake sync layer saw. */
struct fake {
	int committed;
	uint64_t first, last;
	int applied;
	int syncs;
	uint8_t origin[ARR_ORIGIN_LEN];
};

struct fx {
	char *dir;
	struct nodekey *key;
	struct store *st;
	struct api *api;
	struct fake fake;
	struct api_hooks hooks;
	bool member2; /* is tu_key(2) a member? */
};

static int
fake_pack_peers(void *ctx, msgpack_packer *pk)
{
	(void)ctx;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	apimsg_pack_str(pk, "name");
	apimsg_pack_str(pk, "swv-testregio");
	apimsg_pack_str(pk, "connected");
	msgpack_pack_true(pk);
	return 0;
}

static int
fake_sync_now(void *ctx)
{
	struct fake *f = ctx;

	f->syncs++;
	return 3;
}

static void
fake_committed(void *ctx, uint64_t first, uint64_t last)
{
	struct fake *f = ctx;

	f->committed++;
	f->first = first;
	f->last = last;
}

static void
fake_applied(void *ctx)
{
	struct fake *f = ctx;

	f->applied++;
}

static const char *
fake_member_name(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	struct fake *f = ctx;

	return memcmp(origin, f->origin, ARR_ORIGIN_LEN) == 0 ? "gemeente-testdorp" : NULL;
}

/* Key 2 is a member of "SWV PO Testregio" once fx->member2 is set. */
static const char *
member_org(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	struct fx *fx = ctx;
	struct nodekey *k2 = tu_key(2);
	bool yes = fx->member2 && memcmp(origin, nodekey_public(k2), ARR_ORIGIN_LEN) == 0;

	nodekey_destroy(&k2);
	return yes ? "SWV PO Testregio" : NULL;
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char *path;
	int err = 0;

	assert_non_null(fx);
	fx->dir = tu_tmpdir();
	fx->key = tu_key(1);
	path = tu_path(fx->dir, "arrangd.db");
	struct store_config cfg = {
	    .path = path,
	    .key = fx->key,
	    .organisation = "Gemeente Testdorp",
	    .member_org = member_org,
	    .member_ctx = fx,
	    .no_domain_rules = true, /* the plumbing's tests write partial rows */
	};
	fx->st = store_open(&cfg, &err);
	free(path);
	assert_int_equal(err, 0);
	assert_non_null(fx->st);
	memcpy(fx->fake.origin, nodekey_public(fx->key), ARR_ORIGIN_LEN);
	fx->hooks = (struct api_hooks){
	    .ctx = &fx->fake,
	    .pack_peers = fake_pack_peers,
	    .sync_now = fake_sync_now,
	    .committed = fake_committed,
	    .applied = fake_applied,
	    .node_name = "gemeente-testdorp",
	    .organisation = "Gemeente Testdorp",
	    .member_name = fake_member_name,
	    .origin = fx->fake.origin,
	};
	fx->api = api_new(fx->st, &fx->hooks);
	assert_non_null(fx->api);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	api_destroy(&fx->api);
	assert_null(fx->api);
	store_destroy(&fx->st);
	nodekey_destroy(&fx->key);
	tu_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* ---- building requests ---- */

/*
 * Pack from a tiny format: '[' array (int count), '{' map (int count), 's' str, 'i' int,
 * 'u' unsigned long long, 'f' double, 'F' float32, 'n' nil, 't' true, 'b' bin (const
 * char *, int len). Containers need no closing.
 */
static void
pk_vfmt(msgpack_packer *pk, const char *fmt, va_list ap)
{
	for (const char *p = fmt; *p != '\0'; p++) {
		switch (*p) {
		case '[':
			msgpack_pack_array(pk, (size_t)va_arg(ap, int));
			break;
		case '{':
			msgpack_pack_map(pk, (size_t)va_arg(ap, int));
			break;
		case 's':
			apimsg_pack_str(pk, va_arg(ap, const char *));
			break;
		case 'i':
			msgpack_pack_int64(pk, va_arg(ap, int));
			break;
		case 'u':
			msgpack_pack_uint64(pk, va_arg(ap, unsigned long long));
			break;
		case 'f':
			msgpack_pack_double(pk, va_arg(ap, double));
			break;
		case 'F':
			msgpack_pack_float(pk, (float)va_arg(ap, double));
			break;
		case 'n':
			msgpack_pack_nil(pk);
			break;
		case 't':
			msgpack_pack_true(pk);
			break;
		case 'b': {
			const char *b = va_arg(ap, const char *);
			int n = va_arg(ap, int);

			msgpack_pack_bin(pk, (size_t)n);
			msgpack_pack_bin_body(pk, b, (size_t)n);
			break;
		}
		default:
			fail_msg("bad format char '%c'", *p);
		}
	}
}

/* A decoded reply with the bytes it points into. */
struct rep {
	msgpack_sbuffer sb;
	struct apimsg_reply *r;
	int code;
	const char *msg;
	const msgpack_object *res;
};

static struct rep *
call_raw(struct api *api, const void *req, size_t len)
{
	struct rep *rp = calloc(1, sizeof(*rp));
	msgpack_packer pk;
	char err[APIMSG_ERR_MAX];

	assert_non_null(rp);
	msgpack_sbuffer_init(&rp->sb);
	msgpack_packer_init(&pk, &rp->sb, msgpack_sbuffer_write);
	api_handle(api, req, len, &pk);
	if (apimsg_reply_decode((const uint8_t *)rp->sb.data, rp->sb.size, &rp->r, err) != 0)
		fail_msg("reply does not decode: %s", err);
	rp->code = apimsg_reply_code(rp->r);
	rp->msg = apimsg_reply_message(rp->r);
	rp->res = apimsg_reply_result(rp->r);
	return rp;
}

static struct rep *
call(struct api *api, const char *fmt, ...)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct rep *rp;
	va_list ap;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	va_start(ap, fmt);
	pk_vfmt(&pk, fmt, ap);
	va_end(ap);
	rp = call_raw(api, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return rp;
}

static void
rep_free(struct rep *rp)
{
	if (rp == NULL)
		return;
	apimsg_reply_destroy(&rp->r);
	msgpack_sbuffer_destroy(&rp->sb);
	free(rp);
}

/* Expect "ok"; returns the reply for the caller to inspect and free. */
static struct rep *
ok(struct rep *rp)
{
	if (rp->code != 0)
		fail_msg("expected ok, got %s: %s", arrerr_name(rp->code), rp->msg);
	assert_non_null(rp->res);
	return rp;
}

/* Expect an error with code, whose message does not contain SECRET. */
static void
expect_err_rep(struct rep *rp, int code, const char *what, int line)
{
	if (rp->code != code)
		fail_msg("line %d (%s): expected %s, got %s: %s", line, what, arrerr_name(code),
		         arrerr_name(rp->code), rp->msg);
	assert_true(rp->msg[0] != '\0');
	assert_null(strstr(rp->msg, SECRET));
	assert_null(strstr(rp->msg, "2016-01"));
	rep_free(rp);
}

#define EXPECT(api, code, ...)   expect_err_rep(call(api, __VA_ARGS__), code, #__VA_ARGS__, __LINE__)
#define EXPECT_RAW(api, code, b) expect_err_rep(call_raw(api, b, sizeof(b) - 1), code, #b, __LINE__)

/* Expect an error and its exact message. */
static void
expect_msg(struct rep *rp, int code, const char *msg)
{
	if (rp->code != code || strcmp(rp->msg, msg) != 0)
		fail_msg("expected %s '%s', got %s '%s'", arrerr_name(code), msg,
		         arrerr_name(rp->code), rp->msg);
	rep_free(rp);
}

static bool
str_eq(const msgpack_object *o, const char *s)
{
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
	       memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

/* The value of key k in the map m; the test fails when there is none. */
static const msgpack_object *
field(const msgpack_object *m, const char *k)
{
	for (uint32_t i = 0; m->type == MSGPACK_OBJECT_MAP && i < m->via.map.size; i++)
		if (str_eq(&m->via.map.ptr[i].key, k))
			return &m->via.map.ptr[i].val;
	fail_msg("no field '%s'", k);
	return NULL;
}

static uint64_t
ufield(const msgpack_object *m, const char *k)
{
	const msgpack_object *o = field(m, k);

	assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	return o->via.u64;
}

static void
assert_str(const msgpack_object *o, const char *s)
{
	if (!str_eq(o, s))
		fail_msg("expected str '%s'", s);
}

/* Index of column name in a rowset's columns, or -1. */
static int
col_index(const msgpack_object *rowset, const char *name)
{
	const msgpack_object *cols = field(rowset, "columns");

	for (uint32_t i = 0; i < cols->via.array.size; i++)
		if (str_eq(&cols->via.array.ptr[i], name))
			return (int)i;
	return -1;
}

static const msgpack_object *
rows(const msgpack_object *rowset)
{
	const msgpack_object *r = field(rowset, "rows");

	assert_int_equal(r->type, MSGPACK_OBJECT_ARRAY);
	return r;
}

/* Cell (row i, column name) of a rowset. */
static const msgpack_object *
cell(const msgpack_object *rowset, uint32_t i, const char *name)
{
	int c = col_index(rowset, name);

	assert_true(c >= 0);
	assert_true(i < rows(rowset)->via.array.size);
	return &rows(rowset)->via.array.ptr[i].via.array.ptr[c];
}

/* The change sets of write_fixture(): 2 CREATEs, 2 case data, 1 region data. */
#define FIXTURE_SEQS 1

/* Write two children and an organisation; returns nothing, checks the reply. */
static void
write_fixture(struct fx *fx)
{
	struct rep *rp = ok(call(fx->api, "[s{s[[ssss[sssi[ssss[sssi[ssss[ssss", 2, "write", 1,
	                         "ops", 6, 4, "child", U1, "ref", "TD-2016-001", 4, "child", U1,
	                         "birth_year", 2016, 4, "child", U2, "ref", "TD-2017-002", 4,
	                         "child", U2, "birth_year", 2017, 4, "organisation", U3, "kind",
	                         "gemeente", 4, "organisation", U3, "name", "Gemeente Elders"));

	/*
	 * One change set: each child opens its own case scope with a CREATE part (no other
	 * member to grant) followed by its data part, and a region part for the organisation.
	 */
	assert_int_equal(ufield(rp->res, "first_seq"), 1);
	assert_int_equal(ufield(rp->res, "last_seq"), FIXTURE_SEQS);
	assert_int_equal(ufield(rp->res, "changesets"), FIXTURE_SEQS);
	assert_int_equal(fx->fake.committed, 1);
	assert_true(fx->fake.first == 1 && fx->fake.last == FIXTURE_SEQS);
	rep_free(rp);
}

/* ---- tests ---- */

/* status's "scopes": total and readable case scopes, none opaque, sealed or masked. */
static void
scopes_are(const msgpack_object *status, uint64_t total, uint64_t readable)
{
	const msgpack_object *sc = field(status, "scopes");

	assert_int_equal(ufield(sc, "total"), total);
	assert_int_equal(ufield(sc, "readable"), readable);
	assert_int_equal(ufield(sc, "opaque"), 0);
	assert_int_equal(ufield(sc, "sealed"), 0);
	assert_int_equal(ufield(sc, "masked"), 0);
}

static void
test_status_and_peers(void **state)
{
	struct fx *fx = *state;
	struct rep *rp = ok(call(fx->api, "[s{", 2, "status", 0));
	char hex[NODEKEY_HEX_LEN + 1];

	nodekey_hex(fx->fake.origin, hex);
	assert_str(field(rp->res, "node"), "gemeente-testdorp");
	assert_str(field(rp->res, "organisation"), "Gemeente Testdorp");
	assert_str(field(rp->res, "origin"), hex);
	assert_int_equal(field(rp->res, "version")->type, MSGPACK_OBJECT_STR);
	assert_int_equal(field(rp->res, "vector")->via.array.size, 0);
	assert_int_equal(field(rp->res, "peers")->via.array.size, 1);
	assert_int_equal(ufield(rp->res, "log"), 0);
	assert_int_equal(ufield(rp->res, "pending"), 0);
	assert_int_equal(ufield(rp->res, "quarantined"), 0);
	assert_true(ufield(rp->res, "db_bytes") > 0);
	assert_int_equal(ufield(rp->res, "local_seq"), 0);
	assert_int_equal(field(rp->res, "writes_held")->type, MSGPACK_OBJECT_NIL);
	assert_int_equal(field(rp->res, "equivocations")->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(field(rp->res, "equivocations")->via.array.size, 0);
	scopes_are(rp->res, 0, 0);
	assert_int_equal(field(rp->res, "over_quota")->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(field(rp->res, "over_quota")->via.array.size, 0);
	/* rolling upgrades: the schema version and the newer ops kept (none) */
	assert_int_equal(ufield(rp->res, "schema_version"), ARR_SCHEMA_VERSION);
	assert_int_equal(ufield(field(rp->res, "schema_kept"), "changesets"), 0);
	assert_int_equal(ufield(field(rp->res, "schema_kept"), "overflow"), 0);
	assert_int_equal(rp->res->via.map.size, 17);
	rep_free(rp);

	write_fixture(fx);
	rp = ok(call(fx->api, "[s{", 2, "status", 0));
	const msgpack_object *v = field(rp->res, "vector");
	assert_int_equal(v->via.array.size, 1);
	assert_str(field(&v->via.array.ptr[0], "origin"), hex);
	assert_str(field(&v->via.array.ptr[0], "name"), "gemeente-testdorp");
	assert_int_equal(ufield(&v->via.array.ptr[0], "seq"), FIXTURE_SEQS);
	assert_int_equal(ufield(rp->res, "log"), FIXTURE_SEQS);
	assert_int_equal(ufield(rp->res, "local_seq"), FIXTURE_SEQS);
	scopes_are(rp->res, 2, 2);
	rep_free(rp);

	rp = ok(call(fx->api, "[s{", 2, "peers", 0));
	assert_int_equal(rp->res->type, MSGPACK_OBJECT_ARRAY);
	assert_str(field(&rp->res->via.array.ptr[0], "name"), "swv-testregio");
	rep_free(rp);

	rp = ok(call(fx->api, "[s{", 2, "sync", 0));
	assert_int_equal(ufield(rp->res, "peers"), 3);
	assert_int_equal(fx->fake.syncs, 1);
	rep_free(rp);
}

static void
test_null_hooks(void **state)
{
	struct fx *fx = *state;
	struct api *bare = api_new(fx->st, NULL);
	struct rep *rp;

	assert_non_null(bare);
	rp = ok(call(bare, "[s{", 2, "peers", 0));
	assert_int_equal(rp->res->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(rp->res->via.array.size, 0);
	rep_free(rp);
	rp = ok(call(bare, "[s{", 2, "sync", 0));
	assert_int_equal(ufield(rp->res, "peers"), 0);
	rep_free(rp);
	rp = ok(call(bare, "[s{", 2, "status", 0));
	assert_int_equal(field(rp->res, "node")->type, MSGPACK_OBJECT_NIL);
	assert_int_equal(field(rp->res, "origin")->type, MSGPACK_OBJECT_NIL);
	assert_int_equal(field(rp->res, "peers")->via.array.size, 0);
	rep_free(rp);
	rp = ok(call(bare, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "child", U1, "ref", "x"));
	rep_free(rp);
	rp = ok(call(bare, "[s{", 2, "status", 0));
	assert_int_equal(field(rp->res, "vector")->via.array.size, 1);
	assert_int_equal(field(&field(rp->res, "vector")->via.array.ptr[0], "name")->type,
	                 MSGPACK_OBJECT_NIL);
	rep_free(rp);
	rp = ok(call(bare, "[s{", 2, "quarantine.retry", 0));
	rep_free(rp);
	api_destroy(&bare);
	api_destroy(&bare);
	api_destroy(NULL);
}

/* Row ids are lower-case text only, as the replica stores them. */
static void
write_then_read_get(struct fx *fx)
{
	struct rep *rp;

	EXPECT(fx->api, ARR_EINVAL, "[s{ssss", 2, "get", 2, "table", "child", "id",
	       "6F1C2D9E-8A4B-4C3D-9E2F-1A2B3C4D5E6F");

	/* get: one row, id first, no _deleted. */
	rp = ok(call(fx->api, "[s{ssss", 2, "get", 2, "table", "child", "id", U1));
	assert_int_equal(rows(rp->res)->via.array.size, 1);
	assert_int_equal(col_index(rp->res, "id"), 0);
	assert_true(col_index(rp->res, "_deleted") < 0);
	assert_str(cell(rp->res, 0, "id"), U1);
	assert_str(cell(rp->res, 0, "ref"), "TD-2016-001");
	assert_int_equal(cell(rp->res, 0, "birth_year")->via.u64, 2016);
	assert_int_equal(cell(rp->res, 0, "initials")->type, MSGPACK_OBJECT_NIL);
	rep_free(rp);
}

/* list: ordered by id, where, limit. */
static void
write_then_read_list(struct fx *fx)
{
	struct rep *rp;

	rp = ok(call(fx->api, "[s{ss", 2, "list", 1, "table", "child"));
	assert_int_equal(rows(rp->res)->via.array.size, 2);
	assert_str(cell(rp->res, 0, "id"), U2); /* 0a1b... sorts first */
	assert_str(cell(rp->res, 1, "id"), U1);
	rep_free(rp);
	rp = ok(call(fx->api, "[s{sss{si", 2, "list", 2, "table", "child", "where", 1, "birth_year",
	             2016));
	assert_int_equal(rows(rp->res)->via.array.size, 1);
	assert_str(cell(rp->res, 0, "ref"), "TD-2016-001");
	rep_free(rp);
	rp = ok(call(fx->api, "[s{sss{ss", 2, "list", 2, "table", "child", "where", 1, "id", U2));
	assert_int_equal(rows(rp->res)->via.array.size, 1);
	rep_free(rp);
	rp = ok(call(fx->api, "[s{sssi", 2, "list", 2, "table", "child", "limit", 1));
	assert_int_equal(rows(rp->res)->via.array.size, 1);
	rep_free(rp);
	rp = ok(call(fx->api, "[s{sss{si", 2, "list", 2, "table", "child", "where", 1, "birth_year",
	             1999));
	assert_int_equal(rows(rp->res)->via.array.size, 0);
	/* No rows: the columns still come from the schema. */
	assert_int_equal(col_index(rp->res, "id"), 0);
	assert_true(col_index(rp->res, "birth_year") > 0);
	rep_free(rp);
	rp = ok(call(fx->api, "[s{ss", 2, "list", 1, "table", "consent"));
	assert_int_equal(rows(rp->res)->via.array.size, 0);
	rep_free(rp);
}

/* history: every op on the row, attributed. */
/* store_blob_fn: the envelope into a struct changeset ** (decoded). */
static int
decode_blob(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
            size_t len)
{
	(void)origin;
	(void)seq;
	return changeset_decode(data, len, ctx);
}

/* Is this node's change set seq a data change set of the case scope whose id is row? */
static bool
is_data_of(struct fx *fx, uint64_t seq, const char *row)
{
	struct changeset *cs = NULL;
	uint8_t scope[ARR_SCOPE_LEN];
	bool yes;

	/* a child written alone opens a scope of its own */
	assert_int_equal(store_scope_of(fx->st, "child", row, scope), 0);
	assert_int_equal(store_changeset_get(fx->st, fx->fake.origin, seq, decode_blob, &cs), 0);
	yes = changeset_part_find(cs, CS_DATA, scope) != NULL;
	changeset_destroy(&cs);
	return yes;
}

static void
write_then_read_history(struct fx *fx)
{
	struct rep *rp;

	rp = ok(call(fx->api, "[s{ssss", 2, "history", 2, "table", "child", "id", U1));
	char hex[NODEKEY_HEX_LEN + 1];
	nodekey_hex(fx->fake.origin, hex);
	const msgpack_object *h = field(rp->res, "entries");
	assert_int_equal(rp->res->via.map.size, 3);
	assert_int_equal(ufield(rp->res, "total"), 2);
	assert_int_equal(field(rp->res, "next")->type, MSGPACK_OBJECT_NIL);
	assert_int_equal(h->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(h->via.array.size, 2);
	/* both ops came in U1's data part of the one change set */
	uint64_t seq = ufield(&h->via.array.ptr[0], "seq");
	assert_true(seq == FIXTURE_SEQS);
	assert_true(is_data_of(fx, seq, U1));
	for (uint32_t i = 0; i < 2; i++) {
		const msgpack_object *e = &h->via.array.ptr[i];

		assert_int_equal(e->via.map.size, 9);
		assert_int_equal(field(e, "authorised")->type, MSGPACK_OBJECT_BOOLEAN);
		assert_true(field(e, "authorised")->via.boolean);
		assert_int_equal(ufield(e, "time_ms"), hlc_ms(ufield(e, "hlc")));
		assert_true(ufield(e, "time_ms") > 1600000000000ull);
		assert_str(field(e, "origin"), hex);
		assert_int_equal(ufield(e, "seq"), seq);
		assert_str(field(e, "organisation"), "Gemeente Testdorp");
	}
	bool saw_ref = false;
	for (uint32_t i = 0; i < 2; i++) {
		const msgpack_object *e = &h->via.array.ptr[i];

		if (str_eq(field(e, "column"), "ref")) {
			assert_str(field(e, "value"), "TD-2016-001");
			saw_ref = true;
		}
	}
	assert_true(saw_ref);
	rep_free(rp);
	expect_msg(call(fx->api, "[s{ssss", 2, "history", 2, "table", "child", "id", U3),
	           ARR_ENOTFOUND, "row not found");
}

/* digest: 64 hex, and it moves with the data. */
static void
write_then_read_digest(struct fx *fx)
{
	struct rep *rp;

	rp = ok(call(fx->api, "[s{", 2, "digest", 0));
	const msgpack_object *d = field(rp->res, "digest");
	char d1[65];
	assert_int_equal(d->type, MSGPACK_OBJECT_STR);
	assert_int_equal(d->via.str.size, 64);
	memcpy(d1, d->via.str.ptr, 64);
	d1[64] = '\0';
	for (int i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", d1[i]));
	rep_free(rp);

	/* Delete is a write of _deleted; get then says not found, list skips it. */
	rp =
	    ok(call(fx->api, "[s{s[[sssi", 2, "write", 1, "ops", 1, 4, "child", U2, "_deleted", 1));
	assert_int_equal(ufield(rp->res, "first_seq"), FIXTURE_SEQS + 1); /* U2's scope exists */
	assert_int_equal(ufield(rp->res, "changesets"), 1);
	assert_int_equal(fx->fake.committed, 2);
	rep_free(rp);
	expect_msg(call(fx->api, "[s{ssss", 2, "get", 2, "table", "child", "id", U2), ARR_ENOTFOUND,
	           "row not found");
	rp = ok(call(fx->api, "[s{ss", 2, "list", 1, "table", "child"));
	assert_int_equal(rows(rp->res)->via.array.size, 1);
	rep_free(rp);
	rp = ok(call(fx->api, "[s{", 2, "digest", 0));
	assert_false(str_eq(field(rp->res, "digest"), d1));
	rep_free(rp);
}

/* query sees the same data. */
static void
write_then_read_query(struct fx *fx)
{
	struct rep *rp;

	rp = ok(call(fx->api, "[s{ss", 2, "query", 1, "sql",
	             "SELECT id, ref FROM child WHERE birth_year = 2016"));
	assert_int_equal(rows(rp->res)->via.array.size, 1);
	assert_str(cell(rp->res, 0, "ref"), "TD-2016-001");
	rep_free(rp);
	rp = ok(call(fx->api, "[s{ss", 2, "query", 1, "sql", "SELECT 1 AS one WHERE 0"));
	assert_int_equal(rows(rp->res)->via.array.size, 0);
	rep_free(rp);
}

/* search: a rowset of arrangements; check: the rules a stored row breaks. */
static void
write_then_read_search_check(struct fx *fx)
{
	struct rep *rp;
	const msgpack_object *r;
	char big[300];

	rp = ok(call(fx->api, "[s{ss", 2, "search", 1, "text", "TD-2016"));
	assert_int_equal(rows(rp->res)->via.array.size, 0);
	assert_int_equal(col_index(rp->res, "id"), 0);
	assert_true(col_index(rp->res, "coordinator") > 0);
	assert_true(field(rp->res, "complete")->type == MSGPACK_OBJECT_BOOLEAN);
	assert_true(field(rp->res, "complete")->via.boolean);
	rep_free(rp);
	/* more rows changed than the index notes (1 here): it says it is being rebuilt */
	store_search_limits(fx->st, 1, 0);
	struct store_op two[] = {
	    {.table = "child", .row_id = U1, .column = "ref", .value = value_text("TD-2016-009")},
	    {.table = "child", .row_id = U2, .column = "ref", .value = value_text("TD-2016-008")}};
	assert_int_equal(store_write(fx->st, two, 2, NULL), 0);
	rp = ok(call(fx->api, "[s{ss", 2, "search", 1, "text", "TD-2016"));
	assert_false(field(rp->res, "complete")->via.boolean);
	assert_true(ufield(rp->res, "indexed") <= ufield(rp->res, "arrangements"));
	rep_free(rp);
	while (store_search_step(fx->st, 0) == 0)
		;
	rp = ok(call(fx->api, "[s{ss", 2, "search", 1, "text", "TD-2016"));
	assert_true(field(rp->res, "complete")->via.boolean);
	rep_free(rp);
	expect_msg(call(fx->api, "[s{ss", 2, "search", 1, "text", " - "), ARR_EINVAL,
	           "param 'text' has no letter or digit to search for");
	EXPECT(fx->api, ARR_EINVAL, "[s{ss", 2, "search", 1, "text", "");
	EXPECT(fx->api, ARR_EINVAL, "[s{sssi", 2, "search", 2, "text", "x", "limit", 0);
	EXPECT(fx->api, ARR_EINVAL, "[s{sssi", 2, "search", 2, "text", "x", "limit", 1001);
	memset(big, 'a', 257);
	big[257] = '\0';
	EXPECT(fx->api, ARR_EINVAL, "[s{ss", 2, "search", 1, "text", big);

	/* the fixture wrote an organisation without the rules: it has no code */
	rp = ok(call(fx->api, "[s{ssss", 2, "check", 2, "table", "organisation", "id", U3));
	r = field(rp->res, "refusals");
	assert_int_equal(r->via.array.size, 1);
	assert_str(field(&r->via.array.ptr[0], "column"), "code");
	assert_str(field(&r->via.array.ptr[0], "message"), "organisation.code is required");
	rep_free(rp);
	rp = ok(call(fx->api, "[s{ssss", 2, "check", 2, "table", "child", "id", U1));
	assert_int_equal(field(rp->res, "refusals")->via.array.size, 0);
	rep_free(rp);
	EXPECT(fx->api, ARR_ENOTFOUND, "[s{ssss", 2, "check", 2, "table", "child", "id", U3);
	EXPECT(fx->api, ARR_EINVAL, "[s{ssss", 2, "check", 2, "table", "child", "id", "nope");
}

static void
test_write_then_read(void **state)
{
	struct fx *fx = *state;

	write_fixture(fx);
	write_then_read_get(fx);
	write_then_read_list(fx);
	write_then_read_history(fx);
	write_then_read_digest(fx);
	write_then_read_query(fx);
	write_then_read_search_check(fx);
}

/* ---- paged reads: history, quarantine.list ---- */

/* One page of the history of U1 (history) or of quarantine.list, after (NULL: first). */
static struct rep *
page_call(struct api *api, bool history, const msgpack_object *after, uint64_t limit)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct rep *rp;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	apimsg_pack_str(&pk, history ? "history" : "quarantine.list");
	msgpack_pack_map(&pk, (history ? 2 : 0) + (after != NULL) + (limit > 0));
	if (history) {
		apimsg_pack_str(&pk, "table");
		apimsg_pack_str(&pk, "child");
		apimsg_pack_str(&pk, "id");
		apimsg_pack_str(&pk, U1);
	}
	if (after != NULL) {
		apimsg_pack_str(&pk, "after");
		msgpack_pack_object(&pk, *after);
	}
	if (limit > 0) {
		apimsg_pack_str(&pk, "limit");
		msgpack_pack_uint64(&pk, limit);
	}
	rp = call_raw(api, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return rp;
}

/* Bytes of o packed. */
static size_t
packed_size(const msgpack_object *o)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *o);
	n = sb.size;
	msgpack_sbuffer_destroy(&sb);
	return n;
}

/*
 * Every page of history or quarantine.list, each passing its "next" as "after": no page
 * goes on after the entry that took it past bound, and none but the last ends before.
 * The entries' keys (seq, or quarantine id) into keys (room for max); their number.
 */
static size_t
walk_pages(struct api *api, bool history, size_t bound, uint64_t *keys, size_t max)
{
	struct rep *rp = NULL;
	msgpack_object next = {.type = MSGPACK_OBJECT_NIL};
	size_t n = 0, pages = 0;
	uint64_t total = 0;

	do {
		struct rep *prev = rp;
		const msgpack_object *e;
		size_t bytes = 0;

		rp = ok(page_call(api, history, prev != NULL ? &next : NULL, 0));
		rep_free(prev);
		e = field(rp->res, "entries");
		assert_int_equal(rp->res->via.map.size, pages == 0 ? 3 : 2);
		if (pages == 0)
			total = ufield(rp->res, "total");
		for (uint32_t i = 0; i < e->via.array.size; i++) {
			const msgpack_object *x = &e->via.array.ptr[i];

			assert_true(bytes < bound);
			assert_true(n < max);
			bytes += packed_size(x);
			keys[n++] = history ? ufield(x, "seq") : (uint64_t)field(x, "id")->via.i64;
		}
		next = *field(rp->res, "next");
		assert_true(next.type == MSGPACK_OBJECT_NIL || bytes >= bound);
		pages++;
	} while (next.type != MSGPACK_OBJECT_NIL);
	rep_free(rp);
	assert_true(pages > 2);
	assert_int_equal(total, n);
	return n;
}

/*
 * history and quarantine.list in pages of a small byte bound: every entry exactly once,
 * in order; limit cuts a page; a bad cursor is refused with a clear message.
 */
static void
test_paged_reads(void **state)
{
	struct fx *fx = *state;
	struct store_blob blob;
	uint8_t junk[64];
	uint64_t keys[64];
	struct rep *rp;

	api_set_page_bytes(fx->api, 1024);
	for (int i = 0; i < 40; i++) {
		char ref[100];

		snprintf(ref, sizeof(ref), "TD-%02d-%070d", i, 0);
		assert_int_equal(store_write(fx->st,
		                             &(struct store_op){.table = "child",
		                                                .row_id = U1,
		                                                .column = "ref",
		                                                .value = value_text(ref)},
		                             1, NULL),
		                 0);
		memset(junk, i, sizeof(junk));
		blob = (struct store_blob){junk, sizeof(junk)};
		assert_int_equal(store_apply(fx->st, &blob, 1, NULL, NULL), 0);
	}
	assert_int_equal(walk_pages(fx->api, true, 1024, keys, 64), 40);
	for (size_t i = 0; i < 40; i++) /* seq 1 also opens U1's scope (its CREATE part) */
		assert_int_equal(keys[i], i + 1);
	assert_int_equal(walk_pages(fx->api, false, 1024, keys, 64), 40);
	for (size_t i = 1; i < 40; i++)
		assert_true(keys[i] > keys[i - 1]);

	api_set_page_bytes(fx->api, 0);
	rp = ok(page_call(fx->api, true, NULL, 3));
	assert_int_equal(field(rp->res, "entries")->via.array.size, 3);
	assert_int_equal(ufield(rp->res, "total"), 40);
	assert_int_equal(field(rp->res, "next")->type, MSGPACK_OBJECT_STR);
	rep_free(rp);
	rp = ok(page_call(fx->api, false, NULL, 0));
	assert_int_equal(field(rp->res, "entries")->via.array.size, 40);
	assert_int_equal(field(rp->res, "next")->type, MSGPACK_OBJECT_NIL);
	rep_free(rp);

	expect_msg(call(fx->api, "[s{ssssss", 2, "history", 3, "table", "child", "id", U1, "after",
	                "1.2.3.4"),
	           ARR_EINVAL, "param 'after' must be a history position (the 'next' of a page)");
	expect_msg(
	    call(fx->api, "[s{ssssss", 2, "history", 3, "table", "child", "id", U1, "after", ""),
	    ARR_EINVAL, "param 'after' must be a history position (the 'next' of a page)");
	EXPECT(fx->api, ARR_ETYPE, "[s{ss", 2, "quarantine.list", 1, "after", "7");
	EXPECT(fx->api, ARR_EINVAL, "[s{su", 2, "quarantine.list", 1, "after",
	       (unsigned long long)INT64_MAX + 1);
}

/*
 * Ops that switch table and row and come back, columns out of schema order: each op
 * lands in its own row and column (the API remembers the previous op's names).
 */
static void
test_write_mixed_ops(void **state)
{
	struct fx *fx = *state;
	struct rep *rp;

	rep_free(ok(call(fx->api, "[s{s[[sssi[ssss[ssss[sssi[ssss", 2, "write", 1, "ops", 5, 4,
	                 "child", U3, "birth_year", 2011, 4, "organisation", U3, "name", "Org U3",
	                 4, "child", U3, "ref", "TD-U3", 4, "child", U2, "birth_year", 2012, 4,
	                 "child", U3, "initials", "XY")));
	rp = ok(call(fx->api, "[s{ssss", 2, "get", 2, "table", "child", "id", U3));
	assert_str(cell(rp->res, 0, "ref"), "TD-U3");
	assert_str(cell(rp->res, 0, "initials"), "XY");
	assert_int_equal(cell(rp->res, 0, "birth_year")->via.u64, 2011);
	rep_free(rp);
	rp = ok(call(fx->api, "[s{ssss", 2, "get", 2, "table", "organisation", "id", U3));
	assert_str(cell(rp->res, 0, "name"), "Org U3");
	rep_free(rp);
	rp = ok(call(fx->api, "[s{ssss", 2, "get", 2, "table", "child", "id", U2));
	assert_int_equal(cell(rp->res, 0, "birth_year")->via.u64, 2012);
	rep_free(rp);
}

static void
test_big_write_splits(void **state)
{
	struct fx *fx = *state;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct rep *rp;
	size_t n = ARR_CS_MAX_OPS + 10;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	apimsg_pack_request_head(&pk, "write", 1);
	apimsg_pack_str(&pk, "ops");
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++) {
		char id[ARR_ROWID_STRLEN + 1];

		snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012zx", i);
		msgpack_pack_array(&pk, 4);
		apimsg_pack_str(&pk, "organisation"); /* region rows: no scope to open */
		apimsg_pack_str(&pk, id);
		apimsg_pack_str(&pk, "name");
		apimsg_pack_str(&pk, "Org");
	}
	rp = ok(call_raw(fx->api, sb.data, sb.size));
	assert_int_equal(ufield(rp->res, "first_seq"), 1);
	assert_int_equal(ufield(rp->res, "changesets"), 2);
	assert_int_equal(ufield(rp->res, "last_seq"), 2);
	assert_true(fx->fake.first == 1 && fx->fake.last == 2);
	rep_free(rp);
	msgpack_sbuffer_destroy(&sb);

	rp = ok(
	    call(fx->api, "[s{ss", 2, "query", 1, "sql", "SELECT count(*) AS n FROM organisation"));
	assert_int_equal(cell(rp->res, 0, "n")->via.u64, n);
	rep_free(rp);
}

static void
test_query_read_only(void **state)
{
	struct fx *fx = *state;
	static const char *const writes[] = {
	    "INSERT INTO child (id, ref) VALUES ('" U3 "', 'x')",
	    "UPDATE child SET ref = 'x'",
	    "DELETE FROM child",
	    "DROP TABLE child",
	    "ATTACH DATABASE '/tmp/arrang-evil.db' AS evil",
	    "CREATE TABLE t (x)",
	    "PRAGMA writable_schema = 1",
	};
	struct rep *rp;

	write_fixture(fx);
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		rp = call(fx->api, "[s{ss", 2, "query", 1, "sql", writes[i]);
		if (rp->code != ARR_EREADONLY)
			fail_msg("'%s': expected ARR_EREADONLY, got %s: %s", writes[i],
			         arrerr_name(rp->code), rp->msg);
		rep_free(rp);
	}
	assert_int_equal(access("/tmp/arrang-evil.db", F_OK), -1);

	rp = call(fx->api, "[s{ss", 2, "query", 1, "sql", "SELEC * FROM child");
	assert_int_equal(rp->code, ARR_EINVAL);
	assert_non_null(strstr(rp->msg, "syntax error"));
	rep_free(rp);
	expect_msg(call(fx->api, "[s{ss", 2, "query", 1, "sql", ""), ARR_EINVAL,
	           "param 'sql' must not be empty");
	EXPECT(fx->api, ARR_EINVAL, "[s{ss", 2, "query", 1, "sql", "SELECT * FROM nosuch");
	EXPECT(fx->api, ARR_EINVAL, "[s{ss", 2, "query", 1, "sql", "SELECT 1; SELECT 2");
#define PAD100                                                                                     \
	"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdef" \
	"ghijklmnopqr"
	/* A value over the store's limit, and a result too big for one reply, are refused,
	 * not sent in pieces or truncated. */
	expect_msg(call(fx->api, "[s{ss", 2, "query", 1, "sql",
	                "WITH RECURSIVE g(s) AS (SELECT 'ab' UNION ALL SELECT s || s FROM g) "
	                "SELECT count(*) FROM g"),
	           ARR_ETOOBIG, "a string, blob or sorted row over 131072 bytes");
	/* ... and the refusal says how many rows fit and how to read the rest. */
	rp = call(fx->api, "[s{ss", 2, "query", 1, "sql",
	          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	          "WHERE i < 100000) SELECT i, upper(i || '" PAD100 "') AS pad FROM n");
	unsigned long fit = 0;
	assert_int_equal(rp->code, ARR_ETOOBIG);
	assert_int_equal(sscanf(rp->msg, "result too large for one reply (%lu rows fit); ", &fit),
	                 1);
	assert_true(fit > 50000 && fit < 100000);
	assert_non_null(strstr(rp->msg, "read it in parts: ORDER BY id with WHERE id > the last "
	                                "id, and LIMIT"));
	rep_free(rp);

	/* A runaway query is interrupted: the daemon's one thread is never held for long. */
	expect_msg(call(fx->api, "[s{ss", 2, "query", 1, "sql",
	                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
	                "SELECT count(*) FROM n"),
	           ARR_ETIMEOUT, "query interrupted after 2000 ms");

	/* A function outside the allowed list is named in the refusal. */
	rp = call(fx->api, "[s{ss", 2, "query", 1, "sql", "SELECT replace('a', 'a', 'b')");
	assert_int_equal(rp->code, ARR_EINVAL);
	assert_non_null(
	    strstr(rp->msg, "function replace is not allowed in queries; allowed: abs,"));
	assert_non_null(strstr(rp->msg, ", upper"));
	rep_free(rp);

	/* Nothing changed. */
	rp = ok(call(fx->api, "[s{ss", 2, "list", 1, "table", "child"));
	assert_int_equal(rows(rp->res)->via.array.size, 2);
	rep_free(rp);
}

static void
test_quarantine(void **state)
{
	struct fx *fx = *state;
	struct nodekey *k2 = tu_key(2);
	struct changeset *cs = NULL;
	/* a region change set (test change sets are built in the region scope) */
	struct cs_op op = {.table = "organisation", .column = "name", .value = value_text("SWV 9")};
	struct cs_header h = {.seq = 1,
	                      .hlc = hlc_make(hlc_wall_ms(), 0),
	                      .author_org = "SWV PO Testregio",
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct store_blob blobs[2];
	struct rep *rp;
	char hex[NODEKEY_HEX_LEN + 1];

	rp = ok(call(fx->api, "[s{", 2, "quarantine.list", 0));
	assert_int_equal(field(rp->res, "entries")->via.array.size, 0);
	rep_free(rp);

	/* A change set from a non-member, and garbage: both quarantined. */
	memset(op.row, 0x42, sizeof(op.row));
	op.row[6] = 0x40;
	op.row[8] = 0x80;
	assert_int_equal(changeset_build_region(k2, &h, &op, 1, &cs), 0);
	blobs[0] = (struct store_blob){cs->raw, cs->rawlen};
	blobs[1] = (struct store_blob){(const uint8_t *)"\x92\xc4\x01x\xc0", 5};
	assert_int_equal(store_apply(fx->st, blobs, 2, NULL, NULL), 0);

	rp = ok(call(fx->api, "[s{", 2, "quarantine.list", 0));
	assert_int_equal(field(rp->res, "entries")->via.array.size, 2);
	nodekey_hex(nodekey_public(k2), hex);
	const msgpack_object *q0 = &field(rp->res, "entries")->via.array.ptr[0];
	const msgpack_object *q1 = &field(rp->res, "entries")->via.array.ptr[1];
	assert_int_equal(q0->via.map.size, 8);
	assert_str(field(q0, "origin"), hex);
	assert_int_equal(ufield(q0, "seq"), 1);
	assert_int_equal(field(q0, "code")->via.i64, ARR_ENOTMEMBER);
	assert_str(field(q0, "reason"), "ARR_ENOTMEMBER");
	assert_int_equal(field(q0, "detail")->type, MSGPACK_OBJECT_STR);
	assert_true(ufield(q0, "received_ms") > 0);
	assert_int_equal(field(q1, "origin")->type, MSGPACK_OBJECT_NIL);
	assert_true(field(q1, "code")->via.i64 < 0);
	rep_free(rp);

	rp = ok(call(fx->api, "[s{", 2, "status", 0));
	assert_int_equal(ufield(rp->res, "quarantined"), 2);
	rep_free(rp);

	/* Still not a member: nothing applies, the hook is not called. */
	rp = ok(call(fx->api, "[s{", 2, "quarantine.retry", 0));
	assert_int_equal(ufield(rp->res, "applied"), 0);
	assert_int_equal(ufield(rp->res, "quarantined"), 2);
	assert_int_equal(fx->fake.applied, 0);
	rep_free(rp);

	/* Now a member: retrying its id applies it and tells the sync layer. */
	fx->member2 = true;
	rp = ok(call(fx->api, "[s{", 2, "quarantine.list", 0));
	uint64_t id = (uint64_t)field(&field(rp->res, "entries")->via.array.ptr[0], "id")->via.i64;
	assert_true(ufield(&field(rp->res, "entries")->via.array.ptr[0], "attempts") >= 1);
	rep_free(rp);
	rp = ok(call(fx->api, "[s{su", 2, "quarantine.retry", 1, "id", (unsigned long long)id));
	assert_int_equal(ufield(rp->res, "applied"), 1);
	assert_int_equal(ufield(rp->res, "quarantined"), 0);
	assert_int_equal(fx->fake.applied, 1);
	rep_free(rp);
	rp = ok(call(fx->api, "[s{", 2, "quarantine.list", 0));
	assert_int_equal(field(rp->res, "entries")->via.array.size, 1);
	rep_free(rp);

	EXPECT(fx->api, ARR_ENOTFOUND, "[s{su", 2, "quarantine.retry", 1, "id", 999ull);
	EXPECT(fx->api, ARR_ETYPE, "[s{si", 2, "quarantine.retry", 1, "id", -1);
	EXPECT(fx->api, ARR_EINVAL, "[s{su", 2, "quarantine.retry", 1, "id",
	       (unsigned long long)UINT64_MAX);

	changeset_destroy(&cs);
	nodekey_destroy(&k2);
}

/* Bytes and shapes that are not one request. */
static void
malformed_shape(struct api *a)
{
	/* Bytes that are not one request. */
	EXPECT_RAW(a, ARR_EMALFORMED, "");
	EXPECT_RAW(a, ARR_EMALFORMED, "GET / HTTP/1.1\r\n\r\n");
	EXPECT_RAW(a, ARR_EMALFORMED, "\xc1");
	EXPECT_RAW(a, ARR_EMALFORMED, "\x92\xa6status");         /* truncated */
	EXPECT_RAW(a, ARR_EMALFORMED, "\x92\xa6status\x80\xc0"); /* trailing bytes */
	EXPECT_RAW(a, ARR_EMALFORMED, "\xdd\xff\xff\xff\xff");   /* claims 4G elements */
	EXPECT_RAW(a, ARR_EMALFORMED, "\x92\xa6status\xdf\x7f\xff\xff\xff");
	/* Shape. */
	EXPECT(a, ARR_EMALFORMED, "[s", 1, "status");
	EXPECT(a, ARR_EMALFORMED, "[s{n", 3, "status", 0);
	EXPECT(a, ARR_EMALFORMED, "{s{", 1, "status", 0);
	EXPECT(a, ARR_EMALFORMED, "s", "status");
	EXPECT(a, ARR_ETYPE, "[i{", 2, 1, 0);
	EXPECT(a, ARR_ETYPE, "[n{", 2, 0);
	EXPECT(a, ARR_ETYPE, "[b{", 2, "status", 6, 0);
	EXPECT(a, ARR_ETYPE, "[s[", 2, "status", 0);
	EXPECT(a, ARR_ETYPE, "[sn", 2, "status");
	EXPECT(a, ARR_ETYPE, "[s{in", 2, "get", 1, 1);
	EXPECT(a, ARR_ETYPE, "[s{bn", 2, "get", 1, "table", 5);
	EXPECT(a, ARR_EINVAL, "[s{snsn", 2, "get", 2, "id", "id");
	EXPECT(a, ARR_EMALFORMED, "[s{s[[[[[n", 2, "write", 1, "ops", 1, 1, 1, 1, 1);
}

/* Unknown methods, unknown and missing params. */
static void
malformed_params(struct api *a)
{
	/* Methods and params. */
	expect_msg(call(a, "[s{", 2, "frobnicate", 0), ARR_EINVAL, "unknown method 'frobnicate'");
	expect_msg(call(a, "[s{", 2, "Status", 0), ARR_EINVAL, "unknown method 'Status'");
	EXPECT(a, ARR_EINVAL, "[s{", 2, "", 0);
	expect_msg(call(a, "[s{sn", 2, "status", 1, "verbose"), ARR_EINVAL,
	           "unknown param 'verbose'");
	expect_msg(call(a, "[s{ssss", 2, "get", 2, "table", "child", "idd", U1), ARR_EINVAL,
	           "unknown param 'idd'");
	expect_msg(call(a, "[s{ss", 2, "get", 1, "id", U1), ARR_EINVAL, "missing param 'table'");
	expect_msg(call(a, "[s{ss", 2, "get", 1, "table", "child"), ARR_EINVAL,
	           "missing param 'id'");
	EXPECT(a, ARR_EINVAL, "[s{", 2, "write", 0);
	EXPECT(a, ARR_EINVAL, "[s{", 2, "query", 0);
	EXPECT(a, ARR_EINVAL, "[s{", 2, "list", 0);
	EXPECT(a, ARR_EINVAL, "[s{", 2, "history", 0);
}

/* Params of the wrong type. */
static void
malformed_param_types(struct api *a)
{
	/* Param types. */
	expect_msg(call(a, "[s{sssi", 2, "list", 2, "table", "child", "limit", -1), ARR_ETYPE,
	           "param 'limit' must be uint");
	EXPECT(a, ARR_ETYPE, "[s{ssss", 2, "list", 2, "table", "child", "limit", "10");
	EXPECT(a, ARR_ETYPE, "[s{sssf", 2, "list", 2, "table", "child", "limit", 1.0);
	EXPECT(a, ARR_ETYPE, "[s{sssi", 2, "list", 2, "table", "child", "where", 1);
	EXPECT(a, ARR_ETYPE, "[s{sssi", 2, "list", 2, "table", "child", "where", 1);
	EXPECT(a, ARR_ETYPE, "[s{sss[", 2, "list", 2, "table", "child", "where", 0);
	EXPECT(a, ARR_ETYPE, "[s{si", 2, "list", 1, "table", 7);
	EXPECT(a, ARR_ETYPE, "[s{si", 2, "query", 1, "sql", 7);
	EXPECT(a, ARR_ETYPE, "[s{ssst", 2, "get", 2, "table", "child", "id");
	EXPECT(a, ARR_ETYPE, "[s{ss", 2, "write", 1, "ops", "all of them");
	EXPECT(a, ARR_ETYPE, "[s{s{", 2, "write", 1, "ops", 0);
}

/* Unknown tables and columns, bad row ids. */
static void
malformed_names(struct api *a)
{
	/* Tables, columns, ids. */
	expect_msg(call(a, "[s{ssss", 2, "get", 2, "table", "foo", "id", U1), ARR_ESCHEMA,
	           "unknown table 'foo'");
	EXPECT(a, ARR_ESCHEMA, "[s{ss", 2, "list", 1, "table", "sqlite_master");
	EXPECT(a, ARR_ESCHEMA, "[s{ss", 2, "list", 1, "table", "_log");
	EXPECT(a, ARR_ESCHEMA, "[s{sss{si", 2, "list", 2, "table", "child", "where", 1, "bsn", 1);
	EXPECT(a, ARR_ETYPE, "[s{sss{ii", 2, "list", 2, "table", "child", "where", 1, 1, 1);
	EXPECT(a, ARR_EINVAL, "[s{sss{sn", 2, "list", 2, "table", "child", "where", 1, "_deleted");
	EXPECT(a, ARR_EINVAL, "[s{sss{ss", 2, "list", 2, "table", "child", "where", 1, "birth_year",
	       SECRET);
	EXPECT(a, ARR_ETYPE, "[s{sss{st", 2, "list", 2, "table", "child", "where", 1, "ref");
	expect_msg(call(a, "[s{ssss", 2, "get", 2, "table", "child", "id", "not-a-uuid"),
	           ARR_EINVAL, "param 'id' must be a uuid");
	EXPECT(a, ARR_EINVAL, "[s{ssss", 2, "get", 2, "table", "child", "id", U1 "0");
	EXPECT(a, ARR_EINVAL, "[s{ssss", 2, "get", 2, "table", "child", "id",
	       "6f1c2d9e8a4b4c3d9e2f1a2b3c4d5e6f");
	EXPECT(a, ARR_EINVAL, "[s{ssss", 2, "history", 2, "table", "child", "id", SECRET);
	EXPECT(a, ARR_ENOTFOUND, "[s{ssss", 2, "get", 2, "table", "child", "id", U3);
}

/* Bad ops in a write. */
static void
malformed_ops(struct api *a)
{
	/* Ops. */
	expect_msg(call(a, "[s{s[", 2, "write", 1, "ops", 0), ARR_EINVAL,
	           "param 'ops' must not be empty");
	EXPECT(a, ARR_ETYPE, "[s{s[s", 2, "write", 1, "ops", 1, "child");
	EXPECT(a, ARR_EMALFORMED, "[s{s[[sss", 2, "write", 1, "ops", 1, 3, "child", U1, "ref");
	EXPECT(a, ARR_EMALFORMED, "[s{s[[sssnn", 2, "write", 1, "ops", 1, 5, "child", U1, "ref");
	expect_msg(call(a, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "foo", U1, "ref", SECRET),
	           ARR_ESCHEMA, "ops[0]: unknown table 'foo'");
	expect_msg(call(a, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "child", U1, "bsn", SECRET),
	           ARR_ESCHEMA, "ops[0]: unknown column 'bsn' in table 'child'");
	EXPECT(a, ARR_ESCHEMA, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "child", U1, "id", U2);
	EXPECT(a, ARR_ETYPE, "[s{s[[isss", 2, "write", 1, "ops", 1, 4, 1, U1, "ref", SECRET);
	EXPECT(a, ARR_ETYPE, "[s{s[[sbss", 2, "write", 1, "ops", 1, 4, "child", "0123456789abcdef",
	       16, "ref", SECRET);
	EXPECT(a, ARR_ETYPE, "[s{s[[ssis", 2, "write", 1, "ops", 1, 4, "child", U1, 3, SECRET);
	EXPECT(a, ARR_EINVAL, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "child", "x", "ref",
	       SECRET);
	EXPECT(a, ARR_EINVAL, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "child",
	       "6f1c2d9e-8a4b-4c3d-9e2f-1a2b3c4d5e6g", "ref", SECRET);
	expect_msg(
	    call(a, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "child", U1, "birth_year", SECRET),
	    ARR_EINVAL, "ops[0]: column 'birth_year' needs int");
	EXPECT(a, ARR_EINVAL, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "organisation", U3, "kind",
	       SECRET);
	EXPECT(a, ARR_EINVAL, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "arrangement", U3,
	       "start_on", "2016-01-32");
	EXPECT(a, ARR_EINVAL, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "arrangement", U3,
	       "child_id", SECRET);
	EXPECT(a, ARR_EINVAL, "[s{s[[sssi", 2, "write", 1, "ops", 1, 4, "child", U1, "ref", 7);
	EXPECT(a, ARR_EINVAL, "[s{s[[sssf", 2, "write", 1, "ops", 1, 4, "child", U1, "birth_year",
	       2016.0);
	EXPECT(a, ARR_ETYPE, "[s{s[[sssF", 2, "write", 1, "ops", 1, 4, "child", U1, "birth_year",
	       2016.0);
	EXPECT(a, ARR_ETYPE, "[s{s[[ssst", 2, "write", 1, "ops", 1, 4, "child", U1, "ref");
	EXPECT(a, ARR_ETYPE, "[s{s[[sss[", 2, "write", 1, "ops", 1, 4, "child", U1, "ref", 0);
	EXPECT(a, ARR_ETYPE, "[s{s[[sss{", 2, "write", 1, "ops", 1, 4, "child", U1, "ref", 0);
	EXPECT(a, ARR_EINVAL, "[s{s[[sssu", 2, "write", 1, "ops", 1, 4, "child", U1, "birth_year",
	       (unsigned long long)UINT64_MAX);
	EXPECT(a, ARR_EINVAL, "[s{s[[sssi", 2, "write", 1, "ops", 1, 4, "child", U1, "_deleted", 2);
}

/* Bad ops among good ones. */
static void
malformed_ops_mixed(struct api *a)
{
	/* One bad op among good ones: nothing is written. */
	EXPECT(a, ARR_EINVAL, "[s{s[[ssss[ssss", 2, "write", 1, "ops", 2, 4, "child", U1, "ref",
	       "TD-NEW", 4, "child", U1, "birth_year", SECRET);
	EXPECT(a, ARR_EMALFORMED, "[s{s[[ssss[sss", 2, "write", 1, "ops", 2, 4, "child", U1, "ref",
	       "TD-NEW", 3, "child", U1, "ref");
	/*
	 * A later op that differs from the one before only a little: the fast path compares
	 * with the previous op's table, row id and column and must still refuse these.
	 */
	expect_msg(call(a, "[s{s[[ssss[ssss", 2, "write", 1, "ops", 2, 4, "child", U1, "ref",
	                "TD-NEW", 4, "child", "6F1C2D9E-8A4B-4C3D-9E2F-1A2B3C4D5E6F", "initials",
	                "AB"),
	           ARR_EINVAL, "ops[1] row_id must be a uuid");
	expect_msg(call(a, "[s{s[[ssss[ssss", 2, "write", 1, "ops", 2, 4, "child", U1, "ref",
	                "TD-NEW", 4, "child", U1 "0", "initials", "AB"),
	           ARR_EINVAL, "ops[1] row_id must be a uuid");
	expect_msg(call(a, "[s{s[[ssss[ssss", 2, "write", 1, "ops", 2, 4, "child", U1, "ref",
	                "TD-NEW", 4, "childx", U1, "initials", "AB"),
	           ARR_ESCHEMA, "ops[1]: unknown table 'childx'");
	expect_msg(call(a, "[s{s[[ssss[ssss", 2, "write", 1, "ops", 2, 4, "child", U1, "ref",
	                "TD-NEW", 4, "child", U1, "kind", "school"),
	           ARR_ESCHEMA, "ops[1]: unknown column 'kind' in table 'child'");
	expect_msg(call(a, "[s{s[[ssss[ssss[ssss", 2, "write", 1, "ops", 3, 4, "organisation", U3,
	                "kind", "school", 4, "child", U1, "ref", "TD-NEW", 4, "child", U1, "name",
	                "X"),
	           ARR_ESCHEMA, "ops[2]: unknown column 'name' in table 'child'");
}

/* An ops list one longer than the limit. */
static void
malformed_too_many_ops(struct api *a)
{
	struct rep *rp;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	apimsg_pack_request_head(&pk, "write", 1);
	apimsg_pack_str(&pk, "ops");
	msgpack_pack_array(&pk, APIMSG_MAX_OPS + 1);
	for (int i = 0; i < APIMSG_MAX_OPS + 1; i++) {
		msgpack_pack_array(&pk, 4);
		apimsg_pack_str(&pk, "child");
		apimsg_pack_str(&pk, U1);
		apimsg_pack_str(&pk, "ref");
		msgpack_pack_nil(&pk);
	}
	assert_true(sb.size <= ARR_MSG_MAX_BYTES);
	rp = call_raw(a, sb.data, sb.size);
	assert_int_equal(rp->code, ARR_ETOOBIG);
	assert_string_equal(rp->msg, "too many ops (max 100000)");
	rep_free(rp);
	msgpack_sbuffer_destroy(&sb);
}

/* The table of malformed requests: each gets its code and the replica stays as it was. */
static void
test_malformed_table(void **state)
{
	struct fx *fx = *state;
	struct api *a = fx->api;
	struct rep *rp;
	char d0[65];

	write_fixture(fx);
	fx->fake.committed = 0;
	rp = ok(call(a, "[s{", 2, "digest", 0));
	memcpy(d0, field(rp->res, "digest")->via.str.ptr, 64);
	d0[64] = '\0';
	rep_free(rp);

	malformed_shape(a);
	malformed_params(a);
	malformed_param_types(a);
	malformed_names(a);
	malformed_ops(a);
	malformed_ops_mixed(a);
	malformed_too_many_ops(a);

	/* Still serving, and nothing changed. */
	assert_int_equal(fx->fake.committed, 0);
	rp = ok(call(a, "[s{", 2, "digest", 0));
	assert_true(str_eq(field(rp->res, "digest"), d0));
	rep_free(rp);
	rp = ok(call(a, "[s{", 2, "status", 0));
	assert_int_equal(ufield(rp->res, "local_seq"), FIXTURE_SEQS);
	rep_free(rp);
}

/* ---- backup ---- */

/* count(*) of sql in the database at path, opened read-only with SQLite directly. */
static long long
db_count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* store_blob_fn: keep a copy of one logged change set. */
static int
grab_blob(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
          size_t len)
{
	msgpack_sbuffer *sb = ctx;

	(void)origin;
	(void)seq;
	msgpack_sbuffer_write(sb, (const char *)data, len);
	return 0;
}

/* A one-op write of organisation U3's name through api; returns the reply. */
static struct rep *
write_name(struct api *api, const char *name)
{
	return call(api, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "organisation", U3, "name",
	            name);
}

/*
 * "backup" writes a new file that is a database with the same rows and digest, refuses
 * a relative path and an existing file (which stays untouched), and a failed backup
 * leaves no file behind.
 */
static void
test_backup(void **state)
{
	struct fx *fx = *state;
	char *path = tu_path(fx->dir, "backup.db"), *nodir = tu_path(fx->dir, "nodir/backup.db");
	struct store *copy = NULL;
	uint8_t d1[32], d2[32];
	struct rep *rp;
	struct stat sb;
	int err = 0;

	write_fixture(fx);
	rp = ok(call(fx->api, "[s{ss", 2, "backup", 1, "path", path));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(ufield(rp->res, "bytes"), (uint64_t)sb.st_size);
	assert_true(sb.st_size > 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(rp->res->via.map.size, 1);
	rep_free(rp);
	assert_int_equal(db_count(path, "SELECT count(*) FROM child"), 2);
	assert_int_equal(db_count(path, "SELECT count(*) FROM organisation"), 1);
	assert_int_equal(db_count(path, "SELECT count(*) FROM _log"), FIXTURE_SEQS);

	/* The copy opens as this node's replica with the same contents. */
	struct store_config cfg = {.path = path,
	                           .key = fx->key,
	                           .organisation = "Gemeente Testdorp",
	                           .no_domain_rules = true};
	assert_non_null(copy = store_open(&cfg, &err));
	assert_int_equal(store_digest(fx->st, d1), 0);
	assert_int_equal(store_digest(copy, d2), 0);
	assert_memory_equal(d1, d2, sizeof(d1));
	store_destroy(&copy);

	/* Never overwrites; never a relative path; a missing directory leaves nothing. */
	EXPECT(fx->api, ARR_EEXIST, "[s{ss", 2, "backup", 1, "path", path);
	assert_int_equal(db_count(path, "SELECT count(*) FROM child"), 2);
	EXPECT(fx->api, ARR_EINVAL, "[s{ss", 2, "backup", 1, "path", "backup.db");
	EXPECT(fx->api, ARR_EINVAL, "[s{ss", 2, "backup", 1, "path", "");
	EXPECT(fx->api, ARR_EINVAL, "[s{", 2, "backup", 0);
	EXPECT(fx->api, ARR_ETYPE, "[s{si", 2, "backup", 1, "path", 1);
	EXPECT(fx->api, ARR_EINVAL, "[s{ssss", 2, "backup", 2, "path", path, "force", "yes");
	EXPECT(fx->api, ARR_EIO, "[s{ss", 2, "backup", 1, "path", nodir);
	assert_int_equal(access(nodir, F_OK), -1);
	free(nodir);
	free(path);
}

/* status's writes_held on api: nil when reason is NULL, else {reason, until_seq}. */
static void
expect_held(struct api *api, const char *reason, uint64_t until_seq)
{
	struct rep *rp = ok(call(api, "[s{", 2, "status", 0));
	const msgpack_object *h = field(rp->res, "writes_held");

	if (reason == NULL) {
		assert_int_equal(h->type, MSGPACK_OBJECT_NIL);
	} else {
		assert_str(field(h, "reason"), reason);
		assert_int_equal(ufield(h, "until_seq"), until_seq);
	}
	rep_free(rp);
}

/*
 * The data-integrity bug a restore used to cause: a replica restored from a backup took
 * at its next local write the seq after the backup's, which the region already held
 * with other content (the node's writes after the backup), so every other replica
 * quarantined the new change set and the node quarantined its own old one. Now a
 * restored replica holds writes until a peer has answered a pull, and any replica holds
 * them while verified change sets of its own above its log are pending; a claim alone
 * (a vector) holds nothing, the store has no way to hear one.
 */
static void
test_restore_holds_writes(void **state)
{
	struct fx *fx = *state;
	char *path = tu_path(fx->dir, "backup.db");
	struct store *copy = NULL;
	struct api *api2 = NULL;
	msgpack_sbuffer cs[2];
	struct store_apply_stats stats;
	struct store_blob blob;
	struct rep *rp;
	uint64_t need = 1;
	int err = 0;

	const uint64_t s2 = FIXTURE_SEQS + 1, s3 = FIXTURE_SEQS + 2;

	write_fixture(fx); /* seqs 1 .. FIXTURE_SEQS */
	rep_free(ok(call(fx->api, "[s{ss", 2, "backup", 1, "path", path)));
	rep_free(ok(write_name(fx->api, "After the backup")));   /* seq s2, not in the backup */
	rep_free(ok(write_name(fx->api, "After the backup 2"))); /* seq s3 */
	assert_false(store_writes_held(fx->st, NULL));
	for (int k = 0; k < 2; k++) {
		msgpack_sbuffer_init(&cs[k]);
		assert_int_equal(store_changeset_get(fx->st, fx->fake.origin, s2 + (uint64_t)k,
		                                     grab_blob, &cs[k]),
		                 0);
	}

	/* "Restore": this node's replica is now the backup. */
	struct store_config cfg = {.path = path,
	                           .key = fx->key,
	                           .organisation = "Gemeente Testdorp",
	                           .no_domain_rules = true};
	assert_non_null(copy = store_open(&cfg, &err));
	assert_non_null(api2 = api_new(copy, NULL));
	assert_true(store_writes_held(copy, &need));
	assert_int_equal(need, 0);
	expect_msg(write_name(api2, "Reusing seq 2"), ARR_ESTATE,
	           "writes held until a peer has answered a pull (replica restored from a backup)");
	expect_held(api2, "restored", 0);

	/* A peer answered a pull with our s3 only: s3 is evidence, held until s2 is back. */
	blob = (struct store_blob){(const uint8_t *)cs[1].data, cs[1].size};
	assert_int_equal(store_apply(copy, &blob, 1, NULL, &stats), 0);
	assert_int_equal(stats.pending, 1);
	store_own_heard(copy);
	assert_true(store_writes_held(copy, &need));
	assert_int_equal(need, s3);
	char held[128];
	snprintf(held, sizeof(held),
	         "writes held until this node has its own change sets up to seq %llu back from "
	         "its peers",
	         (unsigned long long)s3);
	expect_msg(write_name(api2, "Reusing seq 2"), ARR_ESTATE, held);
	expect_held(api2, "own_changesets", s3);
	assert_int_equal(db_count(path, "SELECT count(*) FROM _log"), FIXTURE_SEQS);

	/* Our own s2 comes back, s3 follows from pending; the next write takes the seq after. */
	blob = (struct store_blob){(const uint8_t *)cs[0].data, cs[0].size};
	assert_int_equal(store_apply(copy, &blob, 1, NULL, &stats), 0);
	assert_int_equal(stats.applied, 2);
	assert_false(store_writes_held(copy, NULL));
	expect_held(api2, NULL, 0);
	rp = ok(write_name(api2, "After the restore"));
	assert_int_equal(ufield(rp->res, "first_seq"), s3 + 1);
	rep_free(rp);
	api_destroy(&api2);
	store_destroy(&copy);
	for (int k = 0; k < 2; k++)
		msgpack_sbuffer_destroy(&cs[k]);

	/* The hold was lifted for good: reopened, the copy writes at once. */
	assert_non_null(copy = store_open(&cfg, &err));
	assert_false(store_writes_held(copy, NULL));
	store_destroy(&copy);
	free(path);
}

/* ---- metrics ---- */

static int
fake_metrics(void *ctx, FILE *out)
{
	(void)ctx;
	fputs("# HELP arrangd_peers_connected Peers.\n# TYPE arrangd_peers_connected gauge\n"
	      "arrangd_peers_connected 3\n",
	      out);
	return 0;
}

static int
failing_metrics(void *ctx, FILE *out)
{
	(void)ctx;
	(void)out;
	return ARR_ENOMEM;
}

/*
 * Check that text is Prometheus text format: every line is "# HELP name text", "# TYPE
 * name type" or "name{labels} value", each sample's family was declared by a TYPE line
 * before it, and is one of names. Returns the value of the sample named want (-1: none).
 */
static double
prom_check(const char *text, const char *const *names, const char *want)
{
	char declared[64][64];
	size_t ndeclared = 0;
	double found = -1;
	const char *p = text;

	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		char line[512], name[64], type[32], rest[256];
		double v;
		size_t n = (size_t)(nl - p);

		assert_non_null(nl);
		assert_true(n < sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (sscanf(line, "# TYPE %63s %31s", name, type) == 2) {
			bool known = false;

			assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
			            strcmp(type, "histogram") == 0);
			for (size_t i = 0; names[i] != NULL; i++)
				known |= strcmp(names[i], name) == 0;
			if (!known)
				fail_msg("unknown metric family %s", name);
			assert_true(ndeclared < 64);
			snprintf(declared[ndeclared++], 64, "%s", name);
			continue;
		}
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		/* name{labels} value */
		if (sscanf(line, "%63[a-z_]%255s", name, rest) < 1)
			fail_msg("bad sample line '%s'", line);
		const char *sp = strrchr(line, ' ');
		char *end;

		assert_non_null(sp);
		v = strtod(sp + 1, &end);
		if (*end != '\0' || v < 0)
			fail_msg("bad value in '%s'", line);
		if (line[strlen(name)] != ' ' && (line[strlen(name)] != '{' || *(sp - 1) != '}'))
			fail_msg("bad labels in '%s'", line);
		bool ok_family = false;
		for (size_t i = 0; i < ndeclared; i++) {
			size_t l = strlen(declared[i]);

			ok_family |=
			    strcmp(name, declared[i]) == 0 ||
			    (strncmp(name, declared[i], l) == 0 &&
			     (strcmp(name + l, "_bucket") == 0 || strcmp(name + l, "_sum") == 0 ||
			      strcmp(name + l, "_count") == 0));
		}
		if (!ok_family)
			fail_msg("sample before its # TYPE: '%s'", line);
		if (want != NULL && strcmp(name, want) == 0 && line[strlen(name)] == ' ')
			found = v;
	}
	return found;
}

/* The text of a "metrics" reply, NUL-terminated (caller frees). */
static char *
metrics_text(struct api *api)
{
	struct rep *rp = ok(call(api, "[s{", 2, "metrics", 0));
	const msgpack_object *t = field(rp->res, "text");
	char *s;

	assert_int_equal(t->type, MSGPACK_OBJECT_STR);
	assert_non_null(s = strndup(t->via.str.ptr, t->via.str.size));
	rep_free(rp);
	return s;
}

/*
 * "metrics": parseable Prometheus text with the API's and the store's families and the
 * sync layer's through the hook; local writes and log size move with writes, and a
 * failing hook is an error reply.
 */
static void
test_metrics(void **state)
{
	static const char *const names[] = {"arrangd_local_writes_total",
	                                    "arrangd_log_changesets",
	                                    "arrangd_pending_size",
	                                    "arrangd_quarantine_size",
	                                    "arrangd_db_bytes",
	                                    "arrangd_changesets_clock_rejected_total",
	                                    "arrangd_data_free_bytes",
	                                    "arrangd_data_size_bytes",
	                                    "arrangd_writes_held",
	                                    "arrangd_search_notes_overflow_total",
	                                    "arrangd_digest_inline_total",
	                                    "arrangd_seal_inline_total",
	                                    "arrangd_seal_worker_total",
	                                    "arrangd_seal_full_total",
	                                    "arrangd_held_commits_total",
	                                    "arrangd_held_writes_total",
	                                    "arrangd_held_refused_total",
	                                    "arrangd_held_lost_total",
	                                    "arrangd_held_undo_over_total",
	                                    "arrangd_apply_checked_ahead_total",
	                                    "arrangd_apply_checked_inline_total",
	                                    "arrangd_apply_check_overflow_total",
	                                    "arrangd_export_walks_total",
	                                    "arrangd_export_walks_kept_total",
	                                    "arrangd_export_walk_overflow_total",
	                                    "arrangd_schema_kept_changesets",
	                                    "arrangd_schema_kept_bytes",
	                                    "arrangd_schema_kept_overflow_total",
	                                    "arrangd_pending_bytes",
	                                    "arrangd_quarantine_bytes",
	                                    "arrangd_pending_dropped_total",
	                                    "arrangd_quarantine_evicted_total",
	                                    "arrangd_retention_acted_total",
	                                    "arrangd_equivocations",
	                                    "arrangd_quota_refused_total",
	                                    "arrangd_origin_over_quota_bytes",
	                                    "arrangd_denied_changesets",
	                                    "arrangd_denied_total",
	                                    "arrangd_peers_connected",
	                                    "arrangd_api_clients",
	                                    "arrangd_api_clients_accepted_total",
	                                    "arrangd_api_clients_refused_total",
	                                    "arrangd_api_clients_evicted_total",
	                                    "arrangd_api_accept_errors_total",
	                                    "arrangd_api_requests_total",
	                                    "arrangd_api_requests_gone_total",
	                                    "arrangd_api_rounds_deferred_total",
	                                    "arrangd_api_recv_bytes",
	                                    "arrangd_api_recv_refused_total",
	                                    "arrangd_api_recv_oversize_total",
	                                    "arrangd_api_timeouts_total",
	                                    "arrangd_api_version_errors_total",
	                                    NULL};
	struct fx *fx = *state;
	struct api_hooks hooks = fx->hooks;
	struct api *api2;
	char *text;

	text = metrics_text(fx->api);
	assert_true(prom_check(text, names, "arrangd_local_writes_total") == 0);
	assert_true(prom_check(text, names, "arrangd_log_changesets") == 0);
	assert_true(prom_check(text, names, "arrangd_db_bytes") > 0);
	assert_true(prom_check(text, names, "arrangd_data_size_bytes") > 0);
	assert_true(prom_check(text, names, "arrangd_data_free_bytes") >= 0);
	assert_true(prom_check(text, names, "arrangd_writes_held") == 0);
	assert_true(prom_check(text, names, "arrangd_changesets_clock_rejected_total") == 0);
	assert_true(prom_check(text, names, "arrangd_quarantine_evicted_total") == 0);
	/* act = manual (the default): nothing acted on by a timer */
	assert_non_null(strstr(text, "arrangd_retention_acted_total{action=\"shred\"} 0\n"));
	assert_non_null(strstr(text, "arrangd_retention_acted_total{action=\"erase\"} 0\n"));
	assert_true(prom_check(text, names, "arrangd_pending_bytes") == 0);
	assert_null(strstr(text, "arrangd_peers_connected")); /* no hook, no sync metrics */
	free(text);

	write_fixture(fx);
	rep_free(ok(write_name(fx->api, "Gemeente Testdorp 2")));
	EXPECT(fx->api, ARR_ESCHEMA, "[s{s[[ssss", 2, "write", 1, "ops", 1, 4, "nope", U3, "x",
	       "y");
	text = metrics_text(fx->api);
	assert_true(prom_check(text, names, "arrangd_local_writes_total") == 2);
	assert_true(prom_check(text, names, "arrangd_log_changesets") == FIXTURE_SEQS + 1);
	assert_true(prom_check(text, names, "arrangd_quarantine_size") == 0);
	assert_true(prom_check(text, names, "arrangd_pending_size") == 0);
	free(text);
	EXPECT(fx->api, ARR_EINVAL, "[s{si", 2, "metrics", 1, "x", 1);

	hooks.metrics = fake_metrics;
	assert_non_null(api2 = api_new(fx->st, &hooks));
	text = metrics_text(api2);
	assert_true(prom_check(text, names, "arrangd_peers_connected") == 3);
	free(text);
	api_destroy(&api2);
	hooks.metrics = failing_metrics;
	assert_non_null(api2 = api_new(fx->st, &hooks));
	EXPECT(api2, ARR_ENOMEM, "[s{", 2, "metrics", 0);
	api_destroy(&api2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_status_and_peers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_null_hooks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_mixed_ops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big_write_splits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_query_read_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_paged_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_holds_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
	};

	log_init(LOG_LVL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
