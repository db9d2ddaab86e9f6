/*
 * store_member.h: the region's membership as the replica holds it (PROTOCOL.md, "Member
 * change sets"): member change sets in the log, folded (member_fold.c) over the seed of the
 * members file into the list every check of a change set asks. Issuing member change sets
 * on an operator's request. Nothing here opens a socket; the sync layer follows the list
 * through store_member_gen().
 */
#ifndef STORE_MEMBER_H
#define STORE_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "member.h"
#include "member_fold.h"
#include "store.h"

/* Counters of the membership, for metrics and status. */
struct store_member_stats {
	size_t members;      /* records valid now (not removed) */
	size_t removed;      /* removed or rotated away */
	size_t ops;          /* member change sets in the log */
	size_t ineffective;  /* of them, those that changed nothing (no right, stale, excluded) */
	uint64_t cut_masked; /* change sets of removed members above their cut taken out */
	uint64_t gen;
};

/*
 * The trusted region id (NULL: none) whose GENESIS founds the replicated list; set from the
 * configuration before change sets are applied. Folds again. 0 or an error.
 */
int store_member_set_region(struct store *s, const uint8_t *region);
/*
 * The seed: the members file's records (copied; kind and roles may be 0). Members the
 * replicated list does not know are still judged by store_config.member_org. Folds again.
 */
int store_member_seed(struct store *s, const struct member_rec *seed, size_t n);

/*
 * A change set must be a member's at its seq and carry that member's organisation as
 * author_org. 0, ARR_ENOTMEMBER or ARR_EAUTHOR with a short detail (no personal data), or a
 * database error.
 */
int store_member_admit(struct store *s, const struct changeset *cs, char *detail, size_t dlen);
/* cs was logged as log_id: a member change set is recorded and the list folded again. */
int store_member_logged(struct store *s, const struct changeset *cs, int64_t log_id);

/*
 * Sign, log and apply member change m as this node's next change set, in its own
 * transaction, when the list as this node folds it lets this node make it: 0 (seq in
 * *seq), ARR_EFORBIDDEN with why (a fixed string), or an error.
 */
int store_member_issue(struct store *s, const struct cs_member *m, uint64_t *seq, const char **why);

/* The folded list (borrowed until the next fold): count and record i. */
size_t store_member_count(const struct store *s);
const struct member_rec *store_member_at(const struct store *s, size_t i);
const struct member_rec *store_member_find(const struct store *s,
                                           const uint8_t key[ARR_ORIGIN_LEN]);
/* The region: *founded when its GENESIS is applied, its id and name. */
bool store_member_region(const struct store *s, uint8_t id[MEMBER_REGION_LEN], const char **name);
/* The member kind of origin (enum member_kind), 0 when not known: for authorisation rules. */
uint8_t store_member_kind(const struct store *s, const uint8_t origin[ARR_ORIGIN_LEN]);
/* Changes whenever the list may have changed (the sync layer re-reads it then). */
uint64_t store_member_gen(const struct store *s);
void store_member_stats(const struct store *s, struct store_member_stats *out);

/* Internal to the store: load at open, free at close. */
int store_member_open(struct store *s);
void store_member_close(struct store *s);

#endif
