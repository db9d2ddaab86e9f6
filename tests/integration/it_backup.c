/*
 * it_backup.c: backup and restore in a two-node region. A writes, takes a backup, writes
 * again (B receives it), and is then restored from the backup: alone, it holds the
 * backup's contents and refuses local writes (it cannot know whether the region holds
 * newer change sets of its own); once B is back, A pulls its own newer change set from
 * B, and only then writes again, with the next seq, so nothing is quarantined anywhere.
 * Before the hold, A's first write after the restore reused the seq of its lost write
 * and both replicas quarantined the other's version.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrerr.h"
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

/* Node i's local_seq from "status", or -1. */
static long long
local_seq(struct region *r, size_t i)
{
	struct reply rp;
	const msgpack_object *o, *v;
	long long seq = -1;

	if (region_call0(r, i, "status", &rp, &o) == 0 && (v = obj_get(o, "local_seq")) != NULL &&
	    v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		seq = (long long)v->via.u64;
	reply_free(&rp);
	return seq;
}

/* Copy file from to to (replacing it). */
static void
copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = NULL;
	char buf[65536];
	size_t n;

	CHECK(in != NULL, "open %s: %s", from, strerror(errno));
	CHECK((out = fopen(to, "wb")) != NULL, "create %s: %s", to, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		CHECK(fwrite(buf, 1, n, out) == n, "write %s", to);
	CHECK(!ferror(in), "read %s", from);
	fclose(in);
	CHECK(fclose(out) == 0, "close %s", to);
}

/* A writes row1, takes a backup to path, writes row2; B receives both. */
static void
write_and_back_up(struct region *r, const char *path, const char *row1, const char *row2,
                  char dig_backup[65])
{
	struct reply rp;
	const msgpack_object *o, *bytes;
	struct stat sb;
	struct req rq;
	int rc;

	CHECK(apiclient_write_text(region_api(r, A), "organisation", row1, "name",
	                           "before the backup") == 0,
	      "write 1");
	CHECK(apiclient_wait_text(region_api(r, B), "organisation", row1, "name",
	                          "before the backup", 10000),
	      "B did not receive row 1");
	req_begin(&rq, "backup", 1);
	req_str(&rq, "path");
	req_str(&rq, path);
	rc = region_call(r, A, &rq, &rp, &o);
	req_free(&rq);
	CHECK(rc == 0, "backup: %s", arrerr_name(rc));
	CHECK(stat(path, &sb) == 0 && sb.st_size > 0, "no backup file");
	bytes = obj_get(o, "bytes");
	CHECK(bytes != NULL && bytes->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	          bytes->via.u64 == (uint64_t)sb.st_size,
	      "backup reply: bytes does not match the file's size");
	reply_free(&rp);
	CHECK(apiclient_digest(region_api(r, A), dig_backup) == 0, "digest at backup time");
	CHECK(local_seq(r, A) == 1, "A's seq at backup time");

	CHECK(apiclient_write_text(region_api(r, A), "organisation", row2, "name",
	                           "after the backup") == 0,
	      "write 2");
	CHECK(apiclient_wait_text(region_api(r, B), "organisation", row2, "name",
	                          "after the backup", 10000),
	      "B did not receive row 2");
	check_log("A wrote seq 1, backup, seq 2; B has both");
}

/* Restore A from path while B is down: stop, replace the database, remove the WAL, start. */
static void
restore_alone(struct region *r, const char *path, const char *row2, const char *row3,
              const char *dig_backup)
{
	char db[700], side[720], dig[65], text[64];
	int rc;

	snprintf(db, sizeof(db), "%s/data/arrangd.db", r->nodes[A].dir);
	region_stop(r, A);
	region_stop(r, B);
	copy_file(path, db);
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
	region_start(r, A);
	CHECK(apiclient_digest(region_api(r, A), dig) == 0 && strcmp(dig, dig_backup) == 0,
	      "restored digest differs from the backup-time digest");
	CHECK(apiclient_get_text(region_api(r, A), "organisation", row2, "name", text,
	                         sizeof(text)) == ARR_ENOTFOUND,
	      "row 2 present after the restore");
	CHECK(local_seq(r, A) == 1, "A's seq after the restore");
	rc = apiclient_write_text(region_api(r, A), "organisation", row3, "name",
	                          "after the restore");
	CHECK(rc == ARR_ESTATE, "a restored node wrote before hearing from a peer: %s",
	      arrerr_name(rc));
	check_log("restored A holds the backup's contents and holds writes");
}

/* B returns: A pulls its own seq 2 back, then writes seq 3. */
static void
rejoin(struct region *r, const char *row2, const char *row3)
{
	const size_t both[] = {A, B};
	int rc = ARR_ESTATE;

	region_start(r, B);
	CHECK(apiclient_wait_text(region_api(r, A), "organisation", row2, "name",
	                          "after the backup", 15000),
	      "A did not pull its own change set back from B");
	for (int k = 0; k < 50; k++) {
		if ((rc = apiclient_write_text(region_api(r, A), "organisation", row3, "name",
		                               "after the restore")) != ARR_ESTATE)
			break;
		proc_sleep_ms(100);
	}
	CHECK(rc == 0, "write after the pull: %s", arrerr_name(rc));
	CHECK(local_seq(r, A) == 3, "A's write after the restore is not seq 3 (%lld)",
	      local_seq(r, A));
	CHECK(apiclient_wait_text(region_api(r, B), "organisation", row3, "name",
	                          "after the restore", 10000),
	      "B did not receive A's write after the restore");
	CHECK(region_wait_converged(r, both, 2, 10000), "A and B did not converge");
	CHECK(apiclient_quarantine_count(region_api(r, A)) == 0, "quarantine on A");
	CHECK(apiclient_quarantine_count(region_api(r, B)) == 0, "quarantine on B");
	check_log("A pulled seq 2 back, wrote seq 3; converged, nothing quarantined");
}

int
main(void)
{
	struct region *r = region_new_test("backup", 2, 200, 1000);
	char row1[37], row2[37], row3[37], backup[700], dig_backup[65];

	rng_rowid(row1);
	rng_rowid(row2);
	rng_rowid(row3);
	snprintf(backup, sizeof(backup), "%s/backup.db", r->nodes[A].dir);
	region_start(r, A);
	region_start(r, B);
	write_and_back_up(r, backup, row1, row2, dig_backup);
	restore_alone(r, backup, row2, row3, dig_backup);
	rejoin(r, row2, row3);

	/* The hold is over for good: after a restart A writes at once, B down or not. */
	region_stop(r, B);
	region_stop(r, A);
	region_start(r, A);
	CHECK(apiclient_write_text(region_api(r, A), "organisation", row1, "code", "R1") == 0,
	      "A held writes again after a restart");
	region_stop(r, A);
	printf("PASS: it_backup (%.1f s)\n", check_elapsed());
	return 0;
}
