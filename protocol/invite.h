/*
 * invite.h: the invitation token a registrar hands to a new member (PROTOCOL.md,
 * "Invitation tokens"): who is invited into which region, by whom, until when, signed by the
 * issuing registrar, and the secret whose proof (a signature by a key pair derived from it)
 * admits the joiner once. This module encodes,
 * decodes, verifies and proves; storing, redeeming and refusing invitations is the daemon's.
 *
 * Token: URL-safe base64 without padding (libsodium) of
 *   version(1) region(16) issuer(32) invite_id(16) secret(32) expires(8, BE unix seconds)
 *   kind(1) roles(4, BE) replaces(32) org_len(1) organisation endpoint_len(1) endpoint sig(64)
 * where sig is the issuer's Ed25519 signature of "arrangd-invite\0\0" || everything before it
 * and replaces is the key of the member whose lost key the joiner replaces (all zero: none,
 * the joiner is a new member).
 */
#ifndef INVITE_H
#define INVITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"
#include "member.h"
#include "nodekey.h"

#define INVITE_VERSION    2 /* 2 adds replaces; a token of 1 is refused */
#define INVITE_SECRET_LEN 32
#define INVITE_PROOF_LEN  64 /* an Ed25519 signature */
#define INVITE_VERIFY_LEN 32 /* an Ed25519 public key */
/* the longest token's text, NUL included */
#define INVITE_TOKEN_MAX 1024

/* An invitation as the token carries it. Text fields are NUL-terminated. */
struct invite {
	uint8_t region[MEMBER_REGION_LEN];
	uint8_t issuer[ARR_ORIGIN_LEN];
	uint8_t id[MEMBER_INVITE_LEN];
	uint8_t secret[INVITE_SECRET_LEN];
	uint64_t expires;  /* unix seconds */
	uint8_t kind;      /* enum member_kind */
	uint32_t roles;    /* enum member_role */
	bool has_replaces; /* the joiner takes the place of the member with key replaces */
	uint8_t replaces[ARR_ORIGIN_LEN];
	char organisation[ARR_ORG_MAX + 1];
	char endpoint[MEMBER_ENDPOINT_MAX + 1]; /* the issuer's, which the joiner dials */
};

/*
 * The token of iv signed by issuer (iv->issuer must be its public key) into out (outlen
 * bytes, INVITE_TOKEN_MAX is enough). 0, ARR_EINVAL (a field out of range) or ARR_ETOOBIG.
 */
int invite_encode(const struct invite *iv, const struct nodekey *issuer, char *out, size_t outlen);
/*
 * Decode and verify token: well formed, this version, every field in range, signed by the
 * issuer it names. 0, ARR_EMALFORMED, ARR_EVERSION or ARR_EBADSIG (an altered or forged
 * token). It says nothing about expiry or the issuer's rights: invite_check().
 */
int invite_decode(const char *token, struct invite *out);
/*
 * Is iv for region and unexpired at now (unix seconds)? 0, ARR_ENOTMEMBER (another region)
 * or ARR_ETIMEOUT (expired); *why a fixed string without secrets.
 */
int invite_check(const struct invite *iv, const uint8_t region[MEMBER_REGION_LEN], uint64_t now,
                 const char **why);
/*
 * What the issuer keeps of the secret: the public half of the invitation's key pair, an
 * Ed25519 key pair whose seed is crypto_kdf (BLAKE2b) subkey 1 of the secret with context
 * "arrinvit". It verifies proofs and cannot make one, so it is not as sensitive as the token.
 */
void invite_verify_key(const uint8_t secret[INVITE_SECRET_LEN], uint8_t out[INVITE_VERIFY_LEN]);
/*
 * The joiner's proof of the secret: the invitation key's Ed25519 signature of
 * "arrangd-join\0\0\0\0" || region || invite id || joiner key || endpoint length (1 byte) ||
 * endpoint, so it binds the region, the invitation, the joiner's key and its endpoint (at
 * most MEMBER_ENDPOINT_MAX bytes). 0, or ARR_EINVAL (endpoint too long).
 */
int invite_prove(const uint8_t secret[INVITE_SECRET_LEN], const uint8_t region[MEMBER_REGION_LEN],
                 const uint8_t id[MEMBER_INVITE_LEN], const uint8_t joiner[ARR_ORIGIN_LEN],
                 const char *endpoint, uint8_t out[INVITE_PROOF_LEN]);
/* Is proof that signature under the kept verify key? */
bool invite_proof_ok(const uint8_t verify[INVITE_VERIFY_LEN],
                     const uint8_t region[MEMBER_REGION_LEN], const uint8_t id[MEMBER_INVITE_LEN],
                     const uint8_t joiner[ARR_ORIGIN_LEN], const char *endpoint,
                     const uint8_t proof[INVITE_PROOF_LEN]);

#endif
