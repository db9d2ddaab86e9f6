/*
 * test_value.c: value constructors and the total order value_cmp() defines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "value.h"

static int
sign(int x)
{
	return x < 0 ? -1 : x > 0 ? 1 : 0;
}

static void
test_constructors(void **state)
{
	struct value v;
	const char text[] = "abc\xc3\xa9";

	(void)state;
	v = value_nil();
	assert_int_equal(v.kind, VALUE_NIL);
	v = value_int(INT64_MIN);
	assert_int_equal(v.kind, VALUE_INT);
	assert_true(v.u.i == INT64_MIN);
	v = value_real(-2.5);
	assert_int_equal(v.kind, VALUE_REAL);
	assert_true(v.u.r == -2.5);
	v = value_text(text);
	assert_int_equal(v.kind, VALUE_TEXT);
	assert_ptr_equal(v.u.b.ptr, text);
	assert_int_equal(v.u.b.len, 5);
	v = value_textn(text, 2);
	assert_int_equal(v.u.b.len, 2);
	v = value_text(NULL);
	assert_int_equal(v.u.b.len, 0);
	v = value_blob("\0\1", 2);
	assert_int_equal(v.kind, VALUE_BLOB);
	assert_int_equal(v.u.b.len, 2);
}

/* Each value is less than every later one; the list is in value_cmp order. */
static void
test_order(void **state)
{
	static const uint8_t b1[] = {0x00}, b2[] = {0x00, 0x00}, b3[] = {0x80};
	struct value vs[] = {
	    value_nil(),          value_int(INT64_MIN),
	    value_int(-1),        value_int(0),
	    value_int(INT64_MAX), value_real(-HUGE_VAL),
	    value_real(-1e300),   value_real(-0.0),
	    value_real(0.0),      value_real(1.5),
	    value_real(HUGE_VAL), value_text(""),
	    value_text("a"),      value_text("ab"),
	    value_text("b"),      value_text("\xc3\xa9"), /* unsigned byte order: 0xc3 after 'b' */
	    value_blob(NULL, 0),  value_blob(b1, 1),
	    value_blob(b2, 2),    value_blob(b3, 1),
	};
	size_t n = sizeof(vs) / sizeof(vs[0]);

	(void)state;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int want = i < j ? -1 : i > j ? 1 : 0;

			if (sign(value_cmp(&vs[i], &vs[j])) != want)
				fail_msg("value_cmp(%zu, %zu) != %d", i, j, want);
		}
}

static void
test_equal_content(void **state)
{
	char a[] = "same", b[] = "same";
	struct value x = value_text(a), y = value_text(b), z = value_blob(a, 4);

	(void)state;
	assert_int_equal(value_cmp(&x, &y), 0);
	assert_true(value_cmp(&x, &z) < 0); /* kind first: text < blob */
	x = value_real(3.0);
	y = value_int(3);
	assert_true(value_cmp(&y, &x) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_constructors),
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_equal_content),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
