/*
 * sync_equiv.c: equivocation between peers (PROTOCOL.md, "Equivocation"). On a heartbeat
 * when it has something new to say (logsum_due) a node sends LOGSUM: per origin its seq,
 * the chain hash of its log at that seq and the seq the origin is frozen before. A peer
 * whose chain hash at a seq we also have differs holds another log: we send LOGREQ with
 * our envelope hashes, it answers with its first envelope that differs (a PUSH), and
 * the store turns the two into a proof. Proofs travel as EVIDENCE to every peer whose
 * LOGSUM does not show them yet, and to all peers when one is new. What a LOGSUM says
 * is a hint: it only decides what to ask and send. The store owns proofs and the rule
 * (store_equiv.c).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arrerr.h"
#include "bigend.h"
#include "log.h"
#include "monoclock.h"
#include "sync_int.h"

/* LOGREQs and EVIDENCEs a peer may have handled: per heartbeat, and at once (equiv_budget) */
#define EQUIV_PER_HB 2
#define EQUIV_BURST  4

/* store_equiv_fn: a frozen origin joins the set of origins a LOGSUM lists. */
static int
add_origin(void *ctx, const struct store_equiv *e)
{
	struct vv *all = ctx;

	return vv_get(all, e->origin) != 0 ? 0 : vv_set(all, e->origin, 1);
}

/* The LOGSUM records of our vector and of every frozen origin, in origin order. */
static int
sums_build(struct sync *s, uint8_t **out, size_t *n)
{
	const struct vv *ours = sync_ours(s);
	struct vv *all = NULL;
	uint8_t *buf = NULL;
	int rc = ARR_ENOMEM;

	*out = NULL;
	*n = 0;
	if (ours == NULL || (all = vv_dup(ours)) == NULL)
		goto out;
	if ((rc = store_equiv_list(s->st, add_origin, all)) < 0)
		goto out;
	if ((buf = calloc(vv_count(all) + 1, PEERMSG_SUM_LEN)) == NULL) {
		rc = ARR_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < vv_count(all); i++) {
		uint8_t *r = buf + i * PEERMSG_SUM_LEN;
		const uint8_t *o = vv_at(all, i)->origin;
		uint64_t seq = vv_get(ours, o), from = 0;

		memcpy(r, o, ARR_ORIGIN_LEN);
		be_put(r + 32, seq, 8);
		if ((rc = store_loghash(s->st, o, seq, r + 40)) < 0 ||
		    (rc = store_equiv_frozen(s->st, o, &from)) < 0)
			goto out;
		be_put(r + 72, from, 8);
	}
	*n = vv_count(all);
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	vv_destroy(&all);
	return rc;
}

/* The sum of the seqs of what we know p has (0: nothing known). */
static uint64_t
known_total(const struct peer *p)
{
	uint64_t t = 0;

	for (size_t i = 0; p->known != NULL && i < vv_count(p->known); i++)
		t += vv_at(p->known, i)->seq;
	return t;
}

/*
 * Whether p is due a LOGSUM whose records hash to h: one that says something new to it
 * (ours changed, or what it has did, so that it may now compare seqs it lacked before),
 * while it scans our log (it sent LOGREQ within 3 heartbeats: one LOGREQ per LOGSUM),
 * and every SYNC_LOGSUM_REFRESH pull intervals regardless (a lost one; EVIDENCE it
 * still lacks). An idle region thus sends almost none, where every heartbeat used to
 * carry 80 bytes per origin to every peer.
 */
static bool
logsum_due(const struct sync *s, const struct peer *p, const uint8_t h[32], uint64_t now)
{
	return memcmp(h, p->eq_sent_hash, 32) != 0 || known_total(p) != p->eq_sent_known ||
	       now - p->eq_sent_at >= SYNC_LOGSUM_REFRESH * (uint64_t)s->set.pull_interval_ms ||
	       (p->eq_req_at != 0 && now - p->eq_req_at <= 3 * (uint64_t)s->set.heartbeat_ms);
}

void
sync_equiv_tick(struct sync *s, uint64_t now)
{
	struct peermsg m = {.type = PEERMSG_LOGSUM};
	uint8_t *sums = NULL, h[32];

	if (sums_build(s, &sums, &m.nsums) < 0)
		return;
	m.sums = sums;
	crypto_generichash(h, sizeof(h), sums, m.nsums * PEERMSG_SUM_LEN, NULL, 0);
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];
		enum link_id l = sync_link_pick(s, p, now);

		if (!p->equiv_ok || l == LINK_NONE || !logsum_due(s, p, h, now))
			continue;
		if (sync_link_send(s, p, l, &m) == 0) {
			memcpy(p->eq_sent_hash, h, sizeof(h));
			p->eq_sent_known = known_total(p);
			p->eq_sent_at = now;
		}
	}
	free(sums);
}

/* Where EVIDENCE goes: one peer (p), or every connected one with "equiv" (p NULL). */
struct evidence_to {
	struct sync *s;
	struct peer *p;
	const uint8_t *origin;          /* only this origin's proof; NULL: all */
	const struct peermsg *unlisted; /* only proofs of origins this LOGSUM lacks */
};

/* Whether LOGSUM m has a record of origin. */
static bool
sums_list(const struct peermsg *m, const uint8_t *origin)
{
	for (size_t i = 0; i < m->nsums; i++)
		if (memcmp(m->sums + i * PEERMSG_SUM_LEN, origin, ARR_ORIGIN_LEN) == 0)
			return true;
	return false;
}

static int
evidence_send(void *ctx, const struct store_equiv *e)
{
	struct evidence_to *to = ctx;
	struct peermsg_blob cs[2] = {{e->a, e->alen}, {e->b, e->blen}};
	struct peermsg m = {.type = PEERMSG_EVIDENCE, .cs = cs, .ncs = 2};
	uint64_t now = mono_ms();

	if (to->origin != NULL && memcmp(to->origin, e->origin, ARR_ORIGIN_LEN) != 0)
		return 0;
	if (to->unlisted != NULL && sums_list(to->unlisted, e->origin))
		return 0;
	for (size_t i = 0; i < to->s->npeers; i++) {
		struct peer *p = &to->s->peers[i];
		enum link_id l = sync_link_pick(to->s, p, now);

		if ((to->p == NULL || to->p == p) && p->equiv_ok && l != LINK_NONE)
			(void)sync_link_send(to->s, p, l, &m);
	}
	return 0;
}

/* Proofs are new here: the vector went down; every peer gets them. */
static void
proofs_relay(struct sync *s)
{
	struct evidence_to to = {s, NULL, NULL, NULL};

	sync_ours_stale(s);
	(void)store_equiv_list(s->st, evidence_send, &to);
}

void
sync_equiv_proven(struct sync *s, struct peer *p)
{
	if (sync_log_ok(s, p, "equivocation"))
		log_error("peer %s: a change set proves that an origin signed two contents for "
		          "one seq: origin frozen (arrangctl status)",
		          p->name);
	proofs_relay(s);
}

/* Our envelope hashes of origin from seq on, LOGREQ to p; the scan goes on next time. */
static void
logreq_send(struct sync *s, struct peer *p, enum link_id l, const uint8_t *origin, uint64_t upto)
{
	struct peermsg m = {.type = PEERMSG_LOGREQ};
	uint8_t *h;
	size_t n = 0;

	if (p->eq_next == 0 || p->eq_next > upto || memcmp(p->eq_origin, origin, ARR_ORIGIN_LEN))
		p->eq_next = 1;
	memcpy(p->eq_origin, origin, ARR_ORIGIN_LEN);
	if ((h = malloc(32 * PEERMSG_REQ_HASHES)) == NULL)
		return;
	while (n < PEERMSG_REQ_HASHES && p->eq_next + n <= upto &&
	       store_envhash(s->st, origin, p->eq_next + n, h + 32 * n) == 0)
		n++;
	memcpy(m.origin, origin, ARR_ORIGIN_LEN);
	m.from = p->eq_next;
	m.hashes = h;
	m.nhashes = n;
	if (n > 0)
		(void)sync_link_send(s, p, l, &m);
	p->eq_next += n;
	free(h);
}

/* One LOGSUM record of p: send our proof it lacks; ask where its log differs. */
static bool
on_sum(struct sync *s, struct peer *p, enum link_id l, const uint8_t *r, bool asked)
{
	uint64_t seq = be_get(r + 32, 8), theirs = be_get(r + 72, 8), from = 0;
	uint8_t h[32];

	if (store_equiv_frozen(s->st, r, &from) < 0)
		return asked;
	if (from != 0 && (theirs == 0 || theirs > from)) {
		struct evidence_to to = {s, p, r, NULL};

		(void)store_equiv_list(s->st, evidence_send, &to);
		return asked;
	}
	if (asked || seq == 0 || (from != 0 && seq >= from) || vv_get(sync_ours(s), r) < seq)
		return asked;
	if (store_loghash(s->st, r, seq, h) != 0 || memcmp(h, r + 40, 32) == 0)
		return asked;
	logreq_send(s, p, l, r, seq);
	return true;
}

/* LOGREQ: the first of our envelopes that differs from the hash p sent, as a PUSH. */
static int
logreq_answer(void *ctx, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq, const uint8_t *data,
              size_t len)
{
	struct evidence_to *to = ctx;
	struct peermsg_blob cs = {data, len};
	struct peermsg m = {.type = PEERMSG_PUSH, .cs = &cs, .ncs = 1};

	(void)origin;
	(void)seq;
	(void)sync_link_send(to->s, to->p, sync_link_pick(to->s, to->p, mono_ms()), &m);
	return 0;
}

/*
 * The proofs of origins LOGSUM m from p has no record of: p never held a change set of
 * the origin (it connected after the proof had masked them everywhere else), so no pull
 * or LOGREQ would ever bring it the proof. on_sum() sends those it lists.
 */
static void
unlisted_send(struct sync *s, struct peer *p, const struct peermsg *m)
{
	struct evidence_to to = {s, p, NULL, m};

	(void)store_equiv_list(s->st, evidence_send, &to);
}

static void
on_logreq(struct sync *s, struct peer *p, const struct peermsg *m)
{
	struct evidence_to to = {s, p, NULL, NULL};
	uint8_t h[32];

	for (size_t i = 0; i < m->nhashes; i++) {
		uint64_t seq = m->from + i;

		if (store_envhash(s->st, m->origin, seq, h) != 0)
			return;
		if (memcmp(h, m->hashes + 32 * i, 32) != 0) {
			(void)store_changeset_get(s->st, m->origin, seq, logreq_answer, &to);
			return;
		}
	}
}

static void
on_evidence(struct sync *s, struct peer *p, const struct peermsg *m)
{
	bool fresh = false;
	int rc = store_equiv_evidence(s->st, m->cs[0].data, m->cs[0].len, m->cs[1].data,
	                              m->cs[1].len, &fresh);

	if (rc < 0) {
		if (sync_log_ok(s, p, "evidence"))
			log_warnx("peer %s: EVIDENCE refused: %s", p->name, arrerr_str(rc));
		return;
	}
	if (fresh) {
		if (sync_log_ok(s, p, "equivocation"))
			log_error("peer %s: proof that an origin signed two contents for one seq: "
			          "origin frozen (arrangctl status)",
			          p->name);
		proofs_relay(s);
	}
}

/*
 * May p's LOGREQ or EVIDENCE be handled now? An answer costs up to PEERMSG_REQ_HASHES
 * envelopes read and hashed (or two signatures checked), a request costs its sender
 * nothing, and an honest peer sends at most one LOGREQ per LOGSUM, that is per heartbeat
 * and link. So each peer gets EQUIV_PER_HB a heartbeat, EQUIV_BURST at once; what
 * comes over that is dropped, counted and logged (rate-limited): the sender's next scan
 * asks again.
 */
static bool
equiv_budget(struct sync *s, struct peer *p)
{
	uint64_t now = mono_ms(), every = s->set.heartbeat_ms / EQUIV_PER_HB;

	if (every == 0)
		every = 1;
	if (p->eq_at == 0 || now < p->eq_at) {
		p->eq_tokens = EQUIV_BURST;
		p->eq_at = now;
	} else if (now - p->eq_at >= every) {
		uint64_t add = (now - p->eq_at) / every;

		p->eq_tokens =
		    add >= EQUIV_BURST - p->eq_tokens ? EQUIV_BURST : p->eq_tokens + (uint32_t)add;
		p->eq_at += add * every;
	}
	if (p->eq_tokens > 0) {
		p->eq_tokens--;
		return true;
	}
	s->equiv_dropped++;
	if (sync_log_ok(s, p, "equiv dropped"))
		log_warnx("peer %s: LOGREQ or EVIDENCE dropped: more than %d a heartbeat", p->name,
		          EQUIV_PER_HB);
	return false;
}

void
sync_equiv_on_message(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	bool asked = false;

	if ((m->type == PEERMSG_LOGREQ || m->type == PEERMSG_EVIDENCE) && !equiv_budget(s, p))
		return;

	switch (m->type) {
	case PEERMSG_LOGSUM:
		for (size_t i = 0; i < m->nsums; i++)
			asked = on_sum(s, p, l, m->sums + i * PEERMSG_SUM_LEN, asked);
		unlisted_send(s, p, m);
		break;
	case PEERMSG_LOGREQ:
		p->eq_req_at = mono_ms(); /* it scans: our LOGSUMs go on every heartbeat */
		on_logreq(s, p, m);
		break;
	case PEERMSG_EVIDENCE:
		on_evidence(s, p, m);
		break;
	default:
		break;
	}
}
