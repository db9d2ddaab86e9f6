/*
 * test_store_verdict_org.c: write authorisation at the store level (daemon/store_verdict*.c,
 * protocol/rolematrix.c) with need-to-know replicas a (the owner), b and c, by the rules
 * on organisation rows and funding shares (test_store_verdict.c: parties and roles):
 *  - a member organisation's own row (its derived id, orgid.h) is written by that
 *    organisation only, with the kind of its membership, and its name (or any member
 *    organisation's) lives only there;
 *  - a funder that is not an admin writes only its own shares (ids bound to it,
 *    shareid.h) and names only itself as their funder: refused locally naming the rule,
 *    denied on every replica when forged;
 *  - the rule a denied change set is listed under does not depend on arrival order.
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
#include "orgid.h"
#include "policy.h"
#include "rowid.h"
#include "shareid.h"
#include "store.h"
#include "store_member.h"
#include "teststore.h"
#include "testutil.h"
#include "verdict_fixture.h"
#include "vv.h"

/* org's derived row id as text. */
static void
org_id(const char *org, char out[ARR_ROWID_STRLEN + 1])
{
	uint8_t id[ARR_ROWID_LEN];

	orgid_derive(org, id);
	rowid_format(id, out);
}

/* Apply cs at a and b: logged and counted, its one op masked, listed with rule. */
static void
denied_at(struct ts_replica *a, struct ts_replica *b, struct ts_replica *origin,
          const struct changeset *cs, const char *rule)
{
	struct ts_replica *at[2] = {a, b};
	struct vf_denied dn;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(vf_apply1(at[i], cs), STORE_APPLIED);
		assert_int_equal(ts_seq_of(at[i], origin), cs->h.seq);
		vf_denied_of(at[i], origin, &dn);
		assert_int_equal(dn.n, 1);
		assert_non_null(strstr(dn.text, rule));
	}
}

/*
 * Rule organisation-row: a member writes its own row (the id derived from its
 * organisation) and reference rows (random ids), never another member organisation's:
 * refused locally naming the rule and the expected id; forged, denied on every replica.
 */
static void
test_own_organisation_row(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	char own[ARR_ROWID_STRLEN + 1], other[ARR_ROWID_STRLEN + 1], ref[ARR_ROWID_STRLEN + 1];
	struct store_write_result w;
	struct changeset *cs = NULL;
	struct cs_op op = {.table = "organisation", .column = "name", .value = value_text("taken")};
	struct cs_header h = {
	    .seq = ts_seq_of(c, c) + 1, .author_org = TS_ORG, .schema_version = ARR_SCHEMA_VERSION};
	struct cs_part_in in = {.kind = CS_DATA, .ops = &op, .nops = 1};
	uint64_t before = ts_seq_of(a, a);

	org_id(TS_ORG, own);
	org_id("Kindcentrum Elders", other);
	ts_new_id(ref);
	assert_int_equal(vf_write1(a, "organisation", own, "name", value_text(TS_ORG), NULL), 0);
	assert_int_equal(vf_write1(a, "organisation", ref, "name", value_text("ref"), NULL), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(vf_write1(a, "organisation", other, "name", value_text("taken"), &w),
	                 ARR_EFORBIDDEN);
	assert_non_null(strstr(w.refusal, "rule organisation-row"));
	assert_non_null(strstr(w.refusal, own)); /* names the id to use */
	assert_int_equal(ts_seq_of(a, a), before + 2);
	assert_int_equal(store_get(a->s, "organisation", other, NULL, NULL), ARR_ENOTFOUND);
	/* forged by c, validly signed, on the wire: masked at a and b */
	h.hlc = (a->clock + 100) << 16;
	assert_int_equal(rowid_parse(other, op.row), 0);
	assert_int_equal(changeset_build(c->key, &h, &in, 1, &cs), 0);
	denied_at(a, b, c, cs, "organisation-row");
	assert_int_equal(store_get(a->s, "organisation", other, NULL, NULL), ARR_ENOTFOUND);
	assert_int_equal(store_get(b->s, "organisation", other, NULL, NULL), ARR_ENOTFOUND);
	changeset_destroy(&cs);
}

/* The members of a replica plus one node of organisation "Zorg Anders" (key 9s). */
static const uint8_t other_node[ARR_ORIGIN_LEN] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};

static const char *
with_other_org(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN])
{
	return memcmp(origin, other_node, ARR_ORIGIN_LEN) == 0 ? "Zorg Anders"
	                                                       : ts_member_org(ctx, origin);
}

static const uint8_t *
with_other_at(void *ctx, size_t i)
{
	const struct ts_members *m = ctx;

	return i < m->n ? m->origin[i] : i == m->n ? other_node : NULL;
}

/*
 * Rule organisation-name: the writer's own organisation's name is written only to its
 * derived row, and a derived row takes only its own name; a reference row (random id)
 * takes any other name, but for a local write none of the members file's organisations.
 * Refused locally naming the rule and the row to use; forged, denied on every replica
 * (but for the local rule, which a logged change set is never judged by).
 */
static void
test_organisation_names(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	char own[ARR_ROWID_STRLEN + 1], zorg[ARR_ROWID_STRLEN + 1], ref[ARR_ROWID_STRLEN + 1];
	struct store_write_result w;
	struct changeset *cs = NULL;
	struct cs_op op = {.table = "organisation", .column = "name", .value = value_text(TS_ORG)};
	struct cs_header h = {
	    .seq = ts_seq_of(c, c) + 1, .author_org = TS_ORG, .schema_version = ARR_SCHEMA_VERSION};
	struct cs_part_in in = {.kind = CS_DATA, .ops = &op, .nops = 1};
	const char *refused[][2] = {{TS_ORG, "organisation-name"},        /* own, random id */
	                            {"Zorg Anders", "organisation-name"}, /* a member's */
	                            {NULL, NULL}};

	store_set_members(a->s, with_other_org, &a->members);
	store_set_member_list(a->s, with_other_at);
	org_id(TS_ORG, own);
	org_id("Zorg Anders", zorg);
	for (int i = 0; refused[i][0] != NULL; i++) {
		ts_new_id(ref);
		memset(&w, 0, sizeof(w));
		assert_int_equal(
		    vf_write1(a, "organisation", ref, "name", value_text(refused[i][0]), &w),
		    ARR_EFORBIDDEN);
		assert_non_null(strstr(w.refusal, refused[i][1]));
		assert_non_null(strstr(w.refusal, i == 0 ? own : zorg)); /* names the row to use */
		assert_int_equal(store_get(a->s, "organisation", ref, NULL, NULL), ARR_ENOTFOUND);
	}
	memset(&w, 0, sizeof(w));
	assert_int_equal(vf_write1(a, "organisation", zorg, "name", value_text("Zorg Anders"), &w),
	                 ARR_EFORBIDDEN);
	assert_non_null(strstr(w.refusal, "rule organisation-row"));
	assert_int_equal(vf_write1(a, "organisation", own, "name", value_text("Renamed"), &w),
	                 ARR_EFORBIDDEN); /* a rename is a new row */
	assert_non_null(strstr(w.refusal, "rule organisation-name"));
	assert_int_equal(vf_write1(a, "organisation", own, "name", value_text(TS_ORG), NULL), 0);
	ts_new_id(ref);
	assert_int_equal(vf_write1(a, "organisation", ref, "name", value_text("Sportclub"), NULL),
	                 0);
	/* c, forging on the wire, names its own organisation on a random id: masked */
	ts_new_id(ref);
	h.hlc = (a->clock + 100) << 16;
	assert_int_equal(rowid_parse(ref, op.row), 0);
	assert_int_equal(changeset_build(c->key, &h, &in, 1, &cs), 0);
	denied_at(a, b, c, cs, "organisation-name");
	assert_int_equal(store_get(a->s, "organisation", ref, NULL, NULL), ARR_ENOTFOUND);
	assert_int_equal(store_get(b->s, "organisation", ref, NULL, NULL), ARR_ENOTFOUND);
	changeset_destroy(&cs);
	/* another member's name on a reference row is a local rule only (the members file) */
	ts_new_id(ref);
	h.seq++;
	op.value = value_text("Zorg Anders");
	assert_int_equal(rowid_parse(ref, op.row), 0);
	assert_int_equal(changeset_build(c->key, &h, &in, 1, &cs), 0);
	assert_int_equal(vf_apply1(a, cs), STORE_APPLIED);
	assert_int_equal(store_get(a->s, "organisation", ref, NULL, NULL), 0);
	changeset_destroy(&cs);
}

/* a founds a region as a gemeente and adds c as a school; b and c fold a's list. */
static void
found_kinds(struct ts_replica *a, struct ts_replica *b, struct ts_replica *c)
{
	struct cs_member m = {.op = MEMBER_GENESIS,
	                      .has_key = true,
	                      .has_region = true,
	                      .kind = MEMBER_KIND_GEMEENTE,
	                      .roles = MEMBER_ROLE_REGISTRAR};
	const char *why = NULL;
	uint64_t seq;

	memcpy(m.key, nodekey_public(a->key), ARR_ORIGIN_LEN);
	strcpy(m.organisation, TS_ORG);
	strcpy(m.name, "Regio");
	member_region_id(m.key, ts_seq_of(a, a) + 1, m.region);
	assert_int_equal(store_member_set_region(a->s, m.region), 0);
	assert_int_equal(store_member_issue(a->s, &m, &seq, &why), 0);
	assert_int_equal(store_member_set_region(b->s, m.region), 0);
	assert_int_equal(store_member_set_region(c->s, m.region), 0);
	m = (struct cs_member){.op = MEMBER_ADD, .has_key = true, .kind = MEMBER_KIND_SCHOOL};
	memcpy(m.key, nodekey_public(c->key), ARR_ORIGIN_LEN);
	strcpy(m.organisation, TS_ORG);
	assert_int_equal(store_member_issue(a->s, &m, &seq, &why), 0);
	ts_pull(a, b, 1 << 20);
	ts_pull(a, c, 1 << 20);
	assert_int_equal(store_member_kind(b->s, nodekey_public(c->key)), MEMBER_KIND_SCHOOL);
}

/*
 * Rule organisation-kind: a member's own row (the id derived from its organisation) carries
 * the kind of its membership record. Another kind is refused locally naming the rule and the
 * kind to write; forged, denied on every replica; the right kind, and any kind on a
 * reference row, accepted.
 */
static void
test_organisation_kind(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	char own[ARR_ROWID_STRLEN + 1], ref[ARR_ROWID_STRLEN + 1];
	struct store_write_result w;
	struct changeset *cs = NULL;
	struct cs_op op = {
	    .table = "organisation", .column = "kind", .value = value_text("gemeente")};
	struct cs_header h = {.author_org = TS_ORG, .schema_version = ARR_SCHEMA_VERSION};
	struct cs_part_in in = {.kind = CS_DATA, .ops = &op, .nops = 1};
	struct vf_denied dn;

	found_kinds(a, b, c);
	org_id(TS_ORG, own);
	ts_new_id(ref);
	memset(&w, 0, sizeof(w));
	assert_int_equal(vf_write1(a, "organisation", own, "kind", value_text("school"), &w),
	                 ARR_EFORBIDDEN);
	assert_non_null(strstr(w.refusal, "rule organisation-kind"));
	assert_non_null(strstr(w.refusal, "gemeente")); /* names the kind to write */
	assert_int_equal(vf_write1(a, "organisation", own, "kind", value_nil(), &w),
	                 ARR_EFORBIDDEN);
	assert_int_equal(store_get(a->s, "organisation", own, NULL, NULL), ARR_ENOTFOUND);
	assert_int_equal(vf_write1(a, "organisation", own, "kind", value_text("gemeente"), NULL),
	                 0);
	assert_int_equal(vf_write1(a, "organisation", ref, "kind", value_text("school"), NULL), 0);
	/* c, a school, signs its own row as a gemeente: denied at a and b */
	h.seq = ts_seq_of(c, c) + 1;
	h.hlc = (a->clock + 100) << 16;
	assert_int_equal(rowid_parse(own, op.row), 0);
	assert_int_equal(changeset_build(c->key, &h, &in, 1, &cs), 0);
	denied_at(a, b, c, cs, "organisation-kind");
	changeset_destroy(&cs);
	/* as a school: applied, nothing more denied */
	h.seq++;
	h.hlc++;
	op.value = value_text("school");
	assert_int_equal(changeset_build(c->key, &h, &in, 1, &cs), 0);
	assert_int_equal(vf_apply1(b, cs), STORE_APPLIED);
	vf_denied_of(b, c, &dn);
	assert_int_equal(dn.n, 1);
	assert_int_equal(ts_seq_of(b, c), h.seq);
	changeset_destroy(&cs);
}

/* A new funding share fs of arrangement arr naming funder, written at r. */
static int
share(struct ts_replica *r, const char *fs, const char *arr, const char *funder,
      struct store_write_result *w)
{
	struct store_op ops[2] = {ts_op("funding_share", fs, "arrangement_id", value_text(arr)),
	                          ts_op("funding_share", fs, "funder_org_id", value_text(funder))};

	return store_write(r->s, ops, 2, w);
}

/* A new share id of org's funder row, as text. */
static void
share_id(const char *org, char out[ARR_ROWID_STRLEN + 1])
{
	uint8_t funder[ARR_ROWID_LEN], id[ARR_ROWID_LEN];

	orgid_derive(org, funder);
	shareid_new(funder, id);
	rowid_format(id, out);
}

/*
 * Rules funding-own-funder and funding-own-share: a party with the funder role writes
 * only shares whose ids are bound to its own organisation, naming only itself as their
 * funder; the owner writes any. Forged otherwise, denied on every replica.
 */
static void
test_funder_names_itself(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	char own[ARR_ROWID_STRLEN + 1], other[ARR_ROWID_STRLEN + 1], fs[ARR_ROWID_STRLEN + 1],
	    fs2[ARR_ROWID_STRLEN + 1], fs3[ARR_ROWID_STRLEN + 1];
	struct store_write_result w;
	struct changeset *cs = NULL;
	uint8_t key[ARR_SKEY_LEN];
	uint64_t key_id;
	struct cs_op op = {.table = "funding_share", .column = "funder_org_id"};
	struct cs_header h = {.author_org = TS_ORG, .schema_version = ARR_SCHEMA_VERSION};
	struct vf_arr x;

	org_id(TS_ORG, own);
	org_id("Gemeente Elders", other);
	vf_arr_create(a, &x);
	assert_int_equal(
	    store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_FUNDER, NULL), 0);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(c->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	ts_pull(a, c, 1 << 20);
	share_id(TS_ORG, fs);
	ts_new_id(fs2);
	share_id("Gemeente Elders", fs3);
	memset(&w, 0, sizeof(w));
	assert_int_equal(share(b, fs, x.id, other, &w), ARR_EFORBIDDEN);
	assert_non_null(strstr(w.refusal, "rule funding-own-funder"));
	assert_non_null(strstr(w.refusal, own));
	assert_int_equal(w.bad_op, 1);
	assert_int_equal(store_get(b->s, "funding_share", fs, NULL, NULL), ARR_ENOTFOUND);
	assert_int_equal(share(b, fs, x.id, own, NULL), 0);
	assert_int_equal(vf_write1(b, "funding_share", fs, "amount_cents", value_int(100), NULL),
	                 0);
	assert_int_equal(share(a, fs2, x.id, other, NULL), 0); /* the owner writes any share */
	assert_int_equal(share(a, fs3, x.id, other, NULL), 0);
	ts_pull(a, b, 1 << 20);
	/* another funder's share, random or bound to it: not b's to change */
	for (int i = 0; i < 2; i++) {
		memset(&w, 0, sizeof(w));
		assert_int_equal(vf_write1(b, "funding_share", i == 0 ? fs2 : fs3, "amount_cents",
		                           value_int(1), &w),
		                 ARR_EFORBIDDEN);
		assert_non_null(strstr(w.refusal, "rule funding-own-share"));
		assert_non_null(strstr(w.refusal, own));
	}
	ts_pull(b, a, 1 << 20);
	ts_pull(a, c, 1 << 20);
	assert_int_equal(store_get(c->s, "funding_share", fs, NULL, NULL), 0);
	assert_int_equal(store_get(c->s, "funding_share", fs2, NULL, NULL), 0);
	/* b, forging on the wire, names another funder: masked at a and c */
	vf_scope_key(a, key, &key_id);
	h.seq = ts_seq_of(b, b) + 1;
	h.hlc = (a->clock + 100) << 16;
	op.value = value_text(other);
	assert_int_equal(rowid_parse(fs, op.row), 0);
	assert_int_equal(vf_build_case(b->key, &h, x.scope, &op, key, &cs), 0);
	denied_at(a, c, b, cs, "funding-own-funder");
	changeset_destroy(&cs);
	/* ... and changes the owner's share of another funder: masked too */
	h.seq++;
	op.column = "amount_cents";
	op.value = value_int(1);
	assert_int_equal(rowid_parse(fs2, op.row), 0);
	assert_int_equal(vf_build_case(b->key, &h, x.scope, &op, key, &cs), 0);
	for (int i = 0; i < 2; i++) {
		struct ts_replica *at = i == 0 ? a : c;
		struct vf_denied dn;

		assert_int_equal(vf_apply1(at, cs), STORE_APPLIED);
		vf_denied_of(at, b, &dn);
		assert_non_null(strstr(dn.text, "funding-own-share"));
	}
	changeset_destroy(&cs);
}

/*
 * The rule a denied change set is listed under does not depend on arrival order: b,
 * a carer only, changes another funder's share on the wire; c denies it (b is no
 * funder); once the owner makes b a funder, c lists it under funding-own-share, as a
 * does, which saw the grant first.
 */
static void
test_denied_rule_follows_grant(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1], *c = &f->r[2];
	char other[ARR_ROWID_STRLEN + 1], fs[ARR_ROWID_STRLEN + 1];
	struct changeset *cs = NULL;
	uint8_t key[ARR_SKEY_LEN];
	uint64_t key_id;
	struct cs_op op = {.table = "funding_share", .column = "amount_cents"};
	struct cs_header h = {.author_org = TS_ORG, .schema_version = ARR_SCHEMA_VERSION};
	struct vf_denied dn;
	struct vf_arr x;

	org_id("Gemeente Elders", other);
	vf_arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(c->key), ROLE_CARE, NULL),
	                 0);
	share_id("Gemeente Elders", fs);
	assert_int_equal(share(a, fs, x.id, other, NULL), 0);
	ts_pull(a, b, 1 << 20);
	ts_pull(a, c, 1 << 20);
	vf_scope_key(a, key, &key_id);
	h.seq = ts_seq_of(b, b) + 1;
	h.hlc = (a->clock + 100) << 16;
	op.value = value_int(1);
	assert_int_equal(rowid_parse(fs, op.row), 0);
	assert_int_equal(vf_build_case(b->key, &h, x.scope, &op, key, &cs), 0);
	assert_int_equal(vf_apply1(c, cs), STORE_APPLIED);
	vf_denied_of(c, b, &dn);
	assert_int_equal(dn.n, 1);
	assert_null(strstr(dn.text, "funding-own-share"));
	assert_int_equal(
	    store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE | ROLE_FUNDER, NULL),
	    0);
	assert_int_equal(vf_apply1(a, cs), STORE_APPLIED);
	ts_pull(a, c, 1 << 20);
	for (int i = 0; i < 2; i++) {
		vf_denied_of(i == 0 ? a : c, b, &dn);
		assert_int_equal(dn.n, 1);
		assert_non_null(strstr(dn.text, "funding-own-share"));
	}
	changeset_destroy(&cs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_own_organisation_row, vf_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_organisation_names, vf_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_organisation_kind, vf_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_funder_names_itself, vf_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_denied_rule_follows_grant, vf_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
