/*
 * chaos_diskfull.c: part 5 of the fault suite, the disk-full case of the adversarial
 * matrix. node0's data_dir is a 2 MiB tmpfs (mount -t tmpfs -o size=2m); node1 is an
 * ordinary peer. The test fills the tmpfs with a filler file (leaving nothing, or a random
 * few hundred KiB, free) and keeps writing:
 *
 *  - a write that does not fit fails with ARR_EFULL (a clear error, not a generic
 *    database error), and nothing half-written remains;
 *  - meanwhile node0 keeps serving reads (status, get, list, query, digest) and stays
 *    up while node1 pushes change sets it cannot store;
 *  - once the filler is removed, writes work again, node1's change sets arrive by pull,
 *    both converge, and after a clean restart every acknowledged write is there and the
 *    replica passes integrity_check.
 *
 * Mounting needs root (CAP_SYS_ADMIN); without it the part is skipped with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrerr.h"
#include "chaos.h"

static struct region *region;
static char mnt[700];
static bool mounted;

static void
unmount_at_exit(void)
{
	if (!mounted)
		return;
	/* a daemon still running (a failed check) keeps the mount busy */
	for (size_t i = 0; region != NULL && i < region->n; i++)
		fault_kill(region, i, NULL);
	if (umount2(mnt, MNT_DETACH) != 0)
		fprintf(stderr, "warning: cannot unmount %s: %s\n", mnt, strerror(errno));
	mounted = false;
}

/* Move node0's data_dir onto a fresh tmpfs of size bytes. False when mount is refused. */
static bool
data_on_tmpfs(struct region *r, const char *size, char *why, size_t whylen)
{
	char keep[800], cmd[2600], opts[64];

	snprintf(mnt, sizeof(mnt), "%s/data", r->nodes[0].dir);
	snprintf(keep, sizeof(keep), "%s/data.keep", r->nodes[0].dir);
	CHECK(rename(mnt, keep) == 0 && mkdir(mnt, 0700) == 0, "move %s: %s", mnt, strerror(errno));
	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0) {
		snprintf(why, whylen, "mount -t tmpfs -o %s: %s", opts, strerror(errno));
		CHECK(rmdir(mnt) == 0 && rename(keep, mnt) == 0, "restore %s", mnt);
		return false;
	}
	mounted = true;
	atexit(unmount_at_exit);
	snprintf(cmd, sizeof(cmd), "cp -a '%s'/. '%s'/ && rm -rf '%s'", keep, mnt, keep);
	CHECK(system(cmd) == 0, "copy the data directory onto the tmpfs");
	return true;
}

/* Fill the file system holding dir: write a filler file until ENOSPC. Bytes written. */
static size_t
fill(const char *path)
{
	static char block[16384];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t total = 0;
	ssize_t w;

	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	memset(block, 0xa5, sizeof(block));
	for (size_t bs = sizeof(block); bs >= 1; bs /= 2)
		while ((w = write(fd, block, bs)) > 0)
			total += (size_t)w;
	CHECK(errno == ENOSPC, "filling stopped with %s, not ENOSPC", strerror(errno));
	close(fd);
	return total;
}

/* The run's acknowledged rows (chaos_acked()). */
static struct chaos_acked *acked;

/* One write of rows rows on node i; acknowledged rows are recorded. The API's code. */
static int
write_rows(struct region *r, struct chaos_tally *t, size_t i, size_t rows, const char *tag)
{
	char(*ids)[37] = acked->ids + acked->n;
	char(*vals)[40] = acked->vals + acked->n;
	struct req rq;
	struct reply rp;
	int code;

	CHECK(acked->n + rows <= CHAOS_MAX_ACKED, "too many rows");
	for (size_t k = 0; k < rows; k++) {
		rng_rowid(ids[k]);
		snprintf(vals[k], sizeof(vals[k]), "%s %zu %zu", tag, acked->n, k);
	}
	chaos_pack_rows(ids, vals, rows, "diskfull-padding-padding-padding-padding", &rq);
	code = region_call_raw(r, i, rq.sb.data, rq.sb.size, &rp, NULL, 20000);
	reply_free(&rp);
	req_free(&rq);
	CHECK(code != APICLIENT_ENOREPLY, "no reply to a write within 20 s");
	if (code == 0) {
		acked->n += rows;
		t->acked += rows;
	}
	return code;
}

/* Reads that must keep working while the disk is full. */
static bool
reads_work(struct region *r)
{
	char v[64], d[65];
	struct reply rp;
	const msgpack_object *o;
	int rc_list, rc_query;
	static const uint8_t list[] = "\x92\xa4list\x82\xa5table\xacorganisation\xa5limit\x05";
	static const uint8_t query[] = "\x92\xa5query\x81\xa3sql\xd9\x21"
	                               "SELECT count(*) FROM organisation";

	rc_list = region_call_raw(r, 0, list, sizeof(list) - 1, &rp, &o, 5000);
	reply_free(&rp);
	rc_query = region_call_raw(r, 0, query, sizeof(query) - 1, &rp, &o, 5000);
	reply_free(&rp);
	return apiclient_status_ok(region_api(r, 0)) &&
	       apiclient_digest(region_api(r, 0), d) == 0 &&
	       apiclient_get_text(region_api(r, 0), "organisation", acked->ids[0], "name", v,
	                          sizeof(v)) == 0 &&
	       strcmp(v, acked->vals[0]) == 0 && rc_list == 0 && rc_query == 0;
}

int
main(void)
{
	struct chaos_tally *t = chaos_begin("diskfull", 2, 6);
	struct region *r = region_new_test("diskfull", 2, 200, 1000);
	const size_t all[] = {0, 1};
	char why[300], filler[800];
	unsigned rounds = chaos_iterations(), mib = 2;

	region = r;
	acked = chaos_acked();
	if (!data_on_tmpfs(r, "2m", why, sizeof(why))) {
		printf("SKIP: disk full not tested: %s (needs root)\n", why);
		return chaos_end();
	}
	check_log("node0's data_dir is a 2 MiB tmpfs: %s", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	region_start(r, 0);
	region_start(r, 1);
	CHECK(write_rows(r, t, 0, 20, "baseline") == 0, "baseline write");
	CHECK(chaos_converge(r, all, 2, 15000), "baseline did not converge");

	for (unsigned round = 1; round <= rounds; round++) {
		size_t filled = fill(filler), before = acked->n, tries = 0;
		/* the first round starts at zero bytes free; later ones leave some headroom, so
		 * the disk fills up in the middle of a transaction */
		size_t headroom = round == 1 ? 0 : rng_range(16384, 393216);
		int code = 0;
		char tag[32];

		CHECK(truncate(filler, (off_t)(filled - (headroom < filled ? headroom : 0))) == 0,
		      "truncate");
		check_log("== round %u/%u: tmpfs filled (%zu bytes of filler, %zu bytes left free)",
		          round, rounds, filled - headroom, headroom);
		t->faults++;
		snprintf(tag, sizeof(tag), "full-r%u", round);
		while (tries++ < 200 && (code = write_rows(r, t, 0, 40, tag)) == 0)
			;
		check_log("after %zu more acknowledged rows, a write failed: %s", acked->n - before,
		          code == 0 ? "none did" : arrerr_name(code));
		CHECK(code == ARR_EFULL, "a write on a full disk gave %s, not ARR_EFULL",
		      arrerr_name(code));
		t->checks++;
		/* the peer pushes what node0 cannot store now */
		CHECK(write_rows(r, t, 1, 40, "peer-while-full") == 0, "write on node1");
		proc_sleep_ms(1000);
		/*
		 * Still full: a write fails with ARR_EFULL, or succeeds (and counts as
		 * acknowledged) when SQLite found room in space it already holds, e.g. a WAL
		 * that a checkpoint let it rewrite from the start. Nothing else is right.
		 */
		code = write_rows(r, t, 0, 40, tag);
		CHECK(code == ARR_EFULL || code == 0, "second write while full gave %s",
		      arrerr_name(code));
		check_log("a second write while full: %s",
		          code == 0 ? "acknowledged" : "ARR_EFULL");
		CHECK(region_alive(r, 0) && reads_work(r),
		      "node0 stopped serving reads on a full disk");
		check_log(
		    "full: writes fail with ARR_EFULL; status, get, list, query and digest work");
		t->checks++;

		CHECK(unlink(filler) == 0, "rm filler");
		/*
		 * Over many rounds the replica and its WAL (checkpointed at 1000 pages, never
		 * truncated) take most of the 2 MiB; when the filler was small, the admin
		 * also grows the file system, as one would.
		 */
		if (filled - headroom < 512 * 1024) {
			char opts[64];
			mib += 2;
			snprintf(opts, sizeof(opts), "size=%um,mode=0700", mib);
			CHECK(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, opts) == 0, "remount %s: %s",
			      opts, strerror(errno));
			check_log("the replica fills the tmpfs: grown to %u MiB", mib);
		}
		CHECK(write_rows(r, t, 0, 40, "after") == 0, "a write fails after space was freed");
		CHECK(chaos_converge(r, all, 2, 30000),
		      "round %u: no convergence after freeing space", round);
		check_log(
		    "space freed: writes work again, node1's change sets arrived, one digest");
		chaos_check_crashes(r, all, 2);
		CHECK(t->crashes == 0, "a daemon crashed");
	}

	/* a clean restart keeps every acknowledged write */
	region_stop(r, 0);
	CHECK(chaos_db_integrity_ok(r, 0), "integrity_check of node0's replica");
	chaos_check_acked(r, 0);
	region_start(r, 0);
	CHECK(chaos_converge(r, all, 2, 15000), "no convergence after the restart");
	for (size_t i = 0; i < 2; i++)
		region_stop(r, i);
	for (size_t i = 0; i < 2; i++)
		chaos_log_fold(r, i);
	chaos_check_crashes(r, all, 2);
	check_log("%zu acknowledged rows survived %u disk-full rounds and a restart", acked->n,
	          rounds);
	return chaos_end();
}
