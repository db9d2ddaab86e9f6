/*
 * chaos_equiv.c: part 9 of the fault suite, an equivocating member. A region of four
 * members: node0 (A), node1 (B) and node2 (C) run; the test plays node3 with its own key
 * (tests/support/peer.c) and signs two different change sets for its seq 1, each
 * writing its own row and one shared row. X goes to A while only A runs, Y to B while
 * only B runs, so no node holds both. Then A, B and C start together: C pulls whichever
 * copy it gets first, and A and B have equal vectors but different logs. In even rounds
 * (the short run's only one) C starts once A and B hold the proof: it never sees a copy,
 * its LOGSUM has no record of node3, and the proof must reach it all the same.
 *
 * Expected, on every node, within the time limit: the proof is held (status lists node3
 * under equivocations, frozen from seq 1; arrangd_equivocations is 1), node3 is gone from
 * the vector, neither copy's rows exist, the three digests are equal, and an honest
 * write made afterwards on A replicates to B and C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "arrlimits.h"
#include "changeset.h"
#include "chaos.h"
#include "hlc.h"
#include "nodekey.h"
#include "peer.h"
#include "peermsg.h"
#include "rowid.h"
#include "vv.h"

#define NA    0
#define NB    1
#define NC    2
#define EQUIV 3

/* node3's seq 1 writing text into the shared row and its own row. */
static struct changeset *
copy_build(struct region *r, const struct nodekey *k, const char *shared, const char *own,
           const char *text)
{
	struct cs_op ops[2] = {
	    {.table = "organisation", .column = "name", .value = value_text(text)},
	    {.table = "organisation", .column = "name", .value = value_text(text)}};
	struct cs_header h = {.seq = 1,
	                      .hlc = hlc_make(hlc_wall_ms(), 0),
	                      .author_org = r->nodes[EQUIV].org,
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct changeset *cs = NULL;

	CHECK(rowid_parse(shared, ops[0].row) == 0 && rowid_parse(own, ops[1].row) == 0, "rowid");
	CHECK(changeset_build(k, &h, ops, 2, NULL, &cs) == 0, "changeset_build");
	return cs;
}

/* Start node i alone, push cs to it as node3 until it has applied it, stop it. */
static void
deliver_alone(struct region *r, size_t i, const struct nodekey *k, const struct changeset *cs)
{
	struct vv *empty = vv_new();
	struct peermsg m = {
	    .type = PEERMSG_HELLO, .major = PEERMSG_MAJOR, .minor = PEERMSG_MINOR, .vector = empty};
	uint64_t seq = 0;
	struct peer *d;

	region_start(r, i);
	d = peer_open(r, i, k);
	memcpy(m.origin, nodekey_public(k), ARR_ORIGIN_LEN);
	for (int n = 0; n < 20; n++) {
		peer_send(d, &m);
		if (peer_expect(d, PEERMSG_WELCOME, NULL, 1000))
			break;
	}
	for (double until = mono_s() + 10; mono_s() < until && seq < 1; proc_sleep_ms(100)) {
		peer_push(d, cs->raw, cs->rawlen);
		(void)apiclient_vector_seq(region_api(r, i), r->nodes[EQUIV].pubhex, &seq);
	}
	CHECK(seq == 1, "node%zu did not apply node3's seq 1", i);
	peer_close(&d);
	region_stop(r, i);
	vv_destroy(&empty);
}

/* Whether node i's status lists node3 under equivocations, frozen from seq 1. */
static bool
flagged(struct region *r, size_t i)
{
	struct reply rp;
	const msgpack_object *o, *l;
	bool ok = false;

	if (region_call0(r, i, "status", &rp, &o) == 0 &&
	    (l = obj_get(o, "equivocations")) != NULL && l->type == MSGPACK_OBJECT_ARRAY &&
	    l->via.array.size == 1) {
		const msgpack_object *og = obj_get(&l->via.array.ptr[0], "origin");
		uint64_t from = 0;

		ok = og != NULL && og->type == MSGPACK_OBJECT_STR && og->via.str.size == 64 &&
		     memcmp(og->via.str.ptr, r->nodes[EQUIV].pubhex, 64) == 0 &&
		     obj_uint(obj_get(&l->via.array.ptr[0], "from_seq"), &from) == 0 && from == 1;
	}
	reply_free(&rp);
	return ok;
}

/* n nodes flagged, node3 out of their vectors, no row of either copy: true in time. */
static bool
all_resolved(struct region *r, const size_t *idx, char (*rows)[37], size_t n, int timeout_ms)
{
	for (double until = mono_s() + timeout_ms / 1000.0; mono_s() < until; proc_sleep_ms(200)) {
		bool ok = true;

		for (size_t k = 0; k < n && ok; k++) {
			uint64_t seq = 1;
			char v[64];

			ok = flagged(r, idx[k]) &&
			     apiclient_vector_seq(region_api(r, idx[k]), r->nodes[EQUIV].pubhex,
			                          &seq) == 0 &&
			     seq == 0 && region_metric(r, idx[k], "arrangd_equivocations") == 1;
			for (size_t j = 0; j < 3 && ok; j++)
				ok = apiclient_get_text(region_api(r, idx[k]), "organisation",
				                        rows[j], "name", v,
				                        sizeof(v)) == ARR_ENOTFOUND;
		}
		if (ok)
			return true;
	}
	return false;
}

int
main(void)
{
	struct chaos_tally *t = chaos_begin("equiv", 1, 3);
	const size_t idx[] = {NA, NB, NC};
	unsigned rounds = chaos_iterations();

	for (unsigned it = 0; it < rounds; it++) {
		struct region *r = region_new_test("equiv", 4, 200, 1000);
		struct nodekey *k = peer_load_key(r, EQUIV);
		struct changeset *x, *y;
		char rows[4][37];
		bool resolved, same;

		for (size_t j = 0; j < 4; j++)
			rng_rowid(rows[j]);
		x = copy_build(r, k, rows[0], rows[1], "copy X");
		y = copy_build(r, k, rows[0], rows[2], "copy Y");
		deliver_alone(r, NA, k, x);
		deliver_alone(r, NB, k, y);
		t->faults += 2;
		region_start(r, NA);
		region_start(r, NB);
		if (it % 2 == 0)
			CHECK(all_resolved(r, idx, rows, 2, 30000),
			      "round %u: A and B did not prove the equivocation", it);
		region_start(r, NC);
		resolved = all_resolved(r, idx, rows, 3, 30000);
		same = region_wait_converged(r, idx, 3, 10000);
		printf("round %u: proof on every node %s, digests %s\n", it,
		       resolved ? "yes" : "NO", same ? "equal" : "DIFFER");
		t->checks += resolved + same;
		t->diverged += !same;
		CHECK(resolved, "round %u: not every node holds the proof and masked both copies",
		      it);
		CHECK(region_log_lines(r, NA, "origin frozen") +
		              region_log_lines(r, NB, "origin frozen") +
		              region_log_lines(r, NC, "origin frozen") >
		          0,
		      "no node logged the equivocation");
		/* the region goes on: an honest write replicates */
		CHECK(apiclient_write_text(region_api(r, NA), "organisation", rows[3], "name",
		                           "honest") == 0,
		      "write on A");
		CHECK(apiclient_wait_text(region_api(r, NC), "organisation", rows[3], "name",
		                          "honest", 10000) &&
		          apiclient_wait_text(region_api(r, NB), "organisation", rows[3], "name",
		                              "honest", 10000),
		      "round %u: an honest write after the proof did not replicate", it);
		CHECK(region_wait_converged(r, idx, 3, 10000), "round %u: digests differ", it);
		t->checks += 2;
		for (size_t j = 0; j < 3; j++)
			region_stop(r, idx[j]);
		chaos_check_crashes(r, idx, 3);
		changeset_destroy(&x);
		changeset_destroy(&y);
		nodekey_destroy(&k);
		region_destroy(&r);
	}
	return chaos_end();
}
