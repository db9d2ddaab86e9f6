/*
 * nodekey.c: a node's Ed25519 key pair, its signatures, and its X25519 (CURVE) form in
 * Z85 text. The secret key lives in sodium_malloc'd memory (guard pages, excluded from
 * core dumps where the system allows, wiped by sodium_free). This module never reads or
 * writes files and never logs; Z85 is implemented here so that the protocol library does
 * not depend on ZeroMQ.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "nodekey.h"

struct nodekey {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t *sk; /* crypto_sign_SECRETKEYBYTES, then the X25519 secret; sodium_malloc'd */
	uint8_t xpk[crypto_scalarmult_curve25519_BYTES]; /* the X25519 public key */
};

#define NODEKEY_SECRET_BYTES (crypto_sign_SECRETKEYBYTES + crypto_scalarmult_curve25519_BYTES)
#define XSK(k)               ((k)->sk + crypto_sign_SECRETKEYBYTES)

/* sodium_init() is itself thread-safe and idempotent; 0 once it has succeeded. */
static int
nodekey_sodium(void)
{
	return sodium_init() < 0 ? ARR_ENOMEM : 0;
}

/* An empty key with its secret buffer allocated, or NULL. */
static struct nodekey *
nodekey_alloc(void)
{
	struct nodekey *k = NULL;

	if (nodekey_sodium() != 0)
		return NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((k->sk = sodium_malloc(NODEKEY_SECRET_BYTES)) == NULL) {
		free(k);
		return NULL;
	}
	return k;
}

struct nodekey *
nodekey_generate(void)
{
	uint8_t seed[NODEKEY_SEED_LEN];
	struct nodekey *k;

	if (nodekey_sodium() != 0)
		return NULL;
	randombytes_buf(seed, sizeof(seed));
	k = nodekey_from_seed(seed);
	sodium_memzero(seed, sizeof(seed));
	return k;
}

struct nodekey *
nodekey_from_seed(const uint8_t seed[NODEKEY_SEED_LEN])
{
	struct nodekey *k;

	if (seed == NULL || (k = nodekey_alloc()) == NULL)
		return NULL;
	/* the X25519 pair too, once: every key slot this node opens needs it */
	if (crypto_sign_seed_keypair(k->pk, k->sk, seed) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(XSK(k), k->sk) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(k->xpk, k->pk) != 0) {
		nodekey_destroy(&k);
		return NULL;
	}
	return k;
}

/* sodium_free wipes the secret before releasing it; the explicit memzero documents it. */
void
nodekey_destroy(struct nodekey **kp)
{
	struct nodekey *k;

	if (kp == NULL || (k = *kp) == NULL)
		return;
	sodium_memzero(k->sk, NODEKEY_SECRET_BYTES);
	sodium_free(k->sk);
	free(k);
	*kp = NULL;
}

const uint8_t *
nodekey_public(const struct nodekey *k)
{
	return k->pk;
}

/* libsodium's Ed25519 secret key is seed || public key. */
void
nodekey_seed(const struct nodekey *k, uint8_t seed[NODEKEY_SEED_LEN])
{
	memcpy(seed, k->sk, NODEKEY_SEED_LEN);
}

int
nodekey_sign(const struct nodekey *k, const uint8_t *msg, size_t len, uint8_t sig[ARR_SIG_LEN])
{
	if (k == NULL || sig == NULL || (msg == NULL && len > 0))
		return ARR_EINVAL;
	if (crypto_sign_detached(sig, NULL, msg, len, k->sk) != 0)
		return ARR_EINVAL;
	return 0;
}

int
nodekey_verify(const uint8_t origin[ARR_ORIGIN_LEN], const uint8_t *msg, size_t len,
               const uint8_t sig[ARR_SIG_LEN])
{
	if (origin == NULL || sig == NULL || (msg == NULL && len > 0))
		return ARR_EBADSIG;
	if (nodekey_sodium() != 0)
		return ARR_EBADSIG;
	if (crypto_sign_verify_detached(sig, msg, len, origin) != 0)
		return ARR_EBADSIG;
	return 0;
}

/* ZeroMQ RFC 32 (Z85). */
static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                ".-:+=^!/*?&<>()[]{}@%$#";

/* Each 4 bytes, big-endian, become 5 digits base 85, most significant first. */
int
nodekey_z85_encode(const uint8_t *data, size_t len, char *out)
{
	size_t o = 0;

	if (data == NULL || out == NULL || len % 4 != 0)
		return ARR_EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = (uint32_t)data[i] << 24 | (uint32_t)data[i + 1] << 16 |
		             (uint32_t)data[i + 2] << 8 | data[i + 3];

		for (int d = 4; d >= 0; d--) {
			out[o + (size_t)d] = z85_chars[v % 85];
			v /= 85;
		}
		o += 5;
	}
	out[o] = '\0';
	return 0;
}

/* Strict: only the 85 alphabet characters, length a multiple of 5, no overflowing group. */
int
nodekey_z85_decode(const char *text, uint8_t *out, size_t outlen)
{
	size_t len, o = 0;

	if (text == NULL || out == NULL)
		return ARR_EINVAL;
	len = strlen(text);
	if (len % 5 != 0 || len / 5 * 4 != outlen)
		return ARR_EINVAL;
	for (size_t i = 0; i < len; i += 5) {
		uint64_t v = 0;

		for (size_t d = 0; d < 5; d++) {
			const char *p = text[i + d] == '\0' ? NULL : strchr(z85_chars, text[i + d]);

			if (p == NULL)
				return ARR_EINVAL;
			v = v * 85 + (uint64_t)(p - z85_chars);
		}
		if (v > UINT32_MAX)
			return ARR_EINVAL;
		out[o++] = (uint8_t)(v >> 24);
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	return 0;
}

int
nodekey_curve_secret_z85(const struct nodekey *k, char out[NODEKEY_Z85_LEN + 1])
{
	uint8_t x[crypto_scalarmult_curve25519_BYTES];
	int rc;

	if (k == NULL || out == NULL)
		return ARR_EINVAL;
	if (crypto_sign_ed25519_sk_to_curve25519(x, k->sk) != 0) {
		rc = ARR_EKEY;
		goto out;
	}
	rc = nodekey_z85_encode(x, sizeof(x), out);
out:
	sodium_memzero(x, sizeof(x));
	return rc;
}

int
nodekey_curve_public_raw(const uint8_t origin[ARR_ORIGIN_LEN], uint8_t out[32])
{
	if (origin == NULL || out == NULL)
		return ARR_EINVAL;
	if (nodekey_sodium() != 0)
		return ARR_ENOMEM;
	/* Fails for points that are not valid Ed25519 public keys. */
	if (crypto_sign_ed25519_pk_to_curve25519(out, origin) != 0)
		return ARR_EKEY;
	return 0;
}

int
nodekey_curve_public_z85(const uint8_t origin[ARR_ORIGIN_LEN], char out[NODEKEY_Z85_LEN + 1])
{
	uint8_t x[crypto_scalarmult_curve25519_BYTES];
	int rc;

	if (out == NULL)
		return ARR_EINVAL;
	if ((rc = nodekey_curve_public_raw(origin, x)) != 0)
		return rc;
	return nodekey_z85_encode(x, sizeof(x), out);
}

/* libsodium's constant-time hex codec: lower-case output. */
void
nodekey_hex(const uint8_t origin[ARR_ORIGIN_LEN], char out[NODEKEY_HEX_LEN + 1])
{
	sodium_bin2hex(out, NODEKEY_HEX_LEN + 1, origin, ARR_ORIGIN_LEN);
}

/*
 * Exactly 64 hex digits (either case) and the NUL: no prefix, no spaces, no trailing
 * newline. Decoded into a local buffer so that origin is untouched on error.
 */
int
nodekey_parse_hex(const char *text, uint8_t origin[ARR_ORIGIN_LEN])
{
	uint8_t key[ARR_ORIGIN_LEN];
	size_t n = 0;

	if (text == NULL || origin == NULL)
		return ARR_EKEY;
	if (strnlen(text, NODEKEY_HEX_LEN + 1) != NODEKEY_HEX_LEN)
		return ARR_EKEY;
	if (sodium_hex2bin(key, sizeof(key), text, NODEKEY_HEX_LEN, NULL, &n, NULL) != 0 ||
	    n != sizeof(key))
		return ARR_EKEY;
	memcpy(origin, key, sizeof(key));
	return 0;
}

int
nodekey_shared(const struct nodekey *k, const uint8_t peer[ARR_ORIGIN_LEN],
               uint8_t out[NODEKEY_SHARED_LEN])
{
	uint8_t x[crypto_scalarmult_curve25519_BYTES];
	int rc = ARR_EKEY;

	if (k == NULL || peer == NULL || out == NULL)
		return ARR_EINVAL;
	if (nodekey_curve_public_raw(peer, x) != 0)
		goto out;
	if (crypto_box_beforenm(out, x, XSK(k)) != 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(x, sizeof(x));
	return rc;
}
