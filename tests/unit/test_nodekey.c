/*
 * test_nodekey.c: Ed25519 keys against RFC 8032, signatures, strict hex, Z85 against
 * the RFC 32 vectors, and the X25519 (CURVE) conversion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "arrerr.h"
#include "nodekey.h"
#include "testutil.h"

/* RFC 8032, 7.1, TEST 1 (empty message). */
static const char rfc8032_seed[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc8032_pub[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc8032_sig[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b4"
    "6bd25bf5f0595bbe24655141438e7a100b";

static void
unhex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	assert_int_equal(sodium_hex2bin(out, n, hex, 2 * n, NULL, NULL, NULL), 0);
}

static void
test_rfc8032(void **state)
{
	uint8_t seed[NODEKEY_SEED_LEN], pub[ARR_ORIGIN_LEN], want[ARR_SIG_LEN], sig[ARR_SIG_LEN];
	uint8_t back[NODEKEY_SEED_LEN];
	struct nodekey *k;

	(void)state;
	unhex(rfc8032_seed, seed, sizeof(seed));
	unhex(rfc8032_pub, pub, sizeof(pub));
	unhex(rfc8032_sig, want, sizeof(want));
	k = nodekey_from_seed(seed);
	assert_non_null(k);
	assert_memory_equal(nodekey_public(k), pub, sizeof(pub));
	assert_int_equal(nodekey_sign(k, (const uint8_t *)"", 0, sig), 0);
	assert_memory_equal(sig, want, sizeof(sig));
	assert_int_equal(nodekey_verify(pub, (const uint8_t *)"", 0, sig), 0);
	nodekey_seed(k, back);
	assert_memory_equal(back, seed, sizeof(seed));
	nodekey_destroy(&k);
	assert_null(k);
	nodekey_destroy(&k); /* NULL is fine */
	nodekey_destroy(NULL);
}

static void
test_sign_verify(void **state)
{
	struct nodekey *a = tu_key(1), *b = tu_key(2);
	const uint8_t msg[] = "one kind, one plan";
	uint8_t sig[ARR_SIG_LEN], bad[ARR_SIG_LEN], m2[sizeof(msg)];

	(void)state;
	assert_memory_not_equal(nodekey_public(a), nodekey_public(b), ARR_ORIGIN_LEN);
	assert_int_equal(nodekey_sign(a, msg, sizeof(msg), sig), 0);
	assert_int_equal(nodekey_verify(nodekey_public(a), msg, sizeof(msg), sig), 0);
	assert_int_equal(nodekey_verify(nodekey_public(b), msg, sizeof(msg), sig), ARR_EBADSIG);
	assert_int_equal(nodekey_verify(nodekey_public(a), msg, sizeof(msg) - 1, sig), ARR_EBADSIG);
	for (size_t i = 0; i < sizeof(msg) * 8; i++) {
		memcpy(m2, msg, sizeof(msg));
		m2[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(nodekey_verify(nodekey_public(a), m2, sizeof(m2), sig),
		                 ARR_EBADSIG);
	}
	for (size_t i = 0; i < ARR_SIG_LEN * 8; i++) {
		memcpy(bad, sig, sizeof(sig));
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(nodekey_verify(nodekey_public(a), msg, sizeof(msg), bad),
		                 ARR_EBADSIG);
	}
	nodekey_destroy(&a);
	nodekey_destroy(&b);
}

static void
test_generate(void **state)
{
	struct nodekey *a = nodekey_generate(), *b = nodekey_generate(), *c;
	uint8_t seed[NODEKEY_SEED_LEN];

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_memory_not_equal(nodekey_public(a), nodekey_public(b), ARR_ORIGIN_LEN);
	nodekey_seed(a, seed);
	c = nodekey_from_seed(seed);
	assert_memory_equal(nodekey_public(a), nodekey_public(c), ARR_ORIGIN_LEN);
	sodium_memzero(seed, sizeof(seed));
	nodekey_destroy(&a);
	nodekey_destroy(&b);
	nodekey_destroy(&c);
}

static void
test_hex(void **state)
{
	uint8_t key[ARR_ORIGIN_LEN], back[ARR_ORIGIN_LEN];
	char text[NODEKEY_HEX_LEN + 1], upper[NODEKEY_HEX_LEN + 1];
	static const char *const bad[] = {
	    "",
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511",   /* 63 */
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a0", /* 65 */
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n",
	    "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f70751",
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511g",
	    " d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511",
	};

	(void)state;
	unhex(rfc8032_pub, key, sizeof(key));
	nodekey_hex(key, text);
	assert_string_equal(text, rfc8032_pub);
	assert_int_equal(nodekey_parse_hex(text, back), 0);
	assert_memory_equal(back, key, sizeof(key));
	for (size_t i = 0; i <= NODEKEY_HEX_LEN; i++)
		upper[i] = (char)(text[i] >= 'a' && text[i] <= 'f' ? text[i] - 32 : text[i]);
	memset(back, 0, sizeof(back));
	assert_int_equal(nodekey_parse_hex(upper, back), 0);
	assert_memory_equal(back, key, sizeof(key));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (nodekey_parse_hex(bad[i], back) != ARR_EKEY)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(nodekey_parse_hex(NULL, back), ARR_EKEY);
}

/* ZeroMQ RFC 32: the "HelloWorld" vector and the CurveZMQ example keys. */
static const struct {
	const char *hex, *z85;
} z85_vectors[] = {
    {"864fd26fb559f75b", "HelloWorld"},
    {"bb88471d65e2659b30c55a5321cebb5aab2b70a398645c26dca2b2fcb43fc518",
     "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"},
    {"7bb864b489afa3671fbe69101f94b38972f24816dfb01b51656b3fec8dfd0888",
     "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"},
    {"54fcba24e93249969316fb617c872bb0c1d1ff14800427c594cbfacf1bc2d652",
     "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"},
    {"8e0bdd697628b91d8f245587ee95c5b04d48963f79259877b49cd9063aead3b7",
     "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"},
};

static void
test_z85(void **state)
{
	uint8_t bytes[32], back[32];
	char text[41];

	(void)state;
	for (size_t i = 0; i < sizeof(z85_vectors) / sizeof(z85_vectors[0]); i++) {
		size_t n = strlen(z85_vectors[i].hex) / 2;

		unhex(z85_vectors[i].hex, bytes, n);
		assert_int_equal(nodekey_z85_encode(bytes, n, text), 0);
		assert_string_equal(text, z85_vectors[i].z85);
		assert_int_equal(nodekey_z85_decode(text, back, n), 0);
		assert_memory_equal(back, bytes, n);
	}
	assert_int_equal(nodekey_z85_encode(bytes, 3, text), ARR_EINVAL);
	assert_int_equal(nodekey_z85_decode("HelloWorl", back, 8), ARR_EINVAL);
	assert_int_equal(nodekey_z85_decode("HelloWorld", back, 4), ARR_EINVAL);
	assert_int_equal(nodekey_z85_decode("Hello\"orld", back, 8), ARR_EINVAL);
	assert_int_equal(nodekey_z85_decode("#####", back, 4), ARR_EINVAL); /* > 2^32 - 1 */
	assert_int_equal(nodekey_z85_decode("%nSc0", back, 4), 0);          /* 2^32 - 1 */
	assert_memory_equal(back, "\xff\xff\xff\xff", 4);
}

/* The CurveZMQ example key pairs really are pairs: a check on the vectors above. */
static void
test_z85_vector_pairs(void **state)
{
	uint8_t sk[32], pk[32], derived[32];

	(void)state;
	for (size_t i = 1; i + 1 < 5; i += 2) {
		unhex(z85_vectors[i].hex, pk, 32);
		unhex(z85_vectors[i + 1].hex, sk, 32);
		assert_int_equal(crypto_scalarmult_base(derived, sk), 0);
		assert_memory_equal(derived, pk, 32);
	}
}

/* The CURVE secret derived from the Ed25519 key matches the CURVE public of the origin. */
static void
test_curve(void **state)
{
	struct nodekey *k = tu_key(7);
	char sec[NODEKEY_Z85_LEN + 1], pub[NODEKEY_Z85_LEN + 1], rawz[NODEKEY_Z85_LEN + 1];
	uint8_t sk[32], pk[32], raw[32], origin[ARR_ORIGIN_LEN];

	(void)state;
	assert_int_equal(nodekey_curve_secret_z85(k, sec), 0);
	assert_int_equal(strlen(sec), NODEKEY_Z85_LEN);
	assert_int_equal(nodekey_curve_public_z85(nodekey_public(k), pub), 0);
	assert_int_equal(strlen(pub), NODEKEY_Z85_LEN);
	assert_int_equal(nodekey_curve_public_raw(nodekey_public(k), raw), 0);
	assert_int_equal(nodekey_z85_encode(raw, 32, rawz), 0);
	assert_string_equal(rawz, pub);
	assert_int_equal(nodekey_z85_decode(sec, sk, 32), 0);
	assert_int_equal(crypto_scalarmult_base(pk, sk), 0);
	assert_memory_equal(pk, raw, 32);
	/* a point of small order (the identity) is not a usable key */
	memset(origin, 0, sizeof(origin));
	origin[0] = 1;
	assert_int_equal(nodekey_curve_public_raw(origin, raw), ARR_EKEY);
	assert_int_equal(nodekey_curve_public_z85(origin, pub), ARR_EKEY);
	nodekey_destroy(&k);
}

/* Both nodes of a pair compute the same shared key, another pair a different one; a
 * peer key that is no curve point is refused. */
static void
test_shared(void **state)
{
	struct nodekey *a = tu_key(1), *b = tu_key(2), *c = tu_key(3);
	uint8_t ab[NODEKEY_SHARED_LEN], ba[NODEKEY_SHARED_LEN], ac[NODEKEY_SHARED_LEN];
	uint8_t aa[NODEKEY_SHARED_LEN], bad[ARR_ORIGIN_LEN];

	(void)state;
	assert_int_equal(nodekey_shared(a, nodekey_public(b), ab), 0);
	assert_int_equal(nodekey_shared(b, nodekey_public(a), ba), 0);
	assert_memory_equal(ab, ba, NODEKEY_SHARED_LEN);
	assert_int_equal(nodekey_shared(a, nodekey_public(c), ac), 0);
	assert_memory_not_equal(ab, ac, NODEKEY_SHARED_LEN);
	assert_int_equal(nodekey_shared(a, nodekey_public(a), aa), 0);
	assert_memory_not_equal(ab, aa, NODEKEY_SHARED_LEN);
	memset(bad, 0xff, sizeof(bad));
	assert_int_equal(nodekey_shared(a, bad, ab), ARR_EKEY);
	assert_int_equal(nodekey_shared(NULL, nodekey_public(b), ab), ARR_EINVAL);
	nodekey_destroy(&c);
	nodekey_destroy(&b);
	nodekey_destroy(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc8032),  cmocka_unit_test(test_sign_verify),
	    cmocka_unit_test(test_generate), cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_z85),      cmocka_unit_test(test_z85_vector_pairs),
	    cmocka_unit_test(test_curve),    cmocka_unit_test(test_shared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
