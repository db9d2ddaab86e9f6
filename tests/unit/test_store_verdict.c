/*
 * test_store_verdict.c: write authorisation at the store level (daemon/store_verdict*.c,
 * protocol/rolematrix.c) with need-to-know replicas a (the owner), b and c:
 *  - a local write the local view denies is refused with ARR_EFORBIDDEN and the rule,
 *    and nothing is committed;
 *  - the revoke race: b writes while cut off, a revokes it with a cut below those
 *    writes; on every replica (b included, and c that merged them before the REVOKE
 *    came) exactly b's seqs above the cut are denied and the cells fall back to the last
 *    authorised value; b's writes in another scope stand;
 *  - a validly signed change set of a member that is not a party (made with the scope's
 *    key, as a modified node could) is logged, counted and masked, listed as denied, and
 *    in the row's history as not authorised;
 *  - a member granting itself roles, and a non-owner revoking the owner, change nothing;
 *  - a member organisation's own row (its derived id, orgid.h) is written by that
 *    organisation only, and its name (or any member organisation's) lives only there;
 *    a funder that is not an admin writes only its own shares (ids bound to it,
 *    shareid.h) and names only itself as their funder: refused locally naming the rule,
 *    denied on every replica when forged.
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
#include "vv.h"

static int
setup(void **state)
{
	struct ts_fixture *f;

	ts_setup(state);
	f = *state;
	for (int i = 0; i < 3; i++) {
		int err = 0;

		store_destroy(&f->r[i].s);
		f->r[i].need_to_know = true;
		f->r[i].rules = false; /* partial rows: the verdict is on trial */
		f->r[i].s = ts_replica_open(&f->r[i], &err);
		assert_int_equal(err, 0);
	}
	return 0;
}

struct arr {
	char id[ARR_ROWID_STRLEN + 1];
	uint8_t scope[ARR_SCOPE_LEN];
};

static void
arr_create(struct ts_replica *r, struct arr *a)
{
	struct store_op op;

	ts_new_id(a->id);
	op = ts_op("arrangement", a->id, "kind", value_text("oza"));
	assert_int_equal(store_write(r->s, &op, 1, NULL), 0);
	assert_int_equal(store_scope_of(r->s, "arrangement", a->id, a->scope), 0);
}

static int
write1(struct ts_replica *r, const char *table, const char *id, const char *column, struct value v,
       struct store_write_result *w)
{
	struct store_op op = ts_op(table, id, column, v);

	return store_write(r->s, &op, 1, w);
}

/* The arrangement's summary at r ("" when none). */
static void
summary(struct ts_replica *r, const struct arr *a, char *out)
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

/* The denied change sets at r as "seq:rule " words of origin's, in id order. */
struct denied {
	const uint8_t *origin;
	char text[512];
	size_t n;
};

static int
denied_add(void *ctx, const struct store_denied *d)
{
	struct denied *dn = ctx;
	size_t len = strlen(dn->text);

	dn->n++;
	if (memcmp(d->origin, dn->origin, ARR_ORIGIN_LEN) == 0)
		snprintf(dn->text + len, sizeof(dn->text) - len, "%llu:%s ",
		         (unsigned long long)d->seq, d->rule);
	return 0;
}

static void
denied_of(struct ts_replica *r, const struct ts_replica *origin, struct denied *dn)
{
	memset(dn, 0, sizeof(*dn));
	dn->origin = nodekey_public(origin->key);
	assert_int_equal(store_denied_list(r->s, 0, 0, denied_add, dn), 0);
}

/* A local write the local view denies: ARR_EFORBIDDEN naming the rule, nothing committed. */
static void
test_local_write_refused(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_write_result w;
	char fs[ARR_ROWID_STRLEN + 1], ca[ARR_ROWID_STRLEN + 1];
	struct arr x;
	uint64_t before;

	arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	ts_new_id(fs);
	ts_new_id(ca);
	before = ts_seq_of(b, b);
	/* care may write a care assignment and the arrangement's summary (any party) */
	assert_int_equal(write1(b, "care_assignment", ca, "arrangement_id", value_text(x.id), NULL),
	                 0);
	assert_int_equal(write1(b, "arrangement", x.id, "summary", value_text("by care"), NULL), 0);
	assert_int_equal(ts_seq_of(b, b), before + 2);
	/* not a funding share, nor the status */
	memset(&w, 0, sizeof(w));
	assert_int_equal(write1(b, "funding_share", fs, "arrangement_id", value_text(x.id), &w),
	                 ARR_EFORBIDDEN);
	assert_non_null(strstr(w.refusal, "rule funding"));
	assert_non_null(strstr(w.refusal, "funder"));
	memset(&w, 0, sizeof(w));
	assert_int_equal(write1(b, "arrangement", x.id, "status", value_text("requested"), &w),
	                 ARR_EFORBIDDEN);
	assert_non_null(strstr(w.refusal, "rule arrangement-lifecycle"));
	assert_int_equal(ts_seq_of(b, b), before + 2); /* nothing committed */
	assert_int_equal(store_get(b->s, "funding_share", fs, NULL, NULL), ARR_ENOTFOUND);
	/* the owner may */
	assert_int_equal(write1(a, "arrangement", x.id, "status", value_text("requested"), NULL),
	                 0);
	assert_int_equal(write1(a, "funding_share", fs, "arrangement_id", value_text(x.id), NULL),
	                 0);
}

/* The scope's first key as r's database keeps it (as an attacker with the key would). */
static void
scope_key(struct ts_replica *r, uint8_t key[ARR_SKEY_LEN], uint64_t *key_id)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT key_id, key FROM _skey LIMIT 1", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*key_id = (uint64_t)sqlite3_column_int64(st, 0);
	memcpy(key, sqlite3_column_blob(st, 1), ARR_SKEY_LEN);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A change set of one case data part: op in scope, sealed under skey. */
static int
build_case(const struct nodekey *k, const struct cs_header *h, const uint8_t scope[ARR_SCOPE_LEN],
           const struct cs_op *op, const uint8_t *skey, struct changeset **out)
{
	struct cs_part_in in = {.kind = CS_DATA, .ops = op, .nops = 1, .skey = skey};

	memcpy(in.scope, scope, ARR_SCOPE_LEN);
	return changeset_build(k, h, &in, 1, out);
}

/* Apply one envelope at r; its outcome. */
static enum store_outcome
apply1(struct ts_replica *r, const struct changeset *cs)
{
	struct store_blob b = {cs->raw, cs->rawlen};
	enum store_outcome o = STORE_QUARANTINED;

	assert_int_equal(store_apply(r->s, &b, 1, &o, NULL), 0);
	return o;
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
	struct denied dn;
	struct vv *v = NULL;
	bool more = true;
	char s[32];
	struct arr x;
	int err = 0;

	assert_non_null(bl);
	arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(c->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, c, 1 << 20);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	b->clock = a->clock + 10;
	assert_int_equal(write1(b, "arrangement", x.id, "summary", value_text("b-1"), NULL), 0);
	/* only b's change sets go to c: it claims a's whole log */
	assert_int_equal(store_vector(c->s, &v), 0);
	assert_int_equal(vv_set(v, nodekey_public(a->key), UINT64_MAX / 2), 0);
	assert_int_equal(store_changes_since(b->s, v, SIZE_MAX, ts_collect, bl, &more), 0);
	vv_destroy(&v);
	assert_true(bl->n > 0);
	ts_apply_blobs(c, bl, NULL, NULL);
	ts_blobs_free(bl);
	free(bl);
	denied_of(c, b, &dn);
	assert_non_null(strstr(dn.text, "arrangement-details"));

	store_destroy(&c->s);
	assert_non_null(c->s = ts_replica_open(c, &err));
	ts_pull(a, c, 1 << 20); /* the GRANT: b's write is judged again, and admitted */
	denied_of(c, b, &dn);
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
	struct denied da, db, dc;
	struct store_write_result w1, w2, w3;
	char s[32];
	struct arr x, y;

	arr_create(a, &x);
	arr_create(a, &y);
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
	assert_int_equal(write1(b, "arrangement", x.id, "summary", value_text("b-1"), &w1), 0);
	ts_pull(b, a, 1 << 20); /* a has seen b up to w1 */
	ts_pull(b, c, 1 << 20);
	/* b, cut off, goes on writing in x and y */
	b->clock += 10;
	assert_int_equal(write1(b, "arrangement", x.id, "summary", value_text("b-2"), &w2), 0);
	assert_int_equal(write1(b, "arrangement", y.id, "summary", value_text("b-y"), &w3), 0);
	assert_int_equal(write1(b, "arrangement", x.id, "summary", value_text("b-3"), NULL), 0);
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
	denied_of(a, b, &da);
	denied_of(b, b, &db);
	denied_of(c, b, &dc);
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
	struct denied dn;
	struct hist hi = {0, 0};
	char s[32];
	struct arr x;

	arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	assert_int_equal(write1(a, "arrangement", x.id, "summary", value_text("real"), NULL), 0);
	ts_pull(a, b, 1 << 20);
	scope_key(a, key, &key_id);
	h.hlc = (a->clock + 100) << 16;
	assert_int_equal(rowid_parse(x.id, op.row), 0);
	assert_int_equal(build_case(c->key, &h, x.scope, &op, key, &cs), 0);
	for (int i = 0; i < 2; i++) {
		struct ts_replica *r = &f->r[i];

		assert_int_equal(apply1(r, cs), STORE_APPLIED); /* logged and counted */
		assert_int_equal(ts_seq_of(r, c), h.seq);
		summary(r, &x, s);
		assert_string_equal(s, "real");
		denied_of(r, c, &dn);
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
		assert_int_equal(apply1(&f->r[i], cs), STORE_APPLIED);
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
	struct denied dn;
	char s[32];
	struct arr x;

	arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(c->key), ROLE_CARE, NULL),
	                 0);
	ts_pull(a, b, 1 << 20);
	ts_pull(a, c, 1 << 20);
	memcpy(g.member, nodekey_public(b->key), ARR_ORIGIN_LEN);
	forge_policy(f, b, x.scope, &g);
	/* not even b's own view counts a grant b issued itself */
	assert_int_equal(write1(b, "arrangement", x.id, "status", value_text("started"), &w),
	                 ARR_EFORBIDDEN);
	/* a modified b sends the write anyway: masked everywhere */
	scope_key(a, key, &key_id);
	h.seq = ts_seq_of(b, b) + 1;
	h.hlc = (a->clock + 10) << 16;
	assert_int_equal(rowid_parse(x.id, op.row), 0);
	assert_int_equal(build_case(b->key, &h, x.scope, &op, key, &cs), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(apply1(&f->r[i], cs), STORE_APPLIED);
	changeset_destroy(&cs);
	for (int i = 0; i < 3; i++) {
		struct ts_rowtext t;

		memset(&t, 0, sizeof(t));
		assert_int_equal(store_get(f->r[i].s, "arrangement", x.id, ts_row_to_text, &t), 0);
		assert_non_null(strstr(t.buf, "status=nil"));
	}
	denied_of(b, b, &dn);
	assert_int_equal(dn.n, 1);
	denied_of(a, b, &dn);
	assert_int_equal(dn.n, 1);
	denied_of(c, b, &dn);
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
	assert_int_equal(write1(a, "arrangement", x.id, "summary", value_text("owner"), NULL), 0);
	ts_pull(a, b, 1 << 20);
	ts_pull(a, c, 1 << 20);
	for (int i = 0; i < 3; i++) {
		summary(&f->r[i], &x, s);
		assert_string_equal(s, "owner");
		denied_of(&f->r[i], a, &dn);
		assert_string_equal(dn.text, "");
	}
}

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
	struct denied dn;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(apply1(at[i], cs), STORE_APPLIED);
		assert_int_equal(ts_seq_of(at[i], origin), cs->h.seq);
		denied_of(at[i], origin, &dn);
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
	assert_int_equal(write1(a, "organisation", own, "name", value_text(TS_ORG), NULL), 0);
	assert_int_equal(write1(a, "organisation", ref, "name", value_text("ref"), NULL), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(write1(a, "organisation", other, "name", value_text("taken"), &w),
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
		    write1(a, "organisation", ref, "name", value_text(refused[i][0]), &w),
		    ARR_EFORBIDDEN);
		assert_non_null(strstr(w.refusal, refused[i][1]));
		assert_non_null(strstr(w.refusal, i == 0 ? own : zorg)); /* names the row to use */
		assert_int_equal(store_get(a->s, "organisation", ref, NULL, NULL), ARR_ENOTFOUND);
	}
	memset(&w, 0, sizeof(w));
	assert_int_equal(write1(a, "organisation", zorg, "name", value_text("Zorg Anders"), &w),
	                 ARR_EFORBIDDEN);
	assert_non_null(strstr(w.refusal, "rule organisation-row"));
	assert_int_equal(write1(a, "organisation", own, "name", value_text("Renamed"), &w),
	                 ARR_EFORBIDDEN); /* a rename is a new row */
	assert_non_null(strstr(w.refusal, "rule organisation-name"));
	assert_int_equal(write1(a, "organisation", own, "name", value_text(TS_ORG), NULL), 0);
	ts_new_id(ref);
	assert_int_equal(write1(a, "organisation", ref, "name", value_text("Sportclub"), NULL), 0);
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
	assert_int_equal(apply1(a, cs), STORE_APPLIED);
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
	struct denied dn;

	found_kinds(a, b, c);
	org_id(TS_ORG, own);
	ts_new_id(ref);
	memset(&w, 0, sizeof(w));
	assert_int_equal(write1(a, "organisation", own, "kind", value_text("school"), &w),
	                 ARR_EFORBIDDEN);
	assert_non_null(strstr(w.refusal, "rule organisation-kind"));
	assert_non_null(strstr(w.refusal, "gemeente")); /* names the kind to write */
	assert_int_equal(write1(a, "organisation", own, "kind", value_nil(), &w), ARR_EFORBIDDEN);
	assert_int_equal(store_get(a->s, "organisation", own, NULL, NULL), ARR_ENOTFOUND);
	assert_int_equal(write1(a, "organisation", own, "kind", value_text("gemeente"), NULL), 0);
	assert_int_equal(write1(a, "organisation", ref, "kind", value_text("school"), NULL), 0);
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
	assert_int_equal(apply1(b, cs), STORE_APPLIED);
	denied_of(b, c, &dn);
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
	struct arr x;

	org_id(TS_ORG, own);
	org_id("Gemeente Elders", other);
	arr_create(a, &x);
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
	assert_int_equal(write1(b, "funding_share", fs, "amount_cents", value_int(100), NULL), 0);
	assert_int_equal(share(a, fs2, x.id, other, NULL), 0); /* the owner writes any share */
	assert_int_equal(share(a, fs3, x.id, other, NULL), 0);
	ts_pull(a, b, 1 << 20);
	/* another funder's share, random or bound to it: not b's to change */
	for (int i = 0; i < 2; i++) {
		memset(&w, 0, sizeof(w));
		assert_int_equal(write1(b, "funding_share", i == 0 ? fs2 : fs3, "amount_cents",
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
	scope_key(a, key, &key_id);
	h.seq = ts_seq_of(b, b) + 1;
	h.hlc = (a->clock + 100) << 16;
	op.value = value_text(other);
	assert_int_equal(rowid_parse(fs, op.row), 0);
	assert_int_equal(build_case(b->key, &h, x.scope, &op, key, &cs), 0);
	denied_at(a, c, b, cs, "funding-own-funder");
	changeset_destroy(&cs);
	/* ... and changes the owner's share of another funder: masked too */
	h.seq++;
	op.column = "amount_cents";
	op.value = value_int(1);
	assert_int_equal(rowid_parse(fs2, op.row), 0);
	assert_int_equal(build_case(b->key, &h, x.scope, &op, key, &cs), 0);
	for (int i = 0; i < 2; i++) {
		struct ts_replica *at = i == 0 ? a : c;
		struct denied dn;

		assert_int_equal(apply1(at, cs), STORE_APPLIED);
		denied_of(at, b, &dn);
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
	struct denied dn;
	struct arr x;

	org_id("Gemeente Elders", other);
	arr_create(a, &x);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE, NULL),
	                 0);
	assert_int_equal(store_scope_grant(a->s, x.scope, nodekey_public(c->key), ROLE_CARE, NULL),
	                 0);
	share_id("Gemeente Elders", fs);
	assert_int_equal(share(a, fs, x.id, other, NULL), 0);
	ts_pull(a, b, 1 << 20);
	ts_pull(a, c, 1 << 20);
	scope_key(a, key, &key_id);
	h.seq = ts_seq_of(b, b) + 1;
	h.hlc = (a->clock + 100) << 16;
	op.value = value_int(1);
	assert_int_equal(rowid_parse(fs, op.row), 0);
	assert_int_equal(build_case(b->key, &h, x.scope, &op, key, &cs), 0);
	assert_int_equal(apply1(c, cs), STORE_APPLIED);
	denied_of(c, b, &dn);
	assert_int_equal(dn.n, 1);
	assert_null(strstr(dn.text, "funding-own-share"));
	assert_int_equal(
	    store_scope_grant(a->s, x.scope, nodekey_public(b->key), ROLE_CARE | ROLE_FUNDER, NULL),
	    0);
	assert_int_equal(apply1(a, cs), STORE_APPLIED);
	ts_pull(a, c, 1 << 20);
	for (int i = 0; i < 2; i++) {
		denied_of(i == 0 ? a : c, b, &dn);
		assert_int_equal(dn.n, 1);
		assert_non_null(strstr(dn.text, "funding-own-share"));
	}
	changeset_destroy(&cs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_local_write_refused, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_revoke_race, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_denied_then_granted_after_restart, setup,
	                                    ts_teardown),
	    cmocka_unit_test_setup_teardown(test_forged_non_party, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_self_grant_and_revoke_owner, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_own_organisation_row, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_organisation_names, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_organisation_kind, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_funder_names_itself, setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_denied_rule_follows_grant, setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
