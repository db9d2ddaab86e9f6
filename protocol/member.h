/*
 * member.h: the body of a member change set (PROTOCOL.md, "Member change sets"): one change
 * to the region's membership, signed by its issuer. The body is clear text in the region
 * scope; a member part is the only part of its change set. This module encodes, decodes and
 * checks bodies and derives region ids; deciding what a set of member change sets means is
 * the store's (daemon/store_member.c).
 *
 * Body: [op, key(bin32 | nil), new_key(bin32 | nil), organisation(str | nil), kind, roles,
 *        endpoint(str | nil), cut, region(bin16 | nil), name(str | nil), invite(bin16 | nil)]
 *   GENESIS  key (the issuer), organisation, kind, roles (registrar), endpoint?, region, name
 *   ADD      key, organisation, kind, roles, endpoint?, invite?
 *   REMOVE   key, cut (the member's highest seq that stays valid)
 *   ROTATE   key (old), new_key, cut (the old key's highest seq that stays valid)
 *   ENDPOINT key, endpoint? (nil: the member is no longer dialled)
 * Fields an op does not use are nil or 0 (checked).
 */
#ifndef MEMBER_H
#define MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrlimits.h"

enum member_op {
	MEMBER_GENESIS = 1,
	MEMBER_ADD = 2,
	MEMBER_REMOVE = 3,
	MEMBER_ROTATE = 4,
	MEMBER_ENDPOINT = 5,
};

enum member_kind {
	MEMBER_KIND_GEMEENTE = 1,
	MEMBER_KIND_SWV = 2,
	MEMBER_KIND_SCHOOL = 3,
	MEMBER_KIND_PROVIDER = 4,
};
#define MEMBER_KIND_MAX 4

enum member_role {
	MEMBER_ROLE_REGISTRAR = 1u << 0, /* may issue ADD, REMOVE and ROTATE for others */
};
#define MEMBER_ROLES_ALL 0x1u

#define MEMBER_FIELDS       11
#define MEMBER_ENDPOINT_MAX 255 /* bytes of an endpoint (tcp://host:port) */
#define MEMBER_NAME_MAX     63  /* bytes of a region's name */
#define MEMBER_REGION_LEN   16  /* a region id */
#define MEMBER_INVITE_LEN   16  /* an invitation id */

/* A decoded or to-be-encoded body. Text fields are NUL-terminated; "" is nil. */
struct cs_member {
	uint8_t op; /* enum member_op */
	bool has_key, has_new_key, has_region, has_invite;
	uint8_t key[ARR_ORIGIN_LEN];
	uint8_t new_key[ARR_ORIGIN_LEN];
	char organisation[ARR_ORG_MAX + 1];
	uint8_t kind;   /* enum member_kind; 0 when unused */
	uint32_t roles; /* enum member_role bits */
	char endpoint[MEMBER_ENDPOINT_MAX + 1];
	uint64_t cut;
	uint8_t region[MEMBER_REGION_LEN];
	char name[MEMBER_NAME_MAX + 1];
	uint8_t invite[MEMBER_INVITE_LEN];
};

/* The rules above: 0 or ARR_EINVAL. */
int member_check(const struct cs_member *m);
/* The bytes member_encode() writes for m (m unchecked). */
size_t member_encoded_size(const struct cs_member *m);
/* The canonical body of m in a new malloc'd buffer. 0, ARR_EINVAL or ARR_ENOMEM. */
int member_encode(const struct cs_member *m, uint8_t **out, size_t *outlen);
/*
 * Strict decode of a body (canonical form, the rules above) into a new cs_member in *out
 * (free with member_free()); *nc when a head was not the shortest form. 0, ARR_EMALFORMED,
 * ARR_ETOOBIG, ARR_ETYPE, ARR_ENONCANON or ARR_ENOMEM.
 */
int member_decode(const uint8_t *buf, size_t len, struct cs_member **out, bool *nc);
void member_free(struct cs_member **m);

/*
 * The id of the region whose GENESIS is the change set by origin at seq: BLAKE2b-128 with
 * personalisation "arrangd-region\0\0" of origin || seq (8 bytes big-endian). Only that
 * GENESIS can found it, so a node that knows the id knows which genesis to trust.
 */
void member_region_id(const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq,
                      uint8_t out[MEMBER_REGION_LEN]);

const char *member_op_name(uint8_t op);
/* "gemeente", "swv", "school", "provider"; "?" for another value. */
const char *member_kind_name(uint8_t kind);
/* The kind named text, or 0. */
uint8_t member_kind_parse(const char *text);
/* "registrar" or ""; the role bits of a comma list (UINT32_MAX: an unknown name). */
void member_roles_str(uint32_t roles, char *buf, size_t len);
uint32_t member_roles_parse(const char *text);

#endif
