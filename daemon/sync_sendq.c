/*
 * sync_sendq.c: what the peer layer has queued to each member, in bytes. libzmq's
 * high-water mark counts messages, not bytes, and a PAGE is up to ARR_MSG_MAX_BYTES / 2:
 * a member that sends PULLs and never reads would otherwise pin gigabytes in our send
 * pipes. So every message to a member goes out as zero-copy data whose free function
 * (called by libzmq, from its I/O thread, when it has taken the message off the pipe
 * or dropped it with its connection) gives its bytes back to that member's account.
 * The account is per member, not per connection: a member cannot multiply it by
 * opening connections. A message that would take the account past SYNC_SENDQ_BYTES is
 * not sent (counted); a PULL is answered only while fewer than SYNC_PAGES_MAX of the
 * member's pages are queued (sync_send.c asks). Owns the accounts and the sending of
 * encoded bytes on a socket; decides nothing about what to send.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <zmq.h>

#include "arrerr.h"
#include "sync_int.h"

/* Shared with libzmq's I/O thread: every field is atomic. */
struct sync_sendq {
	atomic_size_t bytes; /* in messages libzmq has not released yet */
	atomic_uint pages;   /* of those, PAGE messages */
	atomic_uint refs;    /* the peer's, plus one per message libzmq holds */
};

/* One message in libzmq's hands: the hint of its free function. */
struct qmsg {
	struct sync_sendq *q;
	size_t len;
	bool page;
};

static void
sendq_unref(struct sync_sendq *q)
{
	if (q != NULL && atomic_fetch_sub(&q->refs, 1) == 1)
		free(q);
}

/* libzmq is done with data: give its bytes back. Runs on libzmq's I/O thread. */
static void
release(void *data, void *hint)
{
	struct qmsg *qm = hint;

	atomic_fetch_sub(&qm->q->bytes, qm->len);
	if (qm->page)
		atomic_fetch_sub(&qm->q->pages, 1);
	sendq_unref(qm->q);
	free(qm);
	free(data);
}

/* p's account, made at the first send (NULL: out of memory). */
static struct sync_sendq *
account(struct peer *p)
{
	if (p->sq == NULL && (p->sq = calloc(1, sizeof(*p->sq))) != NULL)
		atomic_init(&p->sq->refs, 1);
	return p->sq;
}

void
sync_sendq_free(struct peer *p)
{
	sendq_unref(p->sq);
	p->sq = NULL;
}

size_t
sync_sendq_bytes(const struct peer *p)
{
	return p->sq != NULL ? atomic_load(&p->sq->bytes) : 0;
}

unsigned
sync_sendq_pages(const struct peer *p)
{
	return p->sq != NULL ? atomic_load(&p->sq->pages) : 0;
}

/* Send buf (taken: freed by libzmq, or here on failure) on sock, accounted to q. */
static int
send_taken(void *sock, struct sync_sendq *q, uint8_t *buf, size_t len, bool page)
{
	struct qmsg *qm = malloc(sizeof(*qm));
	zmq_msg_t msg;

	if (qm == NULL) {
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	*qm = (struct qmsg){.q = q, .len = len, .page = page};
	atomic_fetch_add(&q->refs, 1);
	atomic_fetch_add(&q->bytes, len);
	if (page)
		atomic_fetch_add(&q->pages, 1);
	if (zmq_msg_init_data(&msg, buf, len, release, qm) != 0) {
		int e = errno;
		release(buf, qm);
		errno = e;
		return -1;
	}
	if (zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) < 0) {
		int e = errno;
		zmq_msg_close(&msg); /* calls release() */
		errno = e;
		return -1;
	}
	return 0;
}

int
sync_sendq_send(struct sync *s, struct peer *p, enum link_id l, uint8_t *buf, size_t len, bool page)
{
	struct sync_sendq *q = account(p);
	void *sock = l == LINK_OUT ? p->dealer : s->router;

	if (q == NULL || sock == NULL) {
		free(buf);
		errno = q == NULL ? ENOMEM : ENOTCONN;
		return -1;
	}
	if (atomic_load(&q->bytes) + len > SYNC_SENDQ_BYTES) {
		free(buf);
		s->send_dropped++;
		errno = ENOBUFS;
		return -1;
	}
	if (l == LINK_IN &&
	    zmq_send(s->router, p->rid, p->ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		free(buf);
		if (errno == EAGAIN)
			s->send_dropped++;
		return -1;
	}
	if (send_taken(sock, q, buf, len, page) != 0) {
		if (errno == EAGAIN)
			s->send_dropped++;
		return -1;
	}
	return 0;
}

size_t
sync_sendq_total(const struct sync *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->npeers; i++)
		n += sync_sendq_bytes(&s->peers[i]);
	return n;
}
