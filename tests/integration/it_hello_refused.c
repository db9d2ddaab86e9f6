/*
 * it_hello_refused.c: a refused HELLO does not disturb the live link (PROTOCOL.md,
 * "Links"). The test plays member node1 towards node0 over a first connection that
 * completes its handshake. A second connection with the same key then sends a HELLO of
 * another major version and a third one a HELLO naming another origin: each is answered
 * with its ERROR, and the first connection still gets its PULL answered, node0 still
 * counts node1 connected and no takeover is counted. A fourth connection whose HELLO is
 * accepted does take over: node0 closes the first one.
 */
#include <stdio.h>
#include <string.h>

#include "apiclient.h"
#include "arrerr.h"
#include "check.h"
#include "nodekey.h"
#include "peer.h"
#include "peermsg.h"
#include "region.h"
#include "vv.h"

#define NODE   0
#define PLAYED 1

/* A HELLO from key with an empty vector, announcing a slow heartbeat (see below). */
static void
hello(struct peermsg *m, const struct nodekey *key, struct vv *empty)
{
	memset(m, 0, sizeof(*m));
	m->type = PEERMSG_HELLO;
	m->major = PEERMSG_MAJOR;
	m->minor = PEERMSG_MINOR;
	memcpy(m->origin, nodekey_public(key), ARR_ORIGIN_LEN);
	/* the test sends no HEARTBEAT: node0 must not time the first link out meanwhile */
	m->ncaps = 1;
	strcpy(m->caps[0], "heartbeat=60000");
	m->vector = empty;
}

/* A second connection as key sends m and gets ERROR want. */
static void
refused(struct region *r, const struct nodekey *key, const struct peermsg *m, int want,
        const char *what)
{
	struct peer *q = peer_open(r, NODE, key);
	int code = 0;

	peer_send(q, m);
	CHECK(peer_expect(q, PEERMSG_ERROR, &code, 10000), "%s: no ERROR", what);
	CHECK(code == want, "%s: ERROR %s, expected %s", what, arrerr_name(code),
	      arrerr_name(want));
	check_log("%s -> ERROR %s", what, arrerr_name(code));
	peer_close(&q);
}

/* The first connection still works: a PULL on it is answered with a PAGE. */
static void
still_live(struct region *r, struct peer *p, struct vv *empty, const char *after)
{
	struct peermsg pull = {
	    .type = PEERMSG_PULL, .req_id = 7, .vector = empty, .max_bytes = 65536};
	int code = 0;

	peer_send(p, &pull);
	CHECK(peer_expect(p, PEERMSG_PAGE, &code, 5000) && code == 0,
	      "after %s the live link no longer answers (%s)", after,
	      code != 0 ? arrerr_name(code) : "no PAGE");
	CHECK(region_peer_state(r, NODE, PLAYED) == 1, "after %s node0 sees node1 disconnected",
	      after);
}

int
main(void)
{
	struct region *r = region_new_test("hellorefused", 2, 1000, 600000);
	struct nodekey *key = peer_load_key(r, PLAYED), *other = peer_load_key(r, NODE);
	struct vv *empty = vv_new();
	struct peer *p, *q;
	struct peermsg m;
	int code = 0;

	CHECK(empty != NULL, "vv_new");
	region_start(r, NODE);
	p = peer_open(r, NODE, key);
	hello(&m, key, empty);
	peer_send(p, &m);
	CHECK(peer_expect(p, PEERMSG_WELCOME, &code, 10000) && code == 0, "no WELCOME (%s)",
	      arrerr_name(code));
	still_live(r, p, empty, "the handshake");

	m.major = PEERMSG_MAJOR + 1;
	refused(r, key, &m, ARR_EVERSION, "HELLO of another major on a second connection");
	still_live(r, p, empty, "a HELLO of another major");
	m.major = PEERMSG_MAJOR;
	memcpy(m.origin, nodekey_public(other), ARR_ORIGIN_LEN);
	refused(r, key, &m, ARR_ENOTMEMBER, "HELLO naming another origin on a second connection");
	still_live(r, p, empty, "a HELLO naming another origin");
	CHECK(region_metric(r, NODE, "arrangd_peer_takeovers_total") == 0,
	      "a refused HELLO took over the link");

	/* an accepted HELLO on a new connection does take over: the old one is closed */
	memcpy(m.origin, nodekey_public(key), ARR_ORIGIN_LEN);
	q = peer_open(r, NODE, key);
	peer_send(q, &m);
	CHECK(peer_expect(q, PEERMSG_WELCOME, &code, 10000) && code == 0, "no WELCOME on the new "
	                                                                  "connection");
	CHECK(peer_wait_closed(p, 5000), "the old connection was not closed on a takeover");
	still_live(r, q, empty, "the takeover");
	CHECK(region_metric(r, NODE, "arrangd_peer_takeovers_total") == 1, "takeovers: %.0f",
	      region_metric(r, NODE, "arrangd_peer_takeovers_total"));
	peer_close(&q);
	peer_close(&p);
	vv_destroy(&empty);
	nodekey_destroy(&key);
	nodekey_destroy(&other);
	region_stop(r, NODE);
	printf("PASS: it_hello_refused (%.1f s)\n", check_elapsed());
	return 0;
}
