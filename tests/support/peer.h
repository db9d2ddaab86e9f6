/*
 * peer.h: a test playing a member of the region on the peer link: it loads that member's
 * node key from its data directory and talks to a daemon over a CURVE DEALER as that
 * member (PROTOCOL.md, "Peer protocol"): send messages or raw bytes, wait for a reply of
 * a type. Test code only: it is how adversaries are played, so it checks nothing it sends.
 */
#ifndef PEER_H
#define PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "changeset.h"
#include "nodekey.h"
#include "peermsg.h"
#include "region.h"

struct peer;

/* Node i's key (data/node.key of its directory); owned by the caller. */
struct nodekey *peer_load_key(struct region *r, size_t i);
/* A CURVE DEALER to node `to`, authenticated with key as (borrowed). */
struct peer *peer_open(struct region *r, size_t to, const struct nodekey *as);
/* The same from source address src (another loopback address such as 127.0.0.2). */
struct peer *peer_open_from(struct region *r, size_t to, const struct nodekey *as, const char *src);
/*
 * The same, but the socket reads ahead at most one message of what peer_expect() has not
 * taken (ZMQ_RCVHWM 1, a small kernel buffer): a member that does not read its link.
 */
struct peer *peer_open_stalled(struct region *r, size_t to, const struct nodekey *as);
void peer_close(struct peer **p);
/*
 * Whether the daemon closed p's connection within timeout_ms. libzmq notices a closed
 * connection only while it reads, so what arrives meanwhile is read and dropped.
 */
bool peer_wait_closed(struct peer *p, int timeout_ms);

void peer_send(struct peer *p, const struct peermsg *m);
void peer_send_raw(struct peer *p, const void *buf, size_t len);
/* PUSH one change set (raw envelope bytes). */
void peer_push(struct peer *p, const uint8_t *cs, size_t len);
/*
 * Wait for a message of type want (PEERMSG_ERROR: an ERROR); others are skipped. An
 * ERROR's or a JOINED's code goes to *code (may be NULL). True when it came within timeout_ms.
 */
bool peer_expect(struct peer *p, enum peermsg_type want, int *code, int timeout_ms);
/*
 * HELLO as as (the key p was opened with), with an empty vector, until a WELCOME comes
 * (20 tries of a second); the test fails without one.
 */
void peer_hello(struct peer *p, const struct nodekey *as);
/* The same, the HELLO listing capabilities caps[0 .. ncaps) ("lazy", "heartbeat=N", ...). */
void peer_hello_caps(struct peer *p, const struct nodekey *as, const char *const *caps,
                     size_t ncaps);
/*
 * A change set signed by key in the name of org: seq, stamped hlc, one op setting an
 * organisation's name on a new random row to value_len bytes of 'x'. Owned by the caller.
 */
struct changeset *peer_changeset(const struct nodekey *key, const char *org, uint64_t seq,
                                 uint64_t hlc, size_t value_len);

#endif
