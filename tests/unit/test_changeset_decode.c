/*
 * test_changeset_decode.c: decoding change sets of wire format 4 (changeset_decode.c
 * against the reference decoder of tests/oracle): every element count, field type, size
 * and limit of the envelope, header, part entries and a clear data body with its error code,
 * the rules between a part's fields (scope, kind, key_id), bodies one per part, body
 * length and hash, header-only stubs, values and non-canonical heads (hostile shapes of
 * the whole input: test_changeset.c).
 *
 * Hand-made envelopes come from craft(), an independent encoder written directly with
 * msgpack-c's packer, so the tests do not trust changeset_build.c's encoder or sizes.
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

#define expect_same_as_reference changeset_ref_compare

/* ---- an independent encoder for hand-made (often broken) change sets ---- */

struct spec {
	/* envelope */
	size_t env_fields; /* 3 */
	size_t sig_len;    /* 64 */
	bool nil_body, env_trailing, hdr_bin32, sig_bin16;
	int bodies_delta; /* entries of the bodies array past the parts' count */
	/* header; fields 6 .. 10 name the fields of the one part entry */
	size_t hdr_fields;  /* 7 */
	size_t part_fields; /* 5 */
	uint64_t version, seq, schema, kind, key_id;
	size_t origin_len, hash_len;
	const char *author;
	size_t author_len;
	const uint8_t *scope; /* NULL: nil */
	size_t scope_len;
	int64_t body_len_delta; /* added to the signed body_len */
	bool bad_hash, hdr_trailing;
	const uint8_t *field_raw; /* verbatim bytes replacing header field field_at */
	size_t field_raw_len, field_at;
	/* body: body_raw verbatim, or a rows array of nops rows of one cell each */
	const uint8_t *body_raw;
	size_t body_raw_len;
	size_t nops, row_fields, table_len, column_len, row_len;
	const char *table, *column; /* the msgpack bytes of the numbers, verbatim */
	const uint8_t *value_raw;   /* verbatim bytes of op 0's value; NULL: int i for op i */
	size_t value_raw_len;
	bool body_trailing;
};

static struct spec
spec_ok(size_t nops)
{
	struct spec s;

	memset(&s, 0, sizeof(s));
	s.env_fields = 3;
	s.sig_len = ARR_SIG_LEN;
	s.hdr_fields = 7;
	s.part_fields = 5;
	s.version = ARR_FORMAT_VERSION;
	s.seq = 1;
	s.schema = ARR_SCHEMA_VERSION;
	s.origin_len = ARR_ORIGIN_LEN;
	s.hash_len = ARR_HASH_LEN;
	s.author = "Gemeente Testdorp";
	s.author_len = strlen(s.author);
	s.field_at = SIZE_MAX;
	s.nops = nops;
	s.row_fields = 3;
	s.table = "\x00"; /* organisation */
	s.table_len = 1;
	s.column = "\x03"; /* code */
	s.column_len = 1;
	s.row_len = ARR_ROWID_LEN;
	return s;
}

static void
raw(msgpack_sbuffer *sb, const void *p, size_t n)
{
	if (n > 0)
		assert_int_equal(msgpack_sbuffer_write(sb, p, n), 0);
}

/* The row id of row i of a crafted body (distinct, so that every row is canonical). */
static void
craft_row_id(uint8_t *row, size_t len, size_t i)
{
	memset(row, 0xab, len);
	row[ARR_ROWID_LEN - 2] = (uint8_t)(i >> 8);
	row[ARR_ROWID_LEN - 1] = (uint8_t)i;
}

static void
craft_ops(const struct spec *s, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	uint8_t row[ARR_ROWID_LEN + 1];

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, s->nops);
	for (size_t i = 0; i < s->nops; i++) {
		craft_row_id(row, sizeof(row), i);
		msgpack_pack_array(&pk, s->row_fields);
		raw(sb, s->table, s->table_len);
		msgpack_pack_bin_with_body(&pk, row, s->row_len);
		msgpack_pack_array(&pk, 2);
		raw(sb, s->column, s->column_len);
		if (i == 0 && s->value_raw != NULL)
			raw(sb, s->value_raw, s->value_raw_len);
		else
			msgpack_pack_int64(&pk, (int64_t)i);
		for (size_t x = 3; x < s->row_fields; x++)
			msgpack_pack_nil(&pk);
	}
	if (s->body_trailing)
		raw(sb, "\xc0", 1);
}

/* The one part entry: header fields 6 .. 10 of the spec. */
static void
craft_part(const struct spec *s, msgpack_packer *pk, msgpack_sbuffer *sb, const uint8_t *body,
           size_t bodylen)
{
	uint8_t hash[ARR_HASH_LEN + 1] = {0};

	crypto_generichash(hash, ARR_HASH_LEN, body, bodylen, NULL, 0);
	hash[0] ^= s->bad_hash ? 1 : 0;
	msgpack_pack_array(pk, s->part_fields);
	for (size_t f = 6; f < 6 + s->part_fields; f++) {
		if (f == s->field_at) {
			raw(sb, s->field_raw, s->field_raw_len);
			continue;
		}
		switch (f) {
		case 6:
			if (s->scope == NULL)
				msgpack_pack_nil(pk);
			else
				msgpack_pack_bin_with_body(pk, s->scope, s->scope_len);
			break;
		case 7:
			msgpack_pack_uint64(pk, s->kind);
			break;
		case 8:
			msgpack_pack_uint64(pk, s->key_id);
			break;
		case 9:
			msgpack_pack_uint64(pk, (uint64_t)((int64_t)bodylen + s->body_len_delta));
			break;
		case 10:
			msgpack_pack_bin_with_body(pk, hash, s->hash_len);
			break;
		default:
			msgpack_pack_nil(pk);
		}
	}
}

static void
craft_header(const struct spec *s, const uint8_t *origin, const uint8_t *body, size_t bodylen,
             msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, s->hdr_fields);
	for (size_t f = 0; f < s->hdr_fields; f++) {
		if (f == s->field_at && f < 6) { /* 6 .. 10: the part entry's (craft_part) */
			raw(sb, s->field_raw, s->field_raw_len);
			continue;
		}
		switch (f) {
		case 0:
			msgpack_pack_uint64(&pk, s->version);
			break;
		case 1:
			msgpack_pack_bin_with_body(&pk, origin, s->origin_len);
			break;
		case 2:
			msgpack_pack_uint64(&pk, s->seq);
			break;
		case 3:
			msgpack_pack_uint64(&pk, EXAMPLE_HLC);
			break;
		case 4:
			msgpack_pack_str_with_body(&pk, s->author, s->author_len);
			break;
		case 5:
			msgpack_pack_uint64(&pk, s->schema);
			break;
		case 6:
			msgpack_pack_array(&pk, 1);
			craft_part(s, &pk, sb, body, bodylen);
			break;
		default:
			msgpack_pack_nil(&pk);
		}
	}
	if (s->hdr_trailing)
		raw(sb, "\xc0", 1);
}

/* A bin of n bytes with a 32-bit length however short (a non-canonical head). */
static void
bin32(msgpack_sbuffer *sb, const void *p, size_t n)
{
	uint8_t h[5] = {0xc6, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
	                (uint8_t)n};

	raw(sb, h, 5);
	raw(sb, p, n);
}

/* Envelope of spec s signed by k (a real signature over the header), in *out. */
static void
craft(const struct spec *s, struct nodekey *k, msgpack_sbuffer *out)
{
	msgpack_sbuffer body, hdr;
	msgpack_packer pk;
	uint8_t sig[ARR_SIG_LEN + 1] = {0};

	msgpack_sbuffer_init(&body);
	msgpack_sbuffer_init(&hdr);
	if (s->body_raw != NULL)
		raw(&body, s->body_raw, s->body_raw_len);
	else
		craft_ops(s, &body);
	craft_header(s, nodekey_public(k), (const uint8_t *)body.data, body.size, &hdr);
	assert_int_equal(nodekey_sign(k, (const uint8_t *)hdr.data, hdr.size, sig), 0);
	msgpack_sbuffer_init(out);
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, s->env_fields);
	if (s->hdr_bin32)
		bin32(out, hdr.data, hdr.size);
	else
		msgpack_pack_bin_with_body(&pk, hdr.data, hdr.size);
	if (s->sig_bin16) {
		raw(out, (uint8_t[]){0xc5, 0, (uint8_t)s->sig_len}, 3);
		raw(out, sig, s->sig_len);
	} else {
		msgpack_pack_bin_with_body(&pk, sig, s->sig_len);
	}
	msgpack_pack_array(&pk, (size_t)(1 + s->bodies_delta));
	for (int x = 0; x < 1 + s->bodies_delta; x++)
		if (s->nil_body || x > 0)
			msgpack_pack_nil(&pk);
		else
			msgpack_pack_bin_with_body(&pk, body.data, body.size);
	for (size_t x = 3; x < s->env_fields; x++)
		msgpack_pack_nil(&pk);
	if (s->env_trailing)
		raw(out, "\x00", 1);
	msgpack_sbuffer_destroy(&hdr);
	msgpack_sbuffer_destroy(&body);
}

/* decode(craft(s)), the same as the reference's; a decoded set verifies. */
static int
decode_spec(const struct spec *s)
{
	struct nodekey *k = tu_key(1);
	msgpack_sbuffer env;
	struct changeset *cs = (struct changeset *)&env; /* must become NULL on error */
	int rc;

	craft(s, k, &env);
	rc = changeset_decode((const uint8_t *)env.data, env.size, &cs);
	expect_same_as_reference((const uint8_t *)env.data, env.size);
	if (rc == 0) {
		assert_int_equal(changeset_verify(cs), 0);
		changeset_destroy(&cs);
	}
	assert_null(cs);
	msgpack_sbuffer_destroy(&env);
	nodekey_destroy(&k);
	return rc;
}

/* ---- tests ---- */

/* The independent encoder and changeset_build agree on a region change set. */
static void
test_craft_matches_build(void **state)
{
	struct nodekey *k = tu_key(1);
	struct spec s = spec_ok(3);
	struct cs_header h = tu_cs_header(1, 0);
	struct cs_op ops[3];
	struct changeset *cs = NULL;
	msgpack_sbuffer env;

	(void)state;
	for (int i = 0; i < 3; i++) {
		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].table = "organisation";
		ops[i].column = "code";
		craft_row_id(ops[i].row, ARR_ROWID_LEN, (size_t)i);
		ops[i].value = value_int(i);
	}
	craft(&s, k, &env);
	assert_int_equal(changeset_build_region(k, &h, ops, 3, &cs), 0);
	assert_int_equal(cs->rawlen, env.size);
	assert_memory_equal(cs->raw, env.data, env.size);
	assert_int_equal(expect_same_as_reference(cs->raw, cs->rawlen), 0);
	changeset_destroy(&cs);
	msgpack_sbuffer_destroy(&env);
	nodekey_destroy(&k);
}

/* Element counts of envelope, header and op; trailing bytes; the version first. */
static void
test_shape(void **state)
{
	struct spec s;

	(void)state;
	s = spec_ok(2);
	assert_int_equal(decode_spec(&s), 0);
	s.env_fields = 2;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.env_fields = 4;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(2);
	s.hdr_fields = 6;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.hdr_fields = 8;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.hdr_fields = 0;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(2);
	s.part_fields = 4;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.part_fields = 6;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(2);
	s.row_fields = 2;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.row_fields = 4;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(2);
	s.env_trailing = true;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(2);
	s.hdr_trailing = true;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(2);
	s.body_trailing = true;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	/* the version is read first: a later format of another shape is reported as such */
	s = spec_ok(1);
	s.version = 1;
	assert_int_equal(decode_spec(&s), ARR_EVERSION);
	s.version = ARR_FORMAT_VERSION - 1;
	assert_int_equal(decode_spec(&s), ARR_EVERSION);
	s.version = ARR_FORMAT_VERSION + 1;
	s.hdr_fields = 4;
	assert_int_equal(decode_spec(&s), ARR_EVERSION);
	s = spec_ok(1);
	s.field_at = 0;
	s.field_raw = (const uint8_t *)"\xa1"
	                               "2";
	s.field_raw_len = 2;
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
}

#define FIELD(sp, at, lit)                                                                         \
	do {                                                                                       \
		(sp).field_at = (at);                                                              \
		(sp).field_raw = (const uint8_t *)(lit);                                           \
		(sp).field_raw_len = sizeof(lit) - 1;                                              \
	} while (0)

/* Each header field of the wrong type, size or value, and the rules between fields. */
static void
test_header_fields(void **state)
{
	static const uint8_t zero[ARR_SCOPE_LEN];
	struct spec s;

	(void)state;
	for (size_t f = 0; f < 11; f++) {
		s = spec_ok(1);
		if (f == 1 || f == 6 || f == 10)
			FIELD(s, f, "\xa1x"); /* a str for a bin */
		else
			FIELD(s, f, "\xc4\x01x"); /* a bin for anything else */
		assert_int_equal(decode_spec(&s), ARR_ETYPE);
		FIELD(s, f, "\x90"); /* an empty array */
		if (decode_spec(&s) != ARR_ETYPE)
			fail_msg("field %zu", f);
	}
	s = spec_ok(1);
	FIELD(s, 2, "\xff"); /* seq -1 */
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	s = spec_ok(1);
	s.seq = 0;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.origin_len = 31;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.schema = (uint64_t)UINT32_MAX + 1;
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
	s = spec_ok(1);
	s.hash_len = 31;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.hash_len = 33;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.sig_len = 63;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	/* scope: 16 bytes or nil; the region is only ever nil */
	s = spec_ok(1);
	s.scope = case_scope;
	s.scope_len = 15;
	s.key_id = 7;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.scope_len = 17;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.scope_len = 16;
	assert_int_equal(decode_spec(&s), 0); /* a case body is not read: any bytes */
	s.scope = zero;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	s.key_id = 0;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	/* kind: 0, 1 or 2 (a member part, whose body this data body is not) */
	s = spec_ok(1);
	s.kind = 3;
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
	s.kind = 2;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	/* key_id: non-zero exactly for case data */
	s = spec_ok(1);
	s.key_id = 1;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED); /* region data */
	s = spec_ok(1);
	s.scope = case_scope;
	s.scope_len = ARR_SCOPE_LEN;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED); /* case data without a key */
	s.kind = CS_POLICY;
	s.key_id = 5;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED); /* policy with a key */
	s = spec_ok(1);
	s.kind = CS_POLICY;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED); /* policy in the region */
	/* body_len: at most ARR_CS_MAX_BYTES */
	s = spec_ok(1);
	s.nil_body = true;
	s.body_len_delta = ARR_CS_MAX_BYTES;
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
}

/* The body against the header: length and hash; a stub without body; an empty bin. */
static void
test_body_hash(void **state)
{
	struct nodekey *k = tu_key(1);
	struct spec s = spec_ok(2);
	struct changeset *cs = NULL;
	msgpack_sbuffer env;

	(void)state;
	s.bad_hash = true;
	assert_int_equal(decode_spec(&s), ARR_EBODYHASH);
	s.body_trailing = true; /* the hash is checked before the body is read */
	assert_int_equal(decode_spec(&s), ARR_EBODYHASH);
	s = spec_ok(2);
	s.body_len_delta = 1;
	assert_int_equal(decode_spec(&s), ARR_EBODYHASH);
	s.body_len_delta = -1;
	assert_int_equal(decode_spec(&s), ARR_EBODYHASH);
	/* nil: a header-only stub, whatever its header says about the body */
	s = spec_ok(2);
	s.nil_body = true;
	s.bad_hash = true;
	craft(&s, k, &env);
	assert_int_equal(changeset_decode((const uint8_t *)env.data, env.size, &cs), 0);
	assert_int_equal(cs->nparts, 1);
	assert_null(cs->parts[0].ops);
	assert_null(cs->parts[0].body);
	assert_int_equal(cs->parts[0].nops, 0);
	assert_int_equal(cs->parts[0].bodylen, 0);
	assert_int_equal(changeset_verify(cs), 0);
	changeset_destroy(&cs);
	msgpack_sbuffer_destroy(&env);
	assert_int_equal(decode_spec(&s), 0);
	/* an empty bin is not a body */
	s = spec_ok(1);
	s.body_raw = (const uint8_t *)"";
	s.body_raw_len = 0;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	/* a clear body that is not one object is malformed, after its hash matched */
	s.body_raw = (const uint8_t *)"\x91\x93";
	s.body_raw_len = 2;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.body_raw = (const uint8_t *)"\x80";
	s.body_raw_len = 1;
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	nodekey_destroy(&k);
}

/* The value of op 0 as given bytes, decoded. */
static int
decode_value_bytes(const char *bytes, size_t n)
{
	struct spec s = spec_ok(2);

	s.value_raw = (const uint8_t *)bytes;
	s.value_raw_len = n;
	return decode_spec(&s);
}

#define VAL(lit) decode_value_bytes(lit, sizeof(lit) - 1)

static void
test_values(void **state)
{
	(void)state;
	assert_int_equal(VAL("\x05"), 0);
	assert_int_equal(VAL("\xcc\x80"), 0);
	assert_int_equal(VAL("\xe0"), 0);                                 /* -32 */
	assert_int_equal(VAL("\xd0\xdf"), 0);                             /* -33 */
	assert_int_equal(VAL("\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"), 0); /* INT64_MAX */
	assert_int_equal(VAL("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"), 0); /* INT64_MIN */
	assert_int_equal(VAL("\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"), 0); /* 1.0 */
	assert_int_equal(VAL("\xc0"), 0);
	assert_int_equal(VAL("\xa0"), 0);
	assert_int_equal(VAL("\xc4\x00"), 0);
	assert_int_equal(VAL("\xcf\x80\x00\x00\x00\x00\x00\x00\x00"), ARR_ETYPE); /* > INT64_MAX */
	assert_int_equal(VAL("\xa2\xc3\x28"), ARR_EMALFORMED);                    /* not UTF-8 */
	assert_int_equal(VAL("\xa1\x00"), ARR_EMALFORMED);
	assert_int_equal(VAL("\xa3\xed\xa0\x80"), ARR_EMALFORMED); /* a surrogate */
	assert_int_equal(VAL("\xc3"), ARR_ETYPE);
	assert_int_equal(VAL("\x80"), ARR_ETYPE);
	assert_int_equal(VAL("\x90"), ARR_ETYPE);
	assert_int_equal(VAL("\xd4\x01\x00"), ARR_ETYPE);
	assert_int_equal(VAL("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"), ARR_ENONCANON); /* NaN */
}

/*
 * Each non-shortest head as a value, and in the header and envelope: ARR_ENONCANON from
 * both decoders, reported only when nothing else is wrong.
 */
static void
test_noncanon(void **state)
{
	static const struct {
		const char *b;
		size_t n;
	} vals[] = {
	    {"\xcc\x05", 2},
	    {"\xcd\x00\xff", 3},
	    {"\xce\x00\x00\xff\xff", 5},
	    {"\xcf\x00\x00\x00\x00\xff\xff\xff\xff", 9},
	    {"\xd0\x05", 2},
	    {"\xd0\xe0", 2},
	    {"\xd1\xff\x80", 3},
	    {"\xd2\xff\xff\x80\x00", 5},
	    {"\xd3\x00\x00\x00\x00\x00\x00\x00\x01", 9},
	    {"\xd9\x01x", 3},
	    {"\xda\x00\x01x", 4},
	    {"\xc5\x00\x01x", 4},
	    {"\xc6\x00\x00\x00\x01x", 6},
	    {"\xca\x3f\x80\x00\x00", 5},
	};
	struct spec s;

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		s = spec_ok(1);
		s.value_raw = (const uint8_t *)vals[i].b;
		s.value_raw_len = vals[i].n;
		assert_int_equal(decode_spec(&s), ARR_ENONCANON);
		s.body_trailing = true; /* a body that is not one object is malformed first */
		assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	}
	s = spec_ok(1);
	FIELD(s, 2, "\xcd\x00\x01"); /* seq 1 as uint 16 */
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	s.value_raw = (const uint8_t *)"\xc3"; /* a later type error wins */
	s.value_raw_len = 1;
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	s = spec_ok(1);
	FIELD(s, 0, "\xd0\x04"); /* the version in int 8 */
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	FIELD(s, 0, "\xd0\xff");
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	s = spec_ok(1);
	FIELD(s, 10,
	      "\xc5\x00\x20"
	      "0123456789abcdef0123456789abcdef"); /* hash in bin 16 */
	assert_int_equal(decode_spec(&s), ARR_EBODYHASH);
	s = spec_ok(1);
	s.hdr_bin32 = true;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	s = spec_ok(1);
	s.sig_bin16 = true;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
}

static void
test_limits_decode(void **state)
{
	char longs[ARR_ORG_MAX + 2];
	struct spec s;

	(void)state;
	memset(longs, 'a', sizeof(longs));
	s = spec_ok(ARR_CS_MAX_OPS);
	assert_int_equal(decode_spec(&s), 0);
	s = spec_ok(ARR_CS_MAX_OPS + 1);
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
	s = spec_ok(0);
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.author = longs;
	s.author_len = ARR_ORG_MAX;
	assert_int_equal(decode_spec(&s), 0);
	s.author_len = ARR_ORG_MAX + 1;
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
	s.author_len = 0;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.author = "Gemeente \xff";
	s.author_len = 10;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	/* a table or column number of every shape: test_changeset_rows test_numbers */
	s = spec_ok(1);
	s.table = "\xa1t";
	s.table_len = 2;
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	s = spec_ok(1);
	s.row_len = 17;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
}

/* The bodies array has exactly one entry per part (a dropped body is nil, not absent). */
static void
test_bodies_count(void **state)
{
	struct spec sp;

	(void)state;
	sp = spec_ok(1);
	assert_int_equal(decode_spec(&sp), 0);
	sp.bodies_delta = 1;
	assert_int_equal(decode_spec(&sp), ARR_EMALFORMED);
	sp.bodies_delta = -1;
	assert_int_equal(decode_spec(&sp), ARR_EMALFORMED);
	sp.nil_body = true;
	sp.bodies_delta = 1;
	assert_int_equal(decode_spec(&sp), ARR_EMALFORMED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_craft_matches_build),
	    cmocka_unit_test(test_shape),
	    cmocka_unit_test(test_header_fields),
	    cmocka_unit_test(test_body_hash),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_noncanon),
	    cmocka_unit_test(test_limits_decode),
	    cmocka_unit_test(test_bodies_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
