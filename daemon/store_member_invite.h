/*
 * store_member_invite.h: invitations this node issues as a registrar and redeems when the
 * invited node sends its JOIN (PROTOCOL.md, "Invitations"), as an ADD of a new member or as a
 * ROTATE of a member's lost key. At most STORE_INVITE_MAX open
 * invitations are kept; expired and used ones are pruned when a new one is issued.
 */
#ifndef STORE_MEMBER_INVITE_H
#define STORE_MEMBER_INVITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invite.h"
#include "store.h"

#define STORE_INVITE_MAX 256 /* open invitations a node keeps */

/* What an invitation grants, and for how long. */
struct store_invite_grant {
	char organisation[ARR_ORG_MAX + 1];
	uint8_t kind;   /* enum member_kind */
	uint32_t roles; /* enum member_role */
	uint64_t ttl_s; /* seconds from now until it expires */
	char endpoint[MEMBER_ENDPOINT_MAX +
	              1];  /* where the joiner dials this node ("": its record's) */
	bool has_replaces; /* the joiner replaces the lost key of this member (not this node) */
	uint8_t replaces[ARR_ORIGIN_LEN];
};

/*
 * Issue an invitation signed by this node at now (unix seconds): the token into tok (toklen
 * bytes, INVITE_TOKEN_MAX), its id into id. With has_replaces, the member's organisation, kind
 * and roles replace g's (the token shows them; the ROTATE keeps the record's). 0;
 * ARR_EFORBIDDEN with why (a fixed string) when this node may not (no founded region, not a
 * registrar, no endpoint, too many open, the member to replace not a member or this node); or
 * an error.
 */
int store_member_invite(struct store *s, const struct store_invite_grant *g, uint64_t now,
                        char *tok, size_t toklen, uint8_t id[MEMBER_INVITE_LEN], const char **why);

/* A JOIN to redeem: the joiner's key, endpoint and proof for invitation id. */
struct store_join {
	uint8_t id[MEMBER_INVITE_LEN];
	uint8_t key[ARR_ORIGIN_LEN];
	char endpoint[MEMBER_ENDPOINT_MAX + 1];
	uint8_t proof[INVITE_PROOF_LEN];
};

/*
 * Redeem j at now: this node's own invitation, unexpired, unused, the proof valid, this node
 * still a registrar and the key new to the region; then this node signs the ADD (carrying the
 * invitation id) and the invitation is used. An invitation that replaces a member is redeemed
 * as a ROTATE of that member's record to j's key instead, cut at the highest seq of the old
 * key this node holds, followed by an ENDPOINT when j's endpoint is not the record's. 0 (seq
 * of the ADD or ROTATE in *seq); ARR_EFORBIDDEN with why (a fixed string without secrets); or
 * an error.
 */
int store_member_redeem(struct store *s, const struct store_join *j, uint64_t now, uint64_t *seq,
                        const char **why);

/* Open (unused, unexpired at now) invitations: the ZAP handler admits joiners only then. */
size_t store_member_invites_open(struct store *s, uint64_t now);

#endif
