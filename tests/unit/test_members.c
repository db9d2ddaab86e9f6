/*
 * test_members.c: the members file (daemon/members.c): valid files give the right
 * members, derived CURVE keys and lookups; every error (duplicate name or key, unknown
 * or missing key, bad key, bad endpoint, no members) names file:line exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expect_parse.h"
#include "members.h"
#include "testutil.h"

/* Public keys of tu_key(1) ... tu_key(4), as hex. */
static char hex[5][NODEKEY_HEX_LEN + 1];
static uint8_t pub[5][ARR_ORIGIN_LEN];

static int
setup(void **state)
{
	(void)state;
	for (uint8_t i = 1; i <= 4; i++) {
		struct nodekey *k = tu_key(i);

		memcpy(pub[i], nodekey_public(k), ARR_ORIGIN_LEN);
		nodekey_hex(pub[i], hex[i]);
		nodekey_destroy(&k);
	}
	return 0;
}

static void *
parse(const char *text, const char *name, char *err, size_t errlen)
{
	return members_parse(text, name, err, errlen);
}

static void
expect_err(const char *text, const char *want)
{
	ep_expect_err(parse, text, "m.conf", want);
}

static struct members *
expect_ok(const char *text)
{
	return ep_expect_ok(parse, text, "m.conf");
}

static void
test_valid(void **state)
{
	char text[1024];
	struct members *m;
	const struct member *a, *b, *c;
	uint8_t curve[32], other[ARR_ORIGIN_LEN];

	(void)state;
	snprintf(text, sizeof(text),
	         "; the region\n"
	         "[gemeente-testdorp]\n"
	         "organisation = Gemeente Testdorp\n"
	         "public_key = %s\n"
	         "endpoint = tcp://127.0.0.1:7401   ; optional\n"
	         "\n"
	         "[swv-testregio]\n"
	         "organisation = SWV PO Testregio\n"
	         "public_key = %s\n"
	         "[obs-de-lijster]\n"
	         "public_key = %s\n"
	         "organisation = OBS De Lijster\n"
	         "endpoint = tcp://[::1]:7403\n",
	         hex[1], hex[2], hex[3]);
	m = expect_ok(text);
	assert_int_equal(members_count(m), 3);
	a = members_at(m, 0);
	b = members_at(m, 1);
	c = members_at(m, 2);
	assert_null(members_at(m, 3));
	assert_string_equal(a->name, "gemeente-testdorp");
	assert_string_equal(a->organisation, "Gemeente Testdorp");
	assert_memory_equal(a->origin, pub[1], ARR_ORIGIN_LEN);
	assert_string_equal(a->endpoint, "tcp://127.0.0.1:7401");
	assert_string_equal(b->name, "swv-testregio");
	assert_null(b->endpoint);
	assert_memory_equal(b->origin, pub[2], ARR_ORIGIN_LEN);
	assert_string_equal(c->organisation, "OBS De Lijster");
	assert_string_equal(c->endpoint, "tcp://[::1]:7403");

	/* The CURVE key is the X25519 form of the Ed25519 key. */
	assert_int_equal(nodekey_curve_public_raw(pub[2], curve), 0);
	assert_memory_equal(b->curve, curve, sizeof(curve));

	assert_ptr_equal(members_find_name(m, "swv-testregio"), b);
	assert_null(members_find_name(m, "swv"));
	assert_ptr_equal(members_find_origin(m, pub[3]), c);
	assert_null(members_find_origin(m, pub[4]));
	assert_ptr_equal(members_find_curve(m, curve), b);
	assert_null(members_find_curve(m, pub[2])); /* an Ed25519 key is not a CURVE key */
	assert_string_equal(members_org(m, pub[1]), "Gemeente Testdorp");
	assert_string_equal(members_org(m, pub[3]), "OBS De Lijster");
	assert_null(members_org(m, pub[4]));
	assert_null(members_org(NULL, pub[1]));
	memset(other, 0, sizeof(other));
	assert_null(members_org(m, other));
	members_destroy(&m);
	assert_null(m);
	members_destroy(&m);
	members_destroy(NULL);
	assert_int_equal(members_count(NULL), 0);
}

/* Upper-case hex is the same key. */
static void
test_uppercase_key(void **state)
{
	char text[512], up[NODEKEY_HEX_LEN + 1];
	struct members *m;

	(void)state;
	for (size_t i = 0; i <= NODEKEY_HEX_LEN; i++)
		up[i] = (char)(hex[1][i] >= 'a' && hex[1][i] <= 'f' ? hex[1][i] - 32 : hex[1][i]);
	snprintf(text, sizeof(text), "[a]\norganisation = A\npublic_key = %s\n", up);
	m = expect_ok(text);
	assert_memory_equal(members_at(m, 0)->origin, pub[1], ARR_ORIGIN_LEN);
	members_destroy(&m);
}

static void
test_duplicates(void **state)
{
	char text[1024], neghex[NODEKEY_HEX_LEN + 1];
	uint8_t neg[ARR_ORIGIN_LEN];

	(void)state;
	snprintf(text, sizeof(text),
	         "[a]\norganisation = A\npublic_key = %s\n"
	         "[b]\norganisation = B\npublic_key = %s\n"
	         "[a]\norganisation = A2\npublic_key = %s\n",
	         hex[1], hex[2], hex[3]);
	expect_err(text, "m.conf:7: duplicate member [a] (first at line 1)");

	snprintf(text, sizeof(text),
	         "[a]\norganisation = A\npublic_key = %s\n"
	         "[b]\norganisation = B\npublic_key = %s\n",
	         hex[1], hex[1]);
	expect_err(text, "m.conf:6: duplicate public_key (also member [a], line 3)");

	/* The negated point: another Ed25519 key, but the same CURVE key. */
	memcpy(neg, pub[1], sizeof(neg));
	neg[31] ^= 0x80;
	nodekey_hex(neg, neghex);
	snprintf(text, sizeof(text),
	         "[a]\norganisation = A\npublic_key = %s\n"
	         "[b]\norganisation = B\npublic_key = %s\n",
	         hex[1], neghex);
	expect_err(text, "m.conf:6: public_key has the same CURVE key as member [a], line 3");

	snprintf(text, sizeof(text), "[a]\norganisation = A\norganisation = B\npublic_key = %s\n",
	         hex[1]);
	expect_err(text, "m.conf:3: duplicate key 'organisation' in section [a] (first at line 2)");

	snprintf(text, sizeof(text), "[a]\npublic_key = %s\npublic_key = %s\n", hex[1], hex[2]);
	expect_err(text, "m.conf:3: duplicate key 'public_key' in section [a] (first at line 2)");
}

static void
test_unknown_and_missing(void **state)
{
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "[a]\norganisation = A\npublic_key = %s\nfoo = bar\n", hex[1]);
	expect_err(text, "m.conf:4: unknown key 'foo' in section [a]");
	snprintf(text, sizeof(text), "[a]\norganisation = A\npublic-key = %s\n", hex[1]);
	expect_err(text, "m.conf:3: unknown key 'public-key' in section [a]");

	snprintf(text, sizeof(text),
	         "[a]\norganisation = A\n\n[b]\norganisation = B\npublic_key = %s\n", hex[2]);
	expect_err(text, "m.conf:1: missing required key 'public_key' in [a]");
	snprintf(text, sizeof(text), "[a]\norganisation = A\npublic_key = %s\n[b]\n", hex[1]);
	expect_err(text, "m.conf:4: missing required key 'organisation' in [b]");

	expect_err("", "m.conf: no members (expected at least one [name] section)");
	expect_err("; only comments\n\n# here\n",
	           "m.conf: no members (expected at least one [name] section)");
	expect_err("organisation = A\n", "m.conf:1: key 'organisation' outside of any section");
	expect_err("[a]\norganisation =\n",
	           "m.conf:2: empty value for 'organisation' in section [a]");
}

static void
test_bad_values(void **state)
{
	char text[1024], key[NODEKEY_HEX_LEN + 2];

	(void)state;
	expect_err("[Bad_Name]\n",
	           "m.conf:1: invalid member name [Bad_Name] (expected 1 to 63 of a-z, 0-9 and "
	           "'-', not starting with '-')");
	expect_err("[-a]\n", "m.conf:1: invalid member name [-a] (expected 1 to 63 of a-z, 0-9 "
	                     "and '-', not starting with '-')");
	expect_err("[]\n", "m.conf:1: invalid member name [] (expected 1 to 63 of a-z, 0-9 and "
	                   "'-', not starting with '-')");

	/* 63, 65 characters, a non-hex digit. */
	memcpy(key, hex[1], NODEKEY_HEX_LEN - 1);
	key[NODEKEY_HEX_LEN - 1] = '\0';
	snprintf(text, sizeof(text), "[a]\norganisation = A\npublic_key = %s\n", key);
	expect_err(text, "m.conf:3: invalid public_key (expected 64 hex characters)");
	snprintf(text, sizeof(text), "[a]\norganisation = A\npublic_key = %s0\n", hex[1]);
	expect_err(text, "m.conf:3: invalid public_key (expected 64 hex characters)");
	memcpy(key, hex[1], sizeof(hex[1]));
	key[10] = 'g';
	snprintf(text, sizeof(text), "[a]\norganisation = A\npublic_key = %s\n", key);
	expect_err(text, "m.conf:3: invalid public_key (expected 64 hex characters)");
	/* Hex, but a point of small order: no usable CURVE key. */
	expect_err(
	    "[a]\norganisation = A\n"
	    "public_key = 0100000000000000000000000000000000000000000000000000000000000000\n",
	    "m.conf:3: invalid public_key (not an Ed25519 public key)");

	snprintf(text, sizeof(text), "[a]\norganisation = A\npublic_key = %s\nendpoint = x:1\n",
	         hex[1]);
	expect_err(text, "m.conf:4: invalid endpoint 'x:1' (expected tcp://HOST:PORT)");
	expect_err("[a]\norganisation = \xff\n",
	           "m.conf:2: invalid organisation (expected 1 to 128 bytes of UTF-8 text)");
	expect_err("[a]\nbroken line\n",
	           "m.conf:2: syntax error (expected [section] or key = value)");
}

static void
test_many_members(void **state)
{
	char *text = malloc(200 * 128), *p = text;
	struct members *m;

	(void)state;
	for (int i = 1; i <= 100; i++) {
		struct nodekey *k = tu_key((uint8_t)i);
		char h[NODEKEY_HEX_LEN + 1];

		nodekey_hex(nodekey_public(k), h);
		p += sprintf(p, "[node-%d]\norganisation = Org %d\npublic_key = %s\n", i, i, h);
		nodekey_destroy(&k);
	}
	m = expect_ok(text);
	assert_int_equal(members_count(m), 100);
	assert_string_equal(members_find_name(m, "node-77")->organisation, "Org 77");
	members_destroy(&m);
	free(text);
}

static void
test_load(void **state)
{
	char *dir = tu_tmpdir(), *path = tu_path(dir, "members.conf"), err[512], want[600];
	struct members *m;
	FILE *f;

	(void)state;
	m = members_load("/nonexistent/members.conf", err, sizeof(err));
	assert_null(m);
	assert_string_equal(err,
	                    "/nonexistent/members.conf: cannot open: No such file or directory");

	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[a]\norganisation = A\npublic_key = %s\n[b]\norganisation = B\n", hex[1]);
	fclose(f);
	m = members_load(path, err, sizeof(err));
	assert_null(m);
	snprintf(want, sizeof(want), "%s:4: missing required key 'public_key' in [b]", path);
	assert_string_equal(err, want);

	f = fopen(path, "a");
	assert_non_null(f);
	fprintf(f, "public_key = %s\n", hex[2]);
	fclose(f);
	m = members_load(path, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(members_count(m), 2);
	members_destroy(&m);
	free(path);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),      cmocka_unit_test(test_uppercase_key),
	    cmocka_unit_test(test_duplicates), cmocka_unit_test(test_unknown_and_missing),
	    cmocka_unit_test(test_bad_values), cmocka_unit_test(test_many_members),
	    cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
