/*
 * test_mpread.c: the strict MessagePack reader (protocol/mpread.h): every typed read
 * on every form, truncation at every byte, lengths and counts past the end, limits,
 * wrong types (checked on the tag, before the payload), the shortest-form record of
 * MPR_CANONICAL against MPR_LAX, and mpr_check()'s walk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arrerr.h"
#include "mpread.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* Which read a case makes. */
enum op { OP_UINT, OP_INT, OP_BOOL, OP_ARRAY, OP_STR, OP_BIN, OP_NEXT };

/* Run one read on buf in mode; the value read (or the length) goes to *v. */
static int
run(enum op op, const uint8_t *buf, size_t len, enum mpr_mode mode, uint64_t *v, bool *nc,
    size_t *pos)
{
	struct mpr r;
	struct mpr_obj m;
	const uint8_t *p;
	int64_t i = 0;
	bool b = false;
	size_t n = 0;
	int rc = ARR_EINVAL;

	mpr_init(&r, buf, len, mode);
	*v = 0;
	switch (op) {
	case OP_UINT:
		rc = mpr_uint(&r, UINT64_MAX, v);
		break;
	case OP_INT:
		rc = mpr_int(&r, &i);
		*v = (uint64_t)i;
		break;
	case OP_BOOL:
		rc = mpr_bool(&r, &b);
		*v = b;
		break;
	case OP_ARRAY:
		rc = mpr_array(&r, &n);
		*v = n;
		break;
	case OP_STR:
	case OP_BIN:
		rc = mpr_bytes(&r, op == OP_STR ? MPR_STR : MPR_BIN, &p, &n);
		*v = n;
		break;
	case OP_NEXT:
		rc = mpr_next(&r, &m);
		*v = m.kind == MPR_NEG ? (uint64_t)m.i : m.kind == MPR_POS ? m.u : m.n;
		break;
	}
	*nc = r.nc;
	*pos = r.pos;
	return rc;
}

/*
 * A well-formed object: read whole, it gives want with shortest telling whether
 * MPR_CANONICAL leaves nc clear; MPR_LAX never sets nc. Every proper prefix is
 * ARR_EMALFORMED in both modes.
 */
static void
expect_ok(enum op op, const uint8_t *buf, size_t len, uint64_t want, bool shortest)
{
	uint64_t v;
	size_t pos;
	bool nc;

	assert_int_equal(run(op, buf, len, MPR_CANONICAL, &v, &nc, &pos), 0);
	assert_int_equal(v, want);
	assert_int_equal(pos, len);
	if (nc != !shortest)
		print_error("tag 0x%02x: nc %d, want %d\n", buf[0], nc, !shortest);
	assert_int_equal(nc, !shortest);
	assert_int_equal(run(op, buf, len, MPR_LAX, &v, &nc, &pos), 0);
	assert_int_equal(v, want);
	assert_false(nc);
	for (size_t cut = 0; cut < len; cut++) {
		assert_int_equal(run(op, buf, cut, MPR_CANONICAL, &v, &nc, &pos), ARR_EMALFORMED);
		assert_int_equal(run(op, buf, cut, MPR_LAX, &v, &nc, &pos), ARR_EMALFORMED);
	}
}

static void
expect_rc(enum op op, enum mpr_mode mode, const uint8_t *buf, size_t len, int want)
{
	uint64_t v;
	size_t pos;
	bool nc;

	assert_int_equal(run(op, buf, len, mode, &v, &nc, &pos), want);
}

static void
test_uint(void **state)
{
	(void)state;
	expect_ok(OP_UINT, B(0x00), 0, true);
	expect_ok(OP_UINT, B(0x7f), 127, true);
	expect_ok(OP_UINT, B(0xcc, 0x80), 128, true);
	expect_ok(OP_UINT, B(0xcc, 0x7f), 127, false);
	expect_ok(OP_UINT, B(0xcd, 0x01, 0x00), 256, true);
	expect_ok(OP_UINT, B(0xcd, 0x00, 0xff), 255, false);
	expect_ok(OP_UINT, B(0xce, 0x00, 0x01, 0x00, 0x00), 65536, true);
	expect_ok(OP_UINT, B(0xce, 0x00, 0x00, 0xff, 0xff), 65535, false);
	expect_ok(OP_UINT, B(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), UINT64_MAX,
	          true);
	expect_ok(OP_UINT, B(0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), UINT32_MAX, false);
	/* An int form holding a value >= 0 is a uint only the way msgpack-c types it. */
	expect_rc(OP_UINT, MPR_LAX, B(0xd0, 0x05), ARR_ETYPE);
	expect_ok(OP_NEXT, B(0xd0, 0x05), 5, false);
	{
		struct mpr r;
		uint64_t u = 0;

		mpr_init(&r, B(0xd1, 0x01, 0x00), MPR_CANONICAL);
		assert_int_equal(mpr_uint(&r, UINT64_MAX, &u), 0);
		assert_int_equal(u, 256);
		assert_true(r.nc);
	}
	expect_rc(OP_UINT, MPR_CANONICAL, B(0xd0, 0xff), ARR_ETYPE);
	expect_rc(OP_UINT, MPR_CANONICAL, B(0xff), ARR_ETYPE);
	/* The limit. */
	{
		struct mpr r;
		uint64_t u = 7;

		mpr_init(&r, B(0xcd, 0x01, 0x00), MPR_LAX);
		assert_int_equal(mpr_uint(&r, 255, &u), ARR_ETOOBIG);
		assert_int_equal(u, 7);
		mpr_init(&r, B(0xcc, 0xff), MPR_LAX);
		assert_int_equal(mpr_uint(&r, 255, &u), 0);
		assert_int_equal(u, 255);
	}
}

static void
test_int(void **state)
{
	(void)state;
	expect_ok(OP_INT, B(0x05), 5, true);
	expect_ok(OP_INT, B(0xe0), (uint64_t)INT64_C(-32), true);
	expect_ok(OP_INT, B(0xd0, 0xdf), (uint64_t)INT64_C(-33), true);
	expect_ok(OP_INT, B(0xd0, 0xe0), (uint64_t)INT64_C(-32), false);
	expect_ok(OP_INT, B(0xd1, 0xff, 0x7f), (uint64_t)INT64_C(-129), true);
	expect_ok(OP_INT, B(0xd1, 0xff, 0x80), (uint64_t)INT64_C(-128), false);
	expect_ok(OP_INT, B(0xd2, 0xff, 0xff, 0x7f, 0xff), (uint64_t)INT64_C(-32769), true);
	expect_ok(OP_INT, B(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), (uint64_t)INT64_MIN, true);
	expect_ok(OP_INT, B(0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff),
	          (uint64_t)(INT64_C(-2147483648) - 1), true);
	expect_ok(OP_INT, B(0xd3, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0),
	          (uint64_t)INT64_C(-2147483648), false);
	expect_ok(OP_INT, B(0xd0, 0x01), 1, false); /* >= 0 belongs in a uint form */
	expect_ok(OP_INT, B(0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), INT64_MAX, true);
	expect_rc(OP_INT, MPR_LAX, B(0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0), ARR_ETYPE);
	expect_ok(OP_NEXT, B(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), (uint64_t)INT64_MIN, true);
}

static void
test_bool_and_tags(void **state)
{
	(void)state;
	expect_ok(OP_BOOL, B(0xc3), 1, true);
	expect_ok(OP_BOOL, B(0xc2), 0, true);
	expect_rc(OP_BOOL, MPR_LAX, B(0xc0), ARR_ETYPE);
	expect_rc(OP_BOOL, MPR_LAX, B(0x01), ARR_ETYPE);
	/* 0xc1 is never used: malformed for every read. */
	for (int op = OP_UINT; op <= OP_NEXT; op++) {
		expect_rc((enum op)op, MPR_LAX, B(0xc1), ARR_EMALFORMED);
		expect_rc((enum op)op, MPR_CANONICAL, B(0xc1), ARR_EMALFORMED);
		expect_rc((enum op)op, MPR_LAX, NULL, 0, ARR_EMALFORMED);
	}
}

static void
test_bytes(void **state)
{
	uint8_t buf[70000];

	(void)state;
	expect_ok(OP_STR, B(0xa3, 'a', 'b', 'c'), 3, true);
	expect_ok(OP_STR, B(0xa0), 0, true);
	expect_ok(OP_STR, B(0xd9, 0x01, 'x'), 1, false);
	expect_ok(OP_BIN, B(0xc4, 0x01, 'x'), 1, true);
	expect_ok(OP_BIN, B(0xc5, 0x00, 0x01, 'x'), 1, false);
	expect_ok(OP_BIN, B(0xc6, 0x00, 0x00, 0x00, 0x01, 'x'), 1, false);
	/* The boundaries of each form. */
	memset(buf, 'y', sizeof(buf));
	buf[0] = 0xd9, buf[1] = 32;
	expect_ok(OP_STR, buf, 2 + 32, 32, true);
	buf[0] = 0xda, buf[1] = 0x00, buf[2] = 0xff;
	expect_ok(OP_STR, buf, 3 + 255, 255, false);
	buf[0] = 0xda, buf[1] = 0x01, buf[2] = 0x00;
	expect_ok(OP_STR, buf, 3 + 256, 256, true);
	buf[0] = 0xc5, buf[1] = 0x01, buf[2] = 0x00;
	expect_ok(OP_BIN, buf, 3 + 256, 256, true);
	buf[0] = 0xdb, buf[1] = 0x00, buf[2] = 0x00, buf[3] = 0xff, buf[4] = 0xff;
	expect_ok(OP_STR, buf, 5 + 65535, 65535, false);
	buf[0] = 0xc6, buf[1] = 0x00, buf[2] = 0x01, buf[3] = 0x00, buf[4] = 0x00;
	expect_ok(OP_BIN, buf, 5 + 65536, 65536, true);
	/* A length past the end, however large. */
	expect_rc(OP_BIN, MPR_LAX, B(0xc6, 0xff, 0xff, 0xff, 0xff, 'x'), ARR_EMALFORMED);
	expect_rc(OP_STR, MPR_LAX, B(0xdb, 0xff, 0xff, 0xff, 0xff, 'x'), ARR_EMALFORMED);
	/* str is not bin; the type is judged on the tag, before the payload. */
	expect_rc(OP_BIN, MPR_LAX, B(0xa3, 'a'), ARR_ETYPE);
	expect_rc(OP_STR, MPR_LAX, B(0xc4, 0x09), ARR_ETYPE);
	expect_rc(OP_UINT, MPR_LAX, B(0xa5), ARR_ETYPE);
	/* mpr_next reads the payload: the same bytes are malformed there. */
	expect_rc(OP_NEXT, MPR_LAX, B(0xa5), ARR_EMALFORMED);
	/* Exact-length bin. */
	{
		struct mpr r;
		uint8_t out[2] = {0};

		mpr_init(&r, B(0xc4, 0x02, 'h', 'i'), MPR_LAX);
		assert_int_equal(mpr_fixbin(&r, 2, out), 0);
		assert_memory_equal(out, "hi", 2);
		mpr_init(&r, B(0xc4, 0x01, 'h'), MPR_LAX);
		assert_int_equal(mpr_fixbin(&r, 2, out), ARR_EMALFORMED);
	}
}

static void
test_text(void **state)
{
	char out[5];
	struct mpr r;

	(void)state;
	mpr_init(&r, B(0xa4, 't', 'e', 'x', 't'), MPR_LAX);
	assert_int_equal(mpr_text(&r, 4, out), 0);
	assert_string_equal(out, "text");
	mpr_init(&r, B(0xa4, 't', 'e', 'x', 't'), MPR_LAX);
	assert_int_equal(mpr_text(&r, 3, out), ARR_ETOOBIG);
	mpr_init(&r, B(0xa2, 0xc3, 0x28), MPR_LAX);
	assert_int_equal(mpr_text(&r, 4, out), ARR_EMALFORMED);
	mpr_init(&r, B(0xc4, 0x00), MPR_LAX);
	assert_int_equal(mpr_text(&r, 4, out), ARR_ETYPE);
}

static void
test_array(void **state)
{
	(void)state;
	expect_ok(OP_ARRAY, B(0x90), 0, true);
	expect_ok(OP_ARRAY, B(0xdc, 0x00, 0x00), 0, false);
	expect_ok(OP_ARRAY, B(0xdd, 0x00, 0x00, 0x00, 0x00), 0, false);
	expect_rc(OP_ARRAY, MPR_LAX, B(0x80), ARR_ETYPE);
	expect_rc(OP_ARRAY, MPR_LAX, B(0xde, 0x00, 0x00), ARR_ETYPE);
	/* The count must fit in the bytes that remain. */
	expect_rc(OP_ARRAY, MPR_LAX, B(0x92, 0x01), ARR_EMALFORMED);
	expect_rc(OP_ARRAY, MPR_LAX, B(0x92, 0x01, 0x02), 0);
	expect_rc(OP_ARRAY, MPR_LAX, B(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01), ARR_EMALFORMED);
	{
		uint8_t buf[3 + 16] = {0xdc, 0x00, 0x10};
		uint64_t v;
		size_t pos;
		bool nc;

		assert_int_equal(run(OP_ARRAY, buf, sizeof(buf), MPR_CANONICAL, &v, &nc, &pos), 0);
		assert_int_equal(v, 16);
		assert_false(nc);
		buf[2] = 0x0f;
		assert_int_equal(run(OP_ARRAY, buf, sizeof(buf), MPR_CANONICAL, &v, &nc, &pos), 0);
		assert_true(nc);
	}
	/* mpr_next leaves the elements, and their count, to the caller. */
	expect_ok(OP_NEXT, B(0xdd, 0x00, 0x01, 0x00, 0x00), 65536, true);
}

static void
test_next_kinds(void **state)
{
	static const struct {
		uint8_t buf[9];
		size_t len;
		enum mpr_kind kind;
	} cases[] = {
	    {{0xc0}, 1, MPR_NIL},
	    {{0xc2}, 1, MPR_BOOL},
	    {{0xca, 0, 0, 0, 0}, 5, MPR_F32},
	    {{0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}, 9, MPR_F64},
	    {{0x81, 0x01, 0x02}, 1, MPR_OTHER},
	    {{0xde, 0x00, 0x01}, 1, MPR_OTHER},
	    {{0xd4, 0x01, 0x02}, 1, MPR_OTHER},
	    {{0x95}, 1, MPR_ARRAY},
	    {{0xa1, 'a'}, 2, MPR_STR},
	    {{0xc4, 0x00}, 2, MPR_BIN},
	    {{0xff}, 1, MPR_NEG},
	    {{0x2a}, 1, MPR_POS},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mpr r;
		struct mpr_obj m;

		mpr_init(&r, cases[i].buf, cases[i].len, MPR_CANONICAL);
		assert_int_equal(mpr_next(&r, &m), 0);
		assert_int_equal(m.kind, cases[i].kind);
		assert_int_equal(r.pos, cases[i].len);
		assert_false(r.nc);
	}
	{
		struct mpr r;
		struct mpr_obj m;

		mpr_init(&r, B(0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), MPR_LAX);
		assert_int_equal(mpr_next(&r, &m), 0);
		assert_true(m.f == 1.0);
		mpr_init(&r, B(0xca, 0, 0, 0), MPR_LAX);
		assert_int_equal(mpr_next(&r, &m), ARR_EMALFORMED);
	}
}

static void
test_check(void **state)
{
	uint8_t deep[MPR_MAX_DEPTH + 2];

	(void)state;
	assert_int_equal(mpr_check(B(0x92, 0x01, 0x02)), 0);
	assert_int_equal(mpr_check(B(0x92, 0x01, 0x02, 0x03)), ARR_EMALFORMED);
	assert_int_equal(mpr_check(B(0x92, 0x01)), ARR_EMALFORMED);
	assert_int_equal(mpr_check(B(0x81, 0x01, 0x02)), 0);
	assert_int_equal(mpr_check(B(0x81, 0x01)), ARR_EMALFORMED);
	assert_int_equal(mpr_check(B(0xc1)), ARR_EMALFORMED);
	assert_int_equal(mpr_check(NULL, 0), ARR_EMALFORMED);
	assert_int_equal(mpr_check(B(0xdd, 0xff, 0xff, 0xff, 0xff)), ARR_EMALFORMED);
	assert_int_equal(mpr_check(B(0xc7, 0x01, 0x05, 0xaa)), 0); /* ext 8 */
	assert_int_equal(mpr_check(B(0xc7, 0x02, 0x05, 0xaa)), ARR_EMALFORMED);
	assert_int_equal(mpr_check(B(0xd8, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
	                 0);                                             /* fixext 16 */
	assert_int_equal(mpr_check(B(0xdf, 0, 0, 0, 1, 0xc0, 0xc0)), 0); /* map 32 */
	assert_int_equal(mpr_check(B(0xca, 0, 0, 0, 0)), 0);
	assert_int_equal(mpr_check(B(0xca, 0, 0, 0)), ARR_EMALFORMED);
	/* Nesting: MPR_MAX_DEPTH arrays around a nil, not one more. */
	memset(deep, 0x91, sizeof(deep));
	deep[sizeof(deep) - 1] = 0xc0;
	assert_int_equal(mpr_check(deep + 1, sizeof(deep) - 1), 0);
	assert_int_equal(mpr_check(deep, sizeof(deep)), ARR_EMALFORMED);
	/* Every proper prefix of a good object is refused. */
	{
		static const uint8_t good[] = {0x93, 0xa2, 'h',  'i',  0xc4, 0x01,
		                               0x00, 0x81, 0xcd, 0x01, 0x00, 0xc3};

		assert_int_equal(mpr_check(good, sizeof(good)), 0);
		for (size_t cut = 0; cut < sizeof(good); cut++)
			assert_int_equal(mpr_check(good, cut), ARR_EMALFORMED);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uint),          cmocka_unit_test(test_int),
	    cmocka_unit_test(test_bool_and_tags), cmocka_unit_test(test_bytes),
	    cmocka_unit_test(test_text),          cmocka_unit_test(test_array),
	    cmocka_unit_test(test_next_kinds),    cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
