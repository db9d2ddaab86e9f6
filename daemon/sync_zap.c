/*
 * sync_zap.c: the ZAP handler (ZeroMQ RFC 27) of the peer ROUTER. Owns the ZAP socket.
 * It admits a CURVE client only if its key belongs to a member other than this node (the
 * replicated member list, followed live by sync_members.c), and hands the member's origin (hex) to
 * ZeroMQ as the connection's User-Id, so every message on the ROUTER carries the authenticated
 * member. The origin rather than the name is used because it survives a rename of the member in a
 * reloaded members file. It reads that list and nothing else; it never touches peer state.
 *
 * A key that is no member's may be let into the join state instead (sync_join.c), named
 * "J" and its CURVE key in the User-Id.
 *
 * A refused node redials (with backoff), so a refusal is logged the first time a key is
 * refused and only counted after that; the last SYNC_ZAP_SEEN keys are remembered.
 */
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "arrerr.h"
#include "log.h"
#include "monoclock.h"
#include "sync_int.h"

#define SYNC_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define SYNC_ZAP_FRAMES   8     /* most frames of a request we read */
#define SYNC_ZAP_QUIET_MS 10000 /* at most one refusal line in this */

int
sync_zap_bind(struct sync *s)
{
	int linger = 0;

	if ((s->zap = zmq_socket(s->zctx, ZMQ_REP)) == NULL ||
	    zmq_setsockopt(s->zap, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_bind(s->zap, SYNC_ZAP_ENDPOINT) != 0) {
		log_warnx("sync: cannot bind the ZAP handler: %s", zmq_strerror(zmq_errno()));
		return ARR_EIO;
	}
	return 0;
}

const struct member *
sync_zap_admit(const struct sync *s, const uint8_t key[32], char uid[NODEKEY_HEX_LEN + 1])
{
	const struct member *mb = members_find_curve(s->members, key);

	if (mb == NULL || memcmp(mb->origin, nodekey_public(s->key), ARR_ORIGIN_LEN) == 0)
		return NULL;
	nodekey_hex(mb->origin, uid);
	return mb;
}

/* Read one request's frames into f (at most SYNC_ZAP_FRAMES); their number, 0: none. */
static size_t
read_request(struct sync *s, zmq_msg_t *f)
{
	size_t nf = 0, sz = sizeof(int);
	int more = 1;

	while (more && nf < SYNC_ZAP_FRAMES) {
		zmq_msg_init(&f[nf]);
		if (zmq_msg_recv(&f[nf], s->zap, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&f[nf]);
			break;
		}
		nf++;
		if (zmq_getsockopt(s->zap, ZMQ_RCVMORE, &more, &sz) != 0)
			more = 0;
	}
	if (nf > 0 && more)
		sync_recv_drain(s->zap);
	return nf;
}

/* version, request id, status code, status text, user id, metadata */
static void
reply(struct sync *s, zmq_msg_t *reqid, const char *status, const char *text, const char *uid)
{
	zmq_send(s->zap, "1.0", 3, ZMQ_SNDMORE);
	if (reqid != NULL)
		zmq_send(s->zap, zmq_msg_data(reqid), zmq_msg_size(reqid), ZMQ_SNDMORE);
	else
		zmq_send(s->zap, "", 0, ZMQ_SNDMORE);
	zmq_send(s->zap, status, 3, ZMQ_SNDMORE);
	zmq_send(s->zap, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(s->zap, uid, strlen(uid), ZMQ_SNDMORE);
	zmq_send(s->zap, "", 0, 0);
}

/*
 * Whether a refusal of key is to be logged: it was not among the recently refused
 * keys (it is from now on), and it is a known key (removed or rotated away) or no refusal
 * was logged in the last SYNC_ZAP_QUIET_MS (many new keys, from a flood, make one line).
 */
static bool
first_refusal(struct sync *s, const uint8_t key[32], bool known)
{
	uint64_t h, now = mono_ms();

	crypto_shorthash((unsigned char *)&h, key, 32, s->zap_seen_key);
	for (size_t i = 0; i < SYNC_ZAP_SEEN; i++)
		if (s->zap_seen[i] == h)
			return false;
	s->zap_seen[s->zap_seen_next++ % SYNC_ZAP_SEEN] = h;
	if (known)
		return true; /* a removed member: a few keys, each worth its line */
	if (s->zap_logged_at != 0 && now - s->zap_logged_at < SYNC_ZAP_QUIET_MS)
		return false;
	s->zap_logged_at = now;
	return true;
}

/* Always replies, so the handshake of a refused client fails instead of hanging. */
void
sync_zap_on_requests(struct sync *s)
{
	for (int n = 0; n < SYNC_BURST; n++) {
		zmq_msg_t f[SYNC_ZAP_FRAMES];
		size_t nf = read_request(s, f);
		const char *status = "400", *text = "not a member";
		char uid[NODEKEY_HEX_LEN + 2] = "";

		if (nf == 0)
			return;
		if (nf == 7 && zmq_msg_size(&f[5]) == 5 &&
		    memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 && zmq_msg_size(&f[6]) == 32) {
			const struct member *mb = sync_zap_admit(s, zmq_msg_data(&f[6]), uid);
			if (mb != NULL) {
				status = "200";
				text = "OK";
				if (logrl_allow(s->rl, mb->name, "zap", mono_ms()))
					log_debug("zap: admitted member %s", mb->name);
			} else if (strcmp(sync_members_why(s, zmq_msg_data(&f[6])),
			                  SYNC_WHY_NOT_MEMBER) == 0 &&
			           sync_join_admit(s, zmq_msg_data(&f[6]), zmq_msg_data(&f[3]),
			                           zmq_msg_size(&f[3]), uid, sizeof(uid))) {
				status = "200";
				text = "OK";
			} else {
				const char *why = sync_members_why(s, zmq_msg_data(&f[6]));

				s->refused++;
				s->zap_refused++;
				if (first_refusal(s, zmq_msg_data(&f[6]),
				                  strcmp(why, SYNC_WHY_NOT_MEMBER) != 0))
					log_warnx("zap: refused a connection: %s (logged once "
					          "per key)",
					          why);
			}
		}
		reply(s, nf >= 2 ? &f[1] : NULL, status, text, uid);
		for (size_t i = 0; i < nf; i++)
			zmq_msg_close(&f[i]);
	}
}
