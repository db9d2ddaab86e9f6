/*
 * api_retention.c: the local API's "retention.due" (store_retention.h): every due date
 * of the retention periods this node can compute, with the rule that started it, as of
 * today or the day the caller names ("by"). It lists; it acts on nothing.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "arrerr.h"

void
api_set_retention(struct api *a, const struct store_retention_years *y)
{
	a->retention = *y;
}

/* store_retention_fn: one item into the array. */
static int
retention_add(void *ctx, const struct store_retention_item *it)
{
	struct api_buf *b = ctx;
	msgpack_packer *pk = &b->pk;
	const char *k[] = {"arrangement", "kind", "rule", "from_on", "due_on"};
	const char *v[] = {it->arrangement, it->kind, it->rule, it->from_on, it->due_on};

	b->n++;
	msgpack_pack_map(pk, 6);
	for (size_t i = 0; i < 5; i++) {
		apimsg_pack_str(pk, k[i]);
		apimsg_pack_str(pk, v[i]);
	}
	apimsg_pack_str(pk, "due");
	it->due ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	return b->rc;
}

int
api_retention_due(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct api_buf b;
	const char *by = NULL;
	char today[11], check[11];
	bool has_by = false;
	size_t len = 0;
	int rc;

	if ((rc = apimsg_req_str(r, "by", &has_by, &by, &len)) != 0)
		return rc;
	if (has_by) {
		if (len != 10)
			return apimsg_req_fail(r, ARR_EINVAL,
			                       "param 'by' must be a date YYYY-MM-DD");
		memcpy(today, by, 10);
		today[10] = '\0';
		if (store_retention_add_years(today, 0, check) != 0 || strcmp(check, today) != 0)
			return apimsg_req_fail(r, ARR_EINVAL,
			                       "param 'by' must be a date YYYY-MM-DD");
	} else {
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	}
	api_buf_init(&b);
	rc = store_retention_due(a->st, &a->retention, today, retention_add, &b);
	return api_buf_result(r, &b, rc, NULL, pk);
}
