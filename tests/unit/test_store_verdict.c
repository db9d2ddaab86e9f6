/*
 * test_store_verdict.c: write authorisation at the store level (daemon/store_verdict*.c,
 * protocol/rolematrix.c) with need-to-know replicas a (the owner), b and c, by parties
 * and their roles (test_store_verdict_org.c: the rules on organisation rows and
 * funding shares):
 *  - a local write the local view denies is refused with ARR_EFORBIDDEN and the rule,
 *    and nothing is committed;
 *  - the revoke race: b writes while cut off, a revokes it with a cut below those
 *    writes; on every replica (b included, and c that merged them before the REVOKE
 *    came) exactly b's seqs above the cut are denied and the cells fall back to the last
 *    authorised value; b's writes in another scope stand;
 *  - a write that reaches a replica before the GRANT that admits it is denied there,
 *    and admitted once the GRANT comes (after a restart too);
 *  - a validly signed change set of a member that is not a party (made with the scope's
 *    key, as a modified node could) is logged, counted and masked, listed as denied, and
 *    in the row's history as not authorised;
 *  - a member granting itself roles, and a non-owner revoking the owner, change nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "arrerr.h"
#include "changeset.h"
#include "policy.h"
#include "rowid.h"
#include "store.h"
#include "store_member.h"
#include "teststore.h"
#include "testutil.h"
#include "verdict_fixture.h"
#include "vv.h"

/* The arrangement's summary at r ("" when none). */
static void
summary(struct ts_replica *r, const struct vf_arr *a, char *out)
{
	struct ts_rowtext t;
	const char *p;

	memset(&t, 0, sizeof(t));
	out[0] = '\0';
	if (store_get(r->s, "arrangement", a->id, ts_row_to_text, &t) != 0 ||
	    (p = strstr(t.buf, "summary='")) == NULL)
		return;
	p += strlen("summary='");
	snprintf(out, 32, "%.*s", (int)strcspn(p, "'"), p);
}

/* A local write the local view denies: ARR_EFORBIDDEN naming the rule, nothing committed. */
static void
test_local_write_refused(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_write_result w;
	char fs[ARR_ROWID_STRLEN + 1], ca[ARR_ROWID_STRLEN + 1];
	struct vf_arr x;
	uint64_t before;

	vf_arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	ts_new_id(fs);
	ts_new_id(ca);
	before = ts_seq_of(b, b);
	/* care may write a care assignment and the arrangement's summary (any party) */
	assert_int_equal(
	    vf_write1(b, "care_assignment", ca, "arrangement_id", value_text(x.id), NULL), 0);
	assert_int_equal(vf_write1(b, "arrangement", x.id, "summary", value_text("by care"), NULL),
	                 0);
	assert_int_equal(ts_seq_of(b, b), before + 2);
	/* not a funding share, nor the status */
	memset(&w, 0, sizeof(w));
	assert_int_equal(vf_write1(b, "funding_share", fs, "arrangement_id", value_text(x.id), &w),
	                 ARR_EFORBIDDEN);
	assert_non_null(strstr(w.refusal, "rule funding"));
	assert_non_null(strstr(w.refusal, "funder"));
	memset(&w, 0, sizeof(w));
	assert_int_equal(vf_write1(b, "arrangement", x.id, "status", value_text("requested"), &w),
	                 ARR_EFORBIDDEN);
	assert_non_null(strstr(w.refusal, "rule arrangement-lifecycle"));
	assert_int_equal(ts_seq_of(b, b), before + 2); /* nothing committed */
	assert_int_equal(store_get(b->s, "funding_share", fs, NULL, NULL), ARR_ENOTFOUND);
	/* the owner may */
	assert_int_equal(vf_write1(a, "arrangement", x.id, "status", value_text("requested"), NULL),
	                 0);
	assert_int_equal(
	    vf_write1(a, "funding_share", fs, "arrangement_id", value_text(x.id), NULL), 0);
}

/*
 * b's write reaches c before the GRANT that makes b a party: denied at c. c restarts, and
 * the GRANT then admits it: c lists it as denied no more and shows b's value. (A node
 * whose denied list is empty skips clearing it; the restart must find it not empty.)
 */
static void
test_denied_then_granted_after_restart(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct ts_blobs *bl = calloc(1, sizeof(*bl));
	struct vf_denied dn;
	struct vv *v = NULL;
	bool more = true;
	char s[32];
	struct vf_arr x;
	int err = 0;

	assert_non_null(bl);
	vf_arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(c->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, c, 1 << 20);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	b->clock = a->clock + 10;
	assert_int_equal(vf_write1(b, "arrangement", x.id, "summary", value_text("b-1"), NULL), 0);
	/* only b's change sets go to c: it claims a's whole log */
	assert_int_equal(store_vector(c->s, &v), 0);
	assert_int_equal(vv_set(v, nodekey_public(a->key), UINT64_MAX / 2), 0);
	assert_int_equal(store_changes_since(b->s, v, SIZE_MAX, ts_collect, bl, &more), 0);
	vv_destroy(&v);
	assert_true(bl->n > 0);
	ts_apply_blobs(c, bl, NULL, NULL);
	ts_blobs_free(bl);
	free(bl);
	vf_denied_of(c, b, &dn);
	assert_non_null(strstr(dn.text, "arrangement-details"));

	store_destroy(&c->s);
	assert_non_null(c->s = ts_replica_open(c, &err));
	ts_pull(a, c, 1 << 20); /* the GRANT: b's write is judged again, and admitted */
	vf_denied_of(c, b, &dn);
	assert_string_equal(dn.text, "");
	summary(c, &x, s);
	assert_string_equal(s, "b-1");
}

/* The revoke race, with c merging b's offline writes before the REVOKE reaches it. */
static void
test_revoke_race(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct vf_denied da, db, dc;
	struct store_write_result w1, w2, w3;
	char s[32];
	struct vf_arr x, y;

	vf_arr_create(a, &x);
	vf_arr_create(a, &y);
	for (int k = 0; k < 2; k++) {
		const uint8_t *scope = k == 0 ? x.scope : y.scope;

		assert_int_equal(
		    store_scope_grant(a->s, scope, nodekey_public(b->key), ROLE_CARE, NULL), 0);
		assert_int_equal(
		    store_scope_grant(a->s, scope, nodekey_public(c->key), ROLE_CARE, NULL), 0);
	}
	ts_pull(a, b, 1 << 20);
	ts_pull(a, c, 1 << 20);
	b->clock = a->clock + 10;
	assert_int_equal(vf_write1(b, "arrangement", x.id, "summary", value_text("b-1"), &w1), 0);
	ts_pull(b, a, 1 << 20); /* a has seen b up to w1 */
	ts_pull(b, c, 1 << 20);
	/* b, cut off, goes on writing in x and y */
	b->clock += 10;
	assert_int_equal(vf_write1(b, "arrangement", x.id, "summary", value_text("b-2"), &w2), 0);
	assert_int_equal(vf_write1(b, "arrangement", y.id, "summary", value_text("b-y"), &w3), 0);
	assert_int_equal(vf_write1(b, "arrangement", x.id, "summary", value_text("b-3"), NULL), 0);
	/* c gets them before any REVOKE: they are authorised there for now */
	ts_pull(b, c, 1 << 20);
	summary(c, &x, s);
	assert_string_equal(s, "b-3");
	/* a revokes b in x only, with the cut it has seen: w1's seq */
	assert_int_equal(store_scope_revoke(a->s, x.scope, nodekey_public(b->key), NULL), 0);
	ts_pull(a, c, 1 << 20);
	ts_pull(b, a, 1 << 20);
	ts_pull(a, b, 1 << 20);
	for (int i = 0; i < 3; i++) {
		struct ts_replica *r = &f->r[i];

		summary(r, &x, s);
		assert_string_equal(s, "b-1"); /* fallen back to the last authorised value */
		summary(r, &y, s);
		assert_string_equal(s, "b-y"); /* the other scope is unaffected */
	}
	vf_denied_of(a, b, &da);
	vf_denied_of(b, b, &db);
	vf_denied_of(c, b, &dc);
	{
		char want[128];

		snprintf(want, sizeof(want), "%llu:arrangement-details %llu:arrangement-details ",
		         (unsigned long long)w2.first_seq, (unsigned long long)w3.last_seq + 1);
		assert_string_equal(da.text, want);
	}
	assert_string_equal(db.text, da.text); /* the revoked replica masks them too */
	assert_string_equal(dc.text, da.text);
	/* everything logged and counted: the vectors agree */
	assert_int_equal(ts_seq_of(a, b), ts_seq_of(b, b));
	assert_int_equal(ts_seq_of(c, b), ts_seq_of(b, b));
}

/* History entries of a row: how many, and how many not authorised. */
struct hist {
	size_t n, denied;
};

static int
hist_add(void *ctx, const struct store_history_entry *e)
{
	struct hist *h = ctx;

	h->n++;
	h->denied += !e->authorised;
	return 0;
}

/* A validly signed write of a member that is not a party, made with the scope's key. */
static void
test_forged_non_party(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	uint8_t key[ARR_SKEY_LEN];
	uint64_t key_id;
	struct changeset *cs = NULL;
	struct cs_op op = {
	    .table = "arrangement", .column = "summary", .value = value_text("forged")};
	struct cs_header h = {
	    .seq = ts_seq_of(c, c) + 1, .author_org = TS_ORG, .schema_version = ARR_SCHEMA_VERSION};
	struct vf_denied dn;
	struct hist hi = {0, 0};
	char s[32];
	struct vf_arr x;

	vf_arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	assert_int_equal(vf_write1(a, "arrangement", x.id, "summary", value_text("real"), NULL), 0);
	ts_pull(a, b, 1 << 20);
	vf_scope_key(a, key, &key_id);
	h.hlc = (a->clock + 100) << 16;
	assert_int_equal(rowid_parse(x.id, op.row), 0);
	assert_int_equal(vf_build_case(c->key, &h, x.scope, &op, key, &cs), 0);
	for (int i = 0; i < 2; i++) {
		struct ts_replica *r = &f->r[i];

		assert_int_equal(vf_apply1(r, cs), STORE_APPLIED); /* logged and counted */
		assert_int_equal(ts_seq_of(r, c), h.seq);
		summary(r, &x, s);
		assert_string_equal(s, "real");
		vf_denied_of(r, c, &dn);
		assert_int_equal(dn.n, 1);
		assert_non_null(strstr(dn.text, "arrangement-details"));
		memset(&hi, 0, sizeof(hi));
		assert_int_equal(store_history(r->s, "arrangement", x.id, NULL, hist_add, &hi), 0);
		assert_int_equal(hi.denied, 1);
		assert_true(hi.n >= 3);
	}
	changeset_destroy(&cs);
}

/* A policy change set p of scope by r's key, applied at every replica. */
static void
forge_policy(struct ts_fixture *f, struct ts_replica *r, const uint8_t scope[ARR_SCOPE_LEN],
             const struct cs_policy *p)
{
	struct cs_header h = {
	    .seq = ts_seq_of(r, r) + 1, .author_org = TS_ORG, .schema_version = ARR_SCHEMA_VERSION};
	struct changeset *cs = NULL;

	struct cs_part_in in = {.kind = CS_POLICY, .policy = p};

	h.hlc = (r->clock + 1) << 16;
	memcpy(in.scope, scope, ARR_SCOPE_LEN);
	assert_int_equal(changeset_build(r->key, &h, &in, 1, &cs), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vf_apply1(&f->r[i], cs), STORE_APPLIED);
	changeset_destroy(&cs);
}

/* b grants itself admin and funder, and revokes the owner: nothing changes. */
static void
test_self_grant_and_revoke_owner(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct store_write_result w;
	struct cs_policy g = {
	    .op = POLICY_GRANT, .has_member = true, .roles = ROLE_ADMIN | ROLE_FUNDER};
	struct cs_policy rv = {.op = POLICY_REVOKE, .has_member = true, .cut = 0, .key_id = 7};
	struct cs_op op = {
	    .table = "arrangement", .column = "status", .value = value_text("started")};
	struct cs_header h = {.author_org = TS_ORG, .schema_version = ARR_SCHEMA_VERSION};
	struct changeset *cs = NULL;
	uint8_t key[ARR_SKEY_LEN];
	struct policy_ref named;
	uint64_t prev, key_id;
	struct vf_denied dn;
	char s[32];
	struct vf_arr x;

	vf_arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(c->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	ts_pull(a, c, 1 << 20);
	memcpy(g.member, nodekey_public(b->key), ARR_ORIGIN_LEN);
	forge_policy(f, b, x.scope, &g);
	/* not even b's own view counts a grant b issued itself */
	assert_int_equal(vf_write1(b, "arrangement", x.id, "status", value_text("started"), &w),
	                 ARR_EFORBIDDEN);
	/* a modified b sends the write anyway: masked everywhere */
	vf_scope_key(a, key, &key_id);
	h.seq = ts_seq_of(b, b) + 1;
	h.hlc = (a->clock + 10) << 16;
	assert_int_equal(rowid_parse(x.id, op.row), 0);
	assert_int_equal(vf_build_case(b->key, &h, x.scope, &op, key, &cs), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vf_apply1(&f->r[i], cs), STORE_APPLIED);
	changeset_destroy(&cs);
	for (int i = 0; i < 3; i++) {
		struct ts_rowtext t;

		memset(&t, 0, sizeof(t));
		assert_int_equal(store_get(f->r[i].s, "arrangement", x.id, ts_row_to_text, &t), 0);
		assert_non_null(strstr(t.buf, "status=nil"));
	}
	vf_denied_of(b, b, &dn);
	assert_int_equal(dn.n, 1);
	vf_denied_of(a, b, &dn);
	assert_int_equal(dn.n, 1);
	vf_denied_of(c, b, &dn);
	assert_int_equal(dn.n, 1);
	/* a non-owner's REVOKE of the owner: the owner's writes stand everywhere */
	memcpy(rv.member, nodekey_public(a->key), ARR_ORIGIN_LEN);
	memcpy(named.origin, nodekey_public(a->key), ARR_ORIGIN_LEN);
	named.seq = 1; /* a's CREATE */
	rv.grants = &named;
	rv.ngrants = 1;
	prev = 1;
	rv.prevs = &prev;
	rv.nprevs = 1;
	forge_policy(f, b, x.scope, &rv);
	a->clock += 100;
	assert_int_equal(vf_write1(a, "arrangement", x.id, "summary", value_text("owner"), NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	ts_pull(a, c, 1 << 20);
	for (int i = 0; i < 3; i++) {
		summary(&f->r[i], &x, s);
		assert_string_equal(s, "owner");
		vf_denied_of(&f->r[i], a, &dn);
		assert_string_equal(dn.text, "");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_local_write_refused, vf_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_revoke_race, vf_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_denied_then_granted_after_restart, vf_setup,
	                                    ts_teardown),
	    cmocka_unit_test_setup_teardown(test_forged_non_party, vf_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_self_grant_and_revoke_owner, vf_setup,
	                                    ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
