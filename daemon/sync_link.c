/*
 * sync_link.c: the peer layer's links. Owns the DEALER sockets (one per member with an
 * endpoint: open, reconnect, close), the options and CURVE keys of every peer socket,
 * the sending of encoded messages on a link, the HELLO that starts a handshake on our
 * DEALER, and liveness: which links are up, when they went silent, and the heartbeat
 * round that notices it. It decides nothing about what to pull or push (sync_send.c)
 * and reads no socket (sync_recv.c).
 *
 * A DEALER's peer is authenticated by the CURVE server key we configured for it; the
 * ROUTER's peers by the ZAP handler (sync_zap.c). libzmq redials a DEALER after a
 * transport failure (SYNC_RECONNECT_MS doubling up to SYNC_RECONNECT_MAX_MS); a refused
 * handshake is redialled by sync_dial.c, which closes and reopens it through here.
 * A member that connects to the ROUTER anew takes over once its HELLO is accepted: its
 * old connection is closed. A refused HELLO never gets this far (sync_recv.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>
#include <zmq.h>

#include "arrerr.h"
#include "log.h"
#include "monoclock.h"
#include "sync_int.h"

#define SYNC_ZAP_DOMAIN       "arrangd"
#define SYNC_LINGER_MS        100
#define SYNC_RECONNECT_MS     100
#define SYNC_RECONNECT_MAX_MS 5000

/*
 * Each side sends HEARTBEAT at its own heartbeat_ms, so a link is judged by the slower
 * of the two: a node with 200 ms must not declare silent a peer that speaks every 2 s,
 * and a peer that announced a fast interval is still given our own. A peer that
 * announced none (an older node) is judged by ours alone.
 */
uint64_t
sync_link_silence_ms(const struct sync *s, const struct link *l)
{
	uint64_t hb = s->set.heartbeat_ms;

	if (l->peer_hb_ms > hb)
		hb = l->peer_hb_ms;
	return 3 * hb;
}

bool
sync_link_alive(const struct sync *s, const struct link *l, uint64_t now)
{
	return l->up && now - l->last_rx <= sync_link_silence_ms(s, l);
}

bool
sync_link_connected(const struct sync *s, const struct peer *p, uint64_t now)
{
	return sync_link_alive(s, &p->out, now) ||
	       (sync_link_alive(s, &p->in, now) && p->ridlen > 0);
}

enum link_id
sync_link_pick(const struct sync *s, const struct peer *p, uint64_t now)
{
	if (p->dealer != NULL && sync_link_alive(s, &p->out, now))
		return LINK_OUT;
	if (p->ridlen > 0 && sync_link_alive(s, &p->in, now))
		return LINK_IN;
	return LINK_NONE;
}

/*
 * Encode and send m to p on link l, accounted to p's send queue (sync_sendq.c). A
 * failed send is not an error for the caller (the next pull repairs it); an unroutable
 * ROUTER peer marks the in-link down.
 */
int
sync_link_send(struct sync *s, struct peer *p, enum link_id l, const struct peermsg *m)
{
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	if (l == LINK_NONE)
		return -1;
	if ((rc = peermsg_encode(m, &buf, &len)) != 0) {
		log_warnx("peer %s: cannot encode %s: %s", p->name, peermsg_type_name((int)m->type),
		          arrerr_name(rc));
		return rc;
	}
	rc = sync_sendq_send(s, p, l, buf, len, m->type == PEERMSG_PAGE);
	if (rc == 0) {
		s->sent_bytes += len;
		if (m->type == PEERMSG_HEARTBEAT || m->type == PEERMSG_VDIGEST)
			s->hb_bytes += len;
	} else {
		if (l == LINK_IN && errno == EHOSTUNREACH)
			p->in.up = false;
		if (sync_log_ok(s, p, "send"))
			log_debug("peer %s: %s not sent: %s", p->name,
			          peermsg_type_name((int)m->type), zmq_strerror(errno));
	}
	return rc;
}

void
sync_link_send_rid(struct sync *s, const uint8_t *rid, size_t ridlen, int type, int code,
                   const char *text)
{
	struct peermsg m = {.type = (enum peermsg_type)type, .code = code};
	uint8_t *buf;
	size_t len;

	snprintf(m.text, sizeof(m.text), "%s", text);
	if (peermsg_encode(&m, &buf, &len) != 0)
		return;
	/* unaccounted: small, and bounded by ZMQ_SNDHWM messages per connection */
	if (zmq_send(s->router, rid, ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
		(void)zmq_send(s->router, buf, len, ZMQ_DONTWAIT);
	free(buf);
}

void
sync_link_send_error_rid(struct sync *s, const uint8_t *rid, size_t ridlen, int code,
                         const char *text)
{
	sync_link_send_rid(s, rid, ridlen, PEERMSG_ERROR, code, text);
}

void
sync_link_send_error(struct sync *s, struct peer *p, enum link_id l, int code, const char *text)
{
	struct peermsg m = {.type = PEERMSG_ERROR, .code = code};

	snprintf(m.text, sizeof(m.text), "%s", text);
	(void)sync_link_send(s, p, l, &m);
}

/*
 * HELLO on our DEALER. Until its connection (and CURVE handshake) completes the DEALER
 * takes nothing (ZMQ_IMMEDIATE); the HELLO is then due, and the loop polls the DEALER
 * for writability and sends it the moment it can, rather than at the next heartbeat.
 */
void
sync_link_send_hello(struct sync *s, struct peer *p)
{
	struct peermsg m;
	const struct vv *v = sync_ours(s);

	if (v == NULL || p->dealer == NULL || sync_join_send(s, p))
		return;
	sync_msg_fill_hello(s->key, &m, PEERMSG_HELLO, v, s->set.heartbeat_ms);
	p->hello_due = sync_link_send(s, p, LINK_OUT, &m) != 0;
}

/*
 * Options common to every peer socket. The handshake interval bounds how long a
 * connection that has not authenticated holds a descriptor (libzmq's default is 30 s).
 * The send high-water mark counts messages; the bytes are bounded by sync_sendq.c.
 */
static int
sock_common(const struct sync *s, void *sock)
{
	int linger = SYNC_LINGER_MS, ivl = (int)s->set.heartbeat_ms, tmo = 3 * ivl;
	int handshake = SYNC_HANDSHAKE_MS, hwm = SYNC_SNDHWM;
	int64_t maxmsg = ARR_MSG_MAX_BYTES;

	if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_HANDSHAKE_IVL, &handshake, sizeof(handshake)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof(tmo)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &tmo, sizeof(tmo)) != 0)
		return -1;
	return 0;
}

/* Our CURVE key pair on sock; server: as the ROUTER, else as a client of server_origin. */
static int
sock_curve(const struct sync *s, void *sock, const uint8_t *server_origin)
{
	char secret[NODEKEY_Z85_LEN + 1], pub[NODEKEY_Z85_LEN + 1], srv[NODEKEY_Z85_LEN + 1];
	int one = 1, rc = -1;

	if (nodekey_curve_secret_z85(s->key, secret) != 0 ||
	    nodekey_curve_public_z85(nodekey_public(s->key), pub) != 0)
		goto out;
	if (server_origin == NULL) {
		if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
		    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, NODEKEY_Z85_LEN) != 0 ||
		    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, SYNC_ZAP_DOMAIN,
		                   strlen(SYNC_ZAP_DOMAIN)) != 0)
			goto out;
	} else {
		if (nodekey_curve_public_z85(server_origin, srv) != 0 ||
		    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, srv, NODEKEY_Z85_LEN) != 0 ||
		    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, NODEKEY_Z85_LEN) != 0 ||
		    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, NODEKEY_Z85_LEN) != 0)
			goto out;
	}
	rc = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	return rc;
}

int
sync_link_router_opts(const struct sync *s, void *sock)
{
	return sock_common(s, sock) != 0 || sock_curve(s, sock, NULL) != 0 ? -1 : 0;
}

/*
 * Open p's DEALER to its endpoint (no-op without one), watched by sync_dial.c from
 * before it connects so no refusal goes unseen.
 */
int
sync_link_dealer_open(struct sync *s, struct peer *p)
{
	int ivl = SYNC_RECONNECT_MS, ivl_max = SYNC_RECONNECT_MAX_MS, one = 1;
	void *d;

	if (p->endpoint == NULL)
		return 0;
	if ((d = zmq_socket(s->zctx, ZMQ_DEALER)) == NULL)
		goto fail;
	if (sock_common(s, d) != 0 || sock_curve(s, d, p->origin) != 0 ||
	    zmq_setsockopt(d, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl)) != 0 ||
	    zmq_setsockopt(d, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max)) != 0 ||
	    zmq_setsockopt(d, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0) {
		zmq_close(d);
		goto fail;
	}
	p->dealer = d;
	memset(&p->out, 0, sizeof(p->out));
	p->hello_due = false;
	if (sync_dial_watch(s, p) != 0 || zmq_connect(d, p->endpoint) != 0) {
		sync_link_dealer_close(p);
		goto fail;
	}
	if (p->dial_refusal_logged)
		log_debug("peer %s: redialling %s", p->name, p->endpoint);
	else
		log_info("peer %s: connecting to %s", p->name, p->endpoint);
	return 0;
fail:
	log_warnx("peer %s: cannot connect to %s: %s", p->name, p->endpoint,
	          zmq_strerror(zmq_errno()));
	return ARR_EIO;
}

void
sync_link_dealer_close(struct peer *p)
{
	if (p->dealer != NULL) {
		zmq_close(p->dealer);
		p->dealer = NULL;
	}
	sync_dial_unwatch(p);
	memset(&p->out, 0, sizeof(p->out));
	p->hello_due = false;
}

void
sync_link_dealers_open(struct sync *s)
{
	sync_dial_choose(s, mono_ms());
}

void
sync_link_expire(const struct sync *s, struct peer *p, uint64_t now)
{
	if (p->out.up && !sync_link_alive(s, &p->out, now)) {
		p->out.up = false;
		log_info("peer %s: outgoing link down (silent for %llu ms)", p->name,
		         (unsigned long long)(now - p->out.last_rx));
	}
	if (p->in.up && !sync_link_alive(s, &p->in, now)) {
		p->in.up = false;
		log_info("peer %s: incoming link down (silent for %llu ms)", p->name,
		         (unsigned long long)(now - p->in.last_rx));
	}
}

/* Log when p connects or disconnects (as sync_link_connected() sees it). */
static void
note_connected(const struct sync *s, struct peer *p, uint64_t now)
{
	bool conn = sync_link_connected(s, p, now);

	if (conn != p->was_connected) {
		if (conn)
			log_notice("peer %s: connected", p->name);
		else
			log_notice("peer %s: disconnected", p->name);
		p->was_connected = conn;
	}
}

/*
 * Heartbeat round: liveness, HELLO retries, and on every live link our vector: as a
 * VDIGEST to a peer that announced "vdigest" (41 bytes whatever the region's size; the
 * vector itself follows only when the peer's digest differs, sync_send_on_vdigest), as
 * a HEARTBEAT to an older one.
 */
void
sync_link_heartbeat(struct sync *s, uint64_t now)
{
	const struct vv *v = sync_ours(s);
	struct peermsg hb = {.type = PEERMSG_HEARTBEAT, .vector = (struct vv *)v};
	struct peermsg vd = {.type = PEERMSG_VDIGEST};
	const uint8_t *d = sync_ours_digest(s, &vd.total);

	if (d != NULL)
		memcpy(vd.digest, d, sizeof(vd.digest));
	for (size_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];
		const struct peermsg *m = p->vdigest_ok && d != NULL ? &vd : &hb;

		sync_link_expire(s, p, now);
		if (p->dealer != NULL && !p->out.up &&
		    (!p->out.refused || now - p->refused_at >= s->set.pull_interval_ms))
			sync_link_send_hello(s, p);
		if (v != NULL) {
			if (p->out.up)
				(void)sync_link_send(s, p, LINK_OUT, m);
			if (p->in.up && p->ridlen > 0)
				(void)sync_link_send(s, p, LINK_IN, m);
		}
		note_connected(s, p, now);
	}
}

/* The remote address of connection fd as text (empty when it is not a connected socket). */
static void
fd_addr(int fd, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;

	out[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	} else {
		return;
	}
	snprintf(out, n, "%s:%u", host, port);
}

/*
 * libzmq cannot close one connection of a ROUTER, so the old connection's socket is
 * shut down under it (libzmq then closes it and frees its pipe, queued messages and
 * all). The descriptor is libzmq's and may have been closed and reused since the old
 * HELLO: it is shut down only while it still leads to the same remote address and port,
 * which no other connection can have while this one exists.
 */
bool
sync_link_close_in(struct peer *p)
{
	char addr[64];

	if (p->ridlen == 0 || !p->rid_fd_set)
		return false;
	fd_addr(p->rid_fd, addr, sizeof(addr));
	if (addr[0] == '\0' || strcmp(addr, p->rid_addr) != 0 ||
	    shutdown(p->rid_fd, SHUT_RDWR) != 0)
		return false;
	p->rid_fd_set = false;
	p->in.up = false;
	return true;
}

void
sync_link_takeover(struct sync *s, struct peer *p, const uint8_t *rid, size_t ridlen, int fd)
{
	if (p->ridlen > 0 && p->rid_fd_set && p->rid_fd != fd && sync_link_close_in(p)) {
		s->takeovers++;
		if (sync_log_ok(s, p, "takeover"))
			log_info("peer %s: connected anew; its old connection closed", p->name);
	}
	memcpy(p->rid, rid, ridlen);
	p->ridlen = ridlen;
	p->in.up = false;
	p->rid_fd = fd;
	p->rid_fd_set = fd >= 0;
	if (p->rid_fd_set)
		fd_addr(fd, p->rid_addr, sizeof(p->rid_addr));
}
