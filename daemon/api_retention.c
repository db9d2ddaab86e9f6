/*
 * api_retention.c: the local API's "retention.due" (store_retention.h): every due date
 * of the retention periods this node can compute, with the rule that started it, as of
 * today or the day the caller names ("by"); and "retention.apply", which acts on what is
 * due today for this node (store_retention_act.c), after the caller confirms. With
 * [retention] act = auto, the daemon does the same on its own (api_retention_tick), only
 * for what has been listed as due for notice_days, and counts each act.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "api_int.h"
#include "arrerr.h"
#include "log.h"
#include "metrics.h"

/* Auto acts a tick does at most (one transaction each), and how often it runs. */
#define RETENTION_TICK_MAX      8
#define RETENTION_EVERY_MS      (3600 * 1000)
#define RETENTION_MORE_EVERY_MS (60 * 1000)

void
api_set_retention(struct api *a, const struct store_retention_years *y)
{
	a->retention = *y;
}

void
api_set_retention_auto(struct api *a, bool on, uint32_t notice_days)
{
	a->retention_auto.on = on;
	a->retention_auto.notice_days = notice_days;
	a->retention_auto.max = RETENTION_TICK_MAX;
}

/* The items of "retention.due", and whether and when auto mode acts. */
struct due_buf {
	struct api_buf b;
	const struct store_retention_auto *au;
};

/* store_retention_fn: one item into the array. */
static int
retention_add(void *ctx, const struct store_retention_item *it)
{
	struct due_buf *d = ctx;
	struct api_buf *b = &d->b;
	msgpack_packer *pk = &b->pk;
	const struct store_retention_auto *au = d->au;
	const char *k[] = {"arrangement", "kind", "rule", "from_on", "due_on", "acts_on"};
	const char *v[] = {it->arrangement, it->kind, it->rule, it->from_on, it->due_on, NULL};
	char acts_on[11];
	size_t n = 5;

	/* act = auto: the day the daemon acts, if this node's kind is the one due then */
	if (au->on && store_retention_add_days(it->due_on, (int)au->notice_days, acts_on) == 0)
		v[n++] = acts_on;
	b->n++;
	msgpack_pack_map(pk, (uint32_t)n + 1);
	for (size_t i = 0; i < n; i++) {
		apimsg_pack_str(pk, k[i]);
		apimsg_pack_str(pk, v[i]);
	}
	apimsg_pack_str(pk, "due");
	it->due ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	return b->rc;
}

/* The day of t as YYYY-MM-DD (UTC) into day. */
static void
day_utc(time_t t, char day[11])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(day, 11, "%Y-%m-%d", &tm);
}

/* Today as YYYY-MM-DD (UTC) into today. */
static void
today_utc(char today[11])
{
	day_utc(time(NULL), today);
}

int
api_retention_due(struct api *a, struct apimsg_req *r, msgpack_packer *pk)
{
	struct due_buf d = {.au = &a->retention_auto};
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
	api_buf_init(&d.b);
	rc = store_retention_due(a->st, &a->retention, today, retention_add, &d);
	return api_buf_result(r, &d.b, rc, NULL, pk);
}

/* store_retention_act_fn: one arrangement acted on (or to act on) into the array. */
static int
act_add(void *ctx, const char *arrangement, const uint8_t scope[ARR_SCOPE_LEN],
        enum store_retention_action what, int rc)
{
	struct api_buf *b = ctx;
	msgpack_packer *pk = &b->pk;

	(void)scope;
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

/* store_retention_act_fn of act = auto: logged (scope id and action, no content), counted. */
static int
auto_acted(void *ctx, const char *arrangement, const uint8_t scope[ARR_SCOPE_LEN],
           enum store_retention_action what, int rc)
{
	struct api *a = ctx;
	const char *how = what == STORE_RETENTION_ERASE ? "erase" : "shred";
	char hex[2 * ARR_SCOPE_LEN + 1];

	(void)arrangement;
	sodium_bin2hex(hex, sizeof(hex), scope, ARR_SCOPE_LEN);
	if (rc != 0) {
		log_warnx("retention: %s of scope %s failed: %s", how, hex, arrerr_str(rc));
		return 0;
	}
	a->retention_acted[what == STORE_RETENTION_ERASE]++;
	log_notice("retention: %s of scope %s (act = auto)", how, hex);
	return 0;
}

void
api_retention_tick(struct api *a, uint64_t mono)
{
	api_retention_tick_at(a, mono, time(NULL));
}

void
api_retention_tick_at(struct api *a, uint64_t mono, time_t now)
{
	char today[11];
	int n;

	if (!a->retention_auto.on || mono < a->retention_next)
		return;
	day_utc(now, today);
	n = store_retention_auto(a->st, &a->retention, today, &a->retention_auto, auto_acted, a);
	if (n < 0 && n != ARR_ENOTFOUND)
		log_warnx("retention: cannot act: %s", arrerr_str(n));
	/* a full tick leaves more waiting: the next comes sooner */
	a->retention_next =
	    mono + ((size_t)(n > 0 ? n : 0) >= a->retention_auto.max ? RETENTION_MORE_EVERY_MS
	                                                             : RETENTION_EVERY_MS);
}

void
api_retention_metrics(const struct api *a, FILE *f)
{
	static const char name[] = "arrangd_retention_acted_total";

	metrics_family(f, name, "counter",
	               "arrangements retention act = auto shredded or erased since start");
	metrics_sample_label(f, name, "action", "shred", a->retention_acted[0]);
	metrics_sample_label(f, name, "action", "erase", a->retention_acted[1]);
}
