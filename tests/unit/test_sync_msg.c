/*
 * test_sync_msg.c: unit tests of the peer layer's parts that need no socket
 * (daemon/sync_msg.c and what daemon/sync_int.h exposes of the other sync files): our
 * HELLO and WELCOME through the codec and the checks a peer's must pass, the "peers"
 * report, the metrics text and the apply histogram, link liveness (alive, stale after
 * three silent heartbeats, which link a message takes), the peer table across a members
 * reload, the known vectors, eager/lazy state and the ZAP handler's admission. The struct
 * sync is built by hand: no ZeroMQ context and no store; sync_ours() reads its cached
 * vector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <msgpack.h>

#include "arrerr.h"
#include "members.h"
#include "monoclock.h"
#include "nodekey.h"
#include "peermsg.h"
#include "sync_int.h"
#include "testutil.h"
#include "version.h"
#include "vv.h"

#define HB_MS 1000

/* Keys tu_key(1) (this node) ... tu_key(4) (not a member). */
static struct nodekey *keys[5];
static char hex[5][NODEKEY_HEX_LEN + 1];

static const uint8_t ox[ARR_ORIGIN_LEN] = {0x11}; /* two origins for vectors */
static const uint8_t oy[ARR_ORIGIN_LEN] = {0x22};

struct fixture {
	struct sync *s;
	struct members *m;
};

static struct members *
parse_members(int with_c, const char *b_endpoint)
{
	char text[2048], err[512] = "";
	int n;
	struct members *m;

	n = snprintf(text, sizeof(text),
	             "[node-a]\norganisation = Org A\npublic_key = %s\n"
	             "[node-b]\norganisation = Org B\npublic_key = %s\nendpoint = %s\n",
	             hex[1], hex[2], b_endpoint);
	if (with_c)
		snprintf(text + n, sizeof(text) - (size_t)n,
		         "[node-c]\norganisation = Org C\npublic_key = %s\n", hex[3]);
	m = members_parse(text, "m.conf", err, sizeof(err));
	if (m == NULL)
		print_error("members: %s\n", err);
	assert_non_null(m);
	return m;
}

static struct vv *
mkvv(uint64_t x, uint64_t y)
{
	struct vv *v = vv_new();

	assert_non_null(v);
	assert_int_equal(vv_set(v, ox, x), 0);
	assert_int_equal(vv_set(v, oy, y), 0);
	return v;
}

static int
group_setup(void **state)
{
	(void)state;
	for (uint8_t i = 1; i <= 4; i++) {
		keys[i] = tu_key(i);
		nodekey_hex(nodekey_public(keys[i]), hex[i]);
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	for (int i = 1; i <= 4; i++)
		nodekey_destroy(&keys[i]);
	return 0;
}

/* A sync of node-a with peers node-b (endpoint) and node-c; our vector {x: 5}. */
static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(f->s = calloc(1, sizeof(*f->s)));
	f->m = parse_members(1, "tcp://127.0.0.1:7402");
	f->s->set.heartbeat_ms = HB_MS;
	f->s->set.pull_interval_ms = 30000;
	f->s->set.page_bytes = 65536;
	f->s->key = keys[1];
	f->s->members = f->m;
	f->s->ours = mkvv(5, 0);
	f->s->held = mkvv(5, 0); /* no store: what the quarantine holds adds nothing */
	assert_int_equal(sync_peer_build(f->s, f->m, NULL, 0, &f->s->peers, &f->s->npeers), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	/* tests put stand-ins for DEALERs; there are no sockets to close */
	for (size_t i = 0; i < f->s->npeers; i++)
		f->s->peers[i].dealer = NULL;
	sync_destroy(&f->s);
	assert_null(f->s);
	members_destroy(&f->m);
	free(f);
	return 0;
}

/* Encode m and decode it again. */
static struct peermsg *
round_trip(const struct peermsg *m)
{
	struct peermsg *out = NULL;
	uint8_t *buf = NULL;
	size_t len;

	assert_int_equal(peermsg_encode(m, &buf, &len), 0);
	assert_int_equal(peermsg_decode(buf, len, &out), 0);
	free(buf);
	return out;
}

static void
test_hello_round_trip(void **state)
{
	const int types[] = {PEERMSG_HELLO, PEERMSG_WELCOME};
	struct vv *v = mkvv(7, 3);

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct peermsg m, *d;

		sync_msg_fill_hello(keys[2], &m, (enum peermsg_type)types[i], v, 2000);
		d = round_trip(&m);
		assert_int_equal(d->type, types[i]);
		assert_int_equal(d->major, PEERMSG_MAJOR);
		assert_int_equal(d->minor, PEERMSG_MINOR);
		assert_memory_equal(d->origin, nodekey_public(keys[2]), ARR_ORIGIN_LEN);
		assert_int_equal(d->ncaps, 8);
		assert_string_equal(d->caps[0], "push");
		assert_string_equal(d->caps[1], "relay");
		assert_string_equal(d->caps[2], SYNC_CAP_LAZY);
		assert_string_equal(d->caps[3], SYNC_CAP_EQUIV);
		assert_string_equal(d->caps[4], "heartbeat=2000");
		assert_int_equal(sync_msg_heartbeat(d), 2000);
		/* the versions a mixed region shows in peers and metrics */
		assert_string_equal(sync_msg_cap_value(d, SYNC_CAP_SOFTWARE), ARRANG_VERSION);
		assert_int_equal(sync_msg_schema(d), ARR_SCHEMA_VERSION);
		assert_int_equal(vv_compare(d->vector, v), VV_EQUAL);
		assert_int_equal(vv_get(d->vector, ox), 7);
		assert_true(sync_msg_has_cap(d, SYNC_CAP_LAZY));
		assert_true(sync_msg_has_cap(d, SYNC_CAP_VDIGEST));
		assert_true(sync_msg_has_cap(d, "push"));
		assert_false(sync_msg_has_cap(d, "lazyx"));
		assert_false(sync_msg_has_cap(d, ""));
		assert_int_equal(sync_msg_check_hello(nodekey_public(keys[2]), d), 0);
		peermsg_destroy(&d);
	}
	vv_destroy(&v);
}

static void
test_hello_rejections(void **state)
{
	struct vv *v = mkvv(1, 1);
	struct peermsg m, *d;

	(void)state;
	sync_msg_fill_hello(keys[2], &m, PEERMSG_HELLO, v, 200);
	d = round_trip(&m);
	/* a HELLO whose origin is not the authenticated member's */
	assert_int_equal(sync_msg_check_hello(nodekey_public(keys[3]), d), ARR_ENOTMEMBER);
	assert_int_equal(sync_msg_check_hello(nodekey_public(keys[1]), d), ARR_ENOTMEMBER);
	/* another major version is refused first, whatever the origin */
	d->major = PEERMSG_MAJOR + 1;
	assert_int_equal(sync_msg_check_hello(nodekey_public(keys[2]), d), ARR_EVERSION);
	assert_int_equal(sync_msg_check_hello(nodekey_public(keys[3]), d), ARR_EVERSION);
	/* a newer minor is fine */
	d->major = PEERMSG_MAJOR;
	d->minor = PEERMSG_MINOR + 5;
	assert_int_equal(sync_msg_check_hello(nodekey_public(keys[2]), d), 0);
	/* an older peer without the lazy capability gets no PRUNE */
	d->ncaps = 2;
	assert_false(sync_msg_has_cap(d, SYNC_CAP_LAZY));
	d->ncaps = 0;
	assert_false(sync_msg_has_cap(d, "push"));
	peermsg_destroy(&d);
	vv_destroy(&v);
}

static void
test_link_liveness(void **state)
{
	struct fixture *f = *state;
	struct sync *s = f->s;
	struct peer *p = &s->peers[0];
	uint64_t t0 = 100000;

	assert_string_equal(p->name, "node-b");
	/* nothing up: no link, not connected */
	assert_false(sync_link_connected(s, p, t0));
	assert_int_equal(sync_link_pick(s, p, t0), LINK_NONE);
	/* our DEALER got WELCOME at t0: alive through three heartbeats, not one ms more */
	p->out.up = true;
	p->out.last_rx = t0;
	assert_true(sync_link_alive(s, &p->out, t0));
	assert_true(sync_link_alive(s, &p->out, t0 + 3 * HB_MS));
	assert_false(sync_link_alive(s, &p->out, t0 + 3 * HB_MS + 1));
	assert_true(sync_link_connected(s, p, t0 + HB_MS));
	/* without a DEALER an outgoing link is not picked for sending */
	assert_int_equal(sync_link_pick(s, p, t0), LINK_NONE);
	p->dealer = &t0; /* never dereferenced by the functions under test */
	assert_int_equal(sync_link_pick(s, p, t0), LINK_OUT);
	/* heartbeats keep it alive */
	sync_link_expire(s, p, t0 + 3 * HB_MS);
	assert_true(p->out.up);
	p->out.last_rx = t0 + 2 * HB_MS;
	sync_link_expire(s, p, t0 + 5 * HB_MS);
	assert_true(p->out.up);
	/* three missed heartbeats: stale */
	sync_link_expire(s, p, t0 + 5 * HB_MS + 1);
	assert_false(p->out.up);
	assert_false(sync_link_connected(s, p, t0 + 5 * HB_MS + 1));
	assert_int_equal(sync_link_pick(s, p, t0 + 5 * HB_MS + 1), LINK_NONE);
}

/* A link is judged by the slower of our heartbeat and the one the peer announced. */
static void
test_link_peer_heartbeat(void **state)
{
	struct fixture *f = *state;
	struct sync *s = f->s;
	struct peer *p = &s->peers[0];
	uint64_t t0 = 100000, slow = 10 * HB_MS;

	p->out.up = true;
	p->out.last_rx = t0;
	/* a peer that speaks ten times slower is alive for three of its heartbeats */
	p->out.peer_hb_ms = (uint32_t)slow;
	assert_int_equal(sync_link_silence_ms(s, &p->out), 3 * slow);
	assert_true(sync_link_alive(s, &p->out, t0 + 3 * slow));
	assert_false(sync_link_alive(s, &p->out, t0 + 3 * slow + 1));
	sync_link_expire(s, p, t0 + 3 * HB_MS + 1);
	assert_true(p->out.up);
	/* a faster one is given our own three heartbeats, not fewer */
	p->out.peer_hb_ms = HB_MS / 2;
	assert_int_equal(sync_link_silence_ms(s, &p->out), 3 * HB_MS);
	assert_true(sync_link_alive(s, &p->out, t0 + 3 * HB_MS));
	assert_false(sync_link_alive(s, &p->out, t0 + 3 * HB_MS + 1));
}

/* The heartbeat capability: only a plain decimal within the configurable range counts. */
static void
test_hello_heartbeat_cap(void **state)
{
	static const struct {
		const char *cap;
		uint32_t want;
	} cases[] = {
	    {"heartbeat=50", 50},     {"heartbeat=60000", 60000}, {"heartbeat=1000", 1000},
	    {"heartbeat=49", 0},      {"heartbeat=60001", 0},     {"heartbeat=", 0},
	    {"heartbeat=0200", 0},    {"heartbeat=200ms", 0},     {"heartbeat=-200", 0},
	    {"heartbeat=999999", 0},  {"heartbeat= 200", 0},      {"heartbeats=200", 0},
	    {"heartbeat=1000000", 0},
	};
	struct peermsg m;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(sync_msg_heartbeat(&m), 0);
	m.ncaps = 2;
	strcpy(m.caps[0], "push");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(m.caps[1], sizeof(m.caps[1]), "%s", cases[i].cap);
		if (sync_msg_heartbeat(&m) != cases[i].want)
			fail_msg("%s: %u, expected %u", cases[i].cap, sync_msg_heartbeat(&m),
			         cases[i].want);
	}
}

static void
test_link_incoming(void **state)
{
	struct fixture *f = *state;
	struct sync *s = f->s;
	struct peer *p = &s->peers[1];
	uint64_t t0 = 50000;

	assert_string_equal(p->name, "node-c");
	p->in.up = true;
	p->in.last_rx = t0;
	/* an incoming link counts only with the routing id to answer on */
	assert_true(sync_link_alive(s, &p->in, t0));
	assert_false(sync_link_connected(s, p, t0));
	assert_int_equal(sync_link_pick(s, p, t0), LINK_NONE);
	p->ridlen = 5;
	assert_true(sync_link_connected(s, p, t0));
	assert_int_equal(sync_link_pick(s, p, t0), LINK_IN);
	/* both up: our DEALER is preferred */
	p->dealer = &t0;
	p->out.up = true;
	p->out.last_rx = t0;
	assert_int_equal(sync_link_pick(s, p, t0), LINK_OUT);
	/* the outgoing one goes silent: back to the incoming one */
	p->in.last_rx = t0 + 2 * HB_MS;
	sync_link_expire(s, p, t0 + 3 * HB_MS + 1);
	assert_false(p->out.up);
	assert_true(p->in.up);
	assert_int_equal(sync_link_pick(s, p, t0 + 3 * HB_MS + 1), LINK_IN);
	sync_link_expire(s, p, t0 + 5 * HB_MS + 1);
	assert_false(p->in.up);
	assert_false(sync_link_connected(s, p, t0 + 5 * HB_MS + 1));
	/* a shorter heartbeat makes links stale sooner */
	s->set.heartbeat_ms = 100;
	p->in.up = true;
	p->in.last_rx = t0;
	assert_true(sync_link_alive(s, &p->in, t0 + 300));
	assert_false(sync_link_alive(s, &p->in, t0 + 301));
}

static void
test_pull_outstanding(void **state)
{
	struct fixture *f = *state;
	struct sync *s = f->s;
	struct peer *p = &s->peers[0];

	assert_false(sync_send_pull_outstanding(s, p, 1000));
	p->pull_id = 7;
	p->pull_at = 10000;
	/* four heartbeats */
	assert_true(sync_send_pull_outstanding(s, p, 10000 + 4 * HB_MS - 1));
	assert_false(sync_send_pull_outstanding(s, p, 10000 + 4 * HB_MS));
	/* but never less than a second */
	s->set.heartbeat_ms = 100;
	assert_true(sync_send_pull_outstanding(s, p, 10999));
	assert_false(sync_send_pull_outstanding(s, p, 11000));
	/* sent after the caller read its clock: just sent (a wrap here ended bulk catch-up) */
	assert_true(sync_send_pull_outstanding(s, p, 9995));
	p->pull_id = 0;
	assert_false(sync_send_pull_outstanding(s, p, 10001));
}

/* A pull while received change sets wait to be applied would fetch them again: deferred. */
static void
test_pull_deferred(void **state)
{
	struct fixture *f = *state;
	struct sync *s = f->s;
	struct peer *p = &s->peers[0];
	struct peermsg last = {.type = PEERMSG_PAGE};

	assert_int_equal(sync_applyq_new(s), 0);
	/* no link is up: a pull cannot be sent */
	assert_int_equal(sync_send_pull(s, p, LINK_NONE, "test"), 0);
	assert_false(p->pull_more);
	assert_int_equal(sync_applyq_add(s, p, &last, true, SYNC_VIA_HELLO), 0);
	assert_true(sync_applyq_pending(s));
	assert_int_equal(sync_send_pull(s, p, LINK_NONE, "test"), 1);
	assert_true(p->pull_more);
	assert_int_equal(p->pull_id, 0); /* nothing went out */
	sync_applyq_destroy(s);
}

static void
test_peer_table(void **state)
{
	struct fixture *f = *state;
	struct sync *s = f->s;
	struct members *m2;
	struct peer *v = NULL;
	size_t n = 0;

	/* every member but us */
	assert_int_equal(s->npeers, 2);
	assert_string_equal(s->peers[0].endpoint, "tcp://127.0.0.1:7402");
	assert_null(s->peers[1].endpoint);
	assert_ptr_equal(sync_peer_by_origin(s, nodekey_public(keys[3])), &s->peers[1]);
	assert_null(sync_peer_by_origin(s, nodekey_public(keys[1])));
	assert_null(sync_peer_by_origin(s, nodekey_public(keys[4])));
	/* reload: node-c left, node-b moved; node-b keeps what we knew of it */
	s->peers[0].known = mkvv(4, 2);
	s->peers[0].last_seen_wall = 1234;
	m2 = parse_members(0, "tcp://127.0.0.1:7999");
	assert_int_equal(sync_peer_build(s, m2, s->peers, s->npeers, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "node-b");
	assert_string_equal(v[0].endpoint, "tcp://127.0.0.1:7999");
	assert_int_equal(v[0].last_seen_wall, 1234);
	assert_int_equal(vv_get(v[0].known, ox), 4);
	/* the old slot was emptied, the member that left was not */
	assert_null(s->peers[0].name);
	assert_null(s->peers[0].known);
	assert_string_equal(s->peers[1].name, "node-c");
	for (size_t i = 0; i < s->npeers; i++)
		sync_peer_free(&s->peers[i]);
	free(s->peers);
	s->peers = v;
	s->npeers = n;
	s->members = m2;
	members_destroy(&f->m);
	f->m = m2;
}

static void
test_known_vectors(void **state)
{
	struct fixture *f = *state;
	struct peer *p = &f->s->peers[0];
	struct vv *v = mkvv(3, 9);

	assert_null(p->known);
	sync_peer_known_add(p, ox, 4);
	assert_int_equal(vv_get(p->known, ox), 4);
	sync_peer_known_add(p, ox, 2); /* never lowered */
	assert_int_equal(vv_get(p->known, ox), 4);
	sync_peer_known_merge(p, v); /* x stays 4, y rises to 9 */
	assert_int_equal(vv_get(p->known, ox), 4);
	assert_int_equal(vv_get(p->known, oy), 9);
	sync_peer_known_set(p, v); /* what the peer told us replaces */
	assert_int_equal(vv_get(p->known, ox), 3);
	assert_int_equal(vv_get(p->known, oy), 9);
	vv_destroy(&v);
}

static void
test_lazy_state(void **state)
{
	struct fixture *f = *state;
	struct sync *s = f->s;
	struct peer *p = &s->peers[0];
	struct peermsg m = {.type = PEERMSG_PRUNE};
	struct vv *tmp = NULL, *ann;
	const struct vv *base;

	p->known = mkvv(1, 0);
	/* no PRUNE: push against what it has */
	assert_ptr_equal(sync_lazy_push_base(s, p, &tmp), p->known);
	assert_null(tmp);
	/* it PRUNEd x: push against our x, so none of x's change sets go to it */
	assert_non_null(m.origins = vv_new());
	assert_int_equal(vv_set(m.origins, ox, 1), 0);
	sync_lazy_on_origins(p, &m, 1);
	assert_int_equal(vv_get(p->lazy, ox), 1);
	base = sync_lazy_push_base(s, p, &tmp);
	assert_non_null(tmp);
	assert_ptr_equal(base, tmp);
	assert_int_equal(vv_get(base, ox), 5);
	assert_int_equal(vv_get(p->known, ox), 1);
	vv_destroy(&tmp);
	/* GRAFT undoes it */
	sync_lazy_on_origins(p, &m, 0);
	assert_int_equal(vv_get(p->lazy, ox), 0);
	assert_ptr_equal(sync_lazy_push_base(s, p, &tmp), p->known);
	vv_destroy(&m.origins);
	/* an announcement of what we lack is noted once, with its time */
	ann = mkvv(5, 0);
	sync_lazy_note_lag(s, p, ann, 700);
	assert_null(p->lag);
	assert_int_equal(vv_set(ann, oy, 2), 0);
	sync_lazy_note_lag(s, p, ann, 800);
	assert_non_null(p->lag);
	assert_int_equal(p->lag_at, 800);
	assert_int_equal(vv_get(p->lag, oy), 2);
	sync_lazy_note_lag(s, p, ann, 900);
	assert_int_equal(p->lag_at, 800);
	/* a handshake forgets it all */
	p->ann_due = true;
	sync_lazy_reset(p);
	assert_null(p->lag);
	assert_null(p->lazy);
	assert_false(p->ann_due);
	vv_destroy(&ann);
}

/* The value of the i-th entry of map o, whose key must be key (the report's order). */
static const msgpack_object *
entry(const msgpack_object *o, uint32_t i, const char *key)
{
	const msgpack_object *k;

	assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
	assert_true(i < o->via.map.size);
	k = &o->via.map.ptr[i].key;
	assert_int_equal(k->type, MSGPACK_OBJECT_STR);
	assert_int_equal(k->via.str.size, strlen(key));
	assert_memory_equal(k->via.str.ptr, key, strlen(key));
	return &o->via.map.ptr[i].val;
}

static void
assert_str(const msgpack_object *o, const char *want)
{
	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_STR);
	assert_int_equal(o->via.str.size, strlen(want));
	assert_memory_equal(o->via.str.ptr, want, strlen(want));
}

static void
assert_uint(const msgpack_object *o, uint64_t want)
{
	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(o->via.u64, want);
}

static void
test_pack_peers(void **state)
{
	struct fixture *f = *state;
	struct sync *s = f->s;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	const msgpack_object *b, *c;

	/* node-b: connected, has {x: 2, y: 3}; node-c: never heard from */
	s->peers[0].known = mkvv(2, 3);
	s->peers[0].out.up = true;
	s->peers[0].out.last_rx = mono_ms();
	s->peers[0].last_seen_wall = 1700000000123ULL;
	snprintf(s->peers[0].software, sizeof(s->peers[0].software), "9.8.7");
	s->peers[0].schema = 3;
	s->peers[0].dial = true;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	assert_int_equal(sync_pack_peers(s, &pk), 0);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(u.data.via.array.size, 2);
	b = &u.data.via.array.ptr[0];
	c = &u.data.via.array.ptr[1];
	assert_int_equal(b->via.map.size, 11);
	assert_str(entry(b, 0, "name"), "node-b");
	assert_str(entry(b, 1, "organisation"), "Org B");
	assert_str(entry(b, 2, "origin"), hex[2]);
	assert_str(entry(b, 3, "endpoint"), "tcp://127.0.0.1:7402");
	assert_int_equal(entry(b, 4, "connected")->type, MSGPACK_OBJECT_BOOLEAN);
	assert_true(entry(b, 4, "connected")->via.boolean);
	assert_uint(entry(b, 5, "last_seen_ms"), 1700000000123ULL);
	assert_uint(entry(b, 6, "behind"), 3); /* x 5 - 2 */
	assert_uint(entry(b, 7, "ahead"), 3);  /* y 3 - 0 */
	assert_str(entry(b, 8, "software"), "9.8.7");
	assert_uint(entry(b, 9, "schema"), 3);
	assert_int_equal(entry(c, 8, "software")->type, MSGPACK_OBJECT_NIL);
	assert_int_equal(entry(c, 9, "schema")->type, MSGPACK_OBJECT_NIL);
	assert_str(entry(c, 0, "name"), "node-c");
	assert_int_equal(entry(c, 3, "endpoint")->type, MSGPACK_OBJECT_NIL);
	assert_false(entry(c, 4, "connected")->via.boolean);
	assert_uint(entry(c, 5, "last_seen_ms"), 0);
	assert_uint(entry(c, 6, "behind"), 5);
	assert_uint(entry(c, 7, "ahead"), 0);
	assert_true(entry(b, 10, "dialled")->via.boolean);
	assert_false(entry(c, 10, "dialled")->via.boolean);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

static const char metrics_want[] =
    "# HELP arrangd_changesets_sent_total Change sets sent to peers (push and page).\n"
    "# TYPE arrangd_changesets_sent_total counter\n"
    "arrangd_changesets_sent_total 11\n"
    "# HELP arrangd_changesets_received_total Change sets received from peers.\n"
    "# TYPE arrangd_changesets_received_total counter\n"
    "arrangd_changesets_received_total 12\n"
    "# HELP arrangd_changesets_applied_total Change sets from peers applied (with pending "
    "ones they unblocked).\n"
    "# TYPE arrangd_changesets_applied_total counter\n"
    "arrangd_changesets_applied_total 13\n"
    "# HELP arrangd_changesets_duplicate_total Change sets from peers already held.\n"
    "# TYPE arrangd_changesets_duplicate_total counter\n"
    "arrangd_changesets_duplicate_total 14\n"
    "# HELP arrangd_changesets_duplicate_unverified_total Of the duplicates, those recognised by "
    "their logged bytes before a signature check.\n"
    "# TYPE arrangd_changesets_duplicate_unverified_total counter\n"
    "arrangd_changesets_duplicate_unverified_total 9\n"
    "# HELP arrangd_peer_prunes_sent_total PRUNE messages sent to peers.\n"
    "# TYPE arrangd_peer_prunes_sent_total counter\n"
    "arrangd_peer_prunes_sent_total 8\n"
    "# HELP arrangd_changesets_quarantined_total Change sets from peers quarantined.\n"
    "# TYPE arrangd_changesets_quarantined_total counter\n"
    "arrangd_changesets_quarantined_total 15\n"
    "# HELP arrangd_peer_send_dropped_total Messages to peers not sent because the peer's send "
    "queue was full.\n"
    "# TYPE arrangd_peer_send_dropped_total counter\n"
    "arrangd_peer_send_dropped_total 16\n"
    "# HELP arrangd_peer_pulls_refused_total PULLs not answered because the pages sent to that "
    "peer were still queued.\n"
    "# TYPE arrangd_peer_pulls_refused_total counter\n"
    "arrangd_peer_pulls_refused_total 17\n"
    "# HELP arrangd_peer_takeovers_total Peer connections closed because the member connected "
    "anew.\n"
    "# TYPE arrangd_peer_takeovers_total counter\n"
    "arrangd_peer_takeovers_total 18\n"
    "# HELP arrangd_peer_equiv_dropped_total LOGREQs and EVIDENCEs from peers dropped over the "
    "per-peer budget.\n"
    "# TYPE arrangd_peer_equiv_dropped_total counter\n"
    "arrangd_peer_equiv_dropped_total 19\n"
    "# HELP arrangd_peer_sent_bytes_total Bytes of messages sent to peers.\n"
    "# TYPE arrangd_peer_sent_bytes_total counter\n"
    "arrangd_peer_sent_bytes_total 0\n"
    "# HELP arrangd_peer_heartbeat_bytes_total Of them, bytes of HEARTBEAT and VDIGEST messages "
    "(vectors and their digests).\n"
    "# TYPE arrangd_peer_heartbeat_bytes_total counter\n"
    "arrangd_peer_heartbeat_bytes_total 0\n"
    "# HELP arrangd_peer_down_total Dialled peers judged unreachable and replaced by the next in "
    "the overlay's ranking.\n"
    "# TYPE arrangd_peer_down_total counter\n"
    "arrangd_peer_down_total 21\n";
/* then the change sets by how they came, and the gauges */
static const char metrics_want_via[] =
    "# HELP arrangd_changesets_received_via_total Change sets received, by how they came: "
    "pushed, or in a page answering a pull of ours by its cause.\n"
    "# TYPE arrangd_changesets_received_via_total counter\n"
    "arrangd_changesets_received_via_total{via=\"push\"} 7\n"
    "arrangd_changesets_received_via_total{via=\"page_hello\"} 1\n"
    "arrangd_changesets_received_via_total{via=\"page_periodic\"} 0\n"
    "arrangd_changesets_received_via_total{via=\"page_behind\"} 3\n"
    "arrangd_changesets_received_via_total{via=\"page_gap\"} 1\n"
    "arrangd_changesets_received_via_total{via=\"page_requested\"} 0\n"
    "arrangd_changesets_received_via_total{via=\"page_stray\"} 0\n"
    "# HELP arrangd_changesets_duplicate_via_total Of them, those already held, by how they "
    "came.\n"
    "# TYPE arrangd_changesets_duplicate_via_total counter\n"
    "arrangd_changesets_duplicate_via_total{via=\"push\"} 2\n"
    "arrangd_changesets_duplicate_via_total{via=\"page_hello\"} 0\n"
    "arrangd_changesets_duplicate_via_total{via=\"page_periodic\"} 0\n"
    "arrangd_changesets_duplicate_via_total{via=\"page_behind\"} 1\n"
    "arrangd_changesets_duplicate_via_total{via=\"page_gap\"} 0\n"
    "arrangd_changesets_duplicate_via_total{via=\"page_requested\"} 0\n"
    "arrangd_changesets_duplicate_via_total{via=\"page_stray\"} 0\n"
    "# HELP arrangd_peers_connected Other members heard from within three heartbeats.\n"
    "# TYPE arrangd_peers_connected gauge\n"
    "arrangd_peers_connected 1\n"
    "# HELP arrangd_peers_dialled Other members this node dials (the overlay).\n"
    "# TYPE arrangd_peers_dialled gauge\n"
    "arrangd_peers_dialled 1\n"
    "# HELP arrangd_peer_send_queued_bytes Bytes queued to peers that libzmq has not taken yet.\n"
    "# TYPE arrangd_peer_send_queued_bytes gauge\n"
    "arrangd_peer_send_queued_bytes 0\n";
static const char metrics_want_peers[] =
    "# HELP arrangd_peer_behind Change sets this node has that the peer lacks, as far as we "
    "know.\n"
    "# TYPE arrangd_peer_behind gauge\n"
    "arrangd_peer_behind{peer=\"node-b\"} 3\n"
    "arrangd_peer_behind{peer=\"node-c\"} 5\n"
    "# HELP arrangd_peer_ahead Change sets the peer has that this node lacks, as far as we "
    "know.\n"
    "# TYPE arrangd_peer_ahead gauge\n"
    "arrangd_peer_ahead{peer=\"node-b\"} 3\n"
    "arrangd_peer_ahead{peer=\"node-c\"} 0\n"
    "# HELP arrangd_peer_unreachable_seconds Seconds since the peer was last heard from (since "
    "start if never).\n"
    "# TYPE arrangd_peer_unreachable_seconds gauge\n"
    "arrangd_peer_unreachable_seconds{peer=\"node-b\"} 7\n"
    "arrangd_peer_unreachable_seconds{peer=\"node-c\"} 42\n"
    "# HELP arrangd_schema_version The schema version this node runs.\n"
    "# TYPE arrangd_schema_version gauge\n"
    "arrangd_schema_version 1\n"
    "# HELP arrangd_peer_schema_version The schema version the peer announced (0: not heard "
    "yet).\n"
    "# TYPE arrangd_peer_schema_version gauge\n"
    "arrangd_peer_schema_version{peer=\"node-b\"} 0\n"
    "arrangd_peer_schema_version{peer=\"node-c\"} 0\n"
    "# HELP arrangd_apply_seconds Time to verify and apply one batch of change sets from a "
    "peer.\n"
    "# TYPE arrangd_apply_seconds histogram\n"
    "arrangd_apply_seconds_bucket{le=\"0.001\"} 0\n"
    "arrangd_apply_seconds_bucket{le=\"0.005\"} 1\n"
    "arrangd_apply_seconds_bucket{le=\"0.01\"} 2\n"
    "arrangd_apply_seconds_bucket{le=\"0.05\"} 2\n"
    "arrangd_apply_seconds_bucket{le=\"0.1\"} 3\n"
    "arrangd_apply_seconds_bucket{le=\"0.5\"} 3\n"
    "arrangd_apply_seconds_bucket{le=\"1\"} 3\n"
    "arrangd_apply_seconds_bucket{le=\"5\"} 3\n"
    "arrangd_apply_seconds_bucket{le=\"+Inf\"} 3\n"
    "arrangd_apply_seconds_sum 0.072500\n"
    "arrangd_apply_seconds_count 3\n";

static void
test_metrics_text(void **state)
{
	struct fixture *f = *state;
	struct sync *s = f->s;
	const uint64_t buckets[SYNC_APPLY_BUCKETS] = {0, 1, 2, 2, 3, 3, 3, 3};
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	s->count = (struct sync_counters){.sent = 11,
	                                  .received = 12,
	                                  .applied = 13,
	                                  .duplicates = 14,
	                                  .quarantined = 15,
	                                  .dup_unverified = 9,
	                                  .prunes = 8,
	                                  .apply_count = 3,
	                                  .apply_sum = 0.0725,
	                                  .received_via = {7, 1, 0, 3, 1},
	                                  .dup_via = {2, 0, 0, 1}};
	s->send_dropped = 16;
	s->pulls_refused = 17;
	s->takeovers = 18;
	s->equiv_dropped = 19;
	s->peers_down = 21;
	memcpy(s->count.apply_bucket, buckets, sizeof(buckets));
	s->peers[0].known = mkvv(2, 3);
	s->peers[0].in.up = true;
	s->peers[0].in.last_rx = mono_ms();
	s->peers[0].ridlen = 1;
	s->peers[0].last_rx = mono_ms() - 7500; /* heard 7.5 s ago */
	s->peers[1].last_rx = 0;                /* never: counted from the start */
	s->peers[1].dial = true;                /* a neighbour: we dial it */

	s->started = mono_ms() - 42500;
	assert_non_null(out = open_memstream(&text, &len));
	assert_int_equal(sync_msg_metrics(s, out), 0);
	fclose(out);
	assert_true(strlen(text) ==
	            strlen(metrics_want) + strlen(metrics_want_via) + strlen(metrics_want_peers));
	assert_memory_equal(text, metrics_want, strlen(metrics_want));
	assert_memory_equal(text + strlen(metrics_want), metrics_want_via,
	                    strlen(metrics_want_via));
	assert_string_equal(text + strlen(metrics_want) + strlen(metrics_want_via),
	                    metrics_want_peers);
	free(text);
	/* neither dialled nor connected to us: its silence is no fault, it is not listed */
	s->peers[1].dial = false;
	text = NULL;
	assert_non_null(out = open_memstream(&text, &len));
	assert_int_equal(sync_msg_metrics(s, out), 0);
	fclose(out);
	assert_null(strstr(text, "arrangd_peer_unreachable_seconds{peer=\"node-c\"}"));
	assert_non_null(strstr(text, "arrangd_peer_unreachable_seconds{peer=\"node-b\"}"));
	free(text);
}

/* The descriptor budget's families follow, with real values. */
static void
test_metrics_fds(void **state)
{
	struct fixture *f = *state;
	struct rlimit rl;
	char *text = NULL, want[128];
	size_t len = 0;
	FILE *out;
	int fd = dup(1);

	assert_true(fd >= 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	f->s->fds.pauses = 4;
	assert_non_null(out = open_memstream(&text, &len));
	assert_int_equal(sync_metrics(f->s, out), 0);
	fclose(out);
	snprintf(want, sizeof(want), "\narrangd_fd_limit %llu\n", (unsigned long long)rl.rlim_cur);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "\narrangd_peer_listener_paused_total 4\n"));
	/* at least stdin, stdout, stderr, the memstream's nothing, and fd */
	assert_non_null(strstr(text, "\narrangd_open_fds "));
	assert_true(strtoull(strstr(text, "\narrangd_open_fds ") + 18, NULL, 10) >= 4);
	close(fd);
	free(text);
}

/* The marks leave a reserve of an eighth of the limit, at least 64, twice. */
static void
test_fds_marks(void **state)
{
	uint64_t hi, lo;

	(void)state;
	sync_fds_marks(1024, &hi, &lo);
	assert_int_equal(hi, 1024 - 128);
	assert_int_equal(lo, 1024 - 256);
	sync_fds_marks(256, &hi, &lo);
	assert_int_equal(hi, 192);
	assert_int_equal(lo, 128);
	sync_fds_marks(50, &hi, &lo);
	assert_int_equal(hi, 0);
	assert_int_equal(lo, 0);
}

/* Redial delays: between half and all of a backoff that doubles from 1 s to 60 s. */
static void
test_dial_backoff(void **state)
{
	uint32_t b = 0, d;

	(void)state;
	assert_int_equal(sync_dial_next_delay(&b, 0), 500);
	assert_int_equal(b, 2000);
	assert_int_equal(sync_dial_next_delay(&b, 0), 1000);
	assert_int_equal(sync_dial_next_delay(&b, 2000), 4000);
	for (int i = 0; i < 10; i++)
		d = sync_dial_next_delay(&b, UINT32_MAX);
	assert_int_equal(b, 60000);
	assert_true(d >= 30000 && d <= 60000);
}

static void
test_apply_histogram(void **state)
{
	struct sync_counters c = {0};
	const uint64_t want[SYNC_APPLY_BUCKETS] = {1, 2, 2, 2, 3, 3, 3, 3};

	(void)state;
	sync_msg_count_apply(&c, 0.001); /* a bound is inside its bucket */
	sync_msg_count_apply(&c, 0.003);
	sync_msg_count_apply(&c, 0.07);
	sync_msg_count_apply(&c, 12.0); /* only in +Inf */
	assert_int_equal(c.apply_count, 4);
	assert_memory_equal(c.apply_bucket, want, sizeof(want));
	assert_true(c.apply_sum > 12.0739 && c.apply_sum < 12.0741);
	assert_int_equal(c.applied + c.received + c.sent, 0);
}

static void
test_zap_admit(void **state)
{
	struct fixture *f = *state;
	char uid[NODEKEY_HEX_LEN + 1] = "";
	uint8_t curve[32];
	const struct member *mb;

	/* a member's CURVE key: admitted, its origin as User-Id */
	assert_int_equal(nodekey_curve_public_raw(nodekey_public(keys[3]), curve), 0);
	assert_non_null(mb = sync_zap_admit(f->s, curve, uid));
	assert_string_equal(mb->name, "node-c");
	assert_string_equal(uid, hex[3]);
	/* our own key, a stranger's, and an Ed25519 key where a CURVE key belongs */
	uid[0] = '\0';
	assert_int_equal(nodekey_curve_public_raw(nodekey_public(keys[1]), curve), 0);
	assert_null(sync_zap_admit(f->s, curve, uid));
	assert_int_equal(nodekey_curve_public_raw(nodekey_public(keys[4]), curve), 0);
	assert_null(sync_zap_admit(f->s, curve, uid));
	assert_null(sync_zap_admit(f->s, nodekey_public(keys[2]), uid));
	assert_string_equal(uid, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_round_trip),
	    cmocka_unit_test(test_hello_rejections),
	    cmocka_unit_test_setup_teardown(test_link_liveness, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_link_incoming, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_link_peer_heartbeat, setup, teardown),
	    cmocka_unit_test(test_hello_heartbeat_cap),
	    cmocka_unit_test_setup_teardown(test_pull_outstanding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pull_deferred, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_peer_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_known_vectors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lazy_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pack_peers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_fds, setup, teardown),
	    cmocka_unit_test(test_fds_marks),
	    cmocka_unit_test(test_dial_backoff),
	    cmocka_unit_test_setup_teardown(test_metrics_text, setup, teardown),
	    cmocka_unit_test(test_apply_histogram),
	    cmocka_unit_test_setup_teardown(test_zap_admit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
