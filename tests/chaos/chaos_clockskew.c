/*
 * chaos_clockskew.c: part 3 of the fault suite, clock skew. Three daemons in a mesh;
 * node2 runs under libfaketime (LD_PRELOAD, FAKETIME="+10m"), so its CLOCK_REALTIME and
 * therefore its hybrid logical clock run ten minutes ahead. The others keep the default
 * max_clock_drift (ARR_MAX_DRIFT_MS, 5 seconds):
 *
 *  1. node2's change sets are quarantined by node0 and node1 with ARR_ECLOCK, one entry
 *     per change set with node2's origin, and not applied; node0's and node1's writes
 *     reach node2 as usual (a clock behind is no reason to refuse anything);
 *  2. retried: quarantine.retry on node0 leaves them quarantined while they are still too
 *     far ahead; after node0's max_clock_drift is raised to 15 minutes (SIGHUP) the same
 *     retry applies every one of them, and node0's quarantine is empty;
 *  3. within drift: node1 restarts with its clock 598 s ahead, 2 s behind node2's and so
 *     within the guard (time has passed, as far as node1 can tell), and the periodic
 *     pull brings node2's change sets in again: they are applied once, without any
 *     retry, and leave node1's quarantine.
 *
 * At the end all three converge, every acknowledged write is on every node, and every
 * replica passes integrity_check. Without libfaketime the part is skipped with a message
 * (scripts/install-deps.sh installs the faketime package).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrerr.h"
#include "chaos.h"

#define SKEW 2
#define K    6 /* writes on the skewed node */

static const char *const faketime_libs[] = {
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
};

static const char *
faketime_lib(void)
{
	for (size_t k = 0; k < sizeof(faketime_libs) / sizeof(faketime_libs[0]); k++)
		if (access(faketime_libs[k], R_OK) == 0)
			return faketime_libs[k];
	return NULL;
}

/* Start node i with its wall clock offset by the faketime spec ("+10m"). */
static void
start_skewed(struct region *r, size_t i, const char *offset)
{
	static char preload[300], fake[64];
	const char *env[] = {
	    preload, fake, "FAKETIME_DONT_FAKE_MONOTONIC=1", "FAKETIME_NO_CACHE=1",
	    /* libfaketime is preloaded ahead of the ASan runtime */
	    "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:abort_on_error=0", NULL};

	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", faketime_lib());
	snprintf(fake, sizeof(fake), "FAKETIME=%s", offset);
	region_start_opts(r, i, &(struct region_start_opts){.env = env});
	check_log("%s runs with its clock %s", r->nodes[i].name, offset);
}

/* Quarantine of node i: entries, of them ARR_ECLOCK with origin, and the largest "ahead". */
static void
quarantine_scan(struct region *r, size_t i, const char *origin, int *total, int *eclock,
                unsigned long *ahead_ms)
{
	struct reply rp;
	const msgpack_object *o;

	*total = *eclock = 0;
	*ahead_ms = 0;
	if (region_call0(r, i, "quarantine.list", &rp, &o) == 0 &&
	    (o = obj_get(o, "entries")) != NULL && o->type == MSGPACK_OBJECT_ARRAY) {
		*total = (int)o->via.array.size;
		for (uint32_t k = 0; k < o->via.array.size; k++) {
			const msgpack_object *e = &o->via.array.ptr[k];
			const msgpack_object *reason = obj_get(e, "reason");
			const msgpack_object *org = obj_get(e, "origin");
			const msgpack_object *det = obj_get(e, "detail");

			if (reason == NULL || reason->type != MSGPACK_OBJECT_STR ||
			    reason->via.str.size != 10 ||
			    memcmp(reason->via.str.ptr, "ARR_ECLOCK", 10) != 0)
				continue;
			if (org == NULL || org->type != MSGPACK_OBJECT_STR ||
			    org->via.str.size != 64 || memcmp(org->via.str.ptr, origin, 64) != 0)
				continue;
			(*eclock)++;
			if (det != NULL && det->type == MSGPACK_OBJECT_STR) {
				char d[128];
				unsigned long a = 0;
				snprintf(d, sizeof(d), "%.*s", (int)det->via.str.size,
				         det->via.str.ptr);
				if (sscanf(d, "clock ahead by %lu ms", &a) == 1 && a > *ahead_ms)
					*ahead_ms = a;
			}
		}
	}
	reply_free(&rp);
}

/* quarantine.retry of everything on node i: the result's counters. */
static void
retry_all(struct region *r, size_t i, uint64_t *applied, uint64_t *quarantined)
{
	struct reply rp;
	const msgpack_object *o, *a, *q;

	CHECK(region_call0(r, i, "quarantine.retry", &rp, &o) == 0, "quarantine.retry");
	a = obj_get(o, "applied");
	q = obj_get(o, "quarantined");
	CHECK(a != NULL && a->type == MSGPACK_OBJECT_POSITIVE_INTEGER && q != NULL &&
	          q->type == MSGPACK_OBJECT_POSITIVE_INTEGER,
	      "quarantine.retry result");
	*applied = a->via.u64;
	*quarantined = q->via.u64;
	reply_free(&rp);
}

static struct {
	char ids[64][37];
	char vals[64][40];
	size_t n;
} acked;

static void
write_row(struct region *r, struct chaos_tally *t, size_t i, const char *what)
{
	rng_rowid(acked.ids[acked.n]);
	snprintf(acked.vals[acked.n], sizeof(acked.vals[0]), "%s %s %zu", what, r->nodes[i].name,
	         acked.n);
	CHECK(apiclient_write_text(region_api(r, i), "organisation", acked.ids[acked.n], "name",
	                           acked.vals[acked.n]) == 0,
	      "write on %s", r->nodes[i].name);
	acked.n++;
	t->acked++;
}

static bool
has_row(struct region *r, size_t i, size_t k)
{
	char got[64];

	return apiclient_get_text(region_api(r, i), "organisation", acked.ids[k], "name", got,
	                          sizeof(got)) == 0 &&
	       strcmp(got, acked.vals[k]) == 0;
}

/* 1. quarantined with ARR_ECLOCK on both others, not applied, not lost */
static void
phase_quarantined(struct region *r, struct chaos_tally *t, const char *skewhex)
{
	int total, eclock;
	unsigned long ahead;
	double until;

	for (size_t k = 0; k < K; k++)
		write_row(r, t, SKEW, "ahead");
	t->faults += K;
	write_row(r, t, 0, "normal");
	write_row(r, t, 1, "normal");
	for (size_t i = 0; i < 2; i++) {
		until = mono_s() + 20;
		do {
			quarantine_scan(r, i, skewhex, &total, &eclock, &ahead);
			if (eclock == K)
				break;
			proc_sleep_ms(200);
		} while (mono_s() < until);
		CHECK(eclock == K, "%s: %d of %d change sets of node2 quarantined with ARR_ECLOCK",
		      r->nodes[i].name, eclock, K);
		CHECK(ahead >= 590000 && ahead <= 660000, "%s: skew seen as %lu ms, not ~10 min",
		      r->nodes[i].name, ahead);
		for (size_t k = 0; k < K; k++)
			CHECK(!has_row(r, i, k), "%s applied a change set 10 min ahead",
			      r->nodes[i].name);
		check_log(
		    "%s: %d change sets of node2 quarantined, ARR_ECLOCK, clock ahead by %lu ms",
		    r->nodes[i].name, eclock, ahead);
		t->checks += 2;
	}
	CHECK(apiclient_wait_text(region_api(r, SKEW), "organisation", acked.ids[K], "name",
	                          acked.vals[K], 10000) &&
	          apiclient_wait_text(region_api(r, SKEW), "organisation", acked.ids[K + 1], "name",
	                              acked.vals[K + 1], 10000),
	      "the skewed node did not get the others' writes");
	check_log("node2 (ahead) applied node0's and node1's writes");
	chaos_count_quarantine(r, 0);
	chaos_count_quarantine(r, 1);
}

/* 2. retried: still too far ahead, then applied once node0 allows 15 minutes */
static void
phase_retried(struct region *r, struct chaos_tally *t, const char *skewhex)
{
	uint64_t applied, quarantined, retried;
	int total, eclock;
	unsigned long ahead;
	double until;

	retry_all(r, 0, &applied, &quarantined);
	CHECK(applied == 0 && quarantined == K,
	      "retry at the default drift: applied %llu, quarantined %llu",
	      (unsigned long long)applied, (unsigned long long)quarantined);
	check_log("node0: quarantine.retry at the default drift: 0 applied, %d still quarantined",
	          K);
	region_conf_write(
	    r, 0, NULL,
	    "heartbeat_ms = 200\npull_interval_ms = 1000\nmax_clock_drift_ms = 900000\n");
	fault_signal(r, 0, SIGHUP);
	/*
	 * From now on the periodic pull may bring them in before the retry does; either way
	 * each is applied once and the quarantine ends up empty.
	 */
	until = mono_s() + 10;
	retried = 0;
	for (;;) {
		size_t have = 0;
		retry_all(r, 0, &applied, &quarantined);
		retried += applied;
		for (size_t k = 0; k < K; k++)
			have += has_row(r, 0, k);
		if (have == K || mono_s() > until)
			break;
		proc_sleep_ms(200);
	}
	for (size_t k = 0; k < K; k++)
		CHECK(has_row(r, 0, k), "node0 lacks node2's row %zu after the retry", k);
	quarantine_scan(r, 0, skewhex, &total, &eclock, &ahead);
	CHECK(total == 0, "node0: %d left in quarantine", total);
	check_log(
	    "node0: max_clock_drift 15 min (SIGHUP): %d applied (%llu by quarantine.retry, the "
	    "rest by the next pull), quarantine empty",
	    K, (unsigned long long)retried);
	t->checks += 2;
}

/* 3. within drift: node1's clock moves on 6 minutes; the pull applies them */
static void
phase_within_drift(struct region *r, struct chaos_tally *t, const char *skewhex)
{
	int total, eclock;
	unsigned long ahead;
	double until;

	/* 3. within drift: node1's clock moves on to 2 s behind node2's; the pull applies them */
	region_stop(r, 1);
	start_skewed(r, 1, "+598s");
	until = mono_s() + 20;
	do {
		size_t have = 0;
		for (size_t k = 0; k < K; k++)
			have += has_row(r, 1, k);
		if (have == K)
			break;
		proc_sleep_ms(200);
	} while (mono_s() < until);
	for (size_t k = 0; k < K; k++)
		CHECK(has_row(r, 1, k), "node1 lacks node2's row %zu within drift", k);
	quarantine_scan(r, 1, skewhex, &total, &eclock, &ahead);
	CHECK(total == 0, "node1 applied node2's change sets but still lists %d in quarantine",
	      total);
	check_log("node1 (now 2 s behind node2): pull applied node2's %d change sets, quarantine "
	          "empty",
	          K);
	t->checks += 2;
}

/* the skewed nodes keep writing; everyone converges, nothing acknowledged is lost */
static void
phase_converge(struct region *r, struct chaos_tally *t, const size_t all[3])
{
	write_row(r, t, SKEW, "later");
	write_row(r, t, 1, "later");
	write_row(r, t, 0, "later");
	CHECK(chaos_converge(r, all, 3, 30000), "no single digest after the skew was resolved");
	for (size_t i = 0; i < 3; i++)
		for (size_t k = 0; k < acked.n; k++)
			if (!has_row(r, i, k)) {
				check_log("LOST: %s lacks acknowledged row %zu", r->nodes[i].name,
				          k);
				t->lost++;
			}
}

int
main(void)
{
	struct chaos_tally *t = chaos_begin("clockskew", 1, 1);
	struct region *r;
	const size_t all[] = {0, 1, 2};
	const char *skewhex;

	if (faketime_lib() == NULL) {
		printf("SKIP: libfaketime is not installed (apt-get install faketime); clock skew "
		       "not tested\n");
		return chaos_end();
	}
	r = region_new_test("clockskew", 3, 200, 1000);
	skewhex = r->nodes[SKEW].pubhex;
	region_start(r, 0);
	region_start(r, 1);
	start_skewed(r, SKEW, "+10m");
	phase_quarantined(r, t, skewhex);
	phase_retried(r, t, skewhex);
	phase_within_drift(r, t, skewhex);
	phase_converge(r, t, all);
	for (size_t i = 0; i < 3; i++)
		region_stop(r, i);
	for (size_t i = 0; i < 3; i++) {
		CHECK(chaos_db_integrity_ok(r, i), "integrity_check on %s", r->nodes[i].name);
		chaos_log_fold(r, i);
	}
	chaos_check_crashes(r, all, 3);
	return chaos_end();
}
