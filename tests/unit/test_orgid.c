/*
 * test_orgid.c: the derived row ids of member organisations (protocol/orgid.c): the same
 * name always gives the same id, other names other ids, every derived id has the derived
 * form (version 8) and a random row id (version 4) never does.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_derive_stable),
	    cmocka_unit_test(test_random_not_derived),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
