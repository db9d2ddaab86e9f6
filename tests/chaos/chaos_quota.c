/*
 * chaos_quota.c: part of the fault suite, a member that writes past the log quota of one
 * node (issue 17). Three members: node0 runs with origin_max_log_bytes = 1 MiB, node1
 * with the default; the test plays member node2 over a CURVE DEALER to node1 with
 * node2's own key (tests/support/peer.c) and pushes valid change sets of 2 KiB as fast as
 * it can, which node1 logs and relays to node0, while node1 and node0 keep writing:
 *
 *  - node0 stops node2 at its quota (its vector entry for node2 stays below what node1
 *    holds, the log bytes `status` reports are within the quota), `status` lists node2
 *    under over_quota, arrangd_quota_refused_total counts and
 *    arrangd_origin_over_quota_bytes{origin} shows it, `status` answers within STATUS_MS
 *    and the lines node0 logs about it stay under the per-peer rate limit;
 *  - honest writes replicate both ways throughout, also by pull alone: node0 stopped, node2
 *    pushes more to node1 and node1 writes, node0 restarted catches up with node1's
 *    writes although every page it pulls starts with refused change sets of node2's;
 *  - the quota raised (SIGHUP), node0 fetches node2's refused change sets again and its
 *    digest equals node1's: nothing acknowledged was lost.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrlimits.h"
#include "chaos.h"
#include "fault.h"
#include "hlc.h"
#include "monoclock.h"
#include "peer.h"
#include "rng.h"

#define QUOTA     0
#define HONEST    1
#define PLAYER    2
#define STATUS_MS 100.0
#define LOG_QUOTA (1u << 20)
#define VALUE_LEN 2000
#define SYNC_CONF "heartbeat_ms = 200\npull_interval_ms = 1000\npage_bytes = 65536\n"

struct run {
	struct region *r;
	struct peer *d; /* node2's link to node1 */
	struct nodekey *key;
	uint64_t sent;     /* node2's highest seq pushed */
	double status_max; /* ms, node0's slowest status */
	char last[37];     /* node1's last honest row */
};

/* Time one status call on node0; remember the slowest. */
static void
probe(struct run *u)
{
	chaos_status_probe(u->r, QUOTA, &u->status_max);
}

/* node i's vector entry for node2. */
static uint64_t
seq_of_player(struct run *u, size_t i)
{
	uint64_t seq = 0;

	CHECK(apiclient_vector_seq(region_api(u->r, i), u->r->nodes[PLAYER].pubhex, &seq) == 0,
	      "status of node%zu", i);
	return seq;
}

/* Push node2's seqs up to upto to node1, with an honest write on node1 every 100. */
static void
push_to(struct run *u, uint64_t upto, bool probing)
{
	double next = 0;

	peer_hello(u->d, u->key); /* node1 took the link down while node2 was silent */
	while (u->sent < upto) {
		struct changeset *cs = peer_changeset(u->key, u->r->nodes[PLAYER].org, ++u->sent,
		                                      hlc_make(hlc_wall_ms(), 0), VALUE_LEN);

		peer_push(u->d, cs->raw, cs->rawlen);
		changeset_destroy(&cs);
		if (u->sent % 100 == 0) {
			rng_rowid(u->last);
			CHECK(apiclient_write_text(region_api(u->r, HONEST), "organisation",
			                           u->last, "name", "honest") == 0,
			      "write on node1");
		}
		if (probing && mono_s() >= next) {
			probe(u);
			next = mono_s() + 0.05;
		}
	}
	/* node1 holds all of them (a lost push is pulled again: node2 has none to offer) */
	for (double until = mono_s() + 30; seq_of_player(u, HONEST) < u->sent && mono_s() < until;)
		proc_sleep_ms(100);
	CHECK(seq_of_player(u, HONEST) == u->sent, "node1 did not log node2's change sets");
}

/* The over_quota entry of node0's status: bytes and refused; false when none. */
static bool
over_quota(struct run *u, uint64_t *bytes, uint64_t *refused)
{
	const msgpack_object *res, *list, *e;
	struct reply rp;
	bool found = false;

	CHECK(region_call0(u->r, QUOTA, "status", &rp, &res) == 0, "status");
	list = obj_get(res, "over_quota");
	CHECK(list != NULL && list->type == MSGPACK_OBJECT_ARRAY, "status has no over_quota");
	for (uint32_t i = 0; i < list->via.array.size; i++) {
		const msgpack_object *o;

		e = &list->via.array.ptr[i];
		o = obj_get(e, "origin");
		if (o == NULL || o->type != MSGPACK_OBJECT_STR || o->via.str.size != 64 ||
		    memcmp(o->via.str.ptr, u->r->nodes[PLAYER].pubhex, 64) != 0)
			continue;
		found = obj_uint(obj_get(e, "bytes"), bytes) == 0 &&
		        obj_uint(obj_get(e, "refused"), refused) == 0;
	}
	reply_free(&rp);
	return found;
}

/* Whether node0's metrics show node2 (its first 16 hex characters) over its quota. */
static bool
gauge_shows_player(struct run *u)
{
	const msgpack_object *res, *text;
	char sample[96];
	struct reply rp;
	bool found;

	snprintf(sample, sizeof(sample), "arrangd_origin_over_quota_bytes{origin=\"%.16s\"}",
	         u->r->nodes[PLAYER].pubhex);
	CHECK(region_call0(u->r, QUOTA, "metrics", &rp, &res) == 0, "metrics");
	text = obj_get(res, "text");
	found = false;
	if (text != NULL && text->type == MSGPACK_OBJECT_STR) {
		char *copy = strndup(text->via.str.ptr, text->via.str.size);

		CHECK(copy != NULL, "out of memory");
		found = strstr(copy, sample) != NULL;
		free(copy);
	}
	reply_free(&rp);
	return found;
}

/* A write on from reaches to within 20 s. */
static bool
replicates(struct run *u, size_t from, size_t to)
{
	char row[37];

	rng_rowid(row);
	return apiclient_write_text(region_api(u->r, from), "organisation", row, "name", "later") ==
	           0 &&
	       apiclient_wait_text(region_api(u->r, to), "organisation", row, "name", "later",
	                           20000);
}

/* Phase 1: the flood through node1; node0 stops node2 at its quota, the rest goes on. */
static bool
flood(struct run *u, double t0)
{
	uint64_t bytes = 0, refused = 0, at0;
	bool caught, over, gauge, both, ok;
	int lines;

	push_to(u, 1200, true);
	caught = apiclient_wait_text(region_api(u->r, QUOTA), "organisation", u->last, "name",
	                             "honest", 20000);
	for (int k = 0; k < 20; k++) {
		probe(u);
		proc_sleep_ms(50);
	}
	at0 = seq_of_player(u, QUOTA);
	over = over_quota(u, &bytes, &refused);
	gauge = gauge_shows_player(u);
	both = replicates(u, QUOTA, HONEST) && replicates(u, HONEST, QUOTA);
	lines = region_log_lines(u->r, QUOTA, "over its log quota");
	/* the limit: a burst of 3, then one a second, per peer (logrl.h) */
	ok = caught && over && gauge && both && at0 > 0 && at0 < u->sent && bytes <= LOG_QUOTA &&
	     refused > 0 && region_metric(u->r, QUOTA, "arrangd_quota_refused_total") > 0 &&
	     u->status_max <= STATUS_MS && lines <= 3 + (int)(mono_s() - t0) + 1;
	printf("flood: node2 pushed %llu change sets of 2 KiB; node0 holds seq %llu, %llu bytes of "
	       "log (quota %u), %llu refused; honest rows caught up: %s, writes replicate both "
	       "ways: %s; over-quota gauge: %s; status max %.1f ms; %d quota log lines in %.0f s "
	       "[%s]\n",
	       (unsigned long long)u->sent, (unsigned long long)at0, (unsigned long long)bytes,
	       LOG_QUOTA, (unsigned long long)refused, caught ? "yes" : "NO", both ? "yes" : "NO",
	       gauge ? "yes" : "NO", u->status_max, lines, mono_s() - t0, ok ? "ok" : "FAIL");
	fflush(stdout);
	return ok;
}

/* Phase 2: node0 away; node2 and node1 go on; node0 back catches up by pull alone. */
static bool
by_pull(struct run *u)
{
	uint64_t before = seq_of_player(u, QUOTA), after;
	double t0;
	bool caught;

	region_stop(u->r, QUOTA);
	push_to(u, 1600, false);
	region_start(u->r, QUOTA);
	t0 = mono_s();
	caught = apiclient_wait_text(region_api(u->r, QUOTA), "organisation", u->last, "name",
	                             "honest", 30000);
	after = seq_of_player(u, QUOTA);
	printf("pull after a restart: node1's rows caught up in %.1f s: %s; node2 at seq %llu "
	       "(was %llu, node1 holds %llu) [%s]\n",
	       mono_s() - t0, caught ? "yes" : "NO", (unsigned long long)after,
	       (unsigned long long)before, (unsigned long long)u->sent,
	       caught && after == before ? "ok" : "FAIL");
	fflush(stdout);
	return caught && after == before;
}

/* Phase 3: the quota raised by SIGHUP; node0 fetches node2's change sets again. */
static bool
raised(struct run *u)
{
	const size_t both[] = {QUOTA, HONEST};
	uint64_t bytes, refused;
	double t0 = mono_s();
	bool all, conv;

	region_conf_write(u->r, QUOTA, NULL,
	                  SYNC_CONF "\n[budget]\norigin_max_log_bytes = 67108864\n");
	fault_signal(u->r, QUOTA, SIGHUP);
	for (double until = t0 + 40; seq_of_player(u, QUOTA) < u->sent && mono_s() < until;)
		proc_sleep_ms(200);
	all = seq_of_player(u, QUOTA) == u->sent;
	conv = chaos_converge(u->r, both, 2, 30000);
	printf("quota raised: node0 holds node2's %llu change sets after %.1f s: %s; "
	       "digests equal: %s [%s]\n",
	       (unsigned long long)seq_of_player(u, QUOTA), mono_s() - t0, all ? "yes" : "NO",
	       conv ? "yes" : "NO",
	       all && conv && !over_quota(u, &bytes, &refused) ? "ok" : "FAIL");
	fflush(stdout);
	return all && conv && !over_quota(u, &bytes, &refused);
}

int
main(void)
{
	struct chaos_tally *t = chaos_begin("quota", 1, 1);
	const size_t honest[] = {QUOTA, HONEST};
	struct run u = {0};
	bool ok[3];

	u.r = region_new(&(struct region_opts){.tag = "quota",
	                                       .sync_conf = SYNC_CONF,
	                                       .self_endpoint = true,
	                                       .verbose = true,
	                                       .start_s = 30,
	                                       .stop_s = 15},
	                 3);
	region_conf_write(u.r, QUOTA, NULL,
	                  SYNC_CONF "\n[budget]\norigin_max_log_bytes = 1048576\n");
	u.key = peer_load_key(u.r, PLAYER);
	region_start(u.r, QUOTA);
	region_start(u.r, HONEST);
	CHECK(chaos_converge(u.r, honest, 2, 30000), "honest nodes do not converge at start");
	u.d = peer_open(u.r, HONEST, u.key);

	ok[0] = flood(&u, mono_s());
	ok[1] = by_pull(&u);
	ok[2] = raised(&u);
	for (int i = 0; i < 3; i++) {
		t->faults++;
		t->checks += ok[i];
	}
	peer_close(&u.d);
	region_stop(u.r, QUOTA);
	region_stop(u.r, HONEST);
	CHECK(chaos_db_integrity_ok(u.r, QUOTA), "integrity_check");
	chaos_check_crashes(u.r, honest, 2);
	nodekey_destroy(&u.key);
	CHECK(ok[0] && ok[1] && ok[2], "the log quota did not hold (see above)");
	return chaos_end();
}
