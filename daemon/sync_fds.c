/*
 * sync_fds.c: the peer port under the file-descriptor budget. Every TCP connection to
 * the ROUTER costs a descriptor from the moment libzmq accepts it, long before CURVE
 * and ZAP know who it is. libzmq has no connection cap and no accept back-off: once
 * the limit is reached, accept() fails with EMFILE while the listening socket stays
 * readable, and its I/O thread spins; the next descriptor the daemon needs (an API
 * connection, a DEALER) fails, and some of libzmq's paths assert on that and abort.
 *
 * So the peer layer watches the budget every SYNC_FDS_CHECK_MS and whenever the
 * ROUTER's monitor reports an accepted connection (a flood fills a budget faster than
 * any timer; the accept events wake the loop at once): above the high-water
 * mark (the limit less a reserve of an eighth, at least SYNC_FDS_RESERVE) it stops
 * listening (zmq_unbind: the listener and the connections it accepted that are still
 * in their handshake go), logs it once, and listens again once the count is below the
 * low-water mark (a second reserve lower) and the pause (1 s, doubling to 30 s while
 * floods come back within a minute) is over. Established links survive on our own
 * DEALERs; the peers' DEALERs reconnect by themselves. Owns the listening state of
 * the ROUTER, not the socket (sync.c) nor anything read from it, and writes the
 * budget's metrics.
 */
#include <string.h>

#include <zmq.h>

#include "arrerr.h"
#include "fdlimit.h"
#include "log.h"
#include "metrics.h"
#include "sync_int.h"

#define SYNC_FDS_RESERVE   64
#define SYNC_FDS_PAUSE_MS  1000
#define SYNC_FDS_PAUSE_MAX 30000
#define SYNC_FDS_CALM_MS   60000 /* a pause this long after the last one starts short again */

void
sync_fds_marks(uint64_t limit, uint64_t *high, uint64_t *low)
{
	uint64_t reserve = limit / 8 > SYNC_FDS_RESERVE ? limit / 8 : SYNC_FDS_RESERVE;

	*high = limit > reserve ? limit - reserve : 0;
	*low = *high > reserve ? *high - reserve : 0;
}

/* Stop listening: the budget is nearly spent. */
static void
pause_listener(struct sync *s, uint64_t open, uint64_t limit, uint64_t low, uint64_t now)
{
	if (zmq_unbind(s->router, s->listen_ep) != 0) {
		log_warnx("sync: cannot stop listening on %s: %s", s->listen_ep,
		          zmq_strerror(zmq_errno()));
		return;
	}
	s->fds.paused = true;
	s->fds.pauses++;
	if (s->fds.resumed_at == 0 || now - s->fds.resumed_at > SYNC_FDS_CALM_MS)
		s->fds.pause_ms = SYNC_FDS_PAUSE_MS;
	else if (s->fds.pause_ms < SYNC_FDS_PAUSE_MAX)
		s->fds.pause_ms = 2 * s->fds.pause_ms < SYNC_FDS_PAUSE_MAX ? 2 * s->fds.pause_ms
		                                                           : SYNC_FDS_PAUSE_MAX;
	s->fds.until = now + s->fds.pause_ms;
	if (!s->fds.logged) {
		log_error("sync: %llu of %llu file descriptors open: not accepting peer "
		          "connections until fewer than %llu are (a connection flood?)",
		          (unsigned long long)open, (unsigned long long)limit,
		          (unsigned long long)low);
		s->fds.logged = true;
	}
}

/* Listen again: the budget has room. */
static void
resume_listener(struct sync *s, uint64_t open, uint64_t now)
{
	if (zmq_bind(s->router, s->listen_ep) != 0) {
		log_debug("sync: cannot listen on %s again yet: %s", s->listen_ep,
		          zmq_strerror(zmq_errno()));
		return;
	}
	s->fds.paused = false;
	s->fds.resumed_at = now;
	log_debug("sync: listening again, %llu file descriptors open", (unsigned long long)open);
}

#define SYNC_FDS_MON "inproc://arrangd-peer-port"

int
sync_fds_watch(struct sync *s)
{
	int linger = 0;

	if (zmq_socket_monitor(s->router, SYNC_FDS_MON,
	                       ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_ACCEPT_FAILED) != 0 ||
	    (s->fds.mon = zmq_socket(s->zctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(s->fds.mon, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_connect(s->fds.mon, SYNC_FDS_MON) != 0) {
		log_warnx("sync: cannot watch the peer port: %s", zmq_strerror(zmq_errno()));
		return ARR_EIO;
	}
	return 0;
}

void
sync_fds_on_events(struct sync *s, uint64_t now)
{
	bool any = false;

	for (;;) {
		zmq_msg_t f;

		zmq_msg_init(&f);
		if (zmq_msg_recv(&f, s->fds.mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&f);
			break;
		}
		zmq_msg_close(&f);
		sync_recv_drain(s->fds.mon);
		any = true;
	}
	if (any)
		sync_fds_check(s, now);
}

void
sync_fds_check(struct sync *s, uint64_t now)
{
	uint64_t open = fdlimit_open(), limit = fdlimit_limit(), high, low;

	s->fds.next_check = now + SYNC_FDS_CHECK_MS;
	if (open == 0 || limit == 0 || limit == UINT64_MAX)
		return;
	sync_fds_marks(limit, &high, &low);
	if (!s->fds.paused && open >= high) {
		pause_listener(s, open, limit, low, now);
	} else if (s->fds.paused && open < low && now >= s->fds.until) {
		resume_listener(s, open, now);
	} else if (!s->fds.paused && s->fds.logged && open < low &&
	           now - s->fds.resumed_at > SYNC_FDS_CALM_MS) {
		log_notice("sync: file descriptors back to %llu of %llu, peer port open",
		           (unsigned long long)open, (unsigned long long)limit);
		s->fds.logged = false;
	} else if (!s->fds.paused && !s->fds.warned && open >= low) {
		log_warnx("sync: %llu of %llu file descriptors open; the peer port closes at %llu",
		          (unsigned long long)open, (unsigned long long)limit,
		          (unsigned long long)high);
		s->fds.warned = true;
	} else if (s->fds.warned && open < low - low / 4) {
		s->fds.warned = false;
	}
}

int
sync_fds_metrics(const struct sync *s, FILE *f)
{
	metrics_gauge(f, "arrangd_open_fds", "File descriptors open in the daemon.",
	              fdlimit_open());
	metrics_gauge(f, "arrangd_fd_limit", "The daemon's file descriptor limit (soft).",
	              fdlimit_limit());
	metrics_counter(f, "arrangd_peer_listener_paused_total",
	                "Times the peer port stopped accepting connections because file "
	                "descriptors were nearly spent.",
	                s->fds.pauses);
	return ferror(f) ? ARR_ENOMEM : 0;
}
