/*
 * chaos_adversarial.c: part 5 of the fault suite, the adversarial matrix. One running
 * daemon (node0) of a three-member region; the test plays member node1 over a CURVE
 * DEALER with node1's key and misbehaves in every way of a table of cases, each with the
 * answer it must get: an ERROR on the peer link, a quarantine entry with the right reason
 * (and origin), a duplicate that changes nothing, or an API error. node2 is a member that
 * never runs: the test signs change sets with its key, as a real member would. After
 * every case node0 must still be alive and answer status; at the end its replica passes
 * integrity_check and it stops cleanly. (The disk-full case is chaos_diskfull.)
 *
 * it_tampered covers a bit-flipped signature, a few malformed messages and the HELLO
 * rules; the cases here add oversized frames, replays, equivocation (a proof: the origin
 * is frozen, PROTOCOL.md "Equivocation"), forged origins,
 * non-members' signatures, unknown tables and columns, undecodable change sets and
 * writes through query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "changeset.h"
#include "chaos.h"
#include "peer.h"
#include "hlc.h"
#include "nodekey.h"
#include "peermsg.h"
#include "rowid.h"
#include "vv.h"

#define RECV   0
#define RELAY  1
#define SIGNER 2

struct adv {
	struct region *r;
	struct chaos_tally *t;
	struct peer *d;
	struct nodekey *relay, *signer, *outsider;
	char outsider_hex[65];
	char row[37]; /* the row the genuine change set of node2 writes */
	uint8_t *genuine;
	size_t genuine_len;
};

/* HELLO as node1 until WELCOME (the link may be reconnecting). */
static void
handshake(struct adv *a)
{
	struct vv *empty = vv_new();
	struct peermsg m = {
	    .type = PEERMSG_HELLO, .major = PEERMSG_MAJOR, .minor = PEERMSG_MINOR, .vector = empty};
	double until = mono_s() + 20;
	bool ok = false;

	memcpy(m.origin, nodekey_public(a->relay), ARR_ORIGIN_LEN);
	while (!ok && mono_s() < until) {
		peer_send(a->d, &m);
		ok = peer_expect(a->d, PEERMSG_WELCOME, NULL, 1000);
	}
	CHECK(ok, "no WELCOME for node1's HELLO");
	vv_destroy(&empty);
}

/* Send raw bytes; the ERROR code that comes back (0 when none within timeout_ms). */
static int
raw_error(struct adv *a, const void *buf, size_t len, int timeout_ms)
{
	int code = 0;

	peer_send_raw(a->d, buf, len);
	if (!peer_expect(a->d, PEERMSG_ERROR, &code, timeout_ms))
		return 0;
	return code;
}

/* A change set of one op signed by key, with seq; table/column chosen by the case. */
static struct changeset *
build(struct adv *a, const struct nodekey *key, uint64_t seq, const char *table, const char *column,
      const char *text, const char *row)
{
	struct changeset *cs = NULL;
	struct cs_op op = {.table = table, .column = column, .value = value_text(text)};
	struct cs_header h = {.seq = seq,
	                      .hlc = hlc_make(hlc_wall_ms(), 0),
	                      /* the signer's own organisation: only that is ever applied */
	                      .author_org = a->r->nodes[key == a->relay ? RELAY : SIGNER].org,
	                      .schema_version = ARR_SCHEMA_VERSION};

	CHECK(rowid_parse(row, op.row) == 0, "rowid");
	CHECK(changeset_build_region(key, &h, &op, 1, &cs) == 0, "changeset_build %s.%s", table,
	      column);
	return cs;
}

/* Entries in node0's quarantine with reason (and origin hex, unless NULL). */
static int
q_count(struct adv *a, const char *reason, const char *origin)
{
	struct reply rp;
	const msgpack_object *o;
	int n = 0;

	if (region_call0(a->r, RECV, "quarantine.list", &rp, &o) == 0 &&
	    (o = obj_get(o, "entries")) != NULL && o->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t k = 0; k < o->via.array.size; k++) {
			const msgpack_object *rs = obj_get(&o->via.array.ptr[k], "reason");
			const msgpack_object *og = obj_get(&o->via.array.ptr[k], "origin");

			if (rs == NULL || rs->type != MSGPACK_OBJECT_STR ||
			    rs->via.str.size != strlen(reason) ||
			    memcmp(rs->via.str.ptr, reason, rs->via.str.size) != 0)
				continue;
			if (origin != NULL &&
			    (og == NULL || og->type != MSGPACK_OBJECT_STR ||
			     og->via.str.size != 64 || memcmp(og->via.str.ptr, origin, 64) != 0))
				continue;
			n++;
		}
	reply_free(&rp);
	return n;
}

/* PUSH cs and wait for one more quarantine entry with reason and origin; the row stays absent. */
static bool
push_expect_quarantine(struct adv *a, const uint8_t *cs, size_t len, const char *reason,
                       const char *origin, const char *row, char *got, size_t gotlen)
{
	int before = q_count(a, reason, origin);
	double until = mono_s() + 10;
	char v[128];

	peer_push(a->d, cs, len);
	while (mono_s() < until) {
		if (q_count(a, reason, origin) == before + 1) {
			snprintf(got, gotlen, "quarantined %s", reason);
			chaos_reason(reason, 1);
			return row == NULL ||
			       apiclient_get_text(region_api(a->r, RECV), "organisation", row,
			                          "name", v, sizeof(v)) == ARR_ENOTFOUND;
		}
		proc_sleep_ms(100);
	}
	snprintf(got, gotlen, "no %s quarantine entry", reason);
	return false;
}

/* Status field of node0 as uint ("log", "quarantined"). */
static uint64_t
status_u(struct adv *a, const char *key)
{
	struct reply rp;
	const msgpack_object *o, *v;
	uint64_t n = UINT64_MAX;

	if (region_call0(a->r, RECV, "status", &rp, &o) == 0 && (v = obj_get(o, key)) != NULL &&
	    v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		n = v->via.u64;
	reply_free(&rp);
	return n;
}

/* ---- the cases: each returns true when node0 answered as it must; got says how ---- */

static bool
c_malformed(struct adv *a, char *got, size_t n)
{
	/* PROTOCOL.md, "Strict decoding": not an array of a known type is ETYPE or EMALFORMED */
	static const struct {
		const char *bytes;
		size_t len;
	} m[] = {{"\xc1", 1},
	         {"\x93\x03", 2},
	         {"\x92\x06\xdd\xff\xff\xff\xff", 7},
	         {"\xa5hello", 6},
	         {"\x92\x03\x90", 3},
	         {"\x94\x03\x01\x90\x00", 5},
	         {"\x92\x05\x91\xc0", 4},
	         {"", 0},
	         {"\x91\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 10}};
	size_t ok = 0, total = sizeof(m) / sizeof(m[0]);

	for (size_t k = 0; k < total; k++) {
		int code = raw_error(a, m[k].bytes, m[k].len, 5000);
		if (code == ARR_EMALFORMED || code == ARR_ETYPE)
			ok++;
		else
			check_log("  malformed message %zu -> %s", k,
			          code ? arrerr_name(code) : "no ERROR");
	}
	snprintf(got, n, "ERROR ARR_EMALFORMED/ARR_ETYPE for %zu of %zu", ok, total);
	return ok == total;
}

static bool
c_oversized(struct adv *a, char *got, size_t n)
{
	size_t len = ARR_MSG_MAX_BYTES + 1024;
	uint8_t *big = malloc(len);
	uint64_t log0 = status_u(a, "log");

	CHECK(big != NULL, "malloc");
	memset(big, 0x90, len);
	big[0] = 0xc4; /* claims to be a bin, is far too big anyway */
	peer_send_raw(a->d, big, len);
	free(big);
	/* ZMQ_MAXMSGSIZE: node0 drops the connection; we reconnect and must say HELLO again */
	proc_sleep_ms(500);
	handshake(a);
	snprintf(got, n, "connection dropped, HELLO again -> WELCOME");
	return status_u(a, "log") == log0;
}

static bool
c_version(struct adv *a, char *got, size_t n)
{
	/* only type, major and minor are fixed across versions; the rest may be anything */
	int code2 = raw_error(a, "\x94\x01\x02\x00\x80", 5, 5000);
	int code3 = raw_error(a, "\x96\x01\x03\x00\xc4\x00\x90\x90", 8, 5000);

	snprintf(got, n, "HELLO major 2: %s, HELLO major 3: %s", arrerr_name(code2),
	         arrerr_name(code3));
	handshake(a);
	return code2 == ARR_EVERSION && code3 == ARR_EVERSION;
}

static bool
c_replay(struct adv *a, char *got, size_t n)
{
	uint64_t log0 = status_u(a, "log"), q0 = status_u(a, "quarantined");
	char d0[65], d1[65];
	double until;
	bool seen = false;

	CHECK(apiclient_digest(region_api(a->r, RECV), d0) == 0, "digest");
	/* the log line "PUSH of 1: 1 duplicates dropped before verification" counts it */
	peer_push(a->d, a->genuine, a->genuine_len);
	until = mono_s() + 10;
	while (!seen && mono_s() < until) {
		FILE *f = fopen(a->r->nodes[RECV].log, "r");
		char line[512];
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, "PUSH of 1: 1 duplicates dropped before verification") !=
			    NULL)
				seen = true;
		if (f != NULL)
			fclose(f);
		if (!seen)
			proc_sleep_ms(100);
	}
	CHECK(apiclient_digest(region_api(a->r, RECV), d1) == 0, "digest");
	snprintf(got, n, "duplicate%s; log %llu -> %llu, quarantine %llu -> %llu",
	         seen ? " (counted)" : " NOT counted", (unsigned long long)log0,
	         (unsigned long long)status_u(a, "log"), (unsigned long long)q0,
	         (unsigned long long)status_u(a, "quarantined"));
	return seen && strcmp(d0, d1) == 0 && status_u(a, "log") == log0 &&
	       status_u(a, "quarantined") == q0;
}

/* Entries of node0's status "equivocations" naming origin (hex) from seq 1. */
static bool
frozen_from_1(struct adv *a, const char *origin)
{
	struct reply rp;
	const msgpack_object *o, *l;
	bool hit = false;

	if (region_call0(a->r, RECV, "status", &rp, &o) == 0 &&
	    (l = obj_get(o, "equivocations")) != NULL && l->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t k = 0; !hit && k < l->via.array.size; k++) {
			const msgpack_object *og = obj_get(&l->via.array.ptr[k], "origin");
			uint64_t from = 0;

			hit = og != NULL && og->type == MSGPACK_OBJECT_STR &&
			      og->via.str.size == 64 && memcmp(og->via.str.ptr, origin, 64) == 0 &&
			      obj_uint(obj_get(&l->via.array.ptr[k], "from_seq"), &from) == 0 &&
			      from == 1;
		}
	reply_free(&rp);
	return hit;
}

/*
 * A second signed content for a logged seq is a proof of equivocation (PROTOCOL.md,
 * "Equivocation"): the origin is frozen from that seq, so neither content stays.
 */
static bool
c_equivocation(struct adv *a, char *got, size_t n)
{
	struct changeset *cs =
	    build(a, a->signer, 1, "organisation", "name", "Other content", a->row);
	const char *hex = a->r->nodes[SIGNER].pubhex;
	bool frozen = false, gone = false;
	char v[128];

	peer_push(a->d, cs->raw, cs->rawlen);
	changeset_destroy(&cs);
	for (double until = mono_s() + 10; mono_s() < until && !(frozen && gone);
	     proc_sleep_ms(100)) {
		frozen = frozen_from_1(a, hex);
		gone = apiclient_get_text(region_api(a->r, RECV), "organisation", a->row, "name", v,
		                          sizeof(v)) == ARR_ENOTFOUND;
	}
	snprintf(got, n, "%s, %s, quarantine %llu", frozen ? "frozen from seq 1" : "NOT frozen",
	         gone ? "row masked" : "row STILL THERE",
	         (unsigned long long)status_u(a, "quarantined"));
	return frozen && gone && q_count(a, "ARR_ECONFLICT", NULL) == 0;
}

static bool
c_forged_origin(struct adv *a, char *got, size_t n)
{
	char row[37];
	struct changeset *cs;
	uint8_t *forged, *p = NULL;
	bool ok;

	rng_rowid(row);
	cs = build(a, a->relay, 1, "organisation", "name", "Forged", row);
	CHECK((forged = malloc(cs->rawlen)) != NULL, "malloc");
	memcpy(forged, cs->raw, cs->rawlen);
	for (size_t k = 0; p == NULL && k + ARR_ORIGIN_LEN <= cs->rawlen; k++)
		if (memcmp(forged + k, nodekey_public(a->relay), ARR_ORIGIN_LEN) == 0)
			p = forged + k;
	CHECK(p != NULL, "origin not found in the envelope");
	memcpy(p, nodekey_public(a->signer), ARR_ORIGIN_LEN); /* claims to be node2's */
	ok = push_expect_quarantine(a, forged, cs->rawlen, "ARR_EBADSIG",
	                            a->r->nodes[SIGNER].pubhex, row, got, n);
	free(forged);
	changeset_destroy(&cs);
	return ok;
}

static bool
c_nonmember(struct adv *a, char *got, size_t n)
{
	char row[37];
	struct changeset *cs;
	bool ok;

	rng_rowid(row);
	cs = build(a, a->outsider, 1, "organisation", "name", "Outsider", row);
	CHECK(changeset_verify(cs) == 0, "the outsider's signature is valid");
	ok = push_expect_quarantine(a, cs->raw, cs->rawlen, "ARR_ENOTMEMBER", a->outsider_hex, row,
	                            got, n);
	changeset_destroy(&cs);
	return ok;
}

/* node2 signs a write to table.column the schema does not know (seq as given). */
static bool
unknown_name(struct adv *a, uint64_t seq, const char *table, const char *column, char *got,
             size_t n)
{
	char row[37];
	struct changeset *cs;
	bool ok, known_table = strcmp(table, "organisation") == 0;

	rng_rowid(row);
	cs = build(a, a->signer, seq, table, column, "x", row);
	ok = push_expect_quarantine(a, cs->raw, cs->rawlen, "ARR_ESCHEMA",
	                            a->r->nodes[SIGNER].pubhex, known_table ? row : NULL, got, n);
	changeset_destroy(&cs);
	return ok;
}

static bool
c_unknown_table(struct adv *a, char *got, size_t n)
{
	return unknown_name(a, 2, "#99", "#1", got, n); /* numbers no version has */
}

static bool
c_unknown_column(struct adv *a, char *got, size_t n)
{
	return unknown_name(a, 3, "organisation", "#99", got, n);
}

static bool
c_garbage_cs(struct adv *a, char *got, size_t n)
{
	/* well-formed PUSH, but the change set inside is a truncated envelope */
	size_t len = a->genuine_len / 2;

	return push_expect_quarantine(a, a->genuine, len, "ARR_EMALFORMED", NULL, NULL, got, n);
}

static bool
c_query_write(struct adv *a, char *got, size_t n)
{
	static const char *const sqls[] = {
	    "INSERT INTO organisation(id, name) VALUES('x', 'y')",
	    "UPDATE organisation SET name = 'pwned'",
	    "DELETE FROM _log",
	    "DROP TABLE _quarantine",
	    "CREATE TABLE evil(x)",
	    "PRAGMA writable_schema = ON",
	    "ATTACH DATABASE '/tmp/evil.db' AS evil",
	    "WITH x AS (SELECT 1) DELETE FROM organisation",
	    "REPLACE INTO _vv(origin, seq) VALUES(1, 99)",
	    "VACUUM",
	};
	char d0[65], d1[65];
	size_t ok = 0;

	CHECK(apiclient_digest(region_api(a->r, RECV), d0) == 0, "digest");
	for (size_t k = 0; k < sizeof(sqls) / sizeof(sqls[0]); k++) {
		struct reply rp;
		struct req rq;
		int rc;

		req_begin(&rq, "query", 1);
		req_str(&rq, "sql");
		req_str(&rq, sqls[k]);
		rc = region_call(a->r, RECV, &rq, &rp, NULL);
		req_free(&rq);
		reply_free(&rp);
		if (rc == ARR_EREADONLY)
			ok++;
		else
			check_log("  query '%s' -> %s", sqls[k], rc == 0 ? "ok" : arrerr_name(rc));
	}
	CHECK(apiclient_digest(region_api(a->r, RECV), d1) == 0, "digest");
	snprintf(got, n, "ARR_EREADONLY for %zu of %zu statements", ok,
	         sizeof(sqls) / sizeof(sqls[0]));
	return ok == sizeof(sqls) / sizeof(sqls[0]) && strcmp(d0, d1) == 0;
}

struct adv_case {
	const char *name;
	const char *expect;
	bool (*run)(struct adv *a, char *got, size_t n);
};

static const struct adv_case cases[] = {
    {"malformed msgpack (peer)", "ERROR ARR_EMALFORMED", c_malformed},
    {"oversized frame (8 MiB + 1 KiB)", "dropped by ZMQ_MAXMSGSIZE", c_oversized},
    {"wrong protocol version", "ERROR ARR_EVERSION", c_version},
    {"replay of an old change set", "duplicate, no-op", c_replay},
    {"same (origin, seq), other content", "proof: origin frozen", c_equivocation},
    {"forged origin", "quarantine ARR_EBADSIG", c_forged_origin},
    {"valid signature, non-member", "quarantine ARR_ENOTMEMBER", c_nonmember},
    {"unknown table (member-signed)", "quarantine ARR_ESCHEMA", c_unknown_table},
    {"unknown column (member-signed)", "quarantine ARR_ESCHEMA", c_unknown_column},
    {"undecodable change set in PUSH", "quarantine ARR_EMALFORMED", c_garbage_cs},
    {"write through query", "ARR_EREADONLY", c_query_write},
};

int
main(void)
{
	struct chaos_tally *t = chaos_begin("adversarial", 1, 1);
	struct region *r = region_new_test("adversarial", 3, 200, 1000);
	struct adv a = {.r = r, .t = t};
	struct changeset *cs;
	size_t failed = 0;
	const size_t recv[] = {RECV};

	a.relay = peer_load_key(r, RELAY);
	a.signer = peer_load_key(r, SIGNER);
	CHECK((a.outsider = nodekey_generate()) != NULL, "nodekey_generate");
	nodekey_hex(nodekey_public(a.outsider), a.outsider_hex);
	region_start(r, RECV);
	a.d = peer_open(r, RECV, a.relay);
	handshake(&a);

	/* node2's first change set, genuine: applied, and the subject of the replay */
	rng_rowid(a.row);
	cs = build(&a, a.signer, 1, "organisation", "name", "Genuine", a.row);
	CHECK((a.genuine = malloc(cs->rawlen)) != NULL, "malloc");
	memcpy(a.genuine, cs->raw, cs->rawlen);
	a.genuine_len = cs->rawlen;
	changeset_destroy(&cs);
	peer_push(a.d, a.genuine, a.genuine_len);
	CHECK(apiclient_wait_text(region_api(r, RECV), "organisation", a.row, "name", "Genuine",
	                          10000),
	      "node2's genuine change set was not applied");

	printf("%-36s %-28s %s\n", "case", "expected", "got");
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char got[160] = "";
		bool ok = cases[k].run(&a, got, sizeof(got));
		bool serving = region_alive(r, RECV) && apiclient_status_ok(region_api(r, RECV));

		t->faults++;
		printf("%-36s %-28s %s%s [%s]\n", cases[k].name, cases[k].expect, got,
		       serving ? ", still serving" : ", NOT SERVING",
		       ok && serving ? "ok" : "FAIL");
		fflush(stdout);
		if (ok && serving)
			t->checks++;
		else
			failed++;
		CHECK(serving, "node0 stopped serving after '%s'", cases[k].name);
	}
	peer_close(&a.d);
	region_stop(r, RECV);
	CHECK(chaos_db_integrity_ok(r, RECV), "integrity_check");
	chaos_log_fold(r, RECV);
	chaos_check_crashes(r, recv, 1);
	free(a.genuine);
	nodekey_destroy(&a.relay);
	nodekey_destroy(&a.signer);
	nodekey_destroy(&a.outsider);
	CHECK(failed == 0, "%zu adversarial case(s) did not get the expected answer", failed);
	return chaos_end();
}
