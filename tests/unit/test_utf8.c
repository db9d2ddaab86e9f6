/*
 * test_utf8.c: the one UTF-8 checker every decoder uses: valid forms pass, overlongs,
 * surrogates, values past U+10FFFF, truncations, stray continuation bytes and NUL fail.
 */
#include <setjmp.h>
#include <stdbool.h>
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

/* The byte-at-a-time definition utf8_valid() had before its ASCII fast path. */
static bool
ref_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t len;

		if (s[i] == 0 || (len = utf8_decode(s + i, n - i, NULL)) == 0)
			return false;
		i += len;
	}
	return true;
}

/*
 * Every offset mod 8 and every length around a word: a sequence (valid, invalid, cut or
 * NUL) put at offset k of an ASCII string of length n gives the reference's answer, and
 * the answer the sequence alone implies.
 */
static void
test_word_offsets(void **state)
{
	static const struct {
		const char *b;
		size_t n;
		bool ok;
	} seqs[] = {
	    {"\xc3\xa9", 2, true},
	    {"\xe2\x82\xac", 3, true},
	    {"\xf0\x9f\x98\x80", 4, true},
	    {"\xf4\x8f\xbf\xbf", 4, true},
	    {"\x7f", 1, true},
	    {"\0", 1, false},
	    {"\xc0\xaf", 2, false},
	    {"\xe0\x80\xaf", 3, false},
	    {"\xed\xa0\x80", 3, false},
	    {"\xf4\x90\x80\x80", 4, false},
	    {"\x80", 1, false},
	    {"\xe2\x28\xa1", 3, false},
	    {"\xff", 1, false},
	    {"\xc3\xa9\0", 3, false},
	    {"\xf0\x9f\x98", 3, false},
	};
	unsigned char buf[40];

	(void)state;
	for (size_t q = 0; q < sizeof(seqs) / sizeof(seqs[0]); q++) {
		for (size_t n = seqs[q].n; n <= 32; n++) {
			for (size_t k = 0; k + seqs[q].n <= n; k++) {
				memset(buf, 'a', sizeof(buf));
				memcpy(buf + k, seqs[q].b, seqs[q].n);
				assert_int_equal(utf8_valid(buf, n), seqs[q].ok);
				assert_int_equal(utf8_valid(buf, n), ref_valid(buf, n));
			}
		}
		/* Cut at every length: a sequence straddling the end of the buffer. */
		for (size_t k = 0; k < 24; k++) {
			memset(buf, 'a', sizeof(buf));
			memcpy(buf + k, seqs[q].b, seqs[q].n);
			for (size_t n = k; n < k + seqs[q].n; n++)
				assert_int_equal(utf8_valid(buf, n), ref_valid(buf, n));
		}
	}
}

/* NUL at every position of strings up to 40 bytes, including right after a word. */
static void
test_nul_anywhere(void **state)
{
	unsigned char buf[40];

	(void)state;
	for (size_t n = 1; n <= sizeof(buf); n++) {
		for (size_t k = 0; k < n; k++) {
			memset(buf, 'z', sizeof(buf));
			buf[k] = 0;
			assert_false(utf8_valid(buf, n));
		}
		memset(buf, 'z', sizeof(buf));
		assert_true(utf8_valid(buf, n));
	}
}

/* Random strings over an alphabet heavy in the interesting bytes agree with the reference. */
static void
test_random_vs_reference(void **state)
{
	static const unsigned char alpha[] = {'a',  'Z',  0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90,
	                                      0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed,
	                                      0xef, 0xf0, 0xf4, 0xf5, 0xff, ' ',  'q',  '0'};
	unsigned char buf[64];
	uint32_t x = 12345;
	size_t valid = 0;

	(void)state;
	for (int iter = 0; iter < 200000; iter++) {
		size_t n;

		x = x * 1103515245u + 12345u;
		n = (x >> 16) % sizeof(buf);
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			/* mostly ASCII, as real text is */
			buf[i] = (x >> 16) % 4 == 0 ? alpha[(x >> 20) % sizeof(alpha)]
			                            : (unsigned char)('a' + (x >> 20) % 26);
		}
		assert_int_equal(utf8_valid(buf, n), ref_valid(buf, n));
		valid += ref_valid(buf, n);
	}
	assert_true(valid > 1000); /* both answers were exercised */
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
	    cmocka_unit_test(test_valid),        cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_decode),       cmocka_unit_test(test_word_offsets),
	    cmocka_unit_test(test_nul_anywhere), cmocka_unit_test(test_random_vs_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
