/*
 * invite.h: the invitation token a registrar hands to a new member (PROTOCOL.md,
 * "Invitation tokens"): who is invited into which region, by whom, until when, signed by the
 * issuing registrar, and the secret whose proof admits the joiner once. This module encodes,
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
#define INVITE_PROOF_LEN  32
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
/* What the issuer keeps of the secret: BLAKE2b-256 of it (the secret itself is not kept). */
void invite_secret_hash(const uint8_t secret[INVITE_SECRET_LEN], uint8_t out[32]);
/*
 * The joiner's proof of the secret: BLAKE2b-256 keyed by invite_secret_hash(secret) over
 * joiner key || invite id, so it binds the joiner's key and the issuer checks it with what
 * it kept. The kept hash is as sensitive as the token until the invitation is used or
 * expires.
 */
void invite_proof(const uint8_t secret[INVITE_SECRET_LEN], const uint8_t joiner[ARR_ORIGIN_LEN],
                  const uint8_t id[MEMBER_INVITE_LEN], uint8_t out[INVITE_PROOF_LEN]);
/* Does proof prove the secret whose hash the issuer kept? Constant time. */
bool invite_proof_ok(const uint8_t kept[32], const uint8_t joiner[ARR_ORIGIN_LEN],
                     const uint8_t id[MEMBER_INVITE_LEN], const uint8_t proof[INVITE_PROOF_LEN]);

#endif
