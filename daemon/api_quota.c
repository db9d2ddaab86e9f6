/*
 * api_quota.c: the origins over their log quota (store_quota.c), as the "status" reply
 * lists them (`over_quota`) and as metrics count them (arrangd_quota_refused_total, and
 * arrangd_origin_over_quota_bytes per origin). It reads through the store; it never
 * changes a quota and never touches the socket.
 */
#include <stdlib.h>

#include "api_int.h"
#include "apimsg.h"
#include "arrerr.h"
#include "metrics.h"
#include "nodekey.h"

/* The origins over their quota, packed (pk) or only counted, or written as samples (f). */
struct quota_list {
	const struct api *a;
	msgpack_packer *pk;
	FILE *f;
	uint64_t n;
};

static int
one(void *ctx, const struct store_quota_origin *q)
{
	struct quota_list *l = ctx;
	const char *name = NULL;
	char hex[NODEKEY_HEX_LEN + 1];

	l->n++;
	if (l->f != NULL) {
		/* the label is the origin's first 16 hex characters, as arrangctl shows it */
		nodekey_hex(q->origin, hex);
		hex[16] = '\0';
		metrics_sample_label(l->f, "arrangd_origin_over_quota_bytes", "origin", hex,
		                     q->bytes);
	}
	if (l->pk == NULL)
		return 0;
	if (l->a->hooks.member_name != NULL)
		name = l->a->hooks.member_name(l->a->hooks.ctx, q->origin);
	msgpack_pack_map(l->pk, 5);
	apimsg_pack_str(l->pk, "origin");
	apimsg_pack_hex(l->pk, q->origin, ARR_ORIGIN_LEN);
	apimsg_pack_str(l->pk, "name");
	if (name == NULL)
		msgpack_pack_nil(l->pk);
	else
		apimsg_pack_str(l->pk, name);
	api_pack_uints(l->pk, 3, (const char *const[]){"bytes", "quota", "refused"},
	               (const uint64_t[]){q->bytes, q->quota, q->refused});
	return 0;
}

int
api_quota_pack(struct api *a, msgpack_packer *pk)
{
	struct quota_list l = {a, NULL, NULL, 0};
	int rc;

	if ((rc = store_quota_list(a->st, one, &l)) < 0)
		return rc;
	apimsg_pack_str(pk, "over_quota");
	msgpack_pack_array(pk, (uint32_t)l.n);
	l.pk = pk;
	return store_quota_list(a->st, one, &l);
}

void
api_quota_metrics(const struct api *a, FILE *f)
{
	struct quota_list l = {a, NULL, NULL, 0};

	metrics_counter(f, "arrangd_quota_refused_total",
	                "Change sets refused because their origin is over its log quota.",
	                store_quota_refused(a->st, NULL));
	metrics_family(
	    f, "arrangd_origin_over_quota_bytes", "gauge",
	    "Bytes of log held by each origin over its log quota (origin_max_log_bytes).");
	l.f = f;
	(void)store_quota_list(a->st, one, &l);
}
