/*
 * it_tampered.c: integration test 5. A member relays a tampered change set: the test
 * plays member node1 (its key, over a CURVE DEALER to node0) and relays a change set
 * signed by member node2 with one byte of a value flipped. node0 quarantines it with
 * ARR_EBADSIG, does not apply it, and quarantine.list shows it with the reason. The
 * untampered bytes, relayed afterwards the same way, are applied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "changeset.h"
#include "hlc.h"
#include "nodekey.h"
#include "apiclient.h"
#include "check.h"
#include "fault.h"
#include "monoclock.h"
#include "obj.h"
#include "proc.h"
#include "peer.h"
#include "region.h"
#include "rng.h"
#include "peermsg.h"
#include "rowid.h"
#include "vv.h"

#define RECV   0
#define RELAY  1
#define SIGNER 2

/* Wait for a message of type want; an ERROR on the way fails the test. */
static void
expect(struct peer *p, enum peermsg_type want, int timeout_ms)
{
	int code = 0;

	CHECK(peer_expect(p, want, &code, timeout_ms) && code == 0, "no %s within %d ms (%s)",
	      peermsg_type_name((int)want), timeout_ms, code != 0 ? arrerr_name(code) : "no ERROR");
}

/* Send raw bytes and expect an ERROR with code want. */
static void
expect_error(struct peer *p, const void *buf, size_t len, int want, const char *what)
{
	int code = 0;

	peer_send_raw(p, buf, len);
	CHECK(peer_expect(p, PEERMSG_ERROR, &code, 10000), "%s: no ERROR reply", what);
	CHECK(code == want, "%s: ERROR %s, expected %s", what, arrerr_name(code),
	      arrerr_name(want));
	check_log("%-28s -> ERROR %s", what, arrerr_name(code));
}

/* Misbehaviour that must be answered with ERROR and change nothing. */
static void
misbehave(struct region *r, struct peer *d, const struct nodekey *relay,
          const struct nodekey *other)
{
	struct peermsg m;
	struct vv *empty = vv_new();
	uint8_t *buf;
	size_t len;

	expect_error(d, "\xc1", 1, ARR_EMALFORMED, "not msgpack");
	expect_error(d, "\x92\x06\xdd\xff\xff\xff\xff", 7, ARR_EMALFORMED, "huge vector");
	expect_error(d, "\x92\x09\x90", 3, ARR_EMALFORMED, "unknown type 9");
	expect_error(d, "\x92\x05\x90", 3, ARR_EMALFORMED, "empty PUSH");
	memset(&m, 0, sizeof(m));
	m.type = PEERMSG_HELLO;
	m.major = PEERMSG_MAJOR;
	memcpy(m.origin, nodekey_public(other), ARR_ORIGIN_LEN);
	m.vector = empty;
	CHECK(peermsg_encode(&m, &buf, &len) == 0, "encode");
	expect_error(d, buf, len, ARR_ENOTMEMBER, "HELLO with another origin");
	free(buf);
	/* a HELLO of major 2 may carry anything after the minor version */
	expect_error(d, "\x94\x01\x02\x00\x80", 5, ARR_EVERSION, "HELLO of major 2");
	/* after a refused HELLO the link is closed for everything but HELLO */
	m.type = PEERMSG_HEARTBEAT;
	CHECK(peermsg_encode(&m, &buf, &len) == 0, "encode");
	expect_error(d, buf, len, ARR_ESTATE, "HEARTBEAT before HELLO");
	free(buf);
	/* and a good HELLO opens it again */
	m.type = PEERMSG_HELLO;
	memcpy(m.origin, nodekey_public(relay), ARR_ORIGIN_LEN);
	peer_send(d, &m);
	expect(d, PEERMSG_WELCOME, 10000);
	CHECK(region_alive(r, RECV) && apiclient_status_ok(region_api(r, RECV)),
	      "node0 stopped serving");
	vv_destroy(&empty);
}

/*
 * Wait for n quarantine entries, one of them with reason and, when signer, the signer's
 * origin (a body that does not match its header is attributed to nobody: any relay
 * could have altered it).
 */
static bool
wait_quarantined(struct region *r, size_t n, const char *reason, bool signer)
{
	double until = mono_s() + 10;
	bool found = false;

	while (!found && mono_s() < until) {
		struct reply rp;
		const msgpack_object *o;

		if (region_call0(r, RECV, "quarantine.list", &rp, &o) == 0 &&
		    (o = obj_get(o, "entries")) != NULL && o->type == MSGPACK_OBJECT_ARRAY &&
		    o->via.array.size == n) {
			for (size_t i = 0; i < n; i++) {
				const msgpack_object *e = &o->via.array.ptr[i];

				if (obj_is_str(obj_get(e, "reason"), reason)) {
					CHECK(!signer || obj_is_str(obj_get(e, "origin"),
					                            r->nodes[SIGNER].pubhex),
					      "quarantined origin is not the signer");
					found = true;
				}
			}
			CHECK(found, "no quarantine entry with %s", reason);
		}
		reply_free(&rp);
		if (!found)
			proc_sleep_ms(100);
	}
	return found;
}

/* Relay the n bytes at buf to node0 in a PUSH over d. */
static void
push(struct peer *d, const uint8_t *buf, size_t n)
{
	struct peermsg m;
	struct peermsg_blob blob = {.data = buf, .len = n};

	memset(&m, 0, sizeof(m));
	m.type = PEERMSG_PUSH;
	m.cs = &blob;
	m.ncs = 1;
	peer_send(d, &m);
}

int
main(void)
{
	struct region *r = region_new_test("tampered", 3, 200, 1000);
	struct nodekey *relay = peer_load_key(r, RELAY), *signer = peer_load_key(r, SIGNER);
	uint8_t *tampered, *p;
	char row[37], got[256];
	struct changeset *cs = NULL;
	struct cs_op op = {.table = "organisation", .column = "name"};
	struct cs_header h = {.seq = 1,
	                      .hlc = hlc_make(hlc_wall_ms(), 0),
	                      .author_org = r->nodes[SIGNER].org,
	                      .schema_version = ARR_SCHEMA_VERSION};
	struct peermsg m;
	struct vv *empty = vv_new();
	struct peer *d;

	region_start(r, RECV);

	/* A valid change set by node2, and a copy with one value byte flipped. */
	rng_rowid(row);
	CHECK(rowid_parse(row, op.row) == 0, "rowid");
	op.value = value_text("Original School Name");
	CHECK(changeset_build_region(signer, &h, &op, 1, &cs) == 0, "changeset_build");
	CHECK(changeset_verify(cs) == 0, "the untampered change set verifies");
	CHECK((tampered = malloc(cs->rawlen)) != NULL, "malloc");
	memcpy(tampered, cs->raw, cs->rawlen);
	p = NULL;
	for (size_t k = 0; p == NULL && k + 8 <= cs->rawlen; k++)
		if (memcmp(tampered + k, "Original", 8) == 0)
			p = tampered + k;
	CHECK(p != NULL, "value bytes not found in the envelope");
	p[4] ^= 0x01; /* "Origjnal" */

	/* node1's CURVE identity, talking to node0's ROUTER. */
	d = peer_open(r, RECV, relay);

	memset(&m, 0, sizeof(m));
	m.type = PEERMSG_HELLO;
	m.major = PEERMSG_MAJOR;
	m.minor = PEERMSG_MINOR;
	memcpy(m.origin, nodekey_public(relay), ARR_ORIGIN_LEN);
	m.vector = empty;
	peer_send(d, &m);
	expect(d, PEERMSG_WELCOME, 10000);
	check_log("handshake as %s done", r->nodes[RELAY].name);
	misbehave(r, d, relay, signer);

	push(d, tampered, cs->rawlen);
	check_log("relayed the change set with a body byte flipped");

	/* The body no longer matches the signed header's body_hash. */
	CHECK(wait_quarantined(r, 1, "ARR_EBODYHASH", false),
	      "the altered body is not in quarantine");
	CHECK(apiclient_get_text(region_api(r, RECV), "organisation", row, "name", got,
	                         sizeof(got)) == ARR_ENOTFOUND,
	      "the tampered change set was applied");
	check_log("quarantined with ARR_EBODYHASH, not applied");

	/* A header byte flipped (in author_org): the signature fails. */
	memcpy(tampered, cs->raw, cs->rawlen);
	p = NULL;
	for (size_t k = (size_t)(cs->hdr - cs->raw); p == NULL && k + 1 < cs->rawlen; k++)
		if (memcmp(tampered + k, r->nodes[SIGNER].org, strlen(r->nodes[SIGNER].org)) == 0)
			p = tampered + k;
	CHECK(p != NULL && p < tampered + (cs->hdr - cs->raw) + cs->hdrlen,
	      "author_org not found in the header");
	p[0] ^= 0x01;
	push(d, tampered, cs->rawlen);
	CHECK(wait_quarantined(r, 2, "ARR_EBADSIG", true),
	      "the altered header is not in quarantine");
	check_log("quarantined with ARR_EBADSIG, not applied");

	/* The genuine bytes, relayed the same way, are applied. */
	push(d, cs->raw, cs->rawlen);
	CHECK(apiclient_wait_text(region_api(r, RECV), "organisation", row, "name",
	                          "Original School Name", 10000),
	      "the genuine change set was not applied");
	CHECK(apiclient_quarantine_count(region_api(r, RECV)) == 2, "quarantine changed");
	CHECK(apiclient_status_ok(region_api(r, RECV)), "status");

	peer_close(&d);
	free(tampered);
	changeset_destroy(&cs);
	vv_destroy(&empty);
	nodekey_destroy(&relay);
	nodekey_destroy(&signer);
	region_stop(r, RECV);
	printf("PASS: it_tampered (%.1f s)\n", check_elapsed());
	return 0;
}
