/*
 * conn.c: the connection to arrangd's local API: a Unix stream socket, the preamble,
 * then one length-prefixed request and its reply at a time (PROTOCOL.md, "Local API").
 * Owns the socket. Every wait is bounded by the timeout (poll), every reply length is
 * checked against the frame limit before anything is allocated, and the reply shape is
 * checked before anyone reads it. It prints nothing: failures leave a reason in words.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "apiframe.h"
#include "arrerr.h"
#include "conn.h"
#include "monoclock.h"
#include "obj.h"

struct conn {
	int fd;
	int timeout_ms;
	bool broken;   /* a call failed halfway: the stream is out of step */
	bool preamble; /* sent */
	char why[CONN_WHY_MAX];
};

void
reply_init(struct reply *rp)
{
	memset(rp, 0, sizeof(*rp));
}

void
reply_free(struct reply *rp)
{
	if (rp->unpacked)
		msgpack_unpacked_destroy(&rp->up);
	free(rp->buf);
	for (size_t i = 0; i < rp->npages; i++)
		reply_free(&rp->pages[i]);
	free(rp->pages);
	free(rp->rows);
	reply_init(rp);
}

void
conn_destroy(struct conn **cp)
{
	struct conn *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	*cp = NULL;
}

const char *
conn_why(const struct conn *c)
{
	return c->why;
}

/* The reason connect() failed, and the code for it. */
static int
connect_failed(int e, const char *path, int timeout_ms, char *why, size_t len)
{
	switch (e) {
	case ENOENT:
		snprintf(why, len, "no such socket (is arrangd running?)");
		return ARR_EUNAVAIL;
	case ECONNREFUSED:
		snprintf(why, len, "connection refused (no daemon is listening)");
		return ARR_EUNAVAIL;
	case EACCES:
	case EPERM:
		snprintf(why, len, "permission denied on %s: add yourself to group arrangd", path);
		return ARR_EACCES;
	case EAGAIN:
	case ETIMEDOUT:
		snprintf(why, len, "no answer within %d ms", timeout_ms);
		return ARR_EUNAVAIL;
	default:
		snprintf(why, len, "%s", strerror(e));
		return ARR_EUNAVAIL;
	}
}

struct conn *
conn_open(const char *path, int timeout_ms, int *err, char *why, size_t whylen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	struct conn *c = NULL;
	int fd = -1;

	*err = ARR_EUNAVAIL;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(why, whylen, "the socket path is too long");
		goto bad;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	*err = ARR_ENOMEM;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto bad;
	}
	c->timeout_ms = timeout_ms;
	*err = ARR_EUNAVAIL;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		goto bad;
	}
	/* connect() waits for room in the daemon's backlog at most this long. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		*err = connect_failed(errno, path, timeout_ms, why, whylen);
		goto bad;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		snprintf(why, whylen, "fcntl: %s", strerror(errno));
		goto bad;
	}
	c->fd = fd;
	*err = 0;
	return c;
bad:
	if (fd >= 0)
		close(fd);
	free(c);
	return NULL;
}

/* Wait until fd is ready for ev or the deadline passes. 0, or ARR_EUNAVAIL on timeout. */
static int
wait_for(struct conn *c, short ev, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = c->fd, .events = ev};
		uint64_t now = mono_ms();
		int r;

		if (now >= deadline) {
			snprintf(c->why, sizeof(c->why), "no reply within %d ms", c->timeout_ms);
			return ARR_EUNAVAIL;
		}
		r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			snprintf(c->why, sizeof(c->why), "poll: %s", strerror(errno));
			return ARR_EUNAVAIL;
		}
	}
}

/*
 * Move len bytes between p and the socket before the deadline: send them (out) or
 * receive exactly that many.
 */
static int
transfer(struct conn *c, bool out, void *p, size_t len, uint64_t deadline)
{
	char *b = p;
	int rc;

	while (len > 0) {
		ssize_t n = out ? send(c->fd, b, len, MSG_NOSIGNAL) : recv(c->fd, b, len, 0);

		if (n > 0) {
			b += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((rc = wait_for(c, out ? POLLOUT : POLLIN, deadline)) != 0)
				return rc;
		} else if (n == 0 || errno != EINTR) {
			snprintf(c->why, sizeof(c->why), "the daemon closed the connection%s%s",
			         n == 0 ? "" : ": ", n == 0 ? "" : strerror(errno));
			return ARR_EUNAVAIL;
		}
	}
	return 0;
}

/* Send len bytes of p before the deadline. */
static int
send_all(struct conn *c, const void *p, size_t len, uint64_t deadline)
{
	return transfer(c, true, (void *)(uintptr_t)p, len, deadline);
}

/* Receive one reply frame into rp->buf. */
static int
recv_frame(struct conn *c, struct reply *rp, uint64_t deadline)
{
	uint8_t hdr[APIFRAME_HDR];
	int rc;

	if ((rc = transfer(c, false, hdr, sizeof(hdr), deadline)) != 0)
		return rc;
	rp->len = apiframe_get(hdr);
	if (rp->len > APIFRAME_MAX) {
		snprintf(c->why, sizeof(c->why), "reply frame over the limit");
		return ARR_EMALFORMED;
	}
	if ((rp->buf = malloc(rp->len > 0 ? rp->len : 1)) == NULL)
		return ARR_ENOMEM;
	return transfer(c, false, rp->buf, rp->len, deadline);
}

/* Check ["ok", result] / ["error", code, message] and fill rp. */
static int
decode_reply(struct reply *rp)
{
	const msgpack_object *a;
	size_t off = 0;

	msgpack_unpacked_init(&rp->up);
	rp->unpacked = true;
	if (msgpack_unpack_next(&rp->up, rp->buf, rp->len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != rp->len)
		return ARR_EMALFORMED;
	a = &rp->up.data;
	if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size < 2)
		return ARR_EMALFORMED;
	if (obj_is_str(&a->via.array.ptr[0], "ok") && a->via.array.size == 2) {
		rp->result = &a->via.array.ptr[1];
		return 0;
	}
	if (obj_is_str(&a->via.array.ptr[0], "error") && a->via.array.size == 3) {
		const msgpack_object *code = &a->via.array.ptr[1];
		const msgpack_object *msg = &a->via.array.ptr[2];
		size_t n;

		if (code->type != MSGPACK_OBJECT_NEGATIVE_INTEGER || code->via.i64 < -1000 ||
		    msg->type != MSGPACK_OBJECT_STR)
			return ARR_EMALFORMED;
		n = msg->via.str.size < sizeof(rp->message) - 1 ? msg->via.str.size
		                                                : sizeof(rp->message) - 1;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)msg->via.str.ptr[i];

			rp->message[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		}
		rp->message[n] = '\0';
		rp->code = (int)code->via.i64;
		return rp->code;
	}
	return ARR_EMALFORMED;
}

int
conn_call(struct conn *c, const struct req *rq, struct reply *rp)
{
	uint64_t deadline = mono_ms() + (uint64_t)c->timeout_ms;
	uint8_t hdr[APIFRAME_HDR];
	int rc, src = 0;

	reply_free(rp);
	if (rq->failed)
		return ARR_ENOMEM;
	if (c->broken)
		return ARR_EUNAVAIL;
	c->why[0] = '\0';
	apiframe_put(hdr, rq->sb.size);
	if (!c->preamble)
		src = send_all(c, APIFRAME_PREAMBLE, APIFRAME_HDR, deadline);
	c->preamble = true;
	if (src == 0 && (src = send_all(c, hdr, sizeof(hdr), deadline)) == 0)
		src = send_all(c, rq->sb.data, rq->sb.size, deadline);
	/* A daemon that refused the request may have answered before closing: read it. */
	rc = recv_frame(c, rp, deadline);
	if (rc == 0 && src != 0 && decode_reply(rp) == 0)
		rc = src;
	c->broken = rc != 0 || src != 0;
	if (rc != 0)
		return rc;
	return decode_reply(rp);
}
