/*
 * it_offline.c: integration test 2, offline first. With C stopped, A and B keep
 * writing; C restarts and catches up. Then C writes while A and B are down, and they
 * receive it once they return.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define A 0
#define B 1
#define C 2

int
main(void)
{
	struct h_region *r = h_region_new("offline", 3, 200, 1000);
	const size_t all[] = {A, B, C}, ab[] = {A, B};
	char rows[20][37], crow[37];
	double t;

	for (size_t i = 0; i < 3; i++)
		h_start(r, i);
	h_stop(r, C);
	for (size_t k = 0; k < 20; k++) {
		char v[32];
		h_rowid(rows[k]);
		snprintf(v, sizeof(v), "written while C was down %zu", k);
		CHECK(h_write_text(r, k % 2 ? B : A, "organisation", rows[k], "name", v) == 0,
		      "write %zu", k);
	}
	CHECK(h_wait_converged(r, ab, 2, 10000), "A and B did not converge");
	h_log("A and B wrote 20 rows with C down");

	h_start(r, C);
	t = h_now();
	CHECK(h_wait_converged(r, all, 3, 15000), "C did not catch up within 15 s");
	h_log("C caught up in %.2f s", h_now() - t);
	CHECK(h_wait_text(r, C, "organisation", rows[19], "name", "written while C was down 19",
	                  1000),
	      "C lacks the last row");

	h_stop(r, A);
	h_stop(r, B);
	h_rowid(crow);
	CHECK(h_write_text(r, C, "organisation", crow, "name", "written by C alone") == 0,
	      "write on C");
	CHECK(h_write_text(r, C, "organisation", rows[0], "code", "C-edit") == 0, "edit on C");
	h_sleep_ms(500);
	h_start(r, A);
	h_start(r, B);
	t = h_now();
	CHECK(h_wait_text(r, A, "organisation", crow, "name", "written by C alone", 15000),
	      "A did not receive C's row");
	CHECK(h_wait_text(r, B, "organisation", crow, "name", "written by C alone", 15000),
	      "B did not receive C's row");
	CHECK(h_wait_converged(r, all, 3, 15000), "digests differ after A and B returned");
	h_log("A and B received C's writes in %.2f s", h_now() - t);
	for (size_t i = 0; i < 3; i++)
		CHECK(h_quarantine_count(r, i) == 0, "quarantine on node %zu", i);
	for (size_t i = 0; i < 3; i++)
		h_stop(r, i);
	printf("PASS: it_offline (%.1f s)\n", h_now() - r->t0);
	return 0;
}
