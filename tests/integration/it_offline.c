/*
 * it_offline.c: integration test 2, offline first. With C stopped, A and B keep
 * writing; C restarts and catches up. Then C writes while A and B are down, and they
 * receive it once they return.
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

#define A 0
#define B 1
#define C 2

int
main(void)
{
	struct region *r = region_new_test("offline", 3, 200, 1000);
	const size_t all[] = {A, B, C}, ab[] = {A, B};
	char rows[20][37], crow[37];
	double t;

	for (size_t i = 0; i < 3; i++)
		region_start(r, i);
	region_stop(r, C);
	for (size_t k = 0; k < 20; k++) {
		char v[32];
		rng_rowid(rows[k]);
		snprintf(v, sizeof(v), "written while C was down %zu", k);
		CHECK(apiclient_write_text(region_api(r, k % 2 ? B : A), "organisation", rows[k],
		                           "name", v) == 0,
		      "write %zu", k);
	}
	CHECK(region_wait_converged(r, ab, 2, 10000), "A and B did not converge");
	check_log("A and B wrote 20 rows with C down");

	region_start(r, C);
	t = mono_s();
	CHECK(region_wait_converged(r, all, 3, 15000), "C did not catch up within 15 s");
	check_log("C caught up in %.2f s", mono_s() - t);
	CHECK(apiclient_wait_text(region_api(r, C), "organisation", rows[19], "name",
	                          "written while C was down 19", 1000),
	      "C lacks the last row");

	region_stop(r, A);
	region_stop(r, B);
	rng_rowid(crow);
	CHECK(apiclient_write_text(region_api(r, C), "organisation", crow, "name",
	                           "written by C alone") == 0,
	      "write on C");
	CHECK(apiclient_write_text(region_api(r, C), "organisation", rows[0], "code", "C-edit") ==
	          0,
	      "edit on C");
	proc_sleep_ms(500);
	region_start(r, A);
	region_start(r, B);
	t = mono_s();
	CHECK(apiclient_wait_text(region_api(r, A), "organisation", crow, "name",
	                          "written by C alone", 15000),
	      "A did not receive C's row");
	CHECK(apiclient_wait_text(region_api(r, B), "organisation", crow, "name",
	                          "written by C alone", 15000),
	      "B did not receive C's row");
	CHECK(region_wait_converged(r, all, 3, 15000), "digests differ after A and B returned");
	check_log("A and B received C's writes in %.2f s", mono_s() - t);
	for (size_t i = 0; i < 3; i++)
		CHECK(apiclient_quarantine_count(region_api(r, i)) == 0, "quarantine on node %zu",
		      i);
	for (size_t i = 0; i < 3; i++)
		region_stop(r, i);
	printf("PASS: it_offline (%.1f s)\n", check_elapsed());
	return 0;
}
