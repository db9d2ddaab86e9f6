/*
 * test_api_retention.c: the daemon's own retention tick (daemon/api_retention.c,
 * api_retention_tick_at with the wall clock given by the test): with act = auto a due
 * arrangement is acted on once it has been listed as due for notice_days and not
 * before, at most 8 a tick, a full tick bringing the next one forward and the others
 * waiting their hour; each act counted in arrangd_retention_acted_total; with act =
 * manual nothing is acted on, however long ago it fell due, while "retention.due"
 * lists it. And the due dates "retention.due" lists follow their rules.
 */
#define _GNU_SOURCE /* timegm */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <msgpack.h>

#include "api.h"
#include "api_int.h"
#include "apimsg.h"
#include "arrerr.h"
#include "orgid.h"
#include "rowid.h"
#include "store.h"
#include "store_retention.h"
#include "teststore.h"
#include "testutil.h"

#define HOUR_MS   (3600u * 1000u)
#define MINUTE_MS (60u * 1000u)
#define EARLY     10 /* arrangements due on 2021-01-01 (ended 2001-01-01) */

struct fx {
	struct ts_fixture *ts;
	struct ts_replica *r;
	struct api *api;
	struct api_hooks hooks;
	char early[EARLY][ARR_ROWID_STRLEN + 1], late[ARR_ROWID_STRLEN + 1];
};

/* An arrangement of this node's municipality (so its own, in a case scope) ended on end. */
static void
ended(struct fx *f, const char *org, const char *end, char id[ARR_ROWID_STRLEN + 1])
{
	char child[ARR_ROWID_STRLEN + 1];

	ts_new_id(id);
	ts_new_id(child);
	struct store_op ops[] = {
	    ts_op("child", child, "ref", value_text("TD-2001")),
	    ts_op("arrangement", id, "child_id", value_text(child)),
	    ts_op("arrangement", id, "municipality_org_id", value_text(org)),
	    ts_op("arrangement", id, "end_on", value_text(end)),
	    ts_op("arrangement", id, "status", value_text("ended")),
	};
	assert_int_equal(store_write(f->r->s, ops, sizeof(ops) / sizeof(ops[0]), NULL), 0);
}

/*
 * One replica whose scopes are its own, of the gemeente (20 years from the end): EARLY
 * arrangements due on 2021-01-01, one due on 2021-06-01.
 */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const struct store_retention_years y = STORE_RETENTION_DEFAULTS;
	uint8_t oid[ARR_ROWID_LEN];
	char org[ARR_ROWID_STRLEN + 1];
	int err = 0;

	assert_non_null(f);
	ts_setup((void **)&f->ts);
	f->r = &f->ts->r[0];
	store_destroy(&f->r->s);
	f->r->need_to_know = true;
	assert_non_null(f->r->s = ts_replica_open(f->r, &err));
	orgid_derive(TS_ORG, oid);
	rowid_format(oid, org);
	assert_int_equal(ts_write1(f->r, "organisation", org, "kind", value_text("gemeente")), 0);
	for (int i = 0; i < EARLY; i++)
		ended(f, org, "2001-01-01", f->early[i]);
	ended(f, org, "2001-06-01", f->late);
	f->hooks = (struct api_hooks){.organisation = TS_ORG};
	assert_non_null(f->api = api_new(f->r->s, &f->hooks));
	api_set_retention(f->api, &y);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	api_destroy(&f->api);
	ts_teardown((void **)&f->ts);
	free(f);
	return 0;
}

/* Noon UTC of day (YYYY-MM-DD). */
static time_t
noon(const char *day)
{
	struct tm tm = {.tm_hour = 12};

	assert_non_null(strptime(day, "%Y-%m-%d", &tm));
	return timegm(&tm);
}

static size_t
children(struct fx *f)
{
	size_t n = 0;

	assert_int_equal(store_list(f->r->s, "child", NULL, 0, NULL, 0, ts_count_rows, &n), 0);
	return n;
}

/* The counter of acts of kind action ("shred", "erase"), as "metrics" prints it. */
static uint64_t
acted(struct fx *f, const char *action)
{
	char *text = NULL, want[96];
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	const char *at;
	uint64_t n = UINT64_MAX;

	assert_non_null(m);
	api_retention_metrics(f->api, m);
	fclose(m);
	snprintf(want, sizeof(want), "arrangd_retention_acted_total{action=\"%s\"} ", action);
	if ((at = strstr(text, want)) != NULL)
		n = strtoull(at + strlen(want), NULL, 10);
	free(text);
	assert_int_not_equal(n, UINT64_MAX);
	return n;
}

static bool
str_is(const msgpack_object *o, const char *s)
{
	return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
	       memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static const msgpack_object *
field(const msgpack_object *m, const char *k)
{
	assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
	for (uint32_t i = 0; i < m->via.map.size; i++)
		if (str_is(&m->via.map.ptr[i].key, k))
			return &m->via.map.ptr[i].val;
	return NULL;
}

/* A reply of "retention.due" (its result borrows out). */
struct due_rep {
	msgpack_sbuffer out;
	struct apimsg_reply *r;
	const msgpack_object *res; /* the array of items, NULL on an error */
	int code;
};

/* "retention.due" by day into rp (due_rep_free it). */
static void
due_reply(struct fx *f, const char *day, struct due_rep *rp)
{
	msgpack_sbuffer req;
	msgpack_packer pk;
	char err[APIMSG_ERR_MAX];

	msgpack_sbuffer_init(&req);
	msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	apimsg_pack_str(&pk, "retention.due");
	msgpack_pack_map(&pk, 1);
	apimsg_pack_str(&pk, "by");
	apimsg_pack_str(&pk, day);
	msgpack_sbuffer_init(&rp->out);
	msgpack_packer_init(&pk, &rp->out, msgpack_sbuffer_write);
	api_handle(f->api, (const uint8_t *)req.data, req.size, &pk);
	msgpack_sbuffer_destroy(&req);
	assert_int_equal(
	    apimsg_reply_decode((const uint8_t *)rp->out.data, rp->out.size, &rp->r, err), 0);
	rp->code = apimsg_reply_code(rp->r);
	rp->res = rp->code == 0 ? apimsg_reply_result(rp->r) : NULL;
}

static void
due_rep_free(struct due_rep *rp)
{
	apimsg_reply_destroy(&rp->r);
	msgpack_sbuffer_destroy(&rp->out);
}

/* The item of arrangement arr and kind in a retention.due reply, or NULL. */
static const msgpack_object *
due_item(const msgpack_object *res, const char *arr, const char *kind)
{
	for (uint32_t i = 0; i < res->via.array.size; i++) {
		const msgpack_object *it = &res->via.array.ptr[i];

		if (str_is(field(it, "arrangement"), arr) && str_is(field(it, "kind"), kind))
			return it;
	}
	return NULL;
}

/* Due dates follow their rules, per kind of organisation involved. */
static void
test_retention_due(void **state)
{
	struct fx *f = *state;
	char school[37], prov[37], ended[37], running[37], withdrawn[37], party[37];
	const msgpack_object *it, *res;
	struct due_rep rp;

	ts_new_id(school);
	ts_new_id(prov);
	ts_new_id(ended);
	ts_new_id(running);
	ts_new_id(withdrawn);
	ts_new_id(party);
	struct store_op ops[] = {
	    ts_op("organisation", school, "kind", value_text("school")),
	    ts_op("organisation", prov, "kind", value_text("provider")),
	    ts_op("arrangement", ended, "school_org_id", value_text(school)),
	    ts_op("arrangement", ended, "end_on", value_text("2020-02-29")),
	    ts_op("arrangement_party", party, "arrangement_id", value_text(ended)),
	    ts_op("arrangement_party", party, "org_id", value_text(prov)),
	    ts_op("arrangement", running, "school_org_id", value_text(school)),
	    ts_op("arrangement", running, "status", value_text("started")),
	    ts_op("arrangement", withdrawn, "school_org_id", value_text(school)),
	    ts_op("arrangement", withdrawn, "status", value_text("withdrawn")),
	};
	assert_int_equal(store_write(f->r->s, ops, sizeof(ops) / sizeof(ops[0]), NULL), 0);
	due_reply(f, "2022-02-28", &rp);
	assert_non_null(res = rp.res);
	/* school: 2 years from end_on, 29 February onto 28 February */
	assert_non_null(it = due_item(res, ended, "school"));
	assert_true(str_is(field(it, "due_on"), "2022-02-28"));
	assert_true(str_is(field(it, "rule"), "end_on"));
	assert_true(field(it, "due")->via.boolean);
	/* provider (a party): 20 years from the dossier's last change, i.e. this year */
	assert_non_null(it = due_item(res, ended, "provider"));
	assert_non_null(strstr(field(it, "rule")->via.str.ptr, "7.3.8"));
	assert_false(field(it, "due")->via.boolean);
	/* running: no date for the school; withdrawn: from the day of the status */
	assert_null(due_item(res, running, "school"));
	assert_non_null(it = due_item(res, withdrawn, "school"));
	assert_true(str_is(field(it, "rule"), "status withdrawn"));
	assert_false(field(it, "due")->via.boolean);
	/* no kind that is not involved */
	assert_null(due_item(res, ended, "gemeente"));
	due_rep_free(&rp);
	due_reply(f, "2022-13-01", &rp);
	assert_int_equal(rp.code, ARR_EINVAL);
	due_rep_free(&rp);
}

/* What "retention.due" by day lists of arr for the gemeente: due, and its acts_on. */
struct due_of {
	bool listed, due;
	char acts_on[11]; /* "" when none */
};

static struct due_of
due_by(struct fx *f, const char *day, const char *arr)
{
	const msgpack_object *it, *v;
	struct due_rep rp;
	struct due_of d = {.listed = false};

	due_reply(f, day, &rp);
	assert_non_null(rp.res);
	if ((it = due_item(rp.res, arr, "gemeente")) != NULL) {
		d.listed = true;
		d.due = field(it, "due")->via.boolean;
		if ((v = field(it, "acts_on")) != NULL && v->via.str.size == 10)
			memcpy(d.acts_on, v->via.str.ptr, 10);
	}
	due_rep_free(&rp);
	return d;
}

/* act = manual: listed as due, never acted on by the tick, however late it runs. */
static void
test_tick_manual(void **state)
{
	struct fx *f = *state;
	struct due_of d;

	api_set_retention_auto(f->api, false, 30);
	for (uint64_t mono = 0; mono < 4 * HOUR_MS; mono += HOUR_MS)
		api_retention_tick_at(f->api, mono, noon("2090-01-01"));
	assert_int_equal(children(f), EARLY + 1);
	assert_int_equal(acted(f, "erase") + acted(f, "shred"), 0);
	d = due_by(f, "2090-01-01", f->early[0]);
	assert_true(d.listed && d.due);
	assert_string_equal(d.acts_on, ""); /* the daemon will not act on it */
}

/*
 * act = auto, notice 30 days: listed as due for 29 days, nothing; for 30, the tick acts
 * on 8 (erased: owned here, every period due), then a minute later on the other 2; the
 * one due later waits its own 30 days. Ticks between are not run early.
 */
static void
test_tick_auto(void **state)
{
	struct fx *f = *state;
	struct due_of d;
	uint64_t mono = 5 * HOUR_MS;

	api_set_retention_auto(f->api, true, 30);
	d = due_by(f, "2021-01-30", f->early[0]);
	assert_true(d.listed && d.due);
	assert_string_equal(d.acts_on, "2021-01-31");
	api_retention_tick_at(f->api, mono, noon("2021-01-30")); /* due for 29 days */
	assert_int_equal(children(f), EARLY + 1);
	assert_int_equal(acted(f, "erase"), 0);
	api_retention_tick_at(f->api, mono + HOUR_MS - 1, noon("2021-01-31")); /* not an hour */
	assert_int_equal(acted(f, "erase"), 0);
	mono += HOUR_MS;
	api_retention_tick_at(f->api, mono, noon("2021-01-31"));
	assert_int_equal(acted(f, "erase"), 8); /* at most 8 a tick */
	assert_int_equal(children(f), EARLY + 1 - 8);
	api_retention_tick_at(f->api, mono + MINUTE_MS - 1, noon("2021-01-31"));
	assert_int_equal(acted(f, "erase"), 8);
	mono += MINUTE_MS; /* a full tick: the next comes a minute later */
	api_retention_tick_at(f->api, mono, noon("2021-01-31"));
	assert_int_equal(acted(f, "erase"), EARLY);
	assert_int_equal(children(f), 1);
	assert_false(due_by(f, "2021-01-31", f->early[EARLY - 1]).listed);
	/* the later one: due on 2021-06-01, acted on from 2021-07-01 */
	mono += HOUR_MS;
	api_retention_tick_at(f->api, mono, noon("2021-06-30"));
	assert_int_equal(children(f), 1);
	mono += HOUR_MS;
	api_retention_tick_at(f->api, mono, noon("2021-07-01"));
	assert_int_equal(children(f), 0);
	assert_int_equal(acted(f, "erase"), EARLY + 1);
	assert_int_equal(acted(f, "shred"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_retention_due, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tick_manual, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tick_auto, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
