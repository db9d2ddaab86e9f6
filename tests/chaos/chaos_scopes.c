/*
 * chaos_scopes.c: the fault suite with every arrangement in a case scope (issue 19,
 * PROTOCOL.md "Scopes"). Five daemons in a full mesh with grant_on_create = none: node0
 * opens NARR arrangements (each its own scope, node0 its owner) and grants nodes 1..3
 * "care", node1 "admin,care" on the first, so that an admin issues policy too. Each round
 * splits the region in two, node0 and node1 apart: the admin's side is killed (SIGKILL)
 * while the owner's side writes summaries and issues policy; then the owner's side is
 * frozen (SIGSTOP) and the admin's side restarts knowing nothing of it (checked), writes
 * and issues its own policy; then the owner's side resumes. On the first arrangement one
 * issuer REVOKEs a party while the other GRANTs a node (sometimes the party just
 * revoked); the owner also revokes or grants on another arrangement. After healing: one
 * log digest on every node and the owner shows the last acknowledged summary of each
 * arrangement; then the owner writes a final summary, and every reader (scope.show on the
 * owner, as the grants and revokes make them) has one scope digest, lists the same
 * readers and shows it, no other node does; nothing is quarantined, no daemon crashed.
 * Test code only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient.h"
#include "arrerr.h"
#include "chaos.h"

#define N     5
#define NARR  3
#define OWNER 0
#define ADMIN 1

static struct region *r;
static struct chaos_tally *t;
static char arr[NARR][37];
static bool reader[NARR][N]; /* readers of each scope as the owner last showed them */
static char last[NARR][64];  /* the last acknowledged summary of each arrangement */
static bool busy[NARR][N];   /* the round's grant and revoke targets: they do not write */
static unsigned long writes, grants, revokes, regrants, kills;
static size_t revoked0; /* the party the owner revoked on the first arrangement this round */
static double converge_max;

/* Keep the slowest convergence. */
static void
took(double s)
{
	if (s > converge_max)
		converge_max = s;
}

/* The "log" and the content "digest" (of scope id, or all when NULL) on node i; 0 or code. */
static int
digests(size_t i, const char *id, char log[65], char content[65])
{
	struct req rq;
	struct reply rp;
	const msgpack_object *o;
	int rc;

	log[0] = content[0] = '\0';
	req_begin(&rq, "digest", id != NULL ? 1 : 0);
	if (id != NULL) {
		req_str(&rq, "scope");
		req_str(&rq, id);
	}
	if ((rc = region_call(r, i, &rq, &rp, &o)) == 0) {
		obj_strcpy(obj_get(o, "log"), log, 65);
		obj_strcpy(obj_get(o, "digest"), content, 65);
	}
	req_free(&rq);
	reply_free(&rp);
	return rc;
}

/* Open arrangement k on the owner: a child and the arrangement, its summary "open". */
static void
open_arrangement(size_t k, const char child[37])
{
	struct req_op ops[] = {
	    {.table = "child", .column = "ref", .value = value_text("TD-2019-CHAOS")},
	    {.table = "arrangement", .column = "child_id", .value = value_text(child)},
	    {.table = "arrangement", .column = "kind", .value = value_text("oza")},
	    {.table = "arrangement", .column = "status", .value = value_text("draft")},
	    {.table = "arrangement", .column = "summary", .value = value_text("open")},
	};
	struct req rq;
	struct reply rp;
	int rc;

	memcpy(ops[0].id, child, sizeof(ops[0].id));
	for (size_t j = 1; j < 5; j++)
		memcpy(ops[j].id, arr[k], sizeof(ops[j].id));
	req_begin(&rq, "write", 1);
	req_str(&rq, "ops");
	req_ops(&rq, ops, 5);
	rc = region_call(r, OWNER, &rq, &rp, NULL);
	CHECK(rc == 0, "open arrangement %zu: %s", k, rp.message);
	req_free(&rq);
	reply_free(&rp);
	snprintf(last[k], sizeof(last[k]), "open");
}

/* A GRANT (roles != NULL) or REVOKE of member on arrangement k, issued by node issuer. */
static void
policy(size_t issuer, size_t k, size_t member, const char *roles)
{
	struct req rq;
	struct reply rp;
	int rc;

	req_begin(&rq, roles != NULL ? "scope.grant" : "scope.revoke", roles != NULL ? 3 : 2);
	req_str(&rq, "scope");
	req_str(&rq, arr[k]);
	req_str(&rq, "member");
	req_str(&rq, r->nodes[member].name);
	if (roles != NULL) {
		req_str(&rq, "roles");
		req_str(&rq, roles);
	}
	rc = region_call(r, issuer, &rq, &rp, NULL);
	req_free(&rq);
	CHECK(rc == 0, "%s of %s on arrangement %zu by %s: %s", roles ? "grant" : "revoke",
	      r->nodes[member].name, k, r->nodes[issuer].name, rp.message);
	reply_free(&rp);
	check_log("%s: %s %s on arrangement %zu", r->nodes[issuer].name,
	          roles ? "grants" : "revokes", r->nodes[member].name, k);
	busy[k][member] = true;
	reader[k][member] = roles != NULL;
	if (roles != NULL)
		grants++;
	else
		revokes++;
	t->faults++;
}

/* Node i writes a unique summary into arrangement k; the acknowledged value is the last. */
static void
write_summary(size_t i, size_t k, const char *what)
{
	char v[64];

	snprintf(v, sizeof(v), "%s %s #%lu", r->nodes[i].name, what, writes);
	CHECK(apiclient_write_text(region_api(r, i), "arrangement", arr[k], "summary", v) == 0,
	      "write of arrangement %zu's summary on %s", k, r->nodes[i].name);
	snprintf(last[k], sizeof(last[k]), "%s", v);
	writes++;
	t->acked++;
}

/* The readers of arrangement k as scope.show on node i names them. */
static void
load_readers(size_t k, size_t i)
{
	struct req rq;
	struct reply rp;
	const msgpack_object *o, *rd;

	memset(reader[k], 0, sizeof(reader[k]));
	req_begin(&rq, "scope.show", 1);
	req_str(&rq, "scope");
	req_str(&rq, arr[k]);
	CHECK(region_call(r, i, &rq, &rp, &o) == 0, "scope.show on %s: %s", r->nodes[i].name,
	      rp.message);
	rd = obj_get(o, "readers");
	CHECK(rd != NULL && rd->type == MSGPACK_OBJECT_ARRAY, "scope.show without readers");
	for (uint32_t e = 0; e < rd->via.array.size; e++) {
		char name[32];

		CHECK(obj_strcpy(obj_get(&rd->via.array.ptr[e], "name"), name, sizeof(name)),
		      "a reader without a name");
		for (size_t j = 0; j < N; j++)
			if (strcmp(name, r->nodes[j].name) == 0)
				reader[k][j] = true;
	}
	req_free(&rq);
	reply_free(&rp);
	CHECK(reader[k][OWNER], "the owner is not a reader of arrangement %zu", k);
}

/* Whether every node has one log digest and, with scopes, each scope's readers one digest. */
static bool
agreed(bool scopes, bool report)
{
	char l0[65], l[65], c0[65], c[65];
	bool ok = digests(0, NULL, l0, c0) == 0;

	for (size_t i = 1; ok && i < N; i++)
		ok = digests(i, NULL, l, c) == 0 && strcmp(l, l0) == 0;
	for (size_t k = 0; ok && scopes && k < NARR; k++) {
		CHECK(digests(OWNER, arr[k], l, c0) == 0, "scope digest on the owner");
		for (size_t i = 1; i < N; i++) {
			if (!reader[k][i])
				continue;
			if (digests(i, arr[k], l, c) != 0 || strcmp(c, c0) != 0) {
				if (report)
					check_log("DIVERGED: arrangement %zu: %s has %.16s..., "
					          "the owner %.16s...",
					          k, r->nodes[i].name, c, c0);
				ok = false;
			}
		}
	}
	return ok;
}

/* Wait until agreed(); on time out count the divergence and fail. Returns the seconds. */
static double
converge(bool scopes, const char *when)
{
	double t0 = mono_s(), until = t0 + 60;

	while (!agreed(scopes, false)) {
		if (mono_s() > until) {
			agreed(scopes, true);
			t->diverged++;
			check_log("DIVERGED: no agreement 60 s %s", when);
			exit(chaos_end());
		}
		proc_sleep_ms(100);
	}
	t->checks++;
	return mono_s() - t0;
}

/* Writes of every arrangement on side (k nodes) by readers that are not busy. */
static void
side_writes(const size_t *side, size_t n, unsigned round, const char *tag)
{
	unsigned per = chaos_long() ? 6 : 2;

	for (size_t k = 0; k < NARR; k++)
		for (unsigned w = 0; w < per; w++) {
			size_t i = side[rng_range(0, (uint32_t)n - 1)];
			char what[32];

			if (!reader[k][i] || busy[k][i])
				continue;
			snprintf(what, sizeof(what), "r%u %s w%u", round, tag, w);
			write_summary(i, k, what);
		}
}

/* A party of k to revoke (not the owner, not the admin of the first) or a node to grant. */
static bool
pick(size_t k, bool revoke, size_t *out)
{
	size_t cand[N], n = 0;

	for (size_t i = 1; i < N; i++)
		if (reader[k][i] == revoke && !busy[k][i] && !(k == 0 && i == ADMIN))
			cand[n++] = i;
	if (n == 0)
		return false;
	*out = cand[rng_range(0, (uint32_t)n - 1)];
	return true;
}

/*
 * The policy of one side: its issuer revokes a party of the first arrangement or grants
 * a node on it; with regrant (the admin, after the owner revoked) it grants the node the
 * owner has just revoked, concurrently: that GRANT survives the REVOKE. The owner also
 * revokes or grants on another arrangement.
 */
static void
side_policy(size_t issuer, bool revoke, bool regrant)
{
	size_t m, k = rng_range(1, NARR - 1);

	if (regrant && revoked0 < N) {
		policy(issuer, 0, revoked0, "care");
		regrants++;
	} else if (pick(0, revoke, &m)) {
		policy(issuer, 0, m, revoke ? NULL : "care");
		if (revoke)
			revoked0 = m;
	}
	if (issuer == OWNER && pick(k, rng_range(0, 1) == 1, &m))
		policy(OWNER, k, m, reader[k][m] ? NULL : "care");
}

/* With the nodes of the other side frozen, one side writes and issues policy. */
static void
phase(const size_t *run, size_t nrun, unsigned round, bool revoke, bool regrant)
{
	proc_sleep_ms(300);
	side_writes(run, nrun, round, "a");
	side_policy(run[0], revoke, regrant);
	side_writes(run, nrun, round, "b");
}

/* Every reader of arrangement k shows the readers the owner shows. */
static void
check_readers(size_t k)
{
	bool mine[N];

	memcpy(mine, reader[k], sizeof(mine));
	for (size_t i = 1; i < N; i++) {
		if (!mine[i])
			continue;
		load_readers(k, i);
		if (memcmp(mine, reader[k], sizeof(mine)) != 0) {
			check_log("DIVERGED: %s and the owner disagree on the readers of "
			          "arrangement %zu",
			          r->nodes[i].name, k);
			t->diverged++;
		} else {
			t->checks++;
		}
	}
	memcpy(reader[k], mine, sizeof(mine));
}

/* After healing: the owner shows the last acknowledged summary of each arrangement. */
static void
check_last(void)
{
	char v[256];

	for (size_t k = 0; k < NARR; k++) {
		CHECK(apiclient_get_text(region_api(r, OWNER), "arrangement", arr[k], "summary", v,
		                         sizeof(v)) == 0,
		      "the owner cannot read arrangement %zu", k);
		if (strcmp(v, last[k]) != 0) {
			check_log("LOST: arrangement %zu shows '%s' on the owner, the last "
			          "acknowledged write was '%s'",
			          k, v, last[k]);
			t->lost++;
		} else {
			t->checks++;
		}
	}
}

/* A final summary by the owner: every reader shows it, no other node does. */
static void
check_final(unsigned round)
{
	char v[256], what[32];

	snprintf(what, sizeof(what), "r%u final", round);
	for (size_t k = 0; k < NARR; k++)
		write_summary(OWNER, k, what);
	for (size_t k = 0; k < NARR; k++) {
		bool expected[N];

		memcpy(expected, reader[k], sizeof(expected));
		load_readers(k, OWNER);
		if (memcmp(expected, reader[k], sizeof(expected)) != 0) {
			check_log("DIVERGED: the readers of arrangement %zu are not those the "
			          "grants and revokes make",
			          k);
			t->diverged++;
		}
	}
	took(converge(true, "after the final writes"));
	for (size_t k = 0; k < NARR; k++)
		check_readers(k);
	for (size_t k = 0; k < NARR; k++)
		for (size_t i = 0; i < N; i++) {
			int rc = apiclient_get_text(region_api(r, i), "arrangement", arr[k],
			                            "summary", v, sizeof(v));
			bool shows = rc == 0 && strcmp(v, last[k]) == 0;

			if (shows != reader[k][i]) {
				check_log(
				    "DIVERGED: %s (%s) %s the final summary of arrangement %zu",
				    r->nodes[i].name, reader[k][i] ? "reader" : "not a reader",
				    shows ? "shows" : "does not show", k);
				t->diverged++;
			} else {
				t->checks++;
			}
		}
}

/*
 * The partition is real: the admin, restarted while the owner's side is frozen, has seen
 * none of that side's writes of the first arrangement this round (before is its summary
 * when the round began).
 */
static void
check_cut(const char *before)
{
	char v[256];

	if (strcmp(before, last[0]) == 0)
		return;
	CHECK(apiclient_get_text(region_api(r, ADMIN), "arrangement", arr[0], "summary", v,
	                         sizeof(v)) == 0,
	      "the admin cannot read the first arrangement");
	CHECK(strcmp(v, last[0]) != 0, "a write crossed the partition: the admin shows '%s'", v);
	t->checks++;
}

/* Split the region: the owner on the left, the admin on the right, the rest at random. */
static void
split(size_t left[N], size_t *nl, size_t right[N], size_t *nr)
{
	left[0] = OWNER;
	right[0] = ADMIN;
	*nl = *nr = 1;
	for (size_t i = 2; i < N; i++) {
		if (rng_range(0, 1))
			left[(*nl)++] = i;
		else
			right[(*nr)++] = i;
	}
}

/*
 * One round: the admin's side is killed (SIGKILL) while the owner's side writes and
 * issues policy; then the owner's side is frozen (SIGSTOP) and the admin's side restarts,
 * knowing nothing of it, writes and issues its policy; then the owner's side resumes.
 */
static void
run_round(unsigned round, unsigned rounds, const size_t all[N])
{
	size_t left[N], right[N], nl, nr;
	bool owner_revokes = rng_range(0, 1) == 1, regrant = owner_revokes && rng_range(0, 2) == 0;
	char before[64];
	double heal;

	memset(busy, 0, sizeof(busy));
	revoked0 = N;
	split(left, &nl, right, &nr);
	check_log("== round %u/%u: %zu nodes with the owner, %zu with the admin; the %s revokes%s",
	          round, rounds, nl, nr, owner_revokes ? "owner" : "admin",
	          regrant ? ", the admin grants the same party at once" : "");
	snprintf(before, sizeof(before), "%s", last[0]);
	for (size_t j = 0; j < nr; j++) {
		CHECK(fault_kill(r, right[j], NULL), "%s had exited on its own",
		      r->nodes[right[j]].name);
		kills++;
		t->faults++;
	}
	phase(left, nl, round, owner_revokes, false);
	for (size_t j = 0; j < nl; j++)
		fault_pause(r, left[j]);
	t->faults++;
	for (size_t j = 0; j < nr; j++)
		region_start(r, right[j]);
	check_cut(before);
	phase(right, nr, round, !owner_revokes, regrant);
	for (size_t j = 0; j < nl; j++)
		fault_resume(r, left[j]);
	heal = converge(false, "after healing");
	took(heal);
	check_log("healed: one log digest on all %d nodes after %.2f s", N, heal);
	check_last();
	check_final(round);
	chaos_check_crashes(r, all, N);
	CHECK(t->crashes == 0 && t->lost == 0 && t->diverged == 0, "round %u failed", round);
}

/* Node0 opens the arrangements and grants nodes 1..3; node1 is an admin of the first. */
static void
setup(void)
{
	for (size_t k = 0; k < NARR; k++) {
		char child[37];

		rng_rowid(arr[k]);
		rng_rowid(child);
		open_arrangement(k, child);
		for (size_t i = 1; i <= 3; i++)
			policy(OWNER, k, i, k == 0 && i == ADMIN ? "admin,care" : "care");
	}
	memset(busy, 0, sizeof(busy));
	for (size_t k = 0; k < NARR; k++)
		load_readers(k, OWNER);
	converge(true, "after the grants");
	check_log("baseline: %d arrangements, each read by the owner and 3 parties", NARR);
}

int
main(void)
{
	const size_t all[N] = {0, 1, 2, 3, 4};
	unsigned rounds;
	double t0;

	t = chaos_begin("scopes", 4, 20);
	rounds = chaos_iterations();
	r = region_new(&(struct region_opts){.tag = "chaosscopes",
	                                     .sync_conf = "heartbeat_ms = 200\n"
	                                                  "pull_interval_ms = 1000\n",
	                                     .scopes_conf = "grant_on_create = none\n",
	                                     .self_endpoint = true,
	                                     .verbose = true,
	                                     .debug = true,
	                                     .start_s = 30,
	                                     .stop_s = 15},
	               N);
	for (size_t i = 0; i < N; i++)
		region_start(r, i);
	t0 = mono_s();
	setup();
	for (unsigned round = 1; round <= rounds; round++)
		run_round(round, rounds, all);
	for (size_t i = 0; i < N; i++) {
		int q = apiclient_quarantine_count(region_api(r, i));

		CHECK(q >= 0, "quarantine.list on %s", r->nodes[i].name);
		if (q > 0) {
			check_log("QUARANTINE: %s holds %d change sets", r->nodes[i].name, q);
			t->diverged++;
		}
		chaos_count_quarantine(r, i);
	}
	for (size_t i = 0; i < N; i++)
		region_stop(r, i);
	for (size_t i = 0; i < N; i++) {
		CHECK(chaos_db_integrity_ok(r, i), "integrity_check on %s", r->nodes[i].name);
		chaos_log_fold(r, i);
	}
	chaos_check_crashes(r, all, N);
	check_log("scopes: %u rounds, %lu writes, %lu grants (%lu concurrent with a revoke of "
	          "the same party), %lu revokes, %lu kills, %.1f s; slowest convergence %.2f s",
	          rounds, writes, grants, regrants, revokes, kills, mono_s() - t0, converge_max);
	return chaos_end();
}
