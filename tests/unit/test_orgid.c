/*
 * test_orgid.c: the derived row ids of member organisations (protocol/orgid.c): the same
 * name always gives the same id, other names other ids, every derived id has the derived
 * form (version 8) and a random row id (version 4) never does. Funding-share ids
 * (protocol/shareid.c) are bound to their funder and to nobody else. Both derivations
 * are pinned by known answers (PROTOCOL.md gives the same): a change would change what
 * logged change sets mean.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <cmocka.h>

#include "orgid.h"
#include "rowid.h"
#include "shareid.h"

static void
test_derive_stable(void **state)
{
	uint8_t a[ARR_ROWID_LEN], b[ARR_ROWID_LEN], c[ARR_ROWID_LEN];
	char text[ARR_ROWID_STRLEN + 1];

	(void)state;
	orgid_derive("Gemeente Testdorp", a);
	orgid_derive("Gemeente Testdorp", b);
	orgid_derive("Gemeente Testdorq", c);
	assert_memory_equal(a, b, ARR_ROWID_LEN);
	assert_memory_not_equal(a, c, ARR_ROWID_LEN);
	assert_true(orgid_is_derived(a));
	assert_true(orgid_is_derived(c));
	assert_true(orgid_is_of(a, "Gemeente Testdorp"));
	assert_false(orgid_is_of(a, "Gemeente Testdorq"));
	assert_false(orgid_is_of(a, NULL));
	rowid_format(a, text);
	assert_int_equal(text[14], '8'); /* xxxxxxxx-xxxx-8xxx-... */
	assert_true(strchr("89ab", text[19]) != NULL);
}

static void
test_random_not_derived(void **state)
{
	uint8_t id[ARR_ROWID_LEN];

	(void)state;
	for (int i = 0; i < 256; i++) {
		rowid_new(id);
		assert_false(orgid_is_derived(id));
	}
}

/* Known answers: the derivations of PROTOCOL.md, "Write authorisation". */
static void
test_known_answers(void **state)
{
	static const uint8_t tail[SHAREID_TAIL] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t org[ARR_ROWID_LEN], id[ARR_ROWID_LEN];
	char text[ARR_ROWID_STRLEN + 1];

	(void)state;
	orgid_derive("Gemeente Testdorp", org);
	rowid_format(org, text);
	assert_string_equal(text, "5e5c8ca5-48a9-8e90-9578-4dcea6a9f95a");
	orgid_derive_n("Gemeente Testdorp and more", 17, id);
	assert_memory_equal(org, id, ARR_ROWID_LEN);
	shareid_from(org, tail, id);
	rowid_format(id, text);
	assert_string_equal(text, "93647f37-6159-81cb-8102-030405060708");
}

/* A share id is its funder's: not another's, nor once a byte of it changes. */
static void
test_share_bound(void **state)
{
	uint8_t a[ARR_ROWID_LEN], b[ARR_ROWID_LEN], id[ARR_ROWID_LEN], id2[ARR_ROWID_LEN];

	(void)state;
	orgid_derive("SWV PO Testregio", a);
	orgid_derive("Gemeente Testdorp", b);
	for (int i = 0; i < 64; i++) {
		shareid_new(a, id);
		shareid_new(a, id2);
		assert_memory_not_equal(id, id2, ARR_ROWID_LEN); /* any number of shares */
		assert_true(shareid_is_of(id, a));
		assert_false(shareid_is_of(id, b));
		assert_true(orgid_is_derived(id)); /* version 8, variant 10 */
		id[i % ARR_ROWID_LEN] ^= 0x01;
		assert_false(shareid_is_of(id, a));
	}
	rowid_new(id);
	assert_false(shareid_is_of(id, a));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_derive_stable),
	    cmocka_unit_test(test_random_not_derived),
	    cmocka_unit_test(test_known_answers),
	    cmocka_unit_test(test_share_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
