/*
 * test_store_member.c: the replicated membership in the store (daemon/store_member.c): a
 * non-member's change set is quarantined until a registrar's ADD arrives, then the quarantine
 * retry applies it; author_org must be the member record's organisation; a non-registrar may
 * not add; a removal rejects the member's change sets above the cut and takes those a replica
 * already applied out of its log, while the ones up to the cut stay valid, also on a replica
 * that receives the whole history last.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arrerr.h"
#include "hlc.h"
#include "store_member.h"
#include "teststore.h"
#include "testutil.h"

#define ZORG "Zorg BV"

/* The outsider's region change set at seq, signed with author_org org. */
static struct changeset *
outsider_cs(const struct nodekey *k, uint64_t seq, const char *org)
{
	struct cs_header h = {.seq = seq,
	                      .hlc = hlc_make(UINT64_C(1750000000000) - 1000 + seq, 0),
	                      .author_org = org,
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct cs_op op = {.table = "organisation", .column = "name"};
	struct changeset *cs = NULL;

	memset(op.row, (int)seq, sizeof(op.row));
	op.row[6] = 0x40;
	op.row[8] = 0x80;
	op.value = value_text("Zorg");
	assert_int_equal(changeset_build_region(k, &h, &op, 1, &cs), 0);
	return cs;
}

static enum store_outcome
apply1(struct ts_replica *r, const struct changeset *cs)
{
	struct store_blob b = {.data = cs->raw, .len = cs->rawlen};
	enum store_outcome o;

	assert_int_equal(store_apply(r->s, &b, 1, &o, NULL), 0);
	return o;
}

static struct member_rec
seed_of(const struct ts_replica *r, bool registrar)
{
	struct member_rec m = {.kind = MEMBER_KIND_GEMEENTE};

	memcpy(m.key, nodekey_public(r->key), ARR_ORIGIN_LEN);
	strcpy(m.organisation, TS_ORG);
	m.roles = registrar ? MEMBER_ROLE_REGISTRAR : 0;
	return m;
}

static void
issue(struct ts_replica *r, uint8_t op, const uint8_t *key, uint64_t cut, int want,
      const char *want_why)
{
	struct cs_member m = {.op = op, .has_key = true, .cut = cut};
	const char *why = NULL;
	uint64_t seq = 0;

	memcpy(m.key, key, ARR_ORIGIN_LEN);
	if (op == MEMBER_ADD) {
		strcpy(m.organisation, ZORG);
		m.kind = MEMBER_KIND_PROVIDER;
		m.cut = 0;
	}
	assert_int_equal(store_member_issue(r->s, &m, &seq, &why), want);
	if (want_why != NULL)
		assert_string_equal(why, want_why);
	else
		assert_true(seq > 0);
}

static void
test_membership_replicated(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct nodekey *x = tu_key(9);
	const uint8_t *xk = nodekey_public(x);
	struct member_rec seeds[2] = {seed_of(a, true), seed_of(b, false)};
	struct changeset *cs1 = outsider_cs(x, 1, ZORG), *cs2 = outsider_cs(x, 2, ZORG);
	struct changeset *bad = outsider_cs(x, 1, "Gemeente Testdorp");
	struct store_apply_stats st;
	struct store_member_stats ms;

	for (int i = 0; i < 3; i++)
		assert_int_equal(store_member_seed(f->r[i].s, seeds, 2), 0);
	/* not a member yet: quarantined */
	assert_int_equal(apply1(b, cs1), STORE_QUARANTINED);
	/* b is no registrar, c no member at all: neither may add */
	issue(b, MEMBER_ADD, xk, 0, ARR_EFORBIDDEN, "issuer not a registrar");
	issue(c, MEMBER_ADD, xk, 0, ARR_EFORBIDDEN, "issuer not a member at that seq");
	issue(a, MEMBER_ADD, xk, 0, 0, NULL);
	assert_non_null(store_member_find(a->s, xk));
	/* a member by change set, not in any file: its name is refused on a reference row */
	{
		char ref[ARR_ROWID_STRLEN + 1];
		struct store_op op;
		struct store_write_result w = {0};

		ts_new_id(ref);
		op = ts_op("organisation", ref, "name", value_text(ZORG));
		assert_int_equal(store_write(a->s, &op, 1, &w), ARR_EFORBIDDEN);
		assert_non_null(strstr(w.refusal, "organisation-name"));
	}
	assert_int_equal(store_member_kind(a->s, xk), MEMBER_KIND_PROVIDER);
	/* the ADD reaches b: the quarantined change set applies on retry */
	ts_pull(a, b, 1 << 20);
	assert_non_null(store_member_find(b->s, xk));
	assert_int_equal(store_quarantine_retry_reason(b->s, ARR_ENOTMEMBER, &st), 0);
	assert_int_equal(st.applied, 1);
	assert_int_equal(ts_quarantine_count(b), 0);
	/* author_org must be the member record's organisation */
	assert_int_equal(apply1(a, bad), STORE_QUARANTINED);
	assert_int_equal(apply1(a, cs1), STORE_APPLIED);
	/* b applies seq 2, then a removes x with cut 1: b takes seq 2 out again */
	assert_int_equal(apply1(b, cs2), STORE_APPLIED);
	issue(a, MEMBER_REMOVE, xk, 1, 0, NULL);
	assert_int_equal(apply1(a, cs2), STORE_QUARANTINED);
	ts_pull(a, b, 1 << 20);
	assert_true(store_member_find(b->s, xk)->removed);
	{
		uint64_t seq = 0;
		struct vv *v = NULL;

		assert_int_equal(store_vector(b->s, &v), 0);
		seq = vv_get(v, xk);
		vv_destroy(&v);
		assert_int_equal(seq, 1);
	}
	store_member_stats(b->s, &ms);
	assert_int_equal(ms.cut_masked, 1);
	assert_int_equal(ms.removed, 1);
	/* c gets the whole history last: x's seq 1 stays valid there */
	ts_pull(b, c, 1 << 20);
	assert_true(store_member_find(c->s, xk)->removed);
	{
		struct vv *v = NULL;

		assert_int_equal(store_vector(c->s, &v), 0);
		assert_int_equal(vv_get(v, xk), 1);
		vv_destroy(&v);
	}
	changeset_destroy(&cs1);
	changeset_destroy(&cs2);
	changeset_destroy(&bad);
	nodekey_destroy(&x);
}

/* m signed by r: must apply. */
static void
issue_ok(struct ts_replica *r, const struct cs_member *m)
{
	const char *why = NULL;
	uint64_t seq = 0;

	assert_int_equal(store_member_issue(r->s, m, &seq, &why), 0);
	assert_true(seq > 0);
}

static struct cs_member
endpoint_of(const uint8_t *key, const char *ep)
{
	struct cs_member m = {.op = MEMBER_ENDPOINT, .has_key = true};

	memcpy(m.key, key, ARR_ORIGIN_LEN);
	strcpy(m.endpoint, ep);
	return m;
}

static struct cs_member
add_of(const uint8_t *key, const char *org, uint8_t kind)
{
	struct cs_member m = {.op = MEMBER_ADD, .has_key = true, .kind = kind};

	memcpy(m.key, key, ARR_ORIGIN_LEN);
	strcpy(m.organisation, org);
	return m;
}

/* The folded lists of two replicas are the same, record by record. */
static void
assert_same_list(struct ts_replica *x, struct ts_replica *y)
{
	assert_int_equal(store_member_count(x->s), store_member_count(y->s));
	for (size_t i = 0; i < store_member_count(x->s); i++) {
		const struct member_rec *p = store_member_at(x->s, i);
		const struct member_rec *q = store_member_find(y->s, p->key);

		assert_non_null(q);
		assert_string_equal(p->organisation, q->organisation);
		assert_string_equal(p->endpoint, q->endpoint);
		assert_int_equal(p->kind, q->kind);
		assert_int_equal(p->roles, q->roles);
		assert_int_equal(p->removed, q->removed);
		assert_int_equal(p->cut, q->cut);
	}
}

/*
 * Two registrars change the list during a partition: both set c's endpoint, both add the
 * same key under other organisations, one removes c while the other rotates its key. After
 * the partition heals, in either order, every replica folds the same list.
 */
static void
test_concurrent_registrars(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	struct nodekey *x = tu_key(9), *n = tu_key(10);
	const uint8_t *xk = nodekey_public(x), *ck = nodekey_public(c->key);
	struct member_rec seeds[3] = {seed_of(a, true), seed_of(b, true), seed_of(c, false)};
	struct cs_member m;
	uint8_t da[32], db[32], dc[32];

	for (int i = 0; i < 3; i++)
		assert_int_equal(store_member_seed(f->r[i].s, seeds, 3), 0);
	/* the partition: a and b do not hear from each other */
	m = endpoint_of(ck, "tcp://c.example:7400");
	issue_ok(a, &m);
	m = endpoint_of(ck, "tcp://c.example:7401");
	issue_ok(b, &m);
	m = add_of(xk, ZORG, MEMBER_KIND_PROVIDER);
	issue_ok(a, &m);
	m = add_of(xk, "Other BV", MEMBER_KIND_SCHOOL);
	issue_ok(b, &m);
	m = (struct cs_member){.op = MEMBER_REMOVE, .has_key = true};
	memcpy(m.key, ck, ARR_ORIGIN_LEN);
	issue_ok(a, &m);
	m = (struct cs_member){.op = MEMBER_ROTATE, .has_key = true, .has_new_key = true};
	memcpy(m.key, ck, ARR_ORIGIN_LEN);
	memcpy(m.new_key, nodekey_public(n), ARR_ORIGIN_LEN);
	issue_ok(b, &m);
	/* healed, in opposite orders: c hears b first, a hears b, b hears a */
	ts_pull(b, c, 1 << 20);
	ts_pull(a, c, 1 << 20);
	ts_pull(b, a, 1 << 20);
	ts_pull(a, b, 1 << 20);
	assert_same_list(a, b);
	assert_same_list(a, c);
	assert_same_list(c, b);
	assert_non_null(store_member_find(a->s, xk));
	assert_true(store_member_find(a->s, ck)->removed);
	ts_digest(a, da);
	ts_digest(b, db);
	ts_digest(c, dc);
	assert_memory_equal(da, db, 32);
	assert_memory_equal(da, dc, 32);
	nodekey_destroy(&x);
	nodekey_destroy(&n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_membership_replicated, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_registrars, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
