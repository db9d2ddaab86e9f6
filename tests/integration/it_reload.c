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
#include "harness.h"

int
main(void)
{
	struct h_region *r = h_region_new("reload", 2, 200, 1000);
	const bool only0[] = {true, false};
	const size_t both[] = {0, 1};
	char row0[37], row1[37], got[256], conf[700], bad[720], cmd[2400];
	double t;

	h_members_write(r, 0, only0, NULL);
	h_start(r, 0);
	h_start(r, 1);
	h_rowid(row0);
	h_rowid(row1);
	CHECK(h_write_text(r, 0, "organisation", row0, "name", "zero") == 0, "write");
	CHECK(h_write_text(r, 1, "organisation", row1, "name", "one") == 0, "write");
	h_sleep_ms(2000);
	CHECK(h_get_text(r, 0, "organisation", row1, "name", got, sizeof(got)) == ARR_ENOTFOUND,
	      "node1's row arrived before node1 was a member");

	/* A broken config: refused, the daemon keeps running with the old one. */
	snprintf(conf, sizeof(conf), "%s", r->nodes[0].conf);
	snprintf(bad, sizeof(bad), "%s.good", conf);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && echo 'no_such_key = 1' >> '%s'", conf, bad,
	         conf);
	CHECK(system(cmd) == 0, "%s", cmd);
	h_signal(r, 0, SIGHUP);
	h_sleep_ms(500);
	CHECK(h_alive(r, 0) && h_status_ok(r, 0), "node0 stopped serving after a bad reload");
	snprintf(cmd, sizeof(cmd), "grep -q 'reload refused' '%s'", r->nodes[0].log);
	CHECK(system(cmd) == 0, "no 'reload refused' line in node0's log");
	snprintf(cmd, sizeof(cmd), "mv '%s' '%s'", bad, conf);
	CHECK(system(cmd) == 0, "%s", cmd);

	/* node1 becomes a member of node0's region. */
	h_members_write(r, 0, NULL, NULL);
	h_signal(r, 0, SIGHUP);
	t = h_now();
	CHECK(h_wait_text(r, 0, "organisation", row1, "name", "one", 10000),
	      "node1's row did not arrive after the reload");
	CHECK(h_wait_converged(r, both, 2, 10000), "no convergence after the reload");
	h_log("converged %.2f s after SIGHUP", h_now() - t);
	CHECK(h_quarantine_count(r, 0) == 0, "quarantine on node0");
	h_stop(r, 0);
	h_stop(r, 1);
	printf("PASS: it_reload (%.1f s)\n", h_now() - r->t0);
	return 0;
}
