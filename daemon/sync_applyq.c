/*
 * sync_applyq.c: change sets received from peers (PAGE and PUSH) on their way into the
 * replica. Receiving only queues them (copied, in arrival order); each loop round then
 * applies what waits until SYNC_APPLY_SLICE_MS have passed, in batches of
 * SYNC_APPLY_BATCH bytes through store_apply_sliced(), and leaves the rest for the next
 * round, so the local API and the heartbeats are served between slices however much
 * arrives. A change set whose merge is still running at the end of the slice is parked
 * half-merged in the store's open transaction and goes on in the next round, so one of
 * ARR_CS_MAX_OPS ops takes several short rounds, not one long one; it still commits
 * whole (store_applyjob.c). The queue is bounded in bytes (SYNC_APPLYQ_BYTES, and
 * SYNC_APPLYQ_PEER from one peer so that a flooding member cannot crowd out the
 * others); what does not fit is dropped and counted, and repaired like any lost message
 * by a later pull.
 *
 * Counts what was applied, relays it (push and announcement) in the round after its
 * slice (a round of its own: relaying 1 MiB change sets costs as much as a slice), pulls
 * on a gap (after a grace: sync_lazy_gap_check), and sends the pulls that waited for room
 * in the queue (the next page of a catch-up, asked for while the pages before it are
 * applied) or for the queue to drain. Owns the queue and the apply metrics of a slice;
 * never reads a socket.
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "log.h"
#include "metrics.h"
#include "monoclock.h"
#include "store_precheck.h"
#include "sync_int.h"

/* One received message's change sets. */
struct aq_item {
	struct aq_item *next;
	uint8_t from[ARR_ORIGIN_LEN]; /* the peer that sent them */
	enum peermsg_type type;
	enum sync_via via;     /* how they came (the duplicates' metric) */
	bool last_page;        /* the last page of our pull: store_own_heard() once applied */
	size_t n, done;        /* change sets; of them, applied (or failed) so far */
	size_t bytes;          /* their bytes, as charged to the queue */
	struct store_blob *cs; /* n, at the start of data, pointing further into it */
	uint8_t data[];
};

struct sync_applyq {
	struct aq_item *head, *tail;
	size_t bytes;
	uint64_t dropped;  /* change sets dropped because the queue was full */
	bool parked;       /* the head's next change set is parked half-merged in the store */
	bool relay;        /* change sets were applied: push and announce them next round */
	uint64_t slices;   /* rounds that ended with a change set parked */
	double empty_at;   /* mono_s() the queue last ran empty, 0: it holds change sets */
	double starved;    /* seconds it stood empty between pages of a catch-up */
	unsigned slice_ms; /* apply work per round: SYNC_APPLY_SLICE_MS (sync_applyq_set_slice) */
};

int
sync_applyq_new(struct sync *s)
{
	int rc;

	if ((s->aq = calloc(1, sizeof(*s->aq))) == NULL)
		return ARR_ENOMEM;
	s->aq->slice_ms = SYNC_APPLY_SLICE_MS;
	/* the change sets' pure work on the second core (store_precheck.c); else all here */
	if (s->st != NULL && (rc = store_precheck_start(s->st)) < 0)
		log_warnx("received change sets are checked on the main thread: %s",
		          arrerr_str(rc));
	return 0;
}

void
sync_applyq_destroy(struct sync *s)
{
	if (s->aq == NULL)
		return;
	while (s->aq->head != NULL) {
		struct aq_item *it = s->aq->head;
		s->aq->head = it->next;
		if (s->st != NULL)
			store_precheck_forget(s->st, it);
		free(it);
	}
	free(s->aq);
	s->aq = NULL;
}

bool
sync_applyq_pending(const struct sync *s)
{
	return s->aq != NULL && (s->aq->head != NULL || s->aq->relay);
}

size_t
sync_applyq_bytes(const struct sync *s)
{
	return s->aq != NULL ? s->aq->bytes : 0;
}

bool
sync_applyq_room(const struct sync *s, const struct peer *p)
{
	/* a page stops before page_bytes, but holds at least one change set */
	size_t page = (size_t)s->set.page_bytes + ARR_CS_MAX_BYTES;

	return s->aq != NULL && s->aq->bytes + page <= SYNC_APPLYQ_BYTES &&
	       p->applyq_bytes + page <= SYNC_APPLYQ_PEER;
}

double
sync_applyq_starved_s(const struct sync *s)
{
	return s->aq != NULL ? s->aq->starved : 0;
}

int
sync_applyq_add(struct sync *s, struct peer *p, const struct peermsg *m, bool last_page,
                enum sync_via via)
{
	struct aq_item *it;
	size_t bytes = 0, off = 0;

	for (size_t i = 0; i < m->ncs; i++) {
		uint8_t origin[ARR_ORIGIN_LEN];
		uint64_t seq;

		bytes += m->cs[i].len;
		/* It has them (or claims to): do not push them back to it. */
		if (peermsg_cs_peek(m->cs[i].data, m->cs[i].len, origin, &seq) == 0)
			sync_peer_known_add(p, origin, seq);
	}
	s->count.received += m->ncs;
	/* the next page of a catch-up came while nothing was left to apply: time lost */
	if (m->type == PEERMSG_PAGE && via != SYNC_VIA_STRAY && p->paging && s->aq->head == NULL &&
	    s->aq->empty_at > 0)
		s->aq->starved += mono_s() - s->aq->empty_at;
	if (m->ncs == 0 && !last_page)
		return 0;
	if (s->aq->bytes + bytes > SYNC_APPLYQ_BYTES ||
	    p->applyq_bytes + bytes > SYNC_APPLYQ_PEER) {
		s->aq->dropped += m->ncs;
		return ARR_EFULL;
	}
	if ((it = malloc(sizeof(*it) + m->ncs * sizeof(*it->cs) + bytes)) == NULL)
		return ARR_ENOMEM;
	*it = (struct aq_item){
	    .type = m->type, .via = via, .last_page = last_page, .n = m->ncs, .bytes = bytes};
	memcpy(it->from, p->origin, ARR_ORIGIN_LEN);
	/* the blobs first: data[] is aligned for them */
	it->cs = (struct store_blob *)(void *)it->data;
	off = m->ncs * sizeof(*it->cs);
	for (size_t i = 0; i < m->ncs; i++) {
		memcpy(it->data + off, m->cs[i].data, m->cs[i].len);
		it->cs[i].data = it->data + off;
		it->cs[i].len = m->cs[i].len;
		off += m->cs[i].len;
	}
	if (s->aq->tail != NULL)
		s->aq->tail->next = it;
	else
		s->aq->head = it;
	s->aq->tail = it;
	s->aq->empty_at = 0;
	s->aq->bytes += bytes;
	p->applyq_bytes += bytes;
	/* checked ahead while what came before is applied; applied at these addresses */
	if (s->st != NULL)
		store_precheck_put(s->st, it, it->cs, it->n);
	return 0;
}

/* After an apply of k change sets from p (NULL: no longer a member): count and log. */
static void
applied(struct sync *s, struct peer *p, const struct aq_item *it, size_t k,
        const struct store_apply_stats *st)
{
	s->count.applied += st->applied;
	s->count.duplicates += st->duplicates;
	s->count.dup_via[it->via] += st->duplicates;
	s->count.quarantined += st->quarantined_new;
	if (st->applied > 0 || st->quarantined_new > 0)
		sync_ours_stale(s);
	if (p == NULL)
		return;
	if (st->equivocations > 0)
		sync_equiv_proven(s, p);
	if (st->refused > 0 && sync_log_ok(s, p, "quota"))
		log_warnx("peer %s: %zu change sets refused, their origin is over its log quota "
		          "(arrangctl status)",
		          p->name, st->refused);
	/* quarantine is a state: logged when a change set enters it, not when it comes again */
	if (st->quarantined_new > 0 && sync_log_ok(s, p, "quarantine"))
		log_error("peer %s: %zu change sets quarantined (arrangctl quarantine list)",
		          p->name, st->quarantined_new);
	if (sync_log_ok(s, p, "apply"))
		log_debug("peer %s: %s of %zu: %zu applied, %zu duplicates, %zu pending, "
		          "%zu quarantined",
		          p->name, peermsg_type_name((int)it->type), k, st->applied, st->duplicates,
		          st->pending, st->quarantined);
}

/*
 * The owner's repairs of scopes whose policy grew in what was applied (store.h,
 * store_scope_heal): change sets it issues are pushed like local writes.
 */
static void
heal(struct sync *s)
{
	struct store_write_result r;
	int rc = store_scope_heal(s->st, &r);

	if (rc < 0)
		log_warnx("cannot repair scope policy: %s", arrerr_str(rc));
	else if (r.changesets > 0)
		sync_committed(s);
}

/*
 * Apply the next batch of it (at least one change set) until until_ms, or go on with its
 * change set parked at an earlier deadline; 1 when anything was applied.
 */
static int
apply_batch(struct sync *s, struct aq_item *it, uint64_t now, uint64_t until_ms)
{
	struct peer *p = sync_peer_by_origin(s, it->from);
	struct store_apply_stats st = {0};
	size_t k = 0, used = 0, bytes = 0;
	double t0 = mono_s();
	int rc;

	if (s->aq->parked) {
		/* 0 also when a local write finished it meanwhile: the stats waited */
		if ((rc = store_apply_resume(s->st, until_ms, &st)) == 1) {
			sync_msg_count_apply(&s->count, mono_s() - t0);
			s->aq->slices++;
			return 0;
		}
		k = used = 1;
	} else {
		while (it->done + k < it->n &&
		       (k == 0 || bytes + it->cs[it->done + k].len <= SYNC_APPLY_BATCH))
			bytes += it->cs[it->done + k++].len;
		rc = store_apply_sliced(s->st, it->cs + it->done, k, until_ms, &used, &st);
	}
	if (k > 0)
		sync_msg_count_apply(&s->count, mono_s() - t0);
	s->aq->parked = rc == 0 && store_apply_busy(s->st);
	s->aq->slices += s->aq->parked;
	it->done += rc == 0 ? used : k;
	if (rc != 0) {
		if (p != NULL && sync_log_ok(s, p, "apply failed"))
			log_error("peer %s: cannot apply %zu change sets: %s", p->name, k,
			          arrerr_str(rc));
		/* the open transaction was rolled back: the vector is lower */
		sync_ours_stale(s);
		return 0;
	}
	applied(s, p, it, used, &st);
	/* not while one is parked: a repair commits, so it would finish that one at once */
	if (!s->aq->parked)
		heal(s);
	/* a gap, whether its change sets were held or dropped over the pending budget */
	if (p != NULL && st.pending + st.dropped > 0)
		sync_lazy_note_gap(p, now);
	return st.applied > 0;
}

/* The head item is done: unlink and free it. */
static void
pop(struct sync *s)
{
	struct aq_item *it = s->aq->head;
	struct peer *p = sync_peer_by_origin(s, it->from);

	/* it sent all it has that we lack, ours included: a restore's hold ends */
	if (it->last_page)
		store_own_heard(s->st);
	s->aq->head = it->next;
	if (s->aq->head == NULL) {
		s->aq->tail = NULL;
		s->aq->empty_at = mono_s();
	}
	s->aq->bytes -= it->bytes;
	if (p != NULL)
		p->applyq_bytes -= it->bytes < p->applyq_bytes ? it->bytes : p->applyq_bytes;
	/* what of it was not applied (a failed batch) is not checked on */
	if (s->st != NULL)
		store_precheck_forget(s->st, it);
	free(it);
}

/*
 * The head item was applied: a peer paging us whose next pull waited for room in the
 * queue asks for its next page now, while the pages queued before it are applied, so
 * the queue does not run dry waiting for it (sync_send_pull_ahead). One pull is
 * outstanding per peer at most; the room is kept for one page of ours (page_bytes and
 * the change set past them) in its share of the queue and in the whole.
 */
void
sync_applyq_pull_room(struct sync *s)
{
	uint64_t now = mono_ms();

	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (!p->pull_more || !p->paging || sync_send_pull_outstanding(s, p, now) ||
		    !sync_applyq_room(s, p))
			continue;
		if (sync_send_pull_ahead(s, p, LINK_NONE, NULL) == 1)
			p->pull_more = false;
	}
}

/* The queue drained: send the pulls that waited for it. */
static void
pull_waiting(struct sync *s)
{
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (!p->pull_more)
			continue;
		p->pull_more = false;
		if (sync_send_pull(s, p, LINK_NONE, "more") == 0)
			p->paging = false;
	}
}

void
sync_applyq_set_slice(struct sync *s, unsigned ms)
{
	s->aq->slice_ms = ms;
}

void
sync_applyq_run(struct sync *s)
{
	double t0 = mono_s(), dt;
	uint64_t now = mono_ms();

	if (s->aq->relay) {
		/* what the last round applied goes on to the peers, in a round of its own */
		s->aq->relay = false;
		sync_send_push_new(s);
		sync_send_announce_all(s);
	} else {
		while (s->aq->head != NULL) {
			struct aq_item *it = s->aq->head;

			s->aq->relay |= apply_batch(s, it, now, now + s->aq->slice_ms) > 0;
			if (it->done >= it->n) {
				pop(s);
				if (s->aq->head != NULL)
					sync_applyq_pull_room(s);
			}
			/* parked: its deadline, in whole ms, passed */
			if (s->aq->parked || mono_s() - t0 >= s->aq->slice_ms / 1000.0)
				break;
		}
	}
	dt = mono_s() - t0; /* the relay's reads count: the API waits for them too */
	if (dt > s->count.round_max)
		s->count.round_max = dt;
	if (s->aq->head == NULL && !s->aq->relay) {
		pull_waiting(s);
		sync_recv_bulk_update(s, mono_ms());
	}
}

void
sync_applyq_metrics(const struct sync *s, FILE *f)
{
	metrics_gauge(f, "arrangd_apply_queue_bytes",
	              "Bytes of received change sets waiting to be applied.", sync_applyq_bytes(s));
	metrics_counter(f, "arrangd_apply_queue_dropped_total",
	                "Received change sets dropped because the apply queue was full.",
	                s->aq != NULL ? s->aq->dropped : 0);
	metrics_gauge(f, "arrangd_apply_round_max_milliseconds",
	              "Longest loop round spent applying received change sets.",
	              (uint64_t)(s->count.round_max * 1000 + 0.5));
	metrics_counter(f, "arrangd_apply_slices_parked_total",
	                "Apply rounds that ended inside a change set, to go on in the next.",
	                s->aq != NULL ? s->aq->slices : 0);
	metrics_counter(f, "arrangd_apply_starved_milliseconds_total",
	                "Time the apply queue stood empty waiting for the next page of a catch-up.",
	                (uint64_t)(sync_applyq_starved_s(s) * 1000 + 0.5));
}
