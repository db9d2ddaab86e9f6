/*
 * sync.c: the peer layer. Owns the peer sockets (CURVE ROUTER, ZAP handler, one CURVE
 * DEALER per member with an endpoint) and the per-peer state: which links are up, when
 * the peer was last heard from, and the last version vector it told us (or that we
 * pushed to it). It speaks the peer messages of protocol/peermsg.h and drives
 * anti-entropy: pulls on connect, on a heartbeat that shows the peer ahead (after a
 * grace, the lag check), on a gap, on request and periodically; pushes after every
 * commit; heartbeats on every link, and an announcement (a HEARTBEAT, rate-limited)
 * after every commit or apply so neighbours stop pushing what we already have.
 *
 * Redundancy: per origin, a peer that pushes us change sets we already hold (while
 * another peer feeds us that origin) is told to PRUNE it; it then only announces that
 * origin to us, and we GRAFT it back and pull when an announcement shows a gap that the
 * remaining eager links did not fill (PROTOCOL.md, "Eager and lazy push", "Lag"). This
 * is Plumtree's idea (epidemic broadcast trees) with vectors as the lazy IHAVE.
 *
 * It never writes to the replica except through store_apply(), never blocks (every send
 * is ZMQ_DONTWAIT; a failed send is repaired by the next pull), never logs contents of
 * change sets or messages: member names, codes and counts only.
 *
 * Identity: the ZAP handler admits a CURVE key only if it belongs to a member and hands
 * the member's origin (hex) to ZeroMQ as the connection's User-Id, so every message on
 * the ROUTER carries the authenticated member. The origin rather than the name is used
 * because it survives a rename of the member in a reloaded members file. A DEALER's peer
 * is authenticated by the CURVE server key we configured for it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

#include "arrerr.h"
#include "hlc.h"
#include "monoclock.h"
#include "log.h"
#include "peermsg.h"
#include "sync.h"

#define SYNC_ZAP_ENDPOINT     "inproc://zeromq.zap.01"
#define SYNC_ZAP_DOMAIN       "arrangd"
#define SYNC_LINGER_MS        100
#define SYNC_RECONNECT_MS     100
#define SYNC_RECONNECT_MAX_MS 5000
#define SYNC_RID_MAX          256
#define SYNC_BURST            64   /* messages read from one socket per poll round */
#define SYNC_WARN_EVERY_MS    1000 /* at most one malformed-message warning per peer */
#define SYNC_ANNOUNCE_MS      20   /* at most one announcement (HEARTBEAT) per peer in this */
#define SYNC_LAG_MS           100  /* grace before pulling what an announcement showed us */
#define SYNC_FED_MS           1000 /* a peer that pushed new change sets this recently feeds us */
#define SYNC_CAP_LAZY         "lazy"

/* Upper bounds (seconds) of the apply latency histogram's buckets, +Inf aside. */
static const double apply_le[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
#define SYNC_APPLY_BUCKETS (sizeof(apply_le) / sizeof(apply_le[0]))

/* What sync_metrics() reports: change sets by fate since start, apply latency. */
struct sync_counters {
	uint64_t sent;     /* in PUSH and PAGE messages that left */
	uint64_t received; /* in PUSH and PAGE messages from peers */
	uint64_t applied, duplicates, quarantined;
	uint64_t apply_count;                      /* store_apply() calls for received batches */
	double apply_sum;                          /* their seconds */
	uint64_t apply_bucket[SYNC_APPLY_BUCKETS]; /* calls within apply_le[i] (cumulative) */
};

/* One direction of connectivity with a peer. */
struct link {
	bool up;          /* handshake done: WELCOME received (out), HELLO received (in) */
	bool refused;     /* the peer speaks another major version (out) */
	uint64_t last_rx; /* monotonic ms of the last message on this link */
};

enum link_id { LINK_NONE = 0, LINK_OUT, LINK_IN };

struct peer {
	uint8_t origin[ARR_ORIGIN_LEN];
	char *name;                /* copy of the member name, for logs */
	char *endpoint;            /* copy; NULL when we do not connect to it */
	void *dealer;              /* our connection to its ROUTER, or NULL */
	struct link out;           /* our DEALER -> its ROUTER */
	bool hello_due;            /* HELLO could not go out: send when the DEALER can */
	struct link in;            /* its DEALER -> our ROUTER */
	uint8_t rid[SYNC_RID_MAX]; /* routing id of its DEALER on our ROUTER */
	size_t ridlen;
	struct vv *known; /* what it has, as far as we know (NULL: never told) */
	/*
	 * Eager/lazy push (PROTOCOL.md, "Push"). All four are sets or maps by origin and
	 * forgotten on every handshake; NULL means empty.
	 */
	bool lazy_ok;            /* it announced the "lazy" capability: PRUNE and GRAFT go to it */
	struct vv *lazy;         /* origins it PRUNEd: we do not push their change sets to it */
	struct vv *pruned;       /* origins we PRUNEd at it (GRAFT undoes them) */
	struct vv *fed;          /* origin -> monotonic ms it last pushed us a new change set */
	struct vv *lag;          /* what it announced that we lacked, or NULL */
	uint64_t lag_at;         /* monotonic ms lag was taken */
	uint64_t ann_at;         /* monotonic ms of our last announcement to it */
	bool ann_due;            /* an announcement waits for the rate limit */
	uint64_t last_rx;        /* monotonic ms, 0 = never */
	uint64_t last_seen_wall; /* wall-clock ms, 0 = never */
	uint64_t pull_id;        /* outstanding pull, 0 = none */
	uint64_t pull_at;        /* monotonic ms it was sent */
	uint64_t refused_at;     /* monotonic ms of a version refusal (out) */
	uint64_t last_warn;      /* monotonic ms of the last malformed warning */
	bool was_connected;
	bool paging; /* its pull answered with more to come: we are catching up from it */
};

struct sync {
	void *zctx;
	const struct config *cfg;
	const struct members *members;
	const struct nodekey *key;
	struct store *st;
	void *router;
	void *zap;
	struct peer *peers;
	size_t npeers;
	struct vv *ours; /* cached copy of the store's vector; NULL when stale */
	uint64_t next_hb;
	uint64_t next_pull;
	uint64_t req_seq;
	uint64_t malformed;
	uint64_t refused;
	bool bulk; /* store_bulk_begin() is in effect while some peer is paging */
	struct sync_counters count;
};

/* Change sets collected from store_changes_since(), copied (the store lends them). */
struct collect {
	uint8_t *buf;
	size_t len, cap;
	struct citem {
		size_t off, len;
		uint8_t origin[ARR_ORIGIN_LEN];
		uint64_t seq;
	} * items;
	size_t n, ncap;
};

static uint64_t
hb_ms(const struct sync *s)
{
	return s->cfg->heartbeat_ms;
}

/* A link is alive when its handshake is done and it was heard from within 3 heartbeats. */
static bool
link_alive(const struct sync *s, const struct link *l, uint64_t now)
{
	return l->up && now - l->last_rx <= 3 * hb_ms(s);
}

static bool
peer_connected(const struct sync *s, const struct peer *p, uint64_t now)
{
	return link_alive(s, &p->out, now) || (link_alive(s, &p->in, now) && p->ridlen > 0);
}

/* The link to use for an unsolicited message: our DEALER if it is up, else its. */
static enum link_id
peer_link(const struct sync *s, const struct peer *p, uint64_t now)
{
	if (p->dealer != NULL && link_alive(s, &p->out, now))
		return LINK_OUT;
	if (p->ridlen > 0 && link_alive(s, &p->in, now))
		return LINK_IN;
	return LINK_NONE;
}

/* Our current vector (cached until the store changes). NULL when out of memory. */
static const struct vv *
ours(struct sync *s)
{
	if (s->ours == NULL && store_vector(s->st, &s->ours) != 0) {
		log_warnx("sync: cannot read the version vector");
		s->ours = NULL;
	}
	return s->ours;
}

static void
ours_stale(struct sync *s)
{
	vv_destroy(&s->ours);
}

/* Send one encoded message on a link. ROUTER sends are addressed by rid/ridlen. */
static int
send_raw(struct sync *s, void *dealer, const uint8_t *rid, size_t ridlen, const uint8_t *buf,
         size_t len)
{
	if (dealer != NULL)
		return zmq_send(dealer, buf, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
	if (zmq_send(s->router, rid, ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return -1;
	return zmq_send(s->router, buf, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

/*
 * Encode and send m to p on link l. A failed send is not an error for the caller (the
 * next pull repairs it); an unroutable ROUTER peer marks the in-link down.
 */
static int
send_msg(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	if (l == LINK_NONE)
		return -1;
	if ((rc = peermsg_encode(m, &buf, &len)) != 0) {
		log_warnx("peer %s: cannot encode %s: %s", p->name, peermsg_type_name((int)m->type),
		          arrerr_name(rc));
		return rc;
	}
	rc = send_raw(s, l == LINK_OUT ? p->dealer : NULL, p->rid, p->ridlen, buf, len);
	if (rc != 0) {
		if (l == LINK_IN && errno == EHOSTUNREACH)
			p->in.up = false;
		log_debug("peer %s: %s not sent: %s", p->name, peermsg_type_name((int)m->type),
		          zmq_strerror(errno));
	}
	free(buf);
	return rc;
}

/* ERROR to whoever sent on the ROUTER with routing id rid (maybe not a known peer). */
static void
send_error_rid(struct sync *s, const uint8_t *rid, size_t ridlen, int code, const char *text)
{
	struct peermsg m = {.type = PEERMSG_ERROR, .code = code};
	uint8_t *buf;
	size_t len;

	snprintf(m.text, sizeof(m.text), "%s", text);
	if (peermsg_encode(&m, &buf, &len) != 0)
		return;
	(void)send_raw(s, NULL, rid, ridlen, buf, len);
	free(buf);
}

static void
send_error(struct sync *s, struct peer *p, enum link_id l, int code, const char *text)
{
	struct peermsg m = {.type = PEERMSG_ERROR, .code = code};

	snprintf(m.text, sizeof(m.text), "%s", text);
	(void)send_msg(s, p, l, &m);
}

static void
fill_hello(struct sync *s, struct peermsg *m, enum peermsg_type type, const struct vv *v)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->major = PEERMSG_MAJOR;
	m->minor = PEERMSG_MINOR;
	memcpy(m->origin, nodekey_public(s->key), ARR_ORIGIN_LEN);
	m->ncaps = 3;
	strcpy(m->caps[0], "push");
	strcpy(m->caps[1], "relay");
	strcpy(m->caps[2], SYNC_CAP_LAZY);
	m->vector = (struct vv *)v;
}

/*
 * HELLO on our DEALER. Until its connection (and CURVE handshake) completes the DEALER
 * takes nothing (ZMQ_IMMEDIATE); the HELLO is then due, and the loop polls the DEALER
 * for writability and sends it the moment it can, rather than at the next heartbeat.
 */
static void
send_hello(struct sync *s, struct peer *p)
{
	struct peermsg m;
	const struct vv *v = ours(s);

	if (v == NULL || p->dealer == NULL)
		return;
	fill_hello(s, &m, PEERMSG_HELLO, v);
	p->hello_due = send_msg(s, p, LINK_OUT, &m) != 0;
}

/*
 * Send PULL with our vector to p on link l (or its preferred link). Returns 1 when
 * sent, 0 when it could not be.
 */
static int
pull_with(struct sync *s, struct peer *p, enum link_id l, const struct vv *vector, const char *why)
{
	struct peermsg m = {.type = PEERMSG_PULL};
	uint64_t now = mono_ms();

	if (l == LINK_NONE)
		l = peer_link(s, p, now);
	if (l == LINK_NONE || (m.vector = (struct vv *)vector) == NULL)
		return 0;
	m.req_id = ++s->req_seq;
	m.max_bytes = s->cfg->page_bytes;
	if (send_msg(s, p, l, &m) != 0)
		return 0;
	p->pull_id = m.req_id;
	p->pull_at = now;
	log_debug("peer %s: pull %llu (%s)", p->name, (unsigned long long)m.req_id, why);
	return 1;
}

static int
pull_from(struct sync *s, struct peer *p, enum link_id l, const char *why)
{
	return pull_with(s, p, l, ours(s), why);
}

/*
 * A page came with more to follow: ask for the next one before applying this one, so
 * the peer reads and sends it while we apply (the two overlap instead of taking turns).
 * The pull carries the vector we will have once this page is applied: pages hold change
 * sets in (origin, seq) order, each origin's continuing where our vector ends. Should
 * the apply fail, the next page holds change sets past a gap, which wait as pending,
 * and the pull after the last page (or the lag check) fetches what is missing: the log
 * and the vectors stay the truth.
 */
static int
pull_ahead(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *page)
{
	const struct vv *cur = ours(s);
	struct vv *next;
	int rc;

	if (cur == NULL || (next = vv_dup(cur)) == NULL)
		return 0;
	for (size_t i = 0; i < page->ncs; i++) {
		uint8_t origin[ARR_ORIGIN_LEN];
		uint64_t seq;

		if (peermsg_cs_peek(page->cs[i].data, page->cs[i].len, origin, &seq) == 0 &&
		    seq == vv_get(next, origin) + 1 && vv_set(next, origin, seq) != 0)
			break;
	}
	rc = pull_with(s, p, l, next, "ahead");
	vv_destroy(&next);
	return rc;
}

/* A pull is outstanding when one was sent recently and its page has not come back. */
static bool
pull_outstanding(const struct sync *s, const struct peer *p, uint64_t now)
{
	uint64_t timeout = 4 * hb_ms(s) > 1000 ? 4 * hb_ms(s) : 1000;

	return p->pull_id != 0 && now - p->pull_at < timeout;
}

static int
collect_fn(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
           size_t len)
{
	struct collect *c = ctx;

	if (c->len + len > c->cap) {
		size_t cap = c->cap ? c->cap : 65536;
		uint8_t *b;
		while (cap < c->len + len)
			cap *= 2;
		if ((b = realloc(c->buf, cap)) == NULL)
			return ARR_ENOMEM;
		c->buf = b;
		c->cap = cap;
	}
	if (c->n == c->ncap) {
		size_t ncap = c->ncap ? 2 * c->ncap : 64;
		struct citem *it = realloc(c->items, ncap * sizeof(*it));
		if (it == NULL)
			return ARR_ENOMEM;
		c->items = it;
		c->ncap = ncap;
	}
	memcpy(c->buf + c->len, data, len);
	c->items[c->n].off = c->len;
	c->items[c->n].len = len;
	memcpy(c->items[c->n].origin, origin, ARR_ORIGIN_LEN);
	c->items[c->n].seq = seq;
	c->n++;
	c->len += len;
	return 0;
}

static void
collect_free(struct collect *c)
{
	free(c->buf);
	free(c->items);
	memset(c, 0, sizeof(*c));
}

/* Blobs pointing into c (valid until c changes); NULL when out of memory or empty. */
static struct peermsg_blob *
collect_blobs(const struct collect *c)
{
	struct peermsg_blob *b;

	if (c->n == 0 || (b = calloc(c->n, sizeof(*b))) == NULL)
		return NULL;
	for (size_t i = 0; i < c->n; i++) {
		b[i].data = c->buf + c->items[i].off;
		b[i].len = c->items[i].len;
	}
	return b;
}

/* Record that p has (origin, seq): it sent it to us, or we just sent it. */
static void
known_add(struct peer *p, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq)
{
	if (p->known == NULL && (p->known = vv_new()) == NULL)
		return;
	if (vv_get(p->known, origin) < seq)
		(void)vv_set(p->known, origin, seq);
}

/* Replace what we know of p's vector with what it just told us. */
static void
known_set(struct peer *p, const struct vv *v)
{
	struct vv *d = vv_dup(v);

	if (d == NULL)
		return;
	vv_destroy(&p->known);
	p->known = d;
}

/*
 * Raise what we know of p's vector by what it announced (HEARTBEAT). Never lowered: an
 * announcement may be older than change sets we pushed since, and lowering would push
 * them again. An optimistic guess that was wrong (a dropped push) is repaired by p's
 * pull, which our announcements trigger, and by the PULL's vector, which replaces.
 */
static void
known_merge(struct peer *p, const struct vv *v)
{
	if (p->known == NULL) {
		known_set(p, v);
		return;
	}
	(void)vv_merge(p->known, v);
}

/* Set (seq 1) or clear (seq 0) origin in the set *set, creating it on demand. */
static void
set_origin(struct vv **set, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq)
{
	if (*set == NULL && seq == 0)
		return;
	if (*set == NULL && (*set = vv_new()) == NULL)
		return;
	(void)vv_set(*set, origin, seq);
}

/* Forget the eager/lazy state of p: after a handshake both sides start eager. */
static void
lazy_reset(struct peer *p)
{
	vv_destroy(&p->lazy);
	vv_destroy(&p->pruned);
	vv_destroy(&p->fed);
	vv_destroy(&p->lag);
	p->ann_due = false;
}

/*
 * The vector to push to p against: its known vector, raised to ours for the origins it
 * PRUNEd (it gets those from another peer, and from us only when it pulls). NULL when
 * out of memory; *tmp is set when a new vector had to be made (the caller frees it).
 */
static const struct vv *
push_base(struct sync *s, struct peer *p, struct vv **tmp)
{
	const struct vv *v;

	*tmp = NULL;
	if (p->lazy == NULL || vv_count(p->lazy) == 0)
		return p->known;
	if ((v = ours(s)) == NULL || (*tmp = vv_dup(p->known)) == NULL)
		return NULL;
	for (size_t i = 0; i < vv_count(p->lazy); i++) {
		const uint8_t *o = vv_at(p->lazy, i)->origin;
		if (vv_get(v, o) > vv_get(*tmp, o))
			(void)vv_set(*tmp, o, vv_get(v, o));
	}
	return *tmp;
}

/*
 * Push to every connected peer the change sets its known vector lacks (at most one page
 * each), except those of origins it PRUNEd, and count them as known to it: an
 * optimistic guess that its pull repairs when wrong. This relays what we applied from
 * one peer to the others.
 */
static void
push_new(struct sync *s)
{
	uint64_t now = mono_ms();

	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];
		struct collect c = {0};
		struct peermsg m = {.type = PEERMSG_PUSH};
		enum link_id l = peer_link(s, p, now);
		const struct vv *base;
		struct vv *tmp = NULL;
		bool more = false;
		int rc;

		if (l == LINK_NONE || p->known == NULL)
			continue;
		if ((base = push_base(s, p, &tmp)) == NULL)
			continue;
		rc = store_changes_since(s->st, base, s->cfg->page_bytes, collect_fn, &c, &more);
		vv_destroy(&tmp);
		if (rc != 0) {
			log_warnx("peer %s: cannot read change sets to push: %s", p->name,
			          arrerr_name(rc));
		} else if (c.n > 0 && (m.cs = collect_blobs(&c)) != NULL) {
			m.ncs = c.n;
			if (send_msg(s, p, l, &m) == 0) {
				s->count.sent += c.n;
				for (size_t k = 0; k < c.n; k++)
					known_add(p, c.items[k].origin, c.items[k].seq);
				log_debug("peer %s: pushed %zu change sets", p->name, c.n);
			}
			free(m.cs);
		}
		collect_free(&c);
	}
}

/* Tell p our vector now (a HEARTBEAT on its preferred link). */
static void
announce(struct sync *s, struct peer *p, uint64_t now)
{
	struct peermsg m = {.type = PEERMSG_HEARTBEAT};
	enum link_id l = peer_link(s, p, now);

	p->ann_due = false;
	if (l == LINK_NONE || (m.vector = (struct vv *)ours(s)) == NULL)
		return;
	p->ann_at = now;
	(void)send_msg(s, p, l, &m);
}

/*
 * Our vector grew: announce it to every connected peer, at most once per
 * SYNC_ANNOUNCE_MS each (a later one waits for sync_tick). Peers stop pushing us what
 * we have, and peers that PRUNEd us learn what they can pull.
 */
static void
announce_all(struct sync *s)
{
	uint64_t now = mono_ms();

	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (peer_link(s, p, now) == LINK_NONE)
			continue;
		if (now - p->ann_at >= SYNC_ANNOUNCE_MS)
			announce(s, p, now);
		else
			p->ann_due = true;
	}
}

/* Send PRUNE or GRAFT with the origins of set to p (only if it understands them). */
static void
send_origins(struct sync *s, struct peer *p, enum peermsg_type type, struct vv *set)
{
	struct peermsg m = {.type = type, .origins = set};

	if (!p->lazy_ok || set == NULL || vv_count(set) == 0)
		return;
	if (send_msg(s, p, peer_link(s, p, mono_ms()), &m) == 0)
		log_debug("peer %s: %s of %zu origins", p->name, peermsg_type_name((int)type),
		          vv_count(set));
}

/* Whether a peer other than p pushed us a new change set of origin within SYNC_FED_MS. */
static bool
fed_by_other(const struct sync *s, const struct peer *p, const uint8_t origin[ARR_ORIGIN_LEN],
             uint64_t now)
{
	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer *q = &s->peers[i];
		uint64_t at;

		if (q != p && q->fed != NULL && (at = vv_get(q->fed, origin)) != 0 &&
		    now - at <= SYNC_FED_MS)
			return true;
	}
	return false;
}

/*
 * Before a PUSH from p is applied: note the origins it brought us first (it feeds us
 * them), and PRUNE at p the origins of change sets we already hold, when another peer
 * feeds us those. A duplicate from our only feeder is not pruned, so a chain never
 * loses its only eager link; if every feeder of an origin is pruned all the same,
 * announcements show the gap and the lag check pulls and GRAFTs.
 */
static void
push_feedback(struct sync *s, struct peer *p, const struct peermsg *m)
{
	const struct vv *v = ours(s);
	struct vv *prune = NULL;
	uint64_t now = mono_ms();

	if (v == NULL)
		return;
	for (size_t i = 0; i < m->ncs; i++) {
		uint8_t origin[ARR_ORIGIN_LEN];
		uint64_t seq;

		if (peermsg_cs_peek(m->cs[i].data, m->cs[i].len, origin, &seq) != 0)
			continue;
		if (seq > vv_get(v, origin))
			set_origin(&p->fed, origin, now);
		else if (p->lazy_ok && fed_by_other(s, p, origin, now))
			set_origin(&prune, origin, 1);
	}
	if (prune != NULL) {
		for (size_t i = 0; i < vv_count(prune); i++)
			set_origin(&p->pruned, vv_at(prune, i)->origin, 1);
		send_origins(s, p, PEERMSG_PRUNE, prune);
	}
	vv_destroy(&prune);
}

/*
 * p announced change sets we lacked SYNC_LAG_MS ago and we still lack some: the push
 * that should have brought them was pruned or dropped. GRAFT the origins we had pruned
 * at p and pull from it.
 */
static void
lag_check(struct sync *s, struct peer *p, uint64_t now)
{
	const struct vv *v = ours(s);
	struct vv *graft = NULL;

	if (p->lag == NULL || now - p->lag_at < SYNC_LAG_MS)
		return;
	if (v != NULL && vv_missing(p->lag, v) > 0) {
		for (size_t i = 0; p->pruned != NULL && i < vv_count(p->pruned); i++) {
			const uint8_t *o = vv_at(p->pruned, i)->origin;
			if (vv_get(p->lag, o) > vv_get(v, o))
				set_origin(&graft, o, 1);
		}
		for (size_t i = 0; graft != NULL && i < vv_count(graft); i++)
			set_origin(&p->pruned, vv_at(graft, i)->origin, 0);
		send_origins(s, p, PEERMSG_GRAFT, graft);
		if (!pull_outstanding(s, p, now))
			pull_from(s, p, LINK_NONE, "behind");
	}
	vv_destroy(&graft);
	vv_destroy(&p->lag);
}

/* Apply change sets p sent (PAGE or PUSH). Returns the store's stats. */
static void
apply_from(struct sync *s, struct peer *p, const struct peermsg *m, struct store_apply_stats *st)
{
	struct store_blob *items;
	double t0, dt;
	int rc;

	memset(st, 0, sizeof(*st));
	if (m->ncs == 0)
		return;
	s->count.received += m->ncs;
	if ((items = calloc(m->ncs, sizeof(*items))) == NULL) {
		log_warnx("peer %s: out of memory for %zu change sets", p->name, m->ncs);
		return;
	}
	for (size_t i = 0; i < m->ncs; i++) {
		uint8_t origin[ARR_ORIGIN_LEN];
		uint64_t seq;

		items[i].data = m->cs[i].data;
		items[i].len = m->cs[i].len;
		/* It has them (or claims to): do not push them back to it. */
		if (peermsg_cs_peek(m->cs[i].data, m->cs[i].len, origin, &seq) == 0)
			known_add(p, origin, seq);
	}
	t0 = mono_s();
	rc = store_apply(s->st, items, m->ncs, NULL, st);
	dt = mono_s() - t0;
	free(items);
	s->count.apply_count++;
	s->count.apply_sum += dt;
	for (size_t i = 0; i < SYNC_APPLY_BUCKETS; i++)
		if (dt <= apply_le[i])
			s->count.apply_bucket[i]++;
	if (rc != 0) {
		log_error("peer %s: cannot apply %zu change sets: %s", p->name, m->ncs,
		          arrerr_str(rc));
		/* in bulk mode the open transaction was rolled back: the vector is lower */
		ours_stale(s);
		return;
	}
	s->count.applied += st->applied;
	s->count.duplicates += st->duplicates;
	s->count.quarantined += st->quarantined;
	if (st->applied > 0)
		ours_stale(s);
	if (st->quarantined > 0)
		log_warnx("peer %s: %zu change sets quarantined", p->name, st->quarantined);
	log_debug("peer %s: %s of %zu: %zu applied, %zu duplicates, %zu pending, "
	          "%zu quarantined",
	          p->name, peermsg_type_name((int)m->type), m->ncs, st->applied, st->duplicates,
	          st->pending, st->quarantined);
}

/*
 * Catch-up: while any peer answers our pulls with more pages to come, the store applies
 * them in shared transactions (store_bulk_begin), so a B-tree page dirtied by many PAGEs
 * is written once. Ends when no peer is paging any more: its last page came, or its
 * pull timed out. A crash loses only the uncommitted tail, which the next pull fetches.
 */
static void
bulk_update(struct sync *s, uint64_t now)
{
	bool paging = false;
	int rc;

	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (p->paging && !pull_outstanding(s, p, now))
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
		ours_stale(s);
	}
}

/* Answer PULL on the link it came from with one page of what the puller lacks. */
static void
on_pull(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	struct collect c = {0};
	struct peermsg page = {.type = PEERMSG_PAGE, .req_id = m->req_id};
	size_t max = m->max_bytes < ARR_MSG_MAX_BYTES / 2 ? m->max_bytes : ARR_MSG_MAX_BYTES / 2;
	int rc;

	known_set(p, m->vector);
	rc = store_changes_since(s->st, m->vector, max, collect_fn, &c, &page.more);
	if (rc != 0) {
		log_warnx("peer %s: cannot read change sets for a page: %s", p->name,
		          arrerr_name(rc));
		send_error(s, p, l, rc, "cannot read change sets");
		goto out;
	}
	if (c.n > 0 && (page.cs = collect_blobs(&c)) == NULL)
		goto out;
	page.ncs = c.n;
	if (send_msg(s, p, l, &page) == 0) {
		s->count.sent += c.n;
		for (size_t k = 0; k < c.n; k++)
			known_add(p, c.items[k].origin, c.items[k].seq);
	}
out:
	free(page.cs);
	collect_free(&c);
}

/* Check a HELLO or WELCOME: version and origin. 0 when acceptable. */
static int
check_hello(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	(void)s;
	if (m->major != PEERMSG_MAJOR) {
		log_error("peer %s: refused: it speaks protocol %llu.%llu, we speak %d.%d", p->name,
		          (unsigned long long)m->major, (unsigned long long)m->minor, PEERMSG_MAJOR,
		          PEERMSG_MINOR);
		s->refused++;
		send_error(s, p, l, ARR_EVERSION, "unsupported protocol major version");
		return ARR_EVERSION;
	}
	if (memcmp(m->origin, p->origin, ARR_ORIGIN_LEN) != 0) {
		log_warnx("peer %s: refused: %s origin is not the authenticated member", p->name,
		          peermsg_type_name((int)m->type));
		s->refused++;
		send_error(s, p, l, ARR_ENOTMEMBER, "origin does not match the connection's key");
		return ARR_ENOTMEMBER;
	}
	return 0;
}

/* Whether a HELLO or WELCOME lists capability cap. */
static bool
has_cap(const struct peermsg *m, const char *cap)
{
	for (size_t i = 0; i < m->ncaps; i++)
		if (strcmp(m->caps[i], cap) == 0)
			return true;
	return false;
}

/* Set (seq 1) or clear (seq 0) every origin of a PRUNE or GRAFT in p's lazy set. */
static void
on_origins(struct peer *p, const struct peermsg *m, uint64_t seq)
{
	for (size_t i = 0; i < vv_count(m->origins); i++)
		set_origin(&p->lazy, vv_at(m->origins, i)->origin, seq);
}

/* One decoded message from p on link l. */
static void
on_message(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	struct store_apply_stats st;
	bool mine;
	const struct vv *v;
	uint64_t now = mono_ms();

	switch (m->type) {
	case PEERMSG_HELLO:
		if (l != LINK_IN) {
			send_error(s, p, l, ARR_ESTATE, "HELLO is sent by the connecting side");
			return;
		}
		if (check_hello(s, p, l, m) != 0) {
			p->in.up = false;
			return;
		}
		if (!p->in.up)
			log_info("peer %s: incoming link up", p->name);
		p->in.up = true;
		known_set(p, m->vector);
		lazy_reset(p);
		p->lazy_ok = has_cap(m, SYNC_CAP_LAZY);
		if ((v = ours(s)) != NULL) {
			struct peermsg w;
			fill_hello(s, &w, PEERMSG_WELCOME, v);
			(void)send_msg(s, p, l, &w);
			if (vv_missing(m->vector, v) > 0)
				pull_from(s, p, l, "hello");
		}
		break;
	case PEERMSG_WELCOME:
		if (l != LINK_OUT) {
			send_error(s, p, l, ARR_ESTATE, "WELCOME answers HELLO");
			return;
		}
		if (check_hello(s, p, l, m) != 0) {
			p->out.up = false;
			p->out.refused = true;
			p->refused_at = now;
			return;
		}
		if (!p->out.up)
			log_info("peer %s: outgoing link up", p->name);
		p->out.up = true;
		p->out.refused = false;
		known_set(p, m->vector);
		lazy_reset(p);
		p->lazy_ok = has_cap(m, SYNC_CAP_LAZY);
		if (!pull_outstanding(s, p, now))
			pull_from(s, p, l, "connect");
		break;
	case PEERMSG_PULL:
		on_pull(s, p, l, m);
		break;
	case PEERMSG_PAGE:
		mine = m->req_id != 0 && m->req_id == p->pull_id;
		if (mine) {
			p->pull_id = 0;
			/* the next page is read and sent while this one is applied */
			if (m->more && pull_ahead(s, p, l, m) && !p->paging) {
				p->paging = true;
				bulk_update(s, now);
			}
		}
		apply_from(s, p, m, &st);
		if (st.applied > 0) {
			push_new(s);
			announce_all(s);
		}
		if (mine) {
			if (m->more && p->pull_id == 0)
				pull_from(s, p, l, "more");
			if (!m->more || p->pull_id == 0) {
				p->paging = false;
				bulk_update(s, now);
			}
		}
		break;
	case PEERMSG_PUSH:
		push_feedback(s, p, m);
		apply_from(s, p, m, &st);
		if (st.applied > 0) {
			push_new(s);
			announce_all(s);
		}
		if (st.pending > 0 && !pull_outstanding(s, p, now))
			pull_from(s, p, l, "gap");
		break;
	case PEERMSG_HEARTBEAT:
		/*
		 * Not an immediate pull: what it has and we lack is usually being pushed to us
		 * on another link. lag_check() pulls if it has not come SYNC_LAG_MS later.
		 */
		known_merge(p, m->vector);
		if (p->lag == NULL && (v = ours(s)) != NULL && vv_missing(m->vector, v) > 0 &&
		    (p->lag = vv_dup(m->vector)) != NULL)
			p->lag_at = now;
		break;
	case PEERMSG_PRUNE:
		on_origins(p, m, 1);
		break;
	case PEERMSG_GRAFT:
		on_origins(p, m, 0);
		break;
	case PEERMSG_ERROR:
		/* The text comes from the peer: only its code goes to the log. */
		if (m->code == ARR_EVERSION)
			log_error("peer %s: refuses our protocol version", p->name);
		else
			log_warnx("peer %s: error %s", p->name, arrerr_name(m->code));
		if (m->code == ARR_ESTATE && l == LINK_OUT) {
			/* it restarted and does not know us: handshake again */
			p->out.up = false;
			send_hello(s, p);
		}
		break;
	}
}

/* A message that did not decode: count it, warn (rate-limited), answer ERROR. */
static void
on_malformed(struct sync *s, struct peer *p, enum link_id l, size_t len, int rc)
{
	uint64_t now = mono_ms();

	s->malformed++;
	if (now - p->last_warn >= SYNC_WARN_EVERY_MS || p->last_warn == 0) {
		log_warnx("peer %s: dropped a malformed message (%zu bytes): %s", p->name, len,
		          arrerr_name(rc));
		p->last_warn = now;
	}
	send_error(s, p, l, rc, "malformed message");
}

/* Note that p was heard from on link l, then dispatch m. */
static void
on_decoded(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	uint64_t now = mono_ms();

	p->last_rx = now;
	p->last_seen_wall = hlc_wall_ms();
	(l == LINK_OUT ? &p->out : &p->in)->last_rx = now;
	/*
	 * How far the peer has our own change sets: after a restore, the store holds local
	 * writes until ours have come back (store_own_seq_seen); pulls follow from the vector.
	 */
	if (m->vector != NULL)
		store_own_seq_seen(s->st, vv_get(m->vector, nodekey_public(s->key)));
	on_message(s, p, l, m);
}

static struct peer *
peer_by_origin(struct sync *s, const uint8_t origin[ARR_ORIGIN_LEN])
{
	for (size_t i = 0; i < s->npeers; i++)
		if (memcmp(s->peers[i].origin, origin, ARR_ORIGIN_LEN) == 0)
			return &s->peers[i];
	return NULL;
}

/* Drain the rest of a multipart message. */
static void
drain_more(void *sock)
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

	if (uid == NULL || nodekey_parse_hex(uid, origin) != 0 ||
	    (p = peer_by_origin(s, origin)) == NULL) {
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
			send_error_rid(s, rid, ridlen, rc, "malformed message");
		}
		return;
	}
	if (m->type == PEERMSG_HELLO && !current) {
		/* a new connection from p (it reconnected or restarted) */
		memcpy(p->rid, rid, ridlen);
		p->ridlen = ridlen;
		p->in.up = false;
	} else if (m->type != PEERMSG_HELLO && (!current || !p->in.up)) {
		send_error_rid(s, rid, ridlen, ARR_ESTATE, "send HELLO first");
		goto out;
	}
	on_decoded(s, p, LINK_IN, m);
out:
	peermsg_destroy(&m);
}

/* Messages on the ROUTER: [routing id][payload], payload tagged with the ZAP User-Id. */
static void
on_router(struct sync *s)
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
			drain_more(s->router);
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
	if (!p->out.up && m->type != PEERMSG_WELCOME && m->type != PEERMSG_ERROR)
		log_debug("peer %s: %s before WELCOME ignored", p->name,
		          peermsg_type_name((int)m->type));
	else
		on_decoded(s, p, LINK_OUT, m);
	peermsg_destroy(&m);
}

/* Messages on p's DEALER: one frame each, from the peer's ROUTER. */
static void
on_dealer(struct sync *s, struct peer *p)
{
	for (int n = 0; n < SYNC_BURST && p->dealer != NULL; n++) {
		zmq_msg_t msg;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, p->dealer, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		if (zmq_msg_more(&msg)) {
			drain_more(p->dealer);
			on_malformed(s, p, LINK_OUT, zmq_msg_size(&msg), ARR_EMALFORMED);
		} else {
			on_dealer_msg(s, p, zmq_msg_data(&msg), zmq_msg_size(&msg));
		}
		zmq_msg_close(&msg);
	}
}

/*
 * The ZAP handler (RFC 27): admit a CURVE client only when its key is a member's (and
 * not our own), with the member's origin in hex as User-Id. Always replies, so the
 * handshake of a refused client fails instead of hanging.
 */
static void
on_zap(struct sync *s)
{
	for (int n = 0; n < SYNC_BURST; n++) {
		zmq_msg_t f[8];
		size_t nf = 0;
		int more = 1;
		size_t sz = sizeof(more);
		const char *status = "400", *text = "not a member";
		char uid[NODEKEY_HEX_LEN + 1] = "";

		while (more && nf < 8) {
			zmq_msg_init(&f[nf]);
			if (zmq_msg_recv(&f[nf], s->zap, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&f[nf]);
				if (nf == 0)
					return;
				break;
			}
			nf++;
			if (zmq_getsockopt(s->zap, ZMQ_RCVMORE, &more, &sz) != 0)
				more = 0;
		}
		if (more)
			drain_more(s->zap);
		if (nf == 7 && zmq_msg_size(&f[5]) == 5 &&
		    memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 && zmq_msg_size(&f[6]) == 32) {
			const struct member *mb =
			    members_find_curve(s->members, zmq_msg_data(&f[6]));
			if (mb != NULL &&
			    memcmp(mb->origin, nodekey_public(s->key), ARR_ORIGIN_LEN) != 0) {
				status = "200";
				text = "OK";
				nodekey_hex(mb->origin, uid);
				log_debug("zap: admitted member %s", mb->name);
			} else {
				s->refused++;
				log_info("zap: refused a key that is not a member's");
			}
		}
		/* version, request id, status code, status text, user id, metadata */
		zmq_send(s->zap, "1.0", 3, ZMQ_SNDMORE);
		if (nf >= 2)
			zmq_send(s->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
		else
			zmq_send(s->zap, "", 0, ZMQ_SNDMORE);
		zmq_send(s->zap, status, 3, ZMQ_SNDMORE);
		zmq_send(s->zap, text, strlen(text), ZMQ_SNDMORE);
		zmq_send(s->zap, uid, strlen(uid), ZMQ_SNDMORE);
		zmq_send(s->zap, "", 0, 0);
		for (size_t i = 0; i < nf; i++)
			zmq_msg_close(&f[i]);
	}
}

/* Options common to every peer socket. */
static int
sock_common(const struct sync *s, void *sock)
{
	int linger = SYNC_LINGER_MS, ivl = (int)s->cfg->heartbeat_ms, tmo = 3 * ivl;
	int64_t maxmsg = ARR_MSG_MAX_BYTES;

	if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof(tmo)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &tmo, sizeof(tmo)) != 0)
		return -1;
	return 0;
}

/* Our CURVE key pair on sock; server: as the ROUTER, else as a client of server_origin. */
static int
sock_curve(const struct sync *s, void *sock, const uint8_t *server_origin)
{
	char secret[NODEKEY_Z85_LEN + 1], pub[NODEKEY_Z85_LEN + 1], srv[NODEKEY_Z85_LEN + 1];
	int one = 1, rc = -1;

	if (nodekey_curve_secret_z85(s->key, secret) != 0 ||
	    nodekey_curve_public_z85(nodekey_public(s->key), pub) != 0)
		goto out;
	if (server_origin == NULL) {
		if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
		    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, NODEKEY_Z85_LEN) != 0 ||
		    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, SYNC_ZAP_DOMAIN,
		                   strlen(SYNC_ZAP_DOMAIN)) != 0)
			goto out;
	} else {
		if (nodekey_curve_public_z85(server_origin, srv) != 0 ||
		    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, srv, NODEKEY_Z85_LEN) != 0 ||
		    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, NODEKEY_Z85_LEN) != 0 ||
		    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, NODEKEY_Z85_LEN) != 0)
			goto out;
	}
	rc = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	return rc;
}

/* Open p's DEALER to its endpoint (no-op without one). */
static int
dealer_open(struct sync *s, struct peer *p)
{
	int ivl = SYNC_RECONNECT_MS, ivl_max = SYNC_RECONNECT_MAX_MS, one = 1;
	void *d;

	if (p->endpoint == NULL)
		return 0;
	if ((d = zmq_socket(s->zctx, ZMQ_DEALER)) == NULL)
		goto fail;
	if (sock_common(s, d) != 0 || sock_curve(s, d, p->origin) != 0 ||
	    zmq_setsockopt(d, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl)) != 0 ||
	    zmq_setsockopt(d, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max)) != 0 ||
	    zmq_setsockopt(d, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0 ||
	    zmq_connect(d, p->endpoint) != 0) {
		zmq_close(d);
		goto fail;
	}
	p->dealer = d;
	memset(&p->out, 0, sizeof(p->out));
	log_info("peer %s: connecting to %s", p->name, p->endpoint);
	return 0;
fail:
	log_warnx("peer %s: cannot connect to %s: %s", p->name, p->endpoint,
	          zmq_strerror(zmq_errno()));
	return ARR_EIO;
}

static void
dealer_close(struct peer *p)
{
	if (p->dealer != NULL) {
		zmq_close(p->dealer);
		p->dealer = NULL;
	}
	memset(&p->out, 0, sizeof(p->out));
}

static void
peer_free(struct peer *p)
{
	dealer_close(p);
	vv_destroy(&p->known);
	lazy_reset(p);
	free(p->name);
	free(p->endpoint);
	memset(p, 0, sizeof(*p));
}

/*
 * Peers for every member but us, taking over the state of old peers with the same
 * origin (their DEALER too when the endpoint did not change). old[i] left empty once
 * taken. Returns the new array in *out and its length in *n.
 */
static int
peers_build(struct sync *s, const struct members *mem, struct peer *old, size_t nold,
            struct peer **out, size_t *n)
{
	size_t cnt = members_count(mem), k = 0;
	struct peer *v = calloc(cnt ? cnt : 1, sizeof(*v));

	if (v == NULL)
		return ARR_ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		const struct member *mb = members_at(mem, i);
		struct peer *p = &v[k];

		if (memcmp(mb->origin, nodekey_public(s->key), ARR_ORIGIN_LEN) == 0)
			continue;
		for (size_t j = 0; j < nold; j++) {
			if (old[j].name != NULL &&
			    memcmp(old[j].origin, mb->origin, ARR_ORIGIN_LEN) == 0) {
				*p = old[j];
				memset(&old[j], 0, sizeof(old[j]));
				break;
			}
		}
		memcpy(p->origin, mb->origin, ARR_ORIGIN_LEN);
		free(p->name);
		p->name = strdup(mb->name);
		if (p->dealer != NULL && (mb->endpoint == NULL || p->endpoint == NULL ||
		                          strcmp(mb->endpoint, p->endpoint) != 0)) {
			log_info("peer %s: endpoint changed", mb->name);
			dealer_close(p);
		}
		free(p->endpoint);
		p->endpoint = mb->endpoint != NULL ? strdup(mb->endpoint) : NULL;
		k++;
		if (p->name == NULL || (mb->endpoint != NULL && p->endpoint == NULL)) {
			for (size_t j = 0; j < k; j++)
				peer_free(&v[j]);
			free(v);
			return ARR_ENOMEM;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

/* Open DEALERs that should exist but do not. */
static void
dealers_open(struct sync *s)
{
	for (size_t i = 0; i < s->npeers; i++)
		if (s->peers[i].endpoint != NULL && s->peers[i].dealer == NULL)
			(void)dealer_open(s, &s->peers[i]);
}

struct sync *
sync_open(void *zctx, const struct config *cfg, const struct members *members,
          const struct nodekey *key, struct store *st, int *err)
{
	struct sync *s;
	int rc = ARR_EIO, one = 1, linger = 0;
	uint64_t now = mono_ms();

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rc = ARR_ENOMEM;
		goto fail;
	}
	s->zctx = zctx;
	s->cfg = cfg;
	s->members = members;
	s->key = key;
	s->st = st;
	if (members_find_origin(members, nodekey_public(key)) == NULL) {
		log_warnx("sync: this node's key is not in the members file");
		rc = ARR_ECONFIG;
		goto fail;
	}
	/* The ZAP handler must be bound before the ROUTER accepts anyone. */
	if ((s->zap = zmq_socket(zctx, ZMQ_REP)) == NULL ||
	    zmq_setsockopt(s->zap, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_bind(s->zap, SYNC_ZAP_ENDPOINT) != 0) {
		log_warnx("sync: cannot bind the ZAP handler: %s", zmq_strerror(zmq_errno()));
		goto fail;
	}
	if ((s->router = zmq_socket(zctx, ZMQ_ROUTER)) == NULL || sock_common(s, s->router) != 0 ||
	    sock_curve(s, s->router, NULL) != 0 ||
	    zmq_setsockopt(s->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0) {
		log_warnx("sync: cannot set up the peer socket: %s", zmq_strerror(zmq_errno()));
		goto fail;
	}
	if (zmq_bind(s->router, cfg->listen) != 0) {
		log_warnx("sync: cannot listen on %s: %s", cfg->listen, zmq_strerror(zmq_errno()));
		goto fail;
	}
	if ((rc = peers_build(s, members, NULL, 0, &s->peers, &s->npeers)) != 0)
		goto fail;
	dealers_open(s);
	/* Alone in the region: nobody else can hold change sets of ours. */
	if (s->npeers == 0)
		store_own_seq_seen(st, 0);
	s->next_hb = now; /* first tick at once: HELLOs go out as soon as links connect */
	s->next_pull = now + cfg->pull_interval_ms;
	log_info("sync: listening on %s, %zu other members", cfg->listen, s->npeers);
	return s;
fail:
	sync_destroy(&s);
	if (err != NULL)
		*err = rc;
	return NULL;
}

void
sync_destroy(struct sync **sp)
{
	struct sync *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	if (s->bulk)
		(void)store_bulk_end(s->st);
	for (size_t i = 0; i < s->npeers; i++)
		peer_free(&s->peers[i]);
	free(s->peers);
	if (s->router != NULL)
		zmq_close(s->router);
	if (s->zap != NULL)
		zmq_close(s->zap);
	vv_destroy(&s->ours);
	free(s);
	*sp = NULL;
}

int
sync_reload(struct sync *s, const struct config *cfg, const struct members *members)
{
	struct peer *v = NULL;
	size_t n = 0;
	int rc;

	if ((rc = peers_build(s, members, s->peers, s->npeers, &v, &n)) != 0)
		return rc;
	/* What was not taken over belongs to members that left. */
	for (size_t i = 0; i < s->npeers; i++) {
		if (s->peers[i].name != NULL)
			log_info("peer %s: no longer a member", s->peers[i].name);
		peer_free(&s->peers[i]);
	}
	free(s->peers);
	s->peers = v;
	s->npeers = n;
	if (strcmp(cfg->listen, s->cfg->listen) != 0)
		log_warnx("sync: a new listen endpoint takes effect after a restart");
	s->cfg = cfg;
	s->members = members;
	dealers_open(s);
	s->next_hb = mono_ms();
	s->next_pull = s->next_hb + cfg->pull_interval_ms;
	log_info("sync: reloaded, %zu other members", s->npeers);
	return 0;
}

size_t
sync_poll_count(const struct sync *s)
{
	return 2 + s->npeers;
}

size_t
sync_poll_fill(struct sync *s, zmq_pollitem_t *items, size_t max)
{
	size_t n = 0;

	if (max < 2)
		return 0;
	items[n++] = (zmq_pollitem_t){.socket = s->zap, .events = ZMQ_POLLIN};
	items[n++] = (zmq_pollitem_t){.socket = s->router, .events = ZMQ_POLLIN};
	for (size_t i = 0; i < s->npeers && n < max; i++)
		if (s->peers[i].dealer != NULL)
			items[n++] = (zmq_pollitem_t){
			    .socket = s->peers[i].dealer,
			    .events =
			        (short)(ZMQ_POLLIN | (s->peers[i].hello_due ? ZMQ_POLLOUT : 0))};
	return n;
}

void
sync_on_poll(struct sync *s, const zmq_pollitem_t *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (items[i].revents & ZMQ_POLLOUT) {
			for (size_t k = 0; k < s->npeers; k++)
				if (s->peers[k].dealer == items[i].socket && s->peers[k].hello_due)
					send_hello(s, &s->peers[k]);
		}
		if (!(items[i].revents & ZMQ_POLLIN))
			continue;
		if (items[i].socket == s->zap) {
			on_zap(s);
		} else if (items[i].socket == s->router) {
			on_router(s);
		} else {
			/* a DEALER; peers may have been rebuilt since the poll: look it up */
			for (size_t k = 0; k < s->npeers; k++)
				if (s->peers[k].dealer == items[i].socket)
					on_dealer(s, &s->peers[k]);
		}
	}
}

long
sync_timeout_ms(const struct sync *s)
{
	uint64_t now = mono_ms(), next = s->next_hb < s->next_pull ? s->next_hb : s->next_pull;

	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];

		if (p->ann_due && p->ann_at + SYNC_ANNOUNCE_MS < next)
			next = p->ann_at + SYNC_ANNOUNCE_MS;
		if (p->lag != NULL && p->lag_at + SYNC_LAG_MS < next)
			next = p->lag_at + SYNC_LAG_MS;
	}
	return next <= now ? 0 : (long)(next - now);
}

/* Heartbeat round: liveness, HELLO retries and a HEARTBEAT on every live link. */
static void
heartbeat(struct sync *s, uint64_t now)
{
	const struct vv *v = ours(s);
	struct peermsg hb = {.type = PEERMSG_HEARTBEAT, .vector = (struct vv *)v};

	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];
		bool conn;

		if (p->out.up && !link_alive(s, &p->out, now)) {
			p->out.up = false;
			log_info("peer %s: outgoing link down (silent for %llu ms)", p->name,
			         (unsigned long long)(now - p->out.last_rx));
		}
		if (p->in.up && !link_alive(s, &p->in, now)) {
			p->in.up = false;
			log_info("peer %s: incoming link down", p->name);
		}
		if (p->dealer != NULL && !p->out.up &&
		    (!p->out.refused || now - p->refused_at >= s->cfg->pull_interval_ms))
			send_hello(s, p);
		if (v != NULL) {
			if (p->out.up)
				(void)send_msg(s, p, LINK_OUT, &hb);
			if (p->in.up && p->ridlen > 0)
				(void)send_msg(s, p, LINK_IN, &hb);
		}
		conn = peer_connected(s, p, now);
		if (conn != p->was_connected) {
			if (conn)
				log_notice("peer %s: connected", p->name);
			else
				log_notice("peer %s: disconnected", p->name);
			p->was_connected = conn;
		}
	}
}

void
sync_tick(struct sync *s)
{
	uint64_t now = mono_ms();

	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (p->ann_due && now - p->ann_at >= SYNC_ANNOUNCE_MS)
			announce(s, p, now);
		lag_check(s, p, now);
	}
	if (s->bulk)
		bulk_update(s, now);
	if (now >= s->next_hb) {
		heartbeat(s, now);
		s->next_hb = now + hb_ms(s);
	}
	if (now >= s->next_pull) {
		for (size_t i = 0; i < s->npeers; i++)
			if (!pull_outstanding(s, &s->peers[i], now))
				pull_from(s, &s->peers[i], LINK_NONE, "periodic");
		s->next_pull = now + s->cfg->pull_interval_ms;
	}
}

void
sync_committed(struct sync *s)
{
	ours_stale(s);
	push_new(s);
	announce_all(s);
}

int
sync_now(struct sync *s)
{
	int n = 0;

	for (size_t i = 0; i < s->npeers; i++)
		n += pull_from(s, &s->peers[i], LINK_NONE, "requested");
	return n;
}

static int
pack_str(msgpack_packer *pk, const char *str)
{
	size_t n = strlen(str);

	return msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, str, n) != 0 ? -1 : 0;
}

int
sync_pack_peers(struct sync *s, msgpack_packer *pk)
{
	const struct vv *v = ours(s);
	struct vv *empty = vv_new();
	uint64_t now = mono_ms();
	int rc = ARR_ENOMEM;

	if (v == NULL || empty == NULL)
		goto out;
	if (msgpack_pack_array(pk, s->npeers) != 0)
		goto out;
	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];
		const struct member *mb = members_find_origin(s->members, p->origin);
		const struct vv *k = p->known != NULL ? p->known : empty;
		char hex[NODEKEY_HEX_LEN + 1];

		nodekey_hex(p->origin, hex);
		if (msgpack_pack_map(pk, 8) != 0 || pack_str(pk, "name") != 0 ||
		    pack_str(pk, p->name) != 0 || pack_str(pk, "organisation") != 0 ||
		    pack_str(pk, mb != NULL ? mb->organisation : "") != 0 ||
		    pack_str(pk, "origin") != 0 || pack_str(pk, hex) != 0 ||
		    pack_str(pk, "endpoint") != 0 ||
		    (p->endpoint != NULL ? pack_str(pk, p->endpoint) : msgpack_pack_nil(pk)) != 0 ||
		    pack_str(pk, "connected") != 0 ||
		    (peer_connected(s, p, now) ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) !=
		        0 ||
		    pack_str(pk, "last_seen_ms") != 0 ||
		    msgpack_pack_uint64(pk, p->last_seen_wall) != 0 ||
		    pack_str(pk, "behind") != 0 || msgpack_pack_uint64(pk, vv_missing(v, k)) != 0 ||
		    pack_str(pk, "ahead") != 0 || msgpack_pack_uint64(pk, vv_missing(k, v)) != 0)
			goto out;
	}
	rc = 0;
out:
	vv_destroy(&empty);
	return rc;
}

void
sync_stats(const struct sync *s, struct sync_stats *st)
{
	uint64_t now = mono_ms();

	memset(st, 0, sizeof(*st));
	st->members = s->npeers;
	for (size_t i = 0; i < s->npeers; i++)
		if (peer_connected(s, &s->peers[i], now))
			st->connected++;
	st->malformed = s->malformed;
	st->refused = s->refused;
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void
label_value(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int
sync_metrics(struct sync *s, FILE *f)
{
	const struct {
		const char *name, *help;
		uint64_t n;
	} counters[] = {
	    {"arrangd_changesets_sent_total", "Change sets sent to peers (push and page).",
	     s->count.sent},
	    {"arrangd_changesets_received_total", "Change sets received from peers.",
	     s->count.received},
	    {"arrangd_changesets_applied_total",
	     "Change sets from peers applied (with pending ones they unblocked).",
	     s->count.applied},
	    {"arrangd_changesets_duplicate_total", "Change sets from peers already held.",
	     s->count.duplicates},
	    {"arrangd_changesets_quarantined_total", "Change sets from peers quarantined.",
	     s->count.quarantined},
	};
	const struct vv *v = ours(s);
	struct vv *empty = vv_new();
	struct sync_stats ss;
	int rc = ARR_ENOMEM;

	if (v == NULL || empty == NULL)
		goto out;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		family(f, counters[i].name, "counter", counters[i].help);
		fprintf(f, "%s %" PRIu64 "\n", counters[i].name, counters[i].n);
	}
	sync_stats(s, &ss);
	family(f, "arrangd_peers_connected", "gauge",
	       "Other members heard from within three heartbeats.");
	fprintf(f, "arrangd_peers_connected %zu\n", ss.connected);
	family(f, "arrangd_peer_behind", "gauge",
	       "Change sets this node has that the peer lacks, as far as we know.");
	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];

		fputs("arrangd_peer_behind{peer=\"", f);
		label_value(f, p->name);
		fprintf(f, "\"} %" PRIu64 "\n", vv_missing(v, p->known != NULL ? p->known : empty));
	}
	family(f, "arrangd_peer_ahead", "gauge",
	       "Change sets the peer has that this node lacks, as far as we know.");
	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];

		fputs("arrangd_peer_ahead{peer=\"", f);
		label_value(f, p->name);
		fprintf(f, "\"} %" PRIu64 "\n", vv_missing(p->known != NULL ? p->known : empty, v));
	}
	family(f, "arrangd_apply_seconds", "histogram",
	       "Time to verify and apply one batch of change sets from a peer.");
	for (size_t i = 0; i < SYNC_APPLY_BUCKETS; i++)
		fprintf(f, "arrangd_apply_seconds_bucket{le=\"%g\"} %" PRIu64 "\n", apply_le[i],
		        s->count.apply_bucket[i]);
	fprintf(f, "arrangd_apply_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", s->count.apply_count);
	fprintf(f, "arrangd_apply_seconds_sum %.6f\n", s->count.apply_sum);
	fprintf(f, "arrangd_apply_seconds_count %" PRIu64 "\n", s->count.apply_count);
	rc = ferror(f) ? ARR_ENOMEM : 0;
out:
	vv_destroy(&empty);
	return rc;
}
