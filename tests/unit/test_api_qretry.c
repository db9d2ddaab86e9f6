/*
 * test_api_qretry.c: "quarantine.retry" of a large quarantine, in steps (api_methods.c,
 * store_quarantine.c). 60,000 entries are put into a real store in one transaction (a
 * member's change sets refused while it was not yet a member, and junk); the retry then
 * goes step by step as arrangctl does, with "status" asked between the steps. Each step
 * must end within its time budget, every entry present at the start must be tried exactly
 * once, the member's change sets applied in seq order, and entries that arrive during the
 * run left for the next one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api.h"
#include "apimsg.h"
#include "arrerr.h"
#include "changeset.h"
#include "hlc.h"
#include "monoclock.h"
#include "nodekey.h"
#include "store.h"
#include "testutil.h"

#define N_ENTRIES 60000
#define N_MEMBER  600 /* of them, change sets of key 2, seqs 1.. */
/*
 * A step stops after 40 ms of work (api_methods.c); it may overrun by one entry and its
 * commit. The bound leaves room for sanitizers on a loaded machine; before steps, one
 * request took the whole retry (seconds here).
 */
#define STEP_MAX_MS 150

struct fx {
	char *dir;
	struct nodekey *key, *k2;
	struct store *st;
	struct api *api;
	bool member2;
};

/* Key 2 is a member of "SWV PO Testregio" once fx->member2 is set. */
static const char *
member_org(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	struct fx *fx = ctx;

	return fx->member2 && memcmp(origin, nodekey_public(fx->k2), ARR_ORIGIN_LEN) == 0
	           ? "SWV PO Testregio"
	           : NULL;
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
	fx->k2 = tu_key(2);
	path = tu_path(fx->dir, "arrangd.db");
	struct store_config cfg = {
	    .path = path,
	    .key = fx->key,
	    .organisation = "Gemeente Testdorp",
	    .member_org = member_org,
	    .member_ctx = fx,
	    .no_domain_rules = true,
	};
	fx->st = store_open(&cfg, &err);
	free(path);
	assert_int_equal(err, 0);
	/* room for every entry: the budgets are not what this test is about */
	store_set_budget(fx->st, &(struct store_budget){.junk_count = 2 * N_ENTRIES,
	                                                .junk_bytes = UINT64_C(1) << 32});
	fx->api = api_new(fx->st, NULL);
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
	free(fx);
	return 0;
}

/* A reply and the bytes it points into. */
struct rep {
	msgpack_sbuffer sb;
	struct apimsg_reply *r;
	const msgpack_object *res;
};

/* Call method with n uint params (names[i] = vals[i]); the reply must be ok. */
static void
call(struct api *a, const char *method, size_t n, const char *const *names, const uint64_t *vals,
     struct rep *rp)
{
	msgpack_sbuffer req;
	msgpack_packer pk;
	char err[APIMSG_ERR_MAX];

	msgpack_sbuffer_init(&req);
	msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	apimsg_pack_str(&pk, method);
	msgpack_pack_map(&pk, n);
	for (size_t i = 0; i < n; i++) {
		apimsg_pack_str(&pk, names[i]);
		msgpack_pack_uint64(&pk, vals[i]);
	}
	msgpack_sbuffer_init(&rp->sb);
	msgpack_packer_init(&pk, &rp->sb, msgpack_sbuffer_write);
	api_handle(a, (const uint8_t *)req.data, req.size, &pk);
	msgpack_sbuffer_destroy(&req);
	if (apimsg_reply_decode((const uint8_t *)rp->sb.data, rp->sb.size, &rp->r, err) != 0)
		fail_msg("reply does not decode: %s", err);
	if (apimsg_reply_code(rp->r) != 0)
		fail_msg("%s: %s", method, apimsg_reply_message(rp->r));
	rp->res = apimsg_reply_result(rp->r);
}

static void
rep_free(struct rep *rp)
{
	apimsg_reply_destroy(&rp->r);
	msgpack_sbuffer_destroy(&rp->sb);
}

/* The value of key k in the map m, NULL when there is none. */
static const msgpack_object *
get(const msgpack_object *m, const char *k)
{
	for (uint32_t i = 0; m->type == MSGPACK_OBJECT_MAP && i < m->via.map.size; i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;

		if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen(k) &&
		    memcmp(key->via.str.ptr, k, key->via.str.size) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

/* The uint at key k of m (the test fails when it is not one). */
static uint64_t
uget(const msgpack_object *m, const char *k)
{
	const msgpack_object *o = get(m, k);

	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		fail_msg("no uint '%s'", k);
	return o->via.u64;
}

/*
 * Fill the quarantine in one store_apply(): N_MEMBER change sets of key 2 (not a member
 * yet: kept with their bytes), then junk that does not decode (kept as records).
 */
static void
fill(struct fx *fx)
{
	struct store_blob *items = calloc(N_ENTRIES, sizeof(*items));
	struct changeset **cs = calloc(N_MEMBER, sizeof(*cs));
	uint8_t(*junk)[16] = calloc(N_ENTRIES, sizeof(*junk));
	struct cs_op op = {.table = "organisation", .column = "name", .value = value_text("TD-1")};
	struct store_apply_stats st;

	assert_true(items != NULL && cs != NULL && junk != NULL);
	memset(op.row, 0x42, sizeof(op.row));
	op.row[6] = 0x40;
	op.row[8] = 0x80;
	for (size_t i = 0; i < N_ENTRIES; i++) {
		if (i < N_MEMBER) {
			struct cs_header h = {.seq = i + 1,
			                      .hlc = hlc_make(hlc_wall_ms(), (uint16_t)i),
			                      .author_org = "SWV PO Testregio",
			                      .schema_version = ARR_SCHEMA_VERSION};

			assert_int_equal(changeset_build_region(fx->k2, &h, &op, 1, &cs[i]), 0);
			items[i] = (struct store_blob){cs[i]->raw, cs[i]->rawlen};
		} else {
			memset(junk[i], 0xc1, sizeof(junk[i])); /* 0xc1: never msgpack */
			memcpy(junk[i] + 1, &i, sizeof(i));
			items[i] = (struct store_blob){junk[i], sizeof(junk[i])};
		}
	}
	assert_int_equal(store_apply(fx->st, items, N_ENTRIES, NULL, &st), 0);
	assert_int_equal(st.quarantined_new, N_ENTRIES);
	for (size_t i = 0; i < N_MEMBER; i++)
		changeset_destroy(&cs[i]);
	free(cs);
	free(junk);
	free(items);
}

/* store_quarantine_fn: count entries by their attempts (0, 1, more). */
static int
by_attempts(void *ctx, const struct store_quarantined *q)
{
	uint64_t *n = ctx;

	n[q->attempts < 2 ? q->attempts : 2]++;
	return 0;
}

/* Junk that arrives during the run: a new entry, not tried before the next run. */
static void
arrive(struct fx *fx, uint64_t k)
{
	uint8_t b[16];
	struct store_blob item = {b, sizeof(b)};
	struct store_apply_stats st;

	memset(b, 0xc1, sizeof(b));
	b[0] = 0xc2;
	memcpy(b + 1, &k, sizeof(k));
	assert_int_equal(store_apply(fx->st, &item, 1, NULL, &st), 0);
	assert_int_equal(st.quarantined_new, 1);
}

static void
test_retry_in_steps(void **state)
{
	static const char *const cursor[] = {"after", "until"};
	struct fx *fx = *state;
	uint64_t t0 = mono_ms(), v[2] = {0, 0}, tried = 0, applied = 0, steps = 0, max_ms = 0,
	         arrived = 0, n[3] = {0, 0, 0};
	struct rep rp;

	fill(fx);
	printf("# %d entries put into the quarantine in %llu ms\n", N_ENTRIES,
	       (unsigned long long)(mono_ms() - t0));
	fx->member2 = true; /* its change sets can apply now */
	t0 = mono_ms();
	do {
		uint64_t s0 = mono_ms(), ms;
		const msgpack_object *next;

		call(fx->api, "quarantine.retry", v[0] != 0 ? 2 : 0, cursor, v, &rp);
		ms = mono_ms() - s0;
		max_ms = ms > max_ms ? ms : max_ms;
		tried += uget(rp.res, "tried");
		applied += uget(rp.res, "applied");
		next = get(rp.res, "next");
		assert_non_null(next);
		v[0] = next->type == MSGPACK_OBJECT_NIL ? 0 : uget(rp.res, "next");
		v[1] = uget(rp.res, "until");
		rep_free(&rp);
		steps++;
		/* between two steps the API answers others: status, and a new entry comes */
		s0 = mono_ms();
		call(fx->api, "status", 0, NULL, NULL, &rp);
		assert_true(uget(rp.res, "quarantined") >= N_ENTRIES - N_MEMBER);
		rep_free(&rp);
		assert_true(mono_ms() - s0 < STEP_MAX_MS);
		if (v[0] != 0 && steps % 4 == 1)
			arrive(fx, ++arrived);
	} while (v[0] != 0);
	printf("# retry of %d entries: %llu steps, longest %llu ms, %llu ms in all\n", N_ENTRIES,
	       (unsigned long long)steps, (unsigned long long)max_ms,
	       (unsigned long long)(mono_ms() - t0));
	assert_true(steps > 1);
	assert_true(max_ms < STEP_MAX_MS);
	assert_int_equal(tried, N_ENTRIES);
	assert_int_equal(applied, N_MEMBER);
	assert_int_equal(store_quarantine_list(fx->st, 0, by_attempts, n), 0);
	/* the junk once each; what arrived during the run not yet; the member's are gone */
	assert_int_equal(n[1], N_ENTRIES - N_MEMBER);
	assert_int_equal(n[0], arrived);
	assert_int_equal(n[2], 0);
	assert_true(arrived > 0);
}

/* A step's cursor is checked: both params or neither, as a step returned them. */
static void
test_retry_cursor_checked(void **state)
{
	struct fx *fx = *state;
	static const char *const bad[][3] = {
	    {"after", NULL}, {"until", NULL}, {"id", "after"}, {"after", "until"}};
	static const uint64_t vals[][2] = {{1, 0}, {1, 0}, {1, 1}, {5, 2}};
	char err[APIMSG_ERR_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct apimsg_reply *r = NULL;
		msgpack_sbuffer req, out;
		msgpack_packer pk;
		size_t np = bad[i][1] != NULL ? 2 : 1;

		msgpack_sbuffer_init(&req);
		msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 2);
		apimsg_pack_str(&pk, "quarantine.retry");
		msgpack_pack_map(&pk, np);
		for (size_t k = 0; k < np; k++) {
			apimsg_pack_str(&pk, bad[i][k]);
			msgpack_pack_uint64(&pk, vals[i][k]);
		}
		msgpack_sbuffer_init(&out);
		msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
		api_handle(fx->api, (const uint8_t *)req.data, req.size, &pk);
		assert_int_equal(apimsg_reply_decode((const uint8_t *)out.data, out.size, &r, err),
		                 0);
		assert_int_equal(apimsg_reply_code(r), ARR_EINVAL);
		apimsg_reply_destroy(&r);
		msgpack_sbuffer_destroy(&req);
		msgpack_sbuffer_destroy(&out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_retry_in_steps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_cursor_checked, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
