/*
 * chaos_authz.c: part of the fault suite on write authorisation (issue 21, PROTOCOL.md
 * "Write authorisation"): members that write what the role matrix does not let them,
 * through the wire, validly signed. Five members with grant_on_create = none: node0
 * opens an arrangement and grants node1, node2 and node4 "care"; node3 is a member but
 * no party. Then node4 is stopped for good and the test plays node3 and node4 with
 * their own keys (tests/support/peer.c), holding the scope's key as a modified node
 * would:
 *  - node3 (no party) writes the arrangement's summary: masked on every node;
 *  - node3 floods unauthorised writes (funding shares, status) at node1;
 *  - node4 (a party with "care") grants itself admin and funder, then writes the status;
 *  - node4, made a funder by the owner, changes a share bound to the owner's
 *    organisation (denied: funding-own-share) and one bound to its own (authorised);
 *  - node3 issues a REVOKE of the owner.
 * Expected on nodes 0..2, within the time limit: every forged change set is logged and
 * counted (the vectors hold node3's and node4's seqs), the denied lists hold exactly
 * them with the rule broken, arrangd_denied_changesets counts them, nothing is
 * quarantined, the summary and status are the owner's, and the owner's and node1's
 * later writes replicate everywhere and are not denied.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient.h"
#include "arrerr.h"
#include "arrlimits.h"
#include "changeset.h"
#include "chaos.h"
#include "hlc.h"
#include "nodekey.h"
#include "orgid.h"
#include "peer.h"
#include "policy.h"
#include "rowid.h"
#include "shareid.h"
#include "vv.h"

#define N       5
#define OWNER   0
#define OUTSIDE 3 /* a member, never a party */
#define INSIDE  4 /* a party with care, played by the test */

#define MAX_SENT 12000

static struct region *r;
static struct chaos_tally *t;
static struct peer *link3;                  /* the test as node3 and node4, to node1 */
static struct changeset *sent[N][MAX_SENT]; /* what the test signed, by member and seq - 1 */
static char arr[37];
static uint8_t scope[ARR_SCOPE_LEN], skey[ARR_SKEY_LEN];
static uint64_t key_id;

static void
write_text(size_t i, const char *table, const char *id, const char *column, const char *v)
{
	CHECK(apiclient_write_text(region_api(r, i), table, id, column, v) == 0, "%s writes %s.%s",
	      r->nodes[i].name, table, column);
	t->acked++;
}

static void
grant(size_t member, const char *roles)
{
	struct req rq;
	struct reply rp;
	int rc;

	req_begin(&rq, "scope.grant", 3);
	req_str(&rq, "scope");
	req_str(&rq, arr);
	req_str(&rq, "member");
	req_str(&rq, r->nodes[member].name);
	req_str(&rq, "roles");
	req_str(&rq, roles);
	rc = region_call(r, OWNER, &rq, &rp, NULL);
	CHECK(rc == 0, "grant %s: %s", r->nodes[member].name, rp.message);
	req_free(&rq);
	reply_free(&rp);
}

/* The scope's id and first key as the owner's replica keeps them (one scope, one key). */
static void
read_scope_key(void)
{
	char path[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	region_db_path(r, OWNER, path, sizeof(path));
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", path);
	CHECK(sqlite3_prepare_v2(db,
	                         "SELECT s.scope, k.key_id, k.key FROM _skey k JOIN _scope s "
	                         "ON s.id = k.sc",
	                         -1, &st, NULL) == SQLITE_OK &&
	          sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == ARR_SCOPE_LEN &&
	          sqlite3_column_bytes(st, 2) == ARR_SKEY_LEN,
	      "the owner's scope key");
	memcpy(scope, sqlite3_column_blob(st, 0), ARR_SCOPE_LEN);
	key_id = (uint64_t)sqlite3_column_int64(st, 1);
	memcpy(skey, sqlite3_column_blob(st, 2), ARR_SKEY_LEN);
	CHECK(sqlite3_step(st) == SQLITE_DONE, "one scope key");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A data change set of member m's key, seq seq, one op on arrangement-scope row id. */
static struct changeset *
forge(const struct nodekey *k, size_t m, uint64_t seq, const char *table, const char *id,
      const char *column, struct value v)
{
	struct cs_op op = {.table = table, .column = column, .value = v};
	struct cs_header h = {.seq = seq,
	                      .hlc = hlc_make(hlc_wall_ms(), 0),
	                      .author_org = r->nodes[m].org,
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct cs_part_in in = {.kind = CS_DATA, .ops = &op, .nops = 1, .skey = skey};
	struct changeset *cs = NULL;

	memcpy(in.scope, scope, ARR_SCOPE_LEN);
	CHECK(rowid_parse(id, op.row) == 0, "rowid");
	CHECK(changeset_build(k, &h, &in, 1, &cs) == 0, "changeset_build");
	return cs;
}

/* A policy change set p of member m's key, seq seq. */
static struct changeset *
forge_policy(const struct nodekey *k, size_t m, uint64_t seq, const struct cs_policy *p)
{
	struct cs_header h = {.seq = seq,
	                      .hlc = hlc_make(hlc_wall_ms(), 0),
	                      .author_org = r->nodes[m].org,
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct cs_part_in in = {.kind = CS_POLICY, .policy = p};
	struct changeset *cs = NULL;

	memcpy(in.scope, scope, ARR_SCOPE_LEN);
	CHECK(changeset_build(k, &h, &in, 1, &cs) == 0, "changeset_build");
	return cs;
}

/* Push cs (member m's) to node1 and keep it, to push again what a high-water mark drops. */
static void
push(size_t m, struct changeset *cs)
{
	CHECK(cs->h.seq >= 1 && cs->h.seq <= MAX_SENT, "seq %llu", (unsigned long long)cs->h.seq);
	sent[m][cs->h.seq - 1] = cs;
	peer_push(link3, cs->raw, cs->rawlen);
	t->faults++;
}

/* The denied change sets on node i: how many, and how many of origin hex with rule. */
static void
denied_on(size_t i, const char *hex, const char *rule, uint64_t *all, uint64_t *match)
{
	struct req rq;
	struct reply rp;
	const msgpack_object *o, *e;

	*all = *match = 0;
	req_begin(&rq, "denied.list", 0);
	if (region_call(r, i, &rq, &rp, &o) == 0 && (e = obj_get(o, "entries")) != NULL &&
	    e->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t k = 0; k < e->via.array.size; k++) {
			const msgpack_object *x = &e->via.array.ptr[k], *og = obj_get(x, "origin");
			const msgpack_object *ru = obj_get(x, "rule");

			(*all)++;
			if (og != NULL && og->type == MSGPACK_OBJECT_STR &&
			    og->via.str.size == 64 && memcmp(og->via.str.ptr, hex, 64) == 0 &&
			    ru != NULL && ru->type == MSGPACK_OBJECT_STR &&
			    strlen(rule) == ru->via.str.size &&
			    memcmp(ru->via.str.ptr, rule, ru->via.str.size) == 0)
				(*match)++;
		}
	}
	req_free(&rq);
	reply_free(&rp);
}

/* Wait until nodes 0..2 hold member m's seq `want` (vector), or fail. */
static void
wait_seq(size_t m, uint64_t want)
{
	for (double until = mono_s() + 60, again = mono_s() + 2; mono_s() < until;
	     proc_sleep_ms(100)) {
		uint64_t have = 0;
		bool all = true;

		/* node1 is where the pushes go: what it lacks is pushed again now and then */
		if (mono_s() > again &&
		    apiclient_vector_seq(region_api(r, 1), r->nodes[m].pubhex, &have) == 0) {
			for (uint64_t q = have + 1; q <= want && q <= have + 500; q++)
				peer_push(link3, sent[m][q - 1]->raw, sent[m][q - 1]->rawlen);
			again = mono_s() + 2;
		}

		for (size_t i = 0; i < 3 && all; i++) {
			uint64_t seq = 0;

			all =
			    apiclient_vector_seq(region_api(r, i), r->nodes[m].pubhex, &seq) == 0 &&
			    seq >= want;
		}
		if (all)
			return;
	}
	CHECK(false, "%s's seq %llu did not reach every node", r->nodes[m].name,
	      (unsigned long long)want);
}

/* Node i shows column of the arrangement as want, within 30 s. */
static void
wait_value(size_t i, const char *column, const char *want)
{
	char v[128] = "";

	for (double until = mono_s() + 30; mono_s() < until; proc_sleep_ms(100))
		if (apiclient_get_text(region_api(r, i), "arrangement", arr, column, v,
		                       sizeof(v)) == 0 &&
		    strcmp(v, want) == 0) {
			t->checks++;
			return;
		}
	CHECK(false, "%s shows %s '%s', not '%s'", r->nodes[i].name, column, v, want);
}

/* Every running node's denied list: denied change sets of member m by rule, at least n. */
static void
check_denied(size_t m, const char *rule, uint64_t n, uint64_t total)
{
	for (size_t i = 0; i < 3; i++) {
		uint64_t all, match;

		denied_on(i, r->nodes[m].pubhex, rule, &all, &match);
		CHECK(match == n && all == total,
		      "%s lists %llu denied (%llu of %s by %s), not %llu", r->nodes[i].name,
		      (unsigned long long)all, (unsigned long long)match, r->nodes[m].name, rule,
		      (unsigned long long)n);
		CHECK(region_metric(r, i, "arrangd_denied_changesets") == (double)total,
		      "arrangd_denied_changesets on %s", r->nodes[i].name);
		CHECK(apiclient_quarantine_count(region_api(r, i)) == 0, "%s quarantines",
		      r->nodes[i].name);
		t->checks += 3;
	}
}

/* The owner opens the arrangement: a child and the arrangement, in one write. */
static void
open_arrangement(const char *child)
{
	struct req_op ops[] = {
	    {.table = "child", .column = "ref", .value = value_text("TD-2019-AUTHZ")},
	    {.table = "arrangement", .column = "child_id", .value = value_text(child)},
	    {.table = "arrangement", .column = "kind", .value = value_text("oza")},
	    {.table = "arrangement", .column = "status", .value = value_text("draft")},
	    {.table = "arrangement", .column = "summary", .value = value_text("real")},
	};
	struct req rq;
	struct reply rp;
	int rc;

	memcpy(ops[0].id, child, sizeof(ops[0].id));
	for (size_t j = 1; j < 5; j++)
		memcpy(ops[j].id, arr, sizeof(ops[j].id));
	req_begin(&rq, "write", 1);
	req_str(&rq, "ops");
	req_ops(&rq, ops, 5);
	rc = region_call(r, OWNER, &rq, &rp, NULL);
	CHECK(rc == 0, "open the arrangement: %s", rp.message);
	req_free(&rq);
	reply_free(&rp);
	t->acked++;
}

static void
setup(void)
{
	char child[37];

	rng_rowid(arr);
	rng_rowid(child);
	open_arrangement(child);
	grant(1, "care");
	grant(2, "care");
	grant(INSIDE, "care");
	for (size_t i = 0; i < 3; i++)
		wait_value(i, "summary", "real");
	read_scope_key();
	region_stop(r, INSIDE); /* from here on the test signs as node4 */
}

int
main(void)
{
	const size_t all[3] = {0, 1, 2};
	struct nodekey *k3, *k4, *k0;
	unsigned flood;
	uint64_t seq3 = 0, seq4 = 0, total;
	char fs[37];
	double t0;

	t = chaos_begin("authz", 200, 5000);
	flood = chaos_iterations();
	r = region_new(&(struct region_opts){.tag = "chaosauthz",
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
		if (i != OUTSIDE)
			region_start(r, i);
	t0 = mono_s();
	setup();
	k0 = peer_load_key(r, OWNER);
	k3 = peer_load_key(r, OUTSIDE);
	k4 = peer_load_key(r, INSIDE);
	link3 = peer_open(r, 1, k3);
	peer_hello(link3, k3);

	/* a member that is no party writes the summary, validly signed */
	push(OUTSIDE,
	     forge(k3, OUTSIDE, ++seq3, "arrangement", arr, "summary", value_text("forged")));
	wait_seq(OUTSIDE, seq3);
	for (size_t i = 0; i < 3; i++)
		wait_value(i, "summary", "real");
	check_denied(OUTSIDE, "arrangement-details", 1, 1);
	check_log("a non-party's write: logged, counted and masked on nodes 0..2");

	/* it floods: funding shares and the status */
	for (unsigned j = 0; j < flood && seq3 < MAX_SENT - 2; j++) {
		rng_rowid(fs);
		push(OUTSIDE, j % 2 == 0 ? forge(k3, OUTSIDE, ++seq3, "funding_share", fs,
		                                 "amount_cents", value_int((int64_t)j))
		                         : forge(k3, OUTSIDE, ++seq3, "arrangement", arr, "status",
		                                 value_text("started")));
		if (j % 50 == 49)
			proc_sleep_ms(
			    20); /* ZeroMQ may drop at the high-water mark: pulls refill */
	}
	wait_seq(OUTSIDE, seq3);
	check_denied(OUTSIDE, "funding", (flood + 1) / 2, seq3);
	for (size_t i = 0; i < 3; i++)
		wait_value(i, "status", "draft");
	check_log("a flood of %u unauthorised writes: all logged and denied", flood);

	/* a party grants itself admin and funder, and writes the status */
	{
		struct cs_policy g = {
		    .op = POLICY_GRANT, .has_member = true, .roles = ROLE_ADMIN | ROLE_FUNDER};

		memcpy(g.member, nodekey_public(k4), ARR_ORIGIN_LEN);
		push(INSIDE, forge_policy(k4, INSIDE, ++seq4, &g));
		push(INSIDE,
		     forge(k4, INSIDE, ++seq4, "arrangement", arr, "status", value_text("ended")));
	}
	wait_seq(INSIDE, seq4);
	total = seq3 + 1;
	check_denied(INSIDE, "arrangement-lifecycle", 1, total);
	for (size_t i = 0; i < 3; i++)
		wait_value(i, "status", "draft");
	check_log("a party granting itself admin: its status write denied everywhere");

	/* made a funder by the owner, it changes another funder's share, then its own */
	grant(INSIDE, "care,funder");
	{
		uint8_t funder[ARR_ROWID_LEN], id[ARR_ROWID_LEN];

		orgid_derive(r->nodes[OWNER].org, funder);
		shareid_new(funder, id);
		rowid_format(id, fs);
		push(INSIDE,
		     forge(k4, INSIDE, ++seq4, "funding_share", fs, "amount_cents", value_int(1)));
		orgid_derive(r->nodes[INSIDE].org, funder);
		shareid_new(funder, id);
		rowid_format(id, fs);
		push(INSIDE,
		     forge(k4, INSIDE, ++seq4, "funding_share", fs, "amount_cents", value_int(2)));
	}
	wait_seq(INSIDE, seq4);
	total++;
	check_denied(INSIDE, "funding-own-share", 1, total);
	check_log("a funder changing another funder's share: denied everywhere, its own not");

	/* a member that is no party revokes the owner */
	{
		struct policy_ref named;
		uint64_t prev = key_id;
		struct cs_policy rv = {.op = POLICY_REVOKE,
		                       .has_member = true,
		                       .grants = &named,
		                       .ngrants = 1,
		                       .key_id = key_id ^ 1,
		                       .prevs = &prev,
		                       .nprevs = 1};
		memcpy(rv.member, nodekey_public(k0), ARR_ORIGIN_LEN);
		memcpy(named.origin, nodekey_public(k0), ARR_ORIGIN_LEN);
		named.seq = 1; /* the owner's CREATE */
		push(OUTSIDE, forge_policy(k3, OUTSIDE, ++seq3, &rv));
	}
	wait_seq(OUTSIDE, seq3);
	write_text(OWNER, "arrangement", arr, "status", "requested");
	write_text(1, "arrangement", arr, "summary", "care after revoke");
	/* node1 (care) may not write the status: refused at its API, nothing sent */
	CHECK(apiclient_write_text(region_api(r, 1), "arrangement", arr, "status", "ended") ==
	          ARR_EFORBIDDEN,
	      "node1's status write is not refused");
	for (size_t i = 0; i < 3; i++) {
		wait_value(i, "summary", "care after revoke");
		wait_value(i, "status", "requested");
	}
	check_denied(OWNER, "arrangement-lifecycle", 0, total);
	check_log("a non-owner's REVOKE of the owner: the owner's and parties' writes stand");

	peer_close(&link3);
	for (size_t m = 0; m < N; m++)
		for (size_t q = 0; q < MAX_SENT; q++)
			changeset_destroy(&sent[m][q]);
	nodekey_destroy(&k0);
	nodekey_destroy(&k3);
	nodekey_destroy(&k4);
	for (size_t i = 0; i < 3; i++)
		region_stop(r, i);
	for (size_t i = 0; i < 3; i++)
		CHECK(chaos_db_integrity_ok(r, i), "integrity_check on %s", r->nodes[i].name);
	chaos_check_crashes(r, all, 3);
	check_log("authz: %u flooded, %llu denied on each node, %.1f s", flood,
	          (unsigned long long)total, mono_s() - t0);
	return chaos_end();
}
