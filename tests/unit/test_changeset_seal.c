/*
 * test_changeset_seal.c: the sealed bodies of case-scope change sets (changeset_seal.c):
 * opening with the right scope key gives the ops; a wrong key, an altered ciphertext
 * byte, a ciphertext moved under another header (re-signed by its origin with the other
 * body's hash), to another part of the same change set, and an altered key_id do not open
 * (ARR_EDECRYPT); bodies are padded to
 * multiples of 256 plus nonce and tag; two seals of the same ops differ; the plaintext
 * is read as strictly as a clear body. And "Worked example 2" of PROTOCOL.md: a new
 * arrangement in one change set, a CREATE part with its first party and two key slots and
 * the sealed data part, byte for byte, under a deterministic randombytes so that the
 * slots' nonces and the body's nonce are fixed.
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
case_header(uint64_t seq)
{
	return tu_cs_header(seq, 1);
}

/* A case data part of scope_a of ops under skey. */
static struct cs_part_in
case_part(const uint8_t skey[ARR_SKEY_LEN], const struct cs_op *ops, size_t n)
{
	struct cs_part_in in = {.kind = CS_DATA, .ops = ops, .nops = n, .skey = skey};

	memcpy(in.scope, scope_a, ARR_SCOPE_LEN);
	return in;
}

static struct changeset *
build_case(struct nodekey *k, uint64_t seq, const uint8_t skey[ARR_SKEY_LEN], const char *text)
{
	struct cs_header h = case_header(seq);
	struct cs_op ops[3] = {tu_cs_op("arrangement", ROW, "status", value_text("draft")),
	                       tu_cs_op("arrangement", ROW, "#16", value_int(4)),
	                       tu_cs_op("arrangement", ROW, "summary", value_text(text))};
	struct cs_part_in in = case_part(skey, ops, 3);
	struct changeset *cs = NULL;

	assert_int_equal(changeset_build(k, &h, &in, 1, &cs), 0);
	return cs;
}

/* Decode bytes (both decoders agree), then open part i with skey; the code of the open. */
static int
decode_open_part(const uint8_t *buf, size_t len, size_t i, const uint8_t skey[ARR_SKEY_LEN])
{
	struct changeset *cs = NULL;
	int rc;

	assert_int_equal(changeset_ref_compare(buf, len), 0);
	assert_int_equal(changeset_decode(buf, len, &cs), 0);
	assert_int_equal(changeset_verify(cs), 0);
	assert_null(cs->parts[i].ops);
	rc = changeset_open(cs, i, skey);
	if (rc != 0)
		assert_null(cs->parts[i].ops);
	changeset_destroy(&cs);
	return rc;
}

static int
decode_open(const uint8_t *buf, size_t len, const uint8_t skey[ARR_SKEY_LEN])
{
	return decode_open_part(buf, len, 0, skey);
}

/*
 * A one-part change set of header h, a case data part of scope and key_id around body,
 * signed by k; decode, then open.
 */
static int
rewrap_open(struct nodekey *k, const struct cs_header *h, const uint8_t *scope, uint64_t key_id,
            const uint8_t *body, size_t len, const uint8_t skey[ARR_SKEY_LEN])
{
	struct cs_part part = {.kind = CS_DATA, .key_id = key_id, .body = body, .bodylen = len};
	msgpack_sbuffer env;
	int rc;

	memcpy(part.scope, scope, ARR_SCOPE_LEN);
	msgpack_sbuffer_init(&env);
	assert_int_equal(changeset_ref_wrap(k, h, &part, 1, &env), 0);
	rc = decode_open((const uint8_t *)env.data, env.size, skey);
	msgpack_sbuffer_destroy(&env);
	return rc;
}

/* rewrap_open() with cs's part 0 (its scope and key_id) around body. */
static int
rewrap_as(struct nodekey *k, const struct changeset *cs, const uint8_t *body, size_t len,
          const uint8_t skey[ARR_SKEY_LEN])
{
	return rewrap_open(k, &cs->h, cs->parts[0].scope, cs->parts[0].key_id, body, len, skey);
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
	assert_int_equal(changeset_open(back, 0, skey), 0);
	assert_int_equal(changeset_open(back, 0, skey), 0); /* already open */
	assert_int_equal(changeset_open(ref, 0, skey), 0);
	assert_true(changeset_same(cs, back));
	assert_true(changeset_same(ref, back));
	assert_int_equal(back->parts[0].nops, 3);
	assert_string_equal(back->parts[0].ops[2].column, "summary");
	assert_int_equal(back->parts[0].ops[2].value.u.b.len, strlen("Ondersteuning in de klas"));
	assert_memory_equal(back->parts[0].ops[2].value.u.b.ptr, "Ondersteuning in de klas",
	                    back->parts[0].ops[2].value.u.b.len);
	/* the clear text is nowhere in the bytes */
	assert_null(memmem(cs->raw, cs->rawlen, "Ondersteuning", 13));
	assert_null(memmem(cs->raw, cs->rawlen, "draft", 5));
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
	assert_int_equal(changeset_open(st, 0, skey), ARR_ENOTFOUND);
	assert_int_equal(changeset_open(st, 0, NULL), ARR_EINVAL);
	assert_int_equal(changeset_open(st, 1, skey), ARR_EINVAL); /* no such part */
	assert_int_equal(changeset_open(NULL, 0, skey), ARR_EINVAL);
	h = case_header(1);
	assert_int_equal(changeset_build_region(k, &h, &o, 1, &region), 0);
	((struct cs_part *)(uintptr_t)region->parts)->ops = NULL;      /* as if unread */
	assert_int_equal(changeset_open(region, 0, skey), ARR_EINVAL); /* still not sealed */
	/* any bytes shorter than nonce, one block and tag decode (not read) and do not open */
	assert_int_equal(
	    rewrap_open(k, &h, scope_a, changeset_key_id(skey), junk, sizeof(junk), skey),
	    ARR_EDECRYPT);
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
	const struct cs_part *p0 = &cs->parts[0];

	body = malloc(p0->bodylen);
	for (size_t i = 0; i < p0->bodylen; i++) {
		uint8_t *raw = malloc(cs->rawlen);

		memcpy(body, p0->body, p0->bodylen);
		body[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(rewrap_as(k, cs, body, p0->bodylen, skey), ARR_EDECRYPT);
		memcpy(raw, cs->raw, cs->rawlen);
		raw[p0->body - cs->raw + i] ^= 1;
		assert_int_equal(changeset_decode(raw, cs->rawlen, &bad), ARR_EBODYHASH);
		free(raw);
	}
	assert_int_equal(rewrap_as(k, cs, p0->body, p0->bodylen, skey), 0);
	free(body);
	changeset_destroy(&cs);
	nodekey_destroy(&k);
}

/*
 * A ciphertext moved under another header, re-signed by the same origin with the moved
 * body's hash: another seq, scope, origin or key_id, or another part of the same change
 * set (the part index is bound too). None opens.
 */
static void
test_moved_body(void **state)
{
	struct nodekey *k = tu_key(1), *k2 = tu_key(2);
	uint8_t skey[ARR_SKEY_LEN], skey2[ARR_SKEY_LEN], scope[ARR_SCOPE_LEN];
	struct changeset *one, *two;
	const struct cs_part *p;

	(void)state;
	changeset_key_new(skey);
	changeset_key_new(skey2);
	one = build_case(k, 1, skey, "one");
	two = build_case(k, 2, skey, "two");
	p = &one->parts[0];
	/* seq 2's body under seq 1's header */
	assert_int_equal(rewrap_as(k, one, two->parts[0].body, two->parts[0].bodylen, skey),
	                 ARR_EDECRYPT);
	/* into another scope with the same key */
	memcpy(scope, p->scope, ARR_SCOPE_LEN);
	scope[0] ^= 1;
	assert_int_equal(rewrap_open(k, &one->h, scope, p->key_id, p->body, p->bodylen, skey),
	                 ARR_EDECRYPT);
	/* signed by another origin */
	assert_int_equal(rewrap_as(k2, one, p->body, p->bodylen, skey), ARR_EDECRYPT);
	/* key_id altered: the named key is not the sealing key, whichever is tried */
	assert_int_equal(
	    rewrap_open(k, &one->h, p->scope, changeset_key_id(skey2), p->body, p->bodylen, skey),
	    ARR_EDECRYPT);
	assert_int_equal(
	    rewrap_open(k, &one->h, p->scope, changeset_key_id(skey2), p->body, p->bodylen, skey2),
	    ARR_EDECRYPT);
	assert_int_equal(
	    rewrap_open(k, &one->h, p->scope, p->key_id ^ 1, p->body, p->bodylen, skey),
	    ARR_EDECRYPT);
	/* to another part of the same change set: everything else equal, index 1 for 0 */
	{
		struct cs_op o = tu_cs_op("organisation", ROW, "code", value_int(1));
		struct changeset *reg = NULL;
		struct cs_part parts[2];
		msgpack_sbuffer env;

		assert_int_equal(changeset_build_region(k, &one->h, &o, 1, &reg), 0);
		parts[0] = reg->parts[0];
		parts[1] = *p;
		msgpack_sbuffer_init(&env);
		assert_int_equal(changeset_ref_wrap(k, &one->h, parts, 2, &env), 0);
		assert_int_equal(decode_open_part((const uint8_t *)env.data, env.size, 1, skey),
		                 ARR_EDECRYPT);
		msgpack_sbuffer_destroy(&env);
		changeset_destroy(&reg);
	}
	/* unchanged, the same wrapping opens: the refusals are the moves' */
	assert_int_equal(rewrap_as(k, one, p->body, p->bodylen, skey), 0);
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
		struct cs_header h = case_header(1);
		struct cs_op o = tu_cs_op("arrangement", ROW, "summary", value_textn(text, len));
		struct cs_part_in in = case_part(skey, &o, 1);
		struct changeset *a = NULL, *b = NULL;
		const struct cs_part *pa, *pb;
		msgpack_sbuffer plain;

		msgpack_sbuffer_init(&plain);
		assert_int_equal(ref_pack_ops(&plain, &o, 1), 0);
		assert_int_equal(changeset_build(k, &h, &in, 1, &a), 0);
		assert_int_equal(changeset_build(k, &h, &in, 1, &b), 0);
		pa = &a->parts[0];
		pb = &b->parts[0];
		assert_int_equal(pa->bodylen, 24 + 256 * (plain.size / 256 + 1) + 16);
		assert_int_equal(pa->bodylen % 256, 40);
		seen[pa->bodylen / 256]++;
		assert_int_equal(pa->bodylen, pb->bodylen);
		assert_memory_not_equal(pa->body, pb->body, ARR_NONCE_LEN);
		assert_memory_not_equal(pa->body + 24, pb->body + 24, pa->bodylen - 24);
		assert_int_equal(changeset_ref_seal(a->origin, a->h.seq, 0, pa->scope, pa->key_id,
		                                    (const uint8_t *)plain.data, plain.size, skey,
		                                    pa->body, &ref, &reflen),
		                 0);
		assert_int_equal(reflen, pa->bodylen);
		assert_memory_equal(ref, pa->body, reflen);
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
#define ROW0                                                                                       \
	"\x93\x05\xc4\x10"                                                                         \
	"0123456789abcdef"
#define ROW1                                                                                       \
	"\x93\x05\xc4\x10"                                                                         \
	"0123456789abcdeg"
#define OP0           ROW0 "\x92\x02"
#define CASE(lit, rc) {lit, sizeof(lit) - 1, rc}
	    CASE("\x91" OP0 "\x01", 0),
	    CASE("\x91" OP0 "\xcc\x01", ARR_ENONCANON),
	    CASE("\x92" OP0 "\x01" ROW1 "\x92\x02\xd0\x01", ARR_ENONCANON),
	    CASE("\x92" OP0 "\x01" OP0 "\x02", ARR_ENONCANON), /* one row as two */
	    CASE("\x91\x93\xa1X\xc4\x10"
	         "0123456789abcdef\x92\x02\x01",
	         ARR_ETYPE), /* a table by name */
	    CASE("\x91\x93\xcd\x01\x00\xc4\x10"
	         "0123456789abcdef\x92\x02\x01",
	         ARR_ETOOBIG),                                    /* table 256 */
	    CASE("\x91" ROW0 "\x92\xcc\x02\x01", ARR_ENONCANON),  /* column 2 in two bytes */
	    CASE("\x91" ROW0 "\x93\x02\x01\xc0", ARR_EMALFORMED), /* an odd cells array */
	    CASE("\x91" ROW0 "\x90", ARR_EMALFORMED),             /* no cells */
	    CASE("\x91" ROW0 "\xc0", ARR_ETYPE),                  /* cells not an array */
	    CASE("\x91" OP0 "\x80", ARR_ETYPE),
	    CASE("\x91" OP0 "\x81", ARR_EMALFORMED), /* a map cut short: not one object */
	    CASE("\x91" OP0, ARR_EMALFORMED),
	    CASE("\x91" OP0 "\x01\xc0", ARR_EMALFORMED),
	    CASE("\x90", ARR_EMALFORMED),
	    CASE("\x80", ARR_ETYPE),
#undef CASE
#undef OP0
#undef ROW1
#undef ROW0
	};
	struct nodekey *k = tu_key(1);
	uint8_t skey[ARR_SKEY_LEN], nonce[ARR_NONCE_LEN] = {7}, *body = NULL;
	size_t bodylen = 0;

	(void)state;
	changeset_key_new(skey);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cs_header h = case_header(1);
		uint64_t key_id = changeset_key_id(skey);

		assert_int_equal(changeset_ref_seal(nodekey_public(k), h.seq, 0, scope_a, key_id,
		                                    (const uint8_t *)cases[i].b, cases[i].n, skey,
		                                    nonce, &body, &bodylen),
		                 0);
		if (rewrap_open(k, &h, scope_a, key_id, body, bodylen, skey) != cases[i].rc)
			fail_msg("case %zu: not %s", i, arrerr_name(cases[i].rc));
		free(body);
	}
	nodekey_destroy(&k);
}

/* ---- Worked example 2 (PROTOCOL.md) ---- */

/* The bytes of PROTOCOL.md, copied: the clear ops, the data change set, the GRANT. */
static const char ex2_ops_hex[] = "91 93 02 c4 10 5f 0c 6b 1e 8a 3d 4c 2b 9e 71 2d\n"
                                  "4a 6c 8b 0f 13 94 03 a5 64 72 61 66 74 02 a3 6f\n"
                                  "7a 61\n";
static const char ex2_cs_hex[] = "93 c4 be 97 04 c4 20 8a 88 e3 dd 74 09 f1 95 fd\n"
                                 "52 db 2d 3c ba 5d 72 ca 67 09 bf 1d 94 12 1b f3\n"
                                 "74 88 01 b4 0f 6f 5c 02 cf 01 9a b6 97 e8 00 00\n"
                                 "01 b1 47 65 6d 65 65 6e 74 65 20 54 65 73 74 64\n"
                                 "6f 72 70 01 92 95 c4 10 8e ae f3 b7 a2 3e 07 f5\n"
                                 "4d 04 31 db c0 8f 3c d3 01 00 cd 01 22 c4 20 7a\n"
                                 "1a 1b 60 6f a3 11 fa 80 f8 db 7b ce 66 20 3a cc\n"
                                 "ee 67 fb 0e e8 ff 6a 4f d9 77 56 61 93 da 82 95\n"
                                 "c4 10 8e ae f3 b7 a2 3e 07 f5 4d 04 31 db c0 8f\n"
                                 "3c d3 00 cf 98 81 2c 41 0e d4 ca 2a cd 01 28 c4\n"
                                 "20 df e9 34 69 15 18 fb 61 3b 5c 0c 7e ab 40 68\n"
                                 "6c 2c 53 61 bd c5 11 04 03 a9 2c 61 b0 c4 3b 52\n"
                                 "22 c4 40 f6 e2 9d 77 39 b9 1d bc 1b 65 02 e7 4d\n"
                                 "af 17 83 58 ee be f2 33 6c b5 52 c6 cd 27 03 3a\n"
                                 "fd a5 74 c9 45 e4 4b e9 75 8b cf ab ef 1d b9 01\n"
                                 "0d 5a 16 b8 30 50 1d 53 b9 0a 91 d4 74 92 f0 9e\n"
                                 "e1 36 0e 92 c5 01 22 99 01 c0 00 00 90 cf 98 81\n"
                                 "2c 41 0e d4 ca 2a 90 92 93 c4 20 8a 88 e3 dd 74\n"
                                 "09 f1 95 fd 52 db 2d 3c ba 5d 72 ca 67 09 bf 1d\n"
                                 "94 12 1b f3 74 88 01 b4 0f 6f 5c cf 98 81 2c 41\n"
                                 "0e d4 ca 2a c4 48 4e b9 30 36 e7 1a fe 39 83 07\n"
                                 "2b bd 9e e2 48 61 67 c2 e1 9f 7d d8 8b 43 e3 27\n"
                                 "95 a4 8f 2d aa 47 bb 1f 6f 78 3d 67 37 65 c6 43\n"
                                 "ad 40 38 4a f7 e5 b0 80 42 c3 ff 02 21 26 0e f8\n"
                                 "d1 1a 1c bd c0 7d ca f4 48 cb 22 a7 b3 80 93 c4\n"
                                 "20 81 39 77 0e a8 7d 17 5f 56 a3 54 66 c3 4c 7e\n"
                                 "cc cb 8d 8a 91 b4 ee 37 a2 5d f6 0f 5b 8f c9 b3\n"
                                 "94 cf 98 81 2c 41 0e d4 ca 2a c4 48 e6 b7 fb 1f\n"
                                 "5e 02 5a bc bb 32 bc 22 8b 37 3f cb 8a 69 5c 9a\n"
                                 "a3 23 72 cd da 26 1e dd 1c d1 a1 c8 85 e9 91 d5\n"
                                 "8c e7 9d 21 56 9d b2 bd 89 9e 6d d2 fa 58 e1 8a\n"
                                 "46 73 6f e1 ac a9 a7 30 70 a9 16 cb c3 5e e4 d0\n"
                                 "02 19 d0 0f 91 92 c4 20 81 39 77 0e a8 7d 17 5f\n"
                                 "56 a3 54 66 c3 4c 7e cc cb 8d 8a 91 b4 ee 37 a2\n"
                                 "5d f6 0f 5b 8f c9 b3 94 0c c5 01 28 56 fc 82 0d\n"
                                 "c7 b2 4e e0 61 a6 10 d8 93 9e c1 fb 7c 40 de 1a\n"
                                 "fe b0 64 17 31 0c 99 da 54 f8 f0 97 da 75 61 3f\n"
                                 "3e b9 55 c8 0d a2 6b 01 f9 46 30 79 0a 5b c9 93\n"
                                 "92 16 b2 b4 97 de fd 6f 87 6a e4 aa 53 6e 5d 09\n"
                                 "3d b9 83 a8 bd cf 03 81 9e eb 5d d1 42 e7 8f 75\n"
                                 "8c 27 3b d9 a7 47 7e 20 59 ad f8 5a 7e d1 22 22\n"
                                 "99 6d bb 42 dc 85 fc 34 12 af 4a dc bc ec d9 45\n"
                                 "3e 3b ae 6c a4 be c4 5e e9 a9 44 a4 b1 5f 22 44\n"
                                 "7d ee 50 38 4f b3 da ed 92 f7 11 76 e7 a7 ef b4\n"
                                 "12 49 44 1c 35 2a 7f ba 37 d3 e0 29 2a 59 31 4e\n"
                                 "86 c7 62 27 9d 36 09 33 c3 6b f8 be 57 0e 3f 61\n"
                                 "67 ec 2a e2 56 db ca a9 a3 92 0d 12 29 ff 6a f6\n"
                                 "0e a5 96 77 3a 06 63 99 9a 0c 3f c2 72 10 a5 ac\n"
                                 "b4 11 63 6b 60 56 0f 52 74 d3 32 f0 37 60 25 35\n"
                                 "fa 90 9e 65 13 48 74 75 ab cb c3 4d b8 8b 1f 8f\n"
                                 "f3 28 a8 8c cc be ca 79 b5 5c e3 58 01 79 d2 37\n"
                                 "64 a2 4f b1 c0 0a 29 bb 2d 6b 91 30 11 a5 ae b1\n"
                                 "8a 6c 52 ec c7 c6 8d 55 cc 9b a8 85 2a b5 9b 7f\n"
                                 "10 dd 01 a7\n";

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
	ops[1] = tu_cs_op("arrangement", ROW, "kind", value_text("oza"));
}

/*
 * Node 1's second change set: a new arrangement. Part 0 is the CREATE of its scope (the id
 * of node 1, seq 2, part 0) with the scope key in a slot for node 1 (draw 0) and one for
 * node 2 (draw 1), node 2 its first party (education and care); part 1 the two ops in
 * that scope, sealed with the nonce of draw 2.
 */
static struct changeset *
ex2_build(struct nodekey *a, struct nodekey *b)
{
	uint8_t skey[ARR_SKEY_LEN], shared[NODEKEY_SHARED_LEN];
	struct cs_header h = case_header(2);
	struct policy_slot slots[2];
	struct policy_party party = {.roles = ROLE_EDUCATION | ROLE_CARE};
	struct cs_policy p = {
	    .op = POLICY_CREATE, .slots = slots, .nslots = 2, .parties = &party, .nparties = 1};
	struct cs_op ops[2];
	struct cs_part_in in[2] = {{.kind = CS_POLICY, .policy = &p},
	                           {.kind = CS_DATA, .ops = ops, .nops = 2}};
	struct changeset *cs = NULL;

	ex2_skey(skey);
	ex2_ops(ops);
	p.key_id = changeset_key_id(skey);
	memcpy(party.member, nodekey_public(b), ARR_ORIGIN_LEN);
	changeset_scope_id(nodekey_public(a), h.seq, 0, in[0].scope);
	memcpy(in[1].scope, in[0].scope, ARR_SCOPE_LEN);
	in[1].skey = skey;
	det_on = true;
	det_calls = 0;
	assert_int_equal(nodekey_shared(a, nodekey_public(a), shared), 0);
	assert_int_equal(policy_slot_seal(shared, nodekey_public(a), p.key_id, skey, &slots[0]), 0);
	assert_int_equal(nodekey_shared(a, nodekey_public(b), shared), 0);
	assert_int_equal(policy_slot_seal(shared, nodekey_public(b), p.key_id, skey, &slots[1]), 0);
	assert_int_equal(changeset_build(a, &h, in, 2, &cs), 0);
	det_on = false;
	assert_int_equal(det_calls, 3);
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
 * The example built under the deterministic stream gives the test's bytes; part 1's body
 * is the reference sealing of the clear ops (bound to part index 1) with draw 2 as nonce;
 * both decoders read it the same; part 1 opens with the scope key, and node 2's slot opens
 * with node 2's key and not node 1's.
 */
static void
test_example2_bytes(void **state)
{
	struct nodekey *a = tu_key(1), *b = tu_key(2);
	struct changeset *cs = ex2_build(a, b), *back = NULL;
	uint8_t skey[ARR_SKEY_LEN], got[ARR_SKEY_LEN], nonce[ARR_NONCE_LEN], *ref = NULL;
	uint8_t shared[NODEKEY_SHARED_LEN], id[ARR_SCOPE_LEN];
	const struct cs_part *data = &cs->parts[1];
	const struct cs_policy *p;
	struct cs_op ops[2];
	msgpack_sbuffer plain;
	size_t reflen = 0;

	(void)state;
	ex2_skey(skey);
	ex2_ops(ops);
	msgpack_sbuffer_init(&plain);
	assert_int_equal(ref_pack_ops(&plain, ops, 2), 0);
	ex2_expect("clear ops", ex2_ops_hex, (const uint8_t *)plain.data, plain.size);
	ex2_expect("change set", ex2_cs_hex, cs->raw, cs->rawlen);
	changeset_scope_id(nodekey_public(a), 2, 0, id);
	assert_memory_equal(data->scope, id, ARR_SCOPE_LEN);
	det_draw(2, nonce, sizeof(nonce));
	assert_memory_equal(data->body, nonce, ARR_NONCE_LEN);
	assert_int_equal(changeset_ref_seal(cs->origin, cs->h.seq, 1, data->scope, data->key_id,
	                                    (const uint8_t *)plain.data, plain.size, skey, nonce,
	                                    &ref, &reflen),
	                 0);
	assert_int_equal(reflen, data->bodylen);
	assert_memory_equal(ref, data->body, reflen);
	assert_int_equal(decode_open_part(cs->raw, cs->rawlen, 1, skey), 0);
	assert_int_equal(changeset_decode(cs->raw, cs->rawlen, &back), 0);
	assert_int_equal(changeset_verify(back), 0);
	p = back->parts[0].policy;
	assert_non_null(p);
	assert_int_equal(p->op, POLICY_CREATE);
	assert_int_equal(p->nparties, 1);
	assert_memory_equal(p->parties[0].member, nodekey_public(b), ARR_ORIGIN_LEN);
	assert_int_equal(nodekey_shared(b, back->origin, shared), 0);
	assert_int_equal(policy_slot_open(shared, &p->slots[1], got), 0);
	assert_memory_equal(got, skey, ARR_SKEY_LEN);
	det_draw(1, nonce, sizeof(nonce));
	assert_memory_equal(p->slots[1].sealed, nonce, ARR_NONCE_LEN);
	assert_int_equal(policy_slot_open(shared, &p->slots[0], got), ARR_EDECRYPT);
	assert_int_equal(nodekey_shared(a, back->origin, shared), 0);
	assert_int_equal(policy_slot_open(shared, &p->slots[1], got), ARR_EDECRYPT);
	assert_int_equal(policy_slot_open(shared, &p->slots[0], got), 0);
	free(ref);
	msgpack_sbuffer_destroy(&plain);
	changeset_destroy(&back);
	changeset_destroy(&cs);
	nodekey_destroy(&b);
	nodekey_destroy(&a);
}

/* PROTOCOL.md shows the test's bytes (read from the source tree). */
static void
test_example2_spec(void **state)
{
	static const struct {
		const char *name, *hex;
	} dumps[] = {{"ex2-ops", ex2_ops_hex}, {"ex2-cs", ex2_cs_hex}};

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
