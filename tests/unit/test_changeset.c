/*
 * test_changeset.c: change sets of wire format 2, envelope, header and clear (region)
 * bodies: round trips, bytes equal to msgpack-c's, signatures under every single-bit
 * flip, truncation at every length, every field's type, count and limit with its error
 * code, non-canonical heads, body length and hash, header-only stubs, exact splitting,
 * the first worked example of PROTOCOL.md, and the single-pass decoder against the
 * reference decoder (tests/oracle). Sealed bodies: test_changeset_seal.c.
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
#include "rowid.h"
#include "testutil.h"

#define EXAMPLE_ROW "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13"
#define EXAMPLE_HLC hlc_make(1764000000000ull, 0)

/* one byte more than a scope, for a scope one byte too long */
static const uint8_t case_scope[ARR_SCOPE_LEN + 1] = {0x5c, 1,  2,  3,  4,  5,  6,  7, 8,
                                                      9,    10, 11, 12, 13, 14, 15, 16};

static struct cs_header
header(uint64_t seq)
{
	struct cs_header h = {
	    .seq = seq,
	    .hlc = EXAMPLE_HLC,
	    .author_org = "Gemeente Testdorp",
	    .schema_version = ARR_SCHEMA_VERSION,
	};

	return h;
}

static struct cs_op
op(const char *table, const char *row, const char *column, struct value v)
{
	struct cs_op o;

	memset(&o, 0, sizeof(o));
	o.table = table;
	o.column = column;
	assert_int_equal(rowid_parse(row, o.row), 0);
	o.value = v;
	return o;
}

/* The first worked example of PROTOCOL.md: a region change set. */
static struct changeset *
build_example(struct nodekey *k)
{
	struct cs_header h = header(1);
	struct cs_op ops[2];
	struct changeset *cs = NULL;

	ops[0] = op("organisation", EXAMPLE_ROW, "kind", value_text("gemeente"));
	ops[1] = op("organisation", EXAMPLE_ROW, "code", value_text("9901"));
	assert_int_equal(changeset_build(k, &h, ops, 2, NULL, &cs), 0);
	return cs;
}

/*
 * changeset_decode() and changeset_decode_reference() give the same code for buf, and
 * the same content when they accept it. Returns the code.
 */
static int
expect_same_as_reference(const uint8_t *buf, size_t len)
{
	struct changeset *a = NULL, *b = NULL;
	int rc = changeset_decode(buf, len, &a), rrc = changeset_decode_reference(buf, len, &b);

	if (rc != rrc) {
		fprintf(stderr, "input of %zu bytes:", len);
		for (size_t i = 0; i < len && i < 128; i++)
			fprintf(stderr, " %02x", buf[i]);
		fail_msg("decode %d (%s), reference %d (%s)", rc, arrerr_str(rc), rrc,
		         arrerr_str(rrc));
	}
	if (rc == 0 && !changeset_same(a, b))
		fail_msg("both decode %zu bytes, to different content", len);
	assert_true((rc == 0) == (a != NULL));
	changeset_destroy(&a);
	changeset_destroy(&b);
	return rc;
}

/* ---- an independent encoder for hand-made (often broken) change sets ---- */

struct spec {
	/* envelope */
	size_t env_fields; /* 3 */
	size_t sig_len;    /* 64 */
	bool nil_body, env_trailing, hdr_bin32, sig_bin16;
	/* header */
	size_t hdr_fields; /* 11 */
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
	/* body: body_raw verbatim, or an ops array */
	const uint8_t *body_raw;
	size_t body_raw_len;
	size_t nops, op_fields, table_len, column_len, row_len;
	const char *table, *column;
	const uint8_t *value_raw; /* verbatim bytes of op 0's value; NULL: int i for op i */
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
	s.hdr_fields = 11;
	s.version = ARR_FORMAT_VERSION;
	s.seq = 1;
	s.schema = ARR_SCHEMA_VERSION;
	s.origin_len = ARR_ORIGIN_LEN;
	s.hash_len = ARR_HASH_LEN;
	s.author = "Gemeente Testdorp";
	s.author_len = strlen(s.author);
	s.field_at = SIZE_MAX;
	s.nops = nops;
	s.op_fields = 4;
	s.table = "organisation";
	s.table_len = strlen(s.table);
	s.column = "code";
	s.column_len = 4;
	s.row_len = ARR_ROWID_LEN;
	return s;
}

static void
raw(msgpack_sbuffer *sb, const void *p, size_t n)
{
	if (n > 0)
		assert_int_equal(msgpack_sbuffer_write(sb, p, n), 0);
}

static void
craft_ops(const struct spec *s, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	uint8_t row[ARR_ROWID_LEN + 1];

	memset(row, 0xab, sizeof(row));
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, s->nops);
	for (size_t i = 0; i < s->nops; i++) {
		msgpack_pack_array(&pk, s->op_fields);
		msgpack_pack_str_with_body(&pk, s->table, s->table_len);
		msgpack_pack_bin_with_body(&pk, row, s->row_len);
		msgpack_pack_str_with_body(&pk, s->column, s->column_len);
		if (i == 0 && s->value_raw != NULL)
			raw(sb, s->value_raw, s->value_raw_len);
		else
			msgpack_pack_int64(&pk, (int64_t)i);
		for (size_t x = 4; x < s->op_fields; x++)
			msgpack_pack_nil(&pk);
	}
	if (s->body_trailing)
		raw(sb, "\xc0", 1);
}

static void
craft_header(const struct spec *s, const uint8_t *origin, const uint8_t *body, size_t bodylen,
             msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	uint8_t hash[ARR_HASH_LEN + 1] = {0};

	crypto_generichash(hash, ARR_HASH_LEN, body, bodylen, NULL, 0);
	hash[0] ^= s->bad_hash ? 1 : 0;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, s->hdr_fields);
	for (size_t f = 0; f < s->hdr_fields; f++) {
		if (f == s->field_at) {
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
			if (s->scope == NULL)
				msgpack_pack_nil(&pk);
			else
				msgpack_pack_bin_with_body(&pk, s->scope, s->scope_len);
			break;
		case 7:
			msgpack_pack_uint64(&pk, s->kind);
			break;
		case 8:
			msgpack_pack_uint64(&pk, s->key_id);
			break;
		case 9:
			msgpack_pack_uint64(&pk, (uint64_t)((int64_t)bodylen + s->body_len_delta));
			break;
		case 10:
			msgpack_pack_bin_with_body(&pk, hash, s->hash_len);
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
	if (s->nil_body)
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
	struct cs_header h = header(1);
	struct cs_op ops[3];
	struct changeset *cs = NULL;
	msgpack_sbuffer env;

	(void)state;
	for (int i = 0; i < 3; i++) {
		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].table = "organisation";
		ops[i].column = "code";
		memset(ops[i].row, 0xab, ARR_ROWID_LEN);
		ops[i].value = value_int(i);
	}
	craft(&s, k, &env);
	assert_int_equal(changeset_build(k, &h, ops, 3, NULL, &cs), 0);
	assert_int_equal(cs->rawlen, env.size);
	assert_memory_equal(cs->raw, env.data, env.size);
	assert_int_equal(expect_same_as_reference(cs->raw, cs->rawlen), 0);
	changeset_destroy(&cs);
	msgpack_sbuffer_destroy(&env);
	nodekey_destroy(&k);
}

/*
 * Built unsigned, the change set carries a zero signature that does not verify;
 * changeset_sign() makes it byte for byte what changeset_build() gives (Ed25519 is
 * deterministic), and only the key whose origin it names may sign it.
 */
static void
test_build_then_sign(void **state)
{
	struct nodekey *k = tu_key(1), *other = tu_key(2);
	struct cs_header h = header(1);
	struct cs_op ops[1] = {op("organisation", EXAMPLE_ROW, "name", value_text("Gemeente"))};
	struct changeset *signed_cs = NULL, *cs = NULL;
	uint8_t zero[ARR_SIG_LEN] = {0};

	(void)state;
	assert_int_equal(changeset_build(k, &h, ops, 1, NULL, &signed_cs), 0);
	assert_int_equal(changeset_build_unsigned(k, &h, ops, 1, NULL, &cs), 0);
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
	char *big = malloc(ARR_VALUE_MAX), author[ARR_ORG_MAX + 1], name[ARR_NAME_MAX + 1];
	struct cs_header h = header(UINT64_MAX);
	struct cs_op ops[16];
	struct changeset *cs = NULL, *back = NULL;
	uint8_t *copy;
	size_t n = 0;

	(void)state;
	memset(big, 'x', ARR_VALUE_MAX);
	memset(author, 'a', ARR_ORG_MAX);
	author[ARR_ORG_MAX] = '\0';
	memset(name, 'z', ARR_NAME_MAX);
	name[ARR_NAME_MAX] = '\0';
	h.author_org = author;
	h.hlc = UINT64_MAX;
	h.schema_version = UINT32_MAX;
	ops[n++] = op("child", EXAMPLE_ROW, "ref", value_text("TD-2016-001"));
	ops[n++] = op("child", EXAMPLE_ROW, "_deleted", value_int(0));
	ops[n++] = op("x", EXAMPLE_ROW, "a", value_nil());
	ops[n++] = op("x", EXAMPLE_ROW, "a", value_int(INT64_MIN));
	ops[n++] = op("x", EXAMPLE_ROW, "a", value_int(INT64_MAX));
	ops[n++] = op("x", EXAMPLE_ROW, "a", value_int(-33));
	ops[n++] = op("x", EXAMPLE_ROW, "a", value_real(-0.0));
	ops[n++] = op("x", EXAMPLE_ROW, "a", value_real(-HUGE_VAL));
	ops[n++] = op("x", EXAMPLE_ROW, "a", value_real(0.1));
	ops[n++] = op("x", EXAMPLE_ROW, "a", value_text("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
	ops[n++] = op("x", EXAMPLE_ROW, "a", value_text(""));
	ops[n++] = op("x", EXAMPLE_ROW, "a", value_blob(blob, sizeof(blob)));
	ops[n++] = op("x", EXAMPLE_ROW, "a", value_blob(NULL, 0));
	ops[n++] = op(name, EXAMPLE_ROW, name, value_textn(big, ARR_VALUE_MAX));
	ops[n++] = op("y_9", EXAMPLE_ROW, "_", value_blob(big, ARR_VALUE_MAX));
	assert_int_equal(changeset_build(k, &h, ops, n, NULL, &cs), 0);
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
	assert_true(back->h.schema_version == UINT32_MAX && back->h.kind == CS_DATA);
	assert_true(back->h.key_id == 0 && changeset_scope_is_region(back->h.scope));
	assert_string_equal(back->h.author_org, author);
	assert_ptr_not_equal(cs->h.author_org, author); /* owned, not borrowed */
	assert_int_equal(back->body_len, back->bodylen);
	assert_null(back->policy);
	assert_int_equal(back->nops, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(back->ops[i].table, ops[i].table);
		assert_string_equal(back->ops[i].column, ops[i].column);
		assert_memory_equal(back->ops[i].row, ops[i].row, ARR_ROWID_LEN);
		assert_int_equal(value_cmp(&back->ops[i].value, &ops[i].value), 0);
		if (ops[i].value.kind == VALUE_TEXT || ops[i].value.kind == VALUE_BLOB)
			assert_ptr_not_equal(cs->ops[i].value.u.b.ptr, ops[i].value.u.b.ptr);
	}
	assert_true(signbit(back->ops[6].value.u.r));
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
	s.hdr_fields = 10;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.hdr_fields = 12;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.hdr_fields = 0;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(2);
	s.op_fields = 3;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.op_fields = 5;
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
	s.version = 3;
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
		assert_int_equal(decode_spec(&s), ARR_ETYPE);
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
	/* kind: 0 or 1 */
	s = spec_ok(1);
	s.kind = 2;
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
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
	assert_null(cs->ops);
	assert_null(cs->body);
	assert_int_equal(cs->nops, 0);
	assert_int_equal(cs->bodylen, 0);
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
	s.body_raw = (const uint8_t *)"\x91\x94";
	s.body_raw_len = 2;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.body_raw = (const uint8_t *)"\x80";
	s.body_raw_len = 1;
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	nodekey_destroy(&k);
}

/* changeset_strip: the same header and signature with a nil body; stripping twice is stable. */
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
	assert_int_equal(changeset_ref_envelope(&want, ex->hdr, ex->hdrlen, ex->sig, NULL, 0), 0);
	assert_int_equal(stublen, want.size);
	assert_memory_equal(stub, want.data, want.size);
	assert_int_equal(expect_same_as_reference(stub, stublen), 0);
	assert_int_equal(changeset_decode(stub, stublen, &st), 0);
	assert_int_equal(changeset_verify(st), 0);
	assert_null(st->body);
	assert_null(st->ops);
	assert_int_equal(st->hdrlen, ex->hdrlen);
	assert_memory_equal(st->hdr, ex->hdr, ex->hdrlen);
	assert_int_equal(st->body_len, ex->bodylen);
	assert_memory_equal(st->body_hash, ex->body_hash, ARR_HASH_LEN);
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
	FIELD(s, 0, "\xd0\x02"); /* the version in int 8 */
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
	s = spec_ok(1);
	s.table = longs;
	s.table_len = ARR_NAME_MAX;
	assert_int_equal(decode_spec(&s), 0);
	s.table_len = ARR_NAME_MAX + 1;
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
	s = spec_ok(1);
	s.column = "Code";
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.row_len = 17;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
}

static void
test_build_refuses(void **state)
{
	struct nodekey *k = tu_key(1);
	struct cs_header h = header(1);
	static struct cs_op ops[ARR_CS_MAX_OPS + 1];
	struct changeset *cs = NULL;
	uint8_t skey[ARR_SKEY_LEN] = {1};
	char longs[ARR_VALUE_MAX + 2];

	(void)state;
	memset(longs, 'a', sizeof(longs));
	longs[sizeof(longs) - 1] = '\0';
	for (size_t i = 0; i <= ARR_CS_MAX_OPS; i++)
		ops[i] = op("organisation", EXAMPLE_ROW, "code", value_int(1));
	assert_int_equal(changeset_build(k, &h, ops, ARR_CS_MAX_OPS + 1, NULL, &cs), ARR_ETOOBIG);
	assert_int_equal(changeset_build(k, &h, ops, 0, NULL, &cs), ARR_EINVAL);
	assert_int_equal(changeset_build(NULL, &h, ops, 1, NULL, &cs), ARR_EINVAL);
	assert_int_equal(changeset_build(k, NULL, ops, 1, NULL, &cs), ARR_EINVAL);
	/* the region takes no key; a case scope takes the key its key_id names */
	assert_int_equal(changeset_build(k, &h, ops, 1, skey, &cs), ARR_EINVAL);
	h.key_id = 1;
	assert_int_equal(changeset_build(k, &h, ops, 1, NULL, &cs), ARR_EINVAL);
	memcpy(h.scope, case_scope, ARR_SCOPE_LEN);
	assert_int_equal(changeset_build(k, &h, ops, 1, NULL, &cs), ARR_EINVAL);
	assert_int_equal(changeset_build(k, &h, ops, 1, skey, &cs), ARR_EINVAL);
	h.key_id = changeset_key_id(skey);
	assert_int_equal(changeset_build(k, &h, ops, 1, skey, &cs), 0);
	changeset_destroy(&cs);
	h.kind = CS_POLICY;
	assert_int_equal(changeset_build(k, &h, ops, 1, skey, &cs), ARR_EINVAL);
	h = header(0);
	assert_int_equal(changeset_build(k, &h, ops, 1, NULL, &cs), ARR_EINVAL);
	h = header(1);
	h.author_org = longs + sizeof(longs) - 1 - (ARR_ORG_MAX + 1);
	assert_int_equal(changeset_build(k, &h, ops, 1, NULL, &cs), ARR_ETOOBIG);
	h.author_org = "\xc3";
	assert_int_equal(changeset_build(k, &h, ops, 1, NULL, &cs), ARR_EINVAL);
	h = header(1);
	ops[0].table = longs + sizeof(longs) - 1 - (ARR_NAME_MAX + 1);
	assert_int_equal(changeset_build(k, &h, ops, 1, NULL, &cs), ARR_ETOOBIG);
	ops[0].table = "Organisation";
	assert_int_equal(changeset_build(k, &h, ops, 1, NULL, &cs), ARR_EINVAL);
	ops[0].table = "organisation";
	ops[0].value = value_real(NAN);
	assert_int_equal(changeset_build(k, &h, ops, 1, NULL, &cs), ARR_EINVAL);
	ops[0].value = value_textn("a\0b", 3);
	assert_int_equal(changeset_build(k, &h, ops, 1, NULL, &cs), ARR_EINVAL);
	ops[0].value = value_blob(longs, ARR_VALUE_MAX + 1);
	assert_int_equal(changeset_build(k, &h, ops, 1, NULL, &cs), ARR_ETOOBIG);
	assert_null(cs);
	nodekey_destroy(&k);
}

/* Bytes of a msgpack bin head for n bytes. */
static size_t
binhdr(size_t n)
{
	return n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5;
}

/*
 * Envelope size of ops[0..n) under h by the oracle's encoders and PROTOCOL.md's
 * arithmetic: the clear ops, sealed (nonce, padding to 256, tag) in a case scope.
 */
static size_t
crafted_size(struct nodekey *k, const struct cs_header *h, const struct cs_op *ops, size_t n)
{
	static const uint8_t hash[ARR_HASH_LEN];
	msgpack_sbuffer sb, hdr;
	size_t body, hlen;

	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_init(&hdr);
	assert_int_equal(ref_pack_ops(&sb, ops, n), 0);
	body = changeset_scope_is_region(h->scope) ? sb.size : 24 + (sb.size / 256 + 1) * 256 + 16;
	assert_int_equal(changeset_ref_header(&hdr, nodekey_public(k), h, body, hash), 0);
	hlen = hdr.size;
	msgpack_sbuffer_destroy(&hdr);
	msgpack_sbuffer_destroy(&sb);
	return 1 + binhdr(hlen) + hlen + 2 + ARR_SIG_LEN + binhdr(body) + body;
}

/*
 * Split ops with changeset_fit() under h: every piece builds within the limits, its size
 * is what the independent encoder predicts, and one more op would not have fitted.
 */
static size_t
split_all(struct nodekey *k, struct cs_header h, const uint8_t *skey, struct cs_op *ops,
          size_t nops)
{
	size_t done = 0, pieces = 0;

	while (done < nops) {
		size_t n = changeset_fit(&h, ops + done, nops - done);
		struct changeset *cs = NULL, *more = NULL;

		assert_true(n >= 1 && n <= ARR_CS_MAX_OPS);
		assert_int_equal(changeset_build(k, &h, ops + done, n, skey, &cs), 0);
		assert_true(cs->rawlen <= ARR_CS_MAX_BYTES);
		assert_int_equal(cs->nops, n);
		assert_int_equal(cs->rawlen, crafted_size(k, &h, ops + done, n));
		if (done + n < nops && n < ARR_CS_MAX_OPS) {
			assert_true(crafted_size(k, &h, ops + done, n + 1) > ARR_CS_MAX_BYTES);
			assert_int_equal(changeset_build(k, &h, ops + done, n + 1, skey, &more),
			                 ARR_ETOOBIG);
		}
		changeset_destroy(&cs);
		done += n;
		h.seq++;
		pieces++;
	}
	return pieces;
}

/* Ops of every kind and size, crossing each head's threshold. */
static void
random_values(struct tu_rng *r, struct cs_op *ops, size_t n, const char *text)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = tu_rng_below(r, 4) == 0 ? tu_rng_below(r, ARR_VALUE_MAX + 1)
		                                     : tu_rng_below(r, 300);

		switch (tu_rng_below(r, 5)) {
		case 0:
			ops[i].value = value_int((int64_t)tu_rng_next(r) >> tu_rng_below(r, 64));
			break;
		case 1:
			ops[i].value = value_real((double)tu_rng_next(r));
			break;
		case 2:
			ops[i].value = value_nil();
			break;
		case 3:
			ops[i].value = value_blob(text, len);
			break;
		default:
			ops[i].value = value_textn(text, len);
		}
	}
}

/* changeset_fit is exact in the region and in a case scope: 10,000 ops by count and by bytes. */
static void
test_fit_split(void **state)
{
	enum { N = 10000 };
	struct nodekey *k = tu_key(5);
	struct cs_op *ops = calloc(N, sizeof(*ops));
	char *text = malloc(ARR_VALUE_MAX);
	uint8_t skey[ARR_SKEY_LEN];
	struct tu_rng r;
	uint64_t seed = tu_seed(10000);
	struct cs_header h = header(1), hc = header(1);

	(void)state;
	printf("seed %llu\n", (unsigned long long)seed);
	tu_rng_seed(&r, seed);
	memset(text, 'T', ARR_VALUE_MAX);
	changeset_key_new(skey);
	memcpy(hc.scope, case_scope, ARR_SCOPE_LEN);
	hc.key_id = changeset_key_id(skey);
	for (size_t i = 0; i < N; i++) {
		ops[i] = op("arrangement", EXAMPLE_ROW, "summary", value_int((int64_t)i));
		ops[i].row[15] = (uint8_t)i;
	}
	assert_int_equal(changeset_fit(&h, ops, N), ARR_CS_MAX_OPS);
	assert_int_equal(changeset_fit(&hc, ops, N), ARR_CS_MAX_OPS);
	assert_int_equal(changeset_fit(&h, ops, 5), 5);
	assert_int_equal(changeset_fit(&h, ops, 0), 0);
	assert_int_equal(split_all(k, h, NULL, ops, N), 3); /* 4096 + 4096 + 1808 */
	assert_int_equal(split_all(k, hc, skey, ops, N), 3);
	random_values(&r, ops, N, text);
	assert_true(split_all(k, h, NULL, ops, N) > 3);
	assert_true(split_all(k, hc, skey, ops, N) > 3);
	free(text);
	free(ops);
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
		       (size_t)(cs->hdr - cs->raw), cs->hdrlen, (size_t)(cs->body - cs->raw),
		       cs->bodylen);
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

static const uint8_t diff_vals[] = {
    0x00, 0x01, 0x0f, 0x10, 0x1f, 0x20, 0x7f, 0x80, 0x8f, 0x90, 0x91, 0x92, 0x94, 0x98, 0x9f,
    0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc,
    0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb,
    0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff, 'a',  '_',  '-',  0x40, 0x41, 0x3f};

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
		size_t n = ex->bodylen, edits = 1 + tu_rng_below(&rng, 3);

		memcpy(buf, ex->body, n);
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
		assert_int_equal(changeset_ref_wrap(k, &ex->h, buf, n, &env), 0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_craft_matches_build),
	    cmocka_unit_test(test_build_then_sign),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_bitflips),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_shape),
	    cmocka_unit_test(test_header_fields),
	    cmocka_unit_test(test_body_hash),
	    cmocka_unit_test(test_strip),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_noncanon),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_limits_decode),
	    cmocka_unit_test(test_build_refuses),
	    cmocka_unit_test(test_fit_split),
	    cmocka_unit_test(test_worked_example),
	    cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
