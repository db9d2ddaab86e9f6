/*
 * shareid.h: the row id of a `funding_share` row, bound to its funder: half of it is a
 * random tail, the other half a keyed-by-nothing BLAKE2b of the funder's organisation row
 * id and that tail, so write authorisation can tell whose share a row is from the op alone
 * (PROTOCOL.md, "Write authorisation", rule `funding-own-share`).
 */
#ifndef SHAREID_H
#define SHAREID_H

#include <stdbool.h>
#include <stdint.h>

#include "arrlimits.h"

#define SHAREID_TAIL 8 /* bytes of a share id that are its own (random) */

/*
 * A new share id of funder (the funder's organisation row id) into id: bytes 8..15 random
 * (the RFC 9562 variant in byte 8), bytes 0..7 BLAKE2b-64 of funder and bytes 8..15 with
 * personalisation `arrang-share-v1`, the version nibble 8 in byte 6.
 */
void shareid_new(const uint8_t funder[ARR_ROWID_LEN], uint8_t id[ARR_ROWID_LEN]);
/* The share id of funder whose tail (bytes 8..15, the variant then set) is tail. */
void shareid_from(const uint8_t funder[ARR_ROWID_LEN], const uint8_t tail[SHAREID_TAIL],
                  uint8_t id[ARR_ROWID_LEN]);
/* Whether id is a share id of funder. */
bool shareid_is_of(const uint8_t id[ARR_ROWID_LEN], const uint8_t funder[ARR_ROWID_LEN]);

#endif
