/*
 * chaos_budget.c: part 7 of the fault suite, a member that floods pending and quarantine.
 * Two honest daemons (node0, node1) of a three-member region with small budgets
 * ([budget] of arrangd.conf); the test plays member node2 over a CURVE DEALER to node0
 * with node2's own key (tests/support/peer.c), so what it signs verifies:
 *
 *  - gap flood: change sets of 2 KiB of node2 with seqs past the gap (seq 1 never
 *    comes), half of them just past it and half far beyond (up to 2^40, seeded by
 *    ARRANG_SEED), as fast as it can sign them for a few seconds (longer under make
 *    chaos): node0 holds at most pending_max_changesets of them and counts the rest in
 *    arrangd_pending_dropped_total;
 *  - quarantine flood: undecodable junk, node2's change sets with a broken signature and
 *    ones with a clock an hour ahead, the same way: node0's quarantine stays within its
 *    budgets and counts evictions in arrangd_quarantine_evicted_total; a retry of
 *    everything is timed.
 *
 * Throughout, `status` on node0 answers within STATUS_MS (the slowest is printed); after
 * each flood both honest daemons are alive, the database file grew by less than the
 * bound the budgets give (printed; the WAL, which the checkpointer bounds, is printed
 * apart), and a new write on node0 reaches node1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arrerr.h"
#include "arrlimits.h"
#include "changeset.h"
#include "chaos.h"
#include "hlc.h"
#include "nodekey.h"
#include "peer.h"
#include "peermsg.h"
#include "rng.h"
#include "rowid.h"
#include "vv.h"

#define RECV      0
#define HONEST    1
#define PLAYER    2
#define STATUS_MS 100.0

/* The budgets node0 and node1 run with, and the bound on node0's growth they give. */
#define PENDING_N  500
#define PENDING_B  (2u << 20)
#define QUAR_N     100
#define QUAR_B     (2u << 20)
#define JUNK_N     2000
#define JUNK_B     (1u << 20)
#define VALUE_LEN  2000
#define GROWTH_MAX (2 * (PENDING_B + QUAR_B + JUNK_B) + (4u << 20))

struct flood {
	struct region *r;
	struct peer *d;
	struct nodekey *key;
	double status_max_ms;
	double wal_max; /* the WAL's size right after the flood */
	unsigned long sent;
};

/* Time one status call on node0; remember the slowest. */
static void
status_probe(struct flood *fl)
{
	chaos_status_probe(fl->r, RECV, &fl->status_max_ms);
}

/* HELLO as node2 until WELCOME. */
static void
hello(struct flood *fl)
{
	struct vv *empty = vv_new();
	struct peermsg m = {
	    .type = PEERMSG_HELLO, .major = PEERMSG_MAJOR, .minor = PEERMSG_MINOR, .vector = empty};
	bool welcomed = false;

	memcpy(m.origin, nodekey_public(fl->key), ARR_ORIGIN_LEN);
	for (int k = 0; k < 20 && !welcomed; k++) {
		peer_send(fl->d, &m);
		welcomed = peer_expect(fl->d, PEERMSG_WELCOME, NULL, 1000);
	}
	CHECK(welcomed, "no WELCOME for node2's HELLO");
	vv_destroy(&empty);
}

/* A change set of node2: seq, one 2 KiB text on a new row, stamped wall ms. */
static struct changeset *
signed_cs(struct flood *fl, uint64_t seq, uint64_t wall)
{
	static char text[VALUE_LEN + 1];
	struct cs_op op = {.table = "organisation", .column = "name"};
	struct cs_header h = {.seq = seq,
	                      .hlc = hlc_make(wall, 0),
	                      .author_org = fl->r->nodes[PLAYER].org,
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct changeset *cs = NULL;
	char row[37];

	memset(text, 'x', VALUE_LEN);
	op.value = value_text(text);
	rng_rowid(row);
	CHECK(rowid_parse(row, op.row) == 0, "rowid");
	CHECK(changeset_build_region(fl->key, &h, &op, 1, &cs) == 0, "changeset_build");
	return cs;
}

/* Size of node0's database (wal false) or of its WAL on disk. */
static double
file_bytes(struct region *r, bool wal)
{
	char path[1024], name[1100];
	struct stat st;

	region_db_path(r, RECV, path, sizeof(path));
	snprintf(name, sizeof(name), "%s%s", path, wal ? "-wal" : "");
	return stat(name, &st) == 0 ? (double)st.st_size : 0;
}

/*
 * Size of node0's database on disk, once its WAL is truncated or after 5 s. The WAL is
 * bounded by the checkpointer (store_ckpt.c), not by the budgets: it is printed apart.
 */
static double
disk_bytes(struct region *r)
{
	for (double until = mono_s() + 5; file_bytes(r, true) > 0 && mono_s() < until;)
		proc_sleep_ms(100);
	return file_bytes(r, false);
}

static double
flood_secs(void)
{
	return chaos_long() ? 30 : 4;
}

/* One change set of the gap flood: k-th; just past the gap or far beyond it. */
static void
gap_one(struct flood *fl, unsigned long k)
{
	uint64_t seq = k % 2 ? 2 + k / 2 : 200000 + ((uint64_t)rng_range(0, UINT32_MAX) << 8);
	struct changeset *cs = signed_cs(fl, seq, hlc_wall_ms());

	peer_push(fl->d, cs->raw, cs->rawlen);
	changeset_destroy(&cs);
}

/* One entry of the quarantine flood: junk, a broken signature or a clock an hour ahead. */
static void
quarantine_one(struct flood *fl, unsigned long k)
{
	struct changeset *cs = signed_cs(fl, 1 + k, hlc_wall_ms() + (k % 3 == 2 ? 3600000 : 0));
	uint8_t *raw = malloc(cs->rawlen);

	CHECK(raw != NULL, "out of memory");
	memcpy(raw, cs->raw, cs->rawlen);
	if (k % 3 == 0)
		for (size_t i = 0; i < cs->rawlen; i++)
			raw[i] = (uint8_t)rng_range(0, 255);
	else if (k % 3 == 1)
		raw[cs->rawlen - 1] ^= 1;
	peer_push(fl->d, raw, cs->rawlen);
	free(raw);
	changeset_destroy(&cs);
}

/* Run one flood for flood_secs(), probing status every 50 ms. */
static void
run_flood(struct flood *fl, void (*one)(struct flood *, unsigned long))
{
	double until = mono_s() + flood_secs(), probe = 0;

	fl->sent = 0;
	hello(fl); /* node0 took the link down while node2 was silent */
	while (mono_s() < until) {
		one(fl, fl->sent++);
		if (mono_s() >= probe) {
			status_probe(fl);
			probe = mono_s() + 0.05;
		}
	}
	for (int k = 0; k < 20; k++) { /* and while node0 works off what came */
		status_probe(fl);
		proc_sleep_ms(50);
	}
	fl->wal_max = file_bytes(fl->r, true);
}

/* A new write on node0 reaches node1 within 20 s. */
static bool
replicates(struct flood *fl, const char *what)
{
	char row[37];

	rng_rowid(row);
	return apiclient_write_text(region_api(fl->r, RECV), "organisation", row, "name", what) ==
	           0 &&
	       apiclient_wait_text(region_api(fl->r, HONEST), "organisation", row, "name", what,
	                           20000);
}

/* The checks after a flood; prints one line. */
static bool
after(struct flood *fl, const char *name, double disk0, const char *counter, double limit_n,
      const char *gauge)
{
	double grown = disk_bytes(fl->r) - disk0;
	double turned = region_metric(fl->r, RECV, counter);
	double held = region_metric(fl->r, RECV, gauge);
	bool alive = region_alive(fl->r, RECV) && region_alive(fl->r, HONEST);
	bool repl = alive && replicates(fl, name);
	bool ok = alive && repl && grown < GROWTH_MAX && turned > 0 && held <= limit_n &&
	          fl->status_max_ms <= STATUS_MS;

	printf(
	    "%-16s %lu sent; %s %.0f, %s %.0f (budget %.0f); database +%.1f MiB (bound %.1f "
	    "MiB; WAL after the flood %.1f MiB); status max %.1f ms; write replicates: %s [%s]\n",
	    name, fl->sent, counter, turned, gauge, held, limit_n, grown / 1048576.0,
	    GROWTH_MAX / 1048576.0, fl->wal_max / 1048576.0, fl->status_max_ms, repl ? "yes" : "NO",
	    ok ? "ok" : "FAIL");
	fflush(stdout);
	return ok;
}

/* quarantine.retry of everything on node0; its time in ms. */
static double
retry_all_ms(struct flood *fl)
{
	struct reply rp;
	const msgpack_object *o;
	double t0 = mono_s();

	CHECK(region_call0(fl->r, RECV, "quarantine.retry", &rp, &o) == 0, "quarantine.retry");
	reply_free(&rp);
	return (mono_s() - t0) * 1000;
}

int
main(void)
{
	struct chaos_tally *t = chaos_begin("budget", 1, 1);
	char conf[512];
	struct region *r;
	struct flood fl = {0};
	const size_t honest[] = {RECV, HONEST};
	double disk0, retry_ms;
	bool ok1, ok2;

	snprintf(conf, sizeof(conf),
	         "heartbeat_ms = 200\npull_interval_ms = 1000\n\n[budget]\n"
	         "pending_max_changesets = %u\npending_max_bytes = %u\n"
	         "quarantine_max_changesets = %u\nquarantine_max_bytes = %u\n"
	         "junk_max_changesets = %u\njunk_max_bytes = %u\n",
	         PENDING_N, PENDING_B, QUAR_N, QUAR_B, JUNK_N, JUNK_B);
	r = region_new(&(struct region_opts){.tag = "budget",
	                                     .sync_conf = conf,
	                                     .self_endpoint = true,
	                                     .verbose = true,
	                                     .start_s = 30,
	                                     .stop_s = 15},
	               3);
	fl.r = r;
	fl.key = peer_load_key(r, PLAYER);
	region_start(r, RECV);
	region_start(r, HONEST);
	CHECK(chaos_converge(r, honest, 2, 30000), "honest nodes do not converge at start");
	fl.d = peer_open(r, RECV, fl.key);

	disk0 = disk_bytes(r);
	run_flood(&fl, gap_one);
	ok1 = after(&fl, "gap flood", disk0, "arrangd_pending_dropped_total", PENDING_N,
	            "arrangd_pending_size");
	t->faults++;
	t->checks += ok1;

	fl.status_max_ms = 0;
	disk0 = disk_bytes(r);
	run_flood(&fl, quarantine_one);
	ok2 = after(&fl, "quarantine flood", disk0, "arrangd_quarantine_evicted_total",
	            QUAR_N + JUNK_N, "arrangd_quarantine_size");
	retry_ms = retry_all_ms(&fl);
	printf("quarantine.retry of all %.0f entries: %.0f ms\n",
	       region_metric(r, RECV, "arrangd_quarantine_size"), retry_ms);
	t->faults++;
	t->checks += ok2;

	peer_close(&fl.d);
	region_stop(r, RECV);
	region_stop(r, HONEST);
	CHECK(chaos_db_integrity_ok(r, RECV), "integrity_check");
	chaos_check_crashes(r, honest, 2);
	nodekey_destroy(&fl.key);
	CHECK(ok1 && ok2, "a flood was not kept within its budget (see above)");
	return chaos_end();
}
