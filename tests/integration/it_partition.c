/*
 * it_partition.c: integration test 6. Five nodes in full mesh. Partitions are made with
 * SIGSTOP/SIGCONT: first {3,4} are frozen while {0,1,2} write, then {0,1,2} are frozen
 * while {3,4} write, so the two sides write conflicting values to the same cells
 * without seeing each other (and within each side the writes race too). After healing,
 * all five converge to one digest and agree on every contested cell.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define N    5
#define ROWS 6

static void
pause_set(struct h_region *r, const size_t *set, size_t n, bool stop)
{
	for (size_t i = 0; i < n; i++)
		(stop ? h_pause : h_resume)(r, set[i]);
}

/* Every node writes its own value into every contested cell, plus one row of its own. */
static void
write_side(struct h_region *r, const size_t *side, size_t n, char rows[ROWS][37], const char *tag,
           int round)
{
	for (size_t k = 0; k < n; k++) {
		size_t i = side[k];
		char v[64], own[37];
		for (size_t j = 0; j < ROWS; j++) {
			snprintf(v, sizeof(v), "%s %s round %d", tag, r->nodes[i].name, round);
			CHECK(h_write_text(r, i, "organisation", rows[j], "name", v) == 0,
			      "write on %s", r->nodes[i].name);
			CHECK(h_write_text(r, i, "organisation", rows[j], "code",
			                   r->nodes[i].name) == 0,
			      "write on %s", r->nodes[i].name);
		}
		h_rowid(own);
		snprintf(v, sizeof(v), "own row of %s round %d", r->nodes[i].name, round);
		CHECK(h_write_text(r, i, "organisation", own, "name", v) == 0, "write own row");
	}
}

/* Wait until node i's "peers" reports node j as not connected. */
static bool
wait_disconnected(struct h_region *r, size_t i, size_t j, int timeout_ms)
{
	double until = h_now() + timeout_ms / 1000.0;

	do {
		msgpack_unpacked res;
		const msgpack_object *o;
		bool conn = true;

		if (h_call(r, i, "peers", NULL, NULL, &res, &o) == 0 &&
		    o->type == MSGPACK_OBJECT_ARRAY)
			for (uint32_t k = 0; k < o->via.array.size; k++) {
				const msgpack_object *n = h_map_get(&o->via.array.ptr[k], "name");
				const msgpack_object *c =
				    h_map_get(&o->via.array.ptr[k], "connected");
				if (n != NULL && n->type == MSGPACK_OBJECT_STR &&
				    n->via.str.size == strlen(r->nodes[j].name) &&
				    memcmp(n->via.str.ptr, r->nodes[j].name, n->via.str.size) ==
				        0 &&
				    c != NULL && c->type == MSGPACK_OBJECT_BOOLEAN)
					conn = c->via.boolean;
			}
		msgpack_unpacked_destroy(&res);
		if (!conn) {
			h_log("%s sees %s disconnected", r->nodes[i].name, r->nodes[j].name);
			return true;
		}
		h_sleep_ms(100);
	} while (h_now() < until);
	return false;
}

int
main(void)
{
	struct h_region *r = h_region_new("partition", N, 200, 1000);
	const size_t all[] = {0, 1, 2, 3, 4}, left[] = {0, 1, 2}, right[] = {3, 4};
	char rows[ROWS][37];
	double t;

	for (size_t i = 0; i < N; i++)
		h_start(r, i);
	for (size_t j = 0; j < ROWS; j++) {
		h_rowid(rows[j]);
		CHECK(h_write_text(r, j % N, "organisation", rows[j], "name", "baseline") == 0,
		      "baseline write");
	}
	CHECK(h_wait_converged(r, all, N, 15000), "no convergence on the baseline");
	h_log("baseline converged");

	for (int round = 1; round <= 2; round++) {
		pause_set(r, right, 2, true);
		/* long enough for ZMTP heartbeats to drop the links to the frozen side */
		CHECK(wait_disconnected(r, 0, 3, 10000), "node0 still sees node3 connected");
		write_side(r, left, 3, rows, "left", round);
		CHECK(h_wait_converged(r, left, 3, 15000), "left side did not converge");
		pause_set(r, left, 3, true);
		pause_set(r, right, 2, false);
		CHECK(wait_disconnected(r, 3, 0, 10000), "node3 still sees node0 connected");
		write_side(r, right, 2, rows, "right", round);
		CHECK(h_wait_converged(r, right, 2, 15000), "right side did not converge");
		pause_set(r, left, 3, false);
		t = h_now();
		CHECK(h_wait_converged(r, all, N, 30000),
		      "round %d: no single digest 30 s after healing", round);
		h_log("round %d: healed and converged in %.2f s", round, h_now() - t);
	}

	/* Every contested cell has one value everywhere. */
	for (size_t j = 0; j < ROWS; j++) {
		char first[256], v[256];
		CHECK(h_get_text(r, 0, "organisation", rows[j], "name", first, sizeof(first)) == 0,
		      "get");
		for (size_t i = 1; i < N; i++) {
			CHECK(h_get_text(r, i, "organisation", rows[j], "name", v, sizeof(v)) == 0,
			      "get");
			CHECK(strcmp(v, first) == 0, "row %zu: %s has '%s', node0 '%s'", j,
			      r->nodes[i].name, v, first);
		}
	}
	for (size_t i = 0; i < N; i++)
		CHECK(h_quarantine_count(r, i) == 0, "quarantine on node %zu", i);
	for (size_t i = 0; i < N; i++)
		h_stop(r, i);
	printf("PASS: it_partition (%.1f s)\n", h_now() - r->t0);
	return 0;
}
