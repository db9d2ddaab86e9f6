/*
 * api_conn.h: one client of the local API stream (PROTOCOL.md, "Local API"): its
 * socket, the preamble, the frame being received and the reply being sent. Holds at
 * most one request and one reply: it stops reading while a request waits to be
 * executed or a reply waits to be sent, so a client that never reads costs one of each
 * and its socket buffers. Nothing here blocks, executes a request or logs a byte of one.
 */
#ifndef API_CONN_H
#define API_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define API_CONN_FRAME_MS                                                                          \
	10000 /* a frame (or the preamble) completes this long after it starts                     \
	       */
#define API_CONN_STALL_MS                                                                          \
	30000                   /* a reply that makes no progress for this long: the client goes   \
	                         */
#define API_CONN_IDLE_MS 600000 /* a client that sends nothing for this long goes */

struct api_conn;

/* What every client's receive buffers share: a bound on the bytes of all of them. */
struct api_conn_pool {
	size_t limit;      /* bytes of frames being received, all clients together */
	size_t used;       /* announced by the frames being received now */
	uint64_t refused;  /* frames refused (ARR_EBUSY) because the pool was full */
	uint64_t oversize; /* frames refused (ARR_ETOOBIG) because they were over the limit */
	uint64_t timeouts; /* clients closed for a frame, a reply or silence that took too long */
	uint64_t versions; /* clients closed for a wrong preamble */
};

/*
 * A client on fd (taken: closed by api_conn_destroy), connected at now (ms), sent by
 * uid/pid (SO_PEERCRED). NULL when out of memory (fd is then closed).
 */
struct api_conn *api_conn_new(int fd, uid_t uid, pid_t pid, uint64_t now);
/* Close the socket and free the buffers, returning their bytes to pool (NULL: none). */
void api_conn_destroy(struct api_conn **c, struct api_conn_pool *pool);

int api_conn_fd(const struct api_conn *c);
uid_t api_conn_uid(const struct api_conn *c);
pid_t api_conn_pid(const struct api_conn *c);
/* The poll events the client waits for (POLLIN, POLLOUT, or 0). */
short api_conn_events(const struct api_conn *c);

/*
 * Read what the socket has, up to the end of the current frame. 0, or ARR_EUNAVAIL when
 * the client closed or must be closed (bad preamble: its error reply is queued first).
 */
int api_conn_read(struct api_conn *c, struct api_conn_pool *pool, uint64_t now);
/* Send what the socket takes of the reply. 0, or ARR_EUNAVAIL when the client is gone. */
int api_conn_flush(struct api_conn *c, uint64_t now);
/*
 * Whether a complete request waits and may run now (no reply is still being sent).
 * The body is *body (*len bytes); *refused is 0, or the code to answer instead (ARR_ETOOBIG,
 * ARR_EBUSY).
 */
bool api_conn_request(const struct api_conn *c, const uint8_t **body, size_t *len, int *refused);
/* The request is done: free it (its bytes go back to pool) and read the next one. */
void api_conn_request_done(struct api_conn *c, struct api_conn_pool *pool);
/*
 * Queue a reply: data holds APIFRAME_HDR bytes of room and then len - APIFRAME_HDR bytes
 * of body; the header is written here. Takes data (free()d when sent). 0 or ARR_EINVAL
 * when a reply is still being sent or it is too large.
 */
int api_conn_reply(struct api_conn *c, char *data, size_t len);
/* Whether a reply is queued and not wholly sent; bytes it still holds. */
size_t api_conn_unsent(const struct api_conn *c);
/* Whether the client hung up (or shut down its side): its requests need not run. */
bool api_conn_gone(const struct api_conn *c);
/* Whether the client must close now (closing after a refusal, or a deadline passed). */
bool api_conn_expired(const struct api_conn *c, struct api_conn_pool *pool, uint64_t now);
/*
 * Since when the client has been idle: connected or answered, with no byte of a request
 * (the preamble aside) received since and nothing to send; UINT64_MAX when it is not.
 */
uint64_t api_conn_idle_since(const struct api_conn *c);
/* When api_conn_expired() next needs asking (monotonic ms). */
uint64_t api_conn_deadline(const struct api_conn *c);

#endif
