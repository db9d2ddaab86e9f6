/*
 * sync_members.c: the peer layer follows the region's replicated member list (the members
 * file's seed with the member change sets folded over it, store_member.h). When the store's
 * list moves, the list the ZAP handler admits and the peers we dial are built anew at once:
 * a member that joined is admitted and dialled, one that was removed or rotated away loses
 * its DEALER and its connection to our ROUTER, and the change sets quarantined because their
 * origin was no member are retried. It reads the store's list and never writes the replica;
 * it opens no socket (sync_link.c does, through sync_link_dealers_open()).
 */
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "log.h"
#include "metrics.h"
#include "monoclock.h"
#include "nodekey.h"
#include "store_member.h"
#include "sync_int.h"

bool
sync_members_due(const struct sync *s)
{
	return s->st != NULL && (s->live == NULL || store_member_gen(s->st) != s->member_gen);
}

/* Whether next holds a member old does not: a retry of the quarantine may apply more. */
static bool
grew(const struct members *old, const struct members *next)
{
	for (size_t i = 0; i < members_count(next); i++)
		if (members_find_origin(old, members_at(next, i)->origin) == NULL)
			return true;
	return false;
}

/* The peers of s->peers[0..nold) that next has no member for: dropped, connections closed. */
static void
drop_left(struct sync *s, struct peer *old, size_t nold)
{
	for (size_t i = 0; i < nold; i++) {
		struct peer *p = &old[i];
		bool closed;

		if (p->name == NULL)
			continue; /* taken over by the new table */
		closed = sync_link_close_in(p);
		s->members_closed++;
		log_notice("peer %s: no longer a member of the region; %s", p->name,
		           closed || p->dealer != NULL ? "its connections are closed"
		                                       : "not connected");
		sync_peer_free(p);
	}
}

/* Take list as s->members: a new peer table, the old one's state kept where it can be. */
static int
take_list(struct sync *s, struct members *list)
{
	struct peer *v = NULL;
	size_t n = 0;
	int rc;

	if ((rc = sync_peer_build(s, list, s->peers, s->npeers, &v, &n)) != 0)
		return rc;
	drop_left(s, s->peers, s->npeers);
	free(s->peers);
	s->peers = v;
	s->npeers = n;
	if (s->members != NULL && grew(s->members, list))
		s->retry_members = true;
	members_destroy(&s->live);
	s->live = list;
	s->members = list;
	sync_link_dealers_open(s);
	return 0;
}

/*
 * The list to follow: the store's; while the store has none, the inviter alone when this node
 * joins by invitation (a reload's members file must not drop the link to it before the
 * region's list has arrived), else the members file's.
 */
static int
build(const struct sync *s, struct members **list)
{
	const struct members *seedfile = s->join.inviter != NULL ? s->join.inviter : s->file;
	struct member_rec *seed = NULL;
	size_t n = store_member_count(s->st);
	int rc;

	if (n > 0)
		return members_live(s->file, store_member_at(s->st, 0), n, list);
	if ((rc = members_seed(seedfile, &seed, &n)) == 0)
		rc = members_live(seedfile, seed, n, list);
	free(seed);
	return rc;
}

int
sync_members_follow(struct sync *s, bool force)
{
	struct members *list = NULL;
	int rc;

	if (s->st == NULL) {
		s->members = s->file;
		return 0;
	}
	if (!force && !sync_members_due(s))
		return 0;
	if ((rc = build(s, &list)) != 0)
		return rc;
	if ((rc = take_list(s, list)) != 0) {
		members_destroy(&list);
		return rc;
	}
	s->member_gen = store_member_gen(s->st);
	log_info("sync: the region has %zu members, %zu peers", members_count(list), s->npeers);
	return 0;
}

const char *
sync_members_why(const struct sync *s, const uint8_t curve[32])
{
	uint8_t c[32];

	for (size_t i = 0; s->st != NULL && i < store_member_count(s->st); i++) {
		const struct member_rec *r = store_member_at(s->st, i);

		if (nodekey_curve_public_raw(r->key, c) != 0 || memcmp(c, curve, sizeof(c)) != 0)
			continue;
		if (r->rotated)
			return "its key was rotated out of the region";
		if (r->removed)
			return "it was removed from the region";
	}
	if (memcmp(curve, s->self_curve, sizeof(c)) == 0)
		return "it is this node's own key";
	return SYNC_WHY_NOT_MEMBER;
}

void
sync_members_metrics(const struct sync *s, FILE *f)
{
	struct store_member_stats ms = {0};

	if (s->st != NULL)
		store_member_stats(s->st, &ms);
	metrics_gauge(f, "arrangd_members", "Members of the region now (this node included).",
	              s->st != NULL ? ms.members : members_count(s->members));
	metrics_gauge(f, "arrangd_members_removed",
	              "Members removed from the region or rotated away.", ms.removed);
	metrics_counter(f, "arrangd_member_changesets_total",
	                "Member change sets in the log (those that changed nothing included).",
	                ms.ops);
	metrics_counter(f, "arrangd_peer_connections_refused_total",
	                "Peer connections the ZAP handler refused (not a member's key).",
	                s->zap_refused);
	metrics_counter(f, "arrangd_peer_members_dropped_total",
	                "Peers dropped because their member left the region's list.",
	                s->members_closed);
}
