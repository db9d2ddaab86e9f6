/*
 * sync_join.c: joining a region by invitation (PROTOCOL.md, "Invitations"), both sides.
 * The inviter's ZAP handler lets a key that is no member's into the join state when this
 * node is a registrar of a founded region (it may have issued invitations), at most
 * SYNC_JOIN_PER_MIN times a minute per source address; such a connection may send one JOIN of at
 * most PEERMSG_JOIN_MAX bytes and gets one JOINED; nothing else it sends is processed (counted).
 * The store decides the JOIN (store_member_redeem); this file only carries it. The joiner sends its
 * JOIN instead of HELLO to the inviter and, once accepted, reconnects as a member; until its
 * store holds the region's member list it follows the inviter alone, also across a reload
 * (sync_members.c). Never logs a secret.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "arrerr.h"
#include "log.h"
#include "metrics.h"
#include "monoclock.h"
#include "store_member.h"
#include "store_member_invite.h"
#include "sync_int.h"

void
sync_set_join(struct sync *s, const uint8_t issuer[32], const uint8_t id[16],
              const uint8_t proof[64], const char *endpoint, const char *done_path)
{
	struct sync_join *j = &s->join;

	j->pending = true;
	j->refused = false;
	j->inviter = s->file; /* sync_open()'s list: the inviter alone */
	memcpy(j->issuer, issuer, sizeof(j->issuer));
	memcpy(j->id, id, sizeof(j->id));
	memcpy(j->proof, proof, sizeof(j->proof));
	snprintf(j->endpoint, sizeof(j->endpoint), "%s", endpoint);
	snprintf(j->done_path, sizeof(j->done_path), "%s", done_path);
}

/* A short keyed hash (for the rings; the key is the ZAP handler's random one). */
static uint64_t
short_hash(const struct sync *s, const void *p, size_t n)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, p, n, s->zap_seen_key);
	return h;
}

/* Count one admission of source h; false when it is over its limit. */
static bool
source_ok(struct sync_join *j, uint64_t h, uint64_t now)
{
	struct sync_join_src *oldest = &j->src[0];

	for (size_t i = 0; i < SYNC_JOIN_SRC; i++) {
		struct sync_join_src *e = &j->src[i];

		if (e->h == h && e->n > 0) {
			if (now - e->since >= SYNC_JOIN_WINDOW_MS) {
				e->since = now;
				e->n = 0;
			}
			return ++e->n <= SYNC_JOIN_PER_MIN;
		}
		if (e->since < oldest->since)
			oldest = e;
	}
	*oldest = (struct sync_join_src){.h = h, .since = now, .n = 1};
	return true;
}

bool
sync_join_admit(struct sync *s, const uint8_t curve[32], const void *addr, size_t addrlen,
                char *uid, size_t uidlen)
{
	const struct member_rec *self;

	if (s->st == NULL || uidlen < 2 + 64 || !store_member_region(s->st, NULL, NULL) ||
	    (self = store_member_find(s->st, nodekey_public(s->key))) == NULL || self->removed ||
	    !(self->roles & MEMBER_ROLE_REGISTRAR))
		return false; /* only a registrar of a founded region issues invitations */
	if (!source_ok(&s->join, short_hash(s, addr, addrlen), mono_ms())) {
		s->join.limited++;
		return false;
	}
	uid[0] = 'J';
	sodium_bin2hex(uid + 1, uidlen - 1, curve, 32);
	s->join.admitted++;
	return true;
}

/* Whether key's JOIN was answered within the window (it is remembered from now on). */
static bool
answered(struct sync *s, uint64_t h, uint64_t now)
{
	struct sync_join *j = &s->join;

	for (size_t i = 0; i < SYNC_JOIN_SEEN; i++)
		if (j->seen[i] == h && now - j->seen_at[i] < SYNC_JOIN_WINDOW_MS)
			return true;
	j->seen[j->seen_next % SYNC_JOIN_SEEN] = h;
	j->seen_at[j->seen_next++ % SYNC_JOIN_SEEN] = now;
	return false;
}

/* JOINED (code, text) to routing id rid. */
static void
reply(struct sync *s, const uint8_t *rid, size_t ridlen, int code, const char *text)
{
	sync_link_send_rid(s, rid, ridlen, PEERMSG_JOINED, code, text);
}

/* Decide m, a JOIN on a connection authenticated with CURVE key curve. */
static void
on_join(struct sync *s, const uint8_t *rid, size_t ridlen, const uint8_t curve[32],
        const struct peermsg *m)
{
	struct store_join j = {0};
	uint8_t c[32];
	char idhex[2 * 4 + 1];
	const char *why = NULL;
	uint64_t seq = 0;
	int rc;

	sodium_bin2hex(idhex, sizeof(idhex), m->invite, 4);
	if (nodekey_curve_public_raw(m->origin, c) != 0 || memcmp(c, curve, 32) != 0) {
		why = "the JOIN's key is not the connection's";
		rc = ARR_EFORBIDDEN;
	} else {
		memcpy(j.id, m->invite, sizeof(j.id));
		memcpy(j.key, m->origin, sizeof(j.key));
		snprintf(j.endpoint, sizeof(j.endpoint), "%s", m->endpoint);
		memcpy(j.proof, m->proof, sizeof(j.proof));
		rc = store_member_redeem(s->st, &j, (uint64_t)time(NULL), &seq, &why);
	}
	if (rc != 0) {
		s->join.refusals++;
		log_warnx("join: refused a JOIN for invitation %s...: %s", idhex,
		          why != NULL ? why : arrerr_str(rc));
		reply(s, rid, ridlen, rc, why != NULL ? why : arrerr_str(rc));
		return;
	}
	s->join.accepted++;
	log_notice("join: invitation %s... redeemed by this node's change set %llu", idhex,
	           (unsigned long long)seq);
	(void)sync_members_follow(s, true); /* admit its member connection at once */
	sync_committed(s);
	reply(s, rid, ridlen, 0, "admitted");
}

void
sync_join_on_router(struct sync *s, const uint8_t *rid, size_t ridlen, const char *uid,
                    const void *buf, size_t len)
{
	struct peermsg *m = NULL;
	uint8_t curve[32];
	int rc;

	if (strlen(uid) != 1 + 64 ||
	    sodium_hex2bin(curve, sizeof(curve), uid + 1, 64, NULL, NULL, NULL) != 0 ||
	    len > PEERMSG_JOIN_MAX || answered(s, short_hash(s, curve, 32), mono_ms())) {
		s->join.ignored++;
		return;
	}
	if ((rc = peermsg_decode(buf, len, &m)) == ARR_EVERSION) {
		s->join.refusals++;
		reply(
		    s, rid, ridlen, ARR_EVERSION,
		    "a JOIN of protocol 1.3 (its proof is no longer accepted): upgrade the joining "
		    "node and ask for a new invitation");
	} else if (rc != 0 || m->type != PEERMSG_JOIN) {
		s->join.ignored++;
		reply(s, rid, ridlen, ARR_ESTATE, "only a JOIN is answered before admission");
	} else {
		on_join(s, rid, ridlen, curve, m);
	}
	peermsg_destroy(&m);
}

bool
sync_join_send(struct sync *s, struct peer *p)
{
	struct sync_join *j = &s->join;
	struct peermsg m = {.type = PEERMSG_JOIN};

	if (!j->pending || memcmp(p->origin, j->issuer, ARR_ORIGIN_LEN) != 0)
		return false;
	if (j->refused)
		return true; /* nothing more to the inviter that refused us */
	memcpy(m.invite, j->id, sizeof(m.invite));
	memcpy(m.origin, nodekey_public(s->key), ARR_ORIGIN_LEN);
	memcpy(m.proof, j->proof, sizeof(m.proof));
	snprintf(m.endpoint, sizeof(m.endpoint), "%s", j->endpoint);
	p->hello_due = sync_link_send(s, p, LINK_OUT, &m) != 0;
	if (!p->hello_due)
		log_info("join: sent the JOIN to %s", p->endpoint);
	return true;
}

void
sync_join_on_joined(struct sync *s, struct peer *p, const struct peermsg *m)
{
	struct sync_join *j = &s->join;

	if (!j->pending || j->refused || memcmp(p->origin, j->issuer, ARR_ORIGIN_LEN) != 0)
		return;
	if (m->code != 0) {
		j->refused = true;
		log_error("join: the inviting node refused this node (%s): %s; get a new "
		          "invitation",
		          arrerr_name(m->code), m->text);
		return;
	}
	j->pending = false;
	if (j->done_path[0] != '\0' && unlink(j->done_path) != 0)
		log_warnx("join: cannot remove %s", j->done_path);
	log_notice("join: admitted to the region; connecting as a member");
	/* a new connection, which the inviter's ZAP handler now admits as a member's */
	sync_link_dealer_close(p);
	(void)sync_link_dealer_open(s, p);
}

void
sync_join_metrics(const struct sync *s, FILE *f)
{
	metrics_counter(f, "arrangd_join_admitted_total",
	                "Connections of unknown keys let into the join state.", s->join.admitted);
	metrics_counter(f, "arrangd_join_limited_total",
	                "Join-state admissions refused: over a source's limit.", s->join.limited);
	metrics_counter(f, "arrangd_join_ignored_total",
	                "Messages of the join state not processed (a second one, too big, not "
	                "a JOIN).",
	                s->join.ignored);
	metrics_counter(f, "arrangd_join_accepted_total",
	                "JOINs accepted: an invitation redeemed and its ADD (or ROTATE) signed.",
	                s->join.accepted);
	metrics_counter(f, "arrangd_join_refused_total",
	                "JOINs refused (used, expired, wrong proof, not a registrar, ...).",
	                s->join.refusals);
}
