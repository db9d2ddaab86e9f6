/*
 * chaos_member.c: part 6 of the fault suite, a member that misbehaves. One running daemon
 * (node0) of a three-member region; the test plays member node1 over a CURVE DEALER with
 * node1's key (tests/support/peer.c) and signs change sets with the key of node2, a member
 * that never runs. Each case has the answer node0 must give:
 *
 *  - claims: a HELLO, then a HEARTBEAT, whose vector says node1 holds node0's own change
 *    sets up to seq 2^62. node0 pulls on the claim, but a local write right after each
 *    one succeeds: a claim is not evidence and holds no writes;
 *  - clocks: a change set stamped 1.5 s under the drift guard is applied; one 3 s beyond
 *    it is quarantined with ARR_ECLOCK and its row does not appear;
 *  - author: a change set of node2 signed in the name of node0's organisation is
 *    quarantined with ARR_EAUTHOR and its row does not appear;
 *  - floods: ERROR messages, then HELLOs of an unknown major version, as fast as the link
 *    takes them for a few seconds (longer under make chaos): node0's log holds at most
 *    the limiter's budget of lines of each kind from node1 (logrl.h) and one "suppressed"
 *    summary per kind counting the rest. The rates are printed.
 *
 * node0 stays alive and serving throughout and its replica passes integrity_check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "arrlimits.h"
#include "changeset.h"
#include "chaos.h"
#include "hlc.h"
#include "logrl.h"
#include "nodekey.h"
#include "peer.h"
#include "peermsg.h"
#include "rowid.h"
#include "vv.h"

#define RECV   0
#define PLAYER 1
#define SIGNER 2

struct bad {
	struct region *r;
	struct peer *d;
	struct nodekey *player, *signer;
	uint8_t recv_origin[ARR_ORIGIN_LEN];
};

/* A vector claiming node0's own origin at seq 2^62. */
static struct vv *
claim(struct bad *b)
{
	struct vv *v = vv_new();

	CHECK(v != NULL && vv_set(v, b->recv_origin, UINT64_C(1) << 62) == 0, "vv");
	return v;
}

/* HELLO as node1 with vector v (NULL: empty) until WELCOME. */
static void
hello(struct bad *b, const struct vv *v)
{
	struct vv *empty = vv_new();
	struct peermsg m = {.type = PEERMSG_HELLO,
	                    .major = PEERMSG_MAJOR,
	                    .minor = PEERMSG_MINOR,
	                    .vector = (struct vv *)(v != NULL ? v : empty)};
	bool welcomed = false;

	memcpy(m.origin, nodekey_public(b->player), ARR_ORIGIN_LEN);
	for (int k = 0; k < 20 && !welcomed; k++) {
		peer_send(b->d, &m);
		welcomed = peer_expect(b->d, PEERMSG_WELCOME, NULL, 1000);
	}
	CHECK(welcomed, "no WELCOME for node1's HELLO");
	vv_destroy(&empty);
}

/* A write on node0 of a new row; its result code. */
static int
local_write(struct bad *b, const char *what)
{
	char row[37];

	rng_rowid(row);
	return apiclient_write_text(region_api(b->r, RECV), "organisation", row, "name", what);
}

static bool
c_claims(struct bad *b, char *got, size_t n)
{
	struct vv *v = claim(b);
	struct peermsg hb = {.type = PEERMSG_HEARTBEAT, .vector = v};
	bool pulled;
	int rc1, rc2, rc3;

	hello(b, v);
	pulled = peer_expect(b->d, PEERMSG_PULL, NULL, 5000);
	rc1 = local_write(b, "after a claimed HELLO");
	peer_send(b->d, &hb);
	proc_sleep_ms(300);
	rc2 = local_write(b, "after a claimed HEARTBEAT");
	proc_sleep_ms(2000);
	rc3 = local_write(b, "later");
	vv_destroy(&v);
	snprintf(got, n, "%s; writes: %s, %s, %s", pulled ? "pulled" : "NO PULL",
	         rc1 ? arrerr_name(rc1) : "ok", rc2 ? arrerr_name(rc2) : "ok",
	         rc3 ? arrerr_name(rc3) : "ok");
	hello(b, NULL);
	return pulled && rc1 == 0 && rc2 == 0 && rc3 == 0;
}

/* PUSH node2's change set seq (one op on a new row) stamped at wall ms, by org. */
static void
push_signed(struct bad *b, uint64_t seq, uint64_t wall, const char *org, char row[37])
{
	struct cs_op op = {
	    .table = "organisation", .column = "name", .value = value_text("member")};
	struct cs_header h = {.seq = seq,
	                      .hlc = hlc_make(wall, 0),
	                      .author_org = org,
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct changeset *cs = NULL;

	rng_rowid(row);
	CHECK(rowid_parse(row, op.row) == 0, "rowid");
	CHECK(changeset_build_region(b->signer, &h, &op, 1, &cs) == 0, "changeset_build");
	peer_push(b->d, cs->raw, cs->rawlen);
	changeset_destroy(&cs);
}

/* Whether node0 lists a quarantine entry of node2 with reason within 10 s. */
static bool
quarantined_as(struct bad *b, const char *reason)
{
	const char *hex = b->r->nodes[SIGNER].pubhex;

	for (double until = mono_s() + 10; mono_s() < until; proc_sleep_ms(100)) {
		struct reply rp;
		const msgpack_object *o;
		bool hit = false;

		if (region_call0(b->r, RECV, "quarantine.list", &rp, &o) == 0 &&
		    (o = obj_get(o, "entries")) != NULL && o->type == MSGPACK_OBJECT_ARRAY)
			for (uint32_t k = 0; !hit && k < o->via.array.size; k++) {
				const msgpack_object *rs = obj_get(&o->via.array.ptr[k], "reason");
				const msgpack_object *og = obj_get(&o->via.array.ptr[k], "origin");

				hit = rs != NULL && og != NULL && rs->type == MSGPACK_OBJECT_STR &&
				      og->type == MSGPACK_OBJECT_STR &&
				      rs->via.str.size == strlen(reason) &&
				      memcmp(rs->via.str.ptr, reason, strlen(reason)) == 0 &&
				      og->via.str.size == 64 &&
				      memcmp(og->via.str.ptr, hex, 64) == 0;
			}
		reply_free(&rp);
		if (hit) {
			chaos_reason(reason, 1);
			return true;
		}
	}
	return false;
}

/* Whether node0 has no such row. */
static bool
absent(struct bad *b, const char *row)
{
	char v[64];

	return apiclient_get_text(region_api(b->r, RECV), "organisation", row, "name", v,
	                          sizeof(v)) == ARR_ENOTFOUND;
}

static bool
c_clocks(struct bad *b, char *got, size_t n)
{
	const char *org = b->r->nodes[SIGNER].org;
	char near[37], far[37];
	bool applied, refused;

	push_signed(b, 1, hlc_wall_ms() + ARR_MAX_DRIFT_MS - 1500, org, near);
	applied = apiclient_wait_text(region_api(b->r, RECV), "organisation", near, "name",
	                              "member", 10000);
	push_signed(b, 3, hlc_wall_ms() + ARR_MAX_DRIFT_MS + 3000, org, far);
	refused = quarantined_as(b, "ARR_ECLOCK") && absent(b, far);
	snprintf(got, n, "guard - 1.5 s: %s; guard + 3 s: %s", applied ? "applied" : "NOT applied",
	         refused ? "quarantined ARR_ECLOCK" : "NOT quarantined");
	return applied && refused;
}

static bool
c_author(struct bad *b, char *got, size_t n)
{
	char row[37];
	bool ok;

	/* seq 2: validated before the gap to seq 3 (c_clocks) matters */
	push_signed(b, 2, hlc_wall_ms(), b->r->nodes[RECV].org, row);
	ok = quarantined_as(b, "ARR_EAUTHOR") && absent(b, row);
	snprintf(got, n, "%s", ok ? "quarantined ARR_EAUTHOR, row absent" : "NOT quarantined");
	return ok;
}

/* Lines of node0's log from offset on that contain needle; *n_out: the last number before it. */
static size_t
log_count(struct bad *b, long offset, const char *needle, unsigned long long *num)
{
	FILE *f = fopen(b->r->nodes[RECV].log, "r");
	char line[1024];
	size_t n = 0;

	CHECK(f != NULL && fseek(f, offset, SEEK_SET) == 0, "open %s", b->r->nodes[RECV].log);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL) {
			const char *colon = strstr(line, ": ");
			n++;
			if (num != NULL && colon != NULL)
				*num += strtoull(colon + 2, NULL, 10);
		}
	fclose(f);
	return n;
}

static long
log_size(struct bad *b)
{
	FILE *f = fopen(b->r->nodes[RECV].log, "r");
	long sz;

	CHECK(f != NULL && fseek(f, 0, SEEK_END) == 0, "open %s", b->r->nodes[RECV].log);
	sz = ftell(f);
	fclose(f);
	return sz;
}

/*
 * Send raw message buf as fast as the link takes it for secs; then the lines node0 logged
 * with needle, and the suppressed count its summary reports for kind. True when within
 * the limiter's budget and the summary came.
 */
static bool
flood(struct bad *b, const void *buf, size_t len, double secs, const char *needle, const char *kind,
      char *got, size_t n)
{
	char name[64], summary[128];
	long off = log_size(b);
	unsigned long long sent = 0, supp = 0;
	double t0 = mono_s(), until = t0 + secs;
	size_t lines, budget = LOGRL_BURST + (size_t)(secs * 1000 / LOGRL_EVERY_MS) + 1, sums = 0;

	while (mono_s() < until)
		for (int k = 0; k < 100; k++, sent++)
			peer_send_raw(b->d, buf, len);
	secs = mono_s() - t0;
	snprintf(name, sizeof(name), "peer %s: %s", b->r->nodes[PLAYER].name, needle);
	snprintf(summary, sizeof(summary), "similar messages suppressed (%s)", kind);
	for (double w = mono_s() + LOGRL_REPORT_MS / 1000.0 + 5; sums == 0 && mono_s() < w;)
		if ((sums = log_count(b, off, summary, &supp)) == 0)
			proc_sleep_ms(200);
	lines = log_count(b, off, name, NULL);
	snprintf(got, n, "%llu sent (%.0f/s): %zu lines (%.1f/s, budget %zu), %llu suppressed",
	         sent, sent / secs, lines, lines / secs, budget, supp);
	return lines >= 1 && lines <= budget && sums >= 1 && supp > 0;
}

static double
flood_secs(void)
{
	return chaos_long() ? 20 : 3;
}

static bool
c_error_flood(struct bad *b, char *got, size_t n)
{
	struct peermsg m = {.type = PEERMSG_ERROR, .code = ARR_EINVAL};
	uint8_t *buf;
	size_t len;
	bool ok;

	snprintf(m.text, sizeof(m.text), "flood");
	CHECK(peermsg_encode(&m, &buf, &len) == 0, "encode ERROR");
	ok = flood(b, buf, len, flood_secs(), "error", "error", got, n);
	free(buf);
	return ok;
}

static bool
c_hello_flood(struct bad *b, char *got, size_t n)
{
	/* HELLO of major 2: refused with ARR_EVERSION, logged as an error */
	bool ok = flood(b, "\x94\x01\x02\x00\x80", 5, flood_secs(), "refused", "refused", got, n);

	hello(b, NULL);
	return ok;
}

struct bad_case {
	const char *name;
	const char *expect;
	bool (*run)(struct bad *b, char *got, size_t n);
};

static const struct bad_case cases[] = {
    {"own seq 2^62 claimed (HELLO, HB)", "pull, writes go on", c_claims},
    {"clock just under / beyond guard", "applied / ARR_ECLOCK", c_clocks},
    {"author_org of another org", "quarantine ARR_EAUTHOR", c_author},
    {"ERROR flood", "lines within budget", c_error_flood},
    {"HELLO flood (refused)", "lines within budget", c_hello_flood},
};

int
main(void)
{
	struct chaos_tally *t = chaos_begin("member", 1, 1);
	struct region *r = region_new_test("member", 3, 200, 1000);
	struct bad b = {.r = r};
	const size_t recv[] = {RECV};
	size_t failed = 0;

	b.player = peer_load_key(r, PLAYER);
	b.signer = peer_load_key(r, SIGNER);
	CHECK(nodekey_parse_hex(r->nodes[RECV].pubhex, b.recv_origin) == 0, "hex");
	region_start(r, RECV);
	b.d = peer_open(r, RECV, b.player);
	hello(&b, NULL);
	printf("%-34s %-24s %s\n", "case", "expected", "got");
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char got[200] = "";
		bool ok = cases[k].run(&b, got, sizeof(got));
		bool serving = region_alive(r, RECV) && apiclient_status_ok(region_api(r, RECV));

		t->faults++;
		printf("%-34s %-24s %s [%s]\n", cases[k].name, cases[k].expect, got,
		       ok && serving ? "ok" : "FAIL");
		fflush(stdout);
		t->checks += ok && serving;
		failed += !(ok && serving);
		CHECK(serving, "node0 stopped serving after '%s'", cases[k].name);
	}
	peer_close(&b.d);
	region_stop(r, RECV);
	CHECK(chaos_db_integrity_ok(r, RECV), "integrity_check");
	chaos_check_crashes(r, recv, 1);
	nodekey_destroy(&b.player);
	nodekey_destroy(&b.signer);
	CHECK(failed == 0, "%zu misbehaving-member case(s) did not get the expected answer",
	      failed);
	return chaos_end();
}
