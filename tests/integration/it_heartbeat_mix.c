/*
 * it_heartbeat_mix.c: two members with different heartbeat_ms stay connected. node0
 * sends HEARTBEAT every 200 ms, node1 every 2000 ms; each judges the other's silence by
 * the slower of the two intervals (PROTOCOL.md, "Links"), so over five of node1's
 * intervals neither drops a link, no handshake is repeated, and writes on either side
 * reach the other by push (the periodic pull is set far beyond the test's length).
 */
#include <stdio.h>
#include <string.h>

#include "apiclient.h"
#include "check.h"
#include "monoclock.h"
#include "proc.h"
#include "region.h"
#include "rng.h"

#define FAST    0
#define SLOW    1
#define SLOW_MS 2000
#define ROUNDS  10 /* one write a second: five of the slow node's heartbeat intervals */

/* Lines of node i's log that say a link went down or the peer disconnected. */
static int
drops(struct region *r, size_t i)
{
	return region_log_lines(r, i, "link down") + region_log_lines(r, i, ": disconnected");
}

int
main(void)
{
	struct region *r = region_new_test("hbmix", 2, 200, 600000);
	const size_t idx[] = {FAST, SLOW};
	char rows[ROUNDS][37], got[64];
	char sync[128];
	int ups_fast, ups_slow;

	snprintf(sync, sizeof(sync), "heartbeat_ms = %d\npull_interval_ms = 600000\n", SLOW_MS);
	region_conf_write(r, SLOW, NULL, sync);
	region_start(r, FAST);
	region_start(r, SLOW);
	CHECK(region_wait_converged(r, idx, 2, 10000), "no convergence at the start");
	/* both links of the pair up on both sides: "outgoing link up", "incoming link up" */
	for (double until = mono_s() + 10;
	     mono_s() < until && (region_log_lines(r, FAST, "link up") < 2 ||
	                          region_log_lines(r, SLOW, "link up") < 2);)
		proc_sleep_ms(100);
	CHECK(region_peer_state(r, FAST, SLOW) == 1 && region_peer_state(r, SLOW, FAST) == 1,
	      "the nodes did not connect");
	ups_fast = region_log_lines(r, FAST, "link up");
	ups_slow = region_log_lines(r, SLOW, "link up");
	check_log("connected; %d and %d links up", ups_fast, ups_slow);
	for (int k = 0; k < ROUNDS; k++) {
		size_t w = (size_t)k % 2, o = 1 - w;
		char val[16];

		rng_rowid(rows[k]);
		snprintf(val, sizeof(val), "round %d", k);
		CHECK(apiclient_write_text(region_api(r, w), "organisation", rows[k], "name",
		                           val) == 0,
		      "write %d on %s", k, r->nodes[w].name);
		CHECK(apiclient_wait_text(region_api(r, o), "organisation", rows[k], "name", val,
		                          1500),
		      "write %d on %s did not reach %s within 1.5 s", k, r->nodes[w].name,
		      r->nodes[o].name);
		CHECK(region_peer_state(r, FAST, SLOW) == 1 &&
		          region_peer_state(r, SLOW, FAST) == 1,
		      "round %d: a node sees the other disconnected", k);
		proc_sleep_ms(1000);
	}
	CHECK(region_wait_converged(r, idx, 2, 5000), "digests differ at the end");
	CHECK(drops(r, FAST) == 0, "%s dropped its links %d times", r->nodes[FAST].name,
	      drops(r, FAST));
	CHECK(drops(r, SLOW) == 0, "%s dropped its links %d times", r->nodes[SLOW].name,
	      drops(r, SLOW));
	CHECK(region_log_lines(r, FAST, "link up") == ups_fast &&
	          region_log_lines(r, SLOW, "link up") == ups_slow,
	      "a link was handshaken again while both nodes ran");
	CHECK(apiclient_get_text(region_api(r, FAST), "organisation", rows[ROUNDS - 1], "name", got,
	                         sizeof(got)) == 0,
	      "last row");
	region_stop(r, FAST);
	region_stop(r, SLOW);
	printf("PASS: it_heartbeat_mix (%.1f s)\n", check_elapsed());
	return 0;
}
