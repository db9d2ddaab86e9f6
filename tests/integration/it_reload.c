/*
 * it_reload.c: SIGHUP. node0 starts with a members file that lacks node1, so node1 is
 * refused and nothing flows. An invalid new config is refused on SIGHUP (node0 keeps
 * serving with the old one). Then node1 is added to node0's members file and SIGHUP
 * applies it: the ZAP allow-list, the DEALERs and the store's membership follow, and
 * the two converge. Finally SIGTERM stops both cleanly.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
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
	struct region *r = region_new_test("reload", 2, 200, 1000);
	const bool only0[] = {true, false};
	const size_t both[] = {0, 1};
	char row0[37], row1[37], got[256], conf[700], bad[720], cmd[2400];
	double t;

	region_members(r, 0, only0, NULL);
	region_start(r, 0);
	region_start(r, 1);
	rng_rowid(row0);
	rng_rowid(row1);
	CHECK(apiclient_write_text(region_api(r, 0), "organisation", row0, "name", "zero") == 0,
	      "write");
	CHECK(apiclient_write_text(region_api(r, 1), "organisation", row1, "name", "one") == 0,
	      "write");
	proc_sleep_ms(2000);
	CHECK(apiclient_get_text(region_api(r, 0), "organisation", row1, "name", got,
	                         sizeof(got)) == ARR_ENOTFOUND,
	      "node1's row arrived before node1 was a member");

	/* A broken config: refused, the daemon keeps running with the old one. */
	snprintf(conf, sizeof(conf), "%s", r->nodes[0].conf);
	snprintf(bad, sizeof(bad), "%s.good", conf);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && echo 'no_such_key = 1' >> '%s'", conf, bad,
	         conf);
	CHECK(system(cmd) == 0, "%s", cmd);
	fault_signal(r, 0, SIGHUP);
	proc_sleep_ms(500);
	CHECK(region_alive(r, 0) && apiclient_status_ok(region_api(r, 0)),
	      "node0 stopped serving after a bad reload");
	snprintf(cmd, sizeof(cmd), "grep -q 'reload refused' '%s'", r->nodes[0].log);
	CHECK(system(cmd) == 0, "no 'reload refused' line in node0's log");
	snprintf(cmd, sizeof(cmd), "mv '%s' '%s'", bad, conf);
	CHECK(system(cmd) == 0, "%s", cmd);

	/* node1 becomes a member of node0's region. */
	region_members(r, 0, NULL, NULL);
	fault_signal(r, 0, SIGHUP);
	t = mono_s();
	CHECK(apiclient_wait_text(region_api(r, 0), "organisation", row1, "name", "one", 10000),
	      "node1's row did not arrive after the reload");
	CHECK(region_wait_converged(r, both, 2, 10000), "no convergence after the reload");
	check_log("converged %.2f s after SIGHUP", mono_s() - t);
	CHECK(apiclient_quarantine_count(region_api(r, 0)) == 0, "quarantine on node0");
	region_stop(r, 0);
	region_stop(r, 1);
	printf("PASS: it_reload (%.1f s)\n", check_elapsed());
	return 0;
}
