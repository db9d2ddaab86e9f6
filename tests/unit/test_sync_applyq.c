/*
 * test_sync_applyq.c: the pages of a catch-up in flight (sync_applyq.c, sync_recv.c,
 * sync_send.c). A sync with one peer whose DEALER is one end of an inproc PAIR, so the
 * test plays the peer: it reads the PULLs the sync sends and answers them with PAGEs of
 * junk change sets (quarantined by a real store as undecodable). Checked: the next pull
 * goes out while a page waits to be applied as long as the peer's share of the apply
 * queue has room for another page, and once an applied page has made room; a peer
 * cannot make the queue hold more than its share (what it sends past it is dropped and
 * counted); the time the queue stands empty waiting for a page is counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "arrerr.h"
#include "monoclock.h"
#include "peermsg.h"
#include "store.h"
#include "sync_int.h"
#include "teststore.h"
#include "testutil.h"
#include "vv.h"

#define PAGE   (4u << 20)      /* our page_bytes */
#define CS_LEN (1000u << 10)   /* a junk change set */
#define PER_PG (PAGE / CS_LEN) /* change sets per page: 4 */

struct fx {
	struct ts_fixture *ts;
	struct sync *s;
	void *zctx, *ours, *theirs; /* the peer's DEALER end, the test's end */
	uint8_t *junk;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct peer *p;

	assert_non_null(f);
	assert_int_equal(ts_setup((void **)&f->ts), 0);
	assert_non_null(f->s = calloc(1, sizeof(*f->s)));
	assert_non_null(f->s->peers = calloc(1, sizeof(*f->s->peers)));
	f->s->npeers = 1;
	f->s->st = f->ts->r[0].s;
	f->s->set.heartbeat_ms = 1000;
	f->s->set.page_bytes = PAGE;
	p = &f->s->peers[0];
	assert_non_null(p->name = strdup("node-b"));
	memset(p->origin, 0x22, sizeof(p->origin));
	assert_non_null(f->zctx = zmq_ctx_new());
	assert_non_null(f->ours = zmq_socket(f->zctx, ZMQ_PAIR));
	assert_non_null(f->theirs = zmq_socket(f->zctx, ZMQ_PAIR));
	assert_int_equal(zmq_bind(f->theirs, "inproc://applyq"), 0);
	assert_int_equal(zmq_connect(f->ours, "inproc://applyq"), 0);
	p->dealer = f->ours;
	p->out.up = true;
	p->out.last_rx = mono_ms();
	assert_int_equal(sync_applyq_new(f->s), 0);
	/* not an envelope: it peeks as nothing and is quarantined as undecodable */
	assert_non_null(f->junk = malloc(CS_LEN));
	memset(f->junk, 0xc1, CS_LEN);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	f->s->peers[0].dealer = NULL; /* closed here, with the context */
	sync_destroy(&f->s);
	zmq_close(f->ours);
	zmq_close(f->theirs);
	zmq_ctx_term(f->zctx);
	free(f->junk);
	ts_teardown((void **)&f->ts);
	free(f);
	return 0;
}

/* The peer answers request req_id with a PAGE of n junk change sets. */
static void
send_page(struct fx *f, uint64_t req_id, size_t n, bool more)
{
	struct peermsg_blob cs[16];
	struct peermsg m = {.type = PEERMSG_PAGE, .req_id = req_id, .more = more, .ncs = n};
	uint8_t *buf;
	size_t len;

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		cs[i] = (struct peermsg_blob){f->junk, CS_LEN};
	m.cs = cs;
	assert_int_equal(peermsg_encode(&m, &buf, &len), 0);
	assert_int_equal(zmq_send(f->theirs, buf, len, 0), (int)len);
	free(buf);
	sync_recv_dealer(f->s, &f->s->peers[0]);
}

/*
 * The PULL the sync sent to the peer (its request id), or 0 when none waits; its vector's
 * entry for origin in *seq when both are given.
 */
static uint64_t
read_pull_seq(struct fx *f, const uint8_t *origin, uint64_t *seq)
{
	uint8_t buf[4096];
	struct peermsg *m = NULL;
	uint64_t id;
	int n = zmq_recv(f->theirs, buf, sizeof(buf), ZMQ_DONTWAIT);

	if (n < 0)
		return 0;
	assert_true((size_t)n <= sizeof(buf));
	assert_int_equal(peermsg_decode(buf, (size_t)n, &m), 0);
	assert_int_equal(m->type, PEERMSG_PULL);
	assert_int_equal(m->max_bytes, PAGE);
	id = m->req_id;
	if (origin != NULL)
		*seq = vv_get(m->vector, origin);
	peermsg_destroy(&m);
	return id;
}

static uint64_t
read_pull(struct fx *f)
{
	return read_pull_seq(f, NULL, NULL);
}

/* arrangd_apply_queue_dropped_total from the metrics text. */
static uint64_t
dropped(struct sync *s)
{
	char *text = NULL, *at;
	size_t len = 0;
	unsigned long long v = 0;
	FILE *mf = open_memstream(&text, &len);

	assert_non_null(mf);
	sync_applyq_metrics(s, mf);
	fclose(mf);
	at = strstr(text, "\narrangd_apply_queue_dropped_total ");
	assert_non_null(at);
	assert_int_equal(sscanf(at, "\narrangd_apply_queue_dropped_total %llu", &v), 1);
	free(text);
	return v;
}

/* Apply until the queue holds at most left bytes (within a few seconds). */
static void
apply_until(struct sync *s, size_t left)
{
	double t0 = mono_s();

	while (sync_applyq_bytes(s) > left) {
		assert_true(mono_s() - t0 < 30);
		sync_applyq_run(s);
	}
}

/*
 * A catch-up starts: the page answering our pull req (n change sets, more to come) is
 * received; the pull ahead it sent at once is read and its request id returned.
 */
static uint64_t
start_catchup(struct fx *f, uint64_t req, size_t n)
{
	struct peer *p = &f->s->peers[0];
	uint64_t id;

	p->pull_id = req;
	p->pull_at = mono_ms();
	send_page(f, req, n, true);
	assert_true(p->paging);
	assert_int_not_equal(id = read_pull(f), 0);
	assert_int_equal(p->pull_id, id);
	return id;
}

/* The room for one more page: page_bytes and one change set, in the peer's share and all. */
static void
test_room(void **state)
{
	struct fx *f = *state;
	struct sync *s = f->s;
	struct peer *p = &s->peers[0];
	size_t page = PAGE + ARR_CS_MAX_BYTES;

	assert_true(sync_applyq_room(s, p));
	p->applyq_bytes = SYNC_APPLYQ_PEER - page;
	assert_true(sync_applyq_room(s, p));
	p->applyq_bytes++;
	assert_false(sync_applyq_room(s, p));
	p->applyq_bytes = 0;
	/* the whole queue's bound too: other peers' change sets count */
	s->set.page_bytes = 65536;
	page = 65536 + ARR_CS_MAX_BYTES;
	for (size_t i = 0; sync_applyq_bytes(s) + page <= SYNC_APPLYQ_BYTES; i++) {
		assert_true(sync_applyq_room(s, p));
		assert_true(i < 64);
		send_page(f, 0, 1, false); /* a stray: queued all the same */
		p->applyq_bytes = 0;       /* as if another peer's */
	}
	p->applyq_bytes = 0;
	assert_false(sync_applyq_room(s, p));
}

/*
 * A catch-up of pages of four change sets: the second pull goes out on the first page,
 * the third only once the first page was applied, and the queue never held more than
 * the peer's share. A round applies one batch (one change set here), so that applying
 * the first page stops at its end: a round of 25 ms could apply the second page too
 * and leave nothing to tell a pull made on room from one made on a drained queue.
 */
static void
test_pull_while_applying(void **state)
{
	struct fx *f = *state;
	struct sync *s = f->s;
	struct peer *p = &s->peers[0];
	uint64_t id;

	sync_applyq_set_slice(s, 0);
	/* the next page is asked for before this one is applied */
	id = start_catchup(f, 41, PER_PG);
	assert_false(p->pull_more);
	/* with two pages waiting there is no room for a third: its pull waits */
	send_page(f, id, PER_PG, true);
	assert_int_equal(read_pull(f), 0);
	assert_true(p->pull_more);
	assert_int_equal(p->pull_id, 0);
	assert_int_equal(sync_applyq_bytes(s), 2 * PER_PG * CS_LEN);
	/* the first page applied made room: the pull goes out before the queue drains */
	apply_until(s, PER_PG * CS_LEN);
	assert_int_not_equal(id = read_pull(f), 0);
	assert_int_equal(p->pull_id, id);
	assert_false(p->pull_more);
	assert_int_equal(sync_applyq_bytes(s), PER_PG * CS_LEN);
	send_page(f, id, PER_PG, false);
	assert_int_equal(read_pull(f), 0); /* the last one */
	apply_until(s, 0);
	assert_int_equal(dropped(s), 0);
}

/* A peer sending more than it was asked for cannot pass its share; what it tries is counted. */
static void
test_flood_bounded(void **state)
{
	struct fx *f = *state;
	struct sync *s = f->s;
	struct peer *p = &s->peers[0];
	uint64_t id, before = dropped(s);

	id = start_catchup(f, 7, PER_PG);
	/* unasked pages, and an answer of eight change sets where four fit */
	for (int i = 0; i < 3; i++)
		send_page(f, 0, PER_PG, true);
	assert_true(sync_applyq_bytes(s) <= SYNC_APPLYQ_PEER);
	assert_true(p->applyq_bytes <= SYNC_APPLYQ_PEER);
	send_page(f, id, 2 * PER_PG, true);
	assert_true(p->applyq_bytes <= SYNC_APPLYQ_PEER);
	/* the second and third unasked pages, and the answer */
	assert_int_equal(dropped(s), before + 2 * PER_PG + 2 * PER_PG);
	/* dropped: asked for again once there is room, never more than one pull out */
	assert_true(p->pull_more);
	assert_int_equal(read_pull(f), 0);
	apply_until(s, 0);
	assert_int_not_equal(read_pull(f), 0);
	assert_int_equal(read_pull(f), 0);
}

/* Room made while a pull is out sends no second one: one page at a time is asked for. */
static void
test_one_pull_out(void **state)
{
	struct fx *f = *state;
	struct sync *s = f->s;
	struct peer *p = &s->peers[0];
	uint64_t id;

	id = start_catchup(f, 5, PER_PG);
	/* a gap asks for a pull meanwhile: it waits */
	assert_int_equal(sync_send_pull(s, p, LINK_NONE, "gap"), 1);
	assert_true(p->pull_more);
	/* room is made (as once an item was applied): still one pull out */
	sync_applyq_pull_room(s);
	assert_int_equal(read_pull(f), 0);
	assert_int_equal(p->pull_id, id);
	assert_true(p->pull_more);
	/* the one out timed out: the waiting one goes, past what is queued */
	p->pull_at = mono_ms() - 5000;
	sync_applyq_pull_room(s);
	assert_int_not_equal(read_pull(f), 0);
	assert_false(p->pull_more);
	/* without room it would wait again */
	p->pull_more = true;
	p->pull_at = mono_ms() - 5000;
	p->applyq_bytes = SYNC_APPLYQ_PEER;
	sync_applyq_pull_room(s);
	assert_int_equal(read_pull(f), 0);
	assert_true(p->pull_more);
	p->applyq_bytes = PER_PG * CS_LEN;
}

/* A pull ahead asks past what waits in the queue: the vector held, raised by the queued. */
static void
test_ahead_vector(void **state)
{
	struct fx *f = *state;
	struct sync *s = f->s;
	struct peer *p = &s->peers[0];
	uint8_t ox[ARR_ORIGIN_LEN];
	uint64_t seq = 0;

	memset(ox, 0x33, sizeof(ox));
	assert_non_null(s->queued = vv_new());
	assert_int_equal(vv_set(s->queued, ox, 9), 0);
	assert_int_equal(sync_send_pull_ahead(s, p, LINK_NONE, NULL), 1);
	assert_int_not_equal(read_pull_seq(f, ox, &seq), 0);
	assert_int_equal(seq, 9);
	/* a plain pull asks from what is held: the queued may still fail */
	assert_int_equal(sync_send_pull(s, p, LINK_NONE, "test"), 1);
	assert_int_not_equal(read_pull_seq(f, ox, &seq), 0);
	assert_int_equal(seq, 0);
}

/* The queue ran empty between two pages of a catch-up: the wait is counted. */
static void
test_starved(void **state)
{
	struct fx *f = *state;
	struct sync *s = f->s;
	uint64_t id = start_catchup(f, 3, 1);

	assert_true(sync_applyq_starved_s(s) == 0);
	apply_until(s, 0);
	usleep(30000);
	send_page(f, id, 1, false);
	assert_true(sync_applyq_starved_s(s) >= 0.025);
	assert_true(sync_applyq_starved_s(s) < 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_room, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pull_while_applying, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flood_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_starved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ahead_vector, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_pull_out, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
