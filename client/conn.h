/*
 * conn.h: arrangctl's one connection to arrangd: a Unix stream socket at PATH carrying
 * length-prefixed frames (PROTOCOL.md, "Local API"). One request at a time, each
 * answered before the next is sent; every wait is bounded by the timeout. Replies are
 * decoded and their shape checked here; what the result means is the caller's business.
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
	/* Later pages of a paged read (cli_list), kept for the merged rows that point into them. */
	struct reply *pages; /* owned: npages replies */
	size_t npages;
	msgpack_object *rows; /* owned: the merged rows (shallow copies) */
};

void reply_init(struct reply *rp);
void reply_free(struct reply *rp);

#define CONN_WHY_MAX 320

/*
 * Connect to the socket at path; NULL with *err (ARR_ENOMEM, ARR_EACCES: permission
 * denied, ARR_EUNAVAIL: absent, refused, timed out, path too long) and the reason in words
 * in why (whylen bytes, naming the path) on failure.
 */
struct conn *conn_open(const char *path, int timeout_ms, int *err, char *why, size_t whylen);
void conn_destroy(struct conn **c);

/*
 * Send rq and wait for its reply (rp must be reply_init'ed; previous contents are freed).
 * Returns 0 with rp->result set; ARR_EUNAVAIL when nothing answered within the timeout
 * (the connection is then unusable); ARR_EMALFORMED when the reply is not a well-formed
 * reply; ARR_ENOMEM; or the daemon's own negative code with rp->code and rp->message set.
 */
int conn_call(struct conn *c, const struct req *rq, struct reply *rp);
/* Why the last call failed to get a reply, in words ("" when it did not fail so). */
const char *conn_why(const struct conn *c);

#endif
