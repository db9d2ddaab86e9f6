/*
 * test_changeset.c: change sets: round trips, signatures under every single-bit flip,
 * truncation at every length, each limit and each non-canonical form with its error
 * code, hostile msgpack headers, exact splitting of 10,000 ops, and the worked example
 * of PROTOCOL.md byte for byte (the test reads the hex from the spec itself).
 *
 * Hand-made envelopes come from craft(), an independent encoder written directly with
 * msgpack-c's packer, so the tests do not trust changeset.c's own encoder or sizes.
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

#include "arrerr.h"
#include "changeset.h"
#include "changeset_ref.h"
#include "hlc.h"
#include "rowid.h"
#include "testutil.h"

#define EXAMPLE_ROW "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13"
#define EXAMPLE_HLC hlc_make(1764000000000ull, 0)

static struct cs_header
header(uint64_t seq)
{
	struct cs_header h = {
	    .seq = seq,
	    .hlc = EXAMPLE_HLC,
	    .author_org = "Gemeente Testdorp",
	    .schema_version = ARR_SCHEMA_VERSION,
	    .scope = ARR_SCOPE_REGION,
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

/* The worked example of PROTOCOL.md. */
static struct changeset *
build_example(struct nodekey *k)
{
	struct cs_header h = header(1);
	struct cs_op ops[2];
	struct changeset *cs = NULL;

	ops[0] = op("organisation", EXAMPLE_ROW, "kind", value_text("gemeente"));
	ops[1] = op("organisation", EXAMPLE_ROW, "code", value_text("9901"));
	assert_int_equal(changeset_build(k, &h, ops, 2, &cs), 0);
	return cs;
}

/* ---- the reference decoder as an oracle ---- */

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
		for (size_t i = 0; i < len && i < 96; i++)
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
	uint64_t version;
	size_t body_fields; /* 8 */
	size_t origin_len;  /* 32 */
	uint64_t seq;
	const char *author;
	size_t author_len;
	uint64_t schema;
	const char *scope;
	size_t scope_len;
	size_t nops;
	size_t op_fields; /* 4 */
	const char *table, *column;
	size_t table_len, column_len, row_len;
	const uint8_t *value_raw; /* verbatim bytes of op 0's value; NULL: int i for op i */
	size_t value_raw_len;
	const uint8_t *field_raw; /* verbatim bytes replacing body field field_at */
	size_t field_raw_len, field_at;
	bool body_trailing; /* a byte after the body array, inside the bin */
	bool body_bin32;    /* bin 32 header for the body, however short */
	size_t sig_len;     /* 64 */
	bool sig_bin16;
	bool env_trailing; /* a byte after the envelope */
};

static struct spec
spec_ok(size_t nops)
{
	struct spec s;

	memset(&s, 0, sizeof(s));
	s.version = ARR_FORMAT_VERSION;
	s.body_fields = 8;
	s.origin_len = ARR_ORIGIN_LEN;
	s.seq = 1;
	s.author = "Gemeente Testdorp";
	s.author_len = strlen(s.author);
	s.schema = ARR_SCHEMA_VERSION;
	s.scope = "region";
	s.scope_len = 6;
	s.nops = nops;
	s.op_fields = 4;
	s.table = "organisation";
	s.table_len = strlen(s.table);
	s.column = "code";
	s.column_len = 4;
	s.row_len = ARR_ROWID_LEN;
	s.field_at = SIZE_MAX;
	s.sig_len = ARR_SIG_LEN;
	return s;
}

static void
raw(msgpack_sbuffer *sb, const void *p, size_t n)
{
	assert_int_equal(msgpack_sbuffer_write(sb, p, n), 0);
}

/* Body bytes of spec s (signed by k when it gets wrapped). */
static void
craft_body(const struct spec *s, const uint8_t *origin, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	uint8_t row[ARR_ROWID_LEN + 1];

	memset(row, 0xab, sizeof(row));
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, s->body_fields);
	for (size_t f = 0; f < s->body_fields; f++) {
		if (f == s->field_at) {
			raw(sb, s->field_raw, s->field_raw_len);
			continue;
		}
		switch (f) {
		case 0:
			msgpack_pack_uint64(&pk, s->version);
			break;
		case 1:
			msgpack_pack_bin(&pk, s->origin_len);
			msgpack_pack_bin_body(&pk, origin, s->origin_len);
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
			msgpack_pack_str_with_body(&pk, s->scope, s->scope_len);
			break;
		case 7:
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
			break;
		default:
			msgpack_pack_nil(&pk);
		}
	}
	if (s->body_trailing)
		raw(sb, "\xc0", 1);
}

/* Wrap body bytes in an envelope with a real signature by k. */
static void
wrap(const struct spec *s, struct nodekey *k, const msgpack_sbuffer *body, msgpack_sbuffer *env)
{
	msgpack_packer pk;
	uint8_t sig[ARR_SIG_LEN + 1];
	uint8_t hdr[5];

	memset(sig, 0, sizeof(sig));
	assert_int_equal(nodekey_sign(k, (const uint8_t *)body->data, body->size, sig), 0);
	msgpack_packer_init(&pk, env, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	if (s->body_bin32) {
		hdr[0] = 0xc6;
		hdr[1] = (uint8_t)(body->size >> 24);
		hdr[2] = (uint8_t)(body->size >> 16);
		hdr[3] = (uint8_t)(body->size >> 8);
		hdr[4] = (uint8_t)body->size;
		raw(env, hdr, 5);
		raw(env, body->data, body->size);
	} else {
		msgpack_pack_bin_with_body(&pk, body->data, body->size);
	}
	if (s->sig_bin16) {
		hdr[0] = 0xc5;
		hdr[1] = 0;
		hdr[2] = (uint8_t)s->sig_len;
		raw(env, hdr, 3);
		raw(env, sig, s->sig_len);
	} else {
		msgpack_pack_bin_with_body(&pk, sig, s->sig_len);
	}
	if (s->env_trailing)
		raw(env, "\x00", 1);
}

/* Envelope of spec s signed by k, in *out (caller destroys). */
static void
craft(const struct spec *s, struct nodekey *k, msgpack_sbuffer *out)
{
	msgpack_sbuffer body;

	msgpack_sbuffer_init(&body);
	craft_body(s, nodekey_public(k), &body);
	msgpack_sbuffer_init(out);
	wrap(s, k, &body, out);
	msgpack_sbuffer_destroy(&body);
}

/* decode(craft(s)); the decoded set, if any, is verified and destroyed. */
static int
decode_spec(const struct spec *s)
{
	struct nodekey *k = tu_key(1);
	msgpack_sbuffer env;
	struct changeset *cs = (struct changeset *)&env; /* must become NULL on error */
	int rc;

	craft(s, k, &env);
	rc = changeset_decode((const uint8_t *)env.data, env.size, &cs);
	/* every hand-made case gives the reference decoder's answer too */
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

/* The independent encoder and changeset_build agree on a plain change set. */
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
	assert_int_equal(changeset_build(k, &h, ops, 3, &cs), 0);
	assert_int_equal(cs->rawlen, env.size);
	assert_memory_equal(cs->raw, env.data, env.size);
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
	struct cs_op ops[2];
	struct changeset *signed_cs = NULL, *cs = NULL;
	uint8_t zero[ARR_SIG_LEN] = {0};

	(void)state;
	for (int i = 0; i < 2; i++) {
		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].table = "organisation";
		ops[i].column = "name";
		memset(ops[i].row, 0x11 * (i + 1), ARR_ROWID_LEN);
		ops[i].value = value_text("Gemeente");
	}
	assert_int_equal(changeset_build(k, &h, ops, 2, &signed_cs), 0);
	assert_int_equal(changeset_build_unsigned(k, &h, ops, 2, &cs), 0);
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

static void
test_roundtrip(void **state)
{
	struct nodekey *k = tu_key(3);
	static const uint8_t blob[] = {0x00, 0xff, 0x10};
	char *big = malloc(ARR_VALUE_MAX);
	char author[ARR_ORG_MAX + 1], scope[ARR_SCOPE_MAX + 1], name[ARR_NAME_MAX + 1];
	struct cs_header h = header(UINT64_MAX);
	struct cs_op ops[16];
	struct changeset *cs = NULL, *back = NULL;
	size_t n = 0;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', ARR_VALUE_MAX);
	memset(author, 'a', ARR_ORG_MAX);
	author[ARR_ORG_MAX] = '\0';
	memset(scope, 's', ARR_SCOPE_MAX);
	scope[ARR_SCOPE_MAX] = '\0';
	memset(name, 'z', ARR_NAME_MAX);
	name[ARR_NAME_MAX] = '\0';
	h.author_org = author;
	h.scope = scope;
	h.hlc = UINT64_MAX;
	h.schema_version = UINT32_MAX;
	ops[n++] = op("child", EXAMPLE_ROW, "ref", value_text("TD-2016-001"));
	ops[n++] = op("child", EXAMPLE_ROW, "birth_year", value_int(2016));
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
	assert_int_equal(changeset_build(k, &h, ops, n, &cs), 0);
	assert_int_equal(changeset_verify(cs), 0);
	assert_int_equal(changeset_decode(cs->raw, cs->rawlen, &back), 0);
	assert_int_equal(changeset_verify(back), 0);
	assert_memory_equal(back->origin, nodekey_public(k), ARR_ORIGIN_LEN);
	assert_true(back->h.seq == UINT64_MAX && back->h.hlc == UINT64_MAX);
	assert_true(back->h.schema_version == UINT32_MAX);
	assert_string_equal(back->h.author_org, author);
	assert_string_equal(back->h.scope, scope);
	assert_int_equal(back->nops, n);
	assert_int_equal(back->rawlen, cs->rawlen);
	assert_memory_equal(back->raw, cs->raw, cs->rawlen);
	assert_ptr_not_equal(back->raw, cs->raw); /* buf is copied */
	/* changeset_build makes its struct without decoding: it must equal the decoded one */
	assert_int_equal(cs->bodylen, back->bodylen);
	assert_int_equal(cs->body - cs->raw, back->body - back->raw);
	assert_int_equal(cs->sig - cs->raw, back->sig - back->raw);
	assert_memory_equal(cs->origin, back->origin, ARR_ORIGIN_LEN);
	assert_true(cs->h.seq == back->h.seq && cs->h.hlc == back->h.hlc);
	assert_true(cs->h.schema_version == back->h.schema_version);
	assert_string_equal(cs->h.author_org, back->h.author_org);
	assert_string_equal(cs->h.scope, back->h.scope);
	assert_ptr_not_equal(cs->h.author_org, author); /* owned, not borrowed */
	assert_int_equal(cs->nops, back->nops);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(cs->ops[i].table, back->ops[i].table);
		assert_string_equal(cs->ops[i].column, back->ops[i].column);
		assert_memory_equal(cs->ops[i].row, back->ops[i].row, ARR_ROWID_LEN);
		assert_int_equal(value_cmp(&cs->ops[i].value, &back->ops[i].value), 0);
		assert_int_equal(cs->ops[i].value.kind, back->ops[i].value.kind);
		if (cs->ops[i].value.kind == VALUE_TEXT || cs->ops[i].value.kind == VALUE_BLOB)
			assert_ptr_not_equal(cs->ops[i].value.u.b.ptr, ops[i].value.u.b.ptr);
	}
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(back->ops[i].table, ops[i].table);
		assert_string_equal(back->ops[i].column, ops[i].column);
		assert_memory_equal(back->ops[i].row, ops[i].row, ARR_ROWID_LEN);
		assert_int_equal(value_cmp(&back->ops[i].value, &ops[i].value), 0);
	}
	assert_true(signbit(back->ops[7].value.u.r));
	/* body and sig point inside raw */
	assert_true(back->body > back->raw &&
	            back->body + back->bodylen <= back->raw + back->rawlen);
	assert_ptr_equal(back->sig, back->raw + back->rawlen - ARR_SIG_LEN);
	changeset_destroy(&back);
	changeset_destroy(&cs);
	assert_null(cs);
	changeset_destroy(&cs);
	changeset_destroy(NULL);
	free(big);
	nodekey_destroy(&k);
}

/* The decoded change set owns its memory: scribbling over the input changes nothing. */
static void
test_owns_memory(void **state)
{
	struct nodekey *k = tu_key(1);
	struct changeset *ex = build_example(k), *cs = NULL;
	uint8_t *copy = malloc(ex->rawlen);

	(void)state;
	memcpy(copy, ex->raw, ex->rawlen);
	assert_int_equal(changeset_decode(copy, ex->rawlen, &cs), 0);
	memset(copy, 0x5a, ex->rawlen);
	free(copy);
	assert_int_equal(changeset_verify(cs), 0);
	assert_string_equal(cs->ops[0].table, "organisation");
	assert_string_equal(cs->ops[1].column, "code");
	assert_string_equal(cs->h.author_org, "Gemeente Testdorp");
	assert_int_equal(cs->ops[0].value.u.b.len, 8);
	assert_memory_equal(cs->ops[0].value.u.b.ptr, "gemeente", 8);
	changeset_destroy(&cs);
	changeset_destroy(&ex);
	nodekey_destroy(&k);
}

/* No single-bit change of a signed envelope both decodes and verifies. */
static void
test_bitflips(void **state)
{
	struct nodekey *k = tu_key(1);
	struct changeset *ex = build_example(k);
	uint8_t *buf = malloc(ex->rawlen);
	size_t decoded = 0;

	(void)state;
	for (size_t bit = 0; bit < ex->rawlen * 8; bit++) {
		struct changeset *cs = NULL;
		int rc;

		memcpy(buf, ex->raw, ex->rawlen);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = changeset_decode(buf, ex->rawlen, &cs);
		if (rc == 0) {
			decoded++;
			if (changeset_verify(cs) == 0)
				fail_msg("bit %zu: flipped envelope decodes and verifies", bit);
			changeset_destroy(&cs);
		} else {
			assert_true(rc < 0);
			assert_null(cs);
		}
	}
	/* flips inside strings, ids and the signature still decode: verify catches them */
	assert_true(decoded > 0);
	free(buf);
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

static void
test_trailing_bytes(void **state)
{
	struct spec s = spec_ok(2);

	(void)state;
	assert_int_equal(decode_spec(&s), 0);
	s.env_trailing = true;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(2);
	s.body_trailing = true;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
}

static void
test_version(void **state)
{
	struct spec s = spec_ok(1);

	(void)state;
	s.version = 2;
	assert_int_equal(decode_spec(&s), ARR_EVERSION);
	s.version = 0;
	assert_int_equal(decode_spec(&s), ARR_EVERSION);
	/* a later version may have another shape; the version is reported first */
	s.version = 2;
	s.body_fields = 3;
	assert_int_equal(decode_spec(&s), ARR_EVERSION);
	s = spec_ok(1);
	s.field_at = 0;
	s.field_raw = (const uint8_t *)"\xa1"
	                               "1";
	s.field_raw_len = 2;
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
}

static void
test_limits_decode(void **state)
{
	char longs[ARR_VALUE_MAX + 2];
	uint8_t *val = malloc(ARR_VALUE_MAX + 8);
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

	s = spec_ok(1);
	s.scope = longs;
	s.scope_len = ARR_SCOPE_MAX;
	assert_int_equal(decode_spec(&s), 0);
	s.scope_len = ARR_SCOPE_MAX + 1;
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
	s.scope_len = 0;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);

	s = spec_ok(1);
	s.table = longs;
	s.table_len = ARR_NAME_MAX;
	assert_int_equal(decode_spec(&s), 0);
	s.table_len = ARR_NAME_MAX + 1;
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
	s = spec_ok(1);
	s.column = longs;
	s.column_len = ARR_NAME_MAX + 1;
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);

	/* text value: str 32 header, ARR_VALUE_MAX and one more */
	s = spec_ok(1);
	val[0] = 0xdb;
	val[1] = 0;
	val[2] = (uint8_t)(ARR_VALUE_MAX >> 16);
	val[3] = (uint8_t)(ARR_VALUE_MAX >> 8);
	val[4] = (uint8_t)ARR_VALUE_MAX;
	memset(val + 5, 'v', ARR_VALUE_MAX + 1);
	s.value_raw = val;
	s.value_raw_len = 5 + ARR_VALUE_MAX;
	assert_int_equal(decode_spec(&s), 0);
	val[4]++;
	s.value_raw_len++;
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
	val[0] = 0xc6; /* bin 32 */
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
	val[4]--;
	s.value_raw_len--;
	assert_int_equal(decode_spec(&s), 0);
	free(val);
}

static void
test_bad_fields(void **state)
{
	static const char *const bad_names[] = {"Organisation", "1abc",     "a-b",
	                                        "a b",          "\xc3\xa9", "organisation\n"};
	struct spec s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		s = spec_ok(1);
		s.table = bad_names[i];
		s.table_len = strlen(bad_names[i]);
		assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
		s = spec_ok(1);
		s.column = bad_names[i];
		s.column_len = strlen(bad_names[i]);
		assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	}
	s = spec_ok(1);
	s.table_len = 0;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.table = "a\0b";
	s.table_len = 3;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.table = "_x9";
	s.table_len = 3;
	assert_int_equal(decode_spec(&s), 0);

	s = spec_ok(1);
	s.author = "Gemeente\0Testdorp";
	s.author_len = 17;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s.author = "Gemeente \xff";
	s.author_len = 10;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);

	s = spec_ok(1);
	s.seq = 0;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.schema = (uint64_t)UINT32_MAX + 1;
	assert_int_equal(decode_spec(&s), ARR_ETOOBIG);
	s = spec_ok(1);
	s.origin_len = 31;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.row_len = 17;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.op_fields = 5;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.body_fields = 9;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	s = spec_ok(1);
	s.sig_len = 63;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);

	/* a field of the wrong type: seq as str, author as bin, ops as map */
	s = spec_ok(1);
	s.field_at = 2;
	s.field_raw = (const uint8_t *)"\xa1"
	                               "1";
	s.field_raw_len = 2;
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	s.field_at = 4;
	s.field_raw = (const uint8_t *)"\xc4\x01x";
	s.field_raw_len = 3;
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	s.field_at = 7;
	s.field_raw = (const uint8_t *)"\x80";
	s.field_raw_len = 1;
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	s.field_at = 1;
	s.field_raw = (const uint8_t *)"\xc0";
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
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
	/* canonical forms */
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
	/* integers in a longer form than needed */
	assert_int_equal(VAL("\xcf\x00\x00\x00\x00\x00\x00\x00\x05"), ARR_ENONCANON);
	assert_int_equal(VAL("\xcc\x05"), ARR_ENONCANON);
	assert_int_equal(VAL("\xd0\x05"), ARR_ENONCANON); /* int 8 for a positive */
	assert_int_equal(VAL("\xd3\xff\xff\xff\xff\xff\xff\xff\xff"), ARR_ENONCANON); /* -1 */
	assert_int_equal(VAL("\xd1\xff\xc0"), ARR_ENONCANON); /* -64 as int 16 */
	assert_int_equal(VAL("\xd1\xff\x7f"), 0);             /* -129 needs int 16 */
	/* out of int64 range */
	assert_int_equal(VAL("\xcf\x80\x00\x00\x00\x00\x00\x00\x00"), ARR_ETYPE);
	/* floats: float 32 and NaN refused */
	assert_int_equal(VAL("\xca\x3f\x80\x00\x00"), ARR_ENONCANON);
	assert_int_equal(VAL("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"), ARR_ENONCANON);
	assert_int_equal(VAL("\xcb\xff\xf0\x00\x00\x00\x00\x00\x01"), ARR_ENONCANON);
	/* strings and blobs in a longer form */
	assert_int_equal(VAL("\xd9\x01x"), ARR_ENONCANON);
	assert_int_equal(VAL("\xda\x00\x01x"), ARR_ENONCANON);
	assert_int_equal(VAL("\xc5\x00\x01x"), ARR_ENONCANON);
	/* text must be UTF-8 without NUL */
	assert_int_equal(VAL("\xa2\xc3\x28"), ARR_EMALFORMED);
	assert_int_equal(VAL("\xa1\x00"), ARR_EMALFORMED);
	assert_int_equal(VAL("\xa3\xed\xa0\x80"), ARR_EMALFORMED);
	/* types that are not values */
	assert_int_equal(VAL("\xc3"), ARR_ETYPE);
	assert_int_equal(VAL("\xc2"), ARR_ETYPE);
	assert_int_equal(VAL("\x80"), ARR_ETYPE);
	assert_int_equal(VAL("\x90"), ARR_ETYPE);
	assert_int_equal(VAL("\xd4\x01\x00"), ARR_ETYPE);
}

/* One op [x, row, y, 1] in an array 16 header (not canonical) and in a fixarray. */
#define OP1                                                                                        \
	"\x94\xa1x\xc4\x10"                                                                        \
	"0123456789abcdef\xa1y\x01"
#define OPS16 "\xdc\x00\x01" OP1
#define OPS1  "\x91" OP1

/* Non-canonical headers elsewhere: the array, the body bin, the signature bin. */
static void
test_noncanon_headers(void **state)
{
	struct spec s = spec_ok(1);

	(void)state;
	s.body_bin32 = true;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	s = spec_ok(1);
	s.sig_bin16 = true;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	s = spec_ok(1);
	s.field_at = 2; /* seq 1 as uint 16 */
	s.field_raw = (const uint8_t *)"\xcd\x00\x01";
	s.field_raw_len = 3;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	s = spec_ok(1);
	s.field_at = 7; /* ops as array 16 */
	s.field_raw = (const uint8_t *)OPS16;
	s.field_raw_len = sizeof(OPS16) - 1;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	s.field_raw = (const uint8_t *)OPS1;
	s.field_raw_len = sizeof(OPS1) - 1;
	assert_int_equal(decode_spec(&s), 0);
}

/* Hostile headers and shapes fail without allocating for their claims. */
static void
test_hostile(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
	} cases[] = {
	    {"\xdd\xff\xff\xff\xff", 5},         /* array 32 of 4G elements */
	    {"\x92\xdd\xff\xff\xff\xff\xc0", 7}, /* nested */
	    {"\xdf\xff\xff\xff\xff", 5},         /* map 32 */
	    {"\x92\xc6\xff\xff\xff\xff\xc0", 7}, /* bin 32 past the end */
	    {"\x92\xdb\x00\x00\x00\x10", 6},     /* str 32 past the end */
	    {"\x92\xc9\x00\x00\x00\x01", 6},     /* ext 32 past the end */
	    {"\xc1", 1},                         /* never used */
	    {"\x92\xc4\x02\x91\xc0\xc4\x40", 7}, /* sig missing */
	    {"\x92\xc4\x03\x91\xc0\xc0", 6},     /* body shorter than its header */
	    {"\xc0", 1},                         /* not an array */
	    {"\x91\xc4\x01\xc0", 4},             /* one element */
	    {"\x92\xc4\x01\x90\xc4\x00", 6},     /* sig empty */
	};
	uint8_t deep[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct changeset *cs = NULL;
		int rc = changeset_decode((const uint8_t *)cases[i].bytes, cases[i].len, &cs);

		if (rc != ARR_EMALFORMED && rc != ARR_ETYPE)
			fail_msg("case %zu: %s", i, arrerr_name(rc));
		assert_null(cs);
	}
	assert_int_equal(changeset_msgpack_check((const uint8_t *)"\xdd\xff\xff\xff\xff", 5),
	                 ARR_EMALFORMED);
	memset(deep, 0x91, sizeof(deep));
	deep[sizeof(deep) - 1] = 0xc0;
	assert_int_equal(changeset_msgpack_check(deep, sizeof(deep)), ARR_EMALFORMED);
	assert_int_equal(changeset_msgpack_check(deep + sizeof(deep) - 33, 33), 0);
	assert_int_equal(changeset_msgpack_check(deep + sizeof(deep) - 34, 34), ARR_EMALFORMED);
	assert_int_equal(changeset_msgpack_check((const uint8_t *)"\x92\x01\x02", 3), 0);
	assert_int_equal(changeset_msgpack_check((const uint8_t *)"\x92\x01\x02\x03", 4),
	                 ARR_EMALFORMED);
	assert_int_equal(changeset_msgpack_check((const uint8_t *)"\x82\x01\x02\x03", 4),
	                 ARR_EMALFORMED);
	assert_int_equal(changeset_msgpack_check((const uint8_t *)"\x81\x01\x02", 3), 0);
	assert_int_equal(changeset_msgpack_check((const uint8_t *)"", 0), ARR_EMALFORMED);
}

static void
test_too_long_input(void **state)
{
	uint8_t *buf = calloc(1, ARR_CS_MAX_BYTES + 1);
	struct changeset *cs = NULL;

	(void)state;
	assert_int_equal(changeset_decode(buf, ARR_CS_MAX_BYTES + 1, &cs), ARR_ETOOBIG);
	assert_null(cs);
	assert_int_equal(changeset_decode(NULL, 0, &cs), ARR_EMALFORMED);
	free(buf);
}

static void
test_build_refuses(void **state)
{
	struct nodekey *k = tu_key(1);
	struct cs_header h = header(1);
	struct cs_op ops[ARR_CS_MAX_OPS + 1], o;
	struct changeset *cs = NULL;
	char longs[ARR_VALUE_MAX + 2];

	(void)state;
	memset(longs, 'a', sizeof(longs));
	longs[sizeof(longs) - 1] = '\0';
	o = op("organisation", EXAMPLE_ROW, "code", value_int(1));
	for (size_t i = 0; i <= ARR_CS_MAX_OPS; i++)
		ops[i] = o;
	assert_int_equal(changeset_build(k, &h, ops, ARR_CS_MAX_OPS + 1, &cs), ARR_ETOOBIG);
	assert_null(cs);
	assert_int_equal(changeset_build(k, &h, ops, ARR_CS_MAX_OPS, &cs), 0);
	assert_int_equal(cs->nops, ARR_CS_MAX_OPS);
	changeset_destroy(&cs);
	assert_int_equal(changeset_build(k, &h, ops, 0, &cs), ARR_EINVAL);
	assert_int_equal(changeset_build(NULL, &h, ops, 1, &cs), ARR_EINVAL);
	assert_int_equal(changeset_build(k, NULL, ops, 1, &cs), ARR_EINVAL);

	h.seq = 0;
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_EINVAL);
	h = header(1);
	h.author_org = longs + sizeof(longs) - 1 - (ARR_ORG_MAX + 1);
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_ETOOBIG);
	h.author_org = "";
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_EINVAL);
	h.author_org = "\xc3";
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_EINVAL);
	h = header(1);
	h.scope = longs + sizeof(longs) - 1 - (ARR_SCOPE_MAX + 1);
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_ETOOBIG);
	h = header(1);

	ops[0].table = longs + sizeof(longs) - 1 - (ARR_NAME_MAX + 1);
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_ETOOBIG);
	ops[0].table = "Organisation";
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_EINVAL);
	ops[0].table = "organisation";
	ops[0].column = "9code";
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_EINVAL);
	ops[0].column = "code";
	ops[0].value = value_real(NAN);
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_EINVAL);
	ops[0].value = value_textn("a\0b", 3);
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_EINVAL);
	ops[0].value = value_textn(longs, ARR_VALUE_MAX + 1);
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_ETOOBIG);
	ops[0].value = value_blob(longs, ARR_VALUE_MAX + 1);
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_ETOOBIG);
	ops[0].value.kind = VALUE_TEXT;
	ops[0].value.u.b.ptr = NULL;
	ops[0].value.u.b.len = 3;
	assert_int_equal(changeset_build(k, &h, ops, 1, &cs), ARR_EINVAL);
	assert_null(cs);
	nodekey_destroy(&k);
}

/* Envelope size of ops[0..n) by the independent encoder. */
static size_t
crafted_size(struct nodekey *k, const struct cs_header *h, const struct cs_op *ops, size_t n)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t body, bin;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 8);
	msgpack_pack_uint64(&pk, ARR_FORMAT_VERSION);
	msgpack_pack_bin_with_body(&pk, nodekey_public(k), ARR_ORIGIN_LEN);
	msgpack_pack_uint64(&pk, h->seq);
	msgpack_pack_uint64(&pk, h->hlc);
	msgpack_pack_str_with_body(&pk, h->author_org, strlen(h->author_org));
	msgpack_pack_uint64(&pk, h->schema_version);
	msgpack_pack_str_with_body(&pk, h->scope, strlen(h->scope));
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++) {
		const struct value *v = &ops[i].value;

		msgpack_pack_array(&pk, 4);
		msgpack_pack_str_with_body(&pk, ops[i].table, strlen(ops[i].table));
		msgpack_pack_bin_with_body(&pk, ops[i].row, ARR_ROWID_LEN);
		msgpack_pack_str_with_body(&pk, ops[i].column, strlen(ops[i].column));
		if (v->kind == VALUE_INT)
			msgpack_pack_int64(&pk, v->u.i);
		else if (v->kind == VALUE_REAL)
			msgpack_pack_double(&pk, v->u.r);
		else if (v->kind == VALUE_TEXT)
			msgpack_pack_str_with_body(&pk, v->u.b.ptr, v->u.b.len);
		else if (v->kind == VALUE_BLOB)
			msgpack_pack_bin_with_body(&pk, v->u.b.ptr, v->u.b.len);
		else
			msgpack_pack_nil(&pk);
	}
	body = sb.size;
	msgpack_sbuffer_destroy(&sb);
	bin = body <= UINT8_MAX ? 2 : body <= UINT16_MAX ? 3 : 5;
	return 1 + bin + body + 2 + ARR_SIG_LEN;
}

/*
 * Split ops with changeset_fit(): every piece builds within the limits, its size is what
 * the independent encoder predicts, and one more op would not have fitted.
 */
static size_t
split_all(struct nodekey *k, struct cs_op *ops, size_t nops)
{
	struct cs_header h = header(1);
	size_t done = 0, pieces = 0;

	while (done < nops) {
		size_t n = changeset_fit(&h, ops + done, nops - done);
		struct changeset *cs = NULL;

		assert_true(n >= 1 && n <= ARR_CS_MAX_OPS);
		assert_int_equal(changeset_build(k, &h, ops + done, n, &cs), 0);
		assert_true(cs->rawlen <= ARR_CS_MAX_BYTES);
		assert_int_equal(cs->nops, n);
		assert_int_equal(cs->rawlen, crafted_size(k, &h, ops + done, n));
		if (done + n < nops && n < ARR_CS_MAX_OPS) {
			struct changeset *more = NULL;

			assert_true(crafted_size(k, &h, ops + done, n + 1) > ARR_CS_MAX_BYTES);
			assert_int_equal(changeset_build(k, &h, ops + done, n + 1, &more),
			                 ARR_ETOOBIG);
		}
		changeset_destroy(&cs);
		done += n;
		h.seq++;
		pieces++;
	}
	return pieces;
}

static void
test_fit_split(void **state)
{
	enum { N = 10000 };
	struct nodekey *k = tu_key(5);
	struct cs_op *ops = calloc(N, sizeof(*ops));
	char *text = malloc(ARR_VALUE_MAX);
	struct tu_rng r;
	uint64_t seed = tu_seed(10000);
	struct cs_header h = header(1);

	(void)state;
	printf("seed %llu\n", (unsigned long long)seed);
	tu_rng_seed(&r, seed);
	memset(text, 'T', ARR_VALUE_MAX);
	/* small ops: split by count, 4096 + 4096 + 1808 */
	for (size_t i = 0; i < N; i++) {
		ops[i] = op("arrangement", EXAMPLE_ROW, "summary", value_int((int64_t)i));
		ops[i].row[15] = (uint8_t)i;
	}
	assert_int_equal(changeset_fit(&h, ops, N), ARR_CS_MAX_OPS);
	assert_int_equal(changeset_fit(&h, ops, 5), 5);
	assert_int_equal(changeset_fit(&h, ops, 0), 0);
	assert_int_equal(split_all(k, ops, N), 3);
	/* ops of every kind and size, crossing each header threshold: split by bytes */
	for (size_t i = 0; i < N; i++) {
		size_t len;

		switch (tu_rng_below(&r, 6)) {
		case 0:
			ops[i].value = value_int((int64_t)tu_rng_next(&r) >> tu_rng_below(&r, 64));
			break;
		case 1:
			ops[i].value = value_real((double)tu_rng_next(&r));
			break;
		case 2:
			ops[i].value = value_nil();
			break;
		case 3:
			len = tu_rng_below(&r, 4) == 0 ? tu_rng_below(&r, ARR_VALUE_MAX + 1)
			                               : tu_rng_below(&r, 300);
			ops[i].value = value_blob(text, len);
			break;
		default:
			len = tu_rng_below(&r, 4) == 0 ? tu_rng_below(&r, ARR_VALUE_MAX + 1)
			                               : tu_rng_below(&r, 300);
			ops[i].value = value_textn(text, len);
			break;
		}
	}
	assert_true(split_all(k, ops, N) > 3);
	free(text);
	free(ops);
	nodekey_destroy(&k);
}

/* Hex digits between the example markers of PROTOCOL.md, as bytes. */
static uint8_t *
spec_example(size_t *len)
{
	const char *dir = getenv("ARRANG_SOURCE_DIR");
	char *path, *text, *begin, *end, *line;
	uint8_t *out;
	FILE *f;
	long n;

	if (dir == NULL)
		dir = ".";
	path = tu_path(dir, "protocol/PROTOCOL.md");
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (set ARRANG_SOURCE_DIR)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	free(path);
	begin = strstr(text, "<!-- example-hex-begin -->\n");
	assert_non_null(begin);
	begin += strlen("<!-- example-hex-begin -->\n");
	end = strstr(begin, "<!-- example-hex-end -->");
	assert_non_null(end);
	*end = '\0';
	out = malloc((size_t)(end - begin) / 2 + 1);
	*len = 0;
	for (line = strtok(begin, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (strncmp(line, "```", 3) == 0)
			continue;
		for (char *p = line; *p != '\0'; p++) {
			unsigned v;

			if (*p == ' ')
				continue;
			if (sscanf(p, "%2x", &v) != 1 || p[1] == '\0' || p[1] == ' ')
				fail_msg("bad hex in the example: \"%s\"", line);
			out[(*len)++] = (uint8_t)v;
			p++;
		}
	}
	free(text);
	return out;
}

static void
print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x%s", p[i], i % 16 == 15 || i + 1 == n ? "\n" : " ");
}

/* PROTOCOL.md, "Worked example": the spec's bytes are the code's bytes. */
static void
test_worked_example(void **state)
{
	struct nodekey *k = tu_key(1);
	struct changeset *cs = build_example(k), *back = NULL;
	char hex[NODEKEY_HEX_LEN + 1];
	uint8_t *want;
	size_t wantlen;

	(void)state;
	want = spec_example(&wantlen);
	if (wantlen != cs->rawlen || memcmp(want, cs->raw, wantlen) != 0) {
		nodekey_hex(nodekey_public(k), hex);
		printf("public key %s\nbody at %zu, %zu bytes; envelope:\n", hex,
		       (size_t)(cs->body - cs->raw), cs->bodylen);
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

/* Every kind and size class of value, names that repeat and change, for mutation. */
static struct changeset *
build_rich(struct nodekey *k, bool big)
{
	static char fill[70000];
	static const double reals[] = {0.0, -0.0, 1.5, -2.25e300, INFINITY, -INFINITY};
	static const int64_t ints[] = {0,
	                               1,
	                               127,
	                               128,
	                               255,
	                               256,
	                               65535,
	                               65536,
	                               -1,
	                               -32,
	                               -33,
	                               -128,
	                               -129,
	                               -32768,
	                               -32769,
	                               INT32_MIN,
	                               (int64_t)INT32_MIN - 1,
	                               INT64_MIN,
	                               INT64_MAX,
	                               4294967295,
	                               4294967296};
	static const size_t lens[] = {0, 1, 31, 32, 255, 256, 65535, 65536};
	struct cs_op ops[64];
	struct cs_header h = header(7);
	struct changeset *cs = NULL;
	size_t n = 0;

	memset(fill, 'x', sizeof(fill));
	fill[3] = '\xc3'; /* some UTF-8 in the long texts */
	fill[4] = '\xa9';
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		ops[n++] =
		    op("child", EXAMPLE_ROW, i % 2 ? "birth_year" : "ref", value_int(ints[i]));
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++)
		ops[n++] = op("funding_share", EXAMPLE_ROW, "amount_cents", value_real(reals[i]));
	/* texts and blobs of 64 KiB make each decode slow: only for the one exact check */
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]) - (big ? 0 : 2); i++) {
		ops[n++] = op("arrangement", EXAMPLE_ROW, "summary", value_textn(fill, lens[i]));
		ops[n++] = op("arrangement", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "summary",
		              value_blob(fill, lens[i]));
	}
	ops[n++] = op("organisation", EXAMPLE_ROW, "kind", value_nil());
	ops[n++] = op("organisation", EXAMPLE_ROW, "kind", value_text("caf\xc3\xa9"));
	assert_int_equal(changeset_build(k, &h, ops, n, &cs), 0);
	return cs;
}

static const uint8_t diff_vals[] = {
    0x00, 0x01, 0x0f, 0x10, 0x1f, 0x20, 0x7f, 0x80, 0x8f, 0x90, 0x91, 0x92, 0x94, 0x98, 0x9f,
    0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc,
    0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb,
    0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff, 'a',  '_',  '-',  0x40, 0x41, 0x3f};

/* Every byte of ex replaced by each interesting value, then every prefix; codes counted. */
static void
diff_bytes(const struct changeset *ex, uint8_t *buf, size_t codes[8])
{
	for (size_t pos = 0; pos < ex->rawlen; pos++) {
		for (size_t v = 0; v < sizeof(diff_vals); v++) {
			int rc;

			memcpy(buf, ex->raw, ex->rawlen);
			buf[pos] = diff_vals[v];
			rc = expect_same_as_reference(buf, ex->rawlen);
			codes[-rc < 8 && rc <= 0 ? -rc : 7]++;
		}
	}
	for (size_t len = 0; len < ex->rawlen; len++)
		expect_same_as_reference(ex->raw, len);
}

/*
 * Nesting around msgpack-c's limit (32 open containers) as the body, and as op 0's
 * value: the walk and msgpack-c must draw the line at the same depth.
 */
static void
diff_nesting(void)
{
	for (size_t depth = 28; depth <= 36; depth++) {
		msgpack_sbuffer env;
		msgpack_packer pk;
		uint8_t nest[64], sig[ARR_SIG_LEN] = {0};
		struct spec sp = spec_ok(1);

		memset(nest, 0x91, depth);
		nest[depth] = 0x01;
		msgpack_sbuffer_init(&env);
		msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_bin_with_body(&pk, nest, depth + 1);
		msgpack_pack_bin_with_body(&pk, sig, sizeof(sig));
		expect_same_as_reference((const uint8_t *)env.data, env.size);
		msgpack_sbuffer_destroy(&env);
		sp.value_raw = nest;
		sp.value_raw_len = depth + 1;
		assert_int_equal(decode_spec(&sp), depth + 3 > 32 ? ARR_EMALFORMED : ARR_ETYPE);
	}
}

/* Make edits random insertions, deletions or replacements in buf[0..n) (at most max long). */
static size_t
diff_mutate(struct tu_rng *rng, uint8_t *buf, size_t n, size_t max, size_t edits)
{
	for (size_t e = 0; e < edits; e++) {
		size_t at = tu_rng_below(rng, n);
		uint8_t b = tu_rng_below(rng, 2) ? diff_vals[tu_rng_below(rng, sizeof(diff_vals))]
		                                 : (uint8_t)tu_rng_below(rng, 256);

		switch (tu_rng_below(rng, 4)) {
		case 0: /* insert */
			if (n < max) {
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = b;
				n++;
			}
			break;
		case 1: /* delete */
			if (n > 1) {
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
			}
			break;
		default: /* replace */
			buf[at] = b;
		}
	}
	return n;
}

/* Random edits of rich's body, rewrapped in an envelope; codes counted. */
static void
diff_random(const struct changeset *rich, uint8_t *buf, size_t codes[8])
{
	struct tu_rng rng;

	tu_rng_seed(&rng, tu_seed(20250601));
	for (int iter = 0; iter < 3000; iter++) {
		msgpack_sbuffer body, env;
		msgpack_packer pk;
		uint8_t sig[ARR_SIG_LEN] = {0};
		size_t n = rich->bodylen, edits = 1 + tu_rng_below(&rng, 3);
		int rc;

		memcpy(buf, rich->body, n);
		n = diff_mutate(&rng, buf, n, rich->bodylen + 32, edits);
		msgpack_sbuffer_init(&body);
		msgpack_sbuffer_init(&env);
		msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_bin_with_body(&pk, buf, n);
		msgpack_pack_bin_with_body(&pk, sig, sizeof(sig));
		rc = expect_same_as_reference((const uint8_t *)env.data, env.size);
		codes[-rc < 8 && rc <= 0 ? -rc : 7]++;
		msgpack_sbuffer_destroy(&env);
		msgpack_sbuffer_destroy(&body);
	}
}

/*
 * The single-pass decoder against the reference: every byte of a small change set
 * replaced by interesting values, every prefix, and random edits of a rich one's body
 * (rewrapped, so that the body's own bytes are what is wrong).
 */
static void
test_differential(void **state)
{
	struct nodekey *k = tu_key(1);
	struct changeset *ex = build_example(k), *rich = build_rich(k, false), *huge;
	size_t codes[8] = {0};
	uint8_t *buf;

	(void)state;
	buf = malloc(rich->rawlen + 64);
	assert_non_null(buf);
	assert_int_equal(expect_same_as_reference(ex->raw, ex->rawlen), 0);
	assert_int_equal(expect_same_as_reference(rich->raw, rich->rawlen), 0);
	huge = build_rich(k, true);
	assert_int_equal(expect_same_as_reference(huge->raw, huge->rawlen), 0);
	changeset_destroy(&huge);
	diff_bytes(ex, buf, codes);
	diff_nesting();
	diff_random(rich, buf, codes);
	/* the mutations reached acceptance and several refusals */
	for (int c = 0; c < 8; c++)
		if (codes[c] > 0)
			fprintf(stderr, "# code %d: %zu inputs\n", -c, codes[c]);
	assert_true(codes[0] > 0);
	assert_true(codes[-ARR_EMALFORMED] > 0 && codes[-ARR_ETYPE] > 0 &&
	            codes[-ARR_ENONCANON] > 0);
	free(buf);
	changeset_destroy(&rich);
	changeset_destroy(&ex);
	nodekey_destroy(&k);
}

/*
 * Each non-shortest head in each place, one at a time, and the heads that msgpack-c
 * classifies by value (a signed form holding a value >= 0): ARR_ENONCANON from both.
 */
static void
test_noncanon_every_form(void **state)
{
	static const struct {
		const char *b;
		size_t n;
	} vals[] = {
	    {"\xcc\x05", 2},
	    {"\xcd\x00\x05", 3},
	    {"\xcd\x00\xff", 3},
	    {"\xce\x00\x00\xff\xff", 5},
	    {"\xcf\x00\x00\x00\x00\xff\xff\xff\xff", 9},
	    {"\xd0\x05", 2},
	    {"\xd0\xe0", 2},
	    {"\xd1\xff\x80", 3},
	    {"\xd1\x00\x05", 3},
	    {"\xd2\xff\xff\x80\x00", 5},
	    {"\xd3\xff\xff\xff\xff\x80\x00\x00\x00", 9},
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
		/* a body that is not one well-formed object is malformed first */
		s.body_trailing = true;
		assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	}
	/* a later type error wins over an earlier non-shortest head: seq 5 in uint 8 */
	s = spec_ok(1);
	s.field_at = 2;
	s.field_raw = (const uint8_t *)"\xcc\x05";
	s.field_raw_len = 2;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	s.value_raw = (const uint8_t *)"\xc3";
	s.value_raw_len = 1;
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	s.value_raw = (const uint8_t *)"\xcb\x7f\xf8\x00\x00\x00\x00\x00\x01"; /* NaN */
	s.value_raw_len = 9;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	s.value_raw = (const uint8_t *)"\x81\xc0\xc0"; /* a map */
	s.value_raw_len = 3;
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	s.value_raw = (const uint8_t *)"\x81\xc0"; /* a map cut short */
	s.value_raw_len = 2;
	assert_int_equal(decode_spec(&s), ARR_EMALFORMED);
	/* positive values in signed forms are still positive: a version 1 in int 8 */
	s = spec_ok(1);
	s.field_at = 0;
	s.field_raw = (const uint8_t *)"\xd0\x01";
	s.field_raw_len = 2;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	s.field_raw = (const uint8_t *)"\xd0\x02";
	assert_int_equal(decode_spec(&s), ARR_EVERSION);
	s.field_raw = (const uint8_t *)"\xd0\xff";
	assert_int_equal(decode_spec(&s), ARR_ETYPE);
	/* the envelope's own heads */
	s = spec_ok(1);
	s.body_bin32 = true;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
	s = spec_ok(1);
	s.sig_bin16 = true;
	assert_int_equal(decode_spec(&s), ARR_ENONCANON);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_craft_matches_build),
	    cmocka_unit_test(test_build_then_sign),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_owns_memory),
	    cmocka_unit_test(test_bitflips),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_trailing_bytes),
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_limits_decode),
	    cmocka_unit_test(test_bad_fields),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_noncanon_headers),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_too_long_input),
	    cmocka_unit_test(test_build_refuses),
	    cmocka_unit_test(test_fit_split),
	    cmocka_unit_test(test_worked_example),
	    cmocka_unit_test(test_differential),
	    cmocka_unit_test(test_noncanon_every_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
