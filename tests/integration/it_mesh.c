/*
 * it_mesh.c: integration test 1: three nodes in full mesh each write; all digests
 * become equal within seconds, and every node has every row.
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

int
main(void)
{
	struct region *r = region_new_test("mesh", 3, 200, 2000);
	const size_t all[] = {0, 1, 2};
	char rows[3][37];
	double t;

	for (size_t i = 0; i < 3; i++)
		region_start(r, i);
	for (size_t i = 0; i < 3; i++) {
		char name[64];
		rng_rowid(rows[i]);
		snprintf(name, sizeof(name), "School of %s", r->nodes[i].name);
		CHECK(apiclient_write_text(region_api(r, i), "organisation", rows[i], "name",
		                           name) == 0,
		      "write on %s", r->nodes[i].name);
	}
	t = mono_s();
	CHECK(region_wait_converged(r, all, 3, 10000), "digests differ after 10 s");
	check_log("digests equal after %.2f s", mono_s() - t);
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++) {
			char want[64], got[256];
			snprintf(want, sizeof(want), "School of %s", r->nodes[j].name);
			CHECK(apiclient_get_text(region_api(r, i), "organisation", rows[j], "name",
			                         got, sizeof(got)) == 0,
			      "%s lacks the row of %s", r->nodes[i].name, r->nodes[j].name);
			CHECK(strcmp(got, want) == 0, "value");
		}
	/* A second round of writes on all three at once. */
	for (size_t i = 0; i < 3; i++)
		CHECK(apiclient_write_text(region_api(r, i), "organisation", rows[(i + 1) % 3],
		                           "code", "X") == 0,
		      "write");
	CHECK(region_wait_converged(r, all, 3, 10000), "digests differ after the second round");
	for (size_t i = 0; i < 3; i++)
		CHECK(apiclient_quarantine_count(region_api(r, i)) == 0, "quarantine on %s",
		      r->nodes[i].name);
	for (size_t i = 0; i < 3; i++)
		region_stop(r, i);
	printf("PASS: it_mesh (%.1f s)\n", check_elapsed());
	return 0;
}
