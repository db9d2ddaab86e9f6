/*
 * sync_recv.c: what the peer layer receives. Reads the ROUTER and the DEALERs (bounded
 * bursts, never blocking), ties each ROUTER message to the member the ZAP handler
 * authenticated, decodes and checks it, and dispatches it: the handshake (HELLO on the
 * ROUTER, WELCOME on a DEALER), PULL, PAGE, PUSH, HEARTBEAT, VDIGEST, PRUNE, GRAFT and
 * ERROR.
 * Queues received change sets for sync_applyq.c, which applies them through
 * store_apply() (in shared transactions while a peer pages us: the bulk apply, started
 * and ended here). Malformed input is
 * counted, answered with ERROR and dropped; a peer's text is never logged.
 */
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "arrerr.h"
#include "hlc.h"
#include "log.h"
#include "monoclock.h"
#include "sync_int.h"

/*
 * Catch-up: while any peer answers our pulls with more pages to come, the store applies
 * them in shared transactions (store_bulk_begin), so a B-tree page dirtied by many PAGEs
 * is written once. Ends when no peer is paging any more: its last page came and was
 * applied (the queue holds none of its change sets), or its pull timed out. A crash
 * loses only the uncommitted tail, which the next pull fetches.
 */
void
sync_recv_bulk_update(struct sync *s, uint64_t now)
{
	bool paging = false;
	int rc;

	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (p->paging && !p->pull_more && p->applyq_bytes == 0 &&
		    !sync_send_pull_outstanding(s, p, now))
			p->paging = false;
		paging = paging || p->paging;
	}
	if (paging && !s->bulk) {
		if ((rc = store_bulk_begin(s->st)) != 0)
			log_warnx("sync: cannot start a bulk apply: %s", arrerr_name(rc));
		else
			s->bulk = true;
	} else if (!paging && s->bulk) {
		s->bulk = false;
		if ((rc = store_bulk_end(s->st)) != 0)
			log_warnx("sync: cannot commit a bulk apply: %s", arrerr_name(rc));
		sync_ours_stale(s);
	}
}

/* ERROR code to p on link l, or to routing id rid when it is not p's link (yet). */
static void
refuse(struct sync *s, struct peer *p, enum link_id l, const uint8_t *rid, size_t ridlen, int code,
       const char *text)
{
	if (rid != NULL)
		sync_link_send_error_rid(s, rid, ridlen, code, text);
	else
		sync_link_send_error(s, p, l, code, text);
}

/*
 * Check a HELLO or WELCOME: version and origin; refuse it with ERROR on link l, or to
 * rid (not NULL: a HELLO on a connection that is not p's link yet). 0 when acceptable.
 */
static int
check_hello(struct sync *s, struct peer *p, enum link_id l, const uint8_t *rid, size_t ridlen,
            const struct peermsg *m)
{
	int rc = sync_msg_check_hello(p->origin, m);
	bool say;

	if (rc != ARR_EVERSION && rc != ARR_ENOTMEMBER)
		return rc;
	s->refused++;
	say = sync_log_ok(s, p, "refused");
	if (rc == ARR_EVERSION) {
		if (say)
			log_error("peer %s: refused: it speaks protocol %llu.%llu, we speak %d.%d",
			          p->name, (unsigned long long)m->major,
			          (unsigned long long)m->minor, PEERMSG_MAJOR, PEERMSG_MINOR);
		refuse(s, p, l, rid, ridlen, ARR_EVERSION, "unsupported protocol major version");
	} else {
		if (say)
			log_warnx("peer %s: refused: %s origin is not the authenticated member",
			          p->name, peermsg_type_name((int)m->type));
		refuse(s, p, l, rid, ridlen, ARR_ENOTMEMBER,
		       "origin does not match the connection's key");
	}
	return rc;
}

/* HELLO from p on its DEALER: answer WELCOME, pull when it has what we lack. */
static void
on_hello(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	const struct vv *v;

	if (l != LINK_IN) {
		sync_link_send_error(s, p, l, ARR_ESTATE, "HELLO is sent by the connecting side");
		return;
	}
	if (check_hello(s, p, l, NULL, 0, m) != 0) {
		p->in.up = false;
		return;
	}
	if (!p->in.up && sync_log_ok(s, p, "link"))
		log_info("peer %s: incoming link up", p->name);
	p->in.up = true;
	sync_peer_handshake(p, &p->in, m);
	if ((v = sync_ours(s)) != NULL) {
		struct peermsg w;
		sync_msg_fill_hello(s->key, &w, PEERMSG_WELCOME, v, s->set.heartbeat_ms);
		(void)sync_link_send(s, p, l, &w);
		if (vv_missing(m->vector, v) > 0)
			sync_send_pull(s, p, l, "hello");
	}
}

/* WELCOME from p on our DEALER: the outgoing link is up; pull. */
static void
on_welcome(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m, uint64_t now)
{
	if (l != LINK_OUT) {
		sync_link_send_error(s, p, l, ARR_ESTATE, "WELCOME answers HELLO");
		return;
	}
	if (check_hello(s, p, l, NULL, 0, m) != 0) {
		p->out.up = false;
		p->out.refused = true;
		p->refused_at = now;
		return;
	}
	if (!p->out.up && sync_log_ok(s, p, "link"))
		log_info("peer %s: outgoing link up", p->name);
	sync_dial_up(p);
	p->out.up = true;
	p->out.refused = false;
	sync_peer_handshake(p, &p->out, m);
	if (!sync_send_pull_outstanding(s, p, now))
		sync_send_pull(s, p, l, "connect");
}

/* store_changeset_get()'s callback: whether the logged envelope has the received bytes. */
struct logged_cmp {
	const struct peermsg_blob *got;
	bool same;
};

static int
logged_same(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
            size_t len)
{
	struct logged_cmp *c = ctx;

	(void)origin;
	(void)seq;
	c->same = len == c->got->len && memcmp(data, c->got->data, len) == 0;
	return 0;
}

/* Whether cs (origin, seq peeked) is a copy of what our log holds at (origin, seq). */
static bool
logged_copy(struct sync *s, const struct vv *ours, const struct peermsg_blob *cs)
{
	struct logged_cmp c = {.got = cs};
	uint8_t origin[ARR_ORIGIN_LEN];
	uint64_t seq;

	if (peermsg_cs_peek(cs->data, cs->len, origin, &seq) != 0 || seq > vv_get(ours, origin))
		return false;
	return store_changeset_get(s->st, origin, seq, logged_same, &c) == 0 && c.same;
}

/*
 * Duplicates are recognised before the signature check (PROTOCOL.md, "Duplicates"): a
 * change set of m whose (origin, seq) our vector holds and whose bytes are those of our
 * log is counted as a duplicate and dropped here, so store_apply(), which verifies
 * Ed25519 first, never sees it. One with other bytes goes on: it may be a second signed
 * content (a proof of equivocation) or a forgery, which the store tells apart. f is m
 * with only the change sets that go on (f->cs is new: the caller frees it). 0, or
 * ARR_ENOMEM (nothing queued; a later pull repairs it).
 */
static int
drop_held(struct sync *s, struct peer *p, const struct peermsg *m, struct peermsg *f,
          enum sync_via via)
{
	const struct vv *ours = sync_ours(s);
	size_t dropped = 0;

	*f = *m;
	f->ncs = 0;
	if ((f->cs = calloc(m->ncs ? m->ncs : 1, sizeof(*f->cs))) == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < m->ncs; i++) {
		uint8_t origin[ARR_ORIGIN_LEN];
		uint64_t seq;

		bool peeked = peermsg_cs_peek(m->cs[i].data, m->cs[i].len, origin, &seq) == 0;
		/* a copy of one still queued for the apply, with all before it (a hint) */
		bool queued = peeked && s->queued != NULL && seq > vv_get(ours, origin) &&
		              seq <= vv_get(s->queued, origin);

		if (ours == NULL || (!queued && !logged_copy(s, ours, &m->cs[i]))) {
			f->cs[f->ncs++] = m->cs[i];
			continue;
		}
		/* it has it: do not push it back */
		if (peeked)
			sync_peer_known_add(p, origin, seq);
		dropped++;
	}
	s->count.received += dropped;
	s->count.received_via[via] += m->ncs;
	s->count.dup_via[via] += dropped;
	s->count.duplicates += dropped;
	s->count.dup_unverified += dropped;
	if (dropped > 0 && sync_log_ok(s, p, "apply"))
		log_debug("peer %s: %s of %zu: %zu duplicates dropped before verification", p->name,
		          peermsg_type_name((int)m->type), m->ncs, dropped);
	return 0;
}

/*
 * The change sets of f were queued for the apply: raise s->queued, per origin, over the
 * seqs that continue what we hold or queued before. A hint only (drop_held, the lazy
 * push): a queued change set may still fail to apply, so it is forgotten whenever the
 * queue drains (sync_recv_queued_reset), and a pull repairs what it hid.
 */
static void
note_queued(struct sync *s, const struct peermsg *f)
{
	const struct vv *ours = sync_ours(s);

	if (ours == NULL || (s->queued == NULL && (s->queued = vv_new()) == NULL))
		return;
	for (size_t i = 0; i < f->ncs; i++) {
		uint8_t origin[ARR_ORIGIN_LEN];
		uint64_t seq;

		if (peermsg_cs_peek(f->cs[i].data, f->cs[i].len, origin, &seq) == 0 &&
		    seq == sync_recv_have(s, origin) + 1)
			(void)vv_set(s->queued, origin, seq);
	}
}

uint64_t
sync_recv_have(struct sync *s, const uint8_t origin[ARR_ORIGIN_LEN])
{
	const struct vv *ours = sync_ours(s);
	uint64_t a = ours != NULL ? vv_get(ours, origin) : 0;
	uint64_t b = s->queued != NULL ? vv_get(s->queued, origin) : 0;

	return a > b ? a : b;
}

void
sync_recv_queued_reset(struct sync *s)
{
	vv_destroy(&s->queued);
}

/*
 * PAGE from p: the answer to our pull or a stray; queued for the apply (sync_applyq.c).
 * The next page is asked for at once while p's share of the queue has room for it beside
 * this one (the pull's vector is what we hold raised by what is queued, this page
 * included: sync_send_pull_ahead); otherwise once an item of the queue has been applied
 * and made room, or once the queue has drained.
 */
static void
on_page(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m, uint64_t now)
{
	bool mine = m->req_id != 0 && m->req_id == p->pull_id;
	enum sync_via via = mine ? p->pull_via : SYNC_VIA_STRAY;
	struct peermsg f;

	if (drop_held(s, p, m, &f, via) != 0)
		return;
	if (!mine) {
		if (sync_applyq_add(s, p, &f, false, via) == 0)
			note_queued(s, &f);
		free(f.cs);
		return;
	}
	p->pull_id = 0;
	if (sync_applyq_add(s, p, &f, !m->more, via) != 0) {
		p->pull_more = true; /* asked again once the queue has drained */
	} else {
		note_queued(s, &f);
		if (m->more && (!sync_applyq_room(s, p) || !sync_send_pull_ahead(s, p, l, m)))
			p->pull_more = true;
	}
	free(f.cs);
	/* a catch-up's last page is applied in bulk too: paging ends once it is applied */
	p->paging = m->more || p->pull_more || (p->paging && p->applyq_bytes > 0);
	sync_recv_bulk_update(s, now);
}

/* PUSH from p: prune or note its feed, queue for the apply what is not held already. */
static void
on_push(struct sync *s, struct peer *p, const struct peermsg *m)
{
	struct peermsg f;

	sync_lazy_on_push(s, p, m);
	if (drop_held(s, p, m, &f, SYNC_VIA_PUSH) != 0)
		return;
	if (sync_applyq_add(s, p, &f, false, SYNC_VIA_PUSH) == 0)
		note_queued(s, &f);
	free(f.cs);
}

/* ERROR from p. The text comes from the peer: only its code goes to the log. */
static void
on_error(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	bool say = sync_log_ok(s, p, "error");

	if (say && m->code == ARR_EVERSION)
		log_error("peer %s: refuses our protocol version", p->name);
	else if (say)
		log_warnx("peer %s: error %s", p->name, arrerr_name(m->code));
	if (m->code == ARR_ESTATE && l == LINK_OUT) {
		/* it restarted and does not know us: handshake again */
		p->out.up = false;
		sync_link_send_hello(s, p);
	}
}

/* One decoded message from p on link l. */
static void
on_message(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	uint64_t now = mono_ms();

	switch (m->type) {
	case PEERMSG_HELLO:
		on_hello(s, p, l, m);
		break;
	case PEERMSG_WELCOME:
		on_welcome(s, p, l, m, now);
		break;
	case PEERMSG_PULL:
		sync_send_page(s, p, l, m);
		break;
	case PEERMSG_PAGE:
		on_page(s, p, l, m, now);
		break;
	case PEERMSG_PUSH:
		on_push(s, p, m);
		break;
	case PEERMSG_HEARTBEAT:
		sync_peer_known_merge(p, m->vector);
		sync_lazy_note_lag(s, p, m->vector, now);
		break;
	case PEERMSG_VDIGEST:
		sync_send_on_vdigest(s, p, m, now);
		break;
	case PEERMSG_PRUNE:
		sync_lazy_on_origins(p, m, 1);
		break;
	case PEERMSG_GRAFT:
		sync_lazy_on_origins(p, m, 0);
		break;
	case PEERMSG_ERROR:
		on_error(s, p, l, m);
		break;
	case PEERMSG_LOGSUM:
	case PEERMSG_LOGREQ:
	case PEERMSG_EVIDENCE:
		sync_equiv_on_message(s, p, l, m);
		break;
	case PEERMSG_JOINED:
		if (l == LINK_OUT)
			sync_join_on_joined(s, p, m);
		break;
	case PEERMSG_JOIN:
		break; /* only a connection in the join state sends one (sync_join.c) */
	}
}

/* A message that did not decode: count it, warn (rate-limited), answer ERROR. */
static void
on_malformed(struct sync *s, struct peer *p, enum link_id l, size_t len, int rc)
{
	s->malformed++;
	if (sync_log_ok(s, p, "malformed"))
		log_warnx("peer %s: dropped a malformed message (%zu bytes): %s", p->name, len,
		          arrerr_name(rc));
	sync_link_send_error(s, p, l, rc, "malformed message");
}

/* Note that p was heard from on link l, then dispatch m. */
static void
on_decoded(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	uint64_t now = mono_ms();

	p->last_rx = now;
	p->last_seen_wall = hlc_wall_ms();
	(l == LINK_OUT ? &p->out : &p->in)->last_rx = now;
	on_message(s, p, l, m);
}

void
sync_recv_drain(void *sock)
{
	int more;
	size_t sz = sizeof(more);

	while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
		zmq_msg_t f;
		zmq_msg_init(&f);
		if (zmq_msg_recv(&f, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&f);
			break;
		}
		zmq_msg_close(&f);
	}
}

/*
 * One message from the ROUTER, its routing id and payload already read: find the
 * authenticated member, decode, and make sure a new connection starts with HELLO.
 */
static void
on_router_msg(struct sync *s, const uint8_t *rid, size_t ridlen, zmq_msg_t *msg)
{
	const char *uid = zmq_msg_gets(msg, "User-Id");
	uint8_t origin[ARR_ORIGIN_LEN];
	struct peermsg *m = NULL;
	struct peer *p;
	bool current;
	int rc;

	if (uid != NULL && uid[0] == 'J') {
		sync_join_on_router(s, rid, ridlen, uid, zmq_msg_data(msg), zmq_msg_size(msg));
		return;
	}
	if (uid == NULL || nodekey_parse_hex(uid, origin) != 0 ||
	    (p = sync_peer_by_origin(s, origin)) == NULL) {
		/* authenticated under a members file that has since changed */
		s->refused++;
		return;
	}
	if (ridlen == 0 || ridlen > SYNC_RID_MAX) {
		s->malformed++;
		return;
	}
	current = p->ridlen == ridlen && memcmp(p->rid, rid, ridlen) == 0;
	if ((rc = peermsg_decode(zmq_msg_data(msg), zmq_msg_size(msg), &m)) != 0) {
		if (current) {
			on_malformed(s, p, LINK_IN, zmq_msg_size(msg), rc);
		} else {
			s->malformed++;
			sync_link_send_error_rid(s, rid, ridlen, rc, "malformed message");
		}
		return;
	}
	if (m->type == PEERMSG_HELLO && !current) {
		/*
		 * A new connection from p (it reconnected or restarted) takes over from the
		 * old one only with a HELLO we accept: a refused one leaves the live link be.
		 */
		if (check_hello(s, p, LINK_IN, rid, ridlen, m) != 0)
			goto out;
		sync_link_takeover(s, p, rid, ridlen, zmq_msg_get(msg, ZMQ_SRCFD));
	} else if (m->type != PEERMSG_HELLO && (!current || !p->in.up)) {
		sync_link_send_error_rid(s, rid, ridlen, ARR_ESTATE, "send HELLO first");
		goto out;
	}
	on_decoded(s, p, LINK_IN, m);
out:
	peermsg_destroy(&m);
}

/* Messages on the ROUTER: [routing id][payload], payload tagged with the ZAP User-Id. */
void
sync_recv_router(struct sync *s)
{
	for (int n = 0; n < SYNC_BURST; n++) {
		zmq_msg_t rid, msg;
		int more = 0;
		size_t sz = sizeof(more);
		bool done = false;

		zmq_msg_init(&rid);
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&rid, s->router, ZMQ_DONTWAIT) < 0) {
			done = true;
		} else if (zmq_getsockopt(s->router, ZMQ_RCVMORE, &more, &sz) != 0 || !more ||
		           zmq_msg_recv(&msg, s->router, ZMQ_DONTWAIT) < 0) {
			s->malformed++;
		} else if (zmq_msg_more(&msg)) {
			sync_recv_drain(s->router);
			s->malformed++;
		} else {
			on_router_msg(s, zmq_msg_data(&rid), zmq_msg_size(&rid), &msg);
		}
		zmq_msg_close(&rid);
		zmq_msg_close(&msg);
		if (done)
			return;
	}
}

/* One message on p's DEALER. Before WELCOME only the handshake answer counts. */
static void
on_dealer_msg(struct sync *s, struct peer *p, const uint8_t *buf, size_t len)
{
	struct peermsg *m = NULL;
	int rc;

	if ((rc = peermsg_decode(buf, len, &m)) != 0) {
		on_malformed(s, p, LINK_OUT, len, rc);
		return;
	}
	if (!p->out.up && m->type != PEERMSG_WELCOME && m->type != PEERMSG_ERROR &&
	    m->type != PEERMSG_JOINED) {
		if (sync_log_ok(s, p, "order"))
			log_debug("peer %s: %s before WELCOME ignored", p->name,
			          peermsg_type_name((int)m->type));
	} else {
		on_decoded(s, p, LINK_OUT, m);
	}
	peermsg_destroy(&m);
}

/* Messages on p's DEALER: one frame each, from the peer's ROUTER. */
void
sync_recv_dealer(struct sync *s, struct peer *p)
{
	for (int n = 0; n < SYNC_BURST && p->dealer != NULL; n++) {
		zmq_msg_t msg;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, p->dealer, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		if (zmq_msg_more(&msg)) {
			sync_recv_drain(p->dealer);
			on_malformed(s, p, LINK_OUT, zmq_msg_size(&msg), ARR_EMALFORMED);
		} else {
			on_dealer_msg(s, p, zmq_msg_data(&msg), zmq_msg_size(&msg));
		}
		zmq_msg_close(&msg);
	}
}
