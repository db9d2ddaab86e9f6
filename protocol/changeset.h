/*
 * changeset.h: the signed change set, the unit of replication (PROTOCOL.md,
 * "Change sets"). A change set is built and signed once by its origin and from then on
 * handled as its exact bytes: stored verbatim, relayed unchanged, verified anywhere.
 *
 * Wire form (the envelope): msgpack array [body: bin, sig: bin 64], where body is the
 * canonical msgpack encoding of
 *   [format_version, origin(bin32), seq, hlc, author_org, schema_version, scope, ops]
 * and each op is [table, row_id(bin16), column, value]. sig is Ed25519 by origin over
 * the body bytes. Decoders accept only canonical encodings: decode + re-encode must give
 * the same bytes, so one content has exactly one byte form.
 */
#ifndef CHANGESET_H
#define CHANGESET_H

#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"
#include "nodekey.h"
#include "value.h"

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
	const char *scope; /* ARR_SCOPE_REGION for now */
};

/*
 * A decoded change set. All pointers (strings, op values, raw) point into memory owned
 * by the changeset and live until changeset_destroy().
 */
struct changeset {
	uint8_t origin[ARR_ORIGIN_LEN];
	struct cs_header h;
	const struct cs_op *ops;
	size_t nops;
	const uint8_t *raw; /* the whole envelope, as received or built */
	size_t rawlen;
	const uint8_t *body; /* the signed body inside raw */
	size_t bodylen;
	const uint8_t *sig; /* ARR_SIG_LEN bytes inside raw */
};

/*
 * Encode and sign. Checks the limits (ops, sizes, names) and that strings are valid;
 * does not check the schema. On success *out is a new changeset owned by the caller.
 */
int changeset_build(const struct nodekey *key, const struct cs_header *h, const struct cs_op *ops,
                    size_t nops, struct changeset **out);
/*
 * changeset_build() in two steps, so that signing can run on another thread while the
 * caller does other work: the envelope with a zero signature, then changeset_sign() on
 * a change set from changeset_build_unsigned() by the same key writes its signature in
 * place. Until then the change set verifies as nothing.
 */
int changeset_build_unsigned(const struct nodekey *key, const struct cs_header *h,
                             const struct cs_op *ops, size_t nops, struct changeset **out);
int changeset_sign(struct changeset *cs, const struct nodekey *key);

/*
 * Strict decode of an envelope: every type, length and limit checked, canonical form
 * required, never reads outside buf. Does not verify the signature. buf is copied.
 * Returns ARR_EMALFORMED, ARR_ETOOBIG, ARR_ETYPE, ARR_ENONCANON, ARR_EVERSION or ARR_ENOMEM.
 */
int changeset_decode(const uint8_t *buf, size_t len, struct changeset **out);

/* Verify the signature of a decoded change set against its origin. 0 or ARR_EBADSIG. */
int changeset_verify(const struct changeset *cs);

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
