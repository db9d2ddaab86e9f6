/*
 * sync_dial.c: redialling our DEALERs. Owns the monitor socket of every DEALER (a PAIR
 * that receives libzmq's socket events) and the redial schedule: exponential backoff
 * with jitter, from SYNC_DIAL_MIN_MS up to SYNC_DIAL_MAX_MS, reset once the peer
 * WELCOMEs us. It opens and closes DEALERs only through sync_link.c and reads no
 * peer message.
 *
 * Why: libzmq redials a DEALER by itself after a transport failure (connection refused
 * or reset, heartbeat timeout, the peer restarting), but a CURVE handshake that the
 * peer's ZAP handler refused is a protocol error, and libzmq 4.3 then gives the
 * endpoint up for good (only the draft API has ZMQ_RECONNECT_STOP to say otherwise).
 * A node started before the others listed it would stay cut off. The monitor reports
 * the refusal (ZMQ_EVENT_HANDSHAKE_FAILED_*); we close the DEALER, log the refusal once
 * per outage with its reason, and open a fresh DEALER when the backoff has passed.
 *
 * It also owns the overlay's state in the peer table: which peers we dial (overlay.c
 * chooses them) and which of those are down (dialled without WELCOME for SYNC_DOWN_HB
 * heartbeats): a down peer is replaced by the next in its ranking and still dialled, and
 * once it WELCOMEs us again the overlay takes it back and drops the replacement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "arrerr.h"
#include "confval.h"
#include "log.h"
#include "overlay.h"
#include "sync_int.h"

#define SYNC_DIAL_EVENTS                                                                           \
	(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                   \
	 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)

int
sync_dial_watch(struct sync *s, struct peer *p)
{
	char ep[64];
	int linger = 0;

	snprintf(ep, sizeof(ep), "inproc://arrangd-dial-%llu", (unsigned long long)++s->dial_seq);
	if (zmq_socket_monitor(p->dealer, ep, SYNC_DIAL_EVENTS) != 0 ||
	    (p->mon = zmq_socket(s->zctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(p->mon, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_connect(p->mon, ep) != 0) {
		log_warnx("peer %s: cannot watch the connection: %s", p->name,
		          zmq_strerror(zmq_errno()));
		sync_dial_unwatch(p);
		return -1;
	}
	return 0;
}

void
sync_dial_unwatch(struct peer *p)
{
	if (p->mon != NULL) {
		zmq_close(p->mon);
		p->mon = NULL;
	}
}

uint32_t
sync_dial_next_delay(uint32_t *backoff_ms, uint32_t jitter)
{
	uint32_t b = *backoff_ms == 0 ? SYNC_DIAL_MIN_MS : *backoff_ms;

	*backoff_ms = b >= SYNC_DIAL_MAX_MS / 2 ? SYNC_DIAL_MAX_MS : 2 * b;
	/* equal jitter: between half the backoff and all of it */
	return b / 2 + jitter % (b / 2 + 1);
}

/* What a refusal event means, for the log. */
static const char *
refusal_reason(uint16_t event, uint32_t value, char *buf, size_t len)
{
	if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
		snprintf(buf, len,
		         "its authentication refused our key (status %u: this node is not in "
		         "its members file)",
		         (unsigned)value);
	else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
		snprintf(buf, len, "ZMTP protocol error %#x (wrong server key?)", (unsigned)value);
	else
		snprintf(buf, len, "handshake failed: %s", zmq_strerror((int)value));
	return buf;
}

/* The handshake on p's DEALER was refused: close it and schedule a fresh one. */
static void
refused(struct peer *p, uint16_t event, uint32_t value, uint64_t now)
{
	char why[128];
	uint32_t delay = sync_dial_next_delay(&p->dial_backoff_ms, randombytes_random());

	p->dial_refusals++;
	if (!p->dial_refusal_logged) {
		log_warnx("peer %s: handshake refused: %s; redialling with backoff up to %u s",
		          p->name, refusal_reason(event, value, why, sizeof(why)),
		          SYNC_DIAL_MAX_MS / 1000);
		p->dial_refusal_logged = true;
	} else {
		log_debug("peer %s: handshake refused again, next attempt in %u ms", p->name,
		          delay);
	}
	sync_link_dealer_close(p);
	p->redial_at = now + delay;
}

void
sync_dial_on_events(struct peer *p, uint64_t now)
{
	for (int n = 0; n < SYNC_BURST && p->mon != NULL; n++) {
		zmq_msg_t f;
		uint8_t head[6];
		int more;
		size_t sz = sizeof(more);
		bool whole;

		zmq_msg_init(&f);
		if (zmq_msg_recv(&f, p->mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&f);
			return;
		}
		/* [uint16 event][uint32 value], then the endpoint in a second frame */
		whole = zmq_msg_size(&f) == sizeof(head);
		if (whole)
			memcpy(head, zmq_msg_data(&f), sizeof(head));
		zmq_msg_close(&f);
		if (zmq_getsockopt(p->mon, ZMQ_RCVMORE, &more, &sz) == 0 && more)
			sync_recv_drain(p->mon);
		if (whole) {
			uint16_t event;
			uint32_t value;

			memcpy(&event, head, sizeof(event));
			memcpy(&value, head + 2, sizeof(value));
			if (event & SYNC_DIAL_EVENTS) {
				refused(p, event, value, now);
				return;
			}
		}
	}
}

void
sync_dial_up(struct peer *p)
{
	if (p->dial_refusal_logged)
		log_notice("peer %s: handshake accepted after %llu refusals", p->name,
		           (unsigned long long)p->dial_refusals);
	p->dial_refusal_logged = false;
	p->dial_refusals = 0;
	p->dial_backoff_ms = 0;
}

void
sync_dial_due(struct sync *s, uint64_t now)
{
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (p->dealer == NULL && p->endpoint != NULL && p->dial && p->redial_at != 0 &&
		    now >= p->redial_at) {
			p->redial_at = 0;
			(void)sync_link_dealer_open(s, p);
		}
	}
}

/* Whether p is pinned: named in [sync] pinned, or the inviter we are joining through. */
static bool
pinned(const struct sync *s, const struct peer *p)
{
	return confval_list_has(s->set.pinned, p->name) ||
	       (s->join.pending && memcmp(p->origin, s->join.issuer, ARR_ORIGIN_LEN) == 0);
}

/* Judge p down when its DEALER has gone SYNC_DOWN_HB heartbeats without WELCOME; up again. */
static void
judge(struct sync *s, struct peer *p, uint64_t now)
{
	uint64_t grace = (uint64_t)SYNC_DOWN_HB * s->set.heartbeat_ms;

	if (p->dial && p->out.up) {
		if (p->down_at != 0)
			log_info("peer %s: reachable again; the overlay takes it back", p->name);
		p->dial_since = p->down_at = 0;
	} else if (p->dial) {
		if (p->dial_since == 0)
			p->dial_since = now;
		if (p->down_at == 0 && now - p->dial_since >= grace) {
			p->down_at = now;
			s->peers_down++;
			if (sync_log_ok(s, p, "overlay"))
				log_info(
				    "peer %s: unreachable for %llu ms; dialling the next member "
				    "in its place",
				    p->name, (unsigned long long)(now - p->dial_since));
		}
	} else {
		p->dial_since = 0;
		/* not dialled any more: tried again once in a while */
		if (p->down_at != 0 && now - p->down_at >= SYNC_DOWN_RETRY_MS)
			p->down_at = 0;
	}
}

/* Open or close p's DEALER as the overlay chose. */
static void
follow(struct sync *s, struct peer *p, bool dial)
{
	if (dial && !p->dial)
		p->dial_since = 0;
	p->dial = dial;
	if (dial && p->dealer == NULL && p->redial_at == 0) {
		(void)sync_link_dealer_open(s, p);
	} else if (!dial && (p->dealer != NULL || p->redial_at != 0)) {
		if (p->dealer != NULL)
			log_debug("peer %s: not dialled any more (the overlay chose others)",
			          p->name);
		sync_link_dealer_close(p);
		p->redial_at = 0;
	}
}

void
sync_dial_choose(struct sync *s, uint64_t now)
{
	struct overlay_cand *c = calloc(s->npeers ? s->npeers : 1, sizeof(*c));
	bool *dial = calloc(s->npeers ? s->npeers : 1, sizeof(*dial));
	size_t *idx = calloc(s->npeers ? s->npeers : 1, sizeof(*idx));
	size_t n = 0;

	if (c == NULL || dial == NULL || idx == NULL)
		goto out; /* the next heartbeat tries again */
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		judge(s, p, now);
		if (p->endpoint == NULL)
			continue;
		c[n] = (struct overlay_cand){
		    .key = p->origin, .pinned = pinned(s, p), .down = p->down_at != 0};
		idx[n++] = i;
	}
	if (overlay_choose(nodekey_public(s->key), c, n, s->set.peers, dial) != 0)
		goto out;
	for (size_t i = 0, j = 0; i < s->npeers; i++) {
		bool d = j < n && idx[j] == i && dial[j];

		if (j < n && idx[j] == i)
			j++;
		follow(s, &s->peers[i], d);
	}
out:
	free(c);
	free(dial);
	free(idx);
}
