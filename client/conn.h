/*
 * conn.h: arrangctl's one connection to arrangd: a ZeroMQ DEALER socket connected to
 * ipc://PATH (PROTOCOL.md, "Local API"). One request at a time, each answered before
 * the next is sent; every wait is bounded by the timeout. Replies are decoded and their
 * shape checked here; what the result means is the caller's business.
 */
#ifndef CONN_H
#define CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "req.h"

struct conn;

struct reply {
	char *buf; /* owned copy of the reply frame (objects point into it) */
	size_t len;
	msgpack_unpacked up; /* owned */
	bool unpacked;
	const msgpack_object *result; /* ["ok", result]: borrowed from up */
	int code;                     /* ["error", code, message]: the daemon's ARR_E* code */
	char message[257];            /* its message, control characters replaced by '?' */
};

void reply_init(struct reply *rp);
void reply_free(struct reply *rp);

/* Connect to ipc://path; NULL with *err (ARR_ENOMEM, ARR_EUNAVAIL) on failure. */
struct conn *conn_open(const char *path, int timeout_ms, int *err);
void conn_destroy(struct conn **c);

/*
 * Send rq and wait for its reply (rp must be reply_init'ed; previous contents are freed).
 * Returns 0 with rp->result set; ARR_EUNAVAIL when nothing answered within the timeout
 * (the connection is then unusable); ARR_EMALFORMED when the reply is not a well-formed
 * reply; ARR_ENOMEM; or the daemon's own negative code with rp->code and rp->message set.
 */
int conn_call(struct conn *c, const struct req *rq, struct reply *rp);

#endif
