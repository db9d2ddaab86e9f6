/*
 * it_duplicate.c: duplicates before the signature check, and PRUNE once per origin per
 * link (PROTOCOL.md, "Duplicates", "Eager and lazy push"). node0 runs; the test plays
 * members node1 and node2 over CURVE DEALERs (both announce "lazy") and signs with the
 * key of node3, which never runs.
 *
 * node2 pushes node3's seq 1 first (it feeds node0 that origin); then node1 pushes the
 * same bytes again and again. Each copy is counted as a duplicate recognised before
 * verification (arrangd_changesets_duplicate_unverified_total) and never reaches the
 * store's apply (arrangd_apply_seconds_count does not move, and the store is the only
 * place that checks signatures); node1 gets exactly one PRUNE for node3's origin
 * (arrangd_peer_prunes_sent_total is 1). A forged copy of the held seq 1 (one signature
 * byte flipped) changes nothing: the row keeps its value and the digest stays; a forged
 * seq 2 is refused and quarantined as ARR_EBADSIG, its row absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient.h"
#include "arrerr.h"
#include "changeset.h"
#include "check.h"
#include "hlc.h"
#include "monoclock.h"
#include "nodekey.h"
#include "obj.h"
#include "peer.h"
#include "peermsg.h"
#include "proc.h"
#include "region.h"
#include "rng.h"
#include "rowid.h"
#include "vv.h"

#define RECV   0
#define RELAY  1
#define FEEDER 2
#define SIGNER 3
#define COPIES 20

/* node0's metric name, waiting up to ms for it to reach at least want. */
static double
metric_at_least(struct region *r, const char *name, double want, int ms)
{
	double v = region_metric(r, RECV, name);

	for (double until = mono_s() + ms / 1000.0; v < want && mono_s() < until;
	     v = region_metric(r, RECV, name))
		proc_sleep_ms(50);
	return v;
}

/* PRUNE messages d receives within ms (other messages are skipped). */
static int
prunes_within(struct peer *d, int ms)
{
	int n = 0;

	for (double until = mono_s() + ms / 1000.0; mono_s() < until;)
		if (peer_expect(d, PEERMSG_PRUNE, NULL, 100))
			n++;
	return n;
}

/* Whether quarantine.list has an entry with reason within 10 s. */
static bool
quarantined(struct region *r, const char *reason)
{
	for (double until = mono_s() + 10; mono_s() < until; proc_sleep_ms(100)) {
		struct reply rp;
		const msgpack_object *o;
		bool hit = false;

		if (region_call0(r, RECV, "quarantine.list", &rp, &o) == 0 &&
		    (o = obj_get(o, "entries")) != NULL && o->type == MSGPACK_OBJECT_ARRAY)
			for (uint32_t k = 0; k < o->via.array.size; k++)
				hit = hit ||
				      obj_is_str(obj_get(&o->via.array.ptr[k], "reason"), reason);
		reply_free(&rp);
		if (hit)
			return true;
	}
	return false;
}

/* A change set by key at seq writing text into row. */
static struct changeset *
build(struct region *r, const struct nodekey *key, uint64_t seq, const char *row, const char *text)
{
	struct cs_op op = {.table = "organisation", .column = "name", .value = value_text(text)};
	struct cs_header h = {.seq = seq,
	                      .hlc = hlc_make(hlc_wall_ms(), 0),
	                      .author_org = r->nodes[SIGNER].org,
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct changeset *cs = NULL;

	CHECK(rowid_parse(row, op.row) == 0, "rowid");
	CHECK(changeset_build_region(key, &h, &op, 1, &cs) == 0, "changeset_build");
	return cs;
}

/* A copy of cs with one signature byte flipped (the caller frees it). */
static uint8_t *
forge(const struct changeset *cs)
{
	uint8_t *b = malloc(cs->rawlen);

	CHECK(b != NULL, "out of memory");
	memcpy(b, cs->raw, cs->rawlen);
	b[cs->sig - cs->raw] ^= 0x01;
	return b;
}

int
main(void)
{
	struct region *r = region_new_test("duplicate", 4, 3000, 60000);
	struct nodekey *relay = peer_load_key(r, RELAY), *feeder = peer_load_key(r, FEEDER);
	struct nodekey *signer = peer_load_key(r, SIGNER);
	char row1[37], row2[37], v[128], d0[65], d1[65];
	struct changeset *cs1, *cs2;
	struct peer *a, *b;
	uint8_t *forged;
	double apply0, dup0;
	int prunes;

	region_start(r, RECV);
	rng_rowid(row1);
	rng_rowid(row2);
	cs1 = build(r, signer, 1, row1, "Held Name");
	a = peer_open(r, RECV, relay);
	b = peer_open(r, RECV, feeder);
	peer_hello_caps(a, relay, (const char *const[]){"lazy"}, 1);
	peer_hello_caps(b, feeder, (const char *const[]){"lazy"}, 1);

	/* node2 brings seq 1 first: it feeds node0 node3's origin */
	peer_push(b, cs1->raw, cs1->rawlen);
	CHECK(metric_at_least(r, "arrangd_changesets_applied_total", 1, 10000) >= 1,
	      "seq 1 was not applied");
	apply0 = region_metric(r, RECV, "arrangd_apply_seconds_count");
	dup0 = region_metric(r, RECV, "arrangd_changesets_duplicate_unverified_total");
	CHECK(dup0 == 0, "duplicates before any: %g", dup0);

	/* node1 sends the same bytes COPIES times */
	for (int k = 0; k < COPIES; k++)
		peer_push(a, cs1->raw, cs1->rawlen);
	CHECK(metric_at_least(r, "arrangd_changesets_duplicate_unverified_total", COPIES, 10000) ==
	          COPIES,
	      "not %d duplicates recognised before verification", COPIES);
	CHECK(region_metric(r, RECV, "arrangd_apply_seconds_count") == apply0,
	      "a duplicate reached the store's apply (which verifies)");
	check_log("%d copies of a held change set: dropped before verification, no apply", COPIES);
	prunes = prunes_within(a, 1500);
	CHECK(prunes == 1, "node1 got %d PRUNEs for one origin, not 1", prunes);
	CHECK(region_metric(r, RECV, "arrangd_peer_prunes_sent_total") == 1,
	      "arrangd_peer_prunes_sent_total is not 1");
	check_log("one PRUNE for node3's origin on node1's link");

	/* a forged copy of the held seq: nothing changes */
	CHECK(apiclient_digest(region_api(r, RECV), d0) == 0, "digest");
	forged = forge(cs1);
	peer_push(a, forged, cs1->rawlen);
	free(forged);
	proc_sleep_ms(1000);
	CHECK(apiclient_get_text(region_api(r, RECV), "organisation", row1, "name", v, sizeof(v)) ==
	              0 &&
	          strcmp(v, "Held Name") == 0,
	      "the held row changed");
	CHECK(apiclient_digest(region_api(r, RECV), d1) == 0 && strcmp(d0, d1) == 0,
	      "the digest changed after a forged duplicate");
	check_log("a forged copy of the held seq changed nothing");

	/* a forged new seq: refused */
	cs2 = build(r, signer, 2, row2, "Forged Name");
	forged = forge(cs2);
	peer_push(a, forged, cs2->rawlen);
	free(forged);
	CHECK(quarantined(r, "ARR_EBADSIG"), "the forged seq 2 is not quarantined as ARR_EBADSIG");
	CHECK(apiclient_get_text(region_api(r, RECV), "organisation", row2, "name", v, sizeof(v)) ==
	          ARR_ENOTFOUND,
	      "the forged seq 2 was applied");
	check_log("a forged new seq is refused (ARR_EBADSIG)");
	CHECK(region_alive(r, RECV) && apiclient_status_ok(region_api(r, RECV)),
	      "node0 stopped serving");

	changeset_destroy(&cs1);
	changeset_destroy(&cs2);
	peer_close(&a);
	peer_close(&b);
	nodekey_destroy(&relay);
	nodekey_destroy(&feeder);
	nodekey_destroy(&signer);
	region_destroy(&r);
	check_log("ok");
	return 0;
}
