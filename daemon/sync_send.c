/*
 * sync_send.c: what the peer layer sends of its own accord or in answer to a PULL:
 * pulls (with our vector, one outstanding per peer, the next page asked for ahead),
 * pages (a PULL is answered only while fewer than SYNC_PAGES_MAX pages to that member
 * wait in libzmq, sync_sendq.c), pushes of new change sets to every connected peer,
 * and announcements of our vector. Reads change sets only through store_changes_since(), copying
 * what the store lends; never applies anything and reads no socket.
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "log.h"
#include "monoclock.h"
#include "sync_int.h"

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

/*
 * The cause a pull's pages count under (enum sync_via): "more" and "ahead" continue an
 * earlier pull and keep its cause.
 */
static void
note_via(struct peer *p, const char *why)
{
	static const struct {
		const char *why;
		enum sync_via via;
	} map[] = {
	    {"hello", SYNC_VIA_HELLO},       {"connect", SYNC_VIA_HELLO},
	    {"periodic", SYNC_VIA_PERIODIC}, {"behind", SYNC_VIA_BEHIND},
	    {"gap", SYNC_VIA_GAP},           {"requested", SYNC_VIA_REQUESTED},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(why, map[i].why) == 0)
			p->pull_via = map[i].via;
}

/*
 * Send PULL with vector to p on link l (or its preferred link). Returns 1 when sent, 0
 * when it could not be.
 */
static int
pull_with(struct sync *s, struct peer *p, enum link_id l, const struct vv *vector, const char *why)
{
	struct peermsg m = {.type = PEERMSG_PULL};
	uint64_t now = mono_ms();

	if (l == LINK_NONE)
		l = sync_link_pick(s, p, now);
	if (l == LINK_NONE || (m.vector = (struct vv *)vector) == NULL)
		return 0;
	m.req_id = ++s->req_seq;
	m.max_bytes = s->set.page_bytes;
	if (sync_link_send(s, p, l, &m) != 0)
		return 0;
	p->pull_id = m.req_id;
	p->pull_at = now;
	if (sync_log_ok(s, p, "pull"))
		log_debug("peer %s: pull %llu (%s)", p->name, (unsigned long long)m.req_id, why);
	return 1;
}

/*
 * While received change sets wait in the apply queue our vector lags what we hold: a
 * pull now would fetch them again. It is deferred until the queue drains
 * (sync_applyq.c, pull_waiting); 1 then, as if sent.
 */
int
sync_send_pull(struct sync *s, struct peer *p, enum link_id l, const char *why)
{
	note_via(p, why);
	if (sync_applyq_pending(s)) {
		p->pull_more = true;
		return 1;
	}
	return pull_with(s, p, l, sync_held(s), why);
}

int
sync_send_pull_vector(struct sync *s, struct peer *p, const struct vv *vector)
{
	note_via(p, "behind");
	return pull_with(s, p, LINK_NONE, vector, "behind");
}

/*
 * A page came with more to follow: ask for the next one before applying this one, so
 * the peer reads and sends it while we apply (the two overlap instead of taking turns).
 * The pull carries the vector we will have once what waits in the apply queue is
 * applied (sync_recv_have: what we hold raised, per origin, by the queued change sets
 * that continue it, and by the change sets of page, when given, that continue that):
 * pages hold change sets in (origin, seq) order, each origin's continuing where our
 * vector ends. Should an apply fail (or a queued change set be a forgery another peer
 * pushed), the next page holds change sets past a gap, which wait as pending, and the
 * gap's pull or the lag check fetches what is missing once the queue has drained (the
 * queued part of the vector is forgotten then): the log and the vectors stay the truth.
 */
int
sync_send_pull_ahead(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *page)
{
	const struct vv *cur = sync_held(s);
	struct vv *next;
	int rc;

	if (cur == NULL || (next = vv_dup(cur)) == NULL)
		return 0;
	if (s->queued != NULL && vv_merge(next, s->queued) != 0) {
		vv_destroy(&next);
		return 0;
	}
	/* the page's own, also where they continue what the quarantine holds rather than ours */
	for (size_t i = 0; page != NULL && i < page->ncs; i++) {
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

bool
sync_send_pull_outstanding(const struct sync *s, const struct peer *p, uint64_t now)
{
	uint64_t hb = s->set.heartbeat_ms;
	uint64_t timeout = 4 * hb > 1000 ? 4 * hb : 1000;

	/* sent after the caller read the clock (now < pull_at): just sent, not long ago */
	return p->pull_id != 0 && (now < p->pull_at || now - p->pull_at < timeout);
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

/* m (PUSH or PAGE, holding c) went out to p: count it and its change sets as p's. */
static void
sent_collected(struct sync *s, struct peer *p, const struct collect *c)
{
	s->count.sent += c->n;
	for (size_t k = 0; k < c->n; k++)
		sync_peer_known_add(p, c->items[k].origin, c->items[k].seq);
}

/* One PUSH to p on l of what base lacks (at most a page). */
static void
push_to(struct sync *s, struct peer *p, enum link_id l, const struct vv *base)
{
	struct collect c = {0};
	struct peermsg m = {.type = PEERMSG_PUSH};
	bool more = false;
	int rc;

	rc = store_changes_since(s->st, base, s->set.page_bytes, collect_fn, &c, &more);
	if (rc != 0) {
		log_warnx("peer %s: cannot read change sets to push: %s", p->name, arrerr_name(rc));
	} else if (c.n > 0 && (m.cs = collect_blobs(&c)) != NULL) {
		m.ncs = c.n;
		if (sync_link_send(s, p, l, &m) == 0) {
			sent_collected(s, p, &c);
			log_debug("peer %s: pushed %zu change sets", p->name, c.n);
		}
		free(m.cs);
	}
	collect_free(&c);
}

/*
 * Push to every connected peer the change sets its known vector lacks (at most one page
 * each), except those of origins it PRUNEd, and count them as known to it: an
 * optimistic guess that its pull repairs when wrong. This relays what we applied from
 * one peer to the others.
 */
void
sync_send_push_new(struct sync *s)
{
	uint64_t now = mono_ms();

	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];
		enum link_id l = sync_link_pick(s, p, now);
		const struct vv *base;
		struct vv *tmp = NULL;

		if (l == LINK_NONE || p->known == NULL)
			continue;
		if ((base = sync_lazy_push_base(s, p, &tmp)) == NULL)
			continue;
		push_to(s, p, l, base);
		vv_destroy(&tmp);
	}
}

void
sync_send_announce(struct sync *s, struct peer *p, uint64_t now)
{
	struct peermsg m = {.type = PEERMSG_HEARTBEAT};
	enum link_id l = sync_link_pick(s, p, now);

	p->ann_due = false;
	if (l == LINK_NONE || (m.vector = (struct vv *)sync_ours(s)) == NULL)
		return;
	p->ann_at = now;
	(void)sync_link_send(s, p, l, &m);
}

/*
 * Our vector grew: announce it to every connected peer, at most once per
 * SYNC_ANNOUNCE_MS each (a later one waits for sync_tick). Peers stop pushing us what
 * we have, and peers that PRUNEd us learn what they can pull.
 */
void
sync_send_announce_all(struct sync *s)
{
	uint64_t now = mono_ms();

	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (sync_link_pick(s, p, now) == LINK_NONE)
			continue;
		if (now - p->ann_at >= SYNC_ANNOUNCE_MS)
			sync_send_announce(s, p, now);
		else
			p->ann_due = true;
	}
}

void
sync_send_page(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	struct collect c = {0};
	struct peermsg page = {.type = PEERMSG_PAGE, .req_id = m->req_id};
	size_t max = m->max_bytes < ARR_MSG_MAX_BYTES / 2 ? m->max_bytes : ARR_MSG_MAX_BYTES / 2;
	int rc;

	sync_peer_known_set(p, m->vector);
	if (sync_sendq_pages(p) >= SYNC_PAGES_MAX) {
		/* it has not read the pages it asked for: an honest puller repeats later */
		s->pulls_refused++;
		if (sync_log_ok(s, p, "pull refused"))
			log_debug("peer %s: pull refused, %u pages still queued to it", p->name,
			          sync_sendq_pages(p));
		return;
	}
	rc = store_changes_since(s->st, m->vector, max, collect_fn, &c, &page.more);
	if (rc != 0) {
		if (sync_log_ok(s, p, "page"))
			log_warnx("peer %s: cannot read change sets for a page: %s", p->name,
			          arrerr_name(rc));
		sync_link_send_error(s, p, l, rc, "cannot read change sets");
		goto out;
	}
	if (c.n > 0 && (page.cs = collect_blobs(&c)) == NULL)
		goto out;
	page.ncs = c.n;
	if (sync_link_send(s, p, l, &page) == 0)
		sent_collected(s, p, &c);
out:
	free(page.cs);
	collect_free(&c);
}

/*
 * A heartbeat of p's as a digest (PROTOCOL.md, "Heartbeat"). Equal to the digest of our
 * vector: p's vector is ours, so its known vector rises to ours and nothing is sent.
 * Otherwise one of us lacks something: p gets our vector (a HEARTBEAT), and its lag check
 * pulls what it lacks, as ours does when our VDIGEST reaches p and p answers the same way.
 * Vectors that differ for good (one side holds a change set in quarantine) cost a vector
 * each way per heartbeat, as before VDIGEST; equal ones cost the digests alone.
 */
void
sync_send_on_vdigest(struct sync *s, struct peer *p, const struct peermsg *m, uint64_t now)
{
	uint64_t total = 0;
	const uint8_t *d = sync_ours_digest(s, &total);
	const struct vv *v;

	if (d == NULL)
		return;
	if (total == m->total && memcmp(d, m->digest, PEERMSG_VDIGEST_LEN) == 0) {
		s->vd_equal++;
		p->vd_match_at = now;
		if ((v = sync_ours(s)) != NULL)
			sync_peer_known_merge(p, v);
		return;
	}
	s->vd_differ++;
	if (p->vreply_at != 0 && now - p->vreply_at < s->set.heartbeat_ms)
		return;
	p->vreply_at = now;
	sync_send_announce(s, p, now);
}
