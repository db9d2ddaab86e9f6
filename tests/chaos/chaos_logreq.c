/*
 * chaos_logreq.c: part of the fault suite, a member that floods LOGREQs (issue 17). A
 * LOGREQ asks the receiver to hash its logged envelopes of an origin from a seq on and
 * compare them with up to 4096 hashes, answering with the first that differs
 * (PROTOCOL.md, "Equivocation"): cheap to send, dear to answer. Three members; node1
 * writes LOG_N change sets, then the test plays member node2 over a CURVE DEALER to node0
 * with node2's own key (tests/support/peer.c) and sends LOGREQs for node1's log as fast as
 * the link takes them, for a few seconds (longer under make chaos): some whose hashes all
 * match (the most work, no answer), some that differ at the end or at once (an answer
 * each), seeded by ARRANG_SEED. Meanwhile node1 keeps writing. Checks: the writes reach
 * node0 throughout, node0's `status` answers within STATUS_MS, its RSS grows by less than
 * RSS_BOUND_MIB, the lines it logs about node2 stay under the per-peer limit, and after
 * the flood both honest nodes are alive, converge, and a new write replicates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "arrlimits.h"
#include "chaos.h"
#include "monoclock.h"
#include "nodekey.h"
#include "peer.h"
#include "proc.h"
#include "rng.h"

#define RECV          0
#define HONEST        1
#define PLAYER        2
#define STATUS_MS     100.0
#define RSS_BOUND_MIB 64.0
#define LOG_N         400

struct flood {
	struct region *r;
	struct peer *d;
	struct nodekey *key;
	uint8_t origin[ARR_ORIGIN_LEN]; /* node1's */
	uint8_t hashes[LOG_N][32];      /* H(envelope) of node1's seqs 1..LOG_N */
	size_t nhashes;
	double status_max;
	unsigned long sent;
};

/* Time one status call on node0; remember the slowest. */
static void
probe(struct flood *f)
{
	chaos_status_probe(f->r, RECV, &f->status_max);
}

/* The envelope hashes of node1's log as node0 holds it, read from its file. */
static void
read_hashes(struct flood *f)
{
	char path[700];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	region_db_path(f->r, RECV, path, sizeof(path));
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", path);
	sqlite3_busy_timeout(db, 10000);
	CHECK(sqlite3_prepare_v2(db,
	                         "SELECT l.raw FROM _log l JOIN _origin o ON o.id = l.origin "
	                         "WHERE o.origin = ?1 ORDER BY l.seq LIMIT ?2",
	                         -1, &st, NULL) == SQLITE_OK,
	      "prepare");
	sqlite3_bind_blob(st, 1, f->origin, ARR_ORIGIN_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, LOG_N);
	while (sqlite3_step(st) == SQLITE_ROW)
		crypto_generichash(f->hashes[f->nhashes++], 32, sqlite3_column_blob(st, 0),
		                   (size_t)sqlite3_column_bytes(st, 0), NULL, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	CHECK(f->nhashes == LOG_N, "node0 holds %zu of node1's change sets", f->nhashes);
}

/* One LOGREQ: all hashes matching, one differing at the end, or at once. */
static void
logreq_one(struct flood *f)
{
	static uint8_t h[LOG_N][32];
	struct peermsg m = {
	    .type = PEERMSG_LOGREQ, .from = 1, .hashes = &h[0][0], .nhashes = LOG_N};
	unsigned kind = rng_range(0, 2);

	memcpy(h, f->hashes, sizeof(h));
	if (kind == 1)
		h[LOG_N - 1][0] ^= 1;
	else if (kind == 2)
		h[0][0] ^= 1;
	memcpy(m.origin, f->origin, ARR_ORIGIN_LEN);
	peer_send(f->d, &m);
	f->sent++;
}

static double
rss_mib(struct flood *f)
{
	return proc_kib(f->r->nodes[RECV].pid, "VmRSS") / 1024.0;
}

/* A write on from reaches to within ms. */
static bool
replicates(struct flood *f, size_t from, size_t to, int ms)
{
	char row[37];

	rng_rowid(row);
	return apiclient_write_text(region_api(f->r, from), "organisation", row, "name", "later") ==
	           0 &&
	       apiclient_wait_text(region_api(f->r, to), "organisation", row, "name", "later", ms);
}

int
main(void)
{
	struct chaos_tally *t = chaos_begin("logreq", 1, 1);
	const size_t honest[] = {RECV, HONEST};
	struct flood *f = calloc(1, sizeof(*f));
	double secs = chaos_long() ? 30 : 4, until, next_write = 0, next_probe = 0, t0;
	double rss0, rss_max, writes = 0, caught = 0;
	char row[37];
	int lines;
	bool ok;

	CHECK(f != NULL, "out of memory");
	f->r = region_new(&(struct region_opts){.tag = "logreq",
	                                        .sync_conf = "heartbeat_ms = 200\n"
	                                                     "pull_interval_ms = 1000\n",
	                                        .self_endpoint = true,
	                                        .verbose = true,
	                                        .start_s = 30,
	                                        .stop_s = 15},
	                  3);
	f->key = peer_load_key(f->r, PLAYER);
	CHECK(nodekey_parse_hex(f->r->nodes[HONEST].pubhex, f->origin) == 0, "hex");
	/*
	 * ASan keeps freed memory in a quarantine (256 MiB unless told otherwise), which a
	 * flood of messages fills: node0's is kept small so that its RSS is what it holds
	 */
	region_start_opts(f->r, RECV,
	                  &(struct region_start_opts){
	                      .env = (const char *const[]){"ASAN_OPTIONS=quarantine_size_mb=4:"
	                                                   "detect_leaks=1:abort_on_error=0",
	                                                   NULL}});
	region_start(f->r, HONEST);
	for (int i = 0; i < LOG_N; i++) {
		rng_rowid(row);
		CHECK(apiclient_write_text(region_api(f->r, HONEST), "organisation", row, "name",
		                           "before") == 0,
		      "write on node1");
	}
	CHECK(chaos_converge(f->r, honest, 2, 60000), "honest nodes do not converge at start");
	read_hashes(f);

	f->d = peer_open(f->r, RECV, f->key);
	peer_hello(f->d, f->key);
	rss0 = rss_max = rss_mib(f);
	t0 = mono_s();
	until = t0 + secs;
	while (mono_s() < until) {
		logreq_one(f);
		if (mono_s() >= next_probe) {
			probe(f);
			rss_max = rss_mib(f) > rss_max ? rss_mib(f) : rss_max;
			next_probe = mono_s() + 0.05;
		}
		if (mono_s() >= next_write) {
			/* an honest write on node1 now and then; it must reach node0 */
			rng_rowid(row);
			writes++;
			caught += apiclient_write_text(region_api(f->r, HONEST), "organisation",
			                               row, "name", "during") == 0 &&
			          apiclient_wait_text(region_api(f->r, RECV), "organisation", row,
			                              "name", "during", 5000);
			next_write = mono_s() + 0.5;
		}
	}
	for (int k = 0; k < 20; k++) { /* and while node0 works off what came */
		probe(f);
		proc_sleep_ms(50);
	}
	lines = region_log_lines(f->r, RECV, "node2");
	/* the limit per peer and kind: a burst of 3, then one a second, and the summaries */
	ok = region_alive(f->r, RECV) && region_alive(f->r, HONEST) && caught == writes &&
	     f->status_max <= STATUS_MS && rss_max - rss0 < RSS_BOUND_MIB &&
	     lines <= 2 * (3 + (int)(mono_s() - t0) + 1) && replicates(f, RECV, HONEST, 20000) &&
	     replicates(f, HONEST, RECV, 20000) && chaos_converge(f->r, honest, 2, 30000);
	printf("logreq flood: %lu LOGREQs of %d hashes in %.0f s; honest writes that reached node0 "
	       "within 5 s: %.0f of %.0f; status max %.1f ms; RSS %.0f -> peak %.0f MiB (bound "
	       "+%.0f); %d log lines about node2 [%s]\n",
	       f->sent, LOG_N, secs, caught, writes, f->status_max, rss0, rss_max, RSS_BOUND_MIB,
	       lines, ok ? "ok" : "FAIL");
	fflush(stdout);
	t->faults++;
	t->checks += ok;

	peer_close(&f->d);
	region_stop(f->r, RECV);
	region_stop(f->r, HONEST);
	CHECK(chaos_db_integrity_ok(f->r, RECV), "integrity_check");
	chaos_check_crashes(f->r, honest, 2);
	nodekey_destroy(&f->key);
	CHECK(ok, "a LOGREQ flood was not withstood (see above)");
	free(f);
	return chaos_end();
}
