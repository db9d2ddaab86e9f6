/*
 * it_vdigest.c: heartbeats as vector digests (PROTOCOL.md, "Heartbeat", 1.4). node0 runs
 * and holds one change set; the test plays member node1 and announces "vdigest". node0's
 * heartbeats to it are VDIGESTs (no HEARTBEAT comes unasked) carrying the digest of
 * node0's vector. A VDIGEST from node1 equal to that digest is not answered; one that
 * differs (node1 claims an empty vector) is answered with node0's whole vector, once per
 * heartbeat at most. A peer without "vdigest" (node2's key, plain HELLO) still gets
 * HEARTBEATs with the vector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient.h"
#include "check.h"
#include "monoclock.h"
#include "nodekey.h"
#include "obj.h"
#include "peer.h"
#include "peermsg.h"
#include "proc.h"
#include "region.h"
#include "rng.h"
#include "vv.h"

#define HB_MS 200

/*
 * HELLO as key, with "vdigest" or without, until WELCOME; with a slow heartbeat of its
 * own, so that node0 waits 15 s before it calls the link silent.
 */
static void
hello(struct peer *d, const struct nodekey *key, bool vdigest)
{
	static const char *const caps[] = {"heartbeat=5000", "vdigest"};

	peer_hello_caps(d, key, caps, vdigest ? 2 : 1);
}

/* Messages of type want that d receives within ms (others skipped). */
static int
count_within(struct peer *d, enum peermsg_type want, int ms)
{
	int n = 0;

	for (double until = mono_s() + ms / 1000.0; mono_s() < until;)
		if (peer_expect(d, want, NULL, 50))
			n++;
	return n;
}

/* node0's vector, from status. */
static struct vv *
vector_of(struct region *r)
{
	const msgpack_object *o, *l;
	struct reply rp;
	struct vv *v = vv_new();

	CHECK(v != NULL && region_call0(r, 0, "status", &rp, &o) == 0 &&
	          (l = obj_get(o, "vector")) != NULL && l->type == MSGPACK_OBJECT_ARRAY,
	      "status");
	for (uint32_t k = 0; k < l->via.array.size; k++) {
		const msgpack_object *og = obj_get(&l->via.array.ptr[k], "origin");
		uint8_t origin[ARR_ORIGIN_LEN];
		uint64_t seq = 0;
		char hex[65];

		CHECK(og != NULL && og->type == MSGPACK_OBJECT_STR && og->via.str.size == 64 &&
		          obj_uint(obj_get(&l->via.array.ptr[k], "seq"), &seq) == 0,
		      "vector entry");
		memcpy(hex, og->via.str.ptr, 64);
		hex[64] = '\0';
		CHECK(nodekey_parse_hex(hex, origin) == 0 && vv_set(v, origin, seq) == 0, "origin");
	}
	reply_free(&rp);
	return v;
}

/* A VDIGEST of v from d. */
static void
send_vdigest(struct peer *d, const struct vv *v)
{
	struct peermsg m = {.type = PEERMSG_VDIGEST};

	CHECK(peermsg_vdigest(v, m.digest, &m.total) == 0, "vdigest");
	peer_send(d, &m);
}

int
main(void)
{
	struct region *r = region_new_test("vdigest", 3, HB_MS, 60000);
	struct nodekey *k1 = peer_load_key(r, 1), *k2 = peer_load_key(r, 2);
	struct vv *empty = vv_new(), *v0 = NULL;
	char row[37];
	struct peer *d, *old;
	int n;

	region_start(r, 0);
	rng_rowid(row);
	CHECK(apiclient_write_text(region_api(r, 0), "organisation", row, "name", "Digest") == 0,
	      "write on node0");
	d = peer_open(r, 0, k1);
	hello(d, k1, true);
	/* idle: only VDIGESTs, about one per heartbeat */
	n = count_within(d, PEERMSG_VDIGEST, 5 * HB_MS);
	CHECK(n >= 3, "%d VDIGESTs in 5 heartbeats", n);
	send_vdigest(d, empty);
	CHECK(count_within(d, PEERMSG_HEARTBEAT, 3 * HB_MS) <= 1,
	      "HEARTBEATs keep coming to a peer with vdigest");
	check_log("node0 heartbeats node1 with VDIGEST (%d in 5 heartbeats)", n);

	/* the digest of node0's own vector: nothing to answer */
	v0 = vector_of(r);
	CHECK(vv_count(v0) >= 1, "node0's vector is empty");
	for (int k = 0; k < 4; k++) {
		send_vdigest(d, v0);
		CHECK(count_within(d, PEERMSG_HEARTBEAT, HB_MS) == 0,
		      "an equal VDIGEST was answered with the vector");
	}
	check_log("an equal VDIGEST is not answered");
	/* a differing digest gets the whole vector */
	send_vdigest(d, empty);
	CHECK(peer_expect(d, PEERMSG_HEARTBEAT, NULL, 2000),
	      "a differing VDIGEST was not answered with the vector");
	check_log("a differing VDIGEST is answered with node0's vector");
	CHECK(region_metric(r, 0, "arrangd_peer_heartbeat_bytes_total") > 0, "no heartbeat bytes");

	/* twice in one heartbeat: answered once */
	proc_sleep_ms(2 * HB_MS);
	send_vdigest(d, empty);
	send_vdigest(d, empty);
	n = count_within(d, PEERMSG_HEARTBEAT, HB_MS / 2);
	CHECK(n == 1, "%d answers to two differing VDIGESTs within one heartbeat", n);

	/* a peer without the capability gets HEARTBEATs */
	old = peer_open(r, 0, k2);
	hello(old, k2, false);
	CHECK(count_within(old, PEERMSG_HEARTBEAT, 5 * HB_MS) >= 3,
	      "a peer without vdigest gets no HEARTBEATs");
	check_log("a peer without vdigest still gets HEARTBEATs");
	CHECK(region_alive(r, 0) && apiclient_status_ok(region_api(r, 0)), "node0 stopped");

	peer_close(&d);
	peer_close(&old);
	vv_destroy(&empty);
	vv_destroy(&v0);
	nodekey_destroy(&k1);
	nodekey_destroy(&k2);
	region_destroy(&r);
	check_log("ok");
	return 0;
}
