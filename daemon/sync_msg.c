/*
 * sync_msg.c: the peer layer's own messages and reports, built and read without any
 * socket: the contents of our HELLO and WELCOME (version, origin, capabilities with the
 * software and schema versions, vector) and the checks a peer's must pass, the "peers" array of the
 * local API, and the peer layer's metrics in Prometheus text (written through metrics.c, the one
 * writer of that format), with the buckets of the apply latency histogram. It reads peer state and
 * changes it not; of the counters it updates only the histogram.
 */
#include <stdio.h>
#include <string.h>

#include "arrerr.h"
#include "metrics.h"
#include "monoclock.h"
#include "sync_int.h"
#include "version.h"

/* Upper bounds (seconds) of the apply latency histogram's buckets, +Inf aside. */
static const double apply_le[SYNC_APPLY_BUCKETS] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};

void
sync_msg_fill_hello(const struct nodekey *key, struct peermsg *m, enum peermsg_type type,
                    const struct vv *v, uint32_t heartbeat_ms)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->major = PEERMSG_MAJOR;
	m->minor = PEERMSG_MINOR;
	memcpy(m->origin, nodekey_public(key), ARR_ORIGIN_LEN);
	m->ncaps = 8;
	strcpy(m->caps[0], "push");
	strcpy(m->caps[1], "relay");
	strcpy(m->caps[2], SYNC_CAP_LAZY);
	strcpy(m->caps[3], SYNC_CAP_EQUIV);
	snprintf(m->caps[4], sizeof(m->caps[4]), "%s%u", SYNC_CAP_HEARTBEAT,
	         (unsigned)heartbeat_ms);
	/* what the peer shows in "peers" and metrics, and status compares (rolling upgrades) */
	snprintf(m->caps[5], sizeof(m->caps[5]), "%s%s", SYNC_CAP_SOFTWARE, ARRANG_VERSION);
	snprintf(m->caps[6], sizeof(m->caps[6]), "%s%u", SYNC_CAP_SCHEMA, ARR_SCHEMA_VERSION);
	strcpy(m->caps[7], SYNC_CAP_VDIGEST);
	m->vector = (struct vv *)v;
}

int
sync_msg_check_hello(const uint8_t origin[ARR_ORIGIN_LEN], const struct peermsg *m)
{
	if (m->major != PEERMSG_MAJOR)
		return ARR_EVERSION;
	if (memcmp(m->origin, origin, ARR_ORIGIN_LEN) != 0)
		return ARR_ENOTMEMBER;
	return 0;
}

bool
sync_msg_has_cap(const struct peermsg *m, const char *cap)
{
	for (size_t i = 0; i < m->ncaps; i++)
		if (strcmp(m->caps[i], cap) == 0)
			return true;
	return false;
}

/*
 * A peer judges our silence by this announcement (PROTOCOL.md, "Links"), so a value it
 * cannot have been configured with is ignored rather than clamped.
 */
uint32_t
sync_msg_heartbeat(const struct peermsg *m)
{
	const size_t plen = strlen(SYNC_CAP_HEARTBEAT);

	for (size_t i = 0; i < m->ncaps; i++) {
		const char *c = m->caps[i], *d = c + plen;
		uint32_t v = 0;
		size_t n = 0;

		if (strncmp(c, SYNC_CAP_HEARTBEAT, plen) != 0)
			continue;
		while (n < 6 && d[n] >= '0' && d[n] <= '9')
			v = v * 10 + (uint32_t)(d[n++] - '0');
		if (n == 0 || n > 5 || d[n] != '\0' || d[0] == '0' || v < SYNC_HB_MIN_MS ||
		    v > SYNC_HB_MAX_MS)
			return 0;
		return v;
	}
	return 0;
}

const char *
sync_msg_cap_value(const struct peermsg *m, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (size_t i = 0; i < m->ncaps; i++)
		if (strncmp(m->caps[i], prefix, plen) == 0)
			return m->caps[i] + plen;
	return NULL;
}

unsigned
sync_msg_schema(const struct peermsg *m)
{
	const char *d = sync_msg_cap_value(m, SYNC_CAP_SCHEMA);
	unsigned v = 0;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while (n < 9 && d[n] >= '0' && d[n] <= '9')
		v = v * 10 + (unsigned)(d[n++] - '0');
	return n == 0 || d[n] != '\0' || d[0] == '0' ? 0 : v;
}

static int
pack_str(msgpack_packer *pk, const char *str)
{
	size_t n = strlen(str);

	return msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, str, n) != 0 ? -1 : 0;
}

/* One element of the "peers" array: p against our vector v (k: what p has). */
static int
pack_peer(const struct sync *s, msgpack_packer *pk, const struct peer *p, const struct vv *v,
          const struct vv *k, uint64_t now)
{
	const struct member *mb = members_find_origin(s->members, p->origin);
	char hex[NODEKEY_HEX_LEN + 1];

	nodekey_hex(p->origin, hex);
	if (msgpack_pack_map(pk, 11) != 0 || pack_str(pk, "name") != 0 ||
	    pack_str(pk, p->name) != 0 || pack_str(pk, "organisation") != 0 ||
	    pack_str(pk, mb != NULL ? mb->organisation : "") != 0 || pack_str(pk, "origin") != 0 ||
	    pack_str(pk, hex) != 0 || pack_str(pk, "endpoint") != 0 ||
	    (p->endpoint != NULL ? pack_str(pk, p->endpoint) : msgpack_pack_nil(pk)) != 0 ||
	    pack_str(pk, "connected") != 0 ||
	    (sync_link_connected(s, p, now) ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) !=
	        0 ||
	    pack_str(pk, "last_seen_ms") != 0 || msgpack_pack_uint64(pk, p->last_seen_wall) != 0 ||
	    pack_str(pk, "behind") != 0 || msgpack_pack_uint64(pk, vv_missing(v, k)) != 0 ||
	    pack_str(pk, "ahead") != 0 || msgpack_pack_uint64(pk, vv_missing(k, v)) != 0 ||
	    pack_str(pk, "software") != 0 ||
	    (p->software[0] != '\0' ? pack_str(pk, p->software) : msgpack_pack_nil(pk)) != 0 ||
	    pack_str(pk, "schema") != 0 ||
	    (p->schema != 0 ? msgpack_pack_uint64(pk, p->schema) : msgpack_pack_nil(pk)) != 0 ||
	    pack_str(pk, "dialled") != 0 ||
	    (p->dial ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) != 0)
		return ARR_ENOMEM;
	return 0;
}

int
sync_msg_pack_peers(struct sync *s, msgpack_packer *pk)
{
	const struct vv *v = sync_ours(s);
	struct vv *empty = vv_new();
	uint64_t now = mono_ms();
	int rc = ARR_ENOMEM;

	if (v == NULL || empty == NULL)
		goto out;
	if (msgpack_pack_array(pk, s->npeers) != 0)
		goto out;
	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];

		if (pack_peer(s, pk, p, v, p->known != NULL ? p->known : empty, now) != 0)
			goto out;
	}
	rc = 0;
out:
	vv_destroy(&empty);
	return rc;
}

void
sync_msg_count_apply(struct sync_counters *c, double dt)
{
	c->apply_count++;
	c->apply_sum += dt;
	for (size_t i = 0; i < SYNC_APPLY_BUCKETS; i++)
		if (dt <= apply_le[i])
			c->apply_bucket[i]++;
}

/* The behind and ahead gauges: per peer, what one side has that the other lacks. */
static void
lag_gauges(const struct sync *s, FILE *f, const struct vv *v, const struct vv *empty)
{
	metrics_family(f, "arrangd_peer_behind", "gauge",
	               "Change sets this node has that the peer lacks, as far as we know.");
	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];

		metrics_sample_label(f, "arrangd_peer_behind", "peer", p->name,
		                     vv_missing(v, p->known != NULL ? p->known : empty));
	}
	metrics_family(f, "arrangd_peer_ahead", "gauge",
	               "Change sets the peer has that this node lacks, as far as we know.");
	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];

		metrics_sample_label(f, "arrangd_peer_ahead", "peer", p->name,
		                     vv_missing(p->known != NULL ? p->known : empty, v));
	}
}

/* Received change sets and their duplicates by how they came (enum sync_via). */
static void
via_counters(const struct sync *s, FILE *f)
{
	static const char *const name[SYNC_VIA_N] = {"push",        "page_hello", "page_periodic",
	                                             "page_behind", "page_gap",   "page_requested",
	                                             "page_stray"};

	metrics_family(f, "arrangd_changesets_received_via_total", "counter",
	               "Change sets received, by how they came: pushed, or in a page answering "
	               "a pull of ours by its cause.");
	for (size_t i = 0; i < SYNC_VIA_N; i++)
		metrics_sample_label(f, "arrangd_changesets_received_via_total", "via", name[i],
		                     s->count.received_via[i]);
	metrics_family(f, "arrangd_changesets_duplicate_via_total", "counter",
	               "Of them, those already held, by how they came.");
	for (size_t i = 0; i < SYNC_VIA_N; i++)
		metrics_sample_label(f, "arrangd_changesets_duplicate_via_total", "via", name[i],
		                     s->count.dup_via[i]);
}

/* Per peer, the schema version its handshake announced (0: none yet). */
static void
schema_gauges(const struct sync *s, FILE *f)
{
	metrics_gauge(f, "arrangd_schema_version", "The schema version this node runs.",
	              ARR_SCHEMA_VERSION);
	metrics_family(f, "arrangd_peer_schema_version", "gauge",
	               "The schema version the peer announced (0: not heard yet).");
	for (size_t i = 0; i < s->npeers; i++)
		metrics_sample_label(f, "arrangd_peer_schema_version", "peer", s->peers[i].name,
		                     s->peers[i].schema);
}

/*
 * Per neighbour (a peer we dial, or one that connected to us), whole seconds since it was
 * last heard from (since this daemon started if never). The other members are reached
 * through the overlay, not directly: their silence is no fault.
 */
static void
unreachable_gauges(const struct sync *s, FILE *f, uint64_t now)
{
	metrics_family(f, "arrangd_peer_unreachable_seconds", "gauge",
	               "Seconds since the peer was last heard from (since start if never).");
	for (size_t i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];
		uint64_t since = p->last_rx != 0 ? p->last_rx : s->started;

		if (!p->dial && p->ridlen == 0)
			continue;
		metrics_sample_label(f, "arrangd_peer_unreachable_seconds", "peer", p->name,
		                     now > since ? (now - since) / 1000 : 0);
	}
}

/* Peers the overlay dials now. */
static uint64_t
dialled(const struct sync *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->npeers; i++)
		n += s->peers[i].dial;
	return n;
}

int
sync_msg_metrics(struct sync *s, FILE *f)
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
	    {"arrangd_changesets_duplicate_unverified_total",
	     "Of the duplicates, those recognised by their logged bytes before a signature check.",
	     s->count.dup_unverified},
	    {"arrangd_peer_prunes_sent_total", "PRUNE messages sent to peers.", s->count.prunes},
	    {"arrangd_changesets_quarantined_total", "Change sets from peers quarantined.",
	     s->count.quarantined},
	    {"arrangd_peer_send_dropped_total",
	     "Messages to peers not sent because the peer's send queue was full.", s->send_dropped},
	    {"arrangd_peer_pulls_refused_total",
	     "PULLs not answered because the pages sent to that peer were still queued.",
	     s->pulls_refused},
	    {"arrangd_peer_takeovers_total",
	     "Peer connections closed because the member connected anew.", s->takeovers},
	    {"arrangd_peer_equiv_dropped_total",
	     "LOGREQs and EVIDENCEs from peers dropped over the per-peer budget.",
	     s->equiv_dropped},
	    {"arrangd_peer_sent_bytes_total", "Bytes of messages sent to peers.", s->sent_bytes},
	    {"arrangd_peer_heartbeat_bytes_total",
	     "Of them, bytes of HEARTBEAT and VDIGEST messages (vectors and their digests).",
	     s->hb_bytes},
	    {"arrangd_peer_down_total",
	     "Dialled peers judged unreachable and replaced by the next in the overlay's ranking.",
	     s->peers_down},
	};
	const struct vv *v = sync_ours(s);
	struct vv *empty = vv_new();
	struct sync_stats ss;
	int rc = ARR_ENOMEM;

	if (v == NULL || empty == NULL)
		goto out;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		metrics_counter(f, counters[i].name, counters[i].help, counters[i].n);
	via_counters(s, f);
	sync_stats(s, &ss);
	metrics_gauge(f, "arrangd_peers_connected",
	              "Other members heard from within three heartbeats.", ss.connected);
	metrics_gauge(f, "arrangd_peers_dialled", "Other members this node dials (the overlay).",
	              dialled(s));
	metrics_gauge(f, "arrangd_peer_send_queued_bytes",
	              "Bytes queued to peers that libzmq has not taken yet.", sync_sendq_total(s));
	lag_gauges(s, f, v, empty);
	unreachable_gauges(s, f, mono_ms());
	schema_gauges(s, f);
	metrics_histogram(f, "arrangd_apply_seconds",
	                  "Time to verify and apply one batch of change sets from a peer.",
	                  apply_le, s->count.apply_bucket, SYNC_APPLY_BUCKETS, s->count.apply_count,
	                  s->count.apply_sum);
	rc = ferror(f) ? ARR_ENOMEM : 0;
out:
	vv_destroy(&empty);
	return rc;
}
