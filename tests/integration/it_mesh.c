/*
 * it_mesh.c: integration test 1: three nodes in full mesh each write; all digests
 * become equal within seconds, and every node has every row.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"

int
main(void)
{
	struct h_region *r = h_region_new("mesh", 3, 200, 2000);
	const size_t all[] = {0, 1, 2};
	char rows[3][37];
	double t;

	for (size_t i = 0; i < 3; i++)
		h_start(r, i);
	for (size_t i = 0; i < 3; i++) {
		char name[64];
		h_rowid(rows[i]);
		snprintf(name, sizeof(name), "School of %s", r->nodes[i].name);
		CHECK(h_write_text(r, i, "organisation", rows[i], "name", name) == 0, "write on %s",
		      r->nodes[i].name);
	}
	t = h_now();
	CHECK(h_wait_converged(r, all, 3, 10000), "digests differ after 10 s");
	h_log("digests equal after %.2f s", h_now() - t);
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++) {
			char want[64], got[256];
			snprintf(want, sizeof(want), "School of %s", r->nodes[j].name);
			CHECK(h_get_text(r, i, "organisation", rows[j], "name", got, sizeof(got)) ==
			          0,
			      "%s lacks the row of %s", r->nodes[i].name, r->nodes[j].name);
			CHECK(strcmp(got, want) == 0, "value");
		}
	/* A second round of writes on all three at once. */
	for (size_t i = 0; i < 3; i++)
		CHECK(h_write_text(r, i, "organisation", rows[(i + 1) % 3], "code", "X") == 0,
		      "write");
	CHECK(h_wait_converged(r, all, 3, 10000), "digests differ after the second round");
	for (size_t i = 0; i < 3; i++)
		CHECK(h_quarantine_count(r, i) == 0, "quarantine on %s", r->nodes[i].name);
	for (size_t i = 0; i < 3; i++)
		h_stop(r, i);
	printf("PASS: it_mesh (%.1f s)\n", h_now() - r->t0);
	return 0;
}
