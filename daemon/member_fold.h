/*
 * member_fold.h: what a set of member change sets means (PROTOCOL.md, "Member change sets"):
 * the region's member list as a pure function of the seed (the members file) and the set of
 * member ops, whatever order they arrived in. No SQLite, no sockets: daemon/store_member.c
 * feeds it from the log and asks it questions.
 */
#ifndef MEMBER_FOLD_H
#define MEMBER_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"
#include "member.h"

/* One member of the folded list. */
struct member_rec {
	uint8_t key[ARR_ORIGIN_LEN];
	char organisation[ARR_ORG_MAX + 1];
	uint8_t kind;   /* enum member_kind; 0: not known (a seed without kind) */
	uint32_t roles; /* enum member_role */
	char endpoint[MEMBER_ENDPOINT_MAX + 1];
	bool seeded;  /* from the members file, not from a change set */
	bool removed; /* removed or rotated away: valid only up to cut */
	uint64_t cut; /* when removed: its highest seq that stays valid */
	bool rotated; /* removed by a rotation to new_key */
	uint8_t new_key[ARR_ORIGIN_LEN];
	uint8_t by[ARR_ORIGIN_LEN]; /* who added it (genesis: itself; seed: zero) */
	uint64_t by_seq;
};

/* One member op as the fold sees it: the change set's origin, seq, hlc, author and body. */
struct member_fold_op {
	uint8_t origin[ARR_ORIGIN_LEN];
	uint64_t seq, hlc;
	char author_org[ARR_ORG_MAX + 1];
	struct cs_member body;
	bool effective;  /* out: it changed the list */
	bool excluded;   /* out: its signer was cut below its seq */
	const char *why; /* out: why not effective (a fixed string) */
};

/* The folded state. */
struct member_fold {
	struct member_rec *v;
	size_t n, cap;
	bool has_region; /* a trusted region id is configured */
	uint8_t region[MEMBER_REGION_LEN];
	bool founded; /* its GENESIS was applied */
	char name[MEMBER_NAME_MAX + 1];
	size_t effective, ineffective; /* ops of the last fold */
};

/*
 * Fold ops[0..n) (sorted in place by (hlc, origin, seq), their out fields set) over the seed
 * records seed[0..nseed) into f, replacing what f held; region (may be NULL) is the trusted
 * region id whose GENESIS founds the list. 0 or ARR_ENOMEM.
 */
int member_fold_run(struct member_fold *f, const struct member_rec *seed, size_t nseed,
                    const uint8_t *region, struct member_fold_op *ops, size_t n);
void member_fold_clear(struct member_fold *f);

/* The record of key, or NULL (borrowed from f). */
const struct member_rec *member_fold_find(const struct member_fold *f,
                                          const uint8_t key[ARR_ORIGIN_LEN]);
/* Is rec valid for its change sets at seq? */
bool member_fold_valid(const struct member_rec *rec, uint64_t seq);
/* Would op be a trusted GENESIS (its region's id names it) for region? */
bool member_fold_genesis_ok(const uint8_t *region, const struct member_fold_op *op);

#endif
