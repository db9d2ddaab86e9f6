/*
 * api_conn.c: one client of the local API stream (see api_conn.h): the preamble, the
 * length-prefixed frames in, the reply frame out, and the deadlines of each. It owns the
 * client's socket and buffers; it must not decode a request (api.c does) or log what a
 * frame holds. Every buffer has a bound: the frame being received is at most
 * APIFRAME_MAX bytes and counts against the pool shared by all clients; the reply is one
 * frame; a larger frame, or one the pool cannot take, is read and thrown away and
 * answered with an error, never held.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <msgpack.h>

#include "api_conn.h"
#include "apiframe.h"
#include "apimsg.h"
#include "arrerr.h"

#define API_CONN_CHUNK (64u << 10) /* first allocation of a body; grows by doubling */

enum rstate {
	R_PREAMBLE, /* the 4 bytes of the preamble */
	R_HEADER,   /* a frame's 4-byte length */
	R_BODY,     /* its body, kept */
	R_DISCARD,  /* its body, thrown away (refused) */
	R_READY,    /* a whole request (or a refusal) waits to run */
	R_CLOSING,  /* send what is queued, then close */
};

struct api_conn {
	int fd;
	uid_t uid;
	pid_t pid;
	enum rstate rs;
	uint8_t hdr[APIFRAME_HDR];
	size_t hdr_got;
	uint8_t *body; /* owned */
	size_t len, got, cap;
	size_t pooled; /* bytes of the frame counted in the pool */
	int refused;   /* code to answer the frame with instead of running it */
	char *out;     /* owned: the reply being sent */
	size_t out_len, out_sent;
	uint64_t frame_start; /* when the current frame (or the preamble) began; 0: none */
	uint64_t last_io;     /* last progress of the reply, or of anything when idle */
};

struct api_conn *
api_conn_new(int fd, uid_t uid, pid_t pid, uint64_t now)
{
	struct api_conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->uid = uid;
	c->pid = pid;
	c->rs = R_PREAMBLE;
	c->frame_start = now;
	c->last_io = now;
	return c;
}

/* Forget the frame being received (or run), giving its bytes back to the pool. */
static void
frame_reset(struct api_conn *c, struct api_conn_pool *pool)
{
	if (pool != NULL)
		pool->used -= c->pooled;
	c->pooled = 0;
	free(c->body);
	c->body = NULL;
	c->len = c->got = c->cap = 0;
	c->hdr_got = 0;
	c->refused = 0;
	c->frame_start = 0;
}

void
api_conn_destroy(struct api_conn **cp, struct api_conn_pool *pool)
{
	struct api_conn *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	frame_reset(c, pool);
	free(c->out);
	close(c->fd);
	free(c);
	*cp = NULL;
}

int
api_conn_fd(const struct api_conn *c)
{
	return c->fd;
}

uid_t
api_conn_uid(const struct api_conn *c)
{
	return c->uid;
}

pid_t
api_conn_pid(const struct api_conn *c)
{
	return c->pid;
}

size_t
api_conn_unsent(const struct api_conn *c)
{
	return c->out != NULL ? c->out_len - c->out_sent : 0;
}

short
api_conn_events(const struct api_conn *c)
{
	short ev = 0;

	if (api_conn_unsent(c) > 0)
		ev |= POLLOUT;
	/* One request at a time, and none while its reply is still going out. */
	else if (c->rs != R_READY && c->rs != R_CLOSING)
		ev |= POLLIN;
	return ev;
}

/* Queue the error reply code/msg (when nothing else is queued). */
static void
queue_error(struct api_conn *c, int code, const char *msg)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_sbuffer_write(&sb, "\0\0\0\0", APIFRAME_HDR);
	apimsg_pack_error(&pk, code, msg);
	if (sb.data == NULL || sb.size <= APIFRAME_HDR || api_conn_reply(c, sb.data, sb.size) != 0)
		msgpack_sbuffer_destroy(&sb);
}

/* A frame's header is in: decide whether to keep, refuse or throw away its body. */
static void
on_header(struct api_conn *c, struct api_conn_pool *pool)
{
	c->len = apiframe_get(c->hdr);
	c->got = 0;
	if (c->len > APIFRAME_MAX) {
		pool->oversize++;
		c->refused = ARR_ETOOBIG;
		c->rs = R_DISCARD;
	} else if (c->len > pool->limit - pool->used) {
		pool->refused++;
		c->refused = ARR_EBUSY;
		c->rs = R_DISCARD;
	} else {
		pool->used += c->len;
		c->pooled = c->len;
		c->rs = R_BODY;
	}
	if (c->got == c->len)
		c->rs = R_READY;
}

/* Make room in body for the next bytes of the frame (at most its announced length). */
static int
body_grow(struct api_conn *c)
{
	size_t cap;
	uint8_t *p;

	if (c->got < c->cap)
		return 0;
	cap = c->cap == 0 ? API_CONN_CHUNK : c->cap * 2;
	if (cap > c->len)
		cap = c->len;
	if ((p = realloc(c->body, cap > 0 ? cap : 1)) == NULL)
		return ARR_ENOMEM;
	c->body = p;
	c->cap = cap;
	return 0;
}

/* Where the next bytes go and how many the current state wants. */
static size_t
want(struct api_conn *c, uint8_t **dst, uint8_t *scratch, size_t scratch_len)
{
	switch (c->rs) {
	case R_PREAMBLE:
	case R_HEADER:
		*dst = c->hdr + c->hdr_got;
		return APIFRAME_HDR - c->hdr_got;
	case R_BODY:
		*dst = c->body + c->got;
		return c->cap - c->got;
	case R_DISCARD:
		*dst = scratch;
		return c->len - c->got < scratch_len ? c->len - c->got : scratch_len;
	default:
		return 0;
	}
}

/* n bytes arrived into what want() said. */
static void
advance(struct api_conn *c, struct api_conn_pool *pool, size_t n, uint64_t now)
{
	if (c->rs == R_PREAMBLE || c->rs == R_HEADER) {
		if (c->hdr_got == 0 && c->rs == R_HEADER)
			c->frame_start = now;
		if ((c->hdr_got += n) < APIFRAME_HDR)
			return;
		c->hdr_got = 0;
		if (c->rs == R_HEADER) {
			on_header(c, pool);
			return;
		}
		if (!apiframe_preamble_ok(c->hdr)) {
			pool->versions++;
			c->rs = R_CLOSING;
			queue_error(c, ARR_EVERSION,
			            "unsupported API version (this daemon speaks 2)");
			return;
		}
		c->rs = R_HEADER;
		c->frame_start = 0;
		return;
	}
	if ((c->got += n) == c->len)
		c->rs = R_READY;
}

int
api_conn_read(struct api_conn *c, struct api_conn_pool *pool, uint64_t now)
{
	uint8_t scratch[16384];

	for (;;) {
		uint8_t *dst = NULL;
		size_t n;
		ssize_t r;

		if (c->rs == R_BODY && body_grow(c) != 0)
			return ARR_EUNAVAIL;
		if ((n = want(c, &dst, scratch, sizeof(scratch))) == 0)
			return 0;
		r = recv(c->fd, dst, n, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : ARR_EUNAVAIL;
		if (r == 0)
			return ARR_EUNAVAIL;
		c->last_io = now;
		advance(c, pool, (size_t)r, now);
	}
}

int
api_conn_flush(struct api_conn *c, uint64_t now)
{
	while (api_conn_unsent(c) > 0) {
		ssize_t w = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : ARR_EUNAVAIL;
		c->out_sent += (size_t)w;
		c->last_io = now;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_sent = 0;
	return c->rs == R_CLOSING ? ARR_EUNAVAIL : 0;
}

bool
api_conn_request(const struct api_conn *c, const uint8_t **body, size_t *len, int *refused)
{
	if (c->rs != R_READY || api_conn_unsent(c) > 0)
		return false;
	*body = c->body != NULL ? c->body : (const uint8_t *)"";
	*len = c->refused != 0 ? 0 : c->len;
	*refused = c->refused;
	return true;
}

void
api_conn_request_done(struct api_conn *c, struct api_conn_pool *pool)
{
	frame_reset(c, pool);
	c->rs = R_HEADER;
}

int
api_conn_reply(struct api_conn *c, char *data, size_t len)
{
	if (c->out != NULL || len < APIFRAME_HDR || len - APIFRAME_HDR > APIFRAME_MAX)
		return ARR_EINVAL;
	apiframe_put((uint8_t *)data, len - APIFRAME_HDR);
	c->out = data;
	c->out_len = len;
	c->out_sent = 0;
	return 0;
}

bool
api_conn_gone(const struct api_conn *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLRDHUP};

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

uint64_t
api_conn_idle_since(const struct api_conn *c)
{
	bool empty = c->rs == R_PREAMBLE ? c->hdr_got == 0 : c->rs == R_HEADER && c->hdr_got == 0;

	return empty && api_conn_unsent(c) == 0 ? c->last_io : UINT64_MAX;
}

uint64_t
api_conn_deadline(const struct api_conn *c)
{
	if (api_conn_unsent(c) > 0)
		return c->last_io + API_CONN_STALL_MS;
	if (c->frame_start != 0 && c->rs != R_READY)
		return c->frame_start + API_CONN_FRAME_MS;
	if (c->rs == R_READY)
		return UINT64_MAX;
	return c->last_io + API_CONN_IDLE_MS;
}

bool
api_conn_expired(const struct api_conn *c, struct api_conn_pool *pool, uint64_t now)
{
	if (c->rs == R_CLOSING && api_conn_unsent(c) == 0)
		return true;
	if (now < api_conn_deadline(c))
		return false;
	pool->timeouts++;
	return true;
}
