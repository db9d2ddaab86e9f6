/*
 * it_join.c: a region that grows by invitations, on real daemons, with no file edited by
 * hand. Node 0 founds it (--new-region); nodes 1-3 and then 4-5 join with tokens from
 * node 0's `member invite` and `--init --join` (4 grow to 6); node 5 while node 0 is down,
 * with a SIGHUP before it is accepted. Node 0 removes node 3 (6 to 5)
 * and node 2's key is replaced as if lost: node 0's `member invite --replaces` token and
 * `--init --join` on a new machine (node 6, configured for node 2's organisation) make node 0
 * sign a ROTATE of node 2's record to node 6's new key; node 6 catches up and writes. Node 7
 * joins last and holds the whole history: rows node 3 and node 2's old key wrote before,
 * nothing quarantined, equal digests. Refused, each with its reason and nothing else
 * disturbed (node 8 tries): a token for another organisation than the node's (at --init), a
 * token used twice, an expired one (at --init and at the
 * inviter), a forged one, a non-registrar's invitation, a replacement token used twice or
 * for a removed member, and the removed member and the replaced key redialling.
 * Strangers in the join state get one answer, are not heard beyond it, and are limited; a
 * JOIN of protocol 1.3 is told so.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient.h"
#include "arrerr.h"
#include "check.h"
#include "fault.h"
#include "invite.h"
#include "monoclock.h"
#include "obj.h"
#include "peer.h"
#include "proc.h"
#include "region.h"
#include "regionjoin.h"
#include "req.h"
#include "rng.h"

#define N       9
#define GONE    3
#define ROTATED 2
#define NEWKEY  6
#define LAST    7
#define EVIL    8

/* Node j is invited by node 0 and runs --init --join (not started). */
static void
invited(struct region *r, size_t j)
{
	char tok[INVITE_TOKEN_MAX], out[1024];

	CHECK(regionjoin_invite(r, 0, j, "provider", "7d", tok, sizeof(tok)) == 0,
	      "node 0 could not invite node %zu: %s", j, tok);
	CHECK(regionjoin_init(r, j, tok, out, sizeof(out)) == 0, "--join on node %zu: %s", j, out);
}

/* Node j joins by an invitation of node 0 and starts; it is a member on node 0. */
static void
join(struct region *r, size_t j)
{
	invited(r, j);
	region_start(r, j);
}

/*
 * Node j joins while node 0, the inviter, is down, and is sent SIGHUP before it is accepted:
 * the reload keeps its link to the inviter, and once node 0 is back the join completes.
 */
static void
join_through_reload(struct region *r, size_t j)
{
	invited(r, j);
	region_stop(r, 0);
	region_start(r, j);
	CHECK(regionjoin_wait_log(r, j, "dialling the inviter", 5000), "node %zu: no join", j);
	fault_signal(r, j, SIGHUP);
	CHECK(regionjoin_wait_log(r, j, "reloaded", 5000), "node %zu did not reload", j);
	region_start(r, 0);
	CHECK(regionjoin_wait_log(r, j, "join: admitted to the region", 15000),
	      "node %zu: the join did not complete after a reload", j);
}

/* member.remove on node 0 of node j's key. */
static int
remove_member(struct region *r, size_t j)
{
	struct reply rp;
	struct req rq;
	int rc;

	req_begin(&rq, "member.remove", 1);
	req_str(&rq, "member");
	req_str(&rq, r->nodes[j].pubhex);
	rc = region_call(r, 0, &rq, &rp, NULL);
	req_free(&rq);
	reply_free(&rp);
	return rc;
}

/*
 * `arrangctl member invite --replaces MEMBER --expires 7d` on node 0, as the operations guide
 * has it, for node j: the token into tok. With --organisation too it is refused.
 */
static void
ctl_replaces(struct region *r, size_t j, char *tok, size_t len)
{
	const char *bad[] = {ARRANGCTL_BIN, "--socket",   r->nodes[0].api,    "member",
	                     "invite",      "--replaces", r->nodes[j].pubhex, "--organisation",
	                     "Other",       NULL};
	const char *ok[] = {ARRANGCTL_BIN, "--socket",         r->nodes[0].api, "member", "invite",
	                    "--replaces",  r->nodes[j].pubhex, "--expires",     "7d",     NULL};

	CHECK(proc_capture(bad, tok, len, r->nodes[0].log) != 0 &&
	          region_log_lines(r, 0, "keeps its organisation, kind and roles") >= 1,
	      "an invitation replacing a member with an organisation was not refused");
	CHECK(proc_capture(ok, tok, len, r->nodes[0].log) == 0,
	      "arrangctl member invite "
	      "--replaces: %s",
	      tok);
	tok[strcspn(tok, "\n")] = '\0';
}

/*
 * Node ROTATED's key is lost: node NEWKEY, a new machine configured for its organisation,
 * joins with a token of node 0 that replaces it, catches up (node ROTATED's row rows[ROTATED]
 * is there) and writes a row that reaches node 0. The token is kept in tok.
 */
static void
replace_lost_key(struct region *r, char (*rows)[37], char *tok, size_t len)
{
	char out[1024], got[64];
	double refused = region_metric(r, 0, "arrangd_join_refused_total");

	CHECK(regionjoin_invite_replaces(r, 0, r->nodes[GONE].pubhex, "7d", tok, len) ==
	              ARR_EFORBIDDEN &&
	          strstr(tok, "the member to replace was removed or rotated away") != NULL,
	      "a replacement of a removed member was not refused with its reason (%s)", tok);
	CHECK(regionjoin_invite_replaces(r, 0, "m-nosuchmember", "7d", tok, len) == ARR_ENOTFOUND &&
	          strstr(tok, "no member named") != NULL,
	      "a replacement of no member was not refused with its reason (%s)", tok);
	rng_rowid(rows[NEWKEY]);
	ctl_replaces(r, ROTATED, tok, len);
	snprintf(r->nodes[NEWKEY].org, sizeof(r->nodes[NEWKEY].org), "%s", r->nodes[ROTATED].org);
	region_conf_write(r, NEWKEY, NULL, r->o.sync_conf);
	CHECK(regionjoin_init(r, NEWKEY, tok, out, sizeof(out)) == 0 &&
	          strstr(out, "this node replaces the lost key") != NULL,
	      "--join of the replacement: %s", out);
	region_start(r, NEWKEY);
	CHECK(regionjoin_wait_metric(r, NEWKEY, "arrangd_members", 5, 15000),
	      "the replacement did not catch up with the member list");
	CHECK(region_metric(r, 0, "arrangd_join_refused_total") == refused,
	      "the replacement's JOIN was refused");
	CHECK(apiclient_write_text(region_api(r, NEWKEY), "organisation", rows[NEWKEY], "name",
	                           "replacement") == 0,
	      "the replacement could not write");
	for (int t = 0; t < 150; t++) {
		if (apiclient_get_text(region_api(r, 0), "organisation", rows[NEWKEY], "name", got,
		                       sizeof(got)) == 0 &&
		    strcmp(got, "replacement") == 0)
			break;
		proc_sleep_ms(100);
	}
	CHECK(strcmp(got, "replacement") == 0, "the replacement's write did not reach node 0");
	CHECK(apiclient_get_text(region_api(r, NEWKEY), "organisation", rows[ROTATED], "name", got,
	                         sizeof(got)) == 0 &&
	          strcmp(got, r->nodes[ROTATED].name) == 0,
	      "the replacement does not hold the old key's row");
}

/*
 * Node EVIL tries tok: refused at --init (init_why), or, started delay_ms after it, by the
 * inviter (inviter_why), which counts and logs it and tells the joiner.
 */
static void
refused(struct region *r, const char *tok, const char *init_why, const char *inviter_why,
        int delay_ms)
{
	char out[1024];
	double before = region_metric(r, 0, "arrangd_join_refused_total");
	int rc = regionjoin_init(r, EVIL, tok, out, sizeof(out));

	if (init_why != NULL) {
		CHECK(rc != 0 && region_log_lines(r, EVIL, init_why) >= 1,
		      "--init --join took a bad token (no '%s')", init_why);
		return;
	}
	CHECK(rc == 0, "--init --join refused a token the inviter must judge: %s", out);
	proc_sleep_ms(delay_ms);
	region_start(r, EVIL);
	CHECK(regionjoin_wait_metric(r, 0, "arrangd_join_refused_total", before + 1, 10000),
	      "the inviter did not refuse the JOIN (%s)", inviter_why);
	CHECK(regionjoin_wait_log(r, 0, inviter_why, 5000), "the inviter did not log '%s'",
	      inviter_why);
	CHECK(regionjoin_wait_log(r, EVIL, inviter_why, 5000), "the joiner was not told '%s'",
	      inviter_why);
	region_stop(r, EVIL);
}

/*
 * Node EVIL's config for organisation org: --init --join refuses a token for another
 * organisation, so to reach the inviter with a token it takes the token's.
 */
static void
evil_as(struct region *r, const char *org)
{
	char keep[sizeof(r->nodes[EVIL].org)];

	snprintf(keep, sizeof(keep), "%s", org);
	snprintf(r->nodes[EVIL].org, sizeof(r->nodes[EVIL].org), "%s", keep);
	region_conf_write(r, EVIL, NULL, r->o.sync_conf);
}

/* The adversarial cases, between the growth and the removal. */
static void
adversaries(struct region *r, const char *used_tok)
{
	char tok[INVITE_TOKEN_MAX], own[sizeof(r->nodes[EVIL].org)];

	snprintf(own, sizeof(own), "%s", r->nodes[EVIL].org);
	CHECK(regionjoin_init(r, EVIL, used_tok, tok, sizeof(tok)) != 0 &&
	          region_log_lines(r, EVIL, "the invitation is for organisation") >= 1,
	      "--init --join took a token for another organisation");
	evil_as(r, r->nodes[4].org);
	refused(r, used_tok, NULL, "the invitation was used already", 0);
	evil_as(r, own);
	CHECK(regionjoin_invite(r, 0, EVIL, "school", "1s", tok, sizeof(tok)) == 0, "invite");
	proc_sleep_ms(1100);
	refused(r, tok, "the invitation has expired", NULL, 0);
	CHECK(regionjoin_invite(r, 0, EVIL, "school", "3s", tok, sizeof(tok)) == 0, "invite");
	refused(r, tok, NULL, "the invitation has expired", 3100); /* expires before the JOIN */
	CHECK(regionjoin_invite(r, 0, EVIL, "school", "7d", tok, sizeof(tok)) == 0, "invite");
	tok[40] = tok[40] == 'A' ? 'B' : 'A'; /* a byte of the signed part changed */
	refused(r, tok, "the invitation token is not valid", NULL, 0);
	CHECK(regionjoin_invite(r, 1, EVIL, "school", "7d", tok, sizeof(tok)) == ARR_EFORBIDDEN &&
	          strstr(tok, "this node is not a registrar") != NULL,
	      "a non-registrar's invitation was not refused with its reason (%s)", tok);
}

/*
 * A new key's connection to node 0 (in the join state), from 127.0.0.2: the joins of the
 * nodes (from 127.0.0.1) do not count towards its address's limit.
 */
static struct peer *
stranger(struct region *r, struct nodekey **k)
{
	*k = nodekey_generate();
	CHECK(*k != NULL, "nodekey_generate");
	return peer_open_from(r, 0, *k, "127.0.0.2");
}

/* A JOIN of protocol 1.3 (a 32-byte proof) is answered ARR_EVERSION and counted refused. */
static void
old_join(struct region *r)
{
	struct peermsg m = {.type = PEERMSG_JOIN};
	double refused = region_metric(r, 0, "arrangd_join_refused_total");
	struct nodekey *k = NULL;
	struct peer *p = stranger(r, &k);
	uint8_t *buf = NULL;
	size_t len = 0;
	int code = 0;

	memcpy(m.origin, nodekey_public(k), ARR_ORIGIN_LEN);
	CHECK(peermsg_encode(&m, &buf, &len) == 0 && buf[len - 65] == sizeof(m.proof),
	      "encode a JOIN");
	buf[len - 65] = 32; /* the proof's bin head: 1.3's length */
	peer_send_raw(p, buf, len - 32);
	CHECK(peer_expect(p, PEERMSG_JOINED, &code, 5000) && code == ARR_EVERSION,
	      "a JOIN of 1.3 was not answered ARR_EVERSION (%d)", code);
	CHECK(regionjoin_wait_metric(r, 0, "arrangd_join_refused_total", refused + 1, 5000),
	      "the JOIN of 1.3 was not counted refused");
	free(buf);
	peer_close(&p);
	nodekey_destroy(&k);
}

/*
 * The join state on node 0: one message a key is answered (only a JOIN is processed), a
 * second one and one over PEERMSG_JOIN_MAX bytes are not (counted), and more than 10 new
 * keys a minute from one address are refused (counted).
 */
static void
join_state(struct region *r)
{
	struct vv *v = vv_new();
	struct peermsg hb = {.type = PEERMSG_HEARTBEAT, .vector = v};
	double ignored = region_metric(r, 0, "arrangd_join_ignored_total");
	double limited = region_metric(r, 0, "arrangd_join_limited_total");
	uint8_t big[PEERMSG_JOIN_MAX + 64];
	struct nodekey *k = NULL;
	struct peer *p = stranger(r, &k);
	int code = 0;

	peer_send(p, &hb);
	CHECK(peer_expect(p, PEERMSG_JOINED, &code, 5000) && code == ARR_ESTATE,
	      "a stranger's HEARTBEAT was not answered 'only a JOIN' (%d)", code);
	peer_send(p, &hb);
	CHECK(!peer_expect(p, PEERMSG_JOINED, NULL, 1000), "a second message was answered");
	CHECK(regionjoin_wait_metric(r, 0, "arrangd_join_ignored_total", ignored + 2, 5000),
	      "the join state's messages were not counted");
	peer_close(&p);
	nodekey_destroy(&k);
	p = stranger(r, &k);
	memset(big, 0x91, sizeof(big));
	peer_send_raw(p, big, sizeof(big));
	CHECK(regionjoin_wait_metric(r, 0, "arrangd_join_ignored_total", ignored + 3, 5000) &&
	          !peer_expect(p, PEERMSG_JOINED, NULL, 300),
	      "a JOIN over the bound was processed");
	peer_close(&p);
	nodekey_destroy(&k);
	old_join(r);
	for (int i = 0; i < 12; i++) {
		p = stranger(r, &k);
		peer_send(p, &hb);
		(void)peer_expect(p, PEERMSG_JOINED, NULL, 300);
		peer_close(&p);
		nodekey_destroy(&k);
	}
	CHECK(region_metric(r, 0, "arrangd_join_limited_total") >= limited + 1,
	      "more than 10 strangers a minute from one address were let in");
	vv_destroy(&v);
}

int
main(void)
{
	struct region *r = region_new_test("join", N, 200, 500);
	const size_t rest[] = {0, 1, 4, 5, NEWKEY, LAST};
	char sec[256], rows[N][37], got[64], tok[INVITE_TOKEN_MAX], out[1024];

	regionjoin_found(r, 0, "Regio Join", sec, sizeof(sec));
	region_start(r, 0);
	for (size_t j = 1; j <= 3; j++)
		join(r, j);
	for (size_t i = 0; i <= 3; i++)
		CHECK(regionjoin_wait_metric(r, i, "arrangd_members", 4, 15000),
		      "node %zu: not 4 members", i);
	for (size_t i = 0; i <= 3; i++) {
		rng_rowid(rows[i]);
		CHECK(apiclient_write_text(region_api(r, i), "organisation", rows[i], "name",
		                           r->nodes[i].name) == 0,
		      "write on node %zu", i);
	}
	/* 4 grow to 6; node 4's token is kept to be used twice */
	CHECK(regionjoin_invite(r, 0, 4, "provider", "7d", tok, sizeof(tok)) == 0, "invite 4");
	CHECK(regionjoin_init(r, 4, tok, out, sizeof(out)) == 0, "--join on node 4: %s", out);
	region_start(r, 4);
	join_through_reload(r, 5);
	for (size_t i = 0; i <= 5; i++)
		CHECK(regionjoin_wait_metric(r, i, "arrangd_members", 6, 15000),
		      "node %zu: not 6 members", i);
	adversaries(r, tok);
	/* 6 shrink to 5; node 2's key is replaced as if lost */
	CHECK(remove_member(r, GONE) == 0, "node 0 could not remove node 3");
	replace_lost_key(r, rows, tok, sizeof(tok));
	for (size_t k = 0; k < 4; k++)
		CHECK(regionjoin_wait_metric(r, rest[k], "arrangd_members", 5, 15000),
		      "node %zu: not 5 members", rest[k]);
	evil_as(r, r->nodes[ROTATED].org);
	refused(r, tok, NULL, "the invitation was used already", 0);
	CHECK(regionjoin_wait_log(r, 0, "it was removed from the region", 15000),
	      "node 0 did not refuse the removed member's redial with its reason");
	CHECK(regionjoin_wait_log(r, 0, "its key was rotated out of the region", 15000),
	      "node 0 did not refuse the rotated-away key's redial with its reason");
	join(r, LAST);
	CHECK(regionjoin_wait_metric(r, LAST, "arrangd_members", 6, 15000),
	      "the last joiner: not 6 members");
	CHECK(region_wait_converged(r, rest, 6, 20000), "the region did not converge");
	for (size_t i = GONE - 1; i <= GONE; i++) {
		CHECK(apiclient_get_text(region_api(r, LAST), "organisation", rows[i], "name", got,
		                         sizeof(got)) == 0 &&
		          strcmp(got, r->nodes[i].name) == 0,
		      "node %zu's row from before is not on the last joiner", i);
	}
	CHECK(apiclient_quarantine_count(region_api(r, LAST)) == 0,
	      "the last joiner quarantined part of the history");
	join_state(r);
	CHECK(region_wait_converged(r, rest, 6, 10000), "the join state disturbed the region");
	for (size_t i = 0; i < N; i++)
		if (i != EVIL)
			region_stop(r, i);
	printf("PASS: it_join (%.1f s)\n", check_elapsed());
	return 0;
}
