/*
 * sync.h: the peer layer (PROTOCOL.md, "Peer messages"). The only module that touches
 * peer sockets: one CURVE ROUTER on the listen endpoint, its ZAP handler, and one CURVE
 * DEALER per member with an endpoint. It runs inside the daemon's single-threaded loop:
 * the loop polls the sockets sync_poll_fill() hands it, calls sync_on_poll() with the
 * results and sync_tick() when sync_timeout_ms() has passed. Nothing here blocks.
 *
 * The log and the version vectors are the truth; messages are only hints. A lost or
 * refused send is never an error: heartbeats and the next pull repair it.
 */
#ifndef SYNC_H
#define SYNC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>
#include <zmq.h>

#include "members.h"
#include "nodekey.h"
#include "store.h"

struct sync;

/* What the peer layer reads of the configuration ([node] listen, [sync]). */
struct sync_settings {
	const char *listen;        /* tcp://host:port the ROUTER binds (at open only) */
	uint32_t heartbeat_ms;     /* HEARTBEAT interval; links die after 3 silent ones */
	uint32_t pull_interval_ms; /* periodic pulls, and HELLO retries after a refusal */
	uint32_t page_bytes;       /* max_bytes of our PULLs and size of our PUSHes */
	uint32_t peers;            /* members we dial beside the pinned ones; 0: every member */
	const char *pinned;        /* member names always dialled, comma-separated, or NULL */
	bool joining;              /* joining by invitation: not a member yet (sync_set_join) */
};

/*
 * Bind the ROUTER and the ZAP handler, connect a DEALER to the members the overlay
 * chooses among those with an endpoint (set->peers, set->pinned). set is copied (its strings too);
 * zctx, members, key and st are borrowed and must outlive the sync (sync_reload() swaps members).
 * NULL on error with *err set (ARR_EEXIST, not logged, when the listen port is in use: the caller
 * says so; ARR_EIO when a socket cannot be bound, ARR_ECONFIG when this node is not in members and
 * not joining, ARR_ENOMEM).
 */
struct sync *sync_open(void *zctx, const struct sync_settings *set, const struct members *members,
                       const struct nodekey *key, struct store *st, int *err);
/* Close every socket (LINGER is short). Accepts NULL; NULLs *s. */
void sync_destroy(struct sync **s);
/*
 * This node joins by invitation: send the inviter (issuer, a peer of the members passed to
 * sync_open()) a JOIN for invitation id with proof and this node's endpoint instead of
 * HELLO; when it is accepted, remove done_path and handshake as a member.
 */
void sync_set_join(struct sync *s, const uint8_t issuer[32], const uint8_t id[16],
                   const uint8_t proof[64], const char *endpoint, const char *done_path);

/*
 * Take new settings (copied) and a new members file (borrowed from now on; the old one
 * may be freed after this returns): the ZAP handler admits the new members at once,
 * DEALERs whose member left or whose endpoint changed are closed and new ones connected,
 * timers follow the new intervals. Connections of members that left are ignored from
 * now on. A new listen endpoint takes effect after a restart. 0 or ARR_ENOMEM.
 */
int sync_reload(struct sync *s, const struct sync_settings *set, const struct members *members);

/* Number of poll items sync needs (for sizing the loop's array). */
size_t sync_poll_count(const struct sync *s);
/* Fill items[0 .. sync_poll_count()) with the sockets to poll for ZMQ_POLLIN. */
size_t sync_poll_fill(struct sync *s, zmq_pollitem_t *items, size_t max);
/* Handle whatever the poll reported on items filled by sync_poll_fill(). */
void sync_on_poll(struct sync *s, const zmq_pollitem_t *items, size_t n);

/* Milliseconds until sync_tick() has work (heartbeat, pull, handshake retry); >= 0. */
long sync_timeout_ms(const struct sync *s);
/* Run the timers that are due: heartbeats, periodic pulls, liveness, HELLO retries. */
void sync_tick(struct sync *s);

/* Local change sets were committed (api hook): push them to peers that lack them. */
void sync_committed(struct sync *s);
/* Start a pull from every connected peer; returns the number of pulls sent. */
int sync_now(struct sync *s);
/* The "peers" array of the local API (PROTOCOL.md). */
int sync_pack_peers(struct sync *s, msgpack_packer *pk);

struct sync_stats {
	size_t members;     /* other members */
	size_t connected;   /* of them, heard from within 3 heartbeats */
	uint64_t malformed; /* peer messages dropped as malformed since start */
	uint64_t refused;   /* messages refused for version, origin or membership */
};
void sync_stats(const struct sync *s, struct sync_stats *st);

/*
 * The peer layer's metrics in Prometheus text format (families with # HELP and # TYPE):
 * change sets sent, received, applied, duplicate and quarantined since start, peers
 * connected, lag per peer (behind/ahead, labelled with the member name) and the latency
 * of store_apply() per received batch as a histogram; file descriptors open, their
 * limit and the pauses of the peer port (sync_fds.c). 0, or ARR_ENOMEM.
 */
int sync_metrics(struct sync *s, FILE *out);

#endif
