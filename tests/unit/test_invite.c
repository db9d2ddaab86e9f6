/*
 * test_invite.c: invitation tokens (protocol/invite.c): a token round-trips; every altered
 * byte, a token signed by another key than the issuer it names, an expired one, one for
 * another region and a proof for another key or invitation are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "arrerr.h"
#include "invite.h"
#include "nodekey.h"

static struct nodekey *
key_of(uint8_t b)
{
	uint8_t seed[NODEKEY_SEED_LEN];

	memset(seed, b, sizeof(seed));
	return nodekey_from_seed(seed);
}

static void
invite_fill(struct invite *iv, const struct nodekey *issuer)
{
	memset(iv, 0, sizeof(*iv));
	memset(iv->region, 0x11, sizeof(iv->region));
	memcpy(iv->issuer, nodekey_public(issuer), ARR_ORIGIN_LEN);
	memset(iv->id, 0x22, sizeof(iv->id));
	memset(iv->secret, 0x33, sizeof(iv->secret));
	iv->expires = 1700000000;
	iv->kind = MEMBER_KIND_PROVIDER;
	iv->roles = 0;
	strcpy(iv->organisation, "Jeugdhulp Noord");
	strcpy(iv->endpoint, "tcp://gemeente.example:7400");
}

static void
test_roundtrip(void **state)
{
	struct nodekey *k = key_of(1);
	struct invite iv, got;
	char tok[INVITE_TOKEN_MAX];
	const char *why;

	(void)state;
	invite_fill(&iv, k);
	assert_int_equal(invite_encode(&iv, k, tok, sizeof(tok)), 0);
	assert_null(strpbrk(tok, "+/="));
	assert_int_equal(invite_decode(tok, &got), 0);
	assert_memory_equal(&got, &iv, sizeof(iv));
	assert_int_equal(invite_check(&got, iv.region, 1699999999, &why), 0);
	nodekey_destroy(&k);
}

/* Every byte of the token's binary form, altered, is refused. */
static void
test_tampered(void **state)
{
	struct nodekey *k = key_of(1);
	struct invite iv, got;
	char tok[INVITE_TOKEN_MAX], bad[INVITE_TOKEN_MAX];
	uint8_t raw[INVITE_TOKEN_MAX];
	size_t len;

	(void)state;
	invite_fill(&iv, k);
	assert_int_equal(invite_encode(&iv, k, tok, sizeof(tok)), 0);
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), tok, strlen(tok), NULL, &len, NULL,
	                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	                 0);
	for (size_t i = 0; i < len; i++) {
		raw[i] ^= 0x01;
		sodium_bin2base64(bad, sizeof(bad), raw, len,
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_int_not_equal(invite_decode(bad, &got), 0);
		raw[i] ^= 0x01;
	}
	/* cut short, extended, not base64 */
	sodium_bin2base64(bad, sizeof(bad), raw, len - 1, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	assert_int_not_equal(invite_decode(bad, &got), 0);
	assert_int_equal(invite_decode("not a token!", &got), ARR_EMALFORMED);
	assert_int_equal(invite_decode("", &got), ARR_EMALFORMED);
	nodekey_destroy(&k);
}

/* A token that names one issuer but is signed by another is a forgery. */
static void
test_wrong_signer(void **state)
{
	struct nodekey *a = key_of(1), *b = key_of(2);
	struct invite iv, got;
	char tok[INVITE_TOKEN_MAX];

	(void)state;
	invite_fill(&iv, a);
	assert_int_equal(invite_encode(&iv, b, tok, sizeof(tok)), ARR_EINVAL);
	/* b signs, then the issuer field is changed to a's key: signature no longer valid */
	invite_fill(&iv, b);
	assert_int_equal(invite_encode(&iv, b, tok, sizeof(tok)), 0);
	{
		uint8_t raw[INVITE_TOKEN_MAX];
		size_t len;

		assert_int_equal(sodium_base642bin(raw, sizeof(raw), tok, strlen(tok), NULL, &len,
		                                   NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
		                 0);
		memcpy(raw + 1 + MEMBER_REGION_LEN, nodekey_public(a), ARR_ORIGIN_LEN);
		sodium_bin2base64(tok, sizeof(tok), raw, len,
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	}
	assert_int_equal(invite_decode(tok, &got), ARR_EBADSIG);
	nodekey_destroy(&a);
	nodekey_destroy(&b);
}

static void
test_expired_and_region(void **state)
{
	struct nodekey *k = key_of(1);
	struct invite iv;
	uint8_t other[MEMBER_REGION_LEN];
	const char *why;

	(void)state;
	invite_fill(&iv, k);
	assert_int_equal(invite_check(&iv, iv.region, iv.expires, &why), ARR_ETIMEOUT);
	assert_string_equal(why, "the invitation has expired");
	assert_int_equal(invite_check(&iv, iv.region, iv.expires + 86400, &why), ARR_ETIMEOUT);
	memset(other, 0x12, sizeof(other));
	assert_int_equal(invite_check(&iv, other, 0, &why), ARR_ENOTMEMBER);
	nodekey_destroy(&k);
}

/* The proof binds the secret, the joiner's key and the invitation id. */
static void
test_proof(void **state)
{
	uint8_t secret[INVITE_SECRET_LEN], kept[32], joiner[ARR_ORIGIN_LEN], id[MEMBER_INVITE_LEN];
	uint8_t proof[INVITE_PROOF_LEN];

	(void)state;
	memset(secret, 0x33, sizeof(secret));
	memset(joiner, 0x44, sizeof(joiner));
	memset(id, 0x22, sizeof(id));
	invite_secret_hash(secret, kept);
	invite_proof(secret, joiner, id, proof);
	assert_true(invite_proof_ok(kept, joiner, id, proof));
	joiner[0] ^= 1;
	assert_false(invite_proof_ok(kept, joiner, id, proof));
	joiner[0] ^= 1;
	id[15] ^= 1;
	assert_false(invite_proof_ok(kept, joiner, id, proof));
	id[15] ^= 1;
	secret[0] ^= 1;
	invite_proof(secret, joiner, id, proof);
	assert_false(invite_proof_ok(kept, joiner, id, proof));
}

/*
 * A token that replaces a member round-trips with the member's key; one that would replace
 * its issuer, or names a key that is none, is not made; a token of version 1 is refused.
 */
static void
test_replaces(void **state)
{
	struct nodekey *k = key_of(1), *m = key_of(3);
	struct invite iv, got;
	char tok[INVITE_TOKEN_MAX];
	uint8_t raw[INVITE_TOKEN_MAX];
	size_t len;

	(void)state;
	invite_fill(&iv, k);
	iv.has_replaces = true;
	memcpy(iv.replaces, nodekey_public(m), ARR_ORIGIN_LEN);
	assert_int_equal(invite_encode(&iv, k, tok, sizeof(tok)), 0);
	assert_int_equal(invite_decode(tok, &got), 0);
	assert_true(got.has_replaces);
	assert_memory_equal(got.replaces, nodekey_public(m), ARR_ORIGIN_LEN);
	assert_memory_equal(&got, &iv, sizeof(iv));
	/* without replaces the field is zero and decodes as none */
	invite_fill(&iv, k);
	assert_int_equal(invite_encode(&iv, k, tok, sizeof(tok)), 0);
	assert_int_equal(invite_decode(tok, &got), 0);
	assert_false(got.has_replaces);
	/* the issuer itself, or bytes that are no key */
	iv.has_replaces = true;
	memcpy(iv.replaces, nodekey_public(k), ARR_ORIGIN_LEN);
	assert_int_equal(invite_encode(&iv, k, tok, sizeof(tok)), ARR_EINVAL);
	memset(iv.replaces, 0xff, ARR_ORIGIN_LEN);
	assert_int_equal(invite_encode(&iv, k, tok, sizeof(tok)), ARR_EINVAL);
	/* version 1 */
	invite_fill(&iv, k);
	assert_int_equal(invite_encode(&iv, k, tok, sizeof(tok)), 0);
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), tok, strlen(tok), NULL, &len, NULL,
	                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	                 0);
	raw[0] = 1;
	sodium_bin2base64(tok, sizeof(tok), raw, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	assert_int_equal(invite_decode(tok, &got), ARR_EVERSION);
	nodekey_destroy(&k);
	nodekey_destroy(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_wrong_signer), cmocka_unit_test(test_expired_and_region),
	    cmocka_unit_test(test_proof),        cmocka_unit_test(test_replaces),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
