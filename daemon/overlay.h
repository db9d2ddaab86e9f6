/*
 * overlay.h: whom a node dials (PROTOCOL.md, "Overlay"): a pure choice over the members
 * with endpoints. See overlay.c.
 */
#ifndef OVERLAY_H
#define OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OVERLAY_KEY_LEN 32

/* One member this node could dial. */
struct overlay_cand {
	const uint8_t *key; /* its origin, OVERLAY_KEY_LEN bytes (borrowed) */
	bool pinned;        /* always dialled, beside the k others */
	bool down;          /* dialled and unreachable for a while: the next one replaces it */
};

/*
 * The rendezvous rank of member for self: the first 8 bytes of BLAKE2b-256(self ||
 * member) as a big-endian number. A higher rank is preferred.
 */
uint64_t overlay_rank(const uint8_t self[OVERLAY_KEY_LEN], const uint8_t member[OVERLAY_KEY_LEN]);

/*
 * Choose whom self dials among the n candidates c (self not among them), in dial[i]:
 * with k = 0 all of them; otherwise every pinned one, the first member after self in
 * key order that is not down (its ring successor), and the k - 1 others of highest rank
 * that are not down. Down members met on the way are dialled too (so that they are
 * taken back when they answer) but not counted, at most k of them. Depends only on the
 * set of candidates, not their order. 0, or ARR_ENOMEM (dial unchanged).
 */
int overlay_choose(const uint8_t self[OVERLAY_KEY_LEN], const struct overlay_cand *c, size_t n,
                   unsigned k, bool *dial);

#endif
