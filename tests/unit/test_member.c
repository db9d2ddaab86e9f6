/*
 * test_member.c: member bodies (protocol/member.c) and member parts of change sets: each op
 * round-trips, the per-op field rules refuse what an op must not carry, the decoder refuses
 * non-canonical and truncated bodies, a member part must be alone and in the region scope,
 * and region ids are bound to the genesis change set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arrerr.h"
#include "changeset.h"
#include "member.h"
#include "testutil.h"

static struct cs_member
add_of(uint8_t keybyte)
{
	struct cs_member m = {.op = MEMBER_ADD, .has_key = true, .kind = MEMBER_KIND_PROVIDER};

	memset(m.key, keybyte, sizeof(m.key));
	strcpy(m.organisation, "Zorg BV");
	strcpy(m.endpoint, "tcp://127.0.0.1:7000");
	return m;
}

static void
roundtrip(const struct cs_member *m)
{
	struct cs_member *back = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	bool nc = true;

	assert_int_equal(member_encode(m, &buf, &len), 0);
	assert_int_equal(len, member_encoded_size(m));
	assert_int_equal(member_decode(buf, len, &back, &nc), 0);
	assert_false(nc);
	assert_memory_equal(back, m, sizeof(*m));
	member_free(&back);
	assert_null(back);
	free(buf);
}

static void
test_ops_roundtrip(void **state)
{
	struct cs_member m = add_of(7);

	(void)state;
	roundtrip(&m);
	m.has_invite = true;
	memset(m.invite, 9, sizeof(m.invite));
	m.roles = MEMBER_ROLE_REGISTRAR;
	roundtrip(&m);

	m = (struct cs_member){.op = MEMBER_REMOVE, .has_key = true, .cut = 41};
	memset(m.key, 3, sizeof(m.key));
	roundtrip(&m);
	m = (struct cs_member){.op = MEMBER_ROTATE, .has_key = true, .has_new_key = true, .cut = 2};
	memset(m.key, 3, sizeof(m.key));
	memset(m.new_key, 4, sizeof(m.new_key));
	roundtrip(&m);
	m = (struct cs_member){.op = MEMBER_ENDPOINT, .has_key = true};
	memset(m.key, 3, sizeof(m.key));
	roundtrip(&m); /* no endpoint: nil */
	m = (struct cs_member){.op = MEMBER_GENESIS,
	                       .has_key = true,
	                       .has_region = true,
	                       .kind = MEMBER_KIND_GEMEENTE,
	                       .roles = MEMBER_ROLE_REGISTRAR};
	strcpy(m.organisation, "Gemeente Testdorp");
	strcpy(m.name, "testregio");
	roundtrip(&m);
}

static void
test_field_rules(void **state)
{
	struct cs_member m = add_of(7);
	uint8_t *buf = NULL;
	size_t len;

	(void)state;
	m.cut = 5; /* an ADD has no cut */
	assert_int_equal(member_encode(&m, &buf, &len), ARR_EINVAL);
	m = add_of(7);
	m.kind = 0; /* an ADD needs a kind */
	assert_int_equal(member_encode(&m, &buf, &len), ARR_EINVAL);
	m = add_of(7);
	m.kind = MEMBER_KIND_MAX + 1;
	assert_int_equal(member_encode(&m, &buf, &len), ARR_EINVAL);
	m = add_of(7);
	m.organisation[0] = '\0';
	assert_int_equal(member_encode(&m, &buf, &len), ARR_EINVAL);
	m = (struct cs_member){.op = MEMBER_ROTATE, .has_key = true, .has_new_key = true};
	memset(m.key, 3, sizeof(m.key));
	memset(m.new_key, 3, sizeof(m.new_key)); /* to itself */
	assert_int_equal(member_encode(&m, &buf, &len), ARR_EINVAL);
	m = (struct cs_member){.op = MEMBER_REMOVE, .has_key = true};
	strcpy(m.endpoint, "tcp://x:1"); /* a REMOVE has no endpoint */
	assert_int_equal(member_encode(&m, &buf, &len), ARR_EINVAL);
	m = (struct cs_member){.op = 9, .has_key = true};
	assert_int_equal(member_encode(&m, &buf, &len), ARR_EINVAL);
	assert_null(buf);
}

static void
test_decode_strict(void **state)
{
	struct cs_member m = add_of(7), *back = NULL;
	uint8_t *buf = NULL, *cp;
	size_t len;
	bool nc;

	(void)state;
	assert_int_equal(member_encode(&m, &buf, &len), 0);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_not_equal(member_decode(buf, cut, &back, &nc), 0);
	assert_null(back);
	cp = malloc(len + 1);
	memcpy(cp, buf, len);
	cp[len] = 0xc0; /* trailing bytes */
	assert_int_equal(member_decode(cp, len + 1, &back, &nc), ARR_EMALFORMED);
	cp[1] = 9; /* op 9 */
	assert_int_not_equal(member_decode(cp, len, &back, &nc), 0);
	free(cp);
	free(buf);
	/* an empty str where nil belongs is not canonical */
	{
		static const uint8_t empty_org[] = {
		    0x9b, 0x03, 0xc4, 0x20, 1, 1, 1,    1,    1, 1, 1,    1, 1,    1,    1,
		    1,    1,    1,    1,    1, 1, 1,    1,    1, 1, 1,    1, 1,    1,    1,
		    1,    1,    1,    1,    1, 1, 0xc0, 0xa0, 0, 0, 0xc0, 0, 0xc0, 0xc0, 0xc0};
		assert_int_equal(member_decode(empty_org, sizeof(empty_org), &back, &nc),
		                 ARR_ENONCANON);
	}
}

static void
test_part_rules(void **state)
{
	struct nodekey *k = tu_key(1);
	struct cs_member m = add_of(7);
	struct cs_header h = {.seq = 1,
	                      .hlc = 100,
	                      .author_org = "Gemeente Testdorp",
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct cs_part_in parts[2] = {{.kind = CS_MEMBER, .member = &m},
	                              {.kind = CS_MEMBER, .member = &m}};
	struct changeset *cs = NULL, *back = NULL;

	(void)state;
	assert_int_equal(changeset_build(k, &h, parts, 1, &cs), 0);
	assert_int_equal(cs->parts[0].kind, CS_MEMBER);
	assert_non_null(cs->parts[0].member);
	assert_int_equal(changeset_decode(cs->raw, cs->rawlen, &back), 0);
	assert_int_equal(changeset_verify(back), 0);
	assert_memory_equal(back->parts[0].member, &m, sizeof(m));
	changeset_destroy(&back);
	changeset_destroy(&cs);
	/* two member parts, or a member part in a case scope, are refused */
	assert_int_equal(changeset_build(k, &h, parts, 2, &cs), ARR_EINVAL);
	memset(parts[0].scope, 5, sizeof(parts[0].scope));
	assert_int_equal(changeset_build(k, &h, parts, 1, &cs), ARR_EINVAL);
	assert_null(cs);
	nodekey_destroy(&k);
}

static void
test_region_id(void **state)
{
	uint8_t a[ARR_ORIGIN_LEN], b[ARR_ORIGIN_LEN], x[MEMBER_REGION_LEN], y[MEMBER_REGION_LEN];

	(void)state;
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	member_region_id(a, 1, x);
	member_region_id(a, 1, y);
	assert_memory_equal(x, y, sizeof(x));
	member_region_id(a, 2, y);
	assert_memory_not_equal(x, y, sizeof(x));
	member_region_id(b, 1, y);
	assert_memory_not_equal(x, y, sizeof(x));
	assert_int_equal(member_kind_parse("school"), MEMBER_KIND_SCHOOL);
	assert_int_equal(member_kind_parse("bakery"), 0);
	assert_string_equal(member_kind_name(MEMBER_KIND_SWV), "swv");
	assert_int_equal(member_roles_parse("registrar"), MEMBER_ROLE_REGISTRAR);
	assert_int_equal(member_roles_parse("admin"), UINT32_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ops_roundtrip), cmocka_unit_test(test_field_rules),
	    cmocka_unit_test(test_decode_strict), cmocka_unit_test(test_part_rules),
	    cmocka_unit_test(test_region_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
