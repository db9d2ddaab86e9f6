/*
 * test_api_hold.c: held writes (PROTOCOL.md, "Held writes"; api_hold.c, store_hold.c)
 * through api_handle(), with clients told apart the way the socket tells them (the
 * running client, api.c's cur). A held write is staged, not durable: a second connection
 * to the replica sees none of it and its reply says so; the client's last write (no
 * "hold"), "commit", another client's request, a peer's change set applied, the peer
 * layer's reads of the vector and the log, the idle and time bounds and a hang-up each
 * commit it, and so does the byte bound, and the sync layer hears of what committed;
 * a write refused in the middle rolls back alone and leaves the digest true.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "api.h"
#include "api_int.h"
#include "apimsg.h"
#include "arrerr.h"
#include "changeset.h"
#include "hlc.h"
#include "monoclock.h"
#include "nodekey.h"
#include "rowid.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "vv.h"

struct fx {
	char *dir, *path;
	struct nodekey *key, *k2;
	struct store *st;
	struct api *api;
	struct api_hooks hooks;
	uint64_t told_first, told_last; /* the committed hook's last call */
	unsigned told;                  /* its calls */
};

/* Two clients, told apart by address only (api.c never looks inside cur). */
static const char client_a, client_b;
#define CLIENT(p) ((const struct api_conn *)(const void *)(p))

static void
hook_committed(void *ctx, uint64_t first, uint64_t last)
{
	struct fx *fx = ctx;

	fx->told++;
	fx->told_first = first;
	fx->told_last = last;
}

static const char *
member_org(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	struct fx *fx = ctx;

	return memcmp(origin, nodekey_public(fx->k2), ARR_ORIGIN_LEN) == 0 ? "SWV PO Testregio"
	                                                                   : NULL;
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	int err = 0;

	assert_non_null(fx);
	fx->dir = tu_tmpdir();
	fx->key = tu_key(1);
	fx->k2 = tu_key(2);
	fx->path = tu_path(fx->dir, "arrangd.db");
	struct store_config cfg = {
	    .path = fx->path,
	    .key = fx->key,
	    .organisation = "Gemeente Testdorp",
	    .member_org = member_org,
	    .member_ctx = fx,
	};
	fx->st = store_open(&cfg, &err);
	assert_int_equal(err, 0);
	fx->hooks = (struct api_hooks){.ctx = fx, .committed = hook_committed};
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
	store_destroy(&fx->st);
	nodekey_destroy(&fx->key);
	nodekey_destroy(&fx->k2);
	tu_rmtree(fx->dir);
	free(fx->path);
	free(fx);
	return 0;
}

/* A reply and the bytes it points into. */
struct rep {
	msgpack_sbuffer sb;
	struct apimsg_reply *r;
	const msgpack_object *res;
};

static void
rep_free(struct rep *rp)
{
	apimsg_reply_destroy(&rp->r);
	msgpack_sbuffer_destroy(&rp->sb);
}

/* Run the request in req as client c; the reply into rp. */
static int
run(struct fx *fx, const void *c, msgpack_sbuffer *req, struct rep *rp)
{
	msgpack_packer pk;
	char err[APIMSG_ERR_MAX];

	msgpack_sbuffer_init(&rp->sb);
	msgpack_packer_init(&pk, &rp->sb, msgpack_sbuffer_write);
	fx->api->cur = CLIENT(c);
	api_handle(fx->api, (const uint8_t *)req->data, req->size, &pk);
	fx->api->cur = NULL;
	api_write_told(fx->api); /* the socket does so once the reply is sent */
	msgpack_sbuffer_destroy(req);
	if (apimsg_reply_decode((const uint8_t *)rp->sb.data, rp->sb.size, &rp->r, err) != 0)
		fail_msg("reply does not decode: %s", err);
	rp->res = apimsg_reply_result(rp->r);
	if (apimsg_reply_code(rp->r) != 0)
		print_message("reply: %s\n", apimsg_reply_message(rp->r));
	return apimsg_reply_code(rp->r);
}

/*
 * A write of n children by client c (hold: ask to be held): child i's ref and birth
 * year, which is out of the rules' range when bad (refused after the merge).
 */
static int
write_children(struct fx *fx, const void *c, int base, int n, bool hold, bool bad, struct rep *rp)
{
	msgpack_sbuffer req;
	msgpack_packer pk;

	msgpack_sbuffer_init(&req);
	msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	apimsg_pack_str(&pk, "write");
	msgpack_pack_map(&pk, hold ? 2 : 1);
	apimsg_pack_str(&pk, "ops");
	msgpack_pack_array(&pk, (uint32_t)(2 * n));
	for (int i = 0; i < n; i++) {
		char id[ARR_ROWID_STRLEN + 1], ref[32];
		uint8_t row[ARR_ROWID_LEN];

		rowid_new(row);
		rowid_format(row, id);
		snprintf(ref, sizeof(ref), "K-%d", base + i);
		msgpack_pack_array(&pk, 4);
		apimsg_pack_str(&pk, "child");
		apimsg_pack_str(&pk, id);
		apimsg_pack_str(&pk, "ref");
		apimsg_pack_str(&pk, ref);
		msgpack_pack_array(&pk, 4);
		apimsg_pack_str(&pk, "child");
		apimsg_pack_str(&pk, id);
		apimsg_pack_str(&pk, "birth_year");
		msgpack_pack_int64(&pk, bad && i == n - 1 ? 1850 : 2015);
	}
	if (hold) {
		apimsg_pack_str(&pk, "hold");
		msgpack_pack_true(&pk);
	}
	return run(fx, c, &req, rp);
}

/* A request without params. */
static int
call0(struct fx *fx, const void *c, const char *method, struct rep *rp)
{
	msgpack_sbuffer req;
	msgpack_packer pk;

	msgpack_sbuffer_init(&req);
	msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	apimsg_pack_str(&pk, method);
	msgpack_pack_map(&pk, 0);
	return run(fx, c, &req, rp);
}

static const msgpack_object *
get(const msgpack_object *m, const char *k)
{
	for (uint32_t i = 0; m != NULL && m->type == MSGPACK_OBJECT_MAP && i < m->via.map.size;
	     i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;

		if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen(k) &&
		    memcmp(key->via.str.ptr, k, key->via.str.size) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

static uint64_t
uget(const msgpack_object *m, const char *k)
{
	const msgpack_object *o = get(m, k);

	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		fail_msg("no uint '%s'", k);
	return o->via.u64;
}

static bool
held(const msgpack_object *m)
{
	const msgpack_object *o = get(m, "held");

	if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN)
		fail_msg("no bool 'held'");
	return o->via.boolean;
}

/* What a second connection (another reader of the file) sees: own change sets logged. */
static int64_t
seen_seqs(const struct fx *fx)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM _vv", -1, &st, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* The main connection's synchronous level: 2 FULL, 1 NORMAL. */
static int
sync_level(const struct fx *fx)
{
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_prepare_v2(fx->st->db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The metric sample NAME{reason="why"} of the "metrics" text. */
static uint64_t
commits_by(struct fx *fx, const char *why)
{
	struct rep rp;
	char key[96];
	const msgpack_object *t;
	uint64_t n = UINT64_MAX;

	/* "metrics" would commit a hold: only asked when none is open */
	assert_false(api_holding(fx->api));
	assert_int_equal(call0(fx, &client_b, "metrics", &rp), 0);
	t = get(rp.res, "text");
	assert_non_null(t);
	snprintf(key, sizeof(key), "arrangd_held_commits_total{reason=\"%s\"} ", why);
	for (const char *p = t->via.str.ptr, *end = p + t->via.str.size; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (len > strlen(key) && memcmp(p, key, strlen(key)) == 0)
			n = strtoull(p + strlen(key), NULL, 10);
		p += len + 1;
	}
	rep_free(&rp);
	return n;
}

/* Held writes are staged unseen, and the client's last write commits them all. */
static void
test_held_then_last(void **state)
{
	struct fx *fx = *state;
	struct rep rp;
	uint64_t last1;

	assert_int_equal(write_children(fx, &client_a, 0, 50, true, false, &rp), 0);
	assert_true(held(rp.res));
	assert_int_equal(uget(rp.res, "durable_seq"), 0);
	last1 = uget(rp.res, "last_seq");
	assert_true(last1 >= 1);
	rep_free(&rp);
	assert_int_equal(seen_seqs(fx), 0);
	assert_int_equal(fx->told, 0);       /* nothing for the peers yet */
	assert_int_equal(sync_level(fx), 2); /* the commit to come is synced */
	assert_int_equal(write_children(fx, &client_a, 50, 50, true, false, &rp), 0);
	assert_true(held(rp.res));
	assert_int_equal(uget(rp.res, "durable_seq"), 0);
	rep_free(&rp);
	assert_int_equal(seen_seqs(fx), 0);
	assert_int_equal(write_children(fx, &client_a, 100, 50, false, false, &rp), 0);
	assert_false(held(rp.res));
	assert_int_equal(uget(rp.res, "durable_seq"), uget(rp.res, "last_seq"));
	assert_int_equal(uget(rp.res, "lost"), 0);
	assert_int_equal(seen_seqs(fx), (int64_t)uget(rp.res, "last_seq"));
	assert_int_equal(fx->told, 1);
	assert_int_equal(fx->told_first, 1);
	assert_int_equal(fx->told_last, uget(rp.res, "last_seq"));
	rep_free(&rp);
	assert_int_equal(sync_level(fx), 1); /* applies are not */
	assert_int_equal(commits_by(fx, "last"), 1);
}

/* A write refused in the middle rolls back alone; the digest stays that of the rows. */
static void
test_refused_middle(void **state)
{
	struct fx *fx = *state;
	struct rep rp;
	uint8_t inc[32], full[32];
	uint64_t last1;

	assert_int_equal(write_children(fx, &client_a, 0, 40, true, false, &rp), 0);
	last1 = uget(rp.res, "last_seq");
	rep_free(&rp);
	assert_int_equal(write_children(fx, &client_a, 40, 40, true, true, &rp), ARR_EINVAL);
	assert_non_null(strstr(apimsg_reply_message(rp.r), "birth_year"));
	assert_non_null(strstr(apimsg_reply_message(rp.r), "1 held writes before it stay held"));
	rep_free(&rp);
	assert_true(api_holding(fx->api));
	assert_int_equal(write_children(fx, &client_a, 80, 40, false, false, &rp), 0);
	assert_false(held(rp.res));
	assert_int_equal(uget(rp.res, "first_seq"), last1 + 1); /* the refused one took none */
	rep_free(&rp);
	assert_int_equal(call0(fx, &client_a, "commit", &rp), 0); /* nothing held: a no-op */
	assert_int_equal(uget(rp.res, "lost"), 0);
	rep_free(&rp);
	assert_int_equal(store_digest(fx->st, inc), 0);
	assert_int_equal(store_digest_full(fx->st, full), 0);
	assert_memory_equal(inc, full, 32);
	assert_int_equal(seen_seqs(fx), (int64_t)store_hold_durable(fx->st));
}

/* Another client's write commits the hold first; the holder learns it from durable_seq. */
static void
test_other_client(void **state)
{
	struct fx *fx = *state;
	struct rep rp;
	uint64_t last1;

	assert_int_equal(write_children(fx, &client_a, 0, 30, true, false, &rp), 0);
	last1 = uget(rp.res, "last_seq");
	rep_free(&rp);
	assert_int_equal(write_children(fx, &client_b, 30, 5, false, false, &rp), 0);
	assert_false(held(rp.res));
	assert_int_equal(uget(rp.res, "first_seq"), last1 + 1);
	rep_free(&rp);
	assert_int_equal(seen_seqs(fx), (int64_t)last1 + 1);
	assert_int_equal(fx->told_last, last1 + 1);
	assert_int_equal(write_children(fx, &client_a, 40, 30, true, false, &rp), 0);
	assert_true(held(rp.res));
	assert_int_equal(uget(rp.res, "durable_seq"), last1 + 1); /* its first write is durable */
	rep_free(&rp);
	assert_int_equal(call0(fx, &client_a, "commit", &rp), 0);
	assert_int_equal(uget(rp.res, "durable_seq"), last1 + 2);
	rep_free(&rp);
	assert_int_equal(commits_by(fx, "request"), 1);
	assert_int_equal(commits_by(fx, "last"), 1);
}

/* A peer's change set applied during a hold commits it first; both are kept. */
static void
test_peer_apply(void **state)
{
	struct fx *fx = *state;
	struct rep rp;
	struct changeset *cs = NULL;
	struct cs_op op = {.table = "organisation", .column = "name", .value = value_text("SWV")};
	struct cs_header h = {.seq = 1,
	                      .hlc = hlc_make(hlc_wall_ms(), 0),
	                      .author_org = "SWV PO Testregio",
	                      .schema_version = ARR_SCHEMA_VERSION};
	enum store_outcome o;
	uint64_t last1;

	assert_int_equal(write_children(fx, &client_a, 0, 30, true, false, &rp), 0);
	last1 = uget(rp.res, "last_seq");
	rep_free(&rp);
	rowid_new(op.row);
	assert_int_equal(changeset_build_region(fx->k2, &h, &op, 1, &cs), 0);
	assert_int_equal(
	    store_apply(fx->st, &(struct store_blob){cs->raw, cs->rawlen}, 1, &o, NULL), 0);
	changeset_destroy(&cs);
	assert_false(api_holding(fx->api));
	assert_int_equal(seen_seqs(fx), (int64_t)last1);
	api_hold_settle(fx->api); /* the loop tells the sync layer */
	assert_int_equal(fx->told_last, last1);
	assert_int_equal(commits_by(fx, "store"), 1);
}

/* Counts the change sets store_changes_since() hands out, and the highest seq. */
static int
count_blob(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
           size_t len)
{
	uint64_t *max = ctx;

	(void)origin, (void)data, (void)len;
	if (seq > *max)
		*max = seq;
	return 0;
}

/*
 * What the peer layer reads for a pull, push or heartbeat: the vector and the log since
 * a vector show only durable change sets (the hold goes on); one change set or a log hash
 * of a staged one commit the hold first. So it never hands out a staged change set, nor counts one
 * in the vector a peer sees.
 */
static void
test_sync_reads(void **state)
{
	struct fx *fx = *state;
	struct rep rp;
	struct vv *v = NULL;
	uint64_t last, max = 0;
	uint8_t h[32];

	assert_int_equal(write_children(fx, &client_a, 0, 20, true, false, &rp), 0);
	last = uget(rp.res, "last_seq");
	rep_free(&rp);
	/* the vector counts the durable change sets only; the hold goes on */
	assert_int_equal(store_vector(fx->st, &v), 0);
	assert_true(api_holding(fx->api));
	assert_int_equal(vv_get(v, nodekey_public(fx->key)), 0);
	vv_destroy(&v);
	assert_int_equal(call0(fx, &client_a, "commit", &rp), 0);
	rep_free(&rp);
	assert_int_equal(write_children(fx, &client_a, 100, 20, true, false, &rp), 0);
	rep_free(&rp);
	assert_int_equal(store_vector(fx->st, &v), 0);
	assert_int_equal(vv_get(v, nodekey_public(fx->key)), last);
	vv_destroy(&v);
	/* the log since an empty vector */
	assert_int_equal(write_children(fx, &client_a, 20, 20, true, false, &rp), 0);
	last = uget(rp.res, "last_seq");
	rep_free(&rp);
	assert_int_equal(store_changes_since(fx->st, NULL, SIZE_MAX, count_blob, &max, NULL), 0);
	assert_true(api_holding(fx->api)); /* handed out up to the durable ones only */
	assert_int_equal(max, store_hold_durable(fx->st));
	assert_true(max < last);
	/* a log hash of a durable change set leaves the hold alone */
	assert_int_equal(store_loghash(fx->st, nodekey_public(fx->key), max, h), 0);
	assert_true(api_holding(fx->api));
	assert_int_equal(call0(fx, &client_a, "commit", &rp), 0);
	rep_free(&rp);
	max = 0;
	assert_int_equal(store_changes_since(fx->st, NULL, SIZE_MAX, count_blob, &max, NULL), 0);
	assert_int_equal(max, last);
	/* one change set, and a log hash */
	assert_int_equal(write_children(fx, &client_a, 40, 20, true, false, &rp), 0);
	last = uget(rp.res, "last_seq");
	rep_free(&rp);
	assert_int_equal(
	    store_changeset_get(fx->st, nodekey_public(fx->key), last, count_blob, &max), 0);
	assert_false(api_holding(fx->api));
	assert_int_equal(seen_seqs(fx), (int64_t)last);
	assert_int_equal(write_children(fx, &client_a, 60, 20, true, false, &rp), 0);
	last = uget(rp.res, "last_seq");
	rep_free(&rp);
	assert_int_equal(store_loghash(fx->st, nodekey_public(fx->key), last, h), 0);
	assert_false(api_holding(fx->api));
	assert_int_equal(seen_seqs(fx), (int64_t)last);
	api_write_told(fx->api);
	assert_int_equal(fx->told_last, last);
	assert_int_equal(commits_by(fx, "store"), 2);
}

/* The idle bound, the time bound and a hang-up each commit the hold. */
static void
test_bounds(void **state)
{
	struct fx *fx = *state;
	struct rep rp;
	struct store_hold_info in;
	uint64_t now;

	assert_int_equal(write_children(fx, &client_a, 0, 10, true, false, &rp), 0);
	rep_free(&rp);
	now = mono_ms();
	assert_true(api_hold_wait_ms(fx->api, now) > 0 && api_hold_wait_ms(fx->api, now) <= 250);
	api_hold_tick(fx->api, now); /* not yet */
	assert_true(api_holding(fx->api));
	api_hold_tick(fx->api, now + 250);
	assert_false(api_holding(fx->api));
	assert_int_equal(seen_seqs(fx), (int64_t)store_hold_durable(fx->st));
	/* time: a client that keeps writing, fast, is committed at two seconds */
	assert_int_equal(write_children(fx, &client_a, 10, 10, true, false, &rp), 0);
	rep_free(&rp);
	store_hold_info(fx->st, &in);
	fx->api->hold.last_ms = in.since_ms + 2000; /* as if it had written just now */
	api_hold_tick(fx->api, in.since_ms + 1999);
	assert_true(api_holding(fx->api));
	api_hold_tick(fx->api, in.since_ms + 2000);
	assert_false(api_holding(fx->api));
	/* a hang-up */
	assert_int_equal(write_children(fx, &client_a, 20, 10, true, false, &rp), 0);
	rep_free(&rp);
	api_hold_drop(fx->api, CLIENT(&client_b)); /* not the holder */
	assert_true(api_holding(fx->api));
	api_hold_drop(fx->api, CLIENT(&client_a));
	assert_false(api_holding(fx->api));
	assert_int_equal(seen_seqs(fx), (int64_t)store_hold_durable(fx->st));
	api_write_told(fx->api);
	assert_int_equal(fx->told_last, store_hold_durable(fx->st));
	assert_int_equal(commits_by(fx, "idle"), 1);
	assert_int_equal(commits_by(fx, "age"), 1);
	assert_int_equal(commits_by(fx, "gone"), 1);
}

/*
 * The byte bound (STORE_HOLD_MAX_BYTES by default, set small here): a held write that
 * brings the staged change sets to it is committed at once, by "bytes"; below it, held.
 */
static void
test_bytes_bound(void **state)
{
	struct fx *fx = *state;
	struct rep rp;
	struct store_hold_info in;
	uint64_t last;

	store_hold_info(fx->st, &in);
	assert_int_equal(in.max_bytes, 32u << 20);
	assert_int_equal(write_children(fx, &client_a, 0, 10, true, false, &rp), 0);
	assert_true(held(rp.res));
	rep_free(&rp);
	store_hold_info(fx->st, &in);
	assert_true(in.bytes > 0);
	store_hold_set_max(fx->st, 4 * in.bytes); /* a second write of the same size stays below */
	assert_int_equal(write_children(fx, &client_a, 10, 10, true, false, &rp), 0);
	assert_true(held(rp.res));
	rep_free(&rp);
	store_hold_info(fx->st, &in);
	assert_true(in.bytes < in.max_bytes);
	store_hold_set_max(fx->st, in.bytes + 1); /* the next write reaches it */
	assert_int_equal(write_children(fx, &client_a, 20, 10, true, false, &rp), 0);
	assert_false(held(rp.res));
	last = uget(rp.res, "last_seq");
	assert_int_equal(uget(rp.res, "durable_seq"), last);
	rep_free(&rp);
	assert_false(api_holding(fx->api));
	assert_int_equal(seen_seqs(fx), (int64_t)last);
	assert_int_equal(commits_by(fx, "bytes"), 1);
	assert_int_equal(commits_by(fx, "last"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_held_then_last, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_middle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_peer_apply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bytes_bound, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
