/*
 * sync_peer.c: the peer layer's table of peers, one per member but us, and what we know
 * of each peer's version vector (what it told us, raised by what it sent us and by
 * what we sent it). Rebuilds the table when the members file changes, keeping the state
 * of members that stay. Opens no socket and sends nothing: a peer's DEALER is only
 * closed here when its member left or its endpoint changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "log.h"
#include "sync_int.h"

void
sync_peer_free(struct peer *p)
{
	sync_link_dealer_close(p);
	sync_sendq_free(p);
	vv_destroy(&p->known);
	sync_lazy_reset(p);
	free(p->name);
	free(p->endpoint);
	memset(p, 0, sizeof(*p));
}

/* Move the old peer with origin into p, if there is one; old[j] is left empty. */
static void
take_over(struct peer *p, const uint8_t origin[ARR_ORIGIN_LEN], struct peer *old, size_t nold)
{
	for (size_t j = 0; j < nold; j++) {
		if (old[j].name != NULL && memcmp(old[j].origin, origin, ARR_ORIGIN_LEN) == 0) {
			*p = old[j];
			memset(&old[j], 0, sizeof(old[j]));
			return;
		}
	}
}

/* Name and endpoint of p from mb; a DEALER to another endpoint is closed. */
static int
take_member(struct peer *p, const struct member *mb)
{
	memcpy(p->origin, mb->origin, ARR_ORIGIN_LEN);
	free(p->name);
	p->name = strdup(mb->name);
	if (p->dealer != NULL && (mb->endpoint == NULL || p->endpoint == NULL ||
	                          strcmp(mb->endpoint, p->endpoint) != 0)) {
		log_info("peer %s: endpoint changed", mb->name);
		sync_link_dealer_close(p);
	}
	if (mb->endpoint == NULL || p->endpoint == NULL || strcmp(mb->endpoint, p->endpoint) != 0)
		p->redial_at = 0; /* a new endpoint is dialled at once */
	free(p->endpoint);
	p->endpoint = mb->endpoint != NULL ? strdup(mb->endpoint) : NULL;
	if (p->name == NULL || (mb->endpoint != NULL && p->endpoint == NULL))
		return ARR_ENOMEM;
	return 0;
}

int
sync_peer_build(const struct sync *s, const struct members *mem, struct peer *old, size_t nold,
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
		take_over(p, mb->origin, old, nold);
		k++;
		if (take_member(p, mb) != 0) {
			for (size_t j = 0; j < k; j++)
				sync_peer_free(&v[j]);
			free(v);
			return ARR_ENOMEM;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

struct peer *
sync_peer_by_origin(struct sync *s, const uint8_t origin[ARR_ORIGIN_LEN])
{
	for (size_t i = 0; i < s->npeers; i++)
		if (memcmp(s->peers[i].origin, origin, ARR_ORIGIN_LEN) == 0)
			return &s->peers[i];
	return NULL;
}

void
sync_peer_known_add(struct peer *p, const uint8_t origin[ARR_ORIGIN_LEN], uint64_t seq)
{
	if (p->known == NULL && (p->known = vv_new()) == NULL)
		return;
	if (vv_get(p->known, origin) < seq)
		(void)vv_set(p->known, origin, seq);
}

void
sync_peer_handshake(struct peer *p, struct link *l, const struct peermsg *m)
{
	sync_peer_known_set(p, m->vector);
	sync_lazy_reset(p);
	p->lazy_ok = sync_msg_has_cap(m, SYNC_CAP_LAZY);
	p->equiv_ok = sync_msg_has_cap(m, SYNC_CAP_EQUIV);
	p->vdigest_ok = sync_msg_has_cap(m, SYNC_CAP_VDIGEST);
	p->vreply_at = 0;
	/* a new link gets our next LOGSUM whatever we sent before */
	memset(p->eq_sent_hash, 0, sizeof(p->eq_sent_hash));
	p->eq_sent_at = 0;
	/* another schema version is no reason to refuse: PROTOCOL.md, "Schema evolution" */
	p->schema = sync_msg_schema(m);
	snprintf(p->software, sizeof(p->software), "%s",
	         sync_msg_cap_value(m, SYNC_CAP_SOFTWARE) != NULL
	             ? sync_msg_cap_value(m, SYNC_CAP_SOFTWARE)
	             : "");
	l->peer_hb_ms = sync_msg_heartbeat(m);
}

void
sync_peer_known_set(struct peer *p, const struct vv *v)
{
	struct vv *d = vv_dup(v);

	if (d == NULL)
		return;
	vv_destroy(&p->known);
	p->known = d;
}

/*
 * Never lowered: an announcement may be older than change sets we pushed since, and
 * lowering would push them again. An optimistic guess that was wrong (a dropped push)
 * is repaired by p's pull, which our announcements trigger, and by the PULL's vector,
 * which replaces.
 */
void
sync_peer_known_merge(struct peer *p, const struct vv *v)
{
	if (p->known == NULL) {
		sync_peer_known_set(p, v);
		return;
	}
	(void)vv_merge(p->known, v);
}
