/*
 * changeset_int.h: the change-set internals that changeset*.c and the test oracle
 * (tests/oracle/) share: the memory behind a decoded change set and the checks every
 * decoder makes. Not part of the protocol library's interface.
 */
#ifndef CHANGESET_INT_H
#define CHANGESET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "changeset.h"

#define CS_ENVELOPE_FIELDS 3 /* [header, sig, bodies] */
#define CS_HEADER_FIELDS   7 /* elements of the header array */
#define CS_PART_FIELDS     5 /* elements of a part entry of the header */
#define CS_ROW_FIELDS      3 /* elements of a row of a data body: [table, row_id, cells] */

/* The memory behind one part's pointers. */
struct cs_part_owned {
	struct cs_op *ops;
	uint8_t *plain; /* the opened body of a case data part (ops point into it) */
	size_t plain_cap;
	struct cs_policy *policy; /* the decoded policy body */
	struct cs_member *member; /* the decoded member body */
};

/* A decoded change set and the memory behind its pointers. */
struct cs_owned {
	struct changeset cs; /* first: changeset_destroy() casts back */
	uint8_t *raw;
	struct cs_part *parts;
	struct cs_part_owned *own; /* nparts */
	size_t nopened;            /* ops of the parts read so far (ARR_CS_MAX_OPS overall) */
	char *strings;             /* NUL-terminated copies of names and author */
	size_t strings_used, strings_cap;
};

/* o->parts and o->own for n parts (zeroed), cs.parts/nparts set. 0 or ARR_ENOMEM. */
int cs_parts_alloc(struct cs_owned *o, size_t n);

/* A NUL-terminated copy of n bytes in the change set's string arena (author_org). */
const char *cs_strdup(struct cs_owned *o, const char *s, size_t n);
/* Non-empty valid UTF-8 of at most max bytes: 0, ARR_ETOOBIG, or bad. */
int cs_text_check(const uint8_t *s, size_t n, size_t max, int bad);

/* Bytes of a sealed body whose clear rows array takes n bytes (nonce, padding, tag). */
size_t cs_sealed_len(size_t n);
/* own->plain, large enough for an ops array of n bytes and its padding. */
int cs_plain_alloc(struct cs_part_owned *own, size_t n);
/*
 * Pad the n bytes of clear ops at plain (plain has room, cs_plain_alloc()) and seal them
 * under skey into body (cs_sealed_len(n) bytes), bound to cs's origin and seq, the part's
 * index i, scope and key_id. Draws the nonce from randombytes.
 */
int cs_seal(const struct changeset *cs, size_t i, uint8_t *plain, size_t n, const uint8_t *skey,
            uint8_t *body);
/*
 * Read a data body (its rows array) of exactly len bytes at buf (strictly, canonical form
 * required) into part i's ops, a cell per op, named by the strings of their numbers
 * (schema_no.h); *nc is set when a
 * head was not the shortest form or two consecutive rows name the same table and row id.
 * The cells of all parts read count against ARR_CS_MAX_OPS. 0 or a decode error.
 */
int cs_read_ops(struct cs_owned *o, size_t i, const uint8_t *buf, size_t len, bool *nc);

#endif
