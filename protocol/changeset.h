/*
 * changeset.h: the signed change set, the unit of replication (PROTOCOL.md,
 * "Change sets"). A change set is built and signed once by its origin and from then on
 * handled as its exact bytes: stored verbatim, relayed unchanged, verified anywhere.
 *
 * Wire form 2 (the envelope): msgpack array [header: bin, sig: bin 64, body: bin | nil].
 * header is the canonical msgpack encoding of
 *   [format_version, origin(bin32), seq, hlc, author_org, schema_version,
 *    scope(bin16 | nil), kind, key_id, body_len, body_hash(bin32)]
 * and sig is Ed25519 by origin over the header bytes. The body travels beside the header
 * and can be dropped later without breaking the signature (nil). A data body is the ops
 * array [[table, row_id(bin16), column, value]...]: clear text in the region scope (scope
 * nil), XChaCha20-Poly1305 under the scope key key_id in a case scope (changeset_seal.c).
 * A policy body is clear text (policy.h). Decoders accept only canonical encodings.
 */
#ifndef CHANGESET_H
#define CHANGESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"
#include "nodekey.h"
#include "value.h"

enum cs_kind {
	CS_DATA = 0,   /* ops on rows */
	CS_POLICY = 1, /* who reads and writes a case scope (policy.h) */
};

struct cs_op {
	const char *table; /* NUL-terminated */
	uint8_t row[ARR_ROWID_LEN];
	const char *column; /* NUL-terminated */
	struct value value;
};

struct cs_header {
	uint64_t seq; /* >= 1, contiguous per origin */
	uint64_t hlc; /* hybrid logical clock timestamp */
	const char *author_org;
	uint32_t schema_version;
	uint8_t scope[ARR_SCOPE_LEN]; /* all zero: the region scope */
	uint8_t kind;                 /* enum cs_kind */
	uint64_t key_id; /* case data: the scope key the body is sealed under; else 0 */
};

struct cs_policy;

/*
 * A decoded change set. All pointers (strings, op values, raw) point into memory owned
 * by the changeset and live until changeset_destroy(). ops is NULL until the body is
 * readable: a region data body is read by the decoder, a case data body by
 * changeset_open() with its scope key; a policy body is read by the decoder into policy.
 */
struct changeset {
	uint8_t origin[ARR_ORIGIN_LEN];
	struct cs_header h;
	uint64_t body_len;               /* as signed in the header */
	uint8_t body_hash[ARR_HASH_LEN]; /* as signed in the header */
	const struct cs_op *ops;
	size_t nops;
	const struct cs_policy *policy; /* kind CS_POLICY with its body; else NULL */
	const uint8_t *raw;             /* the whole envelope, as received or built */
	size_t rawlen;
	const uint8_t *hdr; /* the signed header bytes inside raw */
	size_t hdrlen;
	const uint8_t *sig;  /* ARR_SIG_LEN bytes inside raw */
	const uint8_t *body; /* inside raw; NULL when the body was dropped */
	size_t bodylen;
};

/* True when scope names the region scope (all zero). */
bool changeset_scope_is_region(const uint8_t scope[ARR_SCOPE_LEN]);

/*
 * Encode and sign a data change set. Checks the limits (ops, sizes, names) and that
 * strings are valid; does not check the schema. In a case scope (h->scope not zero) the
 * body is sealed under skey (ARR_SKEY_LEN bytes), whose id (changeset_key_id()) must be
 * h->key_id; in the region scope skey is NULL and h->key_id 0. On success *out is a new
 * changeset owned by the caller, with its ops readable.
 */
int changeset_build(const struct nodekey *key, const struct cs_header *h, const struct cs_op *ops,
                    size_t nops, const uint8_t *skey, struct changeset **out);
/*
 * changeset_build() in two steps, so that signing can run on another thread while the
 * caller does other work: the envelope with a zero signature, then changeset_sign() on
 * a change set from changeset_build_unsigned() by the same key writes its signature in
 * place. Until then the change set verifies as nothing.
 */
int changeset_build_unsigned(const struct nodekey *key, const struct cs_header *h,
                             const struct cs_op *ops, size_t nops, const uint8_t *skey,
                             struct changeset **out);
int changeset_sign(struct changeset *cs, const struct nodekey *key);

/*
 * Encode and sign a policy change set of scope h->scope (never the region) with body p
 * (policy.h); h->kind and h->key_id are ignored (CS_POLICY, 0). *out is decoded from the
 * signed bytes, so out's policy is what every receiver reads.
 */
int changeset_build_policy(const struct nodekey *key, const struct cs_header *h,
                           const struct cs_policy *p, struct changeset **out);

/*
 * Strict decode of an envelope: every type, length and limit checked, canonical form
 * required, never reads outside buf; a body present must have the header's length and
 * hash (ARR_EBODYHASH). Reads a region data body and a policy body; leaves a case data
 * body sealed (ops NULL). Does not verify the signature. buf is copied.
 * Returns ARR_EMALFORMED, ARR_ETOOBIG, ARR_ETYPE, ARR_ENONCANON, ARR_EVERSION,
 * ARR_EBODYHASH or ARR_ENOMEM.
 */
int changeset_decode(const uint8_t *buf, size_t len, struct changeset **out);

/*
 * Open the sealed body of a case data change set with the scope key skey named by its
 * key_id, and read its ops (strictly, as the decoder reads a clear body). 0 (also when
 * already open), ARR_EDECRYPT when the key does not open it (wrong key, altered
 * ciphertext, ciphertext moved under another header), ARR_ENOTFOUND without a body, or
 * a decode error of the plaintext.
 */
int changeset_open(struct changeset *cs, const uint8_t skey[ARR_SKEY_LEN]);

/*
 * The id of a scope key: its BLAKE2b-64 hash with personalisation "arrangd-key-id\0\0"
 * read big-endian, 1 when that is 0 (0 means "no key").
 */
uint64_t changeset_key_id(const uint8_t skey[ARR_SKEY_LEN]);
/*
 * The id of the case scope a CREATE by origin at seq opens: BLAKE2b-128 with
 * personalisation "arrangd-scope-id" of origin || seq (8 bytes big-endian). Only that
 * CREATE can open it, so no member can claim a scope another opened.
 */
void changeset_scope_id(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                        uint8_t out[ARR_SCOPE_LEN]);
/* A new random scope key. */
void changeset_key_new(uint8_t skey[ARR_SKEY_LEN]);

/* Verify the signature of a decoded change set against its origin. 0 or ARR_EBADSIG. */
int changeset_verify(const struct changeset *cs);

/*
 * The change set's bytes without its body (a header-only stub, for erasure and for
 * relays that must not keep content): a new malloc'd envelope in *out. 0 or ARR_ENOMEM.
 */
int changeset_strip(const struct changeset *cs, uint8_t **out, size_t *outlen);

void changeset_destroy(struct changeset **cs);

/*
 * Check that buf holds exactly one msgpack object and nothing else, walking it without
 * allocating: every length and element count must fit in the bytes that remain, nesting
 * is at most 32 deep. 0 or ARR_EMALFORMED. Call it on untrusted bytes before
 * msgpack_unpack_next(), which otherwise allocates for an array header's claimed count
 * (a 5-byte input can ask for 100 GB). changeset_decode() does this itself.
 */
int changeset_msgpack_check(const uint8_t *buf, size_t len);

/*
 * Largest number of leading ops of ops[0..nops) that fit in one change set
 * (ARR_CS_MAX_OPS and ARR_CS_MAX_BYTES) with header h; used to split large writes.
 * At least 1 when the first op alone fits; 0 when even that op cannot fit.
 */
size_t changeset_fit(const struct cs_header *h, const struct cs_op *ops, size_t nops);

#endif
