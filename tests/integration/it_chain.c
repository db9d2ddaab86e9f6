/*
 * it_chain.c: integration test 3, multi-hop relay. A–B–C where A and C are not
 * configured to each other (each node has its own members file: every key is a member,
 * but only chain neighbours carry endpoints). A's change reaches C through B, C verifies
 * A's signature (the row is there, attributed to A's origin, nothing quarantined), and
 * the same holds from C to A.
 */
#include <stdio.h>
#include <string.h>

#include "apiclient.h"
#include "check.h"
#include "fault.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "rng.h"

#define A 0
#define B 1
#define C 2

/* Every history entry of row on node i names origin hex. */
static bool
history_by(struct region *r, size_t i, const char *row, const char *hex)
{
	struct reply rp;
	struct req rq;
	const msgpack_object *o;
	bool ok = false;
	int rc;

	req_begin(&rq, "history", 2);
	req_str(&rq, "table");
	req_str(&rq, "organisation");
	req_str(&rq, "id");
	req_str(&rq, row);
	rc = region_call(r, i, &rq, &rp, &o);
	req_free(&rq);
	if (rc == 0 && (o = obj_get(o, "entries")) != NULL && o->type == MSGPACK_OBJECT_ARRAY &&
	    o->via.array.size > 0) {
		ok = true;
		for (uint32_t k = 0; k < o->via.array.size; k++) {
			const msgpack_object *org = obj_get(&o->via.array.ptr[k], "origin");
			ok = ok && org != NULL && org->type == MSGPACK_OBJECT_STR &&
			     org->via.str.size == 64 && memcmp(org->via.str.ptr, hex, 64) == 0;
		}
	}
	reply_free(&rp);
	return ok;
}

int
main(void)
{
	struct region *r = region_new_test("chain", 3, 200, 2000);
	const bool ends_a[] = {false, true, false}, ends_b[] = {true, false, true},
	           ends_c[] = {false, true, false};
	const size_t all[] = {A, B, C};
	char arow[37], crow[37];
	double t;

	region_members(r, A, NULL, ends_a);
	region_members(r, B, NULL, ends_b);
	region_members(r, C, NULL, ends_c);
	for (size_t i = 0; i < 3; i++)
		region_start(r, i);

	rng_rowid(arow);
	CHECK(apiclient_write_text(region_api(r, A), "organisation", arow, "name", "from A") == 0,
	      "write on A");
	t = mono_s();
	CHECK(apiclient_wait_text(region_api(r, C), "organisation", arow, "name", "from A", 10000),
	      "A's change did not reach C");
	check_log("A's change reached C through B in %.2f s", mono_s() - t);
	CHECK(history_by(r, C, arow, r->nodes[A].pubhex), "C's history does not name A");
	CHECK(apiclient_quarantine_count(region_api(r, C)) == 0, "C quarantined something");
	CHECK(region_peer_state(r, C, A) != 1, "C is connected to A: not a chain");
	CHECK(region_peer_state(r, A, C) != 1, "A is connected to C: not a chain");
	CHECK(region_peer_state(r, C, B) == 1, "C is not connected to B");

	rng_rowid(crow);
	CHECK(apiclient_write_text(region_api(r, C), "organisation", crow, "name", "from C") == 0,
	      "write on C");
	CHECK(apiclient_wait_text(region_api(r, A), "organisation", crow, "name", "from C", 10000),
	      "C's change did not reach A");
	CHECK(history_by(r, A, crow, r->nodes[C].pubhex), "A's history does not name C");
	CHECK(region_wait_converged(r, all, 3, 10000), "digests differ");
	for (size_t i = 0; i < 3; i++)
		CHECK(apiclient_quarantine_count(region_api(r, i)) == 0, "quarantine on node %zu",
		      i);
	for (size_t i = 0; i < 3; i++)
		region_stop(r, i);
	printf("PASS: it_chain (%.1f s)\n", check_elapsed());
	return 0;
}
