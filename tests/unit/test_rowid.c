/*
 * test_rowid.c: random version 4 row ids and their one strict text form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arrerr.h"
#include "rowid.h"

#define N_IDS 2000

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, ARR_ROWID_LEN);
}

static void
test_new_random_v4(void **state)
{
	static uint8_t ids[N_IDS][ARR_ROWID_LEN];

	(void)state;
	for (size_t i = 0; i < N_IDS; i++) {
		rowid_new(ids[i]);
		assert_int_equal(ids[i][6] >> 4, 4);      /* version 4: random */
		assert_int_equal(ids[i][8] & 0xc0, 0x80); /* RFC 4122 variant */
	}
	qsort(ids, N_IDS, ARR_ROWID_LEN, cmp_id);
	for (size_t i = 1; i < N_IDS; i++)
		assert_true(memcmp(ids[i - 1], ids[i], ARR_ROWID_LEN) != 0);
}

static void
test_format_parse(void **state)
{
	static const uint8_t id[ARR_ROWID_LEN] = {0x5f, 0x0c, 0x6b, 0x1e, 0x8a, 0x3d, 0x4c, 0x2b,
	                                          0x9e, 0x71, 0x2d, 0x4a, 0x6c, 0x8b, 0x0f, 0x13};
	char text[ARR_ROWID_STRLEN + 1];
	uint8_t back[ARR_ROWID_LEN];

	(void)state;
	rowid_format(id, text);
	assert_string_equal(text, "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13");
	assert_int_equal(rowid_parse(text, back), 0);
	assert_memory_equal(back, id, ARR_ROWID_LEN);
	assert_true(rowid_valid_text(text));
	for (int i = 0; i < 100; i++) {
		uint8_t r[ARR_ROWID_LEN];

		rowid_new(r);
		rowid_format(r, text);
		assert_int_equal(rowid_parse(text, back), 0);
		assert_memory_equal(back, r, ARR_ROWID_LEN);
	}
}

static void
test_parse_strict(void **state)
{
	static const char *const bad[] = {
	    "",
	    "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f1",   /* short */
	    "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f133", /* long */
	    "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13 ", /* trailing space */
	    "5F0C6B1E-8A3D-4C2B-9E71-2D4A6C8B0F13",  /* upper case: not the one form */
	    "5f0c6b1e8a3d-4c2b-9e71-2d4a6c8b0f13a",  /* dash missing */
	    "5f0c6b1e-8a3d-4c2b-9e71_2d4a6c8b0f13",  /* wrong separator */
	    "5f0c6b1g-8a3d-4c2b-9e71-2d4a6c8b0f13",  /* not hex */
	    "{5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f1}",
	    "5f0c6b1e8a3d4c2b9e712d4a6c8b0f13",
	};
	uint8_t out[ARR_ROWID_LEN], zero[ARR_ROWID_LEN] = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0, sizeof(out));
		if (rowid_parse(bad[i], out) != ARR_EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_memory_equal(out, zero, sizeof(out)); /* untouched on error */
		assert_false(rowid_valid_text(bad[i]));
	}
	assert_int_equal(rowid_parse(NULL, out), ARR_EINVAL);
	assert_false(rowid_valid_text(NULL));
}

/* The range-test parser rowid_parse() had before its table look-up. */
static int
ref_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
ref_parse(const char *text, uint8_t out[ARR_ROWID_LEN])
{
	size_t o = 0;

	for (size_t i = 0; i < ARR_ROWID_STRLEN; i += 2) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return ARR_EINVAL;
			i++;
		}
		if ((hi = ref_hexval(text[i])) < 0 || (lo = ref_hexval(text[i + 1])) < 0)
			return ARR_EINVAL;
		out[o++] = (uint8_t)(hi << 4 | lo);
	}
	return text[ARR_ROWID_STRLEN] == '\0' ? 0 : ARR_EINVAL;
}

/*
 * Every byte value at every position of a valid id: the table parser agrees with the
 * reference, in both its NUL-terminated and its counted form.
 */
static void
test_parse_every_byte(void **state)
{
	static const char good[] = "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13";
	char text[ARR_ROWID_STRLEN + 1];
	uint8_t a[ARR_ROWID_LEN], b[ARR_ROWID_LEN];
	size_t accepted = 0;

	(void)state;
	for (size_t pos = 0; pos < ARR_ROWID_STRLEN; pos++) {
		for (int c = 1; c < 256; c++) {
			int want;

			memcpy(text, good, sizeof(text));
			text[pos] = (char)c;
			want = ref_parse(text, b);
			assert_int_equal(rowid_parse(text, a), want);
			assert_int_equal(rowid_parsen(text, ARR_ROWID_STRLEN, a), want);
			if (want == 0) {
				assert_memory_equal(a, b, ARR_ROWID_LEN);
				accepted++;
			}
		}
	}
	/* 16 digits at each of 32 places, a dash at each of 4 */
	assert_int_equal(accepted, 32 * 16 + 4);
	assert_int_equal(rowid_parsen(good, ARR_ROWID_STRLEN - 1, a), ARR_EINVAL);
	assert_int_equal(rowid_parsen(good, ARR_ROWID_STRLEN + 1, a), ARR_EINVAL);
	assert_int_equal(rowid_parsen(NULL, ARR_ROWID_STRLEN, a), ARR_EINVAL);
}

/* Short strings in buffers of exactly their size: the parser stops at the NUL (ASan). */
static void
test_parse_no_overread(void **state)
{
	static const char good[] = "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13";
	uint8_t out[ARR_ROWID_LEN];

	(void)state;
	for (size_t n = 0; n < ARR_ROWID_STRLEN; n++) {
		char *p = malloc(n + 1);

		assert_non_null(p);
		memcpy(p, good, n);
		p[n] = '\0';
		assert_int_equal(rowid_parse(p, out), ARR_EINVAL);
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_random_v4),     cmocka_unit_test(test_format_parse),
	    cmocka_unit_test(test_parse_strict),      cmocka_unit_test(test_parse_every_byte),
	    cmocka_unit_test(test_parse_no_overread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
