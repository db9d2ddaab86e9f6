/*
 * it_partition.c: integration test 6. Five nodes in full mesh. Partitions are made with
 * SIGSTOP/SIGCONT: first {3,4} are frozen while {0,1,2} write, then {0,1,2} are frozen
 * while {3,4} write, so the two sides write conflicting values to the same cells
 * without seeing each other (and within each side the writes race too). After healing,
 * all five converge to one digest and agree on every contested cell.
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

#define N    5
#define ROWS 6

static void
pause_set(struct region *r, const size_t *set, size_t n, bool stop)
{
	for (size_t i = 0; i < n; i++)
		(stop ? fault_pause : fault_resume)(r, set[i]);
}

/* Every node writes its own value into every contested cell, plus one row of its own. */
static void
write_side(struct region *r, const size_t *side, size_t n, char rows[ROWS][37], const char *tag,
           int round)
{
	for (size_t k = 0; k < n; k++) {
		size_t i = side[k];
		char v[64], own[37];
		for (size_t j = 0; j < ROWS; j++) {
			snprintf(v, sizeof(v), "%s %s round %d", tag, r->nodes[i].name, round);
			CHECK(apiclient_write_text(region_api(r, i), "organisation", rows[j],
			                           "name", v) == 0,
			      "write on %s", r->nodes[i].name);
			CHECK(apiclient_write_text(region_api(r, i), "organisation", rows[j],
			                           "code", r->nodes[i].name) == 0,
			      "write on %s", r->nodes[i].name);
		}
		rng_rowid(own);
		snprintf(v, sizeof(v), "own row of %s round %d", r->nodes[i].name, round);
		CHECK(apiclient_write_text(region_api(r, i), "organisation", own, "name", v) == 0,
		      "write own row");
	}
}

/* Wait until node i's "peers" reports node j as not connected. */
static bool
wait_disconnected(struct region *r, size_t i, size_t j, int timeout_ms)
{
	double until = mono_s() + timeout_ms / 1000.0;

	do {
		if (region_peer_state(r, i, j) == 0) {
			check_log("%s sees %s disconnected", r->nodes[i].name, r->nodes[j].name);
			return true;
		}
		proc_sleep_ms(100);
	} while (mono_s() < until);
	return false;
}

int
main(void)
{
	struct region *r = region_new_test("partition", N, 200, 1000);
	const size_t all[] = {0, 1, 2, 3, 4}, left[] = {0, 1, 2}, right[] = {3, 4};
	char rows[ROWS][37];
	double t;

	for (size_t i = 0; i < N; i++)
		region_start(r, i);
	region_write_rows(r, rows, ROWS, "baseline");
	CHECK(region_wait_converged(r, all, N, 15000), "no convergence on the baseline");
	check_log("baseline converged");

	for (int round = 1; round <= 2; round++) {
		pause_set(r, right, 2, true);
		/* long enough for ZMTP heartbeats to drop the links to the frozen side */
		CHECK(wait_disconnected(r, 0, 3, 10000), "node0 still sees node3 connected");
		write_side(r, left, 3, rows, "left", round);
		CHECK(region_wait_converged(r, left, 3, 15000), "left side did not converge");
		pause_set(r, left, 3, true);
		pause_set(r, right, 2, false);
		CHECK(wait_disconnected(r, 3, 0, 10000), "node3 still sees node0 connected");
		write_side(r, right, 2, rows, "right", round);
		CHECK(region_wait_converged(r, right, 2, 15000), "right side did not converge");
		pause_set(r, left, 3, false);
		t = mono_s();
		CHECK(region_wait_converged(r, all, N, 30000),
		      "round %d: no single digest 30 s after healing", round);
		check_log("round %d: healed and converged in %.2f s", round, mono_s() - t);
	}

	/* Every contested cell has one value everywhere. */
	for (size_t j = 0; j < ROWS; j++) {
		char first[256], v[256];
		CHECK(apiclient_get_text(region_api(r, 0), "organisation", rows[j], "name", first,
		                         sizeof(first)) == 0,
		      "get");
		for (size_t i = 1; i < N; i++) {
			CHECK(apiclient_get_text(region_api(r, i), "organisation", rows[j], "name",
			                         v, sizeof(v)) == 0,
			      "get");
			CHECK(strcmp(v, first) == 0, "row %zu: %s has '%s', node0 '%s'", j,
			      r->nodes[i].name, v, first);
		}
	}
	for (size_t i = 0; i < N; i++)
		CHECK(apiclient_quarantine_count(region_api(r, i)) == 0, "quarantine on node %zu",
		      i);
	for (size_t i = 0; i < N; i++)
		region_stop(r, i);
	printf("PASS: it_partition (%.1f s)\n", check_elapsed());
	return 0;
}
