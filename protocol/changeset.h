/*
 * changeset.h: the signed change set, the unit of replication (PROTOCOL.md, "Change sets"). A
 * change set is built and signed once by its origin and from then on handled as its exact
 * bytes: stored verbatim, relayed unchanged, verified anywhere.
 *
 * Wire form 4 (the envelope): msgpack array [header: bin, sig: bin 64, bodies: [bin | nil...]].
 * header is the canonical msgpack encoding of
 *   [format_version, origin(bin32), seq, hlc, author_org, schema_version, parts]
 *   parts = [[scope(bin16 | nil), kind, key_id, body_len, body_hash(bin32)]...]  (1..256)
 * and sig is Ed25519 by origin over the header bytes: one signature covers every part. Each
 * part's body travels in bodies at the part's index and can be dropped later without
 * breaking the signature (nil). A data body is the rows array [[table, row_id(bin16),
 * [column, value, column, value...]]...], tables and columns by their schema numbers
 * (schema_no.h), consecutive ops of one (table, row_id) in one row (two consecutive rows
 * of one table and row id are not canonical), read back as one struct cs_op per cell,
 * named by the schema's strings: clear text in the region scope (scope nil), XChaCha20-Poly1305
 * under the scope key key_id in a case scope (changeset_seal.c). A policy body is clear text
 * (policy.h), so is a member body (member.h), whose part is in the region scope and the change
 * set's only part. Decoders accept only canonical encodings and the part rules of
 * changeset_parts_check().
 */
#ifndef CHANGESET_H
#define CHANGESET_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"
#include "nodekey.h"
#include "schema_no.h"
#include "value.h"

enum cs_kind {
	CS_DATA = 0,   /* ops on rows */
	CS_POLICY = 1, /* who reads and writes a case scope (policy.h) */
	CS_MEMBER = 2, /* who is a member of the region (member.h) */
};

/*
 * One op. To build: table and column are names of the schema or reserved names "#n" of
 * numbers it lacks (schema_no.h). Decoded: the schema's own strings of the numbers (or the
 * reserved names), static, so equal names of one change set are equal pointers.
 *
 * tno and cno are the numbers of table and column (schema_no.h), the ones the wire
 * carries. Every op of a change set (decoded, or returned by changeset_build()) has the
 * numbers of its names, and its readers find its table and column by them
 * (changeset_op_table(), changeset_op_col()), never by name; the names stay for messages.
 * To changeset_build() the numbers are a hint: taken when the names are the schema's own
 * strings of those numbers (the same pointers), else the names are looked up, so an op
 * made with names alone is encoded by its names, never by a number left unset.
 */
struct cs_op {
	const char *table; /* NUL-terminated */
	uint8_t row[ARR_ROWID_LEN];
	const char *column; /* NUL-terminated */
	struct value value;
	uint8_t tno, cno; /* table number, column number (SCHEMA_NO_MAX fits a byte) */
};

/*
 * Whether op's numbers are those of its names: the schema's table and column, or the
 * reserved names of numbers this schema lacks. For checks (debug builds assert it where ops
 * are read by number), not for hot paths.
 */
bool changeset_op_nos_ok(const struct cs_op *op);
/* op with the numbers of its names set; false (op unchanged) when a name has none. */
bool changeset_op_nos_set(struct cs_op *op);

/* The table of op, by its number: NULL when this schema lacks it (a newer schema's). */
static inline const struct schema_table *
changeset_op_table(const struct cs_op *op)
{
	assert(changeset_op_nos_ok(op)); /* a producer that left the numbers unset */
	return schema_no_table(op->tno);
}

/* The index in t->columns (t the table of op) of op's column, by its number, or -1. */
static inline int
changeset_op_col(const struct schema_table *t, const struct cs_op *op)
{
	assert(changeset_op_nos_ok(op) && t == schema_no_table(op->tno));
	if (op->cno == 0)
		return (int)t->ncolumns - 1; /* _deleted: number 0, last in t->columns */
	return op->cno < t->ncolumns ? op->cno - 1 : -1;
}

/* The fields of the signed header that every part shares. */
struct cs_header {
	uint64_t seq; /* >= 1, contiguous per origin */
	uint64_t hlc; /* hybrid logical clock timestamp */
	const char *author_org;
	uint32_t schema_version;
};

struct cs_policy;
struct cs_member;

/*
 * One part of a decoded change set: its entry in the signed header and its body. ops is
 * NULL until the body is readable: a region data body is read by the decoder, a case data
 * body by changeset_open() with its scope key; a policy body is read by the decoder.
 */
struct cs_part {
	uint8_t scope[ARR_SCOPE_LEN]; /* all zero: the region scope */
	uint8_t kind;                 /* enum cs_kind */
	uint64_t key_id;   /* case data: the scope key the body is sealed under; else 0 */
	uint64_t body_len; /* as signed in the header */
	uint8_t body_hash[ARR_HASH_LEN]; /* as signed in the header */
	const struct cs_op *ops;
	size_t nops;
	const struct cs_policy *policy; /* kind CS_POLICY with its body; else NULL */
	const struct cs_member *member; /* kind CS_MEMBER with its body; else NULL */
	const uint8_t *body;            /* inside raw; NULL when the body was dropped */
	size_t bodylen;
};

/* One part to build: what changeset_build() encodes (and seals, for case data). */
struct cs_part_in {
	uint8_t scope[ARR_SCOPE_LEN]; /* all zero: the region scope (data only) */
	uint8_t kind;                 /* enum cs_kind */
	const struct cs_op *ops;      /* data: 1.. ops */
	size_t nops;
	const uint8_t *skey;            /* case data: the scope key (ARR_SKEY_LEN); else NULL */
	const struct cs_policy *policy; /* policy: the body */
	const struct cs_member *member; /* member: the body (region scope, the only part) */
};

/*
 * A decoded change set. All pointers (strings, op values, parts, raw) point into memory
 * owned by the changeset and live until changeset_destroy().
 */
struct changeset {
	uint8_t origin[ARR_ORIGIN_LEN];
	struct cs_header h;
	const struct cs_part *parts; /* 1..ARR_CS_MAX_PARTS, in header order */
	size_t nparts;
	const uint8_t *raw; /* the whole envelope, as received or built */
	size_t rawlen;
	const uint8_t *hdr; /* the signed header bytes inside raw */
	size_t hdrlen;
	const uint8_t *sig; /* ARR_SIG_LEN bytes inside raw */
};

/* True when scope names the region scope (all zero). */
bool changeset_scope_is_region(const uint8_t scope[ARR_SCOPE_LEN]);

/*
 * Encode and sign a change set of nparts parts. Checks the limits (parts, ops, sizes),
 * that every table and column has a number (ARR_EINVAL), that strings are valid and the
 * part rules (changeset_parts_check()); does not check values against the schema. A case data part
 * is sealed under its skey, whose id (changeset_key_id()) becomes its key_id; a region data part
 * has no skey; a policy part names a case scope. On success *out is a new changeset owned by the
 * caller, with the ops of every data part readable and every policy body decoded.
 */
int changeset_build(const struct nodekey *key, const struct cs_header *h,
                    const struct cs_part_in *parts, size_t nparts, struct changeset **out);
/*
 * changeset_build() in two steps, so that signing can run on another thread while the
 * caller does other work: the envelope with a zero signature, then changeset_sign() on
 * a change set from changeset_build_unsigned() by the same key writes its signature in
 * place. Until then the change set verifies as nothing.
 */
int changeset_build_unsigned(const struct nodekey *key, const struct cs_header *h,
                             const struct cs_part_in *parts, size_t nparts, struct changeset **out);
int changeset_sign(struct changeset *cs, const struct nodekey *key);
/* changeset_build() of one region data part of ops. */
int changeset_build_region(const struct nodekey *key, const struct cs_header *h,
                           const struct cs_op *ops, size_t nops, struct changeset **out);

/*
 * The part rules every decoder enforces on the parts of a header by origin at seq
 * (PROTOCOL.md, "Parts"): a policy part names a case scope; a case data part names a key,
 * nothing else does; a policy part whose scope is changeset_scope_id(origin, seq, its
 * index) is a CREATE (and a CREATE body must name that scope); no two parts name the same
 * scope, except that a data part may follow the CREATE of its scope immediately; a member part
 * is in the region scope and the only part of its change set.
 * 0 or ARR_EMALFORMED.
 */
int changeset_parts_check(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                          const struct cs_part *parts, size_t nparts);
/* The first part of cs of kind in scope, or NULL. */
const struct cs_part *changeset_part_find(const struct changeset *cs, uint8_t kind,
                                          const uint8_t scope[ARR_SCOPE_LEN]);
/* Is part i of a change set by origin at seq the CREATE of its scope (by its scope id)? */
bool changeset_part_creates(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                            const struct cs_part *part, size_t i);

/*
 * Strict decode of an envelope: every type, length and limit checked, canonical form
 * required, the part rules enforced, never reads outside buf; a body present must have
 * its part's length and hash (ARR_EBODYHASH). Reads region data bodies and policy bodies;
 * leaves case data bodies sealed (ops NULL). Does not verify the signature. buf is copied.
 * Returns ARR_EMALFORMED, ARR_ETOOBIG, ARR_ETYPE, ARR_ENONCANON, ARR_EVERSION,
 * ARR_EBODYHASH or ARR_ENOMEM.
 */
int changeset_decode(const uint8_t *buf, size_t len, struct changeset **out);

/*
 * Open the sealed body of case data part i with the scope key skey named by its key_id,
 * and read its ops (strictly, as the decoder reads a clear body). 0 (also when already
 * open), ARR_EINVAL for a part that is not case data, ARR_EDECRYPT when the key does not
 * open it (wrong key, altered ciphertext, ciphertext moved under another header or to
 * another part), ARR_ENOTFOUND without a body, ARR_ETOOBIG when the opened parts would
 * hold more than ARR_CS_MAX_OPS ops, or a decode error of the plaintext.
 */
int changeset_open(struct changeset *cs, size_t i, const uint8_t skey[ARR_SKEY_LEN]);

/*
 * The id of a scope key: its BLAKE2b-64 hash with personalisation "arrangd-key-id\0\0"
 * read big-endian, 1 when that is 0 (0 means "no key").
 */
uint64_t changeset_key_id(const uint8_t skey[ARR_SKEY_LEN]);
/*
 * The id of the case scope the CREATE in part `part` of the change set by origin at seq
 * opens: BLAKE2b-128 with personalisation "arrangd-scope-id" of origin || seq (8 bytes
 * big-endian) || part (2 bytes big-endian). Only that CREATE can open it, so no member can
 * claim a scope another opened.
 */
void changeset_scope_id(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, size_t part,
                        uint8_t out[ARR_SCOPE_LEN]);
/* A new random scope key. */
void changeset_key_new(uint8_t skey[ARR_SKEY_LEN]);

/* Verify the signature of a decoded change set against its origin. 0 or ARR_EBADSIG. */
int changeset_verify(const struct changeset *cs);

/*
 * The change set's bytes without its bodies (a header-only stub, for erasure and for
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
 * How full a change set being planned is: bytes (an upper bound of the envelope), ops and
 * parts, against ARR_CS_MAX_BYTES, ARR_CS_MAX_OPS and ARR_CS_MAX_PARTS. Used to pack many
 * scopes' parts into one change set and to split a large write.
 */
struct cs_budget {
	size_t bytes, ops, parts;
};
/* An empty change set with header h (the fixed bytes of envelope and header). */
void changeset_budget_init(struct cs_budget *b, const struct cs_header *h);
/* Bytes a part of kind in scope adds, with a body of bodylen bytes (data: its rows array
 * in clear; the sealed size is counted for a case scope). */
size_t changeset_part_bytes(const uint8_t scope[ARR_SCOPE_LEN], uint8_t kind, size_t bodylen);
/*
 * Bytes of the rows array of ops[0..n) in clear, consecutive ops of one (table, row id)
 * in one row: exactly what changeset_build() writes for them.
 */
size_t changeset_ops_bytes(const struct cs_op *ops, size_t n);
/* Add a part of bytes and nops ops to b when it fits: true, else false (b unchanged). */
bool changeset_budget_take(struct cs_budget *b, size_t bytes, size_t nops);
/*
 * Largest number of leading ops of ops[0..nops) that fit in b as one data part of scope
 * (ARR_CS_MAX_OPS, ARR_CS_MAX_BYTES, ARR_CS_MAX_PARTS); 0 when even the first does not.
 * A prefix that ends inside a row ends that row; the rest starts it again.
 */
size_t changeset_fit(const struct cs_budget *b, const uint8_t scope[ARR_SCOPE_LEN],
                     const struct cs_op *ops, size_t nops);

#endif
