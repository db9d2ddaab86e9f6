/*
 * it_nonmember.c: integration test 4. A node whose key is not in the region's members
 * file cannot exchange data with the region: its own members file lists itself and the
 * others with their endpoints, so it keeps trying, but the others' ZAP handlers refuse
 * its key. Nothing it writes arrives, nothing arrives at it, and the members converge
 * among themselves as usual.
 */
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "apiclient.h"
#include "check.h"
#include "fault.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "rng.h"

#define OUT 2

/* Whether any peer of node i is reported connected. */
static bool
any_connected(struct region *r, size_t i)
{
	struct reply rp;
	const msgpack_object *o;
	bool conn = false;

	if (region_call0(r, i, "peers", &rp, &o) == 0 && o->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t k = 0; k < o->via.array.size; k++) {
			const msgpack_object *c = obj_get(&o->via.array.ptr[k], "connected");
			if (c != NULL && c->type == MSGPACK_OBJECT_BOOLEAN && c->via.boolean)
				conn = true;
		}
	reply_free(&rp);
	return conn;
}

int
main(void)
{
	struct region *r = region_new_test("nonmember", 3, 200, 500);
	const bool members[] = {true, true, false};
	const size_t region[] = {0, 1};
	char rows[3][37], got[256];

	/* The region's file (nodes 0 and 1) does not list node 2; node 2's lists everyone. */
	region_members(r, 0, members, NULL);
	region_members(r, 1, members, NULL);
	region_members(r, OUT, NULL, NULL);
	for (size_t i = 0; i < 3; i++)
		region_start(r, i);
	for (size_t i = 0; i < 3; i++) {
		rng_rowid(rows[i]);
		CHECK(apiclient_write_text(region_api(r, i), "organisation", rows[i], "name",
		                           r->nodes[i].name) == 0,
		      "write on node %zu", i);
	}
	CHECK(region_wait_converged(r, region, 2, 10000), "the members did not converge");
	CHECK(apiclient_wait_text(region_api(r, 1), "organisation", rows[0], "name",
	                          r->nodes[0].name, 5000),
	      "member rows did not replicate");
	/* many heartbeats and pull intervals for the outsider to try */
	proc_sleep_ms(3000);
	for (size_t i = 0; i < 2; i++)
		CHECK(apiclient_get_text(region_api(r, i), "organisation", rows[OUT], "name", got,
		                         sizeof(got)) == ARR_ENOTFOUND,
		      "the outsider's row arrived at node %zu", i);
	for (size_t i = 0; i < 2; i++)
		CHECK(apiclient_get_text(region_api(r, OUT), "organisation", rows[i], "name", got,
		                         sizeof(got)) == ARR_ENOTFOUND,
		      "node %zu's row arrived at the outsider", i);
	CHECK(!any_connected(r, OUT), "the outsider reports a connected peer");
	for (size_t i = 0; i < 2; i++)
		CHECK(apiclient_quarantine_count(region_api(r, i)) == 0,
		      "node %zu quarantined something", i);
	/* a later write on a member still does not leak to the outsider */
	CHECK(apiclient_write_text(region_api(r, 0), "organisation", rows[0], "code", "late") == 0,
	      "late write");
	CHECK(region_wait_converged(r, region, 2, 5000), "members diverged");
	proc_sleep_ms(1000);
	CHECK(apiclient_get_text(region_api(r, OUT), "organisation", rows[0], "code", got,
	                         sizeof(got)) == ARR_ENOTFOUND,
	      "the late write arrived at the outsider");
	for (size_t i = 0; i < 3; i++)
		region_stop(r, i);
	printf("PASS: it_nonmember (%.1f s)\n", check_elapsed());
	return 0;
}
