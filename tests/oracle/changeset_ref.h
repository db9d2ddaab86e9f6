/*
 * changeset_ref.h: the reference codec of change sets (changeset_ref.c), the oracle the
 * tests and fuzz targets hold changeset_decode(), changeset_build() and the sealing of
 * case bodies to. Written with msgpack-c and libsodium directly, independently of the
 * protocol library's single-pass code. Test builds only.
 */
#ifndef CHANGESET_REF_H
#define CHANGESET_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "changeset.h"
#include "policy.h"

/*
 * The same contract as changeset_decode(): msgpack-c unpack, field checks, then a
 * re-encode compared with the input. Both must give the same code and the same content
 * for any bytes.
 */
int changeset_decode_reference(const uint8_t *buf, size_t len, struct changeset **out);

/*
 * Whether two decoded change sets hold the same content at the same places of their
 * bytes: what the two decoders must agree on.
 */
bool changeset_same(const struct changeset *a, const struct changeset *b);

/*
 * Decode buf with both decoders and return their code; when they disagree on the code or
 * the content, print the input and both codes to stderr and abort().
 */
int changeset_ref_compare(const uint8_t *buf, size_t len);

/* The canonical header of h by origin with the parts' entries (scope, kind, key_id, body_len,
 * body_hash as given). */
int changeset_ref_header(msgpack_sbuffer *sb, const uint8_t origin[ARR_ORIGIN_LEN],
                         const struct cs_header *h, const struct cs_part *parts, size_t nparts);
/* [bin hdr, bin sig, [bin body | nil (body NULL)...]] with msgpack-c's packer. */
int changeset_ref_envelope(msgpack_sbuffer *sb, const uint8_t *hdr, size_t hdrlen,
                           const uint8_t sig[ARR_SIG_LEN], const struct cs_part *parts,
                           size_t nparts);
/*
 * A whole change set by key k with header h around the parts (scope, kind and key_id as
 * given, unchecked; body NULL: dropped): each part's body_len and body_hash are those of
 * its body (of an empty body when dropped), and the header is signed.
 */
int changeset_ref_wrap(const struct nodekey *k, const struct cs_header *h,
                       const struct cs_part *parts, size_t nparts, msgpack_sbuffer *out);
/*
 * The sealed body of n bytes of clear ops under skey with the given nonce, bound to
 * origin, seq, the part index, scope and key_id (PROTOCOL.md, "Sealed bodies"): nonce ||
 * XChaCha20-Poly1305 of the ops padded to a multiple of ARR_PAD_BLOCK. *out is malloc'd.
 */
int changeset_ref_seal(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, size_t part,
                       const uint8_t scope[ARR_SCOPE_LEN], uint64_t key_id, const uint8_t *plain,
                       size_t n, const uint8_t skey[ARR_SKEY_LEN],
                       const uint8_t nonce[ARR_NONCE_LEN], uint8_t **out, size_t *outlen);
/* The canonical policy body of p with msgpack-c's packer (no rule checked). */
int policy_encode_reference(const struct cs_policy *p, msgpack_sbuffer *sb);

#endif
