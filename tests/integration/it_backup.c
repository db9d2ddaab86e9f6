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
#include "harness.h"

#define A 0
#define B 1

static void
pack_path(msgpack_packer *pk, void *ctx)
{
	const char *path = ctx;

	msgpack_pack_map(pk, 1);
	msgpack_pack_str(pk, 4);
	msgpack_pack_str_body(pk, "path", 4);
	msgpack_pack_str(pk, strlen(path));
	msgpack_pack_str_body(pk, path, strlen(path));
}

/* Node i's local_seq from "status", or -1. */
static long long
local_seq(struct h_region *r, size_t i)
{
	msgpack_unpacked res;
	const msgpack_object *o, *v;
	long long seq = -1;

	if (h_call(r, i, "status", NULL, NULL, &res, &o) == 0 &&
	    (v = h_map_get(o, "local_seq")) != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		seq = (long long)v->via.u64;
	msgpack_unpacked_destroy(&res);
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

int
main(void)
{
	struct h_region *r = h_region_new("backup", 2, 200, 1000);
	const size_t both[] = {A, B};
	char row1[37], row2[37], row3[37], backup[700], db[700], side[720];
	char dig_backup[65], dig[65], text[64];
	msgpack_unpacked res;
	const msgpack_object *o, *bytes;
	struct stat sb;
	int rc;

	h_rowid(row1);
	h_rowid(row2);
	h_rowid(row3);
	snprintf(backup, sizeof(backup), "%s/backup.db", r->nodes[A].dir);
	snprintf(db, sizeof(db), "%s/data/arrangd.db", r->nodes[A].dir);
	h_start(r, A);
	h_start(r, B);

	CHECK(h_write_text(r, A, "organisation", row1, "name", "before the backup") == 0,
	      "write 1");
	CHECK(h_wait_text(r, B, "organisation", row1, "name", "before the backup", 10000),
	      "B did not receive row 1");
	rc = h_call(r, A, "backup", pack_path, backup, &res, &o);
	CHECK(rc == 0, "backup: %s", arrerr_name(rc));
	CHECK(stat(backup, &sb) == 0 && sb.st_size > 0, "no backup file");
	bytes = h_map_get(o, "bytes");
	CHECK(bytes != NULL && bytes->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	          bytes->via.u64 == (uint64_t)sb.st_size,
	      "backup reply: bytes does not match the file's size");
	msgpack_unpacked_destroy(&res);
	CHECK(h_digest(r, A, dig_backup) == 0, "digest at backup time");
	CHECK(local_seq(r, A) == 1, "A's seq at backup time");

	CHECK(h_write_text(r, A, "organisation", row2, "name", "after the backup") == 0, "write 2");
	CHECK(h_wait_text(r, B, "organisation", row2, "name", "after the backup", 10000),
	      "B did not receive row 2");
	h_log("A wrote seq 1, backup, seq 2; B has both");

	/* Restore A while B is down: stop, replace the database, remove the WAL, start. */
	h_stop(r, A);
	h_stop(r, B);
	copy_file(backup, db);
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
	h_start(r, A);
	CHECK(h_digest(r, A, dig) == 0 && strcmp(dig, dig_backup) == 0,
	      "restored digest differs from the backup-time digest");
	CHECK(h_get_text(r, A, "organisation", row2, "name", text, sizeof(text)) == ARR_ENOTFOUND,
	      "row 2 present after the restore");
	CHECK(local_seq(r, A) == 1, "A's seq after the restore");
	rc = h_write_text(r, A, "organisation", row3, "name", "after the restore");
	CHECK(rc == ARR_ESTATE, "a restored node wrote before hearing from a peer: %s",
	      arrerr_name(rc));
	h_log("restored A holds the backup's contents and holds writes");

	/* B returns: A pulls its own seq 2 back, then writes seq 3. */
	h_start(r, B);
	CHECK(h_wait_text(r, A, "organisation", row2, "name", "after the backup", 15000),
	      "A did not pull its own change set back from B");
	for (int k = 0; k < 50; k++) {
		if ((rc = h_write_text(r, A, "organisation", row3, "name", "after the restore")) !=
		    ARR_ESTATE)
			break;
		h_sleep_ms(100);
	}
	CHECK(rc == 0, "write after the pull: %s", arrerr_name(rc));
	CHECK(local_seq(r, A) == 3, "A's write after the restore is not seq 3 (%lld)",
	      local_seq(r, A));
	CHECK(h_wait_text(r, B, "organisation", row3, "name", "after the restore", 10000),
	      "B did not receive A's write after the restore");
	CHECK(h_wait_converged(r, both, 2, 10000), "A and B did not converge");
	CHECK(h_quarantine_count(r, A) == 0, "quarantine on A");
	CHECK(h_quarantine_count(r, B) == 0, "quarantine on B");
	h_log("A pulled seq 2 back, wrote seq 3; converged, nothing quarantined");

	/* The hold is over for good: after a restart A writes at once, B down or not. */
	h_stop(r, B);
	h_stop(r, A);
	h_start(r, A);
	CHECK(h_write_text(r, A, "organisation", row1, "code", "R1") == 0,
	      "A held writes again after a restart");
	h_stop(r, A);
	printf("PASS: it_backup (%.1f s)\n", h_now() - r->t0);
	return 0;
}
