/*
 * api_scope.c: the local API's scope methods (PROTOCOL.md, "Local API"): "scope.show"
 * (owner, readers and roles, key epochs, what waits for a key), "scope.grant" and
 * "scope.revoke" (a GRANT or REVOKE this node issues), the "scopes" counts of "status"
 * and "digest" with its log digest and per-scope digests. A scope is named by the id of
 * the row that opened it (an arrangement's id). Members are named as in the members
 * file. It never shows a key, and decides nothing about policy (the store does).
 */
#include <inttypes.h>
#include <string.h>

#include "api_int.h"
#include "apimsg.h"
#include "arrerr.h"
#include "policy.h"
#include "rowid.h"

/*
 * The "scope" param: the id of an arrangement this node can read (or could: a revoked
 * party keeps its rows), as the id of its scope.
 */
static int
parse_scope(struct api *a, struct apimsg_req *r, bool *present, uint8_t scope[ARR_SCOPE_LEN])
{
	char id[ARR_ROWID_STRLEN + 1];
	int rc;

	memset(scope, 0, ARR_SCOPE_LEN);
	if ((rc = api_parse_id(r, "scope", present, id)) != 0)
		return rc;
	if (present != NULL && !*present)
		return 0;
	if ((rc = store_scope_of(a->st, "arrangement", id, scope)) == ARR_ENOTFOUND)
		return api_scope_not_readable(a, r, "arrangement", id);
	return rc < 0 ? api_fail_code(r, rc) : 0;
}

/* The "member" param: a member name of the members file, as its origin. */
static int
parse_member(struct api *a, struct apimsg_req *r, uint8_t origin[ARR_ORIGIN_LEN])
{
	char name[ARR_ORG_MAX + 1];
	const char *s, *org = NULL;
	size_t len;
	int rc;

	if ((rc = apimsg_req_str(r, "member", NULL, &s, &len)) != 0)
		return rc;
	if (len == 0 || len >= sizeof(name))
		return apimsg_req_fail(r, ARR_EINVAL, "invalid member name");
	memcpy(name, s, len);
	name[len] = '\0';
	if (a->hooks.member_find == NULL ||
	    a->hooks.member_find(a->hooks.ctx, name, origin, &org) != 0)
		return apimsg_req_fail(r, ARR_ENOTFOUND, "no member '%s' in the members file",
		                       name);
	return 0;
}

static void
pack_member(struct api *a, msgpack_packer *pk, const uint8_t origin[ARR_ORIGIN_LEN])
{
	const char *name = NULL, *org = NULL;

	if (a->hooks.member_name != NULL)
		name = a->hooks.member_name(a->hooks.ctx, origin);
	if (a->hooks.member_org != NULL)
		org = a->hooks.member_org(a->hooks.ctx, origin);
	apimsg_pack_str(pk, "origin");
	apimsg_pack_hex(pk, origin, ARR_ORIGIN_LEN);
	apimsg_pack_str(pk, "name");
	if (name != NULL)
		apimsg_pack_str(pk, name);
	else
		msgpack_pack_nil(pk);
	apimsg_pack_str(pk, "organisation");
	if (org != NULL)
		apimsg_pack_str(pk, org);
	else
		msgpack_pack_nil(pk);
}

struct readers {
	struct api *a;
	msgpack_packer *pk;
	size_t n;
	bool self; /* this node is among them */
};

static int
reader_count(void *ctx, const uint8_t member[ARR_ORIGIN_LEN], uint32_t roles, bool owner)
{
	struct readers *rd = ctx;

	(void)roles;
	(void)owner;
	rd->n++;
	if (rd->a->hooks.origin != NULL && memcmp(member, rd->a->hooks.origin, ARR_ORIGIN_LEN) == 0)
		rd->self = true;
	return 0;
}

static int
reader_pack(void *ctx, const uint8_t member[ARR_ORIGIN_LEN], uint32_t roles, bool owner)
{
	struct readers *rd = ctx;
	char text[96];

	policy_roles_str(roles, text, sizeof(text));
	msgpack_pack_map(rd->pk, 5);
	pack_member(rd->a, rd->pk, member);
	apimsg_pack_str(rd->pk, "roles");
	apimsg_pack_str(rd->pk, owner ? "owner" : text);
	apimsg_pack_str(rd->pk, "owner");
	if (owner)
		msgpack_pack_true(rd->pk);
	else
		msgpack_pack_false(rd->pk);
	return 0;
}

static const char *const info_counts[] = {"key_epochs", "keys_held", "sealed", "policy"};

/* "scope.show": what this node knows of a scope. */
int
api_scope_show(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	uint8_t scope[ARR_SCOPE_LEN];
	struct store_scope_info info;
	struct readers rd = {a, pk, 0, false};
	int rc;

	if ((rc = parse_scope(a, r, NULL, scope)) != 0)
		return rc;
	if ((rc = store_scope_info(a->st, scope, &info, reader_count, &rd)) < 0)
		return rc == ARR_ENOTFOUND ? apimsg_req_fail(r, rc, "no such scope on this node")
		                           : api_fail_code(r, rc);
	msgpack_pack_map(pk, 9);
	apimsg_pack_str(pk, "party");
	if (rd.self)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	apimsg_pack_str(pk, "owner");
	msgpack_pack_map(pk, 3);
	pack_member(a, pk, info.owner);
	apimsg_pack_str(pk, "owner_organisation");
	apimsg_pack_str(pk, info.owner_org);
	apimsg_pack_str(pk, "readable");
	if (info.readable)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	apimsg_pack_str(pk, "readers");
	msgpack_pack_array(pk, rd.n);
	if ((rc = store_scope_info(a->st, scope, &info, reader_pack, &rd)) < 0)
		return api_fail_code(r, rc);
	api_pack_uints(pk, 4, info_counts,
	               (const uint64_t[]){info.heads, info.keys_held, info.sealed, info.policy});
	return 0;
}

static const char *const grant_counts[] = {"first_seq", "last_seq", "changesets"};

/* "scope.grant" / "scope.revoke". */
static int
scope_issue(struct api *a, struct apimsg_req *r, msgpack_packer *pk, bool grant)
{
	uint8_t scope[ARR_SCOPE_LEN], member[ARR_ORIGIN_LEN];
	struct store_write_result res = {0};
	uint32_t roles = 0;
	int rc;

	if ((rc = parse_scope(a, r, NULL, scope)) != 0 || (rc = parse_member(a, r, member)) != 0)
		return rc;
	if (grant) {
		const char *s;
		size_t len;
		char text[128];

		if ((rc = apimsg_req_str(r, "roles", NULL, &s, &len)) != 0)
			return rc;
		if (len >= sizeof(text))
			return apimsg_req_fail(r, ARR_EINVAL, "invalid roles");
		memcpy(text, s, len);
		text[len] = '\0';
		if ((roles = policy_roles_parse(text)) == 0)
			return apimsg_req_fail(r, ARR_EINVAL,
			                       "roles must be a comma list of requester, funder, "
			                       "education, care, coordination, admin");
		rc = store_scope_grant(a->st, scope, member, roles, &res);
	} else {
		rc = store_scope_revoke(a->st, scope, member, &res);
	}
	if (rc < 0)
		return res.refusal[0] != '\0' ? apimsg_req_fail(r, rc, "%s", res.refusal)
		                              : api_fail_code(r, rc);
	if (a->hooks.committed != NULL)
		a->hooks.committed(a->hooks.ctx, res.first_seq, res.last_seq);
	msgpack_pack_map(pk, 3);
	api_pack_uints(pk, 3, grant_counts,
	               (const uint64_t[]){res.first_seq, res.last_seq, res.changesets});
	return 0;
}

int
api_scope_grant(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	return scope_issue(a, r, pk, true);
}

int
api_scope_revoke(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	return scope_issue(a, r, pk, false);
}

/*
 * "scope.erase" (the owner's ERASE, for every node) and "scope.shred" (this node's copy
 * only), both final: param "confirm" must be "yes", so that no client erases by a slip.
 */
static int
scope_end(struct api *a, struct apimsg_req *r, msgpack_packer *pk, bool erase)
{
	uint8_t scope[ARR_SCOPE_LEN];
	struct store_write_result res = {0};
	bool present = false;
	const char *confirm = NULL;
	size_t len = 0;
	int rc;

	if ((rc = parse_scope(a, r, NULL, scope)) != 0 ||
	    (rc = apimsg_req_str(r, "confirm", &present, &confirm, &len)) != 0)
		return rc;
	if (!present || len != 3 || memcmp(confirm, "yes", 3) != 0)
		return apimsg_req_fail(r, ARR_EINVAL,
		                       "this is final: confirm it (confirm \"yes\")");
	rc = erase ? store_scope_erase(a->st, scope, &res) : store_scope_shred(a->st, scope, &res);
	if (rc < 0)
		return res.refusal[0] != '\0' ? apimsg_req_fail(r, rc, "%s", res.refusal)
		                              : api_fail_code(r, rc);
	if (a->hooks.committed != NULL && res.changesets > 0)
		a->hooks.committed(a->hooks.ctx, res.first_seq, res.last_seq);
	msgpack_pack_map(pk, 3);
	api_pack_uints(pk, 3, grant_counts,
	               (const uint64_t[]){res.first_seq, res.last_seq, res.changesets});
	return 0;
}

int
api_scope_erase(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	return scope_end(a, r, pk, true);
}

int
api_scope_shred(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	return scope_end(a, r, pk, false);
}

/*
 * "digest": the log's, and of the visible content (or of one scope: param "scope"), as
 * this node's schema version defines it or an older one (param "schema").
 */
int
api_scope_digest(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	uint8_t d[32], l[32], scope[ARR_SCOPE_LEN];
	bool present = false, vset = false;
	uint64_t v = ARR_SCHEMA_VERSION;
	int rc;

	if ((rc = parse_scope(a, r, &present, scope)) != 0 ||
	    (rc = apimsg_req_uint(r, "schema", &vset, &v)) != 0)
		return rc;
	if (vset && (v == 0 || v > ARR_SCHEMA_VERSION || present))
		return apimsg_req_fail(r, ARR_EINVAL,
		                       present ? "schema and scope cannot be combined"
		                               : "this node knows schema versions 1 to %u",
		                       ARR_SCHEMA_VERSION);
	rc = present ? store_digest_scope(a->st, scope, d) : store_digest_at(a->st, (unsigned)v, d);
	if (rc == ARR_ENOTPARTY)
		return apimsg_req_fail(r, rc, "this node holds no key of that scope");
	if (rc == ARR_ENOTFOUND)
		return apimsg_req_fail(r, rc, "no such scope on this node");
	if (rc < 0 || (rc = store_log_digest(a->st, l)) < 0)
		return api_fail_code(r, rc);
	msgpack_pack_map(pk, 2);
	apimsg_pack_str(pk, "digest");
	apimsg_pack_hex(pk, d, sizeof(d));
	apimsg_pack_str(pk, "log");
	apimsg_pack_hex(pk, l, sizeof(l));
	return 0;
}

static const char *const scope_counts[] = {"total", "readable", "opaque", "sealed", "masked"};

int
api_scope_status(struct api *a, msgpack_packer *pk)
{
	struct store_scope_stats st;
	int rc;

	if ((rc = store_scope_stats(a->st, &st)) < 0)
		return rc;
	apimsg_pack_str(pk, "scopes");
	msgpack_pack_map(pk, 5);
	api_pack_uints(pk, 5, scope_counts,
	               (const uint64_t[]){st.scopes, st.readable, st.opaque, st.sealed, st.masked});
	return 0;
}

int
api_scope_not_readable(struct api *a, struct apimsg_req *r, const char *table, const char *id)
{
	struct store_scope_stats st;

	/* which arrangement an opaque scope holds is not known here: it says so */
	if (store_scope_stats(a->st, &st) == 0 && st.opaque > 0)
		return apimsg_req_fail(r, ARR_ENOTFOUND,
		                       "no %s %s readable on this node (it relays %" PRIu64
		                       " arrangement%s it is not a party of, unread)",
		                       table, id, st.opaque, st.opaque == 1 ? "" : "s");
	return apimsg_req_fail(r, ARR_ENOTFOUND, "no %s %s", table, id);
}
