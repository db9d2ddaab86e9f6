/*
 * test_utf8.c: the one UTF-8 checker every decoder uses: valid forms pass, overlongs,
 * surrogates, values past U+10FFFF, truncations, stray continuation bytes and NUL fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

static void
test_valid(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("plain", 5));
	assert_true(utf8_valid("\xc3\xa9", 2));         /* e acute, smallest 2-byte lead */
	assert_true(utf8_valid("\xe2\x82\xac", 3));     /* euro sign */
	assert_true(utf8_valid("\xef\xbf\xbd", 3));     /* U+FFFD */
	assert_true(utf8_valid("\xf0\x9f\x98\x80", 4)); /* emoji */
	assert_true(utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF, the last code point */
}

static void
test_invalid(void **state)
{
	(void)state;
	assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	assert_false(utf8_valid("\xc1\xbf", 2));         /* overlong */
	assert_false(utf8_valid("\xe0\x80\xaf", 3));     /* overlong, 3 bytes */
	assert_false(utf8_valid("\xf0\x80\x80\xaf", 4)); /* overlong, 4 bytes */
	assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate U+D800 */
	assert_false(utf8_valid("\xed\xbf\xbf", 3));     /* surrogate U+DFFF */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	assert_false(utf8_valid("\xf5\x80\x80\x80", 4)); /* lead byte past 0xf4 */
	assert_false(utf8_valid("\xe2\x82", 2));         /* cut */
	assert_false(utf8_valid("\x80", 1));             /* stray continuation */
	assert_false(utf8_valid("\xe2\x28\xa1", 3));     /* bad continuation */
	assert_false(utf8_valid("a\0b", 3));             /* NUL is never text */
	assert_false(utf8_valid("\xff", 1));
}

static void
test_decode(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(utf8_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 0x41);
	assert_int_equal(utf8_decode("\xc2\x85", 2, &cp), 2);
	assert_int_equal(cp, 0x85);
	assert_int_equal(utf8_decode("\xe2\x82\xac!", 4, &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(utf8_decode("\xf0\x9f\x98", 3, &cp), 0); /* truncated */
	assert_int_equal(utf8_decode("x", 0, &cp), 0);            /* nothing readable */
	assert_int_equal(utf8_decode("\xe2\x82\xac", 3, NULL), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
