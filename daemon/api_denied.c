/*
 * api_denied.c: the denied change sets (store_denied.c) through the local API:
 * "denied.list" in pages by id, "denied.show" of one with the rule it broke and who may
 * write what it wrote, and the metrics arrangd_denied_changesets (listed now) and
 * arrangd_denied_total (newly denied since start). A denied change set is evidence: it is
 * never changed here. No value of a denied op is shown (only its table and column).
 */
#include <string.h>

#include "api_int.h"
#include "apimsg.h"
#include "arrerr.h"
#include "metrics.h"
#include "rolematrix.h"

struct denied_page {
	struct api_page p;
	const struct api *a;
	int64_t last; /* id of the page's last entry */
	int64_t want; /* denied.show: the id asked for (0: a list) */
	bool found;
};

static void
pack_str_or_nil(msgpack_packer *pk, const char *key, const char *s)
{
	apimsg_pack_str(pk, key);
	if (s == NULL)
		msgpack_pack_nil(pk);
	else
		apimsg_pack_str(pk, s);
}

static const char *const denied_nums[] = {"id", "seq", "hlc", "op", "ops", "schema_version"};

/* store_denied_fn: one entry (a list's, or the one "denied.show" asked for). */
static int
denied_add(void *ctx, const struct store_denied *d)
{
	struct denied_page *dp = ctx;
	const struct api *a = dp->a;
	const struct rolematrix_rule *rule = NULL;
	const char *name = NULL;
	char who[64] = "nobody";
	msgpack_packer *pk;

	if (dp->want != 0 && d->id != dp->want)
		return 1;
	if ((pk = api_page_entry(&dp->p, 15)) == NULL)
		return api_page_stop(&dp->p);
	dp->last = d->id;
	dp->found = true;
	if (a->hooks.member_name != NULL)
		name = a->hooks.member_name(a->hooks.ctx, d->origin);
	if (d->table != NULL)
		rule = rolematrix_rule(d->schema_version, d->table, d->column);
	if (rule != NULL)
		rolematrix_who_str(rule, who, sizeof(who));
	api_pack_uints(
	    pk, 6, denied_nums,
	    (const uint64_t[]){(uint64_t)d->id, d->seq, d->hlc, d->op, d->nops, d->schema_version});
	apimsg_pack_str(pk, "origin");
	apimsg_pack_hex(pk, d->origin, ARR_ORIGIN_LEN);
	pack_str_or_nil(pk, "node", name);
	pack_str_or_nil(pk, "organisation", d->author_org);
	apimsg_pack_str(pk, "scope");
	apimsg_pack_hex(pk, d->scope, ARR_SCOPE_LEN);
	apimsg_pack_str(pk, "code");
	msgpack_pack_int(pk, ARR_EFORBIDDEN);
	pack_str_or_nil(pk, "rule", d->rule);
	pack_str_or_nil(pk, "table", d->table);
	pack_str_or_nil(pk, "column", d->column);
	pack_str_or_nil(pk, "may_write", who);
	return dp->p.b.rc;
}

/* "denied.list": the denied change sets in pages by id ("after", "next" as quarantine.list). */
int
api_denied_list(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct denied_page dp = {.a = a};
	int64_t after;
	int rc;

	if ((rc = api_page_by_id(a, r, &dp.p, &after)) != 0)
		return rc;
	rc = store_denied_list(a->st, after, 0, denied_add, &dp);
	return api_page_by_id_end(r, &dp.p, rc, dp.last, pk);
}

/* "denied.show": one denied change set by its id. */
int
api_denied_show(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct denied_page dp = {.a = a};
	uint64_t id = 0;
	int rc;

	if ((rc = apimsg_req_uint(r, "id", NULL, &id)) != 0)
		return rc;
	if (id == 0 || id > INT64_MAX)
		return apimsg_req_fail(r, ARR_EINVAL, "param 'id' is out of range");
	dp.want = (int64_t)id;
	api_page_init(&dp.p, a, 1, false);
	rc = store_denied_list(a->st, (int64_t)id - 1, 1, denied_add, &dp);
	if (rc == 0 && !dp.found)
		rc = ARR_ENOTFOUND;
	if ((rc = api_page_result(r, &dp.p, rc, "no denied change set with that id", pk)) != 0)
		return rc;
	msgpack_pack_nil(pk);
	return 0;
}

void
api_denied_metrics(const struct api *a, FILE *f)
{
	uint64_t now = 0, since = 0;

	(void)store_denied_count(a->st, &now, &since);
	metrics_gauge(f, "arrangd_denied_changesets",
	              "Change sets listed as denied by write authorisation (ops masked).", now);
	metrics_counter(f, "arrangd_denied_total",
	                "Change sets newly denied by write authorisation since start.", since);
}
