/*
 * sync_lazy.c: eager and lazy push (PROTOCOL.md, "Eager and lazy push", "Lag"). Per
 * origin, a peer that pushes us change sets we already hold (while another peer feeds
 * us that origin) is told to PRUNE it; it then only announces that origin to us, and we
 * GRAFT it back and pull when an announcement shows a gap that the remaining eager links
 * did not fill. This is Plumtree's idea (epidemic broadcast trees) with vectors as the
 * lazy IHAVE. Owns the lazy, pruned, fed and lag sets of each peer; sends only PRUNE,
 * GRAFT and the pull of the lag check, and applies nothing.
 */
#include <string.h>

#include "log.h"
#include "monoclock.h"
#include "sync_int.h"

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

void
sync_lazy_reset(struct peer *p)
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
const struct vv *
sync_lazy_push_base(struct sync *s, struct peer *p, struct vv **tmp)
{
	const struct vv *v;

	*tmp = NULL;
	if (p->lazy == NULL || vv_count(p->lazy) == 0)
		return p->known;
	if ((v = sync_ours(s)) == NULL || (*tmp = vv_dup(p->known)) == NULL)
		return NULL;
	for (size_t i = 0; i < vv_count(p->lazy); i++) {
		const uint8_t *o = vv_at(p->lazy, i)->origin;
		if (vv_get(v, o) > vv_get(*tmp, o))
			(void)vv_set(*tmp, o, vv_get(v, o));
	}
	return *tmp;
}

/*
 * Send PRUNE or GRAFT with the origins of set to p (only if it understands them);
 * whether it went out.
 */
static bool
send_origins(struct sync *s, struct peer *p, enum peermsg_type type, struct vv *set)
{
	struct peermsg m = {.type = type, .origins = set};

	if (!p->lazy_ok || set == NULL || vv_count(set) == 0)
		return false;
	if (sync_link_send(s, p, sync_link_pick(s, p, mono_ms()), &m) != 0)
		return false;
	if (sync_log_ok(s, p, "lazy"))
		log_debug("peer %s: %s of %zu origins", p->name, peermsg_type_name((int)type),
		          vv_count(set));
	return true;
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
 * Note the origins p brought us first (it feeds us them), and PRUNE at p the origins of
 * change sets we already hold, when another peer feeds us those. A duplicate from our
 * only feeder is not pruned, so a chain never loses its only eager link; if every
 * feeder of an origin is pruned all the same, announcements show the gap and the lag
 * check pulls and GRAFTs. An origin is PRUNEd once per peer: while it stays in p's
 * pruned set (until our GRAFT, or a new handshake) its duplicates from p are only
 * dropped, since p's pushes already on the way when it got the PRUNE keep coming.
 */
void
sync_lazy_on_push(struct sync *s, struct peer *p, const struct peermsg *m)
{
	const struct vv *v = sync_ours(s);
	struct vv *prune = NULL;
	uint64_t now = mono_ms();

	if (v == NULL)
		return;
	for (size_t i = 0; i < m->ncs; i++) {
		uint8_t origin[ARR_ORIGIN_LEN];
		uint64_t seq;

		if (peermsg_cs_peek(m->cs[i].data, m->cs[i].len, origin, &seq) != 0)
			continue;
		sync_grace_on_push(s, origin, seq, now);
		/* a copy of one still queued for the apply is a duplicate too */
		if (seq > vv_get(v, origin) && seq > sync_recv_have(s, origin))
			set_origin(&p->fed, origin, now);
		else if (p->lazy_ok && (p->pruned == NULL || vv_get(p->pruned, origin) == 0) &&
		         fed_by_other(s, p, origin, now))
			set_origin(&prune, origin, 1);
	}
	/* a PRUNE that did not go out is not noted: the next duplicate sends it again */
	if (prune != NULL && send_origins(s, p, PEERMSG_PRUNE, prune)) {
		s->count.prunes++;
		for (size_t i = 0; i < vv_count(prune); i++)
			set_origin(&p->pruned, vv_at(prune, i)->origin, 1);
	}
	vv_destroy(&prune);
}

void
sync_lazy_on_origins(struct peer *p, const struct peermsg *m, uint64_t seq)
{
	for (size_t i = 0; i < vv_count(m->origins); i++)
		set_origin(&p->lazy, vv_at(m->origins, i)->origin, seq);
}

/*
 * Not an immediate pull: what p has and we lack is usually being pushed to us on
 * another link. sync_lazy_check() pulls if it has not come a grace later (sync_grace.c,
 * which times the push from this announcement).
 */
void
sync_lazy_note_lag(struct sync *s, struct peer *p, const struct vv *v, uint64_t now)
{
	const struct vv *o;

	sync_grace_on_announce(s, v, now);
	if (p->lag == NULL && (o = sync_held(s)) != NULL && vv_missing(v, o) > 0 &&
	    (p->lag = vv_dup(v)) != NULL) {
		p->lag_at = now;
		p->lag_next = 0;
	}
}

uint64_t
sync_lazy_lag_due(const struct sync *s, const struct peer *p)
{
	uint64_t due = p->lag_at + sync_grace_stalled_ms(s);

	return p->lag_next > due ? p->lag_next : due;
}

/* Whether a lag check pulled origin from some peer within the grace (its page is due). */
static bool
pulled_lately(const struct sync *s, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t now)
{
	uint64_t at = s->lag_pulled != NULL ? vv_get(s->lag_pulled, origin) : 0;

	return at != 0 && now - at < sync_grace_ms(s);
}

struct vv *
sync_lazy_missing(struct sync *s, const struct peer *p, uint64_t now)
{
	struct vv *miss = NULL;

	for (size_t i = 0; i < vv_count(p->lag); i++) {
		const struct vv_entry *e = vv_at(p->lag, i);

		if (e->seq > sync_recv_have(s, e->origin) && !pulled_lately(s, e->origin, now))
			set_origin(&miss, e->origin, 1);
	}
	return miss;
}

struct vv *
sync_lazy_pull_vector(const struct peer *p, const struct vv *held, const struct vv *miss)
{
	struct vv *v = vv_dup(held);

	for (size_t i = 0; v != NULL && p->known != NULL && i < vv_count(p->known); i++) {
		const struct vv_entry *e = vv_at(p->known, i);

		if (vv_get(miss, e->origin) == 0 && e->seq > vv_get(v, e->origin) &&
		    vv_set(v, e->origin, e->seq) != 0)
			vv_destroy(&v);
	}
	return v;
}

/* Pull from p only the origins of miss; each is noted as pulled when the PULL went out. */
static void
lag_pull(struct sync *s, struct peer *p, const struct vv *held, const struct vv *miss, uint64_t now)
{
	struct vv *v = sync_lazy_pull_vector(p, held, miss);

	if (v == NULL)
		return;
	if (sync_send_pull_vector(s, p, v) == 1)
		for (size_t i = 0; i < vv_count(miss); i++)
			set_origin(&s->lag_pulled, vv_at(miss, i)->origin, now);
	vv_destroy(&v);
}

/* Whether some peer pushed us a new change set of every origin of miss since since. */
static bool
all_flowing(const struct sync *s, const struct vv *miss, uint64_t since)
{
	for (size_t i = 0; i < vv_count(miss); i++) {
		const uint8_t *o = vv_at(miss, i)->origin;
		bool fed = false;

		for (size_t k = 0; k < s->npeers && !fed; k++)
			fed = s->peers[k].fed != NULL && vv_get(s->peers[k].fed, o) >= since;
		if (!fed)
			return false;
	}
	return true;
}

/*
 * p announced change sets we lacked a while ago and we still lack some: the push that
 * should have brought them was pruned or dropped. GRAFT the origins we had pruned at p
 * and still miss, and pull only those (Plumtree's graft after a timer). The while is
 * the stalled grace (sync_grace_stalled_ms), or the whole lag grace (sync_grace_ms) as
 * long as pushes of every missing origin keep coming: the eager path is bringing them,
 * behind. When what we lack was pulled from another peer just now, the lag is dropped:
 * should that page not come, p's next heartbeat or announcement shows the lack again.
 */
void
sync_lazy_check(struct sync *s, struct peer *p, uint64_t now)
{
	const struct vv *v = sync_held(s);
	struct vv *graft = NULL, *miss = NULL;

	if (p->lag == NULL || now < sync_lazy_lag_due(s, p))
		return;
	/* received change sets still wait to be applied: what p announced is likely there */
	if (sync_applyq_pending(s) && now - p->lag_at < SYNC_LAG_MAX_MS)
		return;
	if (v == NULL || vv_missing(p->lag, v) == 0)
		goto out;
	/* on its way (queued, or pulled from another peer): p's next vector starts it anew */
	if ((miss = sync_lazy_missing(s, p, now)) == NULL)
		goto out;
	if (now - p->lag_at < sync_grace_ms(s) && all_flowing(s, miss, p->lag_at)) {
		vv_destroy(&miss);
		/* p->lag is kept: checked again soon, and at the grace's end */
		p->lag_next = now + SYNC_GRACE_RECHECK_MS;
		if (p->lag_next > p->lag_at + sync_grace_ms(s))
			p->lag_next = p->lag_at + sync_grace_ms(s);
		return;
	}
	for (size_t i = 0; p->pruned != NULL && i < vv_count(p->pruned); i++) {
		const uint8_t *o = vv_at(p->pruned, i)->origin;
		if (vv_get(miss, o) != 0)
			set_origin(&graft, o, 1);
	}
	for (size_t i = 0; graft != NULL && i < vv_count(graft); i++)
		set_origin(&p->pruned, vv_at(graft, i)->origin, 0);
	(void)send_origins(s, p, PEERMSG_GRAFT, graft);
	if (!sync_send_pull_outstanding(s, p, now))
		lag_pull(s, p, v, miss, now);
out:
	vv_destroy(&graft);
	vv_destroy(&miss);
	vv_destroy(&p->lag);
}

void
sync_lazy_note_gap(struct peer *p, uint64_t now)
{
	if (p->gap_at == 0)
		p->gap_at = now;
}

/*
 * A gap p's change sets showed SYNC_LAG_MS ago (or up to SYNC_LAG_MAX_MS while received
 * change sets wait to be applied): pull from p. In an overlay a change set often
 * arrives before the one it follows, which is on its way on another path; pulling at
 * once would fetch it, and everything after it, a second time. A gap is not timed by
 * the lag grace: it holds back what follows, and its pulls are few.
 */
void
sync_lazy_gap_check(struct sync *s, struct peer *p, uint64_t now)
{
	if (p->gap_at == 0 || now - p->gap_at < SYNC_LAG_MS)
		return;
	if (sync_applyq_pending(s) && now - p->gap_at < SYNC_LAG_MAX_MS)
		return;
	p->gap_at = 0;
	if (!p->pull_more && !sync_send_pull_outstanding(s, p, now))
		sync_send_pull(s, p, LINK_NONE, "gap");
}
