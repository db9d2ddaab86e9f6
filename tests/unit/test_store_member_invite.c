/*
 * test_store_member_invite.c: invitations in the store (daemon/store_member_invite.c). A
 * registrar of a founded region issues a token; a JOIN is refused for an unknown invitation,
 * a wrong proof (another key's), after expiry, when used twice, and by a node that is no
 * registrar; the accepted one signs an ADD with the invitation's grant and the JOIN's key.
 * An invitation that replaces a member's lost key is redeemed as a ROTATE of its record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arrerr.h"
#include "invite.h"
#include "store_member.h"
#include "store_member_invite.h"
#include "teststore.h"
#include "testutil.h"

#define NOW UINT64_C(1750000000)

/* a founds region "Regio" with its GENESIS as its change set 1. */
static void
found(struct ts_replica *a)
{
	struct cs_member g = {.op = MEMBER_GENESIS, .has_key = true, .has_region = true};
	const char *why = NULL;
	uint64_t seq = 0;

	memcpy(g.key, nodekey_public(a->key), ARR_ORIGIN_LEN);
	strcpy(g.organisation, TS_ORG);
	g.kind = MEMBER_KIND_GEMEENTE;
	g.roles = MEMBER_ROLE_REGISTRAR;
	strcpy(g.endpoint, "tcp://a.example:7400");
	strcpy(g.name, "Regio");
	member_region_id(g.key, 1, g.region);
	assert_int_equal(store_member_set_region(a->s, g.region), 0);
	assert_int_equal(store_member_issue(a->s, &g, &seq, &why), 0);
	assert_int_equal(seq, 1);
}

/* A JOIN of key at endpoint ep for iv with the proof of secret. */
static struct store_join
join_at(const struct invite *iv, const uint8_t secret[INVITE_SECRET_LEN], const uint8_t *key,
        const char *ep)
{
	struct store_join j = {0};

	memcpy(j.id, iv->id, sizeof(j.id));
	memcpy(j.key, key, ARR_ORIGIN_LEN);
	strcpy(j.endpoint, ep);
	assert_int_equal(invite_prove(secret, iv->region, iv->id, key, j.endpoint, j.proof), 0);
	return j;
}

/* The same at tcp://x.example:7400. */
static struct store_join
join_of(const struct invite *iv, const uint8_t secret[INVITE_SECRET_LEN], const uint8_t *key)
{
	return join_at(iv, secret, key, "tcp://x.example:7400");
}

static void
redeem(struct ts_replica *r, const struct store_join *j, uint64_t now, int want, const char *why)
{
	const char *got = NULL;
	uint64_t seq = 0;

	assert_int_equal(store_member_redeem(r->s, j, now, &seq, &got), want);
	if (why != NULL)
		assert_string_equal(got, why);
	else
		assert_true(seq > 0);
}

static void
test_invite_redeem(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0];
	struct store_invite_grant g = {.kind = MEMBER_KIND_PROVIDER, .ttl_s = 3600};
	struct nodekey *x = tu_key(9), *y = tu_key(10);
	char tok[INVITE_TOKEN_MAX];
	uint8_t id[MEMBER_INVITE_LEN];
	struct invite iv;
	struct store_join j;
	const struct member_rec *rec;
	const char *why = NULL;

	strcpy(g.organisation, "Zorg BV");
	assert_int_equal(store_member_invite(a->s, &g, NOW, tok, sizeof(tok), id, &why),
	                 ARR_EFORBIDDEN);
	assert_string_equal(why, "this node's region has no genesis ([region] id)");
	found(a);
	assert_int_equal(store_member_invite(a->s, &g, NOW, tok, sizeof(tok), id, &why), 0);
	assert_int_equal(store_member_invites_open(a->s, NOW), 1);
	assert_int_equal(invite_decode(tok, &iv), 0);
	assert_memory_equal(iv.id, id, sizeof(id));
	assert_string_equal(iv.endpoint, "tcp://a.example:7400");
	/* unknown invitation; another key's proof; expired */
	j = join_of(&iv, iv.secret, nodekey_public(x));
	j.id[0] ^= 1;
	redeem(a, &j, NOW, ARR_EFORBIDDEN,
	       "no such invitation from this node (used and pruned, or never issued)");
	j = join_of(&iv, iv.secret, nodekey_public(y));
	memcpy(j.key, nodekey_public(x), ARR_ORIGIN_LEN);
	redeem(a, &j, NOW, ARR_EFORBIDDEN, "the proof of the invitation's secret is wrong");
	j = join_of(&iv, iv.secret, nodekey_public(x));
	strcpy(j.endpoint, "tcp://evil.example:7400"); /* replayed for another endpoint */
	redeem(a, &j, NOW, ARR_EFORBIDDEN, "the proof of the invitation's secret is wrong");
	iv.secret[0] ^= 1; /* another token's secret */
	j = join_of(&iv, iv.secret, nodekey_public(x));
	iv.secret[0] ^= 1;
	redeem(a, &j, NOW, ARR_EFORBIDDEN, "the proof of the invitation's secret is wrong");
	j = join_of(&iv, iv.secret, nodekey_public(x));
	redeem(a, &j, iv.expires, ARR_EFORBIDDEN, "the invitation has expired");
	assert_null(store_member_find(a->s, nodekey_public(x)));
	/* accepted: the ADD carries the grant and the JOIN's key and endpoint */
	redeem(a, &j, NOW + 1, 0, NULL);
	assert_non_null(rec = store_member_find(a->s, nodekey_public(x)));
	assert_string_equal(rec->organisation, "Zorg BV");
	assert_int_equal(rec->kind, MEMBER_KIND_PROVIDER);
	assert_int_equal(rec->roles, 0);
	assert_string_equal(rec->endpoint, "tcp://x.example:7400");
	/* used twice, even by another key */
	redeem(a, &j, NOW + 2, ARR_EFORBIDDEN, "the invitation was used already");
	j = join_of(&iv, iv.secret, nodekey_public(y));
	redeem(a, &j, NOW + 2, ARR_EFORBIDDEN, "the invitation was used already");
	assert_int_equal(store_member_invites_open(a->s, NOW), 0);
	/* issuing the next invitation keeps the used one until it expires: still "used" */
	assert_int_equal(store_member_invite(a->s, &g, NOW + 3, tok, sizeof(tok), id, &why), 0);
	redeem(a, &j, NOW + 4, ARR_EFORBIDDEN, "the invitation was used already");
	nodekey_destroy(&x);
	nodekey_destroy(&y);
}

/* A member that is no registrar issues no invitation. */
static void
test_not_registrar(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_invite_grant g = {.kind = MEMBER_KIND_SCHOOL, .ttl_s = 60};
	struct cs_member add = {.op = MEMBER_ADD, .has_key = true, .kind = MEMBER_KIND_SCHOOL};
	char tok[INVITE_TOKEN_MAX];
	uint8_t id[MEMBER_INVITE_LEN], region[MEMBER_REGION_LEN];
	const char *why = NULL;
	uint64_t seq;

	found(a);
	memcpy(add.key, nodekey_public(b->key), ARR_ORIGIN_LEN);
	strcpy(add.organisation, TS_ORG);
	assert_int_equal(store_member_issue(a->s, &add, &seq, &why), 0);
	assert_true(store_member_region(a->s, region, NULL));
	assert_int_equal(store_member_set_region(b->s, region), 0);
	ts_pull(a, b, 1 << 20);
	strcpy(g.organisation, "School");
	assert_int_equal(store_member_invite(b->s, &g, NOW, tok, sizeof(tok), id, &why),
	                 ARR_EFORBIDDEN);
	assert_string_equal(why, "this node is not a registrar");
}

/* a adds b's key as a provider member; b holds the region and the list. */
static void
add_b(struct ts_replica *a, struct ts_replica *b)
{
	struct cs_member add = {.op = MEMBER_ADD, .has_key = true, .kind = MEMBER_KIND_PROVIDER};
	uint8_t region[MEMBER_REGION_LEN];
	const char *why = NULL;
	uint64_t seq;

	memcpy(add.key, nodekey_public(b->key), ARR_ORIGIN_LEN);
	strcpy(add.organisation, TS_ORG);
	strcpy(add.endpoint, "tcp://b.example:7400");
	assert_int_equal(store_member_issue(a->s, &add, &seq, &why), 0);
	assert_true(store_member_region(a->s, region, NULL));
	assert_int_equal(store_member_set_region(b->s, region), 0);
	ts_pull(a, b, 1 << 20);
}

/*
 * An invitation that replaces b's lost key: refused for a non-member and for this node's own
 * key; the token names b and shows its grant; redeemed as a ROTATE of b's record to the
 * joiner's key, cut at the highest seq of b's that a holds, with the JOIN's endpoint; b's
 * later change sets are no longer valid; used twice and expired refused like any invitation.
 */
static void
test_invite_replaces(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_invite_grant g = {.ttl_s = 3600, .has_replaces = true};
	struct nodekey *x = tu_key(9), *y = tu_key(10);
	char tok[INVITE_TOKEN_MAX], id1[ARR_ROWID_STRLEN + 1];
	uint8_t id[MEMBER_INVITE_LEN];
	const struct member_rec *old, *rec;
	struct invite iv;
	struct store_join j;
	const char *why = NULL;
	uint64_t bseq;

	found(a);
	memcpy(g.replaces, nodekey_public(x), ARR_ORIGIN_LEN);
	assert_int_equal(store_member_invite(a->s, &g, NOW, tok, sizeof(tok), id, &why),
	                 ARR_EFORBIDDEN);
	assert_string_equal(why, "the member to replace is not in the region's list");
	memcpy(g.replaces, nodekey_public(a->key), ARR_ORIGIN_LEN);
	assert_int_equal(store_member_invite(a->s, &g, NOW, tok, sizeof(tok), id, &why),
	                 ARR_EFORBIDDEN);
	assert_string_equal(why, "this node cannot replace its own key (use rotate-key)");
	add_b(a, b);
	ts_new_id(id1);
	assert_int_equal(ts_write1(b, "organisation", id1, "name", value_text("B")), 0);
	ts_pull(b, a, 1 << 20);
	bseq = ts_seq_of(a, b);
	assert_true(bseq >= 1);
	memcpy(g.replaces, nodekey_public(b->key), ARR_ORIGIN_LEN);
	assert_int_equal(store_member_invite(a->s, &g, NOW, tok, sizeof(tok), id, &why), 0);
	assert_int_equal(invite_decode(tok, &iv), 0);
	assert_true(iv.has_replaces);
	assert_memory_equal(iv.replaces, nodekey_public(b->key), ARR_ORIGIN_LEN);
	assert_string_equal(iv.organisation, TS_ORG);
	assert_int_equal(iv.kind, MEMBER_KIND_PROVIDER);
	/* expired; then redeemed: b's record now has x's key */
	j = join_at(&iv, iv.secret, nodekey_public(x), "tcp://x.example:7401");
	redeem(a, &j, iv.expires, ARR_EFORBIDDEN, "the invitation has expired");
	redeem(a, &j, NOW + 1, 0, NULL);
	assert_non_null(old = store_member_find(a->s, nodekey_public(b->key)));
	assert_true(old->rotated);
	assert_int_equal(old->cut, bseq);
	assert_memory_equal(old->new_key, nodekey_public(x), ARR_ORIGIN_LEN);
	assert_non_null(rec = store_member_find(a->s, nodekey_public(x)));
	assert_false(rec->removed);
	assert_string_equal(rec->organisation, TS_ORG);
	assert_int_equal(rec->kind, MEMBER_KIND_PROVIDER);
	assert_string_equal(rec->endpoint, "tcp://x.example:7401");
	/* b's key is cut: its next change set is no longer a member's */
	assert_int_equal(ts_write1(b, "organisation", id1, "name", value_text("B2")), 0);
	ts_pull(b, a, 1 << 20);
	assert_int_equal(ts_seq_of(a, b), bseq);
	/* used twice (by another key); a replacement of the rotated-away key refused */
	j = join_of(&iv, iv.secret, nodekey_public(y));
	redeem(a, &j, NOW + 2, ARR_EFORBIDDEN, "the invitation was used already");
	memcpy(g.replaces, nodekey_public(b->key), ARR_ORIGIN_LEN);
	assert_int_equal(store_member_invite(a->s, &g, NOW + 3, tok, sizeof(tok), id, &why),
	                 ARR_EFORBIDDEN);
	assert_string_equal(why, "the member to replace was removed or rotated away");
	nodekey_destroy(&x);
	nodekey_destroy(&y);
}

/* A replacement whose member was removed between the invitation and the JOIN is refused. */
static void
test_replaces_removed(void **state)
{
	struct ts_fixture *f = *state;
	struct ts_replica *a = &f->r[0], *b = &f->r[1];
	struct store_invite_grant g = {.ttl_s = 3600, .has_replaces = true};
	struct cs_member rm = {.op = MEMBER_REMOVE, .has_key = true};
	struct nodekey *x = tu_key(9);
	char tok[INVITE_TOKEN_MAX];
	uint8_t id[MEMBER_INVITE_LEN];
	struct invite iv;
	struct store_join j;
	const char *why = NULL;
	uint64_t seq;

	found(a);
	add_b(a, b);
	memcpy(g.replaces, nodekey_public(b->key), ARR_ORIGIN_LEN);
	assert_int_equal(store_member_invite(a->s, &g, NOW, tok, sizeof(tok), id, &why), 0);
	assert_int_equal(invite_decode(tok, &iv), 0);
	memcpy(rm.key, nodekey_public(b->key), ARR_ORIGIN_LEN);
	assert_int_equal(store_member_issue(a->s, &rm, &seq, &why), 0);
	j = join_of(&iv, iv.secret, nodekey_public(x));
	redeem(a, &j, NOW + 1, ARR_EFORBIDDEN, "member already removed");
	assert_null(store_member_find(a->s, nodekey_public(x)));
	nodekey_destroy(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_invite_redeem, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_not_registrar, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_invite_replaces, ts_setup, ts_teardown),
	    cmocka_unit_test_setup_teardown(test_replaces_removed, ts_setup, ts_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
