/*
 * changeset_ref.h: the reference decoder (changeset_ref.c), the oracle the tests hold
 * changeset_decode() to. Test builds only.
 */
#ifndef CHANGESET_REF_H
#define CHANGESET_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "changeset.h"

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

#endif
