/*
 * sync.c: the peer layer (PROTOCOL.md, "Peer messages") as the daemon's loop sees it:
 * open, reload and destroy; the sockets to poll and what to do when they are readable;
 * the timers (heartbeats, periodic pulls, announcements, the lag check); and the cached
 * copy of our version vector that every other sync file reads through sync_ours().
 *
 * The log and the version vectors are the truth; messages are only hints. A lost or
 * refused send is never an error: heartbeats and the next pull repair it. Anti-entropy:
 * pulls on connect, on a heartbeat that shows the peer ahead (after a grace, the lag
 * check), on a gap, on request and periodically; pushes after every commit; heartbeats
 * on every link, and an announcement (a HEARTBEAT, rate-limited) after every commit or
 * apply so neighbours stop pushing what we already have.
 *
 * Received change sets are applied a slice per loop round (sync_applyq.c), in
 * sync_tick(), which is due at once while any wait.
 *
 * The sync layer never writes to the replica except through store_apply(), never
 * blocks (every send is ZMQ_DONTWAIT), never logs contents of change sets or messages:
 * member names, codes and counts only. This file opens no socket but the ROUTER; the
 * other sockets belong to sync_zap.c and sync_link.c, messages to sync_recv.c and
 * sync_send.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "arrerr.h"
#include "log.h"
#include "monoclock.h"
#include "sync_int.h"

const struct vv *
sync_ours(struct sync *s)
{
	if (s->ours == NULL && store_vector(s->st, &s->ours) != 0) {
		log_warnx("sync: cannot read the version vector");
		s->ours = NULL;
	}
	return s->ours;
}

const struct vv *
sync_held(struct sync *s)
{
	const struct vv *v;
	uint64_t gen = 0;

	if (s->st != NULL)
		store_quota_refused(s->st, &gen);
	if (s->held != NULL && gen == s->held_gen)
		return s->held;
	vv_destroy(&s->held);
	s->held_gen = gen;
	if ((v = sync_ours(s)) == NULL || (s->held = vv_dup(v)) == NULL)
		return NULL;
	if (store_quarantine_held(s->st, s->held) != 0)
		log_warnx("sync: cannot read the quarantine; pulling it again");
	/* origins over their log quota: pulls go past what was refused (store_quota.c) */
	if (store_quota_held(s->st, s->held) != 0)
		log_warnx("sync: out of memory; pulling refused change sets again");
	return s->held;
}

const uint8_t *
sync_ours_digest(struct sync *s, uint64_t *total)
{
	const struct vv *v = sync_ours(s);

	if (v == NULL)
		return NULL;
	if (!s->vd_ok && peermsg_vdigest(v, s->vd, &s->vd_total) != 0)
		return NULL;
	s->vd_ok = true;
	*total = s->vd_total;
	return s->vd;
}

void
sync_ours_stale(struct sync *s)
{
	vv_destroy(&s->ours);
	vv_destroy(&s->held);
	s->vd_ok = false;
}

/*
 * One step of a retry of the quarantined change sets kept for q's reason: the clock ones
 * at every periodic pull (real time may have caught up), the membership ones after a
 * reload. A step takes SYNC_QRETRY_MS at most, so a large quarantine is retried over
 * several ticks with the API and the peers served in between. What applies is pushed on
 * like a local commit. Returns whether the run goes on.
 */
static bool
retry_quarantine(struct sync *s, struct store_qretry *q)
{
	int rc;

	/* a step would finish a change set parked half-merged at once: it waits for it */
	if (store_apply_busy(s->st))
		return true;
	if ((rc = store_quarantine_retry_step(s->st, q)) != 0) {
		log_warnx("sync: cannot retry the quarantine: %s", arrerr_name(rc));
		return false;
	}
	if (q->stats.applied > 0) {
		log_notice("sync: %zu quarantined change sets applied on retry (%s)",
		           q->stats.applied, arrerr_name(q->reason));
		s->count.applied += q->stats.applied;
		sync_committed(s);
	}
	return q->after != 0;
}

/* A new run of the retry of reason into q. */
static void
retry_start(struct store_qretry *q, int reason)
{
	*q = (struct store_qretry){.reason = reason, .budget_ms = SYNC_QRETRY_MS};
}

bool
sync_log_ok(const struct sync *s, const struct peer *p, const char *kind)
{
	return logrl_allow(s->rl, p->name, kind, mono_ms());
}

/* Copy set into s->set, its strings too. 0 or ARR_ENOMEM (s->set unchanged). */
static int
settings_copy(struct sync *s, const struct sync_settings *set)
{
	char *listen = strdup(set->listen);
	char *pinned = set->pinned != NULL ? strdup(set->pinned) : NULL;

	if (listen == NULL || (set->pinned != NULL && pinned == NULL)) {
		free(listen);
		free(pinned);
		return ARR_ENOMEM;
	}
	free((char *)s->set.listen);
	free((char *)s->set.pinned);
	s->set = *set;
	s->set.listen = listen;
	s->set.pinned = pinned;
	return 0;
}

/* The ROUTER on the listen endpoint, CURVE server behind the ZAP handler. */
static int
router_open(struct sync *s)
{
	int one = 1;
	size_t len;

	if ((s->router = zmq_socket(s->zctx, ZMQ_ROUTER)) == NULL ||
	    sync_link_router_opts(s, s->router) != 0 ||
	    zmq_setsockopt(s->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0) {
		log_warnx("sync: cannot set up the peer socket: %s", zmq_strerror(zmq_errno()));
		return ARR_EIO;
	}
	if (zmq_bind(s->router, s->set.listen) != 0) {
		if (zmq_errno() == EADDRINUSE)
			return ARR_EEXIST; /* the caller names the port and who holds it */
		log_warnx("sync: cannot listen on %s: %s", s->set.listen,
		          zmq_strerror(zmq_errno()));
		return ARR_EIO;
	}
	len = sizeof(s->listen_ep);
	if (zmq_getsockopt(s->router, ZMQ_LAST_ENDPOINT, s->listen_ep, &len) != 0)
		snprintf(s->listen_ep, sizeof(s->listen_ep), "%s", s->set.listen);
	return sync_fds_watch(s);
}

struct sync *
sync_open(void *zctx, const struct sync_settings *set, const struct members *members,
          const struct nodekey *key, struct store *st, int *err)
{
	struct sync *s;
	int rc = ARR_EIO;
	uint64_t now = mono_ms();

	if ((s = calloc(1, sizeof(*s))) == NULL || settings_copy(s, set) != 0) {
		rc = ARR_ENOMEM;
		goto fail;
	}
	s->zctx = zctx;
	s->rl = logrl_new(NULL, NULL);
	s->file = members;
	s->key = key;
	s->st = st;
	randombytes_buf(s->zap_seen_key, sizeof(s->zap_seen_key));
	if (nodekey_curve_public_raw(nodekey_public(key), s->self_curve) != 0) {
		rc = ARR_ECONFIG;
		goto fail;
	}
	/* The ZAP handler must be bound before the ROUTER accepts anyone. */
	if ((rc = sync_applyq_new(s)) != 0 || (rc = sync_zap_bind(s)) != 0 ||
	    (rc = router_open(s)) != 0)
		goto fail;
	/* the members file and the replicated list: whom we admit and dial */
	if ((rc = sync_members_follow(s, true)) != 0)
		goto fail;
	if (!set->joining && members_find_origin(s->members, nodekey_public(key)) == NULL) {
		log_warnx("sync: this node's key is not in the region's member list");
		rc = ARR_ECONFIG;
		goto fail;
	}
	/* Alone in the region: nobody else can hold change sets of ours. */
	if (s->npeers == 0)
		store_own_heard(st);
	s->started = now;
	s->next_hb = now; /* first tick at once: HELLOs go out as soon as links connect */
	s->next_pull = now + s->set.pull_interval_ms;
	log_info("sync: listening on %s, %zu other members", s->set.listen, s->npeers);
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
		sync_peer_free(&s->peers[i]);
	free(s->peers);
	members_destroy(&s->live);
	if (s->router != NULL)
		zmq_close(s->router);
	if (s->fds.mon != NULL)
		zmq_close(s->fds.mon);
	if (s->zap != NULL)
		zmq_close(s->zap);
	sync_applyq_destroy(s);
	vv_destroy(&s->ours);
	vv_destroy(&s->held);
	vv_destroy(&s->queued);
	vv_destroy(&s->lag_pulled);
	sync_grace_free(s);
	logrl_destroy(&s->rl);
	free((char *)s->set.listen);
	free((char *)s->set.pinned);
	free(s);
	*sp = NULL;
}

int
sync_reload(struct sync *s, const struct sync_settings *set, const struct members *members)
{
	const struct members *file = s->file;
	bool moved = strcmp(set->listen, s->set.listen) != 0;
	int rc;

	s->file = members;
	/* peers of members that left lose their connections (sync_members.c) */
	if ((rc = sync_members_follow(s, true)) != 0) {
		s->file = file;
		return rc;
	}
	if ((rc = settings_copy(s, set)) != 0)
		return rc;
	if (moved)
		log_warnx("sync: a new listen endpoint takes effect after a restart");
	/* the overlay under the new peers and pinned */
	sync_dial_choose(s, mono_ms());
	s->retry_members = true; /* at the next tick, when the store has the new members */
	s->next_hb = mono_ms();
	s->next_pull = s->next_hb + s->set.pull_interval_ms;
	log_info("sync: reloaded, %zu other members", s->npeers);
	return 0;
}

size_t
sync_poll_count(const struct sync *s)
{
	return 3 + 2 * s->npeers; /* ZAP, ROUTER, its monitor, per peer DEALER and monitor */
}

size_t
sync_poll_fill(struct sync *s, zmq_pollitem_t *items, size_t max)
{
	size_t n = 0;

	if (max < 3)
		return 0;
	items[n++] = (zmq_pollitem_t){.socket = s->zap, .events = ZMQ_POLLIN};
	items[n++] = (zmq_pollitem_t){.socket = s->router, .events = ZMQ_POLLIN};
	if (s->fds.mon != NULL)
		items[n++] = (zmq_pollitem_t){.socket = s->fds.mon, .events = ZMQ_POLLIN};
	for (size_t i = 0; i < s->npeers && n < max; i++) {
		if (s->peers[i].dealer != NULL)
			items[n++] = (zmq_pollitem_t){
			    .socket = s->peers[i].dealer,
			    .events =
			        (short)(ZMQ_POLLIN | (s->peers[i].hello_due ? ZMQ_POLLOUT : 0))};
		if (s->peers[i].mon != NULL && n < max)
			items[n++] =
			    (zmq_pollitem_t){.socket = s->peers[i].mon, .events = ZMQ_POLLIN};
	}
	return n;
}

void
sync_on_poll(struct sync *s, const zmq_pollitem_t *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (items[i].revents & ZMQ_POLLOUT) {
			for (size_t k = 0; k < s->npeers; k++)
				if (s->peers[k].dealer == items[i].socket && s->peers[k].hello_due)
					sync_link_send_hello(s, &s->peers[k]);
		}
		if (!(items[i].revents & ZMQ_POLLIN))
			continue;
		if (items[i].socket == s->zap) {
			sync_zap_on_requests(s);
		} else if (items[i].socket == s->router) {
			sync_recv_router(s);
		} else if (items[i].socket == s->fds.mon) {
			sync_fds_on_events(s, mono_ms());
		} else {
			/* a DEALER or a monitor; peers may have changed since the poll */
			for (size_t k = 0; k < s->npeers; k++) {
				if (s->peers[k].dealer == items[i].socket)
					sync_recv_dealer(s, &s->peers[k]);
				else if (s->peers[k].mon == items[i].socket)
					sync_dial_on_events(&s->peers[k], mono_ms());
			}
		}
	}
}

long
sync_timeout_ms(const struct sync *s)
{
	uint64_t now = mono_ms(), next = s->next_hb < s->next_pull ? s->next_hb : s->next_pull;

	/* applies waiting, or a retry of the quarantine going on: the next slice at once */
	if (sync_applyq_pending(s) || s->qr_members_on || s->qr_clock_on || sync_members_due(s))
		return 0;

	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];

		if (p->ann_due && p->ann_at + SYNC_ANNOUNCE_MS < next)
			next = p->ann_at + SYNC_ANNOUNCE_MS;
		if (p->lag != NULL && sync_lazy_lag_due(s, p) < next)
			next = sync_lazy_lag_due(s, p);
		if (p->redial_at != 0 && p->redial_at < next)
			next = p->redial_at;
	}
	if (s->fds.next_check < next)
		next = s->fds.next_check;
	return next <= now ? 0 : (long)(next - now);
}

/*
 * Whether p's last VDIGEST, within 3 heartbeats, matched our vector: a periodic pull
 * from it would bring nothing (and cost our whole vector), so it is left out.
 */
static bool
in_step(const struct sync *s, const struct peer *p, uint64_t now)
{
	return p->vd_match_at != 0 && now - p->vd_match_at <= 3 * (uint64_t)s->set.heartbeat_ms;
}

void
sync_tick(struct sync *s)
{
	uint64_t now;

	if (sync_applyq_pending(s))
		sync_applyq_run(s); /* one slice; the API is served before the next */
	if (!sync_applyq_pending(s))
		sync_recv_queued_reset(s); /* what was queued is applied, or failed */
	/* a member change set applied (here or by the API): admit and dial the new list */
	if (sync_members_due(s) && sync_members_follow(s, false) != 0)
		log_warnx("sync: out of memory; the member list is followed later");
	now = mono_ms();
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (p->ann_due && now - p->ann_at >= SYNC_ANNOUNCE_MS)
			sync_send_announce(s, p, now);
		sync_lazy_check(s, p, now);
		sync_lazy_gap_check(s, p, now);
	}
	if (s->bulk)
		sync_recv_bulk_update(s, now);
	sync_dial_due(s, now);
	if (now >= s->fds.next_check)
		sync_fds_check(s, now);
	if (s->retry_members) {
		s->retry_members = false;
		retry_start(&s->qr_members, ARR_ENOTMEMBER);
		s->qr_members_on = true;
	}
	if (s->qr_members_on)
		s->qr_members_on = retry_quarantine(s, &s->qr_members);
	logrl_tick(s->rl, now);
	if (now >= s->next_hb) {
		sync_link_heartbeat(s, now);
		sync_dial_choose(s, now);
		sync_equiv_tick(s, now);
		s->next_hb = now + s->set.heartbeat_ms;
	}
	if (now >= s->next_pull && !s->qr_clock_on) {
		retry_start(&s->qr_clock, ARR_ECLOCK);
		s->qr_clock_on = true;
	}
	if (s->qr_clock_on)
		s->qr_clock_on = retry_quarantine(s, &s->qr_clock);
	if (now >= s->next_pull) {
		for (size_t i = 0; i < s->npeers; i++)
			if (!sync_send_pull_outstanding(s, &s->peers[i], now) &&
			    !in_step(s, &s->peers[i], now))
				sync_send_pull(s, &s->peers[i], LINK_NONE, "periodic");
		s->next_pull = now + s->set.pull_interval_ms;
	}
}

void
sync_committed(struct sync *s)
{
	sync_ours_stale(s);
	sync_send_push_new(s);
	sync_send_announce_all(s);
}

int
sync_now(struct sync *s)
{
	int n = 0;

	for (size_t i = 0; i < s->npeers; i++)
		n += sync_send_pull(s, &s->peers[i], LINK_NONE, "requested");
	return n;
}

int
sync_pack_peers(struct sync *s, msgpack_packer *pk)
{
	return sync_msg_pack_peers(s, pk);
}

void
sync_stats(const struct sync *s, struct sync_stats *st)
{
	uint64_t now = mono_ms();

	memset(st, 0, sizeof(*st));
	st->members = s->npeers;
	for (size_t i = 0; i < s->npeers; i++)
		if (sync_link_connected(s, &s->peers[i], now))
			st->connected++;
	st->malformed = s->malformed;
	st->refused = s->refused;
}

int
sync_metrics(struct sync *s, FILE *f)
{
	int rc = sync_msg_metrics(s, f);

	if (rc == 0) {
		sync_applyq_metrics(s, f);
		sync_members_metrics(s, f);
		sync_join_metrics(s, f);
		sync_grace_metrics(s, f);
	}
	return rc != 0 ? rc : sync_fds_metrics(s, f);
}
