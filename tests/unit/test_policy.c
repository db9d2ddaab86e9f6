/*
 * test_policy.c: policy bodies (policy.c): encode/decode round trips of CREATE, GRANT,
 * REVOKE and REKEY, bytes equal to msgpack-c's packer, each rule of a body refused on
 * encode (ARR_EINVAL) and on decode (ARR_EMALFORMED), truncations and wrong shapes, key
 * slots that open only with their member's node key, the role names, and policy change
 * sets (changeset_build_policy) decoded the same by both decoders.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_ref.h"
#include "hlc.h"
#include "policy.h"
#include "testutil.h"

#define K1 0x1111111111111111ull
#define K2 0x2222222222222222ull
#define K3 0x3333333333333333ull

/* A valid body of each op and the arrays it points at (refilled by fixture()). */
struct fixture {
	struct nodekey *a, *b, *c;
	struct policy_slot slots[2];
	struct policy_ref grants[1];
	uint64_t prevs[2];
	struct policy_party parties[2];
	struct cs_policy p;
};

static void
slot(struct policy_slot *s, const struct nodekey *k, uint64_t key_id)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->member, nodekey_public(k), ARR_ORIGIN_LEN);
	s->key_id = key_id;
	memset(s->sealed, (int)(key_id & 0xff), ARR_SLOT_LEN);
}

/* f->p: a valid body of op (POLICY_CREATE ... POLICY_REKEY). */
static void
fixture(struct fixture *f, uint8_t op)
{
	memset(&f->p, 0, sizeof(f->p));
	f->p.op = op;
	f->p.slots = f->slots;
	f->p.grants = f->grants;
	f->p.prevs = f->prevs;
	f->p.parties = f->parties;
	memcpy(f->parties[0].member, nodekey_public(f->b), ARR_ORIGIN_LEN);
	f->parties[0].roles = ROLE_CARE;
	f->parties[1] = f->parties[0];
	memcpy(f->grants[0].origin, nodekey_public(f->a), ARR_ORIGIN_LEN);
	f->grants[0].seq = 5;
	f->prevs[0] = K1;
	f->prevs[1] = K2;
	switch (op) {
	case POLICY_CREATE: /* with a first party, b */
		f->p.key_id = K1;
		slot(&f->slots[0], f->a, K1);
		slot(&f->slots[1], f->b, K1);
		f->p.nslots = 2;
		f->p.nparties = 1;
		break;
	case POLICY_GRANT:
		f->p.has_member = true;
		memcpy(f->p.member, nodekey_public(f->b), ARR_ORIGIN_LEN);
		f->p.roles = ROLE_EDUCATION | ROLE_CARE;
		slot(&f->slots[0], f->b, K1);
		slot(&f->slots[1], f->b, K2);
		f->p.nslots = 2;
		break;
	case POLICY_REVOKE:
		f->p.has_member = true;
		memcpy(f->p.member, nodekey_public(f->b), ARR_ORIGIN_LEN);
		f->p.cut = 17;
		f->p.ngrants = 1;
		f->p.key_id = K2;
		f->p.nprevs = 1;
		slot(&f->slots[0], f->a, K2);
		f->p.nslots = 1;
		break;
	case POLICY_ERASE:  /* names the CREATE (a, 5), its part index in cut */
	case POLICY_REDACT: /* names (a, 5) */
		f->p.ngrants = 1;
		break;
	default:
		f->p.key_id = K3;
		f->p.nprevs = 2;
		slot(&f->slots[0], f->a, K3);
		slot(&f->slots[1], f->c, K3);
		f->p.nslots = 2;
	}
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->a = tu_key(1);
	f->b = tu_key(2);
	f->c = tu_key(3);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	nodekey_destroy(&f->a);
	nodekey_destroy(&f->b);
	nodekey_destroy(&f->c);
	free(f);
	return 0;
}

/* The reference encoding of p, decoded: the code; *nc as policy_decode() set it. */
static int
decode_ref(const struct cs_policy *p, bool *nc)
{
	msgpack_sbuffer sb;
	struct cs_policy *back = NULL;
	int rc;

	msgpack_sbuffer_init(&sb);
	assert_int_equal(policy_encode_reference(p, &sb), 0);
	*nc = false;
	rc = policy_decode((const uint8_t *)sb.data, sb.size, &back, nc);
	assert_true((rc == 0) == (back != NULL));
	policy_free(&back);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* Each op: encode gives msgpack-c's bytes, decode gives the fields back, canonically. */
static void
test_roundtrip(void **state)
{
	struct fixture *f = *state;

	for (uint8_t op = POLICY_CREATE; op <= POLICY_REKEY; op++) {
		msgpack_sbuffer sb, again;
		struct cs_policy *back = NULL;
		uint8_t *buf = NULL;
		size_t len = 0;
		bool nc = true;

		fixture(f, op);
		msgpack_sbuffer_init(&sb);
		msgpack_sbuffer_init(&again);
		assert_int_equal(policy_encode(&f->p, &buf, &len), 0);
		assert_int_equal(policy_encode_reference(&f->p, &sb), 0);
		assert_int_equal(len, sb.size);
		assert_memory_equal(buf, sb.data, len);
		assert_int_equal(policy_decode(buf, len, &back, &nc), 0);
		assert_false(nc);
		assert_int_equal(back->op, op);
		assert_int_equal(back->has_member, f->p.has_member);
		assert_memory_equal(back->member, f->p.member, ARR_ORIGIN_LEN);
		assert_true(back->roles == f->p.roles && back->cut == f->p.cut &&
		            back->key_id == f->p.key_id);
		assert_true(back->ngrants == f->p.ngrants && back->nprevs == f->p.nprevs &&
		            back->nslots == f->p.nslots);
		if (back->ngrants > 0)
			assert_memory_equal(back->grants, f->grants, sizeof(f->grants));
		if (back->nprevs > 0)
			assert_memory_equal(back->prevs, f->prevs, back->nprevs * sizeof(uint64_t));
		assert_memory_equal(back->slots, f->slots, back->nslots * sizeof(f->slots[0]));
		assert_int_equal(back->nparties, f->p.nparties);
		if (back->nparties > 0)
			assert_memory_equal(back->parties, f->parties,
			                    back->nparties * sizeof(f->parties[0]));
		assert_int_equal(policy_encode_reference(back, &again), 0);
		assert_int_equal(again.size, len);
		assert_string_not_equal(policy_op_name(op), "?");
		policy_free(&back);
		assert_null(back);
		free(buf);
		msgpack_sbuffer_destroy(&again);
		msgpack_sbuffer_destroy(&sb);
	}
	assert_string_equal(policy_op_name(0), "?");
	assert_string_equal(policy_op_name(POLICY_REVOKE), "revoke");
}

/*
 * Break rule i of the body of op f->p.op (policy.h: which fields an op uses, which must be
 * empty, key ids non-zero, slots of the introduced key or, for GRANT, of the member).
 * False when op has no rule i.
 */
static bool
break_rule(struct fixture *f, int i)
{
	struct cs_policy *p = &f->p;
	bool creates = p->op != POLICY_GRANT; /* introduces a key */

	switch (i) {
	case 0: /* a role bit that does not exist */
		p->roles |= 0x40;
		return true;
	case 1: /* member present where not used, absent where used */
		p->has_member = !p->has_member;
		return true;
	case 2: /* roles only in a GRANT */
		p->roles = p->op == POLICY_GRANT ? 0 : ROLE_CARE;
		return true;
	case 3: /* cut: a REVOKE may have one (0 too); no other op */
		if (p->op == POLICY_REVOKE)
			return false;
		p->cut = 1;
		return true;
	case 4: /* grants exactly in a REVOKE */
		p->ngrants = p->op == POLICY_REVOKE ? 0 : 1;
		return true;
	case 5: /* a new key in CREATE, REVOKE, REKEY; none in GRANT */
		p->key_id = creates ? 0 : K3;
		return true;
	case 6: /* prevs in REVOKE and REKEY only */
		p->nprevs = p->op == POLICY_REVOKE || p->op == POLICY_REKEY ? 0 : 1;
		return true;
	case 7: /* CREATE and REKEY hand out their key */
		if (p->op != POLICY_CREATE && p->op != POLICY_REKEY)
			return false;
		p->nslots = 0;
		return true;
	case 8: /* a slot of key 0 */
		f->slots[0].key_id = 0;
		return true;
	case 9: /* a slot of another key than the one introduced; a GRANT's of another member */
		if (creates)
			f->slots[0].key_id = K1 + 7;
		else
			memcpy(f->slots[0].member, nodekey_public(f->a), ARR_ORIGIN_LEN);
		return true;
	case 10: /* a previous key 0 */
		if (p->nprevs == 0)
			return false;
		f->prevs[0] = 0;
		return true;
	case 11: /* no such op */
		p->op = 0;
		return true;
	case 12: /* parties only in a CREATE, and each with a slot of the key */
		if (p->op == POLICY_CREATE)
			memcpy(f->parties[0].member, nodekey_public(f->c), ARR_ORIGIN_LEN);
		else
			p->nparties = 1;
		return true;
	case 13: /* a party has roles */
		if (p->op != POLICY_CREATE)
			return false;
		f->parties[0].roles = 0;
		return true;
	case 14: /* a party is named once */
		if (p->op != POLICY_CREATE)
			return false;
		p->nparties = 2;
		return true;
	default:
		return false;
	}
}

/* Each rule broken alone: encode refuses (ARR_EINVAL), decode of those bytes too. */
static void
test_rules(void **state)
{
	struct fixture *f = *state;
	size_t broken = 0;
	bool nc;

	for (uint8_t op = POLICY_CREATE; op <= POLICY_REKEY; op++) {
		for (int i = 0; i < 20; i++) {
			uint8_t *buf = NULL;
			size_t len = 0;

			fixture(f, op);
			assert_int_equal(decode_ref(&f->p, &nc), 0);
			if (!break_rule(f, i))
				continue;
			broken++;
			if (policy_encode(&f->p, &buf, &len) != ARR_EINVAL)
				fail_msg("op %u, rule %d: encoded", op, i);
			assert_null(buf);
			if (decode_ref(&f->p, &nc) != ARR_EMALFORMED)
				fail_msg("op %u, rule %d: decoded", op, i);
		}
	}
	/* rules 3, 7, 10, 13 and 14 not for every op */
	assert_int_equal(broken, 4 * 15 - 1 - 2 - 2 - 3 - 3);
	/* an op past the last is out of range for the decoder */
	fixture(f, POLICY_GRANT);
	f->p.op = POLICY_OP_MAX + 1;
	assert_int_equal(decode_ref(&f->p, &nc), ARR_ETOOBIG);
}

/* ERASE names one CREATE and nothing else; REDACT names change sets and nothing else. */
static void
test_erase_redact(void **state)
{
	struct fixture *f = *state;
	struct cs_policy *back = NULL;
	uint8_t *buf = NULL;
	size_t len;
	bool nc;

	fixture(f, POLICY_ERASE);
	f->p.ngrants = 1;
	f->p.cut = 3;
	assert_int_equal(policy_encode(&f->p, &buf, &len), 0);
	assert_int_equal(policy_decode(buf, len, &back, &nc), 0);
	assert_int_equal(back->op, POLICY_ERASE);
	assert_int_equal(back->ngrants, 1);
	assert_int_equal(back->grants[0].seq, 5);
	assert_int_equal(back->cut, 3);
	assert_string_equal(policy_op_name(back->op), "erase");
	policy_free(&back);
	free(buf);
	f->p.ngrants = 2; /* one CREATE only */
	assert_int_equal(policy_encode(&f->p, &buf, &len), ARR_EINVAL);
	assert_int_equal(decode_ref(&f->p, &nc), ARR_EMALFORMED);
	f->p.ngrants = 1;
	f->p.cut = ARR_CS_MAX_PARTS; /* no such part index */
	assert_int_equal(decode_ref(&f->p, &nc), ARR_EMALFORMED);
	f->p.cut = 0;
	f->p.nslots = 1; /* an ERASE hands out no key */
	assert_int_equal(decode_ref(&f->p, &nc), ARR_EMALFORMED);

	fixture(f, POLICY_REDACT);
	f->p.ngrants = 0;
	assert_int_equal(decode_ref(&f->p, &nc), ARR_EMALFORMED); /* names nothing */
	f->p.ngrants = 2;
	assert_int_equal(decode_ref(&f->p, &nc), 0);
	f->p.key_id = 7;
	assert_int_equal(decode_ref(&f->p, &nc), ARR_EMALFORMED);
	f->p.key_id = 0;
	f->p.cut = 1;
	assert_int_equal(decode_ref(&f->p, &nc), ARR_EMALFORMED);
}

/* Limits: slots and ids past their maximum; a body above ARR_CS_MAX_BYTES. */
static void
test_limits(void **state)
{
	struct fixture *f = *state;
	struct policy_slot *many = calloc(ARR_POLICY_MAX_SLOTS + 1, sizeof(*many));
	uint64_t *ids = calloc(ARR_POLICY_MAX_IDS + 1, sizeof(*ids));
	uint8_t *buf = NULL;
	size_t len = 0;
	bool nc;

	fixture(f, POLICY_REKEY);
	for (size_t i = 0; i <= ARR_POLICY_MAX_SLOTS; i++)
		slot(&many[i], f->a, K3);
	for (size_t i = 0; i <= ARR_POLICY_MAX_IDS; i++)
		ids[i] = i + 1;
	f->p.slots = many;
	f->p.nslots = ARR_POLICY_MAX_SLOTS;
	f->p.prevs = ids;
	f->p.nprevs = ARR_POLICY_MAX_IDS;
	assert_int_equal(policy_encode(&f->p, &buf, &len), 0);
	free(buf);
	assert_int_equal(decode_ref(&f->p, &nc), 0);
	f->p.nslots++;
	assert_int_equal(policy_encode(&f->p, &buf, &len), ARR_EINVAL);
	assert_int_equal(decode_ref(&f->p, &nc), ARR_ETOOBIG);
	f->p.nslots--;
	f->p.nprevs++;
	assert_int_equal(policy_encode(&f->p, &buf, &len), ARR_EINVAL);
	assert_int_equal(decode_ref(&f->p, &nc), ARR_ETOOBIG);
	free(ids);
	free(many);
}

/* Every prefix, wrong shapes and types, trailing bytes, non-shortest heads. */
static void
test_malformed(void **state)
{
	struct fixture *f = *state;
	struct cs_policy *back = NULL;
	uint8_t *buf = NULL, *b2;
	size_t len = 0;
	bool nc = false;

	fixture(f, POLICY_REVOKE);
	assert_int_equal(policy_encode(&f->p, &buf, &len), 0);
	for (size_t n = 0; n < len; n++)
		assert_int_equal(policy_decode(buf, n, &back, &nc), ARR_EMALFORMED);
	b2 = malloc(len + 2);
	memcpy(b2, buf, len);
	b2[len] = 0xc0;
	assert_int_equal(policy_decode(b2, len + 1, &back, &nc), ARR_EMALFORMED);
	b2[0] = 0x98; /* 8 fields */
	assert_int_equal(policy_decode(b2, len, &back, &nc), ARR_EMALFORMED);
	b2[0] = 0x9a; /* 10 fields, a nil after */
	assert_int_equal(policy_decode(b2, len + 1, &back, &nc), ARR_EMALFORMED);
	b2[0] = 0x99;
	b2[2] = 0xc5; /* member: bin 8 of 32 as bin 16 (longer by one) */
	memmove(b2 + 4, buf + 3, len - 3);
	b2[3] = 0x00;
	assert_int_equal(policy_decode(b2, len + 1, &back, &nc), 0);
	assert_true(nc);
	policy_free(&back);
	b2[2] = 0xdb; /* member as a str 32 */
	assert_int_equal(policy_decode(b2, len + 1, &back, &nc), ARR_ETYPE);
	assert_int_equal(policy_decode((const uint8_t *)"\x80", 1, &back, &nc), ARR_ETYPE);
	assert_null(back);
	free(b2);
	free(buf);
	assert_int_equal(policy_encode(NULL, &buf, &len), ARR_EINVAL);
}

/*
 * A slot from A to B opens under the key B shares with A, not under a key another pair
 * shares (a wrong member, or A with itself), and not once altered; each nonce is fresh.
 */
static void
test_slots(void **state)
{
	struct fixture *f = *state;
	struct nodekey *c = tu_key(3);
	uint8_t skey[ARR_SKEY_LEN], got[ARR_SKEY_LEN];
	uint8_t ab[NODEKEY_SHARED_LEN], ba[NODEKEY_SHARED_LEN], other[NODEKEY_SHARED_LEN];
	struct policy_slot s, s2, moved;

	changeset_key_new(skey);
	assert_int_equal(nodekey_shared(f->a, nodekey_public(f->b), ab), 0);
	assert_int_equal(nodekey_shared(f->b, nodekey_public(f->a), ba), 0);
	assert_int_equal(policy_slot_seal(ab, nodekey_public(f->b), K1, skey, &s), 0);
	assert_memory_equal(s.member, nodekey_public(f->b), ARR_ORIGIN_LEN);
	assert_true(s.key_id == K1);
	assert_null(memmem(s.sealed, ARR_SLOT_LEN, skey, 8));
	assert_int_equal(policy_slot_open(ba, &s, got), 0);
	assert_memory_equal(got, skey, ARR_SKEY_LEN);
	assert_int_equal(policy_slot_seal(ab, nodekey_public(f->b), K1, skey, &s2), 0);
	assert_memory_not_equal(s.sealed, s2.sealed, ARR_NONCE_LEN);
	/* C, a wrong member, shares a different key with A; so does A with itself */
	assert_int_equal(nodekey_shared(c, nodekey_public(f->a), other), 0);
	assert_int_equal(policy_slot_open(other, &s, got), ARR_EDECRYPT);
	assert_int_equal(nodekey_shared(f->a, nodekey_public(f->a), other), 0);
	assert_int_equal(policy_slot_open(other, &s, got), ARR_EDECRYPT);
	assert_int_equal(nodekey_shared(c, nodekey_public(f->b), other), 0);
	assert_int_equal(policy_slot_open(other, &s, got), ARR_EDECRYPT);
	for (size_t i = 0; i < ARR_SLOT_LEN; i += 7) {
		moved = s;
		moved.sealed[i] ^= 0x20;
		assert_int_equal(policy_slot_open(ba, &moved, got), ARR_EDECRYPT);
	}
	moved = s;
	moved.sealed[ARR_SLOT_LEN - 1] ^= 0x01;
	assert_int_equal(policy_slot_open(ba, &moved, got), ARR_EDECRYPT);
	nodekey_destroy(&c);
}

static void
test_roles(void **state)
{
	char buf[128];

	(void)state;
	policy_roles_str(ROLE_REQUESTER | ROLE_CARE, buf, sizeof(buf));
	assert_string_equal(buf, "requester,care");
	policy_roles_str(POLICY_ROLES_ALL, buf, sizeof(buf));
	assert_string_equal(buf, "requester,funder,education,care,coordination,admin");
	assert_int_equal(policy_roles_parse(buf), POLICY_ROLES_ALL);
	policy_roles_str(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	policy_roles_str(ROLE_ADMIN | ROLE_FUNDER, buf, 10); /* cut short: only whole names */
	assert_string_equal(buf, "funder");
	assert_int_equal(policy_roles_parse("care"), ROLE_CARE);
	assert_int_equal(policy_roles_parse("admin,education"), ROLE_ADMIN | ROLE_EDUCATION);
	assert_int_equal(policy_roles_parse("care,nurse"), 0);
	assert_int_equal(policy_roles_parse("Care"), 0);
	assert_int_equal(policy_roles_parse("care,"), ROLE_CARE);
	assert_int_equal(ROLE_REQUESTER, 1);
	assert_int_equal(ROLE_ADMIN, 32);
}

/*
 * Policy parts: the body as encoded, read by both decoders; only case scopes; a CREATE
 * only in the scope its own id names, and nothing else there.
 */
static void
test_changeset_policy(void **state)
{
	struct fixture *f = *state;
	struct cs_header h = {.seq = 1,
	                      .hlc = hlc_make(1764000000000ull, 0),
	                      .author_org = "Gemeente Testdorp",
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct cs_part_in part = {.kind = CS_POLICY, .policy = &f->p};
	struct changeset *cs = NULL;
	uint8_t *body = NULL;
	size_t len = 0;

	fixture(f, POLICY_CREATE);
	assert_int_equal(changeset_build(f->a, &h, &part, 1, &cs), ARR_EINVAL); /* region */
	for (uint8_t op = POLICY_CREATE; op <= POLICY_REKEY; op++) {
		fixture(f, op);
		if (op == POLICY_CREATE)
			changeset_scope_id(nodekey_public(f->a), h.seq, 0, part.scope);
		else
			memset(part.scope, 0x5c, ARR_SCOPE_LEN);
		assert_int_equal(changeset_build(f->a, &h, &part, 1, &cs), 0);
		assert_int_equal(changeset_verify(cs), 0);
		assert_int_equal(changeset_ref_compare(cs->raw, cs->rawlen), 0);
		assert_true(cs->parts[0].kind == CS_POLICY && cs->parts[0].key_id == 0);
		assert_null(cs->parts[0].ops);
		assert_non_null(cs->parts[0].policy);
		assert_int_equal(cs->parts[0].policy->op, op);
		assert_int_equal(policy_encode(&f->p, &body, &len), 0);
		assert_int_equal(cs->parts[0].bodylen, len);
		assert_memory_equal(cs->parts[0].body, body, len);
		free(body);
		changeset_destroy(&cs);
		h.seq++;
	}
	/* a CREATE elsewhere than its id, and another op at a CREATE's id */
	fixture(f, POLICY_CREATE);
	memset(part.scope, 0x5c, ARR_SCOPE_LEN);
	assert_int_equal(changeset_build(f->a, &h, &part, 1, &cs), ARR_EINVAL);
	fixture(f, POLICY_GRANT);
	changeset_scope_id(nodekey_public(f->a), h.seq, 0, part.scope);
	assert_int_equal(changeset_build(f->a, &h, &part, 1, &cs), ARR_EINVAL);
	memset(part.scope, 0x5c, ARR_SCOPE_LEN);
	f->p.key_id = 1;
	assert_int_equal(changeset_build(f->a, &h, &part, 1, &cs), ARR_EINVAL);
	h.seq = 0;
	fixture(f, POLICY_GRANT);
	assert_int_equal(changeset_build(f->a, &h, &part, 1, &cs), ARR_EINVAL);
	assert_null(cs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slots, setup, teardown),
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test_setup_teardown(test_erase_redact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changeset_policy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
