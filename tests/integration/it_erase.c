/*
 * it_erase.c: erasure end to end (PROTOCOL.md, "Erasure"). Three nodes, every one a
 * party (grant_on_create = all). node0 writes an arrangement whose summary holds a
 * canary (a unique string); it reaches node1 and node2; node2 takes a backup. Then:
 *
 *  1. node0, the owner, erases it (`scope.erase`; node1 may not: ARR_EFORBIDDEN):
 *     every node answers ARR_ENOTFOUND and the log digests converge, from the stubs.
 *  2. Backups taken after the erasure, and every file under every node's data
 *     directory (database, -wal, -shm, backups made after) hold no byte of the canary
 *     once the daemons have stopped, and no daemon's stderr ever held it; before the
 *     erasure the scan found it on node0 (the scan finds what is there).
 *  3. node2's backup from before the erasure, restored over its replica and started
 *     while it is the only node up: the erasure ledger erases the scope again at open,
 *     so the arrangement is not served, and its files hold no canary afterwards.
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apiclient.h"
#include "arrerr.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "req.h"
#include "rng.h"
#include "scan.h"

#define N 3

/* node i's log digest into log ("" when it does not answer). */
static void
log_digest(struct region *r, size_t i, char log[65])
{
	struct reply rp;
	const msgpack_object *o;

	log[0] = '\0';
	if (region_call0(r, i, "digest", &rp, &o) == 0)
		obj_strcpy(obj_get(o, "log"), log, 65);
	reply_free(&rp);
}

/* Until every node has the same log digest and none serves arrangement arr. */
static bool
wait_erased(struct region *r, const char *arr, int timeout_ms)
{
	double until = mono_s() + timeout_ms / 1000.0;

	do {
		char l[N][65], v[128];
		bool gone = true;

		for (size_t i = 0; i < N; i++) {
			log_digest(r, i, l[i]);
			gone &= apiclient_get_text(region_api(r, i), "arrangement", arr, "summary",
			                           v, sizeof(v)) == ARR_ENOTFOUND;
		}
		if (gone && l[0][0] != '\0' && strcmp(l[0], l[1]) == 0 && strcmp(l[1], l[2]) == 0)
			return true;
		proc_sleep_ms(100);
	} while (mono_s() < until);
	return false;
}

/* No file of any node's data directory and no daemon log holds canary. */
static void
nothing_left(struct region *r, const char *canary, const char *when)
{
	for (size_t i = 0; i < N; i++) {
		char path[700];
		int seen = 0;

		snprintf(path, sizeof(path), "%s/data", r->nodes[i].dir);
		CHECK(scan_dir_holds(path, canary, &seen) == 0,
		      "%s: the canary is in node%zu's data", when, i);
		CHECK(seen >= 2, "%s: only %d files under node%zu's data directory", when, seen, i);
		CHECK(!scan_file_holds(r->nodes[i].log, canary),
		      "%s: the canary is in node%zu's log", when, i);
	}
}

/* Replace node i's replica by the backup at from (its -wal and -shm removed). */
static void
restore(struct region *r, size_t i, const char *from)
{
	char db[700], side[720];

	region_db_path(r, i, db, sizeof(db));
	snprintf(side, sizeof(side), "%s-wal", db);
	(void)unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	(void)unlink(side);
	CHECK(rename(from, db) == 0, "restore the backup over node%zu's replica", i);
}

int
main(void)
{
	struct region *r;
	char arr[37], child[37], canary[64], v[256], msg[300], path[700], pre[700];
	int seen = 0;

	rng_init();
	r = region_new(&(struct region_opts){.tag = "erase",
	                                     .sync_conf = "heartbeat_ms = 200\n"
	                                                  "pull_interval_ms = 1000\n",
	                                     .verbose = true,
	                                     .debug = true,
	                                     .start_s = 30,
	                                     .stop_s = 15},
	               N);
	for (size_t i = 0; i < N; i++)
		region_start(r, i);
	snprintf(canary, sizeof(canary), "canary%016llx",
	         (unsigned long long)rng_range(0, UINT32_MAX) << 20 ^ rng_range(0, UINT32_MAX));
	CHECK(region_write_case(r, 0, arr, child, canary) == 0, "write on node0");
	for (size_t i = 1; i < N; i++)
		CHECK(apiclient_wait_text(region_api(r, i), "arrangement", arr, "summary", canary,
		                          20000),
		      "node%zu does not read the arrangement", i);
	/* kept outside the data directory: a backup from before holds the canary */
	snprintf(pre, sizeof(pre), "%s/before-erasure.db", r->nodes[2].dir);
	CHECK(region_call_str(r, 2, "backup", (const char *const[]){"path", pre}, 2, msg,
	                      sizeof(msg)) == 0,
	      "backup on node2: %s", msg);
	snprintf(path, sizeof(path), "%s/data", r->nodes[0].dir);
	CHECK(scan_dir_holds(path, canary, &seen) > 0,
	      "the scan does not find the canary on node0");

	/* 1. only the owner erases; then nobody serves it, and the logs converge */
	CHECK(region_call_str(r, 1, "scope.erase",
	                      (const char *const[]){"scope", arr, "confirm", "yes"}, 4, msg,
	                      sizeof(msg)) == ARR_EFORBIDDEN,
	      "node1, not the owner, erased: %s", msg);
	CHECK(region_call_str(r, 0, "scope.erase", (const char *const[]){"scope", arr}, 2, msg,
	                      sizeof(msg)) == ARR_EINVAL,
	      "erased without confirmation");
	CHECK(region_call_str(r, 0, "scope.erase",
	                      (const char *const[]){"scope", arr, "confirm", "yes"}, 4, msg,
	                      sizeof(msg)) == 0,
	      "erase on node0: %s", msg);
	CHECK(wait_erased(r, arr, 20000), "the erasure did not reach every node");
	check_log("erased on node0; no node serves it, log digests equal");

	/* 2. backups after, every file, every log: no canary */
	for (size_t i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "%s/data/after-erasure.db", r->nodes[i].dir);
		CHECK(region_call_str(r, i, "backup", (const char *const[]){"path", path}, 2, msg,
		                      sizeof(msg)) == 0,
		      "backup on node%zu: %s", i, msg);
	}
	for (size_t i = 0; i < N; i++)
		region_stop(r, i);
	nothing_left(r, canary, "after the erasure");
	CHECK(scan_file_holds(pre, canary), "the backup from before does not hold the canary");
	/* 3. that backup restored, node2 alone: the ledger erases it again before serving */
	restore(r, 2, pre);
	region_start(r, 2);
	CHECK(apiclient_get_text(region_api(r, 2), "arrangement", arr, "summary", v, sizeof(v)) ==
	          ARR_ENOTFOUND,
	      "the restored node2 serves the erased arrangement");
	region_stop(r, 2);
	nothing_left(r, canary, "after the restore");
	check_log("the restored backup, alone, did not serve it; no canary in any file or log");
	region_destroy(&r);
	return 0;
}
