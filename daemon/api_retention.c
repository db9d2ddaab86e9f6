/*
 * api_retention.c: the local API's "retention.due" (store_retention.h): every due date
 * of the retention periods this node can compute, with the rule that started it, as of
 * today or the day the caller names ("by"); and "retention.apply", which acts on what is
 * due today for this node (store_retention_act.c), after the caller confirms.
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

/* Today as YYYY-MM-DD (UTC) into today. */
static void
today_utc(char today[11])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(today, 11, "%Y-%m-%d", &tm);
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
		today_utc(today);
	}
	api_buf_init(&b);
	rc = store_retention_due(a->st, &a->retention, today, retention_add, &b);
	return api_buf_result(r, &b, rc, NULL, pk);
}

/* store_retention_act_fn: one arrangement acted on (or to act on) into the array. */
static int
act_add(void *ctx, const char *arrangement, enum store_retention_action what, int rc)
{
	struct api_buf *b = ctx;
	msgpack_packer *pk = &b->pk;

	b->n++;
	msgpack_pack_map(pk, 3);
	apimsg_pack_str(pk, "arrangement");
	apimsg_pack_str(pk, arrangement);
	apimsg_pack_str(pk, "action");
	apimsg_pack_str(pk, what == STORE_RETENTION_ERASE ? "erase" : "shred");
	apimsg_pack_str(pk, "code");
	msgpack_pack_int(pk, rc);
	return b->rc;
}

/*
 * "retention.apply": what "retention.due" lists as due today for this node's kind of
 * organisation is shredded here, or erased where this node owns it and every kind's
 * period is due; only with param confirm "yes", else it answers what it would do.
 */
int
api_retention_apply(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct api_buf b;
	const char *confirm = NULL;
	bool present = false;
	char today[11];
	size_t len = 0;
	int rc;

	if ((rc = apimsg_req_str(r, "confirm", &present, &confirm, &len)) != 0)
		return rc;
	today_utc(today);
	api_buf_init(&b);
	rc =
	    store_retention_act(a->st, &a->retention, today,
	                        present && len == 3 && memcmp(confirm, "yes", 3) == 0, act_add, &b);
	return api_buf_result(r, &b, rc,
	                      "this node's organisation has no row with a kind: add it "
	                      "(arrangctl organisation add)",
	                      pk);
}
