/*
 * it_lazy.c: eager/lazy push over a redundant graph (PROTOCOL.md, "Eager and lazy
 * push", "Lag"). Six nodes in full mesh write concurrently: every node must get every
 * change set, and the change sets received, summed over all nodes, must stay within 3 ×
 * what was needed (flooding every link gives about 5 here). Then one node is frozen
 * while another writes, so every push through it is lost; with periodic pulls 60 s
 * apart, the others must still get the writes through announcements, GRAFT and pull
 * within REPAIR_MS (the longest lag grace, 2 s, and a heartbeat and a margin), and the
 * frozen node must catch up after it thaws. Every node's lag grace, learnt from its
 * pushes, is within its bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient.h"
#include "check.h"
#include "fault.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "rng.h"

#define N         6
#define ROUNDS    40
#define REPAIR_MS 3000

/* The value of counter name in node i's metrics text; -1 when absent. */
static double
metric(struct region *r, size_t i, const char *name)
{
	return region_metric(r, i, name);
}

static double
total(struct region *r, const char *name)
{
	double sum = 0;

	for (size_t i = 0; i < N; i++) {
		double v = metric(r, i, name);
		CHECK(v >= 0, "%s missing on %s", name, r->nodes[i].name);
		sum += v;
	}
	return sum;
}

int
main(void)
{
	struct region *r = region_new_test("lazy", N, 200, 60000);
	const size_t all[] = {0, 1, 2, 3, 4, 5}, others[] = {0, 2, 3, 4, 5};
	double recv, applied, dup, needed, t;
	char row[37], val[32];

	for (size_t i = 0; i < N; i++)
		region_start(r, i);
	proc_sleep_ms(1500); /* every link up */

	/* 1. Concurrent writes on all nodes: redundancy of push. */
	for (int k = 0; k < ROUNDS; k++)
		for (size_t i = 0; i < N; i++) {
			rng_rowid(row);
			snprintf(val, sizeof(val), "org %d of %zu", k, i);
			CHECK(apiclient_write_text(region_api(r, i), "organisation", row, "name",
			                           val) == 0,
			      "write");
		}
	t = mono_s();
	CHECK(region_wait_converged(r, all, N, 20000), "digests differ after 20 s");
	check_log("converged %.2f s after the last write", mono_s() - t);
	proc_sleep_ms(500); /* late duplicates still count */
	recv = total(r, "arrangd_changesets_received_total");
	applied = total(r, "arrangd_changesets_applied_total");
	dup = total(r, "arrangd_changesets_duplicate_total");
	needed = (double)ROUNDS * N * (N - 1);
	check_log("received %.0f, applied %.0f, duplicates %.0f, needed %.0f: redundancy %.2f",
	          recv, applied, dup, needed, recv / needed);
	CHECK(applied == needed, "applied %.0f, needed %.0f", applied, needed);
	CHECK(recv <= 3 * needed, "redundancy %.2f > 3", recv / needed);
	for (size_t i = 0; i < N; i++) {
		double g = metric(r, i, "arrangd_lag_grace_milliseconds");

		check_log("%s: lag grace %.0f ms from %.0f pushes timed", r->nodes[i].name, g,
		          metric(r, i, "arrangd_lag_grace_samples_total"));
		CHECK(g >= 50 && g <= 2000, "lag grace %.0f ms on %s", g, r->nodes[i].name);
	}

	/* 2. Pushes through node1 are lost while it is frozen: pull must repair them. */
	fault_pause(r, 1);
	rng_rowid(row);
	CHECK(apiclient_write_text(region_api(r, 0), "organisation", row, "name",
	                           "while node1 sleeps") == 0,
	      "write on node0");
	for (int k = 0; k < 20; k++) {
		char r2[37];
		rng_rowid(r2);
		snprintf(val, sizeof(val), "burst %d", k);
		CHECK(apiclient_write_text(region_api(r, (size_t)k % 2 == 0 ? 2 : 3),
		                           "organisation", r2, "name", val) == 0,
		      "write");
	}
	t = mono_s();
	for (size_t j = 2; j < N; j++)
		CHECK(apiclient_wait_text(region_api(r, j), "organisation", row, "name",
		                          "while node1 sleeps", REPAIR_MS),
		      "%s lacks node0's write after %d ms", r->nodes[j].name, REPAIR_MS);
	CHECK(region_wait_converged(r, others, N - 1, REPAIR_MS), "the awake nodes differ");
	check_log("awake nodes converged in %.2f s with node1 frozen", mono_s() - t);
	fault_resume(r, 1);
	CHECK(region_wait_converged(r, all, N, 10000), "node1 did not catch up");
	for (size_t i = 0; i < N; i++)
		CHECK(apiclient_quarantine_count(region_api(r, i)) == 0, "quarantine on %s",
		      r->nodes[i].name);
	for (size_t i = 0; i < N; i++)
		region_stop(r, i);
	printf("PASS: it_lazy (%.1f s)\n", check_elapsed());
	return 0;
}
