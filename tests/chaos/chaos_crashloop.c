/*
 * chaos_crashloop.c: part 1 of the fault suite, the crash loop. A chain of three real
 * daemons, A - B - C (A and C know only B's endpoint, so everything between them is
 * relayed by B). Each iteration picks a scenario and SIGKILLs a daemon at a seeded
 * random moment:
 *
 *  - import:  A takes large API writes back to back (hundreds to thousands of rows,
 *             some split into several change sets) and is killed mid-stream;
 *  - catchup: B is down while A writes many change sets, then B restarts with small
 *             pull pages and is killed while it catches up;
 *  - relay:   A takes many small writes while B relays them to C, and B is killed
 *             in the middle of the stream.
 *
 * After each kill, with the daemon down, its replica file is opened read-only: PRAGMA
 * integrity_check says ok, every write A acknowledged is there (on A), the write that was
 * in flight is there entirely or not at all, and the raw log of every node is folded into
 * a run-wide map that fails the run if any (origin, seq) ever carries two contents. The
 * daemon is restarted and all digests must converge. At the end every daemon stops
 * cleanly (exit 0, no leak report) and every replica holds every acknowledged write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos.h"

#define A 0
#define B 1
#define C 2

/* The writes A acknowledged, for the whole run. */
static struct {
	char (*ids)[37];
	char (*vals)[40];
	size_t n, cap;
} acked;

/* The batch that was in flight when A was killed (checked for atomicity). */
static struct {
	char (*ids)[37];
	char (*vals)[40];
	size_t n;
} inflight;

static unsigned long batch_no;

static void
acked_add(char (*ids)[37], char (*vals)[40], size_t n)
{
	if (acked.n + n > acked.cap) {
		acked.cap = (acked.n + n) * 2;
		CHECK((acked.ids = realloc(acked.ids, acked.cap * sizeof(*acked.ids))) != NULL &&
		          (acked.vals = realloc(acked.vals, acked.cap * sizeof(*acked.vals))) !=
		              NULL,
		      "realloc");
	}
	memcpy(acked.ids + acked.n, ids, n * sizeof(*ids));
	memcpy(acked.vals + acked.n, vals, n * sizeof(*vals));
	acked.n += n;
}

/* A fresh batch of n rows with unique values, into inflight. */
static void
batch_make(size_t n)
{
	free(inflight.ids);
	free(inflight.vals);
	CHECK((inflight.ids = calloc(n, sizeof(*inflight.ids))) != NULL &&
	          (inflight.vals = calloc(n, sizeof(*inflight.vals))) != NULL,
	      "calloc");
	batch_no++;
	for (size_t k = 0; k < n; k++) {
		rng_rowid(inflight.ids[k]);
		snprintf(inflight.vals[k], sizeof(inflight.vals[k]), "b%lu-r%zu", batch_no, k);
	}
	inflight.n = n;
}

/*
 * Write batches to A back to back for ms milliseconds (pipelined: one request in flight
 * at a time, replies taken as they come). When kill_node is >= 0 it is SIGKILLed when
 * the time is up, possibly in the middle of a write; otherwise the last write is waited
 * for. Returns the number of rows acknowledged.
 */
static size_t
import_for(struct region *r, struct chaos_tally *t, int ms, int kill_node, bool *killed_alive,
           uint32_t min_rows, uint32_t max_rows)
{
	struct apiclient *api = apiclient_new(r->nodes[A].api, 20000);
	double until = mono_s() + ms / 1000.0;
	size_t rows = 0;
	bool busy = false;

	*killed_alive = true;
	for (;;) {
		int code, left = (int)((until - mono_s()) * 1000);
		struct req rq;
		struct reply rp;

		if (left <= 0)
			break;
		batch_make(rng_range(min_rows, max_rows));
		chaos_pack_rows(inflight.ids, inflight.vals, inflight.n, "import", &rq);
		/* when A is to be killed, the write still in flight at the deadline stays so */
		apiclient_timeout(api, kill_node < 0 ? 20000 : left);
		code = apiclient_call(api, &rq, &rp);
		reply_free(&rp);
		req_free(&rq);
		if (code == APICLIENT_ENOREPLY) {
			CHECK(kill_node >= 0, "no reply from A within 20 s");
			busy = true;
			break;
		}
		CHECK(code == 0, "A refused a write: %d", code);
		acked_add(inflight.ids, inflight.vals, inflight.n);
		t->acked += inflight.n;
		rows += inflight.n;
		inflight.n = 0;
	}
	if (kill_node >= 0) {
		*killed_alive = fault_kill(r, (size_t)kill_node, NULL);
		t->faults++;
		check_log("SIGKILL %s (%s)", r->nodes[kill_node].name,
		          busy ? "A had a write in flight" : "between writes");
	}
	if (!busy)
		inflight.n = 0;
	apiclient_destroy(&api);
	return rows;
}

/* With A down: integrity, every acknowledged write, the in-flight one all or nothing. */
static void
check_a_down(struct region *r, struct chaos_tally *t)
{
	size_t have;

	CHECK(chaos_db_integrity_ok(r, A), "A's replica fails integrity_check after SIGKILL");
	have = chaos_db_rows_present(r, A, "organisation", "name", acked.ids, acked.vals, acked.n);
	if (have != acked.n) {
		check_log("LOST: A has %zu of %zu acknowledged rows", have, acked.n);
		t->lost += acked.n - have;
	}
	t->checks++;
	if (inflight.n > 0) {
		have = chaos_db_rows_present(r, A, "organisation", "name", inflight.ids,
		                             inflight.vals, inflight.n);
		CHECK(have == 0 || have == inflight.n,
		      "the write in flight is half there: %zu of %zu rows", have, inflight.n);
		check_log("in-flight write of %zu rows: %s", inflight.n,
		          have ? "committed before the kill" : "not committed");
		t->checks++;
	}
}

static void
fold_all(struct region *r)
{
	size_t n[3];

	for (size_t i = 0; i < 3; i++)
		n[i] = chaos_log_fold(r, i);
	check_log("logs folded: %zu / %zu / %zu change sets, no (origin, seq) with two contents",
	          n[0], n[1], n[2]);
}

int
main(void)
{
	struct chaos_tally *t = chaos_begin("crashloop", 3, 50);
	struct region *r = region_new_test("crashloop", 3, 200, 1000);
	const bool ep_a[] = {false, true, false}, ep_b[] = {true, false, true};
	const size_t all[] = {A, B, C};
	const char *scen[] = {"import", "catchup", "relay"};
	unsigned n = chaos_iterations();
	double t0;

	for (size_t i = 0; i < 3; i++)
		region_conf_write(
		    r, i, NULL,
		    "heartbeat_ms = 200\npull_interval_ms = 1000\npage_bytes = 65536\n");
	region_members(r, A, NULL, ep_a);
	region_members(r, B, NULL, ep_b);
	region_members(r, C, NULL, ep_a);
	for (size_t i = 0; i < 3; i++)
		region_start(r, i);

	for (unsigned it = 0; it < n; it++) {
		unsigned s = it < 3 ? it : rng_range(0, 2);
		bool alive = true;
		size_t rows = 0, victim = s == 0 ? A : B;

		check_log("== iteration %u/%u: %s", it + 1, n, scen[s]);
		if (s == 0) {
			rows = import_for(r, t, (int)rng_range(100, 2500), A, &alive, 100, 2500);
			check_a_down(r, t);
		} else if (s == 1) {
			bool unused;
			fault_kill(r, B, NULL);
			t->faults++;
			rows = import_for(r, t, (int)rng_range(1000, 3000), -1, &unused, 1, 300);
			region_start(r, B);
			proc_sleep_ms((int)rng_range(0, 1500));
			alive = fault_kill(r, B, NULL);
			t->faults++;
			check_log("SIGKILL node1 during catch-up");
		} else {
			rows = import_for(r, t, (int)rng_range(300, 2000), B, &alive, 1, 300);
		}
		if (!alive) {
			check_log("CRASH: %s had exited before the kill", r->nodes[victim].name);
			t->crashes++;
		}
		CHECK(chaos_db_integrity_ok(r, victim), "%s fails integrity_check after SIGKILL",
		      r->nodes[victim].name);
		fold_all(r);
		region_start(r, victim);
		if (s == 1)
			check_log("A acknowledged %zu rows while node1 was down", rows);
		t0 = mono_s();
		if (!chaos_converge(r, all, 3, 60000))
			CHECK(0, "iteration %u: no single digest 60 s after the restart", it + 1);
		check_log("converged %.2f s after the restart (%zu rows acknowledged this round)",
		          mono_s() - t0, rows);
		chaos_check_crashes(r, all, 3);
		CHECK(t->crashes == 0, "a daemon crashed");
	}

	/* Clean stops, then every replica file holds every acknowledged write. */
	for (size_t i = 0; i < 3; i++)
		region_stop(r, i);
	for (size_t i = 0; i < 3; i++) {
		size_t have = chaos_db_rows_present(r, i, "organisation", "name", acked.ids,
		                                    acked.vals, acked.n);
		CHECK(chaos_db_integrity_ok(r, i), "%s: integrity_check", r->nodes[i].name);
		if (have != acked.n) {
			check_log("LOST: %s has %zu of %zu acknowledged rows", r->nodes[i].name,
			          have, acked.n);
			t->lost += acked.n - have;
		}
		t->checks++;
	}
	fold_all(r);
	chaos_check_crashes(r, all, 3);
	check_log("%zu acknowledged rows present on all three replicas", acked.n);
	free(acked.ids);
	free(acked.vals);
	free(inflight.ids);
	free(inflight.vals);
	return chaos_end();
}
