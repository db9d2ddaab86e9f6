/*
 * policy.h: the body of a policy change set (PROTOCOL.md, "Policy change sets"): who
 * reads and who writes one case scope. The body is clear text; the scope keys in it
 * travel only as key slots, each boxed under the key the issuer shares with one member.
 * This module encodes and decodes bodies and seals and opens slots; deciding what a set of policy
 * change sets means is the store's (daemon/store_scope.c).
 *
 * Body: [op, member(bin32 | nil), roles, cut, grants, key_id, prevs, slots, parties] with
 *   grants  = [[origin(bin32), seq]...]   the change sets whose grants of member a REVOKE
 *                                         removes (a GRANT, or a CREATE naming member)
 *   prevs   = [key_id...]                 the keys a REVOKE or REKEY supersedes
 *   slots   = [[member(bin32), key_id, sealed(bin72)]...]
 *   parties = [[member(bin32), roles]...] a CREATE's first parties, each granted as a
 *                                         GRANT would be; each has a slot for its key
 * Fields an op does not use are nil, 0 or [] (checked). ERASE names the CREATE of its
 * scope, so that any node can see from the body alone that its issuer is the owner:
 * grants = [[owner, CREATE's seq]] and cut = the CREATE's part index. REDACT lists in
 * grants the change sets whose data bodies in the scope it drops.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"
#include "nodekey.h"

enum policy_op {
	POLICY_CREATE = 1, /* the scope and its first key; the author's organisation owns it */
	POLICY_GRANT = 2,  /* a party with roles, and the keys it may read with */
	POLICY_REVOKE = 3, /* removes a party's grants and rotates the key, in one change set */
	POLICY_REKEY = 4,  /* a new key for the current parties (after concurrent rotations) */
	POLICY_ERASE = 5,  /* the scope erased everywhere: keys, bodies, rows (terminal) */
	POLICY_REDACT = 6, /* the data bodies of the named change sets in the scope dropped */
};
#define POLICY_OP_MAX POLICY_REDACT

enum policy_role {
	ROLE_REQUESTER = 1u << 0,
	ROLE_FUNDER = 1u << 1,
	ROLE_EDUCATION = 1u << 2,
	ROLE_CARE = 1u << 3,
	ROLE_COORDINATION = 1u << 4,
	ROLE_ADMIN = 1u << 5,
};
#define POLICY_ROLES_ALL 0x3fu

#define POLICY_FIELDS 9

struct policy_slot {
	uint8_t member[ARR_ORIGIN_LEN];
	uint64_t key_id;
	uint8_t sealed[ARR_SLOT_LEN];
};

struct policy_ref {
	uint8_t origin[ARR_ORIGIN_LEN];
	uint64_t seq;
};

struct policy_party {
	uint8_t member[ARR_ORIGIN_LEN];
	uint32_t roles;
};

struct cs_policy {
	uint8_t op; /* enum policy_op */
	bool has_member;
	uint8_t member[ARR_ORIGIN_LEN]; /* GRANT, REVOKE */
	uint32_t roles;                 /* GRANT */
	uint64_t cut;                   /* REVOKE: the member's highest seq the issuer had seen */
	const struct policy_ref *grants;
	size_t ngrants;  /* REVOKE; ERASE: its scope's CREATE; REDACT: the change sets */
	uint64_t key_id; /* CREATE, REVOKE, REKEY: the key it introduces */
	const uint64_t *prevs;
	size_t nprevs; /* REVOKE, REKEY */
	const struct policy_slot *slots;
	size_t nslots;
	const struct policy_party *parties;
	size_t nparties; /* CREATE */
};

/* The canonical body of p in a new malloc'd buffer. 0, ARR_EINVAL (p breaks the rules
 * above), ARR_ETOOBIG or ARR_ENOMEM. */
int policy_encode(const struct cs_policy *p, uint8_t **out, size_t *outlen);

/* The bytes policy_encode() writes for p (p unchecked: also for planning a size). */
size_t policy_encoded_size(const struct cs_policy *p);
/*
 * Strict decode of a body (canonical form, the rules above): a new cs_policy in *out
 * (free with policy_free()); *nc when a head was not the shortest form.
 */
int policy_decode(const uint8_t *buf, size_t len, struct cs_policy **out, bool *nc);
void policy_free(struct cs_policy **p);

/*
 * A slot from issuer I to member: nonce(24) || crypto_box_easy_afternm(skey) under
 * shared = nodekey_shared(I, member), which equals nodekey_shared(member, I). The nonce
 * is random. 0 or ARR_EKEY.
 */
int policy_slot_seal(const uint8_t shared[NODEKEY_SHARED_LEN], const uint8_t member[ARR_ORIGIN_LEN],
                     uint64_t key_id, const uint8_t skey[ARR_SKEY_LEN], struct policy_slot *slot);
/* Open a slot under the key shared with its issuer into skey; 0 or ARR_EDECRYPT (another
 * pair's slot, or altered). The caller checks that slot->member is the receiver. */
int policy_slot_open(const uint8_t shared[NODEKEY_SHARED_LEN], const struct policy_slot *slot,
                     uint8_t skey[ARR_SKEY_LEN]);

/* "requester,care" for roles into buf; the role bits of a comma list (0: unknown name). */
void policy_roles_str(uint32_t roles, char *buf, size_t len);
uint32_t policy_roles_parse(const char *text);
const char *policy_op_name(uint8_t op);

#endif
