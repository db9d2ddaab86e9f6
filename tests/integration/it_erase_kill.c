/*
 * it_erase_kill.c: SIGKILL in the middle of an erasure (PROTOCOL.md, "Erasure", the
 * erasure ledger). Two nodes of arrangd_next, the test build whose seam
 * ARRANGD_TEST_ERASE_KILL makes the daemon kill itself inside the erasure's
 * transaction, after the ledger line and every delete, before the commit. node0 writes
 * an arrangement with a canary, node1 reads it; node0, restarted with the seam, is
 * asked to erase it and dies of SIGKILL. Restarted plainly, node0 serves nothing of it
 * from its first answer (the ledger is replayed at open), issues the ERASE the crash
 * lost so that node1 erases it too, and no file under either data directory nor any
 * log holds the canary afterwards.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "apiclient.h"
#include "arrerr.h"
#include "check.h"
#include "monoclock.h"
#include "proc.h"
#include "region.h"
#include "req.h"
#include "rng.h"
#include "scan.h"

#define N 2

/* Until node i answers ARR_ENOTFOUND for arrangement arr; true if within timeout_ms. */
static bool
wait_gone(struct region *r, size_t i, const char *arr, int timeout_ms)
{
	double until = mono_s() + timeout_ms / 1000.0;
	char v[128];

	do {
		if (apiclient_get_text(region_api(r, i), "arrangement", arr, "summary", v,
		                       sizeof(v)) == ARR_ENOTFOUND)
			return true;
		proc_sleep_ms(100);
	} while (mono_s() < until);
	return false;
}

int
main(void)
{
	static const char *const seam[] = {"ARRANGD_TEST_ERASE_KILL=1", NULL};
	struct region *r;
	char arr[37], child[37], canary[64], v[128], path[700];
	int status = 0, seen = 0;

	rng_init();
	r = region_new(&(struct region_opts){.tag = "erasekill",
	                                     .bin = ARRANGD_NEXT_BIN,
	                                     .sync_conf = "heartbeat_ms = 200\n"
	                                                  "pull_interval_ms = 1000\n",
	                                     .verbose = true,
	                                     .start_s = 30,
	                                     .stop_s = 15},
	               N);
	region_start_opts(r, 0, &(struct region_start_opts){.env = seam});
	region_start(r, 1);
	snprintf(canary, sizeof(canary), "canary%016llx",
	         (unsigned long long)rng_range(0, UINT32_MAX) << 20 ^ rng_range(0, UINT32_MAX));
	CHECK(region_write_case(r, 0, arr, child, canary) == 0, "write on node0");
	CHECK(apiclient_wait_text(region_api(r, 1), "arrangement", arr, "summary", canary, 20000),
	      "node1 does not read the arrangement");

	/* the erasure dies before its commit */
	(void)region_call_str(r, 0, "scope.erase",
	                      (const char *const[]){"scope", arr, "confirm", "yes"}, 4, NULL, 0);
	for (double until = mono_s() + 10; !region_exited(r, 0, &status) && mono_s() < until;)
		proc_sleep_ms(50);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "node0 did not die of SIGKILL in the erasure");
	region_forget(r, 0);
	check_log("node0 killed inside the erasure's transaction");

	/* restarted: nothing of it served from the first answer, and the ERASE goes out */
	region_start(r, 0);
	CHECK(apiclient_get_text(region_api(r, 0), "arrangement", arr, "summary", v, sizeof(v)) ==
	          ARR_ENOTFOUND,
	      "node0 serves the arrangement after the restart");
	CHECK(wait_gone(r, 1, arr, 20000), "the ERASE the crash lost did not reach node1");
	for (size_t i = 0; i < N; i++)
		region_stop(r, i);
	for (size_t i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "%s/data", r->nodes[i].dir);
		CHECK(scan_dir_holds(path, canary, &seen) == 0, "the canary is in node%zu's data",
		      i);
		CHECK(!scan_file_holds(r->nodes[i].log, canary), "the canary is in node%zu's log",
		      i);
	}
	check_log("erasure completed after the kill; no canary in %d files or the logs", seen);
	region_destroy(&r);
	return 0;
}
