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
		check_log("partition mode: SIGSTOP/SIGCONT (forced by CHAOS_PARTITION_MODE=stop)");
		return false;
	}
	if (geteuid() != 0) {
		check_log("partition mode: SIGSTOP/SIGCONT (network namespaces need root)");
		return false;
	}
	atexit(netns_cleanup);
	for (size_t i = 0; i < N; i++) {
		snprintf(ns[i], sizeof(ns[i]), "arrchaos%d-%zu", (int)getpid(), i);
		if (sh("ip netns add %s", ns[i]) != 0) {
			check_log("partition mode: SIGSTOP/SIGCONT (ip netns add failed)");
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
	check_log(
	    "partition mode: network namespaces (%d namespaces, %d veth pairs, links cut with "
	    "ip link set down)",
	    N, N * (N - 1) / 2);
	return true;
fail:
	check_log("partition mode: SIGSTOP/SIGCONT (veth setup failed)");
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

/* The run's acknowledged rows (chaos_acked()). */
static struct chaos_acked *acked;

/* One acknowledged write of a fresh row on node i. */
static void
write_own(struct region *r, struct chaos_tally *t, size_t i, int round, int k)
{
	CHECK(acked->n < CHAOS_MAX_ACKED, "too many rows");
	rng_rowid(acked->ids[acked->n]);
	snprintf(acked->vals[acked->n], sizeof(acked->vals[0]), "%s r%d w%d", r->nodes[i].name,
	         round, k);
	CHECK(apiclient_write_text(region_api(r, i), "organisation", acked->ids[acked->n], "name",
	                           acked->vals[acked->n]) == 0,
	      "write on %s", r->nodes[i].name);
	acked->n++;
	t->acked++;
}

/* Start every node: in its own network namespace in netns mode, on loopback otherwise. */
static void
start_nodes(struct region *r)
{
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
			region_conf_write(r, i, "0.0.0.0",
			                  "heartbeat_ms = 200\npull_interval_ms = 1000\n");
			region_members_hosts(r, i, hosts);
			region_start_opts(r, i, &(struct region_start_opts){.netns = ns[i]});
		} else {
			region_start(r, i);
		}
	}
}

/* The two sides of one round's partition. */
struct sides {
	size_t left[N], right[N], nl, nr;
};

/* Cut every link between the sides and wait until they see each other disconnected. */
static void
netns_cut(struct region *r, struct chaos_tally *t, const struct sides *sd)
{
	double until;

	for (size_t a = 0; a < sd->nl; a++)
		for (size_t b = 0; b < sd->nr; b++) {
			link_set(sd->left[a], sd->right[b], false);
			t->faults++;
		}
	until = mono_s() + 15;
	while (mono_s() < until && (region_peer_state(r, sd->left[0], sd->right[0]) == 1 ||
	                            region_peer_state(r, sd->right[0], sd->left[0]) == 1))
		proc_sleep_ms(100);
	CHECK(region_peer_state(r, sd->left[0], sd->right[0]) != 1,
	      "the sides still see each other 15 s after the cut");
	check_log("links cut, the sides see each other disconnected");
}

/* The cut is real: a row written on the left does not reach the right; digests differ. */
static void
netns_check_cut(struct region *r, struct chaos_tally *t, const struct sides *sd)
{
	char probe[37], got[64], dl[65], dr[65];

	rng_rowid(probe);
	CHECK(apiclient_write_text(region_api(r, sd->left[0]), "organisation", probe, "name",
	                           "probe") == 0,
	      "probe write");
	CHECK(chaos_converge(r, sd->left, sd->nl, 20000), "the left side did not converge");
	CHECK(chaos_converge(r, sd->right, sd->nr, 20000), "the right side did not converge");
	/* hold the cut: long enough for ZMTP heartbeats to drop connections */
	proc_sleep_ms(chaos_long() ? (int)rng_range(3000, 15000) : (int)rng_range(500, 2000));
	CHECK(apiclient_get_text(region_api(r, sd->right[0]), "organisation", probe, "name", got,
	                         sizeof(got)) == ARR_ENOTFOUND,
	      "a row crossed the partition");
	t->checks++;
	CHECK(apiclient_digest(region_api(r, sd->left[0]), dl) == 0 &&
	          apiclient_digest(region_api(r, sd->right[0]), dr) == 0,
	      "digest");
	CHECK(strcmp(dl, dr) != 0, "the sides agree during the partition");
	check_log("during the cut: left %.12s..., right %.12s..., probe row absent on the right",
	          dl, dr);
}

/* A round with the links between the sides cut, both sides writing at once. */
static void
round_netns(struct region *r, struct chaos_tally *t, char rows[ROWS][37], unsigned round,
            unsigned writes, const struct sides *sd)
{
	netns_cut(r, t, sd);
	/* both sides write at the same time, interleaved, to own and shared cells */
	for (unsigned w = 0; w < writes; w++)
		for (size_t i = 0; i < N; i++) {
			char v[64];
			snprintf(v, sizeof(v), "%s r%u w%u", r->nodes[i].name, round, w);
			write_own(r, t, i, (int)round, (int)w);
			CHECK(apiclient_write_text(region_api(r, i), "organisation",
			                           rows[rng_range(0, ROWS - 1)], "code", v) == 0,
			      "contested write");
		}
	netns_check_cut(r, t, sd);
	for (size_t a = 0; a < sd->nl; a++)
		for (size_t b = 0; b < sd->nr; b++)
			link_set(sd->left[a], sd->right[b], true);
}

/* A round without netns: one side frozen at a time, no concurrent writes, but real divergence. */
static void
round_frozen(struct region *r, struct chaos_tally *t, unsigned round, unsigned writes,
             const struct sides *sd)
{
	for (size_t b = 0; b < sd->nr; b++)
		fault_pause(r, sd->right[b]);
	t->faults++;
	proc_sleep_ms(1500);
	for (unsigned w = 0; w < writes; w++)
		for (size_t a = 0; a < sd->nl; a++)
			write_own(r, t, sd->left[a], (int)round, (int)w);
	for (size_t a = 0; a < sd->nl; a++)
		fault_pause(r, sd->left[a]);
	for (size_t b = 0; b < sd->nr; b++)
		fault_resume(r, sd->right[b]);
	t->faults++;
	proc_sleep_ms(1500);
	for (unsigned w = 0; w < writes; w++)
		for (size_t b = 0; b < sd->nr; b++)
			write_own(r, t, sd->right[b], (int)round, (int)w);
	for (size_t a = 0; a < sd->nl; a++)
		fault_resume(r, sd->left[a]);
}

/* One round: a random partition, writes on both sides, then one digest after healing. */
static void
run_round(struct region *r, struct chaos_tally *t, char rows[ROWS][37], unsigned round,
          unsigned rounds, const size_t all[N])
{
	unsigned mask = rng_range(1, (1u << N) - 2), writes = chaos_long() ? 20 : 4;
	struct sides sd = {.nl = 0, .nr = 0};
	double t0;

	for (size_t i = 0; i < N; i++) {
		if (mask & (1u << i))
			sd.left[sd.nl++] = i;
		else
			sd.right[sd.nr++] = i;
	}
	check_log("== round %u/%u: partition {%s%s%s%s} | {%s%s%s%s}", round, rounds,
	          mask & 1 ? " 0" : "", mask & 2 ? " 1" : "", mask & 4 ? " 2" : "",
	          mask & 8 ? " 3" : "", mask & 1 ? "" : " 0", mask & 2 ? "" : " 1",
	          mask & 4 ? "" : " 2", mask & 8 ? "" : " 3");
	if (netns_mode)
		round_netns(r, t, rows, round, writes, &sd);
	else
		round_frozen(r, t, round, writes, &sd);
	t0 = mono_s();
	CHECK(chaos_converge(r, all, N, 60000), "round %u: no single digest 60 s after healing",
	      round);
	check_log("healed: one digest on all %d nodes %.2f s after the links came back", N,
	          mono_s() - t0);
	chaos_check_crashes(r, all, N);
	CHECK(t->crashes == 0, "a daemon crashed");
}

int
main(void)
{
	struct chaos_tally *t = chaos_begin("partition", 2, 10);
	struct region *r = region_new_test("partition", N, 200, 1000);
	const size_t all[N] = {0, 1, 2, 3};
	char rows[ROWS][37];
	unsigned rounds = chaos_iterations();

	acked = chaos_acked();
	netns_mode = netns_setup();
	start_nodes(r);
	region_write_rows(r, rows, ROWS, "baseline");
	CHECK(chaos_converge(r, all, N, 20000), "no convergence on the baseline");
	check_log("baseline converged");
	for (unsigned round = 1; round <= rounds; round++)
		run_round(r, t, rows, round, rounds, all);
	for (size_t i = 0; i < N; i++) {
		chaos_check_acked(r, i);
		chaos_count_quarantine(r, i);
	}
	for (size_t i = 0; i < N; i++)
		region_stop(r, i);
	for (size_t i = 0; i < N; i++) {
		CHECK(chaos_db_integrity_ok(r, i), "integrity_check on %s", r->nodes[i].name);
		chaos_log_fold(r, i);
	}
	chaos_check_crashes(r, all, N);
	check_log("%zu acknowledged rows on all %d replicas (%s mode)", acked->n, N,
	          netns_mode ? "netns" : "SIGSTOP");
	return chaos_end();
}
