/*
 * nodekey.h: a node's Ed25519 key pair. The public key is the node's origin: it names
 * the node in change sets and version vectors and verifies its signatures. The same key,
 * converted to X25519, is the node's CURVE key for ZeroMQ. The secret half lives in
 * sodium_malloc'd memory and is wiped on destroy. Reading and writing key files is the
 * daemon's job (daemon/keyfile.c), not this module's.
 */
#ifndef NODEKEY_H
#define NODEKEY_H

#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"

#define NODEKEY_SEED_LEN   32
#define NODEKEY_SECRET_LEN 64
#define NODEKEY_HEX_LEN    (2 * ARR_ORIGIN_LEN) /* text form of a public key */
#define NODEKEY_Z85_LEN    40                   /* CURVE key in Z85, without NUL */
#define NODEKEY_SHARED_LEN 32                   /* a pairwise static key (nodekey_shared) */

struct nodekey;

/* Calls sodium_init() on first use. NULL on failure. */
struct nodekey *nodekey_generate(void);
/* Deterministic key from a 32-byte seed (tests and fixtures). */
struct nodekey *nodekey_from_seed(const uint8_t seed[NODEKEY_SEED_LEN]);
void nodekey_destroy(struct nodekey **k); /* wipes the secret; NULLs *k */

/* Borrowed; valid for the life of k. */
const uint8_t *nodekey_public(const struct nodekey *k);
/* Copy the seed out (for key files); caller wipes it. */
void nodekey_seed(const struct nodekey *k, uint8_t seed[NODEKEY_SEED_LEN]);

/* Detached Ed25519 signature over msg. */
int nodekey_sign(const struct nodekey *k, const uint8_t *msg, size_t len, uint8_t sig[ARR_SIG_LEN]);
/* 0 when sig is origin's valid signature over msg, ARR_EBADSIG otherwise. */
int nodekey_verify(const uint8_t origin[ARR_ORIGIN_LEN], const uint8_t *msg, size_t len,
                   const uint8_t sig[ARR_SIG_LEN]);

/* CURVE (X25519) keys in Z85 text, for ZMQ_CURVE_PUBLICKEY/SECRETKEY/SERVERKEY. */
int nodekey_curve_secret_z85(const struct nodekey *k, char out[NODEKEY_Z85_LEN + 1]);
int nodekey_curve_public_z85(const uint8_t origin[ARR_ORIGIN_LEN], char out[NODEKEY_Z85_LEN + 1]);
/* X25519 public key (32 raw bytes) for origin, as a ZAP handler sees it. */
int nodekey_curve_public_raw(const uint8_t origin[ARR_ORIGIN_LEN], uint8_t out[32]);

/*
 * Z85 (ZeroMQ RFC 32) of len bytes (a multiple of 4): writes len / 4 * 5 chars and a NUL.
 * Decode is strict: outlen must be 4/5 of strlen(text). ARR_EINVAL on bad input.
 */
int nodekey_z85_encode(const uint8_t *data, size_t len, char *out);
int nodekey_z85_decode(const char *text, uint8_t *out, size_t outlen);

/* Public key as 64 lower-case hex chars + NUL, and back (strict; ARR_EKEY on error). */
void nodekey_hex(const uint8_t origin[ARR_ORIGIN_LEN], char out[NODEKEY_HEX_LEN + 1]);
int nodekey_parse_hex(const char *text, uint8_t origin[ARR_ORIGIN_LEN]);

/*
 * The static key this node shares with the node whose Ed25519 key is peer:
 * crypto_box_beforenm of peer's X25519 form and this node's X25519 secret (one
 * scalar multiplication). Both nodes of a pair compute the same 32 bytes; peer may be
 * k's own key. The caller wipes out. 0, ARR_EINVAL or ARR_EKEY (peer is not a key).
 */
int nodekey_shared(const struct nodekey *k, const uint8_t peer[ARR_ORIGIN_LEN],
                   uint8_t out[NODEKEY_SHARED_LEN]);

#endif
