/*
 * it_held.c: held writes with real daemons (PROTOCOL.md, "Held writes"). node0 and node1
 * are linked. node0 takes a durable write, then a run of held writes, one every 100 ms
 * (under the idle and time bounds), while node1 is asked how far it has node0's change
 * sets: never past what node0 said was durable. node0 is then killed with SIGKILL right
 * after a held reply. Restarted, it holds exactly its durable change sets (or, when a
 * commit came first, all of the staged ones: all or nothing), node1 holds none that
 * node0 lost, node0's next write takes the next seq after its log, and the two converge
 * without an equivocation: no (origin, seq) of node0 ever meant two contents.
 * Seeded (ARRANG_SEED) through the row ids and refs.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "apiclient.h"
#include "arrerr.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "req.h"
#include "rng.h"

#define N       2
#define ROWS    200 /* children per write */
#define HELD    6   /* held writes, 100 ms apart */
#define SPAN_MS 100

struct wres {
	uint64_t first, last, durable;
	bool held;
	char id[37]; /* the first child's row id */
};

/* A write of ROWS children to node i (hold: held); 0 or the API's error code. */
static int
write_children(struct region *r, size_t i, bool hold, struct wres *w)
{
	struct req rq;
	struct reply rp;
	const msgpack_object *h;
	int rc;

	req_begin(&rq, "write", hold ? 2 : 1);
	req_str(&rq, "ops");
	req_array(&rq, 2 * ROWS);
	for (int k = 0; k < ROWS; k++) {
		char id[37], ref[32];

		rng_rowid(id);
		if (k == 0)
			memcpy(w->id, id, sizeof(id));
		snprintf(ref, sizeof(ref), "H-%llu", (unsigned long long)rng_range(0, UINT32_MAX));
		req_array(&rq, 4);
		req_str(&rq, "child");
		req_str(&rq, id);
		req_str(&rq, "ref");
		req_str(&rq, ref);
		req_array(&rq, 4);
		req_str(&rq, "child");
		req_str(&rq, id);
		req_str(&rq, "birth_year");
		req_uint(&rq, 2016);
	}
	if (hold) {
		req_str(&rq, "hold");
		if (msgpack_pack_true(&rq.pk) != 0)
			rq.failed = true;
	}
	rc = region_call(r, i, &rq, &rp, NULL);
	req_free(&rq);
	if (rc == 0) {
		CHECK(obj_uint(obj_get(rp.result, "first_seq"), &w->first) == 0 &&
		          obj_uint(obj_get(rp.result, "last_seq"), &w->last) == 0 &&
		          obj_uint(obj_get(rp.result, "durable_seq"), &w->durable) == 0 &&
		          (h = obj_get(rp.result, "held")) != NULL &&
		          h->type == MSGPACK_OBJECT_BOOLEAN,
		      "a write's reply lacks first_seq, last_seq, durable_seq or held");
		w->held = h->via.boolean;
	}
	reply_free(&rp);
	return rc;
}

/* node1's seq of node0 (its vector entry). */
static uint64_t
seen_by_1(struct region *r)
{
	uint64_t seq = 0;

	CHECK(apiclient_vector_seq(region_api(r, 1), r->nodes[0].pubhex, &seq) == 0,
	      "status on node1");
	return seq;
}

int
main(void)
{
	struct region *r;
	struct wres w0, w[HELD], w3;
	uint64_t local = 0, seen, seen_max = 0, durable_said;
	int status = 0;
	char v[64];

	rng_init();
	r = region_new(
	    &(struct region_opts){.tag = "held",
	                          /* slow timers: the hold is ended by what the test does */
	                          .sync_conf = "heartbeat_ms = 5000\n"
	                                       "pull_interval_ms = 60000\n",
	                          .verbose = true,
	                          .start_s = 30,
	                          .stop_s = 15},
	    N);
	for (size_t i = 0; i < N; i++)
		region_start(r, i);
	for (double until = mono_s() + 20; region_peer_state(r, 0, 1) != 1 && mono_s() < until;)
		proc_sleep_ms(50);
	CHECK(region_peer_state(r, 0, 1) == 1, "node0 and node1 are not linked");

	/* a durable write, pushed to node1 */
	CHECK(write_children(r, 0, false, &w0) == 0 && !w0.held && w0.durable == w0.last,
	      "the first write is not durable at its reply");
	for (double until = mono_s() + 20; seen_by_1(r) < w0.last && mono_s() < until;)
		proc_sleep_ms(50);
	CHECK(seen_by_1(r) == w0.last, "node1 did not get node0's durable write");

	/* held writes: node1 never holds more than node0 said was durable */
	for (int k = 0; k < HELD; k++) {
		CHECK(write_children(r, 0, true, &w[k]) == 0, "held write %d", k);
		CHECK(w[k].held, "held write %d was not held", k);
		CHECK(w[k].durable >= w0.last && w[k].durable < w[k].first,
		      "held write %d: durable_seq %llu outside [%llu, %llu)", k,
		      (unsigned long long)w[k].durable, (unsigned long long)w0.last,
		      (unsigned long long)w[k].first);
		if (k + 1 < HELD) {
			proc_sleep_ms(SPAN_MS / 2);
			seen = seen_by_1(r);
			CHECK(seen <= w[k].durable,
			      "node1 has node0's seq %llu; node0 said %llu was durable",
			      (unsigned long long)seen, (unsigned long long)w[k].durable);
			seen_max = seen > seen_max ? seen : seen_max;
			proc_sleep_ms(SPAN_MS / 2);
		}
	}
	durable_said = w[HELD - 1].durable;
	check_log("%d held writes, seqs %llu..%llu, durable said %llu; node1 saw up to %llu", HELD,
	          (unsigned long long)w[0].first, (unsigned long long)w[HELD - 1].last,
	          (unsigned long long)durable_said, (unsigned long long)seen_max);

	/* SIGKILL right after a held reply */
	CHECK(kill(r->nodes[0].pid, SIGKILL) == 0, "kill node0");
	for (double until = mono_s() + 10; !region_exited(r, 0, &status) && mono_s() < until;)
		proc_sleep_ms(20);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "node0 did not die of SIGKILL");
	region_forget(r, 0);
	seen = seen_by_1(r);
	region_start(r, 0);
	CHECK(apiclient_vector_seq(region_api(r, 0), r->nodes[0].pubhex, &local) == 0,
	      "status on node0");
	check_log("after the kill: node0 holds its seqs up to %llu, node1 up to %llu",
	          (unsigned long long)local, (unsigned long long)seen);
	CHECK(local == durable_said || local == w[HELD - 1].last,
	      "node0 holds seqs up to %llu: neither the durable %llu nor all staged %llu",
	      (unsigned long long)local, (unsigned long long)durable_said,
	      (unsigned long long)w[HELD - 1].last);
	CHECK(seen <= local, "node1 holds node0's seq %llu, which node0 lost (it has %llu)",
	      (unsigned long long)seen, (unsigned long long)local);
	if (local == durable_said)
		CHECK(apiclient_get_text(region_api(r, 0), "child", w[HELD - 1].id, "ref", v,
		                         sizeof(v)) == ARR_ENOTFOUND,
		      "a lost held write's row is on node0");
	CHECK(apiclient_get_text(region_api(r, 0), "child", w0.id, "ref", v, sizeof(v)) == 0,
	      "the durable write's row is gone");

	/* the next write takes the next seq; the two converge without an equivocation */
	CHECK(write_children(r, 0, false, &w3) == 0 && !w3.held, "the write after the restart");
	CHECK(w3.first == local + 1, "the write after the restart took seq %llu, not %llu",
	      (unsigned long long)w3.first, (unsigned long long)local + 1);
	for (double until = mono_s() + 30; seen_by_1(r) < w3.last && mono_s() < until;)
		proc_sleep_ms(100);
	CHECK(seen_by_1(r) == w3.last, "node1 did not converge to node0's seq %llu",
	      (unsigned long long)w3.last);
	CHECK(region_wait_converged(r, (const size_t[]){0, 1}, N, 30000), "no convergence");
	for (size_t i = 0; i < N; i++) {
		CHECK(region_metric(r, i, "arrangd_equivocations") == 0,
		      "node%zu saw an equivocation", i);
		CHECK(apiclient_quarantine_count(region_api(r, i)) == 0, "node%zu quarantined", i);
	}
	check_log("converged at node0's seq %llu, no equivocation", (unsigned long long)w3.last);
	for (size_t i = 0; i < N; i++)
		region_stop(r, i);
	region_destroy(&r);
	return 0;
}
