/*
 * test_changeset.c: building change sets of wire format 4: decode(build(x)) == x, the
 * struct changeset_build() makes equal to what decoding its bytes gives, signing apart,
 * every single-bit flip caught by the signature or the body hash, truncation at every
 * length, header-only stubs (changeset_strip), refusals (also of the part rules), the first
 * worked example of PROTOCOL.md byte for byte, and the decoder against the reference decoder on
 * mutations of a built change set and on hostile inputs. Decoding field by field:
 * test_changeset_decode.c; sealed bodies:
 * test_changeset_seal.c; data bodies by row, their size arithmetic, splitting and packing
 * within the limits (changeset_fit, the budget): test_changeset_rows.c.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>
#include <sodium.h>

#include "arrerr.h"
#include "changeset.h"
#include "changeset_ref.h"
#include "changeset_ref_int.h"
#include "hlc.h"
#include "testutil.h"

#define EXAMPLE_ROW "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13"
#define EXAMPLE_HLC hlc_make(1764000000000ull, 0)

/* one byte more than a scope, for a scope one byte too long */
static const uint8_t case_scope[ARR_SCOPE_LEN + 1] = {0x5c, 1,  2,  3,  4,  5,  6,  7, 8,
                                                      9,    10, 11, 12, 13, 14, 15, 16};

/* The first worked example of PROTOCOL.md: a region change set. */
static struct changeset *
build_example(struct nodekey *k)
{
	struct cs_header h = tu_cs_header(1, 0);
	struct cs_op ops[2];
	struct changeset *cs = NULL;

	ops[0] = tu_cs_op("organisation", EXAMPLE_ROW, "kind", value_text("gemeente"));
	ops[1] = tu_cs_op("organisation", EXAMPLE_ROW, "code", value_text("9901"));
	assert_int_equal(changeset_build_region(k, &h, ops, 2, &cs), 0);
	return cs;
}

#define expect_same_as_reference changeset_ref_compare

/*
 * Built unsigned, the change set carries a zero signature that does not verify;
 * changeset_sign() makes it byte for byte what changeset_build() gives (Ed25519 is
 * deterministic), and only the key whose origin it names may sign it.
 */
static void
test_build_then_sign(void **state)
{
	struct nodekey *k = tu_key(1), *other = tu_key(2);
	struct cs_header h = tu_cs_header(1, 0);
	struct cs_op ops[1] = {
	    tu_cs_op("organisation", EXAMPLE_ROW, "name", value_text("Gemeente"))};
	struct changeset *signed_cs = NULL, *cs = NULL;
	uint8_t zero[ARR_SIG_LEN] = {0};

	(void)state;
	assert_int_equal(changeset_build_region(k, &h, ops, 1, &signed_cs), 0);
	{
		struct cs_part_in part = {.kind = CS_DATA, .ops = ops, .nops = 1};

		assert_int_equal(changeset_build_unsigned(k, &h, &part, 1, &cs), 0);
	}
	assert_int_equal(cs->rawlen, signed_cs->rawlen);
	assert_memory_equal(cs->sig, zero, ARR_SIG_LEN);
	assert_int_equal(changeset_verify(cs), ARR_EBADSIG);
	assert_int_equal(changeset_sign(cs, other), ARR_EINVAL);
	assert_memory_equal(cs->sig, zero, ARR_SIG_LEN);
	assert_int_equal(changeset_sign(cs, k), 0);
	assert_int_equal(changeset_verify(cs), 0);
	assert_memory_equal(cs->raw, signed_cs->raw, signed_cs->rawlen);
	changeset_destroy(&cs);
	changeset_destroy(&signed_cs);
	nodekey_destroy(&k);
	nodekey_destroy(&other);
}

/* decode(build(x)) == x, and build's own struct is what decoding its bytes gives. */
static void
test_roundtrip(void **state)
{
	struct nodekey *k = tu_key(3);
	static const uint8_t blob[] = {0x00, 0xff, 0x10};
	char *big = malloc(ARR_VALUE_MAX), author[ARR_ORG_MAX + 1];
	struct cs_header h = tu_cs_header(UINT64_MAX, 0);
	struct cs_op ops[16];
	struct changeset *cs = NULL, *back = NULL;
	uint8_t *copy;
	size_t n = 0;

	(void)state;
	memset(big, 'x', ARR_VALUE_MAX);
	memset(author, 'a', ARR_ORG_MAX);
	author[ARR_ORG_MAX] = '\0';
	h.author_org = author;
	h.hlc = UINT64_MAX;
	h.schema_version = UINT32_MAX;
	ops[n++] = tu_cs_op("child", EXAMPLE_ROW, "ref", value_text("TD-2016-001"));
	ops[n++] = tu_cs_op("child", EXAMPLE_ROW, "_deleted", value_int(0));
	ops[n++] = tu_cs_op("#10", EXAMPLE_ROW, "#3", value_nil());
	ops[n++] = tu_cs_op("#10", EXAMPLE_ROW, "#3", value_int(INT64_MIN));
	ops[n++] = tu_cs_op("#10", EXAMPLE_ROW, "#3", value_int(INT64_MAX));
	ops[n++] = tu_cs_op("#10", EXAMPLE_ROW, "#3", value_int(-33));
	ops[n++] = tu_cs_op("#10", EXAMPLE_ROW, "#3", value_real(-0.0));
	ops[n++] = tu_cs_op("#10", EXAMPLE_ROW, "#3", value_real(-HUGE_VAL));
	ops[n++] = tu_cs_op("#10", EXAMPLE_ROW, "#3", value_real(0.1));
	ops[n++] =
	    tu_cs_op("#10", EXAMPLE_ROW, "#3", value_text("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
	ops[n++] = tu_cs_op("#10", EXAMPLE_ROW, "#3", value_text(""));
	ops[n++] = tu_cs_op("#10", EXAMPLE_ROW, "#3", value_blob(blob, sizeof(blob)));
	ops[n++] = tu_cs_op("#10", EXAMPLE_ROW, "#3", value_blob(NULL, 0));
	ops[n++] = tu_cs_op("#255", EXAMPLE_ROW, "#255", value_textn(big, ARR_VALUE_MAX));
	ops[n++] = tu_cs_op("arrangement", EXAMPLE_ROW, "#128", value_blob(big, ARR_VALUE_MAX));
	assert_int_equal(changeset_build_region(k, &h, ops, n, &cs), 0);
	assert_int_equal(changeset_verify(cs), 0);
	copy = malloc(cs->rawlen);
	memcpy(copy, cs->raw, cs->rawlen);
	assert_int_equal(changeset_decode(copy, cs->rawlen, &back), 0);
	memset(copy, 0x5a, cs->rawlen); /* the decoded set owns its memory */
	free(copy);
	assert_int_equal(changeset_verify(back), 0);
	assert_true(changeset_same(cs, back));
	assert_memory_equal(back->origin, nodekey_public(k), ARR_ORIGIN_LEN);
	assert_true(back->h.seq == UINT64_MAX && back->h.hlc == UINT64_MAX);
	assert_true(back->h.schema_version == UINT32_MAX && back->nparts == 1);
	assert_true(back->parts[0].kind == CS_DATA && back->parts[0].key_id == 0 &&
	            changeset_scope_is_region(back->parts[0].scope));
	assert_string_equal(back->h.author_org, author);
	assert_ptr_not_equal(cs->h.author_org, author); /* owned, not borrowed */
	assert_int_equal(back->parts[0].body_len, back->parts[0].bodylen);
	assert_null(back->parts[0].policy);
	assert_int_equal(back->parts[0].nops, n);
	for (size_t i = 0; i < n; i++) {
		const struct cs_op *b = &back->parts[0].ops[i];

		assert_string_equal(b->table, ops[i].table);
		assert_string_equal(b->column, ops[i].column);
		assert_memory_equal(b->row, ops[i].row, ARR_ROWID_LEN);
		assert_int_equal(value_cmp(&b->value, &ops[i].value), 0);
		if (ops[i].value.kind == VALUE_TEXT || ops[i].value.kind == VALUE_BLOB)
			assert_ptr_not_equal(cs->parts[0].ops[i].value.u.b.ptr,
			                     ops[i].value.u.b.ptr);
	}
	assert_true(signbit(back->parts[0].ops[6].value.u.r));
	changeset_destroy(&back);
	changeset_destroy(&cs);
	assert_null(cs);
	changeset_destroy(NULL);
	free(big);
	nodekey_destroy(&k);
}

/* No single-bit change of a signed envelope, with or without its body, decodes and verifies. */
static void
test_bitflips(void **state)
{
	struct nodekey *k = tu_key(1);
	struct changeset *ex = build_example(k);
	uint8_t *stub = NULL;
	size_t stublen = 0, decoded = 0, bodyhash = 0;

	(void)state;
	assert_int_equal(changeset_strip(ex, &stub, &stublen), 0);
	for (int pass = 0; pass < 2; pass++) {
		const uint8_t *src = pass == 0 ? ex->raw : stub;
		size_t len = pass == 0 ? ex->rawlen : stublen;
		uint8_t *buf = malloc(len);

		for (size_t bit = 0; bit < len * 8; bit++) {
			struct changeset *cs = NULL;
			int rc;

			memcpy(buf, src, len);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			rc = changeset_decode(buf, len, &cs);
			bodyhash += rc == ARR_EBODYHASH;
			assert_true(rc <= 0 && (rc == 0) == (cs != NULL));
			if (rc == 0) {
				decoded++;
				if (changeset_verify(cs) == 0)
					fail_msg("bit %zu: flipped envelope decodes and verifies",
					         bit);
				changeset_destroy(&cs);
			}
		}
		free(buf);
	}
	/* flips in the header decode, and the signature catches them; in the body, the hash */
	assert_true(decoded > 0 && bodyhash > 0);
	free(stub);
	changeset_destroy(&ex);
	nodekey_destroy(&k);
}

/* Every proper prefix fails cleanly (under ASan: without reading past it). */
static void
test_truncation(void **state)
{
	struct nodekey *k = tu_key(1);
	struct changeset *ex = build_example(k);

	(void)state;
	for (size_t len = 0; len < ex->rawlen; len++) {
		uint8_t *buf = malloc(len ? len : 1);
		struct changeset *cs = NULL;

		memcpy(buf, ex->raw, len);
		assert_int_equal(changeset_decode(buf, len, &cs), ARR_EMALFORMED);
		assert_null(cs);
		free(buf);
	}
	changeset_destroy(&ex);
	nodekey_destroy(&k);
}

/*
 * changeset_strip: the same header and signature with every body nil; stripping twice is
 * stable.
 */
static void
test_strip(void **state)
{
	struct nodekey *k = tu_key(1);
	struct changeset *ex = build_example(k), *st = NULL;
	msgpack_sbuffer want;
	uint8_t *stub = NULL, *again = NULL;
	size_t stublen = 0, againlen = 0;

	(void)state;
	assert_int_equal(changeset_strip(ex, &stub, &stublen), 0);
	msgpack_sbuffer_init(&want);
	{
		struct cs_part none[1] = {{.body = NULL}};

		assert_int_equal(
		    changeset_ref_envelope(&want, ex->hdr, ex->hdrlen, ex->sig, none, 1), 0);
	}
	assert_int_equal(stublen, want.size);
	assert_memory_equal(stub, want.data, want.size);
	assert_int_equal(expect_same_as_reference(stub, stublen), 0);
	assert_int_equal(changeset_decode(stub, stublen, &st), 0);
	assert_int_equal(changeset_verify(st), 0);
	assert_null(st->parts[0].body);
	assert_null(st->parts[0].ops);
	assert_int_equal(st->hdrlen, ex->hdrlen);
	assert_memory_equal(st->hdr, ex->hdr, ex->hdrlen);
	assert_int_equal(st->parts[0].body_len, ex->parts[0].bodylen);
	assert_memory_equal(st->parts[0].body_hash, ex->parts[0].body_hash, ARR_HASH_LEN);
	assert_int_equal(changeset_strip(st, &again, &againlen), 0);
	assert_int_equal(againlen, stublen);
	assert_memory_equal(again, stub, stublen);
	assert_int_equal(changeset_strip(NULL, &again, &againlen), ARR_EINVAL);
	free(again);
	free(stub);
	msgpack_sbuffer_destroy(&want);
	changeset_destroy(&st);
	changeset_destroy(&ex);
	nodekey_destroy(&k);
}

static void
test_build_refuses(void **state)
{
	struct nodekey *k = tu_key(1);
	struct cs_header h = tu_cs_header(1, 0);
	static struct cs_op ops[ARR_CS_MAX_OPS + 1];
	static struct cs_part_in parts[ARR_CS_MAX_PARTS + 1];
	struct cs_part_in in = {.kind = CS_DATA, .ops = ops, .nops = 1};
	struct changeset *cs = NULL;
	uint8_t skey[ARR_SKEY_LEN] = {1};
	char longs[ARR_VALUE_MAX + 2];

	(void)state;
	memset(longs, 'a', sizeof(longs));
	longs[sizeof(longs) - 1] = '\0';
	for (size_t i = 0; i <= ARR_CS_MAX_OPS; i++)
		ops[i] = tu_cs_op("organisation", EXAMPLE_ROW, "code", value_int(1));
	assert_int_equal(changeset_build_region(k, &h, ops, ARR_CS_MAX_OPS + 1, &cs), ARR_ETOOBIG);
	assert_int_equal(changeset_build_region(k, &h, ops, 0, &cs), ARR_EINVAL);
	assert_int_equal(changeset_build_region(NULL, &h, ops, 1, &cs), ARR_EINVAL);
	assert_int_equal(changeset_build_region(k, NULL, ops, 1, &cs), ARR_EINVAL);
	assert_int_equal(changeset_build(k, &h, &in, 0, &cs), ARR_EINVAL);
	assert_int_equal(changeset_build(k, &h, NULL, 1, &cs), ARR_EINVAL);
	/* the region takes no key; a case scope takes one */
	in.skey = skey;
	assert_int_equal(changeset_build(k, &h, &in, 1, &cs), ARR_EINVAL);
	memcpy(in.scope, case_scope, ARR_SCOPE_LEN);
	in.skey = NULL;
	assert_int_equal(changeset_build(k, &h, &in, 1, &cs), ARR_EINVAL);
	in.skey = skey;
	assert_int_equal(changeset_build(k, &h, &in, 1, &cs), 0);
	assert_int_equal(cs->parts[0].key_id, changeset_key_id(skey));
	changeset_destroy(&cs);
	/* a policy part needs a body and a case scope; a data part no body of policy */
	in.kind = CS_POLICY;
	assert_int_equal(changeset_build(k, &h, &in, 1, &cs), ARR_EINVAL);
	in.kind = 2;
	assert_int_equal(changeset_build(k, &h, &in, 1, &cs), ARR_EINVAL);
	/* parts: at most ARR_CS_MAX_PARTS, one per scope, ops at most ARR_CS_MAX_OPS overall */
	for (size_t i = 0; i <= ARR_CS_MAX_PARTS; i++) {
		parts[i] =
		    (struct cs_part_in){.kind = CS_DATA, .ops = ops, .nops = 1, .skey = skey};
		memcpy(parts[i].scope, case_scope, ARR_SCOPE_LEN);
		parts[i].scope[1] = (uint8_t)i;
		parts[i].scope[2] = (uint8_t)(i >> 8);
	}
	assert_int_equal(changeset_build(k, &h, parts, ARR_CS_MAX_PARTS + 1, &cs), ARR_ETOOBIG);
	assert_int_equal(changeset_build(k, &h, parts, ARR_CS_MAX_PARTS, &cs), 0);
	assert_int_equal(cs->nparts, ARR_CS_MAX_PARTS);
	changeset_destroy(&cs);
	parts[1].scope[1] = 0;
	assert_int_equal(changeset_build(k, &h, parts, 2, &cs), ARR_EINVAL);
	parts[1].scope[1] = 1;
	parts[0].nops = ARR_CS_MAX_OPS;
	assert_int_equal(changeset_build(k, &h, parts, 2, &cs), ARR_ETOOBIG);
	h = tu_cs_header(0, 0);
	assert_int_equal(changeset_build_region(k, &h, ops, 1, &cs), ARR_EINVAL);
	h = tu_cs_header(1, 0);
	h.author_org = longs + sizeof(longs) - 1 - (ARR_ORG_MAX + 1);
	assert_int_equal(changeset_build_region(k, &h, ops, 1, &cs), ARR_ETOOBIG);
	h.author_org = "\xc3";
	assert_int_equal(changeset_build_region(k, &h, ops, 1, &cs), ARR_EINVAL);
	h = tu_cs_header(1, 0);
	ops[0].table = "#256";
	assert_int_equal(changeset_build_region(k, &h, ops, 1, &cs), ARR_EINVAL);
	ops[0].table = "Organisation";
	assert_int_equal(changeset_build_region(k, &h, ops, 1, &cs), ARR_EINVAL);
	ops[0].table = "organisation";
	ops[0].value = value_real(NAN);
	assert_int_equal(changeset_build_region(k, &h, ops, 1, &cs), ARR_EINVAL);
	ops[0].value = value_textn("a\0b", 3);
	assert_int_equal(changeset_build_region(k, &h, ops, 1, &cs), ARR_EINVAL);
	ops[0].value = value_blob(longs, ARR_VALUE_MAX + 1);
	assert_int_equal(changeset_build_region(k, &h, ops, 1, &cs), ARR_ETOOBIG);
	assert_null(cs);
	nodekey_destroy(&k);
}

static void
print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x%s", p[i], i % 16 == 15 || i + 1 == n ? "\n" : " ");
}

/* PROTOCOL.md, "Worked example 1": the spec's bytes are the code's bytes. */
static void
test_worked_example(void **state)
{
	struct nodekey *k = tu_key(1);
	struct changeset *cs = build_example(k), *back = NULL;
	uint8_t *want;
	size_t wantlen;

	(void)state;
	want = tu_spec_hex("example-hex", &wantlen);
	if (wantlen != cs->rawlen || memcmp(want, cs->raw, wantlen) != 0) {
		printf("header at %zu (%zu bytes), body at %zu (%zu bytes); envelope:\n",
		       (size_t)(cs->hdr - cs->raw), cs->hdrlen,
		       (size_t)(cs->parts[0].body - cs->raw), cs->parts[0].bodylen);
		print_hex(cs->raw, cs->rawlen);
		fail_msg("the worked example in PROTOCOL.md differs from the code");
	}
	assert_int_equal(changeset_decode(want, wantlen, &back), 0);
	assert_int_equal(changeset_verify(back), 0);
	changeset_destroy(&back);
	free(want);
	changeset_destroy(&cs);
	nodekey_destroy(&k);
}

/* Hostile shapes fail without allocating for their claims; limits on the whole input. */
static void
test_hostile(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
	} cases[] = {
	    {"\xdd\xff\xff\xff\xff", 5},             /* array 32 of 4G elements */
	    {"\x93\xdd\xff\xff\xff\xff\xc0\xc0", 8}, /* nested */
	    {"\xdf\xff\xff\xff\xff", 5},             /* map 32 */
	    {"\x93\xc6\xff\xff\xff\xff\xc0\xc0", 8}, /* bin 32 past the end */
	    {"\xc1", 1},                             /* never used */
	    {"\xc0", 1},                             /* not an array */
	    {"\x93\xc4\x01\x90\xc4\x00\xc0", 7},     /* sig empty */
	    {"\x93\xc4\x00\xc4\x00\xc0", 6},         /* header empty */
	};
	uint8_t *buf = calloc(1, ARR_CS_MAX_BYTES + 1);
	struct changeset *cs = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = expect_same_as_reference((const uint8_t *)cases[i].bytes, cases[i].len);

		if (rc != ARR_EMALFORMED && rc != ARR_ETYPE)
			fail_msg("case %zu: %s", i, arrerr_name(rc));
	}
	assert_int_equal(changeset_decode(buf, ARR_CS_MAX_BYTES + 1, &cs), ARR_ETOOBIG);
	assert_int_equal(changeset_decode(NULL, 0, &cs), ARR_EMALFORMED);
	assert_null(cs);
	free(buf);
}

static const uint8_t diff_vals[] = {
    0x00, 0x01, 0x0f, 0x10, 0x1f, 0x20, 0x7f, 0x80, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x98,
    0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb,
    0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff, 'a',  '_',  '-',  0x40, 0x41, 0x3f};

/* Every byte of ex replaced by each interesting value, then every prefix; codes counted. */
static void
diff_bytes(const struct changeset *ex, uint8_t *buf, size_t codes[32])
{
	for (size_t pos = 0; pos < ex->rawlen; pos++) {
		for (size_t v = 0; v < sizeof(diff_vals); v++) {
			memcpy(buf, ex->raw, ex->rawlen);
			buf[pos] = diff_vals[v];
			codes[-expect_same_as_reference(buf, ex->rawlen) & 31]++;
		}
	}
	for (size_t len = 0; len < ex->rawlen; len++)
		expect_same_as_reference(ex->raw, len);
}

/* Random edits of the ops body, rewrapped with a matching hash and signed; codes counted. */
static void
diff_random(struct nodekey *k, const struct changeset *ex, size_t codes[32])
{
	struct tu_rng rng;
	uint8_t buf[512];
	uint64_t seed = tu_seed(20250601);

	printf("seed %llu\n", (unsigned long long)seed);
	tu_rng_seed(&rng, seed);
	for (int iter = 0; iter < 3000; iter++) {
		msgpack_sbuffer env;
		size_t n = ex->parts[0].bodylen, edits = 1 + tu_rng_below(&rng, 3);
		struct cs_part part = ex->parts[0];

		memcpy(buf, ex->parts[0].body, n);
		for (size_t e = 0; e < edits; e++) {
			size_t at = tu_rng_below(&rng, n);
			uint8_t b = tu_rng_below(&rng, 2)
			                ? diff_vals[tu_rng_below(&rng, sizeof(diff_vals))]
			                : (uint8_t)tu_rng_below(&rng, 256);

			if (tu_rng_below(&rng, 4) == 0 && n > 1) { /* delete */
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
			} else if (tu_rng_below(&rng, 3) == 0 && n < sizeof(buf)) { /* insert */
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = b;
				n++;
			} else {
				buf[at] = b;
			}
		}
		msgpack_sbuffer_init(&env);
		part.body = buf;
		part.bodylen = n;
		assert_int_equal(changeset_ref_wrap(k, &ex->h, &part, 1, &env), 0);
		codes[-expect_same_as_reference((const uint8_t *)env.data, env.size) & 31]++;
		msgpack_sbuffer_destroy(&env);
	}
}

/*
 * The single-pass decoder against the reference: every byte of the example replaced by
 * interesting values, every prefix, and random edits of its body under a header that
 * matches them (so that the body's own bytes are what is wrong).
 */
static void
test_differential(void **state)
{
	struct nodekey *k = tu_key(1);
	struct changeset *ex = build_example(k);
	size_t codes[32] = {0};
	uint8_t *buf = malloc(ex->rawlen);

	(void)state;
	assert_int_equal(expect_same_as_reference(ex->raw, ex->rawlen), 0);
	diff_bytes(ex, buf, codes);
	diff_random(k, ex, codes);
	for (int c = 0; c < 32; c++)
		if (codes[c] > 0)
			fprintf(stderr, "# code %d: %zu inputs\n", -c, codes[c]);
	assert_true(codes[0] > 0 && codes[-ARR_EMALFORMED] > 0 && codes[-ARR_ETYPE] > 0 &&
	            codes[-ARR_ENONCANON] > 0 && codes[-ARR_EBODYHASH] > 0 &&
	            codes[-ARR_EVERSION] > 0);
	free(buf);
	changeset_destroy(&ex);
	nodekey_destroy(&k);
}

/*
 * A table or column without a number is refused in any part and op, also after many
 * good ones: a name that is not the schema's nor reserved, and a reserved name ("#n") of
 * a number this schema has (one name per number) or spelt otherwise than in decimal
 * without leading zeros. A name the schema has is found by its own string or by a copy.
 */
static void
test_build_refuses_names(void **state)
{
	enum { NOPS = 400 };
	struct nodekey *k = tu_key(1);
	struct cs_header h = tu_cs_header(1, 0);
	static struct cs_op ops[NOPS];
	struct cs_part_in parts[2] = {{.kind = CS_DATA, .ops = ops, .nops = NOPS / 2},
	                              {.kind = CS_DATA, .ops = ops + NOPS / 2, .nops = NOPS / 2}};
	static const char *const bad_col[] = {"Code", "co-de", "",  "nosuch", "#0",  "#1",
	                                      "#3",   "#04",   "#", "#256",   "#1x", "id"};
	static const char *const bad_tab[] = {"Organisation", "", "#0", "#9", "#010", "#2560"};
	static const char *const cols[] = {"kind", "name", "code", "_deleted", "#4", "#127"};
	char copy[16];
	struct changeset *cs = NULL;
	uint8_t skey[ARR_SKEY_LEN] = {1};

	(void)state;
	parts[1].skey = skey;
	memcpy(parts[1].scope, case_scope, ARR_SCOPE_LEN);
	/* every seventh op on a table this schema lacks, which has only reserved columns */
	for (size_t i = 0; i < NOPS; i++)
		ops[i] = i % 7 == 6
		             ? tu_cs_op("#10", EXAMPLE_ROW, i % 2 ? "#2" : "_deleted", value_int(1))
		             : tu_cs_op("organisation", EXAMPLE_ROW, cols[i % 6], value_int(1));
	snprintf(copy, sizeof(copy), "%s", "code");
	ops[NOPS - 1].column = copy;
	assert_int_equal(changeset_build(k, &h, parts, 2, &cs), 0);
	changeset_destroy(&cs);
	/* at % 7 == 3: ops on organisation */
	for (size_t b = 0; b < sizeof(bad_col) / sizeof(bad_col[0]); b++)
		for (size_t at = 150; at < NOPS; at += 63) {
			const char *was = ops[at].column;

			ops[at].column = bad_col[b];
			assert_int_equal(changeset_build(k, &h, parts, 2, &cs), ARR_EINVAL);
			ops[at].column = was;
		}
	for (size_t b = 0; b < sizeof(bad_tab) / sizeof(bad_tab[0]); b++)
		for (size_t at = 150; at < NOPS; at += 61) {
			const char *was = ops[at].table;

			ops[at].table = bad_tab[b];
			assert_int_equal(changeset_build(k, &h, parts, 2, &cs), ARR_EINVAL);
			ops[at].table = was;
		}
	/* a column of this schema's tables is no column of a newer table */
	ops[NOPS - 2].column = "kind";
	assert_int_equal(changeset_build(k, &h, parts, 2, &cs), ARR_EINVAL);
	ops[NOPS - 2].column = "#0";
	assert_int_equal(changeset_build(k, &h, parts, 2, &cs), ARR_EINVAL);
	assert_null(cs);
	nodekey_destroy(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_then_sign), cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_bitflips),        cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_strip),           cmocka_unit_test(test_build_refuses),
	    cmocka_unit_test(test_worked_example),  cmocka_unit_test(test_differential),
	    cmocka_unit_test(test_hostile),         cmocka_unit_test(test_build_refuses_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
