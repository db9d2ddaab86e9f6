/*
 * it_overlay.c: the bounded overlay on real daemons (PROTOCOL.md, "Overlay"). A region of
 * eight nodes configured the documented way (one members file listing every member with
 * its endpoint, no [sync] peers or pinned: the default of 4). Every node dials exactly 4
 * of its 7 peers, and a write converges on all. Then two of node0's dialled peers are
 * killed (SIGKILL): node0 judges them down within a few heartbeats, dials two others in
 * their place (still redialling the dead ones: 6 dialled, 4 of them live), and writes on
 * node0 and on another node converge on the six that run. One of the killed nodes starts
 * again: node0 takes it back (5 dialled) and the seven converge.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "apiclient.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "rng.h"

#define N     8
#define HB_MS 200

/* Node i's peers that it dials, by index, into dialled[]; how many. */
static size_t
dialled_of(struct region *r, size_t i, bool dialled[N])
{
	const msgpack_object *o;
	struct reply rp;
	size_t n = 0;

	memset(dialled, 0, N * sizeof(bool));
	CHECK(region_call0(r, i, "peers", &rp, &o) == 0 && o->type == MSGPACK_OBJECT_ARRAY,
	      "peers on node%zu", i);
	for (uint32_t k = 0; k < o->via.array.size; k++) {
		const msgpack_object *e = &o->via.array.ptr[k], *d = obj_get(e, "dialled");

		for (size_t j = 0; j < N; j++)
			if (obj_is_str(obj_get(e, "name"), r->nodes[j].name) && d != NULL &&
			    d->type == MSGPACK_OBJECT_BOOLEAN && d->via.boolean) {
				dialled[j] = true;
				n++;
			}
	}
	reply_free(&rp);
	return n;
}

/* Whether node i's arrangd_peers_dialled reaches want within ms. */
static bool
wait_dialled(struct region *r, size_t i, double want, int ms)
{
	for (double until = mono_s() + ms / 1000.0; mono_s() < until; proc_sleep_ms(100))
		if (region_metric(r, i, "arrangd_peers_dialled") == want)
			return true;
	return false;
}

/* A row written on node i, its value checked on the running nodes idx[0..k). */
static void
write_and_converge(struct region *r, size_t i, const size_t *idx, size_t k, const char *what)
{
	char row[37];
	double t0 = mono_s();

	rng_rowid(row);
	CHECK(apiclient_write_text(region_api(r, i), "organisation", row, "name", what) == 0,
	      "write on node%zu", i);
	for (size_t j = 0; j < k; j++)
		CHECK(apiclient_wait_text(region_api(r, idx[j]), "organisation", row, "name", what,
		                          20000),
		      "%s: not on node%zu", what, idx[j]);
	CHECK(region_wait_converged(r, idx, k, 20000), "%s: digests differ", what);
	check_log("%s: on %zu nodes in %.2f s", what, k, mono_s() - t0);
}

int
main(void)
{
	struct region *r = region_new_test("overlay", N, HB_MS, 60000);
	size_t all[N], live[N], nlive = 0, killed[2], nk = 0, other = 0;
	bool dialled[N];
	double down0;

	for (size_t i = 0; i < N; i++) {
		all[i] = i;
		region_start(r, i);
	}
	/* every node dials 4 of its 7 peers */
	for (size_t i = 0; i < N; i++) {
		CHECK(wait_dialled(r, i, 4, 5000), "node%zu does not dial 4 peers", i);
		CHECK(dialled_of(r, i, dialled) == 4, "node%zu: peers lists other than 4 dialled",
		      i);
	}
	check_log("every node dials 4 of its 7 peers");
	write_and_converge(r, 0, all, N, "Overlay One");

	/* kill two of node0's dialled peers (those that started after it were down a while) */
	down0 = region_metric(r, 0, "arrangd_peer_down_total");
	dialled_of(r, 0, dialled);
	for (size_t j = 1; j < N && nk < 2; j++)
		if (dialled[j]) {
			CHECK(proc_kill(r->nodes[j].pid, NULL), "kill node%zu", j);
			region_forget(r, j);
			killed[nk++] = j;
		}
	check_log("SIGKILL node%zu and node%zu, dialled by node0", killed[0], killed[1]);
	for (size_t j = 0; j < N; j++)
		if (j != killed[0] && j != killed[1])
			live[nlive++] = j;
	/* judged down after 5 heartbeats; replaced, and still redialled */
	CHECK(wait_dialled(r, 0, 6, 10000), "node0 did not replace its two dead peers");
	CHECK(region_metric(r, 0, "arrangd_peer_down_total") == down0 + 2,
	      "node0: peer_down_total did not grow by 2");
	dialled_of(r, 0, dialled);
	CHECK(dialled[killed[0]] && dialled[killed[1]], "node0 gave up redialling the dead");
	check_log("node0 dials 2 others in their place (6 dialled, 4 live)");
	write_and_converge(r, 0, live, nlive, "Overlay Two");
	other = live[nlive - 1];
	write_and_converge(r, other, live, nlive, "Overlay Three");

	/* one comes back: node0 takes it back and drops a replacement */
	region_start(r, killed[0]);
	live[nlive++] = killed[0];
	CHECK(wait_dialled(r, 0, 5, 15000), "node0 did not take node%zu back", killed[0]);
	dialled_of(r, 0, dialled);
	CHECK(dialled[killed[0]], "node0 does not dial node%zu again", killed[0]);
	check_log("node%zu is back: node0 dials it again (5 dialled)", killed[0]);
	CHECK(region_wait_converged(r, live, nlive, 20000), "the seven do not converge");
	write_and_converge(r, killed[0], live, nlive, "Overlay Four");

	region_destroy(&r);
	check_log("ok");
	return 0;
}
