/*
 * it_chain.c: integration test 3, multi-hop relay. A–B–C where A and C are not
 * configured to each other (each node has its own members file: every key is a member,
 * but only chain neighbours carry endpoints). A's change reaches C through B, C verifies
 * A's signature (the row is there, attributed to A's origin, nothing quarantined), and
 * the same holds from C to A.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define A 0
#define B 1
#define C 2

static void
pack_history(msgpack_packer *pk, void *ctx)
{
	const char *row = ctx;

	msgpack_pack_map(pk, 2);
	msgpack_pack_str(pk, 5);
	msgpack_pack_str_body(pk, "table", 5);
	msgpack_pack_str(pk, 12);
	msgpack_pack_str_body(pk, "organisation", 12);
	msgpack_pack_str(pk, 2);
	msgpack_pack_str_body(pk, "id", 2);
	msgpack_pack_str(pk, strlen(row));
	msgpack_pack_str_body(pk, row, strlen(row));
}

/* Every history entry of row on node i names origin hex. */
static bool
history_by(struct h_region *r, size_t i, const char *row, const char *hex)
{
	msgpack_unpacked res;
	const msgpack_object *o;
	bool ok = false;

	if (h_call(r, i, "history", pack_history, (void *)row, &res, &o) == 0 &&
	    o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0) {
		ok = true;
		for (uint32_t k = 0; k < o->via.array.size; k++) {
			const msgpack_object *org = h_map_get(&o->via.array.ptr[k], "origin");
			ok = ok && org != NULL && org->type == MSGPACK_OBJECT_STR &&
			     org->via.str.size == 64 && memcmp(org->via.str.ptr, hex, 64) == 0;
		}
	}
	msgpack_unpacked_destroy(&res);
	return ok;
}

/* Whether node i's "peers" shows the member name as connected. */
static bool
peer_connected(struct h_region *r, size_t i, const char *name)
{
	msgpack_unpacked res;
	const msgpack_object *o;
	bool conn = false;

	if (h_call(r, i, "peers", NULL, NULL, &res, &o) == 0 && o->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t k = 0; k < o->via.array.size; k++) {
			const msgpack_object *n = h_map_get(&o->via.array.ptr[k], "name");
			const msgpack_object *c = h_map_get(&o->via.array.ptr[k], "connected");
			if (n != NULL && n->type == MSGPACK_OBJECT_STR &&
			    n->via.str.size == strlen(name) &&
			    memcmp(n->via.str.ptr, name, n->via.str.size) == 0 && c != NULL &&
			    c->type == MSGPACK_OBJECT_BOOLEAN)
				conn = c->via.boolean;
		}
	msgpack_unpacked_destroy(&res);
	return conn;
}

int
main(void)
{
	struct h_region *r = h_region_new("chain", 3, 200, 2000);
	const bool ends_a[] = {false, true, false}, ends_b[] = {true, false, true},
	           ends_c[] = {false, true, false};
	const size_t all[] = {A, B, C};
	char arow[37], crow[37];
	double t;

	h_members_write(r, A, NULL, ends_a);
	h_members_write(r, B, NULL, ends_b);
	h_members_write(r, C, NULL, ends_c);
	for (size_t i = 0; i < 3; i++)
		h_start(r, i);

	h_rowid(arow);
	CHECK(h_write_text(r, A, "organisation", arow, "name", "from A") == 0, "write on A");
	t = h_now();
	CHECK(h_wait_text(r, C, "organisation", arow, "name", "from A", 10000),
	      "A's change did not reach C");
	h_log("A's change reached C through B in %.2f s", h_now() - t);
	CHECK(history_by(r, C, arow, r->nodes[A].pubhex), "C's history does not name A");
	CHECK(h_quarantine_count(r, C) == 0, "C quarantined something");
	CHECK(!peer_connected(r, C, r->nodes[A].name), "C is connected to A: not a chain");
	CHECK(!peer_connected(r, A, r->nodes[C].name), "A is connected to C: not a chain");
	CHECK(peer_connected(r, C, r->nodes[B].name), "C is not connected to B");

	h_rowid(crow);
	CHECK(h_write_text(r, C, "organisation", crow, "name", "from C") == 0, "write on C");
	CHECK(h_wait_text(r, A, "organisation", crow, "name", "from C", 10000),
	      "C's change did not reach A");
	CHECK(history_by(r, A, crow, r->nodes[C].pubhex), "A's history does not name C");
	CHECK(h_wait_converged(r, all, 3, 10000), "digests differ");
	for (size_t i = 0; i < 3; i++)
		CHECK(h_quarantine_count(r, i) == 0, "quarantine on node %zu", i);
	for (size_t i = 0; i < 3; i++)
		h_stop(r, i);
	printf("PASS: it_chain (%.1f s)\n", h_now() - r->t0);
	return 0;
}
