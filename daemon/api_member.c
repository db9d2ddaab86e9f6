/*
 * api_member.c: the region's membership through the local API (PROTOCOL.md, "Member change
 * sets"): "member.list" and "member.show" read the list this node folds; "member.add",
 * "member.remove", "member.rotate_key" and "member.endpoint" have this node sign a member
 * change set (store_member_issue), which the store refuses with a reason when the list does
 * not let this node make it; "member.invite" has it sign an invitation token
 * (store_member_invite) for a new member or for the replacement of a member's lost key,
 * returned once and never logged. It names a member by its name in the
 * members file, by the "m-" name of one the file does not list, or by its public key (hex). It
 * keeps no state and logs no member's data; the peer layer follows the list by itself.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "api_int.h"
#include "apimsg.h"
#include "arrerr.h"
#include "members.h"
#include "nodekey.h"
#include "store_member.h"
#include "store_member_invite.h"

/* The name of a member for the API: the members file's, else its "m-" name. */
static const char *
member_name(const struct api *a, const uint8_t key[ARR_ORIGIN_LEN], char buf[MEMBERS_NAME_DEFAULT])
{
	const char *name = NULL;

	if (a->hooks.member_name != NULL)
		name = a->hooks.member_name(a->hooks.ctx, key);
	if (name != NULL)
		return name;
	members_default_name(key, buf);
	return buf;
}

static const char *
state_of(const struct member_rec *r)
{
	return r->rotated ? "rotated" : r->removed ? "removed" : "member";
}

/* One record as a map of 12. */
static void
pack_rec(const struct api *a, msgpack_packer *pk, const struct member_rec *r)
{
	char buf[MEMBERS_NAME_DEFAULT], roles[32];
	static const char *const nums[] = {"cut", "added_seq"};

	member_roles_str(r->roles, roles, sizeof(roles));
	msgpack_pack_map(pk, 12);
	apimsg_pack_str(pk, "name");
	apimsg_pack_str(pk, member_name(a, r->key, buf));
	apimsg_pack_str(pk, "key");
	apimsg_pack_hex(pk, r->key, ARR_ORIGIN_LEN);
	apimsg_pack_str(pk, "organisation");
	apimsg_pack_str(pk, r->organisation);
	apimsg_pack_str(pk, "kind");
	apimsg_pack_str(pk, r->kind != 0 ? member_kind_name(r->kind) : "");
	apimsg_pack_str(pk, "roles");
	apimsg_pack_str(pk, roles);
	apimsg_pack_str(pk, "endpoint");
	apimsg_pack_str(pk, r->endpoint);
	apimsg_pack_str(pk, "state");
	apimsg_pack_str(pk, state_of(r));
	apimsg_pack_str(pk, "seeded");
	if (r->seeded)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	apimsg_pack_str(pk, "new_key");
	if (r->rotated)
		apimsg_pack_hex(pk, r->new_key, ARR_ORIGIN_LEN);
	else
		msgpack_pack_nil(pk);
	apimsg_pack_str(pk, "added_by");
	if (r->seeded)
		msgpack_pack_nil(pk);
	else
		apimsg_pack_hex(pk, r->by, ARR_ORIGIN_LEN);
	api_pack_uints(pk, 2, nums, (const uint64_t[]){r->removed ? r->cut : 0, r->by_seq});
}

/* "member.list": the region (id, name, founded) and every record, removed ones too. */
int
api_member_list(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	uint8_t id[MEMBER_REGION_LEN];
	const char *name = NULL;
	bool founded = store_member_region(a->st, id, &name);
	size_t n = store_member_count(a->st);

	(void)r;
	msgpack_pack_map(pk, 4);
	apimsg_pack_str(pk, "region");
	if (founded)
		apimsg_pack_hex(pk, id, MEMBER_REGION_LEN);
	else
		msgpack_pack_nil(pk);
	apimsg_pack_str(pk, "region_name");
	apimsg_pack_str(pk, founded ? name : "");
	apimsg_pack_str(pk, "self");
	apimsg_pack_hex(pk, a->hooks.origin, ARR_ORIGIN_LEN);
	apimsg_pack_str(pk, "members");
	msgpack_pack_array(pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		pack_rec(a, pk, store_member_at(a->st, i));
	return 0;
}

/* Does text name r: its key in hex, its members-file name or its "m-" name? */
static bool
names(const struct api *a, const struct member_rec *r, const char *text)
{
	char hex[NODEKEY_HEX_LEN + 1], buf[MEMBERS_NAME_DEFAULT];

	nodekey_hex(r->key, hex);
	if (strcmp(text, hex) == 0)
		return true;
	members_default_name(r->key, buf);
	if (strcmp(text, buf) == 0)
		return true;
	return a->hooks.member_name != NULL && strcmp(text, member_name(a, r->key, buf)) == 0;
}

/* The record the param named by pname names; the last match (a rotated key's successor). */
static int
parse_member(struct api *a, struct apimsg_req *r, const char *pname, const struct member_rec **out)
{
	const char *text;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = apimsg_req_str(r, pname, NULL, &text, &len)) != 0)
		return rc;
	for (size_t i = 0; i < store_member_count(a->st); i++)
		if (names(a, store_member_at(a->st, i), text))
			*out = store_member_at(a->st, i);
	if (*out == NULL)
		return apimsg_req_fail(r, ARR_ENOTFOUND,
		                       "no member named '%s' in the region's list (a name, an "
		                       "m- name or a public key in hex)",
		                       len <= 64 ? text : "...");
	return 0;
}

/* "member.show": one record. */
int
api_member_show(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	const struct member_rec *m;
	int rc;

	if ((rc = parse_member(a, r, "member", &m)) != 0)
		return rc;
	pack_rec(a, pk, m);
	return 0;
}

/* Sign and apply m; the reply is {seq}. A refusal names its reason. */
static int
issue(struct api *a, struct apimsg_req *r, const struct cs_member *m, msgpack_packer *pk)
{
	static const char *const nums[] = {"seq"};
	const char *why = NULL;
	uint64_t seq = 0;
	int rc;

	if (member_check(m) != 0)
		return apimsg_req_fail(r, ARR_EINVAL, "invalid member change");
	if ((rc = store_member_issue(a->st, m, &seq, &why)) < 0)
		return why != NULL ? apimsg_req_fail(r, rc, "refused: %s", why)
		                   : api_fail_code(r, rc);
	if (a->hooks.committed != NULL)
		a->hooks.committed(a->hooks.ctx, seq, seq);
	msgpack_pack_map(pk, 1);
	api_pack_uints(pk, 1, nums, (const uint64_t[]){seq});
	return 0;
}

/* A text param of at most max bytes into out ("" when absent and optional). */
static int
text_param(struct apimsg_req *r, const char *name, bool optional, char *out, size_t max)
{
	bool present = false;
	const char *s = "";
	size_t len = 0;
	int rc;

	if ((rc = apimsg_req_str(r, name, optional ? &present : NULL, &s, &len)) != 0)
		return rc;
	if (len >= max)
		return apimsg_req_fail(r, ARR_EINVAL, "param '%s' is too long", name);
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* A public key param in hex. */
static int
key_param(struct apimsg_req *r, const char *name, uint8_t key[ARR_ORIGIN_LEN])
{
	char text[NODEKEY_HEX_LEN + 1];
	uint8_t curve[32];
	int rc;

	if ((rc = text_param(r, name, false, text, sizeof(text))) != 0)
		return rc;
	if (nodekey_parse_hex(text, key) != 0 || nodekey_curve_public_raw(key, curve) != 0)
		return apimsg_req_fail(r, ARR_EINVAL, "param '%s' is not a public key (%d hex)",
		                       name, NODEKEY_HEX_LEN);
	return 0;
}

/* The kind, roles and endpoint params of an ADD into m. */
static int
add_params(struct apimsg_req *r, struct cs_member *m)
{
	char kind[16], roles[64];
	int rc;

	if ((rc = text_param(r, "organisation", false, m->organisation, sizeof(m->organisation))) !=
	        0 ||
	    (rc = text_param(r, "kind", false, kind, sizeof(kind))) != 0 ||
	    (rc = text_param(r, "roles", true, roles, sizeof(roles))) != 0 ||
	    (rc = text_param(r, "endpoint", true, m->endpoint, sizeof(m->endpoint))) != 0)
		return rc;
	if (m->organisation[0] == '\0')
		return apimsg_req_fail(r, ARR_EINVAL, "param 'organisation' is empty");
	if ((m->kind = member_kind_parse(kind)) == 0)
		return apimsg_req_fail(r, ARR_EINVAL,
		                       "kind must be gemeente, swv, school or provider");
	if ((m->roles = member_roles_parse(roles)) == UINT32_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "roles must be empty or registrar");
	return 0;
}

/* "member.add": key, organisation, kind, roles?, endpoint?. */
int
api_member_add(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct cs_member m = {.op = MEMBER_ADD, .has_key = true};
	int rc;

	if ((rc = key_param(r, "key", m.key)) != 0 || (rc = add_params(r, &m)) != 0)
		return rc;
	return issue(a, r, &m, pk);
}

/*
 * The cut of a removal or rotation: the "cut" param, else the highest seq of the member's
 * this node holds (what it signed up to now stays valid).
 */
static int
cut_param(struct api *a, struct apimsg_req *r, const uint8_t key[ARR_ORIGIN_LEN], uint64_t *cut)
{
	bool present = false;
	struct vv *v = NULL;
	int rc;

	if ((rc = apimsg_req_uint(r, "cut", &present, cut)) != 0 || present)
		return rc;
	if ((rc = store_vector(a->st, &v)) < 0)
		return api_fail_code(r, rc);
	*cut = vv_get(v, key);
	vv_destroy(&v);
	return 0;
}

/* "member.remove": member, cut?. */
int
api_member_remove(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct cs_member m = {.op = MEMBER_REMOVE, .has_key = true};
	const struct member_rec *rec;
	int rc;

	if ((rc = parse_member(a, r, "member", &rec)) != 0)
		return rc;
	memcpy(m.key, rec->key, ARR_ORIGIN_LEN);
	if ((rc = cut_param(a, r, m.key, &m.cut)) != 0)
		return rc;
	return issue(a, r, &m, pk);
}

/* "member.rotate_key": member, new_key, cut?. */
int
api_member_rotate(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct cs_member m = {.op = MEMBER_ROTATE, .has_key = true, .has_new_key = true};
	const struct member_rec *rec;
	int rc;

	if ((rc = parse_member(a, r, "member", &rec)) != 0)
		return rc;
	memcpy(m.key, rec->key, ARR_ORIGIN_LEN);
	if ((rc = key_param(r, "new_key", m.new_key)) != 0 ||
	    (rc = cut_param(a, r, m.key, &m.cut)) != 0)
		return rc;
	return issue(a, r, &m, pk);
}

/* "member.endpoint": member, endpoint ("" or absent: no longer dialled). */
int
api_member_endpoint(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct cs_member m = {.op = MEMBER_ENDPOINT, .has_key = true};
	const struct member_rec *rec;
	int rc;

	if ((rc = parse_member(a, r, "member", &rec)) != 0)
		return rc;
	memcpy(m.key, rec->key, ARR_ORIGIN_LEN);
	if ((rc = text_param(r, "endpoint", true, m.endpoint, sizeof(m.endpoint))) != 0)
		return rc;
	return issue(a, r, &m, pk);
}

/* "7d", "12h", "30m", "600s" or plain seconds, 1 s to 90 days, into *s; -1 when not one. */
static int
duration_parse(const char *text, uint64_t *s)
{
	char *end = NULL;
	unsigned long long v;
	uint64_t mult = 1;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	v = strtoull(text, &end, 10);
	if (*end != '\0') {
		if (end[1] != '\0')
			return -1;
		mult = *end == 'd'   ? 86400
		       : *end == 'h' ? 3600
		       : *end == 'm' ? 60
		       : *end == 's' ? 1
		                     : 0;
	}
	if (mult == 0 || v > 90ULL * 86400 || v * mult < 1 || v * mult > 90ULL * 86400)
		return -1;
	*s = v * mult;
	return 0;
}

/* Whether the text param name is given (an error when it is not text). */
static int
given(struct apimsg_req *r, const char *name, bool *present)
{
	const char *text = NULL;
	size_t len = 0;

	return apimsg_req_str(r, name, present, &text, &len);
}

/*
 * The grant of an invitation: organisation, kind, roles? and endpoint?; or, with replaces (a
 * member), the member's record and endpoint? only.
 */
static int
invite_params(struct api *a, struct apimsg_req *r, struct store_invite_grant *g)
{
	struct cs_member m = {.op = MEMBER_ADD};
	const struct member_rec *rec;
	bool present = false;
	int rc;

	if ((rc = given(r, "replaces", &present)) != 0)
		return rc;
	if (!present) {
		if ((rc = add_params(r, &m)) != 0)
			return rc;
		memcpy(g->organisation, m.organisation, sizeof(g->organisation));
		g->kind = m.kind;
		g->roles = m.roles;
	} else {
		if ((rc = given(r, "organisation", &present)) != 0 ||
		    (!present && (rc = given(r, "kind", &present)) != 0) ||
		    (!present && (rc = given(r, "roles", &present)) != 0))
			return rc;
		if (present)
			return apimsg_req_fail(r, ARR_EINVAL,
			                       "an invitation that replaces a member keeps its "
			                       "organisation, kind and roles: give none of them");
		if ((rc = parse_member(a, r, "replaces", &rec)) != 0)
			return rc;
		g->has_replaces = true;
		memcpy(g->replaces, rec->key, ARR_ORIGIN_LEN);
	}
	return text_param(r, "endpoint", true, g->endpoint, sizeof(g->endpoint));
}

/*
 * "member.invite": organisation, kind, roles?, expires? (default 7d), endpoint?; or replaces
 * (a member whose lost key the joiner replaces), expires?, endpoint?.
 */
int
api_member_invite(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	static const char *const nums[] = {"expires"};
	struct store_invite_grant g = {.ttl_s = 7 * 86400};
	char expires[16], tok[INVITE_TOKEN_MAX];
	uint8_t id[MEMBER_INVITE_LEN];
	const char *why = NULL;
	uint64_t now = (uint64_t)time(NULL);
	int rc;

	if ((rc = invite_params(a, r, &g)) != 0 ||
	    (rc = text_param(r, "expires", true, expires, sizeof(expires))) != 0)
		return rc;
	if (expires[0] != '\0' && duration_parse(expires, &g.ttl_s) != 0)
		return apimsg_req_fail(r, ARR_EINVAL,
		                       "expires must be a duration from 1s to 90d (7d, 12h, 30m)");
	if ((rc = store_member_invite(a->st, &g, now, tok, sizeof(tok), id, &why)) < 0)
		return why != NULL ? apimsg_req_fail(r, rc, "refused: %s", why)
		                   : api_fail_code(r, rc);
	msgpack_pack_map(pk, 3);
	apimsg_pack_str(pk, "token");
	apimsg_pack_str(pk, tok);
	apimsg_pack_str(pk, "id");
	apimsg_pack_hex(pk, id, sizeof(id));
	api_pack_uints(pk, 1, nums, (const uint64_t[]){now + g.ttl_s});
	sodium_memzero(tok, sizeof(tok));
	return 0;
}
