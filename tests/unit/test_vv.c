/*
 * test_vv.c: version vectors: set/get, order, merge, compare, missing, and the strict
 * wire form (round trip and every refusal), plus a randomised property run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arrerr.h"
#include "testutil.h"
#include "vv.h"

static void
org(uint8_t o[ARR_ORIGIN_LEN], uint8_t n)
{
	memset(o, 0, ARR_ORIGIN_LEN);
	o[0] = n;
	o[ARR_ORIGIN_LEN - 1] = (uint8_t)~n;
}

static struct vv *
mk(const uint8_t *ids, const uint64_t *seqs, size_t n)
{
	struct vv *v = vv_new();
	uint8_t o[ARR_ORIGIN_LEN];

	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		org(o, ids[i]);
		assert_int_equal(vv_set(v, o, seqs[i]), 0);
	}
	return v;
}

static void
test_set_get(void **state)
{
	static const uint8_t ids[] = {9, 3, 7, 1, 5};
	static const uint64_t seqs[] = {90, 30, 70, 10, 50};
	struct vv *v = mk(ids, seqs, 5), *d;
	uint8_t o[ARR_ORIGIN_LEN];

	(void)state;
	assert_int_equal(vv_count(v), 5);
	for (size_t i = 1; i < vv_count(v); i++)
		assert_true(memcmp(vv_at(v, i - 1)->origin, vv_at(v, i)->origin, ARR_ORIGIN_LEN) <
		            0);
	assert_null(vv_at(v, 5));
	org(o, 7);
	assert_true(vv_get(v, o) == 70);
	org(o, 8);
	assert_true(vv_get(v, o) == 0);
	assert_int_equal(vv_set(v, o, 0), 0); /* removing an absent origin */
	assert_int_equal(vv_count(v), 5);
	org(o, 3);
	assert_int_equal(vv_set(v, o, 31), 0);
	assert_true(vv_get(v, o) == 31);
	assert_int_equal(vv_set(v, o, 0), 0);
	assert_true(vv_get(v, o) == 0);
	assert_int_equal(vv_count(v), 4);
	d = vv_dup(v);
	assert_non_null(d);
	assert_int_equal(vv_compare(v, d), VV_EQUAL);
	org(o, 1);
	assert_int_equal(vv_set(d, o, 11), 0);
	assert_true(vv_get(v, o) == 10); /* the copy is independent */
	vv_destroy(&d);
	assert_null(d);
	vv_destroy(&v);
	vv_destroy(&v);
	vv_destroy(NULL);
}

static void
test_max_entries(void **state)
{
	struct vv *v = vv_new(), *w = vv_new();
	uint8_t o[ARR_ORIGIN_LEN];

	(void)state;
	memset(o, 0, sizeof(o));
	for (uint32_t i = 0; i < ARR_VV_MAX_ENTRIES; i++) {
		o[0] = (uint8_t)(i >> 8);
		o[1] = (uint8_t)i;
		assert_int_equal(vv_set(v, o, 1), 0);
	}
	o[2] = 1;
	assert_int_equal(vv_set(v, o, 1), ARR_ETOOBIG);
	assert_int_equal(vv_set(w, o, 1), 0);
	assert_int_equal(vv_merge(v, w), ARR_ETOOBIG);
	assert_int_equal(vv_count(v), ARR_VV_MAX_ENTRIES); /* unchanged on error */
	assert_true(vv_get(v, o) == 0);
	vv_destroy(&v);
	vv_destroy(&w);
}

static void
test_compare_missing_merge(void **state)
{
	static const uint8_t ia[] = {1, 2, 3}, ib[] = {1, 2, 4};
	static const uint64_t sa[] = {5, 5, 5}, sb[] = {5, 7, 2};
	struct vv *a = mk(ia, sa, 3), *b = mk(ib, sb, 3), *e = vv_new(), *m;
	uint8_t o[ARR_ORIGIN_LEN];

	(void)state;
	assert_int_equal(vv_compare(a, b), VV_CONCURRENT);
	assert_int_equal(vv_compare(b, a), VV_CONCURRENT);
	assert_int_equal(vv_compare(e, a), VV_BEFORE);
	assert_int_equal(vv_compare(a, e), VV_AFTER);
	assert_int_equal(vv_compare(e, e), VV_EQUAL);
	assert_true(vv_missing(a, b) == 5);     /* origin 3 */
	assert_true(vv_missing(b, a) == 2 + 2); /* origin 2: 7 - 5, origin 4: 2 */
	assert_true(vv_missing(a, a) == 0);
	assert_true(vv_missing(e, a) == 0);
	m = vv_dup(a);
	assert_int_equal(vv_merge(m, b), 0);
	assert_int_equal(vv_count(m), 4);
	org(o, 2);
	assert_true(vv_get(m, o) == 7);
	org(o, 3);
	assert_true(vv_get(m, o) == 5);
	org(o, 4);
	assert_true(vv_get(m, o) == 2);
	assert_int_equal(vv_compare(a, m), VV_BEFORE);
	assert_int_equal(vv_compare(b, m), VV_BEFORE);
	assert_int_equal(vv_compare(m, a), VV_AFTER);
	assert_true(vv_missing(m, a) == vv_missing(b, a));
	/* b only ahead on a shared origin: before, not concurrent */
	org(o, 3);
	assert_int_equal(vv_set(b, o, 5), 0);
	org(o, 1);
	assert_int_equal(vv_set(b, o, 9), 0);
	assert_int_equal(vv_compare(a, b), VV_BEFORE);
	vv_destroy(&a);
	vv_destroy(&b);
	vv_destroy(&e);
	vv_destroy(&m);
}

static void
test_missing_saturates(void **state)
{
	static const uint8_t ids[] = {1, 2};
	static const uint64_t seqs[] = {UINT64_MAX, UINT64_MAX};
	struct vv *a = mk(ids, seqs, 2), *e = vv_new();

	(void)state;
	assert_true(vv_missing(a, e) == UINT64_MAX);
	vv_destroy(&a);
	vv_destroy(&e);
}

/* Pack v, unpack it, and return the copy (checks the bytes parse as one object). */
static struct vv *
roundtrip(const struct vv *v, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	msgpack_unpacked u;
	size_t off = 0;
	struct vv *out = NULL;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	assert_int_equal(vv_pack(v, &pk), 0);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb->data, sb->size, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, sb->size);
	assert_int_equal(vv_unpack(&u.data, &out), 0);
	msgpack_unpacked_destroy(&u);
	return out;
}

static void
test_pack_roundtrip(void **state)
{
	static const uint8_t ids[] = {200, 3, 77};
	static const uint64_t seqs[] = {1, UINT64_MAX, 128};
	struct vv *v = mk(ids, seqs, 3), *e = vv_new(), *back;
	msgpack_sbuffer sb;

	(void)state;
	msgpack_sbuffer_init(&sb);
	back = roundtrip(v, &sb);
	assert_int_equal(vv_compare(v, back), VV_EQUAL);
	assert_int_equal(vv_count(back), 3);
	/* layout: fixarray 3, then [bin8 32 origin, uint] pairs in origin order */
	assert_int_equal((uint8_t)sb.data[0], 0x93);
	assert_int_equal((uint8_t)sb.data[1], 0x92);
	assert_int_equal((uint8_t)sb.data[2], 0xc4);
	assert_int_equal((uint8_t)sb.data[3], 32);
	assert_int_equal((uint8_t)sb.data[4], 3);
	assert_int_equal((uint8_t)sb.data[36], 0xcf); /* UINT64_MAX as uint 64 */
	vv_destroy(&back);
	msgpack_sbuffer_clear(&sb);
	back = roundtrip(e, &sb);
	assert_int_equal(sb.size, 1);
	assert_int_equal((uint8_t)sb.data[0], 0x90);
	assert_int_equal(vv_count(back), 0);
	vv_destroy(&back);
	msgpack_sbuffer_destroy(&sb);
	vv_destroy(&v);
	vv_destroy(&e);
}

/* Hand-made vectors: pairs of (first origin byte, seq); shape tweaks by kind. */
enum bad_kind { BAD_NONE, BAD_NOT_ARRAY, BAD_PAIR_LEN, BAD_BIN_LEN, BAD_SEQ_TYPE, BAD_PAIR_TYPE };

static int
unpack_made(const uint8_t *ids, const uint64_t *seqs, size_t n, enum bad_kind bad)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	size_t off = 0;
	struct vv *out = (struct vv *)&off; /* must be NULLed on error */
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (bad == BAD_NOT_ARRAY) {
		msgpack_pack_map(&pk, 0);
	} else {
		msgpack_pack_array(&pk, n);
		for (size_t i = 0; i < n; i++) {
			uint8_t o[ARR_ORIGIN_LEN + 1];

			org(o, ids[i]);
			if (bad == BAD_PAIR_TYPE && i == n - 1) {
				msgpack_pack_nil(&pk);
				continue;
			}
			msgpack_pack_array(&pk, bad == BAD_PAIR_LEN && i == n - 1 ? 3 : 2);
			msgpack_pack_bin(&pk, bad == BAD_BIN_LEN ? 33 : 32);
			msgpack_pack_bin_body(&pk, o, bad == BAD_BIN_LEN ? 33 : 32);
			if (bad == BAD_SEQ_TYPE)
				msgpack_pack_int64(&pk, -1);
			else
				msgpack_pack_uint64(&pk, seqs[i]);
			if (bad == BAD_PAIR_LEN && i == n - 1)
				msgpack_pack_nil(&pk);
		}
	}
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
	rc = vv_unpack(&u.data, &out);
	if (rc != 0)
		assert_null(out);
	vv_destroy(&out);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
test_unpack_strict(void **state)
{
	static const uint8_t sorted[] = {1, 2, 3}, unsorted[] = {1, 3, 2}, dup[] = {1, 2, 2};
	static const uint64_t ok[] = {1, 2, 3}, zero[] = {1, 0, 3};

	(void)state;
	assert_int_equal(unpack_made(sorted, ok, 3, BAD_NONE), 0);
	assert_int_equal(unpack_made(unsorted, ok, 3, BAD_NONE), ARR_ENONCANON);
	assert_int_equal(unpack_made(dup, ok, 3, BAD_NONE), ARR_EMALFORMED);
	assert_int_equal(unpack_made(sorted, zero, 3, BAD_NONE), ARR_EMALFORMED);
	assert_int_equal(unpack_made(sorted, ok, 3, BAD_NOT_ARRAY), ARR_ETYPE);
	assert_int_equal(unpack_made(sorted, ok, 3, BAD_PAIR_LEN), ARR_EMALFORMED);
	assert_int_equal(unpack_made(sorted, ok, 3, BAD_BIN_LEN), ARR_EMALFORMED);
	assert_int_equal(unpack_made(sorted, ok, 3, BAD_SEQ_TYPE), ARR_ETYPE);
	assert_int_equal(unpack_made(sorted, ok, 3, BAD_PAIR_TYPE), ARR_ETYPE);
}

static void
test_unpack_too_many(void **state)
{
	msgpack_object o, *items;
	struct vv *out = NULL;

	(void)state;
	items = calloc(ARR_VV_MAX_ENTRIES + 1, sizeof(*items));
	assert_non_null(items);
	o.type = MSGPACK_OBJECT_ARRAY;
	o.via.array.size = ARR_VV_MAX_ENTRIES + 1;
	o.via.array.ptr = items;
	assert_int_equal(vv_unpack(&o, &out), ARR_ETOOBIG);
	assert_null(out);
	free(items);
}

/* Random vectors: merge is commutative, idempotent and an upper bound. */
static void
test_property(void **state)
{
	struct tu_rng r;
	uint64_t seed = tu_seed(0x77);

	(void)state;
	printf("seed %llu\n", (unsigned long long)seed);
	tu_rng_seed(&r, seed);
	for (int round = 0; round < 300; round++) {
		struct vv *a = vv_new(), *b = vv_new(), *ab, *ba, *back;
		uint8_t o[ARR_ORIGIN_LEN];
		msgpack_sbuffer sb;

		for (int i = 0; i < 40; i++) {
			org(o, (uint8_t)tu_rng_below(&r, 30));
			assert_int_equal(
			    vv_set(tu_rng_below(&r, 2) ? a : b, o, tu_rng_below(&r, 6)), 0);
		}
		ab = vv_dup(a);
		ba = vv_dup(b);
		assert_int_equal(vv_merge(ab, b), 0);
		assert_int_equal(vv_merge(ba, a), 0);
		assert_int_equal(vv_compare(ab, ba), VV_EQUAL);
		assert_int_equal(vv_merge(ab, b), 0);
		assert_int_equal(vv_compare(ab, ba), VV_EQUAL);
		assert_true(vv_missing(a, ab) == 0 && vv_missing(b, ab) == 0);
		assert_true(vv_missing(ab, a) == vv_missing(b, a));
		switch (vv_compare(a, b)) {
		case VV_EQUAL:
			assert_true(vv_missing(a, b) == 0 && vv_missing(b, a) == 0);
			break;
		case VV_BEFORE:
			assert_true(vv_missing(a, b) == 0 && vv_missing(b, a) > 0);
			break;
		case VV_AFTER:
			assert_true(vv_missing(a, b) > 0 && vv_missing(b, a) == 0);
			break;
		case VV_CONCURRENT:
			assert_true(vv_missing(a, b) > 0 && vv_missing(b, a) > 0);
			break;
		}
		msgpack_sbuffer_init(&sb);
		back = roundtrip(ab, &sb);
		assert_int_equal(vv_compare(back, ab), VV_EQUAL);
		msgpack_sbuffer_destroy(&sb);
		vv_destroy(&back);
		vv_destroy(&a);
		vv_destroy(&b);
		vv_destroy(&ab);
		vv_destroy(&ba);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_get),
	    cmocka_unit_test(test_max_entries),
	    cmocka_unit_test(test_compare_missing_merge),
	    cmocka_unit_test(test_missing_saturates),
	    cmocka_unit_test(test_pack_roundtrip),
	    cmocka_unit_test(test_unpack_strict),
	    cmocka_unit_test(test_unpack_too_many),
	    cmocka_unit_test(test_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
