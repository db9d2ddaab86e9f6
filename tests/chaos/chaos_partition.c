/*
 * chaos_partition.c: part 2 of the fault suite, network partitions. Four daemons, each
 * in its own network namespace, joined pairwise by veth pairs (a full mesh of
 * point-to-point links, one /30 per link; each node's members file names every peer by
 * its address on the shared link). A partition cuts the links that cross a seeded random
 * split with `ip link set down`; both sides then write concurrently, to their own rows
 * and to contested cells, and the test checks that the cut is real (a row written on one
 * side does not reach the other). Healing brings the links up; afterwards all four hold
 * one digest and every acknowledged write.
 *
 * Where network namespaces are unavailable (not root, no ip netns) the partition falls
 * back to SIGSTOP/SIGCONT of one side at a time, as it_partition does; the test prints
 * which mode ran. CHAOS_PARTITION_MODE=stop forces the fallback.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrerr.h"
#include "chaos.h"

#define N    4
#define ROWS 4

static char ns[N][32];
static bool netns_mode;
static bool ns_made[N];

/* Run a shell command quietly; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[512], full[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
	return system(full);
}

static void
netns_cleanup(void)
{
	for (size_t i = 0; i < N; i++)
		if (ns_made[i]) {
			sh("ip netns del %s", ns[i]);
			ns_made[i] = false;
		}
}

/* Index of the link between i and j (i != j) among the N*(N-1)/2 links. */
static int
link_index(size_t i, size_t j)
{
	size_t a = i < j ? i : j, b = i < j ? j : i;

	return (int)(a * N + b);
}

/* Node j's address on the link it shares with node i. */
static void
link_addr(size_t i, size_t j, char *out, size_t outlen)
{
	snprintf(out, outlen, "10.77.%d.%d", link_index(i, j), j < i ? 1 : 2);
}

/* Create namespaces and the mesh of veth pairs; false (and nothing left) if not possible. */
static bool
netns_setup(void)
{
	const char *mode = getenv("CHAOS_PARTITION_MODE");

	if (mode != NULL && strcmp(mode, "stop") == 0) {
		h_log("partition mode: SIGSTOP/SIGCONT (forced by CHAOS_PARTITION_MODE=stop)");
		return false;
	}
	if (geteuid() != 0) {
		h_log("partition mode: SIGSTOP/SIGCONT (network namespaces need root)");
		return false;
	}
	atexit(netns_cleanup);
	for (size_t i = 0; i < N; i++) {
		snprintf(ns[i], sizeof(ns[i]), "arrchaos%d-%zu", (int)getpid(), i);
		if (sh("ip netns add %s", ns[i]) != 0) {
			h_log("partition mode: SIGSTOP/SIGCONT (ip netns add failed)");
			netns_cleanup();
			return false;
		}
		ns_made[i] = true;
		if (sh("ip -n %s link set lo up", ns[i]) != 0)
			goto fail;
	}
	for (size_t i = 0; i < N; i++)
		for (size_t j = i + 1; j < N; j++) {
			char ai[32], aj[32];

			link_addr(j, i, ai, sizeof(ai));
			link_addr(i, j, aj, sizeof(aj));
			if (sh("ip link add v%zu netns %s type veth peer name v%zu netns %s", j,
			       ns[i], i, ns[j]) != 0 ||
			    sh("ip -n %s addr add %s/30 dev v%zu", ns[i], ai, j) != 0 ||
			    sh("ip -n %s addr add %s/30 dev v%zu", ns[j], aj, i) != 0 ||
			    sh("ip -n %s link set v%zu up", ns[i], j) != 0 ||
			    sh("ip -n %s link set v%zu up", ns[j], i) != 0)
				goto fail;
		}
	h_log("partition mode: network namespaces (%d namespaces, %d veth pairs, links cut with "
	      "ip link set down)",
	      N, N * (N - 1) / 2);
	return true;
fail:
	h_log("partition mode: SIGSTOP/SIGCONT (veth setup failed)");
	netns_cleanup();
	return false;
}

/* Bring the link between i and j down or up (both ends). */
static void
link_set(size_t i, size_t j, bool up)
{
	CHECK(sh("ip -n %s link set v%zu %s", ns[i], j, up ? "up" : "down") == 0 &&
	          sh("ip -n %s link set v%zu %s", ns[j], i, up ? "up" : "down") == 0,
	      "ip link set");
}

/* Whether node i's "peers" reports node j as connected. */
static bool
peer_connected(struct h_region *r, size_t i, size_t j)
{
	msgpack_unpacked res;
	const msgpack_object *o;
	bool conn = false;

	if (h_call(r, i, "peers", NULL, NULL, &res, &o) == 0 && o->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t k = 0; k < o->via.array.size; k++) {
			const msgpack_object *n = h_map_get(&o->via.array.ptr[k], "name");
			const msgpack_object *c = h_map_get(&o->via.array.ptr[k], "connected");
			if (n != NULL && n->type == MSGPACK_OBJECT_STR &&
			    n->via.str.size == strlen(r->nodes[j].name) &&
			    memcmp(n->via.str.ptr, r->nodes[j].name, n->via.str.size) == 0 &&
			    c != NULL && c->type == MSGPACK_OBJECT_BOOLEAN)
				conn = c->via.boolean;
		}
	msgpack_unpacked_destroy(&res);
	return conn;
}

static struct {
	char ids[4096][37];
	char vals[4096][40];
	size_t n;
} acked;

/* One acknowledged write of a fresh row on node i. */
static void
write_own(struct h_region *r, struct chaos_tally *t, size_t i, int round, int k)
{
	CHECK(acked.n < 4096, "too many rows");
	h_rowid(acked.ids[acked.n]);
	snprintf(acked.vals[acked.n], sizeof(acked.vals[0]), "%s r%d w%d", r->nodes[i].name, round,
	         k);
	CHECK(h_write_text(r, i, "organisation", acked.ids[acked.n], "name", acked.vals[acked.n]) ==
	          0,
	      "write on %s", r->nodes[i].name);
	acked.n++;
	t->acked++;
}

int
main(void)
{
	struct chaos_tally *t = chaos_begin("partition", 2, 10);
	struct h_region *r = h_region_new("partition", N, 200, 1000);
	const size_t all[N] = {0, 1, 2, 3};
	char rows[ROWS][37];
	unsigned rounds = chaos_iterations();

	netns_mode = netns_setup();
	for (size_t i = 0; i < N; i++) {
		if (netns_mode) {
			const char *hosts[N];
			char addr[N][32];

			for (size_t j = 0; j < N; j++) {
				if (j == i)
					snprintf(addr[j], sizeof(addr[j]), "127.0.0.1");
				else
					link_addr(i, j, addr[j], sizeof(addr[j]));
				hosts[j] = addr[j];
			}
			h_conf_write(r, i, "0.0.0.0",
			             "heartbeat_ms = 200\npull_interval_ms = 1000\n");
			h_members_write_hosts(r, i, hosts);
			h_start_opts(r, i, &(struct h_start_opts){.netns = ns[i]});
		} else {
			h_start(r, i);
		}
	}
	for (size_t j = 0; j < ROWS; j++) {
		h_rowid(rows[j]);
		CHECK(h_write_text(r, j % N, "organisation", rows[j], "name", "baseline") == 0,
		      "baseline write");
	}
	CHECK(chaos_converge(r, all, N, 20000), "no convergence on the baseline");
	h_log("baseline converged");

	for (unsigned round = 1; round <= rounds; round++) {
		unsigned mask = chaos_rand(1, (1u << N) - 2), writes = chaos_long() ? 20 : 4;
		size_t left[N], right[N], nl = 0, nr = 0;
		char probe[37], got[64];
		double t0;

		for (size_t i = 0; i < N; i++) {
			if (mask & (1u << i))
				left[nl++] = i;
			else
				right[nr++] = i;
		}
		h_log("== round %u/%u: partition {%s%s%s%s} | {%s%s%s%s}", round, rounds,
		      mask & 1 ? " 0" : "", mask & 2 ? " 1" : "", mask & 4 ? " 2" : "",
		      mask & 8 ? " 3" : "", mask & 1 ? "" : " 0", mask & 2 ? "" : " 1",
		      mask & 4 ? "" : " 2", mask & 8 ? "" : " 3");
		if (netns_mode) {
			for (size_t a = 0; a < nl; a++)
				for (size_t b = 0; b < nr; b++) {
					link_set(left[a], right[b], false);
					t->faults++;
				}
			double until = h_now() + 15;
			while (h_now() < until && (peer_connected(r, left[0], right[0]) ||
			                           peer_connected(r, right[0], left[0])))
				h_sleep_ms(100);
			CHECK(!peer_connected(r, left[0], right[0]),
			      "the sides still see each other 15 s after the cut");
			h_log("links cut, the sides see each other disconnected");
			/* both sides write at the same time, interleaved, to own and shared cells
			 */
			for (unsigned w = 0; w < writes; w++)
				for (size_t i = 0; i < N; i++) {
					char v[64];
					snprintf(v, sizeof(v), "%s r%u w%u", r->nodes[i].name,
					         round, w);
					write_own(r, t, i, (int)round, (int)w);
					CHECK(h_write_text(r, i, "organisation",
					                   rows[chaos_rand(0, ROWS - 1)], "code",
					                   v) == 0,
					      "contested write");
				}
			/* the cut is real: a row written on the left does not reach the right */
			h_rowid(probe);
			CHECK(h_write_text(r, left[0], "organisation", probe, "name", "probe") == 0,
			      "probe write");
			CHECK(chaos_converge(r, left, nl, 20000), "the left side did not converge");
			CHECK(chaos_converge(r, right, nr, 20000),
			      "the right side did not converge");
			/* hold the cut: long enough for ZMTP heartbeats to drop connections */
			h_sleep_ms(chaos_long() ? (int)chaos_rand(3000, 15000)
			                        : (int)chaos_rand(500, 2000));
			CHECK(h_get_text(r, right[0], "organisation", probe, "name", got,
			                 sizeof(got)) == ARR_ENOTFOUND,
			      "a row crossed the partition");
			t->checks++;
			{
				char dl[65], dr[65];
				CHECK(h_digest(r, left[0], dl) == 0 &&
				          h_digest(r, right[0], dr) == 0,
				      "digest");
				CHECK(strcmp(dl, dr) != 0, "the sides agree during the partition");
				h_log("during the cut: left %.12s..., right %.12s..., probe row "
				      "absent "
				      "on the right",
				      dl, dr);
			}
			for (size_t a = 0; a < nl; a++)
				for (size_t b = 0; b < nr; b++)
					link_set(left[a], right[b], true);
		} else {
			/* one side frozen at a time: no concurrent writes, but real divergence */
			for (size_t b = 0; b < nr; b++)
				h_pause(r, right[b]);
			t->faults++;
			h_sleep_ms(1500);
			for (unsigned w = 0; w < writes; w++)
				for (size_t a = 0; a < nl; a++)
					write_own(r, t, left[a], (int)round, (int)w);
			for (size_t a = 0; a < nl; a++)
				h_pause(r, left[a]);
			for (size_t b = 0; b < nr; b++)
				h_resume(r, right[b]);
			t->faults++;
			h_sleep_ms(1500);
			for (unsigned w = 0; w < writes; w++)
				for (size_t b = 0; b < nr; b++)
					write_own(r, t, right[b], (int)round, (int)w);
			for (size_t a = 0; a < nl; a++)
				h_resume(r, left[a]);
		}
		t0 = h_now();
		CHECK(chaos_converge(r, all, N, 60000),
		      "round %u: no single digest 60 s after healing", round);
		h_log("healed: one digest on all %d nodes %.2f s after the links came back", N,
		      h_now() - t0);
		chaos_check_crashes(r, all, N);
		CHECK(t->crashes == 0, "a daemon crashed");
	}

	for (size_t i = 0; i < N; i++) {
		size_t have = chaos_db_rows_present(r, i, "organisation", "name", acked.ids,
		                                    acked.vals, acked.n);
		if (have != acked.n) {
			h_log("LOST: %s has %zu of %zu acknowledged rows", r->nodes[i].name, have,
			      acked.n);
			t->lost += acked.n - have;
		}
		t->checks++;
		chaos_count_quarantine(r, i);
	}
	for (size_t i = 0; i < N; i++)
		h_stop(r, i);
	for (size_t i = 0; i < N; i++) {
		CHECK(chaos_db_integrity_ok(r, i), "integrity_check on %s", r->nodes[i].name);
		chaos_log_fold(r, i);
	}
	chaos_check_crashes(r, all, N);
	h_log("%zu acknowledged rows on all %d replicas (%s mode)", acked.n, N,
	      netns_mode ? "netns" : "SIGSTOP");
	return chaos_end();
}
