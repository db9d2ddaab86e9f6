/*
 * invite.c: invitation tokens (invite.h): a fixed binary layout, signed with the issuer's
 * node key and written as URL-safe base64 by libsodium; proofs of the secret by an Ed25519 key
 * pair derived from it (libsodium's crypto_kdf, a BLAKE2b KDF, and crypto_sign). No I/O and no
 * clock: the caller passes the time.
 */
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "bigend.h"
#include "invite.h"

static const uint8_t invite_domain[16] = "arrangd-invite\0";

/* bytes of the signed part without its two texts */
#define INVITE_FIXED                                                                               \
	(1 + MEMBER_REGION_LEN + ARR_ORIGIN_LEN + MEMBER_INVITE_LEN + INVITE_SECRET_LEN + 8 + 1 +  \
	 4 + ARR_ORIGIN_LEN + 1 + 1)
#define INVITE_RAW_MAX (INVITE_FIXED + ARR_ORG_MAX + MEMBER_ENDPOINT_MAX + ARR_SIG_LEN)

static const uint8_t invite_join_domain[16] = "arrangd-join\0\0\0";
#define INVITE_KDF_CONTEXT "arrinvit" /* crypto_kdf_CONTEXTBYTES (8) */
#define INVITE_JOIN_MSG_MAX                                                                        \
	(sizeof(invite_join_domain) + MEMBER_REGION_LEN + MEMBER_INVITE_LEN + ARR_ORIGIN_LEN + 1 + \
	 MEMBER_ENDPOINT_MAX)

/* The invitation's Ed25519 key pair, from its secret (the seed too, for the caller to wipe). */
static void
invite_keypair(const uint8_t secret[INVITE_SECRET_LEN], uint8_t seed[crypto_sign_SEEDBYTES],
               uint8_t pk[INVITE_VERIFY_LEN], uint8_t sk[crypto_sign_SECRETKEYBYTES])
{
	(void)crypto_kdf_derive_from_key(seed, crypto_sign_SEEDBYTES, 1, INVITE_KDF_CONTEXT,
	                                 secret);
	(void)crypto_sign_seed_keypair(pk, sk, seed);
}

/* The message a JOIN's proof signs into msg (INVITE_JOIN_MSG_MAX); its length, 0 when bad. */
static size_t
invite_join_msg(const uint8_t region[MEMBER_REGION_LEN], const uint8_t id[MEMBER_INVITE_LEN],
                const uint8_t joiner[ARR_ORIGIN_LEN], const char *endpoint, uint8_t *msg)
{
	size_t elen = strnlen(endpoint, MEMBER_ENDPOINT_MAX + 1);
	uint8_t *p = msg;

	if (elen > MEMBER_ENDPOINT_MAX)
		return 0;
	memcpy(p, invite_join_domain, sizeof(invite_join_domain));
	p += sizeof(invite_join_domain);
	memcpy(p, region, MEMBER_REGION_LEN);
	p += MEMBER_REGION_LEN;
	memcpy(p, id, MEMBER_INVITE_LEN);
	p += MEMBER_INVITE_LEN;
	memcpy(p, joiner, ARR_ORIGIN_LEN);
	p += ARR_ORIGIN_LEN;
	*p++ = (uint8_t)elen;
	memcpy(p, endpoint, elen);
	return (size_t)(p - msg) + elen;
}

/* The signed message: the domain, then the token's bytes before the signature. */
static void
invite_sigmsg(const uint8_t *raw, size_t len, uint8_t *msg)
{
	memcpy(msg, invite_domain, sizeof(invite_domain));
	memcpy(msg + sizeof(invite_domain), raw, len);
}

/* The token's bytes before the signature into raw; their count. */
static size_t
invite_layout(const struct invite *iv, uint8_t *raw)
{
	size_t olen = strlen(iv->organisation), elen = strlen(iv->endpoint);
	uint8_t *p = raw;

	*p++ = INVITE_VERSION;
	memcpy(p, iv->region, MEMBER_REGION_LEN);
	p += MEMBER_REGION_LEN;
	memcpy(p, iv->issuer, ARR_ORIGIN_LEN);
	p += ARR_ORIGIN_LEN;
	memcpy(p, iv->id, MEMBER_INVITE_LEN);
	p += MEMBER_INVITE_LEN;
	memcpy(p, iv->secret, INVITE_SECRET_LEN);
	p += INVITE_SECRET_LEN;
	be_put(p, iv->expires, 8);
	p += 8;
	*p++ = iv->kind;
	be_put(p, iv->roles, 4);
	p += 4;
	if (iv->has_replaces)
		memcpy(p, iv->replaces, ARR_ORIGIN_LEN);
	else
		memset(p, 0, ARR_ORIGIN_LEN);
	p += ARR_ORIGIN_LEN;
	*p++ = (uint8_t)olen;
	memcpy(p, iv->organisation, olen);
	p += olen;
	*p++ = (uint8_t)elen;
	memcpy(p, iv->endpoint, elen);
	p += elen;
	return (size_t)(p - raw);
}

/* The fields' ranges, as member_check() has them for an ADD; replaces a valid key. */
static bool
invite_fields_ok(const struct invite *iv)
{
	size_t olen = strnlen(iv->organisation, sizeof(iv->organisation));
	size_t elen = strnlen(iv->endpoint, sizeof(iv->endpoint));
	uint8_t curve[32];

	if (iv->has_replaces && (nodekey_curve_public_raw(iv->replaces, curve) != 0 ||
	                         memcmp(iv->replaces, iv->issuer, ARR_ORIGIN_LEN) == 0))
		return false;
	return olen >= 1 && olen <= ARR_ORG_MAX && elen <= MEMBER_ENDPOINT_MAX &&
	       (iv->kind >= 1 || iv->has_replaces) && iv->kind <= MEMBER_KIND_MAX &&
	       (iv->roles & ~MEMBER_ROLES_ALL) == 0 && iv->expires != 0;
}

int
invite_encode(const struct invite *iv, const struct nodekey *issuer, char *out, size_t outlen)
{
	uint8_t raw[INVITE_RAW_MAX], msg[sizeof(invite_domain) + INVITE_RAW_MAX];
	size_t len;

	if (!invite_fields_ok(iv) ||
	    memcmp(iv->issuer, nodekey_public(issuer), ARR_ORIGIN_LEN) != 0)
		return ARR_EINVAL;
	len = invite_layout(iv, raw);
	invite_sigmsg(raw, len, msg);
	if (nodekey_sign(issuer, msg, sizeof(invite_domain) + len, raw + len) != 0)
		return ARR_EINVAL;
	len += ARR_SIG_LEN;
	if (outlen < sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return ARR_ETOOBIG;
	sodium_bin2base64(out, outlen, raw, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

/* One text of the token (length byte, bytes) at *p of end into out; false when malformed. */
static bool
invite_text(const uint8_t **p, const uint8_t *end, char *out, size_t max)
{
	size_t n;

	if (*p >= end || (n = **p) > max || (size_t)(end - *p - 1) < n)
		return false;
	memcpy(out, *p + 1, n);
	out[n] = '\0';
	*p += 1 + n;
	return memchr(out, '\0', n) == NULL;
}

/* The fields of raw[0..len) (signature excluded) into iv. */
static int
invite_parse(const uint8_t *raw, size_t len, struct invite *iv)
{
	const uint8_t *p = raw, *end = raw + len;

	if (len < INVITE_FIXED)
		return ARR_EMALFORMED;
	if (*p++ != INVITE_VERSION)
		return ARR_EVERSION;
	memcpy(iv->region, p, MEMBER_REGION_LEN);
	p += MEMBER_REGION_LEN;
	memcpy(iv->issuer, p, ARR_ORIGIN_LEN);
	p += ARR_ORIGIN_LEN;
	memcpy(iv->id, p, MEMBER_INVITE_LEN);
	p += MEMBER_INVITE_LEN;
	memcpy(iv->secret, p, INVITE_SECRET_LEN);
	p += INVITE_SECRET_LEN;
	iv->expires = be_get(p, 8);
	p += 8;
	iv->kind = *p++;
	iv->roles = (uint32_t)be_get(p, 4);
	p += 4;
	memcpy(iv->replaces, p, ARR_ORIGIN_LEN);
	iv->has_replaces = !sodium_is_zero(p, ARR_ORIGIN_LEN);
	p += ARR_ORIGIN_LEN;
	if (!invite_text(&p, end, iv->organisation, ARR_ORG_MAX) ||
	    !invite_text(&p, end, iv->endpoint, MEMBER_ENDPOINT_MAX) || p != end ||
	    !invite_fields_ok(iv))
		return ARR_EMALFORMED;
	return 0;
}

int
invite_decode(const char *token, struct invite *out)
{
	uint8_t raw[INVITE_RAW_MAX], msg[sizeof(invite_domain) + INVITE_RAW_MAX];
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (strlen(token) >= INVITE_TOKEN_MAX ||
	    sodium_base642bin(raw, sizeof(raw), token, strlen(token), NULL, &len, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len < ARR_SIG_LEN)
		return ARR_EMALFORMED;
	len -= ARR_SIG_LEN;
	if ((rc = invite_parse(raw, len, out)) != 0)
		goto fail;
	invite_sigmsg(raw, len, msg);
	if (nodekey_verify(out->issuer, msg, sizeof(invite_domain) + len, raw + len) != 0) {
		rc = ARR_EBADSIG;
		goto fail;
	}
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(msg, sizeof(msg));
	return 0;
fail:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(msg, sizeof(msg));
	sodium_memzero(out, sizeof(*out));
	return rc;
}

int
invite_check(const struct invite *iv, const uint8_t region[MEMBER_REGION_LEN], uint64_t now,
             const char **why)
{
	*why = NULL;
	if (memcmp(iv->region, region, MEMBER_REGION_LEN) != 0) {
		*why = "the invitation is for another region";
		return ARR_ENOTMEMBER;
	}
	if (now >= iv->expires) {
		*why = "the invitation has expired";
		return ARR_ETIMEOUT;
	}
	return 0;
}

void
invite_verify_key(const uint8_t secret[INVITE_SECRET_LEN], uint8_t out[INVITE_VERIFY_LEN])
{
	uint8_t seed[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES];

	invite_keypair(secret, seed, out, sk);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
}

int
invite_prove(const uint8_t secret[INVITE_SECRET_LEN], const uint8_t region[MEMBER_REGION_LEN],
             const uint8_t id[MEMBER_INVITE_LEN], const uint8_t joiner[ARR_ORIGIN_LEN],
             const char *endpoint, uint8_t out[INVITE_PROOF_LEN])
{
	uint8_t seed[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES], pk[INVITE_VERIFY_LEN];
	uint8_t msg[INVITE_JOIN_MSG_MAX];
	size_t len;

	if ((len = invite_join_msg(region, id, joiner, endpoint, msg)) == 0)
		return ARR_EINVAL;
	invite_keypair(secret, seed, pk, sk);
	crypto_sign_detached(out, NULL, msg, len, sk);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

bool
invite_proof_ok(const uint8_t verify[INVITE_VERIFY_LEN], const uint8_t region[MEMBER_REGION_LEN],
                const uint8_t id[MEMBER_INVITE_LEN], const uint8_t joiner[ARR_ORIGIN_LEN],
                const char *endpoint, const uint8_t proof[INVITE_PROOF_LEN])
{
	uint8_t msg[INVITE_JOIN_MSG_MAX];
	size_t len = invite_join_msg(region, id, joiner, endpoint, msg);

	return len != 0 && crypto_sign_verify_detached(proof, msg, len, verify) == 0;
}
