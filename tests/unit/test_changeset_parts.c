/*
 * test_changeset_parts.c: the rules between the parts of one change set (PROTOCOL.md,
 * "Parts"), against both decoders (changeset_decode.c and the reference decoder of
 * tests/oracle): a CREATE part followed by the data part of its scope; one part per scope
 * otherwise (duplicate scope, a CREATE's data part before the CREATE, two region parts);
 * a CREATE only at its own scope id and no other op there; at most ARR_CS_MAX_PARTS parts.
 * That the bodies array has one entry per part: test_changeset_decode test_bodies_count.
 * Change sets are made with the oracle's encoder, so the builder's checks are not trusted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_int.h"
#include "changeset_ref.h"
#include "changeset_ref_int.h"
#include "policy.h"
#include "testutil.h"

/* a case scope no CREATE of these tests opens */
static const uint8_t case_scope[ARR_SCOPE_LEN] = {0x5c, 1, 2,  3,  4,  5,  6,  7,
                                                  8,    9, 10, 11, 12, 13, 14, 15};

#define expect_same_as_reference changeset_ref_compare

/* The parts wrapped and signed by k (oracle encoder), decoded by both decoders: the code. */
static int
decode_parts(struct nodekey *k, uint64_t seq, const struct cs_part *parts, size_t n)
{
	struct cs_header h = tu_cs_header(seq, 0);
	msgpack_sbuffer env;
	int rc;

	msgpack_sbuffer_init(&env);
	assert_int_equal(changeset_ref_wrap(k, &h, parts, n, &env), 0);
	rc = expect_same_as_reference((const uint8_t *)env.data, env.size);
	msgpack_sbuffer_destroy(&env);
	return rc;
}

/* A CREATE body of key K with one slot for k (bytes of the slot arbitrary), in *buf. */
static void
create_body(struct nodekey *k, uint8_t **buf, size_t *len)
{
	struct policy_slot slot;
	struct cs_policy p = {.op = POLICY_CREATE, .key_id = 77, .slots = &slot, .nslots = 1};

	memset(&slot, 0x11, sizeof(slot));
	memcpy(slot.member, nodekey_public(k), ARR_ORIGIN_LEN);
	slot.key_id = 77;
	assert_int_equal(policy_encode(&p, buf, len), 0);
}

/* Part i: a case data part (any sealed bytes) of scope, or a CREATE at its own id. */
static void
part_case(struct cs_part *p, const uint8_t *scope, const uint8_t *body, size_t len)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->scope, scope, ARR_SCOPE_LEN);
	p->kind = CS_DATA;
	p->key_id = 77;
	p->body = body;
	p->bodylen = len;
}

static void
part_create(struct cs_part *p, struct nodekey *k, uint64_t seq, size_t i, const uint8_t *body,
            size_t len)
{
	memset(p, 0, sizeof(*p));
	changeset_scope_id(nodekey_public(k), seq, i, p->scope);
	p->kind = CS_POLICY;
	p->body = body;
	p->bodylen = len;
}

/* The bodies the tests put into parts, and room for the parts. */
struct fx {
	struct nodekey *k;
	struct cs_part *parts; /* ARR_CS_MAX_PARTS + 1 */
	uint8_t sealed[300], ops[64], *create, *grant;
	size_t clen, glen, olen;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct cs_policy g = {.op = POLICY_GRANT, .has_member = true, .roles = ROLE_CARE};
	struct cs_op op = {.table = "organisation", .column = "code", .value = value_int(1)};
	msgpack_sbuffer ob;

	f->k = tu_key(1);
	f->parts = calloc(ARR_CS_MAX_PARTS + 1, sizeof(*f->parts));
	memset(f->sealed, 0x42, sizeof(f->sealed));
	create_body(f->k, &f->create, &f->clen);
	memcpy(g.member, nodekey_public(f->k), ARR_ORIGIN_LEN);
	assert_int_equal(policy_encode(&g, &f->grant, &f->glen), 0);
	msgpack_sbuffer_init(&ob);
	assert_int_equal(ref_pack_ops(&ob, &op, 1), 0);
	f->olen = ob.size;
	memcpy(f->ops, ob.data, ob.size);
	msgpack_sbuffer_destroy(&ob);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	free(f->grant);
	free(f->create);
	free(f->parts);
	nodekey_destroy(&f->k);
	free(f);
	return 0;
}

/* Part p: the region data part of the fixture's ops. */
static void
part_region(struct fx *f, struct cs_part *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = CS_DATA;
	p->body = f->ops;
	p->bodylen = f->olen;
}

/*
 * A CREATE, the data part of its scope right after it, a region part and another scope's
 * data part decode; the same parts under another seq do not (the CREATE no longer names
 * its own id).
 */
static void
test_create_then_data(void **state)
{
	struct fx *f = *state;
	struct cs_part *p = f->parts;

	part_create(&p[0], f->k, 9, 0, f->create, f->clen);
	part_case(&p[1], p[0].scope, f->sealed, sizeof(f->sealed));
	part_region(f, &p[2]);
	part_case(&p[3], case_scope, f->sealed, sizeof(f->sealed));
	assert_int_equal(decode_parts(f->k, 9, p, 4), 0);
	assert_int_equal(decode_parts(f->k, 10, p, 4), ARR_EMALFORMED);
	/* a CREATE alone, and one whose body was dropped: the header alone is checked */
	assert_int_equal(decode_parts(f->k, 9, p, 1), 0);
	p[0].body = NULL;
	p[0].bodylen = 0;
	assert_int_equal(decode_parts(f->k, 9, p, 1), 0);
}

/* One part per scope: two data parts of one case scope, two region parts, a CREATE twice. */
static void
test_duplicate_scope(void **state)
{
	struct fx *f = *state;
	struct cs_part *p = f->parts;

	part_case(&p[0], case_scope, f->sealed, sizeof(f->sealed));
	part_region(f, &p[1]);
	assert_int_equal(decode_parts(f->k, 9, p, 2), 0);
	part_case(&p[2], case_scope, f->sealed, sizeof(f->sealed));
	assert_int_equal(decode_parts(f->k, 9, p, 3), ARR_EMALFORMED);
	part_region(f, &p[2]);
	assert_int_equal(decode_parts(f->k, 9, p, 3), ARR_EMALFORMED);
	part_create(&p[0], f->k, 9, 0, f->create, f->clen);
	p[1] = p[0];
	assert_int_equal(decode_parts(f->k, 9, p, 2), ARR_EMALFORMED);
}

/*
 * A CREATE's data part must follow it immediately: before the CREATE, or one part away
 * (with a region part between), the scope is named twice.
 */
static void
test_data_before_create(void **state)
{
	struct fx *f = *state;
	struct cs_part *p = f->parts;

	part_create(&p[1], f->k, 9, 1, f->create, f->clen);
	part_case(&p[0], p[1].scope, f->sealed, sizeof(f->sealed));
	assert_int_equal(decode_parts(f->k, 9, p, 2), ARR_EMALFORMED);
	part_create(&p[0], f->k, 9, 0, f->create, f->clen);
	part_region(f, &p[1]);
	part_case(&p[2], p[0].scope, f->sealed, sizeof(f->sealed));
	assert_int_equal(decode_parts(f->k, 9, p, 3), ARR_EMALFORMED);
	p[1] = p[2];
	assert_int_equal(decode_parts(f->k, 9, p, 2), 0);
}

/* A CREATE body only at its own id; another op at a CREATE's id is refused too. */
static void
test_create_id(void **state)
{
	struct fx *f = *state;
	struct cs_part *p = f->parts;

	part_create(&p[0], f->k, 9, 0, f->create, f->clen);
	p[0].scope[0] ^= 1;
	assert_int_equal(decode_parts(f->k, 9, p, 1), ARR_EMALFORMED);
	part_create(&p[0], f->k, 9, 1, f->create, f->clen); /* the id of index 1, at index 0 */
	assert_int_equal(decode_parts(f->k, 9, p, 1), ARR_EMALFORMED);
	part_create(&p[0], f->k, 9, 0, f->grant, f->glen);
	assert_int_equal(decode_parts(f->k, 9, p, 1), ARR_EMALFORMED);
	memset(p[0].scope, 0x77, ARR_SCOPE_LEN);
	assert_int_equal(decode_parts(f->k, 9, p, 1), 0); /* a GRANT elsewhere is fine */
}

/* At most ARR_CS_MAX_PARTS parts, each of its own scope, and at least one. */
static void
test_too_many_parts(void **state)
{
	struct fx *f = *state;
	struct cs_part *p = f->parts;

	for (size_t i = 0; i <= ARR_CS_MAX_PARTS; i++) {
		part_case(&p[i], case_scope, f->sealed, sizeof(f->sealed));
		p[i].scope[1] = (uint8_t)i;
		p[i].scope[2] = (uint8_t)(i >> 8);
	}
	assert_int_equal(decode_parts(f->k, 9, p, ARR_CS_MAX_PARTS), 0);
	assert_int_equal(decode_parts(f->k, 9, p, ARR_CS_MAX_PARTS + 1), ARR_ETOOBIG);
	assert_int_equal(decode_parts(f->k, 9, p, 0), ARR_EMALFORMED);
}

/*
 * Three parts of one scope are refused even when two of them are the CREATE and its data
 * part (the parts are checked sorted by scope: each pair of the scope's neighbours
 * counts), and many scopes with one CREATE-and-data pair among them decode.
 */
static void
test_scope_thrice(void **state)
{
	struct fx *f = *state;
	struct cs_part *p = f->parts;

	part_create(&p[0], f->k, 9, 0, f->create, f->clen);
	part_case(&p[1], p[0].scope, f->sealed, sizeof(f->sealed));
	part_case(&p[2], p[0].scope, f->sealed, sizeof(f->sealed));
	assert_int_equal(decode_parts(f->k, 9, p, 3), ARR_EMALFORMED);
	part_region(f, &p[1]);
	assert_int_equal(decode_parts(f->k, 9, p, 3), ARR_EMALFORMED);
	part_region(f, &p[2]);
	part_case(&p[1], p[0].scope, f->sealed, sizeof(f->sealed));
	part_case(&p[3], case_scope, f->sealed, sizeof(f->sealed));
	assert_int_equal(decode_parts(f->k, 9, p, 4), 0);
	/* a second pair last, after scopes that sort before and after it */
	part_create(&p[4], f->k, 9, 4, f->create, f->clen);
	part_case(&p[5], p[4].scope, f->sealed, sizeof(f->sealed));
	assert_int_equal(decode_parts(f->k, 9, p, 6), 0);
	p[5] = p[3];
	assert_int_equal(decode_parts(f->k, 9, p, 6), ARR_EMALFORMED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_then_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_scope, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_before_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scope_thrice, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_parts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
