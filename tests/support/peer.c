/*
 * peer.c: see peer.h. Owns its ZeroMQ context and socket; keys are only borrowed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "arrlimits.h"
#include "check.h"
#include "keyfile.h"
#include "monoclock.h"
#include "peer.h"
#include "rng.h"
#include "rowid.h"
#include "vv.h"

struct peer {
	void *zctx, *d;
	void *mon; /* PAIR receiving the DEALER's disconnect events */
};

struct nodekey *
peer_load_key(struct region *r, size_t i)
{
	char path[700];
	struct nodekey *k = NULL;

	snprintf(path, sizeof(path), "%s/data/node.key", r->nodes[i].dir);
	CHECK(keyfile_load(path, &k) == 0, "cannot load %s", path);
	return k;
}

static struct peer *
open_with(struct region *r, size_t to, const struct nodekey *as, bool stalled, const char *src)
{
	char sec[NODEKEY_Z85_LEN + 1], pub[NODEKEY_Z85_LEN + 1], srv[NODEKEY_Z85_LEN + 1];
	uint8_t origin[ARR_ORIGIN_LEN];
	struct peer *p = calloc(1, sizeof(*p));
	char ep[96];
	int linger = 0;

	CHECK(p != NULL && (p->zctx = zmq_ctx_new()) != NULL, "zmq_ctx_new");
	CHECK(nodekey_parse_hex(r->nodes[to].pubhex, origin) == 0, "hex");
	CHECK(nodekey_curve_secret_z85(as, sec) == 0 &&
	          nodekey_curve_public_z85(nodekey_public(as), pub) == 0 &&
	          nodekey_curve_public_z85(origin, srv) == 0,
	      "curve keys");
	CHECK((p->d = zmq_socket(p->zctx, ZMQ_DEALER)) != NULL, "socket");
	zmq_setsockopt(p->d, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(p->d, ZMQ_CURVE_SERVERKEY, srv, NODEKEY_Z85_LEN);
	zmq_setsockopt(p->d, ZMQ_CURVE_PUBLICKEY, pub, NODEKEY_Z85_LEN);
	zmq_setsockopt(p->d, ZMQ_CURVE_SECRETKEY, sec, NODEKEY_Z85_LEN);
	if (stalled) {
		int one = 1, buf = 4096;
		zmq_setsockopt(p->d, ZMQ_RCVHWM, &one, sizeof(one));
		zmq_setsockopt(p->d, ZMQ_RCVBUF, &buf, sizeof(buf));
	}
	snprintf(ep, sizeof(ep), "inproc://peer-mon-%p", (void *)p);
	CHECK(zmq_socket_monitor(p->d, ep, ZMQ_EVENT_DISCONNECTED) == 0, "monitor");
	CHECK((p->mon = zmq_socket(p->zctx, ZMQ_PAIR)) != NULL && zmq_connect(p->mon, ep) == 0,
	      "monitor socket");
	zmq_setsockopt(p->mon, ZMQ_LINGER, &linger, sizeof(linger));
	if (src != NULL)
		snprintf(ep, sizeof(ep), "tcp://%s:0;127.0.0.1:%d", src, r->nodes[to].port);
	else
		snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", r->nodes[to].port);
	CHECK(zmq_connect(p->d, ep) == 0, "connect");
	return p;
}

struct peer *
peer_open(struct region *r, size_t to, const struct nodekey *as)
{
	return open_with(r, to, as, false, NULL);
}

struct peer *
peer_open_from(struct region *r, size_t to, const struct nodekey *as, const char *src)
{
	return open_with(r, to, as, false, src);
}

struct peer *
peer_open_stalled(struct region *r, size_t to, const struct nodekey *as)
{
	return open_with(r, to, as, true, NULL);
}

bool
peer_wait_closed(struct peer *p, int timeout_ms)
{
	double until = mono_s() + timeout_ms / 1000.0;

	while (mono_s() < until) {
		zmq_pollitem_t it = {.socket = p->mon, .events = ZMQ_POLLIN};
		zmq_msg_t msg;

		zmq_msg_init(&msg);
		while (zmq_msg_recv(&msg, p->d, ZMQ_DONTWAIT) >= 0)
			;
		zmq_msg_close(&msg);
		if (zmq_poll(&it, 1, 20) > 0)
			return true; /* the only event asked for is a disconnect */
	}
	return false;
}

void
peer_close(struct peer **pp)
{
	struct peer *p = *pp;

	if (p == NULL)
		return;
	*pp = NULL;
	zmq_close(p->d);
	zmq_close(p->mon);
	zmq_ctx_term(p->zctx);
	free(p);
}

void
peer_send_raw(struct peer *p, const void *buf, size_t len)
{
	CHECK(zmq_send(p->d, buf, len, 0) == (int)len, "send: %s", zmq_strerror(zmq_errno()));
}

void
peer_send(struct peer *p, const struct peermsg *m)
{
	uint8_t *buf;
	size_t len;

	CHECK(peermsg_encode(m, &buf, &len) == 0, "encode %s", peermsg_type_name((int)m->type));
	peer_send_raw(p, buf, len);
	free(buf);
}

void
peer_push(struct peer *p, const uint8_t *cs, size_t len)
{
	struct peermsg_blob blob = {.data = cs, .len = len};
	struct peermsg m = {.type = PEERMSG_PUSH, .cs = &blob, .ncs = 1};

	peer_send(p, &m);
}

bool
peer_expect(struct peer *p, enum peermsg_type want, int *code, int timeout_ms)
{
	double until = mono_s() + timeout_ms / 1000.0;

	while (mono_s() < until) {
		zmq_pollitem_t it = {.socket = p->d, .events = ZMQ_POLLIN};
		zmq_msg_t msg;
		struct peermsg *m = NULL;
		bool hit = false;

		if (zmq_poll(&it, 1, 100) <= 0)
			continue;
		zmq_msg_init(&msg);
		CHECK(zmq_msg_recv(&msg, p->d, 0) >= 0, "recv");
		CHECK(peermsg_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m) == 0,
		      "the daemon sent a malformed message");
		if ((m->type == PEERMSG_ERROR || m->type == PEERMSG_JOINED) && code != NULL)
			*code = m->code;
		hit = m->type == want;
		peermsg_destroy(&m);
		zmq_msg_close(&msg);
		if (hit)
			return true;
	}
	return false;
}

void
peer_hello(struct peer *p, const struct nodekey *as)
{
	peer_hello_caps(p, as, NULL, 0);
}

void
peer_hello_caps(struct peer *p, const struct nodekey *as, const char *const *caps, size_t ncaps)
{
	struct vv *empty = vv_new();
	struct peermsg m = {
	    .type = PEERMSG_HELLO, .major = PEERMSG_MAJOR, .minor = PEERMSG_MINOR, .vector = empty};
	bool welcomed = false;

	CHECK(empty != NULL, "out of memory");
	CHECK(ncaps <= PEERMSG_MAX_CAPS, "too many capabilities");
	for (size_t i = 0; i < ncaps; i++)
		snprintf(m.caps[m.ncaps++], sizeof(m.caps[0]), "%s", caps[i]);
	memcpy(m.origin, nodekey_public(as), ARR_ORIGIN_LEN);
	for (int k = 0; k < 20 && !welcomed; k++) {
		peer_send(p, &m);
		welcomed = peer_expect(p, PEERMSG_WELCOME, NULL, 1000);
	}
	CHECK(welcomed, "no WELCOME for the HELLO");
	vv_destroy(&empty);
}

struct changeset *
peer_changeset(const struct nodekey *key, const char *org, uint64_t seq, uint64_t hlc,
               size_t value_len)
{
	struct cs_op op = {.table = "organisation", .column = "name"};
	struct cs_header h = {
	    .seq = seq, .hlc = hlc, .author_org = org, .schema_version = ARR_SCHEMA_VERSION};
	struct changeset *cs = NULL;
	char *text = malloc(value_len + 1), row[37];

	CHECK(text != NULL, "out of memory");
	memset(text, 'x', value_len);
	text[value_len] = '\0';
	op.value = value_text(text);
	rng_rowid(row);
	CHECK(rowid_parse(row, op.row) == 0, "rowid");
	CHECK(changeset_build_region(key, &h, &op, 1, &cs) == 0, "changeset_build");
	free(text);
	return cs;
}
