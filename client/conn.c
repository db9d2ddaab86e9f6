/*
 * conn.c: the DEALER socket to arrangd's local API. Owns the ZeroMQ context and socket.
 * It bounds every wait (ZMQ_SNDTIMEO with ZMQ_IMMEDIATE, so a send to a dead socket
 * times out instead of queueing; ZMQ_RCVTIMEO for the reply) and checks the reply shape
 * before anyone reads it. It prints nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zmq.h>

#include "arrerr.h"
#include "conn.h"
#include "obj.h"

struct conn {
	void *ctx;
	void *sock;
	bool broken; /* a request timed out: a late reply would be taken for the next one */
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
	reply_init(rp);
}

void
conn_destroy(struct conn **cp)
{
	struct conn *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	if (c->sock != NULL)
		zmq_close(c->sock);
	if (c->ctx != NULL)
		zmq_ctx_term(c->ctx);
	free(c);
	*cp = NULL;
}

struct conn *
conn_open(const char *path, int timeout_ms, int *err)
{
	struct conn *c = NULL;
	struct stat st;
	char *ep = NULL;
	int zero = 0, one = 1;

	*err = ARR_EUNAVAIL;
	/* No socket file: nobody listens; say so now rather than after the timeout. */
	if (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
		goto bad;
	*err = ARR_ENOMEM;
	c = calloc(1, sizeof(*c));
	ep = malloc(strlen(path) + sizeof("ipc://"));
	if (c == NULL || ep == NULL)
		goto bad;
	strcpy(ep, "ipc://");
	strcat(ep, path);
	c->ctx = zmq_ctx_new();
	if (c->ctx == NULL)
		goto bad;
	c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
	if (c->sock == NULL)
		goto bad;
	*err = ARR_EUNAVAIL;
	if (zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(c->sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof(timeout_ms)) != 0 ||
	    zmq_setsockopt(c->sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof(timeout_ms)) != 0 ||
	    zmq_connect(c->sock, ep) != 0)
		goto bad;
	free(ep);
	*err = 0;
	return c;
bad:
	free(ep);
	conn_destroy(&c);
	return NULL;
}

/* Receive one whole message (all frames) and keep the last frame in rp->buf. */
static int
recv_last_frame(struct conn *c, struct reply *rp)
{
	int more;
	size_t moresz = sizeof(more);

	do {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, c->sock, 0) < 0) {
			zmq_msg_close(&m);
			return errno == ENOMEM ? ARR_ENOMEM : ARR_EUNAVAIL;
		}
		free(rp->buf);
		rp->len = zmq_msg_size(&m);
		rp->buf = malloc(rp->len > 0 ? rp->len : 1);
		if (rp->buf == NULL) {
			zmq_msg_close(&m);
			return ARR_ENOMEM;
		}
		if (rp->len > 0)
			memcpy(rp->buf, zmq_msg_data(&m), rp->len);
		zmq_msg_close(&m);
		if (zmq_getsockopt(c->sock, ZMQ_RCVMORE, &more, &moresz) != 0)
			return ARR_EUNAVAIL;
	} while (more);
	return 0;
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
	reply_free(rp);
	if (rq->failed)
		return ARR_ENOMEM;
	if (c->broken)
		return ARR_EUNAVAIL;
	if (zmq_send(c->sock, rq->sb.data, rq->sb.size, 0) < 0) {
		c->broken = true;
		return ARR_EUNAVAIL;
	}
	{
		int rc = recv_last_frame(c, rp);

		if (rc != 0) {
			c->broken = true;
			return rc;
		}
	}
	return decode_reply(rp);
}
