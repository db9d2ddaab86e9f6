/*
 * test_changeset_seal.c: the sealed bodies of case-scope change sets (changeset_seal.c):
 * opening with the right scope key gives the ops; a wrong key, an altered ciphertext
 * byte, a ciphertext moved under another header (re-signed by its origin with the other
 * body's hash) and an altered key_id do not open (ARR_EDECRYPT); bodies are padded to
 * multiples of 256 plus nonce and tag; two seals of the same ops differ; the plaintext
 * is read as strictly as a clear body. And "Worked example 2" of PROTOCOL.md: a case data
 * change set and a GRANT with one key slot, byte for byte, under a deterministic
 * randombytes so that the body's nonce and the slot's nonce are fixed.
 */
#define _GNU_SOURCE /* memmem */
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
#include "policy.h"
#include "testutil.h"

/* ---- a deterministic randombytes, switched on for the worked example only ---- */

static bool det_on;
static uint64_t det_calls;

/* Call n of the stream: ChaCha20 keystream under the seed "arrangd worked example 2" || be64 n. */
static void
det_draw(uint64_t n, void *buf, size_t size)
{
	uint8_t seed[randombytes_SEEDBYTES] = "arrangd worked example 2";

	for (int i = 0; i < 8; i++)
		seed[24 + i] = (uint8_t)(n >> (56 - 8 * i));
	randombytes_buf_deterministic(buf, size, seed);
}

static void
det_buf(void *const buf, const size_t size)
{
	if (det_on)
		det_draw(det_calls++, buf, size);
	else
		randombytes_sysrandom_implementation.buf(buf, size);
}

static uint32_t
det_random(void)
{
	uint32_t r;

	det_buf(&r, sizeof(r));
	return r;
}

static const char *
det_name(void)
{
	return "arrangd-test-deterministic";
}

static struct randombytes_implementation det_impl = {
    .implementation_name = det_name,
    .random = det_random,
    .buf = det_buf,
};

/* ---- helpers ---- */

#define ROW "5f0c6b1e-8a3d-4c2b-9e71-2d4a6c8b0f13"

static const uint8_t scope_a[ARR_SCOPE_LEN] = {0xa3, 0xc1, 0xe7, 0xd2, 0x4b, 0x5f, 0x4e, 0x8a,
                                               0x9c, 0x0d, 0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a};

static struct cs_header
case_header(uint64_t seq, const uint8_t skey[ARR_SKEY_LEN])
{
	struct cs_header h = tu_cs_header(seq, 1);

	memcpy(h.scope, scope_a, ARR_SCOPE_LEN);
	h.key_id = changeset_key_id(skey);
	return h;
}

static struct changeset *
build_case(struct nodekey *k, uint64_t seq, const uint8_t skey[ARR_SKEY_LEN], const char *text)
{
	struct cs_header h = case_header(seq, skey);
	struct cs_op ops[3] = {tu_cs_op("arrangement", ROW, "status", value_text("draft")),
	                       tu_cs_op("arrangement", ROW, "hours_per_week", value_int(4)),
	                       tu_cs_op("arrangement", ROW, "summary", value_text(text))};
	struct changeset *cs = NULL;

	assert_int_equal(changeset_build(k, &h, ops, 3, skey, &cs), 0);
	return cs;
}

/* Decode bytes (both decoders agree), then open with skey; the code of the open. */
static int
decode_open(const uint8_t *buf, size_t len, const uint8_t skey[ARR_SKEY_LEN])
{
	struct changeset *cs = NULL;
	int rc;

	assert_int_equal(changeset_ref_compare(buf, len), 0);
	assert_int_equal(changeset_decode(buf, len, &cs), 0);
	assert_int_equal(changeset_verify(cs), 0);
	assert_null(cs->ops);
	rc = changeset_open(cs, skey);
	if (rc != 0)
		assert_null(cs->ops);
	changeset_destroy(&cs);
	return rc;
}

/* cs's header fields with other values around body, re-signed by k; decode, then open. */
static int
rewrap_open(struct nodekey *k, const struct cs_header *h, const uint8_t *body, size_t len,
            const uint8_t skey[ARR_SKEY_LEN])
{
	msgpack_sbuffer env;
	int rc;

	msgpack_sbuffer_init(&env);
	assert_int_equal(changeset_ref_wrap(k, h, body, len, &env), 0);
	rc = decode_open((const uint8_t *)env.data, env.size, skey);
	msgpack_sbuffer_destroy(&env);
	return rc;
}

/* ---- tests ---- */

/* Open with the right key: the ops as built, also through the reference decoder. */
static void
test_open(void **state)
{
	struct nodekey *k = tu_key(1);
	uint8_t skey[ARR_SKEY_LEN];
	struct changeset *cs, *back = NULL, *ref = NULL;

	(void)state;
	changeset_key_new(skey);
	cs = build_case(k, 1, skey, "Ondersteuning in de klas");
	assert_int_equal(changeset_verify(cs), 0);
	assert_int_equal(decode_open(cs->raw, cs->rawlen, skey), 0);
	assert_int_equal(changeset_decode(cs->raw, cs->rawlen, &back), 0);
	assert_int_equal(changeset_decode_reference(cs->raw, cs->rawlen, &ref), 0);
	assert_int_equal(changeset_open(back, skey), 0);
	assert_int_equal(changeset_open(back, skey), 0); /* already open */
	assert_int_equal(changeset_open(ref, skey), 0);
	assert_true(changeset_same(cs, back));
	assert_true(changeset_same(ref, back));
	assert_int_equal(back->nops, 3);
	assert_string_equal(back->ops[2].column, "summary");
	assert_int_equal(back->ops[2].value.u.b.len, strlen("Ondersteuning in de klas"));
	assert_memory_equal(back->ops[2].value.u.b.ptr, "Ondersteuning in de klas",
	                    back->ops[2].value.u.b.len);
	/* the clear text is nowhere in the bytes */
	assert_null(memmem(cs->raw, cs->rawlen, "Ondersteuning", 13));
	assert_null(memmem(cs->raw, cs->rawlen, "hours_per_week", 14));
	changeset_destroy(&ref);
	changeset_destroy(&back);
	changeset_destroy(&cs);
	nodekey_destroy(&k);
}

/* What changeset_open refuses: a wrong key, no body, no case data, a body too short. */
static void
test_open_refuses(void **state)
{
	struct nodekey *k = tu_key(1);
	uint8_t skey[ARR_SKEY_LEN], other[ARR_SKEY_LEN], *stub = NULL, junk[100] = {0};
	struct changeset *cs, *st = NULL, *region = NULL;
	struct cs_header h;
	struct cs_op o = tu_cs_op("organisation", ROW, "code", value_int(1));
	size_t stublen = 0;

	(void)state;
	changeset_key_new(skey);
	changeset_key_new(other);
	cs = build_case(k, 1, skey, "x");
	assert_int_equal(decode_open(cs->raw, cs->rawlen, other), ARR_EDECRYPT);
	assert_int_equal(changeset_strip(cs, &stub, &stublen), 0);
	assert_int_equal(changeset_decode(stub, stublen, &st), 0);
	assert_int_equal(changeset_open(st, skey), ARR_ENOTFOUND);
	assert_int_equal(changeset_open(st, NULL), ARR_EINVAL);
	assert_int_equal(changeset_open(NULL, skey), ARR_EINVAL);
	h = case_header(1, skey);
	memset(h.scope, 0, ARR_SCOPE_LEN);
	h.key_id = 0;
	assert_int_equal(changeset_build(k, &h, &o, 1, NULL, &region), 0);
	region->ops = NULL; /* as if unread: still not a sealed body */
	assert_int_equal(changeset_open(region, skey), ARR_EINVAL);
	/* any bytes shorter than nonce, one block and tag decode (not read) and do not open */
	h = case_header(1, skey);
	assert_int_equal(rewrap_open(k, &h, junk, sizeof(junk), skey), ARR_EDECRYPT);
	changeset_destroy(&region);
	changeset_destroy(&st);
	free(stub);
	changeset_destroy(&cs);
	nodekey_destroy(&k);
}

/*
 * Every byte of the body altered (nonce, ciphertext, tag), under a header re-signed with
 * the altered body's hash: ARR_EDECRYPT. Without the new header: ARR_EBODYHASH.
 */
static void
test_altered_byte(void **state)
{
	struct nodekey *k = tu_key(1);
	uint8_t skey[ARR_SKEY_LEN], *body;
	struct changeset *cs, *bad = NULL;

	(void)state;
	changeset_key_new(skey);
	cs = build_case(k, 1, skey, "x");
	body = malloc(cs->bodylen);
	for (size_t i = 0; i < cs->bodylen; i++) {
		uint8_t *raw = malloc(cs->rawlen);

		memcpy(body, cs->body, cs->bodylen);
		body[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(rewrap_open(k, &cs->h, body, cs->bodylen, skey), ARR_EDECRYPT);
		memcpy(raw, cs->raw, cs->rawlen);
		raw[cs->body - cs->raw + i] ^= 1;
		assert_int_equal(changeset_decode(raw, cs->rawlen, &bad), ARR_EBODYHASH);
		free(raw);
	}
	assert_int_equal(rewrap_open(k, &cs->h, cs->body, cs->bodylen, skey), 0);
	free(body);
	changeset_destroy(&cs);
	nodekey_destroy(&k);
}

/*
 * A ciphertext moved under another header, re-signed by the same origin with the moved
 * body's hash: another seq, scope, origin or key_id. None opens.
 */
static void
test_moved_body(void **state)
{
	struct nodekey *k = tu_key(1), *k2 = tu_key(2);
	uint8_t skey[ARR_SKEY_LEN], skey2[ARR_SKEY_LEN];
	struct changeset *one, *two;
	struct cs_header h;

	(void)state;
	changeset_key_new(skey);
	changeset_key_new(skey2);
	one = build_case(k, 1, skey, "one");
	two = build_case(k, 2, skey, "two");
	/* seq 2's body under seq 1's header */
	assert_int_equal(rewrap_open(k, &one->h, two->body, two->bodylen, skey), ARR_EDECRYPT);
	/* into another scope with the same key */
	h = one->h;
	h.scope[0] ^= 1;
	assert_int_equal(rewrap_open(k, &h, one->body, one->bodylen, skey), ARR_EDECRYPT);
	/* signed by another origin */
	assert_int_equal(rewrap_open(k2, &one->h, one->body, one->bodylen, skey), ARR_EDECRYPT);
	/* key_id altered: the named key is not the sealing key, whichever is tried */
	h = one->h;
	h.key_id = changeset_key_id(skey2);
	assert_int_equal(rewrap_open(k, &h, one->body, one->bodylen, skey), ARR_EDECRYPT);
	assert_int_equal(rewrap_open(k, &h, one->body, one->bodylen, skey2), ARR_EDECRYPT);
	h.key_id = one->h.key_id ^ 1;
	assert_int_equal(rewrap_open(k, &h, one->body, one->bodylen, skey), ARR_EDECRYPT);
	/* unchanged, the same wrapping opens: the refusals are the moves' */
	assert_int_equal(rewrap_open(k, &one->h, one->body, one->bodylen, skey), 0);
	changeset_destroy(&two);
	changeset_destroy(&one);
	nodekey_destroy(&k2);
	nodekey_destroy(&k);
}

/*
 * Bodies of ops whose clear size runs over several blocks have the length
 * 24 + 256 * (n / 256 + 1) + 16, the same ciphertext as the reference sealing with that
 * nonce, and two seals of the same ops differ (a random nonce).
 */
static void
test_padding(void **state)
{
	struct nodekey *k = tu_key(1);
	uint8_t skey[ARR_SKEY_LEN], *ref = NULL;
	char text[700];
	size_t reflen = 0, seen[8] = {0};

	(void)state;
	changeset_key_new(skey);
	memset(text, 'p', sizeof(text));
	for (size_t len = 0; len < sizeof(text); len += 7) {
		struct cs_header h = case_header(1, skey);
		struct cs_op o = tu_cs_op("arrangement", ROW, "summary", value_textn(text, len));
		struct changeset *a = NULL, *b = NULL;
		msgpack_sbuffer plain;

		msgpack_sbuffer_init(&plain);
		assert_int_equal(ref_pack_ops(&plain, &o, 1), 0);
		assert_int_equal(changeset_build(k, &h, &o, 1, skey, &a), 0);
		assert_int_equal(changeset_build(k, &h, &o, 1, skey, &b), 0);
		assert_int_equal(a->bodylen, 24 + 256 * (plain.size / 256 + 1) + 16);
		assert_int_equal(a->bodylen % 256, 40);
		seen[a->bodylen / 256]++;
		assert_int_equal(a->bodylen, b->bodylen);
		assert_memory_not_equal(a->body, b->body, ARR_NONCE_LEN);
		assert_memory_not_equal(a->body + 24, b->body + 24, a->bodylen - 24);
		assert_int_equal(changeset_ref_seal(a->origin, &a->h, (const uint8_t *)plain.data,
		                                    plain.size, skey, a->body, &ref, &reflen),
		                 0);
		assert_int_equal(reflen, a->bodylen);
		assert_memory_equal(ref, a->body, reflen);
		free(ref);
		changeset_destroy(&a);
		changeset_destroy(&b);
		msgpack_sbuffer_destroy(&plain);
	}
	assert_true(seen[1] > 0 && seen[2] > 0 && seen[3] > 0); /* 1, 2 and 3 blocks */
	nodekey_destroy(&k);
}

/* The plaintext is read as strictly as a clear body: each refusal keeps ops NULL. */
static void
test_plaintext_strict(void **state)
{
	static const struct {
		const char *b;
		size_t n;
		int rc;
	} cases[] = {
#define OP0                                                                                        \
	"\x94\xa1x\xc4\x10"                                                                        \
	"0123456789abcdef\xa1y"
#define CASE(lit, rc) {lit, sizeof(lit) - 1, rc}
	    CASE("\x91" OP0 "\x01", 0),
	    CASE("\x91" OP0 "\xcc\x01", ARR_ENONCANON),
	    CASE("\x92" OP0 "\x01" OP0 "\xd0\x01", ARR_ENONCANON),
	    CASE("\x91\x94\xa1X\xc4\x10"
	         "0123456789abcdef\xa1y\x01",
	         ARR_EMALFORMED),
	    CASE("\x91" OP0 "\x80", ARR_ETYPE),
	    CASE("\x91" OP0 "\x81", ARR_EMALFORMED), /* a map cut short: not one object */
	    CASE("\x91" OP0, ARR_EMALFORMED),
	    CASE("\x91" OP0 "\x01\xc0", ARR_EMALFORMED),
	    CASE("\x90", ARR_EMALFORMED),
	    CASE("\x80", ARR_ETYPE),
#undef CASE
#undef OP0
	};
	struct nodekey *k = tu_key(1);
	uint8_t skey[ARR_SKEY_LEN], nonce[ARR_NONCE_LEN] = {7}, *body = NULL;
	size_t bodylen = 0;

	(void)state;
	changeset_key_new(skey);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_header h = case_header(1, skey);

		assert_int_equal(changeset_ref_seal(nodekey_public(k), &h,
		                                    (const uint8_t *)cases[i].b, cases[i].n, skey,
		                                    nonce, &body, &bodylen),
		                 0);
		if (rewrap_open(k, &h, body, bodylen, skey) != cases[i].rc)
			fail_msg("case %zu: not %s", i, arrerr_name(cases[i].rc));
		free(body);
	}
	nodekey_destroy(&k);
}

/* ---- Worked example 2 (PROTOCOL.md) ---- */

/* The bytes of PROTOCOL.md, copied: the clear ops, the data change set, the GRANT. */
static const char ex2_ops_hex[] = "92 94 ab 61 72 72 61 6e 67 65 6d 65 6e 74 c4 10\n"
                                  "5f 0c 6b 1e 8a 3d 4c 2b 9e 71 2d 4a 6c 8b 0f 13\n"
                                  "a6 73 74 61 74 75 73 a5 64 72 61 66 74 94 ab 61\n"
                                  "72 72 61 6e 67 65 6d 65 6e 74 c4 10 5f 0c 6b 1e\n"
                                  "8a 3d 4c 2b 9e 71 2d 4a 6c 8b 0f 13 ae 68 6f 75\n"
                                  "72 73 5f 70 65 72 5f 77 65 65 6b 04\n";
static const char ex2_data_hex[] = "93 c4 82 9b 02 c4 20 8a 88 e3 dd 74 09 f1 95 fd\n"
                                   "52 db 2d 3c ba 5d 72 ca 67 09 bf 1d 94 12 1b f3\n"
                                   "74 88 01 b4 0f 6f 5c 02 cf 01 9a b6 97 e8 00 00\n"
                                   "01 b1 47 65 6d 65 65 6e 74 65 20 54 65 73 74 64\n"
                                   "6f 72 70 01 c4 10 a3 c1 e7 d2 4b 5f 4e 8a 9c 0d\n"
                                   "1f 2e 3d 4c 5b 6a 00 cf 98 81 2c 41 0e d4 ca 2a\n"
                                   "cd 01 28 c4 20 8d 8c 06 6b 2a 41 82 5f ae cb a2\n"
                                   "d7 85 79 48 a9 15 28 ef dd f6 37 7f 8b 6f ce ec\n"
                                   "6b 58 9f d9 d3 c4 40 69 0f 00 48 e4 93 b7 74 52\n"
                                   "3b 62 07 67 3c 42 b9 9a de 55 b5 44 36 e4 03 81\n"
                                   "08 e9 8d f8 0b 3d 45 b8 a6 3d 75 24 83 b5 c5 c4\n"
                                   "39 10 ba ca b2 b9 66 0b ee cd e4 25 3d ad ab f8\n"
                                   "2d d1 d4 10 cb 1d 03 c5 01 28 4e b9 30 36 e7 1a\n"
                                   "fe 39 83 07 2b bd 9e e2 48 61 67 c2 e1 9f 7d d8\n"
                                   "8b 43 e4 43 69 2f 01 81 01 7e d6 e5 ae ab 96 72\n"
                                   "df a8 73 a4 5a 51 3c 36 47 2c cf a4 2a 6d c3 c2\n"
                                   "a7 26 13 3d 86 ef 03 ea 8b 38 86 18 b8 0d e6 1d\n"
                                   "30 2f 81 80 6f 5a c9 c5 67 da b1 eb 83 ef 6f 25\n"
                                   "12 c0 e9 e3 83 f8 ef b7 80 59 5b 6a 5c 8d 4d b6\n"
                                   "56 f8 d2 2a b6 1f 3d 4c 04 49 d5 d6 0e 5f 5a e0\n"
                                   "8a 4f d9 73 6e 28 24 d6 f0 9c 7b 01 58 4f c7 44\n"
                                   "b5 d0 ce b2 d3 29 0b 55 ad 9d a7 14 de f5 12 56\n"
                                   "fe 1f d9 dd 6e 67 37 de 6e 58 2b 34 24 05 27 9a\n"
                                   "bf b2 2d b9 1d a6 53 ff 95 ea f8 d3 32 4a 77 26\n"
                                   "2f 8d a7 00 2e a2 e1 23 d7 a4 36 a7 b6 51 82 70\n"
                                   "81 9d 4c 3b e6 d0 e1 d6 1b 72 03 5d 30 d5 03 89\n"
                                   "10 06 47 0e b9 29 f4 08 d2 6b ff 94 9c 71 8e 16\n"
                                   "6e e5 15 8c 17 dd 41 ea d3 41 25 2c ec b9 77 5b\n"
                                   "9d f0 11 8a 8e 74 3c 68 d8 c4 61 d4 b5 4c fb b2\n"
                                   "9b db da 7b c3 97 28 a1 19 36 7f 95 64 e9 50 70\n"
                                   "29 9e ea e7 dc 34 a3 88 b8 6c 71 3f a0 80 14 3a\n"
                                   "eb 0f\n";
static const char ex2_grant_hex[] = "93 c4 79 9b 02 c4 20 8a 88 e3 dd 74 09 f1 95 fd\n"
                                    "52 db 2d 3c ba 5d 72 ca 67 09 bf 1d 94 12 1b f3\n"
                                    "74 88 01 b4 0f 6f 5c 03 cf 01 9a b6 97 e8 00 00\n"
                                    "02 b1 47 65 6d 65 65 6e 74 65 20 54 65 73 74 64\n"
                                    "6f 72 70 01 c4 10 a3 c1 e7 d2 4b 5f 4e 8a 9c 0d\n"
                                    "1f 2e 3d 4c 5b 6a 01 00 cc a0 c4 20 9e ea 37 61\n"
                                    "55 f9 53 2c 51 e2 cb fd ab c5 bf fc a9 ba 69 2a\n"
                                    "93 bd 9d bf 18 50 75 ef 4e b4 50 28 c4 40 63 3d\n"
                                    "07 63 92 b6 5a 42 4c 77 b1 43 d8 85 1e a3 16 1b\n"
                                    "d3 1c a8 af 4d 11 9c 41 50 14 93 88 07 a4 5b a1\n"
                                    "27 df e1 9e 32 66 ac 57 7b 7e da 4d 58 e8 5c 0d\n"
                                    "8a e7 4d 69 8f 08 62 5d de 0b 8c b5 83 0f c4 a0\n"
                                    "98 02 c4 20 81 39 77 0e a8 7d 17 5f 56 a3 54 66\n"
                                    "c3 4c 7e cc cb 8d 8a 91 b4 ee 37 a2 5d f6 0f 5b\n"
                                    "8f c9 b3 94 0c 00 90 00 90 91 93 c4 20 81 39 77\n"
                                    "0e a8 7d 17 5f 56 a3 54 66 c3 4c 7e cc cb 8d 8a\n"
                                    "91 b4 ee 37 a2 5d f6 0f 5b 8f c9 b3 94 cf 98 81\n"
                                    "2c 41 0e d4 ca 2a c4 48 e6 b7 fb 1f 5e 02 5a bc\n"
                                    "bb 32 bc 22 8b 37 3f cb 8a 69 5c 9a a3 23 72 cd\n"
                                    "da 26 1e dd 1c d1 a1 c8 85 e9 91 d5 8c e7 9d 21\n"
                                    "56 9d b2 bd 89 9e 6d d2 fa 58 e1 8a 46 73 6f e1\n"
                                    "ac a9 a7 30 70 a9 16 cb c3 5e e4 d0 02 19 d0 0f\n";

/* The example's scope key: the bytes 0x00 to 0x1f. */
static void
ex2_skey(uint8_t skey[ARR_SKEY_LEN])
{
	for (int i = 0; i < ARR_SKEY_LEN; i++)
		skey[i] = (uint8_t)i;
}

static void
ex2_ops(struct cs_op ops[2])
{
	ops[0] = tu_cs_op("arrangement", ROW, "status", value_text("draft"));
	ops[1] = tu_cs_op("arrangement", ROW, "hours_per_week", value_int(4));
}

/* Node 1's second change set: two ops in the scope, sealed with nonce draw 0. */
static struct changeset *
ex2_data(struct nodekey *a)
{
	uint8_t skey[ARR_SKEY_LEN];
	struct cs_header h;
	struct cs_op ops[2];
	struct changeset *cs = NULL;

	ex2_skey(skey);
	h = case_header(2, skey);
	ex2_ops(ops);
	det_on = true;
	det_calls = 0;
	assert_int_equal(changeset_build(a, &h, ops, 2, skey, &cs), 0);
	det_on = false;
	assert_int_equal(det_calls, 1);
	return cs;
}

/* Node 1's third: GRANT education and care to node 2, the key in one slot (draw 1). */
static struct changeset *
ex2_grant(struct nodekey *a, struct nodekey *b)
{
	uint8_t skey[ARR_SKEY_LEN], shared[NODEKEY_SHARED_LEN];
	struct cs_header h;
	struct policy_slot slot;
	struct cs_policy p = {.op = POLICY_GRANT,
	                      .has_member = true,
	                      .roles = ROLE_EDUCATION | ROLE_CARE,
	                      .slots = &slot,
	                      .nslots = 1};
	struct changeset *cs = NULL;

	ex2_skey(skey);
	h = case_header(3, skey);
	h.hlc = hlc_make(1764000000000ull, 2);
	memcpy(p.member, nodekey_public(b), ARR_ORIGIN_LEN);
	det_on = true;
	det_calls = 1;
	assert_int_equal(nodekey_shared(a, p.member, shared), 0);
	assert_int_equal(policy_slot_seal(shared, p.member, h.key_id, skey, &slot), 0);
	det_on = false;
	assert_int_equal(det_calls, 2);
	assert_int_equal(changeset_build_policy(a, &h, &p, &cs), 0);
	return cs;
}

/* want (hex) is got; else print got for the spec and fail. */
static void
ex2_expect(const char *what, const char *want, const uint8_t *got, size_t gotlen)
{
	size_t len = 0;
	uint8_t *w = tu_unhex(want, &len);

	if (len != gotlen || memcmp(w, got, len) != 0) {
		printf("%s, %zu bytes:\n", what, gotlen);
		for (size_t i = 0; i < gotlen; i++)
			printf("%02x%s", got[i], i % 16 == 15 || i + 1 == gotlen ? "\n" : " ");
		fail_msg("%s differs from the worked example", what);
	}
	free(w);
}

/*
 * The example built under the deterministic stream gives the test's bytes; its body is the
 * reference sealing of the clear ops with the stream's first 24 bytes as nonce; the data
 * opens with the scope key, and node 2's slot opens with node 2's key and not node 1's.
 */
static void
test_example2_bytes(void **state)
{
	struct nodekey *a = tu_key(1), *b = tu_key(2);
	struct changeset *data = ex2_data(a), *grant = ex2_grant(a, b), *back = NULL;
	uint8_t skey[ARR_SKEY_LEN], got[ARR_SKEY_LEN], nonce[ARR_NONCE_LEN], *ref = NULL;
	uint8_t shared[NODEKEY_SHARED_LEN];
	struct cs_op ops[2];
	msgpack_sbuffer plain;
	size_t reflen = 0;

	(void)state;
	ex2_skey(skey);
	ex2_ops(ops);
	msgpack_sbuffer_init(&plain);
	assert_int_equal(ref_pack_ops(&plain, ops, 2), 0);
	ex2_expect("clear ops", ex2_ops_hex, (const uint8_t *)plain.data, plain.size);
	ex2_expect("data change set", ex2_data_hex, data->raw, data->rawlen);
	ex2_expect("grant change set", ex2_grant_hex, grant->raw, grant->rawlen);
	det_draw(0, nonce, sizeof(nonce));
	assert_memory_equal(data->body, nonce, ARR_NONCE_LEN);
	assert_int_equal(changeset_ref_seal(data->origin, &data->h, (const uint8_t *)plain.data,
	                                    plain.size, skey, nonce, &ref, &reflen),
	                 0);
	assert_int_equal(reflen, data->bodylen);
	assert_memory_equal(ref, data->body, reflen);
	assert_int_equal(decode_open(data->raw, data->rawlen, skey), 0);
	assert_int_equal(changeset_ref_compare(grant->raw, grant->rawlen), 0);
	assert_int_equal(changeset_decode(grant->raw, grant->rawlen, &back), 0);
	assert_int_equal(changeset_verify(back), 0);
	assert_non_null(back->policy);
	assert_int_equal(nodekey_shared(b, back->origin, shared), 0);
	assert_int_equal(policy_slot_open(shared, &back->policy->slots[0], got), 0);
	assert_memory_equal(got, skey, ARR_SKEY_LEN);
	det_draw(1, nonce, sizeof(nonce));
	assert_memory_equal(back->policy->slots[0].sealed, nonce, ARR_NONCE_LEN);
	assert_int_equal(nodekey_shared(a, back->origin, shared), 0);
	assert_int_equal(policy_slot_open(shared, &back->policy->slots[0], got), ARR_EDECRYPT);
	free(ref);
	msgpack_sbuffer_destroy(&plain);
	changeset_destroy(&back);
	changeset_destroy(&grant);
	changeset_destroy(&data);
	nodekey_destroy(&b);
	nodekey_destroy(&a);
}

/* PROTOCOL.md shows the test's bytes (read from the source tree). */
static void
test_example2_spec(void **state)
{
	static const struct {
		const char *name, *hex;
	} dumps[] = {
	    {"ex2-ops", ex2_ops_hex}, {"ex2-data", ex2_data_hex}, {"ex2-grant", ex2_grant_hex}};

	(void)state;
	for (size_t i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
		size_t len = 0, speclen = 0;
		uint8_t *want = tu_unhex(dumps[i].hex, &len),
		        *spec = tu_spec_hex(dumps[i].name, &speclen);

		if (len != speclen || memcmp(want, spec, len) != 0)
			fail_msg("PROTOCOL.md: %s differs from test_changeset_seal.c",
			         dumps[i].name);
		free(spec);
		free(want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open),           cmocka_unit_test(test_open_refuses),
	    cmocka_unit_test(test_altered_byte),   cmocka_unit_test(test_moved_body),
	    cmocka_unit_test(test_padding),        cmocka_unit_test(test_plaintext_strict),
	    cmocka_unit_test(test_example2_bytes), cmocka_unit_test(test_example2_spec),
	};

	/* before anything initialises libsodium: the example's stream must be in place */
	if (randombytes_set_implementation(&det_impl) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
