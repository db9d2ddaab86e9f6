/*
 * test_invite.c: invitation tokens (protocol/invite.c): a token round-trips; every altered
 * byte, a token signed by another key than the issuer it names, an expired one, one for
 * another region, and a tampered proof, one by another token's key and one replayed for
 * another joiner key are refused.
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

/*
 * The proof is a signature by the key pair derived from the secret; the issuer keeps only
 * the public key. It binds the region, the invitation, the joiner's key and its endpoint:
 * a tampered proof, one made with another token's secret, one replayed for another joiner
 * key (or endpoint, invitation, region) are refused.
 */
static void
test_proof(void **state)
{
	uint8_t secret[INVITE_SECRET_LEN], other[INVITE_SECRET_LEN], verify[INVITE_VERIFY_LEN];
	uint8_t region[MEMBER_REGION_LEN], joiner[ARR_ORIGIN_LEN], id[MEMBER_INVITE_LEN];
	uint8_t proof[INVITE_PROOF_LEN], p2[INVITE_PROOF_LEN], v2[INVITE_VERIFY_LEN];
	const char *ep = "tcp://school.example:7400";
	char long_ep[MEMBER_ENDPOINT_MAX + 2];

	(void)state;
	memset(secret, 0x33, sizeof(secret));
	memset(other, 0x34, sizeof(other));
	memset(region, 0x11, sizeof(region));
	memset(joiner, 0x44, sizeof(joiner));
	memset(id, 0x22, sizeof(id));
	invite_verify_key(secret, verify);
	invite_verify_key(other, v2);
	assert_memory_not_equal(verify, v2, sizeof(v2));
	assert_memory_not_equal(verify, secret, sizeof(verify)); /* not the secret itself */
	assert_int_equal(invite_prove(secret, region, id, joiner, ep, proof), 0);
	assert_true(invite_proof_ok(verify, region, id, joiner, ep, proof));
	/* every bit of the proof */
	for (size_t i = 0; i < sizeof(proof) * 8; i++) {
		proof[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_false(invite_proof_ok(verify, region, id, joiner, ep, proof));
		proof[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* another token's key: its own proof does not pass this one's key, nor this one its */
	assert_int_equal(invite_prove(other, region, id, joiner, ep, p2), 0);
	assert_false(invite_proof_ok(verify, region, id, joiner, ep, p2));
	assert_false(invite_proof_ok(v2, region, id, joiner, ep, proof));
	/* replayed for another joiner key, endpoint, invitation or region */
	joiner[0] ^= 1;
	assert_false(invite_proof_ok(verify, region, id, joiner, ep, proof));
	joiner[0] ^= 1;
	assert_false(invite_proof_ok(verify, region, id, joiner, "tcp://evil.example:7400", proof));
	assert_false(invite_proof_ok(verify, region, id, joiner, "", proof));
	id[15] ^= 1;
	assert_false(invite_proof_ok(verify, region, id, joiner, ep, proof));
	id[15] ^= 1;
	region[0] ^= 1;
	assert_false(invite_proof_ok(verify, region, id, joiner, ep, proof));
	region[0] ^= 1;
	assert_true(invite_proof_ok(verify, region, id, joiner, ep, proof));
	/* an endpoint over the bound is not signed */
	memset(long_ep, 'e', sizeof(long_ep) - 1);
	long_ep[sizeof(long_ep) - 1] = '\0';
	assert_int_equal(invite_prove(secret, region, id, joiner, long_ep, p2), ARR_EINVAL);
	assert_false(invite_proof_ok(verify, region, id, joiner, long_ep, proof));
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
