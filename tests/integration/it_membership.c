/*
 * it_membership.c: the region's membership as signed replicated data, on real daemons. A
 * region of four (node 0 the registrar, all four in the seed file) admits node 4 with a
 * member.add on node 0: without a restart or an edited file, the others' ZAP handlers admit
 * it and its rows flow both ways. A non-registrar's add is refused with its reason. Node 0
 * removes node 3: every node closes node 3's connections and refuses its redials (metric and
 * a log line naming the reason), node 3's later rows reach nobody, while the ones it wrote
 * as a member stay valid, also on node 4, which joined last and verifies the whole history
 * (nothing quarantined, equal digests). Node 4 was handed the region's seed file with its
 * own section added (the air-gapped way in; invitations are not used here).
 */
#include <stdio.h>
#include <string.h>

#include "apiclient.h"
#include "arrerr.h"
#include "check.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "region.h"
#include "regionjoin.h"
#include "req.h"
#include "rng.h"
#include "tmpdir.h"

#define N      5
#define JOINER 4
#define GONE   3

/* The seed file of node i: nodes with include[j], node 0 a registrar (gemeente). */
static void
seed_write(struct region *r, size_t i, const bool *include)
{
	char text[4096];
	size_t len = 0;

	text[0] = '\0';
	for (size_t j = 0; j < r->n; j++) {
		const struct region_node *m = &r->nodes[j];

		if (!include[j])
			continue;
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        "[%s]\norganisation = %s\npublic_key = %s\nkind = %s\n%s",
		                        m->name, m->org, m->pubhex, j == 0 ? "gemeente" : "school",
		                        j == 0 ? "roles = registrar\n" : "");
		if (j != i)
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			                        "endpoint = tcp://127.0.0.1:%d\n", m->port);
		len += (size_t)snprintf(text + len, sizeof(text) - len, "\n");
	}
	tmpdir_write(r->nodes[i].members, text);
}

/* member.add of node j on node i: its code, the refusal in why. */
static int
add(struct region *r, size_t i, size_t j, char *why, size_t len)
{
	struct reply rp;
	struct req rq;
	char ep[64];
	int rc;

	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", r->nodes[j].port);
	req_begin(&rq, "member.add", 4);
	req_str(&rq, "key");
	req_str(&rq, r->nodes[j].pubhex);
	req_str(&rq, "organisation");
	req_str(&rq, r->nodes[j].org);
	req_str(&rq, "kind");
	req_str(&rq, "provider");
	req_str(&rq, "endpoint");
	req_str(&rq, ep);
	rc = region_call(r, i, &rq, &rp, NULL);
	snprintf(why, len, "%s", rp.message);
	req_free(&rq);
	reply_free(&rp);
	return rc;
}

/* member.remove of node j on node i. */
static int
remove_member(struct region *r, size_t i, size_t j)
{
	struct reply rp;
	struct req rq;
	int rc;

	req_begin(&rq, "member.remove", 1);
	req_str(&rq, "member");
	req_str(&rq, r->nodes[j].pubhex);
	rc = region_call(r, i, &rq, &rp, NULL);
	req_free(&rq);
	reply_free(&rp);
	return rc;
}

/* The state member.show on node i reports of node j ("member", "removed"), into out. */
static void
state_of(struct region *r, size_t i, size_t j, char *out, size_t len)
{
	const msgpack_object *o, *s;
	struct reply rp;
	struct req rq;

	out[0] = '\0';
	req_begin(&rq, "member.show", 1);
	req_str(&rq, "member");
	req_str(&rq, r->nodes[j].pubhex);
	if (region_call(r, i, &rq, &rp, &o) == 0 && (s = obj_get(o, "state")) != NULL &&
	    s->type == MSGPACK_OBJECT_STR)
		snprintf(out, len, "%.*s", (int)s->via.str.size, s->via.str.ptr);
	req_free(&rq);
	reply_free(&rp);
}

/* Phase 1: node 4 is refused until node 0 adds it; then it syncs both ways. */
static void
grow(struct region *r, char (*rows)[37])
{
	const size_t all[] = {0, 1, 2, 3, 4};
	char why[300];

	proc_sleep_ms(1500);
	CHECK(region_metric(r, 1, "arrangd_peer_connections_refused_total") >= 1,
	      "node 1 did not refuse the outsider");
	CHECK(add(r, 1, JOINER, why, sizeof(why)) == ARR_EFORBIDDEN &&
	          strstr(why, "not a registrar") != NULL,
	      "a non-registrar's add was not refused with its reason (%s)", why);
	CHECK(add(r, 0, JOINER, why, sizeof(why)) == 0, "node 0's add failed: %s", why);
	for (size_t i = 0; i < N; i++)
		CHECK(regionjoin_wait_metric(r, i, "arrangd_members", N, 15000),
		      "node %zu does not count %d members", i, N);
	CHECK(apiclient_wait_text(region_api(r, 2), "organisation", rows[JOINER], "name",
	                          r->nodes[JOINER].name, 15000),
	      "the new member's row did not reach node 2");
	CHECK(apiclient_wait_text(region_api(r, JOINER), "organisation", rows[GONE], "name",
	                          r->nodes[GONE].name, 15000),
	      "node 3's row did not reach the new member");
	CHECK(region_wait_converged(r, all, N, 15000), "the region of 5 did not converge");
}

/* Phase 2: node 0 removes node 3; its connections close, its later rows reach nobody. */
static void
shrink(struct region *r, char (*rows)[37])
{
	const size_t rest[] = {0, 1, 2, 4};
	char state[16], got[64];

	CHECK(remove_member(r, 0, GONE) == 0, "node 0 could not remove node 3");
	for (size_t k = 0; k < 4; k++) {
		CHECK(regionjoin_wait_metric(r, rest[k], "arrangd_members", N - 1, 10000),
		      "node %zu still counts node 3", rest[k]);
		state_of(r, rest[k], GONE, state, sizeof(state));
		CHECK(strcmp(state, "removed") == 0, "node %zu shows node 3 as '%s'", rest[k],
		      state);
	}
	CHECK(apiclient_write_text(region_api(r, GONE), "organisation", rows[GONE], "code",
	                           "after-removal") == 0,
	      "write on the removed node");
	proc_sleep_ms(3000);
	for (size_t k = 0; k < 4; k++) {
		got[0] = '\0';
		(void)apiclient_get_text(region_api(r, rest[k]), "organisation", rows[GONE], "code",
		                         got, sizeof(got));
		CHECK(strcmp(got, "after-removal") != 0,
		      "node 3's write after its removal reached node %zu", rest[k]);
		CHECK(apiclient_peer_state(region_api(r, rest[k]), r->nodes[GONE].name) != 1,
		      "node %zu still reports node 3 connected", rest[k]);
		CHECK(region_log_lines(r, rest[k], "no longer a member of the region") >= 1,
		      "node %zu did not log dropping node 3", rest[k]);
	}
	CHECK(region_log_lines(r, 1, "it was removed from the region") >= 1,
	      "node 1 did not log why it refused node 3");
	/* what node 3 wrote as a member stays valid everywhere, on the last joiner too */
	CHECK(region_wait_converged(r, rest, 4, 15000), "the region of 4 did not converge");
	CHECK(apiclient_get_text(region_api(r, JOINER), "organisation", rows[GONE], "name", got,
	                         sizeof(got)) == 0 &&
	          strcmp(got, r->nodes[GONE].name) == 0,
	      "node 3's row from before its removal is not on the last joiner");
	CHECK(apiclient_quarantine_count(region_api(r, JOINER)) == 0,
	      "the last joiner quarantined part of the history");
}

int
main(void)
{
	struct region *r = region_new_test("membership", N, 200, 500);
	const bool seed[N] = {true, true, true, true, false};
	const bool joiner[N] = {true, true, true, true, true};
	char rows[N][37];

	for (size_t i = 0; i < N; i++)
		seed_write(r, i, i == JOINER ? joiner : seed);
	for (size_t i = 0; i < N; i++)
		region_start(r, i);
	for (size_t i = 0; i < N; i++) {
		rng_rowid(rows[i]);
		CHECK(apiclient_write_text(region_api(r, i), "organisation", rows[i], "name",
		                           r->nodes[i].name) == 0,
		      "write on node %zu", i);
	}
	grow(r, rows);
	shrink(r, rows);
	for (size_t i = 0; i < N; i++)
		region_stop(r, i);
	printf("PASS: it_membership (%.1f s)\n", check_elapsed());
	return 0;
}
